"""The trial's results table and figures, computed from ADSL, ADRS, ADTTE, ADEX (and ADTR)
only.

Rates get exact (Clopper–Pearson) 95% confidence intervals; medians come from the
Kaplan–Meier estimate of lifelines with its 95% interval. Weeks are days/7 and months are
days/30.4375 (admiral's convention). Which variables and parameters are reported is the
study's :class:`~cdisc_convert.report.spec.ReportSpec` (``<study>/report.yaml``); those the
data does not have simply leave their rows out.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.factorize import isin_distinct

from .jsontext import dumps
from .spec import ReportSpec
from .tables import positions_of

DAYS_PER = {"days": 1.0, "weeks": 7.0, "months": 30.4375}


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval (Clopper–Pearson), via beta quantiles."""
    from scipy.stats import beta

    alpha = 1 - level
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return low, high


def rate(flags: pd.Series, n: int) -> dict:
    """Count of 'Y', proportion and exact CI over ``n`` subjects."""
    k = int((flags == "Y").sum())
    if not n:
        return {"n": k, "N": 0, "pct": None, "ci95": [None, None]}
    low, high = clopper_pearson(k, n)
    return {"n": k, "N": n, "pct": round(100 * k / n, 1),
            "ci95": [round(100 * low, 1), round(100 * high, 1)]}


def usable_tte(tte: pd.DataFrame) -> pd.DataFrame:
    """Time-to-event records a Kaplan–Meier estimate can use: AVAL a finite number of days
    (not negative) and CNSR 0 or 1. The others are counted in results.json
    (``records_left_out``), never passed to lifelines, which stops at a missing value."""
    if tte.empty or not {"AVAL", "CNSR"} <= set(tte.columns):
        return tte.iloc[0:0]
    aval = pd.to_numeric(tte["AVAL"], errors="coerce")
    cnsr = pd.to_numeric(tte["CNSR"], errors="coerce")
    return tte[np.isfinite(aval) & (aval >= 0) & cnsr.isin([0, 1])]


