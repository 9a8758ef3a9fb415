"""ADSL, the subject-level analysis dataset, derived in admiral's manner.

``build_adsl(sdtm, config)`` chains small derivations, each a function
``derive_...(adsl, ..., *, explicit parameters) -> adsl`` that adds variables and documents its
rule. One record per DM subject; all DM variables except DOMAIN are kept (as admiral's
template starts from ``dm %>% select(-DOMAIN)``). Study-specific facts (age bins, data
sources for last-alive dates, sponsor variables ...) come from :class:`AdamConfig`.

Inputs are SDTM domains as DataFrames keyed by domain name (``"DM"``, ``"EX"``, ``"DS"``,
``"AE"`` ...; case-insensitive). Only DM is required: without EX, treatment dates come from
DM.RFXSTDTC/RFXENDTC; without DS, disposition and RANDDT stay missing.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.core.expr import where_mask
from cdisc_convert.core.text import condition_text, number_text, quote_list

from .config import (AdamConfig, DateSource, ImputationRule, PopulationFlag, SponsorVariable,
                     ValueSource, apply_where)
from .groups import factorize, pick_per_group, sort_key
from .imputation import (convert_dtc_to_dt, date_imputation_text, datetime_imputation_text,
                         derive_vars_dt, derive_vars_dtm)

__all__ = [
    "get_domain",
    "derive_vars_dm",
    "derive_vars_treatment",
    "derive_var_trtdurd",
    "derive_vars_disposition",
    "derive_var_randdt",
    "derive_vars_death",
    "derive_var_dthcaus",
    "derive_var_lstalvdt",
    "derive_var_agegr1",
    "derive_var_saffl",
    "derive_var_ittfl",
    "derive_population_flags",
    "derive_sponsor_variables",
    "build_adsl",
    "method_texts",
    "sponsor_method_text",
]


def get_domain(sdtm: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    """The domain ``name`` from a dict of SDTM frames (key case-insensitive), or None."""
    for key, frame in sdtm.items():
        if str(key).upper() == name.upper() and frame is not None:
            return frame
    return None


def _seq_col(frame: pd.DataFrame) -> str | None:
    seq = [c for c in frame.columns if c.endswith("SEQ") and len(c) == 5]
    return seq[0] if seq else None


def _merge_subject(adsl: pd.DataFrame, values: pd.DataFrame,
                   columns: Iterable[str]) -> pd.DataFrame:
    """Add per-subject ``values`` (one row per USUBJID) to ADSL, replacing ``columns``;
    subjects without a row get missing values (None for text)."""
    out = adsl.copy()
    keyed = values.set_index("USUBJID")
    if not keyed.index.is_unique:
        raise ValueError("per-subject values must have one row per USUBJID")
    for col in columns:
        merged = keyed[col].reindex(out["USUBJID"].to_numpy())
        if merged.dtype == object:
            merged = merged.where(merged.notna(), None)
        out[col] = merged.to_numpy()
    return out


def _first_per_subject(frame: pd.DataFrame, order: list[str], *,
                       last: bool = False) -> pd.DataFrame:
    """The first (or last) record per subject in ``order`` (missing values sort outside;
    ties in row order), picked on the key columns (row positions) rather than by sorting
    every column of ``frame`` and dropping duplicates."""
    keys = []
    for column in (c for c in order if c in frame.columns):
        values = frame[column].to_numpy()
        key = sort_key(values)
        if last:      # missing first: the last record is the latest one that has a value
            key = np.where(pd.isna(values), -1, key)
        keys.append(key)
    rows = pick_per_group(frame, np.ones(len(frame), dtype=bool), ["USUBJID"], keys, last=last)
    return frame.take(rows)


# -- DM -------------------------------------------------------------------------------------

def derive_vars_dm(dm: pd.DataFrame) -> pd.DataFrame:
    """Start ADSL from DM: one record per subject, all DM variables but DOMAIN.

    TRT01P = ARM and TRT01A = ACTARM (single-period study, as admiral's ADSL example). A
    subject present twice in DM is an input error.
    """
    if dm is None or "USUBJID" not in dm.columns:
        raise InputError("ADSL needs DM with USUBJID", dataset="DM", rule="ADAM-DM")
    if dm.empty:
        raise InputError("DM has no records: there is no subject to analyse",
                         dataset="DM", rule="ADAM-DM-EMPTY")
    dup = dm["USUBJID"].duplicated()
    if dup.any():
        raise InputError(f"DM has {int(dup.sum())} duplicate USUBJID values "
                         f"(first: {dm.loc[dup, 'USUBJID'].iloc[0]})", dataset="DM",
                         rule="ADAM-DM-DUPLICATE")
    adsl = dm.drop(columns=[c for c in ["DOMAIN"] if c in dm.columns]).reset_index(drop=True)
    if "AGE" in adsl.columns:
        adsl["AGE"] = pd.to_numeric(adsl["AGE"], errors="coerce")
    adsl["TRT01P"] = adsl["ARM"] if "ARM" in adsl.columns else None
    adsl["TRT01A"] = adsl["ACTARM"] if "ACTARM" in adsl.columns else None
    return adsl


# -- treatment dates --------------------------------------------------------------------------

def derive_vars_treatment(adsl: pd.DataFrame, ex: pd.DataFrame | None, *,
                          placebo_pattern: str = "PLACEBO",
                          start_rule: ImputationRule = ImputationRule("h", "first", "first"),
                          end_rule: ImputationRule = ImputationRule("h", "first", "last"),
                          ) -> pd.DataFrame:
    """Add TRTSDTM/TRTSTMF/TRTSDT and TRTEDTM/TRTETMF/TRTEDT.

    Rule (admiral ADSL): valid doses are EX records with ``EXDOSE > 0`` or ``EXDOSE == 0`` and
    EXTRT containing ``placebo_pattern``. TRTSDTM is the first EXSTDTC of a valid dose (time
    imputed with ``start_rule``, by default 00:00:00, TMF ``H``); TRTEDTM the last EXENDTC
    (time imputed with ``end_rule``, by default 23:59:59). Records whose date cannot be
    derived are ignored. TRTSDT/TRTEDT are their dates. Without EX the same rules are applied
    to DM.RFXSTDTC / DM.RFXENDTC.
    """
    out = adsl.copy()
    if ex is None or len(ex) == 0 and "EXSTDTC" not in getattr(ex, "columns", []):
        src = out[["USUBJID"]].copy()
        src["EXSTDTC"] = out["RFXSTDTC"] if "RFXSTDTC" in out.columns else None
        src["EXENDTC"] = out["RFXENDTC"] if "RFXENDTC" in out.columns else None
        valid = src
    else:
        dose = pd.to_numeric(ex["EXDOSE"], errors="coerce") if "EXDOSE" in ex.columns \
            else pd.Series(np.nan, index=ex.index)
        placebo = np.zeros(len(ex), dtype=bool)
        if "EXTRT" in ex.columns:
            # the pattern looked for once per distinct EXTRT, not per record
            codes, names = factorize(ex["EXTRT"].to_numpy(), use_na_sentinel=False)
            found = (pd.Series(names, dtype=object).astype("string").str.upper()
                     .str.contains(placebo_pattern.upper(), regex=False).fillna(False))
            placebo = found.to_numpy(bool)[codes] if len(names) else placebo
        # only the columns read below: the dates are derived and sorted on these alone
        used = [c for c in ("USUBJID", "EXSTDTC", "EXENDTC", _seq_col(ex)) if c in ex.columns]
        valid = ex[used][((dose > 0) | ((dose == 0) & placebo)).to_numpy()]
    seq = _seq_col(valid)
    st = derive_vars_dtm(valid, "EXST", "EXSTDTC", highest_imputation=start_rule.highest_imputation,
                         date_imputation=start_rule.date_imputation,
                         time_imputation=start_rule.time_imputation)
    st = st[st["EXSTDTM"].notna()]
    first = _first_per_subject(st, ["EXSTDTM", *([seq] if seq else [])])
    first = first.rename(columns={"EXSTDTM": "TRTSDTM", "EXSTTMF": "TRTSTMF"})
    en = derive_vars_dtm(valid, "EXEN", "EXENDTC" if "EXENDTC" in valid.columns else "EXSTDTC",
                         highest_imputation=end_rule.highest_imputation,
                         date_imputation=end_rule.date_imputation,
                         time_imputation=end_rule.time_imputation)
    en = en[en["EXENDTM"].notna()]
    last = _first_per_subject(en, ["EXENDTM", *([seq] if seq else [])], last=True)
    last = last.rename(columns={"EXENDTM": "TRTEDTM", "EXENTMF": "TRTETMF"})
    out = _merge_subject(out, first, ["TRTSDTM", "TRTSTMF"])
    out = _merge_subject(out, last, ["TRTEDTM", "TRTETMF"])
    out["TRTSDT"] = out["TRTSDTM"].dt.normalize()
    out["TRTEDT"] = out["TRTEDTM"].dt.normalize()
    return out


def derive_var_trtdurd(adsl: pd.DataFrame, *, start: str = "TRTSDT",
                       end: str = "TRTEDT") -> pd.DataFrame:
    """TRTDURD = TRTEDT − TRTSDT + 1 days (admiral ``derive_var_trtdurd``); missing if either
    date is."""
    out = adsl.copy()
    out["TRTDURD"] = (out[end] - out[start]).dt.days + 1
    return out


# -- disposition -------------------------------------------------------------------------------

def derive_vars_disposition(adsl: pd.DataFrame, ds: pd.DataFrame | None, *,
                            dscat: str = "DISPOSITION EVENT",
                            completed: Iterable[str] = ("COMPLETED",),
                            screen_failure: Iterable[str] = ("SCREEN FAILURE",),
                            eosdt_rule: ImputationRule = ImputationRule("n")) -> pd.DataFrame:
    """Add EOSSTT, EOSDT and DCSREAS from the DS records with ``DSCAT == dscat``.

    Rule (admiral ADSL vignette): EOSSTT is ``COMPLETED`` when DSDECOD is a completed term,
    missing for a screen failure, ``DISCONTINUED`` otherwise, and ``ONGOING`` for subjects
    without such a record (missing for everyone when DS is not provided). EOSDT is DSSTDTC
    (imputed with ``eosdt_rule``) of that record unless it is a screen failure. DCSREAS is
    DSDECOD unless completed or screen failure. When a subject has several such records the
    last (by DSSTDTC, DSSEQ) is used.
    """
    out = adsl.copy()
    completed = {c.upper() for c in completed}
    screen = {c.upper() for c in screen_failure}
    if ds is None or "DSCAT" not in ds.columns:
        out["EOSSTT"] = "ONGOING" if ds is not None else None
        out["EOSDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        out["DCSREAS"] = None
        return out
    disp = ds[ds["DSCAT"].astype("string").str.upper() == dscat.upper()]
    disp = _first_per_subject(disp, ["DSSTDTC", *([_seq_col(disp)] if _seq_col(disp) else [])],
                              last=True)
    decod = disp["DSDECOD"].astype("string").str.upper()
    is_completed = decod.isin(completed).to_numpy()
    is_screen = decod.isin(screen).to_numpy()
    disp = disp.assign(
        EOSSTT=np.where(is_completed, "COMPLETED", np.where(is_screen, None, "DISCONTINUED")),
        DCSREAS=disp["DSDECOD"].where(~(is_completed | is_screen), None),
    )
    disp = derive_vars_dt(disp, "EOS", "DSSTDTC", highest_imputation=eosdt_rule.highest_imputation,
                          date_imputation=eosdt_rule.date_imputation, flag=False)
    disp["EOSDT"] = disp["EOSDT"].where(~is_screen)
    out = _merge_subject(out, disp, ["EOSSTT", "EOSDT", "DCSREAS"])
    out["EOSSTT"] = out["EOSSTT"].where(out["USUBJID"].isin(disp["USUBJID"]), "ONGOING")
    out["EOSSTT"] = out["EOSSTT"].astype(object).where(out["EOSSTT"].notna(), None)
    return out


def derive_var_randdt(adsl: pd.DataFrame, ds: pd.DataFrame | None, *,
                      randomized: str = "RANDOMIZED",
                      rule: ImputationRule = ImputationRule("n")) -> pd.DataFrame:
    """RANDDT = DSSTDTC of the DS record with ``DSDECOD == randomized`` (first one per subject)."""
    out = adsl.copy()
    if ds is None or "DSDECOD" not in ds.columns:
        out["RANDDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        return out
    rand = ds[ds["DSDECOD"].astype("string").str.upper() == randomized.upper()]
    rand = derive_vars_dt(rand, "RAND", "DSSTDTC", highest_imputation=rule.highest_imputation,
                          date_imputation=rule.date_imputation, flag=False)
    rand = _first_per_subject(rand[rand["RANDDT"].notna()], ["RANDDT"])
    return _merge_subject(out, rand, ["RANDDT"])


# -- death and last alive ----------------------------------------------------------------------

def derive_vars_death(adsl: pd.DataFrame, *, rule: ImputationRule = ImputationRule("M", "first"),
                      ) -> pd.DataFrame:
    """DTHDT/DTHDTF from DM.DTHDTC (imputed with ``rule``; admiral's template imputes a missing
    month/day to the first); DTHFL = ``Y`` when DM.DTHFL is Y or a death date exists."""
    out = derive_vars_dt(adsl, "DTH", "DTHDTC", highest_imputation=rule.highest_imputation,
                         date_imputation=rule.date_imputation, flag=True)
    dm_flag = out["DTHFL"].astype("string").str.upper().eq("Y").fillna(False) \
        if "DTHFL" in out.columns else pd.Series(False, index=out.index)
    out["DTHFL"] = np.where(dm_flag | out["DTHDT"].notna(), "Y", None)
    return out


def derive_var_dthcaus(adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame],
                       sources: Iterable[ValueSource], *, file: str | None = None) -> pd.DataFrame:
    """DTHCAUS: ``value`` of the first record matching ``where`` in the first source (in list
    order) that has one for the subject (admiral ``derive_vars_extreme_event``, mode first).
    Sources whose domain is not provided are skipped."""
    out = adsl.copy()
    found = []
    for rank, src in enumerate(sources):
        frame = get_domain(sdtm, src.domain)
        if frame is None or src.value not in frame.columns:
            continue
        rows = apply_where(frame, src.where, context=f"dthcaus_sources[{rank}]", file=file)
        order = [src.order] if src.order else ([_seq_col(rows)] if _seq_col(rows) else [])
        rows = _first_per_subject(rows, order)
        found.append(pd.DataFrame({"USUBJID": rows["USUBJID"].to_numpy(),
                                   "DTHCAUS": rows[src.value].to_numpy(), "_rank": rank}))
    if not found:
        out["DTHCAUS"] = None
        return out
    allc = pd.concat(found).sort_values(["USUBJID", "_rank"], kind="stable")
    allc = allc.drop_duplicates("USUBJID")
    return _merge_subject(out, allc, ["DTHCAUS"])


def derive_var_lstalvdt(adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame],
                        sources: Iterable[DateSource], *, file: str | None = None) -> pd.DataFrame:
    """LSTALVDT = latest date over the configured sources (admiral ``derive_vars_extreme_event``
    with mode last). Each source is a --DTC column of a domain (converted with its
    ``highest_imputation``/``date_imputation``; with the default ``n`` only complete dates
    count) or an ADSL date column (domain ``ADSL``), optionally filtered by ``where``.
    Sources whose domain or column is not provided are skipped."""
    out = adsl.copy()
    parts = []
    for i, src in enumerate(sources):
        frame = out if src.domain.upper() == "ADSL" else get_domain(sdtm, src.domain)
        if frame is None or src.date not in frame.columns:
            continue
        rows = apply_where(frame, src.where, context=f"lstalvdt_sources[{i}]", file=file)
        if pd.api.types.is_datetime64_any_dtype(rows[src.date]):
            dates = rows[src.date]
        else:
            dates = convert_dtc_to_dt(rows[src.date].astype(object),
                                      highest_imputation=src.highest_imputation,
                                      date_imputation=src.date_imputation)
        parts.append(pd.DataFrame({"USUBJID": rows["USUBJID"].to_numpy(),
                                   "LSTALVDT": dates.to_numpy()}))
    if not parts:
        out["LSTALVDT"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        return out
    alld = pd.concat(parts).dropna(subset=["LSTALVDT"])
    latest = alld.groupby("USUBJID", sort=False)["LSTALVDT"].max().reset_index()
    return _merge_subject(out, latest, ["LSTALVDT"])


# -- groupings and populations -----------------------------------------------------------------

def derive_var_agegr1(adsl: pd.DataFrame, *, cuts: Iterable[float] = (18, 65),
                      labels: Iterable[str] = ("<18", "18-64", ">64")) -> pd.DataFrame:
    """AGEGR1: ``labels[i]`` for ``cuts[i-1] <= AGE < cuts[i]`` (defaults give <18, 18-64, >64
    as admiral's example); missing AGE gives missing AGEGR1."""
    out = adsl.copy()
    bins = [-np.inf, *cuts, np.inf]
    age = pd.to_numeric(out["AGE"], errors="coerce") if "AGE" in out.columns \
        else pd.Series(np.nan, index=out.index)
    grp = pd.cut(age, bins=bins, labels=list(labels), right=False)
    out["AGEGR1"] = grp.astype(object).where(grp.notna(), None)
    return out


def derive_var_saffl(adsl: pd.DataFrame) -> pd.DataFrame:
    """SAFFL = ``Y`` when the subject received a valid dose (TRTSDT present), else ``N``."""
    out = adsl.copy()
    out["SAFFL"] = np.where(out["TRTSDT"].notna(), "Y", "N")
    return out


def derive_var_ittfl(adsl: pd.DataFrame, *, exclude_armcd: Iterable[str] = ("SCRNFAIL", "NOTASSGN"),
                     ) -> pd.DataFrame:
    """ITTFL = ``Y`` when ARMCD is present and not one of ``exclude_armcd`` (case-insensitive:
    screen failures, not assigned), else ``N``."""
    out = adsl.copy()
    armcd = out["ARMCD"].astype("string").str.upper() if "ARMCD" in out.columns \
        else pd.Series(pd.NA, index=out.index, dtype="string")
    excluded = {a.upper() for a in exclude_armcd}
    ok = armcd.notna() & (armcd.str.strip() != "") & ~armcd.isin(excluded)
    out["ITTFL"] = np.where(ok.fillna(False), "Y", "N")
    return out


def derive_population_flags(adsl: pd.DataFrame, flags: Mapping[str, PopulationFlag], *,
                            file: str | None = None) -> pd.DataFrame:
    """Population flags declared in config: ``Y`` where the flag's ``where`` expression holds
    on the subject's ADSL record, else ``N`` (ADaMIG 1.3 section 3.1.4: population flags
    are Y/N, never missing). The expression may use any ADSL variable derived before it,
    sponsor variables included; dates compare as ISO 8601 text
    (``TRTSDT >= '2012-01-01'``). Labels go to ``adsl.attrs["labels"]``."""
    out = adsl.copy()
    labels = dict(out.attrs.get("labels", {}))
    for name, flag in flags.items():
        mask = where_mask(flag.where, out, file=file)
        out[name] = np.where(mask.to_numpy(dtype=bool), "Y", "N").astype(object)
        if flag.label:
            labels[name] = flag.label
    out.attrs["labels"] = labels
    return out


# -- sponsor variables -------------------------------------------------------------------------

def _sponsor_one(adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame], spec: SponsorVariable,
                 file: str | None) -> pd.Series:
    context = f"sponsor_variables.{spec.name}"
    if spec.type == "supp":
        supp = get_domain(sdtm, f"SUPP{(spec.domain or 'DM').upper()}")
        if supp is None:
            return pd.Series(None, index=adsl.index, dtype=object)
        rows = supp[supp["QNAM"] == spec.qnam]
        rows = apply_where(rows, spec.where, context=context, file=file)
        rows = rows.drop_duplicates("USUBJID")
        return adsl["USUBJID"].map(rows.set_index("USUBJID")["QVAL"])
    frame = get_domain(sdtm, spec.domain)
    flag_type = spec.type in {"exists"}
    if frame is None:
        if flag_type:
            return pd.Series("N", index=adsl.index, dtype=object)
        if spec.type == "count":
            return pd.Series(0, index=adsl.index)
        return pd.Series(None, index=adsl.index, dtype=object)
    rows = apply_where(frame, spec.where, context=context, file=file)
    seq = _seq_col(rows)
    if spec.type == "exists":
        return pd.Series(np.where(adsl["USUBJID"].isin(rows["USUBJID"]), "Y", "N"),
                         index=adsl.index)
    if spec.type == "count":
        counts = rows.groupby("USUBJID").size()
        return adsl["USUBJID"].map(counts).fillna(0).astype(int)
    if spec.value and spec.value not in rows.columns:
        raise SpecError(f"{context}: {spec.domain} has no column {spec.value}", file=file,
                        variable=context, rule="adam-config")
    if spec.type in {"first", "last"}:
        order = [spec.order] if spec.order else ([seq] if seq else [])
        pick = _first_per_subject(rows, order, last=spec.type == "last")
        return adsl["USUBJID"].map(pick.set_index("USUBJID")[spec.value])
    if spec.type in {"min_date", "max_date"}:
        dates = convert_dtc_to_dt(rows[spec.value].astype(object),
                                  highest_imputation=spec.highest_imputation,
                                  date_imputation=spec.date_imputation)
        d = pd.DataFrame({"USUBJID": rows["USUBJID"].to_numpy(), "D": dates.to_numpy()}).dropna()
        agg = d.groupby("USUBJID")["D"].min() if spec.type == "min_date" \
            else d.groupby("USUBJID")["D"].max()
        return adsl["USUBJID"].map(agg).astype("datetime64[ns]")
    if spec.type == "dose_reduced":
        value = spec.value or "EXDOSE"
        order = spec.order or ("EXSTDTC" if "EXSTDTC" in rows.columns else seq)
        ordered = rows.sort_values(["USUBJID", *([order] if order else [])], kind="stable")
        dose = pd.to_numeric(ordered[value], errors="coerce")
        first = dose.groupby(ordered["USUBJID"]).transform("first")
        reduced = (dose < first).groupby(ordered["USUBJID"]).any()
        result = adsl["USUBJID"].map(reduced.map({True: "Y", False: "N"}))
        return result.astype(object).where(result.notna(), None)
    raise SpecError(f"{context}: unknown type {spec.type!r}", file=file, variable=context)


def derive_sponsor_variables(adsl: pd.DataFrame, sdtm: Mapping[str, pd.DataFrame],
                             specs: Mapping[str, SponsorVariable], *,
                             file: str | None = None) -> pd.DataFrame:
    """Add the sponsor variables declared in config (see :class:`SponsorVariable` for the
    types ``first``, ``last``, ``exists``, ``dose_reduced``, ``supp``, ``min_date``,
    ``max_date``, ``count``). Labels go to ``adsl.attrs["labels"]``."""
    out = adsl.copy()
    labels = dict(out.attrs.get("labels", {}))
    for name, spec in specs.items():
        values = _sponsor_one(out, sdtm, spec, file)
        if values.dtype == object:
            values = values.where(values.notna(), None)
        out[name] = values.to_numpy()
        if spec.label:
            labels[name] = spec.label
    out.attrs["labels"] = labels
    return out


# -- the whole ADSL ----------------------------------------------------------------------------

def _trtedtm_rule(config: AdamConfig) -> ImputationRule:
    """TRTEDTM imputes a missing time to the end of the day unless the study says otherwise."""
    return config.date_imputation.get("TRTEDTM", ImputationRule("h", "first", "last"))


def _dthdt_rule(config: AdamConfig) -> ImputationRule:
    """DTHDT imputes a missing day or month to the first unless the study says otherwise."""
    return config.date_imputation.get("DTHDT", ImputationRule("M", "first"))


_ORDER = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "AGEGR1", "SEX", "RACE",
          "ETHNIC", "ARM", "ARMCD", "ACTARM", "ACTARMCD", "TRT01P", "TRT01A", "TRTSDTM", "TRTSTMF",
          "TRTSDT", "TRTEDTM", "TRTETMF", "TRTEDT", "TRTDURD", "RANDDT", "SAFFL", "ITTFL",
          "EOSSTT", "EOSDT", "DCSREAS", "DTHFL", "DTHDT", "DTHDTF", "DTHCAUS", "LSTALVDT"]


