"""The layer registry: the single source of truth for what every layer of OneMap is.

Its tables, as SQLAlchemy declares them for the migrations, are in ``layers.schema``.
"""

from layers.model import (
    DISTRICT_FIELD,
    INTEGER_RANGES,
    MAX_ID,
    STORAGE_SRID,
    TILE_EXTENT,
    WEB_MERCATOR_COLUMN,
    WEB_MERCATOR_HALF,
    Field,
    FieldType,
    GeometryType,
    Layer,
    Role,
    Visibility,
    band_column,
    tile_unit_m,
)
from layers.registry import REGISTRY, get_layer

__all__ = [
    "DISTRICT_FIELD",
    "INTEGER_RANGES",
    "MAX_ID",
    "REGISTRY",
    "STORAGE_SRID",
    "TILE_EXTENT",
    "WEB_MERCATOR_COLUMN",
    "WEB_MERCATOR_HALF",
    "Field",
    "FieldType",
    "GeometryType",
    "Layer",
    "Role",
    "Visibility",
    "band_column",
    "get_layer",
    "tile_unit_m",
]
