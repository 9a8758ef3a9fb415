"""Steps run in a forked child: values and errors come back, a dead child is an error."""
from __future__ import annotations

import os

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
