"""SAS XPORT v5: layout (see the package docstring)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np





RECORD = 80  # every transport record is 80 bytes; the file size is a multiple of it
NAMESTR_SIZE = 140  # bytes per variable descriptor (136 on VAX/VMS, which we can read)
MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR = 200  # FDA limit for a character value in a v5 file
MAX_VARIABLES = 32767  # a namestr numbers its variable in a 2-byte signed integer
MAX_EXACT_INT = 2**53  # largest integer a double (and so our IBM number) holds exactly
IBM_MAX_EXP2 = 251  # largest IEEE binary exponent with an IBM image (IBM max ~ 2**252)
IBM_MIN_EXP2 = -260  # smallest: 16**-65 = 2**-260
SAS_VERSION = "9.4"
SAS_OS = "PYTHON"
MISSING_CODES = "_ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # special missing codes besides "."
ROWS_CHUNK_BYTES = 1 << 20  # rows are assembled in ~1 MB chunks that stay in cache
WRITE_QUEUE_DEPTH = 4       # chunks waiting for the writer thread

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
HEADER_PREFIX = b"HEADER RECORD*******"
HEADER_SUFFIX = b"HEADER RECORD!!!!!!!"
NAME_CHARS = re.compile(r"[A-Z0-9_]*\Z")
# A format is NAME, width, '.', decimals; the name never ends in a digit in SAS, which is
# what lets "DATE9." split into DATE + 9. "$" alone (e.g. "$20.") is a valid name.
FORMAT_RE = re.compile(r"(\$?(?:[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?)(\d*)(?:\.(\d*))?\Z")
MISSING_DOT = np.uint64(0x2E) << np.uint64(56)


class XptPrecisionWarning(UserWarning):
    """A number was changed to fit the IBM format (only: below 5.4e-79, written as 0)."""


@dataclass(frozen=True)
class XptOffence:
    """One broken rule: its id (e.g. ``XPT-NAME``), a message, and the column if any."""

    rule: str
    message: str
    variable: str | None = None
    #: 0-based positions of (the first few) offending rows, when the offence has rows
    rows: tuple = ()

    def __str__(self) -> str:
        where = f"column {self.variable}: " if self.variable is not None else ""
        return f"{self.rule}: {where}{self.message}"


def namestr_dtype(size: int) -> np.dtype:
    """The namestr record (TS-140) as a big-endian numpy structured dtype of ``size``."""
    return np.dtype([
        ("ntype", ">i2"), ("nhfun", ">i2"), ("nlng", ">i2"), ("nvar0", ">i2"),
        ("nname", "S8"), ("nlabel", "S40"), ("nform", "S8"), ("nfl", ">i2"),
        ("nfd", ">i2"), ("nfj", ">i2"), ("nfill", "S2"), ("niform", "S8"), ("nifl", ">i2"),
        ("nifd", ">i2"), ("npos", ">i4"), ("rest", f"S{size - 88}"),
    ])


def text(value: str, width: int) -> bytes:
    """ASCII text blank-padded to a fixed width (already checked to fit)."""
    return value.encode("ascii").ljust(width, b" ")[:width]
