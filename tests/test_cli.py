"""Every command has --help and turns errors into a message and exit code, not a traceback."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main

COMMANDS = ["run", "sdtm", "adam", "validate", "define", "report"]


@pytest.fixture()
def runner():
    return CliRunner()


def test_top_level_help_lists_every_command(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.output


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


def test_define_command_writes_a_valid_define(runner, tmp_path):
    from conftest import REPO

    study = REPO / "mappings" / "sorafenib_dtic"
    out = tmp_path / "sdtm"
    assert runner.invoke(main, ["sdtm", str(study), "--out", str(out)]).exit_code == 0
    result = runner.invoke(main, ["define", str(out), "--study", str(study)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output
    assert (out / "define.xml").is_file() and (out / "define.html").is_file()


def test_define_command_reports_a_broken_folder(runner, tmp_path):
    (tmp_path / "dm.xpt").write_bytes(b"<html>not a transport file</html>")
    result = runner.invoke(main, ["define", str(tmp_path)])
    assert result.exit_code == 2
    assert "dm.xpt" in result.output and "Traceback" not in result.output
