"""Profiling a column for define.xml: DataType, Length, SignificantDigits, DisplayFormat."""
from __future__ import annotations

import ctypes
import sys
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import code_dtype, combine_codes, without_attrs
from cdisc_convert.core.factorize import (categorical_codes, factorize_text, factorize_values,
                                          first_occurrences, object_codes)
from cdisc_convert.core.sasdates import SAS_EPOCH
from cdisc_convert.core.sasformats import canonical_format, temporal_kind
from cdisc_convert.io.xpt.writer import echo_text_codes
from cdisc_convert.standards.define_xml import int_digits


@dataclass
class _Profile:
    datatype: str
    length: int | None = None
    significant: int | None = None
    display: str | None = None


def text_values(series: pd.Series, *, distinct: bool = False) -> pd.Series:
    """The distinct non-blank text values, trailing blanks dropped (SAS does not keep
    them). Each distinct value is converted once (what callers use is set-based: lengths,
    any / all tests). ``distinct``: ``series`` holds each value once already
    (:meth:`Column.distinct`), which is then not numbered again."""
    s = series if distinct else _distinct(series)
    if s.dtype == object:
        # numpy masks over the object array: this runs once per text column and value
        # level subset, where pandas' own masking costs more than the values' work
        values = s.to_numpy()
        present = pd.notna(values)
        if len(values) and _all_str(values[present]):
            # text as readers give it has no trailing blanks (XPT cannot hold them): one
            # C-level join tells, and then nothing is stripped, nothing merges, and the
            # distinct values stay distinct
            joined = "\x00".join(values[present])
            if not (joined.endswith(" ") or " \x00" in joined):
                keep = present & (values != "")
                return s if keep.all() else s[keep]
        s = s[present]
    else:
        s = s[s.notna()]
    s = s.astype(str).str.rstrip(" ")
    s = s[s != ""]
    return s.drop_duplicates() if len(s) > 1 else s


def first_rows(codes: np.ndarray, numbered_in_order: bool = False) -> np.ndarray:
    """Positions of the first occurrence of each distinct code (missing -1 included), in
    row order. ``numbered_in_order``: the codes are numbered by first appearance (as
    pd.factorize numbers a whole column; a subset of rows is not), which a running
    maximum finds without hashing."""
    if len(codes) <= 1:
        return np.arange(len(codes))
    if not numbered_in_order:
        return np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())
    # missing rows (-1) never raise the running maximum, so the running maximum over all
    # rows finds every present code's first row (and row 0, whatever it holds); the first
    # missing row, if not row 0, is added
    rows = first_occurrences(codes)
    missing = codes < 0
    first_missing = int(missing.argmax())
    if missing[first_missing] and first_missing != 0:
        rows = np.insert(rows, np.searchsorted(rows, first_missing), first_missing)
    return rows


def _distinct(series: pd.Series) -> pd.Series:
    """One row per distinct value of ``series`` (missing kept once), its dtype kept."""
    if len(series) <= 1:
        return series
    codes, _ = pd.factorize(series, use_na_sentinel=True)
    return series.iloc[first_rows(codes, True)]


