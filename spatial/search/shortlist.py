"""A word in most names ("号楼"), ranked from a shortlist: each layer's shortest names."""

from __future__ import annotations

from typing import Any, NamedTuple

from psycopg import sql

from spatial.cql import Compiled
from spatial.search.ranking import (
    BY_RANK,
    COLUMNS,
    LATIN_LABEL_HOLDING,
    Search,
    best_of_layer,
    holding,
    literal,
    param,
    parts,
    statement,
    typed,
    typed_letters,
)
from spatial.search.terms import (
    contains,
    indexed,
    short_number,
    terms_condition,
    without_short_numbers,
)

# A search whose words the planner expects in at least COMMON_MATCHES entries, and in at
# least COMMON_SHARE of them, ranks a shortlist (``shortlist_sql``): ranking every match cost
# 95 ms for "号楼" at scale 1 and 1.0 s at scale 10, the shortlist ~6–11 ms at either. Rarer
# words are ranked as before, at a cost that grows with their matches (≤ ~20 ms for 10,000
# at scale 1); a word in 1.5 % of names (建国 at scale 10) is too rare among the shortest
# names for a shortlist to hold the best of it.
COMMON_MATCHES = 10_000
COMMON_SHARE = 0.05
SHORTLIST = 1_000  # a layer's shortest names read for a shortlist, at most
# Where a number is too short for the index, the names a shortlist reads on, at most: this
# share of the entries ranking every match would read (``_further``).
WALK_SHARE = 0.25
DENSITY_SAMPLE = 100  # a layer's shortest names that say whether to read so many

# A typed word the planner expects in fewer entries is ranked from every match (a few
# milliseconds), not from the names starting with it a layer at a time (``search_sql``),
# whose longer statement costs ~1 ms more than ranking a few matches ("cyjy2q").
MANY_MATCHES = 500


def common_sql(search: Search) -> Compiled | None:
    """Whether ``search``'s words are common, and whether many, from the planner's estimate.

    Two booleans: at least ``COMMON_MATCHES`` and ``COMMON_SHARE`` of the entries; at least
    ``MANY_MATCHES``. A plan, not a scan: ~0.3 ms at any size. A number too short for the
    trigram index is left out: ranking every match reads all of the other words' ("号楼 20"
    costs what "号楼" does, 55 ms at scale 1, though few names hold both), and the planner's
    guess for it hardly narrows them. None when no word is long enough for the index
    (prefixes only: few entries, whatever the size).
    """
    narrowing = without_short_numbers(search.terms)
    if not any(indexed(term) for term in narrowing):
        return None
    return Compiled(
        sql.SQL(
            "SELECT e.matches >= greatest(%s, %s * reltuples), e.matches >= %s, e.matches "
            "FROM pg_class, onemap_estimated_matches(%s, %s) AS e(matches) "
            "WHERE oid = 'search_entries'::regclass"
        ),
        [COMMON_MATCHES, COMMON_SHARE, MANY_MATCHES, list(narrowing),
         [la.name for la in search.layers]],
    )  # fmt: skip


class Estimate(NamedTuple):
    """What the planner expects of a search's words (``common_sql``), for ``search_sql``.

    No estimate (prefixes only) is neither common nor few.
    """

    common: bool = False  # in at least COMMON_MATCHES entries and COMMON_SHARE of them
    many: bool = True  # in at least MANY_MATCHES
    matches: float = 0.0  # the entries


def estimated(row: tuple[Any, ...] | None) -> Estimate:
    """``common_sql``'s row (None where it was not asked) as an ``Estimate``."""
    return Estimate() if row is None else Estimate(bool(row[0]), bool(row[1]), float(row[2]))


