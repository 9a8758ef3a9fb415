"""define.xml profiles each column once (cdisc_convert.define.profile.Column): text columns
are numbered by object first, then by value. Whatever objects hold the text, the codes and
distinct values are those of numbering every row by value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.define.profile import Column


def _fresh(text: str) -> str:
    """An equal string in a new object (as string operations make them)."""
    return "".join(list(text))


SHARED = ["a", "a", None, "b", "a", np.nan, "b"]
# hand-checked: codes by first appearance, -1 for None/NaN; first rows 0 (a), 2 (None), 3 (b)
CODES = [0, 0, -1, 1, 0, -1, 1]
DISTINCT_ROWS = [0, 2, 3]


@pytest.mark.parametrize("values", [
    SHARED,
    [_fresh(v) if isinstance(v, str) else v for v in SHARED],     # one object per row
    [_fresh(v) if isinstance(v, str) and i % 2 else v for i, v in enumerate(SHARED)],
])
def test_codes_and_distinct_values_follow_the_values_not_the_objects(values):
    column = Column(pd.Series(values, dtype=object))
    assert list(column.codes) == CODES
    assert list(column.distinct().index) == DISTINCT_ROWS
    assert list(column.distinct(np.array([3, 4, 5, 6])).index) == [3, 4, 5]


def test_a_column_read_out_of_a_two_dimensional_block_is_numbered_by_its_own_values():
    # a frame made from a 2-D array holds each column as a strided view of that array
    grid = np.array([["a", "x"], ["a", "y"], [None, "x"], ["b", "x"], ["a", "z"]],
                    dtype=object)
    frame = pd.DataFrame(grid, columns=["A", "B"], copy=False)
    assert not frame["A"].to_numpy().flags["C_CONTIGUOUS"]
    a, b = Column(frame["A"]), Column(frame["B"])
    assert list(a.codes) == [0, 0, -1, 1, 0] and list(a.distinct()) == ["a", None, "b"]
    assert list(b.codes) == [0, 1, 0, 0, 2] and list(b.distinct()) == ["x", "y", "z"]


def test_numbers_and_empty_columns():
    column = Column(pd.Series([2.5, np.nan, 2.5, 1.0]))
    assert list(column.codes) == [0, -1, 0, 1]
    assert list(column.distinct().index) == [0, 1, 3]
    empty = Column(pd.Series([], dtype=object))
    assert len(empty.codes) == 0 and empty.distinct().empty


def test_text_holding_nul_characters_keeps_its_values_apart():
    # pandas hashes plain text as C strings ending at a NUL ("a\x00b" == "a" there)
    values = ["a", "a\x00b", "a", "a\x00c"]     # all text: no None to make pandas exact
    column = Column(pd.Series(values, dtype=object))
    assert list(column.codes) == [0, 1, 0, 2]
    assert list(column.distinct()) == ["a", "a\x00b", "a\x00c"]


# ---- distinct values from runs, profiles without numbering, keys, value-level groups ----

from cdisc_convert.define.profile import (has_duplicates, profile_column,  # noqa: E402
                                          profile_numbers, run_starts)
from cdisc_convert.define.vlm import where_groups  # noqa: E402


def test_run_starts_are_the_rows_that_differ_from_the_row_before():
    shared_a, shared_b = "aa", "bb"
    runs = np.array([shared_a] * 6 + [shared_b] * 6 + [None] * 4, dtype=object)
    assert list(run_starts(runs)) == [0, 6, 12]
    numbers = np.array([1.0] * 8 + [np.nan] * 2 + [2.0] * 10)
    # NaN differs from itself: each missing row starts a run
    assert list(run_starts(numbers)) == [0, 8, 9, 10]
    assert run_starts(np.arange(10.0)) is None        # short runs: hash every row instead


def test_distinct_values_from_runs_are_those_of_numbering_every_row():
    # equal text in two objects (a run of each) is one value; missing once, first rows
    fresh_a = _fresh("aa")
    values = ["aa"] * 5 + [fresh_a] * 5 + [None] * 5 + ["bb"] * 5 + [np.nan] * 5
    column = Column(pd.Series(values, dtype=object))
    assert list(column.distinct().index) == [0, 10, 15]
    numbers = Column(pd.Series([3.0] * 6 + [np.nan] * 6 + [3.0] * 6 + [1.5] * 6))
    assert list(numbers.distinct().index) == [0, 6, 18]


def test_whole_numbers_are_profiled_without_their_distinct_values():
    seq = pd.Series([1.0, 2.0, np.nan, 123.0, -4.0])
    assert profile_numbers(seq, None) == profile_column(seq, "XXSEQ", None)
    assert (profile_numbers(seq, None).datatype, profile_numbers(seq, None).length) == (
        "integer", 3)
    days = pd.Series([21915.0, 21916.0])                     # SAS dates: digits of the days
    assert profile_numbers(days, "DATE9").display == "DATE9."
    assert profile_numbers(pd.Series([1.5, 2.0]), None) is None    # decimals: distinct values
    assert profile_numbers(pd.Series([np.nan, np.inf]), None).length == 1
    assert profile_numbers(pd.Series(["1"], dtype=object), None) is None


def test_duplicates_over_combined_codes():
    a = Column(pd.Series(["x", "x", "y", "y"], dtype=object))
    b = Column(pd.Series([1.0, 2.0, 1.0, 2.0]))
    c = Column(pd.Series([1.0, 1.0, 1.0, np.nan]))
    assert not has_duplicates([a, b])
    assert has_duplicates([a])
    assert has_duplicates([a, c])          # rows 0 and 1: ("x", 1.0) twice
    d = Column(pd.Series([None, np.nan, "z", "z"], dtype=object))
    assert has_duplicates([d])             # None and NaN are both missing: alike


@pytest.mark.parametrize("kind", ["text", "numbers", "text in runs"])
def test_column_codes_are_narrow_and_keys_over_them_never_wrap(kind):
    """A column's codes take the smallest integer type that holds ``codes + 1``: 127
    distinct values in int8, 128 in int16. Two such keys have 128 x 300 = 38,400
    combinations, past int16: every combination once is no duplicate, and one repeated
    row is one (codes + 1 or the combined key wrapping would merge or split rows)."""
    def column(values, repeat=1):
        values = np.asarray(values).repeat(repeat)
        if kind != "numbers":
            values = values.astype(str).astype(object)
        return Column(pd.Series(values))

    repeat = 3 if kind == "text in runs" else 1
    narrow = column(np.arange(127), repeat)
    assert narrow.codes.dtype == np.int8 and int(narrow.codes.max()) == 126
    assert ((narrow.codes + 1) > 0).all()
    a_values, b_values = np.arange(128).repeat(300), np.tile(np.arange(300), 128)
    a, b = column(a_values), column(b_values)
    assert (a.codes.dtype, b.codes.dtype) == (np.int16, np.int16)
    assert ((a.codes + 1) > 0).all() and int(a.codes.max()) == 127
    assert not has_duplicates([a, b])
    again = np.r_[np.arange(a_values.size), a_values.size - 1]     # the last row twice
    assert has_duplicates([column(a_values[again]), column(b_values[again])])
    missing = Column(pd.Series([None] + [str(v) for v in range(127)], dtype=object))
    assert missing.codes.dtype == np.int8 and missing.codes[0] == -1
    assert where_groups([missing])[""].tolist() == [0]


@pytest.mark.parametrize("seed", range(30))
def test_duplicates_agree_with_pandas_on_sorted_and_shuffled_keys(seed):
    """The answer by neighbours (a row repeating the row before), by a non-decreasing
    combined key and by hashing is pandas' ``duplicated().any()`` on the same columns."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    subjects = np.array([f"S{i}" for i in range(int(rng.integers(1, 6)))], dtype=object)
    frame = pd.DataFrame({"USUBJID": subjects.take(rng.integers(0, len(subjects), n)),
                          "PARAMCD": np.array(["A", "B", "C"], dtype=object).take(
                              rng.integers(0, 3, n)),
                          "AVISITN": rng.integers(0, 4, n).astype(float)})
    frame.loc[rng.random(n) < 0.1, "AVISITN"] = np.nan
    if seed % 2:
        frame = frame.sort_values(["USUBJID", "PARAMCD", "AVISITN"]).reset_index(drop=True)
    if seed % 3 == 0:   # one str object per row: equal values held by distinct objects
        for key in ("USUBJID", "PARAMCD"):
            frame[key] = [("" + v + ".")[:-1] for v in frame[key]]
    for keys in (["USUBJID"], ["USUBJID", "PARAMCD"], ["USUBJID", "PARAMCD", "AVISITN"]):
        expected = bool(frame.duplicated(keys).any())
        assert has_duplicates([Column(frame[k]) for k in keys]) == expected, keys