class Column:
    """A column numbered at most once: its distinct values, and those of any row subset.

    The codes (one integer per distinct value, -1 missing, numbered by first appearance,
    in the smallest integer type that also holds ``codes + 1``: :func:`code_dtype`, as
    a data set's columns keep theirs while it is described) are made only when asked for (keys, value-level subsets, labels per group): most
    columns only need their distinct values, which :meth:`distinct` finds from the first
    row of each run of equal neighbours (sorted data sets hold long runs) without a code
    per row.
    """

    def __init__(self, series: pd.Series):
        self.series = without_attrs(series)
        dtype = self.series.dtype
        #: plain numbers (numpy integers and floats), which profile_numbers takes
        self.numbers = isinstance(dtype, np.dtype) and dtype.kind in "fiu"
        self._codes: np.ndarray | None = None
        self._first: np.ndarray | None = None   # row of each value's first occurrence
        self._all: pd.Series | None = None
        self._starts: np.ndarray | None | bool = False     # False: not looked for yet
        self._asked_writer = False

    def _from_writer(self) -> bool:
        """Whether the codes are known, taking them (once) from the XPT writer's numbering
        of this column when it is the text of an echo (:func:`_written_codes`): cheaper
        than the run starts or numbering the objects."""
        if self._codes is None and not self._asked_writer and self.series.dtype == object:
            self._asked_writer = True
            found = _written_codes(self.series.to_numpy())
            if found is not None:
                self._codes, self._first = found
        return self._codes is not None

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            if self.series.dtype == object:
                if not self._from_writer():
                    self._codes, self._first = _object_codes(self.series.to_numpy())
            elif (held := categorical_codes(self.series)) is not None:
                self._codes = held[0]       # run's echoes (io.numbering.compact_text)
            elif (starts := self.runs()) is not None:
                # long runs (sorted keys, dates per subject): a value's first row starts a
                # run, so numbering the run starts numbers every value in order of first
                # appearance (NaN/NaT differ from themselves: runs of their own, -1)
                codes, uniques = pd.factorize(self.series.iloc[starts], use_na_sentinel=True)
                self._codes = codes.astype(code_dtype(len(uniques))).repeat(
                    np.diff(starts, append=len(self.series)))
            else:
                codes, uniques = pd.factorize(self.series, use_na_sentinel=True)
                self._codes = codes.astype(code_dtype(len(uniques)), copy=False)
        return self._codes

    def distinct(self, rows: np.ndarray | None = None) -> pd.Series:
        """One row per distinct value (all rows, or the positions ``rows``), in the order
        of first occurrence."""
        if rows is None:
            if self._all is None:
                self._all = self.series.iloc[self._distinct_rows()]
            return self._all
        return self.series.iloc[rows[first_rows(self.codes[rows])]]

    def runs(self) -> np.ndarray | None:
        """The rows starting a run of equal neighbours (:func:`run_starts`), when there
        are few enough to be worth it; found once."""
        if self._starts is False:
            # numpy storage only: extension arrays (Int64, string ...) go through factorize
            self._starts = (run_starts(self.series.to_numpy())
                            if isinstance(self.series.dtype, np.dtype) else None)
        return self._starts

    def uniques(self) -> pd.Index:
        """The distinct values (missing excluded) in code order: ``uniques[code]``, as
        ``pd.factorize`` of the whole column gives them."""
        codes = self.codes
        rows = self._distinct_rows()
        rows = rows[codes[rows] >= 0]
        _, uniques = pd.factorize(self.series.iloc[rows], use_na_sentinel=True)
        if len(uniques) != len(rows):   # values pandas merges (text with NUL): every row
            _, uniques = pd.factorize(self.series, use_na_sentinel=True)
        return uniques

    def _distinct_rows(self) -> np.ndarray:
        """The first row of each distinct value (missing once), in row order."""
        if (self._codes is not None or self._from_writer()
                or isinstance(self.series.dtype, pd.CategoricalDtype)):
            # a categorical: its codes (cheap when they are its own), not an object per row
            codes = self.codes
            return self._first if self._first is not None else first_rows(codes, True)
        values = self.series.to_numpy()
        starts = self.runs()
        if starts is None:         # short runs, or values numpy cannot compare
            self.codes
            return self._distinct_rows()
        # a value's first row starts a run: the runs' first rows hold every distinct value
        # (a missing value too: NaN/NaT differ from themselves and start runs of their own)
        if values.dtype == object:
            _, first = _object_codes(values[starts])
            return starts[first]
        codes, _ = pd.factorize(self.series.iloc[starts], use_na_sentinel=True)
        return starts[first_rows(codes, True)]


def has_duplicates(columns: list[Column]) -> bool:
    """Whether two rows hold the same combination of the columns' values (missing values
    alike): their codes combined into one integer per row, hashed once (not once per
    column as ``DataFrame.duplicated`` does). A row holding the very values of the row
    before in every column answers yes first, from comparison passes alone."""
    if _repeats_previous_row([column.series.to_numpy() for column in columns]):
        return True
    codes = [column.codes for column in columns]
    # ``part + 1`` cannot overflow (Column codes leave room for it); the key itself is
    # combined in int64
    found = combine_codes(((part + 1, int(part.max()) + 2 if len(part) else 1)
                           for part in codes), len(codes[0]))
    if found is None:
        return bool(pd.DataFrame(dict(enumerate(codes)), copy=False).duplicated().any())
    combined, _span = found
    if len(combined) < 2:
        return False
    # records in key order (as written) give a non-decreasing key: equal rows are then
    # neighbours, and one comparison pass answers without hashing every row
    ahead = combined[1:]
    behind = combined[:-1]
    if bool(np.all(ahead >= behind)):
        return not bool(np.all(ahead != behind))
    return len(pd.unique(combined)) < len(combined)


