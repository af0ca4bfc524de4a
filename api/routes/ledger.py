"""One map, one ledger: the estate dossier, the street/district ledger and the scoreboard."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from analyses.dossier import dossier
from analyses.dossier_page import dossier_html, dossier_pdf
from analyses.ledger import ledger, ledger_xlsx, scoreboard
from api.access import CallerDep
from api.deps import ConnDep, take_slot
from api.links import JSON, attachment, documented
from api.params import DIGITS, DeclaredOnly
from api.state import state_of
from layers import MAX_ID, Visibility
from layers.errors import Forbidden, InvalidInput, Unauthorized

router = APIRouter(tags=["Ledger"], dependencies=DeclaredOnly)
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/estates/{estateId}/dossier",
            summary="Everything about one estate (JSON, HTML or PDF)",
            response_class=Response, responses=documented(JSON, "text/html", PDF))  # fmt: skip
async def get_dossier(
    request: Request, caller: CallerDep, conn: ConnDep,
    estate_id: Annotated[int, Path(alias="estateId", ge=1, le=MAX_ID), DIGITS],
    f: Annotated[str, Query(description="json, html (printable) or pdf (A4)")] = "json",
) -> Response:  # fmt: skip
    if f not in ("json", "html", "pdf"):
        raise InvalidInput("f: use json, html or pdf")
    d = await dossier(conn, estate_id, caller.level, caller.scope)
    if f == "html":
        return HTMLResponse(dossier_html(d), headers={"Cache-Control": "no-store"})
    if f == "pdf":  # layout takes a few hundred ms of CPU: off the event loop, a few at a time
        slots = state_of(request).pdf_slots
        await take_slot(request, slots, "PDF")
        try:
            pdf = await run_in_threadpool(dossier_pdf, d)
        finally:
            slots.release()
        headers = {"Cache-Control": "no-store", **attachment(f"estate-{estate_id}-dossier.pdf")}
        return Response(pdf, media_type=PDF, headers=headers)
    return JSONResponse(d)


@router.get("/ledger", summary="The ledger per street (or per district), as JSON or XLSX",
            response_class=Response, responses=documented(JSON, XLSX))  # fmt: skip
async def get_ledger(
    caller: CallerDep, conn: ConnDep,
    district: Annotated[str | None, Query(description="A district: one row per street")] = None,
    street: Annotated[str | None, Query(description="One street")] = None,
    f: Annotated[str, Query(description="json or xlsx")] = "json",
) -> Response:  # fmt: skip
    if not caller.may_run(Visibility.INTERNAL):
        raise Unauthorized("the ledger needs a token")
    if caller.scope is not None and street not in caller.scope.streets:
        raise Forbidden("a responsible planner's ledger is one of their streets: give street=")
    if f not in ("json", "xlsx"):
        raise InvalidInput("f: use json or xlsx")
    rows = await ledger(conn, district, street, private=caller.level >= Visibility.PRIVATE)
    if f == "xlsx":
        name = f"ledger-{street or district or 'city'}.xlsx"
        return Response(ledger_xlsx(rows, district, street), media_type=XLSX,
                        headers=attachment(name))  # fmt: skip
    return JSONResponse({"district": district, "street": street, "rows": rows})


@router.get("/scoreboard", summary="Districts ranked on a year's plan, money and residents")
async def get_scoreboard(
    caller: CallerDep, conn: ConnDep,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Default: this year"), DIGITS
    ] = None,
) -> dict[str, Any]:  # fmt: skip
    if not caller.may_run(Visibility.INTERNAL) or caller.scope is not None:
        raise Unauthorized("the scoreboard is for planners")
    today = dt.date.today()
    return {
        "year": year or today.year,
        "districts": await scoreboard(conn, year or today.year, today),
    }
