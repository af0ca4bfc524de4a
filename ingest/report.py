"""The ingest report: what was read, what went in, and every problem with row and reason."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from spatial.validate import Problem


@dataclass
class Report:
    file: str
    layer: str
    mode: str
    format: str = ""
    crs: str = ""
    encoding: str | None = None
    rows_read: int = 0
    rows_valid: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    dry_run: bool = False
    committed: bool = False
    columns: dict[str, str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.committed or (self.dry_run and not self.problems)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [p.as_dict() for p in self.problems]
        out["ok"] = self.ok
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2, default=str)

    def to_text(self, limit: int = 50) -> str:
        if self.committed:
            verdict = "written"
        elif self.ok:
            verdict = "dry run: valid, nothing written"
        else:
            verdict = "REJECTED: the layer is unchanged"
        encoding = f", encoding {self.encoding}" if self.encoding else ""
        lines = [
            f"{self.file} → {self.layer} ({self.mode}): {verdict}",
            f"  format {self.format}, CRS {self.crs}{encoding}",
            f"  rows read {self.rows_read}, valid {self.rows_valid}, inserted {self.inserted}, "
            f"updated {self.updated}, skipped {self.skipped}",
        ]
        if self.columns:
            lines.append("  columns: " + ", ".join(f"{k} → {v}" for k, v in self.columns.items()))
        if self.unknown_columns:
            lines.append("  unknown columns (not loaded): " + ", ".join(self.unknown_columns))
        lines += [f"  note: {n}" for n in self.notes]
        for p in self.problems[:limit]:
            where = f"row {p.row}" if p.row is not None else "file"
            lines.append(f"  {where}, {p.field or '-'}: {p.reason}")
        if len(self.problems) > limit:
            lines.append(
                f"  … and {len(self.problems) - limit} more problems (see the JSON report)"
            )
        return "\n".join(lines)
