"""CDISC Dataset-JSON v1.1: write, read and validate.

Specification: CDISC Dataset-JSON v1.1 (2024-12-05). One dataset per file: top-level
metadata, ``columns`` (one metadata object per variable) and ``rows`` (one array per record).

Rules this module follows (each is stated again where it is applied):

* **Key order** is the attribute order of the specification, so streaming readers work.
* **OIDs** follow the Define-XML convention: ``IG.<DATASET>`` for the dataset and
  ``IT.<DATASET>.<VAR>`` for a variable (``IT.ADSL.AGE``), so they match our define.xml.
  Names are used exactly as given (CDISC names are upper case already).
* **Missing values** are ``null``. An empty character value is ``""``.
* **Logical type versus JSON type** (spec table "Supported Column Data Type Combinations"):
  string/URI/date/datetime/time travel as JSON strings, integer as JSON integers,
  float/double as JSON numbers, boolean as ``true``/``false`` and decimal as a JSON
  *string* (with ``targetDataType: "decimal"``) so that no rounding happens.
* **ADaM numeric dates** (SAS numbers with a DATE9./DATETIME20./TIME8. format) are
  ``dataType`` date/datetime/time with ``targetDataType: "integer"``; their values are
  ISO 8601 *text* (``"2014-01-02"``), the receiver turns them back into numbers.
  SDTM ``--DTC`` variables are ISO 8601 text already and carry no ``targetDataType``.
* **Reproducible output**: ``datasetJSONCreationDateTime`` comes from ``SOURCE_DATE_EPOCH``
  (seconds, UTC) when set, so a rerun writes the same bytes. Files are written atomically.

In memory, :func:`read_dataset_json` gives the frame that ``pyreadstat.read_xport`` gives
for the matching XPT file with its default options (character columns as ``str`` with
``""`` for blank, numbers as float64 with NaN, DATE-formatted numbers as ``datetime.date``
objects, DATETIME as ``datetime64[ns]``, TIME as ``datetime.time``). The tests check this
against every example pair in the public CDISC reference data.
"""
from __future__ import annotations

# The package by concern: common (version, data types, OIDs, creation time), columns
# (column metadata: inference and checks), encode (pandas columns -> JSON text), writer,
# reader, arrowrows and columnar (the reader's column-by-column routes for rows laid out
# one per line: cells cut by Arrow's CSV reader, else found by numpy passes), validate
# (JSON Schema and structure checks).
from .columns import infer_column_metadata
from .common import DATASET_JSON_VERSION, creation_datetime, item_group_oid, item_oid
from .reader import load_dataset_json, read_dataset_json
from .validate import validate_dataset_json
from .writer import write_dataset_json

__all__ = [
    "DATASET_JSON_VERSION",
    "write_dataset_json",
    "read_dataset_json",
    "load_dataset_json",
    "validate_dataset_json",
    "item_oid",
    "item_group_oid",
    "infer_column_metadata",
    "creation_datetime",
]
