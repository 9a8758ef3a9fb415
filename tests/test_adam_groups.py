"""The per-group helpers of the ADaM derivations (cdisc_convert.adam.groups) on tiny tables
worked out by hand, and what the BDS derivations built on them promise."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.adam.bds import derive_var_base, derive_var_worst_flag
from cdisc_convert.adam.groups import (factorize, group_codes, merge_subjects,
                                       number_in_groups, pick_per_group, sort_key,
                                       sorted_positions, ties_in_row_order)
from cdisc_convert.core.errors import InputError
from cdisc_convert.core.factorize import isin_distinct

# rows 0-6: subject B before A on purpose; A/X has a tie on DAY (rows 1 and 3) and a
# missing DAY (row 5); B/X a missing SEQ (row 2)
FRAME = pd.DataFrame({
    "USUBJID": ["B", "A", "B", "A", "A", "A", "B"],
    "PARAMCD": ["X", "X", "X", "X", "Y", "X", "Y"],
    "DAY": [3.0, 2.0, 3.0, 2.0, 1.0, np.nan, 5.0],
    "SEQ": [2.0, 5.0, np.nan, 4.0, 1.0, 9.0, 1.0],
    "DT": pd.to_datetime(["2020-01-03", None, "2020-01-01", "2020-01-02", "2020-01-01",
                          "2020-01-05", "2020-01-02"]),
})


def test_sort_key_orders_like_pandas_with_missing_last():
    assert sort_key(np.array([3.0, np.nan, 1.0, 3.0])).tolist() == [1, 2, 0, 1]
    assert sort_key(np.array(["b", None, "a"], dtype=object)).tolist() == [1, 2, 0]
    assert sort_key(FRAME["DT"].to_numpy()).tolist() == [2, 4, 0, 1, 0, 3, 1]
    # small non-negative integers (group codes) are ranked by counting: the same ranks,
    # gaps closed; a wide range or negative values take the hashing path, same answer
    assert sort_key(np.array([5, 0, 5, 2])).tolist() == [2, 0, 2, 1]
    assert sort_key(np.array([9, 0, 9, 2])).tolist() == [2, 0, 2, 1]
    assert sort_key(np.array([-1, 7, -1])).tolist() == [0, 1, 0]


def _copies(*texts):
    """Object array holding a new string object per entry (equal text, distinct objects),
    as frames built by string operations hold them."""
    return np.array([t.encode().decode() if isinstance(t, str) else t for t in texts],
                    dtype=object)


def test_factorize_gives_pandas_codes_and_values():
    # "b" twice as two objects, missing values as None and NaN
    values = _copies("b", None, "a", "b", np.nan, "")
    codes, uniques = factorize(values)
    assert codes.tolist() == [0, -1, 1, 0, -1, 2] and uniques.tolist() == ["b", "a", ""]
    codes, uniques = factorize(values, sort=True)
    assert codes.tolist() == [2, -1, 1, 2, -1, 0] and uniques.tolist() == ["", "a", "b"]
    # a missing value as a value of its own: numbered where it first appears (NaN, as
    # pandas gives it), or last when sorted
    codes, uniques = factorize(values, use_na_sentinel=False)
    assert codes.tolist() == [0, 1, 2, 0, 1, 3]
    assert uniques[0] == "b" and np.isnan(uniques[1]) and uniques[2:].tolist() == ["a", ""]
    codes, uniques = factorize(values, sort=True, use_na_sentinel=False)
    assert codes.tolist() == [2, 3, 1, 2, 3, 0] and uniques[:3].tolist() == ["", "a", "b"]
    # numbers and non-text objects go to pandas: equal values, one code
    assert factorize(np.array([1.0, 2.0, 1.0])).__getitem__(0).tolist() == [0, 1, 0]
    assert factorize(np.array([10**20, 10**20 + 0, 5], dtype=object))[0].tolist() == [0, 0, 1]
    # text holding NUL is kept apart (pandas would number "a\x00b" as "a")
    assert factorize(_copies("a", "a\x00b", "a"))[0].tolist() == [0, 1, 0]


def test_merge_subjects_is_the_many_to_one_merge():
    records = pd.DataFrame({"USUBJID": _copies("B", "A", "C", "B"), "X": [1, 2, 3, 4]},
                           index=[10, 11, 12, 13])
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TRTSDT": pd.to_datetime(["2020-01-01",
                                                                          "2020-02-01"]),
                         "ARM": pd.Categorical(["P", "Q"])})
    inner = merge_subjects(records, adsl, how="inner")
    # C has no ADSL record: dropped; order and the ADSL columns' dtypes kept
    assert inner["X"].tolist() == [1, 2, 4] and inner.index.tolist() == [0, 1, 2]
    assert inner["TRTSDT"].dt.month.tolist() == [2, 1, 2]
    assert inner["ARM"].dtype == "category" and inner["ARM"].tolist() == ["Q", "P", "Q"]
    pd.testing.assert_frame_equal(inner, records.merge(adsl, on="USUBJID", how="inner"))
    # a left merge with a record of a subject ADSL lacks: what the merge gives (NaT)
    left = merge_subjects(records, adsl, how="left")
    assert left["TRTSDT"].isna().tolist() == [False, False, True, False]
    # a subject twice in ADSL: refused as the validated merge refuses it
    with pytest.raises(pd.errors.MergeError):
        merge_subjects(records, pd.concat([adsl, adsl]), how="left")


def test_group_codes_number_the_sorted_combinations():
    codes, n = group_codes(FRAME, ["USUBJID", "PARAMCD"])
    # A/X = 0, A/Y = 1, B/X = 2, B/Y = 3
    assert n == 4 and codes.tolist() == [2, 0, 2, 0, 1, 0, 3]
    codes, n = group_codes(FRAME, [])
    assert n == 1 and codes.tolist() == [0] * 7


def test_sorted_positions_is_a_stable_sort_with_missing_last():
    # by USUBJID, DAY: A rows 1, 3 (DAY 2, tie kept in row order), 4 (DAY 1)... sorted:
    # A: 4 (1.0), 1 (2.0), 3 (2.0), 5 (NaN); B: 0 (3.0), 2 (3.0), 6 (5.0)
    assert sorted_positions(FRAME, ["USUBJID", "DAY"]).tolist() == [4, 1, 3, 5, 0, 2, 6]
    expected = FRAME.sort_values(["USUBJID", "DAY"], kind="stable").index.tolist()
    assert sorted_positions(FRAME, ["USUBJID", "DAY"]).tolist() == expected
    # only some rows, keys given as an array aligned with the frame
    assert sorted_positions(FRAME, [-FRAME["DAY"].to_numpy()], rows=[0, 1, 6]).tolist() == [6, 0, 1]


def test_pick_per_group_first_and_last():
    mask = np.ones(len(FRAME), dtype=bool)
    by = ["USUBJID", "PARAMCD"]
    # first by DAY then SEQ: A/X rows 1 (DAY 2, SEQ 5) and 3 (DAY 2, SEQ 4) -> 3;
    # A/Y 4; B/X rows 0 (SEQ 2), 2 (SEQ missing, last) -> 0; B/Y 6
    assert sorted(pick_per_group(FRAME, mask, by, ["DAY", "SEQ"]).tolist()) == [0, 3, 4, 6]
    # last: A/X row 5 (DAY missing sorts last); B/X row 2
    assert sorted(pick_per_group(FRAME, mask, by, ["DAY", "SEQ"], last=True).tolist()) == [2, 4, 5, 6]
    # only rows with a DAY; an order key given as an array (the highest DAY first)
    has_day = FRAME["DAY"].notna().to_numpy()
    picked = pick_per_group(FRAME, has_day, by, [-FRAME["DAY"].to_numpy(), "DT"])
    # A/X: rows 1 and 3 tie on DAY, DT of row 1 is missing (last) -> 3; B/X: rows 0 and 2
    # tie on DAY, row 2 has the earlier DT -> 2
    assert sorted(picked.tolist()) == [2, 3, 4, 6]
    assert pick_per_group(FRAME, np.zeros(7, dtype=bool), by, ["DAY"]).tolist() == []


def test_number_in_groups_counts_within_runs():
    assert number_in_groups(np.array([0, 0, 0, 2, 2, 5])).tolist() == [1, 2, 3, 1, 2, 1]
    assert number_in_groups(np.array([], dtype=np.int64)).tolist() == []


def test_base_spreads_the_baseline_value_and_refuses_two_baselines():
    bds = FRAME.assign(ABLFL=["", "Y", "Y", "", "", "", ""], AVAL=[10.0, 20, 30, 40, 50, 60, 70],
                       AVALC=["a", "b", "c", "d", "e", "f", "g"])
    out = derive_var_base(bds)
    # A/X baseline row 1 (20), B/X row 2 (30); the Y parameters have none
    assert out["BASE"].tolist()[:4] == [30.0, 20.0, 30.0, 20.0]
    assert np.isnan(out["BASE"].iloc[4]) and np.isnan(out["BASE"].iloc[6])
    text = derive_var_base(bds, source="AVALC", new_var="BASEC")["BASEC"]
    assert text.tolist()[:4] == ["c", "b", "c", "b"] and pd.isna(text.iloc[4])
    assert "BASE" not in bds      # the input frame is not changed
    twice = bds.assign(ABLFL=["", "Y", "Y", "Y", "", "", ""])
    with pytest.raises(InputError, match="A X has more than one baseline"):
        derive_var_base(twice)


def test_worst_flag_on_text_grades_takes_the_highest_and_the_earliest_tie():
    bds = pd.DataFrame({"USUBJID": ["1"] * 4 + ["2"] * 2, "PARAMCD": "NEUT",
                        "ADT": pd.to_datetime(["2020-01-04", "2020-01-02", "2020-01-03",
                                               "2020-01-01", "2020-01-01", "2020-01-02"]),
                        "ONTRTFL": ["Y", "Y", "Y", "", "Y", "Y"],
                        "ATOXGRL": ["2", "3", "3", "4", "", "0"]})
    out = derive_var_worst_flag(bds, new_var="WGRLOFL", order_var="ATOXGRL",
                                worst={"NEUT": "high"})
    # subject 1: grade 4 is off treatment; grade 3 twice -> the earlier (row 1);
    # subject 2: the only graded record (row 5)
    assert out["WGRLOFL"].tolist() == ["", "Y", "", "", "", "Y"]


def test_as_datetime_keeps_dates_and_parses_text():
    from cdisc_convert.adam.imputation import as_datetime

    dates = pd.Series(pd.to_datetime(["2020-01-02", None]))
    assert as_datetime(dates) is dates
    parsed = as_datetime(pd.Series(["2020-01-02", None]))
    assert parsed.dtype.kind == "M" and parsed.iloc[0] == pd.Timestamp("2020-01-02")
    assert pd.isna(parsed.iloc[1])


def test_adex_summary_keeps_none_for_the_missing_avalc():
    """The summary's text columns come out as before the concat shortcut: None, not NaN."""
    from cdisc_convert.adam.adex import ExposureTreatment, derive_exposure_summary

    records = pd.DataFrame({"USUBJID": ["1", "1", "2"], "ASTDT": pd.to_datetime(
        ["2020-01-01", "2020-01-22", "2020-01-05"]), "AENDT": pd.to_datetime(
        ["2020-01-01", "2020-01-22", "2020-01-05"]), "DOSEA": [100.0, 80.0, 100.0],
        "DOSEP": 100.0, "DOSCUMP": [100.0, 200.0, 100.0], "CRIT1FL": ["N", "Y", "N"],
        "DOSRED": [None, "Y", None], "EXADJ": [None, "AE", None],
        "_RECEIVED": [100.0, 80.0, 100.0], "_DAYS": 1.0, "_UNIT": "mg"})
    out = derive_exposure_summary(records, ExposureTreatment(extrt="X", code="X", label="X",
                                                             planned=100.0, cycle_days=21))
    by = out.set_index(["USUBJID", "PARAMCD"])
    assert by.loc[("1", "XRDFL"), "AVALC"] == "Y" and by.loc[("2", "XRDFL"), "AVALC"] == "N"
    assert by.loc[("1", "XFRED"), "AVALC"] == "AE"
    assert by.loc[("1", "XCUMD"), "AVALC"] is None
    assert list(out.columns[:5]) == ["USUBJID", "PARAMCD", "PARAM", "PARCAT1", "PARCAT2"]


