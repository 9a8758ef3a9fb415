"""The RTF encoder of the report (cdisc_convert/report/rtf.py): escaping, pagination with
the column headers on every page, rules, on hand-checked tables; byte for byte rtflite's
output for the same layout; and LibreOffice reading back the text."""
from __future__ import annotations

import random
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.report.rtf import encode_table, escape, line_counts, page_ranges
from cdisc_convert.report.tables import Table
from cdisc_convert.report.tlf import INDENT, write_rtf


def test_escape_rtf_specials_and_non_ascii():
    assert escape("plain 12 (3.4)") == "plain 12 (3.4)"
    assert escape("a\\b {c}") == "a\\\\b \\{c\\}"
    assert escape("caf\u00e9 \u00b1 \u2265 3") == "caf\\u233? \\u177? \\u8805? 3"
    assert escape("\u4e2d") == "\\u20013?"                 # above 32767: signed 16 bit
    assert escape("\U0001d6fc") == "\\u-10187?\\u-8452?"   # beyond the BMP: D835 DEFC
    assert escape("one\ntwo\tthree\x07") == "one\\line two\\tab three"
    assert escape("x_1^2 >= y") == "x_1^2 >= y"     # not markup (rtflite read it as such)


def test_line_counts_and_pages_by_hand():
    # 8.5 inches in two columns of relative width 3:1 = 6.375 and 2.125 inches; a 9 pt
    # "M" is 8 points wide (Liberation Serif 1821/2048 em, on FreeType's 1/64 grid), so
    # 2.125 inches (153 points) hold 19 of them: 20 take two lines, 39 (312 points) three
    col = np.array(["x", "M" * 19, "M" * 20, "M" * 39], dtype=object)
    lines = line_counts([np.array(["a"] * 4, dtype=object), col], [3, 1])
    assert lines.tolist() == [1, 1, 2, 3]
    assert page_ranges(np.array([1, 1, 3, 1]), 4) == [(0, 2), (2, 4)]
    assert page_ranges(np.array([5, 1, 1]), 4) == [(0, 1), (1, 3)]   # too tall: alone
    assert page_ranges(np.array([1] * 6), 3) == [(0, 3), (3, 6)]
    assert page_ranges(np.array([], dtype=int), 3) == []


def _pages(text):
    return text.split("\\page")


def test_pages_repeat_title_and_headers_with_rules():
    # 24 lines less a header row, the footnote and the source: 21 rows a page
    rows = [f"Row {i}" for i in range(45)]
    text = encode_table(title=["Table 1", "Listing"], header=["Label", "A {x}"],
                        columns=[np.array(rows, dtype=object),
                                 np.array(["1"] * 45, dtype=object)],
                        relative_widths=[3, 1], footnotes=["Note \u00b9"], source="Src")
    pages = _pages(text)
    assert len(pages) == 3
    for i, page in enumerate(pages):
        assert "{\\f0 Table 1}\\line\\fs24{\\f0 Listing}" in page
        assert page.count("{\\f0 A \\{x\\}}\\cell") == 1              # header on every page
        first_header = page[page.index("\\trowd"):page.index("\\intbl\\row")]
        # a double rule above the header on the first page, single on later ones
        assert ("\\clbrdrt\\brdrdb" in first_header) == (i == 0)
    assert [len(re.findall(r"\{\\f0 Row \d+\}", p)) for p in pages] == [21, 21, 3]
    assert "{\\f0 Row 21}" in pages[1] and "{\\f0 Row 44}" in pages[2]
    # footnote and source only on the last page; there the footnote carries the double
    # rule, on the other pages the last row has a single one
    assert all("Note" not in p and "Src" not in p for p in pages[:2])
    assert "{\\f0 Note \\u185?}\\cell" in pages[2] and "{\\f0 Src}\\par}" in pages[2]
    last_row_1 = pages[0][pages[0].rindex("\\trowd"):]
    assert "\\clbrdrb\\brdrs\\brdrw15" in last_row_1
    footnote = pages[2][pages[2].index("Row 44"):]
    assert "\\clbrdrb\\brdrdb" in footnote[footnote.index("\\trowd"):]
    assert text.isascii()


