"""A command writes only what it owns: never into an input, never over files it did not write,
all-or-nothing, one writer at a time; and every way out of a command has its exit code.

The slow kill/full-disk/concurrency tests of a whole ``run`` are in test_process_faults.py.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat

import pytest
from click.testing import CliRunner

from cdisc_convert import api, cli
from cdisc_convert.cli import main
from cdisc_convert.core.errors import OutputError, Terminated
from cdisc_convert.io import atomic, output
from cdisc_convert.io.output import MANIFEST, lock, output_folder
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"
RAW = REPO / "fixtures" / "sorafenib_dtic" / "raw"


def tree_hashes(folder):
    """{relative path: sha256} of every file under ``folder`` (hidden ones included)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture()
def project(tmp_path):
    """A copy of the bundled study and its raw tables, as a user would have them."""
    shutil.copytree(STUDY, tmp_path / "study")
    shutil.copytree(RAW, tmp_path / "raw")
    return tmp_path


@pytest.fixture(scope="module")
def built(bundled_run):
    """SDTM and ADaM folders written by the tool: the session's one run of the bundled
    study (conftest.bundled_run), read-only for the tests (they copy what they change)."""
    return bundled_run


# ---------------------------------------------------------------------------------------
# overlapping inputs: refused before anything is written
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["sdtm", "study", "--raw", "raw", "--out", "raw"],
    ["sdtm", "study", "--raw", "raw", "--out", "study"],
    ["sdtm", "study", "--raw", "raw", "--out", "study/sub"],
    ["sdtm", "study", "--raw", "raw", "--out", "raw/sdtm"],
    ["sdtm", "study", "--raw", "raw", "--out", "."],
    ["run", "study", "--raw", "raw", "--out", "raw"],
    ["run", "study", "--raw", "raw", "--out", "study"],
    ["run", "study", "--out", "raw"],                 # the raw folder named by study.yaml
    ["adam", "raw", "--out", "raw"],
    ["adam", "raw", "--out", "raw/adam"],
    ["adam", "raw", "--config", "study/adam.yaml", "--out", "study"],
    ["report", "raw", "--out", "raw"],
    ["report", "study/..", "--out", "study/../x"],    # inside the ADaM folder
])
def test_output_overlapping_an_input_is_refused_and_nothing_changes(runner, project, monkeypatch,
                                                                    command):
    if command[:2] == ["run", "study"] and "--raw" not in command:
        (project / "study" / "study.yaml").write_text(
            (project / "study" / "study.yaml").read_text().replace(
                "../../fixtures/sorafenib_dtic/raw", "../raw"))
    before = tree_hashes(project)
    monkeypatch.chdir(project)
    result = runner.invoke(main, command)
    assert result.exit_code == 2, result.output
    assert "[OUT-OVERLAPS-INPUT]" in result.output and "never writes into its inputs" in result.output
    assert "Traceback" not in result.output
    assert tree_hashes(project) == before
    assert sorted(p.name for p in project.iterdir()) == ["raw", "study"]


def test_raw_folder_of_study_yaml_is_what_the_bundled_spec_names():
    """The parametrised case above rewrites this path: it must be the one study.yaml has."""
    assert "../../fixtures/sorafenib_dtic/raw" in (STUDY / "study.yaml").read_text()


def test_out_dot_in_an_empty_folder_is_refused_and_leaves_nothing(runner, project, monkeypatch):
    here = project / "empty"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(main, ["sdtm", "../study", "--raw", "../raw", "--out", "."])
    assert result.exit_code == 2, result.output
    assert "[OUT-IS-CWD]" in result.output and "Traceback" not in result.output
    assert list(here.iterdir()) == []
    assert sorted(p.name for p in project.iterdir()) == ["empty", "raw", "study"]


