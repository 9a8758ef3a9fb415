"""Collected data is never dropped (issue #13): every raw column is read by the spec, listed
under the table's ``not_submitted:`` in study.yaml with a reason, or reported as a warning
finding MAP-RAW-COLUMN; a ``not_submitted`` column the spec reads, or that does not exist,
is a spec error SPEC-NOT-SUBMITTED.

The tables are built here; which columns each spec reads is worked out by hand in the
comments.
"""
from __future__ import annotations

import pytest

from cdisc_convert.core.errors import SpecError
from cdisc_convert.sdtm.engine import map_study, read_tables
from cdisc_convert.sdtm.findings import Findings
from cdisc_convert.sdtm.raw_columns import check_raw_columns, rule_columns, unpivot_columns
from cdisc_convert.sdtm.spec import load_study
from cdisc_convert.standards.extensions import using_study
from conftest import REPO
from tiny_study import DM_YAML, write_study

# DM_YAML reads PT (USUBJID, SUBJID), SEX and START (RFSTDTC); HEIGHT and NOTE are read by
# nothing
SUBJ = "PT,SEX,START,HEIGHT,NOTE\n001,F,2024-01-10,170,ok\n002,M,2024-02-01,182,\n"


def unused(findings) -> list[tuple[str, str]]:
    f = findings[findings["rule"] == "MAP-RAW-COLUMN"]
    assert set(f["severity"]) <= {"warning"}
    return sorted(zip(f["table"], f["variable"]))


def test_a_column_no_rule_reads_is_a_warning_naming_table_file_and_column(tmp_path):
    spec, raw = write_study(tmp_path, {"subj.csv": SUBJ}, {"subj": "{file: subj.csv}"},
                            {"dm": DM_YAML})
    result = map_study(spec, raw)
    assert unused(result.findings) == [("subj.csv", "HEIGHT"), ("subj.csv", "NOTE")]
    message = result.findings.loc[result.findings["variable"] == "HEIGHT", "message"].iloc[0]
    assert "table subj" in message and "not_submitted" in message
    assert len(result.domains["DM"]) == 2        # a warning: the datasets are still written


def test_declaring_the_columns_not_submitted_removes_the_findings(tmp_path):
    entry = ('{file: subj.csv, not_submitted: {HEIGHT: "screening value; VS has it", '
             'NOTE: "free-text remark of the monitor, not collected data"}}')
    spec, raw = write_study(tmp_path, {"subj.csv": SUBJ}, {"subj": entry}, {"dm": DM_YAML})
    result = map_study(spec, raw)
    assert unused(result.findings) == []
    assert load_study(spec).tables["subj"].not_submitted["HEIGHT"] == "screening value; VS has it"


def test_declaring_a_column_the_spec_reads_or_that_does_not_exist_is_a_spec_error(tmp_path):
    entry = ('{file: subj.csv, not_submitted: {HEIGHT: "in VS", NOTE: "remark", '
             'SEX: "wrongly declared", WEIGHT: "no such column"}}')
    spec, raw = write_study(tmp_path, {"subj.csv": SUBJ}, {"subj": entry}, {"dm": DM_YAML})
    with pytest.raises(SpecError) as err:
        map_study(spec, raw)
    problems = {p.location.variable: p for p in err.value.problems}
    assert set(problems) == {"SEX", "WEIGHT"}
    assert {p.rule for p in problems.values()} == {"SPEC-NOT-SUBMITTED"}
    assert "the spec reads it (DM/block 1)" in str(problems["SEX"])
    assert "no such column" in str(problems["WEIGHT"]) and "HEIGHT" in str(problems["WEIGHT"])
    assert "study.yaml:" in problems["SEX"].format()      # file and line of the declaration


def test_an_empty_reason_is_rejected_by_the_schema(tmp_path):
    spec, raw = write_study(tmp_path, {"subj.csv": SUBJ},
                            {"subj": '{file: subj.csv, not_submitted: {HEIGHT: " "}}'},
                            {"dm": DM_YAML})
    with pytest.raises(SpecError, match="not_submitted"):
        load_study(spec)


