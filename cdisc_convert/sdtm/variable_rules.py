"""Evaluating the variable rules of a mapping spec over a frame of raw rows (vectorised).

A variable has one rule or a list of rules; in a list the first rule whose ``where`` matches a
row wins for that row (like ``case_when``). Each rule *produces* values (``value``, ``from``,
``format``, ``date``, ``number``, ``unit``, ``age``) and may then *post-process* them
(``extract``, ``transform``, ``map``, ``codelist``). Names in a rule refer to raw columns, or
to variables already derived earlier in the same block (a derived variable shadows a raw
column of the same name from then on).
"""
from __future__ import annotations

import operator
import re
import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.expr import columns_of, where_mask
from cdisc_convert.core.regex import compile_pattern
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct
from cdisc_convert.standards.units import UnitError, check_unit, convert
from .rawdates import parse_dates
from .findings import Findings
from cdisc_convert.core.arrays import combine_codes, filled
from cdisc_convert.core.factorize import (factorize_keys, factorize_objects, factorize_text,
                                          holds_objects, object_codes, object_firsts)

@dataclass
class Context:
    """What rule evaluation needs besides the rows: where findings go, and study maps."""

    findings: Findings
    domain: str
    spec_path: str
    value_maps: dict[str, dict[str, str]]


class Env:
    """The rows a rule sees: raw columns plus the variables derived so far.

    A derived variable shadows the raw column of the same name. Subsetting (``env[mask]``)
    only records row positions; columns are taken when a rule asks for them, so a rule with a
    ``where`` on a wide joined table does not copy the whole table. Offers the small part of
    the DataFrame interface the rules use (``index``, ``columns``, ``len``, ``in``, ``[name]``,
    ``[mask]``, ``get``); ``where`` expressions read it through
    :func:`cdisc_convert.core.expr.where_mask`.
    """

    def __init__(self, raw: pd.DataFrame, derived: dict | None = None, positions=None):
        self._raw = raw
        self._derived = derived if derived is not None else {}
        self._pos = positions
        self.index = raw.index if positions is None else raw.index[positions]
        # where-expression -> (columns it reads, its mask): LB's eleven result variables
        # ask `LBORRES != ''` again and again of 1.4 million rows at 50,000 subjects
        self._masks: dict[str, tuple[set[str], pd.Series]] = {}

    @property
    def columns(self) -> list[str]:
        return list(self._raw.columns) + [c for c in self._derived if c not in self._raw.columns]

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, name) -> bool:
        return name in self._derived or name in self._raw.columns

    def set(self, name: str, values: pd.Series) -> None:
        """Store a derived variable (values for every row of the unsubsetted env)."""
        self._derived[name] = values
        self._masks = {expr: known for expr, known in self._masks.items()
                       if name not in known[0]}

    def where(self, expr: str, file) -> pd.Series:
        """:func:`~cdisc_convert.core.expr.where_mask` of ``expr`` on these rows, evaluated
        once until a variable it reads is set (the mask is shared: callers must not change
        it). Subsets do not remember: they live for one rule."""
        if self._pos is not None:
            return where_mask(expr, self, file=file)
        known = self._masks.get(expr)
        if known is None:
            known = (columns_of(expr, file=file), where_mask(expr, self, file=file))
            self._masks[expr] = known
        return known[1]

    def _take(self, series: pd.Series) -> pd.Series:
        return series if self._pos is None else series.iloc[self._pos]

    def __getitem__(self, key):
        if isinstance(key, str):
            if key in self._derived:
                return self._take(self._derived[key])
            return self._take(self._raw[key])
        mask = np.asarray(key, dtype=bool)
        base = np.arange(len(self._raw)) if self._pos is None else self._pos
        return Env(self._raw, self._derived, base[mask])

    def get(self, name: str, default=None):
        return self[name] if name in self else default


def _column(env: Env, name: str, ctx: Context, variable: str) -> pd.Series:
    if name not in env.columns:
        tables = ", ".join(sorted(set(env["__table"]))) if "__table" in env and len(env) else "?"
        visible = [c for c in env.columns if not c.startswith("__")]
        raise SpecError(f"{ctx.domain}.{variable}: column {name!r} is not in the raw table(s) "
                        f"{tables} (columns: {', '.join(visible)})", file=ctx.spec_path,
                        variable=variable, rule="SPEC-COLUMN")
    return env[name]


