"""Study-level rules on SDTM: structure (ST-*), dates (DT-*) and consistency across
datasets (XD-*: DM, EX, DS, AE, TS). Registered in :data:`.checks.CHECKS`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.iso8601 import comparable_iso, compare_iso, is_complete_date
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, load_standard

from .catalogue import WARNING
from .study import (Study, concat, empty_findings, has, make_findings, pair_check, prefix,
                    rows_of, text)


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
        rows = rows_of(dup)
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
            parts.append(pair_check(frame, name, code, label, "ST-TEST-PAIR"))
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
                rows = rows_of(bad)
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
            rows = rows_of(compare_iso(a, b) > 0)
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
            rows = rows_of(compare_iso(values, dth) > 0)
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
            rows = rows_of(bad)
            shown_want = np.where(want[rows] != "", want[rows], "(none)")
            parts.append(make_findings(
                f"XD-{var}", "DM", rows=rows, variable=var, value=have[rows], frame=dm,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": " + var + " '"
                + have[rows] + "' of " + dm_subj[rows] + f" differs from the {word} in EX ("
                + shown_want.astype(object) + ")"))
    return concat(parts)


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
        rows = rows_of((dthdtc != "") & (dthfl != "Y"))
        if rows.size:
            parts.append(make_findings(
                "XD-DTHFL", "DM", rows=rows, variable="DTHFL", value=dthfl[rows], frame=dm,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": "
                + subj[rows] + " has DTHDTC " + dthdtc[rows] + " but DTHFL '" + dthfl[rows]
                + "' (should be Y)"))
        rows = rows_of((dthfl == "Y") & (dthdtc == ""))
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
        rows = rows_of(is_death & ~pd.Series(ds_subj).isin(dead).to_numpy()
                        & pd.Series(ds_subj).isin(set(subj)).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "XD-DEATH-DS", "DS", rows=rows, variable="DSDECOD", value="DEATH", frame=ds,
                message="DS record " + (rows + 1).astype(str).astype(object)
                + ": DSDECOD = DEATH for " + ds_subj[rows] + " but DM.DTHFL is not Y"))
        with_ds_death = set(ds_subj[is_death])
        rows = rows_of((dthfl == "Y") & ~pd.Series(subj).isin(with_ds_death).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "XD-DEATH-NO-DS", "DM", rows=rows, variable="DTHFL", value="Y", frame=dm,
                message="DM record " + (rows + 1).astype(str).astype(object) + ": "
                + subj[rows] + " has DTHFL = Y but no DS record with DSDECOD = DEATH"))
        if dthdtc is not None and "DSSTDTC" in ds.columns:
            dm_date = pd.Series(ds_subj).map(dict(zip(subj, dthdtc))).fillna("").to_numpy(object)
            ds_date = text(ds, "DSSTDTC")
            rows = rows_of(is_death & (dm_date != "") & (compare_iso(ds_date, dm_date) != 0))
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
        rows = rows_of(fatal & ~pd.Series(ae_subj).isin(dead).to_numpy()
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
                parts.append(pair_check(frame, name, code, label, "XD-ARM"))
    return concat(parts)


#: Trial Summary parameters checked by XD-TS-PARAM (see docs/validation-rules.md for the
#: source and its limits). SSTDTC has its own rule (XD-TS-SSTDTC, an error).
FDA_TS_PARAMETERS = (
    "ACTSUB", "ADAPT", "ADDON", "AGEMAX", "AGEMIN", "DCUTDESC", "DCUTDTC", "FCNTRY",
    "HLTSUBJI", "INDIC", "INTMODEL", "INTTYPE", "LENGTH", "NARMS", "OBJPRIM", "PCLAS",
    "PLANSUB", "RANDOM", "REGID", "SDTIGVER", "SDTMVER", "SENDTC", "SEXPOP", "SPONSOR",
    "STYPE", "TBLIND", "TCNTRL", "TDIGRP", "TINDTP", "TITLE", "TPHASE", "TRT", "TTYPE",
)


def check_trial_summary(study: Study) -> pd.DataFrame:
    """XD-TS-SSTDTC, XD-TS-PARAM, XD-TS-SSTDTC-CONSENT, XD-TS-CTVER."""

    ts = study.get("TS")
    if not has(ts, "TSPARMCD"):
        return empty_findings()
    parm = text(ts, "TSPARMCD")
    val = text(ts, "TSVAL")
    parts = []
    sst_rows = rows_of(parm == "SSTDTC")
    sst: list[str] = []  # the valid SSTDTC values
    if not sst_rows.size:
        parts.append(make_findings(
            "XD-TS-SSTDTC", "TS", variable="TSPARMCD", value="SSTDTC",
            message="TS has no SSTDTC (study start date) record; the FDA rejects a study "
                    "without it"))
    else:
        valid = is_complete_date(pd.Series(val[sst_rows], dtype=object)).to_numpy(dtype=bool)
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
        rows = rows_of((np.char.upper(ref.astype(str)) == "CDISC CT") & (ver != "")
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
