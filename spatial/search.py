"""Free-text search over the search index (``search_entries``, kept by triggers at write time).

A term matches an entry when it is part of the entry's text ("建国西里", "10号楼"), of its pinyin
("jianguoxili", also with a heteronym's other reading: 长安 as "changan"), or of its initials
("jgxl"). Terms separated by spaces must all match; ``q=`` on items also takes a comma-separated
list of alternatives, as OGC API text search does. Everything is matched through the pinyin
columns, which carry pg_trgm indexes (see migration 0008). A word in most names ("号楼") is
ranked from a shortlist (``shortlist_sql``), chosen on the planner's estimate (``common_sql``,
migration 0016): the same answer as ranking every match, at a cost that does not grow with the
city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

import psycopg
from psycopg import sql

from layers import Layer
from layers.errors import InvalidInput
from spatial.cql import Compiled, SqlText
from spatial.scope import StreetScope, condition

MAX_TEXT = 200  # characters: a name and an address, with room to spare
MAX_TERMS = 8
_WORD_RUNS = re.compile(r"[a-z0-9]+")
# A building's or a unit's number at the end of a name ("…10号楼", "…3单元"): in nearly every
# building's entry, so its trigrams ("hao", "lou") fill the index's longest lists.
_NUMBERED_PART = re.compile(r"[0-9一二三四五六七八九十]+\s*(号楼|号院|单元|栋|幢|号)$")
# The same typed in pinyin or initials ("…10haolou", "…10hl").
_NUMBERED_TYPED = re.compile(r"[0-9]+\s*(haolou|haoyuan|danyuan|dong|zhuang|hao|hl|hy|dy)$")


def parse_terms(text: str | None, name: str = "q") -> tuple[str, ...]:
    """The whitespace-separated terms of a search, checked; InvalidInput names ``name``."""
    if text is None or not text.strip():
        raise InvalidInput(f"{name}: give at least one character to search for")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{name}: at most {MAX_TEXT} characters")
    if any(not ch.isprintable() for ch in text if not ch.isspace()):
        raise InvalidInput(f"{name}: control characters are not searchable")
    terms = tuple(dict.fromkeys(text.split()))
    if len(terms) > MAX_TERMS:
        raise InvalidInput(f"{name}: at most {MAX_TERMS} words")
    return terms


def parse_alternatives(text: str | None) -> tuple[tuple[str, ...], ...]:
    """``q=`` on items: comma-separated alternatives (OGC), each a list of terms."""
    parts = [part for part in (text or "").split(",") if part.strip()]
    if not parts:
        return (parse_terms(text),)
    if len(parts) > MAX_TERMS:
        raise InvalidInput(f"q: at most {MAX_TERMS} comma-separated alternatives")
    return tuple(parse_terms(part) for part in parts)


def _escaped(term: str) -> str:
    """``term`` with LIKE's own characters taken literally."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(term: str) -> str:
    return f"%{_escaped(term)}%"


def _indexed(term: str) -> bool:
    """Whether pg_trgm can narrow a substring search for ``term``.

    It takes trigrams from runs of letters and digits: three in a row in Latin script, two
    Chinese characters (their pinyin). Without one ("%%%", "a-b", "——") it would read every
    entry to find nothing (0.74 s at scale 10, for anyone to send).
    """
    if term.isascii():
        return any(len(run) >= 3 for run in _WORD_RUNS.findall(term.lower()))
    return sum(ch.isalnum() for ch in term) >= 2


def term_condition(term: str, entry: str = "s") -> Compiled:
    """An entry (alias ``entry``) contains ``term`` in its text, pinyin or initials."""
    e = sql.Identifier(entry)
    if term.isascii():  # pinyin, initials, numbers, English names: all lower case in the index
        typed = term.lower()
        probe = _probe(typed)
        pattern = _like(probe)
        indexed = sql.SQL(
            "({e}.pinyin LIKE %s OR {e}.pinyin_alternate LIKE %s OR {e}.initials LIKE %s)"
        ).format(e=e)
        if probe == typed:
            return Compiled(indexed, [pattern, pattern, pattern])
        # The whole term confirmed with strpos, which no index serves: the index is asked
        # for the probe alone ("nanlishilunanli10haolou" at scale 40: 53 -> 23 ms).
        return Compiled(
            sql.SQL(
                "({indexed} AND (strpos({e}.pinyin, %s) > 0 "
                "OR strpos({e}.pinyin_alternate, %s) > 0 OR strpos({e}.initials, %s) > 0))"
            ).format(indexed=indexed, e=e),
            [pattern, pattern, pattern, typed, typed, typed],
        )
    # Chinese: the pinyin of its distinctive part (``_probe``) finds candidates through the
    # index; the whole term in the text confirms them. The pattern is a subquery so that it
    # is computed once (an InitPlan), not again for each candidate the index's recheck reads:
    # 月坛西里3区 at scale 10, 15.6 -> 5.9 ms.
    return Compiled(
        sql.SQL(
            "({e}.pinyin LIKE (SELECT '%%' || replace(replace(replace(onemap_pinyin(%s::text), "
            "'\\', '\\\\'), '%%', '\\%%'), '_', '\\_') || '%%') AND {e}.haystack ILIKE %s)"
        ).format(e=e),
        [_probe(term), _like(term)],
    )


