"""Dataset-JSON 1.1: reader (see the package docstring)."""
from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import json
import mmap
import re
import zlib
import os
from pathlib import Path
from types import NoneType

import numpy as np
import orjson
import pandas as pd
from pandas.api.types import infer_dtype

from cdisc_convert.core.errors import InputError
from cdisc_convert.core.iso8601 import is_calendar_date
from cdisc_convert.core.sasdates import sas_epoch
from cdisc_convert.core.arrays import MetadataDict, filled

from .arrowrows import decode_rows_arrow
from .columnar import decode_rows, split_header
from .common import (DATA_TYPES, DATE_MODES, DECIMAL_TEXT, GZIP_MAGIC, REQUIRED_COLUMN_KEYS,
                     REQUIRED_TOP_LEVEL, TARGET_DATA_TYPES, TEMPORAL_TYPES, TEXT_TYPES,
                     gc_paused)


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------

def _decompress(data: bytes, path: Path) -> bytes:
    """Undo .dsjc compression, detected from the bytes: gzip (magic 1f 8b) or zlib.

    The Dataset-JSON compression text says zlib but the published examples are gzip, so
    both are accepted; uncompressed input is returned as is.
    """
    try:
        if data[:2] == GZIP_MAGIC:
            return gzip.decompress(data)
        if len(data) >= 2 and (data[0] & 0x0F) == 8 and (data[0] * 256 + data[1]) % 31 == 0:
            return zlib.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"compressed file is damaged ({exc})", file=path) from None
    if path.suffix.lower() == ".dsjc":
        raise InputError("a .dsjc file must be gzip or zlib compressed; found neither",
                         file=path)
    return data


def _reject_constant(name: str):
    """Python's json accepts NaN/Infinity; JSON (and Dataset-JSON) does not."""
    raise ValueError(f"{name} is not allowed in JSON (missing values are null)")


def _loads(text: str):
    """json.loads without the NaN/Infinity extension. Values nested deeper than Python's
    recursion limit (a Dataset-JSON nests 3 levels) are a ValueError, as bad JSON is."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("values are nested too deeply (a Dataset-JSON row is an array of "
                         "plain values)") from None


def _parse_ndjson(text: str, path: Path) -> dict:
    r"""NDJSON: line 1 is the metadata object, every further non-blank line one row array.

    Lines end at "\n" only (an optional "\r" before it is dropped): ``str.splitlines``
    would also split at U+2028 or U+0085, which JSON allows unescaped inside strings.
    """
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise InputError("file is empty", file=path)
    try:
        obj = _loads(lines[0])
    except json.JSONDecodeError as exc:
        raise InputError(f"line 1 is not valid JSON ({exc.msg}, column {exc.colno})",
                         file=path) from None
    except ValueError as exc:
        raise InputError(f"line 1 is not valid JSON ({exc})", file=path) from None
    if not isinstance(obj, dict):
        raise InputError("not Dataset-JSON: NDJSON line 1 must be the metadata object",
                         file=path)
    try:  # one parse for all rows is much faster; a line holding two values is caught
        rows = _loads("[" + ",".join(lines[1:]) + "]")
        if len(rows) != len(lines) - 1:
            raise ValueError("a line holds more than one JSON value")
    except ValueError:
        rows = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                rows.append(_loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"line {number} is not valid JSON ({exc.msg}, column "
                                 f"{exc.colno})", file=path) from None
            except ValueError as exc:
                raise InputError(f"line {number} is not valid JSON ({exc})",
                                 file=path) from None
    if "rows" in obj:
        raise InputError("NDJSON metadata line must not contain rows", file=path)
    obj["rows"] = rows
    return obj


_UTF8_BOM = b"\xef\xbb\xbf"


def _fast_load(data: bytes, path: Path) -> dict | None:
    """The Dataset-JSON object parsed by orjson straight from the bytes, or None.

    orjson parses UTF-8 bytes several times faster than ``json.loads`` parses the decoded
    text, and rejects NaN/Infinity as JSON does. Anything it does not take as a plain,
    well-formed file (bad UTF-8 or JSON, lone surrogates, an NDJSON line holding two
    values, a misnamed NDJSON file) returns None: the caller then parses the text with
    the standard library exactly as before, so errors, their messages and the standard
    library's leniencies stay what they were. One difference remains: orjson reads an
    integer beyond 64 bits as a float, which the reader turns every number into anyway.
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        if path.suffix.lower() != ".ndjson":
            obj = orjson.loads(data)
            return obj if isinstance(obj, dict) else None
        lines = [line for line in data.split(b"\n") if line.strip()]
        if not lines:
            return None
        obj = orjson.loads(lines[0])
        if not isinstance(obj, dict) or "rows" in obj:
            return None
        rows = orjson.loads(b"[" + b",".join(lines[1:]) + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(rows) != len(lines) - 1:  # a line held more than one value
        return None
    obj["rows"] = rows
    return obj


def load_dataset_json(path) -> dict:
    """Parse a ``.json``, ``.ndjson`` or ``.dsjc`` file into one Dataset-JSON object.

    The form is detected from the content: compressed or not (gzip/zlib magic), and NDJSON
    when the text holds more than one JSON value (or the name ends in .ndjson). NDJSON rows
    are gathered into ``rows``. Unreadable, non-UTF-8 or non-JSON input raises
    :class:`InputError` naming the file; the structure is not checked here.
    """
    path = Path(path)
    return _parse_file(_file_bytes(path), path)


def _file_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when compressed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=path) from None
    return _decompress(data, path)


