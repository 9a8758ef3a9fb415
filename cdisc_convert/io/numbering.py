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
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import code_dtype
from cdisc_convert.core.factorize import text_codes

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
