"""The bundled study's vital signs (VS) and haematology (LB): counts, units, not-done records,
baseline flags and reference-range indicators checked against the raw CSV files read with
plain pandas, and the paper's haematological dose reductions visible as low counts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.sdtm.engine import map_study
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"
RAW = REPO / "fixtures" / "sorafenib_dtic" / "raw"


@pytest.fixture(scope="module")
def sdtm():
    return map_study(STUDY, RAW)


@pytest.fixture(scope="module")
def raw():
    read = lambda name: pd.read_csv(RAW / name, dtype=str, keep_default_na=False)  # noqa: E731
    return {"vitals": read("vitals.csv"), "labs": read("labs.csv"),
            "dacarbazine": read("dacarbazine.csv")}


def _one(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.logical_and.reduce([frame[k] == v for k, v in where.items()])
    hit = frame[mask]
    assert len(hit) == 1, (where, len(hit))
    return hit.iloc[0]


def test_no_error_findings_for_vs_and_lb(sdtm):
    f = sdtm.findings
    assert f[(f["severity"] == "error")].empty
    assert f[f["domain"].isin(["VS", "LB"])].empty, f[f["domain"].isin(["VS", "LB"])].head()


def test_vs_has_one_record_per_collected_value(sdtm, raw):
    vs, vit = sdtm.domains["VS"], raw["vitals"]
    expected = {t: int((vit[t] != "").sum()) for t in ("HEIGHT", "WEIGHT", "BSA")}
    assert vs["VSTESTCD"].value_counts().to_dict() == expected
    assert expected["HEIGHT"] == 37                    # height at screening only
    assert set(zip(vs["VSTESTCD"], vs["VSTEST"])) == {
        ("HEIGHT", "Height"), ("WEIGHT", "Weight"), ("BSA", "Body Surface Area")}
    assert (vs.groupby("VSTESTCD")["VSSTRESU"].unique().map(list).to_dict()
            == {"BSA": ["m2"], "HEIGHT": ["cm"], "WEIGHT": ["kg"]})
    # every raw visit is a planned visit (no UNSCHEDULED, none without VISITNUM)
    assert vs["VISITNUM"].notna().all() and not vs["VISIT"].str.startswith("UNSCHEDULED").any()


def test_weight_in_pounds_is_standardised_to_kg(sdtm):
    vs = sdtm.domains["VS"]
    # 02-002 screening: 190.5 lb x 0.45359237 = 86.41 kg
    rec = _one(vs, USUBJID="SORDTIC-II-02-002", VSTESTCD="WEIGHT", VISIT="SCREENING")
    assert (rec["VSORRES"], rec["VSORRESU"], rec["VSSTRESN"], rec["VSSTRESC"], rec["VSSTRESU"]) \
        == ("190.5", "LB", 86.4, "86.4", "kg")
    lb_recs = vs[vs["VSORRESU"] == "LB"]
    ratio = lb_recs["VSSTRESN"] / lb_recs["VSORRES"].astype(float)
    assert len(lb_recs) > 0 and ratio.between(0.4530, 0.4542).all()
    kg = vs[vs["VSORRESU"] == "kg"]
    assert (kg["VSSTRESN"] == kg["VSORRES"].astype(float)).all()


def test_vs_baseline_is_the_last_value_on_or_before_the_first_dose(sdtm):
    vs, dm = sdtm.domains["VS"], sdtm.domains["DM"]
    # 01-001: first dose 2011-09-10 = the cycle 1 visit, weighed that day before dosing
    assert dm.set_index("USUBJID").loc["SORDTIC-II-01-001", "RFXSTDTC"] == "2011-09-10"
    subj = vs[vs["USUBJID"] == "SORDTIC-II-01-001"]
    flagged = subj[subj["VSLOBXFL"] == "Y"]
    assert sorted(zip(flagged["VSTESTCD"], flagged["VISIT"], flagged["VSORRES"])) == [
        ("BSA", "CYCLE 1", "2.15"), ("HEIGHT", "SCREENING", "170.0"), ("WEIGHT", "CYCLE 1", "97.6")]
    # exactly one flag per subject and test, never after the first dose
    flags = vs[vs["VSLOBXFL"] == "Y"]
    assert len(flags) == 37 * 3 and not flags.duplicated(["USUBJID", "VSTESTCD"]).any()
    assert (flags["VSDTC"] <= flags["USUBJID"].map(dm.set_index("USUBJID")["RFXSTDTC"])).all()


def test_lb_counts_per_test_and_not_done(sdtm, raw):
    lb, labs = sdtm.domains["LB"], raw["labs"]
    names = {"Neutrophils": "NEUT", "Platelets": "PLAT", "Haemoglobin": "HGB"}
    assert lb["LBTESTCD"].value_counts().to_dict() == \
        labs["LBTEST"].map(names).value_counts().to_dict()
    assert set(zip(lb["LBTESTCD"], lb["LBTEST"])) == {
        ("NEUT", "Neutrophils"), ("PLAT", "Platelets"), ("HGB", "Hemoglobin")}
    assert (lb["LBCAT"] == "HEMATOLOGY").all() and (lb["LBSPEC"] == "BLOOD").all()
    # not done: a clotted sample, no result, no unit, no range, no indicator
    nd_raw = labs[labs["LBORRES"] == ""]
    nd = lb[lb["LBSTAT"] == "NOT DONE"]
    assert len(nd) == len(nd_raw) == 8
    assert (nd["LBREASND"] == "Sample clotted").all()
    assert (nd[["LBORRES", "LBORRESU", "LBSTRESC", "LBSTRESU", "LBNRIND"]] == "").all().all()
    assert nd["LBSTRESN"].isna().all()
    assert (lb.loc[lb["LBSTAT"] == "", "LBSTRESN"].notna()).all()
    # unscheduled counts (toxicity) get the previous planned visit + 0.01
    uns = lb[lb["VISIT"].str.startswith("UNSCHEDULED")]
    assert len(uns) == int((labs["VISIT"] == "Unscheduled").sum()) == 22
    assert ((uns["VISITNUM"] * 100).round() % 100 > 0).all()


def test_lab_units_are_standardised_to_si(sdtm):
    lb = sdtm.domains["LB"]
    # 01-001 screening haemoglobin 15.2 g/dL (range 13.5-17.5) = 152 g/L (135-175)
    hgb = _one(lb, USUBJID="SORDTIC-II-01-001", LBTESTCD="HGB", VISIT="SCREENING")
    assert (hgb["LBORRES"], hgb["LBORRESU"], hgb["LBORNRLO"], hgb["LBORNRHI"]) == \
        ("15.2", "g/dL", "13.5", "17.5")
    assert (hgb["LBSTRESN"], hgb["LBSTRESC"], hgb["LBSTRESU"], hgb["LBSTNRLO"],
            hgb["LBSTNRHI"], hgb["LBNRIND"]) == (152.0, "152", "g/L", 135.0, 175.0, "NORMAL")
    # 10^3/uL (site 01) is the same quantity as 10^9/L: the CT submission value is 10^9/L
    assert set(lb.loc[lb["LBTESTCD"].isin(["NEUT", "PLAT"]) & (lb["LBSTAT"] == ""),
                      "LBORRESU"]) == {"10^9/L"}
    assert set(lb.loc[lb["LBSTAT"] == "", "LBSTRESU"]) == {"10^9/L", "g/L"}
    gdl = lb[lb["LBORRESU"] == "g/dL"]
    assert len(gdl) > 0 and np.allclose(gdl["LBSTRESN"], gdl["LBORRES"].astype(float) * 10)


def test_reference_range_indicator_matches_the_raw_ranges(sdtm, raw):
    lb, labs = sdtm.domains["LB"], raw["labs"].copy()
    done = labs[labs["LBORRES"] != ""]
    res, lo, hi = (done[c].astype(float) for c in ("LBORRES", "LBORNRLO", "LBORNRHI"))
    expected = np.where(res < lo, "LOW", np.where(res > hi, "HIGH", "NORMAL"))
    # LBSPID keeps the raw LBSEQ, so each record is found again; LBSEQ is per subject
    got = lb.assign(SUBJECT=lb["USUBJID"].str[-6:]).set_index(["SUBJECT", "LBSPID"])
    got = got.loc[list(zip(done["SUBJECT"], done["LBSEQ"])), "LBNRIND"]
    assert got.tolist() == expected.tolist()
    assert (got == "LOW").sum() > 0 and (got == "NORMAL").sum() > 0


def test_lb_baseline_flag_on_a_hand_checked_subject(sdtm):
    lb = sdtm.domains["LB"]
    # 01-001: screening 2011-08-29; first dose and cycle 1 counts 2011-09-10 -> cycle 1
    subj = lb[lb["USUBJID"] == "SORDTIC-II-01-001"]
    flagged = subj[subj["LBLOBXFL"] == "Y"]
    assert sorted(zip(flagged["LBTESTCD"], flagged["VISIT"], flagged["LBDTC"])) == [
        ("HGB", "CYCLE 1", "2011-09-10"), ("NEUT", "CYCLE 1", "2011-09-10"),
        ("PLAT", "CYCLE 1", "2011-09-10")]
    # a not-done test is never the baseline: 03-006's and 03-036's cycle 1 platelets
    # (clotted samples) -> the screening count is the last one before the first dose
    for usubjid in ("SORDTIC-II-03-006", "SORDTIC-II-03-036"):
        subj = lb[(lb["USUBJID"] == usubjid) & (lb["LBTESTCD"] == "PLAT")]
        assert _one(subj, VISIT="CYCLE 1")["LBSTAT"] == "NOT DONE"
        assert subj.loc[subj["LBLOBXFL"] == "Y", "VISIT"].tolist() == ["SCREENING"]
    flags = lb[lb["LBLOBXFL"] == "Y"]
    assert len(flags) == 37 * 3 and not flags.duplicated(["USUBJID", "LBTESTCD"]).any()


def test_dose_reductions_follow_grade_3_4_cytopenias(sdtm, raw):
    """The paper: 15 of the first 25 patients (and 3 of the later 12) had a dacarbazine dose
    reduction for haematological toxicity. Each of them has a grade 3-4 neutropenia (ANC <
    1.0 x 10^9/L) or thrombocytopenia (platelets < 50 x 10^9/L, CTCAE 5.0) before the first
    reduced dose; the one other patient with such a count died of febrile neutropenia in
    cycle 1 (no later dose to reduce)."""
    lb, dac = sdtm.domains["LB"], raw["dacarbazine"]
    low = lb[((lb["LBTESTCD"] == "NEUT") & (lb["LBSTRESN"] < 1.0))
             | ((lb["LBTESTCD"] == "PLAT") & (lb["LBSTRESN"] < 50))]
    first_low = low.groupby(low["USUBJID"].str[-6:])["LBDTC"].min()
    red = dac[dac["DTICRED"] == "Yes"].assign(
        DT=pd.to_datetime(dac["DTICDAT"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d"))
    first_red = red.groupby("SUBJECT")["DT"].min()
    patno = first_red.index.str[-3:].astype(int)
    assert (patno <= 25).sum() == 15 and (patno > 25).sum() == 3
    assert (first_low.reindex(first_red.index) < first_red).all()
    assert sorted(set(first_low.index) - set(first_red.index)) == ["02-017"]


def test_dacarbazine_doses_are_the_level_times_the_screening_bsa(sdtm):
    """VS agrees with EX: every administered dacarbazine dose (SUPPEX EXDOSMG, mg) is the
    dose level (EXDOSE, mg/m2) times the body surface area of the screening visit, rounded
    to 10 mg (the protocol doses on the screening BSA)."""
    ex, supp, vs = sdtm.domains["EX"], sdtm.domains["SUPPEX"], sdtm.domains["VS"]
    mg = supp[supp["QNAM"] == "EXDOSMG"].assign(EXSEQ=lambda f: f["IDVARVAL"].astype(float))
    dtic = ex[ex["EXTRT"] == "DACARBAZINE"].merge(mg[["USUBJID", "EXSEQ", "QVAL"]],
                                                 on=["USUBJID", "EXSEQ"])
    bsa = vs[(vs["VSTESTCD"] == "BSA") & (vs["VISIT"] == "SCREENING")].set_index("USUBJID")
    expected = (dtic["EXDOSE"] * dtic["USUBJID"].map(bsa["VSSTRESN"]) / 10).round() * 10
    assert len(dtic) == 305 and (dtic["QVAL"].astype(float) == expected).all()


def test_adsl_baseline_body_size_comes_from_vs(bundled_run):
    adsl = pd.read_csv(bundled_run / "adam" / "adsl.csv").set_index("USUBJID")
    # 01-001: height 170 cm (screening), weight 97.6 kg and BSA 2.15 m2 on the day of the
    # first dose (cycle 1, before dosing): the last values on or before the first dose
    assert adsl.loc["SORDTIC-II-01-001", ["HEIGHTBL", "WEIGHTBL", "BSABL"]].tolist() == \
        [170.0, 97.6, 2.15]
    # 02-002 weighed in pounds: 190.0 lb on the first dose day = 86.2 kg
    assert adsl.loc["SORDTIC-II-02-002", "WEIGHTBL"] == 86.2
    assert adsl[["HEIGHTBL", "WEIGHTBL", "BSABL"]].notna().all().all()
