"""ADRS, the tumour response analysis dataset, derived in admiralonco's manner.

Input is a *per-visit response frame*, one row per assessment, with columns

    USUBJID, CRIT, ADT (datetime64), ADTF, VISIT, VISITNUM, AVALC, SRCDOM, SRCSEQ

where CRIT names a response criterion of the config (``RECIST 1.1``, ``CHOI`` ...) and AVALC
is one of CR, PR, SD, NON-CR/NON-PD, PD, NE. It comes either from RS
(:func:`visit_responses_from_rs`) or from responses computed from TU/TR (another module with
the same output shape); :func:`select_visit_responses` picks the source as configured.

The derivations are small functions. Record-level flags (:func:`derive_anl01fl`,
:func:`derive_anl02fl`) return the frame with the flag added; parameter derivations
(``derive_param_*``) take the assessments that count (normally ``ANL01FL == ANL02FL == "Y"``
records of one criterion) plus ADSL and return the *new parameter records*, one per ADSL
subject. :func:`build_adrs` chains them for every configured criterion.

Rules (admiralonco, see each function): SD-type responses need ``ADT >= start + sd_min_days``
(42); confirmation needs a later CR (for CR) or CR/PR (for PR) at least
``confirmation_min_days`` (28) later, with only CR/NE (CR) or CR/PR/NE (PR) up to it, at most
``max_ne_between`` NE and no PR after a CR; BOR ranking CR, PR, SD, NON-CR/NON-PD, PD, NE,
MISSING with the date of the first qualifying assessment. AVAL codes: CR 1, PR 2, SD 3,
NON-CR/NON-PD 4, PD 5, NE 6, MISSING 7; Y 1, N 0.
"""
from __future__ import annotations

from typing import Collection

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError

# the blocks of ADRS live in their own modules (inputs, record toolkit, flags, parameters);
# their public names are re-exported here, the public API of ADRS
from .adrs_flags import derive_anl01fl, derive_anl02fl, flag_confirmed_responses  # noqa: F401
from .adrs_inputs import (compute_criteria_visits, select_visit_responses,  # noqa: F401
                          visit_responses_from_rs, visit_responses_from_tr)
from .adrs_params import (derive_param_best_crpr, derive_param_bor,  # noqa: F401
                          derive_param_clinbenefit, derive_param_confirmed_bor,
                          derive_param_dcr, derive_param_death, derive_param_first_pd,
                          derive_param_last_assessment, derive_param_ovr,
                          derive_param_response, derive_params_irecist)
from .adrs_records import (OUT_COLUMNS, RESPONSE_AVAL, VISIT_COLUMNS,  # noqa: F401
                           YN_AVAL, key_array, normalise_text, require_columns,
                           subject_positions)
from .config import AdamConfig, ResponseCriterion
from .imputation import as_datetime
from .irecist import IRECIST, IRECIST_PARAMETERS

__all__ = [
    "RESPONSE_AVAL",
    "variable_texts",
    "visit_responses_from_rs",
    "visit_responses_from_tr",
    "select_visit_responses",
    "derive_anl01fl",
    "derive_anl02fl",
    "flag_confirmed_responses",
    "derive_param_ovr",
    "derive_param_bor",
    "derive_param_confirmed_bor",
    "derive_param_response",
    "derive_param_clinbenefit",
    "derive_param_best_crpr",
    "derive_param_dcr",
    "derive_param_first_pd",
    "derive_param_last_assessment",
    "derive_param_death",
    "derive_params_irecist",
    "irecist_labels",
    "parameter_labels",
    "build_adrs",
]


# -- labels and the whole ADRS ------------------------------------------------------------------

_BASE_LABELS = {
    "OVR": "Overall Response by {ev}",
    "BOR": "Best Overall Response by {ev} (confirmation not required)",
    "BCP": "Best Overall Response of CR/PR by {ev} (confirmation not required)",
    "CBOR": "Best Confirmed Overall Response by {ev}",
    "CBCP": "Best Confirmed Overall Response of CR/PR by {ev}",
    "RSP": "Response by {ev} (confirmation not required)",
    "CRSP": "Confirmed Response by {ev}",
    "CB": "Clinical Benefit by {ev} (confirmation for response not required)",
    "CCB": "Confirmed Clinical Benefit by {ev}",
    "DCR": "Disease Control at Day {landmark} by {ev}",
    "PD": "Disease Progression by {ev}",
    "LSTA": "Last Disease Assessment by {ev}",
}
ALL_PARAMETERS = tuple(_BASE_LABELS)


