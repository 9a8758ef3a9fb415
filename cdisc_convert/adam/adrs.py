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

from typing import Collection, Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError, SpecError

from .adsl import get_domain
from .config import AdamConfig, ResponseCriterion
from .imputation import derive_vars_dt
from .irecist import IRECIST, IRECIST_AVAL, IRECIST_PARAMETERS, derive_irecist_records
from cdisc_convert.core.arrays import filled

__all__ = [
    "RESPONSE_AVAL",
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

RESPONSE_AVAL = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}
YN_AVAL = {"Y": 1, "N": 0}
# order of badness used to keep one assessment per date (higher = worse)
WORST_ORDER = {"NE": 0, "CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5}
VALID_RESPONSES = tuple(WORST_ORDER)
_CATEGORY = {1: "CR", 2: "PR", 3: "SD", 4: "NON-CR/NON-PD", 5: "PD", 6: "NE"}

VISIT_COLUMNS = ["USUBJID", "CRIT", "ADT", "ADTF", "VISIT", "VISITNUM", "AVALC", "SRCDOM", "SRCSEQ"]
OUT_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3",
               "AVALC", "AVAL", "ADT", "ADTF", "AVISIT", "VISIT", "VISITNUM", "ANL01FL", "ANL02FL",
               "SRCDOM", "SRCSEQ"]
_CARRY = ["ADT", "ADTF", "AVISIT", "VISIT", "VISITNUM", "ANL02FL", "SRCDOM", "SRCSEQ"]
_DAY = np.timedelta64(1, "D")


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
        keep &= _normalise_text(rs["RSTESTCD"]) == resp.testcd.upper()
    if resp.evaluator and "RSEVAL" in rs.columns:
        keep &= _normalise_text(rs["RSEVAL"]) == resp.evaluator.upper()
    rs = rs[keep]
    by_cat = {c.rscat.upper(): c.name for c in resp.criteria}
    if "RSCAT" in rs.columns:
        rscat = pd.Series(_normalise_text(rs["RSCAT"]), dtype=object)
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
    avalc = pd.Series(_normalise_text(rs["RSSTRESC"]) if "RSSTRESC" in rs.columns
                      else filled(len(rs), None), index=rs.index, dtype=object)
    if "RSORRES" in rs.columns:
        blank = (avalc.isna() | (avalc == "")).to_numpy()
        avalc[blank] = _normalise_text(rs["RSORRES"])[blank]
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
    for crit in config.response.criteria:
        rules = crit.response_rules(**by_reader)
        try:
            computed[crit.name] = tumr.compute_visit_responses(tu, tr, crit.name, rules,
                                                               treatment_start=start)
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
            "ADT": pd.to_datetime(out["ADT"]).to_numpy(),
            "ADTF": out["ADTF"].replace("", None).to_numpy(dtype=object),
            "VISIT": out["VISIT"].to_numpy(), "VISITNUM": out["VISITNUM"].to_numpy(dtype=float),
            "AVALC": out["AVALC"].to_numpy(dtype=object), "SRCDOM": "TR", "SRCSEQ": np.nan}))
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty_visits()
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
        return _empty_visits()
    tu, tr = get_domain(sdtm, "TU"), get_domain(sdtm, "TR")
    if tu is None or tr is None:
        return _empty_visits()
    return visit_responses_from_tr(tu, tr, adsl, config, computed=computed)


