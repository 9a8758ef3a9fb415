"""Lab tables (worst post-baseline CTCAE grade, shift from baseline) on a tiny ADLB worked out
by hand; then the bundled study's ADLB/ADVS against its SDTM LB/VS (grades recomputed here
from NCI's thresholds) and its lab tables against counts made from adlb.xpt with pandas."""
from __future__ import annotations

import numpy as np
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


# -- the bundled study: ADLB against LB, the lab tables against ADLB ------------------------
NCI = {  # CTCAE v5.0 thresholds written out here (10^9/L, g/L), worst first
    "NEUT": [(4, 0.5), (3, 1.0), (2, 1.5)], "PLAT": [(4, 25), (3, 50), (2, 75)],
    "HGB": [(3, 80), (2, 100)]}


def _nci_grade(test, value, lln):
    if value != value:
        return ""
    for grade, bound in NCI[test]:
        if value < bound:
            return str(grade)
    if lln != lln:
        return ""
    return "1" if value < lln else "0"


@pytest.fixture(scope="module")
def bundled_labs(bundled_run):
    import pyreadstat

    read = {n: pyreadstat.read_xport(str(bundled_run / d / f"{n}.xpt"))[0]
            for n, d in (("lb", "sdtm"), ("adlb", "adam"), ("adsl", "adam"), ("adex", "adam"),
                         ("adae", "adam"), ("vs", "sdtm"), ("advs", "adam"))}
    ard = pd.read_csv(bundled_run / "report" / "ard.csv", keep_default_na=False,
                      float_precision="round_trip", dtype={"OUTPUT": str})
    ard["VALUE"] = pd.to_numeric(ard["VALUE"], errors="coerce")
    return read, ard


def test_bundled_adlb_grades_match_nci_thresholds_on_lb(bundled_labs):
    data, _ = bundled_labs
    lb, adlb = data["lb"], data["adlb"]
    assert len(adlb) == len(lb)
    merged = adlb.merge(lb, left_on=["USUBJID", "SRCSEQ"], right_on=["USUBJID", "LBSEQ"])
    expected = [_nci_grade(t, v, lo) for t, v, lo in
                zip(merged["LBTESTCD"], merged["LBSTRESN"], merged["LBSTNRLO"])]
    assert merged["ATOXGRL"].tolist() == expected
    # baseline: the last non-missing value on or before the first dose (ADSL.TRTSDT)
    first = data["adsl"].set_index("USUBJID")["TRTSDT"]
    pre = lb[lb["LBSTRESN"].notna()].assign(D=lambda f: pd.to_datetime(f["LBDTC"].str[:10]))
    pre = pre[pre["D"] <= pd.to_datetime(pre["USUBJID"].map(first))]
    last = pre.sort_values(["USUBJID", "LBTESTCD", "D", "LBSEQ"]).groupby(
        ["USUBJID", "LBTESTCD"]).tail(1)
    flagged = adlb[adlb["ABLFL"] == "Y"]
    assert sorted(zip(flagged["USUBJID"], flagged["SRCSEQ"].astype(int))) == \
        sorted(zip(last["USUBJID"], last["LBSEQ"].astype(int)))


def test_bundled_lab_worst_grade_table_matches_adlb(bundled_labs):
    data, ard = bundled_labs
    adlb, adsl = data["adlb"], data["adsl"]
    safety = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    post = adlb[(adlb["ONTRTFL"] == "Y") & (adlb["ATOXGRL"] != "") & adlb["USUBJID"].isin(safety)]
    worst = post.assign(G=post["ATOXGRL"].astype(int)).groupby(["ATOXDSCL", "USUBJID"])["G"].max()
    for term, grades in worst.groupby(level=0):
        hit = ard[(ard["OUTPUT"] == "14.3.5") & (ard["GROUP"] == "Total")]
        get = lambda row, stat: hit[(hit["ROW"] == row) & (hit["STAT"] == stat)]["VALUE"].item()
        assert get(term, "N") == len(grades)
        assert get(f"{term}: Grade 3-4", "n") == grades.isin([3, 4]).sum()
        assert get(f"{term}: Grade 4", "n") == (grades == 4).sum()


