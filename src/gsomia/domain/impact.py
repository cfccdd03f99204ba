"""What-if: apply a change to a world and compare every item-by-party flow before and after.

A flow is (item, recipient) with the item held by its originator. Its outcome on the day is one of
``kept`` (allowed before and after by the same route), ``rerouted`` (allowed both times, another route),
``lost`` (allowed before, denied after), ``gained`` (denied before, allowed after) or ``denied`` (denied both
times). Items of one class (originator, level, topics, releasability, caveats) get the same verdicts, so each
class is decided once per recipient and its items are counted together: a million items cost what a few
thousand classes cost.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from .errors import QueryError
from .index import Verdict
from .model import Agreement, Event, Table, WorldSpec

Outcome = Literal["kept", "rerouted", "lost", "gained", "denied"]
OUTCOMES: tuple[Outcome, ...] = ("kept", "rerouted", "lost", "gained", "denied")
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Change:
    """``terminate`` an agreement on a day, ``amend`` its scope or table from a day, or ``add`` one.

    Terminating drops the agreement's own events dated after the termination: they could not happen.
    """

    kind: Literal["terminate", "amend", "add"]
    on: date
    agreement: str = ""
    scope: tuple[str, ...] | None = None
    scope_any: bool = False
    equivalence: Table | None = None
    new: Agreement | None = None

    def describe(self) -> str:
        name = self.new.id if self.new is not None else self.agreement
        return f"{self.kind} {name} on {self.on}"

    def apply(self, spec: WorldSpec) -> WorldSpec:
        if self.kind == "add":
            if self.new is None:
                raise QueryError("an 'add' change needs the new agreement")
            return replace(spec, agreements=(*spec.agreements, self.new))
        known = sorted(a.id for a in spec.agreements)
        if self.agreement not in known:
            raise QueryError(f"unknown agreement {self.agreement!r}; agreements are {known}")
        event = Event(
            self.on,
            self.agreement,
            self.kind,
            scope=self.scope,
            scope_any=self.scope_any,
            equivalence=self.equivalence,
            index=len(spec.events),
        )
        events = spec.events
        if self.kind == "terminate":
            # once it ends, the agreement's later events could not have happened
            events = tuple(e for e in events if e.agreement != self.agreement or e.date <= self.on)
        return replace(spec, events=(*events, event))


@dataclass(slots=True)
class FlowGroup:
    """Items of one class going to one recipient, with the same outcome."""

    outcome: Outcome
    recipient: str
    originator: str
    level: str
    topics: tuple[str, ...]
    items: list[str]
    before: Verdict
    after: Verdict

    def to_dict(self, list_items: int | None) -> dict[str, Any]:
        shown = self.items if list_items is None else self.items[:list_items]
        return {
            "outcome": self.outcome,
            "recipient": self.recipient,
            "originator": self.originator,
            "level": self.level,
            "topics": list(self.topics),
            "count": len(self.items),
            "items": shown,
            "items_truncated": len(shown) < len(self.items),
            "before": _verdict_dict(self.before),
            "after": _verdict_dict(self.after),
        }


def _verdict_dict(v: Verdict) -> dict[str, Any]:
    return {
        "allowed": v.allowed,
        "route": list(v.route),
        "agreements": list(v.agreements),
        "marking": v.marking,
    }


@dataclass(slots=True)
class ImpactReport:
    change: Change
    at: date
    pairs: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    by_agreement: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_topic: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_level: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    groups: list[FlowGroup] = field(default_factory=list)

    def to_dict(self, list_items: int | None = 20) -> dict[str, Any]:
        """JSON: counts, breakdowns and the flow groups (kept, rerouted, lost, gained; never the denied)."""

        def table(d: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
            return {k: {o: d[k][o] for o in OUTCOMES} for k in sorted(d)}

        return {
            "change": self.change.describe(),
            "at": self.at.isoformat(),
            "pairs": self.pairs,
            "counts": {o: self.counts[o] for o in OUTCOMES},
            "by_agreement": table(self.by_agreement),
            "by_topic": table(self.by_topic),
            "by_level": table(self.by_level),
            "flows": {
                o: [g.to_dict(list_items) for g in self.groups if g.outcome == o] for o in OUTCOMES[:4]
            },
        }


def outcome(before: Verdict, after: Verdict) -> Outcome:
    if before.allowed and after.allowed:
        return "kept" if (before.route, before.agreements) == (after.route, after.agreements) else "rerouted"
    if before.allowed:
        return "lost"
    return "gained" if after.allowed else "denied"


Decider = Callable[[str, str, int], Verdict]  # (any item of the class, recipient, day) -> verdict


def compare(
    classes: Iterable[tuple[list[str], str, str, tuple[str, ...]]],
    recipients: list[str],
    before: Decider,
    after: Decider,
    change: Change,
    at: date,
    progress: Progress | None = None,
) -> ImpactReport:
    """Decide each class once per recipient in both worlds; count its items under each outcome."""
    report = ImpactReport(change, at)
    day = at.toordinal()
    work = list(classes)
    for done, (items, originator, level, topics) in enumerate(work, 1):
        for recipient in recipients:
            if recipient == originator:
                continue
            b, a = before(items[0], recipient, day), after(items[0], recipient, day)
            _count(report, outcome(b, a), items, recipient, originator, level, topics, b, a)
        if progress is not None:
            progress(done, len(work))
    return report


def _count(
    report: ImpactReport,
    result: Outcome,
    items: list[str],
    recipient: str,
    originator: str,
    level: str,
    topics: tuple[str, ...],
    b: Verdict,
    a: Verdict,
) -> None:
    n = len(items)
    report.pairs += n
    report.counts[result] += n
    for agreement in (a if result == "gained" else b).agreements:
        report.by_agreement[agreement][result] += n
    for topic in topics:
        report.by_topic[topic][result] += n
    report.by_level[level][result] += n
    if result != "denied":
        report.groups.append(FlowGroup(result, recipient, originator, level, topics, items, b, a))
