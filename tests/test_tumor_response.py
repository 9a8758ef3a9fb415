"""Per-visit tumour response (RECIST 1.1 and Choi) from SDTM TU/TR, and the RS reconciliation.

Every case is a tiny hand-built TU/TR table whose expected response was worked out by hand
from the rule it names (Eisenhauer et al. 2009 for RECIST 1.1, Choi et al. 2007), not by
running the code. Measurements are in mm (TRSTRESN is already standardised).
"""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.adam.tumor_response import (
    OUTPUT_COLUMNS,
    ResponseRules,
    compute_visit_responses,
    reconcile_responses,
)
from cdisc_convert.core.errors import InputError, SpecError

SUBJ = "S-001"


# ---------------------------------------------------------------------------------------
# tiny table builders
# ---------------------------------------------------------------------------------------

def lesion(lnkid: str, cat: str, loc: str = "LIVER", subj: str = SUBJ, visitnum: int = 1,
           dtc: str = "", **extra) -> dict:
    """One TU identification record."""
    return {"USUBJID": subj, "TULNKID": lnkid, "TUTESTCD": "TUMIDENT", "TUSTRESC": cat,
            "TULOC": loc, "VISITNUM": str(visitnum), "VISIT": f"V{visitnum}", "TUDTC": dtc,
            **extra}


def visit_date(visitnum: int) -> str:
    return (pd.Timestamp("2024-01-01") + pd.Timedelta(days=42 * (visitnum - 1))).strftime(
        "%Y-%m-%d")


def rec(lnkid: str, visitnum: int, testcd: str, result, subj: str = SUBJ,
        dtc: str | None = None, **extra) -> dict:
    """One TR record; numbers go to TRSTRESN, text to TRSTRESC only (as read from CSV)."""
    numeric = isinstance(result, (int, float))
    return {"USUBJID": subj, "TRLNKID": lnkid, "TRTESTCD": testcd,
            "TRSTRESC": str(result), "TRSTRESN": str(float(result)) if numeric else "",
            "TRSTRESU": "mm" if testcd in ("LDIAM", "LPERP") else ("HU" if numeric else ""),
            "VISITNUM": str(visitnum), "VISIT": f"V{visitnum}",
            "TRDTC": visit_date(visitnum) if dtc is None else dtc, **extra}


def ld(lnkid, visitnum, mm, **kw):
    return rec(lnkid, visitnum, "LDIAM", mm, **kw)


def sa(lnkid, visitnum, mm, **kw):
    return rec(lnkid, visitnum, "LPERP", mm, **kw)


def hu(lnkid, visitnum, value, **kw):
    return rec(lnkid, visitnum, "RADIODEN", value, **kw)


def state(lnkid, visitnum, text, **kw):
    return rec(lnkid, visitnum, "TUMSTATE", text, **kw)


def run(tu_records, tr_records, criterion="RECIST 1.1", rules=None, **kw) -> pd.DataFrame:
    """Responses of the tiny study, indexed by VISITNUM (single subject) for easy reading."""
    out = compute_visit_responses(pd.DataFrame(tu_records), pd.DataFrame(tr_records),
                                  criterion, rules or ResponseRules(), **kw)
    assert list(out.columns) == OUTPUT_COLUMNS
    if out["USUBJID"].nunique() == 1:
        return out.set_index("VISITNUM")
    return out


def two_targets(base=(30, 20), *later) -> tuple[list, list]:
    """Liver T01 + lung T02 (both non-nodal); ``later`` = (t01, t02) per follow-up visit."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LUNG")]
    tr = []
    for v, (a, b) in enumerate((base,) + later, start=1):
        if a is not None:
            tr.append(ld("T01", v, a))
        if b is not None:
            tr.append(ld("T02", v, b))
    return tu, tr


# ---------------------------------------------------------------------------------------
# RECIST 1.1
# ---------------------------------------------------------------------------------------

def test_baseline_row_is_flagged_and_has_no_response():
    tu, tr = two_targets((30, 20), (28, 20))
    out = run(tu, tr)
    assert out.loc[1, "ABLFL"] == "Y" and out.loc[2, "ABLFL"] == ""
    assert out.loc[1, ["TRGRESP", "NTRGRESP", "NEWLPROG", "AVALC"]].tolist() == [""] * 4
    assert out.loc[1, "SUMDIAM"] == 50 and out.loc[1, "SUMBASE"] == 50
    # 48 vs 50 = -4 %: SD; nadir at V2 = baseline 50
    assert out.loc[2, ["SUMDIAM", "SUMBASE", "SUMNADIR"]].tolist() == [48, 50, 50]
    assert out.loc[2, "PCHGBASE"] == pytest.approx(-4.0)
    assert out.loc[2, "AVALC"] == "SD"
    assert out.loc[1, "CRIT"] == "RECIST 1.1"


def test_nodal_short_axis_below_10_and_non_nodal_zero_is_cr():
    """Lymph node T02 (short axis 15 -> 8 mm, normal < 10) + liver T01 20 -> 0 mm: CR.
    The sum is 8 mm, not 0: CR does not need a zero sum when nodes are targets."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LYMPH NODE")]
    # the node also carries an LDIAM (long axis): the short axis must be the one summed
    tr = [ld("T01", 1, 20), sa("T02", 1, 15), ld("T02", 1, 25),
          ld("T01", 2, 0), sa("T02", 2, 8), ld("T02", 2, 12)]
    out = run(tu, tr)
    assert out.loc[1, "SUMDIAM"] == 35            # 20 + 15 (short axis), not 20 + 25
    assert out.loc[2, "SUMDIAM"] == 8
    assert out.loc[2, "TRGRESP"] == "CR"
    assert out.loc[2, "NTRGRESP"] == "NA"          # no non-target lesions at baseline
    assert out.loc[2, "AVALC"] == "CR"


