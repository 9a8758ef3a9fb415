"""End to end: `cdisc-convert run` on the bundled study reproduces the published abstract.

Every figure is asserted from the ADaM datasets as written to disk (XPT, read back), and
from results.json, which is computed from those datasets only.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

from cdisc_convert.adam.adrs import build_adrs, select_visit_responses
from cdisc_convert.adam.adsl import build_adsl
from cdisc_convert.adam.adtte import build_adtte
from cdisc_convert.adam.config import load_adam_config
from cdisc_convert.io.read_folder import read_folder
from cdisc_convert.report.results import compute_results, km_median
from cdisc_convert.report.spec import load_report_spec
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"


@pytest.fixture(scope="module")
def run_out(bundled_run):
    return bundled_run


@pytest.fixture(scope="module")
def adam(run_out):
    return read_folder(run_out / "adam")


def flag_count(adrs: pd.DataFrame, paramcd: str) -> int:
    return int((adrs.loc[adrs["PARAMCD"] == paramcd, "AVALC"] == "Y").sum())


def test_population(adam):
    adsl = adam["ADSL"]
    assert len(adsl) == 37 and (adsl["SEX"] == "F").sum() == 19
    assert (adsl["AGE"].median(), adsl["AGE"].min(), adsl["AGE"].max()) == (55, 26, 87)
    assert adsl["HISTOL"].value_counts().to_dict() == {
        "LEIOMYOSARCOMA": 22, "SYNOVIAL SARCOMA": 11, "MALIGNANT PERIPHERAL NERVE SHEATH TUMOUR": 4}


def test_dose_reductions_by_cohort_and_grade_5(adam, run_out):
    """The paper's 15 of the first 25 and 3 of the last 12 dacarbazine reductions, counted
    here from the per-cycle ADEX records read from adex.xpt: a subject is reduced when a
    cycle's dose is below the protocol dose of the subject's cohort (the cohort is the dose
    of its first cycle: 1000 mg/m2 for patients 1-25, 850 mg/m2 from patient 26)."""
    import pyreadstat

    adex, _ = pyreadstat.read_xport(str(run_out / "adam" / "adex.xpt"))
    cycles = adex[adex["PARAMCD"] == "DTICDOSE"].sort_values(["USUBJID", "ASTDT"])
    first = cycles.groupby("USUBJID")["AVAL"].first()
    assert sorted(first.unique()) == [850.0, 1000.0]
    protocol = cycles["USUBJID"].map(first)
    reduced = (cycles["AVAL"] < protocol).groupby(cycles["USUBJID"]).any()
    by_dose = reduced.groupby(first).agg(["sum", "size"])
    assert {d: (int(r["sum"]), int(r["size"])) for d, r in by_dose.iterrows()} == {
        850.0: (3, 12), 1000.0: (15, 25)}
    # the subject-level ADEX flag and ADSL's copy of it say the same
    flag = adex[adex["PARAMCD"] == "DTICRDFL"].set_index("USUBJID")["AVALC"]
    assert (flag == "Y").sort_index().equals(reduced.sort_index())
    assert adam["ADSL"].set_index("USUBJID")["DTICRDFL"].sort_index().eq("Y").equals(
        reduced.sort_index())
    assert (adam["ADSL"]["AEGR5FL"] == "Y").sum() == 1


def test_disease_control_and_response_rates(adam):
    adrs = adam["ADRS"]
    assert flag_count(adrs, "DCR") == 17
    assert flag_count(adrs, "RSP") == 5
    assert flag_count(adrs, "CRSP") == 5  # the brief: confirmed and unconfirmed alike
    assert flag_count(adrs, "RSPCHOI") == 19


def test_kaplan_meier_medians(adam):
    adtte = adam["ADTTE"]
    pfs = km_median(adtte[adtte["PARAMCD"] == "PFS"], "weeks")
    os_ = km_median(adtte[adtte["PARAMCD"] == "OS"], "months")
    assert pfs["median"] == 13.4 and pfs["median_days"] == 94
    assert os_["median"] == 13.2 and os_["median_days"] == 402


def test_results_json_carries_the_abstract(run_out):
    res = json.loads((run_out / "report" / "results.json").read_text())
    assert res["N"] == 37 and res["sex"]["F"] == 19
    assert res["disease_control"]["n"] == 17 and res["disease_control"]["pct"] == 45.9
    assert res["recist_response"]["n"] == 5 and res["choi_response"]["n"] == 19
    assert res["recist_confirmed_response"]["n"] == 5
    # events and censorings per reason (FDA rules: censored at the last adequate assessment)
    assert res["pfs"]["reasons"] == {
        "events": {"Death": 2, "Disease Progression": 33},
        "censored": {"Last Adequate Tumor Assessment": 2}}
    assert res["os"]["reasons"]["censored"] == {"Alive": 7}
    assert res["pfs"]["median"] == 13.4 and res["os"]["median"] == 13.2
    assert res["grade5_subjects"] == 1
    assert res["dose_reductions_by_starting_dose"] == {"1000": {"reduced": 15, "N": 25},
                                                       "850": {"reduced": 3, "N": 12}}
    html = (run_out / "report" / "results.html").read_text()
    assert "13.4 weeks" in html and "km_pfs.svg" in html


def test_investigator_agrees_with_the_measurements(run_out):
    """The reconciliation listing (RS vs RECIST/Choi computed from TR) is empty."""
    listing = pd.read_csv(run_out / "adam" / "reconciliation.csv")
    assert listing.empty


def test_figures_come_out_the_same_from_measurements_alone(run_out):
    """Ignore the investigator's RS: computing every response from TU/TR gives the abstract."""
    sdtm = read_folder(run_out / "sdtm")
    config = load_adam_config(STUDY / "adam.yaml")
    config.response.source = "tr"
    adsl = build_adsl(sdtm, config)
    adrs = build_adrs(select_visit_responses(sdtm, adsl, config), adsl, config)
    assert set(adrs["SRCDOM"].dropna()) <= {"TR", "ADSL", "ADRS", ""}
    res = compute_results(adsl, adrs, build_adtte(adsl, adrs, config), load_report_spec(STUDY))
    assert (res["disease_control"]["n"], res["recist_response"]["n"], res["choi_response"]["n"]) == (17, 5, 19)
    assert (res["pfs"]["median"], res["os"]["median"]) == (13.4, 13.2)


def test_adtr_waterfall_inputs(adam):
    adtr = adam["ADTR"]
    assert set(adtr["PARAMCD"]) == {"SUMDIAM", "DENSITY"}
    best = adtr[adtr["ABLFL"] != "Y"].groupby(["PARAMCD", "USUBJID"])["PCHG"].min()
    # five subjects reach a -30% sum of diameters (the RECIST responders)
    assert (best["SUMDIAM"] <= -30).sum() == 5
