"""Running a step in a forked child process while the parent goes on.

``cdisc-convert run`` has independent work of about equal size: checking the conformance
of a large study's data sets (two halves, beside DM), writing the SDTM files
and describing them in define.xml while the ADaM datasets are derived from the same
domains in memory, and writing the ADaM files but XPT while the XPT files are written,
described and the report drawn from them. The
report's worker (:class:`Standby`) is forked before any of that, while the process is
small, and loads its libraries while SDTM is mapped (one CPU is idle then). The work
is pandas over text (object) columns, which holds the GIL, so threads do not overlap it;
a forked child does, and shares the parent's frames without copying or pickling them
(copy-on-write pages). Only the child's small return value comes back, pickled through a
pipe.

Forking is used on Linux only (macOS discourages fork without exec; Windows has none);
elsewhere, or with ``jobs=1``, the step runs at once in the calling process and the
results are the same.

The child never outlives the parent: it asks the kernel for SIGKILL when the parent dies
(``prctl(PR_SET_PDEATHSIG)``, Linux), and the parent kills and reaps it on any error or
interruption (:meth:`Background.cancel`, or use it as a context manager). Without that, a
killed ``run`` left a worker that went on writing into the output folder.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import pickle
import signal
import sys

from cdisc_convert.core import interrupts
from cdisc_convert.core.errors import CdiscError


def can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


_PR_SET_PDEATHSIG = 1

#: forked children alive (or not yet reaped) in this process: see :func:`_share_heap`
_children = 0

#: True in a child forked by :class:`Background` (for its whole life)
_forked = False


def in_child() -> bool:
    """Whether this process is a child forked by :class:`Background`. Its data are a
    copy-on-write view of the parent's that the parent no longer sees: a step may
    consume them (drop each frame once done with it) where, run in the parent, it must
    leave them for the steps after it."""
    return _forked


def _share_heap() -> None:
    """Before a fork: keep the garbage collector off the objects that exist now, in the
    parent (until its children are reaped) and in the child (for its life).

    A forked child shares the parent's pages until one of the two writes to them, and a
    collection writes into the header of every object it visits: one full collection in
    either process copies every page holding a module, class, function or frame object,
    and the two then hold that memory twice. Frozen objects are freed by reference
    counting as before; only reference cycles among them wait for :func:`_unshare_heap`.
    """
    global _children
    gc.freeze()
    _children += 1


def _unshare_heap() -> None:
    """A child is reaped: once none is left, the frozen objects are collected again."""
    global _children
    _children = max(_children - 1, 0)
    if not _children:
        gc.unfreeze()


def _die_with_parent(parent: int) -> None:
    """In a forked child: be killed when ``parent`` dies (or exit now if it already has)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:               # the parent died before prctl took effect
        os._exit(1)


