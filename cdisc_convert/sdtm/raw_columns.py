"""Every raw column is accounted for: read by the spec, or declared not submitted.

Collected data must never be dropped in silence (issue #13): a raw column is either read by
some rule of the spec, or listed in ``study.yaml`` under the table's ``not_submitted:`` with
the reason it is deliberately not submitted, or it becomes a warning finding
``MAP-RAW-COLUMN`` naming the table, its file and the column.

Which columns the spec reads is found by a static walk of the spec, not by watching a run:
for each record block, the names its producers (``from``, ``format`` templates, ``date``,
``time``, ``number``, ``unit``, ``age``, ``duration``, ``{COLUMN}`` parameters), its
``where`` clauses, its joins' keys and conditions and its unpivot templates name, minus
the names the block has derived by then (a derived variable shadows a raw column of the
same name, as in :mod:`.variable_rules`) and the columns an unpivot creates; then the raw
date sources of ``derive: reference_dates``, the dictionaries' ``version_column`` and the
tables' declared keys. A name is attributed to the first of the block's tables (the source,
then the joined tables in order) that has such a column, ``table.COLUMN`` to a joined table
whose column clashed, exactly as the engine's joins resolve names.

A declared column that the spec reads, or that the table does not have, is a spec error
(``SPEC-NOT-SUBMITTED``): the declaration would be false.
"""
from __future__ import annotations

import string
from collections import defaultdict

import pandas as pd

from cdisc_convert.core.expr import columns_of
from cdisc_convert.core.specschema import SpecProblems

from ..io.raw import TRACE_COLUMNS
from .findings import Findings
from .spec import TEMPLATE_KEYS, BlockSpec, StudySpec

RULE_UNUSED = "MAP-RAW-COLUMN"
RULE_DECLARED = "SPEC-NOT-SUBMITTED"

#: rule keys whose value is one column name
_COLUMN_KEYS = ("from", "date", "time", "number", "duration")


def template_columns(template) -> set[str]:
    """The column names a ``"{COLUMN} text"`` template reads (none for a non-text value)."""
    if not isinstance(template, str) or "{" not in template:
        return set()
    return {field for _literal, field, _spec, _conv in string.Formatter().parse(template)
            if field}


def rule_columns(rule: dict) -> set[str]:
    """The names one variable rule reads: its producer's column(s), the ``{COLUMN}``
    templates of its parameters and the names of its ``where``."""
    names = {str(rule[k]) for k in _COLUMN_KEYS if isinstance(rule.get(k), str)}
    for key in TEMPLATE_KEYS:
        names |= template_columns(rule.get(key))
    for key, parts in (("unit", ("value", "unit")), ("age", ("birth", "reference"))):
        if isinstance(rule.get(key), dict):
            names |= {str(rule[key][p]) for p in parts if rule[key].get(p)}
    if rule.get("where") is not None:
        names |= columns_of(rule["where"])
    return names


def unpivot_columns(spec: dict) -> tuple[set[str], set[str]]:
    """(raw columns an unpivot's templates name, columns it creates: item keys and generic
    columns), expanding the item lists as :func:`.engine.unpivot` does."""
    combos = [{}]
    created = set(spec.get("columns", {}))
    for name, items in spec.items():
        if name == "columns":
            continue
        combos = [{**combo, **{str(k): v for k, v in item.items()}}
                  for combo in combos for item in items]
        created |= {str(k) for item in items for k in item}
    raw = set()
    for combo in combos:
        for template in spec.get("columns", {}).values():
            try:
                raw.add(str(template).format(**combo))
            except (KeyError, IndexError, ValueError):
                pass            # the engine reports the template (SPEC-UNPIVOT)
    return raw, created


def block_names(block: BlockSpec) -> tuple[set[str], list[tuple[str, str]]]:
    """(names the block reads from its joined source, [(join table, column)] its joins read
    on their own tables), minus the names it has derived before reading them."""
    shadow: set[str] = set()
    names: set[str] = set()
    if block.unpivot:
        raw, created = unpivot_columns(block.unpivot)
        names |= raw
        shadow |= created
    if block.where is not None:
        names |= columns_of(block.where) - shadow
    for variable, rules in block.variables.items():
        for rule in rules:
            names |= rule_columns(rule) - shadow
        shadow.add(variable)
    for rules in block.supp.values():       # evaluated after every variable of the block
        for rule in rules:
            names |= rule_columns(rule) - shadow
    own = []
    for join in block.joins:
        names |= set(join.on)               # left keys: the source or an earlier join
        own += [(join.table, c) for c in join.on.values()]
        if join.where is not None:
            own += [(join.table, c) for c in columns_of(join.where)]
    return names, own


