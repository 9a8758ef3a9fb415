"""SAS XPORT v5 writer and reader, checked against pyreadstat (ReadStat) as the reference.

Every file ``write_xpt`` produces must read back identically with ``pyreadstat.read_xport``
(values, labels, lengths, formats), and ``read_xpt`` must return what pyreadstat returns for
files written by pyreadstat, by SAS (the CDISC reference files) and by us.
"""
from __future__ import annotations

import importlib.util
import math
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cdisc_convert.io.xpt as xpt
from cdisc_convert.io.xpt import columns as xpt_columns
from cdisc_convert.io.xpt import layout as xpt_layout
from cdisc_convert.io.xpt import reader as xpt_reader
from cdisc_convert.io.xpt import writer as xpt_writer
from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.io.xpt import (
    XptPrecisionWarning,
    check_xpt,
    ibm_to_ieee,
    ieee_to_ibm,
    read_xpt,
    write_xpt,
)

RECORD = 80


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

def reference_read(path):
    """pyreadstat's frame and metadata, numbers left as numbers (no date conversion)."""
    return pyreadstat.read_xport(str(path), disable_datetime_conversion=True)


def format_meaning(formats: dict) -> dict:
    """Formats compared by meaning, not spelling: the final "." of ``DATE9.`` is written
    by SAS, pyreadstat >= 1.3 and us, and dropped by pyreadstat 1.2 (``DATE9``)."""
    return {k: v.upper().removesuffix(".") for k, v in formats.items() if v}


def assert_readstat_agrees(theirs: pd.DataFrame, expected: pd.DataFrame,
                           blank_at_end: int) -> None:
    """pyreadstat's frame is ``expected`` less some of its trailing all-blank rows.

    How many trailing blank rows ReadStat keeps changed between versions (1.2 dropped every
    one, 1.3 keeps rows too long to be record padding), so the version-independent
    property is: every row up to the last one holding a value is there and equal, no row
    is invented, and whatever ReadStat keeps beyond that matches ours.
    """
    assert len(expected) - blank_at_end <= len(theirs) <= len(expected)
    pd.testing.assert_frame_equal(theirs, expected.iloc[:len(theirs)].reset_index(drop=True))


def data_section(path) -> bytes:
    """The bytes after the OBS header record (the observations and their padding)."""
    raw = Path(path).read_bytes()
    marker = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
    return raw[raw.index(marker) + RECORD:]


def rule_ids(error: CdiscError) -> list[str]:
    return [o.rule for o in error.offences]


def lb_frame(rows: int = 50) -> pd.DataFrame:
    """A small findings frame with text, numbers, missing values of both kinds."""
    rng = np.random.default_rng(7)
    tests = np.array(["ALB", "ALT", "GLUC", "HGB"], dtype=object)
    frame = pd.DataFrame({
        "STUDYID": ["CDISCPILOT01"] * rows,
        "USUBJID": [f"01-701-{1000 + i // 5}" for i in range(rows)],
        "LBTESTCD": tests[rng.integers(0, 4, rows)],
        "LBORRES": [None if i % 7 == 0 else f"{i / 3:.2f}" for i in range(rows)],
        "LBSEQ": np.arange(1, rows + 1),
        "LBSTRESN": np.where(np.arange(rows) % 7 == 0, np.nan, np.arange(rows) / 3),
        "LBDT": np.arange(rows, dtype=float) + 19000,
    })
    return frame


LB_LABELS = {"STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier",
             "LBTESTCD": "Lab Test or Examination Short Name", "LBORRES": "Result or Finding "
             "in Original Units", "LBSEQ": "Sequence Number",
             "LBSTRESN": "Numeric Result/Finding in Standard Units", "LBDT": "Analysis Date"}


# ---------------------------------------------------------------------------------------
# round trips against pyreadstat
# ---------------------------------------------------------------------------------------

def test_written_file_reads_back_identically_with_pyreadstat(tmp_path):
    frame = lb_frame()
    path = write_xpt(frame, tmp_path / "lb.xpt", name="LB", label="Laboratory Test Results",
                     labels=LB_LABELS, lengths={"LBTESTCD": 8, "LBORRES": 200},
                     formats={"LBDT": "DATE9.", "LBSTRESN": "8.2", "LBTESTCD": "$CHAR8."})
    theirs, meta = reference_read(path)

    expected = frame.assign(LBORRES=frame["LBORRES"].fillna(""),
                            LBSEQ=frame["LBSEQ"].astype(float))
    pd.testing.assert_frame_equal(theirs, expected)
    assert meta.table_name == "LB"
    assert meta.file_label == "Laboratory Test Results"
    assert meta.column_names_to_labels == LB_LABELS
    assert meta.variable_storage_width == {
        "STUDYID": 12, "USUBJID": 11, "LBTESTCD": 8, "LBORRES": 200, "LBSEQ": 8,
        "LBSTRESN": 8, "LBDT": 8}
    assert format_meaning(meta.original_variable_types) == {
        "LBTESTCD": "$CHAR8", "LBSTRESN": "8.2", "LBDT": "DATE9"}

    ours = read_xpt(path)
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours.attrs["name"] == "LB"
    assert ours.attrs["label"] == "Laboratory Test Results"
    assert ours.attrs["labels"] == LB_LABELS
    assert ours.attrs["lengths"] == meta.variable_storage_width
    assert ours.attrs["formats"] == {"LBTESTCD": "$CHAR8.", "LBSTRESN": "8.2",
                                     "LBDT": "DATE9."}
    assert ours.attrs["members"] == ["LB"]
    assert ours.attrs["special_missing"] == {}


