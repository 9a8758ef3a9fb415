"""ISO 8601 values as SDTM writes them (--DTC): validity, dates, study days, ordering.

Rules followed (SDTMIG v3.4, section 4.4 "Timing variables"):

* --DTC values are ISO 8601 text, ``YYYY-MM-DDThh:mm:ss``. An incomplete value is
  represented by *right truncation*: ``2014``, ``2014-03``, ``2014-03-05``,
  ``2014-03-05T10``, ``2014-03-05T10:30``. The SDTMIG also permits a "-" placeholder for
  a missing component in the middle (``2014---05``: month unknown, day 5); this module
  never *produces* that form (a day without its month is dropped, see below) but
  :func:`is_iso8601` accepts it by default because it is legal SDTM.
* A time is only attached to a complete date.
* --DY = (date part of --DTC) - (date part of RFSTDTC) + 1 when --DTC is on or after
  RFSTDTC, and (date part of --DTC) - (date part of RFSTDTC) when it is before, so there
  is no day 0. It is only computed when both dates are complete to the day.

Raw EDC dates are turned into these values by :mod:`cdisc_convert.sdtm.rawdates`; the
text work here runs once per distinct value through :mod:`.textshapes`.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .textshapes import digit_span, distinct_text, layout_table, read_digits, shapes_and_reps

__all__ = [
    "comparable_date_part",
    "comparable_iso",
    "compare_iso",
    "DTC_COMPONENTS",
    "days_in_month",
    "distinct_dtc_components",
    "earliest_dtc",
    "is_iso8601",
    "iso_to_date",
    "latest_dtc",
    "parse_dtc",
    "study_day",
]

# Lookup table instead of calendar arithmetic per value.
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Gregorian month length; month must be 0..12 (0 gives 0)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _DAYS_IN_MONTH[month] + ((month == 2) & leap)


# --------------------------------------------------------------------------- ISO checks

# The SDTM --DTC shape, placeholders included; value ranges are checked numerically.
_ISO_SHAPE = re.compile(
    r"^(?P<year>\d{4}|-)(?:-(?P<month>\d{2}|-)(?:-(?P<day>\d{2}|-)"
    r"(?:T(?P<hh>\d{2}|-)(?::(?P<mi>\d{2}|-)(?::(?P<ss>\d{2}|-)(?P<fr>\.\d+)?)?)?)?)?)?$"
)
_ISO_PARTS = ("year", "month", "day", "hh", "mi", "ss")
_ISO_FIELDS = ("strict", "placeholder") + tuple(
    f"{p}_{k}" for p in _ISO_PARTS for k in ("start", "len"))


def _iso_layout(text: str) -> tuple[dict[str, int] | None, None]:
    """Layout of an SDTM --DTC text and whether its *structure* is legal.

    strict: right truncation only (every part written is known). placeholder: a missing
    middle part may be written "-" (SDTMIG), but the last part written must be known and
    a fraction needs its seconds.
    """
    match = _ISO_SHAPE.match(text)
    if match is None:
        return None, None
    layout = dict.fromkeys(_ISO_FIELDS, 0)
    present = []
    for part in _ISO_PARTS:
        layout[f"{part}_start"], layout[f"{part}_len"] = digit_span(match, part)
        if match.group(part) is not None:
            present.append(layout[f"{part}_len"] > 0)
    fraction_ok = match.group("fr") is None or layout["ss_len"] > 0
    layout["strict"] = int(all(present) and fraction_ok)
    layout["placeholder"] = int(present[-1] and fraction_ok)
    return layout, None


def _analyse_iso(series: pd.Series, allow_placeholders: bool) -> tuple[np.ndarray, dict]:
    """(code per row, per distinct value: validity, completeness and date parts) of
    SDTM --DTC texts."""
    codes, text = distinct_text(series)
    chars, _, shape, reps = shapes_and_reps(text)
    table, _ = layout_table(reps, _iso_layout, _ISO_FIELDS)
    lay = {f: a[shape] for f, a in table.items()}
    valid = (lay["placeholder"] if allow_placeholders else lay["strict"]) == 1
    part = {}
    for name in _ISO_PARTS:
        known = valid & (lay[f"{name}_len"] > 0)
        part[name] = (known, read_digits(chars, lay[f"{name}_start"], lay[f"{name}_len"] * known,
                                          4 if name == "year" else 2))
    (y_known, year), (m_known, month), (d_known, day) = part["year"], part["month"], part["day"]
    month_ok = m_known & (month >= 1) & (month <= 12)
    # With the year unknown ("--02-29") February may have 29 days.
    dim = days_in_month(np.where(y_known, year, 2000), np.where(month_ok, month, 0))
    valid &= ~m_known | month_ok
    valid &= ~d_known | ((day >= 1) & (day <= np.where(m_known, dim, 31)))
    valid &= ~part["hh"][0] | (part["hh"][1] <= 23)
    valid &= ~part["mi"][0] | (part["mi"][1] <= 59)
    valid &= ~part["ss"][0] | (part["ss"][1] <= 59)
    complete = valid & y_known & m_known & d_known
    return codes, {"valid": valid, "complete": complete, "year": year, "month": month,
                   "day": day}


def is_iso8601(series: pd.Series, *, allow_placeholders: bool = True) -> pd.Series:
    """Boolean Series: is each value a legal SDTM --DTC value?

    Accepted: ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` and, after a complete date,
    ``THH``, ``THH:MM``, ``THH:MM:SS`` with an optional fraction of seconds; months 01-12,
    days within their month, hours 00-23, minutes and seconds 00-59. With
    ``allow_placeholders`` (default, as the SDTMIG permits) a missing middle part may be
    written "-" (``2003---15``, ``--12-15``, ``-----T07:15``); pass False to accept only
    right truncation, which is what :func:`parse_dates` produces. Blank and missing
    values are False (whether a blank is allowed is another check). Time zones and the
    ISO basic format (``20140112``) are not accepted; surrounding blanks are ignored.
    """
    series = series if isinstance(series, pd.Series) else pd.Series(series)
    codes, parts = _analyse_iso(series, allow_placeholders)
    return pd.Series(parts["valid"][codes], index=series.index, dtype=bool, name=series.name)


def _day_numbers(dtc: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01, complete-to-the-day mask) of --DTC texts or datetimes."""
    if pd.api.types.is_datetime64_any_dtype(dtc):
        complete = dtc.notna().to_numpy()
        naive = dtc.dt.tz_localize(None) if dtc.dt.tz is not None else dtc
        days = naive.dt.normalize().to_numpy(dtype="datetime64[D]")
        return np.where(complete, days.astype(np.int64), 0), complete
    codes, parts = _analyse_iso(dtc, allow_placeholders=True)
    complete = parts["complete"]
    months = np.where(complete, (parts["year"] - 1970) * 12 + parts["month"] - 1, 0)
    days = (months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
            + np.where(complete, parts["day"] - 1, 0))
    return days[codes], complete[codes]


def iso_to_date(dtc: pd.Series) -> pd.Series:
    """datetime64 date (time dropped) of each --DTC value complete to the day; NaT for
    partial, blank or invalid values, and for years that datetime64[ns] cannot hold
    (about 1678-2261). datetime64 input is normalised to its date."""
    dtc = dtc if isinstance(dtc, pd.Series) else pd.Series(dtc)
    days, complete = _day_numbers(dtc)
    usable = complete & (days > -106_000) & (days < 106_000)  # inside datetime64[ns]
    stamp = np.where(usable, days, 0).astype("datetime64[D]").astype("datetime64[ns]")
    stamp[~usable] = np.datetime64("NaT")
    return pd.Series(stamp, index=dtc.index, name=dtc.name)


def study_day(dtc: pd.Series, ref_dtc: pd.Series | str) -> pd.Series:
    """SDTM --DY: date - reference + 1 on or after the reference, date - reference
    before it (there is no day 0). Int64; NA when either is not complete to the day.

    Both may carry times; only the date parts count. ``ref_dtc`` is matched row by row
    (same index) or is one reference date for all rows.
    """
    dtc = dtc if isinstance(dtc, pd.Series) else pd.Series(dtc)
    days, complete = _day_numbers(dtc)
    if isinstance(ref_dtc, pd.Series):
        if not ref_dtc.index.equals(dtc.index):
            raise ValueError("ref_dtc must have the same index as dtc")
        ref_days, ref_complete = _day_numbers(ref_dtc)
    else:
        one_days, one_complete = _day_numbers(pd.Series([ref_dtc], dtype=object))
        ref_days = np.repeat(one_days, len(dtc))
        ref_complete = np.repeat(one_complete, len(dtc))
    delta = days - ref_days
    dy = pd.array(np.where(delta >= 0, delta + 1, delta), dtype="Int64")
    dy[~(complete & ref_complete)] = pd.NA
    return pd.Series(dy, index=dtc.index, name=dtc.name)


# --------------------------------------------------------------------------- components

# A --DTC value split into its parts for imputation (ADaM): lenient about what follows
# (a fraction of seconds, a time zone) and "-" for an unknown part anywhere.
_DTC_PATTERN = (
    r"^\s*(?P<Y>\d{4}|-)?"
    r"(?:-(?P<M>\d{2}|-)?"
    r"(?:-(?P<D>\d{2}|-)?)?)?"
    r"(?:T(?P<h>\d{2}|-)?"
    r"(?::(?P<m>\d{2}|-)?"
    r"(?::(?P<s>\d{2}|-)?(?:[.,]\d+)?)?)?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
#: the component columns of :func:`parse_dtc`, from the year down
DTC_COMPONENTS = ("Y", "M", "D", "h", "m", "s")


def distinct_dtc_components(dtc: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """(code per row, components of each distinct value): :func:`parse_dtc` before it is
    spread to the rows, for callers that work per distinct value (missing values get a
    code too). The frame's index is 0..k-1."""
    values = pd.Series(dtc, copy=False).to_numpy(dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    uniques = pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    columns = list(DTC_COMPONENTS)
    if len(uniques) == 0:
        frame = pd.DataFrame(np.zeros((0, len(columns))), columns=columns)
        frame["invalid"] = np.zeros(0, dtype=bool)
        return codes, frame
    text = uniques.astype("string")
    parsed = text.str.extract(_DTC_PATTERN).apply(pd.to_numeric, errors="coerce").astype(float)
    nonblank = text.str.strip().str.len().fillna(0).to_numpy() > 0
    parsed["invalid"] = parsed[columns].isna().all(axis=1).to_numpy() & nonblank
    return codes, parsed.reset_index(drop=True)


def parse_dtc(dtc: pd.Series) -> pd.DataFrame:
    """Split ISO 8601 (partial) date/time text into numeric components.

    Returns a frame with float columns ``Y, M, D, h, m, s`` (NaN where a component is not
    given or given as ``-``) and a boolean ``invalid`` (text that is not ISO 8601, which is
    never imputed), aligned on ``dtc.index``. Each distinct value is parsed once.
    """
    codes, parsed = distinct_dtc_components(dtc)
    out = parsed.iloc[codes].reset_index(drop=True)
    out.index = dtc.index
    return out


# --------------------------------------------------------------------------- comparing

# Dates are compared as text at their common precision: "2013-04" is neither before nor
# after "2013-04-11" (it cannot be told), "2013-05" is after it.
_ISO_RIGHT_TRUNCATED = re.compile(
    r"\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?)?)?")
_ISO_WIDTH = 19  # YYYY-MM-DDTHH:MM:SS; fractions of seconds are not compared


def comparable_iso(values) -> np.ndarray:
    """ISO 8601 date/times that can be compared: right-truncated values only, else ""."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    ok = [u if isinstance(u, str) and _ISO_RIGHT_TRUNCATED.fullmatch(u) else "" for u in uniques]
    table = np.array(ok + [""], dtype=object)
    return table[codes]


def _iso_bytes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    arr = np.asarray(values, dtype=f"U{_ISO_WIDTH}").astype(f"S{_ISO_WIDTH}")
    lengths = np.strings.str_len(arr)
    return arr.view(np.uint8).reshape(len(arr), _ISO_WIDTH), lengths


def compare_iso(a, b) -> np.ndarray:
    """Per element: -1 (a before b), 0 (same or cannot tell), 1 (a after b).

    Both are compared on their common precision (the shorter of the two), so a partial
    date is never called before or after a date inside its period. Values that are not
    right-truncated ISO 8601 (see :func:`comparable_iso`) or empty give 0.
    """
    a, b = comparable_iso(a), comparable_iso(b)
    n = len(a)
    out = np.zeros(n, dtype=np.int8)
    both = np.flatnonzero((a != "") & (b != ""))
    if both.size == 0:
        return out
    step = 1 << 18  # rows per block: bounded temporaries for million-row datasets
    for start in range(0, both.size, step):  # loop over blocks of rows, not rows
        idx = both[start:start + step]
        ua, la = _iso_bytes(a[idx])
        ub, lb = _iso_bytes(b[idx])
        common = np.minimum(la, lb)
        beyond = np.arange(_ISO_WIDTH)[None, :] >= common[:, None]
        ua = np.where(beyond, 0, ua)
        ub = np.where(beyond, 0, ub)
        differ = ua != ub
        first = differ.argmax(axis=1)
        any_diff = differ.any(axis=1)
        rows = np.arange(len(idx))
        sign = np.sign(ua[rows, first].astype(np.int16) - ub[rows, first].astype(np.int16))
        out[idx] = np.where(any_diff, sign, 0).astype(np.int8)
    return out


def comparable_date_part(values) -> np.ndarray:
    """The YYYY-MM-DD (or shorter) part of comparable ISO values, "" otherwise."""
    codes, uniques = pd.factorize(pd.Series(comparable_iso(values), dtype=object),
                                  use_na_sentinel=True)
    table = np.array([u[:10] for u in uniques] + [""], dtype=object)
    return table[codes]


# --------------------------------------------------------------------------- earliest/latest


def _pick_dtc(series: pd.Series, by, earliest: bool):
    """Shared work of :func:`earliest_dtc` / :func:`latest_dtc` (see their docstrings)."""
    series = series if isinstance(series, pd.Series) else pd.Series(series)
    if by is None:
        keys = pd.Series(0, index=series.index)
    elif isinstance(by, pd.Series):
        keys = by if by.index.equals(series.index) else by.reindex(series.index)
    else:
        keys = pd.Series(np.asarray(by), index=series.index)
    # the text work runs once per distinct value, then is taken for every row
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = pd.Series([str(u).strip() for u in uniques] + [""], dtype=object)
    ok = is_iso8601(distinct, allow_placeholders=False).to_numpy().copy()
    ok[-1] = False                                   # missing input
    d_date = distinct.str.slice(0, 10).to_numpy(dtype=object)
    d_dlen = np.fromiter((len(d) for d in d_date), dtype=np.int64, count=len(d_date))
    d_flen = np.fromiter((len(f) for f in distinct), dtype=np.int64, count=len(distinct))
    usable = ok[codes] & keys.notna().to_numpy()
    picked = codes[usable]
    frame = pd.DataFrame({"key": keys[usable].to_numpy(),
                          "full": distinct.to_numpy(dtype=object)[picked],
                          "date": d_date[picked], "dlen": d_dlen[picked],
                          "flen": d_flen[picked]})

    # The candidates are the values that tie with the extreme on their common known part.
    candidate = pd.Series(False, index=frame.index)
    # ISO dates sort as text: rank them once, so the group extreme is an integer reduction
    codes, uniques = pd.factorize(frame["date"], sort=True)
    ranks = pd.Series(codes, index=frame.index).groupby(frame["key"])
    extreme = ranks.transform("min" if earliest else "max").to_numpy()
    pivot = pd.Series(np.asarray(uniques, dtype=object)[extreme] if len(frame) else [],
                      index=frame.index, dtype=object)
    if earliest:
        for size in (4, 7, 10):  # values that start with the (maybe partial) minimum
            candidate |= (pivot.str.len() == size) & (frame["date"].str.slice(0, size) == pivot)
    else:
        for size in (4, 7, 10):  # values that are truncations of the maximum
            candidate |= (frame["dlen"] == size) & (pivot.str.slice(0, size) == frame["date"])
    frame = frame[candidate]
    # Most precise date first, then chronological, then most precise time, then time.
    frame = frame.sort_values(["key", "dlen", "date", "flen", "full"],
                              ascending=[True, False, earliest, False, earliest],
                              kind="mergesort")
    best = frame.drop_duplicates("key").set_index("key")["full"]
    if by is None:
        return best.iloc[0] if len(best) else ""
    result = best.reindex(pd.Index(keys.dropna().unique())).fillna("")
    result.index.name = getattr(by, "name", None)
    return result.rename(series.name)


def earliest_dtc(series: pd.Series, by=None):
    """Earliest --DTC per group of ``by`` (e.g. USUBJID), keeping the chosen value as is.

    Values are compared on their date part; a partial date is compared on the part it
    knows, so ``2014-01`` ties with ``2014-01-05`` and comes before ``2014-02-03``. Among
    the values tied with the earliest, the most precise date wins (``2014-01-05`` over
    ``2014-01``), then the earliest of those, then the most precise time, then the
    earliest time. Blank and non-ISO values are ignored. Returns a Series indexed by
    group ("" for a group without any date), or one string when ``by`` is None.
    """
    return _pick_dtc(series, by, earliest=True)


def latest_dtc(series: pd.Series, by=None):
    """Latest --DTC per group of ``by``; the mirror image of :func:`earliest_dtc`.

    A partial date ties with the dates inside it (``2014`` with ``2014-05-01``; the more
    precise one is chosen) and is later than the dates before it (``2014-06`` is later
    than ``2014-05-01``). Ties on the date are broken by the most precise time, then the
    latest time.
    """
    return _pick_dtc(series, by, earliest=False)
