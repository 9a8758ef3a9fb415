"""The mapping's memory-saving steps give what the plain steps gave, on hand-checked tables:
reductions before grouping (SV, unscheduled visits), clean text kept as it is, raw tables
freed after their last reader."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.factorize import holds_objects
from cdisc_convert.sdtm.derive import expand_schedule, highest_per_day
from cdisc_convert.sdtm.engine import raw_last_use
from cdisc_convert.sdtm.spec import load_study
from cdisc_convert.sdtm.trial_design import derive_sv, derive_tv
from cdisc_convert.sdtm.variable_rules import as_text, per_distinct

from conftest import REPO


def test_holds_objects_compares_the_objects_not_the_values():
    a, b = "".join(["A", "B"]), "".join(["C", "D"])
    values = np.array([a, b, a], dtype=object)
    assert holds_objects(values, np.array([0, 1, 0]), np.array([a, b], dtype=object))
    other = "".join(["A", "B"])          # equal to a, another object
    assert other == a and other is not a
    assert not holds_objects(values, np.array([0, 1, 0]), np.array([other, b], dtype=object))
    assert not holds_objects(values, np.array([0, -1, 0]), np.array([a, b], dtype=object))


def test_as_text_of_clean_text_keeps_the_column_objects_and_cleans_the_rest():
    a, b = "".join(["X", "1"]), "".join(["Y", "2"])
    clean = pd.Series([a, b, a, b], name="V", index=[5, 6, 7, 8])
    out = as_text(clean)
    assert out.tolist() == ["X1", "Y2", "X1", "Y2"] and out.name is None
    assert out.index.tolist() == [5, 6, 7, 8]
    assert all(x is y for x, y in zip(out, clean))
    assert np.shares_memory(out.to_numpy(), clean.to_numpy())      # no new array
    # another object holding "X1" (as a second block of a domain makes): one object after
    twin = "".join(["X", "1"])
    mixed = as_text(pd.Series([a, twin, " Z ", None], dtype=object))
    assert mixed.tolist() == ["X1", "X1", "Z", ""]
    assert mixed[0] is mixed[1]
    # a function that changes a value still applies to every row
    assert per_distinct(clean, str.lower).tolist() == ["x1", "y2", "x1", "y2"]


def test_highest_per_day_keeps_one_row_per_subject_and_day():
    days = pd.to_datetime(pd.Series(["2020-01-01", "2020-01-01", "2020-01-08", "2020-01-01",
                                     "2020-01-08"]))
    out = highest_per_day(pd.Series(["1", "1", "1", "2", "1"]), days,
                          pd.Series([10.0, 30.0, 20.0, 5.0, 25.0]))
    assert out["USUBJID"].tolist() == ["1", "1", "2"]
    assert out["D"].dt.strftime("%Y-%m-%d").tolist() == ["2020-01-01", "2020-01-08",
                                                         "2020-01-01"]
    assert out["VN"].tolist() == [30.0, 25.0, 5.0]
    # a record without USUBJID: left as it is for the grouping that handles it
    kept = highest_per_day(pd.Series(["1", None]), days[:2], pd.Series([1.0, 2.0]))
    assert len(kept) == 2


def test_sv_of_repeated_records_equals_sv_of_one_record_per_visit_and_date():
    visits = {"schedule": [{"visit": "BASELINE", "visitnum": 1, "day": -7}]}
    tv = derive_tv(expand_schedule(visits), visits, studyid="S")
    one = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "1", "2", "2"],
                        "VISITNUM": [1, 2.01, 1, 2.01],
                        "VISIT": ["BASELINE", "UNSCHEDULED 2.01", "BASELINE", "UNSCHEDULED 2.01"],
                        "TRDTC": ["2020-01-03", "2020-03-01", "2020-01-04", "2020-03-02"]})
    # each record five times (lesions of one scan), a later date for subject 1's baseline
    many = pd.concat([one] * 5 + [one.iloc[[0]].assign(TRDTC="2020-01-05")], ignore_index=True)
    sv = derive_sv({"TR": many}, ["TR.TRDTC"], tv=tv, unscheduled_description="Extra")
    assert sv[["USUBJID", "VISITNUM", "SVSTDTC", "SVENDTC", "SVUPDES"]].values.tolist() == [
        ["1", 1.0, "2020-01-03", "2020-01-05", ""],
        ["1", 2.01, "2020-03-01", "2020-03-01", "Extra"],
        ["2", 1.0, "2020-01-04", "2020-01-04", ""],
        ["2", 2.01, "2020-03-02", "2020-03-02", "Extra"]]
    # the texts are shared objects, not one str per record
    assert sv["SVUPDES"].iloc[1] is sv["SVUPDES"].iloc[3]


def test_raw_tables_are_freed_after_the_last_domain_reading_them():
    study = load_study(REPO / "mappings" / "sorafenib_dtic")
    last = raw_last_use(study)
    names = [d.name for d in study.domains]
    # the coding table is joined by AE only; subjects are read by DM and later domains
    assert names[last["ae_coding"]] == "AE"
    readers = [i for i, d in enumerate(study.domains)
               if any(b.source == "subjects" or any(j.table == "subjects" for j in b.joins)
                      for b in d.blocks)]
    assert last["subjects"] == max(readers)
    # DM's reference dates read EX and DS (domains), no raw table: every table is freed
    assert set(last) == set(study.tables)


def test_dense_rank_within_equals_pandas_grouped_dense_rank():
    from cdisc_convert.sdtm.derive import dense_rank_within
    rng = np.random.default_rng(7)
    n = 400
    subjects = pd.Series(rng.choice(["S-1", "S-2", "S-3"], n), dtype=object)
    prev = rng.choice([10.0, 20.0, 35.0], n)
    dates = pd.Series(rng.choice(["2020-01-02", "2020-01-10", "2020-02", "", "2019-12-31"], n),
                      dtype=object)
    expected = (pd.DataFrame({"U": subjects, "P": prev, "D": dates})
                .groupby(["U", "P"])["D"].rank(method="dense").to_numpy())
    assert np.array_equal(dense_rank_within(subjects, prev, dates), expected)
    # hand-checked: two dates of one subject and visit, a repeat, another visit
    small = dense_rank_within(pd.Series(["A", "A", "A", "A"]), np.array([1.0, 1.0, 1.0, 2.0]),
                              pd.Series(["2020-02-01", "2020-01-01", "2020-02-01", "2020-03-01"]))
    assert small.tolist() == [2.0, 1.0, 2.0, 1.0]
    # a missing subject: left to pandas
    assert dense_rank_within(pd.Series(["A", None]), np.array([1.0, 1.0]),
                             pd.Series(["x", "y"])) is None
