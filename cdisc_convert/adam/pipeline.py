"""SDTM folder → ADaM datasets: ADSL, ADRS, ADTTE and (with TU/TR) ADTR, plus the
reconciliation listing of investigator vs computed responses."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError
from cdisc_convert.core.memory import release_free_memory

from . import tumor_response as tumr
from .adae import build_adae
from .adex import build_adex, derive_adsl_from_adex
from .adrs import build_adrs, compute_criteria_visits, select_visit_responses
from .adsl import build_adsl, get_domain
from .adtte import build_adtte
from .bds import build_bds
from .config import AdamConfig
from .groups import factorize
from .imputation import as_datetime
from .irecist import compute_irecist_visits

DATASET_LABELS = {
    "ADSL": "Subject-Level Analysis Dataset",
    "ADRS": "Response Analysis Dataset",
    "ADTTE": "Time-to-Event Analysis Dataset",
    "ADTR": "Tumor Results Analysis Dataset",
    "ADAE": "Adverse Events Analysis Dataset",
    "ADEX": "Exposure Analysis Dataset",
    "ADLB": "Laboratory Analysis Dataset",
    "ADVS": "Vital Signs Analysis Dataset",
}


@dataclass
class AdamResult:
    datasets: dict[str, pd.DataFrame]
    reconciliation: pd.DataFrame = field(default_factory=pd.DataFrame)


def _computed_visits(sdtm, adsl: pd.DataFrame, config: AdamConfig) -> dict[str, pd.DataFrame]:
    """Responses computed from TU/TR per criterion (empty when TU/TR are absent)."""
    tu, tr = get_domain(sdtm, "TU"), get_domain(sdtm, "TR")
    if tu is None or tr is None or tu.empty or tr.empty:
        return {}
    return compute_criteria_visits(tu, tr, adsl, config)


def _nontarget_only(computed: dict[str, pd.DataFrame]) -> set[str]:
    """Subjects without a target lesion at their TU/TR baseline (any criterion)."""
    out: set[str] = set()
    for frame in computed.values():
        base = frame.loc[frame["ABLFL"].eq("Y").to_numpy()]
        out |= set(base.loc[base["SUMDIAM"].isna().to_numpy(), "USUBJID"])
    return out


def derive_adtr(computed: dict[str, pd.DataFrame], adsl: pd.DataFrame) -> pd.DataFrame:
    """ADTR (BDS): per subject and assessment the target-lesion sum of diameters (SUMDIAM,
    mm) and, where computed for Choi, the mean target density (DENSITY, HU); BASE is the
    baseline value, CHG/PCHG the change from it, ABLFL flags the baseline record. An
    assessment with a target lesion not measured has no sum (AVAL missing): the sum of the
    measured lesions alone would look like shrinkage."""
    parts = []
    sources = (("RECIST 1.1", "SUMDIAM", "Sum of Diameters of Target Lesions (mm)", "SUMDIAM", "SUMBASE"),
               ("CHOI", "DENSITY", "Mean Radiodensity of Target Lesions (HU)", "DENSITY", "DENSBASE"))
    for crit, paramcd, param, value, base in sources:
        frame = computed.get(crit)
        if frame is None or value not in frame or base not in frame:
            continue
        incomplete = frame["TRGNMISS"].fillna(0).to_numpy() > 0 if "TRGNMISS" in frame else False
        p = pd.DataFrame({
            "STUDYID": frame["USUBJID"].map(adsl.set_index("USUBJID")["STUDYID"]).to_numpy(),
            "USUBJID": frame["USUBJID"].to_numpy(), "PARAMCD": paramcd, "PARAM": param,
            "AVISIT": frame["VISIT"].to_numpy(), "AVISITN": frame["VISITNUM"].to_numpy(float),
            "ADT": pd.to_datetime(frame["ADT"]).to_numpy(),
            "AVAL": np.where(incomplete, np.nan, frame[value].to_numpy(float)),
            "BASE": frame[base].to_numpy(float),
            "ABLFL": frame["ABLFL"].fillna("").to_numpy(object)})
        p["CHG"] = np.where(p["ABLFL"] == "Y", np.nan, p["AVAL"] - p["BASE"])
        p["PCHG"] = np.where(p["ABLFL"] == "Y", np.nan, 100 * p["CHG"] / p["BASE"])
        parts.append(p)
    if not parts:
        return pd.DataFrame()
    adtr = pd.concat(parts, ignore_index=True)
    adtr = adtr.sort_values(["USUBJID", "PARAMCD", "ADT", "AVISITN"], kind="stable")
    adtr["ASEQ"] = adtr.groupby("USUBJID").cumcount().astype(float) + 1
    return adtr.reset_index(drop=True)


def adtr_method_text(paramcd: str, rules: tumr.ResponseRules) -> str | None:
    """define.xml method of an ADTR parameter :func:`derive_adtr` makes, from the RECIST
    criterion's ``rules``; None for another PARAMCD."""
    if paramcd == "SUMDIAM":
        return ("Sum of the target lesion diameters (mm) per assessment, RECIST 1.1: "
                + tumr.baseline_method_text(rules)
                + " AVAL is missing when a target lesion was not measured (a partial sum "
                "would look like shrinkage).")
    if paramcd == "DENSITY":
        return ("Mean radiodensity (HU) of the target lesions per assessment (Choi): the "
                "mean TR RADIODEN of the target lesions measured at baseline that have "
                "one; missing when a target lesion was not measured.")
    return None


