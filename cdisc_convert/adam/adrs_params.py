"""ADRS parameter records (admiralonco's ``derive_param_*`` and events): OVR, BOR, CBOR, RSP,
CRSP, CB, CCB, BCP/CBCP, DCR, PD, LSTA, DEATH and the iRECIST parameters; each takes the
assessments that count plus ADSL and returns one record per ADSL subject (OVR: one per
assessment)."""
from __future__ import annotations

from typing import Collection, Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import with_columns

from .adrs_flags import confirmed_flags
from .adrs_records import (CARRY_COLUMNS, ONE_DAY, OUT_COLUMNS, RC_CR, RC_NE, RC_NON, RC_PD,
                           RC_PR, RC_SD, RESPONSE_AVAL, YN_AVAL, best_by_category,
                           carry_source, first_where, late_mask, param_records,
                           require_columns, response_codes, subject_key, subject_positions)
from .imputation import date_imputation_text
from .irecist import IRECIST_AVAL, derive_irecist_records, irecist_method_text
from .tumor_response import assessment_date_method_text, choi_method_text, recist_method_text

__all__ = ["derive_param_ovr", "derive_param_bor", "derive_param_confirmed_bor",
           "derive_param_response", "derive_param_clinbenefit", "derive_param_best_crpr",
           "derive_param_dcr", "derive_param_first_pd", "derive_param_last_assessment",
           "derive_param_death", "derive_params_irecist", "param_method_text"]


def derive_param_ovr(visits: pd.DataFrame, *, set_values: Mapping[str, object]) -> pd.DataFrame:
    """The assessment records themselves as parameter OVR (AVAL coded CR 1 ... NE 6)."""
    require_columns(visits, "derive_param_ovr", ["USUBJID", "AVALC"])
    rows = carry_source(visits)
    out = rows.assign(AVAL=rows["AVALC"].map(RESPONSE_AVAL).astype(float))
    for key, value in set_values.items():
        out[key] = value
    return with_columns(out, OUT_COLUMNS)


def derive_param_bor(ovr: pd.DataFrame, adsl: pd.DataFrame, *, start: str, sd_min_days: int = 42,
                     set_values: Mapping[str, object]) -> pd.DataFrame:
    """Best overall response without confirmation (admiralonco ``bor_*`` events).

    Each assessment qualifies for the best of: CR (CR), PR (PR), SD (CR/PR/SD with
    ``ADT >= start + sd_min_days``), NON-CR/NON-PD (same window), PD, NE (any CR, PR, SD,
    NON-CR/NON-PD or NE, i.e. also too-early SD). The subject's BOR is the best category
    over its assessments, dated by the first assessment qualifying for it; subjects without
    assessments get ``MISSING``.
    """
    require_columns(ovr, "derive_param_bor", ["USUBJID", "ADT", "AVALC", start])
    require_columns(adsl, "derive_param_bor", ["USUBJID"])
    rc = response_codes(ovr)
    late = late_mask(ovr, start, sd_min_days)
    cat = np.select(
        [rc == RC_CR, rc == RC_PR, (rc == RC_SD) & late, (rc == RC_NON) & late, rc == RC_PD,
         np.isin(rc, [RC_SD, RC_NON, RC_NE])],
        [1, 2, 3, 4, 5, 6], 99)
    picked = best_by_category(ovr, cat)
    return param_records(adsl, picked, missing_value="MISSING", set_values=set_values,
                          coding=RESPONSE_AVAL)


