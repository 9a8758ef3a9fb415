"""A collector for mapping findings: every problem names table, row, variable, rule, value."""
from __future__ import annotations

import pandas as pd

FINDING_COLUMNS = ["severity", "rule", "domain", "variable", "table", "row", "value", "message"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}


class Findings:
    """Accumulates findings as small frames (vectorised: one call per rule and column)."""

    def __init__(self):
        self._parts: list[pd.DataFrame] = []

    def add(self, severity: str, rule: str, message: str, *, domain: str = "",
            variable: str = "", table=None, rows=None, values=None) -> None:
        """Add one finding, or one per element when ``rows``/``values`` are Series/lists."""
        if rows is None:
            rows_list = [None]
        else:
            rows_list = list(rows)
        n = len(rows_list)
        if values is None:
            values_list = [""] * n
        else:
            values_list = [str(v) for v in values]
        if isinstance(table, pd.Series) or isinstance(table, list):
            tables = [str(t) for t in table]
        else:
            tables = [table or ""] * n
        self._parts.append(pd.DataFrame({
            "severity": severity, "rule": rule, "domain": domain, "variable": variable,
            "table": tables, "row": rows_list, "value": values_list, "message": message}))

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(columns=FINDING_COLUMNS)
        out = pd.concat(self._parts, ignore_index=True)[FINDING_COLUMNS]
        out["row"] = pd.array(out["row"], dtype="Int64")
        out["_s"] = out["severity"].map(SEVERITY_ORDER)
        out = out.sort_values(["_s", "domain", "rule", "table", "row", "variable"], kind="stable")
        return out.drop(columns="_s").reset_index(drop=True)

    def errors(self) -> pd.DataFrame:
        f = self.frame()
        return f[f["severity"] == "error"]

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)


def describe(findings: pd.DataFrame, limit: int = 20) -> list[str]:
    """Readable lines for the first ``limit`` findings: 'ae.csv row 12, column AESTDAT: ...'."""
    lines = []
    for f in findings.head(limit).itertuples(index=False):
        where = ", ".join(x for x in (
            f.table or "", f"row {f.row}" if pd.notna(f.row) else "",
            (f"{f.domain}.{f.variable}" if f.domain else f"column {f.variable}") if f.variable
            else f.domain) if x)
        value = f" (value {f.value!r})" if f.value not in ("", "None") else ""
        lines.append(f"{where}: {f.message}{value} [{f.rule}]")
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more (see the findings report)")
    return lines