#: Files from this size on are mapped into memory rather than read: no copy of the bytes
#: in the reading thread, the pages are touched by the threads that cut the rows.
_MAP_FROM = 1 << 20


@contextlib.contextmanager
def _file_view(path: Path):
    """The file's bytes as :func:`_file_bytes` gives them, or, for a large plain JSON
    file (first byte "{"), a read-only memory map of it (closed on exit)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            view = (mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
                    if size >= _MAP_FROM and handle.read(1) == b"{" else None)
    except OSError:
        view = None     # _file_bytes reports a missing or unreadable file
    if view is None:
        yield _file_bytes(path)
        return
    try:
        yield view
    finally:
        with contextlib.suppress(BufferError):  # a view still held: unmapped when let go
            view.close()


def _parse_file(data: bytes, path: Path) -> dict:
    """The Dataset-JSON object of a file's (decompressed) bytes (see load_dataset_json)."""
    parsed = _fast_load(data, path)
    if parsed is not None:
        return parsed
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}); Dataset-JSON must be UTF-8",
                         file=path) from None
    if not text.strip():
        raise InputError("file is empty", file=path)
    if path.suffix.lower() == ".ndjson":
        return _parse_ndjson(text, path)
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return _parse_ndjson(text, path)
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno}, column "
                         f"{exc.colno})", file=path) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON ({exc})", file=path) from None