def _normalise_text(values: pd.Series) -> np.ndarray:
    """Stripped upper-case text (object array, None for missing); each distinct value once."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    norm = pd.Series(uniques, dtype=object).astype(str).str.strip().str.upper()
    norm = norm.to_numpy(dtype=object)
    out = filled(len(codes), None)
    ok = codes >= 0
    out[ok] = norm[codes[ok]]
    return out


def _empty_visits() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in ["STUDYID", *VISIT_COLUMNS]})
    out["ADT"] = out["ADT"].astype("datetime64[ns]")
    out["VISITNUM"] = out["VISITNUM"].astype(float)
    out["SRCSEQ"] = out["SRCSEQ"].astype(float)
    return out


# -- record-level flags -------------------------------------------------------------------------

_NE, _CR, _PR, _SD, _NON, _PD = (WORST_ORDER[k] for k in VALID_RESPONSES)


def _rc(frame: pd.DataFrame) -> np.ndarray:
    """Response codes (NE 0, CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, other -1) of AVALC
    (each distinct value mapped once)."""
    codes, uniques = pd.factorize(frame["AVALC"].to_numpy(dtype=object))
    mapped = np.array([WORST_ORDER.get(u, -1) for u in uniques], dtype=np.int8)
    return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else -1,
                    -1).astype(np.int8)


def _skey(frame: pd.DataFrame) -> str:
    return "USUBJID"


def _by(frame: pd.DataFrame) -> list[str]:
    """Subject and criterion keys: USUBJID, and CRIT when the frame has it."""
    return ["USUBJID", *(["CRIT"] if "CRIT" in frame.columns else [])]


def _key_array(values: pd.Series) -> np.ndarray:
    """An integer array that sorts and groups like ``values`` (a categorical's codes: the
    order of its categories, e.g. ADSL order for USUBJID in :func:`build_adrs`)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64)
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.to_numpy(dtype=np.int64)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        return np.where(np.isnan(arr), np.inf, arr)
    return pd.factorize(values, sort=True)[0]


def _is_sorted(keys: list[np.ndarray]) -> bool:
    """Whether rows are already in lexicographic order of ``keys``."""
    n = len(keys[0])
    if n < 2:
        return True
    undecided = np.ones(n - 1, dtype=bool)
    for k in keys:
        a, b = k[:-1], k[1:]
        if np.any(undecided & (a > b)):
            return False
        undecided &= a == b
    return True


