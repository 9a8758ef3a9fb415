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
  sd_min_days``, iUPD, iCPD, NE, in that order; dated by its first assessment. **Confirmed
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

__all__ = ["compute_irecist_responses", "derive_irecist_records", "IRECIST_ORDER"]

IRECIST = "iRECIST"
I_OF = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "NON-CR/NON-PD": "NON-iCR/NON-iUPD", "NE": "NE"}
#: best first
IRECIST_ORDER = ["iCR", "iPR", "iSD", "NON-iCR/NON-iUPD", "iUPD", "iCPD", "NE"]


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
    ovr = responses.loc[responses["ABLFL"].ne("Y"), need[:1] + need[2:]].rename(
        columns={"IRESP": "AVALC"}).sort_values(["USUBJID", "ADT"], kind="stable")
    ovr = ovr.reset_index(drop=True)
    st = pd.to_datetime(ovr["USUBJID"].map(pd.Series(start)))
    late = ovr["ADT"] >= st + pd.Timedelta(days=sd_min_days)
    rank = {v: i for i, v in enumerate(IRECIST_ORDER)}

    def best(category: pd.Series, code: str) -> pd.DataFrame:
        c = category.map(rank)
        frame = ovr.assign(AVALC=category, _R=c).dropna(subset=["_R"])
        frame = frame.sort_values(["USUBJID", "_R", "ADT"], kind="stable")
        return frame.drop_duplicates("USUBJID").drop(columns="_R").assign(PARAMCD=code)

    sd_like = ovr["AVALC"].isin(["iSD", "NON-iCR/NON-iUPD"])
    bor_cat = ovr["AVALC"].where(~sd_like | late, "NE")
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
    cbor_cat = ovr["AVALC"].where(~crpr | conf, np.where(late, "iSD", "NE"))
    cbor_cat = cbor_cat.where(~sd_like | late, "NE")
    out = pd.concat([ovr.assign(PARAMCD="OVR"), best(bor_cat, "BOR"), best(cbor_cat, "CBOR")],
                    ignore_index=True)
    out["CRIT"] = IRECIST
    return out[["USUBJID", "PARAMCD", "CRIT", "AVALC", "ADT", "VISITNUM"]]
