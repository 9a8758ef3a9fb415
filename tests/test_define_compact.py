"""define.xml and its data checks from frames whose text is held as codes (``run``'s XPT
echoes: ``io.numbering.compact_text``): the same files and the same findings as from the
files read back (objects)."""
from __future__ import annotations

import pandas as pd

from cdisc_convert.core.resources import bundled_study
from cdisc_convert.define.api import read_xpt_files, validate_define, write_define
from cdisc_convert.io.numbering import compact_text
from cdisc_convert.standards.extensions import using_study


def _described(folder, out, frames):
    study = bundled_study()
    with using_study(study):
        path = write_define(folder, out / "define.xml", study=study, xpt_frames=frames)
        problems = validate_define(path, folder, xpt_frames=frames)
    return path.read_bytes(), path.with_suffix(".html").read_bytes(), problems


def test_adam_and_sdtm_described_from_codes_as_from_objects(bundled_run, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    for part in ("adam", "sdtm"):
        folder = bundled_run / part
        objects = read_xpt_files(folder, None)
        codes = {name: compact_text(frame) for name, frame in objects.items()}
        assert any(isinstance(dtype, pd.CategoricalDtype)
                   for frame in codes.values() for dtype in frame.dtypes)
        (tmp_path / part / "o").mkdir(parents=True)
        (tmp_path / part / "c").mkdir()
        assert _described(folder, tmp_path / part / "c", codes) == \
            _described(folder, tmp_path / part / "o", objects), part


def test_a_finding_in_data_held_as_codes_is_the_same_finding(bundled_run, tmp_path):
    """A value outside its codelist and a value longer than its declared length, found in
    the codes as in the objects (the define.xml written from the clean data)."""
    folder = bundled_run / "adam"
    clean = read_xpt_files(folder, None)
    study = bundled_study()
    with using_study(study):
        path = write_define(folder, tmp_path / "define.xml", study=study, xpt_frames=clean)
    broken = {name: frame.copy() for name, frame in clean.items()}
    adsl = broken["ADSL"]
    adsl.loc[adsl.index[0], "SEX"] = "Q"
    adsl.loc[adsl.index[1], "USUBJID"] = adsl.loc[adsl.index[1], "USUBJID"] + "-TOO-LONG-NOW"
    found = {}
    for kind, frames in (("objects", broken),
                         ("codes", {n: compact_text(f) for n, f in broken.items()})):
        with using_study(study):
            found[kind] = validate_define(path, folder, xpt_frames=frames)
    assert found["codes"] == found["objects"]
    assert any("Q" in p for p in found["objects"]) and len(found["objects"]) >= 2
