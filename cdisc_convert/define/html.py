"""A readable HTML view of a Define-XML 2.1 document (``define.html``).

:func:`render_html` turns any Define-XML 2.1 tree (ours or another sponsor's) into one
self-contained HTML page: standards, the dataset table, one variable table per dataset,
value-level metadata with its where clauses, codelists, methods and comments, all
cross-linked by OID. It is written from the same lxml tree as ``define.xml`` (no XSLT, so
nothing beside the Python package needs shipping) and is deterministic.
"""
from __future__ import annotations

from lxml import etree, html
from lxml.html import builder as E

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1",
      "xlink": "http://www.w3.org/1999/xlink"}
DEF = "{%s}" % NS["def"]
XLINK = "{%s}" % NS["xlink"]

__all__ = ["render_html"]

CSS = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 13px; margin: 1.5em; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 2em; border-bottom: 1px solid #888; }
h3 { font-size: 14px; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
th, td { border: 1px solid #bbb; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #e8eef4; }
tr:nth-child(even) td { background: #f7f9fb; }
.small { color: #555; font-size: 12px; }
.ext { color: #a33; }
.nav a { margin-right: 0.8em; }
"""


def _text(el) -> str:
    if el is None:
        return ""
    tt = el.find("odm:Description/odm:TranslatedText", NS)
    if tt is None:
        tt = el.find("odm:TranslatedText", NS)
    return (tt.text or "") if tt is not None else ""


def _link(oid: str | None, label: str | None = None):
    if not oid:
        return ""
    return E.A(label or oid, href=f"#{oid}")


class _Renderer:
    def __init__(self, tree):
        root = tree.getroot() if hasattr(tree, "getroot") else tree
        self.root = root
        self.mdv = root.find(".//odm:MetaDataVersion", NS)
        self.items = {e.get("OID"): e for e in root.iterfind(".//odm:ItemDef", NS)}
        self.codelists = {e.get("OID"): e for e in root.iterfind(".//odm:CodeList", NS)}
        self.methods = {e.get("OID"): e for e in root.iterfind(".//odm:MethodDef", NS)}
        self.comments = {e.get("OID"): e for e in root.iterfind(".//def:CommentDef", NS)}
        self.wheres = {e.get("OID"): e for e in root.iterfind(".//def:WhereClauseDef", NS)}
        self.valuelists = {e.get("OID"): e for e in root.iterfind(".//def:ValueListDef", NS)}
        self.standards = {e.get("OID"): e for e in root.iterfind(".//def:Standard", NS)}

    # -- pieces ---------------------------------------------------------------------------
    def where_text(self, oid: str) -> str:
        wc = self.wheres.get(oid)
        if wc is None:
            return oid
        parts = []
        for rc in wc.iterfind("odm:RangeCheck", NS):
            item = self.items.get(rc.get(DEF + "ItemOID"))
            name = item.get("Name") if item is not None else rc.get(DEF + "ItemOID")
            values = [cv.text or "" for cv in rc.iterfind("odm:CheckValue", NS)]
            shown = ", ".join(f"'{v}'" for v in values)
            parts.append(f"{name} {rc.get('Comparator')} {shown}")
        return " and ".join(parts)

    def origin_cell(self, item):
        bits = []
        for o in item.iterfind("def:Origin", NS):
            text = o.get("Type")
            if o.get("Source"):
                text += f" ({o.get('Source')})"
            desc = _text(o)
            if desc:
                text += f": {desc}"
            bits.append(text)
        return "; ".join(bits)

    def terms_cell(self, item):
        out = E.TD()
        cl = item.find("odm:CodeListRef", NS)
        if cl is not None:
            oid = cl.get("CodeListOID")
            target = self.codelists.get(oid)
            out.append(_link(oid, target.get("Name") if target is not None else oid))
            out.append(E.BR())
            out.append(E.SPAN(oid, E.CLASS("small")))
        vl = item.find("def:ValueListRef", NS)
        if vl is not None:
            if len(out):
                out.append(E.BR())
            out.append(_link(vl.get("ValueListOID"), "value level"))
        return out

    def method_comment_cell(self, ref, item):
        out = E.TD()
        method = ref.get("MethodOID") if ref is not None else None
        if method:
            m = self.methods.get(method)
            out.append(E.DIV(_link(method, "Method"), ": ", _text(m) if m is not None else ""))
        comment = item.get(DEF + "CommentOID")
        if comment:
            c = self.comments.get(comment)
            out.append(E.DIV(_link(comment, "Comment"), ": ", _text(c) if c is not None else ""))
        return out

    # -- sections -------------------------------------------------------------------------
    def header(self):
        study = self.root.find("odm:Study", NS)
        name = study.findtext("odm:GlobalVariables/odm:StudyName", namespaces=NS) or ""
        desc = study.findtext("odm:GlobalVariables/odm:StudyDescription", namespaces=NS) or ""
        out = [E.H1(f"Define-XML: {name}"), E.P(desc),
               E.P(E.CLASS("small"),
                   f"{self.mdv.get('Name') or ''} - Define-XML {self.mdv.get(DEF + 'DefineVersion')}"
                   f", created {self.root.get('CreationDateTime')} by "
                   f"{self.root.get('SourceSystem') or ''} {self.root.get('SourceSystemVersion') or ''}")]
        rows = [E.TR(E.TH("Standard"), E.TH("Type"), E.TH("Publishing set"), E.TH("Version"),
                     E.TH("Status"))]
        for std in self.standards.values():
            rows.append(E.TR(E.TD(std.get("Name")), E.TD(std.get("Type")),
                             E.TD(std.get("PublishingSet") or ""), E.TD(std.get("Version")),
                             E.TD(std.get("Status") or "")))
        out += [E.H2("Standards"), E.TABLE(*rows)]
        return out

    def groups(self):
        groups = list(self.mdv.iterfind("odm:ItemGroupDef", NS))
        nav = E.P(E.CLASS("nav"), *[_link(g.get("OID"), g.get("Name")) for g in groups])
        rows = [E.TR(E.TH("Dataset"), E.TH("Description"), E.TH("Class"), E.TH("Structure"),
                     E.TH("Purpose"), E.TH("Keys"), E.TH("Location"))]
        sections = []
        for g in groups:
            refs = list(g.iterfind("odm:ItemRef", NS))
            keys = sorted((int(r.get("KeySequence")), self.items.get(r.get("ItemOID")))
                          for r in refs if r.get("KeySequence"))
            key_text = ", ".join(i.get("Name") for _, i in keys if i is not None)
            cls = g.find("def:Class", NS)
            cls_text = cls.get("Name") if cls is not None else ""
            sub = cls.find("def:SubClass", NS) if cls is not None else None
            if sub is not None:
                cls_text += f" / {sub.get('Name')}"
            leaf = g.find("def:leaf", NS)
            href = leaf.get(XLINK + "href") if leaf is not None else ""
            rows.append(E.TR(E.TD(_link(g.get("OID"), g.get("Name"))), E.TD(_text(g)),
                             E.TD(cls_text), E.TD(g.get(DEF + "Structure") or ""),
                             E.TD(g.get("Purpose") or ""), E.TD(key_text),
                             E.TD(E.A(href, href=href) if href else "")))
            sections += self.group_section(g, refs, href)
        return [E.H2("Datasets"), nav, E.TABLE(*rows)] + sections

    def group_section(self, g, refs, href):
        out = [E.H2(E.A(name=g.get("OID"), id=g.get("OID")),
                    f"{g.get('Name')}: {_text(g)}")]
        info = f"Location: {href}" if href else ""
        comment = g.get(DEF + "CommentOID")
        if comment:
            out.append(E.P(_link(comment, "Comment"), ": ", _text(self.comments.get(comment))))
        if info:
            out.append(E.P(E.CLASS("small"), info))
        rows = [E.TR(E.TH("Variable"), E.TH("Label"), E.TH("Key"), E.TH("Mandatory"),
                     E.TH("Type"), E.TH("Length"), E.TH("Sig. digits"), E.TH("Format"),
                     E.TH("Controlled terms"), E.TH("Origin"), E.TH("Method / comment"))]
        for ref in sorted(refs, key=lambda r: int(r.get("OrderNumber") or 0)):
            item = self.items.get(ref.get("ItemOID"))
            if item is None:
                rows.append(E.TR(E.TD(ref.get("ItemOID")), E.TD("(no ItemDef)")))
                continue
            rows.append(E.TR(
                E.TD(E.A(name=item.get("OID"), id=item.get("OID")), item.get("Name")),
                E.TD(_text(item)), E.TD(ref.get("KeySequence") or ""),
                E.TD(ref.get("Mandatory") or ""), E.TD(item.get("DataType") or ""),
                E.TD(item.get("Length") or ""), E.TD(item.get("SignificantDigits") or ""),
                E.TD(item.get(DEF + "DisplayFormat") or ""), self.terms_cell(item),
                E.TD(self.origin_cell(item)), self.method_comment_cell(ref, item)))
        out.append(E.TABLE(*rows))
        for ref in refs:
            item = self.items.get(ref.get("ItemOID"))
            vl = item.find("def:ValueListRef", NS) if item is not None else None
            if vl is not None and vl.get("ValueListOID") in self.valuelists:
                out += self.value_list(g, item, self.valuelists[vl.get("ValueListOID")])
        return out

    def value_list(self, g, parent, vl):
        out = [E.H3(E.A(name=vl.get("OID"), id=vl.get("OID")),
                    f"Value level metadata: {g.get('Name')}.{parent.get('Name')}")]
        rows = [E.TR(E.TH("Where"), E.TH("Label"), E.TH("Mandatory"), E.TH("Type"),
                     E.TH("Length"), E.TH("Sig. digits"), E.TH("Format"),
                     E.TH("Controlled terms"), E.TH("Origin"), E.TH("Method / comment"))]
        for ref in vl.iterfind("odm:ItemRef", NS):
            item = self.items.get(ref.get("ItemOID"))
            where = " or ".join(self.where_text(w.get("WhereClauseOID"))
                                for w in ref.iterfind("def:WhereClauseRef", NS))
            if item is None:
                rows.append(E.TR(E.TD(where), E.TD(f"(no ItemDef {ref.get('ItemOID')})")))
                continue
            rows.append(E.TR(
                E.TD(E.A(name=item.get("OID"), id=item.get("OID")), where),
                E.TD(_text(item)), E.TD(ref.get("Mandatory") or ""),
                E.TD(item.get("DataType") or ""), E.TD(item.get("Length") or ""),
                E.TD(item.get("SignificantDigits") or ""),
                E.TD(item.get(DEF + "DisplayFormat") or ""), self.terms_cell(item),
                E.TD(self.origin_cell(item)), self.method_comment_cell(ref, item)))
        out.append(E.TABLE(*rows))
        return out

    def codelist_section(self):
        out = [E.H2("Codelists")]
        for oid, cl in self.codelists.items():
            code = cl.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
            std = self.standards.get(cl.get(DEF + "StandardOID"))
            about = []
            if code is not None:
                about.append(f"NCI code {code.get('Name')}")
            if std is not None:
                about.append(f"{std.get('Name')} {std.get('PublishingSet') or ''} "
                             f"{std.get('Version')}")
            if cl.get(DEF + "IsNonStandard") == "Yes":
                about.append("sponsor codelist")
            out.append(E.H3(E.A(name=oid, id=oid), f"{cl.get('Name')} ({oid})"))
            out.append(E.P(E.CLASS("small"), "; ".join(about) + f"; data type {cl.get('DataType')}"))
            rows = [E.TR(E.TH("Value"), E.TH("Decode"), E.TH("NCI code"), E.TH(""))]
            for term in cl:
                if not isinstance(term.tag, str) or term.tag.split("}")[1] not in (
                        "CodeListItem", "EnumeratedItem"):
                    continue
                alias = term.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
                decode = term.find("odm:Decode", NS)
                ext = term.get(DEF + "ExtendedValue") == "Yes"
                rows.append(E.TR(E.TD(term.get("CodedValue")),
                                 E.TD(_text(decode) if decode is not None else ""),
                                 E.TD(alias.get("Name") if alias is not None else ""),
                                 E.TD(E.SPAN("extended value", E.CLASS("ext")) if ext else "")))
            ext_list = cl.find("odm:ExternalCodeList", NS)
            if ext_list is not None:
                rows.append(E.TR(E.TD(f"External: {ext_list.get('Dictionary')} "
                                      f"{ext_list.get('Version') or ''}", colspan="4")))
            out.append(E.TABLE(*rows))
        return out

    def method_section(self):
        rows = [E.TR(E.TH("Method"), E.TH("Name"), E.TH("Type"), E.TH("Description"))]
        for oid, m in self.methods.items():
            rows.append(E.TR(E.TD(E.A(name=oid, id=oid), oid), E.TD(m.get("Name") or ""),
                             E.TD(m.get("Type") or ""), E.TD(_text(m))))
        return [E.H2("Methods"), E.TABLE(*rows)]

    def comment_section(self):
        rows = [E.TR(E.TH("Comment"), E.TH("Description"))]
        for oid, c in self.comments.items():
            rows.append(E.TR(E.TD(E.A(name=oid, id=oid), oid), E.TD(_text(c))))
        return [E.H2("Comments"), E.TABLE(*rows)]

    def render(self) -> str:
        study = self.root.findtext("odm:Study/odm:GlobalVariables/odm:StudyName",
                                   namespaces=NS) or ""
        body = E.BODY(*self.header(), *self.groups(), *self.codelist_section(),
                      *self.method_section(), *self.comment_section())
        doc = E.HTML(E.HEAD(E.META(charset="utf-8"), E.TITLE(f"Define-XML: {study}"),
                            E.STYLE(CSS)), body)
        return html.tostring(doc, doctype="<!DOCTYPE html>", encoding="unicode",
                             pretty_print=True)


def render_html(tree: etree._ElementTree) -> str:
    """The HTML page (text) for a Define-XML 2.1 tree."""
    return _Renderer(tree).render()
