"""The decisions routes made fast keep their meaning: batches of 10,000 equal the engine's decisions,
credentials are re-read on every request through the argon2 memo, rate counts and the last verification
are shared through the database."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

import pytest

from gsomia.services.users import RateCounter, SlowCheckError, VerifiedSecrets, batch_for
from gsomia.store.users import MemoryUserStore
from gsomia.web.api.fast import Texts
from gsomia.web.auth import ApiConfig

from .conftest import GENEROUS, Api, make_api, worker

V1 = "/api/v1"


def queries_of(api: Api, n: int, seed: int = 7) -> tuple[list[dict[str, Any]], Any]:
    """``n`` random queries over the node's items, parties, holders and days (some with no answer)."""
    world = api.services.worldbook.full_world()
    rng = random.Random(seed)
    items, parties = sorted(world.items), sorted(world.parties)
    first = date(2014, 1, 1)
    out = []
    while len(out) < n:
        item = rng.choice(items)
        holder = rng.choice([None, None, *parties])
        to = rng.choice(parties)
        if to == (holder or world.items[item].originator):
            continue
        query = {"item": item, "to": to, "at": (first + timedelta(days=rng.randrange(4000))).isoformat()}
        if holder is not None:
            query["holder"] = holder
        out.append(query)
    return out, world


def test_a_batch_of_10000_is_the_engines_decisions_in_order(api: Api) -> None:
    queries, world = queries_of(api, 10_000)
    answer = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=api.auth("officer"))
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["server-timing"].startswith("app;dur=")
    got = answer.json()["decisions"]
    assert len(got) == len(queries)
    for query, decision in zip(queries, got, strict=True):
        expected = world.decide(query["item"], query["to"], query["at"], query.get("holder")).to_dict()
        assert decision == expected


def test_a_single_decision_is_the_engines_on_random_queries(api: Api) -> None:
    queries, world = queries_of(api, 40, seed=3)
    for query in queries:
        answer = api.client.post(f"{V1}/decisions", json=query, headers=api.auth("officer"))
        expected = world.decide(query["item"], query["to"], query["at"], query.get("holder")).to_dict()
        assert answer.json() == expected


def test_what_a_worker_keeps_between_batches_follows_the_worlds_changes(api: Api) -> None:
    """The route keeps the decisions' JSON of each class of query between requests while the node's world
    is the same; a change to the world (here a notice that ends KOR-JPN) must show in the next answer, for
    a batch and for a single decision, exactly as the engine now decides."""
    queries, before = queries_of(api, 3_000, seed=11)
    queries = [{**q, "at": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}"} for n, q in enumerate(queries)]
    officer = api.auth("officer")
    first = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer).json()
    notice = {"kind": "notice", "date": "2024-01-10", "by": "JPN"}
    made = api.client.post(f"{V1}/agreements/KOR-JPN-GSOMIA/events", json=notice, headers=api.auth("legal"))
    assert made.status_code == 201
    after = api.services.worldbook.full_world()
    then = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer).json()
    changed = 0
    for query, old, new in zip(queries, first["decisions"], then["decisions"], strict=True):
        args = (query["item"], query["to"], query["at"], query.get("holder"))
        assert old == before.decide(*args).to_dict()
        assert new == after.decide(*args).to_dict()
        changed += old != new
        if changed == 1 and old != new:
            single = api.client.post(f"{V1}/decisions", json=query, headers=officer).json()
            assert single == new
    assert changed > 0  # the notice took effect on 2024-11-23: decisions in 2025 that used KOR-JPN differ


def test_a_single_decision_does_not_wait_for_a_batch_holding_the_kept_texts(api: Api) -> None:
    """Single decisions run on the event loop: while a batch holds the kept texts (its lock), a single
    decision is worked out alone, the same as the engine's, instead of stopping the loop."""
    world = api.services.worldbook.full_world()
    texts = Texts()
    busy = texts._lock  # what a batch in a worker thread holds while it runs
    assert busy.acquire(blocking=False)
    try:
        text = texts.decision(world, "K-MSL-1", "JPN", "2019-11-22", None)
    finally:
        busy.release()
    assert json.loads(text) == world.decide("K-MSL-1", "JPN", "2019-11-22").to_dict()
    assert json.loads(texts.decision(world, "K-MSL-1", "JPN", "2019-11-22", None)) == json.loads(text)


