"""Per-group picks and numbering on whole columns (numpy), for the ADaM derivations.

``sort_values`` + ``groupby().head(1)`` and ``groupby().apply`` copy every column of the
frame to find a handful of row positions, and run Python per group. These helpers sort
only the key columns (one stable ``np.lexsort``) and return row positions, with the
semantics of pandas' stable ``sort_values`` (missing values last, ties in row order).
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import order_by_ranks
# pd.factorize's numbering with text numbered by object first, exact: one home for the
# derivations here and the report's tables
from cdisc_convert.core.factorize import factorize

__all__ = ["factorize", "merge_subjects", "sort_key", "group_codes", "sorted_positions", "pick_per_group",
           "number_in_groups", "ties_in_row_order"]

Key = Union[str, np.ndarray, pd.Series]


def merge_subjects(frame: pd.DataFrame, subjects: pd.DataFrame, *, how: str) -> pd.DataFrame:
    """``frame.merge(subjects, on="USUBJID", how=how)`` ("inner" or "left", validated
    many-to-one) when ``subjects`` (e.g. ADSL columns) has one row per USUBJID: each
    distinct USUBJID of ``frame`` is looked up once (numbered by object, not hashed per
    record) and the ``subjects`` columns are taken by position. Anything else the merge
    decides itself (a subject twice, a column in both, a left record without subject)."""
    validate = "m:1" if how == "left" else None
    if (set(frame.columns) & set(subjects.columns)) - {"USUBJID"} \
            or subjects["USUBJID"].duplicated().any():
        return frame.merge(subjects, on="USUBJID", how=how, validate=validate)
    codes, distinct = factorize(frame["USUBJID"].to_numpy())
    found = pd.Index(subjects["USUBJID"].to_numpy()).get_indexer(distinct)
    row = np.where(codes >= 0, np.append(found, -1)[codes], -1)
    if how == "left" and (row < 0).any():
        return frame.merge(subjects, on="USUBJID", how=how, validate=validate)
    kept = np.flatnonzero(row >= 0)
    out = frame.take(kept).reset_index(drop=True) if len(kept) < len(frame) \
        else frame.reset_index(drop=True)
    for column in subjects.columns.drop("USUBJID"):
        out[column] = subjects[column].iloc[row[kept]].reset_index(drop=True)  # dtype kept
    return out


def sort_key(values) -> np.ndarray:
    """Integer codes that sort like ``values`` under pandas' ``sort_values``: equal values
    share a code, missing values (None, NaN, NaT) get the highest code (sorted last)."""
    values = np.asarray(values)
    if values.dtype.kind in "iu" and len(values):
        low, high = int(values.min()), int(values.max())
        if low >= 0 and high <= 2 * len(values):
            # small non-negative integers (group codes): ranks by counting, no hashing
            present = np.bincount(values, minlength=high + 1) > 0
            return (np.cumsum(present) - 1)[values].astype(np.int64)
    if values.dtype == object:
        ranks = _object_ranks(values)
        if ranks is not None:
            return ranks
    codes, uniques = pd.factorize(values, sort=True)
    codes = codes.astype(np.int64, copy=False)
    codes[codes < 0] = len(uniques)
    return codes


def _object_ranks(values: np.ndarray) -> np.ndarray | None:
    """:func:`sort_key` of an object array with its values numbered by object first (a
    column repeats a few values, mostly as the same objects) and only the distinct values
    sorted, by Python's comparison as pd.factorize(sort=True) sorts them. None (pandas
    decides) for values that do not compare (text and numbers) and for text holding a NUL,
    which pandas' hashing takes as ending there."""
    codes, uniques = factorize(values)
    uniques = np.asarray(uniques, dtype=object)
    if any(isinstance(u, str) and "\x00" in u for u in uniques):
        return None
    try:
        by_value = np.argsort(uniques, kind="stable")
    except TypeError:
        return None
    ranks = np.empty(len(uniques) + 1, dtype=np.int64)
    ranks[by_value] = np.arange(len(uniques))
    ranks[-1] = len(uniques)              # code -1 (missing): sorted last
    return ranks[codes]


