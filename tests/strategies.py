"""Hypothesis strategies: small valid worlds and queries over them.

Tables align levels by rank (rank i of one party is held equal to rank i of another) and cover every
level up to a ceiling, as real agreements do; that is what makes "a higher level is never easier to
release" a theorem rather than an accident.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import strategies as st

from gsomia.domain.days import FIRST_DAY, LAST_DAY
from gsomia.domain.errors import LifecycleError
from gsomia.domain.model import (
    Agreement,
    Consent,
    Duration,
    EquivalenceRow,
    Event,
    Item,
    Level,
    Party,
    WorldSpec,
)
from gsomia.domain.world import World

TOPICS = ("t0", "t1", "t2")
LEVELS = 3
BASE = date(2000, 1, 1)


def _party(i: int) -> Party:
    pid = f"P{i}"
    return Party(pid, pid, tuple(Level(f"{pid}-{r}", pid, f"{pid}-{r}", r) for r in range(LEVELS)))


def _table(a: str, b: str, ceiling: int) -> tuple[EquivalenceRow, ...]:
    return tuple(EquivalenceRow(((a, (f"{a}-{r}",)), (b, (f"{b}-{r}",)))) for r in range(ceiling))


days = st.integers(min_value=0, max_value=6000).map(lambda n: BASE + timedelta(days=n))
scopes = st.one_of(st.none(), st.sets(st.sampled_from(TOPICS), min_size=1).map(lambda s: tuple(sorted(s))))


@st.composite
def bilaterals(draw: st.DrawFn, n_parties: int, index: int) -> Agreement:
    a, b = draw(st.lists(st.integers(0, n_parties - 1), min_size=2, max_size=2, unique=True))
    pa, pb = f"P{a}", f"P{b}"
    term = draw(st.sampled_from([None, Duration(1, "y"), Duration(2, "y"), Duration(6, "m")]))
    return Agreement(
        id=f"AG{index:02d}",
        kind="treaty",
        parties=(pa, pb),
        entry_into_force=draw(days),
        term=term,
        renewal=term is not None and draw(st.booleans()),
        notice_period=Duration(draw(st.sampled_from([0, 30, 90])), "d"),
        scope=draw(scopes),
        equivalence=_table(pa, pb, draw(st.integers(1, LEVELS))),
    )


def _conduit(
    bilateral: tuple[Agreement, ...], hub: str, scope: tuple[str, ...] | None, own_rows: int
) -> Agreement | None:
    """A conduit arrangement over the hub's bilaterals; with ``own_rows`` > 0, a table of its own (levels
    aligned by rank up to that ceiling) that both hops then use."""
    hops = tuple(a for a in bilateral if hub in a.parties)
    members = {p for a in hops for p in a.parties}
    if len(members) < 3:
        return None
    table = tuple(EquivalenceRow(tuple((p, (f"{p}-{r}",)) for p in sorted(members))) for r in range(own_rows))
    return Agreement(
        id="ZC",
        kind="arrangement",
        parties=tuple(sorted(members)),
        entry_into_force=BASE,
        scope=scope,
        conduit=hub,
        hops=tuple(a.id for a in hops),
        equivalence=table,
    )


@st.composite
def items(draw: st.DrawFn, n_parties: int, index: int) -> Item:
    origin = f"P{draw(st.integers(0, n_parties - 1))}"
    releasable = draw(st.one_of(st.none(), st.sets(st.sampled_from([f"P{i}" for i in range(n_parties)]))))
    return Item(
        id=f"I{index}",
        originator=origin,
        level=f"{origin}-{draw(st.integers(0, LEVELS - 1))}",
        topics=tuple(sorted(draw(st.sets(st.sampled_from(TOPICS), min_size=1)))),
        releasable_to=None if releasable is None else tuple(sorted(releasable)),
        caveats=draw(st.sampled_from([(), (), ("NOFORN",), ("ORCON",)])),
    )


@st.composite
def consents(draw: st.DrawFn, n_parties: int, item_ids: list[str]) -> Consent:
    holder, recipient = draw(st.lists(st.integers(0, n_parties - 1), min_size=2, max_size=2, unique=True))
    start = draw(st.one_of(st.none(), days))
    until = draw(st.one_of(st.none(), days.filter(lambda x: start is None or x >= start)))
    if draw(st.booleans()):
        return Consent(
            f"P{holder}",
            f"P{recipient}",
            item=draw(st.sampled_from(item_ids)),
            valid_from=start,
            valid_until=until,
        )
    origin = f"P{draw(st.integers(0, n_parties - 1))}"
    return Consent(
        f"P{holder}",
        f"P{recipient}",
        topic=draw(st.sampled_from(TOPICS)),
        originator=origin,
        valid_from=start,
        valid_until=until,
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    """A valid world of 3-5 parties, bilaterals, maybe a conduit, notices, amendments, items, consents."""
    n = draw(st.integers(3, 5))
    agreements = tuple(draw(bilaterals(n, i)) for i in range(draw(st.integers(1, 7))))
    conduit = None
    if draw(st.booleans()):
        hub = f"P{draw(st.integers(0, n - 1))}"
        agreements += tuple(draw(_spoke(hub, f"P{i}")) for i in range(n) if f"P{i}" != hub)
        conduit = _conduit(agreements, hub, draw(scopes), draw(st.sampled_from([0, 0, 1, 2, 3])))
    found = tuple(draw(items(n, i)) for i in range(draw(st.integers(1, 6))))
    spec = WorldSpec(
        name="generated",
        parties=tuple(_party(i) for i in range(n)),
        agreements=agreements + ((conduit,) if conduit else ()),
        items=found,
        consents=tuple(draw(consents(n, [i.id for i in found])) for _ in range(draw(st.integers(0, 4)))),
    )
    events = []
    for agreement in agreements:
        if draw(st.integers(0, 3)) == 0:
            when = agreement.entry_into_force + timedelta(days=draw(st.integers(0, 900)))
            events.append(Event(when, agreement.id, "notice", index=len(events)))
        if draw(st.integers(0, 4)) == 0:
            when = agreement.entry_into_force + timedelta(days=draw(st.integers(0, 400)))
            scope = draw(scopes)
            events.append(
                Event(when, agreement.id, "amend", scope=scope, scope_any=scope is None, index=len(events))
            )
    try:
        return World(replace(spec, events=tuple(events)))
    except LifecycleError:
        return World(spec)


@st.composite
def _spoke(draw: st.DrawFn, hub: str, member: str) -> Agreement:
    """The hub's own bilateral with a member, as TISA rides on the US bilaterals."""
    return Agreement(
        id=f"H-{member}",
        kind="treaty",
        parties=(hub, member),
        entry_into_force=BASE + timedelta(days=draw(st.integers(0, 2000))),
        scope=draw(scopes),
        equivalence=_table(hub, member, draw(st.integers(1, LEVELS))),
    )


