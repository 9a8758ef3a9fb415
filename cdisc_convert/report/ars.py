"""The summary tables' results as a CDISC Analysis Results Standard (ARS v1.0) reporting
event (``ars.json``).

ARS v1.0 is CDISC's logical model of analyses and their results; its JSON schema is
``project/jsonschema/ars_ldm.schema.json`` of the ``cdisc-org/analysis-results-standard``
repository, tag ``v1.0.0`` (``$id`` https://www.cdisc.org/ars/1-0). The reporting event is
built from the tables' analysis results data (:attr:`Table.ard`), so ARS, ARD and the
displayed cells hold the same numbers:

* one **Output** per table (its display, title and RTF file) and one entry per table in the
  main list of contents, with the table's analyses as a sub-list;
* one **Analysis** per displayed row and column kind: the groups of the table's ``by``
  variable (a GroupingFactor on ADSL with one Group per value) and, separately, the Total
  column (no grouping); grade bands are a second GroupingFactor;
* **Methods** by the statistics a row holds: counts with percentages (n, pct), summary
  statistics (N, MEAN, STD, MEDIAN, MIN, MAX) and the population count (N);
* each ARD record is one **OperationResult** (rawValue = the statistic, formattedValue = as
  the table shows it);
* the population flag is an **AnalysisSet** (ADSL.flag EQ Y).

The analyses' purpose is a sponsor term (``DESCRIPTIVE SUMMARY``) declared in the event's
terminology extensions unless the table names one of ARS's controlled terms.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import pandas as pd

from .tables import TOTAL, Table

__all__ = ["ARS_VERSION", "ARS_SCHEMA_ID", "reporting_event", "METHODS"]

ARS_VERSION = "1.0"
ARS_SCHEMA_ID = "https://www.cdisc.org/ars/1-0"

#: method id -> (name, operations: statistic -> (operation name, result pattern))
METHODS = {
    "Mth_BigN": ("Number of subjects in the population", {
        "N": ("Number of subjects", "N=XX")}),
    "Mth_CountPct": ("Count and percentage of subjects", {
        "n": ("Number of subjects", "XX"),
        "pct": ("Percentage of the population's subjects", "(XX.X)")}),
    "Mth_CountPctCI": ("Count and percentage of responders with the exact (Clopper-Pearson) "
                       "95% confidence interval", {
        "n": ("Number of responders", "XX"),
        "pct": ("Percentage of the population's subjects", "(XX.X)"),
        "LCL": ("Lower limit of the exact 95% CI, percent", "(XX.X,"),
        "UCL": ("Upper limit of the exact 95% CI, percent", "XX.X)")}),
    "Mth_KMMedian": ("Kaplan-Meier median with its 95% confidence interval", {
        "MEDIAN": ("Median time to event", "XX.X"),
        "MEDLCL": ("Lower limit of the 95% CI of the median", "(XX.X,"),
        "MEDUCL": ("Upper limit of the 95% CI of the median", "XX.X)")}),
    "Mth_Summary": ("Summary statistics of a continuous variable", {
        "N": ("n", "XX"), "MEAN": ("Mean", "XX.X"), "STD": ("Standard deviation", "(XX.XX)"),
        "MEDIAN": ("Median", "XX.X"), "MIN": ("Minimum", "XX"), "MAX": ("Maximum", "XX")}),
}

_DATASET = {"demographics": "ADSL", "adverse_events": "ADAE",
            "adverse_events_by_grade": "ADAE", "deaths": "ADSL", "exposure": "ADEX",
            "response": "ADRS", "disposition": "ADSL", "rates": "ADRS",
            "time_to_event": "ADTTE", "lab_grades": "ADLB", "shift": "ADLB"}
_PURPOSES = ("PRIMARY OUTCOME MEASURE", "SECONDARY OUTCOME MEASURE",
             "EXPLORATORY OUTCOME MEASURE")
_SPONSOR_PURPOSE = "ST_PURPOSE_DESCRIPTIVE"
#: the statistics of a count row (as opposed to a summary-statistics row)
_COUNTING = frozenset({"n", "pct", "LCL", "UCL"})


def _id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_") or "x"


def _method(stats: set[str]) -> str:
    if stats & {"LCL", "UCL"}:
        return "Mth_CountPctCI"
    if stats & {"MEDLCL", "MEDUCL"}:
        return "Mth_KMMedian"
    if stats <= {"n", "pct"}:
        return "Mth_CountPct"
    if stats == {"N"}:
        return "Mth_BigN"
    return "Mth_Summary"


def _raw(value: float) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return repr(float(value))


def _formatted(stat: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NE" if stat.startswith("MED") else ""      # a median not reached
    if stat in ("n", "N", "MIN", "MAX"):
        return f"{value:.0f}"
    if stat == "pct":
        return f"({value:.1f})"
    if stat == "STD":
        return f"({value:.2f})"
    return f"{value:.1f}"


def _variable(spec, row: str, method: str) -> str:
    """The analysis variable of a row: the ADSL variable of a demographics row, AVAL/AVALC
    of an exposure row, USUBJID for subject counts."""
    kind = getattr(spec, "type", "")
    if kind == "demographics":
        for name, label in spec.variables:
            if row == label or row.startswith(f"{label}: "):
                return name
    if kind == "exposure" and row != "N":
        return "AVAL" if method == "Mth_Summary" else "AVALC"
    if kind == "rates" and row != "N":
        return "AVALC"
    if kind == "time_to_event" and method == "Mth_KMMedian":
        return "AVAL"
    if kind == "time_to_event" and row != "N" and method == "Mth_CountPct":
        return "CNSR"
    return "USUBJID"


def reporting_event(tables: Sequence[Table], specs: Sequence, *, study: str,
                    files: dict[str, str] | None = None) -> dict:
    """The ARS v1.0 ReportingEvent of ``tables`` (built from their ARD) declared by
    ``specs`` (the report.yaml TableSpecs, same order); ``files`` maps a table id to the
    RTF file written for it."""
    files = files or {}
    by_id = {s.id: s for s in specs}
    analysis_sets: dict[str, dict] = {}
    groupings: dict[str, dict] = {}
    analyses: list[dict] = []
    outputs: list[dict] = []
    contents: list[dict] = []
    used_methods: set[str] = set()
    for order, table in enumerate(tables, 1):
        spec = by_id.get(table.id)
        dataset = (getattr(spec, "dataset", None) or
                   _DATASET.get(getattr(spec, "type", ""), "ADSL"))
        out_id = f"Out_{_id(table.id)}"
        set_id = None
        if spec is not None and spec.population:
            set_id = f"AnalysisSet_{_id(spec.population)}"
            analysis_sets.setdefault(set_id, {
                "id": set_id, "name": f"Subjects with {spec.population} = Y", "level": 1,
                "order": len(analysis_sets) + 1,
                "condition": {"dataset": "ADSL", "variable": spec.population,
                              "comparator": "EQ", "value": ["Y"]}})
        ard = table.ard
        group_values = [g for g in dict.fromkeys(ard["GROUP"]) if g != TOTAL]
        by = spec.by if spec is not None else "GROUP"
        grouping_id = f"AnlsGrouping_{_id(by)}"
        grouping = groupings.setdefault(grouping_id, {
            "id": grouping_id, "name": f"Groups of {by}", "dataDriven": False,
            "groupingDataset": "ADSL", "groupingVariable": by, "groups": []})
        known = {g["name"]: g["id"] for g in grouping["groups"]}
        for value in group_values:
            if value not in known:
                gid = f"{grouping_id}_{len(grouping['groups']) + 1}"
                grouping["groups"].append({
                    "id": gid, "name": value, "level": 1, "order": len(grouping["groups"]) + 1,
                    "condition": {"dataset": "ADSL", "variable": by, "comparator": "EQ",
                                  "value": [value]}})
                known[value] = gid
        band_id, band_groups = None, {}
        subgroups = [s for s in dict.fromkeys(ard["SUBGROUP"]) if s]
        if subgroups:
            band_id = f"AnlsGrouping_{_id(table.id)}_Band"
            bands = dict(getattr(spec, "grades", ()) or ())
            grade = getattr(spec, "grade", "ATOXGR")
            if getattr(spec, "type", "") == "shift":
                # the columns are the worst post-baseline categories of ``value``
                grade = spec.value
                bands = {c: (c,) for c in spec.categories}
            groups = []
            for n, band in enumerate(subgroups, 1):
                group = {"id": f"{band_id}_{n}", "name": band, "level": 1, "order": n}
                if bands.get(band):
                    group["condition"] = {"dataset": dataset, "variable": grade,
                                          "comparator": "IN", "value": list(bands[band])}
                groups.append(group)
                band_groups[band] = group["id"]
            groupings[band_id] = {"id": band_id, "name": f"Maximum {grade} band",
                                  "description": "A subject counts in the band of the "
                                                 "maximum grade of its events in the row; a "
                                                 "band without a condition is any grade.",
                                  "dataDriven": False, "groupingDataset": dataset,
                                  "groupingVariable": grade, "groups": groups}
        items = []
        # the ARD's columns as lists and each row's records by position, taken once: a
        # comparison of the whole ARD per row cost more than the rest of the event
        group_of, subgroup_of, row_of, stat_of, value_of = (
            ard[c].tolist() for c in ("GROUP", "SUBGROUP", "ROW", "STAT", "VALUE"))
        by_row: dict[str, list[int]] = {}
        for i, row in enumerate(row_of):
            by_row.setdefault(row, []).append(i)
        for r, (row, positions) in enumerate(by_row.items(), 1):
            # a row label may name a count row and a statistics row at once (a term "N")
            counting = {i: stat_of[i] in _COUNTING for i in positions}
            kinds = [k for k in (True, False) if k in counting.values()]
            for (kind, counts), total in ((k, tot) for k in enumerate(kinds)
                                          for tot in (False, True)):
                part = [i for i in positions
                        if counting[i] == counts and (group_of[i] == TOTAL) == total]
                if not part:
                    continue
                method = _method({stat_of[i] for i in part})
                used_methods.add(method)
                analysis_id = (f"An_{_id(table.id)}_{r:03d}" + (f"_{kind + 1}" if kind else "")
                               + ("_Total" if total else ""))
                ordered = []
                if not total:
                    ordered.append({"order": 1, "groupingId": grouping_id,
                                    "resultsByGroup": True})
                if band_id:
                    ordered.append({"order": len(ordered) + 1, "groupingId": band_id,
                                    "resultsByGroup": True})
                results = []
                for i in part:
                    group, subgroup, stat, value = (group_of[i], subgroup_of[i], stat_of[i],
                                                    value_of[i])
                    groups = []
                    if not total:
                        groups.append({"groupingId": grouping_id, "groupId": known[group]})
                    if band_id and subgroup:
                        groups.append({"groupingId": band_id, "groupId": band_groups[subgroup]})
                    result = {"operationId": f"{method}_{stat}",
                              "formattedValue": _formatted(stat, value)}
                    raw = _raw(value)
                    if raw is not None:
                        result["rawValue"] = raw
                    if groups:
                        result["resultGroups"] = groups
                    results.append(result)
                name = f"{table.id} {row}" + (" (Total)" if total else f" by {by}")
                purpose = getattr(spec, "purpose", None)
                analysis = {
                    "id": analysis_id, "name": name, "version": 1,
                    "reason": {"controlledTerm": "SPECIFIED IN SAP"},
                    "purpose": ({"controlledTerm": purpose} if purpose in _PURPOSES
                                else {"sponsorTermId": _SPONSOR_PURPOSE}),
                    "methodId": method, "dataset": dataset,
                    "variable": _variable(spec, row, method),
                    **({"analysisSetId": set_id} if set_id else {}),
                    **({"orderedGroupings": ordered} if ordered else {}),
                    "results": results}
                analyses.append(analysis)
                items.append({"name": name, "level": 2, "order": len(items) + 1,
                              "analysisId": analysis_id})
        display = {"id": f"Disp_{_id(table.id)}", "name": table.title, "version": 1,
                   "displayTitle": f"Table {table.id}: {table.title}",
                   "displaySections": [
                       {"sectionType": "Title", "orderedSubSections": [
                           {"order": 1, "subSection": {"id": f"Disp_{_id(table.id)}_Title_1",
                                                       "text": f"Table {table.id}"}},
                           {"order": 2, "subSection": {"id": f"Disp_{_id(table.id)}_Title_2",
                                                       "text": table.title}}]},
                       *([{"sectionType": "Footnote", "orderedSubSections": [
                           {"order": n, "subSection": {"id": f"Disp_{_id(table.id)}_Foot_{n}",
                                                       "text": note}}
                           for n, note in enumerate(table.footnotes, 1)]}]
                         if table.footnotes else [])]}
        output = {"id": out_id, "name": f"Table {table.id}: {table.title}", "version": 1,
                  "displays": [{"order": 1, "display": display}]}
        if table.id in files:
            output["fileSpecifications"] = [{"name": files[table.id],
                                             "fileType": {"controlledTerm": "rtf"},
                                             "location": files[table.id]}]
        outputs.append(output)
        contents.append({"name": f"Table {table.id}: {table.title}", "level": 1,
                         "order": order, "outputId": out_id,
                         "sublist": {"listItems": items}})
    methods = [{"id": mid, "name": METHODS[mid][0], "operations": [
        {"id": f"{mid}_{stat}", "name": name, "label": stat, "order": n, "resultPattern": pat}
        for n, (stat, (name, pat)) in enumerate(METHODS[mid][1].items(), 1)]}
        for mid in METHODS if mid in used_methods]
    event = {
        "id": f"RE_{_id(study)}", "name": f"Summary tables of {study}", "version": 1,
        "mainListOfContents": {"name": "List of planned outputs and analyses",
                               "contentsList": {"listItems": contents}},
        "terminologyExtensions": [{
            "id": "TermExt_AnalysisPurpose", "enumeration": "AnalysisPurposeEnum",
            "sponsorTerms": [{"id": _SPONSOR_PURPOSE, "submissionValue": "DESCRIPTIVE SUMMARY",
                              "description": "A descriptive summary table of the clinical "
                                             "study report"}]}],
        "analysisSets": list(analysis_sets.values()),
        "analysisGroupings": list(groupings.values()),
        "methods": methods, "analyses": analyses, "outputs": outputs}
    return event


def ard_from_event(event: dict) -> pd.DataFrame:
    """Every OperationResult of ``event`` as (ANALYSIS, OPERATION, GROUPS, RAW) rows: a
    reader's view used to compare ARS with the ARD."""
    rows = []
    for analysis in event.get("analyses", []):
        for result in analysis.get("results", []):
            groups = tuple(sorted(g.get("groupId", "") for g in result.get("resultGroups", [])))
            rows.append((analysis["id"], result["operationId"], groups,
                         result.get("rawValue")))
    return pd.DataFrame(rows, columns=["ANALYSIS", "OPERATION", "GROUPS", "RAW"])
