"""The vectorised CSV writer: same bytes as pandas' to_csv (the oracle), readable back."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdisc_convert.io.cells import ColumnText, RowLayout
from cdisc_convert.io.delimited import csv_chunks, date_text, quote_field, write_csv


def pandas_csv(frame: pd.DataFrame) -> str:
    """What the writer replaced: dates as ISO text, then pandas' to_csv."""
    out = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            series = frame[column]
            timed = column.endswith("DTM") or bool(
                (series.dropna() != series.dropna().dt.normalize()).any())
            out[column] = series.dt.strftime("%Y-%m-%dT%H:%M:%S" if timed else "%Y-%m-%d").fillna("")
    return out.to_csv(index=False, lineterminator="\n")


def ours(frame: pd.DataFrame, row_chunk: int = 3) -> str:
    return b"".join(csv_chunks(frame, row_chunk=row_chunk)).decode("utf-8")


def test_quoting_by_hand():
    assert quote_field("plain") == "plain"
    assert quote_field("a,b") == '"a,b"'
    assert quote_field('say "hi"') == '"say ""hi"""'
    assert quote_field("two\nlines") == '"two\nlines"'
    assert quote_field("cr\rhere") == '"cr\rhere"'        # quoted on every Python version
    assert quote_field("") == ""


def test_every_kind_of_column_by_hand():
    frame = pd.DataFrame({
        "TEXT": ["x", "a,b", 'q"q', None, "", "é"],
        "NUM": [1.5, np.nan, 1e300, -0.0, 1e-300, 3.0],
        "INT": [1, 2, 3, 4, 5, 6],
        "FLAG": [True, False] * 3,
        "ADT": pd.to_datetime(["2020-01-01", None, "2020-02-03", "2021-01-01", "2020-01-01",
                               "2020-01-01"]),
        "ADTM": pd.to_datetime(["2020-01-01"] * 5 + [None]),
        "NINT": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
        "MIXED": [1, "x", 2.5, None, np.nan, pd.NaT],
    })
    text = ours(frame)
    assert text.splitlines()[:3] == [
        "TEXT,NUM,INT,FLAG,ADT,ADTM,NINT,MIXED",
        "x,1.5,1,True,2020-01-01,2020-01-01T00:00:00,1,1",
        '"a,b",,2,False,,2020-01-01T00:00:00,,x',
    ]
    assert text == pandas_csv(frame)


def test_a_lone_empty_field_is_quoted_so_the_row_survives():
    frame = pd.DataFrame({"A": ["", None, "x"]})
    assert ours(frame) == 'A\n""\n""\nx\n' == pandas_csv(frame)
    assert len(pd.read_csv(io.StringIO(ours(frame)), keep_default_na=False)) == 3


def test_empty_frames():
    assert ours(pd.DataFrame()) == pandas_csv(pd.DataFrame())
    assert ours(pd.DataFrame({"A": [], "B": []})) == "A,B\n"


def test_date_text_time_part_detection():
    dates = pd.Series(pd.to_datetime(["2020-01-01", None]), name="TRTSDT")
    assert date_text(dates).tolist() == ["2020-01-01", ""]
    assert date_text(dates.rename("TRTSDTM")).tolist() == ["2020-01-01T00:00:00", ""]
    timed = pd.Series(pd.to_datetime(["2020-01-01T08:30:00", "2020-01-02T00:00:00"]), name="X")
    assert date_text(timed).tolist() == ["2020-01-01T08:30:00", "2020-01-02T00:00:00"]


def test_write_csv_reads_back(tmp_path):
    frame = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AVAL": [1.25, None],
                          "NOTE": ['he said "no", then\nleft', "ok"]})
    back = pd.read_csv(write_csv(frame, tmp_path / "x.csv"), dtype=str, keep_default_na=False)
    assert back["NOTE"].tolist() == frame["NOTE"].tolist()
    assert back["AVAL"].tolist() == ["1.25", ""]


# text without "\r": there the writer and pandas differ on purpose (see the module doc)
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
                max_size=12)
_columns = st.sampled_from(["text", "float", "int", "bool", "date", "datetime", "nullable",
                            "float32", "uint8"])


