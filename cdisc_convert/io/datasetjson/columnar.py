"""Dataset-JSON 1.1: the rows of a file laid out one row per line, decoded column by column.

A JSON parser builds one Python object per cell (several million per large data set) and
the reader then walks every one of them again, column by column, with a cache miss per
object. Files laid out as this package writes them (and as NDJSON is by definition) hold
one row per line, so the cells can be found with a few numpy passes over the bytes
instead: line ends, commas, and the first and last byte of each cell. Each column's cells
are then numbered by their bytes and length (a cell of up to 8 bytes is its own integer
key, a longer one is hashed and checked word for word against the cell it is numbered
with; a run of equal cells, as sorted data sets have, is numbered once) and only the
*distinct* cells are parsed, by orjson, in one call. What the reader gets per column is
those values and one code per row: no Python object per cell, and every later pass
touches few objects.

Nothing here decides what is valid beyond the layout: anything not laid out this way, or
not provably equal to what a JSON parser gives (a cell that is not one scalar, a quote or
control character out of place), makes :func:`decode_rows` return None and the caller
parses the file as a whole, as before, with its error messages.
"""
from __future__ import annotations

import numpy as np
import orjson
import pandas as pd

from cdisc_convert.core.factorize import first_occurrences

_NL, _QUOTE, _COMMA, _OPEN, _CLOSE = 10, 34, 44, 91, 93
# (1 << 8n) - 1: the low n bytes of a little-endian 8-byte word, n = 0..8
_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)   # an odd constant: multiplying by it is a bijection
_PAD = 8