def derive_param_confirmed_bor(ovr: pd.DataFrame, adsl: pd.DataFrame, *, start: str,
                               sd_min_days: int = 42, confirmation_min_days: int = 28,
                               max_ne_between: int = 1, accept_sd_for_unconfirmed: bool = True,
                               accept_sd_between: bool = False,
                               nontarget_only: Collection[str] = (),
                               set_values: Mapping[str, object]) -> pd.DataFrame:
    """Best confirmed overall response (admiralonco ``cbor_cr``, ``cbor_pr``, ``bor_sd`` ...).

    Categories: CR confirmed, PR confirmed (see :func:`flag_confirmed_responses`), SD (SD —
    and, with ``accept_sd_for_unconfirmed``, an unconfirmed CR/PR — with
    ``ADT >= start + sd_min_days``), NON-CR/NON-PD (same window), PD, NE (any CR, PR, SD,
    NON-CR/NON-PD, NE: so an unconfirmed response too early for SD gives NE). Best category
    wins, dated by its first qualifying assessment; no assessment gives ``MISSING``.

    Subjects in ``nontarget_only`` (USUBJIDs with non-target disease only) are never SD
    (RECIST 1.1 Table 2 footnote): their unconfirmed CR counts as NON-CR/NON-PD.
    """
    require_columns(ovr, "derive_param_confirmed_bor", ["USUBJID", "ADT", "AVALC", start])
    require_columns(adsl, "derive_param_confirmed_bor", ["USUBJID"])
    conf = confirmed_flags(ovr, confirmation_min_days, max_ne_between, accept_sd_between)
    rc = response_codes(conf)
    late = late_mask(conf, start, sd_min_days)
    crpr = (rc == RC_CR) | (rc == RC_PR)
    nt_only = conf["USUBJID"].isin(list(nontarget_only)).to_numpy()
    sd_like = (rc == RC_SD) | (crpr & accept_sd_for_unconfirmed)
    cat = np.select(
        [(rc == RC_CR) & conf["CONFCR"].to_numpy(), (rc == RC_PR) & conf["CONFPR"].to_numpy(),
         sd_like & late & ~nt_only, (sd_like & nt_only | (rc == RC_NON)) & late, rc == RC_PD,
         rc >= 0],
        [1, 2, 3, 4, 5, 6], 99)
    picked = best_by_category(conf, cat)
    return param_records(adsl, picked, missing_value="MISSING", set_values=set_values,
                          coding=RESPONSE_AVAL)


def derive_param_response(ovr: pd.DataFrame, adsl: pd.DataFrame, *, confirmed: bool = False,
                          confirmation_min_days: int = 28, max_ne_between: int = 1,
                          accept_sd_between: bool = False,
                          set_values: Mapping[str, object]) -> pd.DataFrame:
    """Response (RSP; CRSP with ``confirmed=True``), admiralonco ``rsp_y`` / ``crsp_y_cr``,
    ``crsp_y_pr``.

    RSP: ``Y`` dated by the first CR or PR. CRSP: ``Y`` dated by the first confirmed CR or PR
    (see :func:`flag_confirmed_responses`). Otherwise — including subjects without
    assessments — ``N`` without a date.
    """
    require_columns(ovr, "derive_param_response", ["USUBJID", "ADT", "AVALC"])
    require_columns(adsl, "derive_param_response", ["USUBJID"])
    if confirmed:
        conf = confirmed_flags(ovr, confirmation_min_days, max_ne_between, accept_sd_between)
        picked = first_where(conf, (conf["CONFCR"] | conf["CONFPR"]).to_numpy())
    else:
        rc = response_codes(ovr)
        picked = first_where(ovr, (rc == RC_CR) | (rc == RC_PR))
    return param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_clinbenefit(ovr: pd.DataFrame, adsl: pd.DataFrame, *, start: str,
                             sd_min_days: int = 42, confirmed: bool = False,
                             confirmation_min_days: int = 28, max_ne_between: int = 1,
                             accept_sd_for_unconfirmed: bool = True,
                             accept_sd_between: bool = False,
                             set_values: Mapping[str, object]) -> pd.DataFrame:
    """Clinical benefit (CB; CCB with ``confirmed=True``), admiralonco ``rsp_y``/``cb_y``.

    ``Y`` when the subject has a response — any CR/PR (CB) or a confirmed CR/PR (CCB) — or a
    CR, PR, SD or NON-CR/NON-PD with ``ADT >= start + sd_min_days`` (for CCB an unconfirmed
    CR/PR only counts here with ``accept_sd_for_unconfirmed``); dated by the earliest such
    assessment. Otherwise ``N``.
    """
    require_columns(ovr, "derive_param_clinbenefit", ["USUBJID", "ADT", "AVALC", start])
    require_columns(adsl, "derive_param_clinbenefit", ["USUBJID"])
    rc = response_codes(ovr)
    crpr = (rc == RC_CR) | (rc == RC_PR)
    late = late_mask(ovr, start, sd_min_days)
    if confirmed:
        conf = confirmed_flags(ovr, confirmation_min_days, max_ne_between, accept_sd_between)
        response = (conf["CONFCR"] | conf["CONFPR"]).to_numpy()
        stable = (rc == RC_SD) | (rc == RC_NON) | (crpr & accept_sd_for_unconfirmed)
    else:
        response = crpr
        stable = crpr | (rc == RC_SD) | (rc == RC_NON)
    picked = first_where(ovr, response | (stable & late))
    return param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_best_crpr(bor_records: pd.DataFrame, *, set_values: Mapping[str, object],
                           ) -> pd.DataFrame:
    """Best (confirmed) overall response of CR/PR (BCP from BOR, CBCP from CBOR): ``Y`` with the
    BOR record's date when it is CR or PR, else ``N`` without a date."""
    require_columns(bor_records, "derive_param_best_crpr", ["USUBJID", "AVALC"])
    yes = bor_records["AVALC"].isin(["CR", "PR"])
    out = bor_records.copy()
    out["AVALC"] = np.where(yes, "Y", "N")
    out["AVAL"] = np.where(yes, 1.0, 0.0)
    for col in CARRY_COLUMNS:
        out[col] = out[col].where(yes.to_numpy()) if col in ("ADT", "VISITNUM", "SRCSEQ") \
            else out[col].astype(object).where(yes.to_numpy(), None)
    for key, value in set_values.items():
        out[key] = value
    return out[OUT_COLUMNS]


