"""Dataset-JSON 1.1: encode (see the package docstring)."""
from __future__ import annotations

import datetime as _dt
import decimal
import json
import re

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import CdiscError
from cdisc_convert.core.factorize import factorize_keys, factorize_objects
from cdisc_convert.core.sasdates import sas_epoch
from cdisc_convert.io.cells import ColumnText, RowLayout, merge_columns
from cdisc_convert.io.numbering import column_codes

from .common import DECIMAL_TEXT


# --------------------------------------------------------------------------------------
# values: pandas column → JSON text, one string per row
# --------------------------------------------------------------------------------------
#
# Each column of a chunk becomes an object array holding the JSON text of every cell.
# The text is made once per *distinct* value (core.factorize, then the encoder on the
# uniques, then a take): clinical columns repeat a few values millions of times. The
# texts are exactly those ``json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))``
# writes for the same Python values: strings through ``encode_basestring`` (the function
# the encoder uses), integers as ``int.__repr__``, floats as ``float.__repr__`` (shortest
# round trip), ``true``/``false`` and ``null``.

_encode_str = json.encoder.encode_basestring  # what JSONEncoder(ensure_ascii=False) uses
_NULL = "null"


def _value_error(message: str, meta: dict, dataset: str, row: int | None = None) -> CdiscError:
    """A value that does not fit its column's dataType (row is 0-based here, 1-based shown)."""
    return CdiscError(message, variable=meta["name"], dataset=dataset,
                      row=None if row is None else row + 1)


def _take_text(codes: np.ndarray, texts: list[str]) -> ColumnText:
    """One text per row from the text of each distinct value; code -1 gives ``null``."""
    return ColumnText(codes, [*texts, _NULL])


def _strings_json(values) -> np.ndarray:
    """``str``/``None`` values → JSON strings / ``null`` (each distinct string encoded once)."""
    codes, uniques = factorize_objects(np.asarray(values, dtype=object))
    return _take_text(codes, list(map(_encode_str, uniques.tolist())))


def _text_json(series: pd.Series, numbered: dict | None = None) -> ColumnText | None:
    """A column of text and missing values → JSON strings / ``null``; None when some
    value is not a ``str`` (the caller converts those).

    The distinct values come from :func:`~cdisc_convert.core.factorize.text_codes`
    (object identity and runs first: sorted data sets share and repeat their strings);
    when every distinct value is a ``str``, so is every value. ``numbered`` holds columns
    already numbered while their types were inferred, as (codes, distinct values): the
    column's entry is taken from it (and leaves it) instead of numbering it again.
    """
    if not (series.dtype == object
            or isinstance(series.dtype, (pd.StringDtype, pd.CategoricalDtype))):
        return None
    whole = (numbered or {}).pop(series.name, None)
    codes, uniques = column_codes(series) if whole is None else whole
    if len(uniques) and pd.api.types.infer_dtype(uniques, skipna=False) != "string":
        return None
    return _take_text(codes, list(map(_encode_str, uniques.tolist())))


def _numbers_json(values: np.ndarray, missing: np.ndarray | None, to_text) -> np.ndarray:
    """int64/float64 array → JSON numbers, ``null`` where ``missing``.

    Floats are factorized on their bit patterns so that 0.0 and -0.0 (equal as numbers,
    different as text) stay apart; ``to_text`` gets the Python int or float.
    """
    keys = values.view(np.int64) if values.dtype == np.float64 else values
    codes, first = factorize_keys(np.ascontiguousarray(keys))
    if missing is not None and missing.any():
        codes[missing] = -1
    return _take_text(codes, list(map(to_text, values[first].tolist())))


