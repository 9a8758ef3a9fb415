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


# -- iRECIST chained into ADRS (adam.yaml ``irecist``) -----------------------------------

from cdisc_convert.adam.adrs import build_adrs  # noqa: E402
from cdisc_convert.adam.config import AdamConfig, config_from_dict  # noqa: E402
from cdisc_convert.adam.irecist import compute_irecist_visits  # noqa: E402
from cdisc_convert.core.errors import SpecError  # noqa: E402

IRECIST_ON = {"irecist": {"criterion": "RECIST 1.1", "confirm_min_days": 28}}


def adrs_of(tu, tr, subjects, config=None):
    """ADRS of the tiny study with iRECIST enabled (no RS: RECIST visits empty); first dose
    on the baseline scan date."""
    config = config or config_from_dict(IRECIST_ON)
    adsl = pd.DataFrame({"STUDYID": "S1", "USUBJID": subjects,
                         "TRTSDT": pd.Timestamp(visit_date(1)), "DTHDT": pd.NaT})
    irecist = compute_irecist_visits(pd.DataFrame(tu), pd.DataFrame(tr), adsl, config) \
        if config.irecist else None
    empty = pd.DataFrame(columns=["USUBJID", "CRIT", "ADT", "AVALC"])
    return build_adrs(empty, adsl, config, irecist=irecist)


def records(adrs, subj, code):
    return adrs[(adrs["USUBJID"] == subj) & (adrs["PARAMCD"] == code)].reset_index(drop=True)


def test_adrs_records_iupd_confirmed_to_icpd():
    """A: 50 -> 30 iPR -> 40 iUPD -> 46 iCPD -> 30 iCPD (see the first test). IBOR iPR dated
    V2; ICBOR iSD (the iPR is followed by iUPD, day 42 >= 42) dated V2; ANL02FL stops at the
    first iCPD (V4)."""
    adrs = adrs_of([lesion("T01", "TARGET", subj="A")], target_course("A", [50, 30, 40, 46, 30]),
                   ["A"])
    iovr = records(adrs, "A", "IOVR")
    assert list(iovr["AVALC"]) == ["iPR", "iUPD", "iCPD", "iCPD"]
    assert list(iovr["AVAL"]) == [2.0, 5.0, 6.0, 6.0]
    assert list(iovr["ADT"]) == [pd.Timestamp(visit_date(v)) for v in (2, 3, 4, 5)]
    assert list(iovr["ANL01FL"]) == ["Y"] * 4
    assert list(iovr["ANL02FL"]) == ["Y", "Y", "Y", None]
    assert set(iovr["PARCAT3"]) == {"iRECIST"} and set(iovr["SRCDOM"]) == {"TR"}
    assert iovr["PARAM"][0] == "iRECIST Overall Response by Investigator"
    ibor, icbor = records(adrs, "A", "IBOR"), records(adrs, "A", "ICBOR")
    assert (ibor["AVALC"][0], ibor["ADT"][0], ibor["VISIT"][0]) == \
        ("iPR", pd.Timestamp(visit_date(2)), "V2")
    assert (icbor["AVALC"][0], icbor["AVAL"][0], icbor["ADT"][0]) == \
        ("iSD", 3.0, pd.Timestamp(visit_date(2)))
    # RECIST's own parameters are there too (no RS: BOR MISSING)
    assert records(adrs, "A", "BOR")["AVALC"][0] == "MISSING"


def test_adrs_confirmed_progression_is_the_best_response_dated_by_its_iupd():
    """P: 50 -> 65 (+30 %, +15 mm: iUPD at V2) -> 75 (+10 mm vs the iUPD: iCPD at V3). No
    response, no SD: IBOR and ICBOR are iCPD (better than an unconfirmed iUPD, as in
    admiralonco's iRECIST vignette), dated by the iUPD at V2."""
    adrs = adrs_of([lesion("T01", "TARGET", subj="P")], target_course("P", [50, 65, 75]), ["P"])
    assert list(records(adrs, "P", "IOVR")["AVALC"]) == ["iUPD", "iCPD"]
    for code in ("IBOR", "ICBOR"):
        rec = records(adrs, "P", code)
        assert (rec["AVALC"][0], rec["ADT"][0]) == ("iCPD", pd.Timestamp(visit_date(2))), code


