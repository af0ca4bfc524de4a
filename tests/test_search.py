"""Free-text search: ``/search`` and ``q=`` on items, against answers computed here.

Expected results come from the layer tables themselves (SQL ``LIKE`` on names) and from
pypinyin run in the test, never from ``search_entries``; the index's upkeep is checked by
writing, renaming and deleting rows and searching again.
"""

from __future__ import annotations

import random
from collections import Counter

import psycopg
import pytest
from psycopg import sql

from api import accounts
from layers import REGISTRY, Role, Visibility
from spatial.scope import StreetScope
from spatial.search import (
    Estimate,
    Search,
    common_sql,
    every_match_sql,
    search_sql,
    shortlist_sql,
    terms_condition,
)
from spatial.search import shortlist as shortlist_module
from spatial.search import starts as starts_module
from spatial.search import terms as terms_module
from tests_support import ADMIN_TOKEN, plan_nodes

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def pinyin_of(text: str, initials: bool = False) -> str:
    """Per character, as a person types it (not pypinyin's phrase readings)."""
    from pypinyin import Style, lazy_pinyin  # here: its dictionaries cost every worker 0.4 s

    style = Style.FIRST_LETTER if initials else Style.NORMAL
    return "".join(lazy_pinyin(ch, style=style)[0] for ch in text).lower()


@pytest.fixture(scope="module")
def building(db_url) -> dict:
    """A building of an estate whose name is unique, with both names."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT b.id, b.name_zh, e.id, e.name_zh FROM buildings b JOIN estates e "
            "ON e.id = b.estate_id WHERE (SELECT count(*) FROM estates x "
            "WHERE x.name_zh = e.name_zh) = 1 ORDER BY b.id LIMIT 1"
        ).fetchone()
    return {"id": row[0], "name": row[1], "estate_id": row[2], "estate": row[3]}


def found(response) -> list[tuple[str, int]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    return [
        (f["properties"]["collection"], f["properties"]["featureId"])
        for f in response.json()["features"]
    ]


def test_a_building_is_found_by_its_estate_and_number(client, building):
    text = building["estate"] + building["name"]  # "建国西里" + "10号楼"
    body = client.get("/search", params={"q": text}).json()
    first = body["features"][0]
    assert (first["properties"]["collection"], first["properties"]["featureId"]) == (
        "buildings",
        building["id"],
    )
    assert first["properties"]["label"] == text
    lon, lat = first["geometry"]["coordinates"]
    west, south, east, north = first["bbox"]
    assert west <= lon <= east and south <= lat <= north
    # the same in words typed apart, and the estate's own entry for its name alone
    assert ("buildings", building["id"]) in found(
        client.get("/search", params={"q": f"{building['name']} {building['estate']}"})
    )
    assert found(client.get("/search", params={"q": building["estate"]}))[0] == (
        "estates",
        building["estate_id"],
    )


@pytest.mark.parametrize("initials", [False, True], ids=["pinyin", "initials"])
def test_an_estate_is_found_by_pinyin_and_initials(client, building, initials):
    typed = pinyin_of(building["estate"], initials)
    hits = found(client.get("/search", params={"q": typed, "limit": 50, "collections": "estates"}))
    assert ("estates", building["estate_id"]) in hits
    # upper case and a space typed in front change nothing
    again = found(client.get("/search", params={"q": " " + typed.upper(), "limit": 50,
                                                "collections": "estates"}))  # fmt: skip
    assert again == hits


def test_a_heteronym_is_found_by_either_reading(client, db_url):
    """长 is zhang and chang: 长安 must be found as "changan" and as "zhangan"."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT id, name_zh FROM streets WHERE name_zh LIKE '%长%' ORDER BY id LIMIT 1"
        ).fetchone()
    if row is None:  # the sample city always has 长 somewhere; say so if that changes
        pytest.fail("no street name with 长 in the sample city")
    fid, name = row
    for reading in ("chang", "zhang"):
        typed = "".join(reading if ch == "长" else pinyin_of(ch) for ch in name)
        assert ("streets", fid) in found(client.get("/search", params={"q": typed}))


