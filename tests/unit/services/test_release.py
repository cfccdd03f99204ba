"""Releases: the decision, the outbox row and the ledger leaf are written together, or nothing is."""

from __future__ import annotations

import pytest

from gsomia.crypto import SealError
from gsomia.domain.errors import QueryError
from gsomia.ledger import canonical
from gsomia.services.errors import MissingBodyError
from gsomia.services.journal import release_leaf_json
from gsomia.services.release import transport_aad

from .conftest import NOW, snapshot


def test_an_allowed_release_records_the_decision_an_outbox_row_and_a_leaf_together(node):
    """One release: a row with the whole decision, a sealed payload for the recipient, and its leaf."""
    with node.store.read() as uow:
        leaves_before = uow.leaf_count()
    outcome = node.releases.release("K-BODY-1", "JPN", "2019-09-01")
    assert outcome.decision.allowed
    assert outcome.release.allowed
    assert outcome.release.decision == outcome.decision.to_dict()
    assert outcome.release.recorded == NOW.isoformat()
    assert outcome.outbox is not None
    assert outcome.outbox.release_seq == outcome.release.seq
    assert outcome.leaf.index == leaves_before
    assert outcome.leaf.ref == f"release:{outcome.release.seq}"
    assert outcome.leaf.data == canonical(release_leaf_json(outcome.release, outcome.outbox.payload))
    with node.store.read() as uow:
        assert list(uow.releases()) == [outcome.release]
        assert list(uow.outbox()) == [outcome.outbox]
        assert uow.leaves(outcome.leaf.index)[0] == outcome.leaf


def test_the_outbox_payload_carries_the_body_under_a_fresh_key_bound_to_release_and_recipient(node):
    """The payload opens to the body only as this release to this recipient."""
    outcome = node.releases.release("K-BODY-1", "JPN", "2019-09-01")
    assert outcome.outbox is not None
    payload = outcome.outbox.payload
    assert node.releases.open_payload(outcome.outbox) == b"PLAINTEXT-CANARY-body-1"
    with node.store.read() as uow:
        stored = uow.get_body("K-BODY-1")
    assert stored is not None
    assert stored.wrapped_key != payload.wrapped_key
    with pytest.raises(SealError):
        node.keys.open(payload, transport_aad(outcome.release.seq, "USA"))
    with pytest.raises(SealError):
        node.keys.open(payload, transport_aad(outcome.release.seq + 1, "JPN"))


def test_a_denied_release_is_recorded_with_its_reasons_and_no_outbox_row(node):
    """A refusal is a decision: recorded whole, with the failing rules, and a leaf, but nothing to send."""
    outcome = node.releases.release("K-NF-1", "JPN", "2019-09-01")
    assert not outcome.decision.allowed
    assert outcome.outbox is None
    failed = [r["rule"] for r in outcome.release.decision["reasons"] if not r["ok"]]
    assert "caveats" in failed
    with node.store.read() as uow:
        assert [r.allowed for r in uow.releases()] == [False]
        assert list(uow.outbox()) == []
        assert uow.leaves(outcome.leaf.index)[0].ref == f"release:{outcome.release.seq}"


def test_a_denied_release_needs_no_body(node):
    """Refusing a metadata-only item is recorded like any refusal."""
    outcome = node.releases.release("K-TOP-1", "JPN", "2019-09-01")
    assert not outcome.decision.allowed
    assert outcome.outbox is None


@pytest.mark.parametrize(
    ("item", "to", "at", "holder"),
    [
        ("NO-SUCH", "JPN", "2019-09-01", None),
        ("K-BODY-1", "XXX", "2019-09-01", None),
        ("K-BODY-1", "KOR", "2019-09-01", None),
        ("K-BODY-1", "JPN", "2019-02-30", None),
        ("K-BODY-1", "JPN", "2019-09-01", "NOBODY"),
    ],
)
def test_bad_input_raises_and_writes_nothing(node, item, to, at, holder):
    """Unknown ids, sender = recipient or a bad day: a QueryError, and the store is unchanged."""
    before = snapshot(node.store, ("K-BODY-1",))
    with pytest.raises(QueryError):
        node.releases.release(item, to, at, holder)
    assert snapshot(node.store, ("K-BODY-1",)) == before


def test_an_allowed_release_of_an_item_without_a_body_is_refused_before_anything_is_written(node):
    """A metadata-only item cannot be sent: MissingBodyError, and no decision, outbox row or leaf."""
    before = snapshot(node.store)
    with pytest.raises(MissingBodyError, match="gsomia item body K-MSL-1"):
        node.releases.release("K-MSL-1", "JPN", "2019-09-01")
    assert snapshot(node.store) == before


def test_a_failure_while_sealing_the_payload_leaves_no_release_behind(node, monkeypatch):
    """If anything fails after the release row is added, the row, outbox and leaf all roll back."""
    before = snapshot(node.store)

    def broken(chunks: object, associated: bytes) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(node.keys, "seal_chunks", broken)  # the transport seal takes the body in segments
    with pytest.raises(RuntimeError, match="disk on fire"):
        node.releases.release("K-BODY-1", "JPN", "2019-09-01")
    assert snapshot(node.store) == before


def test_releases_list_every_release_and_refusal_in_order(node):
    """releases() returns each recorded release, allowed or denied, oldest first."""
    node.releases.release("K-BODY-1", "JPN", "2019-09-01")
    node.releases.release("K-NF-1", "JPN", "2019-09-01")
    node.releases.release("K-BODY-1", "USA", "2019-09-01")
    rows = node.releases.releases()
    assert [(r.seq, r.item, r.recipient, r.allowed) for r in rows] == [
        (1, "K-BODY-1", "JPN", True),
        (2, "K-NF-1", "JPN", False),
        (3, "K-BODY-1", "USA", True),
    ]
    assert [o.release_seq for o in node.releases.outbox()] == [1, 3]


def test_every_release_has_exactly_one_leaf_and_every_record_and_body_one_leaf(node):
    """The ledger holds one leaf per record, per release and per stored body, nothing else."""
    for at in ("2019-09-01", "2020-09-01", "2019-09-02"):
        node.releases.release("K-BODY-1", "JPN", at)
    with node.store.read() as uow:
        refs = [leaf.ref for leaf in uow.leaves()]
        expected = {f"record:{r.seq}" for r in uow.records()} | {f"release:{r.seq}" for r in uow.releases()}
        expected |= {f"body:{item}" for item, _ in uow.bodies()}
    assert sorted(refs) == sorted(expected)
    assert len(refs) == len(set(refs))