def _probe(term: str) -> str:
    """The part of a term whose pinyin the index is asked for.

    Without a building's number at its end when what is left can still be narrowed
    ("南礼士路南里10号楼" -> "南礼士路南里", "nlslnl10hl" -> "nlslnl"). A text that holds
    the whole term holds the part, and pinyin is read character by character, so every
    entry of the whole term is among the part's candidates; the whole term then confirms
    them. At scale 40 the index read 4,564 pages for the whole name (88-140 ms) and 1,638
    for the estate's (12-17 ms).
    """
    part = (_NUMBERED_TYPED if term.isascii() else _NUMBERED_PART).sub("", term)
    return part if part != term and _indexed(part) else term


def prefix_condition(term: str, entry: str = "s") -> Compiled:
    """An entry's name starts with ``term`` (or its pinyin or initials do)."""
    e = sql.Identifier(entry)
    if term.isascii():
        pattern = _escaped(term.lower()) + "%"
        return Compiled(
            sql.SQL("({e}.pinyin LIKE %s OR {e}.initials LIKE %s)").format(e=e), [pattern] * 2
        )
    return Compiled(sql.SQL("{e}.haystack LIKE %s").format(e=e), [_escaped(term) + "%"])


def terms_condition(terms: tuple[str, ...], entry: str = "s") -> Compiled:
    """Every term matches.

    When none is long enough for the index to narrow ("j", "jg", "建" while someone types),
    they match the start of the name instead, through btree indexes: what a person typing
    expects, and fast.
    """
    match = term_condition if any(_indexed(t) for t in terms) else prefix_condition
    parts = [match(term, entry) for term in terms]
    return Compiled(
        sql.SQL(" AND ").join(p.sql for p in parts), [v for p in parts for v in p.params]
    )


def matching_ids(layer: Layer, alternatives: tuple[tuple[str, ...], ...]) -> Compiled:
    """``id IN (…)``: the layer's features that match one of the alternatives (items' ``q=``)."""
    if not layer.search:
        raise InvalidInput(
            f"q: {layer.name!r} has no text to search; use filter= or a property=value"
        )
    parts = [terms_condition(terms) for terms in alternatives]
    return Compiled(
        sql.SQL("id IN (SELECT s.feature_id FROM search_entries s WHERE s.layer = %s AND ({}))")
        .format(sql.SQL(" OR ").join(sql.SQL("({})").format(p.sql) for p in parts)),
        [layer.name, *(v for p in parts for v in p.params)],
    )  # fmt: skip


@dataclass(frozen=True)
class Search:
    """A search across layers: the caller's searchable layers, in the order results rank."""

    terms: tuple[str, ...]
    layers: tuple[Layer, ...]
    scope: StreetScope | None = None
    limit: int = 10


def _in_scope(search: Search) -> SqlText:
    """Rows of layers a street scope limits are found only inside its streets."""
    limited = [la for la in search.layers if search.scope and search.scope.limits_rows(la)]
    if not limited or search.scope is None:
        return sql.SQL("TRUE")
    scope = search.scope
    return sql.SQL(" AND ").join(
        sql.SQL("(s.layer <> {name} OR EXISTS (SELECT 1 FROM {table} t "
                "WHERE t.id = s.feature_id AND {inside}))").format(
            name=sql.Literal(la.name), table=sql.Identifier(la.name), inside=condition(la, scope)
        )
        for la in limited
    )  # fmt: skip