class Column:
    """One column's cells: ``values`` (cells as orjson parses them, each distinct one
    once) and ``codes`` (per row, the position of its value): one array, or a list of
    arrays that follow each other (Arrow's blocks as they come, not joined in a copy)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes, values: list):
        self.codes = codes
        self.values = values

    @property
    def rows(self) -> int:
        if isinstance(self.codes, np.ndarray):
            return self.codes.size
        return sum(part.size for part in self.codes)

    def spread(self, converted: np.ndarray) -> np.ndarray:
        """The column of every row from ``converted`` (one entry per entry of
        ``values``): ``converted[codes]``."""
        if isinstance(self.codes, np.ndarray):
            return converted.take(self.codes)
        out = np.empty(self.rows, dtype=converted.dtype)
        at = 0
        for part in self.codes:
            # mode="clip" (the codes are valid): numpy would otherwise buffer ``out``
            np.take(converted, part, out=out[at:at + part.size], mode="clip")
            at += part.size
        return out


def split_header(data: bytes, ndjson: bool):
    """(header object, start, stop) of the rows part of ``data``, or None.

    JSON form: the rows must be the last top-level attribute (``"rows":[`` ... ``]}``),
    as the specification orders them; the header is what precedes them, parsed with an
    empty rows array put in their place (orjson then proves that ``"rows"`` was the
    top-level key, not text in a label). NDJSON: line 1 is the header.
    """
    try:
        if ndjson:
            end = data.find(b"\n")
            end = len(data) if end < 0 else end
            header = orjson.loads(data[:end])
            start, stop = end + 1, len(data)
        else:
            key = data.find(b'"rows":[')
            tail = data[-64:].rstrip()      # a slice: rstrip of the whole would copy it
            if key < 0 or not tail.endswith(b"]}"):
                return None
            header = orjson.loads(data[:key] + b'"rows":[]}')
            start = key + len(b'"rows":[')
            stop = max(len(data) - 64, 0) + len(tail) - 2
    except orjson.JSONDecodeError:
        return None
    if not isinstance(header, dict) or "rows" in header and ndjson:
        return None
    header.pop("rows", None)
    return header, start, stop


def decode_rows(data: bytes, start: int, stop: int, width: int, ndjson: bool):
    """The cells of ``data[start:stop]`` (one row array per line) as one
    :class:`Column` per column, or None when the rows are not laid out that way or a
    cell is not plainly one JSON scalar."""
    buffer = data + bytes(_PAD)      # 8-byte reads at any cell start stay inside
    raw = np.frombuffer(buffer, dtype=np.uint8)
    region = raw[start:stop]
    newlines = np.flatnonzero(region == _NL) + start
    line_starts = np.concatenate(([start], newlines + 1))
    line_ends = np.concatenate((newlines, [stop]))
    full = line_ends > line_starts
    line_starts, line_ends = line_starts[full], line_ends[full]
    nrows = line_starts.size
    if nrows == 0:
        return [Column(np.zeros(0, dtype=np.intp), []) for _ in range(width)]
    # each line is "[...]" (NDJSON, and the last JSON row) or "[...]," (other JSON rows)
    closes = line_ends - 1
    if not ndjson:
        closes[:-1] -= 1
    if not (np.all(raw[line_starts] == _OPEN) and np.all(raw[closes] == _CLOSE)
            and np.all(closes > line_starts)):
        return None
    commas = np.flatnonzero(region == _COMMA) + start
    backslash = data.find(b"\\", start, stop) >= 0
    quotes = None
    inner = _inner_commas(commas, line_starts, closes, width, ndjson)
    if inner is None:
        # commas inside strings: keep those after an even number of (unescaped) quotes
        quotes = _unescaped_quotes(raw, region, start, backslash)
        commas = commas[(np.searchsorted(quotes, commas) % 2) == 0]
        inner = _inner_commas(commas, line_starts, closes, width, ndjson)
        if inner is None:
            return None
    del commas
    words = np.ndarray(shape=(len(data),), dtype="<u8", buffer=buffer, strides=(1,))
    inner = np.ascontiguousarray(inner.T)   # column by column from here on
    columns, strings, edges = [], 0, []
    for j in range(width):
        # cell j of a row spans [begin, end): after "[" or a comma, up to a comma or "]"
        begins = line_starts + 1 if j == 0 else inner[j - 1] + 1
        ends = closes if j == width - 1 else inner[j]
        column = _column(data, raw, words, begins, ends, backslash)
        if column is None:
            return None
        columns.append(column[0])
        strings += column[1]
        if backslash and column[2] is not None:
            edges.append(column[2])
    # every unescaped quote must open or close a string cell: then no cell boundary lies
    # inside a string and each string cell is one string (the parser checks its content)
    if not backslash:
        return columns if data.count(b'"', start, stop) == 2 * strings else None
    if quotes is None:
        quotes = _unescaped_quotes(raw, region, start, backslash)
    edges = np.sort(np.concatenate(edges)) if edges else np.zeros(0, dtype=np.int64)
    return columns if np.array_equal(edges, quotes) else None


def _inner_commas(commas, line_starts, closes, width: int, ndjson: bool):
    """The commas between the cells of each row as a rows x (width - 1) array, or None
    when the rows do not hold exactly width - 1 each (JSON rows are also followed by a
    separating comma, which is left out)."""
    nrows = line_starts.size
    per_row = width - 1 if ndjson else width
    if commas.size != nrows * per_row - (0 if ndjson else 1):
        return None
    if not ndjson:
        grid = np.empty(nrows * per_row, dtype=commas.dtype)
        grid[:-1] = commas
        grid[-1] = closes[-1] + 1
        grid = grid.reshape(nrows, per_row)
        if not np.array_equal(grid[:, -1], closes + 1):
            return None
        grid = grid[:, :-1]
    else:
        grid = commas.reshape(nrows, per_row)
    if width > 1 and not (np.all(grid[:, 0] > line_starts) and np.all(grid[:, -1] < closes)):
        return None
    return grid


def _unescaped_quotes(raw, region, start, backslash: bool) -> np.ndarray:
    """Positions of the quotes that open or close strings (not preceded by an odd run of
    backslashes)."""
    quotes = np.flatnonzero(region == _QUOTE) + start
    if not backslash or quotes.size == 0:
        return quotes
    slashes = np.flatnonzero(region == ord("\\")) + start
    if slashes.size == 0:
        return quotes
    # length of the backslash run ending just before each quote
    new_run = np.concatenate(([True], np.diff(slashes) != 1))
    run_start = np.maximum.accumulate(np.where(new_run, slashes, 0))
    at = np.minimum(np.searchsorted(slashes, quotes - 1), slashes.size - 1)
    hit = slashes[at] == quotes - 1
    lengths = np.where(hit, quotes - run_start[at], 0)
    return quotes[lengths % 2 == 0]


def _column(data: bytes, raw, words, begins, ends, backslash: bool):
    """(Column, number of string cells, their quote positions when the rows hold a
    backslash) of one column's cells, or None (see decode_rows)."""
    lengths = ends - begins
    nrows = lengths.size
    if lengths.min() <= 0:
        return None
    longest = int(lengths.max())
    first_word = words[begins]
    opens = (first_word & np.uint64(0xFF)) == _QUOTE
    strings = int(np.count_nonzero(opens))
    if strings:
        closed = (raw[ends - 1] == _QUOTE) & (lengths >= 2)
        if np.any(opens & ~closed):
            return None
    # a cell is its bytes, read as 8-byte words zero-padded past its end, and its length
    # (words alone would not tell "1" from "1" and a NUL byte, which is not JSON but must
    # not pass for "1"). Up to 8 bytes the word is the key; longer cells are hashed.
    cell_words = [first_word & _MASKS[np.minimum(lengths, 8)]]
    last = words.size - 1
    for offset in range(8, longest, 8):
        word = words[np.minimum(begins + offset, last)]
        word &= _MASKS[np.clip(lengths - offset, 0, 8)]
        cell_words.append(word)
    # runs of equal cells (data sets are sorted by their keys), then one key per run
    change = np.empty(nrows, dtype=bool)
    change[0] = True
    np.not_equal(lengths[1:], lengths[:-1], out=change[1:])
    for word in cell_words:
        change[1:] |= word[1:] != word[:-1]
    heads = np.flatnonzero(change)
    key = cell_words[0][heads]
    if longest > 8:
        key ^= lengths[heads].astype(np.uint64) * _MIX
        for word in cell_words[1:]:
            key = (key * _MIX) ^ word[heads]
            key ^= key >> np.uint64(29)
    head_codes = pd.factorize(key)[0]
    firsts = first_occurrences(head_codes)          # positions in heads
    # every run's first cell must be the first cell of its code: its length and, when
    # the key is a hash (which may collide), its words (from small tables: no random
    # reads of the file)
    for part in (lengths, *cell_words) if longest > 8 else (lengths,):
        at_heads = part[heads]
        if not np.array_equal(at_heads, at_heads[firsts].take(head_codes)):
            return None
    first = heads[firsts]
    # each run's code along it (a cumulative count of runs is faster than a repeat)
    codes = head_codes if heads.size == nrows else head_codes.take(np.cumsum(change) - 1)
    starts, stops = begins[first], ends[first]
    texts = [data[a:b] for a, b in zip(starts.tolist(), stops.tolist())]
    try:
        values = orjson.loads(b"[" + b",".join(texts) + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(values) != len(texts) or any(isinstance(v, (list, dict)) for v in values):
        return None
    edges = (np.concatenate((begins[opens], ends[opens] - 1)) if strings and backslash
             else None)
    return Column(codes, values), strings, edges
