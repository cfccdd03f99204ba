"""Children that go wrong, for tests/contract/test_verify_processes.py: each takes the place of
``gsomia.store.scanproc.serve`` in a child process, named by ``scanproc.ENTRY``; the child imports this
module by name to find it, so it imports little (the child's real work: ``sqlite3`` and
gsomia.store.scan).

The tests here have the real child answer a question, and fail one it does not know, and a child import
its code by the parent's ``sys.path``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from gsomia.store import scan, scanproc

if TYPE_CHECKING:  # not imported in a child: it imports this module to find its function
    import pytest


def _marked(path: str, conn: Connection, shift: int = 0) -> sqlite3.Connection:
    """Open the database as the real child does, fix a snapshot and report its mark (its last leaf moved
    by ``shift``: a child that says it reads another snapshot)."""
    db = scanproc._open(path)
    db.execute("BEGIN")
    last, head = db.execute(scan.SNAPSHOT_MARK).fetchone()
    conn.send(("mark", (last + shift, head)))
    return db


def dies_before_its_mark(path: str, conn: Connection) -> None:
    os._exit(3)


def hangs_before_its_mark(path: str, conn: Connection) -> None:
    time.sleep(60)


def dies_on_its_question(path: str, conn: Connection) -> None:
    _marked(path, conn)
    conn.recv()
    os._exit(3)


def raises_on_its_question(path: str, conn: Connection) -> None:
    _marked(path, conn)
    conn.recv()
    raise RuntimeError("a child that fails on its question (raised on purpose by a test)")


def answers_nonsense(path: str, conn: Connection) -> None:
    _marked(path, conn)
    conn.recv()
    conn.send(("answer", "yes"))
    conn.recv()


def says_yes_from_another_snapshot(path: str, conn: Connection) -> None:
    """Reports a snapshot other than the parent's, then says yes to the records question whatever the
    rows (as it might, had it read them before an edit); the tree question it answers truly."""
    db = _marked(path, conn, shift=1)

    def fetch(sql: str, params: object) -> list[object]:
        assert isinstance(params, tuple | list)
        return db.execute(sql.format(*["?"] * len(params)), tuple(params)).fetchall()

    while True:
        try:
            question, _ = conn.recv()
        except EOFError:
            return
        if question == "tree_levels":
            levels = scan.tree_levels(fetch, True)
            conn.send(("chunks", len(levels or [])) if levels else ("answer", None))
            for level in levels or []:
                conn.send_bytes(level)
        else:
            conn.send(("answer", True))


def starts_slowly(path: str, conn: Connection) -> None:
    """The real child, half a second late: long enough for a commit to land first, were it let in."""
    time.sleep(0.5)
    scanproc.serve(path, conn)


def _tiny_log(path: Path) -> bytes:
    """A database holding just what the tree question reads (one leaf, two tree levels); its root."""
    db = sqlite3.connect(path)
    try:
        db.executescript(
            "PRAGMA journal_mode=WAL; CREATE TABLE leaves (idx INTEGER PRIMARY KEY); "
            "CREATE TABLE heads (seq INTEGER PRIMARY KEY, data TEXT); INSERT INTO leaves VALUES (0); "
            "CREATE TABLE tree_nodes (level INTEGER, idx BIGINT, hash BLOB, PRIMARY KEY (level, idx)); "
            "INSERT INTO tree_nodes VALUES (0, 0, zeroblob(32)), (0, 1, zeroblob(32)), "
            "(1, 0, randomblob(32));"
        )
        top: bytes = db.execute("SELECT hash FROM tree_nodes WHERE level = 1").fetchone()[0]
        return top
    finally:
        db.close()


def _tree_levels_asked(path: Path) -> object:
    """The tree question asked of a child started on ``path``, its mark expected to be the tiny log's."""
    child = scanproc.ChildScan(str(path))
    try:
        child.settle(time.monotonic() + 30, (0, None))
        return child.ask("tree_levels")
    finally:
        scanproc.close_all([child])


def test_the_real_child_answers_its_questions_and_no_other(tmp_path: Path) -> None:
    top = _tiny_log(tmp_path / "node.db")
    child = scanproc.ChildScan(str(tmp_path / "node.db"))
    try:
        child.settle(time.monotonic() + 30, (0, None))
        assert child.ask("drop_everything") is scanproc.FAILED
        assert child.ask("tree_levels") is scanproc.FAILED  # nothing more is asked of it
    finally:
        scanproc.close_all([child])
    assert _tree_levels_asked(tmp_path / "node.db") == [bytes(64), top]  # each level a message of its own


def test_a_child_imports_by_the_parents_path_not_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module found only on a directory the parent put on ``sys.path`` (as a script may, to find gsomia)
    is found by the child too: it imports what the parent would."""
    top = _tiny_log(tmp_path / "node.db")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "gsomia_elsewhere.py").write_text("from gsomia.store.scanproc import serve\n")
    monkeypatch.setattr(scanproc, "ENTRY", "gsomia_elsewhere:serve")
    assert _tree_levels_asked(tmp_path / "node.db") is scanproc.FAILED  # not on the child's path: no answer
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    assert _tree_levels_asked(tmp_path / "node.db") == [bytes(64), top]