def km_median(tte: pd.DataFrame, unit: str) -> dict:
    """Kaplan–Meier median of AVAL (days) with 95% CI, in ``unit`` (days/weeks/months)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    left_out = len(tte)
    tte = usable_tte(tte)
    left_out -= len(tte)
    if tte.empty:
        return {"median": None, "ci95": [None, None], "events": 0, "N": 0, "unit": unit,
                "records_left_out": left_out}
    fitter = KaplanMeierFitter().fit(tte["AVAL"], event_observed=1 - tte["CNSR"])
    ci = median_survival_times(fitter.confidence_interval_)
    scale = DAYS_PER[unit]

    def conv(v):
        return None if v is None or not np.isfinite(v) else round(float(v) / scale, 1)

    return {"median": conv(fitter.median_survival_time_),
            "median_days": None if not np.isfinite(fitter.median_survival_time_) else float(fitter.median_survival_time_),
            "ci95": [conv(ci.iloc[0, 0]), conv(ci.iloc[0, 1])],
            "events": int((tte["CNSR"] == 0).sum()), "N": int(len(tte)), "unit": unit,
            **({"records_left_out": left_out} if left_out else {})}


def _param(adrs: pd.DataFrame, paramcd: str, rows: np.ndarray | None = None) -> pd.DataFrame:
    """The records of ``paramcd`` (among ``rows``, a mask, when given)."""
    if "PARAMCD" not in adrs:
        return adrs.iloc[0:0]
    mask = isin_distinct(adrs["PARAMCD"], [paramcd])
    return adrs[mask if rows is None else mask & rows]


def dose_reductions(adex: pd.DataFrame, starting_dose: str, reduced: str) -> dict:
    """Subjects with a reduction (ADEX ``reduced`` AVALC = Y) among the subjects of each
    starting dose (AVAL of ADEX ``starting_dose``): ``{dose: {"reduced": n, "N": N}}``.
    Counted from the ADEX summary records, one per subject and parameter."""
    start = adex[isin_distinct(adex["PARAMCD"], [starting_dose])].drop_duplicates("USUBJID")
    flag = adex[isin_distinct(adex["PARAMCD"], [reduced])].drop_duplicates("USUBJID")
    if start.empty:
        return {}
    dose = pd.to_numeric(start["AVAL"], errors="coerce")           # CSV: text
    is_reduced = start["USUBJID"].map(flag.set_index("USUBJID")["AVALC"]).eq("Y")
    frame = pd.DataFrame({"dose": dose.to_numpy(), "reduced": is_reduced.to_numpy()})
    return {f"{d:g}": {"reduced": int(g["reduced"].sum()), "N": int(len(g))}
            for d, g in frame.dropna(subset=["dose"]).groupby("dose", sort=True)}


def compute_results(adsl: pd.DataFrame, adrs: pd.DataFrame, adtte: pd.DataFrame,
                    spec: ReportSpec = ReportSpec(), adex: pd.DataFrame | None = None) -> dict:
    """The results table as a dict (what ``results.json`` holds): population, sex and age,
    then what ``spec`` names (dose reductions from ADEX)."""
    population = spec.population
    pop = adsl[adsl[population] == "Y"] if population in adsl else adsl
    n = len(pop)
    ids = set(pop["USUBJID"])
    # a study without ADRS (or ADTTE) still gets its other rows; the population's ADRS
    # records as a mask, not a copy of every column of ADRS (a million records and more)
    in_pop = isin_distinct(adrs["USUBJID"], ids) if "USUBJID" in adrs else None
    adtte = adtte[isin_distinct(adtte["USUBJID"], ids)] if "USUBJID" in adtte else adtte
    out: dict = {"population": population, "N": n}
    if "SEX" in pop:
        out["sex"] = {k: int(v) for k, v in pop["SEX"].value_counts().sort_index().items()}
    age = pd.to_numeric(pop["AGE"], errors="coerce") if "AGE" in pop else pd.Series(dtype=float)
    if age.notna().any():
        out["age"] = {"median": float(age.median()), "min": float(age.min()),
                      "max": float(age.max())}
    for count in spec.counts:
        if count.variable in pop:
            out[count.key] = {k: int(v) for k, v in
                              pop[count.variable].value_counts().sort_index().items()}
    doses = spec.dose_reductions
    if doses and adex is not None and "PARAMCD" in adex:
        # the two parameters' records first: ADEX is large, they are a small part of it
        adex = adex[isin_distinct(adex["PARAMCD"], [doses.starting_dose, doses.reduced])]
        out_doses = dose_reductions(adex[isin_distinct(adex["USUBJID"], ids)],
                                    doses.starting_dose, doses.reduced)
        if out_doses:
            out[doses.key] = out_doses
    for flag in spec.flags:
        if flag.variable in pop:
            out[flag.key] = int((pop[flag.variable] == "Y").sum())
    # the population's records with the columns read, then every parameter's records from
    # one numbering of PARAMCD, not a copy of every column and a comparison per parameter
    adrs = adrs[[c for c in ("USUBJID", "PARAMCD", "AVALC") if c in adrs]]
    adrs = adrs if in_pop is None else adrs[in_pop]
    best = spec.best_overall_response
    wanted_params = [r.paramcd for r in spec.rates] + ([best.paramcd] if best else [])
    by_param = positions_of(adrs["PARAMCD"], wanted_params) if "PARAMCD" in adrs else {}
    for wanted in spec.rates:
        recs = adrs.iloc[by_param.get(wanted.paramcd, [])]
        if len(recs):
            flags = pop["USUBJID"].map(recs.set_index("USUBJID")["AVALC"]).fillna("N")
            out[wanted.key] = rate(flags, n)
    for median in spec.medians:
        recs = (adtte[isin_distinct(adtte["PARAMCD"], [median.paramcd])] if "PARAMCD" in adtte
                else adtte.iloc[0:0])
        out[median.key] = km_median(recs, median.unit)
        if len(recs) and "EVNTDESC" in recs:
            out[median.key]["reasons"] = reasons(recs)
    bor = adrs.iloc[by_param.get(best.paramcd, [])] if best else adrs.iloc[0:0]
    if len(bor):
        out[best.key] = {k: int(v) for k, v in bor["AVALC"].value_counts().sort_index().items()}
    return out


def reasons(recs: pd.DataFrame) -> dict:
    """Events and censorings of one time-to-event parameter counted per EVNTDESC (the FDA
    reviewer's first table: how many progressed, died, were censored and why)."""
    def count(rows: pd.DataFrame) -> dict:
        return {str(k): int(v) for k, v in
                rows["EVNTDESC"].fillna("").value_counts().sort_index().items()}

    return {"events": count(recs[recs["CNSR"] == 0]), "censored": count(recs[recs["CNSR"] == 1])}


# ---------------------------------------------------------------------------- figures

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "cdisc-convert"     # stable element ids: same bytes on rerun
    return plt


def load_libraries() -> None:
    """Import what the report computes and draws with (scipy, lifelines, matplotlib: about
    a second of CPU), ahead of the report: ``run`` does it in the report's process while
    SDTM is mapped."""
    import lifelines  # noqa: F401
    import scipy.stats  # noqa: F401

    _plt()


def _tight_crop():
    """An artist that draws nothing but, drawn last (after the axes), records the figure's
    tight bounding box padded as ``savefig(bbox_inches="tight")`` pads it: that option
    computes the box in a layout draw of its own before the real one, half the cost of
    saving a figure."""
    import matplotlib
    from matplotlib.artist import Artist

    class TightCrop(Artist):
        def __init__(self):
            super().__init__()
            self.set_zorder(math.inf)
            self.set_in_layout(False)
            self.box = None

        def draw(self, renderer):
            self.box = self.figure.get_tightbbox(renderer).padded(
                matplotlib.rcParams["savefig.pad_inches"])

    return TightCrop()


def _svg_number(value: float) -> str:
    """A length as matplotlib's SVG writer prints it."""
    return f"{value:f}".rstrip("0").rstrip(".")


def _save(fig, path: Path) -> str:
    """``fig`` as SVG cropped to its tight bounding box, drawn once: the figure is drawn at
    its size and the crop, recorded during that draw (:func:`_tight_crop`), becomes the
    SVG's width, height and viewBox; ``bbox_inches="tight"`` draws twice and moves every
    coordinate instead, for the same picture. The figure's white background reaches past
    its canvas, where the crop may (the numbers at risk under a Kaplan–Meier axis)."""
    import io

    import matplotlib.pyplot as plt

    crop = _tight_crop()
    fig.add_artist(crop)
    fig.patch.set_bounds(-1, -1, 3, 3)              # in figure fractions: 3 canvases wide
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    width, height = (_svg_number(v) for v in fig.get_size_inches() * 72)
    box = crop.box
    size = f'width="{width}pt" height="{height}pt" viewBox="0 0 {width} {height}"'
    text = buffer.getvalue()
    if box is None or size not in text:            # not matplotlib's SVG header as known
        crop.remove()
        fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None},
                    bbox_inches="tight")
    else:
        top = fig.get_size_inches()[1] - box.y1           # SVG's y axis points down
        w, h = _svg_number(box.width * 72), _svg_number(box.height * 72)
        cropped = (f'width="{w}pt" height="{h}pt" viewBox="{_svg_number(box.x0 * 72)} '
                   f'{_svg_number(top * 72)} {w} {h}"')
        path.write_text(text.replace(size, cropped, 1), encoding="utf-8")
    plt.close(fig)
    return path.name


