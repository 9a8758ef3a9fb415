"""The public functions of define.xml: build it, write it with its HTML view, check it.

:func:`validate_define` and :func:`read_xpt_files` live in the conformance layer
(:mod:`cdisc_convert.conformance.define_checks`) and are re-exported here.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Mapping

import pandas as pd
from lxml import etree

from cdisc_convert.conformance.define_checks import (define_schema_path, read_xpt_files,
                                                     validate_define)
from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.io.atomic import atomic_file

from .builder import Builder
from .model import DefineWarning

__all__ = ["DefineWarning", "build_define", "write_define", "validate_define",
           "define_schema_path", "read_xpt_files"]


def build_define(datasets: Mapping[str, pd.DataFrame], *, standard: str, study_oid: str,
                 study_name: str, study_spec=None, adam_config=None,
                 dataset_labels: Mapping[str, str] | None = None,
                 creation_datetime: str | None = None,
                 study_description: str | None = None,
                 data_location: str = "", spec_tables: dict | None = None,
                 spec_columns: dict | None = None,
                 spec_findings: list | None = None) -> etree._ElementTree:
    """Define-XML 2.1 for ``datasets`` (``{NAME: DataFrame}``) as an lxml ElementTree.

    ``standard``: ``"sdtmig-3.4"`` or ``"adamig-1.3"``. ``study_spec``: the study's mapping
    spec (:class:`~cdisc_convert.sdtm.spec.StudySpec`) for SDTM origins and methods;
    ``adam_config``: the :class:`~cdisc_convert.adam.config.AdamConfig` the ADaM datasets
    were derived with (defaults when None). ``dataset_labels`` override the labels of the
    frames (``frame.attrs['label']``) and of the standard. ``creation_datetime`` (ISO 8601)
    overrides ``SOURCE_DATE_EPOCH`` / the clock. ``data_location``: the folder of the XPT
    files relative to the define.xml (``def:leaf`` xlink:href; default: the same folder).
    ``spec_tables``: the sheets of a spec workbook
    (:func:`~cdisc_convert.define.workbook.read_workbook`, its columns per sheet in
    ``spec_columns``) laid over what the data say (:mod:`cdisc_convert.define.spec_apply`);
    what cannot be applied is appended to ``spec_findings``.
    """
    builder = Builder(datasets, standard=standard, study_oid=study_oid, study_name=study_name,
                      study_spec=study_spec, adam_config=adam_config,
                      dataset_labels=dataset_labels, creation_datetime=creation_datetime,
                      study_description=study_description, data_location=data_location,
                      spec_tables=spec_tables, spec_columns=spec_columns)
    tree = builder.build()
    if spec_findings is not None:
        spec_findings.extend(builder.spec_findings)
    return tree


def _serialise(tree: etree._ElementTree) -> bytes:
    """define.xml's bytes, naming the stylesheet written beside it in an xml-stylesheet
    processing instruction after the XML declaration (a browser then shows the page)."""
    from .html import stylesheet_instruction

    xml = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    end = xml.index(b"?>") + 2
    return xml[:end] + b"\n" + etree.tostring(stylesheet_instruction()) + xml[end:]


def read_spec(path: Path | str) -> tuple[dict, dict | None, list[dict]]:
    """A spec to lay over the data: a P21-layout workbook (.xlsx) or a define.xml (2.0 or
    2.1, read as the workbook :func:`~cdisc_convert.define.workbook.define_to_tables`
    exports). Returns the sheets, the workbook's columns per sheet (None for a define.xml:
    it states every column) and the reader's findings."""
    from .workbook import define_to_tables, read_workbook

    path = Path(path)
    if path.suffix.lower() == ".xml":
        return define_to_tables(path), None, []
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputError("a spec is a P21-layout workbook (.xlsx) or a define.xml (.xml)",
                         file=path, rule="SPEC-NOT-XLSX")
    present: dict[str, set[str]] = {}
    tables, findings = read_workbook(path, present)
    return tables, present, findings


