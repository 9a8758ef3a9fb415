"""Reading raw (EDC-export) tables: CSV, SAS7BDAT, XPT, Excel, ODM XML or SQL, all as text.

ODM 1.3 ClinicalData XML is read by :mod:`cdisc_convert.io.odm` (one table per item group),
a SQL table or query by :mod:`cdisc_convert.io.sql`; :func:`read_source` dispatches.

Raw tables are read with every column as text so nothing is guessed: "NA" stays "NA", a
leading zero stays, "1.0" is not turned into 1. Each row carries ``__table`` (the file name)
and ``__row`` so every SDTM record and every finding can name the raw row it came from.

Row numbers follow one convention for every format: **row N is line N + 1 of the file**
(the header is line 1; for Excel, sheet row N + 1). Blank lines are skipped but counted,
and a value spanning several lines is numbered by the line it starts on, so a reported row
is always found at that line in an editor. In a file without blank lines, row N is simply
the N-th data row.

A table is refused (:class:`InputError` naming file and lines) rather than silently
repaired when its shape is wrong: a row with more or fewer fields than the header (pandas
would pad it with blanks or shift it under a wrong header), a column header given twice
(pandas would rename the second ``X.1`` and nobody would map it), or a NUL byte in a text
file (pandas would cut the value at it). Excel cells are read as the user sees them: a
number formatted ``000`` keeps its leading zeros, a whole number has no ``.0``, a date
cell is an ISO 8601 date (with a time only when the cell's format shows one). Control
characters inside values are reported by :func:`control_characters`.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError
from cdisc_convert.core.factorize import factorize_text

from .headers import check_unique_names

TRACE_COLUMNS = ["__table", "__row"]

#: control characters other than tab, line feed and carriage return (and DEL)
_HARD_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LISTED = 5         # lines named in an error message


def _lines_text(lines) -> str:
    lines = [int(x) for x in lines]
    more = f" and {len(lines) - _LISTED} more" if len(lines) > _LISTED else ""
    return ", ".join(map(str, lines[:_LISTED])) + more


def _ascii_compatible(encoding: str) -> bool:
    try:
        return '\n,\t"'.encode(encoding) == b'\n,\t"' and \
            not codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        return False


def _records(data: bytes, sep: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             int]:
    """Record structure of delimited bytes, without parsing values (numpy, no row loop).

    Returns (start offset, end offset, first line number, field count) of every record,
    and the number of line feeds inside quoted values.
    A quote toggles "inside a quoted value" (a doubled quote toggles twice, so RFC 4180
    escaping keeps the parity right): separators and line feeds inside quotes are data.
    """
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    seps = np.flatnonzero(arr == sep)
    quotes = np.flatnonzero(arr == 34)
    ends = newlines
    if quotes.size:
        ends = newlines[(np.searchsorted(quotes, newlines) & 1) == 0]
        seps = seps[(np.searchsorted(quotes, seps) & 1) == 0]
    starts = np.concatenate([[0], ends + 1])
    ends = np.concatenate([ends, [len(arr)]])
    quoted_newlines = len(newlines) - (len(ends) - 1)
    if starts[-1] >= len(arr):          # the file ends with a line feed
        starts, ends = starts[:-1], ends[:-1]
    fields = np.searchsorted(seps, ends) - np.searchsorted(seps, starts) + 1
    lines = np.searchsorted(newlines, starts) + 1
    return starts, ends, lines, fields, quoted_newlines


def _blank(data: bytes, starts, ends, fields) -> np.ndarray:
    """Records that are blank lines (only blanks, tabs or a carriage return), as pandas
    skips them. Only one-field records can be blank; few records are, except in a
    one-column table."""
    blank = np.zeros(len(starts), dtype=bool)
    for i in np.flatnonzero(fields == 1):
        blank[i] = not data[starts[i]:ends[i]].strip(b" \t\r")
    return blank


def _check_delimited(path: Path, encoding: str, sep: str, data: bytes | None = None
                     ) -> tuple[list[str], np.ndarray, bool]:
    """The header fields, the line of every data record and whether any value may hold a
    control character; raises InputError on a ragged row, a repeated header or a NUL.
    ``data``: the file's bytes, when read already."""
    data = path.read_bytes() if data is None else data
    if not _ascii_compatible(encoding):
        try:
            data = data.decode(encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError):
            return [], np.zeros(0, dtype=np.int64), True    # the reader names the problem
    if b"\x00" in data:
        lines = sorted({data.count(b"\n", 0, m.start()) + 1
                        for m in re.finditer(rb"\x00", data[:10_000_000])})
        raise InputError(f"NUL byte on line(s) {_lines_text(lines)}: a text table never holds "
                         "one (the file may be binary or corrupted); pandas would cut the "
                         "value there", file=path, rule="RAW-NUL")
    starts, ends, lines, fields, quoted_newlines = _records(data, ord(sep))
    keep = ~_blank(data, starts, ends, fields)
    starts, ends, lines, fields = starts[keep], ends[keep], lines[keep], fields[keep]
    if not len(starts):
        return [], lines, False
    header_text = data[starts[0]:ends[0]].decode("utf-8" if not _ascii_compatible(encoding)
                                                 else encoding, errors="replace")
    header = next(csv.reader([header_text.rstrip("\r")], delimiter=sep), [])
    names = [h.strip() for h in header]
    check_unique_names(names, file=path)
    ragged = np.flatnonzero(fields[1:] != fields[0]) + 1
    if ragged.size:
        first = int(ragged[0])
        raise InputError(
            f"{ragged.size} row(s) have a different number of fields than the header "
            f"({int(fields[0])}): line(s) {_lines_text(lines[ragged])} (line {lines[first]} has "
            f"{int(fields[first])}); quote values that hold '{sep}', or fix the export",
            file=path, rule="RAW-RAGGED")
    # may a value hold a control character? Counted in numpy and bytes.count (a regular
    # expression over the whole file took longer than parsing it); the header counts too
    arr = np.frombuffer(data, dtype=np.uint8)
    controls_bytes = int(np.count_nonzero(arr < 32)) + int(np.count_nonzero(arr == 127))
    line_bytes = data.count(b"\n") + data.count(b"\r") + data.count(b"\t")
    multiline = quoted_newlines > 0
    controls = controls_bytes > line_bytes or (sep != "\t" and b"\t" in data) or \
        data.count(b"\r") != data.count(b"\r\n") or multiline
    return names, lines[1:], controls


