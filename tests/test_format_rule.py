"""``format:`` rules fill their template once per distinct combination of field values
(sdtm.variable_rules); hand-checked values on both routes."""
from __future__ import annotations

import pandas as pd

from cdisc_convert.sdtm.findings import Findings
from cdisc_convert.sdtm.variable_rules import Context, Env, evaluate_variable


def _evaluate(frame: pd.DataFrame, template: str) -> pd.Series:
    ctx = Context(Findings(), "DM", "dm.yaml", {})
    return evaluate_variable("USUBJID", [{"format": template}], Env(frame), ctx)


def test_repeated_combinations_are_filled_once_and_share_one_string():
    frame = pd.DataFrame({"STUDY": ["S1"] * 6, "SUBJ": ["001", "001", " 002 ", "001", "002", ""]},
                         index=[10, 11, 12, 13, 14, 15])
    result = _evaluate(frame, "{STUDY}-{SUBJ}/x")
    assert result.tolist() == ["S1-001/x", "S1-001/x", "S1-002/x", "S1-001/x", "S1-002/x",
                               "S1-/x"]
    assert result.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert result.iloc[0] is result.iloc[3]


def test_mostly_distinct_rows_are_concatenated_row_by_row():
    frame = pd.DataFrame({"A": ["a", "b", "c"], "B": ["1", "2", "3 "]})
    assert _evaluate(frame, "<{A}{B}>").tolist() == ["<a1>", "<b2>", "<c3>"]


def test_a_template_without_fields_and_an_empty_frame():
    frame = pd.DataFrame({"A": ["a", "b"]})
    assert _evaluate(frame, "CONST").tolist() == ["CONST", "CONST"]
    assert _evaluate(frame.iloc[:0], "{A}!").tolist() == []


def test_one_field_with_literals_around_it_and_escaped_braces():
    frame = pd.DataFrame({"A": [" 7", "8", None, "7"]})
    assert _evaluate(frame, "{A}").tolist() == ["7", "8", "", "7"]
    assert _evaluate(frame, "x{{y{A}}}z").tolist() == ["x{y7}z", "x{y8}z", "x{y}z", "x{y7}z"]
    assert _evaluate(frame, "S-{A}").tolist() == ["S-7", "S-8", "S-", "S-7"]
