"""Origin and method of each ADaM variable and parameter for define.xml
(:class:`AdamMethods`), stated with the configured values.

The texts live next to the ``derive_*`` functions that implement them and are made from the
same config: ADSL in :mod:`.adsl` (``method_texts``, ``sponsor_method_text``), ADAE in
:mod:`.adae`, the PFS sensitivity parameters in :mod:`.adtte`, date imputation in
:mod:`.imputation`. This class picks the origin (predecessor, assigned, derived) and the
text for each variable. The ADRS/ADTTE/ADTR parameter texts are still here; the next step
moves them beside the ADRS/ADTTE/ADTR derivations as was done for ADSL.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from cdisc_convert.core.errors import SpecError
from cdisc_convert.core.text import number_text, quote_list
from cdisc_convert.standards.define_xml import ASSIGNED, DERIVED, VarInfo, predecessor
from cdisc_convert.standards.metadata import load_standard

from .imputation import date_imputation_text


RESPONSE_CODES = {"CR": 1, "PR": 2, "SD": 3, "NON-CR/NON-PD": 4, "PD": 5, "NE": 6, "MISSING": 7}
YN_CODES = {"Y": 1, "N": 0}
YN_PARAMS = {"BCP", "CBCP", "RSP", "CRSP", "CB", "CCB", "DCR", "PD", "DEATH"}


class AdamMethods:
    def __init__(self, config=None, datasets: Mapping[str, pd.DataFrame] | None = None):
        from cdisc_convert.adam.config import AdamConfig
        from cdisc_convert.adam import tumor_response as tumr

        self.cfg = config or AdamConfig()
        self.datasets = dict(datasets or {})
        # the RECIST criterion's rules (ADTR, ADT texts); the defaults when there is none
        recist = [c for c in self.cfg.response.criteria if "CHOI" not in c.name.upper()]
        self.rules = recist[0].response_rules() if recist else tumr.ResponseRules()
        adsl = self.datasets.get("ADSL")
        self.adsl_columns = set(adsl.columns) if adsl is not None else set()
        self.dm_spec = load_standard("sdtmig-3.4").dataset("DM")
        self.params = self._parameters()
        adrs = self.datasets.get("ADRS")
        srcdom = set(adrs["SRCDOM"].dropna().astype(str)) if adrs is not None and \
            "SRCDOM" in adrs else set()
        self.response_source = "TR" if "TR" in srcdom and "RS" not in srcdom else "RS"
        self._adsl_texts: dict[str, str] | None = None

    # -- parameters -------------------------------------------------------------------
    def _parameters(self) -> dict[str, tuple[str, Any]]:
        """ADRS PARAMCD -> (base parameter, criterion)."""
        from cdisc_convert.adam.adrs import parameter_labels

        out: dict[str, tuple[str, Any]] = {"DEATH": ("DEATH", None)}
        for crit in self.cfg.response.criteria:
            try:
                labels = parameter_labels(crit, self.cfg)
            except SpecError:
                continue
            for base, values in labels.items():
                out[values["PARAMCD"]] = (base, crit)
        from cdisc_convert.adam.adrs import irecist_labels

        for values in irecist_labels(self.cfg).values():
            out[values["PARAMCD"]] = (values["PARAMCD"], "iRECIST")
        return out

    def aval_coding(self, paramcd: str) -> tuple[str, dict[str, int]]:
        """("YN" | "RESP" | "IRESP", AVALC -> AVAL) of an ADRS parameter, as derived."""
        base, crit = self.params.get(paramcd, ("", None))
        if crit == "iRECIST":
            from cdisc_convert.adam.irecist import IRECIST_AVAL

            return "IRESP", dict(IRECIST_AVAL)
        if base in YN_PARAMS:
            return "YN", dict(YN_CODES)
        return "RESP", dict(RESPONSE_CODES)

    @property
    def start(self) -> str:
        return self.cfg.start_date

    def _crit_text(self, crit) -> str:
        resp = self.cfg.response
        return (f"criterion {crit.name} (RS records with RSCAT = '{crit.rscat}'"
                + (f"; records without RSCAT count as {resp.rs_without_rscat}"
                   if resp.rs_without_rscat == crit.name else "") + ")")

    def _assessments(self, crit) -> str:
        sfx = crit.paramcd_suffix
        used = "ANL01FL = Y" if self.cfg.use_after_pd else "ANL01FL = Y and ANL02FL = Y"
        return f"the OVR{sfx} assessments with {used}"

    def _confirmation(self) -> str:
        c = self.cfg
        sd_between = ", plus at most one SD," if c.accept_sd_between else ""
        return (f"a CR is confirmed by the first later CR at least {c.confirmation_min_days} "
                f"days after it (ADT2 >= ADT1 + {c.confirmation_min_days}) when only CR or NE "
                f"assessments lie after it up to and including that one and at most "
                f"{c.max_ne_between} of them is NE; a PR is confirmed by the first later CR or "
                f"PR at least {c.confirmation_min_days} days after it when only CR, PR or NE "
                f"assessments{sd_between} lie in between, at most {c.max_ne_between} NE and no PR "
                f"follows a CR; when that first candidate fails, the response is unconfirmed")

    def param_method(self, paramcd: str) -> str | None:
        """Method text for the AVALC/AVAL of an ADRS parameter."""
        if paramcd not in self.params:
            return None
        base, crit = self.params[paramcd]
        c, start = self.cfg, self.start
        sd = c.sd_min_days
        yn = "AVAL: Y = 1, N = 0."
        resp = ("AVAL: CR = 1, PR = 2, SD = 3, NON-CR/NON-PD = 4, PD = 5, NE = 6, "
                "MISSING = 7.")
        if base == "DEATH":
            return f"Y dated ADT = ADSL.DTHDT when the subject has a death date; otherwise N. {yn}"
        if crit == "iRECIST":
            from cdisc_convert.adam.irecist import irecist_method_text

            rules = c.criterion(c.irecist.criterion).response_rules()
            return irecist_method_text(c, paramcd, recist=self.recist_text(rules))
        head = f"{self._crit_text(crit)}: "
        cap = head[:1].upper() + head[1:]
        used = self._assessments(crit)
        late = f"at least {sd} days after {start} (ADT >= {start} + {sd} days)"
        if base == "OVR":
            if self.response_source == "TR":
                rules = crit.response_rules()
                name = crit.name.upper()
                rule = (self.choi_text(rules, modified=name.startswith("MODIFIED"))
                        if "CHOI" in name else self.recist_text(rules))
                return (f"Overall response per assessment computed from TU/TR, {head}{rule} "
                        f"ADT: {self.adt_text(rules)} {resp}")
            r = c.response
            return (f"Overall response per assessment as recorded, {head}AVALC = RS.RSSTRESC "
                    f"(RS.RSORRES when blank, upper-cased) of the RS records with RSTESTCD = "
                    f"'{r.testcd}' and RSEVAL = '{r.evaluator}'; ADT = RS.RSDTC as a date "
                    f"({date_imputation_text(c.imputation('ADT'))}, flagged in ADTF). {resp}")
        if base == "BOR":
            return (f"Best overall response without confirmation, {head}over {used}, each "
                    f"assessment qualifies for CR (CR), PR (PR), SD (CR, PR or SD {late}), "
                    f"NON-CR/NON-PD (NON-CR/NON-PD {late}), PD (PD) or NE (any CR, PR, SD, "
                    f"NON-CR/NON-PD or NE, i.e. also an SD earlier than {sd} days); the best "
                    f"category (CR > PR > SD > NON-CR/NON-PD > PD > NE) wins, dated by its "
                    f"first qualifying assessment; subjects without assessment: MISSING. {resp}")
        if base == "CBOR":
            unconf = (f"an unconfirmed CR or PR counts as SD when {late}, else NE"
                      if c.accept_sd_for_unconfirmed else "an unconfirmed CR or PR gives NE")
            return (f"Best confirmed overall response, {head}over {used}: {self._confirmation()}. "
                    f"Categories: confirmed CR, confirmed PR, SD (SD {late}; {unconf}), "
                    f"NON-CR/NON-PD ({late}), PD, NE (any other valid response); the best "
                    f"category wins, dated by its first qualifying assessment; subjects without "
                    f"assessment: MISSING. {resp}")
        if base in ("BCP", "CBCP"):
            src = "BOR" if base == "BCP" else "CBOR"
            return (f"{cap}Y when {src}{crit.paramcd_suffix} is CR or PR (dated by it), "
                    f"otherwise N. {yn}")
        if base == "RSP":
            return (f"Response without confirmation, {head}Y dated by the first CR or PR among "
                    f"{used}; otherwise (also without assessments) N. {yn}")
        if base == "CRSP":
            return (f"Confirmed response, {head}Y dated by the first confirmed CR or PR among "
                    f"{used} ({self._confirmation()}); otherwise N. {yn}")
        if base == "CB":
            return (f"Clinical benefit without confirmation, {head}Y dated by the earliest "
                    f"assessment among {used} that is a CR or PR, or a CR, PR, SD or "
                    f"NON-CR/NON-PD {late}; otherwise N. {yn}")
        if base == "CCB":
            unconf = ("an unconfirmed CR/PR counts like SD" if c.accept_sd_for_unconfirmed
                      else "an unconfirmed CR/PR does not count")
            return (f"Confirmed clinical benefit, {head}Y dated by the earliest assessment among "
                    f"{used} that is a confirmed CR or PR ({self._confirmation()}), or an SD or "
                    f"NON-CR/NON-PD {late} ({unconf}); otherwise N. {yn}")
        if base == "DCR":
            d = c.dcr
            return (f"Disease control at day {d.landmark_days}, {head}the first assessment among "
                    f"{used} with ADT - {start} >= {d.landmark_days - d.window_days} days "
                    f"(landmark {d.landmark_days} days, window {d.window_days} days) decides: Y "
                    f"(dated by it) when it is CR, PR, SD or NON-CR/NON-PD and neither a PD "
                    f"assessment nor death (ADSL.DTHDT) came before it; N otherwise, also when "
                    f"there is no such assessment. A missed landmark scan is replaced by the "
                    f"next assessment. {yn}")
        if base == "PD":
            return (f"Disease progression, {head}Y dated by the first PD among {used}; "
                    f"otherwise N. {yn}")
        if base == "LSTA":
            return (f"Last disease assessment, {head}the last OVR{crit.paramcd_suffix} "
                    f"assessment with ANL01FL = Y (also after PD): AVALC its response, ADT its "
                    f"date; no AVALC and ADT for subjects without assessment. {resp}")
        return None

    def baseline_text(self, r=None) -> str:
        """Baseline and target-lesion measurement per the ResponseRules ``r`` (RECIST 1.1 and
        Choi alike; ADTR's SUMDIAM)."""
        r = r or self.rules
        window = (f"at most {r.baseline_window_days} days before the start"
                  if r.baseline_window_days is not None else "any time before the start")
        flags = (f"a TR baseline flag Y in {' or '.join(r.baseline_flag_columns)} marks the "
                 f"baseline explicitly and wins; otherwise " if r.baseline_flag_columns
                 else "no TR baseline flag is read; ")
        small = (number_text(r.too_small_mm) if r.too_small_mm is not None
                 else "not assessed")
        return (f"{flags}baseline = the {r.baseline_pick} evaluable assessment on or before the "
                f"start and {window}; target lesions are the TU TARGET lesions measured at "
                f"baseline (TUSPLIT fragments summed into their parent, a TUMERGE lesion "
                f"measured once, a lesion recorded {quote_list(r.merged_states)} counts 0 mm); "
                f"a nodal lesion (TULOC contains LYMPH NODE, LNSTATE records, or LPERP but no "
                f"LDIAM) contributes its short axis LPERP, every other its longest diameter "
                f"LDIAM (TRSTRESN, mm; 'TOO SMALL TO MEASURE' = {small}).")

    def lesion_text(self, r=None, *, node_rule: bool = True) -> str:
        """Non-target and new lesions, reappearance after CR and the conventions every
        criterion computed from TU/TR shares, per the ResponseRules ``r``."""
        r = r or self.rules
        absent = (f"all are absent ({quote_list(r.absent_states)}; nodes < "
                  f"{number_text(r.nodal_normal_mm)} mm or {quote_list(r.nodal_absent_states)})"
                  if node_rule else
                  f"all are absent ({quote_list(r.absent_states)}; no lymph-node rule)")
        if r.evaluator_filter:
            records = ("TR records with " + "; ".join(
                f"{k} = {quote_list(v) if isinstance(v, (list, tuple)) else repr(v)}"
                for k, v in r.evaluator_filter.items())
                + " (TU through its TU twin columns)")
        else:
            ev = self.cfg.response.evaluator
            records = (f"the TR/TU records with TREVAL/TUEVAL = '{ev}' when TR has TREVAL, "
                       f"otherwise all" if ev else "all TR/TU records")
        imputed = (f"partial scan dates are imputed to the {r.date_imputation} day of the "
                   f"month/year (ADTF)" if r.date_imputation else
                   "partial scan dates are not imputed (no date)")
        return (f"Non-target response (state tests {quote_list(r.state_testcds)}): PD on "
                f"unequivocal progression ({quote_list(r.progression_states)}), NE when a lesion "
                f"is not evaluated ({quote_list(r.not_evaluated_states)}), CR when {absent}, "
                f"NON-CR/NON-PD otherwise. A NEW lesion shown present is progression; an "
                f"equivocal one ({quote_list(r.equivocal_states)}) is not, and when a later scan "
                f"shows it the progression is dated "
                + ("at the scan where it first appeared" if r.new_lesion_date == "first_seen"
                   else "at the scan showing it")
                + ". "
                + ("After an overall CR any lesion that reappears is PD whatever its size. "
                   if r.reappearance_after_cr == "pd" else
                   "A target that reappears after a CR only adds to the sum. ")
                + f"A component that does not apply (no target, or no non-target lesions at "
                f"baseline) is '{r.not_applicable}'. Records used: {records}; {imputed}; a PD "
                f"shown by the target sum is dated by the {r.pd_date} target scan of the "
                f"assessment; thresholds are compared with a tolerance of "
                f"{number_text(r.tolerance)} (mm, %, HU).")

    def recist_text(self, r=None) -> str:
        """RECIST 1.1 as computed from TU/TR, from the criterion's ResponseRules ``r``: every
        field of ``r`` except Choi's is stated."""
        from cdisc_convert.standards.response import describe_overall_response

        r = r or self.rules
        return (f"RECIST 1.1 (Eisenhauer 2009): {self.baseline_text(r)} Target response, first "
                f"match wins: CR when all targets are measured, non-nodal ones 0 mm and nodes < "
                f"{number_text(r.nodal_normal_mm)} mm; PD when the sum is >= "
                f"{number_text(100 + r.recist_pd_pct)}% of the nadir (smallest earlier complete "
                f"sum, baseline included) and >= {number_text(r.recist_pd_abs_mm)} mm above it; "
                f"NE when a target is not measured; PR when the sum is <= "
                f"{number_text(100 + r.recist_pr_pct)}% of baseline; SD otherwise. "
                f"{self.lesion_text(r)} {describe_overall_response()}")

    def choi_text(self, r=None, *, modified: bool = False) -> str:
        """Choi (or modified Choi) as computed from TU/TR: every field of ``r`` that Choi
        uses is stated (not RECIST's thresholds nor its lymph-node rule)."""
        r = r or self.rules
        missing = ("NE" if r.choi_missing_density == "NE" else "the size response")
        ref = "nadir" if r.choi_pd_reference == "nadir" else "baseline sum"
        density = (f"density = the mean RADIODEN (HU) over the target lesions with a density "
                   f"at both baseline and the assessment (a lesion measured 0 mm is left out of "
                   f"both means; a target still present without density makes density not "
                   f"evaluable, as does a baseline mean <= 0)")
        nodule = (f"a target lesion state in {quote_list(r.choi_nodule_states)} (new or "
                  f"growing intratumoral nodule) is PD; " if r.choi_nodule_states else
                  "no TR state is read as a new intratumoral nodule; ")
        rest = (f"{self.lesion_text(r, node_rule=False)} Overall response as RECIST 1.1.")
        if modified:
            return (f"Modified Choi: {self.baseline_text(r)} Size = the RECIST 1.1 sum of target "
                    f"diameters, {density}. Target response, first match wins: {nodule}CR when "
                    f"every target is 0 mm; PD when "
                    f"the sum is >= {number_text(100 + r.choi_pd_size_pct)}% of the {ref}; NE "
                    f"when a target is not measured; PR when the sum is <= "
                    f"{number_text(100 + r.choi_pr_size_pct)}% of baseline AND the density fell "
                    f"by >= {number_text(-r.choi_pr_density_pct)}%; SD otherwise (size PR with "
                    f"density not evaluable: {'NE' if r.choi_missing_density == 'NE' else 'SD'}). "
                    f"{rest}")
        return (f"Choi (J Clin Oncol 2007): {self.baseline_text(r)} Size = the RECIST 1.1 sum of "
                f"target diameters, {density}. Target response, first match wins: {nodule}CR "
                f"when every target is 0 mm (no lymph-node rule); PR when the mean "
                f"density fell by >= {number_text(-r.choi_pr_density_pct)}% from baseline; PD when the "
                f"sum is >= {number_text(100 + r.choi_pd_size_pct)}% of the {ref} with density "
                f"evaluable; PR when the sum is <= {number_text(100 + r.choi_pr_size_pct)}% of "
                f"baseline; NE when a target is not measured; SD with density evaluable; "
                f"otherwise {missing}. {rest}")

    def adt_text(self, r=None) -> str:
        r = r or self.rules
        imputed = (f"partial dates imputed to the {r.date_imputation} day (ADTF)"
                   if r.date_imputation else "partial dates not imputed")
        return ("the latest scan date of the assessment; for a PD assessment the earliest "
                "date among the records showing the progression (a PD by the target sum: the "
                f"{r.pd_date} target scan); {imputed}.")

    def tte_method(self, paramcd: str) -> str | None:
        c, start = self.cfg, self.start
        crit = c.criterion(c.tte_criterion_name)
        sfx = crit.paramcd_suffix
        common = ("Among events the earliest date wins, among censorings the latest; an event "
                  "beats a censoring; ADT is moved to STARTDT when earlier; AVAL = ADT - "
                  "STARTDT + 1 (days); CNSR = 0 for an event, 1 for a censoring.")
        nact = (f" With censoring at new anticancer therapy, a death on or after ADSL."
                f"{c.new_therapy_date} is no event." if c.censor_at_new_therapy else "")
        label = c.start_label
        if paramcd == "OS":
            return (f"Overall survival from ADSL.{start}: event = death (ADRS DEATH = Y, ADT); "
                    f"censoring at ADSL.LSTALVDT (EVNTDESC 'Alive') or at {start} ('{label}'). "
                    f"{common}")
        from .adtte import pfs_method_text

        fda = pfs_method_text(c, paramcd)  # PFS by the FDA rules, sensitivity PARAMCDs
        if fda:
            return fda
        if paramcd == "PFS":
            return (f"Progression-free survival from ADSL.{start} ({crit.name}): events = first "
                    f"progression (ADRS PD{sfx} = Y) and death (ADRS DEATH = Y); censoring at "
                    f"the last tumour assessment (ADRS LSTA{sfx}) or at {start} ('{label}')."
                    f"{nact} {common}")
        if paramcd == "RSD":
            rsp = "CRSP" if c.dor_from == "confirmed" else "RSP"
            which = "confirmed response" if c.dor_from == "confirmed" else "response"
            return (f"Duration of response ({crit.name}), responders only (ADRS {rsp}{sfx} = "
                    f"Y): STARTDT = the date of the first {which}; events = progression (ADRS "
                    f"PD{sfx} = Y) and death; censoring at the last tumour assessment (ADRS "
                    f"LSTA{sfx}).{nact} {common}")
        return None

    def adtr_method(self, paramcd: str) -> str | None:
        if paramcd == "SUMDIAM":
            return ("Sum of the target lesion diameters (mm) per assessment, RECIST 1.1: "
                    + self.baseline_text()
                    + " AVAL is missing when a target lesion was not measured (a partial sum "
                    "would look like shrinkage).")
        if paramcd == "DENSITY":
            return ("Mean radiodensity (HU) of the target lesions per assessment (Choi): the "
                    "mean TR RADIODEN of the target lesions measured at baseline that have "
                    "one; missing when a target lesion was not measured.")
        return None

    # -- variables ----------------------------------------------------------------------
    def _adsl(self, var: str) -> VarInfo | None:
        """Origin and method of an ADSL variable; the texts come from :mod:`.adsl`."""
        from .adsl import method_texts, sponsor_method_text

        c = self.cfg
        if var in ("TRT01P", "TRT01A"):
            info = VarInfo()
            info.add(predecessor("DM.ARM" if var == "TRT01P" else "DM.ACTARM"))
            return info
        if var in c.sponsor_variables:
            spec = c.sponsor_variables[var]
            info = VarInfo()
            text = sponsor_method_text(spec)
            if text is None:  # a copy of SUPP-- QVAL
                info.add(predecessor(f"SUPP{(spec.domain or 'DM').upper()}.QVAL where QNAM = "
                                     f"'{spec.qnam}'"))
                return info
            info.add(DERIVED())
            info.method = text
            return info
        if c.adex is not None and var in c.adex.to_adsl:
            paramcd = c.adex.to_adsl[var][0]
            info = VarInfo()
            info.add(DERIVED())
            info.method = (f"ADEX.AVALC (a flag) or ADEX.AVAL of the subject's record with "
                           f"PARAMCD = '{paramcd}' and PARCAT2 = 'OVERALL'; missing without "
                           f"one.")
            return info
        if self._adsl_texts is None:
            self._adsl_texts = method_texts(c)
        if var in self._adsl_texts:
            info = VarInfo()
            info.add(DERIVED())
            info.method = self._adsl_texts[var]
            return info
        if var in self.dm_spec:
            info = VarInfo()
            info.add(predecessor(f"DM.{var}"))
            return info
        return None

    def info(self, ds: str, var: str) -> VarInfo:
        """Origin and method of an ADaM variable."""
        if ds == "ADSL":
            found = self._adsl(var)
            if found is not None:
                return found
        own = self._own(ds, var)
        if own is not None:
            return own
        if ds != "ADSL" and var in self.adsl_columns:
            info = VarInfo()
            info.add(predecessor(f"ADSL.{var}"))
            return info
        info = VarInfo()
        info.add(DERIVED())
        info.method = f"{ds}.{var} is derived by cdisc-convert; no method text is recorded."
        return info

    def _own(self, ds: str, var: str) -> VarInfo | None:
        c, start = self.cfg, self.start
        assigned = {"PARAMCD", "PARAM", "PARCAT1", "PARCAT2", "PARCAT3"}
        if ds in ("ADRS", "ADTTE", "ADTR", "ADEX") and var in assigned:
            info = VarInfo()
            info.add(ASSIGNED())
            return info
        texts: dict[str, str] = {}
        if ds == "ADAE" and c.adae is not None:
            from .adae import method_texts

            texts = method_texts(c.adae)
            renamed = dict(c.adae.treatment)
            if var in renamed:
                info = VarInfo()
                info.add(predecessor(f"ADSL.{renamed[var]}"))
                return info
            if var not in texts and var not in self.adsl_columns:
                info = VarInfo()
                info.add(predecessor(f"AE.{var}"))       # carried over from SDTM AE as is
                return info
        if ds == "ADEX" and c.adex is not None:
            from .adex import method_texts as adex_method_texts

            renamed = {**dict(c.adex.treatment), "EXADJ": None}
            if var in renamed:
                info = VarInfo()
                info.add(predecessor(f"ADSL.{renamed[var]}" if renamed[var] else "EX.EXADJ"))
                return info
            texts = adex_method_texts(c.adex)
        bds = next((b for b in c.bds if b.dataset == ds), None)
        if bds is not None:
            from .bds import method_texts as bds_method_texts

            if var in ("PARAMCD", "PARCAT1", "VISIT", "VISITNUM"):
                info = VarInfo()
                info.add(predecessor(f"{bds.domain}." + {"PARAMCD": f"{bds.domain}TESTCD",
                                                         "PARCAT1": f"{bds.domain}CAT"}
                                     .get(var, var)))
                return info
            texts = bds_method_texts(bds)
        if ds == "ADRS":
            end = (f" and before ADSL.{c.new_therapy_date}" if c.censor_at_new_therapy else "")
            from_rs = self.response_source == "RS"
            texts = {
                "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT, "
                        "VISITNUM and SRCSEQ (missing last).",
                "AVALC": "Per parameter, see the value-level metadata (PARAMCD).",
                "AVAL": "Numeric code of AVALC per parameter, see the value-level metadata.",
                "ADT": ("Assessment records (OVR): " + (
                    f"RS.RSDTC as a date ({date_imputation_text(c.imputation('ADT'))})"
                    if from_rs else self.adt_text()) + ". Other parameters: the date of the "
                    "assessment that decides the value (see each PARAMCD); DEATH: ADSL.DTHDT."),
                "ADTF": "Imputation flag of ADT: D when the day was imputed, M for month and "
                        "day.",
                "AVISIT": "VISIT of the assessment the record comes from.",
                "ANL01FL": f"Y on the assessments that count: a valid response (CR, PR, SD, "
                           f"NON-CR/NON-PD, PD, NE) with ADT on or after ADSL.{start}{end}; of "
                           f"several on one date per subject and criterion the worst is kept "
                           f"(NE < CR < PR < SD < NON-CR/NON-PD < PD; ties: the last SRCSEQ).",
                "ANL02FL": "Y on the ANL01FL assessments up to and including the first PD "
                           "(per subject and criterion); all of them for subjects without PD.",
                "SRCDOM": "Dataset of the record the value comes from: RS for assessments and "
                          "for parameters dated by an assessment, ADSL for DEATH; blank when "
                          "no single record decides.",
                "SRCSEQ": "RSSEQ of that RS record.",
            }
            if var in ("VISIT", "VISITNUM") and from_rs:
                info = VarInfo()
                info.add(predecessor(f"RS.{var}"))
                return info
            if var in ("VISIT", "VISITNUM"):
                texts[var] = f"TR.{var} of the tumour assessment."
        elif ds == "ADTTE":
            crit = c.criterion(c.tte_criterion_name)
            texts = {
                "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD.",
                "STARTDT": f"OS and PFS: ADSL.{start}; RSD: the date of the first "
                           + ("confirmed response (ADRS CRSP" if c.dor_from == "confirmed"
                              else "response (ADRS RSP") + f"{crit.paramcd_suffix} = Y).",
                "ADT": "Date of the event or censoring chosen for the parameter (see its "
                       "method), never before STARTDT.",
                "AVAL": "ADT - STARTDT + 1 (days); per parameter see the value-level metadata.",
                "CNSR": "0 for an event, 1 for a censoring; per parameter see the value-level "
                        "metadata.",
                "EVNTDESC": f"Description of the chosen event or censoring: 'Death', 'Disease "
                            f"Progression', 'Alive', 'Last Tumor Assessment' or "
                            f"'{c.start_label}'.",
                "CNSDTDSC": "Description of the censoring date (censored records only).",
                "SRCDOM": "Dataset of the record holding ADT: ADRS (DEATH, PD, LSTA) or ADSL.",
                "SRCVAR": "Variable holding ADT in SRCDOM (ADT, LSTALVDT or the start date).",
                "SRCSEQ": "ASEQ of the ADRS record holding ADT (missing for ADSL).",
            }
        elif ds == "ADTR":
            texts = {
                "ASEQ": "Sequence number within USUBJID, records sorted by PARAMCD, ADT and "
                        "AVISITN.",
                "AVISIT": "VISIT of the tumour assessment (TR).",
                "AVISITN": "VISITNUM of the tumour assessment (TR).",
                "ADT": "Assessment date: " + self.adt_text(),
                "AVAL": "Per parameter, see the value-level metadata.",
                "BASE": "AVAL of the subject's baseline assessment for the parameter.",
                "ABLFL": f"Y on the baseline assessment: per subject the lowest VISITNUM "
                         f"flagged Y in {' or '.join(self.rules.baseline_flag_columns)} when "
                         f"TR has such a flag; otherwise the {self.rules.baseline_pick} "
                         f"evaluable assessment whose earliest scan is on or before ADSL.{start}"
                         + (f" and at most {self.rules.baseline_window_days} days before it"
                            if self.rules.baseline_window_days is not None else "")
                         + "; otherwise the subject's first evaluable assessment.",
                "CHG": "AVAL - BASE; missing on the baseline record.",
                "PCHG": "100 x (AVAL - BASE) / BASE; missing on the baseline record.",
            }
        if var in texts:
            info = VarInfo()
            info.add(DERIVED())
            info.method = texts[var]
            return info
        return None
