"""Drafts of the reviewer's guides, in the section structure of the PHUSE templates.

* **cSDRG**: PHUSE *Clinical Study Data Reviewer's Guide* template (version 2020-04-11):
  1 Introduction (1.1 Purpose, 1.2 Acronyms, 1.3 Study Data Standards and Dictionary
  Inventory), 2 Protocol Description (2.1 Protocol Number and Title, 2.2 Protocol Design,
  2.3 Trial Design Datasets), 3 Subject Data Description (3.1 Overview, 3.2 Annotated CRFs,
  3.3 SDTM Subject Domains), 4 Data Conformance Summary (4.1 Conformance Inputs, 4.2 Issues
  Summary, 4.3 Additional Conformance Details), Appendix I Inclusion/Exclusion Criteria,
  Appendix II Conformance Issues Details.
* **ADRG**: PHUSE *Analysis Data Reviewer's Guide* template (version 2019-07-18):
  1 Introduction (1.1 Purpose, 1.2 Study Data Standards and Dictionary Inventory, 1.3 Source
  Data Used for Analysis Dataset Creation), 2 Protocol Description (2.1 Protocol Number and
  Title, 2.2 Protocol Design in Relation to ADaM Concepts), 3 Analysis Considerations
  Related to Multiple Analysis Datasets (3.1 Core Variables, 3.2 Treatment Variables, 3.3
  Use of Visit Windowing, Unscheduled Visits, and Record Selection, 3.4
  Imputation/Derivation Methods), 4 Analysis Data Creation and Processing Issues (4.1 Split
  Datasets, 4.2 Data Dependencies, 4.3 Intermediate Datasets), 5 Analysis Dataset
  Descriptions (5.1 Overview, 5.2 Analysis Datasets), 6 Data Conformance Summary (6.1
  Conformance Inputs, 6.2 Issues Summary), 7 Submission of Programs (7.1 Description, 7.2
  ADaM Programs, 7.3 Analysis Output Programs, 7.4 Macro Programs).

The FDA Study Data Technical Conformance Guide recommends both guides (2.2 and 2.3) and asks
that the software used be named in the ADRG (4.1.2.10). What the project knows fills them:
the trial summary (TS), the datasets and their define.xml (labels, classes, structures,
standards, methods), the conformance findings of the packaged datasets (each with an
explanation for the sponsor to write), the programs. Everything only the sponsor can say is
marked :data:`~.document.TO_DO`. The text is ours, not the templates'.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from lxml import etree

from cdisc_convert.core.version import __version__
from cdisc_convert.io.xpt import read_xpt

from .document import TO_DO, Document

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
#: TS parameters shown as the protocol design, in this order
DESIGN_PARAMETERS = ("TPHASE", "STYPE", "INTMODEL", "INTTYPE", "TTYPE", "TBLIND", "RANDOM",
                     "TCNTRL", "NARMS", "TRT", "INDIC", "TDIGRP", "OBJPRIM", "PLANSUB",
                     "ACTSUB", "SSTDTC", "SENDTC", "LENGTH", "AGEMIN", "AGEMAX", "SEXPOP")
TRIAL_DESIGN = {"TA": "Trial Arms", "TE": "Trial Elements", "TV": "Trial Visits",
                "TI": "Trial Inclusion/Exclusion Criteria", "TS": "Trial Summary"}
MAX_DETAIL_ROWS = 1000


@dataclass
class DatasetEntry:
    name: str
    label: str
    records: int
    klass: str = ""
    structure: str = ""


@dataclass
class Part:
    """One standard's folder of the package: datasets, define.xml facts, findings."""

    folder: Path
    datasets: dict[str, pd.DataFrame]
    entries: list[DatasetEntry]
    standards: list[tuple[str, str, str]]          # (name, publishing set / type, version)
    methods: list[tuple[str, str]] = field(default_factory=list)   # (name, description)
    findings: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None


def _text(node) -> str:
    found = node.find("{*}Description/{*}TranslatedText") if node is not None else None
    return " ".join((found.text or "").split()) if found is not None else ""


