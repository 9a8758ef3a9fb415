"""Vectorised reading of short texts by their *shape* (dates, times, ISO 8601 values).

A column is first reduced to its distinct values (``pd.factorize``); each distinct value
becomes a row of a character matrix (numpy ``uint8``), digits are collapsed to one class
and the rows are grouped by the resulting shape (``12JAN2014`` and ``03FEB2015`` share the
shape ``99JAN9999``). A regex runs once per shape and says where the parts sit
(:func:`layout_table`, :func:`digit_span`); the digits are then read for all rows at once
(:func:`read_digits`) and text is written back through a transposed character matrix
(:func:`put_two_digits`, :func:`matrix_to_text`). Used by :mod:`cdisc_convert.core.iso8601`
(ISO 8601 values) and :mod:`cdisc_convert.sdtm.rawdates` (raw EDC dates).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .arrays import filled
from .factorize import factorize_objects

__all__ = ["char_matrix", "copy_chars", "digit_span", "distinct_text", "group_shapes",
           "layout_table", "matrix_to_text", "put_two_digits", "read_digits",
           "shapes_and_reps"]


# Longer texts cannot be dates; the cap keeps one stray free-text value from blowing up
# the width (and memory) of the character matrix.
_MAX_WIDTH = 64
_DIGIT = 57  # ord("9"): the class every digit is collapsed to in a shape
_HASH_MULTIPLIERS = (1_000_003, 998_244_353, 2_305_843_009_213_693_951, 6_700_417)
# ASCII codes of the tens and units digit of 0..99, for writing numbers without str().
_TENS = (np.arange(100) // 10 + 48).astype(np.uint32)
_UNITS = (np.arange(100) % 10 + 48).astype(np.uint32)


def distinct_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, text per distinct value) with a final "" slot that missing
    values point to. Raw columns repeat a few thousand values, so all later work is
    done per distinct value.

    Numbers are accepted because CSV readers turn a column of years into ``2014`` or
    ``2014.0``; datetime64 columns (Excel readers) become ISO text, dropping midnight
    times, which are an artefact of a date-only cell.
    """
    codes = uniques = None
    if getattr(values, "dtype", None) == object:
        # text columns share string objects (read_csv, the mapping rules): numbered by
        # object first, as the writers do, instead of hashing a million strings per check
        codes, uniques = factorize_objects(np.asarray(values, dtype=object))
        if not all(type(u) is str for u in uniques):    # numbers too: pandas merges 1 and 1.0
            codes = uniques = None
    if codes is None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if pd.api.types.is_datetime64_any_dtype(values):
        text = pd.Series(uniques).dt.strftime("%Y-%m-%dT%H:%M:%S")
        obj = text.str.replace("T00:00:00", "", regex=False).to_numpy(dtype=object)
    elif pd.api.types.is_float_dtype(values):
        floats = np.asarray(uniques, dtype=float)
        whole = np.isfinite(floats) & (floats == np.floor(np.nan_to_num(floats)))
        obj = floats.astype(object)
        obj[whole] = floats[whole].astype(np.int64)
    else:
        obj = np.asarray(uniques, dtype=object)
    text = np.asarray(np.append(obj, ""), dtype=str)
    if text.dtype.itemsize // 4 > _MAX_WIDTH:
        # Fixed-width exports pad with blanks: strip first, then give up on the rest.
        stripped = pd.Series(text, dtype=object).str.strip()
        stripped[stripped.str.len() > _MAX_WIDTH] = "?"
        text = np.asarray(stripped.to_numpy(dtype=object), dtype=str)
    codes = np.where(codes < 0, len(text) - 1, codes)
    return codes, text


