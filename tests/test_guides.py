"""The reviewer's guides `package` drafts: PHUSE template sections, every dataset listed,
the conformance findings to explain (docs/submission.md)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import docx
import docx.text.paragraph
import pytest

from cdisc_convert.api import validate_folder
from cdisc_convert.submission.document import TO_DO
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"
ROOT = Path("m5") / "datasets" / "sordtic-ii"

#: the section headings of the PHUSE templates the guides must have, in order
CSDRG_SECTIONS = [
    "1. Introduction", "1.1 Purpose", "1.2 Acronyms",
    "1.3 Study Data Standards and Dictionary Inventory",
    "2. Protocol Description", "2.1 Protocol Number and Title", "2.2 Protocol Design",
    "2.3 Trial Design Datasets",
    "3. Subject Data Description", "3.1 Overview", "3.2 Annotated CRFs",
    "3.3 SDTM Subject Domains",
    "4. Data Conformance Summary", "4.1 Conformance Inputs", "4.2 Issues Summary",
    "4.3 Additional Conformance Details",
    "Appendix I: Inclusion/Exclusion Criteria", "Appendix II: Conformance Issues Details"]
ADRG_SECTIONS = [
    "1. Introduction", "1.1 Purpose", "1.2 Study Data Standards and Dictionary Inventory",
    "1.3 Source Data Used for Analysis Dataset Creation",
    "2. Protocol Description", "2.1 Protocol Number and Title",
    "2.2 Protocol Design in Relation to ADaM Concepts",
    "3. Analysis Considerations Related to Multiple Analysis Datasets", "3.1 Core Variables",
    "3.2 Treatment Variables",
    "3.3 Use of Visit Windowing, Unscheduled Visits, and Record Selection",
    "3.4 Imputation/Derivation Methods",
    "4. Analysis Data Creation and Processing Issues", "4.1 Split Datasets",
    "4.2 Data Dependencies", "4.3 Intermediate Datasets",
    "5. Analysis Dataset Descriptions", "5.1 Overview", "5.2 Analysis Datasets",
    "6. Data Conformance Summary", "6.1 Conformance Inputs", "6.2 Issues Summary",
    "7. Submission of Programs", "7.1 Description", "7.2 ADaM Programs",
    "7.3 Analysis Output Programs", "7.4 Macro Programs"]


@pytest.fixture(scope="module")
def package(bundled_package) -> Path:
    """The session's package of the bundled run (conftest.bundled_package)."""
    return bundled_package


def _headings(path: Path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs
            if p.style.name.startswith("Heading")]


def _table_after(path: Path, heading: str):
    """The first table after the heading ``heading`` in the DOCX body."""
    seen = False
    for block in docx.Document(str(path)).iter_inner_content():
        if isinstance(block, docx.text.paragraph.Paragraph):
            seen = seen or block.text == heading
        elif seen:
            return [[c.text for c in row.cells] for row in block.rows]
    raise AssertionError(f"no table after {heading!r}")


@pytest.mark.parametrize("stem, sections", [("csdrg", CSDRG_SECTIONS), ("adrg", ADRG_SECTIONS)])
def test_the_template_sections_are_there_in_order(package, stem, sections):
    for suffix in ("docx", "html"):
        path = package / "reviewers-guides" / f"{stem}.{suffix}"
        if suffix == "docx":
            headings = _headings(path)
        else:
            headings = [re.sub(r"<[^>]+>", "", h) for h in
                        re.findall(r"<h[2-4]>(.*?)</h[2-4]>", path.read_text(encoding="utf-8"))]
            headings = [h.replace("&#x27;", "'") for h in headings]
        positions = [headings.index(s) for s in sections]     # ValueError names a missing one
        assert positions == sorted(positions), f"{path.name}: sections out of order"


def test_guides_stay_out_of_the_ectd_tree(package):
    assert not [p for p in (package / "m5").rglob("*") if p.suffix in (".docx", ".html")]


@pytest.mark.parametrize("stem, heading, folder", [
    ("csdrg", "3.3 SDTM Subject Domains", ROOT / "tabulations" / "sdtm"),
    ("adrg", "5.2 Analysis Datasets", ROOT / "analysis" / "adam" / "datasets")])
def test_the_dataset_table_lists_every_dataset_written(package, stem, heading, folder):
    rows = _table_after(package / "reviewers-guides" / f"{stem}.docx", heading)
    listed = [row[0] for row in rows[1:]]
    written = sorted(p.stem.upper() for p in (package / folder).glob("*.xpt"))
    assert written and listed == written
    # labels from define.xml, record counts from the files
    assert all(row[1] for row in rows[1:]) and all(row[-1].isdigit() for row in rows[1:])


