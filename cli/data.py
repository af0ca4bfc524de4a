"""The ``onemap`` commands that move data: export, ingest, the static site, benchmarks."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import psycopg
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from cli.common import (
    app,
    check_output,
    check_output_folder,
    console,
    database_url,
    friendly,
    output_file,
    stage_bars,
    stderr,
    viewer_app,
)
from layers.errors import InvalidInput, OneMapError

if TYPE_CHECKING:
    from viewer.pages import PageData


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
    from api.params import check_bbox, parse_bbox
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
    box, box_crs = parse_bbox(bbox), crs_mod.parse(bbox_crs)
    if box is not None:  # the API's checks of a box; a file may hold the whole city
        box = check_bbox(box, box_crs, max_area_deg2=math.inf)
    q = FeatureQuery(
        layer=target, level=level, bbox=box, bbox_crs=box_crs, filter=compiled,
        crs=crs_mod.parse(crs),
    )  # fmt: skip
    q = export.for_files(q, fmt)
    if fmt.driver and out.exists() and not out.is_file():
        raise InvalidInput(f"--out: {fmt.name} needs a regular file, not {out}")
    with output_file(out) as partial, psycopg.connect(database_url()) as conn:
        statement = count_sql(q)
        row = conn.execute(statement.sql, statement.params).fetchone()
        total = int(row[0]) if row else 0
        with Progress(
            TextColumn(f"{target.name} → {out.name}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=stderr,
        ) as progress:  # fmt: skip
            task = progress.add_task("export", total=total)

            def advance(n: int) -> None:
                progress.advance(task, n)

            if fmt.driver:
                export.write_file(conn, q, fmt, partial, advance)
            else:
                with partial.open("wb") as f:
                    for chunk in export.iter_text(conn, q, fmt, advance):
                        f.write(chunk)
    out_size = out.stat().st_size
    stderr.print(f"wrote {total:,} features to {out} ({out_size / 1e6:.1f} MB, {fmt.name})")


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
    mapping: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON: columns, values and set sections (or {column: field})."),
    ] = None,
    suggest_mapping: Annotated[
        Path | None,
        typer.Option(help="Write a draft mapping here to edit, and only dry-run the file."),
    ] = None,
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
    from ingest.mapping import load_mapping

    options = pipeline.Options(
        layer=layer, mode=mode, key=key, crs=crs, mapping=load_mapping(mapping),
        encoding=encoding, source_layer=source_layer,
        dry_run=dry_run or suggest_mapping is not None, skip_invalid=skip_invalid,
        make_valid=make_valid, actor="cli", suggest=suggest_mapping is not None,
    )  # fmt: skip
    # Checked first: a report that cannot be written after the rows were would read as failure.
    for path, option in ((report, "--report"), (suggest_mapping, "--suggest-mapping")):
        if path is not None:
            check_output(path, option)
    url = database_url()
    with stage_bars(stderr, transient=True) as advance:
        result = pipeline.run(url, file, options, advance)
    if report:
        with output_file(report) as partial:
            partial.write_text(result.to_json(), encoding="utf-8")
    if suggest_mapping is not None and result.suggested_mapping is not None:
        with output_file(suggest_mapping) as partial:
            partial.write_text(result.suggested_mapping, encoding="utf-8")
        stderr.print(f"wrote the draft mapping {suggest_mapping}: edit it, then run again with "
                     f"--mapping {suggest_mapping}", highlight=False, markup=False)  # fmt: skip
    (console if result.ok else stderr).print(result.to_text(), highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


def _public_page_data(url: str, *, elevator_counts: bool = False) -> PageData:
    """What the public pages show, read from the database at ``url``."""
    import asyncio

    from api.page_data import gather
    from layers import Visibility

    async def read() -> PageData:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await gather(conn, Visibility.PUBLIC, elevator_counts=elevator_counts)

    return asyncio.run(read())


@viewer_app.command("build")
@friendly
def viewer_build(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the site into.")],
) -> None:
    """Write the public elevator map as a static site, tiles in one PMTiles archive.

    The folder holds the page, its assets and the public layers' vector tiles; any web server
    that answers HTTP range requests serves it, with no app behind it.
    """
    from viewer import assets, site

    assets.check_installed()
    check_output_folder(out)
    url = database_url()
    data = _public_page_data(url, elevator_counts=True)
    report = site.build(url, out, data)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    stderr.print(f"tiles: {report.archive.to_text()}", highlight=False, soft_wrap=True)
    stderr.print(f"wrote {out / 'index.html'} and {len(report.files) - 1} more items "
                 f"({size / 1e6:.1f} MB); serve the folder with any web server that answers "
                 "HTTP range requests (nginx, Caddy, object storage; not python -m http.server)",
                 highlight=False, soft_wrap=True)  # fmt: skip


@viewer_app.command("seed")
@friendly
def viewer_seed(
    url: Annotated[
        str | None, typer.Option(help="Where to ask: the CDN, proxy or app in front of visitors.")
    ] = None,
    page: Annotated[str, typer.Option(help="elevator-map or map (as anonymous sees it).")] = (
        "elevator-map"
    ),
    zooms: Annotated[str, typer.Option(help="A zoom or a range, e.g. 8-12.")] = "8-12",
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests at once.")] = 4,
) -> None:
    """Ask every tile a public page shows over the city at some zooms, once, at its URLs.

    Run it after a change to a public layer (its tiles get new URLs), so a CDN in front, or
    the app's response cache, holds the city-view tiles before visitors come.
    """
    import asyncio

    from api.settings import ServerSettings
    from viewer import pages
    from viewer.seed import parse_zooms, seed, seed_paths

    settings = ServerSettings()
    base = (url or f"http://{settings.host}:{settings.port}").rstrip("/")
    levels = parse_zooms(zooms)
    data = _public_page_data(database_url())
    paths = seed_paths(pages.page_tile_urls(data, page), data.city_bbox, levels)
    stderr.print(f"seeding /{page} at z{levels.start}–{levels.stop - 1}: {len(paths):,} tiles "
              f"from {base}")  # fmt: skip
    report = asyncio.run(seed(base, paths, concurrency))
    (stderr if report.failures else console).print(report.to_text(), highlight=False, markup=False)
    if report.failures:
        raise typer.Exit(1)


@app.command("bench")
@friendly
def bench() -> None:
    """Run the benchmarks (needs the full sample city and a source checkout)."""
    folder = Path(__file__).resolve().parent.parent / "bench"
    if not (folder / "harness.py").exists():
        raise OneMapError("onemap bench runs from a source checkout (bench/ is not installed)")
    runs = (
        ["harness.py"],
        ["harness.py", "--workers", "2", "--out", str(folder / "results-2-workers.md")],
        ["ingest_vs_ogr2ogr.py"],
    )
    for script, *options in runs:
        result = subprocess.run([sys.executable, str(folder / script), *options], check=False)
        if result.returncode != 0:
            raise OneMapError(f"bench/{script} failed (exit {result.returncode})")
    console.print("results: bench/results*.md and bench/results*.png; record them in BENCHMARKS.md")
