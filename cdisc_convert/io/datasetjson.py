"""CDISC Dataset-JSON v1.1: write, read and validate.

Specification: CDISC Dataset-JSON v1.1 (2024-12-05). One dataset per file: top-level
metadata, ``columns`` (one metadata object per variable) and ``rows`` (one array per record).

Rules this module follows (each is stated again where it is applied):

* **Key order** is the attribute order of the specification, so streaming readers work.
* **OIDs** follow the Define-XML convention: ``IG.<DATASET>`` for the dataset and
  ``IT.<DATASET>.<VAR>`` for a variable (``IT.ADSL.AGE``), so they match our define.xml.
  Names are used exactly as given (CDISC names are upper case already).
* **Missing values** are ``null``. An empty character value is ``""``.
* **Logical type versus JSON type** (spec table "Supported Column Data Type Combinations"):
  string/URI/date/datetime/time travel as JSON strings, integer as JSON integers,
  float/double as JSON numbers, boolean as ``true``/``false`` and decimal as a JSON
  *string* (with ``targetDataType: "decimal"``) so that no rounding happens.
* **ADaM numeric dates** (SAS numbers with a DATE9./DATETIME20./TIME8. format) are
  ``dataType`` date/datetime/time with ``targetDataType: "integer"``; their values are
  ISO 8601 *text* (``"2014-01-02"``), the receiver turns them back into numbers.
  SDTM ``--DTC`` variables are ISO 8601 text already and carry no ``targetDataType``.
* **Reproducible output**: ``datasetJSONCreationDateTime`` comes from ``SOURCE_DATE_EPOCH``
  (seconds, UTC) when set, so a rerun writes the same bytes. Files are written atomically.

In memory, :func:`read_dataset_json` gives the frame that ``pyreadstat.read_xport`` gives
for the matching XPT file with its default options (character columns as ``str`` with
``""`` for blank, numbers as float64 with NaN, DATE-formatted numbers as ``datetime.date``
objects, DATETIME as ``datetime64[ns]``, TIME as ``datetime.time``). The tests check this
against every example pair in the public CDISC reference data.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import decimal
import gc
import gzip
import json
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cdisc_convert import __version__
from cdisc_convert.core.errors import CdiscError, InputError, SpecError
from cdisc_convert.core.reproducible import creation_time
from cdisc_convert.core.sasdates import sas_epoch
from cdisc_convert.io.atomic import atomic_file
from cdisc_convert.core.arrays import filled

__all__ = [
    "DATASET_JSON_VERSION",
    "write_dataset_json",
    "read_dataset_json",
    "load_dataset_json",
    "validate_dataset_json",
    "item_oid",
    "item_group_oid",
    "infer_column_metadata",
    "creation_datetime",
]

DATASET_JSON_VERSION = "1.1.0"
DATA_TYPES = ("string", "integer", "decimal", "float", "double", "boolean",
              "datetime", "date", "time", "URI")
TARGET_DATA_TYPES = ("integer", "decimal")
TEMPORAL_TYPES = ("date", "datetime", "time")
NUMERIC_TYPES = ("integer", "decimal", "float", "double")
TEXT_TYPES = ("string", "URI")

#: Top-level attributes in specification order (``rows`` is written last, separately).
TOP_LEVEL_ORDER = ("datasetJSONCreationDateTime", "datasetJSONVersion", "fileOID",
                   "dbLastModifiedDateTime", "originator", "sourceSystem", "studyOID",
                   "metaDataVersionOID", "metaDataRef", "itemGroupOID", "records", "name",
                   "label", "columns")
#: Required top-level attributes (spec and JSON schema).
REQUIRED_TOP_LEVEL = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID",
                      "records", "name", "label", "columns")
#: Column attributes in specification order; no others are allowed (schema).
COLUMN_KEY_ORDER = ("itemOID", "name", "label", "dataType", "targetDataType", "length",
                    "displayFormat", "keySequence")
REQUIRED_COLUMN_KEYS = ("itemOID", "name", "label", "dataType")

#: SAS display formats we give inferred ADaM date/time columns (pyreadstat reads them back
#: as dates/datetimes/times).
DEFAULT_DISPLAY_FORMATS = {"date": "DATE9.", "datetime": "DATETIME20.", "time": "TIME8."}
#: A float column whose name ends like this and whose values are all whole is inferred as
#: integer (sequence numbers, study days, counts). Every other float column is double.
COUNT_SUFFIXES = ("SEQ", "DY", "NUM", "CNT")

#: SAS format names (width stripped) that make a number a date, datetime or time; a numeric
#: column whose ``frame.attrs["formats"]`` entry has one of them is an ADaM date column.
SAS_TEMPORAL_FORMATS = {
    **dict.fromkeys(("DATE", "E8601DA", "IS8601DA", "B8601DA", "YYMMDD", "MMDDYY",
                     "DDMMYY", "MONYY", "WORDDATE", "WEEKDATE"), "date"),
    **dict.fromkeys(("DATETIME", "E8601DT", "IS8601DT", "B8601DT", "DATEAMPM"), "datetime"),
    **dict.fromkeys(("TIME", "E8601TM", "IS8601TM", "B8601TM", "TOD", "HHMM"), "time"),
}

DATE_MODES = ("python", "sas", "iso")
_ROW_CHUNK = 100_000
_DECIMAL_TEXT = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------------------
# identifiers and time stamps
# --------------------------------------------------------------------------------------

def item_group_oid(dataset: str) -> str:
    """Define-XML ItemGroupDef OID of a dataset: ``IG.<DATASET>``."""
    return f"IG.{dataset}"


def item_oid(dataset: str, variable: str) -> str:
    """Define-XML ItemDef OID of a variable: ``IT.<DATASET>.<VAR>`` (``IT.ADSL.AGE``)."""
    return f"IT.{dataset}.{variable}"


def creation_datetime(now: _dt.datetime | None = None) -> str:
    """Creation time stamp, ISO 8601 in UTC with ``Z``, to the second.

    ``SOURCE_DATE_EPOCH`` (integer seconds since 1970-01-01 UTC, the reproducible-builds
    convention) wins over the clock, so reruns produce byte-identical files.
    """
    return creation_time(now).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while millions of small lists are built.

    json.loads and the row → column transposition create only acyclic containers; the
    collector would rescan them again and again (3-5x slower on 1M rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------------------
# column metadata: inference and checks
# --------------------------------------------------------------------------------------

def _max_utf8_length(values: np.ndarray) -> int:
    """Longest value in UTF-8 bytes (at least 1: the schema's minimum for ``length``)."""
    if len(values) == 0:
        return 1
    distinct = pd.unique(np.asarray(values, dtype=object))  # few distinct values, usually
    return max(1, max(map(len, map(str.encode, map(str, distinct)))))


def _all_instances(types: set[type], kinds: tuple[type, ...], exclude: tuple = ()) -> bool:
    """True when there is at least one value type and every one is one of ``kinds``."""
    return bool(types) and all(issubclass(t, kinds) and not issubclass(t, exclude)
                               for t in types)


def _sas_format_kind(sas_format) -> str | None:
    """The kind (date, datetime, time) of a SAS format such as "DATE9." or "E8601DT19.".

    The width and decimals are stripped and the name looked up in SAS_TEMPORAL_FORMATS;
    any other format (or none) gives None.
    """
    if not isinstance(sas_format, str):
        return None
    return SAS_TEMPORAL_FORMATS.get(re.sub(r"\d*\.?\d*$", "", sas_format.strip().upper()))


def _infer_dtype_fields(series: pd.Series, name: str, sas_format=None) -> dict[str, Any]:
    """dataType (and targetDataType/length/displayFormat) inferred from a pandas column.

    Rules, in order:

    * a numeric column with a SAS date/datetime/time format (``sas_format``, taken from
      ``frame.attrs["formats"]`` as our XPT reader sets it) holds SAS numbers: date/
      datetime/time with targetDataType integer and that format as displayFormat.
    * bool → boolean; integer dtypes → integer.
    * float → integer when the name ends with SEQ, DY, NUM or CNT and every value is
      whole; otherwise double.
    * datetime64 → datetime, ``targetDataType`` integer, ``DATETIME20.`` (an ADaM numeric
      datetime, as pyreadstat presents one).
    * object columns holding only ``datetime.date`` → date + integer + ``DATE9.``; only
      ``datetime.time`` → time + integer + ``TIME8.``; only ``datetime.datetime`` →
      datetime + integer + ``DATETIME20.``; only ``Decimal`` → decimal; only bool → boolean.
    * anything else (object, string, category) → string with ``length`` = the longest
      value in UTF-8 bytes (1 when all values are missing).
    """
    dtype = series.dtype
    kind = _sas_format_kind(sas_format)
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if kind and numeric:
        display = sas_format.strip().upper()
        return {**_temporal_fields(kind), "displayFormat": display if "." in display
                else display + "."}
    if pd.api.types.is_bool_dtype(dtype):
        return {"dataType": "boolean"}
    if pd.api.types.is_integer_dtype(dtype):
        return {"dataType": "integer"}
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        whole = bool(np.all(finite == np.floor(finite)))
        if whole and str(name).upper().endswith(COUNT_SUFFIXES):
            return {"dataType": "integer"}
        return {"dataType": "double"}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _temporal_fields("datetime")
    raw = series.to_numpy(dtype=object)
    distinct = pd.factorize(raw)[1]
    if len(distinct) and pd.api.types.infer_dtype(distinct, skipna=False) == "string":
        # only text (factorize drops the missing values; nothing but a str equals a str)
        return {"dataType": "string", "length": _max_utf8_length(distinct)}
    values = raw[~pd.isna(raw)]
    types = set(map(type, values))
    if _all_instances(types, (_dt.datetime,)):
        return _temporal_fields("datetime")
    if _all_instances(types, (_dt.date,), exclude=(_dt.datetime,)):
        return _temporal_fields("date")
    if _all_instances(types, (_dt.time,)):
        return _temporal_fields("time")
    if _all_instances(types, (decimal.Decimal,)):
        return {"dataType": "decimal", "targetDataType": "decimal"}
    if _all_instances(types, (bool, np.bool_)):
        return {"dataType": "boolean"}
    return {"dataType": "string", "length": _max_utf8_length(values)}


def _temporal_fields(kind: str) -> dict[str, Any]:
    """Fields of an ADaM numeric date/datetime/time column (spec: targetDataType integer)."""
    return {"dataType": kind, "targetDataType": "integer",
            "displayFormat": DEFAULT_DISPLAY_FORMATS[kind]}


def infer_column_metadata(frame: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    """Column metadata for every column of ``frame`` from dtypes alone (no spec given).

    The type rules are those of :func:`_infer_dtype_fields`. Labels come from ``frame.attrs["labels"]`` when present (the convention of our
    readers), else ``""``; SAS formats from ``frame.attrs["formats"]`` mark SAS-number
    dates (see :func:`_infer_dtype_fields`).
    """
    return _build_columns(frame, name, None)


def _normalise_columns_meta(columns_meta, frame: pd.DataFrame) -> dict[str, dict]:
    """``columns_meta`` (list of dicts with ``name``, or ``{column: dict}``) as a dict.

    Metadata for a column that is not in the frame is a spec error: it usually means a
    renamed or dropped variable.
    """
    if columns_meta is None:
        return {}
    if isinstance(columns_meta, Mapping):
        items = []
        for col, meta in columns_meta.items():
            if not isinstance(meta, Mapping):
                raise SpecError(f"column metadata for {col!r} must be a mapping", variable=col)
            if "name" in meta and meta["name"] != col:
                raise SpecError(f"column metadata keyed {col!r} has name {meta['name']!r}",
                                variable=col)
            items.append((col, dict(meta)))
    elif isinstance(columns_meta, Sequence) and not isinstance(columns_meta, str):
        items = []
        for i, meta in enumerate(columns_meta):
            if not isinstance(meta, Mapping) or "name" not in meta:
                raise SpecError(f"column metadata entry {i + 1} must be a mapping with 'name'")
            items.append((meta["name"], dict(meta)))
    else:
        raise SpecError("columns_meta must be a list of dicts or a dict of dicts")
    by_name: dict[str, dict] = {}
    for col, meta in items:
        if col in by_name:
            raise SpecError(f"column metadata given twice for {col!r}", variable=col)
        by_name[col] = meta
    unknown = [c for c in by_name if c not in frame.columns]
    if unknown:
        raise SpecError("column metadata names variables that are not in the data: "
                        + ", ".join(map(str, unknown)))
    return by_name


def _check_column(meta: dict[str, Any], dataset: str) -> None:
    """Reject column metadata the specification does not allow.

    Allowed keys are those of the spec; dataType is from its enumeration; targetDataType
    integer goes only with date/datetime/time and decimal only with decimal; length and
    keySequence are integers ≥ 1.
    """
    col = meta.get("name")
    where = {"variable": col, "dataset": dataset}
    extra = [k for k in meta if k not in COLUMN_KEY_ORDER]
    if extra:
        raise SpecError(f"unknown column attribute(s) {', '.join(extra)}; allowed: "
                        + ", ".join(COLUMN_KEY_ORDER), **where)
    dtype = meta.get("dataType")
    if dtype not in DATA_TYPES:
        raise SpecError(f"dataType {dtype!r} is not one of {', '.join(DATA_TYPES)}", **where)
    target = meta.get("targetDataType")
    if target is not None:
        if target not in TARGET_DATA_TYPES:
            raise SpecError(f"targetDataType {target!r} is not one of integer, decimal",
                            **where)
        if target == "integer" and dtype not in TEMPORAL_TYPES:
            raise SpecError("targetDataType integer is only for date/datetime/time columns "
                            f"(ADaM numeric dates), not {dtype}", **where)
        if target == "decimal" and dtype != "decimal":
            raise SpecError(f"targetDataType decimal needs dataType decimal, not {dtype}",
                            **where)
    for key in ("length", "keySequence"):
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise SpecError(f"{key} must be an integer ≥ 1, got {value!r}", **where)
    for key in ("itemOID", "name", "label", "displayFormat"):
        if key in meta and not isinstance(meta[key], str):
            raise SpecError(f"{key} must be text, got {meta[key]!r}", **where)
    if not meta["itemOID"] or not meta["name"]:
        raise SpecError("itemOID and name must not be empty", **where)


def _build_columns(frame: pd.DataFrame, name: str, columns_meta) -> list[dict[str, Any]]:
    """Final column metadata in frame order.

    Metadata given for a column is used as given (keys put in spec order); missing pieces
    are filled in: ``itemOID`` = ``IT.<DATASET>.<VAR>``, ``name``, ``label`` (from
    ``frame.attrs["labels"]`` or ``""``) and, when ``dataType`` is absent, the inferred
    type with its length/targetDataType/displayFormat. One spec rule is always applied:
    a decimal column gets ``targetDataType: "decimal"`` (decimals travel as strings).
    """
    given = _normalise_columns_meta(columns_meta, frame)
    labels = frame.attrs.get("labels") or {}
    formats = frame.attrs.get("formats") or {}
    if frame.columns.has_duplicates:
        dups = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
        raise SpecError("duplicate column names: " + ", ".join(dups), dataset=name)
    columns = []
    for col in frame.columns:
        if not isinstance(col, str) or not col:
            raise SpecError(f"column name {col!r} must be non-empty text", dataset=name)
        meta = dict(given.get(col, {}))
        meta.setdefault("itemOID", item_oid(name, col))
        meta.setdefault("name", col)
        meta.setdefault("label", str(labels.get(col, "")))
        if "dataType" not in meta:
            for key, value in _infer_dtype_fields(frame[col], col, formats.get(col)).items():
                meta.setdefault(key, value)
        if meta["dataType"] == "decimal":
            meta.setdefault("targetDataType", "decimal")
        _check_column(meta, name)
        columns.append({k: meta[k] for k in COLUMN_KEY_ORDER if meta.get(k) is not None})
    keys = [c["keySequence"] for c in columns if "keySequence" in c]
    if len(keys) != len(set(keys)):
        raise SpecError("keySequence values must be unique", dataset=name)
    return columns


# --------------------------------------------------------------------------------------
# values: pandas column → JSON text, one string per row
# --------------------------------------------------------------------------------------
#
# Each column of a chunk becomes an object array holding the JSON text of every cell.
# The text is made once per *distinct* value (pd.factorize, then the encoder on the
# uniques, then a take): clinical columns repeat a few values millions of times. The
# texts are exactly those ``json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))``
# writes for the same Python values: strings through ``encode_basestring`` (the function
# the encoder uses), integers as ``int.__repr__``, floats as ``float.__repr__`` (shortest
# round trip), ``true``/``false`` and ``null``.

_encode_str = json.encoder.encode_basestring  # what JSONEncoder(ensure_ascii=False) uses
_NULL = "null"


def _value_error(message: str, meta: dict, dataset: str, row: int | None = None) -> CdiscError:
    """A value that does not fit its column's dataType (row is 0-based here, 1-based shown)."""
    return CdiscError(message, variable=meta["name"], dataset=dataset,
                      row=None if row is None else row + 1)


def _take_text(codes: np.ndarray, texts: list[str]) -> np.ndarray:
    """One text per row from the text of each distinct value; code -1 gives ``null``."""
    table = np.empty(len(texts) + 1, dtype=object)
    table[:len(texts)] = texts
    table[-1] = _NULL
    return table[codes]


def _strings_json(values) -> np.ndarray:
    """``str``/``None`` values → JSON strings / ``null`` (each distinct string encoded once)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return _take_text(codes, list(map(_encode_str, uniques.tolist())))


def _numbers_json(values: np.ndarray, missing: np.ndarray | None, to_text) -> np.ndarray:
    """int64/float64 array → JSON numbers, ``null`` where ``missing``.

    Floats are factorized on their bit patterns so that 0.0 and -0.0 (equal as numbers,
    different as text) stay apart; ``to_text`` gets the Python int or float.
    """
    keys = values.view(np.int64) if values.dtype == np.float64 else values
    codes, uniques = pd.factorize(keys)
    if missing is not None and missing.any():
        codes[missing] = -1
    return _take_text(codes, list(map(to_text, uniques.view(values.dtype).tolist())))


def _float_array(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """A numeric column as float64 (NaN = missing); text that is not a number is an error."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    try:
        numbers = pd.to_numeric(series, errors="raise")
        values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise _value_error(f"{meta['dataType']} column holds a non-numeric value ({exc})",
                           meta, dataset) from None
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise _value_error("infinite values cannot be written to JSON", meta, dataset, row)
    return values


def _integer_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """integer → JSON integers; floats must be whole (SAS stores integers as floats)."""
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return _numbers_json(series.to_numpy(dtype="int64"), None, int.__repr__)
    values = _float_array(series, meta, dataset)
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    fraction = filled != np.floor(filled)
    if fraction.any():
        row = int(np.flatnonzero(fraction)[0])
        raise _value_error(f"dataType integer but value {values[row]!r} is not whole",
                           meta, dataset, row)
    return _numbers_json(filled.astype(np.int64), missing, int.__repr__)


def _number_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """float/double → JSON numbers (Python's shortest round-trip repr)."""
    values = _float_array(series, meta, dataset)
    return _numbers_json(values, np.isnan(values), float.__repr__)


def _decimal_text(value) -> str:
    """A decimal as plain positional text with "." (spec: decimals travel as strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    return np.format_float_positional(float(value), trim="-")


def _decimal_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """decimal → JSON strings such as ``"30.8983333232059"`` (shortest exact text)."""
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    out = [None if m else _decimal_text(v) for v, m in zip(values.tolist(), missing)]
    bad = [i for i, v in enumerate(out)
           if v is not None and not re.fullmatch(_DECIMAL_TEXT, v.replace(",", ""))]
    if bad:
        raise _value_error(f"value {out[bad[0]]!r} is not a decimal number", meta, dataset,
                           bad[0])
    return _strings_json(out)


def _boolean_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """boolean → JSON true/false; numbers count as true when not 0."""
    if pd.api.types.is_bool_dtype(series.dtype) and not series.hasnans:
        flags, missing = series.to_numpy(dtype=bool), None
    else:
        values = _float_array(series, meta, dataset)
        flags, missing = values != 0, np.isnan(values)
    codes = flags.astype(np.intp)
    if missing is not None:
        codes[missing] = -1
    return _take_text(codes, ["false", "true"])


def _present_strings(values: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """``values`` with None where missing when every other value is a ``str``; else None."""
    present = values[~missing]
    if len(present) and pd.api.types.infer_dtype(present, skipna=False) != "string":
        return None
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def _string_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """string/URI → JSON strings; NaN/None → null, ``""`` stays ``""``; other → ``str()``."""
    values = series.to_numpy(dtype=object)
    # Common case: text and missing values only. factorize leaves out exactly what
    # pd.isna calls missing (code -1 → null); when every distinct value is a str, so is
    # every value (nothing but a str equals a str).
    codes, uniques = pd.factorize(values)
    if not len(uniques) or pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        return _take_text(codes, list(map(_encode_str, uniques.tolist())))
    missing = pd.isna(values)
    text = _present_strings(values, missing)
    if text is None:  # not all text: str() of each present value
        text = [None if m else v if isinstance(v, str) else str(v)
                for v, m in zip(values.tolist(), missing)]
    return _strings_json(text)


def _with_nulls(values: list, missing: np.ndarray) -> list:
    """Put ``None`` (JSON null) at the missing positions of ``values`` (in place)."""
    for i in np.flatnonzero(missing):
        values[i] = None
    return values


def _iso_from_datetime64(values: np.ndarray, kind: str) -> list:
    """datetime64 array → ISO 8601 text (seconds unless sub-seconds are present)."""
    missing = np.isnat(values)
    if kind == "date":
        text = values.astype("datetime64[D]").astype(str)
    elif kind == "time":
        seconds = (values - values.astype("datetime64[D]")).astype("timedelta64[us]")
        text = np.array([_time_text(s / np.timedelta64(1, "s")) if not m else ""
                         for s, m in zip(seconds, missing)], dtype=object)
    else:
        as_s = values.astype("datetime64[s]")
        unit = "s" if np.all((values == as_s) | missing) else "us"
        text = values.astype(f"datetime64[{unit}]").astype(str)
    return _with_nulls(text.tolist(), missing)


def _time_text(seconds: float) -> str:
    """Seconds after midnight → ``HH:MM:SS`` (fraction kept when present)."""
    whole = int(seconds // 1)
    frac = seconds - whole
    hh, rem = divmod(whole, 3600)
    mm, ss = divmod(rem, 60)
    text = f"{hh:02d}:{mm:02d}:{ss:02d}"
    if frac:
        text += np.format_float_positional(frac, trim="-")[1:]
    return text


def _iso_from_sas_number(value: float, kind: str) -> str:
    """SAS date (days since 1960-01-01), datetime or time (seconds) → ISO 8601 text."""
    if kind == "date":
        if value != int(value):
            raise ValueError(f"SAS date {value!r} is not whole")
        return str(sas_epoch("D") + np.timedelta64(int(value), "D"))
    if kind == "time":
        return _time_text(value)
    stamp = sas_epoch("us") + np.timedelta64(round(value * 1e6), "us")
    return str(stamp.astype("datetime64[s]")) if value == int(value) else str(stamp)


def _iso_from_object(value, kind: str) -> str:
    """One date/datetime/time value (text, Python/pandas object or SAS number) → ISO text."""
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):  # includes pandas.Timestamp; test before date
        if kind == "date":
            return value.date().isoformat()
        if kind == "time":
            return value.time().isoformat()
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.time):
        return value.isoformat()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _iso_from_sas_number(float(value), kind)
    raise TypeError(f"{type(value).__name__} {value!r}")


def _temporal_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """date/datetime/time → ISO 8601 strings, whatever the in-memory form.

    Accepted: ISO text (passed through, SDTM --DTC), ``datetime.date``/``datetime``/
    ``time`` objects and datetime64 (pyreadstat's ADaM dates), and numbers, read as SAS
    values (days since 1960-01-01 for dates, seconds for datetimes and times).
    Time-zone-aware datetimes are converted to UTC.
    """
    kind = meta["dataType"]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = series.to_numpy(dtype="datetime64[ns]")
        # distinct instants (NaT included) → text; the seconds/microseconds choice of
        # _iso_from_datetime64 depends on the set of values only, so it is the same
        codes, uniques = pd.factorize(stamps.view(np.int64))
        texts = _iso_from_datetime64(uniques.view("datetime64[ns]"), kind)
        return _take_text(codes, [_NULL if t is None else _encode_str(t) for t in texts])
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    text = _present_strings(values, missing)
    if text is not None:
        return _strings_json(text)
    types = set(map(type, values[~missing]))
    if types == {_dt.date} and kind == "date":  # pyreadstat's ADaM dates: the common case
        dates = values.copy()
        dates[missing] = None
        codes, uniques = pd.factorize(dates)
        return _take_text(codes, [_encode_str(d.isoformat()) for d in uniques.tolist()])
    out = []
    for i, (value, miss) in enumerate(zip(values.tolist(), missing)):
        if miss:
            out.append(None)
            continue
        try:
            out.append(_iso_from_object(value, kind))
        except (TypeError, ValueError, OverflowError) as exc:
            raise _value_error(f"cannot write {exc} as an ISO 8601 {kind}", meta, dataset,
                               i) from None
    return _strings_json(out)


_CONVERTERS = {
    "string": _string_values, "URI": _string_values,
    "integer": _integer_values,
    "float": _number_values, "double": _number_values,
    "decimal": _decimal_values,
    "boolean": _boolean_values,
    "date": _temporal_values, "datetime": _temporal_values, "time": _temporal_values,
}


def _json_columns(frame: pd.DataFrame, columns: list[dict], dataset: str, start: int,
                  stop: int) -> list[np.ndarray]:
    """Rows ``start:stop`` as one array of JSON texts per column (vectorised per column)."""
    part = frame.iloc[start:stop]
    return [_CONVERTERS[meta["dataType"]](part.iloc[:, j], meta, dataset)
            for j, meta in enumerate(columns)]


def _encode_rows(texts: list[np.ndarray], nrows: int, separator: str) -> str:
    """Rows as JSON arrays joined by ``separator`` (newline for NDJSON, comma+newline JSON).

    Cells are joined by ``,`` within a row and rows by ``]<separator>[``: C-level joins
    over the columns' texts, no per-cell Python work.
    """
    if not texts:
        return separator.join(["[]"] * nrows)
    cells = [column.tolist() for column in texts]
    return "[" + ("]" + separator + "[").join(map(",".join, zip(*cells))) + "]"


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

def _header(frame, columns, *, name, label, study_oid, metadata_version_oid, item_group,
            originator, source_system, file_oid, db_last_modified, metadata_ref) -> dict:
    """Top-level metadata in specification order; optional attributes left out when None."""
    values = {
        "datasetJSONCreationDateTime": creation_datetime(),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": file_oid,
        "dbLastModifiedDateTime": db_last_modified,
        "originator": originator,
        "sourceSystem": source_system,
        "studyOID": study_oid,
        "metaDataVersionOID": metadata_version_oid,
        "metaDataRef": metadata_ref,
        "itemGroupOID": item_group or item_group_oid(name),
        "records": int(len(frame)),
        "name": name,
        "label": label,
        "columns": columns,
    }
    return {k: values[k] for k in TOP_LEVEL_ORDER if values[k] is not None}


def _atomic_write(path: Path, chunks) -> None:
    """Write text chunks all-or-nothing (:func:`~cdisc_convert.io.atomic.atomic_file`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "w", encoding="utf-8", newline="\n") as handle:
        for chunk in chunks:
            handle.write(chunk)


def write_dataset_json(frame: pd.DataFrame, path, *, name: str, label: str,
                       columns_meta=None, study_oid: str | None = None,
                       metadata_version_oid: str | None = None,
                       item_group_oid: str | None = None, ndjson: bool = False,
                       originator: str | None = "cdisc-convert",
                       source_system: Mapping[str, str] | None = None,
                       file_oid: str | None = None, db_last_modified: str | None = None,
                       metadata_ref: str | None = None) -> Path:
    """Write ``frame`` as CDISC Dataset-JSON v1.1 (``ndjson=True``: the NDJSON form).

    ``columns_meta``: list of column dicts (with ``name``) or ``{column: dict}`` giving
    any of label, dataType, targetDataType, length, displayFormat, keySequence, itemOID.
    Columns without metadata are inferred from the dtype and from ``frame.attrs``
    ``labels``/``formats`` when present (see :func:`infer_column_metadata`).
    ``item_group_oid`` defaults to ``IG.<name>``; ``source_system`` defaults to
    ``{"name": "cdisc-convert", "version": <package version>}``; optional attributes given
    as None are left out.

    Layout (deterministic): JSON = compact metadata, then ``"rows":[`` with one row per
    line; NDJSON = metadata object on line 1, then one row array per line. UTF-8,
    ``ensure_ascii=False``, never NaN. The file is replaced atomically. Returns the path.
    """
    path = Path(path)
    if not isinstance(name, str) or not name:
        raise SpecError("dataset name must be non-empty text", file=path)
    if not isinstance(label, str):
        raise SpecError("dataset label must be text", file=path, dataset=name)
    if source_system is None:
        source_system = {"name": "cdisc-convert", "version": __version__}
    else:
        source_system = {"name": str(source_system["name"]),
                         "version": str(source_system["version"])}
    frame = frame.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) else frame
    columns = _build_columns(frame, name, columns_meta)
    header = _header(frame, columns, name=name, label=label, study_oid=study_oid,
                     metadata_version_oid=metadata_version_oid, item_group=item_group_oid,
                     originator=originator, source_system=source_system, file_oid=file_oid,
                     db_last_modified=db_last_modified, metadata_ref=metadata_ref)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False).encode
    try:
        _atomic_write(path, _document_chunks(frame, columns, header, name, encode, ndjson))
    except CdiscError as exc:
        if exc.location.file is None:
            exc.location.file = str(path)
            exc.args = (exc.format(),)
        raise
    return path


def _document_chunks(frame, columns, header, name, encode, ndjson: bool):
    """The file's text, piece by piece, converting ``_ROW_CHUNK`` rows at a time."""
    head = encode(header)
    if ndjson:
        yield head + "\n"
    else:
        yield head[:-1] + ',"rows":['
    separator = "\n" if ndjson else ",\n"
    total = len(frame)
    for start in range(0, total, _ROW_CHUNK):
        stop = min(start + _ROW_CHUNK, total)
        with _gc_paused():
            text = _encode_rows(_json_columns(frame, columns, name, start, stop),
                                stop - start, separator)
        if ndjson:
            yield text + "\n"
        else:
            yield ("\n" if start == 0 else ",\n") + text
    if not ndjson:
        yield ("\n" if total else "") + "]}\n"


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------

def _decompress(data: bytes, path: Path) -> bytes:
    """Undo .dsjc compression, detected from the bytes: gzip (magic 1f 8b) or zlib.

    The Dataset-JSON compression text says zlib but the published examples are gzip, so
    both are accepted; uncompressed input is returned as is.
    """
    try:
        if data[:2] == _GZIP_MAGIC:
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
    """json.loads without the NaN/Infinity extension."""
    return json.loads(text, parse_constant=_reject_constant)


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


def load_dataset_json(path) -> dict:
    """Parse a ``.json``, ``.ndjson`` or ``.dsjc`` file into one Dataset-JSON object.

    The form is detected from the content: compressed or not (gzip/zlib magic), and NDJSON
    when the text holds more than one JSON value (or the name ends in .ndjson). NDJSON rows
    are gathered into ``rows``. Unreadable, non-UTF-8 or non-JSON input raises
    :class:`InputError` naming the file; the structure is not checked here.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=path) from None
    data = _decompress(data, path)
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


def _structure_problems(obj, limit: int = 20) -> list[str]:
    """What stops ``obj`` from being read as a Dataset-JSON 1.1 dataset (empty = fine).

    Checks what the schema cannot: every row has one value per column, ``records`` equals
    the number of rows, column names are unique and the type combinations are allowed.
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
    elif records is not None and records != len(rows or []):
        problems.append(f"records says {records} but the file holds {len(rows or [])} rows")
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


def _first_bad(values: tuple, ok) -> int:
    """Index of the first value for which ``ok`` is false."""
    return next(i for i, v in enumerate(values) if not ok(v))


def _require_types(values: tuple, allowed: set, meta: dict, path: Path, what: str) -> None:
    """Raise InputError at the first value whose JSON type the dataType does not allow."""
    types = set(map(type, values))
    if types <= allowed:
        return
    row = _first_bad(values, lambda v: type(v) in allowed)
    raise InputError(f"dataType {meta['dataType']} expects {what}, found {values[row]!r}",
                     file=path, row=row + 1, variable=meta["name"])


_NONE = type(None)


def _text_column(values: tuple, meta, path) -> np.ndarray:
    """string/URI and SDTM date text: ``str``; null → ``""`` as SAS/pyreadstat show blanks."""
    _require_types(values, {str, _NONE}, meta, path, "JSON strings")
    return np.array(["" if v is None else v for v in values], dtype=object)


def _numeric_column(values: tuple, meta, path) -> np.ndarray:
    """integer/float/double/boolean: float64, null → NaN (as numbers come out of XPT)."""
    dtype = meta["dataType"]
    allowed = {bool, _NONE} if dtype == "boolean" else {int, float, _NONE}
    _require_types(values, allowed, meta, path,
                   "true/false" if dtype == "boolean" else "JSON numbers")
    array = np.array(values, dtype="float64")
    if dtype == "integer":
        fraction = ~np.isnan(array) & (array != np.floor(array))
        if fraction.any():
            row = int(np.flatnonzero(fraction)[0])
            raise InputError(f"dataType integer but value {values[row]!r} is not whole",
                             file=path, row=row + 1, variable=meta["name"])
    return array


def _decimal_column(values: tuple, meta, path) -> np.ndarray:
    """decimal: strings ("." decimal separator, "," thousands) or numbers → float64."""
    _require_types(values, {str, int, float, _NONE}, meta, path, "decimal strings")
    texts = [v.replace(",", "") if isinstance(v, str) else v for v in values]
    for i, v in enumerate(texts):
        if isinstance(v, str) and not re.fullmatch(_DECIMAL_TEXT, v.strip()):
            raise InputError(f"value {values[i]!r} is not a decimal number", file=path,
                             row=i + 1, variable=meta["name"])
    return np.array([np.nan if v is None else float(v) for v in texts], dtype="float64")


def _temporal_column(values: tuple, meta, path, dates: str):
    """ADaM numeric date/datetime/time (targetDataType integer) from ISO 8601 text.

    ``dates="python"`` gives what pyreadstat gives for a DATE/DATETIME/TIME-formatted
    number: ``datetime.date`` objects (object column, NaN when missing), ``datetime64[ns]``
    (NaT when missing; an all-missing column is an object column of NaN, as pyreadstat
    gives) and ``datetime.time`` objects. ``dates="sas"`` gives SAS numbers as float64
    (days since 1960-01-01 or seconds), like pyreadstat's
    ``disable_datetime_conversion=True``. ``dates="iso"`` keeps the text (null → "").
    """
    kind = meta["dataType"]
    _require_types(values, {str, _NONE}, meta, path, f"ISO 8601 {kind} strings")
    if dates == "iso":
        return np.array(["" if v is None else v for v in values], dtype=object)
    missing = np.array([not v for v in values], dtype=bool)  # null, or "" (lenient)
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


def _parse_iso(values: tuple, missing: np.ndarray, kind: str) -> np.ndarray:
    """ISO 8601 text → datetime64; complete dates only (no "2014-01" imputation)."""
    texts = ["NaT" if m else v for v, m in zip(values, missing)]
    if kind == "date":
        # numpy parses ISO dates exactly but also "2014-01" (as 2014-01-01) and "NaT":
        # a complete date has 10 characters, so only length-10 text is let through.
        if not set(map(len, filter(None, values))) <= {10}:
            raise ValueError("expected YYYY-MM-DD")
        return np.array(texts, dtype="datetime64[D]")
    texts = np.array(texts, dtype=object)
    present = pd.Series(texts[~missing], dtype=object)
    if not present.str.contains("T", regex=False).all():
        raise ValueError("expected YYYY-MM-DDThh:mm:ss")
    # utc=True: offsets are converted to UTC, text without an offset is taken as is.
    parsed = pd.to_datetime(present, format="ISO8601", utc=True).dt.tz_localize(None)
    stamps = np.full(len(values), np.datetime64("NaT", "ns"))
    stamps[~missing] = parsed.to_numpy(dtype="datetime64[ns]")
    return stamps


def _first_iso_error(values: tuple, kind: str) -> int:
    """Row of the first value that does not parse, for the error message."""
    for i, v in enumerate(values):
        if not v:
            continue
        try:
            if kind == "date":
                if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                    return i
                _dt.date.fromisoformat(v)
            elif "T" not in v:
                return i
            else:
                pd.Timestamp(v)
        except ValueError:
            return i
    return 0


def _column_array(values: tuple, meta: dict, path: Path, dates: str):
    """One column of the data frame, following the dataType/targetDataType of ``meta``."""
    dtype = meta["dataType"]
    if dtype in TEMPORAL_TYPES and meta.get("targetDataType") == "integer":
        return _temporal_column(values, meta, path, dates)
    if dtype in TEXT_TYPES or dtype in TEMPORAL_TYPES:
        return _text_column(values, meta, path)
    if dtype == "decimal":
        return _decimal_column(values, meta, path)
    return _numeric_column(values, meta, path)


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
    with _gc_paused():
        obj = load_dataset_json(path)
        problems = _structure_problems(obj)
        if problems:
            raise InputError(problems[0] if len(problems) == 1 else "not a valid "
                             "Dataset-JSON 1.1 dataset", file=path,
                             details=problems if len(problems) > 1 else None)
        columns = obj["columns"]
        rows = obj.get("rows") or []
        nrows = len(rows)
        by_column = list(zip(*rows)) if rows else [()] * len(columns)
        obj.pop("rows", None)
        data = {meta["name"]: _column_array(values, meta, path, dates)
                for meta, values in zip(columns, by_column)}
        del rows, by_column
    frame = pd.DataFrame(data, index=pd.RangeIndex(nrows), columns=[c["name"] for c in columns])
    frame.attrs.update({
        "name": obj["name"],
        "label": obj["label"],
        "labels": {c["name"]: c["label"] for c in columns},
        "columns": [dict(c) for c in columns],
        "item_group_oid": obj["itemGroupOID"],
        "created": obj["datasetJSONCreationDateTime"],
        "study_oid": obj.get("studyOID"),
        "metadata_version_oid": obj.get("metaDataVersionOID"),
    })
    return frame


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------

def _load_schema(schema_path) -> dict:
    """The JSON schema; its encoding is detected (the upstream NDJSON schema is UTF-16)."""
    schema_path = Path(schema_path)
    try:
        return json.loads(schema_path.read_bytes())
    except FileNotFoundError:
        raise InputError("JSON schema not found", file=schema_path) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"JSON schema cannot be read ({exc})", file=schema_path) from None


