"""Unit tests of the ADaM derivations on tiny hand-checked tables.

Every table is small enough to check by hand; dates are given as days after the start date
(2020-01-01, day 0) so that the 42-day SD window and the 28-day confirmation window are
visible in the test itself.
"""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.adam.adrs import (
    build_adrs,
    derive_anl01fl,
    derive_anl02fl,
    derive_param_best_crpr,
    derive_param_bor,
    derive_param_clinbenefit,
    derive_param_confirmed_bor,
    derive_param_dcr,
    derive_param_death,
    derive_param_first_pd,
    derive_param_last_assessment,
    derive_param_response,
    flag_confirmed_responses,
    parameter_labels,
    select_visit_responses,
    visit_responses_from_rs,
)
from cdisc_convert.adam.adsl import (
    build_adsl,
    derive_sponsor_variables,
    derive_var_agegr1,
    derive_var_dthcaus,
    derive_var_ittfl,
    derive_var_lstalvdt,
    derive_var_randdt,
    derive_var_saffl,
    derive_var_trtdurd,
    derive_vars_death,
    derive_vars_disposition,
    derive_vars_dm,
    derive_vars_treatment,
)
from cdisc_convert.adam.adtte import (
    build_adtte,
    derive_param_tte,
    lastalive_censor,
    start_censor,
)
from cdisc_convert.adam.config import (
    AdamConfig,
    DateSource,
    ResponseCriterion,
    SponsorVariable,
    ValueSource,
    apply_where,
    config_from_dict,
    load_adam_config,
)
from cdisc_convert.adam.imputation import (
    convert_dtc_to_dt,
    derive_vars_dt,
    derive_vars_dtm,
    derive_vars_dtm_to_dt,
    impute_dtc_dt,
    parse_dtc,
)
from cdisc_convert.core.errors import InputError, SpecError

START = pd.Timestamp("2020-01-01")
SETV = {"PARAMCD": "X"}


def with_choi_and_dcr() -> AdamConfig:
    """RECIST 1.1 + Choi and the 18-week DCR, declared as a study does (both are opt-in)."""
    return config_from_dict({
        "response": {"criteria": [
            {"name": "RECIST 1.1", "rscat": "RECIST 1.1", "paramcd_suffix": ""},
            {"name": "CHOI", "rscat": "CHOI GIST 2008", "paramcd_suffix": "CHOI"}]},
        "dcr": {"landmark_days": 126, "window_days": 7, "criterion": "RECIST 1.1"}})


def day(n: int | None) -> pd.Timestamp:
    return pd.NaT if n is None else START + pd.Timedelta(days=n)


def ts(text: str | None):
    return pd.NaT if text is None else pd.Timestamp(text)


def adsl_of(*subjects: str, dth: dict | None = None, start=START, **cols) -> pd.DataFrame:
    frame = pd.DataFrame({"STUDYID": "S1", "USUBJID": list(subjects)})
    frame["TRTSDT"] = start
    frame["DTHDT"] = pd.Series([day((dth or {}).get(s)) for s in subjects], dtype="datetime64[ns]")
    for key, values in cols.items():
        frame[key] = values
    return frame


def ovr_of(spec: dict[str, list[tuple[int, str]]], start=START) -> pd.DataFrame:
    """Assessments: {subject: [(day, response), ...]} as an ANL01FL/ANL02FL frame."""
    rows = []
    seq = 0
    for subject, items in spec.items():
        for d, resp in items:
            seq += 1
            rows.append({"USUBJID": subject, "ADT": day(d), "AVALC": resp, "TRTSDT": start,
                         "VISIT": f"DAY {d}", "VISITNUM": float(d), "SRCDOM": "RS",
                         "SRCSEQ": float(seq), "ANL01FL": "Y", "ANL02FL": "Y"})
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["USUBJID", "ADT", "AVALC", "TRTSDT", "VISIT", "VISITNUM",
                                      "SRCDOM", "SRCSEQ", "ANL01FL", "ANL02FL"])
        frame["ADT"] = frame["ADT"].astype("datetime64[ns]")
        frame["TRTSDT"] = frame["TRTSDT"].astype("datetime64[ns]")
    return frame


def one(records: pd.DataFrame, subject: str = "A") -> pd.Series:
    row = records[records["USUBJID"] == subject]
    assert len(row) == 1
    return row.iloc[0]


def resp(records: pd.DataFrame, subject: str = "A") -> tuple:
    row = one(records, subject)
    adt = row["ADT"]
    return row["AVALC"], (None if pd.isna(adt) else int((adt - START).days))


# =========================================================================================
# imputation
# =========================================================================================

class TestImputation:
    DTC = pd.Series(["2019-02", "2019", "2019---15", "2019-02-03T10:05", "2019-02-03", None,
                     "not a date", "2019-02-30", "2020-02"])

    def _dt(self, **kw):
        date, flag = impute_dtc_dt(self.DTC, **kw)
        return [None if pd.isna(d) else d.strftime("%Y-%m-%d") for d in date], list(flag)

    def test_no_imputation_keeps_complete_dates_only(self):
        dates, flags = self._dt(highest_imputation="n")
        assert dates == [None, None, None, "2019-02-03", "2019-02-03", None, None, None, None]
        assert flags == [None] * 9

    def test_day_imputed_last(self):
        dates, flags = self._dt(highest_imputation="D", date_imputation="last")
        assert dates[0] == "2019-02-28" and flags[0] == "D"
        assert dates[8] == "2020-02-29" and flags[8] == "D"  # leap year
        assert dates[1] is None  # month missing: above the highest imputation level

    def test_month_imputed_first_mid_last(self):
        first, ff = self._dt(highest_imputation="M", date_imputation="first")
        mid, _ = self._dt(highest_imputation="M", date_imputation="mid")
        last, _ = self._dt(highest_imputation="M", date_imputation="last")
        assert (first[1], ff[1]) == ("2019-01-01", "M")
        assert (mid[0], mid[1]) == ("2019-02-15", "2019-06-30")
        assert (last[0], last[1]) == ("2019-02-28", "2019-12-31")
        # without preserve, a known day after a missing month is ignored (admiral default)
        assert (first[2], ff[2]) == ("2019-01-01", "M")

    def test_preserve_keeps_known_day(self):
        date, flag = impute_dtc_dt(pd.Series(["2019---15"]), highest_imputation="M",
                                   preserve=True)
        assert date.iloc[0] == pd.Timestamp("2019-01-15") and flag.iloc[0] == "M"

    def test_explicit_month_day_is_clipped(self):
        date, _ = impute_dtc_dt(pd.Series(["2019-02", "2019"]), highest_imputation="M",
                                date_imputation="06-31")
        assert list(date) == [pd.Timestamp("2019-02-28"), pd.Timestamp("2019-06-30")]

    def test_invalid_text_and_invalid_dates_are_missing(self):
        dates, flags = self._dt(highest_imputation="M")
        assert dates[6] is None and dates[7] is None and flags[6] is None

    def test_min_dates_within_range_and_year_imputation(self):
        frame = pd.DataFrame({"DTC": ["2019-02", "2019-02", None, "2019-03-05"],
                              "TRTSDT": pd.to_datetime(["2019-02-11", "2019-03-11",
                                                        "2019-04-01", "2019-03-11"])})
        out = derive_vars_dt(frame, "AST", "DTC", highest_imputation="M", min_dates=["TRTSDT"])
        # 2019-02 may be 2019-02-11 (in range); 2019-03-11 is not a possible date for 2019-02
        assert list(out["ASTDT"]) == [ts("2019-02-11"), ts("2019-02-01"), pd.NaT, ts("2019-03-05")]
        out = derive_vars_dt(frame, "AST", "DTC", highest_imputation="Y", min_dates=["TRTSDT"])
        assert out["ASTDT"].iloc[2] == ts("2019-04-01") and out["ASTDTF"].iloc[2] == "Y"

    def test_derive_vars_dtm_time_flags(self):
        frame = pd.DataFrame({"X": ["2014-01-02", "2014-01-02T10:05", "2014-01-02T10:05:07",
                                    "2014-01", None]})
        out = derive_vars_dtm(frame, "TRTS", "X")
        assert list(out["TRTSDTM"][:3]) == [ts("2014-01-02 00:00:00"), ts("2014-01-02 10:05:00"),
                                            ts("2014-01-02 10:05:07")]
        assert list(out["TRTSTMF"]) == ["H", "S", None, None, None]
        assert pd.isna(out["TRTSDTM"].iloc[3])  # default "h": the date must be complete
        assert "TRTSDTF" not in out.columns
        out = derive_vars_dtm(frame, "TRTE", "X", time_imputation="last")
        assert out["TRTEDTM"].iloc[0] == ts("2014-01-02 23:59:59")
        out = derive_vars_dtm(frame, "A", "X", highest_imputation="M", time_imputation="last")
        assert out["ADTM"].iloc[3] == ts("2014-01-01 23:59:59")
        assert (out["ADTF"].iloc[3], out["ATMF"].iloc[3]) == ("D", "H")
        out = derive_vars_dtm(frame, "A", "X", ignore_seconds_flag=True)
        assert out["ATMF"].iloc[1] is None

    def test_dtm_to_dt_and_convert(self):
        frame = pd.DataFrame({"ADTM": pd.to_datetime(["2020-05-06 13:00"])})
        assert derive_vars_dtm_to_dt(frame, ["ADTM"])["ADT"].iloc[0] == ts("2020-05-06")
        assert convert_dtc_to_dt(pd.Series(["2020-05"]), highest_imputation="M").iloc[0] == \
            ts("2020-05-01")

    def test_parse_dtc_components(self):
        parts = parse_dtc(pd.Series(["2019-02-03T04:05:06", "2019---01", "x"]))
        assert list(parts.iloc[0, :6]) == [2019, 2, 3, 4, 5, 6]
        assert np.isnan(parts.loc[1, "M"]) and parts.loc[1, "D"] == 1
        assert list(parts["invalid"]) == [False, False, True]

    def test_missing_column_gives_missing_date(self):
        out = derive_vars_dt(pd.DataFrame({"A": [1]}), "DTH", "DTHDTC")
        assert pd.isna(out["DTHDT"].iloc[0]) and out["DTHDTF"].iloc[0] is None


