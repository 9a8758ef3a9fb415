"""The bundled study's outputs do not change by accident.

Every file ``cdisc-convert run`` writes for the bundled study with SOURCE_DATE_EPOCH set is
compared (sha256) with the committed manifest ``tests/golden/bundled_study.sha256``. When a
change alters outputs on purpose, regenerate it with ``python tools/update_golden.py`` and
say in the commit which outputs changed and why.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import golden_tool

golden = golden_tool()


def test_bundled_outputs_match_the_golden_manifest(bundled_run):
    expected = golden.MANIFEST.read_text(encoding="utf-8")
    changed = golden.changes(expected, golden.manifest(bundled_run))
    assert changed == [], ("bundled-study outputs differ from tests/golden/bundled_study.sha256"
                           "; if on purpose run `python tools/update_golden.py` and say why in "
                           "the commit")


def test_manifest_covers_every_kind_of_output():
    paths = {line.split("  ", 1)[1] for line in
             golden.MANIFEST.read_text(encoding="utf-8").splitlines() if line}
    for expected in ("./sdtm/define.xml", "./adam/define.xml", "./sdtm/dm.xpt", "./sdtm/dm.json",
                     "./adam/adsl.csv", "./report/results.json", "./report/km_os.svg"):
        assert expected in paths


def test_changes_names_changed_added_and_removed_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("1")
    (tmp_path / "y.txt").write_text("2")
    before = golden.manifest(tmp_path)
    assert before.splitlines()[0].endswith("  ./a/x.txt")
    (tmp_path / "a" / "x.txt").write_text("changed")
    (tmp_path / "y.txt").unlink()
    (tmp_path / "z.txt").write_text("3")
    assert golden.changes(before, golden.manifest(tmp_path)) == [
        "changed ./a/x.txt", "added   ./z.txt", "removed ./y.txt"]


@pytest.mark.slow
def test_a_report_run_in_process_reads_no_xpt_and_is_the_same(bundled_run, tmp_path,
                                                                monkeypatch):
    """run in one process (as a large study's report runs): define.xml, its checks and the
    report take the XPT files as the writer returned them, reading none back, and write
    the same files."""
    import cdisc_convert.io.xpt as xpt
    from cdisc_convert import api

    reads, read_xpt = [], xpt.read_xpt

    def counted(path, *args, **kwargs):
        reads.append(Path(path))
        return read_xpt(path, *args, **kwargs)

    monkeypatch.setattr(xpt, "read_xpt", counted)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", golden.EPOCH)
    api.run_study(out=tmp_path / "out", jobs=1)
    assert reads == []
    assert golden.manifest(tmp_path / "out" / "report") == golden.manifest(bundled_run / "report")
