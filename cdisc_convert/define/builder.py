"""The define.xml builder: describes datasets (ItemGroupDef, ItemDef, origins, methods,
comments, codelists; value level in :mod:`.vlm`) and writes the ODM 1.3.2 / Define-XML 2.1
document."""
from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd
from lxml import etree

from cdisc_convert.core.version import __version__
from cdisc_convert.adam.methods import AdamMethods
from cdisc_convert.core.errors import InputError, SpecError
from cdisc_convert.standards.define_xml import (DEF_NS, NSMAP, ODM_NS, TEXT_TYPES, XLINK_NS,
                                                XML_LANG, VarInfo, qname)
from cdisc_convert.standards.metadata import MetadataKeyError, load_ct, load_standard

from .ct import CodeLists, ct_releases, distinct_values
from .model import PUBLISHING_SET, STANDARDS, CodeList, Item, ItemGroup, ItemRef, make_oid
from .origins import SdtmOrigins
from .profile import Column, has_duplicates, profile_column, profile_numbers
from .vlm import ValueLevelMixin, value_level_spec

_SDTM_CLASS_ORDER = ["TRIAL DESIGN", "SPECIAL PURPOSE", "INTERVENTIONS", "EVENTS", "FINDINGS",
                     "FINDINGS ABOUT", "RELATIONSHIP", "STUDY REFERENCE"]
_ADAM_STRUCTURE = {
    "ADSL": "One record per subject",
    "ADRS": "One record per subject per parameter per assessment (one per subject for the "
            "subject-level parameters)",
    "ADTTE": "One record per subject per parameter",
    "ADTR": "One record per subject per parameter per tumour assessment",
}


