"""ISO 8601 partial dates to analysis dates, with admiral's imputation rules.

SDTM keeps dates as ISO 8601 text that may be partial (``2019-02``, ``2019``, ``2019---01``,
``2019-02-03T10``). ADaM needs numeric dates. These functions follow the documented behaviour
of admiral's ``derive_vars_dt()`` / ``derive_vars_dtm()``:

* ``highest_imputation`` is the highest component that may be filled in: ``"n"`` (none, only
  complete dates), ``"D"`` (day), ``"M"`` (month and day), ``"Y"`` (year too — only possible
  through ``min_dates`` / ``max_dates``, as in admiral). For datetimes also ``"h"``, ``"m"``,
  ``"s"`` (time parts only; the date must be complete). If a component above the highest
  level is missing the result is missing (NaT).
* ``date_imputation``: ``"first"`` (month 01, day 01), ``"mid"`` (month and day missing →
  06-30, only day missing → 15), ``"last"`` (month 12, last day of the month) or an explicit
  ``"MM-DD"`` (the day is clipped to the length of the month).
* ``time_imputation``: ``"first"`` (00:00:00), ``"last"`` (23:59:59) or ``"HH:MM:SS"``.
* With ``preserve=False`` (admiral's default) everything after the first missing component
  is imputed, so ``2019---01`` is read as ``2019``; ``preserve=True`` keeps the known day.
* ``min_dates`` / ``max_dates`` (column names): the imputed date is moved to the latest
  min date / earliest max date when that date lies within the range of dates the partial
  value allows (e.g. an AE start ``2019-02`` imputed to ``2019-02-01`` becomes the treatment
  start ``2019-02-11``). Complete dates are never changed.
* Flags: ``--DTF`` is ``"Y"``, ``"M"`` or ``"D"`` for the highest date component imputed
  (missing when none); ``--TMF`` is ``"H"``, ``"M"`` or ``"S"`` for the highest time
  component imputed (a date-only value imputed to a datetime gets ``"H"``, as admiral's
  TRTSTMF). With ``ignore_seconds_flag=True`` a missing second alone is not flagged.

All work is vectorised: each distinct text value is parsed once (``pandas.factorize``) and
imputation is done with numpy on whole columns.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from cdisc_convert.core.arrays import filled
from cdisc_convert.core.iso8601 import (DTC_COMPONENTS, days_in_month, distinct_dtc_components,
                                         parse_dtc)

__all__ = [
    "parse_dtc",
    "impute_dtc_dt",
    "impute_dtc_dtm",
    "convert_dtc_to_dt",
    "convert_dtc_to_dtm",
    "derive_vars_dt",
    "derive_vars_dtm",
    "derive_vars_dtm_to_dt",
    "date_imputation_text",
    "as_datetime",
    "datetime_imputation_text",
]

_COMPONENTS = list(DTC_COMPONENTS)
# imputation levels from the lowest to the highest component
_DATE_LEVELS = {"n": 0, "D": 1, "M": 2, "Y": 3}
_DTM_LEVELS = {"n": 0, "s": 1, "m": 2, "h": 3, "D": 4, "M": 5, "Y": 6}


def as_datetime(values: pd.Series) -> pd.Series:
    """``values`` as datetime64: unchanged when they already are (``pd.to_datetime`` on a
    datetime column still samples it value by value to decide on caching, 10 ms a call on
    150,000 records), else ``pd.to_datetime``."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return pd.to_datetime(values)


def _take(values, codes: np.ndarray, index) -> pd.Series:
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    return pd.Series(arr[codes], index=index)


