"""define.xml 2.1: build, write, validate (cdisc_convert.define)."""
from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from cdisc_convert import api
from cdisc_convert.adam.config import load_adam_config
from cdisc_convert.io.read_folder import read_folder
from cdisc_convert.io.xpt import read_xpt, write_xpt
from cdisc_convert.conformance import define_checks
from cdisc_convert.define.api import build_define, validate_define, write_define
from cdisc_convert.define.model import DefineWarning
from cdisc_convert.standards.define_xml import NS, safe_parser
from cdisc_convert.define.html import render_html
from cdisc_convert.sdtm.spec import load_study
from conftest import REPO

pytest.importorskip("odmlib", reason="the Define-XML 2.1 schema ships with odmlib")

STUDY = REPO / "mappings" / "sorafenib_dtic"
DEF = "{%s}" % NS["def"]


@pytest.fixture(scope="module")
def run(tmp_path_factory, bundled_run):
    """A copy of the bundled study's outputs, with the define of SDTM and ADaM written again
    by write_define (no DefineWarning allowed)."""
    out = tmp_path_factory.mktemp("define") / "out"
    shutil.copytree(bundled_run, out)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DefineWarning)
        for kind in ("sdtm", "adam"):
            write_define(out / kind, study=STUDY)
    return out


def _tree(path: Path):
    return etree.parse(str(path), safe_parser())


@pytest.fixture(scope="module")
def sdtm(run):
    return _tree(run / "sdtm" / "define.xml")


@pytest.fixture(scope="module")
def adam(run):
    return _tree(run / "adam" / "define.xml")


def _item(tree, oid):
    found = tree.find(f".//odm:ItemDef[@OID='{oid}']", NS)
    assert found is not None, oid
    return found


def _text(el) -> str:
    return el.findtext("odm:Description/odm:TranslatedText", namespaces=NS) or ""


def _codelist_of(tree, item):
    ref = item.find("odm:CodeListRef", NS)
    assert ref is not None, item.get("OID")
    return tree.find(f".//odm:CodeList[@OID='{ref.get('CodeListOID')}']", NS)


def _coded(codelist) -> list[str]:
    return [x.get("CodedValue") for x in codelist
            if isinstance(x.tag, str) and x.tag.endswith(("CodeListItem", "EnumeratedItem"))]


def _method_text(tree, oid) -> str:
    method = tree.find(f".//odm:MethodDef[@OID='{oid}']", NS)
    assert method is not None, oid
    return _text(method)


def _vl_ref(tree, vl_oid, where_var, value):
    """The ItemRef of value list ``vl_oid`` whose where clause is ``where_var EQ value``."""
    for ref in tree.findall(f".//def:ValueListDef[@OID='{vl_oid}']/odm:ItemRef", NS):
        wc_oid = ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
        wc = tree.find(f".//def:WhereClauseDef[@OID='{wc_oid}']", NS)
        for rc in wc.findall("odm:RangeCheck", NS):
            if (rc.get(DEF + "ItemOID").endswith(f".{where_var}")
                    and rc.get("Comparator") == "EQ"
                    and [c.text for c in rc.findall("odm:CheckValue", NS)] == [value]):
                return ref, wc
    raise AssertionError(f"no {where_var} = {value} in {vl_oid}")


# -- the bundled study ----------------------------------------------------------------------

def test_generated_defines_are_valid_and_match_their_data(run):
    for kind in ("sdtm", "adam"):
        assert validate_define(run / kind / "define.xml") == [], kind
        assert (run / kind / "define.html").is_file()


def test_ct_version_agrees_with_ts_and_the_loaded_release(run, sdtm):
    """TS.TSVCDVER, the define.xml CT Standard and the loaded CT file name one release."""
    from cdisc_convert.standards.metadata import load_ct

    release = load_ct().release
    assert release == "2025-03-28"
    ts = read_xpt(run / "sdtm" / "ts.xpt")
    cdisc = ts[ts["TSVCDREF"] == "CDISC CT"]
    assert len(cdisc) > 5 and set(cdisc["TSVCDVER"]) == {release}
    versions = {s.get("Version") for s in sdtm.findall(".//def:Standard", NS)
                if s.get("Type") == "CT" and s.get("PublishingSet") == "SDTM"}
    assert versions == {release}


