"""``log verify`` on SQLite asks its two whole-log questions of child processes (gsomia.store.scanproc)
from ``APART_FROM_LEAVES`` leaves (here: from none), on the one snapshot its own unit reads: the
database's write lock is held until every child has fixed its snapshot and reported its mark, and a
child's answers are taken only if its mark is the units'. A child that does not start, dies, hangs,
fails or reports another snapshot never makes a log "clean": its question is asked in the parent, on the
unit's own connection (the same snapshot), and a fault is then named by the exact check.

The children that go wrong are in tests/contract/test_verify_processes_children.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from gsomia.bootstrap import Services
from gsomia.services import logcheck
from gsomia.store import scanproc
from gsomia.store import unit as unit_module
from gsomia.store.sql import SqlStore
from tests.contract import test_verify_processes_children as children
from tests.contract.test_tamper_evidence import tamper
from tests.contract.test_verify_scan_review import _item_seq
from tests.contract.verifynode import small_node

UNITS = logcheck.SIDE_BY_SIDE + 1


@pytest.fixture
def lite(lite: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The small SQLite node, its questions sent to child processes however short its log."""
    monkeypatch.setattr(scanproc, "APART_FROM_LEAVES", 0)
    return lite


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[object]]:
    """What verify did: fell back to reading every row ("exact"), asked side by side with how many helper
    units ("helpers"), what each child answered ("asked": FAILED when it gave no answer) and the
    children started ("children")."""
    found: dict[str, list[object]] = {"exact": [], "helpers": [], "asked": [], "children": []}
    exact, scanned, ask, start = (
        logcheck._read_all,
        logcheck._scanned,
        scanproc.ChildScan.ask,
        scanproc.ChildScan.__init__,
    )

    def counted_exact(uow: object, records: bool) -> object:
        found["exact"].append(1)
        return exact(uow, records)  # type: ignore[arg-type]

    def counted_scan(uow: object, helpers: tuple[object, ...] = ()) -> object:
        found["helpers"].append(len(helpers))
        return scanned(uow, helpers)  # type: ignore[arg-type]

    def asked(self: scanproc.ChildScan, question: str, *args: object) -> object:
        answer = ask(self, question, *args)
        found["asked"].append(answer if answer is scanproc.FAILED else question)
        return answer

    def started(self: scanproc.ChildScan, path: str) -> None:
        start(self, path)
        found["children"].append(self)

    monkeypatch.setattr(logcheck, "_read_all", counted_exact)
    monkeypatch.setattr(logcheck, "_scanned", counted_scan)
    monkeypatch.setattr(scanproc.ChildScan, "ask", asked)
    monkeypatch.setattr(scanproc.ChildScan, "__init__", started)
    return found


ANSWERED = ["records_match_leaves", "tree_levels"]


def _all_ended(started: list[object]) -> bool:
    """Whether every child process started has ended and been waited for (reaped, not left a zombie)."""
    processes = [child._process for child in started if isinstance(child, scanproc.ChildScan)]
    return len(processes) == len(started) and all(
        p is not None and p.returncode is not None for p in processes
    )


def _runs(monkeypatch: pytest.MonkeyPatch, child: Callable[..., None]) -> None:
    """Have every child started run ``child`` instead of the real one (by name: the child imports it)."""
    monkeypatch.setattr(scanproc, "ENTRY", f"{child.__module__}:{child.__name__}")


def _store(services: Services) -> SqlStore:
    store = services.audit._store
    assert isinstance(store, SqlStore)
    return store


def _when_first_child_started(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]
) -> list[threading.Thread]:
    """Run ``action`` in a thread of its own as soon as the first child has been started (its snapshot
    not yet fixed), giving it a moment before the next child starts (it cannot finish: the lock is held)."""
    start = scanproc.ChildScan.__init__
    threads: list[threading.Thread] = []

    def started(self: scanproc.ChildScan, path: str) -> None:
        start(self, path)
        if not threads:
            thread = threading.Thread(target=action)
            threads.append(thread)
            thread.start()
            thread.join(timeout=0.3)

    monkeypatch.setattr(scanproc.ChildScan, "__init__", started)
    return threads


def _edit_a_record(node: Services) -> str:
    """Change a record's stored text behind the log's back: the records question's answer is "no"."""
    seq = _item_seq(node)
    tamper(node, f"UPDATE records SET data = replace(data, 'KR-II', 'KR-I') WHERE seq = {seq}")
    return f"record:{seq}"


def _named(node: Services, ref: str) -> list[str]:
    found = [f.what for f in node.audit.verify().faults]
    assert any(ref in what for what in found), found
    return found


def test_a_clean_node_is_verified_by_the_children_without_reading_every_row(lite, seen):
    report = lite.audit.verify()
    assert report.ok
    assert report.leaves == lite.audit.head().size
    assert seen["exact"] == []
    assert seen["helpers"] == [logcheck.SIDE_BY_SIDE]
    assert len(seen["children"]) == logcheck.SIDE_BY_SIDE
    assert sorted(seen["asked"]) == ANSWERED  # type: ignore[type-var]
    assert _all_ended(seen["children"])


def test_a_child_answers_on_the_snapshot_of_the_units_not_a_later_commit(lite, seen):
    with _store(lite).read() as uow, uow.shared_snapshot(UNITS) as units:
        assert [type(u).__name__ for u in units] == ["SqlUnitOfWork", "_AskedApart", "_AskedApart"]
        before = units[0].tree_levels()
        lite.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"two")  # commits now
        assert units[1].tree_levels() == before  # the child's answer, on the snapshot it fixed
        assert seen["asked"] == ["tree_levels"]
    with _store(lite).read() as later:
        assert later.tree_levels() != before