def _short(text: str, limit: int = 200) -> str:
    """Cut long messages (jsonschema quotes whole rows) to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_dataset_json(path_or_obj, schema_path=None, *, max_messages: int = 100) -> list[str]:
    """Problems found in a Dataset-JSON dataset, as readable messages (empty = valid).

    ``path_or_obj``: a file (.json/.ndjson/.dsjc) or an already parsed object. Messages
    come from the JSON schema at ``schema_path`` (jsonschema, the draft the schema names;
    ``CDISC_DATASETJSON_SCHEMA`` is used when no path is given) and from the structural
    checks the schema cannot express (row width, records count, type combinations).
    Without any schema only the structural checks run. A file that cannot be parsed gives
    one message. Messages look like ``/columns/3/dataType: 'text' is not one of [...]``.
    """
    import jsonschema  # imported here: only validation needs it

    if isinstance(path_or_obj, (str, os.PathLike)):
        try:
            obj = load_dataset_json(path_or_obj)
        except InputError as exc:
            return [exc.message]
    else:
        obj = path_or_obj
    schema_path = schema_path or os.environ.get("CDISC_DATASETJSON_SCHEMA")
    messages = []
    if schema_path:
        schema = _load_schema(schema_path)
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
        for error in errors:
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            messages.append(_short(f"{where}: {error.message}"))
    messages += _structure_problems(obj)
    if len(messages) > max_messages:
        messages = messages[:max_messages] + [f"... and {len(messages) - max_messages} more"]
    return messages
