"""Statistics of the results report on hand-checked tables."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.outputs.report import clopper_pearson, compute_results, km_median


def test_clopper_pearson_closed_forms():
    # with 0 successes the upper bound is 1 - (alpha/2)^(1/n); with n successes the lower
    # bound is (alpha/2)^(1/n)
    low, high = clopper_pearson(0, 10)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    low, high = clopper_pearson(10, 10)
    assert high == 1 and low == pytest.approx(0.025 ** (1 / 10))


def test_clopper_pearson_published_value():
    # 17/37: exact 95% CI 29.5%-63.1% (the abstract's 46% disease control)
    low, high = clopper_pearson(17, 37)
    assert (round(100 * low, 1), round(100 * high, 1)) == (29.5, 63.1)


def test_km_median_all_events():
    tte = pd.DataFrame({"AVAL": [1, 2, 3, 4, 5], "CNSR": [0, 0, 0, 0, 0]})
    assert km_median(tte, "days")["median"] == 3      # S(3) = 2/5 <= 0.5


def test_km_median_with_censoring():
    # S(1) = 3/4; censored at 2; S(3) = 3/4 * 1/2 = 0.375 -> median 3
    tte = pd.DataFrame({"AVAL": [1, 2, 3, 4], "CNSR": [0, 1, 0, 0]})
    assert km_median(tte, "days")["median"] == 3
    assert km_median(tte, "weeks")["median"] == round(3 / 7, 1)


def test_rates_count_subjects_without_a_record_as_no():
    adsl = pd.DataFrame({"USUBJID": ["a", "b", "c", "d"], "SEX": ["F", "M", "F", "F"],
                         "AGE": [30, 40, 50, 60], "ITTFL": "Y"})
    adrs = pd.DataFrame({"USUBJID": ["a", "b"], "PARAMCD": ["RSP", "RSP"], "AVALC": ["Y", "N"]})
    adtte = pd.DataFrame({"USUBJID": ["a"], "PARAMCD": ["OS"], "AVAL": [10], "CNSR": [0]})
    res = compute_results(adsl, adrs, adtte)
    assert res["recist_response"]["n"] == 1 and res["recist_response"]["N"] == 4
    assert res["age"] == {"median": 45.0, "min": 30.0, "max": 60.0}
