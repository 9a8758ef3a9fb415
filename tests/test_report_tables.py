"""Summary tables (HTML, RTF, ARD) on hand-checked tables, their schema, and the CDISC
pilot's safety population against counts made here independently and the pilot CSR's."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.report.spec import report_spec_from_text
from cdisc_convert.report.tables import (table_adverse_events, table_demographics,
                                         table_response)
from cdisc_convert.report.tlf import tables_html, write_tables

ADSL = pd.DataFrame({
    "USUBJID": ["1", "2", "3", "4", "5"],
    "ARM": ["A", "A", "B", "B", "B"],
    "SAFFL": ["Y", "Y", "Y", "Y", "N"],
    "AGE": [40.0, 60.0, 30.0, 50.0, 99.0],
    "SEX": ["F", "M", "F", "F", "M"],
})
ADAE = pd.DataFrame({
    "USUBJID": ["1", "1", "1", "3", "4", "5", "2"],
    "AEBODSYS": ["GI", "GI", "SKIN", "GI", "GI", "GI", "SKIN"],
    "AEDECOD": ["NAUSEA", "NAUSEA", "RASH", "DIARRHOEA", "NAUSEA", "NAUSEA", "RASH"],
    "TRTEMFL": ["Y", "Y", "Y", "Y", "Y", "Y", ""],
})


def _cells(table, label):
    return [row[1:] for row in table.rows if row[0] == label]


def test_adverse_events_count_subjects_once_per_level():
    t = table_adverse_events(ADAE, ADSL, output="T1", title="TEAE", by="ARM", population="SAFFL")
    assert t.header == ["System organ class / preferred term", "A (N=2)", "B (N=2)",
                        "Total (N=4)"]
    # subject 1 has NAUSEA twice and RASH; subject 2's RASH is not emergent; 5 is not in SAFFL
    assert _cells(t, "Subjects with at least one event") == [["1 (50.0)", "2 (100.0)",
                                                              "3 (75.0)"]]
    assert _cells(t, "GI") == [["1 (50.0)", "2 (100.0)", "3 (75.0)"]]
    assert _cells(t, "NAUSEA") == [["1 (50.0)", "1 (50.0)", "2 (50.0)"]]
    assert _cells(t, "SKIN") == [["1 (50.0)", "0", "1 (25.0)"]]
    # SOCs by decreasing total, preferred terms under their SOC
    labels = [row[0] for row in t.rows]
    assert labels == ["Subjects with at least one event", "GI", "NAUSEA", "DIARRHOEA", "SKIN",
                      "RASH"]
    assert t.indent == [0, 1, 2, 2, 1, 2]


def test_ard_holds_every_displayed_statistic():
    t = table_adverse_events(ADAE, ADSL, output="T1", title="TEAE", by="ARM", population="SAFFL")
    ard = t.ard.set_index(["GROUP", "ROW", "STAT"])["VALUE"]
    for row in t.rows:
        for group, cell in zip(["A", "B", "Total"], row[1:]):
            n = ard[(group, row[0], "n")]
            pct = ard[(group, row[0], "pct")]
            assert cell == (f"{int(n)} ({pct:.1f})" if n else "0")
    assert ard[("Total", "N", "N")] == 4


def test_demographics_numbers_and_categories():
    t = table_demographics(ADSL, output="T2", title="Demographics", by="ARM",
                           population="SAFFL", variables=[("AGE", "Age"), ("SEX", "Sex")])
    assert _cells(t, "n") == [["2", "2", "4"]]
    # A: 40, 60 -> mean 50, SD 14.14; total 40, 60, 30, 50 -> mean 45, SD 12.91
    assert _cells(t, "Mean (SD)") == [["50.0 (14.14)", "40.0 (14.14)", "45.0 (12.91)"]]
    assert _cells(t, "Min, Max") == [["40, 60", "30, 50", "30, 60"]]
    assert _cells(t, "F") == [["1 (50.0)", "2 (100.0)", "3 (75.0)"]]
    assert _cells(t, "M") == [["1 (50.0)", "0", "1 (25.0)"]]


def test_response_distribution_counts_subjects_without_a_record_as_missing():
    adrs = pd.DataFrame({"USUBJID": ["1", "2", "3"], "PARAMCD": ["BOR"] * 3,
                         "AVALC": ["PR", "PD", "PR"]})
    t = table_response(adrs, ADSL, output="T3", title="BOR", by="ARM", paramcd="BOR",
                       population="SAFFL", total=False)
    assert _cells(t, "PR") == [["1 (50.0)", "1 (50.0)"]]
    assert _cells(t, "MISSING") == [["0", "1 (50.0)"]]
    assert _cells(t, "CR") == [["0", "0"]]


def test_group_order_and_missing_inputs():
    t = table_demographics(ADSL, output="T", title="D", by="ARM", variables=[("AGE", "Age")],
                           group_order=["B"], total=False)
    assert t.header[1:] == ["B (N=3)", "A (N=2)"]
    with pytest.raises(InputError, match="table_adverse_events needs AEDECOD"):
        table_adverse_events(ADAE.drop(columns=["AEDECOD"]), ADSL, output="T", title="x",
                             by="ARM")


def test_html_and_rtf_and_ard_files(tmp_path):
    t = table_adverse_events(ADAE, ADSL, output="14.3.1", title="TEAE", by="ARM",
                             population="SAFFL")
    written = write_tables([t], tmp_path, title="Study X")
    assert written == ["tables.html", "table_14_3_1.rtf", "ard.csv", "ard.json"]
    rtf = (tmp_path / "table_14_3_1.rtf").read_text()
    assert rtf.startswith("{\\rtf1") and "Table 14.3.1" in rtf and "NAUSEA" in rtf
    assert "A (N=2)" in rtf
    ard = pd.read_csv(tmp_path / "ard.csv")
    assert len(ard) == len(t.ard) and set(ard["OUTPUT"]) == {"14.3.1"}
    assert "<td class=\"l2\">NAUSEA</td>" in tables_html([t], "x")


@pytest.mark.slow    # starts LibreOffice (an office suite, like the browser test: end to end)
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice is not installed")
def test_rtf_opens_in_libreoffice(tmp_path):
    t = table_demographics(ADSL, output="14.1.1", title="D", by="ARM",
                           variables=[("AGE", "Age")])
    write_tables([t], tmp_path, title="x")
    # a profile of its own: a LibreOffice of a parallel test (xdist) must not take the job
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(tmp_path / "table_14_1_1.rtf")],
                   check=True, timeout=180, capture_output=True)
    assert (tmp_path / "table_14_1_1.pdf").stat().st_size > 1000


def test_report_yaml_tables_are_checked():
    spec = report_spec_from_text("""
