"""Reading a folder of SDTM or ADaM datasets (XPT, Dataset-JSON or CSV) into one form.

The domain of a file is its name without extension, upper-cased (``dm.xpt`` → DM). Every
reader gives the same in-memory form: character variables as ``str`` with ``""`` for
missing, numeric variables as float64 with NaN. CSV has no types, so variables the standard
declares numeric (``Num`` in ``specs/``) are converted; a value that is not a number is an
:class:`InputError` naming file, row and column.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metadata import MetadataKeyError, load_standard

READABLE = (".xpt", ".json", ".ndjson", ".dsjc", ".csv")
PREFERENCE = {".xpt": 0, ".json": 1, ".ndjson": 2, ".dsjc": 3, ".csv": 4}


def _numeric_variables(name: str) -> set[str]:
    for standard in ("sdtmig-3.4", "adamig-1.3"):
        std = load_standard(standard)
        try:
            spec = std.dataset(name)
        except MetadataKeyError:
            continue
        if standard == "sdtmig-3.4" or name.startswith("AD"):
            return set(spec.variables.loc[spec.variables["type"] == "Num", "variable"])
    return set()


def _typed_csv(path: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    numeric = _numeric_variables(name)
    for column in frame.columns:
        is_num = column in numeric or (column.endswith(("DY", "SEQ", "NUM", "DT", "DTM", "DUR"))
                                       and column not in ("DOMAIN",))
        if not is_num:
            continue
        text = frame[column].str.strip()
        values = pd.to_numeric(text.replace({"": np.nan, "NA": np.nan}), errors="coerce")
        bad = values.isna() & ~text.isin(["", "NA"])
        if bad.any() and column in numeric:
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(f"{column} is numeric in the standard but holds "
                             f"{text[bad].iloc[0]!r}", file=path, row=row, variable=column,
                             rule="READ-NUMBER")
        if not bad.any():
            frame[column] = values.astype(float)
    return frame


def read_dataset(path: Path | str, *, encoding: str | None = None) -> pd.DataFrame:
    """Read one dataset file; ``frame.attrs['name']`` holds the dataset name."""
    path = Path(path)
    name = path.stem.upper()
    suffix = path.suffix.lower()
    if suffix == ".xpt":
        from .xpt import read_xpt

        frame = read_xpt(path, **({"encoding": encoding} if encoding else {}))
    elif suffix in (".json", ".ndjson", ".dsjc"):
        from .datasetjson import read_dataset_json

        frame = read_dataset_json(path)
    elif suffix == ".csv":
        try:
            frame = _typed_csv(path, name)
        except pd.errors.EmptyDataError:
            raise InputError("empty file", file=path, rule="READ-EMPTY")
        except UnicodeDecodeError as err:
            raise InputError(f"not UTF-8 text ({err.reason}); convert it or use XPT",
                             file=path, rule="READ-ENCODING")
    else:
        raise InputError(f"not a dataset file ({', '.join(READABLE)})", file=path,
                         rule="READ-TYPE")
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].where(frame[column].notna(), "")
    frame.attrs["name"] = name
    frame.attrs["path"] = str(path)
    return frame


def read_folder(folder: Path | str, *, encoding: str | None = None) -> dict[str, pd.DataFrame]:
    """Every dataset in ``folder`` by upper-case name; with several formats of one dataset,
    XPT is preferred, then Dataset-JSON, then CSV. Report tables (findings, unmapped) and
    define.xml are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("folder not found", file=folder, rule="READ-MISSING")
    chosen: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in READABLE or path.stem.lower() in ("mapping_findings", "unmapped",
                                                             "findings", "reconciliation"):
            continue
        name = path.stem.upper()
        if name not in chosen or PREFERENCE[suffix] < PREFERENCE[chosen[name].suffix.lower()]:
            chosen[name] = path
    return {name: read_dataset(path, encoding=encoding) for name, path in sorted(chosen.items())}
