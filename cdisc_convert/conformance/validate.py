"""Validate a folder of SDTM and/or ADaM datasets: read, check, report.

>>> result = validate_folder("out/sdtm")                       # doctest: +SKIP
>>> result.exit_code, result.summary_line()                    # doctest: +SKIP
>>> write_report(result, "sdtm-validation.html", "html")       # doctest: +SKIP

:func:`validate_folder` reads every dataset file of the folder (one file per dataset: XPT,
else Dataset-JSON, else CSV), then runs

1. the per-file checks: file name against the dataset name inside the file, one dataset per
   XPT file, the SAS XPORT v5 limits of :func:`cdisc_convert.io.xpt.check_xpt` (names,
   labels, ASCII, 200-byte text, ...), repeated column names or JSON keys, empty datasets;
2. the per-dataset checks generated from ``specs/`` (:mod:`.schemas`: required/expected
   variables, types, controlled terminology, ISO 8601, keys, --SEQ, --DY, USUBJID in DM);
3. the study-level rules of :mod:`.checks` (dates, cross-dataset, oncology, ADaM);
4. define.xml, when given or present in the folder as ``define.xml``: parsed without DTDs,
   entities or network access, then checked by
   :func:`cdisc_convert.conformance.define_checks.validate_define`.

The result is a :class:`ValidationResult`: a findings frame (columns :data:`REPORT_COLUMNS`,
``row`` is the 1-based record number) sorted by dataset, severity, rule, record, variable,
and an exit code: **0** no error, **1** error findings, **2** some input could not be read
(a file that is not a dataset, a symbolic link leading out of the folder, an unsafe or
broken define.xml); the findings of everything that could be read are still reported.
A folder that does not exist (or cannot be listed) raises
:class:`~cdisc_convert.errors.InputError` (exit code 2). Nothing here lets an exception
escape as a traceback: a rule that breaks becomes an ``IO-RULE-FAILED`` finding.

Inputs that are never read (see docs/validation-rules.md, "Inputs"):

* a symbolic link whose target lies outside the folder (``IO-SYMLINK``; links inside the
  folder are followed), and anything that is not a regular file, such as a named pipe that
  would block a reader forever (``IO-NOT-FILE``);
* report files the pipeline writes next to the datasets (``mapping_findings``,
  ``unmapped``, ``findings``, ``reconciliation``).

:func:`write_report` writes the result as ``html`` (a page to read: verdict, summary by rule
and by dataset, findings grouped by dataset and rule), ``json``, ``xlsx`` (sheets Summary and
Findings) or ``csv`` (the findings). Reports hold no time stamp, so the same input gives the
same report.
"""
from __future__ import annotations

import csv
import html
import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.core.reproducible import source_date_epoch
from cdisc_convert.core.sasdates import SAS_EPOCH
from cdisc_convert.io.read_folder import PREFERENCE, READABLE, read_dataset
from cdisc_convert.io.delimited import write_csv
from cdisc_convert.conformance import checks as R
from .core_rules import CORE_EQUIVALENT_CHECKS
from .checks import (ERROR, INPUT_RULES, NOTICE, RULES, SEVERITY_ORDER, WARNING, Study,
                    concat, empty_findings, make_findings)

__all__ = ["REPORT_COLUMNS", "REPORT_FORMATS", "DatasetInfo", "ValidationResult",
           "default_report_path", "validate_folder", "write_report"]

REPORT_FORMATS = ("html", "json", "xlsx", "csv")
REPORT_COLUMNS = R.FINDING_COLUMNS
#: a dataset name (SAS: 1-8 characters); CSV/JSON files named otherwise are reports
_DATASET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,7}")
#: files the pipeline writes beside datasets; never read as datasets
REPORT_STEMS = frozenset({"mapping_findings", "unmapped", "findings", "reconciliation"})
#: the FDA's limit for one XPT file (split larger datasets)
MAX_XPT_BYTES = 5 * 1024 ** 3
#: Dataset-JSON files up to this size are scanned for repeated keys (a second parse)
MAX_JSON_KEY_SCAN = 256 * 1024 ** 2
#: the HTML page lists at most this many findings per dataset and rule (all are in the
#: csv/json/xlsx reports)
HTML_ROWS_PER_GROUP = 200
XLSX_MAX_ROWS = 1_048_575


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    file: str
    format: str
    records: int
    variables: int
    encoding: str = ""


