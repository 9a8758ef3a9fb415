"""A small document model (headings, paragraphs, tables) written as DOCX and HTML.

The reviewer's guides are built once as a list of blocks and written in both formats, so
the two say the same thing: HTML to read at once, DOCX (python-docx) for the sponsor to edit
and turn into the PDF the eCTD takes. Text marked as a placeholder (:data:`TO_DO`) is what
only the sponsor can write; it is shown highlighted in both.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

#: placeholder text for what only the sponsor can write
TO_DO = "[Sponsor to complete]"


@dataclass
class Heading:
    level: int           # 1 = a numbered section of the template, 2, 3 = its subsections
    text: str


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(Heading(level, text))

    def para(self, text: str) -> None:
        self.blocks.append(Paragraph(text))

    def table(self, header: list[str], rows: list[list]) -> None:
        self.blocks.append(Table(list(header), [[_cell(v) for v in row] for row in rows]))

    def headings(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Heading)]


def _cell(value) -> str:
    return "" if value is None else str(value)


_CSS = """body{font-family:Arial,Helvetica,sans-serif;max-width:60em;margin:2em auto;
line-height:1.4;color:#222}h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #999;
margin-top:1.8em}h3{font-size:1.1em}h4{font-size:1em}table{border-collapse:collapse;
margin:.6em 0;font-size:.9em}th,td{border:1px solid #999;padding:.2em .5em;text-align:left;
vertical-align:top}th{background:#eee}.todo{background:#fff3b0}"""


def _html_text(text: str) -> str:
    escaped = html.escape(text)
    return escaped.replace(html.escape(TO_DO), f'<span class="todo">{html.escape(TO_DO)}</span>')


def write_html(doc: Document, path: Path) -> Path:
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(doc.title)}</h1>", f"<p>{_html_text(doc.subtitle)}</p>"]
    for block in doc.blocks:
        if isinstance(block, Heading):
            level = min(block.level + 1, 4)
            parts.append(f"<h{level}>{html.escape(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            parts.append(f"<p>{_html_text(block.text)}</p>")
        else:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.header)
            body = "".join("<tr>" + "".join(f"<td>{_html_text(c)}</td>" for c in row) + "</tr>"
                           for row in block.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def write_docx(doc: Document, path: Path, *, created=None) -> Path:
    """The document as DOCX; ``created`` (a datetime) is stamped as its creation and
    modification time (reproducible output under SOURCE_DATE_EPOCH)."""
    import docx
    from docx.enum.text import WD_COLOR_INDEX

    out = docx.Document()
    out.core_properties.title = doc.title
    out.core_properties.author = "cdisc-convert"
    if created is not None:
        out.core_properties.created = created
        out.core_properties.modified = created
        out.core_properties.last_printed = created
    out.add_heading(doc.title, level=0)
    out.add_paragraph(doc.subtitle)

    def add_text(paragraph, text: str) -> None:
        pieces = text.split(TO_DO)
        for i, piece in enumerate(pieces):
            if piece:
                paragraph.add_run(piece)
            if i < len(pieces) - 1:
                paragraph.add_run(TO_DO).font.highlight_color = WD_COLOR_INDEX.YELLOW

    for block in doc.blocks:
        if isinstance(block, Heading):
            out.add_heading(block.text, level=min(block.level, 3))
        elif isinstance(block, Paragraph):
            add_text(out.add_paragraph(), block.text)
        else:
            table = out.add_table(rows=1, cols=len(block.header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, block.header):
                cell.text = ""
                cell.paragraphs[0].add_run(text).bold = True
            for row in block.rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row):
                    add_text(cell.paragraphs[0], text)
    out.save(str(path))
    return path
