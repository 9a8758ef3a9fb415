"""Raw tables from a CDISC ODM 1.3 ClinicalData export (OpenClinica, Medidata Rave, REDCap).

One raw table is one ItemGroup: each ``ItemGroupData`` of that group becomes one row with
the columns

``SubjectKey, StudyEventOID, StudyEventRepeatKey, FormOID, FormRepeatKey,
ItemGroupRepeatKey`` and one column per **ItemOID**

(the ItemOID, not the ItemDef ``Name``: an OID is unique and present in every file, while a
Name may repeat within a group, hold blanks, or be missing from a ClinicalData-only
export). The columns of the group's ``ItemGroupDef`` (``ItemRef`` order) come first when the
file has MetaData, then items seen only in the data, in order of first appearance. A group
is chosen by its ItemGroupOID or by its ItemGroupDef ``Name``.

Values are text exactly as in the file (``Value`` attribute, or the text of a typed
``ItemDataString``/``ItemDataInteger``/... element); an absent item or ``IsNull="Yes"`` is
``""``. ``AuditRecord``, ``Signature`` and ``Annotation`` content is ignored, as are
vendor-extension elements outside the ODM namespace.

**Row numbers**: row N is the N-th ``ItemGroupData`` of that item group in the file.

The file is parsed as a stream (``lxml.etree.iterparse``; a subject's elements are freed
once read), with a parser that resolves no entities, loads no DTD, never uses the network
and keeps lxml's limits on huge text nodes. A file with a ``<!DOCTYPE`` (which ODM never
needs, and which carries entity attacks such as XXE or "billion laughs") is refused.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from lxml import etree

from cdisc_convert.core.errors import InputError

KEY_COLUMNS = ["SubjectKey", "StudyEventOID", "StudyEventRepeatKey", "FormOID",
               "FormRepeatKey", "ItemGroupRepeatKey"]
_PROLOG_BYTES = 65_536


def _local(tag) -> tuple[str, str]:
    q = etree.QName(tag)
    return q.namespace or "", q.localname


def _refuse_doctype(path: Path) -> None:
    with path.open("rb") as handle:
        head = handle.read(_PROLOG_BYTES)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise InputError("the XML declares a DOCTYPE/ENTITY, which an ODM export never needs "
                         "and which can read local files or exhaust memory; refused",
                         file=path, rule="RAW-ODM-DTD")


def read_odm_item_group(path: Path | str, item_group: str | None) -> pd.DataFrame:
    """The rows of one ItemGroup of an ODM 1.3 ClinicalData file, all text.

    The frame's ``attrs["lines"]`` is 1 + the position of each ItemGroupData (so
    ``read_raw_table`` numbers rows by position). Raises :class:`InputError` naming the
    file: not XML / not ODM [RAW-ODM], no ClinicalData [RAW-ODM], a DOCTYPE [RAW-ODM-DTD],
    an item group neither defined nor present [RAW-ODM-ITEMGROUP].
    """
    path = Path(path)
    if not item_group:
        raise InputError("an ODM XML raw table needs `item_group:` (an ItemGroupOID or its "
                         "Name) in study.yaml", file=path, rule="RAW-ODM-ITEMGROUP")
    _refuse_doctype(path)
    events = etree.iterparse(str(path), events=("start", "end"), resolve_entities=False,
                             no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    odm_ns = None
    group_defs: dict[str, tuple[str, list[str]]] = {}   # OID -> (Name, ItemRef OIDs)
    current_def: str | None = None
    seen_clinical = False
    context = dict.fromkeys(KEY_COLUMNS, "")
    wanted: set[str] = {item_group}
    row: dict[str, str] | None = None
    rows: list[dict[str, str]] = []
    data_groups: dict[str, int] = {}
    item_order: dict[str, None] = {}
    try:
        for event, el in events:
            ns, name = _local(el.tag)
            if odm_ns is None:                      # the root element
                if name != "ODM":
                    raise InputError(f"not a CDISC ODM file (root element <{name}>, "
                                     "expected <ODM>)", file=path, rule="RAW-ODM")
                odm_ns = ns
                continue
            if ns != odm_ns:                        # vendor extensions
                continue
            if event == "start":
                if name == "SubjectData":
                    context = dict.fromkeys(KEY_COLUMNS, "")
                    context["SubjectKey"] = el.get("SubjectKey", "")
                elif name == "StudyEventData":
                    context["StudyEventOID"] = el.get("StudyEventOID", "")
                    context["StudyEventRepeatKey"] = el.get("StudyEventRepeatKey", "")
                    context.update(FormOID="", FormRepeatKey="", ItemGroupRepeatKey="")
                elif name == "FormData":
                    context["FormOID"] = el.get("FormOID", "")
                    context["FormRepeatKey"] = el.get("FormRepeatKey", "")
                elif name == "ItemGroupData":
                    oid = el.get("ItemGroupOID", "")
                    data_groups[oid] = data_groups.get(oid, 0) + 1
                    if oid in wanted:
                        row = dict(context, ItemGroupRepeatKey=el.get("ItemGroupRepeatKey", ""))
                elif name == "ClinicalData":
                    seen_clinical = True
                elif name == "ItemGroupDef":
                    current_def = el.get("OID", "")
                    group_defs[current_def] = (el.get("Name", ""), [])
                    if group_defs[current_def][0] == item_group:
                        wanted.add(current_def)
                elif name == "ItemRef" and current_def is not None:
                    group_defs[current_def][1].append(el.get("ItemOID", ""))
                continue
            # end events: values are read when the element is complete
            if row is not None and name.startswith("ItemData"):
                oid = el.get("ItemOID", "")
                if el.get("IsNull") == "Yes":
                    value = ""
                elif name == "ItemData":
                    value = el.get("Value", "")
                else:                               # ItemDataString, ItemDataInteger, ...
                    value = el.text or ""
                row[oid] = value
                item_order.setdefault(oid, None)
            elif name == "ItemGroupData":
                if row is not None:
                    rows.append(row)
                    row = None
                el.clear()
            elif name == "ItemGroupDef":
                current_def = None
            elif name in ("SubjectData", "ClinicalData"):
                el.clear()                          # stream: free what has been read
                while el.getprevious() is not None:
                    del el.getparent()[0]
    except etree.XMLSyntaxError as err:
        raise InputError(f"not well-formed XML: {err}", file=path, rule="RAW-ODM") from err
    if odm_ns is None:
        raise InputError("empty XML file", file=path, rule="RAW-ODM")
    if not seen_clinical:
        raise InputError("the ODM file has no ClinicalData (a metadata-only export?)",
                         file=path, rule="RAW-ODM")
    defined = [oid for oid in wanted if oid in group_defs]
    if not defined and not any(oid in data_groups for oid in wanted):
        known = sorted(set(group_defs) | set(data_groups))
        names = [f"{oid} ({group_defs[oid][0]})" if group_defs.get(oid, ("",))[0] else oid
                 for oid in known]
        raise InputError(f"item group {item_group!r} is neither an ItemGroupOID nor an "
                         f"ItemGroupDef Name of this file (item groups: "
                         f"{', '.join(names[:20]) or 'none'})", file=path,
                         rule="RAW-ODM-ITEMGROUP")
    columns = list(KEY_COLUMNS)
    for oid in defined:
        columns += [c for c in group_defs[oid][1] if c not in columns]
    columns += [c for c in item_order if c not in columns]
    frame = pd.DataFrame(rows, columns=columns, dtype=object).fillna("")
    frame.attrs["lines"] = range(2, len(frame) + 2)     # row N = N-th ItemGroupData
    frame.attrs["controls"] = True
    return frame