def number_text(value) -> str:
    """A number as SDTM character text: 89.0 -> "89", 4.25 -> "4.25", missing -> ""."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return np.format_float_positional(float(value), trim="-")


def distinct_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct values), -1 for missing values. Text columns are numbered
    by object identity first (:func:`~cdisc_convert.core.factorize.factorize_objects`):
    columns read from CSV or made by these rules share one string object per value, so
    hashing a million strings again for every rule is avoided. A value may then appear
    twice among the distinct values (two objects holding it); callers only look values up."""
    if series.dtype == object:
        return factorize_objects(series.to_numpy())
    return pd.factorize(series, use_na_sentinel=True)


def per_distinct(series: pd.Series, func) -> pd.Series:
    """Apply ``func`` (value -> value) once per distinct value; missing values give "".

    When ``func`` gives every distinct text object back as it is (``as_text`` of text that
    is already clean) and each row holds its distinct value's object, the result is the
    column itself (a shallow copy, unnamed like the others): the same objects the spread
    would give, without a new array of pointers per call (``_conform`` asks this of every
    text column of every domain)."""
    return _spread(series, lambda uniques: [func(u) for u in uniques])


def _stripped(uniques) -> list:
    """``str(v).strip()`` of each distinct value: one C-level map when all are text (a
    Python call per distinct value cost about a second per million of them: USUBJID's
    50,000 in every block and every domain at 50,000 subjects)."""
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        return list(map(str.strip, uniques))
    return [str(v).strip() for v in uniques]


def _spread(series: pd.Series, func) -> pd.Series:
    """:func:`per_distinct` with ``func`` taking all distinct values at once."""
    codes, uniques = distinct_codes(series)
    results = func(uniques)
    if series.dtype == object and all(map(operator.is_, results, uniques)) and \
            holds_objects(series.to_numpy(), codes, np.asarray(uniques, dtype=object)):
        out = series.copy(deep=False)
        out.name = None
        return out
    table = np.array(results + [""], dtype=object)
    return pd.Series(table[codes], index=series.index, dtype=object, copy=False)


