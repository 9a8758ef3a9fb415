"""The validator on hostile and broken input (corpus: tests/bad_inputs/, see its README).

Every case runs in a separate Python process, as the CLI would run it (validate, write the
reports, exit with the result's code), under a timeout: a hang fails the test instead of
blocking the suite, and a traceback on stderr fails it too. Large inputs, symbolic links
and named pipes are made at test time, never committed.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.core.errors import InputError
from cdisc_convert.io.xpt import write_xpt
from cdisc_convert.conformance.validate import validate_folder
from conftest import REPO

# every case runs the validator in a fresh interpreter (seconds each): the full tier
pytestmark = pytest.mark.slow

CORPUS = REPO / "tests" / "bad_inputs"

#: what `cdisc-convert validate` does (the CLI wires the same calls)
RUNNER = r"""
import json, sys
from cdisc_convert.core.errors import CdiscError
from cdisc_convert.conformance.validate import validate_folder, write_report
folder, out, define, encoding, formats = sys.argv[1:6]
try:
    result = validate_folder(folder, define=define or None, encoding=encoding or None)
except CdiscError as err:
    print("Error: " + err.format(), file=sys.stderr)
    sys.exit(err.exit_code)
for fmt in formats.split(","):
    write_report(result, out + "." + fmt, fmt)
print(json.dumps({"rules": sorted(set(result.findings["rule"])),
                  "datasets": [d.name for d in result.datasets],
                  "seconds": result.seconds, "summary": result.summary_line()}))
