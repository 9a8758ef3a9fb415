"""Spec regular expressions run on RE2: linear time, clear errors for what RE2 refuses."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.regex import compile_pattern
from cdisc_convert.sdtm.findings import Findings
from cdisc_convert.sdtm.variable_rules import Context, Env, evaluate_variable


def test_catastrophic_backtracking_pattern_is_fast():
    compiled = compile_pattern(r"(a+)+$")
    start = time.perf_counter()
    assert compiled.search("a" * 50 + "b") is None
    assert compiled.search("a" * 100_000 + "b") is None
    assert time.perf_counter() - start < 1.0        # Python's re needs ~2**50 steps


def test_extract_rule_with_a_hostile_pattern_finishes_and_reports(tmp_path):
    frame = pd.DataFrame({"V": ["a" * 50 + "b", "aaa"], "__table": "t", "__row": [1, 2]})
    ctx = Context(Findings(), "DM", "dm.yaml", {})
    start = time.perf_counter()
    values = evaluate_variable("X", [{"from": "V", "extract": r"^(a+)+$"}], Env(frame), ctx)
    assert time.perf_counter() - start < 2.0
    assert values.tolist() == ["", "aaa"]     # as Python re gives for the group
    found = ctx.findings.frame()
    assert found["rule"].tolist() == ["MAP-EXTRACT"] and found["row"].tolist() == [1]


@pytest.mark.parametrize("pattern, words", [
    (r"(a)\1", "invalid escape"), (r"(?=a)b", "perl operator"), (r"(?<=a)b", "perl operator"),
    ("(", "missing )"), ("a{1001}", "repetition"),
])
def test_patterns_re2_cannot_compile(pattern, words):
    with pytest.raises(SpecError) as err:
        compile_pattern(pattern, file="ds.yaml", line=29)
    assert err.value.rule == "SPEC-REGEX" and words in err.value.message
    assert err.value.location.file == "ds.yaml:29"


def test_extract_groups_like_before():
    assert compile_pattern(r"^\d+-(\d+)$").search("701-1015").group(1) == "1015"
    assert compile_pattern(r"\d+").search("ab 12 c").group(0) == "12"
