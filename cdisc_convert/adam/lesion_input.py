"""TU/TR read for tumour response: the evaluator filter, coded identifiers, the canonical
TR/TU columns, dates, split/merged lesion links, the lesion table, the assessments and the
baseline (the rules: :mod:`cdisc_convert.adam.tumor_response`)."""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import combine_codes
from cdisc_convert.core.errors import InputError
from cdisc_convert.core.iso8601 import date_precision

from .groups import factorize
from .response_rules import (KEYS, STATE_ABSENT, STATE_NOT_EVALUATED, STATE_PRESENT,
                             STATE_PROGRESSION, ResponseRules)

__all__ = ["require_input", "text_of", "number_of", "concat_frames", "filter_mask",
           "encode_pair", "derive_dates", "prepare_tr", "prepare_tu", "derive_state_rank",
           "key_positions", "RecordPositions", "record_positions",
           "derive_lesion_links", "apply_lesion_links", "derive_lesion_table",
           "derive_assessments", "derive_baseline", "PreparedLesions", "prepare_lesions", "same_preparation",
           "RESPONSE_ONLY_RULES"]


def require_input(df: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{name} lacks required column(s) {', '.join(missing)}",
                         dataset=name, variable=missing[0], rule="tumor_response.columns")



def _per_unique(values: pd.Series, func, categorical: bool = False) -> pd.Series:
    """Apply a vectorised string ``func`` to the distinct values only, then map back (TR
    columns such as TRTESTCD or TRDTC repeat a few thousand values over millions of rows).
    ``categorical=True`` returns a categorical Series (fast comparisons on millions of rows)."""
    codes, uniques = factorize(values, use_na_sentinel=False)
    done = pd.Categorical(np.asarray(func(pd.Series(uniques, dtype=object)), dtype=object))
    if categorical:
        return pd.Series(pd.Categorical.from_codes(done.codes[codes], done.categories),
                         index=values.index)
    return pd.Series(np.asarray(done.astype(object))[codes], index=values.index)


def _clean(u: pd.Series) -> pd.Series:
    return u.fillna("").astype(str).str.strip().str.upper()


def text_of(df: pd.DataFrame, column: str, categorical: bool = False) -> pd.Series:
    """Upper-cased, stripped text of ``column`` ("" when missing or absent)."""
    if column not in df.columns:
        return pd.Series("", index=df.index, dtype="category" if categorical else object)
    return _per_unique(df[column], _clean, categorical)


