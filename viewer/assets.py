"""The pages' web assets: npm packages pinned in viewer/package.json, served by the app.

Folium's own asset lists point at public CDNs (11 files); offline, or on a government network,
such a page is blank. ``localise`` rewrites them, per element instance, to the app's paths.
"""

from __future__ import annotations

from pathlib import Path

from branca.element import Element

from layers.errors import OneMapError

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
STATIC = HERE / "static"
PREFIX = "/assets"

# URL folder -> directory on disk.
MOUNTS: dict[str, Path] = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "vectorgrid": NODE_MODULES / "leaflet.vectorgrid" / "dist",
    "pmtiles": NODE_MODULES / "pmtiles" / "dist",
    "onemap": STATIC,
}

LEAFLET_JS = ("leaflet", f"{PREFIX}/leaflet/leaflet.js")
LEAFLET_CSS = ("leaflet_css", f"{PREFIX}/leaflet/leaflet.css")
VECTORGRID_JS = ("vectorGrid", f"{PREFIX}/vectorgrid/Leaflet.VectorGrid.bundled.min.js")
PMTILES_JS = ("pmtiles", f"{PREFIX}/pmtiles/pmtiles.js")
ONEMAP_JS = ("onemap", f"{PREFIX}/onemap/onemap.js")
ONEMAP_CSS = ("onemap_css", f"{PREFIX}/onemap/onemap.css")


def check_installed() -> None:
    """Fail with a clear message when ``npm ci`` has not been run in viewer/."""
    missing = [name for name, path in MOUNTS.items() if not path.is_dir()]
    if missing:
        raise OneMapError(
            f"web assets missing ({', '.join(missing)}): run `make setup` (or `npm ci` in viewer/)"
        )


def localise(element: Element, js: list[tuple[str, str]], css: list[tuple[str, str]]) -> None:
    """Point one Folium element's assets at the app (instance attributes, not the class)."""
    element.default_js = js  # type: ignore[attr-defined]
    element.default_css = css  # type: ignore[attr-defined]


def with_base(path: str, base: str) -> str:
    """An asset path under ``base`` (``""`` for the app, ``"."`` for a static site)."""
    return base.rstrip("/") + path if base else path
