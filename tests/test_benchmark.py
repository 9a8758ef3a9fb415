"""The benchmark's smoke run (N = 1,000) and its target check on a hand-made table."""
from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module
    spec.loader.exec_module(module)
    return module


def test_smoke_run_at_1000_subjects(bench, tmp_path):
    out = tmp_path / "bench.json"
    bench.main(["--subjects", "1000", "--json", str(out)])
    data = json.loads(out.read_text())
    stages = [r["stage"] for r in data["results"]]
    assert stages == ["raw read", "sdtm mapping", "conformance", "adam", "xpt write",
                      "dataset-json", "define.xml", "run (end to end)"]
    assert all(r["subjects"] == 1000 and r["seconds"] > 0 for r in data["results"])
    run = data["results"][-1]
    assert 100 < run["peak_rss_mb"] < 6 * 1024           # the child's own peak, in MB
    assert data["targets"] == []                          # only checked with 5,000 and 50,000
    assert data["machine"]["cpus"] >= 1


def _row(n, stage, seconds, peak=1000):
    return {"subjects": n, "stage": stage, "seconds": seconds, "peak_rss_mb": peak}


def test_targets_pass_and_fail_lines(bench):
    results = [_row(5000, "adam", 2.0), _row(50000, "adam", 23.0),
               _row(5000, "xpt write", 1.0), _row(50000, "xpt write", 10.0),
               _row(50000, "run (end to end)", 119.0, peak=7000)]
    lines = bench.check_targets(results)
    assert lines[0].startswith("FAIL run at 50,000 subjects: 119.0 s")      # 7000 MB > 6 GB
    assert "FAIL scaling of adam: time(50,000) / time(5,000) = 11.5 (target <= 11)" in lines
    assert "PASS scaling of xpt write: time(50,000) / time(5,000) = 10.0 (target <= 11)" in lines
    ok = bench.check_targets([_row(50000, "run (end to end)", 100.0, peak=5000)])
    assert ok == ["PASS run at 50,000 subjects: 100.0 s (target < 120), peak 5000 MB "
                  "(target < 6144)"]