def build_adsl(sdtm: Mapping[str, pd.DataFrame], config: AdamConfig | None = None) -> pd.DataFrame:
    """ADSL from SDTM DM (required) and EX, DS, AE, LB, SUPPDM, MH ... (optional).

    Order of derivations: DM variables and TRT01P/A; treatment dates (EX, else DM.RFX*);
    TRTDURD; disposition (EOSSTT, EOSDT, DCSREAS); RANDDT; death (DTHDT, DTHDTF, DTHFL,
    DTHCAUS); LSTALVDT; AGEGR1; SAFFL, ITTFL; sponsor variables; declared population flags
    (which replace the built-in SAFFL/ITTFL of the same name).
    """
    config = config or AdamConfig()
    file = config.source_file
    dm = get_domain(sdtm, "DM")
    if dm is None:
        raise InputError("ADSL needs the DM domain", dataset="DM")
    ds = get_domain(sdtm, "DS")
    adsl = derive_vars_dm(dm)
    adsl = derive_vars_treatment(adsl, get_domain(sdtm, "EX"),
                                 placebo_pattern=config.placebo_pattern,
                                 start_rule=config.imputation("TRTSDTM"),
                                 end_rule=_trtedtm_rule(config))
    adsl = derive_var_trtdurd(adsl)
    disp = config.disposition
    adsl = derive_vars_disposition(adsl, ds, dscat=disp.dscat, completed=disp.completed,
                                   screen_failure=disp.screen_failure,
                                   eosdt_rule=config.imputation("EOSDT"))
    adsl = derive_var_randdt(adsl, ds, randomized=disp.randomized, rule=config.imputation("RANDDT"))
    adsl = derive_vars_death(adsl, rule=_dthdt_rule(config))
    adsl = derive_var_dthcaus(adsl, sdtm, config.dthcaus_sources, file=file)
    adsl = derive_var_lstalvdt(adsl, sdtm, config.lstalvdt_sources, file=file)
    adsl = derive_var_agegr1(adsl, cuts=config.agegr1.cuts, labels=config.agegr1.labels)
    adsl = derive_var_saffl(adsl)
    adsl = derive_var_ittfl(adsl, exclude_armcd=config.itt_exclude_armcd)
    adsl = derive_sponsor_variables(adsl, sdtm, config.sponsor_variables, file=file)
    adsl = derive_population_flags(adsl, config.population_flags, file=file)
    first = [c for c in _ORDER if c in adsl.columns]
    rest = [c for c in adsl.columns if c not in first]
    labels = adsl.attrs.get("labels", {})
    adsl = adsl[first + rest]
    adsl.attrs["labels"] = labels
    return adsl