def _repeats_previous_row(arrays: list[np.ndarray]) -> bool:
    """Whether some row equals the row before in every one of ``arrays`` (objects: the same
    object, so surely the same value; NaN never equals). False when unsure."""
    if not arrays or len(arrays[0]) < 2:
        return False
    starts = np.zeros(len(arrays[0]), dtype=bool)
    for values in arrays:
        differs = _differs_from_previous(values)
        if differs is None:
            return False
        starts |= differs
        if starts.all():
            return False
    return True


def run_starts(values: np.ndarray) -> np.ndarray | None:
    """Rows whose value (in an object array: the object itself) differs from the row
    before, when these are under 60% of the rows; None otherwise (hashing every row is
    then about as cheap as gathering and hashing the starts) or when numpy cannot compare
    them."""
    differs = _differs_from_previous(values)
    if differs is None:
        return None
    # the starts' values are then hashed instead of every row's: worth it up to ~3 in 4
    # rows starting a run (hashing costs ~10 times the comparison pass)
    if np.count_nonzero(differs) * 5 >= len(values) * 3:
        return None
    return np.flatnonzero(differs)


def _differs_from_previous(values: np.ndarray) -> np.ndarray | None:
    """Per row: its value (in an object array: the object itself) differs from the row
    before's (row 0: True); None for fewer than two rows or values numpy cannot compare."""
    count = len(values)
    if count < 2 or (values.dtype != object and values.dtype.kind not in "biufmM"):
        return None
    differs = np.empty(count, dtype=bool)
    differs[0] = True
    if values.dtype != object:
        np.not_equal(values[1:], values[:-1], out=differs[1:])
    elif sys.implementation.name == "cpython":
        # an object array stores addresses: equal neighbours compared as integers, without
        # touching the objects (readers share one object per distinct value)
        values = np.ascontiguousarray(values)
        buffer = (ctypes.c_char * values.nbytes).from_address(values.ctypes.data)
        addresses = np.frombuffer(buffer, dtype=np.uintp)
        np.not_equal(addresses[1:], addresses[:-1], out=differs[1:])
        del addresses, buffer     # meaningful only while ``values`` holds the objects
    else:
        return None
    return differs


def _written_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """What :func:`_object_codes` gives, from the numbering the XPT writer made of this
    very column (``io.xpt.writer.echo_text_codes``: the file just written, as read_xpt
    would give it), without hashing its rows; None when the column is not such an echo
    or that numbering is not in order of first appearance.

    The writer's codes give equal values equal codes; its blank rows (code -1, read as
    "") become one more code, and codes of equal values (two objects of one text, a value
    also written blank) are merged by value over the first rows only."""
    written = echo_text_codes(values)
    if written is None:
        return None
    codes = written
    blank = codes < 0
    if blank.any():
        row = int(blank.argmax())
        seen = int(codes[:row].max()) + 1 if row else 0   # codes appearing before it
        codes = np.add(codes, codes >= seen, dtype=code_dtype(int(codes.max()) + 2))
        codes[blank] = seen
    running = np.maximum.accumulate(codes)
    steps = np.diff(running)
    # by first appearance: row 0 holds code 0 and each new code is one more than the last
    if codes[0] != 0 or (len(steps) and int(steps.max()) > 1):
        return None
    first = np.flatnonzero(np.r_[True, steps > 0])
    by_value, uniques = factorize_text(values[first])
    if len(uniques) == len(first):
        return codes.astype(code_dtype(len(first)), copy=False), first
    codes = by_value.astype(code_dtype(len(uniques))).take(codes)
    return codes, first[first_rows(by_value, True)]


