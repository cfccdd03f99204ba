"""Shared reasons stay shared safely: a caller changing a decision's JSON changes nothing kept, and what is
kept belongs to one world (items taken in later, a what-if world, ``forget``) and says what the engine says.

One ``Reason`` object is shared by every decision it fits (explanations are kept per item shape, recipient,
holder and stretch of days, :meth:`gsomia.domain.world.World.explain`, and put together from reasons kept
by :mod:`gsomia.domain.explain`); each decision's ``to_dict()`` must still be the caller's own. The engine
(:func:`gsomia.domain.engine.decide`) is the reference, as in ``test_explained.py``.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings

from gsomia.domain import engine
from gsomia.domain.decision import Alternative, Decision, Reason
from gsomia.domain.impact import Change
from gsomia.domain.world import World
from tests.strategies import world_and_queries

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json(decision: Decision) -> str:
    return json.dumps(decision.to_dict())


def _reference(world: World, item: str, recipient: str, at: date, holder: str | None) -> str:
    found = world.items[item]
    return _json(engine.decide(world, found, recipient, at, found.originator if holder is None else holder))


def _vandalise(whole: dict[str, Any]) -> None:
    """Change every dict and list in a decision's JSON, nested ones included."""
    for reason in whole["reasons"]:
        reason["ok"] = not reason["ok"]
        reason["detail"] = "changed by the caller"
        reason["extra"] = 1
    whole["reasons"].append({"rule": "extra"})
    for alternative in whole["alternatives"]:
        alternative["route"].append("XXX")
        alternative["agreements"].clear()
        for reason in alternative["reasons"]:
            reason["detail"] = "changed by the caller"
        alternative["reasons"].append({"rule": "extra"})
    whole["alternatives"].append({"route": []})
    whole["route"].append("XXX")
    whole["agreements"].append("XXX")
    whole["allowed"] = not whole["allowed"]


def _benchmark_world(items: int = 800) -> tuple[World, list[tuple[str, str, date, str]]]:
    from benchmarks.world import make_queries, make_world

    spec = make_world(seed=2, items=items)
    return World(spec), make_queries(spec, 600, 4)


def test_changing_a_decisions_json_changes_no_other_decision():
    """Every dict and list ``to_dict()`` returns is the caller's: changing them all, for every decision
    in turn, leaves that decision's next JSON and every other decision's (sharing the same reasons)
    as they were."""
    world, queries = _benchmark_world()
    decisions = [world.decide(*q) for q in queries]
    before = [_json(d) for d in decisions]
    assert any(json.loads(text)["alternatives"] for text in before)  # nested lists are exercised too
    for d in decisions:
        _vandalise(d.to_dict())
    assert [_json(d) for d in decisions] == before
    assert [_json(world.decide(*q)) for q in queries] == before  # fresh decisions from the kept reasons


def test_changing_a_reasons_dict_leaves_the_reason_as_it_was():
    """``Reason.to_dict`` and ``Alternative.to_dict`` give fresh dicts each call."""
    reason = Reason("scope", False, "A covers [naval]; the item is on cyber")
    given_out = reason.to_dict()
    given_out["ok"] = True
    given_out["detail"] = "changed"
    assert reason.to_dict() == {
        "rule": "scope",
        "ok": False,
        "detail": "A covers [naval]; the item is on cyber",
    }
    alternative = Alternative(("KOR", "JPN"), ("B001",), (reason,))
    out = alternative.to_dict()
    out["reasons"][0]["detail"] = "changed"
    out["route"].append("USA")
    assert alternative.to_dict() == {
        "route": ["KOR", "JPN"],
        "agreements": ["B001"],
        "reasons": [{"rule": "scope", "ok": False, "detail": "A covers [naval]; the item is on cyber"}],
    }


def test_a_reason_is_its_rule_ok_and_detail():
    """Equality, hashing, repr, pickling and ``replace`` see rule, ok and detail; its JSON follows them."""
    a, b = Reason("consent", True, "x"), Reason("consent", True, "x")
    assert a == b
    assert hash(a) == hash(b)
    assert repr(a) == "Reason(rule='consent', ok=True, detail='x')"
    assert pickle.loads(pickle.dumps(a)).to_dict() == {"rule": "consent", "ok": True, "detail": "x"}
    changed = replace(a, ok=False, detail="y")
    assert changed.to_dict() == {"rule": "consent", "ok": False, "detail": "y"}
    assert a.to_dict() == {"rule": "consent", "ok": True, "detail": "x"}


@SETTINGS
@given(world_and_queries(count=20))
def test_mutating_json_on_generated_worlds_changes_nothing_kept(case):
    """On generated worlds: each decision's JSON, changed by the caller, comes back as the engine's."""
    world, queries = case
    for query in queries:
        _vandalise(world.decide(*query).to_dict())
    fresh = World(world.spec)
    for query in queries:
        assert _json(world.decide(*query)) == _reference(fresh, *query), query


def test_items_taken_in_later_are_explained_as_the_engine_explains_them():
    """A world that takes in items after it has explained decisions (as a node does) explains the new
    ones, of new shapes or of shapes already seen, as the engine does on a world built with them all."""
    from benchmarks.world import make_queries, make_world

    spec = make_world(seed=5, items=900)
    queries = make_queries(spec, 800, 6)
    late = {q[0] for q in queries[::3]}
    early = replace(spec, items=tuple(i for i in spec.items if i.id not in late))
    every = {i.id for i in spec.items}
    world = World(early, known_items=every.__contains__)  # consents may name items not taken in yet
    for q in queries:
        if q[0] not in late:
            world.decide(*q).to_dict()  # reasons and explanations kept before the new items come
    world.admit(i for i in spec.items if i.id in late)
    whole = World(spec)
    assert any(q[0] in late for q in queries)
    mismatched = [q for q in queries if _json(world.decide(*q)) != _reference(whole, *q)]
    assert mismatched == []


def test_a_what_if_world_explains_with_its_own_reasons():
    """A world built from a changed file over one that has explained decisions (``base``, as ``impact``
    builds it) keeps nothing of the first world's explanations: after an agreement is terminated, its
    decisions are the engine's on the changed world, and the first world's are unchanged."""
    world, queries = _benchmark_world()
    day = date(2020, 6, 1)
    on_day = [(i, r, day, h) for i, r, _, h in queries]
    before = [_json(world.decide(*q)) for q in on_day]
    busiest = max(world.timelines, key=lambda aid: sum(aid in _json(world.decide(*q)) for q in on_day[:200]))
    changed = Change("terminate", date(2020, 1, 1), agreement=busiest)
    after = World(changed.apply(world.spec), base=world)
    reference = World(changed.apply(world.spec))
    said = [_json(after.decide(*q)) for q in on_day]
    assert said == [_reference(reference, *q) for q in on_day]
    assert said != before  # the change shows in the reasons
    assert [_json(world.decide(*q)) for q in on_day] == before


def test_forget_between_the_same_questions_changes_no_answer():
    """Kept explanations and ``forget`` in any interleaving give the engine's JSON each time."""
    world, queries = _benchmark_world(400)
    fresh = World(world.spec)
    expected = [_reference(fresh, *q) for q in queries]
    for round_ in range(3):
        if round_ == 1:
            world.forget()
        assert [_json(world.decide(*q)) for q in queries] == expected