def test_node_at_10mm_is_not_normal_so_not_cr():
    """Same subject, node 10 mm: not < 10, so no CR; 10 vs 35 = -71 % -> PR."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LYMPH NODE")]
    tr = [ld("T01", 1, 20), sa("T02", 1, 15), ld("T01", 2, 0), sa("T02", 2, 10)]
    out = run(tu, tr)
    assert out.loc[2, "TRGRESP"] == "PR" and out.loc[2, "AVALC"] == "PR"


def test_lesion_with_only_short_axis_is_nodal_without_tuloc():
    """TULOC says nothing, but the lesion is only ever measured by LPERP: nodal, 9 mm < 10."""
    tu = [lesion("T01", "TARGET", "MEDIASTINUM"), lesion("T02", "TARGET", "")]
    tr = [ld("T01", 1, 20), sa("T02", 1, 18), ld("T01", 2, 0), sa("T02", 2, 9)]
    assert run(tu, tr).loc[2, "AVALC"] == "CR"


def test_target_cr_with_non_target_present_is_pr_and_absent_is_cr():
    tu = [lesion("T01", "TARGET"), lesion("NT01", "NON-TARGET", "BONE")]
    tr = [ld("T01", 1, 20), state("NT01", 1, "PRESENT"),
          ld("T01", 2, 0), state("NT01", 2, "PRESENT"),
          ld("T01", 3, 0), state("NT01", 3, "ABSENT")]
    out = run(tu, tr)
    assert out.loc[2, ["TRGRESP", "NTRGRESP", "AVALC"]].tolist() == \
        ["CR", "NON-CR/NON-PD", "PR"]
    assert out.loc[3, ["TRGRESP", "NTRGRESP", "AVALC"]].tolist() == ["CR", "CR", "CR"]


def test_target_cr_with_non_target_not_evaluated_is_pr():
    """RECIST table 1: target CR, non-target not evaluated, no new lesion -> PR."""
    tu = [lesion("T01", "TARGET"), lesion("NT01", "NON-TARGET", "BONE")]
    tr = [ld("T01", 1, 20), state("NT01", 1, "PRESENT"), ld("T01", 2, 0)]
    out = run(tu, tr)
    assert out.loc[2, ["TRGRESP", "NTRGRESP", "AVALC"]].tolist() == ["CR", "NE", "PR"]


def test_exactly_minus_30_percent_is_pr_minus_29_is_sd():
    # baseline 30 + 20 = 50; V2 21 + 14 = 35 (-30.0 %); V3 21.5 + 14 = 35.5 (-29.0 %)
    tu, tr = two_targets((30, 20), (21, 14), (21.5, 14))
    out = run(tu, tr)
    assert out.loc[2, "PCHGBASE"] == pytest.approx(-30.0)
    assert out.loc[2, "TRGRESP"] == "PR" and out.loc[2, "AVALC"] == "PR"
    assert out.loc[3, "PCHGBASE"] == pytest.approx(-29.0)
    # V3 vs nadir 35: +1.4 %, not PD; -29 % from baseline: SD
    assert out.loc[3, "SUMNADIR"] == 35
    assert out.loc[3, "TRGRESP"] == "SD" and out.loc[3, "AVALC"] == "SD"


def test_plus_20_percent_but_less_than_5mm_is_not_pd():
    """Sum 20 -> 24: +20 % from nadir but only +4 mm -> SD (both conditions are needed)."""
    tu = [lesion("T01", "TARGET")]
    out = run(tu, [ld("T01", 1, 20), ld("T01", 2, 24)])
    assert out.loc[2, "PCHGNADIR"] == pytest.approx(20.0)
    assert out.loc[2, "AVALC"] == "SD"


def test_plus_20_percent_and_5mm_is_pd():
    """Sum 25 -> 30: exactly +20 % and exactly +5 mm from nadir -> PD."""
    tu = [lesion("T01", "TARGET")]
    out = run(tu, [ld("T01", 1, 25), ld("T01", 2, 30)])
    assert out.loc[2, ["TRGRESP", "AVALC"]].tolist() == ["PD", "PD"]


def test_plus_5mm_but_below_20_percent_is_not_pd():
    """Sum 50 -> 59: +9 mm but only +18 % -> SD."""
    tu, tr = two_targets((30, 20), (35, 24))
    assert run(tu, tr).loc[2, "AVALC"] == "SD"


def test_pd_is_measured_from_nadir_not_baseline():
    """50 -> 30 (PR, nadir 30) -> 36: -28 % vs baseline (would be SD) but +20 % / +6 mm vs
    the nadir 30 -> PD."""
    tu, tr = two_targets((30, 20), (18, 12), (22, 14))
    out = run(tu, tr)
    assert out.loc[2, "AVALC"] == "PR"
    assert out.loc[2, "SUMNADIR"] == 50
    assert out.loc[3, "SUMNADIR"] == 30
    assert out.loc[3, "PCHGBASE"] == pytest.approx(-28.0)
    assert out.loc[3, "PCHGNADIR"] == pytest.approx(20.0)
    assert out.loc[3, ["TRGRESP", "AVALC"]].tolist() == ["PD", "PD"]


def test_missing_target_is_ne():
    """T02 not measured at V2; the measured T01 (25) cannot show PD vs nadir 50 -> NE."""
    tu, tr = two_targets((30, 20), (25, None))
    out = run(tu, tr)
    assert out.loc[2, "TRGNMISS"] == 1
    assert out.loc[2, ["TRGRESP", "AVALC"]].tolist() == ["NE", "NE"]


def test_missing_target_but_measured_ones_already_pd_is_pd():
    """T02 not measured, but T01 alone is 60 >= 50 * 1.2 and +10 mm vs nadir 50 -> PD."""
    tu, tr = two_targets((30, 20), (60, None))
    out = run(tu, tr)
    assert out.loc[2, ["TRGRESP", "AVALC"]].tolist() == ["PD", "PD"]


def test_incomplete_sum_is_not_a_nadir():
    """V2 measures only T01 (10 mm, NE). V3 40 mm: vs the true nadir 50 it is -20 % -> SD;
    taking the partial 10 mm as nadir would wrongly call PD."""
    tu, tr = two_targets((30, 20), (10, None), (20, 20))
    out = run(tu, tr)
    assert out.loc[2, "AVALC"] == "NE"
    assert out.loc[3, "SUMNADIR"] == 50
    assert out.loc[3, "AVALC"] == "SD"


def test_new_lesion_is_pd_and_dated_by_its_earliest_scan():
    """Targets SD, but a NEW lesion at V2 -> PD. The V2 scans are on two days; the PD date
    is the date of the scan showing the new lesion (the earlier one), while a non-PD
    assessment is dated by its latest scan."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LUNG"),
          lesion("NEW01", "NEW", "BRAIN", visitnum=3, dtc="2024-03-20")]
    tr = [ld("T01", 1, 40), ld("T02", 1, 20), ld("T01", 2, 38, dtc="2024-02-14"),
          ld("T02", 2, 20, dtc="2024-02-12"),  # the lung scanned on an earlier day
          ld("T01", 3, 38, dtc="2024-03-25"), ld("T02", 3, 20, dtc="2024-03-25"),
          state("NEW01", 3, "PRESENT", dtc="2024-03-20")]
    out = run(tu, tr)
    assert out.loc[2, ["NEWLPROG", "AVALC"]].tolist() == ["N", "SD"]
    assert out.loc[2, "ADT"] == pd.Timestamp("2024-02-14")      # latest scan of V2
    assert out.loc[3, ["TRGRESP", "NEWLPROG", "AVALC"]].tolist() == ["SD", "Y", "PD"]
    assert out.loc[3, "ADT"] == pd.Timestamp("2024-03-20")      # the new lesion's scan


def test_new_lesion_from_tu_only_is_pd():
    """A NEW identification in TU (no TR record at all) is enough."""
    tu = [lesion("T01", "TARGET"), lesion("NEW01", "NEW", "BRAIN", visitnum=2)]
    out = run(tu, [ld("T01", 1, 40), ld("T01", 2, 30)])
    assert out.loc[2, ["TRGRESP", "NEWLPROG", "AVALC"]].tolist() == ["SD", "Y", "PD"]


def test_equivocal_new_lesion_is_not_pd_yet():
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, 40), ld("T01", 2, 30), state("NEW01", 2, "EQUIVOCAL", TRGRPID="NEW")]
    out = run(tu, tr)
    assert out.loc[2, ["NEWLPROG", "AVALC"]].tolist() == ["N", "SD"]


