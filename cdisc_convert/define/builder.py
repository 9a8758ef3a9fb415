"""Define-XML 2.1 for a folder of SDTM or ADaM datasets: build, write, validate.

:func:`build_define` describes datasets (``{NAME: DataFrame}`` as read by
:func:`cdisc_convert.io.datasets.read_folder`) in Define-XML 2.1 (ODM 1.3.2): standards,
datasets (ItemGroupDef), variables (ItemDef), value-level metadata (ValueListDef and
WhereClauseDef), controlled terminology (CodeList), derivations (MethodDef) and comments
(def:CommentDef). :func:`write_define` does that for a folder and writes ``define.xml`` and
its HTML view ``define.html`` next to it, all-or-nothing. :func:`validate_define` checks a
define.xml against the Define-XML 2.1 schema (shipped by the ``odmlib`` package) and against
the data it describes.

Where the metadata comes from
-----------------------------
* **Standards**: SDTMIG 3.4 / ADaMIG 1.3 from ``specs/`` (labels, Req → Mandatory, roles,
  natural keys → KeySequence, CDISC codelists of each variable); the CT releases are those
  loaded (``specs/ct/releases.csv``).
* **Data**: DataType, Length (character: the longest value in bytes, trailing blanks
  dropped, at least 1), SignificantDigits, display formats, the codelist values (only the
  values present), value-level subsets.
* **Origins** (SDTM): the study's mapping spec (``mappings/<study>/*.yaml``): a rule reading
  raw data (``from``/``date``/``number``/``unit``) is Collected (Source Investigator), a
  ``value`` without condition is Assigned (Sponsor), conditional values, ``format``,
  ``age`` and everything under ``derive:`` (--SEQ, --DY, EPOCH, VISIT/VISITNUM, reference
  dates, baseline flags, post rules) are Derived (Sponsor) with a MethodDef that states the
  rule; literal ``rows:`` (TS) are Protocol values. A variable produced differently by
  different record blocks gets one ``def:Origin`` per kind (Define-XML 2.1 allows several).
  Without a mapping spec, well-known names are used (--SEQ, --DY, EPOCH ... Derived,
  STUDYID/DOMAIN Assigned, the rest Collected).
* **Origins and methods** (ADaM): the ADaM config (``adam.yaml``) and the derivation
  modules' rules (:mod:`cdisc_convert.adam.adsl`, ``adrs``, ``adtte``, ``tumor_response``),
  stated with the configured values (e.g. the 42-day SD window). Variables copied from DM
  (ADSL) or ADSL (other datasets) are Predecessor (``DM.AGE``).

Conventions
-----------
* OIDs: ``IG.<DS>``, ``IT.<DS>.<VAR>`` (as our Dataset-JSON itemOIDs),
  ``IT.<DS>.<VAR>.<value>`` for value-level items, ``VL.<DS>.<VAR>``,
  ``WC.<DS>.<VAR>.EQ.<value>``, ``CL.<codelist>``, ``MT.<DS>.<VAR>``, ``COM.<DS>[.<VAR>]``,
  ``LF.<DS>``. Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``_``.
* Lengths of numbers follow ODM 1.3.2: integer Length = digits of the largest magnitude;
  float Length = integer digits + SignificantDigits, SignificantDigits = decimals needed to
  state every value to 1e-9 relative precision. ADaM numeric dates (``*DT``, ``*DTM``) are
  ``integer`` with ``def:DisplayFormat`` DATE9. / DATETIME20. SDTM ``--DTC`` are ``date`` or
  ``datetime`` (any value with a time part), ``--DUR`` ``durationDatetime``; they carry no
  Length (as the CDISC examples).
* Codelists: each CDISC codelist used gets the values present in the data (per distinct
  value set: the first use is ``CL.<SHORT>``, other subsets ``CL.<SHORT>.<DS>.<VAR>[...]``),
  NCI codes as ``Alias Context="nci:ExtCodeID"``, ``CodeListItem`` with ``Decode`` (NCI
  preferred term) unless every decode equals its value, ``def:ExtendedValue="Yes"`` for
  values not in an extensible codelist. A variable with value-level metadata gets its
  codelist at value level unless one codelist holds all its values.
* Output is deterministic: fixed orders, no random OIDs; ``CreationDateTime`` from
  ``SOURCE_DATE_EPOCH`` (UTC) when set, else now.
"""
from __future__ import annotations

import datetime as _dt
import functools
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from lxml import etree

from cdisc_convert import __version__
from cdisc_convert.core.errors import CdiscError, InputError, SpecError
from cdisc_convert.core.sasdates import SAS_EPOCH
from cdisc_convert.io.atomic import atomic_file
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, load_standard, ts_value_codelists

__all__ = [
    "DefineWarning", "ODM_NS", "DEF_NS", "XLINK_NS", "build_define", "write_define",
    "validate_define", "define_schema_path", "safe_parser",
]

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
NS = {"odm": ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}

STANDARDS = {
    "sdtmig-3.4": {"name": "SDTMIG", "version": "3.4", "purpose": "Tabulation",
                   "oid": "STD.SDTMIG.3.4"},
    "adamig-1.3": {"name": "ADaMIG", "version": "1.3", "purpose": "Analysis",
                   "oid": "STD.ADAMIG.1.3"},
}
PUBLISHING_SET = {"sdtm": "SDTM", "adam": "ADaM", "define-xml": "DEFINE-XML"}

TEXT_TYPES = {"text", "date", "datetime", "time", "partialDate", "partialTime",
              "partialDatetime", "incompleteDatetime", "durationDatetime", "intervalDatetime",
              "string", "URI"}
NUMERIC_TYPES = {"integer", "float", "double", "decimal"}


class DefineWarning(UserWarning):
    """Something the define states that a reviewer should look at (e.g. a value outside a
    non-extensible codelist)."""


def safe_parser() -> etree.XMLParser:
    """The XML parser used for every define.xml we read: no entities, no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _oid(*parts: object) -> str:
    text = ".".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _num(x: float) -> str:
    """A number as written in method texts: 18 not 18.0."""
    return f"{x:g}" if isinstance(x, float) else str(x)


def _quote_list(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# --------------------------------------------------------------------------------------
# the model written to XML
# --------------------------------------------------------------------------------------
@dataclass
class _Origin:
    type: str
    source: str | None = None
    description: str | None = None


@dataclass
class _Item:
    oid: str
    name: str
    label: str
    datatype: str
    length: int | None = None
    significant: int | None = None
    display: str | None = None
    codelist: str | None = None
    origins: list[_Origin] = field(default_factory=list)
    comment: str | None = None
    valuelist: str | None = None


@dataclass
class _Ref:
    item: str
    order: int
    mandatory: bool
    key: int | None = None
    method: str | None = None
    role: str | None = None
    where: str | None = None


@dataclass
class _Group:
    oid: str
    name: str
    label: str
    domain: str | None
    repeating: bool
    reference: bool
    purpose: str
    structure: str
    class_: str | None
    subclass: str | None
    standard: str | None
    comment: str | None
    refs: list[_Ref]
    href: str
    nonstandard: bool = False


@dataclass
class _Term:
    value: str
    decode: str | None
    code: str | None
    extended: bool = False


@dataclass
class _CodeList:
    oid: str
    name: str
    datatype: str
    terms: list[_Term]
    code: str | None = None
    standard: str | None = None


@dataclass
class _VarInfo:
    """What we know about how a variable (or a value-level subset) was produced."""
    origins: list[_Origin] = field(default_factory=list)
    method: str | None = None
    comment: str | None = None
    codelists: list[str] = field(default_factory=list)  # candidate CT codes / short names

    def add(self, origin: _Origin) -> None:
        for o in self.origins:
            if (o.type, o.source, o.description) == (origin.type, origin.source,
                                                       origin.description):
                return
        self.origins.append(origin)

    @property
    def derived(self) -> bool:
        return any(o.type == "Derived" for o in self.origins)


COLLECTED = lambda: _Origin("Collected", "Investigator")  # noqa: E731
ASSIGNED = lambda: _Origin("Assigned", "Sponsor")  # noqa: E731
DERIVED = lambda: _Origin("Derived", "Sponsor")  # noqa: E731
PROTOCOL = lambda: _Origin("Protocol", "Sponsor")  # noqa: E731


def _predecessor(text: str) -> _Origin:
    return _Origin("Predecessor", None, text)


# --------------------------------------------------------------------------------------
# profiling a column: DataType, Length, SignificantDigits, DisplayFormat
# --------------------------------------------------------------------------------------
@dataclass
class _Profile:
    datatype: str
    length: int | None = None
    significant: int | None = None
    display: str | None = None


def _text_values(series: pd.Series) -> pd.Series:
    """The distinct non-blank text values, trailing blanks dropped (SAS does not keep
    them). Each distinct value is converted once (what callers use is set-based: lengths,
    any / all tests)."""
    s = _distinct(series)
    s = s[s.notna()].astype(str).str.rstrip(" ")
    s = s[s != ""]
    return s.drop_duplicates() if len(s) > 1 else s


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct code (missing -1 included)."""
    if len(codes) <= 1:
        return np.arange(len(codes))
    return np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())


def _distinct(series: pd.Series) -> pd.Series:
    """One row per distinct value of ``series`` (missing kept once), its dtype kept."""
    if len(series) <= 1:
        return series
    codes, _ = pd.factorize(series, use_na_sentinel=True)
    return series.iloc[_first_rows(codes)]


def _bare(series: pd.Series) -> pd.Series:
    """``series`` without the frame's attrs (labels, formats ...): pandas deep-copies attrs
    on every operation, which costs more than the operations on large columns."""
    if not series.attrs:
        return series
    out = series.copy(deep=False)
    out.attrs = {}
    return out


class _Column:
    """A column factorized once: its distinct values, and those of any row subset."""

    def __init__(self, series: pd.Series):
        self.series = _bare(series)
        self.codes, _ = pd.factorize(series, use_na_sentinel=True)
        self._all: pd.Series | None = None

    def distinct(self, rows: np.ndarray | None = None) -> pd.Series:
        """One row per distinct value (all rows, or the positions ``rows``), in the order
        of first occurrence."""
        if rows is None:
            if self._all is None:
                self._all = self.series.iloc[_first_rows(self.codes)]
            return self._all
        return self.series.iloc[rows[_first_rows(self.codes[rows])]]


def _byte_length(values: pd.Series, encoding: str = "utf-8") -> int:
    if values.empty:
        return 1
    return max(1, max(len(v.encode(encoding, errors="replace")) for v in values.unique()))


def _decimals(value: float) -> int:
    """Decimals needed to state ``value`` to 1e-9 relative precision (at most 15)."""
    tol = 1e-9 * max(1.0, abs(value))
    for d in range(16):
        if abs(round(value, d) - value) <= tol:
            return d
    return 15


def _int_digits(value: float) -> int:
    return len(str(int(abs(value)))) if math.isfinite(value) else 1


def _is_temporal_format(fmt: str | None) -> str | None:
    if not fmt:
        return None
    name = str(fmt).upper().rstrip("0123456789.")
    if name.startswith(("DATETIME", "E8601DT", "IS8601DT", "B8601DT")):
        return "datetime"
    if name.startswith(("DATE", "E8601DA", "IS8601DA", "YYMMDD", "MMDDYY", "DDMMYY")):
        return "date"
    if name.startswith(("TIME", "E8601TM", "TOD", "HHMM")):
        return "time"
    return None


def _profile(series: pd.Series, name: str, fmt: str | None, *, encoding: str = "utf-8"
             ) -> _Profile:
    """DataType etc. of one column (or a value-level subset of it)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.dropna()
        kind = _is_temporal_format(fmt)
        has_time = bool(len(values)) and bool((values != values.dt.normalize()).any())
        if kind is None:
            kind = "datetime" if name.endswith("DTM") or has_time else "date"
        if kind == "datetime":
            numbers = (values - SAS_EPOCH).dt.total_seconds()
            display = fmt or "DATETIME20."
        else:
            numbers = (values - SAS_EPOCH).dt.days.astype(float)
            display = fmt or "DATE9."
        length = max([_int_digits(v) for v in numbers.unique()] or [1])
        return _Profile("integer", length, None, display)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = pd.to_numeric(series, errors="coerce").dropna().astype(float)
        values = values[np.isfinite(values)]
        display = fmt or None
        if values.empty:
            return _Profile("integer", 1, None, display)
        distinct = values.unique()
        if _is_temporal_format(fmt):
            return _Profile("integer", max(_int_digits(v) for v in distinct), None, fmt)
        if np.all(np.mod(distinct, 1) == 0):
            return _Profile("integer", max(_int_digits(v) for v in distinct), None, display)
        sig = max(_decimals(float(v)) for v in distinct)
        length = max(_int_digits(v) for v in distinct) + sig
        return _Profile("float", length, sig, display)
    values = _text_values(series)
    if name.endswith("DTC"):
        kind = "datetime" if values.str.contains("T", regex=False).any() else "date"
        if values.str.contains("/", regex=False).any():
            kind = "intervalDatetime"
        return _Profile(kind)
    if name.endswith("DUR") and values.str.match(r"^-?P").all() and len(values):
        return _Profile("durationDatetime")
    return _Profile("text", _byte_length(values, encoding), None, fmt or None)


# --------------------------------------------------------------------------------------
# controlled terminology
# --------------------------------------------------------------------------------------
def _ct_releases() -> dict[str, str]:
    """{"sdtm": "2025-03-28", "adam": ..., "define-xml": ...}: the loaded CT releases."""
    return dict(load_ct().releases)


def _format_value(value: Any) -> str:
    """A data value as text, the way it is compared with CodedValue and CheckValue."""
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (pd.Timestamp, _dt.date)):
        return value.isoformat()[:10]
    return str(value).rstrip(" ")


def _formatted(series: pd.Series) -> np.ndarray:
    """Every value of ``series`` as text (see :func:`_format_value`; missing -> ""),
    each distinct value formatted once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = np.array([_format_value(v) for v in uniques] + [""], dtype=object)
    return text[codes]       # code -1 (missing) picks the trailing ""


def _distinct_values(series: pd.Series) -> list[str]:
    if series.empty:
        return []
    values = [_format_value(v) for v in series.dropna().unique()]
    return sorted({v for v in values if v != ""})


