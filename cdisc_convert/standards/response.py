"""The RECIST 1.1 overall-response table (Eisenhauer et al. 2009, tables 1 and 2), read once
from ``specs/recist-1.1/overall_response.yaml`` and applied vectorised.

One table serves the responses computed from TU/TR (:mod:`cdisc_convert.adam.tumor_response`,
also for Choi, whose overall response combines the components the same way), the RS
consistency check (:mod:`cdisc_convert.conformance.checks`, ONC-OVRL-RECIST) and the
define.xml method text (:func:`describe_overall_response`).

>>> overall_response(pd.Series(["PR", "NA"]), pd.Series(["NE", "NON-CR/NON-PD"]),
...                  pd.Series([False, False])).tolist()
['PR', 'NON-CR/NON-PD']
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.yamlio import load_yaml_list

from cdisc_convert.core.resources import specs_dir

__all__ = ["ResponseRow", "response_table", "overall_response", "describe_overall_response"]

ANY = "*"
NOT_APPLICABLE = "NA"
_VALUES = {"CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD", NOT_APPLICABLE}


@dataclass(frozen=True)
class ResponseRow:
    """One row: component values it matches (``None`` = any) and the overall response."""

    target: tuple[str, ...] | None
    nontarget: tuple[str, ...] | None
    new: str | None  # "Y", "N" or None (any)
    overall: str
    table: str = ""


def _values(row: dict, key: str, file: Path, i: int) -> tuple[str, ...] | None:
    value = row.get(key, ANY)
    if value == ANY:
        return None
    if not isinstance(value, list) or not value or not set(value) <= _VALUES:
        raise SpecError(f"rows[{i}].{key} must be '*' or a list of {sorted(_VALUES)}",
                        file=file, variable=key, rule="response-table")
    return tuple(value)


@lru_cache(maxsize=4)
def response_table(path: str | Path | None = None) -> tuple[ResponseRow, ...]:
    """The rows of the overall-response table (cached), checked: component values from the
    ONCRSR terms plus NA, new lesion Y/N/*, an overall response for each row."""
    file = Path(path) if path else specs_dir() / "recist-1.1" / "overall_response.yaml"
    rows = load_yaml_list(file, "rows", what="the response table", rule="response-table")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) - {"target", "nontarget", "new", "overall",
                                                    "table"}:
            raise SpecError(f"rows[{i}] must be a mapping of target, nontarget, new, overall, "
                            "table", file=file, rule="response-table")
        new = row.get("new", ANY)
        if new not in ("Y", "N", ANY) or row.get("overall") not in _VALUES - {NOT_APPLICABLE}:
            raise SpecError(f"rows[{i}]: new must be Y, N or '*' and overall a response",
                            file=file, rule="response-table")
        out.append(ResponseRow(_values(row, "target", file, i), _values(row, "nontarget", file, i),
                               None if new == ANY else new, row["overall"],
                               str(row.get("table", ""))))
    return tuple(out)


def overall_response(target: pd.Series, nontarget: pd.Series, new: pd.Series, *,
                     not_applicable: str = NOT_APPLICABLE, default: str = "") -> pd.Series:
    """Overall response per row from the components (first matching table row wins).

    ``target`` / ``nontarget``: response text (``not_applicable`` = the component does not
    apply; its other spellings "", "N/A", "NOT APPLICABLE" count as NA too); ``new``: booleans
    (a new lesion shown). Rows matching no table row (e.g. an unknown component value) get
    ``default``."""
    def norm(values: pd.Series) -> np.ndarray:
        # each distinct text cleaned once (a handful of responses over every assessment)
        codes, distinct = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
        up = pd.Series(distinct, dtype=object).fillna("").astype(str).str.strip().str.upper()
        up = up.to_numpy(dtype=object)
        na = np.isin(up, ["", "N/A", "NOT APPLICABLE", str(not_applicable).upper()])
        return np.where(na, NOT_APPLICABLE, up)[codes]

    t, nt = norm(target), norm(nontarget)
    nw = np.asarray(new, dtype=bool)
    conditions, choices = [], []
    for row in response_table():
        cond = np.ones(len(t), dtype=bool)
        if row.target is not None:
            cond &= np.isin(t, row.target)
        if row.nontarget is not None:
            cond &= np.isin(nt, row.nontarget)
        if row.new is not None:
            cond &= nw if row.new == "Y" else ~nw
        conditions.append(cond)
        choices.append(row.overall)
    # positions into the choices: shared strings, not a numpy text array that the Series
    # would turn into one new str object per row
    which = np.select(conditions, list(range(len(choices))), len(choices))
    texts = np.array([*choices, default], dtype=object)
    return pd.Series(texts[which], index=target.index, dtype=object)


def describe_overall_response() -> str:
    """The table as one sentence for define.xml's method text."""
    def part(values, name):
        return f"{name} {'/'.join(values)}" if values is not None else None

    rules = []
    for row in response_table():
        cond = [p for p in (part(row.target, "target"), part(row.nontarget, "non-target"),
                            None if row.new is None else f"new lesion {row.new}") if p]
        rules.append(f"{' and '.join(cond) or 'otherwise'} -> {row.overall}")
    return ("Overall response by RECIST 1.1 tables 1 and 2, first match wins (NA: the "
            "component does not apply): " + "; ".join(rules) + ".")
