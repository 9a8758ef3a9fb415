"""define.xml profiles each column once (cdisc_convert.define.profile.Column): text columns
are numbered by object first, then by value. Whatever objects hold the text, the codes and
distinct values are those of numbering every row by value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.define.profile import Column


def _fresh(text: str) -> str:
    """An equal string in a new object (as string operations make them)."""
    return "".join(list(text))


SHARED = ["a", "a", None, "b", "a", np.nan, "b"]
# hand-checked: codes by first appearance, -1 for None/NaN; first rows 0 (a), 2 (None), 3 (b)
CODES = [0, 0, -1, 1, 0, -1, 1]
DISTINCT_ROWS = [0, 2, 3]


@pytest.mark.parametrize("values", [
    SHARED,
    [_fresh(v) if isinstance(v, str) else v for v in SHARED],     # one object per row
    [_fresh(v) if isinstance(v, str) and i % 2 else v for i, v in enumerate(SHARED)],
])
def test_codes_and_distinct_values_follow_the_values_not_the_objects(values):
    column = Column(pd.Series(values, dtype=object))
    assert list(column.codes) == CODES
    assert list(column.distinct().index) == DISTINCT_ROWS
    assert list(column.distinct(np.array([3, 4, 5, 6])).index) == [3, 4, 5]


def test_a_column_read_out_of_a_two_dimensional_block_is_numbered_by_its_own_values():
    # a frame made from a 2-D array holds each column as a strided view of that array
    grid = np.array([["a", "x"], ["a", "y"], [None, "x"], ["b", "x"], ["a", "z"]],
                    dtype=object)
    frame = pd.DataFrame(grid, columns=["A", "B"], copy=False)
    assert not frame["A"].to_numpy().flags["C_CONTIGUOUS"]
    a, b = Column(frame["A"]), Column(frame["B"])
    assert list(a.codes) == [0, 0, -1, 1, 0] and list(a.distinct()) == ["a", None, "b"]
    assert list(b.codes) == [0, 1, 0, 0, 2] and list(b.distinct()) == ["x", "y", "z"]


def test_numbers_and_empty_columns():
    column = Column(pd.Series([2.5, np.nan, 2.5, 1.0]))
    assert list(column.codes) == [0, -1, 0, 1]
    assert list(column.distinct().index) == [0, 1, 3]
    empty = Column(pd.Series([], dtype=object))
    assert len(empty.codes) == 0 and empty.distinct().empty


def test_text_holding_nul_characters_keeps_its_values_apart():
    # pandas hashes plain text as C strings ending at a NUL ("a\x00b" == "a" there)
    values = ["a", "a\x00b", "a", "a\x00c"]     # all text: no None to make pandas exact
    column = Column(pd.Series(values, dtype=object))
    assert list(column.codes) == [0, 1, 0, 2]
    assert list(column.distinct()) == ["a", "a\x00b", "a\x00c"]
