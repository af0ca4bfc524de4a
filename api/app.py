"""The FastAPI application factory; run with ``uvicorn --factory api.app:create_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from psycopg_pool import AsyncConnectionPool

from api.database import resolve_database_url
from api.errors import add_exception_handlers
from api.routes import collections, export, health, items, landing, tiles
from api.settings import DatabaseSettings, FeaturesSettings, ServerSettings


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
        app.state.database_url = url
        app.state.connect_options = options
        pool = AsyncConnectionPool(
            url,
            min_size=server.pool_min_size,
            max_size=server.pool_max_size,
            kwargs={"options": options, "application_name": "onemap"},
            open=False,
        )
        await pool.open()
        app.state.pool = pool
        app.state.pool_timeout = server.pool_timeout_s
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(
        title="OneMap",
        description="One map for the work, one ledger for the accounts: old-estate renovation.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.features = features
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    add_exception_handlers(app)
    for module in (landing, collections, items, tiles, export, health):
        app.include_router(module.router)
    return app
