#!/usr/bin/env python
"""Build the committed standard-metadata subset under ``specs/`` from public CDISC exports.

Run from the repository root::

    python tools/build_specs.py [--reference ../shared/reference] [--out specs]

Inputs (read in place, never copied into the repository):

* ``cdisc-metadata/sdtmig-3.4/{Datasets,Variables}.csv``  CDISC's SDTMIG v3.4 export
* ``cdisc-metadata/adamig-1.3/{DataStructures,Variables}.csv``  CDISC's ADaMIG v1.3 export
* ``ct/SDTM_Terminology_2025-03-25.txt``  NCI EVS SDTM CT (tab separated)
* ``cdisc-metadata/ct-2025-03-28/ADaM_CT_2025-03-28.csv``, ``Define-XML_CT_2025-03-28.csv``
* ``specs/sdtmig-3.4/keys.yaml``  hand-kept natural keys (ours, not CDISC's export)

Outputs (all sorted, no timestamps: re-running gives byte-identical files):

* ``sdtmig-3.4/datasets.csv``, ``sdtmig-3.4/variables.csv``
* ``adamig-1.3/datastructures.csv``, ``adamig-1.3/variables.csv``
* ``ct/sdtm-ct.csv``, ``ct/adam-ct.csv``, ``ct/define-xml-ct.csv``, ``ct/README.md``

See ``specs/README.md`` for the file formats.
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"
KEYS_FILE = REPO / "specs" / "sdtmig-3.4" / "keys.yaml"

SDTM_DOMAINS = ["DM", "EX", "AE", "MH", "TU", "TR", "RS", "DS", "TS", "SUPPQUAL"]
SEP = ";"  # separator for multi-valued cells in every generated file

# --- controlled terminology selection -------------------------------------------------
# Besides every codelist referenced by a variable of SDTM_DOMAINS (looked up by C-code in
# Variables.csv), these codelists are included by their short name (the submission value
# of the codelist header row). Names that are *not* codelists in CDISC CT and therefore are
# not here: TOXGR (a Findings About test code; --TOXGR has no CDISC codelist, grades come
# from the sponsor's toxicity scale, e.g. CTCAE), COUNTRY (ISO 3166-1 alpha-3, an external
# dictionary), RSTESTCD/RSTEST (the oncology RS codelists are ONCRTSCD/ONCRTS), AEOUT (OUT)
# and ADDON (a TS parameter whose value uses NY).
EXTRA_SDTM_CODELISTS = [
    "SEX", "RACE", "ETHNIC", "NY", "AESEV", "OUT", "ACN", "ROUTE", "UNIT", "FRM", "FREQ",
    "TRTESTCD", "TRTEST", "TUTESTCD", "TUTEST", "ONCRTSCD", "ONCRTS", "ONCRSR", "ONCRSCAT",
    "TRPROPRS", "TUIDRS", "NCOMPLT", "DSCAT", "EPOCH", "AGEU", "ARMNULRS", "LOC", "LAT",
    "DIR", "PORTOT", "METHOD", "TSPARMCD", "TSPARM", "DICTNAM", "DOMAIN",
]

# Codelists holding TSVAL for Trial Summary parameters (SDTMIG v3.4 Appendix C1, FDA Study
# Data Technical Conformance Guide). A TSPARMCD term whose own submission value is also a
# codelist short name (TBLIND, TCNTRL, TINDTP, TPHASE, TTYPE, STYPE, SEXPOP, INTMODEL,
# INTTYPE, ROUTE ...) is resolved automatically; the others are listed here.
TS_INDICATOR_PARAMETERS = [  # Y/N indicators -> NY
    "ADAPT", "ADDON", "BRDNAIND", "BRIND", "DMCIND", "EGCTMON", "EGLEADSM", "EGREPLBL",
    "EGREPLTR", "EPDISIND", "EURSBIND", "EXTTIND", "FDADEIND", "FDADRIND", "HLTSUBJI",
    "MSEUTIND", "ONGOSIND", "PASSIND", "PDPSTIND", "PDSTIND", "PIPIND", "RANDOM", "RDIND",
    "RXMLCIND", "SDXMLIND", "SREVIND", "SRNCAIND", "SSEUTIND", "SSTDYIND",
]
TS_VALUE_CODELISTS = {
    **{p: "NY" for p in TS_INDICATOR_PARAMETERS},
    "CONROLE": "CONROL", "CTAUG": "CTAUGRS", "DOSFRM": "FRM", "DOSFRQ": "FREQ",
    "DOSU": "UNIT", "FDATCHSP": "FDATSRS", "OBSMODEL": "OBSSMO", "OBSTIMP": "OBSSTP",
    "OBSTSMM": "OBSSSM", "PROTRSK": "RSKASMT", "SDTIGVER": "SDTMIGRS",
    "SDTMDVER": "SDTMDVRS", "SDTMVER": "SDTMVRS",
}
# Not resolvable to CDISC CT (external dictionaries or free text): AGEMAX/AGEMIN/LENGTH...
# (ISO 8601), FCNTRY (ISO 3166), INDIC/TDIGRP (SNOMED CT), PCLAS (MED-RT), TRT/COMPTRT/
# CURTRT (UNII), REGID, SPONSOR (DUNS) and the text parameters.

CT_COLUMNS = [
    "codelist_code", "codelist_short_name", "codelist_name", "extensible", "term_code",
    "submission_value", "synonyms", "preferred_term",
]


# --- helpers ----------------------------------------------------------------------------
def read_csv(path: Path, **kw) -> pd.DataFrame:
    """Read a CDISC export as text only ("NA" is a real submission value, never missing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kw)


