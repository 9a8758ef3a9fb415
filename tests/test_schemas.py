"""Conformance checks generated from specs/ (cdisc_convert.conformance.schemas).

Each rule has a tiny hand-built dataset that passes and one that fails. The reference test
runs the checker on the pharmaverse SDTM (../shared/reference) and asserts the real issues
that data has; a slow test checks 1,000,000 TR-like records (their speed is a target of
benchmarks/run.py, not of the tests).
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from cdisc_convert.standards.metadata import load_standard
from conftest import REPO
from cdisc_convert.conformance.schemas import (
    CHECK_RULES, FINDING_COLUMNS, RULES, build_schema, check_dataset, check_folder, summarise,
)


# --------------------------------------------------------------------------- helpers
def make_dm(**overrides) -> pd.DataFrame:
    dm = pd.DataFrame({
        "STUDYID": ["S1", "S1"], "DOMAIN": ["DM", "DM"], "USUBJID": ["S1-001", "S1-002"],
        "SUBJID": ["001", "002"], "RFSTDTC": ["2014-01-02", "2014-03-10"],
        "SITEID": ["01", "01"], "SEX": ["F", "M"], "COUNTRY": ["USA", "USA"],
    })
    return dm.assign(**overrides)


def make_ae(**overrides) -> pd.DataFrame:
    """A small AE that passes every check when given DM from make_dm()."""
    ae = pd.DataFrame({
        "STUDYID": ["S1", "S1", "S1"],
        "DOMAIN": ["AE", "AE", "AE"],
        "USUBJID": ["S1-001", "S1-001", "S1-002"],
        "AESEQ": [1.0, 2.0, 1.0],
        "AETERM": ["HEADACHE", "NAUSEA", "RASH"],
        "AEDECOD": ["Headache", "Nausea", "Rash"],
        "AESEV": ["MILD", "MODERATE", "SEVERE"],
        "AESTDTC": ["2014-01-02", "2014-01-10T08:30", "2014-03"],
        "AESTDY": [1.0, 9.0, np.nan],
    })
    return ae.assign(**overrides)


def findings_of(findings: pd.DataFrame, rule: str) -> pd.DataFrame:
    return findings[findings["rule"] == rule]


def rules_of(findings: pd.DataFrame) -> set[str]:
    return set(findings["rule"])


# Variables of the AE spec that make_ae() leaves out on purpose: reported as Exp missing.
AE_EXP_MISSING = {"AELLT", "AELLTCD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD",
                  "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD", "AESER", "AEACN", "AEREL",
                  "AEENDTC"}


def test_baseline_ae_has_only_the_expected_variable_warnings():
    f = check_dataset(make_ae(), "AE", dm=make_dm())
    assert list(f.columns) == FINDING_COLUMNS
    assert rules_of(f) == {"SD-EXP-MISSING"}
    assert set(f["variable"]) == AE_EXP_MISSING
    assert (f["severity"] == "warning").all() and f["row"].isna().all()


def test_baseline_dm_is_clean():
    assert check_dataset(make_dm(), "DM", dm=make_dm()).query("rule != 'SD-EXP-MISSING'").empty


# --------------------------------------------------------------------------- the schema
def test_schema_is_generated_from_the_metadata():
    ae = load_standard("sdtmig-3.4").dataset("AE")
    schema = build_schema("AE", ae.variable_names)
    checks = schema.metadata["checks"]
    assert isinstance(schema, pa.DataFrameSchema)
    # one check per fact of the spec, named "<kind>:<variable>"
    assert "ct_nonextensible:AESEV" in checks and "ct_nonextensible:AESER" in checks  # NY
    assert "ct_extensible:EPOCH" in checks and "ct_extensible:AELOC" in checks
    assert "iso8601:AESTDTC" in checks and "iso8601:AEENDTC" in checks
    assert "type_num:AESEQ" in checks and "type_char:AETERM" in checks
    assert {f"req_not_null:{v}" for v in ae.required} <= set(checks)
    assert "domain_value:DOMAIN" in checks and "seq_unique:AESEQ" in checks
    assert "key_unique:STUDYID,USUBJID,AEDECOD,AESTDTC" in checks
    # every check kind has a rule and severity, every rule is documented
    for info in checks.values():
        assert CHECK_RULES[info.kind] == (info.rule, info.severity)
        assert info.rule in RULES
    # another domain gets its own codelists without any code for it
    tr_checks = build_schema("TR", ["TRTESTCD", "TRSTRESU"]).metadata["checks"]
    assert tr_checks["ct_extensible:TRTESTCD"].detail["codelist"] == "TRTESTCD (C96779)"
    assert "ct_extensible:TRSTRESU" in tr_checks  # UNIT


def test_schema_runs_as_a_plain_pandera_schema():
    schema = build_schema("AE", make_ae().columns)
    with pytest.raises(pa.errors.SchemaErrors) as err:
        schema.validate(make_ae(AESEV=["MILD", "Mild", "SEVERE"]), lazy=True)
    cases = err.value.failure_cases
    hit = cases[cases["check"] == "ct_nonextensible:AESEV"]
    assert hit["failure_case"].tolist() == ["Mild"] and hit["index"].tolist() == [1]


# --------------------------------------------------------------------------- rules
def test_ct_nonextensible_aesev():
    assert findings_of(check_dataset(make_ae(), "AE"), "CT-NONEXT").empty
    f = findings_of(check_dataset(make_ae(AESEV=["MILD", "Mild", ""]), "AE"), "CT-NONEXT")
    assert f[["variable", "row", "value", "severity"]].values.tolist() == [["AESEV", 1, "Mild", "error"]]
    msg = f["message"].iloc[0]
    assert "AE" in msg and "AESEV" in msg and "'Mild'" in msg and "[CT-NONEXT]" in msg
    assert "AESEV (C66769)" in msg


def test_ct_sex_codelist():
    assert findings_of(check_dataset(make_dm(SEX=["F", "U"]), "DM"), "CT-NONEXT").empty
    f = findings_of(check_dataset(make_dm(SEX=["Female", "M"]), "DM"), "CT-NONEXT")
    assert f[["variable", "row", "value"]].values.tolist() == [["SEX", 0, "Female"]]


def test_extensible_codelist_miss_is_a_warning_not_an_error():
    ok = check_dataset(make_ae(EPOCH=["SCREENING", "TREATMENT", "FOLLOW-UP"]), "AE")
    assert findings_of(ok, "CT-EXT").empty
    f = check_dataset(make_ae(EPOCH=["TREATMENT", "MAINTENANCE", "TREATMENT"]), "AE")
    ext = findings_of(f, "CT-EXT")
    assert ext[["variable", "row", "value", "severity"]].values.tolist() == [
        ["EPOCH", 1, "MAINTENANCE", "warning"]]
    assert findings_of(f, "CT-NONEXT").empty
    assert "extensible codelist EPOCH (C99079)" in ext["message"].iloc[0]


def test_numeric_results_are_not_codelist_misses():
    tr = pd.DataFrame({"TRTESTCD": ["LDIAM", "TUMSTATE", "TUMSTATE"],
                       "TRSTRESC": ["21.5", "PRESENT", "HUGE"]})
    f = findings_of(check_dataset(tr, "TR"), "CT-EXT")
    assert f[["variable", "value"]].values.tolist() == [["TRSTRESC", "HUGE"]]


def test_missing_required_column_is_a_finding_not_a_crash():
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-REQ-MISSING").empty
    f = check_dataset(make_ae().drop(columns="USUBJID"), "AE", dm=make_dm())
    miss = findings_of(f, "SD-REQ-MISSING")
    assert miss[["variable", "severity"]].values.tolist() == [["USUBJID", "error"]]
    assert miss["row"].isna().all()
    assert "required variable USUBJID is not in the dataset" in miss["message"].iloc[0]


def test_required_null():
    f = check_dataset(make_ae(AETERM=["HEADACHE", "", None], AEDECOD=["A", "  ", "C"]), "AE")
    nulls = findings_of(f, "SD-REQ-NULL")
    assert nulls[["variable", "row", "severity"]].values.tolist() == [
        ["AEDECOD", 1, "error"], ["AETERM", 1, "error"], ["AETERM", 2, "error"]]
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-REQ-NULL").empty


def test_required_null_numeric():
    f = findings_of(check_dataset(make_ae(AESEQ=[1.0, np.nan, 3.0]), "AE"), "SD-REQ-NULL")
    assert f[["variable", "row"]].values.tolist() == [["AESEQ", 1]]


def test_expected_missing_is_a_warning():
    f = findings_of(check_dataset(make_ae().drop(columns="AESTDTC"), "AE"), "SD-EXP-MISSING")
    assert "AESTDTC" in set(f["variable"]) and (f["severity"] == "warning").all()
    full = check_dataset(make_ae(), "AE")
    assert "AESTDTC" not in set(findings_of(full, "SD-EXP-MISSING")["variable"])


def test_type():
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-TYPE").empty
    f = findings_of(check_dataset(make_ae(AESEQ=["1", "2", "1"], AETERM=[1, 2, 3]), "AE"), "SD-TYPE")
    assert f[["variable", "severity"]].values.tolist() == [["AESEQ", "error"], ["AETERM", "error"]]
    assert f["row"].isna().all()
    assert "should be Num" in f["message"].iloc[0]
    # the pandas string dtype is text
    ae = make_ae()
    ae["AETERM"] = ae["AETERM"].astype("string")
    assert findings_of(check_dataset(ae, "AE"), "SD-TYPE").empty


def test_length_is_counted_in_utf8_bytes():
    ok = ["x" * 200, "é" * 100, "short"]  # 200 bytes, 200 bytes
    assert findings_of(check_dataset(make_ae(AETERM=ok), "AE"), "SD-LENGTH").empty
    long = ["x" * 201, "é" * 101, "short"]  # 201 bytes; 101 characters but 202 bytes
    f = findings_of(check_dataset(make_ae(AETERM=long), "AE"), "SD-LENGTH")
    assert f[["variable", "row", "severity"]].values.tolist() == [["AETERM", 0, "error"], ["AETERM", 1, "error"]]
    assert "202 bytes" in f["message"].iloc[1]


def test_iso8601():
    good = ["2014-01-02", "2014-01-02T10:30:15", "2014", "2014---15", "", "2014-01-02/2014-01-05"]
    ae = pd.concat([make_ae()] * 2, ignore_index=True).assign(AESEQ=range(1, 7),
                                                             AESTDY=np.nan, AESTDTC=good)
    assert findings_of(check_dataset(ae, "AE"), "SD-ISO8601").empty
    f = findings_of(check_dataset(make_ae(AESTDTC=["2014-13-01", "2014-02-30", "02JAN2014"]), "AE"),
                    "SD-ISO8601")
    assert f[["variable", "row", "value"]].values.tolist() == [
        ["AESTDTC", 0, "2014-13-01"], ["AESTDTC", 1, "2014-02-30"], ["AESTDTC", 2, "02JAN2014"]]
    assert (f["severity"] == "error").all()


def test_iso8601_applies_to_dtc_columns_outside_the_spec():
    f = findings_of(check_dataset(make_ae(AEDTC=["2014-01-02", "2014/01/02", ""]), "AE"), "SD-ISO8601")
    assert f[["variable", "row"]].values.tolist() == [["AEDTC", 1]]


def test_key_duplicate():
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-KEY-DUP").empty
    ae = make_ae(AEDECOD=["Headache", "Headache", "Rash"], AESTDTC=["2014-01-02"] * 2 + ["2014-03"])
    f = findings_of(check_dataset(ae, "AE"), "SD-KEY-DUP")
    assert f[["row", "severity"]].values.tolist() == [[1, "warning"]]
    assert f["variable"].iloc[0] == "STUDYID,USUBJID,AEDECOD,AESTDTC"
    assert f["value"].iloc[0] == "S1 | S1-001 | Headache | 2014-01-02"
    assert "repeats row 0" in f["message"].iloc[0]


def test_seq_duplicate_within_subject():
    # AESEQ 1 for two subjects is fine
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-SEQ-DUP").empty
    f = findings_of(check_dataset(make_ae(AESEQ=[1.0, 1.0, 1.0]), "AE"), "SD-SEQ-DUP")
    assert f[["variable", "row", "value", "severity"]].values.tolist() == [["AESEQ", 1, "1", "error"]]
    assert "S1-001" in f["message"].iloc[0] and "first at row 0" in f["message"].iloc[0]


def test_domain_value():
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-DOMAIN").empty
    f = findings_of(check_dataset(make_ae(DOMAIN=["AE", "XX", "AE"]), "AE"), "SD-DOMAIN")
    assert f[["variable", "row", "value"]].values.tolist() == [["DOMAIN", 1, "XX"]]


def test_rdomain_in_supp():
    supp = pd.DataFrame({"STUDYID": ["S1", "S1"], "RDOMAIN": ["AE", "AE"],
                         "USUBJID": ["S1-001", "S1-001"], "IDVAR": ["AESEQ", "AESEQ"],
                         "IDVARVAL": ["1", "2"], "QNAM": ["AETRTEM", "AETRTEM"],
                         "QLABEL": ["TREATMENT EMERGENT FLAG"] * 2, "QVAL": ["Y", "N"],
                         "QORIG": ["DERIVED"] * 2, "QEVAL": ["CLINICAL STUDY SPONSOR"] * 2})
    assert check_dataset(supp, "SUPPAE", dm=make_dm()).empty
    f = findings_of(check_dataset(supp.assign(RDOMAIN=["AE", "DM"]), "SUPPAE"), "SD-DOMAIN")
    assert f[["variable", "row", "value"]].values.tolist() == [["RDOMAIN", 1, "DM"]]


def test_study_day_against_rfstdtc():
    # make_ae: 2014-01-02 is day 1 and 2014-01-10T08:30 day 9 for RFSTDTC 2014-01-02
    assert findings_of(check_dataset(make_ae(), "AE", dm=make_dm()), "SD-DY").empty
    # before the reference there is no day 0: the day before RFSTDTC is -1
    before = make_ae(AESTDTC=["2014-01-01", "2013-12-31", "2014-03-10"], AESTDY=[-1.0, -2.0, 1.0])
    assert findings_of(check_dataset(before, "AE", dm=make_dm()), "SD-DY").empty
    bad = make_ae(AESTDY=[2.0, 9.0, 5.0])  # row 2 has a partial date: not compared
    f = findings_of(check_dataset(bad, "AE", dm=make_dm()), "SD-DY")
    assert f[["variable", "row", "value", "severity"]].values.tolist() == [["AESTDY", 0, "2", "error"]]
    assert "gives 1" in f["message"].iloc[0] and "2014-01-02" in f["message"].iloc[0]
    # without DM the cross-dataset checks are not run
    assert findings_of(check_dataset(bad, "AE"), "SD-DY").empty


def test_usubjid_in_dm():
    assert findings_of(check_dataset(make_ae(), "AE", dm=make_dm()), "SD-USUBJID-DM").empty
    ae = make_ae(USUBJID=["S1-001", "S1-999", "S1-002"])
    f = findings_of(check_dataset(ae, "AE", dm=make_dm()), "SD-USUBJID-DM")
    assert f[["variable", "row", "value", "severity"]].values.tolist() == [["USUBJID", 1, "S1-999", "error"]]
    assert "not a subject in DM" in f["message"].iloc[0]


def test_unknown_variables_are_notices_and_traceability_columns_are_not_variables():
    ae = make_ae(AEFOO=["a", "b", "c"], __table=["ae_raw.csv"] * 3, __row=[2, 3, 5])
    f = findings_of(check_dataset(ae, "AE"), "SD-UNKNOWN-VAR")
    assert f[["variable", "severity"]].values.tolist() == [["AEFOO", "notice"]]
    assert findings_of(check_dataset(make_ae(), "AE"), "SD-UNKNOWN-VAR").empty


def test_class_timing_variables_are_not_unknown():
    # SDTMIG 3.4 lets an Events domain carry the class's Timing variables its own table does
    # not list (MHSTRTPT/MHSTTPT: CM has them; VISITNUM: many domains); a name of no
    # domain's class table, or a Timing name in a special-purpose domain, still is unknown
    ae = make_ae(AESTRTPT=["BEFORE"] * 3, AESTTPT=["2020-01-01"] * 3, VISITNUM=[1.0] * 3,
                 AEXYZDTC=["2020"] * 3)
    f = findings_of(check_dataset(ae, "AE"), "SD-UNKNOWN-VAR")
    assert f["variable"].tolist() == ["AEXYZDTC"]
    dm = make_dm().assign(DMSTRTPT="BEFORE")
    assert findings_of(check_dataset(dm, "DM"), "SD-UNKNOWN-VAR")["variable"].tolist() == [
        "DMSTRTPT"]


def test_unknown_dataset_gets_the_name_based_checks():
    qs = pd.DataFrame({"DOMAIN": ["QS", "QS"], "USUBJID": ["S1-001", "S1-001"],
                       "QSSEQ": [1, 1], "QSDTC": ["2014-01-02", "2014-99-01"]})
    f = check_dataset(qs, "QSCG")
    assert rules_of(f) == {"SD-UNKNOWN-DATASET", "SD-SEQ-DUP", "SD-ISO8601"}
    assert f.loc[f["rule"] == "SD-UNKNOWN-DATASET", "severity"].tolist() == ["notice"]


def test_traceability_columns_become_source_table_and_row():
    ae = make_ae(AESEV=["MILD", "Mild", "SEVERE"], __table=["ae_raw.csv"] * 3, __row=[2, 3, 5])
    f = findings_of(check_dataset(ae, "AE"), "CT-NONEXT")
    assert f[["row", "source_table", "source_row"]].values.tolist() == [[1, "ae_raw.csv", 3]]
    assert "(raw ae_raw.csv row 3)" in f["message"].iloc[0]
    # dataset-level findings name no raw row; a frame without traceability neither
    exp = findings_of(check_dataset(ae, "AE"), "SD-EXP-MISSING")
    assert exp["source_table"].isna().all() and exp["source_row"].isna().all()
    plain = findings_of(check_dataset(make_ae(AESEV=["MILD", "Mild", "SEVERE"]), "AE"), "CT-NONEXT")
    assert plain["source_table"].isna().all() and plain["source_row"].isna().all()


def test_rows_are_positions_whatever_the_index():
    ae = make_ae(AESEV=["MILD", "Mild", "SEVERE"])
    ae.index = [10, 20, 30]
    f = findings_of(check_dataset(ae, "AE"), "CT-NONEXT")
    assert f["row"].tolist() == [1]


def test_findings_are_ordered_deterministically():
    ae = make_ae(AESEV=["Mild", "MILD", "Bad"], AESTDTC=["2014-13-01", "2014-01-10", "x"],
                 AETERM=["", "NAUSEA", "RASH"], AEFOO=1)
    first = check_dataset(ae, "AE", dm=make_dm())
    again = check_dataset(ae[list(reversed(ae.columns))], "AE", dm=make_dm())
    pd.testing.assert_frame_equal(first, again)
    # dataset-level first, then by row, variable, rule
    rows = first["row"].fillna(-1).tolist()
    assert rows == sorted(rows)
    row0 = first[first["row"] == 0]
    assert row0["variable"].tolist() == sorted(row0["variable"])


def test_check_folder_and_summarise():
    dm = make_dm(SEX=["F", "X"])
    ae = make_ae(USUBJID=["S1-001", "S1-001", "S1-404"], AESEV=["MILD", "Mild", "SEVERE"])
    f = check_folder({"dm": dm, "ae": ae})
    assert set(f["dataset"]) == {"AE", "DM"}
    assert f["dataset"].tolist() == sorted(f["dataset"])
    assert set(findings_of(f, "SD-USUBJID-DM")["value"]) == {"S1-404"}
    s = summarise(f)
    assert list(s.columns) == ["dataset", "rule", "severity", "count", "variables"]
    counts = {(r.dataset, r.rule): r.count for r in s.itertuples()}
    assert counts[("DM", "CT-NONEXT")] == 1 and counts[("AE", "CT-NONEXT")] == 1
    assert counts[("AE", "SD-USUBJID-DM")] == 1
    assert counts[("AE", "SD-EXP-MISSING")] == len(AE_EXP_MISSING)
    assert s["count"].sum() == len(f)
    assert summarise(f.iloc[:0]).empty


def test_empty_dataset_and_unknown_standard():
    f = check_dataset(pd.DataFrame(columns=["STUDYID", "DOMAIN", "USUBJID"]), "AE")
    assert findings_of(f, "SD-REQ-MISSING")["variable"].tolist() == ["AEDECOD", "AESEQ", "AETERM"]
    assert f["row"].isna().all()
    with pytest.raises(KeyError):
        check_dataset(make_ae(), "AE", standard="sdtmig-9.9")


def test_adam_pattern_variables():
    adsl = pd.DataFrame({"STUDYID": ["S1"], "USUBJID": ["S1-001"], "SUBJID": ["001"],
                         "SITEID": ["01"], "AGE": [63.0], "AGEU": ["YEARS"], "SEX": ["F"],
                         "RACE": ["WHITE"], "ARM": ["Placebo"], "TRT01P": ["Placebo"]})
    f = check_dataset(adsl, "ADSL", standard="adamig-1.3")
    assert findings_of(f, "SD-REQ-MISSING").empty  # TRT01P stands for TRTxxP
    f = check_dataset(adsl.drop(columns="TRT01P").assign(SEX="female"), "ADSL", standard="adamig-1.3")
    assert findings_of(f, "SD-REQ-MISSING")["variable"].tolist() == ["TRTxxP"]
    assert findings_of(f, "CT-NONEXT")["value"].tolist() == ["female"]


# --------------------------------------------------------------------------- real data
def _read_sdtm(path, name):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    spec = load_standard("sdtmig-3.4").dataset(name)
    for var in spec.variables.loc[spec.variables["type"] == "Num", "variable"]:
        if var in frame:
            frame[var] = pd.to_numeric(frame[var].where(frame[var] != ""))
    return frame


def test_pharmaverse_sdtm(reference):
    folder = reference / "pharmaverse" / "sdtm"
    frames = {n: _read_sdtm(folder / f"{n}.csv", n) for n in ("dm", "ae", "ex", "ds")}
    f = check_folder(frames)
    summary = {(r.dataset, r.rule, r.severity): r.count for r in summarise(f).itertuples()}
    assert summary == {
        # 605 AE records share (STUDYID, USUBJID, AEDECOD, AESTDTC) with another record,
        # in 295 groups: 310 records repeat an earlier one. They differ in AETERM/AESEQ
        # (e.g. two ERYTHEMA on 2012-08-07 for 01-701-1023): the define's key for AE
        # needs AETERM or AESEQ, or the records are true duplicates.
        ("AE", "SD-KEY-DUP", "warning"): 310,
        # 01-716-1063 AESEQ 1: AESTDTC 2013-05-09 = RFSTDTC, so AESTDY must be 1; it is 366.
        ("AE", "SD-DY", "error"): 1,
        # DSDECOD "FINAL LAB VISIT" (254) and "FINAL RETRIEVAL VISIT" (36): sponsor
        # milestones that are in none of NCOMPLT / PROTMLST / OTHEVENT (all extensible).
        ("DS", "CT-EXT", "warning"): 290,
        # AEDTC in AE, VISIT/VISITNUM in DS and VISIT/VISITNUM/VISITDY in EX are not in
        # those SDTMIG 3.4 domain tables, but they are Timing variables of the general
        # observation class, which any Events/Interventions domain may carry: no
        # SD-UNKNOWN-VAR for them (P21 SD0058 checks against the SDTM model too).
    }
    dup = findings_of(f, "SD-KEY-DUP")
    first = dup.iloc[0]
    assert (first["row"], first["value"]) == (5, "CDISCPILOT01 | 01-701-1023 | ERYTHEMA | 2012-08-07")
    assert "repeats row 4" in first["message"]
    dy = findings_of(f, "SD-DY").iloc[0]
    assert (dy["variable"], dy["row"], dy["value"]) == ("AESTDY", 970, "366")
    assert frames["ae"].loc[970, "USUBJID"] == "01-716-1063"
    ct = findings_of(f, "CT-EXT")
    assert ct["value"].value_counts().to_dict() == {"FINAL LAB VISIT": 254, "FINAL RETRIEVAL VISIT": 36}
    assert findings_of(f, "SD-UNKNOWN-VAR").empty
    # and what is clean there stays clean: every AE/EX/DS subject is in DM, --SEQ unique,
    # all dates ISO 8601, AESEV/AESER/SEX/RACE/ETHNIC... in their codelists
    assert not {"SD-USUBJID-DM", "SD-SEQ-DUP", "SD-ISO8601", "CT-NONEXT", "SD-REQ-NULL"} & rules_of(f)


# --------------------------------------------------------------------------- at scale
@pytest.fixture(scope="module")
def tr_like():
    spec = importlib.util.spec_from_file_location("tr_like", REPO / "benchmarks" / "tr_like.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tr_like


@pytest.mark.slow
def test_one_million_tr_records(tr_like):
    """Correct at scale; its speed is a target of the benchmark (benchmarks/run.py)."""
    tr, dm = tr_like(1_000_000)
    f = check_dataset(tr, "TR", dm=dm)
    # the generated records are valid: only the two Exp variables it leaves out
    assert set(zip(f["rule"], f["variable"])) == {("SD-EXP-MISSING", "TRMETHOD"),
                                                 ("SD-EXP-MISSING", "TRLOBXFL")}
    # and the same frame with 1% broken records finds exactly them
    broken = tr.copy()
    bad = np.arange(0, len(tr), 100)
    broken.loc[bad, "TRSTRESU"] = "millimetre"
    broken.loc[bad, "TRDY"] = 0.0
    f = check_dataset(broken, "TR", dm=dm)
    assert findings_of(f, "CT-EXT")["row"].tolist() == bad.tolist()
    assert findings_of(f, "SD-DY")["row"].tolist() == bad.tolist()
    assert findings_of(f, "SD-DY")["source_row"].tolist() == (bad + 1).tolist()


def test_a_small_tr_like_frame_is_valid(tr_like):
    tr, dm = tr_like(2_000)
    assert len(tr) == 2_000 and len(dm) == 20
    f = check_dataset(tr, "TR", dm=dm)
    assert set(f["rule"]) == {"SD-EXP-MISSING"}


def test_value_level_codelist_for_new_lesion_results():
    # NEWLPROG results are Y/N (NY, non-extensible); the other tests keep ONCRSR
    rs = pd.DataFrame({"STUDYID": "S", "DOMAIN": "RS", "USUBJID": "S-1",
                       "RSSEQ": [1.0, 2.0, 3.0, 4.0],
                       "RSTESTCD": ["OVRLRESP", "NEWLPROG", "NEWLPROG", "OVRLRESP"],
                       "RSTEST": ["Overall Response", "New Lesion Progression",
                                  "New Lesion Progression", "Overall Response"],
                       "RSSTRESC": ["PR", "N", "X", "Y"]})
    findings = check_dataset(rs, "RS")
    ct = findings[findings["variable"] == "RSSTRESC"].set_index("row")
    assert sorted(ct.index) == [2, 3]                      # 'PR' and 'N' pass
    assert ct.loc[2, "rule"] == "CT-NONEXT" and "NY (C66742) for RSTESTCD NEWLPROG" in ct.loc[2, "message"]
    assert ct.loc[3, "rule"] == "CT-EXT" and "ONCRSR" in ct.loc[3, "message"]


def test_unique_on_compares_values_not_objects_nor_c_strings():
    """unique_on reuses the numbering of the column checks (by object first): equal texts
    held by two objects are one key, and texts differing after a NUL are two."""
    from cdisc_convert.conformance.predicates import FACTORIZED, unique_on

    subject = np.array(["S1", "S1", "S1", "S1", "S2"], dtype=object)
    # distinct objects holding equal text, as string operations give them
    code = np.array(["".join(["A", "E"]), "".join(["A", "E"]), "a", "a\x00b", "AE"],
                    dtype=object)
    assert code[0] is not code[1]
    frame = pd.DataFrame({"USUBJID": subject, "AETERM": code})
    for cache in (None, {}):
        token = FACTORIZED.set(cache)
        try:
            ok = unique_on(["USUBJID", "AETERM"])(frame)
        finally:
            FACTORIZED.reset(token)
        assert ok.tolist() == [True, False, True, True, True]


def test_unique_on_finds_a_repeat_held_by_another_object_in_a_large_column():
    """Past 40,000 distinct objects whose values are distinct, the column numbering keeps
    each object as its own value (core.factorize): the key check still sees the repeat."""
    from cdisc_convert.conformance.predicates import FACTORIZED, unique_on

    terms = [f"K{i}" for i in range(50_000)] + ["".join(["K", "7"])]
    frame = pd.DataFrame({"USUBJID": "S1", "AETERM": np.array(terms, dtype=object)})
    token = FACTORIZED.set({})
    try:
        ok = unique_on(["USUBJID", "AETERM"])(frame)
    finally:
        FACTORIZED.reset(token)
    assert not ok.iloc[-1] and ok.iloc[:-1].all()


def test_unique_on_keys_sorted_or_not():
    """A dataset sorted by its keys (rising codes) passes without hashing its keys, and so
    does one whose keys are all distinct in another order; a repeat right after its twin,
    or one far from it, is still found."""
    from cdisc_convert.conformance.predicates import unique_on

    check = unique_on(["USUBJID", "AESEQ"])
    rising = pd.DataFrame({"USUBJID": ["S1", "S1", "S2", "S2"], "AESEQ": [1.0, 2.0, 1.0, 3.0]})
    assert check(rising).tolist() == [True, True, True, True]
    twin = pd.DataFrame({"USUBJID": ["S1", "S1", "S1", "S2"], "AESEQ": [1.0, 2.0, 2.0, 1.0]})
    assert check(twin).tolist() == [True, True, False, True]
    back = pd.DataFrame({"USUBJID": ["S1", "S2", "S1"], "AESEQ": [1.0, 1.0, 1.0]})
    assert check(back).tolist() == [True, True, False]
    unsorted = pd.DataFrame({"USUBJID": ["S1", "S2", "S1"], "AESEQ": [1.0, 1.0, 2.0]})
    assert check(unsorted).tolist() == [True, True, True]
    assert check(rising.iloc[:0]).tolist() == [] and check(rising.iloc[:1]).tolist() == [True]
