"""The Python API behind every CLI command.

Each function here is what one ``cdisc-convert`` command does; the CLI only parses options
and prints. Import these to script a conversion without the command line::

    from cdisc_convert.api import map_sdtm
    map_sdtm("mappings/sorafenib_dtic", raw="fixtures/sorafenib_dtic/raw", out="out/sdtm")
"""
from __future__ import annotations

from pathlib import Path

from .errors import CdiscError, NotBuiltYet

REPO_ROOT = Path(__file__).resolve().parents[1]
BUNDLED_STUDY = REPO_ROOT / "mappings" / "sorafenib_dtic"
BUNDLED_RAW = REPO_ROOT / "fixtures" / "sorafenib_dtic" / "raw"


def run_study(study: Path | str = BUNDLED_STUDY, *, raw: Path | str | None = None,
              out: Path | str = "out", progress=None) -> dict:
    """Whole pipeline for a study folder: raw → SDTM → ADaM → outputs → report."""
    raise NotBuiltYet("the full pipeline is not built yet (issues #3–#5)", rule="not-yet")


def map_sdtm(study: Path | str, *, raw: Path | str | None = None, out: Path | str,
             progress=None) -> dict:
    """Map the raw tables of a study to SDTM domains following ``mappings/<study>/*.yaml``.

    Writes every domain as XPT v5 and CSV into ``out`` together with
    ``mapping_findings.csv`` and ``unmapped.csv``. When the mapping has error-severity
    findings, writes only those two reports and raises :class:`CdiscError` (exit code 1).
    Returns a summary: records per dataset and finding counts.
    """
    from .outputs.datasets import write_folder
    from .sdtm.engine import map_study
    from .sdtm.findings import describe

    result = map_study(study, raw, progress=progress)
    reports = {"mapping_findings": result.findings, "unmapped": result.unmapped}
    errors = result.findings[result.findings["severity"] == "error"]
    if len(errors):
        write_folder({}, out, reports=reports)
        raise CdiscError(f"the mapping has {len(errors)} error(s); no datasets written "
                         f"(all findings: {Path(out) / 'mapping_findings.csv'})",
                         rule="MAP-ERRORS", details=describe(errors))
    write_folder(result.domains, out, standard=result.study.standard, reports=reports,
                 progress=progress)
    return {
        "summary": f"{len(result.domains)} SDTM datasets in {out}",
        "datasets": {name: len(frame) for name, frame in result.domains.items()},
        "warnings": int((result.findings["severity"] == "warning").sum()),
        "unmapped": len(result.unmapped),
    }


def build_adam(sdtm_dir: Path | str, *, out: Path | str, config: Path | str | None = None,
               progress=None) -> dict:
    """Derive ADSL, ADRS and ADTTE from a folder of SDTM datasets (XPT, CSV or Dataset-JSON)."""
    raise NotBuiltYet("ADaM derivation is not built yet (issue #4)", rule="not-yet")


def validate_folder(folder: Path | str, *, define: Path | str | None = None,
                    fmt: str = "html", out: Path | str | None = None) -> dict:
    """Check a folder of SDTM or ADaM datasets against the standards; returns the findings."""
    raise NotBuiltYet("the conformance validator is not built yet (issue #6)", rule="not-yet")


def write_define(folder: Path | str, *, out: Path | str | None = None) -> Path:
    """Write define.xml 2.1 (and its HTML view) describing a folder of datasets."""
    raise NotBuiltYet("define.xml writing is not built yet (issue #5)", rule="not-yet")


def write_report(adam_dir: Path | str, *, out: Path | str | None = None) -> dict:
    """Compute the trial's results table and figures from ADSL/ADRS/ADTTE."""
    raise NotBuiltYet("the results report is not built yet (issue #4)", rule="not-yet")
