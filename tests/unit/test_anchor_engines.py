"""The benchmark anchors (Cedar, pycasbin) encode the rules of docs/rules.md independently, and agree."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from benchmarks.world import make_queries, make_world

from gsomia.domain.model import EVENT_KINDS
from gsomia.domain.world import World
from tests.factories import examples_world

SMALL = {"parties": 8, "bilaterals": 20, "conduits": 2, "items": 300, "consents": 150}
NEED_CEDAR = "the Cedar anchor needs cedarpy: pip install -e '.[bench]'"
NEED_CASBIN = "the pycasbin anchor needs casbin: pip install -e '.[bench]'"

# item, to, at, holder (None: the originator), route -- the worked examples of tests/unit/test_examples.py
EXAMPLES = [
    ("K-MSL-1", "JPN", "2019-10-01", None, ("KOR", "JPN")),
    ("K-MSL-1", "JPN", "2019-11-22", None, ("KOR", "JPN")),
    ("K-MSL-1", "JPN", "2019-11-23", None, ("KOR", "USA", "JPN")),
    ("K-NAV-1", "JPN", "2019-11-22", None, ("KOR", "JPN")),
    ("K-NAV-1", "JPN", "2019-11-23", None, ()),
    ("K-TOP-1", "JPN", "2019-10-01", None, ()),
    ("K-NF-1", "USA", "2019-10-01", None, ()),
    ("K-REL-1", "JPN", "2019-10-01", None, ("KOR", "JPN")),
    ("K-REL-1", "JPN", "2019-11-23", None, ()),
    ("J-MSL-1", "KOR", "2019-10-01", None, ("JPN", "KOR")),
    ("J-MSL-1", "KOR", "2019-12-01", None, ("JPN", "USA", "KOR")),
    ("K-MSL-1", "USA", "2019-10-01", "JPN", ("JPN", "USA")),
    ("K-MSL-1", "USA", "2020-01-15", "JPN", ()),
    ("K-MSL-1", "KOR", "2020-01-15", "JPN", ("JPN", "KOR")),
    ("K-MSL-1", "JPN", "2016-11-22", None, ("KOR", "USA", "JPN")),
]


def small_world(seed: int) -> tuple[World, list[tuple[str, str, date, str]]]:
    spec = make_world(seed=seed, **SMALL)
    return World(spec), make_queries(spec, 2_000, seed=seed + 100)


def test_the_generated_world_is_valid_and_the_same_for_the_same_seed():
    """make_world builds a world gsomia accepts, and the same seed gives the same world."""
    spec = make_world(seed=7, **SMALL)
    World(spec)
    assert make_world(seed=7, **SMALL) == spec
    assert make_world(seed=8, **SMALL) != spec


def test_the_generated_world_has_the_benchmark_shape():
    """Default sizes: 40 parties with 3-4 levels, 300 bilaterals plus 5 conduits, every kind of event."""
    spec = make_world(seed=0, items=1_000, consents=100)
    World(spec)
    assert len(spec.parties) == 40
    assert {len(p.levels) for p in spec.parties} == {3, 4}
    assert Counter(a.conduit is None for a in spec.agreements) == {True: 300, False: 5}
    kinds = Counter(ev.kind for ev in spec.events)
    assert set(kinds) == set(EVENT_KINDS)
    assert {c.item is None for c in spec.consents} == {True, False}


def test_the_cedar_policies_type_check_against_the_schema():
    """cedarpy's validator accepts benchmarks/cedar/gsomia.cedar under its schema."""
    cedarpy = pytest.importorskip("cedarpy", reason=NEED_CEDAR)
    from benchmarks.cedar_engine import POLICIES, SCHEMA

    result = cedarpy.validate_policies(POLICIES, SCHEMA)
    assert result.validation_passed, [str(e) for e in result.errors]


@pytest.mark.parametrize(("item", "to", "at", "holder", "route"), EXAMPLES)
def test_the_cedar_anchor_gives_each_worked_example_route(item, to, at, holder, route):
    """Cedar alone reproduces the route (or the deny) of every worked example."""
    pytest.importorskip("cedarpy", reason=NEED_CEDAR)
    from benchmarks.cedar_engine import CedarEngine

    world = examples_world()
    sender = holder or world.items[item].originator
    assert CedarEngine(world).route(item, to, date.fromisoformat(at), sender) == route


def test_the_cedar_anchor_agrees_with_gsomia_on_every_query():
    """On a small generated world, Cedar's route (or deny) equals gsomia's, one by one and in batch."""
    pytest.importorskip("cedarpy", reason=NEED_CEDAR)
    from benchmarks.cedar_engine import CedarEngine

    world, queries = small_world(0)
    routes = CedarEngine(world).routes(queries)
    ours = [world.decide(*q) for q in queries]
    differ = [(q, d.route, r) for q, d, r in zip(queries, ours, routes, strict=True) if d.route != r]
    assert differ == []
    assert [d.route for d in world.decide_many(queries)] == routes
    shapes = Counter(
        (len(d.route), q[3] == world.items[q[0]].originator) for q, d in zip(queries, ours, strict=True)
    )
    for shape in (
        (2, True),
        (2, False),
        (3, True),
        (0, True),
    ):  # direct, onward, conduit, denied: not vacuous
        assert shapes[shape], shape


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_casbin_anchor_agrees_with_gsomia_on_direct_routes_from_the_originator(seed):
    """On the queries pycasbin covers, it allows exactly those gsomia allows by a direct route."""
    pytest.importorskip("casbin", reason=NEED_CASBIN)
    from benchmarks.casbin_engine import CasbinEngine

    world, queries = small_world(seed)
    engine = CasbinEngine(world)
    covered = [q for q in queries if engine.covers(*q)]
    expected = [engine.expected(d.allowed, d.route) for d in (world.decide(*q) for q in covered)]
    verdicts = engine.decide_many(covered)
    assert [q for q, e, v in zip(covered, expected, verdicts, strict=True) if e != v] == []
    assert len(covered) > 500
    assert any(verdicts)
    assert not all(verdicts)