def derive_param_dcr(ovr: pd.DataFrame, adsl: pd.DataFrame, *, start: str, landmark_days: int = 126,
                     window_days: int = 7, death_date: str = "DTHDT",
                     set_values: Mapping[str, object]) -> pd.DataFrame:
    """Disease control at a landmark (DCR; ours, not in admiralonco).

    The first assessment with ``ADT − start >= landmark_days − window_days`` decides: ``Y``
    (dated by it) when it is CR, PR, SD or NON-CR/NON-PD and neither PD (an earlier PD
    assessment) nor death (ADSL ``death_date`` before its ADT) came before it. Otherwise —
    that assessment is PD or NE, there is none (e.g. progression or drop-out before the
    landmark), or PD/death preceded it — ``N``. A missed landmark scan is replaced by the next
    assessment, however late.
    """
    require_columns(ovr, "derive_param_dcr", ["USUBJID", "ADT", "AVALC", start])
    require_columns(adsl, "derive_param_dcr", ["USUBJID"])
    rows = ovr.copy()
    threshold = rows[start] + (landmark_days - window_days) * ONE_DAY
    key = subject_key(rows)
    pd_dates = rows.loc[response_codes(rows) == RC_PD].groupby(key, observed=True)["ADT"].min()
    first = first_where(rows, (rows["ADT"] >= threshold).to_numpy(), value=None)
    first_pd = first[key].map(pd_dates)
    if death_date in adsl.columns:
        subjects = adsl.drop_duplicates("USUBJID").reset_index(drop=True)
        dth = subjects[death_date].to_numpy()
        pos = subject_positions(first, subjects)
        death = pd.Series(np.where(pos >= 0, dth[np.maximum(pos, 0)], np.datetime64("NaT")),
                          index=first.index).astype("datetime64[ns]")
    else:
        death = pd.Series(pd.NaT, index=first.index)
    ok = (first["AVALC"].isin(["CR", "PR", "SD", "NON-CR/NON-PD"])
          & (first_pd.isna() | (first_pd >= first["ADT"]))
          & (death.isna() | (death >= first["ADT"])))
    picked = first[ok.to_numpy()].assign(AVALC="Y")
    return param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_first_pd(ovr: pd.DataFrame, adsl: pd.DataFrame, *,
                          set_values: Mapping[str, object]) -> pd.DataFrame:
    """Disease progression (PD): ``Y`` dated by the first PD assessment, else ``N``."""
    require_columns(ovr, "derive_param_first_pd", ["USUBJID", "ADT", "AVALC"])
    require_columns(adsl, "derive_param_first_pd", ["USUBJID"])
    picked = first_where(ovr, response_codes(ovr) == RC_PD)
    return param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_last_assessment(anl01: pd.DataFrame, adsl: pd.DataFrame, *,
                                 set_values: Mapping[str, object]) -> pd.DataFrame:
    """Last disease assessment (LSTA, admiralonco ``derive_param_lasta``): the last ANL01FL
    assessment (also after PD), its response as AVALC; no assessment gives a record without
    AVALC and date."""
    require_columns(anl01, "derive_param_last_assessment", ["USUBJID", "ADT", "AVALC"])
    require_columns(adsl, "derive_param_last_assessment", ["USUBJID"])
    picked = first_where(anl01, np.ones(len(anl01), dtype=bool), value=None, last=True)
    return param_records(adsl, picked, missing_value=None, set_values=set_values,
                          coding=RESPONSE_AVAL)