def text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct text per code) of ``as_text(series)`` without making that
    column: each distinct value made text once (missing values: ``""``), equal texts then
    merged (" a" and "a" are both "a"), so every text is present and appears once."""
    codes, uniques = distinct_codes(series)
    texts = [number_text(u) for u in uniques] if pd.api.types.is_numeric_dtype(series) else \
        _stripped(uniques)
    if len(codes) and int(codes.min()) < 0:
        texts.append("")
        codes = np.where(codes < 0, len(texts) - 1, codes)
    by_value, distinct = factorize_text(np.array(texts, dtype=object))
    return by_value.take(codes), np.asarray(distinct, dtype=object)


def as_text(series: pd.Series) -> pd.Series:
    """Values as stripped text, missing as ''; numbers without a trailing '.0'."""
    if pd.api.types.is_numeric_dtype(series):
        return per_distinct(series, number_text)
    if series.dtype == object:
        by_object = _text_by_object(series)
        if by_object is not None:
            return by_object
    return _spread(series, _stripped)


_SAMPLE = 10_000        # rows sampled to see whether the rows share their text objects


def _text_by_object(series: pd.Series) -> pd.Series | None:
    """``as_text`` of an object column whose rows share one ``str`` object per distinct
    value (as read_csv, pyarrow's deduplicated reading and these rules make them), by
    object identity alone; None when a strided sample shows mostly one object per row or
    a value is not a ``str`` (then :func:`_spread` numbers the values).

    Each distinct object is stripped once; when none changes, every row already holds its
    text and the column itself is the answer (a shallow copy, unnamed). No numbering by
    value is needed for that (a row holds one of the objects by construction), which saves
    ``_conform`` a pass of hashing and two of comparing per text column of every domain."""
    values = np.ascontiguousarray(series.to_numpy())
    if values.size > 4 * _SAMPLE:
        sample = np.ascontiguousarray(values[::values.size // _SAMPLE][:_SAMPLE])
        if object_firsts(sample).size > _SAMPLE // 2:
            return None
    # the distinct objects first, without a code per row: most columns are clean text
    # already, and only a column that changes needs its rows numbered
    objects = values[object_firsts(values)]
    if pd.api.types.infer_dtype(objects, skipna=False) != "string":
        return None
    texts = list(map(str.strip, objects))
    if all(map(operator.is_, texts, objects)):
        out = series.copy(deep=False)
        out.name = None
        return out
    by_object, _first = object_codes(values)     # codes in the order of object_firsts
    return pd.Series(np.array(texts, dtype=object).take(by_object), index=series.index,
                     dtype=object, copy=False)


def _format(template: str, env: pd.DataFrame, ctx: Context, variable: str) -> pd.Series:
    """``format: "{A}-{B}"``: the template filled with each row's values as text.

    Built once per distinct combination of the fields' values (USUBJID from STUDYID and
    SUBJID: one string per subject instead of one concatenation per record and field),
    unless most rows are distinct combinations anyway. A template of one field is filled
    once per distinct value of it (USUBJID from SUBJECT: no combination to number)."""
    pieces = list(string.Formatter().parse(template))
    # each field as (code per row, text per code): as_text without making its column
    fields = [text_codes(_column(env, name, ctx, variable)) for _lit, name, _s, _c in pieces
              if name]
    count = len(env)

    def fill(values) -> str:
        text = ""
        values = iter(values)
        for literal, name, _spec, _conv in pieces:
            if literal:
                text = text + literal
            if name:
                text = text + next(values)
        return text

    if len(fields) == 1:        # the literal text before and after the one field
        codes, texts = fields[0]
        at = next(i for i, piece in enumerate(pieces) if piece[1])
        head = "".join(piece[0] for piece in pieces[:at + 1])
        tail = "".join(piece[0] for piece in pieces[at + 1:])
        table = np.array([head + t + tail for t in texts.tolist()], dtype=object)
        return pd.Series(table.take(codes), index=env.index, dtype=object, copy=False)
    combos = None
    if fields and count:
        parts = ((codes, len(texts)) for codes, texts in fields)
        combined, _span = combine_codes(parts, count, renumber=True)
        combos, first = factorize_keys(combined)
        if len(first) * 2 > count:
            combos = None
    if combos is None:      # one concatenation per row and piece
        result = pd.Series("", index=env.index, dtype=object)
        values = iter(fields)
        for literal, name, _spec, _conv in pieces:
            if literal:
                result = result + literal
            if name:
                codes, texts = next(values)
                result = result + pd.Series(texts.take(codes), index=env.index, dtype=object,
                                            copy=False)
        return result
    columns = [texts.take(codes.take(first)).tolist() for codes, texts in fields]
    table = np.array([fill(row) for row in zip(*columns)] if columns else [], dtype=object)
    return pd.Series(table.take(combos), index=env.index, dtype=object, copy=False)


def _trace(env: Env, mask) -> tuple[pd.Series, pd.Series]:
    sub = env[mask]
    return sub.get("__table", pd.Series("", index=sub.index)), sub.get("__row", pd.Series(dtype=object))


def _number(series: pd.Series, ctx: Context, variable: str, env: pd.DataFrame,
            decimal: str = ".") -> pd.Series:
    """Numbers of a text column; text that is not a number is an error finding (MAP-NUMBER).
    ``decimal: ","`` reads a decimal comma (``36,6``, as European exports write), and then a
    point is not a decimal separator (``1.234`` is not a number there)."""
    # parsed once per distinct text, and told bad once per distinct text: to_numeric,
    # isna and a text comparison of every row were most of the time
    codes, texts = text_codes(series)
    distinct = pd.Series(texts, dtype=object)
    if decimal == ",":
        # a point would be read as the decimal point: such a text is not a number here
        distinct = distinct.where(~distinct.str.contains(".", regex=False), "x").str.replace(
            ",", ".", regex=False)
    parsed = pd.to_numeric(distinct.where(distinct != "", np.nan), errors="coerce").to_numpy()
    # "inf" and "nan" are numbers to pandas, not to a clinical database
    wrong = (pd.isna(parsed) | np.isinf(parsed)) & (texts != "")
    bad = pd.Series(wrong.take(codes), index=series.index, copy=False)
    if bad.any():
        parsed = np.where(wrong, np.nan, parsed)
        tables, rows = _trace(env, bad)
        ctx.findings.add("error", "MAP-NUMBER", "not a (finite) number", domain=ctx.domain,
                         variable=variable, table=tables, rows=rows,
                         values=texts.take(codes[bad.to_numpy()]))
    return pd.Series(parsed.take(codes), index=series.index, copy=False)


def _param(value, env: Env, ctx: Context, variable: str):
    """A rule parameter: a literal, or a ``"{COLUMN}"`` template giving one value per row
    (e.g. a test table's standard unit); a Series of text for a template."""
    if isinstance(value, str) and "{" in value:
        return _format(value, env, ctx, variable)
    return value


def _unit(rule: dict, env: Env, ctx: Context, variable: str) -> pd.Series:
    """``unit: {value: COL, unit: COL}, to: U``: numbers converted to the standard unit.

    Units are read by :mod:`cdisc_convert.standards.units` (pint, with CDISC/UCUM aliases);
    one column may mix units (lb and kg, mg/dL and mmol/L). ``to:`` and ``molar_mass:`` (g/mol,
    for mass <-> amount of substance) may be ``"{COLUMN}"`` templates (per test of a test
    table); ``factors: {unit: factor}`` overrides the conversion of a collected unit (e.g.
    a test-specific mg/dL factor). Each distinct (unit, target, molar mass) is converted
    once. A result whose unit is blank, unknown or not convertible is an error finding
    (MAP-UNIT) and stays missing.
    """
    spec = rule["unit"]
    values = _number(_column(env, spec["value"], ctx, variable), ctx, variable, env,
                     rule.get("decimal", "."))
    units = as_text(_column(env, spec["unit"], ctx, variable))
    target = _param(rule["to"], env, ctx, variable)
    if not isinstance(target, pd.Series):
        check_unit(str(target), file=ctx.spec_path, variable=variable)
    molar = _param(rule.get("molar_mass"), env, ctx, variable)
    factors = {str(k).strip().casefold(): float(v) for k, v in (rule.get("factors") or {}).items()}
    # one integer per (unit, target, molar mass) combination: grouping a million rows by
    # three text columns cost more than the conversions
    combo = np.zeros(len(env), dtype=np.int64)
    choices = []
    for part in (units, target, molar if molar is not None else ""):
        if isinstance(part, pd.Series):
            codes, distinct = distinct_codes(part)     # text made by the rules: by object
            if (codes < 0).any():      # a missing value: its text, as astype(str) gives it
                codes, distinct = pd.factorize(part.astype(str).to_numpy(dtype=object))
            else:
                distinct = np.array([str(u) for u in distinct], dtype=object)
        else:
            codes, distinct = np.zeros(len(env), dtype=np.int64), np.array([str(part)], object)
        combo = combo * len(distinct) + codes
        choices.append(np.asarray(distinct, dtype=object))
    result_values = np.full(len(env), np.nan)
    bad_values = np.zeros(len(env), dtype=bool)
    number_values = values.to_numpy(dtype=float)
    reasons = {}
    present = np.flatnonzero(values.notna().to_numpy())
    group, groups = pd.factorize(combo[present])
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(len(groups) + 1))
    for g, key in enumerate(groups):
        idx = present[order[bounds[g]:bounds[g + 1]]]
        mw = choices[2][key % len(choices[2])]
        to = choices[1][key // len(choices[2]) % len(choices[1])]
        unit = choices[0][key // len(choices[2]) // len(choices[1])]
        numbers = number_values[idx]
        try:
            if unit.casefold() in factors:
                converted = numbers * factors[unit.casefold()]
            elif unit == "":
                raise UnitError(f"a result without a unit cannot be converted to {to}")
            else:
                converted = convert(numbers, unit, to, float(mw) if mw not in ("", "nan") else None)
        except (UnitError, ValueError) as err:
            bad_values[idx] = True
            reasons[str(err)] = True
            continue
        result_values[idx] = converted
    result = pd.Series(result_values, index=env.index, copy=False)
    bad = pd.Series(bad_values, index=env.index, copy=False)
    if bad.any():
        tables, rows = _trace(env, bad)
        ctx.findings.add("error", "MAP-UNIT", "unit cannot be converted: "
                         + "; ".join(sorted(reasons)), domain=ctx.domain, variable=variable,
                         table=tables, rows=rows, values=units[bad])
    return result.round(10)


def _rounded(values: pd.Series, rule: dict, env: Env, ctx: Context, variable: str) -> pd.Series:
    """``round: N`` (decimal places) or ``significant: N`` (significant digits) on numbers;
    N may be a ``"{COLUMN}"`` template (per test). Halves round away from zero (0.25 -> 0.3
    at one place), as laboratories and SAS's ROUND do, not to even as numpy does."""
    for key in ("round", "significant"):
        if rule.get(key) is None:
            continue
        digits = _param(rule[key], env, ctx, variable)
        digits = pd.to_numeric(digits if isinstance(digits, pd.Series)
                               else pd.Series(digits, index=values.index), errors="coerce")
        numbers = values.astype(float)
        if key == "significant":
            magnitude = np.floor(np.log10(np.abs(numbers.where(numbers != 0, 1.0))))
            places = digits - 1 - magnitude
        else:
            places = digits
        scale = np.power(10.0, places)
        # the decimal representation decides halves: 2.675 is stored as 2.67499..., so round
        # the shortest decimal text, not the binary value
        shifted = (numbers * scale).round(9)
        values = (np.sign(shifted) * np.floor(np.abs(shifted) + 0.5) / scale).where(
            digits.notna(), numbers)
    return values


def _age(rule: dict, env: pd.DataFrame, ctx: Context, variable: str) -> pd.Series:
    """Completed years between a (possibly partial) birth date and a reference date.

    With the birth day unknown the age is still exact when the birth month differs from the
    reference month; otherwise (or with only a birth year) it is ambiguous: reported, left
    missing, never guessed (imputation belongs to ADaM).
    """
    spec = rule["age"]
    birth = as_text(_column(env, spec["birth"], ctx, variable))
    ref = as_text(_column(env, spec["reference"], ctx, variable)).str[:10]
    by, bm, bd = (pd.to_numeric(birth.str[a:b].where(birth.str.len() >= b), errors="coerce")
                  for a, b in ((0, 4), (5, 7), (8, 10)))
    ry, rm, rd = (pd.to_numeric(ref.str[a:b].where(ref.str.len() >= b), errors="coerce")
                  for a, b in ((0, 4), (5, 7), (8, 10)))
    before_birthday = (rm < bm) | ((rm == bm) & (rd < bd))
    age = ry - by - before_birthday.astype(float)
    ambiguous = by.notna() & ry.notna() & (bm.isna() | (bd.isna() & (bm == rm)))
    age = age.where(~ambiguous & bm.notna() & ry.notna())
    if ambiguous.any():
        tables, rows = _trace(env, ambiguous)
        ctx.findings.add("warning", "MAP-AGE", "age cannot be computed exactly from a partial "
                         "birth date; left missing", domain=ctx.domain, variable=variable,
                         table=tables, rows=rows, values=birth[ambiguous])
    return age


_ISO_DURATION = re.compile(
    r"^-?P(?!$)(\d+([.,]\d+)?Y)?(\d+([.,]\d+)?M)?(\d+([.,]\d+)?W)?(\d+([.,]\d+)?D)?"
    r"(T(?=\d)(\d+([.,]\d+)?H)?(\d+([.,]\d+)?M)?(\d+([.,]\d+)?S)?)?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DURATION_UNITS = {  # collected unit word -> (ISO 8601 designator, time part?)
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), ("Y", False)),
    **dict.fromkeys(("mo", "month", "months"), ("M", False)),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), ("W", False)),
    **dict.fromkeys(("d", "day", "days"), ("D", False)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("H", True)),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), ("M", True)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), ("S", True)),
}