@dataclass
class ValidationResult:
    """Findings of one validation run and the exit code they mean."""

    folder: Path
    findings: pd.DataFrame
    datasets: list[DatasetInfo] = field(default_factory=list)
    define: Path | None = None
    seconds: float = 0.0  # wall time; not written to the reports (they are reproducible)

    @property
    def exit_code(self) -> int:
        """0 no error findings, 1 error findings, 2 some input could not be read."""
        if self.findings["rule"].isin(INPUT_RULES).any():
            return 2
        return 1 if (self.findings["severity"] == ERROR).any() else 0

    @property
    def counts(self) -> dict[str, int]:
        sev = self.findings["severity"]
        return {s: int((sev == s).sum()) for s in (ERROR, WARNING, NOTICE)}

    def summary(self) -> pd.DataFrame:
        """Counts by rule and dataset: rule, severity, dataset, count, title."""
        cols = ["rule", "severity", "dataset", "count", "title"]
        f = self.findings
        if f.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out = f.groupby(["rule", "severity", "dataset"], sort=False).size().rename("count")
        out = out.reset_index()
        out["title"] = out["rule"].map(lambda r: _rule_info(r).title)
        out["_s"] = out["severity"].map(SEVERITY_ORDER)
        out = out.sort_values(["_s", "rule", "dataset"], kind="mergesort")
        return out[cols].reset_index(drop=True)

    def summary_line(self) -> str:
        c = self.counts
        meaning = {0: "no errors", 1: "errors found", 2: "some input could not be read"}
        return (f"{c[ERROR]} error(s), {c[WARNING]} warning(s), {c[NOTICE]} notice(s) in "
                f"{len(self.datasets)} dataset(s) of {self.folder}: exit code {self.exit_code} "
                f"({meaning[self.exit_code]})")


def _rule_info(rule: str) -> R.Rule:
    return RULES.get(rule) or R.Rule(rule, ERROR, rule, "See the message.")


# --------------------------------------------------------------------------------------
# Reading the folder
# --------------------------------------------------------------------------------------
def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _usable(entry: Path, folder: Path) -> pd.DataFrame | None:
    """None when ``entry`` may be read, else the finding that says why not.

    Symbolic links are resolved and must stay inside the folder; the target must be a
    regular file (a FIFO named dm.xpt would block a reader forever).
    """
    name = entry.stem.upper()
    if entry.is_symlink():
        try:
            target = entry.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # dangling link or a loop
            return make_findings("IO-UNREADABLE", name, variable="", value=entry.name,
                                 message=f"{entry.name} is a broken symbolic link ({exc})")
        if not _inside(target, folder):
            return make_findings(
                "IO-SYMLINK", name, value=entry.name,
                message=f"{entry.name} is a symbolic link to {target}, outside the folder "
                        f"{folder}; it was not read")
    try:
        mode = os.stat(entry).st_mode
    except OSError as exc:
        return make_findings("IO-UNREADABLE", name, value=entry.name,
                             message=f"{entry.name} cannot be accessed ({exc.strerror})")
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "a device or special file")
        return make_findings("IO-NOT-FILE", name, value=entry.name,
                             message=f"{entry.name} is {kind}, not a file; it was not read")
    return None


def _list_inputs(folder: Path) -> tuple[dict[str, Path], list[Path], list[Path],
                                        list[pd.DataFrame], Path | None]:
    """(chosen file per dataset, copies not read, CSV/JSON files that are no dataset,
    findings, define.xml in the folder)."""
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError as exc:
        raise InputError(f"the folder cannot be listed ({exc.strerror})", file=folder,
                         rule="IO-UNREADABLE") from None
    chosen: dict[str, Path] = {}
    copies: list[Path] = []
    others: list[Path] = []
    findings: list[pd.DataFrame] = []
    define = None
    for entry in entries:
        suffix = entry.suffix.lower()
        if entry.name.lower() == "define.xml":
            problem = _usable(entry, folder)
            if problem is not None:
                findings.append(problem.assign(dataset="define.xml"))
            else:
                define = entry
            continue
        if suffix not in READABLE or entry.stem.lower() in REPORT_STEMS:
            continue
        if suffix != ".xpt" and not _DATASET_NAME.fullmatch(entry.stem):
            others.append(entry)  # conformance_findings.csv ...: a report, not a dataset
            continue
        problem = _usable(entry, folder)
        if problem is not None:
            findings.append(problem)
            continue
        name = entry.stem.upper()
        if name in chosen:
            if PREFERENCE[suffix] < PREFERENCE[chosen[name].suffix.lower()]:
                copies.append(chosen[name])
                chosen[name] = entry
            else:
                copies.append(entry)
        else:
            chosen[name] = entry
    return chosen, copies, others, findings, define


def _read_one(path: Path, encoding: str | None) -> tuple[pd.DataFrame, str, list[pd.DataFrame]]:
    """Read one dataset file; (frame, encoding used, findings). Raises CdiscError."""
    suffix = path.suffix.lower()
    name = path.stem.upper()
    notes: list[pd.DataFrame] = []
    if suffix in (".json", ".ndjson", ".dsjc"):
        # read_dataset replaces attrs["name"] by the file name; the name written in the
        # file is needed for the file-name check, so Dataset-JSON is read here.
        from cdisc_convert.io.datasetjson import read_dataset_json
        from cdisc_convert.io.read_folder import objects_to_datetime

        frame = objects_to_datetime(read_dataset_json(path))
        inner = frame.attrs.get("name")
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].where(frame[column].notna(), "")
        frame.attrs["inner_name"] = inner
        frame.attrs["path"] = str(path)
        return frame, "utf-8", notes
    if suffix != ".xpt":
        return read_dataset(path), "utf-8", notes
    if encoding:
        return read_dataset(path, encoding=encoding), encoding, notes
    try:
        return read_dataset(path), "ascii", notes
    except InputError as exc:
        if exc.rule != "XPT-ENCODING":
            raise
    for fallback in ("cp1252", "latin-1"):
        try:
            frame = read_dataset(path, encoding=fallback)
        except InputError as exc:
            if exc.rule != "XPT-ENCODING":
                raise
            continue
        notes.append(make_findings(
            "IO-ENCODING", name, value=fallback,
            message=f"{path.name} holds text that is not ASCII; it was read as {fallback} "
                    "(pass the encoding if that is wrong)"))
        return frame, fallback, notes
    raise InputError("text cannot be decoded", file=path, rule="XPT-ENCODING")  # unreachable