def test_items_q_returns_exactly_the_features_whose_name_holds_the_words(client, db_url):
    with psycopg.connect(db_url) as conn:
        word = conn.execute(
            "SELECT substr(name_zh, 2, 2) FROM estates ORDER BY id LIMIT 1"
        ).fetchone()[0]
        searched = sql.SQL(", ").join(map(sql.Identifier, REGISTRY["estates"].search))
        expected = {
            fid for (fid,) in conn.execute(
                sql.SQL("SELECT id FROM estates WHERE concat_ws(' ', {}) LIKE %s").format(searched),
                (f"%{word}%",),
            )
        }  # fmt: skip
    body = client.get("/collections/estates/items",
                      params={"q": word, "limit": 1000, "skipGeometry": "true"}).json()  # fmt: skip
    assert {f["id"] for f in body["features"]} == expected
    assert body["numberMatched"] == len(expected) > 0
    # commas are alternatives (OGC text search): the union of each word's features
    other = client.get("/collections/estates/items", params={"q": "东城", "limit": 1000}).json()
    both = client.get("/collections/estates/items",
                      params={"q": f"{word},东城", "limit": 1000}).json()  # fmt: skip
    assert {f["id"] for f in both["features"]} == expected | {f["id"] for f in other["features"]}


@pytest.mark.parametrize(
    ("term", "probe"),
    [("南礼士路南里10号楼", "南礼士路南里"), ("青塔北里3单元", "青塔北里"), ("南里二号楼", "南里"),
     ("里3号楼", "里3号楼"), ("10号楼", "10号楼"), ("月坛西里3区", "月坛西里3区"),
     ("nanlishilunanli10haolou", "nanlishilunanli"), ("nlslnl10hl", "nlslnl"),
     ("10haolou", "10haolou"), ("ab10hl", "ab10hl")],
)  # fmt: skip
def test_a_buildings_number_is_left_to_the_text_when_the_rest_narrows(term, probe):
    """The index is asked for the estate's part, whose trigrams are rarer than "haolou"'s;
    a part too short to narrow keeps the whole term."""
    assert terms_module.probe(term) == probe


@pytest.mark.parametrize("typed", ["chinese", "pinyin", "initials"])
def test_a_building_by_its_full_name_finds_exactly_the_buildings_that_hold_it(client, db_url,
                                                                               typed):  # fmt: skip
    """Asked through the estate's part, confirmed by the whole: the buildings whose own and
    estate's names hold it (pypinyin here, not the index), for many full names."""
    with psycopg.connect(db_url) as conn:
        pairs = conn.execute(
            "SELECT b.id, e.name_zh || b.name_zh FROM buildings b "
            "JOIN estates e ON e.id = b.estate_id ORDER BY b.id").fetchall()  # fmt: skip
    as_typed = {
        "chinese": lambda name: name,
        "pinyin": pinyin_of,
        "initials": lambda name: pinyin_of(name, initials=True),
    }[typed]
    named = [(fid, as_typed(name)) for fid, name in pairs]
    for _, name in named[::17][:12]:
        assert terms_module.probe(name) != name
        expected = {fid for fid, other in named if name in other}
        body = client.get(
            "/collections/buildings/items",
            params={"q": name, "limit": 1000, "skipGeometry": "true"},
        ).json()
        assert {f["id"] for f in body["features"]} == expected != set(), name


def test_short_words_match_the_start_of_names(client, db_url):
    """'j', 'jg', '建' while someone types: names starting so, not every name holding a j."""
    with psycopg.connect(db_url) as conn:
        names = dict(conn.execute("SELECT id, name_zh FROM districts").fetchall())
    for typed in ("d", "x", "东"):
        expected = {fid for fid, name in names.items()
                    if (name.startswith(typed) or pinyin_of(name).startswith(typed))}  # fmt: skip
        hits = found(client.get("/search", params={"q": typed, "collections": "districts"}))
        assert {fid for _, fid in hits} == expected


@pytest.mark.parametrize("typed", ["%%%", "---", "___", "a-b", "1.2.3", "——", "。。"])
def test_words_the_trigram_index_cannot_narrow_match_the_start_of_names(client, typed):
    """Punctuation, or letters never three in a row, would scan every entry to find nothing
    (0.74 s at scale 10): they are matched as a name's start, through the btree indexes."""
    condition = terms_condition((typed,))
    patterns = [p for p in condition.params if isinstance(p, str)]
    assert patterns and not any(p.startswith("%") for p in patterns), patterns
    answer = client.get("/search", params={"q": typed})
    assert answer.status_code == 200 and answer.json()["numberReturned"] == 0


@pytest.mark.parametrize("typed", ["jia", "a-bcd", "x10号楼", "建国", "东城"])
def test_words_with_trigrams_are_searched_anywhere_in_names(typed):
    patterns = [p for p in terms_condition((typed,)).params if isinstance(p, str)]
    assert any(p.startswith("%") for p in patterns), patterns