def iso_duration(text: str) -> str | None:
    """A collected duration as ISO 8601 (SDTMIG 3.4 §4.4.3.2), None when it is not one.

    ISO 8601 text is kept (``PT15M``, ``-PT30M``, ``P1DT2H``); ``15 min``, ``-30 minutes``,
    ``1 h 30 min``, ``2 days`` become ``PT15M``, ``-PT30M``, ``PT1H30M``, ``P2D``. A
    leading minus (before the time point reference, as SDTMIG's --ELTM examples) is kept.
    """
    value = str(text).strip()
    if _ISO_DURATION.match(value.upper()):
        return value.upper()
    sign = "-" if value.startswith("-") else ""
    body = value.lstrip("-+").strip().lower()
    parts = _DURATION_PART.findall(body)
    if not parts or _DURATION_PART.sub("", body).strip(" ,") != "":
        return None
    date, time, seen = "", "", set()
    for number, word in parts:
        found = _DURATION_UNITS.get(word)
        if found is None or found in seen:
            return None
        seen.add(found)
        number = number.rstrip("0").rstrip(".") if "." in number else number
        if found[1]:
            time += number + found[0]
        else:
            date += number + found[0]
    result = sign + "P" + date + ("T" + time if time else "")
    return result if _ISO_DURATION.match(result) else None


