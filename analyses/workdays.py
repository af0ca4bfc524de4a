"""Chinese working days, and the one rule for a deadline in them.

``chinese_calendar`` knows the State Council's holiday notices up to its last release (2026
for 1.11.0). Beyond that, weekends and the fixed-date statutory holidays are skipped — 元旦
1 January, 劳动节 1–2 May, 国庆节 1–3 October (全国年节及纪念日放假办法, 2025) — and the
answer is marked provisional: the lunar holidays and the make-up days come with the year's
notice, usually in October or November.

The rule (README, seed items 21 and 24): a request received on a non-working day counts as
received on the next working day; a deadline of N working days falls on the Nth working day
after that. Sample data, the overdue-opinions analysis, the dossier and the scoreboard all use
``add_workdays``.

An admin can load a year's official arrangement from a file (``analyses.holidays``,
``onemap holidays load``); a loaded year is then known for certain and wins over the library.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterable

import chinese_calendar

FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3))

# Loaded arrangements: the years whose notice is loaded, and their days off (False) and
# make-up working days (True). A notice may reach into the year before (元旦 from 30 December).
_arranged_years: set[int] = set()
_special_days: dict[dt.date, bool] = {}

# Working days counted from _COUNTED_FROM: _counted[i] is how many lie before day i. A count
# between two dates is then one subtraction, where walking the days took a city's open
# opinions (years late, day by day) most of a second.
_COUNTED_FROM = dt.date(2000, 1, 1)
_counted: list[int] = [0]
_counting = threading.Lock()  # the dossier's PDF is laid out in worker threads


def use_arrangements(rows: Iterable[tuple[int, dt.date, bool]]) -> None:
    """Count with these loaded (notice year, day, working) rows; their years become certain."""
    _arranged_years.clear()
    _special_days.clear()
    for year, day, working in sorted(rows):
        _arranged_years.add(year)
        _special_days[day] = working
    is_workday.cache_clear()
    with _counting:
        del _counted[1:]


def arranged_years() -> list[int]:
    return sorted(_arranged_years)


def library_covers(year: int) -> bool:
    """Whether chinese_calendar carries the holiday notice of ``year``."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
        return True
    except NotImplementedError:
        return False


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, known for certain)."""
    if day in _special_days:
        return _special_days[day], True
    if day.year in _arranged_years:
        return day.weekday() < 5, True
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS, False


def next_workday(day: dt.date) -> tuple[dt.date, bool]:
    """``day`` if it is a working day, else the first one after it; and whether certain."""
    certain = True
    while True:
        working, known = is_workday(day)
        certain &= known
        if working:
            return day, certain
        day += dt.timedelta(days=1)


def add_workdays(received: dt.date, days: int) -> tuple[dt.date, bool]:
    """The deadline ``days`` working days after a request received on ``received``.

    With whether it is certain: every day counted is covered by a holiday notice.
    """
    day, certain = next_workday(received)
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        working, known = is_workday(day)
        certain &= known
        counted += working
    return day, certain


def workdays_late(due: dt.date, answered: dt.date) -> int:
    """Working days past ``due`` of an answer given on ``answered`` (0 if in time).

    An answer given on a non-working day counts as given on the next working day.
    """
    if answered <= due:
        return 0
    until, _ = next_workday(answered)
    return workdays_between(due, until)


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end`` is not later)."""
    if end <= start:
        return 0
    if start < _COUNTED_FROM:
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += is_workday(day)[0]
        return count
    return _before(end + dt.timedelta(days=1)) - _before(start + dt.timedelta(days=1))


def _before(day: dt.date) -> int:
    """Working days from _COUNTED_FROM up to (not including) ``day``, counted once."""
    index = (day - _COUNTED_FROM).days
    if len(_counted) <= index:
        with _counting:
            while len(_counted) <= index:
                counted_day = _COUNTED_FROM + dt.timedelta(days=len(_counted) - 1)
                _counted.append(_counted[-1] + is_workday(counted_day)[0])
    return _counted[index]
