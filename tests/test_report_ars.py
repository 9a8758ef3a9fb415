"""ars.json, the summary tables as a CDISC ARS v1.0 reporting event.

The ARS v1.0 JSON schema (``project/jsonschema/ars_ldm.schema.json`` of
github.com/cdisc-org/analysis-results-standard, tag v1.0.0) cannot be committed here: set
``CDISC_ARS_SCHEMA`` to a local copy of it to validate against it; without it that test is
skipped and the structural tests below check the properties the schema requires of every
class we write, and that every reference resolves."""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from cdisc_convert.report.ars import reporting_event
from cdisc_convert.report.spec import TableSpec
from cdisc_convert.report.tables import table_adverse_events_by_grade, table_demographics

ADSL = pd.DataFrame({"USUBJID": ["1", "2", "3"], "ARM": ["A", "A", "B"], "SAFFL": "Y",
                     "AGE": [40.0, 60.0, 50.0], "SEX": ["F", "M", "F"]})
ADAE = pd.DataFrame({"USUBJID": ["1", "1", "3"], "AEBODSYS": ["B", "B", "B"],
                     "AEDECOD": ["N", "N", "N"], "ATOXGR": ["2", "4", "5"], "TRTEMFL": "Y"})
BANDS = (("Any", ()), ("3-4", ("3", "4")), ("5", ("5",)))
SPECS = [TableSpec("1", "demographics", "Demo", "ARM", "SAFFL",
                   variables=(("AGE", "Age"), ("SEX", "Sex"))),
         TableSpec("2", "adverse_events_by_grade", "By grade", "ARM", "SAFFL", grades=BANDS)]

REQUIRED = {  # class -> properties the ARS v1.0 schema requires
    "ReportingEvent": ("id", "mainListOfContents", "name"),
    "Analysis": ("id", "reason", "purpose", "methodId", "name"),
    "AnalysisMethod": ("id", "operations", "name"),
    "Operation": ("id", "order", "name"),
    "OperationResult": ("operationId",),
    "ResultGroup": ("groupingId",),
    "AnalysisSet": ("id", "name", "level", "order"),
    "GroupingFactor": ("id", "dataDriven", "name"),
    "Group": ("id", "name", "level", "order"),
    "Output": ("id", "displays", "name"),
    "OrderedDisplay": ("order", "display"),
    "OutputDisplay": ("id", "name"),
    "ListOfContents": ("contentsList", "name"),
    "OrderedListItem": ("level", "order", "name"),
    "OrderedGroupingFactor": ("order", "groupingId", "resultsByGroup"),
}


def _event():
    tables = [table_demographics(ADSL, output="1", title="Demo", by="ARM", population="SAFFL",
                                 variables=(("AGE", "Age"), ("SEX", "Sex"))),
              table_adverse_events_by_grade(ADAE, ADSL, output="2", title="By grade", by="ARM",
                                            population="SAFFL", bands=BANDS)]
    return tables, reporting_event(tables, SPECS, study="S", files={"2": "table_2.rtf"})


def check_structure(event: dict) -> None:
    """Every class has its required properties, ids are unique, references resolve."""
    def need(obj, cls):
        missing = [p for p in REQUIRED[cls] if p not in obj]
        assert not missing, (cls, obj.get("id"), missing)

    need(event, "ReportingEvent")
    need(event["mainListOfContents"], "ListOfContents")
    methods = {m["id"]: m for m in event["methods"]}
    operations = set()
    for m in event["methods"]:
        need(m, "AnalysisMethod")
        for op in m["operations"]:
            need(op, "Operation")
            operations.add(op["id"])
    sets = set()
    for s in event["analysisSets"]:
        need(s, "AnalysisSet")
        sets.add(s["id"])
    groups = {}
    for g in event["analysisGroupings"]:
        need(g, "GroupingFactor")
        for group in g["groups"]:
            need(group, "Group")
            groups[group["id"]] = g["id"]
    analyses = set()
    for a in event["analyses"]:
        need(a, "Analysis")
        assert a["methodId"] in methods and a.get("analysisSetId", next(iter(sets))) in sets
        assert set(a["purpose"]) in ({"controlledTerm"}, {"sponsorTermId"})
        for og in a.get("orderedGroupings", []):
            need(og, "OrderedGroupingFactor")
        for r in a["results"]:
            need(r, "OperationResult")
            assert r["operationId"] in operations
            assert r["operationId"].startswith(a["methodId"] + "_")
            for rg in r.get("resultGroups", []):
                need(rg, "ResultGroup")
                assert groups[rg["groupId"]] == rg["groupingId"]
        analyses.add(a["id"])
    outputs = set()
    for o in event["outputs"]:
        need(o, "Output")
        for d in o["displays"]:
            need(d, "OrderedDisplay")
            need(d["display"], "OutputDisplay")
        outputs.add(o["id"])
    ids = [x["id"] for key in ("methods", "analyses", "outputs", "analysisSets",
                               "analysisGroupings") for x in event[key]]
    assert len(ids) == len(set(ids))
    listed = []
    for item in event["mainListOfContents"]["contentsList"]["listItems"]:
        need(item, "OrderedListItem")
        assert item["outputId"] in outputs
        for sub in item["sublist"]["listItems"]:
            need(sub, "OrderedListItem")
            listed.append(sub["analysisId"])
    assert sorted(listed) == sorted(analyses)


