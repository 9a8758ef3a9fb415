"""Study-level extensions of the standards, declared in a study's ``study.yaml``.

SDTMIG 3.4 and the NCI CT releases ship whole (``specs/``); what a study adds on top is
declared beside its mapping, never in Python::

    ct:
      sdtm: "2025-03-28"                 # the bundled release (the default), or another:
      # sdtm: {release: "2024-12-20", file: ../ct/SDTM Terminology 2024-12-20.txt}
    codelists:
      UNIT: {extend: [tablet]}           # sponsor terms of an extensible CDISC codelist
      XATOXGR:                           # a sponsor codelist
        name: Sponsor Toxicity Grade
        terms: ["1", "2", {value: "3", decode: Severe}]
    custom_domains:
      XA:                                # SDTMIG 3.4 section 2.6: two characters, one class
        class: Findings
        label: Biopsy Findings
        structure: One record per biopsy finding per visit per subject
        keys: [STUDYID, USUBJID, XATESTCD, VISITNUM]
        variables: [STUDYID, DOMAIN, USUBJID, XASEQ, XATESTCD, XATEST, XAORRES,
                    {XAORRESU: {codelist: UNIT}}, VISITNUM, XADTC]
    supp_qualifiers:                     # non-standard variables, carried in SUPP--
      AE: {AETRTEM: {label: Treatment Emergent Flag, codelist: NY}}

:func:`study_standards` turns these into a :class:`~cdisc_convert.standards.metadata.Standard`
and a :class:`~cdisc_convert.standards.metadata.Terminology` with the additions;
:func:`using_study` makes them what ``load_standard()`` / ``load_ct()`` return while a
study is processed, so the mapping engine, the conformance checks and define.xml all see
the same extended standard. A mistake is a :class:`SpecError` naming study.yaml, the key
and what to declare instead.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from cdisc_convert.core.errors import SpecError

#: study.yaml keys this module reads
EXTENSION_KEYS = ("ct", "codelists", "custom_domains", "supp_qualifiers")
#: SDTMIG 3.4 section 2.6: a custom domain belongs to one of the general observation classes
GENERAL_CLASSES = ("Interventions", "Events", "Findings", "Findings About")
_DOMAIN_KEYS = {"class", "label", "structure", "keys", "variables"}
_VARIABLE_KEYS = {"label", "type", "role", "core", "codelist"}
_CODELIST_KEYS = {"name", "extensible", "terms", "extend"}
_SUPP_KEYS = {"label", "codelist", "origin"}


@dataclass(frozen=True)
class StudyExtensions:
    """The extension sections of one study.yaml, checked for shape (not yet for content)."""

    path: Path
    standard: str = "sdtmig-3.4"
    ct_release: str | None = None
    ct_file: Path | None = None
    codelists: dict[str, dict] = field(default_factory=dict)
    custom_domains: dict[str, dict] = field(default_factory=dict)
    supp_qualifiers: dict[str, dict[str, dict]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.ct_release or self.ct_file or self.codelists or self.custom_domains
                    or self.supp_qualifiers)


def _fail(message: str, path: Path, details: list[str] | None = None) -> SpecError:
    return SpecError(message, file=path, rule="SPEC-STANDARD", details=details)


def _mapping(value: Any, path: Path, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(f"{where} must be a mapping, not {type(value).__name__}", path)
    return value


def _unknown(data: dict, allowed: set[str], path: Path, where: str) -> None:
    extra = sorted(str(k) for k in set(data) - allowed)
    if extra:
        raise _fail(f"unknown key(s) {', '.join(extra)} in {where}; allowed: "
                    f"{', '.join(sorted(allowed))}", path)


def read_extensions(study_yaml: Path | str) -> StudyExtensions:
    """The extension sections of ``study_yaml`` (or of ``<folder>/study.yaml``)."""
    from cdisc_convert.core.yamlio import load_yaml

    path = Path(study_yaml)
    if path.is_dir():
        path = path / "study.yaml"
    data = load_yaml(path).data or {}
    if not isinstance(data, dict):
        raise _fail("study.yaml must be a mapping", path)
    ct = data.get("ct")
    release, file = None, None
    if ct is not None:
        ct = _mapping(ct, path, "ct:")
        _unknown(ct, {"sdtm"}, path, "ct:")
        sdtm = ct.get("sdtm")
        if isinstance(sdtm, dict):
            _unknown(sdtm, {"release", "file"}, path, "ct: sdtm:")
            release = sdtm.get("release")
            if sdtm.get("file"):
                file = (path.parent / str(sdtm["file"])).resolve()
                if not file.is_file():
                    raise _fail(f"ct: sdtm: file {sdtm['file']} not found (looked at {file})", path)
        elif sdtm is not None:
            release = sdtm
        if release is not None:
            release = str(release)
    codelists = {str(k).upper(): _mapping(v, path, f"codelists: {k}")
                 for k, v in _mapping(data.get("codelists"), path, "codelists:").items()}
    for name, item in codelists.items():
        _unknown(item, _CODELIST_KEYS, path, f"codelists: {name}")
        if ("extend" in item) == ("terms" in item):
            raise _fail(f"codelists: {name} needs either `extend:` (sponsor terms of a CDISC "
                        "codelist) or `terms:` (a sponsor codelist)", path)
    domains = {str(k).upper(): _mapping(v, path, f"custom_domains: {k}")
               for k, v in _mapping(data.get("custom_domains"), path, "custom_domains:").items()}
    for name, item in domains.items():
        _unknown(item, _DOMAIN_KEYS, path, f"custom_domains: {name}")
    supp = {}
    for parent, quals in _mapping(data.get("supp_qualifiers"), path, "supp_qualifiers:").items():
        quals = _mapping(quals, path, f"supp_qualifiers: {parent}")
        for qnam, item in quals.items():
            _unknown(_mapping(item, path, f"supp_qualifiers: {parent}: {qnam}"), _SUPP_KEYS, path,
                     f"supp_qualifiers: {parent}: {qnam}")
        supp[str(parent).upper()] = {str(q).upper(): dict(v or {}) for q, v in quals.items()}
    return StudyExtensions(path, str(data.get("standard", "sdtmig-3.4")), release, file,
                           codelists, domains, supp)


# --------------------------------------------------------------------------------------
# controlled terminology
# --------------------------------------------------------------------------------------
def _terms(raw: Any, path: Path, where: str) -> pd.DataFrame:
    if not isinstance(raw, list) or not raw:
        raise _fail(f"{where} must be a non-empty list of terms", path)
    rows = []
    for item in raw:
        if isinstance(item, dict):
            _unknown(item, {"value", "decode", "code"}, path, f"a term of {where}")
            if item.get("value") in (None, ""):
                raise _fail(f"a term of {where} has no `value:`", path)
            rows.append((str(item.get("code") or ""), str(item["value"]),
                         str(item.get("decode") or "")))
        else:
            rows.append(("", str(item), ""))
    values = [r[1] for r in rows]
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        raise _fail(f"{where} repeats term(s) {dup}", path)
    return pd.DataFrame({"term_code": [r[0] for r in rows], "submission_value": values,
                         "synonyms": "", "preferred_term": [r[2] for r in rows]})


def extend_ct(ct, ext: StudyExtensions):
    """``ct`` with the study's sponsor terms and sponsor codelists (source ``sponsor``)."""
    from cdisc_convert.standards.metadata import MetadataKeyError, Terminology

    if not ext.codelists:
        return ct
    added = []
    for name, item in ext.codelists.items():
        where = f"codelists: {name}"
        if "extend" in item:
            try:
                base = ct.codelist(name)
            except MetadataKeyError as err:
                raise _fail(f"{where}: codelist {name} is not in the loaded CT release "
                            f"({ct.describe()}); to add a codelist of your own give it `terms:`",
                            ext.path) from err
            if not base.extensible:
                raise _fail(f"{where}: codelist {base.short_name} ({base.code}) is not extensible, "
                            "so it takes no sponsor terms; use its CDISC terms or declare a "
                            "sponsor codelist with `terms:` under another name", ext.path)
            terms = _terms(item["extend"], ext.path, where)
            known = set(base.submission_values)
            terms = terms[~terms["submission_value"].isin(known)]
            added.append(terms.assign(codelist_code=base.code,
                                      codelist_short_name=base.short_name,
                                      codelist_name=base.name, extensible="Yes",
                                      source=base.source, sponsor="Yes")
                         .reindex(columns=[*ct.terms.columns, "sponsor"]))
        else:
            if name in ct:
                cl = ct.codelist(name)
                raise _fail(f"{where}: {name} is already a codelist of {ct.describe(cl.source)} "
                            f"({cl.code}, {cl.name}); to add terms to it use `extend:`, or "
                            "give your codelist another name", ext.path)
            terms = _terms(item["terms"], ext.path, where)
            added.append(terms.assign(codelist_code="", codelist_short_name=name,
                                      codelist_name=str(item.get("name") or name),
                                      extensible="Yes" if item.get("extensible") else "No",
                                      source="sponsor", sponsor="Yes")
                         .reindex(columns=[*ct.terms.columns, "sponsor"]))
    terms = pd.concat([ct.terms.assign(sponsor=""), *added], ignore_index=True)
    return Terminology(terms, {**ct.releases, "sponsor": ext.path.parent.name},
                       {**ct.files, "sponsor": str(ext.path)})


