"""Cross-record SDTM derivations that run after every domain's records are built.

Each function takes a domain frame plus explicit parameters and returns a new frame: the
DM reference dates from other domains, VISIT/VISITNUM from a visit schedule, --DY, EPOCH,
baseline flags, --SEQ and the SUPPxx split.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import (combine_codes, order_by_ranks, shared_text_ranks,
                                       value_ranks)
from cdisc_convert.core.factorize import factorize_keys, value_codes
from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.expr import where_mask
from cdisc_convert.core.iso8601 import (earliest_dtc, is_complete_date, iso_to_date, latest_dtc,
                                         parse_dtc, study_day)
from .findings import Findings
from .variable_rules import distinct_codes, per_distinct


def per_distinct_text(values: pd.Series, func) -> np.ndarray:
    """``func`` run on the distinct values of ``values`` only, as text (``str``; missing
    values become one final ``""``), its result (one per distinct value) taken for every
    row. A domain's million dates hold a few thousand distinct values."""
    codes, uniques = distinct_codes(values)
    text = pd.Series(np.append(np.asarray(uniques, dtype=object), ""), dtype=object)
    result = np.asarray(func(text.astype(str)))
    return result[np.where(codes < 0, len(text) - 1, codes)]


def subject_values(subjects: pd.Series, values: pd.Series) -> pd.Series:
    """``subjects.map(values)`` (e.g. each record's RFSTDTC from DM's, by USUBJID), looked
    up once per distinct subject instead of hashing every record's identifier."""
    codes, uniques = distinct_codes(subjects)
    keys = pd.Series(np.append(np.asarray(uniques, dtype=object), np.nan), dtype=object)
    table = keys.map(values).to_numpy()
    return pd.Series(table[np.where(codes < 0, len(keys) - 1, codes)], index=subjects.index,
                     name=subjects.name, copy=False)


def _distinct_date_part(text: pd.Series) -> np.ndarray:
    complete = is_complete_date(text).to_numpy()
    return np.where(complete, text.str.strip().str.slice(0, 10), "").astype(object)


def _date_part(dtc: pd.Series) -> pd.Series:
    """The YYYY-MM-DD part of legal --DTC values complete to the day, '' otherwise (ISO
    text compares as dates)."""
    return pd.Series(per_distinct_text(dtc, _distinct_date_part), index=dtc.index,
                     dtype=object, copy=False)


def derive_reference_dates(dm: pd.DataFrame, domains: dict[str, pd.DataFrame],
                           rules: dict[str, dict], *, spec_path=None,
                           resolve=None) -> pd.DataFrame:
    """DM RF* dates from other domains: ``{RFXSTDTC: {earliest: EX.EXSTDTC, where: ...}}``.

    ``earliest`` / ``latest`` take one source or a list. A source is ``DOMAIN.VARIABLE`` (a
    built domain; the rule's ``where`` filters its records) or a raw table column
    ``{table: ds, date: DEATHDT, time: ..., formats: [...], where: ...}`` (as sdtm.oak's
    ``oak_cal_ref_dates`` reads raw dates); ``resolve(target, source)`` turns the latter into
    a frame of USUBJID and DTC. The earliest (latest) date per USUBJID over all sources wins
    (dates compared on their known part, see :func:`~.dates.earliest_dtc`), keeping the full
    precision of the chosen value. A variable already set in DM (e.g. mapped from raw) is
    only filled where it is blank.
    """
    out = dm.copy()
    for target, rule in rules.items():
        pick = "earliest" if "earliest" in rule else "latest" if "latest" in rule else None
        if pick is None:
            raise SpecError(f"reference date {target} needs `earliest:` or `latest:`",
                            file=spec_path, variable=target, rule="SPEC-DERIVE")
        sources = rule[pick] if isinstance(rule[pick], list) else [rule[pick]]
        pieces = []
        for source in sources:
            if isinstance(source, dict):
                if resolve is None:
                    raise SpecError(f"reference date {target}: raw-table sources need the raw "
                                    "tables", file=spec_path, variable=target,
                                    rule="SPEC-DERIVE")
                pieces.append(resolve(target, source))
                continue
            domain, _, variable = str(source).partition(".")
            frame = domains.get(domain.upper())
            if frame is None or variable not in frame:
                continue
            if rule.get("where"):
                frame = frame[where_mask(rule["where"], frame, file=spec_path)]
            pieces.append(frame[["USUBJID", variable]].rename(columns={variable: "DTC"}))
        if not pieces:
            values = pd.Series("", index=out.index)
        else:
            stacked = pd.concat(pieces, ignore_index=True)
            stacked = stacked[stacked["DTC"].fillna("") != ""]
            func = earliest_dtc if pick == "earliest" else latest_dtc
            per_subject = func(stacked["DTC"], by=stacked["USUBJID"]) if len(stacked) else pd.Series(dtype=object)
            values = out["USUBJID"].map(per_subject).fillna("")
        if target in out:
            current = out[target].fillna("").astype(str)
            out[target] = current.where(current != "", values)
        else:
            out[target] = values
    return out


