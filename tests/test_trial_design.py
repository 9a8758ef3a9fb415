"""Trial design: TA/TE/TV/TI declared in study.yaml, SE/SV and EPOCH derived (SDTMIG 3.4
sections 5.3, 5.4 and 7), on tiny hand-checked tables and on the bundled study."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.errors import SpecError
from cdisc_convert.sdtm.derive import expand_schedule
from cdisc_convert.sdtm.engine import map_study
from cdisc_convert.sdtm.trial_design import (derive_epoch_from_se, derive_se, derive_sv,
                                             derive_ta, derive_tv)
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"

DESIGN = {
    "elements": [
        {"etcd": "SCRN", "element": "Screening", "start_rule": "Consent", "start": "RFICDTC"},
        {"etcd": "TRT", "element": "Drug", "start_rule": "First dose", "start": "RFXSTDTC"},
        {"etcd": "FU", "element": "Follow-up", "start_rule": "Day after last dose",
         "start": "RFXENDTC", "start_day": "previous", "end": "RFPENDTC"},
    ],
    "arms": [{"armcd": "A", "arm": "Drug", "elements": [
        {"etcd": "SCRN", "epoch": "SCREENING", "branch": "Enrolled"},
        {"etcd": "TRT", "epoch": "TREATMENT"}, {"etcd": "FU", "epoch": "FOLLOW-UP"}]}],
}
DM = pd.DataFrame({
    "STUDYID": "S", "USUBJID": ["1", "2"], "ACTARMCD": ["A", "A"],
    "RFICDTC": ["2020-01-01", "2020-03-01"], "RFXSTDTC": ["2020-01-10", ""],
    "RFXENDTC": ["2020-02-20", ""], "RFPENDTC": ["2020-06-30", "2020-03-05"]})


def test_ta_lists_each_arm_s_elements_in_order():
    ta = derive_ta(DESIGN, studyid="S")
    assert ta["ETCD"].tolist() == ["SCRN", "TRT", "FU"]
    assert ta["TAETORD"].tolist() == [1.0, 2.0, 3.0]
    assert ta["EPOCH"].tolist() == ["SCREENING", "TREATMENT", "FOLLOW-UP"]
    assert ta["TABRANCH"].tolist() == ["Enrolled", "", ""]


def test_se_elements_end_where_the_next_begins_and_unreached_ones_are_left_out():
    se = derive_se(DM, DESIGN)
    one = se[se["USUBJID"] == "1"]
    assert one[["ETCD", "SESTDTC", "SEENDTC"]].values.tolist() == [
        ["SCRN", "2020-01-01", "2020-01-10"], ["TRT", "2020-01-10", "2020-02-20"],
        ["FU", "2020-02-20", "2020-06-30"]]
    # subject 2 was never dosed: screening only, ending at the end of participation
    two = se[se["USUBJID"] == "2"]
    assert two[["ETCD", "SESTDTC", "SEENDTC"]].values.tolist() == [
        ["SCRN", "2020-03-01", "2020-03-05"]]


def test_se_screening_starts_with_an_earlier_baseline_record():
    # subject 1's baseline scan (2019-12-28) precedes consent (2020-01-01): screening starts
    # with it; a later scan, a partial date and a never-consented subject change nothing
    design = {**DESIGN, "elements": [{**DESIGN["elements"][0],
                                      "start_earliest_of": ["TU.TUDTC"]},
                                     *DESIGN["elements"][1:]]}
    tu = pd.DataFrame({"USUBJID": ["1", "1", "1", "2", "3"],
                       "TUDTC": ["2020-01-05", "2019-12-28T09:00", "2019-11", "2020-03-02",
                                 "2019-01-01"]})
    se = derive_se(DM, design, {"TU": tu})
    assert se[["USUBJID", "ETCD", "SESTDTC", "SEENDTC"]].values.tolist()[:2] == [
        ["1", "SCRN", "2019-12-28", "2020-01-10"], ["1", "TRT", "2020-01-10", "2020-02-20"]]
    assert se.loc[se["USUBJID"] == "2", "SESTDTC"].tolist() == ["2020-03-01"]
    out = derive_epoch_from_se(pd.DataFrame({"USUBJID": "1", "XXDTC": ["2019-12-28"]}),
                               date="XXDTC", se=se)
    assert out["EPOCH"].tolist() == ["SCREENING"]
    with pytest.raises(SpecError, match="start_earliest_of names TU.TUDTC"):
        derive_se(DM, design, {})


def test_se_needs_the_dm_dates_it_names():
    with pytest.raises(SpecError, match="derive_se: DM has no RFPENDTC"):
        derive_se(DM.drop(columns="RFPENDTC"), DESIGN)


def test_epoch_from_se_boundaries_and_partial_dates():
    se = derive_se(DM, DESIGN)
    records = pd.DataFrame({"USUBJID": "1", "XXDTC": [
        "2019-12-31",        # before consent: no element
        "2020-01-01",        # consent day: screening
        "2020-01-10",        # first dose day: treatment (an element starts on its day)
        "2020-02-20",        # last dose day: still treatment (follow-up starts the day after)
        "2020-02-21T10:00",  # follow-up
        "2020-06-30",        # last contact: follow-up (the last element includes its end)
        "2020-07-01",        # after it: none
        "2020-01",           # January 2020: screening and treatment, so unknown
        "2020-02",           # 1-29 February 2020 spans treatment and follow-up: unknown
        "2020-04",           # all of April is follow-up
        "",
    ]})
    out = derive_epoch_from_se(records, date="XXDTC", se=se)
    assert out["EPOCH"].tolist() == ["", "SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP",
                                     "FOLLOW-UP", "", "", "", "FOLLOW-UP", ""]


# Partial dates spanning elements, subject 1 (screening from 2020-01-01, first dose
# 2020-01-10, last dose 2020-02-20, follow-up from the 21st to 2020-06-30)
SPANNING = ["2020-01",      # screening 1-9 January, treatment from the 10th
            "2020-02",      # treatment to the 20th, follow-up from the 21st
            "2019-12",      # December 2019: before consent, then nothing (no element)
            "2019",         # 2019: no day in any element
            "2020-04",      # one element: follow-up whatever the convention
            "2020-01-10"]   # complete: treatment


@pytest.mark.parametrize(("convention", "not_before", "expected"), [
    ("unassigned", None, ["", "", "", "", "FOLLOW-UP", "TREATMENT"]),
    # the element of the last possible day (31 January, 29 February)
    ("latest", None, ["TREATMENT", "FOLLOW-UP", "", "", "FOLLOW-UP", "TREATMENT"]),
    # the element of the first possible day (1 January, 1 February)
    ("earliest", None, ["SCREENING", "TREATMENT", "", "", "FOLLOW-UP", "TREATMENT"]),
    # admiral's min_dates: 1 January moves up to the first dose (10 January, one of its
    # days); February does not hold the first dose, so 1 February stays; December 2019
    # does not hold it either
    ("earliest", "RFXSTDTC", ["TREATMENT", "TREATMENT", "", "", "FOLLOW-UP", "TREATMENT"]),
])
def test_epoch_of_partial_dates_spanning_elements_follows_the_declared_convention(
        convention, not_before, expected):
    se = derive_se(DM, DESIGN)
    records = pd.DataFrame({"USUBJID": "1", "XXDTC": SPANNING})
    floor = DM.set_index("USUBJID")[not_before] if not_before else None
    out = derive_epoch_from_se(records, date="XXDTC", se=se, partial_dates=convention,
                               not_before=floor)
    assert out["EPOCH"].tolist() == expected


def test_not_before_ignores_a_subject_without_that_date_and_a_partial_one():
    se = derive_se(DM, DESIGN)
    # subject 2 never dosed (RFXSTDTC blank); subject 1's date given as a partial month
    floor = pd.Series({"1": "2020-01", "2": ""})
    records = pd.DataFrame({"USUBJID": ["1", "2"], "XXDTC": ["2020-01", "2020-03"]})
    out = derive_epoch_from_se(records, date="XXDTC", se=se, partial_dates="earliest",
                               not_before=floor)
    # 1 January is screening; subject 2's March 2020 starts in screening (1-5 March)
    assert out["EPOCH"].tolist() == ["SCREENING", "SCREENING"]
    with pytest.raises(SpecError, match="partial_dates is unassigned, earliest or latest"):
        derive_epoch_from_se(records, date="XXDTC", se=se, partial_dates="middle")


def test_epoch_mapped_by_the_block_is_kept():
    se = derive_se(DM, DESIGN)
    records = pd.DataFrame({"USUBJID": ["1", "1"], "XXDTC": ["2020-01-11", "2020-01-11"],
                            "EPOCH": ["SCREENING", ""]})
    assert derive_epoch_from_se(records, date="XXDTC", se=se)["EPOCH"].tolist() == [
        "SCREENING", "TREATMENT"]


def test_tv_from_the_visit_schedule_and_sv_from_the_records():
    visits = {"schedule": [{"visit": "BASELINE", "visitnum": 1, "day": -7,
                            "start_rule": "Before dosing"}],
              "repeat": {"visit": "WEEK {n}", "first": 6, "step": 6, "count": 2,
                         "visitnum_start": 2, "days_per_n": 7, "day_offset": 1,
                         "start_rule": "Week {n} scan"}}
    tv = derive_tv(expand_schedule(visits), visits, studyid="S")
    assert tv[["VISITNUM", "VISIT", "VISITDY", "TVSTRL"]].values.tolist() == [
        [1.0, "BASELINE", -7.0, "Before dosing"], [2.0, "WEEK 6", 43.0, "Week 6 scan"],
        [3.0, "WEEK 12", 85.0, "Week 12 scan"]]
    tr = pd.DataFrame({"STUDYID": "S", "USUBJID": "1", "VISITNUM": [1, 1, 2.01, np.nan],
                       "VISIT": ["BASELINE", "BASELINE", "UNSCHEDULED 2.01", ""],
                       "TRDTC": ["2020-01-03", "2020-01-05", "2020-03-01", "2020-04-01"]})
    sv = derive_sv({"TR": tr}, ["TR.TRDTC"], tv=tv, unscheduled_description="Extra scan")
    assert sv[["VISITNUM", "SVSTDTC", "SVENDTC", "SVPRESP", "SVOCCUR",
               "SVUPDES"]].values.tolist() == [
        [1.0, "2020-01-03", "2020-01-05", "Y", "Y", ""],
        # an unplanned visit: SVPRESP and SVOCCUR null (--OCCUR is for pre-specified
        # records only; CORE CG0654)
        [2.01, "2020-03-01", "2020-03-01", "", "", "Extra scan"]]
    assert sv["VISITDY"].iloc[0] == -7.0 and np.isnan(sv["VISITDY"].iloc[1])


@pytest.fixture(scope="module")
def sdtm(bundled_sdtm):
    """The bundled study mapped once per session (conftest.bundled_sdtm)."""
    return bundled_sdtm


def test_bundled_study_has_the_trial_design_datasets(sdtm):
    d = sdtm.domains
    assert sorted(d["TA"]["ARMCD"].unique()) == sorted(d["DM"]["ARMCD"].unique())
    assert set(d["TA"]["ETCD"]) == set(d["TE"]["ETCD"])
    # screening, the baseline scan, 40 treatment cycles and 40 six-weekly scans
    assert len(d["TV"]) == 82 and len(d["TI"]) > 0
    assert d["TV"]["VISITNUM"].is_monotonic_increasing and d["TV"]["VISITNUM"].is_unique
    # every subject was dosed: screening, treatment, follow-up each
    assert (d["SE"].groupby("USUBJID").size() == 3).all() and d["SE"]["USUBJID"].nunique() == 37
    # SE's treatment element is the exposure period of DM
    trt = d["SE"][d["SE"]["EPOCH"] == "TREATMENT"].set_index("USUBJID")
    dm = d["DM"].set_index("USUBJID")
    assert (trt["SESTDTC"] == dm.loc[trt.index, "RFXSTDTC"]).all()
    assert (trt["SEENDTC"] == dm.loc[trt.index, "RFXENDTC"]).all()
    # one SV record per subject and visit of the tumour assessments, vital signs and labs;
    # the unscheduled scan and blood counts too
    sv = d["SV"]
    assert not sv.duplicated(["USUBJID", "VISITNUM"]).any()
    for dom in ("TR", "VS", "LB"):
        seen = d[dom][["USUBJID", "VISITNUM"]].dropna().drop_duplicates()
        assert len(seen.merge(sv, on=["USUBJID", "VISITNUM"])) == len(seen), dom
    assert (sv["SVPRESP"] == "").sum() == (sv["VISITNUM"] % 1 != 0).sum() >= 1


def test_bundled_study_epochs_come_from_se(sdtm):
    ae = sdtm.domains["AE"]
    # partial start dates (a month): 8 lie wholly inside treatment; the other 8 span the
    # first dose (7) or the last (1), and ae.yaml declares partial_dates: earliest with
    # not_before: RFXSTDTC (admiral's imputed start), so all 16 are TREATMENT, as ADAE
    # counts them treatment-emergent
    partial = ae["AESTDTC"].str.len() == 7
    assert partial.sum() == 16
    assert ae.loc[partial, "EPOCH"].value_counts().to_dict() == {"TREATMENT": 16}
    assert (ae["EPOCH"] != "").all()
    # every dose is in the treatment epoch
    assert (sdtm.domains["EX"]["EPOCH"] == "TREATMENT").all()


def _spec_error_of_changed_study(tmp_path, changes: dict[str, str]) -> str:
    """The SpecError text (with every problem) of the bundled study whose study.yaml has
    each key of ``changes`` replaced by its value."""
    import shutil
    study = tmp_path / "study"
    shutil.copytree(STUDY, study)
    text = (study / "study.yaml").read_text()
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    (study / "study.yaml").write_text(text)
    with pytest.raises(SpecError) as err:
        map_study(study, REPO / "fixtures" / "sorafenib_dtic" / "raw")
    return str(err.value) + " ".join(str(p) for p in getattr(err.value, "problems", []))


def test_trial_design_spec_errors_are_reported(tmp_path):
    message = _spec_error_of_changed_study(tmp_path, {
        "        - {etcd: SD850, epoch: TREATMENT}": "        - {etcd: SD851, epoch: TREATMENT}",
        "dictionaries:": "epochs:\n  - {epoch: TREATMENT}\ndictionaries:"})
    assert "SD851" in message and "remove `epochs:`" in message


def test_partial_date_epoch_needs_a_trial_design_and_a_known_convention(tmp_path):
    import shutil
    study = tmp_path / "study"
    shutil.copytree(STUDY, study)
    ae = (study / "ae.yaml").read_text()
    (study / "ae.yaml").write_text(ae.replace("partial_dates: earliest", "partial_dates: middle"))
    with pytest.raises(SpecError) as err:
        map_study(study, REPO / "fixtures" / "sorafenib_dtic" / "raw")
    assert "middle" in str(err.value) + " ".join(str(p) for p in err.value.problems)
    # without a trial design, the epochs: rules give a partial date no EPOCH: declaring a
    # convention there is a spec error naming the domain
    text = (study / "study.yaml").read_text()
    start, end = text.index("trial_design:"), text.index("\ndictionaries:")
    (study / "study.yaml").write_text(text[:start] + "epochs:\n  - {epoch: SCREENING, before: "
                                      "RFXSTDTC}\n  - {epoch: TREATMENT}" + text[end:])
    (study / "ae.yaml").write_text(ae)
    with pytest.raises(SpecError) as err:
        map_study(study, REPO / "fixtures" / "sorafenib_dtic" / "raw")
    message = str(err.value) + " ".join(str(p) for p in err.value.problems)
    assert "derive.epoch of AE: partial_dates and not_before" in message


def test_trial_design_is_checked_against_the_study_schema(tmp_path):
    message = _spec_error_of_changed_study(tmp_path, {
        "      start_day: previous": "      start_days: previous",
        "{ietestcd: INCL01, iecat: INCLUSION,": "{ietestcd: INCL01, iecat: INCLUDED,"})
    assert "start_days" in message and "INCLUDED" in message


CYCLES_AND_SCANS = {
    "schedule": [{"visit": "SCREENING", "visitnum": 1, "day": -14, "window": 14}],
    "repeat": [
        {"visit": "CYCLE {n}", "labels": ["Cycle {n}"], "first": 1, "count": 3,
         "visitnum_start": 10, "visitnum_step": 10, "days_per_n": 21, "day_offset": -20,
         "start_rule": "Day 1 of cycle {n}"},
        {"visit": "WEEK {n}", "labels": ["Week {n}"], "first": 6, "step": 6, "count": 1,
         "visitnum_start": 35, "visitnum_step": 20, "days_per_n": 7, "day_offset": 1}],
    "unscheduled": ["Unscheduled"]}


def test_two_repeating_series_interleave_in_time_order():
    # cycles on days 1, 22, 43 (VISITNUM 10, 20, 30), the week-6 scan on day 43 (35)
    tv = derive_tv(expand_schedule(CYCLES_AND_SCANS), CYCLES_AND_SCANS, studyid="S")
    assert tv[["VISITNUM", "VISIT", "VISITDY", "TVSTRL"]].values.tolist() == [
        [1.0, "SCREENING", -14.0, ""], [10.0, "CYCLE 1", 1.0, "Day 1 of cycle 1"],
        [20.0, "CYCLE 2", 22.0, "Day 1 of cycle 2"], [30.0, "CYCLE 3", 43.0, "Day 1 of cycle 3"],
        [35.0, "WEEK 6", 43.0, ""]]


def test_unscheduled_after_two_visits_planned_the_same_day_follows_the_later_number():
    from cdisc_convert.sdtm.derive import derive_visit
    from cdisc_convert.sdtm.findings import Findings
    records = pd.DataFrame({"USUBJID": "1", "VISIT": ["Cycle 2", "Unscheduled", "Unscheduled",
                                                      "Week 6", "Unscheduled"],
                            "XXDTC": ["2020-01-22", "2020-01-30", "2020-02-12",
                                      "2020-02-12", "2020-02-20"]})
    rfstdtc = pd.Series({"1": "2020-01-01"})
    out = derive_visit(records, label="VISIT", date="XXDTC", schedule=expand_schedule(CYCLES_AND_SCANS),
                       unscheduled_labels=["Unscheduled"], rfstdtc=rfstdtc, domain="XX",
                       findings=Findings())
    # day 30 after cycle 2 (20); day 43 after cycle 3 and the week-6 scan, both day 43 (35);
    # day 51 after them as well, the second unscheduled date of that gap
    assert out["VISITNUM"].tolist() == [20.0, 20.01, 35.01, 35.0, 35.02]
    assert out["VISIT"].tolist() == ["CYCLE 2", "UNSCHEDULED 20.01", "UNSCHEDULED 35.01",
                                     "WEEK 6", "UNSCHEDULED 35.02"]


def test_a_visitnum_or_label_two_planned_visits_share_is_a_spec_error(tmp_path):
    import shutil
    study = tmp_path / "study"
    shutil.copytree(STUDY, study)
    text = (study / "study.yaml").read_text()
    text = text.replace("      visitnum_start: 35\n", "      visitnum_start: 30\n")   # WEEK 6 = CYCLE 3
    text = text.replace('labels: ["Week {n}"]', 'labels: ["Week {n}", "Cycle 1"]')
    (study / "study.yaml").write_text(text)
    with pytest.raises(SpecError) as err:
        map_study(study, REPO / "fixtures" / "sorafenib_dtic" / "raw")
    message = str(err.value) + " ".join(str(p) for p in getattr(err.value, "problems", []))
    assert "VISITNUM 30.0" in message and "label(s) cycle 1" in message


def test_unscheduled_visits_numbered_between_the_visits_the_subject_had_in_all_domains():
    from cdisc_convert.sdtm.derive import derive_visit, renumber_unscheduled
    from cdisc_convert.sdtm.findings import Findings
    schedule = expand_schedule(CYCLES_AND_SCANS)
    rfstdtc = pd.Series({"1": "2020-01-01", "2": "2020-01-01"})
    # subject 1: cycle 2 delayed to day 36 (2020-02-05); an unscheduled count on day 30
    # (after cycle 1 as it happened, although past cycle 2's planned day 22), and an
    # unscheduled scan and count the same day 50 (after the week-6 scan of day 45)
    lb = pd.DataFrame({"USUBJID": ["1", "1", "1", "1", "1", "2"],
                       "VISIT": ["Cycle 1", "Unscheduled", "Cycle 2", "Cycle 3", "Unscheduled",
                                 "Unscheduled"],
                       "LBDTC": ["2020-01-01", "2020-01-30", "2020-02-05", "2020-02-13",
                                 "2020-02-19", "2020-01-10"]})
    tr = pd.DataFrame({"USUBJID": ["1", "1", "1"], "VISIT": ["Week 6", "Unscheduled", "Unscheduled"],
                       "TRDTC": ["2020-02-14", "2020-02-19", "2020-02-25"]})
    kw = dict(schedule=schedule, unscheduled_labels=["Unscheduled"], rfstdtc=rfstdtc,
              findings=Findings())
    frames = {"LB": derive_visit(lb, label="VISIT", date="LBDTC", domain="LB", **kw),
              "TR": derive_visit(tr, label="VISIT", date="TRDTC", domain="TR", **kw)}
    # per domain by planned day alone, day 30 would follow cycle 2 (planned day 22): 20.01
    assert frames["LB"]["VISITNUM"].tolist()[1] == 20.01
    out = renumber_unscheduled(frames, {"LB": "LBDTC", "TR": "TRDTC"})
    # subject 2 has no visit before its unscheduled count: the planned-day rule (cycle 1)
    assert out["LB"]["VISITNUM"].tolist() == [10.0, 10.01, 20.0, 30.0, 35.01, 10.01]
    assert out["TR"]["VISITNUM"].tolist() == [35.0, 35.01, 35.02]
    assert out["TR"]["VISIT"].tolist() == ["WEEK 6", "UNSCHEDULED 35.01", "UNSCHEDULED 35.02"]
    assert not any(c.startswith("__") for f in out.values() for c in f.columns)


def test_epoch_from_se_per_subject_in_any_record_order():
    # subject 2 was never dosed: only screening (1 to 5 March 2020, RFPENDTC); subject 3
    # has no SE record at all; the records of the subjects are interleaved
    se = derive_se(DM, DESIGN)
    records = pd.DataFrame({"USUBJID": ["2", "1", "3", "2", "1", "2"],
                            "XXDTC": ["2020-03-02", "2020-01-02", "2020-03-02", "2020-03",
                                      "2020-01-15", "2020-03-06"]})
    out = derive_epoch_from_se(records, date="XXDTC", se=se)
    assert out["EPOCH"].tolist() == ["SCREENING", "SCREENING", "", "", "TREATMENT", ""]
    assert records.columns.tolist() == ["USUBJID", "XXDTC"]     # the input is kept


def test_define_states_the_declared_convention_for_partial_dates(bundled_run):
    define = (bundled_run / "sdtm" / "define.xml").read_text(encoding="utf-8")
    rule = ("when they span elements, the element holding its first possible day, or "
            "DM.RFXSTDTC when that is later and one of those days")
    # AE declares it; the other domains keep the default (no such sentence)
    assert define.count(rule) == 1
    assert "holding AESTDTC: from SESTDTC" in define.split(rule)[0].rsplit("<MethodDef", 1)[1]


def test_bundled_ae_epoch_agrees_with_adae_treatment_emergence(bundled_run):
    adae = pd.read_csv(bundled_run / "adam" / "adae.csv", dtype=str, keep_default_na=False)
    # the 16 AEs with a partial start (no ASTDT: ADAE imputes no start day) are emergent
    # because they end on or after the first dose; AE's declared convention puts them in
    # TREATMENT, so the two datasets tell the same story
    partial = adae["ASTDT"] == ""
    assert partial.sum() == 16
    assert set(adae.loc[partial, "EPOCH"]) == {"TREATMENT"}
    assert set(adae.loc[partial, "TRTEMFL"]) == {"Y"}
    # no AE of the screening epoch is emergent, and every AE of the treatment epoch is
    assert not ((adae["EPOCH"] == "SCREENING") & (adae["TRTEMFL"] == "Y")).any()
    assert (adae.loc[adae["EPOCH"] == "TREATMENT", "TRTEMFL"] == "Y").all()
