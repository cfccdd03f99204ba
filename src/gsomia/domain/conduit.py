"""A conduit route's reasons, for :class:`gsomia.domain.explain.Explainer`: the same hop agreements and
reasons as :func:`gsomia.domain.engine._conduit_candidate`, each reason kept by the route for the next query
that shares what its rule reads (the days' dated states and versions, the item's level or topics)."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date
from typing import TYPE_CHECKING

from . import rules
from .decision import Reason
from .rules import Hop

if TYPE_CHECKING:
    from .explain import Candidate, Explainer
    from .index import CItem
    from .terms import Terms

Levels = tuple[str | None, str | None, Reason]  # the level at the hub, at the recipient, and the reason


class ConduitRoute:
    """``holder`` → hub → ``recipient`` under one conduit arrangement, with the reasons it has given."""

    __slots__ = (
        "_agreements",
        "_in_force",
        "_levels",
        "_scope",
        "arrangement",
        "firsts",
        "holder",
        "hub",
        "receivers",
        "recipient",
        "route",
        "seconds",
        "why1",
        "why2",
    )

    def __init__(self, arrangement: Terms, holder: str, recipient: str, ex: Explainer) -> None:
        hub = arrangement.conduit
        assert hub is not None, "only conduit arrangements are routes through a hub"
        self.arrangement = arrangement
        self.holder, self.hub, self.recipient = holder, hub, recipient
        self.route = (holder, hub, recipient)
        self.receivers = (hub, recipient)
        self.firsts = tuple(t for t in ex.naming(holder, hub) if t.id in arrangement.hops)
        self.seconds = tuple(t for t in ex.naming(hub, recipient) if t.id in arrangement.hops)
        aid = arrangement.id
        self.why1 = f"no hops agreement of {aid} between {holder} and {hub} is in force that day"
        self.why2 = f"no hops agreement of {aid} between {hub} and {recipient} is in force that day"
        self._in_force: dict[Hashable, Reason] = {}
        self._scope: dict[Hashable, Reason] = {}
        self._levels: dict[Hashable, Levels] = {}
        self._agreements: dict[Hashable, tuple[str, ...]] = {}

    def forget(self) -> None:
        """Drop every reason kept; the route itself (its hub, hops and their agreements) stays."""
        self._in_force.clear()
        self._scope.clear()
        self._levels.clear()

    def kept(self) -> bool:
        """Whether any reason is kept (none after :meth:`forget`)."""
        return bool(self._in_force or self._scope or self._levels)

    def candidate(self, ex: Explainer, ci: CItem, at: date, day: int, level: str | None) -> Candidate:
        a = self.arrangement
        va = a.version_at(day)
        firsts = [t for t in self.firsts if t.in_force(day)]
        seconds = [t for t in self.seconds if t.in_force(day)]
        if len(firsts) <= 1 and len(seconds) <= 1:  # the only pair there is, whatever covers what
            first = firsts[0] if firsts else None
            second = seconds[0] if seconds else None
        else:
            first, second = self._hop_pair(firsts, seconds, va, ci.topic_mask, level, day)
        v1 = 0 if first is None else first.version_at(day)
        v2 = 0 if second is None else second.version_at(day)
        terms = (va, first, v1, second, v2)
        mask = ci.topic_mask
        covered = (
            a.covers(va, mask)
            and (first is None or first.covers(v1, mask))
            and (second is None or second.covers(v2, mask))
        )
        if covered:
            scope = self._scope.get(terms)
            if scope is None:
                scope = self._scope[terms] = rules.scope(ci.item, self._scopes(terms))
        else:  # the first agreement not covering the item says why, as it does on a direct route
            t, v = next(
                (t, v) for t, v in ((a, va), (first, v1), (second, v2)) if t and not t.covers(v, mask)
            )
            scope = t.scope_reason(v, False, ci.item)
        levels = self._levels.get((*terms, level))
        if levels is None:
            levels = self._levels[(*terms, level)] = self._level(terms, level)
        got2, covers = levels[1:]
        item = ci.item
        needs = self.holder != item.originator
        c1 = ex.world.find_consent(item, self.holder, self.hub, at) if needs else None
        c2 = ex.world.find_consent(item, self.hub, self.recipient, at) if needs else None
        approved = ex.consent_reason(
            item, ((self.holder, self.hub, c1), (self.hub, self.recipient, c2)), needs
        )
        reasons = (
            *ex.item_reasons(ci, self.receivers),
            self._in_force_reason(at, day, first, second),
            scope,
            covers,
            approved,
        )
        agreements = self._agreements.get((first, second))
        if agreements is None:
            used = (a.id, *(t.id for t in (first, second) if t is not None))
            agreements = self._agreements[(first, second)] = tuple(dict.fromkeys(used))
        return self.route, agreements, reasons, tuple([r for r in reasons if not r.ok]), got2

    def _hops(self, first: Terms | None, second: Terms | None, level: str | None = None) -> list[Hop]:
        """The two hops as the rules read them (levels only where ``level-covered`` needs them)."""
        return [
            Hop(
                self.holder,
                self.hub,
                None if first is None else first.timeline,
                level,
                None,
                False,
                None,
                self.why1 if first is None else "",
            ),
            Hop(
                self.hub,
                self.recipient,
                None if second is None else second.timeline,
                None,
                None,
                False,
                None,
                self.why2 if second is None else "",
            ),
        ]

    def _in_force_reason(self, at: date, day: int, first: Terms | None, second: Terms | None) -> Reason:
        a = self.arrangement
        key = (
            a.state_index(day),
            first,
            0 if first is None else first.state_index(day),
            second,
            0 if second is None else second.state_index(day),
        )
        found = self._in_force.get(key)
        if found is None:
            found = self._in_force[key] = rules.in_force(self._hops(first, second), at, [a.timeline])
        return found

    def _scopes(
        self, terms: tuple[int, Terms | None, int, Terms | None, int]
    ) -> list[tuple[str, tuple[str, ...] | None]]:
        va, first, v1, second, v2 = terms
        used = ((self.arrangement, va), (first, v1), (second, v2))
        return [(t.id, t.timeline.versions[v].scope) for t, v in used if t is not None]

    def _level(self, terms: tuple[int, Terms | None, int, Terms | None, int], level: str | None) -> Levels:
        """The levels at the hub and the recipient, and the ``level-covered`` reason, for an item the
        holder marks ``level``: the arrangement's own table if it has rows, else each hop agreement's."""
        a = self.arrangement
        va, first, v1, second, v2 = terms
        own = bool(a.timeline.versions[va].equivalence)
        got1 = got2 = None
        if level is not None:
            if own:
                got1 = a.mapped(va, level, self.hub)
            elif first is not None:
                got1 = first.mapped(v1, level, self.hub)
        if got1 is not None:
            if own:
                got2 = a.mapped(va, got1, self.recipient)
            elif second is not None:
                got2 = second.mapped(v2, got1, self.recipient)
        one, two = self._hops(first, second)
        hops = [
            Hop(one.sender, one.receiver, one.agreement, level, got1, False, None, one.missing),
            Hop(two.sender, two.receiver, two.agreement, got1, got2, False, None, two.missing),
        ]
        return got1, got2, rules.level_covered(hops)

    def _hop_pair(
        self, firsts: list[Terms], seconds: list[Terms], va: int, mask: int, level: str | None, day: int
    ) -> tuple[Terms | None, Terms | None]:
        """The engine's choice among several hop agreements: the first pair (id order of the first hop's,
        then the second's) whose scopes cover the item and whose tables carry the level; else the first
        pair whose scopes cover it; else, for each hop, the first covering the item, or else the first."""
        a = self.arrangement

        def covers(t: Terms) -> bool:
            return t.covers(t.version_at(day), mask)

        covering = [(f, s) for f in firsts if covers(f) for s in seconds if covers(s)]
        own = bool(a.timeline.versions[va].equivalence)
        for f, s in covering if level is not None else ():
            assert level is not None
            at_hub = a.mapped(va, level, self.hub) if own else f.mapped(f.version_at(day), level, self.hub)
            if at_hub is None:
                continue
            if own:
                to = a.mapped(va, at_hub, self.recipient)
            else:
                to = s.mapped(s.version_at(day), at_hub, self.recipient)
            if to is not None:
                return f, s
        if covering:
            return covering[0]

        def pick(found: list[Terms]) -> Terms | None:
            return next((t for t in found if covers(t)), found[0] if found else None)

        return pick(firsts), pick(seconds)
