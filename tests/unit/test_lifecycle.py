"""Agreement state on any day: term arithmetic, notice, suspension, resumption, withdrawal, termination."""

from __future__ import annotations

import pytest

from gsomia.domain.errors import LifecycleError
from gsomia.domain.model import Duration, Event
from tests.factories import KOR_JPN, bilateral, d, event, examples_world, two_party_world

KJ = "KOR-JPN-GSOMIA"


def kj_world(*events: Event) -> object:
    return examples_world(
        events=tuple(Event(e.date, KJ, e.kind, e.by, index=i) for i, e in enumerate(events))
    )


def test_notice_on_the_last_valid_day_ends_the_agreement_at_this_years_term_end():
    """A notice on 2019-08-24 (the last valid day) still ends the agreement on 2019-11-23."""
    world = kj_world(event("2019-08-24", "notice", KJ, by="KOR"))
    assert world.state(KJ, "2019-11-22").state == "notice-pending"
    assert world.state(KJ, "2019-11-23").state == "terminated"


def test_notice_one_day_late_rolls_over_to_the_next_term_end():
    """A notice on 2019-08-25 is one day late: the agreement runs until 2020-11-22."""
    world = kj_world(event("2019-08-25", "notice", KJ, by="KOR"))
    assert world.state(KJ, "2019-11-23").state == "notice-pending"
    assert world.state(KJ, "2020-11-22").in_force
    assert world.state(KJ, "2020-11-23").state == "terminated"
    assert world.timeline(KJ).end == d("2020-11-23")


def test_the_day_before_termination_is_in_force_and_the_day_of_termination_is_not():
    """With the 2019-08-23 notice, 2019-11-22 is the last day in force and 2019-11-23 the first day out."""
    world = examples_world()
    assert world.state(KJ, "2019-11-22").in_force
    assert not world.state(KJ, "2019-11-23").in_force


def test_without_notice_the_agreement_renews_every_year():
    """An automatically renewing agreement without notice stays in force across many term ends."""
    world = kj_world()
    for day in ("2017-11-23", "2019-11-23", "2030-11-23"):
        assert world.state(KJ, day).state == "in-force"
    assert world.timeline(KJ).end is None


def test_before_entry_into_force_the_agreement_is_not_yet_in_force():
    """The day before entry into force gives not-yet-in-force; the day itself gives in-force."""
    world = kj_world()
    assert world.state(KJ, "2016-11-22").state == "not-yet-in-force"
    assert world.state(KJ, "2016-11-23").state == "in-force"


def test_an_indefinite_agreement_ends_notice_period_after_the_day_after_notice():
    """Without a term, a notice on d ends the agreement on (d + 1) + notice period."""
    world = two_party_world(bilateral(notice_period=Duration(30, "d")), event("2020-01-10", "notice", by="A"))
    assert world.state("A-B", "2020-02-09").state == "notice-pending"
    assert world.state("A-B", "2020-02-10").state == "terminated"


def test_an_indefinite_agreement_without_events_is_in_force_forever():
    """No term, no notice: in force on any later day."""
    world = two_party_world(bilateral())
    assert world.state("A-B", "2999-01-01").state == "in-force"


def test_suspension_keeps_the_agreement_in_force_and_flags_it_disputed():
    """Korea's 2019-11-22 suspension: in force after the scheduled end, flagged disputed."""
    world = kj_world(
        event("2019-08-23", "notice", KJ, by="KOR"), event("2019-11-22", "suspend-notice", KJ, by="KOR")
    )
    state = world.state(KJ, "2020-06-01")
    assert state.state == "notice-suspended"
    assert state.disputed
    assert state.in_force


def test_withdrawal_returns_a_suspended_agreement_to_plain_in_force():
    """The 2023-03-21 withdrawal clears the suspended notice: plainly in force, not disputed."""
    world = kj_world(
        event("2019-08-23", "notice", KJ, by="KOR"),
        event("2019-11-22", "suspend-notice", KJ, by="KOR"),
        event("2023-03-21", "withdraw-notice", KJ, by="KOR"),
    )
    state = world.state(KJ, "2023-03-21")
    assert (state.state, state.disputed) == ("in-force", False)
    assert world.state(KJ, "2023-03-20").disputed


def test_resuming_a_notice_counts_as_a_fresh_notice_given_that_day():
    """Resumed on 2020-09-01 (too late for 2020's term end), it ends the agreement on 2021-11-23."""
    world = kj_world(
        event("2019-08-23", "notice", KJ, by="KOR"),
        event("2019-11-22", "suspend-notice", KJ, by="KOR"),
        event("2020-09-01", "resume-notice", KJ, by="KOR"),
    )
    assert world.timeline(KJ).end == d("2021-11-23")
    assert world.state(KJ, "2021-11-22").state == "notice-pending"


