"""Findings domains mapped with YAML only (issue #13): VS from a wide table (test x position
x timepoint), LB from a long table with mixed units, reference ranges and a not-done panel,
EG with one block per test style; partial dates, unscheduled visits, baseline flags.

Every expected value below was worked out by hand from the raw rows in this file (the
arithmetic is written next to it), never taken from the code under test.
"""
from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest

from cdisc_convert.api import map_sdtm, validate_folder
from cdisc_convert.core.errors import SpecError
from cdisc_convert.sdtm.derive import derive_baseline_flag, derive_seq
from cdisc_convert.sdtm.engine import map_study
from cdisc_convert.sdtm.variable_rules import iso_duration
from cdisc_convert.standards.units import UnitError, convert
from tiny_study import dm_yaml, make_study

SUBJ = """
    PT,SEX,START,STTIME
    001,F,2024-01-10,09:00
    002,M,2024-02-01,
"""
# S1 is dosed 2024-01-10T09:00 (a time: baseline compares times), S2 on 2024-02-01 (no time)
VITALS = """
    PT,VISIT,VSDAT,TIME_1,TIME_2,DOSETIM,SBP_SUP_1,SBP_SUP_2,SBP_STD_1,SBP_STD_2,DBP_SUP_1,DBP_SUP_2,DBP_STD_1,DBP_STD_2,WT,WTU,WTND,TEMP,TEMPU,TEMPND,VSND,VSNDRS
    001,Screening,2024-01-03,08:30,,,120,,118,,80,,78,,154,lb,,98.6,F,,,
    001,Day 1,2024-01-10,08:45,11:00,09:00,122,126,119,124,82,84,79,83,70.2,kg,,37.2,C,,,
    001,Unscheduled,2024-01-12,10:00,,,130,,,,85,,,,,,Scale broken,38.1,C,,,
    001,Week 2,2024-01-24,,,,,,,,,,,,,,,,,,Y,Patient not available
    002,Screening,2024-01-25,,,,110,,108,,70,,69,,81.5,kg,,36.8,C,,,
    002,Day 1,2024-02-01,07:50,,,112,,,,72,,,,180,lb,,97.9,F,,,
    002,Week 2,UN-FEB-2024,,,,115,,,,74,,,,,,,99.1,F,,,
"""
LABS = """
    PT,VISIT,LBDAT,LBTIM,TEST,RESULT,UNIT,LO,HI,TOXGR,NDREAS,PANELND
    001,Screening,2024-01-04,,Neutrophils,4.1,10^9/L,2.0,7.5,,,
    001,Screening,2024-01-04,,Platelets,250,10^9/L,150,400,,,
    001,Screening,2024-01-04,,Hemoglobin,13.5,g/dL,12.0,16.0,,,
    001,Screening,2024-01-04,,Glucose,90,mg/dL,70,100,,,
    001,Day 1,2024-01-10,08:00,Neutrophils,1.4,x10^9/L,2.0,7.5,2,,
    001,Day 1,2024-01-10,08:00,Platelets,,,150,400,,Clotted sample,
    001,Day 1,2024-01-10,08:00,Hemoglobin,118,g/L,120,160,,,
    001,Day 1,2024-01-10,08:00,Glucose,6.1,mmol/L,3.9,5.6,,,
    001,Week 2,2024-01-24,,,,,,,,Patient hospitalised,Y
    002,Screening,2024-01-26,,Neutrophils,3.2,10^3/uL,1.8,7.0,,,
    002,Screening,2024-01-26,,Hemoglobin,14.2,g/dL,13.0,17.0,,,
    002,Screening,2024-01-26,,Glucose,5.0,mmol/L,3.9,5.6,,,
    002,Unscheduled,2024-02-05,,Neutrophils,<0.5,10^9/L,1.8,7.0,4,,
    002,Week 2,UNK-FEB-2024,,Hemoglobin,9.8,g/dL,13.0,17.0,,,
"""
ECG = """
    PT,VISIT,EGDAT,EGTIM,HR,HRU,RR,RRU,QT,QTU,QTCF,QTCFU,INTP,EGND,EGNDRS
    001,Screening,2024-01-05,09:10,62,beats/min,0.968,sec,400,msec,406,msec,NORMAL,,
    001,Day 1,2024-01-10,08:30,75,beats/min,800,msec,380,msec,410,msec,ABNORMAL,,
    002,Screening,2024-01-27,10:00,58,beats/min,1.034,sec,410,msec,405,msec,NORMAL,,
    002,Week 2,2024-02-15,,,,,,,,,,,Y,ECG machine unavailable
"""
STUDY_EXTRA = """
visits:
  schedule:
    - {visit: SCREENING, visitnum: 1, day: -7, window: 7, labels: [Screening]}
    - {visit: DAY 1, visitnum: 2, day: 1, labels: [Day 1]}
    - {visit: WEEK 2, visitnum: 3, day: 15, window: 3, labels: [Week 2]}
  unscheduled: [Unscheduled]
value_maps:
  UNIT: {x10^9/L: 10^9/L}
"""
DM_YAML = dm_yaml(rfstdtc="{date: START, time: STTIME}", extra="""derive:
  reference_dates:
    RFXSTDTC: {earliest: DM.RFSTDTC}
""")
VS_YAML = """
domain: VS
variables:
  STUDYID: S1
  DOMAIN: VS
  USUBJID: {format: "S1-{PT}"}
  VISIT: {from: VISIT}
  VSTEST: {from: VSTESTCD, decode: VSTESTCD, codelist: VSTEST}
records:
  - name: blood pressure            # test x position x timepoint: 2 x 2 x 2 raw columns
    source: vitals
    unpivot:
      test:
        - {VSTESTCD: SYSBP, COL: SBP}
        - {VSTESTCD: DIABP, COL: DBP}
      position:
        - {VSPOS: SUPINE, P: SUP}
        - {VSPOS: STANDING, P: STD}
      timepoint:
        - {VSTPT: PRE-DOSE, VSTPTNUM: 1, ELTM: -15 min, N: 1}
        - {VSTPT: 2H POST-DOSE, VSTPTNUM: 2, ELTM: 2 h, N: 2}
      columns: {RESULT: "{COL}_{P}_{N}", TIME: "TIME_{N}"}
    where: "RESULT != ''"
    variables:
      VSTESTCD: {from: VSTESTCD, codelist: VSTESTCD}
      VSPOS: {from: VSPOS, codelist: POSITION}
      VSLOC: {value: ARM, codelist: LOC}
      VSLAT: {value: LEFT, codelist: LAT}
      VSORRES: {from: RESULT}
      VSORRESU: {value: mmHg, codelist: VSRESU}
      VSSTRESN: {number: RESULT}
      VSSTRESC: {from: VSSTRESN}
      VSSTRESU: {value: mmHg, codelist: VSRESU}
      VSDTC: {date: VSDAT, time: TIME}
      VSTPT: {from: VSTPT}
      VSTPTNUM: {number: VSTPTNUM}
      VSELTM: {duration: ELTM}
      VSTPTREF: {value: FIRST DOSE, where: "DOSETIM != ''"}
      VSRFTDTC: {date: VSDAT, time: DOSETIM, where: "DOSETIM != ''"}
  - name: weight and temperature    # one block, a test table; units mixed in one column
    source: vitals
    unpivot:
      test:
        - {VSTESTCD: WEIGHT, COL: WT, STD: kg}
        - {VSTESTCD: TEMP, COL: TEMP, STD: C}
      columns: {RESULT: "{COL}", UNIT: "{COL}U", ND: "{COL}ND"}
    where: "RESULT != '' or ND != ''"
    variables:
      VSTESTCD: {from: VSTESTCD, codelist: VSTESTCD}
      VSORRES: {from: RESULT}
      VSORRESU: {from: UNIT, codelist: VSRESU}
      VSSTRESN: {unit: {value: VSORRES, unit: VSORRESU}, to: "{STD}", round: 1}
      VSSTRESC: {from: VSSTRESN}
      VSSTRESU: {from: STD, codelist: VSRESU, where: "RESULT != ''"}
      VSSTAT: {value: NOT DONE, where: "ND != ''"}
      VSREASND: {from: ND}
      VSDTC: {date: VSDAT, time: TIME_1}
  - name: vital signs not done       # the whole visit: one VSALL record (SDTMIG 4.5.1.2)
    source: vitals
    where: "VSND == 'Y'"
    variables:
      VSTESTCD: VSALL
      VSTEST: Vital Signs
      VSSTAT: {value: NOT DONE, codelist: ND}
      VSREASND: {from: VSNDRS}
      VSDTC: {date: VSDAT}
derive:
  visit: {label: VISIT, date: VSDTC}
  study_day: {VSDY: VSDTC}
  baseline: {flag: VSLOBXFL, by: [USUBJID, VSTESTCD, VSPOS], date: VSDTC, order: [VSTPTNUM]}
  seq: {by: [USUBJID], order: [VISITNUM, VSTESTCD, VSPOS, VSTPTNUM]}
"""
LB_YAML = """
domain: LB
variables:
  STUDYID: S1
  DOMAIN: LB
  USUBJID: {format: "S1-{PT}"}
  VISIT: {from: VISIT}
  LBDTC: {date: LBDAT, time: LBTIM}
records:
  - name: results                   # long: one row per test, units as the site reports
    source: labs
    where: "PANELND != 'Y'"
    variables:
      LBTESTCD:
        from: TEST
        map: {Neutrophils: NEUT, Platelets: PLAT, Hemoglobin: HGB, Glucose: GLUC}
        codelist: LBTESTCD
      LBTEST: {from: LBTESTCD, decode: LBTESTCD, codelist: LBTEST}
      LBCAT:
        - {value: CHEMISTRY, where: "LBTESTCD == 'GLUC'"}
        - {value: HEMATOLOGY}
      LBORRES: {from: RESULT}
      LBORRESU: {from: UNIT, codelist: UNIT}
      LBORNRLO: {from: LO}
      LBORNRHI: {from: HI}
      LBSTRESU:
        from: LBTESTCD
        map: {NEUT: 10^9/L, PLAT: 10^9/L, HGB: g/L, GLUC: mmol/L}
        where: "RESULT != ''"
      LBSTRESN:
        - {unit: {value: LBORRES, unit: LBORRESU}, to: mmol/L, molar_mass: 180.16, round: 2,
           where: "LBTESTCD == 'GLUC' and notnull(number(LBORRES))"}
        - {unit: {value: LBORRES, unit: LBORRESU}, to: "{LBSTRESU}", round: 1,
           where: "notnull(number(LBORRES))"}
      LBSTRESC:
        - {from: LBSTRESN, where: "notnull(LBSTRESN)"}
        - {from: LBORRES}
      LBSTNRLO:
        - {unit: {value: LO, unit: UNIT}, to: mmol/L, molar_mass: 180.16, round: 2,
           where: "LBTESTCD == 'GLUC' and UNIT != ''"}
        - {unit: {value: LO, unit: LBORRESU}, to: "{LBSTRESU}", round: 1, where: "UNIT != ''"}
      LBSTNRHI:
        - {unit: {value: HI, unit: UNIT}, to: mmol/L, molar_mass: 180.16, round: 2,
           where: "LBTESTCD == 'GLUC' and UNIT != ''"}
        - {unit: {value: HI, unit: LBORRESU}, to: "{LBSTRESU}", round: 1, where: "UNIT != ''"}
      LBNRIND:
        - {value: LOW, where: "LBSTRESN < LBSTNRLO"}
        - {value: HIGH, where: "LBSTRESN > LBSTNRHI"}
        - {value: NORMAL, where: "notnull(LBSTRESN) and notnull(LBSTNRLO)"}
      LBTOXGR: {from: TOXGR}
      LBSTAT: {value: NOT DONE, where: "RESULT == ''"}
      LBREASND: {from: NDREAS}
  - name: panel not done             # the whole hematology panel of a visit
    source: labs
    where: "PANELND == 'Y'"
    variables:
      LBTESTCD: LBALL
      LBTEST: Laboratory Data
      LBCAT: HEMATOLOGY
      LBSTAT: NOT DONE
      LBREASND: {from: NDREAS}
derive:
  visit: {label: VISIT, date: LBDTC}
  study_day: {LBDY: LBDTC}
  baseline: {flag: LBLOBXFL, by: [USUBJID, LBTESTCD], date: LBDTC}
  seq: {by: [USUBJID], order: [VISITNUM, LBTESTCD]}
"""
EG_YAML = """
domain: EG
variables:
  STUDYID: S1
  DOMAIN: EG
  USUBJID: {format: "S1-{PT}"}
  VISIT: {from: VISIT}
  EGDTC: {date: EGDAT, time: EGTIM}
  EGPOS: {value: SUPINE, codelist: POSITION}
  EGMETHOD: {value: 12 LEAD STANDARD, codelist: EGMETHOD}
records:
  - name: intervals                  # a test table; RR in seconds at one site, ms at another
    source: ecg
    where: "EGND != 'Y'"
    unpivot:
      test:
        - {EGTESTCD: EGHRMN, COL: HR, STD: beats/min}
        - {EGTESTCD: RRAG, COL: RR, STD: ms}
        - {EGTESTCD: QTAG, COL: QT, STD: ms}
        - {EGTESTCD: QTCFAG, COL: QTCF, STD: ms}
      columns: {RESULT: "{COL}", UNIT: "{COL}U"}
    variables:
      EGTESTCD: {from: EGTESTCD, codelist: EGTESTCD}
      EGTEST: {from: EGTESTCD, decode: EGTESTCD, codelist: EGTEST}
      EGORRES: {from: RESULT}
      EGORRESU: {from: UNIT, codelist: UNIT}
      EGSTRESN: {unit: {value: EGORRES, unit: EGORRESU}, to: "{STD}", round: 0}
      EGSTRESC: {from: EGSTRESN}
      EGSTRESU: {from: STD, codelist: UNIT}
  - name: interpretation             # one block for one test
    source: ecg
    where: "INTP != ''"
    variables:
      EGTESTCD: INTP
      EGTEST: {value: INTP, decode: EGTESTCD, codelist: EGTEST}
      EGORRES: {from: INTP}
      EGSTRESC: {from: INTP, codelist: NORMABNM}
  - name: ecg not done
    source: ecg
    where: "EGND == 'Y'"
    variables:
      EGTESTCD: EGALL
      EGTEST: ECG
      EGSTAT: NOT DONE
      EGREASND: {from: EGNDRS}
      EGPOS: ""
      EGMETHOD: ""
derive:
  visit: {label: VISIT, date: EGDTC}
  study_day: {EGDY: EGDTC}
  baseline: {flag: EGLOBXFL, by: [USUBJID, EGTESTCD], date: EGDTC}
  seq: {by: [USUBJID], order: [VISITNUM, EGTESTCD]}
"""
TS_YAML = """
domain: TS
rows:
  - {STUDYID: S1, DOMAIN: TS, TSSEQ: 1, TSPARMCD: SSTDTC, TSPARM: Study Start Date,
     TSVAL: "2024-01-03"}
"""
TABLES = {"subj": SUBJ, "vitals": VITALS, "labs": LABS, "ecg": ECG}
DOMAINS = {"dm": DM_YAML, "vs": VS_YAML, "lb": LB_YAML, "eg": EG_YAML, "ts": TS_YAML}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    spec, raw = make_study(tmp_path_factory.mktemp("findings"), TABLES, DOMAINS, STUDY_EXTRA)
    return spec, raw, map_study(spec, raw)