# =========================================================================================
# config
# =========================================================================================

class TestConfig:
    def test_defaults(self):
        cfg = load_adam_config(None)
        assert cfg.start_date == "TRTSDT" and cfg.sd_min_days == 42
        assert cfg.confirmation_min_days == 28 and cfg.max_ne_between == 1
        assert cfg.accept_sd_for_unconfirmed is True and cfg.use_after_pd is False
        assert [c.name for c in cfg.response.criteria] == ["RECIST 1.1"]  # Choi is opt-in
        assert cfg.dcr is None  # the landmark DCR is opt-in
        study = with_choi_and_dcr()
        assert study.response.criteria[1].paramcd_suffix == "CHOI"
        assert (study.dcr.landmark_days, study.dcr.window_days) == (126, 7)
        assert cfg.imputation("ADT").date_imputation == "last"
        assert cfg.start_label == "Treatment Start"

    def test_unknown_key_names_file_and_key(self, tmp_path):
        path = tmp_path / "adam.yaml"
        path.write_text("sd_min_day: 42\n")
        with pytest.raises(SpecError) as err:
            load_adam_config(path)
        assert "sd_min_day" in str(err.value) and str(path) in str(err.value)

    def test_unknown_nested_key(self, tmp_path):
        path = tmp_path / "adam.yaml"
        path.write_text(textwrap.dedent("""
            response:
              criteria:
                - {name: RECIST 1.1, rscat: RECIST 1.1, paramcd_sufix: ""}
        """))
        with pytest.raises(SpecError) as err:
            load_adam_config(tmp_path)  # a folder means <folder>/adam.yaml
        assert "response.criteria[0].paramcd_sufix" in str(err.value)

    def test_bad_values(self):
        with pytest.raises(SpecError):
            config_from_dict({"sd_min_days": -1})
        with pytest.raises(SpecError):
            config_from_dict({"response": {"source": "xx"}})
        with pytest.raises(SpecError):
            config_from_dict({"sponsor_variables": {"X": {"type": "nope", "domain": "EX"}}})
        with pytest.raises(SpecError):
            config_from_dict({"agegr1": {"cuts": [18], "labels": ["a"]}})
        with pytest.raises(SpecError) as err:
            config_from_dict({"dcr": {"criterion": "RECIST1.1"}}, file="x/adam.yaml")
        assert "dcr.criterion" in str(err.value) and "x/adam.yaml" in str(err.value)
        with pytest.raises(SpecError):
            config_from_dict({"response": {"criteria": []}})

    def test_response_rules_per_criterion(self):
        """Every ResponseRules field is settable per criterion; unknown keys, wrong types and
        values outside the choices are errors naming the key."""
        crit = {"name": "CHOI", "rscat": "CHOI GIST 2008", "paramcd_suffix": "CHOI",
                "rules": {"choi_pd_reference": "baseline", "baseline_window_days": 35,
                          "absent_states": ["absent", "GONE"], "recist_pd_abs_mm": 4,
                          "too_small_mm": None}}
        cfg = config_from_dict({"response": {"criteria": [crit], "rs_without_rscat": "CHOI"}})
        rules = cfg.response.criteria[0].response_rules(evaluator_filter={"TREVAL": "X"})
        assert rules.choi_pd_reference == "baseline" and rules.baseline_window_days == 35
        assert rules.absent_states == ("ABSENT", "GONE") and rules.recist_pd_abs_mm == 4
        assert rules.too_small_mm is None and rules.evaluator_filter == {"TREVAL": "X"}
        assert rules.pd_date == "latest"  # untouched default
        for bad, key in (({"choi_pd_refrence": "nadir"}, "choi_pd_refrence"),
                         ({"pd_date": "middle"}, "pd_date"),
                         ({"recist_pr_pct": "thirty"}, "recist_pr_pct"),
                         ({"absent_states": "ABSENT"}, "absent_states")):
            with pytest.raises(SpecError) as err:
                config_from_dict({"response": {"criteria": [dict(crit, rules=bad)],
                                               "rs_without_rscat": "CHOI"}},
                                 file="s/adam.yaml")
            assert f"rules.{key}" in str(err.value) and "s/adam.yaml" in str(err.value)

    def test_sponsor_variables_and_overrides(self):
        cfg = config_from_dict({
            "start_date": "RANDDT",
            "date_imputation": {"ADT": {"highest_imputation": "M", "date_imputation": "first"}},
            "sponsor_variables": {"HISTOL": {"type": "first", "domain": "MH",
                                             "where": "MHCAT == 'PRIMARY DIAGNOSIS'",
                                             "value": "MHDECOD", "label": "Histologic Subtype"}}})
        assert cfg.sponsor_variables["HISTOL"].name == "HISTOL"
        assert cfg.imputation("ADT").highest_imputation == "M"
        assert cfg.imputation("DTHDT").highest_imputation == "M"  # defaults kept
        assert cfg.start_label == "Randomization"

    def test_study_config_loads(self, repo):
        cfg = load_adam_config(repo / "mappings" / "cdiscpilot01" / "adam.yaml")
        assert cfg.start_date == "RANDDT"
        assert cfg.response.rs_without_rscat == "RECIST 1.1"

    def test_apply_where(self):
        frame = pd.DataFrame({"EXTRT": ["DACARBAZINE", "SORAFENIB"], "EXDOSE": [1000, 400]})
        assert len(apply_where(frame, "EXTRT == 'DACARBAZINE'")) == 1
        assert len(apply_where(frame, "contains(EXTRT, 'SORA') and EXDOSE > 100")) == 1
        assert len(apply_where(frame, None)) == 2
        with pytest.raises(SpecError) as err:
            apply_where(frame, "NOPE == 1", context="sponsor_variables.X")
        assert "sponsor_variables.X" in str(err.value)


# =========================================================================================
# ADSL
# =========================================================================================

def dm_of(**extra) -> pd.DataFrame:
    frame = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "DM", "USUBJID": ["A", "B", "C"], "SUBJID": ["1", "2", "3"],
        "SITEID": "01", "AGE": [17, 64, 65], "AGEU": "YEARS", "SEX": ["F", "M", "F"],
        "ARM": ["Drug", "Placebo", "Screen Failure"], "ARMCD": ["DRUG", "PBO", "SCRNFAIL"],
        "ACTARM": ["Drug", "Placebo", "Screen Failure"], "ACTARMCD": ["DRUG", "PBO", "SCRNFAIL"],
        "RFXSTDTC": ["2020-01-01", "2020-01-02", None], "RFXENDTC": ["2020-02-01", None, None],
        "DTHDTC": [None, "2020-05", None], "DTHFL": [None, "Y", None]})
    for key, value in extra.items():
        frame[key] = value
    return frame


EX = pd.DataFrame({
    "USUBJID": ["A", "A", "A", "B", "B"],
    "EXSEQ": [1, 2, 3, 1, 2],
    "EXTRT": ["DRUG", "DRUG", "DRUG", "PLACEBO", "PLACEBO"],
    "EXDOSE": [0, 100, 50, 0, 0],
    "EXSTDTC": ["2019-12-30", "2020-01-01T08:30", "2020-01-22", "2020-01-02", "2020-01-23"],
    "EXENDTC": ["2019-12-30", "2020-01-21", "2020-02-11T18:00", "2020-01-22", "2020-02"],
})