def _keys(frame: pd.DataFrame, keys: Sequence[Key], rows: np.ndarray | None) -> list[np.ndarray]:
    out = []
    for key in keys:
        values = frame[key].to_numpy() if isinstance(key, str) else np.asarray(key)
        out.append(sort_key(values if rows is None else values[rows]))
    return out


def _stable_order(n: int, keys: list[np.ndarray]) -> np.ndarray:
    """Positions in the stable sort order of the ``sort_key`` codes ``keys`` (first key
    first): one argsort of the codes combined into one integer (core.arrays, the stable
    sort the SDTM writer and --SEQ use too), np.lexsort when they do not fit 64 bits."""
    order = order_by_ranks(n, [(k, int(k.max(initial=-1)) + 1) for k in keys])
    if order is None:
        order = np.lexsort(list(reversed(keys)))
    return order


def group_codes(frame: pd.DataFrame, by: Sequence[Key]) -> tuple[np.ndarray, int]:
    """(code per row, number of groups) of the combinations of the ``by`` columns (names or
    arrays aligned with ``frame``); codes follow the sorted order of the combinations and a
    missing key value is a value of its own."""
    keys = _keys(frame, by, None)
    if not keys:
        return np.zeros(len(frame), dtype=np.int64), int(len(frame) > 0)
    code = keys[0]
    for key in keys[1:]:
        code = code * (int(key.max(initial=0)) + 1) + key
        code = sort_key(code)   # renumber densely: the product cannot overflow
    return code, int(code.max(initial=-1)) + 1


def sorted_positions(frame: pd.DataFrame, keys: Sequence[Key],
                     rows: np.ndarray | None = None) -> np.ndarray:
    """Positions (of ``rows``, default all) in the stable sort order of ``keys``: pandas'
    ``sort_values(keys, kind="stable")`` without moving any column."""
    rows = np.arange(len(frame)) if rows is None else np.asarray(rows)
    if len(rows) == 0 or not keys:
        return rows
    return rows[_stable_order(len(rows), _keys(frame, keys, rows))]


def pick_per_group(frame: pd.DataFrame, mask, by: Sequence[Key], order: Sequence[Key], *,
                   last: bool = False) -> np.ndarray:
    """Positions of one row per ``by`` group among the rows where ``mask``: the first (or
    ``last``) in the stable order of ``order`` (missing last, ties in row order) — what
    ``frame[mask].sort_values([*by, *order], kind="stable").groupby(by).head(1)`` (or
    ``tail(1)``) keeps, but ``by`` values that are missing form a group of their own."""
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(rows) == 0:
        return rows
    group = _keys(frame, by, rows)
    srt = _stable_order(len(rows), [*group, *_keys(frame, order, rows)])
    change = np.zeros(len(srt), dtype=bool)
    for key in group:
        ordered = key[srt]
        change[1:] |= ordered[1:] != ordered[:-1]
    if last:
        picked = np.r_[np.flatnonzero(change[1:]), len(srt) - 1]
    else:
        change[0] = True
        picked = np.flatnonzero(change)
    return rows[srt[picked]]


def number_in_groups(codes: np.ndarray) -> np.ndarray:
    """1, 2, 3 ... within each run of equal ``codes`` (rows already in group order):
    ``groupby(...).cumcount() + 1`` of a sorted frame, as floats (ASEQ)."""
    n = len(codes)
    if n == 0:
        return np.zeros(0)
    start = np.ones(n, dtype=bool)
    start[1:] = codes[1:] != codes[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return (np.arange(n) - first + 1).astype(float)


def ties_in_row_order(order: np.ndarray, keys: Sequence[np.ndarray]) -> bool:
    """Whether the rows ``order`` puts next to each other with equal values in every one of
    ``keys`` (arrays aligned with the rows before ``order``; missing values equal to each
    other, as :func:`sort_key` codes them) are in their row order there: then any pick
    whose ties fall within such rows and go by row order picks the same row before and
    after the rows are moved to ``order``."""
    if len(order) < 2:
        return True
    same = np.ones(len(order) - 1, dtype=bool)
    for key in keys:
        key = np.asarray(key)
        # datetimes by their integers (NaT == NaT), anything else by its sort codes
        key = key.view(np.int64) if key.dtype.kind in "mM" else sort_key(key)
        moved = key[order]
        same &= moved[1:] == moved[:-1]
    return bool((order[1:][same] > order[:-1][same]).all())
