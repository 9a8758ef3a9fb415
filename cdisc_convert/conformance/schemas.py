"""Conformance checks for SDTM (and ADaM) datasets, generated from ``specs/`` and run by pandera.

Nothing here is written per domain: :func:`build_schema` reads the dataset's variables
(type, core, codelists, value list) from :mod:`cdisc_convert.metadata` and turns each fact
into a pandera check. :func:`check_dataset` runs the schema lazily (every failure is
collected, none stops the run) and turns pandera's ``failure_cases`` into *findings*, one
row per problem, with a rule id, a severity and a plain-English message.
:func:`check_folder` checks a whole set of datasets, giving DM to the others for the
cross-dataset rules.

>>> findings = check_folder({"DM": dm, "AE": ae})          # doctest: +SKIP
>>> summarise(findings)                                      # doctest: +SKIP

Rules
-----
Rule ids, severities and what each mirrors are in the catalogue ``conformance/rules.yaml``;
the details of each rule (what exactly is compared, why a severity) are in the note of its
section there, shown in docs/validation-rules.md.

Findings frame
--------------
Columns :data:`FINDING_COLUMNS`: ``dataset``, ``variable``, ``rule``, ``severity``, ``row``
(0-based record number in the frame; NA for dataset- or column-level findings), ``value``
(the offending value as text), ``message`` (names dataset, variable, value and rule),
``source_table`` / ``source_row`` (the raw file and its 1-based row, from the frame's
``__table`` / ``__row`` columns when present, else NA). Findings are sorted by dataset,
then dataset-level findings before record-level ones, then row, variable, rule.

Pandera has no severity, so every check is named ``"<kind>:<variable>"`` and
:data:`CHECK_RULES` maps the kind to (rule id, severity); the schema's ``metadata``
carries the details (codelist, expected value) used to write the messages.

Speed: all checks are vectorised Series/DataFrame functions (no element-wise pandera
checks); text checks run on the distinct values of a column only (one ``pd.factorize``
per column, shared by its checks), and frame-level record checks (keys, --SEQ, --DY) ask
pandera for one example and are re-run for the full list: pandera lists a failing record
of a frame-level check once per column and reshapes that with DataFrame.stack (about a
minute for 70,000 duplicate keys in 22 columns). A valid 1,000,000-record TR-like
dataset (22 columns, with DM) takes 1.4-2.2 s on a busy 2-core machine; with 20,000
findings 2.2-4 s; with 1,000,000 findings 10-17 s, most of it pandera's bookkeeping of
the failure cases and writing the messages (``benchmarks/run.py``, ``benchmarks/tr_like.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrorReason, SchemaErrors

from cdisc_convert.standards.metadata import (Codelist, DatasetSpec, MetadataKeyError, Terminology, load_ct,
                        load_standard, load_value_level_ct)

from .catalogue import SEVERITY_ORDER
from .predicates import (FACTORIZED, MAX_BYTES, TR_PLAUSIBLE, char_type_ok, distinct_values,
                         expected_study_day,
                         finite, first_of_group, iso_ok, length_ok, member_or_blank,
                         not_blank, num_type_ok, study_day_ok, tr_plausible, unique_on)
from .catalogue import RULES as CATALOGUE

__all__ = [
    "CHECK_RULES", "FINDING_COLUMNS", "RULES", "CheckInfo", "build_schema", "check_dataset",
    "check_folder", "summarise",
]


#: check kind (the part of a pandera check name before ":") -> rule id
_CHECK_RULE_IDS: dict[str, str] = {
    "req_present": "SD-REQ-MISSING",
    "exp_present": "SD-EXP-MISSING",
    "req_not_null": "SD-REQ-NULL",
    "type_char": "SD-TYPE",
    "type_num": "SD-TYPE",
    "length": "SD-LENGTH",
    "ct_nonextensible": "CT-NONEXT",
    "ct_extensible": "CT-EXT",
    "iso8601": "SD-ISO8601",
    "domain_value": "SD-DOMAIN",
    "key_unique": "SD-KEY-DUP",
    "dm_subject_unique": "SD-DM-DUP",
    "num_finite": "SD-NUM-FINITE",
    "tr_plausible": "SD-TR-PLAUSIBLE",
    "seq_unique": "SD-SEQ-DUP",
    "study_day": "SD-DY",
    "usubjid_in_dm": "SD-USUBJID-DM",
    "known_variable": "SD-UNKNOWN-VAR",
    "known_dataset": "SD-UNKNOWN-DATASET",
}

#: check kind -> (rule id, severity); the severity is the rule catalogue's (rules.yaml).
CHECK_RULES: dict[str, tuple[str, str]] = {
    kind: (rule, CATALOGUE[rule].severity) for kind, rule in _CHECK_RULE_IDS.items()}

#: rule id -> (severity, title) of the rules these schemas report, from the rule catalogue.
RULES: dict[str, tuple[str, str]] = {
    rule: (CATALOGUE[rule].severity, CATALOGUE[rule].title)
    for rule in dict.fromkeys(_CHECK_RULE_IDS.values())}

_FRAME_RECORD_KINDS = frozenset({"key_unique", "seq_unique", "study_day",
                                 "dm_subject_unique", "tr_plausible"})


FINDING_COLUMNS = ["dataset", "variable", "rule", "severity", "row", "value", "message",
                   "source_table", "source_row"]


@dataclass(frozen=True)
class CheckInfo:
    """What a pandera check of a generated schema stands for."""

    kind: str
    variable: str  # column name; for key checks the key variables joined by ","
    rule: str
    severity: str
    dataset: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    #: for record-level checks of the whole frame: the check function, re-run to list
    #: every failing record (pandera is asked for one example only, see build_schema)
    frame_fn: Callable[[pd.DataFrame], pd.Series] | None = None


def _is_trace(column: object) -> bool:
    """``__table``, ``__row`` (raw file and row, added by the SDTM engine) and any ``__*``."""
    return isinstance(column, str) and column.startswith("__")



# --------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------
def _dataset_spec(standard: str, name: str) -> DatasetSpec | None:
    std = load_standard(standard)  # an unknown standard is an error, not a finding
    try:
        return std.dataset(name)
    except MetadataKeyError:
        return None


def _codelists(ct: Terminology, codes: Iterable[str]) -> list[Codelist]:
    out = []
    for code in codes:
        try:
            out.append(ct.codelist(code))
        except MetadataKeyError:  # not in the loaded CT: nothing to check against
            continue
    return out


def _add_value_level_ct(add: Callable, var: str, value_level: dict, tests: pd.Series,
                        ct: Terminology) -> np.ndarray | None:
    """Checks of ``var`` for the records of each value-level test (one per codelist);
    returns the positions they cover, which the variable-level check then leaves alone."""
    # the test codes as stripped text once per distinct value (RSTESTCD holds a handful in
    # a million records; the column's checks reuse this numbering); a missing code is
    # compared as astype(str) writes it ("nan", "None")
    row_code, uniques = distinct_values(tests)
    distinct = uniques.astype(str).str.strip().to_numpy(dtype=object)
    missing = row_code < 0
    missing_text = tests[missing].astype(str).str.strip().to_numpy(dtype=object)
    covered = np.zeros(len(row_code), dtype=bool)
    by_codelist: dict[str, list[str]] = {}
    for test, short in value_level["tests"].items():
        by_codelist.setdefault(short, []).append(test)
    for short, names in sorted(by_codelist.items()):
        try:
            cl = ct.codelist(short)
        except MetadataKeyError:
            continue
        rows = np.isin(distinct, names)[row_code]
        rows[missing] = np.isin(missing_text, names)
        if not rows.any():
            continue
        covered |= rows
        kind = "ct_extensible" if cl.extensible else "ct_nonextensible"
        add(kind, var, member_or_blank(frozenset(cl.submission_values), False, ~rows),
            suffix=f":{short}", codelist=f"{cl.short_name} ({cl.code}) for "
            f"{value_level['by']} {' / '.join(names)}")
    return covered if covered.any() else None


def _dm_lookup(dm: pd.DataFrame | None) -> tuple[frozenset, pd.Series] | None:
    if dm is None or "USUBJID" not in dm:
        return None
    ids = frozenset(dm["USUBJID"].dropna())
    if "RFSTDTC" in dm:
        first = dm.drop_duplicates("USUBJID")
        rfstdtc = pd.Series(first["RFSTDTC"].to_numpy(dtype=object), index=first["USUBJID"])
    else:
        rfstdtc = pd.Series(dtype=object)
    return ids, rfstdtc


def build_schema(dataset_name: str, columns_present: Iterable[str], *,
                 standard: str = "sdtmig-3.4", ct: Terminology | None = None,
                 dm: pd.DataFrame | None = None,
                 tests: pd.Series | None = None,
                 dm_lookup: tuple[frozenset, pd.Series] | None = None) -> pa.DataFrameSchema:
    """A pandera schema for ``dataset_name`` generated from the standard's metadata.

    ``columns_present`` are the columns of the data (traceability columns ``__*`` are
    ignored); each variable of the spec that is present gets its checks, each Req/Exp
    variable that is absent a dataset-level presence check. With ``dm`` (the DM frame) the
    cross-dataset checks (USUBJID in DM, --DY against RFSTDTC) are added. ``tests`` (the
    data's test-code column named in ``value_level_ct.yaml``, e.g. RSTESTCD) turns on the
    value-level codelists: records of those tests are checked against their own codelist.
    ``dm_lookup``: ``dm``'s subjects and RFSTDTC as :func:`_dm_lookup` gives them, when the
    caller checks many datasets against one DM (made once, not once per dataset).

    Check names are ``"<kind>:<variable>"``; :data:`CHECK_RULES` gives the rule and
    severity of each kind and ``schema.metadata["checks"]`` maps every name to its
    :class:`CheckInfo`. The schema is not strict: unknown columns are reported by a check.
    """
    name = dataset_name.upper()
    ct = ct or load_ct()
    is_adam = standard.startswith("adam")
    # non-text column names cannot be SDTM variables and are left alone
    columns = [c for c in dict.fromkeys(columns_present) if isinstance(c, str) and not _is_trace(c)]
    present = set(columns)
    spec = _dataset_spec(standard, name)
    value_level = load_value_level_ct(standard).get(name)
    registry: dict[str, CheckInfo] = {}
    column_checks: dict[str, list[pa.Check]] = {c: [] for c in columns}
    frame_checks: list[pa.Check] = []

    def add(kind: str, variable: str, fn: Callable, *, frame_level: bool = False,
            suffix: str = "", **detail):
        rule, severity = CHECK_RULES[kind]
        check_name = f"{kind}:{variable}{suffix}"
        per_record = frame_level and kind in _FRAME_RECORD_KINDS
        registry[check_name] = CheckInfo(kind, variable, rule, severity, name, detail,
                                         frame_fn=fn if per_record else None)
        # pandera lists a failing record of a frame-level check once per column and
        # reshapes them with DataFrame.stack, about a minute for 70,000 failures: ask
        # it for one example and let check_dataset re-run ``fn`` for the full list.
        check = pa.Check(fn, name=check_name, ignore_na=False,
                         n_failure_cases=1 if per_record else None)
        (frame_checks if frame_level else column_checks[variable]).append(check)

    # -- dataset-level: unknown dataset, presence of Req/Exp, unknown variables ----------
    spec_vars: dict[str, Any] = {}
    if spec is None:
        add("known_dataset", "", lambda df: False, frame_level=True, standard=standard)
    else:
        spec_vars = {row.variable: row for row in spec.variables.itertuples(index=False)}
        covered = set(present)
        if is_adam:  # ADaM names are patterns: TRT01P is present for TRTxxP
            covered |= {spec.variable(c).template for c in columns if c not in spec_vars and c in spec}
        for var, row in spec_vars.items():
            if var in covered:
                continue
            if row.core == "Req":
                add("req_present", var, lambda df: False, frame_level=True)
            elif row.core == "Exp":
                add("exp_present", var, lambda df: False, frame_level=True)
        std = load_standard(standard)
        for var in columns:
            if var not in spec_vars and not (is_adam and var in spec) \
                    and not std.allows_class_variable(dataset_name, var):
                add("known_variable", var, lambda df: False, frame_level=True, standard=standard)

    # -- variable-level checks ---------------------------------------------------------------
    for var in columns:
        row = spec_vars.get(var)
        if row is None and is_adam and spec is not None and var in spec:
            row = spec.variable(var)
        var_type = getattr(row, "type", None)
        core = getattr(row, "core", None)
        if var_type == "Num":
            add("type_num", var, num_type_ok)
            add("num_finite", var, finite)
        elif var_type == "Char":
            add("type_char", var, char_type_ok)
        if core == "Req":
            add("req_not_null", var, not_blank)
        if var_type != "Num":  # Char variables, and unknown columns when they hold text
            add("length", var, length_ok)
        codes = getattr(row, "codelist_codes", None)
        if codes is None and row is not None:  # a study's sponsor codelist: a name, no NCI code
            codes = tuple(c for c in str(row.codelist_code or row.codelist).split(";") if c)
        lists = _codelists(ct, codes or ())
        if lists:
            allowed = frozenset(v for cl in lists for v in cl.submission_values)
            kind = "ct_nonextensible" if not any(cl.extensible for cl in lists) else "ct_extensible"
            # --ORRES/--STRESC carry numeric results too; the codelist covers the others
            numeric_results = var.endswith(("ORRES", "STRESC"))
            exempt = None
            if value_level and var in value_level["variables"] and tests is not None:
                exempt = _add_value_level_ct(add, var, value_level, tests, ct)
            add(kind, var, member_or_blank(allowed, numeric_results, exempt),
                codelist=" / ".join(f"{cl.short_name} ({cl.code})" for cl in lists))
        elif name.startswith("SUPP") and value_level and tests is not None \
                and var in value_level["variables"]:  # QVAL of the study's supp_qualifiers
            _add_value_level_ct(add, var, value_level, tests, ct)
        if var.endswith("DTC") and var_type != "Num":
            add("iso8601", var, iso_ok)

    if not is_adam:
        # DOMAIN (RDOMAIN in SUPP--) equals the dataset; the spec's value list says which
        # value. A dataset outside the subset may be a split one (QSCG: DOMAIN "QS").
        supp = name.startswith("SUPP")
        domain_var = "RDOMAIN" if supp else "DOMAIN"
        if domain_var in present:
            base = name[4:] if supp else name
            row = spec_vars.get(domain_var)
            values = str(getattr(row, "value_list", "") or "") if row is not None else ""
            allowed = [values.split(";")[0]] if values else [base]
            if spec is None and len(base) > 2:
                allowed.append(base[:2])
            add("domain_value", domain_var, member_or_blank(frozenset(allowed)),
                expected=" or ".join(f"'{a}'" for a in allowed))
        # natural keys, --SEQ
        keys = [k for k in (spec.keys if spec is not None else ()) if k in present]
        if name == "DM" and "USUBJID" in present:
            # one record per subject is an error, not a repeated key: every other
            # dataset (and ADaM) looks subjects up in DM
            add("dm_subject_unique", "USUBJID", unique_on(["USUBJID"]), frame_level=True,
                keys=["USUBJID"])
        elif keys:
            add("key_unique", ",".join(keys), unique_on(keys), frame_level=True, keys=keys)
        if name == "TR" and {"TRSTRESN", "TRTESTCD"} <= present:
            add("tr_plausible", "TRSTRESN", tr_plausible, frame_level=True)
        seq = next((f"{p}SEQ" for p in (name, name[:2]) if f"{p}SEQ" in present), None)
        if seq is not None and "USUBJID" in present:
            add("seq_unique", seq, unique_on(["USUBJID", seq]), frame_level=True,
                keys=["USUBJID", seq])

    # -- cross-dataset checks (DM) -------------------------------------------------------------
    lookup = dm_lookup if dm_lookup is not None else _dm_lookup(dm)
    if lookup is not None and "USUBJID" in present:
        ids, rfstdtc = lookup
        if name != "DM":
            add("usubjid_in_dm", "USUBJID", member_or_blank(ids))
        if not is_adam:
            for var in columns:
                if var.endswith("DY") and var[:-2] + "DTC" in present:
                    dtc = var[:-2] + "DTC"
                    add("study_day", var, study_day_ok(var, dtc, rfstdtc), frame_level=True,
                        dtc=dtc, rfstdtc=rfstdtc)

    schema_columns = {c: pa.Column(None, nullable=True, required=True, checks=checks, name=c)
                      for c, checks in column_checks.items() if checks}
    return pa.DataFrameSchema(schema_columns, checks=frame_checks, strict=False,
                              name=name, metadata={"checks": registry, "standard": standard})


# --------------------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------------------
def _empty_findings() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
    out["row"] = out["row"].astype("Int64")
    out["source_row"] = out["source_row"].astype("Int64")
    return out


def _as_text(values: pd.Series) -> pd.Series:
    """Values as report text: "" for missing, whole floats without ".0" (AESEQ 3, not 3.0)."""
    if pd.api.types.is_integer_dtype(values.dtype):
        missing = values.isna().to_numpy()
        text = values.to_numpy(dtype=np.int64, na_value=0).astype(str).astype(object)
        text[missing] = ""
        return pd.Series(text, index=values.index, dtype=object)
    if pd.api.types.is_float_dtype(values.dtype):
        num = values.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(num) & (num == np.round(num)) & (np.abs(num) < 2**53)
        text = values.astype(object).map(str).to_numpy(dtype=object).copy()
        text[whole] = num[whole].astype(np.int64).astype(str).astype(object)
        text[np.isnan(num)] = ""
        return pd.Series(text, index=values.index, dtype=object)
    values = values.astype(object)
    return values.where(values.notna(), "").astype(str).astype(object)


def _standard_label(standard: str) -> str:
    """"sdtmig-3.4" -> "SDTMIG 3.4", "adamig-1.3" -> "ADaMIG 1.3"."""
    head, _, version = standard.partition("-")
    head = "ADaMIG" if head.lower() == "adamig" else head.upper()
    return f"{head} {version}".strip()


def _short(values: pd.Series, width: int = 60) -> pd.Series:
    return values.where(values.str.len() <= width, values.str.slice(0, width - 3) + "...")


def check_dataset(frame: pd.DataFrame, name: str, *, dm: pd.DataFrame | None = None,
                  standard: str = "sdtmig-3.4", ct: Terminology | None = None,
                  dm_lookup: tuple[frozenset, pd.Series] | None = None) -> pd.DataFrame:
    """Check one dataset against the standard; a findings frame (:data:`FINDING_COLUMNS`).

    ``frame`` holds the dataset's variables, and optionally the ``__table``/``__row``
    traceability columns, which are carried into ``source_table``/``source_row``. ``dm``
    adds the cross-dataset checks (``dm_lookup``: see :func:`build_schema`). A missing Req
    column is a finding, never an exception.
    """
    name = name.upper()
    # rows are reported as 0-based positions: give the checks a RangeIndex (no copy)
    data = frame.set_axis(pd.RangeIndex(len(frame)), axis=0, copy=False)
    # the checks never read the reader's metadata (labels, formats, lengths ...), and
    # pandas deep-copies a frame's attrs into every column it hands out: without them the
    # checks of a dataset cost about a third less
    data.attrs = {}
    columns = [c for c in data.columns if not _is_trace(c)]
    value_level = load_value_level_ct(standard).get(name)
    tests = data[value_level["by"]] if value_level and value_level["by"] in data else None
    token = FACTORIZED.set({})     # before the schema: its value-level checks number tests
    try:
        schema = build_schema(name, columns, standard=standard, ct=ct, dm=dm, tests=tests,
                              dm_lookup=dm_lookup)
        registry: dict[str, CheckInfo] = schema.metadata["checks"]
        # not strict: the __table/__row columns are simply not looked at; inplace: the
        # checks only read, so pandera need not copy the frame for every column
        schema.validate(data, lazy=True, inplace=True)
        return _empty_findings()
    except SchemaErrors as exc:
        broken = [e for e in exc.schema_errors
                  if e.reason_code == SchemaErrorReason.CHECK_ERROR]
        if broken:  # a bug in a check, not a finding: do not hide it
            raise RuntimeError(f"conformance check failed to run on {name}: {broken[0]}") from exc
        return _to_findings(exc.failure_cases, registry, data, name)
    finally:
        FACTORIZED.reset(token)


def _to_findings(cases: pd.DataFrame, registry: dict[str, CheckInfo], data: pd.DataFrame,
                 name: str) -> pd.DataFrame:
    unexpected = cases["check"].map(lambda c: c not in registry)
    if unexpected.any():  # pandera's own checks (column_in_dataframe ...) are not generated
        raise RuntimeError(f"unexpected pandera failure on {name}: {cases[unexpected].iloc[0].to_dict()}")
    parts = []
    for check_name, group in cases.groupby("check", sort=True):
        info = registry[check_name]
        if info.frame_fn is not None:
            rows = np.flatnonzero(~np.asarray(info.frame_fn(data), dtype=bool))
        else:
            rows = pd.to_numeric(group["index"], errors="coerce").dropna().astype(np.int64)
            rows = np.unique(rows.to_numpy())
        parts.append(_describe(info, rows, data, name))
    if not parts:
        return _empty_findings()
    out = pd.concat(parts, ignore_index=True)
    out = out.reindex(columns=FINDING_COLUMNS)
    out["row"] = out["row"].astype("Int64")
    # traceability: the raw file and 1-based raw row of each record-level finding
    has = out["row"].notna().to_numpy()
    pos = out.loc[has, "row"].to_numpy(dtype=np.int64)
    out["source_table"] = pd.Series(pd.NA, index=out.index, dtype=object)
    out["source_row"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    if "__table" in data and has.any():
        out.loc[has, "source_table"] = data["__table"].to_numpy(dtype=object)[pos]
    if "__row" in data and has.any():
        raw = pd.to_numeric(data["__row"], errors="coerce").astype("Float64").array
        out.loc[has, "source_row"] = pd.array(raw[pos], dtype="Float64").round().astype("Int64")
    out = _with_source_in_message(out)
    return _sort(out)


def _with_source_in_message(out: pd.DataFrame) -> pd.DataFrame:
    has = (out["source_table"].notna() | out["source_row"].notna()).to_numpy()
    if has.any():
        table = _per_value(_as_text(out["source_table"][has]),
                           lambda u: " (raw " + u.where(u != "", "?") + " row ")
        row = _as_text(out["source_row"][has])
        message = out["message"].to_numpy(dtype=object).copy()
        message[has] = (message[has] + table.to_numpy(dtype=object)
                        + row.where(row != "", "?").to_numpy(dtype=object) + ")")
        out["message"] = message
    return out


def _sort(out: pd.DataFrame) -> pd.DataFrame:
    """Dataset, then dataset-level findings, then row, variable, rule.

    (dataset, row, variable, rule) identifies a finding: each check reports a record once.
    """
    if out.empty:
        return out[FINDING_COLUMNS].reset_index(drop=True)
    dataset = pd.factorize(out["dataset"], sort=True)[0]
    row = out["row"].to_numpy(dtype="float64", na_value=-1.0)
    variable = pd.factorize(out["variable"], sort=True)[0]
    rule = pd.factorize(out["rule"], sort=True)[0]
    order = np.lexsort((rule, variable, row, dataset))  # last key sorts first
    return out.iloc[order][FINDING_COLUMNS].reset_index(drop=True)


def _describe(info: CheckInfo, rows: np.ndarray, data: pd.DataFrame, name: str) -> pd.DataFrame:
    """Findings (without source columns) for one failed check."""
    var, kind, rule = info.variable, info.kind, info.rule
    tag = f" [{rule}]"

    def frame_level(value: str, message: str) -> pd.DataFrame:
        return pd.DataFrame({"dataset": [name], "variable": [var], "rule": [rule],
                             "severity": [info.severity], "row": [pd.NA], "value": [value],
                             "message": [message + tag]})

    std = _standard_label(info.detail.get("standard", ""))
    if kind == "req_present":
        return frame_level("", f"{name}: required variable {var} is not in the dataset")
    if kind == "exp_present":
        return frame_level("", f"{name}: expected variable {var} is not in the dataset")
    if kind == "known_variable":
        return frame_level(var, f"{name}: variable {var} is not listed for {name} in {std}")
    if kind == "known_dataset":
        return frame_level(name, f"{name} is not a dataset of the {std} subset in specs/; "
                                 "only name-based checks were run")
    if kind in ("type_char", "type_num"):
        want = "Char (text)" if kind == "type_char" else "Num (numeric)"
        got = str(data[var].dtype)
        if got == "object":
            got = f"object holding {pd.api.types.infer_dtype(data[var], skipna=True)} values"
        return frame_level(got, f"{name}.{var} should be {want} but the column is {got}")

    # record-level findings
    if kind == "tr_plausible":
        sub = data.iloc[rows]
        value = _as_text(sub[var])
        tests = _as_text(sub["TRTESTCD"])
        why = tests.map(lambda t: TR_PLAUSIBLE.get(t, (0, 0, ""))[2])
        message = (f"{name} row " + _int_text(rows, sub.index) + f": {var} " + value
                   + " for TRTESTCD " + tests + " is implausible: " + why)
    elif kind in ("key_unique", "seq_unique", "dm_subject_unique"):
        keys = info.detail["keys"]
        sub = data.iloc[rows]
        value = _as_text(sub[keys[0]])
        for k in keys[1:]:
            value = value + " | " + _as_text(sub[k])
        first = first_of_group(data, keys).iloc[rows].to_numpy()
        first_txt = _int_text(first, sub.index)
        if kind == "dm_subject_unique":
            message = (f"{name} row " + _int_text(rows, sub.index) + ": USUBJID " + value
                       + " repeats row " + first_txt + "; DM holds one record per subject")
        elif kind == "key_unique":
            message = (f"{name} row " + _int_text(rows, sub.index)
                       + f": natural key ({', '.join(keys)}) = (" + value.str.replace(" | ", ", ", regex=False)
                       + ") repeats row " + first_txt)
        else:
            message = (f"{name} row " + _int_text(rows, sub.index) + f": {var} "
                       + _as_text(sub[var]) + " is used again for USUBJID " + _as_text(sub["USUBJID"])
                       + " (first at row " + first_txt + ")")
            value = _as_text(sub[var])
    else:
        sub = data.iloc[rows]
        value = _as_text(sub[var])
        where = f"{name} row " + _int_text(rows, sub.index) + f": {var} "
        if kind == "study_day":
            dtc = info.detail["dtc"]
            expected = expected_study_day(sub, dtc, info.detail["rfstdtc"])
            ref = sub["USUBJID"].map(info.detail["rfstdtc"])
            message = (where + "is " + value + " but " + dtc + " " + _as_text(sub[dtc])
                       + " with DM.RFSTDTC " + _as_text(ref) + " gives " + _as_text(expected))
        else:
            # the rest of the message depends on the value only: write it once per value
            message = where + _per_value(value, lambda u: _value_message(kind, info, u))
    n = len(rows)
    return pd.DataFrame({
        "dataset": [name] * n, "variable": [var] * n, "rule": [rule] * n,
        "severity": [info.severity] * n, "row": rows,
        "value": value.to_numpy(dtype=object), "message": (message + tag).to_numpy(dtype=object),
    })


def _value_message(kind: str, info: CheckInfo, value: pd.Series) -> pd.Series:
    """The value-dependent end of a record-level message, for distinct values."""
    shown = "value '" + _short(value) + "'"
    if kind == "req_not_null":
        return pd.Series("is required but null or blank", index=value.index)
    if kind in ("ct_nonextensible", "ct_extensible"):
        ext = "non-extensible" if kind == "ct_nonextensible" else "extensible"
        return shown + f" is not a submission value of the {ext} codelist {info.detail['codelist']}"
    if kind == "iso8601":
        return shown + " is not a valid ISO 8601 date/time"
    if kind == "length":
        nbytes = value.str.encode("utf-8").str.len().map(str)
        return shown + " is " + nbytes + f" bytes; the limit is {MAX_BYTES}"
    if kind == "domain_value":
        return shown + f" should be {info.detail['expected']}"
    if kind == "usubjid_in_dm":
        return shown + " is not a subject in DM"
    if kind == "num_finite":
        return shown + " is not a finite number (XPT and Dataset-JSON cannot hold it)"
    return shown + f" failed {kind}"  # pragma: no cover - every kind is handled above


def _per_value(values: pd.Series, make: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``make`` applied to the distinct values of a text Series, spread back."""
    codes, uniques = pd.factorize(values)
    made = np.asarray(make(pd.Series(np.asarray(uniques, dtype=object), dtype=object)),
                      dtype=object)
    return pd.Series(made[codes], index=values.index, dtype=object)


def _int_text(numbers: np.ndarray, index=None) -> pd.Series:
    return pd.Series(np.asarray(numbers, dtype=np.int64).astype(str).astype(object), index=index,
                     dtype=object)


def check_folder(datasets: Mapping[str, pd.DataFrame], *, standard: str = "sdtmig-3.4",
                 ct: Terminology | None = None) -> pd.DataFrame:
    """Check every dataset of ``datasets`` (name -> frame); one findings frame.

    Names are dataset names (``"ae"`` or ``"AE"``). The DM frame, when present, is given
    to the others for the cross-dataset checks (and to DM itself for DMDY).
    """
    ct = ct or load_ct()
    by_name = {str(k).upper(): v for k, v in datasets.items()}
    dm = by_name.get("DM")
    # DM's subjects and reference dates, for every dataset's cross-dataset checks
    lookup = _dm_lookup(dm)
    parts = [check_dataset(frame, name, dm=dm, standard=standard, ct=ct, dm_lookup=lookup)
             for name, frame in sorted(by_name.items())]
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_findings()
    return _sort(pd.concat(parts, ignore_index=True))


def summarise(findings: pd.DataFrame) -> pd.DataFrame:
    """Counts of findings by dataset, rule and severity (errors first), with the variables."""
    cols = ["dataset", "rule", "severity", "count", "variables"]
    if findings.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    out = (findings.groupby(["dataset", "rule", "severity"], sort=False)
           .agg(count=("rule", "size"),
                variables=("variable", lambda v: ", ".join(sorted(set(v))))))
    out = out.reset_index()
    out["_sev"] = out["severity"].map(SEVERITY_ORDER)
    out = out.sort_values(["dataset", "_sev", "rule"], kind="mergesort")
    return out[cols].reset_index(drop=True)