class TestAdsl:
    def test_dm_vars(self):
        adsl = derive_vars_dm(dm_of())
        assert "DOMAIN" not in adsl.columns
        assert list(adsl["TRT01P"]) == ["Drug", "Placebo", "Screen Failure"]
        with pytest.raises(InputError):
            derive_vars_dm(pd.concat([dm_of(), dm_of()]))

    def test_treatment_dates_from_ex(self):
        adsl = derive_vars_treatment(derive_vars_dm(dm_of()), EX)
        a, b, c = (adsl.iloc[i] for i in range(3))
        # A: the zero dose of an active drug is not a valid dose
        assert a["TRTSDTM"] == ts("2020-01-01 08:30") and a["TRTSTMF"] == "S"
        assert a["TRTEDTM"] == ts("2020-02-11 18:00:59") and a["TRTETMF"] == "S"
        # B: placebo with dose 0 is valid; partial EXENDTC is not a date, the one before is
        assert b["TRTSDTM"] == ts("2020-01-02 00:00") and b["TRTSTMF"] == "H"
        assert b["TRTEDTM"] == ts("2020-01-22 23:59:59") and b["TRTETMF"] == "H"
        assert b["TRTSDT"] == ts("2020-01-02") and b["TRTEDT"] == ts("2020-01-22")
        assert pd.isna(c["TRTSDT"])
        assert list(derive_var_trtdurd(adsl)["TRTDURD"][:2]) == [42, 21]

    def test_treatment_dates_without_ex_use_dm(self):
        adsl = derive_vars_treatment(derive_vars_dm(dm_of()), None)
        assert list(adsl["TRTSDT"][:2]) == [ts("2020-01-01"), ts("2020-01-02")]
        assert adsl["TRTEDT"].iloc[0] == ts("2020-02-01") and pd.isna(adsl["TRTEDT"].iloc[1])

    def test_disposition_and_randdt(self):
        ds = pd.DataFrame({
            "USUBJID": ["A", "A", "B", "C"], "DSSEQ": [1, 2, 1, 1],
            "DSCAT": ["PROTOCOL MILESTONE", "DISPOSITION EVENT", "DISPOSITION EVENT",
                      "DISPOSITION EVENT"],
            "DSDECOD": ["RANDOMIZED", "ADVERSE EVENT", "COMPLETED", "SCREEN FAILURE"],
            "DSSTDTC": ["2019-12-31", "2020-03-01", "2020-06-01", "2019-12-01"]})
        dm = dm_of(USUBJID=["A", "B", "C"])
        adsl = derive_vars_dm(pd.concat([dm, dm.iloc[[0]].assign(USUBJID="D")]))
        adsl = derive_vars_disposition(adsl, ds)
        assert list(adsl["EOSSTT"]) == ["DISCONTINUED", "COMPLETED", None, "ONGOING"]
        assert list(adsl["DCSREAS"]) == ["ADVERSE EVENT", None, None, None]
        assert list(adsl["EOSDT"]) == [ts("2020-03-01"), ts("2020-06-01"), pd.NaT, pd.NaT]
        adsl = derive_var_randdt(adsl, ds)
        assert adsl["RANDDT"].iloc[0] == ts("2019-12-31") and adsl["RANDDT"].isna().sum() == 3

    def test_death(self):
        adsl = derive_vars_death(derive_vars_dm(dm_of()))
        assert adsl["DTHDT"].iloc[1] == ts("2020-05-01") and adsl["DTHDTF"].iloc[1] == "D"
        assert list(adsl["DTHFL"]) == [None, "Y", None]
        ae = pd.DataFrame({"USUBJID": ["B"], "AESEQ": [1], "AEOUT": ["FATAL"],
                           "AEDECOD": ["SEPSIS"]})
        ds = pd.DataFrame({"USUBJID": ["B"], "DSSEQ": [1], "DSDECOD": ["DEATH"],
                           "DSTERM": ["DEATH DUE TO X"]})
        srcs = [ValueSource("AE", "AEDECOD", where="AEOUT == 'FATAL'"),
                ValueSource("DS", "DSTERM", where="DSDECOD == 'DEATH'")]
        out = derive_var_dthcaus(adsl, {"AE": ae, "DS": ds}, srcs)
        assert out["DTHCAUS"].iloc[1] == "SEPSIS"  # first source wins
        out = derive_var_dthcaus(adsl, {"DS": ds}, srcs)
        assert out["DTHCAUS"].iloc[1] == "DEATH DUE TO X"

    def test_lstalvdt_latest_of_sources(self):
        adsl = derive_vars_treatment(derive_vars_dm(dm_of()), EX)
        ae = pd.DataFrame({"USUBJID": ["A", "A", "C"], "AESTDTC": ["2020-03", "2020-01-05", None],
                           "AEENDTC": [None, "2020-02-20", "2019-12-20"]})
        ds = pd.DataFrame({"USUBJID": ["B", "B"], "DSDECOD": ["FINAL LAB VISIT", "OTHER"],
                           "DSSTDTC": ["2020-03-03", "2020-09-09"]})
        sources = [DateSource("AE", "AESTDTC", highest_imputation="M"),
                   DateSource("AE", "AEENDTC", highest_imputation="M"),
                   DateSource("LB", "LBDTC"),  # not provided: skipped
                   DateSource("DS", "DSSTDTC", where="DSDECOD == 'FINAL LAB VISIT'"),
                   DateSource("ADSL", "TRTEDT")]
        out = derive_var_lstalvdt(adsl, {"AE": ae, "DS": ds}, sources)
        # A: AE start 2020-03 imputed to 2020-03-01 beats TRTEDT 2020-02-11
        assert list(out["LSTALVDT"]) == [ts("2020-03-01"), ts("2020-03-03"), ts("2019-12-20")]

    def test_agegr1_populations(self):
        adsl = derive_vars_treatment(derive_vars_dm(dm_of()), EX)
        adsl.loc[2, "AGE"] = np.nan
        out = derive_var_agegr1(adsl, cuts=[18, 65], labels=["<18", "18-64", ">64"])
        assert list(out["AGEGR1"]) == ["<18", "18-64", None]
        out = derive_var_agegr1(derive_vars_dm(dm_of()))
        assert list(out["AGEGR1"]) == ["<18", "18-64", ">64"]
        out = derive_var_ittfl(derive_var_saffl(adsl))
        assert list(out["SAFFL"]) == ["Y", "Y", "N"]
        assert list(out["ITTFL"]) == ["Y", "Y", "N"]

    def test_sponsor_variables(self):
        adsl = derive_vars_dm(dm_of())
        ex = pd.DataFrame({"USUBJID": ["A", "A", "A", "B", "B"], "EXSEQ": [1, 2, 3, 1, 2],
                           "EXTRT": ["DACARBAZINE", "DACARBAZINE", "SORAFENIB", "DACARBAZINE",
                                     "DACARBAZINE"],
                           "EXDOSE": [1000, 750, 400, 1000, 1000],
                           "EXSTDTC": ["2020-01-22", "2020-01-01", "2020-01-01", "2020-01-01",
                                       "2020-01-22"]})
        mh = pd.DataFrame({"USUBJID": ["A", "A", "B"], "MHSEQ": [1, 2, 1],
                           "MHCAT": ["OTHER", "PRIMARY DIAGNOSIS", "PRIMARY DIAGNOSIS"],
                           "MHDECOD": ["HYPERTENSION", "LEIOMYOSARCOMA", "LIPOSARCOMA"]})
        supp = pd.DataFrame({"USUBJID": ["A"], "QNAM": ["ECOGBL"], "QVAL": ["1"]})
        specs = {
            "HISTOL": SponsorVariable("HISTOL", "first", "MH", "MHCAT == 'PRIMARY DIAGNOSIS'",
                                      "MHDECOD", label="Histologic Subtype"),
            "DTICSDOS": SponsorVariable("DTICSDOS", "first", "EX", "EXTRT == 'DACARBAZINE'",
                                        "EXDOSE", order="EXSTDTC"),
            "DTICRDFL": SponsorVariable("DTICRDFL", "dose_reduced", "EX",
                                        "EXTRT == 'DACARBAZINE'"),
            "SORAFL": SponsorVariable("SORAFL", "exists", "EX", "EXTRT == 'SORAFENIB'"),
            "ECOGBL": SponsorVariable("ECOGBL", "supp", "DM", qnam="ECOGBL"),
            "DTICFDT": SponsorVariable("DTICFDT", "min_date", "EX", "EXTRT == 'DACARBAZINE'",
                                       "EXSTDTC"),
            "NDTIC": SponsorVariable("NDTIC", "count", "EX", "EXTRT == 'DACARBAZINE'"),
        }
        out = derive_sponsor_variables(adsl, {"EX": ex, "MH": mh, "SUPPDM": supp}, specs)
        assert list(out["HISTOL"]) == ["LEIOMYOSARCOMA", "LIPOSARCOMA", None]
        assert list(out["DTICSDOS"][:2]) == [750, 1000]  # ordered by EXSTDTC, not EXSEQ
        # A: first (by date) 750 then 1000 -> not reduced; B: 1000, 1000 -> N; C: no record
        assert list(out["DTICRDFL"]) == ["N", "N", None]
        assert list(out["SORAFL"]) == ["Y", "N", "N"]
        assert out["ECOGBL"].iloc[0] == "1" and pd.isna(out["ECOGBL"].iloc[1])
        assert out["DTICFDT"].iloc[0] == ts("2020-01-01")
        assert list(out["NDTIC"]) == [2, 2, 0]
        assert out.attrs["labels"]["HISTOL"] == "Histologic Subtype"
        ex2 = ex.assign(EXDOSE=[1000, 1000, 400, 1000, 600])
        out = derive_sponsor_variables(adsl, {"EX": ex2}, {"R": specs["DTICRDFL"]})
        assert list(out["R"]) == ["N", "Y", None]

    def test_build_adsl(self):
        ds = pd.DataFrame({"USUBJID": ["A"], "DSSEQ": [1], "DSCAT": ["PROTOCOL MILESTONE"],
                           "DSDECOD": ["RANDOMIZED"], "DSSTDTC": ["2019-12-31"]})
        adsl = build_adsl({"dm": dm_of(), "EX": EX, "DS": ds}, AdamConfig())
        assert list(adsl["USUBJID"]) == ["A", "B", "C"]
        assert list(adsl.columns[:4]) == ["STUDYID", "USUBJID", "SUBJID", "SITEID"]
        for col in ["TRTSDT", "TRTEDT", "TRTDURD", "SAFFL", "ITTFL", "RANDDT", "DTHDT",
                    "LSTALVDT", "EOSSTT", "AGEGR1", "TRT01A"]:
            assert col in adsl.columns
        assert adsl["EOSSTT"].iloc[0] == "ONGOING"
        assert adsl["LSTALVDT"].iloc[0] == ts("2020-02-11")  # TRTEDT, no AE
        with pytest.raises(InputError):
            build_adsl({"EX": EX})


