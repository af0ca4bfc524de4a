"""The pages as HTML: offline assets, registry-driven configuration, no private data."""

import json
import re

import folium
import pytest
from folium.plugins import VectorGridProtobuf

from layers import REGISTRY, Visibility
from tests_support import admin_app, page_config

ASSET = re.compile(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("path", ["/map", "/elevator-map"])
def test_pages_load_nothing_from_outside_the_app(client, admin, path):
    for caller in (client, admin):
        response = caller.get(path)
        assert response.status_code == 200
        assert "no-store" in response.headers["cache-control"]
        urls = ASSET.findall(response.text)
        assert urls, "the page has assets"
        assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
        for url in urls:
            assert client.get(url).status_code == 200, url


def test_folium_classes_keep_their_defaults(client):
    client.get("/map")
    assert folium.Map.default_js[0][1].startswith("https://")  # instances were localised
    assert VectorGridProtobuf.default_js[0][1].startswith("https://")


def _drawn(level: Visibility) -> set[str]:
    """What the registry places on the one map (basemap included) for a caller of ``level``."""
    return {
        name for name, layer in REGISTRY.items()
        if layer.is_spatial and (layer.on_map or layer.basemap) and layer.visibility <= level
    }  # fmt: skip


def test_anonymous_one_map_shows_public_layers_and_fields_only(client):
    config = page_config(client.get("/map").text)
    assert set(config["layers"]) == _drawn(Visibility.PUBLIC)
    assert "pipelines" not in config["tiles"]
    estates = config["layers"]["estates"]
    assert list(estates["themes"]) == ["status"]  # property nature etc. are internal
    text = json.dumps(config)
    for private in ("maintenance_fund", "property_nature", "caller_phone", "contact"):
        assert private not in text


def test_planners_with_the_token_get_every_layer_and_theme(admin):
    config = page_config(admin.get("/map").text)
    assert set(config["layers"]) == _drawn(Visibility.PRIVATE)
    assert {"pipelines", "idle_parcels", "resident_requests"} <= set(config["layers"])
    assert list(config["layers"]["estates"]["themes"]) == [
        "status",
        "property_nature",
        "renovation_category",
    ]
    assert config["layers"]["pipelines"]["themes"]["network"]["terms"]["gas"][1] == "燃气"


def test_elevator_map_is_public_whoever_asks(admin, conn):
    config = page_config(admin.get("/elevator-map").text)
    assert set(config["layers"]) == {
        "districts",
        "streets",
        "roads",
        "buildings",
        "elevator_retrofits",
    }
    assert "applicant_contact" not in json.dumps(config)
    total = sum(c["count"] for c in config["counts"])
    assert total == conn.execute("SELECT count(*) FROM elevator_retrofits").fetchone()[0]


def test_tile_urls_change_when_the_data_changes(client, db_url):
    import psycopg

    before = page_config(client.get("/elevator-map").text)["tiles"]["elevator_retrofits"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE elevator_retrofits SET stage = stage WHERE id = 1")
    after = page_config(client.get("/elevator-map").text)["tiles"]["elevator_retrofits"]
    assert before != after


def test_login_sets_a_cookie_that_pages_and_tiles_honour(db_url):
    from fastapi.testclient import TestClient

    from tests_support import ADMIN_TOKEN

    app = admin_app(db_url)  # its own lifespan
    with TestClient(app) as fresh:
        bad = fresh.post(
            "/login",
            content="token=nope",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert bad.status_code == 401
        ok = fresh.post(
            "/login",
            content=f"token={ADMIN_TOKEN}",
            follow_redirects=False,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert ok.status_code == 303
        assert "httponly" in ok.headers["set-cookie"].lower()
        assert "pipelines" in page_config(fresh.get("/map").text)["layers"]
        assert fresh.get("/collections/pipelines").status_code == 200
        fresh.get("/logout")
        assert fresh.get("/collections/pipelines").status_code == 404
