"""The OpenAPI document as each caller sees it: a path per layer, its queryables as parameters.

GDAL's OAPIF driver (and QGIS through it) pushes an attribute filter to the server only for
the properties it finds as query parameters of ``/collections/{name}/items`` in the API
document; with the generic ``{collectionId}`` path alone it filters on the client, after
downloading every feature. The document is built per access level, so it names no layer
and no field the caller may not see.
"""

from __future__ import annotations

from typing import Any

from layers import REGISTRY, Field, FieldType, Layer, Visibility
from spatial.features import field_json_schema

ITEMS = "/collections/{collectionId}/items"
# Fields a ``name=value`` parameter cannot compare (api.querying refuses them).
NOT_COMPARABLE = (FieldType.JSON, FieldType.TEXT_ARRAY)


def queryable_fields(layer: Layer, level: Visibility) -> list[Field]:
    """The fields ``name=value`` filters on, for a caller at ``level``."""
    return [f for f in layer.visible_fields(level) if f.type not in NOT_COMPARABLE]


def _items_operation(generic: dict[str, Any], layer: Layer, level: Visibility) -> dict[str, Any]:
    parameters = [p for p in generic.get("parameters", []) if p.get("in") != "path"]
    parameters += [
        {"name": f.name, "in": "query", "required": False, "style": "form", "explode": False,
         "description": f"{f.label_zh} {f.label_en}: features whose value equals this",
         "schema": {k: v for k, v in field_json_schema(f).items()
                    if k not in ("title", "description")}}
        for f in queryable_fields(layer, level)
    ]  # fmt: skip
    return {
        **generic,
        "operationId": f"getItems_{layer.name}",
        "summary": f"{layer.title_zh} {layer.title_en}: features",
        "parameters": parameters,
    }


def for_level(base: dict[str, Any], level: Visibility) -> dict[str, Any]:
    """``base`` with a ``/collections/{name}/items`` path per layer the caller sees.

    ``base`` (the app's cached document) is not changed.
    """
    generic = base.get("paths", {}).get(ITEMS, {}).get("get")
    if generic is None:
        return base
    paths = dict(base["paths"])
    for layer in REGISTRY.values():
        if layer.visibility <= level:
            paths[f"/collections/{layer.name}/items"] = {
                "get": _items_operation(generic, layer, level)
            }
    return {**base, "paths": paths}