# --------------------------------------------------------------------------------------
# custom domains and supplemental qualifiers
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def _model_labels() -> dict[str, dict[str, str]]:
    """``specs/sdtmig-3.4/model_labels.yaml``: class -> {--VAR: generic label}."""
    from cdisc_convert.core.yamlio import load_yaml
    from cdisc_convert.core.resources import specs_dir

    path = specs_dir() / "sdtmig-3.4" / "model_labels.yaml"
    return load_yaml(path).data if path.is_file() else {}


@lru_cache(maxsize=8)
def _class_variables_cached(standard) -> pd.DataFrame:
    model = _model_labels()
    v = standard.variables.merge(standard.datasets[["dataset", "class"]], on="dataset")
    v = v[v["class"].isin(GENERAL_CLASSES)].copy()
    prefixed = [len(d) == 2 and n.startswith(d) for n, d in zip(v["variable"], v["dataset"])]
    v["generic"] = ["--" + n[2:] if p else n for n, p in zip(v["variable"], prefixed)]
    rows = []
    for (cls, generic), g in v.groupby(["class", "generic"], sort=False):
        labels = g["label"].value_counts()
        label = (model.get(cls) or {}).get(generic) or (model.get("_all") or {}).get(generic) or (
            labels.index[0] if labels.iloc[0] >= 2 or len(g) == 1 else "")
        lists = set(g["codelist"])
        codelist = lists.pop() if len(lists) == 1 else ("UNIT" if "UNIT" in lists else "")
        codes = set(g["codelist_code"])
        # the --RESU codelists (VSRESU, EGRESU ...) are subsets of UNIT (C71620)
        code = codes.pop() if len(codes) == 1 else ("C71620" if codelist == "UNIT" else "")
        rows.append({"class": cls, "generic": generic, "label": label,
                     "labels": "; ".join(f"{d}: {lab!r}" for d, lab in
                                         zip(g["dataset"][:3], g["label"][:3])),
                     "type": g["type"].mode().iloc[0], "role": g["role"].mode().iloc[0],
                     "core": g["core"].mode().iloc[0], "codelist": codelist,
                     "codelist_code": code if codelist and codelist != "UNIT" or len(codes) == 1
                     else ("C71620" if codelist == "UNIT" else ""),
                     "value_domain": g["value_domain"].mode().iloc[0]})
    return pd.DataFrame(rows)