sys.exit(result.exit_code)
"""


def run(folder, tmp_path, *, define="", encoding="", formats="html,json,csv,xlsx",
        timeout=120) -> tuple[int, dict, str]:
    """(exit code, result summary, stderr) of one validation in a fresh process."""
    out = tmp_path / "report"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(folder), str(out), str(define), encoding, formats],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
        env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert "Traceback" not in proc.stderr, proc.stderr
    info = json.loads(proc.stdout) if proc.stdout.strip() else {}
    info["wall"] = time.monotonic() - started
    if info.get("rules") is not None:
        for fmt in formats.split(","):
            assert (tmp_path / f"report.{fmt}").stat().st_size > 0, fmt
    return proc.returncode, info, proc.stderr


# --------------------------------------------------------------------------- the corpus
CASES = {
    # folder: (exit code, rules that must be reported, rules that must not)
    "truncated_xpt": (2, {"IO-UNREADABLE", "ST-EMPTY", "XD-DM-MISSING"}, set()),
    "html_as_xpt": (2, {"IO-UNREADABLE"}, set()),
    "cp1252_xpt": (1, {"IO-ENCODING", "XPT-ASCII"}, {"IO-UNREADABLE"}),
    "xxe_define": (2, {"DEF-UNSAFE"}, {"DEF-UNREADABLE", "DEF-XSD"}),
    "billion_laughs_define": (2, {"DEF-UNSAFE"}, {"DEF-UNREADABLE", "DEF-XSD"}),
    "duplicate_json_keys": (1, {"ST-JSON-DUPKEY"}, {"IO-UNREADABLE"}),
    "duplicate_records": (1, {"ST-DUP-RECORD", "SD-KEY-DUP"}, set()),
    "missing_dm": (1, {"XD-DM-MISSING", "XD-TS-MISSING"}, set()),
    "empty_files": (2, {"IO-UNREADABLE"}, set()),
}


def test_corpus_is_complete():
    assert sorted(p.name for p in CORPUS.iterdir() if p.is_dir()) == sorted(CASES)
    assert (CORPUS / "README.md").is_file()


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_case(case, tmp_path):
    code, info, stderr = run(CORPUS / case, tmp_path)
    expected_code, must, must_not = CASES[case]
    assert code == expected_code, (info, stderr)
    assert must <= set(info["rules"]), info["rules"]
    assert not must_not & set(info["rules"]), info["rules"]
    assert info["wall"] < 60


def test_empty_files_each_reported(tmp_path):
    found = validate_folder(CORPUS / "empty_files").findings
    hits = found[found.rule == "IO-UNREADABLE"]
    assert sorted(hits["value"]) == ["ae.csv", "dm.xpt", "ts.json"]
    assert hits["message"].str.contains("empty").all()


def test_truncated_xpt_message(tmp_path):
    found = validate_folder(CORPUS / "truncated_xpt").findings
    msg = found.loc[found.rule == "IO-UNREADABLE", "message"].iloc[0]
    assert "truncated" in msg and "dm.xpt" in msg


def test_cp1252_with_encoding_option(tmp_path):
    code, info, _ = run(CORPUS / "cp1252_xpt", tmp_path, encoding="cp1252")
    assert code == 1
    assert "XPT-ASCII" in info["rules"] and "IO-ENCODING" not in info["rules"]
    result = validate_folder(CORPUS / "cp1252_xpt", encoding="cp1252")
    dm = [d for d in result.datasets if d.name == "DM"][0]
    assert dm.encoding == "cp1252"
    msg = result.findings.loc[result.findings.rule == "XPT-ASCII", "message"].iloc[0]
    assert "\u2019" in msg  # 0x92 decoded as a right single quote


def test_xxe_never_reads_the_file(tmp_path):
    code, info, _ = run(CORPUS / "xxe_define", tmp_path)
    assert code == 2
    reports = "".join((tmp_path / f"report.{f}").read_text(errors="replace")
                      for f in ("html", "json", "csv"))
    assert "root:" not in reports and "/bin/" not in reports
    assert "DEF-UNSAFE" in reports


def test_xxe_given_with_define_option(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(CORPUS / "xxe_define" / "dm.xpt", folder / "dm.xpt")
    code, info, _ = run(folder, tmp_path, define=CORPUS / "xxe_define" / "define.xml")
    assert code == 2 and "DEF-UNSAFE" in info["rules"]


def test_billion_laughs_is_refused_quickly(tmp_path):
    code, info, _ = run(CORPUS / "billion_laughs_define", tmp_path)
    assert code == 2 and "DEF-UNSAFE" in info["rules"]
    assert info["seconds"] < 10 and info["wall"] < 60


def test_entity_after_a_long_prolog_is_still_not_expanded(tmp_path):
    # a DOCTYPE beyond the scanned first megabyte reaches lxml, which never expands it
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(CORPUS / "xxe_define" / "dm.xpt", folder / "dm.xpt")
    xxe = (CORPUS / "xxe_define" / "define.xml").read_text()
    head, rest = xxe.split("\n", 1)
    (folder / "define.xml").write_text(head + "\n<!--" + "x" * (1 << 20) + "-->\n" + rest)
    code, info, _ = run(folder, tmp_path)
    assert code == 2 and "DEF-UNSAFE" in info["rules"]
    assert "root:" not in (tmp_path / "report.json").read_text()


# --------------------------------------------------------------------------- made at test time
def _valid_dm(path: Path) -> None:
    frame = pd.DataFrame({"STUDYID": ["S1"], "DOMAIN": ["DM"], "USUBJID": ["S1-001"],
                          "SUBJID": ["001"], "RFSTDTC": ["2020-01-01"], "SITEID": ["01"],
                          "SEX": ["F"], "COUNTRY": ["USA"]})
    write_xpt(frame, path, name="DM", label="Demographics")


def test_symlink_outside_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    _valid_dm(outside / "dm.xpt")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "dm.xpt").symlink_to(outside / "dm.xpt")
    (folder / "define.xml").symlink_to("/etc/passwd")
    code, info, _ = run(folder, tmp_path)
    assert code == 2
    assert "IO-SYMLINK" in info["rules"] and "DM" not in info["datasets"]
    found = validate_folder(folder).findings
    links = found[found.rule == "IO-SYMLINK"]
    assert sorted(links["value"]) == ["define.xml", "dm.xpt"]
    assert "root:" not in (tmp_path / "report.json").read_text()


def test_symlink_inside_is_followed(tmp_path):
    folder = tmp_path / "data"
    (folder / "real").mkdir(parents=True)
    _valid_dm(folder / "real" / "dm.xpt")
    (folder / "dm.xpt").symlink_to(folder / "real" / "dm.xpt")
    result = validate_folder(folder)
    assert "IO-SYMLINK" not in set(result.findings["rule"])
    assert [d.name for d in result.datasets] == ["DM"]


def test_dangling_symlink(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "dm.xpt").symlink_to(tmp_path / "nowhere.xpt")
    result = validate_folder(folder)
    assert "IO-UNREADABLE" in set(result.findings["rule"]) and result.exit_code == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_is_not_opened(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _valid_dm(folder / "dm.xpt")
    os.mkfifo(folder / "ae.xpt")
    code, info, _ = run(folder, tmp_path, timeout=60)
    assert code == 2 and "IO-NOT-FILE" in info["rules"] and info["datasets"] == ["DM"]


def test_folder_named_like_a_dataset(tmp_path):
    folder = tmp_path / "data"
    (folder / "ae.xpt").mkdir(parents=True)
    _valid_dm(folder / "dm.xpt")
    result = validate_folder(folder)
    assert "IO-NOT-FILE" in set(result.findings["rule"]) and result.exit_code == 2


def test_missing_folder(tmp_path):
    code, info, stderr = run(tmp_path / "nope", tmp_path)
    assert code == 2 and "folder not found" in stderr
    with pytest.raises(InputError):
        validate_folder(tmp_path / "nope")


def test_file_instead_of_folder(tmp_path):
    _valid_dm(tmp_path / "dm.xpt")
    code, info, stderr = run(tmp_path / "dm.xpt", tmp_path)
    assert code == 2 and "not a folder" in stderr


def test_empty_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    code, info, _ = run(folder, tmp_path)
    assert code == 2 and info["rules"] == ["IO-NO-DATASETS"]


def test_a_million_records(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    n, subjects = 1_000_000, 2000
    subj = np.array([f"BIG-{i:05d}" for i in range(subjects)], dtype=object)
    dm = pd.DataFrame({
        "STUDYID": "BIG", "DOMAIN": "DM", "USUBJID": subj, "SUBJID": [s[-5:] for s in subj],
        "RFSTDTC": "2020-01-01", "RFENDTC": "2020-12-31", "SITEID": "01", "SEX": "F",
        "ARMCD": "A", "ARM": "Arm A", "ACTARMCD": "A", "ACTARM": "Arm A", "COUNTRY": "USA"})
    write_xpt(dm, folder / "dm.xpt", name="DM", label="Demographics")
    idx = np.arange(n)
    day = (idx // subjects) % 300
    dates = (pd.Timestamp("2020-01-01") + pd.to_timedelta(day, unit="D")).strftime("%Y-%m-%d")
    dates = dates.to_numpy(dtype=object)
    terms = np.array(["HEADACHE", "NAUSEA", "FATIGUE", "RASH"], dtype=object)
    ae = pd.DataFrame({
        "STUDYID": "BIG", "DOMAIN": "AE", "USUBJID": subj[idx % subjects],
        "AESEQ": (idx // subjects + 1).astype(float), "AETERM": terms[idx % 4],
        "AEDECOD": terms[(idx // 7) % 4], "AESTDTC": dates, "AEENDTC": dates,
        "AESTDY": (day + 1).astype(float), "AEENDY": (day + 1).astype(float)})
    ae.loc[5, "AEENDTC"] = "2019-12-31"  # one start-after-end error among a million
    write_xpt(ae, folder / "ae.xpt", name="AE", label="Adverse Events")
    del ae
    code, info, _ = run(folder, tmp_path, formats="html,json,csv", timeout=300)
    assert code == 1  # the planted error and the missing TS
    assert {"DT-START-END", "XD-TS-MISSING"} <= set(info["rules"])
    assert info["seconds"] < 60, info