def repeat_blocks(visits: dict) -> list[dict]:
    """The ``repeat:`` blocks of a visit schedule: one mapping or a list of them (e.g. the
    treatment cycles and the tumour assessments of an oncology study)."""
    rep = visits.get("repeat")
    if not rep:
        return []
    return list(rep) if isinstance(rep, list) else [rep]


def expand_schedule(visits: dict) -> pd.DataFrame:
    """The visit schedule as a frame: visit, visitnum, day (target study day), window, labels
    and start_rule (TVSTRL), the ``schedule:`` items first, then each ``repeat:`` block.

    A repeat block gives visit ``k`` (k = 0 .. count-1) the number n = first + k * step,
    VISITNUM = visitnum_start + k * visitnum_step (default 1) and the target day
    n * days_per_n + day_offset; ``visitnum_step`` lets two repeating series interleave in
    time order (cycles 10, 20, 30 ... and scans 35, 55 ...)."""
    rows = []
    for item in visits.get("schedule", []):
        rows.append({"visit": item["visit"], "visitnum": float(item["visitnum"]),
                     "day": item.get("day"), "window": item.get("window", 0),
                     "labels": [str(x).casefold() for x in item.get("labels", [item["visit"]])],
                     "start_rule": item.get("start_rule", "")})
    for rep in repeat_blocks(visits):
        for k in range(int(rep["count"])):
            n = int(rep["first"]) + k * int(rep.get("step", 1))
            rows.append({
                "visit": rep["visit"].format(n=n),
                "visitnum": round(float(rep["visitnum_start"]) + k * float(rep.get("visitnum_step", 1)), 6),
                "day": n * int(rep.get("days_per_n", 1)) + int(rep.get("day_offset", 0)),
                "window": rep.get("window", 0),
                "labels": [str(x).format(n=n).casefold() for x in rep.get("labels", [rep["visit"]])],
                "start_rule": str(rep.get("start_rule", "")).format(n=n),
            })
    return pd.DataFrame(rows, columns=["visit", "visitnum", "day", "window", "labels", "start_rule"])


def schedule_problems(schedule: pd.DataFrame) -> list[str]:
    """What makes an expanded visit schedule ambiguous: a VISITNUM, VISIT or label that two
    planned visits share (a label must name one visit; TV is keyed by VISITNUM)."""
    out = []
    for col, what in (("visitnum", "VISITNUM"), ("visit", "VISIT")):
        dup = schedule.loc[schedule[col].duplicated(keep=False), col]
        if len(dup):
            out.append(f"visits: {what} {', '.join(map(str, dict.fromkeys(dup)))} given to more "
                       "than one planned visit")
    labels = [lab for labs in schedule["labels"] for lab in labs]
    twice = sorted({lab for lab in labels if labels.count(lab) > 1})
    if twice:
        out.append(f"visits: label(s) {', '.join(twice)} name more than one planned visit")
    return out


def dense_rank_within(subjects: pd.Series, prev: np.ndarray, dates: pd.Series
                      ) -> np.ndarray | None:
    """Per record, the dense rank (1, 2, ...) of its date text among the dates of its group
    of subject and previous visit number (``prev``): what ``groupby([USUBJID, prev])[date]
    .rank(method="dense")`` gives, from integer codes and one sort instead of grouping by
    text. None when a subject or date is missing or a date is not text (the caller then
    asks pandas, which leaves such records unranked)."""
    subject, n_subjects = value_codes(subjects.to_numpy())
    codes, uniques = distinct_codes(dates)
    if (codes < 0).any() or pd.isna(subjects).any() or \
            not all(type(v) is str for v in uniques):
        return None
    day = value_ranks(np.asarray(uniques, dtype=object)).take(codes)
    visit, visits = pd.factorize(prev)
    group, _span = combine_codes([(subject, n_subjects), (visit, len(visits))], len(day),
                                 renumber=True)
    order = np.lexsort((day, group))
    group, day = group[order], day[order]
    starts = np.ones(len(group), dtype=bool)
    starts[1:] = group[1:] != group[:-1]
    new = starts.copy()
    new[1:] |= day[1:] != day[:-1]
    count = np.cumsum(new)
    first = count[starts][np.cumsum(starts) - 1]
    rank = np.empty(len(group), dtype=float)
    rank[order] = count - first + 1
    return rank


