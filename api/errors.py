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
    TooSlow,
    Unauthorized,
    UnsupportedMediaType,
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
    TooSlow: 408,
    UnsupportedMediaType: 415,
}


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"  # a /problems/… URI (see that route) for every problem OneMap sends
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


# Each kind of problem: its status, a type URI (relative: resolved against this server, where
# ``/problems`` documents them), a title, and what it means.
PROBLEM_TYPES: dict[int, tuple[str, str, str]] = {
    400: ("invalid-input", "Invalid input",
          "A parameter, body or file cannot be used as given; the detail names it."),
    401: ("unauthorized", "Unauthorized", "Credentials are missing, invalid or revoked."),
    403: ("forbidden", "Forbidden", "The caller is known and may not do this."),
    404: ("not-found", "Not found", "No such collection, feature, route or job for this caller."),
    405: ("method-not-allowed", "Method not allowed", "The route does not take this method."),
    408: ("request-timeout", "Request timeout",
          "The request's headers or a part of its body came too slowly."),
    412: ("precondition-failed", "Precondition failed",
          "The feature changed since the ETag named in If-Match was read."),
    413: ("too-large", "Payload too large", "The body or file is above the configured limit."),
    414: ("uri-too-long", "URI too long", "The URL (with its query) is above 64 KiB."),
    415: ("unsupported-media-type", "Unsupported media type", "The body's type is not taken."),
    431: ("headers-too-large", "Request header fields too large",
          "The request line and headers are above 128 KiB together, or there are over 100."),
    500: ("internal", "Internal server error", "A bug: it was logged with its trace."),
    503: ("unavailable", "Service unavailable",
          "The database is unreachable or the query ran past the statement timeout; retry."),
}  # fmt: skip


def problem_type(status: int) -> str:
    kind = PROBLEM_TYPES.get(status)
    return f"/problems/{kind[0]}" if kind else "about:blank"


def problem_document(status: int, title: str | None = None, detail: str | None = None,
                     **extra: object) -> dict[str, object]:  # fmt: skip
    """An RFC 9457 problem: ``type`` and ``title`` from the status, ``detail`` what happened.

    The one shape of every error, whoever sends it: a route, the middleware, the protocol.
    """
    known = PROBLEM_TYPES.get(status)
    body: dict[str, object] = {
        "type": problem_type(status),
        "title": title or (known[1] if known else "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


def problem(status: int, title: str | None = None, detail: str | None = None,
            **extra: object) -> JSONResponse:  # fmt: skip
    """The problem document as a response."""
    body = problem_document(status, title, detail, **extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(OneMapError)
    async def _domain(_: Request, exc: OneMapError) -> JSONResponse:
        status = next((s for t, s in STATUS_CODES.items() if isinstance(exc, t)), 400)
        response = problem(status, detail=str(exc))
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="onemap"'
        if status == 503:
            response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"parameter": ".".join(str(p) for p in e.get("loc", ())[1:]) or None,
             "in": (e.get("loc") or ("request",))[0], "detail": e.get("msg", "")}
            for e in exc.errors()
        ]  # fmt: skip
        names = ", ".join(sorted({str(e["parameter"]) for e in errors if e["parameter"]}))
        return problem(400, "Invalid parameter", f"invalid: {names or 'the request'}",
                       errors=errors)  # fmt: skip

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        known = PROBLEM_TYPES.get(exc.status_code)
        detail = str(exc.detail)
        return problem(exc.status_code, None, None if known and detail == known[1] else detail)

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
        return problem(500, detail="the error was logged")
