"""An adversarial review of ``log verify``'s fast path (gsomia.store.scan, ``logcheck._scanned``).

The contract: the fast path may answer "clean" only when the exact, row-by-row check (``_read_all``)
finds no fault either; any doubt must send verify to the exact check. Each test here edits the database
as an intruder could (any row of any table, triggers off; on SQLite a column's type or collation changed
by rebuilding its table) and holds verify's report to the exact check's report on the same database:
the same faults, and at least the one the edit makes.

The second group are the review's findings, each an edit the first version of the fast path passed
while the exact check named it (a column's type or collation changed, an index stored as a blob, an
edit undone between snapshots, a record's text that is not UTF-8): fixed by the schema check
(``schema_as_made``), typed and byte-wise comparisons, one snapshot for every question, and verify's
rule that any fault at all is reported by the exact check.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsomia.bootstrap import Services
from gsomia.ledger import MerkleTree, leaf_hashes
from gsomia.services import journal, logcheck
from gsomia.services.logcheck import VerifyReport
from gsomia.services.logstore import LoggedStore
from gsomia.store.sql import SqlStore
from tests.contract.test_tamper_evidence import tamper
from tests.contract.verifynode import small_node


@pytest.fixture
def pg_node(postgres_url: str, tmp_path: Path) -> Iterator[Services]:
    """A node on PostgreSQL, for edits only PostgreSQL allows (a column's collation)."""
    services = small_node(postgres_url, tmp_path)
    yield services
    services.close()


def _sql_store(services: Services) -> SqlStore:
    store = services.store.inner if isinstance(services.store, LoggedStore) else services.store
    assert isinstance(store, SqlStore)
    return store


def _sqlite(services: Services) -> bool:
    return _sql_store(services).engine.dialect.name == "sqlite"


def _item_seq(services: Services) -> int:
    with services.store.read() as uow:
        return next(r.seq for r in uow.records() if r.kind == "item" and r.key == "K-B1")


def _exact_only(uow: object, helpers: object = ()) -> None:
    return None


def reports(services: Services, monkeypatch: pytest.MonkeyPatch, **kw: bool) -> tuple[VerifyReport, ...]:
    """verify's report as it is, and the exact check's report (the fast path turned off)."""
    fast = services.audit.verify(**kw)
    with monkeypatch.context() as patch:
        patch.setattr(logcheck, "_scanned", _exact_only)
        exact = services.audit.verify(**kw)
    return fast, exact


def assert_named_alike(services: Services, monkeypatch: pytest.MonkeyPatch, named: str, **kw: bool) -> None:
    """The exact check names the edit, and verify reports just what the exact check reports."""
    fast, exact = reports(services, monkeypatch, **kw)
    found = [f.what for f in exact.faults]
    assert any(named in what for what in found), found
    assert [f.what for f in fast.faults] == found


def contract_holds(services: Services, records: bool = True) -> tuple[bool, list[str]]:
    """On one snapshot: whether ``_scanned`` kept its contract (None, or no more "clean" than the exact
    check), and what the exact check names."""
    audit = services.audit
    with audit._store.read() as uow:
        scanned = logcheck._scanned(uow) if records else None
        exact = logcheck._read_all(uow, records)
    named = [f.what for f in exact.faults] if isinstance(exact, VerifyReport) else [f.what for f in exact[1]]
    if scanned is None:
        return True, named
    return sorted(f.what for f in scanned[1]) == sorted(named), named


# -- SQL for edits that need a table rebuilt (SQLite) or a constraint dropped (PostgreSQL) ---------------


def _rebuild(table: str, columns: str, select: str = "*", order: str = "") -> list[str]:
    """SQLite: the table made again with ``columns`` (types, collations, keys as given), rows copied."""
    return [
        f"CREATE TABLE {table}_rebuilt ({columns})",
        f"INSERT INTO {table}_rebuilt SELECT {select} FROM {table} {order}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_rebuilt RENAME TO {table}",
    ]


LOOSE_TREE_NODES = _rebuild("tree_nodes", "level INTEGER, idx BIGINT, hash BLOB")
LOOSE_LEAVES = _rebuild("leaves", "idx INTEGER, kind VARCHAR(32), ref TEXT, data BLOB")


def _loose(services: Services, table: str, column: str | None = None) -> list[str]:
    """SQL that drops ``table``'s primary key (and ``column``'s NOT NULL) on either database."""
    if _sqlite(services):
        return {"tree_nodes": LOOSE_TREE_NODES, "leaves": LOOSE_LEAVES}[table]
    sql = [f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}"]
    if column is not None:
        sql.append(f"ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")
    return sql


# == edits the fast path hands to the exact check, as it should (these pass) ================================


@pytest.mark.parametrize("ref", ["record:000{seq}", "RECORD:{seq}", "record:{seq} ", "record:+{seq}"])
def test_a_record_leaf_renamed_to_a_look_alike_ref_is_named(node, monkeypatch, ref):
    seq = _item_seq(node)
    tamper(node, f"UPDATE leaves SET ref = '{ref.format(seq=seq)}' WHERE ref = 'record:{seq}'")
    assert_named_alike(node, monkeypatch, f"record:{seq} has no leaf")


def test_a_record_of_a_kind_with_no_leaf_kind_is_named(node, monkeypatch):
    """kind 'itemx' is not in LEAF_KINDS: its leaf should be labelled '?', and then its JSON differs."""
    seq = _item_seq(node)
    tamper(
        node,
        f"UPDATE records SET kind = 'itemx' WHERE seq = {seq}",
        f"UPDATE leaves SET kind = '?' WHERE ref = 'record:{seq}'",
    )
    assert_named_alike(node, monkeypatch, f"does not hold record:{seq}")


def test_a_key_with_a_control_character_is_named(node, monkeypatch):
    seq = _item_seq(node)
    tamper(node, f"UPDATE records SET key = key || {_chr(node)}(31) WHERE seq = {seq}")
    assert_named_alike(node, monkeypatch, f"does not hold record:{seq}")


def _chr(services: Services) -> str:
    return "char" if _sqlite(services) else "chr"


def test_a_key_with_a_nul_in_it_is_named_on_sqlite(lite, monkeypatch):
    """SQLite text may hold a NUL (PostgreSQL text cannot): json_quote escapes it as the encoder does."""
    seq = _item_seq(lite)
    tamper(lite, f"UPDATE records SET key = key || CAST(x'00' AS TEXT) WHERE seq = {seq}")
    assert_named_alike(lite, monkeypatch, f"does not hold record:{seq}")


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE records SET data = CAST(data AS BLOB) WHERE seq = {seq}", "records row {seq} is malformed"),
        ("UPDATE records SET key = CAST(key AS BLOB) WHERE seq = {seq}", "records row {seq} is malformed"),
        ("UPDATE records SET kind = CAST(kind AS BLOB) WHERE seq = {seq}", "records row {seq} is malformed"),
        (
            "UPDATE records SET key = key || CAST(x'ff' AS TEXT) WHERE seq = {seq}",
            "records row {seq} is malformed",
        ),
        ("UPDATE leaves SET ref = CAST(ref AS BLOB) WHERE ref = 'record:{seq}'", "is malformed"),
        ("UPDATE leaves SET kind = CAST(kind AS BLOB) WHERE ref = 'record:{seq}'", "is labelled b'item'"),
        ("UPDATE leaves SET data = CAST(data AS TEXT) WHERE ref = 'record:{seq}'", "is malformed"),
        ("UPDATE leaves SET ref = CAST(x'72ff' AS TEXT) WHERE ref = 'release:1'", "is malformed"),
        ("UPDATE tree_nodes SET hash = CAST(hash AS TEXT) WHERE level = 1 AND idx = 0", "is malformed"),
        ("UPDATE tree_nodes SET level = CAST('1' AS BLOB) WHERE level = 1 AND idx = 0", "level 1 does not"),
    ],
)
def test_a_value_of_another_storage_class_is_named_on_sqlite(lite, monkeypatch, edit, named):
    seq = _item_seq(lite)
    tamper(lite, edit.format(seq=seq))
    assert_named_alike(lite, monkeypatch, named.format(seq=seq))


