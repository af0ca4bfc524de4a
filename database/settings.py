"""Where the data lives, from ``ONEMAP_*`` environment variables (shared by every entry point)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_CONFIG = SettingsConfigDict(env_prefix="ONEMAP_", env_file=".env", extra="ignore")


def to_conninfo(url: str) -> str:
    """A libpq/psycopg URL (``postgresql://``) from any SQLAlchemy-style PostgreSQL URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith(("postgresql", "postgres")):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


def to_sqlalchemy_url(url: str) -> str:
    """The same URL with SQLAlchemy's psycopg 3 driver (``postgresql+psycopg://``)."""
    return "postgresql+psycopg://" + to_conninfo(url).partition("://")[2]


class DatabaseSettings(BaseSettings):
    """Where the data lives: an external server, or the embedded cluster under ``data_dir``."""

    model_config = SETTINGS_CONFIG

    database_url: str | None = Field(
        default=None, description="PostgreSQL+PostGIS server to use; unset = embedded cluster."
    )
    database_read_url: str | None = Field(
        default=None, description="A streaming replica for read routes; unset = read the primary."
    )
    data_dir: Path = Field(default=Path(".onemap"), description="Embedded cluster's home.")
    embedded_port: int = Field(default=54329, ge=1024, le=65535)
    statement_timeout_ms: int = Field(default=30_000, ge=0)

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value:
            to_conninfo(value)
        return value or None
