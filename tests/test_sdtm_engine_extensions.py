"""Rules added to the mapping language for the CDISC pilot, each on a tiny hand-made study:
``extract:``, ``map: NAME``, raw-table reference dates, ``derive: variables`` /
``derive: supp`` and ``model_variables:`` (docs/mapping-spec.md)."""
from __future__ import annotations

import pytest

from cdisc_convert.core.errors import SpecError
from cdisc_convert.sdtm.engine import map_study
from tiny_study import make_study

SUBJ = """
    PATNUM,SEX,ARM,COL
    701-1015,F,Xan High,12/26/2013
    702-1023,M,Placebo,07/22/2012
    703-1030,M,Screen Failure,07/11/2013
"""
DOSES = """
    PATNUM,VISIT,START
    701-1015,Baseline,02-Jan-2014
    701-1015,Week 2,17-Jan-2014
    702-1023,Unscheduled 3.1,05-Aug-2012
"""
DISP = """
    PATNUM,EVENT,DEATHDT
    701-1015,Completed,
    702-1023,Death,08/02/2013
    702-1023,Final Lab Visit,08/02/2013
"""
STUDY_EXTRA = """
value_maps:
  ARM: {Xan High: Xanomeline High Dose, Placebo: Placebo, Screen Failure: Screen Failure}
  VISITNUM: {BASELINE: 3, WEEK 2: 4}
"""
DM_YAML = """
domain: DM
records:
  - source: subj
    variables:
      STUDYID: S1
      DOMAIN: DM
      USUBJID: {format: "01-{PATNUM}"}
      SUBJID: {from: PATNUM, extract: '^\\d+-(\\d+)$'}
      SITEID: {from: PATNUM, extract: '^\\d+'}
      SEX: {from: SEX, codelist: SEX}
      ARM: {from: ARM, map: ARM}
      COUNTRY: USA
      DMDTC: {date: COL}
derive:
  reference_dates:
    RFSTDTC: {earliest: EX.EXSTDTC}
    DTHDTC: {earliest: {table: disp, date: DEATHDT}}
  variables:
    DTHFL:
      - {value: Y, where: "DTHDTC != ''"}
  supp:
    SAFETY:
      - {value: Y, where: "RFSTDTC != ''", label: Safety Population Flag, orig: DERIVED}
"""
EX_YAML = """
domain: EX
model_variables:
  VISITNUM: {label: Visit Number, type: Num, before: EXSTDTC}
  VISIT: {label: Visit Name, type: Char, after: VISITNUM}
records:
  - source: doses
    variables:
      STUDYID: S1
      DOMAIN: EX
      USUBJID: {format: "01-{PATNUM}"}
      EXTRT: XANOMELINE
      VISIT: {from: VISIT, transform: upper}
      VISITNUM:
        - {from: VISIT, extract: 'UNSCHEDULED (\\d+\\.\\d+)',
           where: "startswith(VISIT, 'UNSCH')"}
        - {from: VISIT, map: VISITNUM}
      EXSTDTC: {date: START}
derive:
  seq: {by: [USUBJID], order: [EXSTDTC]}
"""
DS_YAML = """
domain: DS
records:
  - source: disp
    variables:
      STUDYID: S1
      DOMAIN: DS
      USUBJID: {format: "01-{PATNUM}"}
      DSTERM: {from: EVENT, transform: upper}
      DSDECOD: {from: EVENT, transform: upper}
      DSCAT: DISPOSITION EVENT
derive:
  seq: {by: [USUBJID], order: [DSTERM]}
  supp:
    DSLATE:
      - {value: Y, where: "RFSTDTC != '' and RFSTDTC < '2014-01-01'", label: Late}
"""


def _study(tmp_path, dm=DM_YAML, ex=EX_YAML, ds=DS_YAML):
    return make_study(tmp_path, {"subj": SUBJ, "doses": DOSES, "disp": DISP},
                      {"dm": dm, "ex": ex, "ds": ds}, STUDY_EXTRA)


def test_extract_and_named_value_maps(tmp_path):
    result = map_study(*_study(tmp_path))
    dm = result.domains["DM"]
    assert dm["SUBJID"].tolist() == ["1015", "1023", "1030"]
    assert dm["SITEID"].tolist() == ["701", "702", "703"]      # no group: the whole match
    assert dm["ARM"].tolist() == ["Xanomeline High Dose", "Placebo", "Screen Failure"]
    ex = result.domains["EX"]
    assert ex["VISITNUM"].tolist() == [3.0, 4.0, 3.1]          # label number for unscheduled