def test_reads_pyreadstat_written_v5_like_pyreadstat(tmp_path):
    frame = lb_frame().assign(LBSEQ=lambda f: f["LBSEQ"].astype(float))
    frame["LBORRES"] = frame["LBORRES"].fillna("")
    path = tmp_path / "lb.xpt"
    pyreadstat.write_xport(frame, str(path), file_label="Lab", column_labels=LB_LABELS,
                           table_name="LB", file_format_version=5,
                           variable_format={"LBDT": "DATE9", "LBSTRESN": "8.2"})
    theirs, meta = reference_read(path)
    ours = read_xpt(path)
    pd.testing.assert_frame_equal(ours, theirs)
    assert ours.attrs["name"] == meta.table_name == "LB"
    assert ours.attrs["label"] == meta.file_label
    assert ours.attrs["labels"] == meta.column_names_to_labels
    assert ours.attrs["lengths"] == meta.variable_storage_width
    assert ours.attrs["formats"] == {"LBDT": "DATE9.", "LBSTRESN": "8.2"}
    assert format_meaning(ours.attrs["formats"]) == format_meaning(
        meta.original_variable_types)


def test_numbers_are_byte_identical_to_readstat(tmp_path):
    """Our IEEE -> IBM conversion writes exactly the bytes ReadStat (TS-140) writes."""
    rng = np.random.default_rng(3)
    edge = [0.0, -0.0, 1.0, -1.0, -118.625, 0.1, 1e-300, -1e-300, 2.0 ** -260,
            2.0 ** -261, 5.4e-79, 2.0 ** 53, -(2.0 ** 53), 2.0 ** 53 - 1, 1e70, -1e70,
            2.0 ** 248, math.pi, np.nan, 5e-324, 2.2250738585072014e-308]
    values = np.concatenate([edge, rng.normal(0, 1e6, 300), rng.random(300),
                             np.exp(rng.uniform(-170, 170, 300)) * rng.choice([-1, 1], 300)])
    frame = pd.DataFrame({"X": values})
    ours, theirs = tmp_path / "ours.xpt", tmp_path / "theirs.xpt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XptPrecisionWarning)
        write_xpt(frame, ours, name="DATASET", label="")
    pyreadstat.write_xport(frame, str(theirs), file_format_version=5)
    assert data_section(ours) == data_section(theirs)


def test_ieee_to_ibm_known_patterns():
    patterns = {1.0: 0x4110000000000000, -118.625: 0xC276A00000000000,
                0.5: 0x4080000000000000, 16.0: 0x4210000000000000, 0.0: 0, -0.0: 0,
                1e-300: 0}
    for value, expected in patterns.items():
        assert int(ieee_to_ibm([value])[0]) == expected, value
    assert int(ieee_to_ibm([np.nan])[0]) == 0x2E << 56
    with pytest.raises(ValueError):
        ieee_to_ibm([np.inf])
    with pytest.raises(ValueError):
        ieee_to_ibm([1e76])


def test_ibm_round_trip_is_exact_for_every_double_in_range():
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**63, 100_000, dtype=np.uint64) | (
        rng.integers(0, 2, 100_000, dtype=np.uint64) << np.uint64(63))
    values = bits.view(np.float64)
    in_range = np.isfinite(values) & (np.abs(values) >= 2.0 ** -260) & (
        np.abs(values) < 2.0 ** 252)
    values = np.concatenate([values[in_range], [2.0 ** 252 * (1 - 2 ** -53), 2.0 ** 53 + 2,
                                                -(2.0 ** -260)]])
    back = ibm_to_ieee(ieee_to_ibm(values))
    assert np.array_equal(back.view(np.uint64), values.view(np.uint64))


def test_reading_arbitrary_ibm_words_agrees_with_readstat(tmp_path):
    """IBM numbers with 54-56 significant bits (never written from IEEE) are truncated to
    53 bits exactly as ReadStat does; checked by patching raw words into a file."""
    rng = np.random.default_rng(5)
    count = 2000
    first_byte = rng.integers(0, 256, count, dtype=np.uint64)
    fraction = rng.integers(1 << 52, 1 << 56, count, dtype=np.uint64)  # normalised
    words = (first_byte << np.uint64(56)) | fraction
    path = tmp_path / "ibm.xpt"
    write_xpt(pd.DataFrame({"X": np.ones(count)}), path, name="IBM", label="")
    raw = bytearray(path.read_bytes())
    start = raw.index(b"HEADER RECORD*******OBS     ") + RECORD
    raw[start:start + 8 * count] = words.astype(">u8").tobytes()
    path.write_bytes(bytes(raw))
    ours = read_xpt(path)["X"].to_numpy()
    theirs = reference_read(path)[0]["X"].to_numpy()
    assert np.array_equal(ours.view(np.uint64), theirs.view(np.uint64))


# ---------------------------------------------------------------------------------------
# property test: random frames
# ---------------------------------------------------------------------------------------

NAMES = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,7}\Z")
ASCII_TEXT = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x7F), max_size=12)
TEXT_VALUES = st.one_of(ASCII_TEXT, st.none(), st.sampled_from(["", " ", "  x  ", "A" * 200,
                                                                  "B" * 199 + " "]))
EDGE_FLOATS = [0.0, -0.0, -1.5, 1e-300, -1e-300, 1e300 / 1e226, 2.0 ** 53, -(2.0 ** 53),
               np.nan, 5e-79, 7e75, -7e75, 123456789.125]
FLOAT_VALUES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-7e75, max_value=7e75),
    st.sampled_from(EDGE_FLOATS))


@st.composite
def random_frames(draw):
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    rows = draw(st.integers(0, 25))
    columns, labels = {}, {}
    for name in names:
        kind = draw(st.sampled_from(["text", "float", "int"]))
        if kind == "text":
            columns[name] = pd.Series(draw(st.lists(TEXT_VALUES, min_size=rows,
                                                    max_size=rows)), dtype=object)
        elif kind == "float":
            columns[name] = pd.Series(draw(st.lists(FLOAT_VALUES, min_size=rows,
                                                    max_size=rows)), dtype=float)
        else:
            columns[name] = pd.Series(draw(st.lists(st.integers(-(2**53), 2**53),
                                                    min_size=rows, max_size=rows)),
                                      dtype=np.int64)
        labels[name] = draw(st.text(alphabet=st.characters(min_codepoint=0x20,
                                                           max_codepoint=0x7E), max_size=40))
    label = draw(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                         max_size=40))
    return pd.DataFrame(columns), labels, label


