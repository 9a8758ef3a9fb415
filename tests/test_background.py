"""Steps run in a forked child: values and errors come back, a dead child is an error."""
from __future__ import annotations

import os
import time

import pytest

from cdisc_convert.background import Background, can_fork
from cdisc_convert.core.errors import CdiscError

needs_fork = pytest.mark.skipif(not can_fork(), reason="forking is used on Linux only")


def _pid_and(value):
    return os.getpid(), value


def _fail(message):
    raise CdiscError(message, rule="TEST-RULE")


@needs_fork
def test_value_comes_back_from_another_process():
    pid, value = Background("t", _pid_and, {"a": [1, 2]}).result()
    assert pid != os.getpid() and value == {"a": [1, 2]}


@needs_fork
def test_errors_of_the_child_are_raised_by_result_not_before():
    job = Background("t", _fail, "broken input")       # no raise here
    with pytest.raises(CdiscError, match="broken input") as info:
        job.result()
    assert info.value.rule == "TEST-RULE"
    with pytest.raises(ValueError, match="x"):
        Background("t", int, "x").result()


def test_without_fork_an_error_is_raised_at_once():
    with pytest.raises(CdiscError, match="broken input"):
        Background("t", _fail, "broken input", fork=False)


def test_without_fork_it_runs_here():
    pid, value = Background("t", _pid_and, 3, fork=False).result()
    assert pid == os.getpid() and value == 3


@needs_fork
def test_a_child_that_dies_is_an_error_naming_the_step():
    with pytest.raises(CdiscError, match="writing the things: the worker process ended "
                                         "without a result .exit status 7."):
        Background("writing the things", os._exit, 7).result()


@needs_fork
def test_an_unpicklable_value_is_an_error():
    with pytest.raises(CdiscError):
        Background("t", lambda: (lambda: 1)).result()


def _alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped by whoever adopted it is not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not can_fork(), reason="forks on Linux only")
def test_cancel_kills_and_reaps_a_running_child():
    import time

    job = Background("t", time.sleep, 60)
    pid = job._pid
    assert _alive(pid)
    job.cancel()
    assert not _alive(pid)
    job.cancel()                                           # twice is harmless


@pytest.mark.skipif(not can_fork(), reason="forks on Linux only")
def test_an_error_in_the_parent_kills_the_child_on_the_way_out():
    import time

    with pytest.raises(KeyboardInterrupt):
        with Background("t", time.sleep, 60) as job:
            pid = job._pid
            raise KeyboardInterrupt
    assert not _alive(pid)


@pytest.mark.skipif(not can_fork(), reason="forks on Linux only")
def test_the_child_dies_with_a_parent_killed_by_sigkill():
    import signal
    import subprocess
    import sys
    import time

    script = ("import time, sys\n"
              "from cdisc_convert.background import Background\n"
              "job = Background('t', time.sleep, 60)\n"
              "print(job._pid, flush=True)\n"
              "time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        parent.kill()
        parent.wait(timeout=10)


# --- Standby: forked now, prepared at once, run on go -----------------------------------


def _touch(path):
    with open(path, "a") as handle:
        handle.write("x")


def _run_after(ran, value):
    _touch(ran)
    return os.getpid(), value


@needs_fork
def test_standby_prepares_at_once_and_runs_only_after_go(tmp_path):
    import time

    from cdisc_convert.background import Standby

    prepared, ran = tmp_path / "prepared", tmp_path / "ran"
    with Standby("t", lambda: _touch(prepared), _run_after, ran, value=5) as job:
        deadline = time.monotonic() + 10
        while not prepared.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert prepared.exists() and not ran.exists()      # prepared, waiting for the go
        pid, value = job.result()                          # result() gives the go
    assert pid != os.getpid() and value == 5 and ran.read_text() == "x"


def test_standby_without_fork_runs_here_when_asked(tmp_path):
    from cdisc_convert.background import Standby

    prepared, ran = tmp_path / "prepared", tmp_path / "ran"
    with Standby("t", lambda: _touch(prepared), _run_after, ran, value=1, fork=False) as job:
        assert not ran.exists()
        assert job.result() == (os.getpid(), 1)
    assert not prepared.exists()                           # nothing to prepare ahead


@needs_fork
def test_standby_left_without_go_kills_the_waiting_child(tmp_path):
    from cdisc_convert.background import Standby

    with pytest.raises(KeyboardInterrupt):
        with Standby("t", lambda: None, _run_after, tmp_path / "ran", value=1) as job:
            pid = job._worker._pid
            assert _alive(pid)
            raise KeyboardInterrupt
    assert not _alive(pid) and not (tmp_path / "ran").exists()


@needs_fork
def test_standby_errors_of_prepare_come_back_from_result(tmp_path):
    from cdisc_convert.background import Standby

    with Standby("t", lambda: _fail("no library"), _run_after, tmp_path / "ran",
                 value=1) as job:
        with pytest.raises(CdiscError, match="no library"):
            job.result()


@needs_fork
def test_standby_cancelled_runs_here(tmp_path):
    from cdisc_convert.background import Standby

    with Standby("t", lambda: None, _run_after, tmp_path / "ran", value=2) as job:
        pid = job._worker._pid
        job.cancel()
        assert not _alive(pid)
        assert job.result() == (os.getpid(), 2)


def _run_with(ran, value, extra=None):
    _touch(ran)
    return os.getpid(), value, extra


def test_standby_result_passes_its_arguments_only_when_it_runs_here(tmp_path):
    from cdisc_convert.background import Standby

    with Standby("t", lambda: None, _run_with, tmp_path / "ran", value=1, fork=False) as job:
        assert job.runs_here
        assert job.result(extra="held here") == (os.getpid(), 1, "held here")


@needs_fork
def test_standby_runs_here_once_cancelled(tmp_path):
    from cdisc_convert.background import Standby

    with Standby("t", lambda: None, _run_with, tmp_path / "ran", value=3) as job:
        assert not job.runs_here                           # a child waits for the go
        job.cancel()
        assert job.runs_here
        assert job.result(extra=7) == (os.getpid(), 3, 7)


@needs_fork
def test_the_collector_leaves_the_shared_heap_alone_while_a_child_lives():
    # a collection writes into every object it visits, copying pages a child shares
    import gc

    assert gc.get_freeze_count() == 0
    worker = Background("sleeping", time.sleep, 0.2)
    assert gc.get_freeze_count() > 0
    second = Background("sleeping", time.sleep, 0.1)
    second.result()
    assert gc.get_freeze_count() > 0            # the first child still shares them
    worker.result()
    assert gc.get_freeze_count() == 0
    Background("sleeping", time.sleep, 5).cancel()
    assert gc.get_freeze_count() == 0