@st.composite
def frames(draw):
    n_rows = draw(st.integers(0, 12))
    kinds = draw(st.lists(_columns, min_size=1, max_size=5))
    data = {}
    for j, kind in enumerate(kinds):
        if kind == "text":
            values = draw(st.lists(st.one_of(st.none(), _text), min_size=n_rows, max_size=n_rows))
            data[f"C{j}"] = pd.Series(values, dtype=object)
        elif kind == "float":
            # few distinct values, as in real columns, plus the edge values
            values = draw(st.lists(st.one_of(st.floats(allow_infinity=False, width=64),
                                             st.sampled_from([0.0, -0.0, 1e-300, 1e300, 0.1])),
                                   min_size=n_rows, max_size=n_rows))
            data[f"C{j}"] = pd.Series(values, dtype=float)
        elif kind == "int":
            values = draw(st.lists(st.integers(-2**62, 2**62), min_size=n_rows, max_size=n_rows))
            data[f"C{j}"] = pd.Series(values, dtype="int64")
        elif kind == "float32":
            values = draw(st.lists(st.floats(allow_infinity=False, width=32),
                                   min_size=n_rows, max_size=n_rows))
            data[f"C{j}"] = pd.Series(values, dtype="float32")
        elif kind == "uint8":
            values = draw(st.lists(st.integers(0, 255), min_size=n_rows, max_size=n_rows))
            data[f"C{j}"] = pd.Series(values, dtype="uint8")
        elif kind == "bool":
            data[f"C{j}"] = pd.Series(draw(st.lists(st.booleans(), min_size=n_rows,
                                                    max_size=n_rows)), dtype=bool)
        elif kind == "nullable":
            values = draw(st.lists(st.one_of(st.none(), st.integers(-1000, 1000)),
                                   min_size=n_rows, max_size=n_rows))
            data[f"C{j}"] = pd.Series(values, dtype="Int64")
        else:
            stamps = draw(st.lists(st.one_of(st.none(), st.datetimes(
                min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                max_value=pd.Timestamp("2100-01-01").to_pydatetime())),
                min_size=n_rows, max_size=n_rows))
            series = pd.Series(pd.to_datetime(stamps), dtype="datetime64[ns]")
            data[f"C{j}DTM" if kind == "datetime" else f"C{j}"] = (
                series if kind == "datetime" else series.dt.normalize())
    return pd.DataFrame(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.integers(1, 5))
def test_same_bytes_as_pandas(frame, row_chunk):
    assert ours(frame, row_chunk) == pandas_csv(frame), repr(frame.to_dict("list"))


@pytest.mark.parametrize("row_chunk", [1, 2, 5])
def test_nul_characters_are_kept(row_chunk):
    # hypothesis found it: pandas hashes all-text object arrays as C strings, so "" and
    # "\x00" (and "a", "a\x00b") got one code and were written alike
    values = ["", "\x00", "a", "a\x00b", "a\x00c"]
    frame = pd.DataFrame({"A": pd.Series(values, dtype=object),
                          "B": pd.Series(["x"] * 5, dtype=object)})
    assert ours(frame, row_chunk) == pandas_csv(frame) == (
        "A,B\n,x\n\x00,x\na,x\na\x00b,x\na\x00c,x\n")
    single = frame[["A"]]
    assert ours(single, row_chunk) == pandas_csv(single) == 'A\n""\n\x00\na\na\x00b\na\x00c\n'


@pytest.mark.parametrize("value", ["a\rb", "\r"])
def test_carriage_return_round_trips(tmp_path, value):
    frame = pd.DataFrame({"A": [value, "x"], "B": ["1", "2"]})
    back = pd.read_csv(write_csv(frame, tmp_path / "r.csv"), dtype=str, keep_default_na=False)
    assert back["A"].tolist() == [value, "x"]


def test_equal_but_different_objects_keep_their_own_text():
    # 1, True and 1.0 hash and compare equal: numbered by value they would share one text
    frame = pd.DataFrame({"A": pd.Series([1, True, 1.0, "1", None], dtype=object),
                          "B": ["x"] * 5})
    assert ours(frame) == pandas_csv(frame) == "A,B\n1,x\nTrue,x\n1.0,x\n1,x\n,x\n"


