"""define.xml as a spec workbook in the Pinnacle 21 layout, and reading such workbooks.

:func:`define_to_tables` turns a Define-XML 2.0/2.1 file into the sheets clinical programmers
keep (:data:`SHEETS`: Study, Datasets, Variables, ValueLevel, WhereClauses, Codelists,
Dictionaries, Methods, Comments, Documents); :func:`write_workbook` writes them with
openpyxl. :func:`read_workbook` reads a workbook of that layout, ours or another tool's, and
tolerates what real ones do: sheets and columns in any order and any case, extra columns
and sheets, a title row above the header, blank rows, merged cells, numbers stored as
numbers (``8.0`` is ``8``) and Excel dates (written as ISO 8601). What it cannot use is a
finding (sheet, row, column, message), never an exception.
"""
from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

from lxml import etree

from cdisc_convert.core.errors import InputError

#: sheet -> its columns, in the order written
SHEETS: dict[str, list[str]] = {
    "Study": ["Attribute", "Value"],
    "Datasets": ["Dataset", "Description", "Class", "Structure", "Purpose", "Repeating",
                 "Reference Data", "Key Variables", "Comment", "Leaf"],
    "Variables": ["Order", "Dataset", "Variable", "Label", "Data Type", "Length",
                  "Significant Digits", "Format", "Mandatory", "Codelist", "Origin", "Source",
                  "Pages", "Method", "Predecessor", "Role", "Comment"],
    "ValueLevel": ["Order", "Dataset", "Variable", "Where Clause", "Data Type", "Length",
                   "Significant Digits", "Format", "Mandatory", "Codelist", "Origin",
                   "Source", "Method", "Predecessor", "Comment"],
    "WhereClauses": ["ID", "Dataset", "Variable", "Comparator", "Value"],
    "Codelists": ["ID", "Name", "NCI Codelist Code", "Data Type", "Order", "Term",
                  "NCI Term Code", "Decoded Value", "Extended"],
    "Dictionaries": ["ID", "Name", "Data Type", "Dictionary", "Version", "Href"],
    "Methods": ["ID", "Name", "Type", "Description"],
    "Comments": ["ID", "Description"],
    "Documents": ["ID", "Title", "Href"],
}
#: columns a sheet cannot be used without
REQUIRED = {"Datasets": ["Dataset"], "Variables": ["Dataset", "Variable"],
            "ValueLevel": ["Dataset", "Variable", "Where Clause"],
            "WhereClauses": ["ID", "Variable", "Comparator", "Value"],
            "Codelists": ["ID", "Term"], "Methods": ["ID", "Description"],
            "Comments": ["ID", "Description"]}
#: between the several origins of one variable in the Origin and Source cells
SEPARATOR = "; "
_DEF = "http://www.cdisc.org/ns/def/v"       # 2.0, 2.1 and 1.0
_XLINK = "{http://www.w3.org/1999/xlink}href"


def _def(el, name: str) -> str:
    for key, value in el.attrib.items():
        if key.startswith("{" + _DEF) and key.endswith("}" + name):
            return value
    return ""


def _desc(el) -> str:
    """The Description's text; Define-XML 1.0's def:Label attribute when it has none."""
    node = el.find("{*}Description/{*}TranslatedText") if el is not None else None
    if node is None:
        return _def(el, "Label").strip() if el is not None else ""
    return (node.text or "").strip()


def _origin_1_0(item) -> tuple[str, str]:
    """Define-XML 1.0's Origin attribute ("CRF Pages 27, 38", "Derived", "eDT" ...) as the
    Origin and Pages cells."""
    text = (item.get("Origin") or "").strip()
    found = re.fullmatch(r"CRF\s+Pages?\s*(.*)", text, flags=re.IGNORECASE)
    if found:
        return "CRF", " ".join(re.findall(r"\d+", found.group(1)))
    return text, ""


def _alias(el) -> str:
    node = el.find("{*}Alias[@Context='nci:ExtCodeID']")
    return node.get("Name", "") if node is not None else ""


def _local(el) -> str:
    return etree.QName(el).localname


