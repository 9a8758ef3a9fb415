"""Stop requests (Ctrl-C, SIGTERM) that cannot be lost.

Python runs a signal handler between two bytecodes of the main thread, wherever it happens
to be. If that is inside a callback whose exceptions Python prints and drops ("Exception
ignored in ...": an ``os.register_at_fork`` hook such as the one :mod:`logging` installs, a
finalizer, a weakref callback), the ``KeyboardInterrupt`` or :class:`Terminated` raised by
the handler never reaches the command. That is how a SIGTERM sent while ``run`` forked its
worker was lost: the run went on and replaced the output, exit 0.

Two guards, used together:

- :func:`stop_requests` installs handlers that *record* the request before raising it, so
  :func:`check` can raise it again at the points that matter (before an output is committed);
- :func:`deferred` blocks the two signals around a step known to run such callbacks
  (``fork``); a signal that arrives meanwhile is delivered when the step is over, in code
  that lets it propagate.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import Terminated

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: int | None = None


def _exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def _on_signal(signum, _frame):
    global _received
    _received = signum
    raise _exception(signum)


@contextmanager
def stop_requests():
    """While the block runs (main thread only), SIGINT raises ``KeyboardInterrupt`` and
    SIGTERM :class:`Terminated`, and each is recorded for :func:`check`. The previous
    handlers come back afterwards."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received = None
    previous = {signum: signal.signal(signum, _on_signal) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received = None


def check() -> None:
    """Raise the stop request received in this block if it was dropped on its way."""
    if _received is not None:
        raise _exception(_received)


@contextmanager
def deferred():
    """Hold SIGINT and SIGTERM back while the block runs; one that arrived meanwhile is
    delivered when it ends (and raised by :func:`check` should it be dropped even then)."""
    if not hasattr(signal, "pthread_sigmask"):          # no signal masks (Windows)
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        check()


def release() -> None:
    """Let SIGINT and SIGTERM through again: in a child forked inside :func:`deferred`,
    which inherits the blocked mask and never leaves the parent's block."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
