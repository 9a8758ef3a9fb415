"""The Python API behind every CLI command.

Each function here is what one ``cdisc-convert`` command does; the CLI only parses options
and prints. Import these to script a conversion without the command line::

    from cdisc_convert.api import map_sdtm
    map_sdtm("mappings/sorafenib_dtic", raw="fixtures/sorafenib_dtic/raw", out="out/sdtm")
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd

from cdisc_convert.core.errors import CdiscError
from cdisc_convert.core.resources import bundled_study


DEFAULT_FORMATS = ("xpt", "json", "csv")


def copy_on_write(func):
    """Run ``func`` with pandas' Copy-on-Write mode (the default from pandas 3).

    The pipeline passes large frames through many small steps; without it, each
    ``reset_index``, ``drop`` or ``rename`` copies every column (about a fifth of the
    mapping time at 50,000 subjects). The mode is set only for the call, so the pandas
    settings of a program that imports this API are left as they were.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with pd.option_context("mode.copy_on_write", True):
            return func(*args, **kwargs)
    return wrapper


def default_jobs() -> int:
    """Processes ``run`` uses: 2 on Linux with two or more CPUs, else 1."""
    from .background import can_fork

    return 2 if can_fork() and (os.cpu_count() or 1) >= 2 else 1


@copy_on_write
def check_specs(study: Path | str) -> None:
    """Read and check every spec file of a study folder (``study.yaml``, the domain files
    and ``adam.yaml``) against their schemas, expressions and patterns; all problems of all
    files are raised together as one :class:`~cdisc_convert.core.errors.SpecError`."""
    from .adam.config import load_adam_config
    from .core.specschema import SpecProblems
    from .sdtm.spec import load_study

    study = Path(study)
    problems = SpecProblems(f"the spec files of {study}")
    problems.collect(load_study, study)
    if (study / "adam.yaml").exists():
        problems.collect(load_adam_config, study / "adam.yaml")
    problems.raise_if_any(study)


def run_study(study: Path | str | None = None, *, raw: Path | str | None = None,
              out: Path | str = "out", progress=None, formats=DEFAULT_FORMATS,
              jobs: int | None = None) -> dict:
    """Whole pipeline for a study folder: raw → SDTM → ADaM → results report.

    Writes ``out/sdtm``, ``out/adam`` and ``out/report``. The ADaM rules come from
    ``<study>/adam.yaml`` when present (documented defaults otherwise).

    With ``jobs`` 2 (the default on Linux with two CPUs, see :mod:`cdisc_convert.background`)
    the SDTM files are written by a second process while ADaM is derived from the same
    domains in memory, and the SDTM define.xml is written while the ADaM one and the
    report are; ``jobs=1`` does the same steps one after the other. The outputs are the
    same either way, and the same as the separate ``sdtm``/``adam``/``define``/``report``
    steps give.
    """
    from cdisc_convert.standards.extensions import using_study

    study = Path(study) if study else bundled_study()
    with using_study(study):             # the study's CT release, codelists and domains
        return _run_study(study, raw=raw, out=Path(out), progress=progress,
                          formats=formats, jobs=jobs)


def _run_study(study: Path, *, raw, out: Path, progress, formats, jobs) -> dict:
    from .background import Background
    from cdisc_convert.io.folder import sort_by_keys, write_folder

    check_specs(study)          # every spec problem (SDTM and ADaM) before anything runs
    parallel = (jobs or default_jobs()) > 1
    say = progress or (lambda _m: None)
    say(f"[1/4] SDTM: mapping {study}")
    result, reports, summary = _map_and_check(study, raw, out / "sdtm", progress)
    standard = result.study.standard
    # the order the files get: ADaM then sees the records as build_adam reading them would
    domains = {name: sort_by_keys(frame, name, standard) for name, frame in result.domains.items()}
    del result
    writing = Background("writing the SDTM datasets", write_folder, domains, out / "sdtm",
                         standard=standard, reports=reports, progress=progress,
                         formats=formats, presorted=True, fork=parallel)
    config = study / "adam.yaml"
    say("[2/4] ADaM: deriving ADSL, ADRS, ADTTE")
    adam = _derive_adam(_as_read(domains, standard), out=out / "adam",
                        config=config if config.is_file() else None, progress=progress,
                        formats=formats)
    del domains
    writing.result()
    say("[3/4] define.xml for SDTM and ADaM")
    sdtm_define = Background("define.xml for SDTM", write_define, out / "sdtm", study=study,
                             fork=parallel)
    adam_define = write_define(out / "adam", study=study)
    say("[4/4] report: the trial's results")
    report = write_report(out / "adam", out=out / "report", study=study)
    defines = [sdtm_define.result(), adam_define]
    problems = [p for d in defines for p in d["problems"]]
    if problems:
        raise CdiscError("the written define.xml does not validate", rule="DEFINE-INVALID",
                         details=problems[:20])
    return {"summary": f"SDTM, ADaM, define.xml and report written under {out}",
            "sdtm": summary, "adam": adam, "defines": defines, "report": report}