def structure_problems(obj, limit: int = 20, nrows: int | None = None) -> list[str]:
    """What stops ``obj`` from being read as a Dataset-JSON 1.1 dataset (empty = fine).

    Checks what the schema cannot: every row has one value per column, ``records`` equals
    the number of rows, column names are unique and the type combinations are allowed.
    ``nrows``: the number of rows when ``obj`` holds none (they were read apart).
    """
    if not isinstance(obj, dict):
        return [f"not Dataset-JSON: the top level is a JSON {type(obj).__name__}, "
                "expected an object"]
    if "clinicalData" in obj or "referenceData" in obj:
        return ["Dataset-JSON 1.0 layout (clinicalData/referenceData) is not supported; "
                "this reader reads Dataset-JSON 1.1"]
    problems = []
    missing = [k for k in REQUIRED_TOP_LEVEL if k not in obj]
    if missing:
        problems.append("not Dataset-JSON 1.1: missing required attribute(s) "
                        + ", ".join(missing))
    version = obj.get("datasetJSONVersion")
    if version is not None and not re.fullmatch(r"1\.1(\.(0|[1-9][0-9]*))?", str(version)):
        problems.append(f"datasetJSONVersion {version!r} is not 1.1.x")
    columns = obj.get("columns")
    if columns is not None:
        problems += _column_problems(columns)
    rows = obj.get("rows")
    if rows is not None and not isinstance(rows, list):
        problems.append("rows must be an array of arrays")
        rows = None
    records = obj.get("records")
    if records is not None and (isinstance(records, bool) or not isinstance(records, int)
                                or records < 0):
        problems.append(f"records must be an integer ≥ 0, got {records!r}")
    elif records is not None and records != (len(rows or []) if nrows is None else nrows):
        problems.append(f"records says {records} but the file holds "
                        f"{len(rows or []) if nrows is None else nrows} rows")
    if rows and isinstance(columns, list):
        width = len(columns)
        if set(map(type, rows)) == {list} and set(map(len, rows)) == {width}:
            return problems  # fast path: every row is an array of the right width
        bad = [i for i, row in enumerate(rows) if not isinstance(row, list) or len(row) != width]
        for i in bad[:limit]:
            row = rows[i]
            got = f"{len(row)} values" if isinstance(row, list) else f"a {type(row).__name__}"
            problems.append(f"row {i + 1} has {got}, expected {width} (one per column)")
        if len(bad) > limit:
            problems.append(f"... and {len(bad) - limit} more rows of the wrong length")
    return problems


def _column_problems(columns) -> list[str]:
    """Column metadata problems: shape, required keys, type enumerations, combinations."""
    if not isinstance(columns, list):
        return ["columns must be an array of objects"]
    problems, seen = [], set()
    for i, col in enumerate(columns, start=1):
        if not isinstance(col, dict):
            problems.append(f"column {i} is not an object")
            continue
        label = f"column {i} ({col.get('name', '?')})"
        missing = [k for k in REQUIRED_COLUMN_KEYS if k not in col]
        if missing:
            problems.append(f"{label}: missing {', '.join(missing)}")
        name = col.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"{label}: name must be non-empty text")
        elif name in seen:
            problems.append(f"{label}: duplicate column name")
        seen.add(name)
        dtype, target = col.get("dataType"), col.get("targetDataType")
        if "dataType" in col and dtype not in DATA_TYPES:
            problems.append(f"{label}: dataType {dtype!r} is not one of {', '.join(DATA_TYPES)}")
        if target is not None:
            if target not in TARGET_DATA_TYPES:
                problems.append(f"{label}: targetDataType {target!r} is not integer or decimal")
            elif target == "integer" and dtype not in TEMPORAL_TYPES:
                problems.append(f"{label}: targetDataType integer is only allowed with "
                                f"date/datetime/time, not {dtype}")
            elif target == "decimal" and dtype != "decimal":
                problems.append(f"{label}: targetDataType decimal needs dataType decimal")
    return problems


def _first_bad(values, ok) -> int:
    """Index of the first value for which ``ok`` is false."""
    return next(i for i, v in enumerate(values) if not ok(v))


# What pandas' infer_dtype (one C-level pass, nulls skipped) calls a column holding only
# the JSON types a dataType allows. "integer" never covers bool (True with 1 is
# "mixed-integer"), so JSON true/false in a number column still fails.
_KINDS = {
    frozenset({str, NoneType}): {"string", "empty"},
    frozenset({int, float, NoneType}): {"integer", "floating", "mixed-integer-float",
                                         "empty"},
    frozenset({bool, NoneType}): {"boolean", "empty"},
    frozenset({str, int, float, NoneType}): {"string", "integer", "floating",
                                             "mixed-integer-float", "empty"},
}


def _require_types(values: np.ndarray, allowed: set, meta: dict, path: Path,
                   what: str) -> None:
    """InputError at the first value whose JSON type the dataType does not allow."""
    if infer_dtype(values, skipna=True) in _KINDS[frozenset(allowed)]:
        return
    if set(map(type, values)) <= allowed:  # e.g. text mixed with numbers (decimal)
        return
    row = _first_bad(values, lambda v: type(v) in allowed)
    raise InputError(f"dataType {meta['dataType']} expects {what}, found {values[row]!r}",
                     file=path, row=row + 1, variable=meta["name"])


