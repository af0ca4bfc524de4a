"""``/collections/{id}/items``: pages of features, sent whole or, past one batch, streamed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.access import SECURITY_REQUIREMENTS, caller_of, find_visible_layer
from api.links import GEOJSON, JSON, documented, html_view, link, url, with_query
from api.negotiation import wants_html
from api.params import (
    CRS_DESCRIPTION,
    DIGITS,
    LimitDep,
    path_integer_parameter,
    path_integers,
    path_text_parameter,
    query_text_parameter,
)
from api.querying import QueryDep
from api.replicas import ReadPoolDep, read_pool
from api.response_cache import offer_before_reading
from api.state import state_of
from api.streaming import ReleasingStreamingResponse
from layers import MAX_ID
from layers.errors import InvalidInput, NotFound, shown
from spatial import crs as crs_mod
from spatial.execute import RowStream
from spatial.features import FeatureQuery, representation_tag, select_sql, texts_of
from viewer import ogc_html

router = APIRouter(tags=["OGC API"])

FORMATS = "json, geojson, or html"
FormatParam = Annotated[str | None, Query(alias="f", description=FORMATS)]


def html_asked(request: Request, f: str | None) -> bool:
    """Checks ``f``; True for an HTML view (``f=html``, or a browser asking without ``f``)."""
    if f not in (None, "json", "geojson", "html"):
        raise InvalidInput(f"f: unsupported format {shown(f)}; use json, geojson or html")
    return wants_html(f, request.headers.get("accept", ""), data_types=(GEOJSON, JSON))


async def feature_texts(stream: RowStream, q: FeatureQuery) -> AsyncIterator[list[str]]:
    """Batches of GeoJSON feature texts from an opened stream of ``select_sql`` rows."""
    async for rows in stream.batches():
        yield texts_of(q, rows)


def content_crs(q: FeatureQuery) -> dict[str, str]:
    return {"Content-Crs": f"<{q.crs.uri}>"} if q.layer.is_spatial else {}


@router.get("/collections/{collectionId}/items", summary="Features of a layer",
            response_class=Response, responses=documented(GEOJSON, "text/html"))  # fmt: skip
async def get_items(
    request: Request,
    query: QueryDep,
    pool: ReadPoolDep,
    limit: LimitDep,
    offset: Annotated[int, Query(ge=0), DIGITS] = 0,
    f: FormatParam = None,
) -> Response:
    html = html_asked(request, f)
    q = replace(query, limit=limit, offset=offset)
    state = state_of(request)

    async def number_matched(conn: psycopg.AsyncConnection, rows: int | None) -> int | None:
        if rows is not None and rows < limit and (rows > 0 or offset == 0):
            return offset + rows  # the last page: every match is counted already
        matched: int | None = await state.counts.number_matched(
            conn, q, state.features.exact_count_threshold
        )
        return matched

    stream = await RowStream(
        pool, select_sql(q), timeout_s=state.pools.timeout_s, at_most=limit
    ).open(lambda conn: offer_before_reading(request, conn, q), number_matched)
    matched = stream.after_first_result
    links = [
        link(str(request.url), "self", GEOJSON, "This page"),
        link(url(request, f"/collections/{q.layer.name}"), "collection", JSON),
    ]
    if offset > 0:
        links.append(link(with_query(request, offset=max(0, offset - limit)), "prev", GEOJSON))

    async def body() -> AsyncIterator[bytes]:
        yield b'{"type":"FeatureCollection","features":['
        returned = 0
        async for texts in feature_texts(stream, q):
            yield (b"," if returned else b"") + ",".join(texts).encode()
            returned += len(texts)
        more = returned == limit and (matched is None or offset + limit < matched)
        page_links = links + (
            [link(with_query(request, offset=offset + limit), "next", GEOJSON)] if more else []
        )
        tail: dict[str, Any] = {
            "numberReturned": returned,
            "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "links": page_links,
        }
        if matched is not None:
            tail["numberMatched"] = matched
        yield b"]," + json.dumps(tail, ensure_ascii=False)[1:].encode()

    if html:  # a page at most ``limit`` features long: read whole, then rendered
        page = json.loads(b"".join([chunk async for chunk in body()]))
        return html_view(ogc_html.items_html(page, q.layer, q.level, with_query(request, f="json")))
    if stream.complete:
        # Every row is in memory already: one body, without the task group a streamed
        # answer starts to watch for the client leaving (a sixth of a bbox page's time).
        whole = b"".join([chunk async for chunk in body()])
        return Response(whole, media_type=GEOJSON, headers=content_crs(q))
    return ReleasingStreamingResponse(
        body(), stream.close, media_type=GEOJSON, headers=content_crs(q)
    )


# As the tile routes, one feature takes its caller, address, layer, CRS and pool itself:
# as FastAPI's dependencies and parameters they were a fifth of a computed item's time and
# more (BENCHMARKS.md, 33 and 37). Its operation still says what it takes.
ITEM_OPERATION = {
    "parameters": [
        path_text_parameter("collectionId"),
        path_integer_parameter("featureId", 1, MAX_ID),
        query_text_parameter("crs", CRS_DESCRIPTION),
        query_text_parameter("f", FORMATS),
    ],
    "security": SECURITY_REQUIREMENTS,
}


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature",
            response_class=Response, responses=documented(GEOJSON, "text/html"),
            openapi_extra=ITEM_OPERATION)  # fmt: skip
async def get_item(request: Request) -> Response:
    caller = await caller_of(request)
    (feature_id,) = path_integers(request, {"featureId": (1, MAX_ID)})
    crs, f = request.query_params.get("crs"), request.query_params.get("f")
    layer = find_visible_layer(request.path_params["collectionId"], caller.level)
    html = html_asked(request, f)
    q = FeatureQuery(
        layer=layer, level=caller.level, crs=crs_mod.parse(crs), ids=(feature_id,), limit=1,
        scope=caller.scope,
    )  # fmt: skip
    stream = await RowStream(
        await read_pool(request), select_sql(q), timeout_s=state_of(request).pools.timeout_s,
        at_most=1,
    ).open(lambda conn: offer_before_reading(request, conn, q))  # fmt: skip
    rows = [row async for batch in stream.batches() for row in batch]
    if not rows:
        raise NotFound(f"feature {feature_id} not found in {layer.name!r}")
    text = texts_of(q, rows)[0]
    links = [
        link(str(request.url), "self", GEOJSON),
        link(url(request, f"/collections/{layer.name}"), "collection", JSON),
    ]
    if html:
        feature = {**json.loads(text), "links": links}
        return html_view(ogc_html.item_html(feature, layer, caller.level,
                                            with_query(request, f="json")))  # fmt: skip
    headers = {**content_crs(q), "ETag": representation_tag(text)}
    # The links go in after the feature's own members (its text is one JSON object from
    # PostgreSQL): decoding and encoding it again cost more than the rest of the body.
    body = text[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return Response(body, media_type=GEOJSON, headers=headers)
