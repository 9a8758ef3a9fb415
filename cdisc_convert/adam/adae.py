"""ADAE, the adverse-event analysis dataset (ADaM OCCDS), from SDTM AE and ADSL.

One record per AE record (traceability: AESEQ). Every rule below is a small ``derive_*``
function taking a frame and explicit parameters; :func:`build_adae` strings them together
from an :class:`AdaeConfig` read from the ``adae:`` section of a study's ``adam.yaml``
(docs/adam-config.md, "ADAE"). Sources: ADaM Structure for Occurrence Data (OCCDS) v1.1
(variables ASTDT/ASTDTF, ASTDY, AENDT, AENDY, ADURN/ADURU, TRTEMFL, AOCCxxFL, CQzzNAM);
admiral's ``derive_var_trtemfl`` and ``derive_var_extreme_flag`` for the treatment-emergent
and first-occurrence rules; the CDISC pilot's ADAE define.xml for the pilot's settings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError, SpecError

from .groups import merge_subjects, pick_per_group
from .imputation import as_datetime, derive_vars_dt


def require_columns(frame: pd.DataFrame, columns: Sequence[str], function: str,
                    dataset: str = "AE") -> None:
    """One clear error naming the function and every missing variable (admiral's
    ``assert_data_frame(required_vars=...)``)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{function} needs {', '.join(missing)} in {dataset}, which it does "
                         f"not have", dataset=dataset, variable=missing[0],
                         rule="ADAM-REQUIRED-VARIABLE")


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OccurrenceFlag:
    """A first-occurrence flag (``AOCCFL``, ``AOCCSFL``, ``AOCC02FL`` ...).

    Among the records matching ``where`` (variable -> value or list of values; ``nonmissing``
    lists variables that must be filled), grouped by USUBJID and ``by``, the first record in
    the order of ``order`` gets ``Y``; with ``rank`` (a variable and its values from worst to
    mildest, e.g. AESEV SEVERE, MODERATE, MILD, or ATOXGR 5..1) the worst record comes first
    (the maximum-severity variants AOCCIFL, AOCCSIFL, AOCCPIFL). Others stay blank.
    """

    name: str
    by: tuple[str, ...] = ()
    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    nonmissing: tuple[str, ...] = ()
    order: tuple[str, ...] = ("ASTDT", "AESEQ")
    rank_variable: str | None = None
    rank_values: tuple[str, ...] = ()
    label: str | None = None


@dataclass(frozen=True)
class CustomQuery:
    """A customized query ``CQzzNAM`` (OCCDS): ``value`` when ``term_variable`` contains any
    of ``term_contains`` (case-insensitive) or the SOC is one of ``socs`` and the term is
    not one of ``exclude_terms``; blank otherwise."""

    name: str
    value: str
    term_variable: str = "AEDECOD"
    term_contains: tuple[str, ...] = ()
    soc_variable: str = "AEBODSYS"
    socs: tuple[str, ...] = ()
    exclude_terms: tuple[str, ...] = ()
    label: str | None = None


@dataclass(frozen=True)
class AdaeConfig:
    """The ``adae:`` section of adam.yaml (defaults: admiral's ADAE template)."""

    adsl_variables: tuple[str, ...] = ("STUDYID", "SITEID", "USUBJID", "AGE", "SEX", "RACE",
                                       "SAFFL", "TRTSDT", "TRTEDT")
    treatment: Mapping[str, str] = field(default_factory=lambda: {"TRTA": "TRT01A",
                                                                  "TRTAN": "TRT01AN"})
    start_highest_imputation: str = "n"
    start_date_imputation: str = "first"
    end_highest_imputation: str = "n"
    end_date_imputation: str = "last"
    reference_date: str = "TRTSDT"
    # treatment-emergent window: ASTDT >= TRTSDT and ASTDT <= end_date + end_window_days
    trtemfl_end_date: str | None = "TRTEDT"
    trtemfl_end_window_days: int | None = None       # None: no upper limit
    trtemfl_missing_start: str = "end_on_or_after_start"   # or "not_emergent"
    trtemfl_no: str = ""                              # value for non-emergent (pilot: N)
    duration_unit: str = "DAY"
    duration_from_imputed: bool = True               # the pilot: False
    custom_queries: tuple[CustomQuery, ...] = ()
    occurrence_flags: tuple[OccurrenceFlag, ...] = (
        OccurrenceFlag("AOCCFL", (), {"TRTEMFL": ("Y",)}),
        OccurrenceFlag("AOCCSFL", ("AEBODSYS",), {"TRTEMFL": ("Y",)}),
        OccurrenceFlag("AOCCPFL", ("AEBODSYS", "AEDECOD"), {"TRTEMFL": ("Y",)}),
    )
    labels: Mapping[str, str] = field(default_factory=dict)


