"""Small numpy and pandas helpers shared across the package."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def filled(n: int, value) -> np.ndarray:
    """An object array of ``n`` copies of ``value`` (one shared object).

    numpy's ``full`` with ``dtype=object`` casts the scalar for every element: about 15
    times slower (0.1 s for 1.6 million rows, once per hard-coded TR variable) than
    filling an empty array.
    """
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


def without_attrs(series: pd.Series) -> pd.Series:
    """``series`` without the frame's attrs (labels, formats ...): pandas deep-copies attrs
    on every operation, which costs more than the operations on large columns."""
    if not series.attrs:
        return series
    out = series.copy(deep=False)
    out.attrs = {}
    return out


class MetadataDict(dict):
    """A dict of a frame's metadata for ``frame.attrs`` (labels, lengths, formats ...) whose
    values are immutable (text, numbers) or MetadataDicts themselves.

    pandas deep-copies ``attrs`` on every operation of a frame that has any
    (``NDFrame.__finalize__``): ``copy.deepcopy`` of an XPT file's labels, lengths and
    formats costs 0.2-0.5 ms, 20-50 times selecting a column of a small frame, so every
    derivation on a frame read from a file paid it per step. With immutable values a copy
    of the dict is a deep copy, and ``dict.copy`` is made in C."""

    __slots__ = ()

    def __deepcopy__(self, memo) -> "MetadataDict":
        return MetadataDict({k: (v.__deepcopy__(memo) if isinstance(v, MetadataDict) else v)
                             for k, v in self.items()})


def frame_of(columns: dict, like: pd.DataFrame, index=None) -> pd.DataFrame:
    """A frame of ``columns`` (name -> Series or array; not copied) on ``index`` (default
    ``like``'s), with a shallow copy of ``like``'s attrs: a data set rebuilt column by
    column (its text recoded, some columns left out) that keeps its file metadata."""
    out = type(like)(columns, index=like.index if index is None else index, copy=False)
    out.attrs = dict(like.attrs)
    return out


def with_columns(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``frame``'s ``columns`` in that order, those it lacks added as object columns of
    None (the output layout of a derivation whose record kinds fill different variables)."""
    missing = {c: None for c in columns if c not in frame.columns}
    return (frame.assign(**missing) if missing else frame)[list(columns)]


def value_ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value among the distinct ones in sorted order (equal values share a
    rank, also when two objects hold them; NaN last, all NaN one rank). Raises TypeError
    for values that do not compare."""
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    new = np.ones(len(ranked), dtype=bool)
    if len(ranked) > 1:
        same = ranked[1:] == ranked[:-1]
        if ranked.dtype.kind == "f":
            same |= np.isnan(ranked[1:]) & np.isnan(ranked[:-1])
        new[1:] = ~same
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.cumsum(new) - 1
    return ranks


def shared_text_ranks(*arrays) -> list[np.ndarray]:
    """Each array's values as their ranks among the distinct texts (``str``) of all the
    arrays together, in sorted order: values from different arrays then compare as their
    texts do (ISO 8601 days, ``YYYY-MM-DDThh:mm`` moments) but as integers, so many
    records are compared with a few reference values without comparing strings each time."""
    texts = [np.asarray(a).astype(str) for a in arrays]
    vocab = np.unique(np.concatenate(texts))
    return [np.searchsorted(vocab, t) for t in texts]


def code_dtype(count: int) -> np.dtype:
    """The smallest signed integer type for codes numbering ``count`` distinct values
    (``-1`` .. ``count - 1``) with room for ``codes + 1`` (missing shifted to 0): codes
    held per row of large data sets take 1 or 2 bytes a row instead of intp's 8."""
    for dtype in (np.int8, np.int16, np.int32):
        if count <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


#: combined keys stay below this bound: one more multiply-add cannot overflow int64
KEY_BOUND = 2**62


def combine_codes(parts, length: int, *, renumber: bool = False
                  ) -> tuple[np.ndarray, int] | None:
    """One int64 key per row from several parts, each (code per row, number of codes) with
    codes in ``0 .. number - 1``, first part first: a mixed-radix number, so rows get equal
    keys exactly when every part's codes are equal, and keys order as the parts do taken
    in turn. Returns (keys, number of possible keys); None as soon as a part is None (a
    column the caller could not number: the parts after it are not computed).

    When the combinations would reach :data:`KEY_BOUND`: None, or with ``renumber`` the
    keys made so far are replaced by their ranks among the distinct keys (order and
    equality kept; the number of possible keys is then no longer the product, so a caller
    decoding keys by ``divmod`` must not renumber). One integer per row is hashed or
    sorted once instead of once per column.
    """
    combined = np.zeros(length, dtype=np.int64)
    span = 1
    for part in parts:
        if part is None:
            return None
        codes, size = part
        size = max(int(size), 1)
        if span * size >= KEY_BOUND:
            if not renumber:
                return None
            distinct, combined = np.unique(combined, return_inverse=True)
            combined = combined.astype(np.int64, copy=False).reshape(-1)
            span = max(len(distinct), 1)
            if span * size >= KEY_BOUND:    # only past 2**31 rows
                raise OverflowError("too many combinations of codes for one 64-bit key")
        combined = combined * size + codes
        span *= size
    return combined, span


def order_by_ranks(length: int, keys) -> np.ndarray | None:
    """Row positions of one stable sort by several keys, each given as (rank per row,
    number of ranks), first key first; None when a key is None (the caller cannot rank
    it) or the combinations do not fit one 64-bit integer. One argsort of the combined
    key instead of one per column (np.lexsort): about twice as fast on six keys."""
    found = combine_codes(keys, length)
    if found is None:
        return None
    combined, _span = found
    return np.argsort(combined, kind="stable")
