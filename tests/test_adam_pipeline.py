"""ADTR derivation on a hand-checked per-visit table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.adam.pipeline import derive_adtr


def visits(rows):
    return pd.DataFrame(rows, columns=["USUBJID", "VISIT", "VISITNUM", "ADT", "ABLFL",
                                       "SUMDIAM", "SUMBASE", "TRGNMISS"])


def test_sum_change_from_baseline_and_no_sum_when_a_lesion_is_missing():
    recist = visits([
        ["S-1", "BASELINE", 1, "2014-01-01", "Y", 50.0, 50.0, 0],
        ["S-1", "WEEK 6", 2, "2014-02-12", "", 40.0, 50.0, 0],      # -10 mm, -20 %
        ["S-1", "WEEK 12", 3, "2014-03-26", "", 20.0, 50.0, 1],     # a lesion not measured
    ])
    adsl = pd.DataFrame({"USUBJID": ["S-1"], "STUDYID": ["ST"]})
    adtr = derive_adtr({"RECIST 1.1": recist}, adsl)
    assert adtr["PARAMCD"].unique().tolist() == ["SUMDIAM"]
    assert adtr["AVAL"].tolist()[:2] == [50.0, 40.0] and np.isnan(adtr["AVAL"].iloc[2])
    assert np.isnan(adtr["PCHG"].iloc[0])                      # baseline has no change
    assert adtr["CHG"].iloc[1] == -10.0 and adtr["PCHG"].iloc[1] == pytest.approx(-20.0)
    assert np.isnan(adtr["PCHG"].iloc[2])                      # -60 % would be misleading
    assert adtr["ASEQ"].tolist() == [1.0, 2.0, 3.0]
    assert (adtr["STUDYID"] == "ST").all()


def test_density_parameter_from_choi():
    choi = pd.DataFrame({"USUBJID": ["S-1", "S-1"], "VISIT": ["BASELINE", "WEEK 6"],
                         "VISITNUM": [1, 2], "ADT": ["2014-01-01", "2014-02-12"],
                         "ABLFL": ["Y", ""], "DENSITY": [60.0, 45.0], "DENSBASE": [60.0, 60.0],
                         "TRGNMISS": [0, 0]})
    adsl = pd.DataFrame({"USUBJID": ["S-1"], "STUDYID": ["ST"]})
    adtr = derive_adtr({"CHOI": choi}, adsl)
    assert adtr["PARAMCD"].tolist() == ["DENSITY", "DENSITY"]
    assert adtr["PCHG"].iloc[1] == pytest.approx(-25.0)         # a Choi density PR (<= -15 %)
