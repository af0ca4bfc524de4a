"""``/collections/{id}/export``: a whole (filtered) layer as a file for other GIS tools."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.deps import take_slot
from api.head import is_head
from api.links import attachment
from api.querying import QueryDep
from api.replicas import ReadPoolDep
from api.state import state_of
from api.streaming import ReleasingStreamingResponse
from layers.errors import OneMapError
from spatial import export
from spatial.execute import translate

router = APIRouter(tags=["Exports"])

FormatQuery = Annotated[
    str, Query(description="geojson, geojsonseq, csv (WKT geometry), gpkg or fgb")
]


# The server ends an export's session that sits idle in its transaction this long: a client
# that stops reading (without closing) cannot hold a connection and its snapshot for minutes.
IDLE_IN_TRANSACTION_MS = 60_000


def _connect(request: Request) -> psycopg.Connection:
    """A plain connection to where this caller reads (see api.replicas)."""
    options = (f"{state_of(request).connect_options} "
               f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}")  # fmt: skip
    return psycopg.connect(request.state.read_url, options=options, connect_timeout=10)


def _close(chunks: Iterator[bytes], conn: psycopg.Connection) -> None:
    """End the export: its cursor and transaction (the generator's), then the connection."""
    try:
        chunks.close()  # type: ignore[attr-defined]
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
) -> Response:
    fmt = export.get_format(format)
    q = export.for_files(query, fmt)
    filename = f"{q.layer.name}.{fmt.extension}"
    disposition = attachment(filename)
    if q.layer.is_spatial:
        disposition["Content-Crs"] = f"<{q.crs.uri}>"
    if is_head(request):  # checked like a GET above; the file itself is not made for nobody
        return Response(media_type=fmt.media_type, headers=disposition)
    slots = state_of(request).export_slots  # each holds a connection outside the pool
    await take_slot(request, slots, "export")
    try:
        conn = await run_in_threadpool(_connect, request)
    except BaseException:
        slots.release()
        raise
    if fmt.driver is None:
        chunks = export.iter_text(conn, q, fmt)
        try:
            first = await run_in_threadpool(_first, chunks)
        except BaseException:
            await run_in_threadpool(_close, chunks, conn)
            slots.release()
            raise

        async def body() -> AsyncIterator[bytes]:
            yield first
            while (chunk := await run_in_threadpool(next, chunks, None)) is not None:
                yield chunk

        async def release() -> None:  # once the response is over, however it ended
            try:
                await run_in_threadpool(_close, chunks, conn)
            finally:
                slots.release()

        return ReleasingStreamingResponse(
            body(), release, media_type=fmt.media_type, headers=disposition
        )
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
        slots.release()
    return FileResponse(
        path, media_type=fmt.media_type, filename=filename, headers=disposition,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )  # fmt: skip
