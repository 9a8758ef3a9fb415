"""Packaging that pyproject.toml cannot declare: top-level data folders copied into the wheel.

The standards (``specs/``) and the bundled study (``mappings/sorafenib_dtic/``,
``fixtures/sorafenib_dtic/raw/``) stay at the top of the repository. Building a wheel copies
them to ``cdisc_convert/_data/<same relative path>``, where an installed package finds them
through ``importlib.resources``; ``cdisc_convert/core/resources.py`` names the folders
(SHIPPED) and does the lookup. An editable install copies nothing: it reads the checkout.
MANIFEST.in puts the same folders into an sdist, so a wheel built from one has them too.
Everything else about the package is in pyproject.toml.
"""
import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
_RESOURCES = runpy.run_path(str(HERE / "cdisc_convert" / "core" / "resources.py"))
SHIPPED, PACKAGE_DATA = _RESOURCES["SHIPPED"], _RESOURCES["PACKAGE_DATA"]
JUNK = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}


class BuildPyWithData(build_py):
    """build_py, then the SHIPPED folders copied to cdisc_convert/_data in the build."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in self._shipped_files():
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target), preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [
            str(target) for _, target in self._shipped_files()]

    def _shipped_files(self):
        for folder in SHIPPED:
            base = HERE / folder
            if not base.is_dir():
                raise SystemExit(f"setup.py: shipped folder {folder}/ is missing")
            for source in sorted(base.rglob("*")):
                relative = source.relative_to(base)
                if source.is_file() and not JUNK & set(relative.parts) \
                        and source.suffix not in (".pyc", ".pyo"):
                    yield source, (Path(self.build_lib) / "cdisc_convert" / PACKAGE_DATA
                                   / folder / relative)


setup(cmdclass={"build_py": BuildPyWithData})
