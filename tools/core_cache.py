#!/usr/bin/env python
"""Write the SDTMIG 3.4 metadata cache the CDISC open rules engine (CORE) reads, from this
project's own ``specs/``, so that CORE can check the bundled study offline.

CORE normally fills its cache from the CDISC Library (an API key): the implementation guide
(``standards_details.pkl``), the SDTM model (``standards_models.pkl``), the variables by
dataset (``variables_metadata.pkl``) and each CT package (``sdtmct-<date>.pkl``). Its rules
cache (``rules.pkl``) ships with the engine. This tool writes the four metadata files from
``specs/sdtmig-3.4`` (CDISC's SDTMIG 3.4 export) and the bundled SDTM CT. The SDTM v2.0
model table is not in ``specs/``: its class variables are approximated by the union of the
IG domains' variables per class, without core designations, so CORE rules on the model's
variable order are not assessable with it (docs/core-conformance.md).

    python tools/core_cache.py CORE_CACHE_DIR     # e.g. <engine>/resources/cache

Then: ``core.py validate -s sdtmig -v 3-4 -d <folder of XPT> -dxp <define.xml>``.
"""
from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdisc_convert.standards.metadata import load_ct, load_standard  # noqa: E402

GENERAL_OBSERVATION = ("Interventions", "Events", "Findings", "Findings About")
OTHER_CLASSES = ("Special-Purpose", "Trial Design", "Study Reference", "Relationship")


def _variable(row, name: str | None = None, core: bool = True) -> dict:
    codes = [c for c in str(row.codelist_code or "").split(";") if c.strip()]
    out = {"name": name or row.variable, "label": row.label, "ordinal": str(int(row.order)),
           "role": row.role, "simpleDatatype": row.type,
           "_links": ({"codelist": [{"href": f"/mdr/root/ct/sdtmct/codelists/{c.strip()}"}
                                    for c in codes]} if codes else {})}
    if core:
        out["core"] = row.core
    return out


def _frames(standard: str = "sdtmig-3.4") -> tuple[pd.DataFrame, pd.DataFrame]:
    std = load_standard(standard)
    datasets = std.datasets.fillna("").rename(columns={"class": "klass"})
    variables = std.variables.fillna("")
    variables = variables[variables["dataset"].isin(datasets["dataset"])]
    return datasets, variables.sort_values(["dataset", "order"], kind="stable")


def standard_details(datasets: pd.DataFrame, variables: pd.DataFrame) -> dict:
    """The IG as CORE's ``standards/sdtmig/3-4`` entry: classes, datasets, variables."""
    by_dataset = {name: [_variable(r) for r in frame.itertuples(index=False)]
                  for name, frame in variables.groupby("dataset", sort=False)}
    classes: dict[str, dict] = {}
    for i, row in enumerate(datasets.itertuples(index=False), start=1):
        cls = classes.setdefault(row.klass, {"name": row.klass, "label": row.klass,
                                          "ordinal": str(len(classes) + 1), "datasets": []})
        cls["datasets"].append({"name": row.dataset, "label": row.label, "ordinal": str(i),
                                "datasetStructure": row.structure,
                                "datasetVariables": by_dataset.get(row.dataset, [])})
    return {"name": "SDTMIG v3.4", "version": "3.4", "registrationStatus": "Final",
            "_links": {"model": {"href": "/mdr/sdtm/2-0"}, "self": {"href": "/mdr/sdtmig/3-4"}},
            "classes": list(classes.values()), "dataset_names": set(datasets["dataset"])}


def model_details(datasets: pd.DataFrame, variables: pd.DataFrame) -> dict:
    """An approximation of SDTM v2.0: per general observation class the generic (--)
    variables its IG domains use; Identifier and Timing variables in General Observations."""
    classes = datasets.set_index("dataset")["klass"]
    shared: dict[str, dict] = {}
    per_class: dict[str, dict[str, dict]] = {c: {} for c in GENERAL_OBSERVATION}
    for row in variables.itertuples(index=False):
        cls = classes.get(row.dataset)
        if cls not in GENERAL_OBSERVATION:
            continue
        name = ("--" + row.variable[2:] if row.variable[:2] == row.dataset[:2]
                else row.variable)
        target = shared if row.role in ("Identifier", "Timing") else per_class[cls]
        target.setdefault(name, _variable(row, name, core=False))
    shared_list = sorted(shared.values(), key=lambda v: v["role"] != "Identifier")
    for i, v in enumerate(shared_list, start=1):
        v["ordinal"] = str(i)
    out = [{"name": "General Observations", "ordinal": "1", "classVariables": shared_list}]
    for i, cls in enumerate(GENERAL_OBSERVATION, start=2):
        variables_of = list(per_class[cls].values())
        for k, v in enumerate(variables_of, start=1):
            v["ordinal"] = str(k)
        out.append({"name": cls, "ordinal": str(i), "classVariables": variables_of})
    ig = standard_details(datasets, variables)
    for cls in ig["classes"]:
        if cls["name"] in OTHER_CLASSES:
            out.append({"name": cls["name"], "ordinal": str(len(out) + 1),
                        "datasets": cls["datasets"]})
    names = {d["name"] for c in out for d in c.get("datasets", [])}
    return {"name": "SDTM v2.0", "version": "2-0", "standard_type": "sdtm", "classes": out,
            "datasets": [], "dataset_names": names}


def variables_metadata(datasets: pd.DataFrame, variables: pd.DataFrame) -> dict:
    return {name: {r.variable: _variable(r) for r in frame.itertuples(index=False)}
            for name, frame in variables.groupby("dataset", sort=False)}


def ct_package() -> tuple[str, dict]:
    """The loaded SDTM CT release as CORE's ``sdtmct-<date>`` package."""
    ct = load_ct()
    terms = ct.terms[ct.terms["source"] == "sdtm"].fillna("")
    codelists = []
    for code, rows in terms.groupby("codelist_code", sort=False):
        head = rows.iloc[0]
        codelists.append({
            "conceptId": code, "name": head["codelist_name"],
            "submissionValue": head["codelist_short_name"],
            "extensible": head["extensible"] == "Yes",
            "terms": [{"conceptId": t.term_code, "submissionValue": t.submission_value,
                       "preferredTerm": t.preferred_term,
                       "synonyms": [s.strip() for s in str(t.synonyms).split(";") if s.strip()]}
                      for t in rows.itertuples(index=False)]})
    name = f"sdtmct-{ct.release}"
    return name, {"package": name, "codelists": codelists}


def write_cache(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    datasets, variables = _frames()
    name, package = ct_package()
    files = {
        "standards_details.pkl": {"standards/sdtmig/3-4": standard_details(datasets, variables)},
        "standards_models.pkl": {"models/sdtm/2-0": model_details(datasets, variables)},
        "variables_metadata.pkl": {
            "library_variables_metadata/sdtmig/3-4": variables_metadata(datasets, variables)},
        f"{name}.pkl": package,
    }
    written = []
    for file, content in files.items():
        with open(folder / file, "wb") as handle:
            pickle.dump(content, handle)
        written.append(folder / file)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="CORE's cache folder (resources/cache)")
    args = parser.parse_args(argv)
    for path in write_cache(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
