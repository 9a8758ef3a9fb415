"""Delimited raw tables read by pyarrow give exactly what the pandas route gives (io.raw).

``read_raw_table`` reads a plain CSV file (UTF-8, one record per line) with pyarrow's
parser and anything else with pandas after its checks. Each file here is read both ways:
the same frame (values, column names, dtypes, raw row numbers) with the same control
characters found, or the same error message.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdisc_convert.io.raw as raw
from cdisc_convert.core.errors import InputError


def _read(path, **kwargs):
    try:
        frame = raw.read_raw_table(path, **kwargs)
    except InputError as err:
        return ("error", str(err))
    # the hint only says whether values may hold control characters (the pandas route
    # also says so for a line feed it cannot place): what counts is what is then found
    found = [(column, rows.tolist(), values.tolist(), hard) for column, rows, values, hard
             in raw.control_characters(frame, frame.attrs.pop("controls"))]
    return ("frame", frame.columns.tolist(), [str(t) for t in frame.dtypes],
            frame.to_numpy().tolist(), frame.attrs, found)


def _pandas_route(monkeypatch, path, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(raw, "_read_plain_delimited", lambda *a: None)
        return _read(path, **kwargs)


CASES = {
    "plain": b"ID,AGE,SEX\n001,54,F\n002,,M\n",
    "no final line feed": b"ID,AGE\n001,54\n002,61",
    "header only": b"ID,AGE\n",
    "crlf": b"ID,AGE\r\n001,54\r\n002,61\r\n",
    "byte-order mark": b"\xef\xbb\xbfID,AGE\n001,54\n",
    "quoted separators and doubled quotes": b'ID,TERM\n001,"Pain, chest ""severe"""\n',
    "quote inside a value": b'ID,TERM\n001,5" lesion\n',
    "text after a closing quote": b'ID,TERM\n001,"ab"c\n',
    "blanks kept": b"ID,TERM\n001, a \n",
    "NA and null stay text": b"ID,TERM\nNA,null\n",
    "accents": "ID,TERM\n001,Léiomyosarcome\n".encode(),
    "tab inside a value": b"ID,TERM\n001,a\tb\n",
    "carriage return inside quotes": b'ID,TERM\n001,"a\rb"\n',
    "lone carriage return": b"ID,TERM\n001,a\rb\n",
    "line break inside quotes": b'ID,TERM\n001,"a\nb"\n002,c\n',
    "quote opened in the last record": b'ID,TERM\n001,"\n',
    "quote opened after a literal quote": b'ID,TERM\n001,5"\n002,"\n',
    "quote opened at the end without a line feed": b'ID,TERM,X\n,,"',
    "blank line": b"ID,TERM\n001,a\n\n002,b\n",
    "trailing blank line": b"ID,TERM\n001,a\n\n",
    "whitespace line": b"ID,TERM\n001,a\n  \n002,b\n",
    "ragged row": b"ID,TERM\n001,a,x\n002,b\n",
    "short row": b"ID,TERM\n001\n002,b\n",
    "repeated header": b"ID,ID\n001,a\n",
    "header names with blanks": b" ID , TERM\n001,a\n",
    "empty header name": b"ID,\n001,a\n",
    "one column": b"ID\n001\n\n002\n",
    "semicolons": b"ID;TERM\n001;a\n",
    "NUL byte": b"ID,TERM\n001,a\x00b\n",
    "not UTF-8": b"ID,TERM\n001,\xe9t\xe9\n",
    "escape control": b"ID,TERM\n001,a\x1bb\n",
    "empty file": b"",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_pyarrow_and_pandas_routes_agree(name, tmp_path, monkeypatch):
    path = tmp_path / "table.csv"
    path.write_bytes(CASES[name])
    assert _read(path) == _pandas_route(monkeypatch, path)


@pytest.mark.parametrize("name", ["plain", "no final line feed", "crlf", "byte-order mark",
                                  "quoted separators and doubled quotes", "accents",
                                  "tab inside a value", "header only"])
def test_plain_files_take_the_pyarrow_route(name, tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(CASES[name])
    assert raw._read_plain_delimited(path, "utf-8", ",") is not None


@pytest.mark.parametrize("name", ["line break inside quotes", "quote opened in the last record",
                                  "quote opened after a literal quote", "blank line",
                                  "ragged row", "lone carriage return", "one column",
                                  "empty header name", "not UTF-8"])
def test_other_files_take_the_pandas_route(name, tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(CASES[name])
    assert raw._read_plain_delimited(path, "utf-8", ",") is None


def test_the_rows_and_the_control_hint_of_a_plain_file(tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(b"ID,TERM\n001,a\n002,b\n003,c\td\n")
    frame = raw.read_raw_table(path)
    assert frame["__row"].tolist() == [1, 2, 3]
    assert frame["TERM"].tolist() == ["a", "b", "c\td"]
    assert frame.attrs["controls"] is True
    path.write_bytes(b"ID,TERM\n001,a\n002,b\n")
    assert raw.read_raw_table(path).attrs["controls"] is False


def test_equal_values_of_a_column_share_one_string_object(tmp_path):
    # the mapping numbers a column's values by object identity first (core.factorize)
    path = tmp_path / "table.csv"
    path.write_bytes(b"ID,SEX\n" + b"".join(b"%03d,F\n" % i for i in range(50)))
    sexes = raw.read_raw_table(path)["SEX"].tolist()
    assert len({id(s) for s in sexes}) == 1


_CELL = st.text(alphabet=['a', 'b', ' ', ',', '"', '\n', '\r', '\t', 'é', ';'], max_size=4)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_CELL, min_size=2, max_size=2), max_size=4),
       quote=st.booleans(), end=st.sampled_from(["\n", "\r\n", ""]))
def test_any_small_table_reads_the_same_both_ways(rows, quote, end, tmp_path, monkeypatch):
    def field(text):
        return '"' + text.replace('"', '""') + '"' if quote else text

    text = end.join(",".join(field(c) for c in row) for row in [["ID", "TERM"], *rows]) + end
    path = tmp_path / "table.csv"
    path.write_bytes(text.encode())
    assert _read(path) == _pandas_route(monkeypatch, path)
