"""``/analyses``: the renovation analyses, for the whole city or an area, as JSON or GeoJSON."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from analyses import bundles, elevators
from analyses.model import Analysis, Area
from analyses.registry import ANALYSES, get_analysis
from analyses.running import as_geojson, as_json, dumps
from api.access import Caller, CallerDep, require_city_wide_editor
from api.deps import ConnDep, WriteConnDep
from api.links import GEOJSON, JSON, link, url, with_query
from api.params import DIGITS, json_body
from api.state import state_of
from layers import MAX_ID, get_layer
from layers.errors import Forbidden, InvalidInput, NotFound, QueryTimeout, Unauthorized, shown
from spatial.edits import Editor
from spatial.scope import row_in_scope

router = APIRouter(tags=["Analyses"])

AREA_KEYS = {"district", "street", "estate", "f"}
District = Annotated[str | None, Query(description="A district code, e.g. 110101")]
Street = Annotated[str | None, Query(description="A street code, e.g. 110101001")]
Estate = Annotated[int | None, Query(ge=1, le=MAX_ID, description="An estate id"), DIGITS]
Format = Annotated[str, Query(alias="f", description="json or geojson")]


def query_params(request: Request, analysis: Analysis) -> dict[str, Any]:
    """The analysis's own parameters: every query parameter that is not the area or format."""
    raw = {k: v for k, v in request.query_params.items() if k not in AREA_KEYS}
    return analysis.parse_params(raw)


async def check_area(conn: ConnDep, caller: Caller, area: Area) -> None:
    """A responsible planner analyses their own streets: name one, or an estate in one."""
    if caller.scope is None:
        return
    if area.estate is not None:
        inside = await row_in_scope(conn, get_layer("estates"), area.estate, caller.scope)
    else:
        inside = area.street in caller.scope.streets
    if not inside:
        raise Forbidden("a responsible planner analyses their own streets: give street= or estate=")


@router.get("/analyses", summary="The analyses the caller may run")
async def list_analyses(request: Request, caller: CallerDep) -> dict[str, Any]:
    if not caller.signed_in:
        raise Unauthorized("the analyses need a token")
    return {
        "analyses": [
            {**a.describe(), "links": [link(url(request, f"/analyses/{a.name}"), "self", JSON)]}
            for a in ANALYSES.values()
            if caller.may_run(a.level)
        ]
    }


EstateId = Annotated[int, Field(ge=1, le=MAX_ID)]


class BundleProject(BaseModel):
    """A proposed project over a bundle of estates (from the ``bundles`` analysis)."""

    estate_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=1, max_length=200)
    name_zh: str = Field(min_length=1, max_length=200)
    plan_batch_id: int | None = Field(default=None, ge=1, le=MAX_ID)


@router.post("/analyses/bundles/projects", status_code=201,
             summary="Create a proposed project from a bundle of estates",
             dependencies=[json_body(JSON)])  # fmt: skip
async def create_bundle_project(
    request: Request, caller: CallerDep, conn: WriteConnDep, body: BundleProject
) -> JSONResponse:
    require_city_wide_editor(caller, "projects", "estates", action="create projects")
    editor = Editor(caller.name, caller.level, caller.scope)
    project_id = await bundles.create_project(
        conn, editor, body.estate_ids, body.name_zh, body.plan_batch_id
    )
    location = url(request, f"/collections/projects/items/{project_id}")
    return JSONResponse({"id": project_id, "links": [link(location, "item", GEOJSON)]},
                        status_code=201, headers={"Location": location})  # fmt: skip


@router.post("/analyses/elevator_screening/apply",
             summary="Record the screening as elevator stages")  # fmt: skip
async def apply_elevator_screening(
    request: Request, caller: CallerDep, conn: WriteConnDep,
    district: District = None, street: Street = None, estate: Estate = None,
) -> dict[str, Any]:  # fmt: skip
    require_city_wide_editor(caller, "elevator_retrofits", action="record retrofits")
    params = query_params(request, get_analysis("elevator_screening"))
    area = Area(district, street, estate, caller.scope.streets if caller.scope else None)
    with _timeout_explained("elevator_screening", area):
        return await elevators.apply_screening(conn, area, params, caller.name)


@router.get("/analyses/{name}", summary="Run an analysis (JSON rows or GeoJSON features)")
async def run_analysis(
    request: Request, name: str, caller: CallerDep, conn: ConnDep,
    district: District = None, street: Street = None, estate: Estate = None, f: Format = "json",
) -> Response:  # fmt: skip
    if not caller.signed_in:
        raise Unauthorized("the analyses need a token")
    analysis = get_analysis(name)
    if not caller.may_run(analysis.level):
        raise NotFound(f"analysis {shown(name)} not found")
    if f not in ("json", "geojson"):
        raise InvalidInput("f: use json or geojson")
    area = Area(district, street, estate, caller.scope.streets if caller.scope else None)
    await check_area(conn, caller, area)
    params = query_params(request, analysis)
    with _timeout_explained(name, area):
        page = await state_of(request).analysis_cache.run(conn, analysis, area, params)
    links = _page_links(request, params, page.total, len(page.rows))
    if f == "geojson":
        return Response(dumps(as_geojson(analysis, page, params, links)), media_type=GEOJSON)
    return Response(dumps(as_json(analysis, area, params, page, links)), media_type=JSON)


@contextmanager
def _timeout_explained(name: str, area: Area) -> Iterator[None]:
    """A run past the statement timeout says what to do instead.

    A city-wide screening of the ten-city sample takes 89 s; a request may take
    ``ONEMAP_STATEMENT_TIMEOUT_MS``.
    """
    try:
        yield
    except (psycopg.errors.QueryCanceled, QueryTimeout):
        smaller = "a district or a street" if area.city_wide else "a smaller area"
        raise QueryTimeout(
            f"{name} for {area.label()} takes longer than this server allows a request; ask for "
            f"{smaller}, or run `onemap analyse {name}` where OneMap is installed (the API's "
            "time limit does not apply there)"
        ) from None


def _page_links(
    request: Request, params: dict[str, Any], total: int, returned: int
) -> list[dict[str, str]]:
    """self, and next / prev when there are rows after or before this page."""
    kind = GEOJSON if request.query_params.get("f") == "geojson" else JSON
    offset, limit = params["offset"], params["limit"]

    def at(start: int) -> str:
        return with_query(request, offset=start, limit=limit)

    links = [link(at(offset), "self", kind)]
    if offset + returned < total:
        links.append(link(at(offset + limit), "next", kind))
    if offset > 0:
        links.append(link(at(max(0, offset - limit)), "prev", kind))
    return links
