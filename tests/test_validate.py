"""The validator (cdisc_convert.validation.validate / .rules).

* every study-level rule: a small study that passes everything, and for each rule one
  change that makes it fail (and only the expected rule ids appear);
* the file-level rules on files written to a temporary folder;
* the reports (html, json, xlsx, csv): content, escaping, determinism;
* our bundled study (pipeline run once per module): no error findings but the known data
  issues listed below;
* the CDISC Dataset-JSON example study (../shared/reference/datasetjson): every finding
  asserted and explained in docs/validation-rules.md.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.io.xpt import write_xpt
from cdisc_convert.standards.metadata import load_ct
from cdisc_convert.conformance import checks as R
from cdisc_convert.conformance import folder_inputs, validate as V
from cdisc_convert.conformance.checks import RULES, Study, run_checks
from cdisc_convert.core.iso8601 import compare_iso
from cdisc_convert.conformance.validate import validate_folder, write_report
from conftest import REPO

DOCS = REPO / "docs" / "validation-rules.md"


# --------------------------------------------------------------------------- a good study
def _ts() -> pd.DataFrame:
    """TS with every FDA parameter, names from CT (TSPARM is checked against TSPARMCD)."""
    ct = load_ct()
    codes, names = ct.codelist("TSPARMCD").terms, ct.codelist("TSPARM").terms
    name_of = dict(zip(names["term_code"], names["submission_value"]))
    parm = {v: name_of[t] for v, t in zip(codes["submission_value"], codes["term_code"])}
    params = list(R.FDA_TS_PARAMETERS) + ["SSTDTC"]
    values = {"SSTDTC": "2020-01-02", "TITLE": "A study", "TPHASE": "PHASE II TRIAL"}
    return pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "TS", "TSSEQ": 1.0, "TSPARMCD": params,
        "TSPARM": [parm[p] for p in params], "TSVAL": [values.get(p, "X") for p in params]})


def good_sdtm() -> dict[str, pd.DataFrame]:
    """Two subjects (S1-001 died on 2020-03-01 after a new lesion; S1-002 alive) that pass
    every study-level rule."""
    dm = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "DM", "USUBJID": ["S1-001", "S1-002"],
        "RFSTDTC": ["2020-01-10", "2020-01-12"], "RFENDTC": ["2020-03-01", "2020-04-01"],
        "RFXSTDTC": ["2020-01-10", "2020-01-12"], "RFXENDTC": ["2020-02-10", "2020-02-12"],
        "RFICDTC": ["2020-01-02", "2020-01-05"], "DTHDTC": ["2020-03-01", ""],
        "DTHFL": ["Y", ""], "ARMCD": ["A", "B"], "ARM": ["Arm A", "Arm B"],
        "ACTARMCD": ["A", "B"], "ACTARM": ["Arm A", "Arm B"]})
    ex = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "EX", "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-002"],
        "EXSEQ": [1.0, 2.0, 1.0, 2.0], "EXTRT": "DRUG",
        "EXSTDTC": ["2020-01-10", "2020-02-10T09:00", "2020-01-12", "2020-02-01"],
        "EXENDTC": ["2020-01-10", "2020-02-10T09:30", "2020-01-12", "2020-02-12"]})
    ae = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "AE", "USUBJID": ["S1-001", "S1-001", "S1-002"],
        "AESEQ": [1.0, 2.0, 1.0], "AETERM": ["RASH", "SEPSIS", "NAUSEA"],
        "AEOUT": ["RECOVERED/RESOLVED", "FATAL", "NOT RECOVERED/NOT RESOLVED"],
        "AESDTH": ["N", "Y", "N"], "AESTDTC": ["2020-01-15", "2020-02-25", "2020-01"],
        "AEENDTC": ["2020-01-20", "2020-03-01", ""]})
    ds = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "DS", "USUBJID": ["S1-001", "S1-001", "S1-002", "S1-002"],
        "DSSEQ": [1.0, 2.0, 1.0, 2.0],
        "DSDECOD": ["INFORMED CONSENT OBTAINED", "DEATH", "INFORMED CONSENT OBTAINED",
                    "COMPLETED"],
        "DSSTDTC": ["2020-01-02", "2020-03-01", "2020-01-05", "2020-04-01"]})
    tu = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "TU", "USUBJID": ["S1-001", "S1-001", "S1-001", "S1-002"],
        "TUSEQ": [1.0, 2.0, 3.0, 1.0], "TULNKID": ["T1", "NT1", "N1", "T1"],
        "TUTESTCD": "TUMIDENT", "TUTEST": "Tumor Identification",
        "TUSTRESC": ["TARGET", "NON-TARGET", "NEW", "TARGET"], "TUEVAL": "INVESTIGATOR",
        "VISITNUM": [1.0, 1.0, 3.0, 1.0], "VISIT": ["BASELINE", "BASELINE", "WEEK 12", "BASELINE"],
        "TUDTC": ["2020-01-05", "2020-01-05", "2020-02-20", "2020-01-08"]})
    tr = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "TR", "USUBJID": ["S1-001"] * 5 + ["S1-002"] * 2,
        "TRSEQ": [1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0],
        "TRGRPID": ["TARGET", "NON-TARGET", "TARGET", "TARGET", "NEW", "TARGET", "TARGET"],
        "TRLNKID": ["T1", "NT1", "T1", "T1", "N1", "T1", "T1"],
        "TRTESTCD": ["LDIAM", "TUMSTATE", "LDIAM", "LDIAM", "TUMSTATE", "LDIAM", "LDIAM"],
        "TRTEST": ["Longest Diameter", "Tumor State", "Longest Diameter", "Longest Diameter",
                   "Tumor State", "Longest Diameter", "Longest Diameter"],
        "TRORRES": ["50", "PRESENT", "30", "32", "PRESENT", "40", "41"],
        "TRSTRESC": ["50", "PRESENT", "30", "32", "PRESENT", "40", "41"],
        "TRSTRESN": [50.0, np.nan, 30.0, 32.0, np.nan, 40.0, 41.0],
        "TRLOBXFL": ["Y", "Y", "", "", "", "Y", ""], "TREVAL": "INVESTIGATOR",
        "VISITNUM": [1.0, 1.0, 2.0, 3.0, 3.0, 1.0, 2.0],
        "VISIT": ["BASELINE", "BASELINE", "WEEK 6", "WEEK 12", "WEEK 12", "BASELINE", "WEEK 6"],
        "TRDTC": ["2020-01-05", "2020-01-05", "2020-01-25", "2020-02-20", "2020-02-20",
                  "2020-01-08", "2020-02-01"]})
    rs_rows = [
        ("S1-001", 2.0, "WEEK 6", "2020-01-25", "TRGRESP", "PR"),
        ("S1-001", 2.0, "WEEK 6", "2020-01-25", "NTRGRESP", "NON-CR/NON-PD"),
        ("S1-001", 2.0, "WEEK 6", "2020-01-25", "NEWLPROG", "N"),
        ("S1-001", 2.0, "WEEK 6", "2020-01-25", "OVRLRESP", "PR"),
        ("S1-001", 3.0, "WEEK 12", "2020-02-20", "TRGRESP", "SD"),
        ("S1-001", 3.0, "WEEK 12", "2020-02-20", "NTRGRESP", "NON-CR/NON-PD"),
        ("S1-001", 3.0, "WEEK 12", "2020-02-20", "NEWLPROG", "Y"),
        ("S1-001", 3.0, "WEEK 12", "2020-02-20", "OVRLRESP", "PD"),
        ("S1-002", 2.0, "WEEK 6", "2020-02-01", "TRGRESP", "SD"),
        ("S1-002", 2.0, "WEEK 6", "2020-02-01", "NEWLPROG", "N"),
        ("S1-002", 2.0, "WEEK 6", "2020-02-01", "OVRLRESP", "SD"),
    ]
    names = {"TRGRESP": "Target Response", "NTRGRESP": "Non-target Response",
             "NEWLPROG": "New Lesion Progression", "OVRLRESP": "Overall Response"}
    rs = pd.DataFrame(rs_rows, columns=["USUBJID", "VISITNUM", "VISIT", "RSDTC", "RSTESTCD",
                                        "RSSTRESC"])
    rs.insert(0, "STUDYID", "S1")
    rs.insert(1, "DOMAIN", "RS")
    rs["RSSEQ"] = rs.groupby("USUBJID").cumcount().astype(float) + 1
    rs["RSTEST"] = rs["RSTESTCD"].map(names)
    rs["RSCAT"] = "RECIST 1.1"
    rs["RSEVAL"] = "INVESTIGATOR"
    rs = rs[["STUDYID", "DOMAIN", "USUBJID", "RSSEQ", "RSTESTCD", "RSTEST", "RSCAT", "RSSTRESC",
             "RSEVAL", "VISITNUM", "VISIT", "RSDTC"]]
    return {"DM": dm, "EX": ex, "AE": ae, "DS": ds, "TS": _ts(), "TU": tu, "TR": tr, "RS": rs}


def good_adam() -> dict[str, pd.DataFrame]:
    d = pd.to_datetime
    adsl = pd.DataFrame({
        "STUDYID": "S1", "USUBJID": ["S1-001", "S1-002"],
        "TRTSDT": d(["2020-01-10", "2020-01-12"]), "TRTEDT": d(["2020-02-10", "2020-02-12"]),
        "LSTALVDT": d(["2020-02-28", "2020-04-01"]), "DTHDT": d(["2020-03-01", None]),
        "SAFFL": ["Y", "Y"], "ITTFL": ["Y", "Y"], "DTHFL": ["Y", ""]})
    adtte = pd.DataFrame({
        "STUDYID": "S1", "USUBJID": ["S1-001", "S1-002"], "PARAMCD": "OS",
        "PARAM": "Overall Survival (days)", "STARTDT": d(["2020-01-10", "2020-01-12"]),
        "ADT": d(["2020-03-01", "2020-04-01"]), "AVAL": [52.0, 81.0], "CNSR": [0.0, 1.0],
        "EVNTDESC": ["DEATH", "LAST KNOWN ALIVE"], "SRCDOM": ["ADSL", "ADSL"],
        "SRCVAR": ["DTHDT", "LSTALVDT"], "SRCSEQ": [np.nan, np.nan]})
    adrs = pd.DataFrame({
        "STUDYID": "S1", "USUBJID": ["S1-001", "S1-001", "S1-002"], "PARAMCD": "OVR",
        "PARAM": "Overall Response by Investigator", "AVALC": ["PR", "PD", "SD"],
        "ADT": d(["2020-01-25", "2020-02-20", "2020-02-01"]), "ANL01FL": ["Y", "Y", "Y"],
        "SRCDOM": "RS", "SRCVAR": "RSSTRESC", "SRCSEQ": [4.0, 8.0, 3.0]})
    return {"ADSL": adsl, "ADTTE": adtte, "ADRS": adrs}


def check(datasets: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return run_checks(Study({k: v.reset_index(drop=True) for k, v in datasets.items()}))


def rules_in(findings: pd.DataFrame) -> set[str]:
    return set(findings["rule"])


def test_good_study_passes_every_rule():
    found = check({**good_sdtm(), **good_adam()})
    assert found.empty, found[["rule", "dataset", "message"]].to_string()


# --------------------------------------------------------------------------- one change per rule
def _set(name, column, row, value):
    def change(d):
        d[name].loc[row, column] = value
    return change


def _drop(name):
    def change(d):
        del d[name]
    return change


def _rs_set(subject, visit, test, value):
    def change(d):
        rs = d["RS"]
        rs.loc[(rs.USUBJID == subject) & (rs.VISITNUM == visit) & (rs.RSTESTCD == test),
               "RSSTRESC"] = value
    return change


def _append(name, **values):
    def change(d):
        frame = d[name]
        d[name] = pd.concat([frame, frame.iloc[[0]].assign(**values)], ignore_index=True)
    return change


def _dup_record(d):
    d["AE"] = pd.concat([d["AE"], d["AE"].iloc[[0]].assign(AESEQ=9.0)], ignore_index=True)


def _reorder(d):
    cols = list(d["DM"].columns)
    d["DM"] = d["DM"][[cols[1], cols[0]] + cols[2:]]


def _rename_ts_parm(d):
    ts = d["TS"]
    ts.loc[ts.TSPARMCD == "TTYPE", "TSPARM"] = "Trial Primary Objective"


def _two_names_for_code(d):
    d["TR"].loc[2, "TRTEST"] = "Longest diameter (mm)"


def _drop_ts_param(d):
    d["TS"] = d["TS"][d["TS"].TSPARMCD != "TITLE"].reset_index(drop=True)


def _no_baseline(d):
    tr = d["TR"]
    d["TR"] = tr[~((tr.USUBJID == "S1-002") & (tr.TRLOBXFL == "Y"))].reset_index(drop=True)


SDTM_CASES = {
    "XD-DM-MISSING": _drop("DM"),
    "XD-TS-MISSING": _drop("TS"),
    "ST-DUP-RECORD": _dup_record,
    "ST-VAR-ORDER": _reorder,
    "ST-TEST-PAIR": _two_names_for_code,
    "ST-TEST-CT": _rename_ts_parm,
    "DT-START-END": _set("AE", "AEENDTC", 0, "2020-01-14"),
    "DT-AFTER-DEATH": _set("AE", "AEENDTC", 0, "2020-03-05"),
    "XD-RFXSTDTC": _set("DM", "RFXSTDTC", 1, "2020-01-13"),
    "XD-RFXENDTC": _set("DM", "RFXENDTC", 0, "2020-02-11"),
    "XD-DTHFL": _set("DM", "DTHFL", 0, ""),
    "XD-DEATH-DS": _set("DS", "DSDECOD", 3, "DEATH"),
    "XD-DEATH-AE": _set("AE", "AEOUT", 2, "FATAL"),
    "XD-DEATH-NO-DS": _set("DS", "DSDECOD", 1, "COMPLETED"),
    "XD-DEATH-DATE": _set("DS", "DSSTDTC", 1, "2020-02-28"),
    "XD-ARM": _set("DM", "ARM", 1, "Arm A"),
    "XD-TS-SSTDTC": _set("TS", "TSVAL", len(R.FDA_TS_PARAMETERS), "2020-13-45"),
    "XD-TS-PARAM": _drop_ts_param,
    "XD-TS-SSTDTC-CONSENT": _set("TS", "TSVAL", len(R.FDA_TS_PARAMETERS), "2019-12-01"),
    "ONC-LINK": _set("TR", "TRLNKID", 6, "T9"),
    "ONC-TARGET-BASELINE": _no_baseline,
    "ONC-OVRL-PD": _rs_set("S1-001", 3.0, "OVRLRESP", "SD"),
    "ONC-OVRL-RECIST": _rs_set("S1-001", 2.0, "OVRLRESP", "SD"),
    "ONC-NEW-LESION": lambda d: (_rs_set("S1-001", 3.0, "OVRLRESP", "SD")(d),
                                 _rs_set("S1-001", 3.0, "NEWLPROG", "N")(d)),
}

#: other rules that the change above also (rightly) triggers
ALSO = {
    "XD-DTHFL": {"XD-DEATH-DS", "XD-DEATH-AE"},  # S1-001 is no longer flagged as dead
    "ONC-OVRL-PD": {"ONC-NEW-LESION"},  # the visit has a new lesion too
    "ST-TEST-CT": {"ST-TEST-PAIR"},  # OBJPRIM has that TSPARM too
    "ST-TEST-PAIR": {"ST-TEST-CT"},  # the new name is not the CT name
}


@pytest.mark.parametrize("rule", sorted(SDTM_CASES))
def test_sdtm_rule_fails_on_its_case(rule):
    data = good_sdtm()
    SDTM_CASES[rule](data)
    found = check(data)
    assert rule in rules_in(found), found[["rule", "message"]].to_string()
    assert rules_in(found) <= {rule} | ALSO.get(rule, set()), found[["rule", "message"]]
    assert found["message"].str.len().min() > 20
    assert (found["fix"] != "").all()


def test_sdtm_rule_messages_name_the_record():
    data = good_sdtm()
    data["AE"].loc[0, "AEENDTC"] = "2020-01-14"
    found = check(data)
    row = found.iloc[0]
    assert (row["rule"], row["dataset"], row["variable"], row["row"]) == \
        ("DT-START-END", "AE", "AESTDTC", 1)
    assert row["message"] == ("AE record 1: AESTDTC 2020-01-15 is after AEENDTC 2020-01-14 "
                              "[DT-START-END]")


def test_overall_response_pd_needs_any_component():
    for test, value in (("TRGRESP", "PD"), ("NTRGRESP", "PD"), ("NEWLPROG", "Y")):
        data = good_sdtm()
        _rs_set("S1-001", 2.0, test, value)(data)
        assert "ONC-OVRL-PD" in rules_in(check(data)), test


def test_new_lesion_in_tr_only_counts_too():
    data = good_sdtm()
    data["TU"] = data["TU"][data["TU"].TUSTRESC != "NEW"].reset_index(drop=True)
    _rs_set("S1-001", 3.0, "OVRLRESP", "SD")(data)
    _rs_set("S1-001", 3.0, "NEWLPROG", "N")(data)
    found = check(data)
    assert rules_in(found) == {"ONC-LINK", "ONC-NEW-LESION"}  # N1 is no longer in TU
    msg = found.loc[found.rule == "ONC-NEW-LESION", "message"].iloc[0]
    assert "new lesion N1 (TR) first appears" in msg


def test_baseline_without_trlobxfl_uses_first_visit():
    data = good_sdtm()
    data["TR"] = data["TR"].drop(columns="TRLOBXFL")
    assert check(data).empty
    tr = data["TR"]
    data["TR"] = tr[~((tr.USUBJID == "S1-002") & (tr.VISITNUM == 1.0))].reset_index(drop=True)
    # the first remaining visit of S1-002's T1 (week 6) counts as its baseline
    assert check(data).empty


def test_evaluators_are_kept_apart():
    data = good_sdtm()
    data["TR"].loc[6, "TREVAL"] = "INDEPENDENT ASSESSOR"
    assert rules_in(check(data)) == {"ONC-LINK"}


def test_dates_compare_at_common_precision():
    a = np.array(["2020-01", "2020-02", "2020-01-15T10:00", "2020", "", "2020---15", "x"],
                 dtype=object)
    b = np.array(["2020-01-15", "2020-01-31", "2020-01-15", "2019-12-31", "2020", "2020-01-01",
                  "2020"], dtype=object)
    assert compare_iso(a, b).tolist() == [0, 1, 0, 1, 0, 0, 0]


ADAM_CASES = {
    "XD-ADSL-MISSING": _drop("ADSL"),
    "AD-ADSL-DUP": _append("ADSL"),
    "AD-USUBJID-ADSL": _set("ADRS", "USUBJID", 2, "S1-999"),
    "AD-PARAM": _set("ADRS", "PARAM", 2, "Overall Response"),
    "AD-CNSR": _set("ADTTE", "CNSR", 1, -1.0),
    "AD-EVNTDESC": _set("ADTTE", "EVNTDESC", 0, ""),
    "AD-TTE-AVAL": _set("ADTTE", "AVAL", 0, -3.0),
    "AD-ADT-WINDOW": _set("ADRS", "ADT", 0, pd.Timestamp("2019-10-01")),
    "AD-FLAG": _set("ADRS", "ANL01FL", 0, "YES"),
    "AD-POPFL-NULL": _set("ADSL", "SAFFL", 1, ""),
    "AD-SRCDOM": _set("ADRS", "SRCDOM", 0, ""),
    "AD-SRCVAR": lambda d: d.__setitem__("ADRS", d["ADRS"].drop(columns="SRCVAR")),
}
ADAM_ALSO = {"XD-ADSL-MISSING": {"AD-USUBJID-ADSL"}, "AD-ADSL-DUP": {"ST-DUP-RECORD"}}


@pytest.mark.parametrize("rule", sorted(ADAM_CASES))
def test_adam_rule_fails_on_its_case(rule):
    data = good_adam()
    ADAM_CASES[rule](data)
    found = check(data)
    assert rule in rules_in(found), found[["rule", "message"]].to_string()
    assert rules_in(found) <= {rule} | ADAM_ALSO.get(rule, set()), found[["rule", "message"]]


def test_adt_window_bounds():
    data = good_adam()
    data["ADRS"].loc[0, "ADT"] = pd.Timestamp("2019-11-11")  # TRTSDT - 60 days: allowed
    data["ADRS"].loc[1, "ADT"] = pd.Timestamp("2020-03-31")  # last contact + 30: allowed
    assert check(data).empty
    data["ADRS"].loc[1, "ADT"] = pd.Timestamp("2020-04-01")
    assert rules_in(check(data)) == {"AD-ADT-WINDOW"}


def test_cnsr_above_one_is_allowed():
    data = good_adam()
    data["ADTTE"].loc[1, "CNSR"] = 2.0  # ADaM TTE: censoring reasons are positive integers
    assert check(data).empty


def test_a_broken_rule_becomes_a_finding():
    def boom(study):
        raise KeyError("no such thing")

    found = run_checks(Study(good_sdtm()), checks=(boom,))
    assert found["rule"].tolist() == ["IO-RULE-FAILED"]
    assert "boom" in found["message"].iloc[0]


def test_every_rule_is_documented():
    doc = DOCS.read_text(encoding="utf-8")
    table_ids = set(re.findall(r"^\| `([A-Z0-9-]+)`", doc, flags=re.M))
    assert set(RULES) <= table_ids, set(RULES) - table_ids
    for rule in RULES:
        assert RULES[rule].severity in ("error", "warning", "notice")
        row = re.search(rf"^\| `{re.escape(rule)}` \| (\w+)[^|]*\|", doc, flags=re.M)
        assert row and row.group(1) == RULES[rule].severity, rule


def test_the_rule_tables_of_the_docs_are_generated_from_the_catalogue(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("build_rule_docs",
                                                  REPO / "tools" / "build_rule_docs.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main(["--check"]) == 0, "run python tools/build_rule_docs.py"
    # a stale page fails the check, and the tool rewrites it to the current one
    stale = tmp_path / "page.md"
    page = DOCS.read_text(encoding="utf-8")
    stale.write_text(page.replace("| `XD-DTHFL` | error / warning |", "| `XD-DTHFL` | error |"),
                     encoding="utf-8")
    assert tool.main(["--check", "--doc", str(stale)]) == 1
    assert tool.main(["--doc", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == page


def test_the_catalogue_drives_the_reports_and_exit_codes():
    from cdisc_convert.conformance.catalogue import INPUT_RULES, load_catalogue
    assert load_catalogue().rules is RULES  # read once
    assert INPUT_RULES == {"IO-UNREADABLE", "IO-SYMLINK", "IO-NOT-FILE", "IO-NO-DATASETS",
                           "DEF-UNSAFE", "DEF-UNREADABLE"}
    assert RULES["XD-DTHFL"].also == ("warning",)
    assert RULES["ST-EMPTY"].severity == "warning"
    assert RULES["ST-EMPTY"].fix.startswith("Do not submit empty datasets")


@pytest.mark.parametrize("data, message", [
    ({"rules": []}, "one key, 'sections'"),
    ({"sections": [{"title": "x"}]}, "a section has keys"),
    ({"sections": [{"title": "x", "rules": [{"id": "A-B", "severity": "error"}]}]},
     "rule A-B: missing keys ['checks', 'corresponds_to', 'fix', 'title']"),
    ({"sections": [{"title": "x", "rules": [dict(id="A-B", severity="fatal", title="t", fix="f",
                                                  checks="c", corresponds_to="n")]}]},
     "severity must be one of"),
    ({"sections": [{"title": "x", "rules": [dict(id="A-B", severity="error", title="t", fix="f",
                                                  checks="c", corresponds_to="n")] * 2}]},
     "rule A-B: the id appears twice"),
])
def test_a_malformed_catalogue_is_a_clear_error(data, message):
    from cdisc_convert.conformance.catalogue import parse_catalogue
    from cdisc_convert.core.errors import SpecError
    with pytest.raises(SpecError, match=re.escape(message)):
        parse_catalogue(data)


# --------------------------------------------------------------------------- file-level rules
def _dm_frame() -> pd.DataFrame:
    return good_sdtm()["DM"]


def _write(folder: Path, frame: pd.DataFrame, name: str, file: str | None = None, **kw) -> Path:
    path = folder / (file or f"{name.lower()}.xpt")
    write_xpt(frame, path, name=name, label=kw.pop("label", name), **kw)
    return path


def _rules_of(folder) -> set[str]:
    return rules_in(validate_folder(folder).findings)


def test_file_name_must_match_dataset(tmp_path):
    _write(tmp_path, _dm_frame(), "DM")
    assert "ST-FILENAME" not in _rules_of(tmp_path)
    _write(tmp_path, good_sdtm()["AE"], "AE", file="ex.xpt")
    found = validate_folder(tmp_path).findings
    hit = found[found.rule == "ST-FILENAME"]
    assert hit["dataset"].tolist() == ["EX"] and "holds dataset AE" in hit["message"].iloc[0]


def test_dataset_json_name_is_checked(tmp_path):
    from cdisc_convert.io.datasetjson import write_dataset_json

    write_dataset_json(_dm_frame(), tmp_path / "dm.json", name="DM", label="Demographics")
    assert "ST-FILENAME" not in _rules_of(tmp_path)
    write_dataset_json(_dm_frame(), tmp_path / "ae.json", name="DM", label="Demographics")
    assert "ST-FILENAME" in _rules_of(tmp_path)


def test_file_name_case(tmp_path):
    _write(tmp_path, _dm_frame(), "DM")
    assert "ST-FILENAME-CASE" not in _rules_of(tmp_path)
    (tmp_path / "dm.xpt").rename(tmp_path / "DM.xpt")
    assert "ST-FILENAME-CASE" in _rules_of(tmp_path)


def test_one_dataset_per_xpt(tmp_path):
    a = _write(tmp_path, _dm_frame(), "DM")
    assert "ST-XPT-MEMBERS" not in _rules_of(tmp_path)
    b = _write(tmp_path / "..", good_sdtm()["AE"], "AE", file="other_ae.xpt")
    a.write_bytes(a.read_bytes() + b.read_bytes()[240:])  # a second member after the first
    b.unlink()
    found = validate_folder(tmp_path).findings
    assert "ST-XPT-MEMBERS" in rules_in(found)


def test_xpt_size_limit(tmp_path, monkeypatch):
    _write(tmp_path, _dm_frame(), "DM")
    assert "ST-XPT-SIZE" not in _rules_of(tmp_path)
    monkeypatch.setattr(folder_inputs, "MAX_XPT_BYTES", 1000)
    assert "ST-XPT-SIZE" in _rules_of(tmp_path)


def test_csv_repeated_column(tmp_path):
    _dm_frame().to_csv(tmp_path / "dm.csv", index=False)
    assert "ST-DUP-COLUMN" not in _rules_of(tmp_path)
    text = (tmp_path / "dm.csv").read_text().splitlines()
    text = [line + ("," + line.split(",")[1]) for line in text]  # DOMAIN twice
    (tmp_path / "dm.csv").write_text("\n".join(text) + "\n")
    found = validate_folder(tmp_path).findings
    assert found.loc[found.rule == "ST-DUP-COLUMN", "variable"].tolist() == ["DOMAIN"]


def test_json_repeated_key(tmp_path):
    from cdisc_convert.io.datasetjson import write_dataset_json

    write_dataset_json(_dm_frame(), tmp_path / "dm.json", name="DM", label="Demographics")
    assert "ST-JSON-DUPKEY" not in _rules_of(tmp_path)
    corpus = REPO / "tests" / "bad_inputs" / "duplicate_json_keys"
    found = validate_folder(corpus).findings
    hit = found[found.rule == "ST-JSON-DUPKEY"]
    assert hit["value"].tolist() == ["label, name"]


def test_empty_dataset(tmp_path):
    _write(tmp_path, _dm_frame(), "DM")
    assert "ST-EMPTY" not in _rules_of(tmp_path)
    _write(tmp_path, good_sdtm()["AE"].iloc[:0], "AE")
    assert "ST-EMPTY" in _rules_of(tmp_path)


def test_declared_length_against_study(tmp_path):
    _write(tmp_path, _dm_frame(), "DM")
    _write(tmp_path, good_sdtm()["AE"], "AE")
    assert "ST-LENGTH-EXCESS" not in _rules_of(tmp_path)
    _write(tmp_path, good_sdtm()["AE"], "AE", lengths={"AETERM": 60, "USUBJID": 6})
    found = validate_folder(tmp_path).findings
    hit = found[found.rule == "ST-LENGTH-EXCESS"]
    assert hit[["dataset", "variable", "value"]].values.tolist() == [["AE", "AETERM", "60"]]


def test_xpt_limits_checked_whatever_the_format(tmp_path):
    frame = _dm_frame()
    frame.to_csv(tmp_path / "dm.csv", index=False)
    assert not {"XPT-NAME", "XPT-LENGTH"} & _rules_of(tmp_path)
    frame.assign(LONGNAME9="x", RACE="W" * 201).to_csv(tmp_path / "dm.csv", index=False)
    found = validate_folder(tmp_path).findings
    assert {"XPT-NAME", "XPT-LENGTH", "SD-LENGTH"} <= rules_in(found)
    name = found[found.rule == "XPT-NAME"]
    assert name["variable"].tolist() == ["LONGNAME9"]


def test_adam_dates_are_numbers_in_storage(tmp_path):
    # ADaM dates are datetime64 in memory; as stored they are SAS numbers: no SD-TYPE
    from cdisc_convert.io.folder import write_dataset_files

    for name, frame in good_adam().items():
        write_dataset_files(frame, name, tmp_path, standard="adamig-1.3")
    found = validate_folder(tmp_path).findings
    assert "SD-TYPE" not in rules_in(found)
    assert "XPT-TYPE" not in rules_in(found)


def test_schema_rows_are_one_based(tmp_path):
    dm = _dm_frame()
    dm.loc[1, "SEX"] = "X"
    _write(tmp_path, dm.assign(SEX=["F", "X"]), "DM")
    found = validate_folder(tmp_path).findings
    hit = found[found.rule == "CT-NONEXT"].iloc[0]
    assert hit["row"] == 2 and hit["message"].startswith("DM record 2: SEX value 'X'")


def test_define_not_checked_without_checker(tmp_path, monkeypatch):
    _write(tmp_path, _dm_frame(), "DM")
    (tmp_path / "define.xml").write_text(
        '<?xml version="1.0"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3"/>')
    monkeypatch.setitem(sys.modules, "cdisc_convert.conformance.define_checks", None)
    found = validate_folder(tmp_path).findings
    assert {"DEF-NOT-CHECKED", "DEF-DATASET"} <= rules_in(found)


def test_define_unreadable(tmp_path):
    _write(tmp_path, _dm_frame(), "DM")
    (tmp_path / "define.xml").write_text("<ODM><unclosed></ODM>")
    result = validate_folder(tmp_path)
    assert "DEF-UNREADABLE" in rules_in(result.findings)
    assert result.exit_code == 2


# --------------------------------------------------------------------------- reports
@pytest.fixture(scope="module")
def small_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    data = good_sdtm()
    data["AE"].loc[0, "AEENDTC"] = "2020-01-14"  # an error
    data["DM"] = data["DM"].assign(SEX=["<b>F</b>", "=HYPERLINK(\"x\")"])  # hostile values
    for name, frame in data.items():
        frame.to_csv(folder / f"{name.lower()}.csv", index=False)
    return validate_folder(folder)


def test_result_exit_code_and_summary(small_result):
    assert small_result.exit_code == 1
    summary = small_result.summary()
    assert list(summary.columns) == ["rule", "severity", "dataset", "count", "title"]
    assert summary["count"].sum() == len(small_result.findings)
    assert "exit code 1" in small_result.summary_line()
    f = small_result.findings
    assert list(f.columns) == V.REPORT_COLUMNS
    assert f["severity"].isin(["error", "warning", "notice"]).all()
    assert f["fix"].str.len().min() > 0


def test_reports_are_written_and_deterministic(small_result, tmp_path):
    for fmt in ("html", "json", "csv"):
        a = write_report(small_result, tmp_path / f"a.{fmt}", fmt)
        b = write_report(small_result, tmp_path / f"b.{fmt}", fmt)
        assert a.read_bytes() == b.read_bytes(), fmt
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["exit_code"] == 1 and len(doc["findings"]) == len(small_result.findings)
    assert doc["findings"][0].keys() >= {"rule", "severity", "dataset", "variable", "row",
                                          "value", "message", "fix"}
    csv = pd.read_csv(tmp_path / "a.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == V.REPORT_COLUMNS and len(csv) == len(small_result.findings)


def test_html_report_is_escaped_and_grouped(small_result, tmp_path):
    page = write_report(small_result, tmp_path / "r.html", "html").read_text()
    assert "<b>F</b>" not in page and "&lt;b&gt;F&lt;/b&gt;" in page
    assert "Summary by rule" in page and '<details open id="DT-START-END">' in page
    assert page.count("<h3>") == small_result.findings["dataset"].nunique()


def test_xlsx_report(small_result, tmp_path):
    from openpyxl import load_workbook

    path = write_report(small_result, tmp_path / "r.xlsx", "xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Summary", "Findings"]
    rows = list(wb["Findings"].values)
    assert list(rows[0]) == V.REPORT_COLUMNS and len(rows) == len(small_result.findings) + 1
    cells = [c for r in wb["Findings"].iter_rows() for c in r if isinstance(c.value, str)
             and c.value.startswith("=")]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula


def test_unknown_report_format(small_result, tmp_path):
    from cdisc_convert.core.errors import CdiscError

    with pytest.raises(CdiscError):
        write_report(small_result, tmp_path / "r.pdf", "pdf")


def test_default_report_path_is_beside_the_folder(tmp_path):
    assert V.default_report_path(tmp_path / "sdtm", "html") == tmp_path / "sdtm-validation.html"


# --------------------------------------------------------------------------- our bundled study
@pytest.fixture(scope="module")
def bundled(bundled_run):
    return {"sdtm": validate_folder(bundled_run / "sdtm"),
            "adam": validate_folder(bundled_run / "adam")}


def _errors(result) -> set:
    f = result.findings[result.findings.severity == "error"]
    return {(r.rule, r.dataset, r.variable, None if pd.isna(r.row) else int(r.row))
            for r in f.itertuples()}


def test_bundled_study_has_zero_errors(bundled):
    """The pipeline's own outputs validate with no error finding (SDTM and ADaM)."""
    assert _errors(bundled["sdtm"]) == set()
    assert _errors(bundled["adam"]) == set()
    assert bundled["sdtm"].exit_code == 0 and bundled["adam"].exit_code == 0