def _read_all(chosen: dict[str, Path], encoding: str | None
              ) -> tuple[Study, list[DatasetInfo], list[pd.DataFrame]]:
    datasets: dict[str, pd.DataFrame] = {}
    paths: dict[str, Path] = {}
    infos: list[DatasetInfo] = []
    findings: list[pd.DataFrame] = []
    for name, path in sorted(chosen.items()):
        try:
            frame, used, notes = _read_one(path, encoding)
        except CdiscError as exc:
            findings.append(make_findings(
                "IO-UNREADABLE", name, value=path.name,
                message=f"{path.name} cannot be read: {exc.message}"
                        + (f" [{exc.rule}]" if exc.rule else "")))
            continue
        except MemoryError:
            findings.append(make_findings(
                "IO-UNREADABLE", name, value=path.name,
                message=f"{path.name} cannot be read: not enough memory"))
            continue
        except Exception as exc:  # noqa: BLE001 - a reader bug must not become a traceback
            findings.append(make_findings(
                "IO-UNREADABLE", name, value=path.name,
                message=f"{path.name} cannot be read: {type(exc).__name__}: {exc}"))
            continue
        findings.extend(notes)
        frame = frame.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) \
            else frame
        datasets[name] = frame
        paths[name] = path
        infos.append(DatasetInfo(name, path.name, path.suffix.lower().lstrip("."), len(frame),
                                 sum(not str(c).startswith("__") for c in frame.columns), used))
    return Study(datasets, paths), infos, findings