def expected_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """What a reader returns: text without trailing blanks ("" for missing), float64
    numbers, values below the IBM range as 0."""
    out = {}
    for name, column in frame.items():
        if column.dtype == object:
            out[name] = pd.Series([("" if v is None else v).rstrip(" ") for v in column],
                                  dtype=object)
        else:
            values = column.to_numpy(dtype=float)
            out[name] = pd.Series(np.where(np.abs(values) < 2.0 ** -260, 0.0, values))
    return pd.DataFrame(out, columns=frame.columns)


def blank_rows_at_end(frame: pd.DataFrame) -> int:
    """How many trailing rows are entirely blank (only possible with text columns only)."""
    if any(column.dtype != object for _, column in frame.items()):
        return 0
    blank = frame.apply(lambda c: c.map(lambda v: v is None or v.strip(" ") == "")).all(axis=1)
    count = 0
    for value in blank.to_numpy()[::-1]:
        if not value:
            break
        count += 1
    return count


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(random_frames())
def test_random_frames_round_trip(tmp_path, case):
    frame, labels, label = case
    path = tmp_path / "random.xpt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XptPrecisionWarning)
        write_xpt(frame, path, name="RANDOM", label=label, labels=labels)
    expected = expected_frame(frame)
    lengths = {name: 8 if column.dtype != object else
               max(1, max((len(v) for v in column if v is not None), default=0))
               for name, column in expected.items()}

    # read_xpt: whole rows hidden in the final record's padding are indistinguishable
    ours = read_xpt(path)
    row_length = sum(lengths.values())
    size = len(frame) * row_length + (-len(frame) * row_length) % RECORD
    keep = len(frame)
    blank = blank_rows_at_end(frame)
    while blank and keep and size - (keep - 1) * row_length < RECORD:
        keep, blank = keep - 1, blank - 1
    pd.testing.assert_frame_equal(ours, expected.iloc[:keep].reset_index(drop=True))
    assert ours.attrs["lengths"] == lengths
    # labels are blank padded in the file, so their trailing blanks do not survive
    labels = {k: v.rstrip(" ") for k, v in labels.items()}
    assert ours.attrs["labels"] == labels
    assert ours.attrs["label"] == label.rstrip(" ")

    # pyreadstat: the same rows, up to how many trailing all-blank rows it keeps
    theirs, meta = reference_read(path)
    assert_readstat_agrees(theirs, expected, blank_rows_at_end(frame))
    assert meta.variable_storage_width == lengths
    assert meta.column_names_to_labels == {k: v or None for k, v in labels.items()}
    assert (meta.file_label or "") == label.rstrip(" ")


# ---------------------------------------------------------------------------------------
# rules: one error listing every offence
# ---------------------------------------------------------------------------------------

def offences_of(frame, **kwargs) -> list[str]:
    arguments = {"name": "DM", "label": "Demographics"} | kwargs
    return [o.rule for o in check_xpt(frame, **arguments)]


def test_offences_name_rule_and_column():
    offences = check_xpt(pd.DataFrame({"AGE": ["x" * 201]}), name="DM", label="")
    assert [(o.rule, o.variable) for o in offences] == [("XPT-LENGTH", "AGE")]
    assert str(offences[0]).startswith("XPT-LENGTH: column AGE: ")
    assert [o.rule for o in check_xpt(pd.DataFrame(), name="DM", label="")] == ["XPT-NAME"]


def test_valid_frame_has_no_offences():
    assert check_xpt(lb_frame(), name="LB", label="Lab", labels=LB_LABELS,
                     lengths={"LBTESTCD": 8}, formats={"LBDT": "DATE9."}) == []


@pytest.mark.parametrize("name", ["DEMOGRAPHICS", "dm", "1DM", "D-M", "", "_DM", "DÉ"])
def test_dataset_name_rule(name, tmp_path):
    with pytest.raises(CdiscError) as caught:
        write_xpt(pd.DataFrame({"A": ["x"]}), tmp_path / "dm.xpt", name=name, label="")
    assert rule_ids(caught.value) == ["XPT-NAME"]
    assert "data set name" in str(caught.value)


@pytest.mark.parametrize("column", ["USUBJIDXX", "usubjid", "9AGE", "AGE U", "AGÉ", 7])
def test_variable_name_rule(column):
    assert offences_of(pd.DataFrame({column: ["x"]})) == ["XPT-NAME"]


def test_duplicate_names_rule():
    frame = pd.DataFrame([["a", "b"]], columns=["AGE", "AGE"])
    assert offences_of(frame) == ["XPT-NAME"]


def test_label_rule():
    frame = pd.DataFrame({"AGE": [1]})
    assert offences_of(frame, labels={"AGE": "x" * 41}) == ["XPT-LABEL"]
    assert offences_of(frame, label="y" * 41) == ["XPT-LABEL"]
    assert offences_of(frame, labels={"AGE": "x" * 40}, label="y" * 40) == []
    assert offences_of(frame, labels={"NOPE": "x"}) == ["XPT-LABEL"]


def test_ascii_rule():
    assert offences_of(pd.DataFrame({"SITE": ["Zürich", "Bern"]})) == ["XPT-ASCII"]
    assert offences_of(pd.DataFrame({"SITE": ["a"]}), labels={"SITE": "Café"}) == ["XPT-ASCII"]
    assert offences_of(pd.DataFrame({"SITE": ["a"]}), label="Démographie") == ["XPT-ASCII"]
    assert offences_of(pd.DataFrame({"SITE": ["a\x00b"]})) == ["XPT-ASCII"]