def derive_visit(frame: pd.DataFrame, *, label: str, date: str, schedule: pd.DataFrame,
                 unscheduled_labels, rfstdtc: pd.Series, domain: str,
                 findings: Findings) -> pd.DataFrame:
    """VISIT and VISITNUM from the collected visit label, or from the date by window.

    * A label of a scheduled visit gives that visit (a date outside its window is a warning).
    * An unscheduled label gives VISIT "UNSCHEDULED x.yy" and VISITNUM = the number of the last
      scheduled visit whose target day is on or before the record's study day + 0.01 per
      unscheduled date after it (per subject), the usual SDTM convention. Without a complete
      date it gives VISIT "UNSCHEDULED", no VISITNUM and a warning (MAP-VISIT-UNPLACED).
    * No label: the scheduled visit whose window holds the study day.
    """
    out = frame.copy(deep=False)      # new columns only: the caller's frame is kept
    # the label decided once per distinct label text (stripped, casefolded; the last one
    # stands for a missing label): a million records hold a few hundred labels
    label_codes, label_values = distinct_codes(out[label])
    labels = np.array([str(v).strip().casefold() for v in label_values] + [""], dtype=object)
    label_of_row = np.where(label_codes < 0, len(labels) - 1, label_codes)
    # one row of the schedule per label; -1 where the label is not a scheduled visit
    label_row = {lab: i for i, row in enumerate(schedule.itertuples()) for lab in row.labels}
    row_of = np.array([label_row.get(lab, -1) for lab in labels], dtype=int)[label_of_row]
    found_label = row_of >= 0
    hit = pd.Series(np.where(found_label, 0, np.nan), index=out.index)   # NaN: no scheduled label
    take = np.clip(row_of, 0, None)
    dy = study_day(out[date], subject_values(out["USUBJID"], rfstdtc))
    # a planned visit without a name is "" here already: no per-record fillna at the end
    visit = pd.Series(np.where(found_label, schedule["visit"].fillna("").to_numpy(object)[take],
                               ""), index=out.index, dtype=object)
    visitnum = pd.Series(np.where(found_label, schedule["visitnum"].to_numpy(float)[take], np.nan),
                         index=out.index)
    target = pd.Series(np.where(found_label, schedule["day"].to_numpy(float)[take], np.nan),
                       index=out.index)
    window = pd.Series(np.where(found_label, schedule["window"].to_numpy(float)[take], np.nan),
                       index=out.index)
    outside = dy.notna() & target.notna() & ((dy.astype(float) - target).abs() > window) & (window > 0)
    if outside.any():
        findings.add("warning", "MAP-VISIT-WINDOW", "date outside the visit window",
                     domain=domain, variable=date, table=out.loc[outside].get("__table"),
                     rows=out.loc[outside].get("__row"), values=out.loc[outside, label])
    unscheduled_texts = {str(x).casefold() for x in unscheduled_labels}
    unscheduled = pd.Series(np.array([lab in unscheduled_texts for lab in labels],
                                     dtype=bool)[label_of_row], index=out.index)
    by_date = hit.isna() & ~unscheduled & (labels == "")[label_of_row]
    # by target day, then VISITNUM: of two visits planned the same day (cycle 3 and the week-6
    # scan) the later-numbered one precedes an unscheduled visit after that day
    sched_days = schedule.dropna(subset=["day"]).sort_values(["day", "visitnum"], kind="stable")
    if (unscheduled | by_date).any():
        days = dy.astype(float)
        pos = np.searchsorted(sched_days["day"].to_numpy(float), days.fillna(-1e9).to_numpy(), side="right") - 1
        prev_num = np.where(pos >= 0, sched_days["visitnum"].to_numpy()[np.clip(pos, 0, None)], 0.0)
        # unscheduled: previous scheduled visitnum + 0.01 * rank of the date within the gap
        out["__unsched_prev"] = np.where(unscheduled, prev_num, np.nan)   # see renumber_unscheduled
        chosen = unscheduled.to_numpy()
        rank = dense_rank_within(out.loc[unscheduled, "USUBJID"], prev_num[chosen],
                                 out.loc[unscheduled, date])
        if rank is None:        # a missing subject or date: pandas' own grouping of them
            u = out[unscheduled].assign(_prev=prev_num[chosen], _date=out.loc[unscheduled, date])
            rank = u.groupby(["USUBJID", "_prev"])["_date"].rank(method="dense").to_numpy()
        visitnum[unscheduled] = np.round(prev_num[chosen] + 0.01 * rank, 2)
        visit[unscheduled] = per_distinct(visitnum[unscheduled],
                                          lambda n: f"UNSCHEDULED {n:.2f}").to_numpy()
        # a partial (or missing) date cannot be placed between scheduled visits: no number
        # rather than a guessed one (0.01 would sort it before screening)
        unplaced = unscheduled & days.isna()
        if unplaced.any():
            visitnum[unplaced] = np.nan
            visit[unplaced] = "UNSCHEDULED"
            findings.add("warning", "MAP-VISIT-UNPLACED", "unscheduled visit without a complete "
                         "date: VISITNUM left missing (it cannot be placed between scheduled "
                         "visits)", domain=domain, variable=date,
                         table=out.loc[unplaced].get("__table"),
                         rows=out.loc[unplaced].get("__row"), values=out.loc[unplaced, date])
        # by window
        if by_date.any():
            d = days[by_date]
            lo = (sched_days["day"] - sched_days["window"]).to_numpy(float)
            hi = (sched_days["day"] + sched_days["window"]).to_numpy(float)
            inside = (d.to_numpy()[:, None] >= lo) & (d.to_numpy()[:, None] <= hi)
            found = inside.any(axis=1)
            first = inside.argmax(axis=1)
            visitnum[by_date] = np.where(found, sched_days["visitnum"].to_numpy()[first], np.nan)
            visit[by_date] = np.where(found, sched_days["visit"].fillna("").to_numpy()[first], "")
    unknown = hit.isna() & ~unscheduled & ~by_date
    if unknown.any():
        findings.add("error", "MAP-VISIT", "visit label not in the study's visit schedule",
                     domain=domain, variable=label, table=out.loc[unknown].get("__table"),
                     rows=out.loc[unknown].get("__row"), values=out.loc[unknown, label])
    out["VISIT"] = visit
    out["VISITNUM"] = visitnum
    return out


