"""Define-XML 2.1 (ODM 1.3.2) vocabulary shared by the define writer
(:mod:`cdisc_convert.define`) and its checks (:mod:`cdisc_convert.conformance.define_checks`):
namespaces, data types, the safe parser, how a data value is written as text, and the origin
of a variable (``def:Origin``: Collected, Assigned, Derived, Protocol, Predecessor).

It lives in the standards layer so that the ADaM method texts
(:mod:`cdisc_convert.adam.methods`) and the conformance checks can use it without importing
the define writer.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}
NS = {"odm": ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}

TEXT_TYPES = {"text", "date", "datetime", "time", "partialDate", "partialTime",
              "partialDatetime", "incompleteDatetime", "durationDatetime", "intervalDatetime",
              "string", "URI"}
NUMERIC_TYPES = {"integer", "float", "double", "decimal"}


def safe_parser() -> etree.XMLParser:
    """The XML parser used for every define.xml we read: no entities, no network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)


def qname(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def format_value(value: Any) -> str:
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


def int_digits(value: float) -> int:
    return len(str(int(abs(value)))) if math.isfinite(value) else 1


# --------------------------------------------------------------------------------------
# def:Origin of a variable, and what else is known about how it was produced
# --------------------------------------------------------------------------------------
@dataclass
class Origin:
    type: str
    source: str | None = None
    description: str | None = None
    #: annotated CRF pages (def:PDFPageRef PageRefs, e.g. "27 38"), from a spec workbook
    pages: str | None = None


@dataclass
class VarInfo:
    """What we know about how a variable (or a value-level subset) was produced."""
    origins: list[Origin] = field(default_factory=list)
    method: str | None = None
    comment: str | None = None
    codelists: list[str] = field(default_factory=list)  # candidate CT codes / short names

    def add(self, origin: Origin) -> None:
        for o in self.origins:
            if (o.type, o.source, o.description) == (origin.type, origin.source,
                                                       origin.description):
                return
        self.origins.append(origin)

    @property
    def derived(self) -> bool:
        return any(o.type == "Derived" for o in self.origins)


COLLECTED = lambda: Origin("Collected", "Investigator")  # noqa: E731
ASSIGNED = lambda: Origin("Assigned", "Sponsor")  # noqa: E731
DERIVED = lambda: Origin("Derived", "Sponsor")  # noqa: E731
PROTOCOL = lambda: Origin("Protocol", "Sponsor")  # noqa: E731


def predecessor(text: str) -> Origin:
    return Origin("Predecessor", None, text)
