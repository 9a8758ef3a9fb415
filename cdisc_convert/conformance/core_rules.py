"""Study-level rules equivalent to CDISC CORE rules the bundled study was once caught by.

An outside run of the CDISC open rules engine (CORE) reported three issues on the bundled
study's SDTM that the project's own ``validate`` did not: a missing timing variable in MH
(CG0219), AGEMAX given as text instead of a null TSVAL with TSVALNF (CG0270) and the AE
Expected MedDRA variables absent (CG0016). These checks catch the same here. The CORE rule
texts themselves could not be retrieved; each check implements the SDTMIG 3.4 requirement
the issue names, documented in ``docs/validation-rules.md``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .study import Study, concat, empty_findings, has, make_findings, text

#: AE's MedDRA variables (SDTMIG 3.4 AE: Expected, except AEDECOD/AEBODSYS which are
#: Required/Expected names of the same hierarchy).
AE_MEDDRA = ("AELLT", "AELLTCD", "AEDECOD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT",
             "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD")

#: Timing variables of an Events domain (SDTM v2.0 Timing class) that date or place an MH
#: record in time.
MH_TIMING = ("MHDTC", "MHSTDTC", "MHENDTC", "MHDY", "MHSTDY", "MHENDY", "MHDUR", "MHSTRF",
             "MHENRF", "MHSTRTPT", "MHSTTPT", "MHENRTPT", "MHENTPT", "MHEVLINT", "MHEVINTX")

#: TS parameters whose TSVAL has a fixed form (SDTMIG 3.4 TS / CT TSPARM definitions):
#: ISO 8601 durations and whole numbers. Text such as NOT APPLICABLE belongs in TSVALNF.
TS_DURATION = ("AGEMIN", "AGEMAX", "LENGTH", "CRMDUR")
TS_COUNT = ("PLANSUB", "ACTSUB", "NARMS", "NCOHORT")
_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_COUNT = re.compile(r"^\d+$")
#: ISO 21090 null flavors (TSVALNF)
NULL_FLAVORS = {"NI", "INV", "DER", "OTH", "PINF", "NINF", "UNC", "MSK", "NA", "UNK", "ASKU",
                "NAV", "NASK", "QS", "TRC", "NP"}


def check_ae_meddra(study: Study) -> pd.DataFrame:
    """CG-AE-MEDDRA: an AE coded with MedDRA (AEDECOD given) lacks MedDRA hierarchy variables
    (columns absent), or a coded record leaves some of them blank."""
    ae = study.get("AE")
    if ae is None or not has(ae, "AEDECOD") or not (text(ae, "AEDECOD") != "").any():
        return empty_findings()
    parts = []
    missing = [v for v in AE_MEDDRA if v not in ae.columns]
    if missing:
        parts.append(make_findings(
            "CG-AE-MEDDRA", "AE", variable=" ".join(missing), value=str(len(missing)),
            message=f"AE is coded (AEDECOD) but lacks the MedDRA variable(s) "
                    f"{', '.join(missing)} (SDTMIG 3.4 AE: Expected)"))
    coded = text(ae, "AEDECOD") != ""
    for var in (v for v in AE_MEDDRA if v in ae.columns and v != "AEDECOD"):
        values = ae[var]
        blank = values.isna().to_numpy() if pd.api.types.is_numeric_dtype(values) \
            else (text(ae, var) == "")
        rows = np.flatnonzero(coded & blank)
        if rows.size:       # one finding per variable: a whole column left blank is common
            parts.append(make_findings(
                "CG-AE-MEDDRA", "AE", rows=rows[:1], variable=var, value=str(rows.size),
                frame=ae, message=f"{rows.size} coded AE record(s) (AEDECOD given) have {var} "
                f"blank, the first is record {rows[0] + 1}"))
    return concat(parts)


def check_mh_timing(study: Study) -> pd.DataFrame:
    """CG-MH-TIMING: an MH record with no timing variable populated (none of the dates,
    study days, durations or reference-period/time-point variables of MH)."""
    mh = study.get("MH")
    if mh is None or not len(mh):
        return empty_findings()
    present = [v for v in MH_TIMING if v in mh.columns]
    if not present:
        return make_findings(
            "CG-MH-TIMING", "MH", variable="", value=str(len(mh)),
            message=f"MH has no timing variable (any of {', '.join(MH_TIMING[:6])}, ...); "
                    "give e.g. MHSTDTC, or MHENRTPT with MHENTPT")
    filled = np.zeros(len(mh), dtype=bool)
    for var in present:
        column = mh[var]
        filled |= (column.notna().to_numpy() if pd.api.types.is_numeric_dtype(column)
                   else text(mh, var) != "")
    rows = np.flatnonzero(~filled)
    if not rows.size:
        return empty_findings()
    return make_findings(
        "CG-MH-TIMING", "MH", rows=rows, variable=" ".join(present), value="", frame=mh,
        message="MH record " + (rows + 1).astype(str).astype(object)
        + ": no timing variable is populated (" + ", ".join(present) + ")")


def check_ts_null_flavor(study: Study) -> pd.DataFrame:
    """CG-TS-VALUE: TSVAL is null exactly when TSVALNF holds an ISO 21090 null flavor, and a
    duration or count parameter's TSVAL has that form (text such as NOT APPLICABLE there
    belongs in TSVALNF)."""
    ts = study.get("TS")
    if not has(ts, "TSPARMCD", "TSVAL"):
        return empty_findings()
    parm, val = text(ts, "TSPARMCD"), text(ts, "TSVAL")
    nf = text(ts, "TSVALNF") if has(ts, "TSVALNF") else np.full(len(ts), "", dtype=object)
    parts = []

    def add(mask, variable, values, why):
        rows = np.flatnonzero(mask)
        if rows.size:
            parts.append(make_findings(
                "CG-TS-VALUE", "TS", rows=rows, variable=variable, value=values[rows], frame=ts,
                message="TS record " + (rows + 1).astype(str).astype(object) + " (TSPARMCD "
                + parm[rows] + "): " + why))

    add((val == "") & (nf == ""), "TSVAL", val, "TSVAL and TSVALNF are both null; give the "
        "value or the reason it is missing (TSVALNF)")
    add((val != "") & (nf != ""), "TSVALNF", nf, "TSVAL is given, so TSVALNF must be null")
    add((nf != "") & ~np.isin(nf, list(NULL_FLAVORS)), "TSVALNF", nf,
        "TSVALNF is not an ISO 21090 null flavor (NA, NI, UNK, PINF ...)")
    duration = np.isin(parm, TS_DURATION) & (val != "")
    bad = duration & ~np.array([bool(_DURATION.match(v)) for v in val], dtype=bool)
    add(bad, "TSVAL", val, "not an ISO 8601 duration (e.g. P18Y); when there is no value, "
        "TSVAL is null and TSVALNF says why (e.g. PINF for no upper age limit)")
    count = np.isin(parm, TS_COUNT) & (val != "")
    bad = count & ~np.array([bool(_COUNT.match(v)) for v in val], dtype=bool)
    add(bad, "TSVAL", val, "not a whole number; when there is none, TSVAL is null and "
        "TSVALNF says why")
    return concat(parts)


#: the checks of this module, run after those of :mod:`.checks`
CORE_EQUIVALENT_CHECKS = (check_ae_meddra, check_mh_timing, check_ts_null_flavor)
