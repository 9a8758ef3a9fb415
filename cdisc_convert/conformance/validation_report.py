"""The result of :func:`.validate.validate_folder` (findings and the exit code they mean)
and its reports: ``html`` (a page to read: verdict, summary by rule and by dataset, findings
grouped by dataset and rule), ``json``, ``xlsx`` (sheets Summary and Findings) or ``csv``
(the findings). Reports hold no time stamp, so the same input gives the same report."""
from __future__ import annotations

import html
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cdisc_convert.core.errors import CdiscError
from cdisc_convert.core.reproducible import source_date_epoch
from cdisc_convert.io.delimited import write_csv

from .catalogue import ERROR, INPUT_RULES, NOTICE, SEVERITY_ORDER, WARNING, rule_info
from .folder_inputs import DatasetInfo
from .study import FINDING_COLUMNS

REPORT_FORMATS = ("html", "json", "xlsx", "csv")
REPORT_COLUMNS = FINDING_COLUMNS
#: the HTML page lists at most this many findings per dataset and rule (all are in the
#: csv/json/xlsx reports)
HTML_ROWS_PER_GROUP = 200
XLSX_MAX_ROWS = 1_048_575

@dataclass
class ValidationResult:
    """Findings of one validation run and the exit code they mean."""

    folder: Path
    findings: pd.DataFrame
    datasets: list[DatasetInfo] = field(default_factory=list)
    define: Path | None = None
    seconds: float = 0.0  # wall time; not written to the reports (they are reproducible)

    @property
    def exit_code(self) -> int:
        """0 no error findings, 1 error findings, 2 some input could not be read."""
        if self.findings["rule"].isin(INPUT_RULES).any():
            return 2
        return 1 if (self.findings["severity"] == ERROR).any() else 0

    @property
    def counts(self) -> dict[str, int]:
        sev = self.findings["severity"]
        return {s: int((sev == s).sum()) for s in (ERROR, WARNING, NOTICE)}

    def summary(self) -> pd.DataFrame:
        """Counts by rule and dataset: rule, severity, dataset, count, title."""
        cols = ["rule", "severity", "dataset", "count", "title"]
        f = self.findings
        if f.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        out = f.groupby(["rule", "severity", "dataset"], sort=False).size().rename("count")
        out = out.reset_index()
        out["title"] = out["rule"].map(lambda r: rule_info(r).title)
        out["_s"] = out["severity"].map(SEVERITY_ORDER)
        out = out.sort_values(["_s", "rule", "dataset"], kind="mergesort")
        return out[cols].reset_index(drop=True)

    def summary_line(self) -> str:
        c = self.counts
        meaning = {0: "no errors", 1: "errors found", 2: "some input could not be read"}
        return (f"{c[ERROR]} error(s), {c[WARNING]} warning(s), {c[NOTICE]} notice(s) in "
                f"{len(self.datasets)} dataset(s) of {self.folder}: exit code {self.exit_code} "
                f"({meaning[self.exit_code]})")


# --------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------
def default_report_path(folder: Path | str, fmt: str) -> Path:
    """``<folder>-validation.<fmt>`` beside the folder (never inside it, where a csv or json
    report would be taken for a dataset by the next run)."""
    folder = Path(folder).resolve()
    return folder.parent / f"{folder.name}-validation.{fmt}"


def write_report(result: ValidationResult, out: Path | str, fmt: str = "html") -> Path:
    """Write the report (html, json, xlsx or csv) to ``out``, atomically; returns the path."""
    fmt = str(fmt).lower()
    if fmt not in REPORT_FORMATS:
        raise CdiscError(f"unknown report format {fmt!r} (known: {', '.join(REPORT_FORMATS)})",
                         rule="REPORT-FORMAT")
    out = Path(out)
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        os.close(fd)
        {"html": _write_html, "json": _write_json, "xlsx": _write_xlsx,
         "csv": _write_csv}[fmt](result, Path(tmp))
        os.replace(tmp, out)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise CdiscError(f"the report cannot be written ({exc.strerror or exc})", file=out,
                         rule="REPORT-WRITE") from None
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _plain(findings: pd.DataFrame) -> list[dict]:
    """Findings as JSON-ready dicts (missing -> None, numbers as int)."""
    f = findings.astype(object).where(findings.notna(), None)
    records = f.to_dict("records")
    for r in records:
        for k in ("row", "source_row"):
            if r[k] is not None:
                r[k] = int(r[k])
    return records