def test_bundled_study_warnings(bundled):
    f = bundled["sdtm"].findings
    counts = Counter(zip(f.loc[f.severity == "warning", "rule"],
                         f.loc[f.severity == "warning", "dataset"]))
    # none: every serious AE carries its criterion (AESHOSP, or AESDTH for the fatal one), so
    # CORE CG0042's equivalent CG-AE-SERIOUS is quiet (docs/core-conformance.md). (The coding
    # table carries the MedDRA codes, DSSCAT takes CT values, and NEWLPROG's Y/N results are
    # checked against NY, their value-level codelist in specs/sdtmig-3.4/value_level_ct.yaml.)
    assert counts == {}


def test_bundled_serious_aes_carry_a_criterion(bundled_run):
    # independent of the check: read the written AE and the raw CRF table
    ae = pd.read_csv(bundled_run / "sdtm" / "ae.csv", dtype=str, keep_default_na=False)
    raw = pd.read_csv(REPO / "fixtures" / "sorafenib_dtic" / "raw" / "ae.csv", dtype=str)
    serious = ae[ae["AESER"] == "Y"]
    assert len(serious) == (raw["AESER"] == "Yes").sum() == 7
    assert set(serious["AESHOSP"]) == {"Y"}
    assert set(ae.loc[ae["AESER"] == "N", "AESHOSP"]) == {""}
    assert serious["AESDTH"].tolist().count("Y") == 1          # the grade 5 febrile neutropenia


