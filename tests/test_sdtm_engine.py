"""The mapping engine on tiny hand-made studies: each test states one rule of the language."""
from __future__ import annotations


import pandas as pd
import pytest

from cdisc_convert.api import map_sdtm
from cdisc_convert.core.errors import CdiscError, InputError, SpecError
from cdisc_convert.sdtm.engine import map_study
from tiny_study import DM_YAML, make_study


SUBJ = """
    PT,SEX,START
    001,Female,12JAN2014
    002,m,2014-02-01
"""


def test_copy_hardcode_format_and_codelist_synonyms(tmp_path):
    spec, raw = make_study(tmp_path, {"subj": SUBJ}, {"dm": DM_YAML})
    dm = map_study(spec, raw).domains["DM"]
    assert dm["USUBJID"].tolist() == ["S1-001", "S1-002"]
    assert dm["SEX"].tolist() == ["F", "M"]          # "Female" by CT synonym, "m" by case
    assert dm["RFSTDTC"].tolist() == ["2014-01-12", "2014-02-01"]
    assert dm["SITEID"].tolist() == ["01", "01"]


def test_value_outside_a_non_extensible_codelist_is_an_error_naming_the_row(tmp_path):
    subj = SUBJ + "    003,Unknownish,2014-03-01\n"
    spec, raw = make_study(tmp_path, {"subj": subj}, {"dm": DM_YAML})
    findings = map_study(spec, raw).findings
    err = findings[findings["rule"] == "CT-NONEXTENSIBLE"]
    assert len(err) == 1
    assert err.iloc[0][["table", "row", "variable", "value"]].tolist() == ["subj.csv", 3, "SEX", "Unknownish"]
    with pytest.raises(CdiscError) as info:
        map_sdtm(spec, raw=raw, out=tmp_path / "out")
    assert "subj.csv, row 3" in str(info.value)
    assert not (tmp_path / "out" / "dm.xpt").exists()          # no partial datasets
    assert (tmp_path / "out" / "mapping_findings.csv").exists()


def test_unparseable_date_is_reported_and_left_blank(tmp_path):
    subj = SUBJ + "    003,F,31FEB2014\n"
    spec, raw = make_study(tmp_path, {"subj": subj}, {"dm": DM_YAML})
    result = map_study(spec, raw)
    bad = result.findings[result.findings["rule"] == "MAP-DATE"]
    assert bad[["row", "variable", "value"]].values.tolist() == [[3, "RFSTDTC", "31FEB2014"]]
    assert result.domains["DM"]["RFSTDTC"].iloc[2] == ""


def test_partial_dates_stay_partial(tmp_path):
    subj = SUBJ + "    003,F,UNJAN2014\n"
    spec, raw = make_study(tmp_path, {"subj": subj}, {"dm": DM_YAML})
    assert map_study(spec, raw).domains["DM"]["RFSTDTC"].iloc[2] == "2014-01"


def test_missing_column_is_a_spec_error_naming_it(tmp_path):
    spec, raw = make_study(tmp_path, {"subj": "PT,START\n001,2014-01-01\n"}, {"dm": DM_YAML})
    with pytest.raises(SpecError) as info:
        map_study(spec, raw)
    assert "'SEX'" in str(info.value) and "subj.csv" in str(info.value)


def test_unknown_rule_key_is_rejected(tmp_path):
    bad = DM_YAML.replace("{from: SEX, codelist: SEX}", "{form: SEX}")
    spec, raw = make_study(tmp_path, {"subj": SUBJ}, {"dm": bad})
    with pytest.raises(SpecError) as info:
        map_study(spec, raw)
    assert "form" in str(info.value)


def test_duplicate_raw_key_is_an_error(tmp_path):
    spec, raw = make_study(tmp_path, {"subj": SUBJ + "    001,F,2014-01-01\n"}, {"dm": DM_YAML})
    study = (spec / "study.yaml").read_text().replace("{file: subj.csv}", "{file: subj.csv, key: [PT]}")
    (spec / "study.yaml").write_text(study)
    with pytest.raises(InputError) as info:
        map_study(spec, raw)
    assert info.value.rule == "RAW-DUPLICATE-KEY" and info.value.details == ["key 001: rows 1, 3"]