class _CodeLists:
    """Every codelist of the define, built from the values actually used.

    Uses are recorded while the datasets are described (:meth:`cdisc` returns a key) and
    turned into CodeLists by :meth:`finalize`: per CDISC codelist, the variable-level uses
    share one list ``CL.<SHORT>`` holding the union of their values; a value-level use whose
    values differ from that union gets its own subset ``CL.<SHORT>.<DS>.<VAR>.<value>``
    (identical subsets are shared). Sponsor codelists are made at once (:meth:`sponsor`).
    """

    def __init__(self, std_oids: dict[str, str]):
        self.ct = load_ct()
        self.std_oids = std_oids  # CT source -> def:Standard OID
        self.uses: list[tuple[str, Any, tuple[str, ...], str, str]] = []
        self.resolved: dict[str, str] = {}
        self.by_key: dict[tuple, str] = {}
        self.lists: dict[str, _CodeList] = {}
        self.used_sources: set[str] = set()
        self._chosen: dict[tuple, tuple[Any, float]] = {}   # choose() per (values, candidates)

    def _resolve(self, ref: str):
        try:
            return self.ct.codelist(ref)
        except MetadataKeyError:
            return None

    def choose(self, values: list[str], candidates: Iterable[str]) -> tuple[Any, float]:
        """The candidate CDISC codelist covering most of ``values``: a submission value
        counts 1, a value that is a CDISC synonym / NCI preferred term of a term 0.5."""
        candidates = list(candidates)
        key = (tuple(values), tuple(candidates))
        if key in self._chosen:
            return self._chosen[key]
        best, best_n = None, 0.0
        seen = set()
        for ref in candidates:
            cl = self._resolve(ref)
            if cl is None or cl.code in seen:
                continue
            seen.add(cl.code)
            members = set(cl.submission_values)
            n = float(sum(v in members for v in values))
            others = [v for v in values if v not in members]
            if others:
                found = cl.lookup(pd.Series(others, dtype=object))
                n += 0.5 * float(found.notna().sum())
            if n > best_n:
                best, best_n = cl, n
        self._chosen[key] = (best, best_n)
        return best, best_n

    def cdisc(self, values: list[str], candidates: Iterable[str], *, context: str,
              level: str = "var", require_all: bool = False) -> str | None:
        """A key for the CodeList of the best candidate holding ``values`` (resolved to an
        OID by :meth:`finalize`); None when no candidate holds any value (or not all of
        them, with ``require_all``)."""
        if not values:
            return None
        cl, n = self.choose(values, candidates)
        if cl is None or (require_all and n < len(values)):
            return None
        extra = [v for v in values if v not in set(cl.submission_values)]
        if extra and not cl.extensible:
            warnings.warn(f"{context}: {_quote_list(extra)} not in the non-extensible CDISC "
                          f"codelist {cl.short_name} ({cl.code}); declared as found",
                          DefineWarning, stacklevel=3)
        key = f"?{len(self.uses)}"
        self.uses.append((key, cl, tuple(values), context, level))
        return key

    def oid(self, key: str | None) -> str | None:
        if key is None or not key.startswith("?"):
            return key
        return self.resolved.get(key)

    def _terms(self, cl, values: Iterable[str]) -> list[_Term]:
        terms = cl.terms.drop_duplicates("submission_value").set_index("submission_value")
        members = set(terms.index)
        out = []
        for value in sorted(v for v in values if v in members):
            row = terms.loc[value]
            out.append(_Term(value, row["preferred_term"] or None, row["term_code"] or None))
        for value in sorted(v for v in values if v not in members):
            decode = None
            resolved = cl.lookup(value)          # a CDISC synonym of a term (HU -> Hounsfield)
            if isinstance(resolved, str) and resolved in members:
                decode = terms.loc[resolved]["preferred_term"] or None
            out.append(_Term(value, decode, None, extended=cl.extensible))
        return out

    def finalize(self) -> None:
        if self.resolved or not self.uses:
            return
        by_code: dict[str, list] = {}
        for use in self.uses:
            by_code.setdefault(use[1].code, []).append(use)
        for code, uses in by_code.items():
            cl = uses[0][1]
            var_uses = [u for u in uses if u[4] == "var"]
            sets: dict[tuple[str, ...], str] = {}
            if var_uses:
                union = tuple(sorted(set().union(*(u[2] for u in var_uses))))
                sets[union] = _oid("CL", cl.short_name)
            for _key, _cl, values, context, level in uses:
                wanted = tuple(sorted(values)) if level != "var" else None
                if wanted is not None and wanted not in sets:
                    if not sets and len({tuple(sorted(u[2])) for u in uses}) == 1:
                        sets[wanted] = _oid("CL", cl.short_name)
                    else:
                        sets[wanted] = _oid("CL", cl.short_name, context)
            main = _oid("CL", cl.short_name)
            for key, _cl, values, _context, level in uses:
                self.resolved[key] = (main if level == "var"
                                      else sets[tuple(sorted(values))])
            for values, oid in sets.items():
                name = cl.name
                if oid != main or not var_uses and len(sets) > 1:
                    shown = ", ".join(values[:6]) + (", ..." if len(values) > 6 else "")
                    name = f"{cl.name} (subset: {shown})"
                self.lists[oid] = _CodeList(oid, name, "text", self._terms(cl, values),
                                            code=cl.code, standard=self.std_oids.get(cl.source))
            self.used_sources.add(cl.source)

    def sponsor(self, oid: str, name: str, pairs: list[tuple[str, str | None]],
                datatype: str = "text", context: str | None = None) -> str | None:
        """A sponsor codelist (def:IsNonStandard) of (value, decode) pairs; identical
        lists are shared; another list for the same ``oid`` gets ``.<context>``."""
        if not pairs:
            return None
        key = ("SPONSOR", name, datatype, tuple(pairs))
        if key in self.by_key:
            return self.by_key[key]
        oid = _oid(oid)
        if oid in self.lists and context:
            oid = _oid(oid, context)
        base, n = oid, 2
        while oid in self.lists:
            oid, n = f"{base}.{n}", n + 1
        self.lists[oid] = _CodeList(oid, name, datatype,
                                    [_Term(v, d, None) for v, d in pairs])
        self.by_key[key] = oid
        return oid


# --------------------------------------------------------------------------------------
# SDTM: what the study's mapping spec says about a variable
# --------------------------------------------------------------------------------------
_PRODUCERS = ("value", "from", "format", "date", "number", "unit", "age")
_READS_RAW = {"from", "date", "number", "unit"}
_TRANSFORM_TEXT = {"upper": "upper-cased", "lower": "lower-cased", "strip": "stripped",
                   "title": "title-cased", "capitalize": "capitalised"}


def _producer(rule: dict) -> str:
    return next((k for k in _PRODUCERS if k in rule), "value")


def _rule_text(rule: dict, table: str | None) -> str:
    p = _producer(rule)
    raw = f"{table}." if table else ""
    if p == "value":
        v = rule["value"]
        text = "blank" if v in ("", None) else f"'{v}'"
    elif p == "from":
        text = f"{raw}{rule['from']}"
    elif p == "format":
        text = f"'{rule['format']}' filled from {table or 'the raw'} columns"
    elif p == "date":
        text = f"{raw}{rule['date']}"
        if rule.get("time"):
            text += f" and {raw}{rule['time']}"
        text += " as ISO 8601 (partial dates kept partial)"
    elif p == "number":
        text = f"{raw}{rule['number']} as a number"
    elif p == "unit":
        u = rule["unit"]
        text = (f"{raw}{u.get('value')} in the unit of {raw}{u.get('unit')}, converted to "
                f"{rule.get('to')}")
    else:  # age
        a = rule["age"] or {}
        text = (f"age in completed years from {a.get('birth', 'BRTHDTC')} to "
                f"{a.get('reference', 'RFICDTC')} (from a partial birth date only when the "
                "month decides, otherwise missing)")
    if rule.get("extract"):
        text += f", the part matching {rule['extract']!r}"
    transforms = rule.get("transform")
    if transforms:
        transforms = transforms if isinstance(transforms, list) else [transforms]
        text += ", " + ", ".join(_TRANSFORM_TEXT.get(t, t) for t in transforms)
    if isinstance(rule.get("map"), dict):
        pairs = list(rule["map"].items())
        shown = "; ".join(f"{k} -> {v}" for k, v in pairs[:8])
        text += f", mapped ({shown}{'; ...' if len(pairs) > 8 else ''})"
    elif rule.get("map"):
        text += f", mapped with the study value map {rule['map']}"
    if rule.get("codelist"):
        text += f", as a submission value of CDISC codelist {rule['codelist']}"
    if rule.get("where"):
        text += f" where {rule['where']}"
    return text


def _rules_text(rules: list[dict], table: str | None) -> str:
    parts = [_rule_text(r, table) for r in rules]
    if len(parts) == 1:
        return parts[0] + "."
    return "; otherwise ".join(parts) + " (first matching rule wins)."


def _classify(rules: list[dict]) -> str:
    prods = [_producer(r) for r in rules]
    if any(p in ("age", "format") for p in prods):
        return "Derived"
    if any(p in _READS_RAW for p in prods):
        return "Collected"
    if all(not r.get("where") for r in rules):
        return "Assigned"
    return "Derived"


def _header_comment(path: Path | None) -> str:
    """The leading ``#`` comment block of a spec file, as one paragraph."""
    if path is None:
        return ""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line.lstrip("#").strip())
    return " ".join(x for x in out if x)


def _sentences_about(text: str, name: str) -> str:
    sentences = re.split(r"(?<=\.)\s+(?=[A-Z(])", text)
    return " ".join(s for s in sentences if re.search(rf"\b{re.escape(name)}\b", s))


_HEURISTIC_DERIVED = {
    "SEQ": "Sequence number (1, 2, ...) within USUBJID.",
    "DY": "Study day of the record's date relative to DM.RFSTDTC: date - RFSTDTC + 1 on or "
          "after RFSTDTC, date - RFSTDTC before (no day 0).",
}


