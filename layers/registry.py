"""The registry: every layer by name (their SQLAlchemy tables are in ``layers.schema``)."""

from __future__ import annotations

from layers.definitions import LAYERS
from layers.model import Layer

REGISTRY: dict[str, Layer] = {layer.name: layer for layer in LAYERS}


def get_layer(name: str) -> Layer:
    """Return the layer called ``name``; raise ``KeyError`` naming the known layers otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; known: {', '.join(REGISTRY)}") from None