def parameter_labels(criterion: ResponseCriterion, config: AdamConfig) -> dict[str, dict]:
    """PARAMCD → set_values (PARAMCD, PARAM, PARCAT1-3) for one criterion.

    PARAMCD = base code + the criterion's ``paramcd_suffix`` (BOR, BORCHOI ...); PARAM as in
    admiralonco's template ("Best Overall Response by Investigator (confirmation not
    required)"), the evaluator title-cased, plus ``param_suffix`` (default `` (<RSCAT>)`` for a
    criterion with a PARAMCD suffix); PARCAT1 "Tumor Response", PARCAT2 the evaluator,
    PARCAT3 the criterion's RSCAT.
    """
    ev = (config.response.evaluator or "").title()
    suffix = criterion.param_suffix
    if suffix is None:
        suffix = f" ({criterion.rscat})" if criterion.paramcd_suffix else ""
    wanted = criterion.parameters or list(ALL_PARAMETERS)
    unknown = [p for p in wanted if p not in _BASE_LABELS]
    if unknown:
        raise SpecError(f"unknown ADRS parameter {unknown[0]} for criterion {criterion.name}",
                        file=config.source_file, variable="response.criteria.parameters",
                        details=[f"known: {list(ALL_PARAMETERS)}"])
    out = {}
    for base in wanted:
        code = base + criterion.paramcd_suffix
        if len(code) > 8:
            raise SpecError(f"PARAMCD {code} is longer than 8 characters",
                            file=config.source_file, variable="response.criteria.paramcd_suffix")
        if base == "DCR" and config.dcr is None:
            continue  # disease control at a landmark is opt-in (adam.yaml dcr)
        landmark = config.dcr.landmark_days if config.dcr else None
        label = _BASE_LABELS[base].format(ev=ev, landmark=landmark) + suffix
        out[base] = {"PARAMCD": code, "PARAM": label, "PARCAT1": "Tumor Response",
                     "PARCAT2": ev, "PARCAT3": criterion.rscat}
    return out


def irecist_labels(config: AdamConfig) -> dict[str, dict]:
    """Base (OVR, BOR, CBOR) -> set_values of the iRECIST parameters (IOVR, IBOR, ICBOR;
    :data:`~cdisc_convert.adam.irecist.IRECIST_PARAMETERS`): PARAM in admiralonco's iRECIST
    wording with the evaluator title-cased, PARCAT1 "Tumor Response", PARCAT2 the evaluator,
    PARCAT3 "iRECIST". Empty when adam.yaml does not enable ``irecist``."""
    if config.irecist is None:
        return {}
    ev = (config.response.evaluator or "").title()
    return {base: {"PARAMCD": code, "PARAM": label.format(ev=ev), "PARCAT1": "Tumor Response",
                   "PARCAT2": ev, "PARCAT3": IRECIST}
            for base, (code, label) in IRECIST_PARAMETERS.items()}


def nontarget_only_subjects(visits: pd.DataFrame) -> set[str]:
    """USUBJIDs whose assessments show non-target disease only: any NON-CR/NON-PD response
    (RECIST 1.1 Table 2 gives it only to subjects without target lesions)."""
    require_columns(visits, "nontarget_only_subjects", ["USUBJID", "AVALC"])
    return set(visits.loc[visits["AVALC"].eq("NON-CR/NON-PD").to_numpy(), "USUBJID"])


