"""The bundled study mapped to SDTM: the published baseline figures come out of SDTM alone."""
from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner

from cdisc_convert.cli import main
from cdisc_convert.sdtm.engine import map_study
from conftest import REPO

STUDY = REPO / "mappings" / "sorafenib_dtic"
RAW = REPO / "fixtures" / "sorafenib_dtic" / "raw"


@pytest.fixture(scope="module")
def sdtm(bundled_sdtm):
    """The bundled study mapped once per session (conftest.bundled_sdtm)."""
    return bundled_sdtm


def test_mapping_has_no_error_findings(sdtm):
    assert sdtm.findings[sdtm.findings["severity"] == "error"].empty, sdtm.findings.head()


def test_dm_figures_match_the_publication(sdtm):
    dm = sdtm.domains["DM"]
    assert len(dm) == 37 and dm["USUBJID"].is_unique
    assert (dm["SEX"] == "F").sum() == 19
    assert dm["AGE"].median() == 55 and dm["AGE"].min() == 26 and dm["AGE"].max() == 87
    # starting-dose cohorts: patients 1-25 at 1000 mg/m2, 26-37 at 850 mg/m2
    patno = dm["SUBJID"].str[-3:].astype(int)
    assert (dm.loc[patno <= 25, "ARMCD"] == "SORDTIC1000").all()
    assert (dm.loc[patno > 25, "ARMCD"] == "SORDTIC850").all()


def test_histology_counts_from_mh(sdtm):
    mh = sdtm.domains["MH"]
    # MH holds the primary diagnosis only, so without MHCAT (SDTMIG 3.4 MH assumption 3.a.1)
    assert "MHCAT" not in mh.columns and mh["USUBJID"].is_unique
    counts = mh["MHDECOD"].value_counts().to_dict()
    assert counts == {"LEIOMYOSARCOMA": 22, "SYNOVIAL SARCOMA": 11,
                      "MALIGNANT PERIPHERAL NERVE SHEATH TUMOUR": 4}


def test_exactly_one_grade_5_febrile_neutropenia(sdtm):
    ae = sdtm.domains["AE"]
    grade5 = ae[ae["AETOXGR"] == "5"]
    assert len(grade5) == 1
    assert grade5["AEDECOD"].iloc[0] == "FEBRILE NEUTROPENIA"
    assert grade5["AEOUT"].iloc[0] == "FATAL" and grade5["AESDTH"].iloc[0] == "Y"
    # the death is in DM too
    dm = sdtm.domains["DM"].set_index("USUBJID")
    assert dm.loc[grade5["USUBJID"].iloc[0], "DTHFL"] == "Y"


MEDDRA_VARIABLES = ["AELLT", "AELLTCD", "AEDECOD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT",
                    "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD"]


def test_ae_carries_the_whole_meddra_hierarchy(sdtm):
    """SDTMIG 3.4 AE (CORE CG0016): every MedDRA variable present and filled on every record,
    codes numeric, one code per name, and the primary SOC (AEBODSYS) equal to AESOC."""
    ae = sdtm.domains["AE"]
    assert [v for v in MEDDRA_VARIABLES if v not in ae.columns] == []
    filled = ae[MEDDRA_VARIABLES].astype(str).apply(lambda c: c.str.strip() != "")
    assert filled.all().all()
    for name, code in [("AELLT", "AELLTCD"), ("AEDECOD", "AEPTCD"), ("AEHLT", "AEHLTCD"),
                       ("AEHLGT", "AEHLGTCD"), ("AESOC", "AESOCCD")]:
        assert pd.api.types.is_float_dtype(ae[code]) and ae[code].notna().all()
        assert (ae.groupby(name)[code].nunique() == 1).all(), name
    assert (ae["AEBODSYS"] == ae["AESOC"]).all() and (ae["AEBDSYCD"] == ae["AESOCCD"]).all()
    fn = ae[ae["AEDECOD"] == "FEBRILE NEUTROPENIA"].iloc[0]
    assert (fn["AEHLT"], fn["AESOC"]) == ("NEUTROPENIAS", "BLOOD AND LYMPHATIC SYSTEM DISORDERS")


