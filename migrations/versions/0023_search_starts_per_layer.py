"""Search: a name's start is looked up a layer at a time; labels with Latin letters indexed.

A typed word (``jianguo``) ranks the names whose pinyin or initials start with it first, by
layer, then shortest. The btree indexes of a name's start held every layer together, so a
search read every name starting with the word (8,536 for ``jianguo`` at scale 10) and the
trigram index's every match besides (15.7 ms). With the layer first, a search reads the
layers in rank order and stops at the first ones holding enough: 10 streets, 0.08 ms
(``spatial.search.starts.starting_by_layer``). A label holding the typed letters themselves
would rank above those names; only labels with Latin letters can, and they get a partial
index of their own, so that their absence is a check, not a scan.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("pinyin", "initials", "haystack")


def upgrade() -> None:
    for column in COLUMNS:
        op.execute(f"DROP INDEX ix_search_entries_{column}_start")
        op.execute(
            f"CREATE INDEX ix_search_entries_{column}_start ON search_entries (layer, {column})"
        )
    op.execute(
        "CREATE INDEX ix_search_entries_latin_labels ON search_entries (layer) "
        "WHERE label ~ '[A-Za-z]'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_search_entries_latin_labels")
    for column in COLUMNS:
        op.execute(f"DROP INDEX ix_search_entries_{column}_start")
        op.execute(f"CREATE INDEX ix_search_entries_{column}_start ON search_entries ({column})")
