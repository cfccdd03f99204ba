"""Tamper evidence end to end, on SQLite and PostgreSQL: an intruder who can write the node's database
but not read its keys can neither make the node act on a forged row nor hide an edit from ``verify``.

Each test builds a real node through the services, then edits the database directly (append-only
triggers off, as an intruder with the file or a DBA could) and checks what the node and ``verify`` do.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.ledger import TreeHead, frontier, leaf_hash
from gsomia.services import journal
from gsomia.services.errors import TamperError
from gsomia.services.logstore import LoggedStore
from gsomia.services.worldbook import Worldbook
from gsomia.store import open_store, schema
from gsomia.store.sql import SqlStore
from tests.contract import pg

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
    services.import_world(EXAMPLES)
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


def tamper(services: Services, *statements: str) -> None:
    """Run SQL on the node's database with its append-only triggers and foreign keys out of the way."""
    store = services.store.inner if isinstance(services.store, LoggedStore) else services.store
    assert isinstance(store, SqlStore)
    if store.engine.dialect.name == "sqlite":
        raw = store.engine.raw_connection()  # plain sqlite3, autocommit: the pragma takes effect
        try:
            raw.execute("PRAGMA foreign_keys = OFF")
            for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                raw.execute(f"DROP TRIGGER {name}")
            raw.execute("BEGIN")
            for statement in statements:
                raw.execute(statement)
            raw.execute("COMMIT")
        finally:
            raw.close()
        return
    with store.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers, no FK checks
        for statement in statements:
            conn.execute(text(statement))


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
    raw_world = Worldbook(services.store.inner).full_world()  # what a node without the check would act on
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
    # a batch reads and proves its bodies together: the swap stops it, and nothing is recorded
    before = len(fresh().releases.releases())
    with pytest.raises(TamperError, match="is not the one its leaf proves"):
        fresh().releases.release_many(
            [("K-B2", "USA", "2019-10-01", None), ("K-B1", "USA", "2019-10-01", None)]
        )
    assert len(fresh().releases.releases()) == before
    # a refusal reads no body: it is recorded, as a single release records it
    refused = fresh().releases.release_many([("K-B1", "JPN", "1990-01-01", None)])
    assert not refused[0].decision.allowed


def test_a_deleted_body_is_named_by_verify_and_refused(node, fresh):
    """Delete a stored body: verify names its leaf, and a release of the item stops the node."""
    _, services = node
    tamper(services, "DELETE FROM bodies WHERE item = 'K-B2'")
    assert any("body:K-B2, but the store holds no such body" in f for f in faults(services))
    with pytest.raises(TamperError, match="body of item 'K-B2' is gone"):
        services.releases.release("K-B2", "USA", "2019-10-01")
    with pytest.raises(TamperError, match="body of item 'K-B2' is gone"):
        fresh().releases.release_many(
            [("K-B1", "USA", "2019-10-01", None), ("K-B2", "USA", "2019-10-01", None)]
        )


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


def test_a_record_stored_in_an_equivalent_form_is_no_fault_but_one_changed_value_is(node, fresh):
    """Verify holds each record's stored text against its leaf byte for byte first; a text that differs
    only in form (spaces after the separators) is parsed and found to be the same record, and one that
    differs in one value (a string, a number type, a key) is named."""
    _, services = node
    tamper(services, "UPDATE records SET data = replace(data, '\",\"', '\", \"') WHERE key = 'K-TOP-1'")
    raw = services.store.inner if isinstance(services.store, LoggedStore) else services.store
    with raw.read() as uow:
        data = next(t[3] for t in uow.record_texts() if t[2] == "K-TOP-1")
    stored = data.decode() if isinstance(data, bytes) else str(data)
    assert '", "' in stored  # the form changed
    assert faults(services) == []
    assert fresh().worldbook.full_world().items["K-TOP-1"].level == "KR-I"
    tamper(services, "UPDATE records SET data = replace(data, '\"KR-I\"', '\"KR-I \"') WHERE key = 'K-TOP-1'")
    found = faults(services)
    assert len(found) == 1
    assert "does not hold record:" in found[0]


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE records SET key = CAST(x'ff41' AS TEXT) WHERE seq = 3", "records row 3 is malformed"),
        ("UPDATE records SET data = CAST(x'7bff7d' AS TEXT) WHERE seq = 4", "records row 4 is malformed"),
        ("UPDATE leaves SET ref = CAST(x'ff41' AS TEXT) WHERE idx = 5", "leaves row 5 is malformed"),
        ("UPDATE records SET data = CAST(data AS BLOB) WHERE seq = 6", "records row 6 is malformed"),
    ],
)
def test_text_that_is_not_utf8_is_a_fault_naming_its_row(node, statement, named):
    """SQLite stores any bytes as text, and a blob where text was: such a row is named as malformed by
    verify, never a crash and never passed (the whole-log read decodes text strictly first, then
    leniently to find the row, and takes a record's data as bytes only if it is stored as text)."""
    url, services = node
    if not url.startswith("sqlite"):
        pytest.skip("PostgreSQL refuses text that is not UTF-8 when it is written")
    tamper(services, statement)
    assert any(named in f for f in faults(services))


