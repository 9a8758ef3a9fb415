"""Hostile spec files: each case gives one exact spec-error class (rule), under a timeout.

Part of the hostile-input corpus of issue 11 ("Specs are data, not code"): non-UTF-8 YAML,
folders and pipes named *.yaml, duplicate keys, alias bombs, YAML 1.1 scalars, tags, unknown
keys, wrong shapes, non-boolean ``where``, derivations over unknown variables, regular
expressions RE2 refuses, and the old code-execution exploits. No case may give a traceback,
hang, or write a file.
"""
from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdisc_convert.adam.config import apply_where, load_adam_config
from cdisc_convert.cli import main
from cdisc_convert.core.errors import CdiscError, SpecError
from cdisc_convert.sdtm.engine import map_study
from cdisc_convert.sdtm.spec import load_study

TIMEOUT_S = 20

SUBJ = "SUBJ,SEX,AGE,VIS,DAT,NAME\n1,F,45,Week 2,2014-01-02,a b\n2,M,7,Week 3,2014-01-09,c d\n"
STUDY = """\
study: S1
raw:
  tables:
    subj: {file: subj.csv, key: [SUBJ]}
"""
DM = """\
domain: DM
records:
  - source: subj
    variables:
      STUDYID: S1
      DOMAIN: DM
      USUBJID: {format: "S1-{SUBJ}"}
      SUBJID: {from: SUBJ}
      SEX: {from: SEX}
"""
ADAM_OK = "sd_min_days: 42\n"