def test_many_rows_with_columns_joined_by_few_combinations():
    # enough rows that neighbouring columns of few values are assembled as one (io.cells)
    rng = np.random.default_rng(7)
    n = 5000
    frame = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "LB",
        "USUBJID": [f"S1-{i // 20:04d}" for i in range(n)],
        "LBTESTCD": rng.choice(["ALT", "AST", "HGB"], n),
        "LBSTRESN": rng.choice([1.5, np.nan, -0.0, 0.0, 12.25], n),
        "LBNRIND": rng.choice(["HIGH", "LOW", "NORMAL", None], n),
        "NOTE": rng.choice(['a,b', 'say "x"', "", "plain"], n),
    })
    assert ours(frame, row_chunk=1700) == pandas_csv(frame)


def test_row_layout_lays_out_cells_row_after_row_by_hand():
    # two columns: texts per distinct value (code = position), each cell followed by its
    # column's suffix; the bytes are UTF-8 (é is two bytes), row after row, any range
    columns = [ColumnText(np.array([1, 0, 1]), ["a", "é"]),
               ColumnText(np.array([0, 0, 2]), ["x", "y", ""])]
    layout = RowLayout(columns, [",", "\n"])
    assert bytes(layout.rows(0, 3)) == "é,x\na,x\né,\n".encode("utf-8")
    assert bytes(layout.rows(1, 3)) == "a,x\né,\n".encode("utf-8")
    assert bytes(layout.rows(2, 2)) == b""
    assert bytes(RowLayout(columns[:1], ["|"]).rows(0, 3)) == "é|a|é|".encode("utf-8")


def test_narrow_codes_merge_and_lay_out_past_their_own_range():
    """Codes come in the smallest integer type (int8 for up to 127 values): two columns
    of 120 and 100 values merge into 12,000 combinations, past int8 and int16's reach
    after the missing value's text is placed, and the rows still show each cell's text;
    a column's missing rows (-1) take its last text; positions past int8 in the layout."""
    from cdisc_convert.io.cells import merge_columns

    n = 120 * 100 * 9
    rng = np.random.default_rng(3)
    a = rng.integers(-1, 120, n).astype(np.int8)
    b = rng.integers(0, 100, n).astype(np.int8)
    a_texts = [f"a{i}" for i in range(120)] + [""]
    b_texts = [f"b{i}" for i in range(100)] + ["-"]
    merged = merge_columns([ColumnText(a, a_texts), ColumnText(b, b_texts)], n)
    assert len(merged) == 1                           # 121 x 101 combinations <= n // 8
    assert merged[0].codes.dtype == np.int16 and len(merged[0].texts) > 10_000
    rows = bytes(RowLayout(merged, ["\n"]).rows(0, n)).decode().split("\n")[:-1]
    expected = [a_texts[i] + "," + b_texts[k] for i, k in zip(a.tolist(), b.tolist())]
    assert rows == expected
    alone = merge_columns([ColumnText(a, a_texts)], 10)   # 10 rows: nothing to merge with
    assert alone[0].codes.dtype == np.int8 and alone[0].codes.min() == 0
    assert alone[0].codes.tolist() == np.where(a < 0, 120, a).tolist()
    third = RowLayout([ColumnText(np.zeros(2, np.int8), ["x"] * 200),
                       ColumnText(np.array([126, 127], np.int8), [str(i) for i in range(128)])],
                      [",", ";"])
    assert bytes(third.rows(0, 2)) == b"x,126;x,127;"     # the second column starts at 200


def test_row_layout_refuses_text_utf8_cannot_hold():
    # an unpaired surrogate: the error writing the text as UTF-8 gave, not a broken file
    with pytest.raises(UnicodeEncodeError):
        RowLayout([ColumnText(np.array([0]), ["\ud800"])], ["\n"])


def test_rows_without_columns_are_one_empty_line_each():
    frame = pd.DataFrame(index=range(450))
    assert ours(frame, row_chunk=200) == pandas_csv(frame) == "\n" * 451
