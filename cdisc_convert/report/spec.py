"""What the results report of a study shows: ``<study>/report.yaml``.

The report code knows how to compute a rate, a Kaplan–Meier median or a waterfall; which
ADaM parameters and ADSL variables a study reports, with which labels, is a fact of the
study and lives in its ``report.yaml`` (checked against ``report.schema.json`` beside this
module; the keys are described in ``docs/report.md``). Without a file the report shows the
population, sex and age only.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.yamlio import load_yaml

__all__ = ["BestResponse", "Count", "DoseReductions", "Median", "Rate", "ReportSpec", "Swimmer",
           "Waterfall", "load_report_spec", "report_spec_from_dict"]

REPORT_FILE = "report.yaml"


@dataclass(frozen=True)
class Count:
    """An ADSL variable tabulated by value (``results.json[key]``: value -> subjects)."""
    key: str
    variable: str
    label: str


@dataclass(frozen=True)
class DoseReductions:
    """Subjects with ``reduced`` = Y among those of each value of ``starting_dose``."""
    key: str
    starting_dose: str
    reduced: str
    label: str  # "{dose}" is replaced by the starting dose


@dataclass(frozen=True)
class Rate:
    """Subjects whose ``paramcd`` record (ADRS) has AVALC = Y, over the population."""
    key: str
    paramcd: str
    label: str


@dataclass(frozen=True)
class Median:
    """Kaplan–Meier median of an ADTTE parameter, in ``unit``; ``figure``: its plot."""
    key: str
    paramcd: str
    unit: str
    label: str
    figure: str | None = None


@dataclass(frozen=True)
class BestResponse:
    """Subjects by the AVALC of an ADRS parameter (the best overall response)."""
    key: str
    paramcd: str


@dataclass(frozen=True)
class Waterfall:
    """Best post-baseline PCHG per subject of an ADTR parameter, sorted."""
    paramcd: str
    threshold: float
    title: str
    figure: str


@dataclass(frozen=True)
class Swimmer:
    """One lane per subject (TRTSDT to TRTEDT) with the responses of an ADRS parameter."""
    paramcd: str
    title: str
    figure: str


@dataclass(frozen=True)
class ReportSpec:
    population: str = "ITTFL"
    counts: tuple[Count, ...] = ()
    dose_reductions: DoseReductions | None = None
    flags: tuple[Count, ...] = ()
    rates: tuple[Rate, ...] = ()
    medians: tuple[Median, ...] = ()
    best_overall_response: BestResponse | None = None
    waterfalls: tuple[Waterfall, ...] = ()
    swimmer: Swimmer | None = None
    source: str | None = field(default=None, compare=False)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    text = resources.files(__package__).joinpath("report.schema.json").read_text("utf-8")
    schema = json.loads(text)
    return jsonschema.validators.validator_for(schema)(schema)


def report_spec_from_dict(data: dict, file: str | Path = "<report spec>", doc=None) -> ReportSpec:
    """Check ``data`` against the schema and build the spec; a :class:`SpecError` names
    the file, line (when ``doc``, the loaded YAML document, is given) and key."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = list(first.absolute_path)
        where = doc.at(path) if doc is not None else str(file)
        key = "/".join(str(p) for p in path) or "(top level)"
        raise SpecError(f"{key}: {first.message}", file=where, rule="REPORT-SPEC",
                        details=[e.message for e in errors[1:5]])
    return ReportSpec(
        population=data.get("population", "ITTFL"),
        counts=tuple(Count(**c) for c in data.get("counts", ())),
        dose_reductions=(DoseReductions(**data["dose_reductions"])
                         if "dose_reductions" in data else None),
        flags=tuple(Count(**c) for c in data.get("flags", ())),
        rates=tuple(Rate(**r) for r in data.get("rates", ())),
        medians=tuple(Median(**m) for m in data.get("medians", ())),
        best_overall_response=(BestResponse(**data["best_overall_response"])
                               if "best_overall_response" in data else None),
        waterfalls=tuple(Waterfall(**w) for w in data.get("waterfalls", ())),
        swimmer=Swimmer(**data["swimmer"]) if "swimmer" in data else None,
        source=str(file))


def load_report_spec(study: str | Path | None) -> ReportSpec:
    """The report spec of a study folder (``<study>/report.yaml``), or of a YAML file;
    the minimal default (population, sex, age) when ``study`` is None or has no file."""
    if study is None:
        return ReportSpec()
    path = Path(study)
    if path.is_dir():
        path = path / REPORT_FILE
        if not path.exists():
            return ReportSpec()
    doc = load_yaml(path)
    return report_spec_from_dict(doc.data, path, doc)