def test_standards_and_datasets(sdtm, adam):
    stds = {(s.get("Name"), s.get("Type"), s.get("PublishingSet"), s.get("Version"))
            for s in sdtm.findall(".//def:Standard", NS)}
    assert ("SDTMIG", "IG", None, "3.4") in stds
    assert ("CDISC/NCI", "CT", "SDTM", "2025-03-28") in stds        # the loaded SDTM CT release
    assert ("ADaMIG", "IG", None, "1.3") in {(s.get("Name"), s.get("Type"), s.get("PublishingSet"),
                                              s.get("Version"))
                                             for s in adam.findall(".//def:Standard", NS)}
    names = [g.get("Name") for g in sdtm.findall(".//odm:ItemGroupDef", NS)]
    # trial design datasets first (SDTMIG class order), alphabetically
    assert names[:6] == ["TA", "TE", "TI", "TS", "TV", "DM"]
    assert set(names) >= {"DM", "AE", "TR", "RS", "TU", "SUPPAE", "TA", "TE", "TV", "TI", "SE",
                          "SV"}
    tr = sdtm.find(".//odm:ItemGroupDef[@Name='TR']", NS)
    assert tr.find("def:Class", NS).get("Name") == "FINDINGS"
    assert tr.get("Purpose") == "Tabulation" and tr.get("Repeating") == "Yes"
    leaf = tr.find("def:leaf", NS)
    assert leaf.get("ID") == "LF.TR" and leaf.get("{%s}href" % NS["xlink"]) == "tr.xpt"
    assert leaf.findtext("def:title", namespaces=NS) == "tr.xpt"
    ts = sdtm.find(".//odm:ItemGroupDef[@Name='TS']", NS)
    assert ts.get("IsReferenceData") == "Yes" and ts.get("Repeating") == "No"
    adtte = adam.find(".//odm:ItemGroupDef[@Name='ADTTE']", NS)
    cls = adtte.find("def:Class", NS)
    assert cls.get("Name") == "BASIC DATA STRUCTURE"
    assert cls.find("def:SubClass", NS).get("Name") == "TIME-TO-EVENT"
    assert adtte.get("Purpose") == "Analysis"


def test_dm_keys_order_and_mandatory(sdtm):
    dm = sdtm.find(".//odm:ItemGroupDef[@Name='DM']", NS)
    refs = dm.findall("odm:ItemRef", NS)
    keys = {r.get("ItemOID"): r.get("KeySequence") for r in refs if r.get("KeySequence")}
    assert keys == {"IT.DM.STUDYID": "1", "IT.DM.USUBJID": "2"}
    assert [r.get("OrderNumber") for r in refs] == [str(i) for i in range(1, len(refs) + 1)]
    columns = list(read_xpt(Path(sdtm.docinfo.URL).parent / "dm.xpt").columns)
    assert [r.get("ItemOID") for r in refs] == [f"IT.DM.{c}" for c in columns]
    mandatory = {r.get("ItemOID"): r.get("Mandatory") for r in refs}
    assert mandatory["IT.DM.SEX"] == "Yes" and mandatory["IT.DM.AGE"] == "No"


def test_model_timing_variables_have_their_class_role(sdtm):
    # MH carries MHSTRTPT/MHSTTPT, Timing variables of the Events class that SDTMIG 3.4's MH
    # table does not list: define.xml gives them their role (CORE CG0010 reported them
    # without one)
    mh = sdtm.find(".//odm:ItemGroupDef[@Name='MH']", NS)
    roles = {r.get("ItemOID"): r.get("Role") for r in mh.findall("odm:ItemRef", NS)}
    assert roles["IT.MH.MHSTRTPT"] == roles["IT.MH.MHSTTPT"] == "Timing"
    assert roles["IT.MH.MHTERM"] == "Topic" and roles["IT.MH.MHOCCUR"] == "Record Qualifier"


def test_sex_codelist_has_c_codes_and_only_the_values_in_the_data(sdtm):
    sex = _item(sdtm, "IT.DM.SEX")
    assert (sex.get("DataType"), sex.get("Length")) == ("text", "1")
    codelist = _codelist_of(sdtm, sex)
    assert codelist.find("odm:Alias", NS).get("Name") == "C66731"
    assert codelist.find("odm:Alias", NS).get("Context") == "nci:ExtCodeID"
    assert _coded(codelist) == ["F", "M"]
    female = codelist.find("odm:CodeListItem[@CodedValue='F']", NS)
    assert female.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) == "Female"
    assert female.find("odm:Alias", NS).get("Name") == "C16576"
    assert sex.find("def:Origin", NS).get("Type") == "Collected"
    assert sex.find("def:Origin", NS).get("Source") == "Investigator"


