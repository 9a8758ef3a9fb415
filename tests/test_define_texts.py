"""define.xml's method and comment texts read as a reviewer expects: no internal file names,
package paths or raw expression syntax (issue 16)."""
from __future__ import annotations

import re

import pytest
from lxml import etree

from cdisc_convert.core.text import condition_text

#: what must not appear in a method or comment of the bundled study's define.xml
FORBIDDEN = {
    "a file name": re.compile(r"\b[\w-]+\.(csv|ya?ml|py|sas7bdat|xlsx?|json)\b", re.I),
    "the package": re.compile(r"cdisc_convert"),
    "a path": re.compile(r"(^|[\s(])(/|~/|\.\./|[A-Za-z]:\\)[\w.-]"),
    "expression syntax": re.compile(r"==|!=|\bisnull\(|\bnotnull\("),
}


def _texts(path):
    tree = etree.parse(str(path))
    for node in tree.iter("{*}MethodDef", "{*}CommentDef"):
        for text in node.iter("{*}TranslatedText"):
            yield node.get("OID"), text.text or ""


@pytest.mark.parametrize("part", ["sdtm", "adam"])
def test_methods_and_comments_have_no_internal_names(bundled_run, part):
    texts = list(_texts(bundled_run / part / "define.xml"))
    assert len(texts) > 20
    offences = [f"{oid}: {what}: {pattern.search(text).group(0)!r}"
                for oid, text in texts for what, pattern in FORBIDDEN.items()
                if pattern.search(text)]
    assert offences == []


@pytest.mark.parametrize("expression, text", [
    ("DTHDAT != ''", "DTHDAT is not blank"),
    ("DTHDAT == ''", "DTHDAT is blank"),
    ("AEOUT == 'FATAL'", "AEOUT = 'FATAL'"),
    ("AERELSOR == 'Not related' and AERELDTI == 'Not related'",
     "AERELSOR = 'Not related' and AERELDTI = 'Not related'"),
    ("SEX in ['F', 'M']", "SEX is one of 'F', 'M'"),
    ("DOSE not in (0, 1)", "DOSE is none of 0, 1"),
    ("A == 'x' or (B != 'y' and C >= 2)", "A = 'x' or (B is not 'y' and C >= 2)"),
    ("not isnull(X)", "not X is blank"),
    ("notnull(X) and startswith(AETERM, 'GR')", "X is not blank and AETERM starts with 'GR'"),
    ("1 <= AGE < 18", "1 <= AGE and AGE < 18"),
    ("`IT.DSDECOD` == 'Randomized'", "IT.DSDECOD = 'Randomized'"),
    ("AGE > 10.0", "AGE > 10"),
    ("not a valid (", "not a valid ("),                 # as written when it does not parse
])
def test_condition_text(expression, text):
    assert condition_text(expression) == text
