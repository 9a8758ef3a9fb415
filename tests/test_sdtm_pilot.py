"""The CDISC pilot (pharmaverse raw tables) mapped with ``mappings/cdiscpilot01``.

The expected SDTM is ``pharmaversesdtm`` (``../shared/reference/pharmaverse/sdtm``). Every
variable that the raw tables carry is compared record by record; the test prints a
per-variable match table (``pytest -s``) and requires every value to match, except

* ``EXCLUDED``: variables (and SUPPDM qualifiers) that are sponsor derivations from data the
  raw tables do not hold; they are not compared, and the reason is stated;
* ``DIFFERENCES``: deliberate differences or errors in the reference data, each limited to
  the records it explains (a predicate on the aligned record) and to a fixed count, so any
  new mismatch fails the test.

Records are aligned by natural keys (plus an occurrence number for identical keys), never
by --SEQ; --SEQ is then compared like any other variable, which checks the sequence order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.sdtm.engine import map_study
from conftest import REPO

STUDY = REPO / "mappings" / "cdiscpilot01"
RAW_TABLES = ["dm_raw.csv", "ae_raw.csv", "ec_raw.csv", "ds_raw.csv"]

# Variables of the expected SDTM that the raw tables do not carry: not compared.
EXCLUDED = {
    "DM": {
        "BRTHDTC": "no birth date in dm_raw (pharmaversesdtm's BRTHDTC is synthetic)",
    },
    "AE": {
        "AESPID": "the CRF line identifier is not in ae_raw",
    },
    "DS": {
        "DSSPID": "the sponsor identifier is not in ds_raw",
    },
}
# SUPPDM qualifiers that are sponsor derivations from data not in the raw tables.
EXCLUDED_QNAMS = {
    "SUPPDM": {
        "COMPLT8": "completer flags follow the pilot's visit attendance (SV), not in the raw "
                   "tables",
        "COMPLT16": "as COMPLT8",
        "COMPLT24": "as COMPLT8",
        "EFFICACY": "needs the efficacy assessments (ADAS-Cog, CIBIC+), not in the raw tables",
    },
}


@dataclass
class Difference:
    """A deliberate difference: which aligned records may differ, how many, and why."""

    reason: str
    allowed: Callable[[pd.DataFrame], pd.Series]    # aligned frame -> mask of allowed rows
    count: int                                       # number of differing records expected


def _blank(s: pd.Series) -> pd.Series:
    return s.fillna("") == ""


DIFFERENCES = {
    ("DM", "RFICDTC"): Difference(
        "the reference has no informed-consent date (blank for everyone); dm_raw.IC_DT "
        "(synthesised by pharmaverseraw as RFSTDTC - 7 days) is mapped, as in sdtm.oak's DM "
        "example",
        lambda f: _blank(f["RFICDTC_e"]) & ~_blank(f["RFICDTC_o"]), 254),
    ("DM", "RFPENDTC"): Difference(
        "the reference's end of participation is the last contact over all domains of the "
        "original pilot (labs, visits); the raw tables only have the disposition CRF, whose "
        "last date (DSDTC) is earlier for these subjects",
        lambda f: f["RFPENDTC_o"].str[:10] < f["RFPENDTC_e"].str[:10], 80),
    ("AE", "AELLTCD"): Difference(
        "ae_raw carries MedDRA LLT codes (added by pharmaverseraw); the reference has none",
        lambda f: _blank(f["AELLTCD_e"]) & ~_blank(f["AELLTCD_o"]), 1182),
    ("AE", "AESOCCD"): Difference(
        "ae_raw carries MedDRA SOC codes (added by pharmaverseraw); the reference has none",
        lambda f: _blank(f["AESOCCD_e"]) & ~_blank(f["AESOCCD_o"]), 1182),
    ("AE", "AESTDY"): Difference(
        "error in the reference data: AESTDY 366 for an AE starting on the day of first dose "
        "(AESTDTC = RFSTDTC = 2013-05-09), where the study day is 1",
        lambda f: (f["USUBJID_e"] == "01-716-1063") & (f["AESTDTC_e"] == "2013-05-09")
        & (f["AESTDY_e"] == "366") & (f["AESTDY_o"] == "1"), 1),
    ("AE", "AESTDTC"): Difference(
        "error in the raw reference data: pharmaverseraw lost the year-month start dates "
        "(R as.Date('%Y-%m') gives NA), so IT.AESTDAT is blank where the reference has "
        "YYYY-MM",
        lambda f: _blank(f["AESTDTC_o"]) & (f["AESTDTC_e"].str.len() == 7), 15),
    ("AE", "AESEQ"): Difference(
        "the reference orders a subject's AEs by collection date, start date, then AESPID; "
        "AESPID is not in ae_raw, so ties are broken by end date, term and severity instead",
        lambda f: f["USUBJID_e"].notna(), 224),
    ("SUPPAE", "IDVARVAL"): Difference(
        "IDVARVAL is the parent's AESEQ (see AE.AESEQ); it points at the aligned record",
        lambda f: f["QNAM_e"].notna(), 223),
    ("SUPPAE", "__record"): Difference(
        "AETRTEM cannot be derived when the raw start date is lost (see AE.AESTDTC)",
        lambda f: (f["__side"] == "right_only") & (f["QNAM_e"] == "AETRTEM"), 15),
}

# Natural keys for aligning records (an occurrence number separates identical keys).
KEYS = {
    "DM": ["USUBJID"],
    "EX": ["USUBJID", "EXTRT", "EXSTDTC"],
    "DS": ["USUBJID", "DSSTDTC", "DSCAT", "DSDECOD"],
    "AE": ["USUBJID", "AETERM", "AELLT", "AEDTC", "AEENDTC"],
    "SUPPDM": ["USUBJID", "QNAM"],
    "SUPPAE": ["__parent", "QNAM"],
}

_NUMBER = re.compile(r"^-?\d+(\.\d*)?$")


def norm(series: pd.Series) -> pd.Series:
    """Values as comparable text: blank for missing, numbers without trailing zeros."""
    if pd.api.types.is_numeric_dtype(series):
        return series.map(lambda v: "" if pd.isna(v) else
                          np.format_float_positional(float(v), trim="-")).astype(object)
    text = series.fillna("").astype(str).str.strip()
    numeric = text.str.match(_NUMBER)
    text[numeric] = text[numeric].map(lambda v: np.format_float_positional(float(v), trim="-"))
    return text


@pytest.fixture(scope="module")
def pilot(reference):
    raw = reference / "pharmaverse" / "raw"
    result = map_study(STUDY, raw)
    expected = {name: pd.read_csv(reference / "pharmaverse" / "sdtm" / f"{name.lower()}.csv",
                                  dtype=str, keep_default_na=False)
                for name in ("DM", "SUPPDM", "AE", "SUPPAE", "EX", "DS")}
    return result, expected, raw


def _order_columns(name: str, columns: list[str]) -> list[str]:
    """Columns that order records with identical keys: the compared ones that are expected
    to be equal on both sides (not --SEQ, not a documented difference)."""
    return [c for c in columns if (name, c) not in DIFFERENCES and not c.endswith("SEQ")]


def _record_ids(frame: pd.DataFrame, keys: list[str], order: list[str]) -> pd.Series:
    """Natural key + occurrence number (records with identical keys are taken in the order
    of their other values, so identical records pair up whatever their order)."""
    f = frame.reindex(columns=list(dict.fromkeys(keys + order))).fillna("")
    f = f.sort_values(list(f.columns), kind="stable")
    occ = f.groupby(keys, sort=False).cumcount().astype(str)
    return (f[keys].agg("|".join, axis=1) + "#" + occ).reindex(frame.index)


def _with_parent(supp: pd.DataFrame, parent: pd.DataFrame, parent_ids: pd.Series,
                 seq: str) -> pd.DataFrame:
    """SUPP rows with ``__parent``: the record id of the record they qualify."""
    p = pd.DataFrame({"USUBJID": parent["USUBJID"], "IDVARVAL": parent[seq],
                      "__parent": parent_ids})
    return supp.merge(p, on=["USUBJID", "IDVARVAL"], how="left")


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({c: norm(frame[c]) for c in frame.columns if not c.startswith("__")})


def _align(ours: pd.DataFrame, exp: pd.DataFrame, keys: list[str], columns: list[str],
           order: list[str]) -> pd.DataFrame:
    """Outer merge on record ids; columns suffixed _o (ours) and _e (expected)."""
    o, e = (f.reindex(columns=columns).fillna("").assign(__id=_record_ids(f, keys, order))
            for f in (ours, exp))
    return o.add_suffix("_o").merge(e.add_suffix("_e"), how="outer", indicator="__side",
                                    left_on="__id_o", right_on="__id_e")


def compare(result, expected) -> tuple[pd.DataFrame, list[str]]:
    """Per-variable match table and the list of unexplained mismatches."""
    ours = {name: _normalised(frame) for name, frame in result.domains.items()}
    exp = {name: _normalised(frame) for name, frame in expected.items()}
    for supp, parent in (("SUPPAE", "AE"),):
        columns = [c for c in exp[parent].columns if c not in EXCLUDED.get(parent, {})]
        for side in (ours, exp):
            ids = _record_ids(side[parent], KEYS[parent], _order_columns(parent, columns))
            side[supp] = _with_parent(side[supp], side[parent], ids, f"{parent}SEQ")
    rows, problems = [], []
    for name in ("DM", "SUPPDM", "AE", "SUPPAE", "EX", "DS"):
        e = exp[name]
        o = ours.get(name, pd.DataFrame(columns=e.columns))
        skip_q = EXCLUDED_QNAMS.get(name, {})
        if "QNAM" in e:
            e = e[~e["QNAM"].isin(skip_q)]
            o = o[~o["QNAM"].isin(skip_q)]
        columns = [c for c in e.columns if c not in EXCLUDED.get(name, {})
                   and not c.startswith("__")]
        extra = [c for c in o.columns if c not in e.columns and not c.startswith("__")]
        if extra:
            problems.append(f"{name}: variables not in the reference: {extra}")
        keys = KEYS[name]
        aligned = _align(o, e, keys, columns + [k for k in keys if k not in columns],
                         _order_columns(name, columns))
        both = aligned["__side"] == "both"
        exp_rows = aligned["__side"] != "left_only"
        # records on one side only: allowed only where documented
        record_diff = DIFFERENCES.get((name, "__record"))
        missing_ok = ~both & (record_diff.allowed(aligned) if record_diff else False)
        if (~both & ~missing_ok).any():
            problems.append(f"{name}: {int((~both & ~missing_ok).sum())} records not aligned\n"
                            f"{aligned.loc[~both & ~missing_ok].head(3).T}")
        if record_diff and int(missing_ok.sum()) != record_diff.count:
            problems.append(f"{name}: {int(missing_ok.sum())} one-sided records, documented "
                            f"{record_diff.count}")
        for var in columns:
            same = both & (aligned[f"{var}_o"] == aligned[f"{var}_e"])
            mism = exp_rows & ~same
            diff = DIFFERENCES.get((name, var))
            deliberate = mism & both & (diff.allowed(aligned) if diff else False)
            unexplained = mism & ~deliberate & ~missing_ok
            if diff and int(deliberate.sum()) != diff.count:
                problems.append(f"{name}.{var}: {int(deliberate.sum())} deliberate differences, "
                                f"documented {diff.count}")
            if unexplained.any():
                bad = aligned.loc[unexplained, [f"{k}_e" for k in keys] + [f"{var}_o", f"{var}_e"]]
                problems.append(f"{name}.{var}: {len(bad)} unexplained mismatches\n{bad.head()}")
            status = "ok"
            if mism.any():
                status = f"deliberate ({int((mism & ~unexplained).sum())})"
            if unexplained.any():
                status = f"MISMATCH ({int(unexplained.sum())})"
            rows.append({"dataset": name, "variable": var, "matched": int(same.sum()),
                         "total": int(exp_rows.sum()), "status": status})
    return pd.DataFrame(rows), problems


def test_mapping_runs_without_errors_or_warnings(pilot):
    result, _, _ = pilot
    assert result.findings.empty, result.findings.head(20).to_string()
    assert set(result.domains) == {"DM", "SUPPDM", "AE", "SUPPAE", "EX", "DS"}


def test_every_variable_matches_the_reference(pilot):
    result, expected, _ = pilot
    table, problems = compare(result, expected)
    with pd.option_context("display.max_rows", 200, "display.width", 120):
        print("\nCDISCPILOT01 against pharmaversesdtm, per variable:")
        print(table.to_string(index=False))
        print("\nNot compared (not carried by the raw tables):")
        for name, items in list(EXCLUDED.items()) + list(EXCLUDED_QNAMS.items()):
            for var, why in items.items():
                print(f"  {name}.{var}: {why}")
    assert not problems, "\n".join(problems)


def test_the_comparison_catches_a_changed_value(pilot):
    """Guard against a comparison that cannot fail: one changed value is reported."""
    result, expected, _ = pilot
    domains = dict(result.domains)
    ds = domains["DS"].copy()
    ds.loc[ds.index[5], "DSSTDY"] = ds.loc[ds.index[5], "DSSTDY"] + 1
    ae = domains["AE"].copy()
    ae.loc[ae.index[7], "AEREL"] = "REMOTE" if ae.loc[ae.index[7], "AEREL"] != "REMOTE" else "NONE"
    domains.update(DS=ds, AE=ae)
    _, problems = compare(type(result)(domains, result.findings, result.unmapped, result.study),
                          expected)
    assert [p.split(":")[0] for p in problems] == ["AE.AEREL", "DS.DSSTDY"]


def test_deliberate_differences_hold_what_we_claim(pilot):
    """The mapped values behind the deliberate differences are the raw facts, not noise."""
    result, expected, raw = pilot
    dm = result.domains["DM"].set_index("USUBJID")
    treated = dm[dm["RFSTDTC"] != ""]
    ic = pd.to_datetime(treated["RFSTDTC"]) - pd.Timedelta(days=7)
    assert (treated["RFICDTC"] == ic.dt.strftime("%Y-%m-%d")).all()
    # RFPENDTC: the last disposition date; the reference is never earlier
    exp_dm = expected["DM"].set_index("USUBJID")
    assert (dm["RFPENDTC"].str[:10] <= exp_dm.loc[dm.index, "RFPENDTC"].str[:10]).all()
    # the AE start dates the raw table lost
    ae_raw = pd.read_csv(raw / "ae_raw.csv", dtype=str, keep_default_na=False)
    assert (ae_raw["IT.AESTDAT"] == "").sum() == 15
    assert (expected["AE"]["AESTDTC"].str.len() == 7).sum() == 15


def test_every_raw_row_lands_in_a_domain_or_in_unmapped(pilot):
    """Nothing silently dropped: each raw row is a record or listed with a reason."""
    result, _, raw = pilot
    used = pd.concat([f[["__table", "__row"]] for f in result.domains.values()
                      if "__table" in f], ignore_index=True)
    unmapped = result.unmapped
    assert (unmapped["reason"].fillna("") != "").all()
    for table in RAW_TABLES:
        n = len(pd.read_csv(raw / table, dtype=str, keep_default_na=False))
        mapped = set(used.loc[used["__table"] == table, "__row"])
        listed = set(unmapped.loc[unmapped["table"] == table, "row"])
        assert mapped | listed == set(range(1, n + 1)), table
        assert not mapped & listed, table
    # in this study every raw row is a record
    assert unmapped.empty
    assert {t: int((used["__table"] == t).sum()) for t in RAW_TABLES} == {
        "dm_raw.csv": 306, "ae_raw.csv": 1191, "ec_raw.csv": 591, "ds_raw.csv": 850}


def test_cli_maps_the_pilot(reference, tmp_path):
    from click.testing import CliRunner

    from cdisc_convert.cli import main

    out = tmp_path / "pilot"
    raw = reference / "pharmaverse" / "raw"
    run = CliRunner().invoke(main, ["sdtm", str(STUDY), "--raw", str(raw), "--out", str(out)])
    assert run.exit_code == 0, run.output
    counts = {p.stem: len(pd.read_csv(p, dtype=str)) for p in out.glob("*.csv")
              if p.stem not in ("mapping_findings", "conformance_findings", "unmapped")}
    assert counts == {"dm": 306, "suppdm": 508, "ae": 1191, "suppae": 1176, "ex": 591,
                      "ds": 850}
