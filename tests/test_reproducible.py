"""Byte-identical outputs on rerun when SOURCE_DATE_EPOCH is set (reproducible builds)."""
from __future__ import annotations

import filecmp

from click.testing import CliRunner

from cdisc_convert.cli import main
from conftest import REPO


def _all_files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_two_runs_are_byte_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["run", str(REPO / "mappings" / "sorafenib_dtic"),
                                           "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs.append(out)
    files = _all_files(outs[0])
    assert files == _all_files(outs[1])
    assert any(f.suffix == ".xpt" for f in files) and any(f.suffix == ".json" for f in files)
    different = [str(f) for f in files if not filecmp.cmp(outs[0] / f, outs[1] / f, shallow=False)]
    assert different == []
    # the timestamp really comes from SOURCE_DATE_EPOCH (2023-11-14T22:13:20Z)
    assert "2023-11-14T22:13:20" in (outs[0] / "sdtm" / "dm.json").read_text()[:200]
