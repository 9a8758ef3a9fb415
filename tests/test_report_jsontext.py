"""The report's JSON text made by orjson is json.dumps' text, byte for byte
(cdisc_convert.report.jsontext); json.dumps is the oracle."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.report.jsontext import dumps, json_safe
from cdisc_convert.core.factorize import isin_distinct


def _expected(value, indent, sort_keys=False):
    return json.dumps(json_safe(value), indent=indent, sort_keys=sort_keys, allow_nan=False)


CASES = {
    "nested": {"b": [1, 2.5, {"x": None, "y": []}], "a": {}, "c": (True, False, "t")},
    "not ascii": {"caf\u00e9": "\u00fc \u2013 \U0001d11e \x7f \u2028", "q": "\"\\/\n\t\x01"},
    "floats": [0.1, 1 / 3, 45.945945945945944, 100.0, -0.0, 1e15, 123456.789, 0.0001],
    "tiny and huge floats": [1e-05, 2.5e-07, -3e-5, 1e16, 1.5e22],
    "exponent in a string": ["1e-05", "0.00001"],
    "nan and infinity": {"m": float("nan"), "l": [float("inf"), -float("inf"), 1.0]},
    "non-string keys": {1: "one", 2.5: "two and a half"},
    "huge integer": [2 ** 70],
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("indent", [1, 2])
def test_same_text_as_json_dumps(name, indent):
    value = CASES[name]
    assert dumps(value, indent=indent) == _expected(value, indent)


def test_sorted_keys_as_json_dumps():
    value = {"z": 1, "a": {"\u00e9": 1, "e": 2, "B": [{"d": 1, "c": 2}]}, "M": None}
    assert dumps(value, indent=2, sort_keys=True) == _expected(value, 2, sort_keys=True)


def test_an_indent_orjson_cannot_make_is_refused():
    with pytest.raises(ValueError):
        dumps({}, indent=4)


def test_isin_distinct_is_pandas_isin():
    # equal strings held by distinct objects, a missing value, a numeric column
    values = pd.Series(["OVR", "BOR", "".join(["O", "VR"]), None, "CBOR", "BOR"], dtype=object)
    for wanted in (["OVR"], {"BOR", "X"}, ["OVR", None], []):
        assert isin_distinct(values, wanted).tolist() == values.isin(wanted).tolist()
    numbers = pd.Series([1.0, np.nan, 2.0, 1.0])
    assert isin_distinct(numbers, [1.0]).tolist() == [True, False, False, True]
    assert isin_distinct(numbers, [np.nan]).tolist() == numbers.isin([np.nan]).tolist()