# =========================================================================================
# ADRS: inputs and flags
# =========================================================================================

class TestAdrsInputs:
    def test_visit_responses_from_rs(self):
        rs = pd.DataFrame({
            "STUDYID": "S1", "USUBJID": ["A"] * 5 + ["Z"],
            "RSTESTCD": ["OVRLRESP", "OVRLRESP", "OVRLRESP", "TRGRESP", "OVRLRESP", "OVRLRESP"],
            "RSEVAL": ["INVESTIGATOR", "INDEPENDENT ASSESSOR", "Investigator", "INVESTIGATOR",
                       "INVESTIGATOR", "INVESTIGATOR"],
            "RSCAT": [None, None, "CHOI GIST 2008", None, "IRECIST", None],
            "RSSTRESC": ["sd ", "PR", "PR", "SD", "SD", "CR"],
            "RSDTC": ["2020-02", "2020-02-01", "2020-02-03", "2020-02-03", "2020-02-03",
                      "2020-02-03"],
            "VISIT": "WEEK 6", "VISITNUM": 3, "RSSEQ": [1, 2, 3, 4, 5, 6]})
        adsl = adsl_of("A")
        out = visit_responses_from_rs(rs, adsl, with_choi_and_dcr())
        assert list(out["SRCSEQ"]) == [1, 3]  # other evaluator, test, RSCAT, subject dropped
        assert list(out["CRIT"]) == ["RECIST 1.1", "CHOI"]
        assert list(out["AVALC"]) == ["SD", "PR"]
        assert out["ADT"].iloc[0] == ts("2020-02-29") and out["ADTF"].iloc[0] == "D"
        assert out["ADTF"].iloc[1] is None and set(out["SRCDOM"]) == {"RS"}

    def test_select_visit_responses_rs_and_missing_source(self):
        rs = pd.DataFrame({"USUBJID": ["A"], "RSTESTCD": ["OVRLRESP"], "RSEVAL": ["INVESTIGATOR"],
                           "RSSTRESC": ["CR"], "RSDTC": ["2020-03-01"], "RSSEQ": [1]})
        out = select_visit_responses({"RS": rs}, adsl_of("A"), AdamConfig())
        assert list(out["AVALC"]) == ["CR"]
        empty = select_visit_responses({}, adsl_of("A"), AdamConfig())
        assert len(empty) == 0 and "CRIT" in empty.columns

    def test_visit_responses_from_tr_adapter(self, monkeypatch):
        from cdisc_convert.adam import adrs as adrs_module
        from cdisc_convert.adam import tumor_response

        calls = []
        preparations = []

        def prepare(tu, tr, rules, treatment_start=None):
            preparations.append(object())
            return preparations[-1]

        def fake(tu, tr, criterion, rules=None, *, treatment_start=None, prepared=None):
            assert prepared is preparations[-1]  # both criteria share the one preparation
            calls.append((criterion, dict(rules.evaluator_filter or {}),
                          treatment_start.to_dict()))
            if criterion == "CHOI":
                raise SpecError("no Choi here")
            return pd.DataFrame({"USUBJID": ["A", "A", "A"], "CRIT": "RECIST 1.1",
                                 "VISITNUM": [1.0, 2.0, 3.0], "VISIT": ["BL", "W6", "W12"],
                                 "ADT": [day(-3), day(42), day(84)], "ADTF": ["", "", "D"],
                                 "ABLFL": ["Y", "", ""], "AVALC": ["", "PR", "PR"]})

        monkeypatch.setattr(tumor_response, "compute_visit_responses", fake)
        monkeypatch.setattr(tumor_response, "prepare_lesions", prepare)
        tr = pd.DataFrame({"USUBJID": ["A"], "TREVAL": ["INVESTIGATOR"]})
        out = adrs_module.visit_responses_from_tr(pd.DataFrame(), tr, adsl_of("A"),
                                                  with_choi_and_dcr())
        assert [c[0] for c in calls] == ["RECIST 1.1", "CHOI"] and len(preparations) == 1
        assert calls[0][1] == {"TREVAL": "INVESTIGATOR"} and calls[0][2] == {"A": START}
        assert list(out["AVALC"]) == ["PR", "PR"]  # baseline dropped
        assert list(out["ADTF"]) == [None, "D"] and set(out["SRCDOM"]) == {"TR"}
        assert set(out["CRIT"]) == {"RECIST 1.1"} and out["SRCSEQ"].isna().all()
        cfg = AdamConfig()
        cfg.response.source = "tr"
        rs = pd.DataFrame({"USUBJID": ["A"], "RSTESTCD": ["OVRLRESP"], "RSEVAL": ["INVESTIGATOR"],
                           "RSSTRESC": ["CR"], "RSDTC": ["2020-03-01"], "RSSEQ": [1]})
        out = select_visit_responses({"RS": rs, "TU": pd.DataFrame(), "TR": tr},
                                     adsl_of("A"), cfg)
        assert list(out["AVALC"]) == ["PR", "PR"]
        cfg.response.source = "auto"  # RS has overall responses: RS wins
        out = select_visit_responses({"RS": rs, "TU": pd.DataFrame(), "TR": tr},
                                     adsl_of("A"), cfg)
        assert list(out["AVALC"]) == ["CR"]

    def test_anl01fl_worst_per_date_on_or_after_start(self):
        frame = pd.DataFrame({
            "USUBJID": "A", "CRIT": "RECIST 1.1", "TRTSDT": START,
            "ADT": [day(-1), day(0), day(21), day(21), day(42), day(42), day(63)],
            "AVALC": ["PR", "SD", "NE", "PD", "CR", "CR", "ND"],
            "SRCSEQ": [1, 2, 3, 4, 5, 6, 7]})
        out = derive_anl01fl(frame, start="TRTSDT")
        # before start excluded; day 21: PD worse than NE; day 42: tie -> last SRCSEQ;
        # ND is not a valid response
        assert list(out["ANL01FL"]) == [None, "Y", None, "Y", None, "Y", None]
        out = derive_anl01fl(frame.assign(NACTDT=day(42)), start="TRTSDT", end="NACTDT")
        assert list(out["ANL01FL"]) == [None, "Y", None, "Y", None, None, None]

    def test_anl02fl_up_to_first_pd(self):
        frame = pd.DataFrame({
            "USUBJID": ["A"] * 4 + ["B"] * 2, "CRIT": "RECIST 1.1",
            "ADT": [day(21), day(42), day(63), day(84), day(21), day(42)],
            "AVALC": ["SD", "PD", "SD", "PD", "SD", "PR"], "ANL01FL": "Y"})
        frame.loc[2, "ANL01FL"] = "Y"
        out = derive_anl02fl(frame)
        assert list(out["ANL02FL"]) == ["Y", "Y", None, None, "Y", "Y"]


# =========================================================================================
# ADRS: parameters
# =========================================================================================

