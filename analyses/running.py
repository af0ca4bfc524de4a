"""Running an analysis for a caller: parameters, the area, a result cache, the output shapes.

Results are kept per (analysis, area, parameters, layer versions): any write to any layer
moves a version and the next run computes afresh, so a cached answer is never stale. The
first city-wide run of the slowest analysis takes seconds (BENCHMARKS.md); a repeat is
instant.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from typing import Any

import psycopg

from analyses.model import Analysis, Area, Row
from spatial import catalog


class ResultCache:
    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._rows: OrderedDict[str, list[Row]] = OrderedDict()

    async def run(
        self, conn: psycopg.AsyncConnection, analysis: Analysis, area: Area,
        params: dict[str, Any],
    ) -> list[Row]:  # fmt: skip
        versions = await catalog.layer_versions(conn)
        key = json.dumps([analysis.name, area.params, params, versions], default=str)
        if key in self._rows:
            self._rows.move_to_end(key)
            return self._rows[key]
        rows = await analysis.run(conn, area, params)
        self._rows[key] = rows
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)
        return rows


def as_json(
    analysis: Analysis, area: Area, params: dict[str, Any], rows: list[Row]
) -> dict[str, Any]:
    shown = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    return {
        "analysis": analysis.name,
        "title": [analysis.title_zh, analysis.title_en],
        "area": {k: v for k, v in area.params.items() if v is not None},
        "parameters": shown,
        "count": len(rows),
        "rows": [{"id": r.id, **r.properties} for r in rows],
    }


def as_geojson(analysis: Analysis, rows: list[Row]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "name": analysis.name,
        "features": [
            {"type": "Feature", "id": r.id, "geometry": r.geometry, "properties": r.properties}
            for r in rows
        ],
    }
