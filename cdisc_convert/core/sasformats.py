"""SAS display formats: their parts, their canonical spelling, and which ones show dates.

A SAS format is NAME, width, ``.``, decimals: ``DATE9.``, ``8.2``, ``$CHAR20.``,
``E8601DT19.``. Readers do not agree on the spelling they hand back: pyreadstat 1.2
returned ``DATE9`` (no final dot), pyreadstat 1.3 returns ``DATE9.``, our XPT reader gives
``DATE9.``, users type either. Everything that decides on a format's *meaning* (is this
number a date? which display format goes into define.xml or Dataset-JSON?) goes through
this module, so that both spellings behave the same everywhere.
"""
from __future__ import annotations

import re

__all__ = ["parse_format", "format_name", "canonical_format", "temporal_kind",
           "TEMPORAL_FORMAT_FAMILIES"]

# NAME (never ending in a digit in SAS, so "E8601DA10." is E8601DA width 10), width,
# optional "." and decimals.
_FORMAT_RE = re.compile(r"(\$?(?:[A-Z_](?:[A-Z0-9_]*[A-Z_])?)?)(\d*)(?:\.(\d*))?\Z")

#: Format families that show a SAS number as a date, datetime or time, matched on the
#: start of the format name (``YYMMDDN8.`` is a YYMMDD date, ``TIMEAMPM11.`` a time).
#: Order matters: the longer DATETIME/DATEAMPM must be tried before DATE.
TEMPORAL_FORMAT_FAMILIES: tuple[tuple[str, str], ...] = (
    ("DATETIME", "datetime"), ("DATEAMPM", "datetime"), ("E8601DT", "datetime"),
    ("IS8601DT", "datetime"), ("B8601DT", "datetime"),
    ("DATE", "date"), ("E8601DA", "date"), ("IS8601DA", "date"), ("B8601DA", "date"),
    ("YYMMDD", "date"), ("MMDDYY", "date"), ("DDMMYY", "date"), ("MONYY", "date"),
    ("WORDDATE", "date"), ("WEEKDATE", "date"),
    ("TIME", "time"), ("E8601TM", "time"), ("IS8601TM", "time"), ("B8601TM", "time"),
    ("TOD", "time"), ("HHMM", "time"),
)


def parse_format(text) -> tuple[str, int, int | None] | None:
    """``(NAME, width, decimals)`` of a SAS format, upper-cased; width 0 when absent,
    decimals None when there is no ``.`` part at all or nothing after it.

    ``"DATE9."`` and ``"date9"`` both give ``("DATE", 9, None)``; ``"8.2"`` gives
    ``("", 8, 2)``. Anything that is not a format (None, a number, ``"9DATE"``) gives None.
    """
    if not isinstance(text, str):
        return None
    match = _FORMAT_RE.match(text.strip().upper())
    if match is None or not (match.group(1) or match.group(2)):
        return None
    name, width, decimals = match.groups()
    return name, int(width or 0), int(decimals) if decimals else None


def format_name(text) -> str | None:
    """The format's name without width and decimals (``"DATE9."`` -> ``"DATE"``)."""
    parsed = parse_format(text)
    return None if parsed is None else parsed[0]


def canonical_format(text) -> str | None:
    """The SAS spelling: upper case, and the final ``.`` that separates width and
    decimals always present (``"date9"`` -> ``"DATE9."``, ``"8.2"`` stays ``"8.2"``)."""
    parsed = parse_format(text)
    if parsed is None:
        return None
    name, width, decimals = parsed
    return f"{name}{width or ''}." + (str(decimals) if decimals is not None else "")


def temporal_kind(text) -> str | None:
    """``"date"``, ``"datetime"``, ``"time"`` for a format that shows a SAS number as one
    (by :data:`TEMPORAL_FORMAT_FAMILIES`), else None; the spelling does not matter."""
    name = format_name(text)
    if not name:
        return None
    for family, kind in TEMPORAL_FORMAT_FAMILIES:
        if name.startswith(family):
            return kind
    return None
