"""Shared helpers of the hostile-input corpus (tests/hostile/; no conftest.py here, so
that `from conftest import REPO` in the other tests keeps finding tests/conftest.py).

Every case runs under a timeout (SIGALRM, in process; a module may set its own
``CASE_SECONDS``): a hang fails the case with ``HostileTimeout`` instead of blocking the
suite. CLI cases go through click's CliRunner,
so a traceback shows as an exception other than SystemExit.
"""
from __future__ import annotations

import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main
from tiny_study import DM_YAML, write_study

CASE_SECONDS = 60


class HostileTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def case_timeout(request):
    """Fail a case that runs longer than CASE_SECONDS (a hang)."""
    seconds = getattr(request.module, "CASE_SECONDS", CASE_SECONDS)

    def expire(_signum, _frame):
        raise HostileTimeout(f"case ran longer than {seconds} s (a hang)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def cli(*args) -> tuple[int, str]:
    """(exit code, stdout + stderr) of one command; a traceback fails the case."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError("traceback:\n" + "".join(traceback.format_exception(
            result.exception)))
    text = result.output            # click 8.2+: stdout and stderr, interleaved
    assert "Traceback" not in text, text
    return result.exit_code, text


def make_study(root: Path, files: dict[str, bytes | str], *, key: str | None = "[PT]",
               table_file: str = "subj.csv") -> tuple[Path, Path]:
    """A one-table study (DM from ``subj``) with the given raw files; returns (spec, raw)."""
    extra = f", key: {key}" if key else ""
    return write_study(root, files, {"subj": f"{{file: {table_file}{extra}}}"},
                       {"dm": DM_YAML})
