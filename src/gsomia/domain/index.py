"""The compiled world: the verdict, route and marking of a decision in a few lookups.

:mod:`gsomia.domain.engine` builds every reason as it goes; this module answers only *whether*, *how* and
*marked what*, from tables built once: agreements by party pair with their in-force interval as day
ordinals, each version's scope as a topic bit mask and its table as a ``(level, receiver) -> level`` dict,
holders' markings by (originator level, holder). ``World.decide`` answers from here and asks the engine for
reasons only when they are read, once per item shape, recipient, holder and :meth:`Index.reason_span`. Both
must agree on every query; Hypothesis properties check it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .days import FIRST_DAY, LAST_DAY
from .model import NOFORN, Item

if TYPE_CHECKING:
    from .lifecycle import Timeline
    from .world import World

FOREVER = 10**7  # a day ordinal later than any date (date.max is 3_652_059)
MEMO_LIMIT = 2_000_000  # memoised verdicts kept before the memo starts afresh
SPAN_LIMIT = 400_000  # days of breakpoint spans tabulated (about 1,100 years)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a decision decides, without the reasons: the engine's answer in compact form."""

    allowed: bool
    route: tuple[str, ...]
    agreements: tuple[str, ...]
    marking: str | None


DENIED = Verdict(False, (), (), None)


@dataclass(frozen=True, slots=True)
class CVersion:
    scope_any: bool
    scope_mask: int
    mapping: dict[tuple[str, str], str]  # (sender level, receiver party) -> receiver level
    has_rows: bool


@dataclass(frozen=True, slots=True)
class CAgreement:
    id: str
    eif: int
    end: int
    starts: tuple[int, ...]  # version start ordinals
    versions: tuple[CVersion, ...]
    conduit: str | None
    parties: frozenset[str]
    hops: frozenset[str]

    def in_force(self, day: int) -> bool:
        return self.eif <= day < self.end

    def version(self, day: int) -> CVersion:
        if len(self.versions) == 1:
            return self.versions[0]
        return self.versions[max(bisect_right(self.starts, day) - 1, 0)]


@dataclass(frozen=True, slots=True)
class CConsent:
    item: str | None
    originator: str | None
    topics: int
    valid_from: int
    valid_until: int


@dataclass(frozen=True, slots=True)
class CItem:
    """What the verdict needs of an item; shared by every item of the same shape."""

    item: Item  # the item itself if consents name it, else the first item of its shape
    klass: int  # items of one class get the same verdicts (see :meth:`Index.classify`)
    topic_mask: int
    releasable: frozenset[str] | None  # None: no list; else listed parties plus the originator
    noforn: bool


