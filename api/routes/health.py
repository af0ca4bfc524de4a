"""``/health``: is the service up, what is it running on, and how much data does it hold."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ConnDep
from layers import REGISTRY
from spatial import catalog

router = APIRouter(tags=["service"])


@router.get("/health", summary="Service health, database versions and feature counts")
async def get_health(conn: ConnDep) -> dict[str, object]:
    versions = await catalog.versions_async(conn)
    counts = await catalog.layer_counts_async(conn, list(REGISTRY))
    return {"status": "ok", **versions, "layers": counts}