def _text_column(values: np.ndarray, meta, path) -> np.ndarray:
    """string/URI and SDTM date text: ``str``; null → ``""`` as SAS/pyreadstat show blanks."""
    _require_types(values, {str, NoneType}, meta, path, "JSON strings")
    return _blank_for_null(values)


def _blank_for_null(values: np.ndarray) -> np.ndarray:
    """Text values (str and None) as a new contiguous object array, null → ``""``."""
    missing = np.equal(values, None)
    if missing.any():
        return np.where(missing, "", values)
    return values.copy()


def _numeric_column(values: np.ndarray, meta, path) -> np.ndarray:
    """integer/float/double/boolean: float64, null → NaN (as numbers come out of XPT)."""
    dtype = meta["dataType"]
    allowed = {bool, NoneType} if dtype == "boolean" else {int, float, NoneType}
    _require_types(values, allowed, meta, path,
                   "true/false" if dtype == "boolean" else "JSON numbers")
    array = values.astype("float64")  # None → NaN, True/False → 1.0/0.0
    if dtype == "integer":
        fraction = ~np.isnan(array) & (array != np.floor(array))
        if fraction.any():
            row = int(np.flatnonzero(fraction)[0])
            raise InputError(f"dataType integer but value {values[row]!r} is not whole",
                             file=path, row=row + 1, variable=meta["name"])
    return array


def _decimal_column(values: np.ndarray, meta, path) -> np.ndarray:
    """decimal: strings ("." decimal separator, "," thousands) or numbers → float64."""
    _require_types(values, {str, int, float, NoneType}, meta, path, "decimal strings")
    texts = [v.replace(",", "") if isinstance(v, str) else v for v in values]
    for i, v in enumerate(texts):
        if isinstance(v, str) and not re.fullmatch(DECIMAL_TEXT, v.strip()):
            raise InputError(f"value {values[i]!r} is not a decimal number", file=path,
                             row=i + 1, variable=meta["name"])
    return np.array([np.nan if v is None else float(v) for v in texts], dtype="float64")


def _temporal_column(values: np.ndarray, meta, path, dates: str):
    """ADaM numeric date/datetime/time (targetDataType integer) from ISO 8601 text.

    ``dates="python"`` gives what pyreadstat gives for a DATE/DATETIME/TIME-formatted
    number: ``datetime.date`` objects (object column, NaN when missing), ``datetime64[ns]``
    (NaT when missing; an all-missing column is an object column of NaN, as pyreadstat
    gives) and ``datetime.time`` objects. ``dates="sas"`` gives SAS numbers as float64
    (days since 1960-01-01 or seconds), like pyreadstat's
    ``disable_datetime_conversion=True``. ``dates="iso"`` keeps the text (null → "").
    """
    kind = meta["dataType"]
    _require_types(values, {str, NoneType}, meta, path, f"ISO 8601 {kind} strings")
    if dates == "iso":
        return _blank_for_null(values)
    missing = np.equal(_blank_for_null(values), "")  # null, or "" (lenient)
    try:
        if kind == "time":
            times = [_dt.time.fromisoformat(v) if v else None for v in values]
            if dates == "sas":
                return np.array([np.nan if t is None else t.hour * 3600 + t.minute * 60
                                 + t.second + t.microsecond / 1e6 for t in times])
            return np.array([np.nan if t is None else t for t in times], dtype=object)
        stamps = _parse_iso(values, missing, kind)
    except ValueError as exc:
        row = _first_iso_error(values, kind)
        raise InputError(f"value {values[row]!r} is not an ISO 8601 {kind} ({exc})",
                         file=path, row=row + 1, variable=meta["name"]) from None
    if dates == "sas":
        unit = "D" if kind == "date" else "s"
        numbers = (stamps - sas_epoch(unit)) / np.timedelta64(1, unit)
        return np.where(missing, np.nan, numbers).astype("float64")
    if kind == "date":
        out = stamps.astype("datetime64[D]").astype(object)
        out[missing] = np.nan
        return out
    if missing.all():
        return filled(len(values), np.nan)
    return stamps.astype("datetime64[ns]")


