"""core.factorize: numbering distinct values exactly, whatever the text holds."""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cdisc_convert.core import factorize
from cdisc_convert.core.factorize import (factorize_objects, factorize_text, factorize_values,
                                          text_codes)


def test_factorize_text_tells_values_apart_that_differ_after_a_nul():
    values = np.array(["", "\x00", "a", "a\x00b", "a\x00c", "a", None], dtype=object)
    codes, uniques = factorize_text(values)
    assert codes.tolist() == [0, 1, 2, 3, 4, 2, -1]
    assert uniques.tolist() == ["", "\x00", "a", "a\x00b", "a\x00c"]
    # without a NUL it is pd.factorize itself
    plain = np.array(["b", "a", "b"], dtype=object)
    assert factorize_text(plain)[0].tolist() == [0, 1, 0]
    # the writers' factorizers too
    for factorize in (factorize_values, factorize_objects):
        codes, uniques = factorize(values[:6])
        assert len(set(uniques[codes].tolist())) == 5
        assert uniques[codes].tolist() == values[:6].tolist()


# Large enough (> 4 samples of 10,000) for every route of factorize_objects: by object
# identity, by value over distinct objects, and runs of equal values compared neighbour
# by neighbour with only each run's first value hashed.
ROWS = 50_000
# "ID", "ID\x00", "ID\x00a" ... are one C string: pandas alone would give them one code
PIECES = st.text(alphabet="ab\x00", max_size=3)


def _column(pattern: list[str], layout: str, storage: str, where: int, odd: str) -> np.ndarray:
    values = ["ID" + v for v in pattern]
    if layout == "runs":      # sorted, as identifiers and dates come
        column = np.repeat(np.array(values, dtype=object), -(-ROWS // len(values)))[:ROWS]
    else:                     # a few values in turn, as tests and lesions come
        column = np.resize(np.array(values, dtype=object), ROWS)
    column[where] = "ID" + odd    # one value anywhere, perhaps equal up to a NUL
    if storage == "distinct":   # one str object per row, as string operations give
        column = np.array(["".join(list(v)) for v in column], dtype=object)
    return column


@settings(max_examples=30, deadline=None)
@given(pattern=st.lists(PIECES, min_size=1, max_size=6),
       layout=st.sampled_from(["runs", "cycle"]), storage=st.sampled_from(["shared", "distinct"]),
       where=st.integers(0, ROWS - 1), odd=PIECES)
def test_every_route_numbers_text_holding_nul_exactly(pattern, layout, storage, where, odd):
    column = _column(pattern, layout, storage, where, odd)
    expected = column.tolist()
    for name, factorize in (("factorize_text", factorize_text),
                            ("factorize_values", factorize_values),
                            ("factorize_objects", factorize_objects),
                            ("text_codes", lambda v: text_codes(pd.Series(v)))):
        codes, uniques = factorize(column)
        assert uniques[codes].tolist() == expected, name
        if name != "factorize_objects":   # it may keep equal strings of two objects apart
            assert len(set(uniques.tolist())) == len(uniques), name


class Text(str):
    """A str subclass: its objects are not read through the str header."""


def test_lengths_are_read_from_str_headers_only_when_every_value_is_a_str():
    # every internal kind of str (ASCII, Latin-1, UCS-2, UCS-4, long), one object per row
    kinds = ["", "a", "ab\x00", "é" * 3, "€" * 5, "𝄞" * 2, "x" * 1000]
    column = np.array(["".join(list(v)) for v in kinds * 1000], dtype=object)
    if sys.implementation.name == "cpython":
        assert factorize._str_lengths(column).tolist() == [len(v) for v in column]
    for odd in (Text("ab"), None, 7):
        mixed = column.copy()
        mixed[4321] = odd
        assert factorize._str_lengths(mixed) is None


def test_a_str_subclass_holding_a_nul_is_numbered_exactly():
    # the header is not read for it, so the join over every row decides
    column = np.array(["ab"] * ROWS, dtype=object)
    column[ROWS - 1] = Text("ab\x00c")
    codes, uniques = factorize_text(column)
    assert uniques[codes].tolist() == column.tolist()
    assert codes[-1] == 1


_KEY_TEXT = st.sampled_from(["", "a", "ab", "b", "01", "1", None])


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(_KEY_TEXT, _KEY_TEXT), max_size=30), shared=st.booleans())
def test_duplicated_rows_marks_what_pandas_duplicated_marks(rows, shared):
    # equal texts as one shared object (raw tables) or as distinct objects (built strings)
    def column(i):
        texts = [r[i] if r[i] is None or shared else "".join(list(r[i])) for r in rows]
        return np.array(texts, dtype=object)

    frame = pd.DataFrame({"A": column(0), "B": column(1)})
    expected = frame.duplicated(["A", "B"], keep=False).to_numpy()
    assert factorize.duplicated_rows([column(0), column(1)]).tolist() == expected.tolist()
    assert factorize.duplicated_rows([column(0)]).tolist() == \
        frame.duplicated(["A"], keep=False).tolist()


def test_duplicated_rows_tells_apart_values_that_differ_after_a_nul():
    # pandas' duplicated takes "a" and "a\x00" for one value (C strings end at the NUL)
    column = np.array(["a", "a\x00", "a\x00b", "a"], dtype=object)
    assert factorize.duplicated_rows([column]).tolist() == [True, False, False, True]


