"""Efficacy summary tables: response rates with exact confidence intervals (ORR, DCR, ...)
and time-to-event summaries with Kaplan–Meier medians (PFS, OS, ...), by group.

Like :mod:`cdisc_convert.report.tables`, each function takes ADaM frames and explicit
parameters and returns a :class:`~cdisc_convert.report.tables.Table` whose cells are
formatted from its analysis results data (ARD). Which parameters a study shows, with which
labels and responder values, is declared in its ``report.yaml`` (docs/report.md).

Rules:

* a **rate** is the number of subjects of the column's population whose ADRS record of the
  parameter has AVALC in the declared responder values (default ``Y``; e.g. ``CR``/``PR`` of
  a best-overall-response parameter for the objective response rate), over the column's N;
  a subject without a record is a non-responder (the ITT convention). Its 95% CI is the exact
  Clopper–Pearson interval (beta quantiles, scipy), the usual interval of a single-arm
  response rate;
* a **time-to-event** parameter (ADTTE, AVAL in days, CNSR 0 = event) is summarised per
  column by the subjects with a usable record, events and censorings n (%), and the
  Kaplan–Meier median with its 95% CI (lifelines; the limits are where the pointwise 95%
  band, exponential Greenwood i.e. log(-log) transformed, crosses 50%: Brookmeyer–Crowley
  with the transform SAS PROC LIFETEST uses by default), in the declared unit (weeks = days/7, months = days/30.4375). A median or limit
  the estimate does not reach is shown as ``NE`` and is missing (NaN) in the ARD.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .results import DAYS_PER, clopper_pearson, usable_tte
from .tables import (Table, as_text, group_header, n_pct, percent, population_subjects,
                     positions_of, require_columns, table_header, with_total)

__all__ = ["table_rates", "table_time_to_event", "km_median_days"]


def _fmt(value: float, digits: int = 1) -> str:
    return "NE" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def table_rates(adrs: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str, by: str,
                rates: Sequence[tuple[str, str, Sequence[str]]],
                population: str | None = None, level: float = 0.95, total: bool = True,
                group_order: Sequence[str] | None = None) -> Table:
    """Response rates by group: for each ``(label, paramcd, responder values)`` the subjects
    whose ADRS ``paramcd`` record has AVALC among the values, n (%) of the column's N, and
    the exact (Clopper–Pearson) ``level`` CI of the proportion in percent. Subjects without
    a record count as non-responders. ARD statistics per rate: n, pct, LCL, UCL."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adrs, ["USUBJID", "PARAMCD", "AVALC"], "table_rates", "ADRS")
    everyone = with_total(subjects, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
    # each parameter's records (with the two columns read) from one grouping of ADRS, not
    # one comparison of every record and a copy of every column per rate
    positions = positions_of(adrs["PARAMCD"], [paramcd for _, paramcd, _ in rates])
    narrow = adrs[["USUBJID", "AVALC"]]
    for label, paramcd, values in rates:
        recs = narrow.iloc[positions.get(paramcd, [])]
        responders = set(recs.loc[as_text(recs["AVALC"]).isin([str(v) for v in values]).to_numpy(),
                                  "USUBJID"])
        counts = (everyone[everyone["USUBJID"].isin(responders)].groupby(by)["USUBJID"]
                  .nunique().reindex(groups, fill_value=0))
        cells, cis = [], []
        for g in groups:
            n = int(b.stat(g, label, "n", counts[g]))
            b.stat(g, label, "pct", percent(n, big_n[g]))
            low, high = clopper_pearson(n, big_n[g], level) if big_n[g] else (np.nan, np.nan)
            b.stat(g, label, "LCL", 100 * low)
            b.stat(g, label, "UCL", 100 * high)
            cells.append(n_pct(n, big_n[g]))
            cis.append(f"({_fmt(100 * low)}, {_fmt(100 * high)})" if big_n[g] else "")
        b.row(label, cells, 0)
        b.row(f"{level:.0%} CI (exact)", cis, 1)
    condition = "; ".join(f"{label}: {paramcd} in ({', '.join(map(str, values))})"
                          for label, paramcd, values in rates)
    footnotes = [f"Responders: subjects whose ADRS record has AVALC in the values named "
                 f"({condition}); a subject without a record is a non-responder.",
                 f"{level:.0%} CI: exact (Clopper-Pearson) binomial interval, in percent.",
                 "Percentages are of N, the subjects of the population in the column."]
    return Table(output, title, population or "all subjects",
                 group_header("Response", groups, big_n), b.rows, b.indent, b.frame(),
                 footnotes)


def km_median_days(aval: pd.Series, cnsr: pd.Series) -> tuple[float, float, float]:
    """Kaplan–Meier median of ``aval`` (days) with the 95% CI, unrounded; NaN for a median or
    limit the curve does not reach (or no records)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    if len(aval) == 0:
        return np.nan, np.nan, np.nan
    fitter = KaplanMeierFitter().fit(aval.astype(float), event_observed=1 - cnsr.astype(int))
    ci = median_survival_times(fitter.confidence_interval_)

    def finite(v) -> float:
        return float(v) if v is not None and np.isfinite(v) else np.nan

    return (finite(fitter.median_survival_time_), finite(ci.iloc[0, 0]),
            finite(ci.iloc[0, 1]))


def table_time_to_event(adtte: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                        by: str, parameters: Sequence[tuple[str, str, str]],
                        population: str | None = None, total: bool = True,
                        group_order: Sequence[str] | None = None) -> Table:
    """Time-to-event summary by group for each ``(paramcd, label, unit)`` of ADTTE: subjects
    with a usable record (AVAL >= 0 days, CNSR 0/1), events and censored n (%) of them, and
    the Kaplan–Meier median with its 95% CI in ``unit`` (days, weeks, months). ARD rows per
    parameter: ``<label>`` (N), ``<label>: Events`` and ``<label>: Censored`` (n, pct),
    ``<label>: Median`` (MEDIAN, MEDLCL, MEDUCL, in ``unit``)."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adtte, ["USUBJID", "PARAMCD", "AVAL", "CNSR"], "table_time_to_event",
                    "ADTTE")
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
    for paramcd, label, unit in parameters:
        recs = usable_tte(adtte[adtte["PARAMCD"] == paramcd])
        recs = with_total(recs[["USUBJID", "AVAL", "CNSR"]].merge(subjects, on="USUBJID"),
                          by, total)
        recs = recs.assign(AVAL=pd.to_numeric(recs["AVAL"]), CNSR=pd.to_numeric(recs["CNSR"]))
        b.row(label, [""] * len(groups), 0)
        rows = {"Subjects": [], "Events": [], "Censored": [], "Median": []}
        for g in groups:
            mine = recs[recs[by] == g]
            n = int(b.stat(g, label, "N", len(mine)))
            rows["Subjects"].append(str(n))
            for name, value in (("Events", 0), ("Censored", 1)):
                k = int(b.stat(g, f"{label}: {name}", "n", int((mine["CNSR"] == value).sum())))
                b.stat(g, f"{label}: {name}", "pct", percent(k, n))
                rows[name].append(n_pct(k, n))
            median, low, high = (v / DAYS_PER[unit] for v in km_median_days(mine["AVAL"],
                                                                            mine["CNSR"]))
            for stat, value in (("MEDIAN", median), ("MEDLCL", low), ("MEDUCL", high)):
                b.stat(g, f"{label}: Median", stat, value)
            rows["Median"].append(f"{_fmt(median)} ({_fmt(low)}, {_fmt(high)})" if n else "")
        for name, cells in rows.items():
            text = {"Subjects": "Subjects analysed", "Events": "Events, n (%)",
                    "Censored": "Censored, n (%)",
                    "Median": f"Median ({unit}) (95% CI)"}[name]
            b.row(text, cells, 1)
    footnotes = ["Kaplan-Meier estimates (lifelines); 95% CI of the median from the pointwise "
                 "log(-log) confidence band. NE: not estimable (not reached).",
                 "Months are days/30.4375, weeks days/7. Percentages are of the subjects "
                 "analysed in the column."]
    return Table(output, title, population or "all subjects",
                 group_header("Parameter", groups, big_n), b.rows, b.indent, b.frame(),
                 footnotes)
