"""core.sasdates and core.reproducible: the SAS epoch and SOURCE_DATE_EPOCH have one home."""
from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.errors import CdiscError
from cdisc_convert.core.reproducible import creation_time, source_date_epoch
from cdisc_convert.core.sasdates import (from_sas_days, from_sas_seconds, is_sas_date_format,
                                         is_sas_datetime_format, to_sas_days, to_sas_seconds)

PACKAGE = Path(__file__).resolve().parents[1] / "cdisc_convert"


def test_sas_numbers_count_from_1960():
    # 53 years of 365 days and 14 leap days (1960, 1964, ... 2012) before 2013-01-01
    dates = pd.Series(pd.to_datetime(["1960-01-01", "2013-01-01", "1959-12-31", None]))
    assert to_sas_days(dates).tolist()[:3] == [0.0, 19359.0, -1.0]
    assert np.isnan(to_sas_days(dates).iloc[3])
    stamps = pd.Series(pd.to_datetime(["1960-01-02 00:00:30"]))
    assert to_sas_seconds(stamps).tolist() == [86430.0]
    assert from_sas_days(pd.Series([19359.0])).tolist() == [pd.Timestamp("2013-01-01")]
    assert from_sas_seconds(pd.Series([86430.0])).tolist() == [pd.Timestamp("1960-01-02 00:00:30")]
    assert is_sas_date_format("DATE9.") and is_sas_date_format("yymmdd10")
    assert is_sas_datetime_format("DATETIME20.") and not is_sas_date_format("DATETIME20.")
    assert not is_sas_date_format(None) and not is_sas_datetime_format("$CHAR8.")


@pytest.mark.parametrize("numbers", [
    [0.0, np.nan, -1.0, 19359.0],                                 # whole: the numpy way
    pd.Series([3.0, np.nan, 40000.0], index=[5, 6, 7], name="ADT"),
    np.array([1.5, np.nan]),                                      # fractions: pandas' way
    pd.Series([1, 2], dtype="int64"), pd.Series([1.0, None], dtype="Float64"),
    pd.Series([], dtype=float), np.array([np.nan, np.nan]), [np.inf],
], ids=["list", "series", "fraction", "int", "nullable", "empty", "all-missing", "inf"])
def test_sas_numbers_become_what_pandas_makes_of_them(numbers):
    # the fast integer path gives exactly pandas' result (type, index, name, NaT)
    for convert, unit in ((from_sas_days, "D"), (from_sas_seconds, "s")):
        try:
            expected = pd.Timestamp("1960-01-01") + pd.to_timedelta(numbers, unit=unit)
        except (ValueError, OverflowError) as exc:
            with pytest.raises(type(exc)):
                convert(numbers)
            continue
        got = convert(numbers)
        assert type(got) is type(expected)
        if isinstance(got, pd.Series):
            pd.testing.assert_series_equal(got, expected)
        else:
            pd.testing.assert_index_equal(got, expected)


def test_source_date_epoch_fixes_the_creation_time(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", " 1700000000 ")
    assert creation_time() == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")
    assert source_date_epoch() is None
    now = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert creation_time(now) == now
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(CdiscError, match="SOURCE_DATE_EPOCH='yesterday' is not an integer"):
        creation_time()


def _code_strings(path: Path) -> list[str]:
    """String constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def test_the_sas_epoch_and_source_date_epoch_live_in_core_only():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "core":
            continue
        for text in _code_strings(path):
            if "1960-01-01" in text or text == "SOURCE_DATE_EPOCH":
                offenders.append(f"{path.relative_to(PACKAGE)}: {text!r}")
    assert not offenders, offenders
