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

# The package by concern: layout (the v5 file layout, limits, shared helpers), ibm (IBM
# System/360 <-> IEEE numbers), columns (checking and preparing a frame's columns),
# writer, reader.
from .columns import check_xpt
from .ibm import ibm_to_ieee, ieee_to_ibm
from .layout import (MAX_CHAR, MAX_LABEL, MAX_NAME, MAX_VARIABLES, RECORD, XptOffence,
                     XptPrecisionWarning)
from .reader import read_xpt
from .writer import write_xpt

__all__ = [
    "MAX_CHAR",
    "MAX_LABEL",
    "MAX_NAME",
    "MAX_VARIABLES",
    "RECORD",
    "XptOffence",
    "XptPrecisionWarning",
    "check_xpt",
    "ibm_to_ieee",
    "ieee_to_ibm",
    "read_xpt",
    "write_xpt",
]