class _SdtmKnowledge:
    def __init__(self, study=None):
        self.study = study
        self.domains = {d.name: d for d in study.domains} if study is not None else {}

    # -- dataset-level ------------------------------------------------------------------
    def dataset_comment(self, name: str) -> str:
        domain = self.domains.get(name)
        return _header_comment(domain.path) if domain is not None else ""

    # -- helpers --------------------------------------------------------------------------
    def _code_refs(self, rules_lists: Iterable[list[dict]]) -> list[str]:
        out = []
        for rules in rules_lists:
            for r in rules:
                if r.get("codelist"):
                    out.append(str(r["codelist"]))
        return out

    @staticmethod
    def _block_matches(block, where: Mapping[str, str]) -> bool:
        for var, value in where.items():
            rules = block.variables.get(var)
            if not rules:
                continue
            if all(_producer(r) == "value" for r in rules):
                if value not in {str(r["value"]) for r in rules}:
                    return False
        return True

    def _derive_text(self, domain, var: str) -> tuple[str, str] | None:
        """(text, "replace" | "fill") when ``derive:`` produces ``var``."""
        d = domain.derive
        study = self.study
        seq = d.get("seq")
        if seq and var == f"{domain.name}SEQ":
            by = seq.get("by", ["USUBJID"])
            order = seq.get("order", [])
            return (f"{var} = 1, 2, ... within {', '.join(by)}, records ordered by "
                    f"{', '.join(order) or 'their order in the raw data'} (stable).", "replace")
        days = d.get("study_day") or {}
        if var in days:
            dtc = days[var]
            return (f"{var} = {dtc} - DM.RFSTDTC + 1 when {dtc} is on or after RFSTDTC, "
                    f"{dtc} - RFSTDTC when before (there is no day 0); missing unless both "
                    "dates are complete.", "replace")
        if d.get("epoch") and var == "EPOCH":
            rules = []
            for item in (study.epochs if study else []):
                if "before" in item:
                    rules.append(f"{item['epoch']} when before DM.{item['before']}")
                elif "until" in item:
                    rules.append(f"{item['epoch']} when on or before DM.{item['until']}")
                else:
                    rules.append(f"{item['epoch']} otherwise")
            return (f"EPOCH from {d['epoch']} compared with the subject's reference dates "
                    f"(date parts), first matching rule wins: {'; '.join(rules)}. A partial "
                    "date gets no EPOCH; a value mapped by the record block is kept.", "fill")
        visit = d.get("visit")
        if visit and var in ("VISIT", "VISITNUM"):
            return (self._visit_text(visit), "replace")
        base = d.get("baseline")
        if base and var == base.get("flag"):
            ref = base.get("reference", "RFXSTDTC")
            text = (f"{var} = Y on the last record per {', '.join(base.get('by', []))} whose "
                    f"{base.get('date')} (complete date) is on or before DM.{ref}")
            if base.get("where"):
                text += f", among records where {base['where']}"
            return (text + "; blank otherwise.", "replace")
        refs = d.get("reference_dates") or {}
        if var in refs:
            rule = refs[var]
            pick = "earliest" if "earliest" in rule else "latest"
            sources = rule[pick] if isinstance(rule[pick], list) else [rule[pick]]
            names = []
            for s in sources:
                if isinstance(s, dict):
                    names.append(f"raw {s.get('table')}.{s.get('date')}")
                else:
                    names.append(str(s))
            text = (f"{var} = the {pick} of {', '.join(names)} per subject (dates compared on "
                    "their known part, the chosen value kept with its full precision)")
            if rule.get("where"):
                text += f", records where {rule['where']}"
            return (text + "; a value mapped from raw data is kept.", "fill")
        return None

    def _visit_text(self, visit: dict) -> str:
        visits = self.study.visits if self.study else {}
        parts = []
        for item in visits.get("schedule", []):
            parts.append(f"{item['visit']} = {_num(item['visitnum'])} (day {item.get('day')}, "
                         f"window +/- {item.get('window', 0)})")
        rep = visits.get("repeat")
        if rep:
            first, step = int(rep["first"]), int(rep.get("step", 1))
            last = first + (int(rep["count"]) - 1) * step
            parts.append(
                f"{rep['visit']} for n = {first}, {first + step}, ..., {last}: VISITNUM "
                f"{_num(rep['visitnum_start'])}, {_num(rep['visitnum_start'] + 1)}, ... "
                f"(target day n x {rep.get('days_per_n', 1)} + {rep.get('day_offset', 0)}, "
                f"window +/- {rep.get('window', 0)} days)")
        unsched = _quote_list(visits.get("unscheduled", []))
        return (f"VISIT and VISITNUM from the collected visit label ({visit.get('label')}) and "
                f"the study's schedule: {'; '.join(parts)}. An unscheduled label ({unsched}) "
                f"gives VISITNUM = the last scheduled visit whose target day is on or before "
                f"the study day of {visit.get('date')} + 0.01 per unscheduled date after it "
                f"(per subject) and VISIT 'UNSCHEDULED x.yy'; a blank label gives the "
                f"scheduled visit whose window holds the study day.")

    # -- variables ----------------------------------------------------------------------
    def info(self, ds: str, var: str, where: Mapping[str, str] | None = None) -> _VarInfo:
        if ds.startswith("SUPP") and ds[4:] in self.domains:
            return self._supp_info(ds, var)
        domain = self.domains.get(ds)
        if domain is None:
            return self._heuristic(ds, var)
        info = _VarInfo()
        if domain.literal_rows is not None:
            if var in ("STUDYID", "DOMAIN") or var.endswith("SEQ"):
                info.add(ASSIGNED())
            else:
                info.add(PROTOCOL())
            return info
        blocks = [b for b in domain.blocks if where is None or self._block_matches(b, where)]
        produced = [(b, b.variables[var]) for b in blocks if var in b.variables]
        derive = self._derive_text(domain, var)
        post = (domain.derive.get("variables") or {}).get(var)
        info.codelists = self._code_refs([rules for _, rules in produced]
                                         + ([post] if post else []))
        texts, comments = [], []
        if post is not None:
            info.add(DERIVED())
            texts.append(_rules_text(post, None) + " (evaluated after all other derivations, "
                         "on the record and the subject's DM variables)")
        elif derive is not None and derive[1] == "replace":
            info.add(DERIVED())
            texts.append(derive[0])
        else:
            grouped: dict[int, tuple[list[dict], list]] = {}
            for block, rules in produced:
                grouped.setdefault(id(rules), (rules, []))[1].append(block)
            multi = len(grouped) > 1
            for rules, owners in grouped.values():
                kind = _classify(rules)
                info.add({"Collected": COLLECTED, "Assigned": ASSIGNED,
                          "Derived": DERIVED}[kind]())
                tables = ", ".join(dict.fromkeys(str(b.source) for b in owners))
                names = ", ".join(b.name for b in owners)
                label = f"Records from {names} ({tables}): " if multi else ""
                table = owners[0].source if len(owners) == 1 else f"({tables})"
                if kind == "Derived":
                    texts.append(label + _rules_text(rules, table))
                elif kind == "Collected" and (len(rules) > 1 or any(r.get("where")
                                                                     for r in rules)):
                    comments.append(label + _rules_text(rules, table))
            if derive is not None:
                info.add(DERIVED())
                texts.append(derive[0])
        if not info.origins:
            return self._heuristic(ds, var)
        if info.derived:
            info.method = " ".join(dict.fromkeys(texts)) or None
        about = _sentences_about(_header_comment(domain.path), var)
        comment = " ".join(dict.fromkeys(comments + ([about] if about else [])))
        info.comment = comment or None
        return info

    def _supp_info(self, ds: str, var: str) -> _VarInfo:
        parent = ds[4:]
        info = _VarInfo()
        if var in ("STUDYID", "USUBJID"):
            base = self.info(parent, var)
            base.comment = None
            return base
        if var == "IDVARVAL" and (self.domains[parent].derive.get("seq")):
            info.add(DERIVED())
            info.method = ("IDVARVAL = the value of IDVAR (the parent record's "
                           f"{parent}SEQ) of the {parent} record the qualifier belongs to.")
            return info
        if var == "QVAL":
            for qnam in self.supp_qnams(parent):
                for o in self.supp_value(parent, qnam).origins:
                    info.add(o)
            if info.origins:
                return info
        info.add(ASSIGNED())
        return info

    def supp_qnams(self, parent: str) -> list[str]:
        domain = self.domains.get(parent)
        if domain is None:
            return []
        names = []
        for b in domain.blocks:
            names += list(b.supp)
        names += list((domain.derive.get("supp") or {}))
        return list(dict.fromkeys(names))

    def supp_value(self, parent: str, qnam: str) -> _VarInfo:
        domain = self.domains.get(parent)
        info = _VarInfo()
        if domain is None:
            info.add(COLLECTED())
            return info
        orig_map = {"CRF": COLLECTED, "COLLECTED": COLLECTED, "DERIVED": DERIVED,
                    "ASSIGNED": ASSIGNED, "PROTOCOL": PROTOCOL}
        texts = []
        post = (domain.derive.get("supp") or {}).get(qnam)
        produced = [(b, b.supp[qnam]) for b in domain.blocks if qnam in b.supp]
        if post is not None:
            produced.append((None, post))
        for block, rules in produced:
            orig = str(rules[0].get("orig", "")).upper()
            kind = orig_map.get(orig)
            origin = kind() if kind else {"Collected": COLLECTED, "Assigned": ASSIGNED,
                                          "Derived": DERIVED}[_classify(rules)]()
            if block is None:
                origin = DERIVED()
            info.add(origin)
            if origin.type == "Derived":
                texts.append(_rules_text(rules, block.source if block else None))
        info.codelists = self._code_refs([r for _, r in produced])
        if info.derived:
            info.method = " ".join(texts)
        return info

    def _heuristic(self, ds: str, var: str) -> _VarInfo:
        info = _VarInfo()
        if var in ("STUDYID", "DOMAIN", "RDOMAIN", "IDVAR", "QNAM", "QLABEL", "QORIG",
                   "QEVAL"):
            info.add(ASSIGNED())
        elif var == f"{ds}SEQ" or (len(var) == 5 and var.endswith("SEQ")):
            info.add(DERIVED())
            info.method = _HEURISTIC_DERIVED["SEQ"]
        elif re.fullmatch(r"[A-Z]{2}(ST|EN)?DY", var):
            info.add(DERIVED())
            info.method = _HEURISTIC_DERIVED["DY"]
        elif var in ("EPOCH", "VISITNUM", "VISIT", "IDVARVAL") or var.endswith(("LOBXFL",
                                                                                 "BLFL")):
            info.add(DERIVED())
            info.method = f"{var} derived by the mapping (no mapping spec was given)."
        else:
            info.add(COLLECTED())
        return info


# --------------------------------------------------------------------------------------
# ADaM: methods stated with the configured values
# --------------------------------------------------------------------------------------
_LEVEL_TEXT = {"D": "day", "M": "month and day", "Y": "year, month and day"}
_TIME_LEVEL = {"h": "hours, minutes and seconds", "m": "minutes and seconds",
               "s": "seconds"}


def _date_imputation_text(rule) -> str:
    level = rule.highest_imputation
    if level == "n":
        return "only complete dates are used"
    if level in _LEVEL_TEXT:
        return (f"a missing {_LEVEL_TEXT[level]} is imputed to the {rule.date_imputation} "
                f"{'day' if level == 'D' else 'date'} possible")
    return f"imputation level {level!r}"


def _time_imputation_text(rule) -> str:
    level = rule.highest_imputation
    time = {"first": "00:00:00", "last": "23:59:59"}.get(rule.time_imputation,
                                                         rule.time_imputation)
    if level == "n":
        return "only complete datetimes are used"
    if level in _TIME_LEVEL:
        return f"missing {_TIME_LEVEL[level]} are imputed from {time} (the date must be complete)"
    return (f"missing date parts are imputed ({_date_imputation_text(rule)}) and a missing "
            f"time from {time}")


_RESPONSE_CODES = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}
_YN_CODES = {"Y": 1, "N": 0}
_YN_PARAMS = {"BCP", "CBCP", "RSP", "CRSP", "CB", "CCB", "DCR", "PD", "DEATH"}


