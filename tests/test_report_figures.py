"""The Kaplan–Meier figure: numbers at risk, the median marked, caption and alt text, on a
small table worked out by hand."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.report.results import km_texts, plot_km, write_results
from cdisc_convert.report.spec import Median, ReportSpec

# days 7 (event), 14 (event), 14 (censored), 21 (event), 28 (censored); KM: 0.8 after day
# 7, 0.6 after day 14, 0.3 after day 21 -> median 21 days
ADTTE = pd.DataFrame({"USUBJID": list("abcde"), "PARAMCD": "OS", "PARAM": "Overall Survival",
                      "AVAL": [7, 14, 14, 21, 28], "CNSR": [0, 0, 1, 0, 1]})


def test_numbers_at_risk_median_and_texts(tmp_path):
    caption, alt = km_texts(ADTTE, "OS", "days")
    assert "5 subjects, 3 events, median 21.0 days" in caption
    assert "95% confidence interval" in caption and "numbers at risk" in caption
    # ticks every 5 days up to 28: at risk = subjects with AVAL >= t
    assert "5 at 0 days, 5 at 5 days, 4 at 10 days, 2 at 15 days, 2 at 20 days, " \
           "1 at 25 days" in alt
    assert "falling from 100% to 30%" in alt
    svg = (tmp_path / plot_km(ADTTE, "OS", "days", tmp_path / "km.svg")).read_text()
    assert "Number at risk" in svg and "median 21.0 days" in svg
    assert "95% CI (pointwise)" in svg and "Censored" in svg


def test_results_html_shows_caption_and_alt_text(tmp_path):
    adsl = pd.DataFrame({"USUBJID": list("abcde"), "STUDYID": "S", "ITTFL": "Y"})
    spec = ReportSpec(medians=(Median("os", "OS", "days", "Median OS", "km_os.svg"),))
    write_results({"ADSL": adsl, "ADTTE": ADTTE}, tmp_path, spec=spec)
    page = (tmp_path / "results.html").read_text()
    assert '<img src="km_os.svg" alt="Kaplan–Meier curve of Overall Survival' in page
    assert "<figcaption>Kaplan–Meier estimate of Overall Survival: 5 subjects" in page


def _svg_box(svg: str) -> tuple[float, ...]:
    import re

    head = re.search(r'<svg [^>]*width="([\d.]+)pt" height="([\d.]+)pt" '
                     r'viewBox="([-\d. ]+)"', svg)
    return (float(head.group(1)), float(head.group(2)),
            *(float(v) for v in head.group(3).split()))


def test_a_figure_is_cropped_as_matplotlibs_tight_bounding_box(tmp_path):
    # matplotlib's own bbox_inches="tight" is the oracle: the same width and height; the
    # crop is the viewBox (its origin the canvas point at the crop's top left), and the
    # white background covers it also where it reaches past the canvas (the text below)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cdisc_convert.report.results import _save

    def figure():
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1], [0, 1])
        ax.set_title("a title " * 12)                  # wider than the canvas
        ax.annotate("far below", xy=(0, 0), xytext=(0, -80), textcoords="offset points",
                    xycoords=("data", "axes fraction"))
        return fig

    tight = tmp_path / "tight.svg"
    fig = figure()
    fig.savefig(tight, format="svg", bbox_inches="tight")
    plt.close(fig)
    expected = _svg_box(tight.read_text())
    svg = (tmp_path / _save(figure(), tmp_path / "once.svg")).read_text()
    width, height, x0, y0, box_w, box_h = _svg_box(svg)
    assert (width, height) == pytest.approx(expected[:2], abs=1e-5)
    assert (box_w, box_h) == (width, height)
    assert x0 < 0 and y0 + box_h > 3 * 72      # wider than the canvas, below its bottom
    # the background patch: canvas-relative (-1, -1) to (2, 2), i.e. 3 canvases around it
    assert "M -288 432 \nL 576 432 \nL 576 -216 \nL -288 -216 \nz" in svg
