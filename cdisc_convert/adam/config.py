"""ADaM derivation settings, read from a study's ``adam.yaml``.

Every study-specific fact used by :mod:`cdisc_convert.adam` lives here, never in the Python
derivations. A missing file or key means the documented default below; an unknown key is a
:class:`~cdisc_convert.errors.SpecError` naming the file and the key (so a typo such as
``sd_min_day`` cannot silently fall back to a default).

Keys and defaults (all optional)::

    start_date: TRTSDT            # ADSL date that starts the clock (ANL01FL, SD window, ADTTE):
                                  # TRTSDT or RANDDT (any ADSL date column is accepted)
    start_date_label: null        # EVNTDESC/CNSDTDSC of the censoring at start; default
                                  # "Randomization" for RANDDT, "Treatment Start" otherwise
    response:
      testcd: OVRLRESP            # RS test holding the overall response
      evaluator: INVESTIGATOR     # RSEVAL kept (case-insensitive); PARAM says "by Investigator"
      rs_without_rscat: RECIST 1.1  # criterion of RS records without RSCAT
      source: auto                # auto | rs | tr  (auto: RS when it has overall responses,
                                  # otherwise responses computed from TU/TR)
      criteria:                   # RSCAT value -> criterion; PARAMCD = base + paramcd_suffix
        - {name: RECIST 1.1, rscat: RECIST 1.1, paramcd_suffix: ""}
      # (default RECIST 1.1 only; a study adds e.g.
      #  {name: CHOI, rscat: CHOI GIST 2008, paramcd_suffix: CHOI} or MODIFIED CHOI)
      # per criterion optional: parameters: [OVR, BOR, ...]  (default: all), param_suffix,
      # rules: {...}  thresholds and conventions used when computing the criterion from
      #        TU/TR (ResponseRules fields, see docs/adam-config.md), e.g.
      #        rules: {baseline_window_days: 35, pd_date: earliest}
    sd_min_days: 42               # SD / NON-CR/NON-PD / clinical benefit: ADT >= start + 42
    confirmation_min_days: 28     # confirming CR/PR at least 28 days later (ADT2 >= ADT1 + 28)
    max_ne_between: 1             # NE assessments allowed up to the confirming one
    accept_sd_for_unconfirmed: true  # an unconfirmed CR/PR >= sd_min_days counts as SD in CBOR
    accept_sd_between: false      # admiralonco accept_sd: one SD allowed between PR and its
                                  # confirmation
    dcr: null                     # opt-in disease control at a landmark (our parameter DCR),
                                  # e.g. {landmark_days: 126, window_days: 7,
                                  # criterion: RECIST 1.1}: Y when the first assessment with
                                  # ADT - start >= landmark - window is CR/PR/SD/NON-CR/NON-PD
                                  # and neither PD nor death came before it
    irecist: null                 # opt-in iRECIST from TU/TR (PARAMCDs IOVR, IBOR, ICBOR), e.g.
                                  # {criterion: RECIST 1.1, confirm_min_days: 28}: the RECIST
                                  # criterion whose TU/TR rules it follows, and iUPD confirmed
                                  # at an assessment at least this many days later
    use_after_pd: false           # derived parameters also use assessments after first PD
    censor_at_new_therapy: false  # drop assessments / events on or after new anticancer therapy
    new_therapy_date: NACTDT      # ADSL date column used when censor_at_new_therapy is true
    tte_criterion: null           # criterion for PFS / RSD; default the first criterion
    dor_from: confirmed           # RSD starts at the first confirmed (CRSP) or unconfirmed
                                  # (RSP) response
    pfs:                          # PFS censoring, FDA 2018 guidance (see PfsConfig)
      censor_at: last_adequate    # or last_assessment (NE assessments count, admiralonco)
      assessment_interval_days: null  # schedule; with it events after missed_assessments
      missed_assessments: 2       # missed scans (x interval + window_days) are censored
      window_days: 0
      max_gap_days: null          # the limit in days directly
      late_death_days: null       # death w/o PD this long after the last adequate: censored
      new_therapy_date: null      # ADSL date of new anticancer therapy (declare it under
                                  # sponsor_variables, e.g. min_date of CMSTDTC in CM)
      primary: {paramcd: PFS, param: Progression Free Survival, missed_assessments: true,
                new_therapy: true, late_death: true}
      sensitivity: []             # e.g. [{paramcd: PFSALL, param: ..., missed_assessments:
                                  #        false, new_therapy: false, late_death: false}]
    agegr1: {cuts: [18, 65], labels: ["<18", "18-64", ">64"]}   # [lower, upper) bins
    itt_exclude_armcd: [SCRNFAIL, NOTASSGN]   # ARMCD values (case-insensitive) outside ITT
    placebo_pattern: PLACEBO      # EXTRT text marking placebo (EXDOSE 0 is then a valid dose)
    disposition:
      dscat: DISPOSITION EVENT
      completed: [COMPLETED]
      screen_failure: [SCREEN FAILURE]
      randomized: RANDOMIZED      # DSDECOD giving RANDDT
    lstalvdt_sources:             # admiral's example sources; latest complete date wins
      - {domain: AE, date: AESTDTC, highest_imputation: M}
      - {domain: AE, date: AEENDTC, highest_imputation: M}
      - {domain: LB, date: LBDTC, highest_imputation: M}
      - {domain: ADSL, date: TRTEDT}
    dthcaus_sources:              # first source (in this order) with a record wins
      - {domain: AE, where: "AEOUT == 'FATAL'", value: AEDECOD}
      - {domain: DS, where: "DSDECOD == 'DEATH'", value: DSTERM}
    date_imputation:              # per derived variable
      ADT: {highest_imputation: D, date_imputation: last}       # RSDTC -> ADT
      DTHDT: {highest_imputation: M, date_imputation: first}
      RANDDT: {highest_imputation: n}
      EOSDT: {highest_imputation: n}
      TRTSDTM: {highest_imputation: h, time_imputation: first}
      TRTEDTM: {highest_imputation: h, time_imputation: last}
    sponsor_variables: {}         # see SponsorVariable
    adae: null                    # ADAE rules (cdisc_convert/adam/adae.py, AdaeConfig)
    adex: null                    # ADEX: treatments with their protocol doses
                                  # (cdisc_convert/adam/adex.py, AdexConfig)
    bds: []                       # BDS findings datasets (ADLB, ADVS) with baseline rule,
                                  # windows, CTCAE grading (cdisc_convert/adam/bds.py)

``where`` expressions use the expression language of the mapping spec
(:mod:`cdisc_convert.core.expr`, ``docs/mapping-spec.md`` "Expressions") on the named SDTM
domain: column names as in SDTM, strings in quotes, ``and``/``or``/``not``,
``contains(EXTRT, 'DACARBAZINE')``. Keys and shapes are checked by
``specs/schemas/adam.schema.json`` (``docs/adam-config.md``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.expr import where_mask
from cdisc_convert.core.specschema import SpecProblems, check_document, compile_expressions
from cdisc_convert.core.yamlio import YamlDocument, load_yaml

__all__ = [
    "AdamConfig",
    "ResponseCriterion",
    "ResponseConfig",
    "DcrConfig",
    "IrecistConfig",
    "AgeGroups",
    "PfsConfig",
    "PfsRule",
    "DispositionConfig",
    "DateSource",
    "ValueSource",
    "ImputationRule",
    "SponsorVariable",
    "load_adam_config",
    "config_from_dict",
    "apply_where",
    "SPONSOR_TYPES",
]

SPONSOR_TYPES = ("first", "last", "exists", "dose_reduced", "supp", "min_date", "max_date", "count")


@dataclass
class ResponseCriterion:
    """One response criterion: RS records with ``RSCAT == rscat`` get CRIT ``name``."""

    name: str
    rscat: str | None = None
    paramcd_suffix: str = ""
    param_suffix: str | None = None  # appended to PARAM; default " (<name>)" when a suffix is set
    parameters: list[str] | None = None  # subset of parameters to derive; None = all
    rules: dict | None = None  # ResponseRules fields for computing this criterion from TU/TR

    def __post_init__(self):
        if self.rscat is None:
            self.rscat = self.name
        self.paramcd_suffix = self.paramcd_suffix or ""

    def response_rules(self, **overrides):
        """The :class:`~cdisc_convert.adam.tumor_response.ResponseRules` of this criterion:
        the defaults, then ``rules`` from adam.yaml, then ``overrides`` (e.g. the evaluator
        filter) - see :func:`response_rules_from_dict`."""
        return response_rules_from_dict(self.rules or {}, where=f"criterion {self.name}",
                                        **overrides)


_RULE_CHOICES = {
    "baseline_pick": ("first", "last"),
    "choi_missing_density": ("NE", "SIZE_ONLY"),
    "choi_pd_reference": ("nadir", "baseline"),
    "pd_date": ("latest", "earliest"),
    "new_lesion_date": ("first_seen", "confirmed"),
    "reappearance_after_cr": ("pd", "sum"),
    "date_imputation": ("last", "first", None),
}


def response_rules_from_dict(data: dict, *, where: str = "rules", file: str | None = None,
                             **overrides):
    """``ResponseRules`` from an adam.yaml ``rules`` mapping: unknown keys, wrong types and
    values outside a field's choices are a :class:`SpecError` naming the key; lists become
    tuples (state values are compared upper-cased)."""
    from .tumor_response import ResponseRules

    fields = {f.name: f for f in dataclasses.fields(ResponseRules)}
    defaults = ResponseRules()
    kwargs: dict[str, Any] = {}
    for key, value in (data or {}).items():
        if key not in fields:
            raise SpecError(f"{where}: unknown response rule {key}", file=file,
                            variable=f"rules.{key}", rule="adam-config",
                            details=[f"allowed: {sorted(fields)}"])
        default = getattr(defaults, key)
        if key in _RULE_CHOICES:
            if value not in _RULE_CHOICES[key]:
                raise SpecError(f"{where}: rules.{key} must be one of {list(_RULE_CHOICES[key])}, "
                                f"got {value!r}", file=file, variable=f"rules.{key}",
                                rule="adam-config")
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SpecError(f"{where}: rules.{key} must be a list of strings", file=file,
                                variable=f"rules.{key}", rule="adam-config")
            value = tuple(v.strip().upper() if key.endswith("states") or key.endswith("testcds")
                          else v for v in value)
        elif isinstance(default, (int, float)) and not isinstance(default, bool) or \
                key == "too_small_mm" or key == "baseline_window_days":
            ok_none = key in ("too_small_mm", "baseline_window_days")
            if (value is None and not ok_none) or (value is not None and (
                    isinstance(value, bool) or not isinstance(value, (int, float)))):
                raise SpecError(f"{where}: rules.{key} must be a number, got {value!r}",
                                file=file, variable=f"rules.{key}", rule="adam-config")
        elif isinstance(default, str) and not isinstance(value, str):
            raise SpecError(f"{where}: rules.{key} must be text, got {value!r}", file=file,
                            variable=f"rules.{key}", rule="adam-config")
        if key == "evaluator_filter" and value is not None and not isinstance(value, dict):
            raise SpecError(f"{where}: rules.evaluator_filter must be a mapping", file=file,
                            variable="rules.evaluator_filter", rule="adam-config")
        kwargs[key] = value
    kwargs.update(overrides)
    return ResponseRules(**kwargs)


@dataclass
class ResponseConfig:
    # RECIST 1.1 only: Choi (or modified Choi) is a study's choice, declared in its adam.yaml
    criteria: list[ResponseCriterion] = field(default_factory=lambda: [
        ResponseCriterion("RECIST 1.1", "RECIST 1.1", ""),
    ])
    rs_without_rscat: str = "RECIST 1.1"
    evaluator: str = "INVESTIGATOR"
    source: str = "auto"
    testcd: str = "OVRLRESP"


@dataclass
class DcrConfig:
    """Disease control at a landmark: the first assessment with
    ADT − start ≥ landmark − window decides (CR/PR/SD/NON-CR/NON-PD → Y; anything else, or
    none, → N; PD or death before it → N). A missed landmark scan is replaced by the next."""

    landmark_days: int = 126
    window_days: int = 7
    criterion: str = "RECIST 1.1"


@dataclass
class IrecistConfig:
    """iRECIST (Seymour et al., Lancet Oncol 2017) computed from TU/TR, chained into ADRS as
    IOVR, IBOR and ICBOR (:mod:`cdisc_convert.adam.irecist`). ``criterion``: the RECIST 1.1
    criterion of ``response.criteria`` whose TU/TR ``rules`` it uses; ``confirm_min_days``:
    an iUPD is confirmed or reset at the first assessment at least this many days later
    (iRECIST: the next assessment, 4-8 weeks)."""

    criterion: str = "RECIST 1.1"
    confirm_min_days: int = 28


@dataclass
class PfsRule:
    """How one PFS parameter treats missed assessments and new anticancer therapy (the FDA
    2018 guidance's table of PFS censoring rules; see :func:`adtte.derive_param_pfs`)."""

    paramcd: str = "PFS"
    param: str = "Progression Free Survival"
    missed_assessments: bool = True   # censor events after >= N missed assessments
    new_therapy: bool = True          # censor at the last adequate assessment before it
    late_death: bool = True           # censor deaths long after the last adequate assessment


@dataclass
class PfsConfig:
    """PFS censoring (FDA 2018 guidance, "Clinical Trial Endpoints for the Approval of Cancer
    Drugs and Biologics", table of PFS date/outcome rules).

    ``censor_at``: ``last_adequate`` (the last assessment with a response other than NE,
    FDA) or ``last_assessment`` (any, admiralonco's LSTA). ``assessment_interval_days``: the
    protocol's schedule (e.g. 42); with it a progression or death more than
    ``missed_assessments`` x interval + ``window_days`` after the last adequate assessment
    is censored there (``max_gap_days`` sets that limit directly). ``late_death_days``: a
    death without progression more than this after the last adequate assessment is
    censored there (default: the same gap limit). ``new_therapy_date``: an ADSL date column
    (e.g. one declared under sponsor_variables as ``min_date`` of CM/PR/EX); before PD or
    death it censors PFS at the last adequate assessment before it. ``sensitivity``: extra
    PARAMCDs with their own rule (e.g. counting all events)."""

    censor_at: str = "last_adequate"
    assessment_interval_days: int | None = None
    missed_assessments: int = 2
    window_days: int = 0
    max_gap_days: int | None = None
    late_death_days: int | None = None
    new_therapy_date: str | None = None
    primary: PfsRule = field(default_factory=PfsRule)
    sensitivity: list[PfsRule] = field(default_factory=list)

    @property
    def gap_days(self) -> int | None:
        if self.max_gap_days is not None:
            return self.max_gap_days
        if self.assessment_interval_days is None:
            return None
        return self.missed_assessments * self.assessment_interval_days + self.window_days


@dataclass
class AgeGroups:
    """AGEGR1 bins: ``labels[i]`` covers ``cuts[i-1] <= AGE < cuts[i]``."""

    cuts: list[float] = field(default_factory=lambda: [18, 65])
    labels: list[str] = field(default_factory=lambda: ["<18", "18-64", ">64"])


@dataclass
class DispositionConfig:
    dscat: str = "DISPOSITION EVENT"
    completed: list[str] = field(default_factory=lambda: ["COMPLETED"])
    screen_failure: list[str] = field(default_factory=lambda: ["SCREEN FAILURE"])
    randomized: str = "RANDOMIZED"


@dataclass
class DateSource:
    """A candidate date for LSTALVDT: ``date`` of ``domain`` (``ADSL`` = an ADSL column)."""

    domain: str
    date: str
    where: str | None = None
    highest_imputation: str = "n"
    date_imputation: str = "first"


@dataclass
class ValueSource:
    """A value taken from the first matching record of ``domain``."""

    domain: str
    value: str
    where: str | None = None
    order: str | None = None


@dataclass
class ImputationRule:
    highest_imputation: str = "n"
    date_imputation: str = "first"
    time_imputation: str = "first"


@dataclass
class SponsorVariable:
    """An ADSL variable declared in config.

    Types (one record per subject; subjects without a matching record get ``missing``, which
    is ``N`` for flags):

    * ``first`` / ``last``: ``value`` of the first/last record of ``domain`` matching
      ``where``, ordered by ``order`` (a column, default the domain's --SEQ).
    * ``exists``: ``Y`` if the subject has a matching record, else ``N``.
    * ``dose_reduced``: ``Y`` if any matching record has a dose (``value``, default EXDOSE)
      lower than the subject's first one (ordered by ``order``, default EXSTDTC), else ``N``
      (missing when the subject has no matching record).
    * ``supp``: ``QVAL`` of ``qnam`` in ``SUPP<domain>`` (default SUPPDM).
    * ``min_date`` / ``max_date``: earliest / latest date of the ``value`` --DTC column
      (imputed with ``highest_imputation`` / ``date_imputation``), as datetime64.
    * ``count``: number of matching records (0 when none).
    """

    name: str
    type: str
    domain: str | None = None
    where: str | None = None
    value: str | None = None
    order: str | None = None
    label: str | None = None
    qnam: str | None = None
    highest_imputation: str = "n"
    date_imputation: str = "first"


@dataclass
class PopulationFlag:
    """An ADSL population flag declared in config (ADaMIG 1.3 section 3.1.4: SAFFL, ITTFL,
    EFFFL, PPROTFL, FASFL ... = ``Y``/``N``): ``Y`` where the expression ``where`` holds on
    the subject's ADSL record, else ``N``. A declared SAFFL or ITTFL replaces the built-in
    rule."""

    name: str
    where: str
    label: str | None = None


@dataclass
class AdamConfig:
    start_date: str = "TRTSDT"
    start_date_label: str | None = None
    response: ResponseConfig = field(default_factory=ResponseConfig)
    sd_min_days: int = 42
    confirmation_min_days: int = 28
    max_ne_between: int = 1
    accept_sd_for_unconfirmed: bool = True
    accept_sd_between: bool = False
    dcr: DcrConfig | None = None  # opt-in: a landmark is a study's endpoint, not a default
    irecist: IrecistConfig | None = None  # opt-in: iRECIST parameters IOVR, IBOR, ICBOR
    use_after_pd: bool = False
    censor_at_new_therapy: bool = False
    new_therapy_date: str = "NACTDT"
    tte_criterion: str | None = None
    dor_from: str = "confirmed"  # duration of response starts at the first confirmed response
    pfs: PfsConfig = field(default_factory=PfsConfig)
    agegr1: AgeGroups = field(default_factory=AgeGroups)
    itt_exclude_armcd: list[str] = field(default_factory=lambda: ["SCRNFAIL", "NOTASSGN"])
    placebo_pattern: str = "PLACEBO"
    disposition: DispositionConfig = field(default_factory=DispositionConfig)
    lstalvdt_sources: list[DateSource] = field(default_factory=lambda: [
        DateSource("AE", "AESTDTC", highest_imputation="M"),
        DateSource("AE", "AEENDTC", highest_imputation="M"),
        DateSource("LB", "LBDTC", highest_imputation="M"),
        DateSource("ADSL", "TRTEDT"),
    ])
    dthcaus_sources: list[ValueSource] = field(default_factory=lambda: [
        ValueSource("AE", "AEDECOD", where="AEOUT == 'FATAL'"),
        ValueSource("DS", "DSTERM", where="DSDECOD == 'DEATH'"),
    ])
    date_imputation: dict[str, ImputationRule] = field(default_factory=lambda: {
        "ADT": ImputationRule("D", "last"),
        "DTHDT": ImputationRule("M", "first"),
        "RANDDT": ImputationRule("n"),
        "EOSDT": ImputationRule("n"),
        "TRTSDTM": ImputationRule("h", "first", "first"),
        "TRTEDTM": ImputationRule("h", "first", "last"),
    })
    sponsor_variables: dict[str, SponsorVariable] = field(default_factory=dict)
    population_flags: dict[str, PopulationFlag] = field(default_factory=dict)
    adae: Any = None              # AdaeConfig when adam.yaml has an ``adae:`` section
    adex: Any = None              # AdexConfig when adam.yaml has an ``adex:`` section
    bds: tuple = ()               # BdsConfig per ``bds:`` entry (ADLB, ADVS ...; adam/bds.py)
    source_file: str | None = None

    # -- helpers used by the derivations -------------------------------------------------
    def imputation(self, variable: str) -> ImputationRule:
        """The imputation rule for a derived date variable (``ImputationRule()`` if unset)."""
        return self.date_imputation.get(variable, ImputationRule())

    def criterion(self, name: str) -> ResponseCriterion:
        for crit in self.response.criteria:
            if crit.name == name:
                return crit
        raise SpecError(f"unknown response criterion {name!r}", file=self.source_file,
                        variable="criterion",
                        details=[f"known: {[c.name for c in self.response.criteria]}"])

    @property
    def tte_criterion_name(self) -> str:
        if self.tte_criterion:
            return self.tte_criterion
        return self.response.criteria[0].name if self.response.criteria else "RECIST 1.1"

    @property
    def start_label(self) -> str:
        if self.start_date_label:
            return self.start_date_label
        return "Randomization" if self.start_date.upper() == "RANDDT" else "Treatment Start"


# -- loading ---------------------------------------------------------------------------------
# Keys and shapes are checked by specs/schemas/adam.schema.json before anything is built; what
# remains here are the checks across keys (a criterion named elsewhere must exist, ...).

_NESTED = {
    "dcr": DcrConfig,
    "irecist": IrecistConfig,
    "agegr1": AgeGroups,
    "disposition": DispositionConfig,
}


def _config_from_doc(doc: YamlDocument) -> AdamConfig:
    problems = SpecProblems(f"{doc.file}")
    problems.extend(check_document(doc, "adam"))
    compile_expressions(doc, problems)      # reported even when the shape is wrong
    problems.raise_if_any(doc.file)
    data, file = doc.data, str(doc.file)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "response":
            value = dict(value or {})
            crits = value.pop("criteria", None)
            resp = ResponseConfig(**value)
            if crits is not None:
                resp.criteria = [ResponseCriterion(**c) for c in crits]
            kwargs[key] = resp
        elif key in ("dcr", "irecist") and value is None:
            kwargs[key] = None
        elif key in _NESTED:
            kwargs[key] = _NESTED[key](**(value or {}))
        elif key == "pfs":  # shape and types checked by the schema
            value = dict(value or {})
            primary = value.pop("primary", None)
            sens = value.pop("sensitivity", None)
            cfg = PfsConfig(**value)
            if primary is not None:
                cfg.primary = PfsRule(**primary)
            if sens is not None:
                cfg.sensitivity = [PfsRule(**r) for r in sens]
            codes = [cfg.primary.paramcd] + [r.paramcd for r in cfg.sensitivity]
            if len(set(codes)) != len(codes):
                problems.add("pfs PARAMCDs (primary and sensitivity) must be unique", file=file,
                             line=doc.line(("pfs", "sensitivity")), variable="pfs.sensitivity",
                             rule="adam-config")
            kwargs[key] = cfg
        elif key == "lstalvdt_sources":
            kwargs[key] = [DateSource(**item) for item in value]
        elif key == "dthcaus_sources":
            kwargs[key] = [ValueSource(**item) for item in value]
        elif key == "date_imputation":
            rules = dict(AdamConfig().date_imputation)
            rules.update({var: ImputationRule(**(rule or {})) for var, rule in value.items()})
            kwargs[key] = rules
        elif key == "adae":
            from .adae import adae_config_from_dict
            kwargs[key] = adae_config_from_dict(value, file or "adam.yaml")
        elif key == "adex":
            from .adex import adex_config_from_dict
            kwargs[key] = adex_config_from_dict(value, file or "adam.yaml")
        elif key == "bds":
            from .bds import bds_configs_from_list
            kwargs[key] = bds_configs_from_list(value, file or "adam.yaml")
        elif key == "population_flags":
            kwargs[key] = {name: PopulationFlag(name=name, **spec)
                           for name, spec in (value or {}).items()}
        elif key == "sponsor_variables":
            specs = {}
            for name, spec in (value or {}).items():
                var = SponsorVariable(name=name, **spec)
                if var.type == "supp" and not var.qnam:
                    var.qnam = name
                specs[name] = var
            kwargs[key] = specs
        else:
            kwargs[key] = value
    config = AdamConfig(**kwargs)
    names = [c.name for c in config.response.criteria]
    if len(set(names)) != len(names):
        problems.add("response.criteria names must be unique", file=file,
                     line=doc.line(("response", "criteria")), variable="response.criteria",
                     rule="adam-config")
    for n, crit in enumerate(config.response.criteria):
        try:
            response_rules_from_dict(crit.rules or {}, where=f"response.criteria {crit.name}",
                                     file=file)
        except SpecError as exc:
            problems.add(exc.message, file=file,
                         line=doc.line(("response", "criteria", n, "rules")),
                         variable=exc.location.variable, rule="adam-config")
    for key, value in (("dcr.criterion", config.dcr.criterion if config.dcr else None),
                       ("irecist.criterion",
                        config.irecist.criterion if config.irecist else None),
                       ("tte_criterion", config.tte_criterion),
                       ("response.rs_without_rscat", config.response.rs_without_rscat)):
        if value is not None and value not in names:
            problems.add(f"{key} {value!r} is not one of the response criteria {names}",
                         file=file, line=doc.line(tuple(key.split("."))), variable=key,
                         rule="adam-config")
    if len(config.agegr1.labels) != len(config.agegr1.cuts) + 1:
        problems.add("agegr1 needs one label more than cuts", file=file,
                     line=doc.line(("agegr1",)), variable="agegr1", rule="adam-config")
    problems.raise_if_any(file)
    config.source_file = file
    return config


def load_adam_config(path: str | Path | None = None) -> AdamConfig:
    """Read ``adam.yaml`` (or return the defaults when ``path`` is None).

    A directory is accepted and means ``<dir>/adam.yaml``. The file is checked against
    ``specs/schemas/adam.schema.json``; unknown keys, wrong types and invalid values raise
    one :class:`SpecError` naming the file, the line and the key of each problem.
    """
    if path is None:
        return AdamConfig()
    path = Path(path)
    if path.is_dir():
        path = path / "adam.yaml"
    if not path.exists():
        raise SpecError("ADaM config file not found", file=path, rule="adam-config")
    return _config_from_doc(load_yaml(path))


def config_from_dict(data: dict, file: str | None = None) -> AdamConfig:
    """Build a config from an already parsed mapping (same checks as :func:`load_adam_config`)."""
    if not isinstance(data, dict):
        raise SpecError("the ADaM config must be a YAML mapping", file=file, rule="adam-config")
    return _config_from_doc(YamlDocument(Path(file or "adam.yaml"), data, {}))


def apply_where(frame: pd.DataFrame, where: str | None, *, context: str = "where",
                file: str | None = None) -> pd.DataFrame:
    """Rows of ``frame`` matching a config ``where`` expression (all rows when None).

    The expression language is the one of the mapping spec (``docs/mapping-spec.md``,
    "Expressions"), e.g. ``"MHCAT == 'PRIMARY DIAGNOSIS'"`` or
    ``"contains(EXTRT, 'DACARBAZINE')"``. A broken expression, an unknown column or a
    result that is not true/false is a :class:`SpecError` naming the expression.
    """
    if not where:
        return frame
    try:
        return frame[where_mask(where, frame, file=file)]
    except SpecError as exc:
        raise SpecError(f"{context}: {exc.message}", file=exc.location.file or file,
                        variable=exc.location.variable, rule=exc.rule) from None
