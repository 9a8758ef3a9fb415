"""Loading and checking the mapping spec of a study (``mappings/<study>/*.yaml``).

A study folder holds ``study.yaml`` (raw tables, visit schedule, value maps, trial summary)
and one YAML file per domain. The language is documented in ``docs/mapping-spec.md``; this
module turns the files into small dataclasses and rejects anything it does not understand
with a :class:`SpecError` naming the file and the key, so a typo never silently drops a
variable.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.yamlio import load_yaml

RULE_KEYS = {
    "value", "from", "format", "date", "time", "formats", "number", "unit", "to", "codelist",
    "map", "transform", "where", "age", "reference", "label", "orig", "eval", "length",
    "decimals", "extract",
}
BLOCK_KEYS = {"name", "source", "join", "where", "variables", "supp"}
DOMAIN_KEYS = {"domain", "records", "variables", "supp", "derive", "rows", "keep", "description",
               "model_variables"}
MODEL_VARIABLE_KEYS = {"label", "type", "before", "after"}
DERIVE_KEYS = {"seq", "study_day", "epoch", "visit", "baseline", "reference_dates", "flag_death",
               "variables", "supp"}
STUDY_KEYS = {"study", "standard", "raw", "visits", "epochs", "value_maps", "domains",
              "description", "usubjid"}
TRANSFORMS = {"upper", "lower", "strip", "title", "capitalize"}


def _load_yaml(path: Path) -> dict:
    return load_yaml(path).data


def _check_keys(data: dict, allowed: set[str], path: Path, where: str) -> None:
    unknown = sorted(str(k) for k in set(data) - allowed)
    if unknown:
        raise SpecError(f"unknown key(s) {', '.join(unknown)} in {where}; allowed: "
                        f"{', '.join(sorted(allowed))}", file=path, rule="SPEC-KEY")


def normalise_rules(raw: Any, path: Path, variable: str) -> list[dict]:
    """A variable's rule(s) as a list of dicts; a bare scalar means ``value:``."""
    if raw is None:
        raise SpecError(f"variable {variable} has no rule", file=path, variable=variable,
                        rule="SPEC-RULE")
    items = raw if isinstance(raw, list) else [raw]
    rules = []
    for item in items:
        if not isinstance(item, dict):
            item = {"value": item}
        _check_keys(item, RULE_KEYS, path, f"the rule for {variable}")
        producers = {"value", "from", "format", "date", "number", "unit", "age"} & set(item)
        if len(producers) != 1:
            raise SpecError(
                f"the rule for {variable} needs exactly one of value/from/format/date/number/"
                f"unit/age (has: {', '.join(sorted(producers)) or 'none'})",
                file=path, variable=variable, rule="SPEC-RULE")
        for t in _as_list(item.get("transform")):
            if t not in TRANSFORMS:
                raise SpecError(f"unknown transform {t!r} for {variable} (known: "
                                f"{', '.join(sorted(TRANSFORMS))})", file=path,
                                variable=variable, rule="SPEC-RULE")
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
    how: str = "left"
    required: bool = False        # every left row must find a match


@dataclass
class BlockSpec:
    name: str
    source: str | None
    joins: list[JoinSpec]
    where: str | None
    variables: dict[str, list[dict]]
    supp: dict[str, list[dict]]


@dataclass
class DomainSpec:
    name: str
    path: Path
    blocks: list[BlockSpec]
    derive: dict[str, Any]
    literal_rows: list[dict] | None = None
    # SDTM-model variables the IG does not list for this domain: name -> label, type, place
    model_variables: dict[str, dict] = field(default_factory=dict)

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


def _parse_join(item: dict, path: Path, domain: str) -> JoinSpec:
    # YAML 1.1 reads a bare `on:` key as the boolean true; accept it as written
    item = {("on" if k is True else k): v for k, v in item.items()}
    _check_keys(item, {"table", "on", "where", "how", "required"}, path, f"a join of {domain}")
    on = item.get("on")
    if isinstance(on, str):
        on = {on: on}
    elif isinstance(on, list):
        on = {c: c for c in on}
    if not item.get("table") or not isinstance(on, dict) or not on:
        raise SpecError(f"a join of {domain} needs `table:` and `on:`", file=path,
                        rule="SPEC-JOIN")
    return JoinSpec(item["table"], on, item.get("where"), item.get("how", "left"),
                    bool(item.get("required", False)))


def _parse_rules(mapping: dict | None, path: Path) -> dict[str, list[dict]]:
    out = {}
    for variable, raw in (mapping or {}).items():
        out[str(variable)] = normalise_rules(raw, path, str(variable))
    return out


