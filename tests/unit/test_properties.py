"""Properties of the engine over generated worlds (see tests/strategies.py for what is generated)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gsomia.domain import engine
from gsomia.domain.decision import RULES, Decision
from gsomia.domain.errors import LifecycleError
from gsomia.domain.impact import Change
from gsomia.domain.model import Consent, Event
from gsomia.domain.world import World
from tests.factories import d
from tests.strategies import LEVELS, TOPICS, days, world_and_queries

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _raise(world: World, item_id: str) -> World | None:
    item = world.items[item_id]
    rank = world.levels[item.level].rank
    if rank + 1 >= LEVELS:
        return None
    higher = replace(item, level=f"{item.originator}-{rank + 1}")
    return World(replace(world.spec, items=tuple(higher if i.id == item_id else i for i in world.spec.items)))


@SETTINGS
@given(world_and_queries())
def test_raising_an_items_level_never_turns_a_deny_into_an_allow(case):
    """For every query denied at level r, the same query at level r+1 is denied too."""
    world, queries = case
    for item, recipient, at, holder in queries:
        raised = _raise(world, item)
        if raised is None or world.decide(item, recipient, at, holder).allowed:
            continue
        assert not raised.decide(item, recipient, at, holder).allowed


def _narrowed(world: World, agreement: str, on, data: st.DataObject) -> Event:
    """An amend of ``agreement`` on ``on`` that narrows it: a scope within the one in effect, or a table
    keeping only some of its rows (a conduit arrangement with rows keeps at least one: with none, it would
    fall back to its hops agreements' tables, which is no narrowing)."""
    timeline = world.timeline(agreement)
    version = timeline.version(on)
    index = len(world.spec.events)
    if data.draw(st.booleans()):
        scope = version.scope if version.scope is not None else TOPICS
        kept = data.draw(st.sets(st.sampled_from(sorted(scope)), min_size=1))
        return Event(on, agreement, "amend", scope=tuple(sorted(kept)), index=index)
    rows = version.equivalence
    floor = 1 if timeline.agreement.conduit is not None and rows else 0
    keep = data.draw(st.sets(st.integers(0, max(len(rows) - 1, 0)), min_size=floor)) if rows else set()
    return Event(
        on, agreement, "amend", equivalence=tuple(r for i, r in enumerate(rows) if i in keep), index=index
    )


@SETTINGS
@given(world_and_queries(), st.data())
def test_ending_or_narrowing_an_agreement_never_turns_a_deny_into_an_allow(case, data):
    """A terminate event, a narrower scope or fewer equivalence rows, on any agreement and any day in
    force, only ever take releases away: conduit hop agreements included, with no exception."""
    world, queries = case
    agreement = data.draw(st.sampled_from(sorted(world.timelines)))
    timeline = world.timeline(agreement)
    on = data.draw(days)
    assume(timeline.in_force(on))
    kind = data.draw(st.sampled_from(["terminate", "narrow"]))
    if kind == "terminate":
        spec = Change("terminate", on, agreement).apply(world.spec)
    else:
        spec = replace(world.spec, events=(*world.spec.events, _narrowed(world, agreement, on, data)))
    try:
        changed = World(spec)
    except LifecycleError:
        assume(False)
        return
    for query in queries:
        if not world.decide_plain(*query).allowed:
            assert not changed.decide_plain(*query).allowed, (kind, query)
            assert not changed.decide(*query).allowed, (kind, query)


def test_a_hop_agreement_that_cannot_carry_the_level_does_not_hide_one_that_can():
    """Two hops agreements between KOR and USA: the first (by id) maps only KR-III, the second KR-II.
    The pair rule skips to the second, reports it, and ending the first changes nothing."""
    from tests.factories import EXAMPLES, TISA, USA_KOR, table

    narrow = replace(USA_KOR, id="USA-KOR-A", equivalence=table({"USA": "US-C", "KOR": "KR-III"}))
    tisa = replace(TISA, hops=("USA-KOR-A", *TISA.hops))
    spec = replace(EXAMPLES, agreements=(*EXAMPLES.agreements[:1], tisa, *EXAMPLES.agreements[2:], narrow))
    world = World(spec)
    decision = world.decide("K-MSL-1", "JPN", "2019-11-23")
    assert decision.route == ("KOR", "USA", "JPN")
    assert decision.agreements == ("TISA", "USA-KOR-GSOMIA", "USA-JPN-GSOMIA")
    assert world.decide_plain("K-MSL-1", "JPN", "2019-11-23") == decision
    ended = World(
        replace(spec, events=(*spec.events, Event(d("2019-01-01"), "USA-KOR-A", "terminate", index=1)))
    )
    assert ended.decide("K-MSL-1", "JPN", "2019-11-23").agreements == decision.agreements


def test_among_hop_pairs_the_first_by_id_that_carries_the_level_is_reported():
    """With two hops agreements that both carry KR-II between KOR and USA, the lower id is the one used."""
    from tests.factories import EXAMPLES, TISA, USA_KOR

    twin = replace(USA_KOR, id="USA-KOR-0")
    tisa = replace(TISA, hops=(*TISA.hops, "USA-KOR-0"))
    spec = replace(EXAMPLES, agreements=(*EXAMPLES.agreements[:1], tisa, *EXAMPLES.agreements[2:], twin))
    decision = World(spec).decide_plain("K-MSL-1", "JPN", "2019-11-23")
    assert decision.agreements == ("TISA", "USA-KOR-0", "USA-JPN-GSOMIA")
    assert "US-S (USA-KOR-0)" in decision.reason("level-covered").detail


@SETTINGS
@given(world_and_queries(), st.data())
def test_adding_a_consent_never_turns_an_allow_into_a_deny(case, data):
    """A new consent, for any holder, recipient, item and window, only ever adds releases."""
    world, queries = case
    holder, recipient = data.draw(
        st.lists(st.sampled_from(sorted(world.parties)), min_size=2, max_size=2, unique=True)
    )
    item = data.draw(st.sampled_from(sorted(world.items)))
    consent = Consent(holder, recipient, item=item, valid_from=data.draw(st.one_of(st.none(), days)))
    more = World(replace(world.spec, consents=(*world.spec.consents, consent)))
    for query in queries:
        if world.decide(*query).allowed:
            assert more.decide(*query).allowed


@SETTINGS
@given(world_and_queries())
def test_decide_many_gives_the_engines_decisions_in_order(case):
    """decide_many's answers are, query by query and in order, what the rule-by-rule engine decides."""
    world, queries = case
    many = world.decide_many(queries)
    assert len(many) == len(queries)
    for decision, (item, recipient, at, holder) in zip(many, queries, strict=True):
        plain = engine.decide(world, world.items[item], recipient, at, holder)
        assert (decision.item, decision.recipient, decision.holder, decision.at) == (
            item,
            recipient,
            holder,
            at,
        )
        assert _verdict(decision) == _verdict(plain)


@SETTINGS
@given(world_and_queries())
def test_a_remembered_verdict_equals_one_worked_out_afresh(case):
    """Asked twice (the second answer comes from the memo), decide still gives what a world rebuilt from
    the same spec works out rule by rule."""
    world, queries = case
    for query in queries:
        world.decide(*query)
    fresh = World(world.spec)
    for query in queries:
        assert _verdict(world.decide(*query)) == _verdict(fresh.decide_plain(*query))


def _verdict(decision: Decision) -> tuple[object, ...]:
    return (decision.allowed, decision.route, decision.agreements, decision.marking)


@SETTINGS
@given(world_and_queries())
def test_an_allowed_decision_passes_every_rule_and_a_denied_one_fails_one(case):
    """allowed is exactly 'every reason ok'; a denial has no route and no marking."""
    world, queries = case
    for query in queries:
        decision = world.decide(*query)
        assert [r.rule for r in decision.reasons] == list(RULES)
        assert decision.allowed == all(r.ok for r in decision.reasons)
        if not decision.allowed:
            assert decision.route == ()
            assert decision.marking is None


@SETTINGS
@given(world_and_queries(count=40))
def test_the_compiled_index_decides_exactly_as_the_engine(case):
    """World.decide's verdict (compiled index) equals the engine's (rule by rule) on every query."""
    world, queries = case
    for query in queries:
        assert _verdict(world.decide(*query)) == _verdict(world.decide_plain(*query))


@SETTINGS
@given(world_and_queries(count=40))
def test_the_verdict_for_an_item_outside_the_world_is_the_engines(case):
    """World.verdict_for (an item received from a partner, not in the world) gives the engine's verdict
    on that item, under a fresh id, under an id a consent names, and with topics the world has never
    seen; and the world keeps nothing of it (no item, topic or class)."""
    world, queries = case
    index = world.index
    known = (dict(world.items), dict(index.items), dict(index.topic_bits), dict(index._classes))
    for item_id, recipient, day, holder in queries:
        item = world.items[item_id]
        unseen = replace(item, id=f"{item_id}-NEW", topics=(*item.topics, f"unseen-{item_id}"))
        for copy in (replace(item, id=f"{item_id}-RECEIVED"), item, unseen):
            found = world.verdict_for(copy, recipient, day, holder)
            expected = engine.decide(world, copy, recipient, day, holder)
            assert (found.allowed, found.route, found.agreements, found.marking) == _verdict(expected)
    assert (world.items, index.items, index.topic_bits, index._classes) == known


@SETTINGS
@given(world_and_queries(count=40))
def test_the_reasons_describe_the_verdict_the_index_reached(case):
    """Read against the index's verdict (not against another run of the engine), the reasons of an
    allowed decision name its route, every agreement used and the marking; a denied one's route and
    marking reasons fail and its alternatives list every route tried."""
    world, queries = case
    for query in queries:
        decision = world.decide(*query)
        reasons = {r.rule: r for r in decision.reasons}
        if decision.allowed:
            assert reasons["route"].detail.startswith(" → ".join(decision.route))
            for agreement in decision.agreements:
                assert agreement in reasons["agreement-in-force"].detail
            assert reasons["marking"].detail.endswith(f"marks it {decision.marking}")
            assert str(decision.marking) in reasons["level-covered"].detail.split("; ")[-1]
        else:
            assert not reasons["route"].ok
            assert not reasons["marking"].ok
            assert all(not all(r.ok for r in a.failed) for a in decision.alternatives)


@SETTINGS
@given(world_and_queries(count=40))
def test_shared_explanations_equal_the_engines_worked_out_for_each_query(case):
    """Reasons and alternatives are built once per item shape, recipient, holder and stretch of days and
    then shared; each still equals what the engine works out for that very query on a fresh world."""
    world, queries = case
    decisions = [world.decide(*query) for query in queries]
    fresh = World(world.spec)
    for decision, (item, recipient, at, holder) in zip(decisions, queries, strict=True):
        plain = engine.decide(fresh, fresh.items[item], recipient, at, holder)
        assert (decision.reasons, decision.alternatives) == (plain.reasons, plain.alternatives)