@pytest.mark.parametrize("stem, heading, part, folder", [
    ("csdrg", "4.2 Issues Summary", "sdtm", ROOT / "tabulations" / "sdtm"),
    ("adrg", "6.2 Issues Summary", "adam", ROOT / "analysis" / "adam" / "datasets")])
def test_every_error_and_warning_is_listed_for_the_sponsor_to_explain(
        package, tmp_path, stem, heading, part, folder):
    result = validate_folder(package / folder, fmt="json", out=tmp_path / "v.json",
                             study=STUDY)
    findings = result["findings"]
    expected = sorted({(f.rule, f.dataset) for f in findings.itertuples()
                       if f.severity in ("error", "warning")})
    path = package / "reviewers-guides" / f"{stem}.docx"
    if not expected:
        text = [p.text for p in docx.Document(str(path)).paragraphs]
        assert any("no error or warning findings" in t for t in text)
        return
    rows = _table_after(path, heading)
    assert rows[0][-1] == "Explanation"
    assert sorted((r[0], r[2]) for r in rows[1:]) == expected
    assert all(r[-1] == TO_DO for r in rows[1:])


def test_the_adrg_states_the_derivations_and_programs(package):
    path = package / "reviewers-guides" / "adrg.docx"
    methods = dict((r[0], r[1]) for r in _table_after(path, "3.4 Imputation/Derivation Methods")[1:])
    bor = "Algorithm to derive ADRS parameter BOR"
    assert "best overall response" in methods[bor].lower()
    programs = [r[0] for r in _table_after(path, "7.2 ADaM Programs")[1:]]
    assert programs == sorted(p.name for p in (package / ROOT / "analysis" / "adam" /
                                               "programs").iterdir())
    # the parameters of a BDS dataset, from the data
    heading = next(h for h in _headings(path) if h.startswith("5.2.") and " ADRS " in h)
    params = _table_after(path, heading)
    assert params[0] == ["PARAMCD", "PARAM", "Records"]
    assert "BOR" in [r[0] for r in params[1:]]


def _paragraph_after(path: Path, heading: str) -> str:
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    return paragraphs[paragraphs.index(heading) + 1]


def test_the_adrg_states_the_dataset_size_against_the_tcg_limit(package, tmp_path,
                                                                  monkeypatch):
    from cdisc_convert.submission import guides, package as pkg

    adam = package / ROOT / "analysis" / "adam" / "datasets"
    largest = max(adam.glob("*.xpt"), key=lambda p: p.stat().st_size)
    text = _paragraph_after(package / "reviewers-guides" / "adrg.docx", "4.1 Split Datasets")
    assert text.startswith(f"No dataset is split: the largest file, {largest.name}, has ")
    assert "Technical Conformance Guide (section 3.3.2)" in text
    monkeypatch.setattr(pkg, "MAX_DATASET_BYTES", largest.stat().st_size - 1)
    assert guides._split_text(adam).startswith(f"{largest.name} exceed the 5 GB limit")


def test_the_csdrg_takes_the_protocol_from_ts(package):
    rows = _table_after(package / "reviewers-guides" / "csdrg.docx",
                        "2.1 Protocol Number and Title")
    assert rows[1] == ["Protocol Number", "SORDTIC-II"]
    assert rows[2][1].startswith("Phase II Study of Sorafenib and Dacarbazine")


@pytest.mark.slow    # starts LibreOffice (an office suite, like the browser test: end to end)
@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")),
                    reason="LibreOffice is not installed")
@pytest.mark.parametrize("stem, sections", [("csdrg", CSDRG_SECTIONS), ("adrg", ADRG_SECTIONS)])
def test_libreoffice_turns_the_guides_into_pdf(package, stem, sections, tmp_path):
    """The sponsor makes the eCTD's PDF from the DOCX: LibreOffice opens it, prints it, and
    its text has every section of the template."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    profile = (tmp_path / "lo-profile").as_uri()
    docx_path = package / "reviewers-guides" / f"{stem}.docx"
    for target in ("pdf", "txt:Text"):
        subprocess.run([office, f"-env:UserInstallation={profile}", "--headless",
                        "--convert-to", target, "--outdir", str(tmp_path), str(docx_path)],
                       check=True, timeout=300, capture_output=True)
    pdf = (tmp_path / f"{stem}.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    text = (tmp_path / f"{stem}.txt").read_text(encoding="utf-8", errors="replace")
    assert [s for s in sections if s not in text] == []