def test_bundled_study_is_fast(bundled):
    assert bundled["sdtm"].seconds < 30 and bundled["adam"].seconds < 30


# --------------------------------------------------------------------------- CDISC example
#: Every finding on the CDISC Dataset-JSON example study besides define.xml ones:
#: (rule, dataset) -> count. Each is explained in docs/validation-rules.md.
REFERENCE_SDTM = {
    ("CT-NONEXT", "DM"): 1, ("SD-REQ-NULL", "AE"): 74, ("SD-TYPE", "AE"): 6,
    ("XD-RFXENDTC", "DM"): 1, ("CT-EXT", "TS"): 25, ("SD-KEY-DUP", "AE"): 15,
    ("ST-LENGTH-EXCESS", "AE"): 3, ("ST-LENGTH-EXCESS", "DM"): 3, ("ST-LENGTH-EXCESS", "EX"): 2,
    ("ST-LENGTH-EXCESS", "SUPPDM"): 7, ("ST-LENGTH-EXCESS", "TS"): 4,
    ("IO-SKIPPED", ""): 1, ("CG-AE-SERIOUS", "AE"): 1, ("CG-TS-VALCD", "TS"): 2,
}
REFERENCE_ADAM = {
    ("ST-LENGTH-EXCESS", "ADSL"): 2, ("IO-SKIPPED", ""): 1, ("SD-UNKNOWN-VAR", "ADSL"): 26,
    ("SD-UNKNOWN-VAR", "ADTTE"): 8,
}


