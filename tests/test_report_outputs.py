"""Disposition, response rates with exact CIs, time-to-event medians and listings: each on a
tiny table worked out by hand, then the bundled study's and the CDISC pilot's tables against
numbers made here from the ADaM XPT files with plain pandas (the Kaplan–Meier estimate and
its log(-log) band written out below, not lifelines; the exact CI by scipy's binomtest, not
the beta quantiles of the code under test)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.report.ars import reporting_event
from cdisc_convert.report.efficacy import table_rates, table_time_to_event
from cdisc_convert.report.spec import TableSpec, report_spec_from_text
from cdisc_convert.report.tables import table_disposition, table_listing
from cdisc_convert.report.tlf import tables_html, write_rtf

ADSL = pd.DataFrame({
    "USUBJID": list("123456"), "ARM": ["A", "A", "A", "B", "B", "B"],
    "ITTFL": "Y", "SAFFL": ["Y", "Y", "Y", "Y", "Y", "N"],
    "EOSSTT": ["COMPLETED", "DISCONTINUED", "DISCONTINUED", "DISCONTINUED", "COMPLETED", None],
    "DCSREAS": [None, "DEATH", "ADVERSE EVENT", "DEATH", None, None],
    "DTHFL": [None, "Y", None, "Y", None, None],
    "DTHDT": pd.to_datetime([None, "2020-03-01", None, "2020-01-15", None, None])})


def _cells(table, label):
    found = [row[1:] for row in table.rows if row[0] == label]
    assert len(found) == 1, (label, [r[0] for r in table.rows])
    return found[0]


def _ard(table):
    return table.ard.set_index(["GROUP", "ROW", "STAT"])["VALUE"]


def test_disposition_counts_populations_status_and_reasons():
    t = table_disposition(ADSL, output="D", title="x", by="ARM",
                          flags=[("ITTFL", "ITT"), ("SAFFL", "Safety")], status="EOSSTT",
                          reason="DCSREAS")
    assert [r[0] for r in t.rows] == ["ITT", "Safety", "DISCONTINUED", "DEATH", "ADVERSE EVENT",
                                      "COMPLETED", "Missing"]
    assert _cells(t, "Safety") == ["3 (100.0)", "2 (66.7)", "5 (83.3)"]
    assert _cells(t, "DISCONTINUED") == ["2 (66.7)", "1 (33.3)", "3 (50.0)"]
    assert _cells(t, "DEATH") == ["1 (33.3)", "1 (33.3)", "2 (33.3)"]
    assert _ard(t)[("Total", "EOSSTT: DISCONTINUED: ADVERSE EVENT", "n")] == 1


def test_rates_have_exact_clopper_pearson_intervals():
    adrs = pd.DataFrame({"USUBJID": list("12345"), "PARAMCD": "BOR",
                         "AVALC": ["PR", "SD", "PD", "CR", "NE"]})
    t = table_rates(adrs, ADSL, output="R", title="x", by="ARM", population="ITTFL",
                    rates=[("ORR", "BOR", ("CR", "PR")), ("DCR", "BOR", ("CR", "PR", "SD"))])
    # subject 6 has no record: a non-responder; ORR A 1/3, B 1/3, total 2/6
    assert _cells(t, "ORR") == ["1 (33.3)", "1 (33.3)", "2 (33.3)"]
    assert _cells(t, "DCR") == ["2 (66.7)", "1 (33.3)", "3 (50.0)"]
    ard = _ard(t)
    # textbook values: 1/3 -> 0.84%-90.57%; 2/6 -> 4.33%-77.72%; 3/6 -> 11.81%-88.19%
    assert ard[("A", "ORR", "LCL")] == pytest.approx(0.8403, abs=1e-3)
    assert ard[("A", "ORR", "UCL")] == pytest.approx(90.57, abs=1e-2)
    assert ard[("Total", "ORR", "LCL")] == pytest.approx(4.33, abs=1e-2)
    assert ard[("Total", "DCR", "UCL")] == pytest.approx(88.19, abs=1e-2)
    assert t.rows[1] == ["95% CI (exact)", "(0.8, 90.6)", "(0.8, 90.6)", "(4.3, 77.7)"]


def test_time_to_event_counts_and_kaplan_meier_median():
    # A: 7 (event), 14 (censored), 21 (event), 28 (event): S = 0.75, 0.375 at 21 -> median 21 d
    # B: 10, 20, 30 events: S = 2/3, 1/3 at 20 -> median 20 d
    adtte = pd.DataFrame({"USUBJID": list("1234567"), "PARAMCD": "PFS",
                          "AVAL": [7, 14, 21, 10, 20, 30, np.nan],
                          "CNSR": [0, 1, 0, 0, 0, 0, 0]})
    adsl = pd.concat([ADSL, pd.DataFrame({"USUBJID": ["7"], "ARM": ["A"], "ITTFL": ["Y"]})])
    adtte.loc[len(adtte)] = ["7", "PFS", 28, 0]
    adtte = adtte.dropna(subset=["AVAL"])
    t = table_time_to_event(adtte, adsl, output="T", title="x", by="ARM", population="ITTFL",
                            parameters=[("PFS", "PFS", "weeks")])
    ard = _ard(t)
    assert ard[("A", "PFS", "N")] == 4 and ard[("B", "PFS", "N")] == 3
    assert ard[("A", "PFS: Censored", "n")] == 1 and ard[("A", "PFS: Events", "n")] == 3
    assert ard[("A", "PFS: Median", "MEDIAN")] == pytest.approx(3.0)    # 21 days = 3 weeks
    assert ard[("B", "PFS: Median", "MEDIAN")] == pytest.approx(20 / 7)
    assert _cells(t, "Events, n (%)") == ["3 (75.0)", "3 (100.0)", "6 (85.7)"]
    # log(-log) band at 7 d: S = 0.75, Greenwood V = 1/12, se = sqrt(V)/|ln 0.75| = 1.0035,
    # lower = 0.75 ** exp(1.96 * 1.0035) = 0.13 <= 0.5 -> LCL 7 d; the upper band reaches 0
    # with S at 28 d -> UCL 28 d
    assert ard[("A", "PFS: Median", "MEDLCL")] == pytest.approx(1.0)
    assert ard[("A", "PFS: Median", "MEDUCL")] == pytest.approx(4.0)
    assert _cells(t, "Median (weeks) (95% CI)")[0] == "3.0 (1.0, 4.0)"
    # a median not reached (all censored): NE, and missing in the ARD
    t = table_time_to_event(adtte.assign(CNSR=1), adsl, output="T", title="x", by="ARM",
                            population="ITTFL", parameters=[("PFS", "PFS", "days")])
    assert math.isnan(_ard(t)[("A", "PFS: Median", "MEDIAN")])
    assert _cells(t, "Median (days) (95% CI)")[0] == "NE (NE, NE)"


def test_listing_selects_sorts_and_counts():
    adae = pd.DataFrame({"USUBJID": ["4", "1", "1", "2", "6"], "AEDECOD": ["X", "Y", "Z", "W", "V"],
                         "ATOXGR": [3, 4, 2, 5, 3], "TRTEMFL": "Y",
                         "ASTDT": pd.to_datetime(["2020-01-02", "2020-02-01", "2020-01-01",
                                                  "2020-01-05", "2020-01-01"])})
    t = table_listing(adae, ADSL, output="L", title="x", by="ARM", dataset="ADAE",
                      population="SAFFL", flag="TRTEMFL", where=[("ATOXGR", ("3", "4", "5"))],
                      columns=[("USUBJID", "Subject"), ("AEDECOD", "Term"), ("ATOXGR", "Grade"),
                               ("ASTDT", "Start")], sort=["ASTDT"])
    assert t.header == ["Group", "Subject", "Term", "Grade", "Start"]
    # subject 6 is outside the safety population; subject 1's grade 2 is not listed
    assert t.rows == [["A", "1", "Y", "4", "2020-02-01"], ["A", "2", "W", "5", "2020-01-05"],
                      ["B", "4", "X", "3", "2020-01-02"]]
    ard = _ard(t)
    assert ard[("A", "Records", "n")] == 2 and ard[("Total", "Subjects", "n")] == 3
    empty = table_listing(adae, ADSL, output="L", title="x", by="ARM", dataset="ADAE",
                          where=[("ATOXGR", ("9",))], columns=[("USUBJID", "Subject")])
    assert empty.rows == [["No records", ""]]


def test_new_tables_in_html_rtf_and_ars(tmp_path):
    adrs = pd.DataFrame({"USUBJID": list("123"), "PARAMCD": "RSP", "AVALC": ["Y", "N", "Y"]})
    rates = table_rates(adrs, ADSL, output="2", title="Rates", by="ARM", population="ITTFL",
                        rates=[("ORR", "RSP", ("Y",))])
    listing = table_listing(ADSL, ADSL, output="3", title="Deaths", by="ARM", dataset="ADSL",
                            where=[("DTHFL", ("Y",))],
                            columns=[("USUBJID", "Subject"), ("DTHDT", "Death")])
    assert listing.rows[0] == ["A", "2", "2020-03-01"]
    text = write_rtf(listing, tmp_path / "l.rtf").read_text()
    assert text.startswith("{\\rtf1") and "2020-03-01" in text
    assert "(9.4, 99.2)" in tables_html([rates], "x")      # 2/3: exact 9.43%-99.16%
    specs = [TableSpec("2", "rates", "Rates", "ARM", "ITTFL", rates=(("ORR", "RSP", ("Y",)),)),
             TableSpec("3", "listing", "Deaths", "ARM", dataset="ADSL", flag=None)]
    event = reporting_event([rates, listing], specs, study="S")
    methods = {m["id"] for m in event["methods"]}
    assert "Mth_CountPctCI" in methods
    orr = [a for a in event["analyses"] if a["name"] == "2 ORR by ARM"][0]
    assert orr["methodId"] == "Mth_CountPctCI" and orr["variable"] == "AVALC"
    lows = [r for r in orr["results"] if r["operationId"] == "Mth_CountPctCI_LCL"]
    assert len(lows) == 2 and lows[0]["formattedValue"] == "9.4"
    assert [a["dataset"] for a in event["analyses"] if a["name"].startswith("3 ")] == ["ADSL"] * 4


def test_report_yaml_declares_the_new_tables():
    spec = report_spec_from_text("""