def read_part(folder: Path, validation=None) -> Part:
    """The datasets of ``folder`` (read from XPT), what its define.xml says of them, and the
    ``validation`` result (a :class:`~cdisc_convert.conformance.validate.ValidationResult`)."""
    datasets = {p.stem.upper(): read_xpt(p) for p in sorted(folder.glob("*.xpt"))}
    tree = etree.parse(str(folder / "define.xml"), _PARSER)
    groups = {g.get("Name"): g for g in tree.iter("{*}ItemGroupDef")}
    entries = []
    for name, frame in datasets.items():
        group = groups.get(name)
        klass = group.find("{*}Class") if group is not None else None
        entries.append(DatasetEntry(
            name, _text(group) or str(frame.attrs.get("label", "")), len(frame),
            klass.get("Name", "") if klass is not None else "",
            group.get("{http://www.cdisc.org/ns/def/v2.1}Structure", "") if group is not None
            else ""))
    standards = [(s.get("Name", ""), s.get("PublishingSet") or s.get("Type", ""),
                  s.get("Version", "")) for s in tree.iter("{*}Standard")]
    methods = [(m.get("Name", ""), _text(m)) for m in tree.iter("{*}MethodDef")]
    part = Part(folder, datasets, entries, standards, methods)
    if validation is not None:
        part.findings = validation.findings
        part.summary = validation.summary()
    return part


