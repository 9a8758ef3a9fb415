"""docs/examples/edc-vital-signs: the VS spec for an EDC export shaped as pharmaverseraw's
``vs_raw``, run with the CDISC pilot's study folder on a hand-made table of that shape.

The export itself is not in ``../shared/reference``; the example's README gives the result
on it. Here every expected value is worked by hand from the raw cells below. The pilot's
DM/EX raw tables (for USUBJID, RFSTDTC and the first dose) come from ``../shared``: the test
skips without them.
"""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from cdisc_convert.sdtm.engine import map_study
from conftest import REPO

EXAMPLE = REPO / "docs" / "examples" / "edc-vital-signs"
PILOT = REPO / "mappings" / "cdiscpilot01"
COLUMNS = ["STUDY", "PATNUM", "INSTANCE", "FORM", "FORML", "VTLD", "IT.HEIGHT_VSORRES",
           "IT.WEIGHT", "IT.TEMP", "IT.TEMP_LOC", "TMPTC", "SYS_BP", "DIA_BP", "PULSE",
           "SUBPOS"]
LYING, STAND1 = "after Lying Down for 5 Minutes", "after Standing for 1 Minute"
# subject 701-1015 of the pilot: first dose 2014-01-02 (EX), RFSTDTC 2014-01-02 (DM)
ROWS = [
    ["Screening 1", "26-Dec-2013", "", "", "", "", LYING, "131", "64", "57", "SUPINE"],
    ["Screening 1", "26-Dec-2013", "", "", "", "", STAND1, "129", "", "62", "STANDING"],
    ["Screening 1", "26-Dec-2013", "58.0", "119.0", "", "", "", "", "", "", ""],
    ["Screening 1", "26-Dec-2013", "", "", "96.9", "ORAL CAVITY", "", "", "", "", ""],
    ["Baseline", "02-Jan-2014", "", "146.0", "", "", "", "", "", "", ""],
    ["Week 2", "16-Jan-2014", "", "", "", "", LYING, "114", "56", "58", "SUPINE"],
]


def _merge(base: dict, extra: dict) -> dict:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture(scope="module")
def vs(reference, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edc_vs")
    study, raw = tmp / "study", tmp / "raw"
    shutil.copytree(PILOT, study)
    shutil.copy(EXAMPLE / "vs.yaml", study / "vs.yaml")
    spec = yaml.safe_load((study / "study.yaml").read_text(encoding="utf-8"))
    _merge(spec, yaml.safe_load((EXAMPLE / "study-additions.yaml").read_text(encoding="utf-8")))
    spec["raw"].pop("folder", None)
    (study / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    shutil.copytree(reference / "pharmaverse" / "raw", raw)
    rows = [["CDISCPILOT01", "701-1015", r[0], "VS", "Vital Signs", *r[1:]] for r in ROWS]
    pd.DataFrame(rows, columns=COLUMNS).to_csv(raw / "vs_raw.csv", index=False)
    result = map_study(study, raw)
    vs_findings = result.findings[result.findings["domain"] == "VS"]
    assert vs_findings.empty, vs_findings.to_string()
    # every column of the export is mapped or declared not submitted (FORM, FORML)
    assert "MAP-RAW-COLUMN" not in set(result.findings["rule"])
    return result.domains["VS"]


def one(vs: pd.DataFrame, test: str, visit: str, tpt: int | None = None) -> pd.Series:
    """The single record of a test at a visit (and time point)."""
    rows = vs[(vs["VSTESTCD"] == test) & (vs["VISIT"] == visit)]
    rows = rows[rows["VSTPTNUM"].isna()] if tpt is None else rows[rows["VSTPTNUM"] == tpt]
    assert len(rows) == 1, (test, visit, tpt, len(rows))
    return rows.iloc[0]


def test_one_record_per_test_result_and_one_per_blank_time_point_result(vs):
    # 3 tests x 3 time-point rows (one blank DIABP: not done) + HEIGHT, WEIGHT x2, TEMP
    assert len(vs) == 9 + 4
    nd = vs[vs["VSSTAT"] == "NOT DONE"]
    assert list(nd["VSTESTCD"]) == ["DIABP"]
    assert nd.iloc[0][["VSORRES", "VSORRESU", "VSSTRESU", "VSTPTNUM", "VSPOS"]].tolist() == \
        ["", "", "", 816, "STANDING"]


def test_units_converted_by_hand_values(vs):
    # 58 in x 2.54 = 147.32 cm; 119 lb x 0.4536 = 53.9784 kg; (96.9 - 32) x 5/9 = 36.0556 C
    height = one(vs, "HEIGHT", "SCREENING 1")
    assert (height["VSORRES"], height["VSORRESU"], height["VSSTRESN"], height["VSSTRESU"]) \
        == ("58.0", "in", 147.32, "cm")
    assert one(vs, "WEIGHT", "SCREENING 1")["VSSTRESN"] == 53.98
    # the pilot's factor: 146 x 0.4536 = 66.2256 (with 0.45359237 it would be 66.2245 -> 66.22)
    assert one(vs, "WEIGHT", "BASELINE")["VSSTRESN"] == 66.23
    temp = one(vs, "TEMP", "SCREENING 1")
    assert (temp["VSSTRESN"], temp["VSSTRESC"], temp["VSSTRESU"], temp["VSLOC"]) == \
        (36.06, "36.06", "C", "ORAL CAVITY")
    pulse = one(vs, "PULSE", "WEEK 2", 815)
    assert (pulse["VSORRESU"], pulse["VSSTRESN"], pulse["VSTEST"]) == \
        ("beats/min", 58.0, "Pulse Rate")


def test_time_points_visits_and_days(vs):
    sys1 = one(vs, "SYSBP", "SCREENING 1", 815)
    assert (sys1["VSTPT"], sys1["VSELTM"], sys1["VSTPTREF"], sys1["VSPOS"]) == \
        ("AFTER LYING DOWN FOR 5 MINUTES", "PT5M", "PATIENT SUPINE", "SUPINE")
    assert (sys1["VISITNUM"], sys1["VISITDY"], sys1["VSDTC"], sys1["VSDY"]) == \
        (1, -7, "2013-12-26", -7)                       # 2013-12-26 - 2014-01-02 = -7 days
    wk2 = one(vs, "SYSBP", "WEEK 2", 815)
    assert (wk2["VISITNUM"], wk2["VISITDY"], wk2["VSDY"]) == (4, 14, 15)
    assert one(vs, "HEIGHT", "SCREENING 1")["VSTPT"] == ""


def test_baseline_flags(vs):
    # VSBLFL: the BASELINE visit's record; VSLOBXFL: the last result on or before the first
    # dose (2014-01-02), so the baseline weight, and the screening values of the other tests
    flagged = vs[vs["VSBLFL"] == "Y"]
    assert list(flagged["VSTESTCD"]) == ["WEIGHT"]
    assert flagged.iloc[0]["VISIT"] == "BASELINE"
    lobx = vs[vs["VSLOBXFL"] == "Y"]
    assert sorted(zip(lobx["VSTESTCD"], lobx["VISIT"], lobx["VSTPTNUM"].map(lambda t: "" if pd.isna(t) else str(int(t))))) == sorted([
        ("DIABP", "SCREENING 1", "815"), ("HEIGHT", "SCREENING 1", ""),
        ("PULSE", "SCREENING 1", "815"), ("PULSE", "SCREENING 1", "816"),
        ("SYSBP", "SCREENING 1", "815"), ("SYSBP", "SCREENING 1", "816"),
        ("TEMP", "SCREENING 1", ""), ("WEIGHT", "BASELINE", "")])
