"""Integrity of the bundled study's raw database (fixtures/sorafenib_dtic/raw).

These tests check the raw tables as a data manager would before database lock: keys,
referential integrity, date order, and that the generator reproduces the committed files.
They deliberately do not derive endpoints (that is what the SDTM/ADaM tests do).
"""
from __future__ import annotations

import filecmp
import importlib.util
import sys

import pandas as pd
import pytest

from conftest import REPO

RAW = REPO / "fixtures" / "sorafenib_dtic" / "raw"
TABLES = ["subjects", "dacarbazine", "sorafenib", "ae", "ae_coding", "lesions", "tumor_meas",
          "new_lesions", "response", "disposition", "vitals", "labs"]


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(RAW / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}


def dmy(series):
    return pd.to_datetime(series, format="%d-%b-%Y", errors="raise")


def test_every_table_is_present_and_non_empty(raw):
    for name, frame in raw.items():
        assert len(frame) > 0, name


def test_thirty_seven_unique_subjects(raw):
    subjects = raw["subjects"]
    assert len(subjects) == 37
    assert subjects["SUBJECT"].is_unique
    assert subjects["PATNO"].astype(int).tolist() == list(range(1, 38))


@pytest.mark.parametrize("table", [t for t in TABLES if t not in ("subjects", "ae_coding")])
def test_every_subject_in_every_table_exists_in_subjects(raw, table):
    unknown = set(raw[table]["SUBJECT"]) - set(raw["subjects"]["SUBJECT"])
    assert not unknown, f"{table}: subjects not in subjects.csv: {sorted(unknown)}"


def test_one_disposition_record_per_subject(raw):
    assert sorted(raw["disposition"]["SUBJECT"]) == sorted(raw["subjects"]["SUBJECT"])


def test_consent_before_enrolment_before_first_dose(raw):
    s = raw["subjects"].set_index("SUBJECT")
    first = (raw["dacarbazine"].query("CYCLE == '1'").set_index("SUBJECT")["DTICDAT"]
             .pipe(pd.to_datetime, format="%m/%d/%Y"))
    consent, enrol = dmy(s["ICDAT"]), dmy(s["ENRLDAT"])
    assert (consent <= enrol).all()
    assert (enrol <= first.reindex(s.index)).all()


def test_cycles_are_consecutive_and_ascending(raw):
    dtic = raw["dacarbazine"].assign(DATE=lambda f: pd.to_datetime(f["DTICDAT"], format="%m/%d/%Y"),
                                     CYCLE=lambda f: f["CYCLE"].astype(int))
    for subject, cycles in dtic.groupby("SUBJECT"):
        assert cycles["CYCLE"].tolist() == list(range(1, len(cycles) + 1)), subject
        assert cycles["DATE"].is_monotonic_increasing, subject


def test_dacarbazine_dose_never_rises_and_reductions_have_a_reason(raw):
    dtic = raw["dacarbazine"].assign(LVL=lambda f: f["DTICLVL"].astype(int),
                                     CYCLE=lambda f: f["CYCLE"].astype(int))
    dtic = dtic.sort_values(["SUBJECT", "CYCLE"])
    assert (dtic.groupby("SUBJECT")["LVL"].diff().fillna(0) <= 0).all()
    reduced = dtic[dtic["DTICRED"] == "Yes"]
    assert (reduced["DTICREAS"] != "").all()


def test_baseline_scan_before_first_dose_and_scans_ascending(raw):
    first = (raw["dacarbazine"].query("CYCLE == '1'").set_index("SUBJECT")["DTICDAT"]
             .pipe(pd.to_datetime, format="%m/%d/%Y"))
    scans = raw["tumor_meas"].assign(DATE=lambda f: pd.to_datetime(f["SCANDAT"]))
    baseline = scans[scans["VISIT"] == "Baseline"].groupby("SUBJECT")["DATE"].max()
    assert (baseline < first.reindex(baseline.index)).all()
    per_visit = scans.groupby(["SUBJECT", "VISIT"], sort=False)["DATE"].first().reset_index()
    for subject, visits in per_visit.groupby("SUBJECT", sort=False):
        assert visits["DATE"].is_monotonic_increasing, subject


def test_measured_lesions_exist_in_the_lesion_list(raw):
    known = set(zip(raw["lesions"]["SUBJECT"], raw["lesions"]["LESID"]))
    measured = set(zip(raw["tumor_meas"]["SUBJECT"], raw["tumor_meas"]["LESID"]))
    assert measured <= known


def test_new_lesions_and_responses_belong_to_a_scan(raw):
    scans = set(zip(raw["tumor_meas"]["SUBJECT"], raw["tumor_meas"]["VISIT"],
                    raw["tumor_meas"]["SCANDAT"]))
    for table, date_col in (("new_lesions", "SCANDAT"), ("response", "ASSDAT")):
        rows = set(zip(raw[table]["SUBJECT"], raw[table]["VISIT"], raw[table][date_col]))
        assert rows <= scans, table


