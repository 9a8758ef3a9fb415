"""Dataset-JSON 1.1: columns (see the package docstring)."""
from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.sasformats import canonical_format, temporal_kind
from cdisc_convert.io.numbering import column_codes

from .common import (COLUMN_KEY_ORDER, COUNT_SUFFIXES, DATA_TYPES, DEFAULT_DISPLAY_FORMATS,
                     TARGET_DATA_TYPES, TEMPORAL_TYPES, item_oid)


# --------------------------------------------------------------------------------------
# column metadata: inference and checks
# --------------------------------------------------------------------------------------

def _max_utf8_length(values: np.ndarray) -> int:
    """Longest value in UTF-8 bytes (at least 1: the schema's minimum for ``length``)."""
    if len(values) == 0:
        return 1
    distinct = pd.unique(np.asarray(values, dtype=object))  # few distinct values, usually
    return max(1, max(map(len, map(str.encode, map(str, distinct)))))


def _all_instances(types: set[type], kinds: tuple[type, ...], exclude: tuple = ()) -> bool:
    """True when there is at least one value type and every one is one of ``kinds``."""
    return bool(types) and all(issubclass(t, kinds) and not issubclass(t, exclude)
                               for t in types)


def _infer_dtype_fields(series: pd.Series, name: str, sas_format=None,
                        numbered: dict | None = None) -> dict[str, Any]:
    """dataType (and targetDataType/length/displayFormat) inferred from a pandas column.

    Rules, in order:

    * a numeric column with a SAS date/datetime/time format (``sas_format``, taken from
      ``frame.attrs["formats"]`` as our XPT reader sets it) holds SAS numbers: date/
      datetime/time with targetDataType integer and that format as displayFormat.
    * bool → boolean; integer dtypes → integer.
    * float → integer when the name ends with SEQ, DY, NUM or CNT and every value is
      whole; otherwise double.
    * datetime64 → datetime, ``targetDataType`` integer, ``DATETIME20.`` (an ADaM numeric
      datetime, as pyreadstat presents one).
    * object columns holding only ``datetime.date`` → date + integer + ``DATE9.``; only
      ``datetime.time`` → time + integer + ``TIME8.``; only ``datetime.datetime`` →
      datetime + integer + ``DATETIME20.``; only ``Decimal`` → decimal; only bool → boolean.
    * anything else (object, string, category) → string with ``length`` = the longest
      value in UTF-8 bytes (1 when all values are missing).

    ``numbered`` (a dict, optional) receives the text column's (codes, distinct values)
    under its name, so the writer does not number the column a second time.
    """
    dtype = series.dtype
    kind = temporal_kind(sas_format)
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if kind and numeric:
        return {**_temporal_fields(kind), "displayFormat": canonical_format(sas_format)}
    if pd.api.types.is_bool_dtype(dtype):
        return {"dataType": "boolean"}
    if pd.api.types.is_integer_dtype(dtype):
        return {"dataType": "integer"}
    if pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        whole = bool(np.all(finite == np.floor(finite)))
        if whole and str(name).upper().endswith(COUNT_SUFFIXES):
            return {"dataType": "integer"}
        return {"dataType": "double"}
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _temporal_fields("datetime")
    if dtype == object or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype)):
        codes, distinct = column_codes(series)
        if numbered is not None:   # kept for the whole write (narrow: column_codes)
            numbered[name] = (codes, distinct)
    else:
        distinct = pd.factorize(series.to_numpy(dtype=object))[1]
    if len(distinct) and pd.api.types.infer_dtype(distinct, skipna=False) == "string":
        # only text (factorize drops the missing values; nothing but a str equals a str)
        return {"dataType": "string", "length": _max_utf8_length(distinct)}
    raw = series.to_numpy(dtype=object)
    values = raw[~pd.isna(raw)]
    types = set(map(type, values))
    if _all_instances(types, (_dt.datetime,)):
        return _temporal_fields("datetime")
    if _all_instances(types, (_dt.date,), exclude=(_dt.datetime,)):
        return _temporal_fields("date")
    if _all_instances(types, (_dt.time,)):
        return _temporal_fields("time")
    if _all_instances(types, (decimal.Decimal,)):
        return {"dataType": "decimal", "targetDataType": "decimal"}
    if _all_instances(types, (bool, np.bool_)):
        return {"dataType": "boolean"}
    return {"dataType": "string", "length": _max_utf8_length(values)}


def _temporal_fields(kind: str) -> dict[str, Any]:
    """Fields of an ADaM numeric date/datetime/time column (spec: targetDataType integer)."""
    return {"dataType": kind, "targetDataType": "integer",
            "displayFormat": DEFAULT_DISPLAY_FORMATS[kind]}


