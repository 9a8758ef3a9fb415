"""CSV writing without a Python call per cell.

``DataFrame.to_csv`` formats and quotes every cell through the ``csv`` module; on a
1.6-million-record TR that is most of the time spent writing the SDTM folder. Here each
column becomes an array of finished field texts — numbers with numpy's vectorised
``astype(str)`` (the same shortest round-trip text pandas writes), text quoted once per
distinct value — and rows are joined with ``str.join`` in C, a chunk of rows at a time.

The text is what ``to_csv(index=False, lineterminator="\\n")`` writes (a test compares the
bytes), with one deliberate difference: a field holding a carriage return is quoted on
every Python version (3.11's ``csv`` module only quotes the line terminator's characters).
Date and date-time columns are written as ISO 8601 text (CSV has no date type): ``YYYY-MM-DD``,
or ``YYYY-MM-DDThh:mm:ss`` for a column whose name ends in DTM or that has a time part.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.factorize import factorize_text

#: rows converted and joined at a time: bounds the memory of the row texts
ROW_CHUNK = 200_000
_NEEDS_QUOTES = (",", '"', "\n", "\r")


def quote_field(text: str) -> str:
    """CSV minimal quoting: quote a field holding a comma, a quote or a line break."""
    if any(c in text for c in _NEEDS_QUOTES):
        return '"' + text.replace('"', '""') + '"'
    return text


def date_text(series: pd.Series, with_time: bool | None = None) -> np.ndarray:
    """A datetime64 column as ISO 8601 text ("" where missing), vectorised in numpy.

    ``with_time`` None: date-time text when the column's name ends in DTM or any value has
    a time part, date text otherwise.
    """
    # numpy's date-to-text costs about 1 µs a value and a column holds few distinct dates
    # (days of a trial): text each distinct value once
    codes, uniques = pd.factorize(series.to_numpy(dtype="datetime64[ns]").view(np.int64))
    values = uniques.view("datetime64[ns]")
    missing = np.isnat(values)
    if with_time is None:
        days = values.astype("datetime64[D]")
        with_time = str(series.name).endswith("DTM") or bool(
            np.any((values != days.astype("datetime64[ns]")) & ~missing))
    text = values.astype("datetime64[s]" if with_time else "datetime64[D]").astype(str)
    text = text.astype(object)
    text[missing] = ""
    return text[codes]


def column_fields(series: pd.Series) -> np.ndarray:
    """One finished CSV field per row (quoted where needed, "" where missing)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return date_text(series.dt.tz_localize(None) if series.dt.tz is not None else series)
    numpy_dtype = isinstance(series.dtype, np.dtype)     # not a nullable extension dtype
    if numpy_dtype and series.dtype not in (np.float64, np.int64) and series.dtype.kind in "biuf":
        # bool, float32, small and unsigned integers: rare here, numpy's text as is
        values = series.to_numpy()
        text = values.astype(str).astype(object)
        if series.dtype.kind == "f":
            text[np.isnan(values)] = ""
        return text
    if numpy_dtype and series.dtype in (np.float64, np.int64):
        # numpy's float-to-text is slow (about 1 µs a value); a column holds few distinct
        # numbers, so text each once. Floats are keyed on their bits so that -0.0 and 0.0
        # keep their own text; repr() is the shortest round-trip text, as pandas writes.
        values = series.to_numpy()
        is_float = values.dtype == np.float64
        codes, uniques = pd.factorize(values.view(np.int64) if is_float else values)
        table = np.empty(len(uniques) + 1, dtype=object)
        table[:len(uniques)] = list(map(repr, uniques.view(values.dtype).tolist()))
        table[-1] = ""
        if is_float:
            codes[np.isnan(values)] = -1
        return table[codes]
    # text, mixed objects, nullable and categorical dtypes: str() of each distinct value
    codes, uniques = factorize_text(series.to_numpy(dtype=object))
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:len(uniques)] = [quote_field(v if isinstance(v, str) else str(v))
                            for v in uniques.tolist()]
    table[-1] = ""
    return table[codes]


def csv_chunks(frame: pd.DataFrame, row_chunk: int = ROW_CHUNK):
    """The CSV text of ``frame`` (header, then rows), a chunk of rows at a time."""
    header = [quote_field(str(c)) for c in frame.columns]
    yield (",".join(header) if header != [""] else '""') + "\n"
    for start in range(0, len(frame), row_chunk):
        part = frame.iloc[start:start + row_chunk]
        cells = [column_fields(part.iloc[:, j]).tolist() for j in range(part.shape[1])]
        if len(cells) == 1:
            # a lone empty field is written "" so the row is not read as a blank line
            rows = ['""' if v == "" else v for v in cells[0]]
        else:
            rows = map(",".join, zip(*cells))
        yield "\n".join(rows) + "\n"


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` (no index) as UTF-8 CSV with ``\\n`` line ends; returns the path."""
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for chunk in csv_chunks(frame):
            handle.write(chunk)
    return path