@pytest.mark.parametrize("pattern", ["runs", "cycle"])
def test_nul_is_found_after_the_same_text_without_it_however_text_is_stored(pattern):
    # pandas hashes str as C strings ending at a NUL: "SUBJ-0499\x00x" seen after
    # "SUBJ-0499" would be numbered as it and written silently without its NUL
    rows = 50_000
    if pattern == "runs":
        values = [f"SUBJ-{i // 100:04d}" for i in range(rows)]
    else:
        values = [["LDIAM", "LPERP", "SUMDIAM"][i % 3] for i in range(rows)]
    values[rows - 3] += "\x00x"
    for how, series in _storages(np.array(values, dtype=object)).items():
        offences = check_xpt(pd.DataFrame({"V": series}), name="V", label="")
        assert [(o.rule, o.rows) for o in offences] == [("XPT-ASCII", (rows - 3,))], how
        assert "NUL character in row 49998" in offences[0].message, how


def test_value_longer_than_200_bytes_rule():
    assert offences_of(pd.DataFrame({"TEXT": ["x" * 201]})) == ["XPT-LENGTH"]
    # trailing blanks are not part of a SAS value, so 200 characters + blanks are fine
    assert offences_of(pd.DataFrame({"TEXT": ["x" * 200 + "   "]})) == []


def test_spec_length_shorter_than_longest_value_is_an_error_not_a_truncation(tmp_path):
    frame = pd.DataFrame({"AETERM": ["HEADACHE", "NAUSEA AND VOMITING"]})
    with pytest.raises(CdiscError) as caught:
        write_xpt(frame, tmp_path / "ae.xpt", name="AE", label="", lengths={"AETERM": 10})
    assert rule_ids(caught.value) == ["XPT-LENGTH"]
    assert "row 2" in str(caught.value) and "19 bytes" in str(caught.value)
    assert not list(tmp_path.iterdir())


def test_length_values_rule():
    frame = pd.DataFrame({"TEXT": ["abc"], "NUM": [1.0]})
    assert offences_of(frame, lengths={"TEXT": 201}) == ["XPT-LENGTH"]
    assert offences_of(frame, lengths={"TEXT": 0}) == ["XPT-LENGTH"]
    assert offences_of(frame, lengths={"TEXT": "20"}) == ["XPT-LENGTH"]
    assert offences_of(frame, lengths={"NUM": 4}) == ["XPT-LENGTH"]
    assert offences_of(frame, lengths={"NUM": 8, "TEXT": 3}) == []
    assert offences_of(frame, lengths={"OTHER": 8}) == ["XPT-LENGTH"]


def test_type_rule():
    dates = pd.DataFrame({"RFSTDT": pd.to_datetime(["2020-01-01"])})
    assert offences_of(dates) == ["XPT-TYPE"]
    mixed = pd.DataFrame({"AVALC": ["1", 2, None]})
    assert offences_of(mixed) == ["XPT-TYPE"]


def test_range_rule():
    assert offences_of(pd.DataFrame({"AVAL": [1.0, np.inf]})) == ["XPT-RANGE"]
    assert offences_of(pd.DataFrame({"AVAL": [1.0, -1e300]})) == ["XPT-RANGE"]
    assert offences_of(pd.DataFrame({"ID": np.array([2**53, 2**60], dtype=np.int64)})) == [
        "XPT-RANGE"]
    assert offences_of(pd.DataFrame({"AVAL": [7e75, -7e75, 2.0**53]})) == []


def test_format_rule():
    frame = pd.DataFrame({"AVAL": [1.0], "AVALC": ["x"]})
    assert offences_of(frame, formats={"AVAL": "8.2", "AVALC": "$CHAR20."}) == []
    assert offences_of(frame, formats={"AVAL": "DATE9"}) == []
    assert offences_of(frame, formats={"AVAL": "$CHAR8."}) == ["XPT-FORMAT"]
    assert offences_of(frame, formats={"AVALC": "DATE9."}) == ["XPT-FORMAT"]
    assert offences_of(frame, formats={"AVAL": "LONGFORMAT12."}) == ["XPT-FORMAT"]
    assert offences_of(frame, formats={"AVAL": "not a format"}) == ["XPT-FORMAT"]
    assert offences_of(frame, formats={"NOPE": "8."}) == ["XPT-FORMAT"]


def test_special_missing_rule():
    frame = pd.DataFrame({"AVAL": [1.0, np.nan], "AVALC": ["a", "b"]})
    frame.attrs["special_missing"] = {"AVAL": {0: "A"}}
    assert offences_of(frame) == ["XPT-MISSING"]
    frame.attrs["special_missing"] = {"AVAL": {1: "AA"}}
    assert offences_of(frame) == ["XPT-MISSING"]
    frame.attrs["special_missing"] = {"AVALC": {1: "A"}}
    assert offences_of(frame) == ["XPT-MISSING"]
    frame.attrs["special_missing"] = {"AVAL": {1: ".Z"}}
    assert offences_of(frame) == []


def test_every_offence_is_listed_in_one_error(tmp_path):
    frame = pd.DataFrame({
        "usubjid": ["01-701-1015"],
        "AETERM": ["x" * 201],
        "AESITE": ["Zürich"],
        "AESTDTC": ["2014-01-02"],
        "AVAL": [np.inf],
    })
    target = tmp_path / "ae.xpt"
    target.write_bytes(b"previous file")
    with pytest.raises(CdiscError) as caught:
        write_xpt(frame, target, name="adverse", label="z" * 41,
                  labels={"AESTDTC": "Start Date/Time of Adverse Event, as collected"},
                  lengths={"AESTDTC": 5})
    error = caught.value
    assert sorted(rule_ids(error)) == sorted([
        "XPT-NAME", "XPT-LABEL", "XPT-NAME", "XPT-LENGTH", "XPT-ASCII", "XPT-LABEL",
        "XPT-LENGTH", "XPT-RANGE"])
    assert len(error.details) == 8
    text = str(error)
    for fragment in ("'adverse'", "'usubjid'", "AETERM", "AESITE", "AESTDTC", "AVAL"):
        assert fragment in text
    assert error.location.file == str(target)
    assert [str(o) for o in check_xpt(
        frame, name="adverse", label="z" * 41,
        labels={"AESTDTC": "Start Date/Time of Adverse Event, as collected"},
        lengths={"AESTDTC": 5})] == error.details
    assert target.read_bytes() == b"previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae.xpt"]