def test_a_write_committed_while_the_children_start_is_in_none_of_their_snapshots(lite, seen, monkeypatch):
    _runs(monkeypatch, children.starts_slowly)
    size = lite.audit.head().size

    def write() -> None:
        lite.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"two")

    threads = _when_first_child_started(monkeypatch, write)
    report = lite.audit.verify()
    threads[0].join()
    assert report.ok
    assert report.leaves == size  # the snapshot every question read is the one before the write
    assert sorted(seen["asked"]) == ANSWERED  # type: ignore[type-var]  # both children's, agreed
    assert seen["exact"] == []
    assert lite.audit.head().size > size
    assert lite.audit.verify().ok


def test_an_edit_undone_while_the_children_start_is_still_named(lite, seen, monkeypatch):
    """A tree node swapped before verify began and swapped back while the children started: had the
    children seen the undone tree, the tree question would say yes about a tree the parent's snapshot does
    not hold, and verify would call the log clean."""
    _runs(monkeypatch, children.starts_slowly)
    tamper(
        lite,
        "CREATE TABLE kept AS SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 0",
        "UPDATE tree_nodes SET hash = (SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 1) "
        "WHERE level = 0 AND idx = 0",
    )

    def undo() -> None:
        tamper(lite, "UPDATE tree_nodes SET hash = (SELECT hash FROM kept) WHERE level = 0 AND idx = 0")

    threads = _when_first_child_started(monkeypatch, undo)
    report = lite.audit.verify()
    threads[0].join()
    found = [f.what for f in report.faults]
    assert any("stored tree node (0, 0) differs" in what for what in found), found
    assert sorted(seen["asked"]) == ANSWERED  # type: ignore[type-var]  # the children's own "no"
    monkeypatch.undo()
    assert lite.audit.verify().ok  # the undo did commit, after verify's snapshots began


def test_a_child_reporting_another_snapshot_is_not_believed(lite, seen, monkeypatch):
    """The child says yes to the records question (as it might about another snapshot); its mark is
    not the units', so it is not asked: the parent asks, finds the edited record, and names it."""
    _runs(monkeypatch, children.says_yes_from_another_snapshot)
    ref = _edit_a_record(lite)
    _named(lite, ref)
    assert seen["asked"] == [scanproc.FAILED, scanproc.FAILED]
    assert seen["exact"] == [1]


@pytest.mark.parametrize(
    "child",
    [
        children.dies_before_its_mark,
        children.hangs_before_its_mark,
        children.dies_on_its_question,
        children.raises_on_its_question,
        children.answers_nonsense,
    ],
)
def test_a_child_that_fails_never_makes_an_edited_log_clean(lite, seen, monkeypatch, child):
    _runs(monkeypatch, child)
    monkeypatch.setattr(scanproc, "START_WAIT_S", 1.0)
    ref = _edit_a_record(lite)
    _named(lite, ref)
    assert seen["exact"] == [1]
    assert len(seen["children"]) == logcheck.SIDE_BY_SIDE
    assert seen["asked"] == [scanproc.FAILED, scanproc.FAILED] or child is children.answers_nonsense
    assert _all_ended(seen["children"])  # the one that hangs too: killed


@pytest.mark.parametrize("child", [children.dies_on_its_question, children.raises_on_its_question])
def test_a_child_that_fails_on_the_tree_question_never_makes_an_edited_tree_clean(
    lite, seen, monkeypatch, child
):
    _runs(monkeypatch, child)
    tamper(lite, "UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0")
    found = [f.what for f in lite.audit.verify().faults]
    assert any("stored tree node (1, 0) differs" in what for what in found), found
    assert seen["exact"] == [1]


def test_a_child_that_fails_leaves_a_clean_log_clean(lite, seen, monkeypatch):
    """Its question asked in the parent instead, on the same snapshot: the answer the child would give."""
    _runs(monkeypatch, children.dies_on_its_question)
    assert lite.audit.verify().ok
    assert seen["asked"] == [scanproc.FAILED, scanproc.FAILED]
    assert seen["exact"] == []


def test_a_short_log_keeps_its_questions_in_threads(tmp_path, seen):
    node = small_node(f"sqlite:///{tmp_path / 'node.db'}", tmp_path)
    try:
        assert node.audit.verify().ok
        assert seen["children"] == []
        assert seen["helpers"] == [logcheck.SIDE_BY_SIDE]
    finally:
        node.close()


def test_postgresql_keeps_its_questions_in_threads(postgres_url, tmp_path, seen, monkeypatch):
    monkeypatch.setattr(scanproc, "APART_FROM_LEAVES", 0)
    node = small_node(postgres_url, tmp_path)
    try:
        assert node.audit.verify().ok
        assert seen["children"] == []
        assert seen["helpers"] == [logcheck.SIDE_BY_SIDE]
    finally:
        node.close()


def test_a_writer_holding_the_lock_starts_no_child(lite, seen, monkeypatch, tmp_path):
    import sqlite3

    monkeypatch.setattr(unit_module, "SHARE_WAIT_S", 0.05)
    holder = sqlite3.connect(tmp_path / "node.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        report = lite.audit.verify()
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    assert report.ok
    assert seen["children"] == []
    assert seen["helpers"] == [0]