def class_variables(standard, cls: str) -> pd.DataFrame:
    """The variables of a general observation class, as the SDTMIG 3.4 domains of that class
    use them (``--`` for the domain prefix): label (the one at least two domains share,
    else empty), type, role, core and codelist (when all domains agree; UNIT for units)."""
    table = _class_variables_cached(standard)
    return table[table["class"] == cls].reset_index(drop=True)


def _custom_domain(standard, ct, ext: StudyExtensions, name: str, item: dict):
    where = f"custom_domains: {name}"
    path = ext.path
    if len(name) != 2 or not name.isalnum() or not name[0].isalpha():
        raise _fail(f"{where}: a custom domain code is two characters, a letter then a letter "
                    "or digit (SDTMIG 3.4 section 2.6)", path)
    if name in standard.dataset_names:
        raise _fail(f"{where}: {name} is a dataset of {standard.name}; map it with a domain "
                    "file instead of declaring it", path)
    try:
        reserved = dict(zip(ct.codelist("DOMAIN").terms["submission_value"],
                            ct.codelist("DOMAIN").terms["preferred_term"]))
    except KeyError:
        reserved = {}
    if name in reserved:
        raise _fail(f"{where}: {name} is a CDISC domain code ({reserved[name]}, codelist DOMAIN); "
                    "choose another code (sponsors usually start with X, Y or Z)", path)
    cls = item.get("class")
    if cls not in GENERAL_CLASSES:
        raise _fail(f"{where}: `class:` must be one of {', '.join(GENERAL_CLASSES)} (a custom "
                    f"domain belongs to a general observation class), not {cls!r}", path)
    for key in ("label", "structure", "variables"):
        if not item.get(key):
            raise _fail(f"{where}: `{key}:` is missing", path)
    table = class_variables(standard, cls).set_index("generic")
    declared = item["variables"]
    if not isinstance(declared, list):
        raise _fail(f"{where}: `variables:` is a list of names (or {{NAME: {{label: ...}}}})", path)
    rows = []
    for order, entry in enumerate(declared, start=1):
        if isinstance(entry, dict) and len(entry) == 1:
            var, attrs = next(iter(entry.items()))
            attrs = _mapping(attrs, path, f"{where}: {var}")
        elif isinstance(entry, str):
            var, attrs = entry, {}
        else:
            raise _fail(f"{where}: variables: {entry!r} is not a name or {{NAME: {{...}}}}", path)
        var = str(var).upper()
        _unknown(attrs, _VARIABLE_KEYS, path, f"{where}: {var}")
        generic = "--" + var[2:] if var.startswith(name) else var
        if generic not in table.index:
            raise _fail(f"{where}: {var} is not a variable of the {cls} class (as the SDTMIG "
                        f"3.4 {cls} domains use it); a non-standard variable goes to SUPP{name}: "
                        f"declare it under `supp_qualifiers: {name}:`", path)
        base = table.loc[generic]
        label = attrs.get("label") or base["label"]
        if not label:
            raise _fail(f"{where}: {var} needs a label: the {cls} domains label {generic} "
                        f"differently ({base['labels']} ...); give `{{{var}: {{label: ...}}}}`",
                        path)
        if len(str(label)) > 40:
            raise _fail(f"{where}: the label of {var} is longer than 40 characters", path)
        codelist = attrs.get("codelist", base["codelist"]) or ""
        code = base["codelist_code"] if codelist == base["codelist"] else ""
        if codelist and codelist != base["codelist"]:
            try:
                code = ct.codelist(codelist).code
            except KeyError as err:
                raise _fail(f"{where}: {var}: codelist {codelist} is not in the loaded CT "
                            f"release ({ct.describe()}); declare a sponsor codelist under "
                            "`codelists:`", path) from err
        value_list = name if var == "DOMAIN" else ""
        rows.append({"dataset": name, "order": order, "variable": var, "label": str(label),
                     "type": attrs.get("type", base["type"]), "role": attrs.get("role", base["role"]),
                     "core": attrs.get("core", base["core"]), "codelist_code": code,
                     "codelist": str(codelist), "value_domain": base["value_domain"],
                     "value_list": value_list})
    names = [r["variable"] for r in rows]
    required = [("--" + g[2:]).replace("--", name) if g.startswith("--") else g
                for g in table.index[table["core"] == "Req"]]
    missing = [v for v in required if v not in names]
    if missing:
        raise _fail(f"{where}: the {cls} class requires {', '.join(missing)}; add them to "
                    "`variables:`", path)
    keys = [str(k).upper() for k in item.get("keys") or ["STUDYID", "USUBJID", f"{name}SEQ"]]
    unknown = [k for k in keys if k not in names]
    if unknown:
        raise _fail(f"{where}: keys {unknown} are not among its variables", path)
    dataset = {"dataset": name, "class": cls, "label": str(item["label"]),
               "structure": str(item["structure"]), "keys": ";".join(keys), "custom": "Yes"}
    return dataset, rows


