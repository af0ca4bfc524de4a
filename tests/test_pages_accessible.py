"""Every page on a phone (390×844) and a desktop: axe-core finds nothing serious, the map is
reachable, zoom is allowed and panels fold behind buttons."""

import pytest

from tests_support import ADMIN_TOKEN, settle, watched_page

pytestmark = pytest.mark.browser

AXE = "viewer/node_modules/axe-core/axe.min.js"
PAGES = (
    "/map", "/elevator-map", "/login", "/upload", "/estates/1/dossier?f=html",
    # the HTML views of the OGC resources
    "/?f=html", "/collections?f=html", "/collections/estates?f=html",
    "/collections/buildings/items?f=html&limit=20", "/collections/buildings/items/1?f=html",
)  # fmt: skip
PHONE, DESKTOP = (390, 844), (1280, 800)


def open_as_planner(browser, base, path, size):
    page = watched_page(browser, base, token=ADMIN_TOKEN, size=size)
    page.goto(base + path, wait_until="load")
    if page.locator(".leaflet-container").count():  # a map: its tiles too, before any check
        settle(page)
    return page


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_serious_or_critical_violation(browser, live_server, path, size):
    page = open_as_planner(browser, live_server, path, size)
    page.add_script_tag(path=AXE)
    violations = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, target: v.nodes[0].target})))"
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    viewports = page.locator("meta[name=viewport]").evaluate_all("ms => ms.map(m => m.content)")
    assert viewports and not any("user-scalable" in v or "maximum-scale" in v for v in viewports)


def reachable_share(page, columns=13, rows=28):
    """The share of points on a grid over the screen where a tap reaches the map itself."""
    return page.evaluate(
        f"""(() => {{
        let hits = 0, total = 0;
        for (let i = 0; i < {columns}; i++) for (let j = 0; j < {rows}; j++) {{
          const x = (i + 0.5) * innerWidth / {columns}, y = (j + 0.5) * innerHeight / {rows};
          const el = document.elementFromPoint(x, y);
          total++;
          if (el && el.closest('.folium-map') && !el.closest('.leaflet-control')) hits++;
        }}
        return hits / total;
        }})()"""
    )


@pytest.mark.parametrize("path", ["/map", "/elevator-map"])
def test_on_a_phone_the_map_comes_first_and_panels_unfold(browser, live_server, path):
    page = open_as_planner(browser, live_server, path, PHONE)
    assert reachable_share(page) >= 0.8
    legend = page.locator(".om-legend")
    assert legend.locator(".om-body").is_hidden()
    legend.locator(".om-toggle").click()
    assert legend.locator(".om-body").is_visible()
    assert legend.locator(".om-toggle").get_attribute("aria-expanded") == "true"
    layers = page.locator(".leaflet-control-layers")
    assert "leaflet-control-layers-expanded" not in layers.get_attribute("class")
    page.locator(".leaflet-control-layers-toggle").click()
    assert "leaflet-control-layers-expanded" in layers.get_attribute("class")
    desktop = open_as_planner(browser, live_server, path, DESKTOP)
    assert desktop.locator(".om-legend .om-body").is_visible()  # unfolded where there is room


def test_on_a_phone_an_analysis_popup_is_readable_below_the_controls(browser, live_server):
    page = open_as_planner(browser, live_server, "/map", PHONE)
    panel = page.locator(".om-panel")
    panel.locator(".om-toggle").click()
    page.select_option(".om-analysis-select", "aging_pipes")
    page.wait_for_selector("body[data-analysis-count]", state="attached")
    panel.locator(".om-toggle").click()  # folded again: the map is what the planner reads
    page.evaluate("void OneMap.state.overlay.getLayers()[0].openPopup()")
    popup = page.locator(".leaflet-popup")
    popup.wait_for()
    page.wait_for_timeout(400)  # the map pans the popup into view
    controls = page.locator(".leaflet-top.leaflet-left").bounding_box()
    box = popup.bounding_box()
    assert box["y"] >= controls["y"] + controls["height"] - 1  # not under search and panels
    assert box["y"] + box["height"] <= PHONE[1] and box["width"] <= PHONE[0]
    size = page.locator(".om-analysis-popup th").first.evaluate(
        "th => getComputedStyle(th).fontSize")  # fmt: skip
    assert size == "12px"
    text = page.locator(".om-analysis-popup").inner_text()
    assert "老化管线" in text and "优先级" in text and "_" not in text


def test_the_dossier_reads_as_words_and_prints_on_a4(browser, live_server):
    import re

    from layers import REGISTRY

    page = open_as_planner(browser, live_server, "/estates/1/dossier?f=html", DESKTOP)
    text = page.inner_text("body")
    codes = {t.code for layer in REGISTRY.values() for f in layer.fields if f.vocabulary
             for t in f.vocabulary.terms if "_" in t.code}  # fmt: skip
    raw = sorted(c for c in codes if re.search(rf"(?<![\w-]){c}(?![\w-])", text))
    assert raw == [], raw
    for word in ("True", "False", "None", "{'", "['", "district_code", "street_code"):
        assert word not in text, word
    assert "是 yes" in text or "否 no" in text
    assert page.locator(".om-dossier-map svg text").filter(has_text="北").count() == 1
    assert "加装电梯 Elevator retrofits" in text  # the retrofit records are in it
    assert page.locator(".om-dossier-map svg text.om-road").count() >= 1  # the roads named
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 680, "height": 960})  # A4 less 15 mm margins, at 96 dpi
    assert page.evaluate("document.documentElement.scrollWidth") <= 680
    assert page.locator(".om-actions").is_hidden()  # the download link stays off paper
    assert_pdf_reads_as_words(page.request.get(f"{live_server}/estates/1/dossier?f=pdf"), codes)
    assert_pdf_layout_fits_a4(page.request.get(f"{live_server}/estates/1/dossier?f=html").text())


def assert_pdf_layout_fits_a4(html: str) -> None:
    """WeasyPrint's own layout of the page: no box reaches past the A4 content width."""
    import weasyprint

    def overflowing(box, right):
        if box.position_x + box.margin_width() > right + 0.5:
            yield getattr(box, "element_tag", type(box).__name__)
        for child in getattr(box, "children", None) or []:
            yield from overflowing(child, right)

    document = weasyprint.HTML(string=html).render()
    for page in document.pages:
        body = page._page_box.children[0]  # the <html> box, inside the 15 mm margins
        right = body.position_x + body.margin_width()
        assert list(overflowing(body, right)) == []


def assert_pdf_reads_as_words(response, codes: set[str]) -> None:
    """The PDF download: A4 pages whose text has the same words and none of the codes."""
    import io
    import re

    import pypdf

    assert response.status == 200, response.text()
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    pdf = pypdf.PdfReader(io.BytesIO(response.body()))
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pdf.pages}
    assert sizes == {(595, 842)}  # A4 in points
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "小区档案 Estate dossier" in text and "加装电梯 Elevator retrofits" in text
    assert [c for c in codes if re.search(rf"(?<![\w-]){c}(?![\w-])", text)] == []
    for word in ("True", "False", "None", "{'", "['"):
        assert word not in text, word