def _object_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes by value numbered by first appearance, -1 missing; the row of each distinct
    value's first occurrence, missing included, in row order) of an object column.

    Readers and mappings share one str object per distinct value, so the rows are
    numbered by object address (integers, runs first: core.factorize.object_codes) and
    only the distinct objects are compared by value; their first rows come with that
    numbering. No pass hashes or scans every row's text.
    """
    values = np.ascontiguousarray(values)   # object_codes reads the addresses as stored
    by_object, first = object_codes(values)
    if len(first) == len(values) and len(values) > 1:
        # every row its own object (text built row by row): number by value directly
        codes, uniques = factorize_values(values)
        codes = codes.astype(code_dtype(len(uniques)), copy=False)
        return codes, first_rows(codes, True)
    by_value, uniques = factorize_text(values[first])   # exact for text holding NUL too
    codes = by_value.astype(code_dtype(len(uniques))).take(by_object)
    # objects come in order of first appearance: a value's first object is its first row
    return codes, first[first_rows(by_value, True)]


def _byte_length(values: pd.Series, encoding: str = "utf-8") -> int:
    """The longest of ``values`` (distinct text, as :func:`text_values` gives) in bytes."""
    if values.empty:
        return 1
    unique = values.to_numpy()
    if encoding in _ASCII_SUPERSETS and _all_str(unique) and "".join(unique).isascii():
        return max(1, max(map(len, unique)))     # one byte per character, nothing encoded
    # C-level maps, no Python step per value (dates and identifiers have many values)
    return max(1, max(map(len, map(str.encode, unique, repeat(encoding, len(unique)),
                                   repeat("replace", len(unique))))))


def _all_str(values: np.ndarray) -> bool:
    """Every value is a str (one C-level pass; no missing value)."""
    return pd.api.types.infer_dtype(values, skipna=False) == "string"


#: encodings storing each ASCII character as one byte
_ASCII_SUPERSETS = ("utf-8", "utf8", "ascii", "latin-1", "latin1", "iso8859-1", "cp1252")


def _decimals(values: np.ndarray) -> int:
    """Decimals needed to state every one of ``values`` (finite floats) to 1e-9 relative
    precision (at most 15): one vectorised pass per number of decimals, over the values
    that still need more."""
    tol = 1e-9 * np.maximum(1.0, np.abs(values))
    for d in range(16):
        within = np.abs(np.round(values, d) - values) <= tol
        values, tol = values[~within], tol[~within]
        if not values.size:
            return d
    return 15


def _max_int_digits(values: np.ndarray) -> int:
    """The most digits of an integer part among finite ``values`` (1 when there are none):
    the digit count grows with the magnitude, so it is that of the largest magnitude."""
    return int_digits(float(np.max(np.abs(values)))) if len(values) else 1


def profile_numbers(series: pd.Series, fmt: str | None) -> _Profile | None:
    """:func:`profile_column`'s answer for a column (or subset) of plain numbers whose
    finite values are all whole (sequence numbers, study days, SAS dates, counts), found
    by a few vectorised passes over every row instead of numbering the distinct values;
    None for other columns (decimals are counted on the distinct values)."""
    if not (isinstance(series.dtype, np.dtype) and series.dtype.kind in "fiu"):
        return None
    fmt = canonical_format(fmt) or fmt
    values = series.to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        values = values[finite]
    if not values.size:
        return _Profile("integer", 1, None, fmt or None)
    if temporal_kind(fmt):
        return _Profile("integer", _max_int_digits(values), None, fmt)
    # trunc(x) == x is x % 1 == 0 for finite x, at a fraction of np.mod's cost
    if not np.array_equal(np.trunc(values), values):
        return None
    return _Profile("integer", _max_int_digits(values), None, fmt or None)


def profile_column(series: pd.Series, name: str, fmt: str | None, *, encoding: str = "utf-8",
                   distinct: bool = False) -> _Profile:
    """DataType etc. of one column (or a value-level subset of it); ``distinct``: the
    series holds each value once (:meth:`Column.distinct`)."""
    fmt = canonical_format(fmt) or fmt      # readers spell "DATE9" or "DATE9."
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.dropna()
        kind = temporal_kind(fmt)
        has_time = bool(len(values)) and bool((values != values.dt.normalize()).any())
        if kind is None:
            kind = "datetime" if name.endswith("DTM") or has_time else "date"
        if kind == "datetime":
            numbers = (values - SAS_EPOCH).dt.total_seconds()
            display = fmt or "DATETIME20."
        else:
            numbers = (values - SAS_EPOCH).dt.days.astype(float)
            display = fmt or "DATE9."
        length = _max_int_digits(numbers.unique())
        return _Profile("integer", length, None, display)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = pd.to_numeric(series, errors="coerce").dropna().astype(float)
        values = values[np.isfinite(values)]
        display = fmt or None
        if values.empty:
            return _Profile("integer", 1, None, display)
        distinct = values.unique()
        if temporal_kind(fmt):
            return _Profile("integer", _max_int_digits(distinct), None, fmt)
        if np.all(np.mod(distinct, 1) == 0):
            return _Profile("integer", _max_int_digits(distinct), None, display)
        sig = _decimals(np.asarray(distinct, dtype=np.float64))
        length = _max_int_digits(distinct) + sig
        return _Profile("float", length, sig, display)
    values = text_values(series, distinct=distinct)
    if name.endswith("DTC"):
        kind = "datetime" if values.str.contains("T", regex=False).any() else "date"
        if values.str.contains("/", regex=False).any():
            kind = "intervalDatetime"
        return _Profile(kind)
    if name.endswith("DUR") and values.str.match(r"^-?P").all() and len(values):
        return _Profile("durationDatetime")
    return _Profile("text", _byte_length(values, encoding), None, fmt or None)
