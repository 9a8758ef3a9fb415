"""The per-visit responses ADRS is derived from: RS records, or responses computed from TU/TR
(:mod:`cdisc_convert.adam.tumor_response`), as adam.yaml's ``response.source`` says."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import filled
from cdisc_convert.core.errors import SpecError

from .adrs_records import VISIT_COLUMNS, normalise_text
from .adsl import get_domain
from .config import AdamConfig
from .imputation import as_datetime, derive_vars_dt

__all__ = ["visit_responses_from_rs", "compute_criteria_visits", "visit_responses_from_tr",
           "select_visit_responses", "empty_visits"]


# -- inputs -------------------------------------------------------------------------------------

def visit_responses_from_rs(rs: pd.DataFrame, adsl: pd.DataFrame | None = None,
                            config: AdamConfig | None = None) -> pd.DataFrame:
    """Per-visit overall responses from SDTM RS.

    Rule (admiralonco ADRS template): keep ``RSTESTCD == response.testcd`` (OVRLRESP) and
    ``RSEVAL == response.evaluator`` (case-insensitive); CRIT is the criterion whose ``rscat``
    equals RSCAT, ``response.rs_without_rscat`` for records without RSCAT (records of other
    categories are dropped); AVALC = RSSTRESC (RSORRES when blank, upper-cased); ADT from
    RSDTC with the ``date_imputation.ADT`` rule (default: a missing day is imputed to the
    *last* day of the month, ADTF ``D``). When ``adsl`` is given only its subjects are kept.
    """
    config = config or AdamConfig()
    resp = config.response
    keep = np.ones(len(rs), dtype=bool)
    if "RSTESTCD" in rs.columns:
        keep &= normalise_text(rs["RSTESTCD"]) == resp.testcd.upper()
    if resp.evaluator and "RSEVAL" in rs.columns:
        keep &= normalise_text(rs["RSEVAL"]) == resp.evaluator.upper()
    rs = rs[keep]
    by_cat = {c.rscat.upper(): c.name for c in resp.criteria}
    if "RSCAT" in rs.columns:
        rscat = pd.Series(normalise_text(rs["RSCAT"]), dtype=object)
        crit = rscat.map(by_cat).to_numpy(dtype=object).copy()
        blank = (rscat.isna() | (rscat == "")).to_numpy()
        crit[blank] = resp.rs_without_rscat
    else:
        crit = filled(len(rs), resp.rs_without_rscat)
    rs = rs.assign(CRIT=crit)
    rs = rs[pd.notna(crit)]
    if adsl is not None:
        rs = rs[rs["USUBJID"].isin(adsl["USUBJID"]).to_numpy()]
    rule = config.imputation("ADT")
    rs = derive_vars_dt(rs, "A", "RSDTC", highest_imputation=rule.highest_imputation,
                        date_imputation=rule.date_imputation, flag=True)
    avalc = pd.Series(normalise_text(rs["RSSTRESC"]) if "RSSTRESC" in rs.columns
                      else filled(len(rs), None), index=rs.index, dtype=object)
    if "RSORRES" in rs.columns:
        blank = (avalc.isna() | (avalc == "")).to_numpy()
        avalc[blank] = normalise_text(rs["RSORRES"])[blank]
    out = pd.DataFrame({
        "STUDYID": rs["STUDYID"].to_numpy() if "STUDYID" in rs.columns else None,
        "USUBJID": rs["USUBJID"].to_numpy(),
        "CRIT": rs["CRIT"].to_numpy(),
        "ADT": rs["ADT"].to_numpy(),
        "ADTF": rs["ADTF"].to_numpy(),
        "VISIT": rs["VISIT"].to_numpy() if "VISIT" in rs.columns else None,
        "VISITNUM": pd.to_numeric(rs["VISITNUM"], errors="coerce").to_numpy()
        if "VISITNUM" in rs.columns else np.nan,
        "AVALC": avalc.to_numpy(dtype=object),
        "SRCDOM": "RS",
        "SRCSEQ": pd.to_numeric(rs["RSSEQ"], errors="coerce").to_numpy()
        if "RSSEQ" in rs.columns else np.nan,
    })
    out["ADT"] = out["ADT"].astype("datetime64[ns]")
    return out


def compute_criteria_visits(tu: pd.DataFrame, tr: pd.DataFrame, adsl: pd.DataFrame,
                            config: AdamConfig | None = None) -> dict[str, pd.DataFrame]:
    """Per-visit responses computed from TU/TR for every configured criterion the TU/TR
    module knows (RECIST 1.1, Choi), as :func:`tumor_response.compute_visit_responses`
    returns them (baseline rows, sums and densities included), keyed by criterion name.

    TR/TU records are those of ``response.evaluator`` (``TREVAL``) when TR has ``TREVAL``;
    the baseline is chosen relative to ADSL ``start_date``.
    """
    config = config or AdamConfig()
    from . import tumor_response as tumr

    evaluator = config.response.evaluator
    by_reader = {"evaluator_filter": {"TREVAL": evaluator}} \
        if evaluator and "TREVAL" in tr.columns else {}
    start = None
    if config.start_date in adsl.columns:
        start = adsl.drop_duplicates("USUBJID").set_index("USUBJID")[config.start_date]
    computed = {}
    # TU/TR are prepared once for all criteria whose rules agree on the preparation
    prepared: list[tuple[tumr.ResponseRules, tumr.PreparedLesions]] = []
    for crit in config.response.criteria:
        rules = crit.response_rules(**by_reader)
        try:
            tumr.criterion_name(crit.name)
            shared = next((p for r, p in prepared if tumr.same_preparation(r, rules)), None)
            if shared is None:
                shared = tumr.prepare_lesions(tu, tr, rules, start)
                prepared.append((rules, shared))
            computed[crit.name] = tumr.compute_visit_responses(tu, tr, crit.name, rules,
                                                               treatment_start=start,
                                                               prepared=shared)
        except SpecError:
            continue  # a criterion the TU/TR module does not compute
    return computed


def visit_responses_from_tr(tu: pd.DataFrame, tr: pd.DataFrame, adsl: pd.DataFrame,
                            config: AdamConfig | None = None, *,
                            computed: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Per-visit responses computed from TU/TR, in the per-visit shape used here.

    ``computed`` (from :func:`compute_criteria_visits`) saves computing them again. Baseline
    rows are dropped; CRIT is the criterion's configured name, SRCDOM ``TR`` and SRCSEQ
    missing (an assessment combines many TR records).
    """
    if computed is None:
        computed = compute_criteria_visits(tu, tr, adsl, config)
    frames = []
    for name, out in computed.items():
        out = out[(out["ABLFL"] != "Y").to_numpy() & (out["AVALC"].fillna("") != "").to_numpy()]
        frames.append(pd.DataFrame({
            "USUBJID": out["USUBJID"].to_numpy(), "CRIT": name,
            "ADT": as_datetime(out["ADT"]).to_numpy(),
            "ADTF": out["ADTF"].replace("", None).to_numpy(dtype=object),
            "VISIT": out["VISIT"].to_numpy(), "VISITNUM": out["VISITNUM"].to_numpy(dtype=float),
            "AVALC": out["AVALC"].to_numpy(dtype=object), "SRCDOM": "TR", "SRCSEQ": np.nan}))
    frames = [f for f in frames if len(f)]
    if not frames:
        return empty_visits()
    visits = pd.concat(frames, ignore_index=True)
    if "STUDYID" in adsl.columns:
        visits.insert(0, "STUDYID", visits["USUBJID"].map(
            adsl.drop_duplicates("USUBJID").set_index("USUBJID")["STUDYID"]))
    return visits


