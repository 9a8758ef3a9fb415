"""core.factorize numbers sorted columns run by run (only each run's first value hashed,
its code repeated along the run): the codes and first rows are those of hashing every
row, on hand-checked columns long enough for the run path to be taken."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.factorize import factorize_keys, factorize_values

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
