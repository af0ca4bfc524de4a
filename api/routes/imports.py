"""``POST /collections/{id}/imports``: a file into a layer, as a background job.

Writing is never anonymous: the caller must be allowed to edit the layer, city-wide (an import
is not checked street by street, so a responsible planner cannot import).
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
from pydantic import BeforeValidator

from api.access import CallerDep, EditableLayerDep, require_city_wide_editor
from api.deps import WriteConnDep, pooled
from api.jobs import Jobs, Progress
from api.links import url
from api.routing import LSN_COOKIE
from ingest import pipeline
from layers.errors import NotFound, OneMapError, TooLarge, Unauthorized

router = APIRouter(tags=["Imports"])


def _flag(value: object) -> bool:
    """A form flag is ``true`` or ``false``; anything else is a mistake worth a 400."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("use true or false")


FormFlag = Annotated[bool, BeforeValidator(_flag), Form()]
log = logging.getLogger("onemap")


def _error_text(exc: Exception) -> str:
    if isinstance(exc, OneMapError):
        return str(exc)
    log.exception("import failed")
    return "the import failed unexpectedly; the error was logged"


@router.post("/collections/{collectionId}/imports", status_code=202,
             summary="Import a file into a layer (background job)")  # fmt: skip
async def start_import(
    request: Request,
    layer: EditableLayerDep,
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="The file (zip a shapefile with its parts)")],
    mode: Annotated[str, Form()] = "append",
    key: Annotated[str | None, Form()] = None,
    crs: Annotated[str | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
    source_layer: Annotated[str | None, Form()] = None,
    dry_run: FormFlag = False,
    skip_invalid: FormFlag = False,
    make_valid: FormFlag = False,
) -> JSONResponse:
    require_city_wide_editor(caller, layer.name, action="import files")
    folder = Path(tempfile.mkdtemp(prefix="onemap-import-"))
    name = Path(file.filename or "upload").name
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > request.app.state.features.max_upload_bytes:
                shutil.rmtree(folder, ignore_errors=True)
                raise TooLarge("the file is larger than ONEMAP_MAX_UPLOAD_BYTES")
            out.write(chunk)
    options = pipeline.Options(
        layer=layer.name, mode=mode, key=key, crs=crs, encoding=encoding,
        source_layer=source_layer, dry_run=dry_run, skip_invalid=skip_invalid,
        make_valid=make_valid, actor=caller.name,
    )  # fmt: skip
    database_url = request.app.state.database_url

    def work(progress: Progress) -> dict[str, Any]:
        try:
            result = pipeline.run(database_url, path, options, progress.report, label=name)
            result = result.as_dict()
            if result["committed"]:  # where the write ends in the WAL: see api.routing
                with psycopg.connect(database_url) as conn:
                    row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
                result["lsn"] = row[0] if row else None
            return result
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    pools = request.app.state.pools
    try:
        async with pooled(pools.primary, pools.timeout_s) as conn:  # only now: uploads are slow
            job = await request.app.state.jobs.start(
                conn, pools.primary, "import", work, _error_text, owner=caller.name
            )
    except BaseException:  # no job, so nobody else will remove the upload
        shutil.rmtree(folder, ignore_errors=True)
        raise
    status = url(request, f"/imports/{job['id']}")
    return JSONResponse({**job, "links": [{"href": status, "rel": "status"}]},
                        status_code=202, headers={"Location": status})  # fmt: skip


@router.get("/imports/{job_id}", summary="Status and report of an import")
async def get_import(job_id: str, caller: CallerDep, conn: WriteConnDep) -> JSONResponse:
    if not caller.signed_in:
        raise Unauthorized("import jobs are seen by the user who started them")
    job = await Jobs.get(conn, job_id, owner=caller.name)  # the primary: no replica lag
    if job is None:
        raise NotFound(f"import {job_id!r} not found")
    response = JSONResponse(job)
    lsn = (job["result"] or {}).get("lsn")
    if lsn:  # the writer reads its own write, whatever the replica's lag
        response.set_cookie(LSN_COOKIE, lsn, max_age=300, httponly=True, samesite="strict")
    return response
