"""A study's own standards in study.yaml: CT release, sponsor terms and codelists, custom
domains, supplemental qualifiers (cdisc_convert.standards.extensions)."""
from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from cdisc_convert.conformance.schemas import check_folder
from cdisc_convert.core.errors import SpecError
from cdisc_convert.standards.extensions import study_standards, using_study
from cdisc_convert.standards.metadata import load_ct, load_standard, load_value_level_ct

# A hand-made NCI EVS release in the layout of "SDTM Terminology.txt" (tab separated): two
# codelists, one header row each, terms with synonyms.
NCI_HEADER = ("Code\tCodelist Code\tCodelist Extensible (Yes/No)\tCodelist Name\t"
              "CDISC Submission Value\tCDISC Synonym(s)\tCDISC Definition\tNCI Preferred Term")
NCI_ROWS = [
    "C66731\t\tNo\tSex\tSEX\tSex\tSex.\tCDISC SDTM Sex of Individual Terminology",
    "C16576\tC66731\t\tSex\tF\tFemale\tFemale.\tFemale",
    "C20197\tC66731\t\tSex\tM\tMale\tMale.\tMale",
    "C66742\t\tNo\tNo Yes Response\tNY\tNo Yes Response\tNY.\tCDISC SDTM Yes No Terminology",
    "C49488\tC66742\t\tNo Yes Response\tY\tYes\tYes.\tYes",
    "C49487\tC66742\t\tNo Yes Response\tN\tNo\tNo.\tNo",
    "C48660\tC66742\t\tNo Yes Response\tNA\tNA; Not Applicable\tNot applicable.\tNot Applicable",
]


def _write(folder, text: str):
    path = folder / "study.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def nci_file(tmp_path):
    path = tmp_path / "SDTM Terminology.txt"
    path.write_text("\n".join([NCI_HEADER, *NCI_ROWS]) + "\n", encoding="utf-8")
    return path


# --- CT release ---------------------------------------------------------------------------
def test_another_nci_release_file_is_loaded_like_the_bundled_one(nci_file):
    ct = load_ct(sdtm_file=nci_file, sdtm_release="2024-12-20")
    assert ct.release == "2024-12-20" and ct.files["sdtm"] == str(nci_file.resolve())
    sex = ct.codelist("SEX")
    assert (sex.code, sex.extensible, set(sex.submission_values)) == ("C66731", False, {"F", "M"})
    assert ct.codelist("NY").lookup(["Not Applicable", "yes", "NA"]).tolist() == ["NA", "Y", "NA"]
    with pytest.raises(KeyError, match="not in the loaded CT release .SDTM CT 2024-12-20"):
        ct.codelist("UNIT")                             # only what the file holds
    assert ct.codelist("DATEFL").source == "adam"      # ADaM / Define-XML CT stay bundled
    assert load_ct().release == "2025-03-28"           # the bundled one is untouched


def test_the_release_date_must_be_known(nci_file, tmp_path):
    with pytest.raises(SpecError, match="release date of this CT file is not in its name"):
        load_ct(sdtm_file=nci_file)
    dated = tmp_path / "SDTM Terminology 2024-09-27.txt"
    dated.write_bytes(nci_file.read_bytes())
    assert load_ct(sdtm_file=dated).release == "2024-09-27"


def test_a_file_that_is_not_an_nci_release(tmp_path):
    bad = tmp_path / "SDTM Terminology 2024-09-27.txt"
    bad.write_text("a\tb\n1\t2\n", encoding="utf-8")
    with pytest.raises(SpecError, match="not an NCI EVS CDISC terminology file"):
        load_ct(sdtm_file=bad)


def test_study_names_its_release(tmp_path, nci_file):
    _write(tmp_path, """\
        study: X
        ct: {sdtm: {release: "2024-12-20", file: SDTM Terminology.txt}}
        """)
    loaded = study_standards(tmp_path)
    assert loaded.ct.release == "2024-12-20" and set(loaded.ct.codelist("SEX").submission_values) == {"F", "M"}
    with using_study(tmp_path):
        assert load_ct().release == "2024-12-20"
    assert load_ct().release == "2025-03-28"


def test_a_release_that_is_not_bundled_says_what_to_do(tmp_path):
    _write(tmp_path, 'study: X\nct: {sdtm: "2024-12-20"}\n')
    with pytest.raises(SpecError, match="SDTM CT 2024-12-20 is not bundled .bundled: SDTM CT 2025-03-28") as err:
        study_standards(tmp_path)
    assert "SDTM Terminology.txt" in str(err.value)
    _write(tmp_path, 'study: X\nct: {sdtm: "2025-03-28"}\n')
    assert study_standards(tmp_path).ct.release == "2025-03-28"


