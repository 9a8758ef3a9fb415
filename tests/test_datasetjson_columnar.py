"""The Dataset-JSON reader's column-by-column routes against parsing the whole file (the
route they replace for files laid out one row per line): the cells cut by Arrow's CSV
reader (io.datasetjson.arrowrows) and found by numpy passes (io.datasetjson.columnar).

Every test compares the routes on the same bytes: the frames must be equal value for
value and dtype for dtype, and a file a columnar route cannot prove it reads exactly
must go the other way, with the whole-file route's error message when it is bad. The
``route`` fixture lets one columnar route at a time take files (the other hands every
file on), so each is checked on every case.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cdisc_convert.io.datasetjson.arrowrows as arrowrows
import cdisc_convert.io.datasetjson.columnar as columnar
import cdisc_convert.io.datasetjson.reader as reader
from cdisc_convert.core.errors import InputError
from cdisc_convert.io.datasetjson import read_dataset_json, write_dataset_json


@pytest.fixture(params=["arrow", "numpy"])
def route(request, monkeypatch) -> str:
    """The one columnar route that may take files in this test; with Arrow's, every file
    is memory-mapped as large files are."""
    if request.param == "arrow":
        monkeypatch.setattr(reader, "decode_rows", lambda *args: None)
        monkeypatch.setattr(reader, "_MAP_FROM", 0)
    else:
        monkeypatch.setattr(reader, "decode_rows_arrow", lambda *args: None)
    return request.param


def _by_parsing(path: Path, dates: str = "python") -> pd.DataFrame:
    """The frame of the route that parses the whole file (the reference)."""
    path = Path(path)
    obj, nrows, data = reader._read_parsed(reader._parse_file(reader._file_bytes(path), path),
                                           path, dates)
    return pd.DataFrame(data, index=pd.RangeIndex(nrows), columns=[c["name"]
                                                                   for c in obj["columns"]])


def _by_columns(path: Path, dates: str = "python") -> pd.DataFrame | None:
    """The columnar route's frame, or None when it hands the file on."""
    path = Path(path)
    fast = reader._read_columnar(reader._file_bytes(path), path, dates)
    if fast is None:
        return None
    obj, nrows, data = fast
    return pd.DataFrame(data, index=pd.RangeIndex(nrows), columns=[c["name"]
                                                                   for c in obj["columns"]])


def _refused_alike(path: Path) -> None:
    """The columnar route hands the file on and the reader raises the whole-file parser's
    error."""
    assert _by_columns(path) is None
    with pytest.raises(InputError) as expected:
        _by_parsing(path)
    with pytest.raises(InputError) as got:
        read_dataset_json(path)
    assert str(got.value) == str(expected.value)


def _same(path: Path, *, columnar_route: bool = True) -> None:
    """Both routes read ``path`` alike in every date mode; the columnar one took it."""
    for dates in ("python", "sas", "iso"):
        fast = _by_columns(path, dates)
        assert (fast is not None) == columnar_route, (path.name, dates)
        expected = _by_parsing(path, dates)
        got = read_dataset_json(path, dates=dates)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        if fast is not None:
            pd.testing.assert_frame_equal(fast, expected, check_exact=True)


LONG = "Lorem ipsum, \"dolor\" sit amet; " * 40 + "é"

HOSTILE_TEXT = ["plain", "", None, "a,b", "],[", '"', '\\', 'ends with \\', '\\"', ",",
                "é中\u2028x\x85y", "🎉 emoji", "tab\tnew\nline\r", "nul\x00byte", "\x1f",
                LONG, LONG[:-1] + "e", "12345678", "123456789", "1234567", "null", "true",
                " spaced ", "[1,2]", "{\"k\":1}", "\u0000", "abcdefgh" * 3, "abcdefgh" * 3 + "x"]


