"""The registry as README's layer table (``onemap layers --markdown``; a test keeps it true)."""

from __future__ import annotations

from layers.model import Layer
from layers.registry import REGISTRY

START = "<!-- the layer table: `onemap layers --markdown` writes it from the registry -->"
END = "<!-- end of the layer table -->"


def _visibility(layer: Layer) -> str:
    above = sorted({f.visibility for f in layer.fields if f.visibility > layer.visibility})
    text = layer.visibility.name.lower()
    if above:
        text += f" (some fields {'/'.join(v.name.lower() for v in above)})"
    return text


def layer_table() -> str:
    """The Markdown table of every layer, between the markers README keeps it in."""
    rows = [
        f"| `{la.name}` {la.title_zh} | {la.geometry_type.value if la.geometry_type else '—'} "
        f"| {_visibility(la)} | {la.description} |"
        for la in REGISTRY.values()
    ]
    return "\n".join(
        [START, "| layer | geometry | visibility | what |", "|---|---|---|---|", *rows, END]
    )