def test_json_nested_too_deeply_in_a_record_or_a_body_leaf_is_a_fault_not_a_crash(node, fresh):
    """A record's data, or a body's leaf, edited into JSON nested past Python's recursion limit: verify
    names the row and a release stops with TamperError (never a RecursionError)."""
    _, services = node
    deep = '{"a":' + "[" * 50_000 + "]" * 50_000 + "}"
    tamper(services, f"UPDATE records SET data = '{deep}' WHERE seq = 3")
    assert any("records row 3 is malformed" in f for f in faults(services))
    with pytest.raises(TamperError):
        fresh().releases.release("K-B1", "USA", "2019-10-01")


def test_a_deeply_nested_body_leaf_stops_a_batch_with_tamper_error(node, fresh):
    _, services = node
    deep = '{"a":' + "[" * 50_000 + "]" * 50_000 + "}"
    blob = "X'" + deep.encode().hex() + "'" if node[0].startswith("sqlite") else f"'\\x{deep.encode().hex()}'"
    tamper(services, f"UPDATE leaves SET data = {blob} WHERE ref = 'body:K-B1'")
    with pytest.raises(TamperError):
        fresh().releases.release_many([("K-B1", "USA", "2019-10-01", None)])


def test_a_record_row_added_twice_is_named_by_verify(node):
    """With the primary key dropped (PostgreSQL lets a DBA), a record copied onto a second row."""
    url, services = node
    if url.startswith("sqlite"):
        pytest.skip("a SQLite record's number is its rowid: a second row with it cannot be stored")
    tamper(
        services,
        "ALTER TABLE records DROP CONSTRAINT pk_records",
        "INSERT INTO records SELECT * FROM records WHERE seq = 5",
    )
    assert any("records row 5 appears twice" in f for f in faults(services))


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
        fresh().worldbook.full_world()
    with pytest.raises(TamperError, match="it was edited"):
        fresh().releases.release("K-TOP-1", "USA", "2019-10-01")


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


# -- any single-row change ---------------------------------------------------------------------------

# (primary key, content columns) of each table; outbox.seq and heads.seq only order storage, so an edit of
# them alone changes nothing a reader acts on and is not a change to content
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "records": ("seq", ("seq", "kind", "key", "data")),
    "bodies": ("item", ("item", "wrapped_key", "nonce", "ciphertext")),
    "releases": ("seq", ("seq", "item", "recipient", "holder", "at", "allowed", "decision", "recorded")),
    "outbox": ("seq", ("release_seq", "recipient", "wrapped_key", "nonce", "ciphertext")),
    "leaves": ("idx", ("idx", "kind", "ref", "data")),
    "tree_nodes": ("level, idx", ("level", "idx", "hash")),
    "heads": ("seq", ("data",)),
}
JSON_COLUMNS = {("records", "data"), ("releases", "decision"), ("heads", "data")}
INT_COLUMNS = {"seq", "idx", "level", "release_seq"}
BLOB_COLUMNS = {"wrapped_key", "nonce", "ciphertext", "data", "hash"}


