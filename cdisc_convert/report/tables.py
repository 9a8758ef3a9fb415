"""Summary tables of a clinical study report, computed from ADaM, with their statistics.

Each ``table_*`` function takes ADaM frames and explicit parameters and returns a
:class:`Table`: the rows as they are displayed (text cells) and the analysis results data
(``Table.ard``, one row per statistic: the table, the group, the row, the statistic's name
and its value), from which the text cells are formatted, so a downstream tool can re-render
the table from the ARD alone (CDISC Analysis Results Standard, ARD). Which tables a study
shows is declared in its ``report.yaml`` (``tables:``, docs/report.md); nothing here names
a study's variables or parameters.

Conventions (the ones of most CSR shells, e.g. the CDISC pilot's tables 14-2.01, 14-5.01):
percentages are of the subjects in the column's population (N in the header), one
decimal; continuous variables show n, mean (SD), median, min-max; an adverse event counts
once per subject at each level (any event, SOC, preferred term); SOCs and terms are listed
by decreasing total count, ties alphabetically.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError

__all__ = ["Table", "table_demographics", "table_adverse_events", "table_response"]

TOTAL = "Total"


@dataclass
class Table:
    """A displayed table and the statistics behind it."""

    id: str
    title: str
    population: str
    header: list[str]                       # first column's title, then one per group
    rows: list[list[str]]                   # text cells; the first is the row label
    indent: list[int]                       # indent level of each row's label
    ard: pd.DataFrame                       # OUTPUT, GROUP, ROW, STAT, VALUE
    footnotes: list[str] = field(default_factory=list)


def _require(frame: pd.DataFrame, columns: Sequence[str], function: str, dataset: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{function} needs {', '.join(missing)} in {dataset}",
                         dataset=dataset, variable=missing[0], rule="REPORT-REQUIRED-VARIABLE")


def _population(adsl: pd.DataFrame, flag: str | None, by: str) -> pd.DataFrame:
    """ADSL subjects of the population (flag = Y), with their group and the Total."""
    _require(adsl, ["USUBJID", by] + ([flag] if flag else []), "population", "ADSL")
    subjects = adsl if not flag else adsl[adsl[flag].astype(str) == "Y"]
    subjects = subjects[["USUBJID", by]].copy()
    subjects[by] = subjects[by].fillna("").astype(str)
    return subjects


def _groups(subjects: pd.DataFrame, by: str, total: bool,
            order: Sequence[str] | None = None) -> list[str]:
    """The columns: ``order`` first (a study's arm order), then other values
    alphabetically, then the Total."""
    present = [g for g in subjects[by].unique() if g != ""]
    listed = [g for g in (order or ()) if g in present]
    groups = listed + sorted(g for g in present if g not in listed)
    return groups + ([TOTAL] if total else [])


def _with_total(frame: pd.DataFrame, by: str, total: bool) -> pd.DataFrame:
    if not total:
        return frame
    everyone = frame.copy()
    everyone[by] = TOTAL
    return pd.concat([frame, everyone], ignore_index=True)


def _pct(n: float, big_n: float) -> float:
    return float(100.0 * n / big_n) if big_n else float("nan")


def _n_pct(n: float, big_n: float) -> str:
    if not big_n:
        return "0"
    return f"{int(n)} ({_pct(n, big_n):.1f})" if n else "0"


class _Builder:
    """Rows and ARD records of one table, added together so they cannot disagree."""

    def __init__(self, output: str, groups: list[str]):
        self.output, self.groups = output, groups
        self.rows: list[list[str]] = []
        self.indent: list[int] = []
        self.ard: list[tuple] = []

    def stat(self, group: str, row: str, name: str, value: float) -> float:
        self.ard.append((self.output, group, row, name, float(value)))
        return value

    def row(self, label: str, cells: list[str], level: int = 0) -> None:
        self.rows.append([label, *cells])
        self.indent.append(level)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.ard, columns=["OUTPUT", "GROUP", "ROW", "STAT", "VALUE"])


def _header(first: str, groups: list[str], big_n: dict[str, int]) -> list[str]:
    return [first] + [f"{g} (N={big_n[g]})" for g in groups]


def table_demographics(adsl: pd.DataFrame, *, output: str, title: str, by: str,
                       variables: Sequence[tuple[str, str]], population: str | None = None,
                       total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Demographic and baseline characteristics by group (CSR table 14.1 style): for each
    ``(variable, label)``, a numeric variable shows n, mean (SD), median and min-max, a
    character variable n (%) of each value (missing values as "Missing")."""
    subjects = _population(adsl, population, by)
    _require(adsl, [v for v, _ in variables], "table_demographics", "ADSL")
    data = subjects.merge(adsl[["USUBJID", *[v for v, _ in variables]]], on="USUBJID",
                          how="left")
    data = _with_total(data, by, total)
    groups = _groups(subjects, by, total, group_order)
    big_n = data.groupby(by)["USUBJID"].nunique().reindex(groups, fill_value=0).to_dict()
    b = _Builder(output, groups)
    for g in groups:
        b.stat(g, "N", "N", big_n[g])
    for variable, label in variables:
        column = data[variable]
        b.row(label, [""] * len(groups))
        if pd.api.types.is_numeric_dtype(column):
            stats = data.groupby(by)[variable].agg(["count", "mean", "std", "median", "min",
                                                    "max"]).reindex(groups)
            cells = {name: [] for name in ("n", "Mean (SD)", "Median", "Min, Max")}
            for g in groups:
                s = stats.loc[g]
                for name in ("count", "mean", "std", "median", "min", "max"):
                    b.stat(g, label, name.upper() if name != "count" else "N", s[name]
                           if not pd.isna(s[name]) else np.nan)
                cells["n"].append(str(int(s["count"] or 0)))
                cells["Mean (SD)"].append("" if pd.isna(s["mean"]) else
                                          f"{s['mean']:.1f} ({s['std']:.2f})"
                                          if not pd.isna(s["std"]) else f"{s['mean']:.1f}")
                cells["Median"].append("" if pd.isna(s["median"]) else f"{s['median']:.1f}")
                cells["Min, Max"].append("" if pd.isna(s["min"]) else
                                         f"{s['min']:.0f}, {s['max']:.0f}")
            for name, values in cells.items():
                b.row(name, values, 1)
        else:
            text = column.fillna("").astype(str).replace("", "Missing")
            counts = (pd.DataFrame({by: data[by], "v": text}).groupby([by, "v"]).size()
                      .unstack(fill_value=0).reindex(groups, fill_value=0))
            order = counts.loc[groups].sum().sort_values(ascending=False, kind="stable")
            for value in sorted(order.index, key=lambda v: (v == "Missing", -order[v], v)):
                cells = []
                for g in groups:
                    n = b.stat(g, f"{label}: {value}", "n", counts.at[g, value])
                    b.stat(g, f"{label}: {value}", "pct", _pct(n, big_n[g]))
                    cells.append(_n_pct(n, big_n[g]))
                b.row(value, cells, 1)
    return Table(output, title, population or "all subjects",
                 _header("Characteristic", groups, big_n), b.rows, b.indent, b.frame())


def table_adverse_events(adae: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                         by: str, population: str | None = None, flag: str | None = "TRTEMFL",
                         soc: str = "AEBODSYS", term: str = "AEDECOD",
                         total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Subjects with at least one adverse event (``flag`` = Y, e.g. treatment-emergent), by
    system organ class and preferred term (CSR table 14.3.1 style): a subject counts once
    per row; percentages of the group's N from ADSL. Events of subjects outside the
    population are not counted."""
    subjects = _population(adsl, population, by)
    _require(adae, ["USUBJID", soc, term] + ([flag] if flag else []),
             "table_adverse_events", "ADAE")
    events = adae if not flag else adae[adae[flag].astype(str) == "Y"]
    events = events[["USUBJID", soc, term]].merge(subjects, on="USUBJID", how="inner")
    groups = _groups(subjects, by, total, group_order)
    big_n = (_with_total(subjects, by, total).groupby(by)["USUBJID"].nunique()
             .reindex(groups, fill_value=0).to_dict())
    events = _with_total(events, by, total)
    b = _Builder(output, groups)
    for g in groups:
        b.stat(g, "N", "N", big_n[g])

    def subjects_with(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby(by)["USUBJID"].nunique().reindex(groups, fill_value=0)

    def add(label: str, counts: pd.Series, level: int) -> None:
        cells = []
        for g in groups:
            n = b.stat(g, label, "n", counts[g])
            b.stat(g, label, "pct", _pct(n, big_n[g]))
            cells.append(_n_pct(n, big_n[g]))
        b.row(label if level < 2 else label, cells, level)

    add("Subjects with at least one event", subjects_with(events), 0)
    top = TOTAL if total else groups[0] if groups else None
    by_soc = events.groupby([soc, by])["USUBJID"].nunique().unstack(fill_value=0)
    by_soc = by_soc.reindex(columns=groups, fill_value=0)
    order_key = top if top in by_soc.columns else by_soc.columns[0] if len(by_soc.columns) else None
    socs = sorted(by_soc.index, key=lambda s: (-by_soc.at[s, order_key] if order_key else 0, s))
    for s in socs:
        add(str(s), by_soc.loc[s], 1)
        within = events[events[soc] == s]
        by_term = within.groupby([term, by])["USUBJID"].nunique().unstack(fill_value=0)
        by_term = by_term.reindex(columns=groups, fill_value=0)
        for t in sorted(by_term.index, key=lambda t: (-by_term.at[t, order_key], t)):
            add(str(t), by_term.loc[t], 2)
    footnotes = ["A subject is counted once per system organ class and preferred term.",
                 f"Percentages are of N, the subjects of the population in the column."]
    return Table(output, title, population or "all subjects",
                 _header("System organ class / preferred term", groups, big_n), b.rows,
                 b.indent, b.frame(), footnotes)


def table_response(adrs: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                   by: str, paramcd: str, population: str | None = None,
                   categories: Sequence[str] = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE",
                                                "MISSING"),
                   total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Distribution of a response parameter's AVALC (e.g. best overall response) by group,
    n (%) of the population; subjects without a record count as MISSING."""
    subjects = _population(adsl, population, by)
    _require(adrs, ["USUBJID", "PARAMCD", "AVALC"], "table_response", "ADRS")
    values = adrs.loc[adrs["PARAMCD"] == paramcd, ["USUBJID", "AVALC"]].drop_duplicates("USUBJID")
    data = subjects.merge(values, on="USUBJID", how="left")
    data["AVALC"] = data["AVALC"].fillna("").replace("", "MISSING")
    data = _with_total(data, by, total)
    groups = _groups(subjects, by, total, group_order)
    big_n = data.groupby(by)["USUBJID"].nunique().reindex(groups, fill_value=0).to_dict()
    counts = data.groupby([by, "AVALC"]).size().unstack(fill_value=0).reindex(groups,
                                                                               fill_value=0)
    b = _Builder(output, groups)
    for g in groups:
        b.stat(g, "N", "N", big_n[g])
    shown = list(categories) + sorted(set(counts.columns) - set(categories))
    for category in shown:
        if category not in counts.columns and category not in categories[:5]:
            continue
        cells = []
        for g in groups:
            n = b.stat(g, category, "n", counts.at[g, category] if category in counts else 0)
            b.stat(g, category, "pct", _pct(n, big_n[g]))
            cells.append(_n_pct(n, big_n[g]))
        b.row(category, cells, 0)
    return Table(output, title, population or "all subjects",
                 _header(f"{paramcd}", groups, big_n), b.rows, b.indent, b.frame())