@pytest.mark.parametrize("text", ["UNEQUIVOCAL PROGRESSION", "UNEQUIVOCAL"])
def test_unequivocal_non_target_progression_is_pd(text):
    """Targets PR (50 -> 30, -40 %), a non-target progresses unequivocally -> PD."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LUNG"),
          lesion("NT01", "NON-TARGET", "BONE"), lesion("NT02", "NON-TARGET", "PLEURA")]
    tr = [ld("T01", 1, 30), ld("T02", 1, 20), state("NT01", 1, "PRESENT"),
          state("NT02", 1, "PRESENT"),
          ld("T01", 2, 18), ld("T02", 2, 12), state("NT01", 2, text),
          state("NT02", 2, "ABSENT")]
    out = run(tu, tr)
    assert out.loc[2, ["TRGRESP", "NTRGRESP", "NEWLPROG", "AVALC"]].tolist() == \
        ["PR", "PD", "N", "PD"]


def test_non_target_only_subject():
    """RECIST table 2 (no target lesions): non-CR/non-PD, CR, NE, and PD by a new lesion."""
    tu = [lesion("NT01", "NON-TARGET", "BONE"), lesion("NT02", "NON-TARGET", "PLEURA"),
          lesion("NEW01", "NEW", "BRAIN", visitnum=5)]
    tr = [state("NT01", 1, "PRESENT"), state("NT02", 1, "PRESENT"),
          state("NT01", 2, "ABSENT"), state("NT02", 2, "PRESENT"),
          state("NT01", 3, "ABSENT"), state("NT02", 3, "ABSENT"),
          state("NT01", 4, "ABSENT"),                      # NT02 not assessed
          state("NT01", 5, "ABSENT"), state("NT02", 5, "ABSENT"),
          state("NEW01", 5, "PRESENT")]
    out = run(tu, tr)
    assert out.loc[2, ["TRGRESP", "NTRGRESP", "AVALC"]].tolist() == \
        ["NA", "NON-CR/NON-PD", "NON-CR/NON-PD"]
    assert pd.isna(out.loc[2, "SUMDIAM"])
    assert out.loc[3, "AVALC"] == "CR"
    assert out.loc[4, ["NTRGRESP", "AVALC"]].tolist() == ["NE", "NE"]
    assert out.loc[5, ["NTRGRESP", "NEWLPROG", "AVALC"]].tolist() == ["CR", "Y", "PD"]


def test_not_applicable_label_is_configurable():
    tu, tr = two_targets((30, 20), (28, 20))
    out = run(tu, tr, rules=ResponseRules(not_applicable="NOT APPLICABLE"))
    assert out.loc[2, "NTRGRESP"] == "NOT APPLICABLE" and out.loc[2, "AVALC"] == "SD"


# ---------------------------------------------------------------------------------------
# Choi
# ---------------------------------------------------------------------------------------

def one_gist(base_mm, base_hu, later_mm, later_hu):
    """One target lesion (liver) measured at baseline and at V2, with density."""
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, base_mm), ld("T01", 2, later_mm)]
    if base_hu is not None:
        tr.append(hu("T01", 1, base_hu))
    if later_hu is not None:
        tr.append(hu("T01", 2, later_hu))
    return tu, tr


def test_choi_pr_by_density_even_when_size_grew():
    """50 -> 55 mm (+10 %, Choi PD by size) but 60 -> 51 HU (exactly -15 %): the density
    PR overrules -> PR. RECIST on the same data: +10 % -> SD."""
    tu, tr = one_gist(50, 60, 55, 51)
    out = run(tu, tr, "CHOI")
    assert out.loc[2, "CRIT"] == "CHOI"
    assert out.loc[2, "DENSITY"] == 51 and out.loc[2, "DENSPCHG"] == pytest.approx(-15.0)
    assert out.loc[2, ["TRGRESP", "AVALC"]].tolist() == ["PR", "PR"]
    assert run(tu, tr).loc[2, "AVALC"] == "SD"


def test_choi_pr_by_size_alone():
    """50 -> 45 mm (exactly -10 %), 60 -> 58 HU (-3.3 %): PR by size. RECIST: SD."""
    tu, tr = one_gist(50, 60, 45, 58)
    assert run(tu, tr, "CHOI").loc[2, "AVALC"] == "PR"
    assert run(tu, tr).loc[2, "AVALC"] == "SD"


def test_choi_pd_by_size_with_small_density_drop():
    """50 -> 55 mm (+10 % vs nadir 50) and 60 -> 57 HU (-5 %, no density PR) -> PD."""
    tu, tr = one_gist(50, 60, 55, 57)
    out = run(tu, tr, "CHOI")
    assert out.loc[2, "DENSPCHG"] == pytest.approx(-5.0)
    assert out.loc[2, ["TRGRESP", "AVALC"]].tolist() == ["PD", "PD"]


def test_choi_just_below_thresholds_is_sd():
    """50 -> 54.5 mm (+9 %) and 60 -> 52 HU (-13.3 %): neither PD nor PR -> SD."""
    tu, tr = one_gist(50, 60, 54.5, 52)
    assert run(tu, tr, "CHOI").loc[2, "AVALC"] == "SD"


def test_choi_missing_density_when_size_does_not_decide():
    """50 -> 48 mm (-4 %): only density could make it a PR, and it was not measured -> NE
    by default; SD when the rules say to use size alone. A size PR needs no density."""
    tu, tr = one_gist(50, 60, 48, None)
    assert run(tu, tr, "CHOI").loc[2, "AVALC"] == "NE"
    size_only = ResponseRules(choi_missing_density="SIZE_ONLY")
    assert run(tu, tr, "CHOI", size_only).loc[2, "AVALC"] == "SD"
    tu, tr = one_gist(50, 60, 40, None)
    assert run(tu, tr, "CHOI").loc[2, "AVALC"] == "PR"


def test_choi_new_lesion_or_non_target_progression_blocks_pr():
    """Density PR, but a new lesion -> PD (Choi PR requires no new lesion)."""
    tu, tr = one_gist(50, 60, 50, 40)
    tu.append(lesion("NEW01", "NEW", "PERITONEUM", visitnum=2))
    out = run(tu, tr, "CHOI")
    assert out.loc[2, ["TRGRESP", "NEWLPROG", "AVALC"]].tolist() == ["PR", "Y", "PD"]


def test_choi_cr_when_all_targets_disappear():
    tu, tr = one_gist(50, 60, 0, None)   # a lesion of 0 mm has no density to measure
    assert run(tu, tr, "CHOI").loc[2, "AVALC"] == "CR"


def test_choi_intratumoral_nodule_state_is_pd_only_when_configured():
    tu, tr = one_gist(50, 60, 45, 50)     # size -10 %, density -16.7 %: PR
    tr.append(state("T01", 2, "NEW INTRATUMORAL NODULE"))
    assert run(tu, tr, "CHOI").loc[2, "AVALC"] == "PR"
    rules = ResponseRules(choi_nodule_states=("NEW INTRATUMORAL NODULE",))
    assert run(tu, tr, "CHOI", rules).loc[2, "AVALC"] == "PD"


# ---------------------------------------------------------------------------------------
# evaluators, baseline, dates, errors
# ---------------------------------------------------------------------------------------

def test_evaluator_filter_keeps_one_reader():
    """Two readers; the investigator sees -40 % (PR), the radiologist +20 % / +10 mm (PD)."""
    tu = [lesion("T01", "TARGET", TUEVAL="INVESTIGATOR"),
          lesion("T01", "TARGET", TUEVAL="INDEPENDENT ASSESSOR")]
    tr = [ld("T01", 1, 50, TREVAL="INVESTIGATOR"), ld("T01", 2, 30, TREVAL="INVESTIGATOR"),
          ld("T01", 1, 50, TREVAL="INDEPENDENT ASSESSOR"),
          ld("T01", 2, 60, TREVAL="INDEPENDENT ASSESSOR")]
    inv = run(tu, tr, rules=ResponseRules(evaluator_filter={"TREVAL": "INVESTIGATOR"}))
    ind = run(tu, tr, rules=ResponseRules(evaluator_filter={"TREVAL": "INDEPENDENT ASSESSOR"}))
    assert inv.loc[2, "AVALC"] == "PR" and ind.loc[2, "AVALC"] == "PD"


def test_explicit_baseline_flag_and_treatment_start():
    """V1 (80 mm, 2024-01-01) and V2 (50 mm, 2024-02-12) are both on or before the treatment
    start (2024-02-12); V3 is 40 mm: -50 % vs V1 (PR) but -20 % vs V2 (SD). Without a start
    date the first assessment is the baseline (V1 -> PR). TRLOBXFL on V2 -> SD. With the
    start date the default is the last evaluable pre-treatment scan within 28 days (V2 ->
    SD, V1 dropped); with no window and baseline_pick='first', V1 -> PR."""
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, 80), ld("T01", 2, 50), ld("T01", 3, 40)]
    assert run(tu, tr).loc[3, "AVALC"] == "PR"
    flagged = [dict(r, TRLOBXFL="Y" if r["VISITNUM"] == "2" else "") for r in tr]
    out = run(tu, flagged)
    assert 1 not in out.index and out.loc[2, "ABLFL"] == "Y"
    assert out.loc[3, ["SUMBASE", "AVALC"]].tolist() == [50, "SD"]
    start = pd.Series({SUBJ: visit_date(2)})
    last = run(tu, tr, treatment_start=start)
    assert 1 not in last.index
    assert last.loc[2, "ABLFL"] == "Y" and last.loc[3, "AVALC"] == "SD"
    first = run(tu, tr, rules=ResponseRules(baseline_pick="first", baseline_window_days=None),
                treatment_start=start)
    assert first.loc[1, "ABLFL"] == "Y" and first.loc[3, "AVALC"] == "PR"


def test_baseline_is_last_evaluable_scan_within_the_window():
    """Start 2024-03-01. V1 2024-01-20 (41 days before: outside 28 days), V2 2024-02-10
    (20 days before, 50 mm), V3 2024-02-25 a pre-treatment rescan with the lesion not
    evaluated (not evaluable), V4 2024-04-15 35 mm. Baseline = V2; V4 = -30 % = PR. A
    window of 10 days leaves no evaluable scan: the subject has no baseline (left out)."""
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, 90, dtc="2024-01-20"), ld("T01", 2, 50, dtc="2024-02-10"),
          state("T01", 3, "NOT EVALUATED", dtc="2024-02-25"),
          ld("T01", 4, 35, dtc="2024-04-15")]
    start = pd.Series({SUBJ: "2024-03-01"})
    out = run(tu, tr, treatment_start=start)
    assert out.loc[2, "ABLFL"] == "Y" and 1 not in out.index
    assert out.loc[4, ["SUMBASE", "AVALC"]].tolist() == [50, "PR"]
    none = compute_visit_responses(pd.DataFrame(tu), pd.DataFrame(tr),
                                   rules=ResponseRules(baseline_window_days=10),
                                   treatment_start=start)
    assert none.empty


def test_partial_date_is_imputed_to_last_day_and_flagged():
    tu = [lesion("T01", "TARGET")]
    out = run(tu, [ld("T01", 1, 40), ld("T01", 2, 38, dtc="2024-02")])
    assert out.loc[2, "ADT"] == pd.Timestamp("2024-02-29") and out.loc[2, "ADTF"] == "D"
    assert out.loc[1, "ADTF"] == ""


def test_several_subjects_are_independent():
    tu = [lesion("T01", "TARGET", subj="A"), lesion("T01", "TARGET", subj="B")]
    tr = [ld("T01", 1, 25, subj="A"), ld("T01", 2, 30, subj="A"),
          ld("T01", 1, 50, subj="B"), ld("T01", 2, 30, subj="B")]
    out = run(tu, tr).set_index(["USUBJID", "VISITNUM"])
    assert out.loc[("A", 2), "AVALC"] == "PD" and out.loc[("B", 2), "AVALC"] == "PR"


def test_bad_input_is_reported():
    with pytest.raises(InputError, match="TRSTRESN"):
        compute_visit_responses(pd.DataFrame([lesion("T01", "TARGET")]),
                                pd.DataFrame([ld("T01", 1, 5)]).drop(columns="TRSTRESN"))
    with pytest.raises(SpecError):
        compute_visit_responses(pd.DataFrame([lesion("T01", "TARGET")]),
                                pd.DataFrame([ld("T01", 1, 5)]), criterion="WHO")


# ---------------------------------------------------------------------------------------
# reconciliation
# ---------------------------------------------------------------------------------------

def test_reconcile_lists_differences_and_one_sided_visits():
    # computed: V2 PR (-40 %), V3 PD (30 -> 36: +20 %, +6 mm)
    tu, tr = two_targets((30, 20), (18, 12), (22, 14))
    computed = compute_visit_responses(pd.DataFrame(tu), pd.DataFrame(tr))
    rs = pd.DataFrame([
        {"USUBJID": SUBJ, "VISITNUM": "2", "RSTESTCD": "OVRLRESP", "RSSTRESC": "PR"},
        {"USUBJID": SUBJ, "VISITNUM": "2", "RSTESTCD": "TRGRESP", "RSSTRESC": "PR"},
        {"USUBJID": SUBJ, "VISITNUM": "3", "RSTESTCD": "OVRLRESP", "RSSTRESC": "SD"},
        {"USUBJID": SUBJ, "VISITNUM": "3", "RSTESTCD": "TRGRESP", "RSSTRESC": "SD"},
        {"USUBJID": SUBJ, "VISITNUM": "3", "RSTESTCD": "NEWLPROG", "RSSTRESC": "N"},
        {"USUBJID": SUBJ, "VISITNUM": "4", "RSTESTCD": "OVRLRESP", "RSSTRESC": "NE"},
    ]).assign(RSCAT="RECIST 1.1")
    rec = reconcile_responses(rs, computed).set_index("VISITNUM")
    assert list(rec.index) == [3.0, 4.0]                  # V2 agrees, not listed
    assert rec.loc[3, "PRESENCE"] == "BOTH"
    assert rec.loc[3, "DIFFERS"] == "AVALC,TRGRESP"       # NEWLPROG N agrees
    assert rec.loc[3, ["AVALC_INV", "AVALC_CMP"]].tolist() == ["SD", "PD"]
    assert rec.loc[3, "PCHGNADIR"] == pytest.approx(20.0)
    assert rec.loc[4, "PRESENCE"] == "INVESTIGATOR ONLY"
    # a computed visit without an RS record is listed too
    rec2 = reconcile_responses(rs[rs["VISITNUM"] == "2"], computed)
    assert rec2[["VISITNUM", "PRESENCE", "AVALC_CMP"]].values.tolist() == \
        [[3.0, "COMPUTED ONLY", "PD"]]


def test_reconcile_wide_records_choi_category_and_not_applicable_spelling():
    """RS already one row per visit, RSCAT 'CHOI GIST 2008', NTRGRESP spelt 'NOT
    APPLICABLE': V2 (density PR, see above) agrees -> nothing listed."""
    tu, tr = one_gist(50, 60, 55, 51)
    computed = compute_visit_responses(pd.DataFrame(tu), pd.DataFrame(tr), "CHOI")
    rs = pd.DataFrame([{"USUBJID": SUBJ, "VISITNUM": 2, "RSCAT": "CHOI GIST 2008",
                        "OVRLRESP": "PR", "NTRGRESP": "NOT APPLICABLE", "NEWLPROG": "NO"}])
    assert reconcile_responses(rs, computed).empty
    rs["OVRLRESP"] = "PD"
    assert reconcile_responses(rs, computed)["DIFFERS"].tolist() == ["AVALC"]


