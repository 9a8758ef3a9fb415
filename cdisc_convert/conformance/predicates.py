"""Vectorised predicates of the conformance schemas (:mod:`.schemas`): each takes a Series
or a frame and returns a boolean Series aligned with it; text checks run once per distinct
value of a column (one factorisation per column, shared through :data:`FACTORIZED`)."""
from __future__ import annotations

import contextvars
from typing import Any, Callable

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import combine_codes
from cdisc_convert.core.factorize import (factorize_keys, factorize_objects, factorize_text,
                                          object_firsts)
from cdisc_convert.core.iso8601 import is_iso8601, study_day

MAX_BYTES = 200  # SAS XPORT v5 character limit

#: plausible TRSTRESN per TRTESTCD (rule SD-TR-PLAUSIBLE): (lowest, highest, why)
TR_PLAUSIBLE = {
    "LDIAM": (0.0, np.inf, "a diameter cannot be negative"),
    "LPERP": (0.0, np.inf, "a diameter cannot be negative"),
    "DIAMETER": (0.0, np.inf, "a diameter cannot be negative"),
    "RADIODEN": (-1024.0, 3071.0, "CT radiodensity lies between -1024 and 3071 HU"),
}

# --------------------------------------------------------------------------------------
# Vectorised predicates (each returns a boolean Series aligned with its input)
# --------------------------------------------------------------------------------------
# While check_dataset runs, the factorisation of each column is kept here so that the
# several text checks of a column share one pd.factorize (the costliest step).
FACTORIZED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("FACTORIZED",
                                                                         default=None)


def _cache_key(s: pd.Series) -> tuple | None:
    """The key of ``s``'s entries in :data:`FACTORIZED` (None: nothing is kept)."""
    if FACTORIZED.get() is None or not isinstance(s.array, pd.arrays.NumpyExtensionArray):
        return None
    values = s.to_numpy(copy=False)
    return (s.name, values.__array_interface__["data"][0], values.strides, len(values))


def _distinct_text(s: pd.Series) -> tuple[pd.Series, bool] | None:
    """(the distinct text objects of an object column, whether it holds a missing value),
    or None when a value is neither text nor missing. No code per row is made: a column
    whose distinct values all pass a check passes it, which is what almost every column
    of a mapped dataset does, and only a column failing one needs its rows numbered
    (:func:`_factorize`). A text may appear twice (two objects holding it)."""
    if s.dtype != object:
        return None
    key = _cache_key(s)
    cache = FACTORIZED.get()
    if key is not None and ("text",) + key in cache:
        return cache[("text",) + key]
    values = np.ascontiguousarray(s.to_numpy())
    objects = values[object_firsts(values)]
    missing = pd.isna(objects)
    present = objects[~missing] if missing.any() else objects
    result = (pd.Series(present, dtype=object), bool(missing.any())) if _all_str(present) \
        else None
    if key is not None:
        cache[("text",) + key] = result
    return result


