"""``/health``: is the service up, what is it running on, and how much data does it hold."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.access import CallerDep
from api.deps import ConnDep
from api.state import state_of
from layers import REGISTRY
from spatial import catalog

router = APIRouter(tags=["service"])


@router.get("/health", summary="Service health, database versions and feature counts")
async def get_health(request: Request, conn: ConnDep, caller: CallerDep) -> dict[str, object]:
    """Counts of the layers the caller sees everywhere, and how the response cache is doing.

    How many internal records exist is internal: a responsible planner, who sees them in
    their streets only, gets the public counts. ``versions_announced`` is false while the
    primary's notifications are not received: nothing is replayed then.
    """
    level = caller.scope.outside if caller.scope is not None else caller.level
    versions = await catalog.versions_async(conn)
    visible = [name for name, layer in REGISTRY.items() if layer.visibility <= level]
    counts = await catalog.layer_counts_async(conn, visible)
    cache = {**state_of(request).responses.stats(),
             "versions_announced": state_of(request).versions.live}  # fmt: skip
    return {"status": "ok", **versions, "layers": counts, "response_cache": cache}