def adtr_variable_texts(config: AdamConfig, rules: tumr.ResponseRules) -> dict[str, str]:
    """define.xml methods of the ADTR variables :func:`derive_adtr` sets."""
    start = config.start_date
    return {
        "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT and "
                "AVISITN.",
        "AVISIT": "VISIT of the tumour assessment (TR).",
        "AVISITN": "VISITNUM of the tumour assessment (TR).",
        "ADT": "Assessment date: " + tumr.assessment_date_method_text(rules),
        "AVAL": "Per parameter, see the value-level metadata.",
        "BASE": "AVAL of the subject's baseline assessment for the parameter.",
        "ABLFL": f"Y on the baseline assessment: per subject the lowest VISITNUM "
                 f"flagged Y in {' or '.join(rules.baseline_flag_columns)} when "
                 f"TR has such a flag; otherwise the {rules.baseline_pick} "
                 f"evaluable assessment whose earliest scan is on or before ADSL.{start}"
                 + (f" and at most {rules.baseline_window_days} days before it"
                    if rules.baseline_window_days is not None else "")
                 + "; otherwise the subject's first evaluable assessment.",
        "CHG": "AVAL - BASE; missing on the baseline record.",
        "PCHG": "100 x (AVAL - BASE) / BASE; missing on the baseline record.",
    }


def reconciliation_listing(sdtm, computed: dict[str, pd.DataFrame],
                           config: AdamConfig) -> pd.DataFrame:
    """Every assessment where the investigator's RS response differs from the computed one."""
    rs = get_domain(sdtm, "RS")
    if rs is None or rs.empty or not computed:
        return pd.DataFrame()
    mine = np.ones(len(rs), dtype=bool)
    if config.response.evaluator and "RSEVAL" in rs:
        mine = (rs["RSEVAL"] == config.response.evaluator).to_numpy()
    # only the columns the reconciliation reads are taken per criterion, not all of RS
    rs = rs[[c for c in tumr.RECONCILED_COLUMNS if c in rs.columns]]
    if "RSCAT" in rs:
        # RSCAT numbered once, each criterion's records found by its code (not one text
        # comparison of every record per criterion)
        cat_codes, cats = factorize(rs["RSCAT"].to_numpy(), use_na_sentinel=False)
    listings = []
    for crit, frame in computed.items():
        rscat = next((c.rscat for c in config.response.criteria if c.name == crit), crit)
        inv = rs[mine & (np.asarray(cats, dtype=object) == rscat)[cat_codes]] \
            if "RSCAT" in rs else rs[mine]
        if inv.empty:
            continue
        inv = inv.assign(CRIT=crit)
        listings.append(tumr.reconcile_responses(inv, frame))
    return pd.concat(listings, ignore_index=True) if listings else pd.DataFrame()


def check_subjects(sdtm: dict[str, pd.DataFrame]) -> None:
    """Every subject of every domain must be in DM: records of other subjects would become
    ADaM records (ADRS, ADTTE, ADTR) for subjects ADSL does not hold. An InputError names
    the domains and the first subjects."""
    dm = get_domain(sdtm, "DM")
    if dm is None or "USUBJID" not in dm.columns:
        return
    if dm.empty:
        raise InputError("DM has no records: there is no subject to analyse",
                         dataset="DM", rule="ADAM-DM-EMPTY")
    known = pd.Index(dm["USUBJID"].astype(str).unique())
    problems = []
    for name, frame in sorted(sdtm.items()):
        if str(name).upper() == "DM" or frame is None or "USUBJID" not in frame.columns:
            continue
        # text of the distinct values only (the same set as of every record's text), the
        # values numbered by object rather than hashed per record
        codes, distinct = factorize(frame["USUBJID"].to_numpy())
        values = list(distinct) + list(pd.unique(frame["USUBJID"].to_numpy()[codes < 0]))
        ids = pd.Index(pd.Series(values, dtype=object).astype(str).unique())
        missing = ids[~ids.isin(known) & (ids != "")]
        if len(missing):
            shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
            problems.append(f"{str(name).upper()}: {len(missing)} subject(s) not in DM ({shown})")
    if problems:
        raise InputError("records of subjects missing from DM: ADaM would hold analysis "
                         "records for subjects ADSL does not have; add them to DM or remove "
                         "their records", rule="ADAM-SUBJECT-NOT-IN-DM", details=problems)


