"""SAS XPORT v5: writer (see the package docstring)."""
from __future__ import annotations

import queue
import threading
import warnings
import weakref
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import MetadataDict, code_dtype
from cdisc_convert.core.errors import CdiscError, OutputError
from cdisc_convert.core.reproducible import source_date_epoch
from cdisc_convert.io.atomic import atomic_file

from .layout import (HEADER_PREFIX, HEADER_SUFFIX, MONTHS, NAMESTR_SIZE, RECORD,
                     ROWS_CHUNK_BYTES, SAS_OS, SAS_VERSION, WRITE_QUEUE_DEPTH,
                     XptPrecisionWarning, namestr_dtype, text)
from .ibm import ibm_block
from .columns import Column, prepare


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

def _header_time() -> str:
    """Header timestamp ``ddMMMyy:hh:mm:ss``: SOURCE_DATE_EPOCH (UTC) if set, else now.

    Reproducible builds define SOURCE_DATE_EPOCH as integer seconds since 1970 (UTC); a
    value that is not an integer is an error rather than silently ignored.
    """
    # SAS writes local time; the clock stays local when SOURCE_DATE_EPOCH is not set
    moment = source_date_epoch() or datetime.now()
    return (f"{moment.day:02d}{MONTHS[moment.month - 1]}{moment.year % 100:02d}:"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")


def _stamp_time(stamp: str) -> datetime:
    """The naive datetime ``read_xpt`` gives for a header stamp of :func:`_header_time`
    (two-digit years 60-99 in the 1900s, 00-59 in the 2000s, as the reader maps them)."""
    year = int(stamp[5:7])
    return datetime(year + (1900 if year >= 60 else 2000), MONTHS.index(stamp[2:5]) + 1,
                    int(stamp[0:2]), int(stamp[8:10]), int(stamp[11:13]), int(stamp[14:16]))


def _header_record(kind: str, numbers: str = "0" * 30) -> bytes:
    """``HEADER RECORD*******<kind>HEADER RECORD!!!!!!!<30 digits>`` + 2 blanks."""
    return HEADER_PREFIX + text(kind, 8) + HEADER_SUFFIX + numbers.encode() + b"  "


def _namestrs(columns: list[Column]) -> bytes:
    """The variable descriptors (140 bytes each, big-endian), padded to whole records."""
    table = np.zeros(len(columns), dtype=namestr_dtype(NAMESTR_SIZE))
    position = 0
    for number, col in enumerate(columns, start=1):  # one entry per variable
        fmt_name, fmt_width, fmt_decimals = col.format
        table[number - 1] = (
            2 if col.is_char else 1, 0, col.length, number, text(col.name, 8),
            text(col.label, 40), text(fmt_name, 8), fmt_width, fmt_decimals,
            0, b"\0\0", b" " * 8, 0, 0, position, b"")  # nfj 0: left, as SAS writes
        position += col.length
    raw = table.tobytes()
    return raw + b" " * (-len(raw) % RECORD)


def _headers(columns: list[Column], name: str, label: str, moment: str | None = None
             ) -> bytes:
    """Library and member headers, namestrs and the OBS header, as TS-140 lays them out;
    ``moment``: the created/modified stamp (default :func:`_header_time`)."""
    stamp = (moment or _header_time()).encode()
    sas = text("SAS", 8)
    version, system = text(SAS_VERSION, 8), text(SAS_OS, 8)
    parts = [
        _header_record("LIBRARY"),
        sas + sas + text("SASLIB", 8) + version + system + b" " * 24 + stamp,
        stamp + b" " * 64,
        _header_record("MEMBER", "00000000000000000160" + f"{NAMESTR_SIZE:010d}"),
        _header_record("DSCRPTR"),
        sas + text(name, 8) + text("SASDATA", 8) + version + system + b" " * 24 + stamp,
        stamp + b" " * 16 + text(label or "", 40) + b" " * 8,
        _header_record("NAMESTR", f"00000{len(columns):05d}" + "0" * 20),
        _namestrs(columns),
        _header_record("OBS"),
    ]
    return b"".join(parts)


def _row_chunks(columns: list[Column], nrows: int, underflows: dict[str, int],
                buffers: int = WRITE_QUEUE_DEPTH + 2):
    """Yield the observations as bytes, a cache-sized block of rows at a time.

    Each column is copied into its byte range of a reusable (rows x row length) buffer:
    text by taking whole padded values (numpy void items) from its table of distinct
    values into a reusable contiguous buffer, then copying them into place; numbers are converted to IBM in reusable block-sized buffers (fresh large
    temporaries cost page faults) and stored through a big-endian uint64 view of their
    unaligned field, so the byte swap happens in the same copy. Counts of values below the
    IBM range are added to ``underflows``. The last block is followed by blank padding to a
    whole 80-byte record.
    """
    row_length = sum(c.length for c in columns)
    step = max(1, ROWS_CHUNK_BYTES // max(row_length, 1))
    size = min(step, max(nrows, 1))
    # a yielded block is reused only ``buffers`` blocks later: by then the writer thread
    # (at most WRITE_QUEUE_DEPTH queued + 1 being written) is done with it
    ring = [np.empty((size, row_length), dtype=np.uint8) for _ in range(buffers)]
    doubles = np.empty(size, dtype=np.float64)
    words = np.empty(size, dtype=np.uint64)
    # text is taken into this contiguous buffer and then copied into its strided field:
    # np.take into the field itself allocates (and page-faults) a temporary every time
    staged = np.empty(size * max((c.length for c in columns if c.is_char), default=0),
                      dtype=np.uint8)
    for number, start in enumerate(range(0, nrows, step)):  # blocks of rows, not rows
        stop = min(start + step, nrows)
        count = stop - start
        block = ring[number % buffers][:count]
        position = 0
        for col in columns:
            if col.is_char:
                field = np.ndarray((count,), dtype=f"V{col.length}", buffer=block,
                                   offset=position, strides=(row_length,))
                texts = staged[:count * col.length].view(f"V{col.length}")
                np.take(col.table, col.codes[start:stop], out=texts)
                field[...] = texts
            else:
                values = col.values[start:stop]
                if values.dtype != np.float64:
                    np.copyto(doubles[:count], values, casting="unsafe")
                    values = doubles[:count]
                ibm = words[:count]
                tiny = ibm_block(values, ibm)
                if tiny:
                    underflows[col.name] = underflows.get(col.name, 0) + tiny
                if col.special is not None:
                    rows, codes = col.special
                    low, high = np.searchsorted(rows, [start, stop])
                    ibm[rows[low:high] - start] = codes[low:high]
                field = np.ndarray((count,), dtype=">u8", buffer=block, offset=position,
                                   strides=(row_length,))
                field[...] = ibm
            position += col.length
        yield block
    padding = -(nrows * row_length) % RECORD
    if padding:
        yield b" " * padding


def _write_overlapped(handle, chunks, depth: int = WRITE_QUEUE_DEPTH) -> None:
    """Write ``chunks`` from a second thread while the next ones are assembled.

    A file write releases the GIL, so assembling rows (numpy) and the kernel's copying, or
    its waiting for the disk once the page cache holds too much unwritten data (a 1.6 GB
    SDTM folder at 50,000 subjects), overlap instead of taking turns. At most ``depth``
    chunks (about 1 MB each) wait; they are not copied, so a chunk must stay unchanged
    until ``depth + 1`` more have been produced (``_row_chunks`` rotates that many buffers).
    """
    pending: queue.Queue = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def drain():
        while (item := pending.get()) is not None:
            if not failure:
                try:
                    handle.write(item)
                except BaseException as exc:        # raised again in the caller's thread
                    failure.append(exc)

    writer = threading.Thread(target=drain, name="xpt-writer", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failure:
                break
            pending.put(chunk)
    finally:
        pending.put(None)
        writer.join()
    if failure:
        raise failure[0]


def _atomic_write(path: Path, header: bytes, chunks) -> None:
    """Write header and chunks with :func:`~cdisc_convert.io.atomic.atomic_file`, so no
    partial .xpt is left behind and an existing file at ``path`` stays untouched; OS errors
    become a CdiscError naming the file."""
    opened = False
    try:
        with atomic_file(path, "wb") as handle:
            opened = True
            handle.write(header)
            _write_overlapped(handle, chunks)
    except OSError as exc:
        message = f"writing failed: {exc}" if opened else f"cannot write here: {exc.strerror}"
        raise OutputError(message, rule="XPT-WRITE", file=path) from exc


def write_xpt(frame: pd.DataFrame, path, *, name: str, label: str | None,
              labels: dict | None = None, lengths: dict | None = None,
              formats: dict | None = None, echo: bool = False,
              compact_echo: bool = False):
    """Write ``frame`` as the single member ``name`` of a SAS transport v5 file at ``path``.

    Rules are checked first; all offences are raised together in one CdiscError (its
    ``details`` list them, its ``offences`` attribute holds the :class:`XptOffence`s).
    Text columns become character variables of the longest value's length (or
    ``lengths[col]``), numbers become 8-byte IBM floats, NaN/None become missing. Special
    missing values come from ``frame.attrs["special_missing"]`` (see the module docs).
    Returns the path; with ``echo`` ``(path, frame)``: the frame (and attrs) ``read_xpt``
    gives for the file written, made from the encoded columns (:func:`_echo`) instead of
    reading the file back. ``compact_echo``: text the frame holds as categoricals comes
    back as categoricals of the values ``read_xpt`` gives as objects (1-2 bytes a row, for
    a describer that numbers values: define.xml).
    """
    path = Path(path)
    columns, offences = prepare(frame, name, label, labels, lengths, formats)
    if offences:
        rules = list(dict.fromkeys(o.rule for o in offences))
        error = CdiscError(
            f"{len(offences)} problem(s) prevent writing data set {name!r} as SAS XPORT v5",
            rule=", ".join(rules), file=path, dataset=name if isinstance(name, str) else None,
            details=[str(o) for o in offences])
        error.offences = offences
        raise error
    moment = _header_time()
    header = _headers(columns, name, label or "", moment)
    underflows: dict[str, int] = {}
    _atomic_write(path, header, _row_chunks(columns, len(frame), underflows))
    for variable, count in underflows.items():
        warnings.warn(
            f"{path}: column {variable}: {count} value(s) smaller than 5.4e-79 in magnitude "
            "are below the IBM floating point range and were written as 0",
            XptPrecisionWarning, stacklevel=2)
    if echo:
        return path, _echo(columns, len(frame), name, label or "", moment, underflows,
                           compact_echo)
    return path


#: the writer's codes of echoes' text columns in short runs, by the address of the column's
#: values: (the array owning that memory, the column's length, its codes in the smallest
#: integer type); an entry goes with the memory
_ECHO_CODES: dict[int, tuple[weakref.ref, int, np.ndarray]] = {}


def _remember_codes(values: np.ndarray, codes: np.ndarray) -> None:
    """Keep ``codes`` for :func:`echo_text_codes` while ``values`` lives, when they save
    its reader something: a column in long runs of one value is numbered from its run
    starts as cheaply, so its codes are not kept (nor their memory)."""
    count = len(values)
    if values.ndim != 1 or count < 2 or len(codes) != count:
        return
    if np.count_nonzero(codes[1:] != codes[:-1]) * 5 < count * 3:
        return
    owner = values
    while isinstance(owner.base, np.ndarray):     # views keep their owner alive
        owner = owner.base
    small = codes.astype(code_dtype(int(codes.max()) + 1), copy=False)
    key = values.ctypes.data
    _ECHO_CODES[key] = (weakref.ref(owner), count, small)
    weakref.finalize(owner, _forget_codes, key, small)


def _forget_codes(key: int, codes: np.ndarray) -> None:
    entry = _ECHO_CODES.get(key)
    if entry is not None and entry[2] is codes:   # not a later array's entry at that address
        del _ECHO_CODES[key]


def echo_text_codes(values: np.ndarray) -> np.ndarray | None:
    """The codes the writer numbered a text column of an echo (``write_xpt(echo=True)``)
    with, for a column in short runs: one integer per row, equal codes for equal values
    (equal values may have two codes), -1 for the rows written blank (read as ""), usually
    numbered by first appearance. For ``values`` holding such a column of an echo (or of a
    shallow copy of it); None for any other array. Who describes the file (define.xml)
    then numbers the text without hashing every row again."""
    if not isinstance(values, np.ndarray) or values.dtype != object or values.ndim != 1:
        return None
    entry = _ECHO_CODES.get(values.ctypes.data) if len(values) else None
    # the very memory the echo holds (its owner alive): same start, rows and step
    if (entry is None or entry[0]() is None or entry[1] != len(values)
            or values.strides != (values.itemsize,)):
        return None
    return entry[2]


def _categorical_echo(distinct: np.ndarray, codes: np.ndarray) -> pd.Categorical:
    """The rows ``distinct.take(codes)`` gives (code -1: the blank entry, last) as a
    categorical; decoded entries that are equal (a value and the blank, or two values
    differing only in trailing blanks) become one category."""
    merged, categories = pd.factorize(distinct)
    rows = merged.take(codes)
    return pd.Categorical.from_codes(
        rows.astype(code_dtype(len(categories)), copy=False),
        dtype=pd.CategoricalDtype(pd.Index(categories, dtype=object)), validate=False)


#: the smallest normalised IBM magnitude; below it a number is written as 0
_IBM_SMALLEST = 2.0 ** -260
_NEGATIVE_ZERO = np.uint64(1 << 63)


def _echo(columns: list[Column], nrows: int, name: str, label: str, moment: str,
          underflows: dict[str, int], compact: bool = False) -> pd.DataFrame:
    """The frame ``read_xpt`` returns for the file these columns were written to.

    The file holds each text value as its padded table entry, so each distinct entry is
    decoded as the reader decodes it (trailing blanks dropped, ASCII) and spread to the
    rows by the codes (missing: the blank entry, ""), one str object per distinct value as
    the reader gives. Numbers are exact in IBM (module docs) except -0.0 (read as 0) and
    magnitudes below the IBM range (written as 0, counted in ``underflows``). No pass
    hashes the rows: what read_xpt spends most of its time on. ``compact``: a text column
    the frame held as a categorical comes back as a categorical of those values (the
    frame's own when it serves, as for object arrays).
    """
    data: dict[str, np.ndarray] = {}
    special: dict[str, dict[int, str]] = {}
    for col in columns:     # one step per variable, vectorised over its rows
        as_codes = compact and col.categorical
        if col.is_char and col.plain is not None and not (col.codes < 0).any() and (
                as_codes or not col.categorical):
            # str values stored as they are: the file gives them back equal, so the
            # frame's own array serves (no str object is made or taken per row)
            data[col.name] = col.plain
            if not col.categorical:
                _remember_codes(col.plain, col.codes)
            continue
        if col.is_char:
            entries = np.strings.rstrip(col.table.view(f"S{col.length}"), b" \x00")
            distinct = entries.astype(f"U{col.length}").astype(object)
            if as_codes:
                # the same values as codes (1-2 bytes a row): a forked writer's frames
                # (io.numbering.compact_text) describe without an object per row
                data[col.name] = _categorical_echo(distinct, col.codes)
                continue
            data[col.name] = distinct.take(col.codes) if nrows else distinct[:0]
            _remember_codes(data[col.name], col.codes)
            continue
        values = col.values
        # the written doubles themselves (no copy) unless the file holds something else:
        # -0.0 is read as 0.0, integers and booleans as doubles, tiny magnitudes as 0
        if (values.dtype != np.float64 or col.name in underflows
                or np.any(values.view(np.uint64) == _NEGATIVE_ZERO)):
            values = np.add(values, 0.0, dtype=np.float64)     # -0.0 + 0.0 is 0.0
            if col.name in underflows:
                values[np.abs(values) < _IBM_SMALLEST] = 0.0
        data[col.name] = values
        if col.special is not None:
            rows, words = col.special
            special[col.name] = {int(r): chr(int(w) >> 56) for r, w in
                                 zip(rows.tolist(), words.tolist())}
    frame = pd.DataFrame(data, index=pd.RangeIndex(nrows), copy=False)
    created = _stamp_time(moment)
    frame.attrs = {
        "name": name, "label": label.rstrip(" \x00"),
        "labels": MetadataDict({c.name: c.label.rstrip(" \x00") for c in columns}),
        "lengths": MetadataDict({c.name: c.length for c in columns}),
        "formats": MetadataDict({c.name: "{}{}.{}".format(c.format[0], c.format[1] or "",
                                                          c.format[2] or "")
                                 for c in columns if any(c.format)}),
        "special_missing": MetadataDict({k: MetadataDict(v) for k, v in special.items()}),
        "created": created, "modified": created,
        "sas_version": SAS_VERSION.rstrip(" "), "sas_os": SAS_OS.rstrip(" "),
        "members": [name], "encoding": "ascii",
    }
    return frame


