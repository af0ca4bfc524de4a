"""Free-text search over the search index (``search_entries``, kept by triggers at write time).

A term matches an entry when it is part of the entry's text ("建国西里", "10号楼"), of its pinyin
("jianguoxili", also with a heteronym's other reading: 长安 as "changan"), or of its initials
("jgxl"). Terms separated by spaces must all match; ``q=`` on items also takes a comma-separated
list of alternatives, as OGC API text search does. Everything is matched through the pinyin
columns, which carry pg_trgm indexes (see migration 0008).

Every way of answering gives the same rows as ranking every match (``every_match_sql``); they
differ in what they read. ``search_sql`` picks one:

- ``terms``: what the words are, and the SQL that an entry matches them;
- ``ranking``: how results rank, and the pieces every way shares;
- ``shortlist``: a word in most names ("号楼"), ranked from each layer's shortest names,
  chosen on the planner's estimate (``common_sql``, migration 0016);
- ``starts``: names starting with the first word, looked up first where they settle it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from spatial.cql import Compiled
from spatial.search.ranking import (
    LATIN_LABEL_HOLDING,
    Search,
    every_match_sql,
    holding,
    outer,
    parts,
    statement,
)
from spatial.search.shortlist import (
    SHORTLIST,
    WALK_SHARE,
    Estimate,
    common_sql,
    estimated,
    shortlist_sql,
)
from spatial.search.starts import (
    ByLayer,
    by_layer,
    or_every_match,
    starting_by_layer,
    starting_names,
    starts_first,
)
from spatial.search.terms import matching_ids, parse_alternatives, parse_terms, terms_condition

__all__ = [
    "Estimate",
    "Search",
    "common_sql",
    "every_match_sql",
    "find",
    "matching_ids",
    "parse_alternatives",
    "parse_terms",
    "search_sql",
    "shortlist_sql",
    "terms_condition",
]


def search_sql(
    search: Search, estimate: Estimate = Estimate(), shortlist: int = SHORTLIST
) -> Compiled:
    """Entries matching every term, best first (``ranking``), with a point and a bbox.

    For words the planner expects in most names (``estimate.common``: ``common_sql``) the
    shortlist's answer (``shortlist_sql``), where
    a layer short of matches among its shortest names (a responsible planner's few streets,
    a word in long names only) ranks all of its own. Words too short for the trigram index,
    and a typed word (pinyin, initials) expected in ``many`` entries, read the names
    starting with the first word a layer at a time (``starting_by_layer``); a typed one
    gives way to every match when those are too few or a Latin label holds the words
    (``by_layer``). Rarer Chinese words look up the names starting with the first word
    first, through the btree (``starts_first``): a name starting so ranks above every other
    match (the whole name starts so too) as long as its label holds every word. When
    ``limit`` of them do, they are the answer, and the trigram index, whose lists grow with
    the city (翠微西里 at scale 10: 431 index pages, 3.7 ms), is never read; when not, every
    match is ranked. Each choice is made inside the statement, and the branch not taken
    never runs. The entries the planner expects the words in (``matches``) bound how far a
    shortlist reads on beside a number (``WALK_SHARE``).
    """
    if estimate.common:
        return outer(shortlist_sql(search, shortlist, int(estimate.matches * WALK_SHARE)))
    pieces = parts(search)
    way = by_layer(search)
    if way is ByLayer.EVERY_MATCH:
        return outer(statement(starting_by_layer(search), **pieces))
    if way is ByLayer.UNLESS_A_LATIN_LABEL and estimate.many:
        return or_every_match(
            starting_by_layer(search),
            "count(*) = {limit} AND NOT " + LATIN_LABEL_HOLDING,
            holding=holding(search),
            **pieces,
        )  # fmt: skip
    if starts_first(search):
        return or_every_match(
            starting_names(),
            "count(*) = {limit} AND coalesce(bool_and(NOT (rank_1 AND rank_2)), false)",
            **pieces,
        )  # fmt: skip
    return every_match_sql(search)


async def find(conn: psycopg.AsyncConnection, search: Search) -> list[tuple[Any, ...]]:
    """The ranked rows of ``search``: (layer, feature id, label, detail, point, bbox).

    Two round trips when a word is long enough to be common: the estimate, then the search.
    """
    row = None
    if (check := common_sql(search)) is not None:
        cur = await conn.execute(check.sql, check.params)
        row = await cur.fetchone()
    estimate = estimated(row)
    answer = search_sql(search, estimate)
    # Planned for its own values, never prepared: which layers rank every match is decided
    # on the values, and the plan PostgreSQL keeps for any values after five runs of the
    # shortlist read each layer's every match (55 ms at scale 10, against 7).
    cur = await conn.execute(answer.sql, answer.params, prepare=not estimate.common)
    return await cur.fetchall()