AE = ("PT,TERM,AETERM,SEV,CODE_ME\n"
      "001,Headache,IGNORED,MILD,Headache\n"
      "002,Nausea,IGNORED,SEVERE,Nausea\n")
CODING = "VERBATIM,PT_NAME,SOC,MEDDRA_VERSION,COMMENT\nHeadache,Headache,Nervous,27.0,x\n" \
         "Nausea,Nausea,Gastro,27.0,y\n"
AE_YAML = """
domain: AE
records:
  - source: ae
    join: [{table: coding, on: {CODE_ME: VERBATIM}, where: "SOC != ''"}]
    where: "SEV != ''"
    variables:
      STUDYID: S1
      DOMAIN: AE
      USUBJID: {format: "S1-{PT}"}
      AETERM: {from: TERM}
      AEDECOD: {from: PT_NAME}
      AELLT: {from: AETERM}
      AESEV: {from: SEV, codelist: AESEV}
derive:
  seq: {by: [USUBJID], order: [AETERM]}
"""


def test_shadowed_names_joins_and_dictionary_versions_are_resolved_like_the_engine(tmp_path):
    # ae: PT, TERM, SEV read; AETERM is NOT read: AELLT's `from: AETERM` reads the AETERM
    # derived just before (it shadows the raw column); CODE_ME is the join's left key.
    # coding: VERBATIM (join key), SOC (join where), PT_NAME read; MEDDRA_VERSION read by
    # the dictionary's version_column; COMMENT read by nothing.
    spec, raw = write_study(
        tmp_path, {"subj.csv": SUBJ.replace(",HEIGHT,NOTE", "").replace(",170,ok", "")
                   .replace(",182,", ""), "ae.csv": AE, "coding.csv": CODING},
        {"subj": "{file: subj.csv}", "ae": "{file: ae.csv}",
         "coding": "{file: coding.csv, lookup: true}"},
        {"dm": DM_YAML, "ae": AE_YAML},
        "dictionaries:\n  MedDRA:\n    version: '27.0'\n    version_column: "
        "{table: coding, column: MEDDRA_VERSION}\n    variables: [AE.AEDECOD]\n")
    result = map_study(spec, raw)
    assert unused(result.findings) == [("ae.csv", "AETERM"), ("coding.csv", "COMMENT")]
    assert result.domains["AE"]["AELLT"].tolist() == ["Headache", "Nausea"]   # TERM, not AETERM


def test_reference_date_sources_and_table_keys_count_as_read(tmp_path):
    dm = DM_YAML + """derive:
  reference_dates:
    DTHDTC: {earliest: {table: death, date: DTHDAT, time: DTHTIM, where: "CONF == 'Y'",
                        usubjid: "S1-{PT}"}}
"""
    spec, raw = write_study(
        tmp_path, {"subj.csv": "PT,SEX,START,ROWID\n001,F,2024-01-10,1\n",
                   "death.csv": "PT,DTHDAT,DTHTIM,CONF,CAUSE\n001,2024-05-01,10:00,Y,PD\n"},
        {"subj": "{file: subj.csv, key: [ROWID]}", "death": "{file: death.csv}"},
        {"dm": dm})
    # subj.ROWID is only the declared key; death: PT (usubjid template), DTHDAT, DTHTIM,
    # CONF read; CAUSE read by nothing
    result = map_study(spec, raw)
    assert unused(result.findings) == [("death.csv", "CAUSE")]
    assert result.domains["DM"]["DTHDTC"].tolist() == ["2024-05-01T10:00"]


