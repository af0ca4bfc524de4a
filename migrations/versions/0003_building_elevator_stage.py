"""Buildings carry the stage of their elevator retrofit, kept by a trigger.

The maps colour buildings by elevator stage; a denormalised column maintained by the database
keeps that one indexed read instead of a join in every tile.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = (
    "requested", "consulting", "designing", "publicised", "approved", "under_construction",
    "in_service", "suspended", "not_feasible",
)  # fmt: skip

MIRROR = """
CREATE FUNCTION onemap_mirror_elevator_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE buildings SET elevator_stage = NULL WHERE id = OLD.building_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE buildings SET elevator_stage = NEW.stage WHERE id = NEW.building_id;
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.add_column(
        "buildings",
        sa.Column("elevator_stage", sa.Text(), nullable=True,
                  comment="加装电梯进展 / Elevator retrofit stage"),
    )  # fmt: skip
    op.create_check_constraint(
        op.f("ck_buildings_elevator_stage_vocab"),
        "buildings",
        "elevator_stage IN (" + ", ".join(f"'{s}'" for s in STAGES) + ")",
    )
    op.execute(
        "UPDATE buildings b SET elevator_stage = r.stage "
        "FROM elevator_retrofits r WHERE r.building_id = b.id"
    )
    op.execute(MIRROR)
    op.execute(
        "CREATE TRIGGER onemap_mirror_stage AFTER INSERT OR UPDATE OF stage, building_id OR DELETE "
        "ON elevator_retrofits FOR EACH ROW EXECUTE FUNCTION onemap_mirror_elevator_stage()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS onemap_mirror_stage ON elevator_retrofits")
    op.execute("DROP FUNCTION IF EXISTS onemap_mirror_elevator_stage()")
    op.drop_constraint(op.f("ck_buildings_elevator_stage_vocab"), "buildings", type_="check")
    op.drop_column("buildings", "elevator_stage")
