"""The ``onemap`` command line: database, samples, layers and the server."""

from __future__ import annotations

import itertools
import json
import os
import socket
import sys
import time
from typing import Annotated

import psycopg
import typer
from rich.table import Table

import database
from api.settings import ServerSettings
from cli.common import app, console, database_url, db_app, friendly, samples_app, stage_bars
from data_samples.sample_city import sample_cities, sample_city
from database.settings import DatabaseSettings
from layers import REGISTRY
from layers.city import CITY
from layers.errors import OneMapError
from layers.readme import layer_table
from spatial import catalog


@db_app.command("start")
@friendly
def db_start() -> None:
    """Start the embedded cluster (initialising it on first use)."""
    settings = DatabaseSettings()
    if settings.database_url:
        database.check_connection(database.resolve_database_url(settings))
        console.print("using ONEMAP_DATABASE_URL; no embedded cluster to start")
        return
    cluster = database.embedded_cluster(settings)
    new = not cluster.initialised
    started = cluster.start()
    if new:  # said aloud: run from another folder, a new empty cluster looks like lost data
        where = f"{cluster.home} (ONEMAP_DATA_DIR {settings.data_dir}"
        where += ", relative to the current folder)" if not settings.data_dir.is_absolute() else ")"
        console.print(f"created a new, empty cluster in {where}", highlight=False)
    console.print(f"{'started' if started else 'already running'}: {cluster.url}")


@db_app.command("stop")
@friendly
def db_stop() -> None:
    """Stop the embedded cluster."""
    cluster = database.embedded_cluster(DatabaseSettings())
    console.print("stopped" if cluster.stop() else "not running")


@db_app.command("status")
@friendly
def db_status() -> None:
    """Print the connection URL and whether the server answers (exit 1 if not)."""
    settings = DatabaseSettings()
    url = database.resolve_database_url(settings)
    console.print(url, highlight=False)
    database.check_connection(url)
    with psycopg.connect(url) as conn:
        try:
            versions = catalog.versions(conn)
            console.print(f"PostgreSQL {versions['postgresql']}, PostGIS {versions['postgis']}")
            held = database.served_city(conn)
            console.print(f"data of: {held or 'no city yet'}; ONEMAP_CITY: {CITY.name}")
            at, head = database.schema_revision(conn), database.migration_head()
            state = "current" if at == head else f"this OneMap's is {head}: run onemap db migrate"
            console.print(f"schema: migration {at or 'none yet'} ({state})", highlight=False)
        except psycopg.errors.UndefinedFunction:
            console.print(
                "running; PostGIS not installed in this database yet (run: onemap db migrate)"
            )


@db_app.command("migrate")
@friendly
def db_migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the schema to the layer registry's shape (Alembic upgrade)."""
    database.migrate(database_url(same_city=False), revision)
    console.print(f"schema at {revision}")


