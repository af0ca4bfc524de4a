"""``/collections``: every layer the caller may see, its extent, CRSs and queryables."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.access import Caller, CallerDep, LayerDep, LevelDep
from api.deps import ConnDep
from api.links import (
    GEOJSON,
    JSON,
    SCHEMA_JSON,
    HtmlFormat,
    documented,
    html_view,
    html_wanted,
    link,
    url,
    with_query,
)
from api.openapi import queryable_fields
from layers import REGISTRY, Layer, Visibility
from spatial import collections, crs
from spatial.features import field_json_schema
from viewer import ogc_html

router = APIRouter(tags=["OGC API"])


def _collection(request: Request, layer: Layer, extent: dict[str, Any] | None) -> dict[str, Any]:
    base = f"/collections/{layer.name}"
    links = [
        link(url(request, base), "self", JSON, layer.title_en),
        link(url(request, f"{base}/items"), "items", GEOJSON, "Features"),
        link(url(request, f"{base}/queryables"), "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             SCHEMA_JSON, "Queryables"),
        link(url(request, f"{base}/export", format="geojson"), "enclosure", GEOJSON, "Download"),
    ]  # fmt: skip
    if layer.is_spatial:
        links.append(
            link(
                url(request, f"{base}/tiles"),
                "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                JSON,
                "Vector tiles",
            )  # fmt: skip
        )
        links.append(link(url(request, f"{base}/tiles/WebMercatorQuad/tilejson.json"),
                          "describedby", JSON, "TileJSON"))  # fmt: skip
    out: dict[str, Any] = {
        "id": layer.name,
        "title": f"{layer.title_zh} {layer.title_en}",
        "description": layer.description,
        "itemType": "feature",
        "links": links,
    }
    if layer.is_spatial:
        out["crs"] = [c.uri for c in crs.SUPPORTED]
        out["storageCrs"] = crs.CRS84
    if extent:
        out["extent"] = extent
    return out


def _visible(level: Visibility) -> list[Layer]:
    return [layer for layer in REGISTRY.values() if layer.visibility <= level]


async def _extent(conn: psycopg.AsyncConnection, layer: Layer, caller: Caller) -> dict[str, Any]:
    """The layer's extent, unless it would tell a street-bound caller about rows elsewhere."""
    if caller.scope is not None and caller.scope.limits_rows(layer):
        return {}  # where and when internal data exists city-wide is internal
    return await collections.extent(conn, layer)


@router.get("/collections", summary="The layers", response_model=None)
async def list_collections(
    request: Request, caller: CallerDep, conn: ConnDep, f: HtmlFormat = None
) -> dict[str, Any] | HTMLResponse:
    html = html_wanted(request, f)
    items = [
        _collection(request, layer, await _extent(conn, layer, caller))
        for layer in _visible(caller.level)
    ]
    doc = {
        "collections": items,
        "links": [link(url(request, "/collections"), "self", JSON)],
    }
    if html:
        return html_view(ogc_html.collections_html(doc, with_query(request, f="json")))
    return doc


@router.get("/collections/{collectionId}", summary="One layer", response_model=None)
async def get_collection(
    request: Request, layer: LayerDep, caller: CallerDep, conn: ConnDep, f: HtmlFormat = None
) -> dict[str, Any] | HTMLResponse:
    html = html_wanted(request, f)
    doc = _collection(request, layer, await _extent(conn, layer, caller))
    if html:
        page = ogc_html.collection_html(doc, layer, caller.level, with_query(request, f="json"))
        return html_view(page)
    return doc


@router.get("/collections/{collectionId}/sortables", summary="Properties to sort by",
            response_class=Response, responses=documented(SCHEMA_JSON))  # fmt: skip
def get_sortables(request: Request, layer: LayerDep, level: LevelDep) -> JSONResponse:
    """What ``sortby`` takes (OGC API Records sorting): every scalar property the caller sees."""
    properties: dict[str, Any] = {"id": {"title": "Feature id", "type": "integer"}}
    properties |= {f.name: field_json_schema(f) for f in queryable_fields(layer, level)}
    return _schema_document(request, layer, "sortables", properties)


@router.get("/collections/{collectionId}/queryables", summary="Properties to filter on",
            response_class=Response, responses=documented(SCHEMA_JSON))  # fmt: skip
def get_queryables(request: Request, layer: LayerDep, level: LevelDep) -> JSONResponse:
    properties: dict[str, Any] = {f.name: field_json_schema(f) for f in layer.visible_fields(level)}
    if layer.is_spatial:
        properties["geom"] = {
            "title": "Geometry",
            "format": f"geometry-{layer.geometry_type.value.lower()}",  # type: ignore[union-attr]
            "x-ogc-role": "primary-geometry",
        }
    return _schema_document(request, layer, "queryables", properties)


def _schema_document(
    request: Request, layer: Layer, kind: str, properties: dict[str, Any]
) -> JSONResponse:
    """A layer's ``queryables`` or ``sortables``: a JSON Schema of ``properties``."""
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url(request, f"/collections/{layer.name}/{kind}"),
        "type": "object",
        "title": f"{layer.title_zh} {layer.title_en}",
        "properties": properties,
        "additionalProperties": False,
    }
    return JSONResponse(body, media_type=SCHEMA_JSON)