def _ts(datasets: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    ts = datasets.get("TS")
    if ts is None or not {"TSPARMCD", "TSVAL"} <= set(ts.columns):
        return {}
    out: dict[str, list[str]] = {}
    for code, value in zip(ts["TSPARMCD"].astype(str), ts["TSVAL"].astype(str)):
        out.setdefault(code.strip(), []).append(value.strip())
    return out


def _one(ts: dict[str, list[str]], code: str, default: str = TO_DO) -> str:
    return "; ".join(v for v in ts.get(code, []) if v) or default


def _standards_rows(parts: list[Part], datasets: dict[str, pd.DataFrame]) -> list[list[str]]:
    rows, seen = [], set()
    for part in parts:
        for name, kind, version in part.standards:
            label = f"{name} Controlled Terminology ({kind})" if name == "CDISC/NCI" else name
            if (label, version) not in seen:
                seen.add((label, version))
                rows.append([label, version])
    rows.append(["Data Definitions (define.xml)", "Define-XML 2.1"])
    if "AE" in datasets and "AEDECOD" in datasets["AE"].columns:
        rows.append(["Medical Events Dictionary (MedDRA)", TO_DO])
    if "CM" in datasets:
        rows.append(["Medications Dictionary (WHODrug)", TO_DO])
    return rows


def _issues(doc: Document, part: Part | None, what: str) -> None:
    """The issues summary: every error and warning by rule and dataset, each with an
    explanation for the sponsor to write."""
    if part is None or part.summary is None:
        doc.para(f"No {what} conformance results. {TO_DO}")
        return
    issues = part.summary[part.summary["severity"].isin(["error", "warning"])]
    if issues.empty:
        doc.para(f"The {what} datasets gave no error or warning findings.")
        return
    doc.para("Each finding below needs an explanation of why it remains in the data "
             "(collected that way, a known limitation, ...).")
    doc.table(["Rule", "Severity", "Dataset", "Count", "Finding", "Explanation"],
              [[r.rule, r.severity, r.dataset, r.count, r.title, TO_DO]
               for r in issues.itertuples()])


def _conformance_inputs(doc: Document, part: Part | None, what: str) -> None:
    doc.para(f"The {what} datasets and their define.xml were checked with cdisc-convert "
             f"{__version__} (`cdisc-convert validate`): SAS XPORT v5 limits, the "
             "implementation guide's metadata and controlled terminology, study-level rules and "
             "define.xml against the Define-XML 2.1 schema and the data. The rules and the "
             "Pinnacle 21 / CDISC CORE rules they correspond to are listed in the tool's "
             "docs/validation-rules.md. Other validators used by the sponsor: " + TO_DO)


def _conformance_summary(doc: Document, part: Part | None, what: str, *, section: int,
                         notices: bool) -> None:
    """The "Data Conformance Summary" both guides carry (cSDRG section 4, ADRG section 6):
    the conformance inputs, the issues summary and, in the cSDRG only, the additional
    conformance details (the validation notices)."""
    doc.heading(1, f"{section}. Data Conformance Summary")
    doc.heading(2, f"{section}.1 Conformance Inputs")
    _conformance_inputs(doc, part, what)
    doc.heading(2, f"{section}.2 Issues Summary")
    _issues(doc, part, what)
    if notices:  # the ADRG template has no "Additional Conformance Details"
        doc.heading(2, f"{section}.3 Additional Conformance Details")
        _notices(doc, part)


def _dataset_table(doc: Document, part: Part, adam: bool) -> None:
    if adam:
        doc.table(["Dataset", "Label", "Class", "Structure", "Records"],
                  [[e.name, e.label, e.klass, e.structure, e.records] for e in part.entries])
    else:
        doc.table(["Dataset", "Label", "Class", "Records"],
                  [[e.name, e.label, e.klass, e.records] for e in part.entries])


def _split_text(folder: Path) -> str:
    """ADRG 4.1: whether a dataset had to be split, by the size of the largest XPT file
    against the FDA's 5 GB limit (Study Data Technical Conformance Guide, section 3.3.2)."""
    from .package import MAX_DATASET_BYTES

    files = sorted(folder.glob("*.xpt"), key=lambda p: (-p.stat().st_size, p.name))
    limit = "the 5 GB limit of the FDA Study Data Technical Conformance Guide (section 3.3.2)"
    if not files:
        return f"No dataset is split. {TO_DO}"
    big = [p.name for p in files if p.stat().st_size > MAX_DATASET_BYTES]
    if big:
        return (f"{', '.join(big)} exceed {limit} and must be split before submission (by "
                f"PARCAT or PARAMCD, as the CDISC pilot's ADLBC/ADLBH); describe the split "
                f"here. {TO_DO}")
    size = files[0].stat().st_size
    shown = f"{size / 1024 ** 2:.1f} MB" if size >= 1024 ** 2 else f"{size / 1024:.0f} KB"
    return (f"No dataset is split: the largest file, {files[0].name}, has {shown}, under "
            f"{limit}.")


def _title_block(ts: dict[str, list[str]], studyid: str) -> list[list[str]]:
    return [["Protocol Number", studyid], ["Protocol Title", _one(ts, "TITLE")],
            ["Protocol Versions", TO_DO]]


def sdrg(sdtm: Part, *, studyid: str, has_acrf: bool) -> Document:
    """The clinical study data reviewer's guide (cSDRG) for the packaged SDTM datasets."""
    ts = _ts(sdtm.datasets)
    doc = Document("Clinical Study Data Reviewer's Guide",
                   f"Study {studyid}. Draft generated by cdisc-convert {__version__} following "
                   "the PHUSE cSDRG template; sections marked " + TO_DO + " need the sponsor.")
    doc.heading(1, "1. Introduction")
    doc.heading(2, "1.1 Purpose")
    doc.para("This guide gives the context of the SDTM tabulation datasets of study "
             f"{studyid} beyond what the data definition file (define.xml) says, and "
             "summarises their conformance findings.")
    doc.heading(2, "1.2 Acronyms")
    doc.table(["Acronym", "Meaning"], [["SDTM", "Study Data Tabulation Model"],
                                       ["CT", "Controlled Terminology"],
                                       ["cSDRG", "Clinical Study Data Reviewer's Guide"]])
    doc.heading(2, "1.3 Study Data Standards and Dictionary Inventory")
    doc.table(["Standard or Dictionary", "Version"], _standards_rows([sdtm], sdtm.datasets))
    doc.heading(1, "2. Protocol Description")
    doc.heading(2, "2.1 Protocol Number and Title")
    doc.table(["Item", "Value"], _title_block(ts, studyid))
    doc.heading(2, "2.2 Protocol Design")
    _design(doc, ts)
    doc.heading(2, "2.3 Trial Design Datasets")
    for i, (code, name) in enumerate(TRIAL_DESIGN.items(), 1):
        doc.heading(3, f"2.3.{i} {code} – {name}")
        if code not in sdtm.datasets:
            doc.para(f"{code} is not included in this submission. Reason: {TO_DO}")
        elif code == "TS":
            doc.para(f"TS holds {len(sdtm.datasets['TS'])} records; the study start date "
                     f"(SSTDTC) is {_one(ts, 'SSTDTC')}.")
        else:
            doc.para(f"{code} holds {len(sdtm.datasets[code])} records. {TO_DO}")
    doc.heading(1, "3. Subject Data Description")
    doc.heading(2, "3.1 Overview")
    subjects = sdtm.datasets.get("DM")
    doc.para(f"The submission holds {len(sdtm.entries)} SDTM datasets"
             + (f" for {len(subjects)} subjects" if subjects is not None else "")
             + ". They were mapped from the raw EDC tables by cdisc-convert following the "
             "study's YAML mapping specs (analysis/adam/programs).")
    doc.heading(2, "3.2 Annotated CRFs")
    doc.para("The annotated CRF is acrf.pdf in this folder." if has_acrf else
             f"No annotated CRF was packaged (cdisc-convert package --acrf). {TO_DO}")
    doc.heading(2, "3.3 SDTM Subject Domains")
    _dataset_table(doc, sdtm, adam=False)
    subject_domains = [e for e in sdtm.entries if e.name not in TRIAL_DESIGN]
    for i, entry in enumerate(subject_domains, 1):
        doc.heading(3, f"3.3.{i} {entry.name} – {entry.label}")
        doc.para(f"{entry.records} records. Domain-specific information: {TO_DO}")
    _conformance_summary(doc, sdtm, "SDTM", section=4, notices=True)
    doc.heading(1, "Appendix I: Inclusion/Exclusion Criteria")
    ti = sdtm.datasets.get("TI")
    if ti is not None and {"IETESTCD", "IETEST"} <= set(ti.columns):
        doc.table(["IETESTCD", "Criterion", "Category"],
                  [[a, b, c] for a, b, c in zip(ti["IETESTCD"], ti["IETEST"],
                                                ti.get("IECAT", [""] * len(ti)))])
    else:
        doc.para(f"TI is not included in this submission. {TO_DO}")
    doc.heading(1, "Appendix II: Conformance Issues Details")
    _details(doc, sdtm)
    return doc


def _design(doc: Document, ts: dict[str, list[str]]) -> None:
    rows = [[code, "; ".join(ts[code])] for code in DESIGN_PARAMETERS if code in ts]
    if rows:
        doc.para("From the Trial Summary (TS):")
        doc.table(["TSPARMCD", "Value"], rows)
    else:
        doc.para(TO_DO)


def _notices(doc: Document, part: Part) -> None:
    if part.summary is None:
        doc.para(TO_DO)
        return
    notices = part.summary[part.summary["severity"] == "notice"]
    if notices.empty:
        doc.para("No notices.")
    else:
        doc.para("Notices (information, no action needed unless the sponsor decides so):")
        doc.table(["Rule", "Dataset", "Count", "Finding"],
                  [[r.rule, r.dataset, r.count, r.title] for r in notices.itertuples()])


def _details(doc: Document, part: Part) -> None:
    f = part.findings
    if f is None or f.empty:
        doc.para("No findings.")
        return
    f = f[f["severity"].isin(["error", "warning"])]
    if f.empty:
        doc.para("No error or warning findings.")
        return
    shown = f.head(MAX_DETAIL_ROWS)
    doc.table(["Rule", "Dataset", "Variable", "Record", "Value", "Message"],
              [[r.rule, r.dataset, r.variable, "" if pd.isna(r.row) else int(r.row), r.value,
                r.message] for r in shown.itertuples()])
    if len(f) > len(shown):
        doc.para(f"{len(f) - len(shown)} more findings are in the validation report.")


def adrg(adam: Part, sdtm: Part | None, *, studyid: str, programs: list[str]) -> Document:
    """The analysis data reviewer's guide (ADRG) for the packaged ADaM datasets."""
    ts = _ts(sdtm.datasets) if sdtm is not None else {}
    doc = Document("Analysis Data Reviewer's Guide",
                   f"Study {studyid}. Draft generated by cdisc-convert {__version__} following "
                   "the PHUSE ADRG template; sections marked " + TO_DO + " need the sponsor.")
    doc.heading(1, "1. Introduction")
    doc.heading(2, "1.1 Purpose")
    doc.para(f"This guide gives the context of the ADaM analysis datasets of study {studyid}: "
             "how they were derived, what to know when using them, and their conformance.")
    doc.heading(2, "1.2 Study Data Standards and Dictionary Inventory")
    parts = [adam] + ([sdtm] if sdtm is not None else [])
    doc.table(["Standard or Dictionary", "Version"],
              _standards_rows(parts, sdtm.datasets if sdtm is not None else {}))
    doc.heading(2, "1.3 Source Data Used for Analysis Dataset Creation")
    if sdtm is not None:
        doc.para("The ADaM datasets were derived from the SDTM datasets of this submission "
                 "(tabulations/sdtm): " + ", ".join(e.name for e in sdtm.entries) + ".")
    else:
        doc.para(TO_DO)
    doc.heading(1, "2. Protocol Description")
    doc.heading(2, "2.1 Protocol Number and Title")
    doc.table(["Item", "Value"], _title_block(ts, studyid))
    doc.heading(2, "2.2 Protocol Design in Relation to ADaM Concepts")
    _design(doc, ts)
    doc.heading(1, "3. Analysis Considerations Related to Multiple Analysis Datasets")
    doc.heading(2, "3.1 Core Variables")
    _core_variables(doc, adam)
    doc.heading(2, "3.2 Treatment Variables")
    adsl = adam.datasets.get("ADSL")
    treatment = [c for c in (adsl.columns if adsl is not None else [])
                 if c.startswith(("TRT", "ARM", "ACTARM"))]
    doc.para("ADSL treatment variables: " + (", ".join(treatment) if treatment else TO_DO) + ".")
    doc.heading(2, "3.3 Use of Visit Windowing, Unscheduled Visits, and Record Selection")
    chosen = [m for m in adam.methods
              if any(k in m[0] for k in ("AVISIT", "ANL01FL", "ANL02FL", "ABLFL"))]
    if chosen:
        doc.table(["Method", "Rule"], [list(m) for m in chosen])
    else:
        doc.para(TO_DO)
    doc.heading(2, "3.4 Imputation/Derivation Methods")
    doc.para("The derivations as define.xml states them (from the study's adam.yaml):")
    doc.table(["Method", "Rule"], [list(m) for m in adam.methods])
    doc.heading(1, "4. Analysis Data Creation and Processing Issues")
    doc.heading(2, "4.1 Split Datasets")
    doc.para(_split_text(adam.folder))
    doc.heading(2, "4.2 Data Dependencies")
    doc.para("ADSL is derived first from DM and the other SDTM domains; every other analysis "
             "dataset takes its subject-level variables from ADSL.")
    doc.heading(2, "4.3 Intermediate Datasets")
    doc.para("None: every dataset used for the analyses is in this submission.")
    doc.heading(1, "5. Analysis Dataset Descriptions")
    doc.heading(2, "5.1 Overview")
    doc.para(f"The submission holds {len(adam.entries)} ADaM datasets. {TO_DO}")
    doc.heading(2, "5.2 Analysis Datasets")
    _dataset_table(doc, adam, adam=True)
    for i, entry in enumerate(adam.entries, 1):
        doc.heading(3, f"5.2.{i} {entry.name} – {entry.label}")
        frame = adam.datasets[entry.name]
        if {"PARAMCD", "PARAM"} <= set(frame.columns):
            counts = frame.groupby(["PARAMCD", "PARAM"], sort=True).size()
            doc.table(["PARAMCD", "PARAM", "Records"],
                      [[code, label, n] for (code, label), n in counts.items()])
        else:
            doc.para(f"{entry.records} records ({entry.structure or entry.klass}).")
    _conformance_summary(doc, adam, "ADaM", section=6, notices=False)
    doc.heading(1, "7. Submission of Programs")
    doc.heading(2, "7.1 Description")
    doc.para(f"The datasets were produced by cdisc-convert {__version__} (Python "
             f"{platform.python_version()}), an open-source Python tool, from the study's "
             "YAML specs: `cdisc-convert run <study> --raw <raw tables>` reproduces them.")
    doc.heading(2, "7.2 ADaM Programs")
    if programs:
        doc.table(["Program (analysis/adam/programs)", "Purpose"],
                  [[p, _program_purpose(p)] for p in programs])
    else:
        doc.para(f"No programs were packaged (cdisc-convert package --study). {TO_DO}")
    doc.heading(2, "7.3 Analysis Output Programs")
    doc.para("report-yaml.txt states the results tables and figures." if
             "report-yaml.txt" in programs else TO_DO)
    doc.heading(2, "7.4 Macro Programs")
    doc.para("None: the derivations are the tool's, configured by the specs above.")
    return doc


def _program_purpose(name: str) -> str:
    stem = name.removesuffix("-yaml.txt")
    return {"study": "study-level settings: raw tables, visits, epochs, terminology",
            "adam": "ADaM derivation rules (ADSL, ADRS, ADTTE ...)",
            "report": "results tables and figures"}.get(stem, f"SDTM mapping of {stem.upper()}")


def _core_variables(doc: Document, adam: Part) -> None:
    adsl = adam.datasets.get("ADSL")
    if adsl is None:
        doc.para(TO_DO)
        return
    rows = []
    for entry in adam.entries:
        if entry.name == "ADSL":
            continue
        shared = [c for c in adam.datasets[entry.name].columns
                  if c in adsl.columns and c not in ("STUDYID", "USUBJID")]
        rows.append([entry.name, ", ".join(shared)])
    doc.para("ADSL variables carried into the other analysis datasets:")
    doc.table(["Dataset", "Variables from ADSL"], rows)