def _reached_visits(planned: list[pd.DataFrame]) -> pd.DataFrame:
    """USUBJID, D, VN: per subject and date of its planned-visit records, the highest
    VISITNUM reached by that date (a running maximum over the subject's dates), by D.

    The millions of planned records are first cut to one per subject and date (their
    highest VISITNUM) on integer codes, so only those are sorted."""
    empty = pd.DataFrame({"USUBJID": pd.Series(dtype=object),
                          "D": pd.Series(dtype="datetime64[ns]"), "VN": pd.Series(dtype=float)})
    parts = [p for p in planned if len(p)]
    ids = [distinct_codes(p["USUBJID"]) for p in parts]
    if not parts or any((codes < 0).any() for codes, _ in ids):
        # a record without USUBJID: pandas' own grouping of missing keys
        p = pd.concat(planned + [empty], ignore_index=True).sort_values(["USUBJID", "D"],
                                                                         kind="stable")
        p["VN"] = p.groupby("USUBJID")["VN"].cummax()
        return p.drop_duplicates(["USUBJID", "D"], keep="last").sort_values("D", kind="stable")
    # one subject number for all domains, from each domain's distinct identifiers
    subject_codes, subjects = pd.factorize(np.concatenate(
        [np.asarray(uniques, dtype=object) for _, uniques in ids]))
    offsets = np.cumsum([0] + [len(uniques) for _, uniques in ids])
    subject = np.concatenate([subject_codes[offset + codes] for (codes, _), offset
                              in zip(ids, offsets)])
    day = np.concatenate([p["D"].to_numpy(dtype="datetime64[ns]").view(np.int64)
                          for p in parts])
    visitnum = np.concatenate([p["VN"].to_numpy(dtype=float) for p in parts])
    highest = pd.Series(visitnum).groupby([subject, day], sort=True).max()
    reached = highest.groupby(level=0, sort=False).cummax()
    out = pd.DataFrame({
        "USUBJID": np.asarray(subjects, dtype=object)[reached.index.get_level_values(0)],
        "D": reached.index.get_level_values(1).to_numpy(dtype=np.int64).view("datetime64[ns]"),
        "VN": reached.to_numpy(dtype=float)})
    return out.sort_values("D", kind="stable")


def highest_per_day(subjects: pd.Series, days: pd.Series, visitnums: pd.Series) -> pd.DataFrame:
    """USUBJID, D, VN: one row per subject and day, its highest VISITNUM (rows in the order
    of each pair's first record). The planned records of a domain reduced to what
    :func:`_reached_visits` reads of them: a subject's tests or lesions of one day are one
    row instead of tens (at 50,000 subjects the planned records of TR, RS, LB, VS and TU
    are ~6 million, and grouping them all by subject and day held ~1 GB).
    Subjects missing an identifier are left as they are (its fallback groups them)."""
    frame = pd.DataFrame({"USUBJID": subjects, "D": days, "VN": visitnums})
    subject, distinct = distinct_codes(frame["USUBJID"])
    if not len(frame) or (subject < 0).any():
        return frame
    day, day_values = pd.factorize(frame["D"].to_numpy(dtype="datetime64[ns]").view(np.int64))
    key, _span = combine_codes([(subject, len(distinct)), (day, len(day_values))], len(frame),
                               renumber=True)
    pair, first = factorize_keys(key)
    highest = np.full(len(first), -np.inf)
    np.maximum.at(highest, pair, frame["VN"].to_numpy(dtype=float))
    out = frame.take(first).reset_index(drop=True)
    out["VN"] = highest
    return out


