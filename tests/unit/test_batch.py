"""The numpy batch path gives exactly the verdicts of World.decide, query by query."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from gsomia import QueryError
from gsomia.batch import BatchDecider
from gsomia.domain.index import Verdict
from tests.factories import examples_world
from tests.strategies import world_and_queries

from .test_examples import ROWS
from .test_properties import SETTINGS


def _single(world, queries):
    """The rule-by-rule engine's verdicts (not the compiled index the batch is built from)."""
    out = []
    for q in queries:
        d = world.decide_plain(*q)
        out.append(Verdict(d.allowed, d.route, d.agreements, d.marking))
    return out


def test_the_batch_decides_the_worked_examples_like_the_engine():
    """All fifteen worked examples, decided in one batch, match the engine one by one."""
    world = examples_world()
    queries = [(item, to, at, holder) for item, to, at, holder, *_ in ROWS]
    decider = BatchDecider(world)
    assert decider.verdicts(decider.encode(queries)) == _single(world, queries)


def test_a_bad_query_in_a_batch_names_its_position():
    """An unknown item in the third query is a QueryError saying 'query 3'."""
    decider = BatchDecider(examples_world())
    queries = [
        ("K-MSL-1", "JPN", "2019-10-01"),
        ("K-NAV-1", "JPN", "2019-10-01"),
        ("NOPE", "JPN", "2019-10-01"),
    ]
    with pytest.raises(QueryError, match="query 3: unknown item"):
        decider.encode(queries)


def test_allowed_is_a_boolean_array_aligned_with_the_queries():
    """result.allowed has one entry per query, True exactly where a route was found."""
    decider = BatchDecider(examples_world())
    result = decider.decide(
        decider.encode([("K-MSL-1", "JPN", "2019-10-01"), ("K-TOP-1", "JPN", "2019-10-01")])
    )
    assert result.allowed.tolist() == [True, False]
    assert result.allowed.dtype == np.bool_


@SETTINGS
@given(world_and_queries(count=60))
def test_the_batch_equals_decide_on_generated_worlds(case):
    """On generated worlds (conduits, notices, amendments, consents, onward holders) batch == engine."""
    world, queries = case
    decider = BatchDecider(world)
    assert decider.verdicts(decider.encode(queries)) == _single(world, queries)


def test_the_batch_picks_the_hop_pair_that_carries_the_level():
    """A first hops agreement (by id) that cannot carry KR-II does not hide a second that can."""
    from dataclasses import replace

    from tests.factories import EXAMPLES, TISA, USA_KOR, World, table

    narrow = replace(USA_KOR, id="USA-KOR-A", equivalence=table({"USA": "US-C", "KOR": "KR-III"}))
    tisa = replace(TISA, hops=("USA-KOR-A", *TISA.hops))
    world = World(
        replace(EXAMPLES, agreements=(*EXAMPLES.agreements[:1], tisa, *EXAMPLES.agreements[2:], narrow))
    )
    decider = BatchDecider(world)
    queries = [("K-MSL-1", "JPN", "2019-11-23", None), ("K-REL-1", "JPN", "2019-11-23", None)]
    verdicts = decider.verdicts(decider.encode(queries))
    assert verdicts[0].agreements == ("TISA", "USA-KOR-GSOMIA", "USA-JPN-GSOMIA")
    assert verdicts == _single(world, queries)
