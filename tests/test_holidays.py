"""An admin loads a year's official holiday arrangement; deadlines in that year then follow it
and stop being provisional. Broken files are refused whole with one line, and change nothing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml

from analyses import holidays, workdays
from analyses.model import Area
from analyses.registry import get_analysis
from analyses.running import ResultCache
from layers.errors import InvalidInput
from tests_support import run_async, run_onemap

EXAMPLE = Path(__file__).parent / "data" / "holidays-2027.yaml"
SPRING_EVE = dt.date(2027, 2, 4)  # a Thursday, the last working day before the example 春节


def example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def forget_arrangements() -> Iterator[None]:
    """The arrangements live in the process; leave it as the other modules expect."""
    yield
    workdays.use_arrangements([])
    holidays._stamp = None


def rows_in(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT year, day, working FROM holiday_arrangements ORDER BY 2"
        ).fetchall()


def refreshed(url: str) -> str:
    async def go() -> str:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await holidays.refresh(conn)

    return run_async(go())


def test_the_example_parses_into_days_off_and_make_up_days():
    arrangement = holidays.parse(example())
    assert arrangement.year == 2027
    assert len(arrangement.days_off) == 3 + 9 + 3 + 5 + 3 + 7
    assert arrangement.days_off[dt.date(2027, 2, 10)] == "春节"
    assert dt.date(2027, 2, 14) in arrangement.make_up_days
    special = arrangement.special_days()
    assert special[dt.date(2027, 2, 14)] is True and special[dt.date(2027, 10, 4)] is False


def _without_fixed(doc: dict) -> dict:
    doc["holidays"] = [h for h in doc["holidays"] if h["name"] != "劳动节"]
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: [d], "expected a mapping"),
        (lambda d: {**d, "yaer": 2027}, "unknown key 'yaer'"),
        (lambda d: {**d, "year": "2027"}, "year: expected a year"),
        (lambda d: {**d, "year": True}, "year: expected a year"),
        (lambda d: {**d, "year": 1850}, "year: expected a year"),
        (lambda d: {**d, "source": " "}, "source:"),
        (lambda d: {**d, "holidays": []}, "holidays: expected a list"),
        (lambda d: {**d, "holidays": "元旦"}, "holidays: expected a list"),
        (lambda d: {**d, "holidays": [{"name": "x"}]}, "holidays[0]: expected {name, from, to}"),
        (lambda d: {**d, "holidays": [*d["holidays"], {"name": "x", "from": "2027-13-01"}]},
         "is not a date"),
        (lambda d: {**d, "holidays": [*d["holidays"], {"name": "x", "from": "2026-06-01"}]},
         "outside the 2027 arrangement"),
        (lambda d: {**d, "holidays": [*d["holidays"], {"name": "x", "from": 20270601}]},
         "expected a date"),
        (lambda d: {**d, "holidays": [*d["holidays"],
                                      {"name": "x", "from": "2027-08-10", "to": "2027-08-01"}]},
         "ends 2027-08-01 before it starts"),
        (lambda d: {**d, "holidays": [*d["holidays"],
                                      {"name": "x", "from": "2027-08-01", "to": "2027-08-31"}]},
         "no holiday"),
        (lambda d: {**d, "holidays": [*d["holidays"], {"name": "又一个", "from": "2027-02-07"}]},
         "2027-02-07 is already in 春节"),
        (lambda d: {**d, "workdays": ["2027-02-15"]}, "is a weekday"),
        (lambda d: {**d, "workdays": ["2027-02-06"]}, "also a day off (春节)"),
        (lambda d: {**d, "workdays": "2027-02-14"}, "workdays: expected a list"),
        (_without_fixed, "2027-05-01 is a statutory holiday and is missing"),
    ],
)  # fmt: skip
def test_a_wrong_arrangement_is_refused_with_its_reason(change, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        holidays.parse(change(example()))


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"year: 2027\nholidays: [\n", "not YAML or JSON (line 3)"),
        (b"year: 2027\nyear: 2028\n", "(line 2): 'year' is given twice (first on line 1)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
        (b"year: 2027\nsource: x\nholidays:\n  - {name: a, from: 2027-01-01}\n",
         "2027-05-01 is a statutory holiday and is missing"),
        (b"{}" + b" " * (70 * 1024), "larger than 64 KiB"),
    ],
)  # fmt: skip
def test_the_cli_refuses_a_broken_file_in_one_line_and_writes_nothing(
    holidays_url, tmp_path, content, message
):
    before = rows_in(holidays_url)
    path = tmp_path / "2027.yaml"
    path.write_bytes(content)
    result = run_onemap("holidays", "load", str(path), env={"ONEMAP_DATABASE_URL": holidays_url})
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert rows_in(holidays_url) == before


@pytest.mark.e2e
def test_a_loaded_year_moves_deadlines_and_makes_them_certain(holidays_url, tmp_path):
    """Before: 2027 is past chinese_calendar, weekdays are counted and the answer provisional.
    After: the example's 春节 (5–13 February) is skipped, 14 February is worked, certain."""
    refreshed(holidays_url)
    assert workdays.add_workdays(SPRING_EVE, 5) == (dt.date(2027, 2, 11), False)

    env = {"ONEMAP_DATABASE_URL": holidays_url}
    result = run_onemap("holidays", "load", str(EXAMPLE), env=env)
    assert result.returncode == 0, result.stderr
    assert "2027: 30 days off, 5 make-up working days" in result.stdout
    refreshed(holidays_url)
    assert workdays.arranged_years() == [2027]
    assert workdays.add_workdays(SPRING_EVE, 5) == (dt.date(2027, 2, 18), True)
    assert workdays.is_workday(dt.date(2027, 2, 14)) == (True, True)  # a Sunday worked
    assert workdays.is_workday(dt.date(2027, 3, 3)) == (True, True)  # an ordinary day, known
    assert workdays.is_workday(dt.date(2026, 3, 3))[1]  # chinese_calendar still answers 2026
    assert not workdays.is_workday(dt.date(2028, 3, 3))[1]  # and 2028 stays provisional

    # Loading again replaces the year: a file without the make-up days leaves none behind.
    shorter = example()
    shorter["workdays"] = []
    path = tmp_path / "2027-no-make-up.yaml"
    path.write_text(yaml.safe_dump(shorter, allow_unicode=True), encoding="utf-8")
    assert run_onemap("holidays", "load", str(path), env=env).returncode == 0
    stored = rows_in(holidays_url)
    assert len(stored) == 30 and not any(working for _, _, working in stored)
    listed = run_onemap("holidays", "list", env=env)
    assert (
        listed.returncode == 0
        and "2027" in listed.stdout
        and "chinese_calendar knows" in listed.stdout
    )


