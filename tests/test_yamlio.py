"""The strict spec YAML loader: YAML 1.2 scalars, duplicate keys, aliases, bad files."""
from __future__ import annotations

import os
import resource
import sys

import pytest

from cdisc_convert.core import yamlio
from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.yamlio import load_yaml, load_yaml_list, parse_yaml


@pytest.fixture(autouse=True, params=["libyaml", "python"])
def parser(request, monkeypatch):
    """Every test runs with libyaml's parser (the one used where PyYAML has it) and with
    PyYAML's pure-Python one: the strict rules hold the same with both."""
    if request.param == "python":
        monkeypatch.setattr(yamlio, "CParser", None)
    elif yamlio.CParser is None:
        pytest.skip("PyYAML built without libyaml")
    return request.param


@pytest.mark.parametrize("text, expected", [
    ("NO", "NO"), ("no", "no"), ("yes", "yes"), ("Yes", "Yes"), ("on", "on"), ("off", "off"),
    ("y", "y"), ("n", "n"), ("true", True), ("False", False), ("TRUE", True),
    ("010", "010"), ("0", 0), ("10", 10), ("-3", -3), ("+4", 4), ("1.5", 1.5), ("1e3", 1000.0),
    ("0.25", 0.25), (".5", 0.5), ("0x1F", "0x1F"), ("0o17", "0o17"), ("1:20", "1:20"),
    ("2014-01-01", "2014-01-01"), (".inf", ".inf"), (".nan", ".nan"), ("~", None),
    ("null", None), ("", None), ("'010'", "010"), ('"true"', "true"), ("1_000", "1_000"),
    ("01.5", "01.5"), ("+", "+"), (".", "."),
])
def test_scalars_follow_yaml_12_core(text, expected):
    value = parse_yaml(f"k: {text}\n").data["k"]
    assert value == expected and type(value) is type(expected)


def test_on_as_a_key_stays_on():
    assert parse_yaml("on: [A]\nyes: 1\n").data == {"on": ["A"], "yes": 1}


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path):
    path = tmp_path / "dm.yaml"
    path.write_text("domain: DM\nvariables:\n  SEX: {from: SEX}\n  AGE: {from: AGE}\n"
                    "  SEX: {value: F}\n")
    with pytest.raises(SpecError) as err:
        load_yaml(path)
    assert err.value.rule == "SPEC-YAML-DUPLICATE"
    assert err.value.location.file == f"{path}:5"
    assert "first on line 3" in err.value.message


def test_duplicate_key_in_flow_mapping():
    with pytest.raises(SpecError, match="duplicate key 'a'"):
        parse_yaml("x: {a: 1, a: 2}\n")


def test_alias_bomb_is_refused_without_growing_memory():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, prev in zip("bcdefghi", "abcdefgh"):
        lines.append(f"{i}: &{i} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = "\n".join(lines) + "\n"
    assert len(bomb) < 1100
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SpecError) as err:
        parse_yaml(bomb)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert err.value.rule == "SPEC-YAML-ALIAS"
    assert (after - before) * (1 if sys.platform != "darwin" else 1 / 1024) < 50_000  # < 50 MB


def test_a_lone_alias_is_refused_with_its_line():
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\nb: *x\n", "s.yaml")
    assert err.value.rule == "SPEC-YAML-ALIAS" or err.value.rule == "SPEC-YAML"
    assert err.value.location.file == "s.yaml:2"


def test_anchor_is_refused():
    with pytest.raises(SpecError) as err:
        parse_yaml("a: &x 1\n")
    assert err.value.rule == "SPEC-YAML-ALIAS"


@pytest.mark.parametrize("text", ["a: !!python/object/apply:os.system [echo hi]\n",
                                  "a: !!int 5\n", "a: !!set {x}\n", "a: !custom x\n"])
def test_tags_are_refused(text):
    with pytest.raises(SpecError) as err:
        parse_yaml(text)
    assert err.value.rule == "SPEC-YAML-TAG"


