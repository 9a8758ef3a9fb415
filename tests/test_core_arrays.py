"""core.arrays: the small frame helpers the derivations share."""
import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import combine_codes, MetadataDict, shared_text_ranks, with_columns


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


def test_combine_codes_is_a_mixed_radix_number_of_the_parts():
    first = (np.array([1, 0, 1, 0]), 2)
    second = (np.array([2, 2, 0, 1]), 3)
    keys, span = combine_codes([first, second], 4)
    assert keys.tolist() == [5, 2, 3, 1]          # 1*3+2, 0*3+2, 1*3+0, 0*3+1
    assert span == 6
    assert combine_codes([first, None, second], 4) is None
    assert combine_codes([], 3)[0].tolist() == [0, 0, 0]


def test_combine_codes_past_the_64_bit_bound_renumbers_keeping_order_and_equality():
    big = 2**40
    first = (np.array([big - 1, 0, big - 1, 5]), big)
    second = (np.array([3, 7, 3, 7]), big)        # 2**80 combinations: no int64 key
    assert combine_codes([first, second], 4) is None
    keys, span = combine_codes([first, second], 4, renumber=True)
    # rows 0 and 2 are equal; the order is (0, 7) < (5, 7) < (big - 1, 3)
    assert keys[0] == keys[2]
    assert keys[1] < keys[3] < keys[0]
    assert span == 3 * big                        # 3 distinct first codes, then the second


def test_code_dtype_is_the_smallest_that_holds_codes_plus_one():
    from cdisc_convert.core.arrays import code_dtype

    # codes run -1 .. count - 1, and callers add 1 (missing -> 0): count itself must fit
    assert [code_dtype(n) for n in (0, 1, 127, 128, 32_767, 32_768, 2**31 - 1, 2**31)] == [
        np.int8, np.int8, np.int8, np.int16, np.int16, np.int32, np.int32, np.int64]
    assert np.add(np.array([126], dtype=code_dtype(127)), 1).tolist() == [127]


def test_frame_of_keeps_the_columns_memory_and_a_copy_of_the_attrs():
    from cdisc_convert.core.arrays import frame_of

    like = pd.DataFrame({"A": [1.0, 2.0], "B": ["x", "y"]}, index=[5, 6])
    like.attrs = {"label": "L"}
    out = frame_of({"A": like["A"]}, like)
    assert list(out.columns) == ["A"] and list(out.index) == [5, 6]
    assert np.shares_memory(out["A"].to_numpy(), like["A"].to_numpy())
    assert out.attrs == {"label": "L"} and out.attrs is not like.attrs
    again = frame_of({"B": like["B"].to_numpy()}, like, pd.RangeIndex(2))
    assert list(again.index) == [0, 1] and again["B"].tolist() == ["x", "y"]
