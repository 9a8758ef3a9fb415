"""io.folder's writers leave out the traceability columns (__table, __row) without copying
the columns they keep, and without changing the caller's frame."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.io import folder as io_folder


def _ae(**trace) -> pd.DataFrame:
    """AE with the traceability columns between the others: pandas holds the text columns
    in one block, which a column-dropping copy would have to take apart."""
    columns = {"STUDYID": ["S1"] * 3, "DOMAIN": ["AE"] * 3, **trace,
               "USUBJID": ["S1-1", "S1-2", "S1-3"], "AESEQ": [1.0, 1.0, 2.0],
               "AETERM": ["HEADACHE", "NAUSEA", "RASH"]}
    return pd.DataFrame(columns)


def test_trace_columns_are_not_written_and_the_frame_is_left_as_it_was(tmp_path):
    frame = _ae(__table=["ae_raw.csv"] * 3, __row=[2, 3, 5])
    before = frame.copy()
    io_folder.write_dataset_files(frame, "AE", tmp_path, formats=("csv", "json"))
    header = (tmp_path / "ae.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.replace('"', "").split(",") == ["STUDYID", "DOMAIN", "USUBJID", "AESEQ",
                                                  "AETERM"]
    assert "__row" not in (tmp_path / "ae.json").read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(frame, before)


def test_the_kept_columns_reach_the_writers_uncopied(tmp_path, monkeypatch):
    seen = {}

    def write_csv(clean, path):
        seen["frame"] = clean

    monkeypatch.setattr(io_folder, "write_csv", write_csv)
    for trace in ({}, {"__table": ["ae_raw.csv"] * 3, "__row": [2, 3, 5]}):
        frame = _ae(**trace)
        io_folder.write_dataset_files(frame, "AE", tmp_path, formats=("csv",))
        clean = seen.pop("frame")
        assert list(clean.columns) == ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM"]
        for column in clean.columns:          # the same memory, not a copy of it
            assert np.shares_memory(np.asarray(clean[column]), np.asarray(frame[column]))