def _rank(search: Search) -> Compiled:
    """The order results come in: columns ``rank_1`` … (``_BY_RANK``), smallest first.

    First the whole label, then a label holding every term ("建国西里 10": building 10 before
    the estate whose code holds a 10), a name starting with the first term, then by layer
    (areas before the features in them), shorter labels, and the label; the feature's id
    settles ties, so that the same search always answers the same. (Separate columns, not
    one row value: comparing row values made ranking 8,600 matches 5 ms slower.)
    """
    starts = prefix_condition(search.terms[0])
    keys = [
        sql.SQL("s.label <> %s"),
        sql.SQL("NOT s.label ILIKE ALL(%s)"),
        sql.SQL("NOT {}").format(starts.sql),
        sql.SQL("array_position(%s, s.layer)"),
        sql.SQL("length(s.label)"),
        sql.SQL("s.label"),
        sql.SQL("s.feature_id"),
    ]
    return Compiled(
        sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(key, sql.Identifier(f"rank_{i}"))
            for i, key in enumerate(keys, 1)
        ),
        [" ".join(search.terms), [_like(t) for t in search.terms], *starts.params,
         [layer.name for layer in search.layers]],
    )  # fmt: skip


_BY_RANK = ", ".join(f"rank_{i}" for i in range(1, 8))


def _statement(template: str, **parts: Compiled) -> Compiled:
    """``template`` with each ``{name}`` filled by ``parts[name]``.

    The parameters follow the names in the order they appear (a part used twice gives its
    parameters twice).
    """
    names = re.findall(r"{(\w+)}", template)
    return Compiled(
        sql.SQL(template).format(**{name: part.sql for name, part in parts.items()}),
        [value for name in names for value in parts[name].params],
    )


def _value(value: Any) -> Compiled:
    return Compiled(sql.SQL("%s"), [value])


# A search whose words the planner expects in at least COMMON_MATCHES entries, and in at
# least COMMON_SHARE of them, ranks a shortlist (``shortlist_sql``): ranking every match cost
# 95 ms for "号楼" at scale 1 and 1.0 s at scale 10, the shortlist ~6–11 ms at either. Rarer
# words are ranked as before, at a cost that grows with their matches (≤ ~20 ms for 10,000
# at scale 1); a word in 1.5 % of names (建国 at scale 10) is too rare among the shortest
# names for a shortlist to hold the best of it.
COMMON_MATCHES = 10_000
COMMON_SHARE = 0.05
SHORTLIST = 1_000  # a layer's shortest names read for a shortlist

_COLUMNS = "s.layer, s.feature_id, s.label, s.detail, s.place, s.extent, {rank}"


# A typed word the planner expects in fewer entries is ranked from every match (a few
# milliseconds), not from the names starting with it a layer at a time (``search_sql``),
# whose longer statement costs ~1 ms more than ranking a few matches ("cyjy2q").
MANY_MATCHES = 500


def common_sql(search: Search) -> Compiled | None:
    """Whether ``search``'s words are common, and whether many, from the planner's estimate.

    Two booleans: at least ``COMMON_MATCHES`` and ``COMMON_SHARE`` of the entries; at least
    ``MANY_MATCHES``. A plan, not a scan: ~0.3 ms at any size. None when no word is long
    enough for the trigram index (prefixes only: few entries, whatever the size).
    """
    if not any(_indexed(t) for t in search.terms):
        return None
    return Compiled(
        sql.SQL(
            "SELECT e.matches >= greatest(%s, %s * reltuples), e.matches >= %s "
            "FROM pg_class, onemap_estimated_matches(%s, %s) AS e(matches) "
            "WHERE oid = 'search_entries'::regclass"
        ),
        [COMMON_MATCHES, COMMON_SHARE, MANY_MATCHES, list(search.terms),
         [la.name for la in search.layers]],
    )  # fmt: skip


def estimated(row: tuple[Any, ...] | None) -> tuple[bool, bool]:
    """``common_sql``'s answer as ``search_sql`` takes it: whether common, whether many.

    No estimate (prefixes only, ``common_sql`` is None) is neither common nor few.
    """
    common, many = row or (False, True)
    return bool(common), bool(many)


def _parts(search: Search) -> dict[str, Compiled]:
    return {
        "match": terms_condition(search.terms),
        "starts": prefix_condition(search.terms[0]),
        "scope": Compiled(_in_scope(search)),
        "rank": _rank(search),
        "names": _value([layer.name for layer in search.layers]),
        "limit": _value(search.limit),
    }


