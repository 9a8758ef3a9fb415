"""Per-visit tumour response derived from SDTM TU/TR, for RECIST 1.1 and Choi.

What this module does
---------------------
:func:`compute_visit_responses` turns the lesion identification (TU) and lesion measurements
(TR) of a study into one record per subject and tumour assessment (``VISITNUM``): sums of
diameters, percent changes from baseline and nadir, mean radiodensity, the target, non-target
and new-lesion components, and the overall response (``AVALC``). :func:`reconcile_responses`
lists every assessment where a response recorded in RS (e.g. by the investigator) and the
computed one disagree.

The rules (RECIST 1.1, Eisenhauer et al., Eur J Cancer 2009; Choi et al., J Clin Oncol 2007)
are implemented as small vectorised helpers named ``derive_...`` / ``compute_...``; every
threshold lives in :class:`ResponseRules`. All work is done with group-wise pandas operations
(merges, ``groupby`` aggregations, ``cummin``) - there is no Python loop over TR rows.

Output columns (:data:`OUTPUT_COLUMNS`): ``USUBJID``, ``CRIT`` ("RECIST 1.1" / "CHOI"),
``VISITNUM``, ``VISIT``, ``ADT`` (datetime64), ``ADTF`` (date imputation flag), ``ABLFL``
("Y" on the baseline row, whose responses are ""), ``SUMDIAM``, ``SUMBASE``, ``SUMNADIR``,
``PCHGBASE``, ``PCHGNADIR`` (percent), ``TRGNMISS`` (target lesions not measured),
``DENSITY``, ``DENSBASE``, ``DENSPCHG`` (mean HU of the targets; filled for RECIST too, for
information), ``TRGRESP``, ``NTRGRESP``, ``NEWLPROG`` (Y/N), ``AVALC`` (overall response).

Choices made where the criteria or SDTM leave room (all documented again where implemented):

* **Evaluator.** ``ResponseRules.evaluator_filter`` keeps only TR rows matching e.g.
  ``{"TREVAL": "INVESTIGATOR"}`` or ``{"TRACPTFL": "Y"}``; the same filter is applied to TU
  through the TU twin of each column (``TREVAL`` -> ``TUEVAL``) when TU has it. Lesion
  attributes (TARGET / NON-TARGET / NEW, location) come from the filtered TU first and fall
  back to any TU record of the same ``USUBJID``/``TULNKID``, then to ``TRGRPID``.
* **Assessment.** One assessment = one ``USUBJID`` + ``VISITNUM``. Duplicate measurements of a
  lesion within an assessment (several rows left after filtering) are collapsed to the
  largest diameter / mean density / worst tumour state.
* **Baseline.** Per subject, in this order: the lowest ``VISITNUM`` flagged ``'Y'`` in the
  first of ``ResponseRules.baseline_flag_columns`` present in TR (``TRLOBXFL``, ``TRBLFL``),
  when the subject has such a record; otherwise, when ``treatment_start`` has a date for the
  subject, the first assessment (lowest ``VISITNUM``; ``baseline_pick="last"`` takes the
  latest) whose earliest scan date is on or before the start; otherwise simply the first
  assessment of the subject. Assessments before the baseline are dropped; subjects without
  a baseline are left out (so :func:`reconcile_responses` lists their investigator records
  as "INVESTIGATOR ONLY").
* **Target lesions** are the TU ``TARGET`` lesions measured at baseline. A lesion is nodal
  when ``TULOC`` contains "LYMPH NODE", or when it has ``LPERP`` but no ``LDIAM`` results;
  nodal lesions use ``LPERP`` (short axis), all others ``LDIAM``. ``TRSTRESN`` is taken as mm.
* **Nadir** (``SUMNADIR``) = the smallest sum among the *previous* assessments whose target
  lesions were all measured, baseline included (an incomplete sum is not a valid nadir).
* **Not all targets measured**: ``SUMDIAM`` is the sum of the measured ones (``TRGNMISS``
  counts the missing lesions); the target response is PD when that partial sum already meets
  the PD rule vs nadir, NE otherwise.
* **Lymph nodes below 10 mm**: CR is decided before PD, so growth of nodes that all stay
  below the normal size is not progression.
* **No non-target lesions at baseline**: ``NTRGRESP`` is ``ResponseRules.not_applicable``
  (default ``"NA"``; ONCRSR has no term for it). Subjects with no target lesion get
  ``TRGRESP = "NA"`` and follow RECIST table 2 (CR / NON-CR/NON-PD / NE / PD).
* **Dates** (``ADT``): the latest scan date of the assessment; for a PD assessment the
  earliest scan date among the records that show the progression (target measurements when
  the target component is PD, the unequivocal non-target records, the new-lesion records),
  following the RECIST convention that progression dates from the first scan showing it.
  Partial dates are imputed (``ResponseRules.date_imputation``, default last day of the
  month/year, like admiralonco) and flagged in ``ADTF`` ("D" day / "M" month imputed).
* **Choi density**: ``DENSITY`` is the mean ``RADIODEN`` (HU) of the target lesions that have
  one. It is evaluable at an assessment when every target lesion has a density there, except
  lesions measured 0 mm (nothing left to measure), and the baseline mean is available and
  positive (a percent change against a value <= 0 HU means nothing).
  When density is not evaluable and size alone does not decide - size SD (density could
  still make it PR) or size PD (density PR would overrule it) - the target response is NE
  (``choi_missing_density="NE"``, default) or the size-only response (``"SIZE_ONLY"``).
* **Choi intratumoral nodules** ("new or growing intratumoral nodules" = PD) have no SDTM
  controlled term. A sponsor that records them as a ``TUMSTATE`` result on a target lesion
  can list those results in ``ResponseRules.choi_nodule_states``; by default none are
  recognised and only NEW lesions / non-target progression / size drive Choi PD.
* **Choi size** is the same sum as RECIST 1.1 (``LPERP`` for nodes), not RECIST 1.0's longest
  diameter for every lesion.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.standards.response import overall_response

__all__ = [
    "ResponseRules",
    "compute_visit_responses",
    "reconcile_responses",
    "OUTPUT_COLUMNS",
]

RECIST = "RECIST 1.1"
CHOI = "CHOI"
MCHOI = "MODIFIED CHOI"

KEYS = ["USUBJID", "VISITNUM"]

OUTPUT_COLUMNS = [
    "USUBJID", "CRIT", "VISITNUM", "VISIT", "ADT", "ADTF", "ABLFL",
    "SUMDIAM", "SUMBASE", "SUMNADIR", "PCHGBASE", "PCHGNADIR", "TRGNMISS",
    "DENSITY", "DENSBASE", "DENSPCHG",
    "TRGRESP", "NTRGRESP", "NEWLPROG", "AVALC",
]

# Tumour-state ranks: the worst state wins when a lesion has several records.
_NOT_EVALUATED, _ABSENT, _PRESENT, _PROGRESSION = 0, 1, 2, 3


@dataclass(frozen=True)
class ResponseRules:
    """Thresholds and conventions for :func:`compute_visit_responses` (defaults = the papers).

    Every field can be set per criterion in a study's ``adam.yaml`` (``response.criteria[].
    rules``, see docs/adam-config.md, which also gives the source of each default).

    Attributes:
        evaluator_filter: ``{TR column: value or tuple of values}`` rows to keep, e.g.
            ``{"TRACPTFL": "Y"}`` or ``{"TREVAL": "INVESTIGATOR"}``; ``None`` keeps all rows.
            Applied to TU as well through the ``TU`` twin of each column when TU has it.
        baseline_flag_columns: TR flag columns that, when present with ``'Y'``, mark the
            baseline assessment explicitly (the first one present is used).
        baseline_pick: which evaluable pre-treatment assessment is the baseline when
            ``treatment_start`` is given: ``"last"`` (default, RECIST: as close as possible
            to the start) or ``"first"``.
        baseline_window_days: a baseline must be at most this many days before the start of
            treatment (RECIST 1.1: 4 weeks = 28); ``None``: no limit.
        recist_pr_pct: RECIST PR when the sum changed by at most this % from baseline (-30).
        recist_pd_pct: RECIST PD needs at least this % increase from nadir (+20) ...
        recist_pd_abs_mm: ... and at least this absolute increase from nadir in mm (5).
        nodal_normal_mm: a lymph node is normal (CR) below this short axis in mm (10).
        choi_pr_size_pct: Choi PR by size at most this % change from baseline (-10).
        choi_pd_size_pct: Choi PD by size at least this % change from the reference (+10).
        choi_pr_density_pct: Choi PR by density at most this % change of the mean HU from
            baseline (-15).
        choi_missing_density: ``"NE"``: when density is not evaluable and size alone does
            not decide, the Choi target response is NE; ``"SIZE_ONLY"``: use size alone.
        choi_pd_reference: the sum Choi's +10 % is measured from: ``"nadir"`` (default,
            as RECIST) or ``"baseline"`` (Choi's paper names no reference).
        choi_nodule_states: ``TUMSTATE`` results on a target lesion that mean "new or
            growing intratumoral nodule" (Choi PD). Empty by default: SDTM has no term.
        state_testcds: TR test codes holding a lesion's state (``TUMSTATE``; ``LNSTATE`` =
            lymph node state, as in the CDISC oncology examples).
        progression_states: state results meaning unequivocal progression.
        absent_states: state results meaning the lesion is gone.
        nodal_absent_states: lymph-node state results meaning the node is normal (RECIST:
            counts as absent for CR; Choi, which has no node rule, counts it present).
        not_evaluated_states: state results meaning the lesion was not evaluated.
        equivocal_states: results that do not (yet) count a NEW lesion as present, nor a
            lesion as reappeared after a CR.
        merged_states: results on a lesion that has coalesced into another one (measured
            there): it contributes 0 mm to the sum.
        too_small_mm: value used for a target whose ``TRSTRESN`` is missing and whose
            ``TRSTRESC`` is "TOO SMALL TO MEASURE" (RECIST's default 5 mm); ``None``: not
            assessed instead.
        pd_date: date of a progression shown by the target sum when the target scans of the
            assessment have several dates: ``"latest"`` (default; FDA 2018 guidance, "date
            of last radiological assessment of measured lesions") or ``"earliest"``.
        new_lesion_date: date of progression by a NEW lesion first recorded as equivocal and
            shown at a later scan: ``"first_seen"`` (default, RECIST 1.1 section 4.3.3: the
            scan where it first appeared) or ``"confirmed"`` (the scan that shows it).
        reappearance_after_cr: ``"pd"`` (default; RECIST 1.1 Q&A): after an overall CR any
            lesion that reappears is progression whatever its size; ``"sum"``: a target that
            reappears only adds to the sum (pharmaversesdtm's generator does this).
        not_applicable: response value when a component does not apply ("NA").
        date_imputation: partial ``--DTC`` dates are imputed to the ``"last"`` (default) or
            ``"first"`` day of the month/year, or left missing (``None``).
        tolerance: absolute slack in mm / % / HU for threshold comparisons, so that a change
            of exactly -30% is a PR despite floating-point rounding.
    """

    evaluator_filter: Mapping[str, str | Sequence[str]] | None = None
    baseline_flag_columns: tuple[str, ...] = ("TRLOBXFL", "TRBLFL")
    baseline_pick: Literal["first", "last"] = "last"
    baseline_window_days: int | None = 28
    recist_pr_pct: float = -30.0
    recist_pd_pct: float = 20.0
    recist_pd_abs_mm: float = 5.0
    nodal_normal_mm: float = 10.0
    choi_pr_size_pct: float = -10.0
    choi_pd_size_pct: float = 10.0
    choi_pr_density_pct: float = -15.0
    choi_missing_density: Literal["NE", "SIZE_ONLY"] = "NE"
    choi_pd_reference: Literal["nadir", "baseline"] = "nadir"
    choi_nodule_states: tuple[str, ...] = ()
    state_testcds: tuple[str, ...] = ("TUMSTATE", "LNSTATE")
    progression_states: tuple[str, ...] = ("UNEQUIVOCAL", "UNEQUIVOCAL PROGRESSION")
    absent_states: tuple[str, ...] = ("ABSENT",)
    nodal_absent_states: tuple[str, ...] = ("NON-PATHOLOGICAL", "NORMAL")
    not_evaluated_states: tuple[str, ...] = ("", "NE", "NOT EVALUABLE", "NOT EVALUATED",
                                             "NOT DONE", "NOT ASSESSED", "UNKNOWN")
    equivocal_states: tuple[str, ...] = ("EQUIVOCAL",)
    merged_states: tuple[str, ...] = ("TUMOR MERGED",)
    too_small_mm: float | None = 5.0
    pd_date: Literal["latest", "earliest"] = "latest"
    new_lesion_date: Literal["first_seen", "confirmed"] = "first_seen"
    reappearance_after_cr: Literal["pd", "sum"] = "pd"
    not_applicable: str = "NA"
    date_imputation: Literal["last", "first"] | None = "last"
    tolerance: float = 1e-6


# ----------------------------------------------------------------------------------------
# input preparation
# ----------------------------------------------------------------------------------------

def _criterion(criterion: str) -> str:
    text = str(criterion).strip().upper()
    if text in ("RECIST 1.1", "RECIST1.1", "RECIST"):
        return RECIST
    if text.startswith("CHOI"):
        return CHOI
    if text.replace("-", " ").startswith("MODIFIED CHOI") or text in ("MCHOI", "MOD CHOI"):
        return MCHOI
    raise SpecError(f"unknown response criterion {criterion!r}; use 'RECIST 1.1', 'CHOI' or "
                    "'MODIFIED CHOI'", rule="tumor_response.criterion")


def _require(df: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{name} lacks required column(s) {', '.join(missing)}",
                         dataset=name, variable=missing[0], rule="tumor_response.columns")


def _per_unique(values: pd.Series, func, categorical: bool = False) -> pd.Series:
    """Apply a vectorised string ``func`` to the distinct values only, then map back (TR
    columns such as TRTESTCD or TRDTC repeat a few thousand values over millions of rows).
    ``categorical=True`` returns a categorical Series (fast comparisons on millions of rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = pd.Categorical(np.asarray(func(pd.Series(uniques, dtype=object)), dtype=object))
    if categorical:
        return pd.Series(pd.Categorical.from_codes(done.codes[codes], done.categories),
                         index=values.index)
    return pd.Series(np.asarray(done.astype(object))[codes], index=values.index)


def _clean(u: pd.Series) -> pd.Series:
    return u.fillna("").astype(str).str.strip().str.upper()


def _text(df: pd.DataFrame, column: str, categorical: bool = False) -> pd.Series:
    """Upper-cased, stripped text of ``column`` ("" when missing or absent)."""
    if column not in df.columns:
        return pd.Series("", index=df.index, dtype="category" if categorical else object)
    return _per_unique(df[column], _clean, categorical)


def _raw_text(df: pd.DataFrame, column: str) -> pd.Series:
    """Text of ``column`` as is ("" when missing or absent), categorical."""
    if column not in df.columns:
        return pd.Series("", index=df.index, dtype="category")
    return _per_unique(df[column], lambda u: u.fillna("").astype(str), categorical=True)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat`` of the non-empty frames (keeps dtypes; pandas warns about empty ones)."""
    kept = [f for f in frames if len(f)]
    return pd.concat(kept or frames[:1], ignore_index=True)


def _number(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[column], errors="coerce").astype(float)


def _filter_mask(df: pd.DataFrame, rules: ResponseRules, domain: str) -> np.ndarray:
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
        mask &= _text(df, name).isin([str(v).strip().upper() for v in values]).to_numpy()
    return mask


def _encode_pair(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Integer codes of two identifier columns over one shared vocabulary of stripped text
    (merging and grouping on integers is several times faster than on strings)."""
    def codes_of(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
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
    the last (or first) day of the year (flag "M"); anything else, or ``imputation=None``
    for a partial date, gives NaT.
    """
    codes, uniques = pd.factorize(dtc, use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).fillna("").astype(str).str.strip()
    full = text.str.match(r"^\d{4}-\d{2}-\d{2}")
    month = ~full & text.str.fullmatch(r"\d{4}-\d{2}")
    year = ~full & ~month & text.str.fullmatch(r"\d{4}")
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


def _prepare_tr(tr: pd.DataFrame, subj: np.ndarray, lnk: np.ndarray,
                rules: ResponseRules) -> pd.DataFrame:
    """TR reduced to the canonical columns used below (one row per TR record); ``USUBJID``
    and ``LNKID`` are integer codes (see :func:`_encode_pair`)."""
    value = _number(tr, "TRSTRESN")
    # TRSTRESC matters only where there is no number (TUMSTATE, "TOO SMALL TO MEASURE")
    state = pd.Series("", index=tr.index, dtype=object)
    state[value.isna()] = _text(tr.loc[value.isna()], "TRSTRESC")
    if rules.too_small_mm is not None:
        value = value.mask(value.isna() & state.eq("TOO SMALL TO MEASURE"), rules.too_small_mm)
    testcd = _text(tr, "TRTESTCD")
    # every lesion-state test (TUMSTATE, LNSTATE ...) is read as one state
    testcd = testcd.where(~testcd.isin([str(t).upper() for t in rules.state_testcds]),
                          "TUMSTATE")
    date, flag = derive_dates(tr["TRDTC"] if "TRDTC" in tr.columns
                              else pd.Series("", index=tr.index), rules.date_imputation)
    out = pd.DataFrame({
        "USUBJID": subj,
        "LNKID": lnk,
        "TESTCD": pd.Categorical(testcd.to_numpy()),
        "NODALTEST": _text(tr, "TRTESTCD").eq("LNSTATE").to_numpy(),
        "VALUE": value.to_numpy(),
        "STATE": pd.Categorical(state.to_numpy()),
        "VISITNUM": _number(tr, "VISITNUM").to_numpy(),
        "VISIT": _raw_text(tr, "VISIT").to_numpy(),
        "DATE": date.to_numpy(),
        "DATEF": pd.Categorical(flag.to_numpy()),
        "GRPID": _text(tr, "TRGRPID", categorical=True).to_numpy(),
    })
    if "TRSTAT" in tr.columns:  # "NOT DONE" records carry no result
        not_done = _text(tr, "TRSTAT").eq("NOT DONE").to_numpy()
        out.loc[not_done, "VALUE"] = np.nan
        out["STATE"] = out["STATE"].astype(object).where(~not_done, "").astype("category")
    for col in rules.baseline_flag_columns:
        if col in tr.columns:
            out["BLFL"] = _text(tr, col).eq("Y").to_numpy()
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
        [_PROGRESSION, _ABSENT, _NOT_EVALUATED], _PRESENT), index=state.index)


def _prepare_tu(tu: pd.DataFrame, subj: np.ndarray, lnk: np.ndarray, mask: np.ndarray,
                rules: ResponseRules) -> pd.DataFrame:
    """TU records with coded ``USUBJID``/``LNKID``, ``CAT`` (TUSTRESC), ``LOC``, visit, date,
    ``OWN`` (the record passes the evaluator filter), ``TESTCD`` (TUMIDENT, TUSPLIT,
    TUMERGE ...), ``GRPID`` (TUGRPID) and ``LNKTEXT`` (TULNKID as text)."""
    date, flag = derive_dates(tu["TUDTC"] if "TUDTC" in tu.columns
                              else pd.Series("", index=tu.index), rules.date_imputation)
    testcd = _text(tu, "TUTESTCD")
    out = pd.DataFrame({
        "USUBJID": subj, "LNKID": lnk, "OWN": mask,
        "CAT": _text(tu, "TUSTRESC").to_numpy(), "LOC": _text(tu, "TULOC").to_numpy(),
        "VISITNUM": _number(tu, "VISITNUM").to_numpy(),
        "VISIT": (tu["VISIT"].fillna("").astype(str).to_numpy() if "VISIT" in tu.columns
                  else ""),
        "DATE": date.to_numpy(), "DATEF": flag.to_numpy(),
        "TESTCD": testcd.where(testcd.ne(""), "TUMIDENT").to_numpy(),
        "GRPID": _text(tu, "TUGRPID").to_numpy(),
        "LNKTEXT": _text(tu, "TULNKID").to_numpy(),
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
    return _concat(frames)[cols].reset_index(drop=True)


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
    les = _concat([from_tu[["USUBJID", "LNKID", "CAT", "LOC"]], from_tr])
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
    rows = _concat([meas[cols], new_tu[cols]])
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


# ----------------------------------------------------------------------------------------
# components
# ----------------------------------------------------------------------------------------

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
        out = _concat([out, zero.drop(columns="PARENT")[out.columns]])
    return out


def compute_target_sums(meas: pd.DataFrame, lesions: pd.DataFrame, visits: pd.DataFrame,
                        rules: ResponseRules, *, node_rule: bool = True) -> pd.DataFrame:
    """Per assessment: ``SUMDIAM``, ``TRGNEXP``/``TRGNMISS``, ``ALLCR``, ``REAPT``,
    ``DENSITY``, ``DENSPAIR``/``DENSBPAIR``, ``DENSOK``, ``TRGFIRSTDT``/``TRGLASTDT``.

    Rules: target lesions = TARGET lesions measured at baseline; each contributes its
    ``LPERP`` (nodal) or ``LDIAM`` (other), the fragments of a split lesion summed (see
    :func:`apply_lesion_links`); a lesion recorded with a ``merged_states`` result counts 0.
    ``SUMDIAM`` sums the measured ones, ``TRGNMISS`` counts the ones not measured.
    ``ALLCR``: every non-nodal target is 0 mm and every nodal target below
    ``nodal_normal_mm`` (``node_rule=False``, Choi: every target 0 mm). ``REAPT``: a target
    is measurable again (not CR by that rule) - progression after a CR. ``DENSITY`` = mean
    RADIODEN of the targets having one (shown in ADTR). Choi's density change compares the
    mean over the lesions with a density at *both* the baseline and this assessment
    (``DENSPAIR`` now, ``DENSBPAIR`` at baseline); a lesion that disappeared (0 mm) has no
    tissue left to measure and is left out of both means; ``DENSOK``: every target still
    present (> 0 mm) has a density now and at baseline. ``TRGFIRSTDT``/``TRGLASTDT`` =
    earliest/latest scan date of the target records; ``NODULE`` = a target has a state
    listed in ``choi_nodule_states``."""
    tgt = lesions.loc[lesions["CAT"].eq("TARGET"), ["USUBJID", "LNKID", "NODAL"]]
    m = meas.merge(tgt, on=["USUBJID", "LNKID"], how="inner")
    is_size = np.where(m["NODAL"], m["TESTCD"].eq("LPERP"), m["TESTCD"].eq("LDIAM"))
    lkeys = KEYS + ["LNKID"]
    size = m.loc[is_size].groupby(lkeys, sort=False)["VALUE"].sum(min_count=1)
    merged = m.loc[m["STATE"].isin(rules.merged_states)].groupby(lkeys, sort=False).size()
    if len(merged):
        size = size.reindex(size.index.union(merged.index))
        size.loc[merged.index] = size.loc[merged.index].fillna(0.0)
    size = size.rename("SIZE")
    dens = (m.loc[m["TESTCD"].eq("RADIODEN")].groupby(lkeys, sort=False)["VALUE"].mean()
            .rename("DENS"))
    first = m.groupby(KEYS, sort=False)["DATE"].agg(["min", "max"]).rename(
        columns={"min": "TRGFIRSTDT", "max": "TRGLASTDT"})
    nodule = (m.assign(N=m["TESTCD"].eq("TUMSTATE") & m["STATE"].isin(rules.choi_nodule_states))
              .groupby(KEYS, sort=False)["N"].any().rename("NODULE"))

    # the target lesions of each subject: measured at its baseline assessment
    bl = visits.loc[visits["ABLFL"].eq("Y"), KEYS]
    base_size = size.reset_index().merge(bl, on=KEYS, how="inner")
    base_lesions = base_size.loc[base_size["SIZE"].notna(), ["USUBJID", "LNKID"]]
    base_lesions = base_lesions.merge(tgt, on=["USUBJID", "LNKID"], how="left")
    base_dens = dens.reset_index().merge(bl, on=KEYS, how="inner")
    base_dens = base_dens[["USUBJID", "LNKID", "DENS"]].rename(columns={"DENS": "BDENS"})

    grid = visits[KEYS].merge(base_lesions, on="USUBJID", how="inner")
    grid = grid.merge(size.reset_index(), on=lkeys, how="left")
    grid = grid.merge(dens.reset_index(), on=lkeys, how="left")
    grid = grid.merge(base_dens, on=["USUBJID", "LNKID"], how="left")
    grid["ASSESSED"] = grid["SIZE"].notna()
    if node_rule:
        grid["CRL"] = np.where(grid["NODAL"], grid["SIZE"] < rules.nodal_normal_mm,
                               grid["SIZE"] == 0)  # NaN compares False: not CR
    else:
        grid["CRL"] = grid["SIZE"] == 0
    grid["REAP"] = grid["ASSESSED"] & ~grid["CRL"]
    gone = grid["SIZE"].eq(0)
    paired = grid["DENS"].notna() & grid["BDENS"].notna() & ~gone
    grid["PDENS"] = grid["DENS"].where(paired)
    grid["PBDENS"] = grid["BDENS"].where(paired)
    grid["DENSOK"] = paired | gone
    g = grid.groupby(KEYS, sort=False)
    out = pd.DataFrame({
        "TRGNEXP": g.size(),
        "TRGNMISS": g.size() - g["ASSESSED"].sum(),
        "SUMDIAM": g["SIZE"].sum(min_count=1),
        "ALLCR": g["CRL"].all(),
        "REAPT": g["REAP"].any(),
        "DENSITY": g["DENS"].mean(),
        "DENSPAIR": g["PDENS"].mean(),
        "DENSBPAIR": g["PBDENS"].mean(),
        "DENSOK": g["DENSOK"].all() & g["PDENS"].count().gt(0),
    }).reset_index()
    out = out.merge(first.reset_index(), on=KEYS, how="left")
    out = out.merge(nodule.reset_index(), on=KEYS, how="left")
    out["NODULE"] = out["NODULE"].eq(True)
    return out


def compute_nadir(sums: pd.DataFrame) -> pd.DataFrame:
    """Add ``SUMBASE``, ``SUMNADIR``, ``PCHGBASE``, ``PCHGNADIR``, ``DENSBASE``, ``DENSPCHG``.

    Rules: ``SUMBASE`` = the baseline sum. ``SUMNADIR`` = the smallest complete sum
    (``TRGNMISS == 0``) among the assessments *before* this one, baseline included (a
    running ``cummin`` shifted by one assessment). Percent changes are
    ``100 * (SUMDIAM - ref) / ref`` (missing when ref is 0). ``DENSPCHG`` is the percent
    change of the mean density of the lesions measured at both times (``DENSPAIR`` vs
    ``DENSBPAIR``), only when density is evaluable at both and the baseline mean is
    positive."""
    s = sums.sort_values(KEYS, kind="stable").reset_index(drop=True)
    bl = s.loc[s["ABLFL"].eq("Y")].set_index("USUBJID")
    s["SUMBASE"] = s["USUBJID"].map(bl["SUMDIAM"])
    complete = s["SUMDIAM"].where(s["TRGNMISS"].eq(0))
    running = complete.groupby(s["USUBJID"]).cummin()
    running = running.groupby(s["USUBJID"]).ffill()
    s["SUMNADIR"] = running.groupby(s["USUBJID"]).shift(1)
    s["PCHGBASE"] = _pct(s["SUMDIAM"], s["SUMBASE"])
    s["PCHGNADIR"] = _pct(s["SUMDIAM"], s["SUMNADIR"])
    dens_base = s["USUBJID"].map(bl["DENSITY"].where(bl["DENSOK"] & bl["DENSITY"].gt(0)))
    s["DENSBASE"] = dens_base
    paired_base = s["DENSBPAIR"].where(s["DENSBPAIR"].gt(0) & dens_base.notna())
    s["DENSPCHG"] = _pct(s["DENSPAIR"], paired_base).where(s["DENSOK"])
    return s


def _pct(value: pd.Series, ref: pd.Series) -> pd.Series:
    ref = ref.where(ref.ne(0))
    return 100.0 * (value - ref) / ref


def derive_recist_target_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """RECIST 1.1 target response per assessment.

    Rules, first match wins: no target lesion -> NA; all targets measured and all gone
    (non-nodal 0 mm, nodes < 10 mm) -> CR; sum (of the measured targets, even when some are
    missing) >= nadir * 1.2 and >= nadir + 5 mm -> PD; a target not measured -> NE; sum <=
    baseline * 0.7 -> PR; otherwise SD."""
    tol = rules.tolerance
    complete = s["TRGNMISS"].eq(0)
    pd_ = ((s["SUMDIAM"] >= s["SUMNADIR"] * (1 + rules.recist_pd_pct / 100) - tol)
           & (s["SUMDIAM"] - s["SUMNADIR"] >= rules.recist_pd_abs_mm - tol))
    pr = s["SUMDIAM"] <= s["SUMBASE"] * (1 + rules.recist_pr_pct / 100) + tol
    return pd.Series(np.select(
        [s["TRGNEXP"].isna(), complete & s["ALLCR"], pd_, ~complete, pr],
        [rules.not_applicable, "CR", "PD", "NE", "PR"], "SD"), index=s.index)


def derive_choi_size_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Choi size-only response: NA without targets; CR when every target disappeared (0 mm;
    Choi has no lymph-node rule); PD when the sum (of the measured targets) >= reference *
    1.1, the reference being the nadir (``choi_pd_reference="nadir"``, default) or the
    baseline sum; NE when a target is not measured; PR when the sum <= baseline * 0.9;
    otherwise SD."""
    tol = rules.tolerance
    complete = s["TRGNMISS"].eq(0)
    ref = s["SUMBASE"] if rules.choi_pd_reference == "baseline" else s["SUMNADIR"]
    pd_ = s["SUMDIAM"] >= ref * (1 + rules.choi_pd_size_pct / 100) - tol
    pr = s["SUMDIAM"] <= s["SUMBASE"] * (1 + rules.choi_pr_size_pct / 100) + tol
    return pd.Series(np.select(
        [s["TRGNEXP"].isna(), complete & s["ALLCR"], pd_, ~complete, pr],
        [rules.not_applicable, "CR", "PD", "NE", "PR"], "SD"), index=s.index)


def derive_choi_density_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Choi density component: PR when the mean HU fell by at least 15% from baseline,
    NOTPR when density is evaluable and did not, NE when it cannot be evaluated."""
    ok = s["DENSPCHG"].notna()
    pr = s["DENSPCHG"] <= rules.choi_pr_density_pct + rules.tolerance
    return pd.Series(np.select([ok & pr, ok], ["PR", "NOTPR"], "NE"), index=s.index)


def derive_choi_target_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Choi target response from the size and density components.

    Rules, first match wins: no targets -> NA; a listed intratumoral-nodule state -> PD;
    size CR -> CR; density PR -> PR (a >= 15% HU decrease is a PR even when size grew >=
    10%); size PD with density evaluable -> PD; size PR -> PR; size NE -> NE; size SD with
    density evaluable -> SD. Left: size PD or SD with density not evaluable -> NE
    (``choi_missing_density="NE"``) or the size response (``"SIZE_ONLY"``)."""
    size = derive_choi_size_response(s, rules)
    dens = derive_choi_density_response(s, rules)
    undecided = "NE" if rules.choi_missing_density == "NE" else size
    return pd.Series(np.select(
        [size.eq(rules.not_applicable), s["NODULE"], size.eq("CR"), dens.eq("PR"),
         size.eq("PD") & dens.eq("NOTPR"), size.eq("PR"), size.eq("NE"),
         size.eq("SD") & dens.eq("NOTPR")],
        [rules.not_applicable, "PD", "CR", "PR", "PD", "PR", "NE", "SD"],
        undecided), index=s.index)


def derive_modified_choi_target_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Modified Choi target response: size *and* density must both decrease for a PR.

    Rules, first match wins: no targets -> NA; a listed intratumoral-nodule state -> PD;
    size CR -> CR; size PD -> PD (the density cannot rescue it); size NE -> NE; size PR and
    density PR -> PR; size SD -> SD; size PR with density evaluable -> SD; left (size PR, density not evaluable: it
    decides between PR and SD) -> NE (``choi_missing_density="NE"``) or SD
    (``"SIZE_ONLY"``: without density a PR cannot be shown)."""
    size = derive_choi_size_response(s, rules)
    dens = derive_choi_density_response(s, rules)
    undecided = "NE" if rules.choi_missing_density == "NE" else "SD"
    return pd.Series(np.select(
        [size.eq(rules.not_applicable), s["NODULE"], size.eq("CR"), size.eq("PD"),
         size.eq("NE"), size.eq("PR") & dens.eq("PR"), size.eq("SD"), dens.ne("NE")],
        [rules.not_applicable, "PD", "CR", "PD", "NE", "PR", "SD", "SD"], undecided),
        index=s.index)


def derive_nontarget_response(meas: pd.DataFrame, lesions: pd.DataFrame,
                              visits: pd.DataFrame, rules: ResponseRules, *,
                              node_rule: bool = True) -> pd.DataFrame:
    """Non-target response per assessment (``NTRGRESP``, ``NTPDFIRSTDT``, ``NTREAP``,
    ``NTREAPDT``).

    Rules: the non-target lesions are the subject's NON-TARGET lesions; each one's state at
    an assessment is the worst of its state records (``state_testcds``: TUMSTATE, LNSTATE)
    and of its size when measured (non-nodal: 0 mm absent, more present; lymph node short
    axis: below ``nodal_normal_mm`` absent - RECIST's rule for CR; with ``node_rule=False``,
    Choi, only 0 mm is absent). A node state in ``nodal_absent_states`` (NON-PATHOLOGICAL)
    is absent under RECIST and present under Choi. No record = not evaluated. Any
    unequivocal progression -> PD; else any lesion not evaluated -> NE; else all absent ->
    CR; else NON-CR/NON-PD. A subject without non-target lesions -> NA. ``NTREAP``: a
    non-target lesion is present (not merely equivocal) - progression after a CR."""
    nt = lesions.loc[lesions["CAT"].eq("NON-TARGET"), ["USUBJID", "LNKID", "NODAL"]]
    m = meas.loc[meas["TESTCD"].isin(["TUMSTATE", "LDIAM", "LPERP"])].merge(
        nt, on=["USUBJID", "LNKID"])
    is_state = m["TESTCD"].eq("TUMSTATE").to_numpy()
    rank = derive_state_rank(m["STATE"], rules).to_numpy()
    nodal_normal = m["STATE"].isin(rules.nodal_absent_states).to_numpy() & m["NODAL"].to_numpy()
    rank = np.where(nodal_normal, _ABSENT if node_rule else _PRESENT, rank)
    is_size = np.where(m["NODAL"], m["TESTCD"].eq("LPERP"), m["TESTCD"].eq("LDIAM"))
    value = m["VALUE"].to_numpy()
    limit = np.where(m["NODAL"] & node_rule, rules.nodal_normal_mm, 0.0)
    size_rank = np.where(np.isnan(value), _NOT_EVALUATED,
                         np.where((limit > 0) & (value < limit), _ABSENT,
                                  np.where((limit == 0) & (value <= 0), _ABSENT, _PRESENT)))
    m = m.assign(RANK=np.where(is_state, rank, np.where(is_size, size_rank, -1)))
    m = m.loc[m["RANK"].ge(0)]
    m = m.assign(SHOWN=m["RANK"].ge(_PRESENT) & ~m["STATE"].isin(rules.equivocal_states))
    lrank = m.groupby(KEYS + ["LNKID"], sort=False)["RANK"].max().reset_index()
    pd_first = (m.loc[m["RANK"].eq(_PROGRESSION)].groupby(KEYS, sort=False)["DATE"].min()
                .rename("NTPDFIRSTDT").reset_index())
    reap = (m.loc[m["SHOWN"]].groupby(KEYS, sort=False)["DATE"].min()
            .rename("NTREAPDT").reset_index())
    grid = visits[KEYS].merge(nt[["USUBJID", "LNKID"]], on="USUBJID", how="inner")
    grid = grid.merge(lrank, on=KEYS + ["LNKID"], how="left")
    grid["RANK"] = grid["RANK"].fillna(_NOT_EVALUATED)
    g = grid.groupby(KEYS, sort=False)["RANK"].agg(["min", "max"]).reset_index()
    g["NTRGRESP"] = np.select(
        [g["max"].eq(_PROGRESSION), g["min"].eq(_NOT_EVALUATED), g["max"].eq(_ABSENT)],
        ["PD", "NE", "CR"], "NON-CR/NON-PD")
    out = visits[KEYS].merge(g[KEYS + ["NTRGRESP"]], on=KEYS, how="left")
    out["NTRGRESP"] = out["NTRGRESP"].fillna(rules.not_applicable)
    out = out.merge(pd_first, on=KEYS, how="left").merge(reap, on=KEYS, how="left")
    out["NTREAP"] = out["NTREAPDT"].notna()
    return out


def derive_new_lesions(meas: pd.DataFrame, new_tu: pd.DataFrame, lesions: pd.DataFrame,
                       rules: ResponseRules) -> pd.DataFrame:
    """``NEWLPROG`` evidence per assessment (``NEWL`` True, ``NEWFIRSTDT``).

    Rules: a new lesion is shown at an assessment when TR has a record at that visit on a
    NEW lesion that shows it (a state other than absent / not evaluated / equivocal, or a
    diameter > 0), or when TU identifies the lesion as NEW at that visit and TR does not
    record it there as equivocal, absent or not evaluated. An equivocal new lesion is not
    progression (RECIST 1.1 section 4.3.2/4.3.3): only a later scan that shows it is. The
    progression is then dated (``new_lesion_date``) at the scan where the lesion first
    appeared, equivocal or not (``"first_seen"``, RECIST) or at the scan showing it
    (``"confirmed"``)."""
    new_ids = lesions.loc[lesions["CAT"].eq("NEW"), ["USUBJID", "LNKID"]]
    m = meas.merge(new_ids, on=["USUBJID", "LNKID"], how="inner")
    is_state = m["TESTCD"].eq("TUMSTATE")
    shown = ((is_state & ~m["STATE"].isin(rules.absent_states + rules.not_evaluated_states
                                          + rules.equivocal_states))
             | (m["TESTCD"].isin(["LDIAM", "LPERP"]) & m["VALUE"].gt(0)))
    seen = shown | (is_state & m["STATE"].isin(rules.equivocal_states))
    # a TU identification counts unless TR states otherwise at that visit
    vetoed = m.loc[is_state & ~shown, ["USUBJID", "LNKID", "VISITNUM"]].drop_duplicates()
    tu_rows = new_tu[["USUBJID", "LNKID", "VISITNUM", "DATE"]].merge(
        vetoed.assign(_V=True), on=["USUBJID", "LNKID", "VISITNUM"], how="left")
    tu_shown = tu_rows.loc[tu_rows["_V"].ne(True)].drop(columns="_V")
    cols = ["USUBJID", "LNKID", "VISITNUM", "DATE"]
    rows = _concat([m.loc[shown, cols], tu_shown[cols]])
    if rules.new_lesion_date == "first_seen":
        # only the scan that first shows the lesion is backdated (to an equivocal sighting)
        first_seen = _concat([m.loc[seen, cols], new_tu[cols]]).groupby(
            ["USUBJID", "LNKID"], sort=False)["DATE"].min().rename("_FIRST")
        first_shown = rows.groupby(["USUBJID", "LNKID"], sort=False)["VISITNUM"].min() \
            .rename("_FIRSTV")
        rows = rows.merge(first_seen.reset_index(), on=["USUBJID", "LNKID"], how="left")
        rows = rows.merge(first_shown.reset_index(), on=["USUBJID", "LNKID"], how="left")
        back = rows["VISITNUM"].eq(rows["_FIRSTV"])
        rows["DATE"] = rows["DATE"].where(~back, rows[["DATE", "_FIRST"]].min(axis=1))
    out = rows.groupby(KEYS, sort=False)["DATE"].min().rename("NEWFIRSTDT").reset_index()
    out["NEWL"] = True
    return out


def derive_overall_response(trg: pd.Series, ntrg: pd.Series, newl: pd.Series,
                            rules: ResponseRules) -> pd.Series:
    """Overall response from the components by the RECIST 1.1 overall-response table
    (tables 1 and 2, :mod:`cdisc_convert.standards.response`; used for Choi too): any PD
    component or a new lesion -> PD; neither target nor non-target lesions -> NE; target CR
    with non-target CR or NA -> CR, with NON-CR/NON-PD or NE -> PR; target PR -> PR, SD ->
    SD, NE -> NE; non-target disease only: CR, NON-CR/NON-PD (never SD) or NE."""
    return overall_response(trg, ntrg, newl, not_applicable=rules.not_applicable,
                            default="NE")


def derive_reappearance(s: pd.DataFrame) -> pd.DataFrame:
    """Progression by reappearance after a complete response (RECIST 1.1 and the RECIST
    working group's Q&A: once a subject has been in CR, any lesion that comes back is
    progression whatever its size; before a CR, a reappearing target only adds to the sum).

    Rule: at an assessment after one whose overall response is CR (same subject), a target
    lesion measurable again (non-nodal > 0 mm, node >= ``nodal_normal_mm`` under RECIST)
    makes ``TRGRESP`` PD, and a non-target lesion present again (not merely equivocal)
    makes ``NTRGRESP`` PD. Expects ``AVALC`` already derived; returns the frame with the
    components changed and ``AVALC`` to be derived again by the caller."""
    s = s.sort_values(KEYS, kind="stable")
    was_cr = s["AVALC"].eq("CR") & s["ABLFL"].ne("Y")
    prior = was_cr.astype(int).groupby(s["USUBJID"]).cummax()
    prior = prior.groupby(s["USUBJID"]).shift(1).fillna(0).astype(bool)
    trg = prior & s["REAPT"].eq(True) & s["TRGRESP"].ne(s["_NA"])
    ntrg = prior & s["NTREAP"].eq(True)
    s.loc[trg, "TRGRESP"] = "PD"
    s.loc[ntrg, "NTRGRESP"] = "PD"
    s.loc[ntrg, "NTPDFIRSTDT"] = s.loc[ntrg, "NTREAPDT"]
    return s


def derive_assessment_date(s: pd.DataFrame, rules: ResponseRules | None = None) -> pd.Series:
    """``ADT``: for a PD assessment the earliest date among the records showing the
    progression - the target scans when ``TRGRESP`` is PD (their latest date with
    ``pd_date="latest"``, default, FDA 2018; their earliest with ``"earliest"``), the
    unequivocal non-target records, the new lesions (see :func:`derive_new_lesions` for an
    equivocal one) - or the earliest date of the assessment when none of those is dated;
    for every other assessment (and the baseline) the latest scan date of the assessment."""
    rules = rules or ResponseRules()

    def dt(col: str) -> pd.Series:
        return pd.to_datetime(s[col], errors="coerce").astype("datetime64[ns]")

    trg_col = "TRGLASTDT" if rules.pd_date == "latest" else "TRGFIRSTDT"
    pdd = pd.concat([dt(trg_col).where(s["TRGRESP"].eq("PD")),
                     dt("NTPDFIRSTDT").where(s["NTRGRESP"].eq("PD")),
                     dt("NEWFIRSTDT").where(s["NEWLPROG"].eq("Y"))], axis=1).min(axis=1)
    pdd = pdd.fillna(dt("FIRSTDT"))
    return pdd.where(s["AVALC"].eq("PD"), dt("LASTDT")).astype("datetime64[ns]")


# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------

def compute_visit_responses(tu: pd.DataFrame, tr: pd.DataFrame, criterion: str = RECIST,
                            rules: ResponseRules | None = None, *,
                            treatment_start: pd.Series | Mapping | None = None) -> pd.DataFrame:
    """Per-visit overall response from SDTM TU and TR (see the module docstring).

    Args:
        tu: SDTM TU (``USUBJID``, ``TULNKID``, ``TUSTRESC``; optional ``TUTESTCD``,
            ``TULOC``, ``VISITNUM``, ``VISIT``, ``TUDTC``, ``TUEVAL``/``TUEVALID``/``TUACPTFL``).
        tr: SDTM TR (``USUBJID``, ``TRLNKID``, ``TRTESTCD``, ``TRSTRESN``, ``VISITNUM``;
            optional ``TRSTRESC``, ``VISIT``, ``TRDTC``, ``TRGRPID``, ``TRSTAT``, evaluator
            columns and a baseline flag ``TRLOBXFL``/``TRBLFL``).
        criterion: ``"RECIST 1.1"`` or ``"CHOI"``.
        rules: thresholds and conventions, :class:`ResponseRules` defaults when omitted.
        treatment_start: optional start date per subject (Series indexed by ``USUBJID``)
            used to choose the baseline among the assessments on or before it.

    Returns:
        One row per subject and assessment from the baseline on, columns
        :data:`OUTPUT_COLUMNS`. The baseline row has ``ABLFL = "Y"`` and empty responses.
        Character columns use "" for missing.
    """
    rules = rules or ResponseRules()
    crit = _criterion(criterion)
    _require(tu, "TU", ["USUBJID", "TULNKID", "TUSTRESC"])
    _require(tr, "TR", ["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN", "VISITNUM"])
    node_rule = crit == RECIST  # Choi's CR is the disappearance of every lesion

    tr_mask = _filter_mask(tr, rules, "TR")
    tr_f = tr.loc[tr_mask] if not tr_mask.all() else tr
    subj_tr, subj_tu, subjects = _encode_pair(tr_f["USUBJID"], tu["USUBJID"])
    lnk_tr, lnk_tu, lnk_vocab = _encode_pair(tr_f["TRLNKID"], tu["TULNKID"])
    meas = _prepare_tr(tr_f, subj_tr, lnk_tr, rules)
    tu_all = _prepare_tu(tu, subj_tu, lnk_tu, _filter_mask(tu, rules, "TU"), rules)
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

    sums = compute_target_sums(meas, lesions, visits, rules, node_rule=node_rule)
    s = visits.merge(sums, on=KEYS, how="left")
    for flag in ("NODULE", "ALLCR", "DENSOK", "REAPT"):  # subjects without target lesions
        s[flag] = s[flag].eq(True)
    s = compute_nadir(s)
    target_response = {RECIST: derive_recist_target_response,
                       CHOI: derive_choi_target_response,
                       MCHOI: derive_modified_choi_target_response}[crit]
    s["TRGRESP"] = target_response(s, rules)
    s = s.merge(derive_nontarget_response(meas, lesions, visits, rules, node_rule=node_rule),
                on=KEYS, how="left")
    newl = derive_new_lesions(meas, new_tu, lesions, rules)
    s = s.merge(newl, on=KEYS, how="left")
    s["NEWLPROG"] = np.where(s["NEWL"].eq(True), "Y", "N")
    s["AVALC"] = derive_overall_response(s["TRGRESP"], s["NTRGRESP"], s["NEWLPROG"].eq("Y"),
                                         rules)
    if rules.reappearance_after_cr == "pd":
        s["_NA"] = rules.not_applicable
        s = derive_reappearance(s)
        s["AVALC"] = derive_overall_response(s["TRGRESP"], s["NTRGRESP"],
                                             s["NEWLPROG"].eq("Y"), rules)
    s["ADT"] = derive_assessment_date(s, rules)
    s["CRIT"] = crit
    baseline = s["ABLFL"].eq("Y")
    s.loc[baseline, ["TRGRESP", "NTRGRESP", "NEWLPROG", "AVALC"]] = ""
    s.loc[baseline, ["SUMNADIR", "PCHGBASE", "PCHGNADIR", "DENSPCHG"]] = np.nan
    s["TRGNMISS"] = s["TRGNMISS"].astype("Int64")
    s["USUBJID"] = subjects.take(s["USUBJID"].to_numpy()).to_numpy()
    return s[OUTPUT_COLUMNS].sort_values(KEYS, kind="stable").reset_index(drop=True)


_COMPONENTS = {"OVRLRESP": "AVALC", "TRGRESP": "TRGRESP", "NTRGRESP": "NTRGRESP",
               "NEWLPROG": "NEWLPROG"}
_YES_NO = {"YES": "Y", "NO": "N", "Y": "Y", "N": "N"}
_NOT_APPLICABLE = ("NA", "N/A", "NOT APPLICABLE")


def _comparable(values: pd.Series) -> pd.Series:
    """Response text for comparison: stripped, upper case, every spelling of "not
    applicable" as NA (RS and ``ResponseRules.not_applicable`` may spell it differently)."""
    up = values.fillna("").astype(str).str.strip().str.upper()
    return up.where(~up.isin(_NOT_APPLICABLE), "NA")


def _crit_from_text(values: pd.Series) -> pd.Series:
    up = values.fillna("").astype(str).str.strip().str.upper()
    return pd.Series(np.select([up.str.contains("CHOI"), up.str.contains("RECIST")],
                               [CHOI, RECIST], up), index=values.index)


def _investigator_wide(investigator: pd.DataFrame, computed: pd.DataFrame) -> pd.DataFrame:
    """RS records (long: RSTESTCD/RSSTRESC, or wide: OVRLRESP/AVALC, TRGRESP ...) -> one row
    per USUBJID, CRIT, VISITNUM with the component columns that were provided."""
    _require(investigator, "RS", ["USUBJID", "VISITNUM"])
    inv = investigator.copy()
    if "CRIT" in inv.columns:
        inv["CRIT"] = _crit_from_text(inv["CRIT"])
    elif "RSCAT" in inv.columns:
        inv["CRIT"] = _crit_from_text(inv["RSCAT"])
    else:
        crits = computed["CRIT"].unique()
        if len(crits) != 1:
            raise InputError("investigator records have no CRIT/RSCAT and the computed "
                             "responses hold several criteria", dataset="RS",
                             variable="CRIT", rule="tumor_response.reconcile")
        inv["CRIT"] = crits[0] if len(crits) else RECIST
    inv["VISITNUM"] = _number(inv, "VISITNUM")
    inv["USUBJID"] = inv["USUBJID"].astype(str).str.strip()
    keys = ["USUBJID", "CRIT", "VISITNUM"]
    if "RSTESTCD" in inv.columns:
        _require(inv, "RS", ["RSSTRESC"])
        inv["RSTESTCD"] = _text(inv, "RSTESTCD")
        inv = inv.loc[inv["RSTESTCD"].isin(list(_COMPONENTS))]
        dup = inv.duplicated(keys + ["RSTESTCD"], keep=False)
        if dup.any():
            first = inv.loc[dup].iloc[0]
            raise InputError(
                f"several {first['RSTESTCD']} records for {first['USUBJID']} visit "
                f"{first['VISITNUM']}: filter RS to one evaluator (e.g. RSEVAL, RSACPTFL)",
                dataset="RS", variable="RSTESTCD", rule="tumor_response.reconcile")
        wide = inv.assign(RES=_text(inv, "RSSTRESC")).pivot(
            index=keys, columns="RSTESTCD", values="RES").reset_index()
        wide.columns.name = None
        if "VISIT" in inv.columns:
            wide = wide.merge(inv.drop_duplicates(keys)[keys + ["VISIT"]], on=keys,
                              how="left")
    else:
        wide = inv.rename(columns={"AVALC": "OVRLRESP"})
        for col in _COMPONENTS:
            if col in wide.columns:
                wide[col] = _text(wide, col)
    cols = [c for c in _COMPONENTS if c in wide.columns]
    if "OVRLRESP" not in cols:
        raise InputError("investigator records carry no overall response (OVRLRESP)",
                         dataset="RS", variable="RSTESTCD", rule="tumor_response.reconcile")
    if "NEWLPROG" in wide.columns:
        wide["NEWLPROG"] = wide["NEWLPROG"].fillna("").map(_YES_NO).fillna(wide["NEWLPROG"])
    wide = wide[keys + (["VISIT"] if "VISIT" in wide.columns else []) + cols]
    return wide.rename(columns={c: f"{_COMPONENTS[c]}_INV" for c in cols})


def reconcile_responses(investigator: pd.DataFrame, computed: pd.DataFrame) -> pd.DataFrame:
    """Reconciliation listing: every assessment where RS and the computed responses differ.

    Args:
        investigator: RS records of one evaluator, ``USUBJID``, ``VISITNUM``, ``CRIT`` (or
            ``RSCAT``; when both are absent the single criterion of ``computed`` is
            assumed) and either ``RSTESTCD``/``RSSTRESC`` (OVRLRESP, optionally TRGRESP,
            NTRGRESP, NEWLPROG) or those as columns (``OVRLRESP`` or ``AVALC``).
        computed: output of :func:`compute_visit_responses` (baseline rows are ignored).

    Returns:
        One row per ``USUBJID``/``CRIT``/``VISITNUM`` where the overall response or any
        component the investigator provided differs (a component the investigator left
        blank is not compared; "NA", "N/A" and "NOT APPLICABLE" count as the same), or
        that is present on one side only. Columns: keys,
        ``VISIT``, ``PRESENCE`` ("BOTH", "INVESTIGATOR ONLY", "COMPUTED ONLY"), ``DIFFERS``
        (comma list of the differing components), ``<comp>_INV`` / ``<comp>_CMP`` for
        AVALC, TRGRESP, NTRGRESP, NEWLPROG, then the computed ``ADT``, sums, percent
        changes and density for review.
    """
    keys = ["USUBJID", "CRIT", "VISITNUM"]
    inv = _investigator_wide(investigator, computed)
    cmp_ = computed.loc[computed["ABLFL"].ne("Y")].copy()
    cmp_["USUBJID"] = cmp_["USUBJID"].astype(str)
    comps = list(_COMPONENTS.values())
    cmp_ = cmp_.rename(columns={c: f"{c}_CMP" for c in comps})
    merged = inv.merge(cmp_, on=keys, how="outer", suffixes=("_INV", ""), indicator=True)
    if "VISIT_INV" in merged.columns:
        merged["VISIT"] = merged["VISIT"].where(merged["VISIT"].fillna("").ne(""),
                                                merged["VISIT_INV"])
    merged["PRESENCE"] = merged["_merge"].map({"both": "BOTH", "left_only": "INVESTIGATOR ONLY",
                                               "right_only": "COMPUTED ONLY"}).astype(str)
    diffs = pd.DataFrame(index=merged.index)
    for c in comps:
        if f"{c}_INV" not in merged.columns:
            merged[f"{c}_INV"] = ""
        inv_v = merged[f"{c}_INV"].fillna("").astype(str)
        cmp_v = merged[f"{c}_CMP"].fillna("").astype(str)
        merged[f"{c}_INV"], merged[f"{c}_CMP"] = inv_v, cmp_v
        diffs[c] = (merged["PRESENCE"].eq("BOTH") & inv_v.ne("")
                    & _comparable(inv_v).ne(_comparable(cmp_v)))
    merged["DIFFERS"] = ""
    for c in comps:
        merged["DIFFERS"] += np.where(diffs[c], c + ",", "")
    merged["DIFFERS"] = merged["DIFFERS"].str.rstrip(",")
    keep = merged["PRESENCE"].ne("BOTH") | merged["DIFFERS"].ne("")
    cols = (keys + ["VISIT", "PRESENCE", "DIFFERS"]
            + [f"{c}_{side}" for c in comps for side in ("INV", "CMP")]
            + ["ADT", "SUMDIAM", "SUMBASE", "SUMNADIR", "PCHGBASE", "PCHGNADIR", "TRGNMISS",
               "DENSITY", "DENSPCHG"])
    out = merged.loc[keep, cols].copy()
    out["VISIT"] = out["VISIT"].fillna("")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