_TRTEMFL_MISSING = ("end_on_or_after_start", "not_emergent", "emergent")
_IMPUTATION_LEVELS = ("n", "D", "M", "Y")


def _tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))


def adae_config_from_dict(data: Mapping[str, Any] | None, source: str = "adam.yaml") -> AdaeConfig:
    """Build :class:`AdaeConfig` from the ``adae:`` mapping of adam.yaml (shape checked by
    the adam.yaml schema; the values' meaning here)."""
    data = dict(data or {})
    base = AdaeConfig()
    start, end = dict(data.get("start_date") or {}), dict(data.get("end_date") or {})
    te = dict(data.get("treatment_emergent") or {})
    for where, value in (("start_date.highest_imputation", start.get("highest_imputation")),
                         ("end_date.highest_imputation", end.get("highest_imputation"))):
        if value is not None and value not in _IMPUTATION_LEVELS:
            raise SpecError(f"adae.{where} must be one of {', '.join(_IMPUTATION_LEVELS)}, "
                            f"not {value!r}", file=source, rule="ADAM-CONFIG")
    missing_start = te.get("missing_start", base.trtemfl_missing_start)
    if missing_start not in _TRTEMFL_MISSING:
        raise SpecError(f"adae.treatment_emergent.missing_start must be one of "
                        f"{', '.join(_TRTEMFL_MISSING)}, not {missing_start!r}", file=source,
                        rule="ADAM-CONFIG")
    queries = tuple(CustomQuery(
        name=str(q["name"]), value=str(q["value"]),
        term_variable=str(q.get("term_variable", "AEDECOD")),
        term_contains=_tuple(q.get("term_contains")),
        soc_variable=str(q.get("soc_variable", "AEBODSYS")), socs=_tuple(q.get("socs")),
        exclude_terms=_tuple(q.get("exclude_terms")), label=q.get("label"))
        for q in data.get("custom_queries") or [])
    flags = base.occurrence_flags
    if data.get("occurrence_flags") is not None:
        flags = tuple(OccurrenceFlag(
            name=str(f["name"]), by=_tuple(f.get("by")),
            where={str(k): _tuple(v) for k, v in (f.get("where") or {}).items()},
            nonmissing=_tuple(f.get("nonmissing")),
            order=_tuple(f.get("order")) or ("ASTDT", "AESEQ"),
            rank_variable=(f.get("rank") or {}).get("variable"),
            rank_values=_tuple((f.get("rank") or {}).get("values")), label=f.get("label"))
            for f in data["occurrence_flags"])
    return AdaeConfig(
        adsl_variables=_tuple(data["adsl_variables"]) if "adsl_variables" in data
        else base.adsl_variables,
        treatment={str(k): str(v) for k, v in (data.get("treatment") or base.treatment).items()},
        start_highest_imputation=start.get("highest_imputation", base.start_highest_imputation),
        start_date_imputation=start.get("date_imputation", base.start_date_imputation),
        end_highest_imputation=end.get("highest_imputation", base.end_highest_imputation),
        end_date_imputation=end.get("date_imputation", base.end_date_imputation),
        reference_date=str(data.get("reference_date", base.reference_date)),
        trtemfl_end_date=te.get("end_date", base.trtemfl_end_date),
        trtemfl_end_window_days=te.get("end_window_days", base.trtemfl_end_window_days),
        trtemfl_missing_start=missing_start,
        trtemfl_no=str(te.get("no_value", base.trtemfl_no)),
        duration_unit=str((data.get("duration") or {}).get("unit", base.duration_unit)),
        duration_from_imputed=bool((data.get("duration") or {}).get(
            "from_imputed_dates", base.duration_from_imputed)),
        custom_queries=queries, occurrence_flags=flags,
        labels={str(k): str(v) for k, v in (data.get("labels") or {}).items()})


