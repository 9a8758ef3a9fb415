"""SAS transport (XPORT) **version 5** files: a vectorised writer and reader.

Version 5 is the only transport format the FDA accepts. A file is a sequence of 80-byte
records: a library header, then per member (data set) a member header, one 140-byte
*namestr* per variable, an ``OBS`` header and the observations, stored row after row with no
separators and padded with blanks to a whole record. Numbers are 8-byte IBM System/360
floating point, big-endian; text is fixed width, padded with blanks. The layout is described
in SAS technical note TS-140; ReadStat (the C library under pyreadstat and R haven) is the
independent implementation the tests compare against.

Public API
----------
``write_xpt(frame, path, *, name, label, labels=None, lengths=None, formats=None)``
    Write one data set. Every xportr-style rule is checked first and all offences are
    raised together as one :class:`~cdisc_convert.errors.CdiscError` (``details`` lists
    them, ``offences`` holds them as :class:`XptOffence` objects). The file is written to a
    temporary file in the target folder and moved into place with ``os.replace``, so a
    failure never leaves a partial ``.xpt`` behind. Returns the path written.
``check_xpt(frame, *, name, label, labels=None, lengths=None, formats=None)``
    The same checks without writing: the list of :class:`XptOffence` (empty when valid).
``read_xpt(path, encoding="ascii", *, member=None)``
    Read one member into a DataFrame: character columns are ``object`` with trailing blanks
    removed (an all-blank value is ``""``), numeric columns are ``float64`` with missing
    values as NaN, exactly as ``pyreadstat.read_xport(path, disable_datetime_conversion=
    True)`` returns them (dates stay numbers; their format is in ``attrs["formats"]``).
    Anything that is not a readable v5 file (empty, truncated, HTML, version 8, CPORT,
    corrupt header) raises :class:`~cdisc_convert.errors.InputError` naming the file.
``ieee_to_ibm(values)`` / ``ibm_to_ieee(words)``
    The vectorised number conversions, exposed for tests and other writers.

Metadata on ``frame.attrs`` after ``read_xpt``
----------------------------------------------
``name`` (member name), ``label`` (data set label), ``labels`` ({column: label}, every
column), ``lengths`` ({column: storage bytes}, every column; 8 for ordinary numerics),
``formats`` ({column: SAS format such as ``"DATE9."`` or ``"8.2"``}, only columns that have
one), ``special_missing`` ({column: {row position: code}}, codes ``"A"``-``"Z"`` and ``"_"``,
only columns that have any), ``created`` and ``modified`` (naive ``datetime`` as written in
the header), ``sas_version``, ``sas_os``, ``members`` (names of every member in the file, in
order) and ``encoding`` (the text encoding used).

Rules enforced before writing (rule ids in brackets)
----------------------------------------------------
* [XPT-NAME] data set and variable names: 1-8 characters, upper case, a letter first, then
  only ``A-Z 0-9 _``; no duplicate variable names; 1 to 32767 variables.
* [XPT-LABEL] labels at most 40 characters; labels only for columns that exist.
* [XPT-ASCII] labels and character values ASCII only; no NUL character in values.
* [XPT-LENGTH] character values at most 200 bytes; a length from ``lengths`` must be an
  integer from 1 to 200 and at least the longest value (a value is never truncated); a
  numeric length, if given, must be 8.
* [XPT-TYPE] columns must be text (``object``/``string``/``category`` of ``str``) or numeric
  (integer, float, bool, nullable variants). Dates must be converted first (to ISO 8601 text
  for SDTM, or to SAS day/second numbers with a ``DATE9.``/``DATETIME20.`` format for ADaM).
* [XPT-RANGE] numbers must be finite and below 2**252 (about 7.2e75) in magnitude, the IBM
  range; integers beyond 2**53 cannot be stored exactly and are refused.
* [XPT-FORMAT] formats must look like ``NAME<w>.<d>`` with a name of at most 8 characters
  (``$`` included), ``$`` formats only on character variables.
* [XPT-MISSING] special missing values (below) must point at NaN cells of numeric columns.

Behaviour worth knowing
-----------------------
* Character length: by default the longest value present, in bytes, at least 1 (the FDA
  rule). Trailing blanks are not significant in SAS and cannot be stored (the field is blank
  padded), so they are ignored when measuring and lost on a round trip.
* Numbers: IEEE to IBM is exact for every finite double in the IBM range (IBM keeps 56
  fraction bits, a double has 53). Magnitudes below 2**-260 (about 5.4e-79, the smallest
  normalised IBM number) are written as 0, as SAS and ReadStat do, with an
  :class:`XptPrecisionWarning`; -0.0 is written as 0. IBM to IEEE keeps the top 53
  significant bits (truncation, as TS-140 and ReadStat do), so reading agrees with pyreadstat
  bit for bit. Two deliberate differences from ReadStat on numbers SAS never writes: a zero
  fraction with a non-zero exponent reads as 0, and an unnormalised fraction (first hex
  digit 0) reads exactly (ReadStat assumes normalisation and returns other values).
* Missing: NaN/None/pd.NA numbers are written as ``.``; missing text as blanks. Special
  missing values ``.A``-``.Z`` and ``._`` are read into ``attrs["special_missing"]`` (the
  cell itself is NaN) and written from the same attribute of the frame being written:
  ``frame.attrs["special_missing"] = {"AVAL": {0: "A", 5: "_"}}`` (row *positions*, not
  index labels; ``".A"`` is accepted as well as ``"A"``).
* Timestamps: the header's created/modified time comes from ``SOURCE_DATE_EPOCH`` (seconds,
  UTC) when that variable is set, so reruns are byte-identical; otherwise it is the current
  local time, as SAS writes it. The header has a two-digit year: reading maps 60-99 to the
  1900s and 00-59 to the 2000s.
* Trailing padding: the last record is padded with blanks, so a trailing observation that is
  entirely blank and fits in that padding cannot be told from it and is dropped on reading.
  ReadStat goes further and drops *every* trailing all-blank observation; write_xpt cannot
  prevent that, but it only concerns data sets whose last rows are all-blank text.
* Multi-member files: ``read_xpt`` reads the first member, or the one named by ``member``;
  ``attrs["members"]`` lists them all. ``write_xpt`` writes one member per file (the FDA
  layout).
* Text is decoded with ``encoding`` (default ASCII, strict): a non-ASCII byte raises
  InputError suggesting ``encoding="cp1252"``. Names, labels and values all use it.
  Trailing blanks and NULs are removed, as ReadStat does; a NUL inside a value is kept
  (ReadStat cuts the value there). Labels lose trailing blanks too (they are padded).
* The frame index is not written; row numbers in messages are 1-based observation numbers.
* Numeric lengths: always written with 8 bytes; lengths 2-7 (IBM numbers with their low
  bytes cut off, which SAS can store) are read, which ReadStat does not do.
* Not supported: version 8 (long names/labels) in either direction, CPORT files (a clear
  InputError), informats (not written; not reported).

How it is fast
--------------
No Python loop runs per row. Writing: text columns are factorized, first by object
identity (the addresses stored in an object array, read as integers) and then by value over
the distinct objects; every check and the encoding to blank-padded bytes is done once per
distinct value; rows are then assembled in ~1 MB blocks with ``np.take`` from that table
and with numbers converted to IBM through 4096-entry lookup tables indexed by a double's
sign and exponent. Reading: the file is memory-mapped; one block-by-block pass turns each
text field into a 64-bit key (the bytes themselves up to 8 bytes, else a hash of its 8-byte
words, verified exactly afterwards) and each number into a double; each distinct text value
is decoded once and spread with ``take``; the frame is built without consolidating (no
copy). The gain over pyreadstat comes from repetition, which clinical data have plenty of:
for columns of all-distinct strings both directions are bounded by creating or reading a
Python ``str`` per value and are only ~2-3 times faster than pyreadstat.
"""
from __future__ import annotations