def shortlist_sql(search: Search, size: int = SHORTLIST) -> Compiled:
    """The best ``limit`` entries of a shortlist, with their rank (``_rank``).

    The shortlist: the best ``limit`` matches among each layer's ``size`` shortest names the
    caller may find (a responsible planner's streets limit them first), and every match
    starting with the first term, through the btree indexes — so the whole name and the
    names starting with the word are all there. Within a tier results rank by layer and
    name length, so when a word is in most names its best matches are usually among the
    shortest. Not always: 区1, in 23 % of names, is in none of the 1,000 shortest estates,
    and the shortlist answered a building where every match ranks the estate 光明小区10区
    first. So a layer whose shortlist may hide a better match (``_may_hide``) ranks all its
    matches, through the layer's own trigram indexes (migration 0022): a few milliseconds
    where the word is rare in it.
    """
    parts = _parts(search)
    layers = [_literal(layer.name) for layer in search.layers]
    # Each layer's every match, ranked, where its shortlist may hide one: in rank order, so
    # a layer's decision counts what the layers before it found.
    every_match = [
        f"every_{i} AS MATERIALIZED (SELECT * FROM ("
        + _best_of_layer(name, "{match} AND NOT {starts}", "{scope}")
        + f") e WHERE {_may_hide(search, layers, i)})"
        for i, name in enumerate(layers)
    ]  # fmt: skip
    ranked_again = " OR ".join(
        f"(c.layer = {name} AND EXISTS (SELECT FROM every_{i}))" for i, name in enumerate(layers)
    )
    return _statement(
        "WITH shortlist AS MATERIALIZED ("
        " SELECT c.* FROM unnest({names}::text[]) AS l(name) CROSS JOIN LATERAL ("
        "  SELECT " + _COLUMNS + " FROM (SELECT * FROM search_entries s"
        "   WHERE s.layer = l.name AND {scope} ORDER BY length(s.label), s.label"
        "   LIMIT {size}) s WHERE {match} AND NOT {starts} ORDER BY " + _BY_RANK +
        "   LIMIT {limit}) c"
        " UNION ALL"
        " SELECT " + _COLUMNS + " FROM search_entries s"
        " WHERE s.layer = ANY({names}) AND {starts} AND {match} AND {scope}"
        "), latin_label AS MATERIALIZED (SELECT " + _LATIN_LABEL_HOLDING + " AS held), "
        + ", ".join(every_match) + " "
        "SELECT * FROM ("
        " SELECT * FROM shortlist c WHERE NOT (c.rank_3 AND (" + ranked_again + "))"
        + "".join(f" UNION ALL SELECT * FROM every_{i}" for i in range(len(layers))) +
        ") c ORDER BY " + _BY_RANK + " LIMIT {limit}",
        size=_value(size),
        holding=_holding(search),
        **parts,
    )  # fmt: skip


def _may_hide(search: Search, layers: list[str], i: int) -> str:
    """Whether layer ``i``'s shortlist may hide a match better than the answer's (SQL).

    It may not when the shortlist holds ``limit`` of the layer's matches whose label holds
    every word (``rank_2``): the layer's names past the shortlist are at least as long, so
    they rank below those. Nor when there are ``limit`` such matches starting with the first
    word (``rank_3``) or in the layers before it (their ``every_j``, or their shortlist's
    where that did not run): the whole layer ranks below those. Typed letters (pinyin,
    initials) are in no Chinese label, so for them every match counts, unless a label with
    Latin letters holds the words (``_LATIN_LABEL_HOLDING``). Digits are in labels ("10号楼")
    and count only there.
    """
    # Where a label with Latin letters holds every typed word, it would rank above any
    # match whose label does not hold them: then only those count, as for Chinese words.
    counted = "NOT c.rank_2"
    if _typed_letters(search):
        counted = "(NOT c.rank_2 OR NOT (SELECT held FROM latin_label))"
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


def _best_of_layer(name: str, read: str, keep: str) -> str:
    """A layer's best ``limit`` entries that ``read`` finds and ``keep`` keeps (template).

    ``name`` is in the statement itself (``_literal``), so the planner picks the layer's own
    indexes for ``read``; OFFSET 0 keeps ``keep`` out of that choice (offered trigram
    conditions, the planner would read the trigram index, or walk the layer shortest name
    first, whatever ``read`` narrows).
    """
    return (
        "SELECT " + _COLUMNS + " FROM (SELECT * FROM search_entries s WHERE s.layer = "
        + name + " AND " + read + " OFFSET 0) s WHERE " + keep
        + " ORDER BY " + _BY_RANK + " LIMIT {limit}"
    )  # fmt: skip


def _literal(name: str) -> str:
    """A layer's name in the statement itself, so the planner picks the layer's own indexes.

    Only names from the registry come here (``Search.layers``); quoted all the same.
    """
    return "'" + name.replace("'", "''") + "'"


