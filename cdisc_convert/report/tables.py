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
from cdisc_convert.core.factorize import factorize, factorize_text

__all__ = ["Table", "table_demographics", "table_adverse_events", "table_response",
           "table_adverse_events_by_grade", "table_deaths", "table_exposure", "select_records",
           "DEFAULT_GRADE_BANDS", "table_disposition", "table_listing", "TableBuilder",
           "require_columns", "population_subjects", "column_groups", "with_total", "percent",
           "n_pct", "group_header", "as_text", "text_codes", "value_codes",
           "positions_of"]

TOTAL = "Total"
ARD_COLUMNS = ["OUTPUT", "GROUP", "SUBGROUP", "ROW", "STAT", "VALUE"]
#: grade bands of the AE-by-maximum-grade table when report.yaml names none
DEFAULT_GRADE_BANDS = (("Any grade", ()), ("Grade 1-2", ("1", "2")), ("Grade 3-4", ("3", "4")),
                       ("Grade 5", ("5",)))


@dataclass
class Table:
    """A displayed table and the statistics behind it."""

    id: str
    title: str
    population: str
    header: list[str]                       # first column's title, then one per group
    rows: list[list[str]]                   # text cells; the first is the row label
    indent: list[int]                       # indent level of each row's label
    ard: pd.DataFrame                       # OUTPUT, GROUP, SUBGROUP, ROW, STAT, VALUE
    footnotes: list[str] = field(default_factory=list)
    spans: list[tuple[str, int]] = field(default_factory=list)   # a header row above
    #: ``header``, each text spanning that many columns (e.g. a group over its grade bands)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], function: str,
                    dataset: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{function} needs {', '.join(missing)} in {dataset}",
                         dataset=dataset, variable=missing[0], rule="REPORT-REQUIRED-VARIABLE")


def population_subjects(adsl: pd.DataFrame, flag: str | None, by: str) -> pd.DataFrame:
    """ADSL subjects of the population (flag = Y), with their group and the Total."""
    require_columns(adsl, ["USUBJID", by] + ([flag] if flag else []), "population", "ADSL")
    subjects = adsl if not flag else adsl[adsl[flag].astype(str) == "Y"]
    subjects = subjects[["USUBJID", by]].copy()
    subjects[by] = subjects[by].fillna("").astype(str)
    return subjects


def column_groups(subjects: pd.DataFrame, by: str, total: bool,
            order: Sequence[str] | None = None) -> list[str]:
    """The columns: ``order`` first (a study's arm order), then other values
    alphabetically, then the Total."""
    present = [g for g in subjects[by].unique() if g != ""]
    listed = [g for g in (order or ()) if g in present]
    groups = listed + sorted(g for g in present if g not in listed)
    return groups + ([TOTAL] if total else [])


def with_total(frame: pd.DataFrame, by: str, total: bool) -> pd.DataFrame:
    if not total:
        return frame
    everyone = frame.copy()
    everyone[by] = TOTAL
    return pd.concat([frame, everyone], ignore_index=True)


def percent(n: float, big_n: float) -> float:
    return float(100.0 * n / big_n) if big_n else float("nan")


def n_pct(n: float, big_n: float) -> str:
    if not big_n:
        return "0"
    return f"{int(n)} ({percent(n, big_n):.1f})" if n else "0"


class TableBuilder:
    """Rows and ARD records of one table, added together so they cannot disagree."""

    def __init__(self, output: str, groups: list[str]):
        self.output, self.groups = output, groups
        self.rows: list[list[str]] = []
        self.indent: list[int] = []
        self.ard: list[tuple] = []

    def stat(self, group: str, row: str, name: str, value: float, subgroup: str = "") -> float:
        self.ard.append((self.output, group, subgroup, row, name, float(value)))
        return value

    def row(self, label: str, cells: list[str], level: int = 0) -> None:
        self.rows.append([label, *cells])
        self.indent.append(level)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.ard, columns=ARD_COLUMNS)