def _derive_criterion(visits: pd.DataFrame, adsl: pd.DataFrame, crit: ResponseCriterion,
                      config: AdamConfig, start: str,
                      nontarget_only: Collection[str] = ()) -> list[pd.DataFrame]:
    labels = parameter_labels(crit, config)
    sd, conf_days = config.sd_min_days, config.confirmation_min_days
    max_ne, acc_u, acc_b = config.max_ne_between, config.accept_sd_for_unconfirmed, \
        config.accept_sd_between
    mine = visits[visits["CRIT"].eq(crit.name).to_numpy()]
    anl01 = mine[mine["ANL01FL"].eq("Y").to_numpy()]
    ovr = anl01 if config.use_after_pd else anl01[anl01["ANL02FL"].eq("Y").to_numpy()]
    ovr = flag_confirmed_responses(ovr, min_days=conf_days, max_ne=max_ne,
                                   accept_sd_between=acc_b)
    parts: dict[str, pd.DataFrame] = {}
    if "OVR" in labels:
        parts["OVR"] = derive_param_ovr(mine, set_values=labels["OVR"])
    bor = derive_param_bor(ovr, adsl, start=start, sd_min_days=sd,
                           set_values=labels.get("BOR", {"PARAMCD": "BOR"}))
    if "BOR" in labels:
        parts["BOR"] = bor
    if "BCP" in labels:
        parts["BCP"] = derive_param_best_crpr(bor, set_values=labels["BCP"])
    if "CBOR" in labels or "CBCP" in labels:
        cbor = derive_param_confirmed_bor(ovr, adsl, start=start, sd_min_days=sd,
                                          confirmation_min_days=conf_days, max_ne_between=max_ne,
                                          accept_sd_for_unconfirmed=acc_u, accept_sd_between=acc_b,
                                          nontarget_only=set(nontarget_only)
                                          | nontarget_only_subjects(mine),
                                          set_values=labels.get("CBOR", {"PARAMCD": "CBOR"}))
        if "CBOR" in labels:
            parts["CBOR"] = cbor
        if "CBCP" in labels:
            parts["CBCP"] = derive_param_best_crpr(cbor, set_values=labels["CBCP"])
    if "RSP" in labels:
        parts["RSP"] = derive_param_response(ovr, adsl, set_values=labels["RSP"])
    if "CRSP" in labels:
        parts["CRSP"] = derive_param_response(
            ovr, adsl, confirmed=True, confirmation_min_days=conf_days, max_ne_between=max_ne,
            accept_sd_between=acc_b, set_values=labels["CRSP"])
    if "CB" in labels:
        parts["CB"] = derive_param_clinbenefit(ovr, adsl, start=start, sd_min_days=sd,
                                               set_values=labels["CB"])
    if "CCB" in labels:
        parts["CCB"] = derive_param_clinbenefit(
            ovr, adsl, start=start, sd_min_days=sd, confirmed=True,
            confirmation_min_days=conf_days, max_ne_between=max_ne,
            accept_sd_for_unconfirmed=acc_u, accept_sd_between=acc_b, set_values=labels["CCB"])
    if "DCR" in labels and config.dcr is not None and crit.name == config.dcr.criterion:
        parts["DCR"] = derive_param_dcr(ovr, adsl, start=start,
                                        landmark_days=config.dcr.landmark_days,
                                        window_days=config.dcr.window_days,
                                        set_values=labels["DCR"])
    if "PD" in labels:
        parts["PD"] = derive_param_first_pd(ovr, adsl, set_values=labels["PD"])
    if "LSTA" in labels:
        parts["LSTA"] = derive_param_last_assessment(anl01, adsl, set_values=labels["LSTA"])
    return list(parts.values())


