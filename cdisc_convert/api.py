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

import numpy as np
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


#: SDTM records up to which ``run`` draws the report in its own process, forked at the start
#: to load the report's libraries (about a second) while SDTM is mapped. That process
#: reads the ADaM files into a heap of its own (peak PSS +120 MB at 186,000 records,
#: +230 MB at 930,000); above this the report runs after the ADaM define.xml in the main
#: process, whose heap ADaM has grown already, as with ``jobs=1``.
REPORT_WORKER_RECORDS = 500_000


def default_jobs() -> int:
    """Processes ``run`` uses: 2 on Linux with two or more CPUs, else 1."""
    from .background import can_fork

    return 2 if can_fork() and (os.cpu_count() or 1) >= 2 else 1


def _study_inputs(study: Path, raw, *, checked: bool = False) -> tuple[dict, Path | None]:
    """The inputs of a mapping (for the overlap check) and the raw folder it reads;
    ``checked``: the specs were read already (:func:`check_specs`), so that a given ``raw``
    needs no second reading of them."""
    from .sdtm.spec import load_study

    if raw and checked:
        raw_dir = Path(raw)
    else:               # a broken spec raises here, before the output folder is touched
        spec = load_study(study)
        raw_dir = Path(raw) if raw else spec.raw_folder
    return {"study folder": study, "raw folder": raw_dir}, raw_dir


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


@copy_on_write
def run_study(study: Path | str | None = None, *, raw: Path | str | None = None,
              out: Path | str = "out", progress=None, formats=DEFAULT_FORMATS,
              jobs: int | None = None, force: bool = False) -> dict:
    """Whole pipeline for a study folder: raw → SDTM → ADaM → results report.

    Writes ``out/sdtm``, ``out/adam`` and ``out/report``, all-or-nothing: the whole tree is
    built in a staging folder and swapped in at the end (:mod:`cdisc_convert.io.output`),
    so a failure or interruption leaves ``out`` as it was. ``out`` may not overlap the study
    or raw folder, and a non-empty ``out`` must be an earlier output of this tool unless
    ``force``. The ADaM rules come from ``<study>/adam.yaml`` when present (documented
    defaults otherwise); it is read before any work starts. When mapping finds errors,
    ``out`` gets only the SDTM findings reports and :class:`CdiscError` is raised.

    With ``jobs`` 2 (the default on Linux with two CPUs, see :mod:`cdisc_convert.background`)
    a large study's conformance is checked by two processes (``CHECK_SPLIT_RECORDS``), then
    the SDTM files are written by a second process while ADaM is derived from the same
    domains in memory (ADaM lets each domain go once no later step needs it), and the
    SDTM define.xml is written while ADaM is; then a second process writes the ADaM files
    but XPT while this one writes the XPT files, the ADaM define.xml and the report from
    them (a study up to ``REPORT_WORKER_RECORDS`` SDTM records: the report is drawn by a
    process forked at the start, which loads its libraries while SDTM is mapped and
    starts once the ADaM XPT files are written); ``jobs=1`` does the same steps one after
    the other. The outputs are the same either way, and the same as the separate
    ``sdtm``/``adam``/``define``/``report`` steps give.
    """
    from cdisc_convert.standards.extensions import using_study

    study = Path(study) if study else bundled_study()
    with using_study(study):             # the study's CT release, codelists and domains
        return _run_study(study, raw=raw, out=Path(out), progress=progress,
                          formats=formats, jobs=jobs, force=force)


def _run_study(study: Path, *, raw, out: Path, progress, formats, jobs, force) -> dict:
    from .adam.config import load_adam_config
    from .io.output import output_folder

    check_specs(study)          # every spec problem (SDTM and ADaM) before anything runs
    inputs, raw_dir = _study_inputs(study, raw, checked=True)
    config = study / "adam.yaml"
    cfg = load_adam_config(config if config.is_file() else None)
    with output_folder(out, command="run", inputs=inputs, force=force) as staging:
        outcome = _run_into(staging, out, study, raw_dir, cfg, progress=progress,
                            formats=formats, parallel=(jobs or default_jobs()) > 1)
    if isinstance(outcome, CdiscError):
        raise outcome
    return outcome