def split_multi(cell: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,]", cell) if p.strip()]


def join_multi(values) -> str:
    return SEP.join(values)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    path.write_bytes(buf.getvalue().encode("utf-8"))


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


# --- controlled terminology ---------------------------------------------------------------
def normalise_ct(raw: pd.DataFrame) -> pd.DataFrame:
    """NCI EVS layout -> one row per term with the codelist header's attributes."""
    headers = raw[raw["Codelist Code"] == ""]
    terms = raw[raw["Codelist Code"] != ""]
    if headers["Code"].duplicated().any():
        raise SystemExit("duplicate codelist header rows in CT file")
    hdr = headers.set_index("Code")
    orphans = set(terms["Codelist Code"]) - set(hdr.index)
    if orphans:
        raise SystemExit(f"terms without a codelist header: {sorted(orphans)}")
    out = pd.DataFrame({
        "codelist_code": terms["Codelist Code"],
        "codelist_short_name": terms["Codelist Code"].map(hdr["CDISC Submission Value"]),
        "codelist_name": terms["Codelist Code"].map(hdr["Codelist Name"]),
        "extensible": terms["Codelist Code"].map(hdr["Codelist Extensible (Yes/No)"]),
        "term_code": terms["Code"],
        "submission_value": terms["CDISC Submission Value"],
        "synonyms": terms["CDISC Synonym(s)"].map(lambda s: join_multi(p.strip() for p in s.split(";") if p.strip())),
        "preferred_term": terms["NCI Preferred Term"],
    })
    if not out["extensible"].isin(["Yes", "No"]).all():
        raise SystemExit("codelist header without Yes/No extensibility")
    return out


def sort_ct(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["codelist_short_name", "codelist_code", "submission_value", "term_code"],
                          kind="mergesort").reset_index(drop=True)[CT_COLUMNS]


def short_name_index(ct: pd.DataFrame) -> dict[str, str]:
    """codelist short name -> codelist code (short names are unique within one release)."""
    pairs = ct[["codelist_short_name", "codelist_code"]].drop_duplicates()
    dup = pairs["codelist_short_name"].duplicated(keep=False)
    if dup.any():
        raise SystemExit(f"codelist short names not unique: {pairs[dup].values.tolist()}")
    return dict(zip(pairs["codelist_short_name"], pairs["codelist_code"]))