def build_adrs(visit_responses: pd.DataFrame, adsl: pd.DataFrame,
               config: AdamConfig | None = None, *,
               nontarget_only: Collection[str] = (),
               irecist: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADRS from per-visit responses and ADSL.

    Steps: merge the start date (``config.start_date``) from ADSL; ANL01FL (on/after start, one
    worst assessment per date; before new therapy when ``censor_at_new_therapy``); ANL02FL
    (up to first PD); then per criterion OVR, BOR, BCP, CBOR, CBCP, RSP, CRSP, CB, CCB, DCR (the
    DCR criterion only), PD, LSTA, and DEATH once; ASEQ by subject, PARAMCD, ADT, VISITNUM,
    SRCSEQ. Derived parameters use ANL01FL and ANL02FL assessments (ANL01FL only with
    ``use_after_pd``); LSTA uses ANL01FL. A criterion without any assessment in the data is
    skipped, except the first criterion and the ADTTE criterion (their parameters say N /
    MISSING for everyone). ``nontarget_only``: USUBJIDs known to have non-target disease
    only (e.g. no target lesion at the TU/TR baseline), added to those whose assessments
    show it (:func:`nontarget_only_subjects`). ``irecist``: per-visit iRECIST responses
    (:func:`cdisc_convert.adam.irecist.compute_irecist_visits`); when adam.yaml enables
    ``irecist`` they give IOVR, IBOR and ICBOR (:func:`derive_params_irecist`; without them
    IBOR/ICBOR are MISSING for everyone).
    """
    config = config or AdamConfig()
    start = config.start_date
    if start not in adsl.columns:
        raise SpecError(f"start_date {start} is not an ADSL variable", file=config.source_file,
                        variable="start_date")
    visits = visit_responses.copy()
    for col in VISIT_COLUMNS:
        if col not in visits.columns:
            visits[col] = None
    visits["ADT"] = as_datetime(visits["ADT"])
    subjects = adsl.drop_duplicates("USUBJID").reset_index(drop=True)
    # USUBJID and CRIT as categoricals in ADSL / config order: every derive_* groups and
    # sorts on their codes (integers) through the ordinary columns, no hidden key columns
    visits["USUBJID"] = pd.Categorical(visits["USUBJID"].to_numpy(dtype=object),
                                       categories=pd.Index(subjects["USUBJID"]))
    known = [c.name for c in config.response.criteria]
    visits["CRIT"] = pd.Categorical(visits["CRIT"].to_numpy(dtype=object), categories=known)
    visits = visits[(visits["USUBJID"].cat.codes.to_numpy() >= 0)
                    & (visits["CRIT"].cat.codes.to_numpy() >= 0)]
    end = None
    take = [start]
    if config.censor_at_new_therapy:
        end = config.new_therapy_date
        if end not in adsl.columns:
            raise SpecError(f"censor_at_new_therapy needs the ADSL variable {end}",
                            file=config.source_file, variable="new_therapy_date")
        take.append(end)
    sid = visits["USUBJID"].cat.codes.to_numpy(dtype=np.int64)
    for col in take:
        visits[col] = subjects[col].to_numpy()[sid]
    visits["STUDYID"] = subjects["STUDYID"].to_numpy()[sid] if "STUDYID" in subjects.columns \
        else visits.get("STUDYID")
    visits["AVALC"] = normalise_text(visits["AVALC"])
    order = np.lexsort((key_array(pd.to_numeric(visits["SRCSEQ"], errors="coerce")),
                        key_array(pd.to_numeric(visits["VISITNUM"], errors="coerce")),
                        key_array(visits["ADT"]), key_array(visits["CRIT"]), sid))
    visits = visits.take(order).reset_index(drop=True)
    visits = derive_anl01fl(visits, start=start, end=end)
    visits = derive_anl02fl(visits)
    visits["AVISIT"] = visits["VISIT"]
    parts = []
    present = set(visits["CRIT"].dropna().unique())
    always = {config.tte_criterion_name, config.response.criteria[0].name} \
        if config.response.criteria else set()
    for crit in config.response.criteria:
        if crit.name in present or crit.name in always:
            parts.extend(_derive_criterion(visits, subjects, crit, config, start,
                                           nontarget_only))
    if config.irecist is not None:
        if irecist is None:
            irecist = pd.DataFrame(columns=["USUBJID", "ABLFL", "IRESP", "ADT", "VISITNUM"])
        parts.extend(derive_params_irecist(
            irecist, subjects, start=start, sd_min_days=config.sd_min_days,
            confirmation_min_days=config.confirmation_min_days, labels=irecist_labels(config)))
    parts.append(derive_param_death(subjects, set_values={
        "PARAMCD": "DEATH", "PARAM": "Death", "PARCAT1": "Reference Event",
        "PARCAT2": None, "PARCAT3": None}))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["STUDYID", "USUBJID", "ASEQ", *OUT_COLUMNS[2:], start])
    return _assemble(parts, subjects, start)


def _column(parts: list[pd.DataFrame], col: str) -> np.ndarray:
    arrays = [p[col].to_numpy() for p in parts]
    if col == "ADT":
        return np.concatenate([a.astype("datetime64[ns]") if a.dtype.kind == "M"
                               else pd.to_datetime(pd.Series(a)).to_numpy() for a in arrays])
    if col in ("AVAL", "VISITNUM", "SRCSEQ"):
        return np.concatenate([a.astype(float) if a.dtype.kind in "fiub"
                               else pd.to_numeric(pd.Series(a), errors="coerce").to_numpy(float)
                               for a in arrays])
    return np.concatenate([a if a.dtype == object else a.astype(object) for a in arrays])


def _assemble(parts: list[pd.DataFrame], subjects: pd.DataFrame, start: str) -> pd.DataFrame:
    """Stack parameter records column by column (numpy), sort them by subject, PARAMCD, ADT,
    VISITNUM, SRCSEQ (missing last) and number them (ASEQ)."""
    # every part holds one PARAMCD and is already ordered by subject, ADT, VISITNUM, SRCSEQ
    # (parameter records: one per subject in ADSL order; OVR: visits sorted in build_adrs),
    # so a stable sort on (subject, PARAMCD rank) gives the final order
    parts = sorted(parts, key=lambda p: str(p["PARAMCD"].iat[0]))
    constant = ["PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3"]  # set_values: one per part
    rank = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    sids = np.concatenate([subject_positions(p, subjects) for p in parts]).astype(np.int64)
    order = np.argsort(sids * len(parts) + rank, kind="stable")
    rank_sorted = rank[order]
    sorted_cols = {}
    for c in OUT_COLUMNS:
        if c in constant:
            per_part = np.empty(len(parts), dtype=object)
            per_part[:] = [p[c].iat[0] for p in parts]
            sorted_cols[c] = per_part[rank_sorted]
        else:
            # stacked and sorted one column at a time: the stacked copy is freed before the
            # next column's, whose memory it then is (not a fresh page per row and column)
            sorted_cols[c] = _column(parts, c)[order]
    sids = sids[order]
    first_of_subject = np.r_[0, np.flatnonzero(np.diff(sids)) + 1]
    group_start = np.repeat(first_of_subject, np.diff(np.r_[first_of_subject, len(sids)]))
    data = {}
    for c in OUT_COLUMNS:
        data[c] = sorted_cols[c]
        if c == "USUBJID":
            data["ASEQ"] = np.arange(len(sids)) - group_start + 1
    data[start] = subjects[start].to_numpy()[sids]
    return pd.DataFrame(data, copy=False)



def variable_texts(config: AdamConfig, *, response_source: str = "RS",
                   assessment_date: str = "") -> dict[str, str]:
    """define.xml methods of the ADRS variables :func:`build_adrs` and its flags derive,
    from the same config. ``response_source``: ``"TR"`` when the assessments were computed
    from TU/TR (then ``assessment_date`` states their date,
    :func:`~.tumor_response.assessment_date_method_text`), ``"RS"`` when read from RS."""
    from .imputation import date_imputation_text

    c, start = config, config.start_date
    end = (f" and before ADSL.{c.new_therapy_date}" if c.censor_at_new_therapy else "")
    from_rs = response_source == "RS"
    texts = {
        "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT, "
                "VISITNUM and SRCSEQ (missing last).",
        "AVALC": "Per parameter, see the value-level metadata (PARAMCD).",
        "AVAL": "Numeric code of AVALC per parameter, see the value-level metadata.",
        "ADT": ("Assessment records (OVR): " + (
            f"RS.RSDTC as a date ({date_imputation_text(c.imputation('ADT'))})"
            if from_rs else assessment_date) + ". Other parameters: the date of the "
            "assessment that decides the value (see each PARAMCD); DEATH: ADSL.DTHDT."),
        "ADTF": "Imputation flag of ADT: D when the day was imputed, M for month and "
                "day.",
        "AVISIT": "VISIT of the assessment the record comes from.",
        "ANL01FL": f"Y on the assessments that count: a valid response (CR, PR, SD, "
                   f"NON-CR/NON-PD, PD, NE) with ADT on or after ADSL.{start}{end}; of "
                   f"several on one date per subject and criterion the worst is kept "
                   f"(NE < CR < PR < SD < NON-CR/NON-PD < PD; ties: the last SRCSEQ).",
        "ANL02FL": "Y on the ANL01FL assessments up to and including the first PD "
                   "(per subject and criterion); all of them for subjects without PD.",
        "SRCDOM": "Dataset of the record the value comes from: RS for assessments and "
                  "for parameters dated by an assessment, ADSL for DEATH; blank when "
                  "no single record decides.",
        "SRCSEQ": "RSSEQ of that RS record.",
    }
    if not from_rs:
        for var in ("VISIT", "VISITNUM"):
            texts[var] = f"TR.{var} of the tumour assessment."
    return texts
