"""Checks of a define.xml: the Define-XML 2.1 schema, its references, and the data it
describes (:func:`validate_define`)."""
from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from cdisc_convert.core.arrays import without_attrs
from cdisc_convert.core.factorize import (categorical_codes, factorize_text, object_codes,
                                          object_firsts)
from cdisc_convert.io.xpt.writer import echo_text_codes
from cdisc_convert.standards.define_xml import (ARM_NS, DEF_NS, NS, NUMERIC_TYPES, ODM_NS,
                                                TEXT_TYPES, XLINK_NS, format_value,
                                                int_digits, qname, safe_parser)

__all__ = ["validate_define", "define_schema_path", "read_xpt_files"]


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
        loc = g.get(qname(DEF_NS, "ArchiveLocationID"))
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
            target = rc.get(qname(DEF_NS, "ItemOID"))
            if target not in items:
                out.append(f"REF: RangeCheck in {wc.get('OID')} points to no ItemDef {target}")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        com = el.get(qname(DEF_NS, "CommentOID"))
        if com and com not in comments:
            out.append(f"REF: def:CommentOID {com} of {el.get('OID') or _short_tag(el.tag)} "
                       "points to no def:CommentDef")
        std = el.get(qname(DEF_NS, "StandardOID"))
        if std and std not in stds:
            out.append(f"REF: def:StandardOID {std} of {el.get('OID')} points to no "
                       "def:Standard")
    return out


def _data_folder(root, define: Path) -> Path:
    """Where the define's def:leaf links point (the first that exists), else its folder."""
    for leaf in root.iterfind(".//odm:ItemGroupDef/def:leaf", NS):
        href = leaf.get(qname(XLINK_NS, "href")) or ""
        target = (define.parent / href)
        if href and "://" not in href and target.is_file():
            return target.parent
    return define.parent


def read_xpt_files(folder: Path | str, encoding: str | None = None) -> dict[str, pd.DataFrame]:
    """Every XPT file of ``folder`` read with ``read_xpt``, by upper-case file stem (the
    path in ``attrs['path']``): what :func:`write_define` and :func:`validate_define` take
    as ``xpt_frames`` so that one read serves both. ``encoding``: of the XPT text (e.g.
    ``cp1252``); by default ASCII/UTF-8."""
    from cdisc_convert.io.xpt import read_xpt

    out = {}
    for path in sorted(Path(folder).glob("*")):
        if path.suffix.lower() == ".xpt":
            frame = read_xpt(path) if encoding is None else read_xpt(path, encoding=encoding)
            frame.attrs["path"] = str(path)
            out[path.stem.upper()] = frame
    return out


def _read_data(folder: Path) -> dict[str, tuple[pd.DataFrame, Path]]:
    """The datasets to check the define against: the XPT files, or, in a folder written
    without XPT, the Dataset-JSON or CSV files, dates as SAS numbers as in XPT."""
    data = {name: (frame, Path(frame.attrs["path"]))
            for name, frame in read_xpt_files(folder).items()}
    if data:
        return data
    from cdisc_convert.io.read_folder import read_folder
    from cdisc_convert.io.folder import to_transport

    for name, frame in read_folder(folder).items():
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,7}", name):
            continue        # report tables (conformance_findings.csv ...) are no datasets
        transport, _ = to_transport(frame, name)
        transport.attrs = {k: v for k, v in frame.attrs.items() if k != "lengths"}
        data[name] = (transport, Path(frame.attrs["path"]))
    return data