def test_extract_mismatch_is_an_error_naming_the_row(tmp_path):
    spec, raw = _study(tmp_path)
    (raw / "subj.csv").write_text((raw / "subj.csv").read_text() + "X99,F,Placebo,01/01/2013\n")
    findings = map_study(spec, raw).findings
    bad = findings[findings["rule"] == "MAP-EXTRACT"]
    assert sorted(bad[["variable", "row", "value"]].values.tolist()) == [
        ["SITEID", 4, "X99"], ["SUBJID", 4, "X99"]]
    assert (bad["severity"] == "error").all()


def test_unknown_named_map_is_a_spec_error(tmp_path):
    spec, raw = _study(tmp_path, dm=DM_YAML.replace("map: ARM", "map: ARMS"))
    with pytest.raises(SpecError, match="names no value map"):
        map_study(spec, raw)


def test_reference_date_from_a_raw_column_and_rules_after_derivations(tmp_path):
    result = map_study(*_study(tmp_path))
    dm = result.domains["DM"].set_index("USUBJID")
    # DEATHDT sits on every disposition row of the subject: earliest of them, subject found
    # through the DS records that the same raw rows became
    assert dm["DTHDTC"].tolist() == ["", "2013-08-02", ""]
    assert dm["DTHFL"].tolist() == ["", "Y", ""]                 # derive: variables
    assert dm["RFSTDTC"].tolist() == ["2014-01-02", "2012-08-05", ""]
    supp = result.domains["SUPPDM"]
    assert supp[["USUBJID", "QNAM", "QVAL", "QORIG", "IDVAR"]].values.tolist() == [
        ["01-701-1015", "SAFETY", "Y", "DERIVED", ""],
        ["01-702-1023", "SAFETY", "Y", "DERIVED", ""]]
    # outside DM the rules see the subject's DM variables (RFSTDTC) and point at --SEQ
    suppds = result.domains["SUPPDS"]
    assert suppds[["USUBJID", "IDVAR", "IDVARVAL", "QVAL"]].values.tolist() == [
        ["01-702-1023", "DSSEQ", "1", "Y"], ["01-702-1023", "DSSEQ", "2", "Y"]]
    assert "RFSTDTC" not in result.domains["DS"]


def test_raw_reference_date_with_a_usubjid_template(tmp_path):
    dm = DM_YAML.replace("{table: disp, date: DEATHDT}",
                         "{table: disp, date: DEATHDT, usubjid: '01-{PATNUM}', "
                         "where: \"EVENT == 'Death'\"}")
    result = map_study(*_study(tmp_path, dm=dm, ds="domain: DS\nrows: []\n"))
    assert result.domains["DM"]["DTHDTC"].tolist() == ["", "2013-08-02", ""]


def test_raw_reference_date_rows_without_subject_are_reported(tmp_path):
    ds = DS_YAML.replace("  - source: disp\n",
                         "  - source: disp\n    where: \"EVENT != 'Death'\"\n")
    result = map_study(*_study(tmp_path, ds=ds))
    lost = result.findings[result.findings["rule"] == "MAP-REFDATE-SUBJECT"]
    assert lost[["row", "value"]].values.tolist() == [[2, "2013-08-02"]]
    # the other row of the same subject still gives the date
    assert result.domains["DM"]["DTHDTC"].tolist() == ["", "2013-08-02", ""]


def test_model_variables_are_accepted_typed_and_placed(tmp_path):
    ex = map_study(*_study(tmp_path)).domains["EX"]
    cols = [c for c in ex.columns if not c.startswith("__")]
    assert cols.index("VISITNUM") + 1 == cols.index("VISIT") == cols.index("EXSTDTC") - 1
    assert ex["VISITNUM"].dtype == float
    (tmp_path / "b").mkdir()
    spec, raw = _study(tmp_path / "b", ex=EX_YAML.replace("  VISIT: {label: Visit Name, type: "
                                                          "Char, after: VISITNUM}\n", ""))
    with pytest.raises(SpecError, match="VISIT not sdtmig-3.4"):
        map_study(spec, raw)
