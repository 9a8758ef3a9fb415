"""Writing the summary tables of :mod:`cdisc_convert.report.tables`: one HTML page with
every table, one RTF file per table for the clinical study report, and the analysis
results data (ARD) of all of them as CSV and JSON.

RTF is written by :mod:`cdisc_convert.report.rtf` (byte for byte the layout rtflite, the
pharmaverse RTF composer, gives these tables, at a fraction of its cost): tables as CSR
shells expect them (title lines, column headers with the N of each group repeated on every
page, indented row labels, footnotes, source line); LibreOffice converts it to PDF or DOCX
when a reviewer needs one.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from .jsontext import dumps
from .tables import ARD_COLUMNS, Table

__all__ = ["write_tables", "tables_html", "write_rtf", "ard_frame", "rtf_name"]

INDENT = "    "


def ard_frame(tables: Sequence[Table]):
    """The ARD of all tables in one frame (OUTPUT, GROUP, SUBGROUP, ROW, STAT, VALUE)."""
    import pandas as pd

    frames = [t.ard for t in tables]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=ARD_COLUMNS)


def tables_html(tables: Sequence[Table], title: str) -> str:
    """Every table in one self-contained HTML page."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{html.escape(title)}</title><style>"
             "body{font-family:Arial,Helvetica,sans-serif;font-size:13px;margin:1.5em}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em 0}"
             "th,td{border-top:1px solid #999;border-bottom:1px solid #999;padding:2px 8px;"
             "text-align:center}td:first-child,th:first-child{text-align:left}"
             ".l1{padding-left:1.5em}.l2{padding-left:3em}.foot{font-size:11px;color:#444}"
             "</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    for t in tables:
        parts.append(f'<h2 id="{html.escape(t.id)}">Table {html.escape(t.id)}: '
                     f'{html.escape(t.title)}</h2>')
        parts.append(f"<p class=\"foot\">Population: {html.escape(t.population)}</p>")
        head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
        if t.spans:
            head = ("".join(f'<th colspan="{n}">{html.escape(text)}</th>' for text, n in t.spans)
                    + "</tr><tr>" + head)
        body = _html_rows(t.rows, t.indent)
        parts.append(f"<table><caption class=\"foot\">Table {html.escape(t.id)}"
                     f"</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        for note in t.footnotes:
            parts.append(f"<p class=\"foot\">{html.escape(note)}</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _html_rows(rows: Sequence[Sequence[str]], indent: Sequence[int]) -> str:
    """The ``<tr>`` rows of a table, built column by column: listings repeat their values
    (subjects, terms, dates), so each column's distinct texts are escaped and wrapped in
    their ``<td>`` once and the rows are one join of the cells, not a string per cell."""
    if not rows:
        return ""
    from cdisc_convert.core.factorize import factorize_text

    cells = np.empty((len(rows), len(rows[0])), dtype=object)
    for i, column in enumerate(zip(*rows)):
        codes, uniques = factorize_text(np.asarray(column, dtype=object))
        if i == 0:
            texts = [html.escape(u) + "</td>" for u in uniques.tolist()]
        else:
            texts = [f"<td>{html.escape(u)}</td>" for u in uniques.tolist()]
        cells[:, i] = np.asarray(texts, dtype=object)[codes]
    levels = np.asarray(indent, dtype=np.intp)
    starts = np.asarray([f'<tr><td class="l{k}">' for k in range(int(levels.max()) + 1)],
                        dtype=object)
    cells[:, 0] = starts[levels] + cells[:, 0]
    cells[:, -1] = cells[:, -1] + "</tr>"
    return "".join(cells.ravel().tolist())


def write_rtf(table: Table, path: Path, source: str = "") -> Path:
    """One table as an RTF file (landscape letter, Times, CSR layout; :mod:`.rtf`)."""
    import numpy as np

    from .rtf import table_parts

    n_cols = len(table.header)
    columns = [np.asarray(c, dtype=object) for c in zip(*table.rows)] if table.rows else [
        np.empty(0, dtype=object) for _ in range(n_cols)]
    if table.rows:             # the row labels' indentation, one prefix per level
        columns[0] = np.asarray([INDENT * k for k in range(max(table.indent) + 1)],
                                dtype=object)[np.asarray(table.indent)] + columns[0]
    parts = table_parts(
        title=[f"Table {table.id}", table.title, f"Population: {table.population}"],
        header=list(table.header), columns=columns,
        relative_widths=[3] + [1] * (n_cols - 1),
        spans=[(text, 3 if i == 0 else n) for i, (text, n) in enumerate(table.spans)],
        footnotes=list(table.footnotes), source=source)
    with path.open("w", encoding="ascii") as handle:   # as Path.write_text opens it
        for part in parts:
            handle.write(part)
    return path


def rtf_name(table_id: str) -> str:
    """The RTF file of a table: ``table_14_3_1.rtf`` for ``14.3.1``."""
    return f"table_{table_id.replace('.', '_')}.rtf"


def write_tables(tables: Sequence[Table], out: Path, *, title: str,
                 source: str = "") -> list[str]:
    """``tables.html``, ``table_<id>.rtf`` per table, ``ard.csv`` and ``ard.json`` in
    ``out``; returns the file names written."""
    written = []
    (out / "tables.html").write_text(tables_html(tables, title), encoding="utf-8")
    written.append("tables.html")
    for t in tables:
        name = rtf_name(t.id)
        write_rtf(t, out / name, source)
        written.append(name)
    ard = ard_frame(tables)
    ard.to_csv(out / "ard.csv", index=False, lineterminator="\n")
    document = {"description": "Analysis results data: one record per statistic of the "
                               "summary tables (OUTPUT = table id)",
                "columns": list(ard.columns), "records": ard.to_dict("records")}
    # a missing statistic (NaN) is null; an infinite one, which json.dumps writes as
    # Infinity (not JSON, but what this file has held), keeps json.dumps' text
    if np.isinf(ard["VALUE"].to_numpy(dtype=float)).any():
        document["records"] = [{k: (None if isinstance(v, float) and v != v else v)
                                for k, v in r.items()} for r in document["records"]]
        text = json.dumps(document, indent=1)
    else:
        text = dumps(document, indent=1)
    (out / "ard.json").write_text(text + "\n", encoding="utf-8")
    return written + ["ard.csv", "ard.json"]
