"""Profiling a column for define.xml: DataType, Length, SignificantDigits, DisplayFormat."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import without_attrs
from cdisc_convert.core.factorize import (factorize_text, factorize_values,
                                          first_occurrences, object_codes)
from cdisc_convert.core.sasdates import SAS_EPOCH
from cdisc_convert.core.sasformats import canonical_format, temporal_kind
from cdisc_convert.standards.define_xml import int_digits


@dataclass
class _Profile:
    datatype: str
    length: int | None = None
    significant: int | None = None
    display: str | None = None


def text_values(series: pd.Series) -> pd.Series:
    """The distinct non-blank text values, trailing blanks dropped (SAS does not keep
    them). Each distinct value is converted once (what callers use is set-based: lengths,
    any / all tests)."""
    s = _distinct(series)
    s = s[s.notna()].astype(str).str.rstrip(" ")
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
    """A column factorized once: its distinct values, and those of any row subset."""

    def __init__(self, series: pd.Series):
        self.series = without_attrs(series)
        self._first: np.ndarray | None = None   # row of each value's first occurrence
        if series.dtype == object:
            self.codes, self._first = _object_codes(series.to_numpy())
        else:
            self.codes, _ = pd.factorize(series, use_na_sentinel=True)
        self._all: pd.Series | None = None

    def distinct(self, rows: np.ndarray | None = None) -> pd.Series:
        """One row per distinct value (all rows, or the positions ``rows``), in the order
        of first occurrence."""
        if rows is None:
            if self._all is None:
                first = (self._first if self._first is not None
                         else first_rows(self.codes, True))
                self._all = self.series.iloc[first]
            return self._all
        return self.series.iloc[rows[first_rows(self.codes[rows])]]


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
        codes, _ = factorize_values(values)
        return codes, first_rows(codes, True)
    by_value, _ = factorize_text(values[first])   # exact for text holding NUL too
    codes = by_value.astype(np.intp, copy=False).take(by_object)
    # objects come in order of first appearance: a value's first object is its first row
    return codes, first[first_rows(by_value, True)]


def _byte_length(values: pd.Series, encoding: str = "utf-8") -> int:
    if values.empty:
        return 1
    unique = values.unique()
    # C-level maps, no Python step per value (dates and identifiers have many values)
    return max(1, max(map(len, map(str.encode, unique, repeat(encoding, len(unique)),
                                   repeat("replace", len(unique))))))


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


def profile_column(series: pd.Series, name: str, fmt: str | None, *, encoding: str = "utf-8"
             ) -> _Profile:
    """DataType etc. of one column (or a value-level subset of it)."""
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
    values = text_values(series)
    if name.endswith("DTC"):
        kind = "datetime" if values.str.contains("T", regex=False).any() else "date"
        if values.str.contains("/", regex=False).any():
            kind = "intervalDatetime"
        return _Profile(kind)
    if name.endswith("DUR") and values.str.match(r"^-?P").all() and len(values):
        return _Profile("durationDatetime")
    return _Profile("text", _byte_length(values, encoding), None, fmt or None)