# ---------------------------------------------------------------------------------------
# writing: reproducibility, atomicity, warnings, special missing values, dtypes
# ---------------------------------------------------------------------------------------

def test_source_date_epoch_makes_output_byte_identical(tmp_path, monkeypatch):
    class Clock(datetime):
        """now() moves on at every call, so any use of the wall clock would show."""
        ticks = 0

        @classmethod
        def now(cls, tz=None):
            cls.ticks += 3600
            return datetime(2001, 2, 3) + pd.Timedelta(seconds=cls.ticks).to_pytimedelta()

    monkeypatch.setattr(xpt_writer, "datetime", Clock)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = write_xpt(lb_frame(), tmp_path / "a.xpt", name="LB", label="Lab")
    second = write_xpt(lb_frame(), tmp_path / "b.xpt", name="LB", label="Lab")
    assert first.read_bytes() == second.read_bytes()
    attrs = read_xpt(first).attrs
    assert attrs["created"] == attrs["modified"] == datetime(2023, 11, 14, 22, 13, 20)

    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    third = write_xpt(lb_frame(), tmp_path / "c.xpt", name="LB", label="Lab")
    assert read_xpt(third).attrs["created"].year == 2001


def test_invalid_source_date_epoch_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(CdiscError, match="SOURCE_DATE_EPOCH"):
        write_xpt(lb_frame(), tmp_path / "a.xpt", name="LB", label="Lab")
    assert not list(tmp_path.iterdir())