import codecs
import ctypes
import mmap
import os
import queue
import re
import sys
import threading
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.core.reproducible import source_date_epoch
from cdisc_convert.io.atomic import atomic_file

__all__ = [
    "XptOffence",
    "XptPrecisionWarning",
    "check_xpt",
    "ibm_to_ieee",
    "ieee_to_ibm",
    "read_xpt",
    "write_xpt",
]

RECORD = 80  # every transport record is 80 bytes; the file size is a multiple of it
NAMESTR_SIZE = 140  # bytes per variable descriptor (136 on VAX/VMS, which we can read)
MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR = 200  # FDA limit for a character value in a v5 file
MAX_VARIABLES = 32767  # a namestr numbers its variable in a 2-byte signed integer
MAX_EXACT_INT = 2**53  # largest integer a double (and so our IBM number) holds exactly
IBM_MAX_EXP2 = 251  # largest IEEE binary exponent with an IBM image (IBM max ~ 2**252)
IBM_MIN_EXP2 = -260  # smallest: 16**-65 = 2**-260
SAS_VERSION = "9.4"
SAS_OS = "PYTHON"
MISSING_CODES = "_ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # special missing codes besides "."
ROWS_CHUNK_BYTES = 1 << 20  # rows are assembled in ~1 MB chunks that stay in cache
WRITE_QUEUE_DEPTH = 4       # chunks waiting for the writer thread

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_HEADER_PREFIX = b"HEADER RECORD*******"
_HEADER_SUFFIX = b"HEADER RECORD!!!!!!!"
_NAME_CHARS = re.compile(r"[A-Z0-9_]*\Z")
# A format is NAME, width, '.', decimals; the name never ends in a digit in SAS, which is
# what lets "DATE9." split into DATE + 9. "$" alone (e.g. "$20.") is a valid name.
_FORMAT_RE = re.compile(r"(\$?(?:[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?)(\d*)(?:\.(\d*))?\Z")
_MISSING_DOT = np.uint64(0x2E) << np.uint64(56)


class XptPrecisionWarning(UserWarning):
    """A number was changed to fit the IBM format (only: below 5.4e-79, written as 0)."""


@dataclass(frozen=True)
class XptOffence:
    """One broken rule: its id (e.g. ``XPT-NAME``), a message, and the column if any."""

    rule: str
    message: str
    variable: str | None = None

    def __str__(self) -> str:
        where = f"column {self.variable}: " if self.variable is not None else ""
        return f"{self.rule}: {where}{self.message}"


# ---------------------------------------------------------------------------------------
# IBM System/360 floating point <-> IEEE 754 double, vectorised
# ---------------------------------------------------------------------------------------

