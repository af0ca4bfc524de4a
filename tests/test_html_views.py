"""HTML views of the OGC resources: the same content as the JSON, in words, for people."""

from __future__ import annotations

import re

import pytest

from layers import REGISTRY, Visibility
from tests_support import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
RESOURCES = ["/", "/collections", "/collections/estates", "/collections/estates/items?limit=5",
             "/collections/estates/items/1"]  # fmt: skip


def html(client, path, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.mark.parametrize("path", RESOURCES)
def test_f_html_and_a_browser_get_a_page_other_clients_json(client, path):
    joined = path + ("&" if "?" in path else "?") + "f=html"
    page = html(client, joined)
    assert '<html lang="zh-CN">' in page
    same = html(client, path, **BROWSER)  # a browser asking without f: the same page
    assert page.replace("&amp;f=html", "") == same  # (its paging links keep the f it was given)
    assert "Accept" in client.get(path, headers=BROWSER).headers["vary"].split(", ")
    for accept in ("*/*", "application/json", "application/geo+json"):  # GIS clients, curl
        response = client.get(path, headers={"Accept": accept})
        assert response.headers["content-type"].split(";")[0] in (
            "application/json",
            "application/geo+json",
        )
    # nothing loaded from outside the app
    assert not re.search(r'(src|href)="(https?:)?//', page.replace(
        'href="http://testserver', ""))  # fmt: skip


@pytest.mark.parametrize(
    ("accept", "page"),
    [("application/geo+json;q=0.1, text/html;q=0.9", True),  # read as GeoJSON: the first item
     ("application/json;q=0.5, text/html", True), ("text/*", True),
     ("text/html;q=0, */*", False), ("text/html;q=0", False),  # q=0: not acceptable
     ("text/html;level=1;q=0.2, application/geo+json;q=0.3", False),
     ("application/json, text/html", False),  # a tie: the JSON
     ("application/xml", False), ("garbage;;", False), ("text/html;q=abc", False),
     (",".join(["x/y"] * 5000) + ",text/html", False)],  # weighed by its first 64 ranges
)  # fmt: skip
@pytest.mark.parametrize("path", ["/collections/estates/items?limit=2", "/collections"])
def test_accept_is_weighed_by_its_q_values(client, path, accept, page):
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html") is page, accept


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [("application/vnd.oai.openapi+json;version=3.0, application/json", "application/json"),
     ("application/json", "application/json"),  # GDAL's OAPIF driver, and older ones
     ("*/*", "application/vnd.oai.openapi+json;version=3.1"),
     ("application/vnd.oai.openapi+json", "application/vnd.oai.openapi+json;version=3.1")],
)  # fmt: skip
def test_the_api_document_is_typed_as_the_client_accepts(client, accept, media_type):
    """A range's parameters must match: version=3.0 does not accept the 3.1 document."""
    response = client.get("/api", headers={"Accept": accept})
    assert response.headers["content-type"] == media_type


def test_the_items_page_shows_labels_terms_paging_and_a_map(client):
    page = html(client, "/collections/estates/items?f=html&limit=5")
    layer = REGISTRY["estates"]
    for f in layer.visible_fields(Visibility.PUBLIC):
        assert f.label_zh in page
    body = client.get("/collections/estates/items?limit=5").json()
    for feature in body["features"]:
        assert f'/collections/estates/items/{feature["id"]}"' in page
        status = feature["properties"]["status"]
        term = next(t for t in layer.fields_by_name["status"].vocabulary.terms if t.code == status)
        assert term.zh in page
    assert 'rel="next"' in page and "offset=5" in page
    assert 'id="map"' in page and '"type": "FeatureCollection"' in page


def test_a_page_says_no_more_than_the_json_for_its_caller(client):
    """The public items page names no internal field; a planner's does."""
    layer = REGISTRY["estates"]
    internal = [f for f in layer.fields if f.visibility > Visibility.PUBLIC]
    public_page = html(client, "/collections/estates/items?f=html&limit=5")
    planner_page = html(client, "/collections/estates/items?f=html&limit=5", **ADMIN)
    for f in internal:
        assert f">{f.label_zh} <" not in public_page
    assert any(f">{f.label_zh} <" in planner_page for f in internal)
    item = html(client, "/collections/buildings/items/1?f=html")
    assert 'href="/collections/estates/items/' in item  # a reference is a link to its page


@pytest.mark.parametrize("path", RESOURCES)
def test_an_unknown_format_is_a_400_problem(client, path):
    response = client.get(path + ("&" if "?" in path else "?") + "f=xml")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
