"""SDTM origins, methods and comments of define.xml, read from the study's mapping spec
(``mappings/<study>/*.yaml``); standard names are used when there is no spec."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping

from cdisc_convert.core.text import condition_text, number_text, quote_list
from cdisc_convert.standards.define_xml import ASSIGNED, COLLECTED, DERIVED, PROTOCOL, VarInfo


_PRODUCERS = ("value", "from", "format", "date", "number", "unit", "age", "duration")
_READS_RAW = {"from", "date", "number", "duration"}
_TRANSFORM_TEXT = {"upper": "upper-cased", "lower": "lower-cased", "strip": "stripped",
                   "title": "title-cased", "capitalize": "capitalised"}


def _producer(rule: dict) -> str:
    return next((k for k in _PRODUCERS if k in rule), "value")


def _rule_text(rule: dict, table: str | None) -> str:
    p = _producer(rule)
    raw = f"{table}." if table else ""
    if p == "value":
        v = rule["value"]
        text = "blank" if v in ("", None) else f"'{v}'"
    elif p == "from":
        text = f"{raw}{rule['from']}"
    elif p == "format":
        text = f"'{rule['format']}' filled from {table or 'the raw'} columns"
    elif p == "date":
        text = f"{raw}{rule['date']}"
        if rule.get("time"):
            text += f" and {raw}{rule['time']}"
        text += " as ISO 8601 (partial dates kept partial)"
    elif p == "number":
        text = f"{raw}{rule['number']} as a number"
    elif p == "duration":
        text = f"{raw}{rule['duration']} as an ISO 8601 duration"
    elif p == "unit":
        u = rule["unit"]
        to = str(rule.get("to"))
        to = f"the unit in {to[1:-1]}" if to.startswith("{") and to.endswith("}") else to
        text = f"{raw}{u.get('value')} in the unit of {raw}{u.get('unit')}, converted to {to}"
        if rule.get("molar_mass"):
            text += f" (molar mass {rule['molar_mass']} g/mol)"
        if rule.get("factors"):
            text += " (factors " + "; ".join(f"{k}: {v}" for k, v in rule["factors"].items()) + ")"
    else:  # age
        a = rule["age"] or {}
        text = (f"age in completed years from {a.get('birth', 'BRTHDTC')} to "
                f"{a.get('reference', 'RFICDTC')} (from a partial birth date only when the "
                "month decides, otherwise missing)")
    if p in ("unit", "number") and rule.get("round") is not None:
        text += f", rounded to {rule['round']} decimal place(s)"
    elif p in ("unit", "number") and rule.get("significant") is not None:
        text += f", rounded to {rule['significant']} significant digit(s)"
    if rule.get("extract"):
        text += f", the part matching {rule['extract']!r}"
    transforms = rule.get("transform")
    if transforms:
        transforms = transforms if isinstance(transforms, list) else [transforms]
        text += ", " + ", ".join(_TRANSFORM_TEXT.get(t, t) for t in transforms)
    if isinstance(rule.get("map"), dict):
        pairs = list(rule["map"].items())
        shown = "; ".join(f"{k} -> {v}" for k, v in pairs[:8])
        text += f", mapped ({shown}{'; ...' if len(pairs) > 8 else ''})"
    elif rule.get("map"):
        text += f", mapped with the study value map {rule['map']}"
    if rule.get("codelist"):
        text += f", as a submission value of CDISC codelist {rule['codelist']}"
    if rule.get("where"):
        text += f" where {condition_text(rule['where'])}"
    return text


def _rules_text(rules: list[dict], table: str | None) -> str:
    parts = [_rule_text(r, table) for r in rules]
    if len(parts) == 1:
        return parts[0] + "."
    return "; otherwise ".join(parts) + " (first matching rule wins)."


def _classify(rules: list[dict]) -> str:
    prods = [_producer(r) for r in rules]
    # a unit conversion is a computation on the collected value (Define-XML 2.1: a value
    # "calculated by the sponsor" is Derived), as are an age and a built text
    if any(p in ("age", "format", "unit") for p in prods):
        return "Derived"
    if any(p in _READS_RAW for p in prods):
        return "Collected"
    if all(not r.get("where") for r in rules):
        return "Assigned"
    return "Derived"


def _block_kind(block, rules: list[dict], seen: frozenset = frozenset()) -> str:
    """:func:`_classify`, except that a ``from:`` naming a variable the same block derives
    earlier (``VSSTRESC: {from: VSSTRESN}`` after a unit conversion) takes that variable's
    origin: a copy of a derived value is derived."""
    kind = _classify(rules)
    if kind != "Collected":
        return kind
    variables = getattr(block, "variables", {}) or {}
    for rule in rules:
        name = rule.get("from") if _producer(rule) == "from" else None
        if name in variables and name not in seen and variables[name] is not rules:
            if _block_kind(block, variables[name], seen | {name}) == "Derived":
                return "Derived"
    return kind


def _header_comment(path: Path | None) -> str:
    """The leading ``#`` comment block of a spec file, as one paragraph."""
    if path is None:
        return ""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line.lstrip("#").strip())
    return " ".join(x for x in out if x)


