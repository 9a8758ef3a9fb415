"""Writing a folder of SDTM or ADaM datasets: XPT v5 and CSV (and Dataset-JSON).

Dataset and variable labels come from the standard's metadata in ``specs/``; records are
sorted by the dataset's key variables (then --SEQ) as reviewers expect. The files go into
a folder the caller gives; the commands give a staging folder of
:func:`cdisc_convert.io.output.output_folder`, which makes the whole output all-or-nothing.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import frame_of, order_by_ranks, value_ranks
from cdisc_convert.core.errors import CdiscError
from cdisc_convert.core.factorize import factorize_objects
from cdisc_convert.core.memory import release_free_memory
from .delimited import write_csv
from .numbering import compact_datasets, compact_text, shared_numbering
from .raw import TRACE_COLUMNS
from cdisc_convert.core.sasdates import to_sas_days, to_sas_seconds
from cdisc_convert.standards.metadata import MetadataKeyError, load_standard


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
        if std.is_adam and not real_label(labels[column], column):
            labels[column] = _adam_label(std, column) or column
    labels.update(extra_labels or {})
    return spec.label, labels


_PLACEHOLDER = re.compile(r"\{[^}]*\}|\bx{2,}\b|\by{2,}\b|\bz{2,}\b", re.IGNORECASE)


def real_label(label, name: str) -> bool:
    """A label that says something: not empty, not the variable's own name, and no
    metadata placeholder such as ``{Date}`` or ``xx`` left in it."""
    label = str(label or "").strip()
    return bool(label) and label != str(name) and not _PLACEHOLDER.search(label)


def _adam_label(std, column: str) -> str | None:
    """The label of an ADaM variable the dataset's own metadata does not label: ADSL's
    (ADSL variables copied into other datasets keep ADSL's label), else SDTMIG's for an
    SDTM variable kept as is (VISIT, VISITNUM)."""
    try:
        label = std.dataset("ADSL").variable(column).label
        if real_label(label, column):
            return label
    except MetadataKeyError:
        pass
    sdtm = load_standard("sdtmig-3.4")
    for dataset in ("DM", "SV", "RS", "TR", "AE", "DS", "EX"):
        try:
            label = sdtm.dataset(dataset).variable(column).label
        except MetadataKeyError:
            continue
        if real_label(label, column):
            return label
    return None


def variable_labels(frame: pd.DataFrame, name: str, standard: str = "sdtmig-3.4",
                    labels: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """(dataset label, {variable: label}) as the files get them: the standard's labels win;
    labels carried on the frame (sponsor variables, model variables, or inherited from a
    file read earlier) only fill columns it does not know; ``labels`` wins over both."""
    std_label, std_labels = dataset_metadata(name, frame, standard)
    carried = frame.attrs.get("labels", {}) or {}
    for column in frame.columns:
        if std_labels.get(column) == column and column in carried:
            std_labels[column] = carried[column]
    std_labels.update({k: v for k, v in (labels or {}).items() if k in frame.columns})
    return std_label, std_labels


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series)


def _has_time(series: pd.Series) -> bool:
    values = series.dropna()
    return bool(len(values)) and bool((values != values.dt.normalize()).any())


def to_transport(frame: pd.DataFrame, name: str = "") -> tuple[pd.DataFrame, dict[str, str]]:
    """Date columns as SAS numbers for XPT: dates as days since 1960-01-01 with DATE9.,
    date-times (a column whose name ends in DTM, or with a time part) as seconds with
    DATETIME20. Returns the converted frame and the display formats."""
    out, formats = frame.copy(deep=False), {}     # date columns are replaced, not changed
    for column in frame.columns:
        series = frame[column]
        if not _is_datetime(series):
            continue
        if column.endswith("DTM") or _has_time(series):
            out[column] = to_sas_seconds(series)
            formats[column] = "DATETIME20."
        else:
            out[column] = to_sas_days(series)
            formats[column] = "DATE9."
    return out, formats


def sort_by_keys(frame: pd.DataFrame, name: str, standard: str = "sdtmig-3.4", *,
                 positions: np.ndarray | None = None) -> pd.DataFrame:
    """Records in key order (keys present in the data, then --SEQ), stable.

    ``positions``: :func:`key_positions` of ``frame``, found already (e.g. by another
    process while this one was busy)."""
    order = _key_columns(frame, name, standard)
    if not order:
        return frame.reset_index(drop=True)
    if positions is None:
        positions = stable_order(frame, order)
    if positions is None:
        return frame.sort_values(order, kind="stable").reset_index(drop=True)
    return frame.take(positions).reset_index(drop=True)


def sort_compact(frame: pd.DataFrame, name: str, standard: str = "sdtmig-3.4"
                 ) -> pd.DataFrame:
    """``compact_text(sort_by_keys(frame, name, standard))``
    (:func:`~cdisc_convert.io.numbering.compact_text`) without a sorted copy of every
    column beside ``frame``: the key order is found on ``frame`` and each column taken in
    it, the text numbered one column at a time (ADEX at 50,000 subjects: ~0.2 GB less)."""
    positions = key_positions(frame, name, standard)
    if positions is None:
        return compact_text(sort_by_keys(frame, name, standard))
    return compact_text(frame, positions=positions)


def key_positions(frame: pd.DataFrame, name: str,
                  standard: str = "sdtmig-3.4") -> np.ndarray | None:
    """The row positions :func:`sort_by_keys` takes to put ``frame`` in key order, or None
    when it takes none (no key variable, or values only pandas' sort can order)."""
    order = _key_columns(frame, name, standard)
    return stable_order(frame, order) if order else None


def _key_columns(frame: pd.DataFrame, name: str, standard: str) -> list[str]:
    """The columns a data set's records are sorted by (the first one first)."""
    spec = load_standard(standard).dataset(name)
    keys = [k for k in spec.keys if k in frame.columns]
    seq = [c for c in frame.columns if c.endswith("SEQ") and len(c) == 5]
    order = keys + [s for s in seq if s not in keys]
    if not order:      # ADaM: the define's usual keys
        order = [c for c in ("USUBJID", "PARAMCD", "ADT", "AVISITN", "ASEQ") if c in frame.columns]
    if name.startswith("SUPP"):
        order = [c for c in ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM")
                 if c in frame.columns]
    return order


def stable_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray | None:
    """Row positions sorting ``frame`` by ``columns`` as ``sort_values(columns,
    kind="stable")`` does (missing last), or None when it cannot tell (mixed types that do
    not compare, too many distinct combinations for one 64-bit key).

    Each column is factorized in sorted order and the codes are combined into one int64
    key, so there is one stable argsort instead of one per column (np.lexsort): about
    twice as fast on TR's six keys.
    """
    return order_by_ranks(len(frame), map(_sorted_codes, (frame[c] for c in columns)))


def _sorted_codes(series: pd.Series) -> tuple[np.ndarray, int] | None:
    """(rank of each value in sorted order, missing values last; number of ranks).

    Text columns are numbered by object first (factorize_objects: mapped and read columns
    share one str object per value) and only the distinct values are sorted; pandas'
    sorted factorize hashed every record's text. None for values that do not compare (where
    pandas raises TypeError). A categorical of text is ranked by its values, as the file
    holds them, not in the order of its categories (``compact_text`` numbers them by
    first appearance)."""
    rank = None
    if isinstance(series.dtype, pd.CategoricalDtype) and pd.api.types.infer_dtype(
            series.dtype.categories, skipna=False) in ("string", "empty"):
        codes = series.array.codes
        rank = value_ranks(series.dtype.categories.to_numpy(dtype=object))
    elif series.dtype == object:
        codes, uniques = factorize_objects(series.to_numpy())
        uniques = np.asarray(uniques, dtype=object)
        try:
            rank = value_ranks(uniques)     # equal values held by two objects: one rank
        except TypeError:         # e.g. numbers and text: pandas' own sorted factorize
            rank = None
    if rank is None:
        try:
            codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
        except TypeError:         # values that do not compare: the caller cannot tell
            return None
        return np.where(codes < 0, len(uniques), codes), len(uniques) + 1
    size = int(rank.max()) + 1 if len(rank) else 0
    if not size:                # nothing but missing values
        return np.zeros(len(codes), dtype=np.int64), 1
    return np.where(codes < 0, size, rank[np.maximum(codes, 0)]), size + 1


def record_text(frame: pd.DataFrame, name: str, position: int) -> str:
    """The record at ``position`` as a user finds it: USUBJID, --SEQ and the raw row."""
    row = frame.iloc[position]
    parts = [f"{v}={row[v]!s}" for v in ("USUBJID", f"{name}SEQ") if v in frame.columns
             and str(row[v]) not in ("", "nan")]
    if "__table" in frame.columns and "__row" in frame.columns:
        parts.append(f"raw {row['__table']} row {row['__row']}")
    return ", ".join(parts) or f"record {position + 1}"


def _xpt_error(err: CdiscError, frame: pd.DataFrame, name: str, path: Path) -> CdiscError:
    """The XPT writer's error naming the target file and the records (not XPT rows)."""
    details = []
    for offence in getattr(err, "offences", None) or []:
        records = "; ".join(record_text(frame, name, p) for p in offence.rows
                            if 0 <= p < len(frame))
        details.append(f"{offence}" + (f" [records: {records}]" if records else ""))
    out = type(err)(err.message, rule=err.rule, file=path, dataset=name,
                    details=details or err.details)
    out.offences = getattr(err, "offences", None)
    return out


def write_dataset_files(frame: pd.DataFrame, name: str, folder: Path, *,
                        standard: str = "sdtmig-3.4", formats=("xpt", "csv"),
                        label: str | None = None, labels: dict[str, str] | None = None,
                        display_formats: dict[str, str] | None = None,
                        target: Path | None = None,
                        xpt_frames: dict[str, pd.DataFrame] | None = None,
                        compact_echo: bool = False) -> list[Path]:
    """Write one dataset into ``folder`` in each requested format; returns the paths.

    ``target``: the folder the files end up in when ``folder`` is a staging folder; errors
    name the file there, not the staging path that is gone once the error is reported.
    ``xpt_frames``: a dict that gets, under the upper-case name, the frame ``read_xpt``
    gives for the XPT file written (``attrs['path']`` set, as ``read_xpt_files`` does),
    made from what was written (``write_xpt(echo=True)``) so that define.xml and its
    checks need not read the file back; ``compact_echo``: its text held as the frame
    holds it when that is a categorical (``write_xpt``)."""
    # every format numbers the text columns the first one numbered (io.numbering)
    with shared_numbering() if len(formats) > 1 else contextlib.nullcontext():
        return _write_formats(frame, name, folder, standard=standard, formats=formats,
                              label=label, labels=labels, display_formats=display_formats,
                              target=target, xpt_frames=xpt_frames,
                              compact_echo=compact_echo)


def _write_formats(frame, name, folder, *, standard, formats, label, labels, display_formats,
                   target, xpt_frames, compact_echo) -> list[Path]:
    """:func:`write_dataset_files`' work."""
    from .xpt import write_xpt

    # not frame.drop(): it copies the kept columns of any block it takes apart (~400 MB
    # for ADEX at 50,000 subjects); the writers only read the columns they are given
    trace = {c for c in TRACE_COLUMNS if c in frame.columns}
    clean = frame_of({c: frame[c] for c in frame.columns if c not in trace},
                     frame) if trace else frame
    std_label, std_labels = variable_labels(clean, name, standard, labels)
    # only lengths a spec fixed (`length:` in the mapping); attrs["lengths"] from read_xpt
    # describe the file that was read and are not a spec
    spec_lengths = {k: v for k, v in (clean.attrs.get("spec_lengths") or {}).items()
                    if k in clean.columns}
    written = []
    stem = name.lower()
    if "xpt" in formats:
        transport, date_formats = to_transport(clean, name)
        display_formats = {**date_formats, **(display_formats or {})}
        path = folder / f"{stem}.xpt"
        try:
            done = write_xpt(transport, path, name=name, label=label or std_label,
                             labels=std_labels, lengths=spec_lengths or None,
                             formats=display_formats, echo=xpt_frames is not None,
                             compact_echo=compact_echo)
        except CdiscError as err:
            raise _xpt_error(err, frame, name, (target or folder) / path.name) from None
        if xpt_frames is not None:
            echo = done[1]
            echo.attrs["path"] = str(path)
            xpt_frames[name.upper()] = echo
        written.append(path)
    if "csv" in formats:
        path = folder / f"{stem}.csv"
        write_csv(clean, path)
        written.append(path)
    for fmt in ("json", "ndjson"):
        if fmt not in formats:
            continue
        from .datasetjson import write_dataset_json

        path = folder / f"{stem}.{fmt}"
        write_dataset_json(clean, path, name=name, label=label or std_label, ndjson=fmt == "ndjson",
                           columns_meta={c: {"label": std_labels[c]} for c in clean.columns})
        written.append(path)
    return written


#: Data sets of fewer cells (rows x variables) leave too little behind to be worth giving
#: back: the full garbage collection it takes costs ~30 ms in a process holding many
#: objects (a test session: 7 of 19 CPU s of eight small ADaM cases), per data set written.
RELEASE_AFTER_CELLS = 1_000_000


def write_folder(datasets: dict[str, pd.DataFrame], out: Path | str, *,
                 standard: str = "sdtmig-3.4", formats=("xpt", "json", "csv"),
                 reports: dict[str, pd.DataFrame] | None = None, progress=None,
                 dataset_labels: dict[str, str] | None = None, presorted: bool = False,
                 target: Path | None = None,
                 xpt_frames: dict[str, pd.DataFrame] | None = None,
                 consume: bool = False, order: list[str] | None = None,
                 compact: bool = False) -> Path:
    """Write every dataset (sorted by keys) plus report tables into ``out`` (created when
    missing; files of the same names are replaced). All-or-nothing is the caller's part:
    write into the staging folder of :func:`cdisc_convert.io.output.output_folder`, and
    give the folder the files end up in as ``target`` (for error messages).
    ``presorted``: the caller has put the datasets in key order with :func:`sort_by_keys`.
    ``xpt_frames``: a dict that gets the XPT files as read back, without reading them
    (:func:`write_dataset_files`). ``consume``: each dataset leaves ``datasets`` once
    written, so that its memory can go while the next is written (with ``xpt_frames``, a
    frame's memory is traded for its file's instead of holding both for every dataset).
    ``order``: the names in the order to write them (default: sorted); the files are the
    same whatever the order. ``compact``: every dataset's text is first held as codes, in
    ``datasets`` itself (:func:`~cdisc_convert.io.numbering.compact_datasets`), and the
    XPT echoes keep it so: for a forked writer, whose parent holds the same frames and
    frees them on its own schedule; the files are the same."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if compact:
        compact_datasets(datasets)      # gives each frame's memory back as it goes
    for name in order if order is not None else sorted(datasets):
        if progress:
            progress(f"writing {name} ({len(datasets[name])} records)")
        frame = datasets.pop(name) if consume else datasets[name]
        frame = frame if presorted else sort_by_keys(frame, name, standard)
        write_dataset_files(frame, name, out, standard=standard, formats=formats,
                            label=(dataset_labels or {}).get(name), target=target,
                            xpt_frames=xpt_frames, compact_echo=compact)
        large = frame.size >= RELEASE_AFTER_CELLS
        del frame                   # consumed: its memory goes with this release
        if large:
            release_free_memory()   # one data set's buffers, not the sum of all, stay resident
    for report_name, table in (reports or {}).items():
        write_csv(table, out / f"{report_name}.csv")
    return out
