"""Hostile values: numbers that are not finite, implausible tumour results, a subject twice
in DM, and XPT writer errors that must name the target file and the record.

Cases (parametrized; 35 in all): non-finite numbers in raw tables (12), XPT writer errors
(3), non-finite numbers in `validate` inputs (4), TR plausibility (9), duplicate DM
subjects in `validate` (3), the bundled study with a negative diameter (1), plus the
checks of each rule's catalogue entry (3).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.conformance.catalogue import RULES as CATALOGUE
from cdisc_convert.conformance.validate import validate_folder
from cdisc_convert.io.datasetjson import write_dataset_json
from cdisc_convert.sdtm.engine import map_study
from hostile_helpers import case_timeout, cli, make_study  # noqa: F401 (autouse fixture)

HEADER = "PT,SEX,START,AGEX\n"
AGE_FROM = "      AGE: {from: AGEX}\n"
AGE_NUMBER = "      AGE: {number: AGEX}\n"


def _study(tmp_path, value, rule):
    spec, raw = make_study(tmp_path, {"subj.csv": HEADER + "001,F,2014-01-01,40\n\n"
                                      f"002,M,2014-01-02,{value}\n"})
    (spec / "dm.yaml").write_text((spec / "dm.yaml").read_text() + rule)
    return spec, raw


# ------------------------------------------------------------------ raw numbers
@pytest.mark.parametrize("rule", [AGE_FROM, AGE_NUMBER], ids=["from", "number"])
@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "nan", "NaN", "1e999"])
def test_non_finite_raw_number_is_a_finding_naming_the_raw_row(tmp_path, value, rule):
    spec, raw = _study(tmp_path, value, rule)
    result = map_study(spec, raw)
    bad = result.findings[result.findings["rule"] == "MAP-NUMBER"]
    assert bad[["severity", "table", "row", "variable", "value"]].values.tolist() == [
        ["error", "subj.csv", 3, "AGE", value]]
    assert not np.isinf(result.domains["DM"]["AGE"]).any()
    code, out = cli("sdtm", spec, "--raw", raw, "--out", tmp_path / "out")
    assert code == 1 and "[MAP-NUMBER]" in out and not (tmp_path / "out" / "dm.xpt").exists()


# ------------------------------------------------------------------ XPT writer errors
def test_xpt_error_names_the_target_file_and_the_raw_record(tmp_path):
    spec, raw = make_study(tmp_path, {"subj.csv": "PT,SEX,START\n001,F,2014-01-01\n\n"
                                      "00\u00e9,M,2014-01-02\n"})
    out = tmp_path / "out"
    code, text = cli("sdtm", spec, "--raw", raw, "--out", out)
    assert code == 1 and "[XPT-ASCII]" in text, text
    assert f"{out / 'dm.xpt'}, dataset DM" in text and ".out." not in text
    assert "records: USUBJID=S1-00\u00e9, raw subj.csv row 3" in text


def test_xpt_length_error_names_the_record(tmp_path):
    spec, raw = make_study(tmp_path, {"subj.csv": "PT,SEX,START\n001,F,2014-01-01\n"
                                      "0002,M,2014-01-02\n"})
    dm = (spec / "dm.yaml").read_text().replace("SUBJID: {from: PT}", "SUBJID: {from: PT, length: 3}")
    (spec / "dm.yaml").write_text(dm)
    code, text = cli("sdtm", spec, "--raw", raw, "--out", tmp_path / "out")
    assert code == 1 and "[XPT-LENGTH]" in text and "USUBJID=S1-0002, raw subj.csv row 2" in text, text


def test_xpt_error_of_adam_names_the_target_file(tmp_path):
    from cdisc_convert.core.errors import CdiscError
    from cdisc_convert.io.folder import write_folder

    frame = pd.DataFrame({"STUDYID": ["S"], "USUBJID": ["S-\u00e9"], "AGE": [40.0]})
    with pytest.raises(CdiscError) as info:
        write_folder({"ADSL": frame}, tmp_path / "adam", standard="adamig-1.3", formats=("xpt",))
    assert info.value.location.file == str(tmp_path / "adam" / "adsl.xpt")
    assert "records: USUBJID=S-\u00e9" in info.value.format()


# ------------------------------------------------------------------ validate inputs
def _dm(n=2):
    return pd.DataFrame({
        "STUDYID": ["S1"] * n, "DOMAIN": ["DM"] * n, "USUBJID": [f"S1-{i:03d}" for i in range(1, n + 1)],
        "SUBJID": [f"{i:03d}" for i in range(1, n + 1)], "RFSTDTC": ["2020-01-02"] * n,
        "SITEID": ["01"] * n, "AGE": [40.0] * n, "AGEU": ["YEARS"] * n, "SEX": ["F"] * n,
        "ARMCD": ["A"] * n, "ARM": ["Arm A"] * n, "ACTARMCD": ["A"] * n,
        "ACTARM": ["Arm A"] * n, "COUNTRY": ["USA"] * n})


def _tr(tests, values):
    n = len(tests)
    return pd.DataFrame({
        "STUDYID": ["S1"] * n, "DOMAIN": ["TR"] * n, "USUBJID": ["S1-001"] * n,
        "TRSEQ": np.arange(1.0, n + 1), "TRLNKID": [f"T{i}" for i in range(n)],
        "TRTESTCD": tests, "TRTEST": ["x"] * n, "TRORRES": [str(v) for v in values],
        "TRSTRESC": [str(v) for v in values], "TRSTRESN": np.asarray(values, dtype=float),
        "TRDTC": ["2020-01-02"] * n})


def _findings(folder, rule):
    result = validate_folder(folder)
    found = result.findings[result.findings["rule"] == rule]
    return result, found


@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity"])
def test_infinite_number_in_a_csv_is_an_error_finding(tmp_path, text):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    dm = _dm()
    dm["AGE"] = dm["AGE"].astype(object)
    dm.loc[1, "AGE"] = text
    dm.to_csv(folder / "dm.csv", index=False)
    result, found = _findings(folder, "SD-NUM-FINITE")
    assert found[["dataset", "variable", "severity"]].values.tolist() == [["DM", "AGE", "error"]]
    assert result.exit_code == 1


def test_infinite_number_in_dataset_json_is_an_error_finding(tmp_path):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    write_dataset_json(_dm(), folder / "dm.json", name="DM", label="Demographics")
    data = json.loads((folder / "dm.json").read_text())
    age = [c["name"] for c in data["columns"]].index("AGE")
    data["rows"][0][age] = "__INF__"
    (folder / "dm.json").write_text(json.dumps(data).replace('"__INF__"', "1e999"))
    result, found = _findings(folder, "SD-NUM-FINITE")
    assert found[["dataset", "variable", "row"]].values.tolist() == [["DM", "AGE", 1]]


PLAUSIBLE = {
    # test code, value, implausible?
    "negative longest diameter": ("LDIAM", -5.0, True),
    "negative short axis": ("LPERP", -0.1, True),
    "negative diameter": ("DIAMETER", -1.0, True),
    "HU of 1e9": ("RADIODEN", 1e9, True),
    "HU below air": ("RADIODEN", -2000.0, True),
    "HU at the top of the scale": ("RADIODEN", 3071.0, False),
    "HU of air": ("RADIODEN", -1024.0, False),
    "zero diameter (disappeared lesion)": ("LDIAM", 0.0, False),
    "large diameter": ("LDIAM", 250.0, False),
}


@pytest.mark.parametrize("case", PLAUSIBLE)
def test_tumour_results_outside_their_plausible_range_are_findings(tmp_path, case):
    test, value, implausible = PLAUSIBLE[case]
    folder = tmp_path / "sdtm"
    folder.mkdir()
    _dm().to_csv(folder / "dm.csv", index=False)
    _tr(["LDIAM", test], [20.0, value]).to_csv(folder / "tr.csv", index=False)
    _, found = _findings(folder, "SD-TR-PLAUSIBLE")
    if implausible:
        assert found[["dataset", "variable", "row", "severity"]].values.tolist() == [
            ["TR", "TRSTRESN", 2, "error"]]
        assert test in found["message"].iloc[0]
    else:
        assert found.empty


@pytest.mark.parametrize("same", [True, False], ids=["identical", "conflicting"])
def test_duplicate_dm_subject_is_an_error_in_validate(tmp_path, same):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    dm = _dm()
    extra = dm.iloc[[0]].copy()
    if not same:
        extra["SEX"] = "M"
    pd.concat([dm, extra], ignore_index=True).to_csv(folder / "dm.csv", index=False)
    result, found = _findings(folder, "SD-DM-DUP")
    assert found[["row", "severity", "value"]].values.tolist() == [[3, "error", "S1-001"]]
    assert result.exit_code == 1
    code, out = cli("validate", folder, "--format", "csv", "--out", tmp_path / "r.csv")
    assert code == 1


def test_dm_without_duplicates_has_no_dm_dup_finding(tmp_path):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    _dm(3).to_csv(folder / "dm.csv", index=False)
    assert _findings(folder, "SD-DM-DUP")[1].empty


def test_bundled_study_with_a_negative_diameter_is_refused(tmp_path, repo):
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(repo / "fixtures" / "sorafenib_dtic" / "raw", raw)
    lines = (raw / "tumor_meas.csv").read_text().splitlines()
    fields = lines[1].split(",")
    fields[4] = "-" + fields[4]
    lines[1] = ",".join(fields)
    (raw / "tumor_meas.csv").write_text("\n".join(lines) + "\n")
    code, out = cli("sdtm", repo / "mappings" / "sorafenib_dtic", "--raw", raw, "--out", tmp_path / "o")
    assert code == 1 and "[SD-TR-PLAUSIBLE]" in out and "raw tumor_meas.csv row 1" in out, out


@pytest.mark.parametrize("rule", ["SD-DM-DUP", "SD-NUM-FINITE", "SD-TR-PLAUSIBLE"])
def test_new_rules_are_errors_in_the_catalogue(rule):
    assert CATALOGUE[rule].severity == "error"
