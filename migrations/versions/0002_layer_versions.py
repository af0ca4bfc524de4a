"""Layer versions: bumped by a statement trigger on every write, for tile ETags and caches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LAYERS = (
    "districts", "streets", "roads", "plan_batches", "projects", "estates", "buildings",
    "elevator_retrofits", "health_checks", "pipelines", "idle_parcels", "service_facilities",
    "governance_issues", "resident_requests", "opinions", "change_history",
)  # fmt: skip

BUMP = """
CREATE FUNCTION onemap_bump_layer_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_versions AS v (layer, version, changed_at)
    VALUES (TG_TABLE_NAME, 2, now())
    ON CONFLICT (layer) DO UPDATE SET version = v.version + 1, changed_at = now();
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "layer_versions",
        sa.Column("layer", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="1", nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("layer", name=op.f("pk_layer_versions")),
        comment="图层版本 / Layer versions",
    )
    op.execute(
        "INSERT INTO layer_versions (layer) VALUES " + ", ".join(f"('{name}')" for name in LAYERS)
    )
    op.execute(BUMP)
    for name in LAYERS:
        op.execute(
            f"CREATE TRIGGER onemap_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION onemap_bump_layer_version()"
        )


def downgrade() -> None:
    for name in LAYERS:
        op.execute(f"DROP TRIGGER IF EXISTS onemap_version ON {name}")
    op.execute("DROP FUNCTION IF EXISTS onemap_bump_layer_version()")
    op.drop_table("layer_versions")
