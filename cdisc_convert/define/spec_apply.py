"""A spec workbook (or another define.xml, read as one) applied to the define being built.

The builder first describes the datasets from the data and the standard (data types,
lengths, formats, codelist values, value-level subsets); :func:`apply_spec` then lays the
sheets of :mod:`cdisc_convert.define.workbook` over that description. The workbook is the
source of truth for what it states: labels, lengths, data types, origins, methods, comments,
codelists and their terms, where clauses, keys, classes and structures. What it leaves out
comes from the data: an empty Length, Data Type, Significant Digits, Format, Label, Origin,
Role or Mandatory cell (or a workbook without that column) keeps the profiled value; an
empty Codelist, Method or Comment cell in a column the workbook has means "none".

What cannot be applied is a finding ({"sheet", "row", "column", "message"}, the format of
:func:`~cdisc_convert.define.workbook.read_workbook`), never an exception: a dataset or
variable the workbook declares that the data do not have (define.xml describes data), a
variable of the data the workbook lacks (described from the data), a value no Define-XML
attribute takes, a value-level row whose where clause selects no record.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cdisc_convert.standards.define_xml import TEXT_TYPES, Origin
from cdisc_convert.standards.metadata import MetadataKeyError

from .ct import formatted
from .model import PUBLISHING_SET, CodeList, Item, ItemRef, Term, make_oid
from .profile import Column, profile_column
from .workbook import SEPARATOR

if TYPE_CHECKING:                                       # pragma: no cover
    from .builder import Builder

DATA_TYPES = TEXT_TYPES | {"integer", "float", "double", "decimal", "boolean"}
ORIGIN_TYPES = {"Collected", "Derived", "Assigned", "Protocol", "Predecessor", "Not Available"}
ORIGIN_SOURCES = {"Subject", "Investigator", "Vendor", "Sponsor"}
#: Define-XML 2.0 origins (and P21's 2.0 workbooks) -> 2.1 type and source
ORIGIN_2_0 = {"crf": ("Collected", "Investigator"), "edt": ("Collected", "Vendor")}
#: ADaMIG 1.0's class names (the CDISC pilot's define) -> Define-XML 2.1's
ADAM_1_0_CLASSES = {"ADSL": "SUBJECT LEVEL ANALYSIS DATASET", "ADAE": "OCCURRENCE DATA STRUCTURE",
                    "OTHER": "ADAM OTHER"}
ROLES = ("Identifier", "Topic", "Timing", "Grouping Qualifier", "Result Qualifier",
         "Synonym Qualifier", "Record Qualifier", "Variable Qualifier", "Rule")
COMPARATORS = {"EQ", "NE", "IN", "NOTIN", "LT", "LE", "GT", "GE"}


def _yes(text: str) -> bool | None:
    key = text.strip().lower()
    if key in ("yes", "y", "true", "1"):
        return True
    if key in ("no", "n", "false", "0"):
        return False
    return None


def _int(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 0 else None


class _Apply:
    def __init__(self, b: "Builder", tables: dict[str, list[dict]],
                 present: dict[str, set[str]] | None):
        self.b = b
        self.tables = tables
        # without the reader's record of its columns: every column counts as present
        self.present = present
        self.findings: list[dict] = []
        self.absent: set[str] = set()          # datasets of the workbook the data lack
        self.items = {item.oid: item for item in b.items}

    def finding(self, sheet, column, message, row=None):
        self.findings.append({"sheet": sheet, "row": row, "column": column,
                              "message": message})

    def has(self, sheet: str, column: str) -> bool:
        if self.present is None:
            return True
        return column in self.present.get(sheet, set())

    # -- the run ------------------------------------------------------------------------
    def run(self) -> list[dict]:
        self.study()
        self.b.codelists.finalize()
        for item in self.b.items:
            item.codelist = self.b.codelists.oid(item.codelist)
        self.codelist_ids = self.codelists()
        self.method_ids = self.methods()
        self.comment_ids = self.comments()
        self.where_ids = self.where_clauses()
        self.documents()
        self.datasets()
        self.variables()
        self.value_level()
        self.prune()
        return self.findings

    # -- Study ----------------------------------------------------------------------------
    def study(self) -> None:
        b = self.b
        for row in self.tables.get("Study", []):
            attr, value = row["Attribute"].strip(), row["Value"].strip()
            if not value:
                continue
            if attr == "StudyName":
                b.study_name = value
            elif attr == "StudyDescription":
                b.study_description = value
            elif attr == "ProtocolName":
                b.protocol_name = value
            elif attr.startswith("Standard CDISC/NCI "):
                source = next((s for s, p in PUBLISHING_SET.items()
                               if attr == f"Standard CDISC/NCI {p}"), None)
                if source is not None and b.releases.get(source) != value:
                    b.releases[source] = value
                    # the same dict the codelists hold: their StandardOIDs follow
                    b.ct_std_oids[source] = make_oid("STD.CT", PUBLISHING_SET[source], value)
            elif attr == f"Standard {b.meta['name']}" and value != b.meta["version"]:
                self.finding("Study", "Value", f"{attr} {value}: the datasets are described "
                             f"against {b.meta['name']} {b.meta['version']}; not applied")

    # -- the sheets defining things referenced by others ---------------------------------
    def codelists(self) -> set[str]:
        b = self.b
        found: dict[str, CodeList] = {}
        rows = sorted(enumerate(self.tables.get("Codelists", [])),
                      key=lambda r: (r[1]["ID"], _int(r[1]["Order"]) or 0, r[0]))
        for _n, row in rows:
            oid = row["ID"]
            cl = found.get(oid)
            if cl is None:
                code = row["NCI Codelist Code"] or None
                cl = found[oid] = CodeList(oid, row["Name"] or oid, row["Data Type"] or "text",
                                           [], code=code, standard=self._ct_standard(code))
            cl.terms.append(Term(row["Term"], row["Decoded Value"] or None,
                                 row["NCI Term Code"] or None,
                                 extended=_yes(row["Extended"]) is True))
        for row in self.tables.get("Dictionaries", []):
            oid = row["ID"]
            if not oid:
                continue
            base = b.codelists.lists.get(oid)
            found[oid] = CodeList(oid, row["Name"] or oid, row["Data Type"] or "text", [],
                                  dictionary=row["Dictionary"] or row["Name"] or oid,
                                  version=row["Version"] or None,
                                  href=row["Href"] or (base.href if base else None))
        # a workbook's codelist replaces the one of the data with the same OID
        b.codelists.lists.update(found)
        return set(found)

    def _ct_standard(self, code: str | None) -> str | None:
        if not code:
            return None
        try:
            source = self.b.codelists.ct.codelist(code).source
        except MetadataKeyError:
            return None
        return self.b.ct_std_oids.get(source)

    def methods(self) -> set[str]:
        b = self.b
        for row in self.tables.get("Methods", []):
            b.methods[row["ID"]] = ([], row["Description"])
            b.method_meta[row["ID"]] = (row["Name"] or row["ID"], row["Type"] or "Computation")
        return {row["ID"] for row in self.tables.get("Methods", [])}

    def comments(self) -> set[str]:
        for row in self.tables.get("Comments", []):
            self.b.comments[row["ID"]] = row["Description"]
        return {row["ID"] for row in self.tables.get("Comments", [])}

    def where_clauses(self) -> dict[str, list[dict]]:
        rows: dict[str, list[dict]] = {}
        for row in self.tables.get("WhereClauses", []):
            comparator = row["Comparator"].strip().upper()
            if comparator not in COMPARATORS:
                self.finding("WhereClauses", "Comparator", f"{row['ID']}: comparator "
                             f"{row['Comparator']!r} is none of {', '.join(sorted(COMPARATORS))}"
                             "; where clause not applied")
                rows.setdefault(row["ID"], []).append({})
                continue
            rows.setdefault(row["ID"], []).append({**row, "Comparator": comparator})
        return {oid: checks for oid, checks in rows.items() if all(checks)}

    def _checks(self, oid: str, dataset: str) -> list[tuple[str, str, list[str]]]:
        return [(make_oid("IT", row["Dataset"] or dataset, row["Variable"]), row["Comparator"],
                 [v.strip() for v in row["Value"].split(", ")] if row["Comparator"] in
                 ("IN", "NOTIN") else [row["Value"]])
                for row in self.where_ids.get(oid, [])]

    def documents(self) -> None:
        """The Documents sheet as def:leaf; the annotated CRF (which Pages refer to) is the
        document whose ID, title or file names a CRF, else the only one."""
        rows = [r for r in self.tables.get("Documents", []) if r["ID"] and r["Href"]]
        for row in rows:
            self.b.documents[row["ID"]] = (row["Href"], row["Title"])
        crf = [r["ID"] for r in rows
               if re.search(r"crf", f"{r['ID']} {r['Title']} {r['Href']}", re.IGNORECASE)]
        self.b.acrf = crf[0] if crf else (rows[0]["ID"] if len(rows) == 1 else None)
        self.pages_unplaced = 0

    # -- Datasets -------------------------------------------------------------------------
    def datasets(self) -> None:
        b = self.b
        groups = {g.name: g for g in b.groups}
        order = []
        for row in self.tables.get("Datasets", []):
            name = row["Dataset"].strip().upper()
            g = groups.get(name)
            if g is None:
                self.finding("Datasets", "Dataset", f"{name}: in the workbook but not among "
                             "the datasets described; not in define.xml")
                self.absent.add(name)
                continue
            order.append(name)
            stored = b.datasets[name].attrs.get("label")
            if row["Description"] and stored and row["Description"] != str(stored):
                self.finding("Datasets", "Description", f"{name}: define.xml states the "
                             f"workbook's label {row['Description']!r}, the data file has "
                             f"{str(stored)!r}; relabel the file (a reviewer sees both)")
            g.label = row["Description"] or g.label
            if row["Class"]:
                klass = self._class(row["Class"])
                if klass is None:
                    self.finding("Datasets", "Class", f"{name}: {row['Class']!r} is not a "
                                 "class of the Define-XML CT (GNRLOBSC); the standard's kept")
                else:
                    if klass != g.class_:
                        g.subclass = None
                    g.class_ = klass
            g.structure = row["Structure"] or g.structure
            g.purpose = row["Purpose"] or g.purpose
            for column, attr in (("Repeating", "repeating"), ("Reference Data", "reference")):
                flag = _yes(row[column]) if row[column] else None
                if flag is not None:
                    setattr(g, attr, flag)
                elif row[column]:
                    self.finding("Datasets", column, f"{name}: {row[column]!r} is not Yes/No")
            if self.has("Datasets", "Comment"):
                g.comment = self._ref(row["Comment"], self.comment_ids, "Datasets", name,
                                      "Comment", g.comment)
            if row["Leaf"] and row["Leaf"].rsplit("/", 1)[-1] != g.href.rsplit("/", 1)[-1]:
                g.href = row["Leaf"]        # another file name (a split dataset); same folder
            if row["Key Variables"]:
                self._keys(g, name, row["Key Variables"])
        if self.tables.get("Datasets"):
            for name in groups:
                if name not in order:
                    self.finding("Datasets", "Dataset", f"{name}: in the data but not in the "
                                 "workbook; described from the data and the standard")
            rank = {name: n for n, name in enumerate(order)}
            b.groups.sort(key=lambda g: rank.get(g.name, len(rank)))

    def _class(self, text: str) -> str | None:
        """A dataset class as Define-XML 2.1 names it (CT codelist GNRLOBSC, whose synonyms
        read "Events", "BDS" ...; ADaMIG 1.0's ADSL/ADAE/OTHER too), None if none."""
        gnrl = self.b.codelists.ct.codelist("GNRLOBSC")
        found = gnrl.lookup(text.strip().upper())
        if not isinstance(found, str):
            found = gnrl.lookup(ADAM_1_0_CLASSES.get(text.strip().upper(), ""))
        return found if isinstance(found, str) else None

    def _keys(self, g, name: str, text: str) -> None:
        keys = [k.strip().upper() for k in re.split(r"[,\s]+", text) if k.strip()]
        names = {self.items[r.item].name: r for r in g.refs if r.item in self.items}
        unknown = [k for k in keys if k not in names]
        if unknown:
            self.finding("Datasets", "Key Variables", f"{name}: key variable(s) "
                         f"{', '.join(unknown)} not in the dataset; keys not applied")
            return
        for var, ref in names.items():
            ref.key = keys.index(var) + 1 if var in keys else None

    def _ref(self, value: str, known: set[str], sheet: str, where: str, column: str, base):
        """A Codelist/Method/Comment cell: its ID (known to the workbook or the data), None
        when empty; an unknown ID keeps ``base`` (read_workbook reported it)."""
        if not value:
            return None
        if value in known or value in self._base_ids(column):
            return value
        return base

    def _base_ids(self, column: str) -> set[str]:
        b = self.b
        return {"Codelist": set(b.codelists.lists), "Method": set(b.methods),
                "Comment": set(b.comments)}[column]

    # -- Variables and ValueLevel ---------------------------------------------------------
    def _item(self, sheet: str, row: dict, item: Item, ref: ItemRef, where: str) -> None:
        if row.get("Label"):
            item.label = row["Label"]
        datatype = row["Data Type"].strip()
        if datatype:
            datatype = {"char": "text", "character": "text", "num": item.datatype,
                        "numeric": item.datatype}.get(datatype.lower(), datatype)
            if datatype in DATA_TYPES:
                if datatype != item.datatype and datatype != "float":
                    item.significant = None
                item.datatype = datatype
            else:
                self.finding(sheet, "Data Type", f"{where}: {datatype!r} is not a Define-XML "
                             "data type; the data's type kept")
        for column, attr in (("Length", "length"), ("Significant Digits", "significant")):
            if row[column]:
                number = _int(row[column])
                if number is None:
                    self.finding(sheet, column, f"{where}: {row[column]!r} is not a whole "
                                 "number; the data's value kept")
                else:
                    setattr(item, attr, number)
        if row["Format"]:
            item.display = row["Format"]
        if row["Mandatory"]:
            flag = _yes(row["Mandatory"])
            if flag is None:
                self.finding(sheet, "Mandatory", f"{where}: {row['Mandatory']!r} is not Yes/No")
            else:
                ref.mandatory = flag
        if self.has(sheet, "Codelist"):
            item.codelist = self._ref(row["Codelist"], self.codelist_ids, sheet, where,
                                      "Codelist", item.codelist)
        if self.has(sheet, "Method"):
            ref.method = self._ref(row["Method"], self.method_ids, sheet, where, "Method",
                                   ref.method)
        if self.has(sheet, "Comment"):
            item.comment = self._ref(row["Comment"], self.comment_ids, sheet, where, "Comment",
                                     item.comment)
        if row["Origin"]:
            origins = self._origins(sheet, row, where)
            if origins:
                item.origins = origins
        if row.get("Role"):
            # Define-XML 1.0 and some tools write roles in capitals (IDENTIFIER)
            ref.role = next((r for r in ROLES if r.lower() == row["Role"].strip().lower()),
                            row["Role"].strip())
        if row["Order"]:
            order = _int(row["Order"])
            if order:
                ref.order = order

    def _origins(self, sheet: str, row: dict, where: str) -> list[Origin] | None:
        types = [t.strip() for t in row["Origin"].split(SEPARATOR.strip())]
        sources = [s.strip() for s in row["Source"].split(SEPARATOR.strip())]
        out = []
        for n, kind in enumerate(types):
            source = sources[n] if n < len(sources) else ""
            if kind.lower() in ORIGIN_2_0:
                kind, default = ORIGIN_2_0[kind.lower()]
                source = source or default
            kind = next((t for t in ORIGIN_TYPES if t.lower() == kind.lower()), kind)
            if kind not in ORIGIN_TYPES or (source and source not in ORIGIN_SOURCES):
                self.finding(sheet, "Origin", f"{where}: origin {kind!r} (source {source!r}) "
                             f"is not a Define-XML 2.1 origin; the data's origin kept")
                return None
            text = row.get("Predecessor") if kind == "Predecessor" else None
            pages = " ".join(re.findall(r"\d+", row.get("Pages") or "")) or None
            out.append(Origin(kind, source or None, text or None,
                              pages if kind == "Collected" else None))
        if row.get("Pages") and not self.b.acrf:
            self.pages_unplaced += 1
            if self.pages_unplaced == 1:
                self.finding(sheet, "Pages", f"{where}: CRF pages but no annotated CRF in the "
                             "Documents sheet; pages not in define.xml (reported once)")
        return out

    def variables(self) -> None:
        b = self.b
        groups = {g.name: g for g in b.groups}
        seen: set[tuple[str, str]] = set()
        for row in self.tables.get("Variables", []):
            name, var = row["Dataset"].strip().upper(), row["Variable"].strip().upper()
            g = groups.get(name)
            ref = next((r for r in g.refs if self.items[r.item].name == var), None) \
                if g is not None else None
            if ref is None:
                if g is not None:
                    self.finding("Variables", "Variable", f"{name}.{var}: declared in the "
                                 "workbook but not in the data (nothing produces it); not in "
                                 "define.xml")
                continue
            seen.add((name, var))
            self._item("Variables", row, self.items[ref.item], ref, f"{name}.{var}")
            stored = (b.datasets[name].attrs.get("labels") or {}).get(var)
            if row["Label"] and stored and row["Label"] != str(stored):
                self.finding("Variables", "Label", f"{name}.{var}: define.xml states the "
                             f"workbook's label {row['Label']!r}, the data file has "
                             f"{str(stored)!r}; relabel the file (a reviewer sees both)")
        if self.tables.get("Variables"):
            for g in b.groups:
                if not any(r["Dataset"].strip().upper() == g.name
                           for r in self.tables["Variables"]):
                    continue
                for r in g.refs:
                    var = self.items[r.item].name
                    if (g.name, var) not in seen:
                        self.finding("Variables", "Variable", f"{g.name}.{var}: in the data but "
                                     "not in the workbook; described from the data")
                _renumber(g.refs)

    def value_level(self) -> None:
        b = self.b
        lists = {vl_oid: refs for vl_oid, refs in b.valuelists}
        parents = {item.valuelist: item for item in b.items if item.valuelist}
        by_content = {frozenset((i, c, tuple(v)) for i, c, v in checks): oid
                      for oid, checks in b.wheres.items()}
        touched: set[str] = set()
        for row in self.tables.get("ValueLevel", []):
            name, var = row["Dataset"].strip().upper(), row["Variable"].strip().upper()
            where = f"{name}.{var} ({row['Where Clause']})"
            frame = b.datasets.get(name)
            parent = self.items.get(make_oid("IT", name, var))
            if frame is None and name in self.absent:
                continue                      # the Datasets finding said it
            if frame is None or parent is None:
                self.finding("ValueLevel", "Variable", f"{where}: the data have no such "
                             "variable; not in define.xml")
                continue
            checks = self._checks(row["Where Clause"], name)
            if not checks:
                continue                      # read_workbook / where_clauses reported it
            vl_oid = parent.valuelist or make_oid("VL", name, var)
            refs = lists.setdefault(vl_oid, [])
            base_where = by_content.get(frozenset((i, c, tuple(v)) for i, c, v in checks))
            ref = next((r for r in refs if base_where and r.where == base_where), None)
            if ref is None:
                ref = self._new_vl_item(name, var, frame, parent, checks, row, refs, where)
                if ref is None:
                    continue
                if not parent.valuelist:
                    parent.valuelist = vl_oid
                    b.valuelists.append((vl_oid, refs))
                    parents[vl_oid] = parent
            b.wheres[row["Where Clause"]] = checks
            ref.where = row["Where Clause"]
            touched.add(vl_oid)
            self._item("ValueLevel", row, self.items[ref.item], ref, where)
        for vl_oid in touched:
            refs = lists[vl_oid]
            stated = {r["Where Clause"] for r in self.tables["ValueLevel"]}
            for r in refs:
                if r.where not in stated:
                    self.finding("ValueLevel", "Where Clause", f"{vl_oid}: the subset "
                                 f"{r.where} of the data is not in the workbook; described "
                                 "from the data")
            _renumber(refs)

    def _new_vl_item(self, name, var, frame, parent: Item, checks, row, refs, where):
        """A value-level item the data did not suggest: profiled on the records its where
        clause selects."""
        mask = np.ones(len(frame), dtype=bool)
        for item_oid, comparator, values in checks:
            column = self.items.get(item_oid)
            if column is None or column.name not in frame.columns:
                self.finding("ValueLevel", "Where Clause", f"{where}: the where clause names "
                             f"{item_oid}, not a variable of {name}; row not applied")
                return None
            text = formatted(frame[column.name])
            if comparator in ("EQ", "IN"):
                mask &= np.isin(text, values)
            elif comparator in ("NE", "NOTIN"):
                mask &= ~np.isin(text, values)
            else:
                number = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy()
                limit = pd.to_numeric(values[0], errors="coerce")
                mask &= {"LT": number < limit, "LE": number <= limit, "GT": number > limit,
                         "GE": number >= limit}[comparator]
        if not mask.any():
            self.finding("ValueLevel", "Where Clause", f"{where}: the where clause selects no "
                         "record of the data; row not applied")
            return None
        subset = Column(frame[var]).distinct(np.flatnonzero(mask))
        formats = frame.attrs.get("formats") or {}
        prof = profile_column(subset, var, formats.get(var))
        tag = [v for _i, _c, values in checks for v in values]
        oid, n = make_oid("IT", name, var, *tag), 2
        while oid in self.items:
            oid, n = make_oid("IT", name, var, *tag, n), n + 1
        item = Item(oid, var, parent.label, prof.datatype, prof.length, prof.significant,
                    prof.display, origins=list(parent.origins))
        self.b.items.append(item)
        self.items[oid] = item
        ref = ItemRef(oid, len(refs) + 1, False)
        refs.append(ref)
        return ref

    # -- what nothing references any more --------------------------------------------------
    def prune(self) -> None:
        b = self.b
        refs = [r for g in b.groups for r in g.refs] + [r for _, rs in b.valuelists for r in rs]
        used_methods = {r.method for r in refs if r.method}
        used_wheres = {r.where for r in refs if r.where}
        used_lists = {item.codelist for item in b.items if item.codelist}
        used_comments = ({item.comment for item in b.items if item.comment}
                         | {g.comment for g in b.groups if g.comment})
        b.methods = {k: v for k, v in b.methods.items()
                     if k in used_methods or k in self.method_ids}
        b.comments = {k: v for k, v in b.comments.items()
                      if k in used_comments or k in self.comment_ids}
        b.wheres = {k: v for k, v in b.wheres.items() if k in used_wheres}
        b.codelists.lists = {k: v for k, v in b.codelists.lists.items()
                             if k in used_lists or k in self.codelist_ids}
        sources = {oid: src for src, oid in b.ct_std_oids.items()}
        b.codelists.used_sources = {sources[cl.standard] for cl in b.codelists.lists.values()
                                    if cl.standard in sources}


def _renumber(refs: list[ItemRef]) -> None:
    """In the workbook's order, numbered 1, 2 ... (OrderNumber is unique in a list; a row
    of the workbook and one of the data may have stated the same number)."""
    refs.sort(key=lambda r: r.order)
    for n, ref in enumerate(refs, start=1):
        ref.order = n


def apply_spec(builder: "Builder", tables: dict[str, list[dict]],
               present: dict[str, set[str]] | None = None) -> list[dict]:
    """Lay the workbook ``tables`` (as :func:`~cdisc_convert.define.workbook.read_workbook`
    returns them; ``present``: its columns per sheet) over the datasets the builder has
    described; returns the findings."""
    return _Apply(builder, tables, present).run()