class TestBestOverallResponse:
    def test_sd_needs_42_days(self):
        ovr = ovr_of({"A": [(41, "SD")], "B": [(42, "SD")], "C": [(41, "NON-CR/NON-PD")],
                      "D": [(42, "NON-CR/NON-PD")]})
        bor = derive_param_bor(ovr, adsl_of("A", "B", "C", "D"), start="TRTSDT", set_values=SETV)
        assert [resp(bor, s) for s in "ABCD"] == [("NE", 41), ("SD", 42), ("NE", 41),
                                                  ("NON-CR/NON-PD", 42)]
        assert list(bor["AVAL"]) == [6, 3, 6, 4]

    def test_ranking_and_date_of_first_qualifying(self):
        ovr = ovr_of({"A": [(21, "SD"), (42, "SD"), (63, "PR"), (84, "PR"), (105, "PD")],
                      "B": [(21, "SD"), (42, "PD")], "C": [(21, "NE"), (42, "NE")],
                      "D": [(21, "PR"), (42, "CR")]})
        bor = derive_param_bor(ovr, adsl_of("A", "B", "C", "D"), start="TRTSDT", set_values=SETV)
        assert [resp(bor, s) for s in "ABCD"] == [("PR", 63), ("PD", 42), ("NE", 21), ("CR", 42)]
        assert one(bor, "A")["SRCSEQ"] == 3 and one(bor, "A")["VISIT"] == "DAY 63"

    def test_subject_without_assessments(self):
        ovr = ovr_of({"A": [(42, "PR")]})
        adsl = adsl_of("A", "B")
        bor = derive_param_bor(ovr, adsl, start="TRTSDT", set_values={"PARAMCD": "BOR"})
        assert resp(bor, "B") == ("MISSING", None) and one(bor, "B")["AVAL"] == 7
        cbor = derive_param_confirmed_bor(ovr, adsl, start="TRTSDT", set_values=SETV)
        assert resp(cbor, "B") == ("MISSING", None)
        for func in (derive_param_response, derive_param_first_pd):
            out = func(ovr, adsl, set_values=SETV)
            assert resp(out, "B") == ("N", None) and one(out, "B")["AVAL"] == 0
        cb = derive_param_clinbenefit(ovr, adsl, start="TRTSDT", set_values=SETV)
        assert resp(cb, "B") == ("N", None)
        lsta = derive_param_last_assessment(ovr, adsl, set_values=SETV)
        assert pd.isna(one(lsta, "B")["AVALC"]) and pd.isna(one(lsta, "B")["ADT"])
        dcr = derive_param_dcr(ovr, adsl, start="TRTSDT", set_values=SETV)
        assert resp(dcr, "B") == ("N", None)
        assert set(bor["ANL01FL"]) == {"Y"}

    def test_best_crpr(self):
        ovr = ovr_of({"A": [(42, "PR")], "B": [(42, "SD")]})
        bor = derive_param_bor(ovr, adsl_of("A", "B"), start="TRTSDT", set_values=SETV)
        bcp = derive_param_best_crpr(bor, set_values={"PARAMCD": "BCP"})
        assert resp(bcp, "A") == ("Y", 42) and resp(bcp, "B") == ("N", None)
        assert set(bcp["PARAMCD"]) == {"BCP"}


class TestConfirmation:
    def cbor(self, items, **kw):
        ovr = ovr_of({"A": items})
        return resp(derive_param_confirmed_bor(ovr, adsl_of("A"), start="TRTSDT",
                                               set_values=SETV, **kw))

    def crsp(self, items, **kw):
        ovr = ovr_of({"A": items})
        return resp(derive_param_response(ovr, adsl_of("A"), confirmed=True, set_values=SETV,
                                          **kw))

    def test_cr_confirmed_by_cr_at_28_days(self):
        assert self.cbor([(42, "CR"), (70, "CR")]) == ("CR", 42)     # 28 days: confirmed
        assert self.crsp([(42, "CR"), (70, "CR")]) == ("Y", 42)
        assert self.cbor([(42, "CR"), (69, "CR")]) == ("SD", 42)     # 27 days: unconfirmed
        assert self.crsp([(42, "CR"), (69, "CR")]) == ("N", None)

    def test_unconfirmed_pr_followed_by_pd(self):
        ovr = ovr_of({"A": [(42, "PR"), (70, "PD")], "B": [(21, "PR"), (49, "PD")],
                      "C": [(21, "PR")]})
        adsl = adsl_of("A", "B", "C")
        bor = derive_param_bor(ovr, adsl, start="TRTSDT", set_values=SETV)
        cbor = derive_param_confirmed_bor(ovr, adsl, start="TRTSDT", set_values=SETV)
        assert [resp(bor, s) for s in "ABC"] == [("PR", 42), ("PR", 21), ("PR", 21)]
        # PR on day 42 is SD-long enough; on day 21 it is not, so the later PD ranks higher
        # than NE; a lone early PR gives NE
        assert [resp(cbor, s) for s in "ABC"] == [("SD", 42), ("PD", 49), ("NE", 21)]
        cbor = derive_param_confirmed_bor(ovr, adsl, start="TRTSDT", set_values=SETV,
                                          accept_sd_for_unconfirmed=False)
        assert resp(cbor, "A") == ("PD", 70)

    def test_pr_confirmed_with_one_ne_not_two(self):
        one_ne = [(42, "PR"), (63, "NE"), (84, "PR")]
        two_ne = [(42, "PR"), (63, "NE"), (77, "NE"), (84, "PR")]
        assert self.cbor(one_ne) == ("PR", 42)
        assert self.cbor(two_ne) == ("SD", 42)
        assert self.crsp(two_ne) == ("N", None)
        assert self.cbor(two_ne, max_ne_between=2) == ("PR", 42)

    def test_pr_confirmed_by_later_cr(self):
        assert self.cbor([(21, "PR"), (49, "CR")]) == ("PR", 21)
        # the PR on day 21 is confirmed by the CR on day 49 (the first candidate); the PR after
        # that CR is outside the confirmation span
        assert self.cbor([(21, "PR"), (49, "CR"), (77, "PR")]) == ("PR", 21)

    def test_no_pr_after_cr_within_confirmation_span(self):
        # PR day 21, CR day 35 (<28 days), PR day 63 (the first candidate, >=28 days):
        # a PR follows a CR in the span -> not confirmed
        assert self.cbor([(21, "PR"), (35, "CR"), (63, "PR")]) == ("SD", 63)
        assert self.crsp([(21, "PR"), (35, "CR"), (63, "PR")]) == ("N", None)

    def test_cr_then_pr(self):
        ovr = ovr_of({"A": [(42, "CR"), (70, "PR")]})
        adsl = adsl_of("A")
        assert resp(derive_param_bor(ovr, adsl, start="TRTSDT", set_values=SETV)) == ("CR", 42)
        # CR not confirmed (a PR is not CR/NE), the PR has nothing after it: SD from day 42
        assert resp(derive_param_confirmed_bor(ovr, adsl, start="TRTSDT", set_values=SETV)) \
            == ("SD", 42)
        assert resp(derive_param_response(ovr, adsl, confirmed=True, set_values=SETV)) == \
            ("N", None)

    def test_non_target_only_unconfirmed_cr_is_non_cr_non_pd_never_sd(self):
        """RECIST Table 2 footnote: A (non-target disease only, declared) CR day 42 then
        NON-CR/NON-PD day 63: CBOR NON-CR/NON-PD from day 42, not SD. B (the same, not
        declared, but its NON-CR/NON-PD assessment shows it via nontarget_only_subjects).
        C (targets) keeps SD."""
        from cdisc_convert.adam.adrs import nontarget_only_subjects
        ovr = ovr_of({"A": [(42, "CR"), (63, "NON-CR/NON-PD")], "C": [(42, "CR"), (63, "SD")]})
        adsl = adsl_of("A", "C")
        cbor = derive_param_confirmed_bor(ovr, adsl, start="TRTSDT", set_values=SETV,
                                          nontarget_only={"A"})
        assert resp(cbor, "A") == ("NON-CR/NON-PD", 42) and resp(cbor, "C") == ("SD", 42)
        assert nontarget_only_subjects(ovr) == {"A"}
        bor = derive_param_bor(ovr, adsl, start="TRTSDT", set_values=SETV)
        assert resp(bor, "A") == ("CR", 42)
        with pytest.raises(InputError, match="nontarget_only_subjects.*AVALC"):
            nontarget_only_subjects(ovr.drop(columns="AVALC"))

    def test_sd_between_pr_and_confirmation(self):
        items = [(21, "PR"), (42, "SD"), (63, "PR")]
        assert self.cbor(items) == ("SD", 42)
        assert self.cbor(items, accept_sd_between=True) == ("PR", 21)

    def test_first_candidate_decides(self):
        # CR day 42, NE 56, NE 63, CR 70: two NEs before the first CR >= 28 days -> no
        assert self.cbor([(42, "CR"), (56, "NE"), (63, "NE"), (70, "CR")]) == ("SD", 42)
        # ... but the CR on day 70 is confirmed by the CR on day 100
        assert self.cbor([(42, "CR"), (56, "NE"), (63, "NE"), (70, "CR"), (100, "CR")]) == \
            ("CR", 70)

    def test_flags(self):
        ovr = ovr_of({"A": [(21, "PR"), (49, "PR"), (77, "CR"), (105, "CR")],
                      "B": [(21, "CR"), (49, "CR")]})
        out = flag_confirmed_responses(ovr)
        assert list(out["CONFPR"]) == [True, True, False, False, False, False]
        assert list(out["CONFCR"]) == [False, False, True, False, True, False]


