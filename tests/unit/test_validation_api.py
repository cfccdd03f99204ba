"""Worlds built through the Python API (not a file) are held to the same checks as world files: every
error is a WorldError (or QueryError) naming the key, never an internal error."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gsomia.domain.errors import GsomiaError, QueryError, WorldError
from gsomia.domain.ids import MAX_ID_LENGTH
from gsomia.domain.impact import Change
from gsomia.domain.model import Consent, Duration, EquivalenceRow, Item, Level, Party
from gsomia.domain.world import World
from tests.factories import (
    EXAMPLES,
    ITEMS,
    KOR,
    USA_KOR,
    bilateral,
    d,
    examples_world,
    table,
    two_party_world,
)


def with_agreement(aid: str, **changes: object):
    """EXAMPLES with one agreement changed."""
    return replace(
        EXAMPLES, agreements=tuple(replace(a, **changes) if a.id == aid else a for a in EXAMPLES.agreements)
    )


def with_item(**changes: object):
    return replace(EXAMPLES, items=(replace(ITEMS[0], **changes), *ITEMS[1:]))


def with_event(**changes: object):
    return replace(EXAMPLES, events=(replace(EXAMPLES.events[0], **changes),))


def with_consent(consent: Consent):
    return replace(EXAMPLES, consents=(consent,))


BAD = "K\u202eLSM"  # a right-to-left override: "K-MSL" shown backwards
LONG = "X" * (MAX_ID_LENGTH + 1)

CASES = [
    # ids of every kind
    (
        replace(EXAMPLES, parties=(replace(KOR, id="K\nOR"), *EXAMPLES.parties[1:])),
        "parties[0].id",
        "control",
    ),
    (
        replace(EXAMPLES, parties=(replace(KOR, levels=(Level(BAD, "KOR", "x", 0),)), *EXAMPLES.parties[1:])),
        "parties[0].levels[0].id",
        "U+202E",
    ),
    (with_agreement("TISA", id=LONG), "agreements[1].id", "at most 200"),
    (with_item(id="K\u2066X"), "items[0].id", "U+2066"),
    (with_item(topics=("dprk\x00",)), "items[0].topics[0]", "U+0000"),
    (with_item(caveats=(" NOFORN",)), "items[0].caveats[0]", "whitespace"),
    (with_agreement("TISA", scope=("",)), "agreements[1].scope[0]", "empty"),
    (with_consent(Consent("JPN", "USA", topic="t\u200b", originator="KOR")), "consents[0].topic", "U+200B"),
    (with_event(kind="amend", scope=("a\x7f",)), "events[0].scope[0]", "U+007F"),
    (with_item(id=5), "items[0].id", "must be a string"),
    # duplicates and unknowns
    (replace(EXAMPLES, parties=(KOR, KOR, *EXAMPLES.parties[1:])), "parties[1].id", "used twice"),
    (replace(EXAMPLES, items=(ITEMS[0], ITEMS[0])), "items[1].id", "used twice"),
    (replace(EXAMPLES, agreements=(*EXAMPLES.agreements, USA_KOR)), "agreements[4].id", "used twice"),
    (
        replace(EXAMPLES, parties=(*EXAMPLES.parties, Party("X", "X", (Level("KR-I", "X", "x", 0),)))),
        "parties[3].levels[0].id",
        "already used by KOR",
    ),
    (with_item(originator="KRO"), "items[0].originator", "did you mean 'KOR'?"),
    (with_item(releasable_to=("JNP",)), "items[0].releasable_to[0]", "did you mean 'JPN'?"),
    (with_item(level="JP-HI"), "items[0].level", "not one of KOR's levels"),
    # agreements
    (with_agreement("USA-KOR-GSOMIA", parties=("USA",)), "agreements[3].parties", "two or more"),
    (with_agreement("USA-KOR-GSOMIA", parties=("USA", "USA")), "agreements[3].parties", "two or more"),
    (with_agreement("USA-KOR-GSOMIA", kind="pact"), "agreements[3].kind", "treaty or arrangement"),
    (with_agreement("TISA", conduit="KOR2"), "agreements[1].conduit", "must be one of"),
    (with_agreement("TISA", kind="treaty"), "agreements[1].kind", "only an arrangement"),
    (with_agreement("KOR-JPN-GSOMIA", term=Duration(0, "y")), "agreements[0].term", "no length"),
    (with_agreement("KOR-JPN-GSOMIA", term=Duration(1, "w")), "agreements[0].term", "not a length"),
    (
        with_agreement("KOR-JPN-GSOMIA", notice_period=Duration(-1, "d")),
        "agreements[0].notice_period",
        "negative",
    ),
    (with_agreement("USA-KOR-GSOMIA", hops=("USA-JPN-GSOMIA",)), "agreements[3].hops", "only make sense"),
    (with_agreement("TISA", hops=("TISA",)), "agreements[1].hops[0]", "lists itself in hops"),
    (
        with_agreement("TISA", hops=("USA-KOR-GSOMIA", "USA-JPN-GSOMA")),
        "agreements[1].hops[1]",
        "did you mean",
    ),
    (with_agreement("TISA", hops=("KOR-JPN-GSOMIA",)), "agreements[1].hops[0]", "does not join the hub USA"),
    # tables
    (
        with_agreement("USA-KOR-GSOMIA", equivalence=(EquivalenceRow(()),)),
        "agreements[3].equivalence[0]",
        "at least one",
    ),
    (
        with_agreement("USA-KOR-GSOMIA", equivalence=table({"JPN": "JP-HI"})),
        "agreements[3].equivalence[0].JPN",
        "not a party of this agreement",
    ),
    (
        with_agreement("USA-KOR-GSOMIA", equivalence=(EquivalenceRow((("USA", ()),)),)),
        "agreements[3].equivalence[0].USA",
        "names no level",
    ),
    (
        with_agreement("USA-KOR-GSOMIA", equivalence=table({"USA": "US-SS"})),
        "agreements[3].equivalence[0].USA",
        "did you mean 'US-S'",
    ),
    (
        with_agreement("USA-KOR-GSOMIA", equivalence=table({"USA": "KR-II"})),
        "agreements[3].equivalence[0].USA",
        "belongs to KOR",
    ),
    (
        with_agreement("USA-KOR-GSOMIA", equivalence=table({"USA": "US-S"}, {"USA": "US-S"})),
        "agreements[3].equivalence[1].USA",
        "already in row 1",
    ),
    (
        with_agreement(
            "USA-KOR-GSOMIA",
            equivalence=table({"USA": "US-S", "KOR": "KR-III"}, {"USA": "US-C", "KOR": "KR-II"}),
        ),
        "agreements[3].equivalence[1].KOR",
        "cross",
    ),
    # events
    (with_event(agreement="KOR-JPN-GSOMLA"), "events[0].agreement", "did you mean 'KOR-JPN-GSOMIA'"),
    (with_event(by="USA"), "events[0].by", "not a party of KOR-JPN-GSOMIA"),
    (with_event(scope=("x",)), "events[0].scope", "belongs to amend events alone"),
    (with_event(equivalence=()), "events[0].equivalence", "belongs to amend events alone"),
    (with_event(kind="explode"), "events[0].kind", "not an event kind"),
    # consents
    (with_consent(Consent("JPN", "USA")), "consents[0]", "exactly one of item or topic"),
    (
        with_consent(Consent("JPN", "USA", item="K-MSL-1", topic="t")),
        "consents[0]",
        "exactly one of item or topic",
    ),
    (with_consent(Consent("JPN", "USA", topic="t")), "consents[0].topic", "must name the originator"),
    (with_consent(Consent("JPN", "USA", item="K-MSL-2")), "consents[0].item", "did you mean 'K-MSL-1'"),
    (with_consent(Consent("JPN", "JPN", item="K-MSL-1")), "consents[0].recipient", "must differ"),
    (with_consent(Consent("JPN", "USB", item="K-MSL-1")), "consents[0].recipient", "did you mean 'USA'"),
    (
        with_consent(
            Consent("JPN", "USA", item="K-MSL-1", valid_from=d("2020-01-01"), valid_until=d("2019-01-01"))
        ),
        "consents[0].until",
        "never be valid",
    ),
]


@pytest.mark.parametrize(("spec", "key", "message"), CASES, ids=[f"{c[1]}:{c[2]}" for c in CASES])
def test_a_bad_world_built_in_python_is_a_world_error_naming_the_key(spec, key, message):
    """Each check of the world, reached through WorldSpec and model objects, names its key and says why."""
    with pytest.raises(WorldError) as caught:
        World(spec)
    assert str(caught.value).startswith(f"{key}: ")
    assert message in str(caught.value)


def test_a_term_of_zero_length_added_through_impact_is_bad_input():
    """A what-if that adds an agreement with a zero term is refused like a world file would be."""
    world = two_party_world(bilateral())
    zero = bilateral("A-B-ZERO", term=Duration(0, "y"), renewal=True)
    with pytest.raises(GsomiaError, match="no length"):
        world.impact(Change("add", d("2001-01-01"), new=zero))


def test_a_non_amend_change_carrying_a_scope_is_bad_input():
    """A terminate carrying a scope is refused: scope and equivalence belong to amend alone."""
    world = two_party_world(bilateral())
    with pytest.raises(GsomiaError, match="belongs to amend events alone"):
        world.impact(Change("terminate", d("2001-01-01"), "A-B", scope=("t",)))


def test_an_id_with_a_bidi_override_is_refused_and_shown_escaped():
    """An agreement id hiding a right-to-left override is refused; the message shows the code point."""
    with pytest.raises(WorldError, match=r"U\+202E \(RIGHT-TO-LEFT OVERRIDE\)") as caught:
        World(with_agreement("TISA", id=BAD))
    assert "\u202e" not in str(caught.value)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("K-MSL-9", "JPN", "2019-10-01"),
            "unknown item 'K-MSL-9'; did you mean 'K-MSL-1' or 'J-MSL-1'? the world has 6 items",
        ),
        (("K-MSL-1", "JNP", "2019-10-01"), "unknown recipient 'JNP'; did you mean 'JPN'?"),
        (("K-MSL-1", "JPN", "2019-10-01", "USB"), "unknown holder 'USB'; did you mean 'USA'?"),
    ],
)
def test_an_unknown_id_in_a_query_lists_close_matches(args, message):
    """A slip in a query id is answered with the ids it most resembles."""
    with pytest.raises(QueryError) as caught:
        examples_world().decide(*args)
    assert str(caught.value).startswith(message)


def test_an_unknown_agreement_lists_close_matches():
    """world.state with a misspelt agreement suggests the right one."""
    with pytest.raises(QueryError, match="did you mean 'KOR-JPN-GSOMIA'"):
        examples_world().state("KOR-JPN-GSOMA", "2019-10-01")


@pytest.mark.parametrize("where", ["item", "recipient", "holder", "at", "agreement"])
def test_a_huge_unknown_id_is_cut_in_the_message(where):
    """A 10-million-character id is echoed as its first characters and its length, never whole."""
    huge = "Z" * 10_000_000
    world = examples_world()
    call = {
        "item": lambda: world.decide(huge, "JPN", "2019-10-01"),
        "recipient": lambda: world.decide("K-MSL-1", huge, "2019-10-01"),
        "holder": lambda: world.decide("K-MSL-1", "JPN", "2019-10-01", huge),
        "at": lambda: world.decide("K-MSL-1", "JPN", huge),
        "agreement": lambda: world.state(huge, "2019-10-01"),
    }[where]
    with pytest.raises(QueryError) as caught:
        call()
    assert len(str(caught.value)) < 500
    assert "(10000000 characters)" in str(caught.value)


def test_close_matches_among_many_items_look_only_at_sorted_neighbours():
    """In a world of 20,000 items, a stray last character still finds the item."""
    items = tuple(Item(f"K-{n:05d}", "KOR", "KR-II", ("naval",)) for n in range(20_000))
    world = examples_world(items=items, consents=())
    with pytest.raises(QueryError, match="did you mean 'K-01234'"):
        world.decide("K-01234x", "JPN", "2019-10-01")


def test_an_impact_over_a_calendar_edge_agreement_is_no_crash():
    """An agreement entering into force on 9999-12-30 with a 1y term: decide and impact answer."""
    late = bilateral("A-B-LATE", entry_into_force=d("9999-12-30"), term=Duration(1, "y"))
    world = two_party_world(late)
    assert world.decide("X", "B", "9999-12-30").allowed
    report = world.impact(Change("terminate", d("9999-12-30"), "A-B-LATE"))
    assert report.counts["lost"] == 1
