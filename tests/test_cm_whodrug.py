"""WHODrug in CM with the generic ``dictionaries:`` mechanism (issue #13): a tiny
concomitant-medications table joined to the study's WHODrug coding table gives CMDECOD,
CMCLAS/CMCLASCD and the other ATC levels in SUPPCM, and define.xml describes every coded
variable with a ``def:ExternalCodeList Dictionary="WHODD"`` of the declared version and
origin Assigned. WHODD is WHODrug's submission value in CDISC's Dictionary Name codelist
(DICTNAM, C66788, synonym "WHODrug Global"; Define-XML CT 2025-03-28), as MedDRA's is "MedDRA".

Where the coded values go (SDTMIG 3.4 CM variable notes, CDISC's own metadata export):
CMDECOD is "equivalent to the generic drug name in WHO Drug", with the dictionary and version
given as an external codelist in define.xml; CMCLAS/CMCLASCD hold the drug class "when coding
to a single class". CM has no variables for the other ATC levels, so they are supplemental
qualifiers (SDTMIG 3.4 section 8.4); ADaM OCCDS v1.1's WHO Drug coding variables ATCy/ATCyCD
(ATC level y text and code) are copied "from SDTM CM and SUPPCM" (its WHO Drug section).

The ATC codes and texts are the WHO ATC classification's (public); the verbatim terms and
the coding table are made up here.
"""
from __future__ import annotations

import pytest
from lxml import etree

from cdisc_convert import api
from cdisc_convert.standards.define_xml import NS
from tiny_study import DM_YAML, write_study

SUBJ = "PT,SEX,START\n001,F,2024-01-10\n002,M,2024-02-01\n"
CM = ("PT,LINE,MEDNAME,INDIC,STDAT\n"
      "001,1,tylenol,headache,2024-01-02\n"
      "001,2,Zofran,nausea,2024-01-11\n"
      "002,1,omeprazole 20mg,reflux,2023-11-15\n")
WHODRUG = (
    "VERBATIM,DRUGNAME,ATC1,ATC1CD,ATC2,ATC2CD,ATC3,ATC3CD,ATC4,ATC4CD,VERSION\n"
    "tylenol,PARACETAMOL,NERVOUS SYSTEM,N,ANALGESICS,N02,OTHER ANALGESICS AND ANTIPYRETICS,"
    "N02B,ANILIDES,N02BE,GLOBAL B3 2024 MAR 1\n"
    "Zofran,ONDANSETRON,ALIMENTARY TRACT AND METABOLISM,A,ANTIEMETICS AND ANTINAUSEANTS,A04,"
    "ANTIEMETICS AND ANTINAUSEANTS,A04A,SEROTONIN (5HT3) ANTAGONISTS,A04AA,"
    "GLOBAL B3 2024 MAR 1\n"
    "omeprazole 20mg,OMEPRAZOLE,ALIMENTARY TRACT AND METABOLISM,A,DRUGS FOR ACID RELATED "
    "DISORDERS,A02,DRUGS FOR PEPTIC ULCER AND GASTRO-OESOPHAGEAL REFLUX DISEASE (GORD),A02B,"
    "PROTON PUMP INHIBITORS,A02BC,GLOBAL B3 2024 MAR 1\n")
CM_YAML = """
domain: CM
records:
  - name: concomitant medications
    source: cm
    join: [{table: whodrug, on: {MEDNAME: VERBATIM}, required: true}]
    variables:
      STUDYID: S1
      DOMAIN: CM
      USUBJID: {format: "S1-{PT}"}
      CMSPID: {from: LINE}
      CMTRT: {from: MEDNAME}
      CMDECOD: {from: DRUGNAME}
      CMINDC: {from: INDIC}
      CMCLAS: {from: ATC4}             # the class coded: ATC level 4
      CMCLASCD: {from: ATC4CD}
      CMSTDTC: {date: STDAT}
    supp:                              # the other ATC levels: no CM variable holds them
      ATC1: {from: ATC1, label: ATC Level 1 Text, orig: ASSIGNED}
      ATC1CD: {from: ATC1CD, label: ATC Level 1 Code, orig: ASSIGNED}
      ATC2: {from: ATC2, label: ATC Level 2 Text, orig: ASSIGNED}
      ATC2CD: {from: ATC2CD, label: ATC Level 2 Code, orig: ASSIGNED}
      ATC3: {from: ATC3, label: ATC Level 3 Text, orig: ASSIGNED}
      ATC3CD: {from: ATC3CD, label: ATC Level 3 Code, orig: ASSIGNED}
derive:
  seq: {by: [USUBJID], order: [CMSTDTC, CMSPID]}
  study_day: {CMSTDY: CMSTDTC}
"""
CODED = ["CM.CMDECOD", "CM.CMCLAS", "CM.CMCLASCD", "SUPPCM.ATC1", "SUPPCM.ATC1CD",
         "SUPPCM.ATC2", "SUPPCM.ATC2CD", "SUPPCM.ATC3", "SUPPCM.ATC3CD"]
