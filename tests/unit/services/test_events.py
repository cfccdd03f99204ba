"""Lifecycle events as a service: validated by rebuilding the world, recorded with a leaf."""

from __future__ import annotations

import pytest

from gsomia.domain.errors import LifecycleError, WorldError

from .conftest import snapshot


def test_a_suspension_keeps_the_agreement_in_force_past_the_notice_end(node):
    """After suspend-notice, the release direct to JPN stays allowed on 2020-01-01."""
    assert node.releases.release("K-BODY-1", "JPN", "2020-01-01").decision.route != ("KOR", "JPN")
    record = node.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")
    assert record.kind == "event"
    assert record.key == "KOR-JPN-GSOMIA"
    assert node.worldbook.world().state("KOR-JPN-GSOMIA", "2020-01-01").state == "notice-suspended"
    assert node.releases.release("K-BODY-1", "JPN", "2020-01-01").decision.route == ("KOR", "JPN")


def test_the_full_lifecycle_is_recorded_and_shown_in_the_timeline(node):
    """suspend, resume, withdraw, amend and terminate each apply, in order, and show in the timeline."""
    node.events.add_event("KOR-JPN-GSOMIA", "suspend-notice", "2019-11-22", by="KOR")
    node.events.add_event("KOR-JPN-GSOMIA", "resume-notice", "2020-06-01", by="KOR")
    node.events.add_event("KOR-JPN-GSOMIA", "withdraw-notice", "2020-06-15", by="KOR")
    node.events.add_event(
        "KOR-JPN-GSOMIA",
        "amend",
        "2021-01-01",
        scope=["dprk-missile"],
        equivalence=[{"KOR": "KR-II", "JPN": "JP-HI"}],
    )
    node.events.add_event("KOR-JPN-GSOMIA", "terminate", "2023-01-01")
    kinds = [r.data["kind"] for r in node.events.events()]
    assert kinds == ["notice", "suspend-notice", "resume-notice", "withdraw-notice", "amend", "terminate"]
    (timeline,) = [t for t in node.events.timeline() if t.agreement.id == "KOR-JPN-GSOMIA"]
    assert timeline.end is not None
    assert timeline.end.isoformat() == "2023-01-01"
    assert [v.start.isoformat() for v in timeline.versions] == ["2016-11-23", "2021-01-01"]


@pytest.mark.parametrize(
    ("agreement", "kind", "on", "kwargs", "error"),
    [
        ("KOR-JPN-GSOMIA", "notice", "2019-09-01", {}, "already pending"),
        ("KOR-JPN-GSOMIA", "resume-notice", "2019-09-01", {}, "needs a suspended notice"),
        ("KOR-JPN-GSOMIA", "suspend-notice", "2015-01-01", {}, "before KOR-JPN-GSOMIA entered into force"),
        ("USA-JPN-GSOMIA", "withdraw-notice", "2019-09-01", {}, "neither|needs a pending"),
        ("KOR-JPN-GSOMIA", "amend", "2019-09-01", {}, "must give a new scope"),
        ("KOR-JPN-GSOMIA", "notice", "2019-09-01", {"scope": "any"}, "only an amend"),
        ("KOR-JPN-GSOMIA", "notice", "2019-09-01", {"by": "USA"}, "not a party"),
        ("NO-SUCH", "terminate", "2019-09-01", {}, "unknown agreement"),
        ("KOR-JPN-GSOMIA", "explode", "2019-09-01", {}, "not an event kind"),
        ("KOR-JPN-GSOMIA", "terminate", "2019-02-30", {}, "not a date"),
        ("KOR-JPN-GSOMIA", "amend", "2019-09-01", {"equivalence": [{"KOR": "KR-X"}]}, "unknown level"),
        ("KOR-JPN-GSOMIA", "amend", "2019-09-01", {"equivalence": "KOR"}, "expected a list"),
    ],
)
def test_an_event_that_cannot_apply_is_refused_and_nothing_is_written(
    node, agreement, kind, on, kwargs, error
):
    """Each invalid event raises a WorldError (a LifecycleError where the lifecycle refuses it)."""
    before = snapshot(node.store)
    with pytest.raises(WorldError, match=error):
        node.events.add_event(agreement, kind, on, **kwargs)
    assert snapshot(node.store) == before


def test_an_event_that_would_invalidate_a_later_one_is_refused_naming_it(node):
    """Terminating before the 2019 notice would leave that notice impossible: refused, naming the notice."""
    before = snapshot(node.store)
    with pytest.raises(LifecycleError, match=r"would make the notice event of KOR-JPN-GSOMIA on 2019-08-23"):
        node.events.add_event("KOR-JPN-GSOMIA", "terminate", "2018-01-01")
    assert snapshot(node.store) == before


def test_each_event_appends_its_leaf(node):
    """An event's record and its leaf are written together."""
    record = node.events.add_event("KOR-JPN-GSOMIA", "withdraw-notice", "2019-10-01")
    with node.store.read() as uow:
        assert uow.leaves()[-1].ref == f"record:{record.seq}"
        assert uow.leaves()[-1].kind == "event"
