"""Free-text search: one table of entries (name, address, pinyin), kept by triggers.

``search_entries`` holds one row per searchable feature: a label (``建国西里5号楼``), the text
searched, and its pinyin and initials (``jianguoxili5haolou``, ``jgxl5hl``) under pg_trgm
indexes. Everything is searched through the pinyin: pg_trgm's word rules in the cluster's C
locale skip Chinese characters, and a Chinese term's pinyin is a substring of the entry's
whenever the term is a substring of its text. Pinyin comes from a character table, a file
beside this migration written once from pypinyin (scripts/pinyin_table.py), so that every
database gets the same readings: the database computes it, so every writer (imports, edits,
the samples) keeps the index without knowing it exists. Which layers are searched, and the
triggers on them, follow the registry (``database.search_index``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PINYIN_TABLE = Path(__file__).with_name("0008_pinyin_chars.tsv")

# A query term's pinyin (the index's is made set-based: database.search_index). A lookup per
# character: a join would hash the whole table for a few characters.
PINYIN = """
CREATE FUNCTION onemap_pinyin(t text) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(coalesce(
        (SELECT p.syllable FROM onemap_pinyin_chars p WHERE p.ch = c.ch), lower(c.ch)
    ), '' ORDER BY c.i), '')
    FROM regexp_split_to_table(coalesce(t, ''), '') WITH ORDINALITY AS c(ch, i)
$$
"""


def _readings() -> list[tuple[str, str, str | None]]:
    """Each character's most common reading, and a second one for heteronyms (长: zhang, chang):
    the table beside this file, written once from pypinyin (scripts/pinyin_table.py)."""
    rows = []
    for line in PINYIN_TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            ch, first, second = line.split("\t")
            rows.append((ch, first, second or None))
    return rows


def upgrade() -> None:
    op.execute(
        "CREATE TABLE onemap_pinyin_chars (ch text CONSTRAINT pk_onemap_pinyin_chars PRIMARY KEY, "
        "syllable text NOT NULL, alternate text)"
    )
    op.execute("COMMENT ON TABLE onemap_pinyin_chars IS '汉字拼音 / Pinyin of each character'")
    rows = _readings()
    batch = 2000
    for start in range(0, len(rows), batch):
        values = ", ".join(
            "('{}', '{}', {})".format(ch, syllable, f"'{alt}'" if alt else "NULL")
            for ch, syllable, alt in rows[start : start + batch]
        )  # readings are letters only (a-z, ê): nothing to quote
        op.execute(f"INSERT INTO onemap_pinyin_chars VALUES {values}")
    op.execute("ANALYZE onemap_pinyin_chars")
    op.execute(PINYIN)
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        """
        CREATE TABLE search_entries (
            layer text NOT NULL,
            feature_id bigint NOT NULL,
            label text NOT NULL,
            detail text,
            haystack text NOT NULL,
            pinyin text NOT NULL,
            pinyin_alternate text NOT NULL,
            initials text NOT NULL,
            place geometry(Point, 4326),
            extent box2d,
            CONSTRAINT pk_search_entries PRIMARY KEY (layer, feature_id)
        )
        """
    )
    op.execute("COMMENT ON TABLE search_entries IS '搜索索引 / Search entries, kept by triggers'")
    for column in ("pinyin", "pinyin_alternate", "initials"):
        op.execute(
            f"CREATE INDEX ix_search_entries_{column} ON search_entries "
            f"USING gin ({column} gin_trgm_ops)"
        )
    # Names starting with a short term ("j", "jg", "建"): LIKE 'x%' on a btree (C collation).
    for column in ("pinyin", "initials", "haystack"):
        op.execute(f"CREATE INDEX ix_search_entries_{column}_start ON search_entries ({column})")
    op.execute(
        "CREATE TABLE search_definitions (layer text CONSTRAINT pk_search_definitions "
        "PRIMARY KEY, definition text NOT NULL)"
    )
    op.execute(
        "COMMENT ON TABLE search_definitions IS "
        "'搜索定义 / What each layer''s search index was built from'"
    )


def downgrade() -> None:
    # The layers' search triggers (made at head from the registry) go with their functions.
    op.execute(
        """
        DO $$ DECLARE f regprocedure; BEGIN
            FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname LIKE 'onemap_search\\_%' LOOP
                EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
            END LOOP;
        END $$
        """
    )
    op.execute("DROP TABLE IF EXISTS search_definitions")
    op.execute("DROP TABLE IF EXISTS search_entries")
    op.execute("DROP FUNCTION IF EXISTS onemap_pinyin(text)")
    op.execute("DROP TABLE IF EXISTS onemap_pinyin_chars")