def _separator_hint(path: Path, encoding: str, sep: str) -> None:
    """Raise an InputError saying what to declare when the header is one field holding
    another separator (many European exports, Excel's or Castor EDC's, use ';')."""
    with open(path, "rb") as f:
        first = f.readline(1 << 16).decode(encoding, errors="replace")
    other = [d for d in DELIMITERS if d != sep and d in first]
    if sep not in first and other:
        raise InputError(f"the header is one column holding {other[0]!r}: the file looks "
                         f"{other[0]!r}-separated; declare `delimiter: {other[0]!r}` for this "
                         "table in study.yaml", file=path, rule="RAW-READ")


#: Separators a delimited raw file may declare (``delimiter:`` in study.yaml).
DELIMITERS = (",", ";", "\t", "|")


def _read_delimited(path: Path, encoding: str, delimiter: str | None = None) -> pd.DataFrame:
    sep = delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
    if sep not in DELIMITERS:
        raise InputError(f"delimiter {sep!r} is not one of {', '.join(map(repr, DELIMITERS))}",
                         file=path, rule="RAW-READ")
    plain = _read_plain_delimited(path, encoding, sep)
    if plain is not None:
        return plain
    try:
        names, lines, controls = _check_delimited(path, encoding, sep)
    except InputError:
        _separator_hint(path, encoding, sep)
        raise
    _separator_hint(path, encoding, sep)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=sep)
    if names and len(frame) == len(lines):
        frame.attrs["lines"] = lines
    frame.attrs["controls"] = controls
    frame.attrs["complete"] = True          # keep_default_na=False: no value is missing
    return frame