def test_value_codes_number_equal_values_held_by_distinct_objects_once():
    values = np.array(["ab", "".join(["a", "b"]), "a\x00", "a", None], dtype=object)
    codes, count = factorize.value_codes(values)
    assert count == 4 and codes[0] == codes[1] and len(set(codes[1:].tolist())) == 4


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(_KEY_TEXT, st.sampled_from([1.0, 2.0, float("nan"), -0.0, 0.0])),
                     max_size=30))
def test_duplicated_rows_keeping_the_first_is_pandas_duplicated_on_text_and_numbers(rows):
    frame = pd.DataFrame(rows, columns=["A", "B"]).astype({"A": object, "B": float})
    expected = frame.duplicated(["A", "B"], keep="first").tolist()
    got = factorize.duplicated_rows([frame["A"].to_numpy(), frame["B"].to_numpy()], keep="first")
    assert got.tolist() == expected


def _new_objects(texts):
    """An object array holding a new string object per entry (equal text, distinct objects)."""
    return np.array([t.encode().decode() if isinstance(t, str) else t for t in texts],
                    dtype=object)


def test_factorize_keeps_one_code_per_value_when_distinct_objects_are_mostly_distinct():
    # over 40,000 distinct objects that sample as distinct values: factorize_objects may
    # leave its by-value step out, so the last row's text, equal to the first row's but
    # another object, would get a code of its own; pd.factorize's promise is one code
    texts = [f"SUBJ-{i:06d}" for i in range(50_000)]
    values = np.array(texts + [texts[0].encode().decode(), None], dtype=object)
    assert values[-2] is not values[0]
    expected_codes, expected_uniques = pd.factorize(values)
    codes, uniques = factorize.factorize(values)
    assert codes[-2] == codes[0] == 0 and codes[-1] == -1
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == expected_uniques.tolist()
    codes, uniques = factorize.factorize(values, sort=True, use_na_sentinel=False)
    expected_codes, expected_uniques = pd.factorize(values, sort=True, use_na_sentinel=False)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques[:-1].tolist() == expected_uniques[:-1].tolist() and pd.isna(uniques[-1])
    # a Series of it too (adam and the report pass both)
    assert factorize.factorize(pd.Series(values))[0].tolist() == pd.factorize(values)[0].tolist()


def test_factorize_is_pandas_on_every_storage_and_exact_for_nul():
    # text: shared and distinct objects, missing as None and NaN, sorted or not
    for values in (np.array(["b", None, "a", "b", np.nan, ""], dtype=object),
                   _new_objects(["b", None, "a", "b", np.nan, ""])):
        for sort in (False, True):
            for sentinel in (True, False):
                codes, uniques = factorize.factorize(values, sort=sort, use_na_sentinel=sentinel)
                want, want_uniques = pd.factorize(values, sort=sort, use_na_sentinel=sentinel)
                assert codes.tolist() == want.tolist()
                assert pd.Series(uniques, dtype=object).fillna("NA").tolist() == \
                    pd.Series(want_uniques, dtype=object).fillna("NA").tolist()
    # not all text: pandas' own numbering (1, 1.0 and True one value), as pandas gives it
    mixed = np.array([1, "1", 1.0, True, None], dtype=object)
    assert factorize.factorize(mixed)[0].tolist() == pd.factorize(mixed)[0].tolist()
    # a Series that is not text goes to pandas as it is: its dtype's distinct values
    dates = pd.Series(pd.to_datetime(["2020-01-02", None, "2020-01-02", "2021-03-04"]))
    codes, uniques = factorize.factorize(dates)
    assert codes.tolist() == [0, -1, 0, 1]
    assert [str(u) for u in uniques.tolist()] == ["2020-01-02 00:00:00", "2021-03-04 00:00:00"]
    counts = pd.Series([3, None, 3, 5], dtype="Int64")
    codes, uniques = factorize.factorize(counts)
    assert codes.tolist() == [0, -1, 0, 1] and list(uniques) == [3, 5]
    numbers = np.array([2.0, np.nan, 2.0, -1.0])
    assert factorize.factorize(numbers, sort=True)[0].tolist() == [1, -1, 1, 0]
    # a categorical of text is numbered as text, by first appearance
    codes, uniques = factorize.factorize(pd.Series(["b", None, "a", "b"], dtype="category"))
    assert codes.tolist() == [0, -1, 1, 0] and uniques.tolist() == ["b", "a"]
    # text in pandas' string dtype and in distinct objects: exact for NUL (pandas'
    # categorical takes "a" and "a\x00b" for one category already on construction)
    texts = ["a", "a\x00b", None, "a", "\x00", ""]
    for series in (pd.Series(texts, dtype="string[python]"), pd.Series(_new_objects(texts))):
        codes, uniques = factorize.factorize(series)
        assert codes.tolist() == [0, 1, -1, 0, 2, 3], series.dtype
        assert uniques.tolist() == ["a", "a\x00b", "\x00", ""]
        codes, uniques = factorize.factorize(series, sort=True)
        assert uniques.tolist() == ["", "\x00", "a", "a\x00b"]
        assert codes.tolist() == [2, 3, -1, 2, 1, 0]

