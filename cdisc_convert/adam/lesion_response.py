"""The components of tumour response per assessment from the prepared TU/TR
(:mod:`cdisc_convert.adam.lesion_input`): target sums and nadir, RECIST 1.1 / Choi / modified
Choi target response, non-target and new lesions, the overall response, reappearance after
CR and the assessment date (the rules: :mod:`cdisc_convert.adam.tumor_response`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.standards.response import overall_response

from .groups import factorize
from .lesion_input import (RecordPositions, apply_lesion_links, concat_frames,  # noqa: F401
                           derive_state_rank, record_positions)
from .response_rules import (KEYS, STATE_ABSENT, STATE_NOT_EVALUATED, STATE_PRESENT,
                             STATE_PROGRESSION, ResponseRules)

__all__ = ["apply_lesion_links", "compute_target_sums", "compute_nadir",
           "derive_recist_target_response", "derive_choi_size_response",
           "derive_choi_density_response", "derive_choi_target_response",
           "derive_modified_choi_target_response", "derive_nontarget_response",
           "derive_new_lesions", "derive_overall_response", "derive_reappearance",
           "derive_assessment_date"]

# ----------------------------------------------------------------------------------------
# components
# ----------------------------------------------------------------------------------------

def compute_target_sums(meas: pd.DataFrame, lesions: pd.DataFrame, visits: pd.DataFrame,
                        rules: ResponseRules, *, node_rule: bool = True,
                        positions: RecordPositions | None = None) -> pd.DataFrame:
    """Per assessment: ``SUMDIAM``, ``TRGNEXP``/``TRGNMISS``, ``ALLCR``, ``REAPT``,
    ``DENSITY``, ``DENSPAIR``/``DENSBPAIR``, ``DENSOK``, ``TRGFIRSTDT``/``TRGLASTDT``.

    Rules: target lesions = TARGET lesions measured at baseline; each contributes its
    ``LPERP`` (nodal) or ``LDIAM`` (other), the fragments of a split lesion summed (see
    :func:`apply_lesion_links`); a lesion recorded with a ``merged_states`` result counts 0.
    ``SUMDIAM`` sums the measured ones, ``TRGNMISS`` counts the ones not measured.
    ``ALLCR``: every non-nodal target is 0 mm and every nodal target below
    ``nodal_normal_mm`` (``node_rule=False``, Choi: every target 0 mm). ``REAPT``: a target
    is measurable again (not CR by that rule) - progression after a CR. ``DENSITY`` = mean
    RADIODEN of the targets having one (shown in ADTR). Choi's density change compares the
    mean over the lesions with a density at *both* the baseline and this assessment
    (``DENSPAIR`` now, ``DENSBPAIR`` at baseline); a lesion that disappeared (0 mm) has no
    tissue left to measure and is left out of both means; ``DENSOK``: every target still
    present (> 0 mm) has a density now and at baseline. ``TRGFIRSTDT``/``TRGLASTDT`` =
    earliest/latest scan date of the target records; ``NODULE`` = a target has a state
    listed in ``choi_nodule_states``. ``positions``: :func:`record_positions` of these
    ``meas``, ``lesions`` and ``visits`` when the caller has them (found here otherwise)."""
    tgt = lesions.loc[lesions["CAT"].eq("TARGET").to_numpy(), ["USUBJID", "LNKID", "NODAL"]]
    assessments = visits[KEYS]
    # each TR record's target lesion and assessment as row positions (integer joins, not
    # merges on the key columns); records of other lesions or assessments are left out
    if positions is None:
        positions = record_positions(meas, lesions, visits)
    lesion, visit = positions.target, positions.visit
    keep = (lesion >= 0) & (visit >= 0)
    lesion, visit = lesion[keep], visit[keep]
    testcd, state = meas["TESTCD"], meas["STATE"]
    nodal = tgt["NODAL"].to_numpy(dtype=bool)
    is_size = np.where(nodal[lesion], testcd.eq("LPERP").to_numpy()[keep],
                       testcd.eq("LDIAM").to_numpy()[keep])
    value = meas["VALUE"].to_numpy(dtype=float)[keep]
    # one integer per (assessment, target lesion) pair
    n_lesions = max(len(tgt), 1)
    cell = visit.astype(np.int64) * n_lesions + lesion
    size = pd.Series(value[is_size]).groupby(cell[is_size], sort=False).sum(min_count=1)
    merged = state.isin(rules.merged_states).to_numpy()[keep]
    if merged.any():
        merged_cells = np.unique(cell[merged])
        size = size.reindex(size.index.union(merged_cells))
        size.loc[merged_cells] = size.loc[merged_cells].fillna(0.0)
    is_dens = testcd.eq("RADIODEN").to_numpy()[keep]
    dens = pd.Series(value[is_dens]).groupby(cell[is_dens], sort=False).mean()
    dates = pd.Series(meas["DATE"].to_numpy()[keep])
    first = dates.groupby(visit, sort=False).agg(["min", "max"])
    nodule_rec = (testcd.eq("TUMSTATE").to_numpy() & state.isin(rules.choi_nodule_states)
                  .to_numpy())[keep]
    nodule = pd.Series(nodule_rec).groupby(visit, sort=False).any()

    # the target lesions of each subject: measured at its baseline assessment
    subject = assessments["USUBJID"].to_numpy()
    base_visit = np.flatnonzero(visits["ABLFL"].eq("Y").to_numpy())
    measured = size.index.to_numpy()[size.notna().to_numpy()]
    base_cell = measured[np.isin(measured // n_lesions, base_visit)]
    base_lesion, base_of = base_cell % n_lesions, base_cell // n_lesions
    by_subject = np.lexsort((base_lesion, subject[base_of]))
    base_lesion, base_of = base_lesion[by_subject], base_of[by_subject]
    base_subject = subject[base_of]
    # grid: every assessment of a subject x every target lesion of its baseline
    lo = np.searchsorted(base_subject, subject, side="left")
    count = np.searchsorted(base_subject, subject, side="right") - lo
    grid_visit = np.repeat(np.arange(len(assessments)), count)
    within = np.arange(len(grid_visit)) - np.repeat(np.cumsum(count) - count, count)
    pick = np.repeat(lo, count) + within
    grid_lesion, grid_base = base_lesion[pick], base_of[pick]

    def at(values: pd.Series, visit_rows: np.ndarray) -> np.ndarray:
        found = values.index.get_indexer(visit_rows.astype(np.int64) * n_lesions + grid_lesion)
        known = np.append(values.to_numpy(dtype=float), np.nan)     # -1: the NaN at the end
        return known[found]

    grid = pd.DataFrame({"_V": grid_visit, "NODAL": nodal[grid_lesion],
                         "SIZE": at(size, grid_visit), "DENS": at(dens, grid_visit),
                         "BDENS": at(dens, grid_base)})
    grid["ASSESSED"] = grid["SIZE"].notna()
    if node_rule:
        grid["CRL"] = np.where(grid["NODAL"], grid["SIZE"] < rules.nodal_normal_mm,
                               grid["SIZE"] == 0)  # NaN compares False: not CR
    else:
        grid["CRL"] = grid["SIZE"] == 0
    grid["REAP"] = grid["ASSESSED"] & ~grid["CRL"]
    gone = grid["SIZE"].eq(0)
    paired = grid["DENS"].notna() & grid["BDENS"].notna() & ~gone
    grid["PDENS"] = grid["DENS"].where(paired)
    grid["PBDENS"] = grid["BDENS"].where(paired)
    grid["DENSOK"] = paired | gone
    g = grid.groupby("_V", sort=False)
    out = pd.DataFrame({
        "TRGNEXP": g.size(),
        "TRGNMISS": g.size() - g["ASSESSED"].sum(),
        "SUMDIAM": g["SIZE"].sum(min_count=1),
        "ALLCR": g["CRL"].all(),
        "REAPT": g["REAP"].any(),
        "DENSITY": g["DENS"].mean(),
        "DENSPAIR": g["PDENS"].mean(),
        "DENSBPAIR": g["PBDENS"].mean(),
        "DENSOK": g["DENSOK"].all() & g["PDENS"].count().gt(0),
    })
    rows = out.index.to_numpy(dtype=np.int64)
    out = pd.concat([assessments.iloc[rows].reset_index(drop=True),
                     out.reset_index(drop=True)], axis=1)
    out["TRGFIRSTDT"] = first["min"].reindex(rows).to_numpy()
    out["TRGLASTDT"] = first["max"].reindex(rows).to_numpy()
    out["NODULE"] = nodule.reindex(rows).eq(True).to_numpy()
    return out


def compute_nadir(sums: pd.DataFrame) -> pd.DataFrame:
    """Add ``SUMBASE``, ``SUMNADIR``, ``PCHGBASE``, ``PCHGNADIR``, ``DENSBASE``, ``DENSPCHG``.

    Rules: ``SUMBASE`` = the baseline sum. ``SUMNADIR`` = the smallest complete sum
    (``TRGNMISS == 0``) among the assessments *before* this one, baseline included (a
    running ``cummin`` shifted by one assessment). Percent changes are
    ``100 * (SUMDIAM - ref) / ref`` (missing when ref is 0). ``DENSPCHG`` is the percent
    change of the mean density of the lesions measured at both times (``DENSPAIR`` vs
    ``DENSBPAIR``), only when density is evaluable at both and the baseline mean is
    positive."""
    s = sums.sort_values(KEYS, kind="stable").reset_index(drop=True)
    bl = s.loc[s["ABLFL"].eq("Y")].set_index("USUBJID")
    s["SUMBASE"] = s["USUBJID"].map(bl["SUMDIAM"])
    complete = s["SUMDIAM"].where(s["TRGNMISS"].eq(0))
    running = complete.groupby(s["USUBJID"]).cummin()
    running = running.groupby(s["USUBJID"]).ffill()
    s["SUMNADIR"] = running.groupby(s["USUBJID"]).shift(1)
    s["PCHGBASE"] = _pct(s["SUMDIAM"], s["SUMBASE"])
    s["PCHGNADIR"] = _pct(s["SUMDIAM"], s["SUMNADIR"])
    dens_base = s["USUBJID"].map(bl["DENSITY"].where(bl["DENSOK"] & bl["DENSITY"].gt(0)))
    s["DENSBASE"] = dens_base
    paired_base = s["DENSBPAIR"].where(s["DENSBPAIR"].gt(0) & dens_base.notna())
    s["DENSPCHG"] = _pct(s["DENSPAIR"], paired_base).where(s["DENSOK"])
    return s


def _pct(value: pd.Series, ref: pd.Series) -> pd.Series:
    ref = ref.where(ref.ne(0))
    return 100.0 * (value - ref) / ref


def derive_recist_target_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """RECIST 1.1 target response per assessment.

    Rules, first match wins: no target lesion -> NA; all targets measured and all gone
    (non-nodal 0 mm, nodes < 10 mm) -> CR; sum (of the measured targets, even when some are
    missing) >= nadir * 1.2 and >= nadir + 5 mm -> PD; a target not measured -> NE; sum <=
    baseline * 0.7 -> PR; otherwise SD."""
    tol = rules.tolerance
    complete = s["TRGNMISS"].eq(0)
    pd_ = ((s["SUMDIAM"] >= s["SUMNADIR"] * (1 + rules.recist_pd_pct / 100) - tol)
           & (s["SUMDIAM"] - s["SUMNADIR"] >= rules.recist_pd_abs_mm - tol))
    pr = s["SUMDIAM"] <= s["SUMBASE"] * (1 + rules.recist_pr_pct / 100) + tol
    return pd.Series(np.select(
        [s["TRGNEXP"].isna(), complete & s["ALLCR"], pd_, ~complete, pr],
        [rules.not_applicable, "CR", "PD", "NE", "PR"], "SD"), index=s.index)


def derive_choi_size_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Choi size-only response: NA without targets; CR when every target disappeared (0 mm;
    Choi has no lymph-node rule); PD when the sum (of the measured targets) >= reference *
    1.1, the reference being the nadir (``choi_pd_reference="nadir"``, default) or the
    baseline sum; NE when a target is not measured; PR when the sum <= baseline * 0.9;
    otherwise SD."""
    tol = rules.tolerance
    complete = s["TRGNMISS"].eq(0)
    ref = s["SUMBASE"] if rules.choi_pd_reference == "baseline" else s["SUMNADIR"]
    pd_ = s["SUMDIAM"] >= ref * (1 + rules.choi_pd_size_pct / 100) - tol
    pr = s["SUMDIAM"] <= s["SUMBASE"] * (1 + rules.choi_pr_size_pct / 100) + tol
    return pd.Series(np.select(
        [s["TRGNEXP"].isna(), complete & s["ALLCR"], pd_, ~complete, pr],
        [rules.not_applicable, "CR", "PD", "NE", "PR"], "SD"), index=s.index)