@pytest.fixture(scope="module")
def _written(mapped):
    """``map_sdtm`` of the small study into a folder, once per module: tests copy it."""
    spec, raw, _ = mapped
    out = spec.parent / "sdtm-written"
    map_sdtm(spec, raw=raw, out=out)
    return out


@pytest.fixture
def written(mapped, _written, tmp_path):
    """The small study's spec and a fresh copy of its written SDTM folder."""
    out = tmp_path / "sdtm"
    shutil.copytree(_written, out)
    return mapped[0], out


def _records(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Records as tuples, NaN as None, numbers as Python floats (for exact comparison)."""
    out = []
    for row in frame[columns].itertuples(index=False):
        out.append(tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row))
    return out


def test_no_mapping_errors_and_every_raw_row_used(mapped):
    _, _, result = mapped
    assert result.findings.query("severity == 'error'").empty, result.findings.to_string()
    assert result.unmapped.empty, result.unmapped.to_string()


def test_vs_wide_table_becomes_test_by_position_by_timepoint(mapped):
    vs = mapped[2].domains["VS"]
    bp = vs[vs["VSTESTCD"].isin(["SYSBP", "DIABP"])]
    # raw non-blank BP cells: S1 4 + 8 + 2, S2 4 + 2 + 2
    assert len(bp) == 22
    day1 = bp[(bp["USUBJID"] == "S1-001") & (bp["VISIT"] == "DAY 1")]
    assert _records(day1.sort_values(["VSTESTCD", "VSPOS", "VSTPTNUM"]),
                    ["VSTESTCD", "VSTEST", "VSPOS", "VSTPT", "VSTPTNUM", "VSELTM", "VSORRES",
                     "VSSTRESN", "VSDTC", "VSTPTREF", "VSRFTDTC"]) == [
        ("DIABP", "Diastolic Blood Pressure", "STANDING", "PRE-DOSE", 1.0, "-PT15M", "79", 79.0,
         "2024-01-10T08:45", "FIRST DOSE", "2024-01-10T09:00"),
        ("DIABP", "Diastolic Blood Pressure", "STANDING", "2H POST-DOSE", 2.0, "PT2H", "83",
         83.0, "2024-01-10T11:00", "FIRST DOSE", "2024-01-10T09:00"),
        ("DIABP", "Diastolic Blood Pressure", "SUPINE", "PRE-DOSE", 1.0, "-PT15M", "82", 82.0,
         "2024-01-10T08:45", "FIRST DOSE", "2024-01-10T09:00"),
        ("DIABP", "Diastolic Blood Pressure", "SUPINE", "2H POST-DOSE", 2.0, "PT2H", "84", 84.0,
         "2024-01-10T11:00", "FIRST DOSE", "2024-01-10T09:00"),
        ("SYSBP", "Systolic Blood Pressure", "STANDING", "PRE-DOSE", 1.0, "-PT15M", "119",
         119.0, "2024-01-10T08:45", "FIRST DOSE", "2024-01-10T09:00"),
        ("SYSBP", "Systolic Blood Pressure", "STANDING", "2H POST-DOSE", 2.0, "PT2H", "124",
         124.0, "2024-01-10T11:00", "FIRST DOSE", "2024-01-10T09:00"),
        ("SYSBP", "Systolic Blood Pressure", "SUPINE", "PRE-DOSE", 1.0, "-PT15M", "122", 122.0,
         "2024-01-10T08:45", "FIRST DOSE", "2024-01-10T09:00"),
        ("SYSBP", "Systolic Blood Pressure", "SUPINE", "2H POST-DOSE", 2.0, "PT2H", "126", 126.0,
         "2024-01-10T11:00", "FIRST DOSE", "2024-01-10T09:00"),
    ]
    assert set(bp["VSLOC"]) == {"ARM"} and set(bp["VSLAT"]) == {"LEFT"}
    assert set(bp["VSORRESU"]) == {"mmHg"} and set(bp["VSSTRESU"]) == {"mmHg"}


def test_vs_mixed_units_standardised_and_not_done(mapped):
    vs = mapped[2].domains["VS"]
    other = vs[vs["VSTESTCD"].isin(["WEIGHT", "TEMP"])].sort_values(["USUBJID", "VISITNUM",
                                                                       "VSTESTCD"])
    assert _records(other, ["USUBJID", "VISIT", "VSTESTCD", "VSORRES", "VSORRESU", "VSSTRESC",
                            "VSSTRESN", "VSSTRESU", "VSSTAT", "VSREASND"]) == [
        # 98.6 F = (98.6 - 32) * 5/9 = 37.0 C; 154 lb * 0.45359237 = 69.853 -> 69.9 kg
        ("S1-001", "SCREENING", "TEMP", "98.6", "F", "37", 37.0, "C", "", ""),
        ("S1-001", "SCREENING", "WEIGHT", "154", "LB", "69.9", 69.9, "kg", "", ""),
        ("S1-001", "DAY 1", "TEMP", "37.2", "C", "37.2", 37.2, "C", "", ""),
        ("S1-001", "DAY 1", "WEIGHT", "70.2", "kg", "70.2", 70.2, "kg", "", ""),
        ("S1-001", "UNSCHEDULED 2.01", "TEMP", "38.1", "C", "38.1", 38.1, "C", "", ""),
        ("S1-001", "UNSCHEDULED 2.01", "WEIGHT", "", "", "", None, "", "NOT DONE",
         "Scale broken"),
        ("S1-002", "SCREENING", "TEMP", "36.8", "C", "36.8", 36.8, "C", "", ""),
        ("S1-002", "SCREENING", "WEIGHT", "81.5", "kg", "81.5", 81.5, "kg", "", ""),
        # (97.9 - 32) * 5/9 = 36.611 -> 36.6; 180 * 0.45359237 = 81.647 -> 81.6
        ("S1-002", "DAY 1", "TEMP", "97.9", "F", "36.6", 36.6, "C", "", ""),
        ("S1-002", "DAY 1", "WEIGHT", "180", "LB", "81.6", 81.6, "kg", "", ""),
        # (99.1 - 32) * 5/9 = 37.278 -> 37.3
        ("S1-002", "WEEK 2", "TEMP", "99.1", "F", "37.3", 37.3, "C", "", ""),
    ]
    panel = vs[vs["VSTESTCD"] == "VSALL"]
    assert _records(panel, ["USUBJID", "VSTEST", "VSSTAT", "VSREASND", "VISIT", "VISITNUM",
                            "VSDTC", "VSDY"]) == [
        ("S1-001", "Vital Signs", "NOT DONE", "Patient not available", "WEEK 2", 3.0,
         "2024-01-24", 15.0)]


def test_vs_visits_study_days_partial_dates_and_baseline(mapped):
    vs = mapped[2].domains["VS"]
    s1 = vs[vs["USUBJID"] == "S1-001"]
    unscheduled = s1[s1["VISIT"].str.startswith("UNSCHEDULED")]
    # 2024-01-12 is day 3; the last scheduled visit by target day is DAY 1 (VISITNUM 2)
    assert set(unscheduled["VISITNUM"]) == {2.01} and set(unscheduled["VSDY"]) == {3.0}
    week2 = vs[(vs["USUBJID"] == "S1-002") & (vs["VISIT"] == "WEEK 2")]
    assert set(week2["VSDTC"]) == {"2024-02"} and week2["VSDY"].isna().all()
    assert set(week2["VISITNUM"]) == {3.0} and set(week2["VSLOBXFL"]) == {""}
    flagged = vs[vs["VSLOBXFL"] == "Y"].sort_values(["USUBJID", "VSTESTCD", "VSPOS"])
    assert _records(flagged, ["USUBJID", "VSTESTCD", "VSPOS", "VSDTC", "VSORRES"]) == [
        # S1: first dose 09:00 -> the 08:45 pre-dose reading, not the 11:00 one
        ("S1-001", "DIABP", "STANDING", "2024-01-10T08:45", "79"),
        ("S1-001", "DIABP", "SUPINE", "2024-01-10T08:45", "82"),
        ("S1-001", "SYSBP", "STANDING", "2024-01-10T08:45", "119"),
        ("S1-001", "SYSBP", "SUPINE", "2024-01-10T08:45", "122"),
        ("S1-001", "TEMP", "", "2024-01-10T08:45", "37.2"),
        ("S1-001", "WEIGHT", "", "2024-01-10T08:45", "70.2"),
        # S2: the reference has no time, so day 1 counts; STANDING was only taken at screening
        ("S1-002", "DIABP", "STANDING", "2024-01-25", "69"),
        ("S1-002", "DIABP", "SUPINE", "2024-02-01T07:50", "72"),
        ("S1-002", "SYSBP", "STANDING", "2024-01-25", "108"),
        ("S1-002", "SYSBP", "SUPINE", "2024-02-01T07:50", "112"),
        ("S1-002", "TEMP", "", "2024-02-01T07:50", "97.9"),
        ("S1-002", "WEIGHT", "", "2024-02-01T07:50", "180"),
    ]
    assert vs.groupby("USUBJID")["VSSEQ"].apply(list).map(
        lambda s: s == list(range(1, len(s) + 1))).all()


def test_lb_long_table_units_ranges_indicators_and_not_done_panel(mapped):
    lb = mapped[2].domains["LB"].sort_values(["USUBJID", "VISITNUM", "LBTESTCD"])
    assert _records(lb, ["USUBJID", "VISIT", "LBTESTCD", "LBTEST", "LBCAT", "LBORRES",
                         "LBORRESU", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBSTNRLO",
                         "LBSTNRHI", "LBNRIND", "LBSTAT", "LBREASND", "LBLOBXFL"]) == [
        # glucose 90 mg/dL / 180.16 g/mol * 10 dL/L = 4.9956 -> 5.00; 70 -> 3.8854 -> 3.89;
        # 100 -> 5.5506 -> 5.55
        ("S1-001", "SCREENING", "GLUC", "Glucose", "CHEMISTRY", "90", "mg/dL", "5", 5.0,
         "mmol/L", 3.89, 5.55, "NORMAL", "", "", ""),
        # 13.5 g/dL = 135 g/L; range 12-16 g/dL = 120-160 g/L
        ("S1-001", "SCREENING", "HGB", "Hemoglobin", "HEMATOLOGY", "13.5", "g/dL", "135", 135.0,
         "g/L", 120.0, 160.0, "NORMAL", "", "", ""),
        ("S1-001", "SCREENING", "NEUT", "Neutrophils", "HEMATOLOGY", "4.1", "10^9/L", "4.1",
         4.1, "10^9/L", 2.0, 7.5, "NORMAL", "", "", ""),
        ("S1-001", "SCREENING", "PLAT", "Platelets", "HEMATOLOGY", "250", "10^9/L", "250",
         250.0, "10^9/L", 150.0, 400.0, "NORMAL", "", "", "Y"),
        ("S1-001", "DAY 1", "GLUC", "Glucose", "CHEMISTRY", "6.1", "mmol/L", "6.1", 6.1,
         "mmol/L", 3.9, 5.6, "HIGH", "", "", "Y"),
        ("S1-001", "DAY 1", "HGB", "Hemoglobin", "HEMATOLOGY", "118", "g/L", "118", 118.0,
         "g/L", 120.0, 160.0, "LOW", "", "", "Y"),
        ("S1-001", "DAY 1", "NEUT", "Neutrophils", "HEMATOLOGY", "1.4", "10^9/L", "1.4", 1.4,
         "10^9/L", 2.0, 7.5, "LOW", "", "", "Y"),
        # not done: no result, no unit, no range in standard units, not a baseline candidate
        ("S1-001", "DAY 1", "PLAT", "Platelets", "HEMATOLOGY", "", "", "", None, "", None, None,
         "", "NOT DONE", "Clotted sample", ""),
        ("S1-001", "WEEK 2", "LBALL", "Laboratory Data", "HEMATOLOGY", "", "", "", None, "",
         None, None, "", "NOT DONE", "Patient hospitalised", ""),
        ("S1-002", "SCREENING", "GLUC", "Glucose", "CHEMISTRY", "5.0", "mmol/L", "5", 5.0,
         "mmol/L", 3.9, 5.6, "NORMAL", "", "", "Y"),
        ("S1-002", "SCREENING", "HGB", "Hemoglobin", "HEMATOLOGY", "14.2", "g/dL", "142", 142.0,
         "g/L", 130.0, 170.0, "NORMAL", "", "", "Y"),
        # 10^3/uL is the CT synonym of 10^9/L (the same count per volume)
        ("S1-002", "SCREENING", "NEUT", "Neutrophils", "HEMATOLOGY", "3.2", "10^9/L", "3.2", 3.2,
         "10^9/L", 1.8, 7.0, "NORMAL", "", "", "Y"),
        # a result below the limit of quantitation stays text
        ("S1-002", "UNSCHEDULED 2.01", "NEUT", "Neutrophils", "HEMATOLOGY", "<0.5", "10^9/L",
         "<0.5", None, "10^9/L", 1.8, 7.0, "", "", "", ""),
        ("S1-002", "WEEK 2", "HGB", "Hemoglobin", "HEMATOLOGY", "9.8", "g/dL", "98", 98.0, "g/L",
         130.0, 170.0, "LOW", "", "", ""),
    ]
    assert lb.loc[lb["LBORRES"] == "<0.5", "LBTOXGR"].tolist() == ["4"]
    assert lb.loc[lb["VISIT"] == "WEEK 2", "LBDTC"].tolist() == ["2024-01-24", "2024-02"]


def test_eg_test_table_and_single_test_block(mapped):
    eg = mapped[2].domains["EG"].sort_values(["USUBJID", "VISITNUM", "EGTESTCD"])
    assert _records(eg, ["USUBJID", "VISIT", "EGTESTCD", "EGTEST", "EGORRES", "EGORRESU",
                         "EGSTRESC", "EGSTRESN", "EGSTRESU", "EGSTAT", "EGLOBXFL"]) == [
        ("S1-001", "SCREENING", "EGHRMN", "ECG Mean Heart Rate", "62", "beats/min", "62", 62.0,
         "beats/min", "", ""),
        ("S1-001", "SCREENING", "INTP", "Interpretation", "NORMAL", "", "NORMAL", None, "", "",
         ""),
        ("S1-001", "SCREENING", "QTAG", "QT Interval, Aggregate", "400", "ms", "400", 400.0, "ms",
         "", ""),
        ("S1-001", "SCREENING", "QTCFAG", "QTcF Interval, Aggregate", "406", "ms", "406", 406.0,
         "ms", "", ""),
        # 0.968 s = 968 ms
        ("S1-001", "SCREENING", "RRAG", "RR Interval, Aggregate", "0.968", "s", "968", 968.0,
         "ms", "", ""),
        ("S1-001", "DAY 1", "EGHRMN", "ECG Mean Heart Rate", "75", "beats/min", "75", 75.0,
         "beats/min", "", "Y"),
        ("S1-001", "DAY 1", "INTP", "Interpretation", "ABNORMAL", "", "ABNORMAL", None, "", "",
         "Y"),
        ("S1-001", "DAY 1", "QTAG", "QT Interval, Aggregate", "380", "ms", "380", 380.0, "ms", "",
         "Y"),
        ("S1-001", "DAY 1", "QTCFAG", "QTcF Interval, Aggregate", "410", "ms", "410", 410.0,
         "ms", "", "Y"),
        ("S1-001", "DAY 1", "RRAG", "RR Interval, Aggregate", "800", "ms", "800", 800.0, "ms", "",
         "Y"),
        ("S1-002", "SCREENING", "EGHRMN", "ECG Mean Heart Rate", "58", "beats/min", "58", 58.0,
         "beats/min", "", "Y"),
        ("S1-002", "SCREENING", "INTP", "Interpretation", "NORMAL", "", "NORMAL", None, "", "",
         "Y"),
        ("S1-002", "SCREENING", "QTAG", "QT Interval, Aggregate", "410", "ms", "410", 410.0, "ms",
         "", "Y"),
        ("S1-002", "SCREENING", "QTCFAG", "QTcF Interval, Aggregate", "405", "ms", "405", 405.0,
         "ms", "", "Y"),
        ("S1-002", "SCREENING", "RRAG", "RR Interval, Aggregate", "1.034", "s", "1034", 1034.0,
         "ms", "", "Y"),
        ("S1-002", "WEEK 2", "EGALL", "ECG", "", "", "", None, "", "NOT DONE", ""),
    ]


def test_validate_passes_the_mapped_findings_domains(written):
    spec, out = written
    result = validate_folder(out, study=spec, fmt="csv")
    findings = result["findings"]
    assert result["exit_code"] == 0, findings.query("severity == 'error'").to_string()
    # about the findings domains only warnings that the sponsor's xxALL test codes and a
    # "<0.5" result are not CT terms (the codelists are extensible)
    about = findings[findings["dataset"].isin(["VS", "LB", "EG"])]
    assert sorted(zip(about["dataset"], about["rule"], about["value"])) == [
        ("EG", "CT-EXT", "ECG"), ("EG", "CT-EXT", "EGALL"),
        ("LB", "CT-EXT", "<0.5"), ("LB", "CT-EXT", "LBALL"),
        ("LB", "CT-EXT", "Laboratory Data"),
        ("VS", "CT-EXT", "VSALL"), ("VS", "CT-EXT", "Vital Signs")]


# --- the pieces, one rule each ---------------------------------------------------------

@pytest.mark.parametrize("text, iso", [
    ("PT15M", "PT15M"), ("-pt30m", "-PT30M"), ("P1DT2H", "P1DT2H"), ("15 min", "PT15M"),
    ("-30 minutes", "-PT30M"), ("1 h 30 min", "PT1H30M"), ("2 days", "P2D"),
    ("0.5 h", "PT0.5H"), ("1 week", "P1W"),
    ("", None), ("soon", None), ("15", None), ("P", None), ("PT", None), ("5 min 5 min", None),
])
def test_iso_duration(text, iso):
    assert iso_duration(text) == iso


def test_units_by_pint_with_cdisc_aliases():
    assert convert([98.6, 212.0], "F", "C").tolist() == pytest.approx([37.0, 100.0])
    assert convert([10.0], "LB", "kg").tolist() == pytest.approx([4.5359237])   # 1 lb = 0.45359237 kg
    assert convert([10.0], "in", "cm").tolist() == pytest.approx([25.4])
    assert convert([1.5], "sec", "ms").tolist() == pytest.approx([1500.0])
    assert convert([4.0], "10^3/uL", "10^9/L").tolist() == pytest.approx([4.0])
    # creatinine 1.0 mg/dL with 113.12 g/mol: 10 mg/L / 113.12 mg/mmol = 0.0884 mmol/L
    assert convert([1.0], "mg/dL", "umol/L", 113.12).tolist() == pytest.approx([88.4017], abs=1e-4)
    with pytest.raises(UnitError, match="molar_mass"):
        convert([1.0], "mg/dL", "mmol/L")
    with pytest.raises(UnitError, match="cannot be converted"):
        convert([1.0], "kg", "cm")
    with pytest.raises(UnitError, match="not known"):
        convert([1.0], "widgets", "kg")


LONG = """
    PT,TEST,VAL,U
    001,GLUC,1.005,mmol/L
    001,GLUC,99,mg/dL
    001,CREAT,1.0,mg/dL
    001,CREAT,80,umol/L
    001,K,4.25,mEq/L
    001,HGB,12,mmol/L
"""
LONG_YAML = """
domain: LB
records:
  - source: lab
    variables:
      STUDYID: S1
      DOMAIN: LB
      USUBJID: {format: "S1-{PT}"}
      LBTESTCD: {from: TEST}
      LBSTRESN:
        - {unit: {value: VAL, unit: U}, to: mmol/L, molar_mass: 180.16, round: 2,
           where: "LBTESTCD == 'GLUC'"}
        - {unit: {value: VAL, unit: U}, to: umol/L, factors: {mg/dL: 88.4}, significant: 2,
           where: "LBTESTCD == 'CREAT'"}
        - {unit: {value: VAL, unit: U}, to: mmol/L, factors: {mEq/L: 1}, round: 1,
           where: "LBTESTCD == 'K'"}
        - {unit: {value: VAL, unit: U}, to: g/L}
"""


def test_test_specific_conversion_factors_rounding_and_unconvertible_units(tmp_path):
    spec, raw = make_study(tmp_path, {"lab": LONG}, {"lb": LONG_YAML})
    result = map_study(spec, raw)
    values = result.domains["LB"]["LBSTRESN"].tolist()
    # 1.005 -> 1.01 (half away from zero on the decimal value; binary rounding gives 1.0);
    # 99 mg/dL / 180.16 * 10 = 5.495 -> 5.50; 1.0 mg/dL * 88.4 = 88.4 -> 88 (2 significant);
    # 80 umol/L -> 80; 4.25 mEq/L * 1 -> 4.3; mmol/L -> g/L for HGB has no molar mass: error
    assert values[:5] == [1.01, 5.5, 88.0, 80.0, 4.3]
    assert math.isnan(values[5])
    unit_errors = result.findings.query("rule == 'MAP-UNIT'")
    assert unit_errors["value"].tolist() == ["mmol/L"] and unit_errors["row"].tolist() == [6]
    assert "molar_mass" in unit_errors["message"].iloc[0]


def test_unpivot_names_missing_raw_columns(tmp_path):
    vs = VS_YAML.replace('columns: {RESULT: "{COL}_{P}_{N}", TIME: "TIME_{N}"}',
                         'columns: {RESULT: "{COL}_{P}_{N}", TIME: "TIME_{N}", X: "X_{P}"}')
    spec, raw = make_study(tmp_path, TABLES, {**DOMAINS, "vs": vs}, STUDY_EXTRA)
    with pytest.raises(SpecError, match="X_STD, X_SUP") as err:
        map_study(spec, raw)
    assert err.value.rule == "SPEC-UNPIVOT"


def test_bad_duration_is_an_error_finding(tmp_path):
    vs = VS_YAML.replace("ELTM: 2 h,", "ELTM: later,")
    spec, raw = make_study(tmp_path, TABLES, {**DOMAINS, "vs": vs}, STUDY_EXTRA)
    bad = map_study(spec, raw).findings.query("rule == 'MAP-DURATION'")
    # the S1 day-1 row holds the only post-dose readings: 4 of them (2 tests x 2 positions)
    assert set(bad["value"]) == {"later"} and bad["row"].tolist() == [2] * 4


def test_baseline_by_visit_and_numeric_aware_order():
    frame = pd.DataFrame({
        "USUBJID": ["A"] * 4, "VSTESTCD": ["SYSBP"] * 4,
        "VISIT": ["SCREENING", "RUN-IN", "RUN-IN", "WEEK 1"],
        "VSDTC": ["2024-01-01", "2024-01-05", "2024-01-05", "2024-01-12"],
        "VSTPTNUM": ["10", "2", "10", "1"], "VSORRES": ["120", "121", "122", "130"]})
    by_visit = derive_baseline_flag(frame, flag="VSBLFL", by=["USUBJID", "VSTESTCD"],
                                    date="VSDTC", visits=["Screening", "Run-in"],
                                    order=["VSTPTNUM"])
    # the last of the run-in readings by time point number: 10 after 2 (as numbers)
    assert by_visit["VSBLFL"].tolist() == ["", "", "Y", ""]
    seq = derive_seq(frame, name="VSSEQ", by=["USUBJID"], order=["VSTPTNUM"])
    assert seq["VSORRES"].tolist() == ["130", "121", "120", "122"]


def test_baseline_needs_its_variables():
    frame = pd.DataFrame({"USUBJID": ["A"], "VSDTC": ["2024-01-01"]})
    with pytest.raises(SpecError, match="VSTESTCD"):
        derive_baseline_flag(frame, flag="VSLOBXFL", by=["USUBJID", "VSTESTCD"], date="VSDTC",
                             reference=pd.Series({"A": "2024-01-02"}))


def test_unscheduled_visit_with_a_partial_date_gets_no_guessed_visitnum(tmp_path):
    vitals = VITALS.rstrip() + "\n    002,Unscheduled,UN-MAR-2024,,,,118,,,,76,,,,,,,,,,,\n"
    spec, raw = make_study(tmp_path, {**TABLES, "vitals": vitals}, DOMAINS, STUDY_EXTRA)
    result = map_study(spec, raw)
    vs = result.domains["VS"]
    late = vs[vs["VSDTC"] == "2024-03"]
    assert set(late["VISIT"]) == {"UNSCHEDULED"} and late["VISITNUM"].isna().all()
    warned = result.findings.query("rule == 'MAP-VISIT-UNPLACED'")
    assert warned["row"].tolist() == [8, 8] and set(warned["value"]) == {"2024-03"}


def test_define_describes_findings_results_per_test_and_their_origins(written):
    """define.xml of the small study: value-level metadata per test code for VS, LB and EG;
    a converted result Derived (its method the conversion), a copied one Collected; a
    `duration:` rule (VSELTM) is a Collected value read from raw."""
    from lxml import etree

    from cdisc_convert.define.api import write_define
    spec, out = written
    tree = etree.parse(str(write_define(out, study=spec)))
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}

    def origin(oid):
        item = tree.find(f".//odm:ItemDef[@OID='{oid}']", ns)
        assert item is not None, oid
        return [o.get("Type") for o in item.findall("def:Origin", ns)]

    vl = {v.get("OID") for v in tree.findall(".//def:ValueListDef", ns)}
    assert {"VL.VS.VSSTRESN", "VL.LB.LBSTRESN", "VL.EG.EGSTRESN"} <= vl
    assert origin("IT.LB.LBSTRESN.GLUC") == ["Derived"]        # mg/dL -> mmol/L
    assert origin("IT.VS.VSSTRESN.WEIGHT") == ["Derived"]      # lb -> kg
    assert origin("IT.VS.VSSTRESN.SYSBP") == ["Collected"]     # mmHg as measured
    assert origin("IT.LB.LBORRES.GLUC") == ["Collected"]
    assert origin("IT.VS.VSELTM") == ["Collected"]
    ref = tree.find(".//def:ValueListDef[@OID='VL.LB.LBSTRESN']/odm:ItemRef", ns)
    method = tree.find(f".//odm:MethodDef[@OID='{ref.get('MethodOID')}']", ns)
    assert "molar mass 180.16 g/mol" in "".join(method.itertext())


def test_sort_key_numbers_only_when_every_given_value_is_one():
    from cdisc_convert.sdtm.derive import sort_key
    numbers = sort_key(pd.Series(["10", " 2", "", None, "2", "1.5"], name="X"))
    assert numbers.name == "X"
    assert numbers.fillna(-1).tolist() == [10.0, 2.0, -1, -1, 2.0, 1.5]   # blanks: NaN
    text = pd.Series(["10", "2", "A"])
    assert sort_key(text) is text                       # one non-number: sorted as text
    blank = pd.Series(["", None])
    assert sort_key(blank) is blank


def test_per_distinct_text_runs_once_per_distinct_value():
    from cdisc_convert.sdtm.derive import per_distinct_text
    seen = []

    def shout(text):
        seen.append(text.tolist())
        return (text.str.strip() + "!").to_numpy()

    out = per_distinct_text(pd.Series([" a", "b", None, " a", float("nan"), 3]), shout)
    assert out.tolist() == ["a!", "b!", "!", "a!", "!", "3!"]
    assert seen == [[" a", "b", "3", ""]]           # missing values: one final ""


def test_distinct_codes_number_values_and_missing_whatever_the_objects():
    from cdisc_convert.sdtm.variable_rules import distinct_codes
    # "ab" twice as two different string objects, once shared; a number column too
    made = "".join(["a", "b"])
    values = pd.Series(["ab", made, None, "c", "ab", float("nan")], dtype=object)
    codes, uniques = distinct_codes(values)
    assert codes[2] == -1 and codes[5] == -1
    assert [uniques[c] for c in codes[[0, 1, 3, 4]]] == ["ab", "ab", "c", "ab"]
    assert codes[0] == codes[4]                          # one object: one code
    numbers = pd.Series([2.5, float("nan"), 2.5])
    codes, uniques = distinct_codes(numbers)
    assert codes.tolist() == [0, -1, 0] and list(uniques) == [2.5]


# An EDC export whose dates have two-digit years (as sdtm.oak's example vitals do): the
# century is declared per rule; without it every such date is an error naming its rows.
TWO_DIGIT_VITALS = """
    PT,VISITLBL,VTLD,VTLTM,SYS_BP,PULSE,DTHD
    001,Screening,3-Feb-24,7:05,121,64,
    001,Week 2,17-Feb-24,14:30,118,,
    002,Screening,28-Dec-99,9:15,140,80,02/14/25
"""
TWO_DIGIT_DM = dm_yaml(rfstdtc="{date: START, two_digit_year_pivot: 1950}", extra="""derive:
  reference_dates:
    DTHDTC: {earliest: {table: vit, date: DTHD, two_digit_year_pivot: 1950,
                        where: "DTHD != ''"}}
""")
TWO_DIGIT_VS = """
domain: VS
records:
  - source: vit
    unpivot:
      test:
        - {VSTESTCD: SYSBP, COL: SYS_BP}
        - {VSTESTCD: PULSE, COL: PULSE}
      columns: {RESULT: "{COL}"}
    where: "RESULT != ''"
    variables:
      STUDYID: S1
      DOMAIN: VS
      USUBJID: {format: "S1-{PT}"}
      VSTESTCD: {from: VSTESTCD, codelist: VSTESTCD}
      VSTEST: {from: VSTESTCD, decode: VSTESTCD, codelist: VSTEST}
      VSORRES: {from: RESULT}
      VISIT: {from: VISITLBL, transform: upper}
      VSDTC: {date: VTLD, time: VTLTM, two_digit_year_pivot: 1950}
"""


def _two_digit_study(tmp_path, vs=TWO_DIGIT_VS, dm=TWO_DIGIT_DM):
    subj = """
        PT,SEX,START
        001,F,02FEB24
        002,M,27DEC99
    """
    return make_study(tmp_path, {"subj": subj, "vit": TWO_DIGIT_VITALS},
                      {"dm": dm, "vs": vs})


def test_two_digit_years_are_read_into_the_declared_century(tmp_path):
    result = map_study(*_two_digit_study(tmp_path))
    assert result.findings.query("rule == 'MAP-DATE'").empty
    vs = result.domains["VS"]
    # window 1950-2049: 24 -> 2024, 99 -> 1999; the one-digit hours are read as 07 and 09
    assert sorted(set(zip(vs["USUBJID"], vs["VSDTC"]))) == [
        ("S1-001", "2024-02-03T07:05"), ("S1-001", "2024-02-17T14:30"),
        ("S1-002", "1999-12-28T09:15")]
    dm = result.domains["DM"].set_index("USUBJID")
    assert dm["RFSTDTC"].tolist() == ["2024-02-02", "1999-12-27"]
    # a raw reference date takes the same key (02/14/25, month first: 2025-02-14)
    assert dm["DTHDTC"].tolist() == ["", "2025-02-14"]


def test_two_digit_years_without_a_pivot_are_errors_that_say_what_to_declare(tmp_path):
    vs = TWO_DIGIT_VS.replace(", two_digit_year_pivot: 1950", "")
    result = map_study(*_two_digit_study(tmp_path, vs=vs))
    bad = result.findings.query("rule == 'MAP-DATE' and domain == 'VS'")
    assert set(bad["severity"]) == {"error"}
    assert sorted(set(bad["value"])) == ["17-Feb-24", "28-Dec-99", "3-Feb-24"]
    assert "declare it with two_digit_year_pivot:" in bad["message"].iloc[0]
    assert (result.domains["VS"]["VSDTC"] == "").all()


def test_a_pivot_outside_1900_2001_is_a_spec_error_naming_the_file(tmp_path):
    vs = TWO_DIGIT_VS.replace("two_digit_year_pivot: 1950", "two_digit_year_pivot: 2050")
    with pytest.raises(SpecError, match="vs.yaml") as err:
        map_study(*_two_digit_study(tmp_path, vs=vs))
    assert "two_digit_year_pivot" in str(err.value)