def _run_into(staging: Path, out: Path, study: Path, raw_dir, cfg, *, progress, formats,
              parallel: bool):
    """The steps of :func:`run_study` writing into ``staging`` (shown to the user as
    ``out``); returns the result, or the error to raise once the output is in place."""
    from .background import Standby
    from cdisc_convert.report.results import load_libraries

    # the report's worker, forked while the process is small: it loads the report's
    # libraries while SDTM is mapped, when the second CPU is idle (REPORT_WORKER_RECORDS).
    # The report is one process here (no REPORT_SPLIT_RECORDS child): the ADaM writer
    # still runs beside it on the other CPU, so a third process gained no time and its
    # copy of the report's frames was the largest memory of the run (50,000 subjects:
    # 3.09 GB summed PSS with it, 2.71 without; 54.8 and 55.5 s)
    with Standby("the report", load_libraries, _report, staging / "adam",
                 staging / "report", shown=out / "report", study=study, parallel=False,
                 fork=parallel) as report:
        return _run_steps(staging, out, study, raw_dir, cfg, progress=progress,
                          formats=formats, parallel=parallel, report=report)


def _run_steps(staging: Path, out: Path, study: Path, raw_dir, cfg, *, progress, formats,
               parallel: bool, report):
    from .adam.pipeline import release_order
    from .background import Background
    from .core.memory import release_free_memory
    from cdisc_convert.io.folder import sort_by_keys, write_folder
    from .sdtm.engine import map_study

    say = progress or (lambda _m: None)
    say(f"[1/4] SDTM: mapping {study}")
    result = map_study(study, raw_dir, progress=progress)
    if sum(len(frame) for frame in result.domains.values()) > REPORT_WORKER_RECORDS:
        report.cancel()               # a large study: the report reuses this process's heap
    order: dict = {}        # each domain's key order, when found beside the check
    reports, summary, error = _check(result, out / "sdtm", progress, parallel=parallel,
                                     order=order)
    if error is not None:
        write_folder({}, staging / "sdtm", reports=reports)
        return error
    standard = result.study.standard
    # the order the files get: ADaM then sees the records as build_adam reading them would;
    # each mapped frame goes once its sorted copy is made, so that one domain (not all of
    # them) is held twice
    domains = {}
    for name in list(result.domains):
        domains[name] = sort_by_keys(result.domains.pop(name), name, standard,
                                     positions=order.pop(name, None))
    del result
    release_free_memory()      # before each fork: the child would share the dead pages
    # the SDTM define.xml is made by the writer from the frames it wrote (no read-back)
    with Background("writing and describing the SDTM datasets", _write_described, domains,
                    staging / "sdtm", study=study, shown=out / "sdtm", standard=standard,
                    reports=reports, progress=progress, formats=formats, presorted=True,
                    target=out / "sdtm", late=release_order(cfg),
                    fork=parallel) as writing:
        say("[2/4] ADaM: deriving ADSL, ADRS, ADTTE")
        sdtm = _as_read(domains, standard)
        domains.clear()            # the writer has its own (forked) view; ADaM frees them
        adam_xpt: dict = {}        # the ADaM XPT files as read_xpt gives them, unread
        with _derive_adam(sdtm, out=staging / "adam", shown=out / "adam", cfg=cfg,
                          progress=progress, formats=formats, xpt_frames=adam_xpt,
                          fork=parallel) as adam:
            sdtm_define = writing.result()
            release_free_memory()
            # the report's worker (a small study's) reads the XPT files only: it runs
            # while the other ADaM files are written and define.xml is made; a large
            # study's report runs here, from the frames the XPT writer returned
            if not report.runs_here:
                report.go()
            say("[3/4] define.xml for SDTM and ADaM")
            adam_define = _describe(staging / "adam", study=study, shown=out / "adam",
                                    xpt_frames=adam_xpt or None)
            release_free_memory()      # define's trees and profiles, before the report's
            say("[4/4] report: the trial's results")
            if report.runs_here:        # the ADaM files as define.xml saw them (not read)
                results = report.result(xpt_frames=adam_xpt)
            else:
                adam_xpt.clear()
                results = report.result()
            adam = adam.result()
    del adam_xpt
    defines = [sdtm_define, adam_define]
    problems = [p for d in defines for p in d["problems"]]
    if problems:
        return CdiscError("the written define.xml does not validate", rule="DEFINE-INVALID",
                          details=problems[:20])
    return {"summary": f"SDTM, ADaM, define.xml and report written under {out}",
            "sdtm": summary, "adam": adam, "defines": defines, "report": results}


