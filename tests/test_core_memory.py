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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_freed_arrow_pages_go_back_too():
    # Arrow allocates from its own pool (mimalloc in the wheels), which malloc_trim does
    # not reach and which kept them resident: ~120 MB of 800 KB buffers, all freed
    pa = pytest.importorskip("pyarrow")
    order = pa.array(np.arange(100_000)[::-1])
    buffers = [pa.array(np.arange(100_000)).take(order) for _ in range(150)]
    del buffers
    before = _rss_mb()
    release_free_memory()
    after = _rss_mb()
    assert before - after > 60, (before, after)


def test_release_is_harmless_anywhere():
    release_free_memory()
    release_free_memory()


def test_write_folder_gives_memory_back_only_after_a_large_data_set(tmp_path, monkeypatch):
    """A full collection per small data set costs more than it frees (in a large process):
    only data sets of at least RELEASE_AFTER_CELLS cells are followed by a release."""
    import pandas as pd

    from cdisc_convert.io import folder

    released = []
    monkeypatch.setattr(folder, "release_free_memory", lambda: released.append(1))
    monkeypatch.setattr(folder, "RELEASE_AFTER_CELLS", 40)
    small = pd.DataFrame({"STUDYID": ["S"] * 3, "DOMAIN": ["DM"] * 3, "USUBJID": ["1", "2", "3"]})
    large = pd.DataFrame({"STUDYID": ["S"] * 20, "DOMAIN": ["TS"] * 20,
                          "USUBJID": [str(i) for i in range(20)]})
    folder.write_folder({"DM": small}, tmp_path / "a", formats=("csv",))
    assert released == []                                  # 9 cells
    folder.write_folder({"DM": small, "TS": large}, tmp_path / "b", formats=("csv",))
    assert released == [1]                                 # 60 cells: once, after TS