def derive_choi_density_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Choi density component: PR when the mean HU fell by at least 15% from baseline,
    NOTPR when density is evaluable and did not, NE when it cannot be evaluated."""
    ok = s["DENSPCHG"].notna()
    pr = s["DENSPCHG"] <= rules.choi_pr_density_pct + rules.tolerance
    return pd.Series(np.select([ok & pr, ok], ["PR", "NOTPR"], "NE"), index=s.index)


def derive_choi_target_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Choi target response from the size and density components.

    Rules, first match wins: no targets -> NA; a listed intratumoral-nodule state -> PD;
    size CR -> CR; density PR -> PR (a >= 15% HU decrease is a PR even when size grew >=
    10%); size PD with density evaluable -> PD; size PR -> PR; size NE -> NE; size SD with
    density evaluable -> SD. Left: size PD or SD with density not evaluable -> NE
    (``choi_missing_density="NE"``) or the size response (``"SIZE_ONLY"``)."""
    size = derive_choi_size_response(s, rules)
    dens = derive_choi_density_response(s, rules)
    undecided = "NE" if rules.choi_missing_density == "NE" else size
    return pd.Series(np.select(
        [size.eq(rules.not_applicable), s["NODULE"], size.eq("CR"), dens.eq("PR"),
         size.eq("PD") & dens.eq("NOTPR"), size.eq("PR"), size.eq("NE"),
         size.eq("SD") & dens.eq("NOTPR")],
        [rules.not_applicable, "PD", "CR", "PR", "PD", "PR", "NE", "SD"],
        undecided), index=s.index)