@st.composite
def queries(draw: st.DrawFn, world: World) -> tuple[str, str, date, str]:
    """Mostly random queries; some follow a consent on record, so onward releases get exercised."""
    consented = [c for c in world.spec.consents if c.item is not None]
    if consented and draw(st.integers(0, 3)) == 0:
        c = draw(st.sampled_from(consented))
        assert c.item is not None
        if c.recipient != world.items[c.item].originator or c.holder != c.recipient:
            return c.item, c.recipient, draw(days), c.holder
    item = draw(st.sampled_from(sorted(world.items)))
    parties = sorted(world.parties)
    origin = world.items[item].originator
    holder = draw(st.sampled_from([origin, origin, *parties]))
    recipient = draw(st.sampled_from([p for p in parties if p != holder]))
    return item, recipient, draw(days), holder


@st.composite
def world_and_queries(draw: st.DrawFn, count: int = 20) -> tuple[World, list[tuple[str, str, date, str]]]:
    world = draw(worlds())
    return world, [draw(queries(world)) for _ in range(count)]


def _edges(world: World) -> list[date]:
    """The days on which something changes (entry into force, each dated state and version, the end, each
    consent's window), with the day before and after each."""
    found: set[date] = set()
    for timeline in world.timelines.values():
        marks = [timeline.agreement.entry_into_force, *(s.start for s in timeline.segments)]
        marks += [v.start for v in timeline.versions] + ([timeline.end] if timeline.end else [])
        found.update(marks)
    for consent in world.spec.consents:
        found.update(d for d in (consent.valid_from, consent.valid_until) if d is not None)
    near = {day + timedelta(days=k) for day in found for k in (-1, 0, 1) if date.min < day < date.max}
    return sorted(day for day in near if FIRST_DAY <= day <= LAST_DAY)  # the days a query may ask about


@st.composite
def edge_queries(draw: st.DrawFn, world: World) -> tuple[str, str, date, str]:
    """A query whose day is one on which something changes, or next to one (else any day)."""
    item, recipient, at, holder = draw(queries(world))
    edges = _edges(world)
    return item, recipient, draw(st.sampled_from(edges)) if edges else at, holder


@st.composite
def world_and_edge_queries(
    draw: st.DrawFn, count: int = 40
) -> tuple[World, list[tuple[str, str, date, str]]]:
    """A world and queries, half of them on days next to a change, so that reasons shared across the
    days of one state are asked for on both sides of each boundary."""
    world = draw(worlds())
    return world, [draw(queries(world) if i % 2 else edge_queries(world)) for i in range(count)]