def test_missing_raw_folder_is_an_input_error(tmp_path):
    spec, _ = make_study(tmp_path, {"subj": SUBJ}, {"dm": DM_YAML})
    with pytest.raises(InputError):
        map_study(spec, tmp_path / "nowhere")


EVENTS = """
    PT,TERM,GRADE,START,REL1,REL2
    001,headache,1,2014-01-13,Not related,Not related
    001,nausea,2,2014-01-11,Related,Not related
    002,rash,,2014-02-05,Not related,Related
"""
AE_YAML = """
domain: AE
records:
  - source: ev
    where: "GRADE != ''"
    variables:
      STUDYID: S1
      DOMAIN: AE
      USUBJID: {format: "S1-{PT}"}
      AETERM: {from: TERM, transform: upper}
      AEDECOD: {from: AETERM}
      AETOXGR: {from: GRADE}
      AEREL:
        - {value: NOT RELATED, where: "REL1 == 'Not related' and REL2 == 'Not related'"}
        - {value: RELATED}
      AESTDTC: {date: START}
    supp:
      AEREL1: {from: REL1, label: Relationship to Drug 1}
derive:
  seq: {by: [USUBJID], order: [AESTDTC]}
  study_day: {AESTDY: AESTDTC}
"""


def test_conditions_seq_study_day_supp_and_unmapped(tmp_path):
    spec, raw = make_study(tmp_path, {"subj": SUBJ, "ev": EVENTS}, {"dm": DM_YAML, "ae": AE_YAML})
    result = map_study(spec, raw)
    ae = result.domains["AE"]
    # seq follows AESTDTC, not raw order; AEDECOD copies the already-derived (upper) AETERM
    assert ae[["AETERM", "AEDECOD", "AESEQ", "AEREL"]].values.tolist() == [
        ["NAUSEA", "NAUSEA", 1.0, "RELATED"], ["HEADACHE", "HEADACHE", 2.0, "NOT RELATED"]]
    # RFSTDTC 2014-01-12: the 11th is day -1 and the 13th day 2 (there is no day 0)
    assert ae["AESTDY"].tolist() == [-1.0, 2.0]
    supp = result.domains["SUPPAE"]
    assert supp[["IDVAR", "IDVARVAL", "QNAM", "QVAL"]].values.tolist() == [
        ["AESEQ", "1", "AEREL1", "Related"], ["AESEQ", "2", "AEREL1", "Not related"]]
    # the grade-less row is not silently lost
    assert result.unmapped[["table", "row"]].values.tolist() == [["ev.csv", 3]]
    assert "GRADE != ''" in result.unmapped["reason"].iloc[0]


SCANS = """
    PT,VISIT,DATE,LES,DIAM,UNIT,HU
    001,Baseline,2014-01-05,T1,2.5,cm,40
    001,Week 6,2014-02-23,T1,20,mm,35
    001,Unscheduled,2014-03-10,T1,18,mm,
    001,Week 12,2014-04-06,T1,17,mm,30
"""
TR_YAML = """
domain: TR
variables:
  STUDYID: S1
  DOMAIN: TR
  USUBJID: {format: "S1-{PT}"}
  TRLNKID: {from: LES}
  TRDTC: {date: DATE}
  VISIT: {from: VISIT}
records:
  - name: size
    source: scans
    variables:
      TRTESTCD: LDIAM
      TRTEST: Longest Diameter
      TRORRES: {from: DIAM}
      TRSTRESN: {unit: {value: DIAM, unit: UNIT}, to: mm}
  - name: density
    source: scans
    where: "HU != ''"
    variables:
      TRTESTCD: RADIODEN
      TRTEST: Radiodensity
      TRORRES: {from: HU}
      TRSTRESN: {number: HU}
derive:
  visit: {label: VISIT, date: TRDTC}
  seq: {by: [USUBJID], order: [TRDTC, TRTESTCD]}
  baseline: {flag: TRLOBXFL, by: [USUBJID, TRLNKID, TRTESTCD], date: TRDTC}
"""
STUDY_VISITS = """
visits:
  schedule:
    - {visit: BASELINE, visitnum: 1, day: -7, window: 21, labels: [Baseline]}
  repeat: {visit: "WEEK {n}", labels: ["Week {n}"], first: 6, step: 6, count: 4,
           visitnum_start: 2, days_per_n: 7, day_offset: 1, window: 7}
  unscheduled: [Unscheduled]
"""


