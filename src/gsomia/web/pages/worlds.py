"""The two worlds a page can show: the node's own, and the counterfactual in which every notice took effect.

The counterfactual is built from the domain the way ``gsomia demo`` builds it (:mod:`gsomia.cli.story`,
which the web layer may not import): the same world without the events that stopped a notice (suspend,
resume, withdraw). It is rebuilt only when the node's world changes, and takes in the items a decision
needs as the node's world does.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from threading import Lock

from gsomia.bootstrap import Services
from gsomia.domain.errors import WorldError
from gsomia.domain.world import World

ACTUAL, COUNTERFACTUAL = "actual", "counterfactual"
WORLDS = (ACTUAL, COUNTERFACTUAL)
# the kinds of event that stop a notice from taking effect (the same set as gsomia.cli.story.UNDO_KINDS)
UNDO_KINDS = frozenset({"suspend-notice", "resume-notice", "withdraw-notice"})


def world_name(value: str) -> tuple[str, str]:
    """The world a page was asked for (``actual`` by default) and, for an unknown name, a sentence."""
    if not value or value in WORLDS:
        return value or ACTUAL, ""
    return ACTUAL, f"{value[:40]!r} is no world; choose actual or counterfactual. Showing the actual world."


def counterfactual_of(world: World) -> World:
    """``world`` had every notice taken effect: no suspension, resumption or withdrawal of one."""
    events = tuple(e for e in world.spec.events if e.kind not in UNDO_KINDS)
    try:
        return World(dataclasses.replace(world.spec, events=events), known_items=lambda _item: True)
    except WorldError as exc:
        raise WorldError(
            f"the counterfactual (every notice taking effect) is not a valid world: {exc}"
        ) from exc


class Worlds:
    """The node's world and its counterfactual, the latter kept while the former is the same object."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = Lock()
        self._memo: tuple[World, World] | None = None

    def actual(self) -> World:
        return self._services.worldbook.world()

    def pick(self, name: str, actual: World | None = None) -> World:
        """The world called ``name`` (see :data:`WORLDS`), built on ``actual`` (default: the node's now)."""
        base = self.actual() if actual is None else actual
        return base if name != COUNTERFACTUAL else self.counterfactual(base)

    def counterfactual(self, actual: World) -> World:
        with self._lock:
            if self._memo is not None and self._memo[0] is actual:
                other = self._memo[1]
            else:
                other = counterfactual_of(actual)
                self._memo = (actual, other)
            missing = [item for key, item in actual.items.items() if key not in other.items]
            if missing:
                other.admit(missing)
            return other


def story_span(world: World, today: date) -> tuple[date, date]:
    """The days a date slider should reach: from the first entry into force to a year past the last
    thing that happens (or today, if later)."""
    timelines = list(world.timelines.values())
    if not timelines:
        return today - timedelta(days=365), today + timedelta(days=365)
    first = min(t.agreement.entry_into_force for t in timelines)
    marks = [today] + [s.start for t in timelines for s in t.segments]
    marks += [d for t in timelines for d in (t.end, *(s.ends for s in t.segments)) if d is not None]
    last = max(marks)
    return first, last + timedelta(days=365) if last < date.max - timedelta(days=365) else date.max
