"""Reproducible outputs: byte-identical with SOURCE_DATE_EPOCH set, and identical apart from
the creation timestamps without it."""
from __future__ import annotations

import filecmp
import json
import re

import pytest
from click.testing import CliRunner
from lxml import etree

from cdisc_convert.cli import main
from cdisc_convert.io.output import MANIFEST
from cdisc_convert.io.xpt import read_xpt
from conftest import REPO

# end-to-end runs of the whole pipeline (beyond the shared bundled_run): the full tier
pytestmark = pytest.mark.slow

TIMESTAMP_ATTRS = {"created", "modified"}


def _all_files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def _run(out, monkeypatch, epoch):
    if epoch is None:
        monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    else:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = CliRunner().invoke(main, ["run", str(REPO / "mappings" / "sorafenib_dtic"),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, bundled_run):
    monkeypatch = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("repro")
    try:
        a = bundled_run                      # run with SOURCE_DATE_EPOCH=1700000000
        b = _run(base / "b", monkeypatch, "1700000000")
        c = _run(base / "c", monkeypatch, None)
    finally:
        monkeypatch.undo()
    return a, b, c


def test_two_runs_with_source_date_epoch_are_byte_identical(runs):
    a, b, _ = runs
    files = _all_files(a)
    assert files == _all_files(b)
    assert any(f.suffix == ".xpt" for f in files) and any(f.suffix == ".json" for f in files)
    different = [str(f) for f in files if not filecmp.cmp(a / f, b / f, shallow=False)]
    assert different == []
    # the timestamp really comes from SOURCE_DATE_EPOCH (2023-11-14T22:13:20Z)
    assert "2023-11-14T22:13:20" in (a / "sdtm" / "dm.json").read_text()[:200]
    assert read_xpt(a / "sdtm" / "dm.xpt").attrs["created"].year == 2023


def _without_timestamps(path):
    if path.suffix == ".xpt":
        frame = read_xpt(path)
        attrs = {k: v for k, v in frame.attrs.items() if k not in TIMESTAMP_ATTRS}
        return frame.to_csv(), repr(sorted(attrs.items(), key=str))
    if path.suffix == ".json" and path.name != "results.json":
        data = json.loads(path.read_text())
        data.pop("datasetJSONCreationDateTime", None)
        return data
    if path.suffix == ".xml":
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        for element in tree.iter():
            for attribute in ("CreationDateTime", "AsOfDateTime"):
                element.attrib.pop(attribute, None)
        return etree.tostring(tree)
    if path.name == "define.html":      # the creation time printed in the page
        return re.sub(r"created \d{4}-\d{2}-\d{2}T[\d:]+Z?", "created <time>", path.read_text())
    return path.read_bytes()


def test_without_source_date_epoch_only_timestamps_differ(runs):
    a, _, c = runs
    files = _all_files(a)
    assert files == _all_files(c)
    different = [str(f) for f in files if _without_timestamps(a / f) != _without_timestamps(c / f)]
    assert different == []


def test_run_in_one_or_two_processes_equals_the_separate_steps(tmp_path, monkeypatch):
    """run hands the SDTM domains to ADaM in memory and overlaps writing with deriving;
    the files must be those of the separate sdtm / adam / define / report commands,
    which read every input back from disk."""
    study = str(REPO / "mappings" / "sorafenib_dtic")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    runner = CliRunner()
    steps = tmp_path / "steps"
    for args in (["sdtm", study, "--out", str(steps / "sdtm")],
                 ["adam", str(steps / "sdtm"), "--out", str(steps / "adam"),
                  "--config", study + "/adam.yaml"],
                 ["define", str(steps / "sdtm"), "--study", study],
                 ["define", str(steps / "adam"), "--study", study],
                 ["report", str(steps / "adam"), "--out", str(steps / "report"),
                  "--study", study]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    def data_files(folder):      # the manifests name the command that wrote them
        return [p for p in _all_files(folder) if p.name != MANIFEST]

    for jobs in ("1", "2"):
        out = tmp_path / f"run{jobs}"
        result = runner.invoke(main, ["run", study, "--out", str(out), "--jobs", jobs])
        assert result.exit_code == 0, result.output
        assert data_files(out) == data_files(steps)
        mismatch = filecmp.cmpfiles(out, steps, [str(p) for p in data_files(steps)],
                                    shallow=False)[1]
        assert mismatch == [], (jobs, mismatch)
