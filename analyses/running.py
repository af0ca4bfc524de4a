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

import orjson
import psycopg

from analyses import holidays
from analyses.model import Analysis, Area, Page, Row, page_of
from spatial import catalog


class ResultCache:
    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._results: OrderedDict[str, list[Row] | Page] = OrderedDict()

    async def run(
        self, conn: psycopg.AsyncConnection, analysis: Analysis, area: Area,
        params: dict[str, Any],
    ) -> Page:  # fmt: skip
        """The page ``params`` ask for; every page of one result comes from one run."""
        versions = await catalog.layer_versions(conn)
        arranged = await holidays.refresh(conn)  # a year's holidays loaded changes deadlines
        kept = params if analysis.pages_itself else {
            k: v for k, v in params.items() if k not in ("limit", "offset")}  # fmt: skip
        key = json.dumps([analysis.name, area.params, kept, versions, arranged], default=str)
        if key in self._results:
            self._results.move_to_end(key)
            return page_of(self._results[key], params)
        result = await analysis.run(conn, area, params)
        self._results[key] = result
        while len(self._results) > self.size:
            self._results.popitem(last=False)
        return page_of(result, params)


def paging(page: Page, params: dict[str, Any]) -> dict[str, Any]:
    """What an answer says about itself: how many rows in all, how many here, whether more."""
    returned = len(page.rows)
    return {
        "numberMatched": page.total,
        "numberReturned": returned,
        "offset": params["offset"],
        "limit": params["limit"],
        "truncated": params["offset"] + returned < page.total,
    }


def geometry_json(text: str | None) -> orjson.Fragment | None:
    """A row's GeoJSON text, to go into the answer as it is (written by :func:`dumps`)."""
    return None if text is None else orjson.Fragment(text)


def dumps(body: dict[str, Any], *, indent: bool = False) -> bytes:
    """An answer as UTF-8 JSON, its geometries as PostGIS wrote them (no NaN: null)."""
    return orjson.dumps(body, default=str, option=orjson.OPT_INDENT_2 if indent else 0)


def as_json(
    analysis: Analysis, area: Area, params: dict[str, Any], page: Page,
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    shown = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    out = {
        "analysis": analysis.name,
        "title": [analysis.title_zh, analysis.title_en],
        "area": {k: v for k, v in area.params.items() if v is not None},
        "parameters": shown,
        **paging(page, params),
        "summary": page.summary,
        "fields": analysis.fields_of(page.rows),
        "rows": [{"id": r.id, **r.properties} for r in page.rows],
    }
    if links is not None:
        out["links"] = links
    return out


def as_geojson(
    analysis: Analysis, page: Page, params: dict[str, Any],
    links: list[dict[str, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    out = {
        "type": "FeatureCollection",
        "name": analysis.name,
        **paging(page, params),
        "fields": analysis.fields_of(page.rows),
        "features": [
            {
                "type": "Feature",
                "id": r.id,
                "geometry": geometry_json(r.geometry),
                "properties": r.properties,
            }
            for r in page.rows
        ],
    }
    if page.summary is not None:
        out["summary"] = page.summary
    if links is not None:
        out["links"] = links
    return out
