"""``/styles/{page}.json``: MapLibre styles made from the registry, seen per caller."""

from __future__ import annotations

import pytest

from layers import REGISTRY, Visibility
from tests_support import ADMIN_TOKEN
from viewer.style import CLUSTER_COLOUR

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.mark.parametrize("page", ["map", "elevator-map"])
def test_a_style_is_valid_and_coloured_from_the_registry(client, page):
    style = client.get(f"/styles/{page}.json").json()
    assert style["version"] == 8
    ids = [layer["id"] for layer in style["layers"]]
    assert len(ids) == len(set(ids)) and ids[0] == "background"
    for layer in style["layers"][1:]:
        source = style["sources"][layer["source"]]
        assert source["type"] == "vector"
        assert source["url"].startswith("http") and source["url"].endswith("/tilejson.json")
        registered = REGISTRY[layer["source-layer"]]
        assert registered.visibility == Visibility.PUBLIC
        assert layer["minzoom"] == registered.min_zoom
        colour = next((v for k, v in layer["paint"].items() if k.endswith("-color")), None)
        if isinstance(colour, list) and colour[0] == "case":  # points: grey for a cluster
            assert colour[1] == [">", ["coalesce", ["get", "cluster_count"], 1], 1]
            assert colour[2] == CLUSTER_COLOUR
            colour = colour[3]
        if isinstance(colour, list):  # a theme: every term's colour, the neutral one last
            theme = registered.fields_by_name[colour[1][1][1]]
            assert colour[2:-1] == [x for t in theme.vocabulary.terms for x in (t.code, t.color)]
    # each source's TileJSON answers, and names the source layer the style draws
    for name, source in style["sources"].items():
        tilejson = client.get(source["url"].split("testserver", 1)[-1]).json()
        assert [v["id"] for v in tilejson["vector_layers"]] == [name]


def test_planners_get_their_layers_the_public_page_stays_public(client):
    public = client.get("/styles/map.json").json()
    planners = client.get("/styles/map.json", headers=ADMIN).json()
    internal = {n for n, la in REGISTRY.items() if la.visibility > Visibility.PUBLIC}
    assert not internal & set(public["sources"])
    assert "pipelines" in planners["sources"]
    assert (
        client.get("/styles/elevator-map.json", headers=ADMIN).json()
        == client.get("/styles/elevator-map.json").json()
    )


def test_a_style_is_readable_from_any_origin_and_unknown_pages_are_404(client):
    response = client.get("/styles/map.json", headers={"Origin": "https://elsewhere.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    missing = client.get("/styles/nope.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