def _hostile_frame() -> pd.DataFrame:
    n = len(HOSTILE_TEXT)
    rng = np.random.default_rng(17)
    numbers = [np.nan, -0.0, 0.0, 1e-300, 1.7976931348623157e308, -2.5, 0.1, 1 / 3,
               2.0 ** 53 + 2, 123456.789, 5e-324]
    return pd.DataFrame({
        "STUDYID": ["S1"] * n,
        "TEXT": HOSTILE_TEXT,
        "RTEXT": list(reversed(HOSTILE_TEXT)),
        "AVAL": [numbers[i % len(numbers)] for i in range(n)],
        "ASEQ": np.arange(1, n + 1, dtype=float),
        "BIG": [2 ** 62 + i for i in range(n)],             # int64 beyond 2**53
        "ADT": [dt.date(2014, 1, 1) + dt.timedelta(days=int(d)) if d % 5 else None
                for d in rng.integers(0, 3000, n)],
        "ADTM": pd.to_datetime(["2014-01-02T03:04:05"] * (n - 1) + [None]),
        "LBDTC": ["2014-01-02T03:04", "2014-01", ""] * (n // 3) + [""] * (n % 3),
        "FLAG": [True, False] * (n // 2) + [True] * (n % 2),
    })


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
def test_hostile_values_read_alike_by_both_routes(tmp_path, ndjson, route):
    frame = _hostile_frame()
    path = write_dataset_json(frame, tmp_path / ("h.ndjson" if ndjson else "h.json"),
                              name="ADXX", label="X", ndjson=ndjson,
                              columns_meta={"FLAG": {"dataType": "boolean"}})
    _same(path)
    got = read_dataset_json(path)
    assert got["TEXT"].tolist() == ["" if t is None else t for t in HOSTILE_TEXT]
    assert got["BIG"].tolist() == [float(2 ** 62 + i) for i in range(len(HOSTILE_TEXT))]
    assert np.signbit(got["AVAL"][1]) == np.signbit(-0.0)


def test_many_rows_with_runs_and_repeats_read_alike(tmp_path, route):
    # sorted data (long runs), values coming back later, and many distinct long texts
    n = 5000
    ids = np.repeat([f"STUDY-SUBJECT-{i:06d}" for i in range(n // 50)], 50)
    frame = pd.DataFrame({
        "USUBJID": ids,
        "PARAM": np.tile(["Alanine Aminotransferase (U/L)", "Albumin (g/L)", None,
                          "Alb, \"quoted\" (g/L)", "Alanine Aminotransferase (U/L) "], n // 5),
        "AVAL": np.round(np.random.default_rng(1).normal(40, 10, n), 3),
        "ADY": np.arange(n, dtype=float) - 100,
    })
    for ndjson in (False, True):
        path = write_dataset_json(frame, tmp_path / ("m.ndjson" if ndjson else "m.json"),
                                  name="ADLB", label="X", ndjson=ndjson)
        _same(path)
    # NDJSON under a .json name is found out by the whole-file parse, as before
    misnamed = tmp_path / "n.json"
    misnamed.write_bytes((tmp_path / "m.ndjson").read_bytes())
    _same(misnamed, columnar_route=False)


def _compact(columns, rows, *, ndjson=False, records=None, sep=",\n") -> bytes:
    """A Dataset-JSON file laid out as the writer lays it out, rows given as JSON text."""
    head = {"datasetJSONCreationDateTime": "2024-01-01T00:00:00",
            "datasetJSONVersion": "1.1.0", "itemGroupOID": "IG.X",
            "records": len(rows) if records is None else records, "name": "X",
            "label": "X", "columns": columns}
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False)
    if ndjson:
        return (text + "\n" + "".join(row + "\n" for row in rows)).encode()
    return (text[:-1] + ',"rows":[\n' + sep.join(rows) + "\n]}\n").encode()


_COLS = [{"itemOID": "IT.X.A", "name": "A", "label": "A", "dataType": "string"},
         {"itemOID": "IT.X.B", "name": "B", "label": "B", "dataType": "double"}]
_TWO_TEXT = [_COLS[0], dict(_COLS[0], itemOID="IT.X.C", name="C")]
_ADT = [{"itemOID": "IT.X.ADT", "name": "ADT", "label": "ADT", "dataType": "date",
         "targetDataType": "integer"}]

# rows that are valid JSON and read alike, whichever route takes them
VALID_ROWS = {
    "escapes": ['["a\\",b",1]', '["\\\\",2]', '["\\u0022,\\u002c",3]', '["x\\\\\\"",4]'],
    "number forms": ['["a",1E5]', '["a",-0]', '["a",1.0]', '["a",-0.0]', '["a",1e-7]',
                     '["a",123456789012345678901234567890]', '["a",9007199254740993]'],
    "nulls": ['[null,null]', '["",null]', '["null",0]'],
    "whitespace the parser skips": ['["a",\t1]', '["b", 2]', '["c",3 ]'],
    "one long": ['["' + "x" * 300 + '",1]', '["' + "x" * 299 + 'y",1]'],
}


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
@pytest.mark.parametrize("case", list(VALID_ROWS))
def test_valid_hand_made_rows_read_alike(tmp_path, case, ndjson, route):
    path = tmp_path / ("x.ndjson" if ndjson else "x.json")
    path.write_bytes(_compact(_COLS, VALID_ROWS[case], ndjson=ndjson))
    _same(path)


# layouts a columnar route may not take (the routes taking them are named): the
# whole-file parse reads them as before
OTHER_LAYOUTS = {
    "spaces": (_COLS, ['[ "a" , 1 ]', '["b",2]'], None, {"arrow"}),
    "two rows on a line": (_COLS, ['["a",1],["b",2]'], 2, set()),
    "space before a string": (_TWO_TEXT, ['["a", "b"]', '["c","d"]'], None, {"arrow"}),
    "CR LF": (_COLS, ['["a",1]\r', '["b",2]\r'], None, set()),
    # Arrow would end the line at the CR, which JSON reads as a space
    "CR inside a row": (_COLS, ['["a",1]', '["b",\r2]', '["c",3]'], None, {"numpy"}),
}


@pytest.mark.parametrize("case", list(OTHER_LAYOUTS))
def test_other_layouts_go_the_other_way_and_read_alike(tmp_path, case, route):
    columns, rows, records, taken_by = OTHER_LAYOUTS[case]
    for ndjson in (False, True):
        path = tmp_path / ("x.ndjson" if ndjson else "x.json")
        path.write_bytes(_compact(columns, rows, records=records, ndjson=ndjson))
        if case == "two rows on a line" and ndjson:
            continue        # not valid NDJSON (a BAD_ROWS case of its own)
        _same(path, columnar_route=route in taken_by)


def test_pretty_printed_file_goes_the_other_way(tmp_path, route):
    doc = json.loads(_compact(_COLS, ['["a",1]', '["b",2]']))
    path = tmp_path / "x.json"
    path.write_text(json.dumps(doc, indent=2))
    _same(path, columnar_route=False)


# bad files: the columnar route must hand them on, and the error is the whole-file one
BAD_ROWS = {
    "number in string": (_COLS, ['["a",1]', '[5,2]']),
    "text in double": (_COLS, ['["a",1]', '["b","2"]']),
    "bool in double": (_COLS, ['["a",true]']),
    "short row": (_COLS, ['["a",1]', '["b"]']),
    "long row": (_COLS, ['["a",1,2]']),
    "stray quote": (_COLS, ['["a"b",1]']),
    "unclosed string": (_COLS, ['["a,1]']),
    "nested array": (_COLS, ['[["a"],1]']),
    "nested object": (_COLS, ['[{"a":1},1]']),
    "NaN": (_COLS, ['["a",NaN]']),
    "leading zero": (_COLS, ['["a",01]']),
    "raw tab in string": (_COLS, ['["a\tb",1]']),
    "raw NUL in string": (_COLS, ['["ab\x00",1]', '["ab",1]']),
    "raw NUL in long string": (_COLS, ['["abcdefghij",1]', '["abcdefghij\x00",1]']),
    "raw NUL after a number": (_COLS, ['["a",1]', '["a",1\x00]']),
    "raw NUL after a long number": (_COLS, ['["a",1234567890.12345]',
                                            '["a",1234567890.12345\x00]']),
    "empty cell": (_COLS, ['["a",]']),
    "bad escape": (_COLS, ['["a\\x",1]']),
    "bad date": (_ADT, ['["2014-01-02"]', '["2014-13-45"]']),
    "records": (_COLS, ['["a",1]']),
    "two values on an NDJSON line": (_COLS, ['["a",1] ["b",2]']),
    # a comma inside a string and none between the cells: as many fields as a good row
    "comma in a string, none between cells": (_COLS, ['["x",1]', '["a,b" 1]', '["y",2]']),
    "text after a row": (_COLS, ['["a",1] x', '["b",2]']),
    "text after a row's comma": (_COLS, ['["a",1],x', '["b",2]']),
    "row not closed": (_COLS, ['["a",1', '["b",2]']),
    "row not opened": (_COLS, ['"a",1]', '["b",2]']),
}


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_rows_give_the_whole_file_error(tmp_path, case, ndjson, route):
    columns, rows = BAD_ROWS[case]
    path = tmp_path / ("x.ndjson" if ndjson else "x.json")
    path.write_bytes(_compact(columns, rows, ndjson=ndjson,
                              records=3 if case == "records" else None))
    _refused_alike(path)


def test_a_hash_collision_cannot_merge_two_values(tmp_path, monkeypatch):
    # with a mixing constant of 0 every cell longer than 8 bytes hashes to its last
    # word: "....xxxxxxxx1234" and "....yyyyyyyy1234" collide, and the byte check must
    # catch it (the file then goes the other way)
    monkeypatch.setattr(reader, "decode_rows_arrow", lambda *args: None)
    rows = ['["' + "x" * 8 + '1234567",1]', '["' + "y" * 8 + '1234567",2]']
    path = tmp_path / "x.json"
    path.write_bytes(_compact(_COLS, rows))
    _same(path)
    monkeypatch.setattr(columnar, "_MIX", np.uint64(0))
    assert _by_columns(path) is None
    assert read_dataset_json(path)["A"].tolist() == ["x" * 8 + "1234567",
                                                     "y" * 8 + "1234567"]


def test_rows_not_last_go_the_other_way(tmp_path, route):
    doc = json.loads(_compact(_COLS, ['["a",1]']))
    rows = doc.pop("rows")
    text = json.dumps({"rows": rows, **doc}, separators=(",", ":"))
    path = tmp_path / "x.json"
    path.write_text(text)
    _same(path, columnar_route=False)


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
def test_arrow_blocks_and_rows_set_aside_read_alike(tmp_path, monkeypatch, ndjson):
    # small blocks: every column's dictionary comes from many blocks and is merged; rows
    # with a comma inside a string (set aside by Arrow, parsed on their own) at the
    # start, in the middle, in runs and at the end must land in their places
    monkeypatch.setattr(arrowrows, "_BLOCK", 300)
    chunks = []
    read_fields = arrowrows._read_fields

    def counting(*args):
        found = read_fields(*args)
        chunks.append(found[0].column(0).num_chunks)
        return found

    monkeypatch.setattr(arrowrows, "_read_fields", counting)
    monkeypatch.setattr(reader, "decode_rows", lambda *args: None)
    n = 400
    comma = np.zeros(n, dtype=bool)
    comma[[0, 1, 57, 58, 59, 200, n - 2, n - 1]] = True
    frame = pd.DataFrame({
        "USUBJID": np.repeat([f"S-{i:03d}" for i in range(n // 8)], 8),
        "TERM": np.where(comma, "Rash, maculo-papular", "Nausea"),
        "AVAL": np.arange(n, dtype=float) / 4,
        "NOTE": np.where(np.arange(n) % 7 == 0, "a,b,c", np.where(np.arange(n) % 3, "", None)),
    })
    path = write_dataset_json(frame, tmp_path / ("a.ndjson" if ndjson else "a.json"),
                              name="AE", label="X", ndjson=ndjson)
    _same(path)
    assert chunks and min(chunks) > 5
    got = read_dataset_json(path)
    assert got["TERM"].tolist() == frame["TERM"].tolist()
    assert got["NOTE"].tolist() == frame["NOTE"].fillna("").tolist()


def test_a_large_file_is_mapped_and_read_alike(tmp_path, monkeypatch):
    frame = pd.DataFrame({"USUBJID": [f"SUBJECT-{i:07d}" for i in range(40_000)],
                          "AVAL": np.arange(40_000) / 7})
    path = write_dataset_json(frame, tmp_path / "big.json", name="ADXX", label="X")
    assert path.stat().st_size >= reader._MAP_FROM
    mapped = []
    file_view = reader._file_view

    def watching(p):
        context = file_view(p)
        view = context.__enter__()
        mapped.append(not isinstance(view, bytes))
        return _Entered(context, view)

    monkeypatch.setattr(reader, "_file_view", watching)
    _same(path)
    assert mapped == [True] * 3
    path.unlink()        # the map is closed: the file can go (Windows would refuse it)


class _Entered:
    """A context manager already entered (for watching what one gave)."""

    def __init__(self, context, value):
        self.context, self.value = context, value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)


def test_text_after_a_rows_comma_gives_the_whole_file_error(tmp_path, route):
    # "x" stands where the next row should start a line: the row has as many fields as
    # a good one, the last being "x" instead of nothing
    path = tmp_path / "x.json"
    path.write_bytes(_compact(_COLS, ['["a",1],x', '["b",2],', '["c",3]'], sep="\n"))
    _refused_alike(path)