def select_visit_responses(sdtm: Mapping[str, pd.DataFrame], adsl: pd.DataFrame,
                           config: AdamConfig | None = None, *,
                           computed: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The per-visit responses from the configured source.

    ``response.source``: ``rs`` uses RS (:func:`visit_responses_from_rs`); ``tr`` computes
    responses from TU/TR (:func:`visit_responses_from_tr`); ``auto`` uses RS when it holds
    overall responses of the evaluator, TU/TR otherwise. Without a usable source the frame is
    empty (every subject then gets BOR MISSING, RSP N ...).
    """
    config = config or AdamConfig()
    source = config.response.source
    rs = get_domain(sdtm, "RS")
    if source in {"rs", "auto"} and rs is not None:
        visits = visit_responses_from_rs(rs, adsl, config)
        if source == "rs" or len(visits):
            return visits
    if source == "rs":
        return empty_visits()
    tu, tr = get_domain(sdtm, "TU"), get_domain(sdtm, "TR")
    if tu is None or tr is None:
        return empty_visits()
    return visit_responses_from_tr(tu, tr, adsl, config, computed=computed)



def empty_visits() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in ["STUDYID", *VISIT_COLUMNS]})
    out["ADT"] = out["ADT"].astype("datetime64[ns]")
    out["VISITNUM"] = out["VISITNUM"].astype(float)
    out["SRCSEQ"] = out["SRCSEQ"].astype(float)
    return out

