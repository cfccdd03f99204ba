"""Two `gsomia serve` processes on one node: what one writes, the other serves on its next read.

Each case starts two real server processes (`gsomia serve --node DIR --port P`, the REST API under
/api/v1) on one node: a SQLite file, then a fresh PostgreSQL schema (skipped with the reason when the server
does not answer; a failure under GSOMIA_REQUIRE_POSTGRES=1). Nothing is shared between the processes but
the node's directory and database, so every check below holds only if no state that another worker's write
can make stale lives in a worker's memory: the world each serves (its cache is keyed on the node's world
records), consents, releases, the log, sessions and rate counts. Expected answers come from a third
process's view of the same node (the test's own services), never from a hard-coded copy.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gsomia.bootstrap import Services, build, create_node
from gsomia.config import Settings
from gsomia.web.app import node_users
from gsomia.web.auth import CSRF_HEADER, SESSION_COOKIE
from tests.contract import pg

from .conftest import BODY, BODY_ITEM, WORLD

V1 = "/api/v1"
GSOMIA = [sys.executable, "-c", "from gsomia.cli import main; main()"]
ROLES = {"officer-user": "officer", "legal-user": "legal", "auditor-user": "auditor"}
SERVE_ENV = {
    "GSOMIA_API_SECURE_COOKIES": "0",  # the test speaks plain HTTP on 127.0.0.1
    "GSOMIA_API_RATE_LIMIT": "100000",
    "GSOMIA_API_LOGIN_LIMIT": "1000",
}
KJ = "KOR-JPN-GSOMIA"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def wait_ready(server: subprocess.Popen[bytes], client: httpx.Client, log: Path) -> None:
    """Until the server answers its API document (it needs no credentials); fail with its log if it dies."""
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(
                f"gsomia serve did not start ({client.base_url}):\n{log.read_text()[-2000:]}"
            )
        try:
            if client.get(f"{V1}/openapi.json").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)


@contextmanager
def serving(
    node_dir: Path, logs: list[Path], env: Mapping[str, str] = SERVE_ENV
) -> Iterator[list[httpx.Client]]:
    """A `gsomia serve` process on ``node_dir`` for each log file (started together, ``env`` added to
    each one's environment), and a client on each, until the block ends."""
    with ExitStack() as stack:
        started = []
        for log in logs:
            port = free_port()
            argv = [*GSOMIA, "serve", "--node", str(node_dir), "--port", str(port)]
            with log.open("wb") as out:
                server = subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
                )
            stack.callback(stop, server)
            client = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60))
            started.append((server, client, log))
        for server, client, log in started:
            wait_ready(server, client, log)
        yield [client for _, client, _ in started]