def load_domain(path: Path) -> DomainSpec:
    data = _load_yaml(path)
    _check_keys(data, DOMAIN_KEYS, path, "a domain spec")
    name = str(data.get("domain", "")).upper()
    if not name:
        raise SpecError("a domain spec needs `domain:`", file=path, rule="SPEC-DOMAIN")
    shared = _parse_rules(data.get("variables"), path)
    shared_supp = _parse_rules(data.get("supp"), path)
    blocks = []
    for i, block in enumerate(data.get("records") or [], start=1):
        _check_keys(block, BLOCK_KEYS, path, f"record block {i} of {name}")
        own = _parse_rules(block.get("variables"), path)
        blocks.append(BlockSpec(
            name=str(block.get("name", f"block {i}")), source=block.get("source"),
            joins=[_parse_join(j, path, name) for j in _as_list(block.get("join"))],
            where=block.get("where"), variables={**shared, **own},
            supp={**shared_supp, **_parse_rules(block.get("supp"), path)}))
    literal = data.get("rows")
    if not blocks and literal is None:
        raise SpecError(f"domain {name} needs `records:` (blocks mapping raw tables) or "
                        "`rows:` (literal records)", file=path, rule="SPEC-DOMAIN")
    derive = dict(data.get("derive") or {})
    _check_keys(derive, DERIVE_KEYS, path, f"derive of {name}")
    for key in ("variables", "supp"):       # rules evaluated after the derivations
        if key in derive:
            derive[key] = _parse_rules(derive[key], path)
    return DomainSpec(name, path, blocks, derive, literal,
                      _parse_model_variables(data.get("model_variables"), path, name))


def _parse_model_variables(raw, path: Path, domain: str) -> dict[str, dict]:
    """``model_variables: {AEDTC: {label: ..., type: Char, before: AESTDTC}}``.

    SDTMIG 3.4 lets a domain carry any Identifier or Timing variable of its SDTM general
    observation class although the IG does not list it for that domain (e.g. AEDTC, the
    collection date of an Events record; VISITNUM in DS). Declared here, such a variable is
    accepted, typed (Char or Num) and placed before ``before:`` or after ``after:`` (a
    variable of the domain; default: after the IG variables).
    """
    out = {}
    for variable, item in (raw or {}).items():
        item = dict(item or {})
        _check_keys(item, MODEL_VARIABLE_KEYS, path, f"model variable {variable} of {domain}")
        kind = str(item.get("type", "Char"))
        if kind not in ("Char", "Num") or not item.get("label"):
            raise SpecError(f"model variable {variable} of {domain} needs `label:` and "
                            f"`type:` Char or Num", file=path, variable=str(variable),
                            rule="SPEC-VARIABLE")
        out[str(variable)] = {"label": str(item["label"]), "type": kind,
                              "before": item.get("before"), "after": item.get("after")}
    return out


def load_study(folder: Path | str) -> StudySpec:
    """Load ``study.yaml`` and every domain file it lists (default: all other ``*.yaml``)."""
    folder = Path(folder)
    study_file = folder / "study.yaml"
    if not study_file.is_file():
        raise SpecError("no study.yaml in the study folder", file=folder, rule="SPEC-MISSING")
    data = _load_yaml(study_file)
    _check_keys(data, STUDY_KEYS, study_file, "study.yaml")
    raw = data.get("raw") or {}
    _check_keys(raw, {"folder", "tables"}, study_file, "raw:")
    tables = {}
    for name, item in (raw.get("tables") or {}).items():
        item = {"file": item} if isinstance(item, str) else dict(item)
        _check_keys(item, {"file", "key", "encoding", "lookup"}, study_file, f"raw table {name}")
        tables[name] = TableSpec(name, item.get("file", f"{name}.csv"), _as_list(item.get("key")),
                                 item.get("encoding", "utf-8"), bool(item.get("lookup", False)))
    raw_folder = (folder / raw["folder"]).resolve() if raw.get("folder") else None
    names = data.get("domains")
    if names is None:
        files = sorted(p for p in folder.glob("*.yaml") if p.name not in ("study.yaml", "adam.yaml"))
    else:
        files = [folder / n for n in names]
    domains = [load_domain(p) for p in files]
    study = StudySpec(study_file, str(data.get("study", "")), data.get("standard", "sdtmig-3.4"),
                      raw_folder, tables, data.get("visits") or {}, data.get("epochs") or [],
                      {k.upper(): {str(a): str(b) for a, b in v.items()}
                       for k, v in (data.get("value_maps") or {}).items()}, domains,
                      data.get("description"))
    _check_references(study)
    return study


def _check_references(study: StudySpec) -> None:
    """Every table a domain names must be declared in study.yaml."""
    for domain in study.domains:
        for block in domain.blocks:
            for table in [block.source] + [j.table for j in block.joins]:
                if table and table not in study.tables:
                    raise SpecError(f"domain {domain.name} uses raw table {table!r}, which "
                                    f"study.yaml does not declare (declared: "
                                    f"{', '.join(sorted(study.tables)) or 'none'})",
                                    file=domain.path, rule="SPEC-TABLE")