def extend_standard(standard, ext: StudyExtensions, ct=None):
    """``standard`` with the study's custom domains (a new Standard; the cached one is kept)."""
    from cdisc_convert.standards.metadata import Standard, load_ct

    if standard.is_adam or not (ext.custom_domains or ext.supp_qualifiers):
        return standard
    ct = ct or load_ct()
    datasets, variables = [standard.datasets], [standard.variables]
    for name, item in ext.custom_domains.items():
        ds, rows = _custom_domain(standard, ct, ext, name, item)
        datasets.append(pd.DataFrame([ds]))
        variables.append(pd.DataFrame(rows))
    out = Standard(standard.name, pd.concat(datasets, ignore_index=True).fillna(""),
                   pd.concat(variables, ignore_index=True))
    known = set(out.dataset_names)
    for parent, quals in ext.supp_qualifiers.items():
        if parent not in known:
            raise _fail(f"supp_qualifiers: {parent} is not a dataset of {standard.name} or a "
                        "custom domain of the study (declare it under `custom_domains:`)", ext.path)
        for qnam, item in quals.items():
            if len(qnam) > 8 or not qnam.replace("_", "").isalnum() or not qnam[0].isalpha():
                raise _fail(f"supp_qualifiers: {parent}: QNAM {qnam} must be a SAS name of up to "
                            "8 characters (SDTMIG 3.4 section 8.4)", ext.path)
            if not item.get("label") or len(str(item["label"])) > 40:
                raise _fail(f"supp_qualifiers: {parent}: {qnam} needs a `label:` (QLABEL) of up "
                            "to 40 characters", ext.path)
            if item.get("codelist"):
                try:
                    ct.codelist(item["codelist"])
                except KeyError as err:
                    raise _fail(f"supp_qualifiers: {parent}: {qnam}: codelist {item['codelist']} "
                                f"is not in the loaded CT release ({ct.describe()}); declare a "
                                "sponsor codelist under `codelists:`", ext.path) from err
    out.supp_qualifiers = {p: dict(q) for p, q in ext.supp_qualifiers.items()}
    return out


