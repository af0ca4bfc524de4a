"""HTML views of the OGC API resources: landing page, collections, a collection, items, an item.

Rendered on the server from the same JSON documents the API answers (so they never say more
than the JSON does), with the registry's bilingual labels and vocabulary terms, paging links,
and for features a small Leaflet map drawn from the page's own GeoJSON. Nothing is loaded
from outside the app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from layers import REGISTRY, Field, Layer, Visibility
from layers.city import CITY
from viewer import assets

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, trim_blocks=True, lstrip_blocks=True,
)  # fmt: skip


def _page(template: str, **context: Any) -> str:
    """``template`` (in viewer/templates) rendered; ``map`` is the GeoJSON a page draws."""
    context = {"prefix": assets.PREFIX, "map": None, "centre": (CITY.latitude, CITY.longitude),
               **context}  # fmt: skip
    return _ENV.get_template(template).render(**context)


HOME = ("/", "OneMap")
COLLECTIONS = ("/collections", "图层 Collections")
JSON_ALTERNATE = ("application/json", "JSON")
GEOJSON_ALTERNATE = ("application/geo+json", "GeoJSON")


def landing_html(doc: dict[str, Any], href: str) -> str:
    return _page("landing.html", title="OneMap", doc=doc, crumbs=[(None, "OneMap")],
                 alternate=(href, *JSON_ALTERNATE))  # fmt: skip


def collections_html(doc: dict[str, Any], href: str) -> str:
    return _page("collections.html", title=COLLECTIONS[1], doc=doc,
                 crumbs=[HOME, (None, COLLECTIONS[1])],
                 alternate=(href, *JSON_ALTERNATE))  # fmt: skip


def collection_html(doc: dict[str, Any], layer: Layer, level: Visibility, href: str) -> str:
    return _page("collection.html", title=doc["title"], doc=doc,
                 fields=layer.visible_fields(level),
                 crumbs=[HOME, COLLECTIONS, (None, layer.title_zh)],
                 alternate=(href, *JSON_ALTERNATE))  # fmt: skip


def _shown(f: Field, value: Any) -> str:
    """A value in words: a vocabulary term's label, 是/否, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if f.vocabulary is not None:
        term = next((t for t in f.vocabulary.terms if t.code == value), None)
        if term is not None:
            return f"{term.zh} {term.en}"
    if isinstance(value, list):
        return ", ".join(_shown(f, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _href(f: Field, value: Any, level: Visibility) -> str | None:
    """The HTML view of the feature a reference points at, when the caller may see it."""
    if value is None or not (f.references or "").endswith(".id"):
        return None
    target = REGISTRY.get((f.references or "").split(".")[0])
    if target is None or target.visibility > level:
        return None
    return f"/collections/{target.name}/items/{value}?f=html"


def items_html(fc: dict[str, Any], layer: Layer, level: Visibility, href: str) -> str:
    fields = [f for f in layer.visible_fields(level)
              if any(f.name in (x.get("properties") or {}) for x in fc["features"])]  # fmt: skip
    rows = [
        (x.get("id"), [(_shown(f, value), _href(f, value, level))
                       for f in fields for value in [(x.get("properties") or {}).get(f.name)]])
        for x in fc["features"]
    ]  # fmt: skip
    paging = [(link["rel"], link["href"]) for link in fc.get("links", [])
              if link["rel"] in ("prev", "next")]  # fmt: skip
    spatial = layer.is_spatial and any(x.get("geometry") for x in fc["features"])
    return _page("items.html", title=f"{layer.title_zh} {layer.title_en}", fc=fc,
                 fields=fields, rows=rows, layer=layer, paging=paging,
                 map=_map_data(fc["features"]) if spatial else None,
                 crumbs=[HOME, COLLECTIONS, (f"/collections/{layer.name}", layer.title_zh),
                         (None, "要素 Items")],
                 alternate=(href, *GEOJSON_ALTERNATE))  # fmt: skip


def item_html(feature: dict[str, Any], layer: Layer, level: Visibility, href: str) -> str:
    props = feature.get("properties") or {}
    rows = [(f, _shown(f, props.get(f.name)), _href(f, props.get(f.name), level))
            for f in layer.visible_fields(level) if f.name in props]  # fmt: skip
    spatial = feature.get("geometry") is not None
    fid = str(feature.get("id"))
    return _page("item.html", title=f"{layer.title_zh} {fid}", rows=rows,
                 map=_map_data([feature]) if spatial else None,
                 crumbs=[HOME, COLLECTIONS, (f"/collections/{layer.name}", layer.title_zh),
                         (f"/collections/{layer.name}/items", "要素 Items"), (None, fid)],
                 alternate=(href, *GEOJSON_ALTERNATE))  # fmt: skip


def _map_data(features: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometries only: the page's table already shows the properties."""
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": x.get("geometry"), "properties": {}}
                         for x in features if x.get("geometry")]}  # fmt: skip
