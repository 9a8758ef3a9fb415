"""Read a CDISC controlled-terminology release as NCI EVS publishes it.

NCI EVS publishes each quarterly CDISC CT release as ``SDTM Terminology.txt`` (tab
separated, one row per codelist header and per term; a header row has an empty
``Codelist Code``) and the ADaM / Define-XML releases in the same layout (also as CSV).
:func:`read_nci_release` turns such a file into one row per term carrying its codelist's
attributes, the form ``specs/ct/*.csv[.gz]`` are stored in and :class:`Terminology` loads.
``tools/build_specs.py`` uses the same function, so a user's file and the bundled release
are read the same way.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from cdisc_convert.core.errors import SpecError

SEP = ";"

#: columns of one term row, in file order
CT_COLUMNS = [
    "codelist_code", "codelist_short_name", "codelist_name", "extensible", "term_code",
    "submission_value", "synonyms", "preferred_term",
]

_NCI_COLUMNS = ["Code", "Codelist Code", "Codelist Extensible (Yes/No)", "Codelist Name",
                "CDISC Submission Value", "CDISC Synonym(s)", "NCI Preferred Term"]


def read_nci_table(path: Path) -> pd.DataFrame:
    """The raw NCI EVS table: tab-separated ``.txt`` or comma-separated ``.csv``, all text.

    Every cell is read as text: "NA" is a real submission value (NY codelist), never
    missing. NCI's text files do not quote, so quote characters are data.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".txt":
            raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False,
                              quoting=csv.QUOTE_NONE, encoding="utf-8-sig")
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise SpecError(f"cannot read the CT release file: {err}", file=path) from err
    missing = [c for c in _NCI_COLUMNS if c not in raw.columns]
    if missing:
        raise SpecError(f"not an NCI EVS CDISC terminology file: columns {missing} are missing",
                        file=path, details=[f"columns found: {list(raw.columns)}"])
    return raw


def normalise_nci(raw: pd.DataFrame, file: Path | None = None) -> pd.DataFrame:
    """NCI EVS layout -> one row per term (:data:`CT_COLUMNS`), sorted by codelist and value."""
    header = raw["Codelist Code"].str.strip() == ""
    headers, terms = raw[header], raw[~header]
    if headers["Code"].duplicated().any():
        dup = sorted(set(headers.loc[headers["Code"].duplicated(), "Code"]))
        raise SpecError(f"codelist header rows repeated: {dup[:5]}", file=file)
    hdr = headers.set_index("Code")
    orphans = sorted(set(terms["Codelist Code"]) - set(hdr.index))
    if orphans:
        raise SpecError(f"terms of codelists without a header row: {orphans[:5]}", file=file)
    code = terms["Codelist Code"]
    out = pd.DataFrame({
        "codelist_code": code,
        "codelist_short_name": code.map(hdr["CDISC Submission Value"]),
        "codelist_name": code.map(hdr["Codelist Name"]),
        "extensible": code.map(hdr["Codelist Extensible (Yes/No)"]),
        "term_code": terms["Code"],
        "submission_value": terms["CDISC Submission Value"],
        # NCI separates synonyms with "; "; ours are ";" without blanks
        "synonyms": terms["CDISC Synonym(s)"].str.split(";").map(
            lambda parts: SEP.join(p.strip() for p in parts if p.strip())),
        "preferred_term": terms["NCI Preferred Term"],
    })
    bad = ~out["extensible"].isin(["Yes", "No"])
    if bad.any():
        raise SpecError("codelist header without Yes/No extensibility: "
                        f"{sorted(set(out.loc[bad, 'codelist_code']))[:5]}", file=file)
    return sort_terms(out)


def sort_terms(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["codelist_short_name", "codelist_code", "submission_value", "term_code"],
                          kind="mergesort").reset_index(drop=True)[CT_COLUMNS]


def release_from_name(path: Path) -> str | None:
    """The release date in a file name (``SDTM Terminology 2024-12-20.txt``), or None."""
    m = re.search(r"(\d{4}-\d{2}-\d{2})", Path(path).name)
    return m.group(1) if m else None


def read_nci_release(path: Path | str) -> pd.DataFrame:
    """Read an NCI EVS release file (see the module docstring) into term rows."""
    path = Path(path)
    return normalise_nci(read_nci_table(path), file=path)


__all__ = ["CT_COLUMNS", "normalise_nci", "read_nci_release", "read_nci_table",
           "release_from_name", "sort_terms"]