@dataclass
class Workers:
    """Two server processes (``a``, ``b``) on one node, the node's services in this process, the users."""

    a: httpx.Client
    b: httpx.Client
    node: Services
    node_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def add_user(self, name: str, role: str) -> None:
        issued = node_users(self.node).add(name, role)
        self.tokens[name], self.passwords[name] = issued.token, issued.password


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def workers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """A node (Korea-Japan world, K-BODY-1 with its body, one user per role) served by two processes."""
    with ExitStack() as stack:
        url = ""
        if request.param == "postgres":
            url = stack.enter_context(pg.fresh_schema(str(request.getfixturevalue("postgres_server"))))
        where = tmp_path_factory.mktemp(f"workers-{request.param}")
        settings = create_node(where / "node", party="KOR", database_url=url)
        services = stack.enter_context(build(Settings.load(settings.node_dir)))
        services.import_world(WORLD)
        services.items.add_item(BODY_ITEM, "KOR", "KR-II", ["dprk-missile"], body=BODY)
        a, b = stack.enter_context(serving(settings.node_dir, [where / "a.log", where / "b.log"]))
        pair = Workers(a, b, services, settings.node_dir)
        for name, role in ROLES.items():
            pair.add_user(name, role)
        yield pair


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def state(client: httpx.Client, w: Workers, at: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(
        client.get(f"{V1}/agreements/{KJ}/state", params={"at": at}, headers=w.auth("auditor-user"))
    )
    return answer


def decide(client: httpx.Client, w: Workers, query: dict[str, str]) -> dict[str, Any]:
    answer: dict[str, Any] = ok(client.post(f"{V1}/decisions", json=query, headers=w.auth("officer-user")))
    return answer


def expected(w: Workers, query: dict[str, str]) -> dict[str, Any]:
    """The decision a fresh read of the whole node gives (this process is a third view of it)."""
    world = w.node.worldbook.full_world()
    return world.decide(query["item"], query["to"], query["at"], query.get("holder")).to_dict()


# -- the world -------------------------------------------------------------------------------------------


def test_an_event_added_through_one_worker_changes_the_world_the_other_serves(workers: Workers) -> None:
    w, day = workers, "2024-12-01"
    query = {"item": "K-MSL-1", "to": "JPN", "at": "2025-01-01"}
    before = state(w.b, w, day), decide(w.b, w, query)  # B compiles and keeps its world now
    assert before[0]["in_force"]
    assert before[1] == expected(w, query)
    notice = {"kind": "notice", "date": "2024-01-10", "by": "JPN"}
    made = ok(w.a.post(f"{V1}/agreements/{KJ}/events", json=notice, headers=w.auth("legal-user")), 201)
    after = state(w.b, w, day), decide(w.b, w, query)
    assert after[0] != before[0]
    assert after[0]["state"] == w.node.worldbook.world().state(KJ, day).state
    assert not after[0]["in_force"]
    assert after[1] == expected(w, query)
    assert after[1]["agreements"] != before[1]["agreements"]  # the direct route has closed
    listed = ok(w.b.get(f"{V1}/events", params={"agreement": KJ}, headers=w.auth("auditor-user")))
    assert made["seq"] in [e["seq"] for e in listed["items"]]
    # and the other way: B withdraws the notice, A (whose world knew the notice) serves the withdrawal
    assert state(w.a, w, day) == after[0]
    withdraw = {"kind": "withdraw-notice", "date": "2024-03-01", "by": "JPN"}
    ok(w.b.post(f"{V1}/agreements/{KJ}/events", json=withdraw, headers=w.auth("legal-user")), 201)
    assert state(w.a, w, day) == before[0]
    assert decide(w.a, w, query) == before[1] == expected(w, query)


def test_a_party_and_an_agreement_added_through_one_worker_are_served_by_the_other(workers: Workers) -> None:
    w, legal = workers, workers.auth("legal-user")
    problem = w.b.get(f"{V1}/parties/AUS", headers=legal)
    assert problem.status_code == 404
    party = {"id": "AUS", "name": "Australia", "levels": [{"id": "AU-S", "marking": "SECRET"}]}
    ok(w.a.post(f"{V1}/parties", json=party, headers=legal), 201)
    assert ok(w.b.get(f"{V1}/parties/AUS", headers=legal))["levels"][0]["id"] == "AU-S"
    agreement = {
        "id": "AUS-KOR",
        "kind": "treaty",
        "parties": ["AUS", "KOR"],
        "entry_into_force": "2020-01-01",
        "scope": ["naval"],
        "equivalence": [{"AUS": "AU-S", "KOR": "KR-II"}],
    }
    made = ok(w.b.post(f"{V1}/agreements", json=agreement, headers=legal), 201)
    assert ok(w.a.get(f"{V1}/agreements/AUS-KOR", headers=legal)) == made
    query = {"item": "K-NAV-1", "to": "AUS", "at": "2021-01-01"}
    assert decide(w.a, w, query) == decide(w.b, w, query) == expected(w, query)
    assert decide(w.b, w, query)["agreements"] == ["AUS-KOR"]


def test_an_item_added_by_a_third_process_is_decided_by_both_workers(workers: Workers) -> None:
    w = workers
    query = {"item": "K-LATE-1", "to": "JPN", "at": "2021-06-01"}
    refused = w.a.post(f"{V1}/decisions", json=query, headers=w.auth("officer-user"))
    assert refused.status_code == 400
    assert "K-LATE-1" in refused.json()["detail"]
    w.node.items.add_item("K-LATE-1", "KOR", "KR-III", ["naval"])
    assert decide(w.a, w, query) == decide(w.b, w, query) == expected(w, query)
    batch = {"queries": [query, {"item": BODY_ITEM, "to": "JPN", "at": "2021-06-01"}]}
    answers = ok(w.b.post(f"{V1}/decisions:batch", json=batch, headers=w.auth("officer-user")))["decisions"]
    assert answers[0] == expected(w, query)


# -- consents and releases ---------------------------------------------------------------------------------


def test_a_consent_requested_through_one_worker_is_granted_through_the_other(workers: Workers) -> None:
    w = workers
    onward = {"item": "K-NAV-1", "to": "USA", "at": "2020-03-01", "holder": "JPN"}
    before = decide(w.b, w, onward)
    assert not before["allowed"]
    ask = {
        "holder": "JPN",
        "recipient": "USA",
        "item": "K-NAV-1",
        "from": "2020-01-01",
        "until": "2020-12-31",
    }
    made = ok(w.a.post(f"{V1}/consents", json=ask, headers=w.auth("officer-user")), 201)
    cid = made["id"]
    seen = ok(w.b.get(f"{V1}/consents/{cid}", headers=w.auth("auditor-user")))
    assert seen["status"] == "requested"
    granted = ok(w.b.post(f"{V1}/consents/{cid}/grant", json={}, headers=w.auth("legal-user")))
    assert granted["status"] == "granted"
    again = w.a.post(f"{V1}/consents/{cid}/grant", json={}, headers=w.auth("legal-user"))
    assert again.status_code == 409  # A sees B's grant: the step is out of order there too
    history = ok(w.a.get(f"{V1}/consents/{cid}", headers=w.auth("legal-user")))["history"]
    assert [h["status"] for h in history] == ["requested", "granted"]
    after = decide(w.b, w, onward)
    assert after == decide(w.a, w, onward) == expected(w, onward)
    consent = {r["rule"]: r["ok"] for r in after["reasons"]}.get("consent")
    assert consent != {r["rule"]: r["ok"] for r in before["reasons"]}.get("consent")


def test_releases_made_through_either_worker_are_read_through_both(workers: Workers) -> None:
    w, officer, auditor = workers, workers.auth("officer-user"), workers.auth("auditor-user")
    first = ok(
        w.a.post(
            f"{V1}/releases", json={"item": BODY_ITEM, "to": "JPN", "at": "2020-01-01"}, headers=officer
        ),
        201,
    )
    second = ok(
        w.b.post(
            f"{V1}/releases", json={"item": BODY_ITEM, "to": "USA", "at": "2021-01-01"}, headers=officer
        ),
        201,
    )
    assert first["allowed"]
    assert second["allowed"]
    assert second["release"] > first["release"]
    on_b = ok(w.b.get(f"{V1}/releases/{first['release']}", headers=auditor))
    on_a = ok(w.a.get(f"{V1}/releases/{second['release']}", headers=auditor))
    assert on_b["decision"]["reasons"] == first["reasons"]
    assert on_a["decision"]["reasons"] == second["reasons"]
    listed = [
        ok(c.get(f"{V1}/releases", params={"item": BODY_ITEM, "limit": 1000}, headers=auditor))
        for c in (w.a, w.b)
    ]
    assert listed[0] == listed[1]
    heads = [ok(c.get(f"{V1}/log/head", headers=auditor)) for c in (w.a, w.b)]
    assert heads[0] == heads[1]
    assert heads[0]["size"] == w.node.audit.head().size


def test_concurrent_writes_through_both_workers_each_land_once_and_the_log_verifies(workers: Workers) -> None:
    """Writes from two processes serialise in the database: every one is recorded, none twice."""
    w, officer, auditor = workers, workers.auth("officer-user"), workers.auth("auditor-user")
    days = [f"2022-{m:02d}-{d:02d}" for m in (1, 2) for d in range(1, 9)]

    def release(n: int) -> int:
        client = w.a if n % 2 else w.b
        answer = client.post(
            f"{V1}/releases", json={"item": BODY_ITEM, "to": "JPN", "at": days[n]}, headers=officer
        )
        number: int = ok(answer, 201)["release"]
        return number

    before = w.node.audit.head().size
    with ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(release, range(len(days))))
    assert len(set(numbers)) == len(days)
    recorded = ok(
        w.b.get(f"{V1}/releases", params={"from": "2022-01-01", "until": "2022-12-31"}, headers=auditor)
    )
    assert sorted(r["seq"] for r in recorded["items"]) == sorted(numbers)
    assert sorted(r["at"] for r in recorded["items"]) == sorted(days)
    assert w.node.audit.head().size >= before + len(days)
    for client in (w.a, w.b):
        assert ok(client.post(f"{V1}/log/verify", json={}, headers=auditor))["ok"]


