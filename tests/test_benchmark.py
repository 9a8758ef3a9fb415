"""The benchmark's smoke run (N = 1,000) and its target check on a hand-made table."""
from __future__ import annotations

import csv
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


def _data_rows(folder) -> int:
    """Records of the raw CSV tables the bundled study declares, counted with the csv module
    (not the pipeline); the folder may hold tables no domain maps yet (vitals, labs)."""
    from cdisc_convert.sdtm.spec import load_study

    declared = {t.file for t in load_study(REPO / "mappings" / "sorafenib_dtic").tables.values()}
    total = 0
    for path in sorted(p for p in folder.glob("*.csv") if p.name in declared):
        with path.open(newline="", encoding="utf-8") as handle:
            total += sum(1 for _ in csv.reader(handle)) - 1
    return total


@pytest.mark.slow
def test_smoke_run_at_1000_subjects(bench, tmp_path):
    out = tmp_path / "bench.json"
    bench.main(["--subjects", "1000", "--tr-records", "20000", "--xpt-rows", "20000",
                "--json", str(out)])
    data = json.loads(out.read_text())
    rows = {r["stage"]: r for r in data["results"]}
    assert list(rows) == ["raw read", "sdtm mapping", "conformance", "adam", "xpt write",
                          "dataset-json", "dataset-ndjson", "csv write", "dataset-json read",
                          "define.xml", "run (end to end)", "conformance TR",
                          "conformance TR 1% broken"]
    assert all(r["seconds"] > 0 for r in data["results"])
    # every figure is the best of its runs, and a stage runs 3 times iff its first run
    # took under 2 s, wall or CPU (the run itself and the TR checks run once)
    for r in data["results"]:
        if r["stage"].startswith(("run", "conformance TR")):
            assert r["runs"] == 1
            continue
        assert r["runs"] == len(r["samples"]) in (1, 3)
        if r["samples"][0] < 2:
            assert r["runs"] == 3
        assert r["seconds"] == min(r["samples"])
    # the pipeline's figures: 1,000 subjects in DM and ADSL, every raw row read, every
    # record counted once per stage
    counts = data["datasets"]["1000"]
    assert counts["DM"] == counts["ADSL"] == 1000
    assert counts["ADTTE"] >= 2 * 1000     # PFS and OS of every subject, RSD of responders
    assert rows["raw read"]["rows"] == rows["sdtm mapping"]["rows"] == _data_rows(
        bench.raw_tables(1000))
    sdtm = sum(v for k, v in counts.items() if not k.startswith("AD"))
    adam = sum(v for k, v in counts.items() if k.startswith("AD"))
    assert rows["conformance"]["rows"] == rows["adam"]["rows"] == sdtm
    assert rows["xpt write"]["rows"] == rows["csv write"]["rows"] == rows["define.xml"]["rows"] \
        == sdtm + adam
    for r in data["results"]:
        if r["rows"]:
            # seconds are rounded to the millisecond (a relative error of up to 0.0005 /
            # seconds) and rows/s to a whole number (0.5): the two errors add up (a stage of
            # ~10 s on a loaded machine exceeded either bound alone)
            rate = r["rows"] / r["seconds"]
            assert abs(r["rows_per_s"] - rate) <= rate * 0.0006 / r["seconds"] + 1
    # the TR-like frame is valid (two Exp variables left out); 1% broken: 2 findings each
    assert rows["conformance TR"]["findings"] == 2
    assert rows["conformance TR 1% broken"]["findings"] == 2 + 2 * 200
    run = rows["run (end to end)"]
    assert 100 < run["peak_rss_mb"] < 6 * 1024           # the child's own peak, in MB
    # where the time goes: run's own progress steps, in order, covering the whole run
    assert [p["phase"] for p in run["phases"]] == [
        "start (imports, spec checks)", "[1/4] SDTM", "[2/4] ADaM",
        "[3/4] define.xml for SDTM and ADaM", "[4/4] report"]
    assert sum(p["seconds"] for p in run["phases"]) == pytest.approx(run["seconds"], abs=0.5)
    assert all(p["cpu_seconds"] > 0 for p in run["phases"])
    assert sum(p["cpu_seconds"] for p in run["phases"]) <= run["cpu_seconds"] + 0.5
    assert run["bytes_written"] > 10_000_000             # SDTM and ADaM in four formats
    assert data["machine"]["disk_write_mb_per_s"] > 0
    assert data["targets"] == []                          # only checked at 5,000/50,000 subjects
    # XPT against pyreadstat: every frame written and read, same file size within a data set
    xpt = data["xpt"]
    assert {r["operation"] for r in xpt} == {"write", "read"}
    assert {"LB shared", "TR distinct", "TR string[python]"} <= {r["frame"] for r in xpt}
    assert len({r["mb"] for r in xpt if r["frame"].startswith("TR")}) == 1
    assert all(r["rows"] == 20_000 and r["speedup"] > 0 for r in xpt)
    assert data["machine"]["cpus"] >= 1