def test_adrs_records_iupd_reset_to_isd():
    """B: 50 -> 40 iSD -> 50 iUPD -> 42 reset iSD -> 52 new iUPD: IOVR shows the reset; IBOR
    iSD dated V2; ICBOR iSD; no iCPD so every IOVR has ANL02FL."""
    adrs = adrs_of([lesion("T01", "TARGET", subj="B")], target_course("B", [50, 40, 50, 42, 52]),
                   ["B"])
    iovr = records(adrs, "B", "IOVR")
    assert list(iovr["AVALC"]) == ["iSD", "iUPD", "iSD", "iUPD"]
    assert list(iovr["ANL02FL"]) == ["Y"] * 4
    for code in ("IBOR", "ICBOR"):
        rec = records(adrs, "B", code)
        assert (rec["AVALC"][0], rec["ADT"][0]) == ("iSD", pd.Timestamp(visit_date(2))), code


def test_adrs_records_new_lesion_progression_and_a_subject_without_scans():
    """C: targets stable, a 12 mm new lesion at V3 (iUPD), 18 mm at V4 (new-target sum +6 mm:
    iCPD). Z has no TU/TR: IBOR/ICBOR MISSING, no IOVR."""
    tu = [lesion("T01", "TARGET", subj="C"), lesion("NEW01", "NEW", "LUNG", subj="C",
                                                     visitnum=3)]
    tr = target_course("C", [50, 45, 45, 45]) + [ld("NEW01", 3, 12, subj="C"),
                                                  ld("NEW01", 4, 18, subj="C")]
    adrs = adrs_of(tu, tr, ["C", "Z"])
    assert list(records(adrs, "C", "IOVR")["AVALC"]) == ["iSD", "iUPD", "iCPD"]
    assert records(adrs, "C", "IBOR")["AVALC"][0] == "iSD"
    assert records(adrs, "C", "ICBOR")["AVALC"][0] == "iSD"
    assert records(adrs, "Z", "IOVR").empty
    for code in ("IBOR", "ICBOR"):
        rec = records(adrs, "Z", code)
        assert rec["AVALC"][0] == "MISSING" and rec["AVAL"][0] == 8.0 and pd.isna(rec["ADT"][0])


def test_irecist_is_opt_in_and_its_config_is_checked():
    tu, tr = [lesion("T01", "TARGET", subj="A")], target_course("A", [50, 30, 40])
    default = adrs_of(tu, tr, ["A"], config=AdamConfig())
    assert not {"IOVR", "IBOR", "ICBOR"} & set(default["PARAMCD"])
    assert AdamConfig().irecist is None
    with pytest.raises(SpecError, match="irecist.criterion 'CHOI' is not one of"):
        config_from_dict({"irecist": {"criterion": "CHOI"}})
    with pytest.raises(SpecError, match="confirm_within"):
        config_from_dict({"irecist": {"confirm_within": 28}})
    assert config_from_dict({"irecist": {}}).irecist.confirm_min_days == 28


def test_confirm_min_days_from_config_changes_the_confirmation():
    """Scans 42 days apart: with confirm_min_days 50 the V3 scan (42 days after the iUPD)
    cannot confirm, so A stays iUPD there and V4 confirms (46 vs 40, +6 mm)."""
    cfg = config_from_dict({"irecist": {"confirm_min_days": 50}})
    adrs = adrs_of([lesion("T01", "TARGET", subj="A")], target_course("A", [50, 30, 40, 46, 52]),
                   ["A"], config=cfg)
    assert list(records(adrs, "A", "IOVR")["AVALC"]) == ["iPR", "iUPD", "iUPD", "iCPD"]


def test_adrs_confirmed_progression_ranks_before_an_earlier_unconfirmed_one():
    """Q, scans on days 0, 10, 40, 80, 120: 50 -> 65 (iUPD, day 10) -> 45 (not confirmed:
    reset to iSD, but day 40 < 42 so NE for the best response) -> 60 (+33 % vs nadir 45:
    a new iUPD, day 80) -> 70 (+10 mm: iCPD, day 120). IBOR is the confirmed progression,
    dated by its iUPD (day 80), not the earlier unconfirmed iUPD of day 10."""
    start = pd.Timestamp(visit_date(1))
    days = [0, 10, 40, 80, 120]
    tr = [ld("T01", v, mm, subj="Q", dtc=(start + pd.Timedelta(days=d)).strftime("%Y-%m-%d"))
          for v, (d, mm) in enumerate(zip(days, [50, 65, 45, 60, 70]), start=1)]
    adrs = adrs_of([lesion("T01", "TARGET", subj="Q")], tr, ["Q"])
    assert list(records(adrs, "Q", "IOVR")["AVALC"]) == ["iUPD", "iSD", "iUPD", "iCPD"]
    rec = records(adrs, "Q", "IBOR")
    assert (rec["AVALC"][0], rec["ADT"][0]) == ("iCPD", start + pd.Timedelta(days=80))