def _parse_iso(values: np.ndarray, missing: np.ndarray, kind: str) -> np.ndarray:
    """ISO 8601 text → datetime64; complete dates only (no "2014-01" imputation).

    Each distinct text is checked and parsed once and spread with a take: ADaM dates
    repeat (one per subject, visit or period).
    """
    codes, uniques = pd.factorize(values[~missing])
    if kind == "date":
        # numpy parses ISO dates exactly but also "2014-01" (as 2014-01-01) and "NaT":
        # a complete date has 10 characters, so only length-10 text is let through.
        if not set(map(len, uniques)) <= {10}:
            raise ValueError("expected YYYY-MM-DD")
        parsed = np.asarray(uniques, dtype=object).astype("datetime64[D]")
        unit = "D"
    else:
        if not all("T" in text for text in uniques):
            raise ValueError("expected YYYY-MM-DDThh:mm:ss")
        # utc=True: offsets are converted to UTC, text without an offset is taken as is.
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), format="ISO8601",
                                utc=True).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        unit = "ns"
    stamps = np.full(len(values), np.datetime64("NaT", unit))
    stamps[~missing] = parsed.take(codes)
    return stamps


def _first_iso_error(values: np.ndarray, kind: str) -> int:
    """Row of the first value that does not parse, for the error message."""
    if kind == "date":
        texts = pd.Series(values, dtype=object)
        bad = (texts.notna() & texts.astype(bool) & ~is_calendar_date(texts)).to_numpy()
        return int(bad.argmax()) if bad.any() else 0
    for i, v in enumerate(values):
        if not v:
            continue
        try:
            if "T" not in v:
                return i
            else:
                pd.Timestamp(v)
        except ValueError:
            return i
    return 0


def _by_column(rows: list, width: int) -> list[np.ndarray]:
    """The rows' values column by column, one object array per column (order kept).

    One C-level pass lays the rows (lists of equal length, checked before) into a 2-D
    object array, of which each column is then copied out: no Python tuple per column and
    no Python step per value. A value that is itself an array (not allowed; the type check
    then names its row) can make that grid the wrong shape: those rows are transposed
    value by value instead.
    """
    if not rows:
        return [np.empty(0, dtype=object) for _ in range(width)]
    try:
        grid = np.array(rows, dtype=object)
    except ValueError:  # ragged nested arrays
        grid = None
    if grid is None or grid.shape != (len(rows), width):
        grid = np.empty((len(rows), width), dtype=object)
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                grid[i, j] = value  # one cell at a time: a nested array stays one value
    return [grid[:, j] for j in range(width)]  # views: each converter makes a new array


def _column_array(values: np.ndarray, meta: dict, path: Path, dates: str):
    """One column of the data frame, following the dataType/targetDataType of ``meta``."""
    dtype = meta["dataType"]
    if dtype in TEMPORAL_TYPES and meta.get("targetDataType") == "integer":
        return _temporal_column(values, meta, path, dates)
    if dtype in TEXT_TYPES or dtype in TEMPORAL_TYPES:
        return _text_column(values, meta, path)
    if dtype == "decimal":
        return _decimal_column(values, meta, path)
    return _numeric_column(values, meta, path)


def _read_parsed(obj, path: Path, dates: str):
    """(metadata, row count, {column: array}) of a parsed Dataset-JSON object; bad
    structure or values raise InputError."""
    problems = structure_problems(obj)
    if problems:
        raise InputError(problems[0] if len(problems) == 1 else "not a valid "
                         "Dataset-JSON 1.1 dataset", file=path,
                         details=problems if len(problems) > 1 else None)
    columns = obj["columns"]
    rows = obj.get("rows") or []
    nrows = len(rows)
    obj.pop("rows", None)
    by_column = _by_column(rows, len(columns))
    del rows
    data = {}
    for meta in columns:  # each column's values are let go once converted
        data[meta["name"]] = _column_array(by_column.pop(0), meta, path, dates)
    return obj, nrows, data


