"""Study-level conformance rules beyond the per-dataset checks of :mod:`.schemas`.

Each rule is a small function ``check_<what>(study) -> DataFrame | None`` that reads the
datasets it needs from a :class:`Study` and returns *findings*: one row per problem, with
the columns of :data:`FINDING_COLUMNS` (``row`` is the 1-based record number in the
dataset, NA for dataset-level findings). Rules work on whole columns (pandas/numpy, no
Python loop over records) and do nothing when the datasets or variables they need are
absent: a missing dataset that the standard requires is its own rule.

This module runs them (:data:`CHECKS`, :func:`run_checks`) and re-exports what callers
use; the rules live by concern in :mod:`.checks_sdtm` (ST, DT, XD), :mod:`.checks_oncology`
(ONC) and :mod:`.checks_adam` (AD), and what they share (the :class:`Study`, building
findings, column helpers) in :mod:`.study`.

What each rule id stands for (severity, title, fix, what it checks, the public rule it
mirrors) is data: ``rules.yaml``, read by :mod:`.catalogue`, from which the rule table of
``docs/validation-rules.md`` is generated. The ids:

* ``IO-*``   input that could not be read (exit code 2), see :mod:`.validate`;
* ``XPT-*``  the SAS XPORT v5 limits of :func:`cdisc_convert.io.xpt.check_xpt`;
* ``ST-*``   structure (file names, duplicate records, variable order, lengths);
* ``DT-*``   dates (start/end order, dates after death);
* ``XD-*``   cross-dataset consistency (DM, EX, DS, AE, TS);
* ``ONC-*``  oncology (TU, TR, RS);
* ``AD-*``   ADaM (ADSL, BDS, ADTTE);
* ``DEF-*``  define.xml.

Dates are compared as ISO 8601 text *at their common precision*: ``2013-04`` is neither
before nor after ``2013-04-11`` (it cannot be told), but ``2013-05`` is after it. Values
that are not right-truncated ISO 8601 dates (intervals, ``2014---05``) are not compared.
"""
from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd

from .catalogue import ERROR, INPUT_RULES, NOTICE, RULES, SEVERITY_ORDER, WARNING, Rule
from .checks_adam import (POPULATION_FLAGS, check_adsl, check_adt_window, check_flags,
                          check_param_pairs, check_source_traceability, check_time_to_event)
from .checks_oncology import (check_lesion_links, check_new_lesions, check_overall_response,
                              check_target_baseline)
from .checks_sdtm import (FDA_TS_PARAMETERS, check_after_death, check_arm_pairs,
                          check_death_consistency, check_duplicate_records,
                          check_exposure_reference, check_length_excess,
                          check_required_datasets, check_start_end, check_test_pairs,
                          check_trial_summary, check_variable_order)
from .study import FINDING_COLUMNS, Study, concat, empty_findings, make_findings, text

#: Every study-level rule, in the order they run.
CHECKS: tuple[Callable[[Study], pd.DataFrame], ...] = (
    check_required_datasets, check_duplicate_records, check_variable_order,
    check_length_excess, check_test_pairs, check_start_end, check_after_death,
    check_exposure_reference, check_death_consistency, check_arm_pairs, check_trial_summary,
    check_lesion_links, check_target_baseline, check_overall_response, check_new_lesions,
    check_adsl, check_param_pairs, check_time_to_event, check_adt_window, check_flags,
    check_source_traceability,
)


def run_checks(study: Study, checks: Iterable[Callable[[Study], pd.DataFrame]] = CHECKS
               ) -> pd.DataFrame:
    """Every rule; a rule that fails to run gives an IO-RULE-FAILED finding, never a crash."""
    parts = []
    for check in checks:
        try:
            parts.append(check(study))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            parts.append(make_findings(
                "IO-RULE-FAILED", "", variable=check.__name__,
                message=f"rule {check.__name__} could not run: {type(exc).__name__}: {exc}"))
    return concat(parts)


__all__ = [
    "CHECKS", "ERROR", "FDA_TS_PARAMETERS", "FINDING_COLUMNS", "INPUT_RULES", "NOTICE",
    "POPULATION_FLAGS", "RULES", "Rule", "SEVERITY_ORDER", "Study", "WARNING",
    "concat", "empty_findings", "make_findings", "run_checks", "text",
]
