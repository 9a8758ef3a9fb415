"""The one RECIST 1.1 overall-response table (specs/recist-1.1/overall_response.yaml), checked
against RECIST 1.1 tables 1 and 2 as printed (Eisenhauer et al. 2009), cell by cell."""
from __future__ import annotations

import pandas as pd
import pytest

from cdisc_convert.standards import response as response_module
from cdisc_convert.standards.response import (
    ResponseRow,
    describe_overall_response,
    overall_response,
)

# (target, non-target, new lesion, overall) written from the paper's tables by hand
TABLE_1 = [
    ("CR", "CR", False, "CR"), ("CR", "NA", False, "CR"),
    ("CR", "NON-CR/NON-PD", False, "PR"), ("CR", "NE", False, "PR"),
    ("PR", "NON-CR/NON-PD", False, "PR"), ("PR", "NE", False, "PR"), ("PR", "CR", False, "PR"),
    ("SD", "NON-CR/NON-PD", False, "SD"), ("SD", "NE", False, "SD"),
    ("NE", "NON-CR/NON-PD", False, "NE"),
    ("PD", "CR", False, "PD"), ("SD", "PD", False, "PD"), ("PR", "CR", True, "PD"),
]
TABLE_2 = [
    ("NA", "CR", False, "CR"), ("NA", "NON-CR/NON-PD", False, "NON-CR/NON-PD"),
    ("NA", "NE", False, "NE"), ("NA", "PD", False, "PD"), ("NA", "CR", True, "PD"),
]


@pytest.mark.parametrize("target,nontarget,new,overall", TABLE_1 + TABLE_2)
def test_every_cell_of_recist_tables_1_and_2(target, nontarget, new, overall):
    got = overall_response(pd.Series([target]), pd.Series([nontarget]), pd.Series([new]))
    assert got.tolist() == [overall]


def test_not_applicable_spellings_and_unknown_values():
    out = overall_response(pd.Series(["", "N/A", "XX"]), pd.Series(["NOT APPLICABLE", "CR", "CR"]),
                           pd.Series([False] * 3), default="?")
    assert out.tolist() == ["NE", "CR", "?"]


def test_adam_and_conformance_read_the_same_table(monkeypatch):
    """Change one cell of the table: the computed responses and the RS check follow."""
    from cdisc_convert.adam.tumor_response import ResponseRules, derive_overall_response
    from cdisc_convert.conformance.checks import Study, check_overall_response

    rs = pd.DataFrame({"STUDYID": "S1", "USUBJID": "A", "RSSEQ": [1.0, 2.0, 3.0],
                       "RSCAT": "RECIST 1.1", "RSEVAL": "INVESTIGATOR", "VISITNUM": 2.0,
                       "VISIT": "WEEK 6", "RSTESTCD": ["TRGRESP", "NEWLPROG", "OVRLRESP"],
                       "RSSTRESC": ["NA", "N", "NON-CR/NON-PD"]})
    rs.loc[0, "RSTESTCD"] = "NTRGRESP"
    rs.loc[0, "RSSTRESC"] = "NON-CR/NON-PD"
    before = check_overall_response(Study({"RS": rs}))
    assert before.empty, before["message"].tolist()  # RECIST as printed

    changed = tuple(ResponseRow(r.target, r.nontarget, r.new,
                                "SD" if r.overall == "NON-CR/NON-PD" else r.overall, r.table)
                    for r in response_module.response_table())
    monkeypatch.setattr(response_module, "response_table", lambda path=None: changed)
    got = derive_overall_response(pd.Series(["NA"]), pd.Series(["NON-CR/NON-PD"]),
                                  pd.Series([False]), ResponseRules())
    assert got.tolist() == ["SD"]
    assert "non-target NON-CR/NON-PD and new lesion N -> SD" in describe_overall_response()
    found = check_overall_response(Study({"RS": rs}))
    assert set(found["rule"]) == {"ONC-OVRL-RECIST"}


def test_derive_overall_response_row_by_row_with_combinations_repeated():
    """Hand-checked against RECIST 1.1 tables 1 and 2: the table is read once per distinct
    combination, each record still gets its own row's answer, on the records' index; a
    missing component counts as not applicable (non-target disease only)."""
    from cdisc_convert.adam.tumor_response import ResponseRules, derive_overall_response

    trg = pd.Series(["CR", "CR", "CR", "SD", "PR", None], index=[10, 11, 12, 13, 14, 15])
    ntrg = pd.Series(["CR", "NON-CR/NON-PD", "CR", "NA", "NE", "CR"], index=trg.index)
    new = pd.Series([False, False, False, True, False, False], index=trg.index)
    got = derive_overall_response(trg, ntrg, new, ResponseRules())
    assert got.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert got.tolist() == ["CR", "PR", "CR", "PD", "PR", "CR"]
