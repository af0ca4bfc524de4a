"""``/styles/{page}.json``: each page's look as a MapLibre style, for clients on any origin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request

from api.access import LevelDep
from api.links import url
from layers.errors import NotFound, shown
from viewer import style
from viewer.pages import PAGES

router = APIRouter(tags=["Maps"])


@router.get(
    "/styles/{page}.json", summary="A page's MapLibre style (OneMap's tiles, registry colours)"
)
def get_style(
    request: Request,
    level: LevelDep,
    page: Annotated[str, Path(description="map or elevator-map")],
) -> dict[str, Any]:
    """The page's layers the caller sees, as vector sources with their thematic colours.

    Read from another origin (no credentials), a style is the public's.
    """
    if page not in PAGES:
        raise NotFound(f"no style {shown(page)}; styles: {', '.join(PAGES)}")
    return style.page_style(page, level, url(request, "").rstrip("/"))