# --- sponsor terms and codelists ----------------------------------------------------------
def test_sponsor_terms_and_codelists(tmp_path):
    _write(tmp_path, """\
        study: X
        codelists:
          UNIT: {extend: [tablet, mg]}
          XATOXGR:
            name: Sponsor Toxicity Grade
            terms: ["1", "2", {value: "3", decode: Severe}]
        """)
    ct = study_standards(tmp_path).ct
    unit = ct.codelist("UNIT")
    assert "tablet" in unit and "mg" in unit and len(unit) == len(load_ct().codelist("UNIT")) + 1
    grade = ct.codelist("XATOXGR")
    assert (grade.source, grade.code, grade.extensible) == ("sponsor", "", False)
    assert grade.submission_values == ("1", "2", "3") and grade.lookup("severe") == "3"
    assert "tablet" not in load_ct().codelist("UNIT")


@pytest.mark.parametrize("codelists, message", [
    ("NY: {extend: [MAYBE]}", "NY .C66742. is not extensible"),
    ("SEX: {terms: [X]}", "SEX is already a codelist of SDTM CT 2025-03-28"),
    ("NOPE: {extend: [X]}", "codelist NOPE is not in the loaded CT release"),
    ("XA: {name: x}", "needs either `extend:`"),
])
def test_codelist_mistakes(tmp_path, codelists, message):
    _write(tmp_path, f"study: X\ncodelists:\n  {codelists}\n")
    with pytest.raises(SpecError, match=message):
        study_standards(tmp_path)


# --- custom domains and SUPPQUAL ---------------------------------------------------------------
XA = """\
    study: X
    codelists:
      XAGRADE: {name: Sponsor Toxicity Grade, terms: ["1", "2", "3"]}
    custom_domains:
      XA:
        class: Findings
        label: Biopsy Findings
        structure: One record per biopsy finding per visit per subject
        keys: [STUDYID, USUBJID, XATESTCD, VISITNUM]
        variables: [STUDYID, DOMAIN, USUBJID, XASEQ, XATESTCD, XATEST, XAORRES,
                    {XAORRESU: {codelist: UNIT}}, XASTRESC, {XATOXGR: {codelist: XAGRADE}},
                    VISITNUM, XADTC]
    supp_qualifiers:
      AE: {AETRTEM: {label: Treatment Emergent Flag, codelist: NY}}
    """


def test_custom_domain_takes_its_class_variables(tmp_path):
    _write(tmp_path, XA)
    std = study_standards(tmp_path).standard
    xa = std.dataset("XA")
    assert (xa.class_, xa.label, xa.keys) == ("Findings", "Biopsy Findings",
                                             ("STUDYID", "USUBJID", "XATESTCD", "VISITNUM"))
    assert xa.variable_names[:4] == ("STUDYID", "DOMAIN", "USUBJID", "XASEQ")
    assert xa.variable("DOMAIN").value_list == ("XA",)
    testcd = xa.variable("XATESTCD")
    assert (testcd.core, testcd.type, testcd.role, testcd.codelists) == ("Req", "Char", "Topic", ())
    assert xa.variable("XAORRESU").codelists == ("UNIT",)
    assert xa.variable("XATOXGR").codelists == ("XAGRADE",)
    assert xa.variable("XADTC").label == "Date/Time of Collection"
    assert std.supp_qualifiers == {"AE": {"AETRTEM": {"label": "Treatment Emergent Flag",
                                                      "codelist": "NY"}}}
    assert "XA" not in load_standard().dataset_names


@pytest.mark.parametrize("change, message", [
    (("class: Findings", "class: Special-Purpose"), "must be one of Interventions, Events"),
    (("  XA:\n", "  QS:\n"), "QS is a dataset of sdtmig-3.4"),
    (("  XA:\n", "  XAB:\n"), "two characters"),
    (("XATEST, XAORRES", "XATEST, XAORRES, XAFOO"), "XAFOO is not a variable of the Findings class.*SUPPXA"),
    (("XATESTCD, XATEST,", "XATEST,"), "the Findings class requires XATESTCD"),
    (("{XATOXGR: {codelist: XAGRADE}}", "{XATOXGR: {codelist: NOPE}}"),
     "codelist NOPE is not in the loaded CT release .*declare a sponsor codelist"),
    (("AE: {AETRTEM", "ZZ: {AETRTEM"), "ZZ is not a dataset of sdtmig-3.4 or a custom domain"),
])
def test_custom_domain_mistakes(tmp_path, change, message):
    _write(tmp_path, XA.replace(*change))
    with pytest.raises(SpecError, match=message):
        study_standards(tmp_path)


