"""Loading and checking the mapping spec of a study (``mappings/<study>/*.yaml``).

A study folder holds ``study.yaml`` (raw tables, visit schedule, value maps, trial summary)
and one YAML file per domain. The language is documented in ``docs/mapping-spec.md``. Each
file is read by the strict loader (:mod:`cdisc_convert.core.yamlio`) and checked against its
JSON Schema (``specs/schemas/study.schema.json``, ``domain.schema.json``), so a typo never
silently drops a variable; this module then turns the files into small dataclasses. Every
problem of every file (schema, rules, expressions, table references) is collected and
raised as one :class:`SpecError`.
"""
from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.specschema import SpecProblems, check_document, compile_expressions
from cdisc_convert.core.yamlio import YamlDocument, load_yaml

from .derive import expand_schedule, schedule_problems

PRODUCERS = ("value", "from", "format", "date", "number", "unit", "age", "duration")
#: rule keys whose text may be a ``"{COLUMN}"`` template (per-row values)
TEMPLATE_KEYS = ("format", "to", "molar_mass", "round", "significant")


def normalise_rules(raw: Any, doc: YamlDocument, path: tuple, variable: str,
                    problems: SpecProblems) -> list[dict]:
    """A variable's rule(s) as a list of dicts (a bare scalar means ``value:``); each rule
    must have exactly one producer (the schema has checked keys and shapes)."""
    items = raw if isinstance(raw, list) else [raw]
    rules = []
    for i, item in enumerate(items):
        at = path + (i,) if isinstance(raw, list) else path
        if not isinstance(item, dict):
            item = {"value": item}
        producers = [p for p in PRODUCERS if p in item]
        if len(producers) != 1:
            problems.add(f"the rule for {variable} needs exactly one of "
                         f"{'/'.join(PRODUCERS)} (has: {', '.join(producers) or 'none'})",
                         file=doc.file, line=doc.line(at), variable=variable,
                         rule="SPEC-RULE")
        for key in TEMPLATE_KEYS:
            template = item.get(key)
            # as the engine reads them: format: is always a template, the others when
            # they hold a {
            if not isinstance(template, str) or (key != "format" and "{" not in template):
                continue
            try:
                fields = [f for _l, f, _s, _c in string.Formatter().parse(template)]
            except ValueError as err:     # "{PT" or "PT}": the engine could not format it
                fields, problem = None, str(err)
            else:
                problem = "a field without a column name" if "" in fields else None
            if problem:
                problems.add(f"the {key}: template {template!r} of {variable} is not valid "
                             f"({problem}); write columns as {{COLUMN}} and literal braces "
                             "as {{ and }}", file=doc.file, line=doc.line(at),
                             variable=variable, rule="SPEC-TEMPLATE")
        rules.append(item)
    return rules


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class JoinSpec:
    table: str
    on: dict[str, str]            # left column -> right column
    where: str | None = None
    how: str = "left"             # always a left join
    required: bool = False        # every left row must find a match


@dataclass
class BlockSpec:
    name: str
    source: str | None
    joins: list[JoinSpec]
    where: str | None
    variables: dict[str, list[dict]]
    supp: dict[str, list[dict]]
    # wide -> long: {list name: [items], ..., columns: {generic: "raw column template"}}
    unpivot: dict | None = None


@dataclass
class DomainSpec:
    name: str
    path: Path
    blocks: list[BlockSpec]
    derive: dict[str, Any]
    literal_rows: list[dict] | None = None
    # SDTM-model variables the IG does not list for this domain: name -> label, type, place
    model_variables: dict[str, dict] = field(default_factory=dict)
    doc: YamlDocument | None = None   # the file as read (lines for later spec errors)

    @property
    def sources(self) -> set[str]:
        return {b.source for b in self.blocks if b.source}


