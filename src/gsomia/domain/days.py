"""The days gsomia is asked about: 0001-01-02 to 9999-12-30, one day clear of each edge of ``datetime.date``.

The engine steps one day from the days it holds: the day before an end is the last day in force, the day
before a revocation a consent's last day, the day after a notice the first one its period counts. Those
steps are safe at the edges (:func:`day_before`), so a world may hold any day: a node's log may already
hold one at an edge, and its world must still build. A day asked about (a query's, an option's, an API
body's, a revocation's) is kept one day inside the calendar, so that each has a day before and after it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

FIRST_DAY: Final = date(1, 1, 2)
LAST_DAY: Final = date(9999, 12, 30)


def day_problem(day: date) -> str | None:
    """Why gsomia does not take ``day`` (None: it does), as the tail of a message naming the key."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"{day} is at the edge of the calendar; give a day from {FIRST_DAY} to {LAST_DAY}"


def day_before(day: date) -> date | None:
    """The day before ``day``; None for the calendar's first day, which has none."""
    return None if day == date.min else day - timedelta(days=1)
