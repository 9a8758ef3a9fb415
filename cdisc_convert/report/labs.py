"""Laboratory summary tables from a BDS dataset (ADLB): subjects by worst post-baseline
CTCAE grade, and the shift from the baseline category to the worst post-baseline one.

Like :mod:`cdisc_convert.report.tables`, each function takes ADaM frames and explicit
parameters and returns a :class:`~cdisc_convert.report.tables.Table` whose cells are
formatted from its ARD. Rules (the usual oncology CSR lab tables, e.g. FDA's Standard Safety
Tables "maximum post-baseline grade" and "shift from baseline"):

* the records counted are those with ``flag`` = Y (default ONTRTFL: on treatment, after the
  first dose) and a grade/category; a subject's **worst** value is the highest grade (or the
  last of the declared ``categories``) among them;
* percentages are of the subjects of the column's population who have such a record for
  the row's parameter (N of the row, shown on the parameter's line): a subject without a
  post-baseline value cannot have a worst grade.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .tables import (Table, n_pct, percent, population_subjects, require_columns,
                     table_header, text_codes, value_codes, with_total)

__all__ = ["table_lab_grades", "table_shift", "DEFAULT_LAB_BANDS"]

#: the columns of a worst-grade table when report.yaml names none
DEFAULT_LAB_BANDS = (("Grade 0", ("0",)), ("Grade 1", ("1",)), ("Grade 2", ("2",)),
                     ("Grade 3", ("3",)), ("Grade 4", ("4",)), ("Grade 3-4", ("3", "4")))


def _worst(param: np.ndarray, subject: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Positions of one record per subject and parameter (integer codes of each record):
    the one ranked highest (``ranks``; of equals the last record); records without a rank
    (NaN) or without a subject (code -1) are left out."""
    keep = np.flatnonzero(~np.isnan(ranks) & (subject >= 0))
    # lexsort is stable, so the last of a run is the last record among the worst
    order = keep[np.lexsort((ranks[keep], subject[keep], param[keep]))]
    p, s = param[order], subject[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (p[1:] != p[:-1]) | (s[1:] != s[:-1])
    return order[last]


def _records(adlb: pd.DataFrame, flag: str | None, parameter: str
             ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The records counted (positions: ``flag`` = Y and a ``parameter`` text), the codes
    and texts of ``parameter`` and the codes and values of USUBJID. Everything from here
    works on codes: ADLB has millions of records, a few dozen parameters and grades."""
    param, texts = text_codes(adlb[parameter])
    keep = (texts != "")[param]
    if flag:
        flags, flag_texts = text_codes(adlb[flag])
        keep &= (flag_texts == "Y")[flags]
    return np.flatnonzero(keep), (param, texts), value_codes(adlb["USUBJID"])


def _subjects_by(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, int]:
    """The distinct subjects of each combination of ``keys`` present in ``frame``."""
    return frame.groupby(keys, sort=False)["USUBJID"].nunique().to_dict()


def _counts(counts: dict[tuple, int], name: str, groups: list[str]) -> dict[str, int]:
    """Per column group the count of parameter ``name`` (0 where it has none)."""
    return {g: counts.get((name, g), 0) for g in groups}


def table_lab_grades(adlb: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str,
                     by: str, population: str | None = None, flag: str | None = "ONTRTFL",
                     term: str = "ATOXDSCL", grade: str = "ATOXGRL",
                     bands: Sequence[tuple[str, Sequence[str]]] = DEFAULT_LAB_BANDS,
                     total: bool = True, group_order: Sequence[str] | None = None) -> Table:
    """Subjects by their worst post-baseline CTCAE grade per term (``term``, e.g. ATOXDSCL
    with ``grade`` ATOXGRL; ATOXDSCH/ATOXGRH for high values): per term the subjects with a
    graded record (N), then n (%) of them in each band of grades (``bands``: label and the
    grades, e.g. ("Grade 3-4", ("3", "4"))). ARD rows: ``<term>`` (N), ``<term>: <band>``
    (n, pct)."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adlb, ["USUBJID", term, grade] + ([flag] if flag else []),
                    "table_lab_grades", "ADLB")
    rows, (param, names), (subject, ids) = _records(adlb, flag, term)
    grades, grade_texts = text_codes(adlb[grade])
    rows = rows[(grade_texts != "")[grades[rows]]]
    # a grade's rank is its number; a text that is none is not ranked (NaN)
    rank = pd.to_numeric(pd.Series(grade_texts, dtype=object), errors="coerce").to_numpy(float)
    at = rows[_worst(param[rows], subject[rows], rank[grades[rows]])]
    worst = pd.DataFrame({"_P": names[param[at]], "USUBJID": ids[subject[at]],
                          "_G": grade_texts[grades[at]]}).merge(subjects, on="USUBJID")
    worst = with_total(worst, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
    # every count in one pass: subjects per term and column, then per term, column and grade
    evaluables = _subjects_by(worst, ["_P", by])
    graded = _subjects_by(worst, ["_P", by, "_G"])
    for name in sorted(worst["_P"].unique()):
        evaluable = _counts(evaluables, name, groups)
        b.row(name, [f"N={int(b.stat(g, name, 'N', evaluable[g]))}" for g in groups], 0)
        for label, values in bands:
            counts = {g: sum(graded.get((name, g, str(v)), 0) for v in dict.fromkeys(values))
                      for g in groups}
            cells = []
            for g in groups:
                n = b.stat(g, f"{name}: {label}", "n", counts[g])
                b.stat(g, f"{name}: {label}", "pct", percent(n, evaluable[g]))
                cells.append(n_pct(n, evaluable[g]))
            b.row(label, cells, 1)
    notes = [f"Worst grade ({grade}) per subject among the records with "
             + (f"{flag} = Y" if flag else "a grade") + f", by CTCAE term ({term}).",
             "Percentages are of N, the subjects with a graded record for the term in the "
             "column."]
    header = ["CTCAE term / worst grade"] + [f"{g} (N={big_n[g]})" for g in groups]
    return Table(output, title, population or "all subjects", header, b.rows, b.indent,
                 b.frame(), notes)


def table_shift(adlb: pd.DataFrame, adsl: pd.DataFrame, *, output: str, title: str, by: str,
                categories: Sequence[str], population: str | None = None,
                flag: str | None = "ONTRTFL", parameter: str = "PARAM",
                baseline: str = "BNRIND", value: str = "ANRIND", total: bool = True,
                group_order: Sequence[str] | None = None) -> Table:
    """Shift table: per ``parameter`` (e.g. PARAM, or ATOXDSCL for grades), subjects by their
    baseline category (``baseline``, e.g. BNRIND or BTOXGRL; rows) and their worst
    post-baseline category (``value`` among the ``flag`` = Y records; columns within each
    group), the worst being the last of ``categories`` (e.g. [NORMAL, LOW] or
    [0, 1, 2, 3, 4]). Subjects need both values. ARD rows ``<parameter>: <baseline>``, the
    column's category in SUBGROUP (n, pct of the parameter's subjects in the group)."""
    subjects = population_subjects(adsl, population, by)
    require_columns(adlb, ["USUBJID", parameter, baseline, value] + ([flag] if flag else []),
                    "table_shift", "ADLB")
    cats = [str(c) for c in categories]
    rank = {c: i for i, c in enumerate(cats)}
    rows, (param, names), (subject, ids) = _records(adlb, flag, parameter)
    values, value_texts = text_codes(adlb[value])
    starts, start_texts = text_codes(adlb[baseline])
    ranks = np.array([rank.get(t, np.nan) for t in value_texts.tolist()], dtype=float)
    at = rows[_worst(param[rows], subject[rows], ranks[values[rows]])]
    at = at[np.isin(start_texts, cats)[starts[at]]]
    worst = pd.DataFrame({"_P": names[param[at]], "USUBJID": ids[subject[at]],
                          "_B": start_texts[starts[at]], "_V": value_texts[values[at]]}
                         ).merge(subjects, on="USUBJID")
    worst = with_total(worst, by, total)
    groups, big_n, b = table_header(output, subjects, by, total, group_order)
    # the crosstab in one pass: subjects per parameter and column, records (one per
    # subject) per parameter, column, baseline and worst category
    n_params = _subjects_by(worst, ["_P", by])
    shifts = worst.groupby(["_P", by, "_B", "_V"], sort=False).size().to_dict()
    for name in sorted(worst["_P"].unique()):
        n_param = _counts(n_params, name, groups)
        b.row(name, [f"N={int(b.stat(g, name, 'N', n_param[g]))}" if i == 0 else ""
                     for g in groups for i, _ in enumerate(cats)], 0)
        for start in cats:
            row = f"{name}: {start}"
            cells = []
            for g in groups:
                for end in cats:
                    n = b.stat(g, row, "n", int(shifts.get((name, g, start, end), 0)), end)
                    b.stat(g, row, "pct", percent(n, n_param[g]), end)
                    cells.append(n_pct(n, n_param[g]))
            b.row(f"Baseline {start}", cells, 1)
    header = [f"{parameter} / baseline"] + [c for _ in groups for c in cats]
    spans = [("", 1)] + [(f"{g} (N={big_n[g]}): worst post-baseline", len(cats)) for g in groups]
    notes = [f"Rows: baseline {baseline}; columns: the worst post-baseline {value} among the "
             "records with " + (f"{flag} = Y" if flag else "a value")
             + f" (order, best to worst: {', '.join(cats)}).",
             "Percentages are of N, the subjects of the column with both values for the "
             "parameter."]
    return Table(output, title, population or "all subjects", header, b.rows, b.indent,
                 b.frame(), notes, spans)
