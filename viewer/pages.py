"""The Folium pages: the planners' one map (/map) and the public elevator map (/elevator-map).

Pages are built from the layer registry (via ``viewer.config``) and URLs handed in by the
caller; they never query the database. Big layers arrive as vector tiles (VectorGrid on the
app's MVT endpoints); ``viewer/static/onemap.js`` styles them from the registry's colours and
adds the legend, theme switch, district filter and popups.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
from branca.element import MacroElement, Template
from folium.elements import JSCSSMixin
from folium.plugins import VectorGridProtobuf

from layers import REGISTRY, Layer, Visibility, get_layer
from viewer import assets
from viewer.config import page_config


# Where each layer goes on the pages is the registry's (Layer.on_map, map_order, basemap),
# read when a page is built.
def basemap_layers() -> tuple[str, ...]:
    return tuple(la.name for la in REGISTRY.values() if la.is_spatial and la.basemap)


def one_map_order() -> tuple[str, ...]:
    """The one map's layers, in drawing order (ties in registry order: the sort is stable)."""
    placed = [la for la in REGISTRY.values() if la.is_spatial and la.on_map and not la.basemap]
    return tuple(la.name for la in sorted(placed, key=lambda la: la.map_order))


_FOLIUM_VIEWPORT = re.compile(
    r'<meta name="viewport" content="width=device-width,\s*'
    r'initial-scale=1\.0, maximum-scale=1\.0, user-scalable=no" />'
)
ONE_MAP_TITLE = "一张图 OneMap — 老旧小区改造 Old-estate renovation"
ELEVATOR_TITLE = "既有住宅加装电梯公示图 Elevators added to old buildings"
ELEVATOR_LAYERS = ("buildings", "elevator_retrofits")
PAGES = ("elevator-map", "map")


@dataclass(frozen=True)
class TileArchive:
    """A PMTiles file holding a page's layers (a static site): where, and each layer's zooms.

    Past a layer's deepest zoom the page over-zooms that layer's tiles.
    """

    url: str
    deepest: dict[str, int]
    # The page asks the archive through fetch() at these URLs (see onemap.js, archiveFetch).
    TILE_URL = "pmtiles:{z}/{x}/{y}"


@dataclass
class PageData:
    """What a page shows, gathered by the caller (the API or the static-site builder)."""

    level: Visibility
    districts: list[dict[str, Any]]  # code, name_zh, name_en, bbox
    city_bbox: tuple[float, float, float, float]
    versions: dict[str, int] = field(default_factory=dict)
    base: str = ""  # URL prefix of the app ("" = same origin)
    basemap_url: str | None = None
    counts: list[dict[str, Any]] = field(default_factory=list)  # elevator map side panel
    archive: TileArchive | None = None  # a static site's tiles, in place of the app's
    analyses: list[dict[str, Any]] = field(default_factory=list)  # overlays the caller may run
    analysis_area: dict[str, str] = field(default_factory=dict)  # e.g. a responsible planner's
    upload_url: str | None = None  # the upload page, for callers who may import files


class _OneMapScript(JSCSSMixin, MacroElement):
    """Loads onemap.js/css and hands it the page configuration, before any layer is made."""

    _template = Template(
        "{% macro script(this, kwargs) %}OneMap.configure({{ this.config }});{% endmacro %}"
    )

    def __init__(self, config: dict[str, Any], base: str, *, archive: bool = False) -> None:
        super().__init__()
        self._name = "OneMapScript"
        self.config = json.dumps(config, ensure_ascii=False)
        js = [_at(assets.PMTILES_JS, base)] if archive else []  # the archive's reader
        assets.localise(self, [*js, _at(assets.ONEMAP_JS, base)], [_at(assets.ONEMAP_CSS, base)])


class _OneMapControls(MacroElement):
    """Attaches legend, controls and popups once the map and its layers exist."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "OneMap.attach({{ this._parent.get_name() }}, { "
        "{% for name, layer in this.layers %}{{ name|tojson }}: {{ layer.get_name() }}, "
        "{% endfor %} }, {{ this.page|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, layers: list[tuple[str, Any]], page: str) -> None:
        super().__init__()
        self._name = "OneMapControls"
        self.layers = layers
        self.page = page


def _asset_base(data: PageData) -> str:
    """Where a page's web assets are: the app's ("") or beside a static site's page (".")."""
    return "." if data.archive is not None else ""


def _at(asset: tuple[str, str], base: str) -> tuple[str, str]:
    return asset[0], assets.with_base(asset[1], base)


def _tile_url(data: PageData, names: tuple[str, ...] | str) -> str:
    """A tile URL template that changes whenever one of its layers changes."""
    names = (names,) if isinstance(names, str) else names
    version = "-".join(str(data.versions.get(n, 0)) for n in names)
    if len(names) == 1:
        path = f"/collections/{names[0]}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?v={version}"
    else:
        path = f"/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?collections={','.join(names)}&v={version}"
    return data.base + path


def tile_urls(data: PageData, names: Sequence[str]) -> dict[str, str]:
    """The tile URL template of each layer of a page, and of its basemap ("basemap")."""
    urls = {name: _tile_url(data, name) for name in names}
    urls["basemap"] = _tile_url(data, basemap_layers())
    return urls


def one_map_layers(level: Visibility) -> list[Layer]:
    """The layers /map shows a caller of ``level``, in drawing order."""
    return [get_layer(n) for n in one_map_order() if get_layer(n).visibility <= level]


