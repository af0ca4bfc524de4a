"""Who is calling, and what that lets them see and change: the one place that decides it.

- anonymous: the public layers and fields of the registry;
- planner: internal layers and fields, city-wide; edits the layers whose ``editors`` name them;
- responsible planner: public data everywhere, internal data inside the streets they serve
  (``spatial.scope``); edits those layers there only;
- admin: everything (also ``ONEMAP_ADMIN_TOKEN``, to bootstrap a new installation).

Credentials: ``Authorization: Bearer <token>``, ``X-API-Key: <token>``, or the login cookie
the pages use.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.accounts import User
from api.deps import pooled
from api.state import state_of
from layers import REGISTRY, Layer, Role, Visibility, get_layer
from layers.errors import Forbidden, InvalidInput, NotFound, Unauthorized, shown
from spatial.scope import StreetScope

TOKEN_COOKIE = "onemap_token"  # set by /login so that pages and their tile requests carry it
RESOLVED = "onemap_caller"  # the request's caller, in its ASGI state once resolved

LEVELS = {
    Role.ANONYMOUS: Visibility.PUBLIC,
    Role.PLANNER: Visibility.INTERNAL,
    Role.RESPONSIBLE_PLANNER: Visibility.INTERNAL,  # inside their streets (scope)
    Role.ADMIN: Visibility.PRIVATE,
}


@dataclass(frozen=True, slots=True)
class Caller:
    name: str
    role: Role
    streets: tuple[str, ...] = ()

    @property
    def level(self) -> Visibility:
        """The highest level the caller sees anywhere (fields, layers, queryables)."""
        return LEVELS[self.role]

    @property
    def scope(self) -> StreetScope | None:
        """Where the caller sees ``level``; None means everywhere."""
        if self.role is Role.RESPONSIBLE_PLANNER:
            return StreetScope(self.streets, Visibility.PUBLIC)
        return None

    @property
    def signed_in(self) -> bool:
        return self.role is not Role.ANONYMOUS

    def may_edit(self, layer: Layer) -> bool:
        return self.role in layer.editors and layer.visibility <= self.level

    def may_run(self, needs: Visibility) -> bool:
        """An analysis (or other summary) that needs ``needs``: for signed-in callers only."""
        return self.signed_in and needs <= self.level


ANONYMOUS = Caller("anonymous", Role.ANONYMOUS)


# Declared as security schemes so that the OpenAPI document (and clients) know them.
BEARER = HTTPBearer(auto_error=False, description="A token from `onemap users`")
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same token")


# Who may ask, as an OpenAPI operation says it: for routes that read their caller themselves.
SECURITY_REQUIREMENTS: list[dict[str, list[str]]] = [
    {BEARER.scheme_name: []},
    {API_KEY.scheme_name: []},
]
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")  # as ASGI gives them: lower case


def _token(
    request: Request, bearer: HTTPAuthorizationCredentials | None, api_key: str | None
) -> str | None:
    # A credential header twice: which one is the caller? (A proxy may read the other.)
    given = [name for name, _ in request.scope["headers"] if name in CREDENTIAL_HEADERS]
    if len(given) > len(set(given)):
        raise InvalidInput("a credential header is given more than once; send each once")
    if bearer is not None:
        return bearer.credentials.strip() or None
    if "authorization" in request.headers:  # present, but not a bearer token
        raise Unauthorized("use 'Authorization: Bearer <token>' or the X-API-Key header")
    if api_key is not None:
        return api_key.strip()
    return request.cookies.get(TOKEN_COOKIE) or None


async def find_user(request: Request, token: str) -> User | None:
    """The user a token belongs to (the admin token, or one from ``onemap users``)."""
    state = state_of(request)
    admin = state.features.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return User("admin", Role.ADMIN)
    pools = state.pools
    # Users are written on the primary: a replica's lag must not delay a new token.
    async with pooled(pools.primary, pools.timeout_s) as conn:
        return await state.tokens.find(conn, token)


async def current_caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
    api_key: Annotated[str | None, Security(API_KEY)] = None,
) -> Caller:
    return await _caller(request, bearer, api_key)


async def caller_of(request: Request) -> Caller:
    """The caller of a request outside FastAPI's dependencies (the response cache)."""
    return await _caller(request, await BEARER(request), await API_KEY(request))


async def _caller(
    request: Request, bearer: HTTPAuthorizationCredentials | None, api_key: str | None
) -> Caller:
    """Resolved once per request: the response cache asks first, the route after it."""
    state = request.scope.setdefault("state", {})
    if RESOLVED in state:
        return state[RESOLVED]  # type: ignore[no-any-return]
    token = _token(request, bearer, api_key)
    if token is None:
        caller = ANONYMOUS
    else:
        user = await find_user(request, token)
        if user is None:
            raise Unauthorized("invalid or revoked token")
        request.state.caller = user.name  # for the access log
        caller = Caller(user.name, user.role, user.streets)
    state[RESOLVED] = caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


async def caller_level(caller: CallerDep) -> Visibility:
    return caller.level


LevelDep = Annotated[Visibility, Depends(caller_level)]


def find_visible_layer(name: str, level: Visibility) -> Layer:
    """The layer called ``name`` if the caller may see it (otherwise it does not exist)."""
    try:
        layer = get_layer(name)
    except KeyError:
        raise NotFound(f"collection {shown(name)} not found") from None
    if layer.visibility > level:
        raise NotFound(f"collection {shown(name)} not found")
    return layer


async def visible_layer(collectionId: str, level: LevelDep) -> Layer:  # noqa: N803 (OGC name)
    return find_visible_layer(collectionId, level)


LayerDep = Annotated[Layer, Depends(visible_layer)]


async def editable_layer(layer: LayerDep, caller: CallerDep) -> Layer:
    """The layer, if the caller may write to it: 401 for anonymous callers, else 403."""
    if not caller.signed_in:
        raise Unauthorized("writing needs a token (Authorization: Bearer …)")
    if not caller.may_edit(layer):
        raise Forbidden(f"a {caller.role.value.replace('_', ' ')} may not edit {layer.name!r}")
    return layer


EditableLayerDep = Annotated[Layer, Depends(editable_layer)]


def importable_layers(caller: Caller) -> list[Layer]:
    """The layers ``caller`` may import files into (city-wide editors only)."""
    if not caller.signed_in or caller.scope is not None:
        return []
    return [layer for layer in REGISTRY.values() if caller.may_edit(layer)]


def require_city_wide_editor(caller: Caller, *layers: str, action: str) -> None:
    """For writes that are not checked street by street (imports, bundles, screenings).

    401 for anonymous callers; 403 unless the caller edits each layer, and everywhere (a
    responsible planner edits feature by feature, inside their streets).
    """
    if not caller.signed_in:
        raise Unauthorized(f"a token is needed to {action}")
    for name in layers:
        if caller.scope is not None or not caller.may_edit(get_layer(name)):
            raise Forbidden(f"a {caller.role.value.replace('_', ' ')} may not {action}")
