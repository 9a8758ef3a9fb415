"""Statistics of the results report on hand-checked tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.report.results import (clopper_pearson, compute_results, km_median,
                                          without_attrs)
from cdisc_convert.report.spec import Rate, ReportSpec, Swimmer


def test_clopper_pearson_closed_forms():
    # with 0 successes the upper bound is 1 - (alpha/2)^(1/n); with n successes the lower
    # bound is (alpha/2)^(1/n)
    low, high = clopper_pearson(0, 10)
    assert low == 0 and high == pytest.approx(1 - 0.025 ** (1 / 10))
    low, high = clopper_pearson(10, 10)
    assert high == 1 and low == pytest.approx(0.025 ** (1 / 10))


def test_clopper_pearson_published_value():
    # 17/37: exact 95% CI 29.5%-63.1% (the abstract's 46% disease control)
    low, high = clopper_pearson(17, 37)
    assert (round(100 * low, 1), round(100 * high, 1)) == (29.5, 63.1)


def test_km_median_all_events():
    tte = pd.DataFrame({"AVAL": [1, 2, 3, 4, 5], "CNSR": [0, 0, 0, 0, 0]})
    assert km_median(tte, "days")["median"] == 3      # S(3) = 2/5 <= 0.5


def test_km_median_with_censoring():
    # S(1) = 3/4; censored at 2; S(3) = 3/4 * 1/2 = 0.375 -> median 3
    tte = pd.DataFrame({"AVAL": [1, 2, 3, 4], "CNSR": [0, 1, 0, 0]})
    assert km_median(tte, "days")["median"] == 3
    assert km_median(tte, "weeks")["median"] == round(3 / 7, 1)


def test_rates_count_subjects_without_a_record_as_no():
    adsl = pd.DataFrame({"USUBJID": ["a", "b", "c", "d"], "SEX": ["F", "M", "F", "F"],
                         "AGE": [30, 40, 50, 60], "ITTFL": "Y"})
    adrs = pd.DataFrame({"USUBJID": ["a", "b"], "PARAMCD": ["RSP", "RSP"], "AVALC": ["Y", "N"]})
    adtte = pd.DataFrame({"USUBJID": ["a"], "PARAMCD": ["OS"], "AVAL": [10], "CNSR": [0]})
    spec = ReportSpec(rates=(Rate("recist_response", "RSP", "Response"),))
    res = compute_results(adsl, adrs, adtte, spec)
    assert res["recist_response"]["n"] == 1 and res["recist_response"]["N"] == 4
    assert res["age"] == {"median": 45.0, "min": 30.0, "max": 60.0}


def _svg_shapes(path) -> tuple[int, int]:
    """(bar rectangles, filled areas) in a matplotlib SVG: patches vs PolyCollections."""
    text = path.read_text()
    return text.count('id="patch_'), text.count('PolyCollection_')


def test_waterfall_draws_bars_for_a_small_study(tmp_path):
    from cdisc_convert.report.results import plot_waterfall

    values = pd.Series([10.0, -40.0, -5.0, None])
    assert plot_waterfall(values, "t", tmp_path / "w.svg", -30) == "w.svg"
    bars, areas = _svg_shapes(tmp_path / "w.svg")
    assert areas == 0 and bars >= 3        # three subjects with a value, one bar each


def test_waterfall_is_one_area_per_colour_above_the_limit(tmp_path):
    from cdisc_convert.report.results import PER_SUBJECT_FIGURE_LIMIT, plot_waterfall

    n = PER_SUBJECT_FIGURE_LIMIT + 1
    values = pd.Series(np.linspace(50, -80, n))
    plot_waterfall(values, "t", tmp_path / "w.svg", -30)
    bars, areas = _svg_shapes(tmp_path / "w.svg")
    assert areas == 2 and bars < 10        # responders and the rest, not n bars


def test_swimmer_left_out_above_the_limit_with_a_note(tmp_path):
    from cdisc_convert.report.results import PER_SUBJECT_FIGURE_LIMIT, write_results

    n = PER_SUBJECT_FIGURE_LIMIT + 1
    ids = [f"S{i}" for i in range(n)]
    adsl = pd.DataFrame({"USUBJID": ids, "STUDYID": "X", "SEX": "F", "AGE": 50, "ITTFL": "Y",
                         "TRTSDT": pd.Timestamp("2020-01-01"), "TRTEDT": pd.Timestamp("2020-03-01")})
    adtte = pd.DataFrame({"USUBJID": ids, "PARAMCD": "OS", "AVAL": np.arange(1, n + 1),
                          "CNSR": 0})
    spec = ReportSpec(swimmer=Swimmer("OVR", "Time on treatment", "swimmer.svg"))
    res = write_results({"ADSL": adsl, "ADTTE": adtte}, tmp_path, spec=spec)
    assert "swimmer.svg" not in res["figures"] and not (tmp_path / "swimmer.svg").exists()
    assert f"the study has {n} (limit {PER_SUBJECT_FIGURE_LIMIT})" in (tmp_path / "results.html").read_text()
    small = write_results({"ADSL": adsl.head(5), "ADTTE": adtte.head(5)}, tmp_path, spec=spec)
    assert "swimmer.svg" in small["figures"]


def test_the_report_spec_is_the_study_yaml(tmp_path):
    from cdisc_convert.core.errors import SpecError
    from cdisc_convert.report.spec import load_report_spec
    from conftest import REPO

    spec = load_report_spec(REPO / "mappings" / "sorafenib_dtic")
    assert [r.paramcd for r in spec.rates] == ["DCR", "RSP", "CRSP", "RSPCHOI"]
    assert spec.dose_reductions.starting_dose == "DTICPDOS"
    assert load_report_spec(tmp_path).rates == ()          # a study without report.yaml
    bad = tmp_path / "report.yaml"
    bad.write_text("population: ITTFL\nrates:\n  - {key: orr, paramcd: RSP}\n",
                   encoding="utf-8")
    with pytest.raises(SpecError, match=r"report\.yaml:3.*rates\[0\] needs the key\(s\) label"):
        load_report_spec(tmp_path)
    bad.write_text("medians:\n  - {key: pfs, paramcd: PFS, unit: years, label: x}\n",
                   encoding="utf-8")
    with pytest.raises(SpecError, match=r"medians\[0\]\.unit is 'years'; allowed: days"):
        load_report_spec(bad)
    bad.write_text("rate: []\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"report\.yaml:1.*unknown key rate"):
        load_report_spec(bad)


def test_the_spec_decides_rows_labels_and_figures(tmp_path):
    from cdisc_convert.report.results import results_rows, write_results
    from cdisc_convert.report.spec import Count, DoseReductions, Median

    adsl = pd.DataFrame({"USUBJID": ["a", "b", "c"], "STUDYID": "X", "SEX": ["F", "M", "F"],
                         "AGE": [30, 40, 50], "ITTFL": "Y", "GRP": ["x", "y", "x"],
                         })
    # ADEX summary records: planned starting dose and the reduction flag; subject d is
    # outside ADSL's population and must not count
    adex = pd.DataFrame({"USUBJID": ["a", "b", "c", "d", "a", "b", "c", "d"],
                         "PARAMCD": ["SDOS"] * 4 + ["REDFL"] * 4,
                         "AVAL": [100.0, 100.0, 80.0, 80.0, 1, 0, 0, 1],
                         "AVALC": [None] * 4 + ["Y", "N", "N", "Y"]})
    adtte = pd.DataFrame({"USUBJID": ["a", "b"], "PARAMCD": "TTP", "AVAL": [10, 20],
                          "CNSR": [0, 0], "PARAM": "Time to progression"})
    spec = ReportSpec(counts=(Count("groups", "GRP", "Group"),),
                      dose_reductions=DoseReductions("reductions", "SDOS", "REDFL",
                                                     "Reduced from {dose}"),
                      medians=(Median("ttp", "TTP", "days", "Median TTP", "km_ttp.svg"),))
    res = write_results({"ADSL": adsl, "ADTTE": adtte, "ADEX": adex}, tmp_path, spec=spec)
    assert res["groups"] == {"x": 2, "y": 1}
    assert res["reductions"] == {"80": {"reduced": 0, "N": 1}, "100": {"reduced": 1, "N": 2}}
    assert res["ttp"]["median"] == 10 and res["figures"] == ["km_ttp.svg"]
    assert [label for label, _ in results_rows(res, spec)] == [
        "Subjects", "Sex", "Age, median (range)", "Group", "Reduced from 80", "Reduced from 100",
        "Median TTP"]


def test_the_report_drops_file_metadata_without_touching_the_frame_read():
    frame = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AGE": [50.0, 61.0]})
    frame.attrs = {"labels": {"AGE": "Age"}, "formats": {}}
    plain = without_attrs(frame)
    assert plain.attrs == {} and frame.attrs["labels"] == {"AGE": "Age"}
    assert plain.equals(frame)
    assert (plain["AGE"] + 1).attrs == {}      # nothing left for pandas to copy on
    bare = pd.DataFrame({"A": [1]})
    assert without_attrs(bare) is bare


def test_values_as_text_whatever_holds_them():
    from cdisc_convert.report.tables import as_text

    # equal texts in distinct objects (as string operations make them), blanks around a
    # value, missing values of every kind
    text = pd.Series(["Y", "".join(["Y"]), " N ", None, np.nan, "N"], dtype=object)
    assert as_text(text).tolist() == ["Y", "Y", "N", "", "", "N"]
    # a text holding a NUL is its own value (hashing stops at a NUL in pandas' factorize)
    assert as_text(pd.Series(["a", "a\x00b", None], dtype=object)).tolist() == ["a", "a\x00b", ""]
    assert as_text(pd.Series([5.0, np.nan, 3.5])).tolist() == ["5", "", "3.5"]
    assert as_text(pd.Series([None, None], dtype=object)).tolist() == ["", ""]
    mixed = pd.Series([3, "x", None], dtype=object)
    assert as_text(mixed).tolist() == ["3", "x", ""]


def test_codes_of_texts_values_and_positions_agree_with_pandas():
    from cdisc_convert.report.tables import as_text, positions_of, text_codes, value_codes

    # equal strings in distinct objects, padding, missing values, a number column
    y = "".join(["Y", ""])
    column = pd.Series(["Y", y, " Y", None, "N", np.nan, "Y"], dtype=object)
    codes, texts = text_codes(column)
    assert texts[codes].tolist() == as_text(column).tolist() == ["Y", "Y", "Y", "", "N", "", "Y"]
    assert len(set(texts.tolist())) == len(texts)              # each text once
    numbers = pd.Series([5.0, np.nan, 5.0, 2.5])
    codes, texts = text_codes(numbers)
    assert texts[codes].tolist() == ["5", "", "5", "2.5"]
    codes, values = value_codes(column)
    assert values[codes[codes >= 0]].tolist() == column.dropna().tolist()
    assert (codes < 0).sum() == 2 and len(set(values.tolist())) == len(values)
    expected = column.groupby(column).indices
    found = positions_of(column, ["Y", "N", "X", " Y"])
    assert found.keys() == {"Y", "N", " Y"}
    assert all(found[k].tolist() == expected[k].tolist() for k in found)


def test_codes_keep_texts_apart_that_differ_only_after_a_nul():
    # pandas hashes all-str arrays as C strings, so "a" and "a\x00b" would share a code
    # and a condition on "a" would select "a\x00b" too (as_text keeps them apart)
    from cdisc_convert.report.tables import select_records, text_codes, value_codes

    column = pd.Series(["a", "a\x00b", None, "a\x00b"], dtype=object)
    codes, texts = text_codes(column)
    assert texts[codes].tolist() == ["a", "a\x00b", "", "a\x00b"]
    codes, values = value_codes(column)
    assert values[codes[codes >= 0]].tolist() == ["a", "a\x00b", "a\x00b"]
    frame = pd.DataFrame({"AEDECOD": column})
    assert select_records(frame, where=[("AEDECOD", ["a"])]).index.tolist() == [0]
