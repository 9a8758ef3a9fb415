"""The spec expression language: an allow-list over Python's AST, evaluated vectorised."""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main
from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.expr import compile_expression, where_mask

FRAME = pd.DataFrame({
    "SEX": ["F", "M", "", "f"],
    "AGE": ["45", "7", "", "abc"],              # raw text
    "DOSE": [100.0, np.nan, 0.0, 250.5],        # numeric column
    "IT.DSDECOD": ["Randomized", "", "Randomized", "Other"],
    "VISIT": ["Unscheduled 1", "Week 2", "", "UNSCHEDULED"],
    "DTC": ["2014-01-02", "2013-12-31", "", "2014-01-02T10:00"],
})


def mask(expr: str) -> list[bool]:
    return where_mask(expr, FRAME).tolist()


@pytest.mark.parametrize("expr, expected", [
    ("SEX == 'F'", [True, False, False, False]),
    ("SEX != ''", [True, True, False, True]),
    ("upper(SEX) == 'F'", [True, False, False, True]),
    ("lower(strip(SEX)) in ['f']", [True, False, False, True]),
    ("SEX not in ('F', 'M')", [False, False, True, True]),
    ("AGE > 10", [True, False, False, False]),           # text compared as numbers
    ("AGE == 45", [True, False, False, False]),
    ("AGE != 45", [False, True, True, True]),            # missing / not a number: unequal
    ("number(AGE) >= 7", [True, True, False, False]),
    ("1 <= number(AGE) < 10", [False, True, False, False]),
    ("DOSE > 100", [False, False, False, True]),
    ("DOSE == '0'", [False, False, True, False]),        # numeric column vs text literal
    ("DOSE * 2 + 1 > 200", [True, False, False, True]),
    ("-DOSE < -200", [False, False, False, True]),
    ("DOSE / 0 > 1", [False, False, False, False]),      # x / 0 is missing, not infinity
    ("DOSE in [0, 100]", [True, False, True, False]),
    ("isnull(DOSE)", [False, True, False, False]),
    ("isnull(SEX)", [False, False, True, False]),
    ("notnull(SEX) and not isnull(DOSE)", [True, False, False, True]),
    ("SEX == 'F' or DOSE > 200", [True, False, False, True]),
    ("`IT.DSDECOD` == 'Randomized'", [True, False, True, False]),
    ("startswith(VISIT, 'Unscheduled')", [True, False, False, False]),
    ("startswith(upper(VISIT), 'UNSCHEDULED')", [True, False, False, True]),
    ("endswith(VISIT, '2')", [False, True, False, False]),
    ("contains(VISIT, '.*')", [False, False, False, False]),   # literal text, not a pattern
    ("len(SEX) == 1", [True, True, False, True]),
    ("DTC >= '2014-01-01'", [True, False, False, True]),  # ISO text compares as text
    ("True", [True, True, True, True]),
    ("SEX == \"`not a name`\"", [False, False, False, False]),
])
def test_semantics(expr, expected):
    assert mask(expr) == expected


@pytest.mark.parametrize("expr, construct", [
    ("SEX.__class__", "attribute access"),
    ("SEX.str.startswith('F')", "attribute access"),
    ("__import__('os').system('true')", "attribute access"),
    ("__import__('os')", "a call to __import__"),
    ("eval('1')", "a call to eval"),
    ("open('/etc/passwd')", "a call to open"),
    ("SEX[0] == 'F'", "a subscript"),
    ("(lambda: 1)()", "a call to"),
    ("[x for x in SEX]", "a comprehension"),
    ("f'{SEX}' == 'F'", "an f-string"),
    ("(x := 1)", "an assignment"),
    ("SEX in [*SEX]", "a non-literal item"),
    ("SEX in SEX", "`in` with something other than a literal list"),
    ("DOSE ** 2 > 1", "the operator **"),
    ("DOSE // 2 > 1", "the operator //"),
    ("DOSE @ DOSE", "the operator @"),
    ("SEX is None", "the operator is"),
    ("SEX if DOSE else AGE", "a conditional expression"),
    ("{'a': 1}", "a dict"),
    ("_SEX == 'F'", "the name '_SEX'"),
    ("upper(SEX, 'x')", "upper() with 2 argument(s)"),
    ("startswith(SEX, VISIT)", "not a text literal"),
    ("upper(x=SEX)", "keyword arguments"),
    ("b'x' == SEX", "the literal b'x'"),
])
def test_refused_constructs_name_the_construct(expr, construct):
    with pytest.raises(SpecError) as err:
        compile_expression(expr, file="dm.yaml", line=7)
    assert err.value.rule == "SPEC-EXPR"
    assert construct in err.value.message
    assert err.value.location.file == "dm.yaml:7"


