"""``/health``: is the service up, how much data does it hold, and (for admins) on what.

What software and which versions a service runs is what an attacker looks up first (a
version with a known flaw), so only admins learn it; an uptime check gets its 200 or 503.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.access import CallerDep
from api.deps import ConnDep
from api.state import state_of
from layers import REGISTRY, Role
from spatial import catalog

router = APIRouter(tags=["service"])


@router.get("/health", summary="Service health and feature counts (and versions, for admins)")
async def get_health(request: Request, conn: ConnDep, caller: CallerDep) -> dict[str, object]:
    """Counts of the layers the caller sees everywhere; for an admin, versions and the cache.

    An admin also gets the PostgreSQL and PostGIS versions and how the response cache is
    doing. How many internal records exist is internal: a responsible planner, who sees them in
    their streets only, gets the public counts. ``versions_announced`` is false while the
    primary's notifications are not received: nothing is replayed then.
    """
    level = caller.scope.outside if caller.scope is not None else caller.level
    visible = [name for name, layer in REGISTRY.items() if layer.visibility <= level]
    counts = await catalog.layer_counts_async(conn, visible)
    if caller.role is not Role.ADMIN:
        return {"status": "ok", "layers": counts}
    versions = await catalog.versions_async(conn)
    cache = {**state_of(request).responses.stats(),
             "versions_announced": state_of(request).versions.live}  # fmt: skip
    return {"status": "ok", **versions, "layers": counts, "response_cache": cache}
