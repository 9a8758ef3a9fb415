"""What every study-level rule of :mod:`.checks` works with: the :class:`Study` being
checked, the findings table a rule returns (:data:`FINDING_COLUMNS`, :func:`make_findings`),
and column helpers that read a dataset's text the same way in every rule."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import filled
from cdisc_convert.core.iso8601 import comparable_date_part

from .catalogue import rule_info

FINDING_COLUMNS = ["rule", "severity", "dataset", "variable", "row", "value", "message", "fix",
                   "source_table", "source_row"]


# --------------------------------------------------------------------------------------
# The study being checked
# --------------------------------------------------------------------------------------
@dataclass
class Study:
    """The readable datasets of a folder, by upper-case name, and where they came from."""

    datasets: dict[str, pd.DataFrame]
    paths: dict[str, Path] = field(default_factory=dict)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.datasets.get(name)

    @property
    def sdtm_names(self) -> list[str]:
        return sorted(n for n in self.datasets if not n.startswith("AD"))

    @property
    def adam_names(self) -> list[str]:
        return sorted(n for n in self.datasets if n.startswith("AD"))


# --------------------------------------------------------------------------------------
# Building findings
# --------------------------------------------------------------------------------------
def empty_findings() -> pd.DataFrame:
    """No findings: :data:`FINDING_COLUMNS`, ``row`` and ``source_row`` Int64, the rest
    object. A copy of one table made once: building it costs about 2 ms, and a validation
    asks for it some 80 times (every rule that finds nothing), which the many tiny studies
    of the tests paid on every call."""
    return _empty_findings().copy()


@functools.lru_cache(maxsize=1)
def _empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c in ("row", "source_row") else object)
                         for c in FINDING_COLUMNS})


def _spread(value, n: int) -> np.ndarray:
    if isinstance(value, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        arr = np.asarray(value, dtype=object)
        if len(arr) != n:
            raise ValueError(f"{len(arr)} values for {n} findings")
        return arr
    return filled(n, value)


def make_findings(rule: str, dataset: str, *, message, rows=None, variable="", value="",
                  frame: pd.DataFrame | None = None, severity: str | None = None
                  ) -> pd.DataFrame:
    """Findings of one rule: ``rows`` are 0-based positions in ``frame`` (None: one
    dataset-level finding). ``message``/``value``/``variable`` are scalars or one per row.
    The rule id is appended to the message; severity and fix come from :data:`.catalogue.RULES`."""
    info = rule_info(rule)
    if rows is None:
        n = 1
        row_col = pd.array([pd.NA], dtype="Int64")
    else:
        rows = np.asarray(rows, dtype=np.int64)
        n = len(rows)
        if n == 0:
            return empty_findings()
        row_col = pd.array(rows + 1, dtype="Int64")
    out = pd.DataFrame({
        "rule": filled(n, rule),
        "severity": filled(n, severity or info.severity),
        "dataset": filled(n, dataset),
        "variable": _spread(variable, n),
        "row": row_col,
        "value": _as_text(_spread(value, n)),
        "message": _spread(message, n),
        "fix": filled(n, info.fix),
    })
    out["message"] = out["message"].astype(str) + f" [{rule}]"
    out["source_table"] = pd.Series([pd.NA] * n, dtype=object)
    out["source_row"] = pd.array([pd.NA] * n, dtype="Int64")
    if rows is not None and frame is not None:
        if "__table" in frame.columns:
            out["source_table"] = frame["__table"].to_numpy(dtype=object)[rows]
        if "__row" in frame.columns:
            raw = pd.to_numeric(frame["__row"], errors="coerce").to_numpy(dtype="float64")[rows]
            out["source_row"] = pd.array(np.where(np.isnan(raw), np.nan, np.round(raw)),
                                         dtype="Float64").astype("Int64")
    return out[FINDING_COLUMNS]


def _text1(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(v) < 2**53:
        return str(int(v))
    if isinstance(v, pd.Timestamp):
        return v.isoformat() if (v.hour or v.minute or v.second) else v.date().isoformat()
    return str(v)


def _as_text(values) -> np.ndarray:
    """Report text for many values, computed once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.array([_text1(u) for u in uniques] + [""], dtype=object)
    return table[codes]


def concat(parts: Iterable[pd.DataFrame | None]) -> pd.DataFrame:
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return empty_findings()
    return pd.concat(parts, ignore_index=True)[FINDING_COLUMNS]


# --------------------------------------------------------------------------------------
# Column helpers
# --------------------------------------------------------------------------------------
def text(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as an object array of str ("" for missing), trailing blanks removed."""
    if column not in frame.columns:
        return filled(len(frame), "")
    s = frame[column]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return _as_text(s.to_numpy())
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    table = np.array([u.rstrip() if isinstance(u, str) else _text1(u) for u in uniques] + [""],
                     dtype=object)
    return table[codes]


def has(frame: pd.DataFrame | None, *columns: str) -> bool:
    return frame is not None and all(c in frame.columns for c in columns)


def prefix(name: str) -> str:
    """The variable prefix of a dataset: AE -> AE, SUPPAE -> "", ADSL -> ""."""
    return "" if name.startswith(("SUPP", "AD")) else name[:2]


def rows_of(mask) -> np.ndarray:
    """0-based positions of the records where ``mask`` holds."""
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def visit_key(frame: pd.DataFrame, pre: str) -> np.ndarray:
    """VISITNUM as text where present, else the date part of --DTC (a visit stand-in)."""
    visit = text(frame, "VISITNUM")
    dtc = comparable_date_part(text(frame, f"{pre}DTC"))
    return np.where(visit != "", "V" + visit, "D" + dtc).astype(object)


def record_keys(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One text key per record joining ``columns`` (missing columns count as "")."""
    if not columns:
        return filled(len(frame), "")
    key = text(frame, columns[0]).astype(str)
    for c in columns[1:]:
        key = np.char.add(np.char.add(key, "\x1f"), text(frame, c).astype(str))
    return key.astype(object)


def pair_check(frame: pd.DataFrame, name: str, code: str, label: str, rule: str
                ) -> pd.DataFrame | None:
    """Records whose code maps to several labels or label to several codes."""
    c, t = text(frame, code), text(frame, label)
    filled = (c != "") & (t != "")
    if not filled.any():
        return None
    pairs = pd.DataFrame({"c": c[filled], "t": t[filled]})
    by_code = pairs.groupby("c")["t"].nunique()
    by_label = pairs.groupby("t")["c"].nunique()
    bad = filled & (pd.Series(c).map(by_code).fillna(1).to_numpy() > 1
                    ) | filled & (pd.Series(t).map(by_label).fillna(1).to_numpy() > 1)
    if not bad.any():
        return None
    rows = rows_of(bad)
    codes_for = pairs.groupby("t")["c"].agg(lambda s: ", ".join(sorted(set(s))))
    labels_for = pairs.groupby("c")["t"].agg(lambda s: " | ".join(sorted(set(s))))
    msg = (f"{name} record " + (rows + 1).astype(str).astype(object) + f": {code} '"
           + c[rows] + f"' has {label} values (" + pd.Series(c[rows]).map(labels_for).to_numpy()
           + f") and {label} '" + t[rows] + f"' has {code} values ("
           + pd.Series(t[rows]).map(codes_for).to_numpy() + "); they must be one-to-one")
    return make_findings(rule, name, rows=rows, variable=code, value=c[rows] + " / " + t[rows],
                         message=msg, frame=frame)
