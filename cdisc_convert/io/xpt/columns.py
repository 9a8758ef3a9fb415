"""SAS XPORT v5: columns (see the package docstring)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd


from .layout import (FORMAT_RE, IBM_MAX_EXP2, MAX_CHAR, MAX_EXACT_INT, MAX_LABEL, MAX_NAME,
                     MAX_VARIABLES, MISSING_CODES, NAME_CHARS, XptOffence)
from .ibm import out_of_ibm_range
from cdisc_convert.io.numbering import column_codes


# ---------------------------------------------------------------------------------------
# Checking and preparing columns for writing
# ---------------------------------------------------------------------------------------

@dataclass
class Column:
    """A column ready to be laid out: its namestr fields and its encoded values.

    Text columns keep ``codes`` (row -> index in ``table``, -1 for missing, which picks the
    blank entry appended last) and ``table`` (each distinct value blank-padded to ``length``
    bytes, as numpy void items of that size); numeric columns keep ``values`` (converted to
    IBM block by block while writing) and ``special`` (sorted positions, IBM words) for
    special missing values.
    """

    name: str
    label: str
    is_char: bool
    length: int
    format: tuple[str, int, int] = ("", 0, 0)
    codes: np.ndarray | None = None
    table: np.ndarray | None = None
    values: np.ndarray | None = None
    special: tuple[np.ndarray, np.ndarray] | None = None
    #: the frame's own object array (or Categorical) of text, when every value is stored
    #: as it is (no trailing blank to drop): what reading the file gives, unless a value
    #: is missing
    plain: np.ndarray | pd.Categorical | None = None
    #: the frame held the column as a categorical: with ``compact_echo`` its echo is one
    #: too (same values), else objects as read_xpt gives
    categorical: bool = False


def _first(positions: np.ndarray, limit: int = 5) -> tuple:
    """The first ``limit`` row positions as a tuple of ints (XptOffence.rows)."""
    return tuple(int(p) for p in np.asarray(positions)[:limit].tolist())


def _rows_text(positions: np.ndarray, limit: int = 5) -> str:
    """'rows 1, 4, 9 and 3 more' from 0-based positions (messages use 1-based numbers)."""
    shown = ", ".join(str(p + 1) for p in positions[:limit].tolist())
    more = len(positions) - limit
    word = "row" if len(positions) == 1 else "rows"
    return f"{word} {shown}" + (f" and {more} more" if more > 0 else "")


def _check_name(value, what: str, variable: str | None = None) -> list[XptOffence]:
    """Rule XPT-NAME: 1-8 characters, upper case, a letter first, only A-Z, 0-9 and _."""
    if not isinstance(value, str):
        return [XptOffence("XPT-NAME", f"{what} {value!r} is not a string", variable)]
    problems = []
    if not value:
        problems.append("is empty")
    if len(value) > MAX_NAME:
        problems.append(f"has {len(value)} characters (max {MAX_NAME})")
    if value != value.upper():
        problems.append("is not upper case")
    if value and not ("A" <= value[0] <= "Z" or "a" <= value[0] <= "z"):
        problems.append("does not start with a letter")
    if not NAME_CHARS.match(value.upper()):
        problems.append("has characters other than A-Z, 0-9 and _")
    if not problems:
        return []
    return [XptOffence("XPT-NAME", f"{what} {value!r} " + " and ".join(problems), variable)]


def _check_label(value, what: str, variable: str | None = None) -> list[XptOffence]:
    """Rules XPT-LABEL and XPT-ASCII: a label is a string of at most 40 ASCII characters."""
    if value is None:
        return []
    if not isinstance(value, str):
        return [XptOffence("XPT-LABEL", f"{what} {value!r} is not a string", variable)]
    out = []
    if len(value) > MAX_LABEL:
        out.append(XptOffence(
            "XPT-LABEL", f"{what} has {len(value)} characters (max {MAX_LABEL}): {value!r}",
            variable))
    if not value.isascii():
        out.append(XptOffence("XPT-ASCII", f"{what} is not ASCII: {value!r}", variable))
    return out


def _parse_format(text) -> tuple[str, int, int] | None:
    """Split a SAS format such as ``DATE9.``, ``8.2`` or ``$CHAR20.`` into (name, w, d)."""
    if not isinstance(text, str):
        return None
    match = FORMAT_RE.match(text.strip().upper())
    if not match or not (match.group(1) or match.group(2)):
        return None
    return match.group(1), int(match.group(2) or 0), int(match.group(3) or 0)


def _check_format(text, is_char: bool, variable: str) -> list[XptOffence]:
    """Rule XPT-FORMAT: a parsable format of the variable's type that fits the namestr."""
    parsed = _parse_format(text)
    if parsed is None:
        return [XptOffence("XPT-FORMAT", f"format {text!r} is not NAMEw.d", variable)]
    name, width, decimals = parsed
    out = []
    if len(name) > MAX_NAME:
        out.append(XptOffence(
            "XPT-FORMAT", f"format name {name!r} is longer than {MAX_NAME} characters",
            variable))
    if width > 32767 or decimals > 32767:
        out.append(XptOffence("XPT-FORMAT", f"format {text!r} is too wide", variable))
    if is_char != name.startswith("$"):
        kind = "character" if is_char else "numeric"
        out.append(XptOffence(
            "XPT-FORMAT", f"format {text!r} cannot be used on a {kind} variable", variable))
    return out


