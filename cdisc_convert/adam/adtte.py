"""ADTTE, time-to-event analysis dataset (OS, PFS, duration of response), admiral style.

Admiral's ``derive_param_tte`` works with *event* and *censoring* sources; so does
:func:`derive_param_tte` here. A source is a frame with one or more candidate dates per
subject and its traceability: ``USUBJID, ADT, EVNTDESC, CNSDTDSC, SRCDOM, SRCVAR, SRCSEQ``.
The rule, per subject with a start date:

* among event dates the earliest wins (ties: the source listed first);
* without an event, among censoring dates the latest wins (ties: the source listed last, so
  OS of a subject whose last-alive date equals the randomization date is censored at
  "Randomization", as in the pharmaverse ADTTE);
* an event always beats a censoring; dates before the start are moved to the start;
* ``AVAL = ADT − STARTDT + 1`` (days), ``CNSR`` 0 for an event, 1 for a censoring.

Sources (admiralonco's ``death_event``, ``pd_event``, ``lasta_censor``,
``lastalive_censor``, ``rand_censor``): :func:`death_event`, :func:`pd_event`,
:func:`lasta_censor`, :func:`lastalive_censor`, :func:`start_censor`.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import with_columns
from cdisc_convert.core.errors import InputError, SpecError

from .config import AdamConfig, PfsConfig, PfsRule
from .imputation import as_datetime

__all__ = [
    "death_event",
    "pd_event",
    "lasta_censor",
    "lastalive_censor",
    "start_censor",
    "derive_param_tte",
    "derive_param_pfs",
    "pfs_method_text",
    "method_text",
    "variable_texts",
    "build_adtte",
]

SOURCE_COLUMNS = ["USUBJID", "ADT", "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]
OUT_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "CNSR",
               "EVNTDESC", "CNSDTDSC", "SRCDOM", "SRCVAR", "SRCSEQ"]
ADSL_VARS = ["AGE", "SEX", "ARM", "ARMCD", "ACTARM", "ACTARMCD"]


def _source(usubjid, adt, *, evntdesc, cnsdtdsc, srcdom, srcvar, srcseq=None) -> pd.DataFrame:
    out = pd.DataFrame({"USUBJID": np.asarray(usubjid, dtype=object),
                        "ADT": pd.to_datetime(pd.Series(np.asarray(adt))).to_numpy()})
    out["EVNTDESC"] = evntdesc
    out["CNSDTDSC"] = cnsdtdsc
    out["SRCDOM"] = srcdom
    out["SRCVAR"] = srcvar
    out["SRCSEQ"] = np.asarray(srcseq, dtype=float) if srcseq is not None else np.nan
    return out[out["ADT"].notna().to_numpy()][SOURCE_COLUMNS]


def _param_rows(adrs: pd.DataFrame, paramcd: str, avalc: str | None = "Y") -> pd.DataFrame:
    rows = adrs[adrs["PARAMCD"].eq(paramcd).to_numpy()]
    if "ANL01FL" in rows.columns:
        rows = rows[rows["ANL01FL"].eq("Y").to_numpy()]
    if avalc is not None:
        rows = rows[rows["AVALC"].eq(avalc).to_numpy()]
    return rows[rows["ADT"].notna().to_numpy()]


def death_event(adrs: pd.DataFrame | None, adsl: pd.DataFrame, *, paramcd: str = "DEATH",
                death_date: str = "DTHDT") -> pd.DataFrame:
    """Death as event: the ADRS DEATH = Y record (SRCDOM ADRS, SRCVAR ADT, SRCSEQ its ASEQ, as
    admiralonco); ADSL ``death_date`` when ADRS has no DEATH parameter."""
    if adrs is not None and adrs["PARAMCD"].eq(paramcd).any():
        rows = _param_rows(adrs, paramcd)
        return _source(rows["USUBJID"], rows["ADT"], evntdesc="Death", cnsdtdsc=None,
                       srcdom="ADRS", srcvar="ADT", srcseq=rows.get("ASEQ"))
    rows = adsl[adsl[death_date].notna()] if death_date in adsl.columns else adsl.iloc[0:0]
    return _source(rows["USUBJID"], rows[death_date] if len(rows) else [], evntdesc="Death",
                   cnsdtdsc=None, srcdom="ADSL", srcvar=death_date)


def pd_event(adrs: pd.DataFrame, *, paramcd: str = "PD") -> pd.DataFrame:
    """First disease progression as event: the ADRS ``paramcd`` = Y record."""
    rows = _param_rows(adrs, paramcd)
    return _source(rows["USUBJID"], rows["ADT"], evntdesc="Disease Progression", cnsdtdsc=None,
                   srcdom="ADRS", srcvar="ADT", srcseq=rows.get("ASEQ"))


def lasta_censor(adrs: pd.DataFrame, *, paramcd: str = "LSTA") -> pd.DataFrame:
    """Censoring at the last tumour assessment: the dated ADRS ``paramcd`` record."""
    rows = _param_rows(adrs, paramcd, avalc=None)
    return _source(rows["USUBJID"], rows["ADT"], evntdesc="Last Tumor Assessment",
                   cnsdtdsc="Last Tumor Assessment", srcdom="ADRS", srcvar="ADT",
                   srcseq=rows.get("ASEQ"))


def lastalive_censor(adsl: pd.DataFrame, *, date: str = "LSTALVDT") -> pd.DataFrame:
    """Censoring at the last date known alive (ADSL LSTALVDT)."""
    rows = adsl[adsl[date].notna()] if date in adsl.columns else adsl.iloc[0:0]
    return _source(rows["USUBJID"], rows[date] if len(rows) else [], evntdesc="Alive",
                   cnsdtdsc="Alive During Study", srcdom="ADSL", srcvar=date)


def start_censor(adsl: pd.DataFrame, *, start: str, label: str) -> pd.DataFrame:
    """Censoring at the start date itself (admiralonco ``rand_censor`` for RANDDT)."""
    rows = adsl[adsl[start].notna()]
    return _source(rows["USUBJID"], rows[start], evntdesc=label, cnsdtdsc=label, srcdom="ADSL",
                   srcvar=start)


def derive_param_tte(adsl: pd.DataFrame, *, start: str | pd.Series,
                     events: Sequence[pd.DataFrame], censors: Sequence[pd.DataFrame],
                     set_values: Mapping[str, object]) -> pd.DataFrame:
    """One time-to-event parameter (admiral ``derive_param_tte``), see the module docstring.

    ``start`` is an ADSL column name or a Series of start dates aligned with ``adsl``.
    Subjects without a start date, or with neither event nor censoring, get no record.
    """
    starts = adsl[start] if isinstance(start, str) else start
    base = pd.DataFrame({"USUBJID": adsl["USUBJID"].to_numpy(),
                         "STARTDT": pd.to_datetime(starts).to_numpy()})
    if "STUDYID" in adsl.columns:
        base.insert(0, "STUDYID", adsl["STUDYID"].to_numpy())
    base = base[base["STARTDT"].notna().to_numpy()].drop_duplicates("USUBJID")

    def pick(sources: Sequence[pd.DataFrame], last: bool) -> pd.DataFrame:
        frames = [s.assign(_src=i) for i, s in enumerate(sources) if len(s)]
        if not frames:
            return pd.DataFrame(columns=[*SOURCE_COLUMNS, "_src"])
        cand = pd.concat(frames, ignore_index=True)
        cand = cand[cand["USUBJID"].isin(base["USUBJID"]).to_numpy()]
        cand = cand.sort_values(["USUBJID", "ADT", "_src"], ascending=[True, not last, not last],
                                kind="stable")
        return cand.drop_duplicates("USUBJID")

    ev = pick(events, last=False).assign(CNSR=0)
    cn = pick(censors, last=True).assign(CNSR=1)
    cn = cn[~cn["USUBJID"].isin(ev["USUBJID"]).to_numpy()]
    chosen = pd.concat([f for f in (ev, cn) if len(f)] or [ev], ignore_index=True)
    chosen = chosen.drop(columns="_src")
    out = base.merge(chosen, on="USUBJID", how="inner")
    out["ADT"] = as_datetime(out["ADT"])
    out["ADT"] = out["ADT"].where(out["ADT"] >= out["STARTDT"], out["STARTDT"])
    out["AVAL"] = ((out["ADT"] - out["STARTDT"]).dt.days + 1).astype(float)
    out["CNSR"] = out["CNSR"].astype(int)
    out["CNSDTDSC"] = out["CNSDTDSC"].where(out["CNSR"].eq(1), None)
    for key, value in set_values.items():
        out[key] = value
    return with_columns(out, OUT_COLUMNS)


def _require(frame: pd.DataFrame, function: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{function}: input lacks required variable {missing[0]}",
                         variable=missing[0], rule=f"adtte.{function}")


def _last_before(dates: pd.DataFrame, query: pd.DataFrame, column: str, *,
                 inclusive: bool) -> pd.DataFrame:
    """For each ``query`` row (USUBJID, ``column`` date) the last ``dates`` row of the same
    subject dated before it (on or before with ``inclusive``): its ADT as ``_LADT`` and
    ASEQ as ``_LSEQ`` (NaT / NaN when none)."""
    q = query[["USUBJID", column]].copy()
    q["_ORDER"] = np.arange(len(q))
    has = q[column].notna()
    out = q.assign(_LADT=pd.NaT, _LSEQ=np.nan)
    out["_LADT"] = out["_LADT"].astype("datetime64[ns]")
    if has.any() and len(dates):
        left = q.loc[has].sort_values(column, kind="stable")
        right = dates[["USUBJID", "ADT", "ASEQ"]].rename(
            columns={"ADT": "_LADT", "ASEQ": "_LSEQ"}).sort_values("_LADT", kind="stable")
        right["_KEY"] = right["_LADT"]
        left = left.assign(_KEY=left[column].astype("datetime64[ns]"))
        right["_KEY"] = right["_KEY"].astype("datetime64[ns]")
        m = pd.merge_asof(left, right.drop(columns="USUBJID").assign(USUBJID=right["USUBJID"]),
                          on="_KEY", by="USUBJID", direction="backward",
                          allow_exact_matches=inclusive)
        out = out.drop(columns=["_LADT", "_LSEQ"]).merge(
            m[["_ORDER", "_LADT", "_LSEQ"]], on="_ORDER", how="left")
    return out.sort_values("_ORDER").reset_index(drop=True)


def derive_param_pfs(adsl: pd.DataFrame, adrs: pd.DataFrame, *, start: str, rule: PfsRule,
                     pfs: PfsConfig, start_label: str, ovr_code: str = "OVR",
                     pd_code: str = "PD", death_code: str = "DEATH") -> pd.DataFrame:
    """Progression-free survival by the FDA 2018 guidance's table of censoring rules.

    Inputs: ADSL (``USUBJID``, ``start``, and ``pfs.new_therapy_date`` when set) and ADRS
    (``USUBJID, PARAMCD, AVALC, ADT, ASEQ, ANL01FL``): the ``ovr_code`` assessments with
    ANL01FL = Y (the *adequate* ones: response other than NE, or any with
    ``censor_at="last_assessment"``), the first progression (``pd_code`` = Y) and death
    (``death_code`` = Y). Per subject, first match wins:

    1. new anticancer therapy (``rule.new_therapy``) before progression/death, or without
       either: censored at the last adequate assessment on or before the therapy start (the
       start date when none) - "New Anticancer Therapy";
    2. progression or death more than the gap limit (``pfs.gap_days``: missed_assessments x
       interval + window) after the last adequate assessment before it (or the start) with
       ``rule.missed_assessments``, or a death without progression more than
       ``pfs.late_death_days`` after it with ``rule.late_death``: censored at that
       assessment - "Event After Missed Assessments" / "Death Long After Last Assessment";
    3. otherwise progression or death (the earlier) is the event, dated by it - this
       includes death before the first assessment and death between adequate assessments;
    4. no event: censored at the last adequate assessment - "Last Adequate Tumor
       Assessment" - or at the start when there is none (no adequate post-baseline
       assessment) - ``start_label``.

    Every record carries EVNTDESC; censored records CNSDTDSC too. AVAL = ADT - STARTDT + 1.
    """
    _require(adsl, "derive_param_pfs", ["USUBJID", start])
    _require(adrs, "derive_param_pfs", ["USUBJID", "PARAMCD", "AVALC", "ADT", "ASEQ"])
    subj = adsl.drop_duplicates("USUBJID").reset_index(drop=True)
    base = pd.DataFrame({"USUBJID": subj["USUBJID"].to_numpy(),
                         "STARTDT": pd.to_datetime(subj[start]).to_numpy()})
    if "STUDYID" in subj.columns:
        base.insert(0, "STUDYID", subj["STUDYID"].to_numpy())
    base = base[base["STARTDT"].notna().to_numpy()].reset_index(drop=True)
    therapy = pd.Series(pd.NaT, index=base.index, dtype="datetime64[ns]")
    if rule.new_therapy and pfs.new_therapy_date:
        if pfs.new_therapy_date not in subj.columns:
            raise SpecError(f"pfs.new_therapy_date {pfs.new_therapy_date} is not an ADSL "
                            "variable (declare it under sponsor_variables)",
                            variable="pfs.new_therapy_date", rule="adam-config")
        therapy = base["USUBJID"].map(subj.set_index("USUBJID")[pfs.new_therapy_date])
        therapy = pd.to_datetime(therapy).astype("datetime64[ns]")

    def first(code: str) -> pd.DataFrame:
        rows = _param_rows(adrs, code)
        rows = rows.sort_values("ADT", kind="stable").drop_duplicates("USUBJID")
        return rows.set_index("USUBJID")

    prog, dead = first(pd_code), first(death_code)
    ovr = adrs[adrs["PARAMCD"].eq(ovr_code).to_numpy()]
    if "ANL01FL" in ovr.columns:
        ovr = ovr[ovr["ANL01FL"].eq("Y").to_numpy()]
    if pfs.censor_at == "last_adequate":
        ovr = ovr[ovr["AVALC"].ne("NE").to_numpy()]
    ovr = ovr[ovr["ADT"].notna().to_numpy()]
    ovr = ovr[ovr["ADT"].to_numpy() >= base.set_index("USUBJID")["STARTDT"].reindex(
        ovr["USUBJID"]).to_numpy()]

    pdt = base["USUBJID"].map(prog["ADT"]).astype("datetime64[ns]")
    ddt = base["USUBJID"].map(dead["ADT"]).astype("datetime64[ns]")
    is_pd = pdt.notna() & (ddt.isna() | (pdt <= ddt))
    ev = pdt.where(is_pd, ddt)
    ev_seq = np.where(is_pd, base["USUBJID"].map(prog["ASEQ"]), base["USUBJID"].map(dead["ASEQ"]))

    q = pd.DataFrame({"USUBJID": base["USUBJID"], "E": ev, "T": therapy,
                      "INF": pd.Timestamp.max.normalize()})
    before_event = _last_before(ovr, q, "E", inclusive=False)
    before_therapy = _last_before(ovr, q, "T", inclusive=True)
    last_any = _last_before(ovr, q, "INF", inclusive=True)

    ref = before_event["_LADT"].fillna(base["STARTDT"])
    gap = (ev - ref).dt.days
    limit = pfs.gap_days
    death_limit = pfs.late_death_days if pfs.late_death_days is not None else limit
    therapy_first = therapy.notna() & (ev.isna() | (therapy < ev))
    missed = (ev.notna() & rule.missed_assessments & (limit is not None)
              & (gap > (limit if limit is not None else 0)))
    late_death = (ev.notna() & ~is_pd & rule.late_death & (death_limit is not None)
                  & (gap > (death_limit if death_limit is not None else 0)))
    event = ev.notna() & ~therapy_first & ~missed & ~late_death

    def censor_at(found: pd.DataFrame) -> tuple[pd.Series, np.ndarray, pd.Series]:
        has = found["_LADT"].notna()
        return (found["_LADT"].where(has, base["STARTDT"]),
                np.where(has, found["_LSEQ"], np.nan), has)

    t_dt, t_seq, t_has = censor_at(before_therapy)
    g_dt, g_seq, g_has = censor_at(before_event)
    l_dt, l_seq, l_has = censor_at(last_any)
    label_missed = (f"Event After {pfs.missed_assessments} or More Missed Assessments"
                    if pfs.assessment_interval_days is not None and pfs.max_gap_days is None
                    else f"Event More Than {limit} Days After Last Adequate Assessment")
    conds = [therapy_first.to_numpy(), missed.to_numpy(), late_death.to_numpy(),
             event.to_numpy()]
    adt = np.select(conds, [t_dt, g_dt, g_dt, ev], l_dt)
    seq = np.select(conds, [t_seq, g_seq, g_seq, ev_seq], l_seq)
    has = np.select(conds, [t_has, g_has, g_has, np.ones(len(base), bool)], l_has)
    desc_c = np.select(conds[:3], ["New Anticancer Therapy", label_missed,
                                   "Death Long After Last Adequate Assessment"],
                       "Last Adequate Tumor Assessment"
                       if pfs.censor_at == "last_adequate" else "Last Tumor Assessment")
    desc_c = np.where(has, desc_c, np.where(
        conds[0] | conds[1] | conds[2], np.char.add(desc_c.astype(str), ": No Prior Assessment"),
        start_label)).astype(object)
    out = base.copy()
    out["ADT"] = pd.to_datetime(pd.Series(adt)).to_numpy()
    out["CNSR"] = np.where(event, 0, 1)
    out["EVNTDESC"] = np.where(event, np.where(is_pd, "Disease Progression", "Death"), desc_c)
    out["CNSDTDSC"] = np.where(event, None, desc_c)
    out["SRCDOM"] = np.where(event | has, "ADRS", "ADSL")
    out["SRCVAR"] = np.where(event | has, "ADT", start)
    out["SRCSEQ"] = np.asarray(seq, dtype=float)
    out["ADT"] = out["ADT"].where(out["ADT"] >= out["STARTDT"], out["STARTDT"])
    out["AVAL"] = ((out["ADT"] - out["STARTDT"]).dt.days + 1).astype(float)
    out["PARAMCD"], out["PARAM"] = rule.paramcd, rule.param
    return with_columns(out, OUT_COLUMNS)


def _uses_admiralonco_pfs(pc: PfsConfig) -> bool:
    return (pc.censor_at == "last_assessment" and pc.gap_days is None
            and pc.late_death_days is None and not pc.new_therapy_date)


def pfs_method_text(config: AdamConfig, paramcd: str) -> str | None:
    """define.xml method text of a PFS parameter derived by :func:`derive_param_pfs`, made
    from the same config (``None`` for other parameters and for the admiralonco-style
    primary PFS, which the define module describes itself)."""
    pc = config.pfs
    if config.censor_at_new_therapy and not pc.new_therapy_date:
        pc = dataclasses.replace(pc, new_therapy_date=config.new_therapy_date)
    rules = {r.paramcd: r for r in [pc.primary, *pc.sensitivity]}
    rule = rules.get(paramcd)
    if rule is None or (rule is pc.primary and _uses_admiralonco_pfs(pc)):
        return None
    crit = config.criterion(config.tte_criterion_name)
    sfx, start = crit.paramcd_suffix, config.start_date
    adequate = ("with a response other than NE" if pc.censor_at == "last_adequate"
                else "of any response")
    steps = []
    if rule.new_therapy and pc.new_therapy_date:
        steps.append(f"new anticancer therapy (ADSL.{pc.new_therapy_date}) before progression "
                     "or death, or without either: censored at the last adequate assessment "
                     "on or before its start ('New Anticancer Therapy')")
    if rule.missed_assessments and pc.gap_days is not None:
        how = (f"{pc.missed_assessments} or more missed assessments ({pc.missed_assessments} "
               f"x {pc.assessment_interval_days} + {pc.window_days} = {pc.gap_days} days)"
               if pc.max_gap_days is None else f"a gap of more than {pc.gap_days} days")
        steps.append(f"progression or death after {how} since the last adequate assessment "
                     "(or the start): censored at that assessment")
    death_limit = pc.late_death_days if pc.late_death_days is not None else pc.gap_days
    if rule.late_death and death_limit is not None:
        steps.append(f"death without progression more than {death_limit} days after the last "
                     "adequate assessment: censored at that assessment")
    steps.append(f"otherwise the earlier of first progression (ADRS PD{sfx} = Y) and death "
                 "(ADRS DEATH = Y) is the event, also a death before the first assessment")
    steps.append(f"without event: censored at the last adequate assessment, or at {start} "
                 f"('{config.start_label}') when there is none")
    return (f"{rule.param} from ADSL.{start} ({crit.name}), FDA 2018 guidance censoring "
            f"rules; adequate assessments = ADRS OVR{sfx} with ANL01FL = Y {adequate}. First "
            "match wins: " + "; ".join(f"({i}) {t}" for i, t in enumerate(steps, 1))
            + ". EVNTDESC on every record, CNSDTDSC on censored ones; AVAL = ADT - STARTDT "
            "+ 1 (days); CNSR = 0 for an event, 1 for a censoring.")


def build_adtte(adsl: pd.DataFrame, adrs: pd.DataFrame, config: AdamConfig | None = None,
                ) -> pd.DataFrame:
    """OS, PFS and RSD from ADSL and ADRS (parameters of ``config.tte_criterion``).

    * OS: event death; censoring at LSTALVDT or at the start date (the later).
    * PFS: events first PD (ADRS PD, from ANL01FL/ANL02FL assessments) and death, the
      earlier; censoring at the last assessment (LSTA) or at the start (the later).
    * RSD (responders): start = the date of the first confirmed response (ADRS CRSP = Y;
      ``dor_from: unconfirmed``: RSP = Y); events PD and death; censoring at the last
      assessment.

    With ``censor_at_new_therapy`` the response assessments after new anticancer therapy are
    already excluded from ADRS (ANL01FL), and a death on or after the new therapy date is not
    a PFS/RSD event (OS is unchanged).
    """
    config = config or AdamConfig()
    start = config.start_date
    if start not in adsl.columns:
        raise SpecError(f"start_date {start} is not an ADSL variable", file=config.source_file,
                        variable="start_date")
    crit = config.criterion(config.tte_criterion_name)
    sfx = crit.paramcd_suffix
    rsp_base = "CRSP" if config.dor_from == "confirmed" else "RSP"
    pd_code, lsta_code, rsp_code = f"PD{sfx}", f"LSTA{sfx}", f"{rsp_base}{sfx}"
    ovr_code = f"OVR{sfx}"
    adrs = adrs[adrs["PARAMCD"].isin([pd_code, lsta_code, rsp_code, ovr_code,
                                      "DEATH"]).to_numpy()]
    death = death_event(adrs, adsl)
    death_prog = death
    if config.censor_at_new_therapy:
        nact = config.new_therapy_date
        if nact not in adsl.columns:
            raise SpecError(f"censor_at_new_therapy needs the ADSL variable {nact}",
                            file=config.source_file, variable="new_therapy_date")
        limit = death["USUBJID"].map(adsl.drop_duplicates("USUBJID").set_index("USUBJID")[nact])
        death_prog = death[(limit.isna() | (death["ADT"] < limit)).to_numpy()]
    start_label = config.start_label
    os_ = derive_param_tte(adsl, start=start, events=[death],
                           censors=[lastalive_censor(adsl), start_censor(adsl, start=start,
                                                                         label=start_label)],
                           set_values={"PARAMCD": "OS", "PARAM": "Overall Survival"})
    prog = pd_event(adrs, paramcd=pd_code)
    lasta = lasta_censor(adrs, paramcd=lsta_code)
    pc = config.pfs
    if config.censor_at_new_therapy and not pc.new_therapy_date:
        pc = dataclasses.replace(pc, new_therapy_date=config.new_therapy_date)
    if _uses_admiralonco_pfs(pc):  # admiralonco's pd_event / death_event / lasta_censor / rand_censor
        pfs = derive_param_tte(adsl, start=start, events=[prog, death_prog],
                               censors=[lasta, start_censor(adsl, start=start,
                                                            label=start_label)],
                               set_values={"PARAMCD": pc.primary.paramcd,
                                           "PARAM": pc.primary.param})
    else:
        pfs = derive_param_pfs(adsl, adrs, start=start, rule=pc.primary, pfs=pc,
                               start_label=start_label, ovr_code=ovr_code, pd_code=pd_code)
    sensitivity = [derive_param_pfs(adsl, adrs, start=start, rule=r, pfs=pc,
                                    start_label=start_label, ovr_code=ovr_code,
                                    pd_code=pd_code) for r in pc.sensitivity]
    rsp = _param_rows(adrs, rsp_code)
    resp_start = adsl["USUBJID"].map(rsp.drop_duplicates("USUBJID").set_index("USUBJID")["ADT"])
    rsd = derive_param_tte(adsl, start=resp_start, events=[prog, death_prog], censors=[lasta],
                           set_values={"PARAMCD": "RSD", "PARAM": "Duration of Response"})
    adtte = pd.concat([p.astype({"CNSDTDSC": object})
                       for p in (os_, pfs, *sensitivity, rsd) if len(p)]
                      or [os_], ignore_index=True)
    adtte = adtte.sort_values(["USUBJID", "PARAMCD"], kind="stable").reset_index(drop=True)
    adtte.insert(2, "ASEQ", adtte.groupby("USUBJID", sort=False).cumcount() + 1)
    extra = [c for c in ADSL_VARS if c in adsl.columns]
    if extra:
        adtte = adtte.merge(adsl[["USUBJID", *extra]].drop_duplicates("USUBJID"), on="USUBJID",
                            how="left")
    return adtte


def method_text(config: AdamConfig, paramcd: str) -> str | None:
    """define.xml method of an ADTTE parameter (OS, PFS and its sensitivity parameters,
    RSD) as :func:`build_adtte` derives it, from the same config; None for another."""
    c, start = config, config.start_date
    crit = c.criterion(c.tte_criterion_name)
    sfx = crit.paramcd_suffix
    common = ("Among events the earliest date wins, among censorings the latest; an event "
              "beats a censoring; ADT is moved to STARTDT when earlier; AVAL = ADT - "
              "STARTDT + 1 (days); CNSR = 0 for an event, 1 for a censoring.")
    nact = (f" With censoring at new anticancer therapy, a death on or after ADSL."
            f"{c.new_therapy_date} is no event." if c.censor_at_new_therapy else "")
    label = c.start_label
    if paramcd == "OS":
        return (f"Overall survival from ADSL.{start}: event = death (ADRS DEATH = Y, ADT); "
                f"censoring at ADSL.LSTALVDT (EVNTDESC 'Alive') or at {start} ('{label}'). "
                f"{common}")
    fda = pfs_method_text(c, paramcd)  # PFS by the FDA rules, sensitivity PARAMCDs
    if fda:
        return fda
    if paramcd == "PFS":
        return (f"Progression-free survival from ADSL.{start} ({crit.name}): events = first "
                f"progression (ADRS PD{sfx} = Y) and death (ADRS DEATH = Y); censoring at "
                f"the last tumour assessment (ADRS LSTA{sfx}) or at {start} ('{label}')."
                f"{nact} {common}")
    if paramcd == "RSD":
        rsp = "CRSP" if c.dor_from == "confirmed" else "RSP"
        which = "confirmed response" if c.dor_from == "confirmed" else "response"
        return (f"Duration of response ({crit.name}), responders only (ADRS {rsp}{sfx} = "
                f"Y): STARTDT = the date of the first {which}; events = progression (ADRS "
                f"PD{sfx} = Y) and death; censoring at the last tumour assessment (ADRS "
                f"LSTA{sfx}).{nact} {common}")
    return None


def variable_texts(config: AdamConfig) -> dict[str, str]:
    """define.xml methods of the ADTTE variables :func:`derive_param_tte` sets."""
    c, start = config, config.start_date
    crit = c.criterion(c.tte_criterion_name)
    return {
        "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD.",
        "STARTDT": f"OS and PFS: ADSL.{start}; RSD: the date of the first "
                   + ("confirmed response (ADRS CRSP" if c.dor_from == "confirmed"
                      else "response (ADRS RSP") + f"{crit.paramcd_suffix} = Y).",
        "ADT": "Date of the event or censoring chosen for the parameter (see its "
               "method), never before STARTDT.",
        "AVAL": "ADT - STARTDT + 1 (days); per parameter see the value-level metadata.",
        "CNSR": "0 for an event, 1 for a censoring; per parameter see the value-level "
                "metadata.",
        "EVNTDESC": f"Description of the chosen event or censoring: 'Death', 'Disease "
                    f"Progression', 'Alive', 'Last Tumor Assessment' or "
                    f"'{c.start_label}'.",
        "CNSDTDSC": "Description of the censoring date (censored records only).",
        "SRCDOM": "Dataset of the record holding ADT: ADRS (DEATH, PD, LSTA) or ADSL.",
        "SRCVAR": "Variable holding ADT in SRCDOM (ADT, LSTALVDT or the start date).",
        "SRCSEQ": "ASEQ of the ADRS record holding ADT (missing for ADSL).",
    }
