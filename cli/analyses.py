"""``onemap analyse``, ``onemap dossier``, ``onemap ledger``: the analyses from the shell.

Whoever can reach the database sees everything, as with ``onemap export``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from analyses.checks import summary
from analyses.dossier import dossier
from analyses.dossier_page import dossier_html, dossier_pdf
from analyses.elevators import apply_screening
from analyses.ledger import ledger, ledger_xlsx
from analyses.model import Area, page_of, rows_of
from analyses.registry import ANALYSES, get_analysis
from analyses.running import as_geojson, as_json, dumps, paging
from cli.common import app, console, friendly, output_file, stderr, with_connection
from layers import MAX_ID, Visibility
from layers.errors import InvalidInput
from spatial.spreadsheet import spreadsheet_safe

AreaDistrict = Annotated[str | None, typer.Option(help="A district code, e.g. 110101.")]
AreaStreet = Annotated[str | None, typer.Option(help="A street code, e.g. 110101001.")]
AreaEstate = Annotated[int | None, typer.Option(min=1, max=MAX_ID, help="An estate id.")]


def _write(data: bytes, path: Path | None) -> None:
    if path is None:
        sys.stdout.buffer.write(data)
        return
    with output_file(path) as partial:
        partial.write_bytes(data)
    console.print(f"wrote {path} ({len(data):,} bytes)", highlight=False)


@app.command("analyses")
@friendly
def list_analyses() -> None:
    """The analyses and their parameters."""
    table = Table("name", "标题", "title", "seed items", "parameters (default)")
    for a in ANALYSES.values():
        params = ", ".join(f"{p.name}={p.default}" for p in a.params) or "-"
        table.add_row(a.name, a.title_zh, a.title_en, ",".join(map(str, a.seed_items)), params)
    console.print(table)


@app.command("check")
@friendly
def check(
    district: AreaDistrict = None, street: AreaStreet = None, estate: AreaEstate = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the rows (JSON).")
    ] = None,
) -> None:  # fmt: skip
    """Find records that contradict each other; exit 1 when any is found."""
    analysis = get_analysis("data_checks")
    area = Area(district, street, estate)
    params = analysis.parse_params({})
    rows = rows_of(with_connection(lambda conn: analysis.run(conn, area, params)))
    counts = summary(rows)
    table = Table("check", "title", "rows", "first features")
    for name, count in counts.items():
        found = [r for r in rows if r.properties["check"] == name]
        first = ", ".join(str(r.properties["feature_id"]) for r in found[:5])
        table.add_row(name, found[0].properties["title"], str(count), first)
    if counts:
        console.print(table)
    console.print(f"{len(rows)} contradictions found in {area.label()}", highlight=False)
    if out_file:
        body = [{"id": r.id, **r.properties} for r in rows]
        _write((json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode(), out_file)
    if rows:
        raise typer.Exit(1)


@app.command("analyse")
@friendly
def analyse(
    name: Annotated[str, typer.Argument(help="The analysis (see: onemap analyses).")],
    district: AreaDistrict = None, street: AreaStreet = None, estate: AreaEstate = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="name=value for the analysis (repeat).")] = None,
    format: Annotated[str, typer.Option(help="json, geojson or csv.")] = "json",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="File to write.")] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="elevator_screening: record candidate / not-feasible stages.")] = False,
) -> None:  # fmt: skip
    """Run an analysis for the city or an area and print (or write) its result."""
    analysis = get_analysis(name)
    if apply and name != "elevator_screening":
        raise InvalidInput("--apply is for elevator_screening")
    if format not in ("json", "geojson", "csv"):
        raise InvalidInput("--format: use json, geojson or csv")
    raw = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--param {item!r}: use name=value")
        raw[key.strip()] = value.strip()
    area = Area(district, street, estate)
    params = analysis.parse_params(raw)
    if apply:
        counts = with_connection(lambda conn: apply_screening(conn, area, params, "cli"))
        console.print(json.dumps(counts), highlight=False)
        return
    page = page_of(with_connection(lambda conn: analysis.run(conn, area, params)), params)
    if format == "csv":
        data = _csv([{"id": r.id, **r.properties} for r in page.rows])
    else:
        body = as_geojson(analysis, page, params) if format == "geojson" else as_json(
            analysis, area, params, page)  # fmt: skip
        data = dumps(body, indent=True) + b"\n"
    _write(data, out_file)
    shown = paging(page, params)
    if shown["truncated"]:  # never a silent cut: say what is left and how to get it
        following = params["offset"] + params["limit"]
        stderr.print(f"rows {params['offset'] + 1}–{params['offset'] + len(page.rows)} of "
                      f"{page.total:,}, {analysis.order[1]}; the next: --param "
                      f"offset={following} (or raise --param limit=, at most 10000)",
                      highlight=False)  # fmt: skip


def _csv(rows: list[dict[str, Any]]) -> bytes:
    """The rows as a CSV for Excel or WPS: a BOM for the Chinese text, no cell a formula."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_safe(json.dumps(v, ensure_ascii=False)
                                                 if isinstance(v, dict | list) else v)
                             for k, v in row.items()})  # fmt: skip
    return ("\ufeff" + buffer.getvalue()).encode()


@app.command("dossier")
@friendly
def estate_dossier(
    estate: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The estate id.")],
    html: Annotated[bool, typer.Option("--html", help="A printable HTML page.")] = False,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="File to write; a .pdf file gets the A4 PDF.")] = None,
) -> None:  # fmt: skip
    """Everything about one estate, as JSON, a printable page or a PDF."""
    d = with_connection(lambda conn: dossier(conn, estate, Visibility.PRIVATE))
    if out_file is not None and out_file.suffix.lower() == ".pdf":
        _write(dossier_pdf(d), out_file)
        return
    text = dossier_html(d) if html else json.dumps(d, ensure_ascii=False, default=str, indent=1)
    _write((text + "\n").encode(), out_file)


@app.command("ledger")
@friendly
def street_ledger(
    district: AreaDistrict = None, street: AreaStreet = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", "-o", help="An .xlsx file; without it, JSON on stdout.")] = None,
) -> None:  # fmt: skip
    """The ledger: per street of a district, or per district for the city."""
    rows = with_connection(lambda conn: ledger(conn, district, street, private=True))
    if out_file is not None and out_file.suffix.lower() == ".xlsx":
        _write(ledger_xlsx(rows, district, street), out_file)
        return
    _write((json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode(), out_file)
