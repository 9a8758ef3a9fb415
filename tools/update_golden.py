#!/usr/bin/env python
"""Regenerate ``tests/golden/bundled_study.sha256``: the sha256 of every file that
``cdisc-convert run`` writes for the bundled study with ``SOURCE_DATE_EPOCH=1700000000``.

``tests/test_golden_outputs.py`` compares a fresh run with this manifest, so that no change
alters an output by accident. When a change alters outputs **on purpose**, run from the
repository root::

    python tools/update_golden.py            # rewrites the manifest, lists what changed

and say in the commit message which outputs changed and why.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "tests" / "golden" / "bundled_study.sha256"
EPOCH = "1700000000"


def manifest(folder: Path) -> str:
    """``sha256sum`` lines (``<hash>  ./<path>``) of every file under ``folder``, sorted by
    path: the format of ``(cd out && find . -type f | sort | xargs sha256sum)``."""
    folder = Path(folder)
    paths = sorted("./" + p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file())
    return "".join(f"{hashlib.sha256((folder / p).read_bytes()).hexdigest()}  {p}\n"
                   for p in paths)


def run_bundled(out: Path) -> Path:
    """Run the whole pipeline on the bundled study into ``out`` with SOURCE_DATE_EPOCH set
    (and the variable restored afterwards)."""
    from cdisc_convert import api

    before = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        api.run_study(out=out)
    finally:
        if before is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = before
    return Path(out)


def changes(old: str, new: str) -> list[str]:
    """Files added, removed or changed between two manifests."""
    def parse(text: str) -> dict[str, str]:
        return {line[66:]: line[:64] for line in text.splitlines() if line.strip()}

    a, b = parse(old), parse(new)
    return ([f"changed {p}" for p in sorted(a.keys() & b.keys()) if a[p] != b[p]]
            + [f"added   {p}" for p in sorted(b.keys() - a.keys())]
            + [f"removed {p}" for p in sorted(a.keys() - b.keys())])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare with the committed manifest (exit 1 on a change)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        new = manifest(run_bundled(Path(tmp) / "out"))
    old = MANIFEST.read_text(encoding="utf-8") if MANIFEST.is_file() else ""
    diff = changes(old, new)
    for line in diff:
        print(line)
    if args.check:
        return 1 if diff else 0
    MANIFEST.parent.mkdir(parents=True, exist_ok=True)
    MANIFEST.write_text(new, encoding="utf-8")
    print(f"{MANIFEST.relative_to(REPO)}: {len(new.splitlines())} files, {len(diff)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
