"""The SDTM mapping engine: raw tables + a study's YAML spec → SDTM domains.

Two phases, because some derivations need other domains:

1. **records**: every domain's record blocks are evaluated row-wise (vectorised) from their
   raw tables and joins; literal ``rows:`` become records as they are.
2. **derivations**: DM's reference dates from the built domains (or raw date columns), then
   per domain VISIT / VISITNUM, --DY, EPOCH, baseline flags, then the rules of
   ``derive: variables`` / ``derive: supp`` (which may use all of these and the subject's DM
   variables), --SEQ and the SUPPxx split.

Nothing is dropped silently: each raw row either produces at least one record or is listed
in ``unmapped`` with the reason (the ``where`` clauses that excluded it, or no domain maps its
table). Lookup tables (e.g. a coding table) are only joined, never records. Every raw column
is read by the spec, declared ``not_submitted`` or reported (:mod:`.raw_columns`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import MetadataDict
from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.core.expr import where_mask
from cdisc_convert.core.factorize import duplicated_rows
from cdisc_convert.core.specschema import SpecProblems
from ..io.raw import TRACE_COLUMNS, control_characters, escape_controls, read_source
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, load_standard
from . import derive, trial_design
from .raw_columns import check_raw_columns
from .findings import Findings
from .variable_rules import Context, Env, as_text, evaluate_variable
from .spec import BlockSpec, DomainSpec, StudySpec, load_study


@dataclass
class SdtmResult:
    domains: dict[str, pd.DataFrame]     # SDTM variables + __table/__row traceability
    findings: pd.DataFrame               # mapping findings (severity, rule, table, row, ...)
    unmapped: pd.DataFrame               # raw rows that became no record, with the reason
    study: StudySpec


def _noop(_message: str) -> None:
    pass


def read_tables(study: StudySpec, raw_dir: Path, findings: Findings) -> dict[str, pd.DataFrame]:
    """Read every declared raw table.

    Duplicate declared keys are an :class:`InputError` naming the file, the rows and the
    key: later steps look records up by key, and two rows for one key (e.g. a subject
    entered twice with different values) would give one of them at random. Values holding
    control characters are findings (RAW-CONTROL-CHAR): an error for NUL, ESC and the like,
    a warning for tab and line breaks, which the XPT and CSV files would carry as they are.
    """
    tables = {}
    for name, spec in study.tables.items():
        frame = read_source(raw_dir, file=spec.file, sql=spec.sql, query=spec.query,
                            table=spec.table, item_group=spec.item_group,
                            encoding=spec.encoding, name=spec.label,
                            delimiter=spec.delimiter)
        where = spec.label if spec.sql is not None else raw_dir / spec.file
        maybe_controls = frame.attrs.pop("controls", True)
        missing = [k for k in spec.key if k not in frame.columns]
        if missing:
            raise InputError(f"key column(s) {', '.join(missing)} declared in study.yaml are "
                             f"not in the table", file=where, rule="RAW-KEY")
        if spec.key:
            dup = duplicated_rows([frame[k].to_numpy(dtype=object) for k in spec.key])
            if dup.any():
                groups = frame.loc[dup].groupby(spec.key, sort=False)["__row"].agg(list)
                lines = [f"key {'|'.join(map(str, k if isinstance(k, tuple) else (k,)))}: "
                         f"rows {', '.join(map(str, rows))}" for k, rows in groups.head(20).items()]
                conflicting = frame.loc[dup].drop(columns="__row").drop_duplicates()
                differ = len(conflicting) > conflicting[spec.key].drop_duplicates().shape[0]
                raise InputError(
                    f"{len(groups)} key value(s) of {'+'.join(spec.key)} (declared in study.yaml) "
                    f"occur on more than one row{' with different values' if differ else ''}; "
                    "keep one row per key or declare a longer key",
                    file=where, row=int(groups.iloc[0][0]),
                    rule="RAW-DUPLICATE-KEY", details=lines)
        for column, rows, values, hard in control_characters(frame, maybe_controls):
            findings.add("error" if hard else "warning", "RAW-CONTROL-CHAR",
                         "value holds a control character (NUL, ESC, ...); remove it from "
                         "the raw table" if hard else
                         "value holds a tab or line break, which the XPT/CSV files would "
                         "carry as it is", variable=column, table=spec.label, rows=rows,
                         values=values.map(escape_controls))
        tables[name] = frame
    return tables


def check_dictionary_versions(study: StudySpec, tables: dict[str, pd.DataFrame],
                              findings: Findings) -> None:
    """A coding table's version column must name the dictionary version study.yaml declares:
    define.xml states that version, so rows coded with another one would be misdescribed."""
    for key, item in study.dictionaries.items():
        where = item.get("version_column")
        if not where:
            continue
        frame = tables[where["table"]]
        if where["column"] not in frame.columns:
            raise InputError(f"dictionary {key}: column {where['column']} (version_column in "
                             "study.yaml) is not in the table", file=study.tables[where["table"]].label,
                             rule="RAW-DICT-VERSION")
        bad = frame[where["column"]].astype(str).str.strip() != str(item["version"])
        if bad.any():
            findings.add("error", "MAP-DICT-VERSION", f"{key} version differs from the "
                         f"{item['version']} declared in study.yaml (dictionaries.{key})",
                         variable=where["column"], table=frame.loc[bad, "__table"],
                         rows=frame.loc[bad, "__row"], values=frame.loc[bad, where["column"]])


def check_dictionary_names(study: StudySpec, findings: Findings) -> None:
    """A dictionary's name is what define.xml's ``def:ExternalCodeList Dictionary`` states; CDISC
    names dictionaries in its Dictionary Name codelist DICTNAM (C66788: MedDRA, WHODD for
    WHODrug Global, SNOMED ...). DICTNAM is extensible, so another name is a warning
    (MAP-DICT-NAME) with the CT's name when the given one is a synonym of it."""
    try:
        dictnam = load_ct().codelist("DICTNAM")
    except MetadataKeyError:      # a CT release without it: nothing to compare with
        return
    for key, item in study.dictionaries.items():
        name = str(item.get("dictionary", key))
        if name in dictnam.submission_values:
            continue
        match = dictnam.lookup(name)
        hint = (f"CDISC CT calls it {match!r}" if isinstance(match, str) else
                f"its names: {', '.join(dictnam.submission_values)}")
        findings.add("warning", "MAP-DICT-NAME", f"dictionary name {name!r} (study.yaml "
                     f"dictionaries.{key}) is not a term of CDISC's Dictionary Name codelist "
                     f"DICTNAM, which define.xml's ExternalCodeList should use; {hint} "
                     "(write it as `dictionary:`)", values=[name])


