"""`cdisc-convert package`: a run output laid out as eCTD module 5 (docs/submission.md)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cdisc_convert.cli import main
from cdisc_convert.io.output import MANIFEST
from cdisc_convert.submission.package import study_folder_name
from conftest import ACRF_PDF, REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"
ROOT = Path("m5") / "datasets" / "sordtic-ii"


def _package(runner, *args):
    return runner.invoke(main, ["package", *map(str, args)])


@pytest.fixture(scope="module")
def package(bundled_package):
    """The session's ``cdisc-convert package --study`` of the bundled run (conftest)."""
    return bundled_package


def test_help_has_an_example():
    result = CliRunner().invoke(main, ["package", "--help"])
    assert result.exit_code == 0 and "Example: cdisc-convert package" in result.output


def test_every_dataset_of_the_run_is_in_its_ectd_folder(package, bundled_run):
    for part, folder in (("sdtm", ROOT / "tabulations" / "sdtm"),
                         ("adam", ROOT / "analysis" / "adam" / "datasets")):
        expected = sorted(p.name for p in (bundled_run / part).glob("*.xpt"))
        assert expected, part
        got = sorted(p.name for p in (package / folder).glob("*.xpt"))
        assert got == expected
        for name in expected:           # copied unchanged
            assert (package / folder / name).read_bytes() == (bundled_run / part / name).read_bytes()
        assert (package / folder / "define.xml").read_bytes() == \
            (bundled_run / part / "define.xml").read_bytes()
        assert (package / folder / "define2-1.xsl").is_file()
        # the datasets only as XPT: no CSV, Dataset-JSON, findings reports or define.html;
        # beside SDTM the annotated CRF the session's package was given (conftest.ACRF_PDF)
        assert {p.suffix for p in (package / folder).iterdir()
                if p.name != "acrf.pdf"} == {".xpt", ".xml", ".xsl"}
        assert (package / folder / "acrf.pdf").exists() == (part == "sdtm")


def test_define_links_resolve_inside_the_package(package):
    for folder in (ROOT / "tabulations" / "sdtm", ROOT / "analysis" / "adam" / "datasets"):
        tree = etree.parse(str(package / folder / "define.xml"))
        hrefs = [leaf.get("{http://www.w3.org/1999/xlink}href") for leaf in tree.iter("{*}leaf")]
        assert hrefs and all((package / folder / h).is_file() for h in hrefs)


def test_the_study_specs_are_the_programs_as_text_files(package):
    programs = package / ROOT / "analysis" / "adam" / "programs"
    names = sorted(p.name for p in programs.iterdir())
    assert names == sorted(f"{p.stem}-yaml.txt" for p in STUDY.glob("*.yaml"))
    assert (programs / "adam-yaml.txt").read_bytes() == (STUDY / "adam.yaml").read_bytes()


def test_no_manifest_inside_the_ectd_tree(package):
    assert (package / MANIFEST).is_file()
    assert not [p for p in (package / "m5").rglob("*") if p.name.startswith(".")]


def test_folder_and_file_names_follow_ectd_rules(package):
    for path in (package / "m5").rglob("*"):
        name = path.name
        assert name == name.lower() and " " not in name, path
        assert name.count(".") <= 1, path


def test_study_folder_name():
    assert study_folder_name("SORDTIC-II") == "sordtic-ii"
    assert study_folder_name(" CDISC PILOT_01 ") == "cdisc-pilot-01"
    assert study_folder_name("___") == "study"


def test_annotated_crf_must_be_a_pdf(bundled_run, package, tmp_path):
    runner = CliRunner()
    fake = tmp_path / "acrf.pdf"
    fake.write_text("not a pdf")
    result = _package(runner, bundled_run, "--acrf", fake, "--out", tmp_path / "p")
    assert result.exit_code == 2 and "PKG-ACRF-NOT-PDF" in result.output
    assert not (tmp_path / "p").exists()
    # a PDF is packaged as acrf.pdf beside the SDTM datasets: the session's package was
    # given one (conftest.ACRF_PDF), so that no third package of the study is built here
    assert (package / ROOT / "tabulations" / "sdtm" / "acrf.pdf").read_bytes() == ACRF_PDF
    assert "The annotated CRF is acrf.pdf in this folder." in \
        (package / "reviewers-guides" / "csdrg.html").read_text(encoding="utf-8")


def _copy_run(bundled_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(bundled_run, run)
    return run


def test_a_run_without_define_is_refused(bundled_run, tmp_path):
    run = _copy_run(bundled_run, tmp_path)
    (run / "adam" / "define.xml").unlink()
    result = _package(CliRunner(), run, "--out", tmp_path / "p")
    assert result.exit_code == 2 and "PKG-NO-DEFINE" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "p").exists()


def test_a_run_without_xpt_files_is_refused(bundled_run, tmp_path):
    run = _copy_run(bundled_run, tmp_path)
    for path in (run / "sdtm").glob("*.xpt"):
        path.unlink()
    result = _package(CliRunner(), run, "--out", tmp_path / "p")
    assert result.exit_code == 2 and "PKG-NO-XPT" in result.output


def test_a_define_naming_a_missing_file_is_refused(bundled_run, tmp_path):
    run = _copy_run(bundled_run, tmp_path)
    define = run / "sdtm" / "define.xml"
    define.write_text(define.read_text().replace('xlink:href="ts.xpt"', 'xlink:href="ts2.xpt"'))
    result = _package(CliRunner(), run, "--out", tmp_path / "p")
    assert result.exit_code == 2 and "PKG-DEFINE-LINK" in result.output and "ts2.xpt" in result.output


def test_output_rules_of_every_command_apply(bundled_run, package, tmp_path):
    runner = CliRunner()
    result = _package(runner, bundled_run, "--out", bundled_run / "pkg")
    assert result.exit_code == 2 and "OUT-OVERLAPS-INPUT" in result.output
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = _package(runner, bundled_run, "--out", foreign)
    assert result.exit_code == 2 and "OUT-FOREIGN" in result.output
    assert (foreign / "notes.txt").read_text() == "mine"
    # an earlier package (a copy of the session's, manifest and all) is ours: replaced
    shutil.copytree(package, tmp_path / "p")
    define = Path("tabulations") / "sdtm" / "define.xml"
    (tmp_path / "p" / ROOT / define).write_text("an earlier package's define")
    result = _package(runner, bundled_run, "--out", tmp_path / "p")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p" / ROOT / define).read_bytes() == (package / ROOT / define).read_bytes()


def test_not_a_run_output(tmp_path):
    (tmp_path / "empty").mkdir()
    result = _package(CliRunner(), tmp_path / "empty", "--out", tmp_path / "p")
    assert result.exit_code == 2 and "PKG-NO-DATA" in result.output