@dataclass
class TableSpec:
    name: str
    file: str
    key: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    lookup: bool = False          # a lookup table (e.g. coding table): rows are not records
    item_group: str | None = None  # ODM XML file: the ItemGroupOID (or Name) to read
    sql: str | None = None        # a database URL (SQLAlchemy) instead of a file
    query: str | None = None      # with sql: a SELECT statement ...
    table: str | None = None      # ... or a table name
    # columns deliberately not submitted: column -> reason (see .raw_columns)
    not_submitted: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None  # a delimited file's separator (default , / tab for .tsv)

    @property
    def label(self) -> str:
        """How findings and messages name the table (``__table``)."""
        if self.sql is not None:
            return self.table or self.name
        return f"{self.file}#{self.item_group}" if self.item_group else self.file


@dataclass
class StudySpec:
    path: Path
    study: str
    standard: str
    raw_folder: Path | None
    tables: dict[str, TableSpec]
    visits: dict[str, Any]
    epochs: list[dict]
    value_maps: dict[str, dict[str, str]]
    domains: list[DomainSpec]
    description: str | None = None     # the study's description (define.xml)
    # coding dictionaries: key -> {dictionary, version, variables [DS.VAR], ...}
    dictionaries: dict[str, dict] = field(default_factory=dict)
    # the planned trial design (TA/TE/TI; SE, SV and EPOCH derived): see .trial_design
    trial_design: dict | None = None
    doc: YamlDocument | None = None   # study.yaml as read (lines for later spec errors)

    def line(self, path: tuple) -> int | None:
        """The line of study.yaml holding ``path`` (None when unknown)."""
        return self.doc.line(path) if self.doc is not None else None

    def dictionary_of(self, dataset: str, variable: str) -> dict | None:
        """The dictionary (with ``name``) a variable is coded with, or None."""
        wanted = f"{dataset}.{variable}"
        for key, item in self.dictionaries.items():
            if wanted in item.get("variables", []):
                return {"name": item.get("dictionary", key), **item}
        return None


def _parse_join(item: dict) -> JoinSpec:
    on = item["on"]
    if isinstance(on, str):
        on = {on: on}
    elif isinstance(on, list):
        on = {c: c for c in on}
    return JoinSpec(item["table"], on, item.get("where"), "left", bool(item.get("required", False)))


def _parse_rules(mapping: dict | None, doc: YamlDocument, path: tuple,
                 problems: SpecProblems) -> dict[str, list[dict]]:
    return {str(variable): normalise_rules(raw, doc, path + (variable,), str(variable), problems)
            for variable, raw in (mapping or {}).items()}


def _domain_from(doc: YamlDocument, problems: SpecProblems) -> DomainSpec:
    """A schema-valid domain document as a :class:`DomainSpec` (rule problems collected)."""
    data, path = doc.data, doc.file
    name = str(data["domain"]).upper()
    shared = _parse_rules(data.get("variables"), doc, ("variables",), problems)
    shared_supp = _parse_rules(data.get("supp"), doc, ("supp",), problems)
    blocks = []
    for i, block in enumerate(data.get("records") or []):
        own = _parse_rules(block.get("variables"), doc, ("records", i, "variables"), problems)
        supp = _parse_rules(block.get("supp"), doc, ("records", i, "supp"), problems)
        blocks.append(BlockSpec(
            name=str(block.get("name", f"block {i + 1}")), source=block["source"],
            joins=[_parse_join(j) for j in _as_list(block.get("join"))],
            where=block.get("where"), variables={**shared, **own},
            supp={**shared_supp, **supp}, unpivot=block.get("unpivot")))
    literal = data.get("rows")
    if not blocks and literal is None:
        problems.add(f"domain {name} needs `records:` (blocks mapping raw tables) or "
                     "`rows:` (literal records)", file=path, line=doc.line(), rule="SPEC-DOMAIN")
    derive = dict(data.get("derive") or {})
    if derive.get("epoch"):
        derive["epoch"] = epoch_rule(derive["epoch"])
    for key in ("variables", "supp"):       # rules evaluated after the derivations
        if key in derive:
            derive[key] = _parse_rules(derive[key], doc, ("derive", key), problems)
    return DomainSpec(name, path, blocks, derive, literal,
                      _parse_model_variables(data.get("model_variables")), doc)


