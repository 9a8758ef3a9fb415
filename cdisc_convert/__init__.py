"""cdisc-convert: raw clinical data to SDTM, ADaM, XPT, Dataset-JSON and define.xml.

Public entry points: :mod:`cdisc_convert.api` (one function per CLI command) and the XPT v5
writer/reader ``write_xpt`` / ``read_xpt`` (metadata of a read file on ``frame.attrs``).
"""
from .core.version import __version__
from .io.xpt import read_xpt, write_xpt

__all__ = ["read_xpt", "write_xpt", "__version__"]