def test_past_10000_queries_the_batch_is_a_422_naming_the_limit(api: Api) -> None:
    one = {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22"}
    answer = api.client.post(
        f"{V1}/decisions:batch", json={"queries": [one] * 10_001}, headers=api.auth("officer")
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert "10000" in answer.json()["detail"]
    assert answer.json()["errors"][0]["field"] == "body.queries"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (b'{"queries": [{"item": "K-MSL-1", "to": "JPN", "at": "2019-02-30"}]}', 422, "body.queries.0.at"),
        (b'{"queries": [{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22\\n"}]}', 422, "body.queries.0.at"),
        (b'{"queries": [{"item": "", "to": "JPN", "at": "2019-11-22"}]}', 422, "body.queries.0.item"),
        (b'{"queries": [{"item": 5, "to": "JPN", "at": "2019-11-22"}]}', 422, "body.queries.0.item"),
        (b'{"queries": [{"item": "K-MSL-1", "to": "JPN"}]}', 422, "body.queries.0.at"),
        (b'{"queries": [{"item": "K", "to": "JPN", "at": "2019-11-22", "x": 1}]}', 422, "body.queries.0.x"),
        (b'{"queries": [], "more": 1}', 422, "body.queries"),
        (
            b'{"queries": [{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": ["KOR"]}]}',
            422,
            "body.queries.0.holder",
        ),
        (b'{"queries": [{"item": "K-MSL-1", "to": ["JPN"], "at": "2019-11-22"}]}', 422, "body.queries.0.to"),
        (b'{"queries": [{"item": "\\ud800", "to": "JPN", "at": "2019-11-22"}]}', 422, "body.queries.0.item"),
    ],
)
def test_a_batch_body_the_quick_check_refuses_is_judged_by_the_model(
    api: Api, body: bytes, status: int, field: str | None
) -> None:
    headers = {**api.auth("officer"), "content-type": "application/json"}
    answer = api.client.post(f"{V1}/decisions:batch", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    if field is not None:
        assert field in [e["field"] for e in answer.json()["errors"]]


def test_the_documented_batch_body_is_the_batch_model(api: Api) -> None:
    doc = api.client.get(f"{V1}/openapi.json").json()
    body = doc["paths"][f"{V1}/decisions:batch"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Batch"}
    assert doc["components"]["schemas"]["Batch"]["properties"]["queries"]["maxItems"] == 10_000


# -- credentials through the memo ---------------------------------------------------------------------


def test_the_memo_remembers_only_successes_and_misses_a_changed_hash() -> None:
    calls: list[tuple[str, str]] = []

    def check(stored: str, secret: str) -> bool:
        calls.append((stored, secret))
        return secret == "right"

    memo = VerifiedSecrets(check, limit=2)
    assert memo.verify("h1", "right")
    assert memo.verify("h1", "right")
    assert len(calls) == 1
    assert not memo.verify("h1", "wrong")
    assert not memo.verify("h1", "wrong")
    assert len(calls) == 3  # a wrong secret is checked every time
    assert memo.verify("h2", "right")  # another stored hash: checked afresh
    assert len(calls) == 4
    memo.verify("h3", "right")
    assert len(memo) == 2  # bounded


def test_a_quick_check_never_runs_argon2_and_says_when_it_would_have_to() -> None:
    """The event loop asks quickly: a pair checked before answers from the memo, any other pair (right
    or wrong) is SlowCheckError and the checker is not run; asked again slowly, argon2id decides."""
    calls: list[str] = []

    def check(stored: str, secret: str) -> bool:
        calls.append(secret)
        return secret == "right"

    memo = VerifiedSecrets(check)
    for secret in ("right", "wrong"):
        with pytest.raises(SlowCheckError):
            memo.verify("h1", secret, quick=True)
    assert calls == []
    assert memo.verify("h1", "right")
    assert memo.verify("h1", "right", quick=True)
    assert calls == ["right"]


def test_a_token_seen_first_is_checked_off_the_loop_then_quickly_and_a_revocation_holds(api: Api) -> None:
    fresh = worker(api)  # a worker that has checked no token yet
    token = api.tokens["officer"]
    with pytest.raises(SlowCheckError):
        fresh.users.by_token(token, quick=True)
    query = {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22"}
    assert fresh.client.post(f"{V1}/decisions", json=query, headers=api.auth("officer")).status_code == 200
    principal = fresh.users.by_token(token, quick=True)  # checked once by argon2id: now from the memo
    assert principal is not None
    assert principal.user == "officer-user"
    api.users.disable("officer-user")
    assert fresh.users.by_token(token, quick=True) is None  # its row is read every time
    assert fresh.client.post(f"{V1}/decisions", json=query, headers=api.auth("officer")).status_code == 401


def test_a_token_is_checked_by_argon2_once_but_its_row_is_read_every_time(api: Api) -> None:
    other = worker(api)  # a second worker of the node, with its own memo
    officer = api.auth("officer")
    assert api.client.get(f"{V1}/session", headers=officer).status_code == 200
    assert other.client.get(f"{V1}/session", headers=officer).status_code == 200
    wrong = {"Authorization": officer["Authorization"][:-4] + "AAAA"}
    assert api.client.get(f"{V1}/session", headers=wrong).status_code == 401
    # a role change made through one worker is seen at once by the other, through its warm memo
    other.users.set_role("officer-user", "auditor")
    assert api.client.get(f"{V1}/session", headers=officer).json()["role"] == "auditor"
    query = {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22"}
    assert api.client.post(f"{V1}/decisions", json=query, headers=officer).status_code == 403
    other.users.disable("officer-user")
    assert api.client.get(f"{V1}/session", headers=officer).status_code == 401
    reissued = other.users.reset("officer-user")
    assert api.client.get(f"{V1}/session", headers=officer).status_code == 401  # the old token is gone
    fresh = {"Authorization": f"Bearer {reissued.token}"}
    assert api.client.get(f"{V1}/session", headers=fresh).status_code == 200


def test_a_logout_ends_a_session_in_every_worker_at_once(api: Api) -> None:
    other = worker(api)
    opened = api.users.login("auditor-user", api.passwords["auditor"])
    assert opened is not None
    assert other.users.by_session(opened.cookie) is not None
    assert api.users.by_session(opened.cookie) is not None
    assert api.users.by_session(opened.cookie[:-2] + "zz") is None
    other.users.logout(opened.principal.session or "")
    assert api.users.by_session(opened.cookie) is None


# -- rate counts ----------------------------------------------------------------------------------------


def test_the_batch_grows_with_the_limit_and_the_login_limit_is_counted_hit_by_hit() -> None:
    assert batch_for(ApiConfig().login_limit) == 1
    assert batch_for(5) == 1
    assert batch_for(ApiConfig().rate_limit) == 60
    assert batch_for(10**8) == 100


def test_two_workers_see_each_others_counts_within_one_batch() -> None:
    store = MemoryUserStore()
    a, b = RateCounter(store, flush_ms=10**9), RateCounter(store, flush_ms=10**9)
    assert [a.hit("user:x", 1, batch=3) for _ in range(3)] == [1, 2, 3]
    assert store.counts[("user:x", 1)] == 1  # the first hit of a window is written; a holds back two
    assert b.hit("user:x", 1, batch=3) == 2  # b reads the shared count: a's two are not in it yet
    assert a.hit("user:x", 1, batch=3) == 5  # a's third held hit: all three written, and b's hit seen
    assert store.counts[("user:x", 1)] == 5
    assert [b.hit("user:x", 1, batch=1) for _ in range(2)] == [6, 7]  # batch 1: every hit written


class Recording(MemoryUserStore):
    """A memory user store that lists the hits written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[tuple[str, int, int]] = []

    def hit(self, key: str, window: int, count: int = 1) -> int:
        self.written.append((key, window, count))
        return super().hit(key, window, count)


def test_hits_gathered_longer_than_the_flush_interval_are_written() -> None:
    store = Recording()
    now = [100.0]
    counter = RateCounter(store, flush_ms=250, monotonic=lambda: now[0])
    counter.hit("k", 1, batch=100)
    counter.hit("k", 1, batch=100)
    assert store.written == [("k", 1, 1)]
    now[0] += 0.3
    assert counter.hit("k", 1, batch=100) == 3
    assert store.written == [("k", 1, 1), ("k", 1, 2)]
    assert counter.hit("k", 1, batch=100) == 4
    counter.hit("k", 2, batch=100)  # a new window: the old one's held hit is written first
    assert store.written[2:] == [("k", 1, 1), ("k", 2, 1)]
    assert store.counts == {("k", 2): 1}  # and the old window forgotten


def test_rate_counts_are_shared_by_two_workers_over_one_database(sql_services: Any) -> None:
    limits = ApiConfig(rate_limit=60, login_limit=4, rate_window=10**8, secure_cookies=False)  # batches of 3
    first = make_api(sql_services, limits)
    second = worker(first, limits)
    headers = first.auth("auditor")
    codes = [first.client.get(f"{V1}/parties", headers=headers).status_code for _ in range(30)]
    codes += [second.client.get(f"{V1}/parties", headers=headers).status_code for _ in range(40)]
    assert codes[:60] == [200] * 60
    # the first worker, idle now, holds back at most 2 hits: past 62, every request is refused
    assert set(codes[62:]) == {429}


# -- the node's last verification ---------------------------------------------------------------------


def test_the_last_verification_is_the_nodes_in_every_worker(sql_services: Any) -> None:
    first = make_api(sql_services, GENEROUS)
    second = worker(first)
    never = second.client.get(f"{V1}/log/verified", headers=second.auth("auditor")).json()
    assert never["at"] is None
    assert never["ok"] is None
    assert "never on this node" in second.client.get("/ui", headers=second.auth("auditor")).text
    report = first.client.post(f"{V1}/log/verify", json={}, headers=first.auth("auditor")).json()
    seen = second.client.get(f"{V1}/log/verified", headers=second.auth("auditor")).json()
    assert (seen["user"], seen["ok"], seen["faults"]) == ("auditor-user", True, 0)
    assert seen["report"] == report
    assert seen["leaves"] == report["leaves"]
    restarted = worker(first)  # a fresh worker, as after a restart
    page = restarted.client.get("/ui", headers=first.auth("auditor")).text
    assert "by auditor-user" in page
    assert "no fault" in page


def test_a_verification_record_written_behind_the_nodes_back_is_refused(api: Api) -> None:
    from dataclasses import replace

    from gsomia.domain.errors import GsomiaError

    api.client.post(f"{V1}/log/verify", json={}, headers=api.auth("auditor"))
    row = api.users.last_verification()
    assert row is not None
    assert row.ok
    store = api.users._store  # the test plays an intruder with database access
    store.add_verification(replace(row, ok=False, faults=3))
    with pytest.raises(GsomiaError, match="seal"):
        api.users.last_verification()