# --- SDTMIG ---------------------------------------------------------------------------------
def build_sdtmig(ref: Path, sdtm_ct: pd.DataFrame, keys: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = read_csv(ref / "cdisc-metadata" / "sdtmig-3.4" / "Datasets.csv")
    var = read_csv(ref / "cdisc-metadata" / "sdtmig-3.4" / "Variables.csv")
    ds = ds[ds["Dataset Name"].isin(SDTM_DOMAINS)]
    var = var[var["Dataset Name"].isin(SDTM_DOMAINS)]
    missing = set(SDTM_DOMAINS) - set(ds["Dataset Name"])
    if missing:
        raise SystemExit(f"domains not in Datasets.csv: {sorted(missing)}")

    cl_short = sdtm_ct.drop_duplicates("codelist_code").set_index("codelist_code")["codelist_short_name"]

    def short_names(codes: str) -> str:
        found = []
        for c in split_multi(codes):
            if c not in cl_short.index:
                raise SystemExit(f"codelist {c} referenced by SDTMIG Variables.csv not in the CT release")
            found.append(cl_short[c])
        return join_multi(found)

    variables = pd.DataFrame({
        "dataset": var["Dataset Name"],
        "order": var["Variable Order"].astype(int),
        "variable": var["Variable Name"],
        "label": var["Variable Label"],
        "type": var["Type"],
        "role": var["Role"],
        "core": var["Core"],
        "codelist_code": var["CDISC CT Codelist Code(s)"].map(lambda s: join_multi(split_multi(s))),
        "codelist": var["CDISC CT Codelist Code(s)"].map(short_names),
        "value_domain": var["Described Value Domain(s)"],
        "value_list": var["Value List"],
    }).sort_values(["dataset", "order"], kind="mergesort").reset_index(drop=True)
    if not variables["type"].isin(["Char", "Num"]).all() or not variables["core"].isin(["Req", "Exp", "Perm"]).all():
        raise SystemExit("unexpected Type/Core values in SDTMIG Variables.csv")

    key_col = []
    for name in ds["Dataset Name"]:
        entry = keys.get(name)
        if not entry or not entry.get("keys"):
            raise SystemExit(f"no keys for {name} in {KEYS_FILE.name}")
        known = set(variables.loc[variables["dataset"] == name, "variable"])
        unknown = [k for k in entry["keys"] if k not in known]
        if unknown:
            raise SystemExit(f"keys.yaml: {name} keys {unknown} are not {name} variables")
        key_col.append(join_multi(entry["keys"]))
    extra = set(keys) - set(SDTM_DOMAINS)
    if extra:
        raise SystemExit(f"keys.yaml has domains outside the subset: {sorted(extra)}")

    datasets = pd.DataFrame({
        "dataset": ds["Dataset Name"].values,
        "class": ds["Class"].values,
        "label": ds["Dataset Label"].values,
        "structure": ds["Structure"].values,
        "keys": key_col,
    }).sort_values("dataset", kind="mergesort").reset_index(drop=True)
    return datasets, variables


def sdtm_codelist_selection(ref: Path, sdtm_ct: pd.DataFrame) -> tuple[list[str], dict[str, str]]:
    """Codelist codes to keep, with the reason each one is in."""
    by_short = short_name_index(sdtm_ct)
    users: dict[str, list[str]] = {}
    var = read_csv(ref / "cdisc-metadata" / "sdtmig-3.4" / "Variables.csv")
    var = var[var["Dataset Name"].isin(SDTM_DOMAINS)]
    for _, row in var.iterrows():
        for code in split_multi(row["CDISC CT Codelist Code(s)"]):
            users.setdefault(code, []).append(f"{row['Dataset Name']}.{row['Variable Name']}")
    reasons: dict[str, str] = {}
    for code, names in users.items():
        names = sorted(set(names))
        more = f" +{len(names) - 4} more" if len(names) > 4 else ""
        reasons[code] = "SDTMIG " + ", ".join(names[:4]) + more
    for short in EXTRA_SDTM_CODELISTS:
        if short not in by_short:
            raise SystemExit(f"codelist {short} not in the SDTM CT release")
        reasons.setdefault(by_short[short], "project list")
    tsparm = sdtm_ct.loc[sdtm_ct["codelist_short_name"] == "TSPARMCD", "submission_value"]
    for parm in sorted(tsparm):
        short = TS_VALUE_CODELISTS.get(parm, parm if parm in by_short else None)
        if short is None:
            continue
        if short not in by_short:
            raise SystemExit(f"TS parameter {parm}: codelist {short} not in the SDTM CT release")
        reasons.setdefault(by_short[short], f"TSVAL for TSPARMCD {parm}")
    unknown = set(TS_VALUE_CODELISTS) - set(tsparm)
    if unknown:
        raise SystemExit(f"TS_VALUE_CODELISTS names unknown TS parameters: {sorted(unknown)}")
    return sorted(reasons), reasons


# --- ADaMIG ---------------------------------------------------------------------------------
def build_adamig(ref: Path, adam_ct: pd.DataFrame, sdtm_ct: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    st = read_csv(ref / "cdisc-metadata" / "adamig-1.3" / "DataStructures.csv")
    var = read_csv(ref / "cdisc-metadata" / "adamig-1.3" / "Variables.csv")

    # Variables.csv names the structure by its description ("Subject-Level Analysis Dataset");
    # DataStructures.csv gives the short name and "<description> Structure" or the description.
    desc_to_short = {}
    for _, r in st.iterrows():
        d = r["Data Structure Description"]
        desc_to_short[d] = r["Data Structure Name"]
        desc_to_short[re.sub(r"\s+Structure$", "", d)] = r["Data Structure Name"]
    unknown = set(var["Data Structure Name"]) - set(desc_to_short)
    if unknown:
        raise SystemExit(f"ADaM variables for unknown structures: {sorted(unknown)}")
    var = var.assign(structure=var["Data Structure Name"].map(desc_to_short))
    with_vars = set(var["structure"])

    # Structures without variables of their own (TTE) take those of the unsubclassed structure
    # of the same class (BDS).
    base_of_class = {r["Class"]: r["Data Structure Name"] for _, r in st.iterrows()
                     if r["Subclass"] == "" and r["Data Structure Name"] in with_vars}
    variables_from = [s if s in with_vars else base_of_class[c]
                      for s, c in zip(st["Data Structure Name"], st["Class"])]
    structures = pd.DataFrame({
        "structure": st["Data Structure Name"].values,
        "label": st["Data Structure Description"].values,
        "class": st["Class"].values,
        "subclass": st["Subclass"].values,
        "variables_from": variables_from,
        "notes": st["CDISC Notes"].values,
    }).sort_values("structure", kind="mergesort").reset_index(drop=True)

    # Order: the export's row order within a structure, except that the Identifier variable
    # set comes first (the export lists the BDS identifiers last; ADaMIG 1.3 section 3.3.1
    # and the define.xml examples put STUDYID, USUBJID ... first).
    var = var.assign(_row=range(len(var)), _ident=(var["Variable Set"] != "Identifier").astype(int))
    var = var.sort_values(["structure", "_ident", "_row"], kind="mergesort")
    var["order"] = var.groupby("structure").cumcount() + 1

    ct_short = pd.concat([adam_ct, sdtm_ct]).drop_duplicates("codelist_code").set_index("codelist_code")["codelist_short_name"]

    def short_names(row) -> str:
        codes = split_multi(row["CDISC CT Codelist Code(s)"])
        names = []
        for c in codes:
            if c not in ct_short.index:
                raise SystemExit(f"ADaM codelist {c} not in ADaM or SDTM CT")
            names.append(ct_short[c])
        given = split_multi(row["CDISC CT Codelist Submission Value(s)"])
        if given and given != names:
            raise SystemExit(f"ADaM {row['Variable Name']}: export says {given}, CT says {names}")
        return join_multi(names)

    variables = pd.DataFrame({
        "structure": var["structure"],
        "order": var["order"],
        "variable": var["Variable Name"],
        "label": var["Variable Label"],
        "type": var["Type"],
        "core": var["Core"],
        "variable_set": var["Variable Set"],
        "codelist_code": var["CDISC CT Codelist Code(s)"].map(lambda s: join_multi(split_multi(s))),
        "codelist": var.apply(short_names, axis=1),
        "value_domain": var["Described Value Domain(s)"],
        "value_list": var["Value List Value"].map(lambda s: join_multi(p.strip() for p in s.split(";") if p.strip())),
    }).reset_index(drop=True)
    if not variables["type"].isin(["Char", "Num"]).all() or not variables["core"].isin(["Req", "Cond", "Perm"]).all():
        raise SystemExit("unexpected Type/Core values in ADaMIG Variables.csv")
    return structures, variables


# --- README for ct/ --------------------------------------------------------------------------
def ct_readme(releases: dict[str, str], subsets: dict[str, pd.DataFrame], reasons: dict[str, str]) -> str:
    lines = [
        "# Controlled terminology subset (generated)",
        "",
        "Generated by `tools/build_specs.py`; do not edit by hand. Column meanings: `specs/README.md`.",
        "",
        "| file | release | source file | codelists | terms |",
        "|---|---|---|---|---|",
    ]
    for fname, (release, source) in releases.items():
        df = subsets[fname]
        lines.append(f"| `{fname}` | {release} | `{source}` | {df['codelist_code'].nunique()} | {len(df)} |")
    lines += [
        "",
        "`sdtm-ct.csv` holds every codelist referenced by a variable of the SDTM domains in",
        "`specs/sdtmig-3.4/` plus the project's list in `tools/build_specs.py` (TS parameter value",
        "codelists included). `adam-ct.csv` and `define-xml-ct.csv` hold their whole release.",
        "",
        "Not CDISC codelists, so not here: TOXGR (toxicity grades follow the sponsor's scale, e.g.",
        "CTCAE), COUNTRY (ISO 3166-1 alpha-3), MedDRA, SNOMED CT, UNII, MED-RT, ISO 8601.",
        "",
        "## Codelists in sdtm-ct.csv",
        "",
        "| short name | code | name | extensible | terms | why included |",
        "|---|---|---|---|---|---|",
    ]
    sd = subsets["sdtm-ct.csv"]
    for (short, code), g in sd.groupby(["codelist_short_name", "codelist_code"], sort=True):
        first = g.iloc[0]
        lines.append(f"| {short} | {code} | {first['codelist_name']} | {first['extensible']} | {len(g)} | {reasons[code]} |")
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------
def build(reference: Path, out: Path, keys_file: Path = KEYS_FILE) -> list[Path]:
    reference = reference.resolve()
    if not reference.is_dir():
        raise SystemExit(f"reference folder not found: {reference}")
    keys = yaml.safe_load(keys_file.read_text(encoding="utf-8"))

    sdtm_file = reference / "ct" / "SDTM_Terminology_2025-03-25.txt"
    adam_file = reference / "cdisc-metadata" / "ct-2025-03-28" / "ADaM_CT_2025-03-28.csv"
    define_file = reference / "cdisc-metadata" / "ct-2025-03-28" / "Define-XML_CT_2025-03-28.csv"
    sdtm_all = normalise_ct(pd.read_csv(sdtm_file, sep="\t", dtype=str, keep_default_na=False,
                                        quoting=csv.QUOTE_NONE))
    adam_raw = read_csv(adam_file)
    define_raw = read_csv(define_file)
    adam_ct = sort_ct(normalise_ct(adam_raw))
    define_ct = sort_ct(normalise_ct(define_raw))

    codes, reasons = sdtm_codelist_selection(reference, sdtm_all)
    sdtm_ct = sort_ct(sdtm_all[sdtm_all["codelist_code"].isin(codes)])

    datasets, sdtm_vars = build_sdtmig(reference, sdtm_all, keys)
    structures, adam_vars = build_adamig(reference, adam_ct, sdtm_all)
    needed = set(c for v in adam_vars["codelist_code"] for c in split_multi(v))
    missing = needed - set(adam_ct["codelist_code"]) - set(sdtm_ct["codelist_code"])
    if missing:
        raise SystemExit(f"ADaM variables use codelists not in the subset: {sorted(missing)}")

    release_date = re.search(r"\d{4}-\d{2}-\d{2}", sdtm_file.name).group(0)
    releases = {
        "sdtm-ct.csv": (f"SDTM CT {release_date} (NCI EVS)", f"ct/{sdtm_file.name}"),
        "adam-ct.csv": (" / ".join(sorted(set(adam_raw["Standard and Date"]))),
                        f"cdisc-metadata/ct-2025-03-28/{adam_file.name}"),
        "define-xml-ct.csv": (" / ".join(sorted(set(define_raw["Standard and Date"]))),
                              f"cdisc-metadata/ct-2025-03-28/{define_file.name}"),
    }
    subsets = {"sdtm-ct.csv": sdtm_ct, "adam-ct.csv": adam_ct, "define-xml-ct.csv": define_ct}

    written = {
        out / "sdtmig-3.4" / "datasets.csv": datasets,
        out / "sdtmig-3.4" / "variables.csv": sdtm_vars,
        out / "adamig-1.3" / "datastructures.csv": structures,
        out / "adamig-1.3" / "variables.csv": adam_vars,
        **{out / "ct" / name: df for name, df in subsets.items()},
    }
    for path, df in written.items():
        write_csv(df, path)
    readme = out / "ct" / "README.md"
    write_text(ct_readme(releases, subsets, reasons), readme)
    return [*written, readme]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                    help="folder holding the public reference data (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=REPO / "specs",
                    help="output folder (default: %(default)s)")
    ap.add_argument("--keys", type=Path, default=KEYS_FILE, help="hand-kept SDTM keys (default: %(default)s)")
    args = ap.parse_args(argv)
    for path in build(args.reference, args.out, args.keys):
        print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
