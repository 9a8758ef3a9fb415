"""Giving freed memory back to the operating system between the large steps of a run."""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None (another C library, another system)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def can_trim() -> bool:
    """Whether :func:`release_free_memory` can hand pages back here (glibc)."""
    return _malloc_trim() is not None


def release_free_memory(collect: bool = True) -> None:
    """Collect reference cycles, then hand the heap's free pages back to the kernel
    (glibc ``malloc_trim(0)``; a no-op elsewhere), and Arrow's too.

    glibc keeps freed memory in the process for reuse: after a step that built and freed
    large frames (mapping, writing one data set in three formats) the process stays as big
    as that step's peak, a child forked afterwards shares and is charged for those dead
    pages, and each step's leftovers add up in a long run. Arrow (the CSV reader, the
    writers' row layout) allocates from a pool of its own (mimalloc or jemalloc in the
    wheels) that keeps freed pages the same way and that ``malloc_trim`` does not reach:
    at 5,000 subjects ~30 MB stayed resident in the SDTM writer after its last data set.
    Costs a few milliseconds; ``collect=False`` leaves out the garbage collection (~30 ms
    in a process holding many objects), for a caller that freed no cycle.
    """
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
    arrow = sys.modules.get("pyarrow")     # never imported for this: nothing to give back
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
