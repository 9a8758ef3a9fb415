#!/usr/bin/env python
"""Build the standard metadata under ``specs/`` from CDISC's and NCI's own exports.

Run from the repository root::

    python tools/build_specs.py [--reference ../shared/reference] [--out specs]

Inputs (read in place, never copied into the repository):

* ``cdisc-metadata/sdtmig-3.4/{Datasets,Variables}.csv``  CDISC's SDTMIG v3.4 export (all
  63 datasets)
* ``cdisc-metadata/adamig-1.3/{DataStructures,Variables}.csv``  CDISC's ADaMIG v1.3 export
* ``ct/SDTM_Terminology_2025-03-25.txt``  NCI EVS SDTM CT (tab separated), the complete
  release of 2025-03-28 (see SDTM_CT_RELEASE below for why the file name's date is wrong)
* ``cdisc-metadata/ct-2025-03-28/ADaM_CT_2025-03-28.csv``, ``Define-XML_CT_2025-03-28.csv``
* ``specs/sdtmig-3.4/keys.yaml``  hand-kept natural keys (ours, not CDISC's export)

Outputs (all sorted, no timestamps: re-running gives byte-identical files):

* ``sdtmig-3.4/datasets.csv``, ``sdtmig-3.4/variables.csv``
* ``adamig-1.3/datastructures.csv``, ``adamig-1.3/variables.csv``
* ``ct/sdtm-ct.csv.gz`` (gzip without a time stamp), ``ct/adam-ct.csv``,
  ``ct/define-xml-ct.csv``, ``ct/releases.csv``, ``ct/ts-parameters.csv``, ``ct/README.md``

See ``specs/README.md`` for the file formats.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cdisc_convert.standards.nci import CT_COLUMNS, read_nci_release, sort_terms  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"
KEYS_FILE = REPO / "specs" / "sdtmig-3.4" / "keys.yaml"
SEP = ";"  # separator for multi-valued cells in every generated file

SDTM_CT_FILE = "ct/SDTM_Terminology_2025-03-25.txt"
# The release the SDTM CT file holds. Its name says 2025-03-25, but CDISC/NCI published no
# release that day: the quarterly release is 2025-03-28 (NCI EVS publishes SDTM, ADaM and
# Define-XML CT together; the ADaM and Define-XML files beside it are dated 2025-03-28).
# The file's content agrees: its newest C-codes (C2148xx) come after those first used in
# ADaM CT 2025-03-28 (C214742-C214745), so it is not an earlier snapshot. TS.TSVCDVER, the
# define.xml CT Standard and the loader all use this date.
SDTM_CT_RELEASE = "2025-03-28"
ADAM_CT_FILE = "cdisc-metadata/ct-2025-03-28/ADaM_CT_2025-03-28.csv"
DEFINE_CT_FILE = "cdisc-metadata/ct-2025-03-28/Define-XML_CT_2025-03-28.csv"

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


#: (variable, codelist code) pairs of the SDTMIG export whose codelist is not in the release
DANGLING: list[tuple[str, str]] = []


# --- helpers ----------------------------------------------------------------------------
def read_csv(path: Path, **kw) -> pd.DataFrame:
    """Read a CDISC export as text only ("NA" is a real submission value, never missing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kw)


def split_multi(cell: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,]", cell) if p.strip()]


def join_multi(values) -> str:
    return SEP.join(values)


def csv_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue().encode("utf-8")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = csv_bytes(df)
    if path.name.endswith(".gz"):
        # no file name and mtime 0 in the gzip header: the same table gives the same bytes
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)


def write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


# --- controlled terminology ---------------------------------------------------------------
def read_ct(path: Path) -> pd.DataFrame:
    try:
        return read_nci_release(path)
    except Exception as err:  # a SpecError with the file and the reason
        raise SystemExit(str(err)) from err


def short_name_index(ct: pd.DataFrame) -> dict[str, str]:
    """codelist short name -> codelist code (short names are unique within one release)."""
    pairs = ct[["codelist_short_name", "codelist_code"]].drop_duplicates()
    dup = pairs["codelist_short_name"].duplicated(keep=False)
    if dup.any():
        raise SystemExit(f"codelist short names not unique: {pairs[dup].values.tolist()}")
    return dict(zip(pairs["codelist_short_name"], pairs["codelist_code"]))


