"""Shared test fixtures.

The public reference data lives beside the repository in ``../shared/reference`` (see its
README). It is never copied into the repository; tests that need it use the ``reference``
fixture, which skips cleanly with a reason when the folder is absent (a fresh clone).
"""
from __future__ import annotations

import functools
import importlib.util
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



@functools.lru_cache(maxsize=None)
def golden_tool():
    """``tools/update_golden.py`` as a module: how the golden manifest is run and hashed."""
    spec = importlib.util.spec_from_file_location("update_golden",
                                                  REPO / "tools" / "update_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory) -> Path:
    """The output folder of one ``cdisc-convert run`` of the bundled study with
    SOURCE_DATE_EPOCH=1700000000 (made once per session; tests must not change it). Every
    test that reads the pipeline's outputs uses it; copy what you modify."""
    return golden_tool().run_bundled(tmp_path_factory.mktemp("bundled") / "out")


@pytest.fixture(scope="session")
def bundled_sdtm():
    """``map_study`` of the bundled study on its raw tables (the MappingResult), made once
    per session; tests must not change it."""
    from cdisc_convert.sdtm.engine import map_study

    return map_study(REPO / "mappings" / "sorafenib_dtic",
                     REPO / "fixtures" / "sorafenib_dtic" / "raw")


@pytest.fixture(scope="session")
def bundled_package(bundled_run, tmp_path_factory) -> Path:
    """``cdisc-convert package`` of :func:`bundled_run` with the bundled study's specs:
    the eCTD module 5 tree and the reviewer's guides (made once per session; tests must
    not change it, they copy what they break)."""
    from click.testing import CliRunner

    from cdisc_convert.cli import main

    out = tmp_path_factory.mktemp("package") / "submission"
    result = CliRunner().invoke(main, ["package", str(bundled_run), "--study",
                                       str(REPO / "mappings" / "sorafenib_dtic"), "--out",
                                       str(out)])
    assert result.exit_code == 0, result.output
    return out