class TestResponseAndBenefit:
    def test_rsp_first_cr_or_pr(self):
        ovr = ovr_of({"A": [(21, "SD"), (42, "PR"), (63, "CR")]})
        out = derive_param_response(ovr, adsl_of("A"), set_values=SETV)
        assert resp(out) == ("Y", 42) and one(out)["AVAL"] == 1

    def test_clinical_benefit(self):
        ovr = ovr_of({"A": [(42, "SD"), (63, "PR")], "B": [(41, "SD")], "C": [(21, "PR")],
                      "D": [(21, "SD"), (42, "NON-CR/NON-PD")], "E": [(21, "PR"), (42, "SD")]})
        adsl = adsl_of(*"ABCDE")
        cb = derive_param_clinbenefit(ovr, adsl, start="TRTSDT", set_values=SETV)
        assert [resp(cb, s) for s in "ABCDE"] == [("Y", 42), ("N", None), ("Y", 21), ("Y", 42),
                                                  ("Y", 21)]
        ccb = derive_param_clinbenefit(ovr, adsl, start="TRTSDT", confirmed=True, set_values=SETV)
        # unconfirmed early PR is no confirmed benefit; the later SD is
        assert [resp(ccb, s) for s in "ABCDE"] == [("Y", 42), ("N", None), ("N", None),
                                                   ("Y", 42), ("Y", 42)]

    def test_first_pd_and_last_assessment(self):
        ovr = ovr_of({"A": [(21, "SD"), (42, "PD"), (63, "SD")]})
        out = derive_param_first_pd(ovr, adsl_of("A"), set_values=SETV)
        assert resp(out) == ("Y", 42)
        lsta = derive_param_last_assessment(ovr, adsl_of("A"), set_values=SETV)
        assert resp(lsta) == ("SD", 63) and one(lsta)["AVAL"] == 3

    def test_death(self):
        out = derive_param_death(adsl_of("A", "B", dth={"B": 50}), set_values={"PARAMCD": "DEATH"})
        assert resp(out, "A") == ("N", None) and resp(out, "B") == ("Y", 50)
        assert one(out, "B")["SRCDOM"] == "ADSL"


class TestDiseaseControl:
    def dcr(self, spec, **kw):
        adsl = adsl_of(*spec, dth=kw.pop("dth", None))
        return derive_param_dcr(ovr_of(spec), adsl, start="TRTSDT", set_values=SETV, **kw)

    def test_landmark(self):
        out = self.dcr({"A": [(63, "SD"), (126, "SD")],   # landmark scan SD
                        "B": [(63, "SD"), (189, "SD")],   # landmark scan missed: next decides
                        "C": [(63, "PR"), (125, "PD")],   # PD at the landmark
                        "D": [(63, "SD"), (126, "NE")],   # NE at the landmark
                        "E": [(63, "SD"), (118, "SD")],   # last scan before the window
                        "F": [(119, "NON-CR/NON-PD")],    # first day of the window
                        "G": [(63, "SD"), (140, "SD")]},  # death before the landmark scan
                       dth={"G": 130})
        assert [resp(out, s) for s in "ABCDEFG"] == [
            ("Y", 126), ("Y", 189), ("N", None), ("N", None), ("N", None), ("Y", 119),
            ("N", None)]

    def test_window_parameters(self):
        out = self.dcr({"A": [(100, "SD")]}, landmark_days=100, window_days=0)
        assert resp(out) == ("Y", 100)
        out = self.dcr({"A": [(99, "SD")]}, landmark_days=100, window_days=0)
        assert resp(out) == ("N", None)


# =========================================================================================
# ADRS: the whole dataset
# =========================================================================================

def visits_of(spec: dict, crit: str = "RECIST 1.1") -> pd.DataFrame:
    frame = ovr_of(spec).drop(columns=["TRTSDT", "ANL01FL", "ANL02FL"])
    frame["CRIT"] = crit
    frame["ADTF"] = None
    return frame


class TestBuildAdrs:
    def test_parameters_labels_and_sequence(self):
        visits = pd.concat([visits_of({"A": [(21, "SD"), (42, "PR"), (70, "PR"), (91, "PD")]}),
                            visits_of({"A": [(42, "PR")]}, crit="CHOI")], ignore_index=True)
        adsl = adsl_of("A", "B", dth={"B": 10})
        adrs = build_adrs(visits, adsl, with_choi_and_dcr())
        codes = set(adrs["PARAMCD"])
        assert {"OVR", "BOR", "BCP", "CBOR", "CBCP", "RSP", "CRSP", "CB", "CCB", "DCR", "PD",
                "LSTA", "DEATH", "OVRCHOI", "BORCHOI", "RSPCHOI", "CBORCHOI"} <= codes
        assert "DCRCHOI" not in codes  # DCR only for the configured criterion
        a = adrs[adrs["USUBJID"] == "A"].set_index("PARAMCD")
        assert a.loc["BOR", "AVALC"] == "PR" and a.loc["CBOR", "AVALC"] == "PR"
        assert a.loc["BOR", "PARAM"] == \
            "Best Overall Response by Investigator (confirmation not required)"
        assert a.loc["BORCHOI", "PARAM"].endswith("(CHOI GIST 2008)")
        assert a.loc["BORCHOI", "PARCAT3"] == "CHOI GIST 2008"
        assert a.loc["PD", "AVALC"] == "Y" and a.loc["DEATH", "PARCAT1"] == "Reference Event"
        assert list(adrs.groupby("USUBJID")["ASEQ"].apply(list)["A"]) == \
            list(range(1, (adrs["USUBJID"] == "A").sum() + 1))
        ovr = adrs[(adrs["USUBJID"] == "A") & (adrs["PARAMCD"] == "OVR")]
        assert list(ovr["AVAL"]) == [3, 2, 2, 5] and list(ovr["ASEQ"]) == sorted(ovr["ASEQ"])
        b = adrs[adrs["USUBJID"] == "B"].set_index("PARAMCD")
        assert b.loc["BOR", "AVALC"] == "MISSING" and b.loc["DEATH", "AVALC"] == "Y"
        assert adrs["ADT"].dtype.kind == "M" and adrs["AVAL"].dtype.kind == "f"

    def test_criteria_without_data_are_skipped(self):
        adrs = build_adrs(visits_of({"A": [(42, "SD")]}), adsl_of("A"), with_choi_and_dcr())
        assert not any(c.endswith("CHOI") for c in adrs["PARAMCD"])

    def test_choi_and_dcr_are_opt_in(self):
        """Library defaults derive RECIST 1.1 only and no landmark DCR (study facts)."""
        cfg = AdamConfig()
        assert [c.name for c in cfg.response.criteria] == ["RECIST 1.1"] and cfg.dcr is None
        adrs = build_adrs(visits_of({"A": [(42, "SD"), (130, "SD")]}), adsl_of("A"), cfg)
        assert "DCR" not in set(adrs["PARAMCD"]) and "BOR" in set(adrs["PARAMCD"])
        assert "DCR" in set(build_adrs(visits_of({"A": [(130, "SD")]}), adsl_of("A"),
                                       with_choi_and_dcr())["PARAMCD"])

    def test_lsta_after_pd_and_use_after_pd(self):
        visits = visits_of({"A": [(21, "SD"), (42, "PD"), (63, "SD")]})
        adrs = build_adrs(visits, adsl_of("A"), AdamConfig()).set_index("PARAMCD")
        assert adrs.loc["BOR", "AVALC"] == "PD"
        assert adrs.loc["LSTA", "AVALC"] == "SD" and adrs.loc["LSTA", "ADT"] == day(63)
        ovr = adrs.loc["OVR"]
        assert list(ovr["ANL02FL"]) == ["Y", "Y", None]
        adrs = build_adrs(visits, adsl_of("A"), AdamConfig(use_after_pd=True)).set_index("PARAMCD")
        assert adrs.loc["BOR", "AVALC"] == "SD"

    def test_start_date_and_new_therapy(self):
        visits = visits_of({"A": [(-7, "PR"), (42, "SD"), (84, "PR")]})
        adsl = adsl_of("A", RANDDT=day(-14), NACTDT=day(60))
        cfg = AdamConfig(start_date="RANDDT")
        adrs = build_adrs(visits, adsl, cfg).set_index("PARAMCD")
        assert adrs.loc["RSP", "ADT"] == day(-7)  # on/after randomization counts
        cfg = AdamConfig(censor_at_new_therapy=True)
        adrs = build_adrs(visits, adsl, cfg).set_index("PARAMCD")
        assert adrs.loc["BOR", "AVALC"] == "SD" and adrs.loc["LSTA", "ADT"] == day(42)
        with pytest.raises(SpecError):
            build_adrs(visits, adsl_of("A"), AdamConfig(start_date="NOPE"))

    def test_parameter_subset_and_long_paramcd(self):
        cfg = AdamConfig()
        crit = ResponseCriterion("X", "X", "LONGXX", parameters=["BOR"])
        with pytest.raises(SpecError):
            parameter_labels(crit, cfg)
        crit = ResponseCriterion("X", "X", "X", parameters=["BOR", "RSP"])
        assert set(parameter_labels(crit, cfg)) == {"BOR", "RSP"}


