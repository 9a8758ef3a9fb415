"""Reading raw (EDC-export) tables: CSV, SAS7BDAT, XPT or Excel, all as text.

Raw tables are read with every column as text so nothing is guessed: "NA" stays "NA", a
leading zero stays, "1.0" is not turned into 1. Each row carries ``__table`` (the file name)
and ``__row`` (1-based data row number, i.e. the spreadsheet row minus the header) so every
SDTM record and every finding can name the raw row it came from.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cdisc_convert.core.errors import InputError

TRACE_COLUMNS = ["__table", "__row"]


def read_raw_table(path: Path | str, *, encoding: str = "utf-8", sheet: str | int = 0,
                   name: str | None = None) -> pd.DataFrame:
    """Read one raw table as text with traceability columns.

    Blank cells become ``""``. Column names are stripped of surrounding blanks. Raises
    :class:`InputError` naming the file when it is missing, empty or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("raw table not found", file=path, rule="RAW-MISSING")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding,
                                sep="\t" if suffix == ".tsv" else ",")
        elif suffix in (".xlsx", ".xls"):
            frame = pd.read_excel(path, dtype=str, sheet_name=sheet, keep_default_na=False)
        elif suffix in (".sas7bdat", ".xpt"):
            import pyreadstat

            reader = pyreadstat.read_sas7bdat if suffix == ".sas7bdat" else pyreadstat.read_xport
            frame, _ = reader(str(path), encoding=None if encoding == "utf-8" else encoding)
            frame = frame.astype(object).where(frame.notna(), "").astype(str)
        else:
            raise InputError(f"unsupported raw file type {suffix!r} (use .csv, .xlsx, "
                             ".sas7bdat or .xpt)", file=path, rule="RAW-TYPE")
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError("raw table is empty (no header row)", file=path, rule="RAW-EMPTY")
    except UnicodeDecodeError as err:
        raise InputError(f"cannot decode as {encoding} ({err.reason} at byte {err.start}); "
                         "set `encoding:` for this table", file=path, rule="RAW-ENCODING")
    except Exception as err:  # the readers raise many types; name the file, keep the cause
        raise InputError(f"cannot read raw table: {err}", file=path, rule="RAW-READ") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.fillna("")
    frame["__table"] = name or path.name
    frame["__row"] = range(1, len(frame) + 1)
    return frame