def test_lengths_and_types_follow_the_data(run, sdtm):
    dm = read_xpt(run / "sdtm" / "dm.xpt")
    usubjid = _item(sdtm, "IT.DM.USUBJID")
    assert usubjid.get("Length") == str(dm["USUBJID"].str.len().max())
    assert _item(sdtm, "IT.DM.RFSTDTC").get("DataType") == "date"
    assert _item(sdtm, "IT.DM.RFSTDTC").get("Length") is None
    seq = _item(sdtm, "IT.AE.AESEQ")
    assert seq.get("DataType") == "integer"
    assert seq.get("Length") == str(len(str(int(read_xpt(run / "sdtm" / "ae.xpt")["AESEQ"].max()))))
    visitnum = _item(sdtm, "IT.TR.VISITNUM")            # unscheduled visits: x.01
    assert (visitnum.get("DataType"), visitnum.get("SignificantDigits")) == ("float", "2")


def test_origins_and_methods_from_the_mapping_spec(sdtm):
    def origin(oid):
        return [(o.get("Type"), o.get("Source")) for o in _item(sdtm, oid).findall("def:Origin", NS)]

    assert origin("IT.AE.DOMAIN") == [("Assigned", "Sponsor")]
    assert origin("IT.DM.AGE") == [("Derived", "Sponsor")]
    assert origin("IT.AE.AESEQ") == [("Derived", "Sponsor")]
    assert origin("IT.TS.TSVAL") == [("Protocol", "Sponsor")]
    ae = sdtm.find(".//odm:ItemGroupDef[@Name='AE']", NS)
    seq_ref = ae.find("odm:ItemRef[@ItemOID='IT.AE.AESEQ']", NS)
    assert "AESTDTC, AETERM, AESPID" in _method_text(sdtm, seq_ref.get("MethodOID"))
    dy_ref = ae.find("odm:ItemRef[@ItemOID='IT.AE.AESTDY']", NS)
    assert "no day 0" in _method_text(sdtm, dy_ref.get("MethodOID"))
    tr = sdtm.find(".//odm:ItemGroupDef[@Name='TR']", NS)
    visit = _method_text(sdtm, tr.find("odm:ItemRef[@ItemOID='IT.TR.VISITNUM']", NS).get("MethodOID"))
    assert "+ 0.01" in visit and "UNSCHEDULED" in visit
    lobxfl = tr.find("odm:ItemRef[@ItemOID='IT.TR.TRLOBXFL']", NS)
    assert "on or before DM.RFXSTDTC" in _method_text(sdtm, lobxfl.get("MethodOID"))
    # AEACN is left blank when the two drugs' actions differ: a comment says so
    aeacn = _item(sdtm, "IT.AE.AEACN")
    comment = sdtm.find(f".//def:CommentDef[@OID='{aeacn.get(DEF + 'CommentOID')}']", NS)
    assert "AEACNSOR = AEACNDTI" in _text(comment) and "blank" in _text(comment)


def test_meddra_is_an_external_codelist_and_coded_terms_are_assigned(sdtm):
    """study.yaml's dictionaries: the coded AE variables reference one ExternalCodeList per
    data type (Define-XML 2.1), with the declared version, and their origin is Assigned."""
    for oid, datatype in [("IT.AE.AEDECOD", "text"), ("IT.AE.AESOC", "text"),
                          ("IT.AE.AEPTCD", "integer"), ("IT.AE.AELLTCD", "integer")]:
        item = _item(sdtm, oid)
        codelist = _codelist_of(sdtm, item)
        ext = codelist.find("odm:ExternalCodeList", NS)
        assert (ext.get("Dictionary"), ext.get("Version")) == ("MedDRA", "18.0"), oid
        assert codelist.get("DataType") == datatype == item.get("DataType")
        assert [(o.get("Type"), o.get("Source")) for o in item.findall("def:Origin", NS)] == \
            [("Assigned", "Sponsor")], oid
    # the verbatim term stays Collected and has no dictionary
    aeterm = _item(sdtm, "IT.AE.AETERM")
    assert aeterm.find("def:Origin", NS).get("Type") == "Collected"
    assert aeterm.find("odm:CodeListRef", NS) is None


def test_trial_design_origins(sdtm):
    """TA/TE/TV/TI come from the protocol (study.yaml); SE/SV are derived, with methods."""
    def origin(oid):
        return _item(sdtm, oid).find("def:Origin", NS).get("Type")

    assert origin("IT.TA.ARMCD") == origin("IT.TV.VISITDY") == origin("IT.TI.IETEST") == "Protocol"
    assert origin("IT.SE.SESTDTC") == origin("IT.SV.SVSTDTC") == "Derived"
    se = sdtm.find(".//odm:ItemGroupDef[@Name='SE']", NS)
    ref = se.find("odm:ItemRef[@ItemOID='IT.SE.SEENDTC']", NS)
    assert "next element" in _method_text(sdtm, ref.get("MethodOID"))