_EVERY_MATCH = (
    "SELECT " + _COLUMNS + " FROM search_entries s WHERE s.layer = ANY({names}) "
    "AND {match} AND {scope} ORDER BY " + _BY_RANK + " LIMIT {limit}"
)


def _starts_first(search: Search) -> bool:
    """Whether names starting with the first word are looked up first (``search_sql``).

    Only for a Chinese word the trigram index would be asked for: such a name holds the word
    in its label, so with enough of them they are the answer. A name starting with a typed
    pinyin holds it in no Chinese label, and ranks below any that does: they would settle
    nothing, and "jianguo" starts 13,000 names at scale 10. Nor for a building's whole name
    ("翠微西里3号楼"): one name starts so, too few, and the lookup only delays ranking every
    match (+0.5 ms at scale 1), which its estate's part already narrows (``_probe``).
    """
    first = search.terms[0]
    return not first.isascii() and _probe(first) == first and any(_indexed(t) for t in search.terms)


class _ByLayer(Enum):
    """How ``search_sql`` looks up names starting with the first word a layer at a time."""

    EVERY_MATCH = "every match starts so"
    UNLESS_A_LATIN_LABEL = "unless a label with Latin letters holds every word"


def _by_layer(search: Search) -> _ByLayer | None:
    """Whether names starting with the first word are read a layer at a time, and why.

    See ``starting_by_layer``. Words too short for the trigram index ("j", "建") match the
    start of names only: every match is among those names. A typed word (pinyin, initials:
    "jianguo") is in no Chinese label, so the names starting with it rank above every other
    match, unless a label holds the typed letters themselves; only a label with Latin
    letters can (a partial index says whether one does). Chinese words have their own way
    (``_starts_first``).
    """
    if not any(_indexed(t) for t in search.terms):
        return _ByLayer.EVERY_MATCH
    if search.terms[0].isascii() and _typed_letters(search):
        return _ByLayer.UNLESS_A_LATIN_LABEL
    return None


def _typed_letters(search: Search) -> bool:
    """Whether a word holds Latin letters: then only a label with Latin letters holds it."""
    return any(ch.isascii() and ch.isalpha() for t in search.terms for ch in t)


def starting_by_layer(search: Search) -> str:
    """The best ``limit`` names starting with the first word, a layer at a time (template).

    Names starting so rank by layer, then shortest first: a layer is read (through the
    btree of its names' starts, migration 0023) only while the layers before it hold fewer
    than ``limit``. ``jianguo`` at scale 10: 10 streets, 0.08 ms, where every name starting
    with it took 8,536 rows and every match 15.7 ms.
    """
    lookups = []
    for i, layer in enumerate(search.layers):
        lookup = _best_of_layer(_literal(layer.name), "{starts}", "{match} AND {scope}")
        if i:
            found = " + ".join(f"(SELECT count(*) FROM starting_{j})" for j in range(i))
            lookup = "SELECT * FROM (" + lookup + ") e WHERE " + found + " < {limit}"
        lookups.append(f"starting_{i} AS MATERIALIZED (" + lookup + ")")
    every = " UNION ALL ".join(f"SELECT * FROM starting_{i}" for i in range(len(lookups)))
    return (
        "WITH " + ", ".join(lookups) + " SELECT * FROM (" + every + ") c"
        " ORDER BY " + _BY_RANK + " LIMIT {limit}"
    )


# A label with Latin letters: the predicate of the partial index that finds them
# (``layers.schema.search``, migration 0023), written the same here so that it is used.
LATIN_LABEL = "label ~ '[A-Za-z]'"
# One of them holding every word.
_LATIN_LABEL_HOLDING = (
    "EXISTS (SELECT FROM (SELECT * FROM search_entries s WHERE s.layer = ANY({names})"
    " AND " + LATIN_LABEL + " OFFSET 0) s WHERE {holding} AND {match} AND {scope})"
)


def _holding(search: Search) -> Compiled:
    """The entry's label holds every word (``rank_2``'s test, for ``_LATIN_LABEL_HOLDING``)."""
    return Compiled(sql.SQL("s.label ILIKE ALL(%s)"), [[_like(t) for t in search.terms]])


def every_match_sql(search: Search) -> Compiled:
    """Every entry matching every term, ranked: what every other way must answer alike."""
    return _outer(_statement(_EVERY_MATCH, **_parts(search)))


