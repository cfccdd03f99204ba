"""The calendar's edges: a world (a file, or a node's log) may hold any day, and the engine never steps off
the calendar on one; a day asked about (a query, an option, an API body, a revocation) is one from
0001-01-02 to 9999-12-30, so every such day has a day before and after it.

Also: an item consent may name an originator only if it is the item's own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from gsomia.cli.shared import OptionError, day_option
from gsomia.domain import rules
from gsomia.domain.days import FIRST_DAY, LAST_DAY, day_before
from gsomia.domain.errors import WorldError
from gsomia.domain.lifecycle import compile_timeline
from gsomia.domain.model import Duration, Event
from gsomia.domain.world import World, parse_day
from gsomia.scenario.loader import load_world
from gsomia.services.ports import Record
from gsomia.services.replay import ConsentView, replay
from tests.factories import EXAMPLES, bilateral, d, event, examples_world, two_party_world

RANGE = "from 0001-01-02 to 9999-12-30"
EDGES = ["0001-01-01", "9999-12-31"]


def test_every_day_gsomia_takes_has_a_day_before_and_after_it() -> None:
    assert day_before(FIRST_DAY) == date.min
    assert LAST_DAY + timedelta(days=1) == date.max
    assert day_before(date.min) is None


# -- the engine, handed a day at the edge, steps off no calendar ----------------------------------------


def test_an_agreement_terminated_on_the_calendars_first_day_says_it_was_never_in_force() -> None:
    """rules.py once took the day before the end (0000-12-31: a ValueError, and a 500 on every decision)."""
    agreement = bilateral(entry_into_force=date.min)
    timeline = compile_timeline(agreement, (Event(date.min, "A-B", "terminate"),))
    assert timeline.end == date.min
    reason = rules.in_force([], date(2019, 11, 22), [timeline])
    assert not reason.ok
    assert reason.detail == "A-B terminated on 0001-01-01 (never in force)"


def test_an_agreement_ending_on_its_first_day_elsewhere_says_so_too() -> None:
    """It once named the day before its entry into force as its last day in force."""
    timeline = compile_timeline(bilateral(), (event("2000-01-01", "terminate"),))
    detail = rules.in_force([], d("2001-01-01"), [timeline]).detail
    assert detail == "A-B terminated on 2000-01-01 (never in force)"
    later = compile_timeline(bilateral(), (event("2000-03-01", "terminate"),))
    detail = rules.in_force([], d("2001-01-01"), [later]).detail
    assert detail == "A-B terminated on 2000-03-01 (last day in force: 2000-02-29)"


def _revoked(on: str, **terms: str) -> ConsentView:
    return ConsentView("C1", {"holder": "JPN", "recipient": "USA", "item": "K-MSL-1", **terms}, "revoked", on)


def test_a_consent_revoked_on_the_calendars_first_day_covers_no_day() -> None:
    """replay.py once took the day before the revocation (an OverflowError, and a 500)."""
    assert _revoked("0001-01-01").world_entry() is None


def test_a_consent_revoked_on_the_first_day_gsomia_takes_covers_no_day_it_takes() -> None:
    """Left in the world, it would run until 0001-01-01, a day the world refuses: it would break the node."""
    assert _revoked("0001-01-02").world_entry() is None
    assert _revoked("0001-01-03").world_entry() == {
        "holder": "JPN",
        "recipient": "USA",
        "item": "K-MSL-1",
        "until": "0001-01-02",
    }


def test_records_revoking_a_consent_on_the_first_days_leave_a_world_that_builds() -> None:
    records = [
        Record(1, "consent", "C1", {"id": "C1", "holder": "JPN", "recipient": "USA", "item": "K-MSL-1"}),
        Record(2, "consent-status", "C1", {"id": "C1", "status": "granted"}),
        Record(3, "consent-status", "C1", {"id": "C1", "status": "revoked", "on": "0001-01-02"}),
    ]
    assert replay(records).data["consents"] == []


# -- world data at the edges is taken (a node's log may hold it), and decided on without a crash ------


@pytest.mark.parametrize("day", [date.min, date.max])
def test_an_agreement_entering_into_force_at_an_edge_builds_and_decides(day: date) -> None:
    world = two_party_world(bilateral(entry_into_force=day))
    inside = FIRST_DAY if day == date.min else LAST_DAY
    assert world.decide("X", "B", inside).allowed == (day == date.min)


def test_the_reviewed_world_terminated_on_its_first_day_0001_01_01_decides_never_in_force() -> None:
    """A world (or a node's log) holding it once made every decision on the agreement fail."""
    world = two_party_world(bilateral(entry_into_force=date.min), Event(date.min, "A-B", "terminate"))
    decision = world.decide("X", "B", "2019-11-22")
    assert not decision.allowed
    assert "never in force" in decision.reason("agreement-in-force").detail
    assert decision.to_dict()["allowed"] is False


@pytest.mark.parametrize("day", EDGES)
def test_an_event_at_an_edge_builds_and_decides(day: str) -> None:
    agreement = bilateral(entry_into_force=date.min, term=Duration(1, "y"), renewal=True)
    world = two_party_world(agreement, event(day, "notice", by="A"))
    assert world.decide("X", "B", "2019-11-22").to_dict()["item"] == "X"


@pytest.mark.parametrize(("key", "field"), [("from", "valid_from"), ("until", "valid_until")])
@pytest.mark.parametrize("day", [date.min, date.max])
def test_a_consent_window_at_an_edge_builds_and_decides(key: str, field: str, day: date) -> None:
    open_window = replace(EXAMPLES.consents[0], valid_from=None, valid_until=None)
    world = examples_world(consents=(replace(open_window, **{field: day}),))
    consent = world.spec.consents[0]
    for at in (FIRST_DAY, LAST_DAY, d("2019-11-22")):
        assert world.decide(consent.item or "J-MSL-1", consent.recipient, at, consent.holder).to_dict()


def test_a_world_file_with_days_at_the_edges_loads_and_decides(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(
        "gsomia: 1\n"
        "parties:\n"
        "  - {id: A, levels: [{id: A1, marking: a}]}\n"
        "  - {id: B, levels: [{id: B1, marking: b}]}\n"
        "agreements:\n"
        "  - id: OLD\n"
        "    kind: treaty\n"
        "    parties: [A, B]\n"
        "    entry_into_force: 0001-01-01\n"
        "    equivalence: [{A: A1, B: B1}]\n"
        "events:\n"
        "  - {date: 0001-01-01, agreement: OLD, kind: terminate}\n"
        "items:\n"
        "  - {id: X, originator: A, level: A1}\n",
        encoding="utf-8",
    )
    world = load_world(path)
    assert "never in force" in world.decide("X", "B", "2019-11-22").reason("agreement-in-force").detail


# -- where people give days, 0001-01-02 to 9999-12-30; the engine answers on any ----------------------------


@pytest.mark.parametrize("day", [*EDGES, date.min, date.max])
def test_the_engine_answers_on_a_day_at_an_edge(day: str | date) -> None:
    """What a node stored (a release's day, a partner's) is decided on whatever day it names: only where
    people give days is the range enforced (the CLI's options, the API's bodies, the pages' forms)."""
    world = examples_world()
    assert world.decide("J-MSL-1", "USA", day).to_dict()["at"] == str(day)
    assert world.decide_plain("J-MSL-1", "USA", day).allowed == world.decide("J-MSL-1", "USA", day).allowed
    assert world.state("USA-JPN-GSOMIA", day).state
    assert parse_day(day, "on") == (day if isinstance(day, date) else date.fromisoformat(day))


def test_the_days_gsomia_does_not_take_share_no_stretch_of_reasons_with_one_it_takes() -> None:
    """A decision's reasons are shared across a stretch of days (the API's quick batch path answers from
    them): no decision on a day gsomia takes may answer for a day outside it."""
    index = examples_world().index
    for outside, inside in ((date.min, FIRST_DAY), (date.max, LAST_DAY)):
        assert index.reason_span(outside.toordinal()) != index.reason_span(inside.toordinal())


@pytest.mark.parametrize("day", EDGES)
def test_a_cli_day_option_at_an_edge_is_an_option_error(day: str) -> None:
    with pytest.raises(OptionError, match=f"--at: {day} is at the edge of the calendar; give a day {RANGE}"):
        day_option(day, "--at")


# -- an item consent names the item's own originator, or none ----------------------------------------------


def test_an_item_consent_naming_another_originator_is_a_world_error() -> None:
    """K-MSL-1 is Korea's: a consent on it 'by' Japan would let Japan decide on Korea's item. One naming
    Korea, or no originator, stands."""
    wrong = replace(EXAMPLES.consents[0], originator="JPN")
    with pytest.raises(WorldError) as caught:
        examples_world(consents=(wrong,))
    assert caught.value.path == ("consents", 0, "originator")
    assert caught.value.message == (
        "the consent on item 'K-MSL-1' names 'JPN' as originator, but KOR originated the item: "
        "write originator: KOR, or leave originator out"
    )
    for right in (replace(wrong, originator="KOR"), replace(wrong, originator=None)):
        world = examples_world(consents=(right,))
        assert world.decide("K-MSL-1", "USA", "2019-10-01", holder="JPN").allowed


def test_a_consent_on_an_item_kept_elsewhere_is_checked_against_its_originator_when_known() -> None:
    """A node's world keeps items outside the spec: given their originators, the check is the same."""
    kept = {"K-MSL-1": "KOR"}
    spec = replace(EXAMPLES, items=(), consents=(replace(EXAMPLES.consents[0], originator="USA"),))
    with pytest.raises(WorldError, match="names 'USA' as originator, but KOR originated the item"):
        World(spec, known_items=kept.__contains__, item_originator=kept.get)
    World(spec, known_items=kept.__contains__)  # no originators given: only the id is checked, as before


@pytest.mark.parametrize(
    "events",
    [
        (Event(date.max, "A-B", "notice"),),
        (Event(date.min, "A-B", "notice"),),
        (Event(date(9999, 10, 1), "A-B", "notice"),),
        (Event(date.min, "A-B", "notice"), Event(date.min, "A-B", "terminate")),
    ],
    ids=["notice-last-day", "notice-first-day", "ending-on-last-day", "terminated-first-day"],
)
def test_gsomia_story_tells_a_world_with_days_at_the_edges(events: tuple[Event, ...]) -> None:
    """``gsomia story FILE`` takes each end and its eve as key days: an end on 0001-01-01 has no eve (an
    OverflowError once), and the days at the edges are decided on like any other."""
    from gsomia.cli import story

    world = two_party_world(bilateral(entry_into_force=date.min, notice_period=Duration(90, "d")), *events)
    counterfactual = story.counterfactual_world(world)
    days = story.key_days(world, counterfactual, ("A-B",))
    assert days
    for item, to in story.story_pairs(world, ("A-B",)):
        assert story._decide_all(world, item, to, days)
