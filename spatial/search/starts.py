"""Names starting with the first word, looked up first through btrees where they settle it."""

from __future__ import annotations

from enum import Enum

from spatial.cql import Compiled
from spatial.search.ranking import (
    BY_RANK,
    COLUMNS,
    EVERY_MATCH,
    Search,
    best_of_layer,
    literal,
    outer,
    statement,
    typed_letters,
)
from spatial.search.terms import indexed


def starts_first(search: Search) -> bool:
    """Whether names starting with the first word are looked up first (``search_sql``).

    Only for a Chinese word the trigram index would be asked for: such a name holds the word
    in its label, so with enough of them they are the answer. A name starting with a typed
    pinyin holds it in no Chinese label, and ranks below any that does: they would settle
    nothing, and "jianguo" starts 13,000 names at scale 10. A building's whole name too
    ("翠微西里3号楼"): in one city one name starts so, too few, and every match is ranked
    after a lookup of ~0.1 ms; where names repeat (a national index, the sample's copies of
    the city) the lookup is the answer: 9 -> 1.3 ms at scale 10, 31 -> 1.3 ms at scale 40.
    """
    first = search.terms[0]
    return not first.isascii() and any(indexed(t) for t in search.terms)


def starting_names() -> str:
    """The best ``limit`` names starting with the first word, every layer at once (template).

    OFFSET 0 keeps the trigram conditions out of the names' lookup: offered them, the
    planner would read the trigram index anyway.
    """
    return (
        "SELECT " + COLUMNS + " FROM (SELECT * FROM search_entries s"
        " WHERE s.layer = ANY({names}) AND {starts} OFFSET 0) s"
        " WHERE {match} AND {scope} ORDER BY " + BY_RANK + " LIMIT {limit}"
    )


class ByLayer(Enum):
    """How ``search_sql`` looks up names starting with the first word a layer at a time."""

    EVERY_MATCH = "every match starts so"
    UNLESS_A_LATIN_LABEL = "unless a label with Latin letters holds every word"


def by_layer(search: Search) -> ByLayer | None:
    """Whether names starting with the first word are read a layer at a time, and why.

    See ``starting_by_layer``. Words too short for the trigram index ("j", "建") match the
    start of names only: every match is among those names. A typed word (pinyin, initials:
    "jianguo") is in no Chinese label, so the names starting with it rank above every other
    match, unless a label holds the typed letters themselves; only a label with Latin
    letters can (a partial index says whether one does). Chinese words have their own way
    (``starts_first``).
    """
    if not any(indexed(t) for t in search.terms):
        return ByLayer.EVERY_MATCH
    if search.terms[0].isascii() and typed_letters(search):
        return ByLayer.UNLESS_A_LATIN_LABEL
    return None


def starting_by_layer(search: Search) -> str:
    """The best ``limit`` names starting with the first word, a layer at a time (template).

    Names starting so rank by layer, then shortest first: a layer is read (through the
    btree of its names' starts, migration 0023) only while the layers before it hold fewer
    than ``limit``. ``jianguo`` at scale 10: 10 streets, 0.08 ms, where every name starting
    with it took 8,536 rows and every match 15.7 ms.
    """
    lookups = []
    for i, layer in enumerate(search.layers):
        lookup = best_of_layer(literal(layer.name), "{starts}", "{match} AND {scope}")
        if i:
            found = " + ".join(f"(SELECT count(*) FROM starting_{j})" for j in range(i))
            lookup = "SELECT * FROM (" + lookup + ") e WHERE " + found + " < {limit}"
        lookups.append(f"starting_{i} AS MATERIALIZED (" + lookup + ")")
    every = " UNION ALL ".join(f"SELECT * FROM starting_{i}" for i in range(len(lookups)))
    return (
        "WITH " + ", ".join(lookups) + " SELECT * FROM (" + every + ") c"
        " ORDER BY " + BY_RANK + " LIMIT {limit}"
    )


def or_every_match(candidates: str, settled: str, **parts: Compiled) -> Compiled:
    """The ranked ``candidates`` when ``settled`` holds over them, else every match ranked.

    The choice is made inside the statement, and the branch not taken never runs. The
    fallback's gate stays outside its subquery (the LIMIT keeps it there): inside, it would
    reach a parallel plan's workers, which cost ~20 ms to start to find nothing.
    """
    gate = "(SELECT " + settled + " FROM candidates)"
    return outer(statement(
        "WITH candidates AS MATERIALIZED (" + candidates + ") "
        "SELECT * FROM candidates WHERE " + gate + " "
        "UNION ALL SELECT * FROM (" + EVERY_MATCH + ") e WHERE NOT " + gate,
        **parts,
    ))  # fmt: skip
