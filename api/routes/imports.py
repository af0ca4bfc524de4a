"""``POST /collections/{id}/imports``: a file into a layer, as a background job.

Writing is never anonymous: until roles exist the route needs the admin token, and it is off
(404) when ``ONEMAP_ADMIN_TOKEN`` is unset.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse

from api.access import LayerDep, LevelDep
from api.links import url
from api.routing import LSN_COOKIE
from ingest import pipeline
from layers import Visibility
from layers.errors import NotFound, OneMapError, Unauthorized

router = APIRouter(tags=["Imports"])
log = logging.getLogger("onemap")
MAX_UPLOAD_BYTES = 512 * 1024 * 1024


def _require_admin(request: Request, level: Visibility) -> None:
    if request.app.state.features.admin_token is None:
        raise NotFound("imports are switched off (ONEMAP_ADMIN_TOKEN is not set)")
    if level < Visibility.PRIVATE:
        raise Unauthorized("imports need the admin token")


def _error_text(exc: Exception) -> str:
    if isinstance(exc, OneMapError):
        return str(exc)
    log.exception("import failed")
    return "the import failed unexpectedly; the error was logged"


@router.post("/collections/{collectionId}/imports", status_code=202,
             summary="Import a file into a layer (background job)")  # fmt: skip
async def start_import(
    request: Request,
    layer: LayerDep,
    level: LevelDep,
    file: Annotated[UploadFile, File(description="The file (zip a shapefile with its parts)")],
    mode: Annotated[str, Form()] = "append",
    key: Annotated[str | None, Form()] = None,
    crs: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
    source_layer: Annotated[str | None, Form()] = None,
    dry_run: Annotated[bool, Form()] = False,
    skip_invalid: Annotated[bool, Form()] = False,
    make_valid: Annotated[bool, Form()] = False,
) -> JSONResponse:
    _require_admin(request, level)
    folder = Path(tempfile.mkdtemp(prefix="onemap-import-"))
    name = Path(file.filename or "upload").name
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                shutil.rmtree(folder, ignore_errors=True)
                raise OneMapError(f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MiB")
            out.write(chunk)
    options = pipeline.Options(
        layer=layer.name, mode=mode, key=key, crs=crs, encoding=encoding,
        source_layer=source_layer, dry_run=dry_run, skip_invalid=skip_invalid,
        make_valid=make_valid, actor="admin",
    )  # fmt: skip
    database_url = request.app.state.database_url

    def work(job: Any) -> dict[str, Any]:
        def progress(stage: str, n: int, total: int) -> None:
            job.progress = {"stage": stage, "done": job.progress.get("done", 0) + n,
                            "total": total}  # fmt: skip

        try:
            result = pipeline.run(database_url, path, options, progress, label=name).as_dict()
            if result["committed"]:  # where the write ends in the WAL: see api.routing
                with psycopg.connect(database_url) as conn:
                    row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
                result["lsn"] = row[0] if row else None
            return result
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    job = request.app.state.jobs.start("import", work, _error_text)
    status = url(request, f"/imports/{job.id}")
    return JSONResponse({**job.as_dict(), "links": [{"href": status, "rel": "status"}]},
                        status_code=202, headers={"Location": status})  # fmt: skip


@router.get("/imports/{job_id}", summary="Status and report of an import")
async def get_import(request: Request, job_id: str, level: LevelDep) -> JSONResponse:
    _require_admin(request, level)
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise NotFound(f"import {job_id!r} not found")
    response = JSONResponse(job.as_dict())
    lsn = (job.result or {}).get("lsn")
    if lsn:  # the writer reads its own write, whatever the replica's lag
        response.set_cookie(LSN_COOKIE, lsn, max_age=300, httponly=True, samesite="strict")
    return response
