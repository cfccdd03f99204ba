"""The story ``gsomia demo`` tells: what happened to the Korea-Japan GSOMIA, and what would have.

Two worlds are built from one file. The *actual* one replays every event on record: Korea's notice of
2019-08-23, its suspension the day before it would have taken effect, its withdrawal in 2023. The
*counterfactual* drops the events that stopped a notice (suspend, resume, withdraw), so every notice takes
effect. The same items are then decided in both worlds on a few key days, and on the day the two worlds part
ways (the turning day) each decision is classed: unchanged, re-routed, lost, or never moves.

This module computes the story (and its JSON); :mod:`gsomia.cli.storyview` draws it.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ..domain.days import day_before
from ..domain.decision import Decision, Reason
from ..domain.errors import WorldError
from ..domain.model import NOFORN, Item
from ..domain.world import World
from ..scenario import load_world
from .timelines import timeline_dict

SCENARIO = "korea-japan-2019.yaml"
KEY_DAYS = (date(2019, 10, 1), date(2019, 11, 22), date(2019, 11, 23), date(2020, 6, 1), date(2023, 3, 21))
"""The shipped story's days: notice pending, last day before the notice would bite, the day it would have,
deep into the disputed months, and the day Korea withdrew its notice."""
UNDO_KINDS = frozenset({"suspend-notice", "resume-notice", "withdraw-notice"})
MAX_DAYS = 6

Kind = Literal["unchanged", "re-routed", "lost", "gained", "never"]


@dataclass(frozen=True, slots=True)
class Row:
    """One item sent to one recipient, decided on every key day in both worlds."""

    item: Item
    recipient: str
    actual: tuple[Decision, ...]
    counterfactual: tuple[Decision, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """How one release differs on the turning day between what happened and the counterfactual."""

    item: Item
    recipient: str
    actual: Decision
    counterfactual: Decision
    kind: Kind
    summary: str  # the whole change in a line: ``lost: direct route closed; via USA: naval out of scope``
    why: str  # the gist: ``via USA under TISA``, ``naval out of scope``, ``NOFORN``


@dataclass(frozen=True, slots=True)
class Story:
    actual: World
    counterfactual: World
    noticed: tuple[str, ...]  # agreements given notice: the ones the story is about
    days: tuple[date, ...]
    rows: tuple[Row, ...]
    turning_day: date | None  # first day a noticed agreement's end differs between the worlds
    changes: tuple[Change, ...]


# -- building the story ---------------------------------------------------------------------------------


def tell(path: str | os.PathLike[str] | None = None) -> Story:
    """The story of the world file at ``path``, or of the shipped Korea-Japan 2019 scenario."""
    actual = load_shipped() if path is None else load_world(path)
    counterfactual = counterfactual_world(actual)
    noticed = tuple(sorted({e.agreement for e in actual.spec.events if e.kind == "notice"}))
    turning = turning_day(actual, counterfactual, noticed)
    days = KEY_DAYS if path is None else key_days(actual, counterfactual, noticed)
    pairs = story_pairs(actual, noticed)
    rows = tuple(
        Row(item, to, _decide_all(actual, item, to, days), _decide_all(counterfactual, item, to, days))
        for item, to in pairs
    )
    changes = (
        () if turning is None else tuple(_change(actual, counterfactual, i, to, turning) for i, to in pairs)
    )
    return Story(actual, counterfactual, noticed, days, rows, turning, changes)


def load_shipped() -> World:
    """The scenario shipped inside the package (``gsomia/scenarios/korea-japan-2019.yaml``)."""
    resource = importlib.resources.files("gsomia") / "scenarios" / SCENARIO
    with importlib.resources.as_file(resource) as path:
        return load_world(path)


def counterfactual_world(world: World) -> World:
    """The same world had every notice taken effect: no suspension, resumption or withdrawal."""
    events = tuple(e for e in world.spec.events if e.kind not in UNDO_KINDS)
    try:
        return World(dataclasses.replace(world.spec, events=events))
    except WorldError as exc:
        raise WorldError(
            f"the counterfactual (every notice taking effect) is not a valid world: {exc}"
        ) from exc


def turning_day(actual: World, counterfactual: World, noticed: tuple[str, ...]) -> date | None:
    ends = [
        end
        for aid in noticed
        if (end := counterfactual.timeline(aid).end) is not None and end != actual.timeline(aid).end
    ]
    return min(ends, default=None)


def key_days(world: World, counterfactual: World, noticed: tuple[str, ...]) -> tuple[date, ...]:
    """For a world file other than the shipped one: each event of the story, and each end and its eve."""
    days = {e.date for e in world.spec.events if e.agreement in noticed}
    for aid in noticed:
        for end in (world.timeline(aid).end, counterfactual.timeline(aid).end):
            if end is not None:
                days |= {end} | ({eve} if (eve := day_before(end)) is not None else set())
    if not days:  # nothing happens in this world: look at it on the day its last agreement began
        days = {max(a.entry_into_force for a in world.spec.agreements)}
    return tuple(sorted(days))[:MAX_DAYS]


def story_pairs(world: World, noticed: tuple[str, ...]) -> tuple[tuple[Item, str], ...]:
    """Each item to each other party of a noticed agreement naming its originator (all parties if none)."""
    pairs: dict[tuple[str, str], tuple[Item, str]] = {}
    groups = [world.timeline(aid).agreement.parties for aid in noticed] or [tuple(world.parties)]
    for item in world.spec.items:
        for parties in groups:
            if item.originator not in parties:
                continue
            for to in parties:
                if to != item.originator:
                    pairs.setdefault((item.id, to), (item, to))
    return tuple(pairs.values())


def _decide_all(world: World, item: Item, to: str, days: tuple[date, ...]) -> tuple[Decision, ...]:
    return tuple(world.decide(item.id, to, day) for day in days)


# -- what changed ---------------------------------------------------------------------------------------


def _change(actual: World, counterfactual: World, item: Item, to: str, day: date) -> Change:
    a = actual.decide(item.id, to, day)
    c = counterfactual.decide(item.id, to, day)
    kind, summary, why = classify(item, a, c)
    return Change(item, to, a, c, kind, summary, why)


def classify(item: Item, actual: Decision, counterfactual: Decision) -> tuple[Kind, str, str]:
    """The kind of change, a line saying it (``re-routed via USA under TISA``) and the short why of it."""
    if actual.allowed and counterfactual.allowed:
        if actual.route == counterfactual.route:
            return "unchanged", "unchanged", ""
        hubs = " → ".join(counterfactual.route[1:-1])
        why = (f"via {hubs} " if hubs else "") + f"under {counterfactual.agreements[0]}"
        return "re-routed", f"re-routed {why}", why
    if actual.allowed:
        failures = _failures(item, counterfactual)
        detours = [f for f in failures if not _closed(f)] or failures
        return "lost", f"lost: {say(failures)}", say(detours)
    if counterfactual.allowed:
        return "gained", "gained", ""
    why = say(_failures(item, actual))
    return "never", f"never moves: {why}", why


def route_label(route: tuple[str, ...]) -> str:
    """``direct`` or ``via USA``."""
    return "direct" if len(route) <= 2 else "via " + " → ".join(route[1:-1])


Failure = tuple[str, str, str]  # route label, rule, a few words


def _failures(item: Item, decision: Decision) -> list[Failure]:
    """Each route tried and the first rule it failed (the decision's own reasons if none was tried)."""
    out: list[Failure] = []
    for alt in decision.alternatives:
        if alt.failed:
            out.append(
                (route_label(alt.route), alt.failed[0].rule, rule_label(item, alt.failed[0], alt.route))
            )
    if not out:
        failed = next((r for r in decision.reasons if not r.ok), None)
        if failed is not None:
            out.append(("no route", failed.rule, rule_label(item, failed, ())))
    return out


def _closed(failure: Failure) -> bool:
    return failure[0] == "direct" and failure[1] == "agreement-in-force"


def say(failures: list[Failure]) -> str:
    """``KR-I not covered`` when every route failed alike, else ``direct route closed; via USA: ...``."""
    labels = dict.fromkeys(label for _, _, label in failures)
    if len(labels) <= 1:
        return next(iter(labels), "no route")
    return "; ".join("direct route closed" if _closed(f) else f"{f[0]}: {f[2]}" for f in failures)


def rule_label(item: Item, reason: Reason, route: tuple[str, ...]) -> str:
    """A few words for a failed rule: ``NOFORN``, ``naval out of scope``, ``KR-I not covered``..."""
    if reason.rule == "caveats":
        return NOFORN if NOFORN in item.caveats else "a caveat forbids it"
    if reason.rule == "releasable-to":
        listed = set(item.releasable_to or ()) | {item.originator}
        outside = [p for p in route[1:] if p not in listed]
        return f"{', '.join(outside) or 'a receiver'} not in releasable_to"
    labels = {
        "agreement-in-force": "no agreement in force",
        "scope": f"{', '.join(item.topics) or 'no topic'} out of scope",
        "level-covered": f"{item.level} not covered",
        "consent": "no originator consent",
    }
    return labels.get(reason.rule, reason.rule)


# -- JSON -----------------------------------------------------------------------------------------------


def brief(decision: Decision) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "route": list(decision.route),
        "agreements": list(decision.agreements),
        "marking": decision.marking,
    }