tables:
  - {id: "1", type: rates, title: R, by: ARM, parameters: [{paramcd: BOR, values: [CR, PR]},
                                                           {paramcd: DCR, label: DCR}]}
  - {id: "2", type: time_to_event, title: T, by: ARM, parameters: [{paramcd: OS, unit: months}]}
  - {id: "3", type: listing, title: L, by: ARM, dataset: ADAE, variables: [{name: USUBJID}],
     where: {ATOXGR: [3, 4, 5]}}
  - {id: "4", type: disposition, title: D, by: ARM, status: EOSSTT, reason: DCSREAS}
""")
    rates, tte, listing, disposition = spec.tables
    assert rates.rates == (("BOR", "BOR", ("CR", "PR")), ("DCR", "DCR", ("Y",)))
    assert tte.endpoints == (("OS", "OS", "months"),)
    assert listing.flag is None and listing.where == (("ATOXGR", ("3", "4", "5")),)
    assert disposition.status == "EOSSTT" and disposition.reason == "DCSREAS"


# -- independent references: Kaplan–Meier by hand, exact CI by scipy.stats.binomtest --------
def _km_by_hand(aval: pd.Series, cnsr: pd.Series) -> tuple[float, float, float]:
    """Product-limit estimate; median = first time S <= 0.5; 95% limits = first times the
    log(-log) band (Greenwood variance) reaches 0.5."""
    frame = pd.DataFrame({"t": aval.astype(float), "d": (cnsr == 0).astype(int)})
    times = np.sort(frame.loc[frame["d"] == 1, "t"].unique())
    s, var, rows = 1.0, 0.0, []
    for t in times:
        n = int((frame["t"] >= t).sum())
        d = int(((frame["t"] == t) & (frame["d"] == 1)).sum())
        s *= 1 - d / n
        var += d / (n * (n - d)) if n > d else math.inf
        if 0 < s < 1 and math.isfinite(var):
            se = math.sqrt(var) / abs(math.log(s))
            low, high = s ** math.exp(1.959964 * se), s ** math.exp(-1.959964 * se)
        else:
            low = high = s
        rows.append((t, s, low, high))

    def first(column: int) -> float:
        hits = [r[0] for r in rows if r[column] <= 0.5]
        return hits[0] if hits else math.nan

    return first(1), first(2), first(3)


@pytest.fixture(scope="module")
def bundled(bundled_run):
    import pyreadstat

    data = {name: pyreadstat.read_xport(str(bundled_run / "adam" / f"{name}.xpt"))[0]
            for name in ("adsl", "adae", "adrs", "adtte")}
    ard = pd.read_csv(bundled_run / "report" / "ard.csv", keep_default_na=False,
                      float_precision="round_trip", dtype={"OUTPUT": str})
    ard["VALUE"] = pd.to_numeric(ard["VALUE"], errors="coerce")
    return data, ard, bundled_run / "report"


def _stat(ard, output, group, row, stat="n"):
    hit = ard[(ard["OUTPUT"] == output) & (ard["GROUP"] == group) & (ard["ROW"] == row)
              & (ard["STAT"] == stat)]
    assert len(hit) == 1, (output, group, row, stat)
    return hit["VALUE"].iloc[0]


def test_bundled_disposition_matches_adsl(bundled):
    data, ard, _ = bundled
    adsl = data["adsl"]
    for arm, rows in list(adsl.groupby("TRT01A")) + [("Total", adsl)]:
        assert _stat(ard, "14.1.2", arm, "N", "N") == len(rows)
        assert _stat(ard, "14.1.2", arm, "Safety population") == (rows["SAFFL"] == "Y").sum()
        for (status, reason), n in rows.groupby(["EOSSTT", "DCSREAS"]).size().items():
            if reason:
                assert _stat(ard, "14.1.2", arm, f"EOSSTT: {status}: {reason}") == n
        for status, n in rows["EOSSTT"].value_counts().items():
            assert _stat(ard, "14.1.2", arm, f"EOSSTT: {status}") == n


def test_bundled_response_rates_match_adrs(bundled):
    from scipy.stats import binomtest

    data, ard, _ = bundled
    adsl, adrs = data["adsl"], data["adrs"]
    itt = adsl[adsl["ITTFL"] == "Y"]
    bor = itt["USUBJID"].map(adrs[adrs["PARAMCD"] == "BOR"].set_index("USUBJID")["AVALC"])
    dcr = itt["USUBJID"].map(adrs[adrs["PARAMCD"] == "DCR"].set_index("USUBJID")["AVALC"])
    rows = {"Objective response rate (best overall response CR or PR)": bor.isin(["CR", "PR"]),
            "Disease control at 18 weeks (primary endpoint)": dcr.eq("Y")}
    for label, responder in rows.items():
        for arm in [*itt["TRT01A"].unique(), "Total"]:
            mask = (itt["TRT01A"] == arm) if arm != "Total" else pd.Series(True, itt.index)
            k, n = int(responder[mask].sum()), int(mask.sum())
            ci = binomtest(k, n).proportion_ci(method="exact")
            assert _stat(ard, "14.2.2", arm, label) == k
            assert _stat(ard, "14.2.2", arm, label, "LCL") == pytest.approx(100 * ci.low)
            assert _stat(ard, "14.2.2", arm, label, "UCL") == pytest.approx(100 * ci.high)
    # the paper's primary endpoint: 17 of 37 with disease control at 18 weeks
    assert _stat(ard, "14.2.2", "Total", "Disease control at 18 weeks (primary endpoint)") == 17


def test_bundled_survival_medians_match_a_hand_kaplan_meier(bundled):
    data, ard, _ = bundled
    adsl, adtte = data["adsl"], data["adtte"]
    arms = adsl.set_index("USUBJID")["TRT01A"]
    for paramcd, label, days in (("PFS", "Progression-free survival", 7.0),
                                 ("OS", "Overall survival", 30.4375)):
        recs = adtte[adtte["PARAMCD"] == paramcd].assign(ARM=lambda f: f["USUBJID"].map(arms))
        for arm, rows in list(recs.groupby("ARM")) + [("Total", recs)]:
            assert _stat(ard, "14.2.3", arm, label, "N") == len(rows)
            assert _stat(ard, "14.2.3", arm, f"{label}: Events") == (rows["CNSR"] == 0).sum()
            median, low, high = _km_by_hand(rows["AVAL"], rows["CNSR"])
            for stat, value in (("MEDIAN", median), ("MEDLCL", low), ("MEDUCL", high)):
                got = _stat(ard, "14.2.3", arm, f"{label}: Median", stat)
                assert (math.isnan(got) and math.isnan(value)) or \
                    got == pytest.approx(value / days), (paramcd, arm, stat)


def test_bundled_listings_match_adae_and_adsl(bundled):
    data, ard, report = bundled
    adsl, adae = data["adsl"], data["adae"]
    safety = set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"])
    severe = adae[(adae["TRTEMFL"] == "Y") & adae["ATOXGR"].astype(float).isin([3, 4, 5])
                  & adae["USUBJID"].isin(safety)]
    assert _stat(ard, "14.3.2.2", "Total", "Records") == len(severe)
    assert _stat(ard, "14.3.2.2", "Total", "Subjects") == severe["USUBJID"].nunique()
    dead = adsl[(adsl["DTHFL"] == "Y") & adsl["USUBJID"].isin(safety)]
    assert _stat(ard, "14.3.2.1", "Total", "Records") == len(dead)
    # the one grade 5 event is listed, and every death is in the deaths listing's RTF
    rtf = (report / "table_14_3_2_2.rtf").read_text()
    assert "FEBRILE NEUTROPENIA" in rtf
    deaths_rtf = (report / "table_14_3_2_1.rtf").read_text()
    assert all(u in deaths_rtf for u in dead["USUBJID"])


# -- the CDISC pilot's ADaM ------------------------------------------------------------------
def test_cdisc_pilot_disposition_survival_and_listings(reference, repo, tmp_path):
    from cdisc_convert.io.read_folder import read_dataset
    from cdisc_convert.report.results import build_tables
    from cdisc_convert.report.spec import load_report_spec

    folder = reference / "cdiscpilot01" / "adam"
    adam = {name.upper(): read_dataset(folder / f"{name}.xpt")
            for name in ("adsl", "adae", "adtte")}
    tables = {t.id: t for t in build_tables(adam, load_report_spec(repo / "mappings" /
                                                                   "cdiscpilot01"))}
    adsl, adae, adtte = adam["ADSL"], adam["ADAE"], adam["ADTTE"]
    disposition = _ard(tables["14.1.2"])
    for arm, rows in adsl.groupby("TRT01P"):
        assert disposition[(arm, "Completed week 24", "n")] == (rows["COMP24FL"] == "Y").sum()
        for reason, n in rows["DCDECOD"].value_counts().items():
            assert disposition[(arm, f"DCDECOD: {reason}", "n")] == n
    tte = _ard(tables["14.3.1"])
    label = "Time to first dermatologic event"
    for arm, rows in adtte[adtte["SAFFL"] == "Y"].groupby("TRTA"):
        assert tte[(arm, f"{label}: Events", "n")] == (rows["CNSR"] == 0).sum()
        median, low, high = _km_by_hand(rows["AVAL"], rows["CNSR"])
        got = tte[(arm, f"{label}: Median", "MEDIAN")]
        assert (math.isnan(got) and math.isnan(median)) or got == pytest.approx(median)
        assert np.allclose([tte[(arm, f"{label}: Median", s)] for s in ("MEDLCL",
                                                                         "MEDUCL")],
                           [low, high], equal_nan=True)
    deaths = _ard(tables["14.5.2"])
    assert deaths[("Total", "Records", "n")] == (adsl["DTHFL"] == "Y").sum() == 3
    severe = adae[(adae["TRTEMFL"] == "Y") & (adae["AESEV"] == "SEVERE")]
    listing = _ard(tables["14.5.3"])
    assert listing[("Total", "Records", "n")] == len(severe)
    assert listing[("Total", "Subjects", "n")] == severe["USUBJID"].nunique()


def test_cdisc_pilot_report_cli_writes_html_rtf_ard_and_ars(reference, repo, tmp_path):
    """`cdisc-convert report` on the pilot's own ADaM folder with its report.yaml: one RTF
    per declared table, every table in tables.html, the ARD and the ARS event."""
    import json

    from click.testing import CliRunner

    from cdisc_convert.cli import main
    from cdisc_convert.report.spec import load_report_spec

    out = tmp_path / "report"
    out.mkdir()
    result = CliRunner().invoke(main, ["report", str(reference / "cdiscpilot01" / "adam"),
                                       "--out", str(out), "--study",
                                       str(repo / "mappings" / "cdiscpilot01")])
    assert result.exit_code == 0, result.output
    ids = [t.id for t in load_report_spec(repo / "mappings" / "cdiscpilot01").tables]
    assert {"14.1.2", "14.3.1", "14.5.2", "14.5.3"} <= set(ids)
    page = (out / "tables.html").read_text(encoding="utf-8")
    for table_id in ids:
        rtf = (out / f"table_{table_id.replace('.', '_')}.rtf").read_text()
        assert rtf.startswith("{\\rtf1") and f"Table {table_id}" in rtf
        assert f'id="{table_id}"' in page
    ard = pd.read_csv(out / "ard.csv", dtype={"OUTPUT": str})
    assert set(ard["OUTPUT"]) == set(ids)
    event = json.loads((out / "ars.json").read_text(encoding="utf-8"))
    assert len(event["outputs"]) == len(ids)


def test_report_with_results_forked_writes_the_same_files(bundled_run, tmp_path, monkeypatch,
                                                          forks):
    """``run --jobs 2`` on a large study computes results.json and draws the figures in a
    forked child while its own process writes the summary tables: the same files as one
    process writes (here forced for the bundled study: the threshold set to 0)."""
    from cdisc_convert import api, background
    from cdisc_convert.core.resources import bundled_study

    if not background.can_fork():
        pytest.skip("forking is used on Linux only")
    monkeypatch.setattr(api, "REPORT_SPLIT_RECORDS", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    written = {}
    for parallel in (False, True):
        out = tmp_path / str(parallel)
        result = api._report(bundled_run / "adam", out, shown=out, study=bundled_study(),
                             parallel=parallel)
        written[parallel] = {p.name: p.read_bytes() for p in out.iterdir()}
        assert result["results"]["figures"] and result["results"]["tables"]
    assert forks == ["the report's results and figures"]
    assert written[True] == written[False]
    assert written[True] == {name: (bundled_run / "report" / name).read_bytes()
                             for name in written[True]}


def test_the_tables_built_beside_the_results_fill_their_places(bundled_run):
    """``build_tables(results_side=True)`` (the child computing the results in a large
    study's report) builds the rates, time-to-event, exposure and lab tables,
    ``results_side=False`` (the process writing the tables) the others, each in its place:
    together the tables of one call."""
    from cdisc_convert.core.resources import bundled_study
    from cdisc_convert.io.read_folder import read_folder
    from cdisc_convert.report.results import RESULTS_SIDE_TABLES, build_tables
    from cdisc_convert.report.spec import load_report_spec

    adam = read_folder(bundled_run / "adam")
    spec = load_report_spec(bundled_study())
    everything = build_tables(adam, spec)
    beside = build_tables(adam, spec, results_side=True)
    others = build_tables(adam, spec, results_side=False)
    kinds = [t.type for t in spec.tables]
    assert RESULTS_SIDE_TABLES < set(kinds)
    assert [t is None for t in beside] == [k not in RESULTS_SIDE_TABLES for k in kinds]
    assert [t is None for t in others] == [k in RESULTS_SIDE_TABLES for k in kinds]
    for whole, mine, theirs in zip(everything, others, beside):
        part = mine if mine is not None else theirs
        assert (part.id, part.rows) == (whole.id, whole.rows)
        pd.testing.assert_frame_equal(part.ard, whole.ard)