# --------------------------------------------------------------------------------------
# derivations
# --------------------------------------------------------------------------------------
def derive_vars_merged_adsl(ae: pd.DataFrame, adsl: pd.DataFrame, variables: Sequence[str],
                            renames: Mapping[str, str]) -> pd.DataFrame:
    """AE records with ADSL variables (``variables`` as they are, ``renames`` new <- ADSL
    name, e.g. TRTA <- TRT01A). Rule: OCCDS v1.1 section 3 (ADSL variables needed for
    analysis are copied). A subject missing from ADSL is an error, never a silent row."""
    require_columns(ae, ["USUBJID"], "derive_vars_merged_adsl")
    wanted = [v for v in variables if v != "USUBJID"] + list(renames.values())
    require_columns(adsl, ["USUBJID", *wanted], "derive_vars_merged_adsl", dataset="ADSL")
    unknown = sorted(set(ae["USUBJID"]) - set(adsl["USUBJID"]))
    if unknown:
        raise InputError(f"{len(unknown)} subject(s) in AE are not in ADSL/DM: "
                         f"{', '.join(map(str, unknown[:5]))}", dataset="AE",
                         variable="USUBJID", rule="ADAM-SUBJECT-NOT-IN-ADSL")
    right = adsl[["USUBJID", *dict.fromkeys(wanted)]].copy()
    for new, old in renames.items():
        right[new] = right[old]
    keep = ["USUBJID", *[v for v in variables if v != "USUBJID"], *renames]
    right = right[list(dict.fromkeys(keep))]
    overlap = [c for c in right.columns if c != "USUBJID" and c in ae.columns]
    return merge_subjects(ae.drop(columns=overlap), right, how="left")


def derive_analysis_dates(frame: pd.DataFrame, *, start_dtc: str = "AESTDTC",
                          end_dtc: str = "AEENDTC", start_highest_imputation: str = "n",
                          start_date_imputation: str = "first", end_highest_imputation: str = "n",
                          end_date_imputation: str = "last") -> pd.DataFrame:
    """ASTDT/ASTDTF from AESTDTC and AENDT/AENDTF from AEENDTC (admiral ``derive_vars_dt``:
    a partial date is imputed up to ``highest_imputation`` — D day, M month and day — to the
    first or last possible date; the flag says which part was imputed). The CDISC pilot
    imputes a missing start day to 01 and nothing else (start: D/first; end: none)."""
    require_columns(frame, [start_dtc, end_dtc], "derive_analysis_dates")
    out = derive_vars_dt(frame, "AST", start_dtc, highest_imputation=start_highest_imputation,
                         date_imputation=start_date_imputation)
    out = derive_vars_dt(out, "AEN", end_dtc, highest_imputation=end_highest_imputation,
                         date_imputation=end_date_imputation)
    if end_highest_imputation == "n":
        out = out.drop(columns=["AENDTF"])
    if start_highest_imputation == "n":
        out = out.drop(columns=["ASTDTF"])
    return out


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return ((as_datetime(later) - as_datetime(earlier)).dt.days).to_numpy(float)


def derive_relative_days(frame: pd.DataFrame, reference: str = "TRTSDT",
                         dates: Mapping[str, str] | None = None) -> pd.DataFrame:
    """ASTDY/AENDY: date - reference + 1 on or after the reference, date - reference before
    it (no day 0; ADaMIG 1.3 *DY convention, the pilot's define.xml)."""
    dates = dict(dates or {"ASTDY": "ASTDT", "AENDY": "AENDT"})
    require_columns(frame, [reference, *dates.values()], "derive_relative_days")
    out = frame.copy()
    for new, date in dates.items():
        diff = _days(out[date], out[reference])
        out[new] = np.where(diff >= 0, diff + 1, diff)
    return out