def _duration(series: pd.Series, ctx: Context, variable: str, env: Env) -> pd.Series:
    """``duration: COLUMN``: ISO 8601 durations; text that is none is an error finding."""
    text = as_text(series)
    iso = per_distinct(text, lambda v: iso_duration(v) if v != "" else "")
    bad = iso.isna() & (text != "")
    if bad.any():
        tables, rows = _trace(env, bad)
        ctx.findings.add("error", "MAP-DURATION", "not an ISO 8601 duration nor a number with "
                         "a unit (15 min, 2 h, 1 day)", domain=ctx.domain, variable=variable,
                         table=tables, rows=rows, values=text[bad])
    return iso.where(~bad, "").fillna("")


def _produce(rule: dict, env: pd.DataFrame, ctx: Context, variable: str) -> pd.Series:
    if "value" in rule:
        return pd.Series(filled(len(env), rule["value"]), index=env.index, copy=False)
    if "from" in rule:
        return as_text(_column(env, rule["from"], ctx, variable))
    if "format" in rule:
        return _format(rule["format"], env, ctx, variable)
    if "number" in rule:
        return _number(_column(env, rule["number"], ctx, variable), ctx, variable, env,
                       rule.get("decimal", "."))
    if "unit" in rule:
        return _unit(rule, env, ctx, variable)
    if "age" in rule:
        return _age(rule, env, ctx, variable)
    if "duration" in rule:
        return _duration(_column(env, rule["duration"], ctx, variable), ctx, variable, env)
    # date
    time = _column(env, rule["time"], ctx, variable) if rule.get("time") else None
    parsed = parse_dates(as_text(_column(env, rule["date"], ctx, variable)),
                         rule.get("formats"), time=time,
                         two_digit_year_pivot=rule.get("two_digit_year_pivot"))
    if len(parsed.errors):
        for severity, part in parsed.errors.groupby("severity"):
            hit = env.index.isin(part["row"])
            tables, rows = _trace(env, hit)
            values = parsed_values_at(env, rule["date"], hit)
            ctx.findings.add(severity, "MAP-DATE", "date not parsed: " + "; ".join(
                sorted(set(part["reason"]))), domain=ctx.domain, variable=variable,
                table=tables, rows=rows, values=values)
    return parsed.iso


