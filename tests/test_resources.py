"""Shipped data are found in a checkout and in an installed wheel (core.resources)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cdisc_convert.core import resources
from cdisc_convert.core.errors import InputError
from cdisc_convert.core.resources import bundled_raw, bundled_study, specs_dir
from cdisc_convert.sdtm.spec import load_study


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv(resources.SPECS_ENV, raising=False)


def test_checkout_folders(repo, no_override):
    assert specs_dir() == repo / "specs"
    assert bundled_study() == repo / "mappings" / "sorafenib_dtic"
    assert bundled_raw() == repo / "fixtures" / "sorafenib_dtic" / "raw"


def test_bundled_study_names_the_bundled_raw_folder(no_override):
    # study.yaml says `folder: ../../fixtures/sorafenib_dtic/raw`: the wheel keeps the same
    # relative layout under cdisc_convert/_data, so this holds installed too (see below)
    assert load_study(bundled_study()).raw_folder == bundled_raw().resolve()


def test_the_env_var_replaces_the_specs(monkeypatch, tmp_path):
    monkeypatch.setenv(resources.SPECS_ENV, str(tmp_path))
    assert specs_dir() == tmp_path
    monkeypatch.setenv(resources.SPECS_ENV, str(tmp_path / "missing"))
    with pytest.raises(InputError, match="CDISC_CONVERT_SPECS=.*is not a folder"):
        specs_dir()


def test_only_shipped_folders_are_looked_up():
    with pytest.raises(ValueError, match="not shipped"):
        resources.shipped("mappings/cdiscpilot01")


def _fake_install(root: Path, *, with_data: bool) -> Path:
    """root/cdisc_convert with the real resources module (and errors), as pip lays it out."""
    package = root / "cdisc_convert"
    (package / "core").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "core" / "__init__.py").write_text("")
    for name in ("resources.py", "errors.py"):
        shutil.copy(Path(resources.__file__).with_name(name), package / "core" / name)
    if with_data:
        for folder in resources.SHIPPED:
            (package / resources.PACKAGE_DATA / folder).mkdir(parents=True)
    return package


def _run(root: Path, code: str) -> subprocess.CompletedProcess:
    script = (f"import sys; sys.path.insert(0, {str(root)!r}); "
              "from cdisc_convert.core import resources as r; " + code)
    return subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, check=False)


def test_installed_layout_is_found_first(tmp_path, no_override):
    """A wheel's layout (cdisc_convert/_data/<folder>) wins over a checkout-like folder
    beside the package, and the bundled study.yaml's relative raw folder resolves in it."""
    package = _fake_install(tmp_path, with_data=True)
    (tmp_path / "specs").mkdir()           # what a checkout would have
    out = _run(tmp_path, "import json; print(json.dumps([str(r.specs_dir()), "
                         "str(r.bundled_study()), str(r.bundled_raw())]))")
    assert out.returncode == 0, out.stderr
    specs, study, raw = map(Path, json.loads(out.stdout))
    data = package / resources.PACKAGE_DATA
    assert (specs, study, raw) == (data / "specs", data / "mappings" / "sorafenib_dtic",
                                   data / "fixtures" / "sorafenib_dtic" / "raw")
    assert (study / "../../fixtures/sorafenib_dtic/raw").resolve() == raw.resolve()


def test_missing_data_is_a_clear_error(tmp_path, no_override):
    _fake_install(tmp_path, with_data=False)
    out = _run(tmp_path, "r.specs_dir()")
    assert out.returncode != 0
    assert "the data folder 'specs' of cdisc-convert is missing" in out.stderr
    assert "reinstall the package" in out.stderr
