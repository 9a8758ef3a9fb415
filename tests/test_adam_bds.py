"""BDS findings datasets (ADLB, ADVS) and CTCAE v5.0 lab grades: each derive_* function on a
tiny table worked out by hand (the expected values written here, not produced by the code)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.adam.bds import (BdsConfig, Windows, bds_configs_from_list, build_bds,
                                    derive_var_ablfl, derive_var_atoxgr, derive_var_avisit,
                                    derive_var_worst_flag)
from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.standards import ctcae

ADSL = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2"], "TRT01A": ["A", "B"],
                     "SAFFL": "Y", "TRTSDT": pd.to_datetime(["2020-01-10", "2020-02-01"]),
                     "TRTEDT": pd.to_datetime(["2020-03-01", "2020-02-01"])})
# subject 1, NEUT (10^9/L, LLN 1.8): screening 3.0, day-1 2.5 (baseline: the last on or
# before the first dose), day 22 1.2 (grade 2), day 43 0.4 (grade 4), day 43 again 0.9
# (a repeat the same day), day 150 0.3 (after last dose + 30: not on treatment);
# subject 1 HGB (g/L, LLN 120): baseline 125, day 22 95 (grade 2), day 43 None (not done);
# subject 2 PLAT without a range: baseline 150, day 22 60 (grade 2), day 43 140 (ungraded:
# no LLN, above 75)
LB = pd.DataFrame({
    "USUBJID": ["1"] * 6 + ["1"] * 3 + ["2"] * 3,
    "LBSEQ": list(range(1, 13)),
    "LBTESTCD": ["NEUT"] * 6 + ["HGB"] * 3 + ["PLAT"] * 3,
    "LBTEST": ["Neutrophils"] * 6 + ["Hemoglobin"] * 3 + ["Platelets"] * 3,
    "LBCAT": "HEMATOLOGY",
    "LBDTC": ["2020-01-02", "2020-01-10", "2020-01-31", "2020-02-21", "2020-02-21",
              "2020-06-07", "2020-01-10", "2020-01-31", "2020-02-21",
              "2020-02-01", "2020-02-22", "2020-03-14"],
    "LBSTRESN": [3.0, 2.5, 1.2, 0.4, 0.9, 0.3, 125, 95, None, 150, 60, 140],
    "LBSTRESC": ["3", "2.5", "1.2", "0.4", "0.9", "0.3", "125", "95", "", "150", "60", "140"],
    "LBSTRESU": ["10^9/L"] * 6 + ["g/L", "g/L", ""] + ["10^9/L"] * 3,
    "LBSTNRLO": [1.8] * 6 + [120] * 3 + [None] * 3,
    "LBSTNRHI": [7.5] * 6 + [160] * 3 + [None] * 3,
    "VISIT": ["SCREENING", "CYCLE 1", "CYCLE 2", "CYCLE 3", "UNSCHEDULED", "FOLLOW-UP",
              "CYCLE 1", "CYCLE 2", "CYCLE 3", "CYCLE 1", "CYCLE 2", "CYCLE 3"],
    "VISITNUM": [1, 10, 20, 30, 30.1, 99, 10, 20, 30, 10, 20, 30]})
CONFIG = BdsConfig(dataset="ADLB", domain="LB", windows=Windows(every=21, label="Cycle {n}"))


@pytest.fixture(scope="module")
def adlb():
    return build_bds(LB, ADSL, CONFIG).set_index("SRCSEQ")


def test_ctcae_criteria_are_data_with_their_terms():
    terms = {c.term for c in ctcae.criteria()}
    assert {"Neutrophil count decreased", "Platelet count decreased",
            "White blood cell decreased", "Anemia"} <= terms
    neut = ctcae.criterion("neutrophil count decreased")
    assert neut.unit == "10^9/L" and neut.direction == "L"
    assert [(g.grade, g.number, g.limit) for g in neut.grades] == [
        (4, 0.5, None), (3, 1.0, None), (2, 1.5, None), (1, None, "LLN")]
    with pytest.raises(SpecError, match="known"):
        ctcae.criterion("Nonsense decreased")


@pytest.mark.parametrize("term,values,low,expected", [
    # boundaries: NCI's "<1.5 - 1.0" = grade 2 for 1.0 <= value < 1.5
    ("Neutrophil count decreased", [1.8, 1.5, 1.49, 1.0, 0.99, 0.5, 0.49, 1.7],
     [1.8] * 7 + [2.0], [0, 1, 2, 2, 3, 3, 4, 1]),
    ("Platelet count decreased", [150, 74.9, 50, 49, 24.9, 100], [150] * 5 + [None],
     [0, 2, 2, 3, 4, None]),
    ("White blood cell decreased", [3.5, 2.9, 1.9, 0.9], [4.0] * 4, [1, 2, 3, 4]),
    ("Anemia", [130, 119, 99, 79, 70], [120] * 5, [0, 1, 2, 3, 3]),
])
def test_grades_by_hand(term, values, low, expected):
    got = ctcae.grade_values(ctcae.criterion(term), pd.Series(values, dtype=float),
                             low=pd.Series(low, dtype=float))
    assert [None if math.isnan(v) else int(v) for v in got] == expected


def test_relative_thresholds_need_the_limit():
    crit = ctcae.criterion("CPK increased")
    got = ctcae.grade_values(crit, pd.Series([100.0, 500.0, 1200.0, 500.0]),
                             high=pd.Series([200.0, 190.0, 100.0, np.nan]))
    # 100 <= ULN -> 0; 500 > 2.5 x 190 -> 2; 1200 > 10 x 100 -> 4; no ULN -> no grade
    assert [None if math.isnan(v) else int(v) for v in got] == [0, 2, 4, None]


def test_baseline_is_the_last_value_on_or_before_the_first_dose(adlb):
    assert adlb.loc[2, "ABLFL"] == "Y" and adlb.loc[1, "ABLFL"] == ""
    assert adlb.loc[3, "BASE"] == 2.5
    assert adlb.loc[3, "CHG"] == pytest.approx(-1.3)
    assert adlb.loc[3, "PCHG"] == pytest.approx(-52.0)
    assert math.isnan(adlb.loc[2, "CHG"]) and math.isnan(adlb.loc[1, "CHG"])
    strict = derive_var_ablfl(adlb.reset_index().assign(ADT=lambda f: pd.to_datetime(f["ADT"])),
                              rule="last_before")
    assert strict.loc[strict["SRCSEQ"] == 1, "ABLFL"].item() == "Y"     # the screening value


def test_reference_ranges_and_shift(adlb):
    assert adlb.loc[3, "ANRIND"] == "LOW" and adlb.loc[3, "BNRIND"] == "NORMAL"
    assert adlb.loc[3, "SHIFT1"] == "NORMAL to LOW"
    assert adlb.loc[2, "SHIFT1"] == ""
    assert adlb.loc[11, "ANRIND"] == ""                   # no range
    assert adlb.loc[2, "PARAM"] == "Neutrophils (10^9/L)"
    # the not-done record has no unit, yet the same parameter text (one PARAM per PARAMCD)
    assert adlb.loc[9, "PARAM"] == "Hemoglobin (g/L)"


def test_analysis_windows_and_one_record_per_window(adlb):
    # day 22 -> cycle 2 (target 22), day 43 -> cycle 3 (target 43); the 43-day repeat is
    # the same distance: the first (by sequence) is the analysis record
    assert adlb.loc[3, ["AVISIT", "AVISITN"]].tolist() == ["Cycle 2", 2.0]
    assert adlb.loc[4, "AVISIT"] == adlb.loc[5, "AVISIT"] == "Cycle 3"
    assert (adlb.loc[4, "ANL01FL"], adlb.loc[5, "ANL01FL"]) == ("Y", "")
    assert adlb.loc[2, ["AVISIT", "AVISITN"]].tolist() == ["Baseline", 0.0]
    assert adlb.loc[1, "AVISIT"] == ""                    # screening, not baseline
    frame = pd.DataFrame({"USUBJID": "1", "PARAMCD": "X", "ABLFL": "", "AVAL": 1.0,
                          "ADT": pd.to_datetime("2020-01-01"), "VISIT": "", "VISITNUM": 1.0,
                          "ADY": [11.0, 12.0, 32.0, 33.0]})
    got = derive_var_avisit(frame, Windows(every=21, label="C{n}"))
    # window 2: days 12..32 (target 22); day 11 is window 1, not analysed (first = 2)
    assert got["AVISIT"].tolist() == ["", "C2", "C2", "C3"]


def test_ctcae_grades_and_worst_post_baseline_flags(adlb):
    assert adlb.loc[3, ["ATOXDSCL", "ATOXGRL", "ATOXGR"]].tolist() == [
        "Neutrophil count decreased", "2", "2"]
    assert adlb.loc[4, "ATOXGRL"] == "4" and adlb.loc[2, "BTOXGRL"] == "0"
    assert adlb.loc[8, ["ATOXDSCL", "ATOXGRL"]].tolist() == ["Anemia", "2"]
    assert adlb.loc[9, "ATOXGRL"] == ""                   # not done: no value, no grade
    assert adlb.loc[11, "ATOXGRL"] == "2" and adlb.loc[12, "ATOXGRL"] == ""   # no LLN
    # on treatment: after the first dose up to last dose + 30 days; day 150 is not
    assert adlb.loc[6, "ONTRTFL"] == "" and adlb.loc[4, "ONTRTFL"] == "Y"
    assert adlb.loc[4, "WGRLOFL"] == "Y" and adlb.loc[4, "WORSTFL"] == "Y"
    assert adlb.loc[[3, 5, 6], "WGRLOFL"].tolist() == ["", "", ""]
    assert adlb.loc[11, "WGRLOFL"] == "Y"
    assert "AVALU" not in adlb.columns


def test_both_directions_combine_as_admiral_does():
    frame = pd.DataFrame({"PARAMCD": "CK", "AVAL": [100.0, 1200.0], "AVALU": "U/L",
                          "ANRLO": 20.0, "ANRHI": 100.0})
    got = derive_var_atoxgr(frame, terms={"CK": {"H": "CPK increased"}})
    assert got["ATOXGRH"].tolist() == ["0", "4"] and got["ATOXGR"].tolist() == ["0", "4"]
    assert got["ATOXGRL"].tolist() == ["", ""]


def test_units_are_converted_or_refused():
    frame = pd.DataFrame({"PARAMCD": "HGB", "AVAL": [9.0, 13.0], "AVALU": "g/dL",
                          "ANRLO": 12.0, "ANRHI": 16.0})
    got = derive_var_atoxgr(frame, terms={"HGB": {"L": "Anemia"}})
    assert got["ATOXGRL"].tolist() == ["2", "0"]          # 90 g/L: <100 - 80 -> grade 2
    with pytest.raises(InputError, match="HGB"):
        derive_var_atoxgr(frame.assign(AVALU="beats/min"), terms={"HGB": {"L": "Anemia"}})


def test_missing_inputs_and_bad_config_are_clear_errors():
    with pytest.raises(InputError, match="derive_var_worst_flag needs ONTRTFL"):
        derive_var_worst_flag(pd.DataFrame({"USUBJID": [], "PARAMCD": [], "ADT": [],
                                            "AVAL": []}), new_var="X", order_var="AVAL",
                              worst={})
    with pytest.raises(SpecError, match="grades low values"):
        bds_configs_from_list([{"dataset": "ADLB", "domain": "LB",
                                "grading": {"NEUT": {"high": "Neutrophil count decreased"}}}])
    configs = bds_configs_from_list([{"dataset": "ADLB", "domain": "LB",
                                      "windows": {"every": 21},
                                      "grading": {"ANC2": {"low": "Neutrophil count decreased"}}}])
    assert configs[0].grading == {"ANC2": {"L": "Neutrophil count decreased"}}
    assert configs[0].windows == Windows(every=21)


def test_derived_text_columns_share_one_object_per_value():
    """SHIFT1, ANRIND and ATOXGR are built for every record: each distinct text is one
    shared object (8 bytes a record), not a new string per record."""
    from cdisc_convert.adam.bds import derive_var_anrind, derive_var_shift

    n = 300
    bds = pd.DataFrame({"AVAL": np.tile([1.0, 5.0, 9.0], n // 3), "ANRLO": 2.0, "ANRHI": 8.0,
                        "BNRIND": "NORMAL", "ABLFL": "", "ADY": 10.0})
    out = derive_var_shift(derive_var_anrind(bds))
    assert out["ANRIND"].tolist()[:3] == ["LOW", "NORMAL", "HIGH"]
    assert out["SHIFT1"].tolist()[:3] == ["NORMAL to LOW", "NORMAL to NORMAL", "NORMAL to HIGH"]
    for column in ("ANRIND", "SHIFT1"):
        assert len({id(v) for v in out[column]}) == 3, column


@pytest.mark.parametrize("seqs, worst", [([1, 2, 3], 2), ([1, 3, 2], 3)])
def test_build_bds_breaks_ties_by_row_order_whether_it_sorts_first_or_last(seqs, worst):
    """Two on-treatment NEUT values of 1.2 on one day (a tie for WORSTFL, which goes to the
    first record): with LBSEQ in row order the records are sorted before the derivations,
    with the later record numbered first they are not (sorting first would make it the
    first record); both give WORSTFL to the first record in LB and ASEQ in LBSEQ order."""
    lb = pd.DataFrame({"USUBJID": "1", "LBSEQ": seqs, "LBTESTCD": "NEUT",
                       "LBTEST": "Neutrophils", "LBCAT": "HEMATOLOGY",
                       "LBDTC": ["2020-01-10", "2020-01-31", "2020-01-31"],
                       "LBSTRESN": [2.5, 1.2, 1.2], "LBSTRESC": ["2.5", "1.2", "1.2"],
                       "LBSTRESU": "10^9/L", "LBSTNRLO": 1.8, "LBSTNRHI": 7.5,
                       "VISIT": ["CYCLE 1", "CYCLE 2", "CYCLE 2"], "VISITNUM": [10, 20, 20]})
    out = build_bds(lb, ADSL, CONFIG)
    assert out["SRCSEQ"].tolist() == [1.0, 2.0, 3.0]
    assert out["ASEQ"].tolist() == [1.0, 2.0, 3.0]
    assert out.set_index("SRCSEQ")["WORSTFL"].to_dict() == {
        1.0: "", 2.0: "Y" if worst == 2 else "", 3.0: "Y" if worst == 3 else ""}