def _write_described(domains: dict, folder: Path, *, study, shown: Path, formats,
                     progress=None, reports=None, late: tuple[str, ...] = (),
                     **options) -> dict:
    """``write_folder`` then ``_describe`` of the folder from the frames just written, as
    ``read_xpt`` would give the files (``io.folder.write_folder``'s ``xpt_frames``).

    In a forked child (``run``'s SDTM writer) the XPT files are written and described
    first, then the other formats, each domain given up once its files are written,
    those in ``late`` (the domains the parent keeps longest) last."""
    from .background import in_child
    from .core.memory import release_free_memory
    from cdisc_convert.io.folder import write_folder

    written: dict = {}
    rest = [f for f in formats if f != "xpt"]
    if not (in_child() and "xpt" in formats and rest):
        # a forked writer consumes its view of ``domains``; run here, ADaM still needs
        # them: a copy to consume
        write_folder(domains if in_child() else dict(domains), folder, formats=formats,
                     progress=progress, reports=reports, xpt_frames=written, consume=True,
                     **options)
        return _describe(folder, study=study, shown=shown, xpt_frames=written or None)
    # The text is held as codes from the start (``compact``): this process's copy of
    # the parent's string-object arrays goes, so each domain's goes for good when the
    # parent (ADaM) lets it go, instead of staying here until its files are written.
    # Describing holds every domain's XPT frame (categoricals, as the domains) and its own
    # work at once: done first, it overlaps ADaM's first steps instead of its largest
    # (ADRS), and the slower formats then go through the domains in the order the parent
    # drops them.
    write_folder(domains, folder, formats=("xpt",), xpt_frames=written, compact=True,
                 **options)
    described = _describe(folder, study=study, shown=shown, xpt_frames=written)
    written.clear()
    release_free_memory()
    order = sorted(domains, key=lambda name: (late.index(name) + 1 if name in late else 0,
                                              name))
    write_folder(domains, folder, formats=rest, progress=progress, reports=reports,
                 consume=True, order=order, **options)
    return described


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


def _check(result, out: Path, progress, *, parallel: bool = False, order: dict | None = None):
    """Check the conformance of a mapping ``result``. Returns the report tables, map_sdtm's
    summary and, when there are error findings, the error to raise once the reports are
    written (``out``: where they go, for the message); ``parallel`` and ``order``: see
    :func:`_check_conformance` (its ``fork`` and ``positions``)."""
    from .sdtm.findings import describe

    if progress:
        progress("checking conformance against SDTMIG 3.4 and CT")
    conformance = _check_conformance(result.domains, standard=result.study.standard,
                                     fork=parallel, positions=order)
    reports = {"mapping_findings": result.findings, "conformance_findings": conformance,
               "unmapped": result.unmapped}
    errors = result.findings[result.findings["severity"] == "error"]
    conf_errors = conformance[conformance["severity"] == "error"]
    if len(errors) or len(conf_errors):
        details = describe(errors) + [
            f"{f.dataset}.{f.variable} record {f.row}: {f.message} [{f.rule}]"
            for f in conf_errors.head(20).itertuples()]
        error = CdiscError(f"{len(errors)} mapping and {len(conf_errors)} conformance error(s); "
                           f"no datasets written (all findings: {Path(out)})",
                           rule="MAP-ERRORS", details=details)
        return reports, None, error
    warnings = int((result.findings["severity"] == "warning").sum()
                   + (conformance["severity"] == "warning").sum())
    summary = {
        "summary": f"{len(result.domains)} SDTM datasets in {out}",
        "datasets": {name: len(frame) for name, frame in result.domains.items()},
        "warnings": warnings,
        "unmapped": len(result.unmapped),
    }
    return reports, summary, None


#: SDTM records from which ``run`` (``jobs`` 2) checks conformance in two processes
#: (:func:`_check_conformance`): ~4.5 s on one core at 50,000 subjects (9.4 million records),
#: while the second core is idle; a small study's check is not worth a fork
CHECK_SPLIT_RECORDS = 500_000

#: What checking a data set costs beside its values, counted in values (rows x columns):
#: how :func:`_check_conformance` shares the work out. At 50,000 subjects a data set of a
#: few records took ~0.1 s (its schema, the subjects looked up in DM), a value ~16 ns.
CHECK_COST_VALUES = 5_000_000


