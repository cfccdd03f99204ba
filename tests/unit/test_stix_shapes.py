"""STIX validity is judged once per bundle shape: bundles that differ only in values of proven forms share
the validator's verdict, and nothing of another shape (a bad timestamp, an unknown property in a marking)
slips through on a verdict kept for a good bundle."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gsomia.exchange import BundleError
from gsomia.exchange import bundle as bundle_module
from gsomia.exchange.bundle import ItemMeta, _shape
from gsomia.exchange.stixcheck import ShapeMemo, stix_problems
from gsomia.ledger.canonical import canonical
from tests.unit.test_exchange_bundle import Parties, make_shipment, resign, statement_marking


@pytest.fixture
def memo(monkeypatch: pytest.MonkeyPatch) -> ShapeMemo:
    fresh = ShapeMemo()
    monkeypatch.setattr(bundle_module, "_SHAPES", fresh)
    return fresh


@pytest.fixture(scope="module")
def parties() -> Parties:
    return Parties()


def another_release(n: int) -> Any:
    """A release of the same class as make_shipment()'s: other item id, number, times, body, log head."""
    base = make_shipment()
    return replace(
        base,
        release_seq=1000 + n,
        item=replace(base.item, id=f"K-MSL-{n}-군사"),
        decided=date(2019, 10, 1) + timedelta(days=n),
        created=datetime(2019, 10, 1, 8, tzinfo=UTC) + timedelta(seconds=17 * n, milliseconds=n),
        body=bytes(range(n % 256)) * (n + 1),
        log_head={**base.log_head, "size": 40 + n, "root": f"{n:064x}"},
    )


def test_releases_of_one_class_are_validated_once_and_all_open(parties, memo):
    bundles = [parties.build(another_release(n)) for n in range(20)]
    assert memo.validated == 1  # the first one, in full
    for made in bundles:
        parties.open(made)
    assert memo.validated == 1
    assert all(stix_problems(made) == [] for made in bundles[:3])  # and the verdict was right


def test_a_new_label_is_a_new_shape(parties, memo):
    parties.build(make_shipment())
    parties.build(make_shipment(marking_definition=statement_marking("KR-III / JP-HI")))
    assert memo.validated == 2


def test_a_bad_marking_time_is_not_covered_by_a_good_bundles_verdict(parties, memo):
    good = parties.build(make_shipment())
    parties.open(good)
    bad = copy.deepcopy(good)
    bad["objects"][0]["created"] = "2019-02-30T00:00:00.000Z"  # the form of a timestamp, not a real day
    with pytest.raises(BundleError, match=r"not valid STIX 2\.1"):
        parties.open(resign(bad, parties.signer))
    marking = {**statement_marking(), "created": "2019-02-30T00:00:00.000Z"}
    with pytest.raises(BundleError, match="would not be valid STIX"):
        parties.build(make_shipment(marking_definition=marking))


def test_an_unknown_property_in_the_marking_is_judged_in_full(parties, memo):
    parties.build(make_shipment())
    marking = {**statement_marking(), "Bad-Name": "x"}  # strict properties: not a valid property name
    with pytest.raises(BundleError, match="would not be valid STIX"):
        parties.build(make_shipment(marking_definition=marking))
    assert memo.validated == 2


def test_the_memo_keeps_at_most_its_bound() -> None:
    memo = ShapeMemo(kept=2)
    bundles = [
        Parties().build(make_shipment(marking_definition=statement_marking(f"text {n}"))) for n in range(3)
    ]
    for made in bundles:
        shape = {"n": made["objects"][0]["definition"]["statement"]}
        assert memo.problems(made, shape) == []
    assert memo.validated == 3
    memo.problems(bundles[0], {"n": "text 0"})  # forgotten: the oldest went first
    assert memo.validated == 4


def signature_of(made: dict[str, Any]) -> dict[str, str]:
    return dict(made["objects"][4]["extensions"][bundle_module.EXTENSION_ID]["signature"])


ids = (
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
)
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
)
hexes = st.text("0123456789abcdef", min_size=1, max_size=64)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    item=ids,
    level=ids,
    topic=ids,
    seq=st.integers(1, 2**53 - 1),
    day=st.dates(date(1971, 1, 1), date(2999, 12, 31)),
    moment=moments,
    body=st.binary(max_size=300),
    size=st.integers(0, 2**40),
    root=hexes,
)
def test_same_shape_same_verdict(parties, item, level, topic, seq, day, moment, body, size, root):
    """Bundles whose shapes are equal get the same verdict from the validator itself."""
    first = make_shipment()
    taken = {first.sender, first.recipient, first.originator, *first.route, first.item.marking}
    taken |= {*first.item.caveats, *(first.item.releasable_to or ())}
    assume(len({item, level, topic}) == 3 and not {item, level, topic} & taken)
    other = replace(
        first,
        release_seq=seq,
        decided=day,
        created=moment,
        body=body,
        item=ItemMeta(
            item, level, first.item.marking, (topic,), first.item.releasable_to, first.item.caveats
        ),
        log_head={**first.log_head, "size": size, "root": root},
    )
    a, b = parties.build(first), parties.build(other)
    assert canonical(_shape(first, "k", signature_of(a))) == canonical(_shape(other, "k", signature_of(b)))
    assert stix_problems(a) == stix_problems(b) == []