def _check_unique_subjects(dm: pd.DataFrame, path) -> None:
    """DM must hold one record per USUBJID: every later step looks subjects up in it."""
    dup = dm["USUBJID"].duplicated(keep=False) & (dm["USUBJID"] != "")
    if not dup.any():
        return
    rows = dm.loc[dup, ["USUBJID", "__table", "__row"]].sort_values(
        ["USUBJID", "__row"], kind="stable").head(20)
    details = [f"USUBJID {u}: {t} row {r}" for u, t, r in rows.itertuples(index=False, name=None)]
    raise InputError(f"DM has more than one record for {dm.loc[dup, 'USUBJID'].nunique()} "
                     "subject(s); a subject must come from one raw row (declare the raw "
                     "table's `key:` in study.yaml to find duplicates at reading)",
                     file=path, rule="DM-DUPLICATE-SUBJECT", details=details)


def _join(left: pd.DataFrame, join, tables, findings: Findings, domain: DomainSpec) -> pd.DataFrame:
    right = tables[join.table]
    if join.where:
        right = right[where_mask(join.where, right, file=domain.path)]
    missing_left = [c for c in join.on if c not in left.columns]
    missing_right = [c for c in join.on.values() if c not in right.columns]
    if missing_left or missing_right:
        raise SpecError(f"join of {domain.name} with {join.table}: column(s) "
                        f"{', '.join(missing_left + missing_right)} not found",
                        file=domain.path, rule="SPEC-JOIN")
    right = right.drop(columns=TRACE_COLUMNS)
    right_keys = list(join.on.values())
    dup = right.duplicated(right_keys, keep=False)
    if dup.any():
        values = sorted(set(right.loc[dup, right_keys].astype(str).agg("|".join, axis=1)))
        raise InputError(f"join of {domain.name} with {join.table}: the right side has "
                         f"duplicate keys {'+'.join(right_keys)} ({', '.join(values[:5])})",
                         file=join.table, rule="RAW-DUPLICATE-KEY")
    renamed = {c: (f"{join.table}.{c}" if c in left.columns and c not in right_keys else c)
               for c in right.columns}
    # a marker on the (small, unique-keyed) right side tells the unmatched rows apart:
    # merge's indicator= deep-copies the left frame first, the whole raw table
    right = right.rename(columns=renamed).assign(__join=True)
    merged = left.merge(right, how="left", left_on=list(join.on), right_on=right_keys,
                        suffixes=("", f".{join.table}"))
    unmatched = merged["__join"].isna()
    if join.required and unmatched.any():
        findings.add("error", "MAP-JOIN", f"no match in {join.table} on "
                     f"{', '.join(f'{a}={b}' for a, b in join.on.items())}",
                     domain=domain.name, table=merged.loc[unmatched, "__table"],
                     rows=merged.loc[unmatched, "__row"],
                     values=merged.loc[unmatched, list(join.on)].astype(str).agg("|".join, axis=1))
    merged = merged.drop(columns="__join")
    merged.index = left.index
    if unmatched.any():     # only the right table's columns of unmatched rows are missing
        for c in merged.columns:
            if c not in left.columns and merged[c].dtype == object:
                merged[c] = merged[c].fillna("")
    return merged