def _read_columnar(raw: bytes, path: Path, dates: str):
    """What :func:`_read_parsed` gives, from rows laid out one per line (see
    :mod:`.columnar`), or None: then the file is parsed whole, which also reports its
    problems.

    Every converter maps each value on its own, so converting the distinct values once
    and spreading them with a take gives the same column; a value a converter rejects
    sends the file down the other path, whose message names the row.
    """
    if raw[:len(_UTF8_BOM)] == _UTF8_BOM:
        raw = raw[len(_UTF8_BOM):]
    ndjson = path.suffix.lower() == ".ndjson"
    split = split_header(raw, ndjson)
    if split is None:
        return None
    obj, start, stop = split
    columns = obj.get("columns")
    if not isinstance(columns, list) or not columns:
        return None
    cells = decode_rows_arrow(raw, start, stop, len(columns), ndjson)
    if cells is None:
        cells = decode_rows(raw if isinstance(raw, bytes) else raw[:], start, stop,
                            len(columns), ndjson)
    if cells is None:
        return None
    nrows = cells[0].rows
    if structure_problems(obj, nrows=nrows):
        return None
    data = {}
    for meta, column in zip(columns, cells):
        values = np.empty(len(column.values), dtype=object)
        values[:] = column.values
        try:
            distinct = _column_array(values, meta, path, dates)
        except InputError:
            return None
        data[meta["name"]] = column.spread(distinct)
    return obj, nrows, data


def read_dataset_json(path, *, dates: str = "python") -> pd.DataFrame:
    """Read Dataset-JSON 1.1 (``.json``, ``.ndjson`` or compressed ``.dsjc``) into pandas.

    The frame equals what ``pyreadstat.read_xport`` gives for the matching XPT file:

    * string/URI columns and SDTM dates (no targetDataType): Python ``str``; null → ``""``
      (SAS has no missing character value and pyreadstat shows blanks as ``""``);
    * integer/float/double/decimal/boolean: float64, null → NaN (decimal strings parsed,
      boolean as 1.0/0.0);
    * ADaM dates (date/datetime/time with targetDataType integer): see ``dates``:
      ``"python"`` (default, like pyreadstat) → ``datetime.date`` / ``datetime64[ns]`` /
      ``datetime.time``; ``"sas"`` → SAS numbers (float64); ``"iso"`` → the ISO text.

    ``frame.attrs``: ``name``, ``label``, ``labels`` ({column: label}), ``columns`` (the
    column metadata list as in the file), ``item_group_oid``, ``created``
    (datasetJSONCreationDateTime), plus ``study_oid`` and ``metadata_version_oid`` (None
    when absent). Bad input raises :class:`InputError` naming the file and the problem.
    """
    if dates not in DATE_MODES:
        raise ValueError(f"dates must be one of {DATE_MODES}, got {dates!r}")
    path = Path(path)
    with gc_paused():
        with _file_view(path) as raw:
            fast = _read_columnar(raw, path, dates)
            if fast is None and not isinstance(raw, bytes):
                raw = raw[:]
        if fast is not None:
            obj, nrows, data = fast
        else:
            obj, nrows, data = _read_parsed(_parse_file(raw, path), path, dates)
        columns = obj["columns"]
        del raw
    # copy=False: the columns are new arrays; pandas would otherwise copy them into one
    # 2-D block per dtype (a second copy of every column, nothing gained)
    frame = pd.DataFrame(data, index=pd.RangeIndex(nrows), columns=[c["name"] for c in columns],
                         copy=False)
    frame.attrs.update({
        "name": obj["name"],
        "label": obj["label"],
        "labels": MetadataDict({c["name"]: c["label"] for c in columns}),
        "columns": [MetadataDict(c) for c in columns],
        "item_group_oid": obj["itemGroupOID"],
        "created": obj["datasetJSONCreationDateTime"],
        "study_oid": obj.get("studyOID"),
        "metadata_version_oid": obj.get("metaDataVersionOID"),
    })
    return frame