def _header_names(data: bytes, sep: str) -> list[str] | None:
    """The fields of the first line (a UTF-8 byte-order mark dropped, as pandas does)."""
    end = data.find(b"\n")
    line = data[:end if end >= 0 else len(data)].decode("utf-8-sig", errors="replace")
    return next(csv.reader([line.rstrip("\r")], delimiter=sep), None)


def _read_plain_delimited(path: Path, encoding: str, sep: str) -> pd.DataFrame | None:
    """The common case of :func:`_read_delimited` read by pyarrow's CSV parser (C++, about
    a third of pandas' CPU time with the checks), or None when the file is not that case.

    The case: UTF-8 without NUL bytes, a header of two or more distinct non-empty names
    (one name may be a wrong ``delimiter:``, which the pandas route explains) and one record
    per line (no blank line, no line break inside a quoted value), every record with the
    header's number of fields. There pyarrow reads exactly what pandas' ``read_csv(dtype=str,
    keep_default_na=False)`` reads (text as it is, RFC 4180 quotes), row N is line N + 1
    and only the line feeds need counting. Anything else (a ragged row, a carriage return
    outside a CRLF line end, an odd number of quotes, another encoding, a value pyarrow
    refuses) gives None, and the pandas route reads the file, names the problem and
    numbers the rows as before.
    The pyarrow table's strings become one Python object per distinct value of a column
    (``deduplicate_objects``), as pandas' reader shares them, which later steps rely on.
    """
    try:
        if codecs.lookup(encoding).name != "utf-8":
            return None
    except LookupError:
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = path.read_bytes()
    if not data or b"\x00" in data:
        return None
    header = _header_names(data, sep)
    if not header or len(header) == 1 or "" in header or \
            any("\n" in h or "\r" in h for h in header) or \
            len({h.strip() for h in header}) != len(header):
        return None
    quotes = data.count(b'"') if b'"' in data else 0
    if quotes % 2:      # a quote left open at the end, which pandas refuses, or a stray one
        return None
    try:
        table = pacsv.read_csv(     # without quotes no value holds a line break (faster)
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=quotes > 0),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, null_values=[],
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, ValueError):
        return None
    rows = table.num_rows
    # each count is a pass over the bytes: only those the answer needs are made
    line_feeds = data.count(b"\n")
    arr = np.frombuffer(data, dtype=np.uint8)
    controls_bytes = int(np.count_nonzero(arr < 32)) + (data.count(b"\x7f") if b"\x7f" in data
                                                        else 0)
    returns = data.count(b"\r") if controls_bytes > line_feeds else 0
    if returns and returns != data.count(b"\r\n"):    # a carriage return ends a line too
        return None
    if table.column_names != header or \
            any(not pa.types.is_string(t) for t in table.schema.types) or \
            line_feeds != rows + data.endswith(b"\n") or \
            (rows and "\n" in table.column(len(header) - 1)[rows - 1].as_py()):
        # a line break inside a value, a blank line, or (the last test) a quote opened in
        # the last record and never closed, which swallowed the final line feed
        return None
    if quotes:
        # the pandas route's checks decide (they take a quote inside a value, which both
        # parsers keep as text, for an opening one and may refuse the file)
        try:
            _names, lines, controls = _check_delimited(path, encoding, sep, data)
        except InputError:
            return None
        if len(lines) != rows:
            return None
    else:
        lines = np.arange(2, rows + 2, dtype=np.int64)
        if controls_bytes == line_feeds:        # the line feeds are the only control bytes
            controls = False
        else:                                   # as _check_delimited decides
            controls = controls_bytes > line_feeds + returns + data.count(b"\t") or \
                (sep != "\t" and b"\t" in data)
    frame = table.to_pandas(use_threads=False, deduplicate_objects=True)
    del table
    frame.attrs["lines"] = lines
    frame.attrs["controls"] = controls
    frame.attrs["complete"] = True
    return frame


# ------------------------------------------------------------------------------ Excel
_ZEROS = re.compile(r"^0+(\.0+)?$")


