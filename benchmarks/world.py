"""A seeded benchmark world: parties, bilaterals with lifecycles, conduits, items, consents.

``make_world`` builds :class:`gsomia.domain.model.WorldSpec` values directly (no YAML at this size). Every
equivalence table is built by aligning levels by rank, so rows never cross; every lifecycle event is checked
by replaying it (:func:`gsomia.domain.lifecycle.compile_timeline`) and dropped if it could not apply.
Items come from a few thousand classes (originator, level, topics, releasable_to, caveats) replicated to
the requested count. ``make_queries`` draws a realistic mix of questions over such a world.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gsomia.domain.errors import LifecycleError
from gsomia.domain.lifecycle import compile_timeline
from gsomia.domain.model import (
    NOFORN,
    Agreement,
    Consent,
    Duration,
    EquivalenceRow,
    Event,
    EventKind,
    Item,
    Level,
    Party,
    Table,
    WorldSpec,
)

TOPICS = (
    "dprk-nuclear", "dprk-missile", "naval", "cyber", "space", "terrorism",
    "air-defence", "sigint", "logistics", "arctic", "counter-intel", "maritime",
)  # fmt: skip
CODES = (
    "KOR", "JPN", "USA", "GBR", "FRA", "DEU", "ITA", "ESP", "CAN", "AUS", "NZL", "NOR", "SWE", "FIN",
    "DNK", "NLD", "BEL", "POL", "CZE", "HUN", "ROU", "BGR", "GRC", "TUR", "PRT", "IRL", "AUT", "CHE",
    "ISR", "IND", "PHL", "THA", "SGP", "MYS", "IDN", "VNM", "BRA", "MEX", "CHL", "ZAF",
)  # fmt: skip
Query = tuple[str, str, date, str]  # (item, recipient, at, holder)


def _day(text: str) -> int:
    return date.fromisoformat(text).toordinal()


def _between(rng: random.Random, first: int, last: int) -> date:
    return date.fromordinal(rng.randint(first, max(first, last)))


def make_parties(rng: random.Random, count: int) -> tuple[Party, ...]:
    """``count`` parties, each with 3 or 4 levels, lowest first."""
    ids = [CODES[i] if i < len(CODES) else f"P{i:03d}" for i in range(count)]
    return tuple(
        Party(
            pid,
            f"Party {pid}",
            tuple(Level(f"{pid}-L{r}", pid, f"{pid} L{r}", r) for r in range(rng.randint(3, 4))),
        )
        for pid in ids
    )


def aligned_table(rng: random.Random, parties: list[Party]) -> Table:
    """1-3 rows pairing each party's levels by rank: blocks rise together, so no two rows cross."""
    k = rng.randint(1, min(3, *(len(p.levels) for p in parties)))
    blocks: dict[str, list[tuple[str, ...]]] = {}
    for party in parties:
        spare = len(party.levels) - k
        sizes = [1] * k
        for i in range(k):
            if spare > 0 and rng.random() < 0.25:
                sizes[i], spare = 2, spare - 1
        pos = 1 if spare > 0 and rng.random() < 0.2 else 0  # sometimes the lowest level is left out too
        blocks[party.id] = []
        for size in sizes:
            blocks[party.id].append(tuple(lv.id for lv in party.levels[pos : pos + size]))
            pos += size
    rows = [EquivalenceRow(tuple((p.id, blocks[p.id][i]) for p in parties)) for i in range(k)]
    rng.shuffle(rows)  # rows may come in any order
    return tuple(rows)


def _scope(rng: random.Random, p_any: float, most: int = 3) -> tuple[str, ...] | None:
    return None if rng.random() < p_any else tuple(sorted(rng.sample(TOPICS, rng.randint(1, most))))


def _lifecycle(rng: random.Random) -> tuple[Duration | None, bool, Duration]:
    r = rng.random()
    if r < 0.4:  # indefinite
        return None, False, Duration(rng.choice((0, 30, 90, 180)), "d")
    if r < 0.8:  # 1y, renewed automatically, 90 days' notice
        return Duration(1, "y"), True, Duration(90, "d")
    return Duration(rng.choice((5, 10)), "y"), False, Duration(rng.choice((0, 90)), "d")  # fixed term


