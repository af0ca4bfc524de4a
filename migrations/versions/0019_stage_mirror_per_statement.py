"""Buildings' elevator stage is mirrored once per statement, not once per retrofit row.

0003's row trigger updated one building per retrofit written, and each of those updates ran
the buildings' statement triggers (the search index rewrote that building's entry, the layer
version moved): loading the sample's 6,424 retrofits at scale 1 made 6,424 updates of
``buildings``, each rewriting a search entry nothing in it had changed. Now the retrofits
written by one statement update their buildings in one statement, from the transition tables,
and only buildings whose stage differs are written. A retrofit's building is unique
(``uq_elevator_retrofits_building_id``), so each building gets one stage.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Transition tables exist only for the events that have them: each branch names its own.
# A building left by an update or a delete loses its stage unless a new row names it again.
# EXECUTE: planned for this statement's rows each time (PL/pgSQL would plan a static
# statement once per session — for one row, a nested loop over the two transition tables
# that took minutes for an update of 40,000; for an import, a hash of every building that
# each later one-row write would pay).
MIRROR = """
CREATE FUNCTION onemap_mirror_elevator_stages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE $q$
        UPDATE buildings b SET elevator_stage = n.stage FROM new_rows n
        WHERE b.id = n.building_id AND b.elevator_stage IS DISTINCT FROM n.stage $q$;
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE $q$
        UPDATE buildings b SET elevator_stage = c.stage
        FROM (SELECT building_id, stage FROM new_rows
              UNION ALL
              SELECT o.building_id, NULL FROM old_rows o
              WHERE NOT EXISTS (SELECT FROM new_rows n WHERE n.building_id = o.building_id)) c
        WHERE b.id = c.building_id AND b.elevator_stage IS DISTINCT FROM c.stage $q$;
    ELSE
        EXECUTE $q$
        UPDATE buildings b SET elevator_stage = NULL FROM old_rows o
        WHERE b.id = o.building_id AND b.elevator_stage IS NOT NULL $q$;
    END IF;
    RETURN NULL;
END $$
"""

TRIGGERS = (
    ("onemap_mirror_stage_insert", "INSERT", "NEW TABLE AS new_rows"),
    ("onemap_mirror_stage_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ("onemap_mirror_stage_delete", "DELETE", "OLD TABLE AS old_rows"),
)

# 0003's, for the way down.
ROW_MIRROR = """
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
    op.execute("DROP TRIGGER onemap_mirror_stage ON elevator_retrofits")
    op.execute("DROP FUNCTION onemap_mirror_elevator_stage()")
    op.execute(MIRROR)
    for name, event, transitions in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON elevator_retrofits "
            f"REFERENCING {transitions} FOR EACH STATEMENT "
            "EXECUTE FUNCTION onemap_mirror_elevator_stages()"
        )


def downgrade() -> None:
    for name, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON elevator_retrofits")
    op.execute("DROP FUNCTION onemap_mirror_elevator_stages()")
    op.execute(ROW_MIRROR)
    op.execute(
        "CREATE TRIGGER onemap_mirror_stage AFTER INSERT OR UPDATE OF stage, building_id OR DELETE "
        "ON elevator_retrofits FOR EACH ROW EXECUTE FUNCTION onemap_mirror_elevator_stage()"
    )
