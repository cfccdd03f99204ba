"""Tamper evidence end to end, on SQLite and PostgreSQL: an intruder who can write the node's database
but not read its keys can neither make the node act on a forged row nor hide an edit from ``verify``.

Each test builds a real node through the services, then edits the database directly (append-only
triggers off, as an intruder with the file or a DBA could) and checks what the node and ``verify`` do.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.ledger import TreeHead, frontier, leaf_hash
from gsomia.services import journal
from gsomia.services.errors import TamperError
from gsomia.services.logstore import LoggedStore
from gsomia.services.worldbook import Worldbook
from gsomia.store import open_store
from gsomia.store.sql import SqlStore

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def services_on(url: str, keys: NodeKeys, tmp_path: Path) -> Services:
    return compose(open_store(url), keys, Settings.resolve({"node_dir": str(tmp_path)}), lambda: NOW)


@pytest.fixture
def keys() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture
def opened() -> Iterator[list[Services]]:
    """Services a test opens again; closed after it."""
    made: list[Services] = []
    yield made
    for services in made:
        services.close()


@pytest.fixture
def node(sql_url: str, keys: NodeKeys, tmp_path: Path) -> Iterator[tuple[str, Services]]:
    """A KOR node with the examples world, two items with bodies and three releases (one refused)."""
    services = services_on(sql_url, keys, tmp_path)
    services.worldbook.import_world(EXAMPLES)
    services.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"body one")
    services.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"body two")
    services.releases.release("K-B1", "JPN", "2019-10-01")
    services.releases.release("K-B2", "JPN", "2019-10-01")
    services.releases.release("K-NF-1", "USA", "2019-10-01")  # refused: NOFORN
    yield sql_url, services
    services.close()


@pytest.fixture
def fresh(node: tuple[str, Services], keys: NodeKeys, tmp_path: Path, opened: list[Services]):
    """Open the node again, as the next CLI process would: nothing remembered."""

    def open_again() -> Services:
        opened.append(services_on(node[0], keys, tmp_path))
        return opened[-1]

    return open_again


def tamper(services: Services, *statements: str, **params: Any) -> None:
    """Run SQL on the node's database with its append-only triggers out of the way."""
    store = services.store.inner if isinstance(services.store, LoggedStore) else services.store
    assert isinstance(store, SqlStore)
    with store.engine.begin() as conn:
        _triggers_off(conn)
        for statement in statements:
            conn.execute(text(statement), params)


