"""The submission files of the bundled study: XPT v5 read back by pyreadstat, Dataset-JSON
valid against the CDISC schema, itemOIDs in step with define.xml."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner
from lxml import etree

from cdisc_convert.cli import main
from cdisc_convert.io.datasetjson import read_dataset_json, validate_dataset_json
from cdisc_convert.io.xpt import read_xpt
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"


@pytest.fixture(scope="module")
def out(bundled_run):
    """The bundled run: XPT, Dataset-JSON and CSV (the default formats)."""
    return bundled_run


@pytest.fixture(scope="module")
def ndjson_out(tmp_path_factory):
    """A second run of the bundled study writing NDJSON (its own end-to-end run; XPT too,
    which define.xml is checked against)."""
    folder = tmp_path_factory.mktemp("outputs") / "out"
    result = CliRunner().invoke(main, ["run", str(STUDY), "--out", str(folder),
                                       "--formats", "xpt,ndjson"])
    assert result.exit_code == 0, result.output
    return folder


SDTM_DATASETS = {"dm", "ae", "ex", "ds", "mh", "tu", "tr", "rs", "vs", "lb", "ts", "suppae", "suppdm", "suppex",
                 "ta", "te", "tv", "ti", "se", "sv"}
ADAM_DATASETS = {"adsl", "adrs", "adtte", "adtr", "adae", "adex", "adlb", "advs"}
REPORTS = {"mapping_findings", "conformance_findings", "unmapped", "reconciliation"}


def xpt_files(out):
    return sorted((out / "sdtm").glob("*.xpt")) + sorted((out / "adam").glob("*.xpt"))


def test_every_dataset_is_written_in_every_format(out):
    for part, expected in (("sdtm", SDTM_DATASETS), ("adam", ADAM_DATASETS)):
        for suffix in ("xpt", "json", "csv"):
            stems = {p.stem for p in (out / part).glob(f"*.{suffix}")} - REPORTS
            assert stems == expected, (part, suffix)
        assert not list((out / part).glob("*.ndjson"))        # not a default format
        assert (out / part / "define.xml").is_file() and (out / part / "define.html").is_file()


@pytest.mark.slow
def test_ndjson_holds_the_same_data_as_json(out, ndjson_out):
    for part, expected in (("sdtm", SDTM_DATASETS), ("adam", ADAM_DATASETS)):
        assert {p.stem for p in (ndjson_out / part).glob("*.ndjson")} == expected, part
        for name in sorted(expected):
            pd.testing.assert_frame_equal(read_dataset_json(out / part / f"{name}.json"),
                                          read_dataset_json(ndjson_out / part / f"{name}.ndjson"))


def test_xpt_reads_back_identically_with_pyreadstat(out):
    for path in xpt_files(out):
        ours = read_xpt(path)
        theirs, meta = pyreadstat.read_xport(str(path), disable_datetime_conversion=True)
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs, check_dtype=False)
        assert meta.table_name == path.stem.upper()
        assert meta.column_names_to_labels == ours.attrs["labels"]
        # character length = the longest value present (the FDA rule)
        for column in ours.columns:
            if ours[column].dtype == object:
                longest = max(1, int(ours[column].str.encode("ascii").str.len().max() or 1))
                assert meta.variable_storage_width[column] == longest, (path.name, column)


def test_xpt_values_match_the_csv_copy(out):
    for path in sorted((out / "sdtm").glob("*.xpt")):
        xpt = read_xpt(path)
        csv = pd.read_csv(path.with_suffix(".csv"), dtype=str, keep_default_na=False)
        assert list(csv.columns) == list(xpt.columns)
        for column in xpt.columns:
            if xpt[column].dtype == object:
                assert csv[column].tolist() == xpt[column].tolist(), (path.name, column)
            else:
                values = pd.to_numeric(csv[column].replace("", np.nan))
                np.testing.assert_allclose(values, xpt[column], equal_nan=True)


def test_adam_dates_have_sas_date_formats(out):
    adsl = read_xpt(out / "adam" / "adsl.xpt")
    assert adsl.attrs["formats"]["TRTSDT"] == "DATE9."
    assert adsl.attrs["formats"]["TRTSDTM"] == "DATETIME20."


def test_dataset_json_is_valid_and_equals_the_xpt(out, reference):
    schema = reference / "datasetjson" / "schema" / "dataset.schema.json"
    for part in ("sdtm", "adam"):
        for path in sorted((out / part).glob("*.json")):
            assert validate_dataset_json(path, schema) == [], path.name
    dm_json = read_dataset_json(out / "sdtm" / "dm.json")
    pd.testing.assert_frame_equal(dm_json, read_xpt(out / "sdtm" / "dm.xpt"), check_dtype=False,
                                  check_like=False)


def test_item_oids_match_define(out):
    for part in ("sdtm", "adam"):
        tree = etree.parse(str(out / part / "define.xml"),
                           etree.XMLParser(resolve_entities=False, no_network=True))
        oids = set(tree.xpath("//*[local-name()='ItemDef']/@OID"))
        for path in sorted((out / part).glob("*.json")):
            columns = json.loads(path.read_text())["columns"]
            missing = {c["itemOID"] for c in columns} - oids
            assert not missing, (path.name, sorted(missing)[:5])


# ------------------------------------------------------------------ sorting by keys
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "b", "", None]),
                          st.one_of(st.none(), st.sampled_from([2.0, -1.0, 0.0, -0.0, 10.5])),
                          st.sampled_from(["x", "y"])), max_size=40))
def test_stable_order_matches_pandas_stable_sort(rows):
    import numpy as np
    import pandas as pd

    from cdisc_convert.io.folder import stable_order

    frame = pd.DataFrame(rows, columns=["K1", "K2", "K3"]).astype({"K2": float})
    frame["K1"] = frame["K1"].astype(object)
    frame["ROW"] = np.arange(len(frame))
    expected = frame.sort_values(["K1", "K2"], kind="stable")["ROW"].tolist()
    positions = stable_order(frame, ["K1", "K2"])
    assert positions is not None
    assert frame["ROW"].to_numpy()[positions].tolist() == expected


def test_stable_order_of_mixed_text_and_numbers_is_pandas_order():
    import pandas as pd

    from cdisc_convert.io.folder import stable_order

    frame = pd.DataFrame({"USUBJID": ["b", 1, "a"], "AESEQ": [1.0, 2.0, 3.0]})
    expected = frame.sort_values(["USUBJID", "AESEQ"], kind="stable").index.tolist()
    assert stable_order(frame, ["USUBJID", "AESEQ"]).tolist() == expected == [1, 2, 0]
