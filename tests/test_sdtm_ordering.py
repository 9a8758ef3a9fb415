"""The integer-key orderings of the SDTM derivations give what pandas' sorts and groupbys
give (they replaced them for speed: same records, same order, same numbers)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.sdtm.derive import derive_seq, sort_key, sorted_positions

FRAME = pd.DataFrame({
    "USUBJID": ["B", "A", "B", "A", "A", "B", "A"],
    # numeric text sorts as numbers ("10" after "9"), blanks and missing values last
    "VISITNUM": ["10", "9", "", "2", None, "10", "9"],
    "TESTCD": ["X", "Y", "X", "X", "Y", "A", "Y"],
    "NUM": [1.0, np.nan, 2.0, 0.5, 1.0, np.nan, -3.0],
})


@pytest.mark.parametrize("columns", [["USUBJID"], ["USUBJID", "VISITNUM"],
                                     ["USUBJID", "TESTCD", "NUM"], ["VISITNUM", "NUM"],
                                     ["NUM", "TESTCD"]])
def test_sorted_positions_are_the_stable_sort_with_sort_key(columns):
    expected = FRAME.sort_values(columns, kind="stable", key=sort_key).index.to_numpy()
    assert sorted_positions(FRAME, columns).tolist() == expected.tolist()


def test_sorted_positions_by_hand():
    # A before B; within A: 2 < 9 = 9 < missing (stable: rows 1 then 6), B: 10 = 10 < ""
    assert sorted_positions(FRAME, ["USUBJID", "VISITNUM"]).tolist() == [3, 1, 6, 4, 0, 5, 2]


def test_values_that_do_not_compare_fall_back():
    mixed = pd.DataFrame({"V": ["a", 1, "b"]})
    assert sorted_positions(mixed, ["V"]) is None


def test_derive_seq_numbers_each_subject_in_order():
    out = derive_seq(FRAME, name="XXSEQ", by=["USUBJID"], order=["VISITNUM", "TESTCD"])
    assert out["USUBJID"].tolist() == ["A", "A", "A", "A", "B", "B", "B"]
    assert out["VISITNUM"].tolist() == ["2", "9", "9", None, "10", "10", ""]
    assert out["TESTCD"].tolist() == ["X", "Y", "Y", "Y", "A", "X", "X"]
    assert out["XXSEQ"].tolist() == [1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("by", [["USUBJID"], ["VISITNUM"], ["USUBJID", "TESTCD"]])
def test_derive_seq_is_the_pandas_sort_and_cumcount(by):
    # VISITNUM as a group holds a blank and a missing value: pandas' own way is taken
    expected = FRAME.sort_values(by + ["NUM"], kind="stable", key=sort_key).reset_index(drop=True)
    expected["XXSEQ"] = expected.groupby(by, sort=False).cumcount().astype(float) + 1
    pd.testing.assert_frame_equal(derive_seq(FRAME, name="XXSEQ", by=by, order=["NUM"]),
                                  expected)


def test_sorted_positions_without_numeric_text_sort_as_text():
    expected = FRAME.sort_values(["VISITNUM", "USUBJID"], kind="stable").index.to_numpy()
    assert sorted_positions(FRAME, ["VISITNUM", "USUBJID"], numeric_text=False).tolist() \
        == expected.tolist()
    # "10" before "2" as text, missing last
    assert FRAME["VISITNUM"][expected].tolist()[:3] == ["", "10", "10"]


def test_earliest_and_latest_together_as_apart():
    from cdisc_convert.core.iso8601 import earliest_and_latest_dtc, earliest_dtc, latest_dtc

    dtc = pd.Series(["2014-01", "2014-01-05T10:00", "2014-01-05", "2013-12-31", "",
                     "2014", "2014-06-01T08:00", "2014-06-01T09:00", "bad"])
    by = pd.Series(["A", "A", "A", "B", "B", "C", "C", "C", "D"])
    first, last = earliest_and_latest_dtc(dtc, by=by)
    # A: the most precise of the dates tied on 2014-01, the date before the timed one
    assert first.to_dict() == {"A": "2014-01-05T10:00", "B": "2013-12-31",
                               "C": "2014-06-01T08:00", "D": ""}
    assert last.to_dict() == {"A": "2014-01-05T10:00", "B": "2013-12-31",
                              "C": "2014-06-01T09:00", "D": ""}
    pd.testing.assert_series_equal(first, earliest_dtc(dtc, by=by))
    pd.testing.assert_series_equal(last, latest_dtc(dtc, by=by))


def test_stable_order_of_the_writers_is_pandas_stable_sort():
    from cdisc_convert.io.folder import stable_order

    # equal texts held by distinct objects (string operations give one object per row),
    # missing values, numbers mixed with text (pandas' own way), floats with NaN
    texts = ["".join(["b", "x"]), "a", None, "".join(["b", "x"]), "", "a", np.nan]
    frame = pd.DataFrame({"T": texts, "N": [2.0, np.nan, 1.0, 1.0, 3.0, 2.0, 1.0],
                          "M": ["1", 1, "2", 1, "1", 2, "1"]})
    for columns in (["T"], ["T", "N"], ["N", "T"]):
        expected = frame.sort_values(columns, kind="stable").index.to_numpy()
        assert stable_order(frame, columns).tolist() == expected.tolist()
    # "" first, then a, a, bx, bx; missing last in row order
    assert stable_order(frame, ["T"]).tolist() == [4, 1, 5, 0, 3, 2, 6]
    mixed = stable_order(frame, ["M", "N"])
    assert mixed is None or mixed.tolist() == frame.sort_values(
        ["M", "N"], kind="stable").index.tolist()


def test_stable_order_of_a_column_of_missing_values():
    from cdisc_convert.io.folder import stable_order

    frame = pd.DataFrame({"A": [None, None, None], "B": ["y", "x", "y"]}, dtype=object)
    assert stable_order(frame, ["A", "B"]).tolist() == [1, 0, 2]


def test_key_positions_are_the_order_sort_by_keys_takes():
    """``run`` finds each domain's key order beside the conformance check and sorts with
    it later: the positions are the records in key order (keys, then --SEQ), and
    ``sort_by_keys`` given them sorts as it does alone; None where it takes none."""
    from cdisc_convert.io.folder import key_positions, sort_by_keys

    ae = pd.DataFrame({"STUDYID": ["S1"] * 4, "USUBJID": ["S1-2", "S1-1", "S1-2", "S1-1"],
                       "AEDECOD": ["Rash", "Nausea", "Fatigue", "Nausea"],
                       "AESTDTC": ["2024-01-02", "2024-01-05", "2024-01-03", "2024-01-01"],
                       "AESEQ": [2, 2, 1, 1]})
    positions = key_positions(ae, "AE")
    assert positions.tolist() == [3, 1, 2, 0]     # S1-1 Nausea 01-01, 01-05; S1-2 F, R
    pd.testing.assert_frame_equal(sort_by_keys(ae, "AE", positions=positions),
                                  sort_by_keys(ae, "AE"))
    assert sort_by_keys(ae, "AE")["AESEQ"].tolist() == [1, 2, 1, 2]
    assert key_positions(pd.DataFrame({"X": [2, 1]}), "AE") is None      # no key variable


def test_last_of_groups_takes_each_groups_last_row_with_missing_values_a_group():
    """As groupby(dropna=False).tail(1): the last row of each group of equal values,
    None and NaN one group, numbers by value (1 and 1.0 alike)."""
    from cdisc_convert.sdtm.derive import last_of_groups

    subject = np.array(["A", "B", "A", "A", "B", "A", "A"], dtype=object)
    position = np.array(["SITTING", None, np.nan, "SITTING", None, None, "STANDING"],
                        dtype=object)
    number = np.array([1, 2, 1.0, 3, 2, 1, 1])
    assert last_of_groups([subject, position]).tolist() == [3, 4, 5, 6]
    assert last_of_groups([subject, number]).tolist() == [3, 4, 6]
    assert last_of_groups([subject]).tolist() == [4, 6]
    frame = pd.DataFrame({"S": subject, "P": position})
    expected = frame.groupby(["S", "P"], sort=False, dropna=False).tail(1).index
    assert last_of_groups([subject, position]).tolist() == sorted(expected)
