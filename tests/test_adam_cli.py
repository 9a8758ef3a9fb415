"""`cdisc-convert adam` on a mixed folder (XPT, CSV, Dataset-JSON) and without optional domains."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main
from cdisc_convert.io.datasetjson import write_dataset_json
from cdisc_convert.io.read_folder import read_folder
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"


@pytest.fixture(scope="module")
def sdtm_dir(bundled_run):
    return bundled_run / "sdtm"


def test_mixed_formats_and_no_ex(sdtm_dir, tmp_path):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    dm = pd.read_csv(sdtm_dir / "dm.csv", dtype=str, keep_default_na=False)
    dm["AGE"] = dm["AGE"].astype(float)
    write_dataset_json(dm, mixed / "DM.json", name="DM", label="Demographics")   # JSON
    shutil.copy(sdtm_dir / "rs.csv", mixed / "rs.csv")                          # CSV
    for name in ("tu", "tr", "ds", "mh", "ae"):                                   # XPT
        shutil.copy(sdtm_dir / f"{name}.xpt", mixed / f"{name}.xpt")
    out = tmp_path / "adam"
    result = CliRunner().invoke(main, ["adam", str(mixed), "--out", str(out),
                                       "--config", str(STUDY / "adam.yaml")])
    assert result.exit_code == 0, result.output
    adsl = read_folder(out)["ADSL"]
    # without EX, treatment start falls back to DM.RFXSTDTC
    start = adsl.set_index("USUBJID")["TRTSDT"]
    expected = pd.to_datetime(dm.set_index("USUBJID")["RFXSTDTC"])
    assert (pd.to_datetime(start).reindex(expected.index) == expected).all()
    adrs = read_folder(out)["ADRS"]
    assert (adrs.loc[adrs["PARAMCD"] == "DCR", "AVALC"] == "Y").sum() == 17


def test_folder_without_dm_is_a_clear_error(tmp_path):
    (tmp_path / "sdtm").mkdir()
    (tmp_path / "sdtm" / "ae.csv").write_text("STUDYID,USUBJID\nS,1\n")
    result = CliRunner().invoke(main, ["adam", str(tmp_path / "sdtm"), "--out",
                                       str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "no DM dataset" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_unknown_config_key_is_named(sdtm_dir, tmp_path):
    config = tmp_path / "adam.yaml"
    config.write_text("sd_min_day: 42\n")
    result = CliRunner().invoke(main, ["adam", str(sdtm_dir), "--out", str(tmp_path / "o"),
                                       "--config", str(config)])
    assert result.exit_code == 2
    assert "sd_min_day" in result.output