def _sentences_about(text: str, name: str) -> str:
    sentences = re.split(r"(?<=\.)\s+(?=[A-Z(])", text)
    return " ".join(s for s in sentences if re.search(rf"\b{re.escape(name)}\b", s))


_HEURISTIC_DERIVED = {
    "SEQ": "Sequence number (1, 2, ...) within USUBJID.",
    "DY": "Study day of the record's date relative to DM.RFSTDTC: date - RFSTDTC + 1 on or "
          "after RFSTDTC, date - RFSTDTC before (no day 0).",
}


#: define.xml methods of the subject-level trial design datasets (cdisc_convert.sdtm.trial_design)
_DESIGN_METHODS = {
    "SE": {
        "SESTDTC": "SESTDTC = the DM reference date the element starts at in the study's "
                   "trial design (e.g. RFICDTC for screening, RFXSTDTC for treatment), or the "
                   "subject's earliest complete date among the records the element lists "
                   "(start_earliest_of) when that is earlier.",
        "SEENDTC": "SEENDTC = the SESTDTC of the subject's next element; for the last element "
                   "reached, the DM date that ends it (e.g. RFPENDTC).",
        "SESEQ": "SESEQ = 1, 2, ... within USUBJID in the order of SESTDTC and TAETORD.",
        "*": "The elements of the subject's actual arm (DM.ACTARMCD) as TA lists them, those "
             "with a start date; ETCD, ELEMENT, TAETORD and EPOCH from TA/TE; --DY against "
             "DM.RFSTDTC (no day 0).",
    },
    "SV": {
        "SVSTDTC": "SVSTDTC = the earliest date of the subject's records at the visit in the "
                   "domains listed in trial_design.visits_from.",
        "SVENDTC": "SVENDTC = the latest date of the subject's records at the visit in the "
                   "domains listed in trial_design.visits_from.",
        "*": "One record per subject and VISITNUM of the records of the domains listed in "
             "trial_design.visits_from; VISITDY from TV; SVPRESP Y for visits in TV, null "
             "otherwise (with SVUPDES); SVOCCUR Y for visits in TV, null otherwise; --DY "
             "against DM.RFSTDTC (no day 0).",
    },
    "TA": {}, "TE": {}, "TV": {}, "TI": {},
}