def test_internal_layers_are_searched_only_for_those_who_see_them(client, db_url):
    with psycopg.connect(db_url) as conn:
        fid, name = conn.execute("SELECT id, name_zh FROM projects ORDER BY id LIMIT 1").fetchone()
    assert REGISTRY["projects"].visibility > Visibility.PUBLIC
    assert ("projects", fid) not in found(client.get("/search", params={"q": name, "limit": 50}))
    assert ("projects", fid) in found(
        client.get("/search", params={"q": name, "limit": 50}, headers=ADMIN)
    )
    refused = client.get("/search", params={"q": name, "collections": "projects"})
    assert refused.status_code == 400 and "projects" not in refused.json()["detail"].split("—")[1]


def test_a_responsible_planner_finds_internal_rows_only_in_their_streets(client, db_url):
    with psycopg.connect(db_url) as conn:
        street = conn.execute(
            "SELECT s.code FROM streets s JOIN projects p ON ST_Intersects(p.geom, s.geom) "
            "GROUP BY s.code ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        token = accounts.add_user(conn, "search-responsible", Role.RESPONSIBLE_PLANNER, [street])
        inside = {fid for (fid,) in conn.execute(
            "SELECT p.id FROM projects p, streets s WHERE s.code = %s "
            "AND ST_Intersects(p.geom, s.geom)", (street,))}  # fmt: skip
        names = dict(conn.execute("SELECT id, name_zh FROM projects").fetchall())
    # a word of a project inside the street that other projects elsewhere share
    word = next(
        name[:2]
        for fid, name in sorted(names.items())
        if fid in inside
        and any(name[:2] in other for oid, other in names.items() if oid not in inside)
    )
    everywhere = {fid for fid, name in names.items() if word in name}
    hits = found(client.get("/search", params={"q": word, "limit": 50, "collections": "projects"},
                            headers={"X-API-Key": token}))  # fmt: skip
    assert hits and {fid for _, fid in hits} <= inside & everywhere
    assert everywhere - inside  # the test means something: some matches lie elsewhere


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"q": ""}, "at least one character"),
        ({"q": "   "}, "at least one character"),
        ({}, "at least one character"),
        ({"q": "字" * 201}, "at most 200"),
        ({"q": " ".join("abcdefghi")}, "at most 8 words"),
        ({"q": "a\x00b"}, "control characters"),
        ({"q": "a", "collections": "pipelines"}, "collections"),
        ({"q": "a", "collections": ","}, "collections"),
        ({"q": "a", "limit": "0"}, "limit"),
        ({"q": "a", "limit": "51"}, "limit"),
        ({"q": "a", "limit": "NaN"}, "limit"),
    ],
)
def test_search_mistakes_are_400_problems(client, params, says):
    response = client.get("/search", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert says in response.text


@pytest.mark.parametrize(
    "q",
    ["%", "_", "\\", "'", "%_%", "' OR 1=1 --", "\\%",
     # with a run the index narrows: they reach the planner's estimate too (search_sql)
     "xyz'", "xyz%", "xyz\\", "xyz_q", "qqq' OR 1=1 --", "测试'; DROP TABLE estates; --"],
)  # fmt: skip
def test_like_characters_are_taken_literally(client, q):
    assert found(client.get("/search", params={"q": q})) == []
    body = client.get("/collections/estates/items", params={"q": q}).json()
    assert body["numberMatched"] == 0


def test_items_q_on_a_layer_without_text_is_refused(client):
    response = client.get("/collections/pipelines/items", params={"q": "铸铁"}, headers=ADMIN)
    assert response.status_code == 400
    assert "no text to search" in response.json()["detail"]


def test_the_index_follows_writes_renames_and_deletes(edits_url):
    """Triggers keep the index: an insert is found, a renamed estate renames its buildings
    in search, a delete leaves nothing behind."""

    def entries(conn: psycopg.Connection, layer: str, fid: int) -> list[str]:
        rows = conn.execute(
            "SELECT label FROM search_entries WHERE layer = %s AND feature_id = %s", (layer, fid)
        )
        return [label for (label,) in rows]

    with psycopg.connect(edits_url) as conn:
        estate_id, old = conn.execute(
            "SELECT id, name_zh FROM estates ORDER BY id LIMIT 1"
        ).fetchone()
        building_id, number = conn.execute(
            "SELECT id, name_zh FROM buildings WHERE estate_id = %s ORDER BY id LIMIT 1",
            (estate_id,),
        ).fetchone()
        assert entries(conn, "buildings", building_id) == [old + number]
        conn.execute("UPDATE estates SET name_zh = '测试新名苑' WHERE id = %s", (estate_id,))
        assert entries(conn, "estates", estate_id) == ["测试新名苑"]
        assert entries(conn, "buildings", building_id) == ["测试新名苑" + number]
        new_id = conn.execute(
            "INSERT INTO buildings (estate_id, name_zh, floors, has_elevator, geom) "
            "SELECT estate_id, '99号楼', 6, false, geom FROM buildings WHERE id = %s RETURNING id",
            (building_id,),
        ).fetchone()[0]
        assert entries(conn, "buildings", new_id) == ["测试新名苑99号楼"]
        conn.execute("DELETE FROM buildings WHERE id = %s", (new_id,))
        assert entries(conn, "buildings", new_id) == []
        conn.rollback()


def test_an_update_of_unsearched_columns_leaves_the_entries_alone(edits_url):
    """Entries are rewritten for rows whose searched columns changed, and for no other: a new
    elevator stage or a new floor count does not touch a building's entry; a new name, outline
    or estate does (and only that building's)."""

    def written(conn: psycopg.Connection, ids: list[int]) -> dict[int, str]:
        rows = conn.execute(
            "SELECT feature_id, xmin::text FROM search_entries "
            "WHERE layer = 'buildings' AND feature_id = ANY(%s)", (ids,))  # fmt: skip
        return dict(rows.fetchall())

    with psycopg.connect(edits_url) as conn:
        ids = [i for (i,) in conn.execute("SELECT id FROM buildings ORDER BY id LIMIT 3")]
        before = written(conn, ids)
        conn.execute("UPDATE buildings SET floors = floors + 1, elevator_stage = NULL "
                     "WHERE id = ANY(%s)", (ids,))  # fmt: skip
        assert written(conn, ids) == before
        other_estate = conn.execute(
            "SELECT id FROM estates WHERE id <> (SELECT estate_id FROM buildings WHERE id = %s) "
            "ORDER BY id LIMIT 1", (ids[2],)).fetchone()[0]  # fmt: skip
        conn.execute("UPDATE buildings SET name_zh = name_zh || '甲' WHERE id = %s", (ids[0],))
        conn.execute("UPDATE buildings SET geom = ST_Translate(geom, 0.0001, 0) WHERE id = %s",
                     (ids[1],))  # fmt: skip
        conn.execute("UPDATE buildings SET estate_id = %s WHERE id = %s", (other_estate, ids[2]))
        after = written(conn, ids)
        assert all(after[i] != before[i] for i in ids), (before, after)
        (place,) = conn.execute(
            "SELECT ST_Equals(s.place, ST_PointOnSurface(b.geom)) FROM search_entries s "
            "JOIN buildings b ON b.id = s.feature_id WHERE s.layer = 'buildings' AND b.id = %s",
            (ids[1],)).fetchone()  # fmt: skip
        assert place
        estate_name = conn.execute(
            "SELECT e.name_zh || b.name_zh FROM buildings b JOIN estates e ON e.id = %s "
            "WHERE b.id = %s", (other_estate, ids[2])).fetchone()[0]  # fmt: skip
        assert conn.execute(
            "SELECT label FROM search_entries WHERE layer = 'buildings' AND feature_id = %s",
            (ids[2],)).fetchone()[0] == estate_name  # fmt: skip
        conn.rollback()


def _ranked(conn: psycopg.Connection, statement) -> list[tuple[str, int]]:
    return [(layer, fid) for layer, fid, *_ in conn.execute(statement.sql, statement.params)]


def _common_words(conn: psycopg.Connection) -> list[str]:
    """The two-character words in the most public names (号楼, 小区, …), most common first."""
    names = [name for (name,) in conn.execute(
        "SELECT name_zh FROM buildings UNION ALL SELECT name_zh FROM estates "
        "UNION ALL SELECT name_zh FROM streets")]  # fmt: skip
    counts = Counter(w for name in names for w in {name[i : i + 2] for i in range(len(name) - 1)})
    return [word for word, _ in counts.most_common(3)]


PUBLIC = tuple(la for la in REGISTRY.values() if la.search and la.visibility == Visibility.PUBLIC)
COMMON = Estimate(common=True)  # as the planner expects a word in most names


def test_a_word_in_most_names_is_ranked_from_a_shortlist_as_from_every_match(conn):
    """ "号楼" is in every building's name: ranking a shortlist of each layer's shortest names
    (and of every name starting with the word) answers as ranking all of them does."""
    words = _common_words(conn)
    for text in (words[0], pinyin_of(words[0]), f"{pinyin_of(words[0])} {words[0]}"):
        terms = tuple(text.split())
        everything = _ranked(conn, search_sql(Search(terms, PUBLIC, None, 5000)))
        assert len(everything) > 100, text  # a common word indeed
        for limit in (1, 8, 50):
            search = Search(terms, PUBLIC, None, limit)
            short = _ranked(conn, shortlist_sql(search, size=60))
            assert len(short) == limit, text  # the shortlist answers…
            assert short == everything[:limit], text  # …as every match ranked does
            assert _ranked(conn, search_sql(search, COMMON, shortlist=60)) == short
    # however short the shortlist, the layers it leaves short rank all their matches
    # (a digit beside a common word: labels hold digits, "…10号楼", so it ranks like one)
    for text in (*words, f"{words[0]} {words[1]}", pinyin_of(words[1]), f"{words[0]} 1"):
        terms = tuple(text.split())
        everything = _ranked(conn, search_sql(Search(terms, PUBLIC, None, 5000)))
        for size in (1, 5, 60):
            short = _ranked(conn, shortlist_sql(Search(terms, PUBLIC, None, 50), size=size))
            assert short == everything[:50], (text, size)


def test_a_common_word_beside_a_number_reads_on_through_the_shortest_names(conn):
    """ "号楼 10": the index narrows only 号楼, in every building, so ranking every match
    read them all (107 ms at scale 1). Where a number sits beside words in most of a
    layer's shortest labels, the shortlist reads that layer's names on, shortest first, to
    its first matches: the same rows as every match ranked, in Chinese and typed, a number
    there and one nowhere, for the public and for a planner limited to a street, whether
    the walk finds enough or stops short and the layer ranks all its matches."""
    word = _common_words(conn)[0]
    street = conn.execute(
        "SELECT e.street_code FROM buildings b JOIN estates e ON e.id = b.estate_id "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    searchable = tuple(la for la in REGISTRY.values() if la.search)
    texts = (f"{word} 10", f"3 {word}", f"{pinyin_of(word)} 10", f"{word} 987")
    for text in texts:
        for layers, scope in ((PUBLIC, None), (searchable, StreetScope((street,)))):
            for limit in (1, 8, 50):
                search = Search(tuple(text.split()), layers, scope, limit)
                everything = _ranked(conn, every_match_sql(search))
                assert everything or "987" in text, text
                for walk in (5, 50, 20_000):  # short of the answer, and past it
                    got = _ranked(conn, shortlist_sql(search, size=5, walk=walk))
                    assert got == everything, (text, scope, limit, walk)
    # The route bounds the walk by the planner's estimate of the word's entries.
    search = Search((word, "10"), PUBLIC, None, 8)
    check = common_sql(search)
    matches = shortlist_module.estimated(conn.execute(check.sql, check.params).fetchone()).matches
    assert matches > 100
    estimate = Estimate(common=True, matches=matches)
    assert _ranked(conn, search_sql(search, estimate)) == _ranked(conn, every_match_sql(search))
    # The walk did the work: the buildings never ranked all their matches, and their names
    # were read in order from the index until enough matched, not sorted whole first.
    buildings = [la.name for la in PUBLIC].index("buildings")
    layer_size = conn.execute("SELECT count(*) FROM search_entries WHERE layer = 'buildings'")

    def plan(walk: int) -> list[dict]:
        statement = shortlist_sql(Search((word, "10"), PUBLIC, None, 8), size=5, walk=walk)
        explained = conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) {}").format(statement.sql), statement.params
        ).fetchone()[0]
        return list(plan_nodes(explained[0]["Plan"]))

    def ranked_all(nodes: list[dict]) -> bool:
        return any(node.get("Subplan Name") == f"CTE every_{buildings}"
                   and node["Actual Rows"] > 0 for node in nodes)  # fmt: skip

    walked = plan(20_000)
    assert not ranked_all(walked)
    read = max(n["Actual Rows"] for n in walked if n["Node Type"] == "Index Scan"
               and n.get("Index Name") == "ix_search_entries_rank")  # fmt: skip
    assert 8 < read < layer_size.fetchone()[0]  # stopped when enough matched
    assert not any(n["Node Type"] == "Sort" and n["Plans"][0]["Actual Rows"] > 1000
                   for n in walked)  # fmt: skip
    assert ranked_all(plan(5))


