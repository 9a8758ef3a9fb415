"""Hostile raw tables: each case states the exact error rule or finding it must give.

Cases (parametrized; 46 in all): ragged rows (8), repeated headers (4), blank lines and row
numbers (6), control characters and NUL bytes (9), duplicate keys and subjects (5), Excel
cells read as typed (14).
"""
from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from cdisc_convert.core.errors import InputError
from cdisc_convert.io.raw import read_raw_table
from cdisc_convert.sdtm.engine import map_study
from hostile_helpers import case_timeout, cli, make_study  # noqa: F401 (autouse fixture)

HEADER = "PT,SEX,START\n"


def _mapping_error(tmp_path, text, **kw):
    spec, raw = make_study(tmp_path, {"subj.csv": text}, **kw)
    code, out = cli("sdtm", spec, "--raw", raw, "--out", tmp_path / "out")
    return code, out


# ------------------------------------------------------------------ ragged rows
RAGGED = {
    "short row": (HEADER + "001,F\n002,M,2014-02-01\n", "line(s) 2 (line 2 has 2)"),
    "long row": (HEADER + "001,F,2014-01-01,x\n002,M,2014-02-01\n", "line(s) 2 (line 2 has 4)"),
    "long row later": (HEADER + "001,F,2014-01-01\n002,M,2014-02-01,,\n", "line(s) 3 (line 3 has 5)"),
    "short last line, no newline": (HEADER + "001,F,2014-01-01\n002", "line(s) 3 (line 3 has 1)"),
    "CRLF short": ((HEADER + "001,F\n").replace("\n", "\r\n"), "line(s) 2 (line 2 has 2)"),
    "after a blank line": (HEADER + "001,F,2014-01-01\n\n002,M\n", "line(s) 4 (line 4 has 2)"),
    "after a quoted line break": (HEADER + '"00\n1",F,2014-01-01\n002,M\n', "line(s) 4 (line 4 has 2)"),
    "two ragged rows": (HEADER + "001\n002,M,2014-02-01,1\n", "line(s) 2, 3"),
}


@pytest.mark.parametrize("case", RAGGED)
def test_ragged_row_is_an_error_naming_the_line(tmp_path, case):
    text, where = RAGGED[case]
    code, out = _mapping_error(tmp_path, text)
    assert code == 2, out
    assert "[RAW-RAGGED]" in out and where in out and "subj.csv" in out, out
    assert not (tmp_path / "out" / "dm.xpt").exists()


def test_quoted_separator_is_not_ragged(tmp_path):
    spec, raw = make_study(tmp_path, {"subj.csv": HEADER + '"0,1",F,2014-01-01\n'})
    dm = map_study(spec, raw).domains["DM"]
    assert dm["SUBJID"].tolist() == ["0,1"]


# ------------------------------------------------------------------ repeated headers
HEADERS = {
    "csv": ("subj.csv", b"PT,SEX,SEX,START\n001,F,M,2014-01-01\n", "'SEX' appears twice (columns 2 and 3)"),
    "csv blanks": ("subj.csv", b"PT, SEX,SEX ,START\n001,F,M,2014-01-01\n", "'SEX' appears twice"),
    "tsv": ("subj.tsv", b"PT\tSTART\tPT\n001\t2014-01-01\t002\n", "'PT' appears twice (columns 1 and 3)"),
    "quoted": ("subj.csv", b'"PT","SEX","START","PT"\n001,F,2014-01-01,1\n', "'PT' appears twice"),
}


@pytest.mark.parametrize("case", HEADERS)
def test_repeated_column_header_is_an_error(tmp_path, case):
    name, content, message = HEADERS[case]
    with pytest.raises(InputError) as info:
        read_raw_table(_write(tmp_path, name, content))
    assert info.value.rule == "RAW-HEADER" and message in info.value.message


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# ------------------------------------------------------------------ blank lines
BLANKS = {
    # text, line of the record holding the bad date 31FEB2014
    "blank line before": (HEADER + "001,F,2014-01-01\n\n002,M,31FEB2014\n", 4),
    "two blank lines": (HEADER + "\n\n001,F,31FEB2014\n", 4),
    "blank with spaces": (HEADER + "001,F,2014-01-01\n   \n002,M,31FEB2014\n", 4),
    "CRLF blank": (HEADER.replace("\n", "\r\n") + "\r\n001,F,31FEB2014\r\n", 3),
    "quoted line break before": (HEADER + '"00\n1",F,2014-01-01\n002,M,31FEB2014\n', 4),
    "no blank line": (HEADER + "001,F,2014-01-01\n002,M,31FEB2014\n", 3),
}


