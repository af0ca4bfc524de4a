"""One ingest, start to end: read, place (CRS), match columns, validate, stage, merge."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely

from ingest import coords, load, mapping, suggest
from ingest.read import Limits, read_source
from ingest.report import Report
from layers import Layer, Visibility, get_layer
from layers.errors import InvalidInput
from spatial import crs as crs_mod
from spatial.validate import CITY_EXTENT_SQL, Extent, Problem, Validated, city_extent, validate

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Options:
    layer: str
    mode: str = "append"
    key: str | None = None
    crs: str | None = None
    mapping: mapping.Mapping = field(default_factory=mapping.Mapping)
    suggest: bool = False  # add a draft mapping to the report (ingest.suggest)
    encoding: str | None = None
    source_layer: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    make_valid: bool = False
    actor: str = "cli"
    level: Visibility = Visibility.PRIVATE  # the writer's: the CLI runs as the operator
    limits: Limits = Limits()


PREVIEW_FEATURES = 200


def preview(geoms: np.ndarray, most: int = PREVIEW_FEATURES) -> dict[str, Any]:
    """The first geometries as they would be stored, for a dry run's map (row numbers kept)."""
    first = shapely.transform(geoms[:most], lambda c: np.round(c, 7))  # ~1 cm, no topology
    features = [
        {"type": "Feature", "properties": {"row": n + 1},
         "geometry": json.loads(shapely.to_geojson(g))}
        for n, g in enumerate(first) if g is not None and not shapely.is_empty(g)
    ]  # fmt: skip
    return {"type": "FeatureCollection", "features": features}


def _city_extent(conn: psycopg.Connection) -> Extent | None:
    return city_extent(conn.execute(CITY_EXTENT_SQL).fetchone())


def check_options(options: Options) -> Layer:
    """The target layer, once every option is one OneMap can use (before any file is read)."""
    try:
        layer = get_layer(options.layer)
    except KeyError as exc:
        raise InvalidInput(exc.args[0]) from None
    load.check_mode(layer, options.mode, options.key)
    coords.check_crs_name(options.crs)
    mapping.check_mapping(options.mapping, layer, options.level)
    if options.encoding:
        try:
            codecs.lookup(options.encoding)
        except LookupError:
            raise InvalidInput(
                f"encoding {options.encoding[:40]!r} is not one Python knows"
            ) from None
    return layer


