"""How ``run`` spreads its steps over processes (``--jobs 2``): the ADaM files other than
XPT are written by a forked child while this process writes the XPT files and goes on with
define.xml and the report (a large study's from the frames the XPT writer returned; a
small study's worker starts once the XPT files are written). The files must be the same
as in one process, a failure in a child must leave the output folder untouched, and ADaM
lets each SDTM domain go once no later step needs it without changing what it derives."""
from __future__ import annotations

from pathlib import Path

import pytest

from cdisc_convert import api
from cdisc_convert.background import can_fork
from cdisc_convert.core.errors import CdiscError
from conftest import golden_tool

pytestmark = pytest.mark.skipif(not can_fork(), reason="forking is used on Linux only")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


# a whole second run of the bundled study (5 s): an end-to-end test, in the full suite
# (.ci/run); the fast tier keeps the large path through its fork by
# test_a_failing_adam_writer_child_fails_the_run_and_writes_nothing[True]
@pytest.mark.slow
def test_a_large_studys_run_in_two_processes_writes_the_same_files(bundled_run, tmp_path,
                                                                    monkeypatch, forks):
    # every study counts as large: the report is drawn in this process from the frames
    # the XPT writer returned, while a child writes the other ADaM formats; the report
    # itself stays in one process (no third beside the ADaM writer), however large
    monkeypatch.setattr(api, "REPORT_WORKER_RECORDS", 0)
    monkeypatch.setattr(api, "REPORT_SPLIT_RECORDS", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", golden_tool().EPOCH)
    api.run_study(out=tmp_path / "out", jobs=2)
    written, expected = _files(tmp_path / "out"), _files(bundled_run)
    assert sorted(written) == sorted(expected)
    assert [name for name in expected if written[name] != expected[name]] == []
    assert "writing the ADaM datasets" in forks
    assert "the report's results and figures" not in forks


def test_the_report_command_computes_the_results_beside_the_tables(bundled_run, tmp_path,
                                                                   monkeypatch, forks):
    """``write_report`` (the report command, nothing else running) makes a large study's
    results and figures in a forked child while it builds the tables."""
    from cdisc_convert.core.resources import bundled_study

    monkeypatch.setattr(api, "REPORT_SPLIT_RECORDS", 0)
    monkeypatch.setattr(api, "default_jobs", lambda: 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", golden_tool().EPOCH)
    api.write_report(bundled_run / "adam", out=tmp_path / "report", study=bundled_study())
    assert forks == ["the report's results and figures"]
    written = _files(tmp_path / "report")
    del written[".cdisc-convert-manifest"]          # names the command: report, not run
    assert written == {name: (bundled_run / "report" / name).read_bytes() for name in written}
    assert "results.json" in written


@pytest.mark.parametrize("large", [False, True])
def test_a_failing_adam_writer_child_fails_the_run_and_writes_nothing(tmp_path, monkeypatch,
                                                                       large):
    import cdisc_convert.io.datasetjson as datasetjson

    def broken(frame, path, **kwargs):
        if Path(path).stem.startswith("ad"):          # SDTM is written; ADaM's child fails
            raise CdiscError("the disk is full", file=path, rule="TEST-WRITE")
        return write(frame, path, **kwargs)

    write = datasetjson.write_dataset_json
    monkeypatch.setattr(datasetjson, "write_dataset_json", broken)   # inherited by the fork
    if large:
        monkeypatch.setattr(api, "REPORT_WORKER_RECORDS", 0)
    out = tmp_path / "out"
    with pytest.raises(CdiscError) as info:
        api.run_study(out=out, jobs=2)
    assert info.value.rule == "TEST-WRITE"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []       # no staging folder left


def test_adam_that_drops_each_sdtm_domain_when_done_derives_the_same(bundled_sdtm):
    import pandas as pd

    from cdisc_convert.adam.config import load_adam_config
    from cdisc_convert.adam.pipeline import build_adam_datasets
    from cdisc_convert.core.resources import bundled_study

    config = load_adam_config(bundled_study() / "adam.yaml")
    kept, released = dict(bundled_sdtm.domains), dict(bundled_sdtm.domains)
    whole = build_adam_datasets(kept, config)
    lean = build_adam_datasets(released, config, release=True)
    assert len(kept) == len(bundled_sdtm.domains) and "LB" in kept
    assert not {"TR", "TU", "RS", "AE", "LB", "VS", "EX", "DM"} & set(released)
    assert list(lean.datasets) == list(whole.datasets)
    for name, frame in whole.datasets.items():
        pd.testing.assert_frame_equal(lean.datasets[name], frame)
    pd.testing.assert_frame_equal(lean.reconciliation, whole.reconciliation)


def test_each_adam_dataset_is_finished_once_no_later_step_reads_it(bundled_sdtm):
    """``build_adam_datasets(finished=...)`` hands each data set over once: ``run`` holds
    its text as codes from then on, so a later step reading it would see them. Finishing
    each as codes derives the same data sets (no later step reads a finished one)."""
    import numpy as np
    import pandas as pd

    from cdisc_convert.adam.config import load_adam_config
    from cdisc_convert.adam.pipeline import build_adam_datasets
    from cdisc_convert.core.resources import bundled_study
    from cdisc_convert.io.numbering import compact_text, expand_text

    config = load_adam_config(bundled_study() / "adam.yaml")
    whole = build_adam_datasets(dict(bundled_sdtm.domains), config)
    seen = []

    def finished(name, frame):
        seen.append(name)
        return compact_text(frame)

    lean = build_adam_datasets(dict(bundled_sdtm.domains), config, release=True,
                               finished=finished)
    assert sorted(seen) == sorted(whole.datasets)
    assert seen[:3] == ["ADEX", "ADTTE", "ADRS"] and seen[-1] == "ADSL"
    assert list(lean.datasets) == list(whole.datasets)
    for name, frame in whole.datasets.items():
        assert any(isinstance(t, pd.CategoricalDtype) for t in lean.datasets[name].dtypes)
        # text held as codes comes back with NaN for a missing value, where None was
        text = frame.select_dtypes(object).columns
        expected = frame.assign(**{c: frame[c].where(frame[c].notna(), np.nan) for c in text})
        pd.testing.assert_frame_equal(expand_text(lean.datasets[name]), expected)


def _sdtm_writer_state(domains, tracked):
    """The SDTM writer (``api._write_described``) with its describing step replaced by a
    look at what the writer left alive: the frames still in ``domains`` and the tracked
    frames not yet freed."""
    import gc

    gc.collect()
    return {"left": sorted(domains), "alive": sorted(n for n, ref in tracked.items() if ref() is not None)}


@pytest.mark.parametrize("fork", [True, False])
def test_the_forked_sdtm_writer_lets_each_domain_go_once_written(tmp_path, monkeypatch, fork):
    """In a forked child the writer consumes its copy-on-write view of the domains: a
    frame is freed once its files are written (what only the child holds, such as the
    traceability columns the parent dropped, is not kept to the end); run in this
    process, it leaves them all to the ADaM step after it."""
    import weakref

    import pandas as pd

    from cdisc_convert.background import Background, in_child

    domains = {name: pd.DataFrame({"STUDYID": ["S1"] * 3, "DOMAIN": [name] * 3,
                                   "USUBJID": ["1", "2", "3"], "__row": [1, 2, 3]})
               for name in ("DM", "AE")}
    tracked = {name: weakref.ref(frame) for name, frame in domains.items()}
    monkeypatch.setattr(api, "_describe",
                        lambda folder, **_: _sdtm_writer_state(domains, tracked))
    state = Background("writing", api._write_described, domains, tmp_path / "sdtm",
                       study=None, shown=tmp_path, formats=("csv",), presorted=True,
                       fork=fork).result()
    assert in_child() is False
    assert sorted(p.name for p in (tmp_path / "sdtm").iterdir()) == ["ae.csv", "dm.csv"]
    if fork:
        assert state == {"left": [], "alive": []}
    else:
        assert state == {"left": ["AE", "DM"], "alive": ["AE", "DM"]}
    assert sorted(domains) == ["AE", "DM"]          # this process's frames are untouched


def test_the_forked_sdtm_writer_describes_its_xpt_files_first(tmp_path, monkeypatch):
    """With XPT and other formats, the forked SDTM writer writes and describes the XPT
    files first (describing overlaps ADaM's first steps, not its largest), then writes the
    other formats, the domains ADaM keeps longest last, in the order it lets them go."""
    import pandas as pd

    from cdisc_convert.background import Background
    from cdisc_convert.io import folder as io_folder

    log = tmp_path / "written.txt"
    write = io_folder.write_dataset_files

    def logged(frame, name, out, **kwargs):      # in the child: the log is a file
        with open(log, "a") as handle:
            handle.write(f"{name} {'+'.join(kwargs['formats'])}\n")
        return write(frame, name, out, **kwargs)

    def described(folder, *, xpt_frames, **_):
        return {"files": sorted(p.name for p in folder.iterdir()),
                "frames": sorted(xpt_frames)}

    monkeypatch.setattr(io_folder, "write_dataset_files", logged)
    monkeypatch.setattr(api, "_describe", described)
    names = ("AE", "DM", "LB", "RS", "SV")
    domains = {name: pd.DataFrame({"STUDYID": ["S1"] * 2, "DOMAIN": [name] * 2,
                                   "USUBJID": ["1", "2"]}) for name in names}
    state = Background("writing", api._write_described, domains, tmp_path / "sdtm",
                       study=None, shown=tmp_path, formats=("xpt", "csv"), presorted=True,
                       late=("RS", "LB", "AE")).result()
    assert state == {"files": [f"{n.lower()}.xpt" for n in names], "frames": list(names)}
    assert log.read_text().splitlines() == [f"{n} xpt" for n in names] + [
        "DM csv", "SV csv", "RS csv", "LB csv", "AE csv"]
    assert sorted(p.name for p in (tmp_path / "sdtm").iterdir()) == sorted(
        f"{n.lower()}.{ext}" for n in names for ext in ("xpt", "csv"))


def test_release_order_is_the_order_build_adam_datasets_lets_the_domains_go(bundled_sdtm,
                                                                             monkeypatch):
    """``release_order`` (which the forked SDTM writer uses to write last what ADaM keeps
    longest) states the order of ``build_adam_datasets``' own ``_release`` calls: each
    domain it names goes no earlier than the one before it, and every domain it does not
    name goes at the first release."""
    from cdisc_convert.adam import pipeline
    from cdisc_convert.adam.config import load_adam_config
    from cdisc_convert.core.resources import bundled_study

    config = load_adam_config(bundled_study() / "adam.yaml")
    stage = [0]
    monkeypatch.setattr(pipeline, "release_free_memory", lambda: stage.__setitem__(0, stage[0] + 1))
    dropped: dict[str, int] = {}

    class Recording(dict):
        def __delitem__(self, name):
            dropped[name] = stage[0]
            super().__delitem__(name)

    pipeline.build_adam_datasets(Recording(bundled_sdtm.domains), config, release=True)
    order = [name for name in pipeline.release_order(config) if name in dropped]
    assert {"RS", "TU", "TR", "AE", "LB", "VS"} <= set(order)
    stages = [dropped[name] for name in order]
    assert stages == sorted(stages) and stages[0] < stages[-1]
    others = [dropped[name] for name in dropped if name not in order]
    assert others and max(others) <= stages[0]


def _broken(domains: dict, names=("DM", "LB", "AE", "VS", "TR")) -> dict:
    """``domains`` with USUBJID blank in two records of each of ``names`` (copies): error
    findings in those data sets, and in every other one whose subjects DM then lacks."""
    out = dict(domains)
    for name in names:
        frame = out[name].copy()
        frame.loc[[1, 3], "USUBJID"] = None
        out[name] = frame
    return out


def test_conformance_checked_in_two_processes_finds_what_one_check_finds(bundled_sdtm,
                                                                           monkeypatch):
    """``run`` checks a large study's conformance in two processes (each checks about half
    of the data sets beside DM): the findings, DM's own once, in the order and with the
    types of ``check_folder`` over all of them."""
    import pandas as pd

    from cdisc_convert.conformance.schemas import check_folder
    from cdisc_convert.io.folder import key_positions

    monkeypatch.setattr(api, "CHECK_SPLIT_RECORDS", 0)
    domains = _broken(bundled_sdtm.domains)
    standard = bundled_sdtm.study.standard
    whole = check_folder(domains, standard=standard)
    child, parent = api._share_out(domains)
    assert sorted(child + parent) == sorted(domains) and not set(child) & set(parent)
    for part in (child, parent):                  # both processes have findings to give
        assert len(set(whole["dataset"]) & set(part)) >= 3
    assert (whole["dataset"] == "DM").any()
    positions: dict = {}
    split = api._check_conformance(domains, standard=standard, fork=True, positions=positions)
    pd.testing.assert_frame_equal(split, whole)
    # and each process found the key order of its data sets, for sort_by_keys after it
    expected = {name: key_positions(frame, name, standard) for name, frame in domains.items()}
    assert sorted(positions) == sorted(n for n, found in expected.items() if found is not None)
    assert {"TR", "RS", "LB", "DM"} <= set(positions)
    for name, found in positions.items():
        assert found.tolist() == expected[name].tolist()
    clean = api._check_conformance(bundled_sdtm.domains, standard=standard, fork=True)
    pd.testing.assert_frame_equal(clean, check_folder(bundled_sdtm.domains, standard=standard))


def test_conformance_errors_found_by_the_checking_child_stop_run_as_in_one_process(
        bundled_sdtm, tmp_path, monkeypatch):
    """An error finding in a data set the forked child checks stops ``run`` as it does in
    one process: the same message, only the SDTM findings reports in the output."""
    from cdisc_convert.sdtm import engine

    mapped = engine.map_study

    def map_study(*args, **kwargs):
        result = mapped(*args, **kwargs)
        result.domains.update(_broken(result.domains, names=("TR",)))
        return result

    monkeypatch.setattr(engine, "map_study", map_study)
    monkeypatch.setattr(api, "CHECK_SPLIT_RECORDS", 0)
    outcome = {}
    for jobs in (2, 1):
        with pytest.raises(CdiscError) as info:
            api.run_study(out=tmp_path / f"jobs{jobs}", jobs=jobs)
        outcome[jobs] = (info.value.rule, str(info.value).replace(f"jobs{jobs}", "out"),
                         _files(tmp_path / f"jobs{jobs}"))
    assert "TR" in api._share_out(bundled_sdtm.domains)[0]      # the child's part
    assert outcome[2] == outcome[1]
    rule, message, files = outcome[2]
    assert rule == "MAP-ERRORS" and "conformance error(s); no datasets written" in message
    assert sorted(files) == [".cdisc-convert-manifest", "sdtm/.cdisc-convert-manifest",
        "sdtm/conformance_findings.csv", "sdtm/mapping_findings.csv", "sdtm/unmapped.csv"]
