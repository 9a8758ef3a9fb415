"""A Ctrl-C or SIGTERM is never lost, even when it arrives where Python drops exceptions.

Each case runs in its own interpreter (at-fork hooks cannot be unregistered, and the signal
handlers are the process's). The scripts deliver the signal at the exact place that lost it
before: inside an at-fork hook (``logging`` registers one; a SIGTERM sent while ``run``
forked its SDTM worker was printed as "Exception ignored" and the run replaced the output,
exit 0) and inside a finalizer.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="signals and fork as on Linux")


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=60)


def test_a_sigterm_during_the_workers_fork_stops_the_parent_and_the_worker():
    done = run("""
        import os, signal, time
        from cdisc_convert.background import Background
        from cdisc_convert.core import interrupts
        from cdisc_convert.core.errors import Terminated

        # the signal lands while the fork's hooks run in the parent
        os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGTERM))
        with interrupts.stop_requests():
            try:
                Background("sleeping", time.sleep, 30)
            except Terminated:
                print("terminated")
            else:
                print("went on")
        try:
            os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            print("no child left")
    """)
    assert done.stdout.splitlines() == ["terminated", "no child left"], done.stderr
    assert "Exception ignored" not in done.stderr


def test_a_stop_request_dropped_in_a_finalizer_is_raised_again_by_check():
    done = run("""
        import gc, os, signal
        from cdisc_convert.core import interrupts
        from cdisc_convert.core.errors import Terminated

        class Finalized:
            def __del__(self):
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(1000):       # bytecodes: the handler runs here, inside __del__
                    pass

        with interrupts.stop_requests():
            try:
                Finalized()                 # finalized at once; its exception is dropped
                gc.collect()
                print("went on")
                interrupts.check()
            except Terminated:
                print("terminated")
    """)
    assert "Exception ignored" in done.stderr        # Python did drop it here
    assert done.stdout.splitlines() == ["went on", "terminated"], done.stderr


def test_ctrl_c_held_back_by_deferred_arrives_when_the_block_ends():
    done = run("""
        import os, signal
        from cdisc_convert.core import interrupts

        with interrupts.stop_requests():
            try:
                with interrupts.deferred():
                    os.kill(os.getpid(), signal.SIGINT)
                    for _ in range(1000):
                        pass
                    print("block finished")
                print("went on")
            except KeyboardInterrupt:
                print("interrupted")
        interrupts.check()                  # the request belonged to the block: gone after it
        print("after")
    """)
    assert done.stdout.splitlines() == ["block finished", "interrupted", "after"], done.stderr


def test_handlers_are_restored_after_the_block():
    done = run("""
        import signal
        from cdisc_convert.core import interrupts

        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        with interrupts.stop_requests():
            pass
        print(before == (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))
    """)
    assert done.stdout.splitlines() == ["True"], done.stderr