def _ieee_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables indexed by a double's top 12 bits (sign and biased binary exponent e).

    ``head``: the IBM first byte (sign, excess-64 exponent floor(e/4)+65) moved to bits
    56-63, or the '.' missing byte for NaN. ``scale``: 2**(e mod 4), the left shift that
    puts the 53-bit significand into the 56-bit fraction with a non-zero first hex digit;
    0 where the IBM image is all zero bits (zero, subnormals, below 2**-260) or missing.
    ``kind``: 0 in range, 1 below the range (zero included), 2 beyond it, 3 NaN or inf.
    """
    top = np.arange(4096)
    biased = top & 0x7FF
    exp2 = biased - 1023
    in_range = (exp2 >= IBM_MIN_EXP2) & (exp2 <= IBM_MAX_EXP2)
    ibm_exp = np.clip((exp2 >> 2) + 65, 0, 127).astype(np.uint64)
    sign = (top >> 11).astype(np.uint64) << np.uint64(63)
    head = np.where(in_range, sign | (ibm_exp << np.uint64(56)), np.uint64(0))
    head[biased == 0x7FF] = _MISSING_DOT
    scale = np.where(in_range, 1 << (exp2 & 3), 0).astype(np.uint64)
    kind = np.select([in_range, exp2 < IBM_MIN_EXP2, biased == 0x7FF], [0, 1, 3], 2)
    return head.astype(np.uint64), scale, kind.astype(np.uint8)


_IEEE_HEAD, _IEEE_SCALE, _IEEE_KIND = _ieee_tables()
_BELOW, _BEYOND, _NAN_OR_INF = 1, 2, 3
_SIGNIFICAND = np.uint64(0x000F_FFFF_FFFF_FFFF)
_IMPLICIT_ONE = np.uint64(1 << 52)
_SHIFT_52 = np.uint64(52)


def _ibm_block(doubles: np.ndarray, out: np.ndarray) -> int:
    """IBM images of doubles (each NaN or within the IBM range) written into ``out``.

    Rule: IBM = sign | E << 56 | (1.m as a 53-bit integer) << (e mod 4), exact; the tables
    make zero and tiny values 0 and NaN the '.' missing value. Works on one cache-sized
    block so that its temporaries are reused memory. Returns how many non-zero values were
    below the IBM range (and so written as 0).
    """
    bits = doubles.view(np.uint64)
    index = (bits >> _SHIFT_52).view(np.int64)
    np.bitwise_and(bits, _SIGNIFICAND, out=out)
    out |= _IMPLICIT_ONE
    out *= _IEEE_SCALE.take(index)  # a shift of 0-3 bits, or 0 to clear the fraction
    out |= _IEEE_HEAD.take(index)
    below = np.count_nonzero(_IEEE_KIND.take(index) == _BELOW)
    return int(below - np.count_nonzero(doubles == 0)) if below else 0


def ieee_to_ibm(values) -> np.ndarray:
    """Convert doubles to IBM 8-byte floats, returned as native ``uint64`` bit patterns.

    Rule: value = (-1)**s * 0.F * 16**(E-64) with a 7-bit excess-64 exponent E and a 56-bit
    fraction F whose first hex digit is non-zero. A double 1.m * 2**e maps exactly: shift the
    53-bit significand left by e mod 4 (0-3 bits, so it still fits in 56) and set
    E = floor(e / 4) + 65. NaN becomes the SAS missing value '.' (0x2E then zeros); zero,
    -0.0 and magnitudes below 2**-260 become 0. Raises ValueError for infinities and
    magnitudes of 2**252 and above, which have no IBM image (write_xpt checks first).
    """
    x = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if _out_of_ibm_range(x):
        raise ValueError("value out of the IBM floating point range (|x| >= 2**252 or inf)")
    out = np.empty(x.size, dtype=np.uint64)
    _ibm_block(x, out)
    return out


def _out_of_ibm_range(values: np.ndarray) -> bool:
    """True if any value is infinite or at least 2**252 in magnitude (NaN is fine).

    Two reductions (fmax/fmin skip NaN) instead of a per-value mask: no large temporary.
    """
    if values.size == 0:
        return False
    limit = 2.0 ** (IBM_MAX_EXP2 + 1)
    return float(np.fmax.reduce(values)) >= limit or float(np.fmin.reduce(values)) <= -limit


def _ibm_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables indexed by an IBM number's top 12 bits (sign, exponent, first hex digit).

    ``scale``: (-1)**sign * 2**(4*(E-64) - 56), an exact power of two. ``keep``: a mask
    that keeps the 53 significant fraction bits a double can hold: a normalised fraction
    has its leading 1 bit 0-3 places below bit 55 and that many low bits are dropped
    (truncation, as TS-140's xpt2ieee and ReadStat do, so the two agree bit for bit).
    ``zero``, indexed by the first byte: what a zero fraction means: NaN for the missing
    codes ('.', '_', 'A'-'Z'), else 0.0 or -0.0.
    """
    top = np.arange(4096)
    first_byte, nibble = top >> 4, top & 0xF
    sign = np.where(first_byte & 0x80, -1.0, 1.0)
    scale = sign * np.ldexp(1.0, 4 * ((first_byte & 0x7F) - 64) - 56)
    dropped = np.select([nibble >= 8, nibble >= 4, nibble >= 2], [3, 2, 1], 0)
    keep = ~((np.uint64(1) << dropped.astype(np.uint64)) - np.uint64(1))
    zero = np.where(np.arange(256) & 0x80, -0.0, 0.0)
    for code in "." + MISSING_CODES:
        zero[ord(code)] = np.nan
    return scale, keep, zero


_IBM_SCALE, _IBM_KEEP, _IBM_ZERO = _ibm_tables()
_FRACTION = np.uint64(0x00FF_FFFF_FFFF_FFFF)


def _doubles_block(words: np.ndarray, out: np.ndarray) -> dict[int, str]:
    """Doubles from a block of IBM words (native uint64) written into ``out``.

    Rule: value = fraction * 2**(4*(E-64) - 56), signed; a zero fraction whose first byte
    is '.', '_' or 'A'-'Z' is a SAS missing value (NaN). Returns {position in block: code}
    for the special missing values .A-.Z and ._.
    """
    index = (words >> _SHIFT_52).view(np.int64)
    fraction = words & _FRACTION
    fraction &= _IBM_KEEP.take(index)
    # The fraction (< 2**56) fits an int64, whose conversion to double is a single
    # instruction (uint64's is not); then scale by an exact power of two.
    np.copyto(out, fraction.view(np.int64), casting="unsafe")
    out *= _IBM_SCALE.take(index)
    zero = np.flatnonzero(fraction == 0)
    if zero.size == 0:
        return {}
    first_byte = index[zero] >> 4
    out[zero] = _IBM_ZERO.take(first_byte)
    tagged = ((first_byte >= ord("A")) & (first_byte <= ord("Z"))) | (first_byte == ord("_"))
    if not tagged.any():
        return {}
    codes = first_byte[tagged].astype(np.uint8).view("S1").astype("U1")
    return dict(zip(zero[tagged].tolist(), codes.tolist()))