def _joined_source(block: BlockSpec, domain: DomainSpec, tables, findings: Findings,
                   cache: dict) -> pd.DataFrame:
    """The block's source table with its joins done; blocks of a domain that join the
    same table the same way (TR's diameter, density and state blocks) share one join."""
    key = (block.source, tuple((j.table, tuple(j.on.items()), j.where, j.required)
                               for j in block.joins))
    if key not in cache:
        source = tables[block.source]
        for join in block.joins:
            source = _join(source, join, tables, findings, domain)
        cache[key] = source
    return cache[key]


def unpivot(source: pd.DataFrame, spec: dict, *, domain: DomainSpec,
            block: BlockSpec) -> pd.DataFrame:
    """Wide -> long: one row per raw row and per combination of the spec's item lists.

    ``spec`` is ``{test: [{TESTCD: SYSBP, COL: SBP}, ...], position: [...], columns:
    {RESULT: "{COL}_{POS}"}}``: the lists (in order) are multiplied out; each combination
    adds its items' keys as columns holding the item values (text) and, for each generic
    column of ``columns:``, the values of the raw column whose name the template gives for
    that combination. A template naming a column the table lacks is a spec error listing
    all such names. The raw columns so consumed are dropped (each record sees only its own
    result); raw rows keep ``__table``/``__row``. Rows are stacked combination by
    combination (vectorised: one take per combination, none per row).
    """
    lists = [(name, items) for name, items in spec.items() if name != "columns"]
    combos = [{}]
    for _name, items in lists:
        combos = [{**combo, **{str(k): v for k, v in item.items()}}
                  for combo in combos for item in items]
    templates = spec["columns"]
    picked = []
    missing = set()
    for combo in combos:
        names = {}
        for generic, template in templates.items():
            try:
                names[generic] = str(template).format(**combo)
            except (KeyError, IndexError, ValueError) as err:
                raise SpecError(f"{domain.name}/{block.name}: unpivot column template "
                                f"{template!r} names {err} which no item list gives",
                                file=domain.path, rule="SPEC-UNPIVOT") from None
            if names[generic] not in source.columns:
                missing.add(names[generic])
        picked.append(names)
    if missing:
        raise SpecError(f"{domain.name}/{block.name}: unpivot needs raw column(s) "
                        f"{', '.join(sorted(missing))}, which {block.source} does not have "
                        "(list only the combinations collected, or split the block)",
                        file=domain.path, rule="SPEC-UNPIVOT")
    consumed = {c for names in picked for c in names.values()}
    keep = [c for c in source.columns if c not in consumed]
    parts = []
    for combo, names in zip(combos, picked):
        part = source[keep].copy()
        for key, value in combo.items():
            part[key] = as_text(pd.Series([value])).iloc[0]
        for generic, column in names.items():
            part[generic] = source[column].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def build_block(block: BlockSpec, domain: DomainSpec, tables, ctx: Context,
                accounting: dict, join_cache: dict | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records of one block, and its supplemental qualifier values (long)."""
    source = _joined_source(block, domain, tables, ctx.findings,
                            {} if join_cache is None else join_cache)
    # which raw rows became records, and why others did not: row numbers as arrays (a set
    # or a dict entry per raw row held a Python object per row of every table)
    info = accounting.setdefault(block.source, {"used": [], "reasons": []})
    if block.unpivot:
        source = unpivot(source, block.unpivot, domain=domain, block=block)
    if block.where:
        keep = where_mask(block.where, source, file=domain.path)
        excluded = source.loc[~keep, "__row"].to_numpy()
        if len(excluded):
            info["reasons"].append((excluded, f"{domain.name}/{block.name}: where {block.where}"))
        source = source[keep]
    info["used"].append(source["__row"].to_numpy())
    env = Env(source)
    columns = {}
    for variable, rules in block.variables.items():
        values = evaluate_variable(variable, rules, env, ctx)
        env.set(variable, values)
        columns[variable] = values
    for col in TRACE_COLUMNS:
        columns[col] = source[col]
    # copy=False: each variable stays its own array; the default stacks all text columns
    # into one new 2-D block (a copy of every pointer, 0.9 CPU s for LB, TR, VS and RS
    # at 50,000 subjects) which concat and derive_seq's take then copy again anyway
    out = pd.DataFrame(columns, index=source.index, copy=False)
    supp_parts = [_supp_rows(qnam, rules, evaluate_variable(qnam, rules, env, ctx),
                             "__rid_local", env.index)
                  for qnam, rules in block.supp.items()]
    supp = pd.concat(supp_parts, ignore_index=True) if supp_parts else pd.DataFrame()
    return out, supp


def _supp_rows(qnam: str, rules: list[dict], values: pd.Series, id_column: str,
               ids) -> pd.DataFrame:
    """Long supplemental rows (one per record) of one QNAM; QLABEL/QORIG/QEVAL from the
    first rule's ``label`` / ``orig`` (default CRF) / ``eval``."""
    first = rules[0]
    return pd.DataFrame({
        id_column: np.asarray(ids), "QNAM": qnam, "QLABEL": first.get("label", qnam),
        "QVAL": as_text(values).to_numpy(),
        "QORIG": first.get("orig", "CRF"), "QEVAL": first.get("eval", "")})


def build_domain_records(domain: DomainSpec, tables, ctx: Context, accounting: dict):
    if domain.literal_rows is not None:
        frame = pd.DataFrame(domain.literal_rows).astype(object)
        frame["__table"] = domain.path.name
        frame["__row"] = range(1, len(frame) + 1)
        return frame, pd.DataFrame()
    frames, supps = [], []
    offset = 0
    join_cache: dict = {}
    for block in domain.blocks:
        records, supp = build_block(block, domain, tables, ctx, accounting, join_cache)
        # supp rows point at their record by source index; re-point them at the record's
        # position in the concatenated domain
        position = pd.Series(np.arange(len(records)) + offset, index=records.index)
        records = records.reset_index(drop=True)
        records.index += offset
        if len(supp):
            supp["__rid"] = supp.pop("__rid_local").map(position).to_numpy()
        frames.append(records)
        supps.append(supp)
        offset += len(records)
    frame = pd.concat(frames) if frames else pd.DataFrame()
    supp = pd.concat([s for s in supps if len(s)], ignore_index=True) if any(len(s) for s in supps) else pd.DataFrame()
    return frame, supp


def _unmapped(study: StudySpec, tables, accounting) -> pd.DataFrame:
    """The raw rows that became no record (table order), each with its reasons: the
    ``where`` clauses that excluded it, in the order the blocks ran, or "excluded"."""
    parts = []
    for name, frame in tables.items():
        spec = study.tables[name]
        if spec.lookup:
            continue
        rows = frame["__row"].to_numpy()
        info = accounting.get(name)
        if info is None:
            parts.append(pd.DataFrame({"table": spec.label, "row": rows,
                                       "reason": "no domain maps this table"}))
            continue
        used = np.concatenate(info["used"]) if info["used"] else np.zeros(0, rows.dtype)
        lost = rows[~np.isin(rows, used)]
        if not len(lost):
            continue
        reasons: dict = {}
        for excluded, reason in info["reasons"]:
            for row in excluded[np.isin(excluded, lost)].tolist():
                reasons.setdefault(row, []).append(reason)
        parts.append(pd.DataFrame({"table": spec.label, "row": lost, "reason": [
            "; ".join(reasons.get(row, ["excluded"])) for row in lost.tolist()]}))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=["table", "row", "reason"])
    return pd.concat(parts, ignore_index=True)


