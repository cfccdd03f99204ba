"""The REST API under /api/v1: each use case over HTTP, keyset pages, ETags, problems, sessions, limits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from gsomia.domain.impact import Change
from gsomia.domain.world import parse_day
from gsomia.ledger import leaf_hash, verify_consistency, verify_inclusion
from gsomia.services.users import ROLE_PERMISSIONS
from gsomia.store import schema
from gsomia.store.sql import SqlStore
from gsomia.web.auth import CSRF_HEADER, SESSION_COOKIE, ApiConfig

from .conftest import BODY, BODY_ITEM, GENEROUS, Api, TestClient, make_api, worker

V1 = "/api/v1"
PROBLEM = "application/problem+json"


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The RFC 9457 problem in ``response``, which must have ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


def walk(api: Api, path: str, role: str = "auditor", **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of a list, following ``next``."""
    pages, after = [], None
    while True:
        query = {**params, **({"after": after} if after else {})}
        response = api.client.get(V1 + path, params=query, headers=api.auth(role))
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        after = response.json()["next"]
        if after is None:
            return pages


def log_size(api: Api) -> int:
    return api.services.audit.head().size


# -- the document -------------------------------------------------------------------------------------


def test_the_openapi_document_describes_the_api_alone_with_problems_for_every_error(api: Api) -> None:
    doc = api.client.get(f"{V1}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert doc["paths"]
    assert all(path.startswith(V1 + "/") for path in doc["paths"])
    assert not any("taxii" in path for path in doc["paths"])
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            answers = operation["responses"]
            assert "401" in answers or path == f"{V1}/session", (method, path)
            for code, answer in answers.items():
                if int(code) >= 400:
                    assert list(answer["content"]) == [PROBLEM], (method, path, code)
    assert api.client.get("/openapi.json").status_code == 404  # the framework's own stays off


# -- pages, filters, ETags ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/parties", "/agreements", "/events", "/items", "/consents"])
def test_a_list_walked_one_row_at_a_time_is_the_whole_list_in_order(api: Api, path: str) -> None:
    whole = walk(api, path, limit=1000)
    assert len(whole) == 1
    pages = walk(api, path, limit=1)
    assert all(len(page) == 1 for page in pages)
    assert [page[0] for page in pages] == whole[0]
    assert len(whole[0]) >= 2


def test_rows_added_while_a_client_pages_neither_repeat_nor_shift(api: Api) -> None:
    first = api.client.get(f"{V1}/items", params={"limit": 3}, headers=api.auth("auditor")).json()
    api.services.items.add_item("K-LATE-1", "KOR", "KR-III", ["naval"])
    rest = walk(api, "/items", limit=3, after=first["next"]) if first["next"] else []
    seen = [i["id"] for i in first["items"]] + [i["id"] for page in rest for i in page]
    assert len(seen) == len(set(seen))
    assert seen[-1] == "K-LATE-1"
    assert seen == [i["id"] for i in walk(api, "/items", limit=1000)[0]]


@pytest.mark.parametrize(
    "params",
    [
        {"after": "garbage!"},
        {"after": "WyJ1c2VycyIsImEiXQ"},
        {"after": "x" * 300},
    ],  # the second: a users cursor
)
def test_a_cursor_the_api_did_not_issue_for_that_list_is_400(api: Api, params: dict[str, str]) -> None:
    response = api.client.get(f"{V1}/parties", params=params, headers=api.auth("auditor"))
    assert "after" in problem_of(response, 400)["detail"]


def test_lists_filter_by_party_agreement_and_days(api: Api) -> None:
    by_usa = walk(api, "/agreements", party="USA")[0]
    assert {a["id"] for a in by_usa} == {"USA-KOR-GSOMIA", "USA-JPN-GSOMIA", "TISA"}
    in_force = walk(api, "/agreements", in_force_on="2010-01-01")[0]
    assert {a["id"] for a in in_force} == {"USA-KOR-GSOMIA", "USA-JPN-GSOMIA"}
    events = walk(api, "/events", agreement="KOR-JPN-GSOMIA", **{"from": "2019-11-01"})[0]
    assert [e["date"] for e in events] == ["2019-11-22", "2023-03-21"]
    assert walk(api, "/agreements/KOR-JPN-GSOMIA/events", until="2019-08-23")[0][0]["kind"] == "notice"
    assert {i["originator"] for i in walk(api, "/items", party="JPN")[0]} == {"JPN"}
    consents = walk(api, "/consents", party="JPN")[0]
    assert consents
    assert all("JPN" in (c["holder"], c["recipient"], c.get("originator")) for c in consents)


def test_reads_carry_an_etag_and_answer_304_until_the_resource_changes(api: Api) -> None:
    headers = api.auth("legal")
    first = api.client.get(f"{V1}/parties", headers=headers)
    tag = first.headers["etag"]
    again = api.client.get(f"{V1}/parties", headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    party = {"id": "GBR", "levels": [{"id": "UK-S", "marking": "SECRET"}]}
    assert api.client.post(f"{V1}/parties", json=party, headers=headers).status_code == 201
    changed = api.client.get(f"{V1}/parties", headers={**headers, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != tag
    assert changed.json()["items"][-1]["id"] == "GBR"


# -- agreements and events ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "state", "disputed"),
    [("2016-11-22", "not-yet-in-force", False), ("2019-10-01", "notice-pending", False),
     ("2020-06-01", "notice-suspended", True), ("2023-06-01", "in-force", False)],
)  # fmt: skip
def test_an_agreements_state_on_a_day(api: Api, day: str, state: str, disputed: bool) -> None:
    url = f"{V1}/agreements/KOR-JPN-GSOMIA/state"
    body = api.client.get(url, params={"at": day}, headers=api.auth("officer")).json()
    expected = api.services.worldbook.world().state("KOR-JPN-GSOMIA", day)
    assert (
        (body["state"], body["disputed"], body["at"])
        == (state, disputed, day)
        == (
            expected.state,
            expected.disputed,
            day,
        )
    )


def test_a_timeline_lists_the_dated_states_and_an_unknown_agreement_is_404(api: Api) -> None:
    timeline = api.client.get(f"{V1}/agreements/KOR-JPN-GSOMIA/timeline", headers=api.auth("legal")).json()
    states = [s["state"] for s in timeline["segments"]]
    assert states == ["in-force", "notice-pending", "notice-suspended", "in-force"]
    assert timeline["end"] is None
    assert timeline["versions"][0]["scope"] == "any"
    for path in ("/agreements/NOPE", "/agreements/NOPE/state", "/agreements/NOPE/timeline"):
        assert "NOPE" in problem_of(api.client.get(V1 + path, headers=api.auth("legal")), 404)["detail"]


def test_an_event_is_recorded_and_one_that_cannot_apply_is_409_writing_nothing(api: Api) -> None:
    url, headers = f"{V1}/agreements/KOR-JPN-GSOMIA/events", api.auth("legal")
    before = log_size(api)
    refused = api.client.post(
        url, json={"kind": "notice", "date": "2019-09-01", "by": "KOR"}, headers=headers
    )
    assert "already" in problem_of(refused, 409)["detail"]
    assert log_size(api) == before
    made = api.client.post(url, json={"kind": "notice", "date": "2024-01-10", "by": "JPN"}, headers=headers)
    assert made.status_code == 201
    assert made.json()["kind"] == "notice"
    assert made.json()["by"] == "JPN"
    assert log_size(api) > before
    again = api.client.post(url, json={"kind": "notice", "date": "2024-01-11", "by": "KOR"}, headers=headers)
    problem_of(again, 409)
    state = api.client.get(f"{url[:-7]}/state", params={"at": "2024-02-01"}, headers=headers).json()
    assert state["state"] == "notice-pending"
    assert state["ends"] == "2024-11-23"


def test_an_agreement_and_a_party_are_added_as_a_world_file_writes_them(api: Api) -> None:
    headers = api.auth("legal")
    party = {"id": "AUS", "name": "Australia", "levels": [{"id": "AU-S", "marking": "SECRET"}]}
    assert api.client.post(f"{V1}/parties", json=party, headers=headers).status_code == 201
    agreement = {
        "id": "AUS-KOR",
        "kind": "treaty",
        "parties": ["AUS", "KOR"],
        "entry_into_force": "2020-01-01",
        "scope": ["naval"],
        "equivalence": [{"AUS": "AU-S", "KOR": "KR-II"}],
    }
    made = api.client.post(f"{V1}/agreements", json=agreement, headers=headers)
    assert made.status_code == 201
    assert made.json()["equivalence"] == [{"AUS": ["AU-S"], "KOR": ["KR-II"]}]
    got = api.client.get(f"{V1}/agreements/AUS-KOR", headers=headers).json()
    assert got == made.json()
    crossing = {**agreement, "id": "AUS-JPN", "parties": ["AUS", "JPN"], "equivalence": [{"AUS": "AU-X"}]}
    assert (
        "AU-X"
        in problem_of(api.client.post(f"{V1}/agreements", json=crossing, headers=headers), 400)["detail"]
    )


# -- decisions and impact -------------------------------------------------------------------------------

QUERIES = [
    {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23"},
    {"item": "K-NAV-1", "to": "JPN", "at": "2019-11-23"},
    {"item": "K-TOP-1", "to": "JPN", "at": "2019-11-23"},
    {"item": "K-MSL-1", "to": "USA", "at": "2019-06-01", "holder": "JPN"},
    {"item": "K-NF-1", "to": "USA", "at": "2020-01-01"},
]


def test_a_decision_is_the_decision_json_of_the_engine(api: Api) -> None:
    world = api.services.worldbook.full_world()
    for query in QUERIES:
        response = api.client.post(f"{V1}/decisions", json=query, headers=api.auth("officer"))
        expected = world.decide(query["item"], query["to"], query["at"], query.get("holder"))
        assert response.status_code == 200
        assert response.json() == expected.to_dict()
    batch = api.client.post(f"{V1}/decisions:batch", json={"queries": QUERIES}, headers=api.auth("officer"))
    assert [d["item"] for d in batch.json()["decisions"]] == [q["item"] for q in QUERIES]
    assert batch.json()["decisions"][3] == world.decide("K-MSL-1", "USA", "2019-06-01", "JPN").to_dict()


def test_a_bad_query_in_a_batch_is_a_400_naming_it(api: Api) -> None:
    queries = [QUERIES[0], {"item": "K-MSL-1", "to": "KOR", "at": "2019-11-23"}]
    response = api.client.post(
        f"{V1}/decisions:batch", json={"queries": queries}, headers=api.auth("officer")
    )
    assert problem_of(response, 400)["detail"].startswith("queries[1]:")


def test_impact_is_the_domains_report_and_a_bad_change_names_its_field(api: Api) -> None:
    change = {"kind": "terminate", "agreement": "KOR-JPN-GSOMIA", "on": "2019-11-23"}
    response = api.client.post(f"{V1}/impact", json={"change": change, "limit": 0}, headers=api.auth("legal"))
    expected = api.services.worldbook.full_world().impact(
        Change("terminate", parse_day("2019-11-23"), "KOR-JPN-GSOMIA")
    )
    assert response.json() == json.loads(json.dumps(expected.to_dict(list_items=None)))
    assert response.json()["counts"]["rerouted"] > 0
    assert response.json()["counts"]["lost"] > 0
    bad_table = {"kind": "amend", "agreement": "KOR-JPN-GSOMIA", "on": "2019-11-23", "equivalence": [{}]}
    detail = problem_of(
        api.client.post(f"{V1}/impact", json={"change": bad_table}, headers=api.auth("legal")), 400
    )
    assert "change.equivalence" in detail["detail"]
    no_new = {"kind": "add", "on": "2019-11-23"}
    detail = problem_of(
        api.client.post(f"{V1}/impact", json={"change": no_new}, headers=api.auth("legal")), 400
    )
    assert "change.new" in detail["detail"]


# -- releases and consents ------------------------------------------------------------------------------


def test_a_release_is_recorded_with_its_decision_and_read_back(api: Api) -> None:
    officer = api.auth("officer")
    made = api.client.post(
        f"{V1}/releases", json={"item": BODY_ITEM, "to": "JPN", "at": "2020-01-01"}, headers=officer
    )
    assert made.status_code == 201
    outcome = made.json()
    assert outcome["allowed"]
    assert outcome["outbox"]
    assert outcome["marking"] == "JP-GOKUHI"
    refused = api.client.post(
        f"{V1}/releases", json={"item": "K-NF-1", "to": "JPN", "at": "2020-01-01"}, headers=officer
    )
    assert refused.status_code == 201
    assert not refused.json()["allowed"]
    shown = api.client.get(f"{V1}/releases/{outcome['release']}", headers=api.auth("auditor")).json()
    assert shown["decision"]["reasons"] == outcome["reasons"]
    assert shown["recorded"] == outcome["recorded"]
    assert [r["item"] for r in walk(api, "/releases", allowed="false")[0]] == ["K-NF-1"]
    assert walk(api, "/releases", party="USA") == [[]]
    assert len(walk(api, "/releases", **{"from": "2020-01-01", "until": "2020-01-01"})[0]) == 2
    assert walk(api, "/releases", agreement="KOR-JPN-GSOMIA")[0][0]["item"] == BODY_ITEM
    problem_of(api.client.get(f"{V1}/releases/99", headers=api.auth("auditor")), 404)


def test_a_release_the_node_cannot_make_is_409_and_writes_nothing(api: Api) -> None:
    before = (log_size(api), len(api.services.releases.releases()))
    response = api.client.post(
        f"{V1}/releases",
        json={"item": "K-MSL-1", "to": "JPN", "at": "2020-01-01"},
        headers=api.auth("officer"),
    )
    assert "no body" in problem_of(response, 409)["detail"]
    assert (log_size(api), len(api.services.releases.releases())) == before


def test_the_consent_workflow_runs_request_grant_revoke_and_refuses_steps_out_of_order(api: Api) -> None:
    ask = {
        "holder": "JPN",
        "recipient": "USA",
        "item": "K-NAV-1",
        "from": "2020-01-01",
        "until": "2020-12-31",
    }
    made = api.client.post(f"{V1}/consents", json=ask, headers=api.auth("officer"))
    assert made.status_code == 201
    assert made.json()["status"] == "requested"
    assert made.json()["from"] == "2020-01-01"
    cid, legal = made.json()["id"], api.auth("legal")
    granted = api.client.post(f"{V1}/consents/{cid}/grant", json={"until": "2020-06-30"}, headers=legal)
    assert granted.json()["status"] == "granted"
    assert granted.json()["until"] == "2020-06-30"
    assert (
        "granted"
        in problem_of(api.client.post(f"{V1}/consents/{cid}/grant", json={}, headers=legal), 409)["detail"]
    )
    revoked = api.client.post(f"{V1}/consents/{cid}/revoke", json={"on": "2020-03-01"}, headers=legal)
    assert revoked.json()["status"] == "revoked"
    assert revoked.json()["revoked_on"] == "2020-03-01"
    problem_of(api.client.post(f"{V1}/consents/{cid}/deny", json={}, headers=legal), 409)
    problem_of(api.client.post(f"{V1}/consents/C99/grant", json={}, headers=legal), 404)
    assert [c["id"] for c in walk(api, "/consents", status="revoked")[0]] == [cid]
    assert [h["status"] for h in api.client.get(f"{V1}/consents/{cid}", headers=legal).json()["history"]] == [
        "requested",
        "granted",
        "revoked",
    ]


# -- items and the log ----------------------------------------------------------------------------------


def test_item_metadata_never_carries_a_body_which_only_its_reader_gets(api: Api) -> None:
    meta = api.client.get(f"{V1}/items/{BODY_ITEM}", headers=api.auth("auditor"))
    assert meta.json()["has_body"] is True
    assert BODY.decode() not in meta.text
    assert all(BODY.decode() not in json.dumps(page) for page in walk(api, "/items"))
    body = api.client.get(f"{V1}/items/{BODY_ITEM}/body", headers=api.auth("officer"))
    assert body.status_code == 200
    assert body.content == BODY
    assert body.headers["content-type"] == "application/octet-stream"
    assert body.headers["cache-control"] == "no-store"
    problem_of(api.client.get(f"{V1}/items/{BODY_ITEM}/body", headers=api.auth("auditor")), 403)
    problem_of(api.client.get(f"{V1}/items/K-MSL-1/body", headers=api.auth("officer")), 404)
    problem_of(api.client.get(f"{V1}/items/NOPE", headers=api.auth("officer")), 404)


def test_the_log_gives_its_head_proofs_that_verify_and_a_verification(api: Api) -> None:
    auditor = api.auth("auditor")
    head = api.client.get(f"{V1}/log/head", headers=auditor).json()
    assert head == api.services.audit.head().to_dict()
    size, root = head["size"], bytes.fromhex(head["root"])
    proof = api.client.get(f"{V1}/log/inclusion", params={"leaf": 3}, headers=auditor).json()
    with api.services.store.read() as uow:  # the leaf's bytes, to hash here
        data = uow.leaves(3, 4)[0].data
    assert verify_inclusion(leaf_hash(data), 3, size, [bytes.fromhex(h) for h in proof["proof"]], root)
    older = api.client.get(f"{V1}/log/inclusion", params={"leaf": 0, "size": 5}, headers=auditor).json()
    step = api.client.get(f"{V1}/log/consistency", params={"old": 5, "new": size}, headers=auditor).json()
    hashes = [bytes.fromhex(h) for h in step["proof"]]
    assert verify_consistency(5, size, bytes.fromhex(older["root"]), root, hashes)
    report = api.client.post(f"{V1}/log/verify", json={"from_head": head}, headers=auditor).json()
    assert report["ok"]
    assert report["leaves"] == size
    forged = {**head, "signature": "00" * 64}
    assert not api.client.post(f"{V1}/log/verify", json={"from_head": forged}, headers=auditor).json()["ok"]
    problem_of(api.client.post(f"{V1}/log/verify", json={"from_head": {"v": 9}}, headers=auditor), 400)
    problem_of(api.client.get(f"{V1}/log/inclusion", params={"leaf": size}, headers=auditor), 404)
    problem_of(api.client.get(f"{V1}/log/consistency", params={"old": 3, "new": 2}, headers=auditor), 400)


# -- bad input --------------------------------------------------------------------------------------------

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "named"),
    [
        ("post", "/decisions", b'{"item": "K-MSL-1", ', 400, "JSON"),
        ("post", "/decisions", b"{}", 422, "body.item"),
        ("post", "/decisions", b'{"item": 5, "to": "JPN", "at": "2019-11-23"}', 422, "body.item"),
        ("post", "/decisions", b'{"item": "K", "to": "JPN", "at": "2019-11-23", "x": 1}', 422, "body.x"),
        ("post", "/decisions", b'{"item": "K-MSL-1", "to": "JPN", "at": "2019-02-30"}', 422, "body.at"),
        ("post", "/decisions", b'{"item": "K-MSL-9", "to": "JPN", "at": "2019-11-23"}', 400, "K-MSL-9"),
        pytest.param("post", "/decisions", b"[" * 5000 + b"]" * 5000, 400, "body", id="deeply-nested"),
        ("post", "/decisions", b'"just a string"', 422, "body"),
        ("post", "/decisions:batch", b'{"queries": []}', 422, "body.queries"),
        ("post", "/parties", b'{"id": "X\\u202e", "levels": [{"id": "X-1", "marking": "m"}]}', 400, "X"),
        (
            "post",
            "/agreements/KOR-JPN-GSOMIA/events",
            b'{"kind": "explode", "date": "2020-01-01"}',
            422,
            "kind",
        ),
        ("get", "/parties?limit=0", b"", 422, "query.limit"),
        ("get", "/parties?limit=many", b"", 422, "query.limit"),
        ("get", "/agreements?in_force_on=2019-99-01", b"", 400, "in_force_on"),
        ("get", "/releases/0", b"", 422, "path.seq"),
        ("get", "/releases/99999999999999999999999", b"", 422, "path.seq"),
        ("get", "/agreements/KOR-JPN-GSOMIA/state?at=someday", b"", 422, "query.at"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field_and_writes_nothing(
    api: Api, method: str, path: str, content: bytes, status: int, named: str
) -> None:
    before = log_size(api)
    role = "legal" if path.startswith(("/parties", "/agreements")) and method == "post" else "officer"
    response = api.client.request(
        method, V1 + path, content=content or None, headers={**api.auth(role), **JSON}
    )
    assert named in json.dumps(problem_of(response, status))
    assert log_size(api) == before


def test_a_body_larger_than_the_api_takes_is_413_before_it_is_read(api: Api) -> None:
    huge = b'{"item": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    response = api.client.post(f"{V1}/decisions", content=huge, headers={**api.auth("officer"), **JSON})
    problem_of(response, 413)

    def chunks() -> Any:
        for _ in range(6):
            yield b"x" * (1024 * 1024)

    streamed = api.client.post(f"{V1}/decisions", content=chunks(), headers={**api.auth("officer"), **JSON})
    problem_of(streamed, 413)


def test_unknown_paths_and_methods_under_the_api_are_problems(api: Api) -> None:
    assert (
        "openapi.json"
        in problem_of(api.client.get(f"{V1}/nowhere", headers=api.auth("officer")), 404)["detail"]
    )
    problem_of(api.client.delete(f"{V1}/parties", headers=api.auth("legal")), 405)


# -- sessions -----------------------------------------------------------------------------------------------


def login(client: TestClient, name: str, password: str) -> httpx.Response:
    return client.post(f"{V1}/session", json={"name": name, "password": password})


def logged_in(api: Api, role: str) -> str:
    """Log the user of ``role`` in, change its one-time password; the session's CSRF token."""
    first = login(api.client, f"{role}-user", api.passwords[role])
    assert first.status_code == 200
    assert first.json()["must_change_password"]
    csrf = first.json()["csrf_token"]
    change = {"current": api.passwords[role], "new": "a much longer passphrase"}
    done = api.client.post(f"{V1}/session/password", json=change, headers={CSRF_HEADER: csrf})
    assert done.status_code == 204
    return str(login(api.client, f"{role}-user", "a much longer passphrase").json()["csrf_token"])


def test_login_sets_a_signed_httponly_samesite_secure_cookie(node: Any) -> None:
    api = make_api(node, ApiConfig(rate_limit=10**6, login_limit=10**6, secure_cookies=True))
    response = login(api.client, "officer-user", api.passwords["officer"])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for flag in ("HttpOnly", "SameSite=strict", "Secure", "Path=/"):
        assert flag in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "." in value
    assert api.passwords["officer"] not in value
    assert response.json()["user"] == "officer-user"
    assert response.json()["via"] == "session"


def test_a_one_time_password_must_be_changed_before_the_session_does_anything(api: Api) -> None:
    csrf = login(api.client, "officer-user", api.passwords["officer"]).json()["csrf_token"]
    assert "one-time" in problem_of(api.client.get(f"{V1}/parties"), 403)["detail"]
    assert api.client.get(f"{V1}/session").json()["must_change_password"] is True
    short = {"current": api.passwords["officer"], "new": "short"}
    problem_of(api.client.post(f"{V1}/session/password", json=short, headers={CSRF_HEADER: csrf}), 400)
    wrong = {"current": "not it at all", "new": "a much longer passphrase"}
    problem_of(api.client.post(f"{V1}/session/password", json=wrong, headers={CSRF_HEADER: csrf}), 403)
    right = {"current": api.passwords["officer"], "new": "a much longer passphrase"}
    problem_of(api.client.post(f"{V1}/session/password", json=right), 403)  # no CSRF token
    assert (
        api.client.post(f"{V1}/session/password", json=right, headers={CSRF_HEADER: csrf}).status_code == 204
    )
    assert api.client.get(f"{V1}/parties").status_code == 200
    problem_of(login(api.client, "officer-user", api.passwords["officer"]), 401)  # the old one is gone


def test_a_change_made_with_the_session_cookie_needs_its_csrf_token(api: Api) -> None:
    csrf = logged_in(api, "officer")
    query = QUERIES[0]
    assert "CSRF" in problem_of(api.client.post(f"{V1}/decisions", json=query), 403)["detail"]
    problem_of(api.client.post(f"{V1}/decisions", json=query, headers={CSRF_HEADER: "guess"}), 403)
    assert api.client.post(f"{V1}/decisions", json=query, headers={CSRF_HEADER: csrf}).status_code == 200
    form = api.client.post(f"{V1}/decisions", data={"csrf_token": csrf})  # an HTML form: the field counts
    assert form.status_code == 422  # past the CSRF check; the body is then not the JSON asked for
    bearer = TestClient(api.client.app)
    assert bearer.post(f"{V1}/decisions", json=query, headers=api.auth("officer")).status_code == 200


def test_wrong_credentials_a_tampered_cookie_and_no_credentials_are_401(api: Api) -> None:
    same = problem_of(login(api.client, "officer-user", "wrong password!"), 401)["detail"]
    assert problem_of(login(api.client, "nobody", "wrong password!"), 401)["detail"] == same
    logged_in(api, "legal")
    cookie = api.client.cookies[SESSION_COOKIE]
    api.client.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    response = problem_of(api.client.get(f"{V1}/parties"), 401)
    assert response["detail"].startswith("Log in")
    assert api.client.get(f"{V1}/session").status_code == 401
    bare = TestClient(api.client.app)
    assert bare.get(f"{V1}/parties").headers["www-authenticate"].startswith("Bearer")
    problem_of(bare.get(f"{V1}/parties", headers={"Authorization": "Bearer gsomia_x_y"}), 401)


def test_sessions_live_in_the_database_so_every_worker_shares_them(sql_api: Api) -> None:
    other = worker(sql_api)
    csrf = logged_in(sql_api, "auditor")
    cookie = {SESSION_COOKIE: sql_api.client.cookies[SESSION_COOKIE]}
    elsewhere = TestClient(other.client.app, cookies=cookie)
    assert elsewhere.get(f"{V1}/session").json()["user"] == "auditor-user"
    assert sql_api.client.delete(f"{V1}/session", headers={CSRF_HEADER: csrf}).status_code == 204
    problem_of(elsewhere.get(f"{V1}/session"), 401)


# -- rate limits ------------------------------------------------------------------------------------------


def test_past_the_rate_limit_a_caller_gets_429_with_retry_after(node: Any) -> None:
    api = make_api(node, ApiConfig(rate_limit=5, login_limit=2, rate_window=10**8, secure_cookies=False))
    codes = [api.client.get(f"{V1}/parties", headers=api.auth("auditor")).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    limited = api.client.get(f"{V1}/parties", headers=api.auth("auditor"))
    assert problem_of(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    assert api.client.get(f"{V1}/parties", headers=api.auth("legal")).status_code == 200  # per principal
    attempts = [login(api.client, "legal-user", "wrong password!").status_code for _ in range(3)]
    assert attempts == [401, 401, 429]
    anonymous = [api.client.get(f"{V1}/parties").status_code for _ in range(7)]
    assert anonymous == [401] * 5 + [429] * 2


def test_rate_counts_live_in_the_database_so_workers_share_them(sql_services: Any) -> None:
    # one window for the whole test (a minute's window could turn over between two requests on a busy machine)
    limits = ApiConfig(rate_limit=4, login_limit=4, rate_window=10**8, secure_cookies=False)
    first = make_api(sql_services, limits)
    second = worker(first, limits)
    codes = [first.client.get(f"{V1}/items", headers=first.auth("officer")).status_code for _ in range(2)]
    codes += [second.client.get(f"{V1}/items", headers=first.auth("officer")).status_code for _ in range(3)]
    assert codes == [200, 200, 200, 200, 429]


# -- users --------------------------------------------------------------------------------------------------


def test_an_admin_adds_lists_resets_and_disables_users(api: Api) -> None:
    admin = api.auth("admin")
    made = api.client.post(f"{V1}/users", json={"name": "olga", "role": "officer"}, headers=admin)
    assert made.status_code == 201
    assert made.json()["user"]["must_change_password"]
    token = {"Authorization": f"Bearer {made.json()['token']}"}
    assert api.client.get(f"{V1}/session", headers=token).json()["role"] == "officer"
    problem_of(api.client.post(f"{V1}/users", json={"name": "olga", "role": "legal"}, headers=admin), 409)
    problem_of(api.client.post(f"{V1}/users", json={"name": "Olga Q", "role": "legal"}, headers=admin), 400)
    names = [u["name"] for page in walk(api, "/users", role="admin", limit=2) for u in page]
    assert names == sorted(names)
    assert "olga" in names
    assert len(names) == 5
    reset = api.client.post(f"{V1}/users/olga/reset", headers=admin).json()
    problem_of(api.client.get(f"{V1}/session", headers=token), 401)  # the old token no longer works
    token = {"Authorization": f"Bearer {reset['token']}"}
    role = api.client.put(f"{V1}/users/olga/role", json={"role": "auditor"}, headers=admin).json()
    assert role["role"] == "auditor"
    assert api.client.get(f"{V1}/session", headers=token).json()["role"] == "auditor"
    assert api.client.post(f"{V1}/users/olga/disable", headers=admin).json()["disabled"] is True
    problem_of(api.client.get(f"{V1}/session", headers=token), 401)
    problem_of(api.client.get(f"{V1}/users/nobody", headers=admin), 404)
    assert (
        "last active admin"
        in problem_of(api.client.post(f"{V1}/users/admin-user/disable", headers=admin), 409)["detail"]
    )
    problem_of(api.client.put(f"{V1}/users/admin-user/role", json={"role": "legal"}, headers=admin), 409)


def test_a_user_row_written_behind_the_nodes_back_is_refused(sql_api: Api) -> None:
    """Whoever writes the database without the node's keys cannot plant an admin: the row's seal fails."""
    store = sql_api.services.store.inner  # type: ignore[attr-defined]
    assert isinstance(store, SqlStore)
    planted = sql_api.users.add("mallory", "auditor")  # a real user, whose role is then raised by hand
    with store.engine.begin() as conn:
        conn.execute(
            schema.users.update()
            .where(schema.users.c.name == "mallory")
            .values(role="admin")  # a raised role
        )
    response = sql_api.client.get(f"{V1}/users", headers={"Authorization": f"Bearer {planted.token}"})
    assert response.status_code == 503
    assert "mallory" not in response.text
    with store.engine.begin() as conn:
        row = {"password_hash": "x", "temporary": False, "disabled": False, "created": "t", "seal": "0" * 64}
        conn.execute(insert(schema.users).values(name="eve", role="admin", **row))
        token = {"id": "e1", "user_name": "eve", "secret_hash": "x", "created": "t", "seal": "0" * 64}
        conn.execute(insert(schema.api_tokens).values(**token))
    assert (
        sql_api.client.get(f"{V1}/users", headers={"Authorization": "Bearer gsomia_e1_x"}).status_code == 503
    )


# -- the API on SQLite and PostgreSQL ---------------------------------------------------------------------


def test_the_api_serves_the_same_on_sqlite_and_postgresql(sql_api: Api) -> None:
    officer, legal, auditor = (sql_api.auth(r) for r in ("officer", "legal", "auditor"))
    assert [p["id"] for p in walk(sql_api, "/parties", limit=1) for p in p] == ["KOR", "JPN", "USA"]
    decision = sql_api.client.post(f"{V1}/decisions", json=QUERIES[0], headers=officer).json()
    assert (
        decision == sql_api.services.worldbook.full_world().decide("K-MSL-1", "JPN", "2019-11-23").to_dict()
    )
    made = sql_api.client.post(
        f"{V1}/releases", json={"item": BODY_ITEM, "to": "USA", "at": "2021-01-01"}, headers=officer
    )
    assert made.status_code == 201
    assert made.json()["allowed"]
    notice = {"kind": "notice", "date": "2019-09-01", "by": "JPN"}
    problem_of(sql_api.client.post(f"{V1}/agreements/KOR-JPN-GSOMIA/events", json=notice, headers=legal), 409)
    ask = {"holder": "USA", "recipient": "JPN", "item": BODY_ITEM}
    cid = sql_api.client.post(f"{V1}/consents", json=ask, headers=officer).json()["id"]
    assert (
        sql_api.client.post(f"{V1}/consents/{cid}/deny", json={"note": "no"}, headers=legal).json()["status"]
        == "denied"
    )
    assert sql_api.client.post(f"{V1}/log/verify", json={}, headers=auditor).json()["ok"]
    assert sql_api.client.get(f"{V1}/items/{BODY_ITEM}/body", headers=officer).content == BODY
    assert set(sql_api.client.get(f"{V1}/session", headers=auditor).json()["permissions"]) == {
        p.value for p in ROLE_PERMISSIONS["auditor"]
    }


def test_generous_defaults_do_not_limit_a_test_run() -> None:
    assert GENEROUS.rate_limit >= 10**6
    assert ApiConfig().rate_limit >= 600


def test_gsomia_user_add_prints_credentials_that_open_the_api_of_the_node(tmp_path: Any) -> None:
    """The CLI's user (the node's own composition: full-cost argon2id) logs in and calls the API."""
    import typer
    from typer.testing import CliRunner

    from gsomia.bootstrap import build, create_node
    from gsomia.cli import users as user_commands
    from gsomia.config import Settings
    from gsomia.web.app import create_app

    cli = typer.Typer()
    user_commands.register(cli)
    settings = create_node(tmp_path / "node", party="KOR")
    node = ["--node", str(settings.node_dir)]
    made = CliRunner().invoke(cli, ["user", "add", "olga", "--role", "legal", "--json", *node])
    assert made.exit_code == 0, made.output
    issued = json.loads(made.output)
    assert issued["role"] == "legal"
    assert issued["must_change_password"] is True
    again = CliRunner().invoke(cli, ["user", "add", "olga", "--role", "legal", *node])
    assert again.exit_code == 2
    assert "already exists" in again.output
    with build(Settings.load(settings.node_dir)) as services:
        client = TestClient(create_app(services=services, api_config=GENEROUS))
        whoami = client.get(f"{V1}/session", headers={"Authorization": f"Bearer {issued['token']}"})
        assert whoami.json()["user"] == "olga"
        session = login(client, "olga", issued["password"])
        assert session.json()["must_change_password"] is True
