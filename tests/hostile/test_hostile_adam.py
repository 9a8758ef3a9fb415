"""Hostile SDTM/ADaM input folders for `adam` and `report`: each case states its exact rule.

Cases (parametrized; 38 in all): entries that are no regular file (6), symbolic links (5),
dataset names that contradict file names (3), JSON nested 100,000 deep (4), DM without
records (3), records of subjects missing from DM (5), report inputs (12).
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from cdisc_convert.io.datasetjson import write_dataset_json
from cdisc_convert.io.read_folder import read_folder
from cdisc_convert.io.folder import write_folder
from cdisc_convert.io.xpt import write_xpt
from hostile_helpers import case_timeout, cli  # noqa: F401 (autouse fixture)


@pytest.fixture(scope="module")
def bundled(bundled_run):
    """The bundled study's outputs (SDTM and ADaM as XPT, Dataset-JSON and CSV): the
    session's one run (conftest.bundled_run); the cases copy what they change."""
    return bundled_run


def _copy(src, dst, suffix=".xpt"):
    dst.mkdir(parents=True, exist_ok=True)
    for path in src.glob(f"*{suffix}"):
        shutil.copy(path, dst / path.name)
    return dst


# ------------------------------------------------------------------ not a regular file
@pytest.mark.parametrize("entry", ["ae.xpt", "ae.json", "ae.csv", "ae.ndjson"])
def test_named_pipe_in_the_input_folder_is_refused_never_opened(bundled, tmp_path, entry):
    folder = _copy(bundled / "sdtm", tmp_path / "sdtm")
    (folder / entry).unlink(missing_ok=True)
    os.mkfifo(folder / entry)
    code, out = cli("adam", folder, "--out", tmp_path / "adam")
    assert code == 2 and "[READ-NOT-FILE]" in out and "named pipe" in out and entry in out, out


def test_named_pipe_in_the_adam_folder_is_refused_by_report(bundled, tmp_path):
    folder = _copy(bundled / "adam", tmp_path / "adam")
    os.mkfifo(folder / "adzz.xpt")
    code, out = cli("report", folder, "--out", tmp_path / "rep")
    assert code == 2 and "[READ-NOT-FILE]" in out and "adzz.xpt" in out, out


def test_folder_named_like_a_dataset_is_refused(bundled, tmp_path):
    folder = _copy(bundled / "sdtm", tmp_path / "sdtm")
    (folder / "zz.xpt").mkdir()
    code, out = cli("adam", folder, "--out", tmp_path / "adam")
    assert code == 2 and "[READ-NOT-FILE]" in out and "a folder" in out, out


# ------------------------------------------------------------------ symbolic links
LINKS = {
    "dm.xpt to /etc/passwd": ("dm.xpt", "/etc/passwd", "[READ-SYMLINK]"),
    "ae.csv to /etc/hostname": ("ae.csv", "/etc/hostname", "[READ-SYMLINK]"),
    "ae.json to /proc/self/environ": ("ae.json", "/proc/self/environ", "[READ-SYMLINK]"),
    "broken link": ("ae.xpt", "nowhere/ae.xpt", "[READ-SYMLINK]"),
}


@pytest.mark.parametrize("case", LINKS)
def test_symbolic_link_out_of_the_folder_is_refused(bundled, tmp_path, case):
    name, target, rule = LINKS[case]
    folder = _copy(bundled / "sdtm", tmp_path / "sdtm")
    (folder / name).unlink(missing_ok=True)
    (folder / name).symlink_to(target)
    code, out = cli("adam", folder, "--out", tmp_path / "adam")
    assert code == 2 and rule in out and name in out, out


def test_symbolic_link_inside_the_folder_is_followed(bundled, tmp_path):
    folder = _copy(bundled / "sdtm", tmp_path / "sdtm")
    (folder / "ae.xpt").rename(folder / "ae-data.bin")
    (folder / "ae.xpt").symlink_to(folder / "ae-data.bin")
    assert len(read_folder(folder)["AE"]) == len(read_folder(bundled / "sdtm")["AE"])


# ------------------------------------------------------------------ dataset names
def test_dm_xpt_holding_ae_is_refused(bundled, tmp_path):
    folder = _copy(bundled / "sdtm", tmp_path / "sdtm")
    shutil.copy(folder / "ae.xpt", folder / "dm.xpt")
    code, out = cli("adam", folder, "--out", tmp_path / "adam")
    assert code == 2 and "[READ-DATASET-NAME]" in out and "holds dataset AE" in out, out


