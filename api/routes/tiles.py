"""OGC API Tiles: vector tiles per layer and for several layers at once, with TileJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.access import (
    SECURITY_REQUIREMENTS,
    Caller,
    LayerDep,
    LevelDep,
    caller_of,
    find_visible_layer,
)
from api.deps import ConnDep, read_connection
from api.links import JSON, MVT, link, url
from api.negotiation import etag_matches
from api.params import (
    path_integer_parameter,
    path_integers,
    path_text_parameter,
    query_text_parameter,
    required_query_text,
)
from api.response_cache import offer
from api.state import state_of
from layers import Layer, Visibility
from layers.errors import InvalidInput, NotFound, shown
from spatial import collections, tiles
from spatial.features import representation_tag

router = APIRouter(tags=["OGC API Tiles"])

TMS = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
# Layers in one multi-layer tile: every public map layer fits; repeats are dropped first.
MAX_TILE_LAYERS = 16
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
TILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MVT: {}}},
    204: {"description": "Empty tile"},
    304: {"description": "Not modified"},
}

COLLECTIONS = "Comma-separated collection ids"
CollectionsParam = Annotated[str, Query(alias="collections", description=COLLECTIONS)]

# The tile routes, the hottest, take their path, caller, layer and connection themselves:
# FastAPI's solving of them costs ~0.2 ms of a 0.7–2 ms computed tile (BENCHMARKS.md, 30
# and 35). Their OpenAPI operations still say what they take.
TILE_ADDRESS = {"tileMatrix": (0, tiles.MAX_ZOOM), "tileRow": (0, None), "tileCol": (0, None)}
_ADDRESS_PARAMETERS = [
    path_text_parameter("tileMatrixSetId"),
    *(path_integer_parameter(name, low, high) for name, (low, high) in TILE_ADDRESS.items()),
]
LAYER_TILE_OPERATION = {
    "parameters": [path_text_parameter("collectionId"), *_ADDRESS_PARAMETERS],
    "security": SECURITY_REQUIREMENTS,
}
TILE_OPERATION = {
    "parameters": [
        *_ADDRESS_PARAMETERS,
        query_text_parameter("collections", COLLECTIONS, required=True),
    ],
    "security": SECURITY_REQUIREMENTS,
}


def check_tms(tms: str) -> None:
    if tms != TMS:
        raise NotFound(f"tile matrix set {shown(tms)} not found; use {TMS}")


def tiled(layer: Layer) -> Layer:
    if not layer.is_spatial:
        raise NotFound(f"collection {layer.name!r} has no tiles")
    return layer


async def tile_matrix_set(tms: Annotated[str, Path(alias="tileMatrixSetId")]) -> str:
    check_tms(tms)
    return tms


async def tiled_layer(layer: LayerDep, _: Annotated[str, Depends(tile_matrix_set)]) -> Layer:
    return tiled(layer)


TiledLayerDep = Annotated[Layer, Depends(tiled_layer)]
TmsDep = Annotated[str, Depends(tile_matrix_set)]


def _spatial_layers(names: str, level: Visibility) -> list[Layer]:
    wanted = list(dict.fromkeys(n.strip() for n in names.split(",") if n.strip()))
    if len(wanted) > MAX_TILE_LAYERS:
        raise InvalidInput(f"collections: at most {MAX_TILE_LAYERS} in one tile")
    layers = [find_visible_layer(name, level) for name in wanted]
    if not layers:
        raise InvalidInput("collections: name at least one collection")
    for layer in layers:
        if not layer.is_spatial:
            raise InvalidInput(f"collections: {layer.name!r} has no geometry")
    return layers


async def _tile_response(
    request: Request, conn: ConnDep, layers: list[Layer], caller: Caller, z: int, y: int, x: int
) -> Response:
    tiles.check_tile(z, x, y)
    level, scope = caller.level, caller.scope
    data, versions = await tiles.render_with_versions(conn, layers, level, z, x, y, scope)
    tag = representation_tag(data)
    offer(request, versions, scope)  # read in the tile's own statement: its very snapshot
    if etag_matches(request.headers.get("if-none-match"), tag):
        return Response(status_code=304, headers=_tile_headers(request, tag))
    headers = _tile_headers(request, tag)
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=MVT, headers=headers)


def _tile_headers(request: Request, tag: str) -> dict[str, str]:
    return {
        "ETag": tag,
        "Cache-Control": state_of(request).features.tile_cache_control,
        "Vary": "Authorization",
    }


async def _bounds(conn: ConnDep, layers: list[Layer]) -> list[float]:
    boxes = [box for layer in layers if (box := await collections.bbox(conn, layer))]
    if not boxes:
        return [-180.0, -85.05, 180.0, 85.05]
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]  # fmt: skip


def _tilejson(
    layers: list[Layer], level: Visibility, template: str, bounds: list[float]
) -> dict[str, Any]:
    min_zoom = min(la.min_zoom for la in layers)
    return {
        "tilejson": "3.0.0",
        "name": ",".join(la.name for la in layers),
        "description": "; ".join(f"{la.title_zh} {la.title_en}" for la in layers),
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": min_zoom,
        "maxzoom": max(la.max_zoom for la in layers),
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, max(min_zoom, 9)],
        "vector_layers": [
            {
                "id": la.name,
                "description": la.title_en,
                "minzoom": la.min_zoom,
                "maxzoom": la.max_zoom,
                "fields": {
                    f.name: f"{f.label_zh} / {f.label_en}"
                    for f in la.visible_fields(level)
                    if f.name in tiles.tile_fields(la, level)
                }
                | tiles.cluster_field_description(la),
            }
            for la in layers
        ],
    }


@router.get("/tileMatrixSets", summary="Tile matrix sets")
def list_tile_matrix_sets(request: Request) -> dict[str, Any]:
    href = url(request, f"/tileMatrixSets/{TMS}")
    return {"tileMatrixSets": [{"id": TMS, "title": "Web Mercator", "uri": TMS_URI,
                                "links": [link(href, "self", JSON)]}]}  # fmt: skip


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="A tile matrix set")
def get_tile_matrix_set(_: TmsDep) -> dict[str, Any]:
    return tiles.tile_matrix_set()


@router.get("/collections/{collectionId}/tiles", summary="Tilesets of a layer")
def list_tilesets(request: Request, layer: LayerDep) -> dict[str, Any]:
    if not layer.is_spatial:
        raise NotFound(f"collection {layer.name!r} has no tiles")
    return {"tilesets": [_tileset(request, layer)]}


def _tileset(request: Request, layer: Layer) -> dict[str, Any]:
    base = f"/collections/{layer.name}/tiles/{TMS}"
    template = url(request, base) + "/{tileMatrix}/{tileRow}/{tileCol}"
    dimension = layer.geometry_type.dimension if layer.geometry_type else 2
    return {
        "title": f"{layer.title_en} ({TMS})",
        "dataType": "vector",
        "crs": WEB_MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "layers": [{"id": layer.name, "dataType": "vector", "geometryDimension": dimension}],
        "links": [
            link(url(request, base), "self", JSON),
            link(template, "item", MVT, "Tiles"),
            link(url(request, f"{base}/tilejson.json"), "describedby", JSON, "TileJSON"),
            link(url(request, f"/tileMatrixSets/{TMS}"), TILING_SCHEME, JSON),
        ],
    }


@router.get("/collections/{collectionId}/tiles/{tileMatrixSetId}", summary="A layer's tileset")
async def get_tileset(request: Request, layer: TiledLayerDep, conn: ConnDep) -> dict[str, Any]:
    bounds = await _bounds(conn, [layer])
    limits = tiles.tile_matrix_set_limits(bounds, layer.min_zoom, layer.max_zoom)
    return {**_tileset(request, layer), "bounds": bounds, "tileMatrixSetLimits": limits}


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/tilejson.json",
    summary="TileJSON of a layer",
)
async def get_layer_tilejson(
    request: Request, layer: TiledLayerDep, level: LevelDep, conn: ConnDep
) -> dict[str, Any]:
    template = url(request, f"/collections/{layer.name}/tiles/{TMS}") + "/{z}/{y}/{x}"
    return _tilejson([layer], level, template, await _bounds(conn, [layer]))


@router.get(
    "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile of a layer",
    responses=TILE_RESPONSES,
    openapi_extra=LAYER_TILE_OPERATION,
)
async def get_layer_tile(request: Request) -> Response:
    caller = await caller_of(request)
    z, y, x = path_integers(request, TILE_ADDRESS)
    check_tms(request.path_params["tileMatrixSetId"])
    layer = tiled(find_visible_layer(request.path_params["collectionId"], caller.level))
    async with read_connection(request) as conn:
        return await _tile_response(request, conn, [layer], caller, z, y, x)


@router.get("/tiles/{tileMatrixSetId}/tilejson.json", summary="TileJSON of several layers")
async def get_tilejson(
    request: Request, level: LevelDep, conn: ConnDep, names: CollectionsParam, _: TmsDep
) -> dict[str, Any]:
    layers = _spatial_layers(names, level)
    template = url(request, f"/tiles/{TMS}") + "/{z}/{y}/{x}?collections=" + names
    return _tilejson(layers, level, template, await _bounds(conn, layers))


@router.get(
    "/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
    summary="A vector tile of several layers",
    responses=TILE_RESPONSES,
    openapi_extra=TILE_OPERATION,
)
async def get_tile(request: Request) -> Response:
    caller = await caller_of(request)
    z, y, x = path_integers(request, TILE_ADDRESS)
    names = required_query_text(request, "collections")
    check_tms(request.path_params["tileMatrixSetId"])
    layers = _spatial_layers(names, caller.level)
    async with read_connection(request) as conn:
        return await _tile_response(request, conn, layers, caller, z, y, x)