def test_rule_columns_lists_every_name_a_rule_reads():
    assert rule_columns({"from": "A", "where": "B == 'x' and `IT.C` != ''"}) == {"A", "B", "IT.C"}
    assert rule_columns({"format": "{STUDY}-{PT}"}) == {"STUDY", "PT"}
    assert rule_columns({"date": "D", "time": "T", "formats": ["%d"]}) == {"D", "T"}
    assert rule_columns({"unit": {"value": "R", "unit": "U"}, "to": "{STD}", "round": "{DP}",
                         "molar_mass": 180.16}) == {"R", "U", "STD", "DP"}
    assert rule_columns({"age": {"birth": "BRTHDTC", "reference": "RFICDTC"}}) == \
        {"BRTHDTC", "RFICDTC"}
    assert rule_columns({"number": "N", "map": {"a": "b"}, "codelist": "NY"}) == {"N"}
    assert rule_columns({"duration": "ELTM"}) == {"ELTM"}
    assert rule_columns({"value": "LITERAL TEXT", "to": "kg"}) == set()


def test_unpivot_templates_name_the_raw_columns_of_every_combination():
    spec = {"test": [{"VSTESTCD": "SYSBP", "COL": "SBP"}, {"VSTESTCD": "DIABP", "COL": "DBP"}],
            "tpt": [{"N": 1}, {"N": 2}],
            "columns": {"RESULT": "{COL}_{N}", "TIME": "TIME_{N}"}}
    raw, created = unpivot_columns(spec)
    assert raw == {"SBP_1", "SBP_2", "DBP_1", "DBP_2", "TIME_1", "TIME_2"}
    assert created == {"VSTESTCD", "COL", "N", "RESULT", "TIME"}


def test_unpivot_columns_are_read_and_a_column_left_out_of_the_items_is_reported(tmp_path):
    vs = """
domain: VS
records:
  - source: vit
    unpivot:
      test: [{VSTESTCD: SYSBP, COL: SBP}, {VSTESTCD: DIABP, COL: DBP}]
      columns: {RESULT: "{COL}"}
    where: "RESULT != ''"
    variables:
      STUDYID: S1
      DOMAIN: VS
      USUBJID: {format: "S1-{PT}"}
      VSTESTCD: {from: VSTESTCD}
      VSTEST: {from: VSTESTCD, decode: VSTESTCD, codelist: VSTEST}
      VSORRES: {from: RESULT}
      VSDTC: {date: VSDAT}
derive:
  seq: {by: [USUBJID], order: [VSTESTCD]}
"""
    # SBP and DBP are read through the template, PT and VSDAT by rules; PULSE by nothing
    spec, raw = write_study(
        tmp_path, {"subj.csv": "PT,SEX,START\n001,F,2024-01-10\n",
                   "vit.csv": "PT,VSDAT,SBP,DBP,PULSE\n001,2024-01-10,120,80,64\n"},
        {"subj": "{file: subj.csv}", "vit": "{file: vit.csv}"}, {"dm": DM_YAML, "vs": vs})
    result = map_study(spec, raw)
    assert unused(result.findings) == [("vit.csv", "PULSE")]
    assert sorted(result.domains["VS"]["VSTESTCD"]) == ["DIABP", "SYSBP"]


@pytest.mark.parametrize("study", ["sorafenib_dtic", "cdiscpilot01"])
def test_the_shipped_studies_account_for_every_raw_column(study, request):
    if study == "cdiscpilot01":
        request.getfixturevalue("reference")        # skips without ../shared/reference
    folder = REPO / "mappings" / study
    with using_study(folder):
        spec = load_study(folder)
        if not spec.raw_folder.is_dir():
            pytest.skip(f"{spec.raw_folder} is absent")
        findings = Findings()
        tables = read_tables(spec, spec.raw_folder, findings)
        read = check_raw_columns(spec, tables, findings)
    assert unused(findings.frame()) == []
    if study == "sorafenib_dtic":
        # enrolment date: DS's ENTERED INTO TRIAL milestone; the lesion method: TUMETHOD
        assert read["subjects"]["ENRLDAT"] == ["DS/enrolment"]
        assert read["lesions"]["METHOD"] == ["TU/baseline lesions"]
        assert set(spec.tables["subjects"].not_submitted) == {"PATNO", "HEIGHT", "WEIGHT", "BSA"}
