"""Dataset-JSON 1.1: rows laid out one per line, cut into cells by Arrow's CSV reader.

The numpy route of :mod:`.columnar` finds and numbers the cells with a dozen passes over
the bytes and per-column arrays of cell positions; at disk speed that is several times
too slow. Arrow's CSV reader does the same work in native code, one block of lines per
thread: with quoting switched off, the row ``["A","B",1.5]`` is three comma-separated
fields ``["A"``, ``"B"`` and ``1.5]``, and a field read as a dictionary gives each
distinct text once and one index per row. Only the distinct texts are then parsed, by
orjson, as :mod:`.columnar` does: the reader gets the same :class:`.columnar.Column`.

The cells are proven to be those a JSON parser sees, or :func:`decode_rows_arrow` returns
None and the caller tries the next route:

* the rows hold no CR (Arrow ends a line there, JSON reads a space; such files go the
  numpy way);
* every line holds the row's number of fields (Arrow refuses a line with fewer), opens
  with ``[`` and closes with ``]`` (``],`` and nothing after it in the JSON form, whose
  last row has no comma and is parsed on its own);
* no field holds a comma (Arrow cut at every one), so when a column's distinct texts
  joined by commas parse as exactly that many values, no comma of the file lay inside a
  string and each text is one JSON value (escapes included); a list or object is
  refused as elsewhere;
* a line with more fields (a comma inside a string) is set aside by Arrow, found again
  by its commas and parsed whole as one row, in its place.
"""
from __future__ import annotations

import numpy as np
import orjson

from .columnar import Column

#: Bytes per Arrow block: several blocks per core, but not so many that every column's
#: dictionary is built and merged dozens of times.
_BLOCK = 8 << 20
_TAIL = 4096        # trailing whitespace looked at after the last row of the JSON form
_NL, _COMMA = 10, 44
_SCALARS = {str, int, float, bool, type(None)}


def decode_rows_arrow(data: bytes, start: int, stop: int, width: int, ndjson: bool):
    """The cells of ``data[start:stop]`` (one row array per line) as one
    :class:`.columnar.Column` per column, or None (see the module docstring)."""
    last = None
    end = stop
    if not ndjson:
        # the last row ends without the separating comma: it is parsed on its own
        tail_from = max(start, stop - _TAIL)
        end = tail_from + len(data[tail_from:stop].rstrip())
        line = data.rfind(b"\n", start, end) + 1
        if line <= start:
            return None
        try:
            last = orjson.loads(data[line:end])
        except orjson.JSONDecodeError:
            return None
        if (not isinstance(last, list) or len(last) != width
                or not set(map(type, last)) <= _SCALARS):
            return None
        end = line
    fields = width + (0 if ndjson else 1)
    read = _read_fields(data, start, end, width, fields)
    if read is None:
        return None
    table, skipped = read
    # Arrow also ends lines at a CR, which JSON reads as a space: checked after Arrow
    # read the bytes, so that its threads rather than this one bring a mapped file in
    if data.find(b"\r", start, stop) >= 0:
        return None
    at, rows = None, []
    if skipped:
        found = _skipped_rows(data, start, end, fields, ndjson)
        if found is None or len(found[1]) != skipped:
            return None
        at, rows = found
    columns = []
    for j in range(width):
        chunks = table.column(j).chunks
        texts = chunks[0].dictionary.to_pylist()
        if j == 0:
            if not all(t[:1] == b"[" for t in texts):
                return None
            texts = [t[1:] for t in texts]
        if j == width - 1:
            if not all(t[-1:] == b"]" for t in texts):
                return None
            texts = [t[:-1] for t in texts]
        values = _json_items(texts)
        if values is None or not set(map(type, values)) <= _SCALARS:
            return None
        codes = [chunk.indices.to_numpy() for chunk in chunks]
        if at is not None:
            # the rows Arrow set aside (a comma inside a string) in their places
            placed = np.empty(table.num_rows + len(rows), dtype=np.intp)
            keep = np.ones(placed.size, dtype=bool)
            keep[at] = False
            placed[keep] = np.concatenate(codes)
            placed[at] = np.arange(len(values), len(values) + len(rows))
            values.extend(row[j] for row in rows)
            codes = [placed]
        if last is not None:
            codes.append(np.array([len(values)], dtype=np.intp))
            values.append(last[j])
        columns.append(Column(codes, values))
    return columns


def _json_items(pieces: list[bytes]) -> list | None:
    """The JSON values of ``pieces``, parsed as one array (one orjson call), or None when
    they do not parse or are not one value each (a comma inside a piece)."""
    try:
        items = orjson.loads(b"[" + b",".join(pieces) + b"]")
    except orjson.JSONDecodeError:
        return None
    return items if len(items) == len(pieces) else None


def _read_fields(data: bytes, start: int, end: int, width: int, fields: int):
    """(table, number of lines set aside) for ``data[start:end]``: an Arrow table of
    ``fields`` dictionary-encoded byte columns (one row per non-empty line, fields cut
    at every comma) without the lines holding more fields (a string with a comma:
    :func:`_skipped_rows` finds and parses them); None when a line holds fewer fields
    or no line is left."""
    import pyarrow as pa
    import pyarrow.csv as csv

    skipped = 0

    def set_aside(row) -> str:
        nonlocal skipped
        if row.actual_columns < row.expected_columns:
            return "error"
        skipped += 1
        return "skip"

    names = [str(i) for i in range(fields)]
    cell = pa.dictionary(pa.int32(), pa.binary())   # binary: orjson checks the UTF-8
    types = dict.fromkeys(names[:width], cell)
    if fields > width:      # the JSON form: nothing may follow the comma that ends a row
        types[names[width]] = pa.null()
    try:
        table = csv.read_csv(
            pa.BufferReader(pa.py_buffer(data)[start:end]),
            read_options=csv.ReadOptions(column_names=names, block_size=_BLOCK),
            parse_options=csv.ParseOptions(quote_char=False, invalid_row_handler=set_aside),
            convert_options=csv.ConvertOptions(column_types=types, null_values=[""]))
    except pa.ArrowException:
        return None
    if table.num_rows == 0:
        return None
    return table.unify_dictionaries(), skipped


def _skipped_rows(data: bytes, start: int, end: int, fields: int, ndjson: bool):
    """(positions among the rows, parsed rows) of the lines of ``data[start:end]`` with
    more than ``fields`` comma-separated fields, or None when they are not one JSON row
    each (followed by the separating comma in the JSON form)."""
    region = np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)
    breaks = np.flatnonzero(region == _NL)
    begins = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [region.size]))
    full = ends > begins
    begins, ends = begins[full], ends[full]
    commas = np.flatnonzero(region == _COMMA)
    counts = np.searchsorted(commas, ends) - np.searchsorted(commas, begins)
    at = np.flatnonzero(counts > fields - 1)
    lines = [data[start + a:start + b] for a, b in zip(begins[at].tolist(), ends[at].tolist())]
    if not ndjson:
        if not all(line[-1:] == b"," for line in lines):
            return None
        lines = [line[:-1] for line in lines]
    rows = _json_items(lines)
    width = fields - (0 if ndjson else 1)
    if rows is None or not all(
            isinstance(row, list) and len(row) == width and set(map(type, row)) <= _SCALARS
            for row in rows):
        return None
    return at, rows