def test_reconcile_refuses_several_evaluators():
    tu, tr = two_targets((30, 20), (18, 12))
    computed = compute_visit_responses(pd.DataFrame(tu), pd.DataFrame(tr))
    rs = pd.DataFrame([{"USUBJID": SUBJ, "VISITNUM": 2, "RSTESTCD": "OVRLRESP",
                        "RSSTRESC": v} for v in ("PR", "SD")])
    with pytest.raises(InputError, match="one evaluator"):
        reconcile_responses(rs, computed)


# ---------------------------------------------------------------------------------------
# pharmaverse oncology data
# ---------------------------------------------------------------------------------------

EVALUATORS = {
    # stream: (TR filter, RS rows of the same evaluator)
    "investigator": ({"TREVAL": "INVESTIGATOR"}, lambda rs: rs["RSEVAL"] == "INVESTIGATOR"),
    "radiologist 1": ({"TREVALID": "RADIOLOGIST 1"},
                      lambda rs: rs["RSEVALID"] == "RADIOLOGIST 1"),
    "radiologist 2": ({"TREVALID": "RADIOLOGIST 2"},
                      lambda rs: rs["RSEVALID"] == "RADIOLOGIST 2"),
    "accepted": ({"TRACPTFL": "Y"}, lambda rs: rs["RSACPTFL"] == "Y"),
}


