"""Spec files are checked against the published JSON Schemas (specs/schemas/*.schema.json)."""
from __future__ import annotations

import json
import textwrap

import pytest
from jsonschema import Draft202012Validator

from cdisc_convert.adam.config import load_adam_config
from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.specschema import SCHEMAS, check_document, schema_path
from cdisc_convert.core.yamlio import load_yaml, parse_yaml
from cdisc_convert.sdtm.spec import NOT_DOMAIN_FILES, load_study

STUDY = "study: S1\nraw:\n  tables:\n    subj: {file: subj.csv}\n"
DM = """\
domain: DM
records:
  - source: subj
    variables:
      STUDYID: S1
      USUBJID: {format: "S1-{PT}"}
"""


def make(tmp_path, study=STUDY, **domains):
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "study.yaml").write_text(study)
    for name, text in (domains or {"dm": DM}).items():
        (spec / f"{name}.yaml").write_text(textwrap.dedent(text))
    return spec


def problems(err: SpecError) -> list[SpecError]:
    return getattr(err, "problems", None) or [err]


@pytest.mark.parametrize("name", SCHEMAS)
def test_schemas_are_valid_draft_2020_12(name):
    schema = json.loads(schema_path(name).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("study", ["sorafenib_dtic", "cdiscpilot01"])
def test_bundled_specs_conform(repo, study):
    folder = repo / "mappings" / study
    assert check_document(load_yaml(folder / "study.yaml"), "study") == []
    for path in folder.glob("*.yaml"):
        if path.name not in NOT_DOMAIN_FILES:
            assert check_document(load_yaml(path), "domain") == [], path
    assert check_document(load_yaml(folder / "adam.yaml"), "adam") == []
    if (folder / "report.yaml").is_file():
        assert check_document(load_yaml(folder / "report.yaml"), "report") == []


def test_unknown_rule_key_names_file_line_and_schema(tmp_path):
    spec = make(tmp_path, dm=DM + "      SEX: {from: SEX, decimals: 2}\n")
    with pytest.raises(SpecError) as err:
        load_study(spec)
    assert err.value.rule == "SPEC-KEY"
    assert err.value.location.file == f"{spec / 'dm.yaml'}:7"
    assert "records[0].variables.SEX.decimals" in err.value.message
    assert "domain.schema.json#/" in err.value.message


@pytest.mark.parametrize("text, key", [
    (DM + "keep: [USUBJID]\n", "keep"),
    (DM + "description: demographics\n", "description"),
    (DM + "derive:\n  flag_death: true\n", "flag_death"),
    (DM + "      AGE: {age: {birth: B, reference: R}, reference: R}\n", "reference"),
    (DM.replace("  - source: subj\n", "  - source: subj\n    join: {table: subj, on: PT, how: inner}\n"),
     "how"),
])
def test_keys_that_were_accepted_but_never_read_are_rejected(tmp_path, text, key):
    spec = make(tmp_path, dm=text)
    with pytest.raises(SpecError) as err:
        load_study(spec)
    assert err.value.rule == "SPEC-KEY"
    assert err.value.message.startswith("unknown key") and key in err.value.message


def test_study_usubjid_is_rejected(tmp_path):
    spec = make(tmp_path, study=STUDY + "usubjid: '{STUDY}-{PT}'\n")
    with pytest.raises(SpecError) as err:
        load_study(spec)
    assert err.value.rule == "SPEC-KEY" and "usubjid" in err.value.message


@pytest.mark.parametrize("snippet, words", [
    ("      SEX: {from: SEX, length: abc}\n", "must be a whole number, not text ('abc')"),
    ("      SEX: {from: [SEX]}\n", "must be text, not a list"),
    ("      SEX: {from: SEX, transform: shout}\n", "allowed: upper, lower"),
    ("      SEX: {date: D, to: mm}\n", "`to:` needs `unit:`"),
])
def test_wrong_shapes(tmp_path, snippet, words):
    spec = make(tmp_path, dm=DM + snippet)
    with pytest.raises(SpecError) as err:
        load_study(spec)
    assert err.value.rule == "SPEC-SCHEMA"
    assert words in err.value.message
    assert err.value.location.file == f"{spec / 'dm.yaml'}:7"


def test_a_list_where_a_mapping_belongs(tmp_path):
    spec = make(tmp_path, study="study: S1\nraw:\n  tables:\n    - subj.csv\n")
    with pytest.raises(SpecError) as err:
        load_study(spec)
    assert err.value.rule == "SPEC-SCHEMA"
    assert "raw.tables must be a mapping (key: value), not a list" in err.value.message
    assert err.value.location.file.endswith("study.yaml:3")


def test_all_problems_of_all_files_are_reported_together(tmp_path):
    bad_dm = DM + "      SEX: {from: SEX, decimals: 2}\n      AGE: {number: AGE, length: x}\n"
    ae = "domain: AE\nrecords:\n  - source: nope\n    variables: {AETERM: {from: T, value: x}}\n"
    spec = make(tmp_path, study=STUDY + "usubjid: x\n", dm=bad_dm, ae=ae)
    with pytest.raises(SpecError) as err:
        load_study(spec)
    rules = sorted(p.rule for p in problems(err.value))
    # study.yaml: unknown key; dm.yaml: unknown key + wrong type; ae.yaml: two producers
    # (table references are checked only once study.yaml itself is valid)
    assert rules == ["SPEC-KEY", "SPEC-KEY", "SPEC-RULE", "SPEC-SCHEMA"]
    assert err.value.rule == "SPEC-PROBLEMS"
    text = err.value.format()
    assert text.count("\n  - ") == 4
    assert "ae.yaml:4" in text and "study.yaml:5" in text and "dm.yaml:8" in text


def test_problems_in_several_domain_files_and_references_together(tmp_path):
    ae = "domain: AE\nrecords:\n  - source: nope\n    variables: {AETERM: {from: T, value: x}}\n"
    spec = make(tmp_path, dm=DM + "      SEX: {from: SEX, decimals: 2}\n", ae=ae)
    with pytest.raises(SpecError) as err:
        load_study(spec)
    found = sorted((p.rule, p.location.file.rsplit("/", 1)[1]) for p in problems(err.value))
    assert found == [("SPEC-KEY", "dm.yaml:7"), ("SPEC-RULE", "ae.yaml:4"),
                     ("SPEC-TABLE", "ae.yaml:3")]


def test_adam_all_problems_together_with_lines(tmp_path):
    (tmp_path / "adam.yaml").write_text("sd_min_days: -1\nflag_death: true\n"
                                        "dcr: {criterion: WHO}\nagegr1: [18, 65]\n")
    with pytest.raises(SpecError) as err:
        load_adam_config(tmp_path)
    found = {(p.rule, p.location.file.rsplit(":", 1)[1]) for p in problems(err.value)}
    assert found == {("SPEC-SCHEMA", "1"), ("SPEC-KEY", "2"), ("SPEC-SCHEMA", "4")}


def test_adam_cross_key_problems_together(tmp_path):
    (tmp_path / "adam.yaml").write_text("dcr: {criterion: WHO}\ntte_criterion: IRC\n")
    with pytest.raises(SpecError) as err:
        load_adam_config(tmp_path)
    assert [p.location.file.rsplit(":", 1)[1] for p in problems(err.value)] == ["1", "2"]


def test_check_document_gives_one_problem_per_unknown_key():
    doc = parse_yaml("domain: DM\nrows: []\nkep: 1\ndescripton: x\n", "dm.yaml")
    found = check_document(doc, "domain")
    assert [(p.rule, p.location.file) for p in found] == [("SPEC-KEY", "dm.yaml:3"),
                                                         ("SPEC-KEY", "dm.yaml:4")]