def _conform(frame: pd.DataFrame, name: str, standard, findings: Findings, path,
             model_variables: dict[str, dict] | None = None) -> pd.DataFrame:
    """Order variables as the standard does, type Num variables, reject unknown variables
    (except the domain's declared ``model_variables``, placed by their ``before``/``after``)."""
    try:
        spec = standard.dataset(name)
    except MetadataKeyError:
        raise SpecError(f"{name} is not a dataset of {standard.name}; a sponsor-defined domain "
                        "is declared in study.yaml under `custom_domains:` (docs/standards.md)",
                        file=path, rule="SPEC-DOMAIN")
    declared = model_variables or {}
    order = list(spec.variable_names)
    present = [c for c in frame.columns if not c.startswith("__")]
    unknown = [c for c in present if c not in spec and c not in declared]
    if unknown:
        raise SpecError(f"{name}: {', '.join(unknown)} not {standard.name} variable(s) of {name}; "
                        "map them under `supp:` instead (or declare SDTM-model variables under "
                        "`model_variables:`)", file=path, rule="SPEC-VARIABLE")
    ordered = [v for v in order if v in present]
    extra = [c for c in present if c not in ordered and c not in declared]  # e.g. --TESTCD
    for var, item in declared.items():
        if var in present:
            if item.get("before") in ordered:
                at = ordered.index(item["before"])
            elif item.get("after") in ordered:
                at = ordered.index(item["after"]) + 1
            else:
                at = len(ordered)
            ordered.insert(at, var)
    # selecting a list of columns gives a new frame already (no .copy(): that would copy
    # every column of TR, 1.6 million records at 50,000 subjects, once more)
    out = frame[ordered + extra + [c for c in TRACE_COLUMNS if c in frame]]
    for var in ordered + extra:
        if var in declared:
            numeric = declared[var]["type"] == "Num"
        else:
            numeric = spec.variable(var).is_numeric
        if numeric:
            given = out[var]
            if given.dtype == np.float64:       # numbers a rule made: kept, not copied
                values = given
            else:
                values = pd.to_numeric(given.where(given != ""), errors="coerce").astype(float)
            bad = np.isinf(values)
            if not pd.api.types.is_numeric_dtype(given.dtype):   # text a rule left as is
                bad |= values.isna() & (as_text(given).str.strip() != "")
            if bad.any():       # never blanked (or written as inf) in silence
                findings.add("error", "MAP-NUMBER", f"{var} is numeric; the value is not a "
                             "finite number", domain=name, variable=var,
                             table=out.loc[bad, "__table"] if "__table" in out else None,
                             rows=out.loc[bad, "__row"] if "__row" in out else None,
                             values=as_text(given[bad]))
                values = values.where(~bad)
            out[var] = values
        else:
            out[var] = as_text(out[var])
    labels = {v: item["label"] for v, item in declared.items() if v in out}
    if labels:          # the IG has no label for them: the writer takes these
        out.attrs["labels"] = MetadataDict(labels)
    return out


