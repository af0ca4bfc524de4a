"""``POST /collections/{id}/imports``: a file into a layer, as a background job.

Writing is never anonymous: the caller must be allowed to edit the layer, city-wide (an import
is not checked street by street, so a responsible planner cannot import).
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData, UploadFile

from api.access import CallerDep, EditableLayerDep, require_city_wide_editor
from api.deps import WriteConnDep, pooled
from api.jobs import Jobs, Progress
from api.links import url
from api.replicas import LSN_COOKIE
from api.state import state_of
from ingest import load, pipeline
from ingest.mapping import Mapping, parse_mapping
from ingest.read import Limits
from layers.errors import (
    InvalidInput,
    NotFound,
    OneMapError,
    Unauthorized,
    UnsupportedMediaType,
    shown,
)
from spatial import catalog

router = APIRouter(tags=["Imports"])


log = logging.getLogger("onemap")
# The form's option fields besides the file, as the OpenAPI document describes them.
FORM_OPTIONS: dict[str, dict[str, Any]] = {
    "mode": {"type": "string", "enum": list(load.MODES)},
    "key": {"type": "string"},
    "crs": {"type": "string"},
    "encoding": {"type": "string"},
    "source_layer": {"type": "string"},
    "dry_run": {"type": "boolean"},
    "skip_invalid": {"type": "boolean"},
    "make_valid": {"type": "boolean"},
    "mapping": {
        "type": "string",
        "description": "A mapping (YAML or JSON): columns, values "
        "and set sections, or {column: field}; at most 64 KiB",
    },
    "suggest_mapping": {
        "type": "boolean",
        "description": "Dry-run and add a draft mapping (YAML) to the report, as suggested_mapping",
    },
}
FORM_FIELDS = tuple(FORM_OPTIONS)
# The request body, for the OpenAPI document: the route reads it itself, after the caller's
# credentials are checked (FastAPI would read a declared form before any dependency).
IMPORT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary",
                             "description": "The file (zip a shapefile with its parts)"},
                    **FORM_OPTIONS,
                },
            }
        }
    },
}  # fmt: skip
_SAFE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


def _flag(form: FormData, name: str) -> bool:
    """A form flag is ``true`` or ``false``; anything else is a mistake worth a 400."""
    value = form.get(name, "false")
    if value not in ("true", "false"):
        raise InvalidInput(f"{name}: use true or false")
    return value == "true"


def _text(form: FormData, name: str, default: str | None = None) -> str | None:
    value = form.get(name, default)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{name}: expected text, got a file")
    if value is not None and len(value) > 200:
        raise InvalidInput(f"{name}: at most 200 characters")
    return value


def _mapping(form: FormData) -> Mapping:
    value = form.get("mapping")
    if value is None:
        return Mapping()
    if not isinstance(value, str):
        raise InvalidInput("mapping: send the mapping's text as a form field, not a file")
    return parse_mapping(value)


def stored_name(filename: str | None) -> tuple[str, str]:
    """(the name kept on disk, the name reports show) for an uploaded file's name.

    Only the extension of the sender's name reaches the disk, so no name (``..``, ``.``,
    slashes, NUL bytes, 10,000 characters) can point anywhere else.
    """
    shown = Path((filename or "upload").replace("\\", "/")).name[:200] or "upload"
    suffix = Path(shown).suffix
    return "upload" + (suffix.lower() if _SAFE_SUFFIX.fullmatch(suffix) else ""), shown


def _error_text(exc: Exception) -> str:
    if isinstance(exc, OneMapError):
        return str(exc)
    log.exception("import failed")
    return "the import failed unexpectedly; the error was logged"


async def _spool(upload: UploadFile, path: Path) -> None:
    """Copy the upload to ``path`` (its size was bounded while the body came: BodyLimit)."""
    with path.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            out.write(chunk)


@router.post("/collections/{collectionId}/imports", status_code=202,
             summary="Import a file into a layer (background job)",
             openapi_extra={"requestBody": IMPORT_BODY})  # fmt: skip
async def start_import(
    request: Request, layer: EditableLayerDep, caller: CallerDep
) -> JSONResponse:
    require_city_wide_editor(caller, layer.name, action="import files")
    settings = state_of(request).features
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UnsupportedMediaType("send the file as multipart/form-data with a 'file' field")
    folder = Path(tempfile.mkdtemp(prefix="onemap-import-"))
    try:
        parsing = request.form(max_files=1, max_fields=len(FORM_FIELDS) + 1,
                               max_part_size=64 << 10)  # fmt: skip
        async with parsing as form:
            unknown = sorted(set(form.keys()) - {"file", *FORM_FIELDS})
            if unknown:
                raise InvalidInput(f"unknown form fields: {', '.join(unknown)}")
            # Which of two values counts is a guess (Starlette keeps the last), as for a
            # repeated query parameter (api.hardening).
            repeated = sorted(key for key in form if len(form.getlist(key)) > 1)
            if repeated:
                raise InvalidInput(f"give each form field once: {', '.join(repeated)}")
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("the form needs a 'file' field holding the file")
            name, shown = stored_name(upload.filename)
            path = folder / name
            suggest = _flag(form, "suggest_mapping")
            options = pipeline.Options(
                layer=layer.name, mode=_text(form, "mode", "append") or "append",
                key=_text(form, "key"), crs=_text(form, "crs"), encoding=_text(form, "encoding"),
                source_layer=_text(form, "source_layer"),
                dry_run=_flag(form, "dry_run") or suggest, suggest=suggest,
                skip_invalid=_flag(form, "skip_invalid"), make_valid=_flag(form, "make_valid"),
                mapping=_mapping(form), actor=caller.name, level=caller.level,
                limits=Limits(settings.max_import_features, settings.max_unpacked_bytes),
            )  # fmt: skip
            pipeline.check_options(options)  # a wrong option is a 400 now, not a failed job
            await _spool(upload, path)
    except BaseException:  # no job, so nobody else will remove the upload
        shutil.rmtree(folder, ignore_errors=True)
        raise
    database_url = state_of(request).database_url

    def work(progress: Progress) -> dict[str, Any]:
        try:
            report = pipeline.run(database_url, path, options, progress.report, label=shown)
            result = report.as_dict()
            if result["committed"]:  # where the write ends in the WAL: see api.replicas
                with psycopg.connect(database_url) as conn:
                    result["lsn"] = catalog.wal_position(conn)
            return result
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    pools = state_of(request).pools
    try:
        async with pooled(pools.primary, pools.timeout_s) as conn:  # only now: uploads are slow
            job = await state_of(request).jobs.start(
                conn, pools.primary, "import", work, _error_text, owner=caller.name
            )
    except BaseException:
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
        raise NotFound(f"import {shown(job_id)} not found")
    response = JSONResponse(job)
    lsn = (job["result"] or {}).get("lsn")
    if lsn:  # the writer reads its own write, whatever the replica's lag
        response.set_cookie(LSN_COOKIE, lsn, max_age=300, httponly=True, samesite="strict")
    return response
