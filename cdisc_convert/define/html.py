"""The HTML view of a Define-XML 2.1 document, and the stylesheet that gives it.

There is one rendering: the XSLT 1.0 stylesheet ``stylesheet/define2-1.xsl`` (ours). It is
written beside every define.xml, which names it in an ``xml-stylesheet`` processing
instruction so that a browser opening define.xml shows the page; :func:`render_html`
applies the same stylesheet with lxml to write ``define.html``, the same page for browsers
that no longer run XSLT (Chromium shows a removal warning from version 155 on) and for
reviewers who open a plain HTML file.
"""
from __future__ import annotations

import functools
from importlib import resources

from lxml import etree

#: file name of the stylesheet beside define.xml (the processing instruction's href)
STYLESHEET_NAME = "define2-1.xsl"

__all__ = ["STYLESHEET_NAME", "render_html", "stylesheet_bytes", "stylesheet_instruction"]


def stylesheet_bytes() -> bytes:
    """The stylesheet's bytes (package data of :mod:`cdisc_convert.define`)."""
    return (resources.files("cdisc_convert.define") / "stylesheet" / STYLESHEET_NAME).read_bytes()


@functools.lru_cache(maxsize=1)
def _transform() -> etree.XSLT:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XSLT(etree.fromstring(stylesheet_bytes(), parser))


def stylesheet_instruction() -> etree._ProcessingInstruction:
    """``<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>`` for the top of define.xml."""
    return etree.ProcessingInstruction("xml-stylesheet",
                                       f'type="text/xsl" href="{STYLESHEET_NAME}"')


def render_html(tree: etree._ElementTree) -> str:
    """``define.html``: the stylesheet applied to a Define-XML 2.1 tree (ours or another
    sponsor's): standards, datasets with links to their files, one variable table per
    dataset, value-level metadata with where clauses, codelists, external dictionaries,
    methods, comments and documents, cross-linked by OID. Deterministic."""
    return str(_transform()(tree))
