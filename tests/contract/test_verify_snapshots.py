"""``log verify`` asks its whole-log questions side by side, on units that share one snapshot
(``SqlUnitOfWork.shared_snapshot``): on SQLite taken while the database's write lock is held, on
PostgreSQL exported and imported. A commit while the snapshots start is in all of them or in none, an edit
undone meanwhile is still named, and when one snapshot cannot be shared verify works on one unit alone.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

import pytest

from gsomia.bootstrap import Services
from gsomia.services import journal, logcheck
from gsomia.services.errors import StoredRowError
from gsomia.services.ports import LogScan
from gsomia.store import unit as unit_module
from gsomia.store.sql import SqlStore
from gsomia.store.unit import SqlUnitOfWork
from tests.contract.test_tamper_evidence import tamper
from tests.contract.test_verify_scan_review import _item_seq, _loose
from tests.contract.verifynode import small_node

UNITS = logcheck.SIDE_BY_SIDE + 1


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """How often verify fell back to reading every row, and how often it asked its questions side by side
    (with how many helper units)."""
    seen: dict[str, list[int]] = {"exact": [], "helpers": []}
    exact, scanned = logcheck._read_all, logcheck._scanned

    def counted_exact(uow: object, records: bool) -> object:
        seen["exact"].append(1)
        return exact(uow, records)  # type: ignore[arg-type]

    def counted_scan(uow: object, helpers: tuple[object, ...] = ()) -> object:
        seen["helpers"].append(len(helpers))
        return scanned(uow, helpers)  # type: ignore[arg-type]

    monkeypatch.setattr(logcheck, "_read_all", counted_exact)
    monkeypatch.setattr(logcheck, "_scanned", counted_scan)
    return seen


def _store(services: Services) -> SqlStore:
    store = services.audit._store
    assert isinstance(store, SqlStore)
    return store


def _sqlite(services: Services) -> bool:
    return _store(services).engine.dialect.name == "sqlite"


def _when_first_unit_started(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]
) -> list[threading.Thread]:
    """Run ``action`` in a thread of its own as soon as the first shared unit has fixed its snapshot, and
    give it a second to finish before the next unit starts (on SQLite it cannot: it waits for the lock)."""
    mark = SqlUnitOfWork.snapshot_mark
    started: list[threading.Thread] = []

    def marked(self: SqlUnitOfWork) -> tuple[object, ...]:
        found = mark(self)
        if not started:
            thread = threading.Thread(target=action)
            started.append(thread)
            thread.start()
            thread.join(timeout=1.0)
        return found

    monkeypatch.setattr(SqlUnitOfWork, "snapshot_mark", marked)
    return started


def test_the_shared_units_read_one_snapshot_and_not_a_later_commit(node):
    with _store(node).read() as uow, uow.shared_snapshot(UNITS) as units:
        assert len(units) == UNITS
        assert all(isinstance(u, LogScan) for u in units)
        sizes = {u.leaf_count() for u in units}
        heads = {u.latest_head()[0] for u in units}  # type: ignore[index]
        node.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"two")  # commits now
        assert {u.leaf_count() for u in units} == sizes
        assert {u.latest_head()[0] for u in units} == heads  # type: ignore[index]
    assert len(sizes) == 1
    assert len(heads) == 1
    with _store(node).read() as later:
        assert later.leaf_count() > sizes.pop()


def test_a_clean_node_is_verified_side_by_side_without_reading_every_row(node, calls):
    report = node.audit.verify()
    assert report.ok
    assert report.leaves == node.audit.head().size
    assert calls == {"exact": [], "helpers": [logcheck.SIDE_BY_SIDE]}


def test_a_write_committed_while_the_snapshots_start_is_in_none_of_them(node, calls, monkeypatch):
    size = node.audit.head().size

    def write() -> None:
        node.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"two")

    started = _when_first_unit_started(monkeypatch, write)
    report = node.audit.verify()
    started[0].join()
    assert report.ok
    assert report.leaves == size  # the snapshot every question read is the one before the write
    assert calls == {"exact": [], "helpers": [logcheck.SIDE_BY_SIDE]}  # all answered yes: no mixed views
    assert node.audit.head().size > size
    assert node.audit.verify().ok


def test_an_edit_undone_while_the_snapshots_start_is_still_named(node, calls, monkeypatch):
    """A tree node swapped before verify began and swapped back once its first unit had its snapshot: if
    the other units saw the undone tree, the tree question would say yes about a tree the first unit's
    snapshot does not hold, and verify would call the log clean. Every unit sees the edit instead."""
    tamper(
        node,
        "CREATE TABLE kept AS SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 0",
        "UPDATE tree_nodes SET hash = (SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 1) "
        "WHERE level = 0 AND idx = 0",
    )

    def undo() -> None:
        tamper(node, "UPDATE tree_nodes SET hash = (SELECT hash FROM kept) WHERE level = 0 AND idx = 0")

    started = _when_first_unit_started(monkeypatch, undo)
    report = node.audit.verify()
    started[0].join()
    found = [f.what for f in report.faults]
    assert any("stored tree node (0, 0) differs" in what for what in found), found
    assert calls["helpers"] == [logcheck.SIDE_BY_SIDE]
    monkeypatch.undo()
    assert node.audit.verify().ok  # the undo did commit, after verify's snapshots began


def test_units_that_do_not_agree_are_not_used(node, calls, monkeypatch):
    """Each unit reads the log's size and newest head; should two differ, no unit is given, and verify
    asks its questions on its own unit, one after another."""
    mark = SqlUnitOfWork.snapshot_mark
    seen: list[int] = []

    def differing(self: SqlUnitOfWork) -> tuple[object, ...]:
        seen.append(1)
        return (*mark(self), len(seen))

    monkeypatch.setattr(SqlUnitOfWork, "snapshot_mark", differing)
    with _store(node).read() as uow, uow.shared_snapshot(UNITS) as units:
        assert units == []
    assert node.audit.verify().ok
    assert calls == {"exact": [], "helpers": [0]}


def test_a_writer_holding_sqlite_s_lock_leaves_verify_on_one_unit(tmp_path, calls, monkeypatch):
    node = small_node(f"sqlite:///{tmp_path / 'node.db'}", tmp_path)
    try:
        monkeypatch.setattr(unit_module, "SHARE_WAIT_S", 0.05)
        holder = sqlite3.connect(tmp_path / "node.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with _store(node).read() as uow, uow.shared_snapshot(UNITS) as units:
                assert units == []
            report = node.audit.verify()
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        assert report.ok
        assert calls == {"exact": [], "helpers": [0]}
        assert node.audit.verify().ok
        assert calls["helpers"] == [0, logcheck.SIDE_BY_SIDE]  # the lock free again: side by side
    finally:
        node.close()


def test_a_fault_found_side_by_side_is_named_by_the_exact_check_on_the_same_snapshot(node, calls):
    tamper(node, "DELETE FROM tree_nodes WHERE level = 1 AND idx = 0")
    found = [f.what for f in node.audit.verify().faults]
    assert any("level 1 does not have" in what for what in found), found
    assert calls == {"exact": [1], "helpers": [logcheck.SIDE_BY_SIDE]}


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_leaves_read_in_chunks_give_the_same_tree(node, monkeypatch, chunk):
    from gsomia.store import scan

    with _store(node).read() as uow:
        whole = logcheck._leaf_tree(uow)  # type: ignore[arg-type]
        monkeypatch.setattr(scan, "LEAF_CHUNK", chunk)
        pieces = logcheck._leaf_tree(uow)  # type: ignore[arg-type]
    assert whole is not None
    assert pieces is not None
    assert pieces.root() == whole.root()
    assert node.audit.verify().ok


def test_a_repeated_index_in_a_later_chunk_of_leaves_is_a_no(node, monkeypatch):
    """Leaf 4 numbered 3 (the primary key dropped): as many leaves as the highest index says, from 0, but
    the chunk that should hold 2 and 3 holds 2, 3 and 3. Reading that chunk is refused."""
    from gsomia.store import scan

    monkeypatch.setattr(scan, "LEAF_CHUNK", 2)
    tamper(node, *_loose(node, "leaves"), "UPDATE leaves SET idx = 3 WHERE idx = 4")
    with _store(node).read() as uow:
        chunks = uow.leaf_data()
        assert chunks is not None  # the count, lowest and highest index are as they should be
        with pytest.raises(StoredRowError):
            list(chunks)
        assert logcheck._scanned(uow) is None
    found = [f.what for f in node.audit.verify().faults]
    assert any("leaf 4 is missing: the stored leaves jump to 3" in what for what in found), found


def test_leaf_data_that_is_not_bytes_in_a_later_chunk_is_a_no(node, monkeypatch):
    from gsomia.store import scan

    monkeypatch.setattr(scan, "LEAF_CHUNK", 2)
    if _sqlite(node):
        tamper(node, "UPDATE leaves SET data = CAST(data AS TEXT) WHERE idx = 5")
    else:
        tamper(
            node,
            "ALTER TABLE leaves ALTER COLUMN data DROP NOT NULL",
            "UPDATE leaves SET data = NULL WHERE idx = 5",
        )
    with _store(node).read() as uow:
        chunks = uow.leaf_data()
        assert chunks is not None
        with pytest.raises(StoredRowError):
            list(chunks)
        assert logcheck._scanned(uow) is None
    found = [f.what for f in node.audit.verify().faults]
    assert any("leaves row 5 is malformed" in what for what in found), found


def test_a_snapshot_postgresql_will_not_share_leaves_verify_on_one_unit(
    postgres_url, tmp_path, calls, monkeypatch
):
    """Importing the snapshot fails (here: a snapshot that does not exist): no units, and verify asks its
    questions on its own unit."""
    node = small_node(postgres_url, tmp_path)
    try:
        execute = SqlUnitOfWork._execute_raw

        def unknown(self: SqlUnitOfWork, sql: str) -> None:
            execute(self, "SET TRANSACTION SNAPSHOT '00000003-0000FFFF-1'")

        monkeypatch.setattr(SqlUnitOfWork, "_execute_raw", unknown)
        with _store(node).read() as uow, uow.shared_snapshot(UNITS) as units:
            assert units == []
        assert node.audit.verify().ok
        assert calls == {"exact": [], "helpers": [0]}
    finally:
        node.close()


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE leaves SET kind = CAST(kind AS BLOB) WHERE ref = 'record:{seq}'",
        "UPDATE leaves SET ref = CAST(ref AS BLOB) WHERE ref = 'record:{seq}'",
        "UPDATE leaves SET data = CAST(data AS TEXT) WHERE ref = 'record:{seq}'",
    ],
)
def test_the_records_question_says_no_to_a_leaf_value_of_another_type_on_sqlite(tmp_path, edit):
    """The question tests no leaf value's type: each is compared with "=" to a value of the type it must
    have, and on SQLite a blob never equals a text, whatever the bytes."""
    node = small_node(f"sqlite:///{tmp_path / 'node.db'}", tmp_path)
    try:
        with _store(node).read() as uow:
            assert uow.records_match_leaves(journal.RECORD_LEAF_PIECES, journal.LEAF_KINDS)
        seq = _item_seq(node)
        tamper(node, edit.format(seq=seq))
        with _store(node).read() as uow:
            assert not uow.records_match_leaves(journal.RECORD_LEAF_PIECES, journal.LEAF_KINDS)
    finally:
        node.close()


def test_the_stored_tree_is_read_level_by_level_in_index_order(node):
    with _store(node).read() as uow:
        levels = uow.tree_levels()
        tree = logcheck._leaf_tree(uow)  # type: ignore[arg-type]
    assert tree is not None
    assert levels == logcheck._joined(tree)


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE tree_nodes SET idx = -1 WHERE level = 0 AND idx = 0",
        "UPDATE tree_nodes SET idx = 1000000000000000 WHERE level = 0 AND idx = 0",
        "UPDATE tree_nodes SET idx = 1000000000000000 + idx WHERE level = 1",
    ],
)
def test_a_tree_index_out_of_the_numbers_range_is_a_no(node, edit):
    tamper(node, edit)
    with _store(node).read() as uow:
        assert uow.tree_levels() is None


def test_numbers_out_of_order_in_a_level_are_a_no():
    from gsomia.store import scan

    hashes = [bytes([k]) * 32 for k in range(5)]
    numbers = scan._numbers(5)

    def joined(order: list[int]) -> bytes:
        parts = [hashes[order[0]]]
        for k in order[1:]:
            parts += [numbers[16 * k : 16 * k + 16], hashes[k]]
        return b"".join(parts)

    assert scan._unpicked(joined([0, 1, 2, 3, 4]), 5, numbers) == b"".join(hashes)
    assert scan._unpicked(joined([0, 2, 1, 3, 4]), 5, numbers) is None
    assert scan._unpicked(joined([0, 1, 2, 3]), 5, numbers) is None
    assert scan._unpicked(joined([0, 1, 2, 3, 4])[:-1], 5, numbers) is None