def derive_param_death(adsl: pd.DataFrame, *, death_date: str = "DTHDT",
                       set_values: Mapping[str, object]) -> pd.DataFrame:
    """Death (DEATH): ``Y`` dated by ADSL ``death_date`` (source ADSL), else ``N``."""
    require_columns(adsl, "derive_param_death", ["USUBJID"])
    dead = adsl[adsl[death_date].notna()] if death_date in adsl.columns else adsl.iloc[0:0]
    picked = pd.DataFrame({"USUBJID": dead["USUBJID"].to_numpy(), "AVALC": "Y",
                           "ADT": dead[death_date].to_numpy() if len(dead) else
                           np.array([], dtype="datetime64[ns]"),
                           "SRCDOM": "ADSL"})
    return param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_params_irecist(responses: pd.DataFrame, adsl: pd.DataFrame, *, start: str,
                          sd_min_days: int = 42, confirmation_min_days: int = 28,
                          labels: Mapping[str, Mapping[str, object]]) -> list[pd.DataFrame]:
    """iRECIST parameters (IOVR, IBOR, ICBOR) from per-visit iRECIST responses
    (:func:`cdisc_convert.adam.irecist.compute_irecist_responses`).

    Rule: IOVR = every post-baseline assessment of an ADSL subject, ANL01FL = Y when
    ``ADT >= start`` and ANL02FL = Y on those up to and including the first iCPD (admiralonco's
    iRECIST vignette); IBOR and ICBOR per :func:`~cdisc_convert.adam.irecist.
    derive_irecist_records` over the ANL01FL assessments, one record per ADSL subject
    (``MISSING`` without assessment), dated by the deciding assessment. AVAL codes
    :data:`~cdisc_convert.adam.irecist.IRECIST_AVAL`. ``labels``: base (OVR, BOR, CBOR) ->
    set_values (:func:`irecist_labels`); a base left out is not derived.
    """
    require_columns(responses, "derive_params_irecist",
                     ["USUBJID", "ABLFL", "IRESP", "ADT", "VISITNUM"])
    require_columns(adsl, "derive_params_irecist", ["USUBJID", start])
    subjects = adsl.drop_duplicates("USUBJID").reset_index(drop=True)
    st = pd.Series(subjects[start].to_numpy(), index=subjects["USUBJID"].to_numpy())
    mine = responses[responses["USUBJID"].isin(subjects["USUBJID"]).to_numpy()]
    post = mine[mine["ABLFL"].ne("Y").to_numpy()].sort_values(["USUBJID", "ADT", "VISITNUM"],
                                                               kind="stable")
    adt = pd.to_datetime(post["ADT"]).astype("datetime64[ns]")
    anl01 = (adt.notna() & (adt >= pd.to_datetime(post["USUBJID"].map(st)))).to_numpy()
    icpd_before = (post["IRESP"].eq("iCPD") & anl01).astype(int).groupby(
        post["USUBJID"]).cumsum() - (post["IRESP"].eq("iCPD") & anl01).astype(int)
    anl02 = anl01 & icpd_before.eq(0).to_numpy()
    ovr = pd.DataFrame({
        "USUBJID": post["USUBJID"].to_numpy(dtype=object), "AVALC": post["IRESP"].to_numpy(
            dtype=object), "ADT": adt.to_numpy(),
        "ADTF": post["ADTF"].replace("", None).to_numpy(dtype=object) if "ADTF" in post
        else None,
        "VISIT": post["VISIT"].to_numpy(dtype=object) if "VISIT" in post else None,
        "VISITNUM": post["VISITNUM"].to_numpy(dtype=float),
        "ANL01FL": np.where(anl01, "Y", None), "ANL02FL": np.where(anl02, "Y", None),
        "SRCDOM": "TR", "SRCSEQ": np.nan})
    ovr["AVISIT"] = ovr["VISIT"]
    parts = []
    if "OVR" in labels:
        rows = ovr.assign(AVAL=ovr["AVALC"].map(IRECIST_AVAL).astype(float),
                          STUDYID=ovr["USUBJID"].map(subjects.set_index("USUBJID")["STUDYID"])
                          if "STUDYID" in subjects.columns else None)
        for key, value in labels["OVR"].items():
            rows[key] = value
        parts.append(with_columns(rows, OUT_COLUMNS))
    wanted = [b for b in ("BOR", "CBOR") if b in labels]
    if wanted:
        counted = mine[mine["ABLFL"].eq("Y").to_numpy()]
        counted = pd.concat([counted, post[anl01]], ignore_index=True)
        recs = derive_irecist_records(counted, st, sd_min_days=sd_min_days,
                                      confirmation_min_days=confirmation_min_days)
        carry = ovr[["USUBJID", "ADT", "VISITNUM", "ADTF", "VISIT", "AVISIT", "ANL02FL",
                     "SRCDOM", "SRCSEQ"]].drop_duplicates(["USUBJID", "ADT", "VISITNUM"])
        for base in wanted:
            picked = recs[recs["PARAMCD"].eq(base).to_numpy()][["USUBJID", "AVALC", "ADT",
                                                                 "VISITNUM"]]
            picked = picked.merge(carry, on=["USUBJID", "ADT", "VISITNUM"], how="left")
            parts.append(param_records(subjects, picked, missing_value="MISSING",
                                        set_values=labels[base], coding=IRECIST_AVAL))
    return parts



