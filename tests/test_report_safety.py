"""Safety tables (AEs by maximum grade, serious AEs, deaths, exposure): each on a tiny table
worked out by hand, then the bundled study's tables against counts made here from the ADaM
XPT files (read with pyreadstat, counted with plain pandas)."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.report.tables import (table_adverse_events, table_adverse_events_by_grade,
                                         table_deaths, table_exposure)
from cdisc_convert.report.tlf import tables_html, write_rtf

ADSL = pd.DataFrame({"USUBJID": ["1", "2", "3", "4"], "ARM": ["A", "A", "B", "B"],
                     "SAFFL": ["Y", "Y", "Y", "N"], "DTHFL": ["Y", None, "Y", "Y"],
                     "DTHCAUS": ["SEPSIS", None, "PROGRESSION", "PROGRESSION"]})
ADAE = pd.DataFrame({
    "USUBJID": ["1", "1", "1", "2", "3", "4"],
    "AEBODSYS": ["BLOOD", "BLOOD", "GI", "BLOOD", "BLOOD", "BLOOD"],
    "AEDECOD": ["NEUTROPENIA", "NEUTROPENIA", "NAUSEA", "NEUTROPENIA", "FEBRILE NEUTROPENIA",
                "NEUTROPENIA"],
    "ATOXGR": ["2", "4", "1", "3", "5", "5"],
    "AESER": ["N", "Y", "N", "N", "Y", "Y"],
    "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "Y"]})
BANDS = (("Any", ()), ("1-2", ("1", "2")), ("3-4", ("3", "4")), ("5", ("5",)))


def _cells(table, label):
    found = [row[1:] for row in table.rows if row[0] == label]
    assert len(found) == 1, (label, [r[0] for r in table.rows])
    return found[0]


def test_by_maximum_grade_counts_a_subject_once_under_its_worst_grade():
    t = table_adverse_events_by_grade(ADAE, ADSL, output="G", title="x", by="ARM",
                                      population="SAFFL", bands=BANDS)
    assert t.spans == [("", 1), ("A (N=2)", 4), ("B (N=1)", 4), ("Total (N=3)", 4)]
    # subject 1: NEUTROPENIA grade 2 and 4 -> once, under 3-4; NAUSEA 1; subject 2: grade 3
    assert _cells(t, "NEUTROPENIA") == ["2 (100.0)", "0", "2 (100.0)", "0",
                                        "0", "0", "0", "0",
                                        "2 (66.7)", "0", "2 (66.7)", "0"]
    assert _cells(t, "GI")[:4] == ["1 (50.0)", "1 (50.0)", "0", "0"]
    # subject 4 (grade 5) is outside the population
    assert _cells(t, "FEBRILE NEUTROPENIA")[4:8] == ["1 (100.0)", "0", "0", "1 (100.0)"]
    assert _cells(t, "Subjects with at least one event")[8:] == ["3 (100.0)", "0",
                                                                 "2 (66.7)", "1 (33.3)"]
    ard = t.ard.set_index(["GROUP", "SUBGROUP", "ROW", "STAT"])["VALUE"]
    assert ard[("Total", "3-4", "NEUTROPENIA", "n")] == 2
    assert ard[("Total", "5", "BLOOD", "pct")] == pytest.approx(100 / 3)
    page = tables_html([t], "x")
    assert '<th colspan="4">A (N=2)</th>' in page


def test_serious_events_are_a_where_condition():
    t = table_adverse_events(ADAE, ADSL, output="S", title="x", by="ARM", population="SAFFL",
                             where=(("AESER", ("Y",)),))
    assert [r[0] for r in t.rows] == ["Subjects with at least one event", "BLOOD",
                                      "FEBRILE NEUTROPENIA", "NEUTROPENIA"]
    assert _cells(t, "NEUTROPENIA") == ["1 (50.0)", "0", "1 (33.3)"]


def test_deaths_by_cause_and_fatal_adverse_events():
    t = table_deaths(ADSL, ADAE, output="D", title="x", by="ARM", population="SAFFL")
    assert _cells(t, "Deaths") == ["1 (50.0)", "1 (100.0)", "2 (66.7)"]
    assert _cells(t, "SEPSIS") == ["1 (50.0)", "0", "1 (33.3)"]
    assert _cells(t, "Adverse events with a fatal outcome (ATOXGR in (5))") == [
        "0", "1 (100.0)", "1 (33.3)"]
    assert _cells(t, "FEBRILE NEUTROPENIA") == ["0", "1 (100.0)", "1 (33.3)"]


def test_exposure_summarises_adex_subject_parameters():
    adex = pd.DataFrame({"USUBJID": ["1", "2", "3", "1", "2", "3"],
                         "PARAMCD": ["NCYC"] * 3 + ["RDFL"] * 3,
                         "PARAM": ["Cycles"] * 3 + ["Reduced"] * 3,
                         "AVAL": [2.0, 6.0, 5.0, 1.0, 0.0, 0.0],
                         "AVALC": [None, None, None, "Y", "N", "N"]})
    t = table_exposure(adex, ADSL, output="E", title="x", by="ARM", population="SAFFL",
                       parameters=(("NCYC", None), ("RDFL", "Dose reduced")))
    assert [r[0] for r in t.rows] == ["Cycles", "n", "Mean (SD)", "Median", "Min, Max",
                                      "Dose reduced", "N", "Y"]
    assert _cells(t, "Mean (SD)") == ["4.0 (2.83)", "5.0", "4.3 (2.08)"]
    assert _cells(t, "Y") == ["1 (50.0)", "0", "1 (33.3)"]
    assert t.population == "SAFFL"


def test_rtf_with_a_spanning_header(tmp_path):
    t = table_adverse_events_by_grade(ADAE, ADSL, output="G", title="x", by="ARM",
                                      population="SAFFL", bands=BANDS)
    text = write_rtf(t, tmp_path / "g.rtf").read_text()
    assert text.startswith("{\\rtf1") and "A (N=2)" in text and "FEBRILE NEUTROPENIA" in text


# -- the bundled study: tables against counts made from the XPT files ---------------------
@pytest.fixture(scope="module")
def files(bundled_run):
    import pyreadstat

    read = {name: pyreadstat.read_xport(str(bundled_run / "adam" / f"{name}.xpt"))[0]
            for name in ("adsl", "adae", "adex")}
    ard = pd.read_csv(bundled_run / "report" / "ard.csv", keep_default_na=False,
                      float_precision="round_trip",
                      dtype={"OUTPUT": str})
    ard["VALUE"] = pd.to_numeric(ard["VALUE"], errors="coerce")
    return read, ard


def _stat(ard, output, group, row, subgroup="", stat="n"):
    hit = ard[(ard["OUTPUT"] == output) & (ard["GROUP"] == group) & (ard["ROW"] == row)
              & (ard["SUBGROUP"] == subgroup) & (ard["STAT"] == stat)]
    assert len(hit) == 1, (output, group, row, subgroup, stat)
    return hit["VALUE"].iloc[0]


def test_bundled_ae_by_maximum_grade_matches_the_adae_file(files):
    (data, ard) = files
    adsl, adae = data["adsl"], data["adae"]
    safety = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    teae = adae[(adae["TRTEMFL"] == "Y") & adae["USUBJID"].isin(safety)].copy()
    teae["G"] = teae["ATOXGR"].astype(float)
    worst = teae.groupby(["AEDECOD", "USUBJID"])["G"].max().reset_index()
    for term in ("NAUSEA", "ANAEMIA", "FEBRILE NEUTROPENIA"):
        mine = worst[worst["AEDECOD"] == term]["G"]
        assert _stat(ard, "14.3.2", "Total", term, "Any grade") == len(mine)
        assert _stat(ard, "14.3.2", "Total", term, "Grade 3-4") == mine.isin([3, 4]).sum()
        assert _stat(ard, "14.3.2", "Total", term, "Grade 5") == (mine == 5).sum()
    # the paper's one grade 5 event: febrile neutropenia, from the ADAE records
    grade5 = teae[teae["G"] == 5]
    assert grade5["AEDECOD"].tolist() == ["FEBRILE NEUTROPENIA"]
    assert _stat(ard, "14.3.2", "Total", "Subjects with at least one event", "Grade 5") == 1
    assert _stat(ard, "14.3.4", "Total",
                 "Adverse events with a fatal outcome (ATOXGR in (5))") == 1
    assert _stat(ard, "14.3.4", "Total", "FEBRILE NEUTROPENIA") == 1
    assert _stat(ard, "14.3.4", "Total", "Deaths") == (adsl["DTHFL"] == "Y").sum()


def test_bundled_serious_events_match_the_adae_file(files):
    (data, ard) = files
    adae = data["adae"]
    sae = adae[(adae["TRTEMFL"] == "Y") & (adae["AESER"] == "Y")]
    assert _stat(ard, "14.3.3", "Total", "Subjects with at least one event") == \
        sae["USUBJID"].nunique()
    for term, subjects in sae.groupby("AEDECOD")["USUBJID"].nunique().items():
        assert _stat(ard, "14.3.3", "Total", term) == subjects


def test_bundled_exposure_matches_the_adex_file(files):
    (data, ard) = files
    adex = data["adex"]
    cycles = adex[adex["PARAMCD"] == "DTICDOSE"].groupby("USUBJID").size()
    label = "Dacarbazine Number of Cycles Started"
    assert _stat(ard, "14.4.1", "Total", label, stat="MEDIAN") == cycles.median()
    assert _stat(ard, "14.4.1", "Total", label, stat="MAX") == cycles.max()
    per_cycle = adex[adex["PARAMCD"] == "DTICDOSE"]
    total = per_cycle.groupby("USUBJID")["AVAL"].sum()
    assert _stat(ard, "14.4.1", "Total", "Dacarbazine Cumulative Actual Dose (mg/m2)",
                 stat="MEAN") == pytest.approx(total.mean())
    first = per_cycle.sort_values("ASTDT").groupby("USUBJID")["AVAL"].first()
    reduced = (per_cycle["AVAL"] < per_cycle["USUBJID"].map(first)).groupby(
        per_cycle["USUBJID"]).any()
    assert _stat(ard, "14.4.1", "Total", "Dacarbazine dose reduced: Y") == reduced.sum() == 18
