"""Reconciliation of responses recorded in RS (e.g. by the investigator) with those computed
from TU/TR (:func:`cdisc_convert.adam.tumor_response.compute_visit_responses`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import InputError
from cdisc_convert.core.factorize import duplicated_rows

from .groups import factorize, group_codes
from .lesion_input import number_of, require_input, text_of
from .response_rules import CHOI, RECIST

__all__ = ["reconcile_responses", "RECONCILED_COLUMNS"]


_COMPONENTS = {"OVRLRESP": "AVALC", "TRGRESP": "TRGRESP", "NTRGRESP": "NTRGRESP",
               "NEWLPROG": "NEWLPROG"}
_YES_NO = {"YES": "Y", "NO": "N", "Y": "Y", "N": "N"}
_NOT_APPLICABLE = ("NA", "N/A", "NOT APPLICABLE")
#: the investigator columns :func:`reconcile_responses` reads (any others are ignored)
RECONCILED_COLUMNS = ("USUBJID", "VISITNUM", "VISIT", "CRIT", "RSCAT", "RSTESTCD", "RSSTRESC",
                      "AVALC", *_COMPONENTS)


def _per_distinct(values: pd.Series, func) -> pd.Series:
    """``func`` (Series -> Series of text) on the distinct values only, spread back by
    position: RS repeats a handful of responses and categories over every record."""
    codes, distinct = factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    done = np.asarray(func(pd.Series(distinct, dtype=object)), dtype=object)
    return pd.Series(done[codes], index=values.index)


def _upper(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.upper()


def _comparable(values: pd.Series) -> pd.Series:
    """Response text for comparison: stripped, upper case, every spelling of "not
    applicable" as NA (RS and ``ResponseRules.not_applicable`` may spell it differently)."""
    def norm(distinct: pd.Series) -> pd.Series:
        up = _upper(distinct)
        return up.where(~up.isin(_NOT_APPLICABLE), "NA")
    return _per_distinct(values, norm)


def _crit_from_text(values: pd.Series) -> pd.Series:
    def crit(distinct: pd.Series) -> np.ndarray:
        up = _upper(distinct)
        return np.select([up.str.contains("CHOI"), up.str.contains("RECIST")],
                         [CHOI, RECIST], up)
    return _per_distinct(values, crit)


def _one_row_per_key(long: pd.DataFrame, keys: list[str], name: str,
                     result: pd.Series) -> pd.DataFrame:
    """One row per ``keys`` combination of ``long`` (its first record's keys and VISIT)
    with one column per ``name`` value holding that record's ``result`` (missing where
    the combination has none): what ``pivot`` gives, placed by group positions instead
    of an index unstacked (the combinations are unique per ``name`` value)."""
    codes, n = group_codes(long, keys)
    first = np.full(n, len(long), dtype=np.intp)
    np.minimum.at(first, codes, np.arange(len(long)))
    wide = pd.DataFrame({k: long[k].to_numpy()[first] for k in keys})
    names = long[name].to_numpy(dtype=object)
    values = result.to_numpy(dtype=object)
    for value in sorted(pd.unique(names)):
        rows = names == value
        column = np.full(n, np.nan, dtype=object)
        column[codes[rows]] = values[rows]
        wide[value] = column
    if "VISIT" in long.columns:
        wide["VISIT"] = long["VISIT"].to_numpy()[first]
    return wide


def _investigator_wide(investigator: pd.DataFrame, computed: pd.DataFrame) -> pd.DataFrame:
    """RS records (long: RSTESTCD/RSSTRESC, or wide: OVRLRESP/AVALC, TRGRESP ...) -> one row
    per USUBJID, CRIT, VISITNUM with the component columns that were provided."""
    require_input(investigator, "RS", ["USUBJID", "VISITNUM"])
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
    inv["VISITNUM"] = number_of(inv, "VISITNUM")
    inv["USUBJID"] = _per_distinct(inv["USUBJID"], lambda u: u.astype(str).str.strip())
    keys = ["USUBJID", "CRIT", "VISITNUM"]
    if "RSTESTCD" in inv.columns:
        require_input(inv, "RS", ["RSSTRESC"])
        inv["RSTESTCD"] = text_of(inv, "RSTESTCD")
        inv = inv.loc[inv["RSTESTCD"].isin(list(_COMPONENTS))]
        # each key column numbered by its distinct objects, one integer key hashed
        dup = duplicated_rows([inv[k].to_numpy() for k in [*keys, "RSTESTCD"]], keep=False)
        if dup.any():
            first = inv.iloc[int(np.argmax(dup))]
            raise InputError(
                f"several {first['RSTESTCD']} records for {first['USUBJID']} visit "
                f"{first['VISITNUM']}: filter RS to one evaluator (e.g. RSEVAL, RSACPTFL)",
                dataset="RS", variable="RSTESTCD", rule="tumor_response.reconcile")
        wide = _one_row_per_key(inv, keys, "RSTESTCD", text_of(inv, "RSSTRESC"))
    else:
        wide = inv.rename(columns={"AVALC": "OVRLRESP"})
        for col in _COMPONENTS:
            if col in wide.columns:
                wide[col] = text_of(wide, col)
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
    both = (merged["_merge"] == "both").to_numpy()
    # the differing components as a bit set, each of its 2^4 texts made once
    bits = np.zeros(len(merged), dtype=np.intp)
    for i, c in enumerate(comps):
        if f"{c}_INV" not in merged.columns:
            merged[f"{c}_INV"] = ""
        inv_v = merged[f"{c}_INV"].fillna("").astype(str)
        cmp_v = merged[f"{c}_CMP"].fillna("").astype(str)
        merged[f"{c}_INV"], merged[f"{c}_CMP"] = inv_v, cmp_v
        differs = (both & (inv_v != "").to_numpy()
                   & (_comparable(inv_v).to_numpy() != _comparable(cmp_v).to_numpy()))
        bits |= differs.astype(np.intp) << i
    texts = np.array([",".join(c for i, c in enumerate(comps) if k >> i & 1)
                      for k in range(1 << len(comps))], dtype=object)
    merged["DIFFERS"] = texts[bits]
    keep = ~both | (bits != 0)
    cols = (keys + ["VISIT", "PRESENCE", "DIFFERS"]
            + [f"{c}_{side}" for c in comps for side in ("INV", "CMP")]
            + ["ADT", "SUMDIAM", "SUMBASE", "SUMNADIR", "PCHGBASE", "PCHGNADIR", "TRGNMISS",
               "DENSITY", "DENSPCHG"])
    out = merged.loc[keep, cols].copy()
    out["VISIT"] = out["VISIT"].fillna("")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
