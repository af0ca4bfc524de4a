"""OpenTelemetry: FastAPI's spans only when ``ONEMAP_OPENTELEMETRY`` asks for them."""

from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.app import create_app
from api.settings import ServerSettings
from database.settings import DatabaseSettings


def test_requests_are_traced_only_when_asked(db_url):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # the global provider an operator would configure
    for enabled in (False, True):
        server = ServerSettings(opentelemetry=enabled)
        app = create_app(DatabaseSettings(database_url=db_url), server)
        with TestClient(app) as client:
            assert client.get("/collections/districts/items?limit=1").status_code == 200
        spans = exporter.get_finished_spans()
        exporter.clear()
        routes = {span.attributes.get("http.route") for span in spans}
        if enabled:
            assert "/collections/{collectionId}/items" in routes, routes
        else:
            assert not spans