def spec_lengths(domain: DomainSpec) -> dict[str, int]:
    """Character lengths the spec fixes with ``length: N`` on a variable's rule(s)."""
    lengths = {}
    for block in domain.blocks:
        for variable, rules in block.variables.items():
            for rule in rules:
                if rule.get("length") is not None:
                    lengths[variable] = int(rule["length"])
    return lengths


def _raw_date_source(target: str, source: dict, *, study: StudySpec, tables, built,
                     findings: Findings, spec_path) -> pd.DataFrame:
    """A raw-table source of a DM reference date: USUBJID and ISO date per raw row.

    ``{table: ds, date: DEATHDT, time: ..., formats: [...], two_digit_year_pivot: ...,
    where: ..., usubjid: ...}``: the
    date (and time) column is parsed like a ``date:`` rule (problems are findings naming the
    raw row); ``where`` (raw columns) picks the rows. The rows' USUBJID is ``usubjid:`` (a
    ``format:`` template) or, by default, the USUBJID of the record(s) the same raw row
    became in any domain (records keep their raw table and row).
    """
    # keys and shape: checked by the domain schema (rawDateSource)
    if source["table"] not in tables:
        raise SpecError(f"reference date {target}: raw table {source['table']!r} is not "
                        f"declared in study.yaml", file=spec_path, variable=target,
                        rule="SPEC-TABLE")
    frame = tables[source["table"]]
    ctx = Context(findings, "DM", str(spec_path), study.value_maps)
    rule = {k: source[k] for k in ("date", "time", "formats", "two_digit_year_pivot", "where")
            if k in source}
    dtc = evaluate_variable(target, [rule], frame, ctx)
    if source.get("usubjid"):
        ids = evaluate_variable("USUBJID", [{"format": source["usubjid"]}], frame, ctx)
    else:
        trace = pd.concat([f[["__table", "__row", "USUBJID"]] for f in built.values()
                           if {"__table", "__row", "USUBJID"} <= set(f.columns)])
        trace = trace.drop_duplicates(["__table", "__row"])
        ids = frame[["__table", "__row"]].merge(trace, how="left")["USUBJID"]
        ids = pd.Series(ids.to_numpy(), index=frame.index).fillna("")
        lost = (ids == "") & (dtc != "")
        if lost.any():
            findings.add("warning", "MAP-REFDATE-SUBJECT", f"raw row became no record, so its "
                         f"subject is unknown; date not used for {target} (give `usubjid:`)",
                         domain="DM", variable=target, table=frame.loc[lost, "__table"],
                         rows=frame.loc[lost, "__row"], values=dtc[lost])
    return pd.DataFrame({"USUBJID": ids.to_numpy(), "DTC": dtc.to_numpy()})


def baselines(derive_rules: dict) -> list[dict]:
    """The ``derive: baseline`` item(s) of a domain (one mapping or a list of them)."""
    b = derive_rules.get("baseline")
    return [] if not b else b if isinstance(b, list) else [b]


def _derive_needs(domain: DomainSpec, study: StudySpec) -> list[tuple[tuple, str, list[str]]]:
    """(spec path, what, variables) that the derivations of ``domain`` read."""
    d = domain.derive
    needs = []
    if d.get("visit"):
        needs.append((("derive", "visit"), "derive.visit", [d["visit"]["label"], d["visit"]["date"]]))
    if d.get("study_day"):
        needs.append((("derive", "study_day"), "derive.study_day", list(d["study_day"].values())))
    if d.get("epoch"):
        needs.append((("derive", "epoch"), "derive.epoch", [d["epoch"]["date"]]))
    for b in baselines(d):
        needs.append((("derive", "baseline"), "derive.baseline",
                      list(b["by"]) + [b["date"]] + list(b.get("order", []))
                      + (["VISIT"] if b.get("visits") else [])))
    return needs