def test_a_number_too_short_for_the_index_leaves_the_estimate_as_it_was():
    """ "号楼 20" costs what "号楼" does to rank in full, so it is as common."""
    alone = common_sql(Search(("号楼",), PUBLIC))
    for text in ("号楼 20", "3 号楼", "haolou 1"):
        beside = common_sql(Search(tuple(text.split()), PUBLIC))
        assert alone is not None and beside is not None
        assert beside.params[3] == [t for t in text.split() if not t.isdigit()]
    assert common_sql(Search(("号楼", "123"), PUBLIC)).params[3] == ["号楼", "123"]


def test_names_starting_with_the_word_are_in_the_shortlist_however_long(conn):
    """The tiers above a plain match (the whole name, a name starting with the word) come
    from every match, not from the shortest names: none is lost to a short shortlist."""
    labels = [label for (label,) in conn.execute(
        "SELECT e.name_zh || b.name_zh FROM buildings b JOIN estates e ON e.id = b.estate_id"
    )]  # fmt: skip
    word = Counter(label[:2] for label in labels).most_common(1)[0][0]
    search = Search((word,), PUBLIC, None, 50)
    statement = search_sql(Search((word,), PUBLIC, None, 5000))
    ranked = [(layer, fid, label) for layer, fid, label, *_ in
              conn.execute(statement.sql, statement.params)]  # fmt: skip
    leading = [(layer, fid) for layer, fid, label in ranked[:50] if label.startswith(word)]
    assert len(leading) > 5, word
    short = _ranked(conn, shortlist_sql(search, size=1))
    assert short[: len(leading)] == leading


