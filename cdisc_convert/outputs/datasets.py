"""Writing a folder of SDTM or ADaM datasets: XPT v5 and CSV (and Dataset-JSON).

Dataset and variable labels come from the standard's metadata in ``specs/``; records are
sorted by the dataset's key variables (then --SEQ) as reviewers expect; everything is
written all-or-nothing into the target folder.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io.atomic import atomic_folder
from ..io.raw import TRACE_COLUMNS
from ..metadata import MetadataKeyError, load_standard


def dataset_metadata(name: str, frame: pd.DataFrame, standard: str = "sdtmig-3.4",
                     extra_labels: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """(dataset label, {variable: label}) from the standard; ``extra_labels`` win."""
    std = load_standard(standard)
    spec = std.dataset(name)
    labels = {}
    for column in frame.columns:
        try:
            labels[column] = spec.variable(column).label
        except MetadataKeyError:
            labels[column] = column
    labels.update(extra_labels or {})
    return spec.label, labels


def sort_by_keys(frame: pd.DataFrame, name: str, standard: str = "sdtmig-3.4") -> pd.DataFrame:
    """Records in key order (keys present in the data, then --SEQ), stable."""
    spec = load_standard(standard).dataset(name)
    keys = [k for k in spec.keys if k in frame.columns]
    seq = [c for c in frame.columns if c.endswith("SEQ") and len(c) == 5]
    order = keys + [s for s in seq if s not in keys]
    if name.startswith("SUPP"):
        order = [c for c in ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")
                 if c in frame.columns]
    if not order:
        return frame.reset_index(drop=True)
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def write_dataset_files(frame: pd.DataFrame, name: str, folder: Path, *,
                        standard: str = "sdtmig-3.4", formats=("xpt", "csv"),
                        label: str | None = None, labels: dict[str, str] | None = None,
                        display_formats: dict[str, str] | None = None) -> list[Path]:
    """Write one dataset into ``folder`` in each requested format; returns the paths."""
    from ..io.xpt import write_xpt

    clean = frame.drop(columns=[c for c in TRACE_COLUMNS if c in frame.columns])
    std_label, std_labels = dataset_metadata(name, clean, standard, labels)
    written = []
    stem = name.lower()
    if "xpt" in formats:
        path = folder / f"{stem}.xpt"
        write_xpt(clean, path, name=name, label=label or std_label, labels=std_labels,
                  formats=display_formats)
        written.append(path)
    if "csv" in formats:
        path = folder / f"{stem}.csv"
        clean.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    if "json" in formats:
        from ..io.datasetjson import write_dataset_json

        path = folder / f"{stem}.json"
        write_dataset_json(clean, path, name=name, label=label or std_label,
                           columns_meta={c: {"label": std_labels[c]} for c in clean.columns})
        written.append(path)
    return written


def write_folder(datasets: dict[str, pd.DataFrame], out: Path | str, *,
                 standard: str = "sdtmig-3.4", formats=("xpt", "csv"),
                 reports: dict[str, pd.DataFrame] | None = None, progress=None) -> Path:
    """Write every dataset (sorted by keys) plus report tables, all-or-nothing."""
    out = Path(out)
    with atomic_folder(out) as staging:
        for name in sorted(datasets):
            if progress:
                progress(f"writing {name} ({len(datasets[name])} records)")
            frame = sort_by_keys(datasets[name], name, standard)
            write_dataset_files(frame, name, staging, standard=standard, formats=formats)
        for report_name, table in (reports or {}).items():
            table.to_csv(staging / f"{report_name}.csv", index=False, lineterminator="\n")
    return out