@db_app.command("reset")
@friendly
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop every layer and migrate again: an empty database, for ONEMAP_CITY."""
    url = database_url(same_city=False)
    if not yes:
        typer.confirm(f"Delete all OneMap data in {url}?", abort=True)
    database.downgrade(url, "base")
    database.migrate(url)
    console.print("database reset to an empty schema")


@samples_app.command("load")
@friendly
def samples_load(
    scale: Annotated[
        float,
        typer.Option(
            help="1.0 = the full city ("
            + ", ".join(
                f"{c.name}: {c.per_scale['estates']:,} estates" for c in sample_cities().values()
            )
            + "); up to 40, where copies of the city stand beside it (a national-size sample)."
        ),
    ] = 1.0,
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same city.")] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Skip if data exists.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace existing data.")] = False,
    city: Annotated[
        str | None,
        typer.Option(
            help=f"The sample city: {' or '.join(sorted(sample_cities()))}. "
            "Default: the service's city (ONEMAP_CITY)."
        ),
    ] = None,
) -> None:
    """Generate a sample city and load it (streamed: memory stays flat as the scale grows)."""
    from data_samples.copies import generate_parts, part_scales
    from data_samples.generator import checksum
    from data_samples.loader import load_parts

    parts = len(part_scales(scale))  # a wrong scale stops here
    city = CITY.name if city is None else city
    sample_city(city)  # an unknown name stops here, with the names there are
    if city != CITY.name:
        # Its areas and lengths would be measured in another city's Gauss-Kruger zone.
        raise ValueError(
            f"the service is set up for {CITY.name} (ONEMAP_CITY); "
            f"run with ONEMAP_CITY={city} to load and serve {city}'s sample"
        )
    url = database_url()
    with psycopg.connect(url) as conn:
        empty = catalog.layers_empty(conn, list(REGISTRY))
    if if_empty and not empty:
        console.print("the database already holds data; samples not loaded")
        return
    if not empty and not replace:
        raise ValueError(
            "the database already holds data; use --replace to load the samples over it"
        )
    started = time.monotonic()
    with console.status(f"generating {city}'s sample (scale {scale}, seed {seed})"):
        stream = generate_parts(scale, seed, city)
        first = next(stream)  # one part: the whole city; several: the next is made meanwhile
    generated = time.monotonic()
    with stage_bars(console, width=20) as advance:
        counts = load_parts(url, itertools.chain([first], stream), replace=replace,
                            on_progress=advance)  # fmt: skip
    done = time.monotonic()
    summary = f"loaded {city}: {sum(counts.values()):,} rows in {done - started:.1f} s"
    if parts == 1:
        summary += (f" (generate {generated - started:.1f} s, load {done - generated:.1f} s); "
                    f"checksum {checksum(first.tables)[:16]}")  # fmt: skip
    else:
        summary += f", {parts} parts: the city and {parts - 1} copies beside it"
    console.print(summary)


@app.command("layers")
@friendly
def layers(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="README's layer table (no database needed).")
    ] = False,
) -> None:
    """Every layer: name, title, geometry type and feature count."""
    if markdown:
        sys.stdout.write(layer_table() + "\n")
        return
    with psycopg.connect(database_url()) as conn:
        counts = catalog.layer_counts(conn, list(REGISTRY))
    rows = [
        {
            "name": layer.name,
            "title_zh": layer.title_zh,
            "title_en": layer.title_en,
            "geometry_type": layer.geometry_type.value if layer.geometry_type else None,
            "visibility": layer.visibility.name.lower(),
            "count": counts[layer.name],
        }
        for layer in REGISTRY.values()
    ]
    if as_json:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table("name", "标题", "title", "geometry", "visibility", "count")
    for r in rows:
        cells = (
            r["name"],
            r["title_zh"],
            r["title_en"],
            r["geometry_type"] or "-",
            r["visibility"],
        )
        table.add_row(*map(str, cells), f"{r['count']:,}")
    console.print(table)


@app.command("serve")
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ONEMAP_HOST or 127.0.0.1.")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Default: ONEMAP_PORT or 8000.")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Default: ONEMAP_WORKERS or 1.")
    ] = None,
    access_log: Annotated[
        bool | None, typer.Option(help="A line per request. Default: ONEMAP_ACCESS_LOG or off.")
    ] = None,
) -> None:
    """Serve the API and pages with uvicorn."""
    import uvicorn

    settings = ServerSettings()
    host, port = host or settings.host, port or settings.port
    database_url()  # fail with one line before uvicorn starts if the database is not there
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise OneMapError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    workers = workers or settings.workers
    access_log = settings.access_log if access_log is None else access_log
    from cli.privileges import drop_root, project_paths

    was_root = os.geteuid() == 0
    why_not = drop_root(settings.run_as, project_paths())
    if why_not:
        console.print(f"[yellow]warning: serving as root: {why_not}; see README, Production[/]")
    elif was_root:
        console.print(f"serving as the unprivileged user {settings.run_as!r}")
    console.print(f"OneMap on http://{host}:{port} ({workers} worker{'s' * (workers > 1)})")
    if workers > 1:
        _fork_workers()
    # Each worker builds the app from the same ONEMAP_* environment; the workers share
    # nothing but the database (import jobs and layer versions are kept there).
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", access_log=access_log, server_header=False,
                http="api.protocol:HeaderDeadlineProtocol",
                timeout_keep_alive=settings.keep_alive_s)  # fmt: skip


def _fork_workers() -> None:
    """Start uvicorn's workers by fork from this process, which has imported the app.

    uvicorn spawns them (Windows has no fork): each new interpreter imported the whole app
    again, a second of CPU and 200 MB each, nothing shared. Forked, they share the imported
    modules' pages. This process is single-threaded and holds no connection when they fork,
    and the app opens its pools in each worker's lifespan. uvicorn's own prototype of the
    same: Kludex/uvicorn#3031 (``--preload``); ``_subprocess.spawn`` is its one seam
    (uvicorn is pinned in pyproject.toml).
    """
    import multiprocessing

    import uvicorn._subprocess

    import api.app  # noqa: F401  (imported here, once, for every worker)
    import api.protocol  # noqa: F401

    uvicorn._subprocess.spawn = multiprocessing.get_context("fork")  # type: ignore[assignment]


def main() -> None:
    # They register their commands on `app`.
    from cli import analyses, data, holidays, users  # noqa: F401

    app()