class Background:
    """``func(*args, **kwargs)`` in a forked child; :meth:`result` waits for its value.

    An exception in the child is raised again by :meth:`result` (as a :class:`CdiscError`
    with the same message when it cannot be pickled); a child that dies without answering
    is a :class:`CdiscError` naming ``what``. Without forking, ``func`` runs in the
    constructor and its exception is raised there.
    """

    def __init__(self, what: str, func, *args, fork: bool = True, **kwargs):
        self.what = what
        self._pid = None
        if not (fork and can_fork()):
            # in this process: an error is raised at once (no work is done after it)
            self._value, self._error = func(*args, **kwargs), None
            return
        sys.stdout.flush()
        sys.stderr.flush()
        read_end, write_end = os.pipe()
        parent = os.getpid()
        try:
            # fork runs at-fork hooks (logging's) that drop any exception, a Ctrl-C or
            # SIGTERM raised there included: hold the signals until the fork is over
            with interrupts.deferred():
                _share_heap()
                pid = os.fork()
                if pid == 0:                              # the child
                    self._child(parent, read_end, write_end, func, args, kwargs)
                os.close(write_end)
                self._pid, self._read_end = pid, read_end
        except BaseException:                # a signal held back during the fork: stop it
            if self._pid is None:            # no child to reap (the fork failed)
                _unshare_heap()
            self.cancel()
            raise

    @staticmethod
    def _child(parent, read_end, write_end, func, args, kwargs):
        """The forked child's whole life. It ends in ``os._exit`` whatever happens (an
        interrupt while pickling, a parent gone from the pipe): an exception must never
        unwind into the parent's frames copied into the child, whose cleanup (removing the
        staging folder, the lock file) belongs to the parent."""
        global _forked
        status = 1
        _forked = True
        try:
            _die_with_parent(parent)
            interrupts.release()
            os.close(read_end)
            try:
                payload, status = ("ok", func(*args, **kwargs)), 0
            except BaseException as exc:                  # noqa: BLE001 - all go to the parent
                payload = ("error", exc)
            try:
                data = pickle.dumps(payload)
            except Exception:                             # an unpicklable value or error
                data = pickle.dumps(("error", CdiscError(str(payload[1]))))
                status = 1
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:                             # noqa: BLE001 - see the docstring
            status = status or 1
        finally:
            os._exit(status)                  # no atexit handlers, no cleanup of the parent's

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()
        return False

    def cancel(self) -> None:
        """Kill the child if it still runs and reap it (no-op after :meth:`result`)."""
        if self._pid is None:
            return
        pid, self._pid = self._pid, None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        _unshare_heap()
        if self._read_end is not None:
            os.close(self._read_end)
            self._read_end = None

    def result(self):
        """The child's return value (waits for it); its exception is raised here."""
        if self._pid is None:
            if self._error is not None:
                raise self._error
            return self._value
        pipe, self._read_end = os.fdopen(self._read_end, "rb"), None
        try:
            with pipe:
                data = pipe.read()
            _, status = os.waitpid(self._pid, 0)
        except BaseException:                # interrupted while waiting: the child goes too
            self.cancel()
            raise
        self._pid = None
        _unshare_heap()
        self._value, self._error = None, None
        if not data:
            self._error = CdiscError(f"{self.what}: the worker process ended without a "
                                     f"result (exit status "
                                     f"{os.waitstatus_to_exitcode(status)})", rule="RUN-WORKER")
        else:
            kind, value = pickle.loads(data)
            if kind == "error":
                self._error = value
            else:
                self._value = value
        return self.result()


def _prepare_then(go, other_end, prepare, func, *args, **kwargs):
    """In the :class:`Standby` child: ``prepare()``, wait for the parent's go, run ``func``."""
    os.close(other_end)
    prepare()
    with os.fdopen(go, "rb") as pipe:
        started = pipe.read(1) == b"1"
    if not started:                    # the parent closed the pipe without a go
        raise CdiscError("the worker was not started", rule="RUN-WORKER")
    return func(*args, **kwargs)


class Standby:
    """``func(*args, **kwargs)`` in a child forked now, which runs ``prepare()`` at once
    (e.g. imports) and ``func`` only after :meth:`go` (e.g. once its input files are
    written); :meth:`result` waits for the value. Without forking, or after
    :meth:`cancel`, ``func`` runs in this process when :meth:`result` is called. Use it as
    a context manager: leaving it kills a child still waiting or running."""

    def __init__(self, what: str, prepare, func, *args, fork: bool = True, **kwargs):
        self._call = (func, args, kwargs)
        self._worker = self._go = None
        if fork and can_fork():
            read_end, self._go = os.pipe()
            try:
                self._worker = Background(what, _prepare_then, read_end, self._go, prepare,
                                          func, *args, **kwargs)
            finally:
                os.close(read_end)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()
        return False

    def go(self) -> None:
        """Let the child run ``func`` (no-op without a child)."""
        if self._go is not None:
            go, self._go = self._go, None
            os.write(go, b"1")
            os.close(go)

    def cancel(self) -> None:
        """Kill the child, waiting or running; :meth:`result` then runs ``func`` here."""
        if self._go is not None:
            os.close(self._go)
            self._go = None
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None

    @property
    def runs_here(self) -> bool:
        """True when :meth:`result` will run ``func`` in this process (never forked, or
        cancelled)."""
        return self._worker is None

    def result(self, **here):
        """``func``'s value: the child's (given the go now), or computed here, then with the
        keyword arguments ``here`` too (e.g. data this process holds that the child reads
        from files)."""
        if self._worker is None:
            func, args, kwargs = self._call
            return func(*args, **kwargs, **here)
        self.go()
        return self._worker.result()