def test_ties_in_row_order_looks_at_rows_equal_on_every_key_only():
    """Hand-checked: rows 0 and 2 are equal on both keys (missing dates count as equal)."""
    group = np.array([0, 1, 0, 1])
    day = np.array(["NaT", "2020-01-01", "NaT", "2020-01-02"], dtype="datetime64[ns]")
    assert ties_in_row_order(np.array([0, 2, 1, 3]), [group, day])
    assert not ties_in_row_order(np.array([2, 0, 1, 3]), [group, day])
    # rows 1 and 3 differ in day: their order is free
    assert ties_in_row_order(np.array([0, 2, 3, 1]), [group, day])
    assert ties_in_row_order(np.array([2, 0, 1, 3]), [group]) is False
    assert ties_in_row_order(np.array([0]), [group[:1]])


def test_isin_distinct_is_pandas_isin_value_by_value():
    """Hand-checked: missing values and other types are not in the list of texts."""
    values = np.array(["Y", None, "N", "Y", np.nan, "", 1], dtype=object)
    assert isin_distinct(values, ["Y"]).tolist() == [True, False, False, True, False, False, False]
    assert isin_distinct(values, ["N", ""]).tolist() == [False, False, True, False, False, True,
                                                     False]
    assert isin_distinct(np.array([1.0, 2.0]), [2.0]).tolist() == [False, True]
    assert isin_distinct(np.array([], dtype=object), ["Y"]).tolist() == []