def _as_read(domains: dict, standard: str) -> dict:
    """Mapped domains in the form ``read_folder`` gives for their files: no traceability
    columns, and the dataset and variable labels the files get (ADSL takes DM's)."""
    from .io.raw import TRACE_COLUMNS
    from cdisc_convert.io.folder import variable_labels

    out = {}
    for name, frame in domains.items():
        frame = frame.drop(columns=[c for c in TRACE_COLUMNS if c in frame.columns])
        label, labels = variable_labels(frame, name, standard)
        frame.attrs = {"name": name, "label": label, "labels": labels}
        out[name] = frame
    return out


def _map_and_check(study: Path, raw, out: Path, progress):
    """Map and check conformance; on error findings write only the reports and raise.
    Returns the mapping result, the report tables and map_sdtm's summary."""
    from cdisc_convert.io.folder import write_folder
    from .sdtm.engine import map_study
    from .sdtm.findings import describe
    from cdisc_convert.conformance.schemas import check_folder

    result = map_study(study, raw, progress=progress)
    if progress:
        progress("checking conformance against SDTMIG 3.4 and CT")
    conformance = check_folder(result.domains, standard=result.study.standard)
    reports = {"mapping_findings": result.findings, "conformance_findings": conformance,
               "unmapped": result.unmapped}
    errors = result.findings[result.findings["severity"] == "error"]
    conf_errors = conformance[conformance["severity"] == "error"]
    if len(errors) or len(conf_errors):
        write_folder({}, out, reports=reports)
        details = describe(errors) + [
            f"{f.dataset}.{f.variable} record {f.row}: {f.message} [{f.rule}]"
            for f in conf_errors.head(20).itertuples()]
        raise CdiscError(f"{len(errors)} mapping and {len(conf_errors)} conformance error(s); "
                         f"no datasets written (all findings: {Path(out)})",
                         rule="MAP-ERRORS", details=details)
    warnings = int((result.findings["severity"] == "warning").sum()
                   + (conformance["severity"] == "warning").sum())
    summary = {
        "summary": f"{len(result.domains)} SDTM datasets in {out}",
        "datasets": {name: len(frame) for name, frame in result.domains.items()},
        "warnings": warnings,
        "unmapped": len(result.unmapped),
    }
    return result, reports, summary


@copy_on_write
def map_sdtm(study: Path | str, *, raw: Path | str | None = None, out: Path | str,
             progress=None, formats=DEFAULT_FORMATS) -> dict:
    """Map the raw tables of a study to SDTM domains following ``mappings/<study>/*.yaml``.

    After mapping, every domain is checked against schemas generated from ``specs/``
    (required variables, types, lengths, controlled terminology, ISO 8601, keys, --SEQ,
    --DY, USUBJID in DM). Writes every domain as XPT v5, Dataset-JSON and CSV into ``out``
    together with ``mapping_findings.csv`` (mapping problems with the raw file and row),
    ``conformance_findings.csv`` and ``unmapped.csv``. When either has error-severity
    findings, writes only the reports and raises :class:`CdiscError` (exit code 1).
    """
    from cdisc_convert.io.folder import write_folder
    from cdisc_convert.standards.extensions import using_study

    with using_study(Path(study)):
        result, reports, summary = _map_and_check(Path(study), raw, Path(out), progress)
        write_folder(result.domains, out, standard=result.study.standard, reports=reports,
                     progress=progress, formats=formats)
    return summary


@copy_on_write
def build_adam(sdtm_dir: Path | str, *, out: Path | str, config: Path | str | None = None,
               progress=None, formats=DEFAULT_FORMATS) -> dict:
    """Derive ADSL, ADRS, ADTTE (and ADTR from TU/TR) from a folder of SDTM datasets.

    Reads XPT, Dataset-JSON or CSV (domain = file name). Writes XPT v5 and CSV into ``out``
    plus ``reconciliation.csv`` (visits where the investigator's response differs from the
    one computed from TU/TR; empty when they agree).
    """
    from .io.read_folder import read_folder

    sdtm = read_folder(sdtm_dir)
    if "DM" not in sdtm:
        raise CdiscError("no DM dataset in the folder; ADaM needs at least DM",
                         file=sdtm_dir, rule="ADAM-NO-DM")
    return _derive_adam(sdtm, out=out, config=config, progress=progress, formats=formats)