def _define_available() -> bool:
    try:
        from cdisc_convert.conformance.define_checks import validate_define  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


@pytest.mark.parametrize("part,expected", [("sdtm", REFERENCE_SDTM), ("adam", REFERENCE_ADAM)])
def test_cdisc_example_study(reference, part, expected):
    result = validate_folder(reference / "datasetjson" / part)
    f = result.findings
    data = f[~f.rule.str.startswith("DEF-")]
    assert Counter(zip(data["rule"], data["dataset"])) == expected
    define = f[f.rule.str.startswith("DEF-")]
    if not _define_available():
        assert define["rule"].tolist() == ["DEF-NOT-CHECKED"]
    else:
        assert set(define["rule"]) <= {"DEF-XSD", "DEF-REF", "DEF-DATA", "DEF-XML"}
        if part == "sdtm":  # the known typo of the example's define (def:Standard STDTMIG)
            assert define["message"].str.contains("STDTMIG").any()
    assert result.exit_code == 1  # real errors in the example (documented)
    # every rule found there is explained in the docs' section on the example
    doc = DOCS.read_text(encoding="utf-8")
    section = doc[doc.index("## Findings on the CDISC example study"):]
    for rule in set(f["rule"]):
        assert f"`{rule}`" in section, rule


def test_cdisc_example_specific_findings(reference):
    f = validate_folder(reference / "datasetjson" / "sdtm").findings
    race = f[f.rule == "CT-NONEXT"].iloc[0]
    assert (race["variable"], race["value"], race["row"]) == ("RACE", "MULTIPLE", 8)
    rfx = f[f.rule == "XD-RFXENDTC"].iloc[0]
    assert "CDISC008" in rfx["message"] and "2014-10-31" in rfx["message"]


