"""Text columns numbered once for every format a data set is written in.

The XPT, CSV and Dataset-JSON writers each number a text column's distinct values
(:func:`~cdisc_convert.core.factorize.text_codes`: a hash per row, the largest per-row
step of each writer). ``cdisc-convert run`` writes every data set in all three formats
from one frame, so within :func:`shared_numbering` a column is numbered by the first
writer and the others get its codes and distinct values.

A column is known by the memory holding its values (address, length, stride), which the
writers' frames share (shallow copies of one frame); the memo holds the values array, so
that memory cannot be reused by another column while the memo lives. Codes are kept in
the smallest integer type that holds them (``core.arrays.code_dtype``: mostly 1 or 2
bytes a row, where every text column of the data set is held until the last format is
written) and must not be changed by the writers.

:func:`compact_text` holds a frame's text as those codes (a categorical per column, 1-2
bytes a row instead of an 8-byte pointer to a string object): what a forked writer of
``run`` keeps of the data sets its parent also holds. Every format is written from it
byte for byte as from the object columns (a test compares the files).
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import code_dtype, frame_of
from cdisc_convert.core.factorize import (categorical_codes, factorize_objects,
                                          mark_first_appearance, text_codes)
from cdisc_convert.core.memory import release_free_memory

_MEMO: ContextVar[dict | None] = ContextVar("shared_text_codes", default=None)


@contextlib.contextmanager
def shared_numbering():
    """Within the block, :func:`column_codes` numbers each text column once."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def column_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of a text column as
    :func:`~cdisc_convert.core.factorize.text_codes` gives them (-1: missing), numbered
    once within :func:`shared_numbering` (object columns; other storages are numbered
    by their own structure, cheaply), in the smallest integer type that holds them and
    ``codes + 1`` (``core.arrays.code_dtype``): a writer holds every text column's codes
    while it writes the data set."""
    held = categorical_codes(series)
    if held is not None:        # compact_text's columns: their own codes, not a copy
        return held
    memo = _MEMO.get()
    if memo is None or series.dtype != object:
        return _narrow(*text_codes(series))
    values = series.to_numpy()
    key = (values.__array_interface__["data"][0], values.shape, values.strides)
    known = memo.get(key)
    if known is not None:
        return known[1], known[2]
    codes, uniques = _narrow(*text_codes(series))
    memo[key] = (values, codes, uniques)
    return codes, uniques


def _narrow(codes: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return codes.astype(code_dtype(len(uniques)), copy=False), uniques


def compact_text(frame: pd.DataFrame, positions: np.ndarray | None = None) -> pd.DataFrame:
    """``frame`` (a shallow copy, attrs kept) with each object column of text held as a
    categorical: its distinct values numbered by first appearance (equal strings, one
    code; missing: -1), which :func:`~cdisc_convert.core.factorize.text_codes` reads back
    without hashing. Object columns holding anything but text and missing values, and
    columns of other types, are kept as they are. ``positions``: the rows to take, in
    that order (``frame.take(positions)`` with a new RangeIndex), one text column at a
    time, so that a reordered copy of the text objects is never held whole."""
    if not frame.columns.is_unique:     # not a data set (the writers refuse it)
        return frame if positions is None else frame.take(positions).reset_index(drop=True)
    index = frame.index if positions is None else pd.RangeIndex(len(positions))
    columns = {}
    changed = positions is not None
    for name, series in frame.items():
        if series.dtype == object:
            values = series.to_numpy()
            if positions is not None:
                values = values.take(positions)
            codes, uniques = factorize_objects(values, exact=True)
            if pd.api.types.infer_dtype(uniques, skipna=False) in ("string", "empty"):
                held = pd.Categorical.from_codes(
                    codes.astype(code_dtype(len(uniques)), copy=False),
                    dtype=pd.CategoricalDtype(pd.Index(uniques, dtype=object)), validate=False)
                mark_first_appearance(held)
                series = pd.Series(held, index=index, name=name, copy=False)
                changed = True
            elif positions is not None:
                series = pd.Series(values, index=index, name=name, copy=False)
            del values
        elif positions is not None:
            series = pd.Series(series.array.take(positions), index=index, name=name,
                               copy=False)
        columns[name] = series
    return frame_of(columns, frame, index) if changed else frame


def compact_datasets(datasets: dict[str, pd.DataFrame]) -> None:
    """Each frame of ``datasets`` replaced by :func:`compact_text` of it, one at a time,
    and its object arrays given back before the next frame is numbered.

    In a forked child whose parent holds the same frames this is what it costs: NumPy
    clears an object array it frees (a NULL written over each pointer), so each array is
    copied (copy-on-write) before it goes; one frame's, given back at once, not all."""
    for name in list(datasets):
        datasets[name] = compact_text(datasets[name])
        release_free_memory(collect=False)


def expand_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a shallow copy, attrs kept) with each categorical column of text held as
    an object array of its values (missing: NaN), one str object per distinct value as
    ``read_xpt`` gives: the inverse of :func:`compact_text`, for steps that work on text
    as objects (the report)."""
    if not frame.columns.is_unique:     # not a data set (compact_text leaves it so)
        return frame
    columns = {}
    changed = False
    for name, series in frame.items():
        if isinstance(series.dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(
                series.dtype.categories, skipna=False) in ("string", "empty"):
            series = series.astype(object)
            changed = True
        columns[name] = series
    return frame_of(columns, frame) if changed else frame
