"""core.arrays: the small frame helpers the derivations share."""
import pandas as pd

from cdisc_convert.core.arrays import with_columns


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
