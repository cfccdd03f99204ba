"""What-if impact: terminate, amend and add, compared flow by flow against the decisions themselves."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gsomia import Change, LifecycleError, QueryError
from gsomia.domain.impact import outcome
from gsomia.domain.world import World
from tests.factories import USA_JPN, d, examples_world, table
from tests.strategies import days, worlds

from .test_properties import SETTINGS

KJ = "KOR-JPN-GSOMIA"


def _brute_force(world: World, after: World, at) -> Counter[str]:
    """Every item x every other party, decided one by one in both worlds by the rule-by-rule engine
    (not the compiled index that impact itself reads)."""
    counts: Counter[str] = Counter()
    for item in world.items.values():
        for party in world.parties:
            if party != item.originator:
                b, a = world.decide_plain(item.id, party, at), after.decide_plain(item.id, party, at)
                counts[outcome(b, a)] += 1
    return counts


def test_terminating_gsomia_reroutes_missile_items_and_loses_naval_ones():
    """In the examples world (no notice), ending GSOMIA on 2019-11-23 re-routes K-MSL-1 and loses K-NAV-1."""
    world = examples_world(events=())
    report = world.impact(Change("terminate", d("2019-11-23"), KJ))
    groups = {(g.outcome, tuple(g.items), g.recipient) for g in report.groups}
    assert ("rerouted", ("K-MSL-1",), "JPN") in groups
    assert ("lost", ("K-NAV-1",), "JPN") in groups
    assert report.by_agreement[KJ]["lost"] >= 1
    rerouted = next(g for g in report.groups if g.items == ["K-MSL-1"] and g.recipient == "JPN")
    assert rerouted.after.route == ("KOR", "USA", "JPN")


def test_impact_counts_equal_deciding_every_flow_one_by_one():
    """The class-grouped counts equal a brute-force comparison of every item x party decision."""
    world = examples_world(events=())
    change = Change("terminate", d("2019-11-23"), KJ)
    report = world.impact(change)
    after = World(change.apply(world.spec))
    assert +report.counts == +_brute_force(world, after, d("2019-11-23"))
    assert report.pairs == sum(report.counts.values())


def test_terminating_drops_the_agreements_later_events():
    """Terminating before a later withdrawal drops that withdrawal instead of failing."""
    world = examples_world()  # notice on 2019-08-23
    report = world.impact(Change("terminate", d("2019-10-01"), KJ), at="2019-10-02")
    assert report.counts["lost"] + report.counts["rerouted"] > 0


def test_amending_the_scope_can_lose_flows():
    """Narrowing GSOMIA's scope to naval loses the direct route for missile items that TISA then carries."""
    world = examples_world(events=())
    report = world.impact(Change("amend", d("2018-01-01"), KJ, scope=("naval",)))
    rerouted = {tuple(g.items) for g in report.groups if g.outcome == "rerouted"}
    assert ("K-MSL-1",) in rerouted


def test_adding_an_agreement_can_gain_flows():
    """A new KOR-USA-style treaty for a new pair gains flows that were denied."""
    world = examples_world(
        agreements=tuple(a for a in examples_world().spec.agreements if a.id != KJ), events=()
    )
    new = replace(
        USA_JPN,
        id="NEW-KJ",
        parties=("KOR", "JPN"),
        entry_into_force=d("2018-01-01"),
        equivalence=table({"KOR": "KR-II", "JPN": "JP-GOKUHI"}),
    )
    report = world.impact(Change("add", d("2018-01-01"), new=new))
    assert {tuple(g.items) for g in report.groups if g.outcome == "gained"} >= {("K-NAV-1",)}


def test_a_change_that_cannot_apply_is_an_error():
    """Terminating before entry into force is a LifecycleError; an unknown agreement a QueryError."""
    with pytest.raises(LifecycleError):
        examples_world().impact(Change("terminate", d("2010-01-01"), KJ))
    with pytest.raises(QueryError, match="unknown agreement"):
        examples_world().impact(Change("terminate", d("2019-01-01"), "NOPE"))


def test_items_and_recipients_narrow_the_comparison():
    """Asking about one item and one recipient compares exactly that flow."""
    report = examples_world(events=()).impact(
        Change("terminate", d("2019-11-23"), KJ), items=["K-NAV-1"], recipients=["JPN"]
    )
    assert report.pairs == 1
    assert report.counts["lost"] == 1


@SETTINGS
@given(worlds(), st.data())
def test_impact_equals_brute_force_on_generated_worlds(world, data):
    """On any generated world, terminating any agreement on any day counts as deciding every flow would."""
    agreement = data.draw(st.sampled_from(sorted(world.timelines)))
    change = Change("terminate", data.draw(days), agreement)
    try:
        after = World(change.apply(world.spec))
    except LifecycleError:
        assume(False)
        return
    at = data.draw(days)
    report = world.impact(change, at=at)
    assert +report.counts == +_brute_force(world, after, at)