def table_header(output: str, subjects: pd.DataFrame, by: str, total: bool,
                 group_order: Sequence[str] | None = None
                 ) -> tuple[list[str], dict, "TableBuilder"]:
    """A table's columns, each column's N (the distinct population subjects of the group,
    the Total counting them all) and a :class:`TableBuilder` whose first row is that N."""
    groups = column_groups(subjects, by, total, group_order)
    big_n = (with_total(subjects, by, total).groupby(by)["USUBJID"].nunique()
             .reindex(groups, fill_value=0).to_dict())
    b = TableBuilder(output, groups)
    for g in groups:
        b.stat(g, "N", "N", big_n[g])
    return groups, big_n, b


def group_header(first: str, groups: list[str], big_n: dict[str, int]) -> list[str]:
    return [first] + [f"{g} (N={big_n[g]})" for g in groups]


def table_demographics(adsl: pd.DataFrame, *, output: str, title: str, by: str,
                       variables: Sequence[tuple[str, str]], population: str | None = None,
                       total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Demographic and baseline characteristics by group (CSR table 14.1 style): for each
    ``(variable, label)``, a numeric variable shows n, mean (SD), median and min-max, a
    character variable n (%) of each value (missing values as "Missing")."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adsl, [v for v, _ in variables], "table_demographics", "ADSL")
    data = subjects.merge(adsl[["USUBJID", *[v for v, _ in variables]]], on="USUBJID",
                          how="left")
    data = with_total(data, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
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
                    b.stat(g, f"{label}: {value}", "pct", percent(n, big_n[g]))
                    cells.append(n_pct(n, big_n[g]))
                b.row(value, cells, 1)
    return Table(output, title, population or "all subjects",
                 group_header("Characteristic", groups, big_n), b.rows, b.indent, b.frame())


def as_text(values: pd.Series) -> pd.Series:
    """Values as the text a YAML file names them by: 5.0 -> "5", missing -> "". Each
    distinct value is formatted once (a lab dataset has millions of records, few values)."""
    if values.empty:
        return values.copy()
    codes, texts = text_codes(values)
    return pd.Series(texts[codes], index=values.index, name=values.name)


def text_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, texts): ``as_text(values)`` is ``texts[codes]``, with ``texts`` holding each
    distinct text once ("" for missing values too). A condition on the texts (= "Y", not
    empty) is then worked out once per distinct text and taken by code, instead of
    comparing a million strings."""
    # text numbered by object first (core.factorize: the frames read from files share one
    # string object per value), which spares hashing a million strings; anything else
    # by pandas (it takes 1, 1.0 and True for one value); missing values: code -1
    codes, uniques = factorize(values)
    if pd.api.types.is_numeric_dtype(values):
        texts = [f"{v:g}" for v in uniques.tolist()]
    else:
        texts = [str(v).strip() for v in uniques.tolist()]
    by_text, distinct = factorize_text(np.array(texts + [""], dtype=object))
    return by_text[codes], np.asarray(distinct, dtype=object)


def value_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of a column, each distinct value once; -1: missing.
    :func:`~cdisc_convert.core.factorize.factorize` (text by object first, exact also for
    text holding NUL)."""
    codes, uniques = factorize(values)
    return codes, np.asarray(uniques, dtype=object)


def positions_of(values: pd.Series, wanted: Sequence) -> dict:
    """The positions (ascending) of the rows holding each value of ``wanted`` that occurs:
    ``values.groupby(values).indices`` for those values, from integer codes
    (:func:`value_codes`) instead of hashing every row's string."""
    codes, distinct = value_codes(values)
    index = {v: i for i, v in enumerate(distinct.tolist())}
    return {v: np.flatnonzero(codes == index[v]) for v in dict.fromkeys(wanted) if v in index}


def select_records(frame: pd.DataFrame, *, flag: str | None = None,
                   where: Sequence[tuple[str, Sequence[str]]] = (), function: str = "table",
                   dataset: str = "ADAE") -> pd.DataFrame:
    """The records with ``flag`` = Y and, for each ``(variable, values)`` of ``where``, the
    variable's value (as text, 5.0 = "5") among ``values``."""
    needed = ([flag] if flag else []) + [v for v, _ in where]
    require_columns(frame, needed, function, dataset)
    mask = np.ones(len(frame), dtype=bool)
    # each condition decided once per distinct text and taken by code (text_codes)
    if flag:
        codes, texts = text_codes(frame[flag])
        mask &= (texts == "Y")[codes]
    for variable, values in where:
        codes, texts = text_codes(frame[variable])
        mask &= pd.Series(texts, dtype=object).isin([str(v) for v in values]).to_numpy()[codes]
    return frame[mask]


def table_adverse_events(adae: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                         by: str, population: str | None = None, flag: str | None = "TRTEMFL",
                         where: Sequence[tuple[str, Sequence[str]]] = (),
                         soc: str = "AEBODSYS", term: str = "AEDECOD",
                         total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Subjects with at least one adverse event (``flag`` = Y, e.g. treatment-emergent, and
    the ``where`` conditions, e.g. AESER = Y for serious events), by system organ class and
    preferred term (CSR table 14.3.1 style): a subject counts once per row; percentages of
    the group's N from ADSL. Events of subjects outside the population are not counted."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adae, ["USUBJID", soc, term], "table_adverse_events", "ADAE")
    events = select_records(adae, flag=flag, where=where, function="table_adverse_events")
    events = events[["USUBJID", soc, term]].merge(subjects, on="USUBJID", how="inner")
    events = with_total(events, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)

    def subjects_with(frame: pd.DataFrame) -> pd.Series:
        return frame.groupby(by)["USUBJID"].nunique().reindex(groups, fill_value=0)

    def add(label: str, counts: pd.Series, level: int) -> None:
        cells = []
        for g in groups:
            n = b.stat(g, label, "n", counts[g])
            b.stat(g, label, "pct", percent(n, big_n[g]))
            cells.append(n_pct(n, big_n[g]))
        b.row(label if level < 2 else label, cells, level)

    add("Subjects with at least one event", subjects_with(events), 0)
    top = TOTAL if total else groups[0] if groups else None
    by_soc = events.groupby([soc, by])["USUBJID"].nunique().unstack(fill_value=0)
    by_soc = by_soc.reindex(columns=groups, fill_value=0)
    order_key = top if top in by_soc.columns else by_soc.columns[0] if len(by_soc.columns) else None
    socs = sorted(by_soc.index, key=lambda s: (-by_soc.at[s, order_key] if order_key else 0, s))
    # every SOC's terms from one groupby, not one comparison of every event per SOC
    by_soc_term = events.groupby([soc, term, by])["USUBJID"].nunique().unstack(fill_value=0)
    by_soc_term = by_soc_term.reindex(columns=groups, fill_value=0)
    for s in socs:
        add(str(s), by_soc.loc[s], 1)
        by_term = by_soc_term.loc[s]
        for t in sorted(by_term.index, key=lambda t: (-by_term.at[t, order_key], t)):
            add(str(t), by_term.loc[t], 2)
    footnotes = ["A subject is counted once per system organ class and preferred term.",
                 f"Percentages are of N, the subjects of the population in the column."]
    return Table(output, title, population or "all subjects",
                 group_header("System organ class / preferred term", groups, big_n), b.rows,
                 b.indent, b.frame(), footnotes)


def table_response(adrs: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                   by: str, paramcd: str, population: str | None = None,
                   categories: Sequence[str] = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE",
                                                "MISSING"),
                   total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Distribution of a response parameter's AVALC (e.g. best overall response) by group,
    n (%) of the population; subjects without a record count as MISSING."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adrs, ["USUBJID", "PARAMCD", "AVALC"], "table_response", "ADRS")
    values = adrs.loc[adrs["PARAMCD"] == paramcd, ["USUBJID", "AVALC"]].drop_duplicates("USUBJID")
    data = subjects.merge(values, on="USUBJID", how="left")
    data["AVALC"] = data["AVALC"].fillna("").replace("", "MISSING")
    data = with_total(data, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
    counts = data.groupby([by, "AVALC"]).size().unstack(fill_value=0).reindex(groups,
                                                                               fill_value=0)
    shown = list(categories) + sorted(set(counts.columns) - set(categories))
    for category in shown:
        if category not in counts.columns and category not in categories[:5]:
            continue
        cells = []
        for g in groups:
            n = b.stat(g, category, "n", counts.at[g, category] if category in counts else 0)
            b.stat(g, category, "pct", percent(n, big_n[g]))
            cells.append(n_pct(n, big_n[g]))
        b.row(category, cells, 0)
    return Table(output, title, population or "all subjects",
                 group_header(f"{paramcd}", groups, big_n), b.rows, b.indent, b.frame())


def _soc_term_order(events: pd.DataFrame, soc: str, term: str) -> list[tuple[str, list[str]]]:
    """SOCs and their terms by decreasing number of subjects (all groups), ties
    alphabetically."""
    by_soc = events.groupby(soc)["USUBJID"].nunique()
    socs = sorted(by_soc.index, key=lambda s: (-by_soc[s], str(s)))
    # every SOC's terms from one groupby, not one filtering of the events per SOC
    by_term = events.groupby([soc, term])["USUBJID"].nunique()
    terms: dict = {}
    for (s, x), n in by_term.items():
        terms.setdefault(s, []).append((x, n))
    return [(s, [x for x, _ in sorted(terms.get(s, []), key=lambda xn: (-xn[1], str(xn[0])))])
            for s in socs]


def table_adverse_events_by_grade(adae: pd.DataFrame, adsl: pd.DataFrame, *, output: str,
                                  title: str, by: str, population: str | None = None,
                                  flag: str | None = "TRTEMFL",
                                  where: Sequence[tuple[str, Sequence[str]]] = (),
                                  grade: str = "ATOXGR",
                                  bands: Sequence[tuple[str, Sequence[str]]] = DEFAULT_GRADE_BANDS,
                                  soc: str = "AEBODSYS", term: str = "AEDECOD", total: bool = True,
                                  group_order: Sequence[str] | None = None) -> Table:
    """Subjects by the **maximum** grade of their adverse events (``grade``, e.g. the CTCAE
    grade ATOXGR), overall, per system organ class and per preferred term: within each row a
    subject counts once, in the band of the worst grade of their events in that row (a band
    with no values counts every subject with an event: "any grade"). Columns: each group's
    bands; percentages of the group's N. Events without a grade count only in "any grade".
    Rule: the usual CSR safety table (e.g. FDA Standard Safety Tables, "by maximum
    severity"); a subject with grade 2 and grade 4 of one term counts once, under 4."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adae, ["USUBJID", soc, term, grade], "table_adverse_events_by_grade", "ADAE")
    events = select_records(adae, flag=flag, where=where,
                            function="table_adverse_events_by_grade")
    events = events[["USUBJID", soc, term, grade]].merge(subjects, on="USUBJID", how="inner")
    grades, texts = text_codes(events[grade])       # each distinct grade converted once
    events["_GRADE"] = pd.to_numeric(pd.Series(texts, dtype=object),
                                     errors="coerce").to_numpy(dtype=float)[grades]
    events = with_total(events, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
    # the keys as integer codes (by object, then value: value_codes) and the groupbys below
    # on them: grouping the strings hashed each of them again at every level
    coded = {name: value_codes(events[name]) for name in dict.fromkeys([soc, term, by,
                                                                         "USUBJID"])}
    worst_grades = events["_GRADE"].to_numpy(dtype=float)

    def counts(keys: list[str]) -> list[dict]:
        """Per band, the subjects of each row (``keys``) and group: one groupby per table
        level, not one filtering of the events per row. Rows missing a key are left out,
        as groupby leaves them out."""
        names = [*keys, by, "USUBJID"]
        frame = pd.DataFrame({n: coded[n][0] for n in names}).assign(_GRADE=worst_grades)
        frame = frame[(frame[names] >= 0).all(axis=1).to_numpy()]
        worst = frame.groupby(names, sort=False)["_GRADE"].max().reset_index()
        text = as_text(worst["_GRADE"])
        out = []
        for _, values in bands:
            rows = worst if not values else worst[text.isin(list(values)).to_numpy()]
            sizes = rows.groupby([*keys, by], sort=False).size().to_dict()
            out.append({tuple(coded[name][1][code] for name, code in
                              zip([*keys, by], k if isinstance(k, tuple) else (k,))): size
                        for k, size in sizes.items()})
        return out

    def add(label: str, key: tuple, per_band: list[dict], level: int) -> None:
        cells = []
        for g in groups:
            for (band, _), sizes in zip(bands, per_band):
                n = int(sizes.get((*key, g), 0))
                b.stat(g, label, "n", n, band)
                b.stat(g, label, "pct", percent(n, big_n[g]), band)
                cells.append(n_pct(n, big_n[g]))
        b.row(label, cells, level)

    add("Subjects with at least one event", (), counts([]), 0)
    ordering = events[events[by] == TOTAL] if total else events
    per_soc, per_term = counts([soc]), counts([soc, term])
    for s, terms in _soc_term_order(ordering, soc, term):
        add(str(s), (s,), per_soc, 1)
        for x in terms:
            add(str(x), (s, x), per_term, 2)
    footnotes = ["A subject is counted once per row, under the maximum grade of their events "
                 f"in that row ({grade}).",
                 "Percentages are of N, the subjects of the population in the column."]
    header = ["System organ class / preferred term"] + [band for _ in groups for band, _ in bands]
    spans = [("", 1)] + [(f"{g} (N={big_n[g]})", len(bands)) for g in groups]
    return Table(output, title, population or "all subjects", header, b.rows, b.indent,
                 b.frame(), footnotes, spans)


def table_deaths(adsl: pd.DataFrame, adae: pd.DataFrame | None, *, output: str, title: str,
                 by: str, population: str | None = None, death_flag: str = "DTHFL",
                 cause: str | None = "DTHCAUS",
                 fatal_where: Sequence[tuple[str, Sequence[str]]] = (("ATOXGR", ("5",)),),
                 term: str = "AEDECOD", total: bool = True,
                 group_order: Sequence[str] | None = None) -> Table:
    """Deaths: subjects with ADSL ``death_flag`` = Y, by ``cause`` (ADSL), then the subjects
    with a fatal adverse event, i.e. ADAE records matching ``fatal_where`` (default CTCAE
    grade 5), by preferred term. n (%) of the group's N."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adsl, [death_flag] + ([cause] if cause else []), "table_deaths", "ADSL")
    data = subjects.merge(adsl[["USUBJID", death_flag, *([cause] if cause else [])]],
                          on="USUBJID", how="left")
    data = with_total(data, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)

    def add(label: str, rows: pd.DataFrame, level: int) -> None:
        counts = rows.groupby(by)["USUBJID"].nunique().reindex(groups, fill_value=0)
        cells = []
        for g in groups:
            n = b.stat(g, label, "n", counts[g])
            b.stat(g, label, "pct", percent(n, big_n[g]))
            cells.append(n_pct(n, big_n[g]))
        b.row(label, cells, level)

    dead = data[as_text(data[death_flag]).eq("Y").to_numpy()]
    add("Deaths", dead, 0)
    if cause:
        causes = as_text(dead[cause]).replace("", "Missing")
        for value in sorted(causes.unique(), key=lambda v: (v == "Missing", -int((causes == v).sum()), v)):
            add(value, dead[(causes == value).to_numpy()], 1)
    if adae is not None:
        require_columns(adae, ["USUBJID", term], "table_deaths", "ADAE")
        fatal = select_records(adae, where=fatal_where, function="table_deaths")
        fatal = with_total(fatal[["USUBJID", term]].merge(subjects, on="USUBJID"), by, total)
        conditions = ", ".join(f"{v} in ({', '.join(map(str, vals))})" for v, vals in fatal_where)
        add(f"Adverse events with a fatal outcome ({conditions})", fatal, 0)
        terms = fatal.groupby(term)["USUBJID"].nunique()
        for x in sorted(terms.index, key=lambda x: (-terms[x], str(x))):
            add(str(x), fatal[fatal[term] == x], 1)
    return Table(output, title, population or "all subjects",
                 group_header("Subjects", groups, big_n), b.rows, b.indent, b.frame())


def table_exposure(adex: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str, by: str,
                   parameters: Sequence[tuple[str, str | None]],
                   population: str | None = None, total: bool = True,
                   group_order: Sequence[str] | None = None) -> Table:
    """Exposure summary from ADEX subject-level parameters (``(PARAMCD, label)``; label
    None = PARAM): a numeric parameter (AVAL) as n, mean (SD), median and min-max, a
    character one (AVALC, e.g. a reduction flag) as n (%) per value, by group. One record per
    subject and parameter is expected (the first is used)."""
    require_columns(adex, ["USUBJID", "PARAMCD", "AVAL"], "table_exposure", "ADEX")
    subjects = population_subjects(adsl, population, by)
    wide = subjects[["USUBJID", by]].copy()
    variables = []
    # each parameter's records (in file order) from one pass over ADEX, not one per parameter
    positions = positions_of(adex["PARAMCD"], [paramcd for paramcd, _ in parameters])
    # the records taken with the columns read only, not every column of ADEX
    narrow = adex[[c for c in ("USUBJID", "AVAL", "AVALC", "PARAM") if c in adex.columns]]
    for paramcd, label in parameters:
        recs = narrow.iloc[positions.get(paramcd, [])]
        recs = recs.drop_duplicates("USUBJID").set_index("USUBJID")
        if recs.empty:
            raise InputError(f"table {output}: ADEX has no parameter {paramcd}", dataset="ADEX",
                             variable="PARAMCD", rule="REPORT-NO-PARAMETER")
        text = recs["AVALC"] if "AVALC" in recs else pd.Series(dtype=object)
        character = as_text(text).ne("").any()
        column = wide["USUBJID"].map(recs["AVALC"] if character else recs["AVAL"])
        wide[paramcd] = column.astype(object) if character else pd.to_numeric(column)
        variables.append((paramcd, label or (str(recs["PARAM"].iloc[0]) if "PARAM" in recs
                                             else paramcd)))
    table = table_demographics(wide, output=output, title=title, by=by, variables=variables,
                               population=None, total=total, group_order=group_order)
    table.population = population or "all subjects"
    table.header[0] = "Parameter"
    return table


def table_disposition(adsl: pd.DataFrame, *, output: str, title: str, by: str,
                      flags: Sequence[tuple[str, str]] = (), status: str, reason: str | None = None,
                      population: str | None = None, total: bool = True,
                      group_order: Sequence[str] | None = None) -> Table:
    """Subject disposition by group (CSR table 14.1.x style), from ADSL: the subjects of
    each analysis population (``flags``: ``(flag, label)``, flag = Y), then the subjects by
    each value of ``status`` (e.g. EOSSTT: COMPLETED, DISCONTINUED) and, under each value,
    by ``reason`` (e.g. DCSREAS) where the reason is given. n (%) of the column's N, the
    subjects of ``population`` (all of ADSL when None)."""
    subjects = population_subjects(adsl, population, by)
    needed = [f for f, _ in flags] + [status] + ([reason] if reason else [])
    require_columns(adsl, needed, "table_disposition", "ADSL")
    data = subjects.merge(adsl[["USUBJID", *needed]], on="USUBJID", how="left")
    data = with_total(data, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)

    def add(label: str, key: str, rows: pd.DataFrame, level: int) -> None:
        counts = rows.groupby(by)["USUBJID"].nunique().reindex(groups, fill_value=0)
        cells = []
        for g in groups:
            n = b.stat(g, key, "n", counts[g])
            b.stat(g, key, "pct", percent(n, big_n[g]))
            cells.append(n_pct(n, big_n[g]))
        b.row(label, cells, level)

    for flag, label in flags:
        add(label, label, data[as_text(data[flag]).eq("Y").to_numpy()], 0)
    states = as_text(data[status]).replace("", "Missing")
    reasons = as_text(data[reason]) if reason else None
    for value in sorted(states.unique(), key=lambda v: (v == "Missing", -int((states == v).sum()),
                                                       v)):
        mine = (states == value).to_numpy()
        add(value, f"{status}: {value}", data[mine], 0)
        if reasons is None:
            continue
        given = reasons[mine]
        for why in sorted(set(given) - {""}, key=lambda v: (-int((given == v).sum()), v)):
            add(why, f"{status}: {value}: {why}", data[mine & (reasons == why).to_numpy()], 1)
    notes = [f"Status: ADSL {status}" + (f"; reasons: ADSL {reason}." if reason else "."),
             "Percentages are of N, the subjects of the population in the column."]
    return Table(output, title, population or "all subjects",
                 group_header("Subjects", groups, big_n), b.rows, b.indent, b.frame(), notes)


def _cell(value) -> str:
    """A listing cell: numbers without trailing zeros, dates as ISO 8601, missing empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value).strip()


def _cells(values: pd.Series) -> np.ndarray:
    """:func:`_cell` of each value, computed once per distinct value (missing ones too)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.array([_cell(v) for v in uniques.tolist()] or [""], dtype=object)[codes]


def table_listing(records: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                  by: str, columns: Sequence[tuple[str, str]], dataset: str,
                  population: str | None = None, flag: str | None = None,
                  where: Sequence[tuple[str, Sequence[str]]] = (),
                  sort: Sequence[str] = (), total: bool = True,
                  group_order: Sequence[str] | None = None) -> Table:
    """A listing (CSR section 14.3.2 / 16.2 style): the records of ``dataset`` (e.g. ADAE
    with ATOXGR in 3-5, or ADSL with DTHFL = Y) of the subjects of ``population``, with
    ``flag`` = Y and the ``where`` values, one row per record showing ``columns``
    (``(variable, label)``), the group (ADSL ``by``) first; sorted by group (in the
    columns' order), USUBJID and ``sort``. The ARD holds the number of records and of
    subjects listed per group (STAT n, ROW Records / Subjects)."""
    subjects = population_subjects(adsl, population, by)
    names = [c for c, _ in columns]
    require_columns(records, ["USUBJID", *names, *sort], "table_listing", dataset)
    chosen = select_records(records, flag=flag, where=where, function="table_listing",
                            dataset=dataset)
    keep = list(dict.fromkeys(["USUBJID", *names, *sort]))
    chosen = chosen[keep].merge(subjects.rename(columns={by: "_GROUP"}), on="USUBJID")
    groups = column_groups(subjects, by, total, group_order)
    rank = {g: i for i, g in enumerate(groups)}
    chosen = (chosen.assign(_RANK=chosen["_GROUP"].map(rank))
              .sort_values(["_RANK", "USUBJID", *sort], kind="stable"))
    b = TableBuilder(output, groups)
    counted = with_total(chosen.rename(columns={"_GROUP": by}), by, total)
    for g in groups:
        mine = counted[counted[by] == g]
        b.stat(g, "Records", "n", len(mine))
        b.stat(g, "Subjects", "n", mine["USUBJID"].nunique())
    shown = [c for c in names if c != "USUBJID"]
    labels = dict(columns)
    cells = [_cells(chosen[c]) for c in ["_GROUP", "USUBJID", *shown]]
    b.rows = ([list(row) for row in zip(*cells)] if len(chosen) else
              [["No records"] + [""] * (1 + len(shown))])
    b.indent = [0] * len(b.rows)
    conditions = "; ".join(([f"{flag} = Y"] if flag else [])
                           + [f"{v} in ({', '.join(map(str, vals))})" for v, vals in where])
    notes = [f"Records of {dataset}" + (f" with {conditions}" if conditions else "")
             + f": {len(chosen)} records of {chosen['USUBJID'].nunique()} subjects."]
    header = ["Group", labels.get("USUBJID", "Subject")] + [labels[c] for c in shown]
    return Table(output, title, population or "all subjects", header, b.rows, b.indent,
                 b.frame(), notes)
