"""The layer registry: the single source of truth for what every layer of OneMap is."""

from layers.model import STORAGE_SRID, Field, FieldType, GeometryType, Layer, Visibility
from layers.registry import REGISTRY, TABLES, get_layer, metadata

__all__ = [
    "REGISTRY",
    "STORAGE_SRID",
    "TABLES",
    "Field",
    "FieldType",
    "GeometryType",
    "Layer",
    "Visibility",
    "get_layer",
    "metadata",
]