# ---------------------------------------------------------------------------------------
# foreign folders and files; --force
# ---------------------------------------------------------------------------------------
def test_foreign_non_empty_folder_is_refused_then_replaced_with_force(runner, built, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    args = ["report", str(built / "adam"), "--out", str(out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "[OUT-FOREIGN]" in result.output and "notes.txt" in result.output
    assert "--force" in result.output
    assert (out / "notes.txt").read_text() == "my notes" and len(list(out.iterdir())) == 1
    result = runner.invoke(main, args + ["--force"])
    assert result.exit_code == 0, result.output
    assert not (out / "notes.txt").exists() and (out / "results.json").is_file()
    assert (out / MANIFEST).is_file()


def test_own_output_is_replaced_but_not_when_a_user_file_was_added(runner, built, tmp_path):
    out = tmp_path / "report"
    args = ["report", str(built / "adam"), "--out", str(out)]
    assert runner.invoke(main, args).exit_code == 0
    first = tree_hashes(out)
    assert "results.json" in first and MANIFEST in first
    assert runner.invoke(main, args).exit_code == 0          # its own output: replaced
    assert tree_hashes(out) == first
    (out / "figures").mkdir()
    (out / "figures" / "mine.svg").write_text("<svg/>")
    result = runner.invoke(main, args)
    assert result.exit_code == 2 and "figures/mine.svg" in result.output, result.output
    assert (out / "figures" / "mine.svg").is_file()


def test_a_garbled_manifest_does_not_make_a_folder_ours(tmp_path):
    (tmp_path / "data.csv").write_text("a\n1\n")
    (tmp_path / MANIFEST).write_text('{"files": ["data.csv"]}')    # not written by the tool
    assert output.foreign_files(tmp_path) == ["data.csv"]
    (tmp_path / MANIFEST).write_text("{not json")
    assert output.foreign_files(tmp_path) == ["data.csv"]


def test_an_existing_file_where_the_folder_should_be_is_refused(runner, built, tmp_path):
    (tmp_path / "out").write_text("a file")
    result = runner.invoke(main, ["report", str(built / "adam"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (tmp_path / "out").read_text() == "a file"


def test_define_and_validate_write_only_files_they_own(runner, built, tmp_path):
    sdtm = tmp_path / "sdtm"
    shutil.copytree(built / "sdtm", sdtm)
    before = tree_hashes(sdtm)
    # a define that is not .xml (its .html sibling would be itself), or inside the study
    result = runner.invoke(main, ["define", str(sdtm), "--out", str(sdtm / "dm.html")])
    assert result.exit_code == 2 and "[OUT-NOT-XML]" in result.output, result.output
    study = tmp_path / "study"
    shutil.copytree(STUDY, study)
    result = runner.invoke(main, ["define", str(sdtm), "--study", str(study),
                                  "--out", str(study / "define.xml")])
    assert result.exit_code == 2 and "[OUT-OVERLAPS-INPUT]" in result.output, result.output
    # a report that would be read back as a dataset, or that overwrites the define it reads
    result = runner.invoke(main, ["validate", str(sdtm), "--format", "csv",
                                  "--out", str(sdtm / "dm.csv")])
    assert result.exit_code == 2 and "[OUT-OVERLAPS-INPUT]" in result.output, result.output
    result = runner.invoke(main, ["validate", str(sdtm), "--define", str(sdtm / "define.xml"),
                                  "--out", str(sdtm / "define.xml")])
    assert result.exit_code == 2 and "[OUT-OVERLAPS-INPUT]" in result.output, result.output
    assert tree_hashes(sdtm) == before
    # a file the user wrote is not replaced without --force (two datasets are enough to
    # validate: the rules are about the report file, not the data)
    two = tmp_path / "two"
    two.mkdir()
    for name in ("dm.xpt", "ae.xpt"):
        shutil.copy(sdtm / name, two / name)
    mine = tmp_path / "report.html"
    mine.write_text("mine")
    result = runner.invoke(main, ["validate", str(two), "--out", str(mine)])
    assert result.exit_code == 2 and "[OUT-FOREIGN]" in result.output, result.output
    assert mine.read_text() == "mine"
    assert runner.invoke(main, ["validate", str(two), "--out", str(mine), "--force"]).exit_code \
        in (0, 1)
    assert mine.read_text() != "mine"
    # ... and once written it is ours: listed in the folder's manifest, replaced freely
    assert "report.html" in output.read_manifest(tmp_path)["files"]
    mine.write_text("an earlier report")
    assert runner.invoke(main, ["validate", str(two), "--out", str(mine)]).exit_code in (0, 1)
    assert "an earlier report" not in mine.read_text()
    # the define of a run's folder was written by the run: replaced without --force
    result = runner.invoke(main, ["define", str(sdtm), "--study", str(STUDY)])
    assert result.exit_code == 0, result.output
    # a folder the tool did not write: the define's files are recorded as the tool's
    loose = tmp_path / "loose"
    loose.mkdir()
    for name in ("dm.xpt", "ae.xpt"):
        shutil.copy(sdtm / name, loose / name)
    assert runner.invoke(main, ["define", str(loose)]).exit_code in (0, 1)
    assert output.read_manifest(loose)["files"] == ["define.html", "define.xml", "define2-1.xsl"]
    assert output.foreign_files(loose) == ["ae.xpt", "dm.xpt"]


# ---------------------------------------------------------------------------------------
# all-or-nothing, stale staging folders, umask, lock
# ---------------------------------------------------------------------------------------
def _fill(folder, text):
    (folder / "sub").mkdir()
    (folder / "sub" / "a.txt").write_text(text)
    (folder / "b.txt").write_text(text)


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), Terminated(),
                                   OSError(errno.ENOSPC, "No space left on device")])
def test_a_failure_inside_leaves_the_previous_output_and_no_staging(tmp_path, error):
    target = tmp_path / "out"
    with output_folder(target, command="test", inputs={}) as staging:
        _fill(staging, "old")
    before = tree_hashes(target)
    with pytest.raises(type(error)):
        with output_folder(target, command="test", inputs={}) as staging:
            _fill(staging, "new")
            raise error
    assert tree_hashes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "fallback"])
def test_success_swaps_the_whole_tree_and_lists_it(tmp_path, monkeypatch, exchange):
    if exchange and not atomic.exchange(*_two_folders(tmp_path)):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    if not exchange:
        monkeypatch.setattr(atomic, "exchange", lambda a, b: False)
    target = tmp_path / "out"
    for text in ("old", "new"):
        with output_folder(target, command="test", inputs={}) as staging:
            _fill(staging, text)
    assert (target / "sub" / "a.txt").read_text() == "new"
    assert output.read_manifest(target)["files"] == ["b.txt", "sub/a.txt"]
    assert output.read_manifest(target / "sub")["files"] == ["a.txt"]
    assert output.foreign_files(target) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name not in "xy") == ["out"]