def _check_conformance(domains: dict, *, standard: str, fork: bool = False,
                       positions: dict | None = None) -> pd.DataFrame:
    """``conformance.schemas.check_folder(domains)``, the same findings; with ``fork`` (and
    ``CHECK_SPLIT_RECORDS`` records or more) a forked child checks about half of the data
    sets, sharing the frames, while this process checks the others; then each process
    finds its data sets' key order (``io.folder.key_positions``) into ``positions``, for
    ``sort_by_keys`` after the check (the frames cannot be sorted during it: the child's
    view of each would then be held beside its sorted copy).

    Each data set is checked on its own, beside DM (the cross-dataset checks read it), and
    ``check_folder`` orders its findings by data set first: the two parts' findings, put
    in data set order (stably), are the ones a single check gives."""
    from .background import Background, can_fork
    from .core.memory import release_free_memory
    from cdisc_convert.standards.metadata import load_ct

    if not (fork and can_fork()
            and sum(len(frame) for frame in domains.values()) >= CHECK_SPLIT_RECORDS):
        return _check_part(domains, list(domains), standard)
    theirs, mine = _share_out(domains)
    load_ct()                  # read once, before the fork: both processes check against it
    release_free_memory()      # before the fork: the child would share the dead pages
    order = positions is not None
    with Background("checking conformance", _check_and_order, domains, theirs, standard,
                    order=order) as child:
        done = [_check_and_order(domains, mine, standard, order=order), child.result()]
    if order:
        for _, found in done:
            positions.update(found)
    parts = [part for part, _ in done if len(part)] or [done[0][0]]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    return (pd.concat(parts, ignore_index=True)
            .sort_values("dataset", kind="stable").reset_index(drop=True))


def _check_and_order(domains: dict, names: list[str], standard: str, *,
                     order: bool) -> tuple[pd.DataFrame, dict]:
    """:func:`_check_part`, then with ``order`` the key order of each data set of
    ``names`` (int32 where it fits: half the bytes to send back from a child)."""
    from cdisc_convert.io.folder import key_positions

    findings, positions = _check_part(domains, names, standard), {}
    for name in names if order else ():
        found = key_positions(domains[name], name, standard)
        if found is not None:
            positions[name] = (found.astype(np.int32) if len(found) < 2 ** 31 else found)
    return findings, positions


def _share_out(domains: dict) -> tuple[list[str], list[str]]:
    """The data sets' names in two parts of about equal checking cost (values plus
    ``CHECK_COST_VALUES`` each), the largest placed first, each in the cheaper part; the
    first part (the child's) starts with the cost of one data set more, for checking DM
    once more and sending its findings back."""
    parts: tuple[list[str], list[str]] = ([], [])
    costs = [CHECK_COST_VALUES, 0]
    for name in sorted(domains, key=lambda n: (-domains[n].size, n)):
        side = int(costs[1] < costs[0])
        parts[side].append(name)
        costs[side] += domains[name].size + CHECK_COST_VALUES
    return parts


def _check_part(domains: dict, names: list[str], standard: str) -> pd.DataFrame:
    """``check_folder`` of the data sets ``names`` of ``domains``; DM is given to it for
    the cross-dataset checks in any case, and its own findings are kept only when ``names``
    holds it."""
    from cdisc_convert.conformance.schemas import check_folder

    part = {name: domains[name] for name in names}
    if "DM" in part or "DM" not in domains:
        return check_folder(part, standard=standard)
    findings = check_folder({**part, "DM": domains["DM"]}, standard=standard)
    return findings[findings["dataset"] != "DM"]


@copy_on_write
def map_sdtm(study: Path | str, *, raw: Path | str | None = None, out: Path | str,
             progress=None, formats=DEFAULT_FORMATS, force: bool = False) -> dict:
    """Map the raw tables of a study to SDTM domains following ``mappings/<study>/*.yaml``.

    After mapping, every domain is checked against schemas generated from ``specs/``
    (required variables, types, lengths, controlled terminology, ISO 8601, keys, --SEQ,
    --DY, USUBJID in DM). Writes every domain as XPT v5, Dataset-JSON and CSV into ``out``
    together with ``mapping_findings.csv`` (mapping problems with the raw file and row),
    ``conformance_findings.csv`` and ``unmapped.csv``. When either has error-severity
    findings, writes only the reports and raises :class:`CdiscError` (exit code 1).
    ``out`` is replaced all-or-nothing; it may not overlap the study or raw folder, and a
    non-empty ``out`` must be an earlier output of this tool unless ``force``
    (:func:`cdisc_convert.io.output.output_folder`).
    """
    from cdisc_convert.io.folder import write_folder
    from cdisc_convert.standards.extensions import using_study
    from .io.output import output_folder
    from .sdtm.engine import map_study

    study = Path(study)
    with using_study(study):
        inputs, raw_dir = _study_inputs(study, raw)
        with output_folder(out, command="sdtm", inputs=inputs, force=force) as staging:
            result = map_study(study, raw_dir, progress=progress)
            reports, summary, error = _check(result, Path(out), progress)
            write_folder(result.domains if error is None else {}, staging,
                         standard=result.study.standard, reports=reports, progress=progress,
                         formats=formats, target=Path(out))
    if error is not None:
        raise error
    return summary