@pytest.mark.parametrize("typed", [False, True])
def test_a_layer_whose_shortest_names_miss_the_word_ranks_all_its_matches(db_url, typed):
    """区1 is in 23 % of names and in none of the 1,000 shortest estates: the shortlist
    answered a building where every match ranks an estate holding it first. Here a common
    word put in an estate's name longer than the shortlist's: the estate comes first, as
    every match ranks it, typed in Chinese or in pinyin, for the public and for a planner
    limited to the estate's street."""
    with psycopg.connect(db_url) as conn:  # rolled back: the shared city stays as it was
        word = _common_words(conn)[0]
        estate, street = conn.execute(
            "SELECT id, street_code FROM estates ORDER BY length(name_zh) DESC, id LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE estates SET name_zh = name_zh || '东' || %s WHERE id = %s",
                     (word, estate))  # fmt: skip
        text = pinyin_of(word) if typed else word
        searchable = tuple(la for la in REGISTRY.values() if la.search)
        for layers, scope in ((PUBLIC, None), (searchable, StreetScope((street,)))):
            for limit in (1, 8):
                search = Search((text,), layers, scope, limit)
                everything = _ranked(conn, every_match_sql(search))
                assert everything[0] == ("estates", estate), (scope, limit)
                for size in (1, 60):
                    assert _ranked(conn, search_sql(search, COMMON, shortlist=size)) == everything
        conn.rollback()


