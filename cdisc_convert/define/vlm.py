"""Value-level metadata of define.xml: which subsets (VALUE_LEVEL) and how each subset is
described (ValueListDef, WhereClauseDef, their ItemDefs, codelists and methods)."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from cdisc_convert.core.arrays import combine_codes
from cdisc_convert.adam.methods import YN_PARAMS
from cdisc_convert.standards.define_xml import TEXT_TYPES, VarInfo, format_value

from .ct import distinct_values, formatted, ts_codelists
from .model import Item, ItemRef, make_oid
from .profile import first_rows, profile_column, profile_numbers, text_values


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


FINDINGS_RESULTS = ("ORRES", "ORRESU", "STRESC", "STRESN", "STRESU")


def value_level_spec(name: str) -> tuple[list[str], list[str]] | None:
    """The where and target variables of ``name``'s value-level metadata: those of
    VALUE_LEVEL, else, for any other SDTM findings domain (VS, LB, EG, QS ...), the results
    per test code (--TESTCD; the builder skips it when the dataset has no such column)."""
    if name.startswith("SUPP") and name != "SUPPQUAL":
        return VALUE_LEVEL["SUPP"]
    if name in VALUE_LEVEL:
        return VALUE_LEVEL[name]
    if len(name) == 2 and name.isalpha():
        return [f"{name}TESTCD"], [f"{name}{v}" for v in FINDINGS_RESULTS]
    return None


def where_groups(columns: list) -> dict:
    """Row positions (ascending) per combination of the columns' values as text
    (:func:`~cdisc_convert.define.ct.formatted`: missing ""), combinations in sorted
    order (a tuple per combination, or the text alone for one column): what
    ``groupby([formatted(c) ...], sort=True).indices`` gives. Each column's codes
    (:class:`~cdisc_convert.define.profile.Column`) are mapped to the rank of their text
    and combined into one integer per row: no text is hashed per row."""
    count = len(columns[0].series)
    if not count:
        return {}
    levels, ranked = [], []
    for column in columns:
        text = np.array([format_value(v) for v in column.uniques()] + [""], dtype=object)
        ranks, ordered = pd.factorize(text, sort=True)      # equal texts share a rank
        levels.append((len(ordered), np.asarray(ordered, dtype=object)))
        ranked.append((ranks[column.codes], len(ordered)))   # code -1 picks the last: ""
    found = combine_codes(ranked, count)     # not renumbered: the keys are decoded below
    if found is None:
        return pd.Series(np.arange(count)).groupby(
            [formatted(c.series) for c in columns], sort=True).indices
    combined, span = found
    order = np.argsort(combined.astype(np.uint16) if span <= 2**16 else combined,
                       kind="stable")
    ordered_keys = combined[order]
    bounds = np.flatnonzero(ordered_keys[1:] != ordered_keys[:-1]) + 1
    groups = {}
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, count]):
        value, parts = int(ordered_keys[start]), []
        for size, ordered in reversed(levels):
            value, rank = divmod(value, size)
            parts.append(ordered[rank])
        groups[tuple(reversed(parts)) if len(parts) > 1 else parts[0]] = order[start:stop]
    return groups


class ValueLevelMixin:
    """The value-level part of :class:`~cdisc_convert.define.builder.Builder` (its
    attributes: ``datasets``, ``is_adam``, ``sdtm``, ``adam``, ``codelists``, ``items``,
    ``valuelists``, ``wheres``, ``_vl_cache`` and its ``_method`` / ``_candidates``)."""

    # -- value level ------------------------------------------------------------------
    def _vl_groups(self, frame, where_vars) -> dict:
        """Row positions per combination of the where variables' values, grouped once per
        dataset."""
        key = ("groups", tuple(where_vars))
        if key not in self._vl_cache:
            self._vl_cache[key] = where_groups([self._column_of(w) for w in where_vars])
        return self._vl_cache[key]

    def _value_list(self, name, frame, column, var, where_vars, parent: Item, parent_info,
                    parent_ref, spec, formats, encoding) -> str | None:
        groups = self._vl_groups(frame, where_vars)
        refs: list[ItemRef] = []
        dtype = column.series.dtype
        numbers = isinstance(dtype, np.dtype) and dtype.kind in "fiu"
        for combo, rows in groups.items():
            combo = combo if isinstance(combo, tuple) else (combo,)
            if any(str(v) == "" for v in combo):
                continue
            where = dict(zip(where_vars, (str(v) for v in combo)))
            rows = np.asarray(rows)
            if numbers:         # profiled from all the subset's rows, none numbered
                subset = column.series.iloc[rows]
                if subset.isna().all():
                    continue
                prof = profile_numbers(subset, formats.get(var))
            else:
                subset = column.distinct(rows)  # one row per distinct value of the subset
                if subset.dropna().astype(str).str.strip().eq("").all():
                    continue
                prof = None
            if prof is None:
                prof = profile_column(subset, var, formats.get(var), encoding=encoding,
                                      distinct=not numbers)
            tag = [where[w] for w in where_vars]
            oid = make_oid("IT", name, var, *tag)
            label = self._vl_label(name, frame, rows, var, parent.label, where)
            item = Item(oid, var, label, prof.datatype, prof.length, prof.significant,
                         prof.display)
            info = self._vl_info(name, var, where, parent_info)
            item.origins = info.origins or parent.origins
            values = distinct_values(subset) if item.datatype in TEXT_TYPES else []
            if item.datatype == "text":
                item.codelist = self._vl_codelist(name, var, where, subset, values, spec, info)
            if item.datatype == "text" and item.codelist is None:
                # numbers kept as text (--ORRES, QVAL, TSVAL)
                texts = text_values(subset, distinct=not numbers)
                if len(texts) and texts.str.fullmatch(r"-?(\d+\.?\d*|\.\d+)").all():
                    num = profile_column(pd.to_numeric(texts).astype(float), var, None)
                    item.datatype, item.length, item.significant = (num.datatype, num.length,
                                                                    num.significant)
            elif name == "ADRS" and var == "AVAL":
                item.codelist = self._aval_codes(name, where.get("PARAMCD"), subset)
            method = None
            if any(o.type == "Derived" for o in item.origins):
                method = self._vl_method(name, var, where, info, parent_ref)
            where_oid = self._where(name, where)
            refs.append(ItemRef(oid, len(refs) + 1, parent_ref.mandatory, None, method, None,
                             where_oid))
            self.items.append(item)
        if not refs:
            return None
        vl_oid = make_oid("VL", name, var)
        self.valuelists.append((vl_oid, refs))
        return vl_oid

    def _first_text(self, frame, column: str, rows: np.ndarray) -> str | None:
        """The first value (in row order) of ``frame[column]`` at ``rows`` whose text
        (``astype(str)``) is not empty; None when there is none."""
        if len(rows):
            value = self._column_of(column).series.array[rows[0]]
            if isinstance(value, str) and value:    # the usual case: no column numbered
                return str(value)
        key = ("nonblank", column)
        if key not in self._vl_cache:
            codes = self._column_of(column).codes
            first = first_rows(codes, True)
            text = frame[column].iloc[first].astype(str).to_numpy()
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
        for w, test in ((f"{name[:2]}TESTCD", f"{name[:2]}TEST"), ("TSPARMCD", "TSPARM")):
            if w in where and test in frame.columns:
                first = self._first_text(frame, test, rows)
                if first is not None:
                    cat = f"{where['RSCAT']}, " if "RSCAT" in where else ""
                    return f"{parent_label}: {cat}{first}"
        return f"{parent_label} (" + ", ".join(f"{w} = {v}" for w, v in where.items()) + ")"

    def _vl_info(self, name, var, where, parent_info) -> VarInfo:
        if self.is_adam:
            info = VarInfo()
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
                return self._method(make_oid("MT", name, code), f"{name} parameter {code}", text)
            return parent_ref.method
        if info.method:
            tag = [where[w] for w in where]
            return self._method(make_oid("MT", name, var, *tag), f"{name}.{var} "
                                f"({', '.join(f'{k} = {v}' for k, v in where.items())})",
                                info.method)
        return parent_ref.method

    def _vl_codelist(self, name, var, where, subset, values, spec, info) -> str | None:
        if not values:
            return None
        if self.is_adam:
            if name == "ADRS" and var == "AVALC":
                base = self.adam.params.get(where.get("PARAMCD", ""), ("", None))[0]
                cands = ["NY"] if base in YN_PARAMS else ["ONCRSR"]
                return self.codelists.cdisc(values, cands, level="vlm",
                                            context=make_oid(name, var, *where.values()))
            return None
        coded = (self.sdtm.study_dictionary(name, where.get("QNAM", ""))
                 if name.startswith("SUPP") and var == "QVAL" else None)
        if coded is not None:     # a qualifier coded with a dictionary (SUPPCM's ATC levels)
            return self.codelists.external(coded["name"], coded["version"], "text",
                                           coded.get("href"))
        candidates = self._candidates(name, var, spec, info.codelists)
        if name == "TS" and var == "TSVAL":
            candidates = [where.get("TSPARMCD", "")] + ts_codelists().get(
                where.get("TSPARMCD", ""), []) + ["NY"]
        if name.startswith("SUPP"):
            candidates = list(info.codelists)
        cl, n = self.codelists.choose(values, candidates)
        if cl is None:
            return None
        if name == "TS" and n < len(values):
            return None       # free-text parameter that happens to share a term
        return self.codelists.cdisc(values, candidates, level="vlm",
                                    context=make_oid(name, var, *where.values()))

    def _aval_codes(self, name, paramcd, subset) -> str | None:
        kind, codes = self.adam.aval_coding(paramcd or "")
        present = {int(v) for v in pd.to_numeric(subset, errors="coerce").dropna().unique()
                   if float(v).is_integer()}
        pairs = [(str(code), decode) for decode, code in sorted(codes.items(),
                                                                 key=lambda kv: kv[1])
                 if code in present]
        if not pairs:
            return None
        title = {"YN": "Y/N", "RESP": "Response", "IRESP": "iRECIST response"}[kind]
        return self.codelists.sponsor(make_oid("CL", name, "AVAL", kind),
                                      f"{title} coding of AVAL ({name})", pairs, "integer",
                                      context=paramcd)

    def _where(self, name: str, where: Mapping[str, str]) -> str:
        parts = []
        for w, v in where.items():
            parts += [w, "EQ", v]
        oid = make_oid("WC", name, *parts)
        checks = [(make_oid("IT", name, w), "EQ", [v]) for w, v in where.items()]
        if oid in self.wheres and self.wheres[oid] != checks:
            base, n = oid, 2
            while oid in self.wheres and self.wheres[oid] != checks:
                oid, n = f"{base}.{n}", n + 1
        self.wheres[oid] = checks
        return oid