# =========================================================================================
# ADTTE
# =========================================================================================

def adrs_for(spec: dict, adsl: pd.DataFrame) -> pd.DataFrame:
    return build_adrs(visits_of(spec), adsl, AdamConfig())


class TestAdtte:
    def tte(self, spec, adsl, config=None):
        out = build_adtte(adsl, adrs_for(spec, adsl), config or AdamConfig())
        return out.set_index(["USUBJID", "PARAMCD"])

    def test_pfs_death_before_any_assessment(self):
        adsl = adsl_of("A", dth={"A": 30}, LSTALVDT=[day(30)])
        out = self.tte({}, adsl).loc[("A", "PFS")]
        assert (out["CNSR"], out["AVAL"], out["EVNTDESC"]) == (0, 31, "Death")
        assert out["SRCDOM"] == "ADRS" and out["SRCVAR"] == "ADT"

    def test_pfs_censored_at_start_without_assessment(self):
        adsl = adsl_of("A", LSTALVDT=[day(200)])
        out = self.tte({}, adsl).loc[("A", "PFS")]
        assert (out["CNSR"], out["AVAL"], out["ADT"]) == (1, 1, START)
        assert out["EVNTDESC"] == "Treatment Start" and out["SRCVAR"] == "TRTSDT"

    def test_pfs_event_and_censoring(self):
        adsl = adsl_of("A", "B", "C", dth={"B": 30, "C": 300}, LSTALVDT=[day(400)] * 3)
        out = self.tte({"A": [(42, "SD"), (84, "PD")], "B": [(21, "SD"), (42, "PD")],
                        "C": [(42, "SD"), (84, "SD")]}, adsl)
        a, b, c = (out.loc[(s, "PFS")] for s in "ABC")
        assert (a["CNSR"], a["AVAL"], a["EVNTDESC"]) == (0, 85, "Disease Progression")
        assert (b["CNSR"], b["AVAL"], b["EVNTDESC"]) == (0, 31, "Death")  # earliest event
        # the death on day 300 is an event (admiralonco has no gap rule); it beats censoring
        assert (c["CNSR"], c["AVAL"]) == (0, 301)

    def test_pfs_censored_at_last_assessment(self):
        adsl = adsl_of("A", LSTALVDT=[day(400)])
        out = self.tte({"A": [(42, "SD"), (84, "PR")]}, adsl).loc[("A", "PFS")]
        assert (out["CNSR"], out["AVAL"], out["CNSDTDSC"]) == \
            (1, 85, "Last Adequate Tumor Assessment")
        admiral = config_from_dict({"pfs": {"censor_at": "last_assessment"}})
        out = self.tte({"A": [(42, "SD"), (84, "PR")]}, adsl, admiral).loc[("A", "PFS")]
        assert (out["CNSR"], out["AVAL"], out["CNSDTDSC"]) == (1, 85, "Last Tumor Assessment")


    def test_os(self):
        adsl = adsl_of("A", "B", "C", dth={"A": 99}, LSTALVDT=[day(99), day(150), day(-5)])
        out = self.tte({}, adsl)
        a, b, c = (out.loc[(s, "OS")] for s in "ABC")
        assert (a["CNSR"], a["AVAL"], a["EVNTDESC"], a["CNSDTDSC"]) == (0, 100, "Death", None)
        assert (b["CNSR"], b["AVAL"], b["EVNTDESC"]) == (1, 151, "Alive")
        assert b["CNSDTDSC"] == "Alive During Study" and b["SRCVAR"] == "LSTALVDT"
        # last alive before the start: censored at the start (the later censoring)
        assert (c["CNSR"], c["AVAL"], c["SRCVAR"]) == (1, 1, "TRTSDT")

    def test_duration_of_response(self):
        """A: PR day 42 unconfirmed (PD day 84): no RSD by default (from the first confirmed
        response), RSD from day 42 with dor_from=unconfirmed. D: PR day 21 unconfirmed (SD
        day 35), PR day 63 confirmed by PR day 91, PD day 126: RSD from day 63 by default
        (64 days), from day 21 with unconfirmed (106 days). C: CR confirmed, censored."""
        adsl = adsl_of("A", "B", "C", "D", LSTALVDT=[day(400)] * 4)
        spec = {"A": [(42, "PR"), (84, "PD")], "B": [(42, "SD")],
                "C": [(21, "CR"), (63, "CR")],
                "D": [(21, "PR"), (35, "SD"), (63, "PR"), (91, "PR"), (126, "PD")]}
        confirmed = self.tte(spec, adsl)
        assert ("A", "RSD") not in confirmed.index
        d = confirmed.loc[("D", "RSD")]
        assert (d["STARTDT"], d["CNSR"], d["AVAL"]) == (day(63), 0, 64)
        out = self.tte(spec, adsl, config_from_dict({"dor_from": "unconfirmed"}))
        assert out.loc[("D", "RSD"), "AVAL"] == 106
        a = out.loc[("A", "RSD")]
        assert (a["STARTDT"], a["CNSR"], a["AVAL"]) == (day(42), 0, 43)
        assert ("B", "RSD") not in out.index  # responders only
        c = out.loc[("C", "RSD")]
        assert (c["CNSR"], c["AVAL"], c["EVNTDESC"]) == (1, 43, "Last Tumor Assessment")

    def test_subjects_without_start_are_left_out(self):
        adsl = adsl_of("A", "B", LSTALVDT=[day(10), day(10)])
        adsl.loc[1, "TRTSDT"] = pd.NaT
        out = build_adtte(adsl, adrs_for({}, adsl), AdamConfig())
        assert set(out["USUBJID"]) == {"A"} and list(out["ASEQ"]) == [1, 2]

    def test_new_therapy_death_is_not_a_pfs_event(self):
        adsl = adsl_of("A", dth={"A": 200}, LSTALVDT=[day(200)], NACTDT=[day(100)])
        cfg = AdamConfig(censor_at_new_therapy=True)
        adrs = build_adrs(visits_of({"A": [(42, "SD"), (150, "PD")]}), adsl, cfg)
        out = build_adtte(adsl, adrs, cfg).set_index("PARAMCD")
        assert (out.loc["PFS", "CNSR"], out.loc["PFS", "AVAL"]) == (1, 43)
        assert (out.loc["OS", "CNSR"], out.loc["OS", "AVAL"]) == (0, 201)

    def test_derive_param_tte_rules(self):
        adsl = adsl_of("A", "B", LSTALVDT=[day(10), day(10)])
        ev1 = pd.DataFrame({"USUBJID": ["A", "A"], "ADT": [day(20), day(5)], "EVNTDESC": "E1",
                            "CNSDTDSC": None, "SRCDOM": "X", "SRCVAR": "ADT", "SRCSEQ": [1, 2]})
        ev2 = ev1.assign(EVNTDESC="E2", ADT=[day(5), day(50)])
        cens = start_censor(adsl, start="TRTSDT", label="Start")
        out = derive_param_tte(adsl, start="TRTSDT", events=[ev1, ev2],
                               censors=[lastalive_censor(adsl), cens],
                               set_values={"PARAMCD": "T"}).set_index("USUBJID")
        # A: earliest event on day 5, tie between sources -> first listed
        assert (out.loc["A", "EVNTDESC"], out.loc["A", "AVAL"], out.loc["A", "SRCSEQ"]) == \
            ("E1", 6, 2)
        assert (out.loc["B", "CNSR"], out.loc["B", "AVAL"]) == (1, 11)
        # a censoring date before the start is moved to the start
        early = lastalive_censor(adsl.assign(LSTALVDT=day(-3)))
        out = derive_param_tte(adsl, start="TRTSDT", events=[], censors=[early],
                               set_values={"PARAMCD": "T"})
        assert list(out["AVAL"]) == [1, 1] and list(out["ADT"]) == [START, START]


