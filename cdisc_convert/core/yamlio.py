"""The one YAML loader for every spec file (study.yaml, domain specs, adam.yaml).

PyYAML's ``safe_load`` follows YAML 1.1, which silently changes what a clinical programmer
wrote: ``COUNTRY: NO`` becomes ``False``, ``SITEID: 010`` becomes ``8``, a repeated key
replaces the first one, and a 1 KB "alias bomb" expands to gigabytes. This loader is strict:

* **scalars** follow the YAML 1.2 core schema, narrowed: ``true``/``false`` (any case
  spelling the core schema allows) are booleans, ``null``/``~``/empty are null, decimal
  numbers without a leading zero (``10``, ``-3``, ``1.5``, ``1e3``) are numbers; everything
  else stays text: ``yes``, ``NO``, ``on``, ``010``, ``0x1F``, ``2014-01-01``, ``.inf``.
  Quoted scalars are always text. Explicit tags (``!!python/...``, ``!!int``) are refused.
* **duplicate keys** in one mapping are an error naming both lines;
* **anchors and aliases** (``&name`` / ``*name``) are refused before anything is built, so
  an alias bomb costs nothing;
* the file must be a regular UTF-8 file (a BOM is allowed); a folder named ``x.yaml``, a
  named pipe, bytes that are not UTF-8 or a file over 5 MB are clear :class:`SpecError` s.

:func:`load_yaml` returns a :class:`YamlDocument`: the plain data (dicts, lists, str, int,
float, bool, None) plus the line of every key and item, so later checks (the JSON Schemas,
expression parsing) can name the line of what they reject.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

try:
    from yaml._yaml import CParser      # PyYAML's libyaml binding, when it was built with it
except ImportError:                     # pragma: no cover - wheels ship it on Linux/macOS/Windows
    CParser = None

from cdisc_convert.core.errors import SpecError

__all__ = ["YamlDocument", "load_yaml", "load_yaml_list", "parse_yaml", "where"]

MAX_BYTES = 5 * 1024 * 1024

_PLAIN = "tag:cdisc-convert:plain"          # a plain (unquoted, untagged) scalar
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
# YAML 1.2 core numbers, without leading zeros (010 stays the text "010", never 8 or 10)
_INT = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(0|[1-9][0-9]*)?(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def where(file, line: int | None) -> str:
    """``file:line`` (or just ``file``): how spec problems name their place."""
    return f"{file}:{line}" if line else str(file)


class _Resolver(BaseResolver):
    """Tags every plain scalar as 'plain' (typed later by :func:`_scalar`); no YAML 1.1."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


class _StrictComposer(Composer):
    """PyYAML's composer (Python) over the events of either parser, refusing aliases and
    anchors as it meets them."""

    def compose_node(self, parent, index):
        # refused before the composer looks the anchor up: no alias is ever expanded
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Refused(f"YAML aliases (*{event.anchor}) are not allowed in spec files; "
                           "write the value out", event.start_mark.line + 1, "SPEC-YAML-ALIAS")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(f"YAML anchors (&{event.anchor}) are not allowed in spec files; "
                           "write the value out", event.start_mark.line + 1, "SPEC-YAML-ALIAS")
        return super().compose_node(parent, index)


class _Loader(Reader, Scanner, Parser, _StrictComposer, _Resolver):
    """Pure-Python scanning and parsing: where PyYAML was built without libyaml."""

    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _StrictComposer.__init__(self)
        _Resolver.__init__(self)


if CParser is not None:
    class _CLoader(_StrictComposer, CParser, _Resolver):
        """libyaml scans and parses (the bulk of the time, ~8x faster than PyYAML's Python
        scanner); the events go through the same strict composer and ``_build``, so what
        is accepted or refused, and every line number, stay those of :class:`_Loader`."""

        def __init__(self, stream):
            CParser.__init__(self, stream)
            _StrictComposer.__init__(self)
            _Resolver.__init__(self)


class _Refused(Exception):
    def __init__(self, message: str, line: int | None, rule: str):
        super().__init__(message)
        self.message, self.line, self.rule = message, line, rule


