"""ADSL population flags declared in adam.yaml (``population_flags:``): Y/N by an
expression over the subject's ADSL record (ADaMIG 1.3 section 3.1.4)."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.adam.adsl import build_adsl, derive_population_flags, method_texts
from cdisc_convert.adam.config import PopulationFlag, config_from_dict
from cdisc_convert.core.errors import SpecError

ADSL = pd.DataFrame({
    "USUBJID": ["S1", "S2", "S3", "S4"],
    "TRTSDT": pd.to_datetime(["2014-01-02", None, "2014-02-10", "2014-03-01"]),
    "ARMCD": ["A", "A", "SCRNFAIL", "B"],
    "NTARGET": [2, 1, 0, None],        # e.g. a sponsor count of measurable target lesions
})


def test_flags_are_y_where_the_expression_holds_and_n_elsewhere():
    out = derive_population_flags(ADSL, {
        "SAFFL": PopulationFlag("SAFFL", "notnull(TRTSDT) and ARMCD != 'SCRNFAIL'"),
        "EFFFL": PopulationFlag("EFFFL", "SAFFL == 'Y' and NTARGET > 0",
                                label="Efficacy Population Flag"),
    })
    # S1 dosed, arm A; S2 never dosed; S3 screen failure; S4 dosed, no target count
    assert out["SAFFL"].tolist() == ["Y", "N", "N", "Y"]
    # the second flag reads the first; a missing count is neither > 0 nor a match
    assert out["EFFFL"].tolist() == ["Y", "N", "N", "N"]
    assert out.attrs["labels"]["EFFFL"] == "Efficacy Population Flag"


def test_a_flag_naming_an_unknown_variable_is_one_clear_error():
    with pytest.raises(SpecError, match="RESPFL"):
        derive_population_flags(ADSL, {"EFFFL": PopulationFlag("EFFFL", "RESPFL == 'Y'")})


def _dm() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": "ST", "DOMAIN": "DM", "USUBJID": ["S1", "S2", "S3"], "SUBJID": ["1", "2", "3"],
        "RFSTDTC": ["2014-01-02", "", "2014-02-10"], "RFXSTDTC": ["2014-01-02", "", "2014-02-10"],
        "RFXENDTC": ["2014-03-01", "", "2014-02-10"], "SITEID": "01", "AGE": [50, 61, 70],
        "AGEU": "YEARS", "SEX": ["F", "M", "F"], "RACE": "WHITE", "ARMCD": ["A", "A", "B"],
        "ARM": ["Arm A", "Arm A", "Arm B"], "ACTARMCD": ["A", "NOTTRT", "B"],
        "ACTARM": ["Arm A", "Not Treated", "Arm B"], "COUNTRY": "USA", "DTHFL": "",
        "DTHDTC": "",
    })


def test_declared_in_adam_yaml_replacing_the_built_in_saffl():
    config = config_from_dict({"population_flags": {
        "SAFFL": {"where": "notnull(TRTSDT) and TRTEDT > TRTSDT"},   # more than one day
        "FASFL": {"where": "ITTFL == 'Y' and AGE < 65", "label": "Full Analysis Set Flag"},
    }})
    adsl = build_adsl({"DM": _dm()}, config).set_index("USUBJID")
    # built-in SAFFL would be Y for S1 and S3 (both dosed); the declared rule excludes S3,
    # whose only dose day is 2014-02-10
    assert adsl["SAFFL"].to_dict() == {"S1": "Y", "S2": "N", "S3": "N"}
    assert adsl["FASFL"].to_dict() == {"S1": "Y", "S2": "Y", "S3": "N"}
    texts = method_texts(config)
    assert texts["SAFFL"] == "Y when TRTSDT is not blank and TRTEDT > TRTSDT; otherwise N."
    assert texts["FASFL"].startswith("Y when ITTFL = 'Y' and AGE < 65")


@pytest.mark.parametrize("flags", [
    {"SAFETY": {"where": "notnull(TRTSDT)"}},            # not an ADaM flag name (..FL)
    {"SAFFL": {"label": "Safety Population Flag"}},      # no rule
    {"SAFFL": {"where": "TRTSDT.notnull()"}},            # not the expression language
])
def test_bad_declarations_are_spec_errors(flags):
    with pytest.raises(SpecError):
        config_from_dict({"population_flags": flags})
