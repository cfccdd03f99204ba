"""Days at the calendar's edges over HTTP: refused as bad input (a 4xx problem), never a 500, and the node
decides as before afterwards.

Once, an agreement in force from 0001-01-01 and terminated that day were both accepted (201), and every
decision touching it was then a 500 for good (the log cannot be undone); revoking a consent "on
0001-01-01" was a 500 too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsomia.domain.errors import ScenarioError
from gsomia.services.consent import ConsentRequest

from .conftest import BODY_ITEM, Api, TestClient
from .test_api import PROBLEM, V1, problem_of
from .test_pages import browser, token_in

QUERY = {"item": BODY_ITEM, "to": "JPN", "at": "2019-11-22"}
EDGES = ["0001-01-01", "9999-12-31"]
RANGE = "from 0001-01-02 to 9999-12-30"
JSON = {"content-type": "application/json"}


def loose(api: Api) -> TestClient:
    """A client that answers a server error with a 500 instead of raising it, as a real server does."""
    return TestClient(api.client.app, raise_server_exceptions=False)


def decisions_still_work(api: Api, client: TestClient) -> None:
    officer = api.auth("officer")
    single = client.post(f"{V1}/decisions", json=QUERY, headers=officer)
    assert single.status_code == 200, single.text
    assert single.json()["allowed"] is True
    batch = client.post(f"{V1}/decisions:batch", json={"queries": [QUERY]}, headers=officer)
    assert batch.status_code == 200, batch.text
    released = client.post(f"{V1}/releases", json=QUERY, headers=officer)
    assert released.status_code == 201, released.text


def test_an_agreement_from_0001_01_01_terminated_that_day_is_refused_and_decisions_keep_working(
    api: Api,
) -> None:
    """The reviewed reproducer: both records are refused, and the node decides as before."""
    client, legal = loose(api), api.auth("legal")
    body = {"id": "AG-OLD", "kind": "treaty", "parties": ["KOR", "JPN"], "entry_into_force": "0001-01-01"}
    added = client.post(f"{V1}/agreements", json=body, headers=legal)
    assert f"give a day {RANGE}" in problem_of(added, 422)["detail"]
    terminate = {"kind": "terminate", "date": "0001-01-01", "by": "KOR"}
    ended = client.post(f"{V1}/agreements/AG-OLD/events", json=terminate, headers=legal)
    assert 400 <= ended.status_code < 500
    assert ended.headers["content-type"] == PROBLEM
    decisions_still_work(api, client)


@pytest.mark.parametrize("day", EDGES)
def test_an_event_at_an_edge_is_a_422_naming_the_range(api: Api, day: str) -> None:
    notice = {"kind": "notice", "date": day, "by": "KOR"}
    answer = loose(api).post(f"{V1}/agreements/KOR-JPN-GSOMIA/events", json=notice, headers=api.auth("legal"))
    assert f"{day} is at the edge of the calendar; give a day {RANGE}" in problem_of(answer, 422)["detail"]


def _granted(api: Api) -> str:
    api.services.consents.request(ConsentRequest("JPN", "USA", item="K-NAV-1"), id="C-EDGE")
    api.services.consents.grant("C-EDGE")
    return "C-EDGE"


@pytest.mark.parametrize("day", EDGES)
def test_revoking_a_consent_on_a_day_at_an_edge_is_a_4xx_and_the_consent_stands(api: Api, day: str) -> None:
    """Refused, the consent stands; revoked on the first day gsomia takes, it covers nothing, and the node
    still decides (its world would not build if the consent were left running until 0001-01-01)."""
    client, cid, legal = loose(api), _granted(api), api.auth("legal")
    answer = client.post(f"{V1}/consents/{cid}/revoke", json={"on": day}, headers=legal)
    assert f"give a day {RANGE}" in problem_of(answer, 422)["detail"]
    assert api.services.consents.get(cid).status == "granted"
    decisions_still_work(api, client)
    first = client.post(f"{V1}/consents/{cid}/revoke", json={"on": "0001-01-02"}, headers=legal)
    assert first.status_code == 200, first.text
    assert first.json()["revoked_on"] == "0001-01-02"
    decisions_still_work(api, client)
    onward = {"item": "K-NAV-1", "to": "USA", "at": "2019-11-22", "holder": "JPN"}
    decided = client.post(f"{V1}/decisions", json=onward, headers=api.auth("officer"))
    assert decided.status_code == 200, decided.text
    assert decided.json()["allowed"] is False


def test_revoking_a_consent_on_0001_01_01_through_the_pages_is_a_400_page(api: Api) -> None:
    cid, page = _granted(api), browser(api, "legal")
    token = token_in(page.get("/ui/consents").text)
    client = TestClient(api.client.app, raise_server_exceptions=False, cookies=page.cookies)
    form = {"csrf_token": token, "valid_from": "0001-01-01"}
    answer = client.post(f"/ui/consents/{cid}/revoke", data=form, follow_redirects=False)
    assert answer.status_code == 400, answer.text[:300]
    assert "edge of the calendar" in answer.text
    assert api.services.consents.get(cid).status == "granted"


@pytest.mark.parametrize("day", EDGES)
def test_a_decision_on_a_day_at_an_edge_is_a_4xx_whichever_way_it_is_checked(api: Api, day: str) -> None:
    """One query by its model; a batch by the quick check (which leaves a day it does not take to the
    model), and by the model (a UTF-16 body). The quick path once answered it from a decision on a day next
    to it."""
    client, officer = loose(api), api.auth("officer")
    single = client.post(f"{V1}/decisions", json={**QUERY, "at": day}, headers=officer)
    assert f"give a day {RANGE}" in problem_of(single, 422)["detail"]
    inside = "0001-01-02" if day.startswith("0001") else "9999-12-30"
    near = client.post(f"{V1}/decisions:batch", json={"queries": [{**QUERY, "at": inside}]}, headers=officer)
    assert near.status_code == 200, near.text
    body = json.dumps({"queries": [{**QUERY, "at": day}]})
    quick = client.post(f"{V1}/decisions:batch", content=body.encode(), headers={**officer, **JSON})
    assert f"give a day {RANGE}" in problem_of(quick, 422)["detail"]
    model = client.post(f"{V1}/decisions:batch", content=body.encode("utf-16"), headers={**officer, **JSON})
    assert f"give a day {RANGE}" in problem_of(model, 422)["detail"]
    decisions_still_work(api, client)


# -- an item consent names the item's own originator, or none ----------------------------------------------


def test_a_consent_request_naming_another_originator_of_the_item_is_refused(api: Api) -> None:
    """K-NAV-1 is Korea's: a consent on it naming Japan as originator would let Japan decide on it. One
    naming Korea is taken."""
    ask = {"holder": "JPN", "recipient": "USA", "item": "K-NAV-1", "originator": "JPN", "id": "C-WRONG"}
    answer = loose(api).post(f"{V1}/consents", json=ask, headers=api.auth("officer"))
    detail = problem_of(answer, 400)["detail"]
    assert "consent 'C-WRONG'" in detail
    assert "the consent on item 'K-NAV-1' names 'JPN' as originator, but KOR originated the item" in detail
    assert [c.id for c in api.services.consents.consents()] == ["C1", "C2"]
    right = loose(api).post(f"{V1}/consents", json={**ask, "originator": "KOR"}, headers=api.auth("officer"))
    assert right.status_code == 201, right.text
    assert right.json()["originator"] == "KOR"


def test_a_world_file_with_an_item_consent_naming_another_originator_is_not_imported(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "gsomia: 1\n"
        "parties:\n"
        "  - {id: XA, levels: [{id: XA-1, marking: a}]}\n"
        "  - {id: XB, levels: [{id: XB-1, marking: b}]}\n"
        "agreements: []\n"
        "items:\n"
        "  - {id: X-NEW-1, originator: XA, level: XA-1}\n"
        "consents:\n"
        "  - {holder: XB, recipient: XA, item: X-NEW-1, originator: XB}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match="names 'XB' as originator, but XA originated the item") as caught:
        api.services.import_world(path)
    assert caught.value.line == 9
    assert "XA" not in api.services.worldbook.world().parties


@pytest.mark.parametrize("day", EDGES)
def test_a_page_asked_for_a_day_at_an_edge_says_so_and_shows_its_default(api: Api, day: str) -> None:
    """As for a day that is not one: a 400 page saying why, shown for today; never a JSON problem."""
    page = browser(api, "officer").get(f"/ui/items?day={day}")
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert f"{day} is at the edge of the calendar; give a day {RANGE}." in page.text
    assert "Parties and their markings" in page.text
