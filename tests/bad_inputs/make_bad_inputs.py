"""Regenerate the small bad-input corpus in this folder (the files are committed).

    python tests/bad_inputs/make_bad_inputs.py

Each sub-folder is one case for ``cdisc-convert validate`` (see README.md for what each
must give). Big inputs (a 1,000,000-record dataset) and symbolic links are made at test
time by tests/test_validate_robustness.py, never committed.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from cdisc_convert.io.xpt import write_xpt

HERE = Path(__file__).resolve().parent
os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")  # byte-identical regeneration


def dm() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": ["BAD1", "BAD1"], "DOMAIN": ["DM", "DM"], "USUBJID": ["BAD1-001", "BAD1-002"],
        "SUBJID": ["001", "002"], "RFSTDTC": ["2020-01-02", "2020-01-05"],
        "RFENDTC": ["2020-06-01", "2020-06-03"], "SITEID": ["01", "01"],
        "SEX": ["F", "M"], "ARMCD": ["A", "A"], "ARM": ["Arm A", "Arm A"],
        "ACTARMCD": ["A", "A"], "ACTARM": ["Arm A", "Arm A"], "COUNTRY": ["USA", "USA"],
    })


def ae() -> pd.DataFrame:
    return pd.DataFrame({
        "STUDYID": ["BAD1"] * 2, "DOMAIN": ["AE"] * 2, "USUBJID": ["BAD1-001", "BAD1-002"],
        "AESEQ": [1.0, 1.0], "AETERM": ["HEADACHE", "NAUSEA"],
        "AEDECOD": ["Headache", "Nausea"], "AESTDTC": ["2020-01-03", "2020-01-06"],
    })


def fresh(name: str) -> Path:
    folder = HERE / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return folder


def main() -> None:
    # truncated XPT: a valid file cut in the middle of a record, and one cut at a record
    # boundary inside the observations
    folder = fresh("truncated_xpt")
    write_xpt(dm(), folder / "dm.xpt", name="DM", label="Demographics")
    data = (folder / "dm.xpt").read_bytes()
    (folder / "dm.xpt").write_bytes(data[:1000])
    write_xpt(ae(), folder / "ae.xpt", name="AE", label="Adverse Events")
    data = (folder / "ae.xpt").read_bytes()
    (folder / "ae.xpt").write_bytes(data[: len(data) - 160])

    # an "XPT" that is an HTML error page (a download that went wrong)
    folder = fresh("html_as_xpt")
    (folder / "dm.xpt").write_text(
        "<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>\n"
        "<body><h1>Not Found</h1><p>The requested URL was not found.</p></body></html>\n",
        encoding="ascii")

    # Windows-1252 text in an XPT (an e-acute and a right single quote)
    folder = fresh("cp1252_xpt")
    frame = dm()
    frame.loc[0, "ARM"] = frame.loc[1, "ARM"] = "Arm A #"
    frame.loc[0, "ACTARM"] = frame.loc[1, "ACTARM"] = "Arm A #"
    write_xpt(frame, folder / "dm.xpt", name="DM", label="Demographics")
    data = (folder / "dm.xpt").read_bytes()
    header_end = data.index(b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!") + 80
    body = data[header_end:].replace(b"Arm A #", b"Arm A \x92")  # cp1252 right quote
    (folder / "dm.xpt").write_bytes(data[:header_end] + body)

    # define.xml with an external entity (XXE) reading /etc/passwd
    folder = fresh("xxe_define")
    write_xpt(dm(), folder / "dm.xpt", name="DM", label="Demographics")
    (folder / "define.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE ODM [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileOID="X">\n'
        '  <Study OID="S"><GlobalVariables><StudyName>&xxe;</StudyName>'
        '<StudyDescription>x</StudyDescription><ProtocolName>x</ProtocolName>'
        "</GlobalVariables></Study>\n</ODM>\n", encoding="utf-8")

    # define.xml with a billion-laughs entity expansion
    folder = fresh("billion_laughs_define")
    write_xpt(dm(), folder / "dm.xpt", name="DM", label="Demographics")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<!DOCTYPE ODM [",
             '  <!ENTITY lol "lol">']
    lines += [f'  <!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">'
              for i in range(1, 10)]
    lines += ["]>", '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">&lol9;</ODM>', ""]
    (folder / "define.xml").write_text("\n".join(lines), encoding="utf-8")

    # Dataset-JSON whose top-level object repeats keys ("name" twice, "label" twice)
    folder = fresh("duplicate_json_keys")
    doc = {
        "datasetJSONCreationDateTime": "2023-11-14T22:13:20", "datasetJSONVersion": "1.1.0",
        "itemGroupOID": "IG.DM", "records": 1, "name": "DM", "label": "Demographics",
        "columns": [
            {"itemOID": "IT.DM.STUDYID", "name": "STUDYID", "label": "Study Identifier",
             "dataType": "string"},
            {"itemOID": "IT.DM.DOMAIN", "name": "DOMAIN", "label": "Domain Abbreviation",
             "dataType": "string"},
            {"itemOID": "IT.DM.USUBJID", "name": "USUBJID",
             "label": "Unique Subject Identifier", "dataType": "string"},
        ],
        "rows": [["BAD1", "DM", "BAD1-001"]],
    }
    text = json.dumps(doc, indent=1)
    text = text.replace('"name": "DM",', '"name": "AE",\n "name": "DM",', 1)
    text = text.replace('"label": "Demographics",',
                        '"label": "Demographics",\n "label": "Demographics (copy)",', 1)
    (folder / "dm.json").write_text(text + "\n", encoding="utf-8")

    # duplicate records and natural keys in an XPT
    folder = fresh("duplicate_records")
    write_xpt(dm(), folder / "dm.xpt", name="DM", label="Demographics")
    frame = pd.concat([ae(), ae().iloc[[0]]], ignore_index=True)
    frame["AESEQ"] = [1.0, 1.0, 2.0]
    write_xpt(frame, folder / "ae.xpt", name="AE", label="Adverse Events")

    # SDTM without DM (and without TS)
    folder = fresh("missing_dm")
    write_xpt(ae(), folder / "ae.xpt", name="AE", label="Adverse Events")

    # empty files (0 bytes) in each readable format
    folder = fresh("empty_files")
    for name in ("dm.xpt", "ae.csv", "ts.json"):
        (folder / name).write_bytes(b"")


if __name__ == "__main__":
    main()
