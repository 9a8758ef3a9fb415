"""The building blocks of ADRS (:mod:`cdisc_convert.adam.adrs`): response and AVAL codes,
the record columns, sort keys, the pick of one row per subject, and a parameter's records
for every ADSL subject."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import filled, with_columns
from cdisc_convert.core.errors import InputError

from .groups import factorize

__all__ = ["RESPONSE_AVAL", "YN_AVAL", "WORST_ORDER", "VALID_RESPONSES", "VISIT_COLUMNS",
           "OUT_COLUMNS", "CARRY_COLUMNS", "ONE_DAY", "RC_NE", "RC_CR", "RC_PR", "RC_SD",
           "RC_NON", "RC_PD", "normalise_text", "response_codes", "subject_key",
           "criterion_keys", "key_array", "pick_rows", "require_columns", "subject_rows",
           "subject_positions", "param_records", "carry_source", "late_mask",
           "best_by_category", "first_where"]

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
CARRY_COLUMNS = ["ADT", "ADTF", "AVISIT", "VISIT", "VISITNUM", "ANL02FL", "SRCDOM", "SRCSEQ"]
ONE_DAY = np.timedelta64(1, "D")

# response codes (order of badness, WORST_ORDER) of the valid responses
RC_NE, RC_CR, RC_PR, RC_SD, RC_NON, RC_PD = (WORST_ORDER[k] for k in VALID_RESPONSES)


def normalise_text(values: pd.Series) -> np.ndarray:
    """Stripped upper-case text (object array, None for missing); each distinct value once."""
    codes, uniques = factorize(values.to_numpy(dtype=object))
    norm = pd.Series(uniques, dtype=object).astype(str).str.strip().str.upper()
    norm = norm.to_numpy(dtype=object)
    out = filled(len(codes), None)
    ok = codes >= 0
    out[ok] = norm[codes[ok]]
    return out



def require_columns(frame: pd.DataFrame, function: str, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{function}: input lacks required variable {missing[0]}",
                         variable=missing[0], rule=f"adrs.{function}")



def response_codes(frame: pd.DataFrame) -> np.ndarray:
    """Response codes (NE 0, CR 1, PR 2, SD 3, NON-CR/NON-PD 4, PD 5, other -1) of AVALC
    (each distinct value mapped once)."""
    codes, uniques = factorize(frame["AVALC"].to_numpy(dtype=object))
    mapped = np.array([WORST_ORDER.get(u, -1) for u in uniques], dtype=np.int8)
    return np.where(codes >= 0, mapped[np.maximum(codes, 0)] if len(mapped) else -1,
                    -1).astype(np.int8)


def subject_key(frame: pd.DataFrame) -> str:
    return "USUBJID"


def criterion_keys(frame: pd.DataFrame) -> list[str]:
    """Subject and criterion keys: USUBJID, and CRIT when the frame has it."""
    return ["USUBJID", *(["CRIT"] if "CRIT" in frame.columns else [])]


def key_array(values: pd.Series) -> np.ndarray:
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
    return factorize(values, sort=True)[0]


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


def pick_rows(frame: pd.DataFrame, mask, group: list[str], order: list, *,
               last: bool = False) -> np.ndarray:
    """Positions (iloc) of the first (or last) row per ``group`` among rows where ``mask``,
    rows ordered by ``order`` (column names or arrays aligned with ``frame``)."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(idx) == 0:
        return idx
    gkeys = [key_array(frame[g])[idx] for g in group]
    okeys = [(key_array(frame[o]) if isinstance(o, str) else np.asarray(o))[idx] for o in order]
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



# -- parameter records --------------------------------------------------------------------------

def subject_rows(adsl: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ["STUDYID", "USUBJID"] if c in adsl.columns]
    return adsl[cols].drop_duplicates("USUBJID").reset_index(drop=True)


def subject_positions(rows: pd.DataFrame, subjects: pd.DataFrame) -> np.ndarray:
    """Row positions of ``rows``' subjects in ``subjects`` (-1 when absent)."""
    ids = rows["USUBJID"]
    if isinstance(ids.dtype, pd.CategoricalDtype) and \
            ids.cat.categories.equals(pd.Index(subjects["USUBJID"])):
        return ids.cat.codes.to_numpy(dtype=np.int64)  # same answer, without hashing text
    return pd.Index(subjects["USUBJID"]).get_indexer(ids.to_numpy(dtype=object))


def param_records(adsl: pd.DataFrame, picked: pd.DataFrame, *, missing_value: str | None,
                   set_values: Mapping[str, object], coding: Mapping[str, int]) -> pd.DataFrame:
    """One record per ADSL subject: ``picked`` (USUBJID, AVALC and the source record's
    ADT, VISIT ...) where present, else AVALC ``missing_value`` without a date."""
    subjects = subject_rows(adsl)
    n = len(subjects)
    pos = subject_positions(picked, subjects)
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
    for col in CARRY_COLUMNS:
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
    return with_columns(out, OUT_COLUMNS)


def carry_source(rows: pd.DataFrame) -> pd.DataFrame:
    if "AVISIT" not in rows.columns and "VISIT" in rows.columns:
        rows = rows.assign(AVISIT=rows["VISIT"])
    return rows


_PICK_COLUMNS = ["USUBJID", "AVALC", *CARRY_COLUMNS]


def late_mask(ovr: pd.DataFrame, start: str, days: int) -> np.ndarray:
    return (ovr["ADT"] >= ovr[start] + days * ONE_DAY).to_numpy()


def best_by_category(ovr: pd.DataFrame, category: np.ndarray) -> pd.DataFrame:
    """Per subject the row with the lowest category, earliest ADT among those."""
    rows = carry_source(ovr)
    cat = np.asarray(category)
    pos = pick_rows(rows, cat < 99, [subject_key(rows)], [cat, "ADT"])
    picked = rows.iloc[pos][[c for c in _PICK_COLUMNS if c in rows.columns]]
    return picked.assign(AVALC=pd.Series(cat[pos]).map(_CATEGORY).to_numpy())


def first_where(ovr: pd.DataFrame, mask, value: str | None = "Y", *,
                 last: bool = False) -> pd.DataFrame:
    """Per subject the first (or last) row by ADT among rows where ``mask``; AVALC set to
    ``value`` unless None."""
    rows = carry_source(ovr)
    pos = pick_rows(rows, mask, [subject_key(rows)], ["ADT"], last=last)
    picked = rows.iloc[pos][[c for c in _PICK_COLUMNS if c in rows.columns]]
    if value is not None:
        picked = picked.assign(AVALC=value)
    return picked