def _pick_rows(frame: pd.DataFrame, mask, group: list[str], order: list, *,
               last: bool = False) -> np.ndarray:
    """Positions (iloc) of the first (or last) row per ``group`` among rows where ``mask``,
    rows ordered by ``order`` (column names or arrays aligned with ``frame``)."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(idx) == 0:
        return idx
    gkeys = [_key_array(frame[g])[idx] for g in group]
    okeys = [(_key_array(frame[o]) if isinstance(o, str) else np.asarray(o))[idx] for o in order]
    keys = [*gkeys, *okeys]
    if _is_sorted(keys):
        srt = np.arange(len(idx))
    else:
        srt = np.lexsort(list(reversed(keys)))
    g_sorted = [k[srt] for k in gkeys]
    change = np.zeros(len(srt), dtype=bool)
    for k in g_sorted:
        change[1:] |= k[1:] != k[:-1]
    if last:
        ends = np.r_[np.flatnonzero(change[1:]), len(srt) - 1]
        return idx[srt[ends]]
    change[0] = True
    return idx[srt[change]]


def derive_anl01fl(frame: pd.DataFrame, *, start: str, end: str | None = None) -> pd.DataFrame:
    """ANL01FL: the assessments that count, one per subject, criterion and date.

    Rule (admiralonco ADRS template): eligible are records with a valid response (CR, PR, SD,
    NON-CR/NON-PD, PD, NE) and ``ADT >= start`` (and ``ADT < end`` when an end column, e.g. the
    start of new anticancer therapy, is given). Of several on one date the worst is kept,
    order of badness NE < CR < PR < SD < NON-CR/NON-PD < PD; ties go to the last SRCSEQ.
    """
    _require_columns(frame, "derive_anl01fl", ["USUBJID", "ADT", "AVALC", start])
    out = frame.copy()
    rank = pd.Series(_rc(out), index=out.index)
    ok = (rank >= 0) & out["ADT"].notna() & (out["ADT"] >= out[start])
    if end is not None and end in out.columns:
        ok &= out[end].isna() | (out["ADT"] < out[end])
    seq = pd.to_numeric(out["SRCSEQ"], errors="coerce").fillna(-np.inf).to_numpy() \
        if "SRCSEQ" in out.columns else np.zeros(len(out))
    keep = _pick_rows(out, ok.to_numpy(), [*_by(out), "ADT"],
                      [rank.to_numpy(), seq], last=True)
    flag = filled(len(out), None)
    flag[keep] = "Y"
    out["ANL01FL"] = flag
    return out


def derive_anl02fl(frame: pd.DataFrame) -> pd.DataFrame:
    """ANL02FL: ANL01FL assessments up to and including the first PD (per subject and
    criterion); subjects without PD have all their ANL01FL assessments flagged."""
    _require_columns(frame, "derive_anl02fl", ["USUBJID", "ADT", "AVALC", "ANL01FL"])
    out = frame.copy()
    idx = np.flatnonzero(out["ANL01FL"].eq("Y").to_numpy())
    flag = filled(len(out), None)
    if len(idx):
        gkeys = [_key_array(out[g])[idx] for g in _by(out)]
        srt = np.lexsort([_key_array(out["ADT"])[idx], *reversed(gkeys)])
        start_of_group = np.zeros(len(srt), dtype=bool)
        start_of_group[0] = True
        for k in gkeys:
            ks = k[srt]
            start_of_group[1:] |= ks[1:] != ks[:-1]
        is_pd = (_rc(out)[idx][srt] == _PD).astype(np.int64)
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
    _require_columns(ovr, "flag_confirmed_responses", ["USUBJID", "ADT", "AVALC"])
    by = _by(ovr)
    out = ovr.drop(columns=["CONFCR", "CONFPR"], errors="ignore")
    n = len(out)
    if n == 0:
        out["CONFCR"] = np.zeros(0, dtype=bool)
        out["CONFPR"] = np.zeros(0, dtype=bool)
        return out
    order = np.lexsort([_key_array(out["ADT"]), *reversed([_key_array(out[c]) for c in by])])
    f = out.iloc[order]
    rc = _rc(f)
    is_cr, is_pr = rc == _CR, rc == _PR
    is_ne, is_sd = rc == _NE, rc == _SD
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


def _confirmed(ovr: pd.DataFrame, min_days: int, max_ne: int, accept_sd_between: bool):
    """CONFCR/CONFPR as computed by :func:`flag_confirmed_responses` — reused when the frame
    already carries them (build_adrs computes them once per criterion with the same
    settings), computed otherwise."""
    if {"CONFCR", "CONFPR"} <= set(ovr.columns):
        return ovr
    return flag_confirmed_responses(ovr, min_days=min_days, max_ne=max_ne,
                                    accept_sd_between=accept_sd_between)


# -- parameter records --------------------------------------------------------------------------

def _subjects(adsl: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ["STUDYID", "USUBJID"] if c in adsl.columns]
    return adsl[cols].drop_duplicates("USUBJID").reset_index(drop=True)


def _positions(rows: pd.DataFrame, subjects: pd.DataFrame) -> np.ndarray:
    """Row positions of ``rows``' subjects in ``subjects`` (-1 when absent)."""
    ids = rows["USUBJID"]
    if isinstance(ids.dtype, pd.CategoricalDtype) and \
            ids.cat.categories.equals(pd.Index(subjects["USUBJID"])):
        return ids.cat.codes.to_numpy(dtype=np.int64)  # same answer, without hashing text
    return pd.Index(subjects["USUBJID"]).get_indexer(ids.to_numpy(dtype=object))


def _param_records(adsl: pd.DataFrame, picked: pd.DataFrame, *, missing_value: str | None,
                   set_values: Mapping[str, object], coding: Mapping[str, int]) -> pd.DataFrame:
    """One record per ADSL subject: ``picked`` (USUBJID, AVALC and the source record's
    ADT, VISIT ...) where present, else AVALC ``missing_value`` without a date."""
    subjects = _subjects(adsl)
    n = len(subjects)
    pos = _positions(picked, subjects)
    ok = pos >= 0
    pos = pos[ok]
    data: dict[str, object] = {
        "STUDYID": subjects["STUDYID"].to_numpy() if "STUDYID" in subjects.columns else None,
        "USUBJID": subjects["USUBJID"].to_numpy()}
    avalc = filled(n, missing_value)
    avalc[pos] = picked["AVALC"].to_numpy(dtype=object)[ok]
    for key, value in set_values.items():
        data[key] = value
    data["AVALC"] = avalc
    data["AVAL"] = pd.Series(avalc).map(coding).to_numpy(dtype=float)
    for col in _CARRY:
        if col == "ADT":
            arr = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        elif col in ("VISITNUM", "SRCSEQ"):
            arr = np.full(n, np.nan)
        else:
            arr = filled(n, None)
        if col in picked.columns:
            arr[pos] = picked[col].to_numpy()[ok]
        data[col] = arr
    data["ANL01FL"] = "Y"
    out = pd.DataFrame(data, copy=False)
    for col in OUT_COLUMNS:
        if col not in out.columns:
            out[col] = None
    return out[OUT_COLUMNS]


