"""The words of every reason, for an agreement in each of its six states: the text, not only the verdict."""

from __future__ import annotations

import pytest

from gsomia.domain.model import Duration
from tests.factories import bilateral, event, two_party_world

NOTICE = bilateral(notice_period=Duration(30, "d"))  # indefinite; a notice on 2001-01-01 ends it 2001-02-01
PENDING = (event("2001-01-01", "notice", by="A"),)
SUSPENDED = (*PENDING, event("2001-01-20", "suspend-notice", by="B"))
ONE_YEAR = bilateral(term=Duration(1, "y"))  # no renewal: expires 2001-01-01

# state, agreement, events, day, agreement-in-force reason (ok, detail)
STATES = [
    (
        "not-yet-in-force",
        NOTICE,
        (),
        "1999-12-31",
        False,
        "A-B not yet in force (enters into force on 2000-01-01)",
    ),
    ("in-force", NOTICE, (), "2000-06-01", True, "in force that day: A-B (in-force)"),
    (
        "notice-pending",
        NOTICE,
        PENDING,
        "2001-01-15",
        True,
        "in force that day: A-B (notice-pending, ends on 2001-02-01)",
    ),
    (
        "notice-suspended",
        NOTICE,
        SUSPENDED,
        "2001-06-01",
        True,
        "in force that day: A-B (notice-suspended, disputed)",
    ),
    (
        "terminated",
        NOTICE,
        PENDING,
        "2001-06-01",
        False,
        "A-B terminated on 2001-02-01 (last day in force: 2001-01-31)",
    ),
    (
        "expired",
        ONE_YEAR,
        (),
        "2001-06-01",
        False,
        "A-B expired on 2001-01-01 (last day in force: 2000-12-31)",
    ),
]
IDS = [row[0] for row in STATES]


@pytest.mark.parametrize(("state", "agreement", "events", "day", "ok", "detail"), STATES, ids=IDS)
def test_a_release_names_the_agreement_state_in_every_rule(state, agreement, events, day, ok, detail):
    """A1 from A to B: the eight reasons, word for word, with the agreement in each state."""
    world = two_party_world(agreement, *events)
    assert world.state("A-B", day).state == state
    decision = world.decide("X", "B", day)
    assert [(r.rule, r.ok, r.detail) for r in decision.reasons] == [
        ("caveats", True, "no caveat restricts this release"),
        ("releasable-to", True, "the item sets no releasability list"),
        ("agreement-in-force", ok, detail),
        ("scope", True, "A-B: any"),
        ("level-covered", True, "A1 → B1 (A-B)"),
        ("consent", True, "sent by the originator A: its own approval"),
        ("route", ok, "A → B under A-B" if ok else "no route passes every rule (1 tried; see alternatives)"),
        ("marking", ok, "B marks it B1" if ok else "none: the release is denied"),
    ]
    assert decision == world.decide_plain("X", "B", day)
    if not ok:
        [alternative] = decision.alternatives
        assert [(r.rule, r.detail) for r in alternative.failed] == [("agreement-in-force", detail)]


@pytest.mark.parametrize(("state", "agreement", "events", "day", "ok", "detail"), STATES, ids=IDS)
def test_a_return_to_the_originator_names_the_agreement_state_in_every_rule(
    state, agreement, events, day, ok, detail
):
    """B returning A's item to A: the eight reasons of a return, word for word, in each state."""
    world = two_party_world(agreement, *events)
    decision = world.decide("X", "A", day, holder="B")
    assert [(r.rule, r.ok, r.detail) for r in decision.reasons] == [
        ("caveats", True, "a return to the originator A"),
        ("releasable-to", True, "the originator needs no releasability"),
        ("agreement-in-force", ok, detail),
        ("scope", True, "not required for a return to the originator"),
        ("level-covered", True, "returned at its own level A1"),
        ("consent", True, "not required for a return to the originator"),
        ("route", ok, "B → A under A-B" if ok else "no route passes every rule (1 tried; see alternatives)"),
        ("marking", ok, "A marks it A1" if ok else "none: the release is denied"),
    ]


def test_the_termination_day_is_named_whatever_day_is_asked_about():
    """Asked on 2019-11-23 or 2020-06-01, the reason names 2019-11-23 and the last day 2019-11-22."""
    from tests.factories import examples_world

    world = examples_world()
    for day in ("2019-11-23", "2020-06-01", "2031-01-01"):
        [direct, *_] = world.decide("K-NAV-1", "JPN", day).alternatives
        assert direct.failed[0].detail == (
            "KOR-JPN-GSOMIA terminated on 2019-11-23 (last day in force: 2019-11-22)"
        )