def test_failing_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "lb.xpt"
    target.write_bytes(b"the previous version")
    real = xpt_writer._row_chunks

    def broken(*args):
        chunks = real(*args)
        yield next(chunks)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xpt_writer, "_row_chunks", broken)
    with pytest.raises(CdiscError, match="writing failed"):
        write_xpt(lb_frame(5000), target, name="LB", label="Lab")
    assert target.read_bytes() == b"the previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["lb.xpt"]

    def interrupted(*args):
        yield b" " * 80
        raise KeyboardInterrupt

    monkeypatch.setattr(xpt_writer, "_row_chunks", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_xpt(lb_frame(), tmp_path / "new.xpt", name="LB", label="Lab")
    assert [p.name for p in tmp_path.iterdir()] == ["lb.xpt"]


def test_write_into_missing_folder_is_a_cdisc_error(tmp_path):
    with pytest.raises(CdiscError, match="cannot write"):
        write_xpt(lb_frame(), tmp_path / "nope" / "lb.xpt", name="LB", label="")


def test_values_below_ibm_range_become_zero_with_a_warning(tmp_path):
    frame = pd.DataFrame({"TINY": [1e-300, -1e-100, 0.0, 1.0]})
    with pytest.warns(XptPrecisionWarning, match="2 value"):
        write_xpt(frame, tmp_path / "t.xpt", name="T", label="")
    assert read_xpt(tmp_path / "t.xpt")["TINY"].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert reference_read(tmp_path / "t.xpt")[0]["TINY"].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_special_missing_values_round_trip(tmp_path):
    frame = pd.DataFrame({"AVAL": [1.0, np.nan, np.nan, np.nan], "PARAM": list("abcd")})
    frame.attrs["special_missing"] = {"AVAL": {1: "A", 3: "._"}}
    path = write_xpt(frame, tmp_path / "s.xpt", name="S", label="")
    rows = np.frombuffer(data_section(path)[: 4 * 9], dtype=np.uint8).reshape(4, 9)
    assert [bytes(rows[i, :1]) for i in range(4)] == [b"A", b"A", b".", b"_"]
    assert rows[1, 0] == ord("A") and not rows[1, 1:8].any()
    ours = read_xpt(path)
    assert ours.attrs["special_missing"] == {"AVAL": {1: "A", 3: "_"}}
    pd.testing.assert_frame_equal(ours, reference_read(path)[0])
    again = write_xpt(ours, tmp_path / "again.xpt", name="S", label="")
    assert data_section(again) == data_section(path)


def test_pandas_dtypes_are_accepted(tmp_path):
    frame = pd.DataFrame({
        "FLAG": [True, False, True],
        "COUNT": pd.array([1, None, 3], dtype="Int64"),
        "RATE": pd.array([0.5, None, 1.5], dtype="Float64"),
        "SMALL": np.array([1, 2, 3], dtype=np.int8),
        "SINGLE": np.array([0.5, 1.25, np.nan], dtype=np.float32),
        "CAT": pd.Categorical(["x", None, "yy"]),
        "STR": pd.array(["a", None, "b"], dtype="string"),
    }, index=[10, 20, 30])
    path = write_xpt(frame, tmp_path / "d.xpt", name="D", label="")
    expected = pd.DataFrame({
        "FLAG": [1.0, 0.0, 1.0], "COUNT": [1.0, np.nan, 3.0], "RATE": [0.5, np.nan, 1.5],
        "SMALL": [1.0, 2.0, 3.0], "SINGLE": [0.5, 1.25, np.nan],
        "CAT": ["x", "", "yy"], "STR": ["a", "", "b"]})
    pd.testing.assert_frame_equal(read_xpt(path), expected)
    pd.testing.assert_frame_equal(reference_read(path)[0], expected)


def test_values_are_deduplicated_by_content_not_by_object(tmp_path):
    # equal strings held by different objects, and None / NaN as missing
    values = ["".join(["A", "B"]) for _ in range(3)] + [None, np.nan, "ABC"]
    frame = pd.DataFrame({"V": pd.Series(values, dtype=object)})
    path = write_xpt(frame, tmp_path / "v.xpt", name="V", label="")
    assert read_xpt(path)["V"].tolist() == ["AB", "AB", "AB", "", "", "ABC"]


def _storages(column: np.ndarray) -> dict:
    """One text column held five ways: shared objects (as read_csv gives), one object per
    row (as string operations give), pandas' python and pyarrow ``string`` dtypes, and a
    categorical with an unused (longer) category."""
    fresh = np.array([None if v is None else "".join(list(v)) for v in column], dtype=object)
    out = {"shared": pd.Series(column, dtype=object), "distinct": pd.Series(fresh),
           "string[python]": pd.Series(column, dtype="string[python]"),
           "category": pd.Series(pd.Categorical(column, categories=sorted(
               {v for v in column if v is not None} | {"UNUSED-AND-LONGER-THAN-ALL"})))}
    if importlib.util.find_spec("pyarrow"):
        out["string[pyarrow]"] = pd.Series(column, dtype="string[pyarrow]")
    return out


@pytest.mark.parametrize("pattern", ["runs", "cycle", "distinct"])
def test_file_bytes_do_not_depend_on_how_text_is_stored(tmp_path, monkeypatch, pattern):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # same header time in every file
    # 50,000 rows: large enough for the sampled paths (objects per row, runs of values)
    rows = 50_000
    if pattern == "runs":     # sorted identifiers, with a missing run
        values = [f"SUBJ-{i // 100:04d}" for i in range(rows)]
        values[300:400] = [None] * 100
    elif pattern == "cycle":  # a few values repeating in turn, some missing
        values = [None if i % 97 == 0 else ["LDIAM", "LPERP", "SUMDIAM"][i % 3]
                  for i in range(rows)]
    else:                     # every value different
        values = [f"2014-01-01T{i:06d}" for i in range(rows)]
    column = np.array(values, dtype=object)
    files = {}
    for how, series in _storages(column).items():
        path = write_xpt(pd.DataFrame({"V": series}), tmp_path / "v.xpt", name="V", label="")
        files[how] = path.read_bytes()
    assert all(data == files["shared"] for data in files.values()), [
        how for how, data in files.items() if data != files["shared"]]
    back = read_xpt(tmp_path / "v.xpt")["V"]
    assert back.tolist() == ["" if v is None else v for v in values]


def test_all_missing_text_column(tmp_path):
    frame = pd.DataFrame({"A": pd.Series([None], dtype=object), "B": [np.nan]})
    path = write_xpt(frame, tmp_path / "m.xpt", name="M", label="")
    expected = pd.DataFrame({"A": [""], "B": [np.nan]})
    pd.testing.assert_frame_equal(read_xpt(path), expected)
    pd.testing.assert_frame_equal(reference_read(path)[0], expected)
    assert read_xpt(path).attrs["lengths"] == {"A": 1, "B": 8}


def test_empty_frame(tmp_path):
    frame = pd.DataFrame({"A": pd.Series([], dtype=object), "B": pd.Series([], dtype=float)})
    path = write_xpt(frame, tmp_path / "e.xpt", name="E", label="Empty")
    ours = read_xpt(path)
    pd.testing.assert_frame_equal(ours, reference_read(path)[0])
    assert ours.shape == (0, 2) and ours.attrs["lengths"] == {"A": 1, "B": 8}


def test_trailing_blank_rows(tmp_path):
    """V5 stores no row count and blank-pads the last 80-byte record, so a trailing
    all-blank row is padding exactly when a file without it would have the same size
    (TS-140); any other trailing blank row is data and read_xpt keeps it."""
    short = write_xpt(pd.DataFrame({"A": ["x", "", ""]}), tmp_path / "s.xpt", name="S",
                      label="")
    assert read_xpt(short)["A"].tolist() == ["x"]  # 3 bytes or 1 byte: both one record
    wide = pd.DataFrame({"A": ["x" * 90, "", ""]})
    path = write_xpt(wide, tmp_path / "w.xpt", name="W", label="")
    assert read_xpt(path)["A"].tolist() == ["x" * 90, "", ""]  # a 90-byte row is no padding
    # rows of 30 bytes, 4 rows = 120 bytes in 160: with 3 rows (90 bytes) the file would
    # still be 160 bytes, with 2 rows (60 bytes) only 80, so the 3rd row is data
    mid = write_xpt(pd.DataFrame({"A": ["x" * 30, "", "", ""]}), tmp_path / "m.xpt",
                    name="M", label="")
    assert read_xpt(mid)["A"].tolist() == ["x" * 30, "", ""]
    for written, frame in ((path, wide), (mid, pd.DataFrame({"A": ["x" * 30, "", "", ""]}))):
        assert_readstat_agrees(reference_read(written)[0], frame, blank_at_end=len(frame) - 1)


# ---------------------------------------------------------------------------------------
# reading: bad files, encodings, members, short numbers
# ---------------------------------------------------------------------------------------

@pytest.fixture
def good_file(tmp_path) -> Path:
    return write_xpt(lb_frame(200), tmp_path / "lb.xpt", name="LB", label="Lab")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_file_is_an_input_error(good_file, tmp_path, cut):
    raw = good_file.read_bytes()
    broken = tmp_path / "broken.xpt"
    broken.write_bytes(raw[: int(len(raw) * cut)])
    with pytest.raises(InputError, match="truncated") as caught:
        read_xpt(broken)
    assert "broken.xpt" in str(caught.value)


def test_file_cut_inside_the_header_is_an_input_error(good_file, tmp_path):
    broken = tmp_path / "head.xpt"
    broken.write_bytes(good_file.read_bytes()[:RECORD * 6])
    with pytest.raises(InputError, match="truncated"):
        read_xpt(broken)


def test_file_cut_at_a_row_boundary_is_an_input_error(tmp_path):
    frame = pd.DataFrame({"X": np.arange(100.0), "T": ["abcdefgh"] * 100})  # 16-byte rows
    path = write_xpt(frame, tmp_path / "x.xpt", name="X", label="")
    raw = path.read_bytes()
    start = raw.index(b"HEADER RECORD*******OBS     ") + RECORD
    broken = tmp_path / "cut.xpt"
    broken.write_bytes(raw[: start + 16 * 37])  # whole rows, but not whole records
    with pytest.raises(InputError, match="truncated"):
        read_xpt(broken)


def test_nul_padding_after_the_last_row_is_accepted(tmp_path):
    good_file = write_xpt(lb_frame(201), tmp_path / "lb.xpt", name="LB", label="Lab")
    raw = bytearray(good_file.read_bytes())
    rows = 201 * sum(read_xpt(good_file).attrs["lengths"].values())
    start = raw.index(b"HEADER RECORD*******OBS     ") + RECORD
    padding = len(raw) - start - rows
    assert padding > 0
    raw[start + rows:] = bytes(padding)
    other = tmp_path / "nul.xpt"
    other.write_bytes(bytes(raw))
    pd.testing.assert_frame_equal(read_xpt(other), read_xpt(good_file))


def test_html_page_is_an_input_error(tmp_path):
    page = tmp_path / "dm.xpt"
    page.write_text("<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n")
    with pytest.raises(InputError, match="HTML") as caught:
        read_xpt(page)
    assert "dm.xpt" in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"just some text, not SAS\n" * 10,
                                     bytes(range(256)) * 4])