def ts_parameters(sdtm_ct: pd.DataFrame) -> pd.DataFrame:
    """TSPARMCD -> the codelist of its TSVAL (only parameters whose value is CDISC CT)."""
    by_short = short_name_index(sdtm_ct)
    codes = sdtm_ct[sdtm_ct["codelist_short_name"] == "TSPARMCD"]
    names = sdtm_ct[sdtm_ct["codelist_short_name"] == "TSPARM"].set_index("term_code")["submission_value"]
    unknown = set(TS_VALUE_CODELISTS) - set(codes["submission_value"])
    if unknown:
        raise SystemExit(f"TS_VALUE_CODELISTS names unknown TS parameters: {sorted(unknown)}")
    rows = []
    for term, parm in zip(codes["term_code"], codes["submission_value"]):
        short = TS_VALUE_CODELISTS.get(parm, parm if parm in by_short else None)
        if short is None:
            continue
        if short not in by_short:
            raise SystemExit(f"TS parameter {parm}: codelist {short} not in the SDTM CT release")
        rows.append({"tsparmcd": parm, "tsparm": names.get(term, ""), "codelist": short,
                     "codelist_code": by_short[short],
                     "source": "TSPARMCD term = codelist" if parm not in TS_VALUE_CODELISTS
                     else "tools/build_specs.py TS_VALUE_CODELISTS"})
    return pd.DataFrame(rows).sort_values("tsparmcd", kind="mergesort").reset_index(drop=True)


# --- SDTMIG ---------------------------------------------------------------------------------
def class_keys(pattern: list[str], domain: str, known: set[str]) -> list[str]:
    """A class key pattern for one domain: "--" becomes the prefix, absent variables drop."""
    names = [k.replace("--", domain) for k in pattern]
    return [k for k in names if k in known]