# ----------------------------------------------------------------------------------------
# define.xml method texts: what the derive_param_* above do, stated from the same config
# ----------------------------------------------------------------------------------------

_YN_TEXT = "AVAL: Y = 1, N = 0."
_RESPONSE_TEXT = ("AVAL: CR = 1, PR = 2, SD = 3, NON-CR/NON-PD = 4, PD = 5, NE = 6, "
                  "MISSING = 7.")


def _criterion_text(config, crit) -> str:
    resp = config.response
    return (f"criterion {crit.name} (RS records with RSCAT = '{crit.rscat}'"
            + (f"; records without RSCAT count as {resp.rs_without_rscat}"
               if resp.rs_without_rscat == crit.name else "") + ")")


def _assessments_text(config, crit) -> str:
    used = "ANL01FL = Y" if config.use_after_pd else "ANL01FL = Y and ANL02FL = Y"
    return f"the OVR{crit.paramcd_suffix} assessments with {used}"


def confirmation_text(config) -> str:
    """The confirmation rule of :func:`derive_param_confirmed_bor` and the confirmed
    parameters (``confirmation_min_days``, ``max_ne_between``, ``accept_sd_between``)."""
    c = config
    sd_between = ", plus at most one SD," if c.accept_sd_between else ""
    return (f"a CR is confirmed by the first later CR at least {c.confirmation_min_days} "
            f"days after it (ADT2 >= ADT1 + {c.confirmation_min_days}) when only CR or NE "
            f"assessments lie after it up to and including that one and at most "
            f"{c.max_ne_between} of them is NE; a PR is confirmed by the first later CR or "
            f"PR at least {c.confirmation_min_days} days after it when only CR, PR or NE "
            f"assessments{sd_between} lie in between, at most {c.max_ne_between} NE and no PR "
            f"follows a CR; when that first candidate fails, the response is unconfirmed")


def _ovr_text(config, crit, head: str, response_source: str) -> str:
    """OVR: computed from TU/TR (:mod:`.tumor_response`) or as recorded in RS."""
    if response_source == "TR":
        rules = crit.response_rules()
        name = crit.name.upper()
        evaluator = config.response.evaluator
        rule = (choi_method_text(rules, evaluator=evaluator,
                                 modified=name.startswith("MODIFIED"))
                if "CHOI" in name else recist_method_text(rules, evaluator=evaluator))
        return (f"Overall response per assessment computed from TU/TR, {head}{rule} "
                f"ADT: {assessment_date_method_text(rules)} {_RESPONSE_TEXT}")
    r = config.response
    return (f"Overall response per assessment as recorded, {head}AVALC = RS.RSSTRESC "
            f"(RS.RSORRES when blank, upper-cased) of the RS records with RSTESTCD = "
            f"'{r.testcd}' and RSEVAL = '{r.evaluator}'; ADT = RS.RSDTC as a date "
            f"({date_imputation_text(config.imputation('ADT'))}, flagged in ADTF). "
            f"{_RESPONSE_TEXT}")


