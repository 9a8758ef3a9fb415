"""release_free_memory gives the heap's free pages back to the kernel (glibc)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from cdisc_convert.core.memory import can_trim, release_free_memory


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not can_trim(),
                    reason="glibc's malloc_trim on Linux")
def test_freed_heap_pages_go_back_to_the_kernel():
    # 3,000 arrays of 64 KB (below glibc's mmap threshold: they live in the heap); the
    # last one stays alive on top of the heap, so free() alone cannot shrink it
    blocks = [np.ones(8_000) for _ in range(3_000)]
    keep = blocks[-1]
    del blocks
    before = _rss_mb()
    release_free_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)    # ~190 MB were free in the heap
    assert keep.sum() == 8_000


def test_release_is_harmless_anywhere():
    release_free_memory()
    release_free_memory()
