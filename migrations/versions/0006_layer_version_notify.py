"""Layer versions are announced: each bump sends ``NOTIFY onemap_layer_versions, 'layer:version'``.

The service keeps the versions in memory from these notifications (delivered at commit), so a
cached response can be checked without a database round trip.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "onemap_layer_versions"

BUMP_AND_NOTIFY = f"""
CREATE OR REPLACE FUNCTION onemap_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bumped bigint;
BEGIN
    INSERT INTO layer_versions AS v (layer, version, changed_at)
    VALUES (TG_TABLE_NAME, 2, now())
    ON CONFLICT (layer) DO UPDATE SET version = v.version + 1, changed_at = now()
    RETURNING version INTO bumped;
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME || ':' || bumped);
    RETURN NULL;
END $$
"""

BUMP_ONLY = """
CREATE OR REPLACE FUNCTION onemap_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_versions AS v (layer, version, changed_at)
    VALUES (TG_TABLE_NAME, 2, now())
    ON CONFLICT (layer) DO UPDATE SET version = v.version + 1, changed_at = now();
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(BUMP_AND_NOTIFY)


def downgrade() -> None:
    op.execute(BUMP_ONLY)
