"""Who is calling: anonymous callers see public data; the admin token sees everything.

Roles for planners and responsible planners come later; the level a caller gets is the one
thing every route asks, so they will only change this module.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from layers import Layer, Visibility, get_layer
from layers.errors import NotFound, Unauthorized

TOKEN_COOKIE = "onemap_token"  # set by /login so that pages and their tile requests carry it


async def caller_level(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Visibility:
    """The caller's level from a bearer token, or the login cookie; anonymous is public."""
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            raise Unauthorized("use a bearer token")
    else:
        token = request.cookies.get(TOKEN_COOKIE, "")
        if not token:
            return Visibility.PUBLIC
    expected = request.app.state.features.admin_token
    if expected is not None and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        return Visibility.PRIVATE
    raise Unauthorized("invalid credentials")


LevelDep = Annotated[Visibility, Depends(caller_level)]


def find_visible_layer(name: str, level: Visibility) -> Layer:
    """The layer called ``name`` if the caller may see it (otherwise it does not exist)."""
    try:
        layer = get_layer(name)
    except KeyError:
        raise NotFound(f"collection {name!r} not found") from None
    if layer.visibility > level:
        raise NotFound(f"collection {name!r} not found")
    return layer


async def visible_layer(collectionId: str, level: LevelDep) -> Layer:  # noqa: N803 (OGC name)
    return find_visible_layer(collectionId, level)


LayerDep = Annotated[Layer, Depends(visible_layer)]
