"""Spec workbooks in the Pinnacle 21 layout: export from define.xml, tolerant reading."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from cdisc_convert.cli import main
from cdisc_convert.define.workbook import SHEETS, define_to_tables, read_workbook, write_workbook


@pytest.fixture(scope="module")
def exported(bundled_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("spec") / "sdtm-spec.xlsx"
    result = CliRunner().invoke(main, ["spec", "export", str(bundled_run / "sdtm" / "define.xml"),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_every_sheet_of_the_p21_layout(exported):
    book = load_workbook(str(exported))
    assert book.sheetnames == list(SHEETS)
    for name, columns in SHEETS.items():
        assert [c.value for c in book[name][1]] == columns


def test_the_workbook_holds_what_define_says(exported, bundled_run):
    tables, findings = read_workbook(exported)
    assert findings == []
    assert {r["Dataset"] for r in tables["Datasets"]} == \
        {p.stem.upper() for p in (bundled_run / "sdtm").glob("*.xpt")}
    ae_acn = next(r for r in tables["Variables"] if (r["Dataset"], r["Variable"]) == ("AE", "AEACN"))
    assert ae_acn["Codelist"] == "CL.ACN" and ae_acn["Origin"] == "Collected"
    acn = [r for r in tables["Codelists"] if r["ID"] == "CL.ACN"]
    assert acn and all(r["NCI Codelist Code"] == "C66767" for r in acn)
    assert tables["ValueLevel"] and tables["Methods"] and tables["Comments"]


def test_round_trip_export_read_export(exported, bundled_run, tmp_path):
    tables, _ = read_workbook(exported)
    assert tables == define_to_tables(bundled_run / "sdtm" / "define.xml")
    again = write_workbook(tables, tmp_path / "again.xlsx")
    assert read_workbook(again)[0] == tables


def test_the_adam_define_exports_too(bundled_run, tmp_path):
    tables = define_to_tables(bundled_run / "adam" / "define.xml")
    assert {r["Dataset"] for r in tables["Datasets"]} >= {"ADSL", "ADRS", "ADTTE"}
    path = write_workbook(tables, tmp_path / "adam.xlsx")
    assert read_workbook(path) == (tables, [])


def _irregular(path):
    """A workbook as other tools and people write them."""
    book = Workbook()
    ws = book.active
    ws.title = "variables"                                  # lower case
    ws.append(["Variables of study X"])                     # a title row
    ws.merge_cells("A1:D1")
    ws.append(["Notes", "VARIABLE", "dataset", "Length", "Label", "Codelist", "Method"])
    ws.append(["extra", "AGE", "DM", 8.0, "Age", "", ""])
    ws.append([None, None, None, None, None, None, None])   # blank row
    ws.append(["", "SEX", "DM", 1, "Sex", "CL.SEX", "MT.MISSING"])
    ws.append(["", "", "DM", 2, "no name", "", ""])          # no variable name
    ws.append(["", "RFSTDTC", "DM", dt.datetime(2020, 1, 2), "date cell", "", ""])
    ds = book.create_sheet("Datasets")
    ds.append(["Dataset", "Description", "Unused"])
    ds.append(["DM", "Demographics", 1])
    ds.merge_cells("B3:C3")
    cl = book.create_sheet("Codelists")
    cl.append(["Term", "ID"])
    cl.append(["F", "CL.OTHER"])
    book.create_sheet("Methods").append(["Name"])           # required columns missing
    book.save(str(path))
    return path


def test_an_irregular_workbook_gives_findings_not_a_crash(tmp_path):
    tables, findings = read_workbook(_irregular(tmp_path / "irregular.xlsx"))
    rows = {r["Variable"]: r for r in tables["Variables"]}
    assert set(rows) == {"AGE", "SEX", "RFSTDTC"}
    assert rows["AGE"]["Length"] == "8" and rows["AGE"]["Dataset"] == "DM"
    assert rows["RFSTDTC"]["Length"] == "2020-01-02"
    messages = [(f["sheet"], f["column"], f["message"]) for f in findings]
    assert ("Variables", "Variable", "value missing; row skipped") in messages
    assert any(s == "Variables" and c == "Codelist" and "'CL.SEX'" in m for s, c, m in messages)
    assert any(s == "Variables" and c == "Method" and "'MT.MISSING'" in m for s, c, m in messages)
    assert ("Methods", "ID", "required column missing") in messages
    assert ("Comments", None, "sheet missing") in messages


def test_spec_check_command(tmp_path, exported):
    runner = CliRunner()
    ok = runner.invoke(main, ["spec", "check", str(exported)])
    assert ok.exit_code == 0 and "0 finding(s)" in ok.output
    bad = runner.invoke(main, ["spec", "check", str(_irregular(tmp_path / "i.xlsx"))])
    assert bad.exit_code == 1 and "CL.SEX" in bad.output and "Traceback" not in bad.output
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    result = runner.invoke(main, ["spec", "check", str(junk)])
    assert result.exit_code == 2 and "SPEC-WORKBOOK-UNREADABLE" in result.output


def test_export_follows_the_output_rules(bundled_run, tmp_path):
    runner = CliRunner()
    define = bundled_run / "sdtm" / "define.xml"
    mine = tmp_path / "mine.xlsx"
    mine.write_text("someone's file")
    result = runner.invoke(main, ["spec", "export", str(define), "--out", str(mine)])
    assert result.exit_code == 2 and "OUT-FOREIGN" in result.output
    assert mine.read_text() == "someone's file"
    result = runner.invoke(main, ["spec", "export", str(define), "--out", str(tmp_path / "a.csv")])
    assert result.exit_code == 2 and "OUT-NOT-XLSX" in result.output


OFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def _office(tmp_path, target: str, document) -> subprocess.CompletedProcess:
    """LibreOffice headless converting ``document`` into ``tmp_path`` (a profile of its own,
    so that parallel runs and a desktop session do not share one)."""
    profile = (tmp_path / "lo-profile").as_uri()
    return subprocess.run([OFFICE, f"-env:UserInstallation={profile}", "--headless",
                           "--convert-to", target, "--outdir", str(tmp_path), str(document)],
                          check=True, timeout=300, capture_output=True)


@pytest.mark.slow    # starts LibreOffice (an office suite, like the browser test: end to end)
@pytest.mark.skipif(OFFICE is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_export(exported, bundled_run, tmp_path):
    """Every sheet, as LibreOffice reads it, holds what define.xml says; the whole workbook
    also prints (PDF)."""
    import csv

    # CSV filter options: comma, double quote, UTF-8, from line 1, ..., -1 = every sheet
    # into <name>-<Sheet>.csv (LibreOffice 7.2+); older versions write the first sheet only
    _office(tmp_path, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,"
                      "false,-1", exported)
    expected = define_to_tables(bundled_run / "sdtm" / "define.xml")
    per_sheet = {name: tmp_path / f"sdtm-spec-{name}.csv" for name in SHEETS}
    if not all(p.is_file() for p in per_sheet.values()):
        assert (tmp_path / "sdtm-spec.csv").read_text().startswith("Attribute,Value")
        per_sheet = {"Study": tmp_path / "sdtm-spec.csv"}
    for name, path in per_sheet.items():
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == SHEETS[name], name
        # LibreOffice shows numbers as numbers: compare as the tolerant reader does
        seen = [{c: v for c, v in zip(SHEETS[name], row)} for row in rows[1:] if any(row)]
        want = [{c: str(r.get(c, "")) for c in SHEETS[name]} for r in expected[name]]
        assert seen == want, name
    _office(tmp_path, "pdf", exported)
    pdf = (tmp_path / "sdtm-spec.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