def _km_fit(adtte: pd.DataFrame, paramcd: str, unit: str):
    """The usable records of ``paramcd`` and their Kaplan–Meier fit on the ``unit`` scale
    (None when there is nothing to fit)."""
    from lifelines import KaplanMeierFitter

    recs = usable_tte(adtte[adtte["PARAMCD"] == paramcd]) if "PARAMCD" in adtte else adtte.iloc[0:0]
    if recs.empty:
        return recs, None
    fitter = KaplanMeierFitter(label="Kaplan–Meier estimate").fit(
        recs["AVAL"] / DAYS_PER[unit], event_observed=1 - recs["CNSR"])
    return recs, fitter


def _km_ticks(times: pd.Series) -> np.ndarray:
    """About six round time points from 0 to the last time: the axis ticks and the times of
    the numbers at risk (figure and alt text use the same ones)."""
    step = max(1.0, float(np.ceil(times.max() / 6)))
    return np.arange(0, times.max() + step / 2, step)


def _at_risk(durations: pd.Series, ticks) -> list[tuple[float, int]]:
    """Subjects still at risk (time on or after t) at each tick: the numbers printed under
    the Kaplan–Meier axis (lifelines counts the same way at the start of each tick)."""
    values = durations.to_numpy(float)
    return [(float(t), int((values >= t).sum())) for t in ticks]


