"""core.arrays: the small frame helpers the derivations share."""
import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import MetadataDict, shared_text_ranks, with_columns


def test_with_columns_orders_and_adds_missing_as_none():
    frame = pd.DataFrame({"B": [1, 2], "A": ["x", "y"], "DROP": [0, 0]})
    out = with_columns(frame, ["A", "C", "B"])
    assert list(out.columns) == ["A", "C", "B"]
    assert out["C"].dtype == object and out["C"].tolist() == [None, None]
    assert out["A"].tolist() == ["x", "y"] and out["B"].tolist() == [1, 2]
    assert list(frame.columns) == ["B", "A", "DROP"]          # the input is left alone


def test_with_columns_on_an_empty_frame_keeps_the_layout():
    out = with_columns(pd.DataFrame({"A": pd.Series([], dtype=float)}), ("A", "Z"))
    assert list(out.columns) == ["A", "Z"] and len(out) == 0
    assert out["A"].dtype == float and out["Z"].dtype == object


def test_shared_text_ranks_compare_across_arrays_as_the_texts_do():
    days = np.array(["2024-03-01", "", "2024-01-15", "2024-03-01"], dtype=object)
    references = np.array(["2024-02-01", "2024-03-01"], dtype=object)
    mine, theirs = shared_text_ranks(days, references)
    # distinct texts in order: "", 2024-01-15, 2024-02-01, 2024-03-01
    assert mine.tolist() == [3, 0, 1, 3] and theirs.tolist() == [2, 3]
    assert (mine[:, None] <= theirs).tolist() == [[False, True], [True, True],
                                                   [True, True], [False, True]]


def test_shared_text_ranks_of_an_empty_array():
    empty, one = shared_text_ranks(np.array([], dtype=object), np.array(["2024"]))
    assert empty.tolist() == [] and one.tolist() == [0]


def test_metadata_dict_copies_are_independent_through_pandas_operations():
    frame = pd.DataFrame({"A": [1, 2], "B": ["x", "y"]})
    frame.attrs = {"labels": MetadataDict(A="Alpha", B="Beta"),
                   "special_missing": MetadataDict(A=MetadataDict({0: "A"}))}
    part = frame[frame["A"] > 1]                 # pandas deep-copies attrs here
    assert part.attrs == frame.attrs
    assert type(part.attrs["labels"]) is MetadataDict
    part.attrs["labels"]["A"] = "changed"
    part.attrs["special_missing"]["A"][1] = "B"
    assert frame.attrs["labels"]["A"] == "Alpha"
    assert frame.attrs["special_missing"]["A"] == {0: "A"}
