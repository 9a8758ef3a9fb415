"""Origin and method of each ADaM variable and parameter for define.xml
(:class:`AdamMethods`), stated with the configured values.

The texts live next to the ``derive_*`` functions that implement them and are made from the
same config: ADSL in :mod:`.adsl` (``method_texts``, ``sponsor_method_text``), ADAE in
:mod:`.adae`, ADEX in :mod:`.adex`, the ADRS parameters in :mod:`.adrs_params`
(``param_method_text``) and its variables in :mod:`.adrs` (``variable_texts``), response
from TU/TR in :mod:`.tumor_response` (``recist_method_text``, ``choi_method_text`` ...),
iRECIST in :mod:`.irecist`, ADTTE in :mod:`.adtte` (``method_text``, ``variable_texts``,
``pfs_method_text``), ADTR in :mod:`.pipeline`, date imputation in :mod:`.imputation`.
This class only picks the origin (predecessor, assigned, derived) and the text for each
variable and parameter.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from cdisc_convert.core.errors import SpecError
from cdisc_convert.standards.define_xml import ASSIGNED, DERIVED, VarInfo, predecessor
from cdisc_convert.standards.metadata import load_standard

from . import adrs, adtte
from .adrs_params import param_method_text
from .pipeline import adtr_method_text, adtr_variable_texts
from .tumor_response import assessment_date_method_text, choi_method_text, recist_method_text


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
        # the distinct values first: a text conversion of every record costs ~0.1 s a
        # million records
        srcdom = ({str(v) for v in pd.unique(adrs["SRCDOM"].to_numpy(dtype=object))
                   if not pd.isna(v)} if adrs is not None and "SRCDOM" in adrs else set())
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

    def param_method(self, paramcd: str) -> str | None:
        """Method text for the AVALC/AVAL of an ADRS parameter (:mod:`.adrs_params`)."""
        if paramcd not in self.params:
            return None
        base, crit = self.params[paramcd]
        return param_method_text(self.cfg, base, crit, response_source=self.response_source)

    def recist_text(self, r=None) -> str:
        """RECIST 1.1 as computed from TU/TR (:mod:`.tumor_response`); the RECIST
        criterion's rules when ``r`` is None."""
        return recist_method_text(r or self.rules, evaluator=self.cfg.response.evaluator)

    def choi_text(self, r=None, *, modified: bool = False) -> str:
        """Choi (or modified Choi) as computed from TU/TR (:mod:`.tumor_response`)."""
        return choi_method_text(r or self.rules, evaluator=self.cfg.response.evaluator,
                                modified=modified)

    def tte_method(self, paramcd: str) -> str | None:
        """Method text of an ADTTE parameter (:mod:`.adtte`)."""
        return adtte.method_text(self.cfg, paramcd)

    def adtr_method(self, paramcd: str) -> str | None:
        """Method text of an ADTR parameter (:mod:`.pipeline`, where ADTR is derived)."""
        return adtr_method_text(paramcd, self.rules)

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
        c = self.cfg
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
            if var in ("VISIT", "VISITNUM") and self.response_source == "RS":
                info = VarInfo()
                info.add(predecessor(f"RS.{var}"))
                return info
            texts = adrs.variable_texts(c, response_source=self.response_source,
                                        assessment_date=assessment_date_method_text(self.rules))
        elif ds == "ADTTE":
            texts = adtte.variable_texts(c)
        elif ds == "ADTR":
            texts = adtr_variable_texts(c, self.rules)
        if var in texts:
            info = VarInfo()
            info.add(DERIVED())
            info.method = texts[var]
            return info
        return None