def shortlist_sql(search: Search, size: int = SHORTLIST, walk: int = 0) -> Compiled:
    """The best ``limit`` entries of a shortlist, with their rank (``ranking``).

    The shortlist: each layer's first ``limit`` matches that count (``_counted``) among its
    ``size`` shortest names the caller may find (a responsible planner's streets limit
    them first), and every match starting with the first term, through the btree indexes
    — so the whole name and the names starting with the word are all there. Within a tier
    results rank by layer, name length, name and id, so when a word is in most names its
    best matches are usually among the shortest, and a layer's names are read in that
    order only until ``limit`` match (a matching name that does not count ranks below
    every one that does, and matters only where all of them are fewer than ``limit``:
    then every layer ranks all its matches).

    Where the words the trigram index can narrow are in most of a layer's shortest names
    and a number is too short for it ("号楼 10" in the buildings: "号楼" is in every one),
    the index would hand the layer whole; its names are read on, up to ``walk`` of them
    (``_further``). "号楼 10" takes 16 ms at scale 1 and 54 at scale 10, where ranking
    every building holding 号楼 took 85 and 724; a number few buildings hold reads that
    many before ranking them all.

    Not always enough: 区1, in 23 % of names, is in none of the 1,000 shortest estates, and
    the shortlist answered a building where every match ranks the estate 光明小区10区
    first. So a layer whose shortlist may hide a better match (``_may_hide``) ranks all its
    matches, through the layer's own trigram indexes (migration 0022): a few milliseconds
    where the word is rare in it.
    """
    pieces = parts(search)
    layers = [literal(layer.name) for layer in search.layers]
    # Each layer's every match, ranked, where its shortlist may hide one: in rank order, so
    # a layer's decision counts what the layers before it found.
    every_match = [
        f"every_{i} AS MATERIALIZED (SELECT * FROM ("
        + best_of_layer(name, "{match} AND NOT {starts}", "{scope}")
        + f") e WHERE {_may_hide(search, layers, i)})"
        for i, name in enumerate(layers)
    ]  # fmt: skip
    ranked_again = " OR ".join(
        f"(c.layer = {name} AND EXISTS (SELECT FROM every_{i}))" for i, name in enumerate(layers)
    )
    # A layer's first matches come in the order its names are read, which the filters over
    # them keep; an ORDER BY over them made PostgreSQL sort every name read before the
    # LIMIT (97 ms for "号楼 10", against 12).
    read_on = _names_read_on(search)
    return statement(
        "WITH latin_label AS MATERIALIZED (SELECT " + LATIN_LABEL_HOLDING + " AS held),"
        " shortlist AS MATERIALIZED ("
        " SELECT c.* FROM unnest({names}::text[]) AS l(name) CROSS JOIN LATERAL (SELECT * FROM ("
        + _names_read(search, "LIMIT {size}") + read_on +
        ") c WHERE " + _counted(search) + " LIMIT {limit}) c"
        " UNION ALL"
        " SELECT " + COLUMNS + " FROM search_entries s"
        " WHERE s.layer = ANY({names}) AND {starts} AND {match} AND {scope}"
        "), " + ", ".join(every_match) + " "
        "SELECT * FROM ("
        " SELECT * FROM shortlist c WHERE NOT (c.rank_3 AND (" + ranked_again + "))"
        + "".join(f" UNION ALL SELECT * FROM every_{i}" for i in range(len(layers))) +
        ") c ORDER BY " + BY_RANK + " LIMIT {limit}",
        size=param(size),
        **({"further": _further(search, size, walk)} if read_on else {}),
        holding=holding(search),
        **pieces,
    )  # fmt: skip


def _names_read(search: Search, limit: str) -> str:
    """Layer ``l.name``'s matches not starting with the first word, in its names' order.

    Its names shortest first, then by label and id (``ranking``), in the caller's streets,
    as many as ``limit`` says (template). Where only a label holding every word counts
    (``_counted``), that is asked first: a label is short, and most names read on beside a
    number fail there ("号楼 10" at scale 10: 63 -> 54 ms).
    """
    label_first = "" if typed_letters(search) else "{holding} AND "
    return (
        "SELECT " + COLUMNS + " FROM (SELECT * FROM search_entries s"
        " WHERE s.layer = l.name AND {scope} ORDER BY length(s.label), s.label, s.feature_id "
        + limit + ") s WHERE " + label_first + "{match} AND NOT {starts}"
    )  # fmt: skip


