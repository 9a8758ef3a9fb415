"""tools/core_cache.py: the SDTMIG 3.4 metadata cache for an outside CDISC CORE run, built
from specs/ (the layout CORE reads is what its own cache populator writes)."""
from __future__ import annotations

import importlib.util
import pickle

import pytest

from conftest import REPO

spec = importlib.util.spec_from_file_location("core_cache", REPO / "tools" / "core_cache.py")
core_cache = importlib.util.module_from_spec(spec)
spec.loader.exec_module(core_cache)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One ``write_cache`` (about a second) whose files every test reads; (folder, paths)."""
    folder = tmp_path_factory.mktemp("core-cache")
    return folder, core_cache.write_cache(folder)


def test_the_cache_files_and_their_keys(cache):
    folder, written = cache
    assert sorted(p.name for p in written) == sorted([
        "standards_details.pkl", "standards_models.pkl", "variables_metadata.pkl",
        "sdtmct-2025-03-28.pkl"])
    ig = pickle.loads((folder / "standards_details.pkl").read_bytes())["standards/sdtmig/3-4"]
    assert ig["_links"]["model"]["href"] == "/mdr/sdtm/2-0" and len(ig["dataset_names"]) == 63
    events = next(c for c in ig["classes"] if c["name"] == "Events")
    ae = next(d for d in events["datasets"] if d["name"] == "AE")
    aeterm = next(v for v in ae["datasetVariables"] if v["name"] == "AETERM")
    assert (aeterm["core"], aeterm["role"], aeterm["ordinal"]) == ("Req", "Topic", "9")  # SDTMIG 3.4 AE: 9th variable
    aeser = next(v for v in ae["datasetVariables"] if v["name"] == "AESER")
    assert aeser["_links"]["codelist"] == [{"href": "/mdr/root/ct/sdtmct/codelists/C66742"}]
    variables = pickle.loads((folder / "variables_metadata.pkl").read_bytes())
    assert variables["library_variables_metadata/sdtmig/3-4"]["MH"]["MHENRTPT"]["role"] == "Timing"


def test_model_class_variables_are_generic_and_carry_no_core(cache):
    folder, _ = cache
    model = pickle.loads((folder / "standards_models.pkl").read_bytes())["models/sdtm/2-0"]
    by_name = {c["name"]: c for c in model["classes"]}
    shared = {v["name"]: v for v in by_name["General Observations"]["classVariables"]}
    # CM's CMSTRTPT makes --STRTPT a class Timing variable; VISITNUM keeps its name
    assert shared["--STRTPT"]["role"] == "Timing" and shared["VISITNUM"]["role"] == "Timing"
    assert shared["USUBJID"]["role"] == "Identifier"
    # identifiers first, ordinals 1..n
    roles = [v["role"] for v in sorted(shared.values(), key=lambda v: int(v["ordinal"]))]
    assert roles == sorted(roles, key=lambda r: r != "Identifier")
    # a model variable has no core: CORE's expected-variable rules read cores from the IG
    assert not any("core" in v for c in model["classes"] for v in c.get("classVariables", []))
    assert "--TERM" in {v["name"] for v in by_name["Events"]["classVariables"]}
    assert "DM" in model["dataset_names"] and "AE" not in model["dataset_names"]


def test_ct_package_has_codes_and_terms(cache):
    folder, _ = cache
    package = pickle.loads((folder / "sdtmct-2025-03-28.pkl").read_bytes())
    ny = next(c for c in package["codelists"] if c["conceptId"] == "C66742")
    assert ny["submissionValue"] == "NY" and ny["extensible"] is False
    assert {t["submissionValue"]: t["conceptId"] for t in ny["terms"]}["Y"] == "C49488"