def test_every_derived_item_has_a_method(sdtm, adam):
    for tree in (sdtm, adam):
        items = {i.get("OID"): i for i in tree.findall(".//odm:ItemDef", NS)}
        for ref in tree.findall(".//odm:ItemRef", NS):
            origins = [o.get("Type") for o in items[ref.get("ItemOID")].findall("def:Origin", NS)]
            assert origins, ref.get("ItemOID")
            if "Derived" in origins:
                assert ref.get("MethodOID"), ref.get("ItemOID")
        for method in tree.findall(".//odm:MethodDef", NS):
            assert "no method text is recorded" not in _text(method), method.get("OID")


def test_tr_value_level_metadata_has_radiodensity_in_hu(sdtm):
    for variable in ("TRSTRESU", "TRORRESU"):
        ref, wc = _vl_ref(sdtm, f"VL.TR.{variable}", "TRTESTCD", "RADIODEN")
        assert wc.find("odm:RangeCheck", NS).get(DEF + "ItemOID") == "IT.TR.TRTESTCD"
        unit = _codelist_of(sdtm, _item(sdtm, ref.get("ItemOID")))
        assert _coded(unit) == ["Hounsfield Unit"]               # UNIT term C94908, "HU"
        assert unit.find("*[@CodedValue]/odm:Alias", NS).get("Name") == "C94908"
        assert unit.find("odm:Alias", NS).get("Name") == "C71620"
    for code in ("LDIAM", "LPERP", "TUMSTATE"):
        _vl_ref(sdtm, "VL.TR.TRSTRESC", "TRTESTCD", code)
    ref, _ = _vl_ref(sdtm, "VL.TR.TRSTRESU", "TRTESTCD", "LDIAM")
    assert _coded(_codelist_of(sdtm, _item(sdtm, ref.get("ItemOID")))) == ["mm"]
    ref, _ = _vl_ref(sdtm, "VL.TR.TRORRES", "TRTESTCD", "LDIAM")      # cm and mm as recorded
    assert _item(sdtm, ref.get("ItemOID")).get("DataType") == "float"
    ref, _ = _vl_ref(sdtm, "VL.TR.TRSTRESN", "TRTESTCD", "RADIODEN")
    assert "Radiodensity" in _text(_item(sdtm, ref.get("ItemOID")))


def test_a_synonym_is_declared_as_extended_value_with_its_decode():
    tr = pd.DataFrame({"STUDYID": ["S", "S"], "DOMAIN": ["TR", "TR"], "USUBJID": ["1", "1"],
                       "TRSEQ": [1.0, 2.0], "TRTESTCD": ["RADIODEN", "LDIAM"],
                       "TRTEST": ["Radiodensity", "Longest Diameter"], "TRORRES": ["40", "12"],
                       "TRORRESU": ["HU", "mm"]})
    tree = build_define({"TR": tr}, standard="sdtmig-3.4", study_oid="S", study_name="S",
                        creation_datetime="2024-01-01T00:00:00Z")
    ref, _ = _vl_ref(tree, "VL.TR.TRORRESU", "TRTESTCD", "RADIODEN")
    unit = _codelist_of(tree, _item(tree, ref.get("ItemOID")))
    hu = unit.find("odm:CodeListItem", NS)
    assert (hu.get("CodedValue"), hu.get(DEF + "ExtendedValue")) == ("HU", "Yes")
    assert hu.findtext("odm:Decode/odm:TranslatedText", namespaces=NS) == "Hounsfield Unit"
    assert _item(tree, "IT.TR.TRORRES.RADIODEN").get("DataType") == "integer"


def test_rs_value_level_metadata_by_criterion_and_test(sdtm):
    refs = sdtm.findall(".//def:ValueListDef[@OID='VL.RS.RSSTRESC']/odm:ItemRef", NS)
    assert len(refs) == 8          # 2 RSCAT x 4 RSTESTCD
    newl = _item(sdtm, "IT.RS.RSSTRESC.RECIST_1.1.NEWLPROG")
    assert _codelist_of(sdtm, newl).find("odm:Alias", NS).get("Name") == "C66742"     # NY
    wc = sdtm.find(".//def:WhereClauseDef[@OID='WC.RS.RSCAT.EQ.RECIST_1.1.RSTESTCD.EQ.OVRLRESP']",
                   NS)
    checks = [(rc.get(DEF + "ItemOID"), rc.findtext("odm:CheckValue", namespaces=NS))
              for rc in wc.findall("odm:RangeCheck", NS)]
    assert checks == [("IT.RS.RSCAT", "RECIST 1.1"), ("IT.RS.RSTESTCD", "OVRLRESP")]
    ovr = _codelist_of(sdtm, _item(sdtm, "IT.RS.RSSTRESC.RECIST_1.1.OVRLRESP"))
    assert ovr.find("odm:Alias", NS).get("Name") == "C96785" and "PR" in _coded(ovr)
    # the variable itself holds ONCRSR and NY values: its codelists are at value level
    assert _item(sdtm, "IT.RS.RSSTRESC").find("odm:CodeListRef", NS) is None