def _two_folders(base):
    (base / "x").mkdir()
    (base / "y").mkdir()
    (base / "x" / "mark").write_text("x")
    return base / "x", base / "y"


def test_exchange_really_swaps(tmp_path):
    x, y = _two_folders(tmp_path)
    if not atomic.exchange(x, y):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert not (x / "mark").exists() and (y / "mark").read_text() == "x"


def test_stale_staging_of_a_killed_run_is_removed_and_a_half_swap_undone(tmp_path):
    target = tmp_path / "out"
    with output_folder(target, command="test", inputs={}) as staging:
        _fill(staging, "old")
    stale = tmp_path / ".out.cdisc-convert-staging.0123456789ab"
    _fill(stale.mkdir() or stale, "half")
    user = tmp_path / ".out.keep"                       # not ours: never touched
    user.mkdir()
    with output_folder(target, command="test", inputs={}) as staging:
        _fill(staging, "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.keep", "out"]
    # killed between the fallback's two renames: the old output waits under its hidden name
    os.rename(target, tmp_path / ".out.cdisc-convert-old.0123456789ab")
    with output_folder(target, command="test", inputs={}) as staging:
        assert (target / "b.txt").read_text() == "new"  # moved back before anything else
        _fill(staging, "newer")
    assert (target / "b.txt").read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.keep", "out"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_output_folders_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        with output_folder(tmp_path / "a" / "out", command="test", inputs={}) as staging:
            _fill(staging, "x")
    finally:
        os.umask(old)
    for path in (tmp_path / "a", tmp_path / "a" / "out", tmp_path / "a" / "out" / "sub"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o777 & ~umask, path
    assert stat.S_IMODE((tmp_path / "a" / "out" / MANIFEST).stat().st_mode) == 0o666 & ~umask


def test_a_second_writer_of_the_same_folder_is_refused(runner, built, tmp_path):
    out = tmp_path / "report"
    with lock(out):
        result = runner.invoke(main, ["report", str(built / "adam"), "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert "[OUT-LOCKED]" in result.output and str(os.getpid()) in result.output
        assert not out.exists()
    assert not list(tmp_path.iterdir())                  # the lock file goes with the lock
    assert runner.invoke(main, ["report", str(built / "adam"), "--out", str(out)]).exit_code == 0


def test_unwritable_place_is_a_clear_error(runner, built, tmp_path):
    """A file where a folder is expected cannot be written into, even by root."""
    (tmp_path / "file").write_text("x")
    result = runner.invoke(main, ["report", str(built / "adam"), "--out",
                                  str(tmp_path / "file" / "report")])
    assert result.exit_code == 2, result.output
    assert "[OUT-UNWRITABLE]" in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------------------------------
# exit codes
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("error,code,text", [
    (ValueError("unexpected\nsecond line"), cli.EXIT_INTERNAL, "Internal error: ValueError: unexpected"),
    (KeyboardInterrupt(), cli.EXIT_INTERRUPTED, "Interrupted"),
    (Terminated(), cli.EXIT_TERMINATED, "Terminated"),
    (OSError(errno.ENOSPC, "No space left on device", "x.xpt"), 2, "x.xpt: No space left on device"),
    (OutputError("no", rule="OUT-X"), 2, "Error: no [OUT-X]"),
])
def test_every_way_out_has_its_exit_code(runner, monkeypatch, built, tmp_path, error, code, text):
    def broken(*_a, **_k):
        raise error

    monkeypatch.setattr(api, "write_report", broken)
    result = runner.invoke(main, ["report", str(built / "adam"), "--out", str(tmp_path / "r")])
    assert result.exit_code == code, result.output
    assert text in result.output and "Traceback" not in result.output
    if code == cli.EXIT_INTERNAL:
        assert "please report" in result.output and "second line" not in result.output
        debug = runner.invoke(main, ["--debug", "report", str(built / "adam"), "--out",
                                     str(tmp_path / "r")])
        assert debug.exit_code == code and "Traceback" in debug.output


@pytest.mark.parametrize("command", ["run", "sdtm", "adam", "validate", "define", "report"])
def test_help_states_exit_codes_output_rule_and_an_example(runner, command):
    text = " ".join(runner.invoke(main, [command, "--help"]).output.split())
    for phrase in ("130 interrupted", "70 internal", "2 unusable", "Example: cdisc-convert",
                   "--force"):
        assert phrase in text, (command, phrase)


def test_errors_name_the_output_folder_not_the_staging_folder(tmp_path):
    from cdisc_convert.core.errors import CdiscError

    target = tmp_path / "out"
    with pytest.raises(CdiscError) as caught:
        with output_folder(target, command="test", inputs={}) as staging:
            raise CdiscError("cannot write", file=staging / "dm.xpt", details=[f"{staging}/x"])
    assert str(caught.value) == f"{target}/dm.xpt: cannot write\n  - {target}/x"
    with pytest.raises(OSError) as caught:
        with output_folder(target, command="test", inputs={}) as staging:
            (staging / "no" / "such").read_text()
    assert caught.value.filename == str(target / "no" / "such")
