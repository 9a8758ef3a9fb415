#!/usr/bin/env python
"""Write the rule table of ``docs/validation-rules.md`` from the rule catalogue.

The catalogue (``cdisc_convert/conformance/rules.yaml``) is the one home of what each rule
id stands for; the documentation's tables are generated from it between two marker lines,
and the rest of the page is written by hand. Run from anywhere::

    python tools/build_rule_docs.py            # rewrite the tables in place
    python tools/build_rule_docs.py --check    # exit 1 if the page is not current

``tests/test_validate.py`` runs the check.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cdisc_convert.conformance.catalogue import Catalogue, Rule, load_catalogue

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "validation-rules.md"
BEGIN = ("<!-- BEGIN rule tables: generated from cdisc_convert/conformance/rules.yaml by "
         "tools/build_rule_docs.py; edit the YAML, not this block -->")
END = "<!-- END rule tables -->"


def _row(rule: Rule) -> str:
    severity = " / ".join((rule.severity, *rule.also))
    return f"| `{rule.id}` | {severity} | {rule.checks} | {rule.corresponds_to} |"


def render_tables(catalogue: Catalogue) -> str:
    """The Markdown of every section of the catalogue: heading, intro, table, note."""
    parts = []
    for section in catalogue.sections:
        block = [f"### {section.title}", ""]
        if section.intro:
            block += [section.intro.rstrip("\n"), ""]
        block += ["| id | severity | what it checks | corresponds to |", "|---|---|---|---|"]
        block += [_row(rule) for rule in section.rules]
        if section.note:
            block += ["", section.note.rstrip("\n")]
        parts.append("\n".join(block))
    return "\n\n".join(parts) + "\n"


def render_page(page: str, catalogue: Catalogue) -> str:
    """``page`` with the text between the markers replaced by the generated tables."""
    head, sep, rest = page.partition(BEGIN + "\n")
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{DOC}: the marker lines are missing:\n{BEGIN}\n{END}")
    return f"{head}{BEGIN}\n{render_tables(catalogue)}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the page differs from the catalogue")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page (default: %(default)s)")
    args = parser.parse_args(argv)
    page = args.doc.read_text(encoding="utf-8")
    wanted = render_page(page, load_catalogue())
    if args.check:
        if wanted != page:
            print(f"{args.doc} is not current: run python tools/build_rule_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    if wanted != page:
        args.doc.write_text(wanted, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
