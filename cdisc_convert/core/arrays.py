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


def with_columns(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``frame``'s ``columns`` in that order, those it lacks added as object columns of
    None (the output layout of a derivation whose record kinds fill different variables)."""
    missing = {c: None for c in columns if c not in frame.columns}
    return (frame.assign(**missing) if missing else frame)[list(columns)]