def test_a_null_tree_hash_next_to_a_double_length_one_is_named(node, monkeypatch):
    doubled = "CAST(hash || hash AS BLOB)" if _sqlite(node) else "hash || hash"  # SQLite: || gives text
    tamper(
        node,
        *_loose(node, "tree_nodes", "hash"),
        f"UPDATE tree_nodes SET hash = {doubled} WHERE level = 1 AND idx = 0",
        "UPDATE tree_nodes SET hash = NULL WHERE level = 1 AND idx = 1",
    )
    assert_named_alike(node, monkeypatch, "tree_nodes row (1, 1) is malformed")


def test_a_repeated_tree_node_is_named(node, monkeypatch):
    tamper(
        node,
        *_loose(node, "tree_nodes"),
        "INSERT INTO tree_nodes (level, idx, hash) SELECT level, idx, hash FROM tree_nodes "
        "WHERE level = 0 AND idx = 2",
    )
    assert_named_alike(node, monkeypatch, "level 0 does not have the log's")


def test_a_repeated_leaf_is_named(node, monkeypatch):
    tamper(
        node,
        *_loose(node, "leaves"),
        "INSERT INTO leaves (idx, kind, ref, data) SELECT idx, kind, ref, data FROM leaves WHERE idx = 3",
    )
    assert_named_alike(node, monkeypatch, "leaf 4 is missing: the stored leaves jump to 3")