def _new_value(table: str, column: str) -> str:
    if (table, column) in JSON_COLUMNS:
        return "'{\"edited\": true}'"
    if column == "allowed":
        return "NOT allowed"
    if column in INT_COLUMNS:
        return f"{column} + 1000"
    if column in BLOB_COLUMNS:
        return f"{column} || {column}"  # longer bytes: never equal to what was there
    if column == "at":
        return "'0001-01-01'"  # a day no release here is on, and as long as a day (VARCHAR(10))
    return f"{column} || 'X'"


def _mutation(table: str, op: str, row: int, column: int) -> list[str]:
    key, columns = TABLES[table]
    pick = f"SELECT {key} FROM {table} ORDER BY {key} LIMIT 1 OFFSET {row}"
    where = f"({key}) IN ({pick})" if "," in key else f"{key} = ({pick})"
    if op == "delete":
        return [f"DELETE FROM {table} WHERE {where}"]
    if op == "edit":
        name = columns[column % len(columns)]
        return [
            f"CREATE TEMP TABLE target AS SELECT {key} FROM {table} ORDER BY {key} LIMIT 1 OFFSET {row}",
            f"UPDATE {table} SET {name} = {_new_value(table, name)} "
            f"WHERE ({key}) IN (SELECT {key} FROM target)",
        ]
    fresh_key = {
        "records": "(SELECT max(seq) + 1 FROM records)",
        "releases": "(SELECT max(seq) + 1 FROM releases)",
        "outbox": "(SELECT max(seq) + 1 FROM outbox)",
        "leaves": "(SELECT max(idx) + 1 FROM leaves)",
        "heads": "(SELECT max(seq) + 1 FROM heads)",
    }
    others = ", ".join(c for c in _all_columns(table) if c not in key.split(", "))
    if table == "bodies":
        return [f"INSERT INTO bodies SELECT 'ZZ-NEW', {others} FROM bodies WHERE {where}"]
    if table == "tree_nodes":
        return [f"INSERT INTO tree_nodes SELECT 40, 0, hash FROM tree_nodes WHERE {where}"]
    copied = f"SELECT {fresh_key[table]}, {others} FROM {table} WHERE {where}"
    return [f"INSERT INTO {table} ({key}, {others}) {copied}"]


def _all_columns(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in schema.metadata.tables[table].columns)


@contextmanager
def _node_once(sql_url: str, keys: NodeKeys, tmp_path: Path) -> Iterator[Services]:
    """A node as the ``node`` fixture builds it, in a database of its own (one per Hypothesis example)."""
    with ExitStack() as stack:
        if sql_url.startswith("sqlite"):
            url = f"sqlite:///{tmp_path / f'node-{uuid.uuid4().hex}.db'}"
        else:
            url = stack.enter_context(pg.fresh_schema(pg.server_url()))
        services = stack.enter_context(services_on(url, keys, tmp_path))
        services.import_world(EXAMPLES)
        services.items.add_item("K-B1", "KOR", "KR-II", ["dprk-missile"], body=b"body one")
        services.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"body two")
        services.releases.release("K-B1", "JPN", "2019-10-01")
        services.releases.release("K-B2", "JPN", "2019-10-01")
        services.releases.release("K-NF-1", "USA", "2019-10-01")
        yield services


def _count(services: Services, table: str) -> int:
    store = services.store.inner if isinstance(services.store, LoggedStore) else services.store
    assert isinstance(store, SqlStore)
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_row_edit_insert_or_delete_makes_verify_fail(sql_url, keys, tmp_path, data):
    """Change one row of one table (edit a content column, insert a copy, delete it): verify fails."""
    with _node_once(sql_url, keys, tmp_path) as services:
        table = data.draw(st.sampled_from(sorted(TABLES)), label="table")
        rows = _count(services, table)
        op = data.draw(st.sampled_from(["edit", "insert", "delete"]), label="op")
        row = data.draw(st.integers(0, rows - 1), label="row")
        column = data.draw(st.integers(0, 7), label="column")
        assert services.audit.verify().ok
        tamper(services, *_mutation(table, op, row, column))
        assert not services.audit.verify().ok