def test_supplemental_qualifiers_have_value_level_metadata(sdtm):
    lines = _item(sdtm, "IT.SUPPDM.QVAL.PRIORLN")
    assert (lines.get("DataType"), lines.get("Length")) == ("integer", "1")
    assert _text(lines) == "Number of Prior Lines of Therapy"
    assert lines.find("def:Origin", NS).get("Type") == "Collected"
    # body surface area is a vital sign (VS), no longer a supplemental qualifier of DM
    assert sdtm.find(".//odm:ItemDef[@OID='IT.SUPPDM.QVAL.BSA']", NS) is None
    action = _item(sdtm, "IT.SUPPAE.QVAL.AEACNSOR")
    assert _codelist_of(sdtm, action).find("odm:Alias", NS).get("Name") == "C66767"   # ACN


def test_findings_results_have_value_level_metadata_per_test(sdtm):
    """VS and LB: one ItemDef per test code for the results (SDTMIG findings), the units
    converted by the mapping are Derived with the conversion as their method, the original
    result and unit Collected, with the test's name in the description."""
    for test in ("HEIGHT", "WEIGHT", "BSA"):
        _item(sdtm, f"IT.VS.VSORRES.{test}")
    weight = _item(sdtm, "IT.VS.VSSTRESN.WEIGHT")
    assert weight.find("def:Origin", NS).get("Type") == "Derived"
    assert _text(weight) == "Numeric Result/Finding in Standard Units: Weight"
    unit = _item(sdtm, "IT.VS.VSORRESU.WEIGHT")
    assert unit.find("def:Origin", NS).get("Type") == "Collected"
    assert set(_coded(_codelist_of(sdtm, unit))) == {"kg", "LB"}
    refs = sdtm.findall(".//def:ValueListDef[@OID='VL.LB.LBSTRESN']/odm:ItemRef", NS)
    assert [r.get("ItemOID") for r in refs] == ["IT.LB.LBSTRESN.HGB", "IT.LB.LBSTRESN.NEUT",
                                                "IT.LB.LBSTRESN.PLAT"]
    method = sdtm.find(f".//odm:MethodDef[@OID='{refs[0].get('MethodOID')}']", NS)
    assert "converted to the unit in LBSTRESU" in _text(method)
    hgb = _item(sdtm, "IT.LB.LBSTRESN.HGB")
    assert (hgb.get("DataType"), hgb.find("def:Origin", NS).get("Type")) == ("integer", "Derived")


def test_item_oids_match_dataset_json(run, sdtm, adam):
    for tree, kind, name in ((sdtm, "sdtm", "tr"), (adam, "adam", "adsl")):
        columns = json.loads((run / kind / f"{name}.json").read_text())["columns"]
        group = tree.find(f".//odm:ItemGroupDef[@Name='{name.upper()}']", NS)
        assert [c["itemOID"] for c in columns] == [r.get("ItemOID")
                                                   for r in group.findall("odm:ItemRef", NS)]


def test_adam_dates_predecessors_and_parameters(adam):
    trtsdt = _item(adam, "IT.ADSL.TRTSDT")
    assert (trtsdt.get("DataType"), trtsdt.get(DEF + "DisplayFormat")) == ("integer", "DATE9.")
    assert _item(adam, "IT.ADSL.TRTSDTM").get(DEF + "DisplayFormat") == "DATETIME20."
    age = _item(adam, "IT.ADSL.AGE").find("def:Origin", NS)
    assert age.get("Type") == "Predecessor" and _text(age) == "DM.AGE"
    sex = _item(adam, "IT.ADTTE.SEX").find("def:Origin", NS)
    assert sex.get("Type") == "Predecessor" and _text(sex) == "ADSL.SEX"
    paramcd = _codelist_of(adam, _item(adam, "IT.ADTTE.PARAMCD"))
    assert _coded(paramcd) == ["OS", "PFS", "RSD"]
    assert paramcd.get(DEF + "IsNonStandard") == "Yes"
    ttes = {r.get("ItemOID") for r in adam.findall(".//def:ValueListDef[@OID='VL.ADTTE.AVAL']/"
                                                     "odm:ItemRef", NS)}
    assert ttes == {"IT.ADTTE.AVAL.OS", "IT.ADTTE.AVAL.PFS", "IT.ADTTE.AVAL.RSD"}


