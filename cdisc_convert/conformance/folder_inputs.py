"""The inputs of :func:`.validate.validate_folder`: which files of a folder are read as
datasets (one per dataset: XPT, else Dataset-JSON, else CSV; links leading out of the folder,
pipes and report files are not), reading them into a :class:`~.study.Study`, and the
per-file checks (file name, XPT members and size, repeated JSON keys or CSV columns, empty
datasets, the SAS XPORT v5 limits)."""
from __future__ import annotations

import csv
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import CdiscError, InputError
from cdisc_convert.core.sasdates import SAS_EPOCH
from cdisc_convert.io.read_folder import PREFERENCE, READABLE, read_dataset

from .catalogue import RULES
from .study import Study, make_findings

#: a dataset name (SAS: 1-8 characters); CSV/JSON files named otherwise are reports
_DATASET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,7}")
#: files the pipeline writes beside datasets; never read as datasets
REPORT_STEMS = frozenset({"mapping_findings", "unmapped", "findings", "reconciliation"})
#: the FDA's limit for one XPT file (split larger datasets)
MAX_XPT_BYTES = 5 * 1024 ** 3
#: Dataset-JSON files up to this size are scanned for repeated keys (a second parse)
MAX_JSON_KEY_SCAN = 256 * 1024 ** 2

@dataclass(frozen=True)
class DatasetInfo:
    name: str
    file: str
    format: str
    records: int
    variables: int
    encoding: str = ""



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


def list_inputs(folder: Path) -> tuple[dict[str, Path], list[Path], list[Path],
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


def read_all(chosen: dict[str, Path], encoding: str | None
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
def storage_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as it is stored in a file: dates (datetime64, the readers' in-memory form
    of ADaM dates) back to SAS day or second numbers, times to seconds; no trace columns."""
    formats = frame.attrs.get("formats") or {}
    view = frame[[c for c in frame.columns if not str(c).startswith("__")]].copy(deep=False)
    view.attrs = {}     # else pandas deep-copies them into every column read below
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


def file_checks(name: str, path: Path, frame: pd.DataFrame, view: pd.DataFrame
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