def search_sql(
    search: Search, common: bool = False, shortlist: int = SHORTLIST, many: bool = True
) -> Compiled:
    """Entries matching every term, best first (``_rank``), with a point and a bbox.

    For ``common`` words (``common_sql``) the shortlist's answer (``shortlist_sql``), where
    a layer short of matches among its shortest names (a responsible planner's few streets,
    a word in long names only) ranks all of its own. Words too short for the trigram index,
    and a typed word (pinyin, initials) expected in ``many`` entries, read the names
    starting with the first word a layer at a time (``starting_by_layer``); a typed one
    gives way to every match when those are too few or a Latin label holds the words
    (``_by_layer``). Rarer Chinese words look up the names starting with the first word
    first, through the btree (``_starts_first``): a name starting so ranks above every other
    match (the whole name starts so too) as long as its label holds every word. When
    ``limit`` of them do, they are the answer, and the trigram index, whose lists grow with
    the city (翠微西里 at scale 10: 431 index pages, 3.7 ms), is never read; when not, every
    match is ranked. Each choice is made inside the statement, and the branch not taken
    never runs.
    """
    parts = _parts(search)
    if common:
        return _outer(shortlist_sql(search, shortlist))
    by_layer = _by_layer(search)
    if by_layer is _ByLayer.EVERY_MATCH:
        return _outer(_statement(starting_by_layer(search), **parts))
    if by_layer is _ByLayer.UNLESS_A_LATIN_LABEL and many:
        return _or_every_match(
            starting_by_layer(search),
            "count(*) = {limit} AND NOT " + _LATIN_LABEL_HOLDING,
            holding=_holding(search),
            **parts,
        )  # fmt: skip
    if _starts_first(search):
        # OFFSET 0 keeps the trigram conditions out of the names' lookup: offered them,
        # the planner would read the trigram index anyway.
        return _or_every_match(
            "SELECT " + _COLUMNS + " FROM (SELECT * FROM search_entries s"
            " WHERE s.layer = ANY({names}) AND {starts} OFFSET 0) s"
            " WHERE {match} AND {scope} ORDER BY " + _BY_RANK + " LIMIT {limit}",
            "count(*) = {limit} AND coalesce(bool_and(NOT (rank_1 AND rank_2)), false)",
            **parts,
        )  # fmt: skip
    return every_match_sql(search)


def _or_every_match(candidates: str, settled: str, **parts: Compiled) -> Compiled:
    """The ranked ``candidates`` when ``settled`` holds over them, else every match ranked.

    The choice is made inside the statement, and the branch not taken never runs. The
    fallback's gate stays outside its subquery (the LIMIT keeps it there): inside, it would
    reach a parallel plan's workers, which cost ~20 ms to start to find nothing.
    """
    gate = "(SELECT " + settled + " FROM candidates)"
    return _outer(_statement(
        "WITH candidates AS MATERIALIZED (" + candidates + ") "
        "SELECT * FROM candidates WHERE " + gate + " "
        "UNION ALL SELECT * FROM (" + _EVERY_MATCH + ") e WHERE NOT " + gate,
        **parts,
    ))  # fmt: skip


def _outer(ranked: Compiled) -> Compiled:
    """The ranked rows as the route answers them: a point and a bbox to zoom to."""
    return _statement(
        "SELECT r.layer, r.feature_id, r.label, r.detail, ST_AsGeoJSON(r.place, 7)::json, "
        "CASE WHEN r.extent IS NULL THEN NULL ELSE json_build_array(ST_XMin(r.extent), "
        "ST_YMin(r.extent), ST_XMax(r.extent), ST_YMax(r.extent)) END "
        "FROM ({ranked}) r ORDER BY " + _BY_RANK,
        ranked=ranked,
    )


async def find(conn: psycopg.AsyncConnection, search: Search) -> list[tuple[Any, ...]]:
    """The ranked rows of ``search``: (layer, feature id, label, detail, point, bbox).

    Two round trips when a word is long enough to be common: the estimate, then the search.
    """
    estimate = None
    if (check := common_sql(search)) is not None:
        cur = await conn.execute(check.sql, check.params)
        estimate = await cur.fetchone()
    common, many = estimated(estimate)
    statement = search_sql(search, common, many=many)
    # Planned for its own values, never prepared: which layers rank every match is decided
    # on the values, and the plan PostgreSQL keeps for any values after five runs of the
    # shortlist read each layer's every match (55 ms at scale 10, against 7).
    cur = await conn.execute(statement.sql, statement.params, prepare=not common)
    return await cur.fetchall()
