"""Screenshots of the pages for the README, taken from a running app (`make run`).

.venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--out docs] [--token T]

With a token (a planner's or an admin's), the planners' shots show an analysis overlay and
an estate dossier too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from viewer.browser import chromium

DESKTOP, PHONE = (1400, 900), (390, 844)
SHOTS = {  # (path, view, viewport)
    "one-map.png": ("/map", None, DESKTOP),
    "one-map-beijing-core.png": ("/map", (39.915, 116.40, 14), DESKTOP),
    "elevator-map.png": ("/elevator-map", None, DESKTOP),
    "one-map-phone.png": ("/map", None, PHONE),
    "elevator-map-phone.png": ("/elevator-map", (39.915, 116.40, 13), PHONE),
    "html-items.png": ("/collections/estates/items?f=html&limit=8", None, DESKTOP),
}
SEARCHES = {  # (path, what a resident types, viewport): the first answer chosen
    "elevator-map-phone-search.png": ("/elevator-map", "trdl3hl", PHONE),
}
SIGNED_IN = {  # (path, view, district, analysis, viewport)
    "analysis-elevator-screening.png": ("/map", (39.915, 116.405, 16), "110101",
                                        "elevator_screening", DESKTOP),
    "analysis-coverage-gaps.png": ("/map", None, "110105", "coverage_gaps", DESKTOP),
    "estate-dossier.png": ("/estates/1/dossier?f=html", None, None, None, DESKTOP),
    "upload.png": ("/upload", None, None, None, DESKTOP),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--token", help="A planner's token, for the signed-in shots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shots = {name: (path, view, None, None, size) for name, (path, view, size) in SHOTS.items()}
    if args.token:
        shots.update(SIGNED_IN)
    with chromium() as browser:
        for name, (path, view, district, analysis, size) in shots.items():
            viewport = {"width": size[0], "height": size[1]}
            context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
            if args.token and name in SIGNED_IN:
                context.add_cookies([{"name": "onemap_token", "value": args.token,
                                      "url": args.url}])  # fmt: skip
            page = context.new_page()
            page.goto(args.url + path, wait_until="networkidle")
            if district:
                page.select_option(".om-district-select", district)
            if analysis:
                page.select_option(".om-analysis-select", analysis)
                page.wait_for_selector("body[data-analysis-count]", state="attached",
                                       timeout=60_000)  # fmt: skip
            if view:
                lat, lon, zoom = view
                page.evaluate(
                    f"OneMap.state.map.setView([{lat}, {lon}], {zoom}, {{animate: false}})"
                )
                page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)
            page.screenshot(path=str(args.out / name))
            print(f"wrote {args.out / name}")
            context.close()
        for name, (path, typed, size) in SEARCHES.items():
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})  # type: ignore[attr-defined]
            page.goto(args.url + path, wait_until="networkidle")
            page.fill(".om-search input", typed)
            page.locator(".om-search-results button").first.click()
            page.wait_for_selector(".om-popup .om-history time", timeout=10_000)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(800)
            page.screenshot(path=str(args.out / name))
            print(f"wrote {args.out / name}")
            page.close()


if __name__ == "__main__":
    main()