def plot_km(adtte: pd.DataFrame, paramcd: str, unit: str, path: Path) -> str | None:
    """Kaplan–Meier curve with its pointwise 95% CI band (lifelines: exponential Greenwood),
    censoring ticks, the median marked (dashed lines to 50% and the time axis) and the
    numbers at risk under the time axis."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    recs, fitter = _km_fit(adtte, paramcd, unit)
    if fitter is None:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.6))
    fitter.plot_survival_function(ax=ax, show_censors=True, ci_show=True,
                                  censor_styles={"marker": "|", "ms": 7}, color="#2b6cb0")
    median = fitter.median_survival_time_
    if np.isfinite(median):
        ax.plot([0, median, median], [0.5, 0.5, 0], color="black", lw=0.8, ls="--")
        ax.annotate(f"median {median:.1f} {unit}", (median, 0.5), xytext=(6, 6),
                    textcoords="offset points", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"Time from start ({unit})")
    ax.set_ylabel("Probability without the event")
    ax.set_title(f"{recs['PARAM'].iloc[0] if 'PARAM' in recs else paramcd} (Kaplan–Meier)")
    ax.legend(handles=[
        Line2D([], [], color="#2b6cb0", label="Kaplan–Meier estimate"),
        Patch(color="#2b6cb0", alpha=0.25, label="95% CI (pointwise)"),
        Line2D([], [], color="#2b6cb0", marker="|", ls="", ms=7, label="Censored"),
        Line2D([], [], color="black", ls="--", lw=0.8, label="Median")],
        loc="upper right", fontsize=7)
    times = recs["AVAL"] / DAYS_PER[unit]
    ticks = _km_ticks(times)
    ax.set_xticks(ticks)
    # drawn here rather than with lifelines' add_at_risk_counts, which counts the subjects
    # still at risk just after each time; the usual table counts T >= t, as the alt text
    below = dict(xycoords=("data", "axes fraction"), textcoords="offset points",
                 ha="center", fontsize=8)
    ax.annotate("Number at risk", xy=(0, 0), xytext=(0, -42), **{**below, "ha": "left"})
    for tick, count in _at_risk(times, ticks):
        ax.annotate(str(count), xy=(tick, 0), xytext=(0, -54), **below)
    return _save(fig, path)


def km_texts(adtte: pd.DataFrame, paramcd: str, unit: str) -> tuple[str, str]:
    """Caption and alt text of the Kaplan–Meier figure of ``paramcd``: what it shows, the
    median with its CI, and the numbers at risk."""
    recs, fitter = _km_fit(adtte, paramcd, unit)
    if fitter is None:
        return "", ""
    name = str(recs["PARAM"].iloc[0]) if "PARAM" in recs else paramcd
    summary = km_median(recs, unit)
    median = (f"median {summary['median']} {unit} (95% CI "
              f"{summary['ci95'][0] if summary['ci95'][0] is not None else 'NE'}–"
              f"{summary['ci95'][1] if summary['ci95'][1] is not None else 'NE'})"
              if summary["median"] is not None else "median not reached")
    times = recs["AVAL"] / DAYS_PER[unit]
    risk = _at_risk(times, _km_ticks(times))
    caption = (f"Kaplan–Meier estimate of {name}: {summary['N']} subjects, {summary['events']} "
               f"events, {median}. Shaded band: pointwise 95% confidence interval; ticks: "
               f"censored subjects; dashed lines: the median; numbers at risk under the axis.")
    last = float(fitter.survival_function_.iloc[-1, 0])
    alt = (f"Kaplan–Meier curve of {name} over {times.max():.0f} {unit}, falling from 100% to "
           f"{100 * last:.0f}%; {median}. Subjects at risk: "
           + ", ".join(f"{n} at {t:g} {unit}" for t, n in risk) + ".")
    return caption, alt


#: Above this many subjects the waterfall is drawn as one stepped area instead of one bar
#: per subject (the bars would be narrower than a pixel; one artist keeps it fast) and the
#: swimmer plot, one lane per subject, is left out with a note in results.html.
PER_SUBJECT_FIGURE_LIMIT = 300


def plot_waterfall(values: pd.Series, title: str, path: Path, threshold: float) -> str | None:
    """Best % change per subject, sorted; subjects at or below ``threshold`` in blue."""
    values = values.dropna().sort_values(ascending=False)
    if values.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    heights = values.to_numpy(dtype=float)
    below = heights <= threshold
    if len(heights) <= PER_SUBJECT_FIGURE_LIMIT:
        ax.bar(np.arange(len(heights)), heights, color=np.where(below, "#2b6cb0", "#a0aec0"))
    else:
        x = np.arange(len(heights) + 1) - 0.5
        edges = np.append(heights, heights[-1])
        for mask, colour in ((~below, "#a0aec0"), (below, "#2b6cb0")):
            ax.fill_between(x, edges, step="post", where=np.append(mask, mask[-1]),
                            color=colour, lw=0)
    ax.axhline(threshold, color="black", lw=0.6, ls="--")
    ax.set_xticks([])
    ax.set_ylabel("best % change from baseline")
    ax.set_title(title)
    return _save(fig, path)


def plot_swimmer(adsl: pd.DataFrame, adrs: pd.DataFrame, path: Path, *, paramcd: str,
                 title: str) -> str | None:
    """One lane per subject: weeks on treatment with PR/CR/PD markers of the ``paramcd``
    records (small studies only)."""
    if not {"TRTSDT", "TRTEDT"} <= set(adsl.columns) or len(adsl) > PER_SUBJECT_FIGURE_LIMIT:
        return None
    start = pd.to_datetime(adsl["TRTSDT"])
    weeks = ((pd.to_datetime(adsl["TRTEDT"]) - start).dt.days + 1) / 7
    order = weeks.sort_values().index
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, max(3, len(order) * 0.18)))
    ax.barh(range(len(order)), weeks[order].to_numpy(), color="#cbd5e0")
    ovr = _param(adrs, paramcd)
    ypos = dict(zip(adsl.loc[order, "USUBJID"], range(len(order))))
    starts = dict(zip(adsl["USUBJID"], start))
    markers = (("PR", "^", "#2f855a"), ("CR", "*", "#22543d"), ("PD", "x", "#c53030"))
    for resp, marker, colour in markers if {"AVALC", "ADT"} <= set(ovr.columns) else ():
        recs = ovr[(ovr["AVALC"] == resp) & ovr["USUBJID"].isin(ypos)]
        if len(recs):
            x = (pd.to_datetime(recs["ADT"]) - recs["USUBJID"].map(starts)).dt.days / 7
            ax.scatter(x, recs["USUBJID"].map(ypos), marker=marker, color=colour, label=resp,
                       zorder=3, s=18)
    ax.set_yticks([])
    ax.set_xlabel("weeks on treatment")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7)
    ax.set_title(title)
    return _save(fig, path)


def best_pchg(adtr: pd.DataFrame | None, paramcd: str) -> pd.Series:
    """Per subject, the best (lowest) post-baseline % change of a tumour parameter."""
    if adtr is None or adtr.empty or "PCHG" not in adtr:
        return pd.Series(dtype=float)
    rows = isin_distinct(adtr["PARAMCD"], [paramcd])
    if "ABLFL" in adtr:
        rows &= ~isin_distinct(adtr["ABLFL"], ["Y"])
    return adtr[["USUBJID", "PCHG"]][rows].groupby("USUBJID")["PCHG"].min()


# ---------------------------------------------------------------------------- HTML

def _fmt_rate(r: dict) -> str:
    if not r["N"]:
        return "no subjects"
    return f"{r['n']}/{r['N']} ({r['pct']}%; 95% CI {r['ci95'][0]}–{r['ci95'][1]})"


def _fmt_median(m: dict) -> str:
    left = m.get("records_left_out")
    note = f" ({left} record(s) without a usable AVAL/CNSR left out)" if left else ""
    if not m["N"]:
        return "no records" + note
    if m["median"] is None:
        return "not reached" + note
    lo, hi = m["ci95"]
    return f"{m['median']} {m['unit']} (95% CI {lo if lo is not None else 'NE'}–{hi if hi is not None else 'NE'}; {m['events']} events/{m['N']}){note}"


def results_rows(res: dict, spec: ReportSpec = ReportSpec()) -> list[tuple[str, str]]:
    """The rows of the results table: (label, value), in the order of ``spec``."""
    rows = [("Subjects", str(res["N"]))]
    if "sex" in res:
        rows.append(("Sex", ", ".join(f"{k} {v}" for k, v in res["sex"].items())))
    if "age" in res:
        rows.append(("Age, median (range)", f"{res['age']['median']:g} ({res['age']['min']:g}–{res['age']['max']:g})"))
    for count in spec.counts:
        if count.key in res:
            rows.append((count.label, ", ".join(f"{k} {v}" for k, v in res[count.key].items())))
    if spec.dose_reductions:
        for dose, d in res.get(spec.dose_reductions.key, {}).items():
            rows.append((spec.dose_reductions.label.replace("{dose}", dose),
                         f"{d['reduced']}/{d['N']}"))
    for flag in spec.flags:
        if flag.key in res:
            rows.append((flag.label, str(res[flag.key])))
    for wanted in spec.rates:
        if wanted.key in res:
            rows.append((wanted.label, _fmt_rate(res[wanted.key])))
    for median in spec.medians:
        rows.append((median.label, _fmt_median(res[median.key])))
    return rows


def _figure_html(figure) -> str:
    """``<figure>`` with alt text and caption; ``figure`` is a file name or (name, caption,
    alt)."""
    name, caption, alt = (figure, "", figure) if isinstance(figure, str) else figure
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{html.escape(name)}" alt="{html.escape(alt or name)}">{cap}</figure>'


def render_html(res: dict, figures: list, title: str, notes: list[str] = (),
                spec: ReportSpec = ReportSpec()) -> str:
    body = "\n".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>"
                     for a, b in results_rows(res, spec))
    imgs = "\n".join(_figure_html(f) for f in figures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}
figure{{display:inline-block;margin:1em}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>Computed from the ADaM datasets only (ADSL, ADRS, ADTTE, ADEX). Rates with exact (Clopper–Pearson) 95% CI;
medians from the Kaplan–Meier estimate (lifelines), weeks = days/7, months = days/30.4375.</p>
<table>{body}</table>
{"".join(f"<p>{html.escape(n)}</p>" + chr(10) for n in notes)}{imgs}
</body></html>
"""


