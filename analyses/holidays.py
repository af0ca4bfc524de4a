"""A year's official holiday arrangement, loaded by an admin from a file.

The State Council publishes each year's arrangement (国务院办公厅关于 YYYY 年部分节假日安排的
通知) in October or November; ``chinese_calendar`` carries it only from its next release. Until
then an admin loads it here and deadlines in that year stop being provisional. The file (YAML
or JSON) says what the notice says::

    year: 2027
    source: 国办发明电〔2026〕N号
    holidays:                       # days off, each a run of dates
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 春节, from: 2027-02-05, to: 2027-02-12}
    workdays:                       # weekend days worked instead (调休)
      - 2027-02-14

A file that is not a sound arrangement is refused whole, with the first reason, and nothing
is written; loading a year again replaces it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import psycopg

from analyses import workdays
from layers.errors import InvalidInput, shown
from layers.files import input_file, yaml_document

_KEYS = {"year", "source", "holidays", "workdays"}
_HOLIDAY_KEYS = {"name", "from", "to"}
MAX_FILE_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Arrangement:
    year: int
    source: str
    days_off: dict[dt.date, str]  # day -> holiday name
    make_up_days: frozenset[dt.date]

    def special_days(self) -> dict[dt.date, bool]:
        """Its days off (False) and make-up working days (True)."""
        special = dict.fromkeys(self.days_off, False)
        special.update(dict.fromkeys(self.make_up_days, True))
        return special


def read_file(path: Path) -> Arrangement:
    """The arrangement in ``path``, or InvalidInput saying what is wrong with it."""
    input_file(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB, not an arrangement")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    document = yaml_document(text, str(path))  # JSON is YAML too
    try:
        return parse(document)
    except InvalidInput as e:
        raise InvalidInput(f"{path}: {e}") from None


def parse(document: Any) -> Arrangement:
    """Check a parsed file against what every notice has; raise InvalidInput on the first fault."""
    if not isinstance(document, dict):
        raise InvalidInput("expected a mapping with year, source, holidays and workdays")
    if unknown := set(map(str, document)) - _KEYS:
        raise InvalidInput(f"unknown key {sorted(unknown)[0]!r}; expected {sorted(_KEYS)}")
    year = document.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        raise InvalidInput("year: expected a year between 2000 and 2100")
    source = document.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput("source: name the notice the arrangement comes from")
    first, last = dt.date(year - 1, 12, 15), dt.date(year + 1, 1, 15)

    def date_of(value: Any, where: str) -> dt.date:
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                raise InvalidInput(
                    f"{where}: {shown(str(value))} is not a date (YYYY-MM-DD)"
                ) from None
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise InvalidInput(f"{where}: expected a date (YYYY-MM-DD)")
        if not first <= value <= last:
            raise InvalidInput(f"{where}: {value} is outside the {year} arrangement")
        return value

    holidays = document.get("holidays")
    if not isinstance(holidays, list) or not holidays:
        raise InvalidInput("holidays: expected a list of {name, from, to}")
    days_off: dict[dt.date, str] = {}
    for i, entry in enumerate(holidays):
        where = f"holidays[{i}]"
        if not isinstance(entry, dict) or set(map(str, entry)) - _HOLIDAY_KEYS \
                or "from" not in entry or not isinstance(entry.get("name"), str):  # fmt: skip
            raise InvalidInput(f"{where}: expected {{name, from, to}}")
        start = date_of(entry["from"], f"{where}.from")
        end = date_of(entry.get("to", entry["from"]), f"{where}.to")
        if end < start:
            raise InvalidInput(f"{where}: ends {end} before it starts {start}")
        if (end - start).days > 10:
            raise InvalidInput(f"{where}: {(end - start).days + 1} days off in a row is no holiday")
        for offset in range((end - start).days + 1):
            day = start + dt.timedelta(days=offset)
            if day in days_off:
                raise InvalidInput(f"{where}: {day} is already in {days_off[day]}")
            days_off[day] = entry["name"]
    make_up = document.get("workdays") or []
    if not isinstance(make_up, list):
        raise InvalidInput("workdays: expected a list of dates")
    make_up_days = set()
    for i, value in enumerate(make_up):
        day = date_of(value, f"workdays[{i}]")
        if day.weekday() < 5:
            raise InvalidInput(f"workdays[{i}]: {day} is a weekday; list only weekends worked")
        if day in days_off:
            raise InvalidInput(f"workdays[{i}]: {day} is also a day off ({days_off[day]})")
        make_up_days.add(day)
    for month, day_of_month in workdays.FIXED_HOLIDAYS:
        fixed = dt.date(year, month, day_of_month)
        if fixed not in days_off:
            raise InvalidInput(f"holidays: {fixed} is a statutory holiday and is missing")
    return Arrangement(year, source.strip(), days_off, frozenset(make_up_days))


async def load(conn: psycopg.AsyncConnection, arrangement: Arrangement, loaded_by: str) -> int:
    """Replace the year's arrangement in one transaction; the number of days stored."""
    rows = [
        (day, arrangement.year, working, arrangement.days_off.get(day), loaded_by)
        for day, working in sorted(arrangement.special_days().items())
    ]
    async with conn.transaction():
        # One load at a time (readers go on): two loads of a year at once both found nothing
        # to delete, and the second failed on the first's days.
        await conn.execute("LOCK TABLE holiday_arrangements IN SHARE ROW EXCLUSIVE MODE")
        await conn.execute("DELETE FROM holiday_arrangements WHERE year = %s", (arrangement.year,))
        cur = conn.cursor()
        await cur.executemany(
            "INSERT INTO holiday_arrangements (day, year, working, name, loaded_by) "
            "VALUES (%s, %s, %s, %s, %s)",
            rows,
        )
    await refresh(conn)
    return len(rows)


async def loaded_years(
    conn: psycopg.AsyncConnection,
) -> list[tuple[int, int, int, str, dt.datetime]]:
    """(year, days off, make-up days, loaded by, loaded at) per loaded year."""
    cur = await conn.execute(
        "SELECT year, count(*) FILTER (WHERE NOT working), count(*) FILTER (WHERE working), "
        "max(loaded_by), max(loaded_at) FROM holiday_arrangements GROUP BY year ORDER BY year"
    )
    return list(await cur.fetchall())


_stamp: tuple[int, dt.datetime | None] | None = None


async def refresh(conn: psycopg.AsyncConnection) -> str:
    """Make ``workdays`` count with what is loaded now; a stamp that changes when it does.

    One small query per call; the rows are read again only when a load changed them.
    """
    global _stamp
    cur = await conn.execute("SELECT count(*), max(loaded_at) FROM holiday_arrangements")
    count, last = (await cur.fetchone()) or (0, None)
    if (count, last) != _stamp:
        cur = await conn.execute("SELECT day, year, working FROM holiday_arrangements")
        workdays.use_arrangements(
            [(year, day, working) for day, year, working in await cur.fetchall()]
        )
        _stamp = (count, last)
    return f"{count}@{last}"
