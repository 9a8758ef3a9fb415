"""Variable rules evaluated per distinct value and with remembered where-masks
(sdtm.variable_rules): hand-checked values on tiny tables, including the cases the short
cuts must not change (a where re-read after a variable it uses is set, numbers and text from
one variable's rules, blanks, missing values and non-numbers)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.sdtm.findings import Findings
from cdisc_convert.sdtm.variable_rules import Context, Env, as_text, evaluate_variable, text_codes


def _ctx() -> Context:
    return Context(Findings(), "LB", "lb.yaml", {})


def test_a_where_is_evaluated_again_once_a_variable_it_reads_is_set():
    env = Env(pd.DataFrame({"X": ["a", "b", "a"]}))
    ctx = _ctx()
    rule = [{"value": "Y", "where": "X == 'a'"}]
    assert evaluate_variable("F", rule, env, ctx).tolist() == ["Y", "", "Y"]
    env.set("X", pd.Series(["b", "a", "b"]))       # a derived X shadows the raw one
    assert evaluate_variable("F", rule, env, ctx).tolist() == ["", "Y", ""]
    env.set("OTHER", pd.Series(["a", "a", "a"]))   # a variable the where does not read
    assert evaluate_variable("F", rule, env, ctx).tolist() == ["", "Y", ""]


def test_float_rules_for_parts_of_the_rows_give_floats_and_nan_elsewhere():
    env = Env(pd.DataFrame({"V": ["1.5", "2", "x", ""], "K": ["a", "b", "c", "a"]}))
    ctx = _ctx()
    rules = [{"number": "V", "where": "K == 'a'"}, {"number": "V", "where": "K == 'b'"}]
    result = evaluate_variable("N", rules, env, ctx)
    assert result.dtype == np.float64
    assert result.tolist()[:2] == [1.5, 2.0] and np.isnan(result.iloc[2:]).all()
    assert ctx.findings.frame().empty


def test_text_after_numbers_in_one_variable_is_read_as_a_number_or_missing():
    env = Env(pd.DataFrame({"V": ["1.5", "7", "x"], "K": ["a", "b", "c"]}))
    rules = [{"number": "V", "where": "K == 'a'"}, {"value": "12"}]
    result = evaluate_variable("N", rules, env, _ctx())
    assert result.tolist() == [1.5, 12.0, 12.0]
    rules = [{"number": "V", "where": "K == 'a'"}, {"from": "V", "where": "K == 'c'"}]
    result = evaluate_variable("N", rules, env, _ctx())
    assert result.iloc[0] == 1.5 and np.isnan(result.iloc[1]) and np.isnan(result.iloc[2])


def test_number_rule_keeps_whole_numbers_integral_without_blanks_and_reports_bad_text():
    ctx = _ctx()
    whole = evaluate_variable("N", [{"number": "V"}], Env(pd.DataFrame({"V": ["3", " 4", "3"]})),
                              ctx)
    assert whole.dtype == np.int64 and whole.tolist() == [3, 4, 3]
    frame = pd.DataFrame({"V": ["3", None, "", "inf", "abc", "2,5"],
                          "__table": "t.csv", "__row": range(2, 8)})
    numbers = evaluate_variable("N", [{"number": "V"}], Env(frame), ctx)
    assert numbers.dtype == np.float64
    assert numbers.iloc[0] == 3.0 and numbers.iloc[1:].isna().all()
    found = ctx.findings.frame()
    assert found["rule"].unique().tolist() == ["MAP-NUMBER"]
    assert found["row"].tolist() == [5, 6, 7] and found["value"].tolist() == ["inf", "abc", "2,5"]


def test_decimal_comma_numbers():
    frame = pd.DataFrame({"V": ["36,6", "1.234", "", "7"], "__table": "t.csv",
                          "__row": range(2, 6)})
    ctx = _ctx()
    numbers = evaluate_variable("N", [{"number": "V", "decimal": ","}], Env(frame), ctx)
    assert numbers.iloc[0] == 36.6 and np.isnan(numbers.iloc[1]) and np.isnan(numbers.iloc[2])
    assert numbers.iloc[3] == 7.0
    assert ctx.findings.frame()["value"].tolist() == ["1.234"]


def test_codelist_flags_unknown_terms_but_not_blanks():
    frame = pd.DataFrame({"U": ["mg", "", "furlongs", "mg", None], "__table": "t.csv",
                          "__row": range(2, 7)})
    ctx = _ctx()
    values = evaluate_variable("LBORRESU", [{"from": "U", "codelist": "UNIT"}], Env(frame), ctx)
    assert values.tolist() == ["mg", "", "FURLONGS", "mg", ""]
    found = ctx.findings.frame()
    assert found["value"].tolist() == ["furlongs"] and \
        found["rule"].tolist() == ["CT-EXTENSIBLE"]


def test_text_codes_is_as_text_by_codes():
    series = pd.Series([" a", None, "b ", "a", ""], dtype=object)
    codes, texts = text_codes(series)
    assert texts[codes].tolist() == ["a", "", "b", "a", ""]
    assert sorted(texts.tolist()) == ["", "a", "b"]        # " a" and "a" made one text
    codes, texts = text_codes(pd.Series([5.0, np.nan, 2.5, 5.0]))
    assert texts[codes].tolist() == ["5", "", "2.5", "5"] and len(texts) == 3
    codes, texts = text_codes(pd.Series([], dtype=object))
    assert codes.size == 0 and texts.size == 0


def test_as_text_by_object_keeps_clean_shared_text_and_strips_the_rest():
    clean = pd.Series(np.array(["a", "b"], dtype=object).take([0, 1, 1, 0]), name="X")
    out = as_text(clean)
    assert out.tolist() == ["a", "b", "b", "a"] and out.name is None
    assert all(o is c for o, c in zip(out, clean))       # the very objects, not copies
    padded = pd.Series(np.array([" a", "b "], dtype=object).take([0, 1, 0]))
    assert as_text(padded).tolist() == ["a", "b", "a"]
    mixed = pd.Series([" a", None, 5, np.nan, "b"], dtype=object)
    assert as_text(mixed).tolist() == ["a", "", "5", "", "b"]
    # one object per row in a large column: the values route, same texts
    many = pd.Series([f" v{i % 7}" for i in range(50_000)], dtype=object)
    assert as_text(many).tolist() == [f"v{i % 7}" for i in range(50_000)]