def ibm_to_ieee(words) -> np.ndarray:
    """Convert IBM 8-byte floats (native ``uint64`` bit patterns) to doubles (NaN: missing).

    Rule: value = fraction * 2**(4*(E-64) - 56) with the sign from the top bit; a zero
    fraction whose first byte is '.', '_' or 'A'-'Z' is a SAS missing value.
    """
    w = np.ascontiguousarray(words, dtype=np.uint64).ravel()
    out = np.empty(w.size, dtype=np.float64)
    _doubles_block(w, out)
    return out


# ---------------------------------------------------------------------------------------
# Checking and preparing columns for writing
# ---------------------------------------------------------------------------------------

@dataclass
class _Column:
    """A column ready to be laid out: its namestr fields and its encoded values.

    Text columns keep ``codes`` (row -> index in ``table``, -1 for missing, which picks the
    blank entry appended last) and ``table`` (each distinct value blank-padded to ``length``
    bytes, as numpy void items of that size); numeric columns keep ``values`` (converted to
    IBM block by block while writing) and ``special`` (sorted positions, IBM words) for
    special missing values.
    """

    name: str
    label: str
    is_char: bool
    length: int
    format: tuple[str, int, int] = ("", 0, 0)
    codes: np.ndarray | None = None
    table: np.ndarray | None = None
    values: np.ndarray | None = None
    special: tuple[np.ndarray, np.ndarray] | None = None


def _rows_text(positions: np.ndarray, limit: int = 5) -> str:
    """'rows 1, 4, 9 and 3 more' from 0-based positions (messages use 1-based numbers)."""
    shown = ", ".join(str(p + 1) for p in positions[:limit].tolist())
    more = len(positions) - limit
    word = "row" if len(positions) == 1 else "rows"
    return f"{word} {shown}" + (f" and {more} more" if more > 0 else "")


def _check_name(value, what: str, variable: str | None = None) -> list[XptOffence]:
    """Rule XPT-NAME: 1-8 characters, upper case, a letter first, only A-Z, 0-9 and _."""
    if not isinstance(value, str):
        return [XptOffence("XPT-NAME", f"{what} {value!r} is not a string", variable)]
    problems = []
    if not value:
        problems.append("is empty")
    if len(value) > MAX_NAME:
        problems.append(f"has {len(value)} characters (max {MAX_NAME})")
    if value != value.upper():
        problems.append("is not upper case")
    if value and not ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z"):
        problems.append("does not start with a letter")
    if not _NAME_CHARS.match(value.upper()):
        problems.append("has characters other than A-Z, 0-9 and _")
    if not problems:
        return []
    return [XptOffence("XPT-NAME", f"{what} {value!r} " + " and ".join(problems), variable)]


def _check_label(value, what: str, variable: str | None = None) -> list[XptOffence]:
    """Rules XPT-LABEL and XPT-ASCII: a label is a string of at most 40 ASCII characters."""
    if value is None:
        return []
    if not isinstance(value, str):
        return [XptOffence("XPT-LABEL", f"{what} {value!r} is not a string", variable)]
    out = []
    if len(value) > MAX_LABEL:
        out.append(XptOffence(
            "XPT-LABEL", f"{what} has {len(value)} characters (max {MAX_LABEL}): {value!r}",
            variable))
    if not value.isascii():
        out.append(XptOffence("XPT-ASCII", f"{what} is not ASCII: {value!r}", variable))
    return out


def _parse_format(text) -> tuple[str, int, int] | None:
    """Split a SAS format such as ``DATE9.``, ``8.2`` or ``$CHAR20.`` into (name, w, d)."""
    if not isinstance(text, str):
        return None
    match = _FORMAT_RE.match(text.strip().upper())
    if not match or not (match.group(1) or match.group(2)):
        return None
    return match.group(1), int(match.group(2) or 0), int(match.group(3) or 0)


def _check_format(text, is_char: bool, variable: str) -> list[XptOffence]:
    """Rule XPT-FORMAT: a parsable format of the variable's type that fits the namestr."""
    parsed = _parse_format(text)
    if parsed is None:
        return [XptOffence("XPT-FORMAT", f"format {text!r} is not NAMEw.d", variable)]
    name, width, decimals = parsed
    out = []
    if len(name) > MAX_NAME:
        out.append(XptOffence(
            "XPT-FORMAT", f"format name {name!r} is longer than {MAX_NAME} characters",
            variable))
    if width > 32767 or decimals > 32767:
        out.append(XptOffence("XPT-FORMAT", f"format {text!r} is too wide", variable))
    if is_char != name.startswith("$"):
        kind = "character" if is_char else "numeric"
        out.append(XptOffence(
            "XPT-FORMAT", f"format {text!r} cannot be used on a {kind} variable", variable))
    return out


def _numeric_kind(series: pd.Series) -> bool:
    """True for dtypes written as numbers: integers, floats, booleans (nullable too)."""
    dtype = series.dtype
    return (pd.api.types.is_bool_dtype(dtype)
            or (pd.api.types.is_numeric_dtype(dtype)
                and not pd.api.types.is_complex_dtype(dtype)
                and not pd.api.types.is_timedelta64_dtype(dtype)))


def _text_kind(series: pd.Series) -> bool:
    """True for dtypes written as text: object, pandas string and categorical."""
    dtype = series.dtype
    return (dtype == object or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype)))