def char_matrix(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) uint8 matrix of upper-cased, left-aligned, blank-stripped ASCII text,
    NUL-padded to a multiple of 8 columns, and the stripped length of each row.
    Non-ASCII characters become "?" (no date contains one), except the no-break space,
    which is a blank."""
    n = len(text)
    width = max(text.dtype.itemsize // 4, 1)
    padded = -(-width // 8) * 8
    chars = np.zeros((n, padded), dtype=np.uint8)
    if n == 0:
        return chars, np.zeros(0, np.int64)
    points = np.ascontiguousarray(text).view(np.uint32).reshape(n, width)
    if points.max() > 127:
        points = np.where(points == 0xA0, 32, points)
        points = np.where(points > 127, ord("?"), points)
    chars[:, :width] = points
    np.subtract(chars, 32, out=chars, where=(chars >= 97) & (chars <= 122))
    content = chars > 32  # blanks and control characters are below "!"
    has = content.any(axis=1)
    first = np.where(has, content.argmax(axis=1), 0)
    last = np.where(has, padded - 1 - content[:, ::-1].argmax(axis=1), -1)
    length = (last - first + 1).astype(np.int64)
    columns = np.arange(padded)
    if first.any():
        shifted = np.minimum(columns[None, :] + first[:, None], padded - 1)
        chars = np.take_along_axis(chars, shifted, axis=1)
    chars *= columns[None, :] < length[:, None]
    return chars, length


def group_shapes(chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by shape (digits collapsed to "9"): (shape id per row, one row per shape).

    Eight characters at a time are read as one 64-bit word; the words are hashed and
    every row is compared with its group's first row, so a hash collision only costs
    another round with another multiplier.
    """
    n = len(chars)
    shape = np.where((chars >= 48) & (chars <= 57), np.uint8(_DIGIT), chars)
    words = shape.view(np.uint64)
    codes = np.full(n, -1, dtype=np.int64)
    reps: list[np.ndarray] = []
    todo = np.arange(n)
    for multiplier in _HASH_MULTIPLIERS:
        if not len(todo):
            break
        sub = words[todo]
        key = sub[:, 0].copy()
        for j in range(1, sub.shape[1]):
            key = key * np.uint64(multiplier) + sub[:, j]
        group, uniques = pd.factorize(key)
        first = np.full(len(uniques), len(todo), dtype=np.int64)
        np.minimum.at(first, group, np.arange(len(todo)))
        same = (sub == sub[first[group]]).all(axis=1)
        codes[todo[same]] = group[same] + sum(len(r) for r in reps)
        reps.append(todo[first])
        todo = todo[~same]
    if len(todo):  # pragma: no cover - needs 64-bit collisions under four multipliers
        raise RuntimeError("could not group date shapes")
    rep_rows = np.concatenate(reps) if reps else np.zeros(0, dtype=np.int64)
    return codes, rep_rows


def shapes_and_reps(text: np.ndarray):
    """Character matrix, stripped lengths, shape id per row and the normalised text of
    one representative per shape."""
    chars, length = char_matrix(text)
    codes, rep_rows = group_shapes(chars)
    reps = [chars[r, : length[r]].tobytes().decode("ascii") for r in rep_rows]
    return chars, length, codes, reps


def read_digits(chars: np.ndarray, start: np.ndarray, count: np.ndarray, most: int) -> np.ndarray:
    """Integer written by ``count`` digits from column ``start`` of each row (0 if none)."""
    n, width = chars.shape
    flat = chars.ravel()
    base = np.arange(n, dtype=np.int64) * width
    value = np.zeros(n, dtype=np.int32)
    for j in range(most):
        take = count > j
        if not take.any():
            break
        digit = np.take(flat, base + np.minimum(start + j, width - 1)).astype(np.int32) - 48
        value = np.where(take, value * 10 + digit, value)
    return value


def copy_chars(chars: np.ndarray, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """(n, max count) uint32 matrix with ``count`` characters from ``start`` of each row."""
    n, width = chars.shape
    most = int(count.max()) if n else 0
    out = np.zeros((n, most), dtype=np.uint32)
    rows = np.arange(n)
    for j in range(most):
        take = count > j
        out[take, j] = chars[rows[take], np.minimum(start[take] + j, width - 1)]
    return out


def put_two_digits(out: np.ndarray, position: int, value: np.ndarray) -> None:
    """Write ``value`` (0-99) as two digits at character ``position`` of every text of a
    transposed (characters x texts) matrix, via lookup tables."""
    value = value % 100
    out[position] = _TENS[value]
    out[position + 1] = _UNITS[value]


def matrix_to_text(out: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Object array of the first ``length`` characters of each text of a transposed
    (characters x texts) uint32 matrix. Output is written transposed because writing
    one character position for all texts is then a contiguous write."""
    width, n = out.shape
    if width == 0:
        return filled(n, "")
    out *= np.arange(width)[:, None] < length[None, :]  # NUL ends a numpy string
    return np.ascontiguousarray(out.T).view(f"U{width}").ravel().astype(object)


def digit_span(match: re.Match, group: str, offset: int = 0) -> tuple[int, int]:
    """(start, digit count) of a group; count 0 when absent or not written in digits."""
    if group not in match.re.groupindex or match.group(group) is None:
        return 0, 0
    text = match.group(group)
    return match.start(group) + offset, (len(text) if text.isdigit() else 0)


def layout_table(reps: list[str], make, fields) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-shape layouts as arrays (one entry per shape) and per-shape reasons."""
    rows, reasons = [], []
    for text in reps:
        layout, reason = make(text)
        rows.append(layout if layout is not None else {**dict.fromkeys(fields, 0), "family": -1})
        reasons.append(reason)
    table = {f: np.array([r[f] for r in rows], dtype=np.int32) for f in fields}
    return table, np.array(reasons, dtype=object)
