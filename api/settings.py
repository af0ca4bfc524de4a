"""Service configuration, read from ``ONEMAP_*`` environment variables (one class per concern)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from database.settings import SETTINGS_CONFIG as _CONFIG


class ServerSettings(BaseSettings):
    """How the HTTP service listens."""

    model_config = _CONFIG

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(
        default=1, ge=1, le=64,
        description="uvicorn worker processes (one per core in production); each has its own "
        "pools and response cache.",
    )  # fmt: skip
    pool_min_size: int = Field(default=2, ge=1)
    pool_max_size: int = Field(default=10, ge=1)
    pool_timeout_s: float = Field(default=5.0, gt=0, description="Wait for a connection.")
    keep_alive_s: int = Field(
        default=75, ge=1,
        description="Idle keep-alive: longer than a load balancer's (60 s), or a client can "
        "send on a connection the server is closing.",
    )  # fmt: skip
    run_as: str = Field(
        default="nobody",
        description="Started as root, `onemap serve` runs the app as this user.",
    )
    max_exports: int = Field(
        default=4, ge=1,
        description="Exports streaming at once per worker (each holds a database connection).",
    )  # fmt: skip
    header_timeout_s: float = Field(
        default=10.0, gt=0,
        description="A request's headers must arrive within this; else 408 and the connection "
        "is closed (slow clients would hold connections).",
    )  # fmt: skip
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="Each part of a request body must arrive within this."
    )
    access_log: bool = Field(
        default=False,
        description="uvicorn's line per request; off, as in gunicorn, since the proxy in front "
        "keeps one: it cost a replayed tile 45 % of its throughput.",
    )  # fmt: skip
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry spans and metrics, to the global providers (or "
        "OTLP with FASTAPI_OTEL_AUTO_CONFIGURE=true); off, its check costs every request.",
    )  # fmt: skip


class FeaturesSettings(BaseSettings):
    """Paging, counting, tiles and access for the OGC API routes."""

    model_config = _CONFIG

    default_limit: int = Field(default=100, ge=1)
    max_limit: int = Field(default=10_000, ge=1)
    exact_count_threshold: int = Field(
        default=100_000,
        ge=0,
        description="numberMatched is exact when the planner expects at most this many rows.",
    )
    tile_cache_control: str = "public, max-age=60"
    response_cache_mb: int = Field(
        default=256, ge=0,
        description="Memory for replaying tiles and items until their layers change; "
        "0 = off.",
    )  # fmt: skip
    response_cache_entry_kb: int = Field(
        default=4096, ge=1, description="Largest single response kept in that cache."
    )
    basemap_url: str | None = Field(
        default=None,
        description="An online XYZ tile URL under the pages' own basemap (needs internet).",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="JSON request bodies.")
    max_upload_bytes: int = Field(default=512 << 20, ge=1024, description="Imported files.")
    max_unpacked_bytes: int = Field(
        default=1 << 30, ge=1024,
        description="What an imported zip or workbook may unpack to (counted while unpacking).",
    )  # fmt: skip
    max_import_features: int = Field(
        default=1_000_000, ge=1, description="Features (rows) one imported file may hold."
    )
    max_bbox_area_deg2: float = Field(
        default=400.0, gt=0, description="Largest bbox in degrees² (Beijing is about 4.5)."
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins that may also write, with credentials, e.g. ["https://x.org"] '
        "(anyone may read: GET answers Access-Control-Allow-Origin: *)",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="A bootstrap admin token (sees, edits everything); unset = none.",
    )

    @model_validator(mode="after")
    def _limits(self) -> FeaturesSettings:
        if self.default_limit > self.max_limit:
            raise ValueError("ONEMAP_DEFAULT_LIMIT must not exceed ONEMAP_MAX_LIMIT")
        token = self.admin_token.get_secret_value() if self.admin_token else None
        if token is not None and (len(token) < 16 or token in ("changethis", "admin")):
            raise ValueError(
                "ONEMAP_ADMIN_TOKEN must be at least 16 characters and not a placeholder"
            )
        return self