def run(url: str, path: Path, options: Options, progress: Progress | None = None,
        label: str | None = None) -> Report:  # fmt: skip
    """Ingest ``path`` into ``options.layer``; the report says what happened.

    Bad input never half-loads: problems reject the whole file unless ``skip_invalid``.
    """
    layer = check_options(options)
    report = Report(file=label or path.name, layer=layer.name, mode=options.mode,
                    dry_run=options.dry_run)  # fmt: skip
    source = read_source(path, source_layer=options.source_layer, encoding=options.encoding,
                         limits=options.limits)  # fmt: skip
    report.format, report.encoding = source.format, source.encoding
    report.notes += source.notes
    frame = source.frame
    report.rows_read = len(frame)
    if not len(frame):
        report.problems.append(Problem(None, None, "the file has no features"))
        return report
    geoms = None
    passthrough = None
    if isinstance(frame, pd.DataFrame) and hasattr(frame, "geometry") and "geometry" in frame:
        geoms = np.asarray(frame.geometry.values, dtype=object)
        frame = pd.DataFrame(frame.drop(columns="geometry"))
    if options.suggest:
        report.suggested_mapping = suggest.draft(frame, layer, options.mapping, options.level,
                                                 file=report.file)  # fmt: skip
    if layer.is_spatial:
        if geoms is None:
            report.problems.append(Problem(None, "geometry", "the file has no geometry (for "
                                           "CSV/XLSX: lon/lat, x/y or WKT columns)"))  # fmt: skip
            return report
        report.crs, web = coords.resolve(source.crs, options.crs, geoms, report.notes)
        stored = crs_mod.to_storage(geoms, report.crs, web)
        passthrough = source.wkb if stored is geoms else None  # no reprojection happened
        geoms = stored
        if shapely.has_z(geoms[~shapely.is_missing(geoms)]).any():  # layers are 2D
            geoms, passthrough = shapely.force_2d(geoms), None
            report.notes.append("heights (Z) dropped: the layers are 2D")
        if options.dry_run:
            report.preview = preview(geoms)
    try:
        matched, report.unknown_columns = mapping.match_columns(
            [str(c) for c in frame.columns], layer, options.mapping, options.level
        )
    except InvalidInput as exc:
        if not options.suggest:
            raise
        report.problems.append(Problem(None, None, str(exc)))  # the draft is the answer
        return report
    report.columns = matched
    renamed = pd.DataFrame(
        {target: frame[column] for column, target in matched.items()}, index=frame.index
    )
    report.mapping = mapping.apply_values(renamed, options.mapping, len(frame))
    for f in layer.fields:  # who wrote the rows: the importer, unless an admin brings a register
        if f.author and (f.name not in renamed or options.level < Visibility.PRIVATE):
            renamed[f.name] = options.actor
            report.notes.append(f"{f.name}: set to the importer, {options.actor}")
    # Autocommit: the write below is then a transaction of its own, not a savepoint inside
    # the read's, so the rows it adds carry its id (load.copy_direct finds them by xmin).
    with psycopg.connect(url, autocommit=True) as conn:
        extent = _city_extent(conn) if layer.is_spatial else None
        good, problems = validate(renamed, geoms, layer, make_valid=options.make_valid,
                                  extent=extent)  # fmt: skip
        report.problems += problems
        report.rows_valid = len(good)
        if passthrough is not None and geoms is not None and "geom" in good.columns:
            kept = zip(good.numbers, good.columns["geom"], strict=True)
            good.wkb = [passthrough[n - 1] if g is geoms[n - 1] else None for n, g in kept]
        if problems and not options.skip_invalid:
            return report
        _write(conn, layer, good, options, report, progress)
    return report


def _write(conn: psycopg.Connection, layer: Layer, good: Validated, options: Options,
           report: Report, progress: Progress | None) -> None:  # fmt: skip
    def staged(n: int) -> None:
        if progress:
            progress("load", n, len(good))

    note = f"ingest of {report.file}"
    try:
        with conn.transaction() as tx:
            if len(good) and load.can_copy_directly(layer, good, options.mode):
                # Nothing to check across tables: COPY straight in; the transaction keeps it atomic.
                report.inserted = load.copy_direct(conn, layer, good, options.actor, note,
                                                   staged)  # fmt: skip
                columns: list[str] = []
            else:
                columns = load.stage(conn, layer, good, staged) if len(good) else []
            references = load.reference_problems(conn, layer, columns) if columns else []
            report.problems += references
            if references and not options.skip_invalid:
                raise psycopg.Rollback(tx)
            if references:
                load.drop_rows(conn, {p.row for p in references if p.row is not None})
                report.rows_valid -= len({p.row for p in references})
            report.skipped = len({p.row for p in report.problems if p.row is not None})
            if columns:
                report.inserted, report.updated = load.merge(
                    conn, layer, columns, options.mode, options.key, options.actor, note
                )
            summary = {"file": report.file, "inserted": report.inserted,
                       "updated": report.updated, "skipped": report.skipped}  # fmt: skip
            load.record(conn, layer, options.actor, summary)
            if options.dry_run:
                raise psycopg.Rollback(tx)
            report.committed = True
    except psycopg.errors.IntegrityError as exc:
        detail = (exc.diag.message_detail or str(exc)).splitlines()[0]
        report.problems.append(Problem(None, None, f"rejected by the database: {detail}"))
        report.committed = False
