"""Regular expressions of spec files (``extract:``), run by RE2 in linear time.

Python's ``re`` backtracks: a pattern such as ``(a+)+$`` takes exponential time on
``'a' * 50 + 'b'``, so one line of a spec could hang a run. Spec patterns are compiled with
RE2 (the ``google-re2`` package), whose matching time is linear in the text. RE2 refuses the
few constructs that need backtracking (backreferences ``\\1``, lookahead/lookbehind
``(?=...)``, possessive quantifiers); such a pattern is a :class:`SpecError` naming the
file and line, as is any pattern RE2 cannot compile.
"""
from __future__ import annotations

from functools import lru_cache

from cdisc_convert.core.errors import SpecError

__all__ = ["compile_pattern"]

MAX_LENGTH = 1000


def _re2():
    # imported on first use: a checkout whose environment predates the dependency still
    # runs every spec without `extract:`
    import re2
    return re2


def _options():
    options = _re2().Options()
    options.log_errors = False          # the error becomes a SpecError, not a log line
    return options


@lru_cache(maxsize=1024)
def _compile(pattern: str):
    return _re2().compile(pattern, _options())


def compile_pattern(pattern, *, file=None, line: int | None = None):
    """``pattern`` compiled by RE2 (``.search``, ``.groups`` like ``re``), or a SpecError."""
    place = None if file is None else (f"{file}:{line}" if line else str(file))
    if not isinstance(pattern, str) or not pattern:
        raise SpecError("`extract:` needs a non-empty regular expression", file=place,
                        rule="SPEC-REGEX")
    if len(pattern) > MAX_LENGTH:
        raise SpecError(f"`extract:` pattern longer than {MAX_LENGTH} characters", file=place,
                        rule="SPEC-REGEX")
    try:
        return _compile(pattern)
    except _re2().error as err:
        detail = err.args[0].decode("utf-8", "replace") if err.args and isinstance(
            err.args[0], bytes) else str(err)
        raise SpecError(f"`extract: {pattern}` cannot be used: {detail} (spec patterns run "
                        "on RE2, which has no backreferences or lookaround: they need "
                        "backtracking, which can hang)", file=place, rule="SPEC-REGEX") from None