def test_where_groups_are_those_of_grouping_the_formatted_values():
    frame = pd.DataFrame({"CAT": ["B", "A", "B", None, "A", "B"],
                          "CD": ["y", "x", "x", "x", "x", "y"]})
    groups = where_groups([Column(frame["CAT"]), Column(frame["CD"])])
    # sorted by text, missing as "", rows ascending (hand-checked)
    assert list(groups) == [("", "x"), ("A", "x"), ("B", "x"), ("B", "y")]
    assert [list(v) for v in groups.values()] == [[3], [1, 4], [2], [0, 5]]
    single = where_groups([Column(pd.Series([2.0, 1.0, 2.0]))])
    assert list(single) == ["1", "2"] and list(single["2"]) == [0, 2]
    assert where_groups([Column(pd.Series([], dtype=object))]) == {}


@pytest.mark.parametrize("seed", range(20))
def test_define_check_columns_are_numbered_as_pandas_numbers_them(seed):
    """The define checks number a column by object first, then its distinct objects by
    value: the codes and distinct values are pd.factorize's, missing values (-1) and text
    held by several objects (or holding NUL) too."""
    from cdisc_convert.conformance.define_checks import _DataColumn

    rng = np.random.default_rng(seed)
    pool = np.array(["a", "b", "a\x00x", "a\x00y", "", "c c"], dtype=object)
    values = pool.take(rng.integers(0, len(pool), int(rng.integers(2, 60))))
    if seed % 2:        # equal text in distinct objects
        values = np.array([("" + v + ".")[:-1] if rng.random() < 0.5 else v
                           for v in values], dtype=object)
    if seed % 3 == 0:
        values[rng.random(len(values)) < 0.2] = None
    column = _DataColumn(pd.Series(values, dtype=object))
    expected_codes, expected_uniques = pd.factorize(np.append(values, None))  # exact for NUL
    assert column.codes.tolist() == (expected_codes[:-1] + 1).tolist()
    assert column.uniques.tolist() == list(expected_uniques)


