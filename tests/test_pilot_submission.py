"""`validate` and `define` on the complete CDISC pilot submission (SDTMIG 3.1.2, ADaMIG 1.0).

``../shared/reference/cdiscpilot01`` holds the pilot's 18 SDTM datasets (AE CM DM DS EX
MH RELREC SC SE SV TA TE TI TS TV SUPPAE SUPPDM SUPPDS) and 4 ADaM datasets, with their
Define-XML 1.0. Every dataset must be known (SDTMIG 3.4 ships whole), the define.xml 2.1
we write for each folder must be XSD-valid and agree with the data, and every class of
finding ``validate`` reports is listed below with why it is right: a real difference
between SDTMIG 3.1.2 (and the CT and FDA guidance of its time) and SDTMIG 3.4 with CT
2025-03-28, or a real defect of the pilot data. A new class of finding fails the test
until it is explained here. Skips when the reference folder is absent.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main
from cdisc_convert.conformance.define_checks import validate_define

#: end to end: validate and define on a whole reference submission (the full suite runs it)
pytestmark = pytest.mark.slow

VERSION = "3.1.2 vs 3.4"   # SDTMIG/ADaMIG, CT or FDA guidance moved on since the pilot
DEFECT = "pilot defect"    # wrong in the pilot data whatever the version

PILOT_SDTM = {"AE", "CM", "DM", "DS", "EX", "MH", "RELREC", "SC", "SE", "SV", "TA", "TE",
              "TI", "TS", "TV", "SUPPAE", "SUPPDM", "SUPPDS"}

#: (dataset, rule) -> (variables, kind, why). Variables are those the findings name.
SDTM_FINDINGS = {
    # -- errors ------------------------------------------------------------------------
    ("AE", "DT-AFTER-DEATH"): ("AEDTC", DEFECT,
        "01-710-1083 has an AE collected 2013-08-03, the day after DM.DTHDTC 2013-08-02"),
    ("DS", "DT-AFTER-DEATH"): ("DSDTC", DEFECT,
        "the same subject's DS record is dated 2013-08-03, after the death"),
    ("AE", "SD-DY"): ("AESTDY", DEFECT,
        "one AE starts on RFSTDTC (2013-05-09) yet carries AESTDY 366 instead of 1"),
    ("DM", "XD-RFXENDTC"): ("RFXENDTC", DEFECT,
        "6 subjects' RFXENDTC is not their last EX date (one is blank although EX has doses)"),
    ("TS", "XPT-ASCII"): ("TSVAL", DEFECT,
        "ts.xpt holds a Windows-1252 right quote (Alzheimer’s): the FDA takes ASCII XPT only"),
    ("TS", "ST-TEST-CT"): ("TSPARM", VERSION,
        "CT renamed the TSPARM of INDIC ('Trial Indication' -> 'Trial Disease/Condition "
        "Indication') and TINDTP ('Trial Indication Type' -> 'Trial Intent Type')"),
    ("TS", "XD-TS-SSTDTC"): ("TSPARMCD", VERSION,
        "SSTDTC (study start date) came with SDTMIG 3.2 CT and the FDA's TCG; the pilot predates it"),
    ("TS", "CG-TS-VALUE"): ("TSVAL", VERSION,
        "AGEMIN '50 years', AGEMAX 'No maximum' and LENGTH '26 weeks' are text: ISO 8601 "
        "durations and TSVALNF (null TSVAL with a reason, PINF for no maximum) came with "
        "SDTMIG 3.1.3"),
    # -- warnings ------------------------------------------------------------------------
    ("AE", "CG-AE-MEDDRA"): ("AEBDSYCD AEHLGTCD AEHLTCD AELLTCD AEPTCD AESOCCD", DEFECT,
        "AE is coded to MedDRA names on all 1191 records but every code column is blank"),
    ("DM", "SD-EXP-MISSING"): ("ACTARMUD ARMNRS", VERSION,
        "ARMNRS and ACTARMUD are DM variables added after SDTMIG 3.1.2 (Expected in 3.4)"),
    ("SV", "SD-EXP-MISSING"): ("SVOCCUR SVPRESP", VERSION,
        "SVPRESP/SVOCCUR are new in SDTMIG 3.4's SV"),
    ("TS", "SD-EXP-MISSING"): ("TSVALCD TSVCDREF TSVCDVER", VERSION,
        "coded TS values (TSVALCD, TSVCDREF, TSVCDVER) came with SDTMIG 3.1.3/3.2"),
    ("TS", "XD-TS-PARAM"): ("TSPARMCD", VERSION,
        "the FDA's list of expected TS parameters (ACTSUB, ADAPT, SDTIGVER, STYPE ...) "
        "postdates the pilot"),
    ("CM", "CT-EXT"): ("CMDOSFRQ CMDOSU", DEFECT,
        "CMDOSFRQ 'EVERY MORNING', 'OTHER', 'QS', 'TIS' ... and CMDOSU 'IN', '% (v/v)' are "
        "not CT spellings (CT: 'in', '%(v/v)', 'EVERY WEEK' for QS)"),
    ("DS", "CT-EXT"): ("DSDECOD", DEFECT,
        "sponsor protocol milestones 'FINAL LAB VISIT', 'FINAL RETRIEVAL VISIT' that the "
        "pilot never declared as extensions of PROTMLST"),
    ("SC", "CT-EXT"): ("SCTEST SCTESTCD", VERSION,
        "the pilot's sponsor code EDLEVEL/'EDUCATION LEVEL'; CT has since added EDULEVEL"),
    ("TA", "CT-EXT"): ("EPOCH", VERSION,
        "EPOCH 'Screening'/'Treatment' in mixed case: SDTMIG 3.1.2 had no EPOCH codelist, "
        "3.4 takes CT EPOCH (SCREENING, TREATMENT)"),
    ("TS", "CT-EXT"): ("TSPARM TSPARMCD", VERSION,
        "AGESPAN ('Age Group') left the TSPARMCD codelist, and the two renamed TSPARM "
        "values above"),
    ("AE", "SD-KEY-DUP"): ("STUDYID,USUBJID,AEDECOD,AESTDTC", DEFECT,
        "AE records repeat (USUBJID, AEDECOD, AESTDTC): the pilot's own define needed AESEQ, "
        "a surrogate, in its keys to make them unique"),
    ("CM", "SD-KEY-DUP"): ("STUDYID,USUBJID,CMTRT,CMSTDTC", DEFECT,
        "CM is not unique on the keys the pilot's define itself declares "
        "(STUDYID, USUBJID, CMTRT, CMSTDTC)"),
    ("MH", "SD-KEY-DUP"): ("STUDYID,USUBJID,MHTERM,MHSTDTC", DEFECT,
        "the duplicated MH record below"),
    ("MH", "ST-DUP-RECORD"): ("USUBJID", DEFECT,
        "MH record 290 repeats record 289 in every variable but MHSEQ"),
    ("SV", "SD-KEY-DUP"): ("STUDYID,USUBJID,VISITNUM", DEFECT,
        "01-711-1143 has two SV records for VISITNUM 9.2"),
    **{(ds, "ST-LENGTH-EXCESS"): (vars_, DEFECT,
        "XPT lengths declared longer than the longest value (often 200): the FDA asks "
        "for the longest value's length")
       for ds, vars_ in {
           "AE": "AEACN AEDECOD AEHLGT AEHLT AELLT AEOUT AESOC AETERM",
           "CM": "CMDOSFRQ CMDOSU CMROUTE",
           "DM": "AGEU DTHDTC ETHNIC RACE RFICDTC RFPENDTC RFXENDTC RFXSTDTC",
           "DS": "DSDECOD DSDTC", "MH": "MHHLGT MHHLT MHLLT",
           "RELREC": "IDVAR IDVARVAL RELID RELTYPE", "SC": "SCTEST SCTESTCD",
           "SE": "ELEMENT ETCD SEUPDES",
           "SUPPAE": "IDVAR IDVARVAL QEVAL QLABEL QNAM QORIG QVAL",
           "SUPPDM": "IDVAR IDVARVAL QEVAL QLABEL QORIG QVAL",
           "SUPPDS": "IDVAR IDVARVAL QEVAL QLABEL QNAM QORIG QVAL",
           "TA": "ELEMENT EPOCH ETCD TABRANCH TATRANS", "TE": "ELEMENT ETCD TEDUR TEENRL TESTRL",
           "TI": "IETESTCD TIRL", "TS": "TSPARM TSPARMCD TSVAL", "TV": "TVENRL TVSTRL VISIT",
       }.items()},
    # -- notices ---------------------------------------------------------------------------
    # AEDTC, CMDTC and VISIT/VISITDY/VISITNUM in AE, CM, DS, EX and MH are Timing variables
    # of the general observation class: any Events/Interventions domain may carry them
    # although SDTMIG 3.4's domain tables do not list them, so they are not reported
    ("MH", "SD-UNKNOWN-VAR"): ("MHHLGT MHHLT MHLLT MHSEV", VERSION,
        "MedDRA hierarchy and severity variables of the Events class that SDTMIG 3.4's MH "
        "table does not list"),
}

ADAM_FINDINGS = {
    ("ADQSCIBC", "AD-ADT-WINDOW"): ("ADT", VERSION,
        "week-24 retrieval visits of early terminators fall after ADSL.RFENDT; an ADaMIG 1.0 "
        "ADSL has no last-contact date (LSTALVDT) to bound them"),
    ("ADSL", "SD-UNKNOWN-VAR"): (
        "AVGDD BMIBL BMIBLGR1 COMP16FL COMP24FL COMP8FL CUMDOSE DCDECOD DCREASCD DISCONFL "
        "DISONSDT DSRAEFL DTHFL DURDIS DURDSGR1 EDUCLVL EFFFL ETHNIC HEIGHTBL MMSETOT RACEN "
        "RFENDT RFENDTC RFSTDTC TRTDUR VISIT1DT VISNUMEN WEIGHTBL", VERSION,
        "sponsor ADSL variables: ADaMIG lets a sponsor add them; its ADSL table lists only "
        "the standard ones"),
    ("ADAE", "SD-UNKNOWN-VAR"): (
        "AGE AGEGR1 AGEGR1N AOCC01FL AOCC02FL AOCC03FL AOCC04FL RACE RACEN SAFFL SEX TRTEDT "
        "TRTSDT", VERSION,
        "ADSL variables copied into ADAE, which ADaM allows, and the numbered AOCCzzFL flags"),
    ("ADQSCIBC", "SD-UNKNOWN-VAR"): (
        "AGE AGEGR1 AGEGR1N COMP24FL EFFFL ITTFL QSSEQ RACE RACEN SEX SITEGR1 VISIT VISITNUM",
        VERSION, "ADSL and SDTM variables copied into a BDS dataset, which ADaM allows"),
    ("ADTTE", "SD-UNKNOWN-VAR"): ("AGE AGEGR1 AGEGR1N RACE RACEN SAFFL SEX TRTDUR", VERSION,
        "ADSL variables copied into ADTTE, which ADaM allows"),
    ("ADQSCIBC", "ST-LENGTH-EXCESS"): ("AVISIT AWRANGE DTYPE PARAM VISIT", DEFECT,
        "XPT lengths longer than the longest value"),
    ("ADSL", "ST-LENGTH-EXCESS"): ("RFENDTC RFSTDTC", DEFECT,
        "XPT lengths longer than the longest value"),
    ("ADTTE", "ST-LENGTH-EXCESS"): ("PARAM", DEFECT, "XPT length longer than the longest value"),
}


@pytest.fixture(scope="module")
def pilot(reference):
    folder = reference / "cdiscpilot01"
    if not (folder / "sdtm" / "dm.xpt").is_file():
        pytest.skip("the CDISC pilot submission is not in the reference folder")
    return folder


@pytest.fixture(scope="module")
def defines(pilot, tmp_path_factory):
    """define.xml 2.1 for both pilot folders, written by the CLI (the folders are read-only)."""
    out = tmp_path_factory.mktemp("pilot-define")
    runner = CliRunner()
    paths = {}
    for kind, extra in (("sdtm", ["--encoding", "cp1252"]), ("adam", [])):
        path = out / f"{kind}-define.xml"
        result = runner.invoke(main, ["define", str(pilot / kind), "--out", str(path), *extra])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert result.exit_code == 0 and result.output.rstrip().endswith(": valid"), result.output
        paths[kind] = path
    return paths


def _validate(folder, out, *args):
    result = CliRunner().invoke(main, ["validate", str(folder), "--format", "json",
                                       "--out", str(out), *args])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.output
    findings = pd.DataFrame(json.loads(out.read_text(encoding="utf-8"))["findings"])
    return result.exit_code, findings


def _classes(findings: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {key: " ".join(sorted(set(g["variable"].fillna(""))))
            for key, g in findings.groupby(["dataset", "rule"])}


def test_pilot_define_xml_is_xsd_valid_and_agrees_with_the_data(pilot, defines):
    from lxml import etree

    for kind, path in defines.items():
        assert validate_define(path, check_data=False) == [], kind     # Define-XML 2.1 XSD
        root = etree.parse(str(path)).getroot()
        names = {g.get("Name") for g in root.iter("{http://www.cdisc.org/ns/odm/v1.3}ItemGroupDef")}
        files = {p.stem.upper() for p in (pilot / kind).glob("*.xpt")}
        assert names == files, kind
    assert {p.stem.upper() for p in (pilot / "sdtm").glob("*.xpt")} == PILOT_SDTM


def test_pilot_sdtm_findings_are_each_explained(pilot, defines, tmp_path):
    code, findings = _validate(pilot / "sdtm", tmp_path / "sdtm.json", "--encoding", "cp1252",
                               "--define", str(defines["sdtm"]))
    assert code == 1                                         # errors, no unreadable input
    assert not findings["rule"].isin(["SD-UNKNOWN-DATASET", "IO-RULE-FAILED"]).any()
    assert not findings["rule"].str.startswith("DEF-").any()  # our define 2.1 agrees with the data
    got = _classes(findings)
    assert set(got) == set(SDTM_FINDINGS), sorted(set(got) ^ set(SDTM_FINDINGS))
    for key, (variables, kind, why) in SDTM_FINDINGS.items():
        assert got[key] == " ".join(sorted(variables.split())), key
        assert kind in (VERSION, DEFECT) and why
    errors = findings.loc[findings["severity"] == "error", "rule"].value_counts().to_dict()
    assert errors == {"XD-RFXENDTC": 6, "DT-AFTER-DEATH": 2, "ST-TEST-CT": 2, "SD-DY": 1,
                      "XD-TS-SSTDTC": 1, "XPT-ASCII": 1, "CG-TS-VALUE": 3}


def test_pilot_sdtm_with_its_own_define_1_0(pilot, tmp_path):
    """Without --define the folder's Define-XML 1.0 is found: a notice, not unreadable input."""
    code, findings = _validate(pilot / "sdtm", tmp_path / "sdtm.json", "--encoding", "cp1252")
    assert code == 1
    define = findings[findings["dataset"] == "define.xml"]
    assert define["rule"].tolist() == ["DEF-NOT-CHECKED"]
    assert "Define-XML 1.0" in define["message"].iloc[0]


def test_pilot_adam_findings_are_each_explained(pilot, defines, tmp_path):
    code, findings = _validate(pilot / "adam", tmp_path / "adam.json",
                               "--define", str(defines["adam"]))
    assert code == 0
    assert not findings["rule"].isin(["SD-UNKNOWN-DATASET", "IO-RULE-FAILED"]).any()
    got = _classes(findings)
    assert set(got) == set(ADAM_FINDINGS), sorted(set(got) ^ set(ADAM_FINDINGS))
    for key, (variables, kind, why) in ADAM_FINDINGS.items():
        assert got[key] == " ".join(sorted(variables.split())), key
