"""The OGC API landing page, conformance declaration and API definition."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from api import openapi
from api.access import LevelDep
from api.links import JSON, OPENAPI, HtmlFormat, html_view, html_wanted, link, url, with_query
from api.negotiation import preferred
from viewer import ogc_html

router = APIRouter(tags=["OGC API"])

DESCRIPTION = (
    "One map for the work, one ledger for the accounts (一张图作业、一本账管理): "
    "the layers of a city's old-estate renovation as OGC API Features and Tiles."
)
TILING_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]


@router.get("/", summary="Landing page", response_model=None)
def landing(request: Request, f: HtmlFormat = None) -> dict[str, Any] | HTMLResponse:
    doc = {
        "title": "OneMap",
        "description": DESCRIPTION,
        "links": [
            link(url(request, "/"), "self", JSON, "This document"),
            link(url(request, "/api"), "service-desc", OPENAPI, "The API definition"),
            link(url(request, "/docs"), "service-doc", "text/html", "Interactive documentation"),
            link(url(request, "/conformance"), "conformance", JSON, "Conformance classes"),
            link(url(request, "/collections"), "data", JSON, "The layers"),
            link(url(request, "/tileMatrixSets"), TILING_SCHEMES, JSON, "Tile matrix sets"),
        ],
    }  # fmt: skip
    if html_wanted(request, f):
        return html_view(ogc_html.landing_html(doc, with_query(request, f="json")))
    return doc


@router.get("/conformance", summary="Conformance classes")
def conformance() -> dict[str, list[str]]:
    return {"conformsTo": CONFORMANCE}


@router.get("/api", summary="The OpenAPI definition", include_in_schema=False)
def api_definition(request: Request, level: LevelDep) -> JSONResponse:
    """The document for the caller's level, typed with its version (3.1).

    A client that accepts plain JSON but not 3.1 (GDAL asks for 3.0 or JSON) gets JSON.
    """
    media_type = preferred(request.headers.get("accept", ""), (OPENAPI, JSON))
    return JSONResponse(openapi.for_level(request.app.openapi(), level), media_type=media_type)