def test_a_responsible_planners_streets_limit_the_shortlist_too(conn):
    street = conn.execute(
        "SELECT s.code FROM streets s JOIN projects p ON ST_Intersects(p.geom, s.geom) "
        "GROUP BY s.code ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    inside = {fid for (fid,) in conn.execute(
        "SELECT p.id FROM projects p, streets s WHERE s.code = %s "
        "AND ST_Intersects(p.geom, s.geom)", (street,))}  # fmt: skip
    names = [name for (name,) in conn.execute("SELECT name_zh FROM projects")]
    # Every occurrence counted (not once a name, as _common_words does): this word is one a
    # shortlist filtered by streets only after its 60 shortest names gets wrong (checked).
    word = Counter(name[i : i + 2] for name in names for i in range(len(name) - 1)).most_common(1)
    searchable = tuple(la for la in REGISTRY.values() if la.search)
    assert any(la.visibility > Visibility.PUBLIC for la in searchable)
    for limit in (8, 50):
        search = Search((word[0][0],), searchable, StreetScope((street,)), limit)
        hits = _ranked(conn, search_sql(search, COMMON, shortlist=60))
        assert hits == _ranked(conn, search_sql(search))
        assert {fid for layer, fid in hits if layer == "projects"} <= inside


def test_names_starting_with_the_word_answer_as_every_match_does(conn):
    """A rarer Chinese word looks up the names starting with it first; those answer only when
    enough of them hold every word, so the answer is every match's, row for row: whole names,
    their starts and middles, two words at once, a street's word beside an estate's, for a
    planner limited to their streets too."""
    rng = random.Random(20261205)
    rows = conn.execute(
        "SELECT e.name_zh, b.name_zh, s.name_zh FROM estates e "
        "JOIN buildings b ON b.estate_id = e.id JOIN streets s ON s.code = e.street_code "
        "ORDER BY b.id"
    ).fetchall()
    labels = {e for e, _, _ in rows} | {e + b for e, b, _ in rows} | {s for _, _, s in rows}
    texts = set()
    for estate, building, street in rng.sample(rows, 40):
        cut = rng.randrange(2, len(estate))
        texts |= {estate, estate + building, estate[:2], estate[:cut], estate[1:cut + 1],
                  f"{estate[:2]} {building}", f"{estate[:2]} {street[:2]}", street}  # fmt: skip
    street = conn.execute("SELECT street_code FROM estates GROUP BY 1 ORDER BY count(*) DESC "
                          "LIMIT 1").fetchone()[0]  # fmt: skip
    searchable = tuple(la for la in REGISTRY.values() if la.search)
    answered_by_starts = 0
    for text in sorted(texts):
        terms = tuple(text.split())
        for limit in (1, 8):
            for layers, scope in ((PUBLIC, None), (searchable, StreetScope((street,)))):
                search = Search(terms, layers, scope, limit)
                got = _ranked(conn, search_sql(search))
                assert got == _ranked(conn, every_match_sql(search)), (text, limit, scope)
        starting = sum(label.startswith(terms[0]) for label in labels)  # at least these
        answered_by_starts += len(terms) == 1 and starting >= 8
    assert answered_by_starts > 20, "too few searches took the names' way to prove anything"


