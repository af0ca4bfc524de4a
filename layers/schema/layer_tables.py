"""Each layer's table, built from its definition in the registry, and the layer versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql as pg

from layers.model import (
    STORAGE_SRID,
    WEB_MERCATOR_COLUMN,
    Field,
    FieldType,
    Layer,
    band_column,
    tile_unit_m,
)
from layers.registry import REGISTRY
from layers.schema.metadata import metadata

_SQL_TYPES: dict[FieldType, sa.types.TypeEngine[Any]] = {
    FieldType.TEXT: sa.Text(),
    FieldType.INTEGER: sa.Integer(),
    FieldType.BIGINT: sa.BigInteger(),
    FieldType.FLOAT: sa.Float(),
    FieldType.BOOLEAN: sa.Boolean(),
    FieldType.DATE: sa.Date(),
    FieldType.DATETIME: sa.DateTime(timezone=True),
    FieldType.JSON: pg.JSONB(),
    FieldType.TEXT_ARRAY: pg.ARRAY(sa.Text()),
}


def _quoted(codes: tuple[str, ...]) -> str:
    return ", ".join("'" + c.replace("'", "''") + "'" for c in codes)


def _column(f: Field) -> sa.Column[Any]:
    args: list[Any] = [f.name, _SQL_TYPES[f.type]]
    if f.references:
        table, column = f.references.split(".")
        args.append(sa.ForeignKey(f"{table}.{column}", ondelete="RESTRICT"))
    return sa.Column(
        *args,
        nullable=not f.required,
        unique=f.unique or None,
        index=(f.index or bool(f.references)) and not f.unique or None,
        comment=f"{f.label_zh} / {f.label_en}",
    )


def _checks(f: Field) -> Iterator[sa.CheckConstraint]:
    if f.vocabulary is not None:
        codes = _quoted(f.vocabulary.codes)
        if f.type is FieldType.TEXT_ARRAY:
            rule = f"{f.name} <@ ARRAY[{codes}]::text[]"
        else:
            rule = f"{f.name} IN ({codes})"
        yield sa.CheckConstraint(rule, name=f"{f.name}_vocab")
    if f.minimum is not None:
        yield sa.CheckConstraint(f"{f.name} >= {f.minimum!r}", name=f"{f.name}_min")
    if f.maximum is not None:
        yield sa.CheckConstraint(f"{f.name} <= {f.maximum!r}", name=f"{f.name}_max")


def band_expression(band: int) -> str:
    """What a ``tile_bands`` column holds: the outline simplified to a tile unit at ``band``."""
    return f"ST_Simplify(ST_Transform(geom, 3857), {tile_unit_m(band)!r}, true)"


def table_of(layer: Layer) -> sa.Table:
    """The SQLAlchemy table of a layer (registered in ``metadata``)."""
    columns: list[Any] = [sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True)]
    columns += [_column(f) for f in layer.fields]
    if layer.geometry_type is not None:
        columns.append(
            sa.Column(
                "geom",
                Geometry(layer.geometry_type.value, srid=STORAGE_SRID, spatial_index=True),
                nullable=False,
            )
        )
    if layer.stores_web_mercator and layer.geometry_type is not None:
        columns.append(
            sa.Column(
                WEB_MERCATOR_COLUMN,
                Geometry(layer.geometry_type.value, srid=3857, spatial_index=False),
                sa.Computed("ST_Transform(geom, 3857)", persisted=True),
                comment="Web Mercator copy for tiles / 瓦片用投影副本",
            )
        )
    for band in layer.tile_bands:
        assert layer.geometry_type is not None  # checked by Layer
        columns.append(
            sa.Column(
                band_column(band),
                Geometry(layer.geometry_type.value, srid=3857, spatial_index=False),
                sa.Computed(band_expression(band), persisted=True),
                comment=f"Outline simplified for tiles up to z{band} / 瓦片用简化轮廓",
            )
        )
    columns.append(
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        )
    )
    checks = [c for f in layer.fields for c in _checks(f)]
    return sa.Table(
        layer.name, metadata, *columns, *checks,
        comment=f"{layer.title_zh} / {layer.title_en}",
    )  # fmt: skip


# System table: a version per layer, bumped by a statement trigger on every write (tile ETags).
LAYER_VERSIONS = sa.Table(
    "layer_versions",
    metadata,
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
    sa.Column(
        "changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    comment="图层版本 / Layer versions",
)


TABLES: dict[str, sa.Table] = {name: table_of(layer) for name, layer in REGISTRY.items()}