def test_the_analysis_cache_recomputes_when_a_year_is_loaded(holidays_url):
    """overdue_opinions through the API's result cache: an opinion requested before the
    example 春节 is due on 11 February (provisional), then 18 February (certain) once loaded."""
    analysis = get_analysis("overdue_opinions")
    today = dt.date(2027, 3, 1)
    params = analysis.parse_params({"limit": "1000"}, today)
    cache = ResultCache()

    async def go() -> tuple[dict, dict]:
        async with await psycopg.AsyncConnection.connect(holidays_url, autocommit=True) as conn:
            await conn.execute("DELETE FROM holiday_arrangements")
            cur = await conn.execute(
                "INSERT INTO opinions (project_id, planner, requested_on, street_code) "
                "SELECT project_id, planner, %s, street_code FROM opinions ORDER BY id LIMIT 1 "
                "RETURNING id", (SPRING_EVE,))  # fmt: skip
            (oid,) = await cur.fetchone()
            try:
                before = await cache.run(conn, analysis, Area(), params)
                await holidays.load(conn, holidays.read_file(EXAMPLE), "test")
                after = await cache.run(conn, analysis, Area(), params)
            finally:
                await conn.execute("DELETE FROM opinions WHERE id = %s", (oid,))
                await conn.execute("DELETE FROM holiday_arrangements")
            pick = lambda page: next(r.properties for r in page.rows if r.id == oid)  # noqa: E731
            return pick(before), pick(after)

    before, after = run_async(go())
    assert (before["due_on"], before["due_certain"]) == ("2027-02-11", False)
    assert (after["due_on"], after["due_certain"]) == ("2027-02-18", True)


def test_two_loads_of_a_year_at_once_both_succeed_and_the_last_stands(scratch_database):
    """Both used to find nothing to delete, and the second failed on the first's days."""
    import threading

    from tests_support import MIGRATED

    url = scratch_database("onemap_holiday_race", MIGRATED)
    arrangement = holidays.read_file(EXAMPLE)
    first = psycopg.connect(url)  # the first load, between its rows and its commit
    first.execute(
        "INSERT INTO holiday_arrangements (day, year, working, name, loaded_by) "
        "VALUES (%s, 2027, false, '春节', 'first')", (dt.date(2027, 2, 10),))  # fmt: skip
    outcome: dict[str, object] = {}

    async def second() -> int:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await holidays.load(conn, arrangement, "second")

    def second_load() -> None:
        try:
            outcome["days"] = run_async(second())
        except psycopg.Error as exc:
            outcome["error"] = exc

    waiting = threading.Thread(target=second_load)
    waiting.start()
    waiting.join(timeout=1)
    assert waiting.is_alive(), outcome  # waits for the first load
    first.commit()
    first.close()
    waiting.join(timeout=30)
    assert "error" not in outcome, outcome
    with psycopg.connect(url) as conn:
        loaded_by = conn.execute("SELECT DISTINCT loaded_by FROM holiday_arrangements").fetchall()
    assert loaded_by == [("second",)] and len(rows_in(url)) == outcome["days"]
