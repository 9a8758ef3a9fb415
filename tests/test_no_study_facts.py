"""Study facts live in the study's YAML (mappings/<study>/), never in the package's code.

The package may name a study only in docstrings' examples of use: a docstring line that
shows an example (``Example``, ``e.g.``, ``>>>``, inline code, a list ending in "...") or
a path into a study's folder (``mappings/<study>``, ``fixtures/<study>``,
``reference/<study>``). Anywhere else (code, string constants, comments, the prose of
docstrings, package data files) a study identifier, a drug name or a study-specific
variable or parameter code is a fact that belongs to mappings/<study>/.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "cdisc_convert"

#: drug names, study names and codes of the studies we know that no YAML key states
KNOWN = r"sorafenib|nexavar|dacarbazine|dtic|sordtic|cdiscpilot|xanomeline"


def study_facts(mappings: Path = REPO / "mappings") -> list[str]:
    """Regex alternatives for what each study under ``mappings/`` declares as its own: its
    STUDYID (``study:``), its sponsor ADSL variables and the PARAMCDs made with a
    criterion's ``paramcd_suffix`` (BORCHOI ...). A new study adds its facts here itself."""
    found: set[str] = set()
    for folder in sorted(p for p in mappings.iterdir() if (p / "study.yaml").is_file()):
        study = yaml.safe_load((folder / "study.yaml").read_text(encoding="utf-8")) or {}
        if study.get("study"):
            found.add(re.escape(str(study["study"])))
        adam_file = folder / "adam.yaml"
        adam = yaml.safe_load(adam_file.read_text(encoding="utf-8")) if adam_file.is_file() \
            else {}
        found.update(re.escape(str(v)) for v in (adam or {}).get("sponsor_variables") or {})
        for crit in ((adam or {}).get("response") or {}).get("criteria") or []:
            if crit.get("paramcd_suffix"):
                found.add(r"[A-Z]{2,5}" + re.escape(str(crit["paramcd_suffix"])))
    return sorted(found)


#: study identifiers, drug names and study-specific codes (case-insensitive, whole words
#: for the codes so that e.g. HISTOL does not match HISTOLOGY)
FORBIDDEN = re.compile(rf"\b(?:{'|'.join(study_facts())})\b|{KNOWN}", re.IGNORECASE)

#: Lines allowed for now: (file relative to the package, text the line starts with).
ALLOWED = {
    # the bundled example study that `cdisc-convert run` uses without arguments
    ("core/resources.py", "BUNDLED_STUDY = "),
    ("core/resources.py", "BUNDLED_RAW = "),
}


#: a docstring line that shows an example of use
EXAMPLE_LINE = re.compile(r"Example|e\.g\.|>>>|``|\.\.\.")
#: a path into a study's folder (its name is the folder's, not a fact stated in prose)
STUDY_PATH = re.compile(r"(?:mappings|fixtures|reference)/[\w.-]+")


def _docstring_offences(line: str) -> list[str]:
    """The study facts of one docstring line that are not in an example of use."""
    if EXAMPLE_LINE.search(line):
        return []
    return [m.group(0) for m in FORBIDDEN.finditer(STUDY_PATH.sub("", line))]


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _offences(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":  # package data: every line counts
        return [(n, m.group(0)) for n, line in enumerate(text.splitlines(), 1)
                for m in FORBIDDEN.finditer(line)]
    docs = _docstring_lines(ast.parse(text))
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT, tokenize.FSTRING_MIDDLE
                        if hasattr(tokenize, "FSTRING_MIDDLE") else tokenize.STRING):
            if tok.start[0] in docs and tok.type == tokenize.STRING:
                found += [(tok.start[0] + i, word)
                          for i, line in enumerate(tok.string.splitlines())
                          for word in _docstring_offences(line)]
                continue
            found += [(tok.start[0], m.group(0)) for m in FORBIDDEN.finditer(tok.string)]
    return found


def test_no_study_facts_in_the_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or path.suffix in (".pyc",) or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, word in _offences(path):
            if not any(rel == f and lines[line - 1].startswith(t) for f, t in ALLOWED):
                offenders.append(f"cdisc_convert/{rel}:{line}: {word}")
    assert not offenders, "study facts in the package (move them to mappings/<study>/):\n" + \
        "\n".join(offenders)


def test_the_check_finds_a_study_fact(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Example: run mappings/sorafenib_dtic."""\n'
                      'DOSE = "DTICSDOS"  # the DTIC starting dose\n', encoding="utf-8")
    assert [w for _, w in _offences(sample)] == ["DTICSDOS", "DTIC"]


def test_docstrings_may_name_a_study_only_in_examples(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('def f():\n'
                      '    """Start dose.\n\n'
                      '    The study doses sorafenib daily.\n'
                      '    Runs mappings/sorafenib_dtic on fixtures/sorafenib_dtic/raw.\n'
                      '    Parameters (BOR, BORCHOI ...), e.g. DTICSDOS, ``DTICRDFL``.\n'
                      '    """\n', encoding="utf-8")
    assert _offences(sample) == [(4, "sorafenib")]


def test_the_facts_come_from_every_study_in_mappings():
    facts = study_facts()
    for word in ("CDISCPILOT01", "SORDTIC-II", "DTICSDOS", "DTICRDFL", "HISTOL", "COMPLT24",
                 "BORCHOI", "RSPCHOI"):
        assert FORBIDDEN.search(word), word
    # whole words: a variable that starts like a sponsor variable is not one
    assert not FORBIDDEN.search("HISTOLOGY") and not FORBIDDEN.search("CHOI")
    assert len(facts) >= 6


def test_a_new_study_brings_its_own_facts(tmp_path):
    study = tmp_path / "newstudy"
    study.mkdir()
    (study / "study.yaml").write_text("study: ABC-123\n", encoding="utf-8")
    (study / "adam.yaml").write_text(
        "sponsor_variables:\n  XYZFL: {type: exists, domain: AE}\nresponse:\n  criteria:\n"
        "    - {name: IRECIST, rscat: iRECIST, paramcd_suffix: IREC}\n", encoding="utf-8")
    assert study_facts(tmp_path) == [r"ABC\-123", r"XYZFL", r"[A-Z]{2,5}IREC"]