def build_sdtmig(ref: Path, sdtm_ct: pd.DataFrame, keys: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    ds = read_csv(ref / "cdisc-metadata" / "sdtmig-3.4" / "Datasets.csv")
    var = read_csv(ref / "cdisc-metadata" / "sdtmig-3.4" / "Variables.csv")
    orphans = set(var["Dataset Name"]) - set(ds["Dataset Name"])
    if orphans:
        raise SystemExit(f"variables of datasets not in Datasets.csv: {sorted(orphans)}")

    cl_short = sdtm_ct.drop_duplicates("codelist_code").set_index("codelist_code")["codelist_short_name"]

    # A code the release does not hold (C85495 for MS.MSRESCAT: SDTMIG v3.4 names a codelist
    # that CDISC CT no longer publishes) is left out and listed in the CT README.
    in_release = var["CDISC CT Codelist Code(s)"].map(
        lambda s: [c for c in split_multi(s) if c in cl_short.index])
    for ds_name, v_name, cell in zip(var["Dataset Name"], var["Variable Name"], var["CDISC CT Codelist Code(s)"]):
        for c in split_multi(cell):
            if c not in cl_short.index:
                DANGLING.append((f"{ds_name}.{v_name}", c))

    variables = pd.DataFrame({
        "dataset": var["Dataset Name"],
        "order": var["Variable Order"].astype(int),
        "variable": var["Variable Name"],
        "label": var["Variable Label"],
        "type": var["Type"],
        "role": var["Role"],
        "core": var["Core"],
        "codelist_code": in_release.map(join_multi),
        "codelist": in_release.map(lambda cs: join_multi(cl_short[c] for c in cs)),
        "value_domain": var["Described Value Domain(s)"],
        "value_list": var["Value List"],
    }).sort_values(["dataset", "order"], kind="mergesort").reset_index(drop=True)
    if not variables["type"].isin(["Char", "Num"]).all() or not variables["core"].isin(["Req", "Exp", "Perm"]).all():
        raise SystemExit("unexpected Type/Core values in SDTMIG Variables.csv")

    defaults = keys.get("_class_defaults") or {}
    key_col, key_src = [], []
    for name, cls in zip(ds["Dataset Name"], ds["Class"]):
        known = set(variables.loc[variables["dataset"] == name, "variable"])
        entry = keys.get(name)
        if entry:
            found = list(entry.get("keys") or [])
            unknown = [k for k in found if k not in known]
            if unknown:
                raise SystemExit(f"keys.yaml: {name} keys {unknown} are not {name} variables")
            source = "keys.yaml"
        elif cls in defaults:
            found = class_keys(defaults[cls], name, known)
            source = f"keys.yaml _class_defaults {cls}"
        else:
            raise SystemExit(f"no keys for {name} ({cls}) in {KEYS_FILE.name}")
        if len(found) < 2:
            raise SystemExit(f"keys.yaml: {name} gets keys {found}; give it an entry")
        key_col.append(join_multi(found))
        key_src.append(source)
    extra = set(keys) - set(ds["Dataset Name"]) - {"_class_defaults"}
    if extra:
        raise SystemExit(f"keys.yaml has datasets that SDTMIG does not: {sorted(extra)}")

    datasets = pd.DataFrame({
        "dataset": ds["Dataset Name"].values,
        "class": ds["Class"].values,
        "label": ds["Dataset Label"].values,
        "structure": ds["Structure"].values,
        "keys": key_col,
    }).sort_values("dataset", kind="mergesort").reset_index(drop=True)
    return datasets, variables


def sdtm_codelist_users(variables: pd.DataFrame, ts: pd.DataFrame) -> dict[str, str]:
    """codelist code -> where it is used (SDTMIG variables, TS parameters), for the README."""
    users: dict[str, list[str]] = {}
    for ds, name, cell in zip(variables["dataset"], variables["variable"], variables["codelist_code"]):
        for code in split_multi(cell):
            users.setdefault(code, []).append(f"{ds}.{name}")
    out = {}
    for code, names in users.items():
        names = sorted(set(names))
        more = f" +{len(names) - 3} more" if len(names) > 3 else ""
        out[code] = ", ".join(names[:3]) + more
    for code, g in ts.groupby("codelist_code"):
        parms = sorted(g["tsparmcd"])
        more = f" +{len(parms) - 3} more" if len(parms) > 3 else ""
        ts_text = "TSVAL of " + ", ".join(parms[:3]) + more
        out[code] = f"{out[code]}; {ts_text}" if code in out else ts_text
    return out


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
def ct_readme(releases: pd.DataFrame, subsets: dict[str, pd.DataFrame], users: dict[str, str]) -> str:
    lines = [
        "# Controlled terminology (generated)",
        "",
        "Generated by `tools/build_specs.py`; do not edit by hand. Column meanings: `specs/README.md`.",
        "Every release is complete: all its codelists and terms, with synonyms and NCI C-codes",
        "(definitions are left out).",
        "",
        "| file | standard | release | source file | codelists | terms |",
        "|---|---|---|---|---|---|",
    ]
    for r in releases.itertuples(index=False):
        lines.append(f"| `{r.file}` | {r.standard} | {r.release} | `{r.source_file}` | {r.codelists} | {r.terms} |")
    lines += [
        "",
        "Not CDISC codelists, so not here: TOXGR (toxicity grades follow the sponsor's scale, e.g.",
        "CTCAE), COUNTRY (ISO 3166-1 alpha-3), MedDRA, WHODrug, SNOMED CT, UNII, MED-RT, ISO 8601.",
        "A study adds sponsor terms and codelists in its study.yaml (`docs/standards.md`).",
    ]
    if DANGLING:
        lines += ["", "SDTMIG v3.4 names codelists that this SDTM CT release does not hold; they are",
                  "left out of `specs/sdtmig-3.4/variables.csv`: "
                  + ", ".join(f"{v} ({c})" for v, c in sorted(set(DANGLING))) + "."]
    for fname, title in (("sdtm-ct.csv.gz", "SDTM"), ("adam-ct.csv", "ADaM"),
                         ("define-xml-ct.csv", "Define-XML")):
        df = subsets[fname]
        lines += ["", f"## {title} codelists (`{fname}`)", "",
                  "| short name | code | name | extensible | terms | used by (SDTMIG 3.4 variables, TS parameters) |",
                  "|---|---|---|---|---|---|"]
        heads = df.drop_duplicates("codelist_code")
        counts = df.groupby("codelist_code").size()
        for r in heads.itertuples(index=False):
            name = r.codelist_name.replace("|", "/")
            lines.append(f"| {r.codelist_short_name} | {r.codelist_code} | {name} | {r.extensible} | "
                         f"{counts[r.codelist_code]} | {users.get(r.codelist_code, '')} |")
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------
def build(reference: Path, out: Path, keys_file: Path = KEYS_FILE) -> list[Path]:
    reference = reference.resolve()
    if not reference.is_dir():
        raise SystemExit(f"reference folder not found: {reference}")
    keys = yaml.safe_load(keys_file.read_text(encoding="utf-8"))

    sdtm_file = reference / SDTM_CT_FILE
    adam_file = reference / ADAM_CT_FILE
    define_file = reference / DEFINE_CT_FILE
    sdtm_ct = read_ct(sdtm_file)
    adam_ct = read_ct(adam_file)
    define_ct = read_ct(define_file)
    for df in (sdtm_ct, adam_ct, define_ct):
        short_name_index(df)

    datasets, sdtm_vars = build_sdtmig(reference, sdtm_ct, keys)
    structures, adam_vars = build_adamig(reference, adam_ct, sdtm_ct)
    needed = set(c for v in adam_vars["codelist_code"] for c in split_multi(v))
    missing = needed - set(adam_ct["codelist_code"]) - set(sdtm_ct["codelist_code"])
    if missing:
        raise SystemExit(f"ADaM variables use codelists in no CT release: {sorted(missing)}")
    ts = ts_parameters(sdtm_ct)

    adam_std = sorted(set(read_csv(adam_file)["Standard and Date"]))
    define_std = sorted(set(read_csv(define_file)["Standard and Date"]))

    def release_row(source, fname, standard, release, src, df):
        return {"source": source, "file": fname, "standard": standard, "release": release,
                "source_file": src, "codelists": df["codelist_code"].nunique(), "terms": len(df)}

    def date_of(labels: list[str]) -> str:
        dates = {d for s in labels for d in re.findall(r"\d{4}-\d{2}-\d{2}", s)}
        if len(dates) != 1:
            raise SystemExit(f"expected one release date in {labels}")
        return dates.pop()

    releases = pd.DataFrame([
        release_row("sdtm", "sdtm-ct.csv.gz", "SDTM", SDTM_CT_RELEASE, SDTM_CT_FILE, sdtm_ct),
        release_row("adam", "adam-ct.csv", "ADaM", date_of(adam_std), ADAM_CT_FILE, adam_ct),
        release_row("define-xml", "define-xml-ct.csv", "DEFINE-XML", date_of(define_std),
                    DEFINE_CT_FILE, define_ct),
    ])
    subsets = {"sdtm-ct.csv.gz": sdtm_ct, "adam-ct.csv": adam_ct, "define-xml-ct.csv": define_ct}

    written = {
        out / "sdtmig-3.4" / "datasets.csv": datasets,
        out / "sdtmig-3.4" / "variables.csv": sdtm_vars,
        out / "adamig-1.3" / "datastructures.csv": structures,
        out / "adamig-1.3" / "variables.csv": adam_vars,
        out / "ct" / "releases.csv": releases,
        out / "ct" / "ts-parameters.csv": ts,
        **{out / "ct" / name: df[CT_COLUMNS] for name, df in subsets.items()},
    }
    for path, df in written.items():
        write_csv(df, path)
    readme = out / "ct" / "README.md"
    write_text(ct_readme(releases, subsets, sdtm_codelist_users(sdtm_vars, ts)), readme)
    stale = out / "ct" / "sdtm-ct.csv"   # the subset this release replaced
    if stale.exists():
        stale.unlink()
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
