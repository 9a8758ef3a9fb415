"""Reproducible installs: constraints.txt pins every dependency within pyproject's ranges.

When one of these fails after a dependency was added or a range changed, regenerate the
lock with ``tools/lock.sh`` and commit it.
"""
from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

FIX = "run tools/lock.sh and commit constraints.txt"


@pytest.fixture(scope="module")
def pins(repo) -> dict[str, Version]:
    out: dict[str, Version] = {}
    for number, line in enumerate((repo / "constraints.txt").read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", line)
        assert match, f"constraints.txt line {number}: {line!r} is not NAME==VERSION"
        name = canonicalize_name(match[1])
        assert name not in out, f"constraints.txt pins {name} twice"
        out[name] = Version(match[2])
    return out


@pytest.fixture(scope="module")
def declared(repo) -> list[Requirement]:
    project = tomllib.loads((repo / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]
            + project["optional-dependencies"]["test"]]


def test_every_declared_dependency_is_pinned_inside_its_range(pins, declared):
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in constraints.txt: {FIX}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {requirement}: {FIX}")


def test_the_project_itself_is_not_pinned(pins):
    assert "cdisc-convert" not in pins


def _requirements_of(dist_name: str, extras: tuple[str, ...] = ()) -> list[Requirement]:
    out = []
    for text in metadata.requires(dist_name) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({**default_environment(), "extra": extra})
                                 for extra in extras or ("",)):
            out.append(requirement)
    return out


def test_every_installed_transitive_dependency_is_pinned(pins):
    """Walks the installed metadata from cdisc-convert[test]: each distribution it pulls in
    (at whatever version is installed) must have a line in the lock."""
    try:
        todo = _requirements_of("cdisc-convert", ("test",))
    except metadata.PackageNotFoundError:
        pytest.skip("cdisc-convert is not installed (running from a bare checkout)")
    seen: set[str] = set()
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            todo += _requirements_of(name, tuple(requirement.extras))
        except metadata.PackageNotFoundError:
            continue          # an optional dependency this platform does not install
    missing = sorted(seen - set(pins))
    assert not missing, f"not pinned in constraints.txt: {missing}: {FIX}"


def test_readme_and_ci_install_with_the_lock(repo):
    readme = (repo / "README.md").read_text()
    quick = readme[readme.index("## Quick start"):readme.index("## What is built")]
    commands = [line for line in quick.splitlines() if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert all("pip install -c constraints.txt -e " in c for c in commands), commands
    assert "constraints.txt" in (repo / ".ci" / "run").read_text()