@pytest.mark.parametrize("case", BLANKS)
def test_row_numbers_are_line_numbers_minus_the_header(tmp_path, case):
    """Convention (docs/mapping-spec.md): row N is line N + 1; blank lines count."""
    text, line = BLANKS[case]
    spec, raw = make_study(tmp_path, {"subj.csv": text})
    findings = map_study(spec, raw).findings
    bad = findings[findings["rule"] == "MAP-DATE"]
    assert bad["row"].tolist() == [line - 1]
    assert text.replace("\r", "").split("\n")[line - 1].endswith("31FEB2014")


# ------------------------------------------------------------------ control characters
CONTROLS = {
    # bytes of a subj.csv, (severity, row, column, value as reported)
    "ESC": (HEADER + "0\x1b01,F,2014-01-01\n", ("error", 1, "PT", "0\\x1B01")),
    "BEL": (HEADER + "001,F\x07,2014-01-01\n", ("error", 1, "SEX", "F\\x07")),
    "DEL": (HEADER + "001,F,2014-01-01\x7f\n", ("error", 1, "START", "2014-01-01\\x7F")),
    "form feed": (HEADER + "001,F,2014-01-01\n002,\x0cM,2014-01-01\n", ("error", 2, "SEX", "\\x0CM")),
    "tab": (HEADER + "0\t01,F,2014-01-01\n", ("warning", 1, "PT", "0\\x0901")),
    "quoted newline": (HEADER + '"0\n01",F,2014-01-01\n', ("warning", 1, "PT", "0\\x0A01")),
    "lone carriage return": (HEADER + '"0\r01",F,2014-01-01\n', ("warning", 1, "PT", "0\\x0D01")),
    "vertical tab after blank line": (HEADER + "\n0\x0b01,F,2014-01-01\n", ("error", 2, "PT", "0\\x0B01")),
}


@pytest.mark.parametrize("case", CONTROLS)
def test_control_character_in_a_value_is_a_finding(tmp_path, case):
    text, expected = CONTROLS[case]
    spec, raw = make_study(tmp_path, {"subj.csv": text})
    findings = map_study(spec, raw).findings
    hit = findings[findings["rule"] == "RAW-CONTROL-CHAR"]
    assert hit[["severity", "row", "variable", "value"]].values.tolist() == [list(expected)]
    code, out = cli("sdtm", spec, "--raw", raw, "--out", tmp_path / "out")
    if expected[0] == "error":          # never written to XPT
        assert code == 1 and "RAW-CONTROL-CHAR" in out, out
        assert not (tmp_path / "out" / "dm.xpt").exists()
    else:                               # written, and reported
        report = pd.read_csv(tmp_path / "out" / "mapping_findings.csv", dtype=str)
        assert "RAW-CONTROL-CHAR" in set(report["rule"])


def test_nul_byte_is_an_error_naming_the_line(tmp_path):
    code, out = _mapping_error(tmp_path, HEADER + "001,F,2014-01-01\n0\x0002,M,2014-01-01\n")
    assert code == 2 and "[RAW-NUL]" in out and "line(s) 3" in out, out


# ------------------------------------------------------------------ duplicate keys
def test_duplicate_subject_rows_with_conflicting_values_name_file_rows_and_key(tmp_path):
    code, out = _mapping_error(tmp_path, HEADER + "001,F,2014-01-01\n002,M,2014-01-01\n"
                               "001,M,2014-01-02\n")
    assert code == 2 and "[RAW-DUPLICATE-KEY]" in out, out
    assert "subj.csv" in out and "key 001: rows 1, 3" in out and "different values" in out


def test_identical_duplicate_rows_are_an_error_too(tmp_path):
    code, out = _mapping_error(tmp_path, HEADER + "001,F,2014-01-01\n001,F,2014-01-01\n")
    assert code == 2 and "[RAW-DUPLICATE-KEY]" in out and "different values" not in out, out


def test_composite_key_names_each_part(tmp_path):
    spec, raw = make_study(tmp_path, {"subj.csv": HEADER + "001,F,2014-01-01\n001,F,2014-01-01\n"
                                      "001,M,2014-01-02\n"}, key="[PT, SEX]")
    with pytest.raises(InputError) as info:
        map_study(spec, raw)
    assert info.value.rule == "RAW-DUPLICATE-KEY" and info.value.details == ["key 001|F: rows 1, 2"]


