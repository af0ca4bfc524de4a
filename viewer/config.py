"""What the browser needs to know about layers, derived from the registry in one place.

Titles, thematic colours and labels, popup fields, zoom range, and the district filter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from layers import DISTRICT_FIELD, REGISTRY, FieldType, Layer, Visibility
from layers.vocabulary import MATERIAL_DESIGN_LIFE

DOSSIER_LAYER = "estates"  # /estates/{id}/dossier: one estate's ledger page


def layer_config(layer: Layer, level: Visibility) -> dict[str, Any]:
    visible = {f.name: f for f in layer.visible_fields(level)}
    themes = {}
    for name in layer.themes:
        f = visible.get(name)
        if f is None or f.vocabulary is None:
            continue
        themes[name] = {
            "label": [f.label_zh, f.label_en],
            "terms": f.vocabulary.for_pages(),
        }
    return {
        "name": layer.name,
        "title": [layer.title_zh, layer.title_en],
        "dimension": layer.geometry_type.dimension if layer.geometry_type else None,
        "themes": themes,
        "theme": next(iter(themes), None),
        "keys": [
            [n, visible[n].label_zh, visible[n].label_en] for n in layer.key_fields if n in visible
        ],  # fmt: skip
        "district": DISTRICT_FIELD in visible,
        # Its dates, in the registry's order (requested, approved, started, in service), and
        # the records whose dates are this feature's history (see Layer.history_of).
        "dates": [
            [f.name, f.label_zh, f.label_en] for f in visible.values() if f.type is FieldType.DATE
        ],
        # What names the feature's estate, for the planners' link to its dossier.
        "estate": "id"
        if layer.name == DOSSIER_LAYER
        else next(
            (f.name for f in visible.values() if f.references == f"{DOSSIER_LAYER}.id"), None
        ),
        "records": [
            {"layer": other.name, "field": other.history_of}
            for other in REGISTRY.values()
            if other.history_of
            and other.visibility <= level
            and other.fields_by_name[other.history_of].visibility <= level
            and other.fields_by_name[other.history_of].references == f"{layer.name}.id"
        ],
        "minZoom": layer.min_zoom,
        # Below it the layer's tiles hold clusters (``cluster_count``): a click zooms in.
        "clusterBelow": layer.cluster_below,
        # Key fields that point at a feature the caller may see: popups show its name, not its id.
        "refs": {
            n: visible[n].references.split(".")[0]  # type: ignore[union-attr]
            for n in layer.key_fields
            if n in visible and _readable_reference(visible[n].references, level)
        },
    }


def _readable_reference(references: str | None, level: Visibility) -> bool:
    if not references or not references.endswith(".id"):
        return False
    target = REGISTRY.get(references.split(".")[0])
    return target is not None and target.is_spatial and target.visibility <= level


def page_config(
    layers: list[Layer],
    level: Visibility,
    *,
    api_base: str,
    districts: list[dict[str, Any]],
    tile_urls: dict[str, str],
    today: dt.date | None = None,
) -> dict[str, Any]:
    """The ``OneMap.configure`` argument of a page."""
    return {
        "api": api_base,
        # Planners (who see internal data) are offered each estate's dossier from its popups.
        "dossier": f"{api_base}/estates/{{id}}/dossier?f=html"
        if level >= Visibility.INTERNAL
        else None,
        "layers": {layer.name: layer_config(layer, level) for layer in layers},
        "tiles": tile_urls,
        "districts": districts,
        "designLife": MATERIAL_DESIGN_LIFE,
        "year": (today or dt.date.today()).year,
    }
