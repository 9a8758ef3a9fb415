"""Lab tables (worst post-baseline CTCAE grade, shift from baseline) on a tiny ADLB worked out
by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.report.ars import reporting_event
from cdisc_convert.report.labs import table_lab_grades, table_shift
from cdisc_convert.report.spec import report_spec_from_text
from cdisc_convert.report.tlf import tables_html, write_rtf

ADSL = pd.DataFrame({"USUBJID": list("1234"), "ARM": ["A", "A", "B", "B"],
                     "SAFFL": ["Y", "Y", "Y", "N"]})
# NEUT: subject 1 grades 0 (baseline), 2, 4 -> worst 4; subject 2 baseline 1, then 1 -> 1;
# subject 3 baseline 0, then 3 and a grade 4 off treatment -> 3; subject 4 not in SAFFL.
# PLAT: subject 1 only a baseline record -> not evaluable.
ADLB = pd.DataFrame({
    "USUBJID": ["1", "1", "1", "2", "2", "3", "3", "3", "4", "4", "1"],
    "PARAM": ["Neutrophils"] * 10 + ["Platelets"],
    "ATOXDSCL": ["Neutrophil count decreased"] * 10 + ["Platelet count decreased"],
    "ATOXGRL": ["0", "2", "4", "1", "1", "0", "3", "4", "0", "4", "0"],
    "BTOXGRL": ["0", "0", "0", "1", "1", "0", "0", "0", "0", "0", "0"],
    "ANRIND": ["NORMAL", "LOW", "LOW", "LOW", "LOW", "NORMAL", "LOW", "LOW", "NORMAL", "LOW",
               "NORMAL"],
    "BNRIND": ["NORMAL"] * 3 + ["LOW"] * 2 + ["NORMAL"] * 6,
    "ONTRTFL": ["", "Y", "Y", "", "Y", "", "Y", "", "", "Y", ""]})


def _cells(table, label):
    found = [row[1:] for row in table.rows if row[0] == label]
    assert len(found) == 1, (label, [r[0] for r in table.rows])
    return found[0]


def test_worst_post_baseline_grade_per_term():
    t = table_lab_grades(ADLB, ADSL, output="L", title="x", by="ARM", population="SAFFL")
    assert [r[0] for r in t.rows][:1] == ["Neutrophil count decreased"]
    assert "Platelet count decreased" not in [r[0] for r in t.rows]   # no post-baseline
    assert _cells(t, "Neutrophil count decreased") == ["N=2", "N=1", "N=3"]
    assert _cells(t, "Grade 4") == ["1 (50.0)", "0", "1 (33.3)"]
    assert _cells(t, "Grade 3") == ["0", "1 (100.0)", "1 (33.3)"]
    assert _cells(t, "Grade 1") == ["1 (50.0)", "0", "1 (33.3)"]
    assert _cells(t, "Grade 3-4") == ["1 (50.0)", "1 (100.0)", "2 (66.7)"]
    ard = t.ard.set_index(["GROUP", "ROW", "STAT"])["VALUE"]
    assert ard[("Total", "Neutrophil count decreased: Grade 3-4", "pct")] == pytest.approx(
        200 / 3)


def test_shift_from_baseline_to_worst_post_baseline():
    t = table_shift(ADLB, ADSL, output="S", title="x", by="ARM", population="SAFFL",
                    categories=["NORMAL", "LOW"])
    # A: subject 1 NORMAL -> LOW, subject 2 LOW -> LOW; B: subject 3 NORMAL -> LOW
    assert _cells(t, "Baseline NORMAL") == ["0", "1 (50.0)", "0", "1 (100.0)", "0", "2 (66.7)"]
    assert _cells(t, "Baseline LOW") == ["0", "1 (50.0)", "0", "0", "0", "1 (33.3)"]
    assert t.spans[1] == ("A (N=2): worst post-baseline", 2)
    grades = table_shift(ADLB, ADSL, output="G", title="x", by="ARM", population="SAFFL",
                         parameter="ATOXDSCL", baseline="BTOXGRL", value="ATOXGRL",
                         categories=["0", "1", "2", "3", "4"], total=False)
    assert _cells(grades, "Baseline 0") == ["0", "0", "0", "0", "1 (50.0)",
                                            "0", "0", "0", "1 (100.0)", "0"]
    page = tables_html([t, grades], "x")
    assert "Baseline NORMAL" in page


def test_lab_tables_in_yaml_rtf_and_ars(tmp_path):
    spec = report_spec_from_text("""
tables:
  - {id: "1", type: lab_grades, title: G, by: ARM, population: SAFFL}
  - {id: "2", type: shift, title: S, by: ARM, population: SAFFL, categories: [NORMAL, LOW]}
""")
    grades, shift = spec.tables
    assert (grades.flag, grades.grade, grades.term) == ("ONTRTFL", "ATOXGRL", "ATOXDSCL")
    assert (shift.baseline, shift.value, shift.categories) == ("BNRIND", "ANRIND",
                                                               ("NORMAL", "LOW"))
    t1 = table_lab_grades(ADLB, ADSL, output="1", title="G", by="ARM", population="SAFFL")
    t2 = table_shift(ADLB, ADSL, output="2", title="S", by="ARM", population="SAFFL",
                     categories=["NORMAL", "LOW"])
    assert write_rtf(t2, tmp_path / "s.rtf").read_text().startswith("{\\rtf1")
    event = reporting_event([t1, t2], spec.tables, study="S")
    bands = [g for g in event["analysisGroupings"] if g["id"].endswith("_2_Band")][0]
    assert bands["groupingVariable"] == "ANRIND"
    assert [g["condition"]["value"] for g in bands["groups"]] == [["NORMAL"], ["LOW"]]
    assert {a["dataset"] for a in event["analyses"]} == {"ADLB"}