def test_long_cells_take_more_lines_of_the_page():
    # one row of 4 lines: 21 - 3 rows fit on the first page
    col = ["a"] * 30
    col[5] = "M" * 70                           # 560 points in 153 a line: 4 lines
    text = encode_table(title=["T"], header=["L", "V"],
                        columns=[np.array([f"r{i}" for i in range(30)], dtype=object),
                                 np.array(col, dtype=object)],
                        relative_widths=[3, 1], footnotes=["f"], source="s")
    pages = _pages(text)
    assert [p.count("\\intbl\\row") for p in pages] == [1 + 18, 1 + 12 + 1]


def test_empty_table_has_title_header_and_footnote():
    text = encode_table(title=["T"], header=["L", "V"],
                        columns=[np.empty(0, dtype=object)] * 2, relative_widths=[3, 1],
                        footnotes=["none"])
    assert "\\page" not in text and "{\\f0 none}" in text and "{\\f0 V}\\cell" in text


# --- the same bytes as rtflite ------------------------------------------------------


def _rtflite(table: Table, source: str) -> str:
    """The report's tables as composed with rtflite before our encoder replaced it."""
    import polars as pl
    import rtflite

    columns = [f"c{i}" for i in range(len(table.header))]
    data = {c: [] for c in columns}
    for row, level in zip(table.rows, table.indent):
        for i, (column, cell) in enumerate(zip(columns, row)):
            data[column].append((INDENT * level + cell) if i == 0 else cell)
    widths = [3] + [1] * (len(columns) - 1)
    justification = ["l"] + ["c"] * (len(columns) - 1)
    spans = ([rtflite.RTFColumnHeader(
        text=[t for t, _ in table.spans],
        col_rel_width=[3 if i == 0 else n for i, (_, n) in enumerate(table.spans)],
        text_justification=["l"] + ["c"] * (len(table.spans) - 1))] if table.spans else [])
    doc = rtflite.RTFDocument(
        df=pl.DataFrame(data, schema={c: pl.Utf8 for c in columns}),
        rtf_page=rtflite.RTFPage(orientation="landscape"),
        rtf_title=rtflite.RTFTitle(text=[f"Table {table.id}", table.title,
                                         f"Population: {table.population}"]),
        rtf_column_header=[*spans, rtflite.RTFColumnHeader(
            text=list(table.header), col_rel_width=widths, text_justification=justification)],
        rtf_body=rtflite.RTFBody(col_rel_width=widths, text_justification=[justification]),
        rtf_footnote=rtflite.RTFFootnote(text=list(table.footnotes)) if table.footnotes
        else None,
        rtf_source=rtflite.RTFSource(text=[source]) if source else None)
    return doc.rtf_encode()


WORDS = ["A", "BB", "CCC WWWW", "Sorafenib 400 mg BID + Dacarbazine 1000 mg/m2", "x" * 60,
         "", "12 (3.4)", "iiiii lllll", "W" * 25, "M" * 51]


def _random_tables(n):
    rng = random.Random(17)
    for k in range(n):
        ncol = rng.randint(2, 12)
        nrow = rng.choice([0, 1, 2, 21, 22, 23, 60])
        spans = ([("", 1), ("Group", ncol - 2), ("Total", 1)]
                 if ncol > 2 and rng.random() < 0.4 else [])
        yield Table(id=f"9.{k}", title=rng.choice(["T", "A long title " * 5]),
                    population="SAFFL", header=[rng.choice(WORDS) for _ in range(ncol)],
                    rows=[[rng.choice(WORDS) for _ in range(ncol)] for _ in range(nrow)],
                    indent=[rng.randint(0, 2) for _ in range(nrow)], ard=pd.DataFrame(),
                    footnotes=rng.choice([[], ["one"], ["one", "two two", "three"]]),
                    spans=spans), rng.choice(["", "Source: ADaM"])


