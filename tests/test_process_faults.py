"""Process faults of a whole ``run`` in a real process: killed at several points (SIGINT,
SIGTERM, SIGKILL), out of disk, a read-only place, two runs at once.

Each case starts over a previous complete output (the new run's output with a line added to
every file, so that each file tells whether it is previous or new) and checks that the
output folder then holds exactly the previous output or exactly the new one, that no
process of the run survives, that nothing is left beside the folder, and that a later run
completes normally. The kill cases take a run each: they are marked ``slow``.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"
NEW_EPOCH = "1700000000"
TIMEOUT = 240            # seconds for one run on a busy machine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="signals, /proc and fork as on Linux")


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-c", "from cdisc_convert.cli import main; main()",
            "run", str(STUDY), "--out", str(out), "--jobs", "2", *extra]


def environment(epoch: str) -> dict:
    return {**os.environ, "SOURCE_DATE_EPOCH": epoch}


class Run:
    """``cdisc-convert run`` in its own process group, its stderr collected line by line."""

    def __init__(self, out: Path, epoch: str = NEW_EPOCH, preexec_fn=None, prefix=()):
        self.lines: list[str] = []
        self.proc = subprocess.Popen([*prefix, *command(out)], env=environment(epoch),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, start_new_session=True,
                                     preexec_fn=preexec_fn)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, marker: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(marker in line for line in self.lines):
            assert self.proc.poll() is None, f"run ended before {marker!r}: {self.stderr}"
            assert time.monotonic() < deadline, f"no {marker!r} in time"
            time.sleep(0.02)

    def finish(self) -> int:
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        return code

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def survivors(self, grace: float = 5.0) -> list[int]:
        """Live (not zombie) processes left in the run's process group after ``grace`` s."""
        deadline = time.monotonic() + grace
        while True:
            alive = []
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.proc.pid and fields[0] != "Z":
                    alive.append(int(entry.name))
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """(previous output folder, its hashes, the new run's hashes)."""
    from cdisc_convert.io.output import MANIFEST

    base = tmp_path_factory.mktemp("faults")
    done = subprocess.run(command(base / "new"), env=environment(NEW_EPOCH), capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    shutil.copytree(base / "new", base / "previous")
    for path in (base / "previous").rglob("*"):
        if path.is_file() and path.name != MANIFEST:      # still the tool's own files
            path.write_bytes(path.read_bytes() + b"\nprevious\n")
    new, previous = tree_hashes(base / "new"), tree_hashes(base / "previous")
    assert new.keys() == previous.keys()
    assert len([k for k in new if new[k] != previous[k]]) == len(new) - 4   # all but manifests
    return base / "previous", previous, new


def over_previous(outputs, tmp_path) -> Path:
    out = tmp_path / "work" / "out"
    shutil.copytree(outputs[0], out)
    assert tree_hashes(out) == outputs[1]
    return out


EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}


@pytest.mark.slow
@pytest.mark.parametrize("sig,marker,delay", [
    (signal.SIGINT, "[1/4]", 0.5),
    (signal.SIGTERM, "[1/4]", 1.5),
    (signal.SIGKILL, "[1/4]", 3.0),
    (signal.SIGINT, "[2/4]", 0.0),          # the worker is writing the SDTM files
    ("Ctrl-C", "[2/4]", 0.3),               # SIGINT to the whole group, the worker too
    (signal.SIGKILL, "[2/4]", 0.3),
    (signal.SIGTERM, "[3/4]", 0.0),         # the define worker is being forked
    (signal.SIGKILL, "[4/4]", 0.2),         # around the swap: old or new, never a mix
], ids=lambda v: getattr(v, "name", str(v)))
def test_killed_run_leaves_the_previous_output_and_no_process(outputs, tmp_path, sig, marker,
                                                              delay):
    out = over_previous(outputs, tmp_path)
    run = Run(out)
    run.wait_for(marker)
    time.sleep(delay)
    if sig == "Ctrl-C":                     # what a terminal sends: every process of the job
        os.killpg(run.proc.pid, signal.SIGINT)
        sig = signal.SIGINT
    else:
        os.kill(run.proc.pid, sig)
    code = run.finish()
    late = marker == "[4/4]"                # the swap may already be done: old or new
    if not (late and code == 0):
        assert code == EXIT[sig], run.stderr
    assert "Traceback" not in run.stderr
    assert run.survivors() == [], "a process of the run outlived it"
    now = tree_hashes(out)
    if late:
        assert now in (outputs[1], outputs[2]), "a mix of the previous and the new output"
    else:
        assert now == outputs[1], sorted(k for k in now if now.get(k) != outputs[1].get(k))
    if sig != signal.SIGKILL:                  # cleaned on the way out
        assert sorted(p.name for p in out.parent.iterdir()) == ["out"]
    # a later run completes, replaces the output and cleans what a killed run left
    later = Run(out)
    assert later.finish() == 0, later.stderr
    assert tree_hashes(out) == outputs[2]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


