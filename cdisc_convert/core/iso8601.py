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

Every reader of --DTC text here (:func:`is_iso8601`, :func:`is_complete_date`,
:func:`comparable_iso`/:func:`compare_iso`, :func:`parse_dtc` for imputation,
:func:`iso_to_date`, :func:`study_day`) calls one parser with one grammar
(:func:`_analyse_iso`): what differs between them is which of its answers they use.

Raw EDC dates are turned into these values by :mod:`cdisc_convert.sdtm.rawdates`; the
text work here runs once per distinct value through :mod:`.textshapes`.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .arrays import combine_codes
from .textshapes import digit_span, distinct_text, layout_table, read_digits, shapes_and_reps

__all__ = [
    "comparable_date_part",
    "comparable_iso",
    "compare_iso",
    "date_precision",
    "DTC_COMPONENTS",
    "days_in_month",
    "distinct_dtc_components",
    "earliest_dtc",
    "is_calendar_date",
    "is_complete_date",
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


# --------------------------------------------------------------------------- the parser

# The one grammar of --DTC text. It is the lenient superset every reader needs: "-" for an
# unknown part anywhere, an empty part after its separator, a time without a date, a
# fraction written with "," and a time zone (imputation reads those); whether a value is a
# legal SDTM --DTC value is then decided from the parts (see _dtc_layout). It runs on the
# blank-stripped, upper-cased text of one value per shape (:mod:`.textshapes`).
_DTC_GRAMMAR = re.compile(
    r"^(?P<year>\d{4}|-)?"
    r"(?:-(?P<month>\d{2}|-)?(?:-(?P<day>\d{2}|-)?)?)?"
    r"(?:T(?P<hh>\d{2}|-)?(?::(?P<mi>\d{2}|-)?(?::(?P<ss>\d{2}|-)?(?P<fr>[.,]\d+)?)?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_ISO_PARTS = ("year", "month", "day", "hh", "mi", "ss")
_SEPARATORS = ("", "-", "-", "T", ":", ":")
_ISO_FIELDS = ("matched", "strict", "placeholder") + tuple(
    f"{p}_{k}" for p in _ISO_PARTS for k in ("start", "len"))


def _dtc_layout(text: str) -> tuple[dict[str, int] | None, None]:
    """Where the parts of one --DTC text sit, and whether its *structure* is legal SDTM.

    matched: the grammar reads it (what imputation needs). The structure is legal when the
    value is exactly its parts from the year down, each after its separator, with no part
    skipped, no time zone and a fraction written with "." after the seconds (a time thus
    needs a day part). strict: right truncation only (every part written is known).
    placeholder: a missing middle part may be written "-" (SDTMIG), but the last part
    written must be known and a fraction needs its seconds.
    """
    match = _DTC_GRAMMAR.match(text)
    if match is None:
        return None, None
    layout = dict.fromkeys(_ISO_FIELDS, 0)
    layout["matched"] = 1
    for part in _ISO_PARTS:
        layout[f"{part}_start"], layout[f"{part}_len"] = digit_span(match, part)
    canonical, known = "", []
    for part, separator in zip(_ISO_PARTS, _SEPARATORS):
        if match.group(part) is None:
            break
        canonical += separator + match.group(part)
        known.append(layout[f"{part}_len"] > 0)
    fraction = match.group("fr")
    if fraction is not None and len(known) == len(_ISO_PARTS):
        canonical += fraction
    legal = bool(known) and canonical == text and (fraction is None or fraction[0] == ".")
    fraction_ok = fraction is None or layout["ss_len"] > 0
    layout["strict"] = int(legal and all(known) and fraction_ok)
    layout["placeholder"] = int(legal and known[-1] and fraction_ok) if known else 0
    return layout, None


def _analyse_iso(series: pd.Series) -> tuple[np.ndarray, dict]:
    """Read --DTC values: (code per row, per distinct value (the last entry stands for
    missing values): the arrays below).

    matched, strict, placeholder: see :func:`_dtc_layout`; in_range: every known part is
    within its range (month 1-12, day within its month, where an unknown year may be a
    leap year, hour 0-23, minute and second 0-59); <part>_known and <part>: each part and
    whether it is written in digits; blank: nothing but blanks; text: the stripped,
    upper-cased text of each distinct value, as a character matrix with its lengths.
    """
    codes, text = distinct_text(series)
    chars, length, shape, reps = shapes_and_reps(text)
    table, _ = layout_table(reps, _dtc_layout, _ISO_FIELDS)
    lay = {f: a[shape] for f, a in table.items()}
    matched = lay["matched"] == 1
    out = {"matched": matched, "strict": lay["strict"] == 1,
           "placeholder": lay["placeholder"] == 1, "blank": length == 0,
           "chars": chars, "length": length}
    for name in _ISO_PARTS:
        known = matched & (lay[f"{name}_len"] > 0)
        out[f"{name}_known"] = known
        out[name] = read_digits(chars, lay[f"{name}_start"], lay[f"{name}_len"] * known,
                                4 if name == "year" else 2)
    month_ok = out["month_known"] & (out["month"] >= 1) & (out["month"] <= 12)
    # With the year unknown ("--02-29") February may have 29 days.
    dim = days_in_month(np.where(out["year_known"], out["year"], 2000),
                        np.where(month_ok, out["month"], 0))
    in_range = ~out["month_known"] | month_ok
    in_range &= ~out["day_known"] | ((out["day"] >= 1)
                                     & (out["day"] <= np.where(out["month_known"], dim, 31)))
    in_range &= ~out["hh_known"] | (out["hh"] <= 23)
    in_range &= ~out["mi_known"] | (out["mi"] <= 59)
    in_range &= ~out["ss_known"] | (out["ss"] <= 59)
    out["in_range"] = in_range
    out["valid"] = out["placeholder"] & in_range
    out["valid_strict"] = out["strict"] & in_range
    out["complete"] = out["valid"] & out["year_known"] & out["month_known"] & out["day_known"]
    return codes, out


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
    codes, parts = _analyse_iso(series)
    valid = parts["valid"] if allow_placeholders else parts["valid_strict"]
    return pd.Series(valid[codes], index=series.index, dtype=bool, name=series.name)



def is_complete_date(series: pd.Series, *, allow_placeholders: bool = True) -> pd.Series:
    """Boolean Series: a legal --DTC value (see :func:`is_iso8601`) whose date is known to
    the day; a time may follow (``2014-03-05``, ``2014-03-05T10:30``; not ``2014-03`` or
    ``2014---05``)."""
    series = series if isinstance(series, pd.Series) else pd.Series(series)
    codes, parts = _analyse_iso(series)
    complete = parts["complete"] if allow_placeholders else (
        parts["complete"] & parts["valid_strict"])
    return pd.Series(complete[codes], index=series.index, dtype=bool, name=series.name)


def is_calendar_date(series: pd.Series) -> pd.Series:
    """Boolean Series: is each value exactly a complete calendar date ``YYYY-MM-DD``
    (ISO 8601 extended format, a real day of a real month), with no time part and no
    blanks around it? The shape of Dataset-JSON's and Define-XML's ``date`` type; an
    SDTM --DTC value may carry more (see :func:`is_complete_date`)."""
    series = series if isinstance(series, pd.Series) else pd.Series(series, dtype=object)
    codes, parts = _analyse_iso(series)
    no_time = parts["complete"] & parts["valid_strict"] & (parts["length"] == 10)
    exact = pd.Series(series, dtype=object).str.len().eq(10).to_numpy()  # nothing stripped
    return pd.Series(no_time[codes] & exact, index=series.index, dtype=bool, name=series.name)


def date_precision(series: pd.Series) -> pd.Series:
    """How much of its date a legal right-truncated --DTC value knows (as
    :func:`is_iso8601` with ``allow_placeholders=False``): 3 the day (a time may follow),
    2 the month (``2014-03``), 1 the year only (``2014``); 0 for blank, invalid,
    placeholder (``2014---05``) and other values. Int8 Series on ``series.index``."""
    series = series if isinstance(series, pd.Series) else pd.Series(series, dtype=object)
    codes, parts = _analyse_iso(series)
    known = parts["valid_strict"]
    level = np.where(known & parts["day_known"], 3,
                     np.where(known & parts["month_known"], 2,
                              np.where(known & parts["year_known"], 1, 0))).astype(np.int8)
    return pd.Series(level[codes], index=series.index, name=series.name)


def _day_numbers(dtc: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(days since 1970-01-01, complete-to-the-day mask) of --DTC texts or datetimes."""
    if pd.api.types.is_datetime64_any_dtype(dtc):
        complete = dtc.notna().to_numpy()
        naive = dtc.dt.tz_localize(None) if dtc.dt.tz is not None else dtc
        days = naive.dt.normalize().to_numpy(dtype="datetime64[D]")
        return np.where(complete, days.astype(np.int64), 0), complete
    codes, parts = _analyse_iso(dtc)
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

#: the component columns of :func:`parse_dtc`, from the year down
DTC_COMPONENTS = ("Y", "M", "D", "h", "m", "s")


def distinct_dtc_components(dtc: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """(code per row, components of each distinct value): :func:`parse_dtc` before it is
    spread to the rows, for callers that work per distinct value (missing values get a
    code too). The frame's index is 0..k-1."""
    codes, parts = _analyse_iso(pd.Series(dtc, copy=False))
    # what imputation may read: the grammar's parts, known parts within their ranges
    usable = parts["matched"] & parts["in_range"]
    frame = pd.DataFrame({
        column: np.where(usable & parts[f"{name}_known"], parts[name], np.nan)
        for column, name in zip(DTC_COMPONENTS, _ISO_PARTS)})
    none_known = ~np.any([parts[f"{name}_known"] for name in _ISO_PARTS], axis=0)
    frame["invalid"] = ~parts["blank"] & (~usable | none_known)
    return codes, frame


def parse_dtc(dtc: pd.Series) -> pd.DataFrame:
    """Split ISO 8601 (partial) date/time text into numeric components.

    Returns a frame with float columns ``Y, M, D, h, m, s`` (NaN where a component is not
    given or given as ``-``) and a boolean ``invalid`` (text that is not ISO 8601, that
    knows no part, or has a part out of its range such as month 13 or 30 February: never
    imputed, all its components NaN), aligned on ``dtc.index``. It reads more than
    :func:`is_iso8601` accepts, as imputation needs: "-" for an unknown part anywhere,
    a time without a date, a fraction written with "," and a time zone (ignored).
    Surrounding blanks are ignored. Each distinct value is parsed once.
    """
    codes, parsed = distinct_dtc_components(dtc)
    out = parsed.iloc[codes].reset_index(drop=True)
    out.index = dtc.index
    return out


# --------------------------------------------------------------------------- comparing

# Dates are compared as text at their common precision: "2013-04" is neither before nor
# after "2013-04-11" (it cannot be told), "2013-05" is after it.
_ISO_WIDTH = 19  # YYYY-MM-DDTHH:MM:SS; fractions of seconds are not compared


def comparable_iso(values) -> np.ndarray:
    """ISO 8601 date/times that can be compared: legal right-truncated values (as
    :func:`is_iso8601` with ``allow_placeholders=False``, blanks around them removed),
    else ""; values that are not text give ""."""
    series = pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    is_text = np.array([isinstance(u, str) for u in uniques] + [False], dtype=bool)
    distinct = pd.Series(np.append(np.asarray(uniques, dtype=object), ""), dtype=object)
    text_codes, parts = _analyse_iso(distinct.where(is_text, ""))
    ok = parts["valid_strict"][text_codes] & is_text
    chars, length = parts["chars"][text_codes], parts["length"][text_codes]
    table = np.array([chars[i, :length[i]].tobytes().decode("ascii") if ok[i] else ""
                      for i in range(len(ok))], dtype=object)
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


def _prefix_ranks(sorted_dates: np.ndarray, size: int) -> np.ndarray:
    """For each of the sorted distinct date texts, the position (in the same array) of its
    first ``size`` characters, -2 when it is shorter or that prefix is not among them."""
    long = np.array([len(d) >= size for d in sorted_dates], dtype=bool)
    prefixes = np.array([d[:size] for d in sorted_dates], dtype=object)
    at = np.searchsorted(sorted_dates, prefixes)
    found = long & (at < len(sorted_dates))
    found[found] = sorted_dates[at[found]] == prefixes[found]
    return np.where(found, at, -2)


def _dtc_prep(series: pd.Series, by) -> dict:
    """The work :func:`earliest_dtc` and :func:`latest_dtc` share: distinct values checked
    and ranked, and the usable rows' group and date rank."""
    series = series if isinstance(series, pd.Series) else pd.Series(series)
    if by is None:
        keys = pd.Series(0, index=series.index)
    elif isinstance(by, pd.Series):
        keys = by if by.index.equals(series.index) else by.reindex(series.index)
    else:
        keys = pd.Series(np.asarray(by), index=series.index)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    distinct = pd.Series([str(u).strip() for u in uniques] + [""], dtype=object)
    ok = is_iso8601(distinct, allow_placeholders=False).to_numpy().copy()
    ok[-1] = False                                   # missing input
    d_full = distinct.to_numpy(dtype=object)
    d_date = distinct.str.slice(0, 10).to_numpy(dtype=object)
    d_dlen = np.fromiter((len(d) for d in d_date), dtype=np.int64, count=len(d_date))
    d_flen = np.fromiter((len(f) for f in d_full), dtype=np.int64, count=len(d_full))
    # ISO dates (and full values) sort as text: rank the distinct ones once
    date_rank, sorted_dates = pd.factorize(d_date, sort=True)
    sorted_dates = np.asarray(sorted_dates, dtype=object)
    full_rank = pd.factorize(d_full, sort=True)[0]
    usable = ok[codes] & keys.notna().to_numpy()
    picked = codes[usable]
    group, group_keys = pd.factorize(keys[usable].to_numpy())
    return {"series": series, "keys": keys, "by": by, "d_full": d_full, "d_dlen": d_dlen,
            "d_flen": d_flen, "date_rank": date_rank, "sorted_dates": sorted_dates,
            "full_rank": full_rank, "picked": picked, "group": group,
            "group_keys": group_keys}


def _first_per_group(group: np.ndarray, keys: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Positions of the first row of each group (in group order) when rows are ordered by
    ``group`` then by each (non-negative key, its bound) in turn: one integer key and one
    stable argsort when it fits in 62 bits (np.lexsort of four keys took several times
    longer), np.lexsort otherwise."""
    found = combine_codes([(group, int(group.max()) + 1 if len(group) else 1), *keys],
                          len(group))
    if found is None:
        order = np.lexsort(tuple(v for v, _ in reversed(keys)) + (group,))
    else:
        order = np.argsort(found[0], kind="stable")
    sorted_group = group[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_group[1:] != sorted_group[:-1]
    return order[first]


def _pick_dtc(prep: dict, earliest: bool):
    """The choice of :func:`earliest_dtc` / :func:`latest_dtc` (see their docstrings) from
    :func:`_dtc_prep`.

    The text work runs once per distinct value; rows then only carry integer ranks (the
    position of their date and full text in sorted order), so the per-group extreme, the
    tie test and the final choice are integer operations, however many rows there are.
    """
    picked, group, group_keys = prep["picked"], prep["group"], prep["group_keys"]
    date_rank, sorted_dates = prep["date_rank"], prep["sorted_dates"]
    full_rank, d_flen, d_dlen = prep["full_rank"], prep["d_flen"], prep["d_dlen"]
    rank = date_rank[picked]
    n_groups = len(group_keys)
    if earliest:
        extreme = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(extreme, group, rank)
    else:
        extreme = np.full(n_groups, -1, dtype=np.int64)
        np.maximum.at(extreme, group, rank)
    pivot = extreme[group]
    # The candidates are the values that tie with the extreme on their common known part.
    if earliest:
        # values that start with the (maybe partial) minimum: in sorted text they form one
        # run from the minimum on
        pivot_len = np.array([len(d) for d in sorted_dates], dtype=np.int64)
        run_end = np.searchsorted(sorted_dates, np.array(
            [d + "\U0010ffff" for d in sorted_dates], dtype=object))
        candidate = ((rank >= pivot) & (rank < run_end[pivot])
                     & np.isin(pivot_len[pivot], (4, 7, 10)))
    else:
        # values that are truncations of the maximum (to the year, month or day)
        candidate = np.zeros(len(rank), dtype=bool)
        for size in (4, 7, 10):
            candidate |= rank == _prefix_ranks(sorted_dates, size)[pivot]
    cand = picked[candidate]
    cgroup = group[candidate]
    # Most precise date first, then chronological, then most precise time, then time.
    n_dates, n_full = len(sorted_dates) + 1, int(full_rank.max()) + 1 if len(full_rank) else 1
    date_order = date_rank[cand] if earliest else n_dates - 1 - date_rank[cand]
    full_order = full_rank[cand] if earliest else n_full - 1 - full_rank[cand]
    long_d, long_f = int(d_dlen.max()) + 1, int(d_flen.max()) + 1
    best_at = _first_per_group(cgroup, [(long_d - 1 - d_dlen[cand], long_d),
                                        (date_order, n_dates), (long_f - 1 - d_flen[cand], long_f),
                                        (full_order, n_full)])
    best = pd.Series(prep["d_full"][cand[best_at]], index=group_keys[cgroup[best_at]],
                     dtype=object)
    by, keys, series = prep["by"], prep["keys"], prep["series"]
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
    return _pick_dtc(_dtc_prep(series, by), earliest=True)


def latest_dtc(series: pd.Series, by=None):
    """Latest --DTC per group of ``by``; the mirror image of :func:`earliest_dtc`.

    A partial date ties with the dates inside it (``2014`` with ``2014-05-01``; the more
    precise one is chosen) and is later than the dates before it (``2014-06`` is later
    than ``2014-05-01``). Ties on the date are broken by the most precise time, then the
    latest time.
    """
    return _pick_dtc(_dtc_prep(series, by), earliest=False)


def earliest_and_latest_dtc(series: pd.Series, by=None) -> tuple:
    """(:func:`earliest_dtc`, :func:`latest_dtc`) of the same values, which share the
    checking and ranking of the distinct values and groups."""
    prep = _dtc_prep(series, by)
    return _pick_dtc(prep, earliest=True), _pick_dtc(prep, earliest=False)