def test_mutual_termination_takes_effect_that_day():
    """A terminate event on a day makes that day the first day not in force."""
    world = kj_world(event("2018-05-05", "terminate", KJ))
    assert world.state(KJ, "2018-05-04").in_force
    assert world.state(KJ, "2018-05-05").state == "terminated"


def test_a_fixed_term_without_renewal_expires_at_its_first_term_end():
    """Term 2y, renewal none: expired from 2002-01-01."""
    world = two_party_world(bilateral(term=Duration(2, "y")))
    assert world.state("A-B", "2001-12-31").state == "in-force"
    assert world.state("A-B", "2002-01-01").state == "expired"


def test_a_timely_notice_on_a_non_renewing_agreement_ends_it_as_terminated():
    """Renewal none with a timely notice: it still ends at E1, but as terminated."""
    world = two_party_world(
        bilateral(term=Duration(1, "y"), notice_period=Duration(30, "d")),
        event("2000-06-01", "notice", by="A"),
    )
    assert world.state("A-B", "2001-01-01").state == "terminated"


def test_a_late_notice_on_a_non_renewing_agreement_is_an_error():
    """Renewal none: a notice too late for E1 could never take effect, so it is refused."""
    with pytest.raises(LifecycleError, match="cannot take effect"):
        two_party_world(
            bilateral(term=Duration(1, "y"), notice_period=Duration(90, "d")),
            event("2000-12-01", "notice", by="A"),
        )


def test_month_terms_clamp_to_the_month_end_without_drift():
    """Entry into force on Jan 31 with 1m terms: term ends Feb 29 (2000), Mar 31, Apr 30."""
    world = two_party_world(
        bilateral(entry_into_force=d("2000-01-31"), term=Duration(1, "m"), renewal=True),
        event("2000-03-01", "notice", by="A"),
    )
    assert world.timeline("A-B").end == d("2000-03-31")


def test_an_amendment_changes_scope_and_table_from_its_day():
    """After an amend, the new scope applies from that day; before it, the old one."""
    world = two_party_world(bilateral(), event("2010-01-01", "amend", scope=("naval",)))
    timeline = world.timeline("A-B")
    assert timeline.version(d("2009-12-31")).scope is None
    assert timeline.version(d("2010-01-01")).scope == ("naval",)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ((event("1999-12-31", "notice", by="A"),), "before A-B entered into force"),
        ((event("2001-01-01", "notice"), event("2001-01-01", "notice")), "already pending"),
        ((event("2001-01-01", "suspend-notice"),), "needs a pending notice"),
        ((event("2001-01-01", "resume-notice"),), "needs a suspended notice"),
        ((event("2001-01-01", "withdraw-notice"),), "needs a pending or suspended notice"),
        (
            (event("2001-01-01", "terminate"), event("2001-01-01", "amend", scope=("x",))),
            "no longer in force",
        ),
        ((event("2001-01-01", "terminate"), event("2002-01-01", "notice")), "no longer in force"),
        ((event("2001-01-01", "amend"),), "new scope or a new equivalence table"),
    ],
)
def test_an_event_that_cannot_apply_is_an_error_naming_the_event(events, message):
    """Each impossible event raises a LifecycleError whose path names the event."""
    with pytest.raises(LifecycleError, match=message) as caught:
        two_party_world(bilateral(), *events)
    assert caught.value.path[0] == "events"


def test_same_day_events_apply_in_file_order():
    """A notice then a withdrawal on one day leaves it in force; the reverse order is an error."""
    ok = two_party_world(bilateral(), event("2001-01-01", "notice"), event("2001-01-01", "withdraw-notice"))
    assert ok.state("A-B", "2001-01-01").state == "in-force"
    with pytest.raises(LifecycleError):
        two_party_world(bilateral(), event("2001-01-01", "withdraw-notice"), event("2001-01-01", "notice"))


def test_the_korea_japan_term_ends_fall_on_november_23():
    """Term k of the 2016 agreement ends on 23 November of 2016 + k."""
    from gsomia.domain.lifecycle import term_end

    assert [term_end(KOR_JPN, k) for k in (1, 3)] == [d("2017-11-23"), d("2019-11-23")]


def test_a_non_renewing_agreement_whose_notice_was_suspended_expires_rather_than_terminates():
    """Renewal none: a notice suspended before E1 did not take effect, so on E1 the state is expired."""
    world = two_party_world(
        bilateral(term=Duration(1, "y"), notice_period=Duration(30, "d")),
        event("2000-06-01", "notice", by="A"),
        event("2000-07-01", "suspend-notice", by="A"),
    )
    assert world.state("A-B", "2000-12-31").state == "notice-suspended"
    assert world.state("A-B", "2001-01-01").state == "expired"


