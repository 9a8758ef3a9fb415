"""Reading a folder of SDTM or ADaM datasets (XPT, Dataset-JSON or CSV) into one form.

The domain of a file is its name without extension, upper-cased (``dm.xpt`` → DM). Every
reader gives the same in-memory form: character variables as ``str`` with ``""`` for
missing, numeric variables as float64 with NaN, and dates (XPT numbers with a DATE9. /
DATETIME20. format, Dataset-JSON date values, ISO text in ADaM ``*DT``/``*DTM`` CSV
columns) as datetime64 with NaT for missing. CSV has no types, so variables the standard
declares numeric (``Num`` in ``specs/``) are converted; a value that is not a number is an
:class:`InputError` naming file, row and column.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError
from cdisc_convert.core.iso8601 import is_complete_date
from cdisc_convert.core.sasdates import (from_sas_days, from_sas_seconds, is_sas_date_format,
                                         is_sas_datetime_format)
from cdisc_convert.standards.metadata import MetadataKeyError, load_standard

#: report tables the pipeline writes beside datasets; never read as datasets
REPORT_TABLES = ("mapping_findings", "conformance_findings", "unmapped", "findings",
                 "reconciliation", "results")
READABLE = (".xpt", ".json", ".ndjson", ".dsjc", ".csv")
PREFERENCE = {".xpt": 0, ".json": 1, ".ndjson": 2, ".dsjc": 3, ".csv": 4}


def _standard_spec(name: str):
    for standard in ("sdtmig-3.4", "adamig-1.3"):
        std = load_standard(standard)
        try:
            spec = std.dataset(name)
        except MetadataKeyError:
            continue
        if standard == "sdtmig-3.4" or name.startswith("AD"):
            return spec
    return None


def _numeric_variables(name: str) -> set[str]:
    spec = _standard_spec(name)
    if spec is None:
        return set()
    return set(spec.variables.loc[spec.variables["type"] == "Num", "variable"])


def _known_variable(spec, column: str) -> bool:
    try:
        return spec is not None and column in spec
    except Exception:       # noqa: BLE001 - a name the metadata cannot place is unknown
        return False


#: how the CSV writer writes a float64 (Python's repr): always with "." or an exponent
_FLOAT_TEXT = r"^-?(\d+\.\d+(e[+-]?\d+)?|\d+e[+-]?\d+)$"


def define_numeric_variables(folder: Path) -> dict[str, set[str]]:
    """Per dataset, the variables ``folder/define.xml`` declares numeric (integer, float;
    empty when there is no define). CSV has no types: the define written beside the CSV
    files says which sponsor variables are numbers. Parsed without entities or network."""
    path = folder / "define.xml"
    if not path.is_file():
        return {}
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError):
        return {}           # a define that cannot be read types nothing; validate says why
    odm = "{http://www.cdisc.org/ns/odm/v1.3}"
    items = {el.get("OID"): (el.get("Name"), el.get("DataType")) for el in root.iter(f"{odm}ItemDef")}
    out: dict[str, set[str]] = {}
    for group in root.iter(f"{odm}ItemGroupDef"):
        out[str(group.get("Name")).upper()] = {
            items[ref.get("ItemOID")][0] for ref in group.iter(f"{odm}ItemRef")
            if items.get(ref.get("ItemOID"), ("", ""))[1] in ("integer", "float", "double")}
    return out


def _typed_csv(path: Path, name: str, declared: set[str] | None = None) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    numeric = _numeric_variables(name) | (declared or set())
    spec = _standard_spec(name)
    for column in frame.columns:
        # the name's suffix decides only for variables the standard does not know: TE.TEDUR
        # is Char (an ISO 8601 duration) and an all-blank column of it must stay text
        is_num = column in numeric or (column.endswith(("DY", "SEQ", "NUM", "DT", "DTM", "DUR"))
                                       and column not in ("DOMAIN",)
                                       and not _known_variable(spec, column))
        if not is_num and not _known_variable(spec, column):
            # a sponsor variable (a starting dose): numeric when all values are float text as the
            # CSV writer writes it ("1000.0"), which no text value of ours looks like
            filled = frame[column][frame[column] != ""]
            is_num = bool(len(filled)) and bool(filled.str.match(_FLOAT_TEXT).all())
        if not is_num:
            continue
        text = frame[column].str.strip()
        if column.endswith(("DT", "DTM")) and _iso_dates(text):
            continue        # an ADaM date written as ISO text: _iso_text_to_datetime reads it
        values = pd.to_numeric(text.where(~text.isin(["", "NA"])), errors="coerce")
        bad = values.isna() & ~text.isin(["", "NA"])
        if bad.any() and column in numeric:
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(f"{column} is numeric in the standard but holds "
                             f"{text[bad].iloc[0]!r}", file=path, row=row, variable=column,
                             rule="READ-NUMBER")
        if not bad.any():
            frame[column] = values.astype(float)
    return frame


def _iso_dates(text: pd.Series) -> bool:
    """Every non-blank value is an ISO 8601 date or date-time complete to the day (what the
    CSV writer writes for a date column), and there is at least one."""
    filled = text[text != ""]
    return bool(len(filled)) and bool(is_complete_date(filled, allow_placeholders=False).all())


def _sas_dates_to_datetime(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric SAS dates/datetimes (by display format) as datetime64, the common form."""
    formats = frame.attrs.get("formats", {}) or {}
    for column, fmt in formats.items():
        if column not in frame or not pd.api.types.is_numeric_dtype(frame[column]):
            continue
        if is_sas_datetime_format(fmt):
            frame[column] = from_sas_seconds(frame[column])
        elif is_sas_date_format(fmt):
            frame[column] = from_sas_days(frame[column])
    return frame


