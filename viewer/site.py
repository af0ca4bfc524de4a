"""A self-contained static copy of the public elevator map, for any plain web server.

The folder holds the page, its web assets and the public layers' vector tiles as one PMTiles
archive (no API behind it). The page reads the archive by HTTP range requests, which nginx,
Caddy, object storage and CDNs answer; ``python -m http.server`` does not.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from layers import Layer, Visibility, get_layer
from spatial.tile_archive import ArchiveReport, write_archive
from viewer import assets, pages

ARCHIVE = "data/elevator-map.pmtiles"
ASSET_FOLDERS = ("leaflet", "vectorgrid", "pmtiles", "onemap")
# The deepest zoom each layer's tiles are made at; the page over-zooms past it. Outlines and
# roads hold at z14; at z16 a tile unit is 15 cm, finer than a building's outline needs.
BASEMAP_DEEPEST = 14
DEEPEST = 16


@dataclass
class SiteReport:
    files: list[Path]
    archive: ArchiveReport


def archive_zooms() -> dict[Layer, range]:
    """The elevator map's layers and the zooms the archive holds tiles of each at."""
    basemap = pages.basemap_layers()
    zooms = {}
    for name in (*basemap, *pages.ELEVATOR_LAYERS):
        layer = get_layer(name)
        deepest = BASEMAP_DEEPEST if name in basemap else DEEPEST
        zooms[layer] = range(min(layer.min_zoom, deepest), deepest + 1)
    return zooms


def build(url: str, out: Path, data: pages.PageData) -> SiteReport:
    """Write the site into ``out``: assets, the public tiles as anyone may see them, the page."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for folder in ASSET_FOLDERS:
        target = out / "assets" / folder
        shutil.copytree(assets.MOUNTS[folder], target, dirs_exist_ok=True)
        written.append(target)
    archive = out / ARCHIVE
    archive.parent.mkdir(exist_ok=True)
    zooms = archive_zooms()
    report = write_archive(
        url, archive, zooms, Visibility.PUBLIC, data.city_bbox, pages.ELEVATOR_TITLE
    )
    written.append(archive)
    data.archive = pages.TileArchive(ARCHIVE, {la.name: z[-1] for la, z in zooms.items()})
    html = pages.render(pages.elevator_map(data), pages.ELEVATOR_TITLE, base=".")
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    written.append(index)
    return SiteReport(written, report)