@pytest.mark.slow
def test_a_full_disk_leaves_the_previous_output(outputs, tmp_path):
    """The file size limit stands in for a full disk: writes fail with EFBIG (SIGXFSZ is
    ignored) once a file passes 100 kB; the SDTM worker inherits the limit."""
    import resource

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    out = over_previous(outputs, tmp_path)
    run = Run(out, preexec_fn=limited)
    code = run.finish()
    assert code == 2, run.stderr
    assert "File too large" in run.stderr and "Traceback" not in run.stderr
    # the message names the output folder, not the staging folder that is gone
    assert str(out) in run.stderr and "cdisc-convert-staging" not in run.stderr
    assert run.survivors() == []
    assert tree_hashes(out) == outputs[1]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


@pytest.mark.slow
def test_a_second_run_into_the_same_folder_is_refused_not_raced(outputs, tmp_path):
    out = over_previous(outputs, tmp_path)
    first = Run(out)
    first.wait_for("[1/4]")
    second = Run(out)
    assert second.finish() == 2, second.stderr
    assert "[OUT-LOCKED]" in second.stderr and str(first.proc.pid) in second.stderr
    assert first.finish() == 0, first.stderr
    assert tree_hashes(out) == outputs[2]
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def _read_only_prefix(folder: Path) -> list[str] | None:
    """A command prefix running the rest in a private mount namespace where ``folder`` is a
    read-only bind mount (works as root, whom permission bits do not stop); None if not
    possible here."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    prefix = [unshare, "-rm", "sh", "-c",
              'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"',
              str(folder)]
    probe = subprocess.run([*prefix, "sh", "-c", f'! touch "{folder}/probe" 2>/dev/null'],
                           capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 and not (folder / "probe").exists() else None


def test_a_read_only_folder_is_a_clear_error_and_changes_nothing(tmp_path):
    parent = tmp_path / "ro"
    (parent / "out").mkdir(parents=True)
    (parent / "out" / "keep.txt").write_text("previous")
    prefix = _read_only_prefix(parent)
    if prefix is None:
        pytest.skip("no read-only bind mount possible here (unshare -rm / mount)")
    run = Run(parent / "out", prefix=prefix)
    assert run.finish() == 2, run.stderr
    assert "[OUT-UNWRITABLE]" in run.stderr and "Read-only file system" in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in parent.iterdir()) == ["out"]
    assert (parent / "out" / "keep.txt").read_text() == "previous"


def test_the_command_line_loads_without_pandas():
    """Ctrl-C while the heavy libraries load is handled like any other interruption: the
    CLI imports pandas (through the API) inside a command's error handling, not on load."""
    probe = subprocess.run([sys.executable, "-c", "import sys, cdisc_convert.cli, cdisc_convert; "
                            "print('pandas' in sys.modules)"], capture_output=True, text=True,
                           timeout=60)
    assert probe.stdout.strip() == "False", probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.8, 1.2])
def test_ctrl_c_while_starting_is_exit_130_without_traceback(outputs, tmp_path, delay):
    out = over_previous(outputs, tmp_path)
    run = Run(out)
    time.sleep(delay)                       # before "[1/4]": pandas and the API are loading
    os.killpg(run.proc.pid, signal.SIGINT)
    code = run.finish()
    assert code == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert tree_hashes(out) == outputs[1]
