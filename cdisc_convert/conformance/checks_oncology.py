"""Study-level oncology rules (ONC-*): lesions in TU/TR, responses in RS against
RECIST 1.1. Registered in :data:`.checks.CHECKS`."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.iso8601 import comparable_iso
from cdisc_convert.core.sasdates import to_sas_days
from cdisc_convert.standards.response import overall_response

from .study import (Study, concat, empty_findings, has, make_findings, record_keys,
                    rows_of, text, visit_key)

_YES = frozenset({"Y", "YES"})


# --------------------------------------------------------------------------------------
# Oncology
# --------------------------------------------------------------------------------------
def _eval_columns(a: pd.DataFrame, pa: str, b: pd.DataFrame, pb: str) -> tuple[list, list]:
    """Evaluator columns present in both datasets (--EVAL, --EVALID)."""
    ca, cb = [], []
    for suffix in ("EVAL", "EVALID"):
        if f"{pa}{suffix}" in a.columns and f"{pb}{suffix}" in b.columns:
            ca.append(f"{pa}{suffix}")
            cb.append(f"{pb}{suffix}")
    return ca, cb


def check_lesion_links(study: Study) -> pd.DataFrame:
    """ONC-LINK: TRLNKID (and RSLNKID) exist as TULNKID for the subject (and evaluator)."""
    tu = study.get("TU")
    parts = []
    for name in ("TR", "RS"):
        frame = study.get(name)
        var = f"{name}LNKID"
        if not has(frame, "USUBJID", var):
            continue
        link = text(frame, var)
        used = link != ""
        if not used.any():
            continue
        if not has(tu, "USUBJID", "TULNKID"):
            parts.append(make_findings(
                "ONC-LINK", name, variable=var,
                message=f"{name} links {int(used.sum())} record(s) to lesions ({var}) but the "
                        "folder has no TU dataset with TULNKID to identify them"))
            continue
        ea, eb = _eval_columns(frame, name, tu, "TU")
        known = set(record_keys(tu, ["USUBJID", "TULNKID"] + eb))
        keys = record_keys(frame, ["USUBJID", var] + ea)
        rows = rows_of(used & ~pd.Series(keys).isin(known).to_numpy())
        if rows.size:
            who = "" if not ea else " and evaluator"
            parts.append(make_findings(
                "ONC-LINK", name, rows=rows, variable=var, value=link[rows], frame=frame,
                message=f"{name} record " + (rows + 1).astype(str).astype(object) + f": {var} '"
                + link[rows] + "' of " + text(frame, "USUBJID")[rows]
                + f" is not a lesion of that subject{who} in TU (TULNKID)"))
    return concat(parts)


_MEASURES = frozenset({"LDIAM", "LPERP", "DIAMETER", "LONGDIAM", "SAXIS"})


def check_target_baseline(study: Study) -> pd.DataFrame:
    """ONC-TARGET-BASELINE: every TARGET lesion of TU has a baseline measurement in TR."""
    tu, tr = study.get("TU"), study.get("TR")
    if not has(tu, "USUBJID", "TULNKID", "TUSTRESC") or not has(tr, "USUBJID", "TRLNKID"):
        return empty_findings()
    target = text(tu, "TUSTRESC") == "TARGET"
    if "TUTESTCD" in tu.columns:
        target &= text(tu, "TUTESTCD") == "TUMIDENT"
    if not target.any():
        return empty_findings()
    ea, eb = _eval_columns(tr, "TR", tu, "TU")
    tr_keys = record_keys(tr, ["USUBJID", "TRLNKID"] + ea)
    result = (text(tr, "TRSTRESC") != "") | (text(tr, "TRORRES") != "")
    if "TRSTRESN" in tr.columns:
        result |= pd.to_numeric(tr["TRSTRESN"], errors="coerce").notna().to_numpy()
    measured = result & (text(tr, "TRSTAT") != "NOT DONE")
    if "TRTESTCD" in tr.columns:
        measured &= pd.Series(text(tr, "TRTESTCD")).isin(_MEASURES).to_numpy()
    if "TRLOBXFL" in tr.columns:
        baseline = text(tr, "TRLOBXFL") == "Y"
        how = "TRLOBXFL = Y"
    else:
        # without the flag: the lesion's first assessment (lowest VISITNUM, else date)
        order = pd.to_numeric(tr["VISITNUM"], errors="coerce") if "VISITNUM" in tr.columns \
            else pd.Series(comparable_iso(text(tr, "TRDTC")))
        first = pd.Series(order.to_numpy()).groupby(tr_keys).transform("min").to_numpy()
        baseline = order.to_numpy() == first
        how = "the lesion's first TR visit"
    ok = set(tr_keys[baseline & measured])
    tu_keys = record_keys(tu, ["USUBJID", "TULNKID"] + eb)
    rows = rows_of(target & ~pd.Series(tu_keys).isin(ok).to_numpy())
    if not rows.size:
        return empty_findings()
    return make_findings(
        "ONC-TARGET-BASELINE", "TU", rows=rows, variable="TULNKID", value=text(tu, "TULNKID")[rows],
        frame=tu, message="TU record " + (rows + 1).astype(str).astype(object)
        + ": target lesion " + text(tu, "TULNKID")[rows] + " of " + text(tu, "USUBJID")[rows]
        + f" has no measurement in TR at baseline ({how}, a diameter with a result)")


_RESPONSE_TESTS = {"OVRLRESP": "overall", "TRGRESP": "target", "NTRGRESP": "nontarget",
                   "NEWLPROG": "new", "NEWLIND": "new"}


def _response_table(rs: pd.DataFrame) -> pd.DataFrame | None:
    """RS responses side by side: one row per subject, criterion, evaluator and visit,
    with the row position of the OVRLRESP record."""
    if not has(rs, "USUBJID", "RSTESTCD", "RSSTRESC"):
        return None
    test = pd.Series(text(rs, "RSTESTCD")).map(_RESPONSE_TESTS)
    keep = test.notna().to_numpy()
    if not keep.any():
        return None
    key_cols = ["USUBJID", "RSCAT", "RSEVAL", "RSEVALID"]
    long = pd.DataFrame({
        "key": record_keys(rs, [c for c in key_cols if c in rs.columns])[keep],
        "visit": visit_key(rs, "RS")[keep],
        "test": test.to_numpy()[keep],
        "value": text(rs, "RSSTRESC")[keep],
        "pos": np.flatnonzero(keep),
    })
    wide = long.pivot_table(index=["key", "visit"], columns="test", values="value",
                            aggfunc="first")
    pos = long[long["test"] == "overall"].groupby(["key", "visit"])["pos"].first()
    wide = wide.join(pos, how="left")
    for col in ("overall", "target", "nontarget", "new"):
        if col not in wide.columns:
            wide[col] = np.nan
    return wide.reset_index()


def check_overall_response(study: Study) -> pd.DataFrame:
    """ONC-OVRL-PD (any progression => overall PD) and ONC-OVRL-RECIST (RECIST 1.1 table)."""
    rs = study.get("RS")
    wide = _response_table(rs)
    if wide is None:
        return empty_findings()
    wide = wide[wide["pos"].notna()]
    parts = []
    overall = wide["overall"].fillna("").astype(str)
    target = wide["target"].fillna("").astype(str)
    nontarget = wide["nontarget"].fillna("").astype(str)
    new = wide["new"].fillna("").astype(str)
    progression = new.isin(_YES) | (target == "PD") | (nontarget == "PD")
    bad = progression & (overall != "PD") & (overall != "")
    rows = wide.loc[bad, "pos"].to_numpy(dtype=np.int64)
    if rows.size:
        why = pd.DataFrame({
            "new": np.where(new[bad].isin(_YES), "NEWLPROG " + new[bad], ""),
            "target": np.where(target[bad] == "PD", "TRGRESP PD", ""),
            "nontarget": np.where(nontarget[bad] == "PD", "NTRGRESP PD", "")})
        why = why.apply(lambda r: ", ".join(x for x in r if x), axis=1).to_numpy(dtype=object)
        parts.append(make_findings(
            "ONC-OVRL-PD", "RS", rows=rows, variable="RSSTRESC", value=overall[bad].to_numpy(),
            frame=rs, message="RS record " + (rows + 1).astype(str).astype(object) + ": "
            + text(rs, "USUBJID")[rows] + " " + text(rs, "VISIT")[rows] + " ("
            + text(rs, "RSCAT")[rows] + "): overall response " + overall[bad].to_numpy()
            + " although " + why + " (progression in a component means overall PD)"))
    # RECIST 1.1 (Eisenhauer 2009, tables 1 and 2) for visits without progression
    recist = wide["key"].map(lambda k: "RECIST 1.1" in k.split("\x1f")).to_numpy(dtype=bool) \
        if "RSCAT" in rs.columns else np.zeros(len(wide), bool)
    no_target = target.isin(["", "NA", "N/A", "NOT APPLICABLE"])
    nt_none = nontarget.isin(["", "NA", "N/A", "NOT APPLICABLE"])
    # the one RECIST 1.1 table (specs/recist-1.1/overall_response.yaml); records without
    # any component response are not checked
    expected = overall_response(target, nontarget, progression).to_numpy(dtype=object)
    expected = np.where((no_target & nt_none).to_numpy(), "", expected)
    check = recist & ~progression.to_numpy() & (expected != "") & (overall != "").to_numpy() \
        & (new.isin(["N", "NO", ""]).to_numpy())
    bad = check & (overall.to_numpy() != expected)
    if bad.any():
        rows = wide.loc[bad, "pos"].to_numpy(dtype=np.int64)
        parts.append(make_findings(
            "ONC-OVRL-RECIST", "RS", rows=rows, variable="RSSTRESC",
            value=overall.to_numpy()[bad], frame=rs,
            message="RS record " + (rows + 1).astype(str).astype(object) + ": "
            + text(rs, "USUBJID")[rows] + " " + text(rs, "VISIT")[rows] + ": overall response "
            + overall.to_numpy()[bad] + " but RECIST 1.1 gives " + expected[bad].astype(object)
            + " for target " + np.where(target.to_numpy()[bad] == "", "(none)",
                                        target.to_numpy()[bad]).astype(object)
            + ", non-target " + np.where(nontarget.to_numpy()[bad] == "", "(none)",
                                         nontarget.to_numpy()[bad]).astype(object)
            + ", no new lesion"))
    return concat(parts)


def check_new_lesions(study: Study) -> pd.DataFrame:
    """ONC-NEW-LESION: the visit where a NEW lesion first appears (TU, or TR with
    TRGRPID = NEW) must have overall response PD in RS (every criterion, same evaluator)."""
    tu, tr, rs = study.get("TU"), study.get("TR"), study.get("RS")
    wide = _response_table(rs)
    if wide is None:
        return empty_findings()
    events = []
    if has(tu, "USUBJID", "TUSTRESC"):
        new = text(tu, "TUSTRESC") == "NEW"
        if "TUTESTCD" in tu.columns:
            new &= text(tu, "TUTESTCD") == "TUMIDENT"
        events.append(pd.DataFrame({
            "ds": "TU", "pos": np.flatnonzero(new), "subj": text(tu, "USUBJID")[new],
            "lesion": text(tu, "TULNKID")[new], "eval": text(tu, "TUEVAL")[new],
            "visit": visit_key(tu, "TU")[new], "label": text(tu, "VISIT")[new],
            "order": _order(tu, "TU")[new]}))
    if has(tr, "USUBJID", "TRGRPID"):
        new = text(tr, "TRGRPID") == "NEW"
        events.append(pd.DataFrame({
            "ds": "TR", "pos": np.flatnonzero(new), "subj": text(tr, "USUBJID")[new],
            "lesion": text(tr, "TRLNKID")[new], "eval": text(tr, "TREVAL")[new],
            "visit": visit_key(tr, "TR")[new], "label": text(tr, "VISIT")[new],
            "order": _order(tr, "TR")[new]}))
    events = [e for e in events if len(e)]
    if not events:
        return empty_findings()
    ev = pd.concat(events, ignore_index=True)
    # the first appearance of each new lesion (TU before TR on ties)
    ev = ev.sort_values(["subj", "eval", "lesion", "order", "ds"], kind="mergesort")
    ev = ev.drop_duplicates(["subj", "eval", "lesion"], keep="first")
    # overall responses by subject/evaluator/visit
    parts_key = pd.Series(wide["key"]).str.split("\x1f")
    cols = [c for c in ("USUBJID", "RSCAT", "RSEVAL", "RSEVALID") if c in rs.columns]
    resp = pd.DataFrame({c: parts_key.str[i] for i, c in enumerate(cols)})
    resp["visit"] = wide["visit"].to_numpy()
    resp["overall"] = wide["overall"].fillna("").astype(str).to_numpy()
    resp["pos"] = wide["pos"].to_numpy()
    resp = resp[resp["pos"].notna()]
    resp["eval"] = resp["RSEVAL"].astype(str) if "RSEVAL" in resp.columns else ""
    merged = ev.merge(resp, left_on=["subj", "visit"], right_on=["USUBJID", "visit"],
                      suffixes=("", "_rs"))
    same_eval = (merged["eval"] == merged["eval_rs"]) | (merged["eval"] == "") \
        | (merged["eval_rs"] == "")
    bad = merged[same_eval & (merged["overall"] != "PD") & (merged["overall"] != "")]
    if bad.empty:
        return empty_findings()
    bad = bad.drop_duplicates(["pos_rs"])
    rows = bad["pos_rs"].to_numpy(dtype=np.int64)
    crit = bad["RSCAT"].to_numpy(dtype=object) if "RSCAT" in bad.columns else \
        np.full(len(bad), "", object)
    return make_findings(
        "ONC-NEW-LESION", "RS", rows=rows, variable="RSSTRESC", value=bad["overall"].to_numpy(),
        frame=rs, message="RS record " + (rows + 1).astype(str).astype(object) + ": "
        + bad["subj"].to_numpy(dtype=object) + " " + bad["label"].to_numpy(dtype=object)
        + ": new lesion " + bad["lesion"].to_numpy(dtype=object) + " (" + bad["ds"].to_numpy(
            dtype=object) + ") first appears at this visit but the overall response ("
        + crit + ") is " + bad["overall"].to_numpy(dtype=object) + ", not PD")


def _order(frame: pd.DataFrame, pre: str) -> np.ndarray:
    """A sortable visit order: VISITNUM, else the --DTC date as a number of days."""
    if "VISITNUM" in frame.columns:
        v = pd.to_numeric(frame["VISITNUM"], errors="coerce").to_numpy(dtype="float64")
        if not np.isnan(v).all():
            return v
    dates = pd.to_datetime(pd.Series(comparable_iso(text(frame, f"{pre}DTC"))).str.slice(0, 10),
                           errors="coerce", format="%Y-%m-%d")
    return to_sas_days(dates).to_numpy(dtype="float64")
