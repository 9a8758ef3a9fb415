"""define.xml numbers the text of an XPT file just written with the writer's own codes
(``io.xpt.writer.echo_text_codes``) instead of hashing every row again: the codes and first
rows must be those of numbering the values (``define.profile._object_codes``)."""
from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.define import profile
from cdisc_convert.define.profile import Column, _object_codes, _written_codes
from cdisc_convert.io.xpt import writer
from cdisc_convert.io.xpt.writer import echo_text_codes, write_xpt


def _echo(tmp_path, frame: pd.DataFrame) -> pd.DataFrame:
    _, echo = write_xpt(frame, tmp_path / "t.xpt", name="T", label=None, echo=True)
    return echo


def test_an_echo_keeps_the_codes_of_its_text_in_short_runs(tmp_path):
    frame = pd.DataFrame({"A": ["x", "y", "x", "z", "y", "x"], "B": ["k"] * 6})
    echo = _echo(tmp_path, frame)
    values = echo["A"].to_numpy()
    assert echo_text_codes(values).tolist() == [0, 1, 0, 2, 1, 0]
    assert echo_text_codes(echo.copy(deep=False)["A"].to_numpy()).tolist() == [0, 1, 0, 2, 1, 0]
    # one long run: numbered as cheaply from its run starts, so nothing is kept
    assert echo_text_codes(echo["B"].to_numpy()) is None
    # other rows of the same memory, or equal values elsewhere: not these codes
    assert echo_text_codes(values[1:]) is None
    assert echo_text_codes(values[:-1]) is None
    assert echo_text_codes(values[::-1]) is None
    assert echo_text_codes(np.array(values.tolist(), dtype=object)) is None


def test_the_codes_go_with_the_echo(tmp_path):
    kept = len(writer._ECHO_CODES)
    frame = pd.DataFrame({"A": pd.Series(["x", None, "y", None, "x", "z"], dtype=object)})
    echo = _echo(tmp_path, frame)
    assert len(writer._ECHO_CODES) == kept + 1
    del echo
    gc.collect()
    assert len(writer._ECHO_CODES) == kept


# (column written, codes define numbers the file's values with, their first rows)
CASES = [
    (["b", "a", "b", "c", "a", "b"], [0, 1, 0, 2, 1, 0], [0, 1, 3]),
    # missing values are written blank and read as "": one more value
    (["b", None, "a", None, "b", "c"], [0, 1, 2, 1, 0, 3], [0, 1, 2, 5]),
    ([None, "a", None, "b", "a", "b"], [0, 1, 0, 2, 1, 2], [0, 1, 3]),
    # a "" and the blank rows are one value in the file
    (["b", None, "", "a", "", None], [0, 1, 1, 2, 1, 1], [0, 1, 3]),
    # "a " and "a": two values written, one read (SAS drops trailing blanks)
    (["a ", "b", "a", "b", "a ", "c"], [0, 1, 0, 1, 0, 2], [0, 1, 5]),
]


@pytest.mark.parametrize("written, codes, first", CASES)
def test_written_codes_number_the_values_read(tmp_path, written, codes, first):
    echo = _echo(tmp_path, pd.DataFrame({"A": pd.Series(written, dtype=object)}))
    values = echo["A"].to_numpy()
    assert echo_text_codes(values) is not None
    found = _written_codes(values)
    assert found[0].tolist() == codes and found[1].tolist() == first
    by_values = _object_codes(values)
    assert found[0].tolist() == by_values[0].tolist() and found[1].tolist() == by_values[1].tolist()


def test_a_column_of_an_echo_is_numbered_without_hashing_its_rows(tmp_path, monkeypatch):
    echo = _echo(tmp_path, pd.DataFrame({"A": ["b", "a", "b", "c", "a", "b"]}))

    def refused(values):
        raise AssertionError("hashed every row")

    monkeypatch.setattr(profile, "_object_codes", refused)
    column = Column(echo["A"])
    assert column.codes.tolist() == [0, 1, 0, 2, 1, 0]
    assert column.distinct().tolist() == ["b", "a", "c"]


def test_codes_out_of_order_of_appearance_are_not_used(monkeypatch):
    values = np.array(["a", "b", "a", "b"], dtype=object)
    monkeypatch.setattr(profile, "echo_text_codes", lambda v: np.array([1, 0, 1, 0]))
    assert _written_codes(values) is None
    assert Column(pd.Series(values)).codes.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize("written", [case[0] for case in CASES])
def test_define_checks_read_an_echos_distinct_values_from_the_writers_codes(tmp_path,
                                                                           written,
                                                                           monkeypatch):
    """The define checks of every row (and of a subset) take the distinct values of an
    echo's text column from one row per writer code: the values read_xpt would give."""
    from cdisc_convert.conformance import define_checks

    echo = _echo(tmp_path, pd.DataFrame({"A": pd.Series(written, dtype=object)}))
    values = echo["A"].to_numpy()
    assert echo_text_codes(values) is not None

    def no_hashing(_values):
        raise AssertionError("the rows were numbered by object")
    monkeypatch.setattr(define_checks, "object_firsts", no_hashing)
    column = define_checks._DataColumn(echo["A"])
    expected = {("" if v is None else v).rstrip(" ") for v in written}
    assert set(column.present().tolist()) == expected
    assert sorted(column.text_values()) == sorted(expected - {""})
    first_three = np.arange(len(values)) < 3
    assert set(column.present(first_three).tolist()) == {
        ("" if v is None else v).rstrip(" ") for v in written[:3]}
    assert column._codes is None