def _events(rng: random.Random, agreement: Agreement, parties: list[Party]) -> list[Event]:
    """A plausible event history for ``agreement``; an event that could not apply is dropped."""
    kept: list[Event] = []

    def add(when: int, kind: EventKind, scope: tuple[str, ...] | None = None, **amend: Any) -> bool:
        day, by = date.fromordinal(when), rng.choice(agreement.parties)
        event = Event(day, agreement.id, kind, by, scope, index=len(kept), **amend)
        try:
            compile_timeline(agreement, (*kept, event))
        except LifecycleError:
            return False
        kept.append(event)
        return True

    first, last = max(agreement.entry_into_force.toordinal() + 30, _day("2005-01-01")), _day("2025-06-30")
    if first >= last:
        return kept
    when = rng.randint(first, last)

    def later() -> int:
        return when + rng.randint(10, 400)

    r = rng.random()
    if r < 0.55:
        return kept
    if r < 0.65:
        if add(when, "notice") and rng.random() < 0.3:
            add(later(), "withdraw-notice")
    elif r < 0.75:
        if add(when, "notice") and add(when := later(), "suspend-notice"):
            follow = rng.random()
            if follow < 0.4:
                add(later(), "resume-notice")
            elif follow < 0.7:
                add(later(), "withdraw-notice")
    elif r < 0.8:
        add(when, "terminate")
    else:  # amend the scope (to any, or to topics), the table, or both
        pick = rng.random()
        table = aligned_table(rng, parties) if pick >= 0.4 and agreement.conduit is None else None
        new_scope = pick < 0.7 or table is None
        scope = _scope(rng, 0.3 if agreement.conduit is None else 0.0) if new_scope else None
        add(when, "amend", scope, scope_any=new_scope and scope is None, equivalence=table)
        if rng.random() < 0.3:
            add(later(), "notice")
    return kept


def _agreement(rng: random.Random, aid: str, members: list[Party], eif: date) -> Agreement:
    term, renewal, notice = _lifecycle(rng)
    kind: Literal["treaty", "arrangement"] = rng.choice(("treaty", "arrangement"))
    parties = tuple(p.id for p in members)
    return Agreement(aid, kind, parties, eif, term=term, renewal=renewal, notice_period=notice)


def make_agreements(
    rng: random.Random, parties: tuple[Party, ...], bilaterals: int, conduits: int
) -> tuple[tuple[Agreement, ...], tuple[Event, ...]]:
    """Conduit arrangements first (their hub-member pairs get bilaterals), then random bilateral pairs."""
    by_id = {p.id: p for p in parties}
    ids = list(by_id)
    plans: list[tuple[str, str, list[str]]] = []
    for n, hub in enumerate(rng.sample(ids, min(conduits, len(ids)))):
        spokes = rng.sample([p for p in ids if p != hub], min(rng.randint(4, 8), len(ids) - 1))
        plans.append((f"C{n}-{hub}-HUB", hub, spokes))
    pairs = [(hub, m) for _, hub, spokes in plans for m in spokes]
    while len(pairs) < bilaterals:
        a, b = rng.sample(ids, 2)
        pairs.append((a, b))
    agreements: list[Agreement] = []
    hops: dict[frozenset[str], list[str]] = defaultdict(list)
    for n, (a, b) in enumerate(pairs):
        aid = f"B{n:03d}-{a}-{b}"
        pair = [by_id[a], by_id[b]]
        base = _agreement(rng, aid, pair, _between(rng, _day("1990-01-01"), _day("2020-12-31")))
        agreements.append(replace(base, scope=_scope(rng, 0.65), equivalence=aligned_table(rng, pair)))
        hops[frozenset((a, b))].append(aid)
    for aid, hub, spokes in plans:
        members = [by_id[hub], *(by_id[m] for m in spokes)]
        own = aligned_table(rng, members) if rng.random() < 0.4 else ()
        used = tuple(sorted(h for m in spokes for h in hops[frozenset((hub, m))]))
        base = _agreement(rng, aid, members, _between(rng, _day("1995-01-01"), _day("2015-12-31")))
        agreements.append(
            replace(
                base, kind="arrangement", scope=_scope(rng, 0.0, 6), equivalence=own, conduit=hub, hops=used
            )
        )
    events: list[Event] = []
    for agreement in agreements:
        for ev in _events(rng, agreement, [by_id[p] for p in agreement.parties]):
            events.append(replace(ev, index=len(events)))  # the world's order: same-day events keep theirs
    return tuple(agreements), tuple(events)


ItemClass = tuple[str, str, tuple[str, ...], tuple[str, ...] | None, tuple[str, ...]]