def derive_modified_choi_target_response(s: pd.DataFrame, rules: ResponseRules) -> pd.Series:
    """Modified Choi target response: size *and* density must both decrease for a PR.

    Rules, first match wins: no targets -> NA; a listed intratumoral-nodule state -> PD;
    size CR -> CR; size PD -> PD (the density cannot rescue it); size NE -> NE; size PR and
    density PR -> PR; size SD -> SD; size PR with density evaluable -> SD; left (size PR, density not evaluable: it
    decides between PR and SD) -> NE (``choi_missing_density="NE"``) or SD
    (``"SIZE_ONLY"``: without density a PR cannot be shown)."""
    size = derive_choi_size_response(s, rules)
    dens = derive_choi_density_response(s, rules)
    undecided = "NE" if rules.choi_missing_density == "NE" else "SD"
    return pd.Series(np.select(
        [size.eq(rules.not_applicable), s["NODULE"], size.eq("CR"), size.eq("PD"),
         size.eq("NE"), size.eq("PR") & dens.eq("PR"), size.eq("SD"), dens.ne("NE")],
        [rules.not_applicable, "PD", "CR", "PD", "NE", "PR", "SD", "SD"], undecided),
        index=s.index)


def derive_nontarget_response(meas: pd.DataFrame, lesions: pd.DataFrame,
                              visits: pd.DataFrame, rules: ResponseRules, *,
                              node_rule: bool = True,
                              positions: RecordPositions | None = None) -> pd.DataFrame:
    """Non-target response per assessment (``NTRGRESP``, ``NTPDFIRSTDT``, ``NTREAP``,
    ``NTREAPDT``).

    Rules: the non-target lesions are the subject's NON-TARGET lesions; each one's state at
    an assessment is the worst of its state records (``state_testcds``: TUMSTATE, LNSTATE)
    and of its size when measured (non-nodal: 0 mm absent, more present; lymph node short
    axis: below ``nodal_normal_mm`` absent - RECIST's rule for CR; with ``node_rule=False``,
    Choi, only 0 mm is absent). A node state in ``nodal_absent_states`` (NON-PATHOLOGICAL)
    is absent under RECIST and present under Choi. No record = not evaluated. Any
    unequivocal progression -> PD; else any lesion not evaluated -> NE; else all absent ->
    CR; else NON-CR/NON-PD. A subject without non-target lesions -> NA. ``NTREAP``: a
    non-target lesion is present (not merely equivocal) - progression after a CR.
    ``positions``: as for :func:`compute_target_sums`."""
    nt = lesions.loc[lesions["CAT"].eq("NON-TARGET").to_numpy(), ["USUBJID", "LNKID", "NODAL"]]
    assessments = visits[KEYS]
    testcd = meas["TESTCD"]
    # each TR record's non-target lesion and assessment as row positions (as in
    # compute_target_sums); records of other lesions or assessments are left out
    if positions is None:
        positions = record_positions(meas, lesions, visits)
    lesion, visit = positions.nontarget, positions.visit
    keep = ((lesion >= 0) & (visit >= 0)
            & testcd.isin(["TUMSTATE", "LDIAM", "LPERP"]).to_numpy())
    lesion, visit = lesion[keep], visit[keep]
    state = meas["STATE"][keep]
    nodal = nt["NODAL"].to_numpy(dtype=bool)[lesion]
    tests = testcd[keep]
    is_state = tests.eq("TUMSTATE").to_numpy()
    rank = derive_state_rank(state, rules).to_numpy()
    nodal_normal = state.isin(rules.nodal_absent_states).to_numpy() & nodal
    rank = np.where(nodal_normal, STATE_ABSENT if node_rule else STATE_PRESENT, rank)
    is_size = np.where(nodal, tests.eq("LPERP").to_numpy(), tests.eq("LDIAM").to_numpy())
    value = meas["VALUE"].to_numpy(dtype=float)[keep]
    limit = np.where(nodal & node_rule, rules.nodal_normal_mm, 0.0)
    size_rank = np.where(np.isnan(value), STATE_NOT_EVALUATED,
                         np.where((limit > 0) & (value < limit), STATE_ABSENT,
                                  np.where((limit == 0) & (value <= 0), STATE_ABSENT, STATE_PRESENT)))
    rank = np.where(is_state, rank, np.where(is_size, size_rank, -1))
    used = rank >= 0
    shown = used & (rank >= STATE_PRESENT) & ~state.isin(rules.equivocal_states).to_numpy()
    dates = pd.Series(meas["DATE"].to_numpy()[keep])
    pd_first = dates[rank == STATE_PROGRESSION].groupby(visit[rank == STATE_PROGRESSION]).min()
    reap = dates[shown].groupby(visit[shown]).min()
    # the worst state of each lesion per assessment; an assessment's lesions without a
    # record are not evaluated (rank 0, the lowest)
    n_lesions = max(len(nt), 1)
    cell, cell_of = np.unique(visit[used].astype(np.int64) * n_lesions + lesion[used],
                              return_inverse=True)
    worst = np.full(len(cell), -1, dtype=np.int64)
    np.maximum.at(worst, cell_of.reshape(-1), rank[used])
    cell_visit = cell // n_lesions
    n_visits = len(assessments)
    highest = np.full(n_visits, STATE_NOT_EVALUATED, dtype=np.int64)
    np.maximum.at(highest, cell_visit, worst)
    lowest = np.full(n_visits, STATE_PROGRESSION + 1, dtype=np.int64)
    np.minimum.at(lowest, cell_visit, worst)
    subject = assessments["USUBJID"].to_numpy()
    subjects_nt = nt["USUBJID"].to_numpy()
    size = int(max(subject.max(initial=-1), subjects_nt.max(initial=-1))) + 1
    expected = np.bincount(subjects_nt, minlength=size)[subject] if len(subject) else \
        np.zeros(0, dtype=np.int64)
    recorded = np.bincount(cell_visit, minlength=n_visits)
    lowest = np.where(recorded < expected, STATE_NOT_EVALUATED, lowest)
    response = np.select(
        [highest == STATE_PROGRESSION, lowest == STATE_NOT_EVALUATED, highest == STATE_ABSENT],
        ["PD", "NE", "CR"], "NON-CR/NON-PD").astype(object)
    out = assessments.reset_index(drop=True)
    out["NTRGRESP"] = np.where(expected > 0, response, rules.not_applicable).astype(object)
    out["NTPDFIRSTDT"] = pd_first.reindex(np.arange(n_visits)).to_numpy()
    out["NTREAPDT"] = reap.reindex(np.arange(n_visits)).to_numpy()
    out["NTREAP"] = out["NTREAPDT"].notna()
    return out