def test_adrs_methods_state_the_configured_rules(adam):
    ref, _ = _vl_ref(adam, "VL.ADRS.AVALC", "PARAMCD", "BOR")
    bor = _method_text(adam, ref.get("MethodOID"))
    assert "42 days" in bor and "MISSING" in bor
    ref, _ = _vl_ref(adam, "VL.ADRS.AVALC", "PARAMCD", "CBOR")
    cbor = _method_text(adam, ref.get("MethodOID"))
    assert "28 days" in cbor and "at most 1" in cbor
    ref, _ = _vl_ref(adam, "VL.ADRS.AVALC", "PARAMCD", "DCR")
    assert ">= 119 days" in _method_text(adam, ref.get("MethodOID"))   # 126-day landmark - 7
    ref, _ = _vl_ref(adam, "VL.ADTTE.AVAL", "PARAMCD", "PFS")
    pfs = _method_text(adam, ref.get("MethodOID"))
    # the bundled study's PFS follows the FDA censoring rules of its adam.yaml
    assert "PD = Y" in pfs and "censored at the last adequate assessment" in pfs
    assert "2 x 42 + 7 = 91 days" in pfs
    bor_avalc = _codelist_of(adam, _item(adam, "IT.ADRS.AVALC.BOR"))
    missing = bor_avalc.find("odm:CodeListItem[@CodedValue='MISSING']", NS)
    assert missing.get(DEF + "ExtendedValue") == "Yes"          # not an ONCRSR term
    comment = adam.find(".//def:CommentDef[@OID='COM.ADTR']", NS)
    assert "RECIST 1.1" in _text(comment) and "Choi" in _text(comment)


def test_methods_follow_the_config(run):
    datasets = read_folder(run / "adam")
    cfg = load_adam_config(STUDY / "adam.yaml")
    cfg.sd_min_days = 56
    tree = build_define(datasets, standard="adamig-1.3", study_oid="S", study_name="S",
                        adam_config=cfg, creation_datetime="2024-01-01T00:00:00Z")
    ref, _ = _vl_ref(tree, "VL.ADRS.AVALC", "PARAMCD", "BOR")
    text = _method_text(tree, ref.get("MethodOID"))
    assert "56 days" in text and "42 days" not in text


def test_sdtm_without_a_mapping_spec_uses_the_names(run):
    # DM and AE hold the three cases (a full define of every domain costs 10 times more)
    datasets = {k: v for k, v in read_folder(run / "sdtm").items() if k in ("DM", "AE")}
    tree = build_define(datasets, standard="sdtmig-3.4", study_oid="S", study_name="S",
                        creation_datetime="2024-01-01T00:00:00Z")
    assert _item(tree, "IT.AE.AESEQ").find("def:Origin", NS).get("Type") == "Derived"
    assert _item(tree, "IT.DM.SEX").find("def:Origin", NS).get("Type") == "Collected"
    with_spec = build_define(datasets, standard="sdtmig-3.4", study_oid="S", study_name="S",
                             study_spec=load_study(STUDY),
                             creation_datetime="2024-01-01T00:00:00Z")
    assert _item(with_spec, "IT.DM.AGE").find("def:Origin", NS).get("Type") == "Derived"


@pytest.mark.slow  # end to end: two complete define writes (also held by test_golden_outputs)
def test_rerun_is_byte_identical(run, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outputs = []
    for n in (1, 2):
        folder = tmp_path / f"copy{n}"
        shutil.copytree(run / "adam", folder)
        write_define(folder, study=STUDY)
        outputs.append(((folder / "define.xml").read_bytes(), (folder / "define.html").read_bytes()))
    assert outputs[0] == outputs[1]
    root = etree.fromstring(outputs[0][0], safe_parser())
    assert root.get("CreationDateTime") == "2023-11-14T22:13:20Z"


def test_define_elsewhere_links_to_the_data(run, tmp_path):
    out = write_define(run / "adam", tmp_path / "docs" / "define.xml", study=STUDY)
    assert (tmp_path / "docs" / "define.html").is_file()
    leaf = _tree(out).find(".//odm:ItemGroupDef[@Name='ADSL']/def:leaf", NS)
    href = leaf.get("{%s}href" % NS["xlink"])
    assert href.endswith("/adsl.xpt") and (out.parent / href).resolve() == (run / "adam" / "adsl.xpt").resolve()
    assert validate_define(out) == []


def test_write_is_all_or_nothing(run, tmp_path, monkeypatch):
    folder = tmp_path / "sdtm"
    shutil.copytree(run / "sdtm", folder)
    before = (folder / "define.xml").read_bytes()

    def broken(_tree):
        raise RuntimeError("html failed")

    monkeypatch.setattr("cdisc_convert.define.html.render_html", broken)
    with pytest.raises(RuntimeError):
        write_define(folder, study=STUDY)
    assert (folder / "define.xml").read_bytes() == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".define")]


