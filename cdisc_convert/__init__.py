"""cdisc-convert: raw clinical data to SDTM, ADaM, XPT, Dataset-JSON and define.xml.

Public entry points: :mod:`cdisc_convert.api` (one function per CLI command) and the XPT v5
writer/reader ``write_xpt`` / ``read_xpt`` (metadata of a read file on ``frame.attrs``).
"""
from .core.version import __version__

__all__ = ["read_xpt", "write_xpt", "__version__"]


def __getattr__(name):
    # imported on first use, so that the command line starts (and handles Ctrl-C) before
    # pandas loads
    if name in ("read_xpt", "write_xpt"):
        from .io import xpt

        return getattr(xpt, name)
    raise AttributeError(f"module 'cdisc_convert' has no attribute {name!r}")
