"""The floor of a Python answer: OneMap's tile statements served bare, beside pgbench and OneMap.

    .venv/bin/python bench/floor.py [--seconds 3] [--repeat 20]

Issue 20 asks every computed tile group to be within 1.3x of its raw SQL. No server can be
when its statement takes less than what answering over HTTP from Python adds around it. This
measures that addition for the harness's tile groups: an ASGI callable with no framework, no
middleware, no gzip, ETag or access check, on the same uvicorn (uvloop, httptools) and a
pooled psycopg connection set up as OneMap's, runs each tile route's own statement and sends
its bytes. The same paths go to OneMap with its response cache off, and the same statements
to pgbench (literal values, prepared), one client and eight, as in ``harness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import harness
from servers import serve_onemap, wait

import database
from database.settings import DatabaseSettings
from layers import Visibility, get_layer
from spatial import tiles

PORT_FLOOR, PORT_ONEMAP = 8785, 8786


def serve_bare(port: int, url: str) -> None:
    """The bare server (run in its own process): ``/{layer}/{z}/{x}/{y}`` → the tile's bytes."""
    import psycopg_pool
    import uvicorn

    pool = psycopg_pool.AsyncConnectionPool(
        url, min_size=8, max_size=8, open=False,
        kwargs={"autocommit": True, "options": "-c jit=off"},
    )  # fmt: skip

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # startup
            await pool.open()
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            await pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        layer, z, x, y = scope["path"].strip("/").split("/")
        data = b""
        if layer != "health":
            statement = tiles.served_tile_sql([get_layer(layer)], Visibility.PUBLIC, int(z))
            params = {"z": int(z), "x": int(x), "y": int(y), "names": [layer]}
            async with pool.connection() as conn:
                row = await (await conn.execute(statement, params, binary=True)).fetchone()
            data = bytes(row[1]) if row and row[1] else b""
        status = 200 if data or layer == "health" else 204
        headers = [(b"content-type", b"application/vnd.mapbox-vector-tile")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    uvicorn.run(app, port=port, log_level="warning", access_log=False, loop="uvloop",
                http="httptools", lifespan="on")  # fmt: skip


def bare_path(onemap_path: str) -> str:
    """``/collections/L/tiles/WebMercatorQuad/z/y/x`` as the bare server's ``/L/z/x/y``."""
    parts = onemap_path.split("/")
    return f"/{parts[2]}/{parts[5]}/{parts[7]}/{parts[6]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=3, help="Time per group and server.")
    parser.add_argument("--repeat", type=int, default=20, help="Distinct tiles per group.")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the bare server's port
    args = parser.parse_args()
    url = database.resolve_database_url(DatabaseSettings())
    if args.serve:
        serve_bare(args.serve, url)
        return
    requests = [r for r in harness.requests(random.Random(7), args.repeat) if "tile" in r.group]
    groups = list(dict.fromkeys(r.group for r in requests))
    bare = subprocess.Popen([sys.executable, __file__, "--serve", str(PORT_FLOOR)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    onemap = serve_onemap(PORT_ONEMAP, url, 1, cache=False)
    bases = {
        "bare": f"http://127.0.0.1:{PORT_FLOOR}",
        "computed": f"http://127.0.0.1:{PORT_ONEMAP}",
    }
    try:
        wait(bases["bare"], "/health/0/0/0")
        wait(bases["computed"], "/health")
        print("| group | clients | raw SQL p50 (ms) | bare Python p50 | bare ÷ raw | OneMap "
              "computed p50 | computed ÷ raw | computed − bare (ms) |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for clients in (1, 8):
            for group in groups:
                rs = [r for r in requests if r.group == group]
                p50 = {}
                for name, base in bases.items():
                    paths = [bare_path(r.onemap) if name == "bare" else r.onemap for r in rs]
                    asyncio.run(harness._warm(base, paths, 1))
                    with tempfile.TemporaryDirectory() as folder:
                        p50[name] = harness._wrk(base, paths, clients, args.seconds,
                                                 Path(folder)).p50  # fmt: skip
                with tempfile.TemporaryDirectory() as folder:
                    raws = [r.raw for r in rs if r.raw is not None]
                    raw = harness._pgbench(url, raws, clients, args.seconds, Path(folder)).p50
                bare_ms, computed_ms = p50["bare"], p50["computed"]
                print(f"| {group} | {clients} | {raw:.2f} | {bare_ms:.2f} | {bare_ms / raw:.2f} "
                      f"| {computed_ms:.2f} | {computed_ms / raw:.2f} "
                      f"| {computed_ms - bare_ms:.2f} |", flush=True)  # fmt: skip
    finally:
        for process in (bare, onemap):
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