class SdtmOrigins:
    def __init__(self, study=None):
        self.study = study
        self.domains = {d.name: d for d in study.domains} if study is not None else {}

    def study_dictionary(self, ds: str, var: str) -> dict | None:
        """The coding dictionary study.yaml declares for ``ds.var`` (name, version ...)."""
        return self.study.dictionary_of(ds, var) if self.study is not None else None

    # -- dataset-level ------------------------------------------------------------------
    def dataset_comment(self, name: str) -> str:
        domain = self.domains.get(name)
        return _header_comment(domain.path) if domain is not None else ""

    # -- helpers --------------------------------------------------------------------------
    def _code_refs(self, rules_lists: Iterable[list[dict]]) -> list[str]:
        out = []
        for rules in rules_lists:
            for r in rules:
                if r.get("codelist"):
                    out.append(str(r["codelist"]))
        return out

    @staticmethod
    def _block_matches(block, where: Mapping[str, str]) -> bool:
        for var, value in where.items():
            rules = block.variables.get(var)
            if not rules:
                continue
            if all(_producer(r) == "value" for r in rules):
                if value not in {str(r["value"]) for r in rules}:
                    return False
            # copied from an `unpivot:` item key (a test table's VSTESTCD): the block makes
            # only the values its item list holds
            sources = {r.get("from") for r in rules}
            if block.unpivot and len(sources) == 1 and all(
                    _producer(r) == "from" and not r.get("map") for r in rules):
                col = next(iter(sources))
                made = {str(item[col]).casefold() for items in block.unpivot.values()
                        if isinstance(items, list) for item in items
                        if isinstance(item, dict) and col in item}
                if made and value.casefold() not in made:
                    return False
        return True

    def _derive_text(self, domain, var: str) -> tuple[str, str] | None:
        """(text, "replace" | "fill") when ``derive:`` produces ``var``."""
        d = domain.derive
        study = self.study
        seq = d.get("seq")
        if seq and var == f"{domain.name}SEQ":
            by = seq.get("by", ["USUBJID"])
            order = seq.get("order", [])
            return (f"{var} = 1, 2, ... within {', '.join(by)}, records ordered by "
                    f"{', '.join(order) or 'their order in the raw data'} (stable).", "replace")
        days = d.get("study_day") or {}
        if var in days:
            dtc = days[var]
            return (f"{var} = {dtc} - DM.RFSTDTC + 1 when {dtc} is on or after RFSTDTC, "
                    f"{dtc} - RFSTDTC when before (there is no day 0); missing unless both "
                    "dates are complete.", "replace")
        epoch = d.get("epoch")
        if epoch and var == "EPOCH" and study is not None and study.trial_design:
            return (f"EPOCH = the EPOCH (TA) of the subject's element in SE holding "
                    f"{epoch['date']}: from SESTDTC (excluded for elements starting 'the day "
                    "after', e.g. follow-up) up to the next element's start, the last "
                    "element up to SEENDTC; a partial date gets the EPOCH when all the days "
                    f"it may stand for lie in one element{_partial_epoch_text(epoch)}; null "
                    "outside every element. A value mapped by the record block is kept.",
                    "fill")
        if epoch and var == "EPOCH":
            rules = []
            for item in (study.epochs if study else []):
                if "before" in item:
                    rules.append(f"{item['epoch']} when before DM.{item['before']}")
                elif "until" in item:
                    rules.append(f"{item['epoch']} when on or before DM.{item['until']}")
                else:
                    rules.append(f"{item['epoch']} otherwise")
            return (f"EPOCH from {epoch['date']} compared with the subject's reference dates "
                    f"(date parts), first matching rule wins: {'; '.join(rules)}. A partial "
                    "date gets no EPOCH; a value mapped by the record block is kept.", "fill")
        visit = d.get("visit")
        if visit and var in ("VISIT", "VISITNUM"):
            return (self._visit_text(visit), "replace")
        base = d.get("baseline")
        if base and var == base.get("flag"):
            ref = base.get("reference", "RFXSTDTC")
            text = (f"{var} = Y on the last record per {', '.join(base.get('by', []))} whose "
                    f"{base.get('date')} (complete date) is on or before DM.{ref}")
            if base.get("where"):
                text += f", among records where {condition_text(base['where'])}"
            return (text + "; blank otherwise.", "replace")
        refs = d.get("reference_dates") or {}
        if var in refs:
            rule = refs[var]
            pick = "earliest" if "earliest" in rule else "latest"
            sources = rule[pick] if isinstance(rule[pick], list) else [rule[pick]]
            names = []
            for s in sources:
                if isinstance(s, dict):
                    names.append(f"raw {s.get('table')}.{s.get('date')}")
                else:
                    names.append(str(s))
            text = (f"{var} = the {pick} of {', '.join(names)} per subject (dates compared on "
                    "their known part, the chosen value kept with its full precision)")
            if rule.get("where"):
                text += f", records where {condition_text(rule['where'])}"
            return (text + "; a value mapped from raw data is kept.", "fill")
        return None

    def _visit_text(self, visit: dict) -> str:
        visits = self.study.visits if self.study else {}
        parts = []
        for item in visits.get("schedule", []):
            parts.append(f"{item['visit']} = {number_text(item['visitnum'])} (day {item.get('day')}, "
                         f"window +/- {item.get('window', 0)})")
        reps = visits.get("repeat") or []
        for rep in (reps if isinstance(reps, list) else [reps]):
            first, step = int(rep["first"]), int(rep.get("step", 1))
            last = first + (int(rep["count"]) - 1) * step
            start, vstep = rep["visitnum_start"], rep.get("visitnum_step", 1)
            parts.append(
                f"{rep['visit']} for n = {first}, {first + step}, ..., {last}: VISITNUM "
                f"{number_text(start)}, {number_text(start + vstep)}, ... "
                f"(target day n x {rep.get('days_per_n', 1)} + {rep.get('day_offset', 0)}, "
                f"window +/- {rep.get('window', 0)} days)")
        unsched = quote_list(visits.get("unscheduled", []))
        return (f"VISIT and VISITNUM from the collected visit label ({visit.get('label')}) and "
                f"the study's schedule: {'; '.join(parts)}. An unscheduled label ({unsched}) "
                f"gives VISITNUM = p + 0.01 per distinct unscheduled date after p (per "
                f"subject, across all domains) and VISIT 'UNSCHEDULED x.yy', where p is the "
                f"highest VISITNUM of the subject's scheduled-visit records (any domain) "
                f"dated on or before {visit.get('date')}, or, without one, the last "
                f"scheduled visit whose target day is on or before its study day (of two on "
                f"the same day, the higher-numbered); a blank label gives the scheduled "
                f"visit whose window holds the study day.")

    # -- variables ----------------------------------------------------------------------
    def info(self, ds: str, var: str, where: Mapping[str, str] | None = None) -> VarInfo:
        if ds.startswith("SUPP") and ds[4:] in self.domains:
            return self._supp_info(ds, var)
        domain = self.domains.get(ds)
        if domain is None and self.study is not None and self.study.trial_design \
                and ds in _DESIGN_METHODS:
            return self._design_info(ds, var)
        if domain is None:
            return self._heuristic(ds, var)
        info = VarInfo()
        coded = self.study.dictionary_of(ds, var) if self.study is not None else None
        if coded is not None:
            # Define-XML 2.1 (origin types): a value taken from a coding dictionary by the
            # sponsor's coders is Assigned, not Collected; the dictionary is its codelist
            info.add(ASSIGNED())
            source = next((rules for b in domain.blocks for v, rules in b.variables.items()
                           if v == var), None)
            table = next((b.source for b in domain.blocks if var in b.variables), None)
            how = f" ({_rules_text(source, table)})" if source else ""
            info.comment = (f"Coded with {coded['name']} version {coded['version']} by the "
                            f"study's coding table{how}.")
            return info
        if domain.literal_rows is not None:
            if var in ("STUDYID", "DOMAIN") or var.endswith("SEQ"):
                info.add(ASSIGNED())
            else:
                info.add(PROTOCOL())
            return info
        blocks = [b for b in domain.blocks if where is None or self._block_matches(b, where)]
        produced = [(b, b.variables[var]) for b in blocks if var in b.variables]
        derive = self._derive_text(domain, var)
        post = (domain.derive.get("variables") or {}).get(var)
        info.codelists = self._code_refs([rules for _, rules in produced]
                                         + ([post] if post else []))
        texts, comments = [], []
        if post is not None:
            info.add(DERIVED())
            texts.append(_rules_text(post, None) + " (evaluated after all other derivations, "
                         "on the record and the subject's DM variables)")
        elif derive is not None and derive[1] == "replace":
            info.add(DERIVED())
            texts.append(derive[0])
        else:
            grouped: dict[int, tuple[list[dict], list]] = {}
            for block, rules in produced:
                grouped.setdefault(id(rules), (rules, []))[1].append(block)
            multi = len(grouped) > 1
            for rules, owners in grouped.values():
                kind = _block_kind(owners[0], rules)
                info.add({"Collected": COLLECTED, "Assigned": ASSIGNED,
                          "Derived": DERIVED}[kind]())
                tables = ", ".join(dict.fromkeys(str(b.source) for b in owners))
                names = ", ".join(b.name for b in owners)
                label = f"Records from {names}: " if multi else ""
                table = owners[0].source if len(owners) == 1 else f"({tables})"
                if kind == "Derived":
                    texts.append(label + _rules_text(rules, table))
                elif kind == "Collected" and (len(rules) > 1 or any(r.get("where")
                                                                     for r in rules)):
                    comments.append(label + _rules_text(rules, table))
            if derive is not None:
                info.add(DERIVED())
                texts.append(derive[0])
        if not info.origins:
            return self._heuristic(ds, var)
        if info.derived:
            info.method = " ".join(dict.fromkeys(texts)) or None
        about = _sentences_about(_header_comment(domain.path), var)
        comment = " ".join(dict.fromkeys(comments + ([about] if about else [])))
        info.comment = comment or None
        return info

    def _supp_info(self, ds: str, var: str) -> VarInfo:
        parent = ds[4:]
        info = VarInfo()
        if var in ("STUDYID", "USUBJID"):
            base = self.info(parent, var)
            base.comment = None
            return base
        if var == "IDVARVAL" and (self.domains[parent].derive.get("seq")):
            info.add(DERIVED())
            info.method = ("IDVARVAL = the value of IDVAR (the parent record's "
                           f"{parent}SEQ) of the {parent} record the qualifier belongs to.")
            return info
        if var == "QVAL":
            for qnam in self.supp_qnams(parent):
                for o in self.supp_value(parent, qnam).origins:
                    info.add(o)
            if info.origins:
                return info
        info.add(ASSIGNED())
        return info

    def supp_qnams(self, parent: str) -> list[str]:
        domain = self.domains.get(parent)
        if domain is None:
            return []
        names = []
        for b in domain.blocks:
            names += list(b.supp)
        names += list((domain.derive.get("supp") or {}))
        return list(dict.fromkeys(names))

    def supp_value(self, parent: str, qnam: str) -> VarInfo:
        domain = self.domains.get(parent)
        info = VarInfo()
        if domain is None:
            info.add(COLLECTED())
            return info
        if self.study is not None and self.study.dictionary_of(f"SUPP{parent}", qnam):
            info.add(ASSIGNED())     # coded with a dictionary, as its parent variables
            return info
        orig_map = {"CRF": COLLECTED, "COLLECTED": COLLECTED, "DERIVED": DERIVED,
                    "ASSIGNED": ASSIGNED, "PROTOCOL": PROTOCOL}
        texts = []
        post = (domain.derive.get("supp") or {}).get(qnam)
        produced = [(b, b.supp[qnam]) for b in domain.blocks if qnam in b.supp]
        if post is not None:
            produced.append((None, post))
        for block, rules in produced:
            orig = str(rules[0].get("orig", "")).upper()
            kind = orig_map.get(orig)
            origin = kind() if kind else {"Collected": COLLECTED, "Assigned": ASSIGNED,
                                          "Derived": DERIVED}[_classify(rules)]()
            if block is None:
                origin = DERIVED()
            info.add(origin)
            if origin.type == "Derived":
                texts.append(_rules_text(rules, block.source if block else None))
        info.codelists = self._code_refs([r for _, r in produced])
        if info.derived:
            info.method = " ".join(texts)
        return info

    def _design_info(self, ds: str, var: str) -> VarInfo:
        """Trial design datasets written from study.yaml's ``trial_design:``: the planned
        design (TA, TE, TV, TI) is Protocol; SE and SV are derived from the subjects' data."""
        info = VarInfo()
        if var in ("STUDYID", "DOMAIN"):
            info.add(ASSIGNED())
        elif ds in ("TA", "TE", "TV", "TI"):
            info.add(PROTOCOL())
        else:
            info.add(DERIVED())
            info.method = _DESIGN_METHODS[ds].get(var) or _DESIGN_METHODS[ds]["*"]
        return info

    def _heuristic(self, ds: str, var: str) -> VarInfo:
        info = VarInfo()
        if var in ("STUDYID", "DOMAIN", "RDOMAIN", "IDVAR", "QNAM", "QLABEL", "QORIG",
                   "QEVAL"):
            info.add(ASSIGNED())
        elif var == f"{ds}SEQ" or (len(var) == 5 and var.endswith("SEQ")):
            info.add(DERIVED())
            info.method = _HEURISTIC_DERIVED["SEQ"]
        elif re.fullmatch(r"[A-Z]{2}(ST|EN)?DY", var):
            info.add(DERIVED())
            info.method = _HEURISTIC_DERIVED["DY"]
        elif var in ("EPOCH", "VISITNUM", "VISIT", "IDVARVAL") or var.endswith(("LOBXFL",
                                                                                 "BLFL")):
            info.add(DERIVED())
            info.method = f"{var} derived by the mapping (no mapping spec was given)."
        else:
            info.add(COLLECTED())
        return info


def _partial_epoch_text(epoch: dict) -> str:
    """The declared convention for a partial date spanning elements, for the method text."""
    if epoch["partial_dates"] == "unassigned":
        return ""
    day = "last" if epoch["partial_dates"] == "latest" else "first"
    floor = (f", or DM.{epoch['not_before']} when that is later and one of those days"
             if epoch["not_before"] else "")
    return f"; when they span elements, the element holding its {day} possible day{floor}"
