"""Where the data shipped with cdisc-convert are: the standards and the bundled study.

* :func:`specs_dir` - standard metadata (SDTMIG, ADaMIG) and NCI controlled terminology;
* :func:`bundled_study` - the bundled study's mapping (``study.yaml``, domain specs,
  ``adam.yaml``);
* :func:`bundled_raw` - its raw tables.

In the repository these are the top-level folders of :data:`SHIPPED`. A wheel carries the
same files as package data under ``cdisc_convert/_data/`` with the same relative layout
(``setup.py`` maps the folders in from :data:`SHIPPED`; nothing is copied in the
repository), so the relative ``raw: folder:`` of the bundled ``study.yaml`` finds the raw
tables in both. Lookup order: the installed package data (``importlib.resources``), then the
source checkout this module sits in (an editable install, or a run from the checkout).

``CDISC_CONVERT_SPECS=DIR`` makes :func:`specs_dir` return ``DIR`` instead: a folder laid out
like ``specs/`` (e.g. to try a newer CT release without reinstalling).

This module imports nothing but the standard library: ``setup.py`` reads :data:`SHIPPED`
from it before the package's dependencies are installed.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["BUNDLED_STUDY", "BUNDLED_RAW", "SHIPPED", "PACKAGE_DATA", "SPECS_ENV", "shipped",
           "specs_dir", "bundled_study", "bundled_raw"]

#: The bundled example study that ``cdisc-convert run`` uses without arguments, and its raw
#: tables (repository-relative folders).
BUNDLED_STUDY = "mappings/sorafenib_dtic"
BUNDLED_RAW = "fixtures/sorafenib_dtic/raw"
#: Folders shipped inside the wheel, as repository-relative paths (the other study under
#: mappings/ is not: its raw tables are the public reference data outside the repository).
SHIPPED = ("specs", BUNDLED_STUDY, BUNDLED_RAW)
#: The folder of the package that holds them in an installed wheel.
PACKAGE_DATA = "_data"
#: Environment variable that replaces :func:`specs_dir`.
SPECS_ENV = "CDISC_CONVERT_SPECS"

_CHECKOUT = Path(__file__).resolve().parents[2]


def shipped(relative: str) -> Path:
    """The folder ``relative`` (one of :data:`SHIPPED`) of this installation."""
    if relative not in SHIPPED:
        raise ValueError(f"{relative!r} is not shipped with cdisc-convert (one of {SHIPPED})")
    installed = resources.files("cdisc_convert").joinpath(PACKAGE_DATA, *relative.split("/"))
    # a wheel is installed unpacked, so the Traversable is a real folder; a zipped install
    # has none and falls through to the error below
    if isinstance(installed, Path) and installed.is_dir():
        return installed
    checkout = _CHECKOUT / relative
    if checkout.is_dir():
        return checkout
    from cdisc_convert.core.errors import CdiscError

    raise CdiscError(f"the data folder {relative!r} of cdisc-convert is missing (looked in "
                     f"{installed} and {checkout}); reinstall the package")


def specs_dir() -> Path:
    """The standards folder: ``$CDISC_CONVERT_SPECS`` when set, else the shipped ``specs``."""
    override = os.environ.get(SPECS_ENV, "").strip()
    if override:
        folder = Path(override).expanduser()
        if not folder.is_dir():
            from cdisc_convert.core.errors import InputError

            raise InputError(f"{SPECS_ENV}={override!r} is not a folder (it must be laid out "
                             "like the specs/ folder of cdisc-convert)")
        return folder
    return shipped("specs")


def bundled_study() -> Path:
    """The bundled study's mapping folder (what ``cdisc-convert run`` maps by default)."""
    return shipped(BUNDLED_STUDY)


def bundled_raw() -> Path:
    """The bundled study's raw tables (the folder its ``study.yaml`` names)."""
    return shipped(BUNDLED_RAW)