def search_layers(page: str) -> list[str] | None:
    """What a page's search box looks in (None: everything the caller may see).

    The elevator map: the places and buildings it draws, with the estates that name them.
    """
    if page != "elevator-map":
        return None
    drawn = set(ELEVATOR_LAYERS) | set(basemap_layers())
    parents = {get_layer(name).search_parent for name in drawn}
    return [la.name for la in REGISTRY.values() if la.search and (la.name in drawn | parents)]


def page_tile_urls(data: PageData, page: str) -> dict[str, str]:
    """The tile URL templates ``page`` ("elevator-map" or "map") asks, as it asks them."""
    if page not in PAGES:
        raise ValueError(f"page: use one of {', '.join(PAGES)}")
    names = ELEVATOR_LAYERS if page == "elevator-map" else [
        layer.name for layer in one_map_layers(data.level)
    ]  # fmt: skip
    return tile_urls(data, names)


def _vector_layer(data: PageData, name: str, title: str, show: bool = True) -> Any:
    """A VectorGrid layer on the tiles of ``name`` ("basemap": districts, streets, roads).

    The tiles are the app's, or a static site's archive. It asks no tile outside the city nor
    below the layer's first zoom (the server would answer 204 No Content to each): a zoomed-out
    desktop view asked 176 empty tiles of 288.
    """
    names = basemap_layers() if name == "basemap" else (name,)
    url, deepest = _tile_url(data, names), 22
    if data.archive is not None:
        url = TileArchive.TILE_URL
        deepest = min(data.archive.deepest[n] for n in names)
    west, south, east, north = data.city_bbox
    options = (
        json.dumps(
            {
                "interactive": True,
                "deepestZoom": deepest,  # past it, onemap.js draws the deepest tile again
                "minZoom": min(get_layer(n).min_zoom for n in names),
                "bounds": [[south, west], [north, east]],
                "fetchOptions": {"credentials": "same-origin"},
            }
        )[:-1]
        + f', "vectorTileLayerStyles": OneMap.styles({json.dumps(name)}), '
    )
    options += '"rendererFactory": L.svg.tile}'
    layer = VectorGridProtobuf(url, name=title, options=options, overlay=True, show=show)
    assets.localise(layer, [_at(assets.VECTORGRID_JS, _asset_base(data))], [])
    return layer


def _base_map(data: PageData, layers: list[Layer], page: str) -> folium.Map:
    west, south, east, north = data.city_bbox
    asset_base = _asset_base(data)
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_control=True)
    assets.localise(m, [_at(assets.LEAFLET_JS, asset_base)], [_at(assets.LEAFLET_CSS, asset_base)])
    if data.basemap_url:
        folium.TileLayer(data.basemap_url, name="底图 Basemap", attr="basemap").add_to(m)
    config = page_config(
        [get_layer(n) for n in basemap_layers()] + layers,
        data.level,
        api_base=data.base,
        districts=data.districts,
        tile_urls=tile_urls(data, [layer.name for layer in layers]),
    )
    config["page"] = page
    config["basemap"] = list(basemap_layers())
    config["archive"] = None
    if data.archive is not None:  # a static site: no API to ask or link features to
        config["api"] = None
        config["archive"] = {"url": data.archive.url, "layers": list(data.archive.deepest)}
    config["counts"] = data.counts
    config["analyses"] = data.analyses
    config["analysisArea"] = data.analysis_area
    config["upload"] = data.upload_url
    config["search"] = search_layers(page)
    _OneMapScript(config, asset_base, archive=data.archive is not None).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def one_map(data: PageData) -> folium.Map:
    """The planners' map: every layer the caller may see, on the app's own basemap."""
    ordered = one_map_layers(data.level)
    m = _base_map(data, ordered, "one-map")
    elements = [
        ("basemap", _vector_layer(data, "basemap", "行政区划与道路 Districts, streets, roads"))
    ]
    elements += [
        (la.name, _vector_layer(data, la.name, f"{la.title_zh} {la.title_en}",
                                la.map_shown))
        for la in ordered
    ]  # fmt: skip
    return _finish(m, elements, "one-map")


def elevator_map(data: PageData) -> folium.Map:
    """The public map of old buildings where elevators are added (policy item 31)."""
    layers = [get_layer(name) for name in ELEVATOR_LAYERS]
    m = _base_map(data, layers, "elevator-map")
    elements = [
        ("basemap", _vector_layer(data, "basemap", "行政区划与道路 Districts and roads")),
        ("buildings", _vector_layer(data, "buildings", "楼栋 Buildings")),
        ("elevator_retrofits", _vector_layer(data, "elevator_retrofits",
                                             "加装电梯 Elevator retrofits")),
    ]  # fmt: skip
    return _finish(m, elements, "elevator-map")


def _finish(m: folium.Map, elements: list[tuple[str, Any]], page: str) -> folium.Map:
    for _, element in elements:
        element.add_to(m)
    if elements:
        folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _OneMapControls(elements, page).add_to(m)
    return m


def render(m: folium.Map, title: str, base: str = "") -> str:
    """The page's HTML, with a title and a viewport for phones."""
    root = m.get_root()
    assert isinstance(root, folium.Figure)  # a Map's root is its Figure, which has a header
    root.header.add_child(folium.Element(f"<title>{title}</title>"), name="title")
    root.header.add_child(
        folium.Element('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        name="viewport",
    )
    icon = assets.with_base(f"{assets.PREFIX}/onemap/favicon.svg", base)
    root.header.add_child(
        folium.Element(f'<link rel="icon" type="image/svg+xml" href="{icon}">'), name="icon"
    )
    # Folium's own viewport forbids zooming (people with poor sight zoom on phones), and its
    # <html> names no language (screen readers, fonts, translation).
    page = _FOLIUM_VIEWPORT.sub("", root.render(), count=1)
    return page.replace("<html>", '<html lang="zh-CN">', 1)
