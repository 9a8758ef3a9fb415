"""The checks equivalent to CDISC CORE CG0016, CG0219 and CG0270 (conformance/core_rules.py),
on tiny hand-built datasets, and the bundled study's old defects they catch."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.conformance.checks import Study
from cdisc_convert.conformance.core_rules import (check_ae_meddra, check_mh_timing,
                                                  check_ts_null_flavor)

MEDDRA_NAMES = {"AELLT": "NAUSEA", "AEDECOD": "NAUSEA", "AEHLT": "NAUSEA AND VOMITING SYMPTOMS",
                "AEHLGT": "GASTROINTESTINAL SIGNS AND SYMPTOMS",
                "AEBODSYS": "GASTROINTESTINAL DISORDERS", "AESOC": "GASTROINTESTINAL DISORDERS"}
MEDDRA_CODES = {"AELLTCD": 1.0, "AEPTCD": 2.0, "AEHLTCD": 3.0, "AEHLGTCD": 4.0,
                "AEBDSYCD": 5.0, "AESOCCD": 5.0}


def _ae(**overrides) -> pd.DataFrame:
    frame = pd.DataFrame({"USUBJID": ["1", "2"], **{k: [v, v] for k, v in MEDDRA_NAMES.items()},
                          **{k: [v, v] for k, v in MEDDRA_CODES.items()}})
    for k, v in overrides.items():
        frame[k] = v
    return frame


def test_cg0016_complete_hierarchy_passes():
    assert check_ae_meddra(Study({"AE": _ae()})).empty


def test_cg0016_names_only_as_the_bundled_study_had_it():
    ae = _ae().drop(columns=list(MEDDRA_CODES) + ["AEHLT", "AEHLGT"])
    f = check_ae_meddra(Study({"AE": ae}))
    assert f["rule"].tolist() == ["CG-AE-MEDDRA"]
    assert set(f["variable"].iloc[0].split()) == set(MEDDRA_CODES) | {"AEHLT", "AEHLGT"}


def test_cg0016_blank_codes_on_coded_records_one_finding_per_variable():
    f = check_ae_meddra(Study({"AE": _ae(AEPTCD=[2.0, np.nan], AEHLT=["", ""])}))
    assert sorted(zip(f["variable"], f["value"])) == [("AEHLT", "2"), ("AEPTCD", "1")]
    # an AE that is not coded at all (AEDECOD blank) is not this rule's business
    assert check_ae_meddra(Study({"AE": pd.DataFrame({"AEDECOD": ["", ""]})})).empty


def test_cg0219_mh_without_a_timing_variable():
    mh = pd.DataFrame({"USUBJID": ["1", "2"], "MHTERM": ["LMS", "SS"]})
    f = check_mh_timing(Study({"MH": mh}))
    assert f["rule"].tolist() == ["CG-MH-TIMING"] and f["value"].iloc[0] == "2"
    mh["MHENRTPT"] = ["ONGOING", ""]
    mh["MHENTPT"] = ["2012-01-01", ""]
    f = check_mh_timing(Study({"MH": mh}))
    assert len(f) == 1 and "MH record 2" in f["message"].iloc[0]
    mh.loc[1, "MHENRTPT"] = "BEFORE"
    assert check_mh_timing(Study({"MH": mh})).empty


def test_cg0270_ts_values_and_null_flavors():
    ts = pd.DataFrame({
        "TSPARMCD": ["AGEMAX", "AGEMAX", "AGEMIN", "PLANSUB", "TITLE", "LENGTH", "ACTSUB",
                     "NARMS"],
        "TSVAL": ["NOT APPLICABLE", "", "P18Y", "37", "", "P5Y", "about 40", "2"],
        "TSVALNF": ["", "PINF", "", "", "", "NA", "", "XX"]})
    f = check_ts_null_flavor(Study({"TS": ts}))
    got = sorted(zip(f["row"].astype(int), f["variable"]))
    # row numbers are 1-based: AGEMAX as text (1), TITLE null without a reason (5), LENGTH
    # with both (6), ACTSUB not a number (7), NARMS with a value and a bogus null flavor (8)
    assert got == [(1, "TSVAL"), (5, "TSVAL"), (6, "TSVALNF"), (7, "TSVAL"), (8, "TSVALNF"),
                   (8, "TSVALNF")]
    assert (f["severity"] == "error").all()