def _triggers_off(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
        for name in list(names):
            conn.execute(text(f"DROP TRIGGER {name}"))
    else:
        conn.execute(text("SET LOCAL session_replication_role = replica"))


def faults(services: Services) -> list[str]:
    report = services.audit.verify()
    return [f.what for f in report.faults]


def forge_agreement(services: Services) -> str:
    """Append a record for AAA-FORGED (KR-I ↔ US-TS) with a well-formed leaf and the tree nodes that
    extend the tree, all computed without any key; no signed head. Returns the forged leaf's ref."""
    raw = services.store.inner if isinstance(services.store, LoggedStore) else services.store
    with raw.begin() as uow:
        template = next(r for r in uow.records() if r.kind == "agreement" and r.key == "USA-KOR-GSOMIA")
        data = copy.deepcopy(template.data)
        data["id"] = "AAA-FORGED"
        data["equivalence_cells"] = [[["KOR", ["KR-I"]], ["USA", ["US-TS"]]]]
        before = uow.leaf_count()
        record, leaf = journal.add_record(uow, "agreement", "AAA-FORGED", data)
        edge = uow.tree_nodes_at(frontier.runs(0, before))
        _size, created, _root = frontier.extend(before, edge, [leaf_hash(leaf.data)])
        uow.add_tree_nodes(created)
    return f"leaf {leaf.index} ({journal.record_ref(record.seq)})"


def test_a_forged_agreement_with_a_well_formed_leaf_is_never_acted_on(node, fresh):
    """The forged record would allow K-TOP-1 to USA; the node refuses to act, naming the unsigned leaf,
    signs nothing over it, and verify fails."""
    _, services = node
    heads_before = len(services.audit.verify().to_dict()["faults"]), services.audit.head().size
    named = forge_agreement(services)
    raw_world = Worldbook(services.store.inner).world()  # what a node without the check would act on
    assert raw_world.decide("K-TOP-1", "USA", "2019-10-01").allowed
    for node_now in (services, fresh()):
        with pytest.raises(TamperError, match=re.escape(f"{named} is not covered by a signed head")):
            node_now.releases.release("K-TOP-1", "USA", "2019-10-01")
        with pytest.raises(TamperError):
            node_now.events.add_event("TISA", "notice", "2021-01-05", by="KOR")
    assert services.audit.head().size == heads_before[1]
    assert any("newest signed head covers" in f for f in faults(services))


def test_a_release_on_a_clean_node_is_still_allowed_after_a_fresh_start(node, fresh):
    """The check passes an untouched node, opened again: the guard refuses only what is unproven."""
    again = fresh()
    assert again.releases.release("K-B1", "USA", "2019-10-01").decision.allowed
    assert again.audit.verify().ok
    assert node[1].releases.release("K-B2", "USA", "2019-10-01").decision.allowed  # the first sees it
    assert node[1].audit.verify().ok


def test_swapped_bodies_are_named_by_verify_and_never_opened(node, fresh):
    """Swap the sealed bodies of two items: verify names both, and neither is released."""
    _, services = node
    tamper(
        services,
        "UPDATE bodies SET item = 'TMP' WHERE item = 'K-B1'",
        "UPDATE bodies SET item = 'K-B1' WHERE item = 'K-B2'",
        "UPDATE bodies SET item = 'K-B2' WHERE item = 'TMP'",
    )
    found = faults(services)
    assert any("body of item 'K-B1'" in f for f in found)
    assert any("body of item 'K-B2'" in f for f in found)
    with pytest.raises(TamperError, match="'K-B1' is not the one its leaf proves"):
        fresh().releases.release("K-B1", "USA", "2019-10-01")


def test_a_deleted_body_is_named_by_verify_and_refused(node, fresh):
    """Delete a stored body: verify names its leaf, and a release of the item stops the node."""
    _, services = node
    tamper(services, "DELETE FROM bodies WHERE item = 'K-B2'")
    assert any("body:K-B2, but the store holds no such body" in f for f in faults(services))
    with pytest.raises(TamperError, match="body of item 'K-B2' is gone"):
        services.releases.release("K-B2", "USA", "2019-10-01")


def test_swapped_outbox_payloads_are_named_by_verify(node):
    """Swap the ciphertexts of two outbox rows: each release's leaf no longer matches."""
    _, services = node
    tamper(
        services,
        "CREATE TEMP TABLE kept AS SELECT release_seq, wrapped_key, nonce, ciphertext FROM outbox",
        "UPDATE outbox SET "
        "wrapped_key = (SELECT wrapped_key FROM kept WHERE kept.release_seq = 3 - outbox.release_seq), "
        "nonce = (SELECT nonce FROM kept WHERE kept.release_seq = 3 - outbox.release_seq), "
        "ciphertext = (SELECT ciphertext FROM kept WHERE kept.release_seq = 3 - outbox.release_seq) "
        "WHERE release_seq IN (1, 2)",
    )
    found = faults(services)
    assert any("release:1 as stored" in f for f in found)
    assert any("release:2 as stored" in f for f in found)


def test_a_head_deleted_from_the_middle_breaks_the_chain(node):
    """Delete the second of the node's signed heads: verify names the head after the gap."""
    _, services = node
    tamper(services, "DELETE FROM heads WHERE seq = 2")
    assert any("stored head 2 names a previous head" in f for f in faults(services))


def test_malformed_json_in_a_stored_record_is_a_fault_naming_it_and_stops_the_node(node, fresh):
    """Garbage where a record's JSON was: verify names the row (no internal error); the node stops."""
    _, services = node
    tamper(services, "UPDATE records SET data = '{not json' WHERE seq = 3")
    assert any("records row 3 is malformed" in f for f in faults(services))
    with pytest.raises(TamperError, match="records row 3 is malformed"):
        fresh().releases.release("K-B1", "USA", "2019-10-01")


def test_malformed_json_in_a_stored_head_is_a_fault_naming_it(node, fresh):
    """Garbage where a head's JSON was: verify names the head; if it is the newest, the node stops."""
    _, services = node
    tamper(services, "UPDATE heads SET data = '{not json' WHERE seq = 3")
    assert any("stored head 3 is malformed" in f for f in faults(services))
    tamper(services, "UPDATE heads SET data = '[1, 2]' WHERE seq = (SELECT max(seq) FROM heads)")
    assert any("is malformed" in f for f in faults(services))
    with pytest.raises(TamperError, match="malformed"):
        fresh().releases.release("K-B1", "USA", "2019-10-01")


def test_an_edited_record_is_refused_by_a_fresh_node_and_named_by_verify(node, fresh):
    """Change a stored item's level: the node opened again refuses to build its world on it."""
    _, services = node
    tamper(services, "UPDATE records SET data = replace(data, 'KR-I\"', 'KR-II\"') WHERE key = 'K-TOP-1'")
    assert any("does not hold record:" in f for f in faults(services))
    with pytest.raises(TamperError, match="it was edited"):
        fresh().worldbook.world()


def test_a_truncated_tail_with_its_heads_is_caught_only_against_a_kept_head(node, fresh):
    """Remove the last write whole (its rows, leaf, nodes and head): verify alone cannot tell, but the
    head a partner kept can."""
    _, services = node
    kept = services.audit.head()
    before = kept.size - 1  # the last release wrote one leaf (a refusal: no outbox row)
    tamper(
        services,
        f"DELETE FROM leaves WHERE idx >= {before}",
        "DELETE FROM releases WHERE seq = 3",
        "DELETE FROM heads WHERE seq = (SELECT max(seq) FROM heads)",
        f"DELETE FROM tree_nodes WHERE (idx + 1) * power(2, level) > {before}",
    )
    again = fresh()
    assert again.audit.verify().ok
    report = again.audit.verify(kept)
    assert any("the head you kept covers" in f.what for f in report.faults)
    assert isinstance(kept, TreeHead)
