"""``write_xpt(..., echo=True)``: the frame it returns is the one ``read_xpt`` gives for the
file it wrote (values, dtypes, one object per distinct text, every attrs key), so define.xml
and its data checks can be made without reading the files back."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cdisc_convert.io.xpt import XptPrecisionWarning, read_xpt, write_xpt


def _same_as_read(frame: pd.DataFrame, tmp_path, **kwargs) -> pd.DataFrame:
    path = tmp_path / "t.xpt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XptPrecisionWarning)
        written, echo = write_xpt(frame, path, name="T", echo=True, **kwargs)
    assert written == path
    read = read_xpt(path)
    pd.testing.assert_frame_equal(echo, read, check_exact=True)
    assert echo.attrs == read.attrs
    # the same kinds of dict too (MetadataDict: cheap deep copies on every pandas step)
    assert {k: type(v) for k, v in echo.attrs.items()} == \
        {k: type(v) for k, v in read.attrs.items()}
    # the bits, not only equality: -0.0 == 0.0, but the reader gives +0.0
    for column in read.columns:
        if read[column].dtype == np.float64:
            assert np.array_equal(echo[column].to_numpy().view(np.uint64),
                                  read[column].to_numpy().view(np.uint64))
    return echo


def test_edge_values_come_back_as_the_reader_reads_them(tmp_path):
    frame = pd.DataFrame({
        "TEXT": ["a  ", None, "", "  lead", "a", np.nan, "x" * 200, "b"],
        "NUM": [-0.0, 1e-80, -1e-80, np.nan, 0.1, 1 / 3, 5e-324, -2.5],
        "INT": np.arange(8, dtype=np.int64) - 3,
        "FLAG": [True, False] * 4,
        "NULLABLE": pd.array([1, None, 3, 4, None, 6, 7, 8], dtype="Int64"),
        "CAT": pd.Categorical(["x", "y", None, "x", "y", "x", "x", "y"]),
        "STR": pd.array(["p", None, "q", "p", "p", "q", None, "r"], dtype="string"),
        "ADT": [0.0, 365.0, np.nan, 1.0, 2.0, 3.0, 4.0, 5.0],
    })
    frame.attrs["special_missing"] = {"NUM": {3: "A"}}
    echo = _same_as_read(frame, tmp_path, label="Edge cases ", labels={"NUM": "A number  "},
                         lengths={"CAT": 20}, formats={"ADT": "DATE9.", "NUM": "8.2"})
    assert echo["TEXT"].tolist()[:4] == ["a", "", "", "  lead"]
    assert echo.attrs["special_missing"] == {"NUM": {3: "A"}}
    # a distinct value is one object, as the reader shares it
    assert echo["TEXT"].iloc[0] is echo["TEXT"].iloc[4]


def test_text_stored_as_it_is_is_the_frames_own_array(tmp_path):
    """str values without trailing blanks or missing values come back equal: the echo
    keeps the frame's array; a trailing blank or a missing value makes it decode the file's
    values instead."""
    frame = pd.DataFrame({"A": np.array(["x", " y", ""], dtype=object),
                          "B": np.array(["x ", "y", "z"], dtype=object),
                          "C": np.array(["x", None, "z"], dtype=object)})
    echo = _same_as_read(frame, tmp_path, label=None)
    assert np.shares_memory(echo["A"].to_numpy(), frame["A"].to_numpy())
    assert not np.shares_memory(echo["B"].to_numpy(), frame["B"].to_numpy())
    assert echo["B"].tolist() == ["x", "y", "z"] and echo["C"].tolist() == ["x", "", "z"]


def test_empty_and_all_missing_frames(tmp_path):
    _same_as_read(pd.DataFrame({"A": pd.Series([], dtype=object),
                                "B": pd.Series([], dtype=float)}), tmp_path, label=None)
    _same_as_read(pd.DataFrame({"A": [None, None], "B": [np.nan, np.nan]}), tmp_path,
                  label=None)


def test_source_date_epoch_stamp(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    echo = _same_as_read(pd.DataFrame({"A": ["x"]}), tmp_path, label="L")
    assert echo.attrs["created"].year == 2023


texts = st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=32,
                                                            max_codepoint=126), max_size=12))
numbers = st.one_of(st.floats(allow_nan=False, min_value=-1e70, max_value=1e70),
                    st.sampled_from([np.nan, 0.0, -0.0, 1e-300, -1e-90]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(texts, numbers), min_size=1, max_size=30))
def test_random_frames_echo_what_is_read(tmp_path, rows):
    frame = pd.DataFrame({"T": pd.Series([r[0] for r in rows], dtype=object),
                          "N": [r[1] for r in rows]})
    # a trailing all-blank observation can be read as padding (the package docs)
    assume(not (frame["T"].fillna("").str.strip().eq("").iloc[-1]
                and np.isnan(frame["N"].iloc[-1])))
    _same_as_read(frame, tmp_path, label=None)


def test_write_folder_returns_the_files_as_read_xpt_files_reads_them(tmp_path):
    from cdisc_convert.conformance.define_checks import read_xpt_files
    from cdisc_convert.io.folder import write_folder

    datasets = {"DM": pd.DataFrame({"STUDYID": ["S1", "S1"], "DOMAIN": ["DM", "DM"],
                                    "USUBJID": ["S1-2", "S1-1"], "AGE": [50, 61],
                                    "RFSTDTC": ["2020-01-01 ", None]}),
                "AE": pd.DataFrame({"STUDYID": ["S1"], "DOMAIN": ["AE"], "USUBJID": ["S1-1"],
                                    "AESEQ": [1.0], "AETERM": ["Headache"]})}
    frames: dict = {}
    write_folder(datasets, tmp_path, formats=("xpt", "csv"), xpt_frames=frames, consume=True)
    assert datasets == {}            # consumed: each frame left once written
    read = read_xpt_files(tmp_path)
    assert sorted(frames) == sorted(read) == ["AE", "DM"]
    for name, frame in read.items():
        pd.testing.assert_frame_equal(frames[name], frame, check_exact=True)
        assert frames[name].attrs == frame.attrs
