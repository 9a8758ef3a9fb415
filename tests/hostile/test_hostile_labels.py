"""ADaM labels: every variable gets its ADaMIG label (ADSL's for a variable copied from
ADSL, SDTMIG's for an SDTM variable kept as is), and `validate` flags a label that is the
variable's own name or a placeholder.

Cases (parametrized; 21 in all): the nine labels the bundled study got wrong (9), every
variable of five ADaM datasets (5), `validate` on placeholder and real labels (7).
"""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.conformance.validate import validate_folder
from cdisc_convert.io.folder import real_label, variable_labels
from cdisc_convert.io.xpt import write_xpt
from cdisc_convert.standards.metadata import load_standard
from hostile_helpers import case_timeout  # noqa: F401 (autouse fixture)

WRONG_BEFORE = {
    ("ADRS", "TRTSDT"): "Date of First Exposure to Treatment",     # was "{Date}"
    ("ADRS", "VISIT"): "Visit Name",                                # was "VISIT"
    ("ADRS", "VISITNUM"): "Visit Number",
    ("ADTTE", "AGE"): "Age",                                        # was "AGE"
    ("ADTTE", "SEX"): "Sex",
    ("ADTTE", "ARM"): "Description of Planned Arm",
    ("ADTTE", "ARMCD"): "Planned Arm Code",
    ("ADTTE", "ACTARM"): "Description of Actual Arm",
    ("ADTTE", "ACTARMCD"): "Actual Arm Code",
}


@pytest.mark.parametrize("dataset,variable", list(WRONG_BEFORE))
def test_adam_variable_gets_its_label(dataset, variable):
    frame = pd.DataFrame({"USUBJID": ["S-1"], variable: ["x"]})
    _, labels = variable_labels(frame, dataset, "adamig-1.3")
    assert labels[variable] == WRONG_BEFORE[(dataset, variable)]


@pytest.mark.parametrize("dataset", ["ADSL", "ADRS", "ADTTE", "ADTR", "ADAE"])
def test_every_adsl_and_own_variable_has_a_real_label(dataset):
    adam = load_standard("adamig-1.3")
    names = ["TRT01P", "TRT01A"] + [v for v in adam.dataset("ADSL").variables["variable"]
                                    if v.isalnum() and v == v.upper()]     # not TRTxxP
    try:
        names += [v for v in adam.dataset(dataset).variables["variable"]
                  if v.isalnum() and v == v.upper()]
    except Exception:       # noqa: BLE001 - a dataset the subset does not describe
        pass
    frame = pd.DataFrame({v: [] for v in dict.fromkeys(names)})
    _, labels = variable_labels(frame, dataset, "adamig-1.3")
    bad = {v: l for v, l in labels.items() if not real_label(l, v)}
    assert not bad
    adsl = variable_labels(frame, "ADSL", "adamig-1.3")[1]
    assert labels["AGE"] == adsl["AGE"] and labels["TRTSDT"] == adsl["TRTSDT"]


LABELS = {
    # label of AVAL, flagged?
    "its own name": ("AVAL", True),
    "a {Date} placeholder": ("{Date}", True),
    "an xx placeholder": ("Analysis Value xx", True),
    "an XX placeholder": ("Baseline Value XX", True),
    "a {Param} placeholder inside": ("Value of {Param}", True),
    "a real label": ("Analysis Value", False),
    "a real label with an x": ("Max Index", False),
}


@pytest.mark.parametrize("case", LABELS)
def test_validate_flags_placeholder_labels(tmp_path, case):
    label, flagged = LABELS[case]
    folder = tmp_path / "adam"
    folder.mkdir()
    frame = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-1"], "PARAMCD": ["P"],
                          "PARAM": ["p"], "AVAL": [1.0]})
    write_xpt(frame, folder / "adxx.xpt", name="ADXX", label="Analysis",
              labels={"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier",
                      "PARAMCD": "Parameter Code", "PARAM": "Parameter", "AVAL": label})
    result = validate_folder(folder)
    found = result.findings[result.findings["rule"] == "ST-LABEL-PLACEHOLDER"]
    if flagged:
        assert found[["variable", "value", "severity"]].values.tolist() == [["AVAL", label, "warning"]]
    else:
        assert found.empty