# -- sessions and rate limits ------------------------------------------------------------------------------


def login(client: httpx.Client, name: str, password: str) -> tuple[str, str]:
    """Log in on ``client``: the session cookie's value and the session's CSRF token."""
    answer = client.post(f"{V1}/session", json={"name": name, "password": password})
    csrf = ok(answer)["csrf_token"]
    return answer.cookies[SESSION_COOKIE], str(csrf)


def test_a_session_opened_on_one_worker_works_on_the_other_and_logout_ends_it_everywhere(
    workers: Workers,
) -> None:
    w = workers
    w.add_user("session-user", "auditor")
    cookie, csrf = login(w.a, "session-user", w.passwords["session-user"])
    jar = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    change = {"current": w.passwords["session-user"], "new": "a much longer passphrase"}
    assert w.b.get(f"{V1}/parties", headers=jar).status_code == 403  # B knows the password is one-time
    assert (
        w.b.post(f"{V1}/session/password", json=change, headers={**jar, CSRF_HEADER: csrf}).status_code == 204
    )
    cookie, csrf = login(w.a, "session-user", "a much longer passphrase")
    jar = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    assert ok(w.b.get(f"{V1}/session", headers=jar))["user"] == "session-user"
    assert ok(w.b.get(f"{V1}/parties", headers=jar))["items"]
    assert w.b.post(f"{V1}/log/verify", json={}, headers=jar).status_code == 403  # no CSRF token
    assert ok(w.b.post(f"{V1}/log/verify", json={}, headers={**jar, CSRF_HEADER: csrf}))["ok"]
    assert w.b.delete(f"{V1}/session", headers={**jar, CSRF_HEADER: csrf}).status_code == 204
    assert w.a.get(f"{V1}/session", headers=jar).status_code == 401
    assert w.b.get(f"{V1}/session", headers=jar).status_code == 401


def test_rate_counts_are_shared_by_the_workers(workers: Workers, tmp_path: Path) -> None:
    """Two more workers of the node with a limit of 5 requests per (very long) window: 3 on one and 2 on
    the other use it up for both."""
    w = workers
    w.add_user("counted-user", "auditor")
    limits = {**SERVE_ENV, "GSOMIA_API_RATE_LIMIT": "5", "GSOMIA_API_RATE_WINDOW": "100000000"}
    with serving(w.node_dir, [tmp_path / "c.log", tmp_path / "d.log"], limits) as (c, d):
        headers = w.auth("counted-user")
        codes = [c.get(f"{V1}/parties", headers=headers).status_code for _ in range(3)]
        codes += [d.get(f"{V1}/parties", headers=headers).status_code for _ in range(2)]
        assert codes == [200] * 5
        for client in (d, c):
            limited = client.get(f"{V1}/parties", headers=headers)
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) > 0
        assert c.get(f"{V1}/parties", headers=w.auth("auditor-user")).status_code == 200  # per user
