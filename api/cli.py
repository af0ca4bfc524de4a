"""The ``onemap`` command line: database, samples, layers and the server."""

from __future__ import annotations

import functools
import json
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import psycopg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import database
from api.settings import DatabaseSettings, ServerSettings
from layers import REGISTRY
from layers.errors import OneMapError
from spatial import catalog

app = typer.Typer(help="OneMap: one map for the work, one ledger for the accounts.",
                  no_args_is_help=True, add_completion=False)  # fmt: skip
db_app = typer.Typer(help="The database: the embedded cluster or ONEMAP_DATABASE_URL.",
                     no_args_is_help=True)  # fmt: skip
samples_app = typer.Typer(help="The deterministic sample city.", no_args_is_help=True)
viewer_app = typer.Typer(help="The map pages.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(samples_app, name="samples")
app.add_typer(viewer_app, name="viewer")

out = Console()
err = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one readable line on stderr and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"ONEMAP_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
            )
            err.print(f"[bold red]error:[/] invalid setting: {problems}", highlight=False)
            raise typer.Exit(1) from None
        except (OneMapError, ValueError, psycopg.Error) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            err.print(f"[bold red]error:[/] {message}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def _url() -> str:
    settings = DatabaseSettings()
    url = database.resolve_database_url(settings)
    database.check_connection(url)
    return url


@db_app.command("start")
@friendly
def db_start() -> None:
    """Start the embedded cluster (initialising it on first use)."""
    settings = DatabaseSettings()
    if settings.database_url:
        database.check_connection(database.resolve_database_url(settings))
        out.print("using ONEMAP_DATABASE_URL; no embedded cluster to start")
        return
    cluster = database.embedded_cluster(settings)
    started = cluster.start()
    out.print(f"{'started' if started else 'already running'}: {cluster.url}")


@db_app.command("stop")
@friendly
def db_stop() -> None:
    """Stop the embedded cluster."""
    cluster = database.embedded_cluster(DatabaseSettings())
    out.print("stopped" if cluster.stop() else "not running")


@db_app.command("status")
@friendly
def db_status() -> None:
    """Print the connection URL and whether the server answers (exit 1 if not)."""
    settings = DatabaseSettings()
    url = database.resolve_database_url(settings)
    out.print(url, highlight=False)
    database.check_connection(url)
    with psycopg.connect(url) as conn:
        try:
            versions = catalog.versions(conn)
            out.print(f"PostgreSQL {versions['postgresql']}, PostGIS {versions['postgis']}")
        except psycopg.errors.UndefinedFunction:
            out.print(
                "running; PostGIS not installed in this database yet (run: onemap db migrate)"
            )


@db_app.command("migrate")
@friendly
def db_migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the schema to the layer registry's shape (Alembic upgrade)."""
    database.migrate(_url(), revision)
    out.print(f"schema at {revision}")


@db_app.command("reset")
@friendly
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Drop every layer and migrate again: an empty database."""
    url = _url()
    if not yes:
        typer.confirm(f"Delete all OneMap data in {url}?", abort=True)
    database.downgrade(url, "base")
    database.migrate(url)
    out.print("database reset to an empty schema")


@samples_app.command("load")
@friendly
def samples_load(
    scale: Annotated[float, typer.Option(help="1.0 = the full city (6,100 estates).")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same city.")] = 42,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Skip if data exists.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Replace existing data.")] = False,
) -> None:
    """Generate the sample city and load it."""
    from data_samples.generator import checksum, generate_city
    from data_samples.loader import load_city

    url = _url()
    with psycopg.connect(url) as conn:
        empty = catalog.layers_empty(conn, list(REGISTRY))
    if if_empty and not empty:
        out.print("the database already holds data; samples not loaded")
        return
    if not empty and not replace:
        raise ValueError(
            "the database already holds data; use --replace to load the samples over it"
        )
    started = time.monotonic()
    with out.status(f"generating the sample city (scale {scale}, seed {seed})"):
        city = generate_city(scale, seed)
    generated = time.monotonic()
    with Progress(
        TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=out,
    ) as progress:  # fmt: skip
        tasks: dict[str, int] = {}

        def advance(layer: str, n: int, total: int) -> None:
            if layer not in tasks:
                tasks[layer] = progress.add_task(layer, total=total)
            progress.advance(tasks[layer], n)

        counts = load_city(url, city, replace=replace, on_progress=advance)
    done = time.monotonic()
    out.print(
        f"loaded {sum(counts.values()):,} rows in {done - started:.1f} s "
        f"(generate {generated - started:.1f} s, load {done - generated:.1f} s); "
        f"checksum {checksum(city)[:16]}"
    )


@app.command("layers")
@friendly
def layers(as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """Every layer: name, title, geometry type and feature count."""
    with psycopg.connect(_url()) as conn:
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
        table.add_row(r["name"], r["title_zh"], r["title_en"], r["geometry_type"] or "-",
                      r["visibility"], f"{r['count']:,}")  # fmt: skip
    out.print(table)


@app.command("serve")
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ONEMAP_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ONEMAP_PORT or 8000.")] = None,
) -> None:
    """Serve the API and pages with uvicorn."""
    import uvicorn

    from api.app import create_app

    settings = ServerSettings()
    host, port = host or settings.host, port or settings.port
    _url()  # fail with one line before uvicorn starts if the database is not there
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise OneMapError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    server_settings = settings.model_copy(update={"host": host, "port": port})
    application = create_app(DatabaseSettings(), server_settings)
    out.print(f"OneMap on http://{host}:{port}")
    uvicorn.run(application, host=host, port=port, log_level="info")


@app.command("export")
@friendly
def export_layer(
    layer: Annotated[str, typer.Argument(help="Layer name (see: onemap layers).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    format: Annotated[str, typer.Option(help="geojson, geojsonseq, csv, gpkg or fgb.")] = "",
    bbox: Annotated[str | None, typer.Option(help="minx,miny,maxx,maxy in --bbox-crs.")] = None,
    bbox_crs: Annotated[str | None, typer.Option(help="CRS of --bbox (default CRS84).")] = None,
    filter: Annotated[str | None, typer.Option(help="A CQL2 filter.")] = None,
    filter_lang: Annotated[str, typer.Option(help="cql2-text or cql2-json.")] = "cql2-text",
    crs: Annotated[str | None, typer.Option(help="Output CRS, e.g. EPSG:4548 or GCJ-02.")] = None,
) -> None:
    """Export a layer (all of it, or what a bbox and filter select) to a file."""
    from api.params import parse_bbox
    from layers import Visibility, get_layer
    from spatial import cql, export
    from spatial import crs as crs_mod
    from spatial.features import FeatureQuery, count_sql

    try:
        target = get_layer(layer)
    except KeyError as exc:
        raise ValueError(exc.args[0]) from None
    fmt = export.get_format(format or out.suffix.lstrip(".").replace("geojsons", "geojsonseq"))
    level = Visibility.PRIVATE  # whoever can reach the database sees everything
    compiled = None
    if filter:
        tree = cql.parse(filter, filter_lang)
        compiled = cql.compile_filter(tree, target, level, crs_mod.DEFAULT)
    q = FeatureQuery(
        layer=target, level=level, bbox=parse_bbox(bbox), bbox_crs=crs_mod.parse(bbox_crs),
        filter=compiled, crs=crs_mod.parse(crs),
    )  # fmt: skip
    q = export.for_files(q, fmt)
    with psycopg.connect(_url()) as conn:
        statement = count_sql(q)
        row = conn.execute(statement.sql, statement.params).fetchone()
        total = int(row[0]) if row else 0
        with Progress(
            TextColumn(f"{target.name} → {out.name}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err,
        ) as progress:  # fmt: skip
            task = progress.add_task("export", total=total)

            def advance(n: int) -> None:
                progress.advance(task, n)

            if fmt.driver:
                out.unlink(missing_ok=True)
                export.write_file(conn, q, fmt, out, advance)
            else:
                with out.open("wb") as f:
                    for chunk in export.iter_text(conn, q, fmt, advance):
                        f.write(chunk)
    out_size = out.stat().st_size
    err.print(f"wrote {total:,} features to {out} ({out_size / 1e6:.1f} MB, {fmt.name})")


@app.command("ingest")
@friendly
def ingest_file(
    file: Annotated[
        Path,
        typer.Argument(
            help="GeoJSON(Seq), Shapefile (.shp/.zip/folder), "
            "GeoPackage, FlatGeobuf, KML, CSV or XLSX."
        ),
    ],
    layer: Annotated[str, typer.Option(help="The layer to load into (see: onemap layers).")],
    crs: Annotated[
        str | None,
        typer.Option(help="Source CRS when the file has none, e.g. EPSG:4548, GCJ-02, BD-09."),
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML/JSON {column: field}.")] = None,
    mode: Annotated[str, typer.Option(help="append, upsert or replace.")] = "append",
    key: Annotated[str | None, typer.Option(help="Unique field that upsert matches on.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate; write nothing.")] = False,
    encoding: Annotated[str | None, typer.Option(help="Attribute text encoding, e.g. gbk.")] = None,
    source_layer: Annotated[str | None, typer.Option(help="GeoPackage layer to read.")] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Load the good rows, list the bad.")
    ] = False,
    make_valid: Annotated[
        bool, typer.Option("--make-valid", help="Repair invalid geometries.")
    ] = False,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
) -> None:
    """Load another department's file into a layer: validated, atomic, with a report."""
    from ingest import pipeline

    options = pipeline.Options(
        layer=layer, mode=mode, key=key, crs=crs, mapping=mapping, encoding=encoding,
        source_layer=source_layer, dry_run=dry_run, skip_invalid=skip_invalid,
        make_valid=make_valid, actor="cli",
    )  # fmt: skip
    url = _url()
    with Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as progress:  # fmt: skip
        tasks: dict[str, int] = {}

        def advance(stage: str, n: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.advance(tasks[stage], n)

        result = pipeline.run(url, file, options, advance)
    if report:
        report.write_text(result.to_json(), encoding="utf-8")
    (out if result.ok else err).print(result.to_text(), highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


@viewer_app.command("build")
@friendly
def viewer_build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the site into.")],
) -> None:
    """Write the public elevator map as a static site (HTML, assets, public GeoJSON)."""
    import asyncio

    from api.page_data import gather
    from layers import Visibility, get_layer
    from spatial import export
    from spatial.features import FeatureQuery
    from viewer import assets, site

    assets.check_installed()
    url = _url()

    async def page_data():  # type: ignore[no-untyped-def]
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await gather(conn, Visibility.PUBLIC, elevator_counts=True)

    data = asyncio.run(page_data())
    geojson = {}
    with psycopg.connect(url) as conn:
        for name in site.DATA_LAYERS:
            q = FeatureQuery(layer=get_layer(name), level=Visibility.PUBLIC)
            geojson[name] = b"".join(export.iter_geojson(conn, q))
    written = site.build(out, data, geojson)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    out_index = out / "index.html"
    err.print(f"wrote {out_index} and {len(written) - 1} more items ({size / 1e6:.1f} MB); "
              f"serve it with: python -m http.server -d {out}")  # fmt: skip


def main() -> None:
    app()
