"""Write a generated sample into the layer tables, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg.types.json import Jsonb

from data_samples.copies import Part
from data_samples.generator import City
from layers import REGISTRY, STORAGE_SRID, FieldType
from spatial import bulk, catalog

Progress = Callable[[str, int, int], None]  # (layer, rows just written, rows in layer)


def _column_values(series: pd.Series, field_type: FieldType | None) -> list[object]:
    if field_type is None:  # the geometry
        geoms = shapely.set_srid(np.asarray(series.to_numpy()), STORAGE_SRID)
        return list(shapely.to_wkb(geoms, hex=True, include_srid=True))
    values = series.astype(object)
    values = values.where(values.notna(), None).tolist()
    if field_type is FieldType.JSON:
        return [None if v is None else Jsonb(v) for v in values]
    if field_type in (FieldType.INTEGER, FieldType.BIGINT):
        return [None if v is None else int(v) for v in values]
    if field_type is FieldType.BOOLEAN:
        return [None if v is None else bool(v) for v in values]
    if field_type is FieldType.TEXT_ARRAY:
        return [None if v is None else [str(x) for x in v] for v in values]
    return values


def _rows(name: str, table: pd.DataFrame) -> tuple[list[str], list[tuple[object, ...]]]:
    layer = REGISTRY[name]
    columns = ["id"] + [f.name for f in layer.fields if f.name in table.columns]
    data = [_column_values(table["id"], FieldType.BIGINT)]
    data += [_column_values(table[c], layer.fields_by_name[c].type) for c in columns[1:]]
    if layer.is_spatial:
        columns.append("geom")
        data.append(_column_values(table["geometry"], None))
    return columns, list(zip(*data, strict=True))


def load_city(
    url: str, city: City, *, replace: bool = False, on_progress: Progress | None = None
) -> dict[str, int]:
    """Load ``city`` into the database at ``url``; refuse a non-empty one unless ``replace``."""
    return load_parts(url, [Part(0, 1, city)], replace=replace, on_progress=on_progress)


def load_parts(
    url: str, parts: Iterable[Part], *, replace: bool = False, on_progress: Progress | None = None
) -> dict[str, int]:
    """Load a sample part by part, in one transaction: all of it or nothing.

    Secondary indexes are dropped first and built once at the end, over every part. Progress
    is by layer for one part, by part for several (a part's rows are known when it arrives).
    """
    counts = dict.fromkeys(REGISTRY, 0)
    with psycopg.connect(url, autocommit=False) as conn:
        if replace:
            bulk.truncate(conn, list(REGISTRY))
        elif not catalog.layers_empty(conn, list(REGISTRY)):
            raise ValueError(
                "the database already holds data; use --replace to load the samples over it"
            )
        indexes = [d for name in REGISTRY for d in bulk.drop_secondary_indexes(conn, name)]
        for part in parts:
            names = [name for name in REGISTRY if name in part.tables]
            part_rows = sum(len(part.tables[name]) for name in names)
            for name in names:
                columns, rows = _rows(name, part.tables[name])  # one layer encoded at a time
                stage, total = (name, len(rows)) if part.count == 1 else (
                    f"part {part.index + 1}/{part.count}", part_rows)  # fmt: skip

                def report(n: int, stage: str = stage, total: int = total) -> None:
                    if on_progress:
                        on_progress(stage, n, total)

                counts[name] += bulk.copy_rows(conn, name, columns, rows, report)
        bulk.recreate_indexes(conn, indexes)
        for name in REGISTRY:
            bulk.reset_identity(conn, name)
        conn.commit()
        conn.autocommit = True
        # The search index too, which the triggers filled: a search chooses how to rank from
        # its statistics (spatial.search.COMMON_MATCHES).
        bulk.analyze(conn, [*REGISTRY, "search_entries"])
    return {name: n for name, n in counts.items() if n}