def derive_duration(frame: pd.DataFrame, unit: str = "DAY",
                    from_imputed: bool = True) -> pd.DataFrame:
    """ADURN = AENDT - ASTDT + 1 (days, both ends counted), ADURU = ``unit`` where ADURN is
    present (the pilot's define.xml; OCCDS ADURN/ADURU). With ``from_imputed`` false a
    duration is not computed from an imputed date (ASTDTF/AENDTF set), as in the CDISC
    pilot; admiral's ``derive_vars_duration`` computes it either way (the default)."""
    require_columns(frame, ["ASTDT", "AENDT"], "derive_duration")
    out = frame.copy()
    days = _days(out["AENDT"], out["ASTDT"]) + 1
    if not from_imputed:
        for flag in ("ASTDTF", "AENDTF"):
            if flag in out:
                imputed = out[flag].fillna("").astype(str).str.strip().ne("").to_numpy()
                days = np.where(imputed, np.nan, days)
    out["ADURN"] = days
    out["ADURU"] = np.where(np.isnan(out["ADURN"].to_numpy(float)), "", unit).astype(object)
    return out


def derive_var_trtemfl(frame: pd.DataFrame, *, start: str = "ASTDT", end: str = "AENDT",
                       trt_start: str = "TRTSDT", trt_end: str | None = "TRTEDT",
                       end_window_days: int | None = None,
                       missing_start: str = "end_on_or_after_start",
                       no_value: str = "") -> pd.DataFrame:
    """TRTEMFL (admiral ``derive_var_trtemfl``): ``Y`` when the event starts on or after the
    first dose and, with ``end_window_days``, no later than ``trt_end`` + that many days.
    An event without a start date is emergent when ``missing_start`` says so:
    ``end_on_or_after_start`` (admiral: its end is missing or on/after the first dose),
    ``emergent`` or ``not_emergent`` (the pilot). Untreated subjects (no ``trt_start``) are
    never emergent. Other records get ``no_value`` (blank in admiral, ``N`` in the pilot)."""
    need = [start, end, trt_start] + ([trt_end] if end_window_days is not None else [])
    require_columns(frame, need, "derive_var_trtemfl")
    if missing_start not in _TRTEMFL_MISSING:
        raise SpecError(f"derive_var_trtemfl: missing_start {missing_start!r} is not one of "
                        f"{', '.join(_TRTEMFL_MISSING)}", rule="ADAM-CONFIG")
    astdt, aendt = as_datetime(frame[start]), as_datetime(frame[end])
    trtsdt = as_datetime(frame[trt_start])
    on_or_after = (astdt >= trtsdt).to_numpy()
    if end_window_days is not None:
        limit = as_datetime(frame[trt_end]) + pd.to_timedelta(end_window_days, unit="D")
        on_or_after = on_or_after & (astdt <= limit).fillna(False).to_numpy()
    no_start = astdt.isna().to_numpy() & trtsdt.notna().to_numpy()
    if missing_start == "emergent":
        undated = no_start
    elif missing_start == "end_on_or_after_start":
        undated = no_start & (aendt.isna() | (aendt >= trtsdt)).to_numpy()
    else:
        undated = np.zeros(len(frame), dtype=bool)
    out = frame.copy()
    out["TRTEMFL"] = np.where(on_or_after | undated, "Y", no_value).astype(object)
    return out


def derive_custom_query(frame: pd.DataFrame, query: CustomQuery) -> pd.DataFrame:
    """CQzzNAM (OCCDS customized query): ``query.value`` where the term contains one of the
    query's strings (case-insensitive), or the SOC is one of its SOCs and the term is not
    excluded; blank otherwise."""
    require_columns(frame, [query.term_variable] + ([query.soc_variable] if query.socs else []),
                    "derive_custom_query")
    term = frame[query.term_variable].fillna("").astype(str).str.upper()
    hit = np.zeros(len(frame), dtype=bool)
    for text in query.term_contains:
        hit |= term.str.contains(text.upper(), regex=False).to_numpy()
    if query.socs:
        soc = frame[query.soc_variable].fillna("").astype(str).str.upper()
        in_soc = soc.isin([s.upper() for s in query.socs]).to_numpy()
        excluded = term.isin([t.upper() for t in query.exclude_terms]).to_numpy()
        hit |= in_soc & ~excluded
    out = frame.copy()
    out[query.name] = np.where(hit, query.value, "").astype(object)
    return out


