"""SAS date numbers: days (dates) or seconds (datetimes) since 1960-01-01.

XPT files store ADaM dates this way, with a display format saying which of the two a
number is (``DATE9.`` or ``DATETIME20.``); in memory the package keeps datetime64. This
module is the one place that knows the epoch and converts between the two forms.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cdisc_convert.core.sasformats import temporal_kind

__all__ = ["SAS_EPOCH", "from_sas_days", "from_sas_seconds",
           "is_sas_date_format", "is_sas_datetime_format", "sas_epoch", "to_sas_days",
           "to_sas_seconds"]

#: Day 0 of SAS dates and second 0 of SAS datetimes.
SAS_EPOCH = pd.Timestamp("1960-01-01")


def sas_epoch(unit: str = "D") -> np.datetime64:
    """The epoch as a numpy datetime64 of ``unit`` ("D", "s", "us" ...)."""
    return np.datetime64("1960-01-01", unit)


def is_sas_datetime_format(fmt) -> bool:
    """Does display format ``fmt`` (``DATETIME20.``, ``E8601DT``) mark seconds?
    (:func:`cdisc_convert.core.sasformats.temporal_kind` decides, whatever the spelling.)"""
    return temporal_kind(fmt) == "datetime"


def is_sas_date_format(fmt) -> bool:
    """Does display format ``fmt`` (``DATE9.``, ``YYMMDD10.``, ``DATE9``) mark days?"""
    return temporal_kind(fmt) == "date"


def to_sas_days(dates: pd.Series) -> pd.Series:
    """Whole days since the epoch (float, NaN for NaT) of datetime64 values; a time of
    day is dropped (floor)."""
    return (dates - SAS_EPOCH).dt.days.astype(float)


def to_sas_seconds(stamps: pd.Series) -> pd.Series:
    """Seconds since the epoch (float, NaN for NaT) of datetime64 values."""
    return (stamps - SAS_EPOCH).dt.total_seconds()


def from_sas_days(numbers) -> pd.Series:
    """datetime64 of SAS date numbers (NaN gives NaT)."""
    return _from_sas(numbers, "D")


def from_sas_seconds(numbers) -> pd.Series:
    """datetime64 of SAS datetime numbers (NaN gives NaT)."""
    return _from_sas(numbers, "s")


#: nanoseconds per unit, and the magnitude below which whole numbers of the unit after
#: 1960 stay well inside datetime64[ns] (1677-2262)
_NS_PER = {"D": 86_400 * 10**9, "s": 10**9}
_WHOLE_LIMIT = {"D": 100_000, "s": 8.6e9}


def _from_sas(numbers, unit: str):
    """``SAS_EPOCH + pd.to_timedelta(numbers, unit=unit)``, computed in integer numpy when
    every number is whole and in range (dates always are, datetimes nearly always): pandas
    converts floats one by one, 20 times slower. Anything else takes pandas' way, so
    fractions, overflow and odd input behave as they always did."""
    try:
        values = np.asarray(numbers, dtype="float64")
    except (TypeError, ValueError):
        values = None
    if values is not None and values.ndim == 1:
        missing = np.isnan(values)
        whole = np.where(missing, 0.0, values)
        if (np.abs(whole) < _WHOLE_LIMIT[unit]).all() and (whole == np.floor(whole)).all():
            nanos = whole.astype(np.int64) * _NS_PER[unit] + SAS_EPOCH.value
            stamps = nanos.view("datetime64[ns]")
            stamps[missing] = np.datetime64("NaT", "ns")
            if isinstance(numbers, pd.Series):
                return pd.Series(stamps, index=numbers.index, name=numbers.name, copy=False)
            return pd.DatetimeIndex(stamps)
    return SAS_EPOCH + pd.to_timedelta(numbers, unit=unit)