#: the table types built beside the results where these are made in a forked child (``run``
#: of a large study) while the parent builds and writes the other tables: those computed
#: with scipy and lifelines (exact CIs, Kaplan–Meier medians), which that child imports for
#: the results anyway, so the parent never imports them (about a CPU second), and the
#: tables of ADEX and ADLB, which even the two processes' CPU time at 50,000 subjects
#: (~3.4 s each instead of 4.3 and 2.5; the parent writes every file of the tables)
RESULTS_SIDE_TABLES = frozenset({"rates", "time_to_event", "exposure", "lab_grades", "shift"})


def build_tables(adam: dict[str, pd.DataFrame], spec: ReportSpec, *,
                 results_side: bool | None = None) -> list:
    """The summary tables ``spec.tables`` declares, computed from the ADaM frames;
    ``results_side`` True: only those of ``RESULTS_SIDE_TABLES``, False: only the others
    (None: all),
    each in its place of the list, the others' places None."""
    from cdisc_convert.core.errors import InputError

    from .efficacy import table_rates, table_time_to_event
    from .labs import DEFAULT_LAB_BANDS, table_lab_grades, table_shift
    from .tables import (DEFAULT_GRADE_BANDS, table_adverse_events,
                         table_adverse_events_by_grade, table_deaths, table_demographics,
                         table_disposition, table_exposure, table_listing, table_response)

    built: list = []
    for t in spec.tables:
        if results_side is not None and (t.type in RESULTS_SIDE_TABLES) != results_side:
            built.append(None)
            continue
        common = dict(output=t.id, title=t.title, by=t.by, population=t.population,
                      total=t.total, group_order=t.group_order)
        needed = {"adverse_events": "ADAE", "adverse_events_by_grade": "ADAE",
                  "response": "ADRS", "exposure": "ADEX", "rates": "ADRS",
                  "time_to_event": "ADTTE", "listing": t.dataset,
                  "lab_grades": t.dataset or "ADLB", "shift": t.dataset or "ADLB"}.get(t.type)
        if needed and needed not in adam:
            raise InputError(f"table {t.id} ({t.type}) needs {needed}, which the ADaM folder "
                             f"does not have", dataset=needed, rule="REPORT-NO-DATASET")
        if t.type == "demographics":
            built.append(table_demographics(adam["ADSL"], variables=t.variables, **common))
        elif t.type == "adverse_events":
            built.append(table_adverse_events(adam["ADAE"], adam["ADSL"], flag=t.flag,
                                              where=t.where, **common))
        elif t.type == "adverse_events_by_grade":
            built.append(table_adverse_events_by_grade(
                adam["ADAE"], adam["ADSL"], flag=t.flag, where=t.where, grade=t.grade,
                bands=t.grades or DEFAULT_GRADE_BANDS, **common))
        elif t.type == "deaths":
            built.append(table_deaths(adam["ADSL"], adam.get("ADAE"), death_flag=t.death_flag,
                                      cause=t.death_cause, fatal_where=t.fatal_where, **common))
        elif t.type == "exposure":
            built.append(table_exposure(adam["ADEX"], adam["ADSL"], parameters=t.parameters,
                                        **common))
        elif t.type == "disposition":
            built.append(table_disposition(adam["ADSL"], flags=t.variables, status=t.status,
                                           reason=t.reason, **common))
        elif t.type == "rates":
            built.append(table_rates(adam["ADRS"], adam["ADSL"], rates=t.rates, **common))
        elif t.type == "time_to_event":
            built.append(table_time_to_event(adam["ADTTE"], adam["ADSL"],
                                             parameters=t.endpoints, **common))
        elif t.type == "listing":
            built.append(table_listing(adam[t.dataset], adam["ADSL"], columns=t.variables,
                                       dataset=t.dataset, flag=t.flag, where=t.where,
                                       sort=t.sort, **common))
        elif t.type == "lab_grades":
            bands = t.grades or DEFAULT_LAB_BANDS
            built.append(table_lab_grades(adam[needed], adam["ADSL"], flag=t.flag, term=t.term,
                                          grade=t.grade, bands=bands, **common))
        elif t.type == "shift":
            built.append(table_shift(adam[needed], adam["ADSL"], flag=t.flag,
                                     parameter=t.parameter, baseline=t.baseline, value=t.value,
                                     categories=t.categories, **common))
        else:
            built.append(table_response(adam["ADRS"], adam["ADSL"], paramcd=t.paramcd, **common))
    return built