@copy_on_write
def build_adam(sdtm_dir: Path | str, *, out: Path | str, config: Path | str | None = None,
               progress=None, formats=DEFAULT_FORMATS, force: bool = False) -> dict:
    """Derive ADSL, ADRS, ADTTE (and ADTR from TU/TR) from a folder of SDTM datasets.

    Reads XPT, Dataset-JSON or CSV (domain = file name). Writes XPT v5 and CSV into ``out``
    plus ``reconciliation.csv`` (visits where the investigator's response differs from the
    one computed from TU/TR; empty when they agree). ``out`` is replaced all-or-nothing; it
    may not overlap the SDTM folder or hold the config file, and a non-empty ``out`` must be
    an earlier output of this tool unless ``force``.
    """
    from .adam.config import load_adam_config
    from .io.read_folder import read_folder
    from .io.output import output_folder

    cfg = load_adam_config(config)
    inputs = {"SDTM folder": Path(sdtm_dir), "config file": Path(config) if config else None}
    with output_folder(out, command="adam", inputs=inputs, force=force) as staging:
        sdtm = read_folder(sdtm_dir)
        if "DM" not in sdtm:
            raise CdiscError("no DM dataset in the folder; ADaM needs at least DM",
                             file=sdtm_dir, rule="ADAM-NO-DM")
        return _derive_adam(sdtm, out=staging, shown=Path(out), cfg=cfg, progress=progress,
                            formats=formats).result()


class _AdamWritten:
    """What :func:`_derive_adam` returns: its summary from :meth:`result`, once the ADaM
    files written by a second process (when ``forked``) are complete. A context manager:
    leaving it kills that process if it still runs."""

    def __init__(self, summary: dict, others=None):
        self._summary, self._others = summary, others

    @property
    def forked(self) -> bool:
        return self._others is not None

    def result(self) -> dict:
        if self._others is not None:
            self._others.result()
        return self._summary

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._others is not None:
            self._others.cancel()
        return False


def _derive_adam(sdtm: dict, *, out: Path, shown: Path, cfg, progress, formats,
                 xpt_frames: dict | None = None, fork: bool = False) -> _AdamWritten:
    """ADaM from ``sdtm`` written into ``out``; ``xpt_frames`` gets the XPT files as
    ``read_xpt`` gives them, without reading them (``io.folder.write_folder``).

    With ``fork`` (and XPT among the formats), a forked child writes every format but XPT
    while this process writes the XPT files: they are all the define.xml and the report
    read, which can then start while the other files are still being written."""
    from .adam.pipeline import DATASET_LABELS, build_adam_datasets
    from .background import Background, can_fork
    from .core.memory import release_free_memory
    from cdisc_convert.io.folder import sort_compact, write_folder

    rest = [f for f in formats if f != "xpt"]
    forked = fork and can_fork() and xpt_frames is not None and "xpt" in formats and rest
    # forked: each data set sorted once, for both processes, and its text held as codes
    # (1-2 bytes a row instead of an 8-byte pointer: ~0.9 GB less at 50,000 subjects)
    # as soon as no later step reads it, the others still being derived; the child's
    # copy costs nothing until this process frees what it shares; the XPT echoes,
    # define.xml and the report's frames are made from the codes
    finished = (lambda name, frame: sort_compact(frame, name, "adamig-1.3")
                ) if forked else None
    # the caller's dict: each domain goes once no later step needs it, the rest here
    result = build_adam_datasets(sdtm, cfg, progress=progress, release=True,
                                 finished=finished)
    sdtm.clear()
    datasets = result.datasets
    summary = {"summary": f"{len(datasets)} ADaM datasets in {shown}",
               "datasets": {k: len(v) for k, v in datasets.items()},
               "reconciliation_differences": len(result.reconciliation)}
    options = {"standard": "adamig-1.3", "dataset_labels": DATASET_LABELS, "target": shown}
    reports = {"reconciliation": result.reconciliation}
    if not forked:
        write_folder(datasets, out, progress=progress, formats=formats, reports=reports,
                     xpt_frames=xpt_frames, consume=xpt_frames is not None, **options)
        return _AdamWritten(summary)
    release_free_memory()      # before the fork: the child would share the dead pages
    # the child's progress would repeat this process's lines; it consumes its own view
    # of ``datasets`` (this process writes from its own), largest first
    others = Background("writing the ADaM datasets", write_folder, datasets, out,
                        formats=rest, reports=reports, presorted=True, consume=True,
                        order=sorted(datasets, key=lambda n: (-datasets[n].size, n)),
                        **options)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_folder(datasets, out, progress=progress, formats=("xpt",), presorted=True,
                     xpt_frames=xpt_frames, consume=True, compact=True, **options)
    except BaseException:
        others.cancel()
        raise
    return _AdamWritten(summary, others)


