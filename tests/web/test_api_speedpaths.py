"""The decisions routes' fast paths keep every meaning of the slow ones.

- the batch body's quick check (whole-list passes in C) accepts only what the ``Batch`` model accepts, and
  gives the same queries; a day it once refused it refuses again;
- a warm batch (every query's pieces already kept) is the engine's decisions, and a bad query in it is a
  400 naming its position, wherever it is;
- no statement reaches a database server (PostgreSQL) from the server's event loop: the credential check,
  the single decision's freshness read (the newest signed head) and item read, and the batch, all run in
  worker threads there; on SQLite and in memory they run in place (the hand-over costs more than they do).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import event

from gsomia.bootstrap import Services
from gsomia.web.api import decisions, fast
from gsomia.web.api import models as m
from gsomia.web.auth import reads_wait

from .conftest import Api, make_api
from .test_api_fast import queries_of

V1 = "/api/v1"
GOOD = {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22"}

# values that are not what a field takes, or are only just what it takes
NAMES: list[Any] = [
    "K",
    "x" * 200,
    "é-국",
    "x" * 201,
    "",
    5,
    1.5,
    True,
    None,
    ["KOR"],
    {"a": 1},
    "\ud800",
    "a\udfffb",
]
DAYS: list[Any] = [
    "2019-11-22",
    "2020-02-29",
    "2019-02-30",
    "2019-2-3",
    "2019-11-22\n",
    "２０１９-11-22",
    "0000-01-01",
    20191122,
    None,
    "",
    ["2019-11-22"],
]


def _model(data: Any) -> fast.BatchQueries | None:
    try:
        return fast.from_model(m.Batch.model_validate(data))
    except ValidationError:
        return None


def _mutated(rng: random.Random) -> Any:
    """A query, most of the time good, else wrong in one or two ways."""
    query: Any = dict(GOOD)
    if rng.random() < 0.5:
        query["holder"] = rng.choice(["KOR", None])
    for _ in range(rng.choice([0, 0, 1, 2])):
        what = rng.randrange(7)
        if what == 0:
            query[rng.choice(["item", "to", "holder"])] = rng.choice(NAMES)
        elif what == 1:
            query["at"] = rng.choice(DAYS)
        elif what == 2:
            query.pop(rng.choice(["item", "to", "at", "holder"]), None)
        elif what == 3:
            query[rng.choice(["x", "Item", "holders"])] = "KOR"
        elif what == 4:
            return rng.choice([[GOOD], "K-MSL-1", None, 3])
        elif what == 5:
            query = {}
        else:
            query["item"] = rng.choice(["K-MSL-1", "K-OTHER"])
    return query


def test_the_quick_check_accepts_only_what_the_model_accepts_and_reads_the_same_queries() -> None:
    rng = random.Random(5)
    accepted = refused = 0
    for _ in range(1500):
        queries = [_mutated(rng) for _ in range(rng.choice([1, 2, 3, 8]))]
        data: Any = {"queries": queries}
        if rng.random() < 0.03:
            data = rng.choice(
                [{"queries": []}, {"queries": queries, "more": 1}, {}, [queries], {"queries": 5}]
            )
        quick, model = fast.quick_batch(data), _model(data)
        if quick is not None:
            assert quick == model, data
            accepted += 1
        if model is None:
            assert quick is None, data
            refused += 1
    assert accepted > 300
    assert refused > 300


def test_the_quick_check_reads_holders_given_null_or_left_out_as_the_model_does() -> None:
    data = {"queries": [GOOD, {**GOOD, "holder": None}, {**GOOD, "holder": "KOR"}, {**GOOD, "item": "é"}]}
    assert fast.quick_batch(data) == _model(data)
    quick = fast.quick_batch(data)
    assert quick is not None
    assert list(quick.rows()) == [
        ("K-MSL-1", "JPN", "2019-11-22", None),
        ("K-MSL-1", "JPN", "2019-11-22", None),
        ("K-MSL-1", "JPN", "2019-11-22", "KOR"),
        ("é", "JPN", "2019-11-22", None),
    ]


def test_a_day_once_refused_is_refused_again_and_the_days_kept_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(fast, "KEPT_DAYS", 5)
    monkeypatch.setattr(fast, "_good_days", set())
    bad = {"queries": [GOOD, {**GOOD, "at": "2019-02-30"}]}
    for _ in range(2):
        assert fast.quick_batch(bad) is None
    for first in range(1, 29, 3):
        days = [f"2019-03-{d:02d}" for d in range(first, first + 3)]
        data = {"queries": [{**GOOD, "at": day} for day in days]}
        assert fast.quick_batch(data) == _model(data)
        assert len(fast._good_days) <= 5
        assert "2019-02-30" not in fast._good_days
    assert fast.quick_batch(bad) is None


def test_a_warm_batch_is_the_engines_and_a_single_decision_between_is_too(api: Api) -> None:
    queries, world = queries_of(api, 2_000, seed=21)
    officer = api.auth("officer")
    expected = [world.decide(q["item"], q["to"], q["at"], q.get("holder")).to_dict() for q in queries]
    for _ in range(2):  # the second time every query's pieces are kept: the loop's quick path
        answer = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
        assert answer.status_code == 200
        assert answer.json()["decisions"] == expected
        single = api.client.post(f"{V1}/decisions", json=queries[7], headers=officer)
        assert single.json() == expected[7]
    one = api.client.post(f"{V1}/decisions:batch", json={"queries": queries[:1]}, headers=officer)
    assert one.json() == {"decisions": expected[:1]}


def test_a_batch_partly_known_is_the_engines_in_order(api: Api) -> None:
    """Queries whose class is kept, beside new items, days and recipients, and repeats of both: the
    answer keeps the order of the queries whichever way each was worked out."""
    queries, world = queries_of(api, 600, seed=31)
    officer = api.auth("officer")
    first = api.client.post(f"{V1}/decisions:batch", json={"queries": queries[::3]}, headers=officer)
    assert first.status_code == 200
    mixed = [q for pair in zip(queries, reversed(queries), strict=True) for q in pair]
    answer = api.client.post(f"{V1}/decisions:batch", json={"queries": mixed}, headers=officer)
    expected = [world.decide(q["item"], q["to"], q["at"], q.get("holder")).to_dict() for q in mixed]
    assert answer.json()["decisions"] == expected


@pytest.mark.parametrize("where", [0, 1_234, 9_999])
def test_a_bad_query_in_a_warm_batch_of_10000_is_a_400_naming_its_place(api: Api, where: int) -> None:
    queries, _world = queries_of(api, 10_000, seed=4)
    officer = api.auth("officer")
    assert (
        api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer).status_code
        == 200
    )
    bad = dict(queries[where])
    bad["to"] = bad.get("holder") or _world.items[bad["item"]].originator  # to the one who holds it
    queries[where] = bad
    answer = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(f"queries[{where}]:")


@pytest.mark.parametrize("field", ["to", "holder"])
def test_a_lone_surrogate_in_any_name_of_a_batch_is_a_422_naming_it(api: Api, field: str) -> None:
    body = json.dumps({"queries": [GOOD, {**GOOD, field: "K\udc00R"}]})  # ASCII: "K\\udc00R"
    assert "\\udc00" in body
    headers = {**api.auth("officer"), "content-type": "application/json"}
    answer = api.client.post(f"{V1}/decisions:batch", content=body.encode(), headers=headers)
    assert answer.status_code == 422
    assert f"body.queries.1.{field}" in [e["field"] for e in answer.json()["errors"]]


# -- off the event loop ---------------------------------------------------------------------------------


def _on_the_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_the_batch_body_is_read_and_checked_off_the_event_loop(api: Api, monkeypatch: Any) -> None:
    seen: list[bool] = []
    check = decisions._batch_of

    def spy(raw: bytes) -> fast.BatchQueries:
        seen.append(_on_the_loop())
        return check(raw)

    monkeypatch.setattr(decisions, "_batch_of", spy)
    answer = api.client.post(f"{V1}/decisions:batch", json={"queries": [GOOD]}, headers=api.auth("officer"))
    assert answer.status_code == 200
    assert seen == [False]


SPIED = ("checkout", "begin", "before_cursor_execute", "rollback", "commit")


@pytest.fixture
def statements(sql_services: Services) -> Iterator[list[bool]]:
    """For every use of the node's database (a connection taken from the pool, a transaction begun or
    ended, a statement through SQLAlchemy; the store's raw driver reads happen between the first two and
    the last two, in the same thread), whether it was made from an event loop."""
    engine = sql_services.store.inner.engine  # type: ignore[attr-defined]
    seen: list[bool] = []

    def spy(*_args: Any) -> None:
        seen.append(_on_the_loop())

    for name in SPIED:
        event.listen(engine, name, spy)
    yield seen
    for name in SPIED:
        event.remove(engine, name, spy)


def test_on_a_database_server_no_statement_is_sent_from_the_event_loop(
    sql_services: Services, statements: list[bool]
) -> None:
    api = make_api(sql_services)
    on_server = sql_services.store.inner.engine.dialect.name != "sqlite"  # type: ignore[attr-defined]
    assert reads_wait(sql_services.store) is on_server
    queries, world = queries_of(api, 30, seed=9)
    officer = api.auth("officer")
    statements.clear()
    for query in queries:  # items read (and proven) the first time, then from the kept world
        answer = api.client.post(f"{V1}/decisions", json=query, headers=officer)
        assert (
            answer.json()
            == world.decide(query["item"], query["to"], query["at"], query.get("holder")).to_dict()
        )
    batch = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
    assert batch.status_code == 200
    assert api.client.post(f"{V1}/decisions", json=queries[0], headers=api.auth(None)).status_code == 401
    assert len(statements) >= 2 * len(queries)  # a credential read and a freshness read each, at least
    if on_server:
        assert not any(statements)


def test_not_even_a_new_token_or_a_refused_one_is_read_on_the_loop_on_a_database_server(
    sql_services: Services, statements: list[bool]
) -> None:
    api = make_api(sql_services)
    statements.clear()
    fresh = make_api(sql_services).auth("auditor")  # a token this worker has not checked yet
    statements.clear()
    assert api.client.get(f"{V1}/parties", headers=fresh).status_code == 200
    bearer = {"Authorization": "Bearer gsomia_nosuchid_secret"}
    assert api.client.post(f"{V1}/decisions", json=GOOD, headers=bearer).status_code == 401
    assert statements
    if sql_services.store.inner.engine.dialect.name != "sqlite":  # type: ignore[attr-defined]
        assert not any(statements)