def param_method_text(config, base: str, crit, *, response_source: str = "RS") -> str | None:
    """define.xml method of the AVALC/AVAL of an ADRS parameter, from the same config the
    derive_param_* functions above use. ``base``: the parameter without its criterion
    suffix (``BOR``, ``CRSP`` ...; the PARAMCD itself for ``DEATH`` and iRECIST);
    ``crit``: its :class:`~.config.ResponseCriterion`, ``"iRECIST"`` or None (DEATH);
    ``response_source``: ``"TR"`` when OVR was computed from TU/TR, ``"RS"`` when read
    from RS. None for a parameter this module does not derive."""
    c, start = config, config.start_date
    sd = c.sd_min_days
    yn, resp = _YN_TEXT, _RESPONSE_TEXT
    if base == "DEATH":
        return f"Y dated ADT = ADSL.DTHDT when the subject has a death date; otherwise N. {yn}"
    if crit == "iRECIST":
        rules = c.criterion(c.irecist.criterion).response_rules()
        return irecist_method_text(c, base, recist=recist_method_text(
            rules, evaluator=c.response.evaluator))
    head = f"{_criterion_text(c, crit)}: "
    cap = head[:1].upper() + head[1:]
    used = _assessments_text(c, crit)
    late = f"at least {sd} days after {start} (ADT >= {start} + {sd} days)"
    if base == "OVR":
        return _ovr_text(c, crit, head, response_source)
    if base == "BOR":
        return (f"Best overall response without confirmation, {head}over {used}, each "
                f"assessment qualifies for CR (CR), PR (PR), SD (CR, PR or SD {late}), "
                f"NON-CR/NON-PD (NON-CR/NON-PD {late}), PD (PD) or NE (any CR, PR, SD, "
                f"NON-CR/NON-PD or NE, i.e. also an SD earlier than {sd} days); the best "
                f"category (CR > PR > SD > NON-CR/NON-PD > PD > NE) wins, dated by its "
                f"first qualifying assessment; subjects without assessment: MISSING. {resp}")
    if base == "CBOR":
        unconf = (f"an unconfirmed CR or PR counts as SD when {late}, else NE"
                  if c.accept_sd_for_unconfirmed else "an unconfirmed CR or PR gives NE")
        return (f"Best confirmed overall response, {head}over {used}: {confirmation_text(c)}. "
                f"Categories: confirmed CR, confirmed PR, SD (SD {late}; {unconf}), "
                f"NON-CR/NON-PD ({late}), PD, NE (any other valid response); the best "
                f"category wins, dated by its first qualifying assessment; subjects without "
                f"assessment: MISSING. {resp}")
    if base in ("BCP", "CBCP"):
        src = "BOR" if base == "BCP" else "CBOR"
        return (f"{cap}Y when {src}{crit.paramcd_suffix} is CR or PR (dated by it), "
                f"otherwise N. {yn}")
    if base == "RSP":
        return (f"Response without confirmation, {head}Y dated by the first CR or PR among "
                f"{used}; otherwise (also without assessments) N. {yn}")
    if base == "CRSP":
        return (f"Confirmed response, {head}Y dated by the first confirmed CR or PR among "
                f"{used} ({confirmation_text(c)}); otherwise N. {yn}")
    if base == "CB":
        return (f"Clinical benefit without confirmation, {head}Y dated by the earliest "
                f"assessment among {used} that is a CR or PR, or a CR, PR, SD or "
                f"NON-CR/NON-PD {late}; otherwise N. {yn}")
    if base == "CCB":
        unconf = ("an unconfirmed CR/PR counts like SD" if c.accept_sd_for_unconfirmed
                  else "an unconfirmed CR/PR does not count")
        return (f"Confirmed clinical benefit, {head}Y dated by the earliest assessment among "
                f"{used} that is a confirmed CR or PR ({confirmation_text(c)}), or an SD or "
                f"NON-CR/NON-PD {late} ({unconf}); otherwise N. {yn}")
    if base == "DCR":
        d = c.dcr
        return (f"Disease control at day {d.landmark_days}, {head}the first assessment among "
                f"{used} with ADT - {start} >= {d.landmark_days - d.window_days} days "
                f"(landmark {d.landmark_days} days, window {d.window_days} days) decides: Y "
                f"(dated by it) when it is CR, PR, SD or NON-CR/NON-PD and neither a PD "
                f"assessment nor death (ADSL.DTHDT) came before it; N otherwise, also when "
                f"there is no such assessment. A missed landmark scan is replaced by the "
                f"next assessment. {yn}")
    if base == "PD":
        return (f"Disease progression, {head}Y dated by the first PD among {used}; "
                f"otherwise N. {yn}")
    if base == "LSTA":
        return (f"Last disease assessment, {head}the last OVR{crit.paramcd_suffix} "
                f"assessment with ANL01FL = Y (also after PD): AVALC its response, ADT its "
                f"date; no AVALC and ADT for subjects without assessment. {resp}")
    return None
