"""Control characters in raw values are found exactly, row by row (io.raw)."""
from __future__ import annotations

import pandas as pd

from cdisc_convert.io.raw import control_characters


def test_a_nul_after_a_value_seen_before_is_found_on_its_own_row():
    # "Yes\x00" after "Yes": pandas' unique/isin take them for one value (C strings end at
    # the NUL), which hid the NUL and would have flagged the clean rows instead
    frame = pd.DataFrame({"__row": [2, 3, 4, 5, 6],
                          "AESER": ["Yes", "Yes\x00", "No", "Yes", "a\tb"]})
    found = {hard: (column, rows.tolist(), values.tolist())
             for column, rows, values, hard in control_characters(frame)}
    assert found == {True: ("AESER", [3], ["Yes\x00"]), False: ("AESER", [6], ["a\tb"])}
    clean = frame.assign(AESER=["Yes", "Yes", "No", "Yes", "ab"])
    assert control_characters(clean) == []
