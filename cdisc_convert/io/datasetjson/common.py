"""Dataset-JSON 1.1: common (see the package docstring)."""
from __future__ import annotations

import contextlib
import datetime as _dt
import gc


from cdisc_convert.core.reproducible import creation_time



DATASET_JSON_VERSION = "1.1.0"
DATA_TYPES = ("string", "integer", "decimal", "float", "double", "boolean",
              "datetime", "date", "time", "URI")
TARGET_DATA_TYPES = ("integer", "decimal")
TEMPORAL_TYPES = ("date", "datetime", "time")
NUMERIC_TYPES = ("integer", "decimal", "float", "double")
TEXT_TYPES = ("string", "URI")

#: Top-level attributes in specification order (``rows`` is written last, separately).
TOP_LEVEL_ORDER = ("datasetJSONCreationDateTime", "datasetJSONVersion", "fileOID",
                   "dbLastModifiedDateTime", "originator", "sourceSystem", "studyOID",
                   "metaDataVersionOID", "metaDataRef", "itemGroupOID", "records", "name",
                   "label", "columns")
#: Required top-level attributes (spec and JSON schema).
REQUIRED_TOP_LEVEL = ("datasetJSONCreationDateTime", "datasetJSONVersion", "itemGroupOID",
                      "records", "name", "label", "columns")
#: Column attributes in specification order; no others are allowed (schema).
COLUMN_KEY_ORDER = ("itemOID", "name", "label", "dataType", "targetDataType", "length",
                    "displayFormat", "keySequence")
REQUIRED_COLUMN_KEYS = ("itemOID", "name", "label", "dataType")

#: SAS display formats we give inferred ADaM date/time columns (pyreadstat reads them back
#: as dates/datetimes/times).
DEFAULT_DISPLAY_FORMATS = {"date": "DATE9.", "datetime": "DATETIME20.", "time": "TIME8."}
#: A float column whose name ends like this and whose values are all whole is inferred as
#: integer (sequence numbers, study days, counts). Every other float column is double.
COUNT_SUFFIXES = ("SEQ", "DY", "NUM", "CNT")

DATE_MODES = ("python", "sas", "iso")
ROW_CHUNK = 100_000
DECIMAL_TEXT = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------------------
# identifiers and time stamps
# --------------------------------------------------------------------------------------

def item_group_oid(dataset: str) -> str:
    """Define-XML ItemGroupDef OID of a dataset: ``IG.<DATASET>``."""
    return f"IG.{dataset}"


def item_oid(dataset: str, variable: str) -> str:
    """Define-XML ItemDef OID of a variable: ``IT.<DATASET>.<VAR>`` (``IT.ADSL.AGE``)."""
    return f"IT.{dataset}.{variable}"


def creation_datetime(now: _dt.datetime | None = None) -> str:
    """Creation time stamp, ISO 8601 in UTC with ``Z``, to the second.

    ``SOURCE_DATE_EPOCH`` (integer seconds since 1970-01-01 UTC, the reproducible-builds
    convention) wins over the clock, so reruns produce byte-identical files.
    """
    return creation_time(now).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while millions of small lists are built.

    json.loads and the row → column transposition create only acyclic containers; the
    collector would rescan them again and again (3-5x slower on 1M rows).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


