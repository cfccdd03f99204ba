"""Reasons and alternatives of a decision, put together from reasons shared across queries.

:func:`gsomia.domain.engine.decide` works every rule out afresh for each query: it is the reference (and
what other nodes' decisions are checked with). :class:`Explainer` walks the same routes in the same order
and gives the very same reasons, object for object and so as JSON (Hypothesis properties compare the two),
but each reason is worked out by its rule once for everything that shares what the rule reads, and kept:
an agreement's reasons in :class:`~gsomia.domain.terms.Terms`, an item's caveats and releasability by its
caveats and list, a consent's by the consent. Routes after the winning one are not walked: their reasons
are never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date
from typing import TYPE_CHECKING

from . import rules
from .conduit import ConduitRoute
from .decision import Alternative, Reason
from .model import Consent, Item
from .rules import Hop
from .terms import Terms

if TYPE_CHECKING:
    from .index import CItem
    from .world import World

Verdict4 = tuple[bool, tuple[str, ...], tuple[str, ...], str | None]
Explanation = tuple[tuple[Reason, ...], tuple[Alternative, ...]]
Answer = tuple[Verdict4, Explanation]
# a route tried: its parties, agreements, the six route rules' reasons, those that failed, the marking
Candidate = tuple[tuple[str, ...], tuple[str, ...], tuple[Reason, ...], tuple[Reason, ...], str | None]
LIMIT = 1_000_000  # reasons kept (keyed on items' lists and consents) before the memo starts afresh
DENIED: Verdict4 = (False, (), (), None)


class Explainer:
    """Explanations for one world; everything it keeps is derived from that world alone."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._terms: dict[str, Terms] = {}
        self._plans: dict[tuple[str, str], tuple[tuple[Terms, ...], tuple[ConduitRoute, ...]]] = {}
        self._naming: dict[tuple[str, str], tuple[Terms, ...]] = {}
        self._memo: dict[Hashable, Reason] = {}
        self._tails: dict[tuple[str, str], tuple[Reason, ...]] = {}
        self._returns: dict[tuple[str, str], tuple[Reason, ...]] = {}
        self._said: dict[Hashable, tuple[Reason, Reason]] = {}  # route and marking, by route or count

    def clear(self) -> None:
        """Forget every reason worked out so far; each is worked out again as needed. The agreements
        compiled as explanations read them (terms, the routes between two parties) are kept: they hold
        no reason after this, and are the world's structure, not answers."""
        for terms in self._terms.values():
            terms.forget()
        for _, routes in self._plans.values():
            for route in routes:
                route.forget()
        for memo in (self._memo, self._tails, self._returns, self._said):
            memo.clear()

    def is_empty(self) -> bool:
        """Whether no reason is kept (as after :meth:`clear`)."""
        return not any((self._memo, self._tails, self._returns, self._said)) and not any(
            [t.kept() for t in self._terms.values()]
            + [r.kept() for _, routes in self._plans.values() for r in routes]
        )

    # -- the world's agreements, compiled as explanations read them -------------------------------------
    def terms(self, aid: str) -> Terms:
        found = self._terms.get(aid)
        if found is None:
            found = self._terms[aid] = Terms(self.world.timelines[aid], self.world.index.agreements[aid])
        return found

    def naming(self, a: str, b: str) -> tuple[Terms, ...]:
        """The agreements naming both ``a`` and ``b`` (conduit arrangements included), in id order."""
        found = self._naming.get((a, b))
        if found is None:
            timelines = self.world.timelines_naming(a, b)
            found = self._naming[(a, b)] = tuple(self.terms(t.agreement.id) for t in timelines)
        return found

    def plan(self, a: str, b: str) -> tuple[tuple[Terms, ...], tuple[ConduitRoute, ...]]:
        """The routes from ``a`` to ``b``: agreements without a conduit, then conduit arrangements whose hub
        is neither (each in id order)."""
        found = self._plans.get((a, b))
        if found is None:
            direct = tuple(t for t in self.naming(a, b) if t.conduit is None)
            # the index has the conduit arrangements between the two already (both members, neither the hub)
            between = self.world.index.hubs_between.get((a, b), ())
            hubs = tuple(ConduitRoute(self.terms(c.id), a, b, self) for c in between)
            found = self._plans[(a, b)] = (direct, hubs)
        return found

    def reason(self, key: Hashable, make: Callable[[], Reason]) -> Reason:
        """The reason kept under ``key``, made (by a rule) the first time."""
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= LIMIT:
                self._memo.clear()
            found = self._memo[key] = make()
        return found

    # -- the explanation ----------------------------------------------------------------------------------
    def explain(self, ci: CItem, recipient: str, holder: str, at: date) -> Answer:
        """The verdict, reasons and alternatives :func:`gsomia.domain.engine.decide` gives."""
        item = ci.item
        if recipient == item.originator:
            return self._returned(ci, holder, at)
        day = at.toordinal()
        plan = self._plans.get((holder, recipient))
        directs, hubs = plan if plan is not None else self.plan(holder, recipient)
        if not directs and not hubs:
            return DENIED, ((*self._no_route(ci, holder, recipient), *self._none_said(0)), ())
        tried: list[Candidate] = []
        if directs:
            found = self._directs(ci, directs, holder, recipient, at, day, tried)
            if found is not None:
                return self._allowed(recipient, found, tried)
        if hubs:
            level = self._level(item, holder, day)
            for route in hubs:
                if route.hub == item.originator:
                    continue
                cand = route.candidate(self, ci, at, day, level)
                if not cand[3]:
                    return self._allowed(recipient, cand, tried)
                tried.append(cand)
        return self._denied(ci, holder, recipient, tried)

    def _level(self, item: Item, holder: str, day: int) -> str | None:
        if holder == item.originator:
            return item.level
        return self.world.index.holder_level(item.originator, item.level, holder, day)

    def item_reasons(self, ci: CItem, receivers: tuple[str, ...]) -> tuple[Reason, Reason]:
        """``caveats`` (which reads the receivers only under NOFORN) and ``releasable-to``."""
        item = ci.item
        memo = self._memo
        key: Hashable = ("caveats", item.caveats, item.originator, receivers) if ci.noforn else item.caveats
        caveats = memo.get(key)
        if caveats is None:
            caveats = self.reason(key, lambda: rules.caveats(item, receivers))
        listed = ci.releasable  # the list and the originator
        if listed is None:
            key = "unlisted"
        elif len(receivers) == 1:
            # listed: the reason names only the receivers; else those outside, and the list
            key = (
                ("listed", receivers)
                if receivers[0] in listed
                else ("outside", receivers, item.releasable_to)
            )
        else:
            outside = tuple([p for p in receivers if p not in listed])
            key = ("listed", receivers) if not outside else ("outside", outside, item.releasable_to)
        releasable = memo.get(key)
        if releasable is None:
            releasable = self.reason(key, lambda: rules.releasable_to(item, receivers))
        return caveats, releasable

    def consent_reason(
        self, item: Item, hops: tuple[tuple[str, str, Consent | None], ...], needs: bool
    ) -> Reason:
        """``consent`` over hops (sender, receiver, consent found); a consent is keyed by its identity (the
        world's consents live as long as the world)."""
        origin = item.originator
        if not needs:
            key: Hashable = ("own", origin)
            found = self._memo.get(key)
            return found if found is not None else self.reason(key, lambda: rules.consent((), origin))
        key = ("consent", origin, *[(s, r, None if c is None else id(c)) for s, r, c in hops])
        found = self._memo.get(key)
        if found is not None:
            return found
        return self.reason(
            key, lambda: rules.consent([Hop(s, r, None, None, None, True, c) for s, r, c in hops], origin)
        )

    def unknown_level(self, holder: str, t: Terms) -> Reason:
        """``level-covered`` when the sender's own marking of the item is unknown (the same for any hop)."""
        return self.reason(
            ("unknown", holder),
            lambda: rules.level_covered([Hop(holder, holder, t.timeline, None, None, False, None)]),
        )

    def _directs(
        self,
        ci: CItem,
        directs: tuple[Terms, ...],
        holder: str,
        recipient: str,
        at: date,
        day: int,
        tried: list[Candidate],
    ) -> Candidate | None:
        """Walk the direct agreements in id order: the first that passes every rule, after adding each that
        does not to ``tried``."""
        item = ci.item
        needs = holder != item.originator
        level = self._level(item, holder, day)
        caveats, releasable = self.item_reasons(ci, (recipient,))
        consent = self.world.find_consent(item, holder, recipient, at) if needs else None
        approved = self.consent_reason(item, ((holder, recipient, consent),), needs)
        passes = caveats.ok and releasable.ok and approved.ok
        mask = ci.topic_mask
        route = (holder, recipient)
        for t in directs:
            v = 0 if t.single else t.version_at(day)
            in_force = t.in_force_reason(day, at)
            covered = t.covers(v, mask)
            if level is None:
                received = None
                covers = self.unknown_level(holder, t)
            else:
                received = t.mapped(v, level, recipient)
                covers = t.level_reason(v, level, holder, recipient)
            reasons = (caveats, releasable, in_force, t.scope_reason(v, covered, item), covers, approved)
            if passes and in_force.ok and covered and received is not None:
                return route, (t.id,), reasons, (), received
            tried.append((route, (t.id,), reasons, tuple([r for r in reasons if not r.ok]), received))
        return None

    def _returned(self, ci: CItem, holder: str, at: date) -> Answer:
        """Back to the originator: an agreement in force naming both is all it takes."""
        item = ci.item
        origin, level = item.originator, item.level
        route = (holder, origin)
        day = at.toordinal()
        tried: list[Candidate] = []
        for t in self.naming(holder, origin):
            in_force = t.in_force_reason(day, at)
            reasons = self._return_reasons(origin, level, in_force)
            if in_force.ok:
                return self._allowed(origin, (route, (t.id,), reasons, (), level), tried)
            tried.append((route, (t.id,), reasons, (in_force,), level))
        return self._denied(ci, holder, origin, tried)

    def _return_reasons(self, origin: str, level: str, in_force: Reason) -> tuple[Reason, ...]:
        fixed = self._returns.get((origin, level))
        if fixed is None:
            fixed = self._returns[(origin, level)] = (
                Reason("caveats", True, f"a return to the originator {origin}"),
                Reason("releasable-to", True, "the originator needs no releasability"),
                Reason("scope", True, "not required for a return to the originator"),
                Reason("level-covered", True, f"returned at its own level {level}"),
                Reason("consent", True, "not required for a return to the originator"),
            )
        return (*fixed[:2], in_force, *fixed[2:])

    def _allowed(self, recipient: str, winner: Candidate, tried: list[Candidate]) -> Answer:
        route, agreements, reasons, _, marking = winner
        n = len(tried)
        key = (route, agreements, n, recipient, marking)
        said = self._said.get(key)
        if said is None:
            before = f"; {n} route(s) tried before" if n else ""
            said = self._said[key] = (
                Reason("route", True, f"{' → '.join(route)} under {', '.join(agreements)}{before}"),
                Reason("marking", True, f"{recipient} marks it {marking}"),
            )
        alternatives = _alternatives(tried) if tried else ()
        return (True, route, agreements, marking), ((*reasons, *said), alternatives)

    def _none_said(self, n: int) -> tuple[Reason, Reason]:
        """``route`` and ``marking`` of a denial after ``n`` routes tried."""
        said = self._said.get(n)
        if said is None:
            said = self._said[n] = (
                Reason("route", False, f"no route passes every rule ({n} tried; see alternatives)"),
                Reason("marking", False, "none: the release is denied"),
            )
        return said

    def _denied(self, ci: CItem, holder: str, recipient: str, tried: list[Candidate]) -> Answer:
        n = len(tried)
        said = self._none_said(n)
        if not tried:
            return DENIED, ((*self._no_route(ci, holder, recipient), *said), ())
        if n == 1:
            only = tried[0]
            return DENIED, ((*only[2], *said), (Alternative(only[0], only[1], only[3]),))
        closest = min(tried, key=_failed)[2]
        return DENIED, ((*closest, *said), _alternatives(tried))

    def _no_route(self, ci: CItem, holder: str, recipient: str) -> tuple[Reason, ...]:
        tail = self._tails.get((holder, recipient))
        if tail is None:
            missing = f"no agreement or conduit arrangement connects {holder} and {recipient}"
            tail = self._tails[(holder, recipient)] = (
                Reason("agreement-in-force", False, missing),
                Reason("scope", False, "no agreement to check the scope of"),
                Reason("level-covered", False, "no table to map the level through"),
                Reason("consent", False, "no route to check consent on"),
            )
        return (*self.item_reasons(ci, (recipient,)), *tail)


def _failed(candidate: Candidate) -> int:
    return len(candidate[3])


def _alternatives(tried: list[Candidate]) -> tuple[Alternative, ...]:
    return tuple([Alternative(c[0], c[1], c[3]) for c in tried])