@pytest.fixture(scope="module")
def pharmaverse(reference):
    sdtm = reference / "pharmaverse" / "sdtm"
    read = lambda name: pd.read_csv(sdtm / f"{name}_onco_recist.csv", dtype=str,  # noqa: E731
                                    keep_default_na=False)
    return read("tu"), read("tr"), read("rs")


@pytest.mark.parametrize("stream", list(EVALUATORS))
def test_pharmaverse_recist_matches_rs_for_every_evaluator(pharmaverse, stream):
    """RECIST 1.1 recomputed from pharmaversesdtm's TU/TR agrees with its RS OVRLRESP at
    every post-baseline visit of every subject (22 visits, 8 subjects), for each reader.

    What the data is (read from pharmaversesdtm's data-raw generator and the CSVs):
    * 8 subjects, 3 readers (INVESTIGATOR, RADIOLOGIST 1 and 2). The accepted flag
      (TRACPTFL/RSACPTFL) alternates between the two radiologists from visit to visit, so
      the "accepted" stream mixes readers: e.g. the baseline of 01-701-1015 is radiologist
      1's and its week 3 radiologist 2's. RS has OVRLRESP only (no TRGRESP/NTRGRESP/
      NEWLPROG), no RSCAT, and no NEW lesions anywhere; two subjects have non-target
      disease only; every target carries both LDIAM and LPERP, so nodal status must come
      from TULOC = "LYMPH NODE".
    * The generator summed LDIAM (LPERP for lymph nodes) per reader and visit, PD = sum >=
      120 % of nadir and >= nadir + 5 mm (applied to incomplete sums as well), PR = sum <=
      70 % of baseline, CR = every non-nodal 0 mm and node < 10 mm, NE when a baseline
      lesion is missing, NON-CR/NON-PD for non-target-only subjects - the same rules as
      ours, so full agreement is expected.

    Deliberate differences, none of which changes a response on this data (checked):
    * the generator's nadir pools the previous complete sums of *all* readers of the
      subject; ours uses the reader's own (every pooled nadir is within 3 % of the own one
      and no PD decision flips);
    * the generator's "accepted" RS is each radiologist's own stream with its own baseline;
      our TRACPTFL = "Y" stream takes the baseline from whichever radiologist was accepted
      at screening (the sums differ by a few %, the responses do not);
    * ADT imputes the partial date "2014-02" (01-701-1015 week 6) to 2014-02-28; RSDTC keeps
      the partial date.
    Boundary cases the data exercises: 01-701-1133 week 3 investigator 60 -> 42 mm is
    exactly -30 % (PR, while radiologist 1's -29.4 % is SD); week 9 a 5 mm reappearance
    after CR (nadir 0) is PD for the investigator, radiologist 2's smaller reading is PR
    (the RECIST working group's Q&A, our default, calls any reappearance after CR a PD;
    the generator does not, hence ``reappearance_after_cr="sum"`` here); 01-701-1028 week 6 is PD on an incomplete sum; nodal CR with a 7 mm
    node (01-701-1015, 01-701-1115).
    """
    tu, tr, rs = pharmaverse
    tr_filter, rs_rows = EVALUATORS[stream]
    computed = compute_visit_responses(
        tu, tr, "RECIST 1.1", ResponseRules(evaluator_filter=tr_filter, baseline_window_days=None,
                                             reappearance_after_cr="sum"))
    post = computed.loc[computed["ABLFL"] != "Y"]
    expected = rs.loc[rs_rows(rs) & (rs["RSTESTCD"] == "OVRLRESP")]
    assert len(post) == len(expected) == 22
    assert post["USUBJID"].nunique() == 8

    listing = reconcile_responses(expected, computed)
    assert listing.empty, listing.to_string()

    # target-only subjects: the target response is the overall response; non-target-only
    # subjects have no target response
    nt_only = {"01-701-1034", "01-701-1097"}
    targets = post.loc[~post["USUBJID"].isin(nt_only)]
    assert (targets["TRGRESP"] == targets["AVALC"]).all()
    assert (targets["NTRGRESP"] == "NA").all() and (post["NEWLPROG"] == "N").all()
    assert set(post.loc[post["USUBJID"].isin(nt_only), "TRGRESP"]) == {"NA"}