def _names_read_on(search: Search) -> str:
    """The names past the first ``size``, read only where those held too few (template).

    Only beside a number too short for the trigram index (``_further``); the count of them
    is asked only when they are reached, so a search the first names settle pays nothing.
    """
    if not any(short_number(term) for term in search.terms):
        return ""
    return " UNION ALL " + _names_read(search, "OFFSET {size} LIMIT {further}")


def _further(search: Search, size: int, walk: int) -> Compiled:
    """How many names past its ``size`` shortest a layer's shortlist reads, at most.

    None; or up to ``walk`` names in all where a number is too short for the trigram index
    ("10") and the other words are in the labels of at least half of the layer's
    ``DENSITY_SAMPLE`` shortest names (not just their text: "街道" is in the address of most
    buildings but in the label of none, and a walk of the buildings for "街道 1" would count
    nothing). Only for a number: a single character ("明") is as short, but its pinyin
    often narrows through the index after all ("ming": "号楼 99 明" takes 3.7 ms ranking
    every match). The sample is the layer's, whatever streets limit the caller: it is about
    the words, and checking its names against the streets cost a responsible planner ~1.5
    ms a layer.

    ``search_sql`` makes ``walk`` a share of the entries ranking every match would read
    (``WALK_SHARE``), as the walk grows with the layer: the tenth building holding 号楼 and
    10 is 7 % of the way through the buildings at every scale (4,228 names at scale 1,
    42,014 at 10), with 21 10 %; with 23 and up 41 % or more, where reading them cost more
    than ranking every match (+80 ms at scale 1, read whole).
    """
    narrowing = without_short_numbers(search.terms)
    match = terms_condition(narrowing)
    in_label = [contains(term) for term in narrowing if not typed(term)]
    return Compiled(
        sql.SQL(
            "(SELECT CASE WHEN count(*) FILTER (WHERE {match} AND s.label ILIKE ALL(%s)) * 2"
            " >= count(*) THEN %s ELSE 0 END FROM (SELECT * FROM search_entries s"
            " WHERE s.layer = l.name ORDER BY length(s.label), s.label LIMIT %s) s)"
        ).format(match=match.sql),
        [*match.params, in_label, max(0, walk - size), DENSITY_SAMPLE],
    )


def _counted(search: Search) -> str:
    """A match (alias ``c``) that counts toward settling a layer: its label holds every word.

    Typed letters (pinyin, initials) are in no Chinese label, so for them every match
    counts, unless a label with Latin letters holds the words (``LATIN_LABEL_HOLDING``): it
    would rank above any match whose label does not hold them. Digits are in labels
    ("10号楼") and count only there.
    """
    if typed_letters(search):
        return "(NOT c.rank_2 OR NOT (SELECT held FROM latin_label))"
    return "NOT c.rank_2"


def _may_hide(search: Search, layers: list[str], i: int) -> str:
    """Whether layer ``i``'s shortlist may hide a match better than the answer's (SQL).

    It may not when the shortlist holds ``limit`` of the layer's matches whose label holds
    every word (``rank_2``): the layer's names past the shortlist come after them in its
    order (length, label, id), so they rank below those. Nor when there are ``limit`` such
    matches starting with the first word (``rank_3``) or in the layers before it (their
    ``every_j``, or their shortlist's where that did not run): the whole layer ranks below
    those. Only matches that count (``_counted``) settle anything.
    """
    counted = _counted(search)
    before = "".join(
        f" + greatest(count(*) FILTER (WHERE c.layer = {name} AND c.rank_3 AND {counted}),"
        f" (SELECT count(*) FROM every_{j} c WHERE {counted}))"
        for j, name in enumerate(layers[:i])
    )
    return (
        f"(SELECT count(*) FILTER (WHERE c.layer = {layers[i]} AND c.rank_3 AND {counted})"
        f" < {{limit}} AND count(*) FILTER (WHERE NOT c.rank_3 AND {counted}){before}"
        " < {limit} FROM shortlist c)"
    )