def test_a_null_leaf_is_named(node, monkeypatch):
    tamper(node, *_loose(node, "leaves", "data"), "UPDATE leaves SET data = NULL WHERE idx = 3")
    assert_named_alike(node, monkeypatch, "leaves row 3 is malformed")


def test_tree_rows_stored_out_of_order_in_a_rebuilt_table_are_checked_row_by_row_and_clean(lite, monkeypatch):
    """A rebuilt tree_nodes table (no key) with its rows in reverse order: nothing is wrong, but the table
    is not as the migrations made it, so the database is not asked; the exact check finds it clean."""
    tamper(lite, *_rebuild("tree_nodes", "level INTEGER, idx BIGINT, hash BLOB", order="ORDER BY level DESC"))
    with lite.audit._store.read() as uow:
        assert logcheck._scanned(uow) is None
    fast, exact = reports(lite, monkeypatch)
    assert fast.ok
    assert exact.ok


def test_a_leaf_ref_that_is_not_text_is_named_when_records_are_checked(node, monkeypatch):
    edit = "UPDATE leaves SET ref = CAST(ref AS BLOB) WHERE idx = 0"
    if not _sqlite(node):
        edit = "UPDATE leaves SET ref = NULL WHERE idx = 0"
        tamper(node, "ALTER TABLE leaves ALTER COLUMN ref DROP NOT NULL")
    tamper(node, edit)
    assert_named_alike(node, monkeypatch, "leaves row 0 is malformed")


# == the review's findings, fixed: verify reports what the exact check reports =============================


@pytest.mark.parametrize("level", [0, 1])
def test_a_tree_node_index_stored_as_a_blob_is_named(lite, monkeypatch, level):
    tamper(
        lite,
        f"UPDATE tree_nodes SET idx = CAST(CAST(idx AS TEXT) AS BLOB) WHERE level = {level} "
        f"AND idx = (SELECT max(idx) FROM tree_nodes WHERE level = {level})",
    )
    assert_named_alike(lite, monkeypatch, f"level {level} does not have the log's")


UNTYPED_RECORDS = _rebuild("records", "seq, kind VARCHAR(32) NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL")


def test_a_record_number_stored_as_text_is_named(lite, monkeypatch):
    seq = _item_seq(lite)
    tamper(lite, *UNTYPED_RECORDS, f"UPDATE records SET seq = CAST(seq AS TEXT) WHERE seq = {seq}")
    assert_named_alike(lite, monkeypatch, f"records row '{seq}' is malformed")