#: How EPOCH treats a partial date whose possible days span elements (derive: epoch:).
EPOCH_PARTIAL_DATES = ("unassigned", "earliest", "latest")


def epoch_rule(value) -> dict:
    """``derive: epoch:`` as ``{date, partial_dates, not_before}``: the short form is the
    date variable alone (``epoch: AESTDTC``), with a partial date spanning elements left
    unassigned (the shape is checked by the domain schema)."""
    rule = {"date": value} if isinstance(value, str) else dict(value)
    rule.setdefault("partial_dates", "unassigned")
    rule.setdefault("not_before", None)
    return rule


def _parse_model_variables(raw) -> dict[str, dict]:
    """``model_variables: {AEDTC: {label: ..., type: Char, before: AESTDTC}}``.

    SDTMIG 3.4 lets a domain carry any Identifier or Timing variable of its SDTM general
    observation class although the IG does not list it for that domain (e.g. AEDTC, the
    collection date of an Events record; VISITNUM in DS). Declared here, such a variable is
    accepted, typed (Char or Num) and placed before ``before:`` or after ``after:`` (a
    variable of the domain; default: after the IG variables).
    """
    return {str(variable): {"label": str(item["label"]), "type": str(item.get("type", "Char")),
                            "before": item.get("before"), "after": item.get("after")}
            for variable, item in (raw or {}).items()}


def _read_checked(path: Path, schema: str, problems: SpecProblems) -> YamlDocument | None:
    """A spec file read and checked against its schema; None (problems recorded) if not usable."""
    doc = problems.collect(load_yaml, path)
    if doc is None:
        return None
    found = check_document(doc, schema)
    problems.extend(found)
    compile_expressions(doc, problems)      # reported even when the shape is wrong
    return None if found else doc


def load_domain(path: Path) -> DomainSpec:
    """One domain spec file (all its problems raised together)."""
    problems = SpecProblems(f"{Path(path).name}")
    doc = _read_checked(Path(path), "domain", problems)
    domain = _domain_from(doc, problems) if doc is not None else None
    problems.raise_if_any(path)
    return domain


#: Files of a study folder that are not domain specs: the study, ADaM rules, the report.
NOT_DOMAIN_FILES = ("study.yaml", "adam.yaml", "report.yaml")