tables:
  - {id: "14.1", type: demographics, title: D, by: ARM, variables: [{name: AGE}]}
""")
    assert spec.tables[0].variables == (("AGE", "AGE"),)
    with pytest.raises(SpecError, match="variables"):
        report_spec_from_text("tables: [{id: '1', type: demographics, title: D, by: ARM}]")
    with pytest.raises(SpecError):
        report_spec_from_text("tables: [{id: '1', type: listing, title: D, by: ARM}]")


def test_cdisc_pilot_safety_tables(reference):
    """The pilot's own ADaM (adsl.xpt, adae.xpt): the counts of subjects with a TEAE per
    arm made here with plain set arithmetic, and those of the pilot CSR's table 14-5.01
    (65 of 86 on placebo, 77 of 84 on low dose, 76 of 84 on high dose) and 14-2.01 (mean
    age 75.2, SD 8.59, on placebo)."""
    from cdisc_convert.io.read_folder import read_dataset

    folder = reference / "cdiscpilot01" / "adam"
    adsl, adae = read_dataset(folder / "adsl.xpt"), read_dataset(folder / "adae.xpt")
    order = ["Placebo", "Xanomeline Low Dose", "Xanomeline High Dose"]
    t = table_adverse_events(adae, adsl, output="14.5.1", title="TEAE", by="TRT01A",
                             population="SAFFL", group_order=order)
    safety = {u: a for u, a, f in zip(adsl["USUBJID"], adsl["TRT01A"], adsl["SAFFL"]) if f == "Y"}
    emergent = {u for u, f in zip(adae["USUBJID"], adae["TRTEMFL"]) if f == "Y" and u in safety}
    expected = []
    for arm in order:
        n_arm = sum(1 for a in safety.values() if a == arm)
        n = sum(1 for u in emergent if safety[u] == arm)
        expected.append(f"{n} ({100 * n / n_arm:.1f})")
    assert _cells(t, "Subjects with at least one event")[0][:3] == expected
    assert expected == ["65 (75.6)", "77 (91.7)", "76 (90.5)"]
    demo = table_demographics(adsl, output="14.2.1", title="D", by="TRT01A",
                              population="SAFFL", variables=[("AGE", "Age")],
                              group_order=order)
    assert _cells(demo, "Mean (SD)")[0][0] == "75.2 (8.59)"
    assert np.isclose(demo.ard.query("GROUP == 'Placebo' and STAT == 'MEAN'")["VALUE"].iloc[0],
                      adsl.loc[(adsl["SAFFL"] == "Y") & (adsl["TRT01A"] == "Placebo"),
                               "AGE"].mean())