def test_a_record_repeated_with_its_number_as_text_is_named(lite, monkeypatch):
    seq = _item_seq(lite)
    tamper(
        lite,
        *UNTYPED_RECORDS,
        f"INSERT INTO records SELECT CAST(seq AS TEXT), kind, key, data FROM records WHERE seq = {seq}",
    )
    assert_named_alike(lite, monkeypatch, f"records row '{seq}' is malformed")


def test_a_record_number_of_another_type_is_named_on_postgres(pg_node, monkeypatch):
    seq = _item_seq(pg_node)
    tamper(pg_node, "ALTER TABLE records ALTER COLUMN seq TYPE NUMERIC")
    assert_named_alike(pg_node, monkeypatch, f"records row Decimal('{seq}') is malformed")


COLLATED_LEAVES = _rebuild(
    "leaves",
    "idx INTEGER NOT NULL PRIMARY KEY, kind VARCHAR(32) COLLATE NOCASE NOT NULL, "
    "ref TEXT COLLATE RTRIM NOT NULL, data BLOB NOT NULL",
)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE leaves SET kind = 'ITEM' WHERE ref = 'record:{seq}'", "is labelled 'ITEM'"),
        ("UPDATE leaves SET ref = ref || '  ' WHERE ref = 'record:{seq}'", "record:{seq} has no leaf"),
    ],
)
def test_a_leaf_label_or_ref_equal_only_under_a_collation_is_named_on_sqlite(lite, monkeypatch, edit, named):
    seq = _item_seq(lite)
    tamper(lite, *COLLATED_LEAVES, edit.format(seq=seq))
    assert_named_alike(lite, monkeypatch, named.format(seq=seq))


CASELESS = "CREATE COLLATION caseless (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"


def test_a_leaf_label_equal_only_under_a_collation_is_named_on_postgres(pg_node, monkeypatch):
    seq = _item_seq(pg_node)
    tamper(
        pg_node,
        CASELESS,
        "ALTER TABLE leaves ALTER COLUMN kind TYPE VARCHAR(32) COLLATE caseless",
        f"UPDATE leaves SET kind = 'ITEM' WHERE ref = 'record:{seq}'",
    )
    assert_named_alike(pg_node, monkeypatch, "is labelled 'ITEM'")


def test_a_padded_leaf_label_is_named_on_postgres(pg_node, monkeypatch):
    seq = _item_seq(pg_node)
    tamper(pg_node, "ALTER TABLE leaves ALTER COLUMN kind TYPE CHAR(32)")
    assert_named_alike(pg_node, monkeypatch, f"but record:{seq} is a item")


def test_a_leaf_ref_under_a_nondeterministic_collation_is_reported_not_raised(pg_node, monkeypatch):
    seq = _item_seq(pg_node)
    tamper(
        pg_node,
        CASELESS,
        "ALTER TABLE leaves ALTER COLUMN ref TYPE TEXT COLLATE caseless",
        f"UPDATE leaves SET ref = 'RECORD:{seq}' WHERE ref = 'record:{seq}'",
    )
    assert_named_alike(pg_node, monkeypatch, f"record:{seq} has no leaf")


RACES = {
    "a record's key": (
        ["UPDATE records SET key = 'K-B9' WHERE seq = {seq}"],
        ["UPDATE records SET key = 'K-B1' WHERE seq = {seq}"],
        "does not hold record:{seq}",
    ),
    "a stored tree node": (
        [
            "CREATE TABLE kept AS SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 0",
            "UPDATE tree_nodes SET hash = (SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 1) "
            "WHERE level = 0 AND idx = 0",
        ],
        ["UPDATE tree_nodes SET hash = (SELECT hash FROM kept) WHERE level = 0 AND idx = 0"],
        "stored tree node (0, 0) differs",
    ),
}