# --------------------------------------------------------------------------- define.xml
def method_texts(config: AdamConfig) -> dict[str, str]:
    """define.xml method text of each ADSL variable that :func:`build_adsl` derives, stated
    with the values of ``config`` that the derivations above are called with (sponsor
    variables: :func:`sponsor_method_text`)."""
    c, disp = config, config.disposition
    valid = (f"valid doses are EX records with EXDOSE > 0, or EXDOSE = 0 and EXTRT "
             f"containing '{c.placebo_pattern}'")
    return {
        "TRTSDTM": f"Datetime of first exposure: the earliest EX.EXSTDTC of a valid dose "
                   f"({valid}); {datetime_imputation_text(c.imputation('TRTSDTM'))}; records "
                   f"whose date cannot be derived are ignored. Without EX: DM.RFXSTDTC.",
        "TRTSTMF": "Time imputation flag of TRTSDTM: H, M or S for the highest time "
                   "component imputed (H when only a date was collected).",
        "TRTSDT": "Date part of TRTSDTM.",
        "TRTEDTM": f"Datetime of last exposure: the latest EX.EXENDTC of a valid dose "
                   f"({valid}); {datetime_imputation_text(_trtedtm_rule(c))}. Without EX: "
                   f"DM.RFXENDTC.",
        "TRTETMF": "Time imputation flag of TRTEDTM: H, M or S for the highest time "
                   "component imputed.",
        "TRTEDT": "Date part of TRTEDTM.",
        "TRTDURD": "TRTEDT - TRTSDT + 1 (days); missing when either date is missing.",
        "RANDDT": f"DS.DSSTDTC of the first DS record with DSDECOD = '{disp.randomized}' "
                  f"as a date ({date_imputation_text(c.imputation('RANDDT'))}).",
        "EOSSTT": f"From the last DS record with DSCAT = '{disp.dscat}' (by DSSTDTC, DSSEQ):"
                  f" COMPLETED when DSDECOD is one of {quote_list(disp.completed)}, missing "
                  f"for {quote_list(disp.screen_failure)}, DISCONTINUED otherwise; ONGOING "
                  f"for subjects without such a record.",
        "EOSDT": f"DSSTDTC of the end-of-study record used for EOSSTT as a date "
                 f"({date_imputation_text(c.imputation('EOSDT'))}); missing for a screen "
                 f"failure.",
        "DCSREAS": "DSDECOD of the end-of-study record used for EOSSTT unless the subject "
                   "completed or was a screen failure.",
        "DTHDT": f"DM.DTHDTC as a date; {date_imputation_text(_dthdt_rule(c))}.",
        "DTHDTF": "Imputation flag of DTHDT: D (day) or M (month and day) imputed.",
        "DTHFL": "Y when DM.DTHFL = Y or DTHDT is present; missing otherwise.",
        "DTHCAUS": "The first source, in this order, with a record for the subject: "
                   + "; ".join(f"{s.domain}.{s.value}"
                               + (f" where {condition_text(s.where)}" if s.where else "")
                               for s in c.dthcaus_sources) + ".",
        "LSTALVDT": "Last date known alive: the latest date over "
                    + "; ".join(
                        (f"ADSL.{s.date}" if s.domain.upper() == "ADSL" else
                         f"{s.domain}.{s.date} ({date_imputation_text(s)})")
                        + (f" where {condition_text(s.where)}" if s.where else "")
                        for s in c.lstalvdt_sources)
                    + " (sources whose domain is not present are skipped).",
        "AGEGR1": _agegr1_text(c.agegr1.cuts, c.agegr1.labels),
        "SAFFL": "Y when the subject received a valid dose (TRTSDT present); otherwise N.",
        "ITTFL": f"Y when ARMCD is present and not one of "
                 f"{quote_list(c.itt_exclude_armcd)} (case-insensitive); otherwise N.",
        **{name: f"Y when {condition_text(flag.where)}; otherwise N."
           for name, flag in c.population_flags.items()},
    }