def parsed_values_at(env: Env, column: str, mask) -> pd.Series:
    """The raw values of ``column`` at the rows of ``mask`` (for finding messages)."""
    return env[mask][column]


def _extract(values: pd.Series, pattern: str, ctx: Context, variable: str,
             env: pd.DataFrame) -> pd.Series:
    """``extract: REGEX``: the part of each value that the regular expression captures.

    The expression is searched in the (stripped) text; the first capture group is kept, or
    the whole match when the expression has no group. A non-blank value the expression does
    not match is an error finding (MAP-EXTRACT) and gives ``""``; blanks stay blank. The
    pattern runs on RE2 (linear time, see :mod:`cdisc_convert.core.regex`), once per
    distinct value.
    """
    compiled = compile_pattern(pattern, file=ctx.spec_path)
    group = 1 if compiled.groups else 0
    text = values.astype(str).str.strip()
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    found_unique = []
    for u in uniques:
        match = compiled.search(u)
        found_unique.append(match.group(group) if match else None)
    table = np.array(found_unique + [None], dtype=object)
    found = pd.Series(table[codes], index=text.index, dtype=object, copy=False)
    missing = found.isna() & (text != "")
    if missing.any():
        tables, rows = _trace(env, missing)
        ctx.findings.add("error", "MAP-EXTRACT", f"value does not match `extract: {pattern}`",
                         domain=ctx.domain, variable=variable, table=tables, rows=rows,
                         values=text[missing])
    return found.fillna("").astype(object)