class Index:
    """Compiled lookups over a :class:`World` (which it is built from, once)."""

    def __init__(self, world: World, base: Index | None = None) -> None:
        """Compile ``world``; with ``base`` (an index of a world with the same items), reuse its items."""
        self.world = world
        self.topic_bits: dict[str, int] = dict(base.topic_bits) if base else {}
        self.agreements = {aid: self._agreement(t) for aid, t in world.timelines.items()}
        self.pairs: dict[tuple[str, str], tuple[CAgreement, ...]] = {}
        for (a, b), timelines in world.party_pairs():
            self.pairs[(a, b)] = tuple(self.agreements[t.agreement.id] for t in timelines)
        self.direct = {k: tuple(c for c in v if c.conduit is None) for k, v in self.pairs.items()}
        self.conduits = tuple(self.agreements[t.agreement.id] for t in world.conduits())
        # the conduit arrangements that can carry anything from a to b: both members, neither the hub
        self.hubs_between: dict[tuple[str, str], tuple[CAgreement, ...]] = {
            (a, b): tuple(c for c in self.conduits if {a, b} <= c.parties and c.conduit not in (a, b))
            for a in world.parties
            for b in world.parties
            if a != b
        }
        self._named = consented = {c.item for c in world.consents() if c.item is not None}
        self._classes: dict[tuple[object, ...], int] = dict(base._classes) if base else {}
        self.items: dict[str, CItem] = base.items if base else self._items(world, consented)
        self.consents: dict[tuple[str, str], list[CConsent]] = defaultdict(list)
        for c in world.consents():
            start = c.valid_from.toordinal() if c.valid_from else 0
            until = c.valid_until.toordinal() if c.valid_until else FOREVER
            mask = self._mask((c.topic,)) if c.topic is not None else 0
            self.consents[(c.holder, c.recipient)].append(CConsent(c.item, c.originator, mask, start, until))
        self.breaks = self._breakpoints()
        # reasons also name each agreement's state, which changes on notice days too; and the days gsomia
        # does not take lie in stretches of their own, so no decision on a day it takes answers for them
        self.reason_breaks = sorted(
            set(self.breaks)
            | {seg.start.toordinal() for t in world.timelines.values() for seg in t.segments}
            | {FIRST_DAY.toordinal(), LAST_DAY.toordinal() + 1}
        )
        # the span index of every day from the first breakpoint to the last, so the hot path indexes a list
        # instead of bisecting; days outside it (or a span too wide to tabulate) fall back to bisect
        self._first = self.breaks[0] if self.breaks else 0
        width = (self.breaks[-1] - self._first + 1) if self.breaks else 0
        self._spans = (
            [bisect_right(self.breaks, self._first + i) for i in range(width)] if width <= SPAN_LIMIT else []
        )
        self.memo: dict[tuple[int, str, str, int], Verdict] = {}
        # holders' markings: newest entry into force first, ties by lowest id (the engine's rule)
        self.marking_order = {
            k: tuple(sorted(v, key=lambda c: (-c.eif, c.id))) for k, v in self.pairs.items()
        }

    def _mask(self, topics: tuple[str, ...], *, learn: bool = True) -> int:
        """The bits of ``topics``; a topic not yet known gets a bit of its own, or (not ``learn``) none."""
        mask = 0
        for topic in topics:
            bit = (
                self.topic_bits.setdefault(topic, len(self.topic_bits))
                if learn
                else self.topic_bits.get(topic)
            )
            mask |= 0 if bit is None else 1 << bit
        return mask

    def _agreement(self, timeline: Timeline) -> CAgreement:
        a = timeline.agreement
        versions = []
        for v in timeline.versions:
            mapping: dict[tuple[str, str], str] = {}
            for row in v.equivalence:
                for _who, levels in row.cells:
                    for level in levels:
                        for other, theirs in row.cells:
                            mapping[(level, other)] = theirs[0]
            scope = v.scope or ()
            versions.append(CVersion(v.scope is None, self._mask(scope), mapping, bool(v.equivalence)))
        end = FOREVER if timeline.end is None else timeline.end.toordinal()
        starts = tuple(v.start.toordinal() for v in timeline.versions)
        return CAgreement(
            a.id,
            a.entry_into_force.toordinal(),
            end,
            starts,
            tuple(versions),
            a.conduit,
            frozenset(a.parties),
            frozenset(a.hops),
        )

    def _items(self, world: World, consented: set[str]) -> dict[str, CItem]:
        """Items of one shape share one CItem (its ``item`` is the first of them): a million items cost
        what their few thousand shapes cost. An item named by a consent keeps a CItem of its own."""
        shapes: dict[tuple[object, ...], CItem] = {}
        out: dict[str, CItem] = {}
        for iid, item in world.items.items():
            own = iid in consented
            key = (
                item.originator,
                item.level,
                item.topics,
                item.releasable_to,
                item.caveats,
                iid if own else None,
            )
            ci = shapes.get(key)
            if ci is None:
                ci = shapes[key] = self._item(item, own)
            out[iid] = ci
        return out

    def admit(self, item: Item) -> None:
        """Compile one more item (see :meth:`World.admit`); one a consent names is a class of its own."""
        self.items[item.id] = self._item(item, item.id in self._named)

    def outside(self, item: Item, recipient: str, day: int, holder: str) -> Verdict:
        """:meth:`cached` for an item that is not in the world (one received from a partner), learning
        nothing from it: a topic the world does not know is in no scope or consent, so it is left out of
        the mask; the verdict is remembered only if the item's class is one the world already has."""
        mask = self._mask(item.topics, learn=False)
        key, releasable, noforn = _class_key(item, mask, item.id in self._named)
        klass = self._classes.get(key)
        ci = CItem(item, -1 if klass is None else klass, mask, releasable, noforn)
        if klass is None:
            return self.verdict(ci, recipient, day, holder)
        return self.cached(ci, recipient, day, holder)

    def _item(self, item: Item, consented: bool) -> CItem:
        mask = self._mask(item.topics)
        key, releasable, noforn = _class_key(item, mask, consented)
        klass = self._classes.setdefault(key, len(self._classes))
        return CItem(item, klass, mask, releasable, noforn)

    def _breakpoints(self) -> list[int]:
        """Every day on which some verdict may change; between two of them, verdicts are constant."""
        days: set[int] = set()
        for c in self.agreements.values():
            days.update((c.eif, c.end, *c.starts))
        for consents in self.consents.values():
            for cc in consents:
                days.update((cc.valid_from, cc.valid_until + 1))
        return sorted(days)

    def cached(self, ci: CItem, recipient: str, day: int, holder: str) -> Verdict:
        """``verdict``, memoised per (item class, recipient, holder, span between breakpoints)."""
        i = day - self._first
        span = self._spans[i] if 0 <= i < len(self._spans) else bisect_right(self.breaks, day)
        key = (ci.klass, recipient, holder, span)
        found = self.memo.get(key)
        if found is None:
            if len(self.memo) >= MEMO_LIMIT:
                self.memo.clear()
            found = self.memo[key] = self.verdict(ci, recipient, day, holder)
        return found

    def reason_span(self, day: int) -> int:
        """Which stretch of days ``day`` falls in, between two days on which some reason may change."""
        return bisect_right(self.reason_breaks, day)

    # -- the verdict ---------------------------------------------------------------------------------
    def verdict(self, ci: CItem, recipient: str, day: int, holder: str) -> Verdict:
        item = ci.item
        if recipient == item.originator:
            for c in self.pairs.get((holder, recipient), ()):
                if c.in_force(day):
                    return Verdict(True, (holder, recipient), (c.id,), item.level)
            return DENIED
        if ci.noforn or (ci.releasable is not None and recipient not in ci.releasable):
            return DENIED
        level: str | None = item.level
        if holder != item.originator:
            level = self.holder_level(item.originator, item.level, holder, day)
        if level is None:
            return DENIED
        for c in self.direct.get((holder, recipient), ()):
            if not c.in_force(day):
                continue
            v = c.version(day)
            if not (v.scope_any or v.scope_mask & ci.topic_mask):
                continue
            marking = v.mapping.get((level, recipient))
            if marking is not None and self._consented(ci, holder, recipient, day):
                return Verdict(True, (holder, recipient), (c.id,), marking)
        for c in self.hubs_between.get((holder, recipient), ()):
            found = self._through(c, ci, level, holder, recipient, day)
            if found is not None:
                return found
        return DENIED

    def _through(
        self, c: CAgreement, ci: CItem, level: str, holder: str, recipient: str, day: int
    ) -> Verdict | None:
        hub = c.conduit
        item = ci.item
        if hub is None or hub in (item.originator, holder, recipient) or holder not in c.parties:
            return None
        if recipient not in c.parties or not c.in_force(day):
            return None
        if ci.releasable is not None and hub not in ci.releasable:
            return None
        v = c.version(day)
        if not (v.scope_any or v.scope_mask & ci.topic_mask):
            return None
        if holder != item.originator and not (
            self._consented(ci, holder, hub, day) and self._consented(ci, hub, recipient, day)
        ):
            return None
        found = self._hop_pair(c, v, ci.topic_mask, level, holder, hub, recipient, day)
        if found is None:
            return None
        first, second, marking = found
        agreements = tuple(dict.fromkeys((c.id, first.id, second.id)))
        return Verdict(True, (holder, hub, recipient), agreements, marking)

    def _hop_pair(
        self, c: CAgreement, v: CVersion, topics: int, level: str, a: str, hub: str, b: str, day: int
    ) -> tuple[CAgreement, CAgreement, str] | None:
        """The first pair (first-hop, second-hop agreement), in id order of the first then the second,
        whose scopes cover the item and whose tables carry ``level`` through the hub; with its marking."""
        firsts = self._hops(c, a, hub, topics, day)
        seconds = self._hops(c, hub, b, topics, day) if firsts else ()
        for first in firsts:
            at_hub = (v if v.has_rows else first.version(day)).mapping.get((level, hub))
            if at_hub is None:
                continue
            for second in seconds:
                marking = (v if v.has_rows else second.version(day)).mapping.get((at_hub, b))
                if marking is not None:
                    return first, second, marking
        return None

    def _hops(self, c: CAgreement, a: str, b: str, topics: int, day: int) -> tuple[CAgreement, ...]:
        """The conduit's ``hops`` agreements between a and b in force on ``day`` covering the topics."""
        out = []
        for h in self.pairs.get((a, b), ()):
            if h.id in c.hops and h.in_force(day):
                hv = h.version(day)
                if hv.scope_any or hv.scope_mask & topics:
                    out.append(h)
        return tuple(out)

    def _consented(self, ci: CItem, sender: str, receiver: str, day: int) -> bool:
        if sender == ci.item.originator:
            return True
        item = ci.item
        for c in self.consents.get((sender, receiver), ()):
            if not c.valid_from <= day <= c.valid_until:
                continue
            if c.item is not None:
                if c.item == item.id:
                    return True
            elif c.originator == item.originator and c.topics & ci.topic_mask:
                return True
        return False

    def holder_level(self, originator: str, level: str, holder: str, day: int) -> str | None:
        """How ``holder`` marks an item of ``originator`` at ``level`` on ``day`` (None: no table maps it)."""
        for c in self.marking_order.get((originator, holder), ()):
            if c.eif <= day:
                marking = c.version(day).mapping.get((level, holder))
                if marking is not None:
                    return marking
        return None


def _class_key(
    item: Item, mask: int, consented: bool
) -> tuple[tuple[object, ...], frozenset[str] | None, bool]:
    """The key of ``item``'s class (items of one class get the same verdicts, so a verdict is remembered
    per class), with its releasability and whether it is NOFORN. An item named by a consent is a class
    of its own: onward releases of it differ from its peers'."""
    releasable = None if item.releasable_to is None else frozenset((*item.releasable_to, item.originator))
    noforn = NOFORN in item.caveats
    key = (item.originator, item.level, mask, releasable, noforn, item.id if consented else None)
    return key, releasable, noforn