def test_first_per_subject_missing_order_values_sort_outside():
    """Hand-checked: per subject the first record by date (missing last) or the last
    (missing first: the latest dated one); ties in row order."""
    from cdisc_convert.adam.adsl import _first_per_subject

    frame = pd.DataFrame({"USUBJID": ["B", "A", "A", "A", "B"],
                          "D": pd.to_datetime(["2020-01-05", None, "2020-01-02",
                                               "2020-01-02", None]),
                          "N": [1, 2, 3, 4, 5]})
    first = _first_per_subject(frame, ["D"]).set_index("USUBJID")["N"].to_dict()
    last = _first_per_subject(frame, ["D"], last=True).set_index("USUBJID")["N"].to_dict()
    assert first == {"A": 3, "B": 1}
    assert last == {"A": 4, "B": 1}


def test_sort_key_of_text_numbers_equal_values_alike_whatever_their_objects():
    """Hand-checked: "b" as two different objects shares a code, missing values (None,
    NaN) sort last; text with a NUL and text mixed with numbers keep pandas' codes."""
    b1, b2 = "".join(["b"]), "".join(["", "b"])
    assert b1 is not b2
    values = np.array([b1, "a", None, b2, "c", np.nan], dtype=object)
    assert sort_key(values).tolist() == [1, 0, 3, 1, 2, 3]
    for odd in (np.array(["a\x00x", "a", "b"], dtype=object),
                np.array(["x", 1, None], dtype=object)):
        codes, uniques = pd.factorize(odd, sort=True)
        assert sort_key(odd).tolist() == np.where(codes < 0, len(uniques), codes).tolist()