def test_wide_to_long_units_visits_and_baseline(tmp_path):
    dm = DM_YAML + "derive:\n  reference_dates:\n    RFXSTDTC: {earliest: DM.RFSTDTC}\n"
    spec, raw = make_study(tmp_path, {"subj": SUBJ, "scans": SCANS}, {"dm": dm, "tr": TR_YAML},
                           STUDY_VISITS)
    tr = map_study(spec, raw).domains["TR"]
    size = tr[tr["TRTESTCD"] == "LDIAM"]
    assert size["TRSTRESN"].tolist() == [25.0, 20.0, 18.0, 17.0]          # 2.5 cm -> 25 mm
    assert size["VISIT"].tolist() == ["BASELINE", "WEEK 6", "UNSCHEDULED 2.01", "WEEK 12"]
    assert size["VISITNUM"].tolist() == [1.0, 2.0, 2.01, 3.0]
    assert len(tr[tr["TRTESTCD"] == "RADIODEN"]) == 3                      # blank HU: no record
    assert tr.loc[tr["TRLOBXFL"] == "Y", "TRDTC"].tolist() == ["2014-01-05", "2014-01-05"]


def test_unknown_unit_is_an_error(tmp_path):
    scans = SCANS.replace("2.5,cm", "2.5,widgets")     # (pint knows furlongs: no error)
    dm = DM_YAML + "derive:\n  reference_dates:\n    RFXSTDTC: {earliest: DM.RFSTDTC}\n"
    spec, raw = make_study(tmp_path, {"subj": SUBJ, "scans": scans}, {"dm": dm, "tr": TR_YAML},
                           STUDY_VISITS)
    findings = map_study(spec, raw).findings
    assert findings.query("rule == 'MAP-UNIT'")["value"].tolist() == ["widgets"]


def test_age_from_partial_birth_date_only_when_exact(tmp_path):
    subj = """
        PT,SEX,START,IC,BIRTH
        001,F,2014-01-12,2014-01-10,UN-MAR-1960
        002,M,2014-01-12,2014-03-10,UN-MAR-1960
        003,M,2014-01-12,2014-03-10,1960
    """
    dm = DM_YAML + """      RFICDTC: {date: IC}
      BRTHDTC: {date: BIRTH}
      AGE: {age: {birth: BRTHDTC, reference: RFICDTC}}
"""
    spec, raw = make_study(tmp_path, {"subj": subj}, {"dm": dm})
    result = map_study(spec, raw)
    ages = result.domains["DM"]["AGE"].tolist()
    assert ages[0] == 53                       # January before a March birthday
    assert pd.isna(ages[1]) and pd.isna(ages[2])   # same month / year only: ambiguous
    assert result.findings.query("rule == 'MAP-AGE'")["row"].tolist() == [2, 3]


def test_spec_length_reaches_the_xpt_file(tmp_path):
    import pyreadstat

    dm = DM_YAML.replace("SUBJID: {from: PT}", "SUBJID: {from: PT, length: 20}")
    spec, raw = make_study(tmp_path, {"subj": SUBJ}, {"dm": dm})
    map_sdtm(spec, raw=raw, out=tmp_path / "out", formats=("xpt",))
    _, meta = pyreadstat.read_xport(str(tmp_path / "out" / "dm.xpt"))
    assert meta.variable_storage_width["SUBJID"] == 20          # fixed by the spec
    assert meta.variable_storage_width["USUBJID"] == 6          # longest value, "S1-001"