def _raw_text(df: pd.DataFrame, column: str) -> pd.Series:
    """Text of ``column`` as is ("" when missing or absent), categorical."""
    if column not in df.columns:
        return pd.Series("", index=df.index, dtype="category")
    return _per_unique(df[column], lambda u: u.fillna("").astype(str), categorical=True)


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` of the non-empty frames (keeps dtypes; pandas warns about empty ones)."""
    kept = [f for f in frames if len(f)]
    return pd.concat(kept or frames[:1], ignore_index=True)


def number_of(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[column], errors="coerce").astype(float)


def filter_mask(df: pd.DataFrame, rules: ResponseRules, domain: str) -> np.ndarray:
    """Rows of ``df`` matching ``rules.evaluator_filter`` (TR names; their TU twins)."""
    mask = np.ones(len(df), dtype=bool)
    for column, wanted in (rules.evaluator_filter or {}).items():
        name = column if domain == "TR" else ("TU" + column[2:] if column.startswith("TR")
                                              else column)
        if name not in df.columns:
            if domain == "TR":
                raise InputError(f"evaluator filter column {column} is not in TR",
                                 dataset="TR", variable=column, rule="tumor_response.filter")
            continue
        values = [wanted] if isinstance(wanted, str) else list(wanted)
        mask &= text_of(df, name).isin([str(v).strip().upper() for v in values]).to_numpy()
    return mask


def encode_pair(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Integer codes of two identifier columns over one shared vocabulary of stripped text
    (merging and grouping on integers is several times faster than on strings)."""
    def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
        codes, uniques = factorize(values, use_na_sentinel=False)
        cleaned = pd.Series(uniques, dtype=object).fillna("").astype(str).str.strip()
        recode, vocab = pd.factorize(cleaned)
        return recode[codes], pd.Index(vocab, dtype=object)

    ca, va = codes_of(a)
    cb, vb = codes_of(b)
    vocab = va.append(vb).unique()
    return (vocab.get_indexer(va)[ca] if len(ca) else ca.astype(np.int64),
            vocab.get_indexer(vb)[cb] if len(cb) else cb.astype(np.int64), vocab)


def derive_dates(dtc: pd.Series, imputation: str | None) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 ``--DTC`` text -> (date, imputation flag).

    Rule: a complete date (``YYYY-MM-DD``, any time part ignored) is used as is (flag "");
    ``YYYY-MM`` is imputed to the last (or first) day of the month (flag "D"); ``YYYY`` to
    the last (or first) day of the year (flag "M"); anything else (what is not a legal
    right-truncated --DTC value, :func:`~cdisc_convert.core.iso8601.date_precision`), or
    ``imputation=None`` for a partial date, gives NaT.
    """
    codes, uniques = factorize(dtc, use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).fillna("").astype(str).str.strip()
    precision = date_precision(text)
    full, month, year = precision.eq(3), precision.eq(2), precision.eq(1)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    flag = pd.Series("", index=text.index, dtype=object)
    out[full] = pd.to_datetime(text[full].str[:10], format="%Y-%m-%d", errors="coerce")
    if imputation is not None:
        first_m = pd.to_datetime(text[month] + "-01", format="%Y-%m-%d", errors="coerce")
        first_y = pd.to_datetime(text[year] + "-01-01", format="%Y-%m-%d", errors="coerce")
        if imputation == "last":
            first_m = first_m + pd.offsets.MonthEnd(0)
            first_y = first_y + pd.offsets.YearEnd(0)
        out[month] = first_m
        out[year] = first_y
        flag[month] = "D"
        flag[year] = "M"
    return (pd.Series(out.to_numpy()[codes], index=dtc.index),
            pd.Series(flag.to_numpy()[codes], index=dtc.index))


def prepare_tr(tr: pd.DataFrame, subj: np.ndarray, lnk: np.ndarray,
                rules: ResponseRules) -> pd.DataFrame:
    """TR reduced to the canonical columns used below (one row per TR record); ``USUBJID``
    and ``LNKID`` are integer codes (see :func:`encode_pair`)."""
    value = number_of(tr, "TRSTRESN")
    # TRSTRESC matters only where there is no number (TUMSTATE, "TOO SMALL TO MEASURE")
    state = pd.Series("", index=tr.index, dtype=object)
    no_number = value.isna()
    # only the column read, not the whole TR frame, is copied for the rows without a number
    state[no_number] = text_of(tr[[c for c in ("TRSTRESC",) if c in tr.columns]].loc[no_number],
                               "TRSTRESC")
    if rules.too_small_mm is not None:
        value = value.mask(value.isna() & state.eq("TOO SMALL TO MEASURE"), rules.too_small_mm)
    # categorical: the comparisons below compare a few codes, not every record's string
    testcd = text_of(tr, "TRTESTCD", categorical=True)
    nodal_test = testcd.eq("LNSTATE").to_numpy()
    # every lesion-state test (TUMSTATE, LNSTATE ...) is read as one state
    state_test = testcd.isin([str(t).upper() for t in rules.state_testcds]).to_numpy()
    testcd = np.where(state_test, "TUMSTATE", testcd.to_numpy(dtype=object))
    date, flag = derive_dates(tr["TRDTC"] if "TRDTC" in tr.columns
                              else pd.Series("", index=tr.index), rules.date_imputation)
    out = pd.DataFrame({
        "USUBJID": subj,
        "LNKID": lnk,
        "TESTCD": pd.Categorical(testcd),
        "NODALTEST": nodal_test,
        "VALUE": value.to_numpy(),
        "STATE": pd.Categorical(state.to_numpy()),
        "VISITNUM": number_of(tr, "VISITNUM").to_numpy(),
        "VISIT": _raw_text(tr, "VISIT").to_numpy(),
        "DATE": date.to_numpy(),
        "DATEF": pd.Categorical(flag.to_numpy()),
        "GRPID": text_of(tr, "TRGRPID", categorical=True).to_numpy(),
    })
    if "TRSTAT" in tr.columns:  # "NOT DONE" records carry no result
        not_done = text_of(tr, "TRSTAT", categorical=True).eq("NOT DONE").to_numpy()
        out.loc[not_done, "VALUE"] = np.nan
        out["STATE"] = out["STATE"].astype(object).where(~not_done, "").astype("category")
    for col in rules.baseline_flag_columns:
        if col in tr.columns:
            out["BLFL"] = text_of(tr, col, categorical=True).eq("Y").to_numpy()
            break
    out = out.loc[out["VISITNUM"].notna()]
    return _check_duplicates(out, tr)


def _check_duplicates(meas: pd.DataFrame, tr: pd.DataFrame) -> pd.DataFrame:
    """Several *different* results of one test on one lesion in one assessment (after the
    evaluator filter) are an input error: which one counts is a data-management decision,
    not ours. The same record repeated (same result and date, e.g. pharmaversesdtm's TR) is
    kept once."""
    keys = ["USUBJID", "LNKID", "VISITNUM", "TESTCD"]
    if not meas.duplicated(keys).any():
        return meas
    meas = meas.loc[~meas.duplicated(keys + ["VALUE", "STATE", "DATE"])]
    dup = meas.duplicated(keys, keep=False).to_numpy()
    if not dup.any():
        return meas
    rows = tr.iloc[meas.index[dup]]  # meas has tr's positions as index
    lines = [f"{r.get('USUBJID', '')} {r.get('TRLNKID', '')} VISITNUM {r.get('VISITNUM', '')} "
             f"{r.get('TRTESTCD', '')} = {r.get('TRSTRESC', '')}"
             for _, r in rows.head(10).iterrows()]
    first = rows.iloc[0]
    raise InputError(
        f"{int(dup.sum())} TR records measure the same lesion twice in one assessment (first: "
        f"{first.get('USUBJID', '')} lesion {first.get('TRLNKID', '')} visit "
        f"{first.get('VISITNUM', '')} test {first.get('TRTESTCD', '')}); keep one result per "
        "lesion, test and visit (e.g. filter by evaluator or TRACPTFL)",
        dataset="TR", variable="TRLNKID", rule="tumor_response.duplicate", details=lines)


def derive_state_rank(state: pd.Series, rules: ResponseRules) -> pd.Series:
    """Rank of a ``TUMSTATE`` result: 3 unequivocal progression, 2 present (any other
    result, e.g. PRESENT, EQUIVOCAL), 1 absent, 0 not evaluated / missing. When a lesion has
    several records in one assessment the highest rank (the worst state) wins."""
    return pd.Series(np.select(
        [state.isin(rules.progression_states), state.isin(rules.absent_states),
         state.isin(rules.not_evaluated_states)],
        [STATE_PROGRESSION, STATE_ABSENT, STATE_NOT_EVALUATED], STATE_PRESENT), index=state.index)


def prepare_tu(tu: pd.DataFrame, subj: np.ndarray, lnk: np.ndarray, mask: np.ndarray,
                rules: ResponseRules) -> pd.DataFrame:
    """TU records with coded ``USUBJID``/``LNKID``, ``CAT`` (TUSTRESC), ``LOC``, visit, date,
    ``OWN`` (the record passes the evaluator filter), ``TESTCD`` (TUMIDENT, TUSPLIT,
    TUMERGE ...), ``GRPID`` (TUGRPID) and ``LNKTEXT`` (TULNKID as text)."""
    date, flag = derive_dates(tu["TUDTC"] if "TUDTC" in tu.columns
                              else pd.Series("", index=tu.index), rules.date_imputation)
    testcd = text_of(tu, "TUTESTCD")
    out = pd.DataFrame({
        "USUBJID": subj, "LNKID": lnk, "OWN": mask,
        "CAT": text_of(tu, "TUSTRESC").to_numpy(), "LOC": text_of(tu, "TULOC").to_numpy(),
        "VISITNUM": number_of(tu, "VISITNUM").to_numpy(),
        "VISIT": (tu["VISIT"].fillna("").astype(str).to_numpy() if "VISIT" in tu.columns
                  else ""),
        "DATE": date.to_numpy(), "DATEF": flag.to_numpy(),
        "TESTCD": testcd.where(testcd.ne(""), "TUMIDENT").to_numpy(),
        "GRPID": text_of(tu, "TUGRPID").to_numpy(),
        "LNKTEXT": text_of(tu, "TULNKID").to_numpy(),
    })
    return out.loc[out["LNKTEXT"].ne("")]


def derive_lesion_links(tu: pd.DataFrame, vocab: pd.Index) -> pd.DataFrame:
    """Split and merged lesions from TU's ``TUSPLIT`` / ``TUMERGE`` records.

    Rules (SDTMIG TU: "TUGRPID can be used to group split or merged tumors"): a ``TUSPLIT``
    record names a fragment; its parent is the identified (TUMIDENT) lesion of the same
    subject with the same ``TUGRPID``, else the lesion whose ``TULNKID`` is the fragment's
    up to its last "." (``T02.1`` -> ``T02``). Fragments are *summed* into the parent's
    diameter. A ``TUMERGE`` record names the coalesced lesion; its parents are the
    identified lesions with the same ``TUGRPID``: the coalesced lesion's measurement counts
    for the first parent (by TULNKID), the other parents count 0 mm while it is measured.
    Returns ``USUBJID``, ``LNKID`` (the fragment / coalesced lesion), ``PARENT``, ``KIND``
    ("SPLIT" / "MERGE" / "ABSORBED": a parent measured within a coalesced lesion)."""
    cols = ["USUBJID", "LNKID", "PARENT", "KIND"]
    ident = tu.loc[tu["TESTCD"].eq("TUMIDENT") & tu["GRPID"].ne(""),
                   ["USUBJID", "GRPID", "LNKID", "LNKTEXT"]].drop_duplicates(
        ["USUBJID", "LNKID"])
    frames = []
    split = tu.loc[tu["TESTCD"].eq("TUSPLIT"), ["USUBJID", "LNKID", "LNKTEXT", "GRPID"]]
    split = split.drop_duplicates(["USUBJID", "LNKID"])
    if len(split):
        by_grp = split.merge(ident.rename(columns={"LNKID": "PARENT", "LNKTEXT": "PTEXT"}),
                             on=["USUBJID", "GRPID"], how="left")
        by_grp = by_grp.loc[by_grp["PARENT"].ne(by_grp["LNKID"])].drop_duplicates(
            ["USUBJID", "LNKID"])
        prefix = split["LNKTEXT"].str.rsplit(".", n=1).str[0]
        fallback = pd.Series(vocab.get_indexer(prefix), index=split.index)
        parent = split[["USUBJID", "LNKID"]].merge(by_grp[["USUBJID", "LNKID", "PARENT"]],
                                                   on=["USUBJID", "LNKID"], how="left")
        parent["PARENT"] = parent["PARENT"].fillna(pd.Series(fallback.to_numpy()))
        parent = parent.loc[parent["PARENT"].ge(0) & parent["PARENT"].ne(parent["LNKID"])]
        frames.append(parent.assign(PARENT=parent["PARENT"].astype(np.int64), KIND="SPLIT"))
    merge = tu.loc[tu["TESTCD"].eq("TUMERGE") & tu["GRPID"].ne(""),
                   ["USUBJID", "LNKID", "GRPID"]].drop_duplicates(["USUBJID", "LNKID"])
    if len(merge):
        m = merge.merge(ident.rename(columns={"LNKID": "PARENT"}), on=["USUBJID", "GRPID"])
        m = m.loc[m["PARENT"].ne(m["LNKID"])].sort_values(["USUBJID", "LNKID", "LNKTEXT"],
                                                          kind="stable")
        first = ~m.duplicated(["USUBJID", "LNKID"])
        frames.append(m.loc[first, ["USUBJID", "LNKID", "PARENT"]].assign(KIND="MERGE"))
        frames.append(m.loc[~first, ["USUBJID", "LNKID", "PARENT"]].assign(KIND="ABSORBED"))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=np.int64 if c != "KIND" else object)
                             for c in cols})
    return concat_frames(frames)[cols].reset_index(drop=True)


def apply_lesion_links(meas: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """TR records of split fragments and coalesced lesions re-attributed to their parent
    lesion (see :func:`derive_lesion_links`), plus a 0 mm record for every other parent of a
    coalesced lesion at each assessment where the coalesced lesion was measured."""
    if links.empty:
        return meas
    moved = links.loc[links["KIND"].isin(["SPLIT", "MERGE"]), ["USUBJID", "LNKID", "PARENT"]]
    out = meas.merge(moved, on=["USUBJID", "LNKID"], how="left")
    out["LNKID"] = out["PARENT"].fillna(out["LNKID"]).astype(meas["LNKID"].dtype)
    out = out.drop(columns="PARENT")
    absorbed = links.loc[links["KIND"].eq("ABSORBED"), ["USUBJID", "LNKID", "PARENT"]]
    if len(absorbed):
        sized = meas.loc[meas["TESTCD"].isin(["LDIAM", "LPERP"]) & meas["VALUE"].notna()]
        zero = sized.merge(absorbed, on=["USUBJID", "LNKID"])
        zero = zero.drop_duplicates(["USUBJID", "PARENT", "VISITNUM", "TESTCD"])
        zero = zero.assign(LNKID=zero["PARENT"].astype(meas["LNKID"].dtype), VALUE=0.0)
        out = concat_frames([out, zero.drop(columns="PARENT")[out.columns]])
    return out


def derive_lesion_table(tu: pd.DataFrame, meas: pd.DataFrame) -> pd.DataFrame:
    """One row per ``USUBJID``/``LNKID``: category (TARGET / NON-TARGET / NEW) and NODAL.

    Rule: the category is ``TUSTRESC`` of the evaluator's own TU record (first identified),
    else of any TU record of the lesion, else ``TRGRPID``; a lesion is nodal when ``TULOC``
    contains "LYMPH NODE", when it has ``LNSTATE`` (lymph node state) records, or when it
    has ``LPERP`` but no ``LDIAM`` results in TR."""
    cats = ["TARGET", "NON-TARGET", "NEW"]
    from_tu = tu.loc[tu["CAT"].isin(cats)].sort_values(["OWN", "VISITNUM"],
                                                      ascending=[False, True], kind="stable")
    from_tr = meas.loc[meas["GRPID"].isin(cats), ["USUBJID", "LNKID", "GRPID"]] \
        .rename(columns={"GRPID": "CAT"}).drop_duplicates(["USUBJID", "LNKID"])
    from_tr["LOC"] = ""
    les = concat_frames([from_tu[["USUBJID", "LNKID", "CAT", "LOC"]], from_tr])
    les = les.drop_duplicates(["USUBJID", "LNKID"], keep="first")
    tests = (meas.assign(LD=meas["TESTCD"].eq("LDIAM"), LP=meas["TESTCD"].eq("LPERP"),
                         LN=meas["NODALTEST"])
             .groupby(["USUBJID", "LNKID"], sort=False)[["LD", "LP", "LN"]].any()
             .reset_index())
    les = les.merge(tests, on=["USUBJID", "LNKID"], how="left")
    les["NODAL"] = (les["LOC"].str.contains("LYMPH NODE", regex=False) | les["LN"].eq(True)
                    | (les["LP"].eq(True) & ~les["LD"].eq(True)))
    return les[["USUBJID", "LNKID", "CAT", "NODAL"]].reset_index(drop=True)


def derive_assessments(meas: pd.DataFrame, new_tu: pd.DataFrame) -> pd.DataFrame:
    """One row per ``USUBJID``/``VISITNUM`` seen in TR (or in TU as a NEW lesion).

    Rule: ``VISIT`` is the first non-empty visit name; ``FIRSTDT``/``LASTDT`` are the
    earliest and latest scan dates; ``ADTF`` is the strongest imputation flag among them."""
    cols = ["USUBJID", "VISITNUM", "VISIT", "DATE", "DATEF"]
    rows = concat_frames([meas[cols], new_tu[cols]])
    rows["VISIT"] = rows["VISIT"].where(rows["VISIT"].ne(""))
    rows["_F"] = np.select([rows["DATEF"].eq("D"), rows["DATEF"].eq("M")], [1, 2], 0)
    out = rows.groupby(KEYS, sort=True).agg(
        VISIT=("VISIT", "first"), FIRSTDT=("DATE", "min"), LASTDT=("DATE", "max"),
        _F=("_F", "max")).reset_index()
    out["VISIT"] = out["VISIT"].astype(object).fillna("")
    out["ADTF"] = out["_F"].map({0: "", 1: "D", 2: "M"})
    return out.drop(columns="_F")


def derive_baseline(meas: pd.DataFrame, visits: pd.DataFrame, rules: ResponseRules,
                    treatment_start: pd.Series | None) -> pd.DataFrame:
    """Baseline ``VISITNUM`` (``BASEVNUM``) per subject.

    ``treatment_start`` is a datetime Series indexed like ``visits["USUBJID"]``.
    Rule: the lowest VISITNUM flagged 'Y' in the explicit baseline flag column when TR has
    one and the subject has a flagged record. Otherwise, with a treatment start date for the
    subject: among the *evaluable* assessments (at least one lesion measured or given a
    state other than not evaluated) whose earliest scan is on or before the start and at
    most ``baseline_window_days`` before it (RECIST 1.1: no more than 4 weeks), the last one
    (``baseline_pick="last"``, default; RECIST: as close as possible to the start) or the
    first; none - no baseline, the subject is not evaluable. Without a start date: the
    subject's first evaluable assessment."""
    sized = meas["TESTCD"].isin(["LDIAM", "LPERP"]) & meas["VALUE"].notna()
    stated = meas["TESTCD"].eq("TUMSTATE") & ~meas["STATE"].isin(rules.not_evaluated_states)
    evaluable = meas.loc[sized | stated, KEYS].drop_duplicates().assign(_EV=True)
    cand = visits[["USUBJID", "VISITNUM", "FIRSTDT"]].merge(evaluable, on=KEYS, how="left")
    cand = cand.loc[cand["_EV"].eq(True)]
    if treatment_start is not None:
        st = cand["USUBJID"].map(treatment_start)
        ok = cand["FIRSTDT"] <= st
        if rules.baseline_window_days is not None:
            ok &= cand["FIRSTDT"] >= st - pd.Timedelta(days=rules.baseline_window_days)
        cand = cand.assign(_HAS=st.notna()).loc[st.isna() | ok]
    else:
        cand = cand.assign(_HAS=False)
    g = cand.groupby("USUBJID").agg(_MIN=("VISITNUM", "min"), _MAX=("VISITNUM", "max"),
                                    _HAS=("_HAS", "any"))
    last = g["_HAS"] & (rules.baseline_pick == "last")
    base = g["_MIN"].where(~last, g["_MAX"])
    if "BLFL" in meas.columns:
        flagged = meas.loc[meas["BLFL"]].groupby("USUBJID")["VISITNUM"].min()
        base = flagged.combine_first(base)
    return base.rename("BASEVNUM").rename_axis("USUBJID").reset_index()



# -- the whole preparation, shared by the criteria -------------------------------------------

#: the ResponseRules fields only the response components read (lesion_response): two
#: criteria whose rules differ in these alone share one :func:`prepare_lesions`. A field
#: not listed here counts as read by the preparation, so a new one is never shared wrongly.
RESPONSE_ONLY_RULES = (
    "recist_pr_pct", "recist_pd_pct", "recist_pd_abs_mm", "nodal_normal_mm",
    "choi_pr_size_pct", "choi_pd_size_pct", "choi_pr_density_pct", "choi_missing_density",
    "choi_pd_reference", "choi_nodule_states", "progression_states", "absent_states",
    "nodal_absent_states", "equivocal_states", "merged_states", "pd_date",
    "new_lesion_date", "reappearance_after_cr", "not_applicable", "tolerance")


def key_positions(table: pd.DataFrame, rows: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """The row position in ``table`` (unique on ``keys``, none of them missing) of each row
    of ``rows`` with the same ``keys`` values, -1 where there is none: what a merge on the
    key columns matches, found by numbering each key's values and looking up one integer
    per row."""
    parts_t, parts_r = [], []
    for key in keys:
        tv, rv = table[key].to_numpy(), rows[key].to_numpy()
        distinct = np.unique(tv)
        size = len(distinct) + 1                      # the last code: not in table
        parts_t.append((np.searchsorted(distinct, tv), size))
        found = np.minimum(np.searchsorted(distinct, rv), max(len(distinct) - 1, 0))
        hit = distinct[found] == rv if len(distinct) else np.zeros(len(rv), dtype=bool)
        parts_r.append((np.where(hit, found, len(distinct)), size))
    key_t = combine_codes(parts_t, len(table), renumber=False)
    key_r = combine_codes(parts_r, len(rows), renumber=False)
    if key_t is None or key_r is None:                # beyond 2**62 combinations
        right = table[keys].assign(_POS=np.arange(len(table)))
        return rows[keys].merge(right, on=keys, how="left")["_POS"].fillna(-1) \
            .to_numpy(dtype=np.int64)
    return pd.Index(key_t[0]).get_indexer(key_r[0])


@dataclasses.dataclass(frozen=True)
class RecordPositions:
    """Each ``meas`` (TR) record's assessment and lesion as row positions, -1 where there
    is none: ``visit`` in ``visits`` (USUBJID, VISITNUM), ``target`` among the TARGET
    and ``nontarget`` among the NON-TARGET rows of ``lesions`` (USUBJID, LNKID), in
    their order."""

    visit: np.ndarray
    target: np.ndarray
    nontarget: np.ndarray


def record_positions(meas: pd.DataFrame, lesions: pd.DataFrame,
                     visits: pd.DataFrame) -> RecordPositions:
    """:class:`RecordPositions` of ``meas`` (integer joins, not merges on the key columns)."""
    def of(cat: str) -> np.ndarray:
        table = lesions.loc[lesions["CAT"].eq(cat).to_numpy(), ["USUBJID", "LNKID"]]
        return key_positions(table, meas, ["USUBJID", "LNKID"])
    return RecordPositions(key_positions(visits[KEYS], meas, KEYS), of("TARGET"),
                           of("NON-TARGET"))


@dataclasses.dataclass(frozen=True)
class PreparedLesions:
    """TU/TR prepared for one set of preparation rules: ``subjects`` (the USUBJID text of
    each integer code), ``meas`` (TR, split/merged lesions re-attributed), ``lesions`` (one
    row per lesion), ``new_tu`` (the evaluator's NEW lesion identifications) and ``visits``
    (the assessments from each subject's baseline on, ``ABLFL``)."""

    subjects: pd.Index
    meas: pd.DataFrame
    lesions: pd.DataFrame
    new_tu: pd.DataFrame
    visits: pd.DataFrame

    @functools.cached_property
    def positions(self) -> RecordPositions:
        """:func:`record_positions` of ``meas``, found once for every criterion sharing
        this preparation (each asks for them twice: target sums, non-target response)."""
        return record_positions(self.meas, self.lesions, self.visits)


def same_preparation(a: ResponseRules, b: ResponseRules) -> bool:
    """Whether :func:`prepare_lesions` gives the same result under the rules ``a`` and
    ``b`` (they differ at most in :data:`RESPONSE_ONLY_RULES`)."""
    return all(getattr(a, f.name) == getattr(b, f.name) for f in dataclasses.fields(a)
               if f.name not in RESPONSE_ONLY_RULES)


def prepare_lesions(tu: pd.DataFrame, tr: pd.DataFrame, rules: ResponseRules,
                    treatment_start: pd.Series | None = None) -> PreparedLesions:
    """Every step before the response components (the rules: the ``tumor_response``
    module docstring): the evaluator filter, coded identifiers, the canonical TR/TU
    columns, split/merged lesion links, the lesion table, the assessments and the baseline
    (chosen with ``treatment_start``, the start date per subject indexed by USUBJID)."""
    require_input(tu, "TU", ["USUBJID", "TULNKID", "TUSTRESC"])
    require_input(tr, "TR", ["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN", "VISITNUM"])
    tr_mask = filter_mask(tr, rules, "TR")
    tr_f = tr.loc[tr_mask] if not tr_mask.all() else tr
    subj_tr, subj_tu, subjects = encode_pair(tr_f["USUBJID"], tu["USUBJID"])
    lnk_tr, lnk_tu, lnk_vocab = encode_pair(tr_f["TRLNKID"], tu["TULNKID"])
    meas = prepare_tr(tr_f, subj_tr, lnk_tr, rules)
    tu_all = prepare_tu(tu, subj_tu, lnk_tu, filter_mask(tu, rules, "TU"), rules)
    tu_p = tu_all.loc[tu_all["TESTCD"].eq("TUMIDENT")]
    lesions = derive_lesion_table(tu_p, meas)
    meas = apply_lesion_links(meas, derive_lesion_links(tu_all, lnk_vocab))
    new_tu = tu_p.loc[tu_p["OWN"] & tu_p["CAT"].eq("NEW") & tu_p["VISITNUM"].notna()]
    if treatment_start is not None:
        start = pd.Series(treatment_start)
        codes = subjects.get_indexer(start.index.astype(str).str.strip())
        treatment_start = pd.Series(pd.to_datetime(start, errors="coerce").to_numpy(),
                                    index=codes)[codes >= 0]
    visits = derive_assessments(meas, new_tu)
    base = derive_baseline(meas, visits, rules, treatment_start)
    visits = visits.merge(base, on="USUBJID", how="inner")
    visits = visits.loc[visits["VISITNUM"] >= visits["BASEVNUM"]].reset_index(drop=True)
    visits["ABLFL"] = np.where(visits["VISITNUM"].eq(visits["BASEVNUM"]), "Y", "")
    return PreparedLesions(subjects, meas, lesions, new_tu, visits)
