"""The ingest report: what was read, what went in, and every problem with row and reason."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from spatial.validate import Problem

# What varies between problems of one kind: the value quoted, the numbers.
# A number counts when it is the value (the reason starts with it), has decimals or is long;
# "a ring needs 4 positions" keeps its 4.
_PARTICULARS = re.compile(
    r"'[^']*'|\"[^\"]*\"|^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|-?\d+\.\d+(?:e[+-]?\d+)?|-?\d{3,}"
)
_QUOTED = re.compile(r"'([^']*)'")
EXAMPLE_ROWS = 5


def problem_kinds(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems grouped by field and kind (the reason without its particulars), largest first.

    Each kind says how many, its first rows, and the values that caused it.
    """
    groups: dict[tuple[str | None, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.field, _PARTICULARS.sub("…", p.reason)), []).append(p)
    kinds = []
    for (name, kind), members in groups.items():
        values = Counter(m.group(1) for p in members if (m := _QUOTED.match(p.reason)))
        kinds.append({
            "field": name, "kind": kind, "count": len(members),
            "rows": sorted({p.row for p in members if p.row is not None})[:EXAMPLE_ROWS],
            "example": members[0].reason,
            "values": dict(values.most_common(10)),
        })  # fmt: skip
    return sorted(kinds, key=lambda k: -k["count"])


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
    mapping: dict[str, Any] = field(default_factory=dict)  # what values and set did
    suggested_mapping: str | None = None  # a draft mapping (YAML), when asked for
    preview: dict[str, Any] | None = None  # a dry run's first geometries (GeoJSON, WGS84)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.committed or (self.dry_run and not self.problems)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [p.as_dict() for p in self.problems]
        out["problem_kinds"] = problem_kinds(self.problems)
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
        for name, crosswalk in self.mapping.get("values", {}).items():
            done = [f"{k} → {v['to']} ({v['rows']})" for k, v in crosswalk.items()]
            lines.append(f"  values of {name}: " + ", ".join(done))
        for name, given in self.mapping.get("set", {}).items():
            lines.append(f"  set {name} = {given['value']} on {given['rows']} rows")
        lines += [f"  note: {n}" for n in self.notes]
        kinds = problem_kinds(self.problems)
        if kinds:
            rows = len({p.row for p in self.problems if p.row is not None})
            lines.append(f"  problems: {len(self.problems)} in {rows} rows, "
                         f"{len(kinds)} kind{'s' if len(kinds) > 1 else ''}:")  # fmt: skip
        for k in kinds[:limit]:
            name = k["field"] or "-"
            if k["count"] == 1:  # a problem of its own kind: as it is, with its row
                where = f"row {k['rows'][0]}" if k["rows"] else "file"
                lines.append(f"    {where}, {name}: {k['example']}")
                continue
            first = ", ".join(map(str, k["rows"]))
            more = ", …" if k["count"] > len(k["rows"]) else ""
            values = ", ".join(f"{v} ×{n}" for v, n in k["values"].items())
            lines.append(f"    {k['count']} × {name}: {k['kind']}"
                         + (f" — rows {first}{more}" if first else "")
                         + (f"; values {values}" if values else ""))  # fmt: skip
        if len(kinds) > limit:
            lines.append(f"    … and {len(kinds) - limit} more kinds (see the JSON report)")
        return "\n".join(lines)
