"""Dataset-JSON 1.1: writer (see the package docstring)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cdisc_convert.core.version import __version__
from cdisc_convert.core.errors import CdiscError, SpecError
from cdisc_convert.io.atomic import atomic_file

from .common import (DATASET_JSON_VERSION, ROW_CHUNK, TOP_LEVEL_ORDER, creation_datetime,
                     gc_paused, item_group_oid)
from .columns import build_columns
from .encode import row_layout


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

def _header(frame, columns, *, name, label, study_oid, metadata_version_oid, item_group,
            originator, source_system, file_oid, db_last_modified, metadata_ref) -> dict:
    """Top-level metadata in specification order; optional attributes left out when None."""
    values = {
        "datasetJSONCreationDateTime": creation_datetime(),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": file_oid,
        "dbLastModifiedDateTime": db_last_modified,
        "originator": originator,
        "sourceSystem": source_system,
        "studyOID": study_oid,
        "metaDataVersionOID": metadata_version_oid,
        "metaDataRef": metadata_ref,
        "itemGroupOID": item_group or item_group_oid(name),
        "records": int(len(frame)),
        "name": name,
        "label": label,
        "columns": columns,
    }
    return {k: values[k] for k in TOP_LEVEL_ORDER if values[k] is not None}


def _atomic_write(path: Path, chunks) -> None:
    """Write UTF-8 pieces all-or-nothing (:func:`~cdisc_convert.io.atomic.atomic_file`);
    each goes to the file as it is (the rows: an Arrow buffer, never copied into ``str``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)


def write_dataset_json(frame: pd.DataFrame, path, *, name: str, label: str,
                       columns_meta=None, study_oid: str | None = None,
                       metadata_version_oid: str | None = None,
                       item_group_oid: str | None = None, ndjson: bool = False,
                       originator: str | None = "cdisc-convert",
                       source_system: Mapping[str, str] | None = None,
                       file_oid: str | None = None, db_last_modified: str | None = None,
                       metadata_ref: str | None = None) -> Path:
    """Write ``frame`` as CDISC Dataset-JSON v1.1 (``ndjson=True``: the NDJSON form).

    ``columns_meta``: list of column dicts (with ``name``) or ``{column: dict}`` giving
    any of label, dataType, targetDataType, length, displayFormat, keySequence, itemOID.
    Columns without metadata are inferred from the dtype and from ``frame.attrs``
    ``labels``/``formats`` when present (see :func:`infer_column_metadata`).
    ``item_group_oid`` defaults to ``IG.<name>``; ``source_system`` defaults to
    ``{"name": "cdisc-convert", "version": <package version>}``; optional attributes given
    as None are left out.

    Layout (deterministic): JSON = compact metadata, then ``"rows":[`` with one row per
    line; NDJSON = metadata object on line 1, then one row array per line. UTF-8,
    ``ensure_ascii=False``, never NaN. The file is replaced atomically. Returns the path.
    """
    path = Path(path)
    if not isinstance(name, str) or not name:
        raise SpecError("dataset name must be non-empty text", file=path)
    if not isinstance(label, str):
        raise SpecError("dataset label must be text", file=path, dataset=name)
    if source_system is None:
        source_system = {"name": "cdisc-convert", "version": __version__}
    else:
        source_system = {"name": str(source_system["name"]),
                         "version": str(source_system["version"])}
    frame = frame.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) else frame
    numbered: dict = {}   # text columns numbered while their types are inferred, reused
    columns = build_columns(frame, name, columns_meta, numbered)
    header = _header(frame, columns, name=name, label=label, study_oid=study_oid,
                     metadata_version_oid=metadata_version_oid, item_group=item_group_oid,
                     originator=originator, source_system=source_system, file_oid=file_oid,
                     db_last_modified=db_last_modified, metadata_ref=metadata_ref)
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                              allow_nan=False).encode
    try:
        _atomic_write(path, _document_chunks(frame, columns, header, name, encode, ndjson,
                                                numbered))
    except CdiscError as exc:
        if exc.location.file is None:
            exc.location.file = str(path)
            exc.args = (exc.format(),)
        raise
    return path


def _document_chunks(frame, columns, header, name, encode, ndjson: bool, numbered=None):
    """The file's UTF-8 bytes, piece by piece, ``ROW_CHUNK`` rows at a time."""
    head = encode(header)
    if ndjson:
        yield (head + "\n").encode("utf-8")
    else:
        yield (head[:-1] + ',"rows":[').encode("utf-8")
    separator = "\n" if ndjson else ",\n"
    total = len(frame)
    if total:
        with gc_paused():
            layout = row_layout(frame, columns, name, separator, numbered)
        yield b"[" if ndjson else b"\n["
        if layout is None:      # no columns: every row is []
            yield ("]" + separator + "[").join([""] * total).encode("utf-8")
        for start in range(0, total if layout else 0, ROW_CHUNK):
            stop = min(start + ROW_CHUNK, total)
            rows = layout.rows(start, stop)
            # the last row's separator and the next row's "[" cut off by a view
            yield rows if stop < total else rows[:len(rows) - len(separator) - 2]
        yield b"]\n" if ndjson else b"]\n]}\n"
    elif not ndjson:
        yield b"]}\n"
