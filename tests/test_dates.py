"""Raw date parsing to SDTM ISO 8601, study day, and ISO 8601 checks.

Expected values in the tables below were worked out by hand from the SDTMIG rules (right
truncation, no day 0), not copied from the code's output.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.iso8601 import earliest_dtc, is_iso8601, iso_to_date, latest_dtc, study_day
from cdisc_convert.sdtm.rawdates import FORMATS, parse_dates, parse_times, resolve_formats

# --------------------------------------------------------------------------- parse_dates

AUTO_CASES = [
    # raw value, expected ISO 8601
    ("12JAN2014", "2014-01-12"),
    ("12-JAN-2014", "2014-01-12"),
    ("12 Jan 2014", "2014-01-12"),
    ("12-Jan-2014", "2014-01-12"),
    ("02-Jan-2014", "2014-01-02"),  # ec_raw.csv
    ("2-jan-2014", "2014-01-02"),
    ("12 January 2014", "2014-01-12"),
    ("05SEPT2013", "2013-09-05"),
    ("01/12/2014", "2014-01-12"),  # month first by default
    ("1/2/2014", "2014-01-02"),
    ("12/26/2013", "2013-12-26"),  # dm_raw.csv
    ("01-12-2014", "2014-01-12"),  # month first, as ds_raw.csv
    ("02-18-2013", "2013-02-18"),  # ds_raw.csv
    ("2014-01-12", "2014-01-12"),
    ("2014/01/12", "2014-01-12"),
    ("20140112", "2014-01-12"),
    ("12.01.2014", "2014-01-12"),  # dotted dates are day first
    # partial dates stay partial (right truncation)
    ("2014-01", "2014-01"),
    ("2014", "2014"),
    ("JAN2014", "2014-01"),
    ("Jan-2014", "2014-01"),
    ("01/2014", "2014-01"),
    ("UN-JAN-2014", "2014-01"),
    ("UNJAN2014", "2014-01"),
    ("UNK-JAN-2014", "2014-01"),
    ("un-jan-2014", "2014-01"),
    ("--JAN-2014", "2014-01"),
    ("UN-UNK-2014", "2014"),
    ("UNK-UNK-2014", "2014"),
    ("2014-01-UN", "2014-01"),
    ("2014-UN-UN", "2014"),
    ("UN/UN/2014", "2014"),
    ("12-UNK-2014", "2014"),  # a day without its month cannot be written: dropped
    # date and time in one text
    ("2014-01-12T10:30", "2014-01-12T10:30"),
    ("2014-01-12T10:30:15", "2014-01-12T10:30:15"),
    ("2014-01-12 10:30", "2014-01-12T10:30"),
    ("2014-01-12T10", "2014-01-12T10"),
    ("2014-01-12T10:30:15.25", "2014-01-12T10:30:15.25"),
    ("12JAN2014:10:30:00", "2014-01-12T10:30:00"),  # SAS DATETIME
    ("01/12/2014 10:30 PM", "2014-01-12T22:30"),
    ("2014-01-12T10:UN", "2014-01-12T10"),
    ("2014-01-12TUN:UN", "2014-01-12"),
    # calendar edges
    ("29FEB2012", "2012-02-29"),
    ("29FEB2000", "2000-02-29"),  # divisible by 400: leap year
    ("1900-01-01", "1900-01-01"),
    ("2100-12-31", "2100-12-31"),
    # blanks and surrounding blanks
    ("  12JAN2014  ", "2014-01-12"),
    ("2014-01-12\t", "2014-01-12"),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("raw", "expected"), AUTO_CASES)
def test_auto_detected_formats(raw, expected):
    parsed = parse_dates(pd.Series([raw]))
    assert parsed.iso.tolist() == [expected]


def test_whole_column_at_once_keeps_index_and_order():
    raws = [raw for raw, _ in AUTO_CASES]
    index = pd.Index([f"r{i}" for i in range(len(raws))])
    parsed = parse_dates(pd.Series(raws, index=index, name="AESTDAT"))
    assert parsed.iso.index.equals(index)
    assert parsed.iso.name == "AESTDAT"
    assert parsed.iso.tolist() == [expected for _, expected in AUTO_CASES]


def test_missing_values_are_blank_without_errors():
    parsed = parse_dates(pd.Series([None, np.nan, pd.NA, "", "2014"], dtype=object))
    assert parsed.iso.tolist() == ["", "", "", "", "2014"]
    assert parsed.errors.empty
    assert list(parsed.errors.columns) == ["row", "position", "value", "time_value", "reason",
                                           "severity"]
    assert parsed.ok


def test_detected_format_is_reported():
    parsed = parse_dates(pd.Series(["12JAN2014", "01/12/2014", "01-12-2014", "2014-01", "", "x"]))
    assert parsed.format.tolist() == ["DD-MON-YYYY", "MM/DD/YYYY", "MM-DD-YYYY", "YYYY-MM-DD",
                                      "", ""]


# the text a user reads: it says what is wrong and what to declare
TWO_DIGIT = ("2-digit year not accepted (century is ambiguous; declare it with "
             "two_digit_year_pivot: on the date rule)")

BAD_CASES = [
    # raw value, reason, severity, ISO kept
    ("31FEB2014", "not a calendar date", "error", ""),
    ("29FEB2014", "not a calendar date", "error", ""),
    ("29FEB1900", "not a calendar date", "error", ""),  # divisible by 100: not leap
    ("2100-02-29", "not a calendar date", "error", ""),
    ("2014-13-01", "not a calendar date", "error", ""),
    ("2014-00", "not a calendar date", "error", ""),
    ("00JAN2014", "not a calendar date", "error", ""),
    ("04/31/2014", "not a calendar date", "error", ""),
    ("12JAN14", TWO_DIGIT, "error", ""),
    ("01/12/14", TWO_DIGIT, "error", ""),
    ("1899-12-31", "year outside 1900-2100", "error", ""),
    ("2101", "year outside 1900-2100", "error", ""),
    ("12-XYZ-2014", "unknown month name", "error", ""),
    ("yesterday", "unrecognised date format", "error", ""),
    ("2014-01-12T", "unrecognised date format", "error", ""),
    ("12-UNK-2014", "day dropped: month unknown", "warning", "2014"),
    ("UNK", "year unknown: nothing left after truncation", "warning", ""),
    ("2014-01-12T25:00", "not a valid time; time dropped", "warning", "2014-01-12"),
    ("2014-01-12T10:61", "not a valid time; time dropped", "warning", "2014-01-12"),
    ("2014-01-12 noon", "unrecognised time format; time dropped", "warning", "2014-01-12"),
    ("2014-01-12TUN:30", "time parts dropped: a larger time unit is unknown", "warning",
     "2014-01-12"),
]


@pytest.mark.parametrize(("raw", "reason", "severity", "iso"), BAD_CASES)
def test_bad_values_are_reported_not_raised(raw, reason, severity, iso):
    parsed = parse_dates(pd.Series(["2014-01-12", raw], index=[10, 11]))
    assert parsed.iso.tolist() == ["2014-01-12", iso]
    assert parsed.errors.to_dict("records") == [{
        "row": 11, "position": 1, "value": raw, "time_value": "", "reason": reason,
        "severity": severity}]
    assert parsed.ok == (severity == "warning")


def test_errors_name_every_bad_row():
    raws = pd.Series(["31FEB2014", "12JAN2014", "31FEB2014", "bad", None, "12JAN14"],
                     index=[100, 101, 102, 103, 104, 105])
    errors = parse_dates(raws).errors
    assert errors["row"].tolist() == [100, 102, 103, 105]
    assert errors["position"].tolist() == [0, 2, 3, 5]
    assert errors["value"].tolist() == ["31FEB2014", "31FEB2014", "bad", "12JAN14"]
    assert errors["reason"].tolist() == ["not a calendar date", "not a calendar date",
                                         "unrecognised date format",
                                         TWO_DIGIT]
    assert set(errors["severity"]) == {"error"}


def test_day_month_order_only_when_named():
    raws = pd.Series(["01/12/2014", "13/01/2014", "01-12-2014"])
    assert parse_dates(raws).iso.tolist() == ["2014-01-12", "", "2014-01-12"]
    day_first = parse_dates(raws, ["DD/MM/YYYY", "DD-MM-YYYY"])
    assert day_first.iso.tolist() == ["2014-12-01", "2014-01-13", "2014-12-01"]
    assert day_first.errors.empty


def test_named_formats_restrict_and_explain():
    parsed = parse_dates(pd.Series(["12JAN2014", "2014-01-12", "JAN2014"]), ["DDMONYYYY"])
    assert parsed.iso.tolist() == ["2014-01-12", "", "2014-01"]
    assert parsed.errors["row"].tolist() == [1]
    assert parsed.errors["reason"].iloc[0] == (
        "looks like YYYY-MM-DD, which is not among the allowed formats (DD-MON-YYYY)")


def test_the_first_named_format_wins_without_fallback():
    # "13/01/2014" is not a month-first date; it is not silently read day first.
    parsed = parse_dates(pd.Series(["02/01/2014", "13/01/2014"]), ["MM/DD/YYYY", "DD/MM/YYYY"])
    assert parsed.iso.tolist() == ["2014-02-01", ""]
    assert parsed.errors["reason"].tolist() == ["not a calendar date"]


def test_unknown_format_name_is_a_spec_error():
    with pytest.raises(SpecError, match="unknown date format 'DD/MMM/YY'"):
        parse_dates(pd.Series(["2014"]), ["DD/MMM/YY"])


def test_format_aliases_resolve_to_families():
    assert [f.name for f in resolve_formats(["ddmonyyyy", "YYYY", "MON-YYYY"])] == [
        "DD-MON-YYYY", "YYYY-MM-DD"]
    auto = [f.name for f in resolve_formats(None)]
    assert "DD/MM/YYYY" not in auto and "DD-MM-YYYY" not in auto
    assert auto.index("MM/DD/YYYY") >= 0


def test_numbers_and_datetimes_as_input():
    assert parse_dates(pd.Series([2014.0, np.nan, 2015.0])).iso.tolist() == ["2014", "", "2015"]
    assert parse_dates(pd.Series([2014, 2015])).iso.tolist() == ["2014", "2015"]
    stamps = pd.Series(pd.to_datetime(["2014-01-12", "2014-01-12 10:30", None], format="mixed"))
    assert parse_dates(stamps).iso.tolist() == ["2014-01-12", "2014-01-12T10:30:00", ""]


def test_padded_and_overlong_values():
    parsed = parse_dates(pd.Series(["2014-01-12" + " " * 90, "x" * 200, "12 janv 2014"]))
    assert parsed.iso.tolist() == ["2014-01-12", "", ""]
    assert parsed.errors["reason"].tolist() == ["unrecognised date format",
                                                "unknown month name"]


# --------------------------------------------------------------------------- time merge

TIME_CASES = [
    # date, time, expected ISO, expected reason ("" = none)
    ("2014-01-12", "10:30", "2014-01-12T10:30", ""),
    ("12JAN2014", "1030", "2014-01-12T10:30", ""),
    ("01/12/2014", "10:30:15", "2014-01-12T10:30:15", ""),
    ("01-12-2014", "9:05", "2014-01-12T09:05", ""),
    ("2014-01-12", "UN:UN", "2014-01-12", ""),
    ("2014-01-12", "10:UN", "2014-01-12T10", ""),
    ("2014-01-12", "", "2014-01-12", ""),
    ("2014-01-12", None, "2014-01-12", ""),
    ("2014-01-12", "12:15 AM", "2014-01-12T00:15", ""),
    ("2014-01-12", "24:00", "2014-01-12", "not a valid time; time dropped"),
    ("2014-01-12", "13:00 PM", "2014-01-12", "not a valid time; time dropped"),
    ("2014-01-12", "soon", "2014-01-12", "unrecognised time format; time dropped"),
    ("2014-01", "10:30", "2014-01", "time dropped: date is not complete"),
    ("UN-JAN-2014", "10:30", "2014-01", "time dropped: date is not complete"),
    ("2014-01", "UN:UN", "2014-01", ""),
    ("", "10:30", "", "time given without a date"),
    ("2014-01-12T08:00", "08:00", "2014-01-12T08:00", ""),
    ("2014-01-12T08:00", "09:00", "2014-01-12T08:00",
     "time given in the date and in the time column; time column ignored"),
    ("31FEB2014", "10:30", "", "not a calendar date"),
]


@pytest.mark.parametrize(("date", "clock", "expected", "reason"), TIME_CASES)
def test_time_column_is_merged(date, clock, expected, reason):
    parsed = parse_dates(pd.Series([date]), time=pd.Series([clock], dtype=object))
    assert parsed.iso.tolist() == [expected]
    assert parsed.errors["reason"].tolist() == ([reason] if reason else [])
    if reason:
        assert parsed.errors["time_value"].tolist() == [clock]


def test_time_column_must_match_rows():
    with pytest.raises(ValueError):
        parse_dates(pd.Series(["2014-01-12"], index=[1]), time=pd.Series(["10:30"], index=[2]))


def test_pharmaverse_style_date_and_time_columns_together():
    # The same date with different times, as DSDTCOL/DSTMCOL in ds_raw.csv.
    dates = pd.Series(["07-02-2014", "07-02-2014", "07-02-2014", ""])
    times = pd.Series(["", "11:45", "10:15", ""])
    assert parse_dates(dates, time=times).iso.tolist() == [
        "2014-07-02", "2014-07-02T11:45", "2014-07-02T10:15", ""]


def test_parse_times_alone():
    out = parse_times(pd.Series(["10:30", "1030", "10:30:15", "UN:UN", "UN:30", "25:00", None]))
    assert out["time"].tolist() == ["10:30", "10:30", "10:30:15", "", "", "", ""]
    assert out["reason"].tolist()[4:6] == ["time parts dropped: a larger time unit is unknown",
                                           "not a valid time; time dropped"]
    assert out["severity"].tolist()[:4] == [None] * 4


# --------------------------------------------------------------------------- study day


@pytest.mark.parametrize(("dtc", "expected"), [
    ("2014-01-10", 1),  # the reference day itself is day 1
    ("2014-01-11", 2),
    ("2014-01-09", -1),  # the day before is day -1: there is no day 0
    ("2014-01-01", -9),
    ("2014-02-10", 32),
    ("2015-01-10", 366),
    ("2013-01-10", -365),
    ("2014-01-10T23:59", 1),  # times do not count
    ("2014-01-09T23:59:59", -1),
    ("2014-01", None),  # partial: no study day
    ("2014", None),
    ("", None),
    (None, None),
    ("2014-02-30", None),  # not a date
])
def test_study_day_against_reference(dtc, expected):
    dy = study_day(pd.Series([dtc], dtype=object), pd.Series(["2014-01-10T08:00"]))
    assert dy.dtype == "Int64"
    assert (dy.iloc[0] if expected is not None else pd.isna(dy.iloc[0])) == (
        expected if expected is not None else True)


def test_study_day_row_by_row_and_partial_reference():
    dtc = pd.Series(["2012-03-01", "2014-01-01", "2014-01-05", "2014-01-05"])
    ref = pd.Series(["2012-02-28", "2013-12-31", "2014-01", ""])
    assert study_day(dtc, ref).tolist() == [3, 2, pd.NA, pd.NA]


def test_study_day_with_one_reference_and_datetimes():
    assert study_day(pd.Series(["2014-01-10", "2014-01-08"]), "2014-01-10").tolist() == [1, -2]
    stamps = pd.Series(pd.to_datetime(["2014-01-12 10:00", None]))
    assert study_day(stamps, pd.Series(["2014-01-10", "2014-01-10"])).tolist() == [3, pd.NA]


def test_iso_to_date():
    out = iso_to_date(pd.Series(["2014-01-10T10:30", "2014-01", "2014-02-30", "", None,
                                 "2003---15"]))
    assert out.dtype == "datetime64[ns]"
    assert out.iloc[0] == pd.Timestamp("2014-01-10")
    assert out.iloc[1:].isna().all()


# --------------------------------------------------------------------------- ISO check

ISO_CASES = [
    # value, legal with right truncation only, legal with SDTMIG "-" placeholders
    ("2014", True, True),
    ("2014-01", True, True),
    ("2014-01-12", True, True),
    ("2014-01-12T10", True, True),
    ("2014-01-12T10:30", True, True),
    ("2014-01-12T10:30:15", True, True),
    ("2014-01-12T10:30:15.123", True, True),
    ("2012-02-29", True, True),
    ("2014-02-29", False, False),
    ("2014-13", False, False),
    ("2014-00-10", False, False),
    ("2014-01-32", False, False),
    ("2014-01-12T24:00", False, False),
    ("2014-01-12T10:60", False, False),
    ("2014-1-12", False, False),
    ("14-01-12", False, False),
    ("20140112", False, False),
    ("2014-01T10:30", False, False),  # a time needs a complete date
    ("2014-01-12T", False, False),
    ("2014-01-12 10:30", False, False),
    ("2014-01-12T10:30+01:00", False, False),
    ("2003---15", False, True),  # month unknown, day known
    ("--12-15", False, True),  # year unknown
    ("-----T07:15", False, True),  # date unknown, time known
    ("2003-12-15T-:15", False, True),  # hour unknown
    ("--02-29", False, True),  # year unknown: 29 February may exist
    ("--02-30", False, False),
    ("1900-02-29", False, False),
    ("2014--", False, False),  # trailing placeholders must be truncated instead
    ("2014-", False, False),
    ("", False, False),
    (None, False, False),
]


@pytest.mark.parametrize(("value", "strict", "placeholder"), ISO_CASES)
def test_is_iso8601(value, strict, placeholder):
    series = pd.Series([value], dtype=object)
    assert is_iso8601(series, allow_placeholders=False).tolist() == [strict]
    assert is_iso8601(series).tolist() == [placeholder]


# --------------------------------------------------------------------------- earliest/latest


def test_earliest_and_latest_per_subject():
    frame = pd.DataFrame({
        "USUBJID": ["A", "A", "A", "A", "B", "B", "B", "C", "D", "D"],
        "DTC": ["2014-03-02", "2014-01-05T10:00", "2014-01-05T08:30", "2014-02",
                "2014", "2014-05-01", "2013-12-31", "", "2014-01", "2014-01-20"],
    })
    first = earliest_dtc(frame["DTC"], by=frame["USUBJID"])
    last = latest_dtc(frame["DTC"], by=frame["USUBJID"])
    # A: same day twice -> the earlier time; latest is a full date after the partial month.
    # B: "2014" ties with "2014-05-01"; the precise value is kept.
    # C: no date at all. D: "2014-01" ties with "2014-01-20": the precise one wins both ways.
    assert first.to_dict() == {"A": "2014-01-05T08:30", "B": "2013-12-31", "C": "",
                               "D": "2014-01-20"}
    assert last.to_dict() == {"A": "2014-03-02", "B": "2014-05-01", "C": "",
                              "D": "2014-01-20"}
    assert first.index.name == "USUBJID"


def test_earliest_and_latest_by_number_keys_with_blanks_and_missing_groups():
    values = pd.Series([" 2014-01 ", "2014-01-31T23:59", "2014-01-31T23:59:30", None,
                        "2015", "2015-12", "junk", "2013-06-01"])
    groups = pd.Series([1, 1, 1, 2, 3, 3, np.nan, 4])
    first = earliest_dtc(values, by=groups)
    last = latest_dtc(values, by=groups)
    # 1: the month ties with the 31st, the precise date wins, then the most precise time
    # (both ways); 2 has no date; the row without a group counts nowhere; 3: "2015" ties
    # with "2015-12", the more precise one wins
    assert first.to_dict() == {1.0: "2014-01-31T23:59:30", 2.0: "", 3.0: "2015-12",
                               4.0: "2013-06-01"}
    assert last.to_dict() == {1.0: "2014-01-31T23:59:30", 2.0: "", 3.0: "2015-12",
                              4.0: "2013-06-01"}


def test_partial_dates_compare_on_their_known_part():
    values = pd.Series(["2014-02-03", "2014-01", "2014-06", "2014-05-31"])
    assert earliest_dtc(values) == "2014-01"  # January is before 3 February
    assert latest_dtc(values) == "2014-06"  # June is after 31 May
    assert earliest_dtc(pd.Series(["", "not a date"])) == ""


# --------------------------------------------------------------------------- properties

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


def _mixed_case(text: str, flips: list[bool]) -> str:
    return "".join(c.lower() if f else c for c, f in zip(text, flips + [False] * len(text)))


def _renderings(d: dt.date, t: dt.time, flips: list[bool]) -> list[tuple[str, list | None, str]]:
    """(raw text, formats argument, expected ISO) for one date in every supported layout,
    formatted here independently of the parser."""
    y, m, day = d.year, d.month, d.day
    mon = _mixed_case(MONTHS[m - 1], flips)
    full = f"{y:04d}-{m:02d}-{day:02d}"
    month = f"{y:04d}-{m:02d}"
    year = f"{y:04d}"
    hm = f"{t.hour:02d}:{t.minute:02d}"
    hms = f"{hm}:{t.second:02d}"
    return [
        (f"{day:02d}{mon}{y}", None, full),
        (f"{day:02d}-{mon}-{y}", None, full),
        (f"{day} {mon} {y}", None, full),
        (f"{m:02d}/{day:02d}/{y}", None, full),
        (f"{m}/{day}/{y}", None, full),
        (f"{m:02d}-{day:02d}-{y}", None, full),
        (full, None, full),
        (f"{y}{m:02d}{day:02d}", None, full),
        (f"{day:02d}.{m:02d}.{y}", None, full),
        (f"{day:02d}/{m:02d}/{y}", ["DD/MM/YYYY"], full),
        (f"{day:02d}-{m:02d}-{y}", ["DD-MM-YYYY"], full),
        (f"{mon}{y}", None, month),
        (f"{mon}-{y}", None, month),
        (f"UN-{mon}-{y}", None, month),
        (f"UNK{mon}{y}", None, month),
        (f"--{mon}-{y}", None, month),
        (f"{y}-{m:02d}-UN", None, month),
        (month, None, month),
        (f"UN-UNK-{y}", None, year),
        (year, None, year),
        (f"{full}T{hm}", None, f"{full}T{hm}"),
        (f"{full} {hms}", None, f"{full}T{hms}"),
        (f"{day:02d}{mon}{y}:{hms}", None, f"{full}T{hms}"),
        (f"  {m:02d}/{day:02d}/{y}  ", None, full),
    ]


@settings(max_examples=150, deadline=None)
@given(
    d=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    t=st.times(),
    flips=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_formatting_then_parsing_gives_the_iso_date(d, t, flips):
    cases = _renderings(d, t, flips)
    for formats in {repr(f): f for _, f, _ in cases}.values():
        chosen = [(raw, iso) for raw, f, iso in cases if f == formats]
        parsed = parse_dates(pd.Series([raw for raw, _ in chosen]), formats)
        assert parsed.iso.tolist() == [iso for _, iso in chosen]
        assert parsed.errors.empty
        assert is_iso8601(parsed.iso, allow_placeholders=False).all()
        complete = [iso for iso in parsed.iso if len(iso) >= 10]
        assert (iso_to_date(pd.Series(complete)) == pd.Timestamp(d)).all()


@settings(max_examples=200, deadline=None)
@given(
    d=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    ref=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
)
def test_study_day_matches_calendar_arithmetic(d, ref):
    dy = study_day(pd.Series([d.isoformat()]), pd.Series([ref.isoformat() + "T12:00"])).iloc[0]
    difference = (d - ref).days
    assert dy == (difference + 1 if d >= ref else difference)
    assert dy != 0


# --------------------------------------------------------------------------- pharmaverse raw

RAW_DATE_COLUMNS = {
    "ae_raw.csv": ["AEDTCOL", "IT.AESTDAT", "IT.AEENDAT"],
    "dm_raw.csv": ["COL_DT", "IC_DT"],
    "ds_raw.csv": ["DSDTCOL", "IT.DSSTDAT", "DEATHDT"],
    "ec_raw.csv": ["IT.ECSTDAT", "IT.ECENDAT"],
}


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("name", sorted(RAW_DATE_COLUMNS))
def test_every_pharmaverse_raw_date_parses(reference, name):
    raw = _read(reference / "pharmaverse" / "raw" / name)
    # Every column named like a date is in the list above, so none is left untested.
    named_like_dates = [c for c in raw.columns if re.search(r"(DAT$|_DT$|DT$|DTCOL$)", c)]
    assert sorted(named_like_dates) == sorted(RAW_DATE_COLUMNS[name])
    for column in RAW_DATE_COLUMNS[name]:
        parsed = parse_dates(raw[column])
        assert parsed.errors.empty, parsed.errors.head().to_string()
        blank = raw[column].str.strip() == ""
        assert ((parsed.iso == "") == blank).all(), column


def _per_subject(subjects, values):
    return Counter(zip(subjects, values))


def test_pharmaverse_raw_dates_give_the_published_sdtm_dates(reference):
    """The parsed raw dates are, subject by subject, the --DTC values of pharmaversesdtm."""
    raw = reference / "pharmaverse" / "raw"
    sdtm = reference / "pharmaverse" / "sdtm"
    ds, ds_sdtm = _read(raw / "ds_raw.csv"), _read(sdtm / "ds.csv")
    subjects = "01-" + ds["PATNUM"]
    dsdtc = parse_dates(ds["DSDTCOL"], time=ds["DSTMCOL"])
    assert dsdtc.errors.empty
    assert "2014-07-02T11:45" in set(dsdtc.iso)
    assert _per_subject(subjects, dsdtc.iso) == _per_subject(ds_sdtm.USUBJID, ds_sdtm.DSDTC)
    assert _per_subject(subjects, parse_dates(ds["IT.DSSTDAT"]).iso) == _per_subject(
        ds_sdtm.USUBJID, ds_sdtm.DSSTDTC)

    ec, ex = _read(raw / "ec_raw.csv"), _read(sdtm / "ex.csv")
    for raw_column, sdtm_column in (("IT.ECSTDAT", "EXSTDTC"), ("IT.ECENDAT", "EXENDTC")):
        assert _per_subject("01-" + ec["PATNUM"], parse_dates(ec[raw_column]).iso) == (
            _per_subject(ex.USUBJID, ex[sdtm_column]))

    ae, ae_sdtm = _read(raw / "ae_raw.csv"), _read(sdtm / "ae.csv")
    for raw_column, sdtm_column in (("AEDTCOL", "AEDTC"), ("IT.AEENDAT", "AEENDTC")):
        assert _per_subject("01-" + ae["PATNUM"], parse_dates(ae[raw_column]).iso) == (
            _per_subject(ae_sdtm.USUBJID, ae_sdtm[sdtm_column]))
    # AESTDTC too, except where the published SDTM has a partial date ("2013-07") that the
    # raw table carries as blank: that information is not in the raw data.
    parsed = parse_dates(ae["IT.AESTDAT"]).iso
    kept = ae["IT.AESTDAT"] != ""
    published = ae_sdtm.AESTDTC.str.len() != 7
    assert kept.sum() == published.sum()
    assert _per_subject("01-" + ae["PATNUM"][kept], parsed[kept]) == _per_subject(
        ae_sdtm.USUBJID[published], ae_sdtm.AESTDTC[published])


def test_pharmaverse_study_days_and_reference_dates(reference):
    sdtm = reference / "pharmaverse" / "sdtm"
    dm = _read(sdtm / "dm.csv")
    for domain, pairs in (("ds", [("DSSTDTC", "DSSTDY")]),
                          ("ex", [("EXSTDTC", "EXSTDY"), ("EXENDTC", "EXENDY")]),
                          ("ae", [("AEENDTC", "AEENDY")])):
        data = _read(sdtm / f"{domain}.csv").merge(dm[["USUBJID", "RFSTDTC"]], on="USUBJID",
                                                   how="left")
        for dtc, dy in pairs:
            ours = study_day(data[dtc], data["RFSTDTC"])
            published = pd.to_numeric(data[dy]).astype("Int64")
            assert ours.fillna(-99999).tolist() == published.fillna(-99999).tolist(), dy
    ex = _read(sdtm / "ex.csv")
    first = earliest_dtc(ex["EXSTDTC"], by=ex["USUBJID"])
    last = latest_dtc(ex["EXENDTC"], by=ex["USUBJID"])
    published = dm.set_index("USUBJID")
    assert (published.loc[first.index, "RFXSTDTC"] == first).all()
    assert (published.loc[last.index, "RFXENDTC"] == last).all()


# --------------------------------------------------------------------------- speed


def test_a_million_values_parse_quickly():
    """Guard against a per-row Python loop creeping in: 10**6 raw dates of a study window
    (4,000 distinct values, as real columns repeat) in well under the bound. A per-row
    loop costs several seconds of CPU here; the vectorised parser about a tenth of one."""
    days = pd.date_range("2010-01-01", periods=4000, freq="D")
    distinct = np.concatenate([days.strftime("%d%b%Y").to_numpy(dtype=object),
                               days.strftime("%m/%d/%Y").to_numpy(dtype=object)])
    values = pd.Series(np.resize(distinct, 1_000_000))
    start = time.process_time()
    parsed = parse_dates(values)
    elapsed = time.process_time() - start
    assert parsed.errors.empty
    assert parsed.iso.iloc[0] == "2010-01-01" and parsed.iso.iloc[4000] == "2010-01-01"
    assert elapsed < 3.0, f"{elapsed:.2f}s of CPU for 10**6 values"


def test_formats_table_is_consistent():
    names = [name for fmt in FORMATS for name in fmt.names]
    assert len(names) == len(set(n.upper() for n in names))
    for fmt in FORMATS:
        assert parse_dates(pd.Series([fmt.example]), [fmt.name]).errors.empty, fmt.name


# --------------------------------------------------------------------------- two-digit years

def test_two_digit_years_read_into_the_declared_century_window():
    raws = pd.Series(["16-May-15", "6-May-18", "01/12/49", "01/12/50", "12JAN00:10:30",
                      "UN-JAN-99", "JAN14", "16MAY2015", "2014-01-12", ""])
    times = pd.Series(["7:25", "2:01", "", "", "", "", "", "10:00", "", ""])
    parsed = parse_dates(raws, time=times, two_digit_year_pivot=1950)
    # window 1950-2049: 15 -> 2015, 49 -> 2049, 50 -> 1950, 00 -> 2000, 99 -> 1999;
    # four-digit years and ISO values are read as before
    assert parsed.iso.tolist() == ["2015-05-16T07:25", "2018-05-06T02:01", "2049-01-12",
                                   "1950-01-12", "2000-01-12T10:30", "1999-01", "2014-01",
                                   "2015-05-16T10:00", "2014-01-12", ""]
    assert parsed.errors.empty
    # another window puts the same digits in another century: 1920-2019
    assert parse_dates(raws[:4], two_digit_year_pivot=1920).iso.tolist() == [
        "2015-05-16", "2018-05-06", "1949-01-12", "1950-01-12"]


def test_two_digit_years_stay_an_error_without_a_pivot_and_iso_never_takes_them():
    parsed = parse_dates(pd.Series(["16-May-15", "14-01-12", "15-01"]))
    assert parsed.iso.tolist() == ["", "", ""]
    assert parsed.errors["reason"].tolist()[:2] == [TWO_DIGIT, TWO_DIGIT]
    # with a pivot, 14-01-12 is month-day-year (month 14: not a date), never ISO year 14
    # (which would be outside 1900-2100 anyway); an ISO-only column stays four-digit
    pivoted = parse_dates(pd.Series(["14-01-12", "01-14-12"]), two_digit_year_pivot=1950)
    assert pivoted.iso.tolist() == ["", "2012-01-14"]
    assert pivoted.errors["reason"].tolist() == ["not a calendar date"]
    iso_only = parse_dates(pd.Series(["15-01-12"]), ["YYYY-MM-DD"], two_digit_year_pivot=1950)
    assert iso_only.iso.tolist() == [""]


@pytest.mark.parametrize("pivot", [1899, 2002, 50, "1950", 1950.5, True])
def test_a_pivot_outside_1900_2001_is_a_spec_error(pivot):
    with pytest.raises(SpecError, match="two_digit_year_pivot must be a year 1900-2001"):
        parse_dates(pd.Series(["16-May-15"]), two_digit_year_pivot=pivot)