def test_pharmaverse_investigator_values(pharmaverse):
    """Spot values of the investigator stream, worked out from the CSV by hand."""
    tu, tr, _ = pharmaverse
    out = compute_visit_responses(tu, tr, rules=ResponseRules(
        evaluator_filter={"TREVAL": "INVESTIGATOR"})).set_index(["USUBJID", "VISITNUM"])
    # 01-701-1015: T01 21 + node T02 32 (LPERP) + T03 24 + T04 19 = 96 at screening
    assert out.loc[("01-701-1015", 1.0), "SUMDIAM"] == 96
    # week 6: only T01 20 + T04 18 measured -> 38, two targets missing -> NE
    assert out.loc[("01-701-1015", 3.0), ["SUMDIAM", "TRGNMISS", "AVALC"]].tolist() == \
        [38, 2, "NE"]
    assert out.loc[("01-701-1015", 3.0), "ADT"] == pd.Timestamp("2014-02-28")
    # week 9: non-nodal 0, node 7 mm -> CR with sum 7
    assert out.loc[("01-701-1015", 4.0), ["SUMDIAM", "AVALC"]].tolist() == [7, "CR"]
    # 01-701-1028 week 6: T01 missing, 34 + 41 + 26 + 9 = 110 vs nadir 91 (week 3) -> PD
    assert out.loc[("01-701-1028", 3.0), ["SUMDIAM", "SUMNADIR", "AVALC"]].tolist() == \
        [110, 91, "PD"]


# ---------------------------------------------------------------------------------------
# rules corrected after the independent reading (issue 14); expected values by hand
# ---------------------------------------------------------------------------------------

def test_target_reappearing_after_cr_is_pd_whatever_its_size():
    """T01 40 -> 0 (CR at V2, V3) -> 4 mm at V4: after a CR any reappearance is PD (RECIST
    Q&A). With reappearance_after_cr='sum' 4 mm vs nadir 0 is +4 mm (< 5 mm): PR (the
    target is back, but only 4/40 = -90 % of baseline)."""
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, 40), ld("T01", 2, 0), ld("T01", 3, 0), ld("T01", 4, 4)]
    out = run(tu, tr)
    assert out.loc[2, "AVALC"] == "CR" and out.loc[3, "AVALC"] == "CR"
    assert out.loc[4, ["TRGRESP", "AVALC"]].tolist() == ["PD", "PD"]
    assert out.loc[4, "ADT"] == pd.Timestamp(visit_date(4))
    old = run(tu, tr, rules=ResponseRules(reappearance_after_cr="sum"))
    assert old.loc[4, "AVALC"] == "PR"


def test_reappearance_before_any_cr_only_adds_to_the_sum():
    """T01 0 mm at V2 while T02 is still 10 mm (PR, not CR); T01 back at 3 mm at V3:
    sum 13 vs nadir 10 is +30 % but +3 mm: not PD; 13/50 = -74 %: PR."""
    tu, tr = two_targets((30, 20), (0, 10), (3, 10))
    out = run(tu, tr)
    assert out.loc[2, "AVALC"] == "PR" and out.loc[3, "AVALC"] == "PR"


def test_non_target_present_again_after_cr_is_pd():
    """Target 0 mm and non-target absent at V2 (CR); at V3 the target stays 0 and the
    non-target is PRESENT again -> PD (non-target PD); EQUIVOCAL would not be."""
    tu = [lesion("T01", "TARGET"), lesion("NT01", "NON-TARGET", "BONE")]
    tr = [ld("T01", 1, 30), state("NT01", 1, "PRESENT"),
          ld("T01", 2, 0), state("NT01", 2, "ABSENT"),
          ld("T01", 3, 0), state("NT01", 3, "PRESENT")]
    out = run(tu, tr)
    assert out.loc[2, "AVALC"] == "CR"
    assert out.loc[3, ["TRGRESP", "NTRGRESP", "AVALC"]].tolist() == ["CR", "PD", "PD"]
    tr[-1] = state("NT01", 3, "EQUIVOCAL")
    assert run(tu, tr).loc[3, "AVALC"] == "PR"  # target CR, non-target not absent


def test_tu_new_lesion_recorded_equivocal_in_tr_is_not_pd():
    """TU identifies NEW01 at V2 but TR records it EQUIVOCAL there: not PD (today's bug)."""
    tu = [lesion("T01", "TARGET"), lesion("NEW01", "NEW", "BRAIN", visitnum=2)]
    tr = [ld("T01", 1, 40), ld("T01", 2, 38), state("NEW01", 2, "EQUIVOCAL")]
    assert run(tu, tr).loc[2, ["NEWLPROG", "AVALC"]].tolist() == ["N", "SD"]


def test_equivocal_new_lesion_confirmed_later_dates_pd_at_first_appearance():
    """NEW01 equivocal at V2 (2024-02-12), PRESENT at V3 (2024-03-25): V2 SD, V3 PD dated
    2024-02-12 (RECIST 1.1 4.3.3); with new_lesion_date='confirmed' dated 2024-03-25."""
    tu = [lesion("T01", "TARGET"), lesion("NEW01", "NEW", "BRAIN", visitnum=2)]
    tr = [ld("T01", 1, 40), ld("T01", 2, 38), state("NEW01", 2, "EQUIVOCAL"),
          ld("T01", 3, 38), state("NEW01", 3, "PRESENT")]
    out = run(tu, tr)
    assert out.loc[2, "AVALC"] == "SD"
    assert out.loc[3, ["NEWLPROG", "AVALC"]].tolist() == ["Y", "PD"]
    assert out.loc[3, "ADT"] == pd.Timestamp("2024-02-12")
    late = run(tu, tr, rules=ResponseRules(new_lesion_date="confirmed"))
    assert late.loc[3, "ADT"] == pd.Timestamp("2024-03-25")
    # the lesion still there at V4 (2024-05-06): that PD is dated by its own scan
    tr += [ld("T01", 4, 38), state("NEW01", 4, "PRESENT")]
    assert run(tu, tr).loc[4, "ADT"] == pd.Timestamp("2024-05-06")


def test_non_target_only_disease_is_never_sd():
    """No target lesion, the non-target present: NON-CR/NON-PD at every visit (RECIST table
    2), whatever the time on study."""
    tu = [lesion("NT01", "NON-TARGET", "BONE")]
    tr = [state("NT01", v, "PRESENT") for v in (1, 2, 3, 4)]
    out = run(tu, tr)
    assert set(out.loc[[2, 3, 4], "AVALC"]) == {"NON-CR/NON-PD"}


def test_lnstate_non_target_nodes_count_with_the_10mm_rule():
    """Non-target lymph node recorded with LNSTATE (CDISC oncology examples): PATHOLOGICAL
    -> present; NON-PATHOLOGICAL -> normal, counts as absent for RECIST CR. A second
    non-target node measured by short axis: 8 mm is normal (< 10 mm), 12 mm is not."""
    tu = [lesion("T01", "TARGET"), lesion("NT01", "NON-TARGET", "LYMPH NODE, AXILLARY"),
          lesion("NT02", "NON-TARGET", "LYMPH NODE, HILAR")]
    tr = [ld("T01", 1, 30), rec("NT01", 1, "LNSTATE", "PATHOLOGICAL"), sa("NT02", 1, 18),
          ld("T01", 2, 0), rec("NT01", 2, "LNSTATE", "PATHOLOGICAL"), sa("NT02", 2, 8),
          ld("T01", 3, 0), rec("NT01", 3, "LNSTATE", "NON-PATHOLOGICAL"), sa("NT02", 3, 12),
          ld("T01", 4, 0), rec("NT01", 4, "LNSTATE", "NON-PATHOLOGICAL"), sa("NT02", 4, 8)]
    out = run(tu, tr, rules=ResponseRules(reappearance_after_cr="sum"))
    assert out.loc[2, ["NTRGRESP", "AVALC"]].tolist() == ["NON-CR/NON-PD", "PR"]
    assert out.loc[3, ["NTRGRESP", "AVALC"]].tolist() == ["NON-CR/NON-PD", "PR"]
    assert out.loc[4, ["NTRGRESP", "AVALC"]].tolist() == ["CR", "CR"]
    # the LNSTATE records are not counted when the state test codes leave LNSTATE out
    nolst = run(tu, tr, rules=ResponseRules(state_testcds=("TUMSTATE",)))
    assert nolst.loc[4, "NTRGRESP"] == "NE"


