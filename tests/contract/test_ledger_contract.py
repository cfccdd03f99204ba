"""The transparency log over every store: leaves, stored tree nodes and signed heads commit with their
records, proofs verify, and a unit of work that fails leaves no leaf, node or head behind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gsomia.bootstrap import compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.ledger import TreeHead, verify_head, verify_inclusion

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"


@pytest.fixture
def services(store, tmp_path):
    keys = NodeKeys.generate()
    return compose(
        store, keys, Settings.resolve({"node_dir": str(tmp_path)}), lambda: datetime(2024, 1, 1, tzinfo=UTC)
    )


def test_every_write_extends_the_tree_and_signs_a_head(services):
    """After an import, an item and two releases, the log verifies and its newest head covers every leaf."""
    services.import_world(EXAMPLES)
    services.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"b1")
    services.releases.release("K-B1", "JPN", "2019-10-01")
    services.releases.release("K-NF-1", "USA", "2019-10-01")
    report = services.audit.verify()
    assert report.ok, report.faults
    head = services.audit.head()
    assert head.size == report.leaves
    assert verify_head(head, services.keys.verify)
    with services.store.read() as uow:
        sizes = [h["size"] for h in uow.heads()]
    assert sizes == sorted(sizes)
    assert len(sizes) == 4  # one head per write


def test_an_inclusion_proof_of_every_leaf_verifies(services):
    """Each leaf's proof, served from the stored nodes, leads to the signed root."""
    services.import_world(EXAMPLES)
    head: TreeHead = services.audit.head()
    for leaf in range(head.size):
        proof = services.audit.prove(leaf)
        hashes = [bytes.fromhex(h) for h in proof["proof"]]
        assert verify_inclusion(bytes.fromhex(proof["leaf_hash"]), leaf, head.size, hashes, head.root_hash)


def test_a_failed_write_leaves_no_leaf_node_or_head(services):
    """A release that fails inside its unit of work (no body to send) writes nothing to the log either."""
    from gsomia.domain.errors import GsomiaError

    services.import_world(EXAMPLES)
    with services.store.read() as uow:
        before = (uow.leaf_count(), len(uow.tree_nodes()), len(uow.heads()))
    with pytest.raises(GsomiaError):
        services.releases.release("K-MSL-1", "JPN", "2019-10-01")  # allowed, but imported without a body
    with services.store.read() as uow:
        assert (uow.leaf_count(), len(uow.tree_nodes()), len(uow.heads())) == before
    assert services.audit.verify().ok
