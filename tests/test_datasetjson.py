"""Dataset-JSON v1.1 writer, reader and validator (cdisc_convert.io.datasetjson).

Reference-based tests read the CDISC examples in ../shared/reference/datasetjson in place
(SDTM dm, ae, ex, ts, suppdm and ADaM adsl, adtte, each as JSON and as XPT) and skip when
that folder is absent; the hand-made tests run everywhere.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.errors import CdiscError, InputError, SpecError
from cdisc_convert.io.datasetjson import (
    read_dataset_json,
    validate_dataset_json,
    write_dataset_json,
)

pyreadstat = pytest.importorskip("pyreadstat")

EXAMPLES = [("sdtm", "ae"), ("sdtm", "dm"), ("sdtm", "ex"), ("sdtm", "suppdm"),
            ("sdtm", "ts"), ("adam", "adsl"), ("adam", "adtte")]
EPOCH = "1700000000"  # 2023-11-14T22:13:20Z


@pytest.fixture(scope="session")
def dsj(reference) -> Path:
    return reference / "datasetjson"


@pytest.fixture(scope="session")
def schema(dsj) -> Path:
    return dsj / "schema" / "dataset.schema.json"


def _raw(path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _write_like(frame: pd.DataFrame, path, **kwargs) -> Path:
    """Write a frame read from Dataset-JSON back with its own metadata."""
    a = frame.attrs
    return write_dataset_json(frame, path, name=a["name"], label=a["label"],
                              columns_meta=a["columns"], item_group_oid=a["item_group_oid"],
                              study_oid=a["study_oid"],
                              metadata_version_oid=a["metadata_version_oid"], **kwargs)


def _small_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "USUBJID": ["S-1", "S-2", "S-3"],
        "AETERM": ["Übelkeit", None, ""],
        "AESEQ": [1.0, 2.0, np.nan],
        "AVAL": [1.5, np.nan, 3.0],
        "N": [1, 2, 3],
        "ADT": [dt.date(2020, 1, 2), None, dt.date(1960, 1, 1)],
        "ADTM": pd.to_datetime(["2020-01-02 03:04:05", None, "1960-01-01 00:00:00"]),
        "ATM": [dt.time(1, 2, 3), None, dt.time(23, 59, 59)],
    })


# ---------------------------------------------------------------- reference examples

def test_example_list_covers_every_reference_pair(dsj):
    found = sorted((p.parent.name, p.stem) for p in dsj.glob("*/*.json")
                   if p.parent.name in ("sdtm", "adam"))
    assert found == sorted(EXAMPLES)
    assert all((dsj / f / f"{n}.xpt").is_file() for f, n in EXAMPLES)


@pytest.mark.parametrize("folder,name", EXAMPLES)
def test_reference_example_validates_against_schema(dsj, schema, folder, name):
    assert validate_dataset_json(dsj / folder / f"{name}.json", schema) == []


@pytest.mark.parametrize("folder,name", EXAMPLES)
def test_json_and_xpt_read_to_identical_frames(dsj, folder, name):
    from_json = read_dataset_json(dsj / folder / f"{name}.json")
    from_xpt, _ = pyreadstat.read_xport(str(dsj / folder / f"{name}.xpt"))
    pd.testing.assert_frame_equal(from_json, from_xpt, check_exact=True)
    raw = _raw(dsj / folder / f"{name}.json")
    assert len(from_json) == raw["records"] > 0
    for col in raw["columns"]:  # the in-memory form the module promises
        values = from_json[col["name"]]
        if col["dataType"] in ("string", "URI") or "targetDataType" not in col and \
                col["dataType"] in ("date", "datetime", "time"):
            assert values.map(type).eq(str).all(), col["name"]
        elif col.get("targetDataType") == "integer":
            assert values.dropna().map(type).eq(dt.date).all(), col["name"]
        else:
            assert values.dtype == np.float64, col["name"]


def test_adam_dates_match_pyreadstat_in_every_mode(dsj):
    path = dsj / "adam" / "adsl.json"
    python_dates = read_dataset_json(path)
    assert python_dates.loc[0, "TRTSDT"] == dt.date(2014, 1, 2)
    assert python_dates["TRTSDT"].dtype == object
    sas = read_dataset_json(path, dates="sas")
    assert sas.loc[0, "TRTSDT"] == (dt.date(2014, 1, 2) - dt.date(1960, 1, 1)).days == 19725
    xpt_numbers, _ = pyreadstat.read_xport(str(dsj / "adam" / "adsl.xpt"),
                                           disable_datetime_conversion=True)
    pd.testing.assert_frame_equal(sas, xpt_numbers, check_exact=True)
    iso = read_dataset_json(path, dates="iso")
    assert iso.loc[0, "TRTSDT"] == "2014-01-02"
    with pytest.raises(ValueError, match="dates must be one of"):
        read_dataset_json(path, dates="excel")


def test_attrs_carry_dataset_and_column_metadata(dsj):
    frame = read_dataset_json(dsj / "adam" / "adtte.json")
    raw = _raw(dsj / "adam" / "adtte.json")
    assert set(frame.attrs) >= {"name", "label", "labels", "columns", "item_group_oid",
                                "created"}
    assert frame.attrs["name"] == "ADTTE"
    assert frame.attrs["label"] == "AE Time To 1st Derm. Event Analysis"
    assert frame.attrs["item_group_oid"] == "IG.ADTTE"
    assert frame.attrs["created"] == "2024-11-11T15:09:14"
    assert frame.attrs["columns"] == raw["columns"]
    assert frame.attrs["labels"]["ADT"] == "Analysis Date"
    # The JSON's labels come from define.xml; the XPT carries older ones for two variables.
    _, meta = pyreadstat.read_xport(str(dsj / "adam" / "adtte.xpt"), metadataonly=True)
    differ = {k for k, v in meta.column_names_to_labels.items()
              if frame.attrs["labels"][k] != v}
    assert differ == {"STARTDT", "SRCDOM"}


@pytest.mark.parametrize("folder,name", EXAMPLES)
def test_round_trip_of_reference_example_loses_nothing(dsj, schema, tmp_path, monkeypatch,
                                                       folder, name):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    source = dsj / folder / f"{name}.json"
    first = read_dataset_json(source)
    written = _write_like(first, tmp_path / f"{name}.json")
    second = read_dataset_json(written)
    pd.testing.assert_frame_equal(second, first, check_exact=True)
    original, copy = _raw(source), _raw(written)
    assert copy["columns"] == original["columns"]          # every column attribute
    assert copy["rows"] == original["rows"]                # every value, JSON-level
    for key in ("name", "label", "itemGroupOID", "records", "studyOID",
                "metaDataVersionOID"):
        assert copy[key] == original[key], key
    assert second.attrs["labels"] == first.attrs["labels"]
    assert validate_dataset_json(written, schema) == []


def test_xpt_style_frame_with_sas_number_dates_is_written_as_adam_dates(dsj, tmp_path):
    # Our XPT reader gives dates as SAS numbers (like pyreadstat with
    # disable_datetime_conversion=True) and the formats in attrs["formats"]. The formats
    # are passed as this pyreadstat spells them ("DATE9" before 1.3, "DATE9." since):
    # the writer must read both the same way.
    frame, meta = pyreadstat.read_xport(str(dsj / "adam" / "adsl.xpt"),
                                        disable_datetime_conversion=True)
    frame.attrs["labels"] = meta.column_names_to_labels
    frame.attrs["formats"] = {k: v for k, v in meta.original_variable_types.items() if v}
    path = write_dataset_json(frame, tmp_path / "adsl.json", name="ADSL",
                              label="Subject-Level Analysis")
    doc, original = _raw(path), _raw(dsj / "adam" / "adsl.json")
    by_name = {c["name"]: c for c in doc["columns"]}
    assert by_name["TRTSDT"] == {"itemOID": "IT.ADSL.TRTSDT", "name": "TRTSDT",
                                 "label": "Date of First Exposure to Treatment",
                                 "dataType": "date", "targetDataType": "integer",
                                 "displayFormat": "DATE9."}
    assert by_name["AGE"]["dataType"] == "double"  # no spec: numbers stay double
    assert doc["rows"] == original["rows"]
    pd.testing.assert_frame_equal(read_dataset_json(path, dates="sas"), frame,
                                  check_exact=True)


@pytest.mark.parametrize("spelling, kind, display", [
    ("DATE9.", "date", "DATE9."), ("DATE9", "date", "DATE9."), ("date9", "date", "DATE9."),
    ("E8601DA10.", "date", "E8601DA10."), ("YYMMDDN8", "date", "YYMMDDN8."),
    ("DATETIME20", "datetime", "DATETIME20."), ("E8601DT19.", "datetime", "E8601DT19."),
    ("TIME8", "time", "TIME8."), ("TIME8.", "time", "TIME8.")])
def test_sas_date_format_is_recognised_whatever_its_spelling(tmp_path, spelling, kind,
                                                              display):
    frame = pd.DataFrame({"X": [0.0, 21915.0, np.nan]})
    frame.attrs["formats"] = {"X": spelling}
    doc = _raw(write_dataset_json(frame, tmp_path / "x.json", name="ADX", label="X"))
    column = doc["columns"][0]
    assert (column["dataType"], column["targetDataType"], column["displayFormat"]) == (
        kind, "integer", display)


@pytest.mark.parametrize("spelling", ["8.2", "8.", "$CHAR8.", "BEST12", "COMMA10.2"])
def test_other_formats_leave_numbers_as_numbers(tmp_path, spelling):
    frame = pd.DataFrame({"X": [0.5, 1.25]})
    frame.attrs["formats"] = {"X": spelling}
    doc = _raw(write_dataset_json(frame, tmp_path / "x.json", name="ADX", label="X"))
    assert doc["columns"][0]["dataType"] == "double"


# ---------------------------------------------------------------- writing hand-made frames

def test_inferred_metadata_and_values(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    frame = _small_frame()
    frame.attrs["labels"] = {"USUBJID": "Unique Subject Identifier"}
    path = write_dataset_json(frame, tmp_path / "adxx.json", name="ADXX", label="Test")
    doc = _raw(path)
    assert list(doc)[:2] == ["datasetJSONCreationDateTime", "datasetJSONVersion"]
    assert list(doc)[-2:] == ["columns", "rows"]
    assert doc["datasetJSONCreationDateTime"] == "2023-11-14T22:13:20Z"
    assert doc["itemGroupOID"] == "IG.ADXX" and doc["records"] == 3
    assert doc["sourceSystem"]["name"] == "cdisc-convert"
    assert doc["columns"] == [
        {"itemOID": "IT.ADXX.USUBJID", "name": "USUBJID",
         "label": "Unique Subject Identifier", "dataType": "string", "length": 3},
        {"itemOID": "IT.ADXX.AETERM", "name": "AETERM", "label": "", "dataType": "string",
         "length": 9},  # "Übelkeit" is 9 UTF-8 bytes
        {"itemOID": "IT.ADXX.AESEQ", "name": "AESEQ", "label": "", "dataType": "integer"},
        {"itemOID": "IT.ADXX.AVAL", "name": "AVAL", "label": "", "dataType": "double"},
        {"itemOID": "IT.ADXX.N", "name": "N", "label": "", "dataType": "integer"},
        {"itemOID": "IT.ADXX.ADT", "name": "ADT", "label": "", "dataType": "date",
         "targetDataType": "integer", "displayFormat": "DATE9."},
        {"itemOID": "IT.ADXX.ADTM", "name": "ADTM", "label": "", "dataType": "datetime",
         "targetDataType": "integer", "displayFormat": "DATETIME20."},
        {"itemOID": "IT.ADXX.ATM", "name": "ATM", "label": "", "dataType": "time",
         "targetDataType": "integer", "displayFormat": "TIME8."},
    ]
    assert doc["rows"] == [
        ["S-1", "Übelkeit", 1, 1.5, 1, "2020-01-02", "2020-01-02T03:04:05", "01:02:03"],
        ["S-2", None, 2, None, 2, None, None, None],
        ["S-3", "", None, 3.0, 3, "1960-01-01", "1960-01-01T00:00:00", "23:59:59"],
    ]
    assert "Übelkeit" in path.read_text(encoding="utf-8")  # ensure_ascii=False
    back = read_dataset_json(path)
    assert back["AETERM"].tolist() == ["Übelkeit", "", ""]  # null string reads as ""
    assert back["ADT"].tolist()[0] == dt.date(2020, 1, 2) and pd.isna(back.loc[1, "ADT"])
    assert back["ADTM"].dtype == "datetime64[ns]"
    assert back["ATM"].tolist()[2] == dt.time(23, 59, 59)
    assert back["N"].dtype == np.float64 and back["N"].tolist() == [1.0, 2.0, 3.0]


def test_hand_made_output_validates_against_schema(schema, tmp_path):
    frame = _small_frame()
    for ndjson, suffix in ((False, "json"), (True, "ndjson")):
        path = write_dataset_json(frame, tmp_path / f"x.{suffix}", name="ADXX", label="X",
                                  study_oid="S.1", metadata_version_oid="MDV.1",
                                  ndjson=ndjson)
        assert validate_dataset_json(path, schema) == []


def test_given_metadata_wins_and_oids_follow_define(tmp_path):
    frame = pd.DataFrame({"USUBJID": ["01-701-1015"], "AGE": [63.0], "BMIBL": [25.1]})
    path = write_dataset_json(
        frame, tmp_path / "adsl.json", name="ADSL", label="Subject-Level Analysis",
        columns_meta={"AGE": {"label": "Age", "dataType": "integer"},
                      "USUBJID": {"label": "Unique Subject Identifier", "keySequence": 1},
                      "BMIBL": {"label": "Baseline BMI", "dataType": "decimal",
                                "length": 16}},
        study_oid="S", metadata_version_oid="MDV")
    doc = _raw(path)
    assert [c["itemOID"] for c in doc["columns"]] == ["IT.ADSL.USUBJID", "IT.ADSL.AGE",
                                                      "IT.ADSL.BMIBL"]
    assert doc["itemGroupOID"] == "IG.ADSL"
    assert doc["columns"][0] == {"itemOID": "IT.ADSL.USUBJID", "name": "USUBJID",
                                 "label": "Unique Subject Identifier",
                                 "dataType": "string", "length": 11, "keySequence": 1}
    assert doc["columns"][2] == {"itemOID": "IT.ADSL.BMIBL", "name": "BMIBL",
                                 "label": "Baseline BMI", "dataType": "decimal",
                                 "targetDataType": "decimal", "length": 16}
    assert doc["rows"] == [["01-701-1015", 63, "25.1"]]  # decimal travels as a string
    assert read_dataset_json(path)["BMIBL"].tolist() == [25.1]


def test_decimal_text_is_exact_and_positional(tmp_path):
    frame = pd.DataFrame({"X": [30.8983333232059, 1e-7, 162.0, np.nan, -0.5]})
    path = write_dataset_json(frame, tmp_path / "d.json", name="D", label="D",
                              columns_meta=[{"name": "X", "dataType": "decimal"}])
    assert [r[0] for r in _raw(path)["rows"]] == ["30.8983333232059", "0.0000001", "162",
                                                  None, "-0.5"]
    back = read_dataset_json(path)["X"].to_numpy()
    np.testing.assert_array_equal(back, frame["X"].to_numpy())


def test_ndjson_layout_and_read_back(tmp_path):
    frame = _small_frame()
    path = write_dataset_json(frame, tmp_path / "x.ndjson", name="ADXX", label="X",
                              ndjson=True)
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # newline-terminated
    head = json.loads(lines[0])
    assert "rows" not in head and head["records"] == 3 and len(head["columns"]) == 8
    assert [json.loads(line) for line in lines[1:-1]][1] == ["S-2", None, 2, None, 2,
                                                             None, None, None]
    json_path = write_dataset_json(frame, tmp_path / "x.json", name="ADXX", label="X")
    pd.testing.assert_frame_equal(read_dataset_json(path), read_dataset_json(json_path),
                                  check_exact=True)


def test_row_boundary_text_inside_values_is_kept(tmp_path):
    # "],[" defeats the fast row splitter; U+2028 and U+0085 stay unescaped in JSON and
    # must not be taken for NDJSON line ends.
    tricky = ['a],[b', 'line\nbreak "quoted" \\ back', '],[', "é中\u2028x\x85y"]
    frame = pd.DataFrame({"T": tricky, "N": [1.0, 2.0, 3.0, 4.0]})
    for ndjson in (False, True):
        path = write_dataset_json(frame, tmp_path / f"t{int(ndjson)}.json", name="T",
                                  label="T", ndjson=ndjson)
        text = path.read_text(encoding="utf-8")
        assert text.count("\n") == (5 if ndjson else 6)  # one line per row
        assert read_dataset_json(path)["T"].tolist() == tricky


def test_rows_spread_over_chunks_keep_every_value(tmp_path, monkeypatch):
    # Text columns are numbered once for the whole data set and each chunk takes its
    # slice: values first seen in a later chunk, nulls, a RangeIndex not starting at 0
    # and more chunks than distinct values must all land in their own rows.
    import cdisc_convert.io.datasetjson.writer as writer

    monkeypatch.setattr(writer, "ROW_CHUNK", 3)
    words = ["a", "a", "b", None, "c", "c", "c", "d\u2028", "", "é", "a", "z"]
    frame = pd.DataFrame({"W": words, "D": ["2020-01-0" + str(i % 9 + 1) for i in range(12)],
                          "N": np.arange(12.0)}, index=pd.RangeIndex(5, 17))
    for ndjson in (False, True):
        path = write_dataset_json(frame, tmp_path / f"c{int(ndjson)}.json", name="XX",
                                  label="X", ndjson=ndjson)
        lines = path.read_text(encoding="utf-8").split("\n")
        rows = lines[1:13] if ndjson else [line.rstrip(",") for line in lines[1:13]]
        expected = [json.dumps([w, d, float(n)], ensure_ascii=False, separators=(",", ":"))
                    for w, d, n in zip(words, frame["D"], frame["N"])]
        assert rows == expected
        assert read_dataset_json(path)["W"].tolist() == ["" if w is None else w
                                                         for w in words]


def test_fast_parser_and_standard_library_read_alike(tmp_path, monkeypatch):
    import cdisc_convert.io.datasetjson.reader as reader

    frame = _small_frame()
    paths = [write_dataset_json(frame, tmp_path / f"x.{ext}", name="ADXX", label="X",
                                ndjson=ext == "ndjson") for ext in ("json", "ndjson")]
    fast = [read_dataset_json(p, dates=d) for p in paths for d in ("python", "sas", "iso")]
    monkeypatch.setattr(reader, "_fast_load", lambda data, path: None)
    slow = [read_dataset_json(p, dates=d) for p in paths for d in ("python", "sas", "iso")]
    for a, b in zip(fast, slow):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a.attrs == b.attrs


def test_text_the_fast_parser_refuses_is_read_as_before(tmp_path):
    # a lone surrogate escape is JSON the standard library takes and orjson does not
    frame = pd.DataFrame({"T": ["x", "y"]})
    path = write_dataset_json(frame, tmp_path / "s.json", name="S", label="S")
    path.write_text(path.read_text(encoding="utf-8").replace('"y"', '"\\ud800"'),
                    encoding="utf-8")
    assert read_dataset_json(path)["T"].tolist() == ["x", "\ud800"]


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "zlib"])
@pytest.mark.parametrize("ndjson", [False, True], ids=["json", "ndjson"])
def test_dsjc_is_read_whatever_the_compression(tmp_path, compress, ndjson):
    frame = _small_frame()
    plain = write_dataset_json(frame, tmp_path / "x.txt", name="ADXX", label="X",
                               ndjson=ndjson)
    packed = tmp_path / "x.dsjc"
    packed.write_bytes(compress(plain.read_bytes()))
    pd.testing.assert_frame_equal(read_dataset_json(packed), read_dataset_json(plain),
                                  check_exact=True)


def test_compressed_reference_example_reads_like_its_xpt(dsj, tmp_path):
    packed = tmp_path / "adsl.dsjc"
    packed.write_bytes(gzip.compress((dsj / "adam" / "adsl.json").read_bytes()))
    from_xpt, _ = pyreadstat.read_xport(str(dsj / "adam" / "adsl.xpt"))
    pd.testing.assert_frame_equal(read_dataset_json(packed), from_xpt, check_exact=True)


def test_source_date_epoch_gives_byte_identical_reruns(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    frame = _small_frame()
    first = write_dataset_json(frame, tmp_path / "a.json", name="ADXX", label="X")
    second = write_dataset_json(frame, tmp_path / "b.json", name="ADXX", label="X")
    assert first.read_bytes() == second.read_bytes()
    assert b'"datasetJSONCreationDateTime":"2023-11-14T22:13:20Z"' in first.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000001")
    third = write_dataset_json(frame, tmp_path / "c.json", name="ADXX", label="X")
    assert third.read_bytes() != first.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(CdiscError, match="SOURCE_DATE_EPOCH"):
        write_dataset_json(frame, tmp_path / "d.json", name="ADXX", label="X")


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = write_dataset_json(pd.DataFrame({"AESEQ": [1.0]}), tmp_path / "ae.json",
                              name="AE", label="Adverse Events")
    before = path.read_bytes()
    with pytest.raises(CdiscError) as caught:
        write_dataset_json(pd.DataFrame({"AESEQ": [1.0, 2.5]}), path, name="AE",
                           label="Adverse Events",
                           columns_meta={"AESEQ": {"dataType": "integer"}})
    message = str(caught.value)
    assert "ae.json" in message and "row 2" in message and "AESEQ" in message
    assert "not whole" in message
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ae.json"]


@pytest.mark.parametrize("meta,problem", [
    ({"X": {"dataType": "text"}}, "dataType 'text' is not one of"),
    ({"X": {"dataType": "string", "targetDataType": "integer"}},
     "targetDataType integer is only for date/datetime/time"),
    ({"X": {"dataType": "string", "length": 0}}, "length must be an integer"),
    ({"X": {"dataType": "string", "format": "$8."}}, "unknown column attribute(s) format"),
    ({"Y": {"label": "not there"}}, "not in the data: Y"),
])
def test_bad_column_metadata_is_a_spec_error(tmp_path, meta, problem):
    with pytest.raises(SpecError) as caught:
        write_dataset_json(pd.DataFrame({"X": ["a"]}), tmp_path / "x.json", name="X",
                           label="X", columns_meta=meta)
    assert problem in str(caught.value)


# ---------------------------------------------------------------- bad input

def _doc(columns, rows, **top) -> dict:
    doc = {"datasetJSONCreationDateTime": "2024-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
           "itemGroupOID": "IG.X", "records": len(rows), "name": "X", "label": "X",
           "columns": columns, "rows": rows}
    doc.update(top)
    return doc


_COLS = [{"itemOID": "IT.X.A", "name": "A", "label": "A", "dataType": "string"},
         {"itemOID": "IT.X.B", "name": "B", "label": "B", "dataType": "integer"}]
_ADT = [{"itemOID": "IT.X.ADT", "name": "ADT", "label": "ADT", "dataType": "date",
         "targetDataType": "integer"}]


def _j(obj) -> bytes:
    return json.dumps(obj).encode()


BAD_INPUTS = {
    "truncated": ("x.json", b'{"datasetJSONVersion": "1.1.0", "columns": [', "not valid JSON"),
    "list": ("x.json", b"[1, 2]", "top level is a JSON list"),
    "empty": ("x.json", b"  \n", "file is empty"),
    "no columns": ("x.json", _j({k: v for k, v in _doc(_COLS, []).items() if k != "columns"}),
                   "missing required attribute(s) columns"),
    "other json": ("x.json", _j({"hello": "world"}), "not Dataset-JSON 1.1: missing"),
    "v1.0": ("x.json", _j({"creationDateTime": "x", "clinicalData": {}}), "Dataset-JSON 1.0"),
    "short row": ("x.json", _j(_doc(_COLS, [["a", 1], ["b"]])),
                  "row 2 has 1 values, expected 2"),
    "records": ("x.json", _j(_doc(_COLS, [["a", 1]], records=3)),
                "records says 3 but the file holds 1 rows"),
    "bad dataType": ("x.json", _j(_doc([dict(_COLS[0], dataType="text")], [["a"]])),
                     "dataType 'text' is not one of"),
    "text in integer": ("x.json", _j(_doc(_COLS, [["a", 1], ["b", "2"]])),
                        "row 2, column B: dataType integer expects JSON numbers"),
    "number in string": ("x.json", _j(_doc(_COLS, [[5, 1]])),
                         "column A: dataType string expects JSON strings"),
    "NaN literal": ("x.json", _j(_doc(_COLS, [["a", 1]])).replace(b"1]]", b"NaN]]"),
                    "NaN is not allowed in JSON"),
    "two rows on a line": ("x.ndjson",
                           _j({k: v for k, v in _doc(_COLS, [["a", 1]] * 2).items()
                               if k != "rows"}) + b'\n["a", 1], ["b", 2]\n',
                           "line 2 is not valid JSON"),
    "fraction in integer": ("x.json", _j(_doc(_COLS, [["a", 1.5]])), "is not whole"),
    "bad date": ("x.json", _j(_doc(_ADT, [["2014-01-02"], ["2014-13-45"]])),
                 "row 2, column ADT: value '2014-13-45' is not an ISO 8601 date"),
    "partial date": ("x.json", _j(_doc(_ADT, [["2014-01"]])),
                     "value '2014-01' is not an ISO 8601 date"),
    "not utf-8": ("x.json", _j(_doc(_COLS, [["a", 1]])).replace(b'"a"', b'"\xe9"'),
                  "not UTF-8"),
    "ndjson line": ("x.ndjson", _j({k: v for k, v in _doc(_COLS, []).items() if k != "rows"})
                    + b'\n["a", 1]\n["b", 2\n', "line 3 is not valid JSON"),
    "dsjc plain": ("x.dsjc", _j(_doc(_COLS, [])), "must be gzip or zlib compressed"),
    "dsjc damaged": ("x.dsjc", gzip.compress(_j(_doc(_COLS, [])))[:-12], "damaged"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_an_input_error_naming_file_and_problem(tmp_path, case):
    filename, content, problem = BAD_INPUTS[case]
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_dataset_json(path)
    message = str(caught.value)
    assert str(path) in message
    assert problem in message


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_dataset_json(tmp_path / "nope.json")


def test_metadata_only_dataset_reads_as_empty_frame(tmp_path):
    path = tmp_path / "x.json"
    doc = _doc(_COLS, [])
    del doc["rows"]
    path.write_bytes(_j(doc))
    frame = read_dataset_json(path)
    assert list(frame.columns) == ["A", "B"] and len(frame) == 0


# ---------------------------------------------------------------- validation messages

def test_validate_reports_schema_and_structure_problems(schema):
    doc = _doc([dict(_COLS[0], dataType="text", format="$8.")], [["a"], ["b", "c"]],
               records=5)
    messages = validate_dataset_json(doc, schema)
    assert any(m.startswith("/columns/0/dataType: 'text' is not one of") for m in messages)
    assert any(m.startswith("/columns/0: Additional properties") for m in messages)
    assert "records says 5 but the file holds 2 rows" in messages
    assert "row 2 has 2 values, expected 1 (one per column)" in messages
    assert validate_dataset_json(_doc(_COLS, [["a", 1]]), schema) == []


def test_validate_without_schema_runs_structure_checks_and_reports_parse_errors(tmp_path,
                                                                             monkeypatch):
    monkeypatch.delenv("CDISC_DATASETJSON_SCHEMA", raising=False)
    assert validate_dataset_json(_doc(_COLS, [["a"]])) == [
        "row 1 has 1 values, expected 2 (one per column)"]
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    [message] = validate_dataset_json(broken)
    assert message.startswith("not valid JSON")
