"""A user's sessions and password over HTTP: changing the password (through the API or the password page)
ends the user's other sessions, keeps the one that changed it, counts against the login limit, and never
undoes an admin's change landing meanwhile."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gsomia.bootstrap import Services
from gsomia.crypto.secrets import ROW_SEAL_LABEL, Argon2Secrets, derived_key
from gsomia.services.users import Users
from gsomia.store.users import user_store_for
from gsomia.web.auth import CSRF_HEADER, ApiConfig
from tests.unit.services.test_users import meanwhile

from .conftest import Api, make_api, utc
from .test_pages import NEW, browser, log_in, token_in

V1 = "/api/v1"
# three password checks per user name (one window for the whole test: a minute's could turn over mid-test)
STRICT = ApiConfig(rate_limit=10**6, login_limit=3, rate_window=10**8, secure_cookies=False)


def api_session(api: Api, password: str) -> tuple[TestClient, str]:
    """A client logged in as the officer through ``POST /session``, and its CSRF token."""
    client = TestClient(api.client.app)
    answer = client.post(f"{V1}/session", json={"name": "officer-user", "password": password})
    assert answer.status_code == 200, answer.text
    return client, str(answer.json()["csrf_token"])


def test_a_password_changed_through_the_api_ends_the_users_other_sessions(api: Api) -> None:
    other, _ = api_session(api, api.passwords["officer"])
    mine, csrf = api_session(api, api.passwords["officer"])
    change = {"current": api.passwords["officer"], "new": NEW}
    assert mine.post(f"{V1}/session/password", json=change, headers={CSRF_HEADER: csrf}).status_code == 204
    assert other.get(f"{V1}/session").status_code == 401
    assert mine.get(f"{V1}/parties").status_code == 200  # the session that changed it stays
    assert api.client.get(f"{V1}/parties", headers=api.auth("officer")).status_code == 200  # and the token


def test_a_password_changed_on_the_password_page_ends_the_users_other_sessions(api: Api) -> None:
    mine = browser(api, "officer")
    other = TestClient(api.client.app)
    assert log_in(other, "officer-user", NEW).status_code == 303
    assert other.get("/ui", follow_redirects=False).status_code == 200
    newer = NEW + " again"
    change = {"current": NEW, "new": newer, "repeat": newer, "csrf_token": token_in(mine.get("/ui").text)}
    assert mine.post("/ui/password", data=change, follow_redirects=False).status_code == 303
    assert other.get("/ui", follow_redirects=False).headers["location"].startswith("/ui/login")
    assert mine.get("/ui", follow_redirects=False).status_code == 200


def test_guessing_the_current_password_through_the_api_counts_against_the_login_limit(node: Services) -> None:
    api = make_api(node, STRICT)
    officer = api.auth("officer")
    guess = {"current": "not the password", "new": NEW}
    codes = [api.client.post(f"{V1}/session/password", json=guess, headers=officer) for _ in range(4)]
    assert [c.status_code for c in codes] == [403, 403, 403, 429]
    assert int(codes[-1].headers["retry-after"]) > 0
    right = {"current": api.passwords["officer"], "new": NEW}
    assert api.client.post(f"{V1}/session/password", json=right, headers=officer).status_code == 429
    logging_in = {"name": "officer-user", "password": api.passwords["officer"]}
    assert api.client.post(f"{V1}/session", json=logging_in).status_code == 429  # one count for both
    assert api.client.get(f"{V1}/parties", headers=officer).status_code == 200  # nothing else is limited
    assert api.users.login("officer-user", api.passwords["officer"]) is not None  # nothing was changed


def test_guessing_the_current_password_on_the_password_page_counts_against_the_login_limit(
    node: Services,
) -> None:
    api = make_api(node, STRICT)
    client = TestClient(api.client.app)
    assert log_in(client, "officer-user", api.passwords["officer"]).status_code == 303  # one check
    csrf = token_in(client.get("/ui/password").text)
    guess = {"current": "not the password", "new": NEW, "repeat": NEW, "csrf_token": csrf}
    codes = [client.post("/ui/password", data=guess, follow_redirects=False) for _ in range(3)]
    assert [c.status_code for c in codes] == [400, 400, 429]
    assert "Too many" in codes[-1].text
    assert codes[-1].headers["content-type"].startswith("text/html")
    right = {**guess, "current": api.passwords["officer"]}
    assert client.post("/ui/password", data=right, follow_redirects=False).status_code == 429
    assert api.users.login("officer-user", api.passwords["officer"]) is not None  # nothing was changed


def test_a_disable_landing_during_a_password_change_through_the_api_stands_and_the_change_is_409(
    node: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = Argon2Secrets.for_tests(derived_key(node.keys, ROW_SEAL_LABEL))
    api = make_api(node, users=Users(user_store_for(node.store), secrets, utc))
    officer = api.auth("officer")
    meanwhile(monkeypatch, secrets, lambda: api.users.disable("officer-user"))
    change = {"current": api.passwords["officer"], "new": NEW}
    refused = api.client.post(f"{V1}/session/password", json=change, headers=officer)
    assert refused.status_code == 409
    assert "disabled or had its password reset" in refused.json()["detail"]
    assert api.users.get("officer-user").disabled
    assert api.client.get(f"{V1}/session", headers=officer).status_code == 401
