"""Lay out a run output as an eCTD module 5 study-data tree (``docs/submission.md``).

FDA Study Data Technical Conformance Guide (TCG) and eCTD conventions applied here:

* one folder per study under ``m5/datasets/``, named after the study identifier in lower
  case (eCTD folder names: ``a-z``, ``0-9`` and ``-``);
* tabulation data in ``tabulations/sdtm/``, analysis data in ``analysis/adam/datasets/``,
  the programs that produced the analysis data in ``analysis/adam/programs/`` (the TCG's
  "Electronic Submission Format" section and its figure of the module 5 folders);
* datasets as SAS XPORT version 5 files named after the dataset in lower case, at most 8
  characters (TCG 3.3.1, "SAS Transport Format"), no file over 5 GB (TCG 3.3.2, "Dataset
  Size": larger datasets are split, which this tool does not do yet: it stops instead);
* define.xml beside the datasets it describes, with the stylesheet it names (the TCG's
  "Data Definition File" section);
* the annotated CRF as ``acrf.pdf`` beside the SDTM datasets (the TCG's "Annotated Case
  Report Form" section);
* programs as plain text ``.txt`` files (eCTD accepts no ``.yaml``): our "programs" are the
  study's YAML specs, each copied as ``<name>-yaml.txt``.

Everything is copied from the run output unchanged, so define.xml's links to the dataset
files still resolve; they are checked after the copy.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from lxml import etree

from cdisc_convert.core.errors import InputError
from cdisc_convert.io.xpt import read_xpt

#: the largest dataset file the TCG accepts unsplit (section 3.3.2)
MAX_DATASET_BYTES = 5 * 1024 ** 3
STYLESHEET = "define2-1.xsl"
#: the reviewer's guide drafts, beside m5/ (not part of the eCTD tree)
GUIDES = "reviewers-guides"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_DATASET_FILE = re.compile(r"[a-z][a-z0-9]{0,7}\.xpt")


def study_folder_name(studyid: str) -> str:
    """The study's folder name under ``m5/datasets``: the study identifier in lower case,
    every character other than ``a-z``, ``0-9`` and ``-`` replaced by ``-``."""
    name = re.sub(r"[^a-z0-9-]+", "-", studyid.strip().lower()).strip("-")
    return name or "study"


def package_layout(study: str) -> dict[str, Path]:
    """The folders of the tree, relative to the package root, by role."""
    root = Path("m5") / "datasets" / study
    return {"sdtm": root / "tabulations" / "sdtm",
            "adam": root / "analysis" / "adam" / "datasets",
            "programs": root / "analysis" / "adam" / "programs"}


def _datasets(folder: Path) -> list[Path]:
    """The XPT dataset files of a run folder (``ts.xpt`` ...), by name."""
    files = sorted(p for p in folder.glob("*.xpt") if p.is_file())
    bad = [p.name for p in files if not _DATASET_FILE.fullmatch(p.name)]
    if bad:
        raise InputError(f"dataset file name(s) {', '.join(bad)} are not a lower-case SAS name "
                         "of at most 8 characters + .xpt, as the TCG (3.3.1) requires",
                         file=folder, rule="PKG-FILE-NAME")
    return files


def _studyid(files: list[Path]) -> str | None:
    """STUDYID of the first of TS, DM, ADSL (in that order) that has one."""
    by_name = {p.stem: p for p in files}
    for name in ("ts", "dm", "adsl"):
        if name in by_name:
            frame = read_xpt(by_name[name])
            if "STUDYID" in frame.columns:
                ids = frame["STUDYID"].astype(str)
                ids = ids[ids.str.strip() != ""]
                if len(ids):
                    return str(ids.iloc[0])
    return None


def _check_links(define: Path, folder: Path) -> list[str]:
    """``def:leaf`` hrefs of ``define`` that name no file of ``folder``."""
    tree = etree.parse(str(define), etree.XMLParser(resolve_entities=False, no_network=True))
    hrefs = [leaf.get(_XLINK) for leaf in tree.iter("{*}leaf")]
    return sorted(h for h in hrefs if h and not (folder / h).is_file())


def _standard_folder(run_dir: Path, part: str) -> tuple[list[Path], Path] | None:
    """The dataset files and define.xml of ``run_dir/part`` (None when it is absent)."""
    folder = run_dir / part
    if not folder.is_dir():
        return None
    files = _datasets(folder)
    if not files:
        raise InputError(f"no XPT files in {folder}: the package holds SAS XPORT v5 datasets "
                         "(TCG 3.3.1); run with --formats including xpt", file=folder,
                         rule="PKG-NO-XPT")
    big = [f"{p.name} ({p.stat().st_size / 1024 ** 3:.1f} GB)" for p in files
           if p.stat().st_size > MAX_DATASET_BYTES]
    if big:
        raise InputError(f"dataset(s) over 5 GB: {', '.join(big)}; the TCG (3.3.2) asks for "
                         "them split, which this version does not do", file=folder,
                         rule="PKG-TOO-LARGE")
    define = folder / "define.xml"
    if not define.is_file():
        raise InputError(f"no define.xml in {folder}; write it with `cdisc-convert define "
                         f"{folder}`", file=folder, rule="PKG-NO-DEFINE")
    return files, define


def build_package(run_dir: Path, dest: Path, *, study: Path | None = None,
                  acrf: Path | None = None) -> dict:
    """Copy the run output ``run_dir`` (with ``sdtm/`` and/or ``adam/`` folders) into ``dest``
    as ``m5/datasets/<study>/...``; ``study``: the mapping folder whose YAML specs become
    the programs; ``acrf``: the annotated CRF (PDF). Returns what was written, by role."""
    run_dir = Path(run_dir)
    parts = {part: _standard_folder(run_dir, part) for part in ("sdtm", "adam")}
    parts = {k: v for k, v in parts.items() if v is not None}
    if not parts:
        raise InputError("neither sdtm/ nor adam/ in the folder: give the output folder of "
                         "`cdisc-convert run`", file=run_dir, rule="PKG-NO-DATA")
    studyid = _studyid([p for files, _ in parts.values() for p in files])
    if studyid is None:
        raise InputError("no STUDYID in TS, DM or ADSL: the study's folder is named after it",
                         file=run_dir, rule="PKG-NO-STUDYID")
    name = study_folder_name(studyid)
    layout = package_layout(name)
    written: dict[str, list[str]] = {}
    for part, (files, define) in parts.items():
        target = dest / layout[part]
        target.mkdir(parents=True)
        sources = files + [define]
        if (define.parent / STYLESHEET).is_file():
            sources.append(define.parent / STYLESHEET)
        for source in sources:
            shutil.copyfile(source, target / source.name)
        broken = _check_links(target / "define.xml", target)
        if broken:
            raise InputError(f"define.xml names file(s) the package does not hold: "
                             f"{', '.join(broken)}", file=define, rule="PKG-DEFINE-LINK")
        written[part] = [(layout[part] / s.name).as_posix() for s in sources]
    if acrf is not None:
        acrf = Path(acrf)
        with open(acrf, "rb") as handle:
            if handle.read(5) != b"%PDF-":
                raise InputError("the annotated CRF is not a PDF file", file=acrf,
                                 rule="PKG-ACRF-NOT-PDF")
        target = dest / layout["sdtm"]
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(acrf, target / "acrf.pdf")
        written.setdefault("sdtm", []).append((layout["sdtm"] / "acrf.pdf").as_posix())
    if study is not None:
        written["programs"] = _copy_programs(Path(study), dest / layout["programs"],
                                             layout["programs"])
    written["guides"] = write_guides(dest, layout, studyid=studyid, study=study,
                                     has_acrf=acrf is not None)
    return {"study": studyid, "folder": (Path("m5") / "datasets" / name).as_posix(),
            "files": written}


def write_guides(dest: Path, layout: dict[str, Path], *, studyid: str, study: Path | None,
                 has_acrf: bool) -> list[str]:
    """The cSDRG and ADRG drafts (DOCX and HTML) in ``dest/reviewers-guides``, outside the
    eCTD tree: the eCTD takes them as PDF, made by the sponsor from the edited DOCX (and
    placed as csdrg.pdf beside the SDTM datasets, adrg.pdf beside the ADaM datasets). The
    conformance findings they list are those of the packaged datasets."""
    from cdisc_convert.conformance.validate import validate_folder
    from cdisc_convert.core.reproducible import creation_time
    from cdisc_convert.standards.extensions import using_study

    from .document import write_docx, write_html
    from .guides import adrg, read_part, sdrg

    parts = {}
    with using_study(study):
        for part in ("sdtm", "adam"):
            folder = dest / layout[part]
            if (folder / "define.xml").is_file():
                parts[part] = read_part(folder, validate_folder(folder))
    programs = sorted(p.name for p in (dest / layout["programs"]).glob("*.txt")) \
        if (dest / layout["programs"]).is_dir() else []
    docs = {}
    if "sdtm" in parts:
        docs["csdrg"] = sdrg(parts["sdtm"], studyid=studyid, has_acrf=has_acrf)
    if "adam" in parts:
        docs["adrg"] = adrg(parts["adam"], parts.get("sdtm"), studyid=studyid,
                            programs=programs)
    target = dest / GUIDES
    target.mkdir()
    created = creation_time().replace(tzinfo=None)
    written = []
    for stem, doc in docs.items():
        write_docx(doc, target / f"{stem}.docx", created=created)
        write_html(doc, target / f"{stem}.html")
        written += [f"{GUIDES}/{stem}.docx", f"{GUIDES}/{stem}.html"]
    return written


def _copy_programs(study: Path, target: Path, shown: Path) -> list[str]:
    """The study's YAML specs as ``<name>-yaml.txt`` (eCTD file names: lower case, digits,
    hyphens, one dot)."""
    specs = sorted(p for p in study.glob("*.yaml") if p.is_file())
    if not specs:
        raise InputError("no YAML specs in the study folder", file=study,
                         rule="PKG-NO-PROGRAMS")
    target.mkdir(parents=True)
    out = []
    for spec in specs:
        name = re.sub(r"[^a-z0-9-]+", "-", spec.stem.lower()) + "-yaml.txt"
        shutil.copyfile(spec, target / name)
        out.append((shown / name).as_posix())
    return out
