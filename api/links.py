"""Links of OGC responses, built from the request so they work behind any host name."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from api.negotiation import wants_html
from layers.errors import InvalidInput, shown

JSON = "application/json"
GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"  # FastAPI writes OpenAPI 3.1
SCHEMA_JSON = "application/schema+json"


def documented(*media_types: str) -> dict[int | str, Any]:
    """The OpenAPI ``responses`` of a route whose body is not (only) plain JSON."""
    return {200: {"description": "Successful Response", "content": dict.fromkeys(media_types, {})}}


def link(href: str, rel: str, type_: str = JSON, title: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def url(request: Request, path: str, **query: Any) -> str:
    """An absolute URL for ``path`` on this server, with ``query`` (None values dropped)."""
    base = str(request.base_url).rstrip("/")
    params = {k: v for k, v in query.items() if v is not None}
    return f"{base}{path}" + (f"?{urlencode(params)}" if params else "")


HtmlFormat = Annotated[str | None, Query(alias="f", description="json, or html for people")]


def html_wanted(request: Request, f: str | None) -> bool:
    """``f=html``, or a client weighing HTML above JSON without ``f`` (a browser)."""
    if f not in (None, "json", "html"):
        raise InvalidInput(f"f: unsupported format {shown(f)}; use json or html")
    return wants_html(f, request.headers.get("accept", ""))


def html_view(page: str) -> HTMLResponse:
    """An HTML view; ``Vary: Accept`` since the same URL answers JSON to other clients."""
    return HTMLResponse(page, headers={"Vary": "Accept"})


def with_query(request: Request, **changes: Any) -> str:
    """The request's own URL with some query parameters replaced."""
    return str(request.url.include_query_params(**changes))


def attachment(filename: str) -> dict[str, str]:
    """A ``Content-Disposition`` for a download named ``filename`` (RFC 6266).

    The quoted name keeps only safe ASCII (no quote, CR or LF can end the header or start
    another); the full name, Chinese included, goes percent-encoded in ``filename*``.
    """
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "download"
    encoded = quote(filename[:100], safe="")
    return {
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    }