def check_derive_columns(study: StudySpec, built: dict[str, pd.DataFrame], *,
                         seq: bool = False) -> None:
    """Every variable a derivation reads must exist in its domain (DM for epochs and the
    baseline reference); all misses are reported together as one :class:`SpecError`.
    ``seq``: check the ``derive: seq`` variables (they may be derived variables, so only
    once every derivation has run)."""
    problems = SpecProblems(f"the derivations of {study.path.parent}")
    dm = built.get("DM")
    for domain in study.domains:
        frame = built.get(domain.name)
        if frame is None:
            continue
        doc = domain.doc
        if seq:
            rule = domain.derive.get("seq")
            needs = ([(("derive", "seq"), "derive.seq",
                       list(rule.get("by", ["USUBJID"])) + list(rule.get("order", [])))]
                     if rule else [])
        else:
            needs = _derive_needs(domain, study)
        for path, what, variables in needs:
            missing = [v for v in variables if v not in frame.columns]
            if missing:
                have = ", ".join(c for c in frame.columns if not c.startswith("__"))
                problems.add(f"{what} of {domain.name} uses {', '.join(missing)}, which "
                             f"{domain.name} does not have (it has: {have})", file=domain.path,
                             line=doc.line(path) if doc else None, rule="SPEC-DERIVE-VARIABLE")
        if not seq and dm is not None:
            refs = []
            epoch = domain.derive.get("epoch")
            if epoch and study.trial_design:
                refs += [e[k] for e in study.trial_design["elements"] for k in ("start", "end")
                         if e.get(k)] + [epoch["not_before"]]
            elif epoch:
                refs += [item.get("before") or item.get("until") for item in study.epochs]
                if epoch["partial_dates"] != "unassigned" or epoch["not_before"]:
                    problems.add(f"derive.epoch of {domain.name}: partial_dates and "
                                 "not_before place partial dates among the elements of SE, "
                                 "so they need a trial_design: in study.yaml (the epochs: "
                                 "rules give a partial date no EPOCH)", file=domain.path,
                                 line=doc.line(("derive", "epoch")) if doc else None,
                                 rule="SPEC-DERIVE-VARIABLE")
            refs += [b.get("reference", "RFXSTDTC") for b in baselines(domain.derive)
                     if not b.get("visits")]
            missing = sorted({r for r in refs if r and r not in dm.columns})
            if missing:
                problems.add(f"the epochs / baseline of {domain.name} compare with DM "
                             f"{', '.join(missing)}, which DM does not have", file=domain.path,
                             line=doc.line(("derive",)) if doc else None,
                             rule="SPEC-DERIVE-VARIABLE")
    problems.raise_if_any(study.path.parent)


def run_derivations(study: StudySpec, built: dict[str, pd.DataFrame], findings: Findings,
                    tables: dict[str, pd.DataFrame] | None = None) -> dict:
    by_name = {d.name: d for d in study.domains}
    dm = built.get("DM")
    if dm is not None:
        if "USUBJID" in dm:
            _check_unique_subjects(dm, by_name["DM"].path)
        refs = by_name["DM"].derive.get("reference_dates")
        if refs:
            def resolve(target, source):
                return _raw_date_source(target, source, study=study, tables=tables or {},
                                        built=built, findings=findings,
                                        spec_path=by_name["DM"].path)
            dm = derive.derive_reference_dates(dm, built, refs, spec_path=by_name["DM"].path,
                                               resolve=resolve)
        built["DM"] = dm
    rfstdtc = dm.set_index("USUBJID")["RFSTDTC"] if dm is not None and "RFSTDTC" in dm else pd.Series(dtype=object)
    check_derive_columns(study, built)
    schedule = derive.expand_schedule(study.visits)
    design = study.trial_design
    se = trial_design.derive_se(dm, design, built) if design and dm is not None else None
    visit_dates = {}
    for name, frame in built.items():
        v = by_name[name].derive.get("visit")
        if v:
            built[name] = derive.derive_visit(frame, label=v["label"], date=v["date"],
                                              schedule=schedule,
                                              unscheduled_labels=study.visits.get("unscheduled", []),
                                              rfstdtc=rfstdtc, domain=name, findings=findings)
            visit_dates[name] = v["date"]
    # unscheduled visits between the visits each subject had, in all domains together
    built.update(derive.renumber_unscheduled({n: built[n] for n in visit_dates}, visit_dates))
    elements = None
    for name, frame in built.items():
        rules = by_name[name].derive
        if rules.get("study_day"):
            frame = derive.derive_study_days(frame, rules["study_day"], rfstdtc)
        epoch = rules.get("epoch")
        if epoch and se is not None:
            floor = (dm.set_index("USUBJID")[epoch["not_before"]]
                     if epoch["not_before"] and dm is not None else None)
            elements = elements or trial_design.subject_elements(se)    # once for all domains
            frame = trial_design.derive_epoch_from_se(
                frame, date=epoch["date"], se=se, partial_dates=epoch["partial_dates"],
                not_before=floor, elements=elements)
        elif epoch and dm is not None:
            frame = derive.derive_epoch(frame, date=epoch["date"], dm=dm, epochs=study.epochs)
        for b in baselines(rules):
            ref = (dm.set_index("USUBJID")[b.get("reference", "RFXSTDTC")]
                   if dm is not None and not b.get("visits") else None)
            if ref is None and not b.get("visits"):
                continue        # no DM: no reference start to compare with
            frame = derive.derive_baseline_flag(
                frame, flag=b["flag"], by=b["by"], date=b["date"], reference=ref,
                where=b.get("where"), order=b.get("order", []), visits=b.get("visits"))
        built[name] = frame
    if design:
        built.update(_design_datasets(study, built, schedule, se, rfstdtc))
    return built