def _named_map(name, ctx: Context, variable: str) -> dict:
    """``map: NAME`` names a ``value_maps`` entry of study.yaml (shared by several domains)."""
    found = ctx.value_maps.get(str(name).upper())
    if found is None:
        raise SpecError(f"{variable}: `map: {name}` names no value map in study.yaml "
                        f"(value_maps: {', '.join(sorted(ctx.value_maps)) or 'none'})",
                        file=ctx.spec_path, variable=variable, rule="SPEC-MAP")
    return found


def _transform(values: pd.Series, transforms) -> pd.Series:
    steps = transforms if isinstance(transforms, list) else [transforms]

    def apply(value):
        text = str(value)
        for step in steps:
            text = getattr(text, step)()
        return text

    return per_distinct(values, apply)


def _apply_map(values: pd.Series, mapping: dict, ctx: Context, variable: str,
               env: pd.DataFrame, *, final: bool) -> tuple[pd.Series, pd.Series]:
    """Case-insensitive value map; returns (mapped values, mask of values not found)."""
    folded = {str(k).strip().casefold(): str(v) for k, v in mapping.items()}
    # per distinct value: the mapped text, or the value itself (kept) when it is not mapped
    codes, uniques = distinct_codes(values)
    hits = [folded.get(str(u).strip().casefold()) for u in uniques]
    table = np.array([h if h is not None else u for h, u in zip(hits, uniques)] + [""],
                     dtype=object)
    unmapped = np.array([h is None and u != "" for h, u in zip(hits, uniques)] + [False])
    missing = pd.Series(unmapped[codes], index=values.index, copy=False)
    if final and missing.any():
        tables, rows = _trace(env, missing)
        ctx.findings.add("error", "MAP-VALUE", "value not in the spec's `map:`",
                         domain=ctx.domain, variable=variable, table=tables, rows=rows,
                         values=values[missing])
    return pd.Series(table[codes], index=values.index, dtype=object, copy=False), missing


def _codelist(name: str, ctx: Context, variable: str):
    try:
        return load_ct().codelist(name)
    except MetadataKeyError:
        raise SpecError(f"{variable}: unknown codelist {name!r}", file=ctx.spec_path,
                        variable=variable, rule="SPEC-CODELIST")


def _decode(values: pd.Series, source: str, target, ctx: Context, variable: str) -> pd.Series:
    """``decode: VSTESTCD`` with ``codelist: VSTEST``: the value is a term of codelist
    ``source``; give the submission value of the same NCI term (same C-code) in the target
    codelist (VSTESTCD SYSBP -> VSTEST Systolic Blood Pressure). Values that are no term of
    ``source`` pass unchanged (the target codelist then checks them)."""
    codes = _codelist(source, ctx, variable)
    code_of = dict(zip(codes.terms["submission_value"], codes.terms["term_code"]))
    name_of = dict(zip(target.terms["term_code"], target.terms["submission_value"]))

    def one(value):
        submission = codes.lookup(value)
        return name_of.get(code_of.get(submission), value) if isinstance(submission, str) else value

    return per_distinct(values, one)


