"""Study-level ADaM rules (AD-*): ADSL, BDS and time-to-event datasets. Registered in
:data:`.checks.CHECKS`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.iso8601 import comparable_date_part
from cdisc_convert.core.sasdates import from_sas_days

from .study import Study, concat, empty_findings, has, make_findings, pair_check, rows_of, text


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
        rows = rows_of(dup)
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
        rows = rows_of((s != "") & ~pd.Series(s).isin(known).to_numpy())
        if rows.size:
            parts.append(make_findings(
                "AD-USUBJID-ADSL", name, rows=rows, variable="USUBJID", value=s[rows],
                frame=frame, message=f"{name} record " + (rows + 1).astype(str).astype(object)
                + ": USUBJID " + s[rows] + " is not a subject in ADSL"))
    return concat(parts)


def check_param_pairs(study: Study) -> pd.DataFrame:
    """AD-PARAM: PARAMCD and PARAM one-to-one in each BDS/TTE dataset."""
    return concat(pair_check(study.datasets[n], n, "PARAMCD", "PARAM", "AD-PARAM")
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
            rows = rows_of(bad)
            parts.append(make_findings(
                "AD-CNSR", name, rows=rows, variable="CNSR", value=raw[rows], frame=frame,
                message=f"{name} record " + (rows + 1).astype(str).astype(object) + ": CNSR '"
                + raw[rows] + "' is not 0 (event) or a positive integer (censoring)"))
        if "EVNTDESC" in frame.columns:
            rows = rows_of((cnsr == 0) & (text(frame, "EVNTDESC") == ""))
            if rows.size:
                parts.append(make_findings(
                    "AD-EVNTDESC", name, rows=rows, variable="EVNTDESC", value="", frame=frame,
                    message=f"{name} record " + (rows + 1).astype(str).astype(object)
                    + ": event record (CNSR = 0, PARAMCD " + text(frame, "PARAMCD")[rows]
                    + ") has no EVNTDESC"))
        if "AVAL" in frame.columns:
            aval = pd.to_numeric(frame["AVAL"], errors="coerce").to_numpy(dtype="float64")
            rows = rows_of(np.isnan(aval) | (aval < 0))
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
        rows = rows_of(early | late)
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
            rows = rows_of(~pd.Series(values).isin(["Y", "N", ""]).to_numpy())
            if rows.size:
                parts.append(make_findings(
                    "AD-FLAG", name, rows=rows, variable=col, value=values[rows], frame=frame,
                    message=f"{name} record " + (rows + 1).astype(str).astype(object) + f": {col} '"
                    + values[rows] + "' is not Y, N or blank"))
            if name == "ADSL" and col in POPULATION_FLAGS:
                rows = rows_of(values == "")
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
        rows = rows_of(seq & (dom == ""))
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
