"""The FastAPI application factory; run with ``uvicorn --factory api.app:create_app``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.telemetry import TelemetryConfig
from psycopg_pool import AsyncConnectionPool

from analyses.running import ResultCache
from api.accounts import TokenLookup
from api.compression import SelectiveGZip
from api.cors import Cors
from api.deps import check_pooled_connection
from api.errors import ERROR_RESPONSES, add_exception_handlers
from api.hardening import BodyLimit, CallerBoundary, OneValueEach, SecurityHeaders
from api.head import HeadAsGet
from api.jobs import Jobs
from api.replicas import Pools, SourceHeader
from api.response_cache import ResponseCache, ResponseStore
from api.routes import (
    analyses,
    collections,
    edits,
    export,
    health,
    imports,
    items,
    labels,
    landing,
    ledger,
    pages,
    problems,
    search,
    styles,
    tiles,
)
from api.settings import FeaturesSettings, ServerSettings
from api.state import OneMapState
from api.versions import VersionWatcher
from database import resolve_database_url
from database.settings import DatabaseSettings, to_conninfo
from spatial.counting import CountCache
from viewer import assets

TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

# In reading order: the API document's sections follow it.
ROUTERS = (
    landing, collections, items, search, edits, tiles, styles, labels, export, imports,
    analyses, ledger, pages, health, problems,
)  # fmt: skip

# Dossier PDFs laid out at once per process (each takes a core for a few hundred ms).
PDF_SLOTS = 2


def create_app(
    database: DatabaseSettings | None = None,
    server: ServerSettings | None = None,
    features: FeaturesSettings | None = None,
) -> FastAPI:
    database = database or DatabaseSettings()
    server = server or ServerSettings()
    features = features or FeaturesSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        options = f"-c statement_timeout={database.statement_timeout_ms} -c jit=off"
        url = resolve_database_url(database)
        read_url = to_conninfo(database.database_read_url) if database.database_read_url else url

        def pool(conninfo: str) -> AsyncConnectionPool:
            return AsyncConnectionPool(
                conninfo,
                min_size=server.pool_min_size,
                max_size=server.pool_max_size,
                kwargs={"options": options, "application_name": "onemap", "autocommit": True},
                # A connection is checked as it leaves the pool, so the ones a database
                # restart broke are replaced instead of failing a request after recovery.
                check=check_pooled_connection,
                open=False,
            )

        primary = pool(url)
        replica = pool(read_url) if read_url != url else None
        state.database_url, state.connect_options = url, options
        state.pools = Pools(primary, replica, url, read_url, server.pool_timeout_s)
        for p in (primary, replica):
            if p is not None:
                await p.open()
        if features.response_cache_mb:
            await state.versions.start(url)  # notifications come from the primary only
        try:
            yield
        finally:
            await state.versions.stop()
            for p in (primary, replica):
                if p is not None:
                    await p.close()

    app = FastAPI(
        title="OneMap",
        description="One map for the work, one ledger for the accounts: old-estate renovation.",
        version="0.1.0",
        lifespan=lifespan,
        # Off, FastAPI still asks on every request whether a provider is set: a quarter of
        # a replayed answer's time in the app.
        telemetry=None if server.opentelemetry else TELEMETRY_OFF,
        openapi_tags=[
            {"name": tag}
            for tag in dict.fromkeys(
                str(t) for m in ROUTERS if m.router.include_in_schema for t in m.router.tags
            )
        ],
    )
    state = OneMapState(
        features=features,
        responses=ResponseStore(
            features.response_cache_mb << 20, features.response_cache_entry_kb << 10
        ),
        export_slots=asyncio.Semaphore(server.max_exports),
        pdf_slots=asyncio.Semaphore(PDF_SLOTS),
        counts=CountCache(),
        jobs=Jobs(),
        tokens=TokenLookup(),
        analysis_cache=ResultCache(),
        versions=VersionWatcher(),
    )
    app.state.onemap = state
    _document_limits(app, features)
    app.add_middleware(SelectiveGZip, minimum_size=1024)
    app.add_middleware(SourceHeader)
    app.add_middleware(SecurityHeaders, basemap_url=features.basemap_url)
    app.add_middleware(
        BodyLimit, max_bytes=features.max_body_bytes, max_upload_bytes=features.max_upload_bytes,
        chunk_timeout_s=server.body_timeout_s,
    )  # fmt: skip
    app.add_middleware(OneValueEach)
    app.add_middleware(ResponseCache, watcher=state.versions, store=state.responses)
    # Outside the response cache: replayed answers carry CORS headers too.
    app.add_middleware(Cors, trusted_origins=features.cors_origins)
    # Outermost: a replayed answer is marked private for a signed-in caller too.
    app.add_middleware(CallerBoundary, trusted_origins=features.cors_origins)
    # Outside all: HEAD is GET to everything within (the cache, the limits, the routes).
    app.add_middleware(HeadAsGet)

    add_exception_handlers(app)
    # Matched in this order: tiles first, the most frequent request, which then skips the
    # other routers' patterns (~0.05 ms of a 0.7 ms computed tile; BENCHMARKS.md, 35).
    for module in sorted(ROUTERS, key=lambda m: m is not tiles):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    for folder, directory in assets.MOUNTS.items():
        # check_dir=False: a missing `npm ci` breaks the pages with a clear error, not the API.
        app.mount(f"{assets.PREFIX}/{folder}", StaticFiles(directory=directory, check_dir=False),
                  name=f"assets-{folder}")  # fmt: skip
    return app


def _document_limits(app: FastAPI, features: FeaturesSettings) -> None:
    """Put the configured paging limits into the OpenAPI document.

    Clients such as GDAL read them to choose a page size; they are settings, so they cannot be
    written at import time.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            limit = {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "Features per page",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": features.max_limit,
                    "default": features.default_limit,
                },
            }
            schema.setdefault("components", {}).setdefault("parameters", {})["limit"] = limit
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    # Invalid parameters are answered 400 problem+json, never FastAPI's 422.
                    operation.get("responses", {}).pop("422", None)
                    parameters = operation.get("parameters", [])
                    for k, parameter in enumerate(parameters):
                        if parameter.get("name") == "limit":
                            parameters[k] = {"$ref": "#/components/parameters/limit"}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
