"""The release rules, one small function each, each returning a :class:`Reason`.

The engine (:mod:`gsomia.domain.engine`) works out the facts of a candidate route (which agreement covers
each hop, which table maps which level); these functions judge those facts and say why in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .days import day_before
from .decision import Reason
from .lifecycle import Timeline
from .model import NOFORN, Consent, Item


@dataclass(frozen=True, slots=True)
class Hop:
    """One leg of a route: ``sender`` passes the item at ``level`` to ``receiver`` under ``agreement``."""

    sender: str
    receiver: str
    agreement: Timeline | None
    level: str | None  # the sender's marking of the item (None: unknown)
    received: str | None  # the receiver's marking under the hop's table (None: not covered)
    needs_consent: bool
    consent: Consent | None
    missing: str = ""  # why no agreement covers this hop, when ``agreement`` is None


def caveats(item: Item, receivers: Sequence[str]) -> Reason:
    if NOFORN in item.caveats:
        foreign = [p for p in receivers if p != item.originator]
        if foreign:
            return Reason(
                "caveats",
                False,
                f"NOFORN: {item.originator} allows no foreign release (to {', '.join(foreign)})",
            )
    carried = [c for c in item.caveats if c != NOFORN]
    if carried:
        return Reason("caveats", True, f"carried, not judged: {', '.join(carried)}")
    return Reason("caveats", True, "no caveat restricts this release")


def releasable_to(item: Item, receivers: Sequence[str]) -> Reason:
    if item.releasable_to is None:
        return Reason("releasable-to", True, "the item sets no releasability list")
    listed = set(item.releasable_to) | {item.originator}
    outside = [p for p in receivers if p not in listed]
    if outside:
        return Reason(
            "releasable-to",
            False,
            f"{', '.join(outside)} not in releasable_to [{', '.join(item.releasable_to)}]",
        )
    return Reason("releasable-to", True, f"{', '.join(receivers)} listed in releasable_to")


def in_force(hops: Sequence[Hop], at: date, extra: Sequence[Timeline] = ()) -> Reason:
    used: list[str] = []
    for timeline in [*extra, *(h.agreement for h in hops)]:
        if timeline is None:
            continue
        state = timeline.state(at)
        if not state.in_force:
            return Reason("agreement-in-force", False, _not_in_force(timeline, state.state))
        used.append(f"{timeline.agreement.id} ({_in_force_note(timeline, state.state, at)})")
    for hop in hops:
        if hop.agreement is None:
            return Reason(
                "agreement-in-force",
                False,
                hop.missing or f"no agreement covers {hop.sender} → {hop.receiver}",
            )
    return Reason("agreement-in-force", True, f"in force that day: {', '.join(dict.fromkeys(used))}")


def _in_force_note(timeline: Timeline, state: str, at: date) -> str:
    """``in-force``; ``notice-pending, ends on 2019-11-23``; ``notice-suspended, disputed``."""
    if state == "notice-pending":
        seg = timeline.segment(at)
        end = seg.ends if seg is not None else None
        return f"{state}, {'ends on ' + end.isoformat() if end else 'no end within the calendar'}"
    if state == "notice-suspended":
        return f"{state}, disputed"
    return state


def _not_in_force(timeline: Timeline, state: str) -> str:
    """Why an agreement is out of force on a day: when it enters into force, or the day it ended (the
    same whatever the day asked about) and its last day in force, if it had one."""
    aid = timeline.agreement.id
    if state == "not-yet-in-force":
        return f"{aid} not yet in force (enters into force on {timeline.agreement.entry_into_force})"
    end = timeline.end
    assert end is not None, "only an agreement with an end can be terminated or expired"
    last = day_before(end)
    if last is None or last < timeline.agreement.entry_into_force:
        return f"{aid} {state} on {end} (never in force)"
    return f"{aid} {state} on {end} (last day in force: {last})"


def scope(item: Item, scopes: Sequence[tuple[str, tuple[str, ...] | None]]) -> Reason:
    if not scopes:
        return Reason("scope", False, "no agreement to check the scope of")
    for aid, topics in scopes:
        if topics is not None and not set(item.topics) & set(topics):
            have = ", ".join(item.topics) or "no topic"
            return Reason("scope", False, f"{aid} covers [{', '.join(topics)}]; the item is on {have}")
    return Reason(
        "scope", True, "; ".join(f"{aid}: {'any' if t is None else ', '.join(t)}" for aid, t in scopes)
    )


def level_covered(hops: Sequence[Hop]) -> Reason:
    if not hops or any(h.agreement is None for h in hops):
        return Reason("level-covered", False, "no table to map the level through")
    steps: list[str] = []
    for hop in hops:
        assert hop.agreement is not None
        aid = hop.agreement.agreement.id
        if hop.level is None:
            return Reason(
                "level-covered", False, f"{hop.sender}'s marking of the item is unknown: no table maps it"
            )
        if hop.received is None:
            return Reason("level-covered", False, f"{aid} maps no {hop.receiver} level to {hop.level}")
        steps.append(f"{hop.level} → {hop.received} ({aid})")
    return Reason("level-covered", True, "; ".join(steps))


def consent(hops: Sequence[Hop], originator: str) -> Reason:
    notes: list[str] = []
    for hop in hops:
        if not hop.needs_consent:
            continue
        if hop.consent is None:
            return Reason(
                "consent",
                False,
                f"no consent of {originator} on record for {hop.sender} → {hop.receiver} on that day",
            )
        until = hop.consent.valid_until.isoformat() if hop.consent.valid_until else "open"
        notes.append(f"{hop.sender} → {hop.receiver} approved by {originator} (until {until})")
    if not notes:
        return Reason("consent", True, f"sent by the originator {originator}: its own approval")
    return Reason("consent", True, "; ".join(notes))
