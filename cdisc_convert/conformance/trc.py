"""The FDA's technical rejection criteria for study data, checked on a submission package.

``cdisc-convert validate PACKAGE --profile fda-trc`` (``docs/validation-rules.md``, section
"FDA technical rejection criteria"). The criteria are eCTD validations the FDA's gateway
runs on every study in module 4/5 (FDA, *Technical Rejection Criteria for Study Data* and
*Specifications for eCTD Validation Criteria*; enforced since 15 September 2021). Those this
tool can check on the package it writes:

* **1734**: a Trial Summary dataset ``ts.xpt`` with the study start date, a TS record with
  TSPARMCD ``SSTDTC`` whose TSVAL is a valid ISO 8601 date (``TRC-1734``);
* **1736**: for SDTM data ``dm.xpt`` and ``define.xml`` in the tabulation folder, for ADaM
  data ``adsl.xpt`` and ``define.xml`` in the analysis folder (``TRC-1736-DM``,
  ``TRC-1736-ADSL``, ``TRC-1736-DEFINE``);
* the study identifier: the FDA checks TS's STUDYID against the study tagging file (STF);
  here every dataset of the study must carry the one STUDYID TS has (``TRC-STUDYID``);
* the size limit of one dataset file, 5 GB (Study Data Technical Conformance Guide 3.3.2;
  ``TRC-SIZE``).

**1789** (a study tagging file for every study section) and **1735** (the STF's file tags for
datasets and define.xml) concern the eCTD backbone, which the publishing tool writes; they
are named in one notice (``TRC-STF``) rather than passed silently.

The package is a folder holding ``m5/``, the ``m5`` folder itself, or one study folder
(``m5/datasets/<study>``). Findings are the validator's (:class:`ValidationResult`), so the
same report writers and exit codes apply.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.core.iso8601 import is_complete_date
from cdisc_convert.io.xpt import read_xpt

from .checks import concat, make_findings
from .validate import DatasetInfo, ValidationResult

__all__ = ["MAX_DATASET_BYTES", "check_package", "study_folders"]

MAX_DATASET_BYTES = 5 * 1024 ** 3
TABULATION = Path("tabulations") / "sdtm"
ANALYSIS = Path("analysis") / "adam" / "datasets"


def study_folders(package: Path) -> list[Path]:
    """The study folders (``m5/datasets/<study>``) of a package, a module 5 folder or one
    study folder (recognised by a ``tabulations`` or ``analysis`` folder)."""
    package = Path(package)
    if (package / "tabulations").is_dir() or (package / "analysis").is_dir():
        return [package]
    for datasets in (package / "m5" / "datasets", package / "datasets"):
        if datasets.is_dir():
            return sorted(p for p in datasets.iterdir() if p.is_dir())
    return []


def _read(path: Path, what: str, study: str, infos: list[DatasetInfo]):
    """``path`` read as XPT, or (None, a finding) when it cannot be read."""
    try:
        frame = read_xpt(path)
    except CdiscError as err:
        return None, make_findings("TRC-UNREADABLE", what, value=path.name,
                                   message=f"{study}: {path.name} cannot be read: {err.message}")
    infos.append(DatasetInfo(what, str(path), "xpt", len(frame), len(frame.columns)))
    return frame, None


def _check_ts(ts: pd.DataFrame | None, study: str) -> pd.DataFrame | None:
    """1734: an SSTDTC record whose TSVAL is a valid ISO 8601 date."""
    if ts is None:
        return None
    if not {"TSPARMCD", "TSVAL"} <= set(ts.columns):
        return make_findings("TRC-1734", "TS", variable="TSPARMCD",
                             message=f"{study}: ts.xpt has no TSPARMCD/TSVAL variables, so no "
                                     "study start date (SSTDTC)")
    values = ts.loc[ts["TSPARMCD"].astype(str).str.strip() == "SSTDTC", "TSVAL"].astype(str)
    values = values.str.strip()
    if values.empty:
        return make_findings("TRC-1734", "TS", variable="TSPARMCD", value="SSTDTC",
                             message=f"{study}: ts.xpt has no SSTDTC (study start date) record")
    # a study start date is a date: at least YYYY-MM-DD, no placeholders ('-' for parts)
    valid = is_complete_date(values, allow_placeholders=False).to_numpy()
    if not valid.all():
        bad = values[~valid]
        return make_findings("TRC-1734", "TS", variable="TSVAL", value=bad.iloc[0],
                             message=f"{study}: SSTDTC {bad.iloc[0]!r} is not a complete "
                                     "ISO 8601 date (YYYY-MM-DD)")
    return None


def _check_studyid(frames: dict[str, pd.DataFrame], study: str) -> list[pd.DataFrame]:
    """Every dataset carries TS's STUDYID (the STF's study-id in the FDA's check)."""
    reference_name = next((n for n in ("TS", "DM", "ADSL") if n in frames), None)
    if reference_name is None:
        return []
    ids = frames[reference_name].get("STUDYID")
    if ids is None:
        return []
    expected = sorted(set(ids.astype(str).str.strip()) - {""})
    out = []
    if len(expected) != 1:
        out.append(make_findings("TRC-STUDYID", reference_name, variable="STUDYID",
                                 value=", ".join(expected),
                                 message=f"{study}: {reference_name} should hold one STUDYID, "
                                         f"not {len(expected)}"))
        return out
    for name, frame in frames.items():
        if "STUDYID" not in frame.columns:
            continue
        other = sorted(set(frame["STUDYID"].astype(str).str.strip()) - set(expected))
        if other:
            out.append(make_findings("TRC-STUDYID", name, variable="STUDYID",
                                     value=", ".join(other[:3]),
                                     message=f"{study}: {name} has STUDYID {other[0]!r}, "
                                             f"{reference_name} {expected[0]!r}"))
    return out