def derive_new_lesions(meas: pd.DataFrame, new_tu: pd.DataFrame, lesions: pd.DataFrame,
                       rules: ResponseRules) -> pd.DataFrame:
    """``NEWLPROG`` evidence per assessment (``NEWL`` True, ``NEWFIRSTDT``).

    Rules: a new lesion is shown at an assessment when TR has a record at that visit on a
    NEW lesion that shows it (a state other than absent / not evaluated / equivocal, or a
    diameter > 0), or when TU identifies the lesion as NEW at that visit and TR does not
    record it there as equivocal, absent or not evaluated. An equivocal new lesion is not
    progression (RECIST 1.1 section 4.3.2/4.3.3): only a later scan that shows it is. The
    progression is then dated (``new_lesion_date``) at the scan where the lesion first
    appeared, equivocal or not (``"first_seen"``, RECIST) or at the scan showing it
    (``"confirmed"``)."""
    new_ids = lesions.loc[lesions["CAT"].eq("NEW"), ["USUBJID", "LNKID"]]
    m = meas.merge(new_ids, on=["USUBJID", "LNKID"], how="inner")
    is_state = m["TESTCD"].eq("TUMSTATE")
    shown = ((is_state & ~m["STATE"].isin(rules.absent_states + rules.not_evaluated_states
                                          + rules.equivocal_states))
             | (m["TESTCD"].isin(["LDIAM", "LPERP"]) & m["VALUE"].gt(0)))
    seen = shown | (is_state & m["STATE"].isin(rules.equivocal_states))
    # a TU identification counts unless TR states otherwise at that visit
    vetoed = m.loc[is_state & ~shown, ["USUBJID", "LNKID", "VISITNUM"]].drop_duplicates()
    tu_rows = new_tu[["USUBJID", "LNKID", "VISITNUM", "DATE"]].merge(
        vetoed.assign(_V=True), on=["USUBJID", "LNKID", "VISITNUM"], how="left")
    tu_shown = tu_rows.loc[tu_rows["_V"].ne(True)].drop(columns="_V")
    cols = ["USUBJID", "LNKID", "VISITNUM", "DATE"]
    rows = concat_frames([m.loc[shown, cols], tu_shown[cols]])
    if rules.new_lesion_date == "first_seen":
        # only the scan that first shows the lesion is backdated (to an equivocal sighting)
        first_seen = concat_frames([m.loc[seen, cols], new_tu[cols]]).groupby(
            ["USUBJID", "LNKID"], sort=False)["DATE"].min().rename("_FIRST")
        first_shown = rows.groupby(["USUBJID", "LNKID"], sort=False)["VISITNUM"].min() \
            .rename("_FIRSTV")
        rows = rows.merge(first_seen.reset_index(), on=["USUBJID", "LNKID"], how="left")
        rows = rows.merge(first_shown.reset_index(), on=["USUBJID", "LNKID"], how="left")
        back = rows["VISITNUM"].eq(rows["_FIRSTV"])
        rows["DATE"] = rows["DATE"].where(~back, rows[["DATE", "_FIRST"]].min(axis=1))
    out = rows.groupby(KEYS, sort=False)["DATE"].min().rename("NEWFIRSTDT").reset_index()
    out["NEWL"] = True
    return out