def derive_occurrence_flag(frame: pd.DataFrame, flag: OccurrenceFlag) -> pd.DataFrame:
    """A first-occurrence flag (admiral ``derive_var_extreme_flag(mode = "first")``; OCCDS
    AOCCxxFL): see :class:`OccurrenceFlag`. Records are ordered by ``order`` with missing
    dates last; ties keep the input order."""
    columns = ["USUBJID", *flag.by, *flag.where, *flag.nonmissing, *flag.order]
    if flag.rank_variable:
        columns.append(flag.rank_variable)
    require_columns(frame, list(dict.fromkeys(columns)), f"derive_occurrence_flag({flag.name})")
    keep = np.ones(len(frame), dtype=bool)
    for variable, values in flag.where.items():
        keep &= frame[variable].astype(str).isin(values).to_numpy()
    for variable in flag.nonmissing:
        keep &= (frame[variable].notna() & (frame[variable].astype(str).str.strip() != "")).to_numpy()
    order: list = list(flag.order)
    if flag.rank_variable:
        ranks = {str(v): i for i, v in enumerate(flag.rank_values)}
        order.insert(0, frame[flag.rank_variable].astype(str).map(ranks)
                     .fillna(len(ranks)).to_numpy(float))
    # the first record of each group found on the key columns (row positions; ties in row
    # order, missing values last), not by sorting and deduplicating a copy of the records
    first = pick_per_group(frame, keep, ["USUBJID", *flag.by], order)
    out = frame.copy(deep=False)      # one column added: the others are shared
    values = np.full(len(out), "", dtype=object)
    values[first] = "Y"
    out[flag.name] = values
    return out


# --------------------------------------------------------------------------------------
# method text (define.xml), made from the same config as the derivation
# --------------------------------------------------------------------------------------
def _imputation_text(level: str, how: str, source: str) -> str:
    if level == "n":
        return f"{source} as a date; a partial date gives no date (no imputation)"
    part = {"D": "a missing day", "M": "a missing day or month", "Y": "a missing day, month "
            "or year"}[level]
    return f"{source} as a date, {part} imputed to the {how} possible date"


def method_texts(config: AdaeConfig) -> dict[str, str]:
    """define.xml method text of each derived ADAE variable, from ``config``."""
    te = (f"Y when ASTDT is on or after ADSL.TRTSDT"
          + (f" and no later than ADSL.{config.trtemfl_end_date} + "
             f"{config.trtemfl_end_window_days} days" if config.trtemfl_end_window_days
             is not None else "")
          + {"end_on_or_after_start": "; an event without a start date is emergent when its "
                                      "end date is missing or on/after TRTSDT",
             "emergent": "; an event without a start date is emergent",
             "not_emergent": "; an event without a start date is not emergent"}[
              config.trtemfl_missing_start]
          + f"; otherwise {config.trtemfl_no or 'blank'}.")
    texts = {
        "ASTDT": _imputation_text(config.start_highest_imputation,
                                  config.start_date_imputation, "AE.AESTDTC") + ".",
        "ASTDTF": "D, M or Y: the highest part of ASTDT that was imputed; blank otherwise.",
        "AENDT": _imputation_text(config.end_highest_imputation, config.end_date_imputation,
                                  "AE.AEENDTC") + ".",
        "AENDTF": "D, M or Y: the highest part of AENDT that was imputed; blank otherwise.",
        "ASTDY": f"ASTDT - ADSL.{config.reference_date} + 1 on or after it, ASTDT - "
                 f"{config.reference_date} before it (no day 0).",
        "AENDY": f"AENDT - ADSL.{config.reference_date} + 1 on or after it, AENDT - "
                 f"{config.reference_date} before it (no day 0).",
        "ADURN": "AENDT - ASTDT + 1" + ("" if config.duration_from_imputed else
                                        "; missing when either date was imputed") + ".",
        "ADURU": f"{config.duration_unit} where ADURN is present.",
        "TRTEMFL": te,
        "ASEV": "AE.AESEV.",
        "ATOXGR": "AE.AETOXGR.",
    }
    for q in config.custom_queries:
        rule = f"'{q.value}' when {q.term_variable} contains any of " + ", ".join(
            f"'{t}'" for t in q.term_contains)
        if q.socs:
            rule += (f", or {q.soc_variable} is one of " + ", ".join(f"'{s}'" for s in q.socs)
                     + (" and the term is not one of " + ", ".join(
                         f"'{t}'" for t in q.exclude_terms) if q.exclude_terms else ""))
        texts[q.name] = rule + "; blank otherwise."
    for f in config.occurrence_flags:
        subset = " and ".join(f"{k} in ({', '.join(v)})" for k, v in f.where.items())
        subset += "".join(f" and {v} not missing" for v in f.nonmissing)
        order = ", ".join(f.order)
        worst = (f"the worst {f.rank_variable} (order {', '.join(f.rank_values)}), then "
                 if f.rank_variable else "")
        texts[f.name] = (f"Y on the first record ({worst}by {order}) per USUBJID"
                         + "".join(f", {b}" for b in f.by)
                         + (f" among records with {subset}" if subset else "")
                         + "; blank otherwise.")
    return texts