def objects_to_datetime(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns of date/datetime objects (Dataset-JSON reader) as datetime64; an ADaM date
    column without any value too (its metadata says date: it is not text)."""
    import datetime as dt

    dates = {c.get("name") for c in frame.attrs.get("columns") or [] if isinstance(c, dict)
             and c.get("dataType") in ("date", "datetime") and c.get("targetDataType")}
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object:
            continue
        if column in dates and series.map(lambda v: v == "" or pd.isna(v)).all():
            frame[column] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
            continue
        sample = series.dropna()
        sample = sample[sample.map(lambda v: not isinstance(v, str))].head(5)
        if len(sample) and all(isinstance(v, (dt.date, dt.datetime)) for v in sample):
            frame[column] = pd.to_datetime(series, errors="coerce")
    return frame


def _iso_text_to_datetime(frame: pd.DataFrame) -> pd.DataFrame:
    """ADaM CSV: *DT / *DTM columns holding ISO text become datetime64 (SDTM --DTC stay text)."""
    for column in frame.columns:
        if not column.endswith(("DT", "DTM")) or frame[column].dtype != object:
            continue
        text = frame[column].astype(str).str.strip()
        filled = text[text != ""]
        # the date part must be a legal ISO 8601 date; a time after it may be written
        # "T10:00" or " 10:00" (pandas' CSV writer), which pandas reads below
        if filled.empty or not is_complete_date(filled.str.slice(0, 10)).all():
            continue
        frame[column] = pd.to_datetime(text.replace("", None), errors="coerce")
    return frame


def read_dataset(path: Path | str, *, encoding: str | None = None,
                 xpt_frame: pd.DataFrame | None = None,
                 numeric: set[str] | None = None) -> pd.DataFrame:
    """Read one dataset file; ``frame.attrs['name']`` holds the dataset name.

    ``xpt_frame``: the file's frame as :func:`~cdisc_convert.io.xpt.read_xpt` gave it, when
    the caller has read it already (it is not changed).
    """
    path = Path(path)
    name = path.stem.upper()
    suffix = path.suffix.lower()
    if suffix == ".xpt":
        from .xpt import read_xpt

        if xpt_frame is None:
            xpt_frame = read_xpt(path, **({"encoding": encoding} if encoding else {}))
        frame = xpt_frame.copy(deep=False)
        frame.attrs = dict(xpt_frame.attrs)
        frame = _sas_dates_to_datetime(frame)
    elif suffix in (".json", ".ndjson", ".dsjc"):
        from .datasetjson import read_dataset_json

        frame = objects_to_datetime(read_dataset_json(path))
    elif suffix == ".csv":
        try:
            frame = _iso_text_to_datetime(_typed_csv(
                path, name, define_numeric_variables(path.parent).get(name)
                if numeric is None else numeric))
        except pd.errors.EmptyDataError:
            raise InputError("empty file", file=path, rule="READ-EMPTY")
        except UnicodeDecodeError as err:
            raise InputError(f"not UTF-8 text ({err.reason}); convert it or use XPT",
                             file=path, rule="READ-ENCODING")
    else:
        raise InputError(f"not a dataset file ({', '.join(READABLE)})", file=path,
                         rule="READ-TYPE")
    if suffix != ".xpt":        # XPT text is never missing, only blank
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].where(frame[column].notna(), "")
    inner = frame.attrs.get("name")
    if inner is not None and suffix != ".csv":
        frame.attrs["inner_name"] = str(inner)   # the dataset name written in the file
    frame.attrs["name"] = name
    frame.attrs["path"] = str(path)
    return frame


def check_entry(entry: Path, folder: Path) -> None:
    """Refuse (InputError) a folder entry that is not a regular file inside ``folder``.

    Never opened: a named pipe or device called ``dm.xpt`` would block the reader forever,
    and a symbolic link may point at any file of the system. A link that stays inside the
    folder is followed.
    """
    if entry.is_symlink():
        try:
            target = entry.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise InputError(f"broken symbolic link ({exc.__class__.__name__})", file=entry,
                             rule="READ-SYMLINK") from None
        try:
            target.relative_to(folder.resolve())
        except ValueError:
            raise InputError(f"symbolic link to {target}, outside the folder; copy the file "
                             "into the folder instead", file=entry, rule="READ-SYMLINK") from None
    try:
        mode = os.stat(entry).st_mode
    except OSError as exc:
        raise InputError(f"cannot be accessed ({exc.strerror})", file=entry,
                         rule="READ-UNREADABLE") from None
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device or special file")
        raise InputError(f"{kind}, not a file; it was not opened", file=entry,
                         rule="READ-NOT-FILE")


def read_folder(folder: Path | str, *, encoding: str | None = None,
                xpt_frames: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Every dataset in ``folder`` by upper-case name; with several formats of one dataset,
    XPT is preferred, then Dataset-JSON, then CSV. Report tables (findings, unmapped) and
    define.xml are skipped. ``xpt_frames`` (by upper-case name) are XPT files the caller
    has read already with ``read_xpt``: they are used instead of reading the files again.

    Refused with an :class:`InputError` (never opened): an entry that is not a regular file
    (a named pipe, a device) or a symbolic link leading out of the folder; refused after
    reading: a file whose dataset name (XPT member, Dataset-JSON ``name``) is not its file
    name (``dm.xpt`` holding AE)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("folder not found", file=folder, rule="READ-MISSING")
    chosen: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in READABLE or path.stem.lower() in REPORT_TABLES:
            continue
        check_entry(path, folder)
        name = path.stem.upper()
        if name not in chosen or PREFERENCE[suffix] < PREFERENCE[chosen[name].suffix.lower()]:
            chosen[name] = path
    xpt_frames = xpt_frames or {}
    out = {}
    for name, path in sorted(chosen.items()):
        frame = read_dataset(path, encoding=encoding,
                             xpt_frame=xpt_frames.get(name) if path.suffix.lower() == ".xpt"
                             else None)
        inner = frame.attrs.get("inner_name")
        if inner is not None and inner.upper() != name:
            raise InputError(f"the file holds dataset {inner}, but its name says {name}; "
                             "rename the file or rewrite the dataset", file=path,
                             rule="READ-DATASET-NAME")
        out[name] = frame
    return out
