"""Controlled terminology in define.xml: the codelists built from the values the data uses,
and the CT releases described."""
from __future__ import annotations

import warnings
from typing import Any, Iterable

import numpy as np
import pandas as pd

from cdisc_convert.core.text import quote_list
from cdisc_convert.standards.define_xml import format_value
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, ts_value_codelists

from .model import CodeList, DefineWarning, Term, make_oid


def ct_releases() -> dict[str, str]:
    """{"sdtm": "2025-03-28", "adam": ..., "define-xml": ...}: the loaded CDISC CT releases
    (a study's own codelists, source "sponsor", are not a CDISC standard)."""
    from .model import PUBLISHING_SET

    return {src: date for src, date in load_ct().releases.items() if src in PUBLISHING_SET}


def formatted(series: pd.Series) -> np.ndarray:
    """Every value of ``series`` as text (see :func:`format_value`; missing -> ""),
    each distinct value formatted once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    text = np.array([format_value(v) for v in uniques] + [""], dtype=object)
    return text[codes]       # code -1 (missing) picks the trailing ""


def distinct_values(series: pd.Series) -> list[str]:
    if series.empty:
        return []
    values = [format_value(v) for v in series.dropna().unique()]
    return sorted({v for v in values if v != ""})


class CodeLists:
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
        self.lists: dict[str, CodeList] = {}
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
            warnings.warn(f"{context}: {quote_list(extra)} not in the non-extensible CDISC "
                          f"codelist {cl.short_name} ({cl.code}); declared as found",
                          DefineWarning, stacklevel=3)
        key = f"?{len(self.uses)}"
        self.uses.append((key, cl, tuple(values), context, level))
        return key

    def oid(self, key: str | None) -> str | None:
        if key is None or not key.startswith("?"):
            return key
        return self.resolved.get(key)

    def _terms(self, cl, values: Iterable[str]) -> list[Term]:
        # (preferred term, NCI code) of each submission value, its first row if repeated:
        # one dict per codelist instead of a pandas index and a row lookup per term
        members: dict = {}
        for value, preferred, code in zip(cl.terms["submission_value"].tolist(),
                                          cl.terms["preferred_term"].tolist(),
                                          cl.terms["term_code"].tolist()):
            members.setdefault(value, (preferred, code))
        out = []
        for value in sorted(v for v in values if v in members):
            preferred, code = members[value]
            # a study's sponsor term of a CDISC codelist has no NCI code: an extended value
            out.append(Term(value, preferred or None, code or None,
                            extended=bool(cl.code) and not code))
        for value in sorted(v for v in values if v not in members):
            decode = None
            resolved = cl.lookup(value)          # a CDISC synonym of a term (HU -> Hounsfield)
            if isinstance(resolved, str) and resolved in members:
                decode = members[resolved][0] or None
            out.append(Term(value, decode, None, extended=cl.extensible))
        return out

    def finalize(self) -> None:
        if self.resolved or not self.uses:
            return
        by_code: dict[str, list] = {}
        for use in self.uses:
            # a study's sponsor codelists have no NCI code: each is its own group
            by_code.setdefault(use[1].code or f"sponsor:{use[1].short_name}", []).append(use)
        for code, uses in by_code.items():
            cl = uses[0][1]
            var_uses = [u for u in uses if u[4] == "var"]
            sets: dict[tuple[str, ...], str] = {}
            if var_uses:
                union = tuple(sorted(set().union(*(u[2] for u in var_uses))))
                sets[union] = make_oid("CL", cl.short_name)
            for _key, _cl, values, context, level in uses:
                wanted = tuple(sorted(values)) if level != "var" else None
                if wanted is not None and wanted not in sets:
                    if not sets and len({tuple(sorted(u[2])) for u in uses}) == 1:
                        sets[wanted] = make_oid("CL", cl.short_name)
                    else:
                        sets[wanted] = make_oid("CL", cl.short_name, context)
            main = make_oid("CL", cl.short_name)
            for key, _cl, values, _context, level in uses:
                self.resolved[key] = (main if level == "var"
                                      else sets[tuple(sorted(values))])
            for values, oid in sets.items():
                name = cl.name
                if oid != main or not var_uses and len(sets) > 1:
                    shown = ", ".join(values[:6]) + (", ..." if len(values) > 6 else "")
                    name = f"{cl.name} (subset: {shown})"
                self.lists[oid] = CodeList(oid, name, "text", self._terms(cl, values),
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
        oid = make_oid(oid)
        if oid in self.lists and context:
            oid = make_oid(oid, context)
        base, n = oid, 2
        while oid in self.lists:
            oid, n = f"{base}.{n}", n + 1
        self.lists[oid] = CodeList(oid, name, datatype,
                                    [Term(v, d, None) for v, d in pairs])
        self.by_key[key] = oid
        return oid


    def external(self, dictionary: str, version: str, datatype: str,
                 href: str | None = None) -> str:
        """The CodeList of an external dictionary (one per dictionary, version and data
        type: the names are text, the codes integers)."""
        suffix = () if datatype == "text" else (datatype.upper(),)
        oid = make_oid("CL", dictionary, version, *suffix)
        if oid not in self.lists:
            name = f"{dictionary} {version}" + ("" if datatype == "text" else f" ({datatype} codes)")
            self.lists[oid] = CodeList(oid, name, datatype, [], dictionary=dictionary,
                                        version=version, href=href)
        return oid


def ts_codelists() -> dict[str, list[str]]:
    """TSPARMCD -> codelists of its TSVAL (``specs/ct/ts-parameters.csv``)."""
    return {parm: [short] for parm, short in ts_value_codelists().items()}