def test_a_coding_table_of_another_meddra_version_is_an_error(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for f in RAW.glob("*.csv"):
        (raw / f.name).write_bytes(f.read_bytes())
    coding = pd.read_csv(raw / "ae_coding.csv", dtype=str, keep_default_na=False)
    coding.loc[3, "MEDDRA_VERSION"] = "19.0"
    coding.to_csv(raw / "ae_coding.csv", index=False)
    findings = map_study(STUDY, raw).findings
    bad = findings[findings["rule"] == "MAP-DICT-VERSION"]
    assert len(bad) == 1 and bad["severity"].iloc[0] == "error"
    assert bad["value"].iloc[0] == "19.0" and int(bad["row"].iloc[0]) == 4


def test_mh_primary_diagnosis_is_ongoing_at_consent(sdtm):
    """SDTMIG 3.4 MH timing (CORE CG0219): MHENRTPT ONGOING relative to MHENTPT = consent."""
    mh, dm = sdtm.domains["MH"], sdtm.domains["DM"].set_index("USUBJID")
    assert (mh["MHENRTPT"] == "ONGOING").all()
    assert (mh["MHENTPT"].to_numpy() == dm.loc[mh["USUBJID"], "RFICDTC"].to_numpy()).all()


def test_reference_dates_come_from_exposure(sdtm):
    dm, ex = sdtm.domains["DM"].set_index("USUBJID"), sdtm.domains["EX"]
    first = ex.groupby("USUBJID")["EXSTDTC"].min()
    last = ex.groupby("USUBJID")["EXENDTC"].max()
    assert (dm.loc[first.index, "RFXSTDTC"] == first).all()
    assert (dm.loc[last.index, "RFXENDTC"] == last).all()
    assert (dm["RFSTDTC"] == dm["RFXSTDTC"]).all()


def test_study_day_has_no_day_zero_and_matches_dates(sdtm):
    ex = sdtm.domains["EX"]
    assert (ex["EXSTDY"] != 0).all()
    rf = ex["USUBJID"].map(sdtm.domains["DM"].set_index("USUBJID")["RFSTDTC"])
    days = (pd.to_datetime(ex["EXSTDTC"]) - pd.to_datetime(rf)).dt.days
    expected = days.where(days < 0, days + 1)
    assert (ex["EXSTDY"] == expected).all()


def test_tr_is_long_with_diameters_in_mm_and_density_in_hu(sdtm):
    tr = sdtm.domains["TR"]
    assert set(tr["TRTESTCD"]) == {"LDIAM", "LPERP", "RADIODEN", "TUMSTATE"}
    cm = tr[tr["TRORRESU"] == "cm"]
    assert len(cm) > 0
    assert (cm["TRSTRESN"] == (cm["TRORRES"].astype(float) * 10).round(6)).all()
    assert (cm["TRSTRESU"] == "mm").all()
    not_done = tr[tr["TRSTAT"] == "NOT DONE"]
    assert len(not_done) >= 1 and not_done["TRSTRESN"].isna().all()
    # every subject has one baseline flag per lesion and test measured at baseline
    flagged = tr[tr["TRLOBXFL"] == "Y"]
    assert not flagged.duplicated(["USUBJID", "TRLNKID", "TRTESTCD"]).any()
    assert (flagged["VISIT"] == "BASELINE").all()


def test_unscheduled_scan_gets_a_fractional_visitnum(sdtm):
    tr = sdtm.domains["TR"]
    unscheduled = tr[tr["VISIT"].str.startswith("UNSCHEDULED")]
    assert len(unscheduled) > 0
    assert (unscheduled["VISITNUM"] % 1 > 0).all()


def test_rs_has_both_criteria_and_links_to_tu(sdtm):
    rs, tu, tr = sdtm.domains["RS"], sdtm.domains["TU"], sdtm.domains["TR"]
    assert set(rs["RSCAT"]) == {"RECIST 1.1", "CHOI GIST 2008"}
    assert set(rs["RSTESTCD"]) == {"OVRLRESP", "TRGRESP", "NTRGRESP", "NEWLPROG"}
    lesions = set(zip(tu["USUBJID"], tu["TULNKID"]))
    assert set(zip(tr["USUBJID"], tr["TRLNKID"])) <= lesions


def test_supp_records_point_at_parent_records(sdtm):
    ae, supp = sdtm.domains["AE"], sdtm.domains["SUPPAE"]
    parents = set(zip(ae["USUBJID"], ae["AESEQ"].map(lambda v: f"{v:.0f}")))
    assert set(zip(supp["USUBJID"], supp["IDVARVAL"])) <= parents
    assert set(supp["QNAM"]) == {"AERELSOR", "AERELDTI", "AEACNSOR", "AEACNDTI"}


def test_every_raw_row_is_mapped_or_explained(sdtm):
    """Nothing silently dropped: only the six sorafenib interruption rows stay out."""
    unmapped = sdtm.unmapped
    assert set(unmapped["table"]) == {"sorafenib.csv"}
    raw = pd.read_csv(RAW / "sorafenib.csv", dtype=str)
    interruptions = set((raw.index[raw["SORDOSE"] == "0"] + 1).tolist())
    assert set(unmapped["row"]) == interruptions
    assert unmapped["reason"].str.contains("SORDOSE").all()


@pytest.mark.slow          # a whole mapping by the CLI; the fast tier: test_cli's tiny study
def test_cli_writes_xpt_v5_and_csv(tmp_path):
    out = tmp_path / "sdtm"
    result = CliRunner().invoke(main, ["sdtm", str(STUDY), "--raw", str(RAW), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame, meta = pyreadstat.read_xport(str(out / "dm.xpt"))
    assert meta.table_name == "DM" and meta.file_label == "Demographics"
    assert len(frame) == 37 and meta.column_names_to_labels["USUBJID"] == "Unique Subject Identifier"
    csv = pd.read_csv(out / "dm.csv", dtype=str, keep_default_na=False)
    assert list(csv.columns) == list(frame.columns)
    assert (out / "unmapped.csv").is_file() and (out / "mapping_findings.csv").is_file()


def test_domains_pass_their_schemas(sdtm):
    from cdisc_convert.conformance.schemas import check_folder

    findings = check_folder(sdtm.domains)
    assert findings[findings["severity"] == "error"].empty, findings.head()
    # no warning either: the coding table carries the whole MedDRA hierarchy with codes
    assert findings[findings["severity"] == "warning"].empty, findings.head()
    # NEWLPROG's Y/N results are checked against NY (value level), the others against ONCRSR
    rs = sdtm.domains["RS"]
    assert set(rs.loc[rs["RSTESTCD"] == "NEWLPROG", "RSSTRESC"]) == {"Y", "N"}


def test_pilot_domains_pass_their_schemas(reference):
    from cdisc_convert.conformance.schemas import check_folder

    pilot = map_study(REPO / "mappings" / "cdiscpilot01", reference / "pharmaverse" / "raw")
    findings = check_folder(pilot.domains)
    assert findings[findings["severity"] == "error"].empty, findings.head()