def test_html_view_is_readable(run):
    page = (run / "sdtm" / "define.html").read_text(encoding="utf-8")
    doc = etree.HTML(page)
    headings = [("".join(h.itertext())).strip() for h in doc.iter("h2", "h3")]
    assert "TR: Tumor/Lesion Results" in headings
    assert "Value level metadata: TR.TRSTRESU" in headings
    assert any(h.startswith("Sex (CL.SEX)") for h in headings)
    assert {"Datasets", "Codelists", "Methods", "Comments"} <= set(headings)
    assert "TRTESTCD EQ 'RADIODEN'" in page
    assert doc.find(".//*[@id='MT.AE.AESEQ']") is not None


# -- the validator finds what is broken -----------------------------------------------------

@pytest.fixture()
def broken(run, tmp_path):
    folder = tmp_path / "sdtm"
    shutil.copytree(run / "sdtm", folder)
    return folder


def _edit(path: Path, change) -> None:
    tree = etree.parse(str(path), safe_parser())
    change(tree)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")


def test_validator_reports_a_removed_itemdef(broken):
    _edit(broken / "define.xml", lambda t: _item(t, "IT.DM.SEX").getparent().remove(
        _item(t, "IT.DM.SEX")))
    messages = validate_define(broken / "define.xml")
    assert "REF: ItemRef IT.DM.SEX in IG.DM points to no ItemDef" in messages
    assert "DATA: DM.SEX is in dm.xpt but not in the define" in messages


def test_validator_reports_a_wrong_length(broken):
    _edit(broken / "define.xml", lambda t: _item(t, "IT.DM.USUBJID").set("Length", "20"))
    assert validate_define(broken / "define.xml") == [
        "DATA: DM.USUBJID: define Length 20 but dm.xpt has length 17"]


def test_validator_reports_an_undeclared_codelist_value(broken):
    dm = read_xpt(broken / "dm.xpt")
    dm.loc[0, "SEX"] = "U"
    write_xpt(dm, broken / "dm.xpt", name="DM", label=dm.attrs["label"],
              labels=dm.attrs["labels"], lengths=dm.attrs["lengths"])
    assert validate_define(broken / "define.xml") == [
        "DATA: DM.SEX: value 'U' (1 record) is not declared in codelist CL.SEX"]


def test_validator_reports_value_level_and_reference_problems(broken):
    def change(tree):
        unit = _codelist_of(tree, _item(tree, "IT.TR.TRSTRESU.RADIODEN"))
        unit.find("*[@CodedValue]", NS).set("CodedValue", "HU")
        change.oid = unit.get("OID")
        _item(tree, "IT.DM.AGE").set("DataType", "text")
        ref = tree.find(".//odm:ItemRef[@ItemOID='IT.AE.AESEQ']", NS)
        ref.set("MethodOID", "MT.NOWHERE")
    _edit(broken / "define.xml", change)
    messages = validate_define(broken / "define.xml")
    assert ("DATA: TR.TRSTRESU (IT.TR.TRSTRESU.RADIODEN): value 'Hounsfield Unit' "
            f"(446 records) is not declared in codelist {change.oid}") in messages
    assert "DATA: DM.AGE: DataType text but dm.xpt stores it as numeric" in messages
    assert "REF: MethodOID MT.NOWHERE of ItemRef IT.AE.AESEQ points to no MethodDef" in messages


def test_validator_reports_schema_errors_and_missing_datasets(broken):
    _edit(broken / "define.xml", lambda t: t.find(".//odm:ItemGroupDef[@Name='DM']", NS)
          .set("Repeating", "Sometimes"))
    (broken / "mh.xpt").unlink()
    messages = validate_define(broken / "define.xml")
    assert any(m.startswith("XSD: line ") and "Repeating" in m and "Sometimes" in m
               for m in messages)
    assert "DATA: dataset MH is in the define but mh.xpt is not in " + str(broken) in messages
    assert not any("MH" in m for m in validate_define(broken / "define.xml", subset=True)
                   if m.startswith("DATA"))


def test_validator_without_odmlib_says_so(run, monkeypatch):
    monkeypatch.setattr(define_checks, "define_schema_path", lambda arm=False: None)
    messages = validate_define(run / "adam" / "define.xml")
    assert len(messages) == 1 and "odmlib" in messages[0] and messages[0].startswith("XSD:")


