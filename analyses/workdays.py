"""Chinese working days (holidays and make-up working days) behind one small interface.

``chinese_calendar`` knows the State Council's holiday notices up to its last release (2026
for 1.11.0). Beyond that, deadlines are counted on weekdays only and marked as estimates: the
notice for the next year usually comes in October or November.
"""

from __future__ import annotations

import datetime as dt
import functools

import chinese_calendar


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is a working day, known for certain)."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_workdays(start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The working day ``days`` working days after ``start``, and whether it is certain."""
    day, counted, certain = start, 0, True
    while counted < days:
        day += dt.timedelta(days=1)
        working, known = is_workday(day)
        certain &= known
        counted += working
    return day, certain


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_workday(day)[0]
    return count
