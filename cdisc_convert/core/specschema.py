"""Checking spec files against their published JSON Schemas, and reporting all problems at once.

The schemas (JSON Schema draft 2020-12) live in ``specs/schemas/``: ``study.schema.json``,
``domain.schema.json`` and ``adam.schema.json``. Every spec file is checked against its schema
right after :mod:`~cdisc_convert.core.yamlio` has read it and before any of it is used, so an
unknown key or a wrong shape (a list where a mapping belongs, ``length: abc``) is one clear
problem naming the file, the line and the schema rule, never a silent default or a traceback
later on.

:class:`SpecProblems` collects the problems of every spec file of a run, so the user sees
them all in one :class:`SpecError` instead of fixing them one run at a time.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.expr import compile_expression
from cdisc_convert.core.regex import compile_pattern
from cdisc_convert.core.resources import shipped
from cdisc_convert.core.yamlio import YamlDocument, where

__all__ = ["SCHEMAS", "schema_dir", "SpecProblems", "check_document", "compile_expressions",
           "schema_path"]

SCHEMAS = ("study", "domain", "adam", "report")


def schema_dir() -> Path:
    """Folder of the spec-file schemas: ``specs/schemas`` as shipped with the package (the
    wheel's or the checkout's, see :mod:`cdisc_convert.core.resources`)."""
    return shipped("specs") / "schemas"


def schema_path(name: str) -> Path:
    """The file of schema ``name`` (``study``, ``domain``, ``adam`` or ``report``)."""
    return schema_dir() / f"{name}.schema.json"


@lru_cache(maxsize=None)
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _describe(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_TYPE_WORDS = {"object": "a mapping (key: value)", "array": "a list", "string": "text",
               "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "null": "empty"}


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problems(error, doc: YamlDocument, name: str) -> list[SpecError]:
    path = tuple(error.absolute_path)
    schema_ref = f"{name}.schema.json#/" + "/".join(str(p) for p in error.absolute_schema_path)
    place = _describe(path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = [k for k in error.instance if k not in known]
        allowed = ", ".join(sorted(known)) or "none"
        return [SpecError(f"unknown key {_describe(path + (k,))}; allowed here: {allowed} "
                          f"(schema {schema_ref})", file=doc.at(path + (k,)), rule="SPEC-KEY",
                          variable=_describe(path + (k,)))
                for k in extra]
    if kind == "type":
        wanted = error.validator_value
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in wanted)
        message = f"{place} must be {words}, not {_json_type(error.instance)}"
        if not isinstance(error.instance, (dict, list)):
            message += f" ({_short(error.instance)})"
    elif kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        message = f"{place} needs the key(s) {', '.join(missing)}"
    elif kind == "dependentRequired":
        pairs = [f"`{k}:` needs `{', '.join(v)}:`" for k, v in error.validator_value.items()
                 if k in error.instance and any(d not in error.instance for d in v)]
        message = f"{place}: {'; '.join(pairs)}"
    elif kind == "enum":
        message = (f"{place} is {_short(error.instance)}; allowed: "
                   f"{', '.join(str(v) for v in error.validator_value)}")
    elif kind == "oneOf" and "earliest" in str(error.validator_value):
        message = f"{place} needs exactly one of `earliest:` or `latest:`"
    elif kind == "pattern":
        message = f"{place} is {_short(error.instance)}, which does not match " \
                  f"{error.validator_value!r}"
    elif kind == "propertyNames":
        message = f"{place}: a key is not a valid name ({error.message})"
    else:
        message = f"{place}: {error.message}"
    return [SpecError(f"{message} (schema {schema_ref})", file=doc.at(path), rule="SPEC-SCHEMA")]


def check_document(doc: YamlDocument, name: str) -> list[SpecError]:
    """The problems of ``doc`` against schema ``name`` (empty when it conforms), in file order."""
    errors = list(_validator(name).iter_errors(doc.data))
    problems = [p for e in errors for p in _problems(e, doc, name)]
    return sorted(problems, key=lambda p: _line_of(p.location.file))


def _line_of(place: str | None) -> int:
    head, _, tail = str(place or "").rpartition(":")
    return int(tail) if head and tail.isdigit() else 0


class SpecProblems:
    """The spec problems of a run, raised together by :meth:`raise_if_any`."""

    def __init__(self, what: str = "the spec"):
        self.what = what
        self.items: list[SpecError] = []

    def __len__(self) -> int:
        return len(self.items)

    def add(self, message: str, *, file, line: int | None = None, rule: str,
            variable: str | None = None) -> None:
        self.items.append(SpecError(message, file=where(file, line), rule=rule,
                                    variable=variable))

    def extend(self, errors) -> None:
        for err in errors:
            self.items.extend(getattr(err, "problems", None) or [err])

    def collect(self, func, *args, **kwargs):
        """``func(*args, **kwargs)``, or None with its SpecError(s) recorded."""
        try:
            return func(*args, **kwargs)
        except SpecError as err:
            self.extend([err])
            return None

    def raise_if_any(self, file=None) -> None:
        if not self.items:
            return
        if len(self.items) == 1:
            err = self.items[0]
            err.problems = list(self.items)
            raise err
        err = SpecError(f"{len(self.items)} problems in {self.what}; fix them all before "
                        "running again", file=file, rule="SPEC-PROBLEMS",
                        details=[p.format() for p in self.items])
        err.problems = list(self.items)
        raise err


# keys whose values are named by the user (a variable called "where" is not an expression)
_NAMED = {"variables", "supp", "study_day", "model_variables", "rows", "sponsor_variables",
          "date_imputation", "value_maps", "tables", "map", "unpivot",
          "not_submitted"}


def compile_expressions(doc: YamlDocument, problems: SpecProblems) -> None:
    """Check every ``where:`` of a schema-valid document and replace it (in place) by its
    :class:`~cdisc_convert.core.expr.Expression`, which remembers file and line, and check
    every ``extract:`` pattern with RE2; problems are recorded, not raised."""
    def walk(node, path):
        if isinstance(node, dict):
            named = bool(path) and path[-1] in _NAMED
            for key, value in node.items():
                if not named and key == "where" and isinstance(value, str):
                    line = doc.line(path + (key,))
                    expr = problems.collect(compile_expression, value, file=doc.file, line=line)
                    if expr is not None:
                        node[key] = expr
                elif not named and key == "extract" and isinstance(value, str):
                    problems.collect(compile_pattern, value, file=doc.file,
                                     line=doc.line(path + (key,)))
                else:
                    walk(value, path + (key,))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, path + (i,))

    walk(doc.data, ())
