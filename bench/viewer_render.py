"""First render of the pages in headless Chromium, over several cold loads.

Time until the network is idle and the tiles are drawn; a fresh browser context each run,
so nothing comes from a cache.

    .venv/bin/python bench/viewer_render.py [--url http://127.0.0.1:8000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from viewer.browser import chromium

PAGES = ("/map", "/elevator-map")


def measure(browser, url: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(int(r.headers.get("content-length") or 0)))
    started = time.perf_counter()
    document = page.goto(url, wait_until="networkidle")
    elapsed = time.perf_counter() - started
    paths = page.evaluate("document.querySelectorAll('.leaflet-pane path').length")
    html = len(document.body()) if document else 0
    context.close()
    return {"seconds": elapsed, "paths": paths, "requests": len(sizes), "html_bytes": html}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with chromium() as browser:
        print("| page | first render p50 (s) | max (s) | requests | drawn paths | HTML |")
        print("|---|---|---|---|---|---|")
        for path in PAGES:
            runs = [measure(browser, args.url + path) for _ in range(args.runs)]
            seconds = [r["seconds"] for r in runs]
            print(f"| `{path}` | {statistics.median(seconds):.2f} | {max(seconds):.2f} "
                  f"| {runs[0]['requests']} | {runs[0]['paths']:,} "
                  f"| {runs[0]['html_bytes'] / 1000:.0f} kB |")  # fmt: skip


if __name__ == "__main__":
    main()