def test_a_cdisc_domain_code_is_not_a_custom_domain(tmp_path):
    _write(tmp_path, XA.replace("  XA:\n", "  ZA:\n").replace("XA", "ZA"))
    assert study_standards(tmp_path).standard.dataset("ZA").class_ == "Findings"
    _write(tmp_path, XA.replace("  XA:\n", "  CO:\n").replace("XA", "CO"))
    with pytest.raises(SpecError, match="CO is a dataset of sdtmig-3.4"):
        study_standards(tmp_path)


def _frames():
    dm = pd.DataFrame({"STUDYID": ["X"] * 2, "DOMAIN": ["DM"] * 2, "USUBJID": ["X-1", "X-2"],
                       "SUBJID": ["1", "2"], "SITEID": ["01"] * 2, "SEX": ["F", "M"],
                       "COUNTRY": ["FRA"] * 2})
    xa = pd.DataFrame({"STUDYID": ["X"] * 3, "DOMAIN": ["XA"] * 3, "USUBJID": ["X-1", "X-1", "X-2"],
                       "XASEQ": [1.0, 2.0, 1.0], "XATESTCD": ["GRADE"] * 3,
                       "XATEST": ["Grade"] * 3, "XAORRES": ["1", "4", "2"],
                       "XAORRESU": ["tablet", "mg", "mg"], "XASTRESC": ["1", "4", "2"],
                       "XATOXGR": ["1", "4", "2"],
                       "VISITNUM": [1.0, 2.0, 1.0], "XADTC": ["2024-01-01", "2024-02-01", "2024-01-03"]})
    suppae = pd.DataFrame({"STUDYID": ["X"] * 2, "RDOMAIN": ["AE"] * 2, "USUBJID": ["X-1", "X-2"],
                           "IDVAR": ["AESEQ"] * 2, "IDVARVAL": ["1", "1"],
                           "QNAM": ["AETRTEM"] * 2, "QLABEL": ["Treatment Emergent Flag"] * 2,
                           "QVAL": ["Y", "MAYBE"], "QORIG": ["DERIVED"] * 2, "QEVAL": [""] * 2})
    return {"DM": dm, "XA": xa, "SUPPAE": suppae}


def test_checks_use_the_studys_domains_codelists_and_qualifiers(tmp_path):
    frames = _frames()
    plain = check_folder(frames)
    assert "SD-UNKNOWN-DATASET" in set(plain.loc[plain["dataset"] == "XA", "rule"])
    _write(tmp_path, XA.replace("UNIT: {extend", "X: {extend"))
    with using_study(tmp_path):
        assert "SUPPAE" in load_value_level_ct("sdtmig-3.4")
        found = check_folder(frames)
    xa = found[found["dataset"] == "XA"]
    assert "SD-UNKNOWN-DATASET" not in set(xa["rule"]) and "SD-UNKNOWN-VAR" not in set(xa["rule"])
    ct = xa[xa["rule"].str.startswith("CT-")]
    # XATOXGR 4 is not a term of the sponsor codelist (non-extensible: an error);
    # XAORRESU 'tablet' is not a UNIT term (extensible: a warning)
    assert sorted(zip(ct["variable"], ct["value"], ct["rule"])) == [
        ("XAORRESU", "tablet", "CT-EXT"), ("XATOXGR", "4", "CT-NONEXT")]
    supp = found[(found["dataset"] == "SUPPAE") & found["rule"].str.startswith("CT-")]
    assert supp[["variable", "value", "rule"]].values.tolist() == [["QVAL", "MAYBE", "CT-NONEXT"]]


def test_sponsor_term_is_accepted(tmp_path):
    _write(tmp_path, XA.replace("codelists:\n", "codelists:\n      UNIT: {extend: [tablet]}\n", 1))
    with using_study(tmp_path):
        found = check_folder(_frames())
    assert "tablet" not in set(found.loc[found["variable"] == "XAORRESU", "value"])


