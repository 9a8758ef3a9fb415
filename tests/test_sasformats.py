"""SAS display formats mean the same whatever the reader's spelling (core.sasformats)."""
from __future__ import annotations

import pytest

from cdisc_convert.core.sasformats import (
    canonical_format,
    format_name,
    parse_format,
    temporal_kind,
)


@pytest.mark.parametrize("text, parts", [
    ("DATE9.", ("DATE", 9, None)), ("DATE9", ("DATE", 9, None)), (" date9 ", ("DATE", 9, None)),
    ("8.2", ("", 8, 2)), ("8.", ("", 8, None)), ("$CHAR20.", ("$CHAR", 20, None)),
    ("E8601DA10.", ("E8601DA", 10, None)), ("DATE.", ("DATE", 0, None)),
])
def test_parse_format(text, parts):
    assert parse_format(text) == parts


@pytest.mark.parametrize("text", [None, 9, "", "9DATE", "DATE 9", "8.2.1"])
def test_not_a_format(text):
    assert parse_format(text) is None
    assert canonical_format(text) is None
    assert temporal_kind(text) is None


@pytest.mark.parametrize("text, canonical", [
    ("DATE9", "DATE9."), ("DATE9.", "DATE9."), ("date9", "DATE9."), ("8.2", "8.2"),
    ("8", "8."), ("$CHAR8", "$CHAR8."), ("E8601DT19.", "E8601DT19.")])
def test_canonical_spelling(text, canonical):
    assert canonical_format(text) == canonical


@pytest.mark.parametrize("text, kind", [
    ("DATE9", "date"), ("DATE9.", "date"), ("E8601DA10.", "date"), ("YYMMDDN8.", "date"),
    ("MMDDYY10", "date"), ("DATETIME20", "datetime"), ("DATETIME20.", "datetime"),
    ("DATEAMPM22.", "datetime"), ("E8601DT19.", "datetime"), ("TIME8", "time"),
    ("TOD8.", "time"), ("8.2", None), ("BEST12.", None), ("$CHAR8.", None)])
def test_temporal_kind_ignores_spelling(text, kind):
    assert temporal_kind(text) == kind
    assert format_name(text) == format_name(canonical_format(text))
