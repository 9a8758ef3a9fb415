"""How numbers and lists are written in generated prose (define.xml method texts)."""
from __future__ import annotations

from typing import Iterable


def number_text(x: float) -> str:
    """A number as written in method texts: 18 not 18.0."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def quote_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)
