"""The Dataset-JSON reader's column-by-column route (io.datasetjson.columnar) against
parsing the whole file (the route it replaces for files laid out one row per line).

Every test compares the two routes on the same bytes: the frames must be equal value for
value and dtype for dtype, and a file the columnar route cannot prove it reads exactly
must go the other way, with the other route's error message when it is bad.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cdisc_convert.io.datasetjson.columnar as columnar
import cdisc_convert.io.datasetjson.reader as reader
from cdisc_convert.core.errors import InputError
from cdisc_convert.io.datasetjson import read_dataset_json, write_dataset_json


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
def test_hostile_values_read_alike_by_both_routes(tmp_path, ndjson):
    frame = _hostile_frame()
    path = write_dataset_json(frame, tmp_path / ("h.ndjson" if ndjson else "h.json"),
                              name="ADXX", label="X", ndjson=ndjson,
                              columns_meta={"FLAG": {"dataType": "boolean"}})
    _same(path)
    got = read_dataset_json(path)
    assert got["TEXT"].tolist() == ["" if t is None else t for t in HOSTILE_TEXT]
    assert got["BIG"].tolist() == [float(2 ** 62 + i) for i in range(len(HOSTILE_TEXT))]
    assert np.signbit(got["AVAL"][1]) == np.signbit(-0.0)


def test_many_rows_with_runs_and_repeats_read_alike(tmp_path):
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
def test_valid_hand_made_rows_read_alike(tmp_path, case, ndjson):
    path = tmp_path / ("x.ndjson" if ndjson else "x.json")
    path.write_bytes(_compact(_COLS, VALID_ROWS[case], ndjson=ndjson))
    _same(path)


# layouts the columnar route does not take: the whole-file parse reads them as before
OTHER_LAYOUTS = {
    "spaces": (_COLS, ['[ "a" , 1 ]', '["b",2]'], None),
    "two rows on a line": (_COLS, ['["a",1],["b",2]'], 2),
    "space before a string": (_TWO_TEXT, ['["a", "b"]'], None),
    "CR LF": (_COLS, ['["a",1]\r', '["b",2]\r'], None),
}


@pytest.mark.parametrize("case", list(OTHER_LAYOUTS))
def test_other_layouts_go_the_other_way_and_read_alike(tmp_path, case):
    columns, rows, records = OTHER_LAYOUTS[case]
    for ndjson in (False, True):
        path = tmp_path / ("x.ndjson" if ndjson else "x.json")
        path.write_bytes(_compact(columns, rows, records=records, ndjson=ndjson))
        if case == "two rows on a line" and ndjson:
            continue        # not valid NDJSON (a BAD_ROWS case of its own)
        _same(path, columnar_route=False)


def test_pretty_printed_file_goes_the_other_way(tmp_path):
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
}


@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_rows_give_the_whole_file_error(tmp_path, case, ndjson):
    columns, rows = BAD_ROWS[case]
    path = tmp_path / ("x.ndjson" if ndjson else "x.json")
    path.write_bytes(_compact(columns, rows, ndjson=ndjson,
                              records=3 if case == "records" else None))
    assert _by_columns(path) is None
    with pytest.raises(InputError) as expected:
        _by_parsing(path)
    with pytest.raises(InputError) as got:
        read_dataset_json(path)
    assert str(got.value) == str(expected.value)


def test_a_hash_collision_cannot_merge_two_values(tmp_path, monkeypatch):
    # with a mixing constant of 0 every cell longer than 8 bytes hashes to its last
    # word: "....xxxxxxxx1234" and "....yyyyyyyy1234" collide, and the byte check must
    # catch it (the file then goes the other way)
    rows = ['["' + "x" * 8 + '1234567",1]', '["' + "y" * 8 + '1234567",2]']
    path = tmp_path / "x.json"
    path.write_bytes(_compact(_COLS, rows))
    _same(path)
    monkeypatch.setattr(columnar, "_MIX", np.uint64(0))
    assert _by_columns(path) is None
    assert read_dataset_json(path)["A"].tolist() == ["x" * 8 + "1234567",
                                                     "y" * 8 + "1234567"]


def test_rows_not_last_go_the_other_way(tmp_path):
    doc = json.loads(_compact(_COLS, ['["a",1]']))
    rows = doc.pop("rows")
    text = json.dumps({"rows": rows, **doc}, separators=(",", ":"))
    path = tmp_path / "x.json"
    path.write_text(text)
    _same(path, columnar_route=False)