def test_bundled_nadirs_explain_the_dose_reductions(bundled_labs):
    """The paper's reductions (15 of 25 at 1000 mg/m2, 3 of 12 at 850) against the lab
    nadirs: every reduced subject had an on-treatment grade 3-4 neutrophil or platelet count
    before the first reduction; the one subject with such a count and no reduction died in
    cycle 1 of the grade 5 febrile neutropenia, on the day of its grade 4 count."""
    data, _ = bundled_labs
    adlb, adex, adsl, adae = data["adlb"], data["adex"], data["adsl"], data["adae"]
    arm = adsl.set_index("USUBJID")["TRT01A"]
    reduced = adex[(adex["PARAMCD"] == "DTICRDFL") & (adex["AVALC"] == "Y")]["USUBJID"]
    by_arm = reduced.map(arm).value_counts().sort_index()
    assert by_arm.tolist() == [15, 3] and adsl["TRT01A"].value_counts().sort_index().tolist() \
        == [25, 12]
    nadir = adlb[(adlb["ONTRTFL"] == "Y") & adlb["PARAMCD"].isin(["NEUT", "PLAT"])
                 & adlb["ATOXGRL"].isin(["3", "4"])]
    first = pd.to_datetime(nadir.groupby("USUBJID")["ADT"].min())
    reduction = pd.to_datetime(adex[adex["PARAMCD"] == "DTICFRED"].set_index("USUBJID")["ADT"])
    assert set(reduced) <= set(first.index)
    assert (first[list(reduced)] < reduction[list(reduced)]).all()
    (other,) = set(first.index) - set(reduced)
    assert adsl.set_index("USUBJID").at[other, "DTHFL"] == "Y"
    fatal = adae[(adae["USUBJID"] == other) & (adae["ATOXGR"].astype(str) == "5")]
    assert fatal["AEDECOD"].tolist() == ["FEBRILE NEUTROPENIA"]
    assert pd.to_datetime(fatal["ASTDT"]).iloc[0] == first[other]


def test_bundled_advs_baseline_and_change(bundled_labs):
    data, _ = bundled_labs
    vs, advs, adsl = data["vs"], data["advs"], data["adsl"]
    assert len(advs) == len(vs)
    first = adsl.set_index("USUBJID")["TRTSDT"]
    pre = vs.assign(D=pd.to_datetime(vs["VSDTC"].str[:10]))
    pre = pre[pre["VSSTRESN"].notna() & (pre["D"] <= pd.to_datetime(pre["USUBJID"].map(first)))]
    last = pre.sort_values(["USUBJID", "VSTESTCD", "D", "VSSEQ"]).groupby(
        ["USUBJID", "VSTESTCD"]).tail(1).set_index(["USUBJID", "VSTESTCD"])["VSSTRESN"]
    base = advs[advs["ABLFL"] == "Y"].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    assert base.sort_index().tolist() == last.sort_index().tolist()
    post = advs[advs["CHG"].notna()]
    assert np.allclose(post["CHG"], post["AVAL"] - post["BASE"])


def test_bundled_grade_shift_table_matches_adlb(bundled_labs):
    data, ard = bundled_labs
    adlb, adsl = data["adlb"], data["adsl"]
    safety = adsl.loc[adsl["SAFFL"] == "Y"].set_index("USUBJID")["TRT01A"]
    post = adlb[(adlb["ONTRTFL"] == "Y") & (adlb["ATOXGRL"] != "") & (adlb["BTOXGRL"] != "")
                & adlb["USUBJID"].isin(safety.index)]
    worst = (post.assign(G=post["ATOXGRL"].astype(int))
             .groupby(["ATOXDSCL", "USUBJID", "BTOXGRL"])["G"].max().reset_index())
    worst["ARM"] = worst["USUBJID"].map(safety)
    shift = ard[ard["OUTPUT"] == "14.3.6"]
    for (term, arm, start, end), n in worst.groupby(
            ["ATOXDSCL", "ARM", "BTOXGRL", "G"]).size().items():
        hit = shift[(shift["GROUP"] == arm) & (shift["ROW"] == f"{term}: {start}")
                    & (shift["SUBGROUP"] == str(end)) & (shift["STAT"] == "n")]
        assert hit["VALUE"].item() == n, (term, arm, start, end)
    # and nothing else is counted
    assert shift[(shift["STAT"] == "n") & (shift["GROUP"] != "Total")]["VALUE"].sum() == \
        len(worst)