def write_summary_tables(adam: dict[str, pd.DataFrame], spec: ReportSpec, out: Path,
                         title: str, results_side=None) -> list[str]:
    """tables.html, one RTF per table, the ARD (ard.csv, ard.json) and the ARS v1.0
    reporting event (ars.json) into ``out``. ``results_side``: a function giving the
    tables of ``RESULTS_SIDE_TABLES`` (``build_tables(results_side=True)``), built by
    another process meanwhile; called once the others are built."""
    from .ars import reporting_event
    from .tlf import rtf_name, write_tables

    if results_side is None:
        tables = build_tables(adam, spec)
    else:
        tables = build_tables(adam, spec, results_side=False)
        tables = [mine if mine is not None else theirs
                  for mine, theirs in zip(tables, results_side())]
    written = write_tables(tables, out, title=title, source="Source: ADaM datasets; cdisc-convert")
    adsl = adam["ADSL"]
    study = str(adsl["STUDYID"].iloc[0]) if "STUDYID" in adsl and len(adsl) else "study"
    event = reporting_event(tables, spec.tables, study=study,
                            files={t.id: rtf_name(t.id) for t in tables})
    (out / "ars.json").write_text(dumps(event, indent=1) + "\n", encoding="utf-8")
    return written + ["ars.json"]