def test_byte_for_byte_rtflite(tmp_path):
    """Wrapped cells, several pages, spans, footnotes, source, empty tables: the bytes
    rtflite 2.6 writes for the same table (text without characters rtflite mis-encodes)."""
    for table, source in _random_tables(24):
        ours = write_rtf(table, tmp_path / "t.rtf", source).read_text(encoding="ascii")
        assert ours == _rtflite(table, source), table.id


def test_byte_for_byte_rtflite_on_the_bundled_study(bundled_run, tmp_path):
    from cdisc_convert.core.resources import bundled_study
    from cdisc_convert.io.read_folder import read_folder
    from cdisc_convert.report.results import build_tables
    from cdisc_convert.report.spec import load_report_spec

    tables = build_tables(read_folder(bundled_run / "adam"), load_report_spec(bundled_study()))
    assert len(tables) > 10 and any(t.spans for t in tables)
    for table in tables:
        ours = write_rtf(table, tmp_path / "t.rtf", "Source: x").read_text(encoding="ascii")
        assert ours == _rtflite(table, "Source: x"), table.id


@pytest.mark.slow    # starts LibreOffice (an office suite, like the browser test: end to end)
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice is not installed")
def test_libreoffice_reads_escaped_text_and_headers_on_every_page(tmp_path):
    rows = [[f"S-{i:03d}", "caf\u00e9 {\\} \u2265 \u4e2d"] for i in range(50)]
    t = Table(id="1", title="Title \u00b1", population="ALL", header=["Subject", "Term {x}"],
              rows=rows, indent=[0] * 50, ard=pd.DataFrame(), footnotes=["Note"])
    write_rtf(t, tmp_path / "t.rtf", "Source")
    # a profile of its own: a LibreOffice of a parallel test or run must not take the job
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless",
                    "--convert-to", "txt:Text (encoded):UTF8",
                    "--outdir", str(tmp_path), str(tmp_path / "t.rtf")], check=True,
                   timeout=180, capture_output=True)
    text = (tmp_path / "t.txt").read_text(encoding="utf-8-sig")
    assert text.count("caf\u00e9 {\\} \u2265 \u4e2d") == 50
    assert "Title \u00b1" in text
    assert text.count("Term {x}") == 3                   # 50 rows: 21 + 21 + 8, 3 pages
    assert "S-049" in text and "Note" in text


def test_long_columns_are_measured_by_shape_as_each_text_would_be():
    """A column of SHAPE_FROM distinct texts or more is measured once per shape (digits
    alike but "1", which Liberation Serif kerns against "1"): the line counts are those of
    measuring every text. The column is as wide as "1" * 30 but narrower than "0" * 30,
    so mapping "1" to "0" too would give the ones two lines."""
    from cdisc_convert.report import rtf

    ones, zeros = rtf.text_width("1" * 30), rtf.text_width("0" * 30)
    assert ones < zeros                        # the kerned pair this test relies on
    points = (ones + zeros) / 2
    # column 1 of two: width = share * 8.5 inches
    share = points / 72 / rtf.TABLE_WIDTH
    relative = [share, 1 - share]
    rng = random.Random(7)
    texts = ["1" * 30, "0" * 30] + [
        f"SUBJ-{rng.randrange(10 ** 4):04d} {rng.choice(['1111', '2031'])}-0{rng.randrange(1, 10)}"
        f"-{rng.randrange(10, 29)} AV 11.{rng.randrange(100)} "
        + rng.choice(["Tokyo", "WAVE", "fi", "é", "\u00a0x"]) * rng.randrange(1, 12)
        for _ in range(rtf.SHAPE_FROM + 500)]
    column = np.array(texts, dtype=object)
    other = np.array([""] * len(texts), dtype=object)
    got = line_counts([column, other], relative)
    width = points / 72
    expected = [int(rtf.text_width(t) / 72.0 / width) + 1 for t in texts]
    assert got.tolist() == expected
    assert got[0] == 1 and got[1] == 2
    assert len(set(got.tolist())) > 2           # the widths cross several line counts