@copy_on_write
def validate_folder(folder: Path | str, *, define: Path | str | None = None,
                    fmt: str = "html", out: Path | str | None = None,
                    encoding: str | None = None, study: Path | str | None = None,
                    force: bool = False, profile: str | None = None) -> dict:
    """Check a folder of SDTM or ADaM datasets against the standards and write a report.

    ``profile="fda-trc"``: ``folder`` is a submission package (``cdisc-convert package``)
    and the FDA's technical rejection criteria are checked instead
    (:mod:`cdisc_convert.conformance.trc`); the report goes beside it the same way.

    ``study``: a mapping folder (or its study.yaml) whose CT release, sponsor codelists and
    terms, custom domains and supplemental qualifiers the checks take into account.
    Returns the summary line, the report path, the finding counts and the exit code the CLI
    uses: 0 no error findings, 1 error findings, 2 some input could not be read.
    The report may not be an input, nor a dataset-like file inside ``folder``; an existing
    report file is replaced only when this tool wrote it (or with ``force``).
    """
    from cdisc_convert.conformance.validate import default_report_path, validate_folder as run
    from cdisc_convert.conformance.validate import write_report as report
    from cdisc_convert.standards.extensions import using_study
    from .io.output import check_output_file, claim_files

    target = Path(out) if out else default_report_path(folder, fmt)
    check_output_file(target, inputs={"define file": Path(define) if define else None},
                      data_folder=Path(folder), force=force)
    if profile == "fda-trc":
        from cdisc_convert.conformance.trc import check_package

        result = check_package(folder)
    elif profile is not None:
        raise CdiscError(f"unknown validation profile {profile!r}; known: fda-trc",
                         rule="VALIDATE-PROFILE")
    else:
        with using_study(None if study is None else Path(study)):
            result = run(folder, define=define, encoding=encoding)
    path = report(result, target, fmt)
    claim_files([path], "validate")
    return {"summary": result.summary_line(), "report": str(path),
            "exit_code": result.exit_code, "counts": result.counts,
            "findings": result.findings}


@copy_on_write
def write_define(folder: Path | str, *, out: Path | str | None = None,
                 study: Path | str | None = None, encoding: str | None = None,
                 force: bool = False, spec: Path | str | None = None) -> dict:
    """Write define.xml 2.1 and define.html describing a folder of datasets, then check it.

    ``study`` (a mapping folder) supplies SDTM origins and comments and the ADaM rules for
    the methods. The written define is validated against the Define-XML 2.1 schema and
    cross-checked with the data; problems are returned (and make the CLI exit with 1).
    ``encoding``: text encoding of the XPT files (e.g. ``cp1252``; default ASCII/UTF-8).
    ``spec``: a P21-layout spec workbook (.xlsx) or an existing define.xml whose metadata
    (labels, lengths, origins, methods, comments, codelists, value level ...) the define
    states over what the data and ``study`` give (:mod:`cdisc_convert.define.spec_apply`);
    what cannot be applied is returned as ``spec_findings`` (and makes the CLI exit with 1).
    ``out`` (default ``folder/define.xml``) must end in ``.xml`` (define.html and the
    stylesheet go beside it), may not be inside the study folder, and existing files are
    replaced only when this tool wrote them (or with ``force``).
    """
    from cdisc_convert.core.errors import OutputError
    from cdisc_convert.define.html import STYLESHEET_NAME
    from .io.output import check_output_file, claim_files

    folder = Path(folder)
    target = Path(out) if out else folder / "define.xml"
    if target.suffix.lower() != ".xml":
        raise OutputError(f"--out {target}: a define must be an .xml file (define.html is "
                          "written beside it)", rule="OUT-NOT-XML")
    written = [target, target.with_suffix(".html"), target.with_name(STYLESHEET_NAME)]
    for path in written:
        check_output_file(path, inputs={"study folder": Path(study) if study else None,
                                        "spec": Path(spec) if spec else None},
                          data_folder=folder, force=force)
    result = _describe(folder, out=target, study=study, encoding=encoding, spec=spec)
    claim_files(written, "define")
    return result