@pytest.mark.parametrize("suffix", [".json", ".ndjson"])
def test_dm_json_holding_ae_is_refused(bundled, tmp_path, suffix):
    folder = tmp_path / "sdtm"
    folder.mkdir()
    for name, frame in read_folder(bundled / "sdtm").items():
        if name in ("DM", "AE"):
            write_dataset_json(frame, folder / f"{name.lower()}{suffix}", name=name,
                               label=name, ndjson=suffix == ".ndjson")
    write_dataset_json(read_folder(bundled / "sdtm")["AE"], folder / f"dm{suffix}", name="AE",
                       label="Adverse Events", ndjson=suffix == ".ndjson")
    code, out = cli("adam", folder, "--out", tmp_path / "adam")
    assert code == 2 and "[READ-DATASET-NAME]" in out, out


# ------------------------------------------------------------------ JSON nested deep
DEEP = {
    "arrays .json": ("ae.json", "[" * 100_000 + "]" * 100_000),
    "objects .json": ("ae.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
    "rows nested .json": ("ae.json", '{"name":"AE","rows":' + "[" * 100_000 + "]" * 100_000 + "}"),
    "ndjson row": ("ae.ndjson", '{"name":"AE"}\n' + "[" * 100_000 + "]" * 100_000 + "\n"),
}


@pytest.mark.parametrize("case", DEEP)
def test_json_nested_100k_deep_is_a_clear_error(bundled, tmp_path, case):
    name, text = DEEP[case]
    folder = _copy(bundled / "sdtm", tmp_path / "sdtm")
    (folder / "ae.xpt").unlink()
    (folder / name).write_text(text)
    code, out = cli("adam", folder, "--out", tmp_path / "adam")
    assert code == 2 and "nested too deeply" in out and name in out, out


# ------------------------------------------------------------------ empty DM
@pytest.mark.parametrize("fmt", ["xpt", "json", "csv"])
def test_dm_without_records_is_a_clear_error(bundled, tmp_path, fmt):
    sdtm = read_folder(bundled / "sdtm")
    sdtm["DM"] = sdtm["DM"].iloc[0:0]
    write_folder(sdtm, tmp_path / "sdtm", formats=(fmt,))
    code, out = cli("adam", tmp_path / "sdtm", "--out", tmp_path / "adam")
    assert code == 2 and "[ADAM-DM-EMPTY]" in out, out
    assert not (tmp_path / "adam").exists()


# ------------------------------------------------------------------ subjects not in DM
@pytest.mark.parametrize("domain", ["TR", "RS", "TU", "AE", "DS"])
def test_records_of_subjects_missing_from_dm_are_an_error(bundled, tmp_path, domain):
    sdtm = read_folder(bundled / "sdtm")
    frame = sdtm[domain]
    ghost = frame[frame["USUBJID"] == frame["USUBJID"].iloc[0]].copy()
    ghost["USUBJID"] = "GHOST-999"
    sdtm[domain] = pd.concat([frame, ghost], ignore_index=True)
    write_folder(sdtm, tmp_path / "sdtm", formats=("xpt",))
    code, out = cli("adam", tmp_path / "sdtm", "--out", tmp_path / "adam")
    assert code == 2 and "[ADAM-SUBJECT-NOT-IN-DM]" in out, out
    assert f"{domain}: 1 subject(s) not in DM (GHOST-999)" in out


# ------------------------------------------------------------------ report inputs
@pytest.fixture(scope="module")
def bundled_adam(bundled):
    """The bundled run's ADaM datasets, read once; the cases change copies (_adam)."""
    return read_folder(bundled / "adam")


def _adam(bundled_adam):
    return {name: frame.copy() for name, frame in bundled_adam.items()}


def _adam_folder(folder, adam, bundled_adam):
    """``adam`` as an XPT folder: the data sets a case changed are written, the others are
    the run's files copied (the same data; writing all eight cost more than the report)."""
    folder.mkdir(parents=True)
    changed = {}
    for name, frame in adam.items():
        original = bundled_adam[name]
        if frame.equals(original) and list(frame.columns) == list(original.columns):
            shutil.copy(original.attrs["path"], folder)
        else:
            changed[name] = frame
    write_folder(changed, folder, standard="adamig-1.3", formats=("xpt",))
    return folder


def _report(tmp_path, adam, bundled_adam):
    from conftest import REPO

    _adam_folder(tmp_path / "adam", adam, bundled_adam)
    code, out = cli("report", tmp_path / "adam", "--out", tmp_path / "rep",
                    "--study", REPO / "mappings" / "sorafenib_dtic")
    results = None
    if (tmp_path / "rep" / "results.json").exists():
        results = json.loads((tmp_path / "rep" / "results.json").read_text(),
                             parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
    return code, out, results


@pytest.mark.parametrize("which", ["ADSL only", "every dataset"])
def test_report_on_adsl_without_records_is_a_clear_error(bundled_adam, tmp_path, which):
    adam = _adam(bundled_adam)
    adam = {k: (v.iloc[0:0] if which == "every dataset" or k == "ADSL" else v)
            for k, v in adam.items()}
    code, out, _ = _report(tmp_path, adam, bundled_adam)
    assert code == 2 and "[REPORT-ADSL-EMPTY]" in out, out


# the fast tier keeps CNSR-OS; a missing AVAL is left out by the same rule, which
# test_report_with_every_aval_missing covers there too (each case is a whole report)
@pytest.mark.parametrize("column,paramcd", [pytest.param("AVAL", "PFS", marks=pytest.mark.slow),
                                            pytest.param("AVAL", "OS", marks=pytest.mark.slow),
                                            ("CNSR", "OS")])
def test_report_leaves_out_and_counts_time_to_event_records_without_a_value(
        bundled_adam, tmp_path, column, paramcd):
    adam = _adam(bundled_adam)
    tte = adam["ADTTE"]
    hit = (tte["PARAMCD"] == paramcd) & (tte.groupby("PARAMCD").cumcount() < 3)
    tte.loc[hit, column] = np.nan
    code, out, results = _report(tmp_path, adam, bundled_adam)
    assert code == 0, out
    key = {"PFS": "pfs", "OS": "os"}[paramcd]
    assert results[key]["records_left_out"] == 3 and results[key]["N"] == 37 - 3
    assert "3 record(s) without a usable AVAL/CNSR left out" in (
        tmp_path / "rep" / "results.html").read_text()


def test_report_with_every_aval_missing(bundled_adam, tmp_path):
    adam = _adam(bundled_adam)
    adam["ADTTE"]["AVAL"] = np.nan
    code, out, results = _report(tmp_path, adam, bundled_adam)
    assert code == 0, out
    assert results["pfs"]["N"] == 0 and results["pfs"]["records_left_out"] == 37
    assert results["pfs"]["median"] is None


def test_report_with_missing_pchg_in_adtr(bundled_adam, tmp_path):
    adam = _adam(bundled_adam)
    adam["ADTR"]["PCHG"] = np.nan
    code, out, results = _report(tmp_path, adam, bundled_adam)
    assert code == 0, out
    assert not (tmp_path / "rep" / "waterfall_size.svg").exists()


@pytest.mark.parametrize("drop", ["AGE", "SEX"])
def test_report_on_adsl_without_a_demographic_variable(bundled_adam, tmp_path, drop):
    adam = _adam(bundled_adam)
    adam["ADSL"] = adam["ADSL"].drop(columns=[c for c in adam["ADSL"] if c.startswith(drop)])
    code, out, _ = _report(tmp_path, adam, bundled_adam)     # the study's report.yaml needs it
    assert code == 2 and "[REPORT-REQUIRED-VARIABLE]" in out and drop in out, out
    _adam_folder(tmp_path / "adam2", adam, bundled_adam)
    code, out = cli("report", tmp_path / "adam2", "--out", tmp_path / "rep2")   # default spec
    results = json.loads((tmp_path / "rep2" / "results.json").read_text())
    assert code == 0 and drop.lower() not in results and results["N"] == 37, out


def test_report_when_every_age_is_missing(bundled_adam, tmp_path):
    adam = _adam(bundled_adam)
    adam["ADSL"]["AGE"] = np.nan
    code, out, results = _report(tmp_path, adam, bundled_adam)
    assert code == 0 and "age" not in results, out


def test_report_with_no_subject_in_the_population(bundled_adam, tmp_path):
    adam = _adam(bundled_adam)
    adam["ADSL"]["ITTFL"] = "N"
    code, out, results = _report(tmp_path, adam, bundled_adam)
    assert code == 0, out
    assert results["N"] == 0 and "age" not in results and results["pfs"]["N"] == 0
    assert "Median PFS</th><td>no records" in (tmp_path / "rep" / "results.html").read_text()


def test_three_subject_dm_only_study_without_age_runs_adam_and_report(tmp_path):
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    dm = pd.DataFrame({
        "STUDYID": ["X"] * 3, "DOMAIN": ["DM"] * 3, "USUBJID": ["X-1", "X-2", "X-3"],
        "SUBJID": ["1", "2", "3"], "RFSTDTC": ["2020-01-01"] * 3,
        "RFXSTDTC": ["2020-01-01"] * 3, "SITEID": ["01"] * 3, "SEX": ["F", "M", "F"],
        "ARMCD": ["A"] * 3, "ARM": ["Arm A"] * 3, "ACTARMCD": ["A"] * 3,
        "ACTARM": ["Arm A"] * 3, "COUNTRY": ["USA"] * 3})
    write_xpt(dm, sdtm / "dm.xpt", name="DM", label="Demographics")
    code, out = cli("adam", sdtm, "--out", tmp_path / "adam")
    assert code == 0, out
    code, out = cli("report", tmp_path / "adam", "--out", tmp_path / "rep")
    assert code == 0, out
    results = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert results["N"] == 3 and results["sex"] == {"F": 2, "M": 1} and "age" not in results
