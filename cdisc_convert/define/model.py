"""The define.xml model: what the builder collects before it writes XML (ItemGroupDef,
ItemRef, ItemDef, CodeList), the standards described, and how OIDs are formed."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from cdisc_convert.standards.define_xml import Origin

STANDARDS = {
    "sdtmig-3.4": {"name": "SDTMIG", "version": "3.4", "purpose": "Tabulation",
                   "oid": "STD.SDTMIG.3.4"},
    "adamig-1.3": {"name": "ADaMIG", "version": "1.3", "purpose": "Analysis",
                   "oid": "STD.ADAMIG.1.3"},
}
PUBLISHING_SET = {"sdtm": "SDTM", "adam": "ADaM", "define-xml": "DEFINE-XML"}


class DefineWarning(UserWarning):
    """Something the define states that a reviewer should look at (e.g. a value outside a
    non-extensible codelist)."""


def make_oid(*parts: object) -> str:
    text = ".".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


@dataclass
class Item:
    oid: str
    name: str
    label: str
    datatype: str
    length: int | None = None
    significant: int | None = None
    display: str | None = None
    codelist: str | None = None
    origins: list[Origin] = field(default_factory=list)
    comment: str | None = None
    valuelist: str | None = None


@dataclass
class ItemRef:
    item: str
    order: int
    mandatory: bool
    key: int | None = None
    method: str | None = None
    role: str | None = None
    where: str | None = None


@dataclass
class ItemGroup:
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
    refs: list[ItemRef]
    href: str
    nonstandard: bool = False


@dataclass
class Term:
    value: str
    decode: str | None
    code: str | None
    extended: bool = False


@dataclass
class CodeList:
    oid: str
    name: str
    datatype: str
    terms: list[Term]
    code: str | None = None
    standard: str | None = None
    # an external dictionary (MedDRA, WHODrug ...): def:ExternalCodeList instead of terms
    dictionary: str | None = None
    version: str | None = None
    href: str | None = None