class _AdamKnowledge:
    def __init__(self, config=None, datasets: Mapping[str, pd.DataFrame] | None = None):
        from cdisc_convert.adam.config import AdamConfig
        from cdisc_convert.adam import tumor_response as tumr

        self.cfg = config or AdamConfig()
        self.datasets = dict(datasets or {})
        self.rules = tumr.ResponseRules()
        adsl = self.datasets.get("ADSL")
        self.adsl_columns = set(adsl.columns) if adsl is not None else set()
        self.dm_spec = load_standard("sdtmig-3.4").dataset("DM")
        self.params = self._parameters()
        adrs = self.datasets.get("ADRS")
        srcdom = set(adrs["SRCDOM"].dropna().astype(str)) if adrs is not None and \
            "SRCDOM" in adrs else set()
        self.response_source = "TR" if "TR" in srcdom and "RS" not in srcdom else "RS"

    # -- parameters -------------------------------------------------------------------
    def _parameters(self) -> dict[str, tuple[str, Any]]:
        """ADRS PARAMCD -> (base parameter, criterion)."""
        from cdisc_convert.adam.adrs import parameter_labels

        out: dict[str, tuple[str, Any]] = {"DEATH": ("DEATH", None)}
        for crit in self.cfg.response.criteria:
            try:
                labels = parameter_labels(crit, self.cfg)
            except SpecError:
                continue
            for base, values in labels.items():
                out[values["PARAMCD"]] = (base, crit)
        return out

    @property
    def start(self) -> str:
        return self.cfg.start_date

    def _crit_text(self, crit) -> str:
        resp = self.cfg.response
        return (f"criterion {crit.name} (RS records with RSCAT = '{crit.rscat}'"
                + (f"; records without RSCAT count as {resp.rs_without_rscat}"
                   if resp.rs_without_rscat == crit.name else "") + ")")

    def _assessments(self, crit) -> str:
        sfx = crit.paramcd_suffix
        used = "ANL01FL = Y" if self.cfg.use_after_pd else "ANL01FL = Y and ANL02FL = Y"
        return f"the OVR{sfx} assessments with {used}"

    def _confirmation(self) -> str:
        c = self.cfg
        sd_between = ", plus at most one SD," if c.accept_sd_between else ""
        return (f"a CR is confirmed by the first later CR at least {c.confirmation_min_days} "
                f"days after it (ADT2 >= ADT1 + {c.confirmation_min_days}) when only CR or NE "
                f"assessments lie after it up to and including that one and at most "
                f"{c.max_ne_between} of them is NE; a PR is confirmed by the first later CR or "
                f"PR at least {c.confirmation_min_days} days after it when only CR, PR or NE "
                f"assessments{sd_between} lie in between, at most {c.max_ne_between} NE and no PR "
                f"follows a CR; when that first candidate fails, the response is unconfirmed")

    def param_method(self, paramcd: str) -> str | None:
        """Method text for the AVALC/AVAL of an ADRS parameter."""
        if paramcd not in self.params:
            return None
        base, crit = self.params[paramcd]
        c, start = self.cfg, self.start
        sd = c.sd_min_days
        yn = "AVAL: Y = 1, N = 0."
        resp = ("AVAL: CR = 1, PR = 2, SD = 3, NON-CR/NON-PD = 4, PD = 5, NE = 6, "
                "MISSING = 7.")
        if base == "DEATH":
            return f"Y dated ADT = ADSL.DTHDT when the subject has a death date; otherwise N. {yn}"
        head = f"{self._crit_text(crit)}: "
        cap = head[:1].upper() + head[1:]
        used = self._assessments(crit)
        late = f"at least {sd} days after {start} (ADT >= {start} + {sd} days)"
        if base == "OVR":
            if self.response_source == "TR":
                rule = (self.recist_text() if crit.name.upper() != "CHOI"
                        else self.choi_text())
                return (f"Overall response per assessment computed from TU/TR, {head}{rule} "
                        f"ADT: {self.adt_text()} {resp}")
            r = c.response
            return (f"Overall response per assessment as recorded, {head}AVALC = RS.RSSTRESC "
                    f"(RS.RSORRES when blank, upper-cased) of the RS records with RSTESTCD = "
                    f"'{r.testcd}' and RSEVAL = '{r.evaluator}'; ADT = RS.RSDTC as a date "
                    f"({_date_imputation_text(c.imputation('ADT'))}, flagged in ADTF). {resp}")
        if base == "BOR":
            return (f"Best overall response without confirmation, {head}over {used}, each "
                    f"assessment qualifies for CR (CR), PR (PR), SD (CR, PR or SD {late}), "
                    f"NON-CR/NON-PD (NON-CR/NON-PD {late}), PD (PD) or NE (any CR, PR, SD, "
                    f"NON-CR/NON-PD or NE, i.e. also an SD earlier than {sd} days); the best "
                    f"category (CR > PR > SD > NON-CR/NON-PD > PD > NE) wins, dated by its "
                    f"first qualifying assessment; subjects without assessment: MISSING. {resp}")
        if base == "CBOR":
            unconf = (f"an unconfirmed CR or PR counts as SD when {late}, else NE"
                      if c.accept_sd_for_unconfirmed else "an unconfirmed CR or PR gives NE")
            return (f"Best confirmed overall response, {head}over {used}: {self._confirmation()}. "
                    f"Categories: confirmed CR, confirmed PR, SD (SD {late}; {unconf}), "
                    f"NON-CR/NON-PD ({late}), PD, NE (any other valid response); the best "
                    f"category wins, dated by its first qualifying assessment; subjects without "
                    f"assessment: MISSING. {resp}")
        if base in ("BCP", "CBCP"):
            src = "BOR" if base == "BCP" else "CBOR"
            return (f"{cap}Y when {src}{crit.paramcd_suffix} is CR or PR (dated by it), "
                    f"otherwise N. {yn}")
        if base == "RSP":
            return (f"Response without confirmation, {head}Y dated by the first CR or PR among "
                    f"{used}; otherwise (also without assessments) N. {yn}")
        if base == "CRSP":
            return (f"Confirmed response, {head}Y dated by the first confirmed CR or PR among "
                    f"{used} ({self._confirmation()}); otherwise N. {yn}")
        if base == "CB":
            return (f"Clinical benefit without confirmation, {head}Y dated by the earliest "
                    f"assessment among {used} that is a CR or PR, or a CR, PR, SD or "
                    f"NON-CR/NON-PD {late}; otherwise N. {yn}")
        if base == "CCB":
            unconf = ("an unconfirmed CR/PR counts like SD" if c.accept_sd_for_unconfirmed
                      else "an unconfirmed CR/PR does not count")
            return (f"Confirmed clinical benefit, {head}Y dated by the earliest assessment among "
                    f"{used} that is a confirmed CR or PR ({self._confirmation()}), or an SD or "
                    f"NON-CR/NON-PD {late} ({unconf}); otherwise N. {yn}")
        if base == "DCR":
            d = c.dcr
            return (f"Disease control at day {d.landmark_days}, {head}the first assessment among "
                    f"{used} with ADT - {start} >= {d.landmark_days - d.window_days} days "
                    f"(landmark {d.landmark_days} days, window {d.window_days} days) decides: Y "
                    f"(dated by it) when it is CR, PR, SD or NON-CR/NON-PD and neither a PD "
                    f"assessment nor death (ADSL.DTHDT) came before it; N otherwise, also when "
                    f"there is no such assessment. A missed landmark scan is replaced by the "
                    f"next assessment. {yn}")
        if base == "PD":
            return (f"Disease progression, {head}Y dated by the first PD among {used}; "
                    f"otherwise N. {yn}")
        if base == "LSTA":
            return (f"Last disease assessment, {head}the last OVR{crit.paramcd_suffix} "
                    f"assessment with ANL01FL = Y (also after PD): AVALC its response, ADT its "
                    f"date; no AVALC and ADT for subjects without assessment. {resp}")
        return None

    def recist_text(self) -> str:
        r = self.rules
        return (f"RECIST 1.1 (Eisenhauer 2009): target lesions are the TU TARGET lesions "
                f"measured at baseline; a nodal lesion (TULOC contains LYMPH NODE, or LPERP "
                f"but no LDIAM) contributes its short axis LPERP, every other its longest "
                f"diameter LDIAM (TRSTRESN, mm). Target response, first match wins: CR when "
                f"all targets are measured, non-nodal ones 0 mm and nodes < "
                f"{_num(r.nodal_normal_mm)} mm; PD when the sum is >= "
                f"{_num(100 + r.recist_pd_pct)}% of the nadir (smallest earlier complete sum, "
                f"baseline included) and >= {_num(r.recist_pd_abs_mm)} mm above it; NE when a "
                f"target is not measured; PR when the sum is <= {_num(100 + r.recist_pr_pct)}% "
                f"of baseline; SD otherwise. Non-target response: PD on unequivocal "
                f"progression (TUMSTATE {_quote_list(r.progression_states)}), NE when a "
                f"lesion is not evaluated, CR when all are absent, NON-CR/NON-PD otherwise. A "
                f"NEW lesion shown present is progression. Overall response by RECIST 1.1 "
                f"tables 1 and 2.")

    def choi_text(self) -> str:
        r = self.rules
        missing = ("NE" if r.choi_missing_density == "NE" else "the size response")
        return (f"Choi (J Clin Oncol 2007): size = the RECIST 1.1 sum of target diameters, "
                f"density = the mean RADIODEN (HU) of the target lesions (evaluable when every "
                f"target has one, except lesions measured 0 mm, and the baseline mean is "
                f"positive). Target response, first match wins: CR as RECIST; PR when the mean "
                f"density fell by >= {_num(-r.choi_pr_density_pct)}% from baseline; PD when the "
                f"sum is >= {_num(100 + r.choi_pd_size_pct)}% of the nadir with density "
                f"evaluable; PR when the sum is <= {_num(100 + r.choi_pr_size_pct)}% of "
                f"baseline; NE when a target is not measured; SD with density evaluable; "
                f"otherwise {missing}. Non-target and new lesions and the overall response as "
                f"RECIST 1.1.")

    def adt_text(self) -> str:
        return ("the latest scan date of the assessment; for a PD assessment the earliest "
                "date among the records showing the progression; partial dates imputed to "
                f"the {self.rules.date_imputation} day (ADTF).")

    def tte_method(self, paramcd: str) -> str | None:
        c, start = self.cfg, self.start
        crit = c.criterion(c.tte_criterion_name)
        sfx = crit.paramcd_suffix
        common = ("Among events the earliest date wins, among censorings the latest; an event "
                  "beats a censoring; ADT is moved to STARTDT when earlier; AVAL = ADT - "
                  "STARTDT + 1 (days); CNSR = 0 for an event, 1 for a censoring.")
        nact = (f" With censoring at new anticancer therapy, a death on or after ADSL."
                f"{c.new_therapy_date} is no event." if c.censor_at_new_therapy else "")
        label = c.start_label
        if paramcd == "OS":
            return (f"Overall survival from ADSL.{start}: event = death (ADRS DEATH = Y, ADT); "
                    f"censoring at ADSL.LSTALVDT (EVNTDESC 'Alive') or at {start} ('{label}'). "
                    f"{common}")
        if paramcd == "PFS":
            return (f"Progression-free survival from ADSL.{start} ({crit.name}): events = first "
                    f"progression (ADRS PD{sfx} = Y) and death (ADRS DEATH = Y); censoring at "
                    f"the last tumour assessment (ADRS LSTA{sfx}) or at {start} ('{label}')."
                    f"{nact} {common}")
        if paramcd == "RSD":
            return (f"Duration of response ({crit.name}), responders only (ADRS RSP{sfx} = Y): "
                    f"STARTDT = the date of the first response; events = progression (ADRS "
                    f"PD{sfx} = Y) and death; censoring at the last tumour assessment (ADRS "
                    f"LSTA{sfx}).{nact} {common}")
        return None

    def adtr_method(self, paramcd: str) -> str | None:
        if paramcd == "SUMDIAM":
            return ("Sum of the target lesion diameters (mm) per assessment: "
                    + self.recist_text().split(" Target response")[0]
                    + " AVAL is missing when a target lesion was not measured (a partial sum "
                    "would look like shrinkage).")
        if paramcd == "DENSITY":
            return ("Mean radiodensity (HU) of the target lesions per assessment (Choi): the "
                    "mean TR RADIODEN of the target lesions measured at baseline that have "
                    "one; missing when a target lesion was not measured.")
        return None

    # -- variables ----------------------------------------------------------------------
    def _adsl(self, var: str) -> _VarInfo | None:
        c, disp = self.cfg, self.cfg.disposition
        from cdisc_convert.adam.config import ImputationRule

        valid = (f"valid doses are EX records with EXDOSE > 0, or EXDOSE = 0 and EXTRT "
                 f"containing '{c.placebo_pattern}'")
        end_rule = c.date_imputation.get("TRTEDTM", ImputationRule("h", "first", "last"))
        texts = {
            "TRTSDTM": f"Datetime of first exposure: the earliest EX.EXSTDTC of a valid dose "
                       f"({valid}); {_time_imputation_text(c.imputation('TRTSDTM'))}; records "
                       f"whose date cannot be derived are ignored. Without EX: DM.RFXSTDTC.",
            "TRTSTMF": "Time imputation flag of TRTSDTM: H, M or S for the highest time "
                       "component imputed (H when only a date was collected).",
            "TRTSDT": "Date part of TRTSDTM.",
            "TRTEDTM": f"Datetime of last exposure: the latest EX.EXENDTC of a valid dose "
                       f"({valid}); {_time_imputation_text(end_rule)}. Without EX: "
                       f"DM.RFXENDTC.",
            "TRTETMF": "Time imputation flag of TRTEDTM: H, M or S for the highest time "
                       "component imputed.",
            "TRTEDT": "Date part of TRTEDTM.",
            "TRTDURD": "TRTEDT - TRTSDT + 1 (days); missing when either date is missing.",
            "RANDDT": f"DS.DSSTDTC of the first DS record with DSDECOD = '{disp.randomized}' "
                      f"as a date ({_date_imputation_text(c.imputation('RANDDT'))}).",
            "EOSSTT": f"From the last DS record with DSCAT = '{disp.dscat}' (by DSSTDTC, DSSEQ):"
                      f" COMPLETED when DSDECOD is one of {_quote_list(disp.completed)}, missing "
                      f"for {_quote_list(disp.screen_failure)}, DISCONTINUED otherwise; ONGOING "
                      f"for subjects without such a record.",
            "EOSDT": f"DSSTDTC of the end-of-study record used for EOSSTT as a date "
                     f"({_date_imputation_text(c.imputation('EOSDT'))}); missing for a screen "
                     f"failure.",
            "DCSREAS": "DSDECOD of the end-of-study record used for EOSSTT unless the subject "
                       "completed or was a screen failure.",
            "DTHDT": f"DM.DTHDTC as a date; "
                     f"{_date_imputation_text(c.date_imputation.get('DTHDT', ImputationRule('M')))}.",
            "DTHDTF": "Imputation flag of DTHDT: D (day) or M (month and day) imputed.",
            "DTHFL": "Y when DM.DTHFL = Y or DTHDT is present; missing otherwise.",
            "DTHCAUS": "The first source, in this order, with a record for the subject: "
                       + "; ".join(f"{s.domain}.{s.value}" + (f" where {s.where}" if s.where
                                                              else "")
                                   for s in c.dthcaus_sources) + ".",
            "LSTALVDT": "Last date known alive: the latest date over "
                        + "; ".join(
                            (f"ADSL.{s.date}" if s.domain.upper() == "ADSL" else
                             f"{s.domain}.{s.date} ({_date_imputation_text(s)})")
                            + (f" where {s.where}" if s.where else "")
                            for s in c.lstalvdt_sources)
                        + " (sources whose domain is not present are skipped).",
            "AGEGR1": self._agegr1_text(),
            "SAFFL": "Y when the subject received a valid dose (TRTSDT present); otherwise N.",
            "ITTFL": f"Y when ARMCD is present and not one of "
                     f"{_quote_list(c.itt_exclude_armcd)} (case-insensitive); otherwise N.",
        }
        if var in ("TRT01P", "TRT01A"):
            info = _VarInfo()
            info.add(_predecessor("DM.ARM" if var == "TRT01P" else "DM.ACTARM"))
            return info
        if var in c.sponsor_variables:
            return self._sponsor(c.sponsor_variables[var])
        if var in texts:
            info = _VarInfo()
            info.add(DERIVED())
            info.method = texts[var]
            return info
        if var in self.dm_spec:
            info = _VarInfo()
            info.add(_predecessor(f"DM.{var}"))
            return info
        return None

    def _agegr1_text(self) -> str:
        cuts, labels = self.cfg.agegr1.cuts, self.cfg.agegr1.labels
        parts = [f"'{labels[0]}' when AGE < {_num(cuts[0])}"]
        for i in range(1, len(cuts)):
            parts.append(f"'{labels[i]}' when {_num(cuts[i - 1])} <= AGE < {_num(cuts[i])}")
        parts.append(f"'{labels[-1]}' when AGE >= {_num(cuts[-1])}")
        return "; ".join(parts) + "; missing when AGE is missing."

    def _sponsor(self, spec) -> _VarInfo:
        info = _VarInfo()
        where = f" where {spec.where}" if spec.where else ""
        t = spec.type
        if t == "supp":
            info.add(_predecessor(f"SUPP{(spec.domain or 'DM').upper()}.QVAL where QNAM = "
                                  f"'{spec.qnam}'"))
            return info
        if t in ("first", "last"):
            order = spec.order or "the domain's --SEQ"
            text = (f"{spec.domain}.{spec.value} of the {t} {spec.domain} record{where} "
                    f"(ordered by {order}); missing when there is none.")
        elif t == "exists":
            text = f"Y when the subject has a record in {spec.domain}{where}; otherwise N."
        elif t == "dose_reduced":
            text = (f"Y when any {spec.domain} record{where} has a dose ({spec.value or 'EXDOSE'}) "
                    f"lower than the subject's first one (ordered by "
                    f"{spec.order or 'EXSTDTC'}); N otherwise; missing without such records.")
        elif t in ("min_date", "max_date"):
            text = (f"The {'earliest' if t == 'min_date' else 'latest'} {spec.domain}."
                    f"{spec.value}{where} as a date ({_date_imputation_text(spec)}).")
        elif t == "count":
            text = f"Number of {spec.domain} records{where} (0 when none)."
        else:
            text = f"Sponsor variable of type {t}."
        info.add(DERIVED())
        info.method = text
        return info

    def info(self, ds: str, var: str) -> _VarInfo:
        """Origin and method of an ADaM variable."""
        if ds == "ADSL":
            found = self._adsl(var)
            if found is not None:
                return found
        own = self._own(ds, var)
        if own is not None:
            return own
        if ds != "ADSL" and var in self.adsl_columns:
            info = _VarInfo()
            info.add(_predecessor(f"ADSL.{var}"))
            return info
        info = _VarInfo()
        info.add(DERIVED())
        info.method = f"{ds}.{var} is derived by cdisc-convert; no method text is recorded."
        return info

    def _own(self, ds: str, var: str) -> _VarInfo | None:
        c, start = self.cfg, self.start
        assigned = {"PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3"}
        if ds in ("ADRS", "ADTTE", "ADTR") and var in assigned:
            info = _VarInfo()
            info.add(ASSIGNED())
            return info
        texts: dict[str, str] = {}
        if ds == "ADRS":
            end = (f" and before ADSL.{c.new_therapy_date}" if c.censor_at_new_therapy else "")
            from_rs = self.response_source == "RS"
            texts = {
                "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT, "
                        "VISITNUM and SRCSEQ (missing last).",
                "AVALC": "Per parameter, see the value-level metadata (PARAMCD).",
                "AVAL": "Numeric code of AVALC per parameter, see the value-level metadata.",
                "ADT": ("Assessment records (OVR): " + (
                    f"RS.RSDTC as a date ({_date_imputation_text(c.imputation('ADT'))})"
                    if from_rs else self.adt_text()) + ". Other parameters: the date of the "
                    "assessment that decides the value (see each PARAMCD); DEATH: ADSL.DTHDT."),
                "ADTF": "Imputation flag of ADT: D when the day was imputed, M for month and "
                        "day.",
                "AVISIT": "VISIT of the assessment the record comes from.",
                "ANL01FL": f"Y on the assessments that count: a valid response (CR, PR, SD, "
                           f"NON-CR/NON-PD, PD, NE) with ADT on or after ADSL.{start}{end}; of "
                           f"several on one date per subject and criterion the worst is kept "
                           f"(NE < CR < PR < SD < NON-CR/NON-PD < PD; ties: the last SRCSEQ).",
                "ANL02FL": "Y on the ANL01FL assessments up to and including the first PD "
                           "(per subject and criterion); all of them for subjects without PD.",
                "SRCDOM": "Dataset of the record the value comes from: RS for assessments and "
                          "for parameters dated by an assessment, ADSL for DEATH; blank when "
                          "no single record decides.",
                "SRCSEQ": "RSSEQ of that RS record.",
            }
            if var in ("VISIT", "VISITNUM") and from_rs:
                info = _VarInfo()
                info.add(_predecessor(f"RS.{var}"))
                return info
            if var in ("VISIT", "VISITNUM"):
                texts[var] = f"TR.{var} of the tumour assessment."
        elif ds == "ADTTE":
            crit = c.criterion(c.tte_criterion_name)
            texts = {
                "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD.",
                "STARTDT": f"OS and PFS: ADSL.{start}; RSD: the date of the first response "
                           f"(ADRS RSP{crit.paramcd_suffix} = Y).",
                "ADT": "Date of the event or censoring chosen for the parameter (see its "
                       "method), never before STARTDT.",
                "AVAL": "ADT - STARTDT + 1 (days); per parameter see the value-level metadata.",
                "CNSR": "0 for an event, 1 for a censoring; per parameter see the value-level "
                        "metadata.",
                "EVNTDESC": f"Description of the chosen event or censoring: 'Death', 'Disease "
                            f"Progression', 'Alive', 'Last Tumor Assessment' or "
                            f"'{c.start_label}'.",
                "CNSDTDSC": "Description of the censoring date (censored records only).",
                "SRCDOM": "Dataset of the record holding ADT: ADRS (DEATH, PD, LSTA) or ADSL.",
                "SRCVAR": "Variable holding ADT in SRCDOM (ADT, LSTALVDT or the start date).",
                "SRCSEQ": "ASEQ of the ADRS record holding ADT (missing for ADSL).",
            }
        elif ds == "ADTR":
            texts = {
                "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT and "
                        "AVISITN.",
                "AVISIT": "VISIT of the tumour assessment (TR).",
                "AVISITN": "VISITNUM of the tumour assessment (TR).",
                "ADT": "Assessment date: " + self.adt_text(),
                "AVAL": "Per parameter, see the value-level metadata.",
                "BASE": "AVAL of the subject's baseline assessment for the parameter.",
                "ABLFL": f"Y on the baseline assessment: per subject the lowest VISITNUM "
                         f"flagged Y in {' or '.join(self.rules.baseline_flag_columns)} when "
                         f"TR has such a flag; otherwise the {self.rules.baseline_pick} "
                         f"assessment whose earliest scan is on or before ADSL.{start}; "
                         f"otherwise the subject's first assessment.",
                "CHG": "AVAL - BASE; missing on the baseline record.",
                "PCHG": "100 x (AVAL - BASE) / BASE; missing on the baseline record.",
            }
        if var in texts:
            info = _VarInfo()
            info.add(DERIVED())
            info.method = texts[var]
            return info
        return None