class _DataColumn:
    """A data column for the cross-checks, numbered only when a check needs its codes.

    The checks of all rows need its distinct values only (their lengths, whether the
    codelist holds them) or, for numbers, vectorised passes over the rows; the codes (one
    per row, in order of first occurrence) are made for a value-level where clause, or to
    count the rows of a value a check reports. Counts are ``np.bincount`` over the codes
    (index 0 counts the missing values, index i + 1 the i-th distinct value). ``rows``
    arguments select a value-level subset (a boolean mask; None: every row).
    """

    def __init__(self, series: pd.Series):
        self.series = without_attrs(series)
        self.numeric = pd.api.types.is_numeric_dtype(self.series)
        dtype = self.series.dtype
        #: numpy integers and floats, checked row-wise without numbering them
        self.plain_numbers = isinstance(dtype, np.dtype) and dtype.kind in "fiu"
        self._codes: np.ndarray | None = None
        self._uniques: np.ndarray | None = None
        self._text: np.ndarray | None = None
        self._numbers: np.ndarray | None = None
        self._all: np.ndarray | None = None

    def _number(self) -> None:
        codes, uniques = _factorize(self.series)
        # a code per row is held for every column of the data set while it is checked:
        # the smallest integer type (intp took ~0.5 GB for ADLB at 50,000 subjects)
        top = len(uniques) + 1
        self._codes = np.add(codes, 1, dtype=np.int8 if top < 2**7 else np.int16
                             if top < 2**15 else np.int32 if top < 2**31 else np.int64)
        self._uniques = np.asarray(uniques)

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            self._number()
        return self._codes

    @property
    def uniques(self) -> np.ndarray:
        if self._uniques is None:
            self._number()
        return self._uniques

    @property
    def text(self) -> np.ndarray:
        """:func:`format_value` of "missing" then of each distinct value."""
        if self._text is None:
            self._text = np.array([""] + [format_value(v) for v in self.uniques.tolist()],
                                  dtype=object)
        return self._text

    @property
    def numbers(self) -> np.ndarray:
        """NaN then each distinct value as a number (NaN where it is not one)."""
        if self._numbers is None:
            values = pd.to_numeric(pd.Series(self.uniques, dtype=object), errors="coerce")
            self._numbers = np.concatenate([[np.nan], values.to_numpy(dtype=float)])
        return self._numbers

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Rows per code (every row, or those of the mask ``rows``)."""
        if rows is None:
            if self._all is None:
                self._all = np.bincount(self.codes, minlength=len(self.uniques) + 1)
            return self._all
        return np.bincount(self.codes[rows], minlength=len(self.uniques) + 1)

    def rows(self, per_code: np.ndarray) -> np.ndarray:
        """A per-code boolean as a per-row mask."""
        return per_code[self.codes]

    def present(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The distinct non-missing values of the rows (all, or the mask ``rows``), no code
        per row made: an object column's rows are told apart by the codes the XPT writer
        numbered them with when the frame is its echo (``run``), else by object (read_xpt
        shares one str per distinct value), and only one row per code or object is
        compared by value."""
        if self._codes is not None or self.series.dtype != object:
            return self.uniques[self.counts(rows)[1:] > 0]
        values = self.series.to_numpy()
        written = echo_text_codes(values)
        if rows is not None:
            values = values[rows]
            written = None if written is None else written[rows]
        picks = object_firsts(values) if written is None else _row_per_code(written)
        return factorize_text(values[picks])[1]

    def text_values(self, rows: np.ndarray | None = None) -> list[str]:
        """The distinct non-blank values of the rows, as text without trailing blanks (in
        no particular order: only their lengths are checked)."""
        present = self.present(rows).tolist()
        try:
            joined = "\x00".join(present)
        except TypeError:           # not all text
            joined = " "
        if not (joined.endswith(" ") or " \x00" in joined):
            # text as XPT gives it (no trailing blanks): the distinct values as they are,
            # one C-level join telling so instead of a str() and rstrip() per value
            return [v for v in present if v != ""]
        values = {str(v).rstrip(" ") for v in present}
        values.discard("")
        return list(values)

    def finite_numbers(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The finite values of the rows as float64, in row order (``plain_numbers``)."""
        values = self.series.to_numpy()
        if rows is not None:
            values = values[rows]
        values = values.astype(np.float64, copy=False)
        finite = np.isfinite(values)
        return values if finite.all() else values[finite]


def _row_per_code(codes: np.ndarray) -> np.ndarray:
    """A row holding each code present (any of its rows), for codes from -1 up: one
    scatter pass instead of hashing the rows."""
    if not len(codes):
        return np.zeros(0, dtype=np.intp)
    slots = np.full(int(codes.max()) + 2, -1, dtype=np.intp)
    slots[codes.astype(np.intp) + 1] = np.arange(len(codes))
    return slots[slots >= 0]


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(series)`` (codes by first appearance, -1 missing; the distinct
    values), exact for text holding NUL. An object column whose rows share their str
    objects (read_xpt gives one per distinct value) is numbered by object address first
    and only the distinct objects by value, instead of hashing every row's text."""
    held = categorical_codes(series)
    if held is not None:            # run's echoes (io.numbering.compact_text)
        return held
    values = series.to_numpy()
    if series.dtype == object and len(values) > 1:
        values = np.ascontiguousarray(values)
        by_object, first = object_codes(values)
        if len(first) * 2 < len(values):
            # objects come in order of first appearance, so numbering them by value
            # numbers the values by their first row, as pd.factorize of every row does
            by_value, uniques = factorize_text(values[first])
            return by_value.astype(np.intp, copy=False).take(by_object), uniques
        return factorize_text(values)
    return pd.factorize(series, use_na_sentinel=True)


#: encodings that write each ASCII character as that one byte
_ASCII_SUPERSETS = frozenset({"utf-8", "utf8", "ascii", "latin-1", "latin1", "iso-8859-1",
                              "cp1252", "windows-1252"})


def _longest_bytes(values: list[str], encoding: str = "utf-8") -> int:
    if encoding.lower() in _ASCII_SUPERSETS and "".join(values).isascii():
        return max([1, *map(len, values)])     # one byte per character: nothing to encode
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
        return [f"DATA: no dataset files in {folder}: the data cross-checks were not run"]
    items = {el.get("OID"): el for el in root.iterfind(".//odm:ItemDef", NS)}
    codelists = {}
    for cl in root.iterfind(".//odm:CodeList", NS):
        values = [x.get("CodedValue") for x in cl if isinstance(x.tag, str)
                  and x.tag in (qname(ODM_NS, "CodeListItem"), qname(ODM_NS, "EnumeratedItem"))]
        codelists[cl.get("OID")] = set(values) if cl.find("odm:ExternalCodeList", NS) is None \
            else None
    wheres = {}
    for wc in root.iterfind(".//def:WhereClauseDef", NS):
        checks = []
        for rc in wc.iterfind("odm:RangeCheck", NS):
            target = items.get(rc.get(qname(DEF_NS, "ItemOID")))
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
        href = leaf.get(qname(XLINK_NS, "href")) if leaf is not None else f"{name.lower()}.xpt"
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
            out += _check_item(name, var, item, col, lengths.get(var), path.name,
                               _byte_encoding(frame))
            out += _check_codelist(name, var, item, col, None, codelists)
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
                rows = np.logical_or.reduce(masks)
                where_text = vref.get("ItemOID")
                out += _check_codelist(name, var, vitem, col, rows, codelists,
                                       where=where_text)
                vlength = vitem.get("Length")
                if (vitem.get("DataType") in TEXT_TYPES and vlength and vlength.isdigit()
                        and not col.numeric):
                    texts = col.text_values(rows)
                    longest = _longest_bytes(texts, _byte_encoding(frame))
                    if texts and longest > int(vlength):
                        out.append(f"DATA: {name}.{var} ({where_text}): a value of {longest} "
                                   f"bytes is longer than the value-level Length {vlength}")
                if vitem.get("DataType") in NUMERIC_TYPES:
                    out += _check_numbers(name, var, vitem, col, rows, where=where_text)
    for name, (_, path) in data.items():
        if name not in described:
            out.append(f"DATA: dataset {name} ({path.name}) is not in the define")
    return out


class _LazyColumns(dict):
    """``_DataColumn`` of a frame's variables, made on first use (None: no such variable)."""

    def __init__(self, frame: pd.DataFrame):
        super().__init__()
        # without the attrs, which pandas would deep-copy into every column taken
        self.frame = frame.copy(deep=False)
        self.frame.attrs = {}

    def get(self, var, default=None):
        if var not in self.frame.columns:
            return default
        return self[var]

    def __missing__(self, var):
        self[var] = _DataColumn(self.frame[var])
        return self[var]


def _byte_encoding(frame: pd.DataFrame) -> str:
    """The encoding a frame's text was stored in (lengths are bytes in it); ASCII -> UTF-8."""
    encoding = frame.attrs.get("encoding") or "utf-8"
    return "utf-8" if encoding == "ascii" else encoding


def _check_item(ds, var, item, col: _DataColumn, xpt_length, file,
                encoding: str = "utf-8") -> list[str]:
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
        longest = _longest_bytes(col.text_values(), encoding)
        if length.isdigit() and longest > int(length):
            out.append(f"DATA: {ds}.{var}: a value of {longest} bytes is longer than the define "
                       f"Length {length}")
    if numeric and dtype in NUMERIC_TYPES:
        out += _check_numbers(ds, var, item, col)
    return out


def _check_numbers(ds, var, item, col: _DataColumn, rows: np.ndarray | None = None,
                   where: str | None = None) -> list[str]:
    """Integers whole and within Length digits; floats within Length - SignificantDigits
    integer digits (of the rows of the mask ``rows``, or of every row)."""
    out = []
    per_value = None     # rows per value in ``values``; None: ``values`` are the rows
    if col.plain_numbers:
        # vectorised passes over the rows, no numbering: the first non-whole row holds
        # the first non-whole value in order of first occurrence
        values = col.finite_numbers(rows)
    else:             # each distinct value once, in order of first occurrence
        counts = col.counts(rows)
        usable = (counts > 0) & np.isfinite(col.numbers)
        values, per_value = col.numbers[usable], counts[usable]
    if not len(values):
        return out
    ctx = f"{ds}.{var}" + (f" ({where})" if where else "")
    dtype, length = item.get("DataType"), item.get("Length")
    if dtype == "integer":
        bad = np.trunc(values) != values        # x % 1 != 0 of finite x, at less cost
        if bad.any():
            n = int(np.count_nonzero(bad) if per_value is None else per_value[bad].sum())
            out.append(f"DATA: {ctx}: DataType integer but holds {values[bad][0]!r} "
                       f"({n} non-whole values)")
        if length and length.isdigit():
            digits = int_digits(float(np.max(np.abs(values))))   # the largest has the most
            if digits > int(length):
                out.append(f"DATA: {ctx}: integer Length {length} but a value has "
                           f"{digits} digits")
    elif dtype == "float" and length and length.isdigit():
        sig = int(item.get("SignificantDigits") or 0)
        digits = int_digits(float(np.max(np.abs(values))))
        if digits > int(length) - sig:
            out.append(f"DATA: {ctx}: float Length {length} with SignificantDigits {sig} "
                       f"leaves {int(length) - sig} integer digits but a value has {digits}")
    return out


def _check_codelist(ds, var, item, col: _DataColumn, rows: np.ndarray | None, codelists,
                    where: str | None = None) -> list[str]:
    """Values used (in the rows of the mask ``rows``, or in any row) that the item's
    codelist does not declare."""
    ref = item.find("odm:CodeListRef", NS)
    if ref is None:
        return []
    allowed = codelists.get(ref.get("CodeListOID"))
    if allowed is None:
        return []
    if all(text == "" or text in allowed
           for text in map(format_value, col.present(rows).tolist())):
        return []            # the usual answer, from the distinct values alone
    undeclared: dict[str, int] = {}
    for text, n in zip(col.text.tolist(), col.counts(rows).tolist()):
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
    if root.tag != qname(ODM_NS, "ODM"):
        return [f"XML: the root element is {_short_tag(root.tag)}, not ODM"]
    messages = _xsd_messages(doc) + _reference_messages(root)
    if check_data:
        folder = Path(data_dir) if data_dir else _data_folder(root, path)
        data = None
        if xpt_frames:      # none: the folder may hold Dataset-JSON or CSV (_read_data)
            data = {name: (frame, Path(frame.attrs.get("path") or folder / f"{name.lower()}.xpt"))
                    for name, frame in xpt_frames.items()}
        messages += _data_messages(root, folder, subset, data)
    return messages