# --------------------------------------------------------------------------------------
# Per-file checks
# --------------------------------------------------------------------------------------
def _storage_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as it is stored in a file: dates (datetime64, the readers' in-memory form
    of ADaM dates) back to SAS day or second numbers, times to seconds; no trace columns."""
    formats = frame.attrs.get("formats") or {}
    view = frame[[c for c in frame.columns if not str(c).startswith("__")]].copy(deep=False)
    for col in view.columns:
        s = view[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            s = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
            seconds = (s - SAS_EPOCH) / pd.Timedelta(seconds=1)
            fmt = str(formats.get(col, "")).upper()
            is_datetime = fmt.startswith(("DATETIME", "E8601DT")) or (
                not fmt and bool(((s.dropna() - s.dropna().dt.normalize()) != pd.Timedelta(0)).any()))
            view[col] = seconds if is_datetime else seconds / 86400.0
        elif s.dtype == object and len(s):
            first = next((v for v in s.iloc[:50] if not isinstance(v, str) and v is not None),
                         None)
            if first is not None and hasattr(first, "hour") and not hasattr(first, "year"):
                view[col] = s.map(lambda t: t.hour * 3600 + t.minute * 60 + t.second
                                  if hasattr(t, "hour") else np.nan).astype("float64")
    view.attrs = dict(frame.attrs)
    return view


def _file_checks(name: str, path: Path, frame: pd.DataFrame, view: pd.DataFrame
                 ) -> list[pd.DataFrame]:
    from cdisc_convert.io.xpt import check_xpt

    out: list[pd.DataFrame] = []
    attrs = frame.attrs
    suffix = path.suffix.lower()
    if path.name != path.name.lower():
        out.append(make_findings("ST-FILENAME-CASE", name, value=path.name,
                                 message=f"file name {path.name} is not lower case"))
    inner = None
    if suffix == ".xpt":
        members = list(attrs.get("members") or [])
        inner = members[0] if members else None
        if len(members) > 1:
            out.append(make_findings(
                "ST-XPT-MEMBERS", name, value=", ".join(members),
                message=f"{path.name} holds {len(members)} datasets ({', '.join(members)}); "
                        f"only {members[0]} was checked"))
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        if size > MAX_XPT_BYTES:
            out.append(make_findings(
                "ST-XPT-SIZE", name, value=str(size),
                message=f"{path.name} is {size / 1024 ** 3:.1f} GB; the FDA asks for files of "
                        f"at most {MAX_XPT_BYTES / 1024 ** 3:.0f} GB"))
    elif suffix in (".json", ".ndjson", ".dsjc"):
        inner = attrs.get("inner_name")
        out.extend(_json_duplicate_keys(name, path))
    elif suffix == ".csv":
        out.extend(_csv_duplicate_columns(name, path))
    if inner is not None and str(inner).upper() != name:
        out.append(make_findings(
            "ST-FILENAME", name, value=str(inner),
            message=f"{path.name} holds dataset {inner}, but its file name says {name}"))
    if len(frame) == 0:
        out.append(make_findings("ST-EMPTY", name, value="0",
                                 message=f"{name} ({path.name}) has no records"))
    # SAS XPORT v5 limits, whatever the file format (the submission is XPT)
    labels = {c: v for c, v in (attrs.get("labels") or {}).items() if c in view.columns}
    from cdisc_convert.io.folder import real_label

    for column, text in labels.items():
        if str(text or "").strip() and not real_label(text, column):
            out.append(make_findings(
                "ST-LABEL-PLACEHOLDER", name, variable=column, value=str(text),
                message=f"{name}.{column} is labelled {str(text)!r}: the variable's own name "
                        "or a metadata placeholder, not a label"))
    lengths = {c: int(v) for c, v in (attrs.get("lengths") or {}).items()
               if c in view.columns and view[c].dtype == object}
    formats = {c: v for c, v in (attrs.get("formats") or {}).items() if c in view.columns}
    try:
        offences = check_xpt(view, name=name, label=attrs.get("label") or None,
                             labels=labels or None, lengths=lengths or None,
                             formats=formats or None)
    except Exception as exc:  # noqa: BLE001
        offences = []
        out.append(make_findings("IO-RULE-FAILED", name, variable="check_xpt",
                                 message=f"the XPORT v5 checks could not run: {exc}"))
    for off in offences:
        where = f" (variable {off.variable})" if off.variable else ""
        out.append(make_findings(off.rule if off.rule in RULES else "XPT-TYPE", name,
                                 variable=off.variable or "", value="",
                                 message=f"{name}{where}: {off.message}"))
    return out


def _json_duplicate_keys(name: str, path: Path) -> list[pd.DataFrame]:
    """ST-JSON-DUPKEY: a JSON object with a repeated key (json keeps the last silently)."""
    repeated: list[str] = []

    def hook(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            seen, dup = set(), []
            for k in keys:
                if k in seen and k not in dup:
                    dup.append(k)
                seen.add(k)
            repeated.extend(dup)
        return dict(pairs)

    try:
        if path.suffix.lower() == ".json":
            if path.stat().st_size > MAX_JSON_KEY_SCAN:
                return []
            json.loads(path.read_bytes(), object_pairs_hook=hook)
        elif path.suffix.lower() == ".ndjson":
            with path.open("rb") as fh:
                json.loads(fh.readline(), object_pairs_hook=hook)
        else:
            return []
    except (OSError, ValueError, RecursionError):
        return []
    if not repeated:
        return []
    keys = sorted(set(repeated))
    return [make_findings(
        "ST-JSON-DUPKEY", name, value=", ".join(keys),
        message=f"{path.name} repeats the key(s) {', '.join(repeated[:10])} in one object; "
                "only the last value of each was read")]


def _csv_duplicate_columns(name: str, path: Path) -> list[pd.DataFrame]:
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, csv.Error):
        return []
    seen, dup = set(), []
    for col in header:
        if col in seen and col not in dup:
            dup.append(col)
        seen.add(col)
    return [make_findings("ST-DUP-COLUMN", name, variable=c, value=c,
                          message=f"{path.name} has more than one column named {c}")
            for c in dup]


# --------------------------------------------------------------------------------------
# Per-dataset checks from specs/ (schemas.py)
# --------------------------------------------------------------------------------------
def _schema_findings(views: dict[str, pd.DataFrame]) -> pd.DataFrame:
    from .schemas import check_folder

    parts = []
    sdtm = {n: f for n, f in views.items() if not n.startswith("AD")}
    adam = {n: f for n, f in views.items() if n.startswith("AD")}
    for group, standard in ((sdtm, "sdtmig-3.4"), (adam, "adamig-1.3")):
        if not group:
            continue
        try:
            found = check_folder(group, standard=standard)
        except Exception as exc:  # noqa: BLE001
            parts.append(make_findings("IO-RULE-FAILED", "", variable="check_folder",
                                       message=f"the {standard} checks could not run: {exc}"))
            continue
        if found.empty:
            continue
        found = found.copy()
        found["row"] = (found["row"] + 1).astype("Int64")
        found["message"] = _one_based(found["message"])
        found["fix"] = found["rule"].map(lambda r: _rule_info(r).fix)
        parts.append(found[R.FINDING_COLUMNS])
    return concat(parts)


_ZERO_BASED = re.compile(r"^(\w+) row (\d+)(?=:)|(repeats row |first at row )(\d+)")


def _one_based(messages: pd.Series) -> pd.Series:
    """schemas.py numbers records from 0 ("DM row 0: ..."); reports number them from 1 and
    call them records ("DM record 1: ..."), as the row column does. Raw source rows,
    "(raw ae_raw row 5)", are 1-based already and left alone."""
    def one(m: re.Match) -> str:
        if m.group(1) is not None:
            return f"{m.group(1)} record {int(m.group(2)) + 1}"
        return f"{m.group(3).replace('row', 'record')}{int(m.group(4)) + 1}"

    codes, uniques = pd.factorize(messages.astype(str))
    fixed = np.array([_ZERO_BASED.sub(one, u) for u in uniques], dtype=object)
    return pd.Series(fixed[codes], index=messages.index, dtype=object)


# --------------------------------------------------------------------------------------
# define.xml
# --------------------------------------------------------------------------------------
_ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
_ODM12_NS = "http://www.cdisc.org/ns/odm/v1.2"   # Define-XML 1.0


_PROLOG_BYTES = 1 << 20


def _declarations(path: Path) -> str:
    """What the prolog of an XML file declares before its first element: "" (nothing), or
    "DOCTYPE" / "DOCTYPE with ENTITY declarations". Read as bytes, never parsed, so that a
    billion-laughs or XXE document is refused before any XML parser sees it."""
    with path.open("rb") as fh:
        head = fh.read(_PROLOG_BYTES)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    head = head.replace(b"\x00", b"")
    # skip the XML declaration, processing instructions and comments
    pos = 0
    while True:
        start = head.find(b"<", pos)
        if start < 0:
            return ""
        if head.startswith(b"<?", start):
            end = head.find(b"?>", start)
        elif head.startswith(b"<!--", start):
            end = head.find(b"-->", start)
        elif head[start + 1:start + 9].upper() == b"!DOCTYPE":
            return "DOCTYPE with ENTITY declarations" if b"<!ENTITY" in head[start:] \
                else "DOCTYPE"
        else:
            return ""  # the root element: no DTD
        if end < 0:
            return ""
        pos = end + 2


#: message prefix of validate_define -> rule id
DEFINE_RULES = {"XSD": "DEF-XSD", "REF": "DEF-REF", "DATA": "DEF-DATA", "XML": "DEF-UNREADABLE"}


def _described_datasets(tree, path: Path, study: Study, odm_ns: str) -> list[pd.DataFrame]:
    """DEF-DATASET for each dataset of the folder that the define has no ItemGroupDef for."""
    described = {el.get("Name", "").upper() for el in tree.iter(f"{{{odm_ns}}}ItemGroupDef")}
    return [make_findings("DEF-DATASET", name, value=name,
                          message=f"{name} is in the folder but {path.name} does not describe it "
                                  "(no ItemGroupDef)")
            for name in sorted(study.datasets) if name not in described]


def _check_define(path: Path, study: Study, data_dir: Path | None,
                  encoding: str | None = None) -> list[pd.DataFrame]:
    """Parse define.xml safely; refuse DTDs/entities; then validate_define if available,
    comparing it with the data files of ``data_dir`` (None: the folder has entries that
    must not be opened, so the define is checked on its own; ``encoding``: of their text)."""
    from lxml import etree

    label = "define.xml"
    try:
        if not path.is_file():
            return [make_findings("DEF-UNREADABLE", label, value=str(path),
                                  message=f"{path} is not a file")]
        declared = _declarations(path)
        if declared:
            return [make_findings(
                "DEF-UNSAFE", label, value=path.name,
                message=f"{path.name} has a document type declaration ({declared}); it was "
                        "not parsed (entity expansion and external entities are refused)")]
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                 load_dtd=False, dtd_validation=False)
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as exc:
        return [make_findings("DEF-UNREADABLE", label, value=path.name,
                              message=f"{path.name} is not well-formed XML: {exc}")]
    except (OSError, ValueError) as exc:
        return [make_findings("DEF-UNREADABLE", label, value=path.name,
                              message=f"{path.name} cannot be read: {exc}")]
    info = tree.docinfo
    dtd = info.internalDTD
    if info.doctype or dtd is not None:
        entities = []
        if dtd is not None:
            entities = [f"{e.name} ({'external' if e.system_url else 'internal'})"
                        for e in dtd.iterentities()]
        what = f"declares entities {', '.join(entities[:5])}" if entities else "has a DTD"
        return [make_findings(
            "DEF-UNSAFE", label, value=path.name,
            message=f"{path.name} {what}; it was not expanded or read further (entity "
                    "expansion and external entities are refused)")]
    out: list[pd.DataFrame] = []
    root_ns = etree.QName(tree.getroot()).namespace
    if root_ns == _ODM12_NS:
        # Define-XML 1.0 (ODM 1.2), what submissions made for SDTMIG 3.1.x carry
        out.append(make_findings(
            "DEF-NOT-CHECKED", label, value=path.name,
            message=f"{path.name} is Define-XML 1.0 (ODM 1.2); only Define-XML 2.1 is checked "
                    "against its schema and the data: write one with `cdisc-convert define` "
                    "and pass it with --define"))
        return out + _described_datasets(tree, path, study, _ODM12_NS)
    try:
        from .define_checks import validate_define
    except Exception:  # noqa: BLE001 - absent or broken: say so, go on
        validate_define = None
    if validate_define is None:
        out.append(make_findings(
            "DEF-NOT-CHECKED", label, value=path.name,
            message=f"{path.name} was parsed but not checked against Define-XML 2.1: "
                    "cdisc_convert.conformance.define_checks.validate_define is not available"))
        return out + _described_datasets(tree, path, study, _ODM_NS)
    try:
        if data_dir is None:
            problems = list(validate_define(path, check_data=False))
            out.append(make_findings(
                "DEF-NOT-CHECKED", label, value=path.name,
                message=f"{path.name} was not compared with the data files: the folder holds "
                        "entries that are not or cannot be read (see the IO- findings)"))
        elif encoding is not None:
            from .define_checks import read_xpt_files

            problems = list(validate_define(path, data_dir, subset=True,
                                            xpt_frames=read_xpt_files(data_dir, encoding)))
        else:
            problems = list(validate_define(path, data_dir, subset=True))
    except CdiscError as exc:
        problems = []
        out.append(make_findings("DEF-UNREADABLE", label, value=path.name,
                                 message=f"{path.name}: {exc.format()}"))
    except Exception as exc:  # noqa: BLE001
        problems = []
        out.append(make_findings("IO-RULE-FAILED", label, variable="validate_define",
                                 message=f"validate_define failed: {type(exc).__name__}: {exc}"))
    for text in sorted(set(map(str, problems))):
        kind, _, rest = text.partition(":")
        rule = DEFINE_RULES.get(kind.strip(), "DEF-XML") if rest else "DEF-XML"
        out.append(make_findings(rule, label, value=path.name, message=f"{path.name}: {text}"))
    return out


# --------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------
def validate_folder(folder: Path | str, *, define: Path | str | None = None,
                    encoding: str | None = None) -> ValidationResult:
    """Validate every dataset in ``folder`` (and define.xml); see the module docs.

    ``define``: a define.xml to check (default: ``folder/define.xml`` when present).
    ``encoding``: text encoding of the XPT files; by default ASCII, with a fallback to
    Windows-1252 (then Latin-1) reported as ``IO-ENCODING``.
    Raises :class:`InputError` when ``folder`` is not a readable folder.
    """
    started = time.perf_counter()
    given = Path(folder)
    if not given.exists():
        raise InputError("folder not found", file=given, rule="IO-UNREADABLE")
    if not given.is_dir():
        raise InputError("not a folder (give the folder holding the datasets)", file=given,
                         rule="IO-UNREADABLE")
    root = given.resolve()
    chosen, copies, others, parts, beside = _list_inputs(root)
    study, infos, read_findings = _read_all(chosen, encoding)
    parts.extend(read_findings)
    if not chosen:
        parts.append(make_findings(
            "IO-NO-DATASETS", "", value=str(given),
            message=f"{given} holds no dataset file ({', '.join(READABLE)})"))
    if copies or others:
        said = []
        if copies:
            said.append(f"{len(copies)} other cop{'y' if len(copies) == 1 else 'ies'} of "
                        "datasets checked from their XPT (else JSON) file: "
                        + ", ".join(p.name for p in sorted(copies)))
        if others:
            said.append(f"{len(others)} file(s) whose name is not a dataset name (reports): "
                        + ", ".join(p.name for p in sorted(others)))
        parts.append(make_findings(
            "IO-SKIPPED", "", value=str(len(copies) + len(others)),
            message="Not checked: " + "; ".join(said)))
    views = {}
    for name, frame in study.datasets.items():
        try:
            views[name] = _storage_view(frame)
            parts.extend(_file_checks(name, study.paths[name], frame, views[name]))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            views.setdefault(name, frame)
            parts.append(make_findings(
                "IO-RULE-FAILED", name, variable="file checks",
                message=f"the file checks of {name} could not run: {type(exc).__name__}: {exc}"))
    parts.append(_schema_findings(views))
    parts.append(R.run_checks(study))
    parts.append(R.run_checks(study, CORE_EQUIVALENT_CHECKS))
    define_path = Path(define) if define is not None else beside
    if define_path is not None:
        unsafe = any(len(p) and p["rule"].isin(["IO-SYMLINK", "IO-NOT-FILE",
                                                 "IO-UNREADABLE"]).any()
                     for p in parts if p is not None)
        parts.extend(_check_define(define_path, study, None if unsafe else root, encoding))
    findings = _sort(concat(parts))
    return ValidationResult(folder=given, findings=findings, datasets=infos,
                            define=define_path, seconds=time.perf_counter() - started)


def _sort(findings: pd.DataFrame) -> pd.DataFrame:
    """Folder-level first, then by dataset, severity, rule, record, variable, value."""
    if findings.empty:
        return empty_findings()
    f = findings.reset_index(drop=True)
    keys = [
        pd.factorize(f["message"].astype(str), sort=True)[0],
        pd.factorize(f["value"].astype(str), sort=True)[0],
        pd.factorize(f["variable"].astype(str), sort=True)[0],
        f["row"].to_numpy(dtype="float64", na_value=-1.0),
        pd.factorize(f["rule"].astype(str), sort=True)[0],
        f["severity"].map(SEVERITY_ORDER).fillna(9).to_numpy(),
        pd.factorize(f["dataset"].astype(str), sort=True)[0],
    ]
    order = np.lexsort(keys)  # the last key sorts first
    out = f.iloc[order].reset_index(drop=True)
    out["row"] = out["row"].astype("Int64")
    out["source_row"] = out["source_row"].astype("Int64")
    return out[REPORT_COLUMNS]


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------
def default_report_path(folder: Path | str, fmt: str) -> Path:
    """``<folder>-validation.<fmt>`` beside the folder (never inside it, where a csv or json
    report would be taken for a dataset by the next run)."""
    folder = Path(folder).resolve()
    return folder.parent / f"{folder.name}-validation.{fmt}"


def write_report(result: ValidationResult, out: Path | str, fmt: str = "html") -> Path:
    """Write the report (html, json, xlsx or csv) to ``out``, atomically; returns the path."""
    fmt = str(fmt).lower()
    if fmt not in REPORT_FORMATS:
        raise CdiscError(f"unknown report format {fmt!r} (known: {', '.join(REPORT_FORMATS)})",
                         rule="REPORT-FORMAT")
    out = Path(out)
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        os.close(fd)
        {"html": _write_html, "json": _write_json, "xlsx": _write_xlsx,
         "csv": _write_csv}[fmt](result, Path(tmp))
        os.replace(tmp, out)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise CdiscError(f"the report cannot be written ({exc.strerror or exc})", file=out,
                         rule="REPORT-WRITE") from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _plain(findings: pd.DataFrame) -> list[dict]:
    """Findings as JSON-ready dicts (missing -> None, numbers as int)."""
    f = findings.astype(object).where(findings.notna(), None)
    records = f.to_dict("records")
    for r in records:
        for k in ("row", "source_row"):
            if r[k] is not None:
                r[k] = int(r[k])
    return records


def _meta(result: ValidationResult) -> dict:
    from cdisc_convert.core.version import __version__

    return {
        "tool": "cdisc-convert validate", "version": __version__,
        "folder": str(result.folder), "define": str(result.define) if result.define else None,
        "exit_code": result.exit_code, "counts": result.counts,
        "summary_line": result.summary_line(),
    }


def _write_json(result: ValidationResult, path: Path) -> None:
    doc = _meta(result)
    doc["datasets"] = [vars(d) for d in result.datasets]
    doc["summary"] = result.summary().to_dict("records")
    for s in doc["summary"]:
        s["count"] = int(s["count"])
    doc["rules"] = {r: {"severity": _rule_info(r).severity, "title": _rule_info(r).title,
                        "fix": _rule_info(r).fix}
                    for r in sorted(set(result.findings["rule"]))}
    doc["findings"] = _plain(result.findings)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def _write_csv(result: ValidationResult, path: Path) -> None:
    write_csv(result.findings, path)


def _write_xlsx(result: ValidationResult, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    fixed = source_date_epoch()
    if fixed is not None:
        wb.properties.created = wb.properties.modified = fixed.replace(tzinfo=None)
    bold = Font(bold=True)

    def cell(ws, value, header=False):
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("?", value)[:32767]
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            c.data_type = "s"  # text, never a formula
        if header:
            c.font = bold
        return c

    ws = wb.create_sheet("Summary")
    meta = _meta(result)
    for key in ("summary_line", "folder", "define", "exit_code", "version"):
        ws.append([cell(ws, key, True), cell(ws, meta[key])])
    for sev, n in meta["counts"].items():
        ws.append([cell(ws, sev + "s", True), cell(ws, n)])
    ws.append([])
    summary = result.summary()
    ws.append([cell(ws, c, True) for c in summary.columns])
    for row in summary.itertuples(index=False):
        ws.append([cell(ws, int(v) if isinstance(v, (np.integer,)) else v) for v in row])
    ws.append([])
    ws.append([cell(ws, c, True) for c in ("dataset", "file", "format", "records", "variables",
                                           "encoding")])
    for d in result.datasets:
        ws.append([cell(ws, v) for v in (d.name, d.file, d.format, d.records, d.variables,
                                         d.encoding)])
    ws2 = wb.create_sheet("Findings")
    ws2.append([cell(ws2, c, True) for c in REPORT_COLUMNS])
    records = _plain(result.findings.head(XLSX_MAX_ROWS))
    for r in records:
        ws2.append([cell(ws2, r[c]) for c in REPORT_COLUMNS])
    if len(result.findings) > XLSX_MAX_ROWS:
        ws.append([cell(ws, "note", True), cell(
            ws, f"Findings sheet truncated at {XLSX_MAX_ROWS} rows (Excel's limit); the csv "
                f"and json reports hold all {len(result.findings)}")])
    wb.save(path)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em} h3{font-size:1em}
table{border-collapse:collapse;margin:.4em 0 1em} td,th{border:1px solid #ccc;padding:2px 6px;
vertical-align:top;text-align:left;font-size:.9em} th{background:#f0f0f0}
.error{color:#a40000;font-weight:bold} .warning{color:#8a5a00;font-weight:bold}
.notice{color:#2a5d9f} .verdict{font-size:1.1em;padding:.5em;border:1px solid #ccc}
.v0{background:#e8f5e9} .v1{background:#fdecea} .v2{background:#fff4e5}
details{margin:.3em 0 .6em} summary{cursor:pointer} .fix{color:#444;font-style:italic}
td.n{text-align:right}
"""


