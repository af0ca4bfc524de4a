"""``/search``: names, addresses and buildings across the layers the caller may see.

Answers a GeoJSON FeatureCollection of points (where to zoom), each with its layer, feature
id, label, a line of detail and the feature's bbox, best match first; the pages' search box
reads it as someone types.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.access import CallerDep
from api.deps import ConnDep
from api.links import GEOJSON, JSON, documented, link, url
from api.params import DIGITS, DeclaredOnly
from layers import REGISTRY
from layers.errors import InvalidInput
from spatial.search import Search, find, parse_terms

router = APIRouter(tags=["Search"], dependencies=DeclaredOnly)

MAX_RESULTS = 50


@router.get("/search", summary="Find estates, buildings, streets and places by name",
            response_class=Response, responses=documented(GEOJSON))  # fmt: skip
async def search(
    request: Request,
    caller: CallerDep,
    conn: ConnDep,
    q: Annotated[
        str | None,
        Query(description="Words to find: Chinese, pinyin (jianguoxili) or initials (jgxl)"),
    ] = None,
    collections: Annotated[
        str | None, Query(description="Comma-separated layers to search (default: all)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS), DIGITS] = 10,
) -> Response:
    terms = parse_terms(q)
    searchable = [la for la in REGISTRY.values() if la.search and la.visibility <= caller.level]
    if collections is not None:
        asked = [name.strip() for name in collections.split(",") if name.strip()]
        by_name = {la.name: la for la in searchable}
        unknown = [name for name in asked if name not in by_name]
        if unknown or not asked:
            raise InvalidInput(
                f"collections: {', '.join(unknown) or 'none given'} — searchable: "
                + ", ".join(by_name)
            )
        searchable = [by_name[name] for name in dict.fromkeys(asked)]
    rows = await find(conn, Search(terms, tuple(searchable), caller.scope, limit))
    features = [_feature(request, *row) for row in rows]
    body = {
        "type": "FeatureCollection",
        "features": features,
        "numberReturned": len(features),
        "links": [link(str(request.url), "self", GEOJSON, "This search")],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)


def _feature(
    request: Request, layer: str, fid: int, label: str, detail: str | None,
    place: dict[str, Any] | None, bbox: list[float] | None,
) -> dict[str, Any]:  # fmt: skip
    la = REGISTRY[layer]
    feature: dict[str, Any] = {
        "type": "Feature",
        "id": f"{layer}.{fid}",
        "geometry": place,
        "properties": {
            "collection": layer,
            "featureId": fid,
            "label": label,
            "detail": detail,
            "title": [la.title_zh, la.title_en],
        },
        "links": [
            link(url(request, f"/collections/{layer}/items/{fid}"), "item", GEOJSON, label),
            link(url(request, f"/collections/{layer}"), "collection", JSON),
        ],
    }
    if bbox is not None:
        feature["bbox"] = bbox
    return feature
