"""core.factorize numbers sorted columns run by run (only each run's first value hashed,
its code repeated along the run): the codes and first rows are those of hashing every
row, on hand-checked columns long enough for the run path to be taken."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.factorize import (factorize_keys, factorize_values, key_firsts,
                                          object_firsts)

# runs of 10: 5, 3, 5, 7 -> codes 0, 1, 0, 2 by first appearance; first rows 0, 10, 30
RUNS = [5] * 10 + [3] * 10 + [5] * 10 + [7] * 10
CODES = [0] * 10 + [1] * 10 + [0] * 10 + [2] * 10


def test_integer_runs_get_the_codes_and_first_rows_of_hashing_every_row():
    codes, first = factorize_keys(np.array(RUNS, dtype=np.int64))
    assert codes.tolist() == CODES
    assert first.tolist() == [0, 10, 30]


@pytest.mark.parametrize("tail", [[], [3], [9, 9]])
def test_text_runs_get_the_codes_and_values_of_hashing_every_row(tail):
    values = np.array([f"v{v}" for v in RUNS + tail], dtype=object)
    codes, uniques = factorize_values(values)
    expected_codes, expected_uniques = pd.factorize(values)
    assert codes.tolist() == expected_codes.tolist()
    assert codes.tolist()[:40] == CODES
    assert uniques.tolist() == list(expected_uniques)


@pytest.mark.parametrize("keys, first", [
    (RUNS, [0, 10, 30]),                           # long runs: from the run starts
    ([4, 2, 4, 9, 2, 9], [0, 1, 3]),               # short runs: every key hashed
    ([1, 1, 2, 2, 1, 1, 3, 3, 3, 3], [0, 2, 6]),   # half as many runs as rows: starts
    ([7], [0]), ([], [])])
def test_key_firsts_are_the_first_rows_of_factorize_keys(keys, first):
    keys = np.array(keys, dtype=np.int64)
    assert key_firsts(keys).tolist() == first
    if len(keys):
        assert key_firsts(keys).tolist() == factorize_keys(keys)[1].tolist()


def test_object_firsts_tell_rows_apart_by_object():
    a, b = "xy", "".join(["x", "y"])      # equal text, two objects
    assert a == b and a is not b
    values = np.array([a] * 10 + [b] * 10 + [a] * 10 + ["z"] * 10, dtype=object)
    assert object_firsts(values).tolist() == [0, 10, 30]
    assert object_firsts(values[::2]).tolist() == [0, 5, 15]    # a strided view too
    assert object_firsts(np.array([], dtype=object)).tolist() == []