def _carry_source(rows: pd.DataFrame) -> pd.DataFrame:
    if "AVISIT" not in rows.columns and "VISIT" in rows.columns:
        rows = rows.assign(AVISIT=rows["VISIT"])
    return rows


_PICK_COLUMNS = ["USUBJID", "AVALC", *_CARRY]


def _late(ovr: pd.DataFrame, start: str, days: int) -> np.ndarray:
    return (ovr["ADT"] >= ovr[start] + days * _DAY).to_numpy()


def _best_by_category(ovr: pd.DataFrame, category: np.ndarray) -> pd.DataFrame:
    """Per subject the row with the lowest category, earliest ADT among those."""
    rows = _carry_source(ovr)
    cat = np.asarray(category)
    pos = _pick_rows(rows, cat < 99, [_skey(rows)], [cat, "ADT"])
    picked = rows.iloc[pos][[c for c in _PICK_COLUMNS if c in rows.columns]]
    return picked.assign(AVALC=pd.Series(cat[pos]).map(_CATEGORY).to_numpy())


def _first_where(ovr: pd.DataFrame, mask, value: str | None = "Y", *,
                 last: bool = False) -> pd.DataFrame:
    """Per subject the first (or last) row by ADT among rows where ``mask``; AVALC set to
    ``value`` unless None."""
    rows = _carry_source(ovr)
    pos = _pick_rows(rows, mask, [_skey(rows)], ["ADT"], last=last)
    picked = rows.iloc[pos][[c for c in _PICK_COLUMNS if c in rows.columns]]
    if value is not None:
        picked = picked.assign(AVALC=value)
    return picked


def derive_param_ovr(visits: pd.DataFrame, *, set_values: Mapping[str, object]) -> pd.DataFrame:
    """The assessment records themselves as parameter OVR (AVAL coded CR 1 ... NE 6)."""
    _require_columns(visits, "derive_param_ovr", ["USUBJID", "AVALC"])
    rows = _carry_source(visits)
    out = rows.assign(AVAL=rows["AVALC"].map(RESPONSE_AVAL).astype(float))
    for key, value in set_values.items():
        out[key] = value
    for col in OUT_COLUMNS:
        if col not in out.columns:
            out[col] = None
    return out[OUT_COLUMNS]