def _check_study(folder: Path, infos: list[DatasetInfo]) -> list[pd.DataFrame]:
    study = folder.name
    out: list[pd.DataFrame] = []
    frames: dict[str, pd.DataFrame] = {}
    parts = {"SDTM": (folder / TABULATION, "dm", "TRC-1736-DM"),
             "ADaM": (folder / ANALYSIS, "adsl", "TRC-1736-ADSL")}
    present = {k: v for k, v in parts.items() if any(v[0].glob("*.xpt"))}
    if not present:
        return [make_findings("TRC-NO-DATA", "", value=study,
                              message=f"{study}: no datasets in {TABULATION} or {ANALYSIS}")]
    for standard, (where, key, rule) in present.items():
        for path in sorted(where.glob("*.xpt")):
            if path.stat().st_size > MAX_DATASET_BYTES:
                out.append(make_findings(
                    "TRC-SIZE", path.stem.upper(), value=path.name,
                    message=f"{study}: {path.name} is {path.stat().st_size / 1024 ** 3:.1f} GB, "
                            "over the 5 GB of the Study Data Technical Conformance Guide "
                            "(section 3.3.2): split it (docs/submission.md)"))
        if not (where / f"{key}.xpt").is_file():
            out.append(make_findings(rule, key.upper(), value=f"{key}.xpt",
                                     message=f"{study}: {standard} data without {key}.xpt in "
                                             f"{where.relative_to(folder)}"))
        if not (where / "define.xml").is_file():
            out.append(make_findings("TRC-1736-DEFINE", "", value="define.xml",
                                     message=f"{study}: {standard} data without define.xml in "
                                             f"{where.relative_to(folder)}"))
        for path in sorted(where.glob("*.xpt")):
            if path.stem in ("ts", "dm", "adsl"):
                frame, problem = _read(path, path.stem.upper(), study, infos)
                out.append(problem)
                if frame is not None:
                    frames[path.stem.upper()] = frame
    ts_paths = [p for p in (folder / TABULATION / "ts.xpt", folder / ANALYSIS / "ts.xpt")
                if p.is_file()]
    if not ts_paths:
        out.append(make_findings("TRC-1734", "TS", value="ts.xpt",
                                 message=f"{study}: no ts.xpt (Trial Summary) in {TABULATION} "
                                         f"or {ANALYSIS}"))
    else:
        out.append(_check_ts(frames.get("TS"), study))
    out += _check_studyid(frames, study)
    return out


def check_package(package: Path | str) -> ValidationResult:
    """The technical rejection criteria for every study of a package (see the module)."""
    started = time.perf_counter()
    package = Path(package)
    if not package.is_dir():
        raise InputError("not a folder", file=package, rule="IO-NOT-FOUND")
    studies = study_folders(package)
    infos: list[DatasetInfo] = []
    parts: list[pd.DataFrame | None] = []
    if not studies:
        parts.append(make_findings(
            "TRC-NO-DATA", "", value=str(package),
            message=f"{package}: no m5/datasets/<study> folder; give the folder `cdisc-convert "
                    "package` wrote"))
    for folder in studies:
        parts += _check_study(folder, infos)
    parts.append(make_findings(
        "TRC-STF", "", value="1789, 1735",
        message="the study tagging file (STF) criteria 1789 and 1735 are checked on the "
                "eCTD backbone your publishing tool writes, not here"))
    findings = concat(parts).sort_values(["severity", "rule", "dataset"], kind="mergesort")
    return ValidationResult(package, findings.reset_index(drop=True), infos,
                            seconds=time.perf_counter() - started)