@pytest.fixture(autouse=True)
def _timeout():
    """Fail (never hang) a case that runs longer than TIMEOUT_S seconds."""
    def expired(signum, frame):
        raise TimeoutError(f"case took more than {TIMEOUT_S} s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TIMEOUT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def build(tmp_path: Path, files: dict) -> tuple[Path, Path]:
    """A study folder from ``files`` (name -> text, bytes, "<dir>" or "<fifo>")."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "subj.csv").write_text(SUBJ)
    spec = tmp_path / "spec"
    spec.mkdir()
    merged = {"study.yaml": STUDY, "dm.yaml": DM, "adam.yaml": ADAM_OK, **files}
    for name, content in merged.items():
        path = spec / name
        if content is None:
            continue
        if content == "<dir>":
            path.mkdir()
        elif content == "<fifo>":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
    return spec, raw


def rules_of(err: CdiscError) -> set[str]:
    return {p.rule for p in (getattr(err, "problems", None) or [err])}


def run_case(tmp_path, files, action):
    spec, raw = build(tmp_path, files)
    if action == "load":
        load_study(spec)
    elif action == "map":
        map_study(spec, raw)
    elif action == "adam":
        load_adam_config(spec / "adam.yaml")
    else:
        raise AssertionError(action)


def dm_with(extra_variables: str = "", block: str = "", top: str = "") -> str:
    text = DM.replace("  - source: subj\n", "  - source: subj\n" + block)
    return text + extra_variables + top


BOMB = ('a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        + "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n"
                  for c, p in zip("bcdefghi", "abcdefgh")))

CASES = {
    # -- the file itself ----------------------------------------------------------------
    "dm not utf8": ({"dm.yaml": DM.encode() + b"      COUNTRY: Espa\xf1a\n"}, "load", "SPEC-ENCODING"),
    "study not utf8": ({"study.yaml": b"study: S\xe91\n" + STUDY.encode()[9:]}, "load", "SPEC-ENCODING"),
    "adam not utf8 (utf-16)": ({"adam.yaml": "sd_min_days: 42\n".encode("utf-16")}, "adam", "SPEC-ENCODING"),
    "folder named ae.yaml": ({"ae.yaml": "<dir>"}, "load", "SPEC-READ"),
    "folder named study.yaml": ({"study.yaml": "<dir>"}, "load", "SPEC-READ"),
    "folder named adam.yaml": ({"adam.yaml": "<dir>"}, "adam", "adam-config"),
    "pipe named ae.yaml": ({"ae.yaml": "<fifo>"}, "load", "SPEC-READ"),
    "pipe named adam.yaml": ({"adam.yaml": "<fifo>"}, "adam", "SPEC-READ"),
    "file over 5 MB": ({"ae.yaml": "# " + "x" * (5 * 1024 * 1024) + "\n"}, "load", "SPEC-READ"),
    "syntax error": ({"dm.yaml": DM + "      AGE: {from: AGE\n"}, "load", "SPEC-YAML"),
    "tab indentation": ({"dm.yaml": DM + "\tAGE: {from: AGE}\n"}, "load", "SPEC-YAML"),
    "two documents": ({"dm.yaml": DM + "---\ndomain: AE\n"}, "load", "SPEC-YAML"),
    "deep nesting": ({"dm.yaml": DM + "      AGE: " + "[" * 5000 + "]" * 5000 + "\n"}, "load", "SPEC-YAML"),
    "top level is a list": ({"dm.yaml": "- domain: DM\n"}, "load", "SPEC-SHAPE"),
    "top level is text": ({"study.yaml": "just text\n"}, "load", "SPEC-SHAPE"),
    "empty domain file": ({"dm.yaml": "# nothing\n"}, "load", "SPEC-SCHEMA"),
    # -- duplicate keys, aliases, tags --------------------------------------------------
    "duplicate variable": ({"dm.yaml": DM + "      SEX: {value: F}\n"}, "load", "SPEC-YAML-DUPLICATE"),
    "duplicate top key": ({"dm.yaml": DM + "domain: AE\n"}, "load", "SPEC-YAML-DUPLICATE"),
    "duplicate flow key": ({"dm.yaml": DM + "      AGE: {from: AGE, from: SEX}\n"}, "load", "SPEC-YAML-DUPLICATE"),
    "duplicate value map key": ({"study.yaml": STUDY + "value_maps:\n  SEX: {F: F, F: M}\n"}, "load", "SPEC-YAML-DUPLICATE"),
    "duplicate adam key": ({"adam.yaml": "sd_min_days: 42\nsd_min_days: 28\n"}, "adam", "SPEC-YAML-DUPLICATE"),
    "alias bomb in domain": ({"dm.yaml": DM + BOMB}, "load", "SPEC-YAML-ALIAS"),
    "alias bomb in adam": ({"adam.yaml": BOMB}, "adam", "SPEC-YAML-ALIAS"),
    "alias bomb in study": ({"study.yaml": STUDY + BOMB}, "load", "SPEC-YAML-ALIAS"),
    "single alias": ({"dm.yaml": DM + "      AGE: *x\n"}, "load", "SPEC-YAML-ALIAS"),
    "anchor": ({"dm.yaml": DM + "      AGE: &x {from: AGE}\n"}, "load", "SPEC-YAML-ALIAS"),
    "merge key": ({"dm.yaml": DM + "      AGE: {<<: *x}\n"}, "load", "SPEC-YAML-ALIAS"),
    "python tag": ({"dm.yaml": DM + "      AGE: !!python/object/apply:os.system [id]\n"}, "load", "SPEC-YAML-TAG"),
    "int tag": ({"adam.yaml": "sd_min_days: !!int '42'\n"}, "adam", "SPEC-YAML-TAG"),
    # -- unknown keys (including keys that used to be accepted and never read) ----------
    "rule decimals": ({"dm.yaml": DM + "      AGE: {number: AGE, decimals: 0}\n"}, "load", "SPEC-KEY"),
    "rule reference": ({"dm.yaml": DM + "      AGE: {from: AGE, reference: X}\n"}, "load", "SPEC-KEY"),
    "rule typo": ({"dm.yaml": DM + "      AGE: {from: AGE, tranform: upper}\n"}, "load", "SPEC-KEY"),
    "label outside supp": ({"dm.yaml": DM + "      AGE: {from: AGE, label: Age}\n"}, "load", "SPEC-KEY"),
    "block typo": ({"dm.yaml": dm_with(block="    wher: \"SEX == 'F'\"\n")}, "load", "SPEC-KEY"),
    "domain keep": ({"dm.yaml": DM + "keep: [USUBJID]\n"}, "load", "SPEC-KEY"),
    "domain description": ({"dm.yaml": DM + "description: x\n"}, "load", "SPEC-KEY"),
    "derive flag_death": ({"dm.yaml": DM + "derive:\n  flag_death: true\n"}, "load", "SPEC-KEY"),
    "join how": ({"dm.yaml": dm_with(block="    join: {table: subj, on: SUBJ, how: inner}\n")}, "load", "SPEC-KEY"),
    "seq typo": ({"dm.yaml": DM + "derive:\n  seq: {by: [USUBJID], oder: [SEX]}\n"}, "load", "SPEC-KEY"),
    "model variable typo": ({"dm.yaml": DM + "model_variables:\n  DMDTC: {label: x, typ: Char}\n"}, "load", "SPEC-KEY"),
    "study usubjid": ({"study.yaml": STUDY + "usubjid: '{SUBJ}'\n"}, "load", "SPEC-KEY"),
    "raw table typo": ({"study.yaml": STUDY.replace("key:", "keys:")}, "load", "SPEC-KEY"),
    "schedule typo": ({"study.yaml": STUDY + "visits:\n  schedule:\n    - {visit: W1, visitnum: 1, dya: 1}\n"}, "load", "SPEC-KEY"),
    "epoch typo": ({"study.yaml": STUDY + "epochs:\n  - {epoch: X, befor: RFSTDTC}\n"}, "load", "SPEC-KEY"),
    "adam top typo": ({"adam.yaml": "sd_min_day: 42\n"}, "adam", "SPEC-KEY"),
    "adam adae typo": ({"adam.yaml": "adae: {adsl_variable: [AGE]}\n"}, "adam", "SPEC-KEY"),
    "adam adae flag shape": ({"adam.yaml": "adae:\n  occurrence_flags: [{name: X, where: \"TRTEMFL == 'Y'\"}]\n"}, "adam", "SPEC-SCHEMA"),
    "adam nested typo": ({"adam.yaml": "dcr: {landmark: 126}\n"}, "adam", "SPEC-KEY"),
    "adam sponsor typo": ({"adam.yaml": "sponsor_variables:\n  X: {type: exists, domain: AE, wher: x}\n"}, "adam", "SPEC-KEY"),
    # -- wrong shapes ---------------------------------------------------------------------
    "length abc": ({"dm.yaml": DM + "      AGE: {from: AGE, length: abc}\n"}, "load", "SPEC-SCHEMA"),
    "length 0": ({"dm.yaml": DM + "      AGE: {from: AGE, length: 0}\n"}, "load", "SPEC-SCHEMA"),
    "length 1.5": ({"dm.yaml": DM + "      AGE: {from: AGE, length: 1.5}\n"}, "load", "SPEC-SCHEMA"),
    "length 010 (text, not octal)": ({"dm.yaml": DM + "      AGE: {from: AGE, length: 010}\n"}, "load", "SPEC-SCHEMA"),
    "records is a mapping": ({"dm.yaml": "domain: DM\nrecords: {source: subj}\n"}, "load", "SPEC-SCHEMA"),
    "variables is a list": ({"dm.yaml": "domain: DM\nrecords:\n  - source: subj\n    variables: [STUDYID]\n"}, "load", "SPEC-SCHEMA"),
    "tables is a list": ({"study.yaml": "study: S1\nraw:\n  tables: [subj.csv]\n"}, "load", "SPEC-SCHEMA"),
    "from is a list": ({"dm.yaml": DM + "      AGE: {from: [AGE]}\n"}, "load", "SPEC-SCHEMA"),
    "unknown transform": ({"dm.yaml": DM + "      AGE: {from: AGE, transform: shout}\n"}, "load", "SPEC-SCHEMA"),
    "map is a list": ({"dm.yaml": DM + "      AGE: {from: AGE, map: [a, b]}\n"}, "load", "SPEC-SCHEMA"),
    "join without on": ({"dm.yaml": dm_with(block="    join: {table: subj}\n")}, "load", "SPEC-SCHEMA"),
    "block without source": ({"dm.yaml": "domain: DM\nrecords:\n  - variables: {STUDYID: S1}\n"}, "load", "SPEC-SCHEMA"),
    "domain missing": ({"dm.yaml": "records:\n  - source: subj\n"}, "load", "SPEC-SCHEMA"),
    "domain is a number": ({"dm.yaml": DM.replace("domain: DM", "domain: 12")}, "load", "SPEC-SCHEMA"),
    "to without unit": ({"dm.yaml": DM + "      AGE: {number: AGE, to: mm}\n"}, "load", "SPEC-SCHEMA"),
    "time without date": ({"dm.yaml": DM + "      AGE: {from: AGE, time: T}\n"}, "load", "SPEC-SCHEMA"),
    "null rule": ({"dm.yaml": DM + "      AGE:\n"}, "load", "SPEC-SCHEMA"),
    "earliest and latest": ({"dm.yaml": DM + "derive:\n  reference_dates:\n    RFSTDTC: {earliest: EX.EXSTDTC, latest: EX.EXSTDTC}\n"}, "load", "SPEC-SCHEMA"),
    "epoch before and until": ({"study.yaml": STUDY + "epochs:\n  - {epoch: X, before: A, until: B}\n"}, "load", "SPEC-SCHEMA"),
    "repeat count huge": ({"study.yaml": STUDY + "visits:\n  repeat: {visit: 'W{n}', first: 1, count: 100000000, visitnum_start: 1}\n"}, "load", "SPEC-SCHEMA"),
    "model variable type": ({"dm.yaml": DM + "model_variables:\n  DMDTC: {label: x, type: Date}\n"}, "load", "SPEC-SCHEMA"),
    "adam negative days": ({"adam.yaml": "sd_min_days: -1\n"}, "adam", "SPEC-SCHEMA"),
    "adam days as text": ({"adam.yaml": "confirmation_min_days: four weeks\n"}, "adam", "SPEC-SCHEMA"),
    "adam yes is not a boolean": ({"adam.yaml": "use_after_pd: yes\n"}, "adam", "SPEC-SCHEMA"),
    "adam agegr1 list": ({"adam.yaml": "agegr1: [18, 65]\n"}, "adam", "SPEC-SCHEMA"),
    "adam source bogus": ({"adam.yaml": "response: {source: both}\n"}, "adam", "SPEC-SCHEMA"),
    "adam sponsor type bogus": ({"adam.yaml": "sponsor_variables:\n  X: {type: mean, domain: AE}\n"}, "adam", "SPEC-SCHEMA"),
    "adam sponsor without domain": ({"adam.yaml": "sponsor_variables:\n  X: {type: exists}\n"}, "adam", "SPEC-SCHEMA"),
    "adam sponsor name too long": ({"adam.yaml": "sponsor_variables:\n  TOOLONGNAME: {type: exists, domain: AE}\n"}, "adam", "SPEC-SCHEMA"),
    "adam imputation bogus": ({"adam.yaml": "date_imputation:\n  ADT: {highest_imputation: X}\n"}, "adam", "SPEC-SCHEMA"),
    "adam criteria empty": ({"adam.yaml": "response: {criteria: []}\n"}, "adam", "SPEC-SCHEMA"),
    "adam unknown criterion": ({"adam.yaml": "tte_criterion: WHO\n"}, "adam", "adam-config"),
    # -- expressions --------------------------------------------------------------------
    "where not boolean (text)": ({"dm.yaml": DM + "      AGE: {from: AGE, where: SEX}\n"}, "map", "SPEC-EXPR-TYPE"),
    "where not boolean (number)": ({"dm.yaml": dm_with(block="    where: \"number(AGE) + 1\"\n")}, "map", "SPEC-EXPR-TYPE"),
    "where not boolean (literal)": ({"dm.yaml": dm_with(block="    join: {table: subj, on: SUBJ, where: \"'x'\"}\n")}, "map", "SPEC-EXPR-TYPE"),
    "where and on text": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"SEX and AGE > 1\"}\n"}, "map", "SPEC-EXPR-TYPE"),
    "where unknown column": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"NOPE == 'x'\"}\n"}, "map", "SPEC-EXPR-COLUMN"),
    "where syntax error": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"SEX ==\"}\n"}, "load", "SPEC-EXPR"),
    "where pandas method": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"VIS.str.startswith('W')\"}\n"}, "load", "SPEC-EXPR"),
    "exploit __import__": ({"dm.yaml": dm_with(block="    where: \"__import__('os').system('id') == 0\"\n")}, "load", "SPEC-EXPR"),
    "exploit __class__": ({"dm.yaml": dm_with(block="    where: \"SEX.__class__.__mro__ == 1\"\n")}, "load", "SPEC-EXPR"),
    "exploit @pd": ({"dm.yaml": dm_with(block="    where: \"@pd.io.common.os.system('id') == 0\"\n")}, "load", "SPEC-EXPR"),
    "exploit subclasses": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"().__class__.__bases__[0].__subclasses__()\"}\n"}, "load", "SPEC-EXPR"),
    "exploit lambda": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"(lambda: 1)() == 1\"}\n"}, "load", "SPEC-EXPR"),
    "exploit getattr": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"getattr(SEX, 'upper')() == 'F'\"}\n"}, "load", "SPEC-EXPR"),
    "exploit f-string": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"f'{SEX!r}' == 'F'\"}\n"}, "load", "SPEC-EXPR"),
    "exploit power bomb": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"9 ** 9 ** 9 > 1\"}\n"}, "load", "SPEC-EXPR"),
    "exploit walrus": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"(x := SEX) == 'F'\"}\n"}, "load", "SPEC-EXPR"),
    "exploit in baseline": ({"dm.yaml": DM + "derive:\n  baseline: {flag: X, by: [USUBJID], date: SEX, where: \"SEX.upper() == 'F'\"}\n"}, "load", "SPEC-EXPR"),
    "exploit in reference date": ({"dm.yaml": DM + "derive:\n  reference_dates:\n    RFSTDTC: {earliest: {table: subj, date: DAT, where: \"exec('1')\"}}\n"}, "load", "SPEC-EXPR"),
    "exploit in adam": ({"adam.yaml": "dthcaus_sources:\n  - {domain: AE, value: AEDECOD, where: \"__import__('os')\"}\n"}, "adam", "SPEC-EXPR"),
    "exploit in adam sponsor": ({"adam.yaml": "sponsor_variables:\n  X: {type: exists, domain: AE, where: \"AE.query('1')\"}\n"}, "adam", "SPEC-EXPR"),
    "expression too long": ({"dm.yaml": DM + "      AGE: {from: AGE, where: \"" + " or ".join(["SEX == 'F'"] * 300) + "\"}\n"}, "load", "SPEC-EXPR"),
    # -- derivations over variables that do not exist ------------------------------------
    "seq by unknown variable": ({"dm.yaml": DM + "derive:\n  seq: {by: [USUBJID], order: [DMDTC]}\n"}, "map", "SPEC-DERIVE-VARIABLE"),
    "study day of unknown date": ({"dm.yaml": DM + "derive:\n  study_day: {DMDY: DMDTC}\n"}, "map", "SPEC-DERIVE-VARIABLE"),
    "visit from unknown label": ({"dm.yaml": DM + "derive:\n  visit: {label: VISIT, date: DMDTC}\n"}, "map", "SPEC-DERIVE-VARIABLE"),
    "baseline by unknown": ({"dm.yaml": DM + "derive:\n  baseline: {flag: X, by: [NOPE], date: SEX}\n"}, "map", "SPEC-DERIVE-VARIABLE"),
    # -- regular expressions --------------------------------------------------------------
    "regex backreference": ({"dm.yaml": DM + "      AGE: {from: NAME, extract: '(a) \\1'}\n"}, "load", "SPEC-REGEX"),
    "regex lookahead": ({"dm.yaml": DM + "      AGE: {from: NAME, extract: '(?=a)a'}\n"}, "load", "SPEC-REGEX"),
    "regex unbalanced": ({"dm.yaml": DM + "      AGE: {from: NAME, extract: '(a'}\n"}, "load", "SPEC-REGEX"),
    "regex huge repetition": ({"dm.yaml": DM + "      AGE: {from: NAME, extract: '((a{100}){100}){100}'}\n"}, "load", "SPEC-REGEX"),
    # -- templates -----------------------------------------------------------------------
    "format template unbalanced": ({"dm.yaml": DM + "      ARM: {format: \"S1-{NAME\"}\n"}, "load", "SPEC-TEMPLATE"),
    "format template stray brace": ({"dm.yaml": DM + "      ARM: {format: \"S1-NAME}\"}\n"}, "load", "SPEC-TEMPLATE"),
    "format template empty field": ({"dm.yaml": DM + "      ARM: {format: \"S1-{}\"}\n"}, "load", "SPEC-TEMPLATE"),
    "unit target template unbalanced": ({"dm.yaml": DM + "      AGE: {unit: {value: AGE, unit: SEX}, to: \"{STD\"}\n"}, "load", "SPEC-TEMPLATE"),
    # -- spec-level references -------------------------------------------------------------
    "undeclared raw table": ({"dm.yaml": DM.replace("source: subj", "source: nope")}, "load", "SPEC-TABLE"),
    "two producers": ({"dm.yaml": DM + "      AGE: {from: AGE, value: x}\n"}, "load", "SPEC-RULE"),
    "no producer": ({"dm.yaml": DM + "      AGE: {where: \"SEX == 'F'\"}\n"}, "load", "SPEC-RULE"),
    "listed domain file missing": ({"study.yaml": STUDY + "domains: [dm.yaml, ae.yaml]\n"}, "load", "SPEC-MISSING"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_spec(tmp_path, name):
    files, action, rule = CASES[name]
    with pytest.raises(SpecError) as err:
        run_case(tmp_path, files, action)
    assert rules_of(err.value) == {rule}, err.value.format()
    assert "Traceback" not in err.value.format()


def test_all_problems_of_a_hostile_study_come_together(tmp_path):
    files = {"study.yaml": STUDY + "usubjid: x\n",
             "dm.yaml": DM + "      AGE: {from: AGE, where: \"SEX.__class__\"}\n",
             "ae.yaml": b"domain: AE\nrecords: [{source: subj, variables: {AETERM: caf\xe9}}]\n",
             "ex.yaml": "domain: EX\nrecords:\n  - source: subj\n    variables: {EXTRT: {from: X, extract: '(?=a)'}}\n"}
    with pytest.raises(SpecError) as err:
        run_case(tmp_path, files, "load")
    assert sorted(p.rule for p in err.value.problems) == [
        "SPEC-ENCODING", "SPEC-EXPR", "SPEC-KEY", "SPEC-REGEX"]


# -- YAML 1.1 scalars are not re-typed: the values arrive as written ----------------------

def test_yaml_11_scalars_stay_as_written(tmp_path):
    dm = DM + ("      COUNTRY: NO\n      SITEID: 010\n      ARM: yes\n"
               "      ARMCD: {from: SEX, map: {F: on, M: off}}\n")
    spec, raw = build(tmp_path, {"dm.yaml": dm})
    result = map_study(spec, raw).domains["DM"]
    assert result["COUNTRY"].tolist() == ["NO", "NO"]
    assert result["SITEID"].tolist() == ["010", "010"]
    assert result["ARM"].tolist() == ["yes", "yes"]
    assert result["ARMCD"].tolist() == ["on", "off"]


def test_map_keys_yes_no_stay_text(tmp_path):
    raw_text = "SUBJ,SEX,FLAG\n1,F,Yes\n2,M,No\n"
    dm = DM + "      AGE: {from: FLAG, map: {Yes: '1', No: '0'}}\n"
    spec, raw = build(tmp_path, {"dm.yaml": dm})
    (raw / "subj.csv").write_text(raw_text)
    assert map_study(spec, raw).domains["DM"]["AGE"].tolist() == [1.0, 0.0]


def test_on_key_of_a_join_is_read_as_on(tmp_path):
    dm = dm_with(block="    join: {table: subj, on: SUBJ}\n")
    spec, raw = build(tmp_path, {"dm.yaml": dm})
    assert len(map_study(spec, raw).domains["DM"]) == 2


def test_catastrophic_regex_in_a_spec_finishes(tmp_path):
    dm = DM + "      AGE: {from: NAME, extract: '^(a+)+$'}\n"
    spec, raw = build(tmp_path, {"dm.yaml": dm})
    (raw / "subj.csv").write_text("SUBJ,SEX,NAME\n1,F," + "a" * 5000 + "b\n")
    result = map_study(spec, raw)           # finishes (the timeout fixture guards it)
    assert set(result.findings["rule"]) == {"MAP-EXTRACT"}


def test_adam_where_not_boolean_on_data():
    import pandas as pd
    frame = pd.DataFrame({"AEDECOD": ["X"], "AETOXGR": ["5"]})
    with pytest.raises(SpecError) as err:
        apply_where(frame, "AEDECOD", context="sponsor_variables.X")
    assert err.value.rule == "SPEC-EXPR-TYPE"
    assert "sponsor_variables.X" in err.value.message


@pytest.mark.parametrize("name", ["exploit __import__", "alias bomb in domain",
                                  "seq by unknown variable", "dm not utf8"])
def test_cli_exit_code_2_and_no_output(tmp_path, name):
    files, _, rule = CASES[name]
    spec, raw = build(tmp_path, files)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sdtm", str(spec), "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert rule in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.rglob("*.xpt"))


def test_run_reports_sdtm_and_adam_spec_problems_together_and_writes_nothing(tmp_path):
    files = {"dm.yaml": DM + "      AGE: {from: AGE, decimals: 1}\n",
             "adam.yaml": "sd_min_days: -1\ndthcaus_sources:\n  - {domain: AE, value: X, where: \"X.y\"}\n"}
    spec, raw = build(tmp_path, files)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(spec), "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 2, result.output
    for text in ("dm.yaml:10", "adam.yaml:1", "adam.yaml:3", "SPEC-KEY", "SPEC-SCHEMA",
                 "SPEC-EXPR", "3 problems"):
        assert text in result.output, result.output
    assert not out.exists() or not any(out.rglob("*.xpt"))