def _numeric_kind(series: pd.Series) -> bool:
    """True for dtypes written as numbers: integers, floats, booleans (nullable too)."""
    dtype = series.dtype
    return (pd.api.types.is_bool_dtype(dtype)
            or (pd.api.types.is_numeric_dtype(dtype)
                and not pd.api.types.is_complex_dtype(dtype)
                and not pd.api.types.is_timedelta64_dtype(dtype)))


def _text_kind(series: pd.Series) -> bool:
    """True for dtypes written as text: object, pandas string and categorical."""
    dtype = series.dtype
    return (dtype == object or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype)))




def _prepare_text(series: pd.Series, variable: str, spec_length) -> tuple[Column | None,
                                                                         list[XptOffence]]:
    """Encode a text column through its distinct values; check ASCII and lengths.

    Rules: values are str (or missing); ASCII without NUL; at most 200 bytes after trailing
    blanks (which SAS does not keep); the length is the spec length if given (1-200 and not
    shorter than the longest value) else the longest value, minimum 1. Working on distinct
    values (factorize_objects) keeps every per-value step off the million-row path.
    """
    codes, uniques = column_codes(series)
    offences: list[XptOffence] = []

    kind = pd.api.types.infer_dtype(uniques, skipna=False)  # uniques hold no missing value
    if kind not in ("string", "empty"):
        bad = np.flatnonzero([not isinstance(v, str) for v in uniques])  # error path only
        types = sorted({type(v).__name__ for v in uniques[bad]})
        rows = np.flatnonzero(np.isin(codes, bad))
        return None, [XptOffence(
            "XPT-TYPE", f"text column holds {', '.join(types)} values ({_rows_text(rows)}); "
            "convert them to str or make the column numeric", variable, _first(rows))]

    joined = "".join(uniques.tolist())  # one C-level pass answers "any non-ASCII / NUL?"
    if not joined.isascii():
        bad = np.flatnonzero([not v.isascii() for v in uniques])  # error path only
        rows = np.flatnonzero(np.isin(codes, bad))
        sample = ", ".join(repr(v) for v in uniques[bad[:3]])
        offences.append(XptOffence(
            "XPT-ASCII", f"non-ASCII characters in {_rows_text(rows)}: {sample}", variable,
            _first(rows)))
        return None, offences
    if "\x00" in joined:
        bad = np.flatnonzero(["\x00" in v for v in uniques])
        rows = np.flatnonzero(np.isin(codes, bad))
        offences.append(XptOffence(
            "XPT-ASCII", f"NUL character in {_rows_text(rows)}", variable, _first(rows)))

    encoded = uniques.astype("S") if uniques.size else np.zeros(0, dtype="S1")
    categorical = isinstance(series.dtype, pd.CategoricalDtype)
    plain = series.dtype == object or categorical
    if np.strings.endswith(encoded, b" ").any():
        encoded = np.strings.rstrip(encoded, b" ")  # trailing blanks are padding in SAS
        plain = False
    sizes = np.strings.str_len(encoded)
    longest = int(sizes.max()) if sizes.size else 0

    too_long = np.flatnonzero(sizes > MAX_CHAR)
    if too_long.size:
        rows = np.flatnonzero(np.isin(codes, too_long))
        offences.append(XptOffence(
            "XPT-LENGTH", f"{len(rows)} value(s) longer than {MAX_CHAR} bytes (longest "
            f"{longest}) in {_rows_text(rows)}", variable, _first(rows)))

    length = max(longest, 1)
    if spec_length is not None:
        if isinstance(spec_length, (bool, np.bool_)) or not isinstance(
                spec_length, (int, np.integer)):
            offences.append(XptOffence(
                "XPT-LENGTH", f"length {spec_length!r} is not an integer", variable))
        elif not 1 <= spec_length <= MAX_CHAR:
            offences.append(XptOffence(
                "XPT-LENGTH", f"length {spec_length} is outside 1-{MAX_CHAR}", variable))
        elif spec_length < longest:
            short = np.flatnonzero(sizes > spec_length)
            rows = np.flatnonzero(np.isin(codes, short))
            offences.append(XptOffence(
                "XPT-LENGTH", f"spec length {spec_length} is shorter than the longest value "
                f"({longest} bytes) in {_rows_text(rows)}; values are never truncated",
                variable, _first(rows)))
        else:
            length = int(spec_length)
    if offences:
        return None, offences

    return Column(variable, "", True, length, codes=codes,
                   table=_padded_table(encoded, length),
                   plain=(series.array if categorical else series.to_numpy()) if plain else None,
                   categorical=categorical), offences


