"""decide(): may this item go from its holder to that recipient on that day, by which route, marked how?

Routes are tried in a fixed order: direct agreements (no conduit) in id order, then conduit arrangements in
id order; the first route that passes every rule wins. A return to the originator needs only an agreement
in force naming both. Every decision lists every rule; a denied one explains the route that came closest and
lists every route tried in ``alternatives``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from . import rules
from .decision import Alternative, Decision, Reason
from .lifecycle import Timeline
from .model import Consent, Item, Table, map_level
from .rules import Hop


class Facts(Protocol):
    """What the engine reads of a world (see :class:`gsomia.domain.world.World`)."""

    def timelines_naming(self, a: str, b: str) -> Sequence[Timeline]: ...
    def conduits(self) -> Sequence[Timeline]: ...
    def find_consent(self, item: Item, sender: str, receiver: str, at: date) -> Consent | None: ...
    def holder_level(self, item: Item, holder: str, at: date) -> str | None: ...


@dataclass(slots=True)
class Candidate:
    route: tuple[str, ...]
    agreements: tuple[str, ...]
    reasons: list[Reason] = field(default_factory=list)
    marking: str | None = None

    def ok(self) -> bool:
        return all(r.ok for r in self.reasons)

    def failures(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.ok)


def decide(facts: Facts, item: Item, recipient: str, at: date, holder: str) -> Decision:
    if recipient == item.originator:
        candidates = _returns(facts, item, holder, at)
    else:
        candidates = _direct(facts, item, holder, recipient, at) + _conduit(
            facts, item, holder, recipient, at
        )
    tried: list[Candidate] = []
    for cand in candidates:
        if cand.ok():
            return _verdict(item, recipient, holder, at, cand, tried)
        tried.append(cand)
    return _verdict(item, recipient, holder, at, None, tried)


def _verdict(
    item: Item, recipient: str, holder: str, at: date, winner: Candidate | None, tried: list[Candidate]
) -> Decision:
    alternatives = tuple(Alternative(c.route, c.agreements, c.failures()) for c in tried)
    if winner is not None:
        path = " → ".join(winner.route)
        before = f"; {len(tried)} route(s) tried before" if tried else ""
        route = Reason("route", True, f"{path} under {', '.join(winner.agreements)}{before}")
        marking = Reason("marking", True, f"{recipient} marks it {winner.marking}")
        reasons = (*winner.reasons, route, marking)
        return Decision(
            item.id,
            recipient,
            holder,
            at,
            True,
            winner.route,
            winner.agreements,
            winner.marking,
            reasons,
            alternatives,
        )
    closest = min(tried, key=lambda c: len(c.failures())) if tried else _no_route(item, holder, recipient)
    route = Reason("route", False, f"no route passes every rule ({len(tried)} tried; see alternatives)")
    marking = Reason("marking", False, "none: the release is denied")
    return Decision(
        item.id, recipient, holder, at, False, (), (), None, (*closest.reasons, route, marking), alternatives
    )


def _no_route(item: Item, holder: str, recipient: str) -> Candidate:
    receivers = [recipient]
    missing = f"no agreement or conduit arrangement connects {holder} and {recipient}"
    return Candidate(
        (holder, recipient),
        (),
        [
            rules.caveats(item, receivers),
            rules.releasable_to(item, receivers),
            Reason("agreement-in-force", False, missing),
            Reason("scope", False, "no agreement to check the scope of"),
            Reason("level-covered", False, "no table to map the level through"),
            Reason("consent", False, "no route to check consent on"),
        ],
    )


def _table(timeline: Timeline, at: date) -> Table:
    return timeline.version(at).equivalence


def _hop(
    facts: Facts,
    item: Item,
    sender: str,
    receiver: str,
    at: date,
    timeline: Timeline | None,
    level: str | None,
    table: Table | None,
    needs_consent: bool,
    missing: str = "",
) -> Hop:
    received = map_level(table, level, receiver) if (table is not None and level is not None) else None
    found = facts.find_consent(item, sender, receiver, at) if needs_consent else None
    return Hop(sender, receiver, timeline, level, received, needs_consent, found, missing)


def _direct(facts: Facts, item: Item, holder: str, recipient: str, at: date) -> list[Candidate]:
    level = facts.holder_level(item, holder, at)
    out: list[Candidate] = []
    for timeline in facts.timelines_naming(holder, recipient):
        if timeline.agreement.conduit is not None:
            continue
        hop = _hop(
            facts,
            item,
            holder,
            recipient,
            at,
            timeline,
            level,
            _table(timeline, at),
            holder != item.originator,
        )
        cand = Candidate((holder, recipient), (timeline.agreement.id,))
        cand.reasons = [
            rules.caveats(item, [recipient]),
            rules.releasable_to(item, [recipient]),
            rules.in_force([hop], at),
            rules.scope(item, [(timeline.agreement.id, timeline.version(at).scope)]),
            rules.level_covered([hop]),
            rules.consent([hop], item.originator),
        ]
        cand.marking = hop.received
        out.append(cand)
    return out


def _hop_agreements(
    facts: Facts, arrangement: Timeline, a: str, b: str, at: date
) -> tuple[list[Timeline], str]:
    """The ``hops`` agreements between a and b in force on ``at`` (id order), or why there is none."""
    found = [
        t
        for t in facts.timelines_naming(a, b)
        if t.agreement.id in arrangement.agreement.hops and t.in_force(at)
    ]
    if found:
        return found, ""
    return [], f"no hops agreement of {arrangement.agreement.id} between {a} and {b} is in force that day"


def _covers(timeline: Timeline, item: Item, at: date) -> bool:
    scope = timeline.version(at).scope
    return scope is None or bool(set(scope) & set(item.topics))


def _carries(
    own: Table, first: Timeline, second: Timeline, level: str | None, hub: str, to: str, at: date
) -> bool:
    at_hub = map_level(own or _table(first, at), level, hub) if level is not None else None
    return at_hub is not None and map_level(own or _table(second, at), at_hub, to) is not None


def _hop_pair(
    firsts: list[Timeline],
    seconds: list[Timeline],
    own: Table,
    item: Item,
    level: str | None,
    hub: str,
    recipient: str,
    at: date,
) -> tuple[Timeline | None, Timeline | None]:
    """The pair of hop agreements a conduit route reports: the first pair (id order of the first hop's
    agreement, then the second's) whose scopes cover the item and whose tables carry the level; failing
    that, the first pair whose scopes cover the item (it fails on the level); failing that, for each hop
    the first agreement covering the item, or else the first in force (it fails on the scope)."""
    covering = [(f, s) for f in firsts if _covers(f, item, at) for s in seconds if _covers(s, item, at)]
    for f, s in covering:
        if _carries(own, f, s, level, hub, recipient, at):
            return f, s
    if covering:
        return covering[0]

    def pick(found: list[Timeline]) -> Timeline | None:
        return next((t for t in found if _covers(t, item, at)), found[0] if found else None)

    return pick(firsts), pick(seconds)


def _conduit(facts: Facts, item: Item, holder: str, recipient: str, at: date) -> list[Candidate]:
    out: list[Candidate] = []
    for arrangement in facts.conduits():
        hub = arrangement.agreement.conduit
        members = arrangement.agreement.parties
        if hub is None or hub == item.originator or len({holder, hub, recipient}) < 3:
            continue
        if holder not in members or recipient not in members:
            continue
        out.append(_conduit_candidate(facts, arrangement, hub, item, holder, recipient, at))
    return out


def _conduit_candidate(
    facts: Facts, arrangement: Timeline, hub: str, item: Item, holder: str, recipient: str, at: date
) -> Candidate:
    own = _table(arrangement, at)
    firsts, why1 = _hop_agreements(facts, arrangement, holder, hub, at)
    seconds, why2 = _hop_agreements(facts, arrangement, hub, recipient, at)
    level = facts.holder_level(item, holder, at)
    first, second = _hop_pair(firsts, seconds, own, item, level, hub, recipient, at)
    t1 = own or (_table(first, at) if first else None)
    hop1 = _hop(facts, item, holder, hub, at, first, level, t1, holder != item.originator, why1)
    t2 = own or (_table(second, at) if second else None)
    hop2 = _hop(facts, item, hub, recipient, at, second, hop1.received, t2, holder != item.originator, why2)
    used = [arrangement.agreement.id] + [t.agreement.id for t in (first, second) if t is not None]
    scopes = [(t.agreement.id, t.version(at).scope) for t in (arrangement, first, second) if t is not None]
    cand = Candidate((holder, hub, recipient), tuple(dict.fromkeys(used)))
    cand.reasons = [
        rules.caveats(item, [hub, recipient]),
        rules.releasable_to(item, [hub, recipient]),
        rules.in_force([hop1, hop2], at, extra=[arrangement]),
        rules.scope(item, scopes),
        rules.level_covered([hop1, hop2]),
        rules.consent([hop1, hop2], item.originator),
    ]
    cand.marking = hop2.received
    return cand


def _returns(facts: Facts, item: Item, holder: str, at: date) -> list[Candidate]:
    """Back to the originator: an agreement in force naming both is all it takes."""
    out: list[Candidate] = []
    for timeline in facts.timelines_naming(holder, item.originator):
        cand = Candidate((holder, item.originator), (timeline.agreement.id,))
        cand.reasons = [
            Reason("caveats", True, f"a return to the originator {item.originator}"),
            Reason("releasable-to", True, "the originator needs no releasability"),
            rules.in_force([], at, extra=[timeline]),
            Reason("scope", True, "not required for a return to the originator"),
            Reason("level-covered", True, f"returned at its own level {item.level}"),
            Reason("consent", True, "not required for a return to the originator"),
        ]
        cand.marking = item.level
        out.append(cand)
    return out
