"""A MapLibre style per page, from the registry.

The page's layers as OneMap's TileJSON sources, coloured by each layer's default theme (its
vocabulary's colours), drawn in the page's order.

The same look as the Folium pages (``onemap.js``) for any MapLibre client, on any origin
(tiles, TileJSON and styles answer ``Access-Control-Allow-Origin: *``). No labels: a style
with text needs glyph files, which OneMap does not serve.
"""

from __future__ import annotations

from typing import Any

from layers import Layer, Visibility, get_layer
from spatial.tiles import CLUSTER_COUNT
from viewer.pages import (
    ELEVATOR_LAYERS,
    ELEVATOR_TITLE,
    ONE_MAP_TITLE,
    PAGES,
    basemap_layers,
    one_map_layers,
)

NEUTRAL = "#b8b8b8"  # a value outside the vocabulary, as onemap.js draws it
# The basemap's look (onemap.js draws it the same way): areas, their outlines, roads.
BASEMAP_PAINT: dict[str, list[dict[str, Any]]] = {
    "districts": [
        {"type": "fill", "paint": {"fill-color": "#f4f1ea", "fill-opacity": 0.25}},
        {"type": "line", "paint": {"line-color": "#6b6b6b", "line-width": 2, "line-opacity": 0.9}},
    ],
    "streets": [
        {"type": "line", "paint": {"line-color": "#999999", "line-width": 0.7,
                                   "line-dasharray": [3, 3]}},
    ],
    "roads": [
        {"type": "line", "paint": {"line-color": "#d9c59f", "line-opacity": 0.9,
                                   "line-width": ["match", ["get", "road_class"],
                                                  "arterial", 3, "secondary", 2, 1]}},
    ],
}  # fmt: skip


def page_layers(page: str, level: Visibility) -> list[Layer]:
    """The thematic layers of ``page`` a caller at ``level`` sees, in drawing order."""
    if page not in PAGES:
        raise ValueError(f"page: use one of {', '.join(PAGES)}")
    if page == "elevator-map":
        return [get_layer(name) for name in ELEVATOR_LAYERS]
    return one_map_layers(level)


def theme_colour(layer: Layer, level: Visibility) -> str | list[Any]:
    """A ``match`` expression on the layer's default theme, or one colour without a theme."""
    visible = {f.name: f for f in layer.visible_fields(level)}
    theme = next((visible[n] for n in layer.themes if n in visible), None)
    if theme is None or theme.vocabulary is None:
        return "#4e79a7"
    pairs: list[Any] = [value for t in theme.vocabulary.terms for value in (t.code, t.color)]
    return ["match", ["coalesce", ["get", theme.name], ""], *pairs, NEUTRAL]


# A cluster's circle is grey (its points may be of several kinds) and grows with the points
# it holds (``cluster_count``), as on the pages.
CLUSTER_COLOUR = "#4a5868"
_POINTS = ["coalesce", ["get", CLUSTER_COUNT], 1]  # a point that is no cluster is one
_CLUSTER_GROWTH = ["min", 6, ["*", 1.2, ["log2", _POINTS]]]


def _thematic(layer: Layer, level: Visibility) -> list[dict[str, Any]]:
    colour = theme_colour(layer, level)
    dimension = layer.geometry_type.dimension if layer.geometry_type else 2
    if dimension == 0:
        several = [">", _POINTS, 1]
        return [{"type": "circle", "paint": {
            "circle-color": ["case", several, CLUSTER_COLOUR, colour],
            "circle-stroke-color": ["case", several, "#ffffff", "#222222"],
            "circle-stroke-width": 1,
            "circle-radius": ["interpolate", ["linear"], ["zoom"],
                              8, ["+", 2.5, _CLUSTER_GROWTH], 11, ["+", 4, _CLUSTER_GROWTH],
                              14, ["+", 6, _CLUSTER_GROWTH]],
        }}]  # fmt: skip
    if dimension == 1:
        return [{"type": "line", "paint": {"line-color": colour, "line-width": 2}}]
    opacity = 0.45 if layer.name == "estates" else 0.7
    return [
        {"type": "fill", "paint": {"fill-color": colour, "fill-opacity": opacity}},
        {"type": "line", "paint": {"line-color": "#555555", "line-width": 1, "line-opacity": 0.7}},
    ]


def page_style(page: str, level: Visibility, base: str) -> dict[str, Any]:
    """The MapLibre style (spec version 8) of ``page`` for a caller at ``level``.

    ``base`` is the app's absolute URL: a style is read from other origins.
    """
    if page == "elevator-map":  # the public map is public whoever asks (as its page is)
        level = Visibility.PUBLIC
    thematic = page_layers(page, level)
    drawn = [(get_layer(n), BASEMAP_PAINT.get(n, [])) for n in basemap_layers()]
    drawn += [(layer, _thematic(layer, level)) for layer in thematic]
    sources = {
        layer.name: {
            "type": "vector",
            "url": f"{base}/collections/{layer.name}/tiles/WebMercatorQuad/tilejson.json",
        }
        for layer, _ in drawn
    }
    layers: list[dict[str, Any]] = [
        {"id": "background", "type": "background", "paint": {"background-color": "#eeeeee"}}
    ]
    for layer, paints in drawn:
        for i, paint in enumerate(paints):
            layers.append({
                "id": f"{layer.name}-{paint['type']}" + (f"-{i}" if i > 1 else ""),
                "type": paint["type"], "source": layer.name, "source-layer": layer.name,
                "minzoom": layer.min_zoom, "paint": paint["paint"],
                "metadata": {"onemap:title": [layer.title_zh, layer.title_en]},
            })  # fmt: skip
    title = ELEVATOR_TITLE if page == "elevator-map" else ONE_MAP_TITLE
    return {"version": 8, "name": title, "sources": sources, "layers": layers}
