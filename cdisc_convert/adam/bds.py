"""BDS analysis datasets of findings (ADLB from LB, ADVS from VS, ...) from declarative
config: the ``bds:`` section of a study's ``adam.yaml`` (docs/adam-config.md).

Per declared dataset the records of one SDTM findings domain become ADaMIG 1.3 BDS records:

* PARAMCD = --TESTCD, PARAM = "--TEST (--STRESU)" (the unit in the text, as ADaMIG asks of
  PARAM), PARCAT1 = --CAT; AVAL = --STRESN, AVALC = --STRESC; ANRLO/ANRHI = --STNRLO/HI;
  ADT from --DTC; ADY relative to ADSL.TRTSDT (no day 0); SRCDOM/SRCVAR/SRCSEQ trace back;
* ABLFL/BASE by the declared baseline rule (default: the last non-missing AVAL on or before
  the first dose date, ADSL.TRTSDT, per subject and parameter; ties by --SEQ, the last
  wins), BNRIND, BTOXGRL/H from the baseline record; CHG = AVAL - BASE and
  PCHG = 100 * CHG / BASE on post-baseline records (PCHG missing when BASE is 0);
* ANRIND: LOW / NORMAL / HIGH against ANRLO/ANRHI; SHIFT1 = "BNRIND to ANRIND";
* AVISIT/AVISITN: the declared analysis windows on ADY (e.g. every 21 days, "Cycle {n}"),
  "Baseline" for the baseline record; ANL01FL = the record closest to the window's target
  day per subject, parameter and window (ties: the earlier);
* ONTRTFL: after the first dose date and up to the last dose date + the declared days;
* CTCAE v5.0 grades (``cdisc_convert.standards.ctcae``: NCI's thresholds as data):
  ATOXDSCL/ATOXGRL for the low-direction term and ATOXDSCH/ATOXGRH for the high one,
  ATOXGR = the single graded direction's grade (when both are graded: the low grade with a
  minus sign when it is above 0, else the high grade — admiral's convention); BTOXGR*
  from the baseline record;
* worst post-baseline flags among the on-treatment records: WORSTFL (lowest or highest
  AVAL per the declared direction), WGRLOFL/WGRHIFL (the highest ATOXGRL/ATOXGRH; ties:
  the earliest) — admiral's ADLB template names.

Sources: ADaMIG 1.3 section 3.3 (BDS variables), admiral's ``derive_var_base``,
``derive_var_chg``, ``derive_var_pchg``, ``derive_var_shift``, ``derive_var_atoxgr_dir``,
``derive_var_worst_flag`` (what they compute, not their code), NCI CTCAE v5.0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import filled
from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.core.factorize import isin_distinct
from cdisc_convert.standards import ctcae

from .adae import require_columns
from .groups import (factorize, group_codes, merge_subjects, number_in_groups, pick_per_group,
                     sort_key, sorted_positions, ties_in_row_order)
from .imputation import as_datetime, convert_dtc_to_dt

__all__ = ["BdsConfig", "Windows", "bds_configs_from_list", "derive_params_from_findings",
           "derive_var_ady", "derive_var_ablfl", "derive_var_base", "derive_var_chg_pchg",
           "derive_var_anrind", "derive_var_shift", "derive_var_avisit", "derive_var_ontrtfl",
           "derive_var_atoxgr", "derive_var_worst_flag", "build_bds", "method_texts"]


#: the records' groups of the derivations below unless their ``by_vars`` says otherwise
#: (names, or arrays aligned with the frame, e.g. the codes of :func:`groups.group_codes`
#: computed once for several steps)
BY_VARS = ("USUBJID", "PARAMCD")


@dataclass(frozen=True)
class Windows:
    """Analysis windows repeating every ``every`` days: window n (``first``..``last``) has
    the target day ``target + (n - 1) * every`` and covers the days from half a period
    before to just under half a period after it; AVISIT = ``label`` with {n}, AVISITN = n."""

    every: int
    label: str = "Cycle {n}"
    first: int = 2
    last: int = 99
    target: int = 1


@dataclass(frozen=True)
class BdsConfig:
    """One entry of ``bds:`` in adam.yaml."""

    dataset: str
    domain: str
    label: str = ""
    baseline: str = "last_on_or_before"     # or last_before: strictly before the first dose
    reference: str = "TRTSDT"
    on_treatment_days: int = 30
    windows: Windows | None = None
    worst: Mapping[str, str] = field(default_factory=dict)        # PARAMCD -> low | high
    grading: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # PARAMCD -> L/H -> term
    ctcae_defaults: bool = True             # grade the tests the CTCAE criteria name
    adsl_variables: tuple[str, ...] = ("STUDYID", "USUBJID", "TRT01A", "SAFFL", "TRTSDT",
                                       "TRTEDT")


def bds_configs_from_list(data: Sequence[Mapping[str, Any]] | None,
                          source: str = "adam.yaml") -> tuple[BdsConfig, ...]:
    """The ``bds:`` list of adam.yaml as :class:`BdsConfig` (shape checked by the schema;
    the cross-key rules here: unique dataset names, known CTCAE terms, low/high)."""
    out = []
    for i, item in enumerate(data or ()):
        where = f"bds[{i}]"
        windows = item.get("windows")
        grading = {}
        for paramcd, terms in (item.get("grading") or {}).items():
            grading[str(paramcd)] = {}
            for direction, term in terms.items():
                key = {"low": "L", "high": "H"}.get(str(direction))
                if key is None:
                    raise SpecError(f"{where}.grading.{paramcd}: {direction!r} is not low/high",
                                    file=source, rule="ADAM-CONFIG")
                crit = ctcae.criterion(str(term))
                if crit.direction != key:
                    raise SpecError(f"{where}.grading.{paramcd}.{direction}: {term!r} grades "
                                    f"{'low' if crit.direction == 'L' else 'high'} values",
                                    file=source, rule="ADAM-CONFIG")
                grading[str(paramcd)][key] = crit.term
        worst = {str(k): str(v) for k, v in (item.get("worst") or {}).items()}
        if set(worst.values()) - {"low", "high"}:
            raise SpecError(f"{where}.worst: each direction must be low or high", file=source,
                            rule="ADAM-CONFIG")
        base = BdsConfig(dataset=str(item["dataset"]), domain=str(item["domain"]))
        out.append(BdsConfig(
            dataset=base.dataset, domain=base.domain, label=str(item.get("label", "")),
            baseline=str(item.get("baseline", base.baseline)),
            reference=str(item.get("reference", base.reference)),
            on_treatment_days=int(item.get("on_treatment_days", base.on_treatment_days)),
            windows=Windows(**windows) if windows else None, worst=worst, grading=grading,
            ctcae_defaults=bool(item.get("ctcae_defaults", True)),
            adsl_variables=tuple(item.get("adsl_variables", base.adsl_variables))))
    names = [c.dataset for c in out]
    if len(set(names)) != len(names):
        raise SpecError("bds: every dataset name must be unique", file=source,
                        rule="ADAM-CONFIG")
    return tuple(out)


# --------------------------------------------------------------------------------------
# derivations (each: a frame and explicit parameters; inputs checked)
# --------------------------------------------------------------------------------------
def _most_frequent(group: np.ndarray, values: pd.Series, keep: np.ndarray) -> pd.Series:
    """Per ``group`` code (among the records ``keep``) its most frequent value; ties: the
    first in sort order (what ``Series.mode().iloc[0]`` gives), counted on codes."""
    codes, distinct = factorize(values.to_numpy())
    pair, pairs = pd.factorize(group[keep] * max(len(distinct), 1) + codes[keep])
    counts = pd.DataFrame({"G": pairs // max(len(distinct), 1),
                           "TEXT": np.asarray(distinct, dtype=object)[
                               pairs % max(len(distinct), 1)],
                           "N": np.bincount(pair, minlength=len(pairs))})
    counts = counts.sort_values(["G", "N", "TEXT"], ascending=[True, False, True],
                                kind="stable")
    first = counts.drop_duplicates("G")
    return pd.Series(first["TEXT"].to_numpy(object), index=first["G"].to_numpy())


def _param_texts(testcd: pd.Series, name: pd.Series, unit: pd.Series) -> pd.Series:
    """PARAM per record: per PARAMCD the test's most frequent name and, in parentheses,
    its most frequent non-empty unit (one PARAM per PARAMCD, as ADaMIG asks: a record
    without a result, hence without a unit, does not make a second text). Each distinct
    text is made once and shared by its records."""
    group, codes = factorize(testcd.to_numpy())
    every = np.ones(len(group), dtype=bool)
    names = _most_frequent(group, name, every)
    units = _most_frequent(group, unit, unit.ne("").to_numpy())
    texts = np.array([f"{names[g]} ({units[g]})" if g in units.index else names[g]
                      for g in range(len(codes))], dtype=object)
    return pd.Series(texts[group], index=testcd.index)


def derive_params_from_findings(findings: pd.DataFrame, domain: str) -> pd.DataFrame:
    """BDS parameters from an SDTM findings domain: PARAMCD = --TESTCD, PARAM = --TEST with
    the standard unit in parentheses, PARCAT1 = --CAT, AVAL = --STRESN, AVALC = --STRESC,
    ANRLO/ANRHI = --STNRLO/--STNRHI, ADT = --DTC's date (no imputation), VISIT/VISITNUM,
    SRCDOM/SRCVAR/SRCSEQ. Rule: ADaMIG 1.3 section 3.3.4 (PARAM includes the unit)."""
    p = domain.upper()
    require_columns(findings, ["USUBJID", f"{p}TESTCD", f"{p}TEST", f"{p}DTC"],
                    "derive_params_from_findings", p)

    def col(name: str, default=np.nan) -> pd.Series:
        return findings[name] if name in findings else pd.Series(default, index=findings.index)

    def text(values: pd.Series, clean=lambda u: u) -> pd.Series:
        """``values`` as text ("" for missing), each distinct value converted once and
        spread by position (a findings domain repeats a few thousand texts over millions
        of records)."""
        codes, distinct = factorize(values.to_numpy(), use_na_sentinel=False)
        done = clean(pd.Series(distinct, dtype=object).fillna("").astype(str))
        return pd.Series(done.to_numpy(object)[codes], index=findings.index)

    def as_str(values: pd.Series) -> pd.Series:
        """``values.astype(str)`` (a missing value becomes its text, "nan" / "None"), each
        distinct text converted once."""
        codes, distinct = factorize(values.to_numpy())
        out = pd.Series(distinct, dtype=object).astype(str).to_numpy(object).take(
            np.maximum(codes, 0)) if len(distinct) else np.empty(len(values), dtype=object)
        missing = codes < 0
        if missing.any():
            out[missing] = values[missing].astype(str).to_numpy(object)
        return pd.Series(out, index=findings.index)

    unit = text(col(f"{p}STRESU", ""), lambda u: u.str.strip())
    testcd = as_str(findings[f"{p}TESTCD"])
    param = _param_texts(testcd, text(findings[f"{p}TEST"]), unit)
    out = pd.DataFrame({
        "USUBJID": as_str(findings["USUBJID"]),
        "PARAMCD": testcd,
        "PARAM": param,
        "PARCAT1": text(col(f"{p}CAT", "")),
        "AVAL": pd.to_numeric(col(f"{p}STRESN"), errors="coerce"),
        "AVALC": text(col(f"{p}STRESC", "")),
        "AVALU": unit,
        "ANRLO": pd.to_numeric(col(f"{p}STNRLO"), errors="coerce"),
        "ANRHI": pd.to_numeric(col(f"{p}STNRHI"), errors="coerce"),
        "ADT": convert_dtc_to_dt(text(findings[f"{p}DTC"])),
        "VISIT": text(col("VISIT", "")),
        "VISITNUM": pd.to_numeric(col("VISITNUM"), errors="coerce"),
        "SRCDOM": p, "SRCVAR": f"{p}STRESN",
        "SRCSEQ": pd.to_numeric(col(f"{p}SEQ"), errors="coerce")},
        copy=False)   # each column is new (or taken as is): not copied into blocks again
    return out.reset_index(drop=True)


def derive_var_ady(bds: pd.DataFrame, reference: str = "TRTSDT") -> pd.DataFrame:
    """ADY = ADT - reference + 1 on or after the reference date, ADT - reference before it
    (no day 0; ADaMIG --DY convention)."""
    require_columns(bds, ["ADT", reference], "derive_var_ady", "BDS")
    # shallow: every derive_* below only adds or replaces whole columns, so the input's
    # columns are shared, not copied (a deep copy per step cost more than the steps)
    out = bds.copy(deep=False)
    days = (as_datetime(out["ADT"]) - as_datetime(out[reference])).dt.days
    out["ADY"] = np.where(days >= 0, days + 1, days)
    out["ADY"] = out["ADY"].astype(float)
    return out


def derive_var_ablfl(bds: pd.DataFrame, *, reference: str = "TRTSDT",
                     rule: str = "last_on_or_before", by_vars: Sequence = BY_VARS
                     ) -> pd.DataFrame:
    """ABLFL = Y on the baseline record of each subject and parameter: the last record with
    a non-missing AVAL dated on or before (``last_on_or_before``) or strictly before
    (``last_before``) the ``reference`` date (ADSL.TRTSDT, the first dose); ties by SRCSEQ,
    the last wins; ``by_vars``: see :data:`BY_VARS`. Rule: the study's declared baseline
    definition (admiral ``derive_var_extreme_flag(mode = "last")`` over the pre-dose
    records)."""
    require_columns(bds, ["USUBJID", "PARAMCD", "ADT", "AVAL", reference], "derive_var_ablfl",
                    "BDS")
    if rule not in ("last_on_or_before", "last_before"):
        raise SpecError(f"derive_var_ablfl: unknown baseline rule {rule!r} (last_on_or_before, "
                        f"last_before)", rule="ADAM-CONFIG")
    out = bds.copy(deep=False)
    adt, ref = as_datetime(out["ADT"]), as_datetime(out[reference])
    before = (adt <= ref) if rule == "last_on_or_before" else (adt < ref)
    candidates = (before & out["AVAL"].notna() & adt.notna()).to_numpy()
    order = ["ADT", *(["SRCSEQ"] if "SRCSEQ" in out else [])]
    last = pick_per_group(out, candidates, by_vars, order, last=True)
    flag = filled(len(out), "")
    flag[last] = "Y"
    out["ABLFL"] = flag
    return out


def derive_var_base(bds: pd.DataFrame, *, source: str = "AVAL", new_var: str = "BASE",
                    by_vars: Sequence = BY_VARS, baseline: np.ndarray | None = None
                    ) -> pd.DataFrame:
    """``new_var`` = the ``source`` value of the subject's baseline record (ABLFL = Y) of the
    same parameter, on every record (admiral ``derive_var_base``; ``by_vars``: see
    :data:`BY_VARS`). ``baseline``: the positions of the ABLFL = Y records when the caller
    has them (several BASE-like variables from one ABLFL), else found here."""
    require_columns(bds, ["USUBJID", "PARAMCD", "ABLFL", source], "derive_var_base", "BDS")
    out = bds.copy(deep=False)
    codes, n_groups = group_codes(out, by_vars)
    if baseline is None:
        baseline = np.flatnonzero(isin_distinct(out["ABLFL"], ["Y"]))
    source_row = np.full(n_groups, -1, dtype=np.intp)
    source_row[codes[baseline]] = baseline
    # a group with two baseline records kept one of them: the other is not found back
    # (a check without sorting the baseline groups, as np.unique would)
    if not (source_row[codes[baseline]] == baseline).all():
        twice = pd.Series(codes[baseline]).duplicated().to_numpy()
        row = out.iloc[baseline[twice][0]]
        raise InputError(f"derive_var_base: {row['USUBJID']} {row['PARAMCD']} has more than "
                         f"one baseline record (ABLFL = Y)", variable="ABLFL",
                         rule="ADAM-BDS-BASELINE")
    # a take with fill: records without a baseline get the dtype's missing value, as a
    # reindex gives (NaN for numbers and text)
    out[new_var] = pd.api.extensions.take(out[source].to_numpy(), source_row[codes],
                                          allow_fill=True)
    return out


def derive_var_chg_pchg(bds: pd.DataFrame) -> pd.DataFrame:
    """CHG = AVAL - BASE and PCHG = 100 * CHG / BASE on records after the baseline (not on
    the baseline record nor before it); PCHG missing when BASE is 0 (admiral
    ``derive_var_chg``, ``derive_var_pchg``)."""
    require_columns(bds, ["AVAL", "BASE", "ABLFL", "ADY"], "derive_var_chg_pchg", "BDS")
    out = bds.copy(deep=False)
    post = ~isin_distinct(out["ABLFL"], ["Y"]) & (out["ADY"] > 1).to_numpy()
    chg = out["AVAL"] - out["BASE"]
    out["CHG"] = chg.where(post)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["PCHG"] = (100 * chg / out["BASE"]).where(post & out["BASE"].ne(0))
    return out


def derive_var_anrind(bds: pd.DataFrame) -> pd.DataFrame:
    """ANRIND = LOW (AVAL < ANRLO), HIGH (AVAL > ANRHI), NORMAL otherwise when a limit is
    known; empty without a value or a range."""
    require_columns(bds, ["AVAL", "ANRLO", "ANRHI"], "derive_var_anrind", "BDS")
    out = bds.copy(deep=False)
    known = out["AVAL"].notna() & (out["ANRLO"].notna() | out["ANRHI"].notna())
    # positions into four shared strings: a numpy text array would become one new str
    # object per record in the frame
    which = np.select([out["AVAL"] < out["ANRLO"], out["AVAL"] > out["ANRHI"], known],
                      [0, 1, 2], 3)
    out["ANRIND"] = np.array(["LOW", "HIGH", "NORMAL", ""], dtype=object)[which]
    return out


def derive_var_shift(bds: pd.DataFrame, *, from_var: str = "BNRIND", to_var: str = "ANRIND",
                     new_var: str = "SHIFT1") -> pd.DataFrame:
    """``new_var`` = "<from> to <to>" on post-baseline records with both values (admiral
    ``derive_var_shift``); empty elsewhere."""
    require_columns(bds, [from_var, to_var, "ABLFL", "ADY"], "derive_var_shift", "BDS")
    out = bds.copy(deep=False)
    # the texts of each distinct value and pair made once and shared by their records (not
    # one new string per record: 8 bytes a record instead of ~70)
    ca, a = factorize(out[from_var].to_numpy(object), use_na_sentinel=False)
    cb, b = factorize(out[to_var].to_numpy(object), use_na_sentinel=False)
    a = pd.Series(a, dtype=object).fillna("").astype(str).to_numpy(object)
    b = pd.Series(b, dtype=object).fillna("").astype(str).to_numpy(object)
    ok = ((a != "")[ca] & (b != "")[cb] & ~isin_distinct(out["ABLFL"], ["Y"])
          & (out["ADY"] > 1).to_numpy())
    pair, pairs = pd.factorize(ca * max(len(b), 1) + cb)
    texts = np.array([f"{a[k // max(len(b), 1)]} to {b[k % max(len(b), 1)]}" for k in pairs],
                     dtype=object)
    out[new_var] = np.where(ok, texts[pair] if len(pairs) else "", "")
    return out


def derive_var_avisit(bds: pd.DataFrame, windows: Windows | None, *,
                      by_vars: Sequence = BY_VARS) -> pd.DataFrame:
    """AVISIT/AVISITN: "Baseline" (AVISITN 0) on the baseline record; for post-baseline
    records the window of ``windows`` holding ADY (window n: target day ``target + (n-1) *
    every``, from ``every // 2`` days before to ``every - every // 2 - 1`` after it);
    ANL01FL = Y on the record of each subject, parameter and window closest to the target
    day (ties: the earlier; ``by_vars``: see :data:`BY_VARS`). Without windows: the SDTM
    VISIT/VISITNUM."""
    require_columns(bds, ["USUBJID", "PARAMCD", "ADY", "ABLFL", "VISIT", "VISITNUM"],
                    "derive_var_avisit", "BDS")
    out = bds.copy(deep=False)
    baseline = isin_distinct(out["ABLFL"], ["Y"])
    if windows is None:
        avisit, avisitn = out["VISIT"].copy(), out["VISITNUM"].copy()
        target = pd.Series(np.nan, index=out.index)
    else:
        every, half = windows.every, windows.every // 2
        n = np.floor((out["ADY"] - windows.target + half) / every) + 1
        inside = (out["ADY"] > 1) & (n >= windows.first) & (n <= windows.last) & ~baseline
        avisitn = n.where(inside)
        avisit = pd.Series(_number_text(avisitn.to_numpy(float), windows.label,
                                        lambda v: f"{v:.0f}"), index=out.index)
        target = windows.target + (avisitn - 1) * every
    avisit[baseline] = "Baseline"
    avisitn[baseline] = 0.0
    out["AVISIT"], out["AVISITN"] = avisit, pd.to_numeric(avisitn, errors="coerce")
    distance = (out["ADY"] - target).abs().fillna(0).to_numpy()
    eligible = (out["AVISITN"].notna() & out["AVAL"].notna()).to_numpy()
    best = pick_per_group(out, eligible, [*by_vars, "AVISITN"], [distance, "ADT"])
    flag = filled(len(out), "")
    flag[best] = "Y"
    out["ANL01FL"] = flag
    return out


def derive_var_ontrtfl(bds: pd.DataFrame, *, days_after: int = 30) -> pd.DataFrame:
    """ONTRTFL = Y for records after the first dose date (ADSL.TRTSDT) and no later than the
    last dose date (TRTEDT) + ``days_after`` days (the study's treatment-emergent window;
    admiral ``derive_var_ontrtfl`` with a ref_end_window)."""
    require_columns(bds, ["ADT", "TRTSDT", "TRTEDT"], "derive_var_ontrtfl", "BDS")
    out = bds.copy(deep=False)
    adt = as_datetime(out["ADT"])
    end = as_datetime(out["TRTEDT"]) + pd.Timedelta(days=days_after)
    out["ONTRTFL"] = np.where((adt > as_datetime(out["TRTSDT"])) & (adt <= end), "Y", "")
    return out


def _number_text(values: np.ndarray, template: str, fmt) -> np.ndarray:
    """``template`` with {n} = ``fmt(value)`` per value of a float array ("" for NaN), each
    distinct value formatted once and spread by position (not one call per record)."""
    present = ~np.isnan(values)
    distinct = np.unique(values[present])
    text = np.array([template.replace("{n}", fmt(v)) for v in distinct] + [""], dtype=object)
    return text[np.where(present, np.searchsorted(distinct, np.where(present, values, 0)),
                         len(distinct))]


def _text_grade(values: np.ndarray) -> np.ndarray:
    return _number_text(values, "{n}", lambda v: f"{int(v)}")


def derive_var_atoxgr(bds: pd.DataFrame, *, terms: Mapping[str, Mapping[str, str]]
                      ) -> pd.DataFrame:
    """CTCAE v5.0 grades: for each PARAMCD of ``terms`` (``{"L": term, "H": term}``)
    ATOXDSCL/ATOXGRL (low term) and ATOXDSCH/ATOXGRH (high term) from AVAL and the normal
    range (criteria: ``specs/ctcae-5.0/lab_grades.yaml``; AVAL converted to the criterion's
    unit from AVALU when they differ); ATOXGR = the grade of the single graded direction,
    or with both: "-g" for a low grade g > 0, else the high grade (admiral
    ``derive_var_atoxgr``). Grades are text ("0"-"4"); empty = not graded."""
    require_columns(bds, ["PARAMCD", "AVAL", "AVALU", "ANRLO", "ANRHI"], "derive_var_atoxgr",
                    "BDS")
    from cdisc_convert.standards.units import UnitError, convert

    out = bds.copy(deep=False)
    graded = {var: filled(len(out), "") for var in ("ATOXDSCL", "ATOXGRL", "ATOXDSCH",
                                                    "ATOXGRH")}
    # PARAMCD numbered once and the records ordered by it (stable): each parameter's
    # records are one slice of positions, not a comparison of every record per parameter
    codes, names = factorize(out["PARAMCD"].to_numpy(dtype=object))
    number = {name: i for i, name in enumerate(names)}
    by_code = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by_code], np.arange(len(names) + 1))
    for paramcd, by_direction in terms.items():
        if paramcd not in number:
            continue
        rows = by_code[bounds[number[paramcd]]:bounds[number[paramcd] + 1]]
        part = out[["AVAL", "AVALU", "ANRLO", "ANRHI"]].iloc[rows]
        for direction, term in by_direction.items():
            crit = ctcae.criterion(term)
            aval, low, high = part["AVAL"], part["ANRLO"], part["ANRHI"]
            units = {str(u) for u in pd.unique(part["AVALU"].dropna())} - {""}
            if units - {crit.unit}:
                try:
                    factor = {u: float(convert(np.array([1.0]), u, crit.unit)[0]) for u in units}
                except UnitError as exc:
                    raise InputError(f"derive_var_atoxgr: {paramcd} is in {sorted(units)}, "
                                     f"which cannot be converted to {crit.unit} ({crit.term})",
                                     variable="AVALU", rule="ADAM-CTCAE-UNIT") from exc
                scale = part["AVALU"].map(factor).astype(float)
                aval, low, high = aval * scale, low * scale, high * scale
            grade = _text_grade(ctcae.grade_values(crit, aval, low=low, high=high)
                                .to_numpy(float))
            suffix = "L" if direction == "L" else "H"
            graded[f"ATOXDSC{suffix}"][rows] = crit.term
            graded[f"ATOXGR{suffix}"][rows] = grade
    for var, values in graded.items():
        out[var] = values
    lo, hi = graded["ATOXGRL"], graded["ATOXGRH"]
    has_lo, has_hi = graded["ATOXDSCL"] != "", graded["ATOXDSCH"] != ""
    # with both directions: "-g" for a low grade g > 0, the high grade for a low grade 0,
    # else empty; decided once per distinct low grade text ("-g": one shared string each)
    lo_codes, lo_texts = factorize(lo)
    minus = np.array([f"-{g}" if g in ("1", "2", "3", "4") else "" for g in lo_texts] + [""],
                     dtype=object)
    zero = np.array([g == "0" for g in lo_texts] + [False])
    combined = np.where(zero[lo_codes], hi, minus[lo_codes])
    grade = filled(len(out), "")
    grade[has_hi] = hi[has_hi]
    grade[has_lo] = lo[has_lo]
    both = has_lo & has_hi
    grade[both] = combined[both]
    out["ATOXGR"] = grade
    return out


def _to_number(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(errors="coerce")``, parsing each distinct text (a grade) once."""
    if values.dtype != object:
        return pd.to_numeric(values, errors="coerce")
    codes, distinct = factorize(values.to_numpy())
    numbers = pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce").to_numpy(float)
    return pd.Series(np.where(codes < 0, np.nan, numbers[np.maximum(codes, 0)] if len(numbers)
                              else np.nan), index=values.index)


def derive_var_worst_flag(bds: pd.DataFrame, *, new_var: str, order_var: str,
                          worst: Mapping[str, str], numeric: bool = True,
                          by_vars: Sequence = BY_VARS) -> pd.DataFrame:
    """``new_var`` = Y on one record per subject and parameter among the on-treatment
    records (ONTRTFL = Y) with a ``order_var`` value: the lowest (``worst[PARAMCD]`` =
    ``low``) or highest (``high``) value; ties: the earliest ADT (admiral
    ``derive_var_worst_flag``; ``by_vars``: see :data:`BY_VARS`). Parameters not in
    ``worst`` get no flag."""
    require_columns(bds, ["USUBJID", "PARAMCD", "ADT", "ONTRTFL", order_var],
                    "derive_var_worst_flag", "BDS")
    out = bds.copy(deep=False)
    flag = filled(len(out), "")
    value = _to_number(out[order_var]) if numeric else out[order_var]
    candidates = isin_distinct(out["ONTRTFL"], ["Y"]) & value.notna().to_numpy()
    for direction in ("low", "high"):
        params = [p for p, d in worst.items() if d == direction]
        rows = isin_distinct(out["PARAMCD"], params) & candidates
        if not rows.any():
            continue
        key = value.to_numpy() if direction == "low" else -value.to_numpy()
        flag[pick_per_group(out, rows, by_vars, [key, "ADT"])] = "Y"
    out[new_var] = flag
    return out


# --------------------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------------------
def _grading_terms(config: BdsConfig, paramcds: Sequence[str]) -> dict[str, dict[str, str]]:
    """The CTCAE terms per PARAMCD: the criteria's default tests (unless switched off),
    overridden by the study's ``grading``."""
    terms: dict[str, dict[str, str]] = {}
    if config.ctcae_defaults:
        for (test, direction), crit in ctcae.criteria_for_tests().items():
            if test in paramcds:
                terms.setdefault(test, {})[direction] = crit.term
    for paramcd, by_direction in config.grading.items():
        terms[paramcd] = dict(by_direction)
    return terms


def build_bds(findings: pd.DataFrame, adsl: pd.DataFrame, config: BdsConfig) -> pd.DataFrame:
    """A BDS dataset (ADLB, ADVS ...) from the SDTM findings domain ``config.domain`` and
    ADSL, derived in the order of the module docstring."""
    require_columns(adsl, list(config.adsl_variables) + [config.reference, "TRTSDT", "TRTEDT"],
                    "build_bds", "ADSL")
    bds = derive_params_from_findings(findings, config.domain)
    keep = list(dict.fromkeys([*config.adsl_variables, config.reference, "TRTSDT", "TRTEDT"]))
    bds = merge_subjects(bds, adsl[keep], how="inner")
    # the subject and parameter groups numbered once for every step below (no step
    # reorders the records before the final sort)
    subject = sort_key(bds["USUBJID"].to_numpy())
    by = [group_codes(bds, [subject, "PARAMCD"])[0]]
    # the records put in their final order now, while they have a third of the columns
    # (moving every column of a large frame costs seconds), when the steps below see the
    # same records then: each step is per record or per subject and parameter, and a
    # tie a step breaks by row order is among records of one subject, parameter and ADT,
    # which the sort must then leave in their order (the records of a findings domain
    # sorted by its keys and --SEQ numbered in that order are); otherwise at the end
    order = sorted_positions(bds, [*by, "ADT", "SRCSEQ"])
    early = ties_in_row_order(order, [by[0], bds["ADT"].to_numpy()])
    if early:
        bds = bds.take(order).reset_index(drop=True)
        subject, by = subject[order], [by[0][order]]
    bds = derive_var_ady(bds, config.reference)
    bds = derive_var_ablfl(bds, reference=config.reference, rule=config.baseline, by_vars=by)
    # the baseline records found once for the five BASE-like variables
    baseline = np.flatnonzero(isin_distinct(bds["ABLFL"], ["Y"]))
    bds = derive_var_base(bds, by_vars=by, baseline=baseline)
    bds = derive_var_chg_pchg(bds)
    bds = derive_var_anrind(bds)
    bds = derive_var_base(bds, source="ANRIND", new_var="BNRIND", by_vars=by,
                          baseline=baseline)
    bds["BNRIND"] = bds["BNRIND"].fillna("")
    bds = derive_var_shift(bds)
    bds = derive_var_avisit(bds, config.windows, by_vars=by)
    bds = derive_var_ontrtfl(bds, days_after=config.on_treatment_days)
    terms = _grading_terms(config, sorted(bds["PARAMCD"].unique()))
    bds = derive_var_atoxgr(bds, terms=terms)
    for var, base in (("ATOXGRL", "BTOXGRL"), ("ATOXGRH", "BTOXGRH"), ("ATOXGR", "BTOXGR")):
        bds = derive_var_base(bds, source=var, new_var=base, by_vars=by, baseline=baseline)
        bds[base] = bds[base].fillna("")
    worst = dict(config.worst)
    for paramcd, by_direction in terms.items():
        worst.setdefault(paramcd, "low" if "L" in by_direction else "high")
    bds = derive_var_worst_flag(bds, new_var="WORSTFL", order_var="AVAL", worst=worst,
                                by_vars=by)
    for var, flag, direction in (("ATOXGRL", "WGRLOFL", "L"), ("ATOXGRH", "WGRHIFL", "H")):
        graded = {p: "high" for p, d in terms.items() if direction in d}
        bds = derive_var_worst_flag(bds, new_var=flag, order_var=var, worst=graded,
                                    by_vars=by)
    if not early:
        order = sorted_positions(bds, [*by, "ADT", "SRCSEQ"])
        bds, subject = bds.take(order), subject[order]
    bds["ASEQ"] = number_in_groups(subject)
    # AVALU is not an ADaMIG 1.3 variable: the unit is in PARAM
    columns = [*config.adsl_variables, "ASEQ", "PARAMCD", "PARAM", "PARCAT1", "AVAL", "AVALC",
               "BASE", "CHG", "PCHG", "ABLFL", "ADT", "ADY", "AVISIT", "AVISITN",
               "ANL01FL", "ONTRTFL", "ANRLO", "ANRHI", "ANRIND", "BNRIND", "SHIFT1",
               "ATOXDSCL", "ATOXGRL", "BTOXGRL", "ATOXDSCH", "ATOXGRH", "BTOXGRH", "ATOXGR",
               "BTOXGR", "WORSTFL", "WGRLOFL", "WGRHIFL", "VISIT", "VISITNUM", "SRCDOM",
               "SRCVAR", "SRCSEQ"]
    columns = list(dict.fromkeys(c for c in columns if c in bds))
    out = bds[columns].reset_index(drop=True)
    labels = {**(adsl.attrs.get("labels") or {}), **LABELS}
    out.attrs = {"name": config.dataset, "label": config.label or config.dataset,
                 "labels": {c: labels[c] for c in out.columns if c in labels}}
    return out


#: labels of the variables ADaMIG 1.3 does not list (sponsor flags of admiral's template,
#: the SDTM visit carried for traceability); the others come from ADaMIG's metadata
LABELS = {"WORSTFL": "Worst Post-Baseline Value Flag",
          "WGRLOFL": "Worst Low Grade Post-Baseline Flag",
          "WGRHIFL": "Worst High Grade Post-Baseline Flag",
          "VISIT": "Visit Name", "VISITNUM": "Visit Number"}


def method_texts(config: BdsConfig) -> dict[str, str]:
    """define.xml method text of each derived variable of a BDS dataset, from its config."""
    p = config.domain
    when = "on or before" if config.baseline == "last_on_or_before" else "before"
    w = config.windows
    windows = (f"window n ({w.first}-{w.last}) of ADY: target day {w.target} + {w.every} x "
               f"(n - 1), from {w.every // 2} days before the target to the day before the "
               f"next window; AVISIT '{w.label}', AVISITN n" if w else f"{p}.VISIT / VISITNUM")
    return {
        "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT and SRCSEQ.",
        "PARAM": f"{p}.{p}TEST with the standard unit ({p}.{p}STRESU) in parentheses.",
        "AVAL": f"{p}.{p}STRESN.", "AVALC": f"{p}.{p}STRESC.",
        "ANRLO": f"{p}.{p}STNRLO.", "ANRHI": f"{p}.{p}STNRHI.",
        "ADT": f"{p}.{p}DTC as a date (no imputation).",
        "ADY": f"ADT - ADSL.{config.reference} + 1 on or after it, else ADT - "
               f"{config.reference}.",
        "ABLFL": f"Y on the last record with a non-missing AVAL dated {when} "
                 f"ADSL.{config.reference}, per subject and parameter (ties: the last "
                 f"{p}SEQ).",
        "BASE": "AVAL of the baseline record (ABLFL = Y) of the subject and parameter.",
        "CHG": "AVAL - BASE after the baseline; missing on and before it.",
        "PCHG": "100 x (AVAL - BASE) / BASE after the baseline; missing when BASE is 0.",
        "ANRIND": "LOW when AVAL < ANRLO, HIGH when AVAL > ANRHI, NORMAL otherwise (empty "
                  "without a value or a range).",
        "BNRIND": "ANRIND of the baseline record.",
        "SHIFT1": "BNRIND 'to' ANRIND on post-baseline records with both.",
        "AVISIT": f"'Baseline' on the baseline record; post-baseline: {windows}.",
        "AVISITN": "0 for Baseline; n of the analysis window.",
        "ANL01FL": "Y on the record closest to the window's target day per subject, parameter "
                   "and analysis visit (ties: the earlier), and on the baseline record.",
        "ONTRTFL": f"Y when ADT is after ADSL.TRTSDT and no later than ADSL.TRTEDT + "
                   f"{config.on_treatment_days} days.",
        "ATOXDSCL": "The CTCAE v5.0 term graded for low values of the parameter "
                    "(NCI CTCAE v5.0, 27 November 2017).",
        "ATOXDSCH": "The CTCAE v5.0 term graded for high values of the parameter.",
        "ATOXGRL": "CTCAE v5.0 grade of ATOXDSCL from AVAL and ANRLO (NCI thresholds, the "
                   "worst grade whose condition holds; 0 within the normal limit; empty "
                   "when the limit needed is missing).",
        "ATOXGRH": "CTCAE v5.0 grade of ATOXDSCH from AVAL and ANRHI (as ATOXGRL).",
        "ATOXGR": "The graded direction's grade; with both: -ATOXGRL when above 0, else "
                  "ATOXGRH.",
        "BTOXGRL": "ATOXGRL of the baseline record.", "BTOXGRH": "ATOXGRH of the baseline "
                                                                 "record.",
        "BTOXGR": "ATOXGR of the baseline record.",
        "WORSTFL": "Y on the record with the lowest (low-graded or declared low) or highest "
                   "AVAL among the ONTRTFL records per subject and parameter (ties: the "
                   "earliest).",
        "WGRLOFL": "Y on the record with the highest ATOXGRL among the ONTRTFL records per "
                   "subject and parameter (ties: the earliest).",
        "WGRHIFL": "Y on the record with the highest ATOXGRH among the ONTRTFL records per "
                   "subject and parameter (ties: the earliest).",
        "SRCDOM": "The SDTM domain of the record.", "SRCVAR": f"{p}STRESN.",
        "SRCSEQ": f"{p}.{p}SEQ of the record.",
    }
