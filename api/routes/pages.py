"""The HTML pages: the planners' one map, the public elevator map, and a token login."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from analyses.registry import ANALYSES
from api.access import TOKEN_COOKIE, CallerDep, find_user, importable_layers
from api.deps import ConnDep
from api.page_data import gather
from api.state import state_of
from ingest.coords import declarable_crs
from layers import Visibility
from layers.errors import Forbidden, Unauthorized
from viewer import assets, pages, upload

router = APIRouter(tags=["Pages"], include_in_schema=False)

# Pages change with the data: never serve a stale copy; tiles carry their own validators.
NO_STORE = {"Cache-Control": "no-store"}


def _html(body: str) -> HTMLResponse:
    """A page; its security headers come from ``api.hardening.SecurityHeaders``."""
    return HTMLResponse(body, headers=NO_STORE)


@router.get("/map")
async def one_map(request: Request, caller: CallerDep, conn: ConnDep) -> HTMLResponse:
    assets.check_installed()
    level = caller.level
    data = await gather(conn, level, basemap_url=state_of(request).features.basemap_url)
    data.analyses = [a.describe() for a in ANALYSES.values() if caller.may_run(a.level)]
    if caller.scope is not None:  # a responsible planner analyses their own streets
        data.analysis_area = {"street": caller.scope.streets[0]}
    if importable_layers(caller):
        data.upload_url = "/upload"
    m = pages.one_map(data)
    return _html(pages.render(m, pages.ONE_MAP_TITLE))


@router.get("/elevator-map")
async def elevator_map(request: Request, conn: ConnDep) -> HTMLResponse:
    """Public: rendered at the public level whoever asks, so nothing private can slip in."""
    assets.check_installed()
    features = state_of(request).features
    data = await gather(
        conn, Visibility.PUBLIC, basemap_url=features.basemap_url, elevator_counts=True
    )
    return _html(pages.render(pages.elevator_map(data), pages.ELEVATOR_TITLE))


@router.get("/upload", response_model=None)
async def upload_page(caller: CallerDep, conn: ConnDep) -> HTMLResponse | RedirectResponse:
    """Planners bring a department's file in: the page drives the import API."""
    if not caller.signed_in:
        return RedirectResponse("/login", status_code=303)
    layers = importable_layers(caller)
    if not layers:
        raise Forbidden(f"a {caller.role.value.replace('_', ' ')} may not import files")
    assets.check_installed()
    data = await gather(conn, caller.level)
    return _html(upload.upload_page(layers, declarable_crs(), data.city_bbox))


@router.get("/login")
def login_form() -> HTMLResponse:
    return _html((assets.STATIC / "login.html").read_text(encoding="utf-8"))


@router.post("/login")
async def login(request: Request) -> RedirectResponse:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    if not token or await find_user(request, token) is None:
        raise Unauthorized("invalid access token")
    response = RedirectResponse("/map", status_code=303)
    # Secure whenever the page was reached over HTTPS (uvicorn takes the scheme from the
    # proxy's X-Forwarded-Proto): the browser then never sends the token in clear text.
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")  # fmt: skip
    return response


@router.get("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/map", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response
