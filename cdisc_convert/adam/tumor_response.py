"""Per-visit tumour response derived from SDTM TU/TR, for RECIST 1.1 and Choi.

What this module does
---------------------
:func:`compute_visit_responses` turns the lesion identification (TU) and lesion measurements
(TR) of a study into one record per subject and tumour assessment (``VISITNUM``): sums of
diameters, percent changes from baseline and nadir, mean radiodensity, the target, non-target
and new-lesion components, and the overall response (``AVALC``). :func:`reconcile_responses`
lists every assessment where a response recorded in RS (e.g. by the investigator) and the
computed one disagree.

The rules (RECIST 1.1, Eisenhauer et al., Eur J Cancer 2009; Choi et al., J Clin Oncol 2007)
are implemented as small vectorised helpers named ``derive_...`` / ``compute_...``; every
threshold lives in :class:`ResponseRules`. All work is done with group-wise pandas operations
(merges, ``groupby`` aggregations, ``cummin``) - there is no Python loop over TR rows.

Output columns (:data:`OUTPUT_COLUMNS`): ``USUBJID``, ``CRIT`` ("RECIST 1.1" / "CHOI"),
``VISITNUM``, ``VISIT``, ``ADT`` (datetime64), ``ADTF`` (date imputation flag), ``ABLFL``
("Y" on the baseline row, whose responses are ""), ``SUMDIAM``, ``SUMBASE``, ``SUMNADIR``,
``PCHGBASE``, ``PCHGNADIR`` (percent), ``TRGNMISS`` (target lesions not measured),
``DENSITY``, ``DENSBASE``, ``DENSPCHG`` (mean HU of the targets; filled for RECIST too, for
information), ``TRGRESP``, ``NTRGRESP``, ``NEWLPROG`` (Y/N), ``AVALC`` (overall response).

Choices made where the criteria or SDTM leave room (all documented again where implemented):

* **Evaluator.** ``ResponseRules.evaluator_filter`` keeps only TR rows matching e.g.
  ``{"TREVAL": "INVESTIGATOR"}`` or ``{"TRACPTFL": "Y"}``; the same filter is applied to TU
  through the TU twin of each column (``TREVAL`` -> ``TUEVAL``) when TU has it. Lesion
  attributes (TARGET / NON-TARGET / NEW, location) come from the filtered TU first and fall
  back to any TU record of the same ``USUBJID``/``TULNKID``, then to ``TRGRPID``.
* **Assessment.** One assessment = one ``USUBJID`` + ``VISITNUM``. Duplicate measurements of a
  lesion within an assessment (several rows left after filtering) are collapsed to the
  largest diameter / mean density / worst tumour state.
* **Baseline.** Per subject, in this order: the lowest ``VISITNUM`` flagged ``'Y'`` in the
  first of ``ResponseRules.baseline_flag_columns`` present in TR (``TRLOBXFL``, ``TRBLFL``),
  when the subject has such a record; otherwise, when ``treatment_start`` has a date for the
  subject, the first assessment (lowest ``VISITNUM``; ``baseline_pick="last"`` takes the
  latest) whose earliest scan date is on or before the start; otherwise simply the first
  assessment of the subject. Assessments before the baseline are dropped; subjects without
  a baseline are left out (so :func:`reconcile_responses` lists their investigator records
  as "INVESTIGATOR ONLY").
* **Target lesions** are the TU ``TARGET`` lesions measured at baseline. A lesion is nodal
  when ``TULOC`` contains "LYMPH NODE", or when it has ``LPERP`` but no ``LDIAM`` results;
  nodal lesions use ``LPERP`` (short axis), all others ``LDIAM``. ``TRSTRESN`` is taken as mm.
* **Nadir** (``SUMNADIR``) = the smallest sum among the *previous* assessments whose target
  lesions were all measured, baseline included (an incomplete sum is not a valid nadir).
* **Not all targets measured**: ``SUMDIAM`` is the sum of the measured ones (``TRGNMISS``
  counts the missing lesions); the target response is PD when that partial sum already meets
  the PD rule vs nadir, NE otherwise.
* **Lymph nodes below 10 mm**: CR is decided before PD, so growth of nodes that all stay
  below the normal size is not progression.
* **No non-target lesions at baseline**: ``NTRGRESP`` is ``ResponseRules.not_applicable``
  (default ``"NA"``; ONCRSR has no term for it). Subjects with no target lesion get
  ``TRGRESP = "NA"`` and follow RECIST table 2 (CR / NON-CR/NON-PD / NE / PD).
* **Dates** (``ADT``): the latest scan date of the assessment; for a PD assessment the
  earliest scan date among the records that show the progression (target measurements when
  the target component is PD, the unequivocal non-target records, the new-lesion records),
  following the RECIST convention that progression dates from the first scan showing it.
  Partial dates are imputed (``ResponseRules.date_imputation``, default last day of the
  month/year, like admiralonco) and flagged in ``ADTF`` ("D" day / "M" month imputed).
* **Choi density**: ``DENSITY`` is the mean ``RADIODEN`` (HU) of the target lesions that have
  one. It is evaluable at an assessment when every target lesion has a density there, except
  lesions measured 0 mm (nothing left to measure), and the baseline mean is available and
  positive (a percent change against a value <= 0 HU means nothing).
  When density is not evaluable and size alone does not decide - size SD (density could
  still make it PR) or size PD (density PR would overrule it) - the target response is NE
  (``choi_missing_density="NE"``, default) or the size-only response (``"SIZE_ONLY"``).
* **Choi intratumoral nodules** ("new or growing intratumoral nodules" = PD) have no SDTM
  controlled term. A sponsor that records them as a ``TUMSTATE`` result on a target lesion
  can list those results in ``ResponseRules.choi_nodule_states``; by default none are
  recognised and only NEW lesions / non-target progression / size drive Choi PD.
* **Choi size** is the same sum as RECIST 1.1 (``LPERP`` for nodes), not RECIST 1.0's longest
  diameter for every lesion.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.text import number_text, quote_list

# the rules, the input preparation, the components and the reconciliation live in their own
# modules; their public names are re-exported here, the public API of tumour response
from .lesion_input import (PreparedLesions, derive_assessments,  # noqa: F401
                           derive_baseline, derive_dates, derive_lesion_links,
                           derive_lesion_table, derive_state_rank, encode_pair, filter_mask,
                           prepare_lesions, prepare_tr, prepare_tu, require_input,
                           same_preparation)
from .lesion_response import (apply_lesion_links, compute_nadir,  # noqa: F401
                              compute_target_sums, derive_assessment_date,
                              derive_choi_density_response, derive_choi_size_response,
                              derive_choi_target_response, derive_modified_choi_target_response,
                              derive_new_lesions, derive_nontarget_response,
                              derive_overall_response, derive_reappearance,
                              derive_recist_target_response)
from .reconcile import RECONCILED_COLUMNS, reconcile_responses  # noqa: F401
from .response_rules import (CHOI, KEYS, MCHOI, OUTPUT_COLUMNS, RECIST,  # noqa: F401
                             ResponseRules, criterion_name)

__all__ = [
    "ResponseRules",
    "compute_visit_responses",
    "prepare_lesions",
    "same_preparation",
    "reconcile_responses",
    "OUTPUT_COLUMNS",
    "assessment_date_method_text",
    "baseline_method_text",
    "choi_method_text",
    "lesion_method_text",
    "recist_method_text",
]

# ----------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------

def compute_visit_responses(tu: pd.DataFrame, tr: pd.DataFrame, criterion: str = RECIST,
                            rules: ResponseRules | None = None, *,
                            treatment_start: pd.Series | Mapping | None = None,
                            prepared: PreparedLesions | None = None) -> pd.DataFrame:
    """Per-visit overall response from SDTM TU and TR (see the module docstring).

    Args:
        tu: SDTM TU (``USUBJID``, ``TULNKID``, ``TUSTRESC``; optional ``TUTESTCD``,
            ``TULOC``, ``VISITNUM``, ``VISIT``, ``TUDTC``, ``TUEVAL``/``TUEVALID``/``TUACPTFL``).
        tr: SDTM TR (``USUBJID``, ``TRLNKID``, ``TRTESTCD``, ``TRSTRESN``, ``VISITNUM``;
            optional ``TRSTRESC``, ``VISIT``, ``TRDTC``, ``TRGRPID``, ``TRSTAT``, evaluator
            columns and a baseline flag ``TRLOBXFL``/``TRBLFL``).
        criterion: ``"RECIST 1.1"`` or ``"CHOI"``.
        rules: thresholds and conventions, :class:`ResponseRules` defaults when omitted.
        treatment_start: optional start date per subject (Series indexed by ``USUBJID``)
            used to choose the baseline among the assessments on or before it.
        prepared: :func:`prepare_lesions` of these ``tu``, ``tr``, ``treatment_start`` and
            rules that :func:`same_preparation` finds equal to ``rules`` (criteria computed
            from the same TU/TR share it instead of preparing TU/TR each).

    Returns:
        One row per subject and assessment from the baseline on, columns
        :data:`OUTPUT_COLUMNS`. The baseline row has ``ABLFL = "Y"`` and empty responses.
        Character columns use "" for missing.
    """
    rules = rules or ResponseRules()
    crit = criterion_name(criterion)
    require_input(tu, "TU", ["USUBJID", "TULNKID", "TUSTRESC"])
    require_input(tr, "TR", ["USUBJID", "TRLNKID", "TRTESTCD", "TRSTRESN", "VISITNUM"])
    node_rule = crit == RECIST  # Choi's CR is the disappearance of every lesion
    if prepared is None:
        prepared = prepare_lesions(tu, tr, rules, treatment_start)
    subjects, meas, lesions = prepared.subjects, prepared.meas, prepared.lesions
    new_tu, visits = prepared.new_tu, prepared.visits

    positions = prepared.positions
    sums = compute_target_sums(meas, lesions, visits, rules, node_rule=node_rule,
                               positions=positions)
    s = visits.merge(sums, on=KEYS, how="left")
    for flag in ("NODULE", "ALLCR", "DENSOK", "REAPT"):  # subjects without target lesions
        s[flag] = s[flag].eq(True)
    s = compute_nadir(s)
    target_response = {RECIST: derive_recist_target_response,
                       CHOI: derive_choi_target_response,
                       MCHOI: derive_modified_choi_target_response}[crit]
    s["TRGRESP"] = target_response(s, rules)
    s = s.merge(derive_nontarget_response(meas, lesions, visits, rules, node_rule=node_rule,
                                          positions=positions),
                on=KEYS, how="left")
    newl = derive_new_lesions(meas, new_tu, lesions, rules)
    s = s.merge(newl, on=KEYS, how="left")
    s["NEWLPROG"] = np.where(s["NEWL"].eq(True), "Y", "N")
    s["AVALC"] = derive_overall_response(s["TRGRESP"], s["NTRGRESP"], s["NEWLPROG"].eq("Y"),
                                         rules)
    if rules.reappearance_after_cr == "pd":
        s["_NA"] = rules.not_applicable
        s = derive_reappearance(s)
        s["AVALC"] = derive_overall_response(s["TRGRESP"], s["NTRGRESP"],
                                             s["NEWLPROG"].eq("Y"), rules)
    s["ADT"] = derive_assessment_date(s, rules)
    s["CRIT"] = crit
    baseline = s["ABLFL"].eq("Y")
    s.loc[baseline, ["TRGRESP", "NTRGRESP", "NEWLPROG", "AVALC"]] = ""
    s.loc[baseline, ["SUMNADIR", "PCHGBASE", "PCHGNADIR", "DENSPCHG"]] = np.nan
    s["TRGNMISS"] = s["TRGNMISS"].astype("Int64")
    s["USUBJID"] = subjects.take(s["USUBJID"].to_numpy()).to_numpy()
    return s[OUTPUT_COLUMNS].sort_values(KEYS, kind="stable").reset_index(drop=True)



# ----------------------------------------------------------------------------------------
# define.xml method texts: what compute_visit_responses does, stated from the same rules
# ----------------------------------------------------------------------------------------

def baseline_method_text(r: ResponseRules) -> str:
    """Baseline and target-lesion measurement per the ResponseRules ``r`` (RECIST 1.1 and
    Choi alike; ADTR's SUMDIAM)."""
    window = (f"at most {r.baseline_window_days} days before the start"
              if r.baseline_window_days is not None else "any time before the start")
    flags = (f"a TR baseline flag Y in {' or '.join(r.baseline_flag_columns)} marks the "
             f"baseline explicitly and wins; otherwise " if r.baseline_flag_columns
             else "no TR baseline flag is read; ")
    small = (number_text(r.too_small_mm) if r.too_small_mm is not None
             else "not assessed")
    return (f"{flags}baseline = the {r.baseline_pick} evaluable assessment on or before the "
            f"start and {window}; target lesions are the TU TARGET lesions measured at "
            f"baseline (TUSPLIT fragments summed into their parent, a TUMERGE lesion "
            f"measured once, a lesion recorded {quote_list(r.merged_states)} counts 0 mm); "
            f"a nodal lesion (TULOC contains LYMPH NODE, LNSTATE records, or LPERP but no "
            f"LDIAM) contributes its short axis LPERP, every other its longest diameter "
            f"LDIAM (TRSTRESN, mm; 'TOO SMALL TO MEASURE' = {small}).")


def lesion_method_text(r: ResponseRules, *, evaluator: str | None,
                       node_rule: bool = True) -> str:
    """Non-target and new lesions, reappearance after CR and the conventions every
    criterion computed from TU/TR shares, per the ResponseRules ``r``; ``evaluator``: the
    configured TREVAL/TUEVAL (``response.evaluator``) when ``r`` has no evaluator filter."""
    absent = (f"all are absent ({quote_list(r.absent_states)}; nodes < "
              f"{number_text(r.nodal_normal_mm)} mm or {quote_list(r.nodal_absent_states)})"
              if node_rule else
              f"all are absent ({quote_list(r.absent_states)}; no lymph-node rule)")
    if r.evaluator_filter:
        records = ("TR records with " + "; ".join(
            f"{k} = {quote_list(v) if isinstance(v, (list, tuple)) else repr(v)}"
            for k, v in r.evaluator_filter.items())
            + " (TU through its TU twin columns)")
    else:
        records = (f"the TR/TU records with TREVAL/TUEVAL = '{evaluator}' when TR has TREVAL, "
                   f"otherwise all" if evaluator else "all TR/TU records")
    imputed = (f"partial scan dates are imputed to the {r.date_imputation} day of the "
               f"month/year (ADTF)" if r.date_imputation else
               "partial scan dates are not imputed (no date)")
    return (f"Non-target response (state tests {quote_list(r.state_testcds)}): PD on "
            f"unequivocal progression ({quote_list(r.progression_states)}), NE when a lesion "
            f"is not evaluated ({quote_list(r.not_evaluated_states)}), CR when {absent}, "
            f"NON-CR/NON-PD otherwise. A NEW lesion shown present is progression; an "
            f"equivocal one ({quote_list(r.equivocal_states)}) is not, and when a later scan "
            f"shows it the progression is dated "
            + ("at the scan where it first appeared" if r.new_lesion_date == "first_seen"
               else "at the scan showing it")
            + ". "
            + ("After an overall CR any lesion that reappears is PD whatever its size. "
               if r.reappearance_after_cr == "pd" else
               "A target that reappears after a CR only adds to the sum. ")
            + f"A component that does not apply (no target, or no non-target lesions at "
            f"baseline) is '{r.not_applicable}'. Records used: {records}; {imputed}; a PD "
            f"shown by the target sum is dated by the {r.pd_date} target scan of the "
            f"assessment; thresholds are compared with a tolerance of "
            f"{number_text(r.tolerance)} (mm, %, HU).")


def recist_method_text(r: ResponseRules, *, evaluator: str | None) -> str:
    """RECIST 1.1 as computed from TU/TR, from the criterion's ResponseRules ``r``: every
    field of ``r`` except Choi's is stated."""
    from cdisc_convert.standards.response import describe_overall_response

    return (f"RECIST 1.1 (Eisenhauer 2009): {baseline_method_text(r)} Target response, first "
            f"match wins: CR when all targets are measured, non-nodal ones 0 mm and nodes < "
            f"{number_text(r.nodal_normal_mm)} mm; PD when the sum is >= "
            f"{number_text(100 + r.recist_pd_pct)}% of the nadir (smallest earlier complete "
            f"sum, baseline included) and >= {number_text(r.recist_pd_abs_mm)} mm above it; "
            f"NE when a target is not measured; PR when the sum is <= "
            f"{number_text(100 + r.recist_pr_pct)}% of baseline; SD otherwise. "
            f"{lesion_method_text(r, evaluator=evaluator)} {describe_overall_response()}")


def choi_method_text(r: ResponseRules, *, evaluator: str | None,
                     modified: bool = False) -> str:
    """Choi (or modified Choi) as computed from TU/TR: every field of ``r`` that Choi
    uses is stated (not RECIST's thresholds nor its lymph-node rule)."""
    missing = ("NE" if r.choi_missing_density == "NE" else "the size response")
    ref = "nadir" if r.choi_pd_reference == "nadir" else "baseline sum"
    density = (f"density = the mean RADIODEN (HU) over the target lesions with a density "
               f"at both baseline and the assessment (a lesion measured 0 mm is left out of "
               f"both means; a target still present without density makes density not "
               f"evaluable, as does a baseline mean <= 0)")
    nodule = (f"a target lesion state in {quote_list(r.choi_nodule_states)} (new or "
              f"growing intratumoral nodule) is PD; " if r.choi_nodule_states else
              "no TR state is read as a new intratumoral nodule; ")
    rest = (f"{lesion_method_text(r, evaluator=evaluator, node_rule=False)} Overall response "
            f"as RECIST 1.1.")
    if modified:
        return (f"Modified Choi: {baseline_method_text(r)} Size = the RECIST 1.1 sum of target "
                f"diameters, {density}. Target response, first match wins: {nodule}CR when "
                f"every target is 0 mm; PD when "
                f"the sum is >= {number_text(100 + r.choi_pd_size_pct)}% of the {ref}; NE "
                f"when a target is not measured; PR when the sum is <= "
                f"{number_text(100 + r.choi_pr_size_pct)}% of baseline AND the density fell "
                f"by >= {number_text(-r.choi_pr_density_pct)}%; SD otherwise (size PR with "
                f"density not evaluable: {'NE' if r.choi_missing_density == 'NE' else 'SD'}). "
                f"{rest}")
    return (f"Choi (J Clin Oncol 2007): {baseline_method_text(r)} Size = the RECIST 1.1 sum of "
            f"target diameters, {density}. Target response, first match wins: {nodule}CR "
            f"when every target is 0 mm (no lymph-node rule); PR when the mean "
            f"density fell by >= {number_text(-r.choi_pr_density_pct)}% from baseline; PD when "
            f"the sum is >= {number_text(100 + r.choi_pd_size_pct)}% of the {ref} with density "
            f"evaluable; PR when the sum is <= {number_text(100 + r.choi_pr_size_pct)}% of "
            f"baseline; NE when a target is not measured; SD with density evaluable; "
            f"otherwise {missing}. {rest}")


def assessment_date_method_text(r: ResponseRules) -> str:
    """The date of an assessment computed from TU/TR (:func:`derive_assessment_date`)."""
    imputed = (f"partial dates imputed to the {r.date_imputation} day (ADTF)"
               if r.date_imputation else "partial dates not imputed")
    return ("the latest scan date of the assessment; for a PD assessment the earliest "
            "date among the records showing the progression (a PD by the target sum: the "
            f"{r.pd_date} target scan); {imputed}.")