def _derive_adam(sdtm: dict, *, out, config, progress, formats) -> dict:
    from .adam.config import load_adam_config
    from .adam.pipeline import DATASET_LABELS, build_adam_datasets
    from cdisc_convert.io.folder import write_folder

    cfg = load_adam_config(config)
    result = build_adam_datasets(sdtm, cfg, progress=progress)
    write_folder(result.datasets, out, standard="adamig-1.3", progress=progress,
                 dataset_labels=DATASET_LABELS, formats=formats,
                 reports={"reconciliation": result.reconciliation})
    return {"summary": f"{len(result.datasets)} ADaM datasets in {out}",
            "datasets": {k: len(v) for k, v in result.datasets.items()},
            "reconciliation_differences": len(result.reconciliation)}


@copy_on_write
def validate_folder(folder: Path | str, *, define: Path | str | None = None,
                    fmt: str = "html", out: Path | str | None = None,
                    encoding: str | None = None, study: Path | str | None = None) -> dict:
    """Check a folder of SDTM or ADaM datasets against the standards and write a report.

    ``study``: a mapping folder (or its study.yaml) whose CT release, sponsor codelists and
    terms, custom domains and supplemental qualifiers the checks take into account.
    Returns the summary line, the report path, the finding counts and the exit code the CLI
    uses: 0 no error findings, 1 error findings, 2 some input could not be read.
    """
    from cdisc_convert.conformance.validate import default_report_path, validate_folder as run
    from cdisc_convert.conformance.validate import write_report as report
    from cdisc_convert.standards.extensions import using_study

    with using_study(None if study is None else Path(study)):
        result = run(folder, define=define, encoding=encoding)
    path = report(result, Path(out) if out else default_report_path(folder, fmt), fmt)
    return {"summary": result.summary_line(), "report": str(path),
            "exit_code": result.exit_code, "counts": result.counts,
            "findings": result.findings}


@copy_on_write
def write_define(folder: Path | str, *, out: Path | str | None = None,
                 study: Path | str | None = None, encoding: str | None = None) -> dict:
    """Write define.xml 2.1 and define.html describing a folder of datasets, then check it.

    ``study`` (a mapping folder) supplies SDTM origins and comments and the ADaM rules for
    the methods. The written define is validated against the Define-XML 2.1 schema and
    cross-checked with the data; problems are returned (and make the CLI exit with 1).
    ``encoding``: text encoding of the XPT files (e.g. ``cp1252``; default ASCII/UTF-8).
    """
    from cdisc_convert.define.api import read_xpt_files, validate_define, write_define as _write

    from cdisc_convert.standards.extensions import using_study

    xpt_frames = read_xpt_files(folder, encoding)      # read once: described, then checked
    with using_study(None if study is None else Path(study)):
        path = _write(Path(folder), out, study=study, xpt_frames=xpt_frames)
        problems = validate_define(path, Path(folder), xpt_frames=xpt_frames)
    return {"summary": f"define.xml in {path}", "path": str(path), "problems": problems}


@copy_on_write
def write_report(adam_dir: Path | str, *, out: Path | str | None = None,
                 study: Path | str | None = None) -> dict:
    """Compute the trial's results table and figures from ADSL/ADRS/ADTTE (and ADTR).

    Writes ``results.json``, ``results.html`` and SVG figures into ``out`` (default:
    ``ADAM_DIR/../report``). What is reported comes from ``<study>/report.yaml`` (``study``:
    a mapping folder or the YAML file); without it, the population, sex and age only.
    """
    from .io.atomic import atomic_folder
    from .io.read_folder import read_folder
    from cdisc_convert.report.results import write_results
    from cdisc_convert.report.spec import load_report_spec

    adam_dir = Path(adam_dir)
    spec = load_report_spec(study)
    adam = read_folder(adam_dir)
    if "ADSL" not in adam:
        raise CdiscError("no ADSL in the folder", file=adam_dir, rule="REPORT-NO-ADSL")
    if adam["ADSL"].empty:          # the title below names the study of the first record
        from .core.errors import InputError

        raise InputError("ADSL has no records: there is no subject to report on",
                         file=adam_dir, dataset="ADSL", rule="REPORT-ADSL-EMPTY")
    out = Path(out) if out else adam_dir.parent / "report"
    with atomic_folder(out) as staging:
        result = write_results(adam, staging, title=f"Results: {adam['ADSL']['STUDYID'].iloc[0]}",
                               spec=spec)
    return {"summary": f"results in {out}", "results": result}
