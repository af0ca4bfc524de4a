"""The layer registry: the single source of truth for what every layer of OneMap is."""

from layers import accounts, holidays, jobs, search, served_city  # their tables: the same metadata
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
from layers.registry import REGISTRY, TABLES, get_layer, metadata

__all__ = [
    "DISTRICT_FIELD",
    "accounts",
    "holidays",
    "jobs",
    "search",
    "served_city",
    "INTEGER_RANGES",
    "MAX_ID",
    "REGISTRY",
    "STORAGE_SRID",
    "TABLES",
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
    "metadata",
    "tile_unit_m",
]