def _excel_text(value, number_format: str) -> str:
    """A cell's value as the user sees it (a small subset of Excel's number formats).

    Text stays as typed. A number formatted ``000`` or ``0.00`` is shown with those digits;
    otherwise a whole number has no decimal part and a fraction its shortest exact text.
    A date cell is ISO 8601: a date, or a date and time when the format shows a time.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    fmt = (number_format or "General").split(";")[0]
    if isinstance(value, dt.datetime):
        shows_time = bool(re.search(r"[hs]", re.sub(r'"[^"]*"|\[[^]]*]', "", fmt.lower())))
        if not shows_time and value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (int, float)):
        if _ZEROS.match(fmt):
            digits, _, decimals = fmt.partition(".")
            return f"{value:0{len(digits) + (len(decimals) + 1 if decimals else 0)}.{len(decimals)}f}"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    return str(value)


def _read_excel(path: Path, sheet: str | int) -> pd.DataFrame:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if isinstance(sheet, int):
            if sheet >= len(book.sheetnames):
                raise InputError(f"the workbook has no sheet {sheet}", file=path,
                                 rule="RAW-READ")
            ws = book.worksheets[sheet]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise InputError(f"no sheet {sheet!r} (sheets: {', '.join(book.sheetnames)})",
                             file=path, rule="RAW-READ")
        ws.reset_dimensions()           # a file's stored dimensions may be wrong
        header, lines, rows = None, [], []
        for line, cells in enumerate(ws.iter_rows(min_row=1), start=1):
            texts = [_excel_text(c.value, getattr(c, "number_format", "General"))
                     for c in cells]
            if not any(t.strip() for t in texts):
                continue
            if header is None:
                header = [t.strip() for t in texts]
                while header and header[-1] == "":
                    header.pop()
                continue
            rows.append(texts)
            lines.append(line)
    finally:
        book.close()
    if header is None:
        raise InputError("raw table is empty (no header row)", file=path, rule="RAW-EMPTY")
    check_unique_names(header, file=path)
    width = len(header)
    beyond = [line for line, r in zip(lines, rows) if any(t.strip() for t in r[width:])]
    if beyond:
        raise InputError(f"row(s) on sheet line(s) {_lines_text(beyond)} have values in "
                         "columns without a header", file=path, row=beyond[0] - 1,
                         rule="RAW-RAGGED")
    rows = [(r + [""] * width)[:width] for r in rows]
    frame = pd.DataFrame(rows, columns=[c or f"Unnamed: {i}" for i, c in enumerate(header)],
                         dtype=object)
    frame.attrs["lines"] = np.asarray(lines, dtype=np.int64)
    frame.attrs["controls"] = True
    return frame


def read_source(raw_dir: Path | str | None, *, file: str | None = None,
                sql: str | None = None, query: str | None = None, table: str | None = None,
                item_group: str | None = None, encoding: str = "utf-8",
                name: str | None = None, delimiter: str | None = None) -> pd.DataFrame:
    """One raw table as declared in study.yaml: a file of ``raw_dir`` (``item_group`` for an
    ODM XML file) or a SQL ``table``/``query`` at database URL ``sql``. Same columns,
    text values and traceability as :func:`read_raw_table`."""
    if sql is not None:
        from cdisc_convert.io.sql import read_sql_table

        frame = read_sql_table(sql, query=query, table=table,
                               base=Path(raw_dir) if raw_dir is not None else None)
        return _with_trace(frame, name or table or "query")
    path = Path(raw_dir) / file if raw_dir is not None else Path(file)
    return read_raw_table(path, encoding=encoding, name=name, item_group=item_group,
                          delimiter=delimiter)


def read_raw_table(path: Path | str, *, encoding: str = "utf-8", sheet: str | int = 0,
                   name: str | None = None, item_group: str | None = None,
                   delimiter: str | None = None) -> pd.DataFrame:
    """Read one raw table as text with traceability columns.

    ``delimiter`` separates the fields of a delimited file (``,`` by default, tab for
    ``.tsv``; ``;`` or ``|`` as declared); a one-column header holding another separator is
    an error saying what to declare.

    Blank cells become ``""``. Column names are stripped of surrounding blanks. Raises
    :class:`InputError` naming the file when it is missing, empty, unreadable or ragged
    (see the module documentation).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("raw table not found", file=path, rule="RAW-MISSING")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            frame = _read_delimited(path, encoding, delimiter)
        elif suffix == ".xlsx":
            frame = _read_excel(path, sheet)
        elif suffix == ".xml":
            from cdisc_convert.io.odm import read_odm_item_group

            frame = read_odm_item_group(path, item_group)
        elif suffix == ".xls":
            frame = pd.read_excel(path, dtype=str, sheet_name=sheet, keep_default_na=False)
        elif suffix in (".sas7bdat", ".xpt"):
            import pyreadstat

            reader = pyreadstat.read_sas7bdat if suffix == ".sas7bdat" else pyreadstat.read_xport
            frame, _ = reader(str(path), encoding=None if encoding == "utf-8" else encoding)
            frame = frame.astype(object).where(frame.notna(), "").astype(str)
        else:
            raise InputError(f"unsupported raw file type {suffix!r} (use .csv, .xlsx, "
                             ".sas7bdat, .xpt or an ODM .xml)", file=path, rule="RAW-TYPE")
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError("raw table is empty (no header row)", file=path, rule="RAW-EMPTY")
    except UnicodeDecodeError as err:
        raise InputError(f"cannot decode as {encoding} ({err.reason} at byte {err.start}); "
                         "set `encoding:` for this table", file=path, rule="RAW-ENCODING")
    except Exception as err:  # the readers raise many types; name the file, keep the cause
        raise InputError(f"cannot read raw table: {err}", file=path, rule="RAW-READ") from err
    return _with_trace(frame, name or path.name)


