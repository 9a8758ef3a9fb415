"""Text held as codes (``io.numbering.compact_text``): what ``run``'s ADaM and SDTM writer
processes keep of the data sets. Every file is written from it byte for byte as from the
object columns, the XPT echo keeps it (``compact_echo``) with the values ``read_xpt``
gives, and define.xml describes it as it describes the files read back."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core import factorize
from cdisc_convert.core.factorize import (categorical_codes, first_occurrences,
                                          in_first_appearance_order, text_codes)
from cdisc_convert.io.folder import sort_by_keys, sort_compact, write_dataset_files, write_folder
from cdisc_convert.io.numbering import column_codes, compact_datasets, compact_text, expand_text
from cdisc_convert.io.xpt import read_xpt, write_xpt


def _frame() -> pd.DataFrame:
    # equal strings held by distinct objects, missing values of two kinds, "" and
    # trailing blanks, a column of numbers as objects, a numeric and a date column
    same = "".join(["A", "E"])
    return pd.DataFrame({
        "STUDYID": ["S1"] * 8,
        "USUBJID": ["S1-03", "S1-01", "S1-02", "S1-01", "S1-03", "S1-02", "S1-01", "S1-03"],
        "AETERM": ["AE", same, None, "", "x ", np.nan, "AE", "b,\"q\""],
        "AESEQ": [2.0, 1.0, 1.0, 2.0, 1.0, 2.0, 3.0, 3.0],
        "MIXED": [1, "a", 2.5, None, "a", 1, 3, "z"],
        "AESTDT": pd.to_datetime(["2020-01-02", None, "2020-01-03", "2020-01-01",
                                  "2020-02-01", "2020-01-05", None, "2020-03-01"]),
    })


def test_compact_text_numbers_text_by_first_appearance_and_keeps_the_rest():
    frame = _frame()
    frame.attrs["label"] = "Adverse Events"
    compact = compact_text(frame)
    assert compact.attrs == frame.attrs
    assert isinstance(compact["AETERM"].dtype, pd.CategoricalDtype)
    assert compact["AETERM"].cat.categories.tolist() == ["AE", "", "x ", 'b,"q"']
    assert compact["AETERM"].cat.codes.tolist() == [0, 0, -1, 1, 2, -1, 0, 3]
    assert compact["USUBJID"].cat.codes.dtype == np.int8
    # not text: left as it was, the very arrays
    assert compact["MIXED"].dtype == object
    assert np.shares_memory(compact["MIXED"].to_numpy(), frame["MIXED"].to_numpy())
    assert np.shares_memory(compact["AESEQ"].to_numpy(), frame["AESEQ"].to_numpy())
    back = expand_text(compact)
    assert back["AETERM"].tolist()[:5] == ["AE", "AE", np.nan, "", "x "]
    pd.testing.assert_frame_equal(back.fillna("<missing>"), frame.fillna("<missing>"))
    # every text column numbered: compact_text of the result is the result itself
    assert compact_text(compact) is compact


def test_compact_text_with_positions_is_the_sorted_frame_held_as_codes():
    frame = _frame()
    sorted_compact = sort_compact(frame, "AE", "sdtmig-3.4")
    expected = sort_by_keys(frame, "AE", "sdtmig-3.4")
    assert sorted_compact["USUBJID"].tolist() == expected["USUBJID"].tolist()
    assert list(sorted_compact.index) == list(range(len(frame)))
    pd.testing.assert_frame_equal(expand_text(sorted_compact).fillna("<m>"),
                                  expected.fillna("<m>"))
    # numbered after the reordering: the writers' cheap path holds
    for column in ("USUBJID", "AETERM"):
        assert categorical_codes(sorted_compact[column]) is not None


@pytest.mark.parametrize("formats", [("xpt",), ("json",), ("ndjson",), ("csv",),
                                     ("xpt", "json", "csv")])
def test_every_format_is_written_from_codes_byte_for_byte(tmp_path, monkeypatch, formats):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    frame = _frame().drop(columns=["MIXED"])     # XPT refuses a column of mixed objects
    written = {}
    for kind, data in (("objects", frame), ("codes", compact_text(frame))):
        folder = tmp_path / kind
        folder.mkdir()
        paths = write_dataset_files(data, "AE", folder, formats=formats)
        written[kind] = {p.name: p.read_bytes() for p in paths}
    assert written["codes"] == written["objects"]
    assert len(written["codes"]) == len(formats)


def test_an_xpt_echo_of_codes_holds_what_read_xpt_gives(tmp_path):
    frame = pd.DataFrame({"A": ["x", "y", "x"], "B": ["x ", "y", "x"],
                          "C": ["x", None, ""], "D": [None, None, None], "N": [1.0, 2.0, 3.0]})
    compact = compact_text(frame)
    _, echo = write_xpt(compact, tmp_path / "t.xpt", name="T", label=None, echo=True,
                        compact_echo=True)
    read = read_xpt(tmp_path / "t.xpt")
    assert all(isinstance(echo[c].dtype, pd.CategoricalDtype) for c in "ABCD")
    pd.testing.assert_frame_equal(expand_text(echo), read, check_categorical=False)
    assert echo["C"].tolist() == ["x", "", ""]      # missing comes back blank, one category
    assert echo["C"].cat.categories.tolist() == ["x", ""]
    # stored as it is: the frame's own categorical serves
    assert echo["A"].array is compact["A"].array
    # without compact_echo the echo is read_xpt's frame, objects
    _, plain = write_xpt(compact, tmp_path / "u.xpt", name="T", label=None, echo=True)
    pd.testing.assert_frame_equal(plain, read)


def test_codes_numbered_in_order_are_read_without_renumbering(monkeypatch):
    compact = compact_text(pd.DataFrame({"A": ["b", "a", None, "b", "c"]}))
    codes, uniques = column_codes(compact["A"])
    assert codes is compact["A"].array.codes.base or np.shares_memory(
        codes, compact["A"].array.codes)
    assert codes.tolist() == [0, 1, -1, 0, 2] and uniques.tolist() == ["b", "a", "c"]
    # the maker's mark spares the check; an unmarked categorical is checked, and one
    # numbered otherwise is renumbered as text_codes of its values
    monkeypatch.setattr(factorize, "in_first_appearance_order",
                        lambda *_: pytest.fail("checked again"))
    assert categorical_codes(compact["A"]) is not None
    monkeypatch.undo()
    other = pd.Series(pd.Categorical(["b", "a", None, "b", "c"]))   # categories sorted
    assert categorical_codes(other) is None
    codes, uniques = text_codes(other)
    assert codes.tolist() == [0, 1, -1, 0, 2] and uniques.tolist() == ["b", "a", "c"]
    unused = pd.Series(pd.Categorical(["a", "a"], categories=["a", "b"]))
    assert categorical_codes(unused) is None
    assert text_codes(unused)[1].tolist() == ["a"]


@pytest.mark.parametrize("codes, count, expected", [
    ([0, 0, 1, 1, -1, 2, 0], 3, True), ([1, 1, 0], 2, False), ([0, 0, 2, 2, 1], 3, False),
    ([0, 0, 1], 3, False), ([-1, -1, 0], 1, True), ([-1, -1], 1, False), ([-1, -1], 0, True),
    ([], 0, True), ([], 1, False)])
def test_in_first_appearance_order(codes, count, expected):
    assert in_first_appearance_order(np.array(codes, dtype=np.int8), count) is expected


def test_first_occurrences_by_runs_and_by_rows_agree():
    rng = np.random.default_rng(7)
    for runs in (True, False):
        values = rng.integers(0, 40, 5_000)
        if runs:
            values = np.sort(values)
        codes = pd.factorize(values)[0]
        expected = np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())
        assert first_occurrences(codes).tolist() == expected.tolist()


def test_compact_datasets_replaces_each_frame_in_the_callers_dict(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    datasets = {"AE": _frame().drop(columns=["MIXED"]), "DM": pd.DataFrame(
        {"STUDYID": ["S1"], "USUBJID": ["S1-01"], "AGE": [50.0]})}
    plain = {name: frame.copy() for name, frame in datasets.items()}
    compact_datasets(datasets)
    assert all(isinstance(f["USUBJID"].dtype, pd.CategoricalDtype) for f in datasets.values())
    # write_folder(compact=True): the caller's frames held as codes, the echoes too, and
    # the same files as from the object columns
    echoes: dict = {}
    write_folder(dict(plain), tmp_path / "c", formats=("xpt", "json", "csv"),
                 xpt_frames=echoes, compact=True, consume=True)
    write_folder(dict(plain), tmp_path / "o", formats=("xpt", "json", "csv"))
    assert isinstance(echoes["AE"]["AETERM"].dtype, pd.CategoricalDtype)
    for path in (tmp_path / "o").iterdir():
        assert path.read_bytes() == (tmp_path / "c" / path.name).read_bytes(), path.name


def test_text_held_as_codes_is_sorted_by_its_values():
    """sort_by_keys orders a categorical key by the text the file holds, not by the order
    of its categories (compact_text numbers them by first appearance)."""
    frame = _frame()
    compact = compact_text(frame)
    assert compact["USUBJID"].cat.categories.tolist()[0] == "S1-03"
    by_codes = sort_by_keys(compact, "AE", "sdtmig-3.4")
    by_objects = sort_by_keys(frame, "AE", "sdtmig-3.4")
    assert by_codes["USUBJID"].tolist() == by_objects["USUBJID"].tolist() == sorted(
        frame["USUBJID"])
    assert by_codes["AESEQ"].tolist() == by_objects["AESEQ"].tolist()