def _month_length(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Days in the month of float year/month components (a missing year counts as leap,
    a missing month as January), as floats like the components."""
    y = np.where(np.isnan(year), 2000, year).astype(np.int64)
    m = np.clip(np.where(np.isnan(month), 1, month), 1, 12).astype(np.int64)
    return days_in_month(y, m).astype(float)


def _first_missing(parts: pd.DataFrame, components: Sequence[str]) -> np.ndarray:
    """Index (0 = year ...) of the first missing component, len(components) if complete."""
    present = parts[list(components)].notna().to_numpy()
    missing = ~present
    first = np.where(missing.any(axis=1), missing.argmax(axis=1), len(components))
    return first


def _parse_mmdd(text: str) -> tuple[int, int]:
    try:
        month, day = (int(x) for x in text.split("-"))
    except Exception as exc:  # noqa: BLE001
        raise ValueError(
            f"date_imputation must be first, mid, last or MM-DD, got {text!r}") from exc
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise ValueError(f"date_imputation {text!r} is not a valid month-day")
    return month, day


def _impute_date_parts(parts: pd.DataFrame, highest_imputation: str, date_imputation: str,
                       preserve: bool, levels: dict[str, int], date_level_offset: int):
    """Impute year/month/day in place; return (parts, dtf flags, imputable mask)."""
    y = parts["Y"].to_numpy(copy=True)
    m = parts["M"].to_numpy(copy=True)
    d = parts["D"].to_numpy(copy=True)
    first = _first_missing(parts, ["Y", "M", "D"])  # 0: year missing, 1: month, 2: day, 3: none
    # the level needed to fill the date: Y missing -> Y, M missing -> M, D missing -> D
    need = np.select([first == 0, first == 1, first == 2], [3, 2, 1], 0)
    highest = levels[highest_imputation] - date_level_offset
    allowed = need <= max(highest, 0)
    all_missing = parts[_COMPONENTS].isna().all(axis=1).to_numpy()
    if "invalid" in parts.columns:
        allowed &= ~parts["invalid"].to_numpy()

    month_missing = np.isnan(m) | ((not preserve) & (first <= 1))
    day_missing = np.isnan(d) | ((not preserve) & (first <= 2))
    month_missing &= first < 3
    day_missing &= first < 3

    kind = date_imputation.lower() if isinstance(date_imputation, str) else date_imputation
    if kind == "first":
        m = np.where(month_missing, 1, m)
        d = np.where(day_missing, 1, d)
    elif kind == "mid":
        d = np.where(day_missing, np.where(month_missing, 30, 15), d)
        m = np.where(month_missing, 6, m)
    elif kind == "last":
        m = np.where(month_missing, 12, m)
        dim = _month_length(y, m)
        d = np.where(day_missing, dim, d)
    else:
        mm, dd = _parse_mmdd(str(date_imputation))
        m = np.where(month_missing, mm, m)
        dim = _month_length(y, m)
        d = np.where(day_missing, np.minimum(dd, dim), d)
    dtf = np.select([first == 0, month_missing, day_missing], ["Y", "M", "D"], "")
    dtf = np.where(allowed & ~all_missing, dtf, "")
    parts = parts.copy()
    parts["Y"], parts["M"], parts["D"] = y, m, d
    return parts, dtf, allowed & ~all_missing, first


def _range_of_possible(parts_raw: pd.DataFrame, first: np.ndarray, preserve: bool):
    """Earliest and latest calendar dates a partial date can stand for."""
    lo = _impute_date_parts(parts_raw, "M", "first", preserve, _DATE_LEVELS, 0)[0]
    hi = _impute_date_parts(parts_raw, "M", "last", preserve, _DATE_LEVELS, 0)[0]
    lo_dt = _assemble(lo, with_time=False)
    hi_dt = _assemble(hi, with_time=False)
    year_missing = first == 0
    lo_dt = lo_dt.where(~year_missing, pd.Timestamp("1678-01-01"))
    hi_dt = hi_dt.where(~year_missing, pd.Timestamp("2261-12-31"))
    return lo_dt, hi_dt


def _assemble(parts: pd.DataFrame, with_time: bool) -> pd.Series:
    cols = {"year": parts["Y"], "month": parts["M"], "day": parts["D"]}
    if with_time:
        cols.update(hour=parts["h"], minute=parts["m"], second=parts["s"])
    frame = pd.DataFrame(cols)
    bad = frame.isna().any(axis=1)
    frame = frame.fillna(1)
    out = pd.to_datetime(frame, errors="coerce")
    out[bad.to_numpy()] = pd.NaT
    out.index = parts.index
    return out.astype("datetime64[ns]")


def _restrict(result: pd.Series, frame: pd.DataFrame | None, lo: pd.Series, hi: pd.Series,
              min_dates, max_dates) -> pd.Series:
    """Move imputed dates to min/max dates lying in the range the partial date allows."""
    if frame is None:
        raise ValueError("min_dates/max_dates need the frame that holds those columns")
    for col in min_dates or []:
        ref = pd.to_datetime(frame[col]).dt.normalize()
        inside = ref.notna() & (ref >= lo) & (ref <= hi)
        result = result.where(~(inside & (result.isna() | (ref > result))), ref)
    for col in max_dates or []:
        ref = pd.to_datetime(frame[col]).dt.normalize()
        inside = ref.notna() & (ref >= lo) & (ref <= hi)
        result = result.where(~(inside & (result.isna() | (ref < result))), ref)
    return result


def _date_core(raw: pd.DataFrame, highest_imputation: str, date_imputation: str, preserve: bool,
               levels: dict[str, int], offset: int):
    parts, dtf, allowed, first = _impute_date_parts(raw, highest_imputation, date_imputation,
                                                    preserve, levels, offset)
    eligible = (allowed | ((highest_imputation == "Y") & (first == 0))) & ~raw["invalid"].to_numpy()
    return parts, dtf, allowed, first, eligible


def impute_dtc_dt(dtc: pd.Series, *, highest_imputation: str = "n", date_imputation: str = "first",
                  preserve: bool = False, min_dates: Iterable[str] | None = None,
                  max_dates: Iterable[str] | None = None, frame: pd.DataFrame | None = None,
                  ) -> tuple[pd.Series, pd.Series]:
    """Impute a column of ISO 8601 text to dates. Returns ``(date, DTF flag)``.

    See the module docstring for the rules. A year can only be imputed from ``min_dates``
    (``date_imputation="first"``) or ``max_dates`` (``"last"``), as in admiral. The work is
    done once per distinct text value.
    """
    if highest_imputation not in _DATE_LEVELS:
        raise ValueError(
            f"highest_imputation must be one of n, D, M, Y; got {highest_imputation!r}")
    codes, raw = distinct_dtc_components(dtc)
    parts, dtf, allowed, first, eligible = _date_core(raw, highest_imputation, date_imputation,
                                                      preserve, _DATE_LEVELS, 0)
    result_u = _assemble(parts, with_time=False).where(allowed & (first != 0), pd.NaT)
    result = _take(result_u, codes, dtc.index).astype("datetime64[ns]")
    first_r = first[codes]
    # the flags as objects per distinct text, spread by position: a numpy text array per
    # record would become one new str object per record in the flag column
    dtf = dtf.astype(object)
    dtf_r, flagged = dtf[codes], (dtf != "")[codes]
    if min_dates or max_dates:
        lo, hi = _range_of_possible(raw, first, preserve)
        elig = eligible[codes]
        lo_r = _take(lo, codes, dtc.index).astype("datetime64[ns]").where(elig)
        hi_r = _take(hi, codes, dtc.index).astype("datetime64[ns]").where(elig)
        result = _restrict(result, frame, lo_r, hi_r, min_dates, max_dates)
        year = (first_r == 0) & (highest_imputation == "Y")
        dtf_r, flagged = np.where(year, "Y", dtf_r), flagged | year
    flag = pd.Series(dtf_r, index=dtc.index, dtype=object).where(
        result.notna().to_numpy() & flagged, None)
    return result.rename(None), flag


def impute_dtc_dtm(dtc: pd.Series, *, highest_imputation: str = "h", date_imputation: str = "first",
                   time_imputation: str = "first", preserve: bool = False,
                   ignore_seconds_flag: bool = False, min_dates: Iterable[str] | None = None,
                   max_dates: Iterable[str] | None = None, frame: pd.DataFrame | None = None,
                   ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Impute a column of ISO 8601 text to datetimes. Returns ``(datetime, DTF, TMF)``."""
    if highest_imputation not in _DTM_LEVELS:
        raise ValueError("highest_imputation must be one of n, s, m, h, D, M, Y; "
                         f"got {highest_imputation!r}")
    tkind = time_imputation.lower() if isinstance(time_imputation, str) else time_imputation
    if tkind == "first":
        fill = (0, 0, 0)
    elif tkind == "last":
        fill = (23, 59, 59)
    else:
        try:
            fill = tuple(int(x) for x in str(time_imputation).split(":"))
            assert len(fill) == 3
        except Exception as exc:  # noqa: BLE001
            raise ValueError("time_imputation must be first, last or HH:MM:SS, "
                             f"got {time_imputation!r}") from exc
    codes, raw = distinct_dtc_components(dtc)
    parts, dtf, date_allowed, first, eligible = _date_core(raw, highest_imputation,
                                                           date_imputation, preserve,
                                                           _DTM_LEVELS, 3)
    date_complete = first == 3
    tfirst = _first_missing(raw, ["h", "m", "s"])  # 0 hour missing .. 3 complete
    tfirst = np.where(date_complete, tfirst, 0)  # an imputed date means an imputed time
    tneed = np.select([tfirst == 0, tfirst == 1, tfirst == 2], [3, 2, 1], 0)
    time_allowed = tneed <= _DTM_LEVELS[highest_imputation]
    h = parts["h"].to_numpy(copy=True)
    mi = parts["m"].to_numpy(copy=True)
    sec = parts["s"].to_numpy(copy=True)
    h_missing = np.isnan(h) | ((not preserve) & (tfirst <= 0))
    m_missing = np.isnan(mi) | ((not preserve) & (tfirst <= 1))
    s_missing = np.isnan(sec) | ((not preserve) & (tfirst <= 2))
    parts = parts.copy()
    parts["h"] = np.where(h_missing, fill[0], h)
    parts["m"] = np.where(m_missing, fill[1], mi)
    parts["s"] = np.where(s_missing, fill[2], sec)
    ok = date_allowed & time_allowed & (first != 0)
    result_u = _assemble(parts, with_time=True).where(ok, pd.NaT)
    tmf = np.select([h_missing, m_missing, s_missing & (not ignore_seconds_flag)],
                    ["H", "M", "S"], "")
    result = _take(result_u, codes, dtc.index).astype("datetime64[ns]")
    dtf, tmf = dtf.astype(object), tmf.astype(object)  # shared objects, as impute_dtc_dt
    dtf_r, tmf_r, first_r = dtf[codes], tmf[codes], first[codes]
    dtf_set, tmf_set = (dtf != "")[codes], (tmf != "")[codes]
    if min_dates or max_dates:
        lo, hi = _range_of_possible(raw, first, preserve)
        elig = eligible[codes]
        lo_r = _take(lo, codes, dtc.index).astype("datetime64[ns]").where(elig)
        hi_r = _take(hi, codes, dtc.index).astype("datetime64[ns]").where(elig)
        day = _restrict(result.dt.normalize(), frame, lo_r, hi_r, min_dates, max_dates)
        moved = day.notna() & (day != result.dt.normalize())
        result = result.where(~moved, day + pd.to_timedelta(
            _take(parts["h"] * 3600 + parts["m"] * 60 + parts["s"], codes, dtc.index), unit="s"))
        year_moved = (first_r == 0) & (highest_imputation == "Y") & moved.to_numpy()
        dtf_r, dtf_set = np.where(year_moved, "Y", dtf_r), dtf_set | year_moved
        hour = (first_r == 0) & moved.to_numpy()
        tmf_r, tmf_set = np.where(hour, "H", tmf_r), tmf_set | hour
    valid = result.notna().to_numpy()
    dtf_s = pd.Series(dtf_r, index=dtc.index, dtype=object).where(valid & dtf_set, None)
    tmf_s = pd.Series(tmf_r, index=dtc.index, dtype=object).where(valid & tmf_set, None)
    return result.rename(None), dtf_s, tmf_s


def convert_dtc_to_dt(dtc: pd.Series, *, highest_imputation: str = "n",
                      date_imputation: str = "first", preserve: bool = False) -> pd.Series:
    """Like admiral's ``convert_dtc_to_dt()``: the imputed date only, no flag."""
    return impute_dtc_dt(dtc, highest_imputation=highest_imputation,
                         date_imputation=date_imputation, preserve=preserve)[0]


def convert_dtc_to_dtm(dtc: pd.Series, *, highest_imputation: str = "h",
                       date_imputation: str = "first", time_imputation: str = "first",
                       preserve: bool = False) -> pd.Series:
    """Like admiral's ``convert_dtc_to_dtm()``: the imputed datetime only."""
    return impute_dtc_dtm(dtc, highest_imputation=highest_imputation,
                          date_imputation=date_imputation, time_imputation=time_imputation,
                          preserve=preserve)[0]


def _none_column(frame: pd.DataFrame) -> pd.Series:
    return pd.Series(filled(len(frame), None), index=frame.index)


def derive_vars_dt(frame: pd.DataFrame, new_prefix: str, dtc: str, *,
                   highest_imputation: str = "n", date_imputation: str = "first",
                   flag: bool = True, preserve: bool = False,
                   min_dates: Iterable[str] | None = None,
                   max_dates: Iterable[str] | None = None) -> pd.DataFrame:
    """Add ``<prefix>DT`` (datetime64 date) and, with ``flag``, ``<prefix>DTF`` from ``dtc``.

    Rule (admiral ``derive_vars_dt``): complete dates are taken as they are; partial dates are
    imputed up to ``highest_imputation`` with ``date_imputation``; ``<prefix>DTF`` is
    ``D``/``M``/``Y`` for the highest component imputed. Example: ``2014-02`` with
    ``highest_imputation="D", date_imputation="last"`` → 2014-02-28, DTF ``D``; with the
    default ``"n"`` → missing.
    """
    out = frame.copy()
    if dtc not in out.columns:
        out[f"{new_prefix}DT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        if flag:
            out[f"{new_prefix}DTF"] = _none_column(out)
        return out
    date, dtf = impute_dtc_dt(out[dtc], highest_imputation=highest_imputation,
                              date_imputation=date_imputation, preserve=preserve,
                              min_dates=min_dates, max_dates=max_dates, frame=out)
    out[f"{new_prefix}DT"] = date
    if flag:
        out[f"{new_prefix}DTF"] = dtf
    return out


def derive_vars_dtm(frame: pd.DataFrame, new_prefix: str, dtc: str, *,
                    highest_imputation: str = "h", date_imputation: str = "first",
                    time_imputation: str = "first", flag: bool = True, preserve: bool = False,
                    ignore_seconds_flag: bool = False, min_dates: Iterable[str] | None = None,
                    max_dates: Iterable[str] | None = None) -> pd.DataFrame:
    """Add ``<prefix>DTM``, ``<prefix>DTF`` and ``<prefix>TMF`` from ISO 8601 text ``dtc``.

    Rule (admiral ``derive_vars_dtm``): the default ``highest_imputation="h"`` imputes time
    parts only (the date must be complete); ``time_imputation`` ``first`` gives 00:00:00 and
    ``last`` 23:59:59. ``TMF`` is ``H``/``M``/``S`` for the highest time part imputed, so
    ``2014-01-02`` → 2014-01-02T00:00:00 with TMF ``H`` (admiral's TRTSDTM/TRTSTMF).
    ``DTF`` is only added when ``highest_imputation`` allows date imputation (D, M, Y).
    """
    out = frame.copy()
    date_level = _DTM_LEVELS.get(highest_imputation, 0) >= _DTM_LEVELS["D"]
    if dtc not in out.columns:
        out[f"{new_prefix}DTM"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        if flag:
            if date_level:
                out[f"{new_prefix}DTF"] = _none_column(out)
            out[f"{new_prefix}TMF"] = _none_column(out)
        return out
    dtm, dtf, tmf = impute_dtc_dtm(out[dtc], highest_imputation=highest_imputation,
                                   date_imputation=date_imputation,
                                   time_imputation=time_imputation, preserve=preserve,
                                   ignore_seconds_flag=ignore_seconds_flag,
                                   min_dates=min_dates, max_dates=max_dates, frame=out)
    out[f"{new_prefix}DTM"] = dtm
    if flag:
        if date_level:
            out[f"{new_prefix}DTF"] = dtf
        out[f"{new_prefix}TMF"] = tmf
    return out


def derive_vars_dtm_to_dt(frame: pd.DataFrame, source_vars: Sequence[str]) -> pd.DataFrame:
    """For each ``xxDTM`` column add ``xxDT``, its calendar date (admiral
    ``derive_vars_dtm_to_dt``)."""
    out = frame.copy()
    for var in source_vars:
        if not var.endswith("DTM"):
            raise ValueError(f"{var} does not end in DTM")
        out[var[:-1]] = pd.to_datetime(out[var]).dt.normalize()
    return out


# --------------------------------------------------------------------------- method texts
_LEVEL_TEXT = {"D": "day", "M": "month and day", "Y": "year, month and day"}
_TIME_LEVEL = {"h": "hours, minutes and seconds", "m": "minutes and seconds",
               "s": "seconds"}


def date_imputation_text(rule) -> str:
    """What :func:`impute_dtc_dt` does with ``rule`` (``highest_imputation``,
    ``date_imputation``), as define.xml method text."""
    level = rule.highest_imputation
    if level == "n":
        return "only complete dates are used"
    if level in _LEVEL_TEXT:
        return (f"a missing {_LEVEL_TEXT[level]} is imputed to the {rule.date_imputation} "
                f"{'day' if level == 'D' else 'date'} possible")
    return f"imputation level {level!r}"


def datetime_imputation_text(rule) -> str:
    """What :func:`impute_dtc_dtm` does with ``rule`` (also ``time_imputation``), as
    define.xml method text."""
    level = rule.highest_imputation
    time = {"first": "00:00:00", "last": "23:59:59"}.get(rule.time_imputation,
                                                         rule.time_imputation)
    if level == "n":
        return "only complete datetimes are used"
    if level in _TIME_LEVEL:
        return f"missing {_TIME_LEVEL[level]} are imputed from {time} (the date must be complete)"
    return (f"missing date parts are imputed ({date_imputation_text(rule)}) and a missing "
            f"time from {time}")
