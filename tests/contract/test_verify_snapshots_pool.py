"""Verify's shared snapshot takes its connections from the pool before it takes SQLite's write lock
(gsomia.store.unit.SqlUnitOfWork._share): when the pool is busy (a serving node answering other requests),
verify may wait for a connection, but no writer waits for verify, and a pool that gives none in time means
no shared snapshot (verify works on its own unit), never an error."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from gsomia.bootstrap import Services
from gsomia.store.sql import SqlStore


def test_verify_with_a_busy_pool_reports_and_never_blocks_writers(lite: Services, tmp_path: Path) -> None:
    store = lite.audit._store
    assert isinstance(store, SqlStore)
    pool = store.engine.pool
    pool._timeout = 1.0  # type: ignore[attr-defined]  # the default is 30 s; same behaviour, shorter
    # other requests of a serving node hold all but two of the pool's 15 connections (5 + 10 overflow)
    held = [store.engine.connect() for _ in range(pool.size() + pool._max_overflow - 2)]  # type: ignore[attr-defined]
    blocked: list[bool] = []

    def writer() -> None:  # a release arriving while verify waits for its connections
        db = sqlite3.connect(tmp_path / "node.db", timeout=0.3, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            blocked.append(False)
        except sqlite3.OperationalError:
            blocked.append(True)
        finally:
            db.close()

    timer = threading.Timer(0.5, writer)
    timer.start()
    try:
        report = lite.audit.verify()  # raises sqlalchemy.exc.TimeoutError
    finally:
        timer.join()
        for conn in held:
            conn.close()
    assert report.ok
    assert blocked == [False], "a writer was locked out while verify waited for a pooled connection"