@pytest.mark.parametrize("expr", ["@pd.io.common.os.system('x')", "SEX ==", "`SEX == 'F'",
                                  "SEX = 'F'", "import os", ""])
def test_not_an_expression(expr):
    with pytest.raises(SpecError) as err:
        compile_expression(expr, file="dm.yaml", line=3)
    assert err.value.rule == "SPEC-EXPR"


@pytest.mark.parametrize("expr, words", [
    ("SEX", "gives text"), ("DOSE + 1", "gives numbers"), ("'x'", "gives text"),
    ("SEX and DOSE > 1", "needs true/false"), ("not SEX", "needs true/false"),
])
def test_a_where_must_be_boolean(expr, words):
    with pytest.raises(SpecError) as err:
        where_mask(compile_expression(expr, file="dm.yaml", line=2), FRAME)
    assert err.value.rule == "SPEC-EXPR-TYPE" and words in err.value.message
    assert err.value.location.file == "dm.yaml:2"


def test_unknown_column():
    with pytest.raises(SpecError) as err:
        where_mask("NOPE == 1", FRAME)
    assert err.value.rule == "SPEC-EXPR-COLUMN" and "'NOPE'" in err.value.message


def test_expression_is_its_text():
    expr = compile_expression("SEX == 'F'", file="x.yaml", line=1)
    assert expr == "SEX == 'F'" and f"{expr}" == "SEX == 'F'"
    assert compile_expression("`IT.X` == upper(SEX)").columns() == {"IT.X", "SEX"}


def test_vectorised_on_a_large_frame():
    big = pd.DataFrame({"A": np.arange(1_000_000).astype(str), "B": "x"})
    result = where_mask("number(A) > 10 and B == 'x'", big)
    assert int(result.sum()) == 1_000_000 - 11


EXPLOITS = [
    "__import__('os').system('touch {marker}')",
    "SUBJ.__class__.__mro__[1].__subclasses__()",
    "@pd.io.common.os.system('touch {marker}')",
    "SUBJ.str.cat(__import__('os').popen('touch {marker}').read())",
    "`SUBJ`.__class__ == 1",
]


@pytest.mark.parametrize("where", EXPLOITS)
def test_old_exploits_are_spec_errors_and_write_nothing(tmp_path, where):
    marker = tmp_path / "pwned"
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "subj.csv").write_text("SUBJ,SEX\n1,F\n")
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "study.yaml").write_text("study: S1\nraw:\n  tables:\n    subj: {file: subj.csv}\n")
    (spec / "dm.yaml").write_text(textwrap.dedent(f"""\
        domain: DM
        records:
          - source: subj
            where: "{where.format(marker=marker)}"
            variables:
              STUDYID: S1
              DOMAIN: DM
              USUBJID: {{format: "S1-{{SUBJ}}"}}
        """))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sdtm", str(spec), "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "SPEC-EXPR" in result.output
    assert "dm.yaml:4" in result.output
    assert not marker.exists()
    assert not out.exists() or not any(out.iterdir())


def test_datetime_columns_read_as_iso_text():
    # ADaM dates are datetime64 columns: missing is blank, and they compare with ISO text in
    # time order like an SDTM --DTC (date alone at midnight, date and time otherwise)
    frame = pd.DataFrame({
        "TRTSDT": pd.to_datetime(["2014-01-02", None, "2013-12-31"]),
        "TRTSDTM": pd.to_datetime(["2014-01-02T08:30:00", None, "2014-01-02T00:00:00"],
                                  format="ISO8601"),
    })
    assert where_mask("notnull(TRTSDT)", frame).tolist() == [True, False, True]
    assert where_mask("TRTSDT >= '2014-01-01'", frame).tolist() == [True, False, False]
    assert where_mask("TRTSDT == '2013-12-31'", frame).tolist() == [False, False, True]
    assert where_mask("TRTSDTM > '2014-01-02T08:00'", frame).tolist() == [True, False, False]
