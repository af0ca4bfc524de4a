"""``/labels``: the names to write on a map view (districts, streets, roads, estates, buildings)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.access import CallerDep
from api.deps import ConnDep
from api.links import GEOJSON, documented
from api.params import DIGITS, BboxTooLarge, DeclaredOnly, check_bbox, parse_bbox
from api.state import state_of
from layers.errors import InvalidInput
from spatial import crs
from spatial.labels import labelled_layers, labels_sql
from spatial.validate import city_extent_async

router = APIRouter(tags=["Maps"], dependencies=DeclaredOnly)


@router.get("/labels", summary="Names to write on the map in a view, at a zoom",
            response_class=Response, responses=documented(GEOJSON))  # fmt: skip
async def get_labels(
    request: Request,
    caller: CallerDep,
    conn: ConnDep,
    bbox: Annotated[str | None, Query(description="The view: west,south,east,north")] = None,
    zoom: Annotated[int, Query(ge=0, le=22, description="The map's zoom"), DIGITS] = 12,
) -> Response:
    """A point per name, for the layers the registry labels at ``zoom``.

    The biggest features come first, for a map that drops the labels that would overlap.
    """
    view = parse_bbox(bbox)
    if view is None:
        raise InvalidInput("bbox: the view to label, as west,south,east,north")
    limit = state_of(request).features.max_bbox_area_deg2
    try:
        view = check_bbox(view, crs.DEFAULT, limit)
    except BboxTooLarge:
        view = check_bbox(view, crs.DEFAULT, limit, await city_extent_async(conn))
    statement = labels_sql(labelled_layers(caller.level, zoom, caller.scope), view)
    cur = await conn.execute(statement.sql, statement.params)
    features = [
        {"type": "Feature", "geometry": json.loads(place),
         "properties": {"layer": layer, "text": text, "weight": round(weight or 0, 1)}}
        for layer, text, place, weight in await cur.fetchall()
    ]  # fmt: skip
    body = {"type": "FeatureCollection", "features": features}
    return Response(json.dumps(body, ensure_ascii=False), media_type=GEOJSON)
