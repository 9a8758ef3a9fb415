"""Study-level conformance rules beyond the per-dataset checks of :mod:`.schemas`.

Each rule is a small function ``check_<what>(study) -> DataFrame | None`` that reads the
datasets it needs from a :class:`Study` and returns *findings*: one row per problem, with
the columns of :data:`FINDING_COLUMNS` (``row`` is the 1-based record number in the
dataset, NA for dataset-level findings). Rules work on whole columns (pandas/numpy, no
Python loop over records) and do nothing when the datasets or variables they need are
absent: a missing dataset that the standard requires is its own rule.

What each rule id stands for (severity, title, fix, what it checks, the public rule it
mirrors) is data: ``rules.yaml``, read by :mod:`.catalogue`, from which the rule table of
``docs/validation-rules.md`` is generated. The ids:

* ``IO-*``   input that could not be read (exit code 2), see :mod:`.validate`;
* ``XPT-*``  the SAS XPORT v5 limits of :func:`cdisc_convert.io.xpt.check_xpt`;
* ``ST-*``   structure (file names, duplicate records, variable order, lengths);
* ``DT-*``   dates (start/end order, dates after death);
* ``XD-*``   cross-dataset consistency (DM, EX, DS, AE, TS);
* ``ONC-*``  oncology (TU, TR, RS);
* ``AD-*``   ADaM (ADSL, BDS, ADTTE);
* ``DEF-*``  define.xml.

Dates are compared as ISO 8601 text *at their common precision*: ``2013-04`` is neither
before nor after ``2013-04-11`` (it cannot be told), but ``2013-05`` is after it. Values
that are not right-truncated ISO 8601 dates (intervals, ``2014---05``) are not compared.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from cdisc_convert.standards.response import overall_response
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, load_standard
from cdisc_convert.core.arrays import filled
from cdisc_convert.core.sasdates import from_sas_days, to_sas_days
from cdisc_convert.core.iso8601 import (comparable_date_part, comparable_iso, compare_iso,
                                         is_iso8601)

from .catalogue import ERROR, INPUT_RULES, NOTICE, RULES, SEVERITY_ORDER, WARNING, Rule

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
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
    out["row"] = out["row"].astype("Int64")
    out["source_row"] = out["source_row"].astype("Int64")
    return out


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
    The rule id is appended to the message; severity and fix come from :data:`RULES`."""
    info = RULES.get(rule) or Rule(rule, ERROR, rule, "See the message.")
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


def _rows_of(mask) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def _visit_key(frame: pd.DataFrame, pre: str) -> np.ndarray:
    """VISITNUM as text where present, else the date part of --DTC (a visit stand-in)."""
    visit = text(frame, "VISITNUM")
    dtc = comparable_date_part(text(frame, f"{pre}DTC"))
    return np.where(visit != "", "V" + visit, "D" + dtc).astype(object)