def _esc(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _write_html(result: ValidationResult, path: Path) -> None:
    meta = _meta(result)
    f = result.findings
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Validation report: {_esc(result.folder)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Validation report: {_esc(result.folder)}</h1>",
           f'<p class="verdict v{result.exit_code}">{_esc(meta["summary_line"])}</p>',
           "<p>Exit code 0: no errors; 1: errors to fix or explain; 2: some input could not "
           "be read (see the IO-/DEF- findings). Severities: <span class=error>error</span> "
           "(must be fixed or explained), <span class=warning>warning</span> (check it), "
           "<span class=notice>notice</span> (for information). Rules are described in "
           "docs/validation-rules.md.</p>"]
    if result.define:
        out.append(f"<p>define.xml: {_esc(result.define)}</p>")
    # datasets
    per_ds = f.groupby(["dataset", "severity"]).size() if len(f) else pd.Series(dtype=int)
    out.append("<h2>Datasets</h2><table><tr><th>dataset</th><th>file</th><th>records</th>"
               "<th>variables</th><th>errors</th><th>warnings</th><th>notices</th></tr>")
    for d in result.datasets:
        counts = [int(per_ds.get((d.name, s), 0)) for s in (ERROR, WARNING, NOTICE)]
        out.append(f"<tr><td>{_esc(d.name)}</td><td>{_esc(d.file)}</td>"
                   f"<td class=n>{d.records}</td><td class=n>{d.variables}</td>"
                   + "".join(f"<td class=n>{n}</td>" for n in counts) + "</tr>")
    out.append("</table>")
    # summary by rule
    out.append("<h2>Summary by rule</h2>")
    summary = result.summary()
    if summary.empty:
        out.append("<p>No findings.</p>")
    else:
        by_rule = summary.groupby(["rule", "severity"], sort=False).agg(
            count=("count", "sum"),
            datasets=("dataset", lambda s: ", ".join(sorted(set(x or "(folder)" for x in s)))))
        out.append("<table><tr><th>rule</th><th>severity</th><th>findings</th><th>datasets</th>"
                   "<th>what it checks</th><th>how to fix</th></tr>")
        for (rule, sev), row in by_rule.iterrows():
            info = _rule_info(rule)
            out.append(f'<tr><td><a href="#{_esc(rule)}">{_esc(rule)}</a></td>'
                       f"<td class={_esc(sev)}>{_esc(sev)}</td><td class=n>{int(row['count'])}"
                       f"</td><td>{_esc(row['datasets'])}</td><td>{_esc(info.title)}</td>"
                       f"<td class=fix>{_esc(info.fix)}</td></tr>")
        out.append("</table>")
    # findings grouped by dataset, then rule
    if len(f):
        out.append("<h2>Findings</h2>")
        anchors = set()
        for dataset, by_dataset in f.groupby("dataset", sort=False):
            out.append(f"<h3>{_esc(dataset or '(folder)')}</h3>")
            for (rule, sev), group in by_dataset.groupby(["rule", "severity"], sort=False):
                anchor = "" if rule in anchors else f' id="{_esc(rule)}"'
                anchors.add(rule)
                info = _rule_info(rule)
                opened = " open" if sev == ERROR else ""
                out.append(f"<details{opened}{anchor}><summary><span class={_esc(sev)}>"
                           f"{_esc(sev)}</span> {_esc(rule)}: {_esc(info.title)} "
                           f"({len(group)})</summary><p class=fix>Fix: {_esc(info.fix)}</p>"
                           "<table><tr><th>record</th><th>variable</th><th>value</th>"
                           "<th>message</th><th>raw source</th></tr>")
                shown = group.head(HTML_ROWS_PER_GROUP)
                for r in shown.itertuples(index=False):
                    src = "" if pd.isna(r.source_table) and pd.isna(r.source_row) else \
                        f"{_esc(r.source_table)} row {_esc(r.source_row)}"
                    out.append(f"<tr><td class=n>{_esc(r.row)}</td><td>{_esc(r.variable)}</td>"
                               f"<td>{_esc(r.value)}</td><td>{_esc(r.message)}</td>"
                               f"<td>{src}</td></tr>")
                out.append("</table>")
                if len(group) > len(shown):
                    out.append(f"<p>{len(group) - len(shown)} more finding(s) of {_esc(rule)} "
                               f"in {_esc(dataset or 'the folder')}: see the csv, json or xlsx "
                               "report.</p>")
                out.append("</details>")
    out.append(f"<p><small>{_esc(meta['tool'])} {_esc(meta['version'])}</small></p>")
    out.append("</body></html>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
