"""Every command has --help and turns errors into a message and exit code, not a traceback."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main
from conftest import REPO

COMMANDS = ["run", "sdtm", "adam", "validate", "define", "report", "package", "spec"]


@pytest.fixture()
def runner():
    return CliRunner()


def test_top_level_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


def test_sdtm_command_writes_xpt_v5_csv_and_its_reports(runner, tmp_path):
    """`sdtm` on a tiny study: each domain as SAS XPORT v5 (pyreadstat reads its name,
    label and variable labels) and as CSV with the same columns, with unmapped.csv and
    mapping_findings.csv (the bundled study's mapping by the CLI is in the slow tier)."""
    import pandas as pd
    import pyreadstat

    from tiny_study import DM_YAML, make_study

    spec, raw = make_study(tmp_path, {"subj": """\
        PT,SEX,START
        1,F,2020-01-06
        2,M,2020-02-03
        """}, {"dm": DM_YAML})
    out = tmp_path / "sdtm"
    result = runner.invoke(main, ["sdtm", str(spec), "--raw", str(raw), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_xport(str(out / "dm.xpt"))
    assert meta.table_name == "DM" and meta.file_label == "Demographics"
    assert meta.column_names_to_labels["USUBJID"] == "Unique Subject Identifier"
    assert frame["USUBJID"].tolist() == ["S1-1", "S1-2"]
    assert frame["RFSTDTC"].tolist() == ["2020-01-06", "2020-02-03"]
    csv = pd.read_csv(out / "dm.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == list(frame.columns) and csv["SEX"].tolist() == ["F", "M"]
    assert (out / "unmapped.csv").is_file() and (out / "mapping_findings.csv").is_file()


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help_with_exit_codes(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Exit codes" in result.output


def test_missing_study_folder_is_a_usage_error_not_a_traceback(runner, tmp_path):
    result = runner.invoke(main, ["sdtm", str(tmp_path / "nope"), "--raw", str(tmp_path),
                                  "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "cdisc-convert" in result.output


def test_define_command_writes_a_valid_define(runner, bundled_run, tmp_path):
    import shutil

    study = REPO / "mappings" / "sorafenib_dtic"
    out = tmp_path / "sdtm"
    shutil.copytree(bundled_run / "sdtm", out,
                    ignore=shutil.ignore_patterns("define.*", "*.xsl"))
    assert not (out / "define.xml").exists()
    result = runner.invoke(main, ["define", str(out), "--study", str(study)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert (out / "define.xml").is_file() and (out / "define.html").is_file()


def test_define_command_reports_a_broken_folder(runner, tmp_path):
    (tmp_path / "dm.xpt").write_bytes(b"<html>not a transport file</html>")
    result = runner.invoke(main, ["define", str(tmp_path)])
    assert result.exit_code == 2
    assert "dm.xpt" in result.output and "Traceback" not in result.output


@pytest.fixture(scope="module")
def pipeline_out(bundled_run):
    return bundled_run


def test_validate_command_on_our_outputs(runner, pipeline_out, tmp_path):
    report = tmp_path / "sdtm.json"
    result = runner.invoke(main, ["validate", str(pipeline_out / "sdtm"), "--format", "json",
                                  "--out", str(report)])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output
    assert json.loads(report.read_text())["summary"]


def test_validate_command_exit_code_1_on_errors(runner, pipeline_out, tmp_path):
    import shutil

    # SDTM without DM (AE and TS are enough to show it: the rule is the same for 23 domains)
    folder = tmp_path / "broken"
    folder.mkdir()
    for name in ("ae.xpt", "ts.xpt"):
        shutil.copy(pipeline_out / "sdtm" / name, folder / name)
    result = runner.invoke(main, ["validate", str(folder), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 1, result.output
    assert (tmp_path / "r.html").read_text().count("XD-DM-MISSING") >= 1


def test_report_command(runner, pipeline_out, tmp_path):
    study = str(REPO / "mappings" / "sorafenib_dtic")
    result = runner.invoke(main, ["report", str(pipeline_out / "adam"), "--out",
                                  str(tmp_path / "rep"), "--study", study])
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert results["pfs"]["median"] == 13.4
    # without the study's report.yaml: the population, sex and age only
    result = runner.invoke(main, ["report", str(pipeline_out / "adam"), "--out",
                                  str(tmp_path / "plain")])
    assert result.exit_code == 0, result.output
    plain = json.loads((tmp_path / "plain" / "results.json").read_text())
    assert set(plain) == {"population", "N", "sex", "age"} and plain["N"] == results["N"]
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == [
        ".cdisc-convert-manifest", "results.html", "results.json"]


def test_report_command_without_adsl_is_a_clear_error(runner, tmp_path):
    (tmp_path / "adrs.csv").write_text("USUBJID,PARAMCD\n1,BOR\n")
    result = runner.invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1 and "no ADSL" in result.output


def test_api_calls_run_copy_on_write_and_leave_the_setting_as_it_was():
    import pandas as pd

    from cdisc_convert.api import copy_on_write

    seen = []
    probe = copy_on_write(lambda: seen.append(pd.get_option("mode.copy_on_write")))
    with pd.option_context("mode.copy_on_write", False):
        probe()
        assert pd.get_option("mode.copy_on_write") is False
    assert seen == [True]