@pytest.mark.parametrize(("typed", "first"), [
    ("翠微西里", True), ("翠微 3号楼", True),  # an estate's name, and its start with a number
    ("翠微西里3号楼", True),  # a building's whole name: where names repeat, they settle it
    ("cuiwei", False), ("cwxl", False),  # pinyin and initials start no Chinese label
    ("翠", False),  # too short for the trigram index: names' starts already
])  # fmt: skip
def test_which_searches_look_up_the_names_starting_with_the_word_first(typed, first):
    assert starts_module.starts_first(Search(tuple(typed.split()), PUBLIC)) is first


def test_typed_words_and_names_starts_answer_as_every_match_does(conn):
    """Typed words (pinyin, initials, their starts) and words too short for trigrams read
    the names starting with them a layer at a time; the answer is every match's, row for
    row, for the public and for a planner limited to their streets."""
    rng = random.Random(20261206)
    rows = conn.execute(
        "SELECT e.name_zh, s.name_zh FROM estates e JOIN streets s ON s.code = e.street_code "
        "ORDER BY e.id"
    ).fetchall()
    texts = set()
    for estate, street in rng.sample(rows, 30):
        typed, initials = pinyin_of(estate), pinyin_of(estate, initials=True)
        texts |= {typed, typed[: rng.randrange(3, len(typed))], pinyin_of(estate[:2]),
                  initials, initials[:2], typed[:1], estate[:1], f"{typed[:6]} 1",
                  f"{typed[:6]} {pinyin_of(street)[:4]}", f"{initials} {estate[:2]}"}  # fmt: skip
    street = conn.execute("SELECT street_code FROM estates GROUP BY 1 ORDER BY count(*) DESC "
                          "LIMIT 1").fetchone()[0]  # fmt: skip
    searchable = tuple(la for la in REGISTRY.values() if la.search)
    by_layer = 0
    for text in sorted(texts):
        by_layer += starts_module.by_layer(Search(tuple(text.split()), PUBLIC)) is not None
        for limit in (1, 8):
            for layers, scope in ((PUBLIC, None), (searchable, StreetScope((street,)))):
                search = Search(tuple(text.split()), layers, scope, limit)
                got = _ranked(conn, search_sql(search))
                assert got == _ranked(conn, every_match_sql(search)), (text, limit, scope)
    assert by_layer > 100, "too few searches took the layers' way to prove anything"


@pytest.mark.parametrize(("typed", "way"), [
    ("j", "EVERY_MATCH"), ("建", "EVERY_MATCH"), ("jg 建", "EVERY_MATCH"),  # starts only
    ("jianguo", "UNLESS_A_LATIN_LABEL"), ("jgxl", "UNLESS_A_LATIN_LABEL"),
    ("jianguo 10号楼", "UNLESS_A_LATIN_LABEL"),
    ("110101", None),  # digits: in labels of every kind
    ("翠微西里", None), ("建国 jianguo", None),  # Chinese first: ``_starts_first``
])  # fmt: skip
def test_which_searches_read_names_starts_a_layer_at_a_time(typed, way):
    got = starts_module.by_layer(Search(tuple(typed.split()), PUBLIC))
    assert (got.name if got else None) == way