def _item_row(item, ref, ids) -> dict:
    """The columns Variables and ValueLevel share, from an ItemDef and its ItemRef."""
    origins = item.findall("{*}Origin")
    cl = item.find("{*}CodeListRef")
    pages = next(item.iterfind("{*}Origin//{*}PDFPageRef"), None)
    predecessor = next((o for o in origins if o.get("Type") == "Predecessor"), None)
    row = {
        "Label": _desc(item), "Data Type": item.get("DataType", ""),
        "Length": item.get("Length", ""), "Significant Digits": item.get("SignificantDigits", ""),
        "Format": _def(item, "DisplayFormat"), "Mandatory": ref.get("Mandatory", ""),
        "Codelist": ids.get(cl.get("CodeListOID"), cl.get("CodeListOID")) if cl is not None
        else "",
        # Define-XML 2.1 allows several origins (e.g. assigned for some records, collected
        # for others): listed in order, separated by "; " (SEPARATOR), sources aligned
        "Origin": SEPARATOR.join(o.get("Type", "") for o in origins),
        "Source": SEPARATOR.join(o.get("Source", "") for o in origins)
        if any(o.get("Source") for o in origins) else "",
        "Pages": pages.get("PageRefs", "") if pages is not None else "",
        "Method": ref.get("MethodOID", "") or _def(item, "ComputationMethodOID"),
        "Predecessor": _desc(predecessor) if predecessor is not None else "",
        "Comment": _def(item, "CommentOID") or (f"COM.{item.get('OID')}"
                                                 if (item.get("Comment") or "").strip() else ""),
    }
    if not origins and item.get("Origin"):                          # Define-XML 1.0
        row["Origin"], row["Pages"] = _origin_1_0(item)
    return row


