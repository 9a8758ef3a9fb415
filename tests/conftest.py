"""Shared test fixtures.

The public reference data lives beside the repository in ``../shared/reference`` (see its
README). It is never copied into the repository; tests that need it use the ``reference``
fixture, which skips cleanly with a reason when the folder is absent (a fresh clone).
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

# the mode every API call runs in (cdisc_convert.api.copy_on_write); internals called
# directly by the tests get it too, so they are tested as the pipeline runs them
pd.set_option("mode.copy_on_write", True)

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("CDISC_REFERENCE", REPO.parent / "shared" / "reference"))


@pytest.fixture(scope="session")
def reference() -> Path:
    """Path to ../shared/reference, or skip the test when it is not there."""
    if not REFERENCE.is_dir():
        pytest.skip(f"public reference data not found at {REFERENCE}")
    return REFERENCE


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