# --------------------------------------------------------------------------------------
# the dataset
# --------------------------------------------------------------------------------------
def build_adae(ae: pd.DataFrame, adsl: pd.DataFrame, config: AdaeConfig) -> pd.DataFrame:
    """ADAE from AE and ADSL following ``config`` (one record per AE record, AE's order)."""
    require_columns(ae, ["USUBJID", "AESEQ", "AESTDTC"], "build_adae")
    ae = ae.copy()
    if "AEENDTC" not in ae:              # Expected, not Required, in SDTMIG AE
        ae["AEENDTC"] = ""
    out = derive_vars_merged_adsl(ae, adsl, config.adsl_variables, config.treatment)
    out = derive_analysis_dates(out, start_highest_imputation=config.start_highest_imputation,
                                start_date_imputation=config.start_date_imputation,
                                end_highest_imputation=config.end_highest_imputation,
                                end_date_imputation=config.end_date_imputation)
    out = derive_relative_days(out, config.reference_date)
    out = derive_duration(out, config.duration_unit, config.duration_from_imputed)
    out = derive_var_trtemfl(out, trt_start=config.reference_date,
                             trt_end=config.trtemfl_end_date,
                             end_window_days=config.trtemfl_end_window_days,
                             missing_start=config.trtemfl_missing_start,
                             no_value=config.trtemfl_no)
    if "AESEV" in out:
        out["ASEV"] = out["AESEV"]
    if "AETOXGR" in out:
        out["ATOXGR"] = out["AETOXGR"]
    for query in config.custom_queries:
        out = derive_custom_query(out, query)
    for flag in config.occurrence_flags:
        out = derive_occurrence_flag(out, flag)
    adsl_cols = [c for c in dict.fromkeys([*config.adsl_variables, *config.treatment])
                 if c in out]
    derived = ["ASTDT", "ASTDTF", "ASTDY", "AENDT", "AENDTF", "AENDY", "ADURN", "ADURU"]
    ae_cols = [c for c in ae.columns if c not in ("DOMAIN",) and c not in adsl_cols
               and not c.endswith(("DTC", "DY")) and c in out]
    tail = ["TRTEMFL", "ASEV", "ATOXGR",
            *[q.name for q in config.custom_queries], *[f.name for f in config.occurrence_flags]]
    order = [c for c in dict.fromkeys([*adsl_cols, *derived, *ae_cols, *tail]) if c in out]
    out = out[order].reset_index(drop=True)
    labels = {**{c: lbl for c, lbl in (ae.attrs.get("labels") or {}).items()},
              **{c: lbl for c, lbl in (adsl.attrs.get("labels") or {}).items()},
              **{f.name: f.label for f in config.occurrence_flags if f.label},
              **{q.name: q.label for q in config.custom_queries if q.label},
              **dict(config.labels)}
    out.attrs = {"name": "ADAE", "label": "Adverse Events Analysis Dataset",
                 "labels": {c: labels[c] for c in out.columns if c in labels}}
    return out
