"""The consent workflow: request, grant, deny, revoke, expiry; history kept, never deleted."""

from __future__ import annotations

from datetime import date

import pytest

from gsomia.domain.errors import QueryError, WorldError
from gsomia.services.consent import ConsentRequest, standing
from gsomia.services.errors import ConsentStateError, UnknownConsentError

from .conftest import snapshot

ASK = ConsentRequest("JPN", "USA", item="K-BODY-1", valid_from="2019-01-01", valid_until="2019-12-31")


def onward(node, at: str) -> bool:
    """Whether JPN, holding K-BODY-1, may pass it to USA on ``at`` (recorded as a release)."""
    return node.releases.release("K-BODY-1", "USA", at, holder="JPN").decision.allowed


def test_a_requested_consent_does_not_yet_allow_an_onward_release(node):
    """Until the originator grants it, a request covers nothing."""
    view = node.consents.request(ASK)
    assert view.status == "requested"
    assert view.world_entry() is None
    assert not onward(node, "2019-06-01")


def test_a_granted_consent_allows_onward_releases_within_its_days(node):
    """Granted for 2019, the release is allowed in 2019 and refused in 2020 (expiry by until)."""
    view = node.consents.request(ASK)
    granted = node.consents.grant(view.id, by="KOR")
    assert granted.status == "granted"
    assert granted.history[-1].data["by"] == "KOR"
    assert onward(node, "2019-06-01")
    assert not onward(node, "2020-06-01")
    assert standing(granted, date(2020, 6, 1)) == "expired"
    assert standing(granted, date(2018, 6, 1)) == "not-yet-valid"


def test_grant_may_narrow_the_days_asked_for(node):
    """The originator grants from/until of its own choosing."""
    view = node.consents.request(ASK)
    granted = node.consents.grant(view.id, valid_from="2019-03-01", valid_until="2019-03-31")
    assert granted.world_entry() == {
        "holder": "JPN",
        "recipient": "USA",
        "item": "K-BODY-1",
        "from": "2019-03-01",
        "until": "2019-03-31",
    }
    assert onward(node, "2019-03-15")
    assert not onward(node, "2019-04-01")


def test_revoking_stops_releases_for_later_days_but_keeps_earlier_ones_and_the_history(node):
    """Revoked on 2019-07-01: refused from that day on, allowed before it, and every record kept."""
    view = node.consents.grant(node.consents.request(ASK).id)
    revoked = node.consents.revoke(view.id, "2019-07-01", by="KOR", note="policy change")
    assert revoked.status == "revoked"
    assert revoked.revoked_on == "2019-07-01"
    assert [r.kind for r in revoked.history] == ["consent", "consent-status", "consent-status"]
    assert not onward(node, "2019-07-01")
    assert onward(node, "2019-06-30")
    assert node.consents.get(view.id).history == revoked.history
    with node.store.read() as uow:
        assert [r.key for r in uow.records() if r.kind.startswith("consent")].count(view.id) == 3


def test_a_consent_revoked_before_it_starts_covers_no_day(node):
    """Revoking on or before from leaves nothing of it in the world."""
    view = node.consents.grant(node.consents.request(ASK).id)
    revoked = node.consents.revoke(view.id, "2019-01-01")
    assert revoked.world_entry() is None
    assert not onward(node, "2019-01-01")


def test_a_denied_request_stays_on_record_and_allows_nothing(node):
    """deny records the refusal; the request is kept; nothing is allowed."""
    view = node.consents.request(ASK)
    denied = node.consents.deny(view.id, note="not now")
    assert denied.status == "denied"
    assert denied.history[-1].data["note"] == "not now"
    assert not onward(node, "2019-06-01")


@pytest.mark.parametrize(
    ("steps", "step", "message"),
    [
        ([], "revoke", "only a granted consent can be revoked"),
        (["deny"], "grant", "only a requested consent can be granted"),
        (["grant"], "deny", "only a requested consent can be denied"),
        (["grant", "revoke"], "grant", "is revoked"),
        (["grant", "revoke"], "revoke", "is revoked"),
    ],
)
def test_steps_out_of_order_are_refused_and_write_nothing(node, steps, step, message):
    """A consent moves only requested -> granted | denied, and granted -> revoked."""
    cid = node.consents.request(ASK).id
    actions = {
        "grant": lambda: node.consents.grant(cid),
        "deny": lambda: node.consents.deny(cid),
        "revoke": lambda: node.consents.revoke(cid, "2019-06-01"),
    }
    for done in steps:
        actions[done]()
    before = snapshot(node.store)
    with pytest.raises(ConsentStateError, match=message):
        actions[step]()
    assert snapshot(node.store) == before


def test_only_the_originator_decides(node):
    """JPN cannot grant consent on KOR's item."""
    cid = node.consents.request(ASK).id
    with pytest.raises(ConsentStateError, match="only the originator KOR"):
        node.consents.grant(cid, by="JPN")


@pytest.mark.parametrize(
    ("ask", "error"),
    [
        (ConsentRequest("JPN", "USA", item="NO-SUCH"), "unknown item 'NO-SUCH'"),
        (ConsentRequest("JPN", "JPN", item="K-BODY-1"), "holder and recipient must differ"),
        (ConsentRequest("JPN", "USA", topic="dprk-missile"), "no originator"),
        (ConsentRequest("JPN", "USA", item="K-BODY-1", topic="x", originator="KOR"), "both item"),
        (ConsentRequest("JPN", "USA", item="K-BODY-1", valid_from="2019-13-01"), "not a date"),
        (
            ConsentRequest("JPN", "USA", item="K-BODY-1", valid_from="2020-01-01", valid_until="2019-01-01"),
            "before",
        ),
    ],
)
def test_a_request_is_validated_as_the_world_loader_would_and_bad_ones_write_nothing(node, ask, error):
    """Unknown ids, holder = recipient, item and topic together, bad days: a WorldError naming it."""
    before = snapshot(node.store)
    with pytest.raises(WorldError, match=error):
        node.consents.request(ask)
    assert snapshot(node.store) == before


def test_unknown_consents_and_taken_ids_are_refused(node):
    """Steps on a consent that does not exist, or a request reusing an id, are errors."""
    with pytest.raises(UnknownConsentError):
        node.consents.grant("C999")
    node.consents.request(ASK, id="MINE")
    with pytest.raises(ConsentStateError, match="already used"):
        node.consents.request(ASK, id="MINE")
    with pytest.raises(QueryError):
        node.consents.revoke("MINE", "someday")


def test_a_topic_consent_covers_the_originators_items_on_that_topic(node):
    """Granted for topic dprk-missile of KOR, JPN may pass K-BODY-1 on."""
    ask = ConsentRequest("JPN", "USA", topic="dprk-missile", originator="KOR")
    node.consents.grant(node.consents.request(ask).id)
    assert onward(node, "2019-06-01")


def test_each_consent_change_appends_a_leaf(node):
    """request, grant and revoke each add one record and one leaf."""
    with node.store.read() as uow:
        leaves = uow.leaf_count()
    cid = node.consents.request(ASK).id
    node.consents.grant(cid)
    node.consents.revoke(cid, "2019-06-01")
    with node.store.read() as uow:
        added = uow.leaves(leaves)
    assert [leaf.kind for leaf in added] == ["consent", "consent", "consent"]


def test_imported_consents_are_granted_and_listed(node):
    """The examples world's consent arrives granted, with an id, and is listed."""
    views = node.consents.consents()
    assert [(v.id, v.status) for v in views] == [("C1", "granted")]
