"""The direct route from the originator, judged by pycasbin: a second, narrower anchor.

What it covers: a query whose holder is the item's originator and whose recipient is another party. For
those it answers "does some direct route pass?" -- rules 1 (NOFORN), 2 (releasable-to), 3 (an agreement
without a conduit, in force on the day), 4 (scope) and 5 (level covered), per docs/rules.md. gsomia allows
such a query by a direct route exactly when its decision is allowed with a two-party route (the direct
route is tried first), so the comparison is ``casbin.decide(q) == (d.allowed and len(d.route) == 2)``.
It does not cover conduits, onward holders (marking, consent) or returns: casbin's flat policy lines and
its matcher have no natural way to choose among candidates in order.

Encoding: one policy line per (agreement version on its in-force days, sender, recipient, sender level the
table maps to the recipient, topic or ``*``), days as ISO strings compared as text. Lifecycles come from
gsomia's compiled timelines (data). The index: one enforcer per (sender, recipient) pair, so a request
scans only that pair's lines.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import casbin  # type: ignore[import-untyped]

from gsomia.domain.model import NOFORN, Item
from gsomia.domain.world import World

MODEL = (Path(__file__).parent / "casbin_model.conf").read_text(encoding="utf-8")
NEVER = "9999-12-31"
Line = tuple[str, str, str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class Subject:
    """What the matcher reads of an item."""

    level: str
    topics: tuple[str, ...]
    noforn: bool
    limited: bool
    releasable_to: tuple[str, ...]


def subject(item: Item) -> Subject:
    return Subject(
        item.level,
        item.topics,
        NOFORN in item.caveats,
        item.releasable_to is not None,
        item.releasable_to or (),
    )


def policy_lines(world: World) -> list[Line]:
    """Every (sender, recipient, level, topic, start, end, agreement) line the direct route allows."""
    lines: list[Line] = []
    for aid, timeline in sorted(world.timelines.items()):
        agreement = timeline.agreement
        if agreement.conduit is not None:
            continue
        end = timeline.end or date.max
        versions = timeline.versions
        for k, version in enumerate(versions):
            start = max(version.start, agreement.entry_into_force)
            until = min(versions[k + 1].start if k + 1 < len(versions) else date.max, end)
            if start >= until:
                continue
            topics = version.scope if version.scope is not None else ("*",)
            span = (start.isoformat(), NEVER if until == date.max else until.isoformat())
            for row in version.equivalence:
                for sender, held in row.cells:
                    for recipient, marked in row.cells:
                        if sender == recipient or not marked:
                            continue
                        lines += [(sender, recipient, lv, t, *span, aid) for lv in held for t in topics]
    return lines


class CasbinEngine:
    """``decide`` answers whether a direct route passes for a query it ``covers``."""

    def __init__(self, world: World) -> None:
        self.items = world.items
        by_pair: dict[tuple[str, str], list[Line]] = defaultdict(list)
        for line in policy_lines(world):
            by_pair[(line[0], line[1])].append(line)
        self.enforcers: dict[tuple[str, str], casbin.Enforcer] = {}
        for pair, lines in by_pair.items():
            enforcer = casbin.Enforcer(casbin.Enforcer.new_model(text=MODEL))
            enforcer.add_policies([list(line) for line in lines])
            self.enforcers[pair] = enforcer
        self.lines = sum(len(v) for v in by_pair.values())

    def covers(self, item: str, recipient: str, at: date, holder: str) -> bool:
        origin = self.items[item].originator
        return holder == origin and recipient != origin

    @staticmethod
    def expected(allowed: bool, route: tuple[str, ...]) -> bool:
        """gsomia's answer to the question this anchor answers: allowed by a direct route."""
        return allowed and len(route) == 2

    def decide(self, item: str, recipient: str, at: date, holder: str) -> bool:
        enforcer = self.enforcers.get((holder, recipient))
        if enforcer is None:  # no policy line for this pair at all
            return False
        return bool(enforcer.enforce(holder, recipient, subject(self.items[item]), at.isoformat()))

    def explain(self, item: str, recipient: str, at: date, holder: str) -> dict[str, object]:
        """The verdict with casbin's own reason: the policy line that matched (``enforce_ex``)."""
        enforcer = self.enforcers.get((holder, recipient))
        if enforcer is None:
            return {"allowed": False, "policy": []}
        allowed, matched = enforcer.enforce_ex(holder, recipient, subject(self.items[item]), at.isoformat())
        return {"allowed": bool(allowed), "policy": list(matched)}

    def decide_many(self, queries: list[tuple[str, str, date, str]]) -> list[bool]:
        return [self.decide(*q) for q in queries]