def _item_class(rng: random.Random, parties: tuple[Party, ...]) -> ItemClass:
    origin = rng.choice(parties)
    rank = min(int(rng.expovariate(1.0)), len(origin.levels) - 1)  # mostly the lower levels
    level = origin.levels[rank].id
    topics = tuple(sorted(rng.sample(TOPICS, rng.choice((1, 1, 2, 2, 3)))))
    others = [p.id for p in parties if p.id != origin.id]
    releasable = tuple(sorted(rng.sample(others, rng.randint(1, 6)))) if rng.random() < 0.15 else None
    r = rng.random()
    caveats = (NOFORN,) if r < 0.02 else ("ORCON",) if r < 0.05 else (NOFORN, "ORCON") if r < 0.055 else ()
    return origin.id, level, topics, releasable, caveats


def make_items(rng: random.Random, parties: tuple[Party, ...], count: int, classes: int) -> tuple[Item, ...]:
    """``count`` items drawn from ``classes`` classes (fast: one numpy draw, then one tuple build)."""
    kinds = [_item_class(rng, parties) for _ in range(max(1, min(classes, count // 4 or 1)))]
    picks = np.random.default_rng(rng.randrange(2**32)).integers(0, len(kinds), size=count).tolist()
    return tuple([Item(f"IT{i:07d}", *kinds[c]) for i, c in enumerate(picks)])


def make_consents(rng: random.Random, spec: WorldSpec, count: int) -> tuple[Consent, ...]:
    """Item and topic consents with date windows (a bound may be open), held by the originator's partners."""
    partners = partner_index(spec)
    ids = [p.id for p in spec.parties]
    out: list[Consent] = []
    while len(out) < count and spec.items:
        item = spec.items[rng.randrange(len(spec.items))]
        holder = rng.choice(sorted(partners[item.originator]) or ids)
        recipient = rng.choice([p for p in ids if p != holder])
        start = None if rng.random() < 0.1 else _between(rng, _day("2010-01-01"), _day("2023-12-31"))
        until = (
            None
            if rng.random() < 0.15
            else date.fromordinal((start or date(2015, 1, 1)).toordinal() + rng.randint(180, 6 * 365))
        )
        if rng.random() < 0.6:
            out.append(Consent(holder, recipient, item=item.id, valid_from=start, valid_until=until))
        else:
            out.append(
                Consent(
                    holder,
                    recipient,
                    topic=rng.choice(item.topics),
                    originator=item.originator,
                    valid_from=start,
                    valid_until=until,
                )
            )
    return tuple(out)


def make_world(
    seed: int = 0,
    parties: int = 40,
    bilaterals: int = 300,
    conduits: int = 5,
    items: int = 1_000_000,
    consents: int = 2_000,
    classes: int = 3_000,
) -> WorldSpec:
    """The benchmark world of benchmarks/README.md, the same for the same arguments."""
    rng = random.Random(seed)
    people = make_parties(rng, parties)
    agreements, events = make_agreements(rng, people, bilaterals, conduits)
    spec = WorldSpec(
        f"benchmark seed {seed}", people, agreements, events, make_items(rng, people, items, classes)
    )
    return WorldSpec(spec.name, people, agreements, events, spec.items, make_consents(rng, spec, consents))


def partner_index(spec: WorldSpec) -> dict[str, set[str]]:
    """Each party's partners: parties it shares an agreement with."""
    partners: dict[str, set[str]] = defaultdict(set)
    for agreement in spec.agreements:
        for a in agreement.parties:
            partners[a].update(b for b in agreement.parties if b != a)
    return partners


def _breakpoints(spec: WorldSpec) -> dict[tuple[str, str], list[int]]:
    """Per pair of parties, the days around their agreements' changes (entry into force, events, end)."""
    events: dict[str, list[Event]] = defaultdict(list)
    for ev in spec.events:
        events[ev.agreement].append(ev)
    lo, hi = _day("2005-01-01"), _day("2025-12-31")
    out: dict[tuple[str, str], set[int]] = defaultdict(set)
    for agreement in spec.agreements:
        timeline = compile_timeline(agreement, tuple(events[agreement.id]))
        days = [v.start for v in timeline.versions] + [s.start for s in timeline.segments]
        for day in (d.toordinal() + k for d in days for k in (-1, 0)):
            if lo <= day <= hi:
                for a in agreement.parties:
                    for b in agreement.parties:
                        out[(a, b)].add(day)
    return {p: sorted(days) for p, days in out.items()}


def make_queries(spec: WorldSpec, n: int, seed: int = 1) -> list[Query]:
    """``n`` queries (item, recipient, at, holder): mostly from the originator, some onward or by consent."""
    rng = random.Random(seed)
    partners = {p: sorted(s) for p, s in partner_index(spec).items()}
    peers: dict[str, list[str]] = defaultdict(list)  # fellow members of a conduit arrangement
    for arrangement in (a for a in spec.agreements if a.conduit is not None):
        for p in arrangement.parties:
            peers[p].extend(q for q in arrangement.parties if q not in (p, arrangement.conduit))
    ids = [p.id for p in spec.parties]
    breaks = _breakpoints(spec)
    items = spec.items
    by_topic: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for i in range(0, len(items), max(1, len(items) // 50_000)):
        for topic in items[i].topics:
            by_topic[(items[i].originator, topic)].append(items[i])
    lo, hi = _day("2015-01-01"), _day("2025-12-31")

    def near(holder: str) -> list[str]:
        """Whom to send to: a partner half the time, else a fellow conduit member or anyone."""
        return rng.choice([partners.get(holder), peers.get(holder), ids, partners.get(holder)]) or ids

    out: list[Query] = []
    while len(out) < n:
        item = items[rng.randrange(len(items))]
        r = rng.random()
        if r < 0.6 or (r >= 0.85 and not spec.consents):  # from the originator
            holder = item.originator
            recipient = rng.choice(near(holder))
        elif r < 0.85:  # onward from a partner of the originator, sometimes back to it
            holder = rng.choice(partners.get(item.originator) or ids)
            recipient = item.originator if rng.random() < 0.25 else rng.choice(near(holder))
        else:  # under a consent on record, often on the edge of its window
            consent = spec.consents[rng.randrange(len(spec.consents))]
            if consent.item is not None:
                item = items[int(consent.item[2:])]  # make_items numbers items by position
            else:
                item = rng.choice(by_topic.get((consent.originator or "", consent.topic or ""), [item]))
            holder, recipient = consent.holder, consent.recipient
            edges = [
                d.toordinal() + k for d in (consent.valid_from, consent.valid_until) if d for k in (-1, 0, 1)
            ]
            if edges and rng.random() < 0.5:
                out.append((item.id, recipient, date.fromordinal(rng.choice(edges)), holder))
                continue
        if holder == recipient:
            continue
        days = breaks.get(
            (holder, recipient), []
        )  # on the edge of a change between them, a third of the time
        day = rng.choice(days) if days and rng.random() < 0.33 else rng.randint(lo, hi)
        out.append((item.id, recipient, date.fromordinal(day), holder))
    return out


# -- world files --------------------------------------------------------------------------------------
_SAFE_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*\Z")
_YAML_WORDS = frozenset(("null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"))


def _yaml_scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when it is plainly text, else double-quoted (JSON's quoting)."""
    return value if _SAFE_PLAIN.match(value) and value not in _YAML_WORDS else json.dumps(value)


def _yaml_item(entry: dict[str, Any]) -> str:
    lines = []
    for n, (key, value) in enumerate(entry.items()):
        text = (
            "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
            if isinstance(value, list)
            else _yaml_scalar(value)
        )
        lines.append(f"{'- ' if n == 0 else '  '}{key}: {text}\n")
    return "".join(lines)


def write_world_file(spec: WorldSpec, path: Path) -> None:
    """``spec`` as a world file at ``path``, as ``gsomia export`` writes one: JSON (indented by two) when
    the name ends in ``.json``, else YAML with block sections and inline lists. The items, most of such a
    file, are written here line by line (a YAML library takes minutes over a million of them)."""
    from gsomia.cli.node import world_yaml
    from gsomia.services import worlddata

    data: dict[str, Any] = {"gsomia": 1, "name": spec.name}
    data["parties"] = [worlddata.party_data(p) for p in spec.parties]
    data["agreements"] = [worlddata.agreement_data(a) for a in spec.agreements]
    data["events"] = [worlddata.event_data(e) for e in spec.events]
    data["consents"] = [worlddata.consent_data(c) for c in spec.consents]
    data = worlddata.world_file(data)
    items = [worlddata.item_data(i) for i in spec.items]
    with path.open("w", encoding="utf-8") as out:
        if path.suffix.lower() == ".json":
            data["items"] = items
            json.dump(worlddata.world_file(data), out, ensure_ascii=False, indent=2)
            out.write("\n")
            return
        out.write(world_yaml(data))
        out.write("items:\n")
        for entry in items:
            out.write(_yaml_item(entry))


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.world --items N FILE``: write the benchmark world as a world file."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.world", description=main.__doc__)
    parser.add_argument("file", type=Path, help="where to write (.json for JSON, else YAML)")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--consents", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = make_world(seed=args.seed, items=args.items, consents=min(args.consents, args.items // 10))
    write_world_file(spec, args.file)


if __name__ == "__main__":
    main()
