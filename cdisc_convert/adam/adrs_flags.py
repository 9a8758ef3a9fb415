"""Record-level ADRS flags: ANL01FL, ANL02FL and the confirmation of CR/PR (admiralonco)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import filled

from .adrs_records import (RC_CR, RC_NE, RC_PD, RC_PR, RC_SD, criterion_keys, key_array,
                           pick_rows, require_columns, response_codes)

__all__ = ["derive_anl01fl", "derive_anl02fl", "flag_confirmed_responses", "confirmed_flags"]


def derive_anl01fl(frame: pd.DataFrame, *, start: str, end: str | None = None) -> pd.DataFrame:
    """ANL01FL: the assessments that count, one per subject, criterion and date.

    Rule (admiralonco ADRS template): eligible are records with a valid response (CR, PR, SD,
    NON-CR/NON-PD, PD, NE) and ``ADT >= start`` (and ``ADT < end`` when an end column, e.g. the
    start of new anticancer therapy, is given). Of several on one date the worst is kept,
    order of badness NE < CR < PR < SD < NON-CR/NON-PD < PD; ties go to the last SRCSEQ.
    """
    require_columns(frame, "derive_anl01fl", ["USUBJID", "ADT", "AVALC", start])
    out = frame.copy()
    rank = pd.Series(response_codes(out), index=out.index)
    ok = (rank >= 0) & out["ADT"].notna() & (out["ADT"] >= out[start])
    if end is not None and end in out.columns:
        ok &= out[end].isna() | (out["ADT"] < out[end])
    seq = pd.to_numeric(out["SRCSEQ"], errors="coerce").fillna(-np.inf).to_numpy() \
        if "SRCSEQ" in out.columns else np.zeros(len(out))
    keep = pick_rows(out, ok.to_numpy(), [*criterion_keys(out), "ADT"],
                      [rank.to_numpy(), seq], last=True)
    flag = filled(len(out), None)
    flag[keep] = "Y"
    out["ANL01FL"] = flag
    return out


def derive_anl02fl(frame: pd.DataFrame) -> pd.DataFrame:
    """ANL02FL: ANL01FL assessments up to and including the first PD (per subject and
    criterion); subjects without PD have all their ANL01FL assessments flagged."""
    require_columns(frame, "derive_anl02fl", ["USUBJID", "ADT", "AVALC", "ANL01FL"])
    out = frame.copy()
    idx = np.flatnonzero(out["ANL01FL"].eq("Y").to_numpy())
    flag = filled(len(out), None)
    if len(idx):
        gkeys = [key_array(out[g])[idx] for g in criterion_keys(out)]
        srt = np.lexsort([key_array(out["ADT"])[idx], *reversed(gkeys)])
        start_of_group = np.zeros(len(srt), dtype=bool)
        start_of_group[0] = True
        for k in gkeys:
            ks = k[srt]
            start_of_group[1:] |= ks[1:] != ks[:-1]
        is_pd = (response_codes(out)[idx][srt] == RC_PD).astype(np.int64)
        cum = np.cumsum(is_pd)
        group_id = np.cumsum(start_of_group) - 1
        offset = (cum - is_pd)[start_of_group][group_id]  # PD count before each group
        before = cum - is_pd - offset
        flag[idx[srt[before == 0]]] = "Y"
    out["ANL02FL"] = flag
    return out


def flag_confirmed_responses(ovr: pd.DataFrame, *, min_days: int = 28, max_ne: int = 1,
                             accept_sd_between: bool = False) -> pd.DataFrame:
    """Add booleans CONFCR / CONFPR: the assessment is a confirmed CR / PR.

    Rule (admiralonco ``cbor_cr`` / ``cbor_pr`` events): take the *first* later assessment
    that could confirm — a CR (for CR) or a CR/PR (for PR) with ``ADT >= ADT + min_days`` —
    and look at the assessments after this one up to and including it:

    * CR is confirmed when they are all CR or NE and at most ``max_ne`` are NE;
    * PR is confirmed when they are all CR, PR or NE (plus at most one SD when
      ``accept_sd_between``), at most ``max_ne`` are NE and no PR follows a CR among them.

    When that first candidate fails the conditions the response is not confirmed (a later
    candidate is not searched). Expects one assessment per subject and date (ANL01FL).
    """
    require_columns(ovr, "flag_confirmed_responses", ["USUBJID", "ADT", "AVALC"])
    by = criterion_keys(ovr)
    out = ovr.drop(columns=["CONFCR", "CONFPR"], errors="ignore")
    n = len(out)
    if n == 0:
        out["CONFCR"] = np.zeros(0, dtype=bool)
        out["CONFPR"] = np.zeros(0, dtype=bool)
        return out
    order = np.lexsort([key_array(out["ADT"]), *reversed([key_array(out[c]) for c in by])])
    f = out.iloc[order]
    rc = response_codes(f)
    is_cr, is_pr = rc == RC_CR, rc == RC_PR
    is_ne, is_sd = rc == RC_NE, rc == RC_SD
    pos = np.arange(n)
    c_ne = np.cumsum(is_ne)
    c_sd = np.cumsum(is_sd)
    c_bad_cr = np.cumsum(~(is_cr | is_ne))
    c_bad_pr = np.cumsum(~(is_cr | is_pr | is_ne | (is_sd & accept_sd_between)))
    big = n + 1
    next_cr = np.minimum.accumulate(np.where(is_cr, pos, big)[::-1])[::-1]
    next_cr_after = np.append(next_cr[1:], big)  # first CR strictly after each position
    last_pr = np.maximum.accumulate(np.where(is_pr, pos, -1))
    step = np.timedelta64(max(int(min_days), 1), "D")
    keys = f[by].reset_index(drop=True)
    frame = keys.assign(ADT=f["ADT"].to_numpy(), _pos=pos)
    dated = frame["ADT"].notna().to_numpy()

    def confirming(mask_left, mask_right):
        mask_left, mask_right = mask_left & dated, mask_right & dated
        left = frame[mask_left].assign(_target=lambda d: d["ADT"] + step)
        right = frame[mask_right][[*by, "ADT", "_pos"]].rename(
            columns={"ADT": "_target", "_pos": "_j"})
        if left.empty or right.empty:
            return np.full(n, -1)
        left = left.sort_values("_target", kind="stable")
        right = right.sort_values("_target", kind="stable")
        m = pd.merge_asof(left, right, on="_target", by=by, direction="forward",
                          allow_exact_matches=True)
        j = np.full(n, -1)
        ok = m["_j"].notna().to_numpy()
        j[m["_pos"].to_numpy()[ok]] = m["_j"].to_numpy()[ok].astype(int)
        return j

    j_cr = confirming(is_cr, is_cr)
    j_pr = confirming(is_pr, is_cr | is_pr)

    def window(cum, j):
        return np.where(j >= 0, cum[np.maximum(j, 0)] - cum, 0)

    conf_cr = is_cr & (j_cr >= 0) & (window(c_bad_cr, j_cr) == 0) & (window(c_ne, j_cr) <= max_ne)
    jp = np.maximum(j_pr, 0)
    pr_after_cr = (next_cr_after <= jp) & (last_pr[jp] > pos) & (next_cr_after < last_pr[jp])
    conf_pr = (is_pr & (j_pr >= 0) & (window(c_bad_pr, j_pr) == 0)
               & (window(c_ne, j_pr) <= max_ne)
               & (window(c_sd, j_pr) <= (1 if accept_sd_between else 0))
               & ~pr_after_cr)
    flags_cr = np.zeros(n, dtype=bool)
    flags_pr = np.zeros(n, dtype=bool)
    flags_cr[order], flags_pr[order] = conf_cr, conf_pr
    out["CONFCR"] = flags_cr
    out["CONFPR"] = flags_pr
    return out


def confirmed_flags(ovr: pd.DataFrame, min_days: int, max_ne: int, accept_sd_between: bool):
    """CONFCR/CONFPR as computed by :func:`flag_confirmed_responses` — reused when the frame
    already carries them (build_adrs computes them once per criterion with the same
    settings), computed otherwise."""
    if {"CONFCR", "CONFPR"} <= set(ovr.columns):
        return ovr
    return flag_confirmed_responses(ovr, min_days=min_days, max_ne=max_ne,
                                    accept_sd_between=accept_sd_between)

