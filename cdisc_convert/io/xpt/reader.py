"""SAS XPORT v5: reader (see the package docstring)."""
from __future__ import annotations

import codecs
import mmap
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import MetadataDict
from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.core.factorize import factorize_keys

from .layout import (HEADER_PREFIX, HEADER_SUFFIX, MONTHS, NAMESTR_SIZE, RECORD,
                     ROWS_CHUNK_BYTES, namestr_dtype, text)
from .ibm import doubles_block


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------



@dataclass
class _Variable:
    name: str
    label: str
    is_char: bool
    length: int
    position: int
    format: str


@dataclass
class _Member:
    name: str
    label: str
    created: datetime | None
    modified: datetime | None
    sas_version: str
    sas_os: str
    variables: list[_Variable]
    data_start: int
    data_end: int = 0


def _map_file(path: Path) -> np.ndarray:
    """The file as a read-only uint8 array, memory-mapped (no copy; pages load on demand).

    Falls back to reading it whole where mapping is impossible (pipes, some filesystems).
    InputError when it cannot be opened or is empty.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise InputError("file is empty (0 bytes), not a SAS transport file",
                                 rule="XPT-READ", file=path)
            try:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except (ValueError, OSError):
                mapped = handle.read()
    except FileNotFoundError:
        raise InputError("file not found", rule="XPT-READ", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", rule="XPT-READ", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", rule="XPT-READ",
                         file=path) from None
    return np.frombuffer(mapped, dtype=np.uint8)


def _check_signature(buf: np.ndarray, path: Path) -> None:
    """InputError unless the file starts like SAS transport v5 and is whole records.

    Recognises the usual impostors by their first bytes: an HTML/XML page (a failed
    download), a CPORT file, a version 8/9 transport file.
    """
    head = buf[:1024].tobytes()
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype", b"<html", b"<?xml", b"<head")) or b"<html" in lowered:
        raise InputError("file is an HTML/XML page, not a SAS transport file (was a web "
                         "page saved instead of the .xpt?)", rule="XPT-READ", file=path)
    if head.startswith(b"**COMPRESSED**"):
        raise InputError("file is a SAS CPORT file, not a transport (XPORT) file; export it "
                         "with the XPORT engine or PROC COPY", rule="XPT-READ", file=path)
    if head.startswith(HEADER_PREFIX + b"LIBV8   "):
        raise InputError("file is SAS transport version 8/9; only version 5 is supported "
                         "(the FDA format)", rule="XPT-VERSION", file=path)
    if not head.startswith(HEADER_PREFIX + b"LIBRARY " + HEADER_SUFFIX):
        raise InputError("file does not start with a SAS transport library header, so it "
                         "is not a SAS XPORT v5 file", rule="XPT-READ", file=path)
    if buf.size % RECORD:
        raise InputError(f"file is truncated: {buf.size} bytes is not a whole number of "
                         f"{RECORD}-byte records", rule="XPT-TRUNCATED", file=path)
    if not head[RECORD:2 * RECORD].startswith(b"SAS     SAS     SASLIB  "):
        raise InputError("the library header is not a SAS transport header",
                         rule="XPT-READ", file=path)


def _decode(raw: bytes, encoding: str, path: Path, what: str) -> str:
    """Header text without blank/NUL padding, decoded; InputError when it does not decode."""
    try:
        return raw.rstrip(b" \x00").decode(encoding)
    except UnicodeDecodeError:
        raise InputError(f"{what} {raw!r} is not valid {encoding}; pass the file's "
                         "encoding (e.g. encoding='cp1252')", rule="XPT-ENCODING",
                         file=path) from None


def _parse_time(raw: bytes) -> datetime | None:
    """``ddMMMyy:hh:mm:ss`` to a naive datetime (years 60-99 -> 19xx, 00-59 -> 20xx)."""
    text = raw.decode("ascii", "replace").strip()
    try:
        day, month, year = int(text[0:2]), MONTHS.index(text[2:5].upper()) + 1, int(text[5:7])
        hour, minute, second = int(text[8:10]), int(text[11:13]), int(text[14:16])
        return datetime(year + (1900 if year >= 60 else 2000), month, day, hour, minute,
                        second)
    except (ValueError, IndexError):
        return None


def _record(buf: np.ndarray, offset: int, path: Path, what: str) -> bytes:
    """The 80-byte record at ``offset``; InputError when the file ends before it."""
    if offset + RECORD > buf.size:
        raise InputError(f"file is truncated: it ends inside the {what}",
                         rule="XPT-TRUNCATED", file=path)
    return buf[offset:offset + RECORD].tobytes()


def _expect_header(buf: np.ndarray, offset: int, kind: str, path: Path) -> bytes:
    """Check that the record at ``offset`` is the ``kind`` header record; return it."""
    record = _record(buf, offset, path, f"{kind} header")
    if not record.startswith(HEADER_PREFIX + text(kind, 8) + HEADER_SUFFIX):
        raise InputError(f"expected the {kind} header record at byte {offset}, found "
                         f"{record[:48]!r}: the file is corrupt or not XPT v5",
                         rule="XPT-READ", file=path)
    return record


def _parse_member(buf: np.ndarray, offset: int, path: Path, encoding: str) -> _Member:
    """Parse the member starting at ``offset`` (its MEMBER header) up to its observations."""
    member_header = _expect_header(buf, offset, "MEMBER", path)
    try:
        namestr_size = int(member_header[74:78])
    except ValueError:
        namestr_size = NAMESTR_SIZE
    if namestr_size not in (136, 140):
        raise InputError(f"unsupported namestr size {namestr_size}", rule="XPT-READ",
                         file=path)
    _expect_header(buf, offset + RECORD, "DSCRPTR", path)
    first = _record(buf, offset + 2 * RECORD, path, "member header")
    second = _record(buf, offset + 3 * RECORD, path, "member header")
    name = _decode(first[8:16], encoding, path, "member name")
    label = _decode(second[32:72], encoding, path, "data set label")
    namestr_header = _expect_header(buf, offset + 4 * RECORD, "NAMESTR", path)
    try:
        count = int(namestr_header[53:58])
    except ValueError:
        raise InputError("the NAMESTR header has no variable count", rule="XPT-READ",
                         file=path) from None

    start = offset + 5 * RECORD
    size = count * namestr_size
    if start + size > buf.size:
        raise InputError(f"file is truncated: it ends inside the descriptions of member "
                         f"{name!r}", rule="XPT-TRUNCATED", file=path)
    table = np.frombuffer(buf, dtype=namestr_dtype(namestr_size), count=count,
                          offset=start)
    variables = []
    for entry in table:  # one entry per variable
        var_name = _decode(entry["nname"], encoding, path, "variable name")
        length = int(entry["nlng"])
        is_char = int(entry["ntype"]) == 2
        if length < 1 or (not is_char and not 2 <= length <= 8):
            raise InputError(f"variable {var_name!r} has an invalid length {length}",
                             rule="XPT-READ", file=path)
        fmt_name = _decode(entry["nform"], encoding, path, "format name")
        width, decimals = int(entry["nfl"]), int(entry["nfd"])
        fmt = ""
        if fmt_name or width or decimals:
            fmt = f"{fmt_name}{width or ''}.{decimals or ''}"
        variables.append(_Variable(
            var_name, _decode(entry["nlabel"], encoding, path, "variable label"), is_char,
            length, int(entry["npos"]), fmt))
    names = [v.name for v in variables]
    if len(set(names)) != len(names):
        raise InputError(f"member {name!r} has duplicate variable names", rule="XPT-READ",
                         file=path)
    obs = start + size + (-size % RECORD)
    _expect_header(buf, obs, "OBS", path)
    return _Member(name, label, _parse_time(first[64:80]), _parse_time(second[0:16]),
                   _decode(first[24:32], "latin-1", path, "SAS version"),
                   _decode(first[32:40], "latin-1", path, "operating system"),
                   variables, obs + RECORD)


_MEMBER_MARK = HEADER_PREFIX + b"MEMBER  " + HEADER_SUFFIX
_HEADER_WORD = np.frombuffer(HEADER_PREFIX[:8], dtype="<u8")[0]  # b"HEADER R" as a word


def _members(buf: np.ndarray, path: Path, encoding: str) -> list[_Member]:
    """Every member in the file, with the byte range of its observations.

    A member's observations run to the next MEMBER header record (which starts on a
    record boundary) or to the end of the file. The search compares the first 8 bytes of
    every record at once, then checks the few candidates in full.
    """
    members = [_parse_member(buf, 3 * RECORD, path, encoding)]
    start = members[-1].data_start
    while True:  # one iteration per member
        count = (buf.size - start) // RECORD
        heads = np.ndarray((count,), dtype="<u8", buffer=buf, offset=start,
                           strides=(RECORD,)) if count else np.zeros(0, dtype="<u8")
        found = None
        for candidate in np.flatnonzero(heads == _HEADER_WORD).tolist():
            offset = start + candidate * RECORD
            if buf[offset:offset + len(_MEMBER_MARK)].tobytes() == _MEMBER_MARK:
                found = offset
                break
        if found is None:
            members[-1].data_end = buf.size
            return members
        members[-1].data_end = found
        members.append(_parse_member(buf, found, path, encoding))
        start = members[-1].data_start


def _row_count(buf: np.ndarray, member: _Member, path: Path) -> int:
    """How many observations the member holds, its blank padding left out.

    Rule: the data end with blank padding shorter than one 80-byte record. Bytes after the
    last whole row must be blanks, or NULs (else the file is truncated); whole rows that
    are entirely blank and lie within the final record's padding are padding too (the
    TS-140 ambiguity).
    """
    row_length = sum(v.length for v in member.variables)
    size = member.data_end - member.data_start
    if row_length == 0:
        return 0
    rows = size // row_length
    tail = buf[member.data_start + rows * row_length:member.data_end]
    if (tail != 0x20).any() and tail.any():  # blank padding (or NULs, from some writers)
        raise InputError(f"member {member.name!r} is truncated or corrupt: its data stop "
                         "in the middle of an observation", rule="XPT-TRUNCATED", file=path)
    # At most RECORD / row_length rows can hide in the padding: a bounded loop.
    while rows and size - (rows - 1) * row_length < RECORD:
        start = member.data_start + (rows - 1) * row_length
        if (buf[start:start + row_length] != 0x20).any():
            break
        rows -= 1
    return rows


def _strided_words(buf: np.ndarray, offset: int, count: int, stride: int, dtype: str
                   ) -> np.ndarray | None:
    """``count`` 8-byte words at offset, offset + stride, ... as a view (None: past the end).

    The words need not be aligned: numpy handles unaligned views, and reading 8 bytes at
    a time is what makes hashing and conversion cheap.
    """
    if offset + (count - 1) * stride + 8 > buf.size:
        return None
    return np.ndarray((count,), dtype=dtype, buffer=buf, offset=offset, strides=(stride,))




_HASH_MULTIPLIER = np.uint64(0x9E37_79B9_7F4A_7C15)


@dataclass
class _Field:
    """One variable's bytes across all observations, read 8 bytes at a time.

    ``words`` are views (one per 8 bytes of the field; numbers: one big-endian word) over
    every row, or over a zero-padded copy for a field that would read past the end of the
    file. ``mask`` keeps only the field's own bytes of the last word (the view also covers
    the start of the next field); None when the field fills it. ``out`` receives, per row,
    the hash key of a text value or the value of a number.
    """

    variable: _Variable
    words: list[np.ndarray]
    mask: np.uint64 | None
    out: np.ndarray


def _field(buf: np.ndarray, var: _Variable, data_start: int, rows: int, stride: int
           ) -> _Field:
    """Views of one variable's bytes (see _Field)."""
    offset = data_start + var.position
    count = -(-var.length // 8)
    dtype = "<u8" if var.is_char else ">u8"
    if rows == 0:
        return _Field(var, [np.zeros(0, dtype=dtype)] * count, None, np.zeros(0))
    words = [_strided_words(buf, offset + 8 * j, rows, stride, dtype) for j in range(count)]
    if words[-1] is None:  # only the last field(s) of a file without trailing padding
        padded = np.zeros((rows, 8 * count), dtype=np.uint8)
        padded[:, :var.length] = np.ndarray((rows, var.length), dtype=np.uint8, buffer=buf,
                                            offset=offset, strides=(stride, 1))
        as_words = padded.view(dtype)
        words = [as_words[:, j] for j in range(count)]
    tail = var.length - 8 * (count - 1)
    mask = None
    if tail < 8:
        # Text (little-endian words): the first bytes are the low ones. Numbers
        # (big-endian, read as integers): the first bytes are the high ones, and a short
        # number is an IBM number whose low bytes were cut off, so zeros complete it.
        low = (1 << (8 * tail)) - 1
        mask = np.uint64(low if var.is_char else low << (64 - 8 * tail))
    out = np.empty(rows, dtype=np.uint64 if var.is_char else np.float64)
    return _Field(var, words, mask, out)


def _word(field: _Field, j: int, start: int, stop: int) -> np.ndarray:
    """Word ``j`` of the field for rows start:stop, masked if it is the partial last one."""
    word = field.words[j][start:stop]
    if field.mask is not None and j == len(field.words) - 1:
        return word & field.mask
    return word


def _scan(fields: list[_Field], rows: int, stride: int) -> dict[str, dict[int, str]]:
    """One pass over the observations, in cache-sized blocks of rows, filling ``out``.

    Reading a column straight out of row-major data touches one cache line per row for
    every 8 bytes; going block by block, all columns are served while the block's bytes
    are in cache, and temporaries stay small and reused. Numbers: the IBM word (byte
    swapped by the assignment) converted to a double. Text up to 8 bytes: the bytes
    themselves are the key. Wider text: a polynomial hash, key = key * P + word
    (mod 2**64), whose only job is to give equal strings equal keys; distinct strings that
    share a key are caught by _collisions. Returns the special missing values by column.
    """
    special: dict[str, dict[int, str]] = {}
    step = max(1, ROWS_CHUNK_BYTES // max(stride, 1))
    scratch = np.empty(min(step, rows), dtype=np.uint64)
    for start in range(0, rows, step):  # loop over blocks of rows, not rows
        stop = min(start + step, rows)
        for field in fields:
            if not field.variable.is_char:
                words = scratch[: stop - start]
                words[...] = _word(field, 0, start, stop)
                tagged = doubles_block(words, field.out[start:stop])
                if tagged:
                    found = special.setdefault(field.variable.name, {})
                    found.update({start + row: code for row, code in tagged.items()})
                continue
            out = field.out[start:stop]
            last = len(field.words) - 1
            if last == 0:
                out[...] = _word(field, 0, start, stop)
                continue
            np.multiply(_word(field, 0, start, stop), _HASH_MULTIPLIER, out=out)
            for j in range(1, last + 1):  # loop over the 8-byte words of the width
                out += _word(field, j, start, stop)
                if j < last:
                    out *= _HASH_MULTIPLIER
    return special


def _collisions(fields: list[_Field], codes: dict[str, np.ndarray],
                representatives: dict[str, list[np.ndarray]], rows: int, stride: int
                ) -> set[str]:
    """Names of hashed text fields where some row differs from its code's representative.

    A second block-by-block pass compares every 8-byte word of every row with the same
    word of the first row that had its key; any difference means a hash collision.
    """
    collided: set[str] = set()
    step = max(1, ROWS_CHUNK_BYTES // max(stride, 1))
    expected = np.empty(min(step, rows), dtype=np.uint64)
    differences = np.empty(min(step, rows), dtype=np.uint64)
    for start in range(0, rows, step):  # loop over blocks of rows, not rows
        stop = min(start + step, rows)
        part, seen = expected[: stop - start], differences[: stop - start]
        for field in fields:
            name = field.variable.name
            if name in collided:
                continue
            seen[...] = 0
            for j, representative in enumerate(representatives[name]):
                np.take(representative, codes[name][start:stop], out=part)
                part ^= _word(field, j, start, stop)
                seen |= part
            if seen.any():
                collided.add(name)
    return collided


_DECODE_ROWS = 16384  # distinct values decoded per step: keeps the UCS-4 temporary small


def _decode_strings(raw: np.ndarray, encoding: str, path: Path, variable: str) -> np.ndarray:
    """Fixed-width byte strings (n x w) to an object array of str, trailing blanks removed.

    Rule (as ReadStat): strip trailing blanks and NULs; an all-blank value is "". ASCII and
    Latin-1 map bytes to code points directly (a cheap widening to UCS-4); other encodings
    go through numpy's codec call. Done in steps of rows, as a single huge UCS-4
    temporary (4 bytes per character) costs more than the conversion itself.
    """
    count, width = raw.shape
    text = np.empty(count, dtype=object)
    for start in range(0, count, _DECODE_ROWS):  # loop over blocks of distinct values
        stop = min(start + _DECODE_ROWS, count)
        values = np.strings.rstrip(
            np.ascontiguousarray(raw[start:stop]).view(f"S{width}").ravel(), b" \x00")
        if encoding in ("ascii", "latin-1", "iso8859-1"):
            codes = values.view(np.uint8).reshape(stop - start, width)
            if encoding == "ascii" and (codes > 0x7F).any():
                row, col = np.argwhere(codes > 0x7F)[0]
                raise InputError(
                    f"byte 0x{codes[row, col]:02X} in {bytes(values[row])!r} is not ASCII; "
                    "pass the file's encoding, e.g. read_xpt(path, encoding='cp1252')",
                    rule="XPT-ENCODING", file=path, variable=variable)
            text[start:stop] = codes.astype(np.uint32).view(f"U{width}").ravel()
        else:
            try:
                text[start:stop] = np.strings.decode(values, encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"text is not valid {encoding}: {exc.reason} in "
                                 f"{exc.object!r}", rule="XPT-ENCODING", file=path,
                                 variable=variable) from None
    return text


def _text_block(buf: np.ndarray, var: _Variable, data_start: int, rows: int, stride: int
                ) -> np.ndarray:
    """A text field of every row as an (rows x length) uint8 view into the file."""
    if rows == 0:
        return np.zeros((0, var.length), dtype=np.uint8)
    return np.ndarray((rows, var.length), dtype=np.uint8, buffer=buf,
                      offset=data_start + var.position, strides=(stride, 1))


def _exact_codes(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first positions) of the distinct rows of a byte block, by sorting.

    The exact fallback after a hash collision: slower than hashing, but never wrong.
    Codes are renumbered by first appearance, like pd.factorize's.
    """
    items = np.ascontiguousarray(block).view(f"V{block.shape[1]}").ravel()
    _, first, codes = np.unique(items, return_index=True, return_inverse=True)
    order = np.argsort(first)
    renumber = np.empty_like(order)
    renumber[order] = np.arange(order.size)
    return renumber[codes.ravel()], first[order]


def _read_columns(buf: np.ndarray, member: _Member, rows: int, encoding: str, path: Path
                  ) -> tuple[dict[str, np.ndarray], dict[str, dict[int, str]]]:
    """Every column of the member: text as object arrays of str, numbers as float64.

    Text is decoded once per distinct value (found by factorizing the per-row keys) and
    spread to its rows with a take; numbers go through the vectorised IBM conversion.
    """
    stride = sum(v.length for v in member.variables)
    fields = []
    for var in member.variables:  # one step per variable; each is vectorised over rows
        if var.position < 0 or var.position + var.length > stride:
            raise InputError(f"variable {var.name!r} lies outside the observation",
                             rule="XPT-READ", file=path)
        fields.append(_field(buf, var, member.data_start, rows, stride))
    special = _scan(fields, rows, stride) if rows else {}

    codes, first, representatives = {}, {}, {}
    for field in fields:
        if field.variable.is_char:
            name = field.variable.name
            codes[name], first[name] = factorize_keys(field.out)
            if len(field.words) > 1:
                representatives[name] = [field.words[j][first[name]] for j in
                                         range(len(field.words))]
                if field.mask is not None:
                    representatives[name][-1] &= field.mask
    hashed = [f for f in fields if f.variable.is_char and len(f.words) > 1]
    blocks = {f.variable.name: _text_block(buf, f.variable, member.data_start, rows, stride)
              for f in fields if f.variable.is_char}
    for name in _collisions(hashed, codes, representatives, rows, stride) if rows else ():
        codes[name], first[name] = _exact_codes(blocks[name])

    columns = {}
    for field in fields:
        var = field.variable
        if var.is_char:
            distinct = _decode_strings(blocks[var.name][first[var.name]], encoding, path,
                                       var.name)
            columns[var.name] = distinct.take(codes[var.name])
        else:
            columns[var.name] = field.out
        field.out = None  # release the per-row keys early
    return columns, special


def _normal_encoding(encoding: str) -> str:
    """The codec's canonical name; CdiscError for an unknown encoding."""
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise CdiscError(f"unknown text encoding {encoding!r}", rule="XPT-ENCODING") from None


def _pick_member(members: list[_Member], member: str | None, path: Path) -> _Member:
    """The first member, or the one called ``member`` (case-insensitive)."""
    if member is None:
        return members[0]
    for candidate in members:
        if candidate.name.upper() == member.upper():
            return candidate
    raise InputError(f"no member {member!r} in the file (it has "
                     f"{[m.name for m in members]})", rule="XPT-READ", file=path)


def read_xpt(path, encoding: str = "ascii", *, member: str | None = None) -> pd.DataFrame:
    """Read one member of a SAS transport v5 file into a DataFrame (metadata in ``attrs``).

    ``member`` picks a member by name (default: the first). Text is decoded with
    ``encoding``. See the module docs for the ``attrs`` keys and edge cases.
    """
    path = Path(path)
    encoding = _normal_encoding(encoding)
    buf = _map_file(path)
    _check_signature(buf, path)
    try:
        members = _members(buf, path, encoding)
        chosen = _pick_member(members, member, path)
        rows = _row_count(buf, chosen, path)
        columns, special = _read_columns(buf, chosen, rows, encoding, path)
    except (ValueError, IndexError, OverflowError, TypeError) as exc:
        # A header whose numbers make no sense (offsets, lengths) ends up here: report
        # the file as corrupt rather than a traceback (the cause stays chained).
        raise InputError(f"file is corrupt: {exc}", rule="XPT-READ", file=path) from exc
    # copy=False: the arrays are new already; consolidating them would copy every column.
    frame = pd.DataFrame(columns, index=pd.RangeIndex(rows), copy=False)
    frame.attrs = {
        "name": chosen.name,
        "label": chosen.label,
        "labels": MetadataDict({v.name: v.label for v in chosen.variables}),
        "lengths": MetadataDict({v.name: v.length for v in chosen.variables}),
        "formats": MetadataDict({v.name: v.format for v in chosen.variables if v.format}),
        "special_missing": MetadataDict({k: MetadataDict(v) for k, v in special.items()}),
        "created": chosen.created,
        "modified": chosen.modified,
        "sas_version": chosen.sas_version,
        "sas_os": chosen.sas_os,
        "members": [m.name for m in members],
        "encoding": encoding,
    }
    return frame
