"""``log verify`` on SQLite and PostgreSQL asks the database the whole-log questions (gsomia.store.scan)
and reads every row only when an answer is "no" or anything is wrong: a clean node is verified without
the row-by-row check, every edit still sends it there (and is named), and a write meanwhile changes nothing.
"""

from __future__ import annotations

import pytest

from gsomia.bootstrap import Services
from gsomia.services import logcheck
from gsomia.services.ports import LogScan
from tests.contract.test_tamper_evidence import faults, tamper


@pytest.fixture
def exact_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times verify fell back to reading every row."""
    calls: list[int] = []
    exact = logcheck._read_all

    def counted(uow: object, records: bool) -> object:
        calls.append(1)
        return exact(uow, records)  # type: ignore[arg-type]

    monkeypatch.setattr(logcheck, "_read_all", counted)
    return calls


def test_a_clean_node_is_verified_by_the_database_without_reading_every_row(node, exact_calls):
    report = node.audit.verify()
    assert report.ok
    assert report.leaves == node.audit.head().size
    assert exact_calls == []
    assert node.audit.verify(records=False).ok  # the log alone (a measurement): always row by row
    assert exact_calls == [1]


def _record_seq(node: Services, kind: str, key: str) -> int:
    with node.store.read() as uow:
        return next(r.seq for r in uow.records() if r.kind == kind and r.key == key)


EDITS = {
    "a record's data changed": (
        "UPDATE records SET data = replace(data, 'KR-II', 'KR-I') WHERE seq = {item}",
        "does not hold record:{item}",
    ),
    "a record's key changed": ("UPDATE records SET key = 'K-B9' WHERE seq = {item}", "does not hold"),
    "a record deleted": ("DELETE FROM records WHERE seq = {item}", "which the store does not hold"),
    "a record leaf's label changed": (
        "UPDATE leaves SET kind = 'event' WHERE ref = 'record:{item}'",
        "is labelled 'event'",
    ),
    "a record leaf renamed": (
        "UPDATE leaves SET ref = 'record:999999' WHERE ref = 'record:{item}'",
        "record:{item} has no leaf",
    ),
    "two stored tree nodes swapped": (
        "UPDATE tree_nodes SET hash = (SELECT hash FROM tree_nodes WHERE level = 0 AND idx = 1) "
        "WHERE level = 0 AND idx = 0",
        "stored tree node (0, 0) differs",
    ),
    "a stored tree node deleted": (
        "DELETE FROM tree_nodes WHERE level = 1 AND idx = 0",
        "level 1 does not have",
    ),
    "a stored tree node added": (
        "INSERT INTO tree_nodes (level, idx, hash) VALUES (0, 99999, (SELECT hash FROM tree_nodes LIMIT 1))",
        "does not have the log's",
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_every_edit_sends_verify_to_the_row_by_row_check_which_names_it(node, exact_calls, edit):
    statement, named = EDITS[edit]
    item = _record_seq(node, "item", "K-B1")
    tamper(node, statement.format(item=item))
    found = faults(node)
    assert exact_calls == [1]
    assert any(named.format(item=item) in what for what in found), found


def test_a_record_in_an_equivalent_form_is_checked_row_by_row_and_is_no_fault(node, exact_calls):
    item = _record_seq(node, "item", "K-B1")
    tamper(node, f"UPDATE records SET data = replace(data, '\",\"', '\", \"') WHERE seq = {item}")
    assert faults(node) == []
    assert exact_calls == [1]


def test_a_write_after_verify_began_is_not_seen_by_the_check(node, exact_calls):
    """Every question is asked on verify's own snapshot: a write committed meanwhile is not in it."""
    with node.audit._store.read() as uow:
        size = uow.leaf_count()
        node.items.add_item("K-B2", "KOR", "KR-III", ["dprk-nuclear"], body=b"two")  # commits now
        found = logcheck._scanned(uow)
    assert found is not None
    tree, seen = found
    assert tree.size == size
    assert seen == []
    assert node.audit.verify().ok
    assert exact_calls == []


def test_the_store_answers_no_to_a_gap_in_the_leaves_or_the_tree(node):
    tamper(node, "DELETE FROM leaves WHERE idx = 3", "DELETE FROM tree_nodes WHERE level = 0 AND idx = 5")
    with node.audit._store.read() as uow:
        assert isinstance(uow, LogScan)
        assert uow.leaf_data() is None
        assert uow.tree_levels() is None
