"""The one check every raw reader makes of its column names (CSV/SAS/Excel, SQL, ODM)."""
from __future__ import annotations

from typing import Sequence

from cdisc_convert.core.errors import InputError


def check_unique_names(names: Sequence[str], *, file, what: str = "column header",
                       fix: str = "rename one, the second would be ignored") -> None:
    """A name given twice is an error naming both positions (rule RAW-HEADER): pandas would
    otherwise rename the second silently and a mapping would read the first only."""
    seen: dict[str, int] = {}
    for position, column in enumerate(names, 1):
        if column in seen:
            raise InputError(f"{what} {column!r} appears twice (columns {seen[column]} and "
                             f"{position}); {fix}", file=file, rule="RAW-HEADER")
        seen[column] = position