# --------------------------------------------------------------------------------------
# value-level metadata: which subsets
# --------------------------------------------------------------------------------------
VALUE_LEVEL = {
    # dataset (or SUPP prefix) -> (where variables, target variables)
    "TR": (["TRTESTCD"], ["TRORRES", "TRORRESU", "TRSTRESC", "TRSTRESN", "TRSTRESU"]),
    "RS": (["RSCAT", "RSTESTCD"], ["RSORRES", "RSORRESU", "RSSTRESC", "RSSTRESN",
                                   "RSSTRESU"]),
    "TS": (["TSPARMCD"], ["TSVAL"]),
    "SUPP": (["QNAM"], ["QVAL"]),
    "ADRS": (["PARAMCD"], ["AVALC", "AVAL"]),
    "ADTTE": (["PARAMCD"], ["AVAL", "CNSR"]),
    "ADTR": (["PARAMCD"], ["AVAL", "BASE", "CHG", "PCHG"]),
}


def _value_level_spec(name: str) -> tuple[list[str], list[str]] | None:
    if name.startswith("SUPP") and name != "SUPPQUAL":
        return VALUE_LEVEL["SUPP"]
    return VALUE_LEVEL.get(name)


_SDTM_CLASS_ORDER = ["TRIAL DESIGN", "SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS",
                     "FINDINGS ABOUT", "RELATIONSHIP", "STUDY REFERENCE"]
_ADAM_STRUCTURE = {
    "ADSL": "One record per subject",
    "ADRS": "One record per subject per parameter per assessment (one per subject for the "
            "subject-level parameters)",
    "ADTTE": "One record per subject per parameter",
    "ADTR": "One record per subject per parameter per tumour assessment",
}