def load_study(folder: Path | str) -> StudySpec:
    """Load ``study.yaml`` and every domain file it lists (default: all other ``*.yaml``).

    Every file is read and checked before anything is used; all problems of all files are
    raised together as one :class:`SpecError` (``.problems`` lists them).
    """
    folder = Path(folder)
    study_file = folder / "study.yaml"
    if not study_file.exists():
        raise SpecError("no study.yaml in the study folder", file=folder, rule="SPEC-MISSING")
    problems = SpecProblems(f"the spec files of {folder}")
    doc = _read_checked(study_file, "study", problems)
    data = doc.data if doc is not None else {}
    raw = data.get("raw") or {}
    tables = {}
    for name, item in (raw.get("tables") or {}).items():
        item = {"file": item} if isinstance(item, str) else dict(item)
        if "sql" in item and (("query" in item) == ("table" in item) or "file" in item
                              or "item_group" in item):
            problems.add(f"raw table {name!r}: `sql:` needs exactly one of `query:` or "
                         "`table:` and no `file:`/`item_group:`", file=study_file,
                         line=doc.line(("raw", "tables", name)), rule="SPEC-TABLE")
        tables[name] = TableSpec(name, item.get("file", f"{name}.csv"), _as_list(item.get("key")),
                                 item.get("encoding", "utf-8"), bool(item.get("lookup", False)),
                                 item.get("item_group"), item.get("sql"), item.get("query"),
                                 item.get("table"),
                                 {str(c): str(r) for c, r in (item.get("not_submitted") or {}).items()},
                                 item.get("delimiter"))
        if item.get("delimiter") and ("sql" in item or not str(
                item.get("file", f"{name}.csv")).lower().endswith((".csv", ".txt", ".tsv"))):
            problems.add(f"raw table {name!r}: `delimiter:` is for a .csv, .txt or .tsv file",
                         file=study_file, line=doc.line(("raw", "tables", name)),
                         rule="SPEC-TABLE")
    raw_folder = (folder / raw["folder"]).resolve() if raw.get("folder") else None
    names = data.get("domains")
    if names is None:
        files = sorted(p for p in folder.glob("*.yaml") if p.name not in NOT_DOMAIN_FILES)
    else:
        files = [folder / n for n in names]
    domains = []
    for file in files:
        domain_doc = _read_checked(file, "domain", problems)
        if domain_doc is not None:
            domains.append(_domain_from(domain_doc, problems))
    study = StudySpec(study_file, str(data.get("study", "")), data.get("standard", "sdtmig-3.4"),
                      raw_folder, tables, data.get("visits") or {}, data.get("epochs") or [],
                      {k.upper(): {str(a): str(b) for a, b in v.items()}
                       for k, v in (data.get("value_maps") or {}).items()}, domains,
                      data.get("description"), dict(data.get("dictionaries") or {}),
                      data.get("trial_design"), doc)
    if doc is not None:
        _check_references(study, problems)
    problems.raise_if_any(folder)
    return study


def _check_references(study: StudySpec, problems: SpecProblems) -> None:
    """Every table a domain names must be declared in study.yaml."""
    declared = ", ".join(sorted(study.tables)) or "none"
    design = study.trial_design or {}
    etcds = [e["etcd"] for e in design.get("elements", [])]
    for etcd in sorted({e for e in etcds if etcds.count(e) > 1}):
        problems.add(f"trial_design: element {etcd} is declared twice", file=study.path,
                     line=None, rule="SPEC-DESIGN")
    for arm in design.get("arms", []):
        unknown = [s["etcd"] for s in arm["elements"] if s["etcd"] not in etcds]
        if unknown:
            problems.add(f"trial_design: arm {arm['armcd']} uses element(s) "
                         f"{', '.join(unknown)}, which `elements:` does not declare "
                         f"(declared: {', '.join(etcds)})", file=study.path,
                         rule="SPEC-DESIGN")
    for problem in schedule_problems(expand_schedule(study.visits)):
        problems.add(problem, file=study.path, rule="SPEC-VISITS")
    if design and study.epochs:
        problems.add("study.yaml has both `epochs:` and `trial_design:`; with a trial design "
                     "EPOCH comes from SE (the arms' epochs): remove `epochs:`",
                     file=study.path, rule="SPEC-DESIGN")
    for key, item in study.dictionaries.items():
        table = (item.get("version_column") or {}).get("table")
        if table and table not in study.tables:
            problems.add(f"dictionary {key}: version_column table {table!r} is not declared "
                         f"in study.yaml (declared: {declared})", file=study.path,
                         rule="SPEC-TABLE")
    for domain in study.domains:
        for i, block in enumerate(domain.blocks):
            for j, table in [(None, block.source)] + list(enumerate(j.table for j in block.joins)):
                if table and table not in study.tables:
                    at = ("records", i, "source") if j is None else ("records", i, "join")
                    problems.add(f"domain {domain.name} uses raw table {table!r}, which "
                                 f"study.yaml does not declare (declared: {declared})",
                                 file=domain.path, line=domain.doc.line(at) if domain.doc else None,
                                 rule="SPEC-TABLE")
