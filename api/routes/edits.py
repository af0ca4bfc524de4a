"""OGC API Features Part 4: create, replace, update and delete features, and their history.

Writes go to the primary and answer with the feature's new ETag; the writer's next reads
follow it there (``api.replicas``'s LSN cookie). Who may write which layer comes from the
registry (``Layer.editors``) through ``api.access``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Body, Header, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from api.access import Caller, CallerDep, EditableLayerDep, LayerDep
from api.deps import WriteConnDep
from api.links import GEOJSON, JSON, documented, link, url
from api.params import DIGITS, json_body
from api.replicas import LSN_COOKIE
from layers import MAX_ID, Layer
from layers.errors import Unauthorized
from spatial import catalog, edits
from spatial import crs as crs_mod
from spatial.features import FeatureQuery, feature_text, representation_tag

router = APIRouter(tags=["OGC API Features – Part 4"])

FeatureId = Annotated[int, Path(alias="featureId", ge=1, le=MAX_ID), DIGITS]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag read with the feature: 412 if it changed"),
]
ContentCrs = Annotated[
    str | None, Header(alias="Content-Crs", description="CRS of the body (default CRS84)")
]


class FeatureIn(BaseModel):
    """A GeoJSON Feature; its properties are checked against the layer registry."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"]
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None


class FeaturePatch(BaseModel):
    """Changed properties and/or a new geometry (JSON merge patch of a Feature)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None


def _editor(caller: Caller) -> edits.Editor:
    return edits.Editor(caller.name, caller.level, caller.scope)


def _content_crs(value: str | None) -> crs_mod.Crs:
    return crs_mod.parse(value.strip().strip("<>") if value else None)


async def _answer(
    request: Request, conn: psycopg.AsyncConnection, layer: Layer, caller: Caller,
    written: edits.Written, status: int,
) -> Response:  # fmt: skip
    """The feature as the caller now sees it, with its ETag and the writer's LSN cookie."""
    q = FeatureQuery(layer=layer, level=caller.level, ids=(written.id,), scope=caller.scope)
    text = await feature_text(conn, q)
    location = url(request, f"/collections/{layer.name}/items/{written.id}")
    feature = json.loads(text) if text else {"type": "Feature", "id": written.id}
    collection = url(request, f"/collections/{layer.name}")
    feature["links"] = [link(location, "self", GEOJSON), link(collection, "collection", JSON)]
    headers = {"Location": location}
    if text:
        headers["ETag"] = representation_tag(text)  # what a GET of it answers
    response = JSONResponse(feature, status_code=status, headers=headers, media_type=GEOJSON)
    return await _with_lsn(conn, response)


async def _with_lsn(conn: psycopg.AsyncConnection, response: Response) -> Response:
    """Set the writer's ``onemap_lsn`` cookie: their next reads see this write (api.replicas)."""
    lsn = await catalog.wal_position_async(conn)
    if lsn:
        response.set_cookie(LSN_COOKIE, lsn, max_age=300, httponly=True, samesite="strict")
    return response


@router.post("/collections/{collectionId}/items", status_code=201, summary="Add a feature",
             response_class=Response, responses={201: {"content": {GEOJSON: {}}}},
             dependencies=[json_body(GEOJSON)])  # fmt: skip
async def create_item(
    request: Request, layer: EditableLayerDep, caller: CallerDep, conn: WriteConnDep,
    feature: Annotated[FeatureIn, Body(media_type=GEOJSON)], content_crs: ContentCrs = None,
) -> Response:  # fmt: skip
    body = feature.model_dump()
    written = await edits.create(conn, layer, _editor(caller), body, _content_crs(content_crs))
    return await _answer(request, conn, layer, caller, written, 201)


@router.put("/collections/{collectionId}/items/{featureId}", summary="Replace a feature",
            response_class=Response, responses=documented(GEOJSON),
            dependencies=[json_body(GEOJSON)])  # fmt: skip
async def replace_item(
    request: Request, layer: EditableLayerDep, caller: CallerDep, conn: WriteConnDep,
    fid: FeatureId, feature: Annotated[FeatureIn, Body(media_type=GEOJSON)],
    if_match: IfMatch = None, content_crs: ContentCrs = None,
) -> Response:  # fmt: skip
    written = await edits.update(
        conn, layer, _editor(caller), fid, feature.model_dump(), replace=True,
        if_match=if_match, content_crs=_content_crs(content_crs),
    )  # fmt: skip
    return await _answer(request, conn, layer, caller, written, 200)


@router.patch("/collections/{collectionId}/items/{featureId}", summary="Change a feature",
              response_class=Response, responses=documented(GEOJSON),
              dependencies=[json_body("application/merge-patch+json")])  # fmt: skip
async def update_item(
    request: Request, layer: EditableLayerDep, caller: CallerDep, conn: WriteConnDep,
    fid: FeatureId, patch: Annotated[FeaturePatch, Body(media_type="application/merge-patch+json")],
    if_match: IfMatch = None, content_crs: ContentCrs = None,
) -> Response:  # fmt: skip
    body = patch.model_dump(exclude_unset=True)
    body.setdefault("type", "Feature")
    if "geometry" not in body:
        body["geometry"] = ...  # not sent: keep it
    written = await edits.update(
        conn, layer, _editor(caller), fid, body, replace=False,
        if_match=if_match, content_crs=_content_crs(content_crs),
    )  # fmt: skip
    return await _answer(request, conn, layer, caller, written, 200)


@router.delete("/collections/{collectionId}/items/{featureId}", status_code=204,
               summary="Delete a feature", response_class=Response)  # fmt: skip
async def delete_item(
    layer: EditableLayerDep, caller: CallerDep, conn: WriteConnDep, fid: FeatureId,
    if_match: IfMatch = None,
) -> Response:  # fmt: skip
    await edits.delete(conn, layer, _editor(caller), fid, if_match)
    return await _with_lsn(conn, Response(status_code=204))


@router.get("/collections/{collectionId}/items/{featureId}/history",
            summary="Changes of a feature, newest first")  # fmt: skip
async def item_history(
    request: Request, layer: LayerDep, caller: CallerDep, conn: WriteConnDep, fid: FeatureId
) -> dict[str, Any]:
    if not caller.signed_in:
        raise Unauthorized("the change history needs a token")
    changes = await edits.history(conn, layer, fid, caller.level, caller.scope)
    return {
        "changes": changes,
        "links": [link(url(request, f"/collections/{layer.name}/items/{fid}"), "about", GEOJSON)],
    }
