"""Units of measure: converting collected results to standard units with `pint`.

A unit is read as written by `pint` (``mg/dL``, ``mmol/L``, ``kg``, ``cm``, ``mmHg``,
``1e9/L``, ``degF`` ...) after the alias table ``specs/units/aliases.csv``, which turns the
CDISC UNIT submission values and UCUM codes that pint reads differently or not at all into
pint expressions (``C`` is degree Celsius there, not coulomb; ``F`` degree Fahrenheit, not
farad; ``10^9/L``, ``beats/min``, ``mm[Hg]``, ``[lb_av]`` ...). Aliases match exactly, then
ignoring case; a unit that is neither an alias nor read by pint as written is tried in lower
case (``MG/DL``). Mass and amount of substance (``mg/dL`` -> ``mmol/L``) convert only with
the analyte's molar mass, which the mapping spec declares per test (pint's ``chemistry``
context).
"""
from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.resources import specs_dir

__all__ = ["UnitError", "convert", "is_unit"]

#: units pint does not define that findings data uses
_DEFINITIONS = (
    "hounsfield_unit = [radiodensity] = HU",
    "international_unit = [biological_activity] = IU",
)


class UnitError(ValueError):
    """A unit that cannot be read, or two units that cannot be converted."""


@lru_cache(maxsize=1)
def _registry():
    import pint     # loaded on first use: building the registry takes a moment

    registry = pint.UnitRegistry(autoconvert_offset_to_baseunit=False)
    for line in _DEFINITIONS:
        registry.define(line)
    return registry


@lru_cache(maxsize=1)
def _aliases() -> tuple[dict[str, str], dict[str, str]]:
    path = specs_dir() / "units" / "aliases.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [(r["unit"], r["pint"]) for r in csv.DictReader(handle)]
    return dict(rows), {unit.casefold(): target for unit, target in rows}


@lru_cache(maxsize=4096)
def _parse(unit: str):
    """(scale, pint units) of a unit text, e.g. '10^9/L' -> (1e9, 1/liter)."""
    import pint

    exact, folded = _aliases()
    text = unit.strip()
    candidates = [exact.get(text) or folded.get(text.casefold()) or text]
    if candidates[0] == text and text.lower() != text:
        candidates.append(text.lower())
    for candidate in candidates:
        try:
            quantity = _registry().parse_expression(candidate.replace("^", "**"))
        except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError):
            continue
        if isinstance(quantity, (int, float)):      # a bare number is no unit
            continue
        return float(quantity.magnitude), quantity.units
    raise UnitError(f"unit {unit!r} is not known (neither in specs/units/aliases.csv nor "
                    "read by pint)")


def is_unit(unit: str) -> bool:
    """True when ``unit`` can be read (an alias or a pint unit expression)."""
    try:
        _parse(unit)
    except UnitError:
        return False
    return True


def convert(values, unit: str, to: str, molar_mass: float | None = None) -> np.ndarray:
    """``values`` (numbers) in ``unit`` converted to ``to``.

    ``molar_mass`` (g/mol) lets mass and amount of substance convert into each other
    (glucose 180.16: 100 mg/dL -> 5.55 mmol/L). Raises :class:`UnitError` when a unit is
    unknown or the dimensions differ.
    """
    import pint

    scale_from, units_from = _parse(unit)
    scale_to, units_to = _parse(to)
    numbers = np.asarray(values, dtype=float)
    quantity = _registry().Quantity(numbers * scale_from, units_from)
    try:
        if molar_mass is not None:
            mw = _registry().Quantity(float(molar_mass), "g/mol")
            result = quantity.to(units_to, "chemistry", mw=mw)
        else:
            result = quantity.to(units_to)
    except pint.errors.DimensionalityError:
        dims = f"{units_from.dimensionality}{units_to.dimensionality}"
        hint = (" (mass <-> amount of substance needs `molar_mass:`)"
                if molar_mass is None and "[substance]" in dims else "")
        raise UnitError(f"{unit} cannot be converted to {to}{hint}") from None
    return np.asarray(result.magnitude, dtype=float) / scale_to


def check_unit(unit: str, *, file=None, variable=None) -> None:
    """A unit the spec names (``to:``): a :class:`SpecError` when it cannot be read."""
    try:
        _parse(unit)
    except UnitError as err:
        raise SpecError(str(err), file=file, variable=variable, rule="SPEC-UNIT") from None