def _resolve(name: str, tables: list[str], columns: dict[str, set[str]]) -> tuple[str, str] | None:
    """The (table, column) a name of a block's joined source stands for, or None."""
    for table in tables:
        if name in columns.get(table, ()):
            return table, name
    head, dot, tail = name.partition(".")
    if dot and head in tables[1:] and tail in columns.get(head, ()):
        return head, tail
    return None


def _reference_date_sources(node):
    """The raw-table sources (``{table:, date:, ...}``) of ``derive: reference_dates``."""
    if isinstance(node, dict):
        if "table" in node and "date" in node:
            yield node
            return
        for value in node.values():
            yield from _reference_date_sources(value)
    elif isinstance(node, list):
        for item in node:
            yield from _reference_date_sources(item)


def columns_read(study: StudySpec, columns: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """Per raw table, the columns the spec reads and where (``"AE/adverse events"``, ...).

    ``columns``: each declared table's column names (the raw file's header).
    """
    read: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for domain in study.domains:
        for block in domain.blocks:
            where = f"{domain.name}/{block.name}"
            order = [block.source] + [j.table for j in block.joins]
            names, own = block_names(block)
            for name in names:
                hit = _resolve(name, order, columns)
                if hit:
                    read[hit[0]][hit[1]].append(where)
            for table, column in own:
                read[table][column].append(f"{where} (join)")
        for source in _reference_date_sources(domain.derive.get("reference_dates") or {}):
            table = source["table"]
            names = {source["date"], source.get("time")} | template_columns(source.get("usubjid"))
            if source.get("where") is not None:
                names |= columns_of(source["where"])
            for name in names - {None}:
                read[table][str(name)].append(f"{domain.name}/derive.reference_dates")
    for key, item in study.dictionaries.items():
        version = item.get("version_column")
        if version:
            read[version["table"]][version["column"]].append(f"dictionaries.{key}.version_column")
    for name, spec in study.tables.items():
        for column in spec.key:
            read[name][column].append("key")
    return {t: dict(c) for t, c in read.items()}


def check_raw_columns(study: StudySpec, tables: dict[str, pd.DataFrame],
                      findings: Findings) -> dict[str, dict[str, list[str]]]:
    """Account for every raw column: read by the spec, declared ``not_submitted`` in
    study.yaml, or a warning finding ``MAP-RAW-COLUMN`` (one per column).

    A ``not_submitted`` column that the spec reads or that the table lacks is a spec error
    (``SPEC-NOT-SUBMITTED``; all such problems raised together). Returns what
    :func:`columns_read` found.
    """
    columns = {name: {c for c in frame.columns if c not in TRACE_COLUMNS}
               for name, frame in tables.items()}
    read = columns_read(study, columns)
    problems = SpecProblems(f"the not_submitted columns of {study.path}")
    for name, spec in study.tables.items():
        header = [c for c in tables[name].columns if c not in TRACE_COLUMNS]
        used = read.get(name, {})
        for column, _reason in spec.not_submitted.items():
            at = study.line(("raw", "tables", name, "not_submitted", column))
            if column in used:
                problems.add(f"raw table {name} ({spec.label}): column {column} is declared "
                             f"not_submitted but the spec reads it ({'; '.join(sorted(set(used[column])))}); "
                             "remove it from not_submitted", file=study.path, line=at,
                             rule=RULE_DECLARED, variable=column)
            elif column not in header:
                problems.add(f"raw table {name} ({spec.label}): column {column} is declared "
                             f"not_submitted but the table has no such column (columns: "
                             f"{', '.join(header)})", file=study.path, line=at,
                             rule=RULE_DECLARED, variable=column)
        unaccounted = [c for c in header if c not in used and c not in spec.not_submitted]
        for column in unaccounted:
            findings.add("warning", RULE_UNUSED,
                         f"raw column {column} of table {name} is read by no rule of the spec: "
                         f"map it, or list it under raw.tables.{name}.not_submitted in "
                         "study.yaml with the reason it is not submitted",
                         variable=column, table=spec.label)
    problems.raise_if_any(study.path)
    return read
