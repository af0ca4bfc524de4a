"""What the app keeps for its requests: one typed object on ``app.state.onemap``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

if TYPE_CHECKING:  # the modules that keep these read the state themselves
    import asyncio

    from fastapi import FastAPI

    from analyses.running import ResultCache
    from api.accounts import TokenLookup
    from api.jobs import Jobs
    from api.replicas import Pools
    from api.response_cache import ResponseStore
    from api.settings import FeaturesSettings
    from api.versions import VersionWatcher
    from spatial.counting import CountCache


@dataclass
class OneMapState:
    """The settings, caches and pools every route shares (the pools once the app started)."""

    features: FeaturesSettings
    responses: ResponseStore
    export_slots: asyncio.Semaphore
    pdf_slots: asyncio.Semaphore  # PDF layout is CPU: a few at a time, the rest wait or 503
    counts: CountCache
    jobs: Jobs
    tokens: TokenLookup
    analysis_cache: ResultCache
    versions: VersionWatcher
    database_url: str = ""
    connect_options: str = ""
    _pools: Pools | None = None

    @property
    def pools(self) -> Pools:
        if self._pools is None:
            raise RuntimeError("the app's connection pools open with its lifespan")
        return self._pools

    @pools.setter
    def pools(self, pools: Pools) -> None:
        self._pools = pools


def state_of(where: HTTPConnection | FastAPI) -> OneMapState:
    """The state of the app serving a request (or of an app)."""
    app = where.app if isinstance(where, HTTPConnection) else where
    state: OneMapState = app.state.onemap
    return state