def test_a_non_renewing_agreement_whose_notice_was_withdrawn_expires():
    """Renewal none: a notice withdrawn before E1 did not take effect: expired, not terminated."""
    world = two_party_world(
        bilateral(term=Duration(1, "y"), notice_period=Duration(30, "d")),
        event("2000-06-01", "notice", by="A"),
        event("2000-07-01", "withdraw-notice", by="A"),
    )
    assert world.state("A-B", "2001-01-01").state == "expired"


def test_a_non_renewing_agreement_with_a_resumed_notice_pending_on_the_eve_terminates():
    """Suspended, then resumed in time: pending the day before E1, so the state on E1 is terminated."""
    world = two_party_world(
        bilateral(term=Duration(1, "y"), notice_period=Duration(30, "d")),
        event("2000-06-01", "notice", by="A"),
        event("2000-07-01", "suspend-notice", by="A"),
        event("2000-08-01", "resume-notice", by="A"),
    )
    assert world.state("A-B", "2001-01-01").state == "terminated"


def test_suspending_a_notice_that_is_already_suspended_is_an_error():
    """A second suspend-notice finds nothing pending to suspend and says the notice is already suspended."""
    with pytest.raises(LifecycleError, match="already suspended") as caught:
        two_party_world(
            bilateral(notice_period=Duration(90, "d")),
            event("2001-01-01", "notice"),
            event("2001-02-01", "suspend-notice"),
            event("2001-03-01", "suspend-notice"),
        )
    assert caught.value.path == ("events", 2, "kind")


def test_an_agreement_state_prints_as_its_state_name_and_keeps_its_fields():
    """str(world.state(...)) is 'notice-pending'; the object still carries the day, the end and the flags."""
    state = examples_world().state(KJ, "2019-10-01")
    assert str(state) == "notice-pending"
    assert f"{state}" == "notice-pending"
    assert (state.at, state.ends, state.disputed, state.in_force) == (
        d("2019-10-01"),
        d("2019-11-23"),
        False,
        True,
    )


def test_a_term_ending_past_the_calendar_leaves_the_agreement_in_force_to_its_last_day():
    """Entry into force on 9999-12-30 (the last day gsomia takes), 1y term, no renewal: no end within the
    calendar."""
    world = two_party_world(bilateral(entry_into_force=d("9999-12-30"), term=Duration(1, "y")))
    assert world.timeline("A-B").end is None
    assert world.state("A-B", "9999-12-30").state == "in-force"
    assert world.decide("X", "B", "9999-12-30").allowed


def test_a_notice_on_the_last_day_gsomia_takes_never_takes_effect_within_the_calendar():
    """Automatic renewal, notice on 9999-12-30: pending, with no end within the calendar."""
    agreement = bilateral(term=Duration(1, "y"), renewal=True, notice_period=Duration(90, "d"))
    world = two_party_world(agreement, event("9999-12-30", "notice", by="A"))
    assert world.state("A-B", "9999-12-30").state == "notice-pending"
    assert world.timeline("A-B").end is None
    assert (
        "no end within the calendar"
        in world.decide("X", "B", "9999-12-30").reason("agreement-in-force").detail
    )


@pytest.mark.parametrize(
    "agreement",
    [
        bilateral(term=Duration(99_999_999, "y"), renewal=True),
        bilateral(term=Duration(99_999_999, "y")),
        bilateral(term=Duration(99_999_999, "d"), renewal=True),
        bilateral(notice_period=Duration(99_999_999, "y")),
        bilateral(notice_period=Duration(99_999_999, "d")),
        bilateral(term=Duration(1, "y"), renewal=True, notice_period=Duration(99_999_999, "y")),
    ],
)
def test_a_huge_term_or_notice_period_is_no_end_within_the_calendar(agreement):
    """A term or notice period reaching past 9999-12-31: the notice is pending with no end, not a crash."""
    world = two_party_world(agreement, event("2001-01-01", "notice", by="A"))
    assert world.timeline("A-B").end is None
    assert world.state("A-B", "9999-12-30").state == "notice-pending"


def test_a_notice_period_longer_than_a_non_renewing_term_refuses_every_notice():
    """Renewal none, 1y term, 99999999y notice period: no notice can take effect; the error says so."""
    agreement = bilateral(term=Duration(1, "y"), notice_period=Duration(99_999_999, "y"))
    with pytest.raises(LifecycleError, match="no notice day before it was early enough"):
        two_party_world(agreement, event("2000-01-01", "notice", by="A"))


def test_the_last_valid_notice_day_is_named_for_a_late_notice():
    """Renewal none, term 1y from 2000-01-01, 30 days' notice: the last valid day is 2000-12-01."""
    agreement = bilateral(term=Duration(1, "y"), notice_period=Duration(30, "d"))
    with pytest.raises(LifecycleError, match="the last valid notice day was 2000-12-01"):
        two_party_world(agreement, event("2000-12-15", "notice", by="A"))