def define_to_tables(path: Path | str) -> dict[str, list[dict]]:
    """The sheets of the workbook for a define.xml: {sheet: [row as {column: text}]}."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        tree = etree.parse(str(path), parser)
    except (OSError, etree.XMLSyntaxError) as err:
        raise InputError(f"not a readable define.xml: {err}", file=path,
                         rule="SPEC-DEFINE-UNREADABLE") from None
    mdv = next(tree.iter("{*}MetaDataVersion"), None)
    if mdv is None:
        raise InputError("no MetaDataVersion: not a define.xml", file=path,
                         rule="SPEC-DEFINE-UNREADABLE")
    gv = next(tree.iter("{*}GlobalVariables"), None)
    study = [{"Attribute": name, "Value": (gv.findtext(f"{{*}}{name}") or "").strip()}
             for name in ("StudyName", "StudyDescription", "ProtocolName")] if gv is not None \
        else []
    study += [{"Attribute": f"Standard {s.get('Name')} {s.get('PublishingSet') or ''}".strip(),
               "Value": s.get("Version", "")} for s in mdv.iter("{*}Standard")]
    items = {i.get("OID"): i for i in mdv.iter("{*}ItemDef")}
    codelists = list(mdv.iter("{*}CodeList"))
    ids = {c.get("OID"): c.get("OID") for c in codelists}
    tables: dict[str, list[dict]] = {name: [] for name in SHEETS}
    tables["Study"] = study
    leaves = {l.get("ID"): l.get(_XLINK, "") for l in mdv.iter("{*}leaf")}
    for group in mdv.iter("{*}ItemGroupDef"):
        name = group.get("Name", "")
        refs = group.findall("{*}ItemRef")
        keys = sorted(((int(r.get("KeySequence")), items.get(r.get("ItemOID")))
                       for r in refs if r.get("KeySequence")), key=lambda k: k[0])
        klass = group.find("{*}Class")
        tables["Datasets"].append({
            "Dataset": name, "Description": _desc(group),
            "Class": klass.get("Name", "") if klass is not None else _def(group, "Class"),
            "Structure": _def(group, "Structure"), "Purpose": group.get("Purpose", ""),
            "Repeating": group.get("Repeating", ""),
            "Reference Data": group.get("IsReferenceData", ""),
            "Key Variables": ", ".join(i.get("Name", "") for _, i in keys if i is not None)
            or _def(group, "DomainKeys"),                                   # 1.0
            "Comment": _def(group, "CommentOID"),
            "Leaf": leaves.get(_def(group, "ArchiveLocationID"), "")})
        for ref in refs:
            item = items.get(ref.get("ItemOID"))
            if item is None:
                continue
            row = {"Order": ref.get("OrderNumber", ""), "Dataset": name,
                   "Variable": item.get("Name", ""), **_item_row(item, ref, ids),
                   "Role": ref.get("Role", "")}
            tables["Variables"].append(row)
    # a value list belongs to the dataset whose ItemRef names its parent variable (OIDs
    # such as VL.AETERM do not say which)
    group_of = {ref.get("ItemOID"): group.get("Name", "")
                for group in mdv.iter("{*}ItemGroupDef") for ref in group.findall("{*}ItemRef")}
    variable_of, dataset_of = {}, {}
    for oid, item in items.items():
        vl = item.find("{*}ValueListRef")
        if vl is not None:
            variable_of[vl.get("ValueListOID")] = item.get("Name", "")
            dataset_of[vl.get("ValueListOID")] = group_of.get(oid, "")
    for vl in mdv.iter("{*}ValueListDef"):
        dataset = dataset_of.get(vl.get("OID")) or (
            vl.get("OID", "").split(".")[1] if vl.get("OID", "").count(".") >= 2 else "")
        for ref in vl.findall("{*}ItemRef"):
            item = items.get(ref.get("ItemOID"))
            if item is None:
                continue
            wc = ref.find("{*}WhereClauseRef")
            tables["ValueLevel"].append({
                "Order": ref.get("OrderNumber", ""), "Dataset": dataset,
                "Variable": variable_of.get(vl.get("OID"), ""),
                "Where Clause": wc.get("WhereClauseOID", "") if wc is not None else "",
                **{k: v for k, v in _item_row(item, ref, ids).items() if k not in ("Label",
                                                                                   "Pages")}})
    item_names = {oid: i.get("Name", "") for oid, i in items.items()}
    for wc in mdv.iter("{*}WhereClauseDef"):
        for check in wc.findall("{*}RangeCheck"):
            oid = _def(check, "ItemOID")
            tables["WhereClauses"].append({
                "ID": wc.get("OID", ""),
                "Dataset": group_of.get(oid) or (oid.split(".")[1] if oid.count(".") >= 2
                                                 else ""),
                "Variable": item_names.get(oid, oid), "Comparator": check.get("Comparator", ""),
                "Value": ", ".join((v.text or "") for v in check.findall("{*}CheckValue"))})
    for cl in codelists:
        external = cl.find("{*}ExternalCodeList")
        if external is not None:
            tables["Dictionaries"].append({
                "ID": cl.get("OID", ""), "Name": cl.get("Name", ""),
                "Data Type": cl.get("DataType", ""),
                "Dictionary": external.get("Dictionary", ""),
                "Version": external.get("Version", ""), "Href": external.get("href", "")})
            continue
        for term in cl:
            if _local(term) not in ("EnumeratedItem", "CodeListItem"):
                continue
            tables["Codelists"].append({
                "ID": cl.get("OID", ""), "Name": cl.get("Name", ""),
                "NCI Codelist Code": _alias(cl), "Data Type": cl.get("DataType", ""),
                "Order": term.get("OrderNumber", ""), "Term": term.get("CodedValue", ""),
                "NCI Term Code": _alias(term),
                "Decoded Value": (term.findtext("{*}Decode/{*}TranslatedText") or "").strip(),
                "Extended": "Yes" if _def(term, "ExtendedValue") == "Yes" else ""})
    for method in mdv.iter("{*}MethodDef"):
        tables["Methods"].append({"ID": method.get("OID", ""), "Name": method.get("Name", ""),
                                  "Type": method.get("Type", ""),
                                  "Description": _desc(method)})
    for comment in mdv.iter("{*}CommentDef"):
        tables["Comments"].append({"ID": comment.get("OID", ""), "Description": _desc(comment)})
    # Define-XML 1.0: methods as def:ComputationMethod text, comments as attributes
    for method in mdv.iter("{*}ComputationMethod"):
        tables["Methods"].append({"ID": method.get("OID", ""), "Name": method.get("OID", ""),
                                  "Type": "Computation",
                                  "Description": " ".join((method.text or "").split())})
    for item in items.values():
        if (item.get("Comment") or "").strip():
            tables["Comments"].append({"ID": f"COM.{item.get('OID')}",
                                       "Description": item.get("Comment").strip()})
    for leaf in mdv.findall("{*}leaf"):
        tables["Documents"].append({"ID": leaf.get("ID", ""),
                                    "Title": (leaf.findtext("{*}title") or "").strip(),
                                    "Href": leaf.get(_XLINK, "")})
    return tables


def write_workbook(tables: dict[str, list[dict]], path):
    """The sheets as an xlsx workbook (``path``: a file name or a binary handle): a bold,
    frozen header row, one row per entry."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for sheet, columns in SHEETS.items():
        ws = book.create_sheet(sheet)
        ws.append(columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for row in tables.get(sheet, []):
            ws.append([row.get(c, "") for c in columns])
    book.save(path if hasattr(path, "write") else str(path))
    return path


# -- reading ---------------------------------------------------------------------------------
def _norm(text) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text or "").lower())


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    return str(value).strip()