def test_empty_or_foreign_file_is_an_input_error(tmp_path, content):
    path = tmp_path / "x.xpt"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_xpt(path)
    assert "x.xpt" in str(caught.value)


def test_corrupted_headers_give_input_errors_not_tracebacks(good_file, tmp_path):
    """Random byte changes in the header region, sometimes with a cut: the reader either
    reads the file or raises InputError, never another exception."""
    raw = good_file.read_bytes()
    rng = np.random.default_rng(2024)
    broken = tmp_path / "broken.xpt"
    for _ in range(300):
        data = bytearray(raw)
        for position in rng.integers(0, 1500, rng.integers(1, 4)):
            data[int(position)] = int(rng.integers(0, 256))
        if rng.random() < 0.2:
            data = data[: int(rng.integers(0, len(data)))]
        broken.write_bytes(bytes(data))
        try:
            read_xpt(broken)
        except InputError:
            pass


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_xpt(tmp_path / "nope.xpt")


def test_version_8_file_is_an_input_error(tmp_path):
    path = tmp_path / "v8.xpt"
    pyreadstat.write_xport(lb_frame(), str(path))  # pyreadstat's default is version 8
    with pytest.raises(InputError, match="version 8"):
        read_xpt(path)


def test_encodings(tmp_path):
    path = write_xpt(pd.DataFrame({"SITE": ["Zurich", "Geneva"]}), tmp_path / "e.xpt",
                     name="E", label="")
    raw = bytearray(path.read_bytes())
    raw[raw.rindex(b"Zurich") + 1] = 0xFC  # "Zürich" in cp1252 / latin-1
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="cp1252") as caught:
        read_xpt(path)
    assert "SITE" in str(caught.value)
    for encoding, iconv_name in (("cp1252", "CP1252"), ("latin-1", "ISO-8859-1")):
        ours = read_xpt(path, encoding=encoding)
        assert ours["SITE"].tolist() == ["Zürich", "Geneva"]
        theirs = pyreadstat.read_xport(str(path), encoding=iconv_name)[0]
        pd.testing.assert_frame_equal(ours, theirs)
    with pytest.raises(InputError, match="utf-8"):
        read_xpt(path, encoding="utf-8")
    with pytest.raises(CdiscError, match="unknown text encoding"):
        read_xpt(path, encoding="no-such-codec")


def test_multi_member_file(tmp_path):
    first = write_xpt(pd.DataFrame({"A": ["x", "y"]}), tmp_path / "a.xpt", name="A",
                      label="First")
    second_frame = pd.DataFrame({"B": [1.5, 2.5, np.nan], "C": ["p", "q", "r"]})
    second = write_xpt(second_frame, tmp_path / "b.xpt", name="B", label="Second")
    both = tmp_path / "both.xpt"
    both.write_bytes(first.read_bytes() + second.read_bytes()[3 * RECORD:])
    ours = read_xpt(both)
    assert ours["A"].tolist() == ["x", "y"]
    assert ours.attrs["members"] == ["A", "B"]
    named = read_xpt(both, member="b")
    pd.testing.assert_frame_equal(named, second_frame)
    assert named.attrs["label"] == "Second"
    with pytest.raises(InputError, match="no member"):
        read_xpt(both, member="Z")


def test_short_numeric_lengths_are_read(tmp_path):
    """SAS may store numbers in 3-7 bytes (the IBM number with its low bytes cut off);
    ReadStat does not read those (it assumes 8 bytes), so this checks against values."""
    columns = [xpt_columns.Column("N3", "", False, 3), xpt_columns.Column("T", "", True, 2),
               xpt_columns.Column("N5", "", False, 5)]
    header = xpt_writer._headers(columns, "SHORT", "")
    values = [1.0, -118.625, 0.1, np.nan]
    words = ieee_to_ibm(values).astype(">u8").view(np.uint8).reshape(-1, 8)
    rows = b"".join(bytes(words[i, :3]) + b"ab" + bytes(words[i, :5]) for i in range(4))
    path = tmp_path / "short.xpt"
    path.write_bytes(header + rows + b" " * (-len(rows) % RECORD))
    frame = read_xpt(path)
    # 0.1 is 0x40199999_9999999A: 3 bytes keep 0x401999, 5 bytes 0x4019999999
    assert frame["N3"].tolist()[:3] == [1.0, -118.625, 0x1999 / 16**4]
    assert frame["N5"].tolist()[:3] == [1.0, -118.625, 0x19999999 / 16**8]
    assert np.isnan(frame["N3"].iloc[3]) and frame["T"].tolist() == ["ab"] * 4
    assert frame.attrs["lengths"] == {"N3": 3, "T": 2, "N5": 5}


