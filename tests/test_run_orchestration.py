"""How ``run`` spreads its steps over processes (``--jobs 2``): a forked SDTM worker checks
conformance, and its verdict stops the run with only the findings reports written, forked
or not and before an error of ADaM's own; the ADaM files other than XPT are written by a
forked child while this process writes the XPT files and goes on with
define.xml and the report (a large study's from the frames the XPT writer returned; a
small study's worker starts once the XPT files are written). The files must be the same
as in one process, a failure in a child must leave the output folder untouched, and ADaM
lets each SDTM domain go once no later step needs it without changing what it derives."""
from __future__ import annotations

from pathlib import Path

import pytest

from cdisc_convert import api
from cdisc_convert.background import Background, can_fork
from cdisc_convert.core.errors import CdiscError
from conftest import golden_tool
from tiny_study import dm_yaml, make_study

needs_fork = pytest.mark.skipif(not can_fork(), reason="forking is used on Linux only")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _data(folder: Path) -> dict[str, bytes]:
    """The files of ``folder`` but the manifests (hidden)."""
    return {name: data for name, data in _files(folder).items()
            if not Path(name).name.startswith(".")}


@needs_fork
def test_a_large_studys_run_in_two_processes_writes_the_same_files(bundled_run, tmp_path,
                                                                    monkeypatch):
    # every study counts as large: the report is drawn in this process from the frames
    # the XPT writer returned, while a child writes the other ADaM formats
    monkeypatch.setattr(api, "REPORT_WORKER_RECORDS", 0)
    monkeypatch.setattr(Background, "done", lambda self: True)   # ADaM's writer forks
    monkeypatch.setenv("SOURCE_DATE_EPOCH", golden_tool().EPOCH)
    api.run_study(out=tmp_path / "out", jobs=2)
    written, expected = _files(tmp_path / "out"), _files(bundled_run)
    assert sorted(written) == sorted(expected)
    assert [name for name in expected if written[name] != expected[name]] == []


@needs_fork
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
    monkeypatch.setattr(Background, "done", lambda self: True)   # ADaM's writer forks
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


SUBJECTS = """
    PT,SEX,START
    1,M,2020-01-02
    2,F,2020-01-03
"""


@pytest.mark.parametrize("jobs", [1, pytest.param(2, marks=needs_fork)])
def test_a_conformance_error_writes_only_the_sdtm_reports(tmp_path, jobs):
    # SEX is required in DM; without it the mapping is clean and conformance is not
    spec, raw = make_study(tmp_path, {"subj": SUBJECTS}, {"dm": dm_yaml(sex=False)})
    out = tmp_path / "out"
    with pytest.raises(CdiscError) as info:
        api.run_study(spec, raw=raw, out=out, jobs=jobs)
    assert info.value.rule == "MAP-ERRORS"
    assert "required variable SEX" in str(info.value)
    assert sorted(_data(out)) == ["sdtm/conformance_findings.csv",
                                  "sdtm/mapping_findings.csv", "sdtm/unmapped.csv"]
    assert "SD-REQ-MISSING" in (out / "sdtm" / "conformance_findings.csv").read_text()


@needs_fork
def test_the_reports_are_the_same_forked_or_not(tmp_path):
    spec, raw = make_study(tmp_path, {"subj": SUBJECTS}, {"dm": dm_yaml(sex=False)})
    outs = []
    for jobs in (1, 2):
        outs.append(tmp_path / f"out{jobs}")
        with pytest.raises(CdiscError):
            api.run_study(spec, raw=raw, out=outs[-1], jobs=jobs)
    assert _data(outs[0]) == _data(outs[1])


AE_YAML = """
domain: AE
records:
  - source: ae
    variables:
      STUDYID: S1
      DOMAIN: AE
      USUBJID: {format: "S1-{PT}"}
      AETERM: {from: TERM}
      AEDECOD: {from: TERM}
derive:
  seq: {by: [USUBJID], order: [AETERM]}
"""


@pytest.mark.parametrize("jobs", [1, pytest.param(2, marks=needs_fork)])
def test_the_conformance_error_comes_before_an_error_of_adam(tmp_path, jobs):
    # an adverse event of subject 3, whom DM does not hold: ADaM refuses it
    # (ADAM-SUBJECT-NOT-IN-DM), and so does conformance (SD-USUBJID-DM, an error); the run
    # names conformance's verdict, as when conformance ran before ADaM was started
    spec, raw = make_study(tmp_path, {"subj": SUBJECTS, "ae": """
        PT,TERM
        1,Headache
        3,Nausea
    """}, {"dm": dm_yaml(), "ae": AE_YAML})
    with pytest.raises(CdiscError) as info:
        api.run_study(spec, raw=raw, out=tmp_path / "out", jobs=jobs)
    assert info.value.rule == "MAP-ERRORS", info.value
    assert "SD-USUBJID-DM" in str(info.value)
    assert sorted(_data(tmp_path / "out")) == [
        "sdtm/conformance_findings.csv", "sdtm/mapping_findings.csv", "sdtm/unmapped.csv"]