@dataclass(frozen=True, eq=False)
class StudyStandards:
    """The standard and the terminology one study works with."""

    extensions: StudyExtensions
    standard: Any
    ct: Any


def study_standards(study_yaml: Path | str) -> StudyStandards:
    """Load the study's standard and CT with its declared extensions (cached per file state)."""
    path = Path(study_yaml)
    if path.is_dir():
        path = path / "study.yaml"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as err:
        raise _fail(f"cannot read study.yaml: {err}", path) from err
    return _study_standards(str(path.resolve()), stamp)


@lru_cache(maxsize=16)
def _study_standards(path: str, stamp: int) -> StudyStandards:
    from cdisc_convert.standards.metadata import load_bundled_standard, load_ct

    ext = read_extensions(path)
    ct = load_ct(sdtm_file=ext.ct_file, sdtm_release=ext.ct_release) \
        if (ext.ct_file or ext.ct_release) else load_ct()
    ct = extend_ct(ct, ext)
    standard = extend_standard(load_bundled_standard(ext.standard), ext, ct)
    return StudyStandards(ext, standard, ct)


@contextlib.contextmanager
def using_study(study_yaml: Path | str | None) -> Iterator[StudyStandards | None]:
    """While the block runs, ``load_standard()`` and ``load_ct()`` (called without
    arguments) return the study's extended standard and terminology. ``None``: no change."""
    from cdisc_convert.standards.metadata import ACTIVE_STUDY

    path = None if study_yaml is None else Path(study_yaml)
    if path is not None and path.is_dir():
        path = path / "study.yaml"
    if path is None or not path.is_file():   # no study.yaml: the study loader says so
        yield None
        return
    loaded = study_standards(path)
    token = ACTIVE_STUDY.set(loaded)
    try:
        yield loaded
    finally:
        ACTIVE_STUDY.reset(token)


__all__ = ["EXTENSION_KEYS", "GENERAL_CLASSES", "StudyExtensions", "StudyStandards",
           "class_variables", "extend_ct", "extend_standard", "read_extensions",
           "study_standards", "using_study"]