def test_hash_collisions_fall_back_to_exact_decoding(tmp_path, monkeypatch):
    """Wide text is grouped by a hash; a (forced) collision must not merge values."""
    frame = pd.DataFrame({"TERM": ["HEADACHE AND DIZZINESS", "NAUSEA AND VOMITING", "A"]
                          * 100})
    path = write_xpt(frame, tmp_path / "h.xpt", name="H", label="")
    monkeypatch.setattr(xpt_reader, "_HASH_MULTIPLIER", np.uint64(0))  # every key collides
    pd.testing.assert_frame_equal(read_xpt(path), frame)


# ---------------------------------------------------------------------------------------
# reference files written by SAS (CDISC Dataset-JSON examples)
# ---------------------------------------------------------------------------------------

def test_reference_xpt_files_read_like_pyreadstat(reference):
    files = sorted(reference.glob("datasetjson/*/*.xpt"))
    if not files:
        pytest.skip(f"no .xpt files under {reference / 'datasetjson'}")
    for path in files:
        ours = read_xpt(path)
        theirs, meta = reference_read(path)
        pd.testing.assert_frame_equal(ours, theirs, obj=str(path))
        assert ours.attrs["name"] == meta.table_name
        assert ours.attrs["label"] == (meta.file_label or "")
        assert {k: v or None for k, v in ours.attrs["labels"].items()} == \
            meta.column_names_to_labels
        assert ours.attrs["lengths"] == meta.variable_storage_width
        assert ours.attrs["sas_version"] == "9.4"


def without_stamps(raw: bytes) -> bytes:
    """The file with the header fields that name the writer or the time blanked out:
    operating system and created/modified times of the library and the member."""
    data = bytearray(raw)
    for record, start, stop in ((1, 32, 40), (1, 64, 80), (2, 0, 16), (5, 32, 40),
                                (5, 64, 80), (6, 0, 16)):
        data[record * RECORD + start:record * RECORD + stop] = b" " * (stop - start)
    return bytes(data)


def test_reference_xpt_files_survive_a_rewrite(reference, tmp_path):
    """Read a SAS-written file, write it again with its own metadata: the same bytes as
    SAS wrote, apart from the operating system and the time stamps in the header."""
    files = sorted(reference.glob("datasetjson/*/*.xpt"))
    if not files:
        pytest.skip(f"no .xpt files under {reference / 'datasetjson'}")
    for path in files:
        frame = read_xpt(path)
        attrs = frame.attrs
        again = write_xpt(frame, tmp_path / path.name, name=attrs["name"],
                          label=attrs["label"], labels=attrs["labels"],
                          lengths=attrs["lengths"], formats=attrs["formats"])
        back = read_xpt(again)
        pd.testing.assert_frame_equal(back, frame)
        assert back.attrs["lengths"] == attrs["lengths"]
        assert without_stamps(again.read_bytes()) == without_stamps(path.read_bytes()), path


def test_a_failing_disk_write_is_an_error_naming_the_file_and_leaves_no_file(tmp_path, monkeypatch):
    # the writer thread's OSError (here: disk full on the third write) comes back to the
    # caller as XPT-WRITE, the thread ends, and no partial .xpt is left behind
    import contextlib
    import threading

    from cdisc_convert.io.xpt import writer as xpt_mod

    real = xpt_mod.atomic_file

    @contextlib.contextmanager
    def filling_up(path, mode="wb", **kwargs):
        with real(path, mode, **kwargs) as handle:
            calls = {"n": 0}
            write = handle.write

            def limited(data):
                calls["n"] += 1
                if calls["n"] >= 3:
                    raise OSError(28, "No space left on device")
                return write(data)

            handle.write = limited
            yield handle

    monkeypatch.setattr(xpt_mod, "atomic_file", filling_up)
    frame = pd.DataFrame({"USUBJID": [f"S-{i:06d}" for i in range(200_000)],
                          "AVAL": np.arange(200_000, dtype=float)})
    with pytest.raises(CdiscError) as info:
        write_xpt(frame, tmp_path / "big.xpt", name="BIG", label="big")
    assert info.value.rule == "XPT-WRITE" and "No space left on device" in str(info.value)
    assert list(tmp_path.iterdir()) == []
    assert not any(t.name == "xpt-writer" for t in threading.enumerate())


def test_a_file_of_many_chunks_reads_back_identically(tmp_path):
    # ~10 MB of rows: more 1 MB chunks than the writer's ring of buffers, so every buffer
    # is reused while the writer thread may still hold earlier ones
    n = 550_000
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"USUBJID": [f"S-{i:07d}" for i in range(n)],
                          "AVALC": rng.choice(["PR", "SD", "PD", ""], size=n).astype(object),
                          "AVAL": rng.normal(size=n)})
    path = write_xpt(frame, tmp_path / "many.xpt", name="MANY", label="many chunks")
    assert path.stat().st_size > 8 * xpt_layout.ROWS_CHUNK_BYTES
    back, _ = pyreadstat.read_xport(str(path))
    assert back["USUBJID"].tolist() == frame["USUBJID"].tolist()
    assert back["AVALC"].tolist() == frame["AVALC"].tolist()
    np.testing.assert_array_equal(back["AVAL"].to_numpy(), frame["AVAL"].to_numpy())
