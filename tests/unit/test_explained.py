"""Explained decisions from shared reasons say, byte for byte, what the engine works out rule by rule.

``World.decide(...).to_dict()`` puts its reasons together from pieces shared across queries
(:mod:`gsomia.domain.explain`); :func:`gsomia.domain.engine.decide` works each query out afresh and is the
reference. These tests compare the two as decision JSON on generated worlds (Hypothesis) and on the
benchmark's seeded world, in order, shuffled, cold and warm.
"""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, given, settings

from gsomia.domain import engine
from gsomia.domain.world import World
from tests.strategies import world_and_edge_queries, world_and_queries

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Query = tuple[str, str, object, str]


def _json(decision: object) -> str:
    return json.dumps(decision.to_dict())  # type: ignore[attr-defined]


def _reference(world: World, query: tuple) -> str:
    """The engine's decision JSON, worked out afresh on a world rebuilt from the same file."""
    item, recipient, at, holder = query
    return _json(engine.decide(world, world.items[item], recipient, at, holder))


@SETTINGS
@given(world_and_edge_queries())
def test_explained_decisions_are_the_engines_byte_for_byte(case):
    """Every decision's JSON (verdict, all eight reasons, alternatives) equals the engine's, for queries
    on and next to the days on which something changes."""
    world, queries = case
    fresh = World(world.spec)
    for query in queries:
        assert _json(world.decide(*query)) == _reference(fresh, query), query


@SETTINGS
@given(world_and_queries(count=30))
def test_shared_reasons_do_not_depend_on_the_order_queries_come_in(case):
    """Asked in reverse order, after forgetting, and once more warm, each decision's JSON is the same."""
    world, queries = case
    first = [_json(world.decide(*q)) for q in queries]
    world.forget()
    backwards = [_json(world.decide(*q)) for q in reversed(queries)][::-1]
    warm = [_json(world.decide(*q)) for q in queries]
    assert first == backwards == warm


@SETTINGS
@given(world_and_queries(count=20))
def test_explained_reasons_are_equal_objects_to_the_engines(case):
    """Reasons and alternatives are equal as objects too (rule, ok, detail; route, agreements, failed)."""
    world, queries = case
    for item, recipient, at, holder in queries:
        decision = world.decide(item, recipient, at, holder)
        plain = engine.decide(world, world.items[item], recipient, at, holder)
        assert (decision.reasons, decision.alternatives) == (plain.reasons, plain.alternatives)


def test_the_benchmark_world_explains_as_the_engine_does():
    """On the benchmark's seeded world (40 parties, conduits, consents, lifecycles): 4,000 queries,
    shuffled, each decision's JSON equals the engine's."""
    from benchmarks.world import make_queries, make_world

    spec = make_world(seed=3, items=3_000)
    world, fresh = World(spec), World(spec)
    queries = make_queries(spec, 4_000, 5)
    random.Random(7).shuffle(queries)
    mismatched = [q for q in queries if _json(world.decide(*q)) != _reference(fresh, q)]
    assert mismatched == []


def test_forget_drops_every_remembered_reason_and_verdict():
    """After forget(), nothing is remembered, and the same decisions come back."""
    from benchmarks.world import make_queries, make_world

    spec = make_world(seed=1, items=500)
    world = World(spec)
    queries = make_queries(spec, 300, 2)
    before = [_json(world.decide(*q)) for q in queries]
    compiled = dict(world._explainer._terms)
    assert not world._explainer.is_empty()
    assert any(t.kept() for t in compiled.values())
    world.forget()
    assert not world.index.memo
    assert not world._explained
    assert world._explainer.is_empty()
    # the compiled agreements stay (the same objects), holding no reason
    assert world._explainer._terms == compiled
    assert not any(t.kept() for t in compiled.values())
    assert [_json(world.decide(*q)) for q in queries] == before
