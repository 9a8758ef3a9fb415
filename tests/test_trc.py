"""`validate --profile fda-trc`: the FDA technical rejection criteria on a package."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdisc_convert import read_xpt, write_xpt
from cdisc_convert.cli import main
from cdisc_convert.conformance import trc

STUDY_DIR = Path("m5") / "datasets" / "sordtic-ii"
SDTM = STUDY_DIR / "tabulations" / "sdtm"
ADAM = STUDY_DIR / "analysis" / "adam" / "datasets"


@pytest.fixture(scope="module")
def built(bundled_package) -> Path:
    """The session's package of the bundled run (conftest.bundled_package)."""
    return bundled_package


@pytest.fixture()
def package(built, tmp_path) -> Path:
    """A copy of the bundled study's package to break."""
    copy = tmp_path / "submission"
    shutil.copytree(built, copy)
    return copy


def _trc(folder: Path, tmp_path: Path):
    report = tmp_path / "trc.json"
    result = CliRunner().invoke(main, ["validate", str(folder), "--profile", "fda-trc",
                                       "--format", "json", "--out", str(report)])
    findings = json.loads(report.read_text())["findings"] if report.exists() else []
    return result, findings


def _errors(findings):
    return sorted((f["rule"], f["dataset"]) for f in findings if f["severity"] == "error")


def test_the_bundled_package_passes(built, tmp_path):
    result, findings = _trc(built, tmp_path)
    assert result.exit_code == 0, result.output
    assert _errors(findings) == []
    # the STF criteria are named, not passed silently
    assert [f["rule"] for f in findings] == ["TRC-STF"]


@pytest.mark.parametrize("where", ["m5", str(STUDY_DIR)])
def test_the_m5_or_a_study_folder_can_be_given(built, tmp_path, where):
    result, findings = _trc(built / where, tmp_path)
    assert result.exit_code == 0 and _errors(findings) == []


def test_help_names_the_profile():
    result = CliRunner().invoke(main, ["validate", "--help"])
    assert "--profile fda-trc" in result.output


@pytest.mark.parametrize("removed, rule, dataset", [
    (SDTM / "ts.xpt", "TRC-1734", "TS"),
    (SDTM / "define.xml", "TRC-1736-DEFINE", ""),
    (ADAM / "define.xml", "TRC-1736-DEFINE", ""),
    (SDTM / "dm.xpt", "TRC-1736-DM", "DM"),
    (ADAM / "adsl.xpt", "TRC-1736-ADSL", "ADSL"),
])
def test_a_missing_file_fails_with_a_clear_finding(package, tmp_path, removed, rule, dataset):
    (package / removed).unlink()
    result, findings = _trc(package, tmp_path)
    assert result.exit_code == 1, result.output
    assert _errors(findings) == [(rule, dataset)]
    assert "1 error(s)" in result.output
    message = next(f["message"] for f in findings if f["rule"] == rule)
    assert "sordtic-ii" in message and removed.name.split(".")[0] in message


def _rewrite_ts(package: Path, change) -> None:
    path = package / SDTM / "ts.xpt"
    ts = read_xpt(path)
    attrs = dict(ts.attrs)
    ts = change(ts)
    write_xpt(ts.reset_index(drop=True), path, name="TS", label=attrs["label"],
              labels=attrs["labels"])


def test_ts_without_sstdtc_fails(package, tmp_path):
    _rewrite_ts(package, lambda ts: ts[ts["TSPARMCD"] != "SSTDTC"])
    result, findings = _trc(package, tmp_path)
    assert result.exit_code == 1
    assert _errors(findings) == [("TRC-1734", "TS")]
    assert "no SSTDTC" in findings[0]["message"]


@pytest.mark.parametrize("value", ["2011-08", "25AUG2011", ""])
def test_an_incomplete_or_invalid_study_start_date_fails(package, tmp_path, value):
    def change(ts):
        ts = ts.copy()
        ts.loc[ts["TSPARMCD"] == "SSTDTC", "TSVAL"] = value
        return ts
    _rewrite_ts(package, change)
    result, findings = _trc(package, tmp_path)
    assert result.exit_code == 1 and _errors(findings) == [("TRC-1734", "TS")]


def test_a_dataset_with_another_studyid_fails(package, tmp_path):
    path = package / ADAM / "adsl.xpt"
    adsl = read_xpt(path)
    attrs = dict(adsl.attrs)
    adsl["STUDYID"] = "OTHER-STUDY"
    write_xpt(adsl, path, name="ADSL", label=attrs["label"], labels=attrs["labels"])
    result, findings = _trc(package, tmp_path)
    assert result.exit_code == 1
    assert _errors(findings) == [("TRC-STUDYID", "ADSL")]


def test_an_unreadable_ts_fails(package, tmp_path):
    (package / SDTM / "ts.xpt").write_text("<html>not a dataset</html>")
    result, findings = _trc(package, tmp_path)
    assert result.exit_code == 1
    assert ("TRC-UNREADABLE", "TS") in _errors(findings)


def test_a_dataset_over_the_size_limit_fails(package, tmp_path, monkeypatch):
    monkeypatch.setattr(trc, "MAX_DATASET_BYTES", 10_000)
    result = trc.check_package(package)
    big = result.findings[result.findings["rule"] == "TRC-SIZE"]
    sizes = {p.stem.upper() for p in (package / STUDY_DIR).rglob("*.xpt")
             if p.stat().st_size > 10_000}
    assert sizes and set(big["dataset"]) == sizes and result.exit_code == 1
    assert big["message"].str.contains("Conformance Guide \\(section 3.3.2\\)").all()


def test_a_folder_that_is_no_package_fails(tmp_path):
    (tmp_path / "empty").mkdir()
    result, findings = _trc(tmp_path / "empty", tmp_path)
    assert result.exit_code == 1 and _errors(findings) == [("TRC-NO-DATA", "")]
    assert "Traceback" not in result.output