# --------------------------------------------------------------------------------------
# the builder
# --------------------------------------------------------------------------------------
class _Builder:
    def __init__(self, datasets: Mapping[str, pd.DataFrame], *, standard: str, study_oid: str,
                 study_name: str, study_spec=None, adam_config=None,
                 dataset_labels: Mapping[str, str] | None = None,
                 creation_datetime: str | None = None, study_description: str | None = None,
                 data_location: str = ""):
        if standard not in STANDARDS:
            raise SpecError(f"unknown standard {standard!r} (known: {', '.join(STANDARDS)})")
        self.datasets = {k.upper(): v for k, v in datasets.items()}
        if not self.datasets:
            raise InputError("no datasets to describe in a define.xml")
        self.standard = standard
        self.std = load_standard(standard)
        self.is_adam = self.std.is_adam
        self.meta = STANDARDS[standard]
        self.study_oid = study_oid
        self.study_name = study_name
        self.study_description = study_description
        self.dataset_labels = dict(dataset_labels or {})
        self.created = creation_datetime
        self.data_location = data_location.strip("/")
        self.releases = _ct_releases()
        self.ct_std_oids = {src: _oid("STD.CT", PUBLISHING_SET[src], date)
                            for src, date in self.releases.items()}
        self.codelists = _CodeLists(self.ct_std_oids)
        if self.is_adam:
            self.adam = _AdamKnowledge(adam_config, self.datasets)
            self.sdtm = None
        else:
            self.sdtm = _SdtmKnowledge(study_spec)
            self.adam = None
        self.groups: list[_Group] = []
        self.items: list[_Item] = []
        self.valuelists: list[tuple[str, list[_Ref]]] = []
        self.wheres: dict[str, list[tuple[str, str, list[str]]]] = {}
        self.methods: dict[str, tuple[list[str], str]] = {}
        self.method_index: dict[tuple[str, str], str] = {}
        self.comments: dict[str, str] = {}
        self._vl_cache: dict = {}   # per dataset: value-level groups, label columns

    # -- helpers ----------------------------------------------------------------------
    def _method(self, oid: str, target: str, text: str | None) -> str | None:
        """A MethodDef; within one dataset an identical text reuses the first MethodDef
        (VISIT and VISITNUM share one) and its name lists every target."""
        if not text:
            return None
        oid = _oid(oid)
        dataset = oid.split(".")[1] if oid.count(".") else ""
        shared = self.method_index.get((dataset, text))
        if shared is not None:
            targets = self.methods[shared][0]
            if target not in targets:
                targets.append(target)
            return shared
        base, n = oid, 2
        while oid in self.methods:
            oid, n = f"{base}.{n}", n + 1
        self.methods[oid] = ([target], text)
        self.method_index[(dataset, text)] = oid
        return oid

    def _comment(self, oid: str, text: str | None) -> str | None:
        if not text:
            return None
        oid = _oid(oid)
        self.comments[oid] = text
        return oid

    def _dataset_order(self) -> list[str]:
        names = list(self.datasets)
        if self.is_adam:
            return sorted(names, key=lambda n: (n != "ADSL", n))

        def rank(name: str):
            cls = self._class(name)[0] or ""
            pos = _SDTM_CLASS_ORDER.index(cls) if cls in _SDTM_CLASS_ORDER else 99
            return (pos, name)
        return sorted(names, key=rank)

    def _spec(self, name: str):
        try:
            return self.std.dataset(name)
        except MetadataKeyError:
            return None

    def _class(self, name: str) -> tuple[str | None, str | None]:
        spec = self._spec(name)
        if spec is None:
            return None, None
        if self.is_adam:
            return spec.class_, spec.subclass or None
        gnrl = load_ct().codelist("GNRLOBSC")
        value = gnrl.lookup(spec.class_)
        return (value if isinstance(value, str) else spec.class_.upper()), None

    def _var_spec(self, spec, var: str):
        if spec is None:
            return None
        try:
            return spec.variable(var)
        except MetadataKeyError:
            return None

    def _label(self, frame: pd.DataFrame, spec, var: str) -> str:
        labels = frame.attrs.get("labels") or {}
        if labels.get(var):
            return str(labels[var])
        vs = self._var_spec(spec, var)
        if vs is not None:
            return vs.label
        return var

    def _keys(self, name: str, frame: pd.DataFrame, spec) -> list[str]:
        if not self.is_adam:
            return [k for k in (spec.keys if spec is not None else ()) if k in frame.columns]
        keys = [k for k in ("STUDYID", "USUBJID") if k in frame.columns]
        if name == "ADSL":
            return keys
        if "PARAMCD" in frame.columns:
            keys.append("PARAMCD")
        for extra in ("AVISITN", "ADT", "ASEQ"):
            if not frame.duplicated(keys).any():
                break
            if extra in frame.columns:
                keys.append(extra)
        return keys

    def _candidates(self, name: str, var: str, spec, extra: Iterable[str] = ()) -> list[str]:
        out = list(extra)
        vs = self._var_spec(spec, var)
        if vs is not None:
            out += list(vs.codelist_codes)
        if self.is_adam:
            pred = None
            if name != "ADSL" and var in self.adam.adsl_columns:
                pred = self._var_spec(self.std.dataset("ADSL"), var)
                if pred is not None:
                    out += list(pred.codelist_codes)
            dm = self._var_spec(self.adam.dm_spec, var)
            if dm is not None:
                out += list(dm.codelist_codes)
            if var.endswith("DTF"):
                out.append("DATEFL")
            if var.endswith("TMF"):
                out.append("TIMEFL")
            if name == "ADRS" and var == "AVALC":
                out += ["ONCRSR", "NY"]
        if var.endswith("FL"):
            out.append("NY")
        if var == "EPOCH":
            out.append("EPOCH")
        return out

    # -- datasets ---------------------------------------------------------------------
    def build(self) -> etree._ElementTree:
        for name in self._dataset_order():
            self._dataset(name, self.datasets[name])
        return self._xml()

    def _dataset(self, name: str, frame: pd.DataFrame) -> None:
        spec = self._spec(name)
        formats = frame.attrs.get("formats") or {}
        encoding = frame.attrs.get("encoding") or "utf-8"
        if encoding == "ascii":
            encoding = "utf-8"
        keys = self._keys(name, frame, spec)
        vl_spec = _value_level_spec(name)
        refs: list[_Ref] = []
        self._vl_cache = {}
        for order, var in enumerate(frame.columns, start=1):
            var = str(var)
            column = _Column(frame[var])
            series = column.distinct()      # the profile only depends on the distinct values
            prof = _profile(series, var, formats.get(var), encoding=encoding)
            item = _Item(_oid("IT", name, var), var, self._label(frame, spec, var),
                         prof.datatype, prof.length, prof.significant, prof.display)
            info = self._var_info(name, var)
            item.origins = info.origins
            vs = self._var_spec(spec, var)
            has_vlm = bool(vl_spec and var in vl_spec[1]
                           and all(w in frame.columns for w in vl_spec[0]))
            values = _distinct_values(series) if item.datatype in TEXT_TYPES else []
            if item.datatype == "text":
                item.codelist = self._variable_codelist(name, var, frame, spec, info, values,
                                                        has_vlm)
            item.comment = self._comment(_oid("COM", name, var), info.comment)
            method = None
            if info.derived:
                method = self._method(_oid("MT", name, var), f"{name}.{var}",
                                      info.method or f"{name}.{var} is derived.")
            role = None
            if not self.is_adam:
                role = vs.role if vs is not None and vs.role else self._guess_role(var)
            refs.append(_Ref(item.oid, order, bool(vs is not None and vs.core == "Req"),
                             keys.index(var) + 1 if var in keys else None, method, role))
            self.items.append(item)
            if has_vlm:
                item.valuelist = self._value_list(name, frame, column, var, vl_spec[0], item,
                                                  info, refs[-1], spec, formats, encoding)
        self._vl_cache = {}
        cls, subclass = self._class(name)
        label = (self.dataset_labels.get(name) or frame.attrs.get("label")
                 or (spec.label if spec is not None else name))
        if self.is_adam:
            structure = _ADAM_STRUCTURE.get(name) or (
                "One record per subject" if cls == "SUBJECT LEVEL ANALYSIS DATASET"
                else "One or more records per subject per parameter")
            comment_text = self._adam_dataset_comment(name)
        else:
            structure = spec.structure if spec is not None else "One record per record"
            comment_text = self.sdtm.dataset_comment(name)
        repeating = not (name in ("DM", "ADSL") or cls == "TRIAL DESIGN")
        self.groups.append(_Group(
            oid=_oid("IG", name), name=name, label=str(label),
            domain=None if self.is_adam else (name[4:] if name.startswith("SUPP") else name),
            repeating=repeating, reference=cls == "TRIAL DESIGN",
            purpose=self.meta["purpose"], structure=structure, class_=cls, subclass=subclass,
            standard=self.meta["oid"] if spec is not None else None,
            comment=self._comment(_oid("COM", name), comment_text), refs=refs,
            href="/".join(p for p in (self.data_location, f"{name.lower()}.xpt") if p),
            nonstandard=spec is None))

    def _adam_dataset_comment(self, name: str) -> str | None:
        if name == "ADTR" and self.adam is not None:
            return ("Per-visit responses are also computed from TU/TR with these sums and the "
                    "rules below and compared with the investigator's responses in RS "
                    "(reconciliation.csv). " + self.adam.recist_text() + " "
                    + self.adam.choi_text())
        return None

    @staticmethod
    def _guess_role(var: str) -> str | None:
        if var in ("VISITNUM", "VISIT", "EPOCH") or var.endswith(("DTC", "DY")):
            return "Timing"
        return None

    def _var_info(self, name: str, var: str, where: Mapping[str, str] | None = None
                  ) -> _VarInfo:
        if self.is_adam:
            return self.adam.info(name, var)
        return self.sdtm.info(name, var, where)

    def _variable_codelist(self, name, var, frame, spec, info, values, has_vlm) -> str | None:
        if not values:
            return None
        if self.is_adam and var == "PARAMCD" and "PARAM" in frame.columns:
            pairs = (frame[["PARAMCD", "PARAM"]].drop_duplicates("PARAMCD")
                     .sort_values("PARAMCD"))
            return self.codelists.sponsor(
                _oid("CL", name, "PARAMCD"), f"Parameter Code ({name})",
                [(str(a), str(b) or None) for a, b in pairs.itertuples(index=False)
                 if str(a) != ""])
        candidates = self._candidates(name, var, spec, info.codelists)
        return self.codelists.cdisc(values, candidates, context=_oid(name, var),
                                    level="var", require_all=has_vlm)

    # -- value level ------------------------------------------------------------------
    def _vl_groups(self, frame, where_vars) -> dict:
        """Row positions per combination of the where variables' values, grouped once per
        dataset."""
        key = ("groups", tuple(where_vars))
        if key not in self._vl_cache:
            keys = [_formatted(frame[w]) for w in where_vars]
            self._vl_cache[key] = pd.Series(np.arange(len(frame))).groupby(
                keys, sort=True).indices
        return self._vl_cache[key]

    def _value_list(self, name, frame, column, var, where_vars, parent: _Item, parent_info,
                    parent_ref, spec, formats, encoding) -> str | None:
        groups = self._vl_groups(frame, where_vars)
        refs: list[_Ref] = []
        for combo, rows in groups.items():
            combo = combo if isinstance(combo, tuple) else (combo,)
            if any(str(v) == "" for v in combo):
                continue
            where = dict(zip(where_vars, (str(v) for v in combo)))
            rows = np.asarray(rows)
            subset = column.distinct(rows)      # one row per distinct value of the subset
            if subset.dropna().astype(str).str.strip().eq("").all():
                continue
            prof = _profile(subset, var, formats.get(var), encoding=encoding)
            tag = [where[w] for w in where_vars]
            oid = _oid("IT", name, var, *tag)
            label = self._vl_label(name, frame, rows, var, parent.label, where)
            item = _Item(oid, var, label, prof.datatype, prof.length, prof.significant,
                         prof.display)
            info = self._vl_info(name, var, where, parent_info)
            item.origins = info.origins or parent.origins
            values = _distinct_values(subset) if item.datatype in TEXT_TYPES else []
            if item.datatype == "text":
                item.codelist = self._vl_codelist(name, var, where, subset, values, spec, info)
            if item.datatype == "text" and item.codelist is None:
                texts = _text_values(subset)   # numbers kept as text (--ORRES, QVAL, TSVAL)
                if len(texts) and texts.str.fullmatch(r"-?(\d+\.?\d*|\.\d+)").all():
                    num = _profile(pd.to_numeric(texts).astype(float), var, None)
                    item.datatype, item.length, item.significant = (num.datatype, num.length,
                                                                    num.significant)
            elif name == "ADRS" and var == "AVAL":
                item.codelist = self._aval_codes(name, where.get("PARAMCD"), subset)
            method = None
            if any(o.type == "Derived" for o in item.origins):
                method = self._vl_method(name, var, where, info, parent_ref)
            where_oid = self._where(name, where)
            refs.append(_Ref(oid, len(refs) + 1, parent_ref.mandatory, None, method, None,
                             where_oid))
            self.items.append(item)
        if not refs:
            return None
        vl_oid = _oid("VL", name, var)
        self.valuelists.append((vl_oid, refs))
        return vl_oid

    def _first_text(self, frame, column: str, rows: np.ndarray) -> str | None:
        """The first value (in row order) of ``frame[column]`` at ``rows`` whose text
        (``astype(str)``) is not empty; None when there is none."""
        key = ("nonblank", column)
        if key not in self._vl_cache:
            series = frame[column]
            codes, _ = pd.factorize(series, use_na_sentinel=True)
            first = _first_rows(codes)
            text = series.iloc[first].astype(str).to_numpy()
            ok = np.zeros(len(first) + 1, dtype=bool)
            ok[codes[first] + 1] = text != ""      # slot 0: missing (code -1)
            self._vl_cache[key] = ok[codes + 1]
        found = rows[self._vl_cache[key][rows]]
        if not len(found):
            return None
        return str(frame[column].iloc[found[:1]].astype(str).iloc[0])

    def _vl_label(self, name, frame, rows, var, parent_label, where) -> str:
        if name.startswith("SUPP") and "QLABEL" in frame.columns:
            label = self._first_text(frame, "QLABEL", rows)
            if label is not None:
                return label
        if "PARAM" in frame.columns and "PARAMCD" in where:
            param = self._first_text(frame, "PARAM", rows)
            if param is not None:
                return f"{parent_label}: {param}"
        for w, test in (("TRTESTCD", "TRTEST"), ("RSTESTCD", "RSTEST"), ("TSPARMCD", "TSPARM")):
            if w in where and test in frame.columns:
                first = self._first_text(frame, test, rows)
                if first is not None:
                    cat = f"{where['RSCAT']}, " if "RSCAT" in where else ""
                    return f"{parent_label}: {cat}{first}"
        return f"{parent_label} (" + ", ".join(f"{w} = {v}" for w, v in where.items()) + ")"

    def _vl_info(self, name, var, where, parent_info) -> _VarInfo:
        if self.is_adam:
            info = _VarInfo()
            for o in parent_info.origins:
                info.add(o)
            return info
        if name.startswith("SUPP") and var == "QVAL":
            return self.sdtm.supp_value(name[4:], where.get("QNAM", ""))
        return self.sdtm.info(name, var, where)

    def _vl_method(self, name, var, where, info, parent_ref) -> str | None:
        if self.is_adam:
            code = where.get("PARAMCD", "")
            if name == "ADRS":
                text = self.adam.param_method(code)
            elif name == "ADTTE":
                text = self.adam.tte_method(code)
            elif name == "ADTR" and var == "AVAL":
                text = self.adam.adtr_method(code)
            else:
                text = None
            if text:
                return self._method(_oid("MT", name, code), f"{name} parameter {code}", text)
            return parent_ref.method
        if info.method:
            tag = [where[w] for w in where]
            return self._method(_oid("MT", name, var, *tag), f"{name}.{var} "
                                f"({', '.join(f'{k} = {v}' for k, v in where.items())})",
                                info.method)
        return parent_ref.method

    def _vl_codelist(self, name, var, where, subset, values, spec, info) -> str | None:
        if not values:
            return None
        if self.is_adam:
            if name == "ADRS" and var == "AVALC":
                base = self.adam.params.get(where.get("PARAMCD", ""), ("", None))[0]
                cands = ["NY"] if base in _YN_PARAMS else ["ONCRSR"]
                return self.codelists.cdisc(values, cands, level="vlm",
                                            context=_oid(name, var, *where.values()))
            return None
        candidates = self._candidates(name, var, spec, info.codelists)
        if name == "TS" and var == "TSVAL":
            candidates = [where.get("TSPARMCD", "")] + _ts_codelists().get(
                where.get("TSPARMCD", ""), []) + ["NY"]
        if name.startswith("SUPP"):
            candidates = list(info.codelists)
        cl, n = self.codelists.choose(values, candidates)
        if cl is None:
            return None
        if name == "TS" and n < len(values):
            return None       # free-text parameter that happens to share a term
        return self.codelists.cdisc(values, candidates, level="vlm",
                                    context=_oid(name, var, *where.values()))

    def _aval_codes(self, name, paramcd, subset) -> str | None:
        base = self.adam.params.get(paramcd or "", ("", None))[0]
        codes = _YN_CODES if base in _YN_PARAMS else _RESPONSE_CODES
        present = {int(v) for v in pd.to_numeric(subset, errors="coerce").dropna().unique()
                   if float(v).is_integer()}
        pairs = [(str(code), decode) for decode, code in sorted(codes.items(),
                                                                 key=lambda kv: kv[1])
                 if code in present]
        if not pairs:
            return None
        kind = "YN" if base in _YN_PARAMS else "RESP"
        title = "Y/N" if kind == "YN" else "Response"
        return self.codelists.sponsor(_oid("CL", name, "AVAL", kind),
                                      f"{title} coding of AVAL ({name})", pairs, "integer",
                                      context=paramcd)

    def _where(self, name: str, where: Mapping[str, str]) -> str:
        parts = []
        for w, v in where.items():
            parts += [w, "EQ", v]
        oid = _oid("WC", name, *parts)
        checks = [(_oid("IT", name, w), "EQ", [v]) for w, v in where.items()]
        if oid in self.wheres and self.wheres[oid] != checks:
            base, n = oid, 2
            while oid in self.wheres and self.wheres[oid] != checks:
                oid, n = f"{base}.{n}", n + 1
        self.wheres[oid] = checks
        return oid

    # -- XML ----------------------------------------------------------------------------
    def _xml(self) -> etree._ElementTree:
        created = self.created or _creation_datetime()
        self.codelists.finalize()
        kind = "ADaM" if self.is_adam else "SDTM"
        root = etree.Element(_q(ODM_NS, "ODM"), nsmap=NSMAP)
        root.set("ODMVersion", "1.3.2")
        root.set("FileType", "Snapshot")
        root.set("FileOID", _oid("DEF", self.study_oid, kind))
        root.set("CreationDateTime", created)
        root.set("Originator", "cdisc-convert")
        root.set("SourceSystem", "cdisc-convert")
        root.set("SourceSystemVersion", __version__)
        root.set(_q(DEF_NS, "Context"), "Submission")
        study = etree.SubElement(root, _q(ODM_NS, "Study"), OID=_oid("STDY", self.study_oid))
        gv = etree.SubElement(study, _q(ODM_NS, "GlobalVariables"))
        etree.SubElement(gv, _q(ODM_NS, "StudyName")).text = self.study_name
        etree.SubElement(gv, _q(ODM_NS, "StudyDescription")).text = (
            self.study_description or f"{self.study_name}: {kind} datasets")
        etree.SubElement(gv, _q(ODM_NS, "ProtocolName")).text = self.study_name
        mdv = etree.SubElement(study, _q(ODM_NS, "MetaDataVersion"))
        mdv.set("OID", _oid("MDV", self.study_oid, self.meta["name"], self.meta["version"]))
        mdv.set("Name", f"{self.study_name} {kind} data definitions")
        mdv.set("Description", f"Define-XML 2.1 of the {kind} datasets of {self.study_name} "
                               f"({self.meta['name']} {self.meta['version']}), written by "
                               f"cdisc-convert {__version__}")
        mdv.set(_q(DEF_NS, "DefineVersion"), "2.1.0")
        self._xml_standards(mdv)
        for vl_oid, refs in self.valuelists:
            vl = etree.SubElement(mdv, _q(DEF_NS, "ValueListDef"), OID=vl_oid)
            for ref in refs:
                self._xml_ref(vl, ref)
        for oid, checks in self.wheres.items():
            wc = etree.SubElement(mdv, _q(DEF_NS, "WhereClauseDef"), OID=oid)
            for item_oid, comparator, values in checks:
                rc = etree.SubElement(wc, _q(ODM_NS, "RangeCheck"))
                rc.set("Comparator", comparator)
                rc.set("SoftHard", "Soft")
                rc.set(_q(DEF_NS, "ItemOID"), item_oid)
                for v in values:
                    etree.SubElement(rc, _q(ODM_NS, "CheckValue")).text = v
        for g in self.groups:
            self._xml_group(mdv, g)
        for item in self.items:
            self._xml_item(mdv, item)
        for oid in sorted(self.codelists.lists):
            self._xml_codelist(mdv, self.codelists.lists[oid])
        for oid in sorted(self.methods):
            targets, text = self.methods[oid]
            m = etree.SubElement(mdv, _q(ODM_NS, "MethodDef"), OID=oid,
                                 Name="Algorithm to derive " + ", ".join(targets),
                                 Type="Computation")
            _description(m, text)
        for oid in sorted(self.comments):
            c = etree.SubElement(mdv, _q(DEF_NS, "CommentDef"), OID=oid)
            _description(c, self.comments[oid])
        return etree.ElementTree(root)

    def _xml_standards(self, mdv) -> None:
        stds = etree.SubElement(mdv, _q(DEF_NS, "Standards"))
        etree.SubElement(stds, _q(DEF_NS, "Standard"), OID=self.meta["oid"],
                         Name=self.meta["name"], Type="IG", Version=self.meta["version"],
                         Status="Final")
        sources = ["sdtm"] + (["adam"] if self.is_adam else []) + ["define-xml"]
        sources += sorted(self.codelists.used_sources - set(sources))
        for src in sources:
            if src not in self.releases:
                continue
            std = etree.SubElement(stds, _q(DEF_NS, "Standard"))
            std.set("OID", self.ct_std_oids[src])
            std.set("Name", "CDISC/NCI")
            std.set("Type", "CT")
            std.set("PublishingSet", PUBLISHING_SET[src])
            std.set("Version", self.releases[src])
            std.set("Status", "Final")

    @staticmethod
    def _xml_ref(parent, ref: _Ref) -> None:
        el = etree.SubElement(parent, _q(ODM_NS, "ItemRef"), ItemOID=ref.item)
        el.set("OrderNumber", str(ref.order))
        el.set("Mandatory", "Yes" if ref.mandatory else "No")
        if ref.key is not None:
            el.set("KeySequence", str(ref.key))
        if ref.method:
            el.set("MethodOID", ref.method)
        if ref.role:
            el.set("Role", ref.role)
        if ref.where:
            etree.SubElement(el, _q(DEF_NS, "WhereClauseRef"), WhereClauseOID=ref.where)

    def _xml_group(self, mdv, g: _Group) -> None:
        el = etree.SubElement(mdv, _q(ODM_NS, "ItemGroupDef"), OID=g.oid, Name=g.name)
        if g.domain:
            el.set("Domain", g.domain)
        el.set("Repeating", "Yes" if g.repeating else "No")
        el.set("IsReferenceData", "Yes" if g.reference else "No")
        el.set("SASDatasetName", g.name)
        el.set("Purpose", g.purpose)
        el.set(_q(DEF_NS, "Structure"), g.structure)
        el.set(_q(DEF_NS, "ArchiveLocationID"), _oid("LF", g.name))
        if g.standard:
            el.set(_q(DEF_NS, "StandardOID"), g.standard)
        if g.nonstandard:
            el.set(_q(DEF_NS, "IsNonStandard"), "Yes")
        if g.comment:
            el.set(_q(DEF_NS, "CommentOID"), g.comment)
        _description(el, g.label)
        for ref in g.refs:
            self._xml_ref(el, ref)
        if g.domain and g.name.startswith("SUPP"):
            parent = self._spec(g.domain)
            if parent is not None:
                etree.SubElement(el, _q(ODM_NS, "Alias"), Context="DomainDescription",
                                 Name=parent.label)
        if g.class_:
            cls = etree.SubElement(el, _q(DEF_NS, "Class"), Name=g.class_)
            if g.subclass:
                etree.SubElement(cls, _q(DEF_NS, "SubClass"), Name=g.subclass)
        leaf = etree.SubElement(el, _q(DEF_NS, "leaf"), ID=_oid("LF", g.name))
        leaf.set(_q(XLINK_NS, "href"), g.href)
        etree.SubElement(leaf, _q(DEF_NS, "title")).text = g.href.rsplit("/", 1)[-1]

    def _xml_item(self, mdv, item: _Item) -> None:
        el = etree.SubElement(mdv, _q(ODM_NS, "ItemDef"), OID=item.oid, Name=item.name,
                              DataType=item.datatype)
        if item.length is not None:
            el.set("Length", str(item.length))
        if item.significant is not None:
            el.set("SignificantDigits", str(item.significant))
        el.set("SASFieldName", item.name)
        if item.display:
            el.set(_q(DEF_NS, "DisplayFormat"), item.display)
        if item.comment:
            el.set(_q(DEF_NS, "CommentOID"), item.comment)
        _description(el, item.label)
        codelist = self.codelists.oid(item.codelist)
        if codelist:
            etree.SubElement(el, _q(ODM_NS, "CodeListRef"), CodeListOID=codelist)
        for origin in item.origins:
            o = etree.SubElement(el, _q(DEF_NS, "Origin"), Type=origin.type)
            if origin.source:
                o.set("Source", origin.source)
            if origin.description:
                _description(o, origin.description)
        if item.valuelist:
            etree.SubElement(el, _q(DEF_NS, "ValueListRef"), ValueListOID=item.valuelist)

    @staticmethod
    def _xml_codelist(mdv, cl: _CodeList) -> None:
        el = etree.SubElement(mdv, _q(ODM_NS, "CodeList"), OID=cl.oid, Name=cl.name,
                              DataType=cl.datatype)
        if cl.standard:
            el.set(_q(DEF_NS, "StandardOID"), cl.standard)
        else:
            el.set(_q(DEF_NS, "IsNonStandard"), "Yes")
        decoded = any(t.decode and t.decode.casefold() != t.value.casefold() for t in cl.terms)
        for n, term in enumerate(cl.terms, start=1):
            tag = "CodeListItem" if decoded else "EnumeratedItem"
            it = etree.SubElement(el, _q(ODM_NS, tag), CodedValue=term.value)
            it.set("OrderNumber", str(n))
            if term.extended:
                it.set(_q(DEF_NS, "ExtendedValue"), "Yes")
            if decoded:
                dec = etree.SubElement(it, _q(ODM_NS, "Decode"))
                tt = etree.SubElement(dec, _q(ODM_NS, "TranslatedText"))
                tt.set(XML_LANG, "en")
                tt.text = term.decode or term.value
            if term.code:
                etree.SubElement(it, _q(ODM_NS, "Alias"), Context="nci:ExtCodeID",
                                 Name=term.code)
        if cl.code:
            etree.SubElement(el, _q(ODM_NS, "Alias"), Context="nci:ExtCodeID", Name=cl.code)


