"""Errors that a clinical programmer can act on.

Every error raised on purpose by cdisc-convert is a :class:`CdiscError`. It carries the
place it concerns (file, row, variable) and the rule that was broken, so the CLI can print
one readable line instead of a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Location:
    file: str | None = None
    row: int | None = None
    variable: str | None = None
    dataset: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.dataset:
            parts.append(f"dataset {self.dataset}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.variable:
            parts.append(f"column {self.variable}")
        return ", ".join(parts)


class CdiscError(Exception):
    """An expected, user-facing failure: bad input, bad spec, or a broken rule."""

    exit_code = 1

    def __init__(self, message: str, *, rule: str | None = None, file=None, row=None,
                 variable=None, dataset=None, details: list[str] | None = None):
        self.message = message
        self.rule = rule
        self.location = Location(str(file) if file else None, row, variable, dataset)
        self.details = list(details or [])
        super().__init__(self.format())

    def format(self) -> str:
        where = str(self.location)
        head = f"{where}: " if where else ""
        rule = f" [{self.rule}]" if self.rule else ""
        lines = [f"{head}{self.message}{rule}"]
        lines += [f"  - {d}" for d in self.details]
        return "\n".join(lines)


class InputError(CdiscError):
    """Input that cannot be read at all (missing file, truncated XPT, not a dataset)."""

    exit_code = 2


class SpecError(CdiscError):
    """A mapping spec or configuration file that is malformed."""

    exit_code = 2


class NotBuiltYet(CdiscError):
    """A command whose work is not built yet in this version."""

    exit_code = 3


class OutputError(CdiscError):
    """An output location the command may not or cannot write: it overlaps an input, holds
    files this tool did not write, is locked by another run, is read-only or full."""

    exit_code = 2


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM). Like KeyboardInterrupt, it is not an
    Exception, so no ``except Exception`` swallows it; outputs being written are dropped."""
