"""CSV writing without a Python call per cell.

``DataFrame.to_csv`` formats and quotes every cell through the ``csv`` module; on a
1.6-million-record TR that is most of the time spent writing the SDTM folder. Here each
column is numbered by distinct value (by object first, ``core.factorize``) and only the
distinct values get their field text — numbers by ``repr`` (the shortest round-trip text
pandas writes), text quoted where needed — and the rows' bytes are laid out from the
distinct texts by one Arrow take (``io.cells``), a chunk of rows at a time.

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

from cdisc_convert.core.factorize import factorize_keys

from .cells import ColumnText, RowLayout, merge_columns
from .numbering import column_codes

#: rows laid out and written at a time: bounds the memory of the rows' bytes
ROW_CHUNK = 200_000
_NEEDS_QUOTES = (",", '"', "\n", "\r")


def quote_field(text: str) -> str:
    """CSV minimal quoting: quote a field holding a comma, a quote or a line break."""
    if any(c in text for c in _NEEDS_QUOTES):
        return '"' + text.replace('"', '""') + '"'
    return text


def date_texts(series: pd.Series, with_time: bool | None = None) -> ColumnText:
    """A datetime64 column as ISO 8601 text ("" where missing), one text per distinct
    value (numpy's date-to-text costs about 1 µs a value, and a column holds few distinct
    dates: the days of a trial).

    ``with_time`` None: date-time text when the column's name ends in DTM or any value has
    a time part, date text otherwise.
    """
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
    return ColumnText(codes, [*text.tolist(), ""])


def date_text(series: pd.Series, with_time: bool | None = None) -> np.ndarray:
    """:func:`date_texts` as one text per row."""
    codes, texts = date_texts(series, with_time)
    return np.array(texts, dtype=object).take(codes)


def column_text(series: pd.Series) -> ColumnText:
    """A column as CSV fields: each distinct value's field (quoted where needed), "" for
    a missing value last, and a code per row."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return date_texts(series.dt.tz_localize(None) if series.dt.tz is not None else series)
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":    # not a nullable extension
        values = series.to_numpy()
        # floats are keyed on their bits so that -0.0 and 0.0 keep their own text
        keys = values.view(f"i{values.itemsize}") if dtype.kind == "f" else values
        if keys.dtype != np.int64:
            keys = keys.astype(np.int64) if dtype.kind != "u" else keys.astype(np.uint64)
        codes, first = factorize_keys(np.ascontiguousarray(keys))
        uniques = values.take(first)
        if dtype in (np.float64, np.int64):
            # repr() is the shortest round-trip text, as pandas writes (numpy's
            # float-to-text is about 1 µs a value even on distinct values only)
            texts = list(map(repr, uniques.tolist()))
        else:       # bool, float32, small and unsigned integers: rare here, numpy's text
            texts = uniques.astype(str).tolist()
        if dtype.kind == "f":
            codes[np.isnan(values)] = -1
        return ColumnText(codes, [*texts, ""])
    # text, mixed objects, nullable and categorical dtypes: str() of each distinct value
    codes, uniques = column_codes(series)
    return ColumnText(codes, [*(quote_field(v if isinstance(v, str) else str(v))
                                for v in uniques.tolist()), ""])


def csv_chunks(frame: pd.DataFrame, row_chunk: int = ROW_CHUNK):
    """The CSV file's UTF-8 bytes (header, then rows), a chunk of rows at a time.

    Each column is turned into its distinct values' fields once for the whole file and
    joined with its neighbours where their combinations are few (``io.cells``, one column
    at a time); each row's fields end in "," but the last, which ends in the line end, so
    the rows are the cells' texts one after another, laid out by
    :class:`~cdisc_convert.io.cells.RowLayout` without a Python object per cell."""
    header = [quote_field(str(c)) for c in frame.columns]
    yield ((",".join(header) if header != [""] else '""') + "\n").encode("utf-8")
    width, total = frame.shape[1], len(frame)
    if width == 0:
        yield b"\n" * total
        return
    if not total:
        return
    columns = (column_text(frame.iloc[:, j]) for j in range(width))
    if width == 1:
        # a lone empty field is written "" so the row is not read as a blank line
        codes, texts = next(columns)
        columns = [ColumnText(codes, ['""' if t == "" else t for t in texts])]
    columns = merge_columns(columns, total)
    layout = RowLayout(columns, [","] * (len(columns) - 1) + ["\n"])
    for start in range(0, total, row_chunk):
        yield layout.rows(start, min(start + row_chunk, total))


def write_csv(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` (no index) as UTF-8 CSV with ``\\n`` line ends; returns the path."""
    path = Path(path)
    with open(path, "wb") as handle:
        for chunk in csv_chunks(frame):
            handle.write(chunk)
    return path
