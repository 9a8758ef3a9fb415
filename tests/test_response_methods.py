"""define.xml method texts echo every setting of the response config: changing any one
ResponseRules field of a criterion (adam.yaml ``response.criteria[].rules``), any ADRS
setting or the iRECIST settings changes the method text of the parameters it shapes."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from cdisc_convert.adam.config import config_from_dict
from cdisc_convert.adam.methods import AdamMethods
from cdisc_convert.adam.tumor_response import ResponseRules

#: a value different from the default for every ResponseRules field (adam.yaml spelling)
CHANGED = {
    "evaluator_filter": {"TRACPTFL": "Y"},
    "baseline_flag_columns": ["TRBLFL"],
    "baseline_pick": "first",
    "baseline_window_days": 35,
    "recist_pr_pct": -25,
    "recist_pd_pct": 25,
    "recist_pd_abs_mm": 4,
    "nodal_normal_mm": 11,
    "choi_pr_size_pct": -12,
    "choi_pd_size_pct": 12,
    "choi_pr_density_pct": -20,
    "choi_missing_density": "SIZE_ONLY",
    "choi_pd_reference": "baseline",
    "choi_nodule_states": ["NEW NODULE"],
    "state_testcds": ["TUMSTATE"],
    "progression_states": ["UNEQUIVOCAL"],
    "absent_states": ["ABSENT", "NOT PRESENT"],
    "nodal_absent_states": ["NORMAL"],
    "not_evaluated_states": ["NE"],
    "equivocal_states": ["EQUIVOCAL", "POSSIBLE"],
    "merged_states": ["MERGED"],
    "too_small_mm": 4,
    "pd_date": "earliest",
    "new_lesion_date": "confirmed",
    "reappearance_after_cr": "sum",
    "not_applicable": "NOT APPLICABLE",
    "date_imputation": "first",
    "tolerance": 0.001,
}
#: fields a criterion does not use (so its text need not state them)
UNUSED = {
    "RECIST 1.1": {f for f in CHANGED if f.startswith("choi_")},
    "CHOI": {f for f in CHANGED if f.startswith("recist_")}
    | {"nodal_normal_mm", "nodal_absent_states"},
    "MODIFIED CHOI": {f for f in CHANGED if f.startswith("recist_")}
    | {"nodal_normal_mm", "nodal_absent_states"},
}
FROM_TR = {"ADRS": pd.DataFrame({"SRCDOM": ["TR"]})}


def ovr_method(criterion: str, rules: dict) -> str:
    cfg = config_from_dict({"response": {"rs_without_rscat": criterion, "criteria": [
        {"name": criterion, "rscat": criterion, "paramcd_suffix": "", "rules": rules}]}})
    return AdamMethods(cfg, FROM_TR).param_method("OVR")


def test_every_rule_field_has_a_changed_value_here():
    # a new ResponseRules field must be added to CHANGED (and so to the method text)
    assert set(CHANGED) == {f.name for f in dataclasses.fields(ResponseRules)}
    for field, value in CHANGED.items():
        default = getattr(ResponseRules(), field)
        assert (tuple(value) if isinstance(value, list) else value) != default, field


@pytest.mark.parametrize("criterion,field", [(c, f) for c in sorted(UNUSED)
                                              for f in sorted(CHANGED) if f not in UNUSED[c]])
def test_changing_a_rule_field_changes_the_overall_response_method(criterion, field):
    assert ovr_method(criterion, {field: CHANGED[field]}) != ovr_method(criterion, {}), field


def test_the_recist_text_states_the_values_themselves():
    text = ovr_method("RECIST 1.1", {"tolerance": 0.001, "not_applicable": "N/A",
                                      "pd_date": "earliest", "baseline_window_days": 35})
    assert "tolerance of 0.001" in text and "is 'N/A'" in text
    assert "the earliest target scan" in text and "at most 35 days before the start" in text


def test_adtr_texts_follow_the_recist_criterion_rules():
    cfg = config_from_dict({"response": {"criteria": [
        {"name": "RECIST 1.1", "rscat": "RECIST 1.1", "rules": {"baseline_window_days": 35,
                                                                "too_small_mm": 4}}]}})
    methods = AdamMethods(cfg, FROM_TR)
    assert "at most 35 days before" in methods.adtr_method("SUMDIAM")
    assert "= 4)" in methods.adtr_method("SUMDIAM")
    assert "at most 35 days before it" in methods.info("ADTR", "ABLFL").method


ADRS_SETTINGS = {
    "sd_min_days": 35, "confirmation_min_days": 21, "max_ne_between": 2,
    "accept_sd_for_unconfirmed": False, "accept_sd_between": True, "use_after_pd": True,
    "start_date": "RANDDT",
}


def all_adrs_methods(extra: dict) -> str:
    cfg = config_from_dict({"irecist": {"confirm_min_days": 28}, **extra})
    methods = AdamMethods(cfg, FROM_TR)
    return "\n".join(methods.param_method(code) or "" for code in sorted(methods.params))


@pytest.mark.parametrize("key", sorted(ADRS_SETTINGS))
def test_changing_an_adrs_setting_changes_the_parameter_methods(key):
    assert all_adrs_methods({key: ADRS_SETTINGS[key]}) != all_adrs_methods({}), key


def test_irecist_settings_change_the_irecist_methods():
    def text(irecist, criteria=None):
        data = {"irecist": irecist}
        if criteria:
            data["response"] = {"criteria": criteria}
        methods = AdamMethods(config_from_dict(data), FROM_TR)
        return methods.param_method("IOVR")

    base = text({})
    assert "at least 28 days after an iUPD" in base
    assert text({"confirm_min_days": 35}) != base
    assert "at least 35 days after an iUPD" in text({"confirm_min_days": 35})
    # the iRECIST computation follows the named criterion's TU/TR rules
    strict = [{"name": "RECIST 1.1", "rscat": "RECIST 1.1"},
              {"name": "R2", "rscat": "R2", "paramcd_suffix": "R2",
               "rules": {"recist_pd_abs_mm": 7}}]
    assert ">= 7 mm above it" in text({"criterion": "R2"}, strict)
    assert ">= 5 mm above it" in text({"criterion": "RECIST 1.1"}, strict)
