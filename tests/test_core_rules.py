"""The checks equivalent to CDISC CORE CG0016, CG0219 and CG0270 (conformance/core_rules.py),
on tiny hand-built datasets, and the bundled study's old defects they catch."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.conformance.checks import Study
from cdisc_convert.conformance.core_rules import (check_ae_meddra, check_ae_serious_criteria,
                                                  check_end_without_start,
                                                  check_epoch_populated, check_mh_category,
                                                  check_mh_timing,
                                                  check_occur_prespecified, check_ts_null_flavor,
                                                  check_ts_value_code)

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


def test_cg0077_mhcat_grouping_every_record():
    mh = pd.DataFrame({"USUBJID": ["1", "2", "3"],
                       "MHCAT": ["PRIMARY DIAGNOSIS"] * 3})
    f = check_mh_category(Study({"MH": mh}))
    assert f["rule"].tolist() == ["CG-MH-CAT"]
    assert (f["variable"].iloc[0], f["value"].iloc[0]) == ("MHCAT", "PRIMARY DIAGNOSIS")
    assert "all 3 MH records" in f["message"].iloc[0]
    # two categories, a blank one, or no MHCAT at all: nothing to report
    for cats in (["PRIMARY DIAGNOSIS", "GENERAL MEDICAL HISTORY", "PRIMARY DIAGNOSIS"],
                 ["PRIMARY DIAGNOSIS", "", "PRIMARY DIAGNOSIS"]):
        assert check_mh_category(Study({"MH": mh.assign(MHCAT=cats)})).empty
    assert check_mh_category(Study({"MH": mh.drop(columns="MHCAT")})).empty
    assert check_mh_category(Study({})).empty


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


def test_cg0288_ts_value_codes_are_the_terms_c_codes():
    # C15601 = PHASE II TRIAL (TPHASE), C49487 = N (NY), C49636 = BOTH (SEXPOP): NCI EVS
    # SDTM CT 2025-03-28; C15602 is another TPHASE term (PHASE III TRIAL)
    ts = pd.DataFrame({
        "TSPARMCD": ["TPHASE", "RANDOM", "SEXPOP", "TBLIND", "TITLE", "ADDON"],
        "TSVAL": ["PHASE II TRIAL", "N", "BOTH", "OPEN LABEL", "A study", "N"],
        "TSVALCD": ["C15601", "C49487", "C49636", "C49659", "", "C49487"],
        "TSVCDREF": ["CDISC CT"] * 4 + ["", "CDISC CT"],
        "TSVCDVER": ["2025-03-28"] * 4 + ["", "2025-03-28"]})
    assert check_ts_value_code(Study({"TS": ts})).empty
    bad = ts.copy()
    bad.loc[0, "TSVALCD"] = "C15602"      # another term's code
    bad.loc[2, "TSVALCD"] = ""            # a CT term without its code
    bad.loc[3, "TSVALCD"] = "C0000001"    # no term of the loaded CT
    f = check_ts_value_code(Study({"TS": bad}))
    assert set(f["rule"]) == {"CG-TS-VALCD"}
    assert sorted(f["row"].astype(int)) == [1, 3, 4]
    by_row = dict(zip(f["row"].astype(int), f["message"]))
    assert "C15601" in by_row[1] and "C49636" in by_row[3] and "not a term code" in by_row[4]
    # one TSVALCD for two different TSVAL values breaks the one-to-one relation (CG0265)
    pair = ts.copy()
    pair.loc[5, "TSVAL"] = "Y"
    f = check_ts_value_code(Study({"TS": pair}))
    assert "one-to-one" in " ".join(f["message"]) and 6 in set(f["row"].astype(int))


def test_cg0654_occur_only_on_prespecified_records():
    # the bundled SV once had SVOCCUR = Y on its two unscheduled visits (SVPRESP null)
    sv = pd.DataFrame({"USUBJID": ["1", "1", "2"], "VISITNUM": [1.0, 1.01, 2.0],
                       "SVPRESP": ["Y", "", "Y"], "SVOCCUR": ["Y", "Y", "N"]})
    f = check_occur_prespecified(Study({"SV": sv}))
    assert f["rule"].tolist() == ["CG-OCCUR-PRESP"] and f["row"].tolist() == [2]
    sv.loc[1, "SVOCCUR"] = ""
    assert check_occur_prespecified(Study({"SV": sv})).empty
    # any domain with both variables; a dataset without --PRESP is not checked
    mh = pd.DataFrame({"MHPRESP": ["Y", ""], "MHOCCUR": ["N", "Y"]})
    assert check_occur_prespecified(Study({"MH": mh}))["row"].tolist() == [2]
    assert check_occur_prespecified(Study({"MH": mh.drop(columns="MHPRESP")})).empty


def test_fb4301_end_time_point_needs_a_start():
    # the bundled MH once had MHENRTPT = ONGOING and no start of any kind
    mh = pd.DataFrame({"USUBJID": ["1", "2", "3"], "MHENRTPT": ["ONGOING", "ONGOING", ""],
                       "MHENTPT": ["2012-01-01"] * 2 + [""]})
    f = check_end_without_start(Study({"MH": mh}))
    assert f["rule"].tolist() == ["CG-END-NO-START"] * 2 and f["row"].tolist() == [1, 2]
    mh["MHSTRTPT"] = ["BEFORE", "", ""]
    assert check_end_without_start(Study({"MH": mh}))["row"].tolist() == [2]
    ae = pd.DataFrame({"AESTDTC": ["2012-01", ""], "AEENDTC": ["2012-02-03", "2012-02-03"]})
    assert check_end_without_start(Study({"AE": ae}))["row"].tolist() == [2]


def test_cg0042_serious_ae_needs_a_criterion():
    ae = pd.DataFrame({"AESER": ["Y", "Y", "N", "Y"], "AESDTH": ["N", "Y", "N", ""],
                       "AESHOSP": ["", "", "", "Y"]})
    f = check_ae_serious_criteria(Study({"AE": ae}))
    assert f["rule"].tolist() == ["CG-AE-SERIOUS"] and f["row"].tolist() == [1]
    # criteria the data lacks are named, as in the bundled study (only AESDTH is mapped)
    f = check_ae_serious_criteria(Study({"AE": ae.drop(columns="AESHOSP")}))
    assert f["row"].tolist() == [1, 4] and "AESHOSP" in f["message"].iloc[0]


def test_fb2201_epoch_on_records_with_a_complete_date():
    # the bundled TU/TR once had baseline scans before consent, outside every element
    tu = pd.DataFrame({"USUBJID": ["1", "1", "2", "2"],
                       "TUDTC": ["2012-01-28", "2012-03-01", "2012-12", ""],
                       "EPOCH": ["", "TREATMENT", "", ""]})
    f = check_epoch_populated(Study({"TU": tu}))
    assert f["rule"].tolist() == ["CG-EPOCH-NULL"] and f["row"].tolist() == [1]
    # events use --STDTC; a partial start spanning two elements is not reported
    ae = pd.DataFrame({"USUBJID": ["1", "1"], "AESTDTC": ["2012-12", "2012-12-05"],
                       "AEDTC": ["2012-12-05", "2012-12-05"], "EPOCH": ["", ""]})
    assert check_epoch_populated(Study({"AE": ae}))["row"].tolist() == [2]
    assert check_epoch_populated(Study({"AE": ae.drop(columns="EPOCH")})).empty