def _agegr1_text(cuts, labels) -> str:
    """What :func:`derive_var_agegr1` does with ``cuts`` and ``labels``."""
    parts = [f"'{labels[0]}' when AGE < {number_text(cuts[0])}"]
    for i in range(1, len(cuts)):
        parts.append(f"'{labels[i]}' when {number_text(cuts[i - 1])} <= AGE < "
                     f"{number_text(cuts[i])}")
    parts.append(f"'{labels[-1]}' when AGE >= {number_text(cuts[-1])}")
    return "; ".join(parts) + "; missing when AGE is missing."


def sponsor_method_text(spec: SponsorVariable) -> str | None:
    """define.xml method text of a sponsor variable that :func:`derive_sponsor_variables`
    derives from ``spec``; None for ``supp``, a copy of QVAL (its origin says so)."""
    where = f" where {condition_text(spec.where)}" if spec.where else ""
    t = spec.type
    if t == "supp":
        return None
    if t in ("first", "last"):
        order = spec.order or "the domain's --SEQ"
        return (f"{spec.domain}.{spec.value} of the {t} {spec.domain} record{where} "
                f"(ordered by {order}); missing when there is none.")
    if t == "exists":
        return f"Y when the subject has a record in {spec.domain}{where}; otherwise N."
    if t == "dose_reduced":
        return (f"Y when any {spec.domain} record{where} has a dose ({spec.value or 'EXDOSE'}) "
                f"lower than the subject's first one (ordered by "
                f"{spec.order or 'EXSTDTC'}); N otherwise; missing without such records.")
    if t in ("min_date", "max_date"):
        return (f"The {'earliest' if t == 'min_date' else 'latest'} {spec.domain}."
                f"{spec.value}{where} as a date ({date_imputation_text(spec)}).")
    if t == "count":
        return f"Number of {spec.domain} records{where} (0 when none)."
    return f"Sponsor variable of type {t}."
