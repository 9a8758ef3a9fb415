"""What the results report of a study shows: ``<study>/report.yaml``.

The report code knows how to compute a rate, a Kaplan–Meier median or a waterfall; which
ADaM parameters and ADSL variables a study reports, with which labels, is a fact of the
study and lives in its ``report.yaml`` (checked against ``specs/schemas/report.schema.json``;
the keys are described in ``docs/report.md``). Without a file the report shows the
population, sex and age only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cdisc_convert.core.specschema import SpecProblems, check_document
from cdisc_convert.core.yamlio import YamlDocument, load_yaml, parse_yaml

__all__ = ["BestResponse", "Count", "DoseReductions", "Median", "Rate", "ReportSpec", "Swimmer",
           "TableSpec", "Waterfall", "load_report_spec", "report_spec_from_document",
           "report_spec_from_text"]

REPORT_FILE = "report.yaml"


@dataclass(frozen=True)
class Count:
    """An ADSL variable tabulated by value (``results.json[key]``: value -> subjects)."""
    key: str
    variable: str
    label: str


@dataclass(frozen=True)
class DoseReductions:
    """Subjects whose ADEX parameter ``reduced`` has AVALC = Y among those of each starting
    dose (AVAL of the ADEX parameter ``starting_dose``)."""
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
class TableSpec:
    """A summary table (``report.tables``, :mod:`cdisc_convert.report.tables`): ``type``
    demographics (ADSL ``variables``), adverse_events (ADAE by SOC and PT, records with
    ``flag`` = Y and the ``where`` values), adverse_events_by_grade (the same by maximum
    ``grade`` in the ``grades`` bands), deaths (ADSL ``death_flag`` by ``death_cause``, ADAE
    records matching ``fatal_where``), exposure (ADEX ``parameters``), response (the
    AVALC of ADRS ``paramcd``), disposition (ADSL population ``variables``, ``status`` by
    ``reason``), rates (ADRS ``rates`` with exact CIs), time_to_event (ADTTE ``endpoints``
    with Kaplan–Meier medians) or listing (records of ``dataset`` with ``flag`` and
    ``where``, columns ``variables``), lab_grades (ADLB subjects by worst post-baseline
    ``grade`` per CTCAE ``term`` in ``grades`` bands) or shift (ADLB ``baseline`` category
    by worst post-baseline ``value`` in ``categories`` per ``parameter``), by the ADSL variable ``by`` in the population
    ``population`` (an ADSL flag)."""
    id: str
    type: str
    title: str
    by: str
    population: str | None = None
    variables: tuple[tuple[str, str], ...] = ()
    paramcd: str | None = None
    flag: str | None = "TRTEMFL"
    group_order: tuple[str, ...] = ()
    total: bool = True
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()      # variable, accepted values
    grade: str = "ATOXGR"
    grades: tuple[tuple[str, tuple[str, ...]], ...] = ()     # band label, grades (): any
    parameters: tuple[tuple[str, str | None], ...] = ()      # ADEX PARAMCD, label
    death_flag: str = "DTHFL"
    death_cause: str | None = "DTHCAUS"
    fatal_where: tuple[tuple[str, tuple[str, ...]], ...] = (("ATOXGR", ("5",)),)
    rates: tuple[tuple[str, str, tuple[str, ...]], ...] = ()    # label, ADRS PARAMCD, values
    endpoints: tuple[tuple[str, str, str], ...] = ()            # ADTTE PARAMCD, label, unit
    status: str | None = None                                   # disposition
    reason: str | None = None
    dataset: str | None = None                                  # listing, lab tables
    sort: tuple[str, ...] = ()
    term: str = "ATOXDSCL"                                      # lab_grades
    parameter: str = "PARAM"                                    # shift
    baseline: str = "BNRIND"
    value: str = "ANRIND"
    categories: tuple[str, ...] = ()


def _table_spec(data: dict) -> TableSpec:
    data = dict(data)
    data["variables"] = tuple((v["name"], v.get("label", v["name"]))
                              for v in data.get("variables", ()))
    data["group_order"] = tuple(data.get("group_order", ()))
    for key in ("where", "fatal_where"):
        if key in data:
            data[key] = tuple((str(k), _texts(v)) for k, v in data[key].items())
    if "grades" in data:
        data["grades"] = tuple((str(g["label"]), _texts(g.get("values", ())))
                               for g in data["grades"])
    declared = data.get("parameters", ())
    if data["type"] == "rates":
        data["rates"] = tuple((p.get("label", p["paramcd"]), p["paramcd"],
                               _texts(p.get("values", ["Y"]))) for p in declared)
        declared = ()
    elif data["type"] == "time_to_event":
        data["endpoints"] = tuple((p["paramcd"], p.get("label", p["paramcd"]),
                                   p.get("unit", "days")) for p in declared)
        declared = ()
    elif data["type"] == "listing" and "flag" not in data:
        data["flag"] = None                 # a listing keeps every record unless told
    if data["type"] in ("lab_grades", "shift"):
        data.setdefault("flag", "ONTRTFL")  # post-baseline, on treatment
        if data["type"] == "lab_grades":
            data.setdefault("grade", "ATOXGRL")
    if "categories" in data:
        data["categories"] = _texts(data["categories"])
    data["parameters"] = tuple((p["paramcd"], p.get("label")) for p in declared)
    data["sort"] = tuple(data.get("sort", ()))
    return TableSpec(**data)


def _texts(value) -> tuple[str, ...]:
    """YAML values as text (5 and "5" name the same grade)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    return tuple(f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
                 for v in values)


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
    tables: tuple[TableSpec, ...] = ()
    source: str | None = field(default=None, compare=False)


def report_spec_from_document(doc: YamlDocument) -> ReportSpec:
    """Check a loaded ``report.yaml`` against its schema and build the spec; every problem
    is reported at once in a :class:`SpecError` naming file, line and key."""
    problems = SpecProblems(f"{doc.file}")
    problems.extend(check_document(doc, "report"))
    problems.raise_if_any(doc.file)
    data = doc.data
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
        tables=tuple(_table_spec(t) for t in data.get("tables", ())),
        source=str(doc.file))


def report_spec_from_text(text: str, file: str | Path = "<report.yaml>") -> ReportSpec:
    """:func:`report_spec_from_document` of YAML text."""
    return report_spec_from_document(parse_yaml(text, file))


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
    return report_spec_from_document(load_yaml(path))