def _release(sdtm: dict[str, pd.DataFrame], keep: set[str], release: bool) -> None:
    """With ``release``, drop from ``sdtm`` every domain not in ``keep`` (upper case) and
    give their memory back to the system."""
    if release:
        dropped = [n for n in sdtm if str(n).upper() not in keep]
        for name in dropped:
            del sdtm[name]
        if dropped:
            release_free_memory()


def release_order(config: AdamConfig) -> tuple[str, ...]:
    """The SDTM domains :func:`build_adam_datasets` (``release=True``) still holds after
    ADSL and ADEX, in the order it lets them go: RS, TU and TR after ADRS, AE after ADAE,
    then each BDS data set's domain once it is derived (every other domain goes after
    ADEX). Keep it in step with the ``_release`` calls there."""
    findings = [b.domain.upper() for b in config.bds]
    return tuple(dict.fromkeys(["RS", "TU", "TR", "AE", *findings]))


def build_adam_datasets(sdtm: dict[str, pd.DataFrame], config: AdamConfig,
                        progress=None, *, release: bool = False,
                        finished=None) -> AdamResult:
    """ADaM datasets from SDTM frames; input faults (an empty DM, a subject twice in DM,
    records of subjects DM does not hold) are an InputError before anything is derived.
    ``release``: drop each domain from ``sdtm`` (the caller's dict) once no later step
    needs it, so that a large study's SDTM is not held beside all of ADaM.
    ``finished(name, frame)``: called with each data set once no later step reads it; the
    frame it returns is kept instead (``run`` sorts each and holds its text as codes then,
    not after the last one)."""
    say = progress or (lambda _m: None)
    done = finished or (lambda _name, frame: frame)
    check_subjects(sdtm)
    say("ADSL")
    adsl = build_adsl(sdtm, config)
    ex = get_domain(sdtm, "EX")
    adex = pd.DataFrame()
    if config.adex is not None and ex is not None and len(ex):
        say("ADEX")
        adex = build_adex(ex, adsl, config.adex)
        if config.adex.to_adsl and len(adex):
            adsl = derive_adsl_from_adex(adsl, adex, config.adex.to_adsl)
        if len(adex):
            adex = done("ADEX", adex)
    del ex
    findings = {b.domain.upper() for b in config.bds}
    _release(sdtm, {"TU", "TR", "RS", "AE"} | findings, release)
    computed = _computed_visits(sdtm, adsl, config)
    say("ADRS")
    irecist = None
    tu, tr = get_domain(sdtm, "TU"), get_domain(sdtm, "TR")
    if config.irecist is not None and tu is not None and tr is not None and len(tu) and len(tr):
        irecist = compute_irecist_visits(tu, tr, adsl, config)
    del tu, tr
    adrs = build_adrs(select_visit_responses(sdtm, adsl, config, computed=computed), adsl, config,
                      nontarget_only=_nontarget_only(computed), irecist=irecist)
    # here, not with ADTR: RS can go before ADAE and the findings datasets are derived
    reconciliation = reconciliation_listing(sdtm, computed, config) if computed else pd.DataFrame()
    _release(sdtm, {"AE"} | findings, release)
    say("ADTTE")
    adtte = done("ADTTE", build_adtte(adsl, adrs, config))
    datasets = {"ADSL": adsl, "ADRS": done("ADRS", adrs), "ADTTE": adtte}
    del adrs
    ae = get_domain(sdtm, "AE")
    if config.adae is not None and ae is not None:
        say("ADAE")
        datasets["ADAE"] = done("ADAE", build_adae(ae, adsl, config.adae))
    del ae
    _release(sdtm, findings, release)
    if len(adex):
        datasets["ADEX"] = adex
    for i, bds_config in enumerate(config.bds):
        domain = get_domain(sdtm, bds_config.domain)
        if domain is not None and len(domain):
            say(bds_config.dataset)
            frame = build_bds(domain, adsl, bds_config)
            frame.attrs["label"] = bds_config.label or DATASET_LABELS.get(
                bds_config.dataset, f"{bds_config.domain} Analysis Dataset")
            datasets[bds_config.dataset] = done(bds_config.dataset, frame)
            del frame
        del domain
        _release(sdtm, {b.domain.upper() for b in config.bds[i + 1:]}, release)
    if computed:
        say("ADTR")
        adtr = derive_adtr(computed, adsl)
        if len(adtr):
            datasets["ADTR"] = done("ADTR", adtr)
    datasets["ADSL"] = done("ADSL", adsl)
    return AdamResult(datasets, reconciliation)