def _describe(folder: Path, *, out: Path | None = None, study=None, shown: Path | None = None,
              encoding: str | None = None, spec: Path | str | None = None,
              xpt_frames: dict | None = None):
    """define.xml (and .html) for ``folder``, checked; ``shown``: the folder's final name;
    ``spec``: a spec workbook or define.xml stating metadata over the data's;
    ``xpt_frames``: every XPT file of the folder as ``read_xpt`` gives it, known without
    reading it (the writer's ``xpt_frames``), else the files are read."""
    from cdisc_convert.define.api import read_xpt_files, validate_define, write_define as _write

    from cdisc_convert.standards.extensions import using_study

    if xpt_frames is None:
        xpt_frames = read_xpt_files(folder, encoding)  # read once: described, then checked
    with using_study(None if study is None else Path(study)):
        spec_findings: list[dict] = []
        path = _write(Path(folder), out, study=study, xpt_frames=xpt_frames, spec=spec,
                      spec_findings=spec_findings)
        problems = validate_define(path, Path(folder), xpt_frames=xpt_frames)
    if shown is not None:
        path = Path(shown) / path.name
    return {"summary": f"define.xml in {path}", "path": str(path), "problems": problems,
            "spec_findings": spec_findings}


@copy_on_write
def write_report(adam_dir: Path | str, *, out: Path | str | None = None,
                 study: Path | str | None = None, force: bool = False) -> dict:
    """Compute the trial's results table and figures from ADSL/ADRS/ADTTE (and ADTR).

    Writes ``results.json``, ``results.html`` and SVG figures into ``out`` (default:
    ``ADAM_DIR/../report``), all-or-nothing. What is reported comes from
    ``<study>/report.yaml`` (``study``: a mapping folder or the YAML file); without it, the
    population, sex and age only. ``out`` may not overlap ``adam_dir`` or the study, and a
    non-empty ``out`` must be an earlier output of this tool unless ``force``. With two
    CPUs (:func:`default_jobs`), a large study's results and figures are made by a forked
    child beside the tables (``REPORT_SPLIT_RECORDS``); the files are the same.
    """
    from .io.output import output_folder

    adam_dir = Path(adam_dir)
    out = Path(out) if out else adam_dir.parent / "report"
    inputs = {"ADaM folder": adam_dir, "study": Path(study) if study else None}
    with output_folder(out, command="report", inputs=inputs, force=force) as staging:
        return _report(adam_dir, staging, shown=out, study=study,
                       parallel=default_jobs() > 1)


#: ADaM records from which ``write_report`` makes the report's results, figures and
#: library-based tables in a forked child while its own process builds the others and
#: writes every table's files (``_report``); ``run`` does not, see ``_run_into``
REPORT_SPLIT_RECORDS = 200_000


def _report(adam_dir: Path, out: Path, *, shown: Path, study=None,
            xpt_frames: dict | None = None, parallel: bool = False) -> dict:
    """The report of ``adam_dir``; ``xpt_frames``: its XPT files as ``read_xpt`` read them
    already (``read_folder``), or ``run``'s echoes of them, whose text may be held as codes
    (expanded here). ``parallel`` (``write_report`` with two CPUs): with
    ``REPORT_SPLIT_RECORDS`` ADaM records or more, the results, the figures and the tables
    of ``report.results.RESULTS_SIDE_TABLES`` (about half the work at 50,000 subjects) are
    made by a forked child, which shares the frames, while this process builds the other
    tables and writes every table's files; the files are the same either way."""
    from .background import Background, can_fork
    from .io.numbering import expand_text
    from .io.read_folder import read_folder
    from cdisc_convert.report.results import results_and_figures, without_attrs, write_results
    from cdisc_convert.report.spec import load_report_spec

    spec = load_report_spec(study)
    # text as the files give it (run's echoes hold codes: io.numbering.compact_text)
    adam = {name: expand_text(frame)
            for name, frame in read_folder(adam_dir, xpt_frames=xpt_frames).items()}
    if xpt_frames:
        xpt_frames.clear()     # the report's frames are views of them; the rest can go
    if "ADSL" not in adam:
        raise CdiscError("no ADSL in the folder", file=adam_dir, rule="REPORT-NO-ADSL")
    if adam["ADSL"].empty:          # the title below names the study of the first record
        from .core.errors import InputError

        raise InputError("ADSL has no records: there is no subject to report on",
                         file=adam_dir, dataset="ADSL", rule="REPORT-ADSL-EMPTY")
    out.mkdir(parents=True, exist_ok=True)
    title = f"Results: {adam['ADSL']['STUDYID'].iloc[0]}"
    if not (parallel and can_fork()
            and sum(len(frame) for frame in adam.values()) >= REPORT_SPLIT_RECORDS):
        return {"summary": f"results in {shown}",
                "results": write_results(adam, out, title=title, spec=spec)}
    adam = {name: without_attrs(frame) for name, frame in adam.items()}
    with Background("the report's results and figures", results_and_figures, adam, out,
                    spec) as results:
        result = write_results(adam, out, title=title, spec=spec, results=results.result)
    return {"summary": f"results in {shown}", "results": result}


