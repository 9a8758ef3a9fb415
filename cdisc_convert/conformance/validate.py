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

Where it lives: listing and reading the folder and the per-file checks in
:mod:`.folder_inputs`; the result and its reports in :mod:`.validation_report`; the
schema and define.xml steps and :func:`validate_folder` here.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.io.read_folder import READABLE

from .catalogue import SEVERITY_ORDER, rule_info
from .checks import run_checks
from .core_rules import CORE_EQUIVALENT_CHECKS
from .folder_inputs import DatasetInfo, file_checks, list_inputs, read_all, storage_view
from .study import FINDING_COLUMNS, Study, concat, empty_findings, make_findings
from .validation_report import (REPORT_COLUMNS, REPORT_FORMATS, ValidationResult,
                                default_report_path, write_report)

__all__ = ["REPORT_COLUMNS", "REPORT_FORMATS", "DatasetInfo", "ValidationResult",
           "default_report_path", "validate_folder", "write_report"]

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
        found["fix"] = found["rule"].map(lambda r: rule_info(r).fix)
        parts.append(found[FINDING_COLUMNS])
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
    chosen, copies, others, parts, beside = list_inputs(root)
    study, infos, read_findings = read_all(chosen, encoding)
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
            views[name] = storage_view(frame)
            parts.extend(file_checks(name, study.paths[name], frame, views[name]))
        except Exception as exc:  # noqa: BLE001 - reported, never a traceback
            views.setdefault(name, frame)
            parts.append(make_findings(
                "IO-RULE-FAILED", name, variable="file checks",
                message=f"the file checks of {name} could not run: {type(exc).__name__}: {exc}"))
    parts.append(_schema_findings(views))
    parts.append(run_checks(study))
    parts.append(run_checks(study, CORE_EQUIVALENT_CHECKS))
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
