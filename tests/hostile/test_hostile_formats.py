"""Every `--formats` choice gives a complete, valid, readable package.

Before: without xpt the define.xml pointed (def:leaf) at XPT files that did not exist and
was left invalid, and the ADaM CSV could not be read back (ISO dates in a numeric column,
sponsor numbers as text). Cases (parametrized; 24 in all): for json, ndjson, csv and
csv,ndjson — def:leaf targets exist and are the preferred written format (2), `validate`
finds no error in sdtm/ and adam/ (2), the report's figures are the bundled study's (1),
the files read back with the written types (1).
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from lxml import etree

from cdisc_convert.conformance.validate import validate_folder
from cdisc_convert.io.read_folder import read_folder
from hostile_helpers import case_timeout, cli  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.slow        # four end-to-end runs
CASE_SECONDS = 300
CHOICES = {"json": ".json", "ndjson": ".ndjson", "csv": ".csv", "csv,ndjson": ".ndjson"}
XLINK = "{http://www.w3.org/1999/xlink}href"


@pytest.fixture(scope="module", params=list(CHOICES))
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("formats") / "out"
    code, text = cli("run", "--out", out, "--formats", request.param, "--jobs", "1")
    assert code == 0, text
    return request.param, out


@pytest.mark.parametrize("part", ["sdtm", "adam"])
def test_define_points_at_the_files_written(package, part):
    choice, out = package
    root = etree.parse(str(out / part / "define.xml")).getroot()
    hrefs = [el.get(XLINK) for el in root.iter("{http://www.cdisc.org/ns/def/v2.1}leaf")]
    assert hrefs and all((out / part / h).is_file() for h in hrefs), hrefs
    assert {h[h.rindex("."):] for h in hrefs} == {CHOICES[choice]}
    assert not list((out / part).glob("*.xpt"))


@pytest.mark.parametrize("part", ["sdtm", "adam"])
def test_validate_finds_no_error_in_the_package(package, part):
    _, out = package
    result = validate_folder(out / part)
    errors = result.findings[result.findings["severity"] == "error"]
    assert errors.empty, errors[["rule", "message"]].head().values.tolist()


def test_report_from_the_package_gives_the_published_figures(package):
    _, out = package
    results = json.loads((out / "report" / "results.json").read_text())
    assert (results["N"], results["disease_control"]["n"], results["recist_response"]["n"],
            results["choi_response"]["n"]) == (37, 17, 5, 19)
    assert results["pfs"]["median"] == 13.4 and results["os"]["median"] == 13.2
    assert results["dose_reductions_by_starting_dose"] == {
        "850": {"N": 12, "reduced": 3}, "1000": {"N": 25, "reduced": 15}}


def test_adam_files_read_back_with_their_types(package):
    _, out = package
    adam = read_folder(out / "adam")
    for name, column in (("ADSL", "TRTSDT"), ("ADRS", "ADT"), ("ADTTE", "ADT"), ("ADSL", "DTHDT")):
        assert pd.api.types.is_datetime64_any_dtype(adam[name][column]), (name, column)
    for name, column in (("ADTTE", "AVAL"), ("ADTTE", "CNSR"), ("ADSL", "AGE"), ("ADSL", "DTICSDOS")):
        assert pd.api.types.is_float_dtype(adam[name][column]), (name, column)
    assert adam["ADSL"]["SUBJID"].map(type).eq(str).all()
