"""The Dataset-JSON reader builds each column once from all rows (cdisc_convert.io.datasetjson
reader): values, nulls, dates and numbers on a tiny hand-written file, and the row of the
first value a column's dataType does not allow, however the rows are shaped."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.errors import InputError
from cdisc_convert.io.datasetjson import read_dataset_json


def _col(name, data_type, **extra) -> dict:
    return {"itemOID": f"IT.X.{name}", "name": name, "label": name, "dataType": data_type,
            **extra}


COLUMNS = [_col("USUBJID", "string"), _col("SEQ", "integer"), _col("VAL", "double"),
           _col("FLAG", "boolean"), _col("DEC", "decimal", targetDataType="decimal"),
           _col("ADT", "date", targetDataType="integer"),
           _col("ADTM", "datetime", targetDataType="integer"), _col("XXDTC", "datetime")]
ROWS = [["S-1", 1, 1.5, True, "1,234.50", "2014-01-02", "2014-01-02T10:20:30", "2014-01"],
        [None, 2, None, False, None, None, "2014-01-03T00:00:00", None],
        ["S-3", None, 7, None, "-0.125", "2015-12-31", None, ""]]


def _write(tmp_path, rows, columns=COLUMNS):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({
        "datasetJSONCreationDateTime": "2024-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.X", "records": len(rows), "name": "X", "label": "X",
        "columns": columns, "rows": rows}))
    return path


def test_columns_hold_the_values_nulls_dates_and_numbers_written(tmp_path):
    frame = read_dataset_json(_write(tmp_path, ROWS))
    assert list(frame["USUBJID"]) == ["S-1", "", "S-3"]        # null text -> ""
    assert frame["SEQ"].dtype == np.float64
    np.testing.assert_array_equal(frame["SEQ"], [1.0, 2.0, np.nan])
    np.testing.assert_array_equal(frame["VAL"], [1.5, np.nan, 7.0])
    np.testing.assert_array_equal(frame["FLAG"], [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(frame["DEC"], [1234.5, np.nan, -0.125])
    assert list(frame["ADT"][[0, 2]]) == [dt.date(2014, 1, 2), dt.date(2015, 12, 31)]
    assert pd.isna(frame["ADT"][1])
    assert frame["ADTM"].dtype == "datetime64[ns]"
    assert list(frame["ADTM"][:2]) == [pd.Timestamp("2014-01-02 10:20:30"),
                                       pd.Timestamp("2014-01-03")]
    assert pd.isna(frame["ADTM"][2])
    assert list(frame["XXDTC"]) == ["2014-01", "", ""]        # SDTM dates stay text
    assert all(type(v) is str for v in frame["USUBJID"])
    sas = read_dataset_json(tmp_path / "x.json", dates="sas")
    np.testing.assert_array_equal(sas["ADT"], [19725.0, np.nan, 20453.0])  # days from 1960


def test_the_columns_are_independent_arrays(tmp_path):
    frame = read_dataset_json(_write(tmp_path, ROWS))
    frame.loc[0, "USUBJID"] = "changed"
    assert list(frame["XXDTC"]) == ["2014-01", "", ""]
    assert all(frame[c].to_numpy().flags["C_CONTIGUOUS"] for c in ("USUBJID", "SEQ"))


@pytest.mark.parametrize("row, column, value, problem", [
    (3, "SEQ", True, "dataType integer expects JSON numbers, found True"),
    (2, "FLAG", 1, "dataType boolean expects true/false, found 1"),
    (2, "USUBJID", ["S", "2"], "dataType string expects JSON strings, found ['S', '2']"),
    (3, "ADT", 20000, "dataType date expects ISO 8601 date strings, found 20000"),
    (3, "DEC", "1.2.3", "value '1.2.3' is not a decimal number"),
])
def test_the_first_bad_value_is_named_with_its_row_and_column(tmp_path, row, column, value,
                                                              problem):
    rows = [list(r) for r in ROWS]
    rows[row - 1][[c["name"] for c in COLUMNS].index(column)] = value
    with pytest.raises(InputError) as caught:
        read_dataset_json(_write(tmp_path, rows))
    message = str(caught.value)
    assert f"row {row}, column {column}" in message and problem in message


def test_an_array_in_every_row_is_an_error_not_an_extra_dimension(tmp_path):
    # every value of a column being an array of one width would make a 3-D grid
    columns = [_col("A", "string"), _col("B", "string")]
    path = _write(tmp_path, [["a", ["x", "y"]], ["b", ["z", "w"]]], columns)
    with pytest.raises(InputError, match=r"row 1, column B: dataType string expects JSON "
                                         r"strings, found \['x', 'y'\]"):
        read_dataset_json(path)