def _float_array(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """A numeric column as float64 (NaN = missing); text that is not a number is an error."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.to_numpy(dtype="float64", na_value=np.nan)
    try:
        numbers = pd.to_numeric(series, errors="raise")
        values = numbers.to_numpy(dtype="float64", na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise _value_error(f"{meta['dataType']} column holds a non-numeric value ({exc})",
                           meta, dataset) from None
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise _value_error("infinite values cannot be written to JSON", meta, dataset, row)
    return values


def _integer_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """integer → JSON integers; floats must be whole (SAS stores integers as floats)."""
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return _numbers_json(series.to_numpy(dtype="int64"), None, int.__repr__)
    values = _float_array(series, meta, dataset)
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    fraction = filled != np.floor(filled)
    if fraction.any():
        row = int(np.flatnonzero(fraction)[0])
        raise _value_error(f"dataType integer but value {values[row]!r} is not whole",
                           meta, dataset, row)
    return _numbers_json(filled.astype(np.int64), missing, int.__repr__)


def _number_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """float/double → JSON numbers (Python's shortest round-trip repr)."""
    values = _float_array(series, meta, dataset)
    return _numbers_json(values, np.isnan(values), float.__repr__)


def _decimal_text(value) -> str:
    """A decimal as plain positional text with "." (spec: decimals travel as strings)."""
    if isinstance(value, str):
        return value
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    return np.format_float_positional(float(value), trim="-")


def _decimal_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """decimal → JSON strings such as ``"30.8983333232059"`` (shortest exact text)."""
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    out = [None if m else _decimal_text(v) for v, m in zip(values.tolist(), missing)]
    bad = [i for i, v in enumerate(out)
           if v is not None and not re.fullmatch(DECIMAL_TEXT, v.replace(",", ""))]
    if bad:
        raise _value_error(f"value {out[bad[0]]!r} is not a decimal number", meta, dataset,
                           bad[0])
    return _strings_json(out)


def _boolean_values(series: pd.Series, meta: dict, dataset: str) -> np.ndarray:
    """boolean → JSON true/false; numbers count as true when not 0."""
    if pd.api.types.is_bool_dtype(series.dtype) and not series.hasnans:
        flags, missing = series.to_numpy(dtype=bool), None
    else:
        values = _float_array(series, meta, dataset)
        flags, missing = values != 0, np.isnan(values)
    codes = flags.astype(np.int8)
    if missing is not None:
        codes[missing] = -1
    return _take_text(codes, ["false", "true"])


def _present_strings(values: np.ndarray, missing: np.ndarray) -> np.ndarray | None:
    """``values`` with None where missing when every other value is a ``str``; else None."""
    present = values[~missing]
    if len(present) and pd.api.types.infer_dtype(present, skipna=False) != "string":
        return None
    if missing.any():
        values = values.copy()
        values[missing] = None
    return values


def _string_values(series: pd.Series, meta: dict, dataset: str,
                   numbered: dict | None = None) -> np.ndarray:
    """string/URI → JSON strings; NaN/None → null, ``""`` stays ``""``; other → ``str()``."""
    # Common case: text and missing values only (missing is what pd.isna says: null)
    text = _text_json(series, numbered)
    if text is not None:
        return text
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    text = _present_strings(values, missing)
    if text is None:  # not all text: str() of each present value
        text = [None if m else v if isinstance(v, str) else str(v)
                for v, m in zip(values.tolist(), missing)]
    return _strings_json(text)


def _with_nulls(values: list, missing: np.ndarray) -> list:
    """Put ``None`` (JSON null) at the missing positions of ``values`` (in place)."""
    for i in np.flatnonzero(missing):
        values[i] = None
    return values


def _iso_from_datetime64(values: np.ndarray, kind: str) -> list:
    """datetime64 array → ISO 8601 text (seconds unless sub-seconds are present)."""
    missing = np.isnat(values)
    if kind == "date":
        text = values.astype("datetime64[D]").astype(str)
    elif kind == "time":
        seconds = (values - values.astype("datetime64[D]")).astype("timedelta64[us]")
        text = np.array([_time_text(s / np.timedelta64(1, "s")) if not m else ""
                         for s, m in zip(seconds, missing)], dtype=object)
    else:
        as_s = values.astype("datetime64[s]")
        unit = "s" if np.all((values == as_s) | missing) else "us"
        text = values.astype(f"datetime64[{unit}]").astype(str)
    return _with_nulls(text.tolist(), missing)


def _time_text(seconds: float) -> str:
    """Seconds after midnight → ``HH:MM:SS`` (fraction kept when present)."""
    whole = int(seconds // 1)
    frac = seconds - whole
    hh, rem = divmod(whole, 3600)
    mm, ss = divmod(rem, 60)
    text = f"{hh:02d}:{mm:02d}:{ss:02d}"
    if frac:
        text += np.format_float_positional(frac, trim="-")[1:]
    return text


def _iso_from_sas_number(value: float, kind: str) -> str:
    """SAS date (days since 1960-01-01), datetime or time (seconds) → ISO 8601 text."""
    if kind == "date":
        if value != int(value):
            raise ValueError(f"SAS date {value!r} is not whole")
        return str(sas_epoch("D") + np.timedelta64(int(value), "D"))
    if kind == "time":
        return _time_text(value)
    stamp = sas_epoch("us") + np.timedelta64(round(value * 1e6), "us")
    return str(stamp.astype("datetime64[s]")) if value == int(value) else str(stamp)


def _iso_from_object(value, kind: str) -> str:
    """One date/datetime/time value (text, Python/pandas object or SAS number) → ISO text."""
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):  # includes pandas.Timestamp; test before date
        if kind == "date":
            return value.date().isoformat()
        if kind == "time":
            return value.time().isoformat()
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, _dt.time):
        return value.isoformat()
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return _iso_from_sas_number(float(value), kind)
    raise TypeError(f"{type(value).__name__} {value!r}")


def _temporal_values(series: pd.Series, meta: dict, dataset: str,
                     numbered: dict | None = None) -> np.ndarray:
    """date/datetime/time → ISO 8601 strings, whatever the in-memory form.

    Accepted: ISO text (passed through, SDTM --DTC), ``datetime.date``/``datetime``/
    ``time`` objects and datetime64 (pyreadstat's ADaM dates), and numbers, read as SAS
    values (days since 1960-01-01 for dates, seconds for datetimes and times).
    Time-zone-aware datetimes are converted to UTC.
    """
    kind = meta["dataType"]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        stamps = series.to_numpy(dtype="datetime64[ns]")
        # distinct instants (NaT included) → text; the seconds/microseconds choice of
        # _iso_from_datetime64 depends on the set of values only, so it is the same
        codes, uniques = pd.factorize(stamps.view(np.int64))
        texts = _iso_from_datetime64(uniques.view("datetime64[ns]"), kind)
        return _take_text(codes, [_NULL if t is None else _encode_str(t) for t in texts])
    text = _text_json(series, numbered)  # ISO text already (SDTM --DTC): the common case
    if text is not None:
        return text
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    types = set(map(type, values[~missing]))
    if types == {_dt.date} and kind == "date":  # pyreadstat's ADaM dates: the common case
        dates = values.copy()
        dates[missing] = None
        codes, uniques = pd.factorize(dates)
        return _take_text(codes, [_encode_str(d.isoformat()) for d in uniques.tolist()])
    out = []
    for i, (value, miss) in enumerate(zip(values.tolist(), missing)):
        if miss:
            out.append(None)
            continue
        try:
            out.append(_iso_from_object(value, kind))
        except (TypeError, ValueError, OverflowError) as exc:
            raise _value_error(f"cannot write {exc} as an ISO 8601 {kind}", meta, dataset,
                               i) from None
    return _strings_json(out)


_CONVERTERS = {
    "string": _string_values, "URI": _string_values,
    "integer": _integer_values,
    "float": _number_values, "double": _number_values,
    "decimal": _decimal_values,
    "boolean": _boolean_values,
    "date": _temporal_values, "datetime": _temporal_values, "time": _temporal_values,
}


_NUMBERED = (_string_values, _temporal_values)   # converters that reuse numbered text


def json_columns(frame: pd.DataFrame, columns: list[dict], dataset: str,
                 numbered: dict | None = None):
    """The frame's columns one by one (a generator), as distinct texts and row codes.

    ``numbered``: text columns numbered while their types were inferred (see
    :func:`_text_json`)."""
    for j, meta in enumerate(columns):
        convert = _CONVERTERS[meta["dataType"]]
        if numbered and convert in _NUMBERED:
            yield convert(frame.iloc[:, j], meta, dataset, numbered)
        else:
            yield convert(frame.iloc[:, j], meta, dataset)


def row_layout(frame: pd.DataFrame, columns: list[dict], dataset: str, separator: str,
               numbered: dict | None = None) -> RowLayout | None:
    """The rows as JSON arrays, each followed by ``separator`` (newline for NDJSON, comma
    and newline for JSON) and the next row's ``[``: the caller opens the first row and
    closes the last (None when there are no columns: every row is ``[]``).

    Each column is converted once for the whole file (each distinct value's text made
    once), joined with its neighbours where their combinations are few
    (:func:`~cdisc_convert.io.cells.merge_columns`, one column converted at a time), and
    each distinct text gets what follows it in the file (``,`` within a row, ``]`` +
    separator + ``[`` after the last column) once: the rows' bytes are then laid out a
    range at a time (:class:`~cdisc_convert.io.cells.RowLayout`), no Python work per cell
    or per row.
    """
    if not columns:
        return None
    texts = merge_columns(json_columns(frame, columns, dataset, numbered), len(frame))
    return RowLayout(texts, [","] * (len(texts) - 1) + ["]" + separator + "["])
