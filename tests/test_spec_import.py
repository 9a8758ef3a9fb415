"""define.xml from a spec workbook (`define --spec`) or another define.xml (`--metadata`).

The round trip: the bundled study's define.xml (built with its YAML mapping) -> `spec export`
-> `define --spec` on the same XPT files WITHOUT the mapping -> the same bytes. Without the
workbook that define differs (origins, methods, comments, study description come from the
YAML), so the identity shows the workbook carries them.
"""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from lxml import etree
from openpyxl import load_workbook

from cdisc_convert import api
from cdisc_convert.cli import main
from cdisc_convert.define.api import validate_define

EPOCH = "1700000000"          # the bundled run's (tests/conftest.py, bundled_run)
ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
DEF = "{http://www.cdisc.org/ns/def/v2.1}"


@pytest.fixture(autouse=True)
def _epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _xpt_copy(source, target, *names):
    """The XPT files of ``source`` (only ``names``, e.g. "dm", when given: a define of the
    datasets a case is about is built in a fraction of the time of all twenty)."""
    target.mkdir(parents=True)
    for path in source.glob("*.xpt"):
        if not names or path.stem in names:
            shutil.copy(path, target / path.name)
    return target


def _export(define, out):
    result = CliRunner().invoke(main, ["spec", "export", str(define), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _define(folder, *args):
    result = CliRunner().invoke(main, ["define", str(folder), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


@pytest.mark.parametrize("kind", ["sdtm", "adam"])
def test_import_of_the_export_reproduces_the_define(bundled_run, tmp_path, kind):
    original = bundled_run / kind / "define.xml"
    book = _export(original, tmp_path / f"{kind}.xlsx")
    data = _xpt_copy(bundled_run / kind, tmp_path / kind)
    plain = _define(data, "--out", str(tmp_path / "plain" / "define.xml"))
    assert (tmp_path / "plain" / "define.xml").read_bytes() != original.read_bytes(), \
        "without the workbook (and the YAML) the define should differ"
    result = _define(data, "--spec", str(book))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("valid, 0 spec finding(s)")
    assert (data / "define.xml").read_bytes() == original.read_bytes()
    assert (data / "define.html").read_bytes() == (bundled_run / kind / "define.html").read_bytes()


def test_an_existing_define_is_metadata_input(bundled_run, tmp_path):
    original = bundled_run / "sdtm" / "define.xml"
    data = _xpt_copy(bundled_run / "sdtm", tmp_path / "sdtm")
    result = _define(data, "--metadata", str(original))
    assert result.exit_code == 0, result.output
    assert (data / "define.xml").read_bytes() == original.read_bytes()


def _rows(ws):
    header = [c.value for c in ws[1]]
    return header, {(r[header.index("Dataset")].value if "Dataset" in header else None,
                     r[header.index("Variable")].value if "Variable" in header else None): r
                    for r in ws.iter_rows(min_row=2)}


def _item(tree, oid):
    return next(i for i in tree.iter(f"{ODM}ItemDef") if i.get("OID") == oid)


def test_the_workbook_is_the_source_of_truth_for_what_it_states(bundled_run, tmp_path):
    book_path = _export(bundled_run / "sdtm" / "define.xml", tmp_path / "spec.xlsx")
    book = load_workbook(str(book_path))
    header, rows = _rows(book["Variables"])
    col = {name: header.index(name) for name in header}
    rows[("AE", "AETERM")][col["Label"]].value = "Verbatim Adverse Event Term"
    rows[("AE", "AETERM")][col["Length"]].value = 180.0           # an Excel number cell
    rows[("DM", "AGE")][col["Length"]].value = None                # omitted: from the data
    rows[("DM", "SEX")][col["Origin"]].value = "eDT"                # Define-XML 2.0 wording
    rows[("DM", "SEX")][col["Source"]].value = None
    rows[("AE", "AESER")][col["Comment"]].value = "COM.AE"          # a comment it states
    book["Variables"].delete_rows(rows[("AE", "AEOUT")][0].row)     # the data have AEOUT
    book["Variables"].append(["99", "DM", "DMXYZ", "Not produced by any mapping", "text", 20])
    cl = book["Codelists"]
    cl_header = [c.value for c in cl[1]]
    sex = [r for r in cl.iter_rows(min_row=2) if r[0].value == "CL.SEX"]
    sex[0][cl_header.index("Decoded Value")].value = "Female (as the sponsor decodes it)"
    cl.append(["CL.SEX", sex[0][1].value, "C66731", "text", 9, "U", "C17998", "Unknown", ""])
    book.save(str(book_path))

    data = _xpt_copy(bundled_run / "sdtm", tmp_path / "sdtm", "dm", "ae")
    findings = api.write_define(data, spec=book_path)["spec_findings"]
    messages = [f["message"] for f in findings]
    assert any(m.startswith("DM.DMXYZ: declared in the workbook but not in the data")
               for m in messages), messages
    assert any(m.startswith("AE.AEOUT: in the data but not in the workbook") for m in messages)
    assert any(m.startswith("AE.AETERM: define.xml states the workbook's label 'Verbatim "
                            "Adverse Event Term', the data file has 'Reported Term for the "
                            "Adverse Event'") for m in messages), messages
    tree = etree.parse(str(data / "define.xml"))
    original = etree.parse(str(bundled_run / "sdtm" / "define.xml"))
    aeterm = _item(tree, "IT.AE.AETERM")
    assert aeterm.findtext(f"{ODM}Description/{ODM}TranslatedText") == \
        "Verbatim Adverse Event Term"
    assert aeterm.get("Length") == "180"
    assert _item(tree, "IT.DM.AGE").get("Length") == _item(original, "IT.DM.AGE").get("Length")
    origin = _item(tree, "IT.DM.SEX").find(f"{DEF}Origin")
    assert (origin.get("Type"), origin.get("Source")) == ("Collected", "Vendor")
    assert _item(tree, "IT.AE.AESER").get(f"{DEF}CommentOID") == "COM.AE"
    assert _item(tree, "IT.AE.AEOUT").get("Length")            # described from the data
    assert not any(i.get("Name") == "DMXYZ" for i in tree.iter(f"{ODM}ItemDef"))
    sex_list = next(c for c in tree.iter(f"{ODM}CodeList") if c.get("OID") == "CL.SEX")
    terms = {t.get("CodedValue"): t.findtext(f"{ODM}Decode/{ODM}TranslatedText")
             for t in sex_list}
    assert terms["F"] == "Female (as the sponsor decodes it)" and terms["U"] == "Unknown"
    assert validate_define(data / "define.xml", check_data=False) == []     # still XSD-valid


def test_a_workbook_lacking_a_term_the_data_use_is_a_problem(bundled_run, tmp_path):
    book_path = _export(bundled_run / "sdtm" / "define.xml", tmp_path / "spec.xlsx")
    book = load_workbook(str(book_path))
    cl = book["Codelists"]
    term = next(r for r in cl.iter_rows(min_row=2) if r[0].value == "CL.SEX")
    cl.delete_rows(term[0].row)
    book.save(str(book_path))
    data = _xpt_copy(bundled_run / "sdtm", tmp_path / "sdtm")
    result = _define(data, "--spec", str(book_path))
    assert result.exit_code == 1
    assert "is not declared in codelist CL.SEX" in result.output, result.output


def test_an_irregular_workbook_imports_with_findings(bundled_run, tmp_path):
    from test_spec_workbook import _irregular

    data = _xpt_copy(bundled_run / "sdtm", tmp_path / "sdtm", "dm")
    result = _define(data, "--spec", str(_irregular(tmp_path / "irregular.xlsx")))
    assert result.exit_code == 1 and "Traceback" not in result.output
    out = result.output
    assert "spec: Variables, row 6, Variable: value missing; row skipped" in out, out
    assert "DM.RFSTDTC: '2020-01-02' is not a whole number" in out
    assert "Comments: sheet missing" in out
    tree = etree.parse(str(data / "define.xml"))
    assert _item(tree, "IT.DM.AGE").get("Length") == "8"           # 8.0 in the workbook
    assert validate_define(data / "define.xml", check_data=False) == []


def test_spec_import_refuses_what_is_not_a_spec(bundled_run, tmp_path):
    notes = tmp_path / "spec.txt"
    notes.write_text("labels")
    result = _define(bundled_run / "sdtm", "--spec", str(notes),
                     "--out", str(tmp_path / "d" / "define.xml"))
    assert result.exit_code == 2 and "SPEC-NOT-XLSX" in result.output


def test_define_help_shows_the_spec_example():
    result = CliRunner().invoke(main, ["define", "--help"])
    assert "--spec" in result.output and "--metadata" in result.output
    assert "cdisc-convert define out/sdtm --spec" in result.output


@pytest.fixture(scope="module")
def pilot(reference):
    folder = reference / "cdiscpilot01"
    if not (folder / "sdtm" / "dm.xpt").is_file():
        pytest.skip("the CDISC pilot submission is not in the reference folder")
    return folder


def test_the_pilot_round_trip(pilot, tmp_path):
    """The pilot's data (SDTMIG 3.1.2, cp1252): our define -> workbook -> define, same bytes."""
    first = tmp_path / "first" / "define.xml"
    assert _define(pilot / "sdtm", "--encoding", "cp1252", "--out", str(first)).exit_code == 0
    book = _export(first, tmp_path / "pilot.xlsx")
    again = tmp_path / "again" / "define.xml"
    result = _define(pilot / "sdtm", "--encoding", "cp1252", "--spec", str(book),
                     "--out", str(again))
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == first.read_bytes()      # both folders at the same depth


def test_the_pilots_own_define_1_0_is_read_with_findings(pilot, tmp_path):
    """The pilot ships Define-XML 1.0 (ODM 1.2) for more datasets than its folder has (no
    LB, VS, QS): what cannot be used is a finding, the define is still written and valid."""
    out = tmp_path / "first" / "define.xml"
    result = _define(pilot / "sdtm", "--encoding", "cp1252", "--metadata",
                     str(pilot / "sdtm" / "define.xml"), "--out", str(out))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "LB: in the workbook but not among the datasets described" in result.output
    assert validate_define(out, check_data=False) == []
    tree = etree.parse(str(out))
    # 1.0's def:Label, Origin="CRF Page 7", ComputationMethodOID and Comment attributes
    aestdy = next(r for r in tree.iter(f"{ODM}ItemRef") if r.get("ItemOID") == "IT.AE.AESTDY")
    assert aestdy.get("MethodOID") == "COMPMETHOD.STUDY_DAY"
    method = next(m for m in tree.iter(f"{ODM}MethodDef")
                  if m.get("OID") == "COMPMETHOD.STUDY_DAY")
    assert "minus (date portion of RFSTDTC)" in method.findtext(f"{ODM}Description/{ODM}TranslatedText")
    pilot_items = {i.get("OID"): i for i in etree.parse(str(pilot / "sdtm" / "define.xml")).iter(
        "{http://www.cdisc.org/ns/odm/v1.2}ItemDef")}
    label = "{http://www.cdisc.org/ns/def/v1.0}Label"
    for oid in ("DM.AGE", "DM.SEX", "AE.AETERM", "TA.ARMCD"):
        ours = _item(tree, "IT." + oid)
        assert ours.findtext(f"{ODM}Description/{ODM}TranslatedText") == \
            pilot_items[oid].get(label)
        origin = ours.find(f"{DEF}Origin")
        if pilot_items[oid].get("Origin").startswith("CRF"):
            assert (origin.get("Type"), origin.get("Source")) == ("Collected", "Investigator")
            pages = origin.find(f"{DEF}DocumentRef/{DEF}PDFPageRef")
            assert pages.get("PageRefs").split() == \
                pilot_items[oid].get("Origin").replace(",", " ").split()[2:]
            assert origin.find(f"{DEF}DocumentRef").get("leafID") == "blankcrf"
        else:
            assert origin.get("Type") == pilot_items[oid].get("Origin")
    crf = next(l for l in tree.iter(f"{DEF}leaf") if l.get("ID") == "blankcrf")
    assert crf.get("{http://www.w3.org/1999/xlink}href") == "blankcrf.pdf"
    # and that define (pages, documents, 1.0's methods) survives export -> import unchanged
    book = _export(out, tmp_path / "pilot.xlsx")
    again = tmp_path / "again" / "define.xml"
    _define(pilot / "sdtm", "--encoding", "cp1252", "--spec", str(book), "--out", str(again))
    assert again.read_bytes() == out.read_bytes()         # both folders at the same depth


@pytest.mark.parametrize("kind", ["sdtm", "adam"])
def test_another_tools_define_2_1_drives_the_metadata(reference, tmp_path, kind):
    """CDISC's Dataset-JSON examples ship a Define-XML 2.1 of another tool, describing more
    datasets than the folder has: each variable of the data gets every attribute that
    define states (the data fill the ones it leaves empty), the rest are findings."""
    from cdisc_convert.define.workbook import define_to_tables

    folder = reference / "datasetjson" / kind
    out = tmp_path / "define.xml"
    findings = api.write_define(folder, out=out, spec=folder / "define.xml")["spec_findings"]
    assert any("in the workbook but not among the datasets described" in f["message"]
               for f in findings)
    theirs = {(r["Dataset"], r["Variable"]): r
              for r in define_to_tables(folder / "define.xml")["Variables"]}
    ours = define_to_tables(out)["Variables"]
    assert {(r["Dataset"], r["Variable"]) for r in ours} <= set(theirs)
    columns = ("Label", "Data Type", "Length", "Significant Digits", "Format", "Mandatory",
               "Codelist", "Origin", "Source", "Method", "Comment", "Role")
    differ = [(r["Dataset"], r["Variable"], c) for r in ours for c in columns
              if theirs[r["Dataset"], r["Variable"]][c] not in ("", r[c])]
    assert differ == []
    assert validate_define(out, check_data=False) == []


def test_value_level_rows_the_data_did_not_suggest(bundled_run, tmp_path):
    """A where clause of the sponsor's own (another variable, IN, two conditions) gets a new
    value-level item profiled on the records it selects; one selecting nothing is a finding."""
    from cdisc_convert.io.xpt import read_xpt

    book_path = _export(bundled_run / "sdtm" / "define.xml", tmp_path / "spec.xlsx")
    book = load_workbook(str(book_path))
    vl, wc = book["ValueLevel"], book["WhereClauses"]
    # Order, Dataset, Variable, Where Clause, Data Type, Length, ..., Origin (col 11)
    vl.append([1, "DM", "AGE", "WC.AGE.F", "", "", "", "", "", "", "Collected", "Investigator"])
    vl.append([2, "DM", "AGE", "WC.AGE.X", "", "", "", "", "", "", "Derived", "Sponsor"])
    vl.append([99, "RS", "RSORRES", "WC.RS.RESP", "", "", "", "", "", "", "Derived", "Sponsor"])
    wc.append(["WC.AGE.F", "DM", "SEX", "EQ", "F"])
    wc.append(["WC.AGE.X", "DM", "SEX", "EQ", "X"])
    wc.append(["WC.RS.RESP", "RS", "RSCAT", "EQ", "RECIST 1.1"])
    wc.append(["WC.RS.RESP", "RS", "RSTESTCD", "IN", "OVRLRESP, TRGRESP"])
    book.save(str(book_path))

    data = _xpt_copy(bundled_run / "sdtm", tmp_path / "sdtm", "dm", "rs")
    findings = api.write_define(data, spec=book_path)["spec_findings"]
    assert [f["message"] for f in findings if "WC.AGE.X" in f["message"]] == \
        ["DM.AGE (WC.AGE.X): the where clause selects no record of the data; row not applied"]
    tree = etree.parse(str(data / "define.xml"))
    assert validate_define(data / "define.xml", check_data=False) == []
    refs = {r.find(f"{DEF}WhereClauseRef").get("WhereClauseOID"): r
            for r in tree.iter(f"{ODM}ItemRef") if r.find(f"{DEF}WhereClauseRef") is not None}
    dm, rs = read_xpt(data / "dm.xpt"), read_xpt(data / "rs.xpt")
    age = _item(tree, refs["WC.AGE.F"].get("ItemOID"))
    assert age.get("DataType") == "integer"
    assert age.get("Length") == str(len(str(int(dm.loc[dm["SEX"] == "F", "AGE"].max()))))
    assert _item(tree, "IT.DM.AGE").find(f"{DEF}ValueListRef") is not None
    chosen = rs[(rs["RSCAT"] == "RECIST 1.1") & rs["RSTESTCD"].isin(["OVRLRESP", "TRGRESP"])]
    resp = _item(tree, refs["WC.RS.RESP"].get("ItemOID"))
    assert resp.get("Length") == str(chosen["RSORRES"].str.len().max())
    checks = next(w for w in tree.iter(f"{DEF}WhereClauseDef") if w.get("OID") == "WC.RS.RESP")
    assert [(c.get("Comparator"), [v.text for v in c]) for c in checks] == \
        [("EQ", ["RECIST 1.1"]), ("IN", ["OVRLRESP", "TRGRESP"])]
    vl_rs = next(v for v in tree.iter(f"{DEF}ValueListDef") if v.get("OID") == "VL.RS.RSORRES")
    orders = [int(r.get("OrderNumber")) for r in vl_rs]
    assert orders == list(range(1, len(orders) + 1))