def derive_overall_response(trg: pd.Series, ntrg: pd.Series, newl: pd.Series,
                            rules: ResponseRules) -> pd.Series:
    """Overall response from the components by the RECIST 1.1 overall-response table
    (tables 1 and 2, :mod:`cdisc_convert.standards.response`; used for Choi too): any PD
    component or a new lesion -> PD; neither target nor non-target lesions -> NE; target CR
    with non-target CR or NA -> CR, with NON-CR/NON-PD or NE -> PR; target PR -> PR, SD ->
    SD, NE -> NE; non-target disease only: CR, NON-CR/NON-PD (never SD) or NE."""
    # the table is per record: it is read once per distinct combination of the components
    # (a few dozen over every assessment) and the answers spread by position
    t_codes, t_values = factorize(np.asarray(trg, dtype=object), use_na_sentinel=False)
    n_codes, n_values = factorize(np.asarray(ntrg, dtype=object), use_na_sentinel=False)
    combo = (t_codes.astype(np.int64) * len(n_values) + n_codes) * 2 \
        + np.asarray(newl, dtype=bool)
    which, combos = pd.factorize(combo)
    answers = overall_response(pd.Series(t_values[combos // 2 // max(len(n_values), 1)],
                                         dtype=object),
                               pd.Series(n_values[combos // 2 % max(len(n_values), 1)],
                                         dtype=object),
                               pd.Series(combos % 2 == 1), not_applicable=rules.not_applicable,
                               default="NE").to_numpy(dtype=object)
    return pd.Series(answers[which], index=trg.index, dtype=object)


def derive_reappearance(s: pd.DataFrame) -> pd.DataFrame:
    """Progression by reappearance after a complete response (RECIST 1.1 and the RECIST
    working group's Q&A: once a subject has been in CR, any lesion that comes back is
    progression whatever its size; before a CR, a reappearing target only adds to the sum).

    Rule: at an assessment after one whose overall response is CR (same subject), a target
    lesion measurable again (non-nodal > 0 mm, node >= ``nodal_normal_mm`` under RECIST)
    makes ``TRGRESP`` PD, and a non-target lesion present again (not merely equivocal)
    makes ``NTRGRESP`` PD. Expects ``AVALC`` already derived; returns the frame with the
    components changed and ``AVALC`` to be derived again by the caller."""
    s = s.sort_values(KEYS, kind="stable")
    was_cr = s["AVALC"].eq("CR") & s["ABLFL"].ne("Y")
    prior = was_cr.astype(int).groupby(s["USUBJID"]).cummax()
    prior = prior.groupby(s["USUBJID"]).shift(1).fillna(0).astype(bool)
    trg = prior & s["REAPT"].eq(True) & s["TRGRESP"].ne(s["_NA"])
    ntrg = prior & s["NTREAP"].eq(True)
    s.loc[trg, "TRGRESP"] = "PD"
    s.loc[ntrg, "NTRGRESP"] = "PD"
    s.loc[ntrg, "NTPDFIRSTDT"] = s.loc[ntrg, "NTREAPDT"]
    return s


def derive_assessment_date(s: pd.DataFrame, rules: ResponseRules | None = None) -> pd.Series:
    """``ADT``: for a PD assessment the earliest date among the records showing the
    progression - the target scans when ``TRGRESP`` is PD (their latest date with
    ``pd_date="latest"``, default, FDA 2018; their earliest with ``"earliest"``), the
    unequivocal non-target records, the new lesions (see :func:`derive_new_lesions` for an
    equivocal one) - or the earliest date of the assessment when none of those is dated;
    for every other assessment (and the baseline) the latest scan date of the assessment."""
    rules = rules or ResponseRules()

    def dt(col: str) -> pd.Series:
        values = s[col]
        if not pd.api.types.is_datetime64_any_dtype(values.dtype):
            # pd.to_datetime on a datetime column still builds a cache of its distinct values
            values = pd.to_datetime(values, errors="coerce")
        return values.astype("datetime64[ns]")

    trg_col = "TRGLASTDT" if rules.pd_date == "latest" else "TRGFIRSTDT"
    pdd = pd.concat([dt(trg_col).where(s["TRGRESP"].eq("PD")),
                     dt("NTPDFIRSTDT").where(s["NTRGRESP"].eq("PD")),
                     dt("NEWFIRSTDT").where(s["NEWLPROG"].eq("Y"))], axis=1).min(axis=1)
    pdd = pdd.fillna(dt("FIRSTDT"))
    return pdd.where(s["AVALC"].eq("PD"), dt("LASTDT")).astype("datetime64[ns]")

