"""The one ISO 8601 reader (cdisc_convert.core.iso8601) on tricky values.

Every reader of --DTC text (validity, comparison, imputation, study days) calls the same
parser; this table states by hand, for each value, what each of them must say. Expected
values come from ISO 8601 / SDTMIG 3.4 section 4.4 and the Gregorian calendar, not from
the code: leap years are years divisible by 4, except centuries not divisible by 400
(2000 is leap, 1900 and 2100 are not); months have 31/30 days as in the calendar.
"""
from __future__ import annotations

import ast
import math
import re

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core import iso8601
from cdisc_convert.core.iso8601 import (comparable_iso, date_precision, is_calendar_date,
                                         is_complete_date, is_iso8601, parse_dtc, study_day)
from conftest import REPO

N = math.nan
# value: (legal right-truncated, legal with "-" placeholders, complete to the day,
#         parse_dtc components Y M D h m s, parse_dtc invalid)
CASES = {
    # partial dates: right truncation
    "2014": (True, True, False, (2014, N, N, N, N, N), False),
    "2014-03": (True, True, False, (2014, 3, N, N, N, N), False),
    "2014-03-05": (True, True, True, (2014, 3, 5, N, N, N), False),
    # times with and without minutes/seconds, and a fraction of a second
    "2014-03-05T10": (True, True, True, (2014, 3, 5, 10, N, N), False),
    "2014-03-05T10:30": (True, True, True, (2014, 3, 5, 10, 30, N), False),
    "2014-03-05T10:30:15": (True, True, True, (2014, 3, 5, 10, 30, 15), False),
    "2014-03-05T10:30:15.250": (True, True, True, (2014, 3, 5, 10, 30, 15), False),
    "2014-03-05T23:59:59": (True, True, True, (2014, 3, 5, 23, 59, 59), False),
    "2014-03-05T00:00": (True, True, True, (2014, 3, 5, 0, 0, N), False),
    # leap years
    "2012-02-29": (True, True, True, (2012, 2, 29, N, N, N), False),
    "2000-02-29": (True, True, True, (2000, 2, 29, N, N, N), False),
    "1900-02-29": (False, False, False, (N, N, N, N, N, N), True),
    "2100-02-29": (False, False, False, (N, N, N, N, N, N), True),
    "2014-02-29": (False, False, False, (N, N, N, N, N, N), True),
    "2014-02-28": (True, True, True, (2014, 2, 28, N, N, N), False),
    # invalid month or day, hour, minute, second
    "2014-13": (False, False, False, (N, N, N, N, N, N), True),
    "2014-00-10": (False, False, False, (N, N, N, N, N, N), True),
    "2014-04-31": (False, False, False, (N, N, N, N, N, N), True),
    "2014-01-00": (False, False, False, (N, N, N, N, N, N), True),
    "2014-01-32": (False, False, False, (N, N, N, N, N, N), True),
    "2014-03-05T24:00": (False, False, False, (N, N, N, N, N, N), True),
    "2014-03-05T10:60": (False, False, False, (N, N, N, N, N, N), True),
    "2014-03-05T10:30:60": (False, False, False, (N, N, N, N, N, N), True),
    # SDTMIG "-" placeholders: legal only when allowed; imputation reads the known parts
    "2014---05": (False, True, False, (2014, N, 5, N, N, N), False),
    "--02-29": (False, True, False, (N, 2, 29, N, N, N), False),  # the year may be leap
    "--02-30": (False, False, False, (N, N, N, N, N, N), True),
    "-----T07:15": (False, True, False, (N, N, N, 7, 15, N), False),
    "2014-03-05T-:15": (False, True, True, (2014, 3, 5, N, 15, N), False),
    "2014--": (False, False, False, (2014, N, N, N, N, N), False),
    # forms imputation reads but SDTM does not allow
    "2014-03-05T10:30:15,5": (False, False, False, (2014, 3, 5, 10, 30, 15), False),
    "2014-03-05T10:30+01:00": (False, False, False, (2014, 3, 5, 10, 30, N), False),
    "2014-03-05T10:30Z": (False, False, False, (2014, 3, 5, 10, 30, N), False),
    "2014-03-05T": (False, False, False, (2014, 3, 5, N, N, N), False),
    "2014-03T10:30": (False, False, False, (2014, 3, N, 10, 30, N), False),
    "T10:30": (False, False, False, (N, N, N, 10, 30, N), False),
    # blanks around a value are ignored, a "t" reads as "T"
    " 2014-03-05 ": (True, True, True, (2014, 3, 5, N, N, N), False),
    "2014-03-05t10": (True, True, True, (2014, 3, 5, 10, N, N), False),
    # intervals, durations and other formats are not --DTC dates (not supported)
    "2014-03-05/2014-03-09": (False, False, False, (N, N, N, N, N, N), True),
    "P3D": (False, False, False, (N, N, N, N, N, N), True),
    "R2/2014-03-05/P1D": (False, False, False, (N, N, N, N, N, N), True),
    "20140305": (False, False, False, (N, N, N, N, N, N), True),
    "2014-3-5": (False, False, False, (N, N, N, N, N, N), True),
    "14-03-05": (False, False, False, (N, N, N, N, N, N), True),
    "2014-03-05 10:30": (False, False, False, (N, N, N, N, N, N), True),
    "05MAR2014": (False, False, False, (N, N, N, N, N, N), True),
    "-": (False, False, False, (N, N, N, N, N, N), True),
    # blank: not a date, not invalid either (whether it may be blank is another check)
    "": (False, False, False, (N, N, N, N, N, N), False),
    "   ": (False, False, False, (N, N, N, N, N, N), False),
}
VALUES = list(CASES)
SERIES = pd.Series(VALUES + [None], dtype=object)


