"""Text columns numbered once for every format a data set is written in (io.numbering)."""
from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

from cdisc_convert.io import numbering
from cdisc_convert.io.folder import write_dataset_files
from cdisc_convert.io.numbering import column_codes, shared_numbering


def _counting(monkeypatch) -> list:
    """Record every column io.numbering hands to the numbering of core.factorize."""
    seen = []
    real = numbering.text_codes

    def counted(series):
        seen.append(series.name)
        return real(series)

    monkeypatch.setattr(numbering, "text_codes", counted)
    return seen


def test_a_column_is_numbered_once_within_the_block(monkeypatch):
    seen = _counting(monkeypatch)
    frame = pd.DataFrame({"A": ["x", "y", None, "x"], "B": ["y", "x", None, "y"]})
    with shared_numbering():
        codes, uniques = column_codes(frame["A"])
        again, same = column_codes(frame.copy(deep=False)["A"])   # a shallow copy's column
        other, theirs = column_codes(frame["B"])                  # same shape, own memory
    assert codes.tolist() == [0, 1, -1, 0] and uniques.tolist() == ["x", "y"]
    assert again is codes and same is uniques
    assert other.tolist() == [0, 1, -1, 0] and theirs.tolist() == ["y", "x"]
    assert seen == ["A", "B"]
    column_codes(frame["A"])                                      # outside: no memo
    assert seen == ["A", "B", "A"]


def test_codes_come_in_the_smallest_integer_type_that_holds_them_and_one_more():
    # a writer holds every text column's codes while it writes the data set
    few = pd.Series(["x", None, "y"] * 3)
    many = pd.Series([f"v{i}" for i in range(127)] + [None])       # 127 values: int8
    more = pd.Series([f"v{i}" for i in range(128)])                 # 128: int16
    for block in (shared_numbering(), contextlib.nullcontext()):
        with block:
            codes = [column_codes(s)[0] for s in (few, many, more)]
        assert [c.dtype for c in codes] == [np.int8, np.int8, np.int16]
        assert codes[0].tolist() == [0, -1, 1] * 3
        assert codes[1].tolist() == list(range(127)) + [-1]
        assert codes[2].tolist() == list(range(128))


def test_every_format_written_from_one_numbering_same_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")   # the files' time stamps
    frame = pd.DataFrame({
        "STUDYID": ["S1"] * 6, "DOMAIN": ["LB"] * 6,
        "USUBJID": ["S1-01", "S1-01", "S1-02", "S1-02", "S1-03", "S1-03"],
        "LBSEQ": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
        "LBTESTCD": ["ALT", "AST", "ALT", "AST", "ALT", None],
        "LBORRES": ["12", "a,b", "", "7", None, "9"],
    })
    alone = tmp_path / "alone"
    alone.mkdir()
    for fmt in ("xpt", "json", "csv"):
        write_dataset_files(frame, "LB", alone, formats=(fmt,))
    seen = _counting(monkeypatch)
    together = tmp_path / "together"
    together.mkdir()
    written = write_dataset_files(frame, "LB", together, formats=("xpt", "json", "csv"))
    assert sorted(seen) == ["DOMAIN", "LBORRES", "LBTESTCD", "STUDYID", "USUBJID"]
    assert [p.name for p in written] == ["lb.xpt", "lb.csv", "lb.json"]
    for path in written:
        assert path.read_bytes() == (alone / path.name).read_bytes(), path.name
    assert np.array_equal(pd.read_csv(together / "lb.csv")["LBSEQ"], frame["LBSEQ"])