def test_split_lesion_fragments_are_summed_into_the_parent():
    """T01 (40 mm) splits at V2 into T01.1 (15) and T01.2 (10) (TU TUSPLIT records, TUGRPID
    G1): T01's diameter at V2 = 25, with T02 20 -> sum 45 vs 60 = -25 %: SD (not the PR a
    lone 20 mm T02 with T01 'missing' would suggest, nor NE)."""
    tu = [lesion("T01", "TARGET", TUGRPID="G1"), lesion("T02", "TARGET", "LUNG"),
          dict(lesion("T01.1", "TARGET", visitnum=2, TUGRPID="G1"), TUTESTCD="TUSPLIT"),
          dict(lesion("T01.2", "TARGET", visitnum=2, TUGRPID="G1"), TUTESTCD="TUSPLIT")]
    tr = [ld("T01", 1, 40), ld("T02", 1, 20),
          ld("T01.1", 2, 15), ld("T01.2", 2, 10), ld("T02", 2, 20)]
    out = run(tu, tr)
    assert out.loc[2, ["SUMDIAM", "TRGNMISS", "AVALC"]].tolist() == [45, 0, "SD"]
    # without TUGRPID the parent is the TULNKID before the last "."
    tu2 = [{k: v for k, v in r.items() if k != "TUGRPID"} for r in tu]
    assert run(tu2, tr).loc[2, "SUMDIAM"] == 45


def test_merged_lesions_are_measured_once():
    """T01 (30) and T02 (20) coalesce at V2 into T01/T02 measured 52 mm (TU TUMERGE, TUGRPID
    M1): 52 counts for T01, T02 counts 0 -> sum 52 vs 50: SD, no target missing. At V3 the
    merged mass is 62: 62 vs nadir 50 = +24 %, +12 mm -> PD."""
    tu = [lesion("T01", "TARGET", TUGRPID="M1"), lesion("T02", "TARGET", TUGRPID="M1"),
          dict(lesion("T01/T02", "TARGET", visitnum=2, TUGRPID="M1"), TUTESTCD="TUMERGE")]
    tr = [ld("T01", 1, 30), ld("T02", 1, 20), ld("T01/T02", 2, 52),
          state("T02", 2, "TUMOR MERGED"), ld("T01/T02", 3, 62)]
    out = run(tu, tr)
    assert out.loc[2, ["SUMDIAM", "TRGNMISS", "AVALC"]].tolist() == [52, 0, "SD"]
    assert out.loc[3, ["SUMDIAM", "TRGNMISS", "AVALC"]].tolist() == [62, 0, "PD"]


def test_conflicting_duplicate_measurements_are_an_error():
    """Two different diameters for T01 at V2 (one reader): an error naming lesion and
    visit; the same record repeated is kept once."""
    tu = [lesion("T01", "TARGET")]
    with pytest.raises(InputError, match=r"T01.*visit 2.*LDIAM"):
        run(tu, [ld("T01", 1, 40), ld("T01", 2, 30), ld("T01", 2, 35)])
    out = run(tu, [ld("T01", 1, 40), ld("T01", 2, 30), ld("T01", 2, 30)])
    assert out.loc[2, "SUMDIAM"] == 30