def _description(parent, text: str) -> None:
    d = etree.SubElement(parent, _q(ODM_NS, "Description"))
    tt = etree.SubElement(d, _q(ODM_NS, "TranslatedText"))
    tt.set(XML_LANG, "en")
    tt.text = text


def _ts_codelists() -> dict[str, list[str]]:
    """TSPARMCD -> codelists of its TSVAL (``specs/ct/ts-parameters.csv``)."""
    return {parm: [short] for parm, short in ts_value_codelists().items()}


def _creation_datetime() -> str:
    from cdisc_convert.io.datasetjson import creation_datetime

    return creation_datetime()


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
def build_define(datasets: Mapping[str, pd.DataFrame], *, standard: str, study_oid: str,
                 study_name: str, study_spec=None, adam_config=None,
                 dataset_labels: Mapping[str, str] | None = None,
                 creation_datetime: str | None = None,
                 study_description: str | None = None,
                 data_location: str = "") -> etree._ElementTree:
    """Define-XML 2.1 for ``datasets`` (``{NAME: DataFrame}``) as an lxml ElementTree.

    ``standard``: ``"sdtmig-3.4"`` or ``"adamig-1.3"``. ``study_spec``: the study's mapping
    spec (:class:`~cdisc_convert.sdtm.spec.StudySpec`) for SDTM origins and methods;
    ``adam_config``: the :class:`~cdisc_convert.adam.config.AdamConfig` the ADaM datasets
    were derived with (defaults when None). ``dataset_labels`` override the labels of the
    frames (``frame.attrs['label']``) and of the standard. ``creation_datetime`` (ISO 8601)
    overrides ``SOURCE_DATE_EPOCH`` / the clock. ``data_location``: the folder of the XPT
    files relative to the define.xml (``def:leaf`` xlink:href; default: the same folder).
    """
    return _Builder(datasets, standard=standard, study_oid=study_oid, study_name=study_name,
                    study_spec=study_spec, adam_config=adam_config,
                    dataset_labels=dataset_labels, creation_datetime=creation_datetime,
                    study_description=study_description, data_location=data_location).build()


def _serialise(tree: etree._ElementTree) -> bytes:
    """define.xml's bytes, naming the stylesheet written beside it in an xml-stylesheet
    processing instruction after the XML declaration (a browser then shows the page)."""
    from .html import stylesheet_instruction

    xml = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    end = xml.index(b"?>") + 2
    return xml[:end] + b"\n" + etree.tostring(stylesheet_instruction()) + xml[end:]


