"""Shared test fixtures.

The public reference data lives beside the repository in ``../shared/reference`` (see its
README). It is never copied into the repository; tests that need it use the ``reference``
fixture, which skips cleanly with a reason when the folder is absent (a fresh clone).
"""
from __future__ import annotations

import contextlib
import functools
import gc
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path(os.environ.get("CDISC_REFERENCE", REPO.parent / "shared" / "reference"))


def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (pyproject's addopts) when the command line names test files or test ids:
    no workers, those tests run in this process (starting a worker per core costs more than
    it gains for a few tests). A run of the suite or of a folder: xdist's default, one
    worker per core."""
    if any("::" in arg or arg.split("::")[0].endswith(".py") for arg in config.args):
        return 0
    return None


#: fixtures made once per test run (``_made_once``): a worker that needs one while another
#: makes it waits, so the two first test files should not both need them
MADE_ONCE = ("bundled_run", "bundled_package")
#: the cache key of the seconds each test file took in the last runs, one map per -m
FILE_SECONDS = "cdisc_convert/file-seconds"
_seconds: dict[str, float] = {}


def _cost_key(config) -> str:
    return f"{FILE_SECONDS}/{config.getoption('markexpr') or 'all'}"


def pytest_configure(config):
    """pytest-xdist sends files to the workers in the order of the collection: its own
    reordering (most tests first) is switched off, ``pytest_collection_modifyitems`` puts
    the costliest first instead. The objects alive by now (pytest, its plugins, the
    libraries they imported) are frozen as those after collection are (below)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False
    _keep_libraries_unrewritten(config)
    if not _runs_no_tests(config):
        import pandas as pd

        # the mode every API call runs in (cdisc_convert.api.copy_on_write); internals
        # called directly by the tests get it too, so they are tested as the pipeline runs them
        pd.set_option("mode.copy_on_write", True)
    gc.freeze()


def _runs_no_tests(config) -> bool:
    """Whether this process is pytest-xdist's controller, which hands the tests to its
    workers and runs none itself: it need not import pandas (~1 CPU s per run)."""
    return (bool(getattr(config.option, "tx", None)) and not hasattr(config, "workerinput")
            and not config.getoption("collectonly"))


#: libraries whose distributions bring a pytest plugin, so pytest rewrites the asserts of
#: every one of their modules (hypothesis: ~80); the tests never see those asserts
UNREWRITTEN = ("hypothesis", "typeguard", "platformdirs")


def _keep_libraries_unrewritten(config) -> None:
    """Import :data:`UNREWRITTEN` as Python would, from their installed bytecode: rewritten,
    each process compiled them again from source when bytecode is not written
    (``PYTHONDONTWRITEBYTECODE``), ~0.5 CPU s per process for hypothesis alone. Our test
    modules and conftest are rewritten as before. pytest keeps the names to rewrite in a
    private set: when it is not there, nothing changes."""
    hook = getattr(config.pluginmanager, "rewrite_hook", None)
    names = getattr(hook, "_must_rewrite", None)
    if isinstance(names, set):
        names.difference_update(UNREWRITTEN)
        getattr(hook, "_marked_for_rewrite_cache", {}).clear()


def pytest_collection_finish(session):
    """Move every object alive after collection (the imported libraries, the test modules
    and their parameters: ~100,000 objects) out of reach of the cyclic garbage collector
    (``gc.freeze``): they live until the process ends, and each full collection of a test
    process — Python's own every few hundred thousand allocations, ``gc.collect`` in
    ``core.memory.release_free_memory`` at every large step of a run, pytest's at the end —
    would walk them all again. Objects made by the tests are collected as before."""
    gc.freeze()


def pytest_collection_modifyitems(session, config, items):
    """The test files longest first (their seconds in the last run, from pytest's cache;
    a file the cache does not know: 50 ms per test), so that with ``--dist loadfile`` the
    workers, each taking the next file when it is nearly done, end together instead of one
    starting a 10-second file when the other has nothing left. The second file is the
    costliest that needs no fixture made once per run (``MADE_ONCE``), so the second
    worker does not wait while the first makes it. Tests keep their order within a file."""
    cache = getattr(config, "cache", None)          # None: -p no:cacheprovider
    known = cache.get(_cost_key(config), {}) if cache is not None else {}
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    order = sorted(files, key=lambda f: -known.get(f, 0.05 * len(files[f])))
    shared = {f for f in order if any(set(MADE_ONCE) & set(getattr(i, "fixturenames", ()))
                                      for i in files[f])}
    if len(order) > 2 and order[0] in shared and order[1] in shared:
        free = next((f for f in order if f not in shared), None)
        if free is not None:
            order.remove(free)
            order.insert(1, free)
    items[:] = [item for f in order for item in files[f]]


def pytest_runtest_logreport(report):
    """Sum each file's seconds (setup, call, teardown) where the reports arrive: the main
    process, also of the workers' tests."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        name = report.nodeid.split("::")[0]
        _seconds[name] = _seconds.get(name, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    """Record each file's seconds for the next run's order (above): only after a passing
    run of whole files (no ``-k``, no test ids), merged into what the cache knows."""
    config = session.config
    cache = getattr(config, "cache", None)
    if (os.environ.get("PYTEST_XDIST_WORKER") is not None or cache is None
            or exitstatus != 0 or not _seconds or config.getoption("keyword")
            or any("::" in arg for arg in config.args)):
        return
    known = cache.get(_cost_key(config), {})
    known.update({f: round(s, 2) for f, s in _seconds.items()})
    cache.set(_cost_key(config), known)


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


def _made_once(tmp_path_factory, name: str, leaf: str, make: Callable[[Path], object]
               ) -> Path:
    """``make(folder)`` (a new folder named ``leaf``) run once per test run, even when
    pytest-xdist runs the tests in several worker processes: the first worker to get here
    makes it under the run's shared temporary root while holding a lock, the others wait
    and reuse it (a folder of files: each worker reads what it needs into its own memory).
    Without xdist (or without ``fcntl``) it is an ordinary per-session folder."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    try:
        import fcntl
    except ImportError:          # not POSIX: each worker makes its own
        fcntl = None
    if worker is None or fcntl is None:
        folder = tmp_path_factory.mktemp(name) / leaf
        make(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent       # shared by the run's workers
    folder = root / f"shared-{name}" / leaf
    done = folder.parent / "complete"
    with open(root / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(folder.parent)       # a half-made one of a failed worker
                folder.parent.mkdir(parents=True)
                make(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory) -> Path:
    """The output folder of one ``cdisc-convert run`` of the bundled study with
    SOURCE_DATE_EPOCH=1700000000 (made once per test run, shared by xdist workers; tests
    must not change it). Every test that reads the pipeline's outputs uses it; copy what
    you modify."""
    return _made_once(tmp_path_factory, "bundled", "out", golden_tool().run_bundled)


@pytest.fixture(scope="session")
def bundled_sdtm():
    """``map_study`` of the bundled study on its raw tables (the MappingResult), made once
    per session; tests must not change it."""
    from cdisc_convert.sdtm.engine import map_study

    return map_study(REPO / "mappings" / "sorafenib_dtic",
                     REPO / "fixtures" / "sorafenib_dtic" / "raw")


@pytest.fixture
def forks(monkeypatch) -> list[str]:
    """What each ``background.Background`` made during the test says it does (its
    ``what``), in order: which steps ran in a forked process."""
    from cdisc_convert import background

    made: list[str] = []

    class Counted(background.Background):
        def __init__(self, what, func, *args, **kwargs):
            made.append(what)
            super().__init__(what, func, *args, **kwargs)

    monkeypatch.setattr(background, "Background", Counted)
    return made


#: the annotated CRF of :func:`bundled_package`: the smallest file that is a PDF to `package`
ACRF_PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(scope="session")
def bundled_package(bundled_run, tmp_path_factory) -> Path:
    """``cdisc-convert package --study --acrf`` of :func:`bundled_run` with the bundled
    study's specs and :data:`ACRF_PDF` as the annotated CRF: the eCTD module 5 tree and the
    reviewer's guides (made once per test run, shared by xdist workers; tests must not
    change it, they copy what they break)."""
    from click.testing import CliRunner

    from cdisc_convert.cli import main

    def make(out: Path) -> None:
        acrf = out.parent / "acrf.pdf"
        acrf.write_bytes(ACRF_PDF)
        result = CliRunner().invoke(main, ["package", str(bundled_run), "--study",
                                           str(REPO / "mappings" / "sorafenib_dtic"),
                                           "--acrf", str(acrf), "--out", str(out)])
        assert result.exit_code == 0, result.output

    return _made_once(tmp_path_factory, "package", "submission", make)