@dataclass
class YamlDocument:
    """A loaded spec file: its data and the line of each key / list item (1-based)."""

    file: Path
    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)

    def line(self, path=()) -> int | None:
        """The line of the item at ``path`` (keys / indexes), or of its nearest parent."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def at(self, path=()) -> str:
        """``file:line`` of the item at ``path``."""
        return where(self.file, self.line(path))


def _scalar(node: ScalarNode):
    if node.tag == _STR:
        return node.value
    if node.tag != _PLAIN:
        raise _Refused(f"YAML tags ({node.tag}) are not allowed in spec files; quote the "
                       "value to make it text", node.start_mark.line + 1, "SPEC-YAML-TAG")
    text = node.value
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text):
        return int(text)
    if text not in ("", "+", "-", ".") and _FLOAT.fullmatch(text) and any(
            c.isdigit() for c in text):
        return float(text)
    return text


def _build(node, path: tuple, lines: dict):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if isinstance(node, SequenceNode):
        if node.tag != _SEQ:
            raise _Refused(f"YAML tags ({node.tag}) are not allowed in spec files",
                           node.start_mark.line + 1, "SPEC-YAML-TAG")
        return [_build(item, path + (i,), lines) for i, item in enumerate(node.value)]
    if isinstance(node, MappingNode):
        if node.tag != _MAP:
            raise _Refused(f"YAML tags ({node.tag}) are not allowed in spec files",
                           node.start_mark.line + 1, "SPEC-YAML-TAG")
        out: dict = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                raise _Refused("a key must be a plain value, not a list or mapping", line,
                               "SPEC-YAML")
            key = _scalar(key_node)
            if str(key) in seen:
                raise _Refused(f"duplicate key {key!r} (first on line {seen[str(key)]}); a "
                               "repeated key would silently replace the first", line,
                               "SPEC-YAML-DUPLICATE")
            seen[str(key)] = line
            lines[path + (key,)] = line
            out[key] = _build(value_node, path + (key,), lines)
        return out
    raise _Refused("unsupported YAML node", node.start_mark.line + 1, "SPEC-YAML")


def parse_yaml(text: str, file: str | Path = "<text>") -> YamlDocument:
    """Parse YAML text with the strict rules of this module (see the module docstring)."""
    file = Path(file)
    loader = (_CLoader if CParser is not None else _Loader)(text)
    lines: dict[tuple, int] = {}
    try:
        node = loader.get_single_node()
        data = None if node is None else _build(node, (), lines)
    except _Refused as err:
        raise SpecError(err.message, file=where(file, err.line), rule=err.rule) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(err, "problem", None) or str(err)
        raise SpecError(f"not valid YAML: {problem}", file=where(file, line),
                        rule="SPEC-YAML") from None
    except RecursionError:
        raise SpecError("not usable YAML: nested too deeply", file=file,
                        rule="SPEC-YAML") from None
    finally:
        loader.dispose()
    return YamlDocument(file, data, lines)


def _decode(raw: bytes, file: Path) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise SpecError(f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start}); "
                        "save the spec file as UTF-8", file=where(file, line),
                        rule="SPEC-ENCODING") from None
    return text[1:] if text.startswith("\ufeff") else text


def load_yaml(path: str | Path, *, mapping: bool = True) -> YamlDocument:
    """Read one spec file strictly (see the module docstring).

    ``mapping``: the top level must be a mapping (``key: value``); an empty file is ``{}``.
    Every failure is a :class:`SpecError` naming the file (and line).
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SpecError("spec file not found", file=path, rule="SPEC-MISSING") from None
    except OSError as err:
        raise SpecError(f"cannot read the spec file: {err.strerror}", file=path,
                        rule="SPEC-READ") from None
    if stat.S_ISDIR(info.st_mode):
        raise SpecError("is a folder, not a spec file", file=path, rule="SPEC-READ")
    if not stat.S_ISREG(info.st_mode):
        raise SpecError("is not a regular file (a pipe or device?); a spec must be a file",
                        file=path, rule="SPEC-READ")
    if info.st_size > MAX_BYTES:
        raise SpecError(f"spec file is {info.st_size} bytes; more than {MAX_BYTES} is not a "
                        "spec", file=path, rule="SPEC-READ")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise SpecError(f"cannot read the spec file: {err.strerror}", file=path,
                        rule="SPEC-READ") from None
    doc = parse_yaml(_decode(raw, path), path)
    if doc.data is None and mapping:
        doc.data = {}
    if mapping and not isinstance(doc.data, dict):
        raise SpecError("a spec file must hold a mapping (key: value) at the top level",
                        file=where(path, doc.line()), rule="SPEC-SHAPE")
    return doc


def load_yaml_list(path: str | Path, key: str, *, what: str, rule: str) -> list:
    """The non-empty list under ``key`` of a spec file read by :func:`load_yaml`: the
    opening shared by the standards' tables (CTCAE grades, the RECIST response table).
    Missing, empty or not a list: a :class:`SpecError` "``what`` needs a non-empty list
    'key'" naming the file and ``rule``."""
    items = load_yaml(path).data.get(key)
    if not isinstance(items, list) or not items:
        raise SpecError(f"{what} needs a non-empty list '{key}'", file=Path(path), rule=rule)
    return items