def without_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (a view, not a copy) without the file metadata read with it (labels,
    formats, lengths ...): pandas deep-copies ``attrs`` into the result of every operation,
    which cost about a sixth of the summary tables' time, and the report uses none of it."""
    if not frame.attrs:
        return frame
    out = frame.copy(deep=False)
    out.attrs = {}
    return out


def draw_figures(adam: dict[str, pd.DataFrame], out: Path,
                 spec: ReportSpec = ReportSpec()) -> list[tuple[str, str, str]]:
    """Draw the figures that ``spec`` names into ``out``: (file name, caption, alt text) of
    each figure drawn, in order."""
    adam = {name: without_attrs(frame) for name, frame in adam.items()}
    adsl, adrs, adtte = adam["ADSL"], adam.get("ADRS", pd.DataFrame()), adam.get("ADTTE", pd.DataFrame())
    figures = []
    for m in (m for m in spec.medians if m.figure):
        if len(adtte) and plot_km(adtte, m.paramcd, m.unit, out / m.figure):
            figures.append((m.figure, *km_texts(adtte, m.paramcd, m.unit)))
    for w in spec.waterfalls:
        values = best_pchg(adam.get("ADTR"), w.paramcd)
        if plot_waterfall(values, w.title, out / w.figure, w.threshold):
            n, k = int(values.notna().sum()), int((values <= w.threshold).sum())
            figures.append((w.figure, f"{w.title}: best post-baseline percentage change per "
                                      f"subject (N = {n}); dashed line: {w.threshold:g}%.",
                            f"Bar chart, one bar per subject ({n}), sorted from the largest "
                            f"increase to the largest decrease of {w.paramcd}; {k} subjects at "
                            f"or below {w.threshold:g}% (blue bars)."))
    if spec.swimmer and plot_swimmer(adsl, adrs, out / spec.swimmer.figure,
                                     paramcd=spec.swimmer.paramcd, title=spec.swimmer.title):
        figures.append((spec.swimmer.figure, f"{spec.swimmer.title}: one lane per subject "
                                             f"(N = {len(adsl)}), weeks from the first to the "
                                             f"last dose; markers: PR, CR and PD assessments.",
                        f"Horizontal bars, one per subject ({len(adsl)}), sorted by time on "
                        f"treatment, with triangles for partial responses, stars for complete "
                        f"responses and crosses for progression."))
    return figures