def _expected(i: int) -> list:
    return [CASES[v][i] for v in VALUES] + [CASES[""][i]]


def test_validity_right_truncated_and_with_placeholders():
    assert is_iso8601(SERIES, allow_placeholders=False).tolist() == _expected(0)
    assert is_iso8601(SERIES).tolist() == _expected(1)


def test_complete_to_the_day():
    assert is_complete_date(SERIES).tolist() == _expected(2)
    strict = [a and b for a, b in zip(_expected(0), _expected(2))]
    assert is_complete_date(SERIES, allow_placeholders=False).tolist() == strict


def test_imputation_components_and_invalid_values():
    parts = parse_dtc(SERIES)
    assert parts.index.equals(SERIES.index)
    got = parts[list(iso8601.DTC_COMPONENTS)].to_numpy(dtype=float)
    want = np.array(_expected(3), dtype=float)
    np.testing.assert_array_equal(got, want)  # NaN == NaN here
    assert parts["invalid"].tolist() == _expected(4)


def test_comparable_values_are_the_legal_right_truncated_ones():
    got = comparable_iso(SERIES.to_numpy(dtype=object)).tolist()
    want = [v.strip().replace("t", "T") if CASES[v][0] else "" for v in VALUES] + [""]
    assert got == want
    assert comparable_iso(np.array([20140305, 2014.0], dtype=object)).tolist() == ["", ""]


def test_date_precision_of_legal_right_truncated_values():
    # day 3, month 2, year 1; placeholders, invalid dates and blanks 0
    want = [3 if CASES[v][0] and CASES[v][2] else 0 for v in VALUES] + [0]
    for i, v in enumerate(VALUES):
        if CASES[v][0] and not CASES[v][2]:
            want[i] = 2 if len(v.strip()) == 7 else 1
    assert date_precision(SERIES).tolist() == want
    assert date_precision(pd.Series(["2014", "2014-03", "2014-03-05T10"])).tolist() == [1, 2, 3]


def test_calendar_dates_are_exactly_yyyy_mm_dd():
    values = pd.Series(["2014-03-05", "2012-02-29", "2014-02-29", "2014-03-05T10", " 2014-03-05",
                        "2014-03", "20140305", "", None, 20140305], dtype=object)
    assert is_calendar_date(values).tolist() == [True, True, False, False, False, False, False,
                                                 False, False, False]


def test_study_days_need_legal_dates_complete_to_the_day():
    dtc = pd.Series(["2012-03-01", "2012-02-28", "2012-02-29", "2014-02-29", "2012-02",
                     "2012---29", "2012-02-29T23:59"])
    # 2012 is leap: 28 Feb is two days before 1 March, the day before is day -1
    assert study_day(dtc, "2012-02-29").tolist() == [2, -1, 1, pd.NA, pd.NA, pd.NA, 1]


def test_one_grammar_read_by_every_iso_function():
    """iso8601.py compiles one pattern, and no other module of the package parses --DTC
    text with a regular expression of its own."""
    source = (REPO / "cdisc_convert" / "core" / "iso8601.py").read_text(encoding="utf-8")
    compiled = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)
                and getattr(n.func, "attr", "") == "compile"]
    assert len(compiled) == 1
    date_regex = re.compile(r"""r["'][^"']*\\d\{4\}-\\d\{2\}""")
    # nci.py reads a CT release date in a file name, which is no --DTC value
    others = {"core/iso8601.py", "standards/nci.py"}
    found = sorted(str(p.relative_to(REPO / "cdisc_convert"))
                   for p in (REPO / "cdisc_convert").rglob("*.py")
                   if date_regex.search(p.read_text(encoding="utf-8"))
                   and str(p.relative_to(REPO / "cdisc_convert")) not in others)
    assert found == []
