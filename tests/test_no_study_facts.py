"""Study facts live in the study's YAML (mappings/<study>/), never in the package's code.

The package may name a study in docstrings (examples of use); anywhere else (code, string
constants, comments, package data files) a study identifier, a drug name or a
study-specific variable or parameter code is a fact that belongs to mappings/<study>/.
"""
from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cdisc_convert"

#: study identifiers, drug names and study-specific codes of the studies we know
FORBIDDEN = re.compile(
    r"DTICSDOS|DTICRDFL|sorafenib|nexavar|dacarbazine|dtic|sordtic|cdiscpilot|xanomeline",
    re.IGNORECASE)

#: Lines allowed for now: (file relative to the package, text the line starts with).
ALLOWED = {
    # the bundled example study that `cdisc-convert run` uses without arguments
    ("core/resources.py", "BUNDLED_STUDY = "),
    ("core/resources.py", "BUNDLED_RAW = "),
}


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
    if path.suffix != ".py":
        return [(n, m.group(0)) for n, line in enumerate(text.splitlines(), 1)
                for m in FORBIDDEN.finditer(line)]
    docs = _docstring_lines(ast.parse(text))
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT, tokenize.FSTRING_MIDDLE
                        if hasattr(tokenize, "FSTRING_MIDDLE") else tokenize.STRING):
            if tok.start[0] in docs and tok.type == tokenize.STRING:
                continue
            found += [(tok.start[0], m.group(0)) for m in FORBIDDEN.finditer(tok.string)]
    return found


def test_no_study_facts_in_the_package():
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".yaml", ".yml", ".json"):
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