def test_not_utf8_names_file_and_line(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_bytes(b"study: X\ndescription: caf\xe9\n")
    with pytest.raises(SpecError) as err:
        load_yaml(path)
    assert err.value.rule == "SPEC-ENCODING"
    assert err.value.location.file == f"{path}:2"


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_bytes(b"\xef\xbb\xbfstudy: X\n")
    assert load_yaml(path).data == {"study": "X"}


def test_folder_named_yaml(tmp_path):
    (tmp_path / "x.yaml").mkdir()
    with pytest.raises(SpecError) as err:
        load_yaml(tmp_path / "x.yaml")
    assert err.value.rule == "SPEC-READ" and "folder" in err.value.message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_named_pipe_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "x.yaml")
    with pytest.raises(SpecError) as err:
        load_yaml(tmp_path / "x.yaml")
    assert err.value.rule == "SPEC-READ"


def test_missing_file(tmp_path):
    with pytest.raises(SpecError) as err:
        load_yaml(tmp_path / "none.yaml")
    assert err.value.rule == "SPEC-MISSING"


def test_syntax_error_names_line():
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\nb: [1, 2\nc: 3\n", "s.yaml")
    assert err.value.rule == "SPEC-YAML"
    assert err.value.location.file.startswith("s.yaml:")


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(SpecError) as err:
        parse_yaml("a: " + "[" * 20000 + "]" * 20000 + "\n")
    assert err.value.rule == "SPEC-YAML"


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "dm.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(SpecError) as err:
        load_yaml(path)
    assert err.value.rule == "SPEC-SHAPE"


def test_empty_file_is_an_empty_mapping(tmp_path):
    path = tmp_path / "adam.yaml"
    path.write_text("# nothing\n")
    assert load_yaml(path).data == {}


def test_lines_of_keys_and_items():
    doc = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n", "s.yaml")
    assert doc.line(("a",)) == 1
    assert doc.line(("a", "b")) == 2
    assert doc.line(("a", "c", 1)) == 5
    assert doc.line(("a", "c", 1, "d")) == 5
    assert doc.line(("a", "nope")) == 1
    assert doc.at(("a", "c", 0)) == "s.yaml:4"


def test_multiple_documents_are_an_error():
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\n---\nb: 2\n")
    assert err.value.rule == "SPEC-YAML"


@pytest.mark.parametrize("text", ["other: [1]\n", "rows: []\n", "rows: a row\n", "rows:\n"])
def test_a_table_without_its_list_is_a_spec_error_naming_the_file(tmp_path, text):
    path = tmp_path / "table.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match="the table needs a non-empty list 'rows'") as err:
        load_yaml_list(path, "rows", what="the table", rule="a-rule")
    assert err.value.rule == "a-rule" and "table.yaml" in str(err.value)


def test_the_standards_tables_open_with_it(tmp_path):
    from cdisc_convert.standards.ctcae import criteria
    from cdisc_convert.standards.response import response_table

    path = tmp_path / "t.yaml"
    path.write_text("rows: [{overall: PR}]\ncriteria: []\n")
    assert load_yaml_list(path, "rows", what="t", rule="r") == [{"overall": "PR"}]
    assert response_table(path)[0].overall == "PR"
    with pytest.raises(SpecError, match="the CTCAE file needs a non-empty list 'criteria'"):
        criteria(path)
    other = tmp_path / "u.yaml"           # (both loaders cache by path)
    other.write_text("criteria: [x]\n")
    with pytest.raises(SpecError, match="the response table needs a non-empty list 'rows'"):
        response_table(other)


@pytest.mark.parametrize("parser", ["both"])     # not run once per parser
def test_libyaml_is_used_where_pyyaml_has_it(parser):
    import yaml

    assert (yamlio.CParser is not None) == yaml.__with_libyaml__


@pytest.mark.parametrize("parser", ["both"])
def test_both_parsers_read_every_shipped_spec_alike(parser):
    """The data and the line of every key and item of every YAML file the package ships
    (the study mappings, the standards' tables) are the same from either parser."""
    from pathlib import Path

    root = Path(yamlio.__file__).resolve().parents[2]
    files = sorted(p for folder in ("mappings", "specs") for p in (root / folder).rglob("*.yaml"))
    assert len(files) > 20
    if yamlio.CParser is None:
        pytest.skip("PyYAML built without libyaml")
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = parse_yaml(text, path)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(yamlio, "CParser", None)
            slow = parse_yaml(text, path)
        assert (fast.data, fast.lines) == (slow.data, slow.lines), path