@copy_on_write
def build_package(run_dir: Path | str, *, out: Path | str | None = None,
                  study: Path | str | None = None, acrf: Path | str | None = None,
                  force: bool = False) -> dict:
    """Lay out the output of ``run`` (a folder with ``sdtm/`` and ``adam/``) as the eCTD
    module 5 study-data tree: ``m5/datasets/<study>/tabulations/sdtm/`` (XPT, define.xml,
    stylesheet, ``acrf.pdf`` when ``acrf`` is given), ``.../analysis/adam/datasets/`` (XPT,
    define.xml, stylesheet) and, with ``study`` (the mapping folder), its YAML specs as the
    programs in ``.../analysis/adam/programs/`` (``docs/submission.md``); and drafts of the
    reviewer's guides (cSDRG, ADRG; DOCX and HTML) in ``reviewers-guides/`` beside ``m5/``,
    listing the conformance findings of the packaged datasets for the sponsor to explain.

    ``out`` (default: ``submission`` beside ``run_dir``) is replaced all-or-nothing; it may
    not overlap the run output, the study folder or hold the annotated CRF, and a non-empty
    ``out`` must be an earlier output of this tool unless ``force``.
    """
    from cdisc_convert.submission.package import build_package as build
    from .io.output import output_folder

    run_dir = Path(run_dir)
    out = Path(out) if out else run_dir.resolve().parent / "submission"
    inputs = {"run output": run_dir, "study folder": Path(study) if study else None,
              "annotated CRF": Path(acrf) if acrf else None}
    # one manifest, above m5/: the eCTD tree holds only files of the submission
    with output_folder(out, command="package", inputs=inputs, force=force,
                       nested_manifests=False) as staging:
        result = build(run_dir, staging, study=Path(study) if study else None,
                       acrf=Path(acrf) if acrf else None)
    count = sum(len(files) for files in result["files"].values())
    result["summary"] = f"{count} files in {Path(out) / result['folder']}"
    result["out"] = str(out)
    return result


def export_spec(define: Path | str, *, out: Path | str, force: bool = False) -> dict:
    """Write the metadata of a define.xml (2.0 or 2.1, ours or a sponsor's) as a spec workbook
    in the Pinnacle 21 layout (:mod:`cdisc_convert.define.workbook`). ``out`` (an .xlsx) may
    not be the define file, and an existing file is replaced only when this tool wrote it
    (or with ``force``)."""
    from cdisc_convert.core.errors import OutputError
    from cdisc_convert.define.workbook import define_to_tables, write_workbook
    from .io.atomic import atomic_file
    from .io.output import check_output_file, claim_files

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise OutputError(f"--out {out}: a spec workbook is an .xlsx file", rule="OUT-NOT-XLSX")
    check_output_file(out, inputs={"define file": Path(define)}, data_folder=None, force=force)
    tables = define_to_tables(define)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(out) as handle:
        write_workbook(tables, handle)
    claim_files([out], "spec export")
    counts = {sheet: len(rows) for sheet, rows in tables.items()}
    return {"summary": f"spec workbook {out}: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
            "counts": counts}


def check_spec(workbook: Path | str) -> dict:
    """Read a P21-layout spec workbook (any tool's) and report what cannot be used: missing
    sheets or columns, rows without their key, references to codelists, methods, comments or
    where clauses the workbook lacks. Returns the tables, the findings and the exit code
    (0 none, 1 findings)."""
    from cdisc_convert.define.workbook import read_workbook

    tables, findings = read_workbook(workbook)
    counts = {sheet: len(rows) for sheet, rows in tables.items()}
    return {"summary": f"{len(findings)} finding(s) in {workbook}: "
                       + ", ".join(f"{k} {v}" for k, v in counts.items() if v),
            "findings": findings, "tables": tables, "exit_code": 1 if findings else 0}
