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

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError

from .config import AdamConfig

__all__ = [
    "death_event",
    "pd_event",
    "lasta_censor",
    "lastalive_censor",
    "start_censor",
    "derive_param_tte",
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
    out["ADT"] = pd.to_datetime(out["ADT"])
    out["ADT"] = out["ADT"].where(out["ADT"] >= out["STARTDT"], out["STARTDT"])
    out["AVAL"] = ((out["ADT"] - out["STARTDT"]).dt.days + 1).astype(float)
    out["CNSR"] = out["CNSR"].astype(int)
    out["CNSDTDSC"] = out["CNSDTDSC"].where(out["CNSR"].eq(1), None)
    for key, value in set_values.items():
        out[key] = value
    for col in OUT_COLUMNS:
        if col not in out.columns:
            out[col] = None
    return out[OUT_COLUMNS]


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
    adrs = adrs[adrs["PARAMCD"].isin([pd_code, lsta_code, rsp_code, "DEATH"]).to_numpy()]
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
    pfs = derive_param_tte(adsl, start=start, events=[prog, death_prog],
                           censors=[lasta, start_censor(adsl, start=start, label=start_label)],
                           set_values={"PARAMCD": "PFS", "PARAM": "Progression Free Survival"})
    rsp = _param_rows(adrs, rsp_code)
    resp_start = adsl["USUBJID"].map(rsp.drop_duplicates("USUBJID").set_index("USUBJID")["ADT"])
    rsd = derive_param_tte(adsl, start=resp_start, events=[prog, death_prog], censors=[lasta],
                           set_values={"PARAMCD": "RSD", "PARAM": "Duration of Response"})
    adtte = pd.concat([p.astype({"CNSDTDSC": object}) for p in (os_, pfs, rsd) if len(p)]
                      or [os_], ignore_index=True)
    adtte = adtte.sort_values(["USUBJID", "PARAMCD"], kind="stable").reset_index(drop=True)
    adtte.insert(2, "ASEQ", adtte.groupby("USUBJID", sort=False).cumcount() + 1)
    extra = [c for c in ADSL_VARS if c in adsl.columns]
    if extra:
        adtte = adtte.merge(adsl[["USUBJID", *extra]].drop_duplicates("USUBJID"), on="USUBJID",
                            how="left")
    return adtte
