"""The package's layering, read from the source with ``ast`` (docs/architecture.md).

Layers, lowest first: core < standards < io < sdtm < conformance < adam < define < report <
submission < the top-level modules (api, cli, background and the package ``__init__``). A module may
import from its own layer and the layers below, never from a layer above; no module uses
another module's private (``_name``) names; no module is over 800 lines.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = "cdisc_convert"
LAYERS = ["core", "standards", "io", "sdtm", "conformance", "adam", "define", "report",
          "submission", "top"]
MAX_LINES = 800

#: Modules over MAX_LINES that another helper is splitting at the moment (issue 12); each
#: leaves this list when its split lands. Nothing else may be added here.
BEING_SPLIT: set[str] = set()


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    return LAYERS.index("top")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class _Module:
    """One source file: its dotted name, whether it is a package, its syntax tree."""

    def __init__(self, path: Path, root: Path):
        self.path = path
        self.rel = path.relative_to(root.parent).as_posix()
        self.name = _module_name(path, root.parent)
        self.is_package = path.name == "__init__.py"
        self.text = path.read_text(encoding="utf-8")
        self.tree = ast.parse(self.text, filename=str(path))

    def resolve(self, node: ast.ImportFrom) -> str:
        """The absolute module an ``ImportFrom`` reads from."""
        if not node.level:
            return node.module or ""
        base = self.name.split(".")
        if not self.is_package:
            base = base[:-1]
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))


def _modules(root: Path) -> dict[str, _Module]:
    if root == REPO / PACKAGE:   # read and parsed once for all the tests of the package
        return _package_modules()
    return {m.name: m for m in (_Module(p, root) for p in sorted(root.rglob("*.py")))}


@functools.cache
def _package_modules() -> dict[str, _Module]:
    root = REPO / PACKAGE
    return {m.name: m for m in (_Module(p, root) for p in sorted(root.rglob("*.py")))}


def _imports(module: _Module, modules: dict[str, _Module]):
    """(line, imported module, names taken from it, names bound to modules) of every import
    of the package in ``module`` (at any depth: lazy imports inside functions count)."""
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield node.lineno, alias.name, [], {alias.asname or alias.name: alias.name}
        elif isinstance(node, ast.ImportFrom):
            source = module.resolve(node)
            if source.split(".")[0] != PACKAGE:
                continue
            names, bound = [], {}
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:               # "from pkg import submodule"
                    bound[alias.asname or alias.name] = sub
                    yield node.lineno, sub, [], {}
                else:
                    names.append(alias.name)
            # the aliases bound to submodules are returned with the source's entry, which
            # counts as an import of the package itself only when it takes names from it
            yield node.lineno, source if names else None, names, bound


def upward_imports(root: Path) -> list[str]:
    modules = _modules(root)
    out = []
    for module in modules.values():
        own = _layer(module.name)
        for line, target, _names, _bound in _imports(module, modules):
            if target is not None and _layer(target) > own:
                out.append(f"{module.rel}:{line}: {LAYERS[own]} imports {target} "
                           f"({LAYERS[_layer(target)]})")
    return out


def private_imports(root: Path) -> list[str]:
    """``from x import _y``, ``import x._y`` and ``alias._y`` on an imported module."""
    modules = _modules(root)
    out = []
    for module in modules.values():
        aliases: dict[str, str] = {}
        for line, target, names, bound in _imports(module, modules):
            if target is not None and target != module.name:
                for part in target.split(".")[1:]:
                    if _is_private(part):
                        out.append(f"{module.rel}:{line}: imports the private module {target}")
                for name in names:
                    if _is_private(name):
                        out.append(f"{module.rel}:{line}: imports {name} from {target}")
            aliases.update(bound)
        for node in ast.walk(module.tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and _is_private(node.attr)
                    and aliases[node.value.id] != module.name):
                out.append(f"{module.rel}:{node.lineno}: uses {node.attr} of "
                           f"{aliases[node.value.id]}")
    return sorted(set(out))


def long_modules(root: Path) -> dict[str, int]:
    return {m.rel: len(m.text.splitlines()) for m in _modules(root).values()
            if len(m.text.splitlines()) > MAX_LINES}


# --------------------------------------------------------------------------- the package
def test_no_import_from_a_higher_layer():
    assert upward_imports(REPO / PACKAGE) == []


def test_no_private_cross_module_import():
    assert private_imports(REPO / PACKAGE) == []


def test_no_module_over_800_lines():
    found = long_modules(REPO / PACKAGE)
    assert {k: v for k, v in found.items() if k not in BEING_SPLIT} == {}


def test_every_module_is_in_a_known_layer():
    # a new top-level package must be placed in LAYERS (and docs/architecture.md)
    packages = {p.name for p in (REPO / PACKAGE).iterdir()
                if p.is_dir() and (p / "__init__.py").is_file()}
    assert packages <= set(LAYERS)


def test_being_split_list_names_existing_long_modules():
    # the exception list shrinks as splits land: an entry that is short now must go
    found = long_modules(REPO / PACKAGE)
    short = sorted(p for p in BEING_SPLIT if p not in found)
    assert short == [], f"remove {short} from BEING_SPLIT in tests/test_architecture.py"


# --------------------------------------------------------------------------- the checker
@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    root = tmp_path / PACKAGE
    for sub in ("core", "sdtm", "define"):
        (root / sub).mkdir(parents=True)
        (root / sub / "__init__.py").write_text("")
    (root / "__init__.py").write_text('__version__ = "1"\n')
    (root / "core" / "util.py").write_text("def _helper():\n    return 1\n\n\n"
                                           "def helper():\n    return 2\n")
    return root


def test_checker_sees_an_upward_import_also_inside_a_function(tiny):
    (tiny / "core" / "low.py").write_text(
        "def f():\n    from cdisc_convert.define import high\n    return high\n")
    (tiny / "define" / "high.py").write_text("from ..core.util import helper\n")
    (tiny / "sdtm" / "mid.py").write_text("from cdisc_convert import __version__\n")
    assert upward_imports(tiny) == [
        f"{PACKAGE}/core/low.py:2: core imports {PACKAGE}.define.high (define)",
        f"{PACKAGE}/sdtm/mid.py:1: sdtm imports {PACKAGE} (top)",
    ]


def test_checker_sees_private_names_imported_or_used_through_a_module(tiny):
    (tiny / "sdtm" / "a.py").write_text("from ..core.util import _helper, helper\n")
    (tiny / "sdtm" / "b.py").write_text(
        "from cdisc_convert.core import util as u\nX = u._helper() + u.helper()\n")
    (tiny / "sdtm" / "c.py").write_text("import cdisc_convert.core.util\n"
                                        "Y = cdisc_convert.core.util.helper()\n"
                                        "def _own():\n    return 1\n")
    assert private_imports(tiny) == [
        f"{PACKAGE}/sdtm/a.py:1: imports _helper from {PACKAGE}.core.util",
        f"{PACKAGE}/sdtm/b.py:2: uses _helper of {PACKAGE}.core.util",
    ]


def test_checker_counts_lines(tiny):
    (tiny / "core" / "big.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tiny / "core" / "fits.py").write_text("x = 1\n" * MAX_LINES)
    assert long_modules(tiny) == {f"{PACKAGE}/core/big.py": MAX_LINES + 1}
