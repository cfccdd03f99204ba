"""The SQLite store, the default: one file, WAL, durable commits, one writer at a time.

SQLAlchemy takes over transaction control from the ``sqlite3`` module (its ``isolation_level`` is set to
None, and the ``begin`` event emits our own BEGIN), so a write unit starts with ``BEGIN IMMEDIATE``: it
takes the write lock up front, waiting up to the busy timeout, and two writers can never deadlock on a
read-then-write upgrade. Readers use a plain (deferred) BEGIN on their own connections: a snapshot of the
last commit, not blocked by the writer in WAL mode. ``synchronous=FULL`` makes every commit reach the disk
before it returns, so a committed release survives a SIGKILL or a power cut.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from .sql import SqlStore

BUSY_TIMEOUT_S = 30.0
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}",
    # a node of a million items is a file of a few GB: a write's look-ups (an item, its leaf, the O(log n)
    # tree nodes of its proof) then read pages through the memory map and a 64 MiB page cache, not one
    # read(2) per page through SQLite's default 2 MiB cache
    "PRAGMA cache_size=-65536",
    f"PRAGMA mmap_size={1 << 30}",
)
_BEGIN_OPTION = "gsomia_sqlite_begin"


class SqliteStore(SqlStore):
    """A node database in one SQLite file."""

    def __init__(self, path: Path) -> None:
        super().__init__(sqlite_engine(path))
        self.path = path

    def _writer(self, conn: Connection) -> Connection:
        return conn.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})

    def _reader(self, conn: Connection) -> Connection:
        return conn.execution_options(**{_BEGIN_OPTION: "BEGIN DEFERRED"})


def sqlite_engine(path: Path) -> Engine:
    """An engine on ``path`` with our pragmas and our own BEGIN on every connection."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": BUSY_TIMEOUT_S})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _lenient_text(raw: bytes) -> str:
    """TEXT read back even if it is not UTF-8 (an intruder may write anything): undecodable bytes become
    lone surrogates, which the unit of work then reports as a malformed row instead of crashing."""
    return raw.decode("utf-8", "surrogateescape")


def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # sqlite3 must not emit BEGIN (nor COMMIT before DDL) on its own: we say when transactions start
    dbapi_connection.isolation_level = None
    dbapi_connection.text_factory = _lenient_text
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_begin(conn: Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN DEFERRED"))