DICTIONARIES = f"""dictionaries:
  WHODrug:
    dictionary: WHODD
    version: GLOBAL B3 2024 MAR 1
    href: https://who-umc.org/whodrug/
    version_column: {{table: whodrug, column: VERSION}}
    variables: [{', '.join(CODED)}]
"""
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    root = tmp_path_factory.mktemp("cm_whodrug")
    spec, raw = write_study(
        root, {"subj.csv": SUBJ, "cm.csv": CM, "whodrug.csv": WHODRUG},
        {"subj": "{file: subj.csv}", "cm": "{file: cm.csv, key: [PT, LINE]}",
         "whodrug": "{file: whodrug.csv, key: [VERBATIM], lookup: true}"},
        {"dm": DM_YAML, "cm": CM_YAML}, DICTIONARIES)
    out = root / "sdtm"
    api.map_sdtm(spec, raw=raw, out=out)
    written = api.write_define(out, study=spec)
    assert written["problems"] == []            # schema-valid, consistent with the data
    return spec, out, etree.parse(written["path"])


def test_cm_carries_the_whodrug_name_and_atc_class(mapped):
    _spec, out, _tree = mapped
    import pandas as pd
    cm = pd.read_csv(out / "cm.csv", dtype=str, keep_default_na=False)
    assert sorted(cm[["USUBJID", "CMTRT", "CMDECOD", "CMCLAS", "CMCLASCD"]].values.tolist()) == [
        ["S1-001", "Zofran", "ONDANSETRON", "SEROTONIN (5HT3) ANTAGONISTS", "A04AA"],
        ["S1-001", "tylenol", "PARACETAMOL", "ANILIDES", "N02BE"],
        ["S1-002", "omeprazole 20mg", "OMEPRAZOLE", "PROTON PUMP INHIBITORS", "A02BC"]]
    supp = pd.read_csv(out / "suppcm.csv", dtype=str, keep_default_na=False)
    zofran = supp[(supp["USUBJID"] == "S1-001") & (supp["IDVARVAL"] == "2")]
    assert dict(zip(zofran["QNAM"], zofran["QVAL"])) == {
        "ATC1": "ALIMENTARY TRACT AND METABOLISM", "ATC1CD": "A",
        "ATC2": "ANTIEMETICS AND ANTINAUSEANTS", "ATC2CD": "A04",
        "ATC3": "ANTIEMETICS AND ANTINAUSEANTS", "ATC3CD": "A04A"}
    assert set(supp["IDVAR"]) == {"CMSEQ"} and set(supp["QORIG"]) == {"ASSIGNED"}
    assert len(supp) == 3 * 6


def _item(tree, oid):
    item = tree.find(f".//odm:ItemDef[@OID='{oid}']", NS)
    assert item is not None, oid
    return item


def _dictionary(tree, item) -> tuple[str, str, str] | None:
    ref = item.find("odm:CodeListRef", NS)
    if ref is None:
        return None
    codelist = tree.find(f".//odm:CodeList[@OID='{ref.get('CodeListOID')}']", NS)
    ext = codelist.find("odm:ExternalCodeList", NS)
    return None if ext is None else (ext.get("Dictionary"), ext.get("Version"), ext.get("href"))


def _origins(item) -> list[str]:
    return [o.get("Type") for o in item.findall(f"{DEF}Origin")]


