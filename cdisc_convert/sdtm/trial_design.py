"""Trial design datasets from a study's ``trial_design:`` (study.yaml) and the subjects' data.

SDTMIG 3.4 section 7 (Trial Design Model): the planned design is declared — arms (TA),
elements (TE), visits (TV, from the study's visit schedule) and inclusion/exclusion criteria
(TI) — and what each subject actually went through is derived:

* **SE** (subject elements, section 5.3): per subject, the elements of the subject's actual
  arm (DM.ACTARMCD), each starting at the DM reference date its element names
  (``start: RFXSTDTC``) and ending where the next one starts (the last at its ``end:``);
  an element whose start date is missing (a subject never dosed) is left out.
* **EPOCH** of any dated record: the epoch of the subject's element holding the record's
  date (SDTMIG 3.4 section 4.1.3.1: EPOCH is derived from SE). A partial date gets the
  epoch when every day it may stand for lies in one element.
* **SV** (subject visits, section 5.4): per subject and VISITNUM, the first and last date of
  the records of the domains named in ``visits_from``.

Each function takes frames plus explicit parameters and checks its inputs; study facts stay
in the YAML.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import combine_codes, shared_text_ranks
from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.factorize import duplicated_rows, factorize_keys, first_occurrences
from .derive import subject_values
from .variable_rules import distinct_codes, per_distinct
from cdisc_convert.core.iso8601 import (days_in_month, distinct_dtc_components,
                                        earliest_and_latest_dtc, is_complete_date, study_day)

#: Trial design datasets in the order they are written after the study's domains.
DESIGN_DATASETS = ("TA", "TE", "TV", "TI", "SE", "SV")


def _require(frame: pd.DataFrame, columns, function: str, what: str = "the frame") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SpecError(f"{function}: {what} has no {', '.join(missing)}",
                        rule="SPEC-DERIVE-VARIABLE")


def _source_frame(domains: dict[str, pd.DataFrame], source: str, columns, function: str,
                  option: str) -> tuple[pd.DataFrame, str]:
    """The domain and variable a ``DOMAIN.VARIABLE`` source of ``option`` names, checked to
    exist and to hold ``columns`` besides the variable: (frame, variable)."""
    name, _, var = source.partition(".")
    frame = domains.get(name)
    if frame is None:
        raise SpecError(f"{function}: {option} names {source}, but the study has no "
                        f"{name} domain", rule="SPEC-DERIVE-VARIABLE")
    _require(frame, [*columns, var], function, name)
    return frame, var


def _text(values) -> pd.Series:
    """Values as text (``str``), missing as ""; converted once per distinct value."""
    out = per_distinct(pd.Series(values, dtype=object, copy=False), str)
    out.name = getattr(values, "name", None)
    return out


# --------------------------------------------------------------------------- planned design
def derive_ta(design: dict, *, studyid: str) -> pd.DataFrame:
    """TA: one record per arm and element, in the arm's order (TAETORD 1, 2, ...), with the
    epoch, branch (TABRANCH) and transition rule (TATRANS) the arm declares for it."""
    elements = {e["etcd"]: e for e in design["elements"]}
    rows = []
    for arm in design["arms"]:
        for order, step in enumerate(arm["elements"], start=1):
            rows.append({"STUDYID": studyid, "DOMAIN": "TA", "ARMCD": arm["armcd"],
                         "ARM": arm["arm"], "TAETORD": float(order), "ETCD": step["etcd"],
                         "ELEMENT": elements[step["etcd"]]["element"],
                         "TABRANCH": step.get("branch", ""),
                         "TATRANS": step.get("transition", ""), "EPOCH": step["epoch"]})
    return pd.DataFrame(rows)


def derive_te(design: dict, *, studyid: str) -> pd.DataFrame:
    """TE: one record per element with its start and end rules (TESTRL, TEENRL) and planned
    duration (TEDUR, ISO 8601)."""
    return pd.DataFrame([{"STUDYID": studyid, "DOMAIN": "TE", "ETCD": e["etcd"],
                          "ELEMENT": e["element"], "TESTRL": e["start_rule"],
                          "TEENRL": e.get("end_rule", ""), "TEDUR": e.get("duration", "")}
                         for e in design["elements"]])


def derive_tv(schedule: pd.DataFrame, visits: dict, *, studyid: str) -> pd.DataFrame:
    """TV: one record per planned visit of the study's ``visits:`` schedule (the frame of
    :func:`~.derive.expand_schedule`): VISITNUM, VISIT, VISITDY (target study day) and the
    visit start rule (TVSTRL; ``start_rule`` of the schedule item or of ``repeat``, with
    ``{n}`` filled in). ARMCD is null: every arm has the same visits."""
    _require(schedule, ["visit", "visitnum", "day"], "derive_tv", "the visit schedule")
    rules = (schedule["start_rule"].fillna("").astype(str).to_numpy(object)
             if "start_rule" in schedule else "")
    tv = pd.DataFrame({"STUDYID": studyid, "DOMAIN": "TV",
                       "VISITNUM": schedule["visitnum"].astype(float).to_numpy(),
                       "VISIT": schedule["visit"].to_numpy(object),
                       "VISITDY": pd.to_numeric(schedule["day"]).astype(float).to_numpy(),
                       "ARMCD": "", "ARM": "", "TVSTRL": rules, "TVENRL": ""})
    return tv.sort_values("VISITNUM", kind="stable").reset_index(drop=True)


def derive_ti(design: dict, *, studyid: str) -> pd.DataFrame:
    """TI: one record per inclusion/exclusion criterion of the protocol (version TIVERS)."""
    return pd.DataFrame([{"STUDYID": studyid, "DOMAIN": "TI", "IETESTCD": c["ietestcd"],
                          "IETEST": c["ietest"], "IECAT": c["iecat"],
                          "IESCAT": c.get("iescat", ""), "TIRL": c.get("tirl", ""),
                          "TIVERS": str(c.get("tivers", ""))}
                         for c in design.get("criteria", [])])


# --------------------------------------------------------------------------- subject level
def _plan(design: dict) -> pd.DataFrame:
    """Per arm and element position: ETCD, ELEMENT, EPOCH, TAETORD and the DM dates that
    start/end it, and whether a record on its start date belongs to the previous element."""
    elements = {e["etcd"]: e for e in design["elements"]}
    rows = []
    for arm in design["arms"]:
        # a subject who stops early ends the last element reached at the date that ends
        # the arm (its last element's `end:`, e.g. RFPENDTC, the end of participation)
        ends = [elements[st["etcd"]].get("end", "") for st in arm["elements"]]
        arm_end = next((e for e in reversed(ends) if e), "")
        for order, step in enumerate(arm["elements"], start=1):
            e = elements[step["etcd"]]
            rows.append({"ACTARMCD": arm["armcd"], "TAETORD": float(order), "ETCD": e["etcd"],
                         "ELEMENT": e["element"], "EPOCH": step["epoch"], "_start": e["start"],
                         "_end": e.get("end", "") or arm_end,
                         "_start_excl": e.get("start_day", "this") == "previous"})
    return pd.DataFrame(rows)


def _earliest_record_dates(domains: dict[str, pd.DataFrame], sources: list[str]) -> pd.Series:
    """Per USUBJID, the earliest complete date (YYYY-MM-DD) among the records of ``sources``
    (``DOMAIN.--DTC``); partial dates do not count (an element cannot start on a month)."""
    subjects, days, pairs = [], [], []
    for source in sources:
        frame, var = _source_frame(domains, source, ["USUBJID"], "derive_se",
                                   "start_earliest_of")
        # decided per distinct date and subject (a million TR records hold a few thousand
        # dates): each record is then a pair of codes, and the text is cut once per date
        date_code, date_values = distinct_codes(frame[var])
        dtc = _text(np.append(np.asarray(date_values, dtype=object), ""))
        complete = is_complete_date(dtc).to_numpy()
        subject_code, subject_values = distinct_codes(frame["USUBJID"])
        keep = complete[np.where(date_code < 0, len(dtc) - 1, date_code)]
        subject_text = _text(np.append(np.asarray(subject_values, dtype=object), ""))
        pairs.append((sum(map(len, subjects)), sum(map(len, days)),
                      np.where(subject_code < 0, len(subject_text) - 1, subject_code)[keep],
                      date_code[keep]))
        subjects.append(subject_text.to_numpy(dtype=object))
        days.append(dtc.str[:10].to_numpy(dtype=object))
    if not pairs:
        return pd.Series(dtype=object)
    # one number per subject text and one rank per day text over all sources: the
    # minimum of text per subject is the minimum of the days' sorted ranks
    subject_of, subject_names = pd.factorize(np.concatenate(subjects))
    rank_of, sorted_days = pd.factorize(np.concatenate(days), sort=True)
    subject = np.concatenate([subject_of[s0 + s] for s0, _d0, s, _d in pairs])
    rank = np.concatenate([rank_of[d0 + d] for _s0, d0, _s, d in pairs])
    if not len(subject):
        return pd.Series(dtype=object)
    order, first = np.unique(subject, return_index=True)  # subjects by first record
    first_rank = np.full(len(subject_names), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_rank, subject, rank)
    shown = order[np.argsort(first, kind="stable")]
    return pd.Series(np.asarray(sorted_days, dtype=object)[first_rank[shown]],
                     index=np.asarray(subject_names, dtype=object)[shown], dtype=object)


def derive_se(dm: pd.DataFrame, design: dict,
              domains: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """SE: the elements each subject went through (SDTMIG 3.4 SE).

    Per subject, the elements of the actual arm (DM.ACTARMCD) in TA order; SESTDTC is the DM
    date the element's ``start:`` names, SEENDTC the SESTDTC of the next element (SDTMIG: an
    element ends where the next begins) or, for the subject's last element, the DM date its
    ``end:`` names (or the arm's last ``end:``, e.g. RFPENDTC, when a subject stopped
    before the arm's last element). Elements with no start date are left out (not reached). Besides the SE
    variables the frame keeps ``__start_excl`` (a record on SESTDTC belongs to the previous
    element) for :func:`derive_epoch_from_se`.

    An element declaring ``start_earliest_of: [TU.TUDTC, ...]`` starts on the subject's
    earliest complete date among those records when that is before its DM date (e.g.
    screening: informed consent, or a baseline scan done before it), so that every
    pre-treatment record has an element and an EPOCH (FDA business rule FB2201).
    """
    plan = _plan(design)
    needed = ["USUBJID", "ACTARMCD", "STUDYID"] + sorted(set(plan["_start"])
                                                      | set(plan["_end"]) - {""})
    _require(dm, needed, "derive_se", "DM")
    subjects = dm[["STUDYID", "USUBJID", "ACTARMCD"]].astype(str)
    se = subjects.merge(plan, on="ACTARMCD", how="inner")
    dm_by = dm.set_index("USUBJID")
    start = np.full(len(se), "", dtype=object)
    end = np.full(len(se), "", dtype=object)
    for ref in set(plan["_start"]):
        take = (se["_start"] == ref).to_numpy()
        start[take] = _text(se.loc[take, "USUBJID"].map(dm_by[ref])).to_numpy()
    for ref in set(plan["_end"]) - {""}:
        take = (se["_end"] == ref).to_numpy()
        end[take] = _text(se.loc[take, "USUBJID"].map(dm_by[ref])).to_numpy()
    for element in design["elements"]:
        sources = element.get("start_earliest_of") or []
        if not sources:
            continue
        take = (se["ETCD"] == element["etcd"]).to_numpy()
        earliest = _text(se.loc[take, "USUBJID"].map(
            _earliest_record_dates(domains or {}, sources)).to_numpy())
        current = start[take].astype(str)
        # only a reached element (a DM date) moves, and only to an earlier day
        earlier = (earliest != "").to_numpy() & (current != "") & (
            earliest.to_numpy(dtype=str) < np.array([c[:10] for c in current], dtype=str))
        start[np.flatnonzero(take)[earlier]] = earliest.to_numpy()[earlier]
    se["SESTDTC"], se["__end_ref"] = start, end
    se = se[se["SESTDTC"] != ""].sort_values(["USUBJID", "TAETORD"], kind="stable")
    nxt = se.groupby("USUBJID", sort=False)["SESTDTC"].shift(-1)
    se["SEENDTC"] = nxt.fillna(se["__end_ref"]).astype(str)
    se["DOMAIN"] = "SE"
    se["__start_excl"] = se.pop("_start_excl").astype(bool)
    se["SEUPDES"] = ""
    return se.drop(columns=["_start", "_end", "__end_ref", "ACTARMCD"]).reset_index(drop=True)


def _distinct_date_ranges(dtc: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code per row, first day, last day per distinct value) of :func:`_date_range`."""
    codes, parts = distinct_dtc_components(_text(dtc))
    y, m, d = parts["Y"].to_numpy(), parts["M"].to_numpy(), parts["D"].to_numpy()
    ok = ~np.isnan(y) & ~parts["invalid"].to_numpy() & ~(np.isnan(m) & ~np.isnan(d))
    yi = np.where(ok, y, 2000).astype(int)
    lo_m = np.where(np.isnan(m), 1, m).astype(int)
    hi_m = np.where(np.isnan(m), 12, m).astype(int)
    lo_d = np.where(np.isnan(d), 1, d).astype(int)
    hi_d = np.where(np.isnan(d), days_in_month(yi, hi_m), d).astype(int)
    lo = np.array([f"{a:04d}-{b:02d}-{c:02d}" if k else "" for a, b, c, k in
                   zip(yi, lo_m, lo_d, ok)], dtype=object)
    hi = np.array([f"{a:04d}-{b:02d}-{c:02d}" if k else "" for a, b, c, k in
                   zip(yi, hi_m, hi_d, ok)], dtype=object)
    return codes, lo, hi


def _date_range(dtc: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) day a date may stand for, as YYYY-MM-DD: the date itself when complete,
    the whole month or year when right-truncated, ('', '') otherwise."""
    codes, lo, hi = _distinct_date_ranges(dtc)
    return lo[codes], hi[codes]


@dataclass(frozen=True)
class SubjectElements:
    """SE prepared for :func:`derive_epoch_from_se`, once for all the domains that take an
    EPOCH from it: elements by subject and TAETORD, their first and last day as codes into
    the distinct day texts, and the element each subject has at each position (slot)."""
    subjects: pd.Index           # distinct USUBJID (text)
    start_codes: np.ndarray      # per element: code into start_days
    start_days: np.ndarray       # distinct YYYY-MM-DD texts (SESTDTC[:10])
    end_codes: np.ndarray
    end_days: np.ndarray
    end_known: np.ndarray        # SEENDTC given
    start_excl: np.ndarray       # a record on the start day belongs to the previous element
    end_incl: np.ndarray         # the end day is the element's own (no next element excludes it)
    epochs: np.ndarray
    slots: list                  # per position j: (subject codes, element rows) of slot j


def subject_elements(se: pd.DataFrame) -> SubjectElements:
    """Prepare SE (see :class:`SubjectElements`) for :func:`derive_epoch_from_se`."""
    _require(se, ["USUBJID", "SESTDTC", "SEENDTC", "EPOCH", "TAETORD", "__start_excl"],
             "derive_epoch_from_se", "SE")
    el = se[["USUBJID", "SESTDTC", "SEENDTC", "EPOCH", "TAETORD", "__start_excl"]].copy()
    el["USUBJID"] = _text(el["USUBJID"]).to_numpy()
    el = el.sort_values(["USUBJID", "TAETORD"], kind="stable").reset_index(drop=True)
    nxt_excl = el.groupby("USUBJID", sort=False)["__start_excl"].shift(-1)
    # days as text, cut once per distinct date
    start_codes, start_days = pd.factorize(el["SESTDTC"].astype(str))
    end_codes, end_days = pd.factorize(el["SEENDTC"].astype(str))
    start_days = np.array([d[:10] for d in start_days], dtype=object)
    end_days = np.array([d[:10] for d in end_days], dtype=object)
    subject_of_el, subjects = pd.factorize(el["USUBJID"])
    slot = el.groupby(subject_of_el, sort=False).cumcount().to_numpy()
    slots = [(subject_of_el[slot == j], np.flatnonzero(slot == j))
             for j in range(int(slot.max()) + 1 if len(slot) else 0)]
    return SubjectElements(
        subjects=pd.Index(subjects), start_codes=start_codes, start_days=start_days,
        end_codes=end_codes, end_days=end_days, end_known=(end_days != "")[end_codes],
        start_excl=el["__start_excl"].to_numpy(dtype=bool),
        end_incl=(nxt_excl.isna() | nxt_excl.astype(bool)).to_numpy(dtype=bool),
        epochs=el["EPOCH"].to_numpy(object), slots=slots)


def derive_epoch_from_se(frame: pd.DataFrame, *, date: str, se: pd.DataFrame,
                         partial_dates: str = "unassigned",
                         not_before: pd.Series | None = None,
                         elements: SubjectElements | None = None) -> pd.DataFrame:
    """EPOCH of each record: the EPOCH of the subject's element holding the record's date.

    An element holds the days from its SESTDTC (excluded when the element declares
    ``start_day: previous``, e.g. follow-up starting on the last dose day, which is still
    treatment) up to the next element's start (included when that element starts
    ``previous``) or, for the last element, up to SEENDTC included. Dates are compared on
    their day. A partial date gets the EPOCH when its first and last possible day lie in the
    same element (``2012-03`` wholly inside treatment is TREATMENT). When they lie in
    different elements, ``partial_dates`` says what to do: ``unassigned`` (default) leaves
    EPOCH null (SDTMIG 3.4 section 4.1.3.1 derives EPOCH from a date; a month holding the
    first dose does not tell which element); ``latest`` takes the element holding the last
    possible day, ``earliest`` the one holding the first possible day, moved up to the
    subject's ``not_before`` date (a Series by USUBJID, e.g. DM.RFXSTDTC) when that date is
    one of the possible days. ``earliest`` with ``not_before: RFXSTDTC`` is the date admiral
    imputes for a partial AE start (``derive_vars_dtm(highest_imputation = "M",
    date_imputation = "first", min_dates = TRTSDT)`` in its ADAE template), so a partial
    start in the month of the first dose gets the treatment EPOCH, as that AE is treatment
    emergent. Dates outside every element get a null EPOCH; when two elements hold a day,
    the first in TAETORD wins. An EPOCH already mapped is kept. ``elements``:
    :func:`subject_elements` of ``se``, when several domains take their EPOCH from one SE.
    """
    _require(frame, ["USUBJID", date], "derive_epoch_from_se")
    el = elements if elements is not None else subject_elements(se)
    if partial_dates not in ("unassigned", "earliest", "latest"):
        raise SpecError(f"derive_epoch_from_se: partial_dates is unassigned, earliest or "
                        f"latest, not {partial_dates!r}", rule="SPEC-DERIVE-VARIABLE")
    out = frame.copy(deep=False)      # new columns only: the caller's frame is kept
    codes, lo, hi = _distinct_date_ranges(out[date])
    # each record's subject, looked up once per distinct USUBJID
    ids, distinct_ids = distinct_codes(out["USUBJID"])
    id_text = np.append(np.array([str(u) for u in distinct_ids], dtype=object), "")
    id_of_row = np.where(ids < 0, len(id_text) - 1, ids)
    subject = el.subjects.get_indexer(id_text)[id_of_row]
    floors = np.array([""], dtype=object)
    floor_of_row = np.zeros(len(out), dtype=np.intp)
    if not_before is not None and partial_dates == "earliest":
        by_subject = pd.Series(_text(not_before).to_numpy(),
                               index=[str(s) for s in not_before.index])
        day = _text(pd.Series(id_text, dtype=object).map(by_subject)).to_numpy(object)
        # only a complete date is a day to move to
        floors = np.array([d[:10] if len(d) >= 10 else "" for d in day], dtype=object)
        floor_of_row = id_of_row
    # A record's EPOCH depends on its subject and its date only: it is decided once per
    # distinct pair (a subject's lesions or tests of one day are one pair) and spread to
    # the records at the end.
    date_of_row = np.where(codes < 0, codes + len(lo), codes)     # lo[-1] is lo[len - 1]
    pair_key, _span = combine_codes([(id_of_row, len(id_text)), (date_of_row, len(lo))],
                                    len(out), renumber=True)
    pair, first = factorize_keys(pair_key)
    codes, subject, floor_of_row = codes[first], subject[first], floor_of_row[first]
    # Days compare as text; ranking every distinct day once turns the comparisons of a
    # million records with their subject's elements into integer ones, element by element
    # (a subject has a handful) instead of joining every record to every element.
    lo_rank, hi_rank, s_rank, e_rank, f_rank = shared_text_ranks(
        lo, hi, el.start_days, el.end_days, floors)
    lo_rank, hi_rank = lo_rank[codes], hi_rank[codes]
    s_rank, e_rank = s_rank[el.start_codes], e_rank[el.end_codes]
    dated = (lo != "")[codes] & (subject >= 0)
    result = np.full(len(first), "", dtype=object)

    def place(first: np.ndarray, last: np.ndarray, open_: np.ndarray) -> None:
        """EPOCH of the element holding both days, for the open records."""
        for subject_codes, rows in el.slots:
            element_at = np.full(len(el.subjects), -1, dtype=np.intp)
            element_at[subject_codes] = rows
            e = element_at[np.where(open_, subject, 0)]
            ok = open_ & (e >= 0)
            e = np.where(ok, e, 0)

            def inside(day, e=e):
                after = np.where(el.start_excl[e], day > s_rank[e], day >= s_rank[e])
                before = np.where(el.end_incl[e], day <= e_rank[e], day < e_rank[e])
                return after & before & el.end_known[e]

            hit = ok & inside(first) & inside(last)
            result[hit] = el.epochs[e[hit]]
            open_ &= ~hit

    place(lo_rank, hi_rank, dated.copy())
    if partial_dates != "unassigned":
        spanning = dated & (result == "") & (lo_rank != hi_rank)
        day = hi_rank if partial_dates == "latest" else lo_rank
        if partial_dates == "earliest":
            floor = floors[floor_of_row]
            floor_rank = f_rank[floor_of_row]
            moved = (floor != "") & (floor_rank > lo_rank) & (floor_rank <= hi_rank)
            day = np.where(moved, floor_rank, day)
        place(day, day, spanning)
    result = pd.Series(result[pair], index=out.index, dtype=object, copy=False)
    if "EPOCH" in out:
        current = _text(out["EPOCH"])
        current.index = out.index
        out["EPOCH"] = current.where(current != "", result)
    else:
        out["EPOCH"] = result
    return out


def derive_sv(domains: dict[str, pd.DataFrame], sources: list[str], *, tv: pd.DataFrame,
              unscheduled_description: str = "") -> pd.DataFrame:
    """SV: one record per subject and visit held by the records of ``sources``
    (``DOMAIN.--DTC``, e.g. ``TR.TRDTC``), SVSTDTC/SVENDTC their earliest/latest date.

    VISITDY comes from TV (the planned day); a VISITNUM not in TV is an unplanned visit:
    SVPRESP null and SVUPDES ``unscheduled_description``. SVPRESP is Y for planned visits,
    and SVOCCUR Y for them (the records show it took place); an unplanned visit has SVPRESP
    and SVOCCUR null (SDTM v2.0: --OCCUR says whether a pre-specified visit occurred, so it
    is used only where --PRESP = Y; CDISC CORE CG0654).
    """
    pieces = []
    columns = ["STUDYID", "USUBJID", "VISITNUM", "VISIT"]
    for source in sources:
        frame, var = _source_frame(domains, source, columns, "derive_sv", "visits_from")
        dtc = _text(frame[var]).to_numpy()
        keep = frame["VISITNUM"].notna().to_numpy() & (dtc != "")
        # a record repeating an earlier one's five values changes nothing below (the first
        # record of a visit and its set of dates decide): TR's lesions and LB's tests of one
        # visit and date become one row, not millions
        arrays = [frame[c].to_numpy()[keep] for c in columns] + [dtc[keep]]
        fresh = ~duplicated_rows(arrays, keep="first")
        pieces.append(pd.DataFrame(dict(zip(columns + ["DTC"], (a[fresh] for a in arrays)))))
    stacked = pd.concat(pieces, ignore_index=True)
    # one integer per subject and visit (building "USUBJID|VISITNUM" text for a million
    # records cost more than the rest of SV)
    subject = pd.factorize(stacked["USUBJID"].astype(str))[0].astype(np.int64)
    visit_codes, visits = pd.factorize(stacked["VISITNUM"].astype(float))
    key_codes = pd.factorize(subject * (len(visits) + 1) + visit_codes)[0]
    key = pd.Series(key_codes, index=stacked.index)
    # each visit's first record, taken by position (groupby.first scanned each column); it
    # is what groupby.first gives unless a first record lacks a value
    first = stacked.iloc[first_occurrences(key_codes)].reset_index(drop=True)
    if first[["STUDYID", "USUBJID", "VISIT"]].isna().to_numpy().any():
        first = stacked.groupby(key, sort=False).first()      # first non-missing values
    sv = pd.DataFrame({"STUDYID": first["STUDYID"], "DOMAIN": "SV", "USUBJID": first["USUBJID"],
                       "VISITNUM": first["VISITNUM"].astype(float), "VISIT": first["VISIT"]})
    earliest, latest = earliest_and_latest_dtc(stacked["DTC"], by=key)
    sv["SVSTDTC"] = earliest.reindex(sv.index).fillna("")
    sv["SVENDTC"] = latest.reindex(sv.index).fillna("")
    planned = tv.drop_duplicates("VISITNUM").set_index("VISITNUM")["VISITDY"]
    sv["VISITDY"] = sv["VISITNUM"].map(planned).astype(float)
    in_tv = sv["VISITNUM"].isin(planned.index)
    # one shared object per text: np.where of str gives a fixed-width numpy text array,
    # which pandas turns into one new str object per record
    planned_visit = in_tv.to_numpy().astype(np.intp)
    sv["SVPRESP"] = np.array(["", "Y"], dtype=object).take(planned_visit)
    sv["SVOCCUR"] = sv["SVPRESP"].to_numpy()
    described = "" if unscheduled_description is None else str(unscheduled_description)
    sv["SVUPDES"] = np.array([described, ""], dtype=object).take(planned_visit)
    return sv.sort_values(["USUBJID", "VISITNUM"], kind="stable").reset_index(drop=True)


def add_study_days(frame: pd.DataFrame, mapping: dict[str, str], rfstdtc: pd.Series) -> pd.DataFrame:
    """--STDY/--ENDY of SE and SV (SDTMIG: day of the date against DM.RFSTDTC, no day 0)."""
    out = frame.copy(deep=False)
    ref = subject_values(out["USUBJID"], rfstdtc)
    for target, source in mapping.items():
        out[target] = study_day(out[source], ref).astype("Float64").astype(float)
    return out
