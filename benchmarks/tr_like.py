"""A TR-like SDTM dataset of any size, all records valid, for timing the conformance check
(``benchmarks/run.py``) and testing it at scale (``tests/test_schemas.py``)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def tr_like(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n TR records (100 per subject: 10 lesion measurements x 10 visits), all valid."""
    per_subject = 100
    subjects = np.arange(n) // per_subject
    within = np.arange(n) % per_subject
    n_subjects = subjects[-1] + 1

    def spread(values, codes) -> np.ndarray:  # build few strings, index them (fast)
        return np.asarray(values, dtype=object)[codes]

    ids = [f"S1-{i:06d}" for i in range(n_subjects)]
    start = np.datetime64("2014-01-01") + (np.arange(n_subjects) % 300).astype("timedelta64[D]")
    rfstdtc = np.datetime_as_string(start, unit="D").astype(object)
    tests = ["LDIAM", "LPERP", "SUMDIAM", "LDIAM", "LPERP", "LDIAM", "LPERP", "LDIAM", "LPERP", "SUMDIAM"]
    names = {"LDIAM": "Longest Diameter", "LPERP": "Longest Perpendicular", "SUMDIAM": "Sum of Diameter"}
    visit = within // 10 + 1
    # visit v of subject s is on start(s) + 42 (v - 1): a (subject-start, visit) table
    visit_dates = (start[:, None] + (np.arange(10) * 42).astype("timedelta64[D]")[None, :])
    visit_dtc = np.datetime_as_string(visit_dates, unit="D").astype(object)
    values = np.round(10 + np.arange(500) / 10, 1)
    value_text = values.astype(str).astype(object)
    tr = pd.DataFrame({
        "STUDYID": "S1", "DOMAIN": "TR", "USUBJID": spread(ids, subjects),
        "TRSEQ": (within + 1).astype(float),
        "TRGRPID": "TARGET", "TRLNKID": spread([f"T{i:02d}" for i in range(10)], within % 10),
        "TRTESTCD": spread(tests, within % 10), "TRTEST": spread([names[t] for t in tests], within % 10),
        "TRORRES": value_text[np.arange(n) % 500], "TRORRESU": "mm",
        "TRSTRESC": value_text[np.arange(n) % 500], "TRSTRESN": values[np.arange(n) % 500],
        "TRSTRESU": "mm", "TREVAL": "INDEPENDENT ASSESSOR", "TREVALID": "RADIOLOGIST 1",
        "VISITNUM": visit.astype(float), "VISIT": spread([f"WEEK {v}" for v in range(1, 11)], visit - 1),
        "EPOCH": "TREATMENT", "TRDTC": visit_dtc[subjects, visit - 1],
        "TRDY": ((visit - 1) * 42 + 1).astype(float),
        "__table": "tr_raw.csv", "__row": np.arange(1, n + 1),
    })
    dm = pd.DataFrame({"STUDYID": "S1", "DOMAIN": "DM", "USUBJID": ids, "RFSTDTC": rfstdtc})
    return tr, dm
