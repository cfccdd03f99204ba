"""A release proves its item's record and its body's leaf in one pass: one look-up of their leaves and
one read of the stored tree nodes their paths need, not one of each per row (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gsomia.bootstrap import compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.scenario import load_spec
from gsomia.services.errors import TamperError
from gsomia.store import open_store
from gsomia.store.unit import SqlUnitOfWork
from tests.contract.test_node_at_scale import EXAMPLES
from tests.contract.test_tamper_evidence import tamper

CALLS = ("item_records", "leaves_by_ref", "tree_nodes_at", "stored_body")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each of :data:`CALLS` is asked of the store's units."""
    counted: Counter[str] = Counter()
    for name in CALLS:
        inner = getattr(SqlUnitOfWork, name)

        def wrapped(self: Any, *args: Any, _inner: Any = inner, _name: str = name, **kwargs: Any) -> Any:
            counted[_name] += 1
            return _inner(self, *args, **kwargs)

        monkeypatch.setattr(SqlUnitOfWork, name, wrapped)
    return counted


def _node(url: str, tmp_path: Path, keys: NodeKeys) -> Any:
    return compose(open_store(url), keys, Settings.resolve({"node_dir": str(tmp_path)}))


def test_a_release_proves_its_item_and_its_body_together(sql_url: str, tmp_path: Path, calls: Counter[str]):
    keys = NodeKeys.generate()
    with _node(sql_url, tmp_path, keys) as services:
        services.worldbook.import_spec(load_spec(EXAMPLES), "examples.yaml")
        services.items.add_item("K-P0", "KOR", "KR-II", ["dprk-missile"], body=b"zero")
        services.items.add_item("K-P1", "KOR", "KR-II", ["dprk-missile"], body=b"one")
    with _node(sql_url, tmp_path, keys) as services:  # a new process: the item is read and proven
        services.releases.release("K-P0", "JPN", "2019-10-01")  # the process has checked the log since
        calls.clear()
        outcome = services.releases.release("K-P1", "JPN", "2019-10-01")
        assert outcome.decision.allowed
        assert outcome.outbox is not None
        assert services.releases.open_payload(outcome.outbox) == b"one"
    assert calls == Counter(item_records=1, leaves_by_ref=1, tree_nodes_at=1, stored_body=1), calls


def test_a_body_leaf_proven_with_its_record_still_catches_an_edited_body(sql_url: str, tmp_path: Path):
    """K-P2's sealed body copied over K-P1's: the release of K-P1 (its record and body leaf proven in one
    pass) stops with TamperError and records nothing."""
    keys = NodeKeys.generate()
    with _node(sql_url, tmp_path, keys) as services:
        services.worldbook.import_spec(load_spec(EXAMPLES), "examples.yaml")
        services.items.add_item("K-P1", "KOR", "KR-II", ["dprk-missile"], body=b"one")
        services.items.add_item("K-P2", "KOR", "KR-II", ["dprk-missile"], body=b"two")
        tamper(
            services,
            *(
                f"UPDATE bodies SET {c} = (SELECT {c} FROM bodies WHERE item = 'K-P2') WHERE item = 'K-P1'"
                for c in ("wrapped_key", "nonce", "ciphertext")
            ),
        )
    with _node(sql_url, tmp_path, keys) as services:
        with pytest.raises(TamperError, match="body of item 'K-P1' is not the one its leaf proves"):
            services.releases.release("K-P1", "JPN", "2019-10-01")
        assert services.releases.releases() == []


def _two_items(sql_url: str, tmp_path: Path, keys: NodeKeys) -> None:
    with _node(sql_url, tmp_path, keys) as services:
        services.worldbook.import_spec(load_spec(EXAMPLES), "examples.yaml")
        services.items.add_item("K-P1", "KOR", "KR-II", ["dprk-missile"], body=b"one")
        services.items.add_item("K-P2", "KOR", "KR-II", ["dprk-missile"], body=b"two")


def _bytes_literal(sql_url: str, data: bytes) -> str:
    return f"X'{data.hex()}'" if sql_url.startswith("sqlite") else f"'\\x{data.hex()}'"


def test_a_forged_body_leaf_proven_with_its_record_is_caught_by_its_inclusion_proof(
    sql_url: str, tmp_path: Path
):
    """K-P2's body copied over K-P1's, and K-P1's body leaf rewritten to name K-P2's digest: the body
    matches its leaf, and only the leaf's proof against the signed tree tells. The release stops."""
    keys = NodeKeys.generate()
    _two_items(sql_url, tmp_path, keys)
    with _node(sql_url, tmp_path, keys) as services:
        with services.store.read() as uow:
            [leaf] = uow.leaves_by_ref(["body:K-P2"])
        forged = _bytes_literal(sql_url, leaf.data.replace(b'"K-P2"', b'"K-P1"'))
        tamper(
            services,
            *(
                f"UPDATE bodies SET {c} = (SELECT {c} FROM bodies WHERE item = 'K-P2') WHERE item = 'K-P1'"
                for c in ("wrapped_key", "nonce", "ciphertext")
            ),
            f"UPDATE leaves SET data = {forged} WHERE ref = 'body:K-P1'",
        )
    with _node(sql_url, tmp_path, keys) as services:
        with pytest.raises(TamperError, match=r"\(body:K-P1\) is not in the tree"):
            services.releases.release("K-P1", "JPN", "2019-10-01")
        assert services.releases.releases() == []


def test_a_refusal_also_stops_on_a_damaged_body_leaf_of_its_item(sql_url: str, tmp_path: Path):
    """The item's body leaf is proven with its record, before the decision: a release that would be
    refused stops too (the log is damaged: nothing is recorded until it is looked into)."""
    keys = NodeKeys.generate()
    _two_items(sql_url, tmp_path, keys)
    with _node(sql_url, tmp_path, keys) as services:
        tamper(services, f"UPDATE leaves SET data = {_bytes_literal(sql_url, b'{}')} WHERE ref = 'body:K-P1'")
    with _node(sql_url, tmp_path, keys) as services:
        with pytest.raises(TamperError, match="body:K-P1"):
            services.releases.release("K-P1", "JPN", "1990-01-01")  # before any agreement: refused
        assert services.releases.releases() == []
        assert not services.releases.release("K-P2", "JPN", "1990-01-01").decision.allowed