def _row(n, stage, seconds, peak=1000):
    return {"subjects": n, "stage": stage, "seconds": seconds, "peak_rss_mb": peak}


def test_where_time_goes_gives_phases_and_the_disk_floor(bench):
    run = {**_row(50000, "run (end to end)", 100.0), "cpu_seconds": 120.0,
           "bytes_written": 8_000_000_000,
           "phases": [{"phase": "[1/4] SDTM", "seconds": 40.0, "cpu_seconds": 39.5},
                      {"phase": "[4/4] report", "seconds": 60.0, "cpu_seconds": 80.5}]}
    lines = bench.where_time_goes([_row(5000, "adam", 2.0), run], 400.0)
    assert lines == [
        "disk: sequential write 400 MB/s (1 GiB, fsync)",
        "run at 50,000 subjects: 100.0 s wall, 120.0 CPU s; wrote 8000 MB, floor 20.0 s "
        "at 400 MB/s",
        "    [1/4] SDTM                              40.00 s    39.50 CPU s",
        "    [4/4] report                            60.00 s    80.50 CPU s"]


def test_targets_pass_and_fail_lines(bench):
    results = [_row(5000, "adam", 2.0), _row(50000, "adam", 23.0),
               _row(5000, "xpt write", 1.0), _row(50000, "xpt write", 10.0),
               {**_row(50000, "run (end to end)", 59.0, peak=7000), "peak_pss_mb": 3100}]
    lines = bench.check_targets(results)
    assert lines[0] == ("FAIL run at 50,000 subjects: 59.0 s (target < 60), peak PSS 3100 MB "
                        "(target < 3072)")
    assert ("FAIL scaling of adam: time(50,000) / time(5,000) = 11.5, one run at each size "
            "(target <= 11)") in lines
    assert ("PASS scaling of xpt write: time(50,000) / time(5,000) = 10.0, one run at each "
            "size (target <= 11)") in lines
    # best of 3 on both sides; a ratio of figures timed unlike is not a PASS
    best3 = [{**_row(5000, "raw read", 0.2), "runs": 3}, {**_row(50000, "raw read", 1.8), "runs": 3},
             {**_row(5000, "define.xml", 0.9), "runs": 3}, {**_row(50000, "define.xml", 3.6)}]
    assert bench.check_targets(best3)[1:] == [
        "FAIL scaling of define.xml: time(50,000) / time(5,000) = 4.0, NOT COMPARABLE: 3 "
        "run(s) at 5,000, 1 at 50,000 (target <= 11)",
        "PASS scaling of raw read: time(50,000) / time(5,000) = 9.0, best of 3 runs at each "
        "size (target <= 11)"]
    ok = bench.check_targets([{**_row(50000, "run (end to end)", 50.0), "peak_pss_mb": 2000}])
    assert ok == ["PASS run at 50,000 subjects: 50.0 s (target < 60), peak PSS 2000 MB "
                  "(target < 3072)"]
    phases = [{"phase": "[1/4] SDTM", "seconds": 20.0, "cpu_seconds": 20.0},
              {"phase": "[4/4] report", "seconds": 5.2, "cpu_seconds": 5.0}]
    run50 = {**_row(50000, "run (end to end)", 50.0), "peak_pss_mb": 2000, "phases": phases}
    assert len(bench.check_targets([run50])) == 1      # the report phase is our goal
    stages = [{**_row(50000, "dataset-json", 4.0), "mb_per_s": 251.0},
              {**_row(50000, "csv write", 4.0), "mb_per_s": 240.0},
              {**_row(50000, "xpt write", 4.0), "mb_per_s": 260.0},
              {**_row(50000, "dataset-json read", 9.0), "mb_per_s": 120.4},
              _row(50000, "define.xml", 5.5), _row(1000, "run (end to end)", 9.0)]
    assert bench.check_goals([*stages, run50]) == [
        "PASS xpt write at 50,000 subjects: 260 MB/s (goal >= 250)",
        "FAIL csv write at 50,000 subjects: 240 MB/s (goal >= 250)",
        "FAIL report phase of run at 50,000 subjects: 5.2 s (goal <= 5)"]
    assert bench.check_targets(stages) == [
        "PASS dataset-json at 50,000 subjects: 251 MB/s (target >= 250)",
        "FAIL dataset-json read at 50,000 subjects: 120 MB/s (target >= 250)",
        "FAIL define.xml at 50,000 subjects: 5.5 s (target <= 5)",
        "PASS smoke run at 1,000 subjects: 9.0 s (target < 10)"]
    tr = [{"subjects": None, "records": 1_000_000, "stage": "conformance TR", "seconds": 16.0},
          {"subjects": None, "records": 1_000_000, "stage": "conformance TR 1% broken",
           "seconds": 19.0},
          {"subjects": None, "records": 20_000, "stage": "conformance TR", "seconds": 99.0}]
    assert bench.check_targets(tr) == [
        "FAIL conformance TR at 1,000,000 records: 16.0 s (target < 15)",
        "PASS conformance TR 1% broken at 1,000,000 records: 19.0 s (target < 20)"]
    xpt = [{"frame": "TR distinct", "operation": "write", "rows": 1_000_000, "columns": 14,
            "speedup": 10.4},
           {"frame": "TR distinct", "operation": "read", "rows": 1_000_000, "columns": 14,
            "speedup": 9.9}]
    assert bench.check_targets([], xpt) == [
        "PASS xpt write TR distinct (1,000,000 rows x 14): 10.4x pyreadstat (target >= 10x)",
        "FAIL xpt read TR distinct (1,000,000 rows x 14): 9.9x pyreadstat (target >= 10x)"]


