"""The validator's rule catalogue, read once from ``rules.yaml`` beside this module.

``rules.yaml`` is the one home of what each rule id stands for: its severity, the title and
fix the reports show, what it checks and which public rule it mirrors (the rule table of
``docs/validation-rules.md`` is generated from it by ``tools/build_rule_docs.py``), and
whether its findings mean that an input could not be read (exit code 2). The checks
themselves are code (:mod:`.checks`, :mod:`.schemas`, :mod:`.validate`); a new rule adds
its entry to ``rules.yaml`` and runs the tool.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.yamlio import parse_yaml

ERROR, WARNING, NOTICE = "error", "warning", "notice"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, NOTICE: 2}
CATALOGUE_FILE = "rules.yaml"

_RULE_KEYS = {"id", "severity", "title", "fix", "checks", "corresponds_to"}
_OPTIONAL_RULE_KEYS = {"also", "input"}
_SECTION_KEYS = {"title", "rules"}
_OPTIONAL_SECTION_KEYS = {"intro", "note"}


@dataclass(frozen=True)
class Rule:
    """What a rule id stands for in the reports."""

    id: str
    severity: str
    title: str
    fix: str
    #: what the rule checks and the public rule it mirrors (the documentation's columns)
    checks: str = ""
    corresponds_to: str = ""
    #: severities the rule reports in some cases besides its own (e.g. a warning variant)
    also: tuple[str, ...] = ()
    #: its findings mean an input could not be read (exit code 2)
    input: bool = False


@dataclass(frozen=True)
class Section:
    """A group of rules as the documentation shows it."""

    title: str
    rules: tuple[Rule, ...]
    intro: str = ""
    note: str = ""


@dataclass(frozen=True)
class Catalogue:
    sections: tuple[Section, ...]
    rules: dict[str, Rule] = field(default_factory=dict)


def _fail(message: str, rule: str | None = None) -> SpecError:
    where = f"rule {rule}: " if rule else ""
    return SpecError(f"{where}{message}", file=f"cdisc_convert/conformance/{CATALOGUE_FILE}")


def _rule(entry) -> Rule:
    if not isinstance(entry, dict):
        raise _fail(f"a rule must be a mapping, not {entry!r}")
    rid = entry.get("id")
    missing = _RULE_KEYS - set(entry)
    unknown = set(entry) - _RULE_KEYS - _OPTIONAL_RULE_KEYS
    if missing or unknown:
        raise _fail(f"missing keys {sorted(missing)}, unknown keys {sorted(unknown)}", rid)
    severities = [entry["severity"], *entry.get("also", ())]
    if any(s not in SEVERITY_ORDER for s in severities):
        raise _fail(f"severity must be one of {list(SEVERITY_ORDER)}, not {severities}", rid)
    return Rule(id=rid, severity=entry["severity"], title=entry["title"], fix=entry["fix"],
                checks=entry["checks"], corresponds_to=entry["corresponds_to"],
                also=tuple(entry.get("also", ())), input=bool(entry.get("input", False)))


def parse_catalogue(data) -> Catalogue:
    """Check and convert the parsed ``rules.yaml`` (a clear :class:`SpecError` if wrong)."""
    if not isinstance(data, dict) or set(data) != {"sections"}:
        raise _fail("the file holds one key, 'sections'")
    sections, rules = [], {}
    for raw in data["sections"]:
        if not isinstance(raw, dict) or not _SECTION_KEYS <= set(raw) <= (
                _SECTION_KEYS | _OPTIONAL_SECTION_KEYS):
            raise _fail(f"a section has keys {sorted(_SECTION_KEYS)} (and optionally "
                        f"{sorted(_OPTIONAL_SECTION_KEYS)}): {raw!r:.80}")
        members = tuple(_rule(entry) for entry in raw["rules"])
        for rule in members:
            if rule.id in rules:
                raise _fail("the id appears twice", rule.id)
            rules[rule.id] = rule
        sections.append(Section(raw["title"], members, raw.get("intro", ""),
                                raw.get("note", "")))
    return Catalogue(tuple(sections), rules)


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The rule catalogue shipped with the package (read once)."""
    text = resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return parse_catalogue(parse_yaml(text, f"cdisc_convert/conformance/{CATALOGUE_FILE}").data)


#: Every rule id the validator can report, for the reports.
RULES: dict[str, Rule] = load_catalogue().rules

#: Rules whose findings mean an input could not be read (exit code 2).
INPUT_RULES = frozenset(rid for rid, rule in RULES.items() if rule.input)



def rule_info(rule: str) -> Rule:
    """The catalogue entry of ``rule``; an id missing from it is an error whose fix is the
    message (so a finding never lacks a severity)."""
    return RULES.get(rule) or Rule(rule, ERROR, rule, "See the message.")


__all__ = ["Catalogue", "ERROR", "INPUT_RULES", "NOTICE", "RULES", "Rule", "SEVERITY_ORDER",
           "Section", "WARNING", "load_catalogue", "parse_catalogue", "rule_info"]
