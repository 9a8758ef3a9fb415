"""iRECIST (Seymour et al., Lancet Oncol 2017) computed from SDTM TU/TR measurements.

admiralonco reads iRECIST responses that an investigator already recorded in RS; here they
are derived from the same lesion measurements as RECIST 1.1
(:func:`cdisc_convert.adam.tumor_response.compute_visit_responses`):

* **Before any progression** the response is RECIST 1.1's with the i prefix: iCR, iPR,
  iSD, NON-iCR/NON-iUPD (non-target disease only), NE.
* **iUPD**: an assessment that RECIST 1.1 calls PD is *unconfirmed* progression. The
  categories that caused it are remembered: target (sum >= +20 % and +5 mm vs nadir),
  non-target (unequivocal progression) and new lesions.
* **New lesions** are kept out of the original sum and recorded in iRECIST's own categories:
  *new target* lesions are new lesions measurable when first seen (>= 10 mm longest
  diameter; lymph nodes >= 15 mm short axis), at most 5 and 2 per organ (``TULOC``), the
  largest first; every other new lesion is *new non-target*.
* **Confirmation** (iCPD) at the next assessment at least ``confirm_min_days`` (28, "4-8
  weeks") after the iUPD: a further increase in a category that caused it - target sum
  +5 mm or more vs the iUPD assessment, non-target progression again, new-target sum +5 mm
  or more, more new lesions than at iUPD - or progression appearing in a category that had
  not caused it (RECIST PD by target or non-target, a new lesion where there was none).
* **Not confirmed**: if RECIST 1.1 still shows progression the response stays iUPD (and the
  next assessment is again a confirmation candidate); otherwise it **resets** to the
  RECIST category of that assessment (iCR / iPR / iSD / NON-iCR/NON-iUPD) and a later
  progression is a new iUPD. After iCPD every later assessment is iCPD.
* **iBOR**: the best of iCR, iPR, iSD (and NON-iCR/NON-iUPD) with ``ADT >= start +
  sd_min_days``, iCPD, iUPD, NE, in that order; dated by its first assessment, iCPD by the
  first iUPD of the run of iUPD (and NE) assessments it confirms (admiralonco's iRECIST
  vignette ranks the confirmed progression before an unconfirmed one and dates it so). **Confirmed
  iBOR**: iCR / iPR count only when confirmed by a later iCR (for iCR) or iCR/iPR (for iPR)
  at least ``confirmation_min_days`` later with only iCR/iPR/NE in between; otherwise they
  count as iSD when late enough.

The per-subject state (iUPD pending, reset) depends on the previous assessments, so it is
followed in a loop over each subject's assessments (a handful per subject), not over TR rows.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError

from .tumor_response import RECIST, ResponseRules, compute_visit_responses

__all__ = ["compute_irecist_responses", "compute_irecist_visits", "derive_irecist_records",
           "irecist_method_text", "IRECIST_ORDER", "IRECIST_AVAL", "IRECIST_PARAMETERS"]

IRECIST = "iRECIST"
I_OF = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "NON-CR/NON-PD": "NON-iCR/NON-iUPD", "NE": "NE"}
#: best first
IRECIST_ORDER = ["iCR", "iPR", "iSD", "NON-iCR/NON-iUPD", "iUPD", "iCPD", "NE"]
#: AVAL of the iRECIST parameters: best first, as RESPONSE_AVAL codes RECIST (CR 1 ... NE 6)
IRECIST_AVAL = {v: i for i, v in enumerate([*IRECIST_ORDER, "MISSING"], start=1)}
#: best first for iBOR: a confirmed progression (iCPD) before an unconfirmed one (iUPD)
BOR_ORDER = ["iCR", "iPR", "iSD", "NON-iCR/NON-iUPD", "iCPD", "iUPD", "NE"]
#: ADRS parameters per iRECIST: base record kind -> (PARAMCD, PARAM template). The codes follow
#: admiralonco's iRECIST vignette (IBOR, ICBOR; "IOVRB" for the overall response by BICR, so
#: IOVR for the investigator's), the i prefix keeping them apart from the RECIST 1.1 ones.
IRECIST_PARAMETERS = {
    "OVR": ("IOVR", "iRECIST Overall Response by {ev}"),
    "BOR": ("IBOR", "iRECIST Best Overall Response by {ev} (confirmation not required)"),
    "CBOR": ("ICBOR", "iRECIST Best Confirmed Overall Response by {ev}"),
}


def _new_lesion_categories(tu: pd.DataFrame, tr: pd.DataFrame,
                           rules: ResponseRules) -> pd.DataFrame:
    """Per subject and visit: ``NEWTSUM`` (sum of the new target lesions measured there),
    ``NEWN`` (new lesions present so far, cumulative), ``NEWNTPD`` (a new non-target lesion
    recorded as unequivocal progression)."""
    tu = tu.assign(_CAT=tu["TUSTRESC"].fillna("").astype(str).str.strip().str.upper(),
                   _LOC=tu.get("TULOC", pd.Series("", index=tu.index)).fillna("").astype(str)
                   .str.upper())
    new = tu.loc[tu["_CAT"].eq("NEW"), ["USUBJID", "TULNKID", "_LOC"]].drop_duplicates(
        ["USUBJID", "TULNKID"]).rename(columns={"TULNKID": "LNK"})
    m = tr.assign(LNK=tr["TRLNKID"], TEST=tr["TRTESTCD"].fillna("").str.upper(),
                  VAL=pd.to_numeric(tr["TRSTRESN"], errors="coerce"),
                  RES=tr.get("TRSTRESC", pd.Series("", index=tr.index)).fillna("").astype(str)
                  .str.strip().str.upper(),
                  VISITNUM=pd.to_numeric(tr["VISITNUM"], errors="coerce"))
    m = m.merge(new, on=["USUBJID", "LNK"], how="inner")
    nodal = m["_LOC"].str.contains("LYMPH NODE", regex=False)
    size = m.loc[np.where(nodal, m["TEST"].eq("LPERP"), m["TEST"].eq("LDIAM"))
                 & m["VAL"].notna(), ["USUBJID", "LNK", "VISITNUM", "VAL", "_LOC"]]
    size = size.assign(_NODAL=size["_LOC"].str.contains("LYMPH NODE", regex=False))
    first = size.sort_values("VISITNUM").drop_duplicates(["USUBJID", "LNK"])
    measurable = first.loc[first["VAL"] >= np.where(first["_NODAL"], 15.0, 10.0)]
    measurable = measurable.sort_values(["USUBJID", "VAL"], ascending=[True, False])
    measurable = measurable.loc[measurable.groupby(["USUBJID", "_LOC"]).cumcount() < 2]
    measurable = measurable.loc[measurable.groupby("USUBJID").cumcount() < 5]
    tgt = size.merge(measurable[["USUBJID", "LNK"]], on=["USUBJID", "LNK"])
    tsum = tgt.groupby(["USUBJID", "VISITNUM"])["VAL"].sum().rename("NEWTSUM")
    shown = m.loc[(m["VAL"].gt(0) & m["TEST"].isin(["LDIAM", "LPERP"]))
                  | (m["TEST"].eq("TUMSTATE") & ~m["RES"].isin(
                      rules.absent_states + rules.not_evaluated_states + rules.equivocal_states))]
    firstseen = shown.groupby(["USUBJID", "LNK"])["VISITNUM"].min().reset_index()
    count = firstseen.groupby(["USUBJID", "VISITNUM"]).size().rename("_NEWN")
    ntpd = (m.loc[m["RES"].isin(rules.progression_states)]
            .groupby(["USUBJID", "VISITNUM"]).size().gt(0).rename("NEWNTPD"))
    out = pd.concat([tsum, count, ntpd], axis=1).reset_index()
    return out


def compute_irecist_responses(tu: pd.DataFrame, tr: pd.DataFrame,
                              rules: ResponseRules | None = None, *,
                              treatment_start: pd.Series | Mapping | None = None,
                              confirm_min_days: int = 28) -> pd.DataFrame:
    """Per-visit iRECIST responses (module docstring): the RECIST 1.1 columns of
    :func:`compute_visit_responses` plus ``NEWTSUM``, ``NEWN``, ``IRESP`` (iRECIST
    response; "" on the baseline) and ``CRIT`` = "iRECIST"."""
    rules = rules or ResponseRules()
    for name, frame, cols in (("TU", tu, ["USUBJID", "TULNKID", "TUSTRESC"]),
                              ("TR", tr, ["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN",
                                          "VISITNUM"])):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(f"compute_irecist_responses: {name} lacks required variable "
                             f"{missing[0]}", dataset=name, variable=missing[0],
                             rule="irecist.columns")
    base = compute_visit_responses(tu, tr, RECIST, rules, treatment_start=treatment_start)
    newc = _new_lesion_categories(tu, tr, rules)
    s = base.merge(newc, on=["USUBJID", "VISITNUM"], how="left")
    s["NEWTSUM"] = s["NEWTSUM"].fillna(0.0)
    s["NEWN"] = s["_NEWN"].fillna(0).groupby(s["USUBJID"]).cumsum()
    s["NEWNTPD"] = s["NEWNTPD"].eq(True)
    s = s.drop(columns="_NEWN").sort_values(["USUBJID", "VISITNUM"], kind="stable")
    s["IRESP"] = ""
    step = pd.Timedelta(days=confirm_min_days)
    for _, idx in s.groupby("USUBJID", sort=False).groups.items():
        rows = s.loc[idx]
        pending = None      # the iUPD assessment awaiting confirmation
        done = False
        for i, r in rows.iterrows():
            if r["ABLFL"] == "Y":
                continue
            if done:
                s.at[i, "IRESP"] = "iCPD"
                continue
            recist_pd = r["AVALC"] == "PD"
            if pending is not None and r["ADT"] >= pending["ADT"] + step:
                confirmed = _confirms(pending, r)
                if confirmed:
                    s.at[i, "IRESP"] = "iCPD"
                    done = True
                    continue
                if recist_pd:
                    s.at[i, "IRESP"] = "iUPD"   # still progression, not further: pending
                    continue
                s.at[i, "IRESP"] = I_OF.get(r["AVALC"], "NE")   # reset
                pending = None
                continue
            if pending is not None:             # too early to confirm: keep iUPD
                s.at[i, "IRESP"] = "iUPD"
                continue
            if recist_pd:
                s.at[i, "IRESP"] = "iUPD"
                pending = r
                continue
            s.at[i, "IRESP"] = I_OF.get(r["AVALC"], "NE")
    s["CRIT"] = IRECIST
    return s.reset_index(drop=True)


def _confirms(up: pd.Series, now: pd.Series) -> bool:
    """iCPD at ``now`` after the iUPD at ``up`` (see the module docstring)."""
    t_cause = up["TRGRESP"] == "PD"
    nt_cause = up["NTRGRESP"] == "PD"
    new_cause = up["NEWLPROG"] == "Y"
    sum_up, sum_now = up["SUMDIAM"], now["SUMDIAM"]
    target_more = (pd.notna(sum_up) and pd.notna(sum_now) and sum_now - sum_up >= 5.0)
    new_more = (now["NEWTSUM"] - up["NEWTSUM"] >= 5.0 or now["NEWN"] > up["NEWN"]
                or bool(now["NEWNTPD"]))
    return bool((t_cause and target_more) or (nt_cause and now["NTRGRESP"] == "PD")
                or (new_cause and new_more)
                or (not t_cause and now["TRGRESP"] == "PD")
                or (not nt_cause and now["NTRGRESP"] == "PD")
                or (not new_cause and now["NEWLPROG"] == "Y"))


def derive_irecist_records(responses: pd.DataFrame, start: pd.Series | Mapping, *,
                           sd_min_days: int = 42,
                           confirmation_min_days: int = 28) -> pd.DataFrame:
    """OVR, BOR and CBOR records per iRECIST from :func:`compute_irecist_responses`.

    ``start``: the start date per USUBJID (Series or mapping). Returns ``USUBJID, PARAMCD,
    CRIT, AVALC, ADT, VISITNUM``: one OVR per post-baseline assessment; one BOR and one CBOR
    per subject with assessments (module docstring for the rules)."""
    need = ["USUBJID", "ABLFL", "IRESP", "ADT", "VISITNUM"]
    missing = [c for c in need if c not in responses.columns]
    if missing:
        raise InputError(f"derive_irecist_records: input lacks required variable {missing[0]}",
                         variable=missing[0], rule="irecist.columns")
    carried = [c for c in ("VISIT", "ADTF") if c in responses.columns]
    ovr = responses.loc[responses["ABLFL"].ne("Y"), need[:1] + need[2:] + carried].rename(
        columns={"IRESP": "AVALC"}).sort_values(["USUBJID", "ADT"], kind="stable")
    ovr = ovr.reset_index(drop=True)
    st = pd.to_datetime(ovr["USUBJID"].map(pd.Series(start)))
    late = ovr["ADT"] >= st + pd.Timedelta(days=sd_min_days)
    rank = {v: i for i, v in enumerate(BOR_ORDER)}

    def best(category: pd.Series, code: str) -> pd.DataFrame:
        c = category.map(rank)
        frame = ovr.assign(AVALC=category, _R=c).dropna(subset=["_R"])
        frame = frame.sort_values(["USUBJID", "_R", "ADT"], kind="stable")
        return frame.drop_duplicates("USUBJID").drop(columns="_R").assign(PARAMCD=code)

    sd_like = ovr["AVALC"].isin(["iSD", "NON-iCR/NON-iUPD"])
    # the iUPD (and NE) run right before a subject's first iCPD is that confirmed progression
    # and dates it: "iCPD" from its first iUPD on
    first_cpd = ovr["AVALC"].eq("iCPD").astype(int).groupby(ovr["USUBJID"]).cumsum().gt(0)
    run_break = (~ovr["AVALC"].isin(["iUPD", "NE"]) & ~first_cpd).astype(int)
    after_break = run_break[::-1].groupby(ovr["USUBJID"][::-1]).cumsum()[::-1]
    will_cpd = first_cpd.groupby(ovr["USUBJID"]).transform("max")
    in_run = will_cpd & ~first_cpd & after_break.eq(0)
    started = (in_run & ovr["AVALC"].eq("iUPD")).astype(int).groupby(ovr["USUBJID"]).cumsum()
    confirmed_pd = (in_run & started.gt(0)) | ovr["AVALC"].eq("iCPD")
    base_cat = ovr["AVALC"].where(~confirmed_pd, "iCPD")
    bor_cat = base_cat.where(~sd_like | late, "NE")
    # confirmation: the next assessment >= confirmation_min_days later that is iCR (for iCR)
    # or iCR/iPR (for iPR), with only iCR/iPR/NE in between
    conf = np.zeros(len(ovr), dtype=bool)
    for _, idx in ovr.groupby("USUBJID", sort=False).groups.items():
        rows = ovr.loc[idx]
        for i, r in rows.iterrows():
            if r["AVALC"] not in ("iCR", "iPR"):
                continue
            ok_values = ("iCR", "NE") if r["AVALC"] == "iCR" else ("iCR", "iPR", "NE")
            for _, later in rows.loc[rows["ADT"] > r["ADT"]].iterrows():
                if later["AVALC"] not in ok_values:
                    break
                if later["ADT"] >= r["ADT"] + pd.Timedelta(days=confirmation_min_days) and \
                        later["AVALC"] in ok_values[:-1]:
                    conf[ovr.index.get_loc(i)] = True
                    break
    crpr = ovr["AVALC"].isin(["iCR", "iPR"])
    cbor_cat = base_cat.where(~crpr | conf, np.where(late, "iSD", "NE"))
    cbor_cat = cbor_cat.where(~sd_like | late, "NE")
    out = pd.concat([ovr.assign(PARAMCD="OVR"), best(bor_cat, "BOR"), best(cbor_cat, "CBOR")],
                    ignore_index=True)
    out["CRIT"] = IRECIST
    return out[["USUBJID", "PARAMCD", "CRIT", "AVALC", "ADT", "VISITNUM", *carried]]


def compute_irecist_visits(tu: pd.DataFrame, tr: pd.DataFrame, adsl: pd.DataFrame,
                           config) -> pd.DataFrame:
    """:func:`compute_irecist_responses` as adam.yaml's ``irecist`` asks: the TU/TR rules
    of its ``criterion`` (``response.criteria[].rules``; TR/TU of ``response.evaluator``
    when TR has ``TREVAL``, as for RECIST 1.1), baseline relative to ADSL ``start_date``
    and ``confirm_min_days``. ``config.irecist`` must be set."""
    settings = config.irecist
    evaluator = config.response.evaluator
    by_reader = {"evaluator_filter": {"TREVAL": evaluator}} \
        if evaluator and "TREVAL" in tr.columns else {}
    rules = config.criterion(settings.criterion).response_rules(**by_reader)
    start = None
    if config.start_date in adsl.columns:
        start = adsl.drop_duplicates("USUBJID").set_index("USUBJID")[config.start_date]
    return compute_irecist_responses(tu, tr, rules, treatment_start=start,
                                     confirm_min_days=settings.confirm_min_days)


def irecist_method_text(config, paramcd: str, *, recist: str) -> str | None:
    """define.xml method of an iRECIST ADRS parameter, from the same config the derivation
    uses (``config.irecist``, ``sd_min_days``, ``confirmation_min_days``, ``start_date``);
    ``recist``: the method text of the RECIST 1.1 computation it starts from. None for any
    other PARAMCD or when iRECIST is not configured."""
    settings = config.irecist
    codes = {code: base for base, (code, _label) in IRECIST_PARAMETERS.items()}
    if settings is None or paramcd not in codes:
        return None
    start, sd, conf = config.start_date, config.sd_min_days, config.confirmation_min_days
    late = f"at least {sd} days after {start} (ADT >= {start} + {sd} days)"
    aval = "AVAL: " + ", ".join(f"{k} = {v}" for k, v in IRECIST_AVAL.items()) + "."
    used = f"the {IRECIST_PARAMETERS['OVR'][0]} assessments with ANL01FL = Y"
    base = codes[paramcd]
    if base == "OVR":
        return (f"iRECIST (Seymour et al., Lancet Oncol 2017) per assessment computed from "
                f"TU/TR, starting from RECIST 1.1 of criterion {settings.criterion}: {recist} "
                f"iRECIST: before any progression the RECIST response with the i prefix (iCR, "
                f"iPR, iSD, NON-iCR/NON-iUPD, NE); RECIST PD is iUPD, remembering the "
                f"categories causing it (target sum, non-target, new lesions). New lesions are "
                f"kept out of the original sum as new target lesions (measurable when first "
                f"seen: >= 10 mm, nodes >= 15 mm short axis; at most 5, 2 per organ TULOC, "
                f"largest first) and new non-target lesions. The first assessment at least "
                f"{settings.confirm_min_days} days after an iUPD confirms it (iCPD) by a further "
                f"increase in a causing category (target sum +5 mm or more vs the iUPD "
                f"assessment, non-target progression again, new-target sum +5 mm or more, more "
                f"new lesions, a new non-target lesion in unequivocal progression) or by "
                f"progression in a category that had not caused it; otherwise it stays iUPD "
                f"while RECIST still shows PD, else resets to the RECIST category (iCR, iPR, "
                f"iSD, NON-iCR/NON-iUPD) and a later PD is a new iUPD. Every assessment after "
                f"iCPD is iCPD. ANL01FL = Y when ADT >= ADSL.{start}; ANL02FL = Y up to and "
                f"including the first iCPD. {aval}")
    if base == "BOR":
        return (f"iRECIST best overall response without confirmation over {used}: each "
                f"assessment qualifies for iCR, iPR, iSD or NON-iCR/NON-iUPD (the latter two "
                f"only {late}; earlier they count as NE), iCPD (the iCPD and the iUPD assessments it "
                f"confirms), iUPD or NE; the best category (iCR > iPR > iSD > "
                f"NON-iCR/NON-iUPD > iCPD > iUPD > NE) wins, dated by its first assessment (a "
                f"confirmed progression by its first iUPD); subjects without assessment: "
                f"MISSING. {aval}")
    return (f"iRECIST best confirmed overall response over {used}: an iCR counts when a later "
            f"iCR at least {conf} days after it (ADT2 >= ADT1 + {conf}) follows with only iCR "
            f"or NE assessments up to it, an iPR when a later iCR or iPR at least {conf} days "
            f"after it follows with only iCR, iPR or NE up to it; an unconfirmed iCR or "
            f"iPR counts as iSD when {late}, else NE; iSD and NON-iCR/NON-iUPD need the same "
            f"window; then as the iRECIST best overall response (iCR > iPR > iSD > "
            f"NON-iCR/NON-iUPD > iCPD > iUPD > NE, dated by the first qualifying assessment; "
            f"MISSING without assessment). {aval}")
