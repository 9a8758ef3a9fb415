"""Text files of rows assembled from the text of each column's distinct values.

The CSV and Dataset-JSON writers turn a column into its distinct values' texts and one
code per row (clinical columns repeat a few values millions of times, so each text is made
once). This module puts the rows together from those: no Python work per cell or per row.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from cdisc_convert.core.arrays import code_dtype


class ColumnText(NamedTuple):
    """A column as text: the text of each distinct value, the missing value's text last,
    and per row the position of its text (-1: the missing value's text)."""

    codes: np.ndarray
    texts: list[str]


def merge_columns(columns: Iterable[ColumnText], nrows: int,
                  between: str = ",") -> list[ColumnText]:
    """Neighbouring columns joined into one wherever their value combinations are few.

    Clinical rows repeat whole runs of columns together (STUDYID and DOMAIN are constant,
    a test code comes with its name and unit, a visit number with its visit and epoch):
    numbering the combinations of a pair of columns (a few integer passes) costs less than
    assembling their cells row by row, so a column joins the one before it while the
    product of their distinct counts stays small. The texts are unchanged: a joined
    column's text is its parts' texts with ``between`` between them. Codes come out
    non-negative (the missing value's text is the last). ``columns`` may be a generator:
    one column at a time is held besides the joined ones.
    """
    limit = max(nrows // 8, 64)
    out: list[ColumnText] = []
    for column in columns:
        size = len(column.texts)
        # -1 is missing, the last text; a whole file's codes are held: the smallest type
        # (1 or 2 bytes a row for most columns), the caller's array itself when it is so
        narrow = code_dtype(size - 1)
        codes = np.asarray(column.codes).astype(narrow, copy=False)
        if (codes < 0).any():
            codes = np.where(codes < 0, narrow.type(size - 1), codes)
        if out and len(out[-1].texts) * size <= limit:
            before = out[-1]
            combined = before.codes.astype(np.intp) * size + codes
            used = np.flatnonzero(np.bincount(combined, minlength=len(before.texts) * size))
            number = np.empty(len(before.texts) * size, dtype=code_dtype(used.size))
            number[used] = np.arange(used.size)  # renumber the combinations that occur
            left, right = np.divmod(used, size)
            out[-1] = ColumnText(number.take(combined), [
                before.texts[i] + between + column.texts[k]
                for i, k in zip(left.tolist(), right.tolist())])
        else:
            out.append(ColumnText(codes, column.texts))
    return out


class RowLayout:
    """The rows of a file as UTF-8 bytes, laid out from each column's distinct texts
    (``columns``: as :func:`merge_columns` gives them, codes non-negative), each cell's
    text followed by its column's suffix, row after row, a range of rows at a time.

    Every column's distinct texts (suffix included) are encoded once for the whole file,
    into one Arrow binary array, one column after the other; a range of rows is a
    rows x columns grid of positions into it, read in row order by one Arrow ``take``,
    whose data buffer is then the rows' bytes as they lie. No Python object per cell: an
    object grid joined as ``str`` and encoded on write took twice as long (17 vs 9 ms for
    100,000 rows of LB, 8 columns once merged).
    """

    def __init__(self, columns: list[ColumnText], suffixes: list[str]):
        import pyarrow as pa

        self._codes = [column.codes for column in columns]
        self._starts: list[int] = []
        table: list[bytes] = []
        for column, suffix in zip(columns, suffixes):
            self._starts.append(len(table))
            # an unpaired surrogate raises UnicodeEncodeError here, as writing it did
            table.extend((text + suffix).encode("utf-8") for text in column.texts)
        self._table = pa.array(table, type=pa.large_binary())
        self._dtype = np.int32 if len(table) < 2**31 else np.int64   # narrow codes widen

    def rows(self, start: int, stop: int) -> memoryview:
        """The bytes of rows ``start:stop`` (a view of an Arrow buffer)."""
        import pyarrow as pa

        if stop <= start or not self._codes:
            return memoryview(b"")
        positions = np.empty((stop - start, len(self._codes)), dtype=self._dtype)
        for j, (codes, first) in enumerate(zip(self._codes, self._starts)):
            np.add(codes[start:stop], self._dtype(first), out=positions[:, j],
                   casting="unsafe")
        cells = self._table.take(pa.array(positions.ravel()))
        _, offsets, data = cells.buffers()
        ends = np.frombuffer(offsets, dtype=np.int64)[cells.offset:cells.offset + len(cells) + 1]
        if data is None:
            return memoryview(b"")
        return memoryview(data)[int(ends[0]):int(ends[-1])]

