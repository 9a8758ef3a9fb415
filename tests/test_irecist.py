"""iRECIST from TU/TR on hand-made subjects; expected responses worked out by hand from the
rules of Seymour et al. (Lancet Oncol 2017), scans every 42 days from the first dose."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.adam.irecist import compute_irecist_responses, derive_irecist_records
from cdisc_convert.core.errors import InputError

from test_tumor_response import ld, lesion, state, visit_date


def run(tu, tr, subj="S-001"):
    start = pd.Series({s: visit_date(1) for s in {r["USUBJID"] for r in tr}})
    out = compute_irecist_responses(pd.DataFrame(tu), pd.DataFrame(tr), treatment_start=start)
    recs = derive_irecist_records(out, start)
    return out.set_index(["USUBJID", "VISITNUM"]), Records(recs)


class Records:
    """``recs.loc[(subject, paramcd), column]`` for the one BOR/CBOR record of a subject."""

    def __init__(self, frame):
        self.frame = frame
        self.loc = self

    def __getitem__(self, key):
        (subj, code), col = key
        rows = self.frame[(self.frame["USUBJID"] == subj) & (self.frame["PARAMCD"] == code)]
        if code != "OVR":
            assert len(rows) == 1
            return rows.iloc[0][col]
        return rows[col] if col else rows


def target_course(subj, sizes):
    return [ld("T01", v, mm, subj=subj) for v, mm in enumerate(sizes, start=1)]


def test_iupd_confirmed_by_further_target_growth():
    """50 -> 30 (iPR) -> 40 (+33 % and +10 mm vs nadir 30: iUPD) -> 46 (+6 mm vs the iUPD
    sum: iCPD) -> 30 (after iCPD: iCPD). iBOR iPR; confirmed iBOR iSD (the PR is followed
    by iUPD)."""
    tu = [lesion("T01", "TARGET", subj="A")]
    out, recs = run(tu, target_course("A", [50, 30, 40, 46, 30]))
    assert [out.loc[("A", v), "IRESP"] for v in (2, 3, 4, 5)] == ["iPR", "iUPD", "iCPD", "iCPD"]
    assert recs.loc[("A", "BOR"), "AVALC"] == "iPR"
    assert recs.loc[("A", "CBOR"), "AVALC"] == "iSD"


def test_iupd_not_confirmed_resets_and_later_progression_is_a_new_iupd():
    """50 -> 40 (iSD) -> 50 (+25 %, +10 mm vs nadir 40: iUPD) -> 42 (+5 % vs nadir, no
    further growth: reset to iSD) -> 52 (+30 %, +12 mm vs nadir 40: a new iUPD)."""
    tu = [lesion("T01", "TARGET", subj="B")]
    out, recs = run(tu, target_course("B", [50, 40, 50, 42, 52]))
    assert [out.loc[("B", v), "IRESP"] for v in (2, 3, 4, 5)] == ["iSD", "iUPD", "iSD", "iUPD"]
    assert recs.loc[("B", "BOR"), "AVALC"] == "iSD"
    assert list(recs.loc[("B", "OVR"), "AVALC"]) == ["iSD", "iUPD", "iSD", "iUPD"]


def test_new_lesion_progression_confirmed_by_growth_or_more_new_lesions():
    """C: a 12 mm new lesion at V3 (a new *target*: >= 10 mm): iUPD; at V4 it is 18 mm (new
    target sum +6 mm): iCPD. D: the new lesion is 13 mm at V4 (+1 mm) and the targets are
    stable: not confirmed, but RECIST still sees a new lesion: iUPD; at V5 a second new lesion
    appears: iCPD."""
    tu = [lesion("T01", "TARGET", subj="C"), lesion("NEW01", "NEW", "LUNG", subj="C",
                                                     visitnum=3),
          lesion("T01", "TARGET", subj="D"), lesion("NEW01", "NEW", "LUNG", subj="D",
                                                     visitnum=3),
          lesion("NEW02", "NEW", "BONE", subj="D", visitnum=5)]
    tr = (target_course("C", [50, 45, 45, 45]) + [ld("NEW01", 3, 12, subj="C"),
                                                   ld("NEW01", 4, 18, subj="C")]
          + target_course("D", [50, 45, 45, 45, 45])
          + [ld("NEW01", 3, 12, subj="D"), ld("NEW01", 4, 13, subj="D"),
             ld("NEW01", 5, 13, subj="D"), state("NEW02", 5, "PRESENT", subj="D")])
    out, recs = run(tu, tr)
    assert [out.loc[("C", v), "IRESP"] for v in (2, 3, 4)] == ["iSD", "iUPD", "iCPD"]
    assert out.loc[("C", 4), "NEWTSUM"] == 18
    assert [out.loc[("D", v), "IRESP"] for v in (2, 3, 4, 5)] == \
        ["iSD", "iUPD", "iUPD", "iCPD"]
    assert out.loc[("D", 5), "NEWN"] == 2
    assert recs.loc[("D", "BOR"), "AVALC"] == "iSD"


def test_confirmed_ipr():
    tu = [lesion("T01", "TARGET", subj="E")]
    out, recs = run(tu, target_course("E", [50, 30, 30]))
    assert recs.loc[("E", "CBOR"), "AVALC"] == "iPR"
    assert recs.loc[("E", "CBOR"), "ADT"] == pd.Timestamp(visit_date(2))


def test_missing_input_is_named():
    with pytest.raises(InputError, match="TR lacks required variable TRSTRESN"):
        compute_irecist_responses(pd.DataFrame([lesion("T01", "TARGET")]),
                                  pd.DataFrame([ld("T01", 1, 5)]).drop(columns="TRSTRESN"))