def _padded_table(encoded: np.ndarray, length: int) -> np.ndarray:
    """Distinct values as blank-padded fixed-width items, plus a blank item for missing.

    numpy pads byte strings with NULs; SAS pads with blanks. No valid value holds a NUL
    (rule XPT-ASCII) and none is longer than ``length`` once trailing blanks are gone, so
    every NUL within the first ``length`` bytes is padding and becomes a blank. The last
    item (all blanks) is what code -1 (missing) picks.
    """
    count, width = encoded.size, encoded.itemsize
    table = np.full((count + 1, length), 0x20, dtype=np.uint8)
    if count:
        keep = min(width, length)
        source = encoded.view(np.uint8).reshape(count, width)[:, :keep]
        target = table[:count, :keep]
        np.copyto(target, source)
        target |= (source == 0).view(np.uint8) << 5  # NUL (0x00) -> blank (0x20)
    return table.view(f"V{length}").ravel()


def _inexact_integers(series: pd.Series, values: np.ndarray) -> int:
    """How many integers exceed 2**53 in magnitude (a double cannot hold them exactly)."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        if not pd.api.types.is_integer_dtype(series.dtype):
            return 0
        unsigned = pd.api.types.is_unsigned_integer_dtype(series.dtype)
        values = series.dropna().to_numpy(dtype=np.uint64 if unsigned else np.int64)
    if values.dtype.kind not in "iu" or values.size == 0:
        return 0
    if values.max() <= MAX_EXACT_INT and (values.dtype.kind == "u"
                                          or values.min() >= -MAX_EXACT_INT):
        return 0
    beyond = values > MAX_EXACT_INT
    if values.dtype.kind == "i":
        beyond |= values < -MAX_EXACT_INT
    return int(np.count_nonzero(beyond))


def _numeric_values(series: pd.Series) -> np.ndarray:
    """The column's numbers: numpy arrays as they are (integers, booleans and float32 are
    cast to float64 block by block while writing), nullable ones as float64 with NaN."""
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.ascontiguousarray(series.to_numpy())


def _prepare_numeric(series: pd.Series, variable: str, spec_length, special
                     ) -> tuple[Column | None, list[XptOffence]]:
    """Check a numeric column: range, exactness, length and special missing values.

    Rules: finite and below 2**252 in magnitude (XPT-RANGE); integers beyond 2**53 refused
    (a double cannot hold them, so the file would silently differ); a given length must be
    8 (XPT-LENGTH); special missing codes must point at NaN cells (XPT-MISSING). The IBM
    conversion itself happens block by block while the rows are written.
    """
    offences: list[XptOffence] = []
    if spec_length is not None and spec_length != 8:
        offences.append(XptOffence(
            "XPT-LENGTH", f"numeric variables are written with 8 bytes, not {spec_length!r}",
            variable))
    values = _numeric_values(series)
    inexact = _inexact_integers(series, values)
    if inexact:
        offences.append(XptOffence(
            "XPT-RANGE", f"{inexact} integer(s) beyond 2**53 cannot be stored exactly",
            variable))
    if values.dtype.kind == "f" and out_of_ibm_range(values):
        with np.errstate(invalid="ignore"):
            rows = np.flatnonzero(np.abs(values) >= 2.0 ** (IBM_MAX_EXP2 + 1))
        offences.append(XptOffence(
            "XPT-RANGE", f"infinite or too large (|x| >= 2**252, about 7.2e75) values in "
            f"{_rows_text(rows)}; the IBM format cannot hold them", variable, _first(rows)))
    tags = _special_rows(special, values, variable, offences)
    if offences:
        return None, offences
    return Column(variable, "", False, 8, values=values, special=tags), offences


def _special_rows(special, values: np.ndarray, variable: str, offences: list
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Rule XPT-MISSING: {row position: code} with codes A-Z or _ on NaN cells.

    Returns (sorted positions, IBM words) to overwrite, or None when there are none.
    """
    if not special:
        return None
    if not isinstance(special, dict):
        offences.append(XptOffence(
            "XPT-MISSING", "special_missing entry must be {row position: code}", variable))
        return None
    rows, words, bad = [], [], []
    for row, code in special.items():  # one entry per special value, not per row
        text = code[1:] if isinstance(code, str) and code.startswith(".") else code
        if (not isinstance(row, (int, np.integer)) or isinstance(row, bool)
                or not 0 <= row < len(values)):
            bad.append(f"row position {row!r} is outside the frame")
        elif not (isinstance(text, str) and len(text) == 1 and text in MISSING_CODES):
            bad.append(f"code {code!r} at row {row + 1} is not one of .A-.Z or ._")
        elif values.dtype.kind != "f" or not np.isnan(values[row]):
            bad.append(f"row {row + 1} holds {values[row]!r}, not a missing value")
        else:
            rows.append(int(row))
            words.append(np.uint64(ord(text)) << np.uint64(56))
    if bad:
        offences.append(XptOffence("XPT-MISSING", "; ".join(bad[:5]), variable))
        return None
    order = np.argsort(rows)  # sorted, so each block of rows finds its own with searchsorted
    return (np.asarray(rows, dtype=np.intp)[order],
            np.asarray(words, dtype=np.uint64)[order])