def _meta(result: ValidationResult) -> dict:
    from cdisc_convert.core.version import __version__

    return {
        "tool": "cdisc-convert validate", "version": __version__,
        "folder": str(result.folder), "define": str(result.define) if result.define else None,
        "exit_code": result.exit_code, "counts": result.counts,
        "summary_line": result.summary_line(),
    }


def _write_json(result: ValidationResult, path: Path) -> None:
    doc = _meta(result)
    doc["datasets"] = [vars(d) for d in result.datasets]
    doc["summary"] = result.summary().to_dict("records")
    for s in doc["summary"]:
        s["count"] = int(s["count"])
    doc["rules"] = {r: {"severity": rule_info(r).severity, "title": rule_info(r).title,
                        "fix": rule_info(r).fix}
                    for r in sorted(set(result.findings["rule"]))}
    doc["findings"] = _plain(result.findings)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=1)
        fh.write("\n")


def _write_csv(result: ValidationResult, path: Path) -> None:
    write_csv(result.findings, path)


def _write_xlsx(result: ValidationResult, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    fixed = source_date_epoch()
    if fixed is not None:
        wb.properties.created = wb.properties.modified = fixed.replace(tzinfo=None)
    bold = Font(bold=True)

    def cell(ws, value, header=False):
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("?", value)[:32767]
        c = WriteOnlyCell(ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            c.data_type = "s"  # text, never a formula
        if header:
            c.font = bold
        return c

    ws = wb.create_sheet("Summary")
    meta = _meta(result)
    for key in ("summary_line", "folder", "define", "exit_code", "version"):
        ws.append([cell(ws, key, True), cell(ws, meta[key])])
    for sev, n in meta["counts"].items():
        ws.append([cell(ws, sev + "s", True), cell(ws, n)])
    ws.append([])
    summary = result.summary()
    ws.append([cell(ws, c, True) for c in summary.columns])
    for row in summary.itertuples(index=False):
        ws.append([cell(ws, int(v) if isinstance(v, (np.integer,)) else v) for v in row])
    ws.append([])
    ws.append([cell(ws, c, True) for c in ("dataset", "file", "format", "records", "variables",
                                           "encoding")])
    for d in result.datasets:
        ws.append([cell(ws, v) for v in (d.name, d.file, d.format, d.records, d.variables,
                                         d.encoding)])
    ws2 = wb.create_sheet("Findings")
    ws2.append([cell(ws2, c, True) for c in REPORT_COLUMNS])
    records = _plain(result.findings.head(XLSX_MAX_ROWS))
    for r in records:
        ws2.append([cell(ws2, r[c]) for c in REPORT_COLUMNS])
    if len(result.findings) > XLSX_MAX_ROWS:
        ws.append([cell(ws, "note", True), cell(
            ws, f"Findings sheet truncated at {XLSX_MAX_ROWS} rows (Excel's limit); the csv "
                f"and json reports hold all {len(result.findings)}")])
    wb.save(path)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em} h3{font-size:1em}
table{border-collapse:collapse;margin:.4em 0 1em} td,th{border:1px solid #ccc;padding:2px 6px;
vertical-align:top;text-align:left;font-size:.9em} th{background:#f0f0f0}
.error{color:#a40000;font-weight:bold} .warning{color:#8a5a00;font-weight:bold}
.notice{color:#2a5d9f} .verdict{font-size:1.1em;padding:.5em;border:1px solid #ccc}
.v0{background:#e8f5e9} .v1{background:#fdecea} .v2{background:#fff4e5}
details{margin:.3em 0 .6em} summary{cursor:pointer} .fix{color:#444;font-style:italic}
td.n{text-align:right}
"""


def _esc(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def _write_html(result: ValidationResult, path: Path) -> None:
    meta = _meta(result)
    f = result.findings
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>Validation report: {_esc(result.folder)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>Validation report: {_esc(result.folder)}</h1>",
           f'<p class="verdict v{result.exit_code}">{_esc(meta["summary_line"])}</p>',
           "<p>Exit code 0: no errors; 1: errors to fix or explain; 2: some input could not "
           "be read (see the IO-/DEF- findings). Severities: <span class=error>error</span> "
           "(must be fixed or explained), <span class=warning>warning</span> (check it), "
           "<span class=notice>notice</span> (for information). Rules are described in "
           "docs/validation-rules.md.</p>"]
    if result.define:
        out.append(f"<p>define.xml: {_esc(result.define)}</p>")
    # datasets
    per_ds = f.groupby(["dataset", "severity"]).size() if len(f) else pd.Series(dtype=int)
    out.append("<h2>Datasets</h2><table><tr><th>dataset</th><th>file</th><th>records</th>"
               "<th>variables</th><th>errors</th><th>warnings</th><th>notices</th></tr>")
    for d in result.datasets:
        counts = [int(per_ds.get((d.name, s), 0)) for s in (ERROR, WARNING, NOTICE)]
        out.append(f"<tr><td>{_esc(d.name)}</td><td>{_esc(d.file)}</td>"
                   f"<td class=n>{d.records}</td><td class=n>{d.variables}</td>"
                   + "".join(f"<td class=n>{n}</td>" for n in counts) + "</tr>")
    out.append("</table>")
    # summary by rule
    out.append("<h2>Summary by rule</h2>")
    summary = result.summary()
    if summary.empty:
        out.append("<p>No findings.</p>")
    else:
        by_rule = summary.groupby(["rule", "severity"], sort=False).agg(
            count=("count", "sum"),
            datasets=("dataset", lambda s: ", ".join(sorted(set(x or "(folder)" for x in s)))))
        out.append("<table><tr><th>rule</th><th>severity</th><th>findings</th><th>datasets</th>"
                   "<th>what it checks</th><th>how to fix</th></tr>")
        for (rule, sev), row in by_rule.iterrows():
            info = rule_info(rule)
            out.append(f'<tr><td><a href="#{_esc(rule)}">{_esc(rule)}</a></td>'
                       f"<td class={_esc(sev)}>{_esc(sev)}</td><td class=n>{int(row['count'])}"
                       f"</td><td>{_esc(row['datasets'])}</td><td>{_esc(info.title)}</td>"
                       f"<td class=fix>{_esc(info.fix)}</td></tr>")
        out.append("</table>")
    # findings grouped by dataset, then rule
    if len(f):
        out.append("<h2>Findings</h2>")
        anchors = set()
        for dataset, by_dataset in f.groupby("dataset", sort=False):
            out.append(f"<h3>{_esc(dataset or '(folder)')}</h3>")
            for (rule, sev), group in by_dataset.groupby(["rule", "severity"], sort=False):
                anchor = "" if rule in anchors else f' id="{_esc(rule)}"'
                anchors.add(rule)
                info = rule_info(rule)
                opened = " open" if sev == ERROR else ""
                out.append(f"<details{opened}{anchor}><summary><span class={_esc(sev)}>"
                           f"{_esc(sev)}</span> {_esc(rule)}: {_esc(info.title)} "
                           f"({len(group)})</summary><p class=fix>Fix: {_esc(info.fix)}</p>"
                           "<table><tr><th>record</th><th>variable</th><th>value</th>"
                           "<th>message</th><th>raw source</th></tr>")
                shown = group.head(HTML_ROWS_PER_GROUP)
                for r in shown.itertuples(index=False):
                    src = "" if pd.isna(r.source_table) and pd.isna(r.source_row) else \
                        f"{_esc(r.source_table)} row {_esc(r.source_row)}"
                    out.append(f"<tr><td class=n>{_esc(r.row)}</td><td>{_esc(r.variable)}</td>"
                               f"<td>{_esc(r.value)}</td><td>{_esc(r.message)}</td>"
                               f"<td>{src}</td></tr>")
                out.append("</table>")
                if len(group) > len(shown):
                    out.append(f"<p>{len(group) - len(shown)} more finding(s) of {_esc(rule)} "
                               f"in {_esc(dataset or 'the folder')}: see the csv, json or xlsx "
                               "report.</p>")
                out.append("</details>")
    out.append(f"<p><small>{_esc(meta['tool'])} {_esc(meta['version'])}</small></p>")
    out.append("</body></html>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
