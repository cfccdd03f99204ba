"""One agreement as explanations read it, with the reasons it gives worked out once and kept.

An agreement's ``agreement-in-force`` reason is the same on every day of one of its dated states; its
``scope`` reason, when the item is covered, is the same for every item under one version of its terms (and
names the item's topics only when it is not); its ``level-covered`` reason for a hop is the same for every
item sent at one level under one version. :class:`Terms` keeps each of them the first time a rule of
:mod:`gsomia.domain.rules` works it out, so the texts are the rules' own.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from typing import TYPE_CHECKING

from . import rules
from .decision import Reason
from .model import Item, map_level
from .rules import Hop

if TYPE_CHECKING:
    from .index import CAgreement, CVersion
    from .lifecycle import Timeline

_UNSET = object()


class Terms:
    """An agreement, its dated states and versions as day ordinals, and the reasons it has given."""

    __slots__ = (
        "_in_force",
        "_levels",
        "_maps",
        "_scope_fail",
        "_scope_ok",
        "conduit",
        "eif",
        "end",
        "hops",
        "id",
        "parties",
        "single",
        "state_starts",
        "timeline",
        "version_starts",
        "versions",
    )

    def __init__(self, timeline: Timeline, compiled: CAgreement) -> None:
        a = timeline.agreement
        self.timeline = timeline
        self.id = a.id
        self.conduit = a.conduit
        self.hops = compiled.hops
        self.parties = compiled.parties
        self.eif = compiled.eif
        self.end = compiled.end
        self.state_starts = tuple(s.start.toordinal() for s in timeline.segments)
        self.version_starts = compiled.starts
        self.versions: tuple[CVersion, ...] = compiled.versions
        self.single = len(compiled.versions) == 1
        self._in_force: list[Reason | None] = [None] * (len(self.state_starts) + 1)
        self._scope_ok: list[Reason | None] = [None] * len(self.versions)
        self._scope_fail: dict[tuple[int, tuple[str, ...]], Reason] = {}
        self._maps: list[dict[tuple[str, str], str | None]] = [{} for _ in self.versions]
        self._levels: dict[tuple[int, str, str], Reason] = {}

    def forget(self) -> None:
        """Drop every reason and marking kept; the compiled agreement (states, versions) stays."""
        self._in_force = [None] * (len(self.state_starts) + 1)
        self._scope_ok = [None] * len(self.versions)
        self._scope_fail = {}
        self._maps = [{} for _ in self.versions]
        self._levels = {}

    def kept(self) -> bool:
        """Whether any reason or marking is kept (none after :meth:`forget`)."""
        return (
            any(r is not None for r in self._in_force)
            or any(r is not None for r in self._scope_ok)
            or bool(self._scope_fail or self._levels or any(self._maps))
        )

    def in_force(self, day: int) -> bool:
        return self.eif <= day < self.end

    def version_at(self, day: int) -> int:
        """Which version of the terms is in effect on ``day`` (the first one before entry into force)."""
        if self.single:
            return 0
        return max(bisect_right(self.version_starts, day) - 1, 0)

    def covers(self, version: int, topic_mask: int) -> bool:
        v = self.versions[version]
        return v.scope_any or bool(v.scope_mask & topic_mask)

    def in_force_reason(self, day: int, at: date) -> Reason:
        """This agreement's own ``agreement-in-force`` reason on ``at`` (whose ordinal is ``day``)."""
        i = bisect_right(self.state_starts, day)
        found = self._in_force[i]
        if found is None:
            found = self._in_force[i] = rules.in_force([], at, [self.timeline])
        return found

    def state_index(self, day: int) -> int:
        """Which dated state ``day`` falls in (0: before entry into force)."""
        return bisect_right(self.state_starts, day)

    def mapped(self, version: int, level: str, party: str) -> str | None:
        """How ``party`` marks ``level`` under that version's table (None: not covered)."""
        memo = self._maps[version]
        found = memo.get((level, party), _UNSET)
        if found is _UNSET:
            found = memo[(level, party)] = map_level(
                self.timeline.versions[version].equivalence, level, party
            )
        return found  # type: ignore[return-value]

    def scope_reason(self, version: int, covered: bool, item: Item) -> Reason:
        """``scope`` for this agreement alone; ``covered``: whether it covers the item's topics (which
        the reason names only when it does not)."""
        if covered:
            found = self._scope_ok[version]
            if found is None:
                found = self._scope_ok[version] = self._scope(version, item)
            return found
        fail = self._scope_fail.get((version, item.topics))
        if fail is None:
            fail = self._scope_fail[(version, item.topics)] = self._scope(version, item)
        return fail

    def _scope(self, version: int, item: Item) -> Reason:
        return rules.scope(item, [(self.id, self.timeline.versions[version].scope)])

    def level_reason(self, version: int, level: str, sender: str, receiver: str) -> Reason:
        """``level-covered`` for one hop under this agreement, sent at a known ``level``."""
        key = (version, level, receiver)
        found = self._levels.get(key)
        if found is None:
            received = self.mapped(version, level, receiver)
            hop = Hop(sender, receiver, self.timeline, level, received, False, None)
            found = self._levels[key] = rules.level_covered([hop])
        return found