def infer_column_metadata(frame: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    """Column metadata for every column of ``frame`` from dtypes alone (no spec given).

    The type rules are those of :func:`_infer_dtype_fields`. Labels come from ``frame.attrs["labels"]`` when present (the convention of our
    readers), else ``""``; SAS formats from ``frame.attrs["formats"]`` mark SAS-number
    dates (see :func:`_infer_dtype_fields`).
    """
    return build_columns(frame, name, None)


def _normalise_columns_meta(columns_meta, frame: pd.DataFrame) -> dict[str, dict]:
    """``columns_meta`` (list of dicts with ``name``, or ``{column: dict}``) as a dict.

    Metadata for a column that is not in the frame is a spec error: it usually means a
    renamed or dropped variable.
    """
    if columns_meta is None:
        return {}
    if isinstance(columns_meta, Mapping):
        items = []
        for col, meta in columns_meta.items():
            if not isinstance(meta, Mapping):
                raise SpecError(f"column metadata for {col!r} must be a mapping", variable=col)
            if "name" in meta and meta["name"] != col:
                raise SpecError(f"column metadata keyed {col!r} has name {meta['name']!r}",
                                variable=col)
            items.append((col, dict(meta)))
    elif isinstance(columns_meta, Sequence) and not isinstance(columns_meta, str):
        items = []
        for i, meta in enumerate(columns_meta):
            if not isinstance(meta, Mapping) or "name" not in meta:
                raise SpecError(f"column metadata entry {i + 1} must be a mapping with 'name'")
            items.append((meta["name"], dict(meta)))
    else:
        raise SpecError("columns_meta must be a list of dicts or a dict of dicts")
    by_name: dict[str, dict] = {}
    for col, meta in items:
        if col in by_name:
            raise SpecError(f"column metadata given twice for {col!r}", variable=col)
        by_name[col] = meta
    unknown = [c for c in by_name if c not in frame.columns]
    if unknown:
        raise SpecError("column metadata names variables that are not in the data: "
                        + ", ".join(map(str, unknown)))
    return by_name


def _check_column(meta: dict[str, Any], dataset: str) -> None:
    """Reject column metadata the specification does not allow.

    Allowed keys are those of the spec; dataType is from its enumeration; targetDataType
    integer goes only with date/datetime/time and decimal only with decimal; length and
    keySequence are integers ≥ 1.
    """
    col = meta.get("name")
    where = {"variable": col, "dataset": dataset}
    extra = [k for k in meta if k not in COLUMN_KEY_ORDER]
    if extra:
        raise SpecError(f"unknown column attribute(s) {', '.join(extra)}; allowed: "
                        + ", ".join(COLUMN_KEY_ORDER), **where)
    dtype = meta.get("dataType")
    if dtype not in DATA_TYPES:
        raise SpecError(f"dataType {dtype!r} is not one of {', '.join(DATA_TYPES)}", **where)
    target = meta.get("targetDataType")
    if target is not None:
        if target not in TARGET_DATA_TYPES:
            raise SpecError(f"targetDataType {target!r} is not one of integer, decimal",
                            **where)
        if target == "integer" and dtype not in TEMPORAL_TYPES:
            raise SpecError("targetDataType integer is only for date/datetime/time columns "
                            f"(ADaM numeric dates), not {dtype}", **where)
        if target == "decimal" and dtype != "decimal":
            raise SpecError(f"targetDataType decimal needs dataType decimal, not {dtype}",
                            **where)
    for key in ("length", "keySequence"):
        value = meta.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise SpecError(f"{key} must be an integer ≥ 1, got {value!r}", **where)
    for key in ("itemOID", "name", "label", "displayFormat"):
        if key in meta and not isinstance(meta[key], str):
            raise SpecError(f"{key} must be text, got {meta[key]!r}", **where)
    if not meta["itemOID"] or not meta["name"]:
        raise SpecError("itemOID and name must not be empty", **where)


def build_columns(frame: pd.DataFrame, name: str, columns_meta,
                  numbered: dict | None = None) -> list[dict[str, Any]]:
    """Final column metadata in frame order.

    Metadata given for a column is used as given (keys put in spec order); missing pieces
    are filled in: ``itemOID`` = ``IT.<DATASET>.<VAR>``, ``name``, ``label`` (from
    ``frame.attrs["labels"]`` or ``""``) and, when ``dataType`` is absent, the inferred
    type with its length/targetDataType/displayFormat. One spec rule is always applied:
    a decimal column gets ``targetDataType: "decimal"`` (decimals travel as strings).
    ``numbered``: see :func:`_infer_dtype_fields`.
    """
    given = _normalise_columns_meta(columns_meta, frame)
    labels = frame.attrs.get("labels") or {}
    formats = frame.attrs.get("formats") or {}
    if frame.columns.has_duplicates:
        dups = sorted(set(map(str, frame.columns[frame.columns.duplicated()])))
        raise SpecError("duplicate column names: " + ", ".join(dups), dataset=name)
    columns = []
    for col in frame.columns:
        if not isinstance(col, str) or not col:
            raise SpecError(f"column name {col!r} must be non-empty text", dataset=name)
        meta = dict(given.get(col, {}))
        meta.setdefault("itemOID", item_oid(name, col))
        meta.setdefault("name", col)
        meta.setdefault("label", str(labels.get(col, "")))
        if "dataType" not in meta:
            for key, value in _infer_dtype_fields(frame[col], col, formats.get(col),
                                                     numbered).items():
                meta.setdefault(key, value)
        if meta["dataType"] == "decimal":
            meta.setdefault("targetDataType", "decimal")
        _check_column(meta, name)
        columns.append({k: meta[k] for k in COLUMN_KEY_ORDER if meta.get(k) is not None})
    keys = [c["keySequence"] for c in columns if "keySequence" in c]
    if len(keys) != len(set(keys)):
        raise SpecError("keySequence values must be unique", dataset=name)
    return columns


