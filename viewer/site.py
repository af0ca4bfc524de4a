"""A self-contained static copy of the public elevator map, for any plain web server.

The folder holds the page, its web assets and the public data as GeoJSON (no tiles, no API):
``python -m http.server`` in it is enough.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from viewer import assets, pages

DATA_LAYERS = ("districts", "elevator_retrofits")


def build(out: Path, data: pages.PageData, geojson: dict[str, bytes]) -> list[Path]:
    """Write the site into ``out``; ``geojson`` maps each of ``DATA_LAYERS`` to its file."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for folder in ("leaflet", "onemap"):
        target = out / "assets" / folder
        shutil.copytree(assets.MOUNTS[folder], target, dirs_exist_ok=True)
        written.append(target)
    (out / "data").mkdir(exist_ok=True)
    for name in DATA_LAYERS:
        path = out / "data" / f"{name}.geojson"
        path.write_bytes(geojson[name])
        written.append(path)
    data.geojson = {name: f"data/{name}.geojson" for name in DATA_LAYERS}
    html = pages.render(pages.elevator_map(data), pages.ELEVATOR_TITLE, base=".")
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    written.append(index)
    return written