def story_dict(story: Story) -> dict[str, Any]:
    """The story as JSON: parties, both worlds' timelines, decisions on key days, and what changed."""
    spec = story.actual.spec
    return {
        "world": spec.name,
        "parties": [
            {"id": p.id, "name": p.name, "levels": [{"id": lv.id, "marking": lv.marking} for lv in p.levels]}
            for p in spec.parties
        ],
        "noticed": list(story.noticed),
        "timelines": {
            "actual": [timeline_dict(t) for t in story.actual.timelines.values()],
            "counterfactual": [timeline_dict(story.counterfactual.timeline(a)) for a in story.noticed],
        },
        "days": [d.isoformat() for d in story.days],
        "decisions": [_row_dict(story.days, row) for row in story.rows],
        "turning_day": story.turning_day.isoformat() if story.turning_day else None,
        "changes": [_change_dict(c) for c in story.changes],
    }


def _row_dict(days: tuple[date, ...], row: Row) -> dict[str, Any]:
    return {
        "item": row.item.id,
        "recipient": row.recipient,
        "days": [
            {"at": d.isoformat(), "actual": brief(a), "counterfactual": brief(c)}
            for d, a, c in zip(days, row.actual, row.counterfactual, strict=True)
        ],
    }


def _change_dict(change: Change) -> dict[str, Any]:
    return {
        "item": change.item.id,
        "recipient": change.recipient,
        "change": change.kind,
        "summary": change.summary,
        "why": change.why,
        "actual": brief(change.actual),
        "counterfactual": brief(change.counterfactual),
    }
