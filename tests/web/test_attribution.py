"""Every write through the API or the web pages is attributed to its user in the log: an ``attribution``
record, written in the same transaction as the write it names, with its own leaf."""

from __future__ import annotations

from gsomia.services.consent import ConsentRequest

from .conftest import BODY_ITEM, Api
from .test_api import V1
from .test_pages import CONSENT, browser, token_in


def _attributions(api: Api) -> list[dict[str, object]]:
    with api.services.store.read() as uow:
        return [dict(r.data) for r in uow.item_records_page(0, 1000, kind="attribution")]


def test_a_release_and_an_event_made_through_the_api_name_their_users_in_the_log(api: Api) -> None:
    before = _attributions(api)
    made = api.client.post(
        f"{V1}/releases",
        json={"item": BODY_ITEM, "to": "JPN", "at": "2020-01-01"},
        headers=api.auth("officer"),
    )
    assert made.status_code == 201
    (release,) = [a for a in _attributions(api) if a not in before]
    assert release == {"actor": "officer-user", "records": [], "releases": [made.json()["release"]]}
    with api.services.store.read() as uow:  # the attribution is proven by its leaf like any record
        (row,) = uow.item_records([f"release:{made.json()['release']}"], kind="attribution")
    assert row.data["actor"] == "officer-user"
    assert api.services.audit.verify().ok


def test_a_write_from_the_command_line_or_python_carries_no_attribution(api: Api) -> None:
    before = len(_attributions(api))
    api.services.releases.release(BODY_ITEM, "JPN", "2020-01-01")
    assert len(_attributions(api)) == before


def test_writes_made_through_the_web_pages_name_their_users(api: Api) -> None:
    api.services.consents.request(ConsentRequest("JPN", "USA", item="K-NAV-1"), id=CONSENT)
    officer, legal = browser(api, "officer"), browser(api, "legal")
    before = _attributions(api)

    csrf = token_in(officer.get("/ui/releases").text)
    sent = {"item": BODY_ITEM, "to": "JPN", "at": "2019-11-22", "csrf_token": csrf}
    assert officer.post("/ui/releases", data=sent, follow_redirects=False).status_code == 303
    (release,) = api.services.releases.releases()
    asked = {"holder": "JPN", "recipient": "USA", "item": BODY_ITEM, "csrf_token": csrf}
    assert officer.post("/ui/consents", data=asked, follow_redirects=False).status_code == 303
    csrf = token_in(legal.get("/ui/consents").text)
    granted = legal.post(f"/ui/consents/{CONSENT}/grant", data={"csrf_token": csrf}, follow_redirects=False)
    assert granted.status_code == 303

    made = [a for a in _attributions(api) if a not in before]
    assert [(a["actor"], a["releases"]) for a in made] == [
        ("officer-user", [release.seq]),
        ("officer-user", []),
        ("legal-user", []),
    ]
    assert all(a["records"] for a in made[1:])  # the consent request and its grant
    # outside any request, a write is nobody's (the actor lives in each request's context, not globally)
    api.services.releases.release(BODY_ITEM, "JPN", "2020-01-01")
    assert len(_attributions(api)) == len(before) + len(made)
    assert api.services.audit.verify().ok