def test_a_latin_label_holding_a_typed_word_ranks_above_names_starting_with_it(db_url):
    """A label holding the typed letters themselves ranks above every name whose pinyin
    starts with them, in whichever layer: the names' starts must not answer then."""
    with psycopg.connect(db_url) as conn:  # rolled back: the shared city stays as it was
        estate = conn.execute("SELECT name_zh FROM estates ORDER BY id LIMIT 1").fetchone()[0]
        typed = pinyin_of(estate[:2])
        search = Search((typed,), PUBLIC, None, 8)
        starting = _ranked(conn, search_sql(search))
        assert len(starting) == 8 and ("service_facilities", -1) not in starting
        label = f"The {typed.title()} Clinic"
        conn.execute(
            "INSERT INTO search_entries (layer, feature_id, label, haystack, pinyin, "
            "pinyin_alternate, initials) VALUES ('service_facilities', -1, %(l)s, %(l)s, "
            "lower(%(l)s), lower(%(l)s), '')",
            {"l": label},
        )
        got = _ranked(conn, search_sql(search))
        assert got[0] == ("service_facilities", -1)
        assert got == _ranked(conn, every_match_sql(search))
        for size in (1, 60):  # a shortlist's layers settled by typed matches give way too
            assert _ranked(conn, search_sql(search, COMMON, shortlist=size)) == got
        conn.rollback()


def test_names_starting_with_the_word_give_way_to_a_name_holding_every_word(db_url):
    """Names starting with an estate's word whose street's word is only in their address rank
    below a name holding both words: the names' way must not answer then."""
    with psycopg.connect(db_url) as conn:  # rolled back: the shared city stays as it was
        estate, street = conn.execute(
            "SELECT e.name_zh, s.name_zh FROM estates e JOIN streets s ON s.code = e.street_code "
            "WHERE (SELECT count(*) FROM buildings b WHERE b.estate_id = e.id) >= 8 "
            "ORDER BY e.id LIMIT 1"
        ).fetchone()
        search = Search((estate[:2], street[:3]), PUBLIC, None, 8)
        alone = search_sql(search)
        starting = [label for _, _, label, *_ in conn.execute(alone.sql, alone.params)]
        assert len(starting) == 8 and all(label.startswith(estate[:2]) for label in starting)
        assert not any(street[:3] in label for label in starting)  # in their addresses only
        holding = f"新{street[:3]}{estate[:2]}苑"
        conn.execute(
            "INSERT INTO search_entries (layer, feature_id, label, haystack, pinyin, "
            "pinyin_alternate, initials) VALUES ('estates', -1, %(l)s, %(l)s, "
            "onemap_pinyin(%(l)s), onemap_pinyin(%(l)s), '')",
            {"l": holding},
        )
        got = _ranked(conn, search_sql(search))
        assert got[0] == ("estates", -1) and got == _ranked(conn, every_match_sql(search))
        conn.rollback()


@pytest.mark.parametrize("limit", [1, 8])
def test_the_same_search_answers_the_same_whichever_way_it_ranks(conn, limit):
    """Ties (two buildings of one name) are settled by id, so both ways agree row for row."""
    word = _common_words(conn)[0]
    search = Search((word,), PUBLIC, None, limit)
    assert _ranked(conn, search_sql(search, COMMON)) == _ranked(conn, search_sql(search))


def test_a_word_is_common_when_the_planner_expects_it_in_many_and_a_large_share_of_names(
    conn, monkeypatch
):
    words = _common_words(conn)
    monkeypatch.setattr(shortlist_module, "COMMON_MATCHES", 100)  # the test city is small

    def common(text: str) -> bool | None:
        check = common_sql(Search(tuple(text.split()), PUBLIC, None, 8))
        return None if check is None else conn.execute(check.sql, check.params).fetchone()[0]

    assert common(words[0]) is True and common(pinyin_of(words[0])) is True
    assert common("zzzq") is False and common("建国西里九十九号") is False
    assert common("j") is None  # prefixes only: no estimate needed
    monkeypatch.setattr(shortlist_module, "COMMON_SHARE", 1.01)  # no word is in every entry
    assert common(words[0]) is False


def test_the_planners_estimate_of_matches_is_near_their_count(conn):
    """The shortlist is chosen on pg_trgm's estimate: within 3× of the count for common
    words, far below the threshold for rare ones, and any text is only ever a literal."""
    names = [la.name for la in PUBLIC]
    words = _common_words(conn)
    typed = [*words, *(pinyin_of(w) for w in words), "jianguo", "zzzq", "xyz' OR 1=1 --"]
    for text in typed:
        terms = tuple(text.split())
        estimate = conn.execute(
            "SELECT onemap_estimated_matches(%s, %s)", (list(terms), names)
        ).fetchone()[0]
        match = terms_condition(terms)
        count = conn.execute(
            sql.SQL("SELECT count(*) FROM search_entries s WHERE s.layer = ANY(%s) AND {}").format(
                match.sql
            ),
            [names, *match.params],
        ).fetchone()[0]
        if count >= 100:
            assert count / 3 <= estimate <= count * 3, (text, estimate, count)
        else:
            assert estimate < 1000, (text, estimate, count)
