"""Each release rule alone: the case it allows, the case it denies, and the reason it gives."""

from __future__ import annotations

import pytest

from gsomia import RULES, QueryError
from gsomia.domain.model import Consent, Item
from tests.factories import CONSENT, ITEMS, d, examples_world

OPEN = "2019-10-01"  # KOR-JPN-GSOMIA in force (notice pending)
CLOSED = "2019-11-23"  # KOR-JPN-GSOMIA terminated: only TISA is left


def world_with(*items: Item, consents: tuple[Consent, ...] = (CONSENT,)):
    return examples_world(items=ITEMS + items, consents=consents)


def test_every_decision_lists_every_rule_in_order():
    """Allowed or denied, a decision carries one reason per rule, in the order of RULES."""
    world = examples_world()
    for item in ("K-MSL-1", "K-TOP-1", "K-NF-1"):
        assert [r.rule for r in world.decide(item, "JPN", OPEN).reasons] == list(RULES)


def test_caveats_noforn_denies_foreign_release():
    """NOFORN stops a release to any party but the originator."""
    decision = examples_world().decide("K-NF-1", "USA", OPEN)
    assert not decision.allowed
    assert not decision.reason("caveats").ok
    assert "NOFORN" in decision.reason("caveats").detail


def test_caveats_other_than_noforn_are_carried_not_judged():
    """An ORCON caveat passes the caveats rule and is named in its detail."""
    world = world_with(Item("K-OR-1", "KOR", "KR-II", ("naval",), caveats=("ORCON",)))
    decision = world.decide("K-OR-1", "JPN", OPEN)
    assert decision.allowed
    assert decision.reason("caveats").ok
    assert "ORCON" in decision.reason("caveats").detail


def test_releasable_to_allows_a_listed_recipient_and_denies_an_unlisted_one():
    """releasable_to [JPN]: JPN may receive it directly, USA may not."""
    world = examples_world()
    assert world.decide("K-REL-1", "JPN", OPEN).reason("releasable-to").ok
    denied = world.decide("K-REL-1", "USA", OPEN)
    assert not denied.allowed
    assert not denied.reason("releasable-to").ok
    assert "USA" in denied.reason("releasable-to").detail


def test_releasable_to_covers_the_conduit_too():
    """Through the US hub, the hub itself must be listed: K-REL-1 cannot re-route."""
    decision = examples_world().decide("K-REL-1", "JPN", CLOSED)
    assert not decision.allowed
    conduit = [a for a in decision.alternatives if a.route == ("KOR", "USA", "JPN")]
    assert [r.rule for r in conduit[0].failed] == ["releasable-to"]


def test_agreement_in_force_allows_on_the_last_day_and_denies_on_the_termination_day():
    """The naval item goes directly on 2019-11-22; on 2019-11-23 the direct route is terminated."""
    world = examples_world()
    assert world.decide("K-NAV-1", "JPN", "2019-11-22").reason("agreement-in-force").ok
    direct = world.decide("K-NAV-1", "JPN", CLOSED).alternatives[0]
    assert direct.route == ("KOR", "JPN")
    assert direct.failed[0].rule == "agreement-in-force"
    assert "terminated" in direct.failed[0].detail


def test_no_agreement_between_the_parties_is_a_denial_naming_them():
    """With only KOR-JPN, a KOR item cannot reach the USA: no agreement connects them."""
    from tests.factories import KOR_JPN

    world = examples_world(agreements=(KOR_JPN,), consents=())
    decision = world.decide("K-MSL-1", "USA", OPEN)
    assert not decision.allowed
    assert "connects KOR and USA" in decision.reason("agreement-in-force").detail


def test_scope_allows_a_topic_in_scope_and_denies_one_outside():
    """TISA covers dprk-missile but not naval."""
    world = examples_world()
    assert world.decide("K-MSL-1", "JPN", CLOSED).reason("scope").ok
    decision = world.decide("K-NAV-1", "JPN", CLOSED)
    assert not decision.allowed
    assert not decision.alternatives[1].failed[0].ok
    assert decision.alternatives[1].failed[0].rule == "scope"
    assert "naval" in decision.alternatives[1].failed[0].detail


def test_level_covered_maps_a_covered_level_and_never_passes_kr_i():
    """KR-II maps to JP-GOKUHI; KR-I is in no row of any table."""
    world = examples_world()
    assert world.decide("K-MSL-1", "JPN", OPEN).reason("level-covered").ok
    decision = world.decide("K-TOP-1", "JPN", OPEN)
    assert not decision.allowed
    assert not decision.reason("level-covered").ok
    assert "KR-I" in decision.reason("level-covered").detail


def test_consent_allows_onward_release_while_valid_and_denies_after_it_expires():
    """JPN may pass K-MSL-1 to the USA under KOR's consent until 2019-12-31, not on 2020-01-15."""
    world = examples_world()
    ok = world.decide("K-MSL-1", "USA", OPEN, holder="JPN")
    assert ok.allowed
    assert ok.reason("consent").ok
    denied = world.decide("K-MSL-1", "USA", "2020-01-15", holder="JPN")
    assert not denied.allowed
    assert not denied.reason("consent").ok
    assert "no consent of KOR" in denied.reason("consent").detail