def results_and_figures(adam: dict[str, pd.DataFrame], out: Path,
                        spec: ReportSpec = ReportSpec(), *, tables: bool = True
                        ) -> tuple[dict, list, list]:
    """What results.json holds (:func:`compute_results`), the figures drawn into ``out``
    (:func:`draw_figures`) and, with ``tables``, the summary tables of
    ``RESULTS_SIDE_TABLES`` (``build_tables(results_side=True)``; else an empty list)."""
    adam = {name: without_attrs(frame) for name, frame in adam.items()}
    adsl, adrs, adtte = adam["ADSL"], adam.get("ADRS", pd.DataFrame()), adam.get("ADTTE", pd.DataFrame())
    res = compute_results(adsl, adrs, adtte, spec, adex=adam.get("ADEX"))
    figures = draw_figures(adam, out, spec)
    return res, figures, build_tables(adam, spec, results_side=True) if tables else []


def write_results(adam: dict[str, pd.DataFrame], out: Path, *, title: str = "Results",
                  spec: ReportSpec = ReportSpec(), results=None) -> dict:
    """Write results.json, results.html, the figures and the summary tables that ``spec``
    names into ``out`` (an existing folder). ``results``: a function returning what
    :func:`results_and_figures` gives, when another process computes it meanwhile (called
    once the summary tables other than its own are built, or when building them fails:
    its error is raised first, as it is when computed here, before the tables)."""
    from cdisc_convert.core.errors import InputError

    adam = {name: without_attrs(frame) for name, frame in adam.items()}
    adsl = adam["ADSL"]
    if adsl.empty or "USUBJID" not in adsl:
        raise InputError("ADSL has no records (or no USUBJID): there is no subject to "
                         "report on", dataset="ADSL", rule="REPORT-ADSL-EMPTY")
    if results is None:     # the tables then in their order, after the results
        res, figures, _ = results_and_figures(adam, out, spec, tables=False)
    notes = []
    if spec.swimmer and len(adsl) > PER_SUBJECT_FIGURE_LIMIT:
        notes.append(f"No swimmer plot: it has one lane per subject and the study has "
                     f"{len(adsl)} (limit {PER_SUBJECT_FIGURE_LIMIT}).")
    tables = None
    if spec.tables:
        try:
            tables = write_summary_tables(
                adam, spec, out, title,
                results_side=None if results is None else lambda: results()[2])
        except BaseException:
            if results is not None:
                results()
            raise
    if results is not None:
        res, figures, _ = results()
    if tables is not None:
        res["tables"] = tables
    (out / "results.json").write_text(dumps(res, indent=2, sort_keys=True) + "\n")
    (out / "results.html").write_text(render_html(res, figures, title, notes, spec))
    res["figures"] = [name for name, _, _ in figures]
    return res