# ------------------------------------------------- XPT v5 limits on data that is not XPT
def test_xpt_label_and_range_limits_apply_to_json_and_csv_input(tmp_path):
    """A Dataset-JSON label over 40 characters and a CSV number outside the IBM range are
    XPT v5 offences (the data could not be submitted as XPT); the same data within limits
    passes. XPT-FORMAT and XPT-MISSING have their pass/fail tests in test_xpt.py (they can
    only arise from formats and special missing values, which these inputs do not carry)."""
    from cdisc_convert.io.datasetjson import write_dataset_json

    dm = _dm_frame()
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.mkdir()
    bad.mkdir()
    write_dataset_json(dm, good / "dm.json", name="DM", label="Demographics")
    long_label = {"USUBJID": {"label": "Unique Subject Identifier Across All Studies of the Sponsor"}}
    write_dataset_json(dm, bad / "dm.json", name="DM", label="Demographics", columns_meta=long_label)
    assert "XPT-LABEL" not in _rules_of(good)
    assert "XPT-LABEL" in _rules_of(bad)

    ok_csv, bad_csv = tmp_path / "ok_csv", tmp_path / "bad_csv"
    ok_csv.mkdir()
    bad_csv.mkdir()
    dm.to_csv(ok_csv / "dm.csv", index=False)
    dm.assign(AGE=1e300).to_csv(bad_csv / "dm.csv", index=False)
    assert "XPT-RANGE" not in _rules_of(ok_csv)
    assert "XPT-RANGE" in _rules_of(bad_csv)
