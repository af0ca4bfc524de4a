"""Errors as RFC 9457 problem+json: one map from domain error to status, registered once.

Unexpected errors are logged with their stack and answered with a generic 500 body: database
text and tracebacks never reach the client.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from layers.errors import (
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    OneMapError,
    PreconditionFailed,
    QueryTimeout,
    TooLarge,
    Unauthorized,
)
from spatial.execute import translate

log = logging.getLogger("onemap")

PROBLEM_JSON = "application/problem+json"

STATUS_CODES: dict[type[OneMapError], int] = {
    NotFound: 404,
    InvalidInput: 400,
    DatabaseUnavailable: 503,
    QueryTimeout: 503,
    Unauthorized: 401,
    Forbidden: 403,
    PreconditionFailed: 412,
    TooLarge: 413,
}


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None


_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Documented on every route, so clients (and the API fuzzer) know what an error looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "model": Problem, "content": _PROBLEM_CONTENT}
    for status, description in (
        (400, "Invalid request"), (401, "Invalid or missing credentials"),
        (403, "Not allowed for this role"), (404, "Not found"), (413, "Body too large"),
        (503, "Database unavailable or query timed out"),
    )
}  # fmt: skip


def problem(status: int, title: str, detail: str | None = None, **extra: object) -> JSONResponse:
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(OneMapError)
    async def _domain(_: Request, exc: OneMapError) -> JSONResponse:
        status = next((s for t, s in STATUS_CODES.items() if isinstance(exc, t)), 400)
        response = problem(status, type(exc).__name__, str(exc))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="onemap"'
        if status == 503:
            response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(
            400, "Invalid parameter", "the request has invalid parameters", errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(psycopg.Error)
    async def _database(request: Request, exc: psycopg.Error) -> JSONResponse:
        mapped = translate(exc)
        if mapped is None:
            return await _unexpected(request, exc)
        return await _domain(request, mapped)

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
        return await _domain(request, DatabaseUnavailable("the database is not reachable"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal Server Error", "the error was logged")