def _design_datasets(study: StudySpec, built: dict[str, pd.DataFrame], schedule: pd.DataFrame,
                     se: pd.DataFrame | None, rfstdtc: pd.Series) -> dict[str, pd.DataFrame]:
    """TA, TE, TV, TI from study.yaml's ``trial_design:`` and ``visits:``; SE and SV from the
    subjects' derived records (see :mod:`.trial_design`)."""
    design, studyid = study.trial_design, study.study
    out = {"TA": trial_design.derive_ta(design, studyid=studyid),
           "TE": trial_design.derive_te(design, studyid=studyid),
           "TV": trial_design.derive_tv(schedule, study.visits, studyid=studyid)}
    if design.get("criteria"):
        out["TI"] = trial_design.derive_ti(design, studyid=studyid)
    if se is not None:
        out["SE"] = trial_design.add_study_days(se, {"SESTDY": "SESTDTC", "SEENDY": "SEENDTC"},
                                                rfstdtc)
    if design.get("visits_from"):
        sv = trial_design.derive_sv(built, design["visits_from"], tv=out["TV"],
                                    unscheduled_description=design.get(
                                        "unscheduled_description", ""))
        out["SV"] = trial_design.add_study_days(sv, {"SVSTDY": "SVSTDTC", "SVENDY": "SVENDTC"},
                                                rfstdtc)
    return out


def apply_post_rules(study: StudySpec, built: dict[str, pd.DataFrame],
                     supps: dict[str, pd.DataFrame], findings: Findings) -> None:
    """``derive: variables`` and ``derive: supp``: rules run on the derived records.

    They run after every other derivation (reference dates, VISIT, --DY, EPOCH, baseline),
    DM first, and see the domain's variables plus, outside DM, the subject's DM variables the
    domain does not have itself (joined on USUBJID, e.g. RFSTDTC). Variables are set in
    order (a later rule sees an earlier one); ``supp`` values become SUPPxx records like a
    block's ``supp:``. Updates ``built`` and ``supps`` in place.
    """
    order = sorted(study.domains, key=lambda d: d.name != "DM")
    for domain in order:
        var_rules = domain.derive.get("variables") or {}
        supp_rules = domain.derive.get("supp") or {}
        if not var_rules and not supp_rules:
            continue
        frame = built[domain.name].copy()
        env = frame.copy()
        dm = built.get("DM")
        if dm is not None and domain.name != "DM" and "USUBJID" in frame:
            extra = [c for c in dm.columns if c not in frame.columns and not c.startswith("__")]
            subject = dm.drop_duplicates("USUBJID").set_index("USUBJID")[extra]
            env = env.join(subject, on="USUBJID")
            for c in extra:
                if env[c].dtype == object:
                    env[c] = env[c].fillna("")
        ctx = Context(findings, domain.name, str(domain.path), study.value_maps)
        env = Env(env)
        for variable, rules in var_rules.items():
            values = evaluate_variable(variable, rules, env, ctx)
            env.set(variable, values)
            frame[variable] = values
        parts = [supps.get(domain.name, pd.DataFrame())]
        parts += [_supp_rows(qnam, rules, evaluate_variable(qnam, rules, env, ctx), "__rid",
                             frame["__rid"]) for qnam, rules in supp_rules.items()]
        parts = [p for p in parts if len(p)]
        supps[domain.name] = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        built[domain.name] = frame


