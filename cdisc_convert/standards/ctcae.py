"""CTCAE v5.0 grades of laboratory values, from the criteria written down as data in
``specs/ctcae-5.0/lab_grades.yaml`` (NCI's thresholds, each criterion naming its CTCAE term).

>>> grade_values(criterion("Neutrophil count decreased"), pd.Series([2.1, 1.2, 0.4, 1.7]),
...              low=pd.Series([1.8, 1.8, 1.8, float("nan")])).tolist()
[0.0, 2.0, 4.0, nan]

The rule (NCI's grade definitions, read as admiral's ``derive_var_atoxgr`` reads them): the
grades are tried from the worst down and the first whose condition holds is the grade; a
value beyond no absolute threshold is grade 1 when it is beyond the normal limit, 0 when it
is not, and ungraded when that limit is missing (one cannot tell 0 from 1); a condition on a
missing limit (e.g. ``> 5*ULN`` without ULN) leaves the grade missing unless a worse grade
already holds; a missing value has no grade.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.resources import specs_dir
from cdisc_convert.core.yamlio import load_yaml_list

__all__ = ["Criterion", "Grade", "criteria", "criterion", "criteria_for_tests", "grade_values",
           "CTCAE_FILE"]

CTCAE_FILE = Path("ctcae-5.0") / "lab_grades.yaml"
_LIMIT = re.compile(r"^(?:(?P<k>[0-9]*\.?[0-9]+)\*)?(?P<limit>LLN|ULN)$")


@dataclass(frozen=True)
class Grade:
    """One grade's condition: the value is below (direction L) or above (H) ``number``, or
    ``factor`` times the record's normal limit ``limit`` (LLN or ULN)."""

    grade: int
    number: float | None = None
    limit: str | None = None
    factor: float = 1.0


@dataclass(frozen=True)
class Criterion:
    """A CTCAE term graded from a lab value (``specs/ctcae-5.0/lab_grades.yaml``)."""

    term: str
    soc: str
    direction: str            # L or H
    tests: tuple[str, ...]
    unit: str
    grades: tuple[Grade, ...]
    text: dict[int, str]


def _grade(entry, file: Path, where: str) -> Grade:
    if not isinstance(entry, dict) or "grade" not in entry or \
            len({"below", "above"} & set(entry)) != 1:
        raise SpecError(f"{where}: a grade needs 'grade' and one of 'below' or 'above'",
                        file=file, rule="ctcae-criteria")
    bound = entry.get("below", entry.get("above"))
    if isinstance(bound, (int, float)) and not isinstance(bound, bool):
        return Grade(int(entry["grade"]), number=float(bound))
    match = _LIMIT.match(str(bound).replace(" ", ""))
    if not match:
        raise SpecError(f"{where}: {bound!r} is neither a number nor LLN/ULN (k*LLN)",
                        file=file, rule="ctcae-criteria")
    return Grade(int(entry["grade"]), limit=match["limit"],
                 factor=float(match["k"]) if match["k"] else 1.0)


@lru_cache(maxsize=4)
def criteria(path: str | Path | None = None) -> tuple[Criterion, ...]:
    """Every criterion of the CTCAE file (cached), checked: direction L/H, grades from the
    worst down, a threshold per grade."""
    file = Path(path) if path else specs_dir() / CTCAE_FILE
    items = load_yaml_list(file, "criteria", what="the CTCAE file", rule="ctcae-criteria")
    out = []
    for i, item in enumerate(items):
        where = f"criteria[{i}]"
        if not isinstance(item, dict) or item.get("direction") not in ("L", "H") or \
                not item.get("term") or not item.get("grades"):
            raise SpecError(f"{where}: needs term, direction L or H and grades", file=file,
                            rule="ctcae-criteria")
        grades = tuple(_grade(g, file, f"{where}.grades") for g in item["grades"])
        if [g.grade for g in grades] != sorted((g.grade for g in grades), reverse=True):
            raise SpecError(f"{where}: grades must be listed from the worst down", file=file,
                            rule="ctcae-criteria")
        out.append(Criterion(str(item["term"]), str(item.get("soc", "")), item["direction"],
                             tuple(str(t) for t in item.get("tests", ())),
                             str(item.get("unit", "")), grades,
                             {int(k): str(v) for k, v in (item.get("text") or {}).items()}))
    return tuple(out)


def criterion(term: str, path: str | Path | None = None) -> Criterion:
    """The criterion of a CTCAE term (case-insensitive); a SpecError names the known terms."""
    for c in criteria(path):
        if c.term.lower() == term.lower():
            return c
    raise SpecError(f"no CTCAE v5.0 lab criterion for {term!r}; known: "
                    f"{', '.join(c.term for c in criteria(path))}", rule="ctcae-criteria")


def criteria_for_tests(path: str | Path | None = None) -> dict[tuple[str, str], Criterion]:
    """``(test code, direction) -> criterion`` for the tests the criteria name by default."""
    return {(t, c.direction): c for c in criteria(path) for t in c.tests}


def grade_values(crit: Criterion, values: pd.Series, *, low: pd.Series | None = None,
                 high: pd.Series | None = None) -> pd.Series:
    """The CTCAE grade (0-4, float; NaN = no grade) of each value (in ``crit.unit``) with
    the record's normal range ``low``/``high`` (LLN/ULN), by the rule of the module."""
    aval = pd.to_numeric(values, errors="coerce").to_numpy(float)
    limits = {"LLN": low, "ULN": high}
    grade = np.full(len(aval), np.nan)
    open_ = ~np.isnan(aval)                  # rows still without a decision
    for g in crit.grades:
        if g.number is not None:
            bound = np.full(len(aval), g.number)
        else:
            limit = limits[g.limit]
            bound = (np.full(len(aval), np.nan) if limit is None else
                     g.factor * pd.to_numeric(limit, errors="coerce").to_numpy(float))
        unknown = np.isnan(bound)
        hit = (aval < bound) if crit.direction == "L" else (aval > bound)
        hit &= ~unknown
        grade[open_ & hit] = g.grade
        open_ &= ~hit
        # a condition that cannot be evaluated stops the search: a better grade would be a
        # guess (admiral: is.na(ANRLO) ~ NA before the grade-1 condition)
        open_ &= ~unknown
    grade[open_] = 0.0
    return pd.Series(grade, index=values.index)
