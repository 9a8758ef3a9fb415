"""The creation time written into output files, and reproducible builds.

``SOURCE_DATE_EPOCH`` (integer seconds since 1970-01-01 UTC, the reproducible-builds
convention, https://reproducible-builds.org/specs/source-date-epoch/) fixes it, so that a
rerun gives byte-identical XPT, Dataset-JSON, define.xml and report files. It is read here
and nowhere else.
"""
from __future__ import annotations

import datetime as _dt
import os

from .errors import CdiscError

__all__ = ["creation_time", "source_date_epoch"]


def source_date_epoch() -> _dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` as an aware UTC datetime; None when unset or blank.

    A value that is not an integer number of seconds is an error, never silently the clock.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None or not epoch.strip():
        return None
    try:
        return _dt.datetime.fromtimestamp(int(epoch.strip()), tz=_dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise CdiscError(f"SOURCE_DATE_EPOCH={epoch!r} is not an integer number of seconds "
                         "since 1970-01-01", rule="SOURCE-DATE-EPOCH") from None


def creation_time(now: _dt.datetime | None = None) -> _dt.datetime:
    """The creation time of an output, aware UTC: ``SOURCE_DATE_EPOCH`` when set, else
    ``now`` (default: the clock)."""
    fixed = source_date_epoch()
    if fixed is not None:
        return fixed
    return (now or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
