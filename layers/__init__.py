"""The layer registry: the single source of truth for what every layer of OneMap is."""

from layers import accounts, holidays, jobs, search, served_city  # their tables: the same metadata
from layers.model import (
    INTEGER_RANGES,
    MAX_ID,
    STORAGE_SRID,
    WEB_MERCATOR_COLUMN,
    Field,
    FieldType,
    GeometryType,
    Layer,
    Role,
    Visibility,
)
from layers.registry import REGISTRY, TABLES, get_layer, metadata

__all__ = [
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
    "WEB_MERCATOR_COLUMN",
    "Field",
    "FieldType",
    "GeometryType",
    "Layer",
    "Role",
    "Visibility",
    "get_layer",
    "metadata",
]
