"""The report's JSON files (results.json, ard.json, ars.json) as ``json.dumps`` writes them,
made by orjson.

``json.dumps`` with ``indent`` runs its pure-Python encoder (the C one only writes compact
JSON): the ARS reporting event of a study's tables is a few hundred thousand values and
took about a tenth of the report's time. orjson writes the same text but for four things,
each undone or detected here:

* it indents by two spaces only: a one-space indent is made by halving each line's
  leading spaces (a JSON string holds no raw line end, so every line starts with its
  indentation);
* it writes characters beyond ASCII (and DEL) as themselves, ``json.dumps`` as ``\\uXXXX``
  escapes (``ensure_ascii``): they are escaped afterwards the same way;
* it writes a float below 1e-4 or from 1e16 on in another notation (``0.00001`` for
  ``1e-05``, ``1e16`` for ``1e+16``): when its text holds anything that could be one
  (a digit followed by ``e``, or ``0.0000``, in a string too) the text is made by
  ``json.dumps`` instead;
* it writes NaN and infinity as ``null``, as :func:`json_safe` turns them, and refuses
  keys that are not strings (``json.dumps`` turns numbers into strings) and integers
  beyond 64 bits: then ``json.dumps`` of :func:`json_safe` of the value is written.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import orjson

__all__ = ["dumps", "json_safe"]

_NOT_ASCII = re.compile("[^\x00-\x7e]")


def json_safe(value):
    """``value`` with every NaN or infinity as None (valid JSON) and tuples as lists."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _ascii_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000                     # a UTF-16 surrogate pair, as json.dumps writes it
    return f"\\u{0xd800 | (code >> 10):04x}\\u{0xdc00 | (code & 0x3ff):04x}"


def _other_float(data: np.ndarray) -> bool:
    """Whether orjson's text may hold a float json.dumps writes otherwise: a digit followed
    by ``e``/``E`` (1e-7, 1e16) or ``0.0000`` (0.00001). numpy, not a regular expression:
    ``re`` tries a pattern starting with a character class at every position."""
    e = np.flatnonzero((data == 101) | (data == 69))
    e = e[e > 0]
    if ((data[e - 1] >= 48) & (data[e - 1] <= 57)).any():
        return True
    return data.tobytes().find(b"0.0000") >= 0


def _halve_indentation(data: np.ndarray) -> bytes:
    """The text with the leading spaces of every line halved, one indentation level at a
    time over all lines at once (numpy): a regular expression with a function per line
    took as long as ``json.dumps`` itself."""
    starts = np.flatnonzero(data == 10) + 1                 # the lines after a line end
    spaces = np.zeros(len(starts), dtype=np.int64)
    padded = np.append(data, np.uint8(0))
    going = np.arange(len(starts))
    while going.size:                                       # count each line's spaces
        going = going[padded[starts[going] + spaces[going]] == 32]
        spaces[going] += 1
    keep = np.ones(len(data), dtype=bool)
    for k in range(int(spaces.max(initial=0)) // 2):        # drop the first half of them
        keep[starts[spaces // 2 > k] + k] = False
    return data[keep].tobytes()


def dumps(value, *, indent: int, sort_keys: bool = False) -> str:
    """``json.dumps(json_safe(value), indent=indent, sort_keys=sort_keys,
    allow_nan=False)``, the same text, made by orjson when it can be (module docstring).
    ``indent`` is 1 or 2."""
    if indent not in (1, 2):
        raise ValueError(f"indent {indent}: only 1 or 2 spaces are made by orjson")
    option = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        data = orjson.dumps(value, option=option)
    except TypeError:                   # orjson.JSONEncodeError: a key or value it refuses
        data = None
    array = np.frombuffer(data, dtype=np.uint8) if data is not None else None
    if array is None or _other_float(array):
        return json.dumps(json_safe(value), indent=indent, sort_keys=sort_keys,
                          allow_nan=False)
    text = (_halve_indentation(array) if indent == 1 else data).decode("utf-8")
    if (array >= 0x7f).any():
        text = _NOT_ASCII.sub(_ascii_escape, text)
    return text