@pytest.mark.parametrize("race", sorted(RACES))
def test_an_edit_undone_after_verify_began_is_still_named(node, monkeypatch, race):
    """Every question is asked on verify's own snapshot: an edit undone once it began is still seen."""
    edit, undo, named = RACES[race]
    seq = _item_seq(node)
    tamper(node, *(s.format(seq=seq) for s in edit))
    with node.audit._store.read() as uow:
        uow.leaf_count()  # the snapshot begins
        tamper(node, *(s.format(seq=seq) for s in undo))
        scanned = logcheck._scanned(uow)
        exact = logcheck._read_all(uow, True)  # the same snapshot, read row by row
    assert not isinstance(exact, VerifyReport)
    found = [f.what for f in exact[1]]
    assert any(named.format(seq=seq) in what for what in found), found
    assert scanned is None or [f.what for f in scanned[1]] == found


def test_a_leaf_ref_that_is_not_text_is_named_when_only_the_tree_is_checked(node, monkeypatch):
    edit = "UPDATE leaves SET ref = CAST(ref AS BLOB) WHERE idx = 0"
    if not _sqlite(node):
        edit = "UPDATE leaves SET ref = NULL WHERE idx = 0"
        tamper(node, "ALTER TABLE leaves ALTER COLUMN ref DROP NOT NULL")
    tamper(node, edit)
    assert_named_alike(node, monkeypatch, "leaves row 0 is malformed", records=False)


def _rewrite_leaf(services: Services, ref: str, data: bytes) -> None:
    """SQLite: put ``data`` in the leaf named ``ref`` and store the whole tree recomputed, as an intruder
    without the signing key can (the signed heads no longer match, which verify reports either way)."""
    tamper(services, "SELECT 1")  # triggers off
    path = _sql_store(services).engine.url.database
    assert path is not None
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("BEGIN")
        raw.execute("UPDATE leaves SET data = ? WHERE ref = ?", (data, ref))
        leaves = [row[0] for row in raw.execute("SELECT data FROM leaves ORDER BY idx")]
        levels = MerkleTree.build(leaf_hashes(leaves)).export_levels()
        raw.execute("DELETE FROM tree_nodes")
        raw.executemany(
            "INSERT INTO tree_nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(k, i, h) for k, row in enumerate(levels) for i, h in enumerate(row)],
        )
        raw.execute("COMMIT")
    finally:
        raw.close()


def test_a_key_that_is_not_utf8_with_a_matching_leaf_is_named(lite, monkeypatch):
    seq = _item_seq(lite)
    tamper(lite, f"UPDATE records SET key = key || CAST(x'ff' AS TEXT) WHERE seq = {seq}")
    with _sql_store(lite).read() as uow:
        kind, key, data = next((r[1], r[2], r[3]) for r in uow.record_texts() if r[0] == seq)
    assert isinstance(data, bytes)
    pieces = [p.encode() for p in journal.RECORD_LEAF_PIECES]
    quoted = b'"' + key.encode("utf-8", "surrogateescape") + b'"'
    leaf = b"".join(
        (
            pieces[0],
            data,
            pieces[1],
            quoted,
            pieces[2],
            b'"%s"' % kind.encode(),
            pieces[3],
            b"%d" % seq,
            pieces[4],
        )
    )
    _rewrite_leaf(lite, f"record:{seq}", leaf)
    assert not lite.audit.verify().ok  # the rewritten leaf no longer gives the signed heads' roots
    # the store's answers cannot tell these bytes from the leaf's, but the signed heads fail, and any
    # fault sends verify to the exact check: the report names the record as the exact check does
    assert_named_alike(lite, monkeypatch, f"records row {seq} is malformed")


def test_a_record_kind_that_is_not_utf8_is_named_not_raised(lite):
    seq = _item_seq(lite)
    tamper(lite, f"UPDATE records SET kind = kind || CAST(x'ff' AS TEXT) WHERE seq = {seq}")
    found = [f.what for f in lite.audit.verify().faults]
    assert any(f"records row {seq} is malformed" in what for what in found), found