def renumber_unscheduled(frames: dict[str, pd.DataFrame], dates: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Unscheduled visits numbered against the visits the subject actually had, in every
    domain at once (SDTMIG 3.4 section 4.4.5: an unplanned visit's VISITNUM lies between
    those of the visits around it).

    ``frames`` are the domains after :func:`derive_visit` (``dates``: each one's --DTC).
    An unscheduled record with a complete date gets VISITNUM = p + 0.01 x k, where p is the
    highest VISITNUM of the subject's planned-visit records (any domain) dated on or before
    it — or, when there is none, the planned visit by target day that ``derive_visit``
    chose — and k numbers the distinct unscheduled dates after p (per subject), so that a
    blood count and a scan of the same unscheduled day share one visit and two days never
    do. VISIT becomes ``UNSCHEDULED p.kk``. Frames without unscheduled records are
    returned unchanged."""
    for name, frame in frames.items():
        missing = [c for c in ("USUBJID", "VISITNUM", "VISIT", dates.get(name, "?"))
                   if c not in frame]
        if "__unsched_prev" in frame and missing:
            raise SpecError(f"renumber_unscheduled: {name} lacks {', '.join(missing)}")
    with_u = {n: f for n, f in frames.items() if "__unsched_prev" in f}
    if not with_u:
        return frames
    def day(frame, name):
        # converted once per distinct date text (missing: the last, "")
        codes, values = distinct_codes(pd.Series(frame[dates[name]], dtype=object))
        text = pd.Series(np.append(np.asarray(values, dtype=object), ""), dtype=object)
        days = iso_to_date(text.fillna("")).to_numpy()
        return pd.Series(days[np.where(codes < 0, len(text) - 1, codes)], index=frame.index)
    planned, unplanned = [], []
    for name, frame in frames.items():
        if "VISITNUM" not in frame or name not in dates or dates[name] not in frame:
            continue
        is_u = frame["__unsched_prev"].notna() if "__unsched_prev" in frame else \
            pd.Series(False, index=frame.index)
        d = day(frame, name)
        ok = frame["VISITNUM"].notna() & d.notna()
        planned.append(highest_per_day(frame.loc[ok & ~is_u, "USUBJID"], d[ok & ~is_u],
                                       frame.loc[ok & ~is_u, "VISITNUM"].astype(float)))
        if is_u.any():
            unplanned.append(pd.DataFrame({"DOM": name, "IDX": frame.index[ok & is_u],
                                           "USUBJID": frame.loc[ok & is_u, "USUBJID"].to_numpy(),
                                           "D": d[ok & is_u].to_numpy(),
                                           "PREV0": frame.loc[ok & is_u, "__unsched_prev"].to_numpy()}))
    if not unplanned:
        return {n: f.drop(columns="__unsched_prev", errors="ignore") for n, f in frames.items()}
    u = pd.concat(unplanned, ignore_index=True)
    p = _reached_visits(planned)
    u = pd.merge_asof(u.sort_values("D", kind="stable"), p, on="D", by="USUBJID",
                      direction="backward")
    u["PREV"] = u["VN"].where(u["VN"].notna(), u["PREV0"])
    u["RANK"] = u.groupby(["USUBJID", "PREV"])["D"].rank(method="dense")
    u["NUM"] = (u["PREV"] + 0.01 * u["RANK"]).round(2)
    out = {}
    for name, frame in frames.items():
        part = u[u["DOM"] == name]
        if len(part):
            # two new columns, not a copy of the whole domain
            at = frame.index.get_indexer(part["IDX"].to_numpy())
            frame = frame.copy(deep=False)
            visitnum = frame["VISITNUM"].to_numpy(copy=True)
            visitnum[at] = part["NUM"].to_numpy()
            visit = frame["VISIT"].to_numpy(dtype=object, copy=True)
            visit[at] = [f"UNSCHEDULED {n:.2f}" for n in part["NUM"]]
            frame["VISITNUM"] = visitnum
            frame["VISIT"] = visit
        out[name] = frame.drop(columns="__unsched_prev", errors="ignore")
    return out


def derive_study_days(frame: pd.DataFrame, mapping: dict[str, str],
                      rfstdtc: pd.Series) -> pd.DataFrame:
    """--DY = date − RFSTDTC (+1 on or after); no day 0; only for complete dates."""
    out = frame.copy(deep=False)      # new columns only: the caller's frame is kept
    ref = subject_values(out["USUBJID"], rfstdtc)
    for target, source in mapping.items():
        out[target] = study_day(out[source], ref).astype("Float64").astype(float)
    return out


def derive_epoch(frame: pd.DataFrame, *, date: str, dm: pd.DataFrame,
                 epochs: list[dict]) -> pd.DataFrame:
    """EPOCH from the record date against DM reference dates.

    ``epochs`` is ordered, e.g. ``[{epoch: SCREENING, before: RFXSTDTC}, {epoch: TREATMENT,
    until: RFXENDTC}, {epoch: FOLLOW-UP}]``: the first whose condition holds wins; dates are
    compared on their date part; a partial date gets no EPOCH.
    """
    out = frame.copy(deep=False)      # new columns only: the caller's frame is kept
    day = _date_part(out[date])
    result = pd.Series("", index=out.index, dtype=object)
    decided = day == ""
    refs = dm.set_index("USUBJID")
    for item in epochs:
        cond = pd.Series(True, index=out.index)
        if "before" in item:
            ref = _date_part(subject_values(out["USUBJID"], refs[item["before"]]))
            cond = (ref != "") & (day < ref)
        elif "until" in item:
            ref = _date_part(subject_values(out["USUBJID"], refs[item["until"]]))
            cond = (ref != "") & (day <= ref)
        take = cond & ~decided
        result[take] = item["epoch"]
        decided |= take
    if "EPOCH" in out:
        current = out["EPOCH"].fillna("").astype(str)
        out["EPOCH"] = current.where(current != "", result)
    else:
        out["EPOCH"] = result
    return out


def sort_key(column: pd.Series) -> pd.Series:
    """Numeric-aware sort key: a text column whose non-blank values are all numbers sorts as
    numbers (VISITNUM "10" after "2"), blanks last; any other column sorts as it is."""
    if pd.api.types.is_numeric_dtype(column) or column.dtype == bool:
        return column
    # decided per distinct value (a million rows hold a few thousand): parsing every row
    # as a number was most of the time of sorting a large domain
    codes, uniques = distinct_codes(column)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip()
    given = (text != "").to_numpy()
    if not given.any():
        return column
    numbers = pd.to_numeric(text.where(given), errors="coerce").to_numpy(dtype=float)
    if np.isnan(numbers[given]).any():
        return column
    return pd.Series(np.append(numbers, np.nan)[codes], index=column.index, name=column.name,
                     copy=False)


def _distinct_moment(text: pd.Series) -> np.ndarray:
    day = _distinct_date_part(text)
    parts = parse_dtc(text)
    timed = (day != "") & parts["h"].notna().to_numpy() & parts["m"].notna().to_numpy()
    minute = np.where(timed, text.str[:16], "").astype(object)
    return np.stack([day, minute], axis=1)


def derive_baseline_flag(frame: pd.DataFrame, *, flag: str, by: list[str], date: str,
                         reference: pd.Series | None = None, where=None,
                         order: list[str] | tuple = (), visits: list | None = None
                         ) -> pd.DataFrame:
    """--LOBXFL: flag (Y) the last record per ``by`` group with a non-missing result taken
    on or before the subject's reference start (SDTMIG 3.4: "Last Observation Before
    Exposure Flag", the last non-missing value prior to RFXSTDTC).

    * Candidates have a result: ``where`` when given, else a non-blank --ORRES (or --STRESC)
      and no --STAT NOT DONE, the prefix taken from ``flag``.
    * "On or before" compares date and time when both the record and ``reference`` have a
      time, otherwise dates (a record on the day of the first dose without a time counts as
      before it: pre-dose assessments are usually collected then). Records with a partial
      date cannot be placed and are never candidates.
    * The last candidate is the latest date (time), then the last by ``order`` (e.g.
      --TPTNUM, numbers compared as numbers); ties keep the record order.
    * ``visits`` (the alternative "by visit"): candidates are the records whose VISIT is one
      of these (case-insensitive) instead of those on or before the reference.
    """
    need = [date] + list(by) + list(order) + (["VISIT"] if visits else [])
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SpecError(f"derive_baseline_flag: {flag} needs {', '.join(missing)}, which the "
                        "domain does not have", variable=flag, rule="SPEC-DERIVE-VARIABLE")
    out = frame.copy(deep=False)      # new columns only: the caller's frame is kept
    rows, moments = _moment_table(out[date])
    day = pd.Series(moments[:, 0][rows], index=out.index, dtype=object, copy=False)
    minute = pd.Series(moments[:, 1][rows], index=out.index, dtype=object, copy=False)
    cand = pd.Series((moments[:, 0] != "")[rows], index=out.index)
    if visits:
        wanted = {str(v).strip().casefold() for v in visits}
        cand &= out["VISIT"].fillna("").astype(str).str.strip().str.casefold().isin(wanted)
    else:
        cand &= _on_or_before(rows, moments, out["USUBJID"], reference)
    if where is not None:
        cand &= where_mask(where, out)
    else:
        pre = flag[:-6] if flag.endswith("LOBXFL") else flag[:2]
        results = [c for c in (f"{pre}ORRES", f"{pre}STRESC") if c in out.columns]
        for column in results[:1]:
            given = per_distinct_text(out[column], lambda t: t.str.strip() != "")
            for other in results[1:]:
                given |= per_distinct_text(out[other], lambda t: t.str.strip() != "")
            cand &= given
        if f"{pre}STAT" in out.columns:
            cand &= per_distinct_text(out[f"{pre}STAT"], lambda t: t.str.strip() != "NOT DONE")
    out[flag] = ""
    # only the columns the choice reads: not a copy of the whole domain's candidates
    c = out.loc[cand, list(dict.fromkeys([*by, *order]))].assign(_day=day[cand],
                                                                   _minute=minute[cand])
    if len(c):
        positions = sorted_positions(c, ["_day", "_minute", *order])
        c = (c.sort_values(["_day", "_minute", *order], kind="stable", key=sort_key)
             if positions is None else c.take(positions))
        # a missing value is a group too: a variable a block does not map (VSPOS of WEIGHT)
        last = (c.index[last_of_groups([c[b].to_numpy() for b in by])] if by else
                c.groupby(list(by), sort=False, dropna=False).tail(1).index)
        out.loc[last, flag] = "Y"
    return out


def last_of_groups(columns: list[np.ndarray]) -> np.ndarray:
    """Positions (ascending) of the last row of each group of rows holding equal values in
    ``columns`` (arrays of one length; missing values form a group, as
    ``groupby(dropna=False).tail(1)`` has it): each column numbered by value, the codes
    combined into one integer per row, and the first occurrences of the reversed keys
    taken, instead of hashing a million rows' texts column by column."""
    length = len(columns[0])
    key, _span = combine_codes([value_codes(np.asarray(c)) for c in columns], length,
                               renumber=True)
    return np.sort(length - 1 - factorize_keys(np.ascontiguousarray(key[::-1]))[1])


def _moment_table(dtc: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(row -> distinct value, per distinct value: the date part of a complete date or '',
    and YYYY-MM-DDThh:mm where a time is known or ''); the last distinct value is the
    missing one."""
    codes, uniques = distinct_codes(dtc)
    text = pd.Series(np.append(np.asarray(uniques, dtype=object), ""), dtype=object)
    moments = np.asarray(_distinct_moment(text.astype(str)))
    return np.where(codes < 0, len(text) - 1, codes), moments


def _on_or_before(rows: np.ndarray, moments: np.ndarray, subjects: pd.Series,
                  reference: pd.Series | None) -> np.ndarray:
    """Per record (``rows``/``moments`` of :func:`_moment_table`): its subject's reference
    moment is known and the record is on or before it (times when both have one, days
    otherwise). Day and minute texts compare as their ranks among the distinct values, so
    a million records compare integers (and the reference is looked up per subject)."""
    ids, distinct_ids = distinct_codes(subjects)
    keys = pd.Series(np.append(np.asarray(distinct_ids, dtype=object), np.nan), dtype=object)
    ref = keys.map(reference) if reference is not None else pd.Series("", index=keys.index)
    ref_rows, ref_moments = _moment_table(ref)
    ref_rows = ref_rows[np.where(ids < 0, len(keys) - 1, ids)]
    verdict = []
    for part in (0, 1):            # day, minute
        mine, theirs = moments[:, part], ref_moments[:, part]
        mine_rank, their_rank = shared_text_ranks(mine, theirs)
        verdict.append((mine_rank[rows], their_rank[ref_rows],
                        (mine != "")[rows], (theirs != "")[ref_rows]))
    (day, ref_day, _, ref_day_known), (minute, ref_minute, timed, ref_timed) = verdict
    both_timed = timed & ref_timed
    return ref_day_known & np.where(both_timed, minute <= ref_minute, day <= ref_day)


def _sort_codes(column: pd.Series, numeric_text: bool = True
                ) -> tuple[np.ndarray, int, bool] | None:
    """(rank per row, number of ranks, any missing) of ``column`` in the order
    ``sort_values(key=sort_key)`` gives it (missing last), or None when it cannot tell;
    ``numeric_text=False``: the order of ``sort_values`` without a key.

    Text is ranked once per distinct value (distinct objects first, see
    :func:`distinct_codes`), so a row only carries an integer."""
    if pd.api.types.is_numeric_dtype(column) or column.dtype == bool:
        values = column.to_numpy()
        if values.dtype.kind not in "biuf":
            return None
        values = values.astype(float) if values.dtype.kind == "f" else values
        missing = np.isnan(values) if values.dtype.kind == "f" else np.zeros(len(values), bool)
        ranks = value_ranks(values)
        return ranks, int(ranks.max()) + 1 if len(ranks) else 0, bool(missing.any())
    if column.dtype != object:
        return None
    codes, uniques = distinct_codes(column)
    numbers = None
    if numeric_text:        # as sort_key decides it
        text = pd.Series(uniques, dtype=object).astype(str).str.strip()
        given = (text != "").to_numpy()
        # a few values first: identifiers and names are not numbers, and converting
        # fifty thousand of them only to find that out cost more than the sort
        if given.any() and not pd.to_numeric(text[given][:20], errors="coerce").isna().any():
            numbers = pd.to_numeric(text.where(given), errors="coerce").to_numpy(dtype=float)
    if numbers is not None and not np.isnan(numbers[given]).any():
        keys = np.append(numbers, np.nan)          # blanks and missing values: NaN, last
    else:
        try:
            keys = np.asarray(uniques, dtype=object)
            ranks = value_ranks(keys)
        except TypeError:
            return None
        keys = np.append(ranks, len(keys)).astype(np.int64)   # missing values last
    ranks = value_ranks(keys)[np.where(codes < 0, len(keys) - 1, codes)]
    missing = bool((codes < 0).any()) or (keys.dtype.kind == "f" and bool(
        np.isnan(keys[np.unique(codes[codes >= 0])]).any()))
    return ranks, int(ranks.max()) + 1 if len(ranks) else 0, missing


def sorted_positions(frame: pd.DataFrame, columns: list[str], *,
                     numeric_text: bool = True, ranked: dict | None = None
                     ) -> np.ndarray | None:
    """Row positions ordering ``frame`` as ``sort_values(columns, kind="stable",
    key=sort_key)`` does (without the key when not ``numeric_text``), or None when it
    cannot tell (values that do not compare, too
    many combinations for one 64-bit key): every column ranked once per distinct value and
    the ranks combined into one integer key, one stable argsort (pandas sorts each text
    column's million values as objects). ``ranked``: :func:`_sort_codes` of columns the
    caller has already ranked."""
    ranked = ranked or {}
    keys = (ranked.get(c) or _sort_codes(frame[c], numeric_text) for c in columns)
    return order_by_ranks(len(frame), (None if k is None else k[:2] for k in keys))


def derive_seq(frame: pd.DataFrame, *, name: str, by: list[str], order: list[str]) -> pd.DataFrame:
    """--SEQ: 1, 2, ... per ``by`` group in ``order`` (stable, so reruns give the same numbers;
    numeric text such as a raw VISITNUM sorts as numbers, see :func:`sort_key`)."""
    groups = [_sort_codes(frame[c]) for c in by]
    positions = (None if any(g is None or g[2] for g in groups)
                 else sorted_positions(frame, by + order, ranked=dict(zip(by, groups))))
    if positions is None:      # a missing group value or values that do not compare
        out = frame.sort_values(by + order, kind="stable", key=sort_key).reset_index(drop=True)
        out[name] = out.groupby(by, sort=False).cumcount().astype(float) + 1
        return out
    out = frame.take(positions).reset_index(drop=True)
    # rows of one group are adjacent once sorted: the count restarts where the group changes
    group = np.zeros(len(frame), dtype=np.int64)
    for ranks, size, _missing in groups:
        group = group * max(size, 1) + ranks
    group = group[positions]
    start = np.ones(len(group), dtype=bool)
    start[1:] = group[1:] != group[:-1]
    at = np.flatnonzero(start)
    counts = np.arange(len(group)) - np.repeat(at, np.diff(np.append(at, len(group))))
    out[name] = counts.astype(float) + 1
    return out


def split_supp(supp_long: pd.DataFrame, parent: pd.DataFrame, *, domain: str,
               seq: str | None) -> pd.DataFrame:
    """SUPPxx records for the non-standard values of ``parent`` (one row per QNAM and record).

    ``supp_long`` has the parent's row id ``__rid`` and QNAM, QLABEL, QVAL, QORIG, QEVAL.
    """
    columns = ["STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM", "QLABEL", "QVAL",
               "QORIG", "QEVAL"]
    if supp_long.empty:
        return pd.DataFrame(columns=columns)
    keys = parent[["__rid", "STUDYID", "USUBJID"] + ([seq] if seq else [])]
    merged = supp_long.merge(keys, on="__rid", how="inner")
    merged = merged[merged["QVAL"].fillna("").astype(str) != ""]
    merged["RDOMAIN"] = domain
    merged["IDVAR"] = seq or ""
    if seq:     # formatted once per distinct number (a million records hold a few hundred)
        codes, numbers = pd.factorize(merged[seq], use_na_sentinel=False)
        texts = np.array([f"{v:.0f}" for v in numbers], dtype=object)
        merged["IDVARVAL"] = texts[codes]
    else:
        merged["IDVARVAL"] = ""
    by = ["USUBJID", "QNAM"] + ([seq] if seq else [])
    positions = sorted_positions(merged, by, numeric_text=False)
    merged = (merged.sort_values(by, kind="stable") if positions is None
              else merged.take(positions))
    return merged[columns].reset_index(drop=True)