def test_the_event_has_every_required_property_and_resolves():
    _, event = _event()
    check_structure(event)
    assert event["analysisSets"][0]["condition"] == {"dataset": "ADSL", "variable": "SAFFL",
                                                    "comparator": "EQ", "value": ["Y"]}
    band = next(g for g in event["analysisGroupings"] if g["groupingVariable"] == "ATOXGR")
    assert [(g["name"], g.get("condition", {}).get("value")) for g in band["groups"]] == [
        ("Any", None), ("3-4", ["3", "4"]), ("5", ["5"])]


def test_every_ard_statistic_is_one_ars_result_with_the_same_value():
    tables, event = _event()
    ard = pd.concat([t.ard for t in tables])
    from_ard = Counter((row.STAT, repr(float(row.VALUE))) for row in ard.itertuples()
                       if row.VALUE == row.VALUE)
    from_ars = Counter((r["operationId"].rsplit("_", 1)[1], r["rawValue"])
                       for a in event["analyses"] for r in a["results"] if "rawValue" in r)
    assert from_ard == from_ars
    # subject 1 (grades 2 and 4) counts under 3-4 in group A; subject 3 under 5 in B
    analysis = next(a for a in event["analyses"] if a["name"] == "2 N by ARM")
    by_band = {(tuple(sorted(g["groupId"] for g in r["resultGroups"])), r["operationId"]):
               r["rawValue"] for r in analysis["results"]}
    group_a = "AnlsGrouping_ARM_1"
    assert by_band[(tuple(sorted([group_a, "AnlsGrouping_2_Band_2"])), "Mth_CountPct_n")] \
        == "1.0"
    assert by_band[(tuple(sorted([group_a, "AnlsGrouping_2_Band_3"])), "Mth_CountPct_n")] \
        == "0.0"


def test_validates_against_the_published_schema_when_a_copy_is_given():
    path = os.environ.get("CDISC_ARS_SCHEMA")
    if not path:
        pytest.skip("CDISC_ARS_SCHEMA (a local copy of ars_ldm.schema.json v1.0) is not set")
    import jsonschema

    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    assert schema.get("$id") == "https://www.cdisc.org/ars/1-0"
    _, event = _event()
    jsonschema.Draft7Validator(schema).validate(event)


# -- the bundled study: ars.json, ard.csv and the tables agree ----------------------------
def test_bundled_ars_holds_the_tables_statistics(bundled_run):
    event = json.loads((bundled_run / "report" / "ars.json").read_text(encoding="utf-8"))
    check_structure(event)
    ard = pd.read_csv(bundled_run / "report" / "ard.csv", keep_default_na=False,
                      float_precision="round_trip",
                      dtype={"OUTPUT": str})
    ard["VALUE"] = pd.to_numeric(ard["VALUE"], errors="coerce")
    outputs = {item["outputId"]: [s["analysisId"] for s in item["sublist"]["listItems"]]
               for item in event["mainListOfContents"]["contentsList"]["listItems"]}
    analyses = {a["id"]: a for a in event["analyses"]}
    for output in sorted(set(ard["OUTPUT"])):
        mine = ard[ard["OUTPUT"] == output].dropna(subset=["VALUE"])
        expected = Counter((s, repr(float(v))) for s, v in zip(mine["STAT"], mine["VALUE"]))
        found = Counter((r["operationId"].rsplit("_", 1)[1], r["rawValue"])
                        for aid in outputs["Out_" + output.replace(".", "_")]
                        for r in analyses[aid]["results"] if "rawValue" in r)
        assert found == expected, output
    # the paper's grade 5 febrile neutropenia, Total column, Grade 5 band
    total = next(a for a in event["analyses"]
                 if a["name"] == "14.3.2 FEBRILE NEUTROPENIA (Total)")
    band = {g["id"]: g["name"] for f in event["analysisGroupings"] for g in f["groups"]}
    grade5 = [r for r in total["results"] if r["operationId"] == "Mth_CountPct_n"
              and band[r["resultGroups"][0]["groupId"]] == "Grade 5"]
    assert [r["rawValue"] for r in grade5] == ["1.0"]
    schema = os.environ.get("CDISC_ARS_SCHEMA")
    if schema:
        import jsonschema

        jsonschema.Draft7Validator(json.loads(Path(schema).read_text())).validate(event)