def write_define(folder: Path | str, out: Path | str | None = None, *, study=None,
                 xpt_frames: dict[str, pd.DataFrame] | None = None,
                 spec: Path | str | None = None, spec_findings: list | None = None) -> Path:
    """Describe the datasets of ``folder`` in ``define.xml`` (default ``folder/define.xml``)
    and write its HTML view ``define.html`` next to it.

    The folder is read with :func:`~cdisc_convert.io.read_folder.read_folder` (XPT preferred).
    A folder of ADaM datasets (every name starts with AD) is described against ADaMIG 1.3,
    any other against SDTMIG 3.4. ``study`` is the study's mapping folder (or a loaded
    StudySpec): SDTM origins and methods come from its YAML files, ADaM methods from its
    ``adam.yaml``; without it the standard's defaults are used. Both files are written to
    temporary files first and moved into place only when both are complete. ``xpt_frames``
    (by upper-case name): XPT files of the folder already read with ``read_xpt``.
    ``spec``: a spec workbook or define.xml (:func:`read_spec`) that states the metadata it
    has (labels, lengths, origins, methods, comments, codelists ...) over what the data and
    ``study`` give; its findings are appended to ``spec_findings``.
    """
    from cdisc_convert.io.read_folder import read_folder
    from .html import STYLESHEET_NAME, render_html, stylesheet_bytes

    folder = Path(folder)
    # report tables (conformance_findings.csv ...) are not datasets: SAS names have <= 8
    # letters and digits
    datasets = {name: frame for name, frame in read_folder(folder, xpt_frames=xpt_frames).items()
                if re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", name)}
    if not datasets:
        raise InputError("no datasets (XPT, Dataset-JSON or CSV) in the folder", file=folder,
                         rule="DEFINE-EMPTY")
    is_adam = all(name.startswith("AD") for name in datasets)
    if not is_adam and any(name.startswith("AD") for name in datasets):
        raise CdiscError("the folder mixes SDTM and ADaM datasets; a define.xml describes "
                         "one standard: write one per folder", file=folder,
                         rule="DEFINE-MIXED")
    standard = "adamig-1.3" if is_adam else "sdtmig-3.4"
    study_spec, adam_config, description = None, None, None
    if study is not None:
        from cdisc_convert.sdtm.spec import StudySpec, load_study

        if isinstance(study, StudySpec):
            study_spec = study
            study_dir = study.path.parent
        else:
            study_dir = Path(study)
            study_spec = load_study(study_dir) if not is_adam else None
        description = getattr(study_spec, "description", None)
        if is_adam:
            from cdisc_convert.adam.config import load_adam_config

            cfg = study_dir / "adam.yaml"
            adam_config = load_adam_config(cfg) if cfg.is_file() else None
    studyid = ""
    for frame in datasets.values():
        if "STUDYID" in frame.columns:
            # the first non-empty text in record order, converting each distinct value once
            ids = (str(v) for v in pd.unique(frame["STUDYID"].to_numpy(dtype=object)))
            studyid = next((v for v in ids if v != ""), "")
            if studyid:
                break
    if not studyid and study_spec is not None:
        studyid = study_spec.study
    studyid = studyid or folder.name
    spec_tables = spec_columns = None
    if spec is not None:
        spec_tables, spec_columns, found = read_spec(spec)
        if spec_findings is not None:
            spec_findings.extend(found)
    out = Path(out) if out else folder / "define.xml"
    location = os.path.relpath(folder.resolve(), out.resolve().parent)
    tree = build_define(datasets, standard=standard, study_oid=studyid, study_name=studyid,
                        study_spec=study_spec, adam_config=adam_config,
                        study_description=description,
                        data_location="" if location == "." else Path(location).as_posix(),
                        spec_tables=spec_tables, spec_columns=spec_columns,
                        spec_findings=spec_findings)
    html_path = out.with_suffix(".html")
    xml_bytes = _serialise(tree)
    html_bytes = render_html(tree).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    # the three files are complete on disk before any replaces its predecessor
    with atomic_file(out) as xml_handle, atomic_file(html_path) as html_handle, \
            atomic_file(out.with_name(STYLESHEET_NAME)) as xsl_handle:
        xml_handle.write(xml_bytes)
        html_handle.write(html_bytes)
        xsl_handle.write(stylesheet_bytes())
    return out