def raw_last_use(study: StudySpec) -> dict[str, int]:
    """Per raw table, the position (in ``study.domains``) of the last domain whose blocks
    read it (as source or join); tables that DM's reference dates read from raw
    (``reference_dates`` with a ``table:``) are read again by the derivations and left out,
    as are lookup-only tables nothing maps. A caller mapping domains one by one may free
    a table's columns once that domain is built."""
    last: dict[str, int] = {}
    for position, domain in enumerate(study.domains):
        for block in domain.blocks:
            for name in [block.source] + [join.table for join in block.joins]:
                last[name] = position
    for domain in study.domains:
        for rule in (domain.derive.get("reference_dates") or {}).values():
            picks = [rule[k] for k in ("earliest", "latest") if k in rule]
            for sources in picks:
                for source in sources if isinstance(sources, list) else [sources]:
                    if isinstance(source, dict):
                        last.pop(source.get("table"), None)
    return last


def map_study(study_dir: Path | str, raw_dir: Path | str | None = None, *,
              progress: Callable[[str], None] | None = None) -> SdtmResult:
    """Map a study's raw tables to SDTM (in memory). See :mod:`cdisc_convert.sdtm`."""
    progress = progress or _noop
    study = load_study(study_dir)
    raw_dir = Path(raw_dir) if raw_dir else study.raw_folder
    if raw_dir is None or not Path(raw_dir).is_dir():
        raise InputError("raw data folder not found (pass --raw or set raw.folder in "
                         "study.yaml)", file=raw_dir or study.path, rule="RAW-MISSING")
    standard = load_standard(study.standard)
    findings = Findings()
    progress(f"reading {len(study.tables)} raw tables from {raw_dir}")
    tables = read_tables(study, Path(raw_dir), findings)
    check_dictionary_versions(study, tables, findings)
    check_dictionary_names(study, findings)
    check_raw_columns(study, tables, findings)      # every column read, declared or reported
    accounting: dict = {}
    built, supps = {}, {}
    last_use = raw_last_use(study)
    for position, domain in enumerate(study.domains):
        progress(f"mapping {domain.name}")
        ctx = Context(findings, domain.name, str(domain.path), study.value_maps)
        frame, supp = build_domain_records(domain, tables, ctx, accounting)
        frame = frame.reset_index(drop=True)
        frame["__rid"] = np.arange(len(frame))
        built[domain.name], supps[domain.name] = frame, supp
        # a raw table no later step reads is cut to its row numbers (the unmapped rows'
        # report needs only those): at 50,000 subjects the raw tables hold ~1 GB
        for name, last in last_use.items():
            if last == position and name in tables:
                tables[name] = tables[name][["__row"]]
    progress("deriving reference dates, visits, study days, epochs and baseline flags")
    built = run_derivations(study, built, findings, tables)
    apply_post_rules(study, built, supps, findings)
    progress("numbering records (--SEQ), splitting SUPPxx, ordering and typing variables")
    # from here on only the raw row numbers are needed (unmapped rows), and each domain's
    # derived frame only until its final form is made: freeing them as we go keeps the
    # peak memory near the size of the outputs
    tables = {name: frame[["__row"]] for name, frame in tables.items()}
    check_derive_columns(study, built, seq=True)
    domains = {}
    for domain in study.domains:
        frame = built.pop(domain.name)
        seq_rule = domain.derive.get("seq")
        seq_name = None
        if seq_rule:
            seq_name = f"{domain.name}SEQ"
            frame = derive.derive_seq(frame, name=seq_name, by=seq_rule.get("by", ["USUBJID"]),
                                      order=seq_rule.get("order", []))
        supp = supps.pop(domain.name)
        supp_frame = derive.split_supp(supp, frame, domain=domain.name, seq=seq_name) if len(supp) else None
        domains[domain.name] = _conform(frame.drop(columns="__rid"), domain.name, standard,
                                        findings, domain.path, domain.model_variables)
        lengths = spec_lengths(domain)
        if lengths:      # the XPT writer takes these instead of the longest value present
            domains[domain.name].attrs["spec_lengths"] = MetadataDict(lengths)
        if supp_frame is not None and len(supp_frame):
            domains[f"SUPP{domain.name}"] = _conform(supp_frame, f"SUPP{domain.name}", standard,
                                                     findings, domain.path)
    for name in trial_design.DESIGN_DATASETS:
        if name in built and name not in domains:
            frame = built[name]
            if name == "SE":
                frame = derive.derive_seq(frame, name="SESEQ", by=["USUBJID"],
                                          order=["SESTDTC", "TAETORD"])
            frame = frame[[c for c in frame.columns if not c.startswith("__")]]
            domains[name] = _conform(frame, name, standard, findings, study.path)
    progress(f"mapped {sum(len(f) for f in domains.values())} records in {len(domains)} datasets")
    return SdtmResult(domains, findings.frame(), _unmapped(study, tables, accounting), study)
