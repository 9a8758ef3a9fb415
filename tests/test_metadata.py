"""Standard metadata and CT under specs/ (cdisc_convert.metadata, tools/build_specs.py)."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.resources import specs_dir
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, load_standard


@pytest.fixture(scope="module")
def sdtm():
    return load_standard("sdtmig-3.4")


@pytest.fixture(scope="module")
def adam():
    return load_standard("adamig-1.3")


@pytest.fixture(scope="module")
def ct():
    return load_ct()


# --- SDTMIG ------------------------------------------------------------------------------
def test_specs_live_in_the_repository(repo):
    if "CDISC_CONVERT_SPECS" in os.environ:
        pytest.skip("CDISC_CONVERT_SPECS points elsewhere")
    assert specs_dir() == repo / "specs"
    assert (specs_dir() / "sdtmig-3.4" / "keys.yaml").is_file()


def test_every_sdtmig_dataset_ships(sdtm):
    names = set(sdtm.dataset_names)
    assert len(names) == 63 and len(sdtm.variables) == 1917    # CDISC's SDTMIG v3.4 export
    assert {"DM", "VS", "LB", "EG", "CM", "SC", "SE", "SV", "TA", "TE", "TI", "TV", "RELREC",
            "SUPPQUAL", "FA", "OI", "GF"} <= names
    eg = sdtm.dataset("EG")        # the Findings class pattern of keys.yaml
    assert (eg.class_, eg.keys) == ("Findings", ("STUDYID", "USUBJID", "EGTESTCD", "VISITNUM",
                                                 "EGTPTREF", "EGTPTNUM"))
    vs = sdtm.dataset("VS")        # its own entry: the CDISC example define's VSPOS, and more
    assert (vs.class_, vs.keys) == ("Findings", ("STUDYID", "USUBJID", "VSTESTCD", "VSPOS",
                                                 "VSLOC", "VSLAT", "VISITNUM", "VSTPTREF",
                                                 "VSTPTNUM"))
    v = vs.variable("VSORRESU")
    assert (v.label, v.type, v.role, v.core, v.codelists) == (
        "Original Units", "Char", "Variable Qualifier", "Exp", ("VSRESU",))
    assert sdtm.variable("VS", "VSTESTCD").codelists == ("VSTESTCD",)
    assert sdtm.dataset("TA").keys == ("STUDYID", "ARMCD", "TAETORD")
    assert sdtm.dataset("CM").keys == ("STUDYID", "USUBJID", "CMTRT", "CMSTDTC")
    assert sdtm.dataset("RELREC").class_ == "Relationship"
    # every variable's codelists are in the release (C85495, MS.MSRESCAT, is not published)
    assert sdtm.variable("MS", "MSRESCAT").codelists == ()


def test_dm_required_variables(sdtm):
    dm = sdtm.dataset("DM")
    assert dm.label == "Demographics" and dm.class_ == "Special-Purpose"
    assert dm.structure == "One record per subject"
    assert set(dm.required) == {"STUDYID", "DOMAIN", "USUBJID", "SUBJID", "SITEID", "SEX", "COUNTRY"}
    assert {"ARMCD", "ARM", "ACTARMCD", "ACTARM", "RFSTDTC", "AGE", "AGEU", "RACE"} <= set(dm.expected)
    assert dm.variable_names[:4] == ("STUDYID", "DOMAIN", "USUBJID", "SUBJID")
    assert dm.variable("DOMAIN").value_list == ("DM",)
    assert dm.variable("AGE").type == "Num" and dm.variable("SEX").type == "Char"
    assert dm.variable("RFSTDTC").value_domain == "ISO 8601 datetime or interval"
    assert dm.variable("SEX").codelists == ("SEX",) and dm.variable("SEX").codelist_code == "C66731"
    assert dm.variable("ARMNRS").codelists == ("ARMNULRS",)  # short name differs from the variable


def test_domain_variables_have_real_names_and_order(sdtm):
    ae = sdtm.dataset("AE")
    assert "AETERM" in ae and "AEDECOD" in ae and "--TERM" not in ae
    orders = list(ae.variables["order"])
    assert orders == sorted(orders) and orders[0] == 1
    aesev = sdtm.variable("AE", "AESEV")
    assert (aesev.codelist_code, aesev.codelists, aesev.core, aesev.role) == (
        "C66769", ("AESEV",), "Perm", "Record Qualifier")
    assert sdtm.variable("AE", "AEOUT").codelists == ("OUT",)
    assert sdtm.variable("AE", "AEDECOD").value_domain == "MedDRA"
    assert sdtm.variable("TR", "TRTESTCD").codelist_code == "C96779"
    assert sdtm.variable("RS", "RSTESTCD").codelists == ("ONCRTSCD",)
    assert sdtm.variable("RS", "RSCAT").codelists == ("ONCRSCAT", "CCCAT")
    assert sdtm.variable("DS", "DSDECOD").codelists == ("NCOMPLT", "PROTMLST", "OTHEVENT")
    with pytest.raises(MetadataKeyError):
        sdtm.variable("AE", "AEFOO")


@pytest.mark.parametrize("domain, keys", [
    ("DM", ("STUDYID", "USUBJID")),
    ("AE", ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC")),
    ("EX", ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC")),
    ("MH", ("STUDYID", "USUBJID", "MHTERM", "MHSTDTC")),
    ("DS", ("STUDYID", "USUBJID", "DSSTDTC", "DSCAT", "DSSCAT", "DSDECOD")),
    ("TS", ("STUDYID", "TSPARMCD", "TSSEQ")),
    ("TU", ("STUDYID", "USUBJID", "TUTESTCD", "TUEVAL", "TUEVALID", "TULNKID")),
    ("TR", ("STUDYID", "USUBJID", "TRTESTCD", "TREVAL", "TREVALID", "TRLNKID", "VISITNUM")),
    ("RS", ("STUDYID", "USUBJID", "RSCAT", "RSTESTCD", "RSEVAL", "RSEVALID", "VISITNUM")),
    ("SUPPQUAL", ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")),
])
def test_keys(sdtm, domain, keys):
    spec = sdtm.dataset(domain)
    assert spec.keys == keys
    assert set(keys) <= set(spec.variable_names)


def test_supp_dataset_uses_suppqual(sdtm):
    supp = sdtm.dataset("suppae")
    assert supp.name == "SUPPAE" and supp.label == "Supplemental Qualifiers for AE"
    assert supp.keys[-1] == "QNAM"
    assert supp.variable_names == sdtm.dataset("SUPPQUAL").variable_names
    assert supp.variable("RDOMAIN").value_list == ("AE",)
    assert set(supp.variables["dataset"]) == {"SUPPAE"}
    assert sdtm.dataset("SUPPQUAL").variable("RDOMAIN").value_list == ()  # cache not mutated


def test_unknown_dataset_says_where_to_declare_it(sdtm):
    with pytest.raises(KeyError, match="XY is not a dataset of sdtmig-3.4") as err:
        sdtm.dataset("XY")
    assert "study.yaml under `custom_domains:`" in str(err.value)


def test_cached(sdtm):
    assert load_standard("sdtmig-3.4") is sdtm
    assert load_ct() is load_ct()


def test_overrides_add_a_studys_custom_domains(tmp_path):
    (tmp_path / "study.yaml").write_text(
        "study: X\ncustom_domains:\n  XA:\n    class: Events\n    label: Sponsor Events\n"
        "    structure: One record per event per subject\n"
        "    variables: [STUDYID, DOMAIN, USUBJID, XASEQ, {XATERM: {label: Reported Term}}, XASTDTC]\n")
    std = load_standard("sdtmig-3.4", overrides=tmp_path / "study.yaml")
    assert std.dataset("XA").class_ == "Events" and "XA" not in load_standard("sdtmig-3.4").dataset_names


# --- ADaMIG ------------------------------------------------------------------------------
def test_adsl_variables(adam):
    adsl = adam.dataset("ADSL")
    assert adsl.structure == "ADSL" and adsl.class_ == "SUBJECT LEVEL ANALYSIS DATASET"
    names = set(adsl.variable_names)
    assert {"STUDYID", "USUBJID", "SUBJID", "SITEID", "TRTSDT", "TRTEDT", "SAFFL", "ITTFL",
            "RANDDT", "DTHDT", "LSTALVDT", "TRTxxP"} <= names
    assert adsl.variable_names[:2] == ("STUDYID", "USUBJID")
    assert adsl.variable("TRTSDT").type == "Num"
    assert adsl.variable("SAFFL").value_list == ("Y", "N")
    assert adsl.variable("TRTSDTF").codelists == ("DATEFL",)
    trt = adsl.variable("TRT01P")  # placeholder names resolve
    assert (trt.template, trt.label, trt.core) == ("TRTxxP", "Planned Treatment for Period 01", "Req")
    assert adsl.variable("AGEGR1").template == "AGEGRy"


def test_bds_and_tte_variables(adam):
    bds = adam.dataset("ADRS")
    assert bds.structure == "BDS" and bds.variable_names[0] == "STUDYID"
    assert {"PARAMCD", "PARAM", "AVAL", "AVALC", "ADT", "ADTF", "AVISIT", "BASE", "CHG",
            "CNSR", "EVNTDESC", "CNSDTDSC", "STARTDT", "SRCDOM", "SRCVAR", "SRCSEQ"} <= set(bds.variable_names)
    assert bds.variable("PARAMCD").core == "Req" and bds.variable("AVAL").type == "Num"
    assert bds.variable("ADTF").codelists == ("DATEFL",)
    anl = bds.variable("ANL01FL")
    assert (anl.template, anl.label) == ("ANLzzFL", "Analysis Flag 01")
    assert bds.variable("ADT").template == ""  # exact name wins over the *DT pattern
    tte = adam.dataset("ADTTE")
    assert (tte.structure, tte.subclass) == ("TTE", "TIME-TO-EVENT")
    assert tte.variable("CNSR").type == "Num" and tte.variable("CNSR").variable_set == "Time-to-Event"


# --- controlled terminology -------------------------------------------------------------------
def test_sex(ct):
    sex = ct.codelist("SEX")
    assert (sex.code, sex.short_name, sex.extensible) == ("C66731", "SEX", False)
    assert set(sex.submission_values) == {"F", "M", "U", "INTERSEX"}
    assert ct.codelist("C66731") is not None and ct.codelist("sex").code == "C66731"


def test_lookup_synonyms_and_unknown(ct):
    sex = ct.codelist("SEX")
    values = pd.Series(["Female", "male", " F ", "Unknown", "x", None, ""], index=list("abcdefg"), name="SEX")
    got = sex.lookup(values)
    assert list(got.index) == list("abcdefg") and got.name == "SEX"
    assert got[:4].tolist() == ["F", "M", "F", "U"]
    assert got[4:].isna().all()
    assert sex.lookup("female") == "F" and np.isnan(sex.lookup("woman"))
    assert pd.isna(sex.lookup("Female", synonyms=False))
    assert pd.isna(sex.lookup("f", case_insensitive=False))
    assert sex.is_member(pd.Series(["F", "f", None, "M"])).tolist() == [True, False, False, True]


def test_lookup_na_is_a_value_and_ambiguity_is_not_resolved(ct):
    assert ct.codelist("NY").lookup(["Not Applicable", "yes", "NA"]).tolist() == ["NA", "Y", "NA"]
    unit = ct.codelist("UNIT")
    got = unit.lookup(["Pa", "PA", "pa", "HU", "MG"])
    assert got[:2].tolist() == ["Pa", "PA"] and pd.isna(got[2])
    assert got[3:].tolist() == ["Hounsfield Unit", "mg"]  # HU is a synonym, not the submission value


def test_lookup_of_one_text_agrees_with_the_series_path(ct):
    """One str and a few values take a loop of their own (no Series per step): every value
    gets from it what the lookup of a long series gives, ambiguous and unknown values
    (NaN) too."""
    values = ["Pa", "PA", "pa", "HU", "MG", " mg ", "", "   ", "Female", "x", "NA",
              "Not Applicable", "yes", None, np.nan, 1.0]
    for name in ("UNIT", "SEX", "NY"):
        codelist = ct.codelist(name)
        for options in ({}, {"synonyms": False}, {"case_insensitive": False}):
            series = codelist.lookup(pd.Series(values * 200), **options).tolist()[:len(values)]
            one = [codelist.lookup(v, **options) for v in values]
            assert [None if pd.isna(v) else v for v in one] == [
                None if pd.isna(v) else v
                for v in codelist.lookup(pd.Series(values), **options).tolist()]
            assert [None if pd.isna(v) else v for v in one] == \
                [None if pd.isna(v) else v for v in series], (name, options)


def test_oncology_codelists(ct):
    oncrsr = ct.codelist("ONCRSR")
    assert oncrsr.code == "C96785" and oncrsr.extensible
    assert {"CR", "PR", "SD", "PD", "NE", "NON-CR/NON-PD"} <= set(oncrsr.submission_values)
    cat = ct.codelist("ONCRSCAT")
    assert cat.code == "C124298" and {"RECIST 1.1", "CHOI GIST 2008"} <= set(cat.submission_values)
    assert {"LDIAM", "LPERP", "RADIODEN", "SUMDIAM", "TUMSTATE"} <= set(ct.codelist("TRTESTCD").submission_values)
    assert "TUMIDENT" in ct.codelist("TUTESTCD")
    assert {"OVRLRESP", "TRGRESP", "NTRGRESP", "NEWLPROG"} <= set(ct.codelist("ONCRTSCD").submission_values)
    assert {"TARGET", "NON-TARGET", "NEW"} <= set(ct.codelist("TUIDRS").submission_values)


@pytest.mark.parametrize("short", [
    "SEX", "RACE", "ETHNIC", "NY", "AESEV", "OUT", "ACN", "ROUTE", "UNIT", "FRM", "FREQ",
    "TRTESTCD", "TRTEST", "TUTESTCD", "TUTEST", "ONCRTSCD", "ONCRTS", "ONCRSR", "ONCRSCAT",
    "TRPROPRS", "NCOMPLT", "DSCAT", "EPOCH", "AGEU", "ARMNULRS", "LOC", "METHOD", "TSPARMCD",
    "TSPARM", "STYPE", "TPHASE", "TBLIND", "TCNTRL", "TINDTP", "TTYPE", "SEXPOP", "INTMODEL",
    "INTTYPE", "DICTNAM", "SDTMIGRS", "SDTMVRS",
    # ADaM and Define-XML CT
    "DATEFL", "TIMEFL", "DTYPE", "SBJTSTAT", "PARAMTYP", "ORIGINT", "ORIGINS", "STDNAM",
])
def test_codelists_present(ct, short):
    assert len(ct.codelist(short)) > 0


def test_every_variable_codelist_is_in_the_subset(ct, sdtm, adam):
    for std in (sdtm, adam):
        for cell in std.variables["codelist_code"]:
            for code in filter(None, cell.split(";")):
                assert code in ct, code


def test_complete_release(ct):
    assert ct.release == "2025-03-28"
    assert ct.releases == {"sdtm": "2025-03-28", "adam": "2025-03-28", "define-xml": "2025-03-28"}
    sdtm = ct.codelists[ct.codelists["source"] == "sdtm"]
    assert len(sdtm) == 1158 and (ct.terms["source"] == "sdtm").sum() == 43698
    vstestcd = ct.codelist("VSTESTCD")
    assert vstestcd.code == "C66741" and {"SYSBP", "DIABP", "HEIGHT", "WEIGHT", "BMI"} <= set(vstestcd.submission_values)
    assert ct.codelist("LBTESTCD").lookup("Hemoglobin") == "HGB"       # synonym -> value
    terms = ct.codelist("UNIT").terms.set_index("submission_value")
    assert terms.loc["mg/dL", "term_code"] == "C67015"


def test_missing_codelist_says_where_to_declare_it(ct):
    with pytest.raises(KeyError, match="not in the loaded CT release .SDTM CT 2025-03-28") as err:
        ct.codelist("XYZCL")
    assert "declare a sponsor codelist in study.yaml" in str(err.value)


def test_extensibility_and_sources(ct):
    assert not ct.codelist("NY").extensible and ct.codelist("UNIT").extensible
    assert ct.codelist("DICTNAM").source == "sdtm"  # also in Define-XML CT: SDTM wins
    assert ct.codelist("DICTNAM", source="define-xml").source == "define-xml"
    assert ct.codelist("ORIGINT").source == "define-xml"
    with pytest.raises(KeyError, match="TOXGR"):
        ct.codelist("TOXGR")


# --- the builder reproduces the committed files -------------------------------------------------
GENERATED = [
    "sdtmig-3.4/datasets.csv", "sdtmig-3.4/variables.csv",
    "adamig-1.3/datastructures.csv", "adamig-1.3/variables.csv",
    "ct/sdtm-ct.csv.gz", "ct/adam-ct.csv", "ct/define-xml-ct.csv", "ct/releases.csv",
    "ct/ts-parameters.csv", "ct/README.md",
]


def test_builder_reproduces_committed_specs(reference, repo, tmp_path):
    subprocess.run([sys.executable, str(repo / "tools" / "build_specs.py"),
                    "--reference", str(reference), "--out", str(tmp_path)],
                   check=True, capture_output=True, text=True)
    produced = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert produced == sorted(GENERATED)
    for rel in GENERATED:
        new, old = (tmp_path / rel).read_bytes(), (repo / "specs" / rel).read_bytes()
        if rel.endswith(".gz"):   # compare the table: another zlib may compress differently
            new, old = gzip.decompress(new), gzip.decompress(old)
        assert new == old, rel
