"""``/collections/{id}/export``: a whole (filtered) layer as a file for other GIS tools."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.querying import QueryDep
from api.routing import ReadPoolDep
from layers.errors import OneMapError
from spatial import export
from spatial.execute import translate

router = APIRouter(tags=["Exports"])

FormatQuery = Annotated[
    str, Query(description="geojson, geojsonseq, csv (WKT geometry), gpkg or fgb")
]


def _connect(request: Request) -> psycopg.Connection:
    """A plain connection to where this caller reads (see api.routing)."""
    return psycopg.connect(request.state.read_url, options=request.app.state.connect_options)


def _guarded(chunks: Iterator[bytes], conn: psycopg.Connection) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        conn.close()


def _first(chunks: Iterator[bytes]) -> bytes:
    """Run the query up to its first chunk, so that errors become a proper 4xx/5xx."""
    try:
        return next(chunks, b"")
    except psycopg.Error as exc:
        mapped: OneMapError | None = translate(exc)
        if mapped is not None:
            raise mapped from exc
        raise


EXPORT_RESPONSES: dict[int | str, Any] = {
    200: {"description": "The file", "content": {f.media_type: {} for f in export.FORMATS.values()}}
}


@router.get("/collections/{collectionId}/export", summary="Download a layer",
            response_model=None, response_class=Response, responses=EXPORT_RESPONSES)  # fmt: skip
async def export_layer(
    request: Request, query: QueryDep, _: ReadPoolDep, format: FormatQuery = "geojson"
) -> StreamingResponse | FileResponse:
    fmt = export.get_format(format)
    q = export.for_files(query, fmt)
    filename = f"{q.layer.name}.{fmt.extension}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if q.layer.is_spatial:
        disposition["Content-Crs"] = f"<{q.crs.uri}>"
    conn = await run_in_threadpool(_connect, request)
    if fmt.driver is None:
        chunks = _guarded(export.iter_text(conn, q, fmt), conn)
        first = await run_in_threadpool(_first, chunks)

        def body() -> Iterator[bytes]:
            yield first
            yield from chunks

        return StreamingResponse(body(), media_type=fmt.media_type, headers=disposition)
    folder = Path(tempfile.mkdtemp(prefix="onemap-export-"))
    path = folder / filename
    try:
        await run_in_threadpool(export.write_file, conn, q, fmt, path)
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)
        mapped = translate(exc)
        if mapped is not None:
            raise mapped from exc
        raise
    finally:
        conn.close()
    return FileResponse(
        path, media_type=fmt.media_type, filename=filename, headers=disposition,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )  # fmt: skip
