"""Search: each searchable layer's entries get trigram indexes of their own.

A word in most names is ranked from a shortlist of each layer's shortest names; a layer whose
shortest names hold too few of its matches now ranks all of them (``spatial.search``), so that
the answer is every match's. ``区1``, in 23 % of names, is in none of the 1,000 shortest
estates: the shortlist answered a building where ranking every match puts the estate
光明小区10区 first. The whole-table indexes would read the word's entries in every layer to
find an estates layer's (170,000 of them at scale 10, 12 ms, for 1,032 estates); these read the
layer's own (0.1 ms). The names are ``layers.schema.search.layer_trigram_index``'s.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The registry's searchable layers as this revision was written.
LAYERS = ("districts", "streets", "estates", "buildings", "service_facilities", "projects")
COLUMNS = ("pinyin", "pinyin_alternate", "initials")


def upgrade() -> None:
    for layer in LAYERS:
        for column in COLUMNS:
            op.execute(
                f"CREATE INDEX ix_search_entries_{column}_{layer} ON search_entries "
                f"USING gin ({column} gin_trgm_ops) WHERE layer = '{layer}'"
            )


def downgrade() -> None:
    for layer in LAYERS:
        for column in COLUMNS:
            op.execute(f"DROP INDEX ix_search_entries_{column}_{layer}")
