"""ADEX, the exposure analysis dataset (ADaMIG 1.3 Basic Data Structure), from SDTM EX.

Per treatment declared in the ``adex:`` section of a study's ``adam.yaml`` (which EX records,
the protocol's planned dose, the cycle length), ADEX holds

* one record per EX record (PARAMCD ``<code>DOSE``): the actual dose (AVAL = DOSEA), the
  planned dose of the protocol (DOSEP), the cumulative actual and planned doses up to that
  record (DOSCUMA, DOSCUMP) and CRIT1FL = Y when the dose is below the planned one;
* per subject and treatment the summary parameters (PARCAT2 ``OVERALL``): cycles started,
  duration, cumulative actual and planned dose, dose intensity, relative dose intensity,
  number of reductions, any reduction (Y/N), the first reduction (date and reason) and,
  for continuous drugs, the number of interruptions.

Sources: ADaMIG 1.3 section 3.3 (BDS; DOSEA, DOSEP, DOSCUMA, DOSCUMP, DOSEU, CRITy/CRITyFL,
PARCATy, SRCDOM/SRCVAR/SRCSEQ) and the exposure examples of the ADaM Examples document;
admiral's ADEX template for the choice of summary parameters (total dose, total planned
dose, duration, dose intensity). A dose is *reduced* when it is below the subject's planned
dose per the protocol (a study fact of adam.yaml), not when it is below the subject's first
dose: a subject started below the protocol dose counts as reduced from the start.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.core.factorize import isin_distinct

from .adae import require_columns
from .groups import factorize, merge_subjects, number_in_groups, sort_key, sorted_positions
from .imputation import as_datetime, convert_dtc_to_dt

__all__ = ["AdexConfig", "ExposureTreatment", "adex_config_from_dict", "derive_planned_dose",
           "derive_dose_records", "derive_exposure_summary", "derive_adsl_from_adex",
           "build_adex", "method_texts", "FREQUENCY_PER_DAY"]

#: administrations per day of the CDISC FREQ submission values used for daily dosing
#: (ONCE is a single administration per record); adam.yaml may add or override entries.
FREQUENCY_PER_DAY = {"QD": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0, "QOD": 0.5, "QAM": 1.0,
                     "QPM": 1.0, "QHS": 1.0}

#: summary parameters: code suffix -> (PARAM text, unit kind)
SUMMARY = {
    "NCYC": "Number of Cycles Started",
    "DURD": "Duration of Exposure (days)",
    "CUMD": "Cumulative Actual Dose ({unit})",
    "PCUM": "Cumulative Planned Dose ({unit})",
    "PDOS": "Planned Dose ({dose_unit})",
    "DI": "Dose Intensity ({unit}/week)",
    "PDI": "Planned Dose Intensity ({unit}/week)",
    "RDI": "Relative Dose Intensity (%)",
    "NRED": "Number of Dose Reductions",
    "RDFL": "Any Dose Reduction",
    "FRED": "First Dose Reduction",
    "NINT": "Number of Dose Interruptions",
}


@dataclass(frozen=True)
class ExposureTreatment:
    """One treatment of ADEX: EX records with ``EXTRT == extrt``; PARAMCD prefix ``code``
    (at most 4 characters, PARAMCD = code + DOSE, NCYC, ...); ``planned`` the protocol dose
    (per administration for a cycle drug, per day for a continuous one), either one number
    for every subject or per value of the ADSL variable ``planned_by``; ``cycle_days`` the
    cycle length of a drug given once per cycle (none: a continuous daily drug)."""

    extrt: str
    code: str
    label: str
    planned: float | None = None
    planned_by: str | None = None
    planned_values: Mapping[str, float] = field(default_factory=dict)
    cycle_days: int | None = None


@dataclass(frozen=True)
class AdexConfig:
    """The ``adex:`` section of adam.yaml."""

    treatments: tuple[ExposureTreatment, ...] = ()
    adsl_variables: tuple[str, ...] = ("STUDYID", "USUBJID", "SAFFL", "TRTSDT", "TRTEDT")
    treatment: Mapping[str, str] = field(default_factory=lambda: {"TRTP": "TRT01P",
                                                                  "TRTA": "TRT01A"})
    frequency_per_day: Mapping[str, float] = field(default_factory=dict)
    to_adsl: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # var -> (PARAMCD, label)


def adex_config_from_dict(data: Mapping[str, Any] | None, source: str = "adam.yaml") -> AdexConfig:
    """Build :class:`AdexConfig` from the ``adex:`` mapping (shape checked by the adam.yaml
    schema; the cross-key rules here)."""
    data = dict(data or {})
    treatments = []
    for i, t in enumerate(data.get("treatments") or []):
        planned = t.get("planned_dose")
        by, values, single = None, {}, None
        if isinstance(planned, Mapping):
            by = str(planned["by"])
            values = {str(k): float(v) for k, v in planned["values"].items()}
        elif planned is not None:
            single = float(planned)
        code = str(t["code"])
        if len(code) > 4:
            raise SpecError(f"adex.treatments[{i}].code {code!r}: at most 4 characters "
                            f"(PARAMCD = code + a 4-character suffix <= 8)", file=source,
                            rule="ADAM-CONFIG")
        treatments.append(ExposureTreatment(
            extrt=str(t["extrt"]), code=code, label=str(t.get("label", t["extrt"])),
            planned=single, planned_by=by, planned_values=values,
            cycle_days=t.get("cycle_days")))
    codes = [t.code for t in treatments]
    if len(set(codes)) != len(codes):
        raise SpecError("adex.treatments: every code must be unique", file=source,
                        rule="ADAM-CONFIG")
    base = AdexConfig()
    to_adsl = {}
    for name, spec in (data.get("adsl") or {}).items():
        spec = spec if isinstance(spec, Mapping) else {"paramcd": spec}
        to_adsl[str(name)] = (str(spec["paramcd"]), str(spec.get("label", "")))
    return AdexConfig(
        treatments=tuple(treatments),
        adsl_variables=tuple(data.get("adsl_variables", base.adsl_variables)),
        treatment={str(k): str(v) for k, v in (data.get("treatment") or base.treatment).items()},
        frequency_per_day={str(k).upper(): float(v)
                           for k, v in (data.get("frequency_per_day") or {}).items()},
        to_adsl=to_adsl)


# --------------------------------------------------------------------------------------
# derivations
# --------------------------------------------------------------------------------------
def derive_planned_dose(ex: pd.DataFrame, adsl: pd.DataFrame,
                        treatment: ExposureTreatment) -> pd.Series:
    """The protocol's planned dose of each EX record of ``treatment``: the single declared
    value, or the value declared for the subject's ADSL ``planned_by`` (e.g. the arm of a
    protocol amendment that lowered the starting dose). A subject whose value is not
    declared gets no planned dose (no reduction flag, no relative intensity)."""
    if treatment.planned_by is None:
        return pd.Series(treatment.planned, index=ex.index, dtype=float)
    require_columns(adsl, ["USUBJID", treatment.planned_by], "derive_planned_dose", "ADSL")
    per_subject = adsl.set_index("USUBJID")[treatment.planned_by].astype(str)
    planned = ex["USUBJID"].map(per_subject).map(dict(treatment.planned_values))
    return pd.to_numeric(planned, errors="coerce").astype(float)


def _per_day(frequency: pd.Series, table: Mapping[str, float], extrt: str) -> np.ndarray:
    freq = frequency.fillna("").astype(str).str.strip().str.upper()
    per_day = freq.map(dict(table)).to_numpy(float)
    unknown = sorted(set(freq[np.isnan(per_day)]))
    if unknown:
        raise InputError(f"EX {extrt}: EXDOSFRQ {', '.join(repr(u) for u in unknown)} has no "
                         f"number of administrations per day; declare it under "
                         f"adex.frequency_per_day", dataset="EX", variable="EXDOSFRQ",
                         rule="ADAM-ADEX-FREQUENCY")
    return per_day


def derive_dose_records(ex: pd.DataFrame, adsl: pd.DataFrame, treatment: ExposureTreatment, *,
                        frequency_per_day: Mapping[str, float] = FREQUENCY_PER_DAY,
                        ) -> pd.DataFrame:
    """One ADEX record per EX record of ``treatment`` (PARAMCD ``<code>DOSE``).

    Rules: ASTDT/AENDT = EXSTDTC/EXENDTC (complete dates; AENDT = ASTDT when EXENDTC is
    empty). A cycle drug (``cycle_days`` set): one record = one cycle (AVISIT ``CYCLE n`` in
    date order), DOSEA = EXDOSE times the administrations of the record (1 for ONCE, else
    administrations per day x days). A continuous drug: DOSEA = the daily dose, EXDOSE x
    administrations per day (EXDOSFRQ), AVISIT ``PERIOD n``. DOSEP = the protocol's planned
    dose on the same basis; DOSCUMA/DOSCUMP = actual/planned dose received up to and
    including the record (planned: DOSEP per cycle, or per day x days); CRIT1FL = Y when
    DOSEA < DOSEP (N otherwise, empty without a planned dose); DOSRED = Y on a *reduction*:
    a record below the planned dose that is the subject's first such record or lower than
    the record before it (a re-escalation followed by a new decrease counts again)."""
    require_columns(ex, ["USUBJID", "EXTRT", "EXDOSE", "EXSTDTC"], "derive_dose_records", "EX")
    # upper-cased once per distinct EXTRT, not per record
    codes, names = factorize(ex["EXTRT"].to_numpy(), use_na_sentinel=False)
    wanted = (pd.Series(names, dtype=object).astype(str).str.upper()
              == treatment.extrt.upper()).to_numpy()
    # the records of the treatment, only the columns read below
    read = [c for c in ("USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRQ", "EXSTDTC",
                        "EXENDTC", "EXADJ", "EXSEQ") if c in ex.columns]
    recs = ex[read][wanted[codes] if len(names) else np.zeros(len(ex), dtype=bool)]
    if "EXENDTC" not in recs:
        recs = recs.assign(EXENDTC="")
    astdt = convert_dtc_to_dt(recs["EXSTDTC"].astype(object))
    aendt = convert_dtc_to_dt(recs["EXENDTC"].fillna("").astype(object))
    aendt = aendt.where(aendt.notna(), astdt)
    recs = recs.assign(ASTDT=astdt.to_numpy(), AENDT=aendt.to_numpy())
    undated = recs["ASTDT"].isna()
    if undated.any():
        first = recs.loc[undated].iloc[0]
        raise InputError(f"EX {treatment.extrt}: {int(undated.sum())} record(s) without a "
                         f"complete EXSTDTC (first: {first['USUBJID']} {first['EXSTDTC']!r}); "
                         f"exposure cannot be summed", dataset="EX", variable="EXSTDTC",
                         rule="ADAM-ADEX-DATE")
    seq = "EXSEQ" if "EXSEQ" in recs else None
    # subjects numbered once (sorting like their text): the sort below and every per-subject
    # step group on these integers instead of hashing USUBJID again each time
    subject = sort_key(recs["USUBJID"].to_numpy())
    order = sorted_positions(recs, [subject, "ASTDT", *([seq] if seq else [])])
    recs, subject = recs.take(order), subject[order]
    first_of_subject = np.ones(len(recs), dtype=bool)
    first_of_subject[1:] = subject[1:] != subject[:-1]
    dose = pd.to_numeric(recs["EXDOSE"], errors="coerce").to_numpy(float)
    days = ((recs["AENDT"] - recs["ASTDT"]).dt.days + 1).to_numpy(float)
    freq = recs["EXDOSFRQ"] if "EXDOSFRQ" in recs else pd.Series("", index=recs.index)
    # decided once per distinct EXDOSFRQ text, spread by position
    codes, distinct = factorize(freq.to_numpy(dtype=object), use_na_sentinel=False)
    once = (pd.Series(distinct, dtype=object).fillna("").astype(str).str.upper()
            .isin(["ONCE", ""]).to_numpy()[codes] if len(distinct) else np.zeros(0, dtype=bool))
    table = {**FREQUENCY_PER_DAY, **dict(frequency_per_day)}
    per_day = np.ones(len(recs))
    if (~once).any():
        per_day[~once] = _per_day(freq[~once], table, treatment.extrt)
    received = np.where(once, dose, dose * per_day * days)       # dose units in the record
    planned = derive_planned_dose(recs, adsl, treatment).to_numpy(float)
    if treatment.cycle_days:
        dosea, planned_total, label = received, planned, "CYCLE"
    else:
        dosea = np.where(once, dose, dose * per_day)
        planned_total, label = planned * days, "PERIOD"
    number = number_in_groups(subject).astype(np.int64)
    unit = recs["EXDOSU"].fillna("").astype(str) if "EXDOSU" in recs \
        else pd.Series("", index=recs.index)
    below = dosea < planned
    previous = np.r_[np.nan, dosea[:-1]] if len(dosea) else dosea.astype(float)
    previous[first_of_subject] = np.nan
    reduction = below & (np.isnan(previous) | (dosea < previous))
    out = pd.DataFrame({
        "USUBJID": recs["USUBJID"].to_numpy(),
        "PARAMCD": treatment.code + "DOSE",
        "PARAM": f"{treatment.label} Dose per "
                 f"{'Cycle' if treatment.cycle_days else 'Day'}",
        "PARCAT1": treatment.label, "PARCAT2": "ADMINISTRATION",
        # one text per cycle number, shared by its records
        "AVISIT": np.array([f"{label} {n}" for n in range(number.max(initial=0) + 1)],
                           dtype=object)[number],
        "AVISITN": number.astype(float),
        "ASTDT": recs["ASTDT"].to_numpy(), "AENDT": recs["AENDT"].to_numpy(),
        "AVAL": dosea, "AVALC": None, "DOSEA": dosea, "DOSEP": planned,
        "DOSEU": (unit if treatment.cycle_days else unit.map(
            {u: f"{u}/day" for u in unit.unique()})).to_numpy(object),
        "DOSCUMA": pd.Series(received).groupby(subject).cumsum().to_numpy(),
        "DOSCUMP": pd.Series(planned_total).groupby(subject).cumsum().to_numpy(),
        "CRIT1": "Dose below the planned dose",
        "CRIT1FL": np.where(np.isnan(planned), None, np.where(below, "Y", "N")),
        "DOSRED": np.where(reduction, "Y", None),
        "EXADJ": recs["EXADJ"].to_numpy(object) if "EXADJ" in recs else None,
        "SRCDOM": "EX", "SRCVAR": "EXDOSE",
        "SRCSEQ": pd.to_numeric(recs[seq], errors="coerce").to_numpy(float) if seq else np.nan,
        "_RECEIVED": received, "_DAYS": days, "_UNIT": unit.to_numpy(object)},
        copy=False)   # each column is new: not copied into blocks again
    return out


def _concat(parts: list[pd.DataFrame], text: Sequence[str]) -> pd.DataFrame:
    """``pd.concat`` of ``parts`` (same columns, same order, same values) where the
    ``text`` columns a part holds only None in are left out of that part and put back as
    None: pandas checks an all-missing text block of a part value by value in Python (1 s
    for ADEX at 5,000 subjects), a column left out is filled without looking."""
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    dropped = [c for c in text if any(c in p and p[c].notna().any() for p in parts)]
    empty = [[c for c in dropped if c in p and not p[c].notna().any()] for p in parts]
    out = pd.concat([p.drop(columns=e) if e else p for p, e in zip(parts, empty)],
                    ignore_index=True)
    for column in {c for e in empty for c in e}:
        values = out[column].to_numpy(dtype=object).copy()
        values[pd.isna(values)] = None
        out[column] = values
    return out[columns]


def derive_exposure_summary(records: pd.DataFrame, treatment: ExposureTreatment) -> pd.DataFrame:
    """Per subject, the summary parameters of ``treatment`` from its dose records.

    NCYC (cycle drugs) = cycles started (dose records); DURD = last start - first start +
    ``cycle_days`` for a cycle drug (the last cycle counts in full), last end - first start
    + 1 for a continuous drug; CUMD/PCUM = cumulative actual/planned dose; PDOS = planned
    dose (per cycle or per day); DI = CUMD / DURD x 7 (per week); PDI = planned dose per
    cycle / cycle_days x 7, or planned daily dose x 7; RDI = 100 x DI / PDI; NRED = number
    of reductions (DOSRED = Y); RDFL = Y/N any dose below the planned dose; FRED = the first
    reduction (ADT its start date, AVALC its EXADJ reason); NINT (continuous drugs) = gaps
    of at least one day between consecutive dosing periods (an interruption leaves a gap,
    as it is no exposure and has no EX record)."""
    require_columns(records, ["USUBJID", "ASTDT", "AENDT", "DOSEA", "DOSEP", "CRIT1FL",
                              "DOSRED", "_RECEIVED", "_DAYS"], "derive_exposure_summary", "ADEX")
    g = records.groupby("USUBJID", sort=True)
    first, last_start, last_end = g["ASTDT"].min(), g["ASTDT"].max(), g["AENDT"].max()
    if treatment.cycle_days:
        durd = (last_start - first).dt.days + treatment.cycle_days
    else:
        durd = (last_end - first).dt.days + 1
    cumd = g["_RECEIVED"].sum()
    pdos = g["DOSEP"].first()
    pcum = g["DOSCUMP"].last()
    di = cumd / durd * 7
    pdi = pdos / treatment.cycle_days * 7 if treatment.cycle_days else pdos * 7
    rdi = 100 * di / pdi
    # cythonised group sums of boolean columns, not a Python function per subject
    by = records["USUBJID"]
    nred = records["DOSRED"].eq("Y").groupby(by, sort=True).sum().astype(float)
    known = records["CRIT1FL"].notna().groupby(by, sort=True).any()
    anyred = records["CRIT1FL"].eq("Y").groupby(by, sort=True).any()
    reductions = records[records["DOSRED"] == "Y"].groupby("USUBJID", sort=True).first()
    unit = g["_UNIT"].first()
    subjects = cumd.index
    rows = []

    def add(code: str, aval, avalc=None, adt=None, **fmt):
        text = SUMMARY[code].format(**fmt) if fmt else SUMMARY[code]
        part = pd.DataFrame({"USUBJID": subjects, "PARAMCD": treatment.code + code,
                             "PARAM": f"{treatment.label} {text}", "PARCAT1": treatment.label,
                             "PARCAT2": "OVERALL", "ASTDT": first.to_numpy(),
                             "AENDT": last_end.to_numpy(),
                             "AVAL": pd.Series(aval, index=subjects).to_numpy(float),
                             "AVALC": (pd.Series(avalc, index=subjects).to_numpy(object)
                                       if avalc is not None else None),
                             "ADT": (pd.Series(adt, index=subjects).to_numpy()
                                     if adt is not None else pd.NaT)}, copy=False)
        rows.append(part)

    units = unit.iloc[0] if len(unit) else ""
    dose_unit = units if treatment.cycle_days else f"{units}/day"
    if treatment.cycle_days:
        add("NCYC", g.size().astype(float))
    add("DURD", durd.astype(float))
    add("CUMD", cumd, unit=units)
    add("PCUM", pcum, unit=units)
    add("PDOS", pdos, dose_unit=dose_unit)
    add("DI", di, unit=units)
    add("PDI", pdi, unit=units)
    add("RDI", rdi)
    add("NRED", nred.where(known))
    flag = np.where(known, np.where(anyred, "Y", "N"), None)
    add("RDFL", np.where(known, anyred.astype(float), np.nan), avalc=flag)
    fred_reason = reductions["EXADJ"].reindex(subjects) if "EXADJ" in reductions \
        else pd.Series(None, index=subjects)
    fred_date = reductions["ASTDT"].reindex(subjects)
    has = fred_date.notna()
    if has.any():
        part_subjects = subjects[has.to_numpy()]
        rows.append(pd.DataFrame({
            "USUBJID": part_subjects, "PARAMCD": treatment.code + "FRED",
            "PARAM": f"{treatment.label} {SUMMARY['FRED']}", "PARCAT1": treatment.label,
            "PARCAT2": "OVERALL", "ASTDT": first[has].to_numpy(), "AENDT": last_end[has].to_numpy(),
            "AVAL": np.nan, "AVALC": fred_reason[has].fillna("").to_numpy(object),
            "ADT": fred_date[has].to_numpy()}))
    if not treatment.cycle_days:
        ordered = records.sort_values(["USUBJID", "ASTDT"], kind="stable")
        prev_end = ordered.groupby("USUBJID")["AENDT"].shift(1)
        gaps = ((ordered["ASTDT"] - prev_end).dt.days > 1)
        add("NINT", gaps.groupby(ordered["USUBJID"]).sum().reindex(subjects).astype(float))
    return _concat(rows, ["AVALC"])


def derive_adsl_from_adex(adsl: pd.DataFrame, adex: pd.DataFrame,
                          variables: Mapping[str, tuple[str, str]]) -> pd.DataFrame:
    """ADSL variables taken from ADEX summary parameters (``variable: (PARAMCD, label)``):
    the record's AVALC when the parameter is a character one (a flag), else AVAL. Subjects
    without the parameter get a missing value."""
    out = adsl.copy()
    labels = dict(out.attrs.get("labels", {}))
    # the summary records and their PARAMCD codes once, not two text comparisons of every
    # ADEX record per variable
    summary = adex[["USUBJID", "PARAMCD", "AVAL", "AVALC"]].loc[
        isin_distinct(adex["PARCAT2"], ["OVERALL"])]     # the four columns read, not all
    codes, names = factorize(summary["PARAMCD"].to_numpy(dtype=object))
    number = {code: i for i, code in enumerate(names)}
    for name, (paramcd, label) in variables.items():
        recs = summary[codes == number.get(paramcd, -2)]
        if recs.empty:
            raise InputError(f"adex.adsl.{name}: ADEX has no parameter {paramcd}",
                             dataset="ADEX", variable=name, rule="ADAM-ADEX-PARAMCD")
        recs = recs.drop_duplicates("USUBJID").set_index("USUBJID")
        character = recs["AVALC"].notna().any()
        values = out["USUBJID"].map(recs["AVALC"] if character else recs["AVAL"])
        out[name] = values.where(values.notna(), None).to_numpy(object) if character \
            else values.astype(float).to_numpy()
        if label:
            labels[name] = label
    out.attrs = {**adsl.attrs, "labels": labels}
    return out


def method_texts(config: AdexConfig) -> dict[str, str]:
    """define.xml method text of each derived ADEX variable, from the same config."""
    def planned(t: ExposureTreatment) -> str:
        if t.planned_by:
            values = ", ".join(f"{k}: {v:g}" for k, v in t.planned_values.items())
            return f"{t.label}: by ADSL.{t.planned_by} ({values})"
        return f"{t.label}: {t.planned:g}" if t.planned is not None else f"{t.label}: none"

    cycles = "; ".join(f"{t.label} {'every ' + str(t.cycle_days) + ' days' if t.cycle_days else 'continuous (per day)'}"
                       for t in config.treatments)
    return {
        "ASEQ": "Sequence number within USUBJID, records sorted by PARCAT1, PARCAT2, PARAMCD "
                "and ASTDT.",
        "PARCAT2": "ADMINISTRATION for the records of one EX record (PARAMCD <code>DOSE), "
                   "OVERALL for the per-subject summary parameters.",
        "AVISIT": "CYCLE n (a drug given once per cycle) or PERIOD n (a continuous drug): the "
                  "record's rank by EXSTDTC within subject and treatment.",
        "AVISITN": "n of AVISIT.",
        "ASTDT": "Dose records: EX.EXSTDTC as a date; summary records: the first dose.",
        "AENDT": "Dose records: EX.EXENDTC as a date (EXSTDTC when empty); summary records: "
                 "the end of the last dose record.",
        "ASTDY": "ASTDT - ADSL.TRTSDT + 1 on or after TRTSDT, else ASTDT - TRTSDT.",
        "AENDY": "AENDT - ADSL.TRTSDT + 1 on or after TRTSDT, else AENDT - TRTSDT.",
        "ADT": "<code>FRED: the start date of the first reduced dose.",
        "ADY": "ADT - ADSL.TRTSDT + 1 on or after TRTSDT, else ADT - TRTSDT.",
        "AVAL": "Dose records: DOSEA. Summary records: per parameter, see the value-level "
                "metadata (" + cycles + ").",
        "AVALC": "<code>RDFL: Y when any dose is below the planned dose, else N; <code>FRED: "
                 "EX.EXADJ of the first reduced dose.",
        "DOSEA": "EX.EXDOSE times the administrations of the record (1 for ONCE) for a cycle "
                 "drug; EX.EXDOSE times the administrations per day (EXDOSFRQ) for a "
                 "continuous drug.",
        "DOSEP": "The protocol's planned dose: " + "; ".join(planned(t) for t in config.treatments)
                 + ".",
        "DOSEU": "EX.EXDOSU (per day for a continuous drug).",
        "DOSCUMA": "Sum of the actual dose received up to and including the record.",
        "DOSCUMP": "Sum of the planned dose up to and including the record (per cycle, or "
                   "per day x days).",
        "CRIT1": "Text of the criterion: dose below the planned dose.",
        "CRIT1FL": "Y when DOSEA < DOSEP, N otherwise; missing without a planned dose.",
        "DOSRED": "Y on a reduction: a dose below DOSEP that is the first such dose or lower "
                  "than the previous one.",
        "SRCDOM": "EX for the dose records.",
        "SRCVAR": "EXDOSE for the dose records.",
        "SRCSEQ": "EX.EXSEQ of the dose record.",
    }


# --------------------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------------------
_ORDER = ["STUDYID", "USUBJID", "ASEQ", "PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "AVISIT",
          "AVISITN", "ASTDT", "ASTDY", "AENDT", "AENDY", "ADT", "ADY", "AVAL", "AVALC", "DOSEA",
          "DOSEP", "DOSEU", "DOSCUMA", "DOSCUMP", "CRIT1", "CRIT1FL", "DOSRED", "EXADJ",
          "SRCDOM", "SRCVAR", "SRCSEQ"]

LABELS = {"DOSRED": "Dose Reduction Flag", "EXADJ": "Reason for Dose Adjustment",
          "CRIT1": "Analysis Criterion 1", "CRIT1FL": "Criterion 1 Evaluation Result Flag"}


def _relative_day(date: pd.Series, reference: pd.Series) -> np.ndarray:
    diff = (as_datetime(date) - as_datetime(reference)).dt.days.to_numpy(float)
    return np.where(diff >= 0, diff + 1, diff)


def build_adex(ex: pd.DataFrame, adsl: pd.DataFrame, config: AdexConfig) -> pd.DataFrame:
    """ADEX from EX and ADSL: the dose records and summary parameters of every declared
    treatment, ADSL variables first, ASEQ per subject in PARAMCD, ASTDT order."""
    require_columns(ex, ["USUBJID", "EXTRT"], "build_adex", "EX")
    table = {**FREQUENCY_PER_DAY, **dict(config.frequency_per_day)}
    parts = []
    for treatment in config.treatments:
        records = derive_dose_records(ex, adsl, treatment, frequency_per_day=table)
        if records.empty:
            continue
        summary = derive_exposure_summary(records, treatment)
        parts += [records.drop(columns=["_RECEIVED", "_DAYS", "_UNIT"]), summary]
    if not parts:
        return pd.DataFrame()
    out = _concat(parts, ["AVALC", "EXADJ"])
    # the stable sort of the key columns only (groups), then every column moved once:
    # before the ADSL variables and study days are added (each per record), so that
    # they are made in this order rather than moved
    subject = sort_key(out["USUBJID"].to_numpy())
    order = sorted_positions(out, [subject, "PARCAT1", "PARCAT2", "PARAMCD", "ASTDT"])
    out = out.take(order).reset_index(drop=True)
    subject = subject[order]
    wanted = [v for v in config.adsl_variables if v != "USUBJID"]
    require_columns(adsl, ["USUBJID", *wanted, *config.treatment.values()], "build_adex",
                    "ADSL")
    right = adsl[["USUBJID", *dict.fromkeys([*wanted, *config.treatment.values()])]].copy()
    for new, old in config.treatment.items():
        right[new] = right[old]
    right = right[list(dict.fromkeys(["USUBJID", *wanted, *config.treatment]))]
    out = merge_subjects(out, right, how="left")
    if "TRTSDT" in out:
        out["ASTDY"] = _relative_day(out["ASTDT"], out["TRTSDT"])
        out["AENDY"] = _relative_day(out["AENDT"], out["TRTSDT"])
        out["ADY"] = _relative_day(out["ADT"], out["TRTSDT"])
    out["ASEQ"] = number_in_groups(subject)
    head = [c for c in dict.fromkeys([*config.adsl_variables, *config.treatment]) if c in out]
    order = [c for c in dict.fromkeys([*head, *_ORDER]) if c in out]
    out = out[order + [c for c in out.columns if c not in order]].reset_index(drop=True)
    for column in ("AVALC", "CRIT1FL", "DOSRED", "EXADJ", "AVISIT"):
        if column in out:
            values = out[column].to_numpy(dtype=object)
            missing = pd.isna(values)
            if missing.any():
                values = values.copy()
                values[missing] = None
            out[column] = values
    labels = {**{c: lbl for c, lbl in (adsl.attrs.get("labels") or {}).items()}, **LABELS}
    out.attrs = {"name": "ADEX", "label": "Exposure Analysis Dataset",
                 "labels": {c: labels[c] for c in out.columns if c in labels}}
    return out