def test_duplicate_subject_without_declared_key_is_an_error_not_a_traceback(tmp_path):
    code, out = _mapping_error(tmp_path, HEADER + "001,F,2014-01-01\n001,M,2014-01-02\n", key=None)
    assert code == 2 and "[DM-DUPLICATE-SUBJECT]" in out, out
    assert "USUBJID S1-001: subj.csv row 1" in out and "subj.csv row 2" in out


def test_duplicate_subject_in_the_bundled_study_is_an_error_not_a_traceback(tmp_path, repo):
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(repo / "fixtures" / "sorafenib_dtic" / "raw", raw)
    subjects = (raw / "subjects.csv").read_text().splitlines()
    (raw / "subjects.csv").write_text("\n".join(subjects + [subjects[2].replace("Male", "Female")]) + "\n")
    code, out = cli("sdtm", repo / "mappings" / "sorafenib_dtic", "--raw", raw, "--out", tmp_path / "o")
    assert code == 2 and "[RAW-DUPLICATE-KEY]" in out and f"rows 2, {len(subjects)}" in out, out


# ------------------------------------------------------------------ Excel as typed
def _book(tmp_path, rows, formats=None, name="subj.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cell, fmt in (formats or {}).items():
        sheet[cell].number_format = fmt
    path = tmp_path / name
    book.save(path)
    return path


EXCEL = {
    # value in B2, its number format (None: openpyxl's default), the text read
    "text with leading zeros": ("010", None, "010"),
    "number formatted 000": (10, "000", "010"),
    "number formatted 00000": (42, "00000", "00042"),
    "number formatted 0.00": (1.5, "0.00", "1.50"),
    "whole number as float": (3.0, None, "3"),
    "fraction": (0.1, None, "0.1"),
    "large integer": (12345678901, None, "12345678901"),
    "date cell (date format)": (dt.datetime(2014, 1, 12), "dd-mmm-yyyy", "2014-01-12"),
    "date object": (dt.date(2014, 1, 12), None, "2014-01-12"),
    "date and time shown": (dt.datetime(2014, 1, 12, 8, 30), "yyyy-mm-dd hh:mm", "2014-01-12T08:30:00"),
    "midnight with a time format": (dt.datetime(2014, 1, 12), "yyyy-mm-dd hh:mm", "2014-01-12T00:00:00"),
    "time only": (dt.time(8, 30), "hh:mm", "08:30:00"),
    "boolean": (True, None, "TRUE"),
}


@pytest.mark.parametrize("case", EXCEL)
def test_excel_cell_is_read_as_the_user_sees_it(tmp_path, case):
    value, fmt, text = EXCEL[case]
    path = _book(tmp_path, [["PT", "V"], ["001", value]], {"B2": fmt} if fmt else None)
    frame = read_raw_table(path)
    assert frame["V"].tolist() == [text]
    assert "T00:00:00" not in text or "hh" in (fmt or "")


def test_excel_blank_rows_count_and_values_beyond_the_header_are_refused(tmp_path):
    frame = read_raw_table(_book(tmp_path, [["PT", "SEX"], ["001", "F"], [], ["002", "M"]]))
    assert frame["__row"].tolist() == [1, 3]
    with pytest.raises(InputError) as info:
        read_raw_table(_book(tmp_path, [["PT", "SEX"], ["001", "F", "x"]], name="b.xlsx"))
    assert info.value.rule == "RAW-RAGGED" and "line(s) 2" in info.value.message
    with pytest.raises(InputError) as info:
        read_raw_table(_book(tmp_path, [["PT", "PT"], ["001", "F"]], name="c.xlsx"))
    assert info.value.rule == "RAW-HEADER"


def test_excel_study_keeps_site_zeros_and_dates_without_time(tmp_path):
    book = _book(tmp_path, [["PT", "SEX", "START"], [1, "F", dt.datetime(2014, 1, 12)]],
                 {"A2": "000", "C2": "dd/mm/yyyy"})
    spec, raw = make_study(tmp_path, {"subj.xlsx": book.read_bytes()}, table_file="subj.xlsx")
    dm = map_study(spec, raw).domains["DM"]
    assert dm[["USUBJID", "SUBJID", "RFSTDTC"]].values.tolist() == [["S1-001", "001", "2014-01-12"]]