def derive_param_bor(ovr: pd.DataFrame, adsl: pd.DataFrame, *, start: str, sd_min_days: int = 42,
                     set_values: Mapping[str, object]) -> pd.DataFrame:
    """Best overall response without confirmation (admiralonco ``bor_*`` events).

    Each assessment qualifies for the best of: CR (CR), PR (PR), SD (CR/PR/SD with
    ``ADT >= start + sd_min_days``), NON-CR/NON-PD (same window), PD, NE (any CR, PR, SD,
    NON-CR/NON-PD or NE, i.e. also too-early SD). The subject's BOR is the best category
    over its assessments, dated by the first assessment qualifying for it; subjects without
    assessments get ``MISSING``.
    """
    _require_columns(ovr, "derive_param_bor", ["USUBJID", "ADT", "AVALC", start])
    _require_columns(adsl, "derive_param_bor", ["USUBJID"])
    rc = _rc(ovr)
    late = _late(ovr, start, sd_min_days)
    cat = np.select(
        [rc == _CR, rc == _PR, (rc == _SD) & late, (rc == _NON) & late, rc == _PD,
         np.isin(rc, [_SD, _NON, _NE])],
        [1, 2, 3, 4, 5, 6], 99)
    picked = _best_by_category(ovr, cat)
    return _param_records(adsl, picked, missing_value="MISSING", set_values=set_values,
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
    _require_columns(ovr, "derive_param_confirmed_bor", ["USUBJID", "ADT", "AVALC", start])
    _require_columns(adsl, "derive_param_confirmed_bor", ["USUBJID"])
    conf = _confirmed(ovr, confirmation_min_days, max_ne_between, accept_sd_between)
    rc = _rc(conf)
    late = _late(conf, start, sd_min_days)
    crpr = (rc == _CR) | (rc == _PR)
    nt_only = conf["USUBJID"].isin(list(nontarget_only)).to_numpy()
    sd_like = (rc == _SD) | (crpr & accept_sd_for_unconfirmed)
    cat = np.select(
        [(rc == _CR) & conf["CONFCR"].to_numpy(), (rc == _PR) & conf["CONFPR"].to_numpy(),
         sd_like & late & ~nt_only, (sd_like & nt_only | (rc == _NON)) & late, rc == _PD,
         rc >= 0],
        [1, 2, 3, 4, 5, 6], 99)
    picked = _best_by_category(conf, cat)
    return _param_records(adsl, picked, missing_value="MISSING", set_values=set_values,
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
    _require_columns(ovr, "derive_param_response", ["USUBJID", "ADT", "AVALC"])
    _require_columns(adsl, "derive_param_response", ["USUBJID"])
    if confirmed:
        conf = _confirmed(ovr, confirmation_min_days, max_ne_between, accept_sd_between)
        picked = _first_where(conf, (conf["CONFCR"] | conf["CONFPR"]).to_numpy())
    else:
        rc = _rc(ovr)
        picked = _first_where(ovr, (rc == _CR) | (rc == _PR))
    return _param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


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
    _require_columns(ovr, "derive_param_clinbenefit", ["USUBJID", "ADT", "AVALC", start])
    _require_columns(adsl, "derive_param_clinbenefit", ["USUBJID"])
    rc = _rc(ovr)
    crpr = (rc == _CR) | (rc == _PR)
    late = _late(ovr, start, sd_min_days)
    if confirmed:
        conf = _confirmed(ovr, confirmation_min_days, max_ne_between, accept_sd_between)
        response = (conf["CONFCR"] | conf["CONFPR"]).to_numpy()
        stable = (rc == _SD) | (rc == _NON) | (crpr & accept_sd_for_unconfirmed)
    else:
        response = crpr
        stable = crpr | (rc == _SD) | (rc == _NON)
    picked = _first_where(ovr, response | (stable & late))
    return _param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_best_crpr(bor_records: pd.DataFrame, *, set_values: Mapping[str, object],
                           ) -> pd.DataFrame:
    """Best (confirmed) overall response of CR/PR (BCP from BOR, CBCP from CBOR): ``Y`` with the
    BOR record's date when it is CR or PR, else ``N`` without a date."""
    _require_columns(bor_records, "derive_param_best_crpr", ["USUBJID", "AVALC"])
    yes = bor_records["AVALC"].isin(["CR", "PR"])
    out = bor_records.copy()
    out["AVALC"] = np.where(yes, "Y", "N")
    out["AVAL"] = np.where(yes, 1.0, 0.0)
    for col in _CARRY:
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
    _require_columns(ovr, "derive_param_dcr", ["USUBJID", "ADT", "AVALC", start])
    _require_columns(adsl, "derive_param_dcr", ["USUBJID"])
    rows = ovr.copy()
    threshold = rows[start] + (landmark_days - window_days) * _DAY
    key = _skey(rows)
    pd_dates = rows.loc[_rc(rows) == _PD].groupby(key, observed=True)["ADT"].min()
    first = _first_where(rows, (rows["ADT"] >= threshold).to_numpy(), value=None)
    first_pd = first[key].map(pd_dates)
    if death_date in adsl.columns:
        subjects = adsl.drop_duplicates("USUBJID").reset_index(drop=True)
        dth = subjects[death_date].to_numpy()
        pos = _positions(first, subjects)
        death = pd.Series(np.where(pos >= 0, dth[np.maximum(pos, 0)], np.datetime64("NaT")),
                          index=first.index).astype("datetime64[ns]")
    else:
        death = pd.Series(pd.NaT, index=first.index)
    ok = (first["AVALC"].isin(["CR", "PR", "SD", "NON-CR/NON-PD"])
          & (first_pd.isna() | (first_pd >= first["ADT"]))
          & (death.isna() | (death >= first["ADT"])))
    picked = first[ok.to_numpy()].assign(AVALC="Y")
    return _param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_first_pd(ovr: pd.DataFrame, adsl: pd.DataFrame, *,
                          set_values: Mapping[str, object]) -> pd.DataFrame:
    """Disease progression (PD): ``Y`` dated by the first PD assessment, else ``N``."""
    _require_columns(ovr, "derive_param_first_pd", ["USUBJID", "ADT", "AVALC"])
    _require_columns(adsl, "derive_param_first_pd", ["USUBJID"])
    picked = _first_where(ovr, _rc(ovr) == _PD)
    return _param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


def derive_param_last_assessment(anl01: pd.DataFrame, adsl: pd.DataFrame, *,
                                 set_values: Mapping[str, object]) -> pd.DataFrame:
    """Last disease assessment (LSTA, admiralonco ``derive_param_lasta``): the last ANL01FL
    assessment (also after PD), its response as AVALC; no assessment gives a record without
    AVALC and date."""
    _require_columns(anl01, "derive_param_last_assessment", ["USUBJID", "ADT", "AVALC"])
    _require_columns(adsl, "derive_param_last_assessment", ["USUBJID"])
    picked = _first_where(anl01, np.ones(len(anl01), dtype=bool), value=None, last=True)
    return _param_records(adsl, picked, missing_value=None, set_values=set_values,
                          coding=RESPONSE_AVAL)


def derive_param_death(adsl: pd.DataFrame, *, death_date: str = "DTHDT",
                       set_values: Mapping[str, object]) -> pd.DataFrame:
    """Death (DEATH): ``Y`` dated by ADSL ``death_date`` (source ADSL), else ``N``."""
    _require_columns(adsl, "derive_param_death", ["USUBJID"])
    dead = adsl[adsl[death_date].notna()] if death_date in adsl.columns else adsl.iloc[0:0]
    picked = pd.DataFrame({"USUBJID": dead["USUBJID"].to_numpy(), "AVALC": "Y",
                           "ADT": dead[death_date].to_numpy() if len(dead) else
                           np.array([], dtype="datetime64[ns]"),
                           "SRCDOM": "ADSL"})
    return _param_records(adsl, picked, missing_value="N", set_values=set_values, coding=YN_AVAL)


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
    _require_columns(responses, "derive_params_irecist",
                     ["USUBJID", "ABLFL", "IRESP", "ADT", "VISITNUM"])
    _require_columns(adsl, "derive_params_irecist", ["USUBJID", start])
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
        for col in OUT_COLUMNS:
            if col not in rows.columns:
                rows[col] = None
        parts.append(rows[OUT_COLUMNS])
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
            parts.append(_param_records(subjects, picked, missing_value="MISSING",
                                        set_values=labels[base], coding=IRECIST_AVAL))
    return parts


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
    _require_columns(visits, "nontarget_only_subjects", ["USUBJID", "AVALC"])
    return set(visits.loc[visits["AVALC"].eq("NON-CR/NON-PD").to_numpy(), "USUBJID"])


def _require_columns(frame: pd.DataFrame, function: str, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{function}: input lacks required variable {missing[0]}",
                         variable=missing[0], rule=f"adrs.{function}")


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
    visits["ADT"] = pd.to_datetime(visits["ADT"])
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
    visits["AVALC"] = _normalise_text(visits["AVALC"])
    order = np.lexsort((_key_array(pd.to_numeric(visits["SRCSEQ"], errors="coerce")),
                        _key_array(pd.to_numeric(visits["VISITNUM"], errors="coerce")),
                        _key_array(visits["ADT"]), _key_array(visits["CRIT"]), sid))
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
    cols = {c: _column(parts, c) for c in OUT_COLUMNS if c not in constant}
    rank = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    sids = np.concatenate([_positions(p, subjects) for p in parts]).astype(np.int64)
    order = np.argsort(sids * len(parts) + rank, kind="stable")
    rank_sorted = rank[order]
    for c in constant:
        per_part = np.empty(len(parts), dtype=object)
        per_part[:] = [p[c].iat[0] for p in parts]
        cols[c] = per_part
    sorted_cols = {c: cols[c][rank_sorted] if c in constant else cols[c][order]
                   for c in OUT_COLUMNS}
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