def _with_trace(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    lines = frame.attrs.get("lines")
    controls = frame.attrs.get("controls", True)
    complete = frame.attrs.get("complete", False)
    frame.attrs = {}
    frame.columns = [str(c).strip() for c in frame.columns]
    if not complete:    # looking for missing values costs more than reading a CSV file
        frame = frame.fillna("")
    frame["__table"] = name
    frame["__row"] = (np.asarray(lines) - 1) if lines is not None else range(1, len(frame) + 1)
    frame.attrs["controls"] = controls      # read_tables takes it off (control_characters)
    return frame


def control_characters(frame: pd.DataFrame, maybe: bool = True
                       ) -> list[tuple[str, pd.Series, pd.Series, bool]]:
    """Values holding control characters: per column (column, raw rows, values, hard).

    ``hard``: some value holds a character other than tab, line feed or carriage return
    (NUL, ESC, ...), which no submission value may hold. Checked on distinct values;
    ``maybe`` False (a text file whose bytes hold none) skips the check.
    """
    if not maybe:
        return []
    out = []
    for column in frame.columns:
        if column in TRACE_COLUMNS or frame[column].dtype != object:
            continue
        values = frame[column]
        # not pd.unique/isin: they take "a\x00" for "a" (see factorize_text)
        codes, uniques = factorize_text(values.to_numpy(dtype=object))
        texts = [u for u in uniques.tolist() if isinstance(u, str)]
        if not _ANY_CONTROL.search("".join(texts)):
            continue
        bad = [i for i, u in enumerate(uniques.tolist())
               if isinstance(u, str) and _ANY_CONTROL.search(u)]
        hard = [i for i in bad if _HARD_CONTROL.search(uniques[i])]
        soft = [i for i in bad if not _HARD_CONTROL.search(uniques[i])]
        for chosen, is_hard in ((hard, True), (soft, False)):
            if chosen:
                hit = np.isin(codes, chosen)
                out.append((column, frame.loc[hit, "__row"], values[hit], is_hard))
    return out


def escape_controls(text: str) -> str:
    """``text`` with each control character shown as ``\\xNN`` (for messages)."""
    return _ANY_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02X}", text)
