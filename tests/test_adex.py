"""ADEX (ADaM BDS exposure): every derivation on a tiny table worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.adam.adex import (ExposureTreatment, build_adex, derive_adsl_from_adex,
                                     derive_dose_records, derive_exposure_summary)
from cdisc_convert.adam.config import config_from_dict
from cdisc_convert.core.errors import InputError, SpecError

D = pd.Timestamp

ADSL = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A", "B", "C"],
                     "ARMCD": ["HIGH", "LOW", "OTHER"], "SAFFL": "Y",
                     "TRTSDT": [D("2020-01-01"), D("2020-02-01"), D("2020-03-01")],
                     "TRTEDT": [D("2020-03-04"), D("2020-02-22"), D("2020-03-01")],
                     "TRT01P": "X", "TRT01A": "X"})


def _ex(rows):
    return pd.DataFrame(rows, columns=["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU",
                                       "EXDOSFRQ", "EXADJ", "EXSTDTC", "EXENDTC"])


EX = _ex([
    # A: 1000 mg/m2 planned, reduced twice (850 after cycle 1, 700 at cycle 4)
    ("A", 1, "CHEMO", 1000, "mg/m2", "ONCE", "", "2020-01-01", "2020-01-01"),
    ("A", 2, "CHEMO", 850, "mg/m2", "ONCE", "NEUTROPENIA", "2020-01-22", "2020-01-22"),
    ("A", 3, "CHEMO", 850, "mg/m2", "ONCE", "", "2020-02-12", "2020-02-12"),
    ("A", 4, "CHEMO", 700, "mg/m2", "ONCE", "THROMBOCYTOPENIA", "2020-03-04", "2020-03-04"),
    # B: planned 850 (the amended cohort), never below it
    ("B", 1, "CHEMO", 850, "mg/m2", "ONCE", "", "2020-02-01", "2020-02-01"),
    ("B", 2, "CHEMO", 850, "mg/m2", "ONCE", "", "2020-02-22", "2020-02-22"),
    # C: an arm without a declared planned dose
    ("C", 1, "CHEMO", 500, "mg/m2", "ONCE", "", "2020-03-01", "2020-03-01"),
    # A: oral drug, 400 mg twice daily for 10 days, an interruption, then 400 mg once daily
    ("A", 5, "PILL", 400, "mg", "BID", "", "2020-01-01", "2020-01-10"),
    ("A", 6, "PILL", 400, "mg", "QD", "DOSE REDUCED", "2020-01-15", "2020-01-24"),
])

CHEMO = ExposureTreatment("CHEMO", "CHM", "Chemo", planned_by="ARMCD",
                          planned_values={"HIGH": 1000.0, "LOW": 850.0}, cycle_days=21)
PILL = ExposureTreatment("PILL", "PIL", "Pill", planned=800.0)


def _value(frame, subject, paramcd, column="AVAL"):
    rows = frame[(frame["USUBJID"] == subject) & (frame["PARAMCD"] == paramcd)]
    assert len(rows) == 1, (subject, paramcd, len(rows))
    return rows[column].iloc[0]


def test_cycle_records_planned_actual_cumulative_and_reductions():
    recs = derive_dose_records(EX, ADSL, CHEMO)
    a = recs[recs["USUBJID"] == "A"]
    assert a["AVISIT"].tolist() == ["CYCLE 1", "CYCLE 2", "CYCLE 3", "CYCLE 4"]
    assert a["DOSEA"].tolist() == [1000, 850, 850, 700]
    assert a["DOSEP"].tolist() == [1000] * 4
    assert a["DOSCUMA"].tolist() == [1000, 1850, 2700, 3400]
    assert a["DOSCUMP"].tolist() == [1000, 2000, 3000, 4000]
    assert a["CRIT1FL"].tolist() == ["N", "Y", "Y", "Y"]
    # a reduction is a step down below the planned dose: cycles 2 and 4, not cycle 3
    assert a["DOSRED"].fillna("").tolist() == ["", "Y", "", "Y"]
    assert recs.loc[recs["USUBJID"] == "B", "CRIT1FL"].tolist() == ["N", "N"]
    c = recs[recs["USUBJID"] == "C"]
    assert c["DOSEP"].isna().all() and c["CRIT1FL"].isna().all()
    assert set(recs["SRCSEQ"][recs["USUBJID"] == "A"]) == {1, 2, 3, 4}


def test_cycle_summary_duration_intensity_and_first_reduction():
    summary = derive_exposure_summary(derive_dose_records(EX, ADSL, CHEMO), CHEMO)
    assert _value(summary, "A", "CHMNCYC") == 4
    assert _value(summary, "A", "CHMDURD") == 84          # 63 days + the last 21-day cycle
    assert _value(summary, "A", "CHMCUMD") == 3400
    assert _value(summary, "A", "CHMPCUM") == 4000
    assert _value(summary, "A", "CHMPDOS") == 1000
    assert _value(summary, "A", "CHMDI") == pytest.approx(3400 / 84 * 7)
    assert _value(summary, "A", "CHMPDI") == pytest.approx(1000 / 3)
    assert _value(summary, "A", "CHMRDI") == pytest.approx(85.0)
    assert _value(summary, "A", "CHMNRED") == 2
    assert _value(summary, "A", "CHMRDFL", "AVALC") == "Y"
    assert _value(summary, "A", "CHMFRED", "ADT") == D("2020-01-22")
    assert _value(summary, "A", "CHMFRED", "AVALC") == "NEUTROPENIA"
    assert _value(summary, "B", "CHMRDFL", "AVALC") == "N"
    assert _value(summary, "B", "CHMRDI") == pytest.approx(100.0)
    assert summary[(summary["USUBJID"] == "B") & (summary["PARAMCD"] == "CHMFRED")].empty
    assert _value(summary, "C", "CHMRDFL", "AVALC") is None
    assert "CHMNINT" not in set(summary["PARAMCD"])


def test_continuous_drug_daily_dose_interruptions_and_intensity():
    recs = derive_dose_records(EX, ADSL, PILL)
    assert recs["DOSEA"].tolist() == [800, 400]            # BID x 400, QD x 400 (per day)
    assert recs["DOSEU"].tolist() == ["mg/day", "mg/day"]
    assert recs["DOSCUMA"].tolist() == [8000, 12000]
    assert recs["DOSCUMP"].tolist() == [8000, 16000]
    assert recs["CRIT1FL"].tolist() == ["N", "Y"]
    summary = derive_exposure_summary(recs, PILL)
    assert _value(summary, "A", "PILDURD") == 24
    assert _value(summary, "A", "PILNINT") == 1
    assert _value(summary, "A", "PILRDI") == pytest.approx(100 * (12000 / 24 * 7) / 5600)


def test_unknown_frequency_and_missing_columns_are_clear_errors():
    bad = EX.copy()
    bad.loc[bad["EXSEQ"] == 5, "EXDOSFRQ"] = "Q5H"
    with pytest.raises(InputError, match="EXDOSFRQ 'Q5H'.*frequency_per_day"):
        derive_dose_records(bad, ADSL, PILL)
    assert derive_dose_records(bad, ADSL, PILL, frequency_per_day={"Q5H": 4.8})["DOSEA"].iloc[0] \
        == pytest.approx(400 * 4.8)
    with pytest.raises(InputError, match="derive_dose_records needs EXDOSE in EX"):
        derive_dose_records(EX.drop(columns="EXDOSE"), ADSL, PILL)


def test_build_from_adam_yaml_and_adsl_variables_from_adex():
    config = config_from_dict({"adex": {
        "treatments": [
            {"extrt": "CHEMO", "code": "CHM", "label": "Chemo", "cycle_days": 21,
             "planned_dose": {"by": "ARMCD", "values": {"HIGH": 1000, "LOW": 850}}},
            {"extrt": "PILL", "code": "PIL", "label": "Pill", "planned_dose": 800}],
        "adsl": {"CHMRDFL": {"paramcd": "CHMRDFL", "label": "Chemo Reduced"},
                 "CHMRDI": "CHMRDI"}}})
    adex = build_adex(EX, ADSL, config.adex)
    assert adex.attrs["name"] == "ADEX"
    assert adex.groupby("USUBJID")["ASEQ"].apply(lambda s: s.tolist() == list(
        range(1, len(s) + 1))).all()
    cycle2 = adex[(adex["USUBJID"] == "A") & (adex["PARAMCD"] == "CHMDOSE")
                  & (adex["AVISITN"] == 2)]
    assert cycle2["ASTDY"].iloc[0] == 22 and cycle2["TRTA"].iloc[0] == "X"
    adsl = derive_adsl_from_adex(ADSL, adex, config.adex.to_adsl)
    assert adsl["CHMRDFL"].tolist() == ["Y", "N", None]
    assert adsl["CHMRDI"].tolist()[:2] == pytest.approx([85.0, 100.0])
    assert adsl.attrs["labels"]["CHMRDFL"] == "Chemo Reduced"


def test_config_errors_name_the_key():
    with pytest.raises(SpecError, match="code"):
        config_from_dict({"adex": {"treatments": [{"extrt": "X", "code": "TOOLONG"}]}})
    with pytest.raises(SpecError, match="unique"):
        config_from_dict({"adex": {"treatments": [{"extrt": "X", "code": "A"},
                                                  {"extrt": "Y", "code": "A"}]}})
    with pytest.raises(SpecError, match="planned_dose"):
        config_from_dict({"adex": {"treatments": [{"extrt": "X", "code": "A",
                                                   "planned_dose": {"by": "ARMCD"}}]}})
