import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ServerSettings
from database.settings import DatabaseSettings
from layers import REGISTRY, Visibility
from spatial import catalog
from tests_support import ADMIN_TOKEN, admin_app


def test_health_reports_versions_and_the_count_of_every_layer_the_caller_sees(db_url):
    app = admin_app(db_url)
    with TestClient(app) as client:
        public = client.get("/health").json()["layers"]
        response = client.get("/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert set(public) == {n for n, la in REGISTRY.items() if la.visibility == Visibility.PUBLIC}
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgresql"].startswith("15") or body["postgresql"][:2].isdigit()
    assert body["postgis"].startswith("3.")
    with psycopg.connect(db_url) as conn:
        assert body["layers"] == catalog.layer_counts(conn, list(REGISTRY))


def test_health_without_a_database_is_503_problem_json():
    app = create_app(
        DatabaseSettings(database_url="postgresql://nobody@127.0.0.1:9/none"),
        ServerSettings(pool_timeout_s=0.5),
    )
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["type"], body["title"]) == ("/problems/unavailable", "Service unavailable")
    assert "database" in body["detail"]
    assert "Traceback" not in response.text


def test_unknown_route_is_404_problem_json(db_url):
    with TestClient(create_app(DatabaseSettings(database_url=db_url))) as client:
        response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