def _factorize_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first positions) of integer keys, codes numbered by first appearance.

    Clinical data sets are sorted by their keys, so identifiers and constants come in runs
    of equal values. When runs are long (fewer than a quarter as many runs as rows), only
    the first key of each run is hashed and its code is spread along the run; otherwise
    every key goes to pd.factorize. The run count costs one comparison pass.
    """
    count = keys.size
    if count > 1:
        starts = np.empty(count, dtype=bool)
        starts[0] = True
        np.not_equal(keys[1:], keys[:-1], out=starts[1:])
        if np.count_nonzero(starts) * 4 < count:
            run_starts = np.flatnonzero(starts)
            run_codes = pd.factorize(keys[run_starts])[0]
            first = run_starts[_first_occurrences(run_codes)]
            run_of_row = np.cumsum(starts, dtype=np.intp)
            run_of_row -= 1
            return run_codes.take(run_of_row), first
    codes = pd.factorize(keys)[0]
    return codes, _first_occurrences(codes)


_VALUE_SAMPLE = 10_000  # distinct objects sampled to see whether equal values repeat


def _object_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first positions) of the distinct *objects* in an object array.

    On CPython an object array stores object addresses: read as integers they factorize as
    fast as any integer column, without touching the objects. Elsewhere every row counts
    as its own object.
    """
    if sys.implementation.name != "cpython" or values.size == 0:
        everyone = np.arange(values.size, dtype=np.intp)
        return everyone, everyone
    pointers = (ctypes.c_char * values.nbytes).from_address(values.ctypes.data)
    try:
        return _factorize_keys(np.frombuffer(pointers, dtype=np.uintp))
    finally:
        del pointers  # addresses are only meaningful while ``values`` holds the objects