def test_define_gives_every_coded_variable_the_whodrug_dictionary_and_origin_assigned(mapped):
    _spec, _out, tree = mapped
    expected = ("WHODD", "GLOBAL B3 2024 MAR 1", "https://who-umc.org/whodrug/")
    for oid in ("IT.CM.CMDECOD", "IT.CM.CMCLAS", "IT.CM.CMCLASCD"):
        item = _item(tree, oid)
        assert _dictionary(tree, item) == expected, oid
        assert _origins(item) == ["Assigned"], oid
    # the SUPPCM ATC levels: value-level items of QVAL, one per QNAM
    for qnam in ("ATC1", "ATC1CD", "ATC2", "ATC2CD", "ATC3", "ATC3CD"):
        item = _item(tree, f"IT.SUPPCM.QVAL.{qnam}")
        assert _dictionary(tree, item) == expected, qnam
        assert _origins(item) == ["Assigned"], qnam
    # collected CM variables keep their origin and no dictionary
    cmtrt = _item(tree, "IT.CM.CMTRT")
    assert _origins(cmtrt) == ["Collected"] and _dictionary(tree, cmtrt) is None
    # the comment names the dictionary, its version and where the value came from
    comment_oid = _item(tree, "IT.CM.CMCLAS").get(f"{DEF}CommentOID")
    comment = tree.find(f".//def:CommentDef[@OID='{comment_oid}']", NS)
    text = "".join(comment.itertext())
    assert "WHODD version GLOBAL B3 2024 MAR 1" in text and "ATC4" in text


def test_a_row_coded_with_another_whodrug_version_is_an_error(tmp_path):
    spec, raw = write_study(
        tmp_path, {"subj.csv": SUBJ, "cm.csv": CM,
                   "whodrug.csv": WHODRUG.replace("GLOBAL B3 2024 MAR 1\nZofran",
                                                  "GLOBAL B3 2023 SEP 1\nZofran")},
        {"subj": "{file: subj.csv}", "cm": "{file: cm.csv}",
         "whodrug": "{file: whodrug.csv, lookup: true}"},
        {"dm": DM_YAML, "cm": CM_YAML}, DICTIONARIES)
    from cdisc_convert.sdtm.engine import map_study
    findings = map_study(spec, raw).findings
    bad = findings[findings["rule"] == "MAP-DICT-VERSION"]
    assert bad[["severity", "table", "row", "value"]].values.tolist() == [
        ["error", "whodrug.csv", 1, "GLOBAL B3 2023 SEP 1"]]


def test_a_dictionary_coded_qualifier_is_assigned_even_without_orig(mapped, tmp_path):
    """The dictionary decides the origin of SUPPCM's ATC levels, as it does for CMDECOD: a
    spec whose supp rules omit ``orig: ASSIGNED`` still gets origin Assigned in define.xml."""
    import shutil
    spec, out, _tree = mapped
    copy = tmp_path / "spec"
    shutil.copytree(spec, copy)
    cm = (copy / "cm.yaml").read_text(encoding="utf-8")
    (copy / "cm.yaml").write_text(cm.replace(", orig: ASSIGNED", ""), encoding="utf-8")
    written = api.write_define(out, out=tmp_path / "define" / "define.xml", study=copy)
    tree = etree.parse(written["path"])
    for qnam in ("ATC1", "ATC3CD"):
        assert _origins(_item(tree, f"IT.SUPPCM.QVAL.{qnam}")) == ["Assigned"], qnam


@pytest.mark.parametrize("name, hint", [
    ("WHODD", None), ("MedDRA", None),
    ("WHODrug Global", "CDISC CT calls it 'WHODD'"),      # a DICTNAM synonym
    ("meddra", "CDISC CT calls it 'MedDRA'"),              # the term in another case
    ("WHODrug", "its names: CDISC CT, COSTART"),           # neither: the terms are listed
])
def test_a_dictionary_name_that_is_not_a_dictnam_term_is_a_warning(tmp_path, name, hint):
    spec, raw = write_study(
        tmp_path, {"subj.csv": SUBJ, "cm.csv": CM, "whodrug.csv": WHODRUG},
        {"subj": "{file: subj.csv}", "cm": "{file: cm.csv}",
         "whodrug": "{file: whodrug.csv, lookup: true}"},
        {"dm": DM_YAML, "cm": CM_YAML}, DICTIONARIES.replace("dictionary: WHODD",
                                                             f"dictionary: {name}"))
    from cdisc_convert.sdtm.engine import map_study
    findings = map_study(spec, raw).findings
    found = findings[findings["rule"] == "MAP-DICT-NAME"]
    if hint is None:
        assert found.empty
    else:
        assert found["severity"].tolist() == ["warning"] and found["value"].tolist() == [name]
        assert hint in found["message"].iloc[0] and "dictionaries.WHODrug" in found["message"].iloc[0]