def test_progression_date_from_the_target_sum_earliest_or_latest_scan():
    """V2: T01 scanned 2024-02-10 (60 mm), T02 2024-02-14 (24): sum 84 vs 50 -> PD.
    pd_date='latest' (default, FDA): 2024-02-14; 'earliest': 2024-02-10."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LUNG")]
    tr = [ld("T01", 1, 30), ld("T02", 1, 20), ld("T01", 2, 60, dtc="2024-02-10"),
          ld("T02", 2, 24, dtc="2024-02-14")]
    assert run(tu, tr).loc[2, ["AVALC", "ADT"]].tolist() == ["PD", pd.Timestamp("2024-02-14")]
    early = run(tu, tr, rules=ResponseRules(pd_date="earliest"))
    assert early.loc[2, "ADT"] == pd.Timestamp("2024-02-10")


def test_choi_cr_needs_every_lesion_gone_no_node_rule():
    """Non-nodal target 0 mm and nodal target 7 mm: RECIST CR (node < 10 mm), Choi not CR
    (the node is still there): size 7 vs 50 = -86 % -> PR."""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LYMPH NODE")]
    tr = [ld("T01", 1, 30), sa("T02", 1, 20), hu("T01", 1, 50), hu("T02", 1, 50),
          ld("T01", 2, 0), sa("T02", 2, 7), hu("T02", 2, 45)]
    assert run(tu, tr).loc[2, "AVALC"] == "CR"
    assert run(tu, tr, "CHOI").loc[2, ["TRGRESP", "AVALC"]].tolist() == ["PR", "PR"]


def test_choi_density_over_lesions_measured_at_both_times():
    """T01 30 mm 100 HU, T02 20 mm 40 HU at baseline. V2: T01 gone (0 mm, no density),
    T02 21 mm 36 HU. Paired mean: T02 only, 40 -> 36 = -10 %: not a density PR; size 21 vs
    50 = -58 %: PR anyway. V3: T01 0, T02 27 mm 30 HU: size 27 vs nadir 21 = +29 % PD,
    density -25 % (paired) -> Choi PR by density. (An unpaired mean 70 -> 30 would be -57 %
    at V2 as well: the paired rule compares like with like.)"""
    tu = [lesion("T01", "TARGET"), lesion("T02", "TARGET", "LUNG")]
    tr = [ld("T01", 1, 30), hu("T01", 1, 100), ld("T02", 1, 20), hu("T02", 1, 40),
          ld("T01", 2, 0), ld("T02", 2, 21), hu("T02", 2, 36),
          ld("T01", 3, 0), ld("T02", 3, 27), hu("T02", 3, 30)]
    out = run(tu, tr, "CHOI")
    assert out.loc[2, "DENSPCHG"] == pytest.approx(-10.0)
    assert out.loc[2, "AVALC"] == "PR"
    assert out.loc[3, "DENSPCHG"] == pytest.approx(-25.0)
    assert out.loc[3, "AVALC"] == "PR"


def test_choi_progression_reference_nadir_or_baseline():
    """Sizes 50 -> 40 -> 45 mm, density unchanged (100 HU). 45 vs nadir 40 = +12.5 %: PD
    (reference nadir, default); vs baseline 50 = -10 %: PR (reference baseline)."""
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, 50), hu("T01", 1, 100), ld("T01", 2, 40), hu("T01", 2, 100),
          ld("T01", 3, 45), hu("T01", 3, 100)]
    assert run(tu, tr, "CHOI").loc[3, "AVALC"] == "PD"
    base = run(tu, tr, "CHOI", rules=ResponseRules(choi_pd_reference="baseline"))
    assert base.loc[3, "AVALC"] == "PR"


def test_modified_choi_needs_size_and_density():
    """Size -12 % with density -20 %: PR by Choi and by modified Choi. Size -12 % with
    density -5 %: Choi PR (size alone), modified Choi SD. Size -5 %, density -20 %: Choi PR
    (density alone), modified Choi SD. Size -12 % and no density at V2: modified Choi NE
    (density decides PR vs SD), SD with choi_missing_density='SIZE_ONLY'."""
    cases = [((44, 80), "PR", "PR"), ((44, 95), "PR", "SD"), ((47.5, 80), "PR", "SD")]
    for (mm, dens), choi, mchoi in cases:
        tu = [lesion("T01", "TARGET")]
        tr = [ld("T01", 1, 50), hu("T01", 1, 100), ld("T01", 2, mm), hu("T01", 2, dens)]
        assert run(tu, tr, "CHOI").loc[2, "AVALC"] == choi, (mm, dens)
        assert run(tu, tr, "MODIFIED CHOI").loc[2, "AVALC"] == mchoi, (mm, dens)
    tu = [lesion("T01", "TARGET")]
    tr = [ld("T01", 1, 50), hu("T01", 1, 100), ld("T01", 2, 44)]
    assert run(tu, tr, "MODIFIED CHOI").loc[2, "AVALC"] == "NE"
    size_only = ResponseRules(choi_missing_density="SIZE_ONLY")
    assert run(tu, tr, "MODIFIED CHOI", rules=size_only).loc[2, "AVALC"] == "SD"
    assert run(tu, tr, "MODIFIED CHOI").loc[2, "CRIT"] == "MODIFIED CHOI"


def test_criteria_share_one_preparation_only_when_its_rules_agree(monkeypatch):
    """compute_criteria_visits prepares TU/TR once for RECIST and Choi when their rules
    differ only in response thresholds (a -20 % PR threshold for RECIST makes 50 -> 40 mm a
    PR, which Choi's own -10 % gives too), and once per criterion when a preparation rule
    (the baseline window) differs; the responses are those of preparing each alone."""
    from cdisc_convert.adam import lesion_input, tumor_response
    from cdisc_convert.adam.adrs_inputs import compute_criteria_visits
    from cdisc_convert.adam.config import config_from_dict

    tu = pd.DataFrame([lesion("T01", "TARGET")])
    tr = pd.DataFrame([ld("T01", 1, 50), ld("T01", 2, 40), hu("T01", 1, 60), hu("T01", 2, 58)])
    adsl = pd.DataFrame({"USUBJID": [SUBJ], "TRTSDT": [pd.Timestamp("2024-01-05")]})
    calls = []
    real = lesion_input.prepare_lesions

    def counted(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(tumor_response, "prepare_lesions", counted)

    def config(choi_rules):
        return config_from_dict({"start_date": "TRTSDT", "response": {"criteria": [
            {"name": "RECIST 1.1", "rscat": "RECIST 1.1", "rules": {"recist_pr_pct": -20}},
            {"name": "CHOI", "rscat": "CHOI", "rules": choi_rules}]}})

    shared = compute_criteria_visits(tu, tr, adsl, config({}))
    assert len(calls) == 1
    assert shared["RECIST 1.1"].set_index("VISITNUM").loc[2, "AVALC"] == "PR"
    assert shared["CHOI"].set_index("VISITNUM").loc[2, "AVALC"] == "PR"
    calls.clear()
    apart = compute_criteria_visits(tu, tr, adsl, config({"baseline_window_days": 3}))
    assert len(calls) == 2
    # V1 (2024-01-01) is 4 days before the start: outside Choi's 3-day window, no baseline
    assert apart["CHOI"].empty and apart["RECIST 1.1"].equals(shared["RECIST 1.1"])
    for name, rules in (("RECIST 1.1", ResponseRules(recist_pr_pct=-20)),
                        ("CHOI", ResponseRules())):
        alone = compute_visit_responses(tu, tr, name, rules, treatment_start=adsl.set_index(
            "USUBJID")["TRTSDT"])
        pd.testing.assert_frame_equal(shared[name], alone)


def test_record_positions_join_each_tr_record_to_its_assessment_and_lesion():
    """Hand-checked: the assessment and lesion row of each TR record (-1: none), what a merge
    on USUBJID/VISITNUM and USUBJID/LNKID finds; a record of a visit before the baseline
    (not an assessment) or of a NEW lesion has none."""
    from cdisc_convert.adam.lesion_input import record_positions

    meas = pd.DataFrame({"USUBJID": [0, 0, 0, 1, 1],
                         "VISITNUM": [1.0, 2.0, 2.0, 2.0, 3.0],
                         "LNKID": [0, 0, 1, 2, 3]})
    lesions = pd.DataFrame({"USUBJID": [0, 0, 1, 1], "LNKID": [1, 0, 2, 3],
                            "CAT": ["NON-TARGET", "TARGET", "TARGET", "NEW"]})
    visits = pd.DataFrame({"USUBJID": [0, 1, 1], "VISITNUM": [2.0, 2.0, 3.0]})
    got = record_positions(meas, lesions, visits)
    assert got.visit.tolist() == [-1, 0, 0, 1, 2]
    assert got.target.tolist() == [0, 0, -1, 1, -1]
    assert got.nontarget.tolist() == [-1, -1, 0, -1, -1]


def test_criteria_sharing_a_preparation_find_the_record_positions_once(monkeypatch):
    """RECIST and Choi computed from one preparation join the TR records to assessments
    and lesions once (not once per criterion and component), with the responses of
    computing each alone."""
    from cdisc_convert.adam import lesion_input
    from cdisc_convert.adam.adrs_inputs import compute_criteria_visits
    from cdisc_convert.adam.config import config_from_dict

    tu = pd.DataFrame([lesion("T01", "TARGET"), lesion("N01", "NON-TARGET")])
    tr = pd.DataFrame([ld("T01", 1, 50), ld("T01", 2, 40), hu("T01", 1, 60), hu("T01", 2, 58),
                       rec("N01", 1, "TUMSTATE", "PRESENT"), rec("N01", 2, "TUMSTATE", "ABSENT")])
    adsl = pd.DataFrame({"USUBJID": [SUBJ], "TRTSDT": [pd.Timestamp("2024-01-05")]})
    calls = []
    real = lesion_input.record_positions

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(lesion_input, "record_positions", counted)
    config = config_from_dict({"start_date": "TRTSDT", "response": {"criteria": [
        {"name": "RECIST 1.1", "rscat": "RECIST 1.1"}, {"name": "CHOI", "rscat": "CHOI"}]}})
    shared = compute_criteria_visits(tu, tr, adsl, config)
    assert len(calls) == 1
    assert shared["RECIST 1.1"].set_index("VISITNUM").loc[2, "NTRGRESP"] == "CR"
    for name in ("RECIST 1.1", "CHOI"):
        alone = compute_visit_responses(tu, tr, name, ResponseRules(), treatment_start=adsl
                                        .set_index("USUBJID")["TRTSDT"])
        pd.testing.assert_frame_equal(shared[name], alone)
