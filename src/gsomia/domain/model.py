"""The world as values: parties, levels, agreements, events, items, consents.

Everything here is a frozen dataclass built from plain values; nothing reads a clock or a file.
Dates are whole days (``datetime.date``). Ids are plain strings compared as strings.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Unit = Literal["y", "m", "d"]
EventKind = Literal["notice", "suspend-notice", "resume-notice", "withdraw-notice", "terminate", "amend"]
EVENT_KINDS: tuple[EventKind, ...] = (
    "notice",
    "suspend-notice",
    "resume-notice",
    "withdraw-notice",
    "terminate",
    "amend",
)
NOFORN = "NOFORN"


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar length: ``1y``, ``6m``, ``90d``. Months and years clamp to the month's end."""

    amount: int
    unit: Unit

    def times(self, k: int) -> Duration:
        return Duration(self.amount * k, self.unit)

    def after(self, start: date) -> date | None:
        """The day ``start + self`` (calendar arithmetic; Jan 31 + 1m = Feb 28 or 29), or None when that
        day falls past the calendar's last day, 9999-12-31 (an agreement can outlive the calendar)."""
        if self.unit == "d":
            if self.amount > (date.max - start).days:
                return None
            return start + timedelta(days=self.amount)
        months = self.amount * (12 if self.unit == "y" else 1)
        index = start.year * 12 + (start.month - 1) + months
        year, month = divmod(index, 12)
        if year > date.max.year:
            return None
        month += 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return date(year, month, day)

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True, slots=True)
class Level:
    """One national classification level. ``rank`` orders a party's levels, 0 = lowest."""

    id: str
    party: str
    marking: str
    rank: int


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name: str
    levels: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class EquivalenceRow:
    """Levels held equivalent. For each party, the first level listed is its marking on receipt."""

    cells: tuple[tuple[str, tuple[str, ...]], ...]

    def levels_of(self, party: str) -> tuple[str, ...]:
        for who, levels in self.cells:
            if who == party:
                return levels
        return ()

    def parties(self) -> tuple[str, ...]:
        return tuple(who for who, _ in self.cells)


Table = tuple[EquivalenceRow, ...]


def map_level(table: Table, level: str, to_party: str) -> str | None:
    """The level ``to_party`` marks an item held at ``level``, or None when the table does not cover it."""
    for row in table:
        for _who, levels in row.cells:
            if level in levels:
                target = row.levels_of(to_party)
                return target[0] if target else None
    return None


@dataclass(frozen=True, slots=True)
class Agreement:
    id: str
    kind: Literal["treaty", "arrangement"]
    parties: tuple[str, ...]
    entry_into_force: date
    term: Duration | None = None
    renewal: bool = False
    notice_period: Duration = Duration(0, "d")
    scope: tuple[str, ...] | None = None  # None = any topic
    equivalence: Table = ()
    conduit: str | None = None
    hops: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    date: date
    agreement: str
    kind: EventKind
    by: str | None = None
    scope: tuple[str, ...] | None = None
    scope_any: bool = False  # an amend that sets the scope to ``any``
    equivalence: Table | None = None
    index: int = 0  # position in the world's event list: same-day events apply in this order


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    originator: str
    level: str
    topics: tuple[str, ...] = ()
    releasable_to: tuple[str, ...] | None = None
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Consent:
    """An originator's prior written approval for ``holder`` to pass an item (or a topic) to ``recipient``."""

    holder: str
    recipient: str
    item: str | None = None
    topic: str | None = None
    originator: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None

    def covers(self, item: Item, sender: str, receiver: str, at: date) -> bool:
        if self.holder != sender or self.recipient != receiver:
            return False
        if self.valid_from is not None and at < self.valid_from:
            return False
        if self.valid_until is not None and at > self.valid_until:
            return False
        if self.item is not None:
            return self.item == item.id
        return self.originator == item.originator and self.topic in item.topics


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Everything a world file says, validated by :func:`gsomia.domain.validate.validate`."""

    name: str
    parties: tuple[Party, ...]
    agreements: tuple[Agreement, ...]
    events: tuple[Event, ...] = ()
    items: tuple[Item, ...] = ()
    consents: tuple[Consent, ...] = ()
