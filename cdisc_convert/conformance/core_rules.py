"""Study-level rules equivalent to CDISC CORE rules the bundled study was caught by.

Outside runs of the CDISC open rules engine (CORE, its 430 SDTMIG 3.4 rules) reported issues
on the bundled study's SDTM that the project's own ``validate`` did not: a missing timing
variable in MH (CG0219), AGEMAX given as text instead of a null TSVAL with TSVALNF (CG0270),
the AE Expected MedDRA variables absent (CG0016), and later SVOCCUR on unplanned visits
(CG0654), an MH end time point without a start (FDA FB4301) and serious AEs without a
seriousness criterion (CG0042), and an MHCAT grouping every MH record (CG0077). These checks catch the same here; each follows the CORE rule
text and the guidance it cites (docs/core-conformance.md lists the run and its results,
docs/validation-rules.md the rules).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cdisc_convert.core.iso8601 import is_complete_date

from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, ts_value_codelists

from .study import Study, concat, empty_findings, has, make_findings, pair_check, prefix, text

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


def check_mh_category(study: Study) -> pd.DataFrame:
    """CG-MH-CAT: MHCAT puts every MH record into one group (one value, none blank).

    SDTMIG 3.4 MH assumption 3.a.1: the category should not group all records into one
    generic group; if no smaller categorisation can be applied, MHCAT is not populated
    (CORE CG0077 tests exactly this: MHCAT present, non-empty, and the same on every record).
    """
    mh = study.get("MH")
    if mh is None or not len(mh) or not has(mh, "MHCAT"):
        return empty_findings()
    values = text(mh, "MHCAT")
    if (values == "").any() or len(np.unique(values)) != 1:
        return empty_findings()
    return make_findings(
        "CG-MH-CAT", "MH", variable="MHCAT", value=str(values[0]),
        message=f"MHCAT is {values[0]!r} on all {len(mh)} MH records: a category that groups "
                "every record says nothing; leave MHCAT out unless MH holds more than one "
                "kind of history (SDTMIG 3.4 MH assumption 3.a.1)")


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


def check_ts_value_code(study: Study) -> pd.DataFrame:
    """CG-TS-VALCD: a TS value from CDISC CT carries the NCI C-code of that term.

    SDTMIG 3.4 TS: TSVALCD is the code of the term in TSVAL, from the dictionary TSVCDREF
    names. Where TSVCDREF is CDISC CT, TSVALCD must be a term code of the loaded CT release
    (CORE CG0288), and where the parameter's value codelist is known
    (``specs/ct/ts-parameters.csv``) and TSVAL is one of its terms, TSVALCD must be that
    term's C-code, given (TSVCDREF = CDISC CT) rather than left blank. TSVAL and TSVALCD are
    one-to-one over the dataset (CORE CG0265).
    """
    ts = study.get("TS")
    # without a TSVALCD column (SDTMIG before 3.2) SD-EXP-MISSING reports the variable
    if not has(ts, "TSPARMCD", "TSVAL", "TSVALCD"):
        return empty_findings()
    parm, val, code = text(ts, "TSPARMCD"), text(ts, "TSVAL"), text(ts, "TSVALCD")
    ref = np.char.upper(text(ts, "TSVCDREF").astype(str)) if has(ts, "TSVCDREF") \
        else np.full(len(ts), "", dtype=str)
    ct = load_ct()
    # the C-code each parameter's TSVAL should carry, or "" where it is not a CT term
    expected = np.full(len(ts), "", dtype=object)
    for parameter, codelist in ts_value_codelists().items():
        rows = np.flatnonzero(parm == parameter)
        if not rows.size:
            continue
        try:
            terms = ct.codelist(codelist).terms
        except MetadataKeyError:
            continue
        by_value = dict(zip(terms["submission_value"], terms["term_code"]))
        expected[rows] = [by_value.get(v, "") for v in val[rows]]
    known = set(ct.terms["term_code"])
    parts = []

    def add(mask, why):
        rows = np.flatnonzero(mask)
        if rows.size:
            reason = why[rows] if isinstance(why, np.ndarray) else why
            parts.append(make_findings(
                "CG-TS-VALCD", "TS", rows=rows, variable="TSVALCD", value=code[rows], frame=ts,
                message="TS record " + (rows + 1).astype(str).astype(object) + " (TSPARMCD "
                + parm[rows] + ", TSVAL '" + val[rows] + "'): " + reason))

    cdisc = ref == "CDISC CT"
    add(cdisc & (code != "") & ~np.isin(code, list(known)),
        f"TSVALCD is not a term code of the loaded {ct.describe()}")
    add((expected != "") & (code != "") & (code != expected) & np.isin(code, list(known)),
        "TSVALCD is not the C-code of TSVAL (" + expected + ")")
    add((expected != "") & (code == ""),
        "TSVAL is a CDISC CT term: give its C-code " + expected + " in TSVALCD with TSVCDREF "
        "CDISC CT and TSVCDVER the CT release")
    parts.append(pair_check(ts, "TS", "TSVALCD", "TSVAL", "CG-TS-VALCD"))
    return concat(parts)


def check_occur_prespecified(study: Study) -> pd.DataFrame:
    """CG-OCCUR-PRESP: --OCCUR is populated on a record whose --PRESP is not Y.

    SDTM v2.0 / SDTMIG 3.4: --OCCUR says whether a pre-specified event, intervention or
    visit occurred, so it is used only where --PRESP = Y (CORE CG0654 checks it for SV).
    Checked in every dataset that has both variables.
    """
    parts = []
    for name in study.sdtm_names:
        frame, pre = study.get(name), prefix(name)
        if not pre or not has(frame, f"{pre}OCCUR", f"{pre}PRESP"):
            continue
        occur, presp = text(frame, f"{pre}OCCUR"), text(frame, f"{pre}PRESP")
        rows = np.flatnonzero((occur != "") & (presp != "Y"))
        if rows.size:
            parts.append(make_findings(
                "CG-OCCUR-PRESP", name, rows=rows, variable=f"{pre}OCCUR", value=occur[rows],
                frame=frame, message=f"{name} record " + (rows + 1).astype(str).astype(object)
                + f": {pre}OCCUR is '" + occur[rows] + f"' but {pre}PRESP is not Y; "
                f"{pre}OCCUR is only for pre-specified records"))
    return concat(parts)


#: (end, start) timing variable suffixes: an end given by one of the first needs a start
#: given by one of the second (FDA business rule FB4301)
_END_TIMING = ("ENDTC", "ENRF", "ENRTPT")
_START_TIMING = ("STDTC", "STRF", "STRTPT")


def check_end_without_start(study: Study) -> pd.DataFrame:
    """CG-END-NO-START: a record gives its end (--ENDTC, --ENRF or --ENRTPT) but no start
    (--STDTC, --STRF or --STRTPT). FDA business rule FB4301 (CORE-000892): when an end time
    point is provided, a related start time point should be provided too."""
    parts = []
    for name in study.sdtm_names:
        frame, pre = study.get(name), prefix(name)
        if not pre or frame is None or not len(frame):
            continue
        ends = [f"{pre}{v}" for v in _END_TIMING if f"{pre}{v}" in frame.columns]
        if not ends:
            continue
        end = np.zeros(len(frame), dtype=bool)
        for v in ends:
            end |= text(frame, v) != ""
        start = np.zeros(len(frame), dtype=bool)
        for v in (f"{pre}{x}" for x in _START_TIMING if f"{pre}{x}" in frame.columns):
            start |= text(frame, v) != ""
        rows = np.flatnonzero(end & ~start)
        if rows.size:
            parts.append(make_findings(
                "CG-END-NO-START", name, rows=rows, variable=" ".join(ends), value="",
                frame=frame, message=f"{name} record " + (rows + 1).astype(str).astype(object)
                + f": the end is given ({', '.join(ends)}) but none of {pre}STDTC, {pre}STRF, "
                f"{pre}STRTPT"))
    return concat(parts)


#: AE seriousness criteria (SDTMIG 3.4 AE)
AE_SERIOUS_CRITERIA = ("AESCAN", "AESCONG", "AESDISAB", "AESDTH", "AESHOSP", "AESLIFE", "AESOD",
                       "AESMIE")


def check_ae_serious_criteria(study: Study) -> pd.DataFrame:
    """CG-AE-SERIOUS: a serious AE (AESER = Y) with no seriousness criterion = Y.

    SDTMIG 3.4 AE assumption 6a: if Serious = Yes, at least one of AESCAN, AESCONG,
    AESDISAB, AESDTH, AESHOSP, AESLIFE, AESOD, AESMIE is Y (CORE CG0042, CORE-000266).
    """
    ae = study.get("AE")
    if not has(ae, "AESER"):
        return empty_findings()
    serious = text(ae, "AESER") == "Y"
    met = np.zeros(len(ae), dtype=bool)
    present = [v for v in AE_SERIOUS_CRITERIA if v in ae.columns]
    for v in present:
        met |= text(ae, v) == "Y"
    rows = np.flatnonzero(serious & ~met)
    if not rows.size:
        return empty_findings()
    absent = [v for v in AE_SERIOUS_CRITERIA if v not in present]
    why = (f"; {', '.join(absent)} not in AE (collect and map the criteria)" if absent else "")
    return make_findings(
        "CG-AE-SERIOUS", "AE", rows=rows, variable="AESER", value="Y", frame=ae,
        message="AE record " + (rows + 1).astype(str).astype(object)
        + ": AESER is Y but no seriousness criterion is Y" + why)


def check_epoch_populated(study: Study) -> pd.DataFrame:
    """CG-EPOCH-NULL: a subject-level record with a complete date but no EPOCH.

    FDA business rule FB2201 (CORE-000701): EPOCH should be populated for clinical
    subject-level observations. A record whose date (--STDTC, else --DTC) is complete can be
    placed in an element; one left without EPOCH usually lies before the first element or
    after the last (e.g. a baseline scan before informed consent: see ``start_earliest_of``
    in docs/mapping-spec.md). Partial dates spanning two elements are not reported: their
    EPOCH cannot be known without imputing, which SDTM does not do.
    """
    parts = []
    for name in study.sdtm_names:
        frame, pre = study.get(name), prefix(name)
        if not pre or not has(frame, "EPOCH", "USUBJID"):
            continue
        date = next((f"{pre}{v}" for v in ("STDTC", "DTC") if f"{pre}{v}" in frame.columns), None)
        if date is None:
            continue
        complete = is_complete_date(pd.Series(text(frame, date), dtype=object)).to_numpy()
        rows = np.flatnonzero(complete & (text(frame, "EPOCH") == ""))
        if rows.size:
            parts.append(make_findings(
                "CG-EPOCH-NULL", name, rows=rows, variable="EPOCH", value=text(frame, date)[rows],
                frame=frame, message=f"{name} record " + (rows + 1).astype(str).astype(object)
                + f": EPOCH is null although {date} " + text(frame, date)[rows]
                + " is a complete date (outside every element of the subject?)"))
    return concat(parts)


#: the checks of this module, run after those of :mod:`.checks`
CORE_EQUIVALENT_CHECKS = (check_ae_meddra, check_mh_timing, check_mh_category,
                          check_ts_null_flavor,
                          check_ts_value_code, check_occur_prespecified,
                          check_end_without_start, check_ae_serious_criteria,
                          check_epoch_populated)