def test_adverse_event_dates_ordered_and_coded(raw):
    ae = raw["ae"]
    complete = ae[~ae["AESTDAT"].str.startswith("UN") & (ae["AEENDAT"] != "")]
    start = pd.to_datetime(complete["AESTDAT"], format="%d%b%Y")
    end = pd.to_datetime(complete["AEENDAT"], format="%d%b%Y")
    assert (start <= end).all()
    assert set(ae["AETERM"]) <= set(raw["ae_coding"]["VERBATIM"])
    assert ae["AEGRADE"].astype(int).between(1, 5).all()


def test_death_is_the_last_thing_that_happens(raw):
    disp = raw["disposition"].set_index("SUBJECT")
    dead = disp[disp["DTHDAT"] != ""]
    assert (dmy(dead["DTHDAT"]) == dmy(dead["LSTALVDAT"])).all()
    last_scan = pd.to_datetime(raw["tumor_meas"]["SCANDAT"]).groupby(raw["tumor_meas"]["SUBJECT"]).max()
    assert (last_scan <= dmy(disp["LSTALVDAT"]).reindex(last_scan.index)).all()
    assert (dmy(disp["EOTDAT"]) <= dmy(disp["LSTALVDAT"])).all()
    ae = raw["ae"][raw["ae"]["AEENDAT"] != ""]
    ae_end = pd.to_datetime(ae["AEENDAT"], format="%d%b%Y")
    assert (ae_end <= dmy(disp["LSTALVDAT"]).reindex(ae["SUBJECT"]).to_numpy()).all()


def test_the_irregularities_the_readme_promises_are_there(raw):
    """Partial dates, cm units, unscheduled and not-evaluable scans, spelling variants."""
    assert raw["subjects"]["BRTHDAT"].str.startswith("UN-").any()
    assert raw["ae"]["AESTDAT"].str.startswith("UN").any()
    assert (raw["tumor_meas"]["DIAMU"] == "cm").any()
    assert (raw["tumor_meas"]["VISIT"] == "Unscheduled").any()
    assert (raw["tumor_meas"]["NOTDONE"] != "").any()
    assert raw["subjects"]["HISTOL"].nunique() > 3
    assert (raw["sorafenib"]["SORDOSE"] == "0").any()      # an interruption row


def test_generator_reproduces_the_committed_files(tmp_path):
    spec = importlib.util.spec_from_file_location("generate", RAW.parent / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    module.write(module.generate(), tmp_path)
    for table in TABLES:
        assert filecmp.cmp(tmp_path / f"{table}.csv", RAW / f"{table}.csv", shallow=False), table


def _counts(raw) -> pd.DataFrame:
    """Neutrophil and platelet counts in 10^9/L (10^3/uL is the same count per volume)."""
    labs = raw["labs"].assign(DATE=lambda f: pd.to_datetime(f["LBDAT"], format="%m/%d/%Y"))
    labs = labs[labs["LBTEST"].isin(["Neutrophils", "Platelets"]) & (labs["LBORRES"] != "")]
    assert set(labs["LBORRESU"]) == {"10^9/L", "10^3/uL"}
    return labs.assign(VALUE=labs["LBORRES"].astype(float))


def test_vitals_screening_matches_subjects_and_every_cycle_is_weighed(raw):
    vitals, subjects = raw["vitals"], raw["subjects"].set_index("SUBJECT")
    screening = vitals[vitals["VISIT"] == "Screening"].set_index("SUBJECT")
    assert sorted(screening.index) == sorted(subjects.index)
    assert (screening["HEIGHT"] == subjects["HEIGHT"].reindex(screening.index)).all()
    assert (screening["BSA"] == subjects["BSA"].reindex(screening.index)).all()
    weighed = set(zip(vitals["SUBJECT"], vitals["VISIT"]))
    cycles = set(zip(raw["dacarbazine"]["SUBJECT"], "Cycle " + raw["dacarbazine"]["CYCLE"]))
    assert cycles <= weighed
    assert set(vitals["WEIGHTU"]) == {"kg", "lb"}          # site 02 weighs in pounds


def test_counts_allow_every_dose_and_each_reduction_follows_a_grade_3_4_count(raw):
    labs = _counts(raw)
    cycle = labs[labs["VISIT"].str.startswith("Cycle")]
    neut, plat = (cycle[cycle["LBTEST"] == t]["VALUE"] for t in ("Neutrophils", "Platelets"))
    assert (neut >= 1.5).all() and (plat >= 100).all()     # dosing criteria
    low = labs[labs["VISIT"] == "Unscheduled"]
    assert ((low["LBTEST"] == "Neutrophils") & (low["VALUE"] < 1.0)
            | (low["LBTEST"] == "Platelets") & (low["VALUE"] < 50)).all()
    dtic = raw["dacarbazine"].assign(DATE=lambda f: pd.to_datetime(f["DTICDAT"], format="%m/%d/%Y"))
    for red in dtic[dtic["DTICRED"] == "Yes"].itertuples():
        before = low[(low["SUBJECT"] == red.SUBJECT) & (low["DATE"] < red.DATE)
                     & (low["DATE"] >= red.DATE - pd.Timedelta(days=30))]
        assert len(before), (red.SUBJECT, red.CYCLE)
