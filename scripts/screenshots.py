"""Screenshots of the pages for the README, taken from a running app (`make run`).

.venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--out docs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from viewer.browser import chromium

SHOTS = {
    "one-map.png": ("/map", None),
    "one-map-beijing-core.png": ("/map", (39.915, 116.40, 14)),
    "elevator-map.png": ("/elevator-map", None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        for name, (path, view) in SHOTS.items():
            page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
            page.goto(args.url + path, wait_until="networkidle")
            if view:
                lat, lon, zoom = view
                page.evaluate(
                    f"OneMap.state.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})"
                )
                page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)
            page.screenshot(path=str(args.out / name))
            print(f"wrote {args.out / name}")
            page.close()


if __name__ == "__main__":
    main()