def _unmerged_rows(ws) -> list[list]:
    """The sheet's values with every merged range filled from its top-left cell."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    for merged in ws.merged_cells.ranges:
        top = rows[merged.min_row - 1][merged.min_col - 1] if merged.min_row - 1 < len(rows) \
            else None
        for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
            for c in range(merged.min_col - 1, merged.max_col):
                if c < len(rows[r]):
                    rows[r][c] = top
    return rows


def read_workbook(path: Path | str, present: dict[str, set[str]] | None = None
                  ) -> tuple[dict[str, list[dict]], list[dict]]:
    """The sheets of a P21-layout workbook as {sheet: [row]} and the findings: a list of
    {"sheet", "row", "column", "message"} (row numbers as Excel shows them). Every row has
    every column of :data:`SHEETS` (empty when the workbook lacks it); ``present``, when
    given, receives {sheet: the columns the workbook has}, so that an empty cell can be told
    from a column nobody filled in."""
    from openpyxl import load_workbook

    findings: list[dict] = []

    def finding(sheet, row, column, message):
        findings.append({"sheet": sheet, "row": row, "column": column, "message": message})

    try:
        book = load_workbook(str(path), read_only=False, data_only=True)
    except Exception as err:                       # noqa: BLE001 - any unreadable file
        raise InputError(f"not a readable xlsx workbook ({type(err).__name__}: {err})",
                         file=path, rule="SPEC-WORKBOOK-UNREADABLE") from None
    by_name = {_norm(ws.title): ws for ws in book.worksheets}
    tables: dict[str, list[dict]] = {}
    for sheet, columns in SHEETS.items():
        ws = by_name.get(_norm(sheet))
        if ws is None:
            if sheet in REQUIRED:
                finding(sheet, None, None, "sheet missing")
            tables[sheet] = []
            continue
        rows = _unmerged_rows(ws)
        wanted = {_norm(c): c for c in columns}
        # the header: the row (of the first 10) naming the most expected columns
        known = [sum(_norm(v) in wanted for v in r) for r in rows[:10]]
        header_at = known.index(max(known)) if known and max(known) else None
        if header_at is None:
            finding(sheet, None, None, "no header row with the expected column names in the "
                                       "first 10 rows")
            tables[sheet] = []
            continue
        positions = {}
        for j, value in enumerate(rows[header_at]):
            key = _norm(value)
            if key in wanted and wanted[key] not in positions:
                positions[wanted[key]] = j
        if present is not None:
            present[sheet] = set(positions)
        for column in REQUIRED.get(sheet, []):
            if column not in positions:
                finding(sheet, header_at + 1, column, "required column missing")
        out = []
        for i, row in enumerate(rows[header_at + 1:], start=header_at + 2):
            values = {c: _cell_text(row[j]) if j < len(row) else "" for c, j in positions.items()}
            if not any(values.values()):
                continue                                  # blank row
            missing = [c for c in REQUIRED.get(sheet, []) if c in positions and not values[c]]
            if missing:
                finding(sheet, i, missing[0], "value missing; row skipped")
                continue
            out.append({c: values.get(c, "") for c in columns})
        tables[sheet] = out
    _cross_check(tables, finding)
    return tables, findings


def _cross_check(tables: dict[str, list[dict]], finding) -> None:
    """References between sheets: codelists, methods, comments, where clauses, datasets."""
    codelists = {r["ID"] for r in tables["Codelists"]} | {r["ID"] for r in tables["Dictionaries"]}
    methods = {r["ID"] for r in tables["Methods"]}
    comments = {r["ID"] for r in tables["Comments"]}
    wheres = {r["ID"] for r in tables["WhereClauses"]}
    datasets = {r["Dataset"] for r in tables["Datasets"]}
    seen: set[tuple[str, str]] = set()
    for sheet in ("Variables", "ValueLevel"):
        for n, row in enumerate(tables[sheet], start=1):
            where = f"entry {n} ({row['Dataset']}.{row['Variable']})"
            if datasets and row["Dataset"] not in datasets:
                finding(sheet, None, "Dataset", f"{where}: dataset not in the Datasets sheet")
            if sheet == "Variables":
                key = (row["Dataset"], row["Variable"])
                if key in seen:
                    finding(sheet, None, "Variable", f"{where}: variable listed twice")
                seen.add(key)
            for column, known in (("Codelist", codelists), ("Method", methods),
                                  ("Comment", comments)):
                if row.get(column) and row[column] not in known:
                    finding(sheet, None, column, f"{where}: {column.lower()} {row[column]!r} "
                                                 f"is not in the {column}s sheet")
            if sheet == "ValueLevel" and row["Where Clause"] not in wheres:
                finding(sheet, None, "Where Clause",
                        f"{where}: where clause {row['Where Clause']!r} is not in WhereClauses")
