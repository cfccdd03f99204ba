"""Every API operation, called by every role (by token and by session) and with no credentials.

The table below is the issue's role table written out per operation; it is checked against the
OpenAPI document, so an operation added without a row here fails the suite. A role outside an
operation's row gets 403 and nothing else; a role inside it is never refused for who it is (whatever
the outcome of the call itself), and nothing ever answers 5xx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gsomia.bootstrap import compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.services.users import ROLES
from gsomia.store.memory import MemoryStore
from gsomia.web.auth import CSRF_HEADER

from .conftest import BODY, BODY_ITEM, Api, TestClient, fill, make_api

V1 = "/api/v1"
EVERYONE = frozenset(ROLES)
READERS = frozenset({"officer", "legal", "auditor"})
OFFICER, LEGAL, AUDITOR, ADMIN = (frozenset({r}) for r in ("officer", "legal", "auditor", "admin"))
PUBLIC = frozenset({"*"})  # no credentials needed (logging in)

# (method, path) -> the roles that may call it
TABLE: dict[tuple[str, str], frozenset[str]] = {
    ("get", "/parties"): READERS,
    ("get", "/parties/{party}"): READERS,
    ("post", "/parties"): LEGAL,
    ("get", "/agreements"): READERS,
    ("get", "/agreements/{agreement}"): READERS,
    ("post", "/agreements"): LEGAL,
    ("get", "/agreements/{agreement}/state"): READERS,
    ("get", "/agreements/{agreement}/timeline"): READERS,
    ("get", "/agreements/{agreement}/events"): READERS,
    ("post", "/agreements/{agreement}/events"): LEGAL,
    ("get", "/events"): READERS,
    ("get", "/items"): READERS,
    ("get", "/items/{item}"): READERS,
    ("get", "/items/{item}/body"): OFFICER,
    ("post", "/decisions"): OFFICER,
    ("post", "/decisions:batch"): OFFICER,
    ("post", "/impact"): OFFICER | LEGAL,
    ("post", "/releases"): OFFICER,
    ("get", "/releases"): OFFICER | AUDITOR,
    ("get", "/releases/{seq}"): OFFICER | AUDITOR,
    ("get", "/consents"): READERS,
    ("get", "/consents/{consent}"): READERS,
    ("post", "/consents"): OFFICER,
    ("post", "/consents/{consent}/grant"): LEGAL,
    ("post", "/consents/{consent}/deny"): LEGAL,
    ("post", "/consents/{consent}/revoke"): LEGAL,
    ("get", "/log/head"): AUDITOR,
    ("get", "/log/inclusion"): AUDITOR,
    ("get", "/log/consistency"): AUDITOR,
    ("post", "/log/verify"): AUDITOR,
    ("get", "/log/verified"): AUDITOR,
    ("post", "/session"): PUBLIC,
    ("get", "/session"): EVERYONE,
    ("delete", "/session"): EVERYONE,
    ("post", "/session/password"): EVERYONE,
    ("get", "/users"): ADMIN,
    ("get", "/users/{name}"): ADMIN,
    ("post", "/users"): ADMIN,
    ("post", "/users/{name}/reset"): ADMIN,
    ("put", "/users/{name}/role"): ADMIN,
    ("post", "/users/{name}/disable"): ADMIN,
}

PATH_VALUES = {
    "party": "KOR",
    "agreement": "KOR-JPN-GSOMIA",
    "item": BODY_ITEM,
    "seq": "1",
    "consent": "C1",
    "name": "target-user",
}
QUERY = {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23"}
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/parties"): {"id": "GBR", "levels": [{"id": "UK-S", "marking": "SECRET"}]},
    ("post", "/agreements"): {
        "id": "KOR-JPN-2",
        "kind": "treaty",
        "parties": ["KOR", "JPN"],
        "entry_into_force": "2024-01-01",
        "scope": "any",
        "equivalence": [{"KOR": "KR-III", "JPN": "JP-HI"}],
    },
    ("post", "/agreements/{agreement}/events"): {"kind": "notice", "date": "2024-01-10", "by": "JPN"},
    ("post", "/decisions"): QUERY,
    ("post", "/decisions:batch"): {"queries": [QUERY, QUERY]},
    ("post", "/impact"): {"change": {"kind": "terminate", "agreement": "KOR-JPN-GSOMIA", "on": "2019-11-23"}},
    ("post", "/releases"): {"item": BODY_ITEM, "to": "JPN", "at": "2020-01-01"},
    ("post", "/consents"): {"holder": "JPN", "recipient": "USA", "item": "K-NAV-1"},
    ("post", "/consents/{consent}/grant"): {},
    ("post", "/consents/{consent}/deny"): {"note": "no"},
    ("post", "/consents/{consent}/revoke"): {"on": "2019-06-01"},
    ("post", "/log/verify"): {},
    ("post", "/session"): {"name": "nobody-here", "password": "not a password"},
    ("post", "/session/password"): {"current": "not the password", "new": "another long password"},
    ("post", "/users"): {"name": "newcomer", "role": "auditor"},
    ("put", "/users/{name}/role"): {"role": "auditor"},
}
PARAMS = {("get", "/log/inclusion"): {"leaf": 0}, ("get", "/log/consistency"): {"old": 1, "new": 2}}


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    url = V1 + path.format(**PATH_VALUES)
    body = BODIES.get((method, path))
    params = PARAMS.get((method, path))
    return client.request(method, url, json=body, params=params, headers=headers)


def refused_for_role(response: httpx.Response) -> bool:
    return response.status_code == 403 and "may not do this" in response.json()["detail"]


def needs_login(response: httpx.Response) -> bool:
    return (
        response.status_code == 401
        and response.json()["detail"].startswith("Log in")
        and response.headers["www-authenticate"].startswith("Bearer")
    )


@pytest.fixture
def fresh(tmp_path: Path) -> Api:
    """A node of its own for each walk (the walk writes), with a user the admin walk may change."""
    services = compose(MemoryStore(), NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path)}))
    api = make_api(fill(services))
    api.users.add("target-user", "officer")
    return api


def test_the_table_covers_every_operation_the_api_documents(fresh: Api) -> None:
    doc = fresh.client.get(f"{V1}/openapi.json").json()
    documented = {(method, path.removeprefix(V1)) for path, item in doc["paths"].items() for method in item}
    assert documented == set(TABLE)


@pytest.mark.parametrize("role", [*ROLES, None])
def test_every_operation_by_every_role_by_token(fresh: Api, role: str | None) -> None:
    """Token callers: in the row, never refused for their role; outside it, 403; no credentials, 401."""
    for (method, path), allowed in TABLE.items():
        response = call(fresh.client, method, path, fresh.auth(role))
        where = f"{role} {method.upper()} {path}: {response.status_code} {response.text[:200]}"
        assert response.status_code < 500, where
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json", where
        if allowed == PUBLIC:
            assert not needs_login(response), where
            assert not refused_for_role(response), where
        elif role is None:
            assert needs_login(response), where
        elif role in allowed:
            assert not needs_login(response), where
            assert not refused_for_role(response), where
        else:
            assert refused_for_role(response), where
            assert BODY.decode() not in response.text


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_by_every_role_by_session(fresh: Api, role: str) -> None:
    """Browser sessions obey the same table (their changes carrying the CSRF token)."""
    client = TestClient(fresh.client.app)
    first = client.post(f"{V1}/session", json={"name": f"{role}-user", "password": fresh.passwords[role]})
    csrf = {CSRF_HEADER: first.json()["csrf_token"]}
    change = {"current": fresh.passwords[role], "new": "a much longer passphrase"}
    assert client.post(f"{V1}/session/password", json=change, headers=csrf).status_code == 204
    for (method, path), allowed in TABLE.items():
        if (method, path) in (("delete", "/session"), ("post", "/session")):
            continue  # logging out or in again would end the walk's session
        response = call(client, method, path, csrf)
        where = f"{role} session {method.upper()} {path}: {response.status_code} {response.text[:200]}"
        assert response.status_code < 500, where
        assert not needs_login(response), where
        assert refused_for_role(response) == (role not in allowed), where


@pytest.mark.parametrize("role", ROLES)
def test_a_session_on_a_one_time_password_may_only_change_it(fresh: Api, role: str) -> None:
    client = TestClient(fresh.client.app)
    first = client.post(f"{V1}/session", json={"name": f"{role}-user", "password": fresh.passwords[role]})
    csrf = {CSRF_HEADER: first.json()["csrf_token"]}
    for (method, path), allowed in TABLE.items():
        if allowed in (PUBLIC, EVERYONE):
            continue
        response = call(client, method, path, csrf)
        assert response.status_code == 403, (method, path, response.text)
        assert "one-time password" in response.json()["detail"]