def _factorize_objects(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an object array, numbered by first appearance; -1: NA.

    Two steps, because hashing a million strings is the slowest part of writing: first by
    object identity (_object_codes), then by value over the distinct objects only, which
    merges equal strings held by different objects. Frames from read_csv, map,
    categoricals or read_xpt share their string objects, so the second step is usually
    tiny. It is skipped when a sample shows the distinct objects are distinct values
    anyway (equal strings in two objects then just get two identical table rows), and for
    non-text objects, which the caller reports.
    """
    values = np.ascontiguousarray(values, dtype=object)
    by_object, first = _object_codes(values)
    objects = values[first]
    mapping = None  # distinct object -> code, when it is not the identity
    if pd.api.types.infer_dtype(objects, skipna=False) != "string":  # some NA or non-text
        missing = pd.isna(objects)
        mapping = np.cumsum(~missing, dtype=np.intp) - 1
        mapping[missing] = -1
        objects = objects[~missing]
        if pd.api.types.infer_dtype(objects, skipna=False) not in ("string", "empty"):
            return mapping.take(by_object), objects
    if objects.size and not (objects.size > 4 * _VALUE_SAMPLE
                             and pd.unique(objects[:_VALUE_SAMPLE]).size > 0.8 * _VALUE_SAMPLE):
        by_value, uniques = pd.factorize(objects)
        mapping = by_value if mapping is None else np.where(
            mapping < 0, -1, by_value.take(np.maximum(mapping, 0)))
        objects = np.asarray(uniques, dtype=object)
    codes = by_object if mapping is None else mapping.take(by_object)
    return codes.astype(np.intp, copy=False), objects


def _prepare_text(series: pd.Series, variable: str, spec_length) -> tuple[_Column | None,
                                                                         list[XptOffence]]:
    """Encode a text column through its distinct values; check ASCII and lengths.

    Rules: values are str (or missing); ASCII without NUL; at most 200 bytes after trailing
    blanks (which SAS does not keep); the length is the spec length if given (1-200 and not
    shorter than the longest value) else the longest value, minimum 1. Working on distinct
    values (_factorize_objects) keeps every per-value step off the million-row path.
    """
    codes, uniques = _factorize_objects(series.to_numpy(dtype=object))
    offences: list[XptOffence] = []

    kind = pd.api.types.infer_dtype(uniques, skipna=False)  # uniques hold no missing value
    if kind not in ("string", "empty"):
        bad = np.flatnonzero([not isinstance(v, str) for v in uniques])  # error path only
        types = sorted({type(v).__name__ for v in uniques[bad]})
        rows = np.flatnonzero(np.isin(codes, bad))
        return None, [XptOffence(
            "XPT-TYPE", f"text column holds {', '.join(types)} values ({_rows_text(rows)}); "
            "convert them to str or make the column numeric", variable)]

    joined = "".join(uniques.tolist())  # one C-level pass answers "any non-ASCII / NUL?"
    if not joined.isascii():
        bad = np.flatnonzero([not v.isascii() for v in uniques])  # error path only
        rows = np.flatnonzero(np.isin(codes, bad))
        sample = ", ".join(repr(v) for v in uniques[bad[:3]])
        offences.append(XptOffence(
            "XPT-ASCII", f"non-ASCII characters in {_rows_text(rows)}: {sample}", variable))
        return None, offences
    if "\x00" in joined:
        bad = np.flatnonzero(["\x00" in v for v in uniques])
        rows = np.flatnonzero(np.isin(codes, bad))
        offences.append(XptOffence(
            "XPT-ASCII", f"NUL character in {_rows_text(rows)}", variable))

    encoded = uniques.astype("S") if uniques.size else np.zeros(0, dtype="S1")
    if np.strings.endswith(encoded, b" ").any():
        encoded = np.strings.rstrip(encoded, b" ")  # trailing blanks are padding in SAS
    sizes = np.strings.str_len(encoded)
    longest = int(sizes.max()) if sizes.size else 0

    too_long = np.flatnonzero(sizes > MAX_CHAR)
    if too_long.size:
        rows = np.flatnonzero(np.isin(codes, too_long))
        offences.append(XptOffence(
            "XPT-LENGTH", f"{len(rows)} value(s) longer than {MAX_CHAR} bytes (longest "
            f"{longest}) in {_rows_text(rows)}", variable))

    length = max(longest, 1)
    if spec_length is not None:
        if isinstance(spec_length, (bool, np.bool_)) or not isinstance(
                spec_length, (int, np.integer)):
            offences.append(XptOffence(
                "XPT-LENGTH", f"length {spec_length!r} is not an integer", variable))
        elif not 1 <= spec_length <= MAX_CHAR:
            offences.append(XptOffence(
                "XPT-LENGTH", f"length {spec_length} is outside 1-{MAX_CHAR}", variable))
        elif spec_length < longest:
            short = np.flatnonzero(sizes > spec_length)
            rows = np.flatnonzero(np.isin(codes, short))
            offences.append(XptOffence(
                "XPT-LENGTH", f"spec length {spec_length} is shorter than the longest value "
                f"({longest} bytes) in {_rows_text(rows)}; values are never truncated",
                variable))
        else:
            length = int(spec_length)
    if offences:
        return None, offences

    return _Column(variable, "", True, length, codes=codes,
                   table=_padded_table(encoded, length)), offences


def _padded_table(encoded: np.ndarray, length: int) -> np.ndarray:
    """Distinct values as blank-padded fixed-width items, plus a blank item for missing.

    numpy pads byte strings with NULs; SAS pads with blanks. No valid value holds a NUL
    (rule XPT-ASCII) and none is longer than ``length`` once trailing blanks are gone, so
    every NUL within the first ``length`` bytes is padding and becomes a blank. The last
    item (all blanks) is what code -1 (missing) picks.
    """
    count, width = encoded.size, encoded.itemsize
    table = np.full((count + 1, length), 0x20, dtype=np.uint8)
    if count:
        keep = min(width, length)
        source = encoded.view(np.uint8).reshape(count, width)[:, :keep]
        target = table[:count, :keep]
        np.copyto(target, source)
        target |= (source == 0).view(np.uint8) << 5  # NUL (0x00) -> blank (0x20)
    return table.view(f"V{length}").ravel()


def _inexact_integers(series: pd.Series, values: np.ndarray) -> int:
    """How many integers exceed 2**53 in magnitude (a double cannot hold them exactly)."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        if not pd.api.types.is_integer_dtype(series.dtype):
            return 0
        unsigned = pd.api.types.is_unsigned_integer_dtype(series.dtype)
        values = series.dropna().to_numpy(dtype=np.uint64 if unsigned else np.int64)
    if values.dtype.kind not in "iu" or values.size == 0:
        return 0
    if values.max() <= MAX_EXACT_INT and (values.dtype.kind == "u"
                                          or values.min() >= -MAX_EXACT_INT):
        return 0
    beyond = values > MAX_EXACT_INT
    if values.dtype.kind == "i":
        beyond |= values < -MAX_EXACT_INT
    return int(np.count_nonzero(beyond))


def _numeric_values(series: pd.Series) -> np.ndarray:
    """The column's numbers: numpy arrays as they are (integers, booleans and float32 are
    cast to float64 block by block while writing), nullable ones as float64 with NaN."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(series.to_numpy())


def _prepare_numeric(series: pd.Series, variable: str, spec_length, special
                     ) -> tuple[_Column | None, list[XptOffence]]:
    """Check a numeric column: range, exactness, length and special missing values.

    Rules: finite and below 2**252 in magnitude (XPT-RANGE); integers beyond 2**53 refused
    (a double cannot hold them, so the file would silently differ); a given length must be
    8 (XPT-LENGTH); special missing codes must point at NaN cells (XPT-MISSING). The IBM
    conversion itself happens block by block while the rows are written.
    """
    offences: list[XptOffence] = []
    if spec_length is not None and spec_length != 8:
        offences.append(XptOffence(
            "XPT-LENGTH", f"numeric variables are written with 8 bytes, not {spec_length!r}",
            variable))
    values = _numeric_values(series)
    inexact = _inexact_integers(series, values)
    if inexact:
        offences.append(XptOffence(
            "XPT-RANGE", f"{inexact} integer(s) beyond 2**53 cannot be stored exactly",
            variable))
    if values.dtype.kind == "f" and _out_of_ibm_range(values):
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(np.abs(values) >= 2.0 ** (IBM_MAX_EXP2 + 1))
        offences.append(XptOffence(
            "XPT-RANGE", f"infinite or too large (|x| >= 2**252, about 7.2e75) values in "
            f"{_rows_text(rows)}; the IBM format cannot hold them", variable))
    tags = _special_rows(special, values, variable, offences)
    if offences:
        return None, offences
    return _Column(variable, "", False, 8, values=values, special=tags), offences


def _special_rows(special, values: np.ndarray, variable: str, offences: list
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Rule XPT-MISSING: {row position: code} with codes A-Z or _ on NaN cells.

    Returns (sorted positions, IBM words) to overwrite, or None when there are none.
    """
    if not special:
        return None
    if not isinstance(special, dict):
        offences.append(XptOffence(
            "XPT-MISSING", "special_missing entry must be {row position: code}", variable))
        return None
    rows, words, bad = [], [], []
    for row, code in special.items():  # one entry per special value, not per row
        text = code[1:] if isinstance(code, str) and code.startswith(".") else code
        if (not isinstance(row, (int, np.integer)) or isinstance(row, bool)
                or not 0 <= row < len(values)):
            bad.append(f"row position {row!r} is outside the frame")
        elif not (isinstance(text, str) and len(text) == 1 and text in MISSING_CODES):
            bad.append(f"code {code!r} at row {row + 1} is not one of .A-.Z or ._")
        elif values.dtype.kind != "f" or not np.isnan(values[row]):
            bad.append(f"row {row + 1} holds {values[row]!r}, not a missing value")
        else:
            rows.append(int(row))
            words.append(np.uint64(ord(text)) << np.uint64(56))
    if bad:
        offences.append(XptOffence("XPT-MISSING", "; ".join(bad[:5]), variable))
        return None
    order = np.argsort(rows)  # sorted, so each block of rows finds its own with searchsorted
    return (np.asarray(rows, dtype=np.intp)[order],
            np.asarray(words, dtype=np.uint64)[order])


def _prepare(frame: pd.DataFrame, name, label, labels, lengths, formats
             ) -> tuple[list[_Column], list[XptOffence]]:
    """Check every rule and prepare every column; returns the columns and the offences."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"write_xpt needs a pandas DataFrame, not {type(frame).__name__}")
    labels = dict(labels or {})
    lengths = dict(lengths or {})
    formats = dict(formats or {})
    special = frame.attrs.get("special_missing") or {}
    offences = _check_name(name, "data set name")
    offences += _check_label(label, "data set label")

    names = list(frame.columns)
    if not names:
        offences.append(XptOffence("XPT-NAME", "the data set has no variables"))
    if len(names) > MAX_VARIABLES:
        offences.append(XptOffence(
            "XPT-NAME", f"{len(names)} variables; a v5 file holds at most {MAX_VARIABLES}"))
    duplicates = sorted(str(n) for n, count in Counter(names).items() if count > 1)
    if duplicates:
        offences.append(XptOffence("XPT-NAME", f"duplicate variable names {duplicates}"))
    for what, given in (("labels", labels), ("lengths", lengths), ("formats", formats),
                        ("special missing values", special)):
        unknown = [k for k in given if k not in frame.columns]
        if unknown:
            rule = {"labels": "XPT-LABEL", "lengths": "XPT-LENGTH",
                    "formats": "XPT-FORMAT"}.get(what, "XPT-MISSING")
            offences.append(XptOffence(rule, f"{what} given for unknown columns {unknown}"))

    columns: list[_Column] = []
    for position, variable in enumerate(names):
        if duplicates and str(variable) in duplicates:
            continue
        offences += _check_name(variable, "variable name", str(variable))
        series = frame.iloc[:, position]
        var_label = labels.get(variable)
        offences += _check_label(var_label, "label", str(variable))
        is_char = _text_kind(series)
        if is_char:
            if variable in special:
                offences.append(XptOffence(
                    "XPT-MISSING", "special missing values need a numeric column", variable))
            column, found = _prepare_text(series, str(variable), lengths.get(variable))
        elif _numeric_kind(series):
            column, found = _prepare_numeric(
                series, str(variable), lengths.get(variable), special.get(variable))
        else:
            column, found = None, [XptOffence(
                "XPT-TYPE", f"dtype {series.dtype} cannot be stored; use text (ISO 8601 "
                "dates) or numbers (SAS dates with a format)", str(variable))]
        offences += found
        if variable in formats:
            format_offences = _check_format(formats[variable], is_char, str(variable))
            offences += format_offences
            if column is not None and not format_offences:
                column.format = _parse_format(formats[variable])
        if column is not None:
            column.label = var_label or ""
            columns.append(column)
    return columns, offences


def check_xpt(frame: pd.DataFrame, *, name: str, label: str | None, labels=None,
              lengths=None, formats=None) -> list[XptOffence]:
    """Every rule ``write_xpt`` would refuse, as a list of :class:`XptOffence` (empty: ok)."""
    return _prepare(frame, name, label, labels, lengths, formats)[1]


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
    return (f"{moment.day:02d}{_MONTHS[moment.month - 1]}{moment.year % 100:02d}:"
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}")


def _text(value: str, width: int) -> bytes:
    """ASCII text blank-padded to a fixed width (already checked to fit)."""
    return value.encode("ascii").ljust(width, b" ")[:width]


def _header_record(kind: str, numbers: str = "0" * 30) -> bytes:
    """``HEADER RECORD*******<kind>HEADER RECORD!!!!!!!<30 digits>`` + 2 blanks."""
    return _HEADER_PREFIX + _text(kind, 8) + _HEADER_SUFFIX + numbers.encode() + b"  "


def _namestrs(columns: list[_Column]) -> bytes:
    """The variable descriptors (140 bytes each, big-endian), padded to whole records."""
    table = np.zeros(len(columns), dtype=_namestr_dtype(NAMESTR_SIZE))
    position = 0
    for number, col in enumerate(columns, start=1):  # one entry per variable
        fmt_name, fmt_width, fmt_decimals = col.format
        table[number - 1] = (
            2 if col.is_char else 1, 0, col.length, number, _text(col.name, 8),
            _text(col.label, 40), _text(fmt_name, 8), fmt_width, fmt_decimals,
            0, b"\0\0", b" " * 8, 0, 0, position, b"")  # nfj 0: left, as SAS writes
        position += col.length
    raw = table.tobytes()
    return raw + b" " * (-len(raw) % RECORD)


def _headers(columns: list[_Column], name: str, label: str) -> bytes:
    """Library and member headers, namestrs and the OBS header, as TS-140 lays them out."""
    stamp = _header_time().encode()
    sas = _text("SAS", 8)
    version, system = _text(SAS_VERSION, 8), _text(SAS_OS, 8)
    parts = [
        _header_record("LIBRARY"),
        sas + sas + _text("SASLIB", 8) + version + system + b" " * 24 + stamp,
        stamp + b" " * 64,
        _header_record("MEMBER", "00000000000000000160" + f"{NAMESTR_SIZE:010d}"),
        _header_record("DSCRPTR"),
        sas + _text(name, 8) + _text("SASDATA", 8) + version + system + b" " * 24 + stamp,
        stamp + b" " * 16 + _text(label or "", 40) + b" " * 8,
        _header_record("NAMESTR", f"00000{len(columns):05d}" + "0" * 20),
        _namestrs(columns),
        _header_record("OBS"),
    ]
    return b"".join(parts)


def _row_chunks(columns: list[_Column], nrows: int, underflows: dict[str, int],
                buffers: int = WRITE_QUEUE_DEPTH + 2):
    """Yield the observations as bytes, a cache-sized block of rows at a time.

    Each column is copied into its byte range of a reusable (rows x row length) buffer:
    text by taking whole padded values (numpy void items) from its table of distinct
    values; numbers are converted to IBM in reusable block-sized buffers (fresh large
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
    for number, start in enumerate(range(0, nrows, step)):  # blocks of rows, not rows
        stop = min(start + step, nrows)
        count = stop - start
        block = ring[number % buffers][:count]
        position = 0
        for col in columns:
            if col.is_char:
                field = np.ndarray((count,), dtype=f"V{col.length}", buffer=block,
                                   offset=position, strides=(row_length,))
                np.take(col.table, col.codes[start:stop], out=field)
            else:
                values = col.values[start:stop]
                if values.dtype != np.float64:
                    np.copyto(doubles[:count], values, casting="unsafe")
                    values = doubles[:count]
                ibm = words[:count]
                tiny = _ibm_block(values, ibm)
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
        raise CdiscError(message, rule="XPT-WRITE", file=path) from exc


def write_xpt(frame: pd.DataFrame, path, *, name: str, label: str | None,
              labels: dict | None = None, lengths: dict | None = None,
              formats: dict | None = None) -> Path:
    """Write ``frame`` as the single member ``name`` of a SAS transport v5 file at ``path``.

    Rules are checked first; all offences are raised together in one CdiscError (its
    ``details`` list them, its ``offences`` attribute holds the :class:`XptOffence`s).
    Text columns become character variables of the longest value's length (or
    ``lengths[col]``), numbers become 8-byte IBM floats, NaN/None become missing. Special
    missing values come from ``frame.attrs["special_missing"]`` (see the module docs).
    """
    path = Path(path)
    columns, offences = _prepare(frame, name, label, labels, lengths, formats)
    if offences:
        rules = list(dict.fromkeys(o.rule for o in offences))
        error = CdiscError(
            f"{len(offences)} problem(s) prevent writing data set {name!r} as SAS XPORT v5",
            rule=", ".join(rules), file=path, dataset=name if isinstance(name, str) else None,
            details=[str(o) for o in offences])
        error.offences = offences
        raise error
    header = _headers(columns, name, label or "")
    underflows: dict[str, int] = {}
    _atomic_write(path, header, _row_chunks(columns, len(frame), underflows))
    for variable, count in underflows.items():
        warnings.warn(
            f"{path}: column {variable}: {count} value(s) smaller than 5.4e-79 in magnitude "
            "are below the IBM floating point range and were written as 0",
            XptPrecisionWarning, stacklevel=2)
    return path


# ---------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------

def _namestr_dtype(size: int) -> np.dtype:
    """The namestr record (TS-140) as a big-endian numpy structured dtype of ``size``."""
    return np.dtype([
        ("ntype", ">i2"), ("nhfun", ">i2"), ("nlng", ">i2"), ("nvar0", ">i2"),
        ("nname", "S8"), ("nlabel", "S40"), ("nform", "S8"), ("nfl", ">i2"),
        ("nfd", ">i2"), ("nfj", ">i2"), ("nfill", "S2"), ("niform", "S8"), ("nifl", ">i2"),
        ("nifd", ">i2"), ("npos", ">i4"), ("rest", f"S{size - 88}"),
    ])


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
    if head.startswith(_HEADER_PREFIX + b"LIBV8   "):
        raise InputError("file is SAS transport version 8/9; only version 5 is supported "
                         "(the FDA format)", rule="XPT-VERSION", file=path)
    if not head.startswith(_HEADER_PREFIX + b"LIBRARY " + _HEADER_SUFFIX):
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
        day, month, year = int(text[0:2]), _MONTHS.index(text[2:5].upper()) + 1, int(text[5:7])
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
    if not record.startswith(_HEADER_PREFIX + _text(kind, 8) + _HEADER_SUFFIX):
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
    table = np.frombuffer(buf, dtype=_namestr_dtype(namestr_size), count=count,
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


_MEMBER_MARK = _HEADER_PREFIX + b"MEMBER  " + _HEADER_SUFFIX
_HEADER_WORD = np.frombuffer(_HEADER_PREFIX[:8], dtype="<u8")[0]  # b"HEADER R" as a word


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


def _first_occurrences(codes: np.ndarray) -> np.ndarray:
    """Positions where each code first appears, given codes numbered by first appearance.

    pd.factorize numbers values in order of appearance, so a row holds a new value exactly
    when its code exceeds every earlier code.
    """
    if codes.size == 0:
        return np.zeros(0, dtype=np.intp)
    running = np.maximum.accumulate(codes)
    new = np.empty(codes.size, dtype=bool)
    new[0] = True
    np.greater(running[1:], running[:-1], out=new[1:])
    return np.flatnonzero(new)


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
                tagged = _doubles_block(words, field.out[start:stop])
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
            codes[name], first[name] = _factorize_keys(field.out)
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
        "labels": {v.name: v.label for v in chosen.variables},
        "lengths": {v.name: v.length for v in chosen.variables},
        "formats": {v.name: v.format for v in chosen.variables if v.format},
        "special_missing": special,
        "created": chosen.created,
        "modified": chosen.modified,
        "sas_version": chosen.sas_version,
        "sas_os": chosen.sas_os,
        "members": [m.name for m in members],
        "encoding": encoding,
    }
    return frame