def _apply_codelist(values: pd.Series, name: str, ctx: Context, variable: str,
                    env: pd.DataFrame, decode: str | None = None) -> pd.Series:
    """Study value map first, then CDISC CT (submission value, synonyms, preferred term)."""
    codelist = _codelist(name, ctx, variable)
    if decode:
        values = _decode(values, decode, codelist, ctx, variable)
    study_map = ctx.value_maps.get(name.upper()) or ctx.value_maps.get(codelist.short_name, {})
    if study_map:
        values, _ = _apply_map(values, study_map, ctx, variable, env, final=False)
    # look each distinct value up once; a value not in the codelist keeps its text, upper-cased
    codes, uniques = distinct_codes(values)
    found = codelist.lookup(pd.Series(uniques, dtype=object)).to_numpy(dtype=object)
    known = np.append(pd.notna(found), True)          # the last slot: missing input
    fallback = np.array([str(u).upper() for u in uniques] + [""], dtype=object)
    chosen = np.where(known[:-1], found, fallback[:-1])
    table = np.append(chosen, "").astype(object)
    missing = pd.Series((~known & (fallback != ""))[codes], index=values.index, copy=False)
    if missing.any():
        tables, rows = _trace(env, missing)
        if codelist.extensible:
            ctx.findings.add("warning", "CT-EXTENSIBLE", f"value not in extensible codelist "
                             f"{codelist.short_name} ({codelist.code}); kept in upper case",
                             domain=ctx.domain, variable=variable, table=tables, rows=rows,
                             values=values[missing])
        else:
            ctx.findings.add("error", "CT-NONEXTENSIBLE", f"value not in non-extensible "
                             f"codelist {codelist.short_name} ({codelist.code}); add it to "
                             f"value_maps.{codelist.short_name} in study.yaml",
                             domain=ctx.domain, variable=variable, table=tables, rows=rows,
                             values=values[missing])
    return pd.Series(table[codes], index=values.index, dtype=object, copy=False)


def _where(expr: str | None, env: pd.DataFrame, ctx: Context, variable: str) -> pd.Series:
    if not expr:
        return pd.Series(True, index=env.index)
    try:
        if isinstance(env, Env):
            return env.where(expr, ctx.spec_path)
        return where_mask(expr, env, file=ctx.spec_path)
    except SpecError as err:
        if err.location.variable is None:
            err.location.variable = f"{ctx.domain}.{variable}"
        raise


def evaluate_variable(variable: str, rules: list[dict], env: pd.DataFrame,
                      ctx: Context) -> pd.Series:
    """Values of one variable for every row of ``env`` (first matching rule wins)."""
    result = None           # made on first need: most variables have one rule for all rows
    # while every rule so far gave float numbers: those numbers, NaN elsewhere (an object
    # column of floats and "" read back by to_numeric cost half a second for one of LB's
    # 1.4-million-row results at 50,000 subjects, and gives these very numbers)
    floats = None
    numeric = False
    done = pd.Series(False, index=env.index)
    for rule in rules:
        mask = _where(rule.get("where"), env, ctx, variable) & ~done
        if not mask.any():
            continue
        sub = env if bool(mask.all()) else env[mask]
        values = _produce(rule, sub, ctx, variable)
        if pd.api.types.is_numeric_dtype(values):
            values = _rounded(values, rule, sub, ctx, variable)
            if values.dtype == np.float64 and (floats is not None or result is None):
                numeric = True
                if floats is None:
                    floats = np.full(len(env), np.nan)
                floats[mask.to_numpy()] = values.to_numpy()
                done |= mask
                continue
        if floats is not None:      # text or other numbers after floats: as objects on
            result = pd.Series(np.where(done.to_numpy(), floats.astype(object), ""),
                               index=env.index, dtype=object)
            floats = None
        if pd.api.types.is_numeric_dtype(values):
            numeric = True
            result = result.astype(object) if result is not None else None
        else:
            if rule.get("extract"):
                values = _extract(values, str(rule["extract"]), ctx, variable, sub)
            if rule.get("transform"):
                values = _transform(values, rule["transform"])
            if rule.get("map"):
                mapping = rule["map"]
                if not isinstance(mapping, dict):
                    mapping = _named_map(mapping, ctx, variable)
                values, _ = _apply_map(values, mapping, ctx, variable, sub,
                                       final=not rule.get("codelist"))
            if rule.get("codelist"):
                values = _apply_codelist(values, str(rule["codelist"]), ctx, variable, sub,
                                         rule.get("decode"))
        if sub is env:
            result = values.astype(object) if not pd.api.types.is_numeric_dtype(values) else values
        else:
            if result is None:
                result = pd.Series(filled(len(env), ""), index=env.index, copy=False)
            result.loc[mask] = values
        done |= mask
    if floats is not None:
        return pd.Series(floats, index=env.index, copy=False)
    if result is None:      # no rule applies to any row
        result = pd.Series(filled(len(env), ""), index=env.index, copy=False)
    if numeric:
        result = pd.to_numeric(result.where(result != ""), errors="coerce")
    return result