class TestPfsFda:
    """PFS by the FDA 2018 guidance's censoring table on a hand-made schedule: first dose day
    0, scans every 42 days, window 7: two missed scans = a gap over 2 x 42 + 7 = 91 days.
    Expected values worked out by hand (AVAL = days + 1)."""

    SPEC = {
        "A": [(42, "SD"), (84, "SD"), (126, "PD")],     # PD on schedule: event day 126
        "B": [(42, "SD"), (180, "PD")],                 # 84 and 126 missed: gap 138 > 91
        "C": [(42, "SD"), (84, "NE")],                  # NE is not an adequate assessment
        "D": [(42, "SD"), (84, "PD")],                  # new therapy day 60, before PD
        "F": [(42, "SD")],                              # death day 200: 158 days after 42
        "H": [(42, "SD"), (84, "SD")],                  # death day 110: 26 days after 84
    }
    SUBJECTS = ("A", "B", "C", "D", "E", "F", "G", "H")

    def adsl(self):
        return adsl_of(*self.SUBJECTS, dth={"E": 20, "F": 200, "H": 110},
                       LSTALVDT=[day(400)] * 8,
                       NACTDT=[pd.NaT, pd.NaT, pd.NaT, day(60), pd.NaT, pd.NaT, pd.NaT, pd.NaT])

    def pfs(self, **pfs):
        pfs = {"assessment_interval_days": 42, "window_days": 7,
               "new_therapy_date": "NACTDT", **pfs}
        adsl = self.adsl()
        out = build_adtte(adsl, adrs_for(self.SPEC, adsl), config_from_dict({"pfs": pfs}))
        return out.set_index(["USUBJID", "PARAMCD"])

    @staticmethod
    def row(out, subject, paramcd="PFS"):
        r = out.loc[(subject, paramcd)]
        return r["CNSR"], r["AVAL"], r["EVNTDESC"]

    def test_primary_rules(self):
        out = self.pfs()
        assert self.row(out, "A") == (0, 127, "Disease Progression")
        assert self.row(out, "B") == (1, 43, "Event After 2 or More Missed Assessments")
        assert self.row(out, "C") == (1, 43, "Last Adequate Tumor Assessment")
        assert self.row(out, "D") == (1, 43, "New Anticancer Therapy")
        assert self.row(out, "E") == (0, 21, "Death")        # death before any assessment
        assert self.row(out, "F") == (1, 43, "Event After 2 or More Missed Assessments")
        assert self.row(out, "G") == (1, 1, "Treatment Start")   # no assessment at all
        assert self.row(out, "H") == (0, 111, "Death")       # death between assessments
        assert out.loc[("C", "PFS"), "CNSDTDSC"] == "Last Adequate Tumor Assessment"
        assert pd.isna(out.loc[("A", "PFS"), "CNSDTDSC"])
        assert out["EVNTDESC"].notna().all()  # every record says what happened

    def test_ne_counts_with_last_assessment(self):
        out = self.pfs(censor_at="last_assessment")
        assert self.row(out, "C") == (1, 85, "Last Tumor Assessment")

    def test_late_death_window_alone(self):
        """Without the missed-assessment rule, the death of F 158 days after its last scan
        is censored by late_death_days 120; H (26 days) stays an event; B's late PD counts."""
        out = self.pfs(primary={"missed_assessments": False}, late_death_days=120)
        assert self.row(out, "F") == (1, 43, "Death Long After Last Adequate Assessment")
        assert self.row(out, "H") == (0, 111, "Death")
        assert self.row(out, "B") == (0, 181, "Disease Progression")

    def test_sensitivity_parameter_counts_all_events(self):
        out = self.pfs(sensitivity=[{"paramcd": "PFSALL", "param": "PFS Counting All Events",
                                     "missed_assessments": False, "new_therapy": False,
                                     "late_death": False}])
        assert self.row(out, "B", "PFSALL") == (0, 181, "Disease Progression")
        assert self.row(out, "D", "PFSALL") == (0, 85, "Disease Progression")
        assert self.row(out, "F", "PFSALL") == (0, 201, "Death")
        assert self.row(out, "B") == (1, 43, "Event After 2 or More Missed Assessments")
        assert out.loc[("B", "PFSALL"), "PARAM"] == "PFS Counting All Events"

    def test_bad_pfs_config(self):
        with pytest.raises(SpecError, match="pfs.censor_at"):
            config_from_dict({"pfs": {"censor_at": "whenever"}})
        with pytest.raises(SpecError, match="pfs.sensitivity"):
            config_from_dict({"pfs": {"sensitivity": [{"paramcd": "PFS"}]}})
        with pytest.raises(SpecError, match="pfs.assessment_interval_days"):
            config_from_dict({"pfs": {"assessment_interval_days": -6}})


    def test_method_text_states_each_rule(self):
        """define.xml's method of the primary and of a sensitivity PFS come from the config."""
        from cdisc_convert.adam.adtte import pfs_method_text
        cfg = config_from_dict({"pfs": {
            "assessment_interval_days": 42, "window_days": 7, "new_therapy_date": "NACTDT",
            "sensitivity": [{"paramcd": "PFSALL", "param": "PFS Counting All Events",
                             "missed_assessments": False, "new_therapy": False,
                             "late_death": False}]}})
        primary = pfs_method_text(cfg, "PFS")
        assert "2 x 42 + 7 = 91 days" in primary and "ADSL.NACTDT" in primary
        assert "other than NE" in primary
        sens = pfs_method_text(cfg, "PFSALL")
        assert sens.startswith("PFS Counting All Events") and "91 days" not in sens
        assert "NACTDT" not in sens and "(1) otherwise the earlier" in sens
        assert pfs_method_text(cfg, "OS") is None
        admiral = config_from_dict({"pfs": {"censor_at": "last_assessment"}})
        assert pfs_method_text(admiral, "PFS") is None  # described as admiralonco's


@pytest.mark.parametrize("name,call", [
    ("derive_param_bor", lambda f, a: adrs_module_fn("derive_param_bor")(
        f, a, start="TRTSDT", set_values=SETV)),
    ("derive_param_confirmed_bor", lambda f, a: adrs_module_fn("derive_param_confirmed_bor")(
        f, a, start="TRTSDT", set_values=SETV)),
    ("derive_param_response", lambda f, a: adrs_module_fn("derive_param_response")(
        f, a, set_values=SETV)),
    ("derive_param_first_pd", lambda f, a: adrs_module_fn("derive_param_first_pd")(
        f, a, set_values=SETV)),
    ("derive_anl01fl", lambda f, a: adrs_module_fn("derive_anl01fl")(f, start="TRTSDT")),
])
def test_derive_functions_name_a_missing_variable(name, call):
    """A missing input column is one clear error naming the function and the variable."""
    ovr = ovr_of({"A": [(42, "PR")]}).drop(columns="AVALC")
    with pytest.raises(InputError, match=f"{name}: input lacks required variable AVALC"):
        call(ovr, adsl_of("A"))


def adrs_module_fn(name):
    from cdisc_convert.adam import adrs as adrs_module
    return getattr(adrs_module, name)



def test_every_response_and_tte_paramcd_produced_has_a_method():
    """Each ADRS / ADTTE PARAMCD that the derivations produce - RECIST, modified Choi, DCR,
    iRECIST, primary and sensitivity PFS - has a define.xml method made from the same
    config."""
    from cdisc_convert.adam.irecist import compute_irecist_visits
    from cdisc_convert.adam.methods import AdamMethods
    from test_tumor_response import ld, lesion

    cfg = config_from_dict({
        "response": {"criteria": [
            {"name": "RECIST 1.1", "rscat": "RECIST 1.1", "paramcd_suffix": ""},
            {"name": "MODIFIED CHOI", "rscat": "MODIFIED CHOI", "paramcd_suffix": "MCH"}]},
        "dcr": {"landmark_days": 126, "window_days": 7, "criterion": "RECIST 1.1"},
        "irecist": {"confirm_min_days": 28},
        "pfs": {"assessment_interval_days": 42, "window_days": 7,
                "sensitivity": [{"paramcd": "PFSALL", "param": "PFS Counting All Events",
                                 "missed_assessments": False}]}})
    adsl = adsl_of("A", "B", dth={"B": 30}, LSTALVDT=[day(200), day(30)])
    visits = pd.concat([visits_of({"A": [(42, "PR"), (84, "PR"), (126, "PD")]}),
                        visits_of({"A": [(42, "PR")]}, crit="MODIFIED CHOI")],
                       ignore_index=True)
    tr = [ld("T01", v, mm, subj="A", dtc=str((START + pd.Timedelta(days=d)).date()))
          for v, (d, mm) in enumerate([(0, 50), (42, 30), (84, 40)], start=1)]
    irecist = compute_irecist_visits(pd.DataFrame([lesion("T01", "TARGET", subj="A")]),
                                     pd.DataFrame(tr), adsl, cfg)
    adrs = build_adrs(visits, adsl, cfg, irecist=irecist)
    adtte = build_adtte(adsl, adrs, cfg)
    methods = AdamMethods(cfg, {"ADSL": adsl, "ADRS": adrs, "ADTTE": adtte})
    codes = set(adrs["PARAMCD"])
    assert {"BORMCH", "DCR", "CRSP", "IOVR", "IBOR", "ICBOR"} <= codes
    for code in codes:
        assert methods.param_method(code), code
    assert set(adtte["PARAMCD"]) == {"OS", "PFS", "PFSALL", "RSD"}
    for code in set(adtte["PARAMCD"]):
        assert methods.tte_method(code), code
    assert "PFS Counting All Events" in methods.tte_method("PFSALL")
