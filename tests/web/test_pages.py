"""The web UI's pages without a browser: who may open what, logging in, CSRF, and hostile parameters."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from gsomia.services.consent import ConsentRequest
from gsomia.services.users import ROLE_PERMISSIONS, ROLES, Permission, Role
from gsomia.web.auth import SESSION_COOKIE
from gsomia.web.pages.core import NAV
from gsomia.web.pages.login import LOGIN_CSRF_COOKIE

from .conftest import Api

NEW = "a much longer passphrase"
CONSENT = "C-PAGES-1"
PAGES: list[tuple[str, Permission | None]] = [(path, need) for path, _label, need in NAV] + [
    ("/ui/network.svg", Permission.WORLD_READ)
]
HOSTILE = [
    "",
    "x" * 5000,
    "\x00",
    "2019-02-30",
    "0000-01-01",
    "9999-12-31",
    "-1",
    "99999999999999999999999",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "２０１９-１１-２３",
    "🙂",
    "2019-11-23T00:00",
    "' OR 1=1 --",
    "%00%ff",
]
PARAMS = [
    "day",
    "world",
    "agreement",
    "item",
    "to",
    "at",
    "holder",
    "change",
    "on",
    "scope",
    "after",
    "leaf",
    "next",
]
Clients = dict[Role, TestClient]


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def log_in(client: TestClient, name: str, password: str, next_page: str = "") -> httpx.Response:
    """Fill and send the login form as a browser does (its pre-login CSRF cookie and field)."""
    form = client.get("/ui/login")
    assert form.status_code == 200
    data = {"name": name, "password": password, "csrf_token": token_in(form.text), "next": next_page}
    answer: httpx.Response = client.post("/ui/login", data=data, follow_redirects=False)
    return answer


def browser(api: Api, role: Role) -> TestClient:
    """A client logged in as the user of ``role`` through the pages, its one-time password changed."""
    client = TestClient(api.client.app)
    first = log_in(client, f"{role}-user", api.passwords[role])
    assert first.status_code == 303
    assert first.headers["location"] == "/ui/password"
    csrf = token_in(client.get("/ui/password").text)
    change = {"current": api.passwords[role], "new": NEW, "repeat": NEW, "csrf_token": csrf}
    done = client.post("/ui/password", data=change, follow_redirects=False)
    assert done.status_code == 303, done.text
    return client


@pytest.fixture
def clients(api: Api) -> Clients:
    api.services.consents.request(ConsentRequest("JPN", "USA", item="K-NAV-1"), id=CONSENT)
    return {role: browser(api, role) for role in ROLES}


# -- who may open what ------------------------------------------------------------------------------------


def test_every_page_opens_for_its_roles_and_is_403_for_the_others(
    clients: Clients,
) -> None:
    for role, client in clients.items():
        for path, need in PAGES:
            response = client.get(path)
            allowed = need is None or need in ROLE_PERMISSIONS[role]
            assert response.status_code == (200 if allowed else 403), (role, path, response.text[:300])
            if path.endswith(".svg") and allowed:
                assert response.headers["content-type"].startswith("image/svg+xml")
            elif allowed:
                assert response.headers["content-type"].startswith("text/html")
                assert "default-src 'none'" in response.headers["content-security-policy"]
                assert not re.search(r'(src|href)="(https?:)?//', response.text), (role, path)
                nav = response.text.split('<nav aria-label="Pages">')[1].split("</nav>")[0]
                menu = re.findall(r'<li><a href="(/ui[^"]*)"', nav)
                assert menu == [p for p, _label, n in NAV if n is None or n in ROLE_PERMISSIONS[role]]


def test_without_a_session_every_page_sends_the_browser_to_the_login_page(api: Api) -> None:
    for path, _need in PAGES:
        response = api.client.get(path, params={"day": "2019-11-23"}, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/ui/login?next=%2Fui")


def test_a_one_time_password_sends_every_page_to_the_password_page(api: Api) -> None:
    client = TestClient(api.client.app)
    log_in(client, "officer-user", api.passwords["officer"])
    for path, _need in PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/ui/password"


def test_after_logging_in_the_browser_goes_where_it_was_going_and_never_off_the_site(api: Api) -> None:
    browser(api, "auditor")
    client = TestClient(api.client.app)
    went = log_in(client, "auditor-user", NEW, "/ui/log?leaf=2")
    assert went.headers["location"] == "/ui/log?leaf=2"
    for elsewhere in ("//evil.example/ui", "https://evil.example/", "/ui//evil.example", "/api/v1/users"):
        assert log_in(client, "auditor-user", NEW, elsewhere).headers["location"] == "/ui"


# -- logging in -------------------------------------------------------------------------------------------


def test_the_login_form_needs_its_own_pre_login_token(api: Api) -> None:
    client = TestClient(api.client.app)
    data = {"name": "officer-user", "password": api.passwords["officer"]}
    refused = client.post("/ui/login", data={**data, "csrf_token": "guess"}, follow_redirects=False)
    assert refused.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    stranger = TestClient(api.client.app)
    token = token_in(stranger.get("/ui/login").text)  # a token from another browser's form
    client.get("/ui/login")
    crossed = client.post("/ui/login", data={**data, "csrf_token": token}, follow_redirects=False)
    assert crossed.status_code == 403
    client.cookies.set(LOGIN_CSRF_COOKIE, "forged.value.here", path="/ui/login")
    assert client.post("/ui/login", data={**data, "csrf_token": "forged"}).status_code == 403
    assert SESSION_COOKIE not in client.cookies
    client.cookies.clear()
    assert log_in(client, "officer-user", api.passwords["officer"]).status_code == 303


def test_a_wrong_password_is_the_login_page_again_with_the_same_words_for_an_unknown_name(api: Api) -> None:
    client = TestClient(api.client.app)
    wrong = log_in(client, "officer-user", "not the password")
    unknown = log_in(client, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.text
    assert SESSION_COOKIE not in client.cookies


def test_a_new_password_must_be_typed_twice_alike_and_be_long_enough(api: Api) -> None:
    client = TestClient(api.client.app)
    log_in(client, "legal-user", api.passwords["legal"])
    csrf = token_in(client.get("/ui/password").text)
    base = {"current": api.passwords["legal"], "csrf_token": csrf}
    assert client.post("/ui/password", data={**base, "new": NEW, "repeat": NEW + "!"}).status_code == 400
    assert client.post("/ui/password", data={**base, "new": "short", "repeat": "short"}).status_code == 400
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/password"


def test_logging_out_ends_the_session(clients: Clients) -> None:
    client = clients["auditor"]
    csrf = token_in(client.get("/ui").text)
    assert client.post("/ui/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert client.get("/ui", follow_redirects=False).status_code == 303


# -- forms refuse a missing CSRF token ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "path", "data"),
    [
        ("auditor", "/ui/logout", {}),
        ("officer", "/ui/password", {"current": "x", "new": NEW, "repeat": NEW}),
        ("officer", "/ui/releases", {"item": "K-BODY-1", "to": "JPN", "at": "2019-11-22"}),
        ("officer", "/ui/consents", {"item": "K-NAV-1", "holder": "JPN", "recipient": "USA"}),
        ("legal", f"/ui/consents/{CONSENT}/grant", {}),
        ("legal", f"/ui/consents/{CONSENT}/deny", {}),
        ("auditor", "/ui/log/verify", {}),
    ],
)
def test_forms_refuse_a_missing_or_wrong_csrf_token_and_change_nothing(
    api: Api, clients: Clients, role: Role, path: str, data: dict[str, str]
) -> None:
    client = clients[role]
    leaves = api.services.audit.head().size
    for token in (None, "", "not-the-token"):
        sent = data if token is None else {**data, "csrf_token": token}
        response = client.post(path, data=sent, follow_redirects=False)
        assert response.status_code == 403, (path, response.text[:300])
        assert "CSRF" in response.text
    assert api.services.audit.head().size == leaves
    assert api.services.consents.get(CONSENT).status == "requested"
    assert client.get("/ui", follow_redirects=False).status_code == 200  # still logged in


def test_a_consent_granted_through_the_form_is_granted_and_a_second_grant_is_refused(
    api: Api, clients: Clients
) -> None:
    legal = clients["legal"]
    page = legal.get("/ui/consents")
    assert f'data-consent="{CONSENT}"' in page.text
    form = {"csrf_token": token_in(page.text), "valid_until": "2020-12-31"}
    done = legal.post(f"/ui/consents/{CONSENT}/grant", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert "granted" in legal.get(done.headers["location"]).text
    view = api.services.consents.get(CONSENT)
    assert (view.status, view.terms["until"]) == ("granted", "2020-12-31")
    again = legal.post(f"/ui/consents/{CONSENT}/grant", data=form)
    assert again.status_code == 409
    assert legal.post("/ui/consents/NO-SUCH/grant", data=form).status_code == 404
    assert clients["officer"].post(f"/ui/consents/{CONSENT}/revoke", data=form).status_code == 403


def test_a_release_made_through_the_form_is_recorded_with_its_decision(api: Api, clients: Clients) -> None:
    officer = clients["officer"]
    csrf = token_in(officer.get("/ui/releases").text)
    sent = {"item": "K-BODY-1", "to": "JPN", "at": "2019-11-22", "csrf_token": csrf}
    done = officer.post("/ui/releases", data=sent, follow_redirects=False)
    assert done.status_code == 303
    [row] = api.services.releases.releases()
    assert (row.item, row.recipient, row.allowed) == ("K-BODY-1", "JPN", True)
    assert f'data-release="{row.seq}"' in officer.get(done.headers["location"]).text
    bad = officer.post("/ui/releases", data={**sent, "item": "NO-SUCH"})
    assert bad.status_code == 400
    assert "NO-SUCH" in bad.text


def test_verify_now_answers_json_to_the_script_and_a_page_without_it(api: Api, clients: Clients) -> None:
    auditor = clients["auditor"]
    csrf = token_in(auditor.get("/ui/log").text)
    report = auditor.post("/ui/log/verify", data={"csrf_token": csrf}, headers={"Accept": "application/json"})
    assert report.json()["ok"] is True
    assert report.json()["leaves"] == api.services.audit.head().size
    html = auditor.post("/ui/log/verify", data={"csrf_token": csrf})
    assert 'data-ok="true"' in html.text
    assert "by auditor-user" in auditor.get("/ui").text


# -- what the pages show ------------------------------------------------------------------------------------


def test_the_counterfactual_network_shows_korea_japan_terminated(
    clients: Clients,
) -> None:
    client = clients["auditor"]

    def state(world: str, day: str) -> str:
        svg = client.get("/ui/network.svg", params={"world": world, "day": day}).text
        found = re.search(r'data-agreement="KOR-JPN-GSOMIA" data-state="([a-z-]+)"', svg)
        assert found is not None
        return found.group(1)

    assert state("counterfactual", "2019-11-22") == "notice-pending"
    assert state("counterfactual", "2019-11-23") == "terminated"
    assert state("actual", "2019-11-23") == "notice-suspended"
    page = client.get("/ui/network", params={"world": "counterfactual", "day": "2019-11-23"}).text
    assert 'id="day-slider"' in page
    assert 'data-state="terminated"' in page


def test_the_decision_page_shows_the_route_every_reason_and_routes_tried(
    clients: Clients,
) -> None:
    query = {"item": "K-MSL-1", "to": "JPN", "at": "2019-11-23", "world": "counterfactual"}
    html = clients["officer"].get("/ui/decide", params=query).text
    assert "KOR → USA → JPN" in html
    assert len(re.findall(r'<tr data-rule="', html)) == 8
    assert "agreement-in-force" in html.split('id="alternatives"')[1]
    assert "極秘" in html


def test_the_what_if_page_draws_the_impact_chart(clients: Clients) -> None:
    query = {"change": "terminate", "agreement": "KOR-JPN-GSOMIA", "on": "2019-11-23"}
    html = clients["legal"].get("/ui/whatif", params=query).text
    assert 'data-kind="rerouted"' in html
    rerouted = re.search(r'data-kind="rerouted" data-count="(\d+)"', html)
    assert rerouted is not None
    assert int(rerouted.group(1)) > 0
    amend = clients["legal"].get("/ui/whatif", params={**query, "change": "amend", "scope": ""})
    assert amend.status_code == 400


def test_items_show_markings_in_each_partys_own_script(clients: Clients) -> None:
    html = clients["officer"].get("/ui/items", params={"day": "2019-11-22"}).text
    assert "군사II급비밀" in html
    assert "極秘" in html
    assert "SECRET" in html


# -- hostile input ------------------------------------------------------------------------------------------


def test_hostile_query_parameters_never_give_a_5xx_nor_reflect_markup(clients: Clients) -> None:
    paths = [p for p, _need in PAGES] + ["/ui/login", "/ui/static/gsomia.css"]
    client = clients["auditor"]
    officer = clients["officer"]
    for path in paths:
        for name in PARAMS:
            for value in HOSTILE:
                for who in (client, officer):
                    response = who.get(path, params={name: value}, follow_redirects=False)
                    assert response.status_code < 500, (path, name, value)
                    assert "<script>alert" not in response.text, (path, name)


def test_hostile_form_fields_and_paths_never_give_a_5xx(clients: Clients) -> None:
    legal, officer = clients["legal"], clients["officer"]
    csrf_legal = token_in(legal.get("/ui/consents").text)
    csrf_officer = token_in(officer.get("/ui/releases").text)
    for value in HOSTILE:
        for step in ("grant", "deny", "revoke", "nothing"):
            sent = {"csrf_token": csrf_legal, "valid_from": value, "valid_until": value, "note": value}
            response = legal.post(f"/ui/consents/{quote(value, safe='') or 'x'}/{step}", data=sent)
            assert response.status_code < 500, (value, step)
        sent = {"csrf_token": csrf_officer, "item": value, "to": value, "at": value, "holder": value}
        assert officer.post("/ui/releases", data=sent).status_code < 500, value
        sent = {
            "csrf_token": csrf_officer,
            "item": value,
            "holder": value,
            "recipient": value,
            "valid_from": value,
        }
        assert officer.post("/ui/consents", data=sent).status_code < 500, value
    assert officer.get("/ui/static/../../pyproject.toml").status_code == 404
    assert officer.get("/ui/static/nothing.js").status_code == 404