def test_define_describes_the_studys_domain_codelists_and_sponsor_terms(tmp_path):
    from lxml import etree

    from cdisc_convert import api
    from cdisc_convert.standards.define_xml import NS
    from cdisc_convert.io.xpt import write_xpt

    study = tmp_path / "study"
    study.mkdir()
    _write(study, XA.replace("codelists:\n", "codelists:\n      UNIT: {extend: [tablet]}\n", 1)
           .rstrip(" ") + "    raw: {tables: {}}\n")   # a whole study.yaml: its schema wants raw:
    data = tmp_path / "data"
    data.mkdir()
    frames = _frames()
    frames["XA"]["XATOXGR"] = ["1", "3", "2"]
    for name, frame in frames.items():
        write_xpt(frame, data / f"{name.lower()}.xpt", name=name, label=name)
    result = api.write_define(data, study=study)
    assert result["problems"] == []                      # XSD-valid and agrees with the data
    root = etree.parse(result["path"]).getroot()
    xa = root.find(".//odm:ItemGroupDef[@Name='XA']", NS)
    assert xa.get("{http://www.cdisc.org/ns/def/v2.1}IsNonStandard") == "Yes"
    assert xa.find("def:Class", NS).get("Name") == "FINDINGS"
    grade = root.find(".//odm:CodeList[@OID='CL.XAGRADE']", NS)
    assert grade.get("Name") == "Sponsor Toxicity Grade"
    assert [e.get("CodedValue") for e in grade] == ["1", "2", "3"]
    tablet = root.find(".//odm:CodeList[@OID='CL.UNIT']/*[@CodedValue='tablet']", NS)
    assert tablet.get("{http://www.cdisc.org/ns/def/v2.1}ExtendedValue") == "Yes"


def test_cli_validate_takes_the_study(tmp_path):
    from click.testing import CliRunner

    from cdisc_convert.cli import main
    from cdisc_convert.io.xpt import write_xpt

    _write(tmp_path, XA)
    data = tmp_path / "data"
    data.mkdir()
    for name, frame in _frames().items():
        write_xpt(frame, data / f"{name.lower()}.xpt", name=name, label=name)
    runner = CliRunner()
    out = tmp_path / "report.csv"
    plain = runner.invoke(main, ["validate", str(data), "--format", "csv", "--out", str(out)])
    assert plain.exit_code in (0, 1) and "SD-UNKNOWN-DATASET" in out.read_text()
    with_study = runner.invoke(main, ["validate", str(data), "--format", "csv", "--out", str(out),
                                      "--study", str(tmp_path)])
    assert with_study.exit_code == 1, with_study.output        # XATOXGR 4, SUPPAE QVAL MAYBE
    text = out.read_text()
    assert "SD-UNKNOWN-DATASET" not in text and "XAGRADE" in text
    assert "--study" in runner.invoke(main, ["validate", "--help"]).output


def test_ts_names_the_loaded_ct_release(tmp_path, nci_file):
    """XD-TS-CTVER: TSVCDVER of CDISC CT values must be the release the checks load."""
    from cdisc_convert import api
    from cdisc_convert.io.xpt import write_xpt

    data = tmp_path / "data"
    data.mkdir()
    frames = _frames()
    frames["TS"] = pd.DataFrame({
        "STUDYID": ["X"] * 3, "DOMAIN": ["TS"] * 3, "TSSEQ": [1.0] * 3,
        "TSPARMCD": ["SSTDTC", "TPHASE", "RANDOM"],
        "TSPARM": ["Study Start Date", "Trial Phase Classification", "Trial is Randomized"],
        "TSVAL": ["2024-01-01", "PHASE II TRIAL", "N"], "TSVALCD": ["", "C15601", "C49487"],
        "TSVCDREF": ["", "CDISC CT", "CDISC CT"], "TSVCDVER": ["", "2025-03-28", "2025-03-28"]})
    for name, frame in frames.items():
        write_xpt(frame, data / f"{name.lower()}.xpt", name=name, label=name)
    plain = api.validate_folder(data, fmt="csv", out=tmp_path / "a.csv")["findings"]
    assert "XD-TS-CTVER" not in set(plain["rule"])            # 2025-03-28 is the bundled one
    _write(tmp_path, 'study: X\nct: {sdtm: {release: "2024-12-20", file: SDTM Terminology.txt}}\n')
    found = api.validate_folder(data, fmt="csv", out=tmp_path / "b.csv", study=tmp_path)["findings"]
    ctver = found[found["rule"] == "XD-TS-CTVER"]
    assert ctver["value"].tolist() == ["2025-03-28", "2025-03-28"]
    assert "is not the loaded SDTM CT release 2024-12-20" in ctver["message"].iloc[0]