def test_spec_length_shorter_than_a_value_is_an_error_not_a_truncation(tmp_path):
    dm = DM_YAML.replace("SUBJID: {from: PT}", "SUBJID: {from: PT, length: 2}")
    spec, raw = make_study(tmp_path, {"subj": SUBJ}, {"dm": dm})
    with pytest.raises(CdiscError) as info:
        map_sdtm(spec, raw=raw, out=tmp_path / "out", formats=("xpt",))
    assert "XPT-LENGTH" in str(info.value) and "SUBJID" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_blocks_sharing_a_join_share_it_and_report_a_missing_match_once(tmp_path):
    # two blocks of TR join the same lesion table; scan row 3 names a lesion that is not
    # there: one MAP-JOIN finding for that raw row (not one per block), and both blocks
    # still see the joined columns
    scans = """
        PT,LESID,DIAM,HU
        001,L1,21,40
        001,L2,15,35
        002,L9,30,50
    """
    lesions = """
        PT,LESID,SITE
        001,L1,LIVER
        001,L2,LUNG
    """
    tr = """
    domain: TR
    variables:
      STUDYID: S1
      DOMAIN: TR
      USUBJID: {format: "S1-{PT}"}
      TRLNKID: {from: LESID}
    records:
      - name: diameter
        source: scans
        join:
          - {table: lesions, on: [PT, LESID], required: true}
        variables:
          TRTESTCD: LDIAM
          TRTEST: Longest Diameter
          TRORRES: {from: DIAM}
          TRGRPID: {from: SITE}
      - name: density
        source: scans
        join:
          - {table: lesions, on: [PT, LESID], required: true}
        variables:
          TRTESTCD: RADIODEN
          TRTEST: Radiodensity
          TRORRES: {from: HU}
          TRGRPID: {from: SITE}
    derive:
      seq: {by: [USUBJID], order: [TRTESTCD, TRLNKID]}
    """
    spec, raw = make_study(tmp_path, {"subj": SUBJ, "scans": scans, "lesions": lesions},
                           {"dm": DM_YAML, "tr": tr})
    result = map_study(spec, raw)
    joins = result.findings[result.findings["rule"] == "MAP-JOIN"]
    assert len(joins) == 1 and joins["row"].tolist() == [3]
    records = result.domains["TR"]
    assert sorted(records.loc[records["TRTESTCD"] == "LDIAM", "TRGRPID"]) == ["", "LIVER", "LUNG"]
    assert sorted(records.loc[records["TRTESTCD"] == "RADIODEN", "TRORRES"]) == ["35", "40", "50"]


def test_unmapped_rows_carry_every_block_s_reason_and_unread_tables_all_rows(tmp_path):
    events = EVENTS + "    002,itch,,2014-02-06,Related,Related\n"
    block = AE_YAML.split("records:\n")[1].split("derive:")[0]
    two_blocks = (AE_YAML.split("records:\n")[0] + "records:\n" + block
                  + block.replace("where: \"GRADE != ''\"", "where: \"REL1 == 'Related'\"")
                  + "derive:" + AE_YAML.split("derive:")[1])
    spec, raw = make_study(tmp_path, {"subj": SUBJ, "ev": events, "spare": "X\n1\n2\n"},
                           {"dm": DM_YAML, "ae": two_blocks})
    unmapped = map_study(spec, raw).unmapped
    # row 3 (no grade, not related) is excluded by both blocks, in their order; row 4 (no
    # grade but related) became a record of the second block, so it is not lost
    assert unmapped[["table", "row"]].values.tolist() == [["ev.csv", 3], ["spare.csv", 1],
                                                           ["spare.csv", 2]]
    reason = unmapped["reason"].iloc[0]
    assert reason.index("GRADE != ''") < reason.index("REL1 == 'Related'")
    assert reason.count("; ") == 1
    assert unmapped["reason"].iloc[1:].tolist() == ["no domain maps this table"] * 2
    assert unmapped["row"].dtype == "int64"