@pytest.mark.parametrize("distinct, dtype", [(3, np.int8), (126, np.int8), (127, np.int16),
                                             (40_000, np.int32)])
def test_define_check_columns_hold_their_codes_in_the_smallest_integer_type(distinct, dtype):
    """A checked column's codes live while its data set is checked (all its columns
    together): one byte a row for a few distinct values, not eight. Counts and per-row
    masks are as with intp codes."""
    from cdisc_convert.conformance.define_checks import _DataColumn

    values = np.arange(distinct, dtype=float)[::-1].repeat(2)     # each value twice
    values[0] = np.nan                        # code 0: missing (its twin stays the value)
    column = _DataColumn(pd.Series(values))
    assert column.codes.dtype == dtype
    assert column.codes.tolist() == [0] + [1 + i // 2 for i in range(1, 2 * distinct)]
    counts = column.counts()
    assert counts[0] == 1 and counts[1] == 1 and set(counts[2:].tolist()) == {2}
    assert column.counts(np.arange(2 * distinct) < 3).tolist()[:3] == [1, 1, 1]
    per_code = np.zeros(distinct + 1, dtype=bool)
    per_code[-1] = True                              # the last distinct value: rows -2, -1
    assert np.flatnonzero(column.rows(per_code)).tolist() == [2 * distinct - 2,
                                                             2 * distinct - 1]


def test_numbers_in_long_runs_are_numbered_from_their_run_starts(monkeypatch):
    # sorted dates and visit numbers come in runs; missing values make runs of their own
    values = [3.0, 3.0, 3.0, 1.0, 1.0, np.nan, np.nan, 3.0, 3.0, 3.0, 0.0, -0.0, -0.0]
    column = Column(pd.Series(values))
    assert column.runs() is not None             # few runs: numbered from their starts
    # hand-checked: 3 -> 0, 1 -> 1, NaN -> -1, 0 and -0 one value -> 2
    assert list(column.codes) == [0, 0, 0, 1, 1, -1, -1, 0, 0, 0, 2, 2, 2]
    assert list(column.codes) == list(pd.factorize(pd.Series(values))[0])


@pytest.mark.parametrize("values, expected", [
    (["b", None, "", "a", np.nan], ["b", "a"]),                 # missing and "" dropped
    (["b", "a"], ["b", "a"]),                                   # nothing to drop
    (["b ", "b", None, "  ", "c"], ["b", "c"]),                 # trailing blanks: one value
    ([None, np.nan], []),
])
def test_text_values_are_the_distinct_non_blank_texts(values, expected):
    from cdisc_convert.define.profile import text_values

    series = pd.Series(values, dtype=object)
    assert text_values(series).tolist() == expected
    assert text_values(series.drop_duplicates(), distinct=True).tolist() == expected


@pytest.mark.parametrize("dtype", ["float64", "Float64"])   # row-wise, and by distinct value
def test_define_number_checks_name_the_first_non_whole_value_and_count_its_rows(dtype):
    """The integer check of every row (plain numpy numbers: vectorised over the rows) and
    of a value-level subset says what numbering every value said: the first non-whole
    value in row order, the rows holding non-whole values, the digits of the largest."""
    from lxml import etree

    from cdisc_convert.conformance.define_checks import _check_numbers, _DataColumn

    column = _DataColumn(pd.Series([1.0, 2.5, np.nan, 2.5, 0.25, -1234.0], dtype=dtype))
    assert column.plain_numbers == (dtype == "float64")
    item = etree.Element("ItemDef", DataType="integer", Length="3")
    assert _check_numbers("LB", "X", item, column) == [
        "DATA: LB.X: DataType integer but holds np.float64(2.5) (3 non-whole values)",
        "DATA: LB.X: integer Length 3 but a value has 4 digits"]
    subset = np.array([True, False, True, False, True, False])
    assert _check_numbers("LB", "X", item, column, subset, where="IT.LB.X.A") == [
        "DATA: LB.X (IT.LB.X.A): DataType integer but holds np.float64(0.25) "
        "(1 non-whole values)"]
    assert _check_numbers("LB", "X", item, column, np.zeros(6, dtype=bool)) == []


def test_define_text_checks_read_the_distinct_values_without_numbering_every_row():
    """Every row's text values (lengths, codelist) come from the distinct objects; the
    column is numbered only to count the rows of a value its codelist lacks."""
    from lxml import etree

    from cdisc_convert.conformance.define_checks import _check_codelist, _DataColumn

    values = np.array(["A", "B ", "", "A", "CC", "B "] * 3, dtype=object)
    column = _DataColumn(pd.Series(values))
    assert sorted(column.text_values()) == ["A", "B", "CC"]
    assert sorted(column.text_values(values == "CC")) == ["CC"]
    item = etree.fromstring('<ItemDef xmlns="http://www.cdisc.org/ns/odm/v1.3">'
                            '<CodeListRef CodeListOID="CL.X"/></ItemDef>')
    assert _check_codelist("AE", "X", item, column, None, {"CL.X": {"A", "B", "CC"}}) == []
    assert column._codes is None                                 # not numbered
    assert _check_codelist("AE", "X", item, column, None, {"CL.X": {"A"}}) == [
        "DATA: AE.X: value 'B' (6 records) is not declared in codelist CL.X",
        "DATA: AE.X: value 'CC' (3 records) is not declared in codelist CL.X"]
    assert _check_codelist("AE", "X", item, column, values == "A", {"CL.X": {"A"}}) == []