def _keys(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One text key per record joining ``columns`` (missing columns count as "")."""
    if not columns:
        return filled(len(frame), "")
    key = text(frame, columns[0]).astype(str)
    for c in columns[1:]:
        key = np.char.add(np.char.add(key, "\x1f"), text(frame, c).astype(str))
    return key.astype(object)


# --------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------
def check_duplicate_records(study: Study) -> pd.DataFrame:
    """ST-DUP-RECORD: records equal in every variable but the sequence number."""
    parts = []
    for name, frame in sorted(study.datasets.items()):
        if len(frame) < 2:
            continue
        skip = {"ASEQ", f"{prefix(name)}SEQ"} if prefix(name) else {"ASEQ"}
        cols = [c for c in frame.columns if not str(c).startswith("__") and c not in skip]
        if not cols:
            continue
        dup = frame.duplicated(subset=cols, keep="first").to_numpy()
        if not dup.any():
            continue
        group = frame.groupby(cols, sort=False, dropna=False).ngroup().to_numpy()
        first_pos = pd.Series(np.arange(len(frame))).groupby(group).transform("first").to_numpy()
        rows = _rows_of(dup)
        msg = (f"{name} record " + (rows + 1).astype(str).astype(object)
               + " repeats record " + (first_pos[rows] + 1).astype(str).astype(object)
               + " in every variable" + (f" except {', '.join(sorted(skip & set(frame.columns)))}"
                                         if skip & set(frame.columns) else ""))
        key = "USUBJID" if "USUBJID" in frame.columns else cols[0]
        parts.append(make_findings("ST-DUP-RECORD", name, rows=rows, variable=key,
                                   value=text(frame, key)[rows], message=msg, frame=frame))
    return concat(parts)


def check_variable_order(study: Study) -> pd.DataFrame:
    """ST-VAR-ORDER: SDTM variables in the order of the SDTMIG domain table."""
    std = load_standard("sdtmig-3.4")
    parts = []
    for name in study.sdtm_names:
        try:
            spec = std.dataset(name)
        except MetadataKeyError:
            continue
        order = dict(zip(spec.variables["variable"], spec.variables["order"]))
        present = [c for c in study.datasets[name].columns if c in order]
        expected = sorted(present, key=order.__getitem__)
        if present != expected:
            wrong = [c for c, e in zip(present, expected) if c != e]
            parts.append(make_findings(
                "ST-VAR-ORDER", name, variable=wrong[0], value=", ".join(present),
                message=f"{name}: variables are in the order {', '.join(present)}; the SDTMIG "
                        f"order is {', '.join(expected)} (first difference at {wrong[0]})"))
    return concat(parts)


def check_length_excess(study: Study) -> pd.DataFrame:
    """ST-LENGTH-EXCESS: a declared XPT text length above the longest value in the study
    (SUPP-- datasets: in the dataset)."""
    longest: dict[str, int] = {}
    per_dataset: dict[tuple[str, str], int] = {}
    declared: list[tuple[str, str, int]] = []
    for name, frame in sorted(study.datasets.items()):
        lengths = frame.attrs.get("lengths") or {}
        if not lengths or not len(frame) or not str(study.paths.get(name, "")).lower().endswith(
                ".xpt"):
            continue
        for col in frame.columns:
            if col not in lengths or frame[col].dtype != object:
                continue
            values = pd.Series(pd.unique(frame[col].to_numpy(dtype=object)))
            size = int(values.map(lambda v: len(v.rstrip().encode("utf-8"))
                                  if isinstance(v, str) else 0).max()) if len(values) else 0
            per_dataset[(name, col)] = size
            if not name.startswith("SUPP"):
                longest[col] = max(longest.get(col, 0), size)
            declared.append((name, col, int(lengths[col])))
    parts = []
    for name, col, length in declared:
        most = per_dataset[(name, col)] if name.startswith("SUPP") else longest[col]
        if length > max(most, 1):
            where = "in the dataset" if name.startswith("SUPP") else "in the study"
            parts.append(make_findings(
                "ST-LENGTH-EXCESS", name, variable=col, value=str(length),
                message=f"{name}.{col} is declared {length} bytes long but its longest value "
                        f"{where} has {most} bytes"))
    return concat(parts)


def _pair_check(frame: pd.DataFrame, name: str, code: str, label: str, rule: str
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
    rows = _rows_of(bad)
    codes_for = pairs.groupby("t")["c"].agg(lambda s: ", ".join(sorted(set(s))))
    labels_for = pairs.groupby("c")["t"].agg(lambda s: " | ".join(sorted(set(s))))
    msg = (f"{name} record " + (rows + 1).astype(str).astype(object) + f": {code} '"
           + c[rows] + f"' has {label} values (" + pd.Series(c[rows]).map(labels_for).to_numpy()
           + f") and {label} '" + t[rows] + f"' has {code} values ("
           + pd.Series(t[rows]).map(codes_for).to_numpy() + "); they must be one-to-one")
    return make_findings(rule, name, rows=rows, variable=code, value=c[rows] + " / " + t[rows],
                         message=msg, frame=frame)


_CT_TEST_PAIRS = {"TSPARMCD": ("TSPARMCD", "TSPARM")}  # codelists by variable (subset in specs/)


def check_test_pairs(study: Study) -> pd.DataFrame:
    """ST-TEST-PAIR (one-to-one --TESTCD/--TEST, TSPARMCD/TSPARM, QNAM/QLABEL, PARAMCD is
    AD-PARAM) and ST-TEST-CT (--TEST is the CT name of the --TESTCD term)."""
    std = load_standard("sdtmig-3.4")
    ct = load_ct()
    parts = []
    for name in study.sdtm_names:
        frame = study.datasets[name]
        pre = prefix(name)
        pairs = [("QNAM", "QLABEL")] if name.startswith("SUPP") else \
            [(f"{pre}TESTCD", f"{pre}TEST"), (f"{pre}PARMCD", f"{pre}PARM")]
        for code, label in pairs:
            if not has(frame, code, label):
                continue
            parts.append(_pair_check(frame, name, code, label, "ST-TEST-PAIR"))
            try:
                code_cl = std.variable(name, code).codelists
                label_cl = std.variable(name, label).codelists
            except MetadataKeyError:
                continue
            if not code_cl or not label_cl:
                continue
            try:
                cl_code, cl_label = ct.codelist(code_cl[0]), ct.codelist(label_cl[0])
            except MetadataKeyError:
                continue
            name_of = dict(zip(cl_label.terms["term_code"], cl_label.terms["submission_value"]))
            expected_by_code = {v: name_of.get(t) for v, t in
                                zip(cl_code.terms["submission_value"], cl_code.terms["term_code"])}
            c, t = text(frame, code), text(frame, label)
            expected = pd.Series(c).map(expected_by_code).to_numpy(dtype=object)
            known = pd.notna(expected) & (t != "")
            bad = known & (t != np.where(pd.isna(expected), "", expected).astype(object))
            if bad.any():
                rows = _rows_of(bad)
                parts.append(make_findings(
                    "ST-TEST-CT", name, rows=rows, variable=label, value=t[rows], frame=frame,
                    message=f"{name} record " + (rows + 1).astype(str).astype(object)
                    + f": {label} '" + t[rows] + f"' is not the name of {code} '" + c[rows]
                    + f"' in codelist {cl_label.short_name}, which is '"
                    + expected[rows].astype(str) + "'"))
    return concat(parts)


# --------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------
_START_END_EXTRA = {"DM": [("RFSTDTC", "RFENDTC"), ("RFXSTDTC", "RFXENDTC")]}


def check_start_end(study: Study) -> pd.DataFrame:
    """DT-START-END: --STDTC after --ENDTC (DM: RFSTDTC/RFENDTC, RFXSTDTC/RFXENDTC)."""
    parts = []
    for name in study.sdtm_names:
        frame = study.datasets[name]
        pre = prefix(name)
        pairs = [(f"{pre}STDTC", f"{pre}ENDTC")] + _START_END_EXTRA.get(name, [])
        for start, end in pairs:
            if not has(frame, start, end):
                continue
            a, b = text(frame, start), text(frame, end)
            rows = _rows_of(compare_iso(a, b) > 0)
            if rows.size:
                parts.append(make_findings(
                    "DT-START-END", name, rows=rows, variable=start, frame=frame,
                    value=a[rows] + " > " + b[rows],
                    message=f"{name} record " + (rows + 1).astype(str).astype(object) + ": "
                    + start + " " + a[rows] + " is after " + end + " " + b[rows]))
    return concat(parts)


_DEATH_DOMAINS = ("AE", "EX", "DS", "TR", "RS", "TU")


def check_after_death(study: Study) -> pd.DataFrame:
    """DT-AFTER-DEATH: AE/EX/DS/TR/RS/TU dates after DM.DTHDTC."""
    dm = study.get("DM")
    if not has(dm, "USUBJID", "DTHDTC"):
        return empty_findings()
    death = dict(zip(text(dm, "USUBJID"), comparable_iso(text(dm, "DTHDTC"))))
    death = {k: v for k, v in death.items() if v}
    if not death:
        return empty_findings()
    parts = []
    for name in _DEATH_DOMAINS:
        frame = study.get(name)
        if not has(frame, "USUBJID"):
            continue
        dth = pd.Series(text(frame, "USUBJID")).map(death).fillna("").to_numpy(dtype=object)
        if not (dth != "").any():
            continue
        for var in (f"{name}STDTC", f"{name}ENDTC", f"{name}DTC"):
            if var not in frame.columns:
                continue
            values = text(frame, var)
            rows = _rows_of(compare_iso(values, dth) > 0)
            if rows.size:
                parts.append(make_findings(
                    "DT-AFTER-DEATH", name, rows=rows, variable=var, value=values[rows],
                    frame=frame,
                    message=f"{name} record " + (rows + 1).astype(str).astype(object) + ": "
                    + var + " " + values[rows] + " is after the death of "
                    + text(frame, "USUBJID")[rows] + " (DM.DTHDTC " + dth[rows] + ")"))
    return concat(parts)


# --------------------------------------------------------------------------------------
# Cross-dataset
# --------------------------------------------------------------------------------------
def check_required_datasets(study: Study) -> pd.DataFrame:
    """XD-DM-MISSING, XD-TS-MISSING, XD-ADSL-MISSING (FDA technical rejection criteria)."""
    parts = []
    if study.sdtm_names:
        if "DM" not in study.datasets:
            parts.append(make_findings(
                "XD-DM-MISSING", "DM", message="The folder has SDTM datasets ("
                + ", ".join(study.sdtm_names) + ") but no DM: every SDTM submission needs DM"))
        if "TS" not in study.datasets:
            parts.append(make_findings(
                "XD-TS-MISSING", "TS", message="The folder has SDTM datasets but no TS: "
                "every SDTM submission needs TS with the study start date"))
    if study.adam_names and "ADSL" not in study.datasets:
        parts.append(make_findings(
            "XD-ADSL-MISSING", "ADSL", message="The folder has ADaM datasets ("
            + ", ".join(study.adam_names) + ") but no ADSL: every ADaM submission needs ADSL"))
    return concat(parts)


def check_exposure_reference(study: Study) -> pd.DataFrame:
    """XD-RFXSTDTC / XD-RFXENDTC: DM exposure dates against EX."""
    dm, ex = study.get("DM"), study.get("EX")
    if not has(dm, "USUBJID") or not has(ex, "USUBJID", "EXSTDTC"):
        return empty_findings()
    subj = text(ex, "USUBJID")
    given = text(ex, "EXOCCUR") != "N" if "EXOCCUR" in ex.columns else np.ones(len(ex), bool)
    start = comparable_iso(text(ex, "EXSTDTC"))
    end = comparable_iso(text(ex, "EXENDTC")) if "EXENDTC" in ex.columns else np.full(len(ex), "", object)
    end = np.where(end != "", end, start).astype(object)
    frame = pd.DataFrame({"s": subj, "start": start, "end": end})[given]
    first = frame[frame["start"] != ""].groupby("s")["start"].min()
    last = frame[frame["end"] != ""].groupby("s")["end"].max()
    dm_subj = text(dm, "USUBJID")
    parts = []
    for var, ref, word in (("RFXSTDTC", first, "earliest EXSTDTC"),
                           ("RFXENDTC", last, "latest EXENDTC/EXSTDTC")):
        if var not in dm.columns:
            continue
        have = text(dm, var)
        want = pd.Series(dm_subj).map(ref).fillna("").to_numpy(dtype=object)
        differ = compare_iso(have, want) != 0
        missing = (have == "") & (want != "")
        extra = (have != "") & (want == "") & pd.Series(dm_subj).isin(set(subj)).to_numpy()
        bad = differ | missing | extra
        if bad.any():
            rows = _rows_of(bad)
            shown_want = np.where(want[rows] != "", want[rows], "(none)")
            parts.append(make_findings(
                f"XD-{var}", "DM", rows=rows, variable=var, value=have[rows], frame=dm,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": " + var + " '"
                + have[rows] + "' of " + dm_subj[rows] + f" differs from the {word} in EX ("
                + shown_want.astype(object) + ")"))
    return concat(parts)


_YES = frozenset({"Y", "YES"})


def check_death_consistency(study: Study) -> pd.DataFrame:
    """XD-DTHFL, XD-DEATH-DS, XD-DEATH-AE, XD-DEATH-NO-DS, XD-DEATH-DATE."""
    dm = study.get("DM")
    if not has(dm, "USUBJID"):
        return empty_findings()
    parts = []
    subj = text(dm, "USUBJID")
    dthfl = text(dm, "DTHFL") if "DTHFL" in dm.columns else None
    dthdtc = text(dm, "DTHDTC") if "DTHDTC" in dm.columns else None
    if dthfl is not None and dthdtc is not None:
        rows = _rows_of((dthdtc != "") & (dthfl != "Y"))
        if rows.size:
            parts.append(make_findings(
                "XD-DTHFL", "DM", rows=rows, variable="DTHFL", value=dthfl[rows], frame=dm,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": "
                + subj[rows] + " has DTHDTC " + dthdtc[rows] + " but DTHFL '" + dthfl[rows]
                + "' (should be Y)"))
        rows = _rows_of((dthfl == "Y") & (dthdtc == ""))
        if rows.size:
            parts.append(make_findings(
                "XD-DTHFL", "DM", rows=rows, variable="DTHDTC", value="", frame=dm,
                severity=WARNING,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": "
                + subj[rows] + " has DTHFL = Y but no DTHDTC (give the date if it is known)"))
    dead = set(subj[dthfl == "Y"]) if dthfl is not None else set()
    ds = study.get("DS")
    if dthfl is not None and has(ds, "USUBJID", "DSDECOD"):
        ds_subj = text(ds, "USUBJID")
        is_death = text(ds, "DSDECOD") == "DEATH"
        rows = _rows_of(is_death & ~pd.Series(ds_subj).isin(dead).to_numpy()
                        & pd.Series(ds_subj).isin(set(subj)).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "XD-DEATH-DS", "DS", rows=rows, variable="DSDECOD", value="DEATH", frame=ds,
                message="DS record " + (rows + 1).astype(str).astype(object)
                + ": DSDECOD = DEATH for " + ds_subj[rows] + " but DM.DTHFL is not Y"))
        with_ds_death = set(ds_subj[is_death])
        rows = _rows_of((dthfl == "Y") & ~pd.Series(subj).isin(with_ds_death).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "XD-DEATH-NO-DS", "DM", rows=rows, variable="DTHFL", value="Y", frame=dm,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": "
                + subj[rows] + " has DTHFL = Y but no DS record with DSDECOD = DEATH"))
        if dthdtc is not None and "DSSTDTC" in ds.columns:
            dm_date = pd.Series(ds_subj).map(dict(zip(subj, dthdtc))).fillna("").to_numpy(object)
            ds_date = text(ds, "DSSTDTC")
            rows = _rows_of(is_death & (dm_date != "") & (compare_iso(ds_date, dm_date) != 0))
            if rows.size:
                parts.append(make_findings(
                    "XD-DEATH-DATE", "DS", rows=rows, variable="DSSTDTC", value=ds_date[rows],
                    frame=ds, message="DS record " + (rows + 1).astype(str).astype(object)
                    + ": the DEATH record of " + ds_subj[rows] + " is dated " + ds_date[rows]
                    + " but DM.DTHDTC is " + dm_date[rows]))
    ae = study.get("AE")
    if dthfl is not None and has(ae, "USUBJID") and ("AEOUT" in ae.columns
                                                     or "AESDTH" in ae.columns):
        ae_subj = text(ae, "USUBJID")
        fatal = (text(ae, "AEOUT") == "FATAL") | (text(ae, "AESDTH") == "Y")
        rows = _rows_of(fatal & ~pd.Series(ae_subj).isin(dead).to_numpy()
                        & pd.Series(ae_subj).isin(set(subj)).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "XD-DEATH-AE", "AE", rows=rows, variable="AEOUT" if "AEOUT" in ae.columns
                else "AESDTH", value=text(ae, "AEOUT")[rows], frame=ae,
                message="AE record " + (rows + 1).astype(str).astype(object) + ": "
                + ae_subj[rows] + " has a fatal AE (AEOUT '" + text(ae, "AEOUT")[rows]
                + "', AESDTH '" + text(ae, "AESDTH")[rows] + "') but DM.DTHFL is not Y"))
    return concat(parts)


def check_arm_pairs(study: Study) -> pd.DataFrame:
    """XD-ARM: ARM/ARMCD and ACTARM/ACTARMCD one-to-one in DM (and TA)."""
    parts = []
    for name in ("DM", "TA"):
        frame = study.get(name)
        if frame is None:
            continue
        for code, label in (("ARMCD", "ARM"), ("ACTARMCD", "ACTARM")):
            if has(frame, code, label):
                parts.append(_pair_check(frame, name, code, label, "XD-ARM"))
    return concat(parts)


#: Trial Summary parameters checked by XD-TS-PARAM (see docs/validation-rules.md for the
#: source and its limits). SSTDTC has its own rule (XD-TS-SSTDTC, an error).
FDA_TS_PARAMETERS = (
    "ACTSUB", "ADAPT", "ADDON", "AGEMAX", "AGEMIN", "DCUTDESC", "DCUTDTC", "FCNTRY",
    "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "LENGTH", "NARMS", "OBJPRIM", "PCLAS",
    "PLANSUB", "RANDOM", "REGID", "SDTIGVER", "SDTMVER", "SENDTC", "SEXPOP", "SPONSOR",
    "STYPE", "TBLIND", "TCNTRL", "TDIGRP", "TINDTP", "TITLE", "TPHASE", "TRT", "TTYPE",
)
_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_trial_summary(study: Study) -> pd.DataFrame:
    """XD-TS-SSTDTC, XD-TS-PARAM, XD-TS-SSTDTC-CONSENT, XD-TS-CTVER."""

    ts = study.get("TS")
    if not has(ts, "TSPARMCD"):
        return empty_findings()
    parm = text(ts, "TSPARMCD")
    val = text(ts, "TSVAL")
    parts = []
    sst_rows = _rows_of(parm == "SSTDTC")
    sst: list[str] = []  # the valid SSTDTC values
    if not sst_rows.size:
        parts.append(make_findings(
            "XD-TS-SSTDTC", "TS", variable="TSPARMCD", value="SSTDTC",
            message="TS has no SSTDTC (study start date) record; the FDA rejects a study "
                    "without it"))
    else:
        valid = np.asarray(is_iso8601(pd.Series(val[sst_rows], dtype=object)), dtype=bool) \
            & np.array([bool(_FULL_DATE.match(v)) for v in val[sst_rows]], dtype=bool)
        sst = [v for v, ok in zip(val[sst_rows], valid) if ok]
        rows = sst_rows[~valid]
        if rows.size:
            parts.append(make_findings(
                "XD-TS-SSTDTC", "TS", rows=rows, variable="TSVAL", value=val[rows], frame=ts,
                message="TS record " + (rows + 1).astype(str).astype(object)
                + ": SSTDTC value '" + val[rows] + "' is not an ISO 8601 date (YYYY-MM-DD)"))
    present = set(parm)
    for code in FDA_TS_PARAMETERS:
        if code not in present:
            parts.append(make_findings(
                "XD-TS-PARAM", "TS", variable="TSPARMCD", value=code,
                message=f"TS has no {code} record (a parameter the FDA expects for clinical "
                        "trials)"))
    if has(ts, "TSVCDREF") and has(ts, "TSVCDVER"):
        # coded values from CDISC CT name the release they come from: the one loaded (the
        # checks, define.xml) must be that release
        release = load_ct().release
        ref, ver = text(ts, "TSVCDREF"), text(ts, "TSVCDVER")
        rows = _rows_of((np.char.upper(ref.astype(str)) == "CDISC CT") & (ver != "")
                        & (ver != (release or "")))
        if rows.size:
            parts.append(make_findings(
                "XD-TS-CTVER", "TS", rows=rows, variable="TSVCDVER", value=ver[rows], frame=ts,
                message="TS record " + (rows + 1).astype(str).astype(object) + ": TSVCDVER '"
                + ver[rows] + "' (TSPARMCD " + parm[rows] + f") is not the loaded SDTM CT "
                f"release {release}; define.xml and the CT checks use {release}"))
    dm = study.get("DM")
    if len(sst) == 1 and has(dm, "RFICDTC"):
        consent = sorted(v for v in comparable_iso(text(dm, "RFICDTC")) if v)
        if consent and compare_iso(np.array([sst[0]], object),
                                   np.array([consent[0]], object))[0] != 0:
            parts.append(make_findings(
                "XD-TS-SSTDTC-CONSENT", "TS", rows=sst_rows[:1], variable="TSVAL",
                value=sst[0], frame=ts,
                message=f"TS SSTDTC {sst[0]} differs from the earliest informed consent date "
                        f"in DM (RFICDTC {consent[0]})"))
    return concat(parts)


# --------------------------------------------------------------------------------------
# Oncology
# --------------------------------------------------------------------------------------
def _eval_columns(a: pd.DataFrame, pa: str, b: pd.DataFrame, pb: str) -> tuple[list, list]:
    """Evaluator columns present in both datasets (--EVAL, --EVALID)."""
    ca, cb = [], []
    for suffix in ("EVAL", "EVALID"):
        if f"{pa}{suffix}" in a.columns and f"{pb}{suffix}" in b.columns:
            ca.append(f"{pa}{suffix}")
            cb.append(f"{pb}{suffix}")
    return ca, cb


def check_lesion_links(study: Study) -> pd.DataFrame:
    """ONC-LINK: TRLNKID (and RSLNKID) exist as TULNKID for the subject (and evaluator)."""
    tu = study.get("TU")
    parts = []
    for name in ("TR", "RS"):
        frame = study.get(name)
        var = f"{name}LNKID"
        if not has(frame, "USUBJID", var):
            continue
        link = text(frame, var)
        used = link != ""
        if not used.any():
            continue
        if not has(tu, "USUBJID", "TULNKID"):
            parts.append(make_findings(
                "ONC-LINK", name, variable=var,
                message=f"{name} links {int(used.sum())} record(s) to lesions ({var}) but the "
                        "folder has no TU dataset with TULNKID to identify them"))
            continue
        ea, eb = _eval_columns(frame, name, tu, "TU")
        known = set(_keys(tu, ["USUBJID", "TULNKID"] + eb))
        keys = _keys(frame, ["USUBJID", var] + ea)
        rows = _rows_of(used & ~pd.Series(keys).isin(known).to_numpy())
        if rows.size:
            who = "" if not ea else " and evaluator"
            parts.append(make_findings(
                "ONC-LINK", name, rows=rows, variable=var, value=link[rows], frame=frame,
                message=f"{name} record " + (rows + 1).astype(str).astype(object) + f": {var} '"
                + link[rows] + "' of " + text(frame, "USUBJID")[rows]
                + f" is not a lesion of that subject{who} in TU (TULNKID)"))
    return concat(parts)


_MEASURES = frozenset({"LDIAM", "LPERP", "DIAMETER", "LONGDIAM", "SAXIS"})


def check_target_baseline(study: Study) -> pd.DataFrame:
    """ONC-TARGET-BASELINE: every TARGET lesion of TU has a baseline measurement in TR."""
    tu, tr = study.get("TU"), study.get("TR")
    if not has(tu, "USUBJID", "TULNKID", "TUSTRESC") or not has(tr, "USUBJID", "TRLNKID"):
        return empty_findings()
    target = text(tu, "TUSTRESC") == "TARGET"
    if "TUTESTCD" in tu.columns:
        target &= text(tu, "TUTESTCD") == "TUMIDENT"
    if not target.any():
        return empty_findings()
    ea, eb = _eval_columns(tr, "TR", tu, "TU")
    tr_keys = _keys(tr, ["USUBJID", "TRLNKID"] + ea)
    result = (text(tr, "TRSTRESC") != "") | (text(tr, "TRORRES") != "")
    if "TRSTRESN" in tr.columns:
        result |= pd.to_numeric(tr["TRSTRESN"], errors="coerce").notna().to_numpy()
    measured = result & (text(tr, "TRSTAT") != "NOT DONE")
    if "TRTESTCD" in tr.columns:
        measured &= pd.Series(text(tr, "TRTESTCD")).isin(_MEASURES).to_numpy()
    if "TRLOBXFL" in tr.columns:
        baseline = text(tr, "TRLOBXFL") == "Y"
        how = "TRLOBXFL = Y"
    else:
        # without the flag: the lesion's first assessment (lowest VISITNUM, else date)
        order = pd.to_numeric(tr["VISITNUM"], errors="coerce") if "VISITNUM" in tr.columns \
            else pd.Series(comparable_iso(text(tr, "TRDTC")))
        first = pd.Series(order.to_numpy()).groupby(tr_keys).transform("min").to_numpy()
        baseline = order.to_numpy() == first
        how = "the lesion's first TR visit"
    ok = set(tr_keys[baseline & measured])
    tu_keys = _keys(tu, ["USUBJID", "TULNKID"] + eb)
    rows = _rows_of(target & ~pd.Series(tu_keys).isin(ok).to_numpy())
    if not rows.size:
        return empty_findings()
    return make_findings(
        "ONC-TARGET-BASELINE", "TU", rows=rows, variable="TULNKID", value=text(tu, "TULNKID")[rows],
        frame=tu, message="TU record " + (rows + 1).astype(str).astype(object)
        + ": target lesion " + text(tu, "TULNKID")[rows] + " of " + text(tu, "USUBJID")[rows]
        + f" has no measurement in TR at baseline ({how}, a diameter with a result)")


_RESPONSE_TESTS = {"OVRLRESP": "overall", "TRGRESP": "target", "NTRGRESP": "nontarget",
                   "NEWLPROG": "new", "NEWLIND": "new"}


def _response_table(rs: pd.DataFrame) -> pd.DataFrame | None:
    """RS responses side by side: one row per subject, criterion, evaluator and visit,
    with the row position of the OVRLRESP record."""
    if not has(rs, "USUBJID", "RSTESTCD", "RSSTRESC"):
        return None
    test = pd.Series(text(rs, "RSTESTCD")).map(_RESPONSE_TESTS)
    keep = test.notna().to_numpy()
    if not keep.any():
        return None
    key_cols = ["USUBJID", "RSCAT", "RSEVAL", "RSEVALID"]
    long = pd.DataFrame({
        "key": _keys(rs, [c for c in key_cols if c in rs.columns])[keep],
        "visit": _visit_key(rs, "RS")[keep],
        "test": test.to_numpy()[keep],
        "value": text(rs, "RSSTRESC")[keep],
        "pos": np.flatnonzero(keep),
    })
    wide = long.pivot_table(index=["key", "visit"], columns="test", values="value",
                            aggfunc="first")
    pos = long[long["test"] == "overall"].groupby(["key", "visit"])["pos"].first()
    wide = wide.join(pos, how="left")
    for col in ("overall", "target", "nontarget", "new"):
        if col not in wide.columns:
            wide[col] = np.nan
    return wide.reset_index()


def check_overall_response(study: Study) -> pd.DataFrame:
    """ONC-OVRL-PD (any progression => overall PD) and ONC-OVRL-RECIST (RECIST 1.1 table)."""
    rs = study.get("RS")
    wide = _response_table(rs)
    if wide is None:
        return empty_findings()
    wide = wide[wide["pos"].notna()]
    parts = []
    overall = wide["overall"].fillna("").astype(str)
    target = wide["target"].fillna("").astype(str)
    nontarget = wide["nontarget"].fillna("").astype(str)
    new = wide["new"].fillna("").astype(str)
    progression = new.isin(_YES) | (target == "PD") | (nontarget == "PD")
    bad = progression & (overall != "PD") & (overall != "")
    rows = wide.loc[bad, "pos"].to_numpy(dtype=np.int64)
    if rows.size:
        why = pd.DataFrame({
            "new": np.where(new[bad].isin(_YES), "NEWLPROG " + new[bad], ""),
            "target": np.where(target[bad] == "PD", "TRGRESP PD", ""),
            "nontarget": np.where(nontarget[bad] == "PD", "NTRGRESP PD", "")})
        why = why.apply(lambda r: ", ".join(x for x in r if x), axis=1).to_numpy(dtype=object)
        parts.append(make_findings(
            "ONC-OVRL-PD", "RS", rows=rows, variable="RSSTRESC", value=overall[bad].to_numpy(),
            frame=rs, message="RS record " + (rows + 1).astype(str).astype(object) + ": "
            + text(rs, "USUBJID")[rows] + " " + text(rs, "VISIT")[rows] + " ("
            + text(rs, "RSCAT")[rows] + "): overall response " + overall[bad].to_numpy()
            + " although " + why + " (progression in a component means overall PD)"))
    # RECIST 1.1 (Eisenhauer 2009, tables 1 and 2) for visits without progression
    recist = wide["key"].map(lambda k: "RECIST 1.1" in k.split("\x1f")).to_numpy(dtype=bool) \
        if "RSCAT" in rs.columns else np.zeros(len(wide), bool)
    no_target = target.isin(["", "NA", "N/A", "NOT APPLICABLE"])
    nt_none = nontarget.isin(["", "NA", "N/A", "NOT APPLICABLE"])
    # the one RECIST 1.1 table (specs/recist-1.1/overall_response.yaml); records without
    # any component response are not checked
    expected = overall_response(target, nontarget, progression).to_numpy(dtype=object)
    expected = np.where((no_target & nt_none).to_numpy(), "", expected)
    check = recist & ~progression.to_numpy() & (expected != "") & (overall != "").to_numpy() \
        & (new.isin(["N", "NO", ""]).to_numpy())
    bad = check & (overall.to_numpy() != expected)
    if bad.any():
        rows = wide.loc[bad, "pos"].to_numpy(dtype=np.int64)
        parts.append(make_findings(
            "ONC-OVRL-RECIST", "RS", rows=rows, variable="RSSTRESC",
            value=overall.to_numpy()[bad], frame=rs,
            message="RS record " + (rows + 1).astype(str).astype(object) + ": "
            + text(rs, "USUBJID")[rows] + " " + text(rs, "VISIT")[rows] + ": overall response "
            + overall.to_numpy()[bad] + " but RECIST 1.1 gives " + expected[bad].astype(object)
            + " for target " + np.where(target.to_numpy()[bad] == "", "(none)",
                                        target.to_numpy()[bad]).astype(object)
            + ", non-target " + np.where(nontarget.to_numpy()[bad] == "", "(none)",
                                         nontarget.to_numpy()[bad]).astype(object)
            + ", no new lesion"))
    return concat(parts)


def check_new_lesions(study: Study) -> pd.DataFrame:
    """ONC-NEW-LESION: the visit where a NEW lesion first appears (TU, or TR with
    TRGRPID = NEW) must have overall response PD in RS (every criterion, same evaluator)."""
    tu, tr, rs = study.get("TU"), study.get("TR"), study.get("RS")
    wide = _response_table(rs)
    if wide is None:
        return empty_findings()
    events = []
    if has(tu, "USUBJID", "TUSTRESC"):
        new = text(tu, "TUSTRESC") == "NEW"
        if "TUTESTCD" in tu.columns:
            new &= text(tu, "TUTESTCD") == "TUMIDENT"
        events.append(pd.DataFrame({
            "ds": "TU", "pos": np.flatnonzero(new), "subj": text(tu, "USUBJID")[new],
            "lesion": text(tu, "TULNKID")[new], "eval": text(tu, "TUEVAL")[new],
            "visit": _visit_key(tu, "TU")[new], "label": text(tu, "VISIT")[new],
            "order": _order(tu, "TU")[new]}))
    if has(tr, "USUBJID", "TRGRPID"):
        new = text(tr, "TRGRPID") == "NEW"
        events.append(pd.DataFrame({
            "ds": "TR", "pos": np.flatnonzero(new), "subj": text(tr, "USUBJID")[new],
            "lesion": text(tr, "TRLNKID")[new], "eval": text(tr, "TREVAL")[new],
            "visit": _visit_key(tr, "TR")[new], "label": text(tr, "VISIT")[new],
            "order": _order(tr, "TR")[new]}))
    events = [e for e in events if len(e)]
    if not events:
        return empty_findings()
    ev = pd.concat(events, ignore_index=True)
    # the first appearance of each new lesion (TU before TR on ties)
    ev = ev.sort_values(["subj", "eval", "lesion", "order", "ds"], kind="mergesort")
    ev = ev.drop_duplicates(["subj", "eval", "lesion"], keep="first")
    # overall responses by subject/evaluator/visit
    parts_key = pd.Series(wide["key"]).str.split("\x1f")
    cols = [c for c in ("USUBJID", "RSCAT", "RSEVAL", "RSEVALID") if c in rs.columns]
    resp = pd.DataFrame({c: parts_key.str[i] for i, c in enumerate(cols)})
    resp["visit"] = wide["visit"].to_numpy()
    resp["overall"] = wide["overall"].fillna("").astype(str).to_numpy()
    resp["pos"] = wide["pos"].to_numpy()
    resp = resp[resp["pos"].notna()]
    resp["eval"] = resp["RSEVAL"].astype(str) if "RSEVAL" in resp.columns else ""
    merged = ev.merge(resp, left_on=["subj", "visit"], right_on=["USUBJID", "visit"],
                      suffixes=("", "_rs"))
    same_eval = (merged["eval"] == merged["eval_rs"]) | (merged["eval"] == "") \
        | (merged["eval_rs"] == "")
    bad = merged[same_eval & (merged["overall"] != "PD") & (merged["overall"] != "")]
    if bad.empty:
        return empty_findings()
    bad = bad.drop_duplicates(["pos_rs"])
    rows = bad["pos_rs"].to_numpy(dtype=np.int64)
    crit = bad["RSCAT"].to_numpy(dtype=object) if "RSCAT" in bad.columns else \
        np.full(len(bad), "", object)
    return make_findings(
        "ONC-NEW-LESION", "RS", rows=rows, variable="RSSTRESC", value=bad["overall"].to_numpy(),
        frame=rs, message="RS record " + (rows + 1).astype(str).astype(object) + ": "
        + bad["subj"].to_numpy(dtype=object) + " " + bad["label"].to_numpy(dtype=object)
        + ": new lesion " + bad["lesion"].to_numpy(dtype=object) + " (" + bad["ds"].to_numpy(
            dtype=object) + ") first appears at this visit but the overall response ("
        + crit + ") is " + bad["overall"].to_numpy(dtype=object) + ", not PD")


def _order(frame: pd.DataFrame, pre: str) -> np.ndarray:
    """A sortable visit order: VISITNUM, else the --DTC date as a number of days."""
    if "VISITNUM" in frame.columns:
        v = pd.to_numeric(frame["VISITNUM"], errors="coerce").to_numpy(dtype="float64")
        if not np.isnan(v).all():
            return v
    dates = pd.to_datetime(pd.Series(comparable_iso(text(frame, f"{pre}DTC"))).str.slice(0, 10),
                           errors="coerce", format="%Y-%m-%d")
    return to_sas_days(dates).to_numpy(dtype="float64")


# --------------------------------------------------------------------------------------
# ADaM
# --------------------------------------------------------------------------------------
def check_adsl(study: Study) -> pd.DataFrame:
    """AD-ADSL-DUP and AD-USUBJID-ADSL."""
    adsl = study.get("ADSL")
    if not has(adsl, "USUBJID"):
        return empty_findings()
    parts = []
    subj = text(adsl, "USUBJID")
    dup = pd.Series(subj).duplicated(keep="first").to_numpy()
    if dup.any():
        rows = _rows_of(dup)
        parts.append(make_findings(
            "AD-ADSL-DUP", "ADSL", rows=rows, variable="USUBJID", value=subj[rows], frame=adsl,
            message="ADSL record " + (rows + 1).astype(str).astype(object) + ": USUBJID "
            + subj[rows] + " already has a record"))
    known = set(subj)
    for name in study.adam_names:
        frame = study.datasets[name]
        if name == "ADSL" or "USUBJID" not in frame.columns:
            continue
        s = text(frame, "USUBJID")
        rows = _rows_of((s != "") & ~pd.Series(s).isin(known).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "AD-USUBJID-ADSL", name, rows=rows, variable="USUBJID", value=s[rows],
                frame=frame, message=f"{name} record " + (rows + 1).astype(str).astype(object)
                + ": USUBJID " + s[rows] + " is not a subject in ADSL"))
    return concat(parts)


def check_param_pairs(study: Study) -> pd.DataFrame:
    """AD-PARAM: PARAMCD and PARAM one-to-one in each BDS/TTE dataset."""
    return concat(_pair_check(study.datasets[n], n, "PARAMCD", "PARAM", "AD-PARAM")
                  for n in study.adam_names if has(study.datasets[n], "PARAMCD", "PARAM"))


def check_time_to_event(study: Study) -> pd.DataFrame:
    """AD-CNSR, AD-EVNTDESC, AD-TTE-AVAL in datasets with CNSR."""
    parts = []
    for name in study.adam_names:
        frame = study.datasets[name]
        if "CNSR" not in frame.columns:
            continue
        cnsr = pd.to_numeric(frame["CNSR"], errors="coerce").to_numpy(dtype="float64")
        raw = text(frame, "CNSR")
        bad = np.isnan(cnsr) | (cnsr < 0) | (np.round(cnsr) != cnsr)
        if bad.any():
            rows = _rows_of(bad)
            parts.append(make_findings(
                "AD-CNSR", name, rows=rows, variable="CNSR", value=raw[rows], frame=frame,
                message=f"{name} record " + (rows + 1).astype(str).astype(object) + ": CNSR '"
                + raw[rows] + "' is not 0 (event) or a positive integer (censoring)"))
        if "EVNTDESC" in frame.columns:
            rows = _rows_of((cnsr == 0) & (text(frame, "EVNTDESC") == ""))
            if rows.size:
                parts.append(make_findings(
                    "AD-EVNTDESC", name, rows=rows, variable="EVNTDESC", value="", frame=frame,
                    message=f"{name} record " + (rows + 1).astype(str).astype(object)
                    + ": event record (CNSR = 0, PARAMCD " + text(frame, "PARAMCD")[rows]
                    + ") has no EVNTDESC"))
        if "AVAL" in frame.columns:
            aval = pd.to_numeric(frame["AVAL"], errors="coerce").to_numpy(dtype="float64")
            rows = _rows_of(np.isnan(aval) | (aval < 0))
            if rows.size:
                parts.append(make_findings(
                    "AD-TTE-AVAL", name, rows=rows, variable="AVAL", frame=frame,
                    value=text(frame, "AVAL")[rows],
                    message=f"{name} record " + (rows + 1).astype(str).astype(object)
                    + ": AVAL '" + text(frame, "AVAL")[rows] + "' (PARAMCD "
                    + text(frame, "PARAMCD")[rows] + ") is " + np.where(
                        np.isnan(aval[rows]), "missing", "negative").astype(object)
                    + "; a time to event is never negative"))
    return concat(parts)


#: ADT may lie this many days before the treatment start (screening) ...
ADT_DAYS_BEFORE = 60
#: ... and this many days after the subject's last contact: the latest of these ADSL dates
ADT_DAYS_AFTER = 30
LAST_CONTACT_DATES = ("LSTALVDT", "DTHDT", "EOSDT", "TRTEDT", "RFENDT", "RFPENDT")
#: ... and of these ISO 8601 texts (complete dates only), which some ADSLs carry over from DM
LAST_CONTACT_DTC = ("RFENDTC", "RFPENDTC", "DTHDTC")


def _as_dates(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.dt.normalize()
    if pd.api.types.is_numeric_dtype(s.dtype):  # SAS date numbers that kept no format
        return from_sas_days(s)
    return pd.to_datetime(pd.Series(s, dtype=object).where(lambda x: x != ""), errors="coerce")


def check_adt_window(study: Study) -> pd.DataFrame:
    """AD-ADT-WINDOW: ADT between TRTSDT - 60 days and the last contact + 30 days."""
    adsl = study.get("ADSL")
    if not has(adsl, "USUBJID") or not any(c in adsl.columns for c in ("TRTSDT", "RANDDT")):
        return empty_findings()
    subj = text(adsl, "USUBJID")
    start = None
    for c in ("TRTSDT", "RANDDT"):
        if c in adsl.columns:
            d = _as_dates(adsl[c])
            start = d if start is None else start.fillna(d)
    ends = [_as_dates(adsl[c]) for c in LAST_CONTACT_DATES if c in adsl.columns]
    ends += [pd.to_datetime(pd.Series(comparable_date_part(text(adsl, c))).where(lambda x: x.str.len() == 10),
                            errors="coerce", format="%Y-%m-%d")
             for c in LAST_CONTACT_DTC if c in adsl.columns]
    end = pd.concat(ends, axis=1).max(axis=1) if ends else pd.Series(pd.NaT, index=adsl.index)
    lower = pd.Series((start - pd.Timedelta(days=ADT_DAYS_BEFORE)).to_numpy(), index=subj)
    upper = pd.Series((end + pd.Timedelta(days=ADT_DAYS_AFTER)).to_numpy(), index=subj)
    lower = lower[~lower.index.duplicated()]
    upper = upper[~upper.index.duplicated()]
    parts = []
    for name in study.adam_names:
        frame = study.datasets[name]
        if name == "ADSL" or not has(frame, "USUBJID", "ADT"):
            continue
        adt = _as_dates(frame["ADT"]).to_numpy()
        s = pd.Series(text(frame, "USUBJID"))
        lo = s.map(lower).to_numpy(dtype="datetime64[ns]")
        hi = s.map(upper).to_numpy(dtype="datetime64[ns]")
        with np.errstate(invalid="ignore"):
            early = ~np.isnat(adt) & ~np.isnat(lo) & (adt < lo)
            late = ~np.isnat(adt) & ~np.isnat(hi) & (adt > hi)
        rows = _rows_of(early | late)
        if not rows.size:
            continue
        adt_txt = pd.Series(adt[rows]).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
        bound = np.where(early[rows], pd.Series(lo[rows]).dt.strftime("%Y-%m-%d"),
                         pd.Series(hi[rows]).dt.strftime("%Y-%m-%d")).astype(object)
        side = np.where(early[rows], f"before TRTSDT - {ADT_DAYS_BEFORE} days (",
                        f"after the last contact + {ADT_DAYS_AFTER} days (").astype(object)
        parts.append(make_findings(
            "AD-ADT-WINDOW", name, rows=rows, variable="ADT", value=adt_txt, frame=frame,
            message=f"{name} record " + (rows + 1).astype(str).astype(object) + ": ADT "
            + adt_txt + " of " + s.to_numpy(dtype=object)[rows] + " (PARAMCD "
            + text(frame, "PARAMCD")[rows] + ") is " + side + bound + ")"))
    return concat(parts)


#: ADSL population flags that must be Y or N for every subject (ADaMIG 1.3, 3.1.4).
POPULATION_FLAGS = ("SAFFL", "ITTFL", "FASFL", "PPROTFL", "COMPLFL", "RANDFL", "ENRLFL")


def check_flags(study: Study) -> pd.DataFrame:
    """AD-FLAG (values of *FL) and AD-POPFL-NULL (blank ADSL population flags)."""
    parts = []
    for name in study.adam_names:
        frame = study.datasets[name]
        for col in frame.columns:
            if not (isinstance(col, str) and col.endswith("FL")) or col.startswith("__"):
                continue
            values = text(frame, col)
            rows = _rows_of(~pd.Series(values).isin(["Y", "N", ""]).to_numpy())
            if rows.size:
                parts.append(make_findings(
                    "AD-FLAG", name, rows=rows, variable=col, value=values[rows], frame=frame,
                    message=f"{name} record " + (rows + 1).astype(str).astype(object) + f": {col} '"
                    + values[rows] + "' is not Y, N or blank"))
            if name == "ADSL" and col in POPULATION_FLAGS:
                rows = _rows_of(values == "")
                if rows.size:
                    parts.append(make_findings(
                        "AD-POPFL-NULL", name, rows=rows, variable=col, value="", frame=frame,
                        message=f"ADSL record " + (rows + 1).astype(str).astype(object) + f": "
                        f"population flag {col} is blank for " + text(frame, "USUBJID")[rows]))
    return concat(parts)


def check_source_traceability(study: Study) -> pd.DataFrame:
    """AD-SRCDOM (SRCSEQ without SRCDOM) and AD-SRCVAR (SRCSEQ used, no SRCVAR column)."""
    parts = []
    for name in study.adam_names:
        frame = study.datasets[name]
        if "SRCSEQ" not in frame.columns:
            continue
        seq = pd.to_numeric(frame["SRCSEQ"], errors="coerce").notna().to_numpy()
        if not seq.any():
            continue
        dom = text(frame, "SRCDOM")
        rows = _rows_of(seq & (dom == ""))
        if rows.size:
            parts.append(make_findings(
                "AD-SRCDOM", name, rows=rows, variable="SRCDOM", value="", frame=frame,
                message=f"{name} record " + (rows + 1).astype(str).astype(object)
                + ": SRCSEQ " + text(frame, "SRCSEQ")[rows] + " is populated but SRCDOM is "
                + ("missing" if "SRCDOM" not in frame.columns else "blank")))
        if "SRCVAR" not in frame.columns:
            parts.append(make_findings(
                "AD-SRCVAR", name, variable="SRCVAR",
                message=f"{name} uses SRCSEQ ({int(seq.sum())} records) but has no SRCVAR; "
                        "the source record is identified, the source variable is not"))
    return concat(parts)


#: Every study-level rule, in the order they run.
CHECKS: tuple[Callable[[Study], pd.DataFrame], ...] = (
    check_required_datasets, check_duplicate_records, check_variable_order,
    check_length_excess, check_test_pairs, check_start_end, check_after_death,
    check_exposure_reference, check_death_consistency, check_arm_pairs, check_trial_summary,
    check_lesion_links, check_target_baseline, check_overall_response, check_new_lesions,
    check_adsl, check_param_pairs, check_time_to_event, check_adt_window, check_flags,
    check_source_traceability,
)


def run_checks(study: Study, checks: Iterable[Callable[[Study], pd.DataFrame]] = CHECKS
               ) -> pd.DataFrame:
    """Every rule; a rule that fails to run gives an IO-RULE-FAILED finding, never a crash."""
    parts = []
    for check in checks:
        try:
            parts.append(check(study))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            parts.append(make_findings(
                "IO-RULE-FAILED", "", variable=check.__name__,
                message=f"rule {check.__name__} could not run: {type(exc).__name__}: {exc}"))
    return concat(parts)


__all__ = [
    "CHECKS", "ERROR", "FDA_TS_PARAMETERS", "FINDING_COLUMNS", "INPUT_RULES", "NOTICE",
    "POPULATION_FLAGS", "RULES", "Rule", "SEVERITY_ORDER", "Study", "WARNING",
    "concat", "empty_findings", "make_findings", "run_checks", "text",
]