def test_short_stages_run_three_times_and_the_top_size_inherits(bench):
    assert bench.runs_for(1.99) == 3 and bench.runs_for(0.01) == 3
    assert bench.runs_for(2.0) == 1 and bench.runs_for(25.0) == 1
    assert bench.runs_for(0.1, inherited=1) == 1      # the top size follows its base size
    assert bench.runs_for(20.0, inherited=3) == 3
    # the stages writing files: best of WRITE_RUNS at both sizes of the scaling ratio
    assert bench.write_stage_runs(bench.SCALING_BASE) == bench.WRITE_RUNS == 5
    assert bench.write_stage_runs(bench.SCALING_TOP, inherited=5) == 5
    assert bench.write_stage_runs(1_000) is None
    results = [{**_row(1000, "raw read", 0.05), "runs": 3},
               {**_row(5000, "raw read", 0.16), "runs": 3},
               {**_row(5000, "sdtm mapping", 2.7), "runs": 1},
               {**_row(5000, "run (end to end)", 11.0), "runs": 1}]
    assert bench.inherited_runs(results, 50000) == {"raw read": 3, "sdtm mapping": 1,
                                                    "run (end to end)": 1}
    assert bench.inherited_runs(results, 5000) is None
    assert bench.inherited_runs(results, 1000) is None
    assert bench.inherited_runs(results[:1], 50000) is None     # no base size timed


def _clock(*durations):
    """A clock that advances by each duration in turn between a start and an end reading."""
    ticks, now = [], 0.0
    for d in durations:
        ticks += [now, now + d]
        now += d + 128     # binary fractions: the differences come out exact
    return iter(ticks).__next__


def test_best_of_keeps_the_fastest_run_and_repeats_only_short_stages(bench):
    calls, cleaned = [], []

    def work():
        calls.append(len(calls))
        return len(calls)

    result, timing = bench.best_of(work, before=lambda: cleaned.append(len(calls)),
                                   clock=_clock(0.5, 0.25, 0.375),
                                   cpu_clock=_clock(0.625, 0.125, 0.5))
    assert result == 3 and calls == [0, 1, 2] and cleaned == [1, 2]   # not before the first
    assert timing == {"seconds": 0.25, "cpu": 0.125, "samples": [0.5, 0.25, 0.375], "runs": 3}
    # a long first run is the only run; a fixed number of runs overrides the first timing
    _, timing = bench.best_of(work, clock=_clock(2.5), cpu_clock=_clock(2.25))
    assert timing["runs"] == 1 and timing["seconds"] == 2.5
    # short in CPU but long in wall (the machine was busy) or the reverse (threads): short
    for wall, cpu in ((2.5, 1.5), (1.5, 2.5)):
        _, timing = bench.best_of(work, clock=_clock(wall, 1, 1), cpu_clock=_clock(cpu, 1, 1))
        assert timing["runs"] == 3
    _, timing = bench.best_of(work, runs=3, clock=_clock(2.5, 2.0, 2.25),
                              cpu_clock=_clock(1, 1, 1))
    assert timing["samples"] == [2.5, 2.0, 2.25] and timing["seconds"] == 2.0
    _, timing = bench.best_of(work, runs=1, clock=_clock(0.1), cpu_clock=_clock(0.1))
    assert timing["runs"] == 1
    # minus: a part timed elsewhere comes off every run before the rule is applied
    _, timing = bench.best_of(work, minus=(0.5, 0.25), clock=_clock(2.25, 2.0, 2.125),
                              cpu_clock=_clock(2.0, 2.0, 2.0))
    assert timing == {"seconds": 1.5, "cpu": 1.75, "samples": [1.75, 1.5, 1.625], "runs": 3}
