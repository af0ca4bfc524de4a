"""System tables of free-text search: the entries the triggers keep, and pinyin per character.

Written by the database alone (``database.search_index`` makes the triggers from the registry's
``search`` declarations; migration 0008 fills the characters); read by ``spatial.search``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.types import UserDefinedType

from layers.model import SEARCH_LATIN_LABEL
from layers.registry import REGISTRY
from layers.schema.metadata import metadata

TRIGRAM_COLUMNS = ("pinyin", "pinyin_alternate", "initials")


class Box2D(UserDefinedType[Any]):
    """PostGIS's ``box2d``: a feature's extent, where a search result zooms to."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "box2d"


PINYIN_CHARS = sa.Table(
    "onemap_pinyin_chars",
    metadata,
    sa.Column("ch", sa.Text, primary_key=True),
    sa.Column("syllable", sa.Text, nullable=False),
    sa.Column("alternate", sa.Text),  # a heteronym's second reading (长: zhang, chang)
    comment="汉字拼音 / Pinyin of each character",
)

SEARCH_ENTRIES = sa.Table(
    "search_entries",
    metadata,
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("feature_id", sa.BigInteger, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("haystack", sa.Text, nullable=False),
    sa.Column("pinyin", sa.Text, nullable=False),
    sa.Column("pinyin_alternate", sa.Text, nullable=False),
    sa.Column("initials", sa.Text, nullable=False),
    sa.Column("place", Geometry("POINT", srid=4326, spatial_index=False)),
    sa.Column("extent", Box2D()),
    *(
        sa.Index(
            f"ix_search_entries_{column}",
            column,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
        for column in TRIGRAM_COLUMNS
    ),  # fmt: skip
    # A name's start, each layer's apart (migration 0023): read a layer at a time in rank
    # order, a search stops at the first layers holding enough names starting with its word.
    *(
        sa.Index(f"ix_search_entries_{column}_start", "layer", column)
        for column in ("pinyin", "initials", "haystack")
    ),
    # The few labels holding Latin letters: a typed word can be in no other label.
    sa.Index(
        "ix_search_entries_latin_labels", "layer", postgresql_where=sa.text(SEARCH_LATIN_LABEL)
    ),
    comment="搜索索引 / Search entries, kept by triggers",
)

# Each layer's entries shortest name first: the order results rank in within their tier, read
# a few hundred at a time when a word is in most names (``spatial.search``, migration 0016).
sa.Index(
    "ix_search_entries_rank",
    SEARCH_ENTRIES.c.layer,
    sa.func.length(SEARCH_ENTRIES.c.label),
    SEARCH_ENTRIES.c.label,
)


def layer_trigram_index(layer: str, column: str) -> str:
    """The trigram index of one layer's entries (``spatial.search.shortlist_sql``)."""
    return f"ix_search_entries_{column}_{layer}"


# The same trigrams, one layer's entries each: a word in most names is ranked from a shortlist
# of each layer's shortest names, and a layer whose shortest names hold too few of its matches
# ranks all of them. The whole-table index would read the word's entries in every layer (区1 at
# scale 10: 170,000, 12 ms, for an estates layer holding 1,032); the layer's own reads its own.
for _layer in (la for la in REGISTRY.values() if la.search):
    for _column in TRIGRAM_COLUMNS:
        sa.Index(
            layer_trigram_index(_layer.name, _column),
            SEARCH_ENTRIES.c[_column],
            postgresql_using="gin",
            postgresql_ops={_column: "gin_trgm_ops"},
            postgresql_where=SEARCH_ENTRIES.c.layer == _layer.name,
        )

SEARCH_DEFINITIONS = sa.Table(
    "search_definitions",
    metadata,
    sa.Column("layer", sa.Text, primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),  # the trigger function, as last made
    comment="搜索定义 / What each layer's search index was built from",
)