def prepare(frame: pd.DataFrame, name, label, labels, lengths, formats
             ) -> tuple[list[Column], list[XptOffence]]:
    """Check every rule and prepare every column; returns the columns and the offences."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"write_xpt needs a pandas DataFrame, not {type(frame).__name__}")
    labels = dict(labels or {})
    lengths = dict(lengths or {})
    formats = dict(formats or {})
    special = frame.attrs.get("special_missing") or {}
    offences = _check_name(name, "data set name")
    offences += _check_label(label, "data set label")

    names = list(frame.columns)
    if not names:
        offences.append(XptOffence("XPT-NAME", "the data set has no variables"))
    if len(names) > MAX_VARIABLES:
        offences.append(XptOffence(
            "XPT-NAME", f"{len(names)} variables; a v5 file holds at most {MAX_VARIABLES}"))
    duplicates = sorted(str(n) for n, count in Counter(names).items() if count > 1)
    if duplicates:
        offences.append(XptOffence("XPT-NAME", f"duplicate variable names {duplicates}"))
    for what, given in (("labels", labels), ("lengths", lengths), ("formats", formats),
                        ("special missing values", special)):
        unknown = [k for k in given if k not in frame.columns]
        if unknown:
            rule = {"labels": "XPT-LABEL", "lengths": "XPT-LENGTH",
                    "formats": "XPT-FORMAT"}.get(what, "XPT-MISSING")
            offences.append(XptOffence(rule, f"{what} given for unknown columns {unknown}"))

    columns: list[Column] = []
    for position, variable in enumerate(names):
        if duplicates and str(variable) in duplicates:
            continue
        offences += _check_name(variable, "variable name", str(variable))
        series = frame.iloc[:, position]
        var_label = labels.get(variable)
        offences += _check_label(var_label, "label", str(variable))
        is_char = _text_kind(series)
        if is_char:
            if variable in special:
                offences.append(XptOffence(
                    "XPT-MISSING", "special missing values need a numeric column", variable))
            column, found = _prepare_text(series, str(variable), lengths.get(variable))
        elif _numeric_kind(series):
            column, found = _prepare_numeric(
                series, str(variable), lengths.get(variable), special.get(variable))
        else:
            column, found = None, [XptOffence(
                "XPT-TYPE", f"dtype {series.dtype} cannot be stored; use text (ISO 8601 "
                "dates) or numbers (SAS dates with a format)", str(variable))]
        offences += found
        if variable in formats:
            format_offences = _check_format(formats[variable], is_char, str(variable))
            offences += format_offences
            if column is not None and not format_offences:
                column.format = _parse_format(formats[variable])
        if column is not None:
            column.label = var_label or ""
            columns.append(column)
    return columns, offences


def check_xpt(frame: pd.DataFrame, *, name: str, label: str | None, labels=None,
              lengths=None, formats=None) -> list[XptOffence]:
    """Every rule ``write_xpt`` would refuse, as a list of :class:`XptOffence` (empty: ok)."""
    return prepare(frame, name, label, labels, lengths, formats)[1]