def _factorize(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    cache = FACTORIZED.get()
    key = _cache_key(s)
    if key is not None and key in cache:
        return cache[key]
    codes = None
    if s.dtype == object:
        # by object first: mapped columns share one string object per value, so hashing
        # every record's text again for each checked column is avoided (a value may then
        # appear twice among the distinct ones, which only costs a repeated check)
        codes, uniques = factorize_objects(s.to_numpy())
        if not _all_str(np.asarray(uniques, dtype=object)):  # numbers: pandas merges 1 and 1.0
            codes = None
    if codes is None:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    result = codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    if key is not None:
        cache[key] = result
    return result


def distinct_values(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(code per row, -1 where missing; distinct values) of a column: the numbering its
    checks share while :data:`FACTORIZED` is set (a text value may appear twice among the
    distinct values, held by two objects; look values up, do not count them)."""
    return _factorize(s)


def _per_distinct(s: pd.Series, func: Callable[[pd.Series], Any], na_value: bool) -> pd.Series:
    """Evaluate ``func`` (Series of distinct values -> bool array) once per distinct value."""
    text = _distinct_text(s) if na_value is not None else None
    if text is not None:
        present, missing = text
        outcomes = set(np.asarray(func(present), dtype=bool).tolist()) | \
            ({na_value} if missing else set())
        if len(outcomes) <= 1:      # one outcome for every record: no rows to spread it to
            return pd.Series(outcomes.pop() if outcomes else na_value, index=s.index)
    codes, uniques = _factorize(s)
    if len(uniques):
        res = np.asarray(func(uniques), dtype=bool)
        out = res[codes]
        if na_value is not None:
            out[codes == -1] = na_value
    else:
        out = np.full(len(codes), na_value, dtype=bool)
    return pd.Series(out, index=s.index)


def _is_text_dtype(s: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)


def _blank_distinct(u: pd.Series) -> np.ndarray:
    """True where a distinct value is empty or only blanks (non-text values are not blank).
    A generator over the values: Series.map and .str cost milliseconds per call, and this
    runs for every text column of every dataset."""
    values = u.to_numpy()
    if _all_str(values):    # C-level passes: a million distinct identifiers at 50,000 subjects
        return (values == "") | np.fromiter(map(str.isspace, values), dtype=bool,
                                            count=len(values))
    return np.fromiter((isinstance(v, str) and not v.strip() for v in values),
                       dtype=bool, count=len(values))


def _all_str(values: np.ndarray) -> bool:
    """Every value is exactly a ``str`` (one C-level pass over the types)."""
    return set(map(type, values)) <= {str}


def _is_blank(s: pd.Series) -> pd.Series:
    """True where a value is missing, empty or only blanks."""
    if not _is_text_dtype(s):
        return s.isna()
    return _per_distinct(s, _blank_distinct, na_value=True)


def not_blank(s: pd.Series) -> pd.Series:
    return ~_is_blank(s)


def char_type_ok(s: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
        return True  # pandas "string" dtype
    if pd.api.types.is_object_dtype(s.dtype):
        # the column's distinct objects, which its other checks use too, mostly say it
        if _distinct_text(s) is not None:
            return True
        return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    return False


def num_type_ok(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype))


def _utf8_lengths(u: pd.Series) -> np.ndarray:
    """Byte length of each distinct value in UTF-8 (0 for non-text)."""
    values = u.to_numpy()
    n = (np.fromiter(map(len, values), dtype=np.int64, count=len(values)) if _all_str(values)
         else np.fromiter((len(v) if isinstance(v, str) else 0 for v in values),
                          dtype=np.int64, count=len(values)))
    maybe_long = n * 4 > MAX_BYTES  # a character is at most 4 bytes
    if maybe_long.any():
        n[maybe_long] = [len(v.encode("utf-8")) for v in values[maybe_long]]
    return n


def length_ok(s: pd.Series) -> pd.Series:
    if not _is_text_dtype(s):
        return pd.Series(True, index=s.index)
    return _per_distinct(s, lambda u: _utf8_lengths(u) <= MAX_BYTES, na_value=True)


def _iso_distinct(u: pd.Series) -> np.ndarray:
    text = u.map(lambda v: v if isinstance(v, str) else str(v))
    ok = is_iso8601(text).to_numpy(dtype=bool) | _blank_distinct(u)
    interval = text.str.count("/") == 1
    if (interval & ~ok).any():
        parts = text[interval].str.split("/", expand=True)
        both = (is_iso8601(parts[0]) & is_iso8601(parts[1])).to_numpy(dtype=bool)
        ok[np.flatnonzero(interval.to_numpy())] |= both
    return ok


def iso_ok(s: pd.Series) -> pd.Series:
    return _per_distinct(s, _iso_distinct, na_value=True)


def member_or_blank(allowed: frozenset, numbers_allowed: bool = False,
                     exempt: np.ndarray | None = None) -> Callable[[pd.Series], pd.Series]:
    """Value in ``allowed``, or blank; with ``numbers_allowed`` numeric texts pass too.
    Records at the positions where ``exempt`` is true pass (another check covers them)."""
    def distinct(u: pd.Series) -> np.ndarray:
        ok = u.isin(allowed).to_numpy(dtype=bool) | _blank_distinct(u)
        if numbers_allowed:
            ok |= pd.to_numeric(u, errors="coerce").notna().to_numpy(dtype=bool)
        return ok

    def check(s: pd.Series) -> pd.Series:
        if not _is_text_dtype(s):
            ok = s.isin(allowed) | s.isna()
        else:
            ok = _per_distinct(s, distinct, na_value=True)
        if exempt is not None:
            ok = ok | pd.Series(exempt, index=s.index)
        return ok
    return check


def first_of_group(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """0-based position of the first record of each record's group (by ``columns``)."""
    pos = pd.Series(np.arange(len(frame)), index=frame.index)
    return pos.groupby([frame[c] for c in columns], dropna=False, sort=False).transform("first")


def finite(s: pd.Series) -> pd.Series:
    """Rule SD-NUM-FINITE: no infinity in a numeric variable (XPT cannot hold it)."""
    if not num_type_ok(s):
        return pd.Series(True, index=s.index)
    return ~pd.Series(np.isinf(s.to_numpy(dtype="float64", na_value=np.nan)), index=s.index)


def tr_plausible(df: pd.DataFrame) -> pd.Series:
    """Rule SD-TR-PLAUSIBLE: TRSTRESN inside TR_PLAUSIBLE's range for its TRTESTCD."""
    values = pd.to_numeric(df["TRSTRESN"], errors="coerce").to_numpy(dtype="float64")
    tests = df["TRTESTCD"].astype(str).to_numpy()
    ok = np.ones(len(df), dtype=bool)
    for test, (low, high, _why) in TR_PLAUSIBLE.items():
        hit = tests == test
        if hit.any():
            with np.errstate(invalid="ignore"):
                ok[hit] = ~((values[hit] < low) | (values[hit] > high))
    return pd.Series(ok, index=df.index)


def _exact_codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """(code per row, number of codes) with exactly one code per distinct value and one
    for missing values, from the column's shared numbering (:func:`_factorize`, which the
    column's own checks made already): its distinct values, which may hold one text twice
    (two string objects), are numbered again by value, a few thousand instead of a
    million rows."""
    codes, uniques = _factorize(s)
    by_value, distinct = factorize_text(uniques.to_numpy())
    table = np.append(by_value.astype(np.int64, copy=False), len(distinct))   # -1: missing
    return table.take(codes), len(distinct) + 1


def unique_on(columns: list[str]) -> Callable[[pd.DataFrame], pd.Series]:
    """Records that repeat an earlier record's values of ``columns`` fail."""
    def check(df: pd.DataFrame) -> pd.Series:
        # each key column's codes are those its column checks made (no second numbering
        # of a million identifiers), combined into one integer per record; the first
        # record of each key is where its code first appears
        key, _span = combine_codes([_exact_codes(df[c]) for c in columns], len(df),
                                   renumber=True)
        # codes number values by first appearance, so a dataset sorted by its keys (as
        # --SEQ leaves it) has rising keys: one comparison pass shows that no key repeats;
        # otherwise sorted keys show it, in a tenth of the time of hashing a million keys.
        # Only a dataset with a repeat has its first records found by hashing.
        if bool((key[1:] > key[:-1]).all()):
            return pd.Series(True, index=df.index)
        ordered = np.sort(key)
        if not bool((ordered[1:] == ordered[:-1]).any()):
            return pd.Series(True, index=df.index)
        ok = np.zeros(len(df), dtype=bool)
        ok[factorize_keys(key)[1]] = True
        return pd.Series(ok, index=df.index)
    return check


def study_day_ok(dy: str, dtc: str, rfstdtc: pd.Series) -> Callable[[pd.DataFrame], pd.Series]:
    def check(df: pd.DataFrame) -> pd.Series:
        # compared as floats (days are whole numbers far below 2**53); two nullable
        # Float64 copies of a million-record column cost more than the check itself
        expected = expected_study_day(df, dtc, rfstdtc).to_numpy(dtype=float, na_value=np.nan)
        actual = pd.to_numeric(df[dy], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(expected) & ~np.isnan(actual) & (actual != expected)
        return pd.Series(~bad, index=df.index)
    return check


def _per_subject(subjects: pd.Series, values: pd.Series) -> pd.Series:
    """``subjects.map(values)``, looked up once per distinct subject (by object first) and
    spread to the records, instead of hashing every record's USUBJID."""
    if subjects.dtype != object:
        return subjects.map(values)
    codes, uniques = _factorize(subjects)        # USUBJID's own checks numbered it already
    keys = pd.Series(np.append(uniques.to_numpy(), np.nan), dtype=object)
    table = keys.map(values).to_numpy()
    return pd.Series(table[np.where(codes < 0, len(keys) - 1, codes)], index=subjects.index,
                     copy=False)


def expected_study_day(df: pd.DataFrame, dtc: str, rfstdtc: pd.Series) -> pd.Series:
    ref = (_per_subject(df["USUBJID"], rfstdtc) if "USUBJID" in df
           else pd.Series(np.nan, index=df.index))
    return study_day(df[dtc].astype(object), ref.astype(object))