def write_define(folder: Path | str, out: Path | str | None = None, *, study=None,
                 xpt_frames: dict[str, pd.DataFrame] | None = None) -> Path:
    """Describe the datasets of ``folder`` in ``define.xml`` (default ``folder/define.xml``)
    and write its HTML view ``define.html`` next to it.

    The folder is read with :func:`~cdisc_convert.io.datasets.read_folder` (XPT preferred).
    A folder of ADaM datasets (every name starts with AD) is described against ADaMIG 1.3,
    any other against SDTMIG 3.4. ``study`` is the study's mapping folder (or a loaded
    StudySpec): SDTM origins and methods come from its YAML files, ADaM methods from its
    ``adam.yaml``; without it the standard's defaults are used. Both files are written to
    temporary files first and moved into place only when both are complete. ``xpt_frames``
    (by upper-case name): XPT files of the folder already read with ``read_xpt``.
    """
    from cdisc_convert.io.datasets import read_folder
    from .html import STYLESHEET_NAME, render_html, stylesheet_bytes

    folder = Path(folder)
    # report tables (conformance_findings.csv ...) are not datasets: SAS names have <= 8
    # letters and digits
    datasets = {name: frame for name, frame in read_folder(folder, xpt_frames=xpt_frames).items()
                if re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", name)}
    if not datasets:
        raise InputError("no datasets (XPT, Dataset-JSON or CSV) in the folder", file=folder,
                         rule="DEFINE-EMPTY")
    is_adam = all(name.startswith("AD") for name in datasets)
    if not is_adam and any(name.startswith("AD") for name in datasets):
        raise CdiscError("the folder mixes SDTM and ADaM datasets; a define.xml describes "
                         "one standard: write one per folder", file=folder,
                         rule="DEFINE-MIXED")
    standard = "adamig-1.3" if is_adam else "sdtmig-3.4"
    study_spec, adam_config, description = None, None, None
    if study is not None:
        from cdisc_convert.sdtm.spec import StudySpec, load_study

        if isinstance(study, StudySpec):
            study_spec = study
            study_dir = study.path.parent
        else:
            study_dir = Path(study)
            study_spec = load_study(study_dir) if not is_adam else None
        description = getattr(study_spec, "description", None)
        if is_adam:
            from cdisc_convert.adam.config import load_adam_config

            cfg = study_dir / "adam.yaml"
            adam_config = load_adam_config(cfg) if cfg.is_file() else None
    studyid = ""
    for frame in datasets.values():
        if "STUDYID" in frame.columns:
            ids = frame["STUDYID"].astype(str)
            ids = ids[ids != ""]
            if len(ids):
                studyid = str(ids.iloc[0])
                break
    if not studyid and study_spec is not None:
        studyid = study_spec.study
    studyid = studyid or folder.name
    out = Path(out) if out else folder / "define.xml"
    location = os.path.relpath(folder.resolve(), out.resolve().parent)
    tree = build_define(datasets, standard=standard, study_oid=studyid, study_name=studyid,
                        study_spec=study_spec, adam_config=adam_config,
                        study_description=description,
                        data_location="" if location == "." else Path(location).as_posix())
    html_path = out.with_suffix(".html")
    xml_bytes = _serialise(tree)
    html_bytes = render_html(tree).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    # the three files are complete on disk before any replaces its predecessor
    with atomic_file(out) as xml_handle, atomic_file(html_path) as html_handle, \
            atomic_file(out.with_name(STYLESHEET_NAME)) as xsl_handle:
        xml_handle.write(xml_bytes)
        html_handle.write(html_bytes)
        xsl_handle.write(stylesheet_bytes())
    return out


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------
def define_schema_path(arm: bool = False) -> Path | None:
    """Path of the Define-XML 2.1 XSD in the installed odmlib (the ARM 1.0 variant, which
    includes Define-XML 2.1, with ``arm=True``); None when odmlib is not installed."""
    try:
        import odmlib  # noqa: PLC0415
    except ImportError:
        return None
    base = Path(odmlib.__file__).resolve().parent / "schemas"
    path = base / ("arm/1.0-define2.1/arm1-0-0.xsd" if arm else "define/2.1/define2-1-0.xsd")
    return path if path.is_file() else None


@functools.lru_cache(maxsize=2)
def _schema(arm: bool) -> etree.XMLSchema:
    path = define_schema_path(arm)
    return etree.XMLSchema(etree.parse(str(path), safe_parser()))


def _short_tag(text: str) -> str:
    return (text.replace(f"{{{ODM_NS}}}", "").replace(f"{{{DEF_NS}}}", "def:")
            .replace(f"{{{ARM_NS}}}", "arm:").replace(f"{{{XLINK_NS}}}", "xlink:"))


def _xsd_messages(doc: etree._ElementTree) -> list[str]:
    arm = any(el.tag.startswith(f"{{{ARM_NS}}}") for el in doc.iter() if
              isinstance(el.tag, str))
    if define_schema_path(arm) is None:
        return ["XSD: not checked: the odmlib package (which ships the Define-XML 2.1 "
                "schema) is not installed; pip install odmlib"]
    schema = _schema(arm)
    try:
        if schema.validate(doc):
            return []
    except etree.XMLSchemaValidateError as err:   # e.g. an unresolved entity reference
        return [f"XSD: the document cannot be validated: {err}"]
    return [f"XSD: line {e.line}: {_short_tag(e.message)}" for e in schema.error_log]


def _reference_messages(root) -> list[str]:
    """Every OID reference points at a definition, and OIDs are unique."""
    out = []

    def defined(xpath: str, attr: str = "OID") -> dict[str, Any]:
        found: dict[str, Any] = {}
        for el in root.iterfind(xpath, NS):
            oid = el.get(attr)
            if oid in found:
                out.append(f"REF: {_short_tag(el.tag)} OID {oid} is defined twice")
            found[oid] = el
        return found

    items = defined(".//odm:ItemDef")
    groups = defined(".//odm:ItemGroupDef")
    codelists = defined(".//odm:CodeList")
    methods = defined(".//odm:MethodDef")
    comments = defined(".//def:CommentDef")
    wheres = defined(".//def:WhereClauseDef")
    vls = defined(".//def:ValueListDef")
    stds = defined(".//def:Standard")
    leaves = {el.get("ID") for el in root.iterfind(".//def:leaf", NS)}

    for g in groups.values():
        where = f"{g.get('OID')}"
        orders, keys = [], []
        for ref in g.iterfind("odm:ItemRef", NS):
            if ref.get("ItemOID") not in items:
                out.append(f"REF: ItemRef {ref.get('ItemOID')} in {where} points to no ItemDef")
            orders.append(ref.get("OrderNumber"))
            if ref.get("KeySequence"):
                keys.append(ref.get("KeySequence"))
        for label, seq in (("OrderNumber", orders), ("KeySequence", keys)):
            dupes = sorted({x for x in seq if x is not None and seq.count(x) > 1})
            if dupes:
                out.append(f"REF: {where} repeats {label} {', '.join(dupes)}")
        loc = g.get(_q(DEF_NS, "ArchiveLocationID"))
        if loc and loc not in leaves:
            out.append(f"REF: {where} def:ArchiveLocationID {loc} points to no def:leaf")
    for vl in vls.values():
        for ref in vl.iterfind("odm:ItemRef", NS):
            if ref.get("ItemOID") not in items:
                out.append(f"REF: ItemRef {ref.get('ItemOID')} in {vl.get('OID')} points to no "
                           "ItemDef")
            for wc in ref.iterfind("def:WhereClauseRef", NS):
                if wc.get("WhereClauseOID") not in wheres:
                    out.append(f"REF: WhereClauseRef {wc.get('WhereClauseOID')} in "
                               f"{vl.get('OID')} points to no def:WhereClauseDef")
    for ref in root.iterfind(".//odm:ItemRef", NS):
        if ref.get("MethodOID") and ref.get("MethodOID") not in methods:
            out.append(f"REF: MethodOID {ref.get('MethodOID')} of ItemRef {ref.get('ItemOID')} "
                       "points to no MethodDef")
    for item in items.values():
        for cl in item.iterfind("odm:CodeListRef", NS):
            if cl.get("CodeListOID") not in codelists:
                out.append(f"REF: CodeListRef {cl.get('CodeListOID')} of {item.get('OID')} "
                           "points to no CodeList")
        for vl in item.iterfind("def:ValueListRef", NS):
            if vl.get("ValueListOID") not in vls:
                out.append(f"REF: ValueListRef {vl.get('ValueListOID')} of {item.get('OID')} "
                           "points to no def:ValueListDef")
    for wc in wheres.values():
        for rc in wc.iterfind("odm:RangeCheck", NS):
            target = rc.get(_q(DEF_NS, "ItemOID"))
            if target not in items:
                out.append(f"REF: RangeCheck in {wc.get('OID')} points to no ItemDef {target}")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        com = el.get(_q(DEF_NS, "CommentOID"))
        if com and com not in comments:
            out.append(f"REF: def:CommentOID {com} of {el.get('OID') or _short_tag(el.tag)} "
                       "points to no def:CommentDef")
        std = el.get(_q(DEF_NS, "StandardOID"))
        if std and std not in stds:
            out.append(f"REF: def:StandardOID {std} of {el.get('OID')} points to no "
                       "def:Standard")
    return out


def _data_folder(root, define: Path) -> Path:
    """Where the define's def:leaf links point (the first that exists), else its folder."""
    for leaf in root.iterfind(".//odm:ItemGroupDef/def:leaf", NS):
        href = leaf.get(_q(XLINK_NS, "href")) or ""
        target = (define.parent / href)
        if href and "://" not in href and target.is_file():
            return target.parent
    return define.parent


def read_xpt_files(folder: Path | str) -> dict[str, pd.DataFrame]:
    """Every XPT file of ``folder`` read with ``read_xpt``, by upper-case file stem (the
    path in ``attrs['path']``): what :func:`write_define` and :func:`validate_define` take
    as ``xpt_frames`` so that one read serves both."""
    from cdisc_convert.io.xpt import read_xpt

    out = {}
    for path in sorted(Path(folder).glob("*")):
        if path.suffix.lower() == ".xpt":
            frame = read_xpt(path)
            frame.attrs["path"] = str(path)
            out[path.stem.upper()] = frame
    return out


def _read_data(folder: Path) -> dict[str, tuple[pd.DataFrame, Path]]:
    return {name: (frame, Path(frame.attrs["path"]))
            for name, frame in read_xpt_files(folder).items()}


class _DataColumn:
    """A data column factorized once for the cross-checks.

    Every check looks at each distinct value once and counts rows with ``np.bincount``
    over the codes, for all rows or for a value-level subset (index 0 counts the missing
    values, index i + 1 the i-th distinct value, in order of first occurrence).
    """

    def __init__(self, series: pd.Series):
        series = _bare(series)
        self.numeric = pd.api.types.is_numeric_dtype(series)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        self.codes = codes + 1
        self.uniques = np.asarray(uniques)
        self._text: np.ndarray | None = None
        self._numbers: np.ndarray | None = None
        self._all: np.ndarray | None = None

    @property
    def text(self) -> np.ndarray:
        """:func:`_format_value` of "missing" then of each distinct value."""
        if self._text is None:
            self._text = np.array([""] + [_format_value(v) for v in self.uniques.tolist()],
                                  dtype=object)
        return self._text

    @property
    def numbers(self) -> np.ndarray:
        """NaN then each distinct value as a number (NaN where it is not one)."""
        if self._numbers is None:
            values = pd.to_numeric(pd.Series(self.uniques, dtype=object), errors="coerce")
            self._numbers = np.concatenate([[np.nan], values.to_numpy(dtype=float)])
        return self._numbers

    def counts(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Rows per code (all rows, or those of ``mask``)."""
        if mask is None:
            if self._all is None:
                self._all = np.bincount(self.codes, minlength=len(self.uniques) + 1)
            return self._all
        return np.bincount(self.codes[mask], minlength=len(self.uniques) + 1)

    def rows(self, per_code: np.ndarray) -> np.ndarray:
        """A per-code boolean as a per-row mask."""
        return per_code[self.codes]

    def text_values(self, counts: np.ndarray) -> list[str]:
        """The distinct non-blank values present, as text without trailing blanks."""
        present = self.uniques[counts[1:] > 0]
        values = {str(v).rstrip(" ") for v in present.tolist()}
        values.discard("")
        return sorted(values)


def _longest_bytes(values: list[str], encoding: str = "utf-8") -> int:
    return max([1] + [len(v.encode(encoding, errors="replace")) for v in values])


def _subset_mask(columns: dict[str, _DataColumn], nrows: int,
                 checks: list[tuple[str, str, list[str]]]):
    """Rows of a where clause (None when it names a variable the data does not have)."""
    mask = np.ones(nrows, dtype=bool)
    for var, comparator, values in checks:
        col = columns.get(var)
        if col is None:
            return None
        if comparator in ("EQ", "IN"):
            mask &= col.rows(np.isin(col.text, values))
        elif comparator in ("NE", "NOTIN"):
            mask &= col.rows(~np.isin(col.text, values))
        elif comparator in ("LT", "LE", "GT", "GE"):
            ref = float(values[0]) if values else math.nan
            op = {"LT": np.less, "LE": np.less_equal, "GT": np.greater,
                  "GE": np.greater_equal}[comparator]
            with np.errstate(invalid="ignore"):
                mask &= col.rows(op(col.numbers, ref))
        elif comparator == "IS":
            mask &= col.rows(col.text == "")
        elif comparator == "ISNOT":
            mask &= col.rows(col.text != "")
    return mask


def _data_messages(root, folder: Path, subset: bool,
                   data: dict[str, tuple[pd.DataFrame, Path]] | None = None) -> list[str]:
    out: list[str] = []
    data = _read_data(folder) if data is None else data
    if not data:
        return [f"DATA: no XPT files in {folder}: the data cross-checks were not run"]
    items = {el.get("OID"): el for el in root.iterfind(".//odm:ItemDef", NS)}
    codelists = {}
    for cl in root.iterfind(".//odm:CodeList", NS):
        values = [x.get("CodedValue") for x in cl if isinstance(x.tag, str)
                  and x.tag in (_q(ODM_NS, "CodeListItem"), _q(ODM_NS, "EnumeratedItem"))]
        codelists[cl.get("OID")] = set(values) if cl.find("odm:ExternalCodeList", NS) is None \
            else None
    wheres = {}
    for wc in root.iterfind(".//def:WhereClauseDef", NS):
        checks = []
        for rc in wc.iterfind("odm:RangeCheck", NS):
            target = items.get(rc.get(_q(DEF_NS, "ItemOID")))
            checks.append((target.get("Name") if target is not None else "",
                           rc.get("Comparator"),
                           [(cv.text or "") for cv in rc.iterfind("odm:CheckValue", NS)]))
        wheres[wc.get("OID")] = checks
    valuelists = {vl.get("OID"): vl for vl in root.iterfind(".//def:ValueListDef", NS)}
    described = set()
    for g in root.iterfind(".//odm:ItemGroupDef", NS):
        name = g.get("Name")
        described.add(name.upper())
        leaf = g.find("def:leaf", NS)
        href = leaf.get(_q(XLINK_NS, "href")) if leaf is not None else f"{name.lower()}.xpt"
        if name.upper() not in data:
            if not subset:
                out.append(f"DATA: dataset {name} is in the define but {href} is not in "
                           f"{folder}")
            continue
        frame, path = data[name.upper()]
        if leaf is not None and Path(href).name.lower() != path.name.lower():
            out.append(f"DATA: {name}: def:leaf points to {href} but the file is {path.name}")
        lengths = frame.attrs.get("lengths", {})
        refs = [(r, items.get(r.get("ItemOID"))) for r in g.iterfind("odm:ItemRef", NS)]
        refs = sorted(refs, key=lambda ri: int(ri[0].get("OrderNumber") or 0))
        names = [it.get("Name") for _, it in refs if it is not None]
        for var in frame.columns:
            if var not in names:
                out.append(f"DATA: {name}.{var} is in {path.name} but not in the define")
        for var in names:
            if var not in frame.columns:
                out.append(f"DATA: {name}.{var} is in the define but not in {path.name}")
        common = [v for v in names if v in frame.columns]
        if common != [v for v in frame.columns if v in names]:
            out.append(f"DATA: {name}: the variable order (OrderNumber) differs from "
                       f"{path.name}")
        columns = _LazyColumns(frame)
        for ref, item in refs:
            if item is None or item.get("Name") not in frame.columns:
                continue
            var = item.get("Name")
            col = columns[var]
            counts = col.counts()
            out += _check_item(name, var, item, col, counts, lengths.get(var), path.name)
            out += _check_codelist(name, var, item, col, counts, codelists)
            vlr = item.find("def:ValueListRef", NS)
            vl = valuelists.get(vlr.get("ValueListOID")) if vlr is not None else None
            if vl is None:
                continue
            for vref in vl.iterfind("odm:ItemRef", NS):
                vitem = items.get(vref.get("ItemOID"))
                if vitem is None:
                    continue
                masks = []
                for wcr in vref.iterfind("def:WhereClauseRef", NS):
                    checks = wheres.get(wcr.get("WhereClauseOID"))
                    mask = (_subset_mask(columns, len(frame), checks) if checks is not None
                            else None)
                    if mask is not None:
                        masks.append(mask)
                if not masks:
                    continue
                sub_counts = col.counts(np.logical_or.reduce(masks))
                where_text = vref.get("ItemOID")
                out += _check_codelist(name, var, vitem, col, sub_counts, codelists,
                                       where=where_text)
                vlength = vitem.get("Length")
                if (vitem.get("DataType") in TEXT_TYPES and vlength and vlength.isdigit()
                        and not col.numeric):
                    texts = col.text_values(sub_counts)
                    longest = _longest_bytes(texts)
                    if texts and longest > int(vlength):
                        out.append(f"DATA: {name}.{var} ({where_text}): a value of {longest} "
                                   f"bytes is longer than the value-level Length {vlength}")
                if vitem.get("DataType") in NUMERIC_TYPES:
                    out += _check_numbers(name, var, vitem, col, sub_counts, where=where_text)
    for name, (_, path) in data.items():
        if name not in described:
            out.append(f"DATA: dataset {name} ({path.name}) is not in the define")
    return out


class _LazyColumns(dict):
    """``_DataColumn`` of a frame's variables, made on first use (None: no such variable)."""

    def __init__(self, frame: pd.DataFrame):
        super().__init__()
        self.frame = frame

    def get(self, var, default=None):
        if var not in self.frame.columns:
            return default
        return self[var]

    def __missing__(self, var):
        self[var] = _DataColumn(self.frame[var])
        return self[var]


def _check_item(ds, var, item, col: _DataColumn, counts, xpt_length, file) -> list[str]:
    out = []
    dtype = item.get("DataType")
    numeric = col.numeric
    if dtype in NUMERIC_TYPES and not numeric:
        out.append(f"DATA: {ds}.{var}: DataType {dtype} but {file} stores it as character")
    elif dtype in TEXT_TYPES and numeric:
        out.append(f"DATA: {ds}.{var}: DataType {dtype} but {file} stores it as numeric")
    length = item.get("Length")
    if not numeric and length is not None:
        if xpt_length is not None and str(xpt_length) != length:
            out.append(f"DATA: {ds}.{var}: define Length {length} but {file} has length "
                       f"{xpt_length}")
        longest = _longest_bytes(col.text_values(counts))
        if length.isdigit() and longest > int(length):
            out.append(f"DATA: {ds}.{var}: a value of {longest} bytes is longer than the define "
                       f"Length {length}")
    if numeric and dtype in NUMERIC_TYPES:
        out += _check_numbers(ds, var, item, col, counts)
    return out


def _check_numbers(ds, var, item, col: _DataColumn, counts, where: str | None = None) -> list[str]:
    """Integers whole and within Length digits; floats within Length - SignificantDigits
    integer digits (each distinct value checked once, in order of first occurrence)."""
    out = []
    values = col.numbers
    usable = (counts > 0) & np.isfinite(values)
    if not usable.any():
        return out
    values, rows = values[usable], counts[usable]
    ctx = f"{ds}.{var}" + (f" ({where})" if where else "")
    dtype, length = item.get("DataType"), item.get("Length")
    if dtype == "integer":
        bad = np.mod(values, 1) != 0
        if bad.any():
            out.append(f"DATA: {ctx}: DataType integer but holds {values[bad][0]!r} "
                       f"({int(rows[bad].sum())} non-whole values)")
        if length and length.isdigit():
            digits = max(_int_digits(v) for v in values.tolist())
            if digits > int(length):
                out.append(f"DATA: {ctx}: integer Length {length} but a value has "
                           f"{digits} digits")
    elif dtype == "float" and length and length.isdigit():
        sig = int(item.get("SignificantDigits") or 0)
        digits = max(_int_digits(v) for v in values.tolist())
        if digits > int(length) - sig:
            out.append(f"DATA: {ctx}: float Length {length} with SignificantDigits {sig} "
                       f"leaves {int(length) - sig} integer digits but a value has {digits}")
    return out


def _check_codelist(ds, var, item, col: _DataColumn, counts, codelists,
                    where: str | None = None) -> list[str]:
    """Values used (rows with ``counts``) that the item's codelist does not declare."""
    ref = item.find("odm:CodeListRef", NS)
    if ref is None:
        return []
    allowed = codelists.get(ref.get("CodeListOID"))
    if allowed is None:
        return []
    undeclared: dict[str, int] = {}
    for text, n in zip(col.text.tolist(), counts.tolist()):
        if n and text != "" and text not in allowed:
            undeclared[text] = undeclared.get(text, 0) + n
    ctx = f"{ds}.{var}" + (f" ({where})" if where else "")
    return [f"DATA: {ctx}: value {value!r} ({n} record{'s' if n > 1 else ''}) is not declared "
            f"in codelist {ref.get('CodeListOID')}" for value, n in sorted(undeclared.items())]


def validate_define(path: Path | str, data_dir: Path | str | None = None, *,
                    subset: bool = False, check_data: bool = True,
                    xpt_frames: dict[str, pd.DataFrame] | None = None) -> list[str]:
    """Problems of a define.xml, one message each (empty list: none found).

    * ``XSD: ...`` — schema validation with the Define-XML 2.1 XSD from the installed
      odmlib package (its ARM 1.0 variant when the document holds Analysis Results
      Metadata), offline; without odmlib one message says so and the other checks still run.
    * ``REF: ...`` — what the schema cannot express: every ItemRef, CodeListRef, MethodOID,
      WhereClauseRef, ValueListRef, def:CommentOID, def:StandardOID and RangeCheck
      def:ItemOID points at a definition; OIDs, OrderNumbers and KeySequences are unique.
    * ``DATA: ...`` — against the XPT files of ``data_dir`` (default: the define's folder),
      unless ``check_data`` is False: every dataset and variable of the folder is in the
      define and vice versa (with ``subset=True`` the folder may hold only some of the
      define's datasets), variable order, DataType (character vs numeric), Length equal to
      the XPT length and not shorter than the longest value, integers whole and within their
      digits, floats within Length - SignificantDigits integer digits, and every value used
      in the data (per value-level subset, where clauses evaluated) declared in the
      codelist of its ItemDef.

    ``xpt_frames`` (by upper-case name): the XPT files of ``data_dir`` already read with
    ``read_xpt`` (what :func:`read_xpt_files` returns), so they are not read again.
    """
    path = Path(path)
    try:
        doc = etree.parse(str(path), safe_parser())
    except (OSError, etree.XMLSyntaxError) as err:
        return [f"XML: {path} cannot be read: {err}"]
    root = doc.getroot()
    if root.tag != _q(ODM_NS, "ODM"):
        return [f"XML: the root element is {_short_tag(root.tag)}, not ODM"]
    messages = _xsd_messages(doc) + _reference_messages(root)
    if check_data:
        folder = Path(data_dir) if data_dir else _data_folder(root, path)
        data = None
        if xpt_frames is not None:
            data = {name: (frame, Path(frame.attrs.get("path") or folder / f"{name.lower()}.xpt"))
                    for name, frame in xpt_frames.items()}
        messages += _data_messages(root, folder, subset, data)
    return messages
