"""The conformance predicates' fast paths (all-text distinct values, the study day compared
as floats, RFSTDTC looked up per distinct subject) find what the general paths find, on
hand-checked tables."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.conformance.predicates import (FACTORIZED, _blank_distinct, _distinct_text,
                                                  _utf8_lengths, expected_study_day,
                                                  length_ok, member_or_blank, not_blank,
                                                  study_day_ok)


def test_blank_distinct_values_of_text_and_of_mixed_values():
    text = pd.Series(["", " ", "\t\n", "\u00a0", "a", " b "], dtype=object)
    assert _blank_distinct(text).tolist() == [True, True, True, True, False, False]
    # a number among the values: not blank, and the text ones still judged
    mixed = pd.Series(["", 3, " x", "  "], dtype=object)
    assert _blank_distinct(mixed).tolist() == [True, False, False, True]


def test_utf8_lengths_count_bytes_of_text_and_zero_for_other_values():
    values = pd.Series(["abc", "é" * 60, ""], dtype=object)
    assert _utf8_lengths(values).tolist() == [3, 120, 0]
    assert _utf8_lengths(pd.Series(["ab", 12.5], dtype=object)).tolist() == [2, 0]


def test_study_day_compared_whatever_the_column_holds():
    rfstdtc = pd.Series({"S-1": "2014-01-02", "S-2": "2014-03-10"})
    frame = pd.DataFrame({"USUBJID": ["S-1", "S-1", "S-2", "S-3", "S-2"],
                          "AESTDTC": ["2014-01-02", "2014-01-10", "2014-03-09", "2014-01-01",
                                      "2014-03"]})
    # S-3 has no RFSTDTC and row 4 a partial date: no expected day
    expected = expected_study_day(frame, "AESTDTC", rfstdtc)
    assert expected.tolist()[:3] == [1, 9, -1] and expected.isna().tolist()[3:] == [True, True]
    for days in ([1.0, 8.0, -1.0, 5.0, 7.0], pd.array([1, 8, -1, 5, 7], dtype="Int64"),
                 pd.Series(["1", "8", "-1", "5", "7"], dtype=object)):
        ok = study_day_ok("AESTDY", "AESTDTC", rfstdtc)(frame.assign(AESTDY=days))
        assert ok.tolist() == [True, False, True, True, True]
    # a missing or non-numeric day is not compared
    ok = study_day_ok("AESTDY", "AESTDTC", rfstdtc)(
        frame.assign(AESTDY=pd.Series([np.nan, "x", 3.0, 1.0, 1.0], dtype=object)))
    assert ok.tolist() == [True, True, False, True, True]


def test_distinct_text_objects_and_one_outcome_for_every_record():
    """A column's distinct text objects (missing values apart) decide a check alone when
    they give every record one outcome; a failing value is still placed on its rows."""
    a, b = "".join(["Y", "ES"]), "".join(["Y", "ES"])        # equal text, two objects
    column = pd.Series([a, "NO", None, b, "NO"], dtype=object)
    present, missing = _distinct_text(column)
    assert present.tolist() == ["YES", "NO", "YES"] and missing
    assert _distinct_text(pd.Series(["A", 3], dtype=object)) is None
    assert _distinct_text(pd.Series([1.0, 2.0])) is None
    token = FACTORIZED.set({})
    try:
        assert member_or_blank(frozenset({"YES", "NO"}))(column).tolist() == [True] * 5
        assert member_or_blank(frozenset({"YES"}))(column).tolist() == \
            [True, False, True, True, False]
        # not blank: every text is, the missing record is not
        assert not_blank(column).tolist() == [True, True, False, True, True]
        assert not_blank(column.fillna("x")).tolist() == [True] * 5
        assert length_ok(pd.Series([None, None], dtype=object)).tolist() == [True, True]
    finally:
        FACTORIZED.reset(token)