def test_a_topic_consent_covers_every_item_of_that_originator_and_topic():
    """A consent for KOR's dprk-missile topic lets JPN pass K-MSL-1 on to the USA."""
    topic = Consent("JPN", "USA", topic="dprk-missile", originator="KOR")
    assert world_with(consents=(topic,)).decide("K-MSL-1", "USA", "2021-01-01", holder="JPN").allowed


def _hub_world(*consents: Consent):
    from dataclasses import replace

    from tests.factories import EXAMPLES, USA_JPN, party, table

    aus = party("AUS", "AU-P", "AU-S")
    usa_aus = replace(
        USA_JPN, id="USA-AUS", parties=("USA", "AUS"), equivalence=table({"USA": "US-S", "AUS": "AU-S"})
    )
    hub = replace(
        USA_JPN,
        id="FIVE",
        kind="arrangement",
        parties=("USA", "JPN", "AUS"),
        conduit="USA",
        hops=("USA-AUS", "USA-JPN-GSOMIA"),
        equivalence=(),
    )
    return examples_world(
        parties=(*EXAMPLES.parties, aus), agreements=(*EXAMPLES.agreements, usa_aus, hub), consents=consents
    )


def test_a_conduit_route_started_by_another_holder_needs_consent_for_both_hops():
    """JPN holding KOR's item reaches AUS through the US hub only with KOR's consent for both hops."""
    first = Consent("JPN", "USA", item="K-MSL-1")
    second = Consent("USA", "AUS", item="K-MSL-1")
    one = _hub_world(first).decide("K-MSL-1", "AUS", OPEN, holder="JPN")
    assert not one.allowed
    assert "USA → AUS" in one.reason("consent").detail
    both = _hub_world(first, second).decide("K-MSL-1", "AUS", OPEN, holder="JPN")
    assert both.allowed
    assert both.route == ("JPN", "USA", "AUS")
    assert both.marking == "AU-S"


def test_route_prefers_the_direct_route_and_falls_back_to_the_conduit():
    """In force, KOR→JPN is direct; after termination, KOR→USA→JPN under TISA with the hops' tables."""
    world = examples_world()
    assert world.decide("K-MSL-1", "JPN", OPEN).route == ("KOR", "JPN")
    rerouted = world.decide("K-MSL-1", "JPN", CLOSED)
    assert rerouted.route == ("KOR", "USA", "JPN")
    assert rerouted.agreements == ("TISA", "USA-KOR-GSOMIA", "USA-JPN-GSOMIA")
    assert rerouted.reason("route").ok
    assert rerouted.alternatives[0].route == ("KOR", "JPN")


def test_marking_is_the_first_level_of_the_recipients_row_and_composes_through_the_hub():
    """KR-II arrives as JP-GOKUHI directly and through US-S; denials carry no marking."""
    world = examples_world()
    assert world.decide("K-MSL-1", "JPN", OPEN).marking == "JP-GOKUHI"
    assert world.decide("K-MSL-1", "JPN", CLOSED).marking == "JP-GOKUHI"
    assert "US-S" in world.decide("K-MSL-1", "JPN", CLOSED).reason("level-covered").detail
    denied = world.decide("K-TOP-1", "JPN", OPEN)
    assert denied.marking is None
    assert not denied.reason("marking").ok


def test_a_return_to_the_originator_needs_only_an_agreement_in_force_naming_both():
    """JPN may return K-MSL-1 to KOR under TISA after GSOMIA ended, at the item's own level."""
    decision = examples_world().decide("K-MSL-1", "KOR", "2020-01-15", holder="JPN")
    assert decision.allowed
    assert decision.route == ("JPN", "KOR")
    assert decision.agreements == ("TISA",)
    assert decision.marking == "KR-II"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("NOPE", "JPN", OPEN), "unknown item"),
        (("K-MSL-1", "XXX", OPEN), "unknown recipient"),
        (("K-MSL-1", "JPN", OPEN, "XXX"), "unknown holder"),
        (("K-MSL-1", "KOR", OPEN), "is the holder itself"),
        (("K-MSL-1", "JPN", "2019-13-01"), "not a date"),
    ],
)
def test_bad_queries_are_errors_not_denials(args, message):
    """Unknown ids, a recipient equal to the holder and a bad date raise QueryError naming the problem."""
    with pytest.raises(QueryError, match=message):
        examples_world().decide(*args)


def test_at_accepts_a_date_or_an_iso_string():
    """decide gives the same decision for date(2019, 10, 1) and '2019-10-01'."""
    world = examples_world()
    assert world.decide("K-MSL-1", "JPN", d(OPEN)) == world.decide("K-MSL-1", "JPN", OPEN)