class Builder(ValueLevelMixin):
    def __init__(self, datasets: Mapping[str, pd.DataFrame], *, standard: str, study_oid: str,
                 study_name: str, study_spec=None, adam_config=None,
                 dataset_labels: Mapping[str, str] | None = None,
                 creation_datetime: str | None = None, study_description: str | None = None,
                 data_location: str = "", spec_tables: dict | None = None,
                 spec_columns: dict | None = None):
        if standard not in STANDARDS:
            raise SpecError(f"unknown standard {standard!r} (known: {', '.join(STANDARDS)})")
        self.datasets = {k.upper(): v for k, v in datasets.items()}
        if not self.datasets:
            raise InputError("no datasets to describe in a define.xml")
        self.standard = standard
        self.std = load_standard(standard)
        self.is_adam = self.std.is_adam
        self.meta = STANDARDS[standard]
        self.study_oid = study_oid
        self.study_name = study_name
        self.study_description = study_description
        self.protocol_name: str | None = None
        # a spec workbook laid over what the data say (spec_apply), and what it found
        self.spec_tables, self.spec_columns = spec_tables, spec_columns
        self.spec_findings: list[dict] = []
        self.dataset_labels = dict(dataset_labels or {})
        self.created = creation_datetime
        self.data_location = data_location.strip("/")
        self.releases = ct_releases()
        self.ct_std_oids = {src: make_oid("STD.CT", PUBLISHING_SET[src], date)
                            for src, date in self.releases.items()}
        self.codelists = CodeLists(self.ct_std_oids)
        if self.is_adam:
            self.adam = AdamMethods(adam_config, self.datasets)
            self.sdtm = None
        else:
            self.sdtm = SdtmOrigins(study_spec)
            self.adam = None
        self.groups: list[ItemGroup] = []
        self.items: list[Item] = []
        self.valuelists: list[tuple[str, list[ItemRef]]] = []
        self.wheres: dict[str, list[tuple[str, str, list[str]]]] = {}
        self.methods: dict[str, tuple[list[str], str]] = {}
        self.method_index: dict[tuple[str, str], str] = {}
        self.method_meta: dict[str, tuple[str, str]] = {}   # a spec's (Name, Type) by OID
        # documents a spec names (leaf ID -> (href, title)); the annotated CRF's leaf ID
        self.documents: dict[str, tuple[str, str]] = {}
        self.acrf: str | None = None
        self.comments: dict[str, str] = {}
        self._vl_cache: dict = {}   # per dataset: value-level groups, label columns
        self._column_of = None      # per dataset: variable -> its profile.Column

    # -- helpers ----------------------------------------------------------------------
    def _method(self, oid: str, target: str, text: str | None) -> str | None:
        """A MethodDef; within one dataset an identical text reuses the first MethodDef
        (VISIT and VISITNUM share one) and its name lists every target."""
        if not text:
            return None
        oid = make_oid(oid)
        dataset = oid.split(".")[1] if oid.count(".") else ""
        shared = self.method_index.get((dataset, text))
        if shared is not None:
            targets = self.methods[shared][0]
            if target not in targets:
                targets.append(target)
            return shared
        base, n = oid, 2
        while oid in self.methods:
            oid, n = f"{base}.{n}", n + 1
        self.methods[oid] = ([target], text)
        self.method_index[(dataset, text)] = oid
        return oid

    def _comment(self, oid: str, text: str | None) -> str | None:
        if not text:
            return None
        oid = make_oid(oid)
        self.comments[oid] = text
        return oid

    def _dataset_order(self) -> list[str]:
        names = list(self.datasets)
        if self.is_adam:
            return sorted(names, key=lambda n: (n != "ADSL", n))

        def rank(name: str):
            cls = self._class(name)[0] or ""
            pos = _SDTM_CLASS_ORDER.index(cls) if cls in _SDTM_CLASS_ORDER else 99
            return (pos, name)
        return sorted(names, key=rank)

    def _spec(self, name: str):
        try:
            return self.std.dataset(name)
        except MetadataKeyError:
            return None

    def _class(self, name: str) -> tuple[str | None, str | None]:
        spec = self._spec(name)
        if spec is None:
            return None, None
        if self.is_adam:
            return spec.class_, spec.subclass or None
        gnrl = load_ct().codelist("GNRLOBSC")
        value = gnrl.lookup(spec.class_)
        return (value if isinstance(value, str) else spec.class_.upper()), None

    def _var_spec(self, spec, var: str):
        if spec is None:
            return None
        try:
            return spec.variable(var)
        except MetadataKeyError:
            return None

    def _label(self, frame: pd.DataFrame, spec, var: str) -> str:
        labels = frame.attrs.get("labels") or {}
        if labels.get(var):
            return str(labels[var])
        vs = self._var_spec(spec, var)
        if vs is not None:
            return vs.label
        return var

    def _keys(self, name: str, frame: pd.DataFrame, spec, column_of) -> list[str]:
        """The dataset's key variables; ADaM: STUDYID, USUBJID, PARAMCD and then as many
        of AVISITN, ADT, ASEQ as it takes to make the records unique. ``column_of(var)``:
        the :class:`Column` of a variable, whose codes (one integer per distinct value,
        missing values alike) are what the uniqueness test compares."""
        if not self.is_adam:
            return [k for k in (spec.keys if spec is not None else ()) if k in frame.columns]
        keys = [k for k in ("STUDYID", "USUBJID") if k in frame.columns]
        if name == "ADSL":
            return keys
        if "PARAMCD" in frame.columns:
            keys.append("PARAMCD")
        for extra in ("AVISITN", "ADT", "ASEQ"):
            if not (has_duplicates([column_of(k) for k in keys]) if keys
                    else frame.duplicated(keys).any()):
                break
            if extra in frame.columns:
                keys.append(extra)
        return keys

    def _candidates(self, name: str, var: str, spec, extra: Iterable[str] = ()) -> list[str]:
        out = list(extra)
        vs = self._var_spec(spec, var)
        if vs is not None:
            # a study's sponsor codelist (study.yaml) has a name and no NCI code
            out += list(vs.codelist_codes) or list(vs.codelists)
        if self.is_adam:
            pred = None
            if name != "ADSL" and var in self.adam.adsl_columns:
                pred = self._var_spec(self.std.dataset("ADSL"), var)
                if pred is not None:
                    out += list(pred.codelist_codes)
            dm = self._var_spec(self.adam.dm_spec, var)
            if dm is not None:
                out += list(dm.codelist_codes)
            if var.endswith("DTF"):
                out.append("DATEFL")
            if var.endswith("TMF"):
                out.append("TIMEFL")
            if name == "ADRS" and var == "AVALC":
                out += ["ONCRSR", "NY"]
        if var.endswith("FL"):
            out.append("NY")
        if var == "EPOCH":
            out.append("EPOCH")
        return out

    # -- datasets ---------------------------------------------------------------------
    def build(self) -> etree._ElementTree:
        for name in self._dataset_order():
            self._dataset(name, self.datasets[name])
        if self.spec_tables is not None:
            from .spec_apply import apply_spec

            self.spec_findings = apply_spec(self, self.spec_tables, self.spec_columns)
        return self._xml()

    def _dataset(self, name: str, frame: pd.DataFrame) -> None:
        spec = self._spec(name)
        formats = frame.attrs.get("formats") or {}
        encoding = frame.attrs.get("encoding") or "utf-8"
        if encoding == "ascii":
            encoding = "utf-8"
        # the data work reads a copy without attrs: pandas deep-copies a frame's attrs
        # (labels, formats and lengths of every column) into each Series taken from it
        data = frame.copy(deep=False)
        data.attrs = {}
        columns: dict[str, Column] = {}

        def column_of(var: str) -> Column:   # each column numbered once per dataset
            if var not in columns:
                columns[var] = Column(data[var])
            return columns[var]

        self._column_of = column_of        # the value level numbers its columns alike
        keys = self._keys(name, data, spec, column_of)
        vl_spec = value_level_spec(name)
        refs: list[ItemRef] = []
        self._vl_cache = {}
        for order, var in enumerate(frame.columns, start=1):
            var = str(var)
            column = column_of(var)
            # numbers in long runs are profiled from their few run starts; else by
            # vectorised passes over every row, without numbering them
            prof = (profile_numbers(column.series, formats.get(var))
                    if column.numbers and column.runs() is None else None)
            if prof is None:
                series = column.distinct()  # the profile only depends on the distinct values
                prof = profile_column(series, var, formats.get(var), encoding=encoding,
                                      distinct=True)
            length = prof.length
            declared = (frame.attrs.get("lengths") or {}).get(var)
            if prof.datatype in TEXT_TYPES and declared and length and int(declared) > length:
                # the define describes the file: an XPT column declared longer than its
                # longest value keeps its declared length (validate reports the excess)
                length = int(declared)
            item = Item(make_oid("IT", name, var), var, self._label(frame, spec, var),
                        prof.datatype, length, prof.significant, prof.display)
            info = self._var_info(name, var)
            item.origins = info.origins
            vs = self._var_spec(spec, var)
            has_vlm = bool(vl_spec and var in vl_spec[1]
                           and all(w in frame.columns for w in vl_spec[0]))
            coded = self.sdtm.study_dictionary(name, var) if self.sdtm is not None else None
            if coded is not None and item.datatype in ("text", "integer"):
                item.codelist = self.codelists.external(coded["name"], coded["version"],
                                                        item.datatype, coded.get("href"))
            elif item.datatype == "text":
                item.codelist = self._variable_codelist(name, var, data, spec, info, series,
                                                        has_vlm)
            item.comment = self._comment(make_oid("COM", name, var), info.comment)
            method = None
            if info.derived:
                method = self._method(make_oid("MT", name, var), f"{name}.{var}",
                                      info.method or f"{name}.{var} is derived.")
            role = None
            if not self.is_adam:
                role = (vs.role if vs is not None and vs.role
                        else self.std.class_variable_role(name, var) or self._guess_role(var))
            refs.append(ItemRef(item.oid, order, bool(vs is not None and vs.core == "Req"),
                             keys.index(var) + 1 if var in keys else None, method, role))
            self.items.append(item)
            if has_vlm:
                item.valuelist = self._value_list(name, data, column, var, vl_spec[0], item,
                                                  info, refs[-1], spec, formats, encoding)
        self._vl_cache = {}
        cls, subclass = self._class(name)
        label = (self.dataset_labels.get(name) or frame.attrs.get("label")
                 or (spec.label if spec is not None else name))
        if self.is_adam:
            structure = _ADAM_STRUCTURE.get(name) or (
                "One record per subject" if cls == "SUBJECT LEVEL ANALYSIS DATASET"
                else "One or more records per subject per parameter")
            comment_text = self._adam_dataset_comment(name)
        else:
            structure = spec.structure if spec is not None else "One record per record"
            comment_text = self.sdtm.dataset_comment(name)
        repeating = not (name in ("DM", "ADSL") or cls == "TRIAL DESIGN")
        self.groups.append(ItemGroup(
            oid=make_oid("IG", name), name=name, label=str(label),
            domain=None if self.is_adam else (name[4:] if name.startswith("SUPP") else name),
            repeating=repeating, reference=cls == "TRIAL DESIGN",
            purpose=self.meta["purpose"], structure=structure, class_=cls, subclass=subclass,
            standard=self.meta["oid"] if spec is not None and not spec.custom else None,
            comment=self._comment(make_oid("COM", name), comment_text), refs=refs,
            href="/".join(p for p in (self.data_location, _data_file(frame, name)) if p),
            nonstandard=spec is None or spec.custom))

    def _adam_dataset_comment(self, name: str) -> str | None:
        if name == "ADTR" and self.adam is not None:
            return ("Per-visit responses are also computed from TU/TR with these sums and the "
                    "rules below and compared with the investigator's responses in RS (the "
                    "differences are listed for the sponsor). " + self.adam.recist_text() + " "
                    + self.adam.choi_text())
        return None

    @staticmethod
    def _guess_role(var: str) -> str | None:
        if var in ("VISITNUM", "VISIT", "EPOCH") or var.endswith(("DTC", "DY")):
            return "Timing"
        return None

    def _var_info(self, name: str, var: str, where: Mapping[str, str] | None = None
                  ) -> VarInfo:
        if self.is_adam:
            return self.adam.info(name, var)
        return self.sdtm.info(name, var, where)

    def _variable_codelist(self, name, var, frame, spec, info, series, has_vlm) -> str | None:
        """The codelist of a text variable from its distinct values ``series``."""
        paramcd = self.is_adam and var == "PARAMCD" and "PARAM" in frame.columns
        candidates = [] if paramcd else self._candidates(name, var, spec, info.codelists)
        if not (paramcd or candidates):
            return None   # no codelist to choose from: identifiers, dates, free text
        values = distinct_values(series)
        if not values:
            return None
        if paramcd:
            # in text order whatever the storage (a categorical sorts in the order of its
            # categories: run's echoes number them by first appearance)
            pairs = (frame[["PARAMCD", "PARAM"]].drop_duplicates("PARAMCD")
                     .astype(object).sort_values("PARAMCD"))
            return self.codelists.sponsor(
                make_oid("CL", name, "PARAMCD"), f"Parameter Code ({name})",
                [(str(a), str(b) or None) for a, b in pairs.itertuples(index=False)
                 if str(a) != ""])
        return self.codelists.cdisc(values, candidates, context=make_oid(name, var),
                                    level="var", require_all=has_vlm)

    # -- XML ----------------------------------------------------------------------------
    def _xml(self) -> etree._ElementTree:
        created = self.created or _creation_datetime()
        self.codelists.finalize()
        kind = "ADaM" if self.is_adam else "SDTM"
        root = etree.Element(qname(ODM_NS, "ODM"), nsmap=NSMAP)
        root.set("ODMVersion", "1.3.2")
        root.set("FileType", "Snapshot")
        root.set("FileOID", make_oid("DEF", self.study_oid, kind))
        root.set("CreationDateTime", created)
        root.set("Originator", "cdisc-convert")
        root.set("SourceSystem", "cdisc-convert")
        root.set("SourceSystemVersion", __version__)
        root.set(qname(DEF_NS, "Context"), "Submission")
        study = etree.SubElement(root, qname(ODM_NS, "Study"), OID=make_oid("STDY", self.study_oid))
        gv = etree.SubElement(study, qname(ODM_NS, "GlobalVariables"))
        etree.SubElement(gv, qname(ODM_NS, "StudyName")).text = self.study_name
        etree.SubElement(gv, qname(ODM_NS, "StudyDescription")).text = (
            self.study_description or f"{self.study_name}: {kind} datasets")
        etree.SubElement(gv, qname(ODM_NS, "ProtocolName")).text = (self.protocol_name
                                                                    or self.study_name)
        mdv = etree.SubElement(study, qname(ODM_NS, "MetaDataVersion"))
        mdv.set("OID", make_oid("MDV", self.study_oid, self.meta["name"], self.meta["version"]))
        mdv.set("Name", f"{self.study_name} {kind} data definitions")
        mdv.set("Description", f"Define-XML 2.1 of the {kind} datasets of {self.study_name} "
                               f"({self.meta['name']} {self.meta['version']}), written by "
                               f"cdisc-convert {__version__}")
        mdv.set(qname(DEF_NS, "DefineVersion"), "2.1.0")
        self._xml_standards(mdv)
        if self.acrf:
            acrf = etree.SubElement(mdv, qname(DEF_NS, "AnnotatedCRF"))
            etree.SubElement(acrf, qname(DEF_NS, "DocumentRef"), leafID=self.acrf)
        for vl_oid, refs in self.valuelists:
            vl = etree.SubElement(mdv, qname(DEF_NS, "ValueListDef"), OID=vl_oid)
            for ref in refs:
                self._xml_ref(vl, ref)
        for oid, checks in self.wheres.items():
            wc = etree.SubElement(mdv, qname(DEF_NS, "WhereClauseDef"), OID=oid)
            for item_oid, comparator, values in checks:
                rc = etree.SubElement(wc, qname(ODM_NS, "RangeCheck"))
                rc.set("Comparator", comparator)
                rc.set("SoftHard", "Soft")
                rc.set(qname(DEF_NS, "ItemOID"), item_oid)
                for v in values:
                    etree.SubElement(rc, qname(ODM_NS, "CheckValue")).text = v
        for g in self.groups:
            self._xml_group(mdv, g)
        for item in self.items:
            self._xml_item(mdv, item)
        for oid in sorted(self.codelists.lists):
            self._xml_codelist(mdv, self.codelists.lists[oid])
        for oid in sorted(self.methods):
            targets, text = self.methods[oid]
            name, kind = self.method_meta.get(
                oid, ("Algorithm to derive " + ", ".join(targets), "Computation"))
            m = etree.SubElement(mdv, qname(ODM_NS, "MethodDef"), OID=oid, Name=name,
                                 Type=kind)
            _description(m, text)
        for oid in sorted(self.comments):
            c = etree.SubElement(mdv, qname(DEF_NS, "CommentDef"), OID=oid)
            _description(c, self.comments[oid])
        for leaf_id, (href, title) in self.documents.items():
            leaf = etree.SubElement(mdv, qname(DEF_NS, "leaf"), ID=leaf_id)
            leaf.set(qname(XLINK_NS, "href"), href)
            etree.SubElement(leaf, qname(DEF_NS, "title")).text = title or href
        return etree.ElementTree(root)

    def _xml_standards(self, mdv) -> None:
        stds = etree.SubElement(mdv, qname(DEF_NS, "Standards"))
        etree.SubElement(stds, qname(DEF_NS, "Standard"), OID=self.meta["oid"],
                         Name=self.meta["name"], Type="IG", Version=self.meta["version"],
                         Status="Final")
        sources = ["sdtm"] + (["adam"] if self.is_adam else []) + ["define-xml"]
        sources += sorted(self.codelists.used_sources - set(sources))
        for src in sources:
            if src not in self.releases:
                continue
            std = etree.SubElement(stds, qname(DEF_NS, "Standard"))
            std.set("OID", self.ct_std_oids[src])
            std.set("Name", "CDISC/NCI")
            std.set("Type", "CT")
            std.set("PublishingSet", PUBLISHING_SET[src])
            std.set("Version", self.releases[src])
            std.set("Status", "Final")

    @staticmethod
    def _xml_ref(parent, ref: ItemRef) -> None:
        el = etree.SubElement(parent, qname(ODM_NS, "ItemRef"), ItemOID=ref.item)
        el.set("OrderNumber", str(ref.order))
        el.set("Mandatory", "Yes" if ref.mandatory else "No")
        if ref.key is not None:
            el.set("KeySequence", str(ref.key))
        if ref.method:
            el.set("MethodOID", ref.method)
        if ref.role:
            el.set("Role", ref.role)
        if ref.where:
            etree.SubElement(el, qname(DEF_NS, "WhereClauseRef"), WhereClauseOID=ref.where)

    def _xml_group(self, mdv, g: ItemGroup) -> None:
        el = etree.SubElement(mdv, qname(ODM_NS, "ItemGroupDef"), OID=g.oid, Name=g.name)
        if g.domain:
            el.set("Domain", g.domain)
        el.set("Repeating", "Yes" if g.repeating else "No")
        el.set("IsReferenceData", "Yes" if g.reference else "No")
        el.set("SASDatasetName", g.name)
        el.set("Purpose", g.purpose)
        el.set(qname(DEF_NS, "Structure"), g.structure)
        el.set(qname(DEF_NS, "ArchiveLocationID"), make_oid("LF", g.name))
        if g.standard:
            el.set(qname(DEF_NS, "StandardOID"), g.standard)
        if g.nonstandard:
            el.set(qname(DEF_NS, "IsNonStandard"), "Yes")
        if g.comment:
            el.set(qname(DEF_NS, "CommentOID"), g.comment)
        _description(el, g.label)
        for ref in g.refs:
            self._xml_ref(el, ref)
        if g.domain and g.name.startswith("SUPP"):
            parent = self._spec(g.domain)
            if parent is not None:
                etree.SubElement(el, qname(ODM_NS, "Alias"), Context="DomainDescription",
                                 Name=parent.label)
        if g.class_:
            cls = etree.SubElement(el, qname(DEF_NS, "Class"), Name=g.class_)
            if g.subclass:
                etree.SubElement(cls, qname(DEF_NS, "SubClass"), Name=g.subclass)
        leaf = etree.SubElement(el, qname(DEF_NS, "leaf"), ID=make_oid("LF", g.name))
        leaf.set(qname(XLINK_NS, "href"), g.href)
        etree.SubElement(leaf, qname(DEF_NS, "title")).text = g.href.rsplit("/", 1)[-1]

    def _xml_item(self, mdv, item: Item) -> None:
        el = etree.SubElement(mdv, qname(ODM_NS, "ItemDef"), OID=item.oid, Name=item.name,
                              DataType=item.datatype)
        if item.length is not None:
            el.set("Length", str(item.length))
        if item.significant is not None:
            el.set("SignificantDigits", str(item.significant))
        el.set("SASFieldName", item.name)
        if item.display:
            el.set(qname(DEF_NS, "DisplayFormat"), item.display)
        if item.comment:
            el.set(qname(DEF_NS, "CommentOID"), item.comment)
        _description(el, item.label)
        codelist = self.codelists.oid(item.codelist)
        if codelist:
            etree.SubElement(el, qname(ODM_NS, "CodeListRef"), CodeListOID=codelist)
        for origin in item.origins:
            o = etree.SubElement(el, qname(DEF_NS, "Origin"), Type=origin.type)
            if origin.source:
                o.set("Source", origin.source)
            if origin.description:
                _description(o, origin.description)
            if origin.pages and self.acrf:
                ref = etree.SubElement(o, qname(DEF_NS, "DocumentRef"), leafID=self.acrf)
                etree.SubElement(ref, qname(DEF_NS, "PDFPageRef"), PageRefs=origin.pages,
                                 Type="PhysicalRef")
        if item.valuelist:
            etree.SubElement(el, qname(DEF_NS, "ValueListRef"), ValueListOID=item.valuelist)

    @staticmethod
    def _xml_codelist(mdv, cl: CodeList) -> None:
        el = etree.SubElement(mdv, qname(ODM_NS, "CodeList"), OID=cl.oid, Name=cl.name,
                              DataType=cl.datatype)
        if cl.dictionary:
            ext = etree.SubElement(el, qname(ODM_NS, "ExternalCodeList"),
                                   Dictionary=cl.dictionary, Version=cl.version or "")
            if cl.href:
                ext.set("href", cl.href)
            return
        if cl.standard:
            el.set(qname(DEF_NS, "StandardOID"), cl.standard)
        else:
            el.set(qname(DEF_NS, "IsNonStandard"), "Yes")
        decoded = any(t.decode and t.decode.casefold() != t.value.casefold() for t in cl.terms)
        for n, term in enumerate(cl.terms, start=1):
            tag = "CodeListItem" if decoded else "EnumeratedItem"
            it = etree.SubElement(el, qname(ODM_NS, tag), CodedValue=term.value)
            it.set("OrderNumber", str(n))
            if term.extended:
                it.set(qname(DEF_NS, "ExtendedValue"), "Yes")
            if decoded:
                dec = etree.SubElement(it, qname(ODM_NS, "Decode"))
                tt = etree.SubElement(dec, qname(ODM_NS, "TranslatedText"))
                tt.set(XML_LANG, "en")
                tt.text = term.decode or term.value
            if term.code:
                etree.SubElement(it, qname(ODM_NS, "Alias"), Context="nci:ExtCodeID",
                                 Name=term.code)
        if cl.code:
            etree.SubElement(el, qname(ODM_NS, "Alias"), Context="nci:ExtCodeID", Name=cl.code)


def _description(parent, text: str) -> None:
    d = etree.SubElement(parent, qname(ODM_NS, "Description"))
    tt = etree.SubElement(d, qname(ODM_NS, "TranslatedText"))
    tt.set(XML_LANG, "en")
    tt.text = text


def _creation_datetime() -> str:
    from cdisc_convert.io.datasetjson import creation_datetime

    return creation_datetime()


def _data_file(frame: pd.DataFrame, name: str) -> str:
    """The file a dataset was read from (its def:leaf), ``name.xpt`` when not known: the
    define points at what was written (Dataset-JSON or CSV when no XPT was)."""
    from pathlib import Path

    path = frame.attrs.get("path")
    return Path(path).name if path else f"{name.lower()}.xpt"