def test_validator_does_not_resolve_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    bad = tmp_path / "define.xml"
    bad.write_text(f'<?xml version="1.0"?><!DOCTYPE ODM [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
                   '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&x;</ODM>')
    messages = validate_define(bad, check_data=False)
    assert messages and not any("TOPSECRET" in m for m in messages)


# -- the CDISC reference defines ------------------------------------------------------------

def test_reference_sdtm_define_has_the_stdtmig_typo(reference):
    path = reference / "datasetjson" / "sdtm" / "define.xml"
    messages = validate_define(path, subset=True)
    structural = [m for m in messages if not m.startswith("DATA:")]
    assert len(structural) == 1
    assert structural[0].startswith("XSD: line 63: Element 'def:Standard', attribute 'Name'")
    assert "'STDTMIG' is not an element of the set" in structural[0]
    # and against its own data: TSVAL for SEXPOP is 'BOTH' but the define says CL.SEX, length 1
    assert [m for m in messages if m.startswith("DATA:")] == [
        "DATA: TS.TSVAL (IT.TS.TSVAL.20): value 'BOTH' (1 record) is not declared in codelist "
        "CL.SEX",
        "DATA: TS.TSVAL (IT.TS.TSVAL.20): a value of 4 bytes is longer than the value-level "
        "Length 1"]
    assert validate_define(path, check_data=False) == structural
    assert "<h2" in render_html(_tree(path))


def test_reference_adam_define_is_schema_valid(reference):
    path = reference / "datasetjson" / "adam" / "define.xml"   # holds ARM: the ARM XSD is used
    assert validate_define(path, check_data=False) == []
    assert validate_define(path, subset=True) == [
        "DATA: ADTTE.PARAM: define Length 100 but adtte.xpt has length 32",
        "DATA: ADTTE.PARAMCD: define Length 8 but adtte.xpt has length 4"]


def test_api_reads_each_xpt_once_and_gives_the_same_define(run, tmp_path, monkeypatch):
    import cdisc_convert.io.xpt as xpt_mod

    folder = tmp_path / "adam"
    shutil.copytree(run / "adam", folder)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    before = write_define(folder, study=STUDY).read_bytes()     # reads the files itself
    reads, frames = [], {}
    real = xpt_mod.read_xpt

    def counting(path, *args, **kwargs):
        reads.append(Path(path).name)
        frames[Path(path).stem.upper()] = frame = real(path, *args, **kwargs)
        return frame

    monkeypatch.setattr(xpt_mod, "read_xpt", counting)
    result = api.write_define(folder, study=STUDY)
    assert result["problems"] == []
    assert sorted(reads) == sorted(p.name for p in folder.glob("*.xpt"))     # once each
    assert (folder / "define.xml").read_bytes() == before
    # the frames shared by the writer and the checks are not changed by either: ADT stays
    # SAS day numbers (the writer works on datetimes)
    assert pd.api.types.is_float_dtype(frames["ADSL"]["TRTSDT"])
    assert frames["ADSL"]["TRTSDT"].equals(real(folder / "adsl.xpt")["TRTSDT"])


def test_value_level_checks_count_records_per_subset(broken):
    # two TRSTRESU values outside the RADIODEN subset's codelist: each named with its count
    tr = read_xpt(broken / "tr.xpt")
    density = (tr["TRTESTCD"] == "RADIODEN").to_numpy()
    first = int(density.argmax())
    tr.loc[first, "TRSTRESU"] = "HU?"
    tr.loc[first + 1, "TRSTRESU"] = "HU?"
    tr.loc[int((~density).argmax()), "TRSTRESU"] = "HU?"     # outside the subset: not counted there
    write_xpt(tr, broken / "tr.xpt", name="TR", label=tr.attrs["label"], labels=tr.attrs["labels"],
              lengths=tr.attrs["lengths"])
    messages = [m for m in validate_define(broken / "define.xml") if "RADIODEN" in m]
    assert any("value 'HU?' (2 records) is not declared" in m for m in messages), messages


@pytest.mark.parametrize("values", [
    ["a", "a", None, "b", "a", None, "c"], [None, "x", "x"], ["x"], [], [None, None],
    ["b", "a", "b", "c", "a"],
])
def test_first_rows_of_a_whole_column_agree_with_hashing(values):
    from cdisc_convert.define.profile import first_rows

    codes, _ = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    expected = [i for i, v in enumerate(values)
                if not any(values[j] == v for j in range(i))]  # first of each, None once
    assert first_rows(codes, True).tolist() == expected
    assert first_rows(codes).tolist() == expected
