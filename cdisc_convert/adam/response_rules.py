"""The thresholds and conventions of tumour response computed from TU/TR
(:class:`ResponseRules`), the criteria names and the output columns of
:func:`cdisc_convert.adam.tumor_response.compute_visit_responses`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

from cdisc_convert.core.errors import SpecError

__all__ = ["ResponseRules", "RECIST", "CHOI", "MCHOI", "KEYS", "OUTPUT_COLUMNS",
           "criterion_name", "STATE_NOT_EVALUATED", "STATE_ABSENT", "STATE_PRESENT",
           "STATE_PROGRESSION"]

RECIST = "RECIST 1.1"
CHOI = "CHOI"
MCHOI = "MODIFIED CHOI"

KEYS = ["USUBJID", "VISITNUM"]

OUTPUT_COLUMNS = [
    "USUBJID", "CRIT", "VISITNUM", "VISIT", "ADT", "ADTF", "ABLFL",
    "SUMDIAM", "SUMBASE", "SUMNADIR", "PCHGBASE", "PCHGNADIR", "TRGNMISS",
    "DENSITY", "DENSBASE", "DENSPCHG",
    "TRGRESP", "NTRGRESP", "NEWLPROG", "AVALC",
]

# Tumour-state ranks: the worst state wins when a lesion has several records.
STATE_NOT_EVALUATED, STATE_ABSENT, STATE_PRESENT, STATE_PROGRESSION = 0, 1, 2, 3



@dataclass(frozen=True)
class ResponseRules:
    """Thresholds and conventions for :func:`compute_visit_responses` (defaults = the papers).

    Every field can be set per criterion in a study's ``adam.yaml`` (``response.criteria[].
    rules``, see docs/adam-config.md, which also gives the source of each default).

    Attributes:
        evaluator_filter: ``{TR column: value or tuple of values}`` rows to keep, e.g.
            ``{"TRACPTFL": "Y"}`` or ``{"TREVAL": "INVESTIGATOR"}``; ``None`` keeps all rows.
            Applied to TU as well through the ``TU`` twin of each column when TU has it.
        baseline_flag_columns: TR flag columns that, when present with ``'Y'``, mark the
            baseline assessment explicitly (the first one present is used).
        baseline_pick: which evaluable pre-treatment assessment is the baseline when
            ``treatment_start`` is given: ``"last"`` (default, RECIST: as close as possible
            to the start) or ``"first"``.
        baseline_window_days: a baseline must be at most this many days before the start of
            treatment (RECIST 1.1: 4 weeks = 28); ``None``: no limit.
        recist_pr_pct: RECIST PR when the sum changed by at most this % from baseline (-30).
        recist_pd_pct: RECIST PD needs at least this % increase from nadir (+20) ...
        recist_pd_abs_mm: ... and at least this absolute increase from nadir in mm (5).
        nodal_normal_mm: a lymph node is normal (CR) below this short axis in mm (10).
        choi_pr_size_pct: Choi PR by size at most this % change from baseline (-10).
        choi_pd_size_pct: Choi PD by size at least this % change from the reference (+10).
        choi_pr_density_pct: Choi PR by density at most this % change of the mean HU from
            baseline (-15).
        choi_missing_density: ``"NE"``: when density is not evaluable and size alone does
            not decide, the Choi target response is NE; ``"SIZE_ONLY"``: use size alone.
        choi_pd_reference: the sum Choi's +10 % is measured from: ``"nadir"`` (default,
            as RECIST) or ``"baseline"`` (Choi's paper names no reference).
        choi_nodule_states: ``TUMSTATE`` results on a target lesion that mean "new or
            growing intratumoral nodule" (Choi PD). Empty by default: SDTM has no term.
        state_testcds: TR test codes holding a lesion's state (``TUMSTATE``; ``LNSTATE`` =
            lymph node state, as in the CDISC oncology examples).
        progression_states: state results meaning unequivocal progression.
        absent_states: state results meaning the lesion is gone.
        nodal_absent_states: lymph-node state results meaning the node is normal (RECIST:
            counts as absent for CR; Choi, which has no node rule, counts it present).
        not_evaluated_states: state results meaning the lesion was not evaluated.
        equivocal_states: results that do not (yet) count a NEW lesion as present, nor a
            lesion as reappeared after a CR.
        merged_states: results on a lesion that has coalesced into another one (measured
            there): it contributes 0 mm to the sum.
        too_small_mm: value used for a target whose ``TRSTRESN`` is missing and whose
            ``TRSTRESC`` is "TOO SMALL TO MEASURE" (RECIST's default 5 mm); ``None``: not
            assessed instead.
        pd_date: date of a progression shown by the target sum when the target scans of the
            assessment have several dates: ``"latest"`` (default; FDA 2018 guidance, "date
            of last radiological assessment of measured lesions") or ``"earliest"``.
        new_lesion_date: date of progression by a NEW lesion first recorded as equivocal and
            shown at a later scan: ``"first_seen"`` (default, RECIST 1.1 section 4.3.3: the
            scan where it first appeared) or ``"confirmed"`` (the scan that shows it).
        reappearance_after_cr: ``"pd"`` (default; RECIST 1.1 Q&A): after an overall CR any
            lesion that reappears is progression whatever its size; ``"sum"``: a target that
            reappears only adds to the sum (pharmaversesdtm's generator does this).
        not_applicable: response value when a component does not apply ("NA").
        date_imputation: partial ``--DTC`` dates are imputed to the ``"last"`` (default) or
            ``"first"`` day of the month/year, or left missing (``None``).
        tolerance: absolute slack in mm / % / HU for threshold comparisons, so that a change
            of exactly -30% is a PR despite floating-point rounding.
    """

    evaluator_filter: Mapping[str, str | Sequence[str]] | None = None
    baseline_flag_columns: tuple[str, ...] = ("TRLOBXFL", "TRBLFL")
    baseline_pick: Literal["first", "last"] = "last"
    baseline_window_days: int | None = 28
    recist_pr_pct: float = -30.0
    recist_pd_pct: float = 20.0
    recist_pd_abs_mm: float = 5.0
    nodal_normal_mm: float = 10.0
    choi_pr_size_pct: float = -10.0
    choi_pd_size_pct: float = 10.0
    choi_pr_density_pct: float = -15.0
    choi_missing_density: Literal["NE", "SIZE_ONLY"] = "NE"
    choi_pd_reference: Literal["nadir", "baseline"] = "nadir"
    choi_nodule_states: tuple[str, ...] = ()
    state_testcds: tuple[str, ...] = ("TUMSTATE", "LNSTATE")
    progression_states: tuple[str, ...] = ("UNEQUIVOCAL", "UNEQUIVOCAL PROGRESSION")
    absent_states: tuple[str, ...] = ("ABSENT",)
    nodal_absent_states: tuple[str, ...] = ("NON-PATHOLOGICAL", "NORMAL")
    not_evaluated_states: tuple[str, ...] = ("", "NE", "NOT EVALUABLE", "NOT EVALUATED",
                                             "NOT DONE", "NOT ASSESSED", "UNKNOWN")
    equivocal_states: tuple[str, ...] = ("EQUIVOCAL",)
    merged_states: tuple[str, ...] = ("TUMOR MERGED",)
    too_small_mm: float | None = 5.0
    pd_date: Literal["latest", "earliest"] = "latest"
    new_lesion_date: Literal["first_seen", "confirmed"] = "first_seen"
    reappearance_after_cr: Literal["pd", "sum"] = "pd"
    not_applicable: str = "NA"
    date_imputation: Literal["last", "first"] | None = "last"
    tolerance: float = 1e-6



def criterion_name(criterion: str) -> str:
    text = str(criterion).strip().upper()
    if text in ("RECIST 1.1", "RECIST1.1", "RECIST"):
        return RECIST
    if text.startswith("CHOI"):
        return CHOI
    if text.replace("-", " ").startswith("MODIFIED CHOI") or text in ("MCHOI", "MOD CHOI"):
        return MCHOI
    raise SpecError(f"unknown response criterion {criterion!r}; use 'RECIST 1.1', 'CHOI' or "
                    "'MODIFIED CHOI'", rule="tumor_response.criterion")

