"""The PostgreSQL store (psycopg 3), selected by a ``postgresql://`` URL in the node's settings.

Writers are serialised the way SQLite serialises them: the first statement of every write unit takes a
transaction-level advisory lock (``pg_advisory_xact_lock``) keyed on the schema, released by COMMIT or
ROLLBACK; a unit sends it in one pipeline with its first look at the log (see :mod:`gsomia.store.unit`),
before the unit is handed over, and the server runs it before that look. Writers run at READ COMMITTED
so that, once a writer holds the lock, its statements see every transaction committed before it, and the
counters it reads (``max(idx) + 1``) continue them without a gap. Readers run at REPEATABLE READ, read
only: one consistent snapshot per unit, never blocked by writers.

The schema comes from the connection's ``search_path``, so several nodes (or test runs) can share a
database in their own schemas: ``postgresql://u@host/db?options=-csearch_path%3Dnode_a``.
"""

from __future__ import annotations

from sqlalchemy import URL, Connection, create_engine, make_url, text

from .sql import SqlStore

# the first key of the advisory lock: "gsomia writer"; the second is the schema's hash
WRITER_LOCK_CLASS = 0x67534D49
WRITER_LOCK_KEY = "CAST(:lock_class AS integer), hashtext(coalesce(current_schema(), ''))"
_LOCK = text(f"SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")
# the same, as a write unit sends it ahead of its first look (in one pipeline with it)
_LOCK_LATER = "SELECT pg_advisory_xact_lock(CAST({} AS integer), hashtext(coalesce(current_schema(), '')))"
DRIVERS = ("postgresql", "postgres", "postgresql+psycopg")
# connections a process holds: as many as SQLAlchemy's default allows at once (5 kept + 10 more), but all
# kept open, since a connection opened and closed again costs the server a new backend process (a server
# worker's threads, up to 40, each take one per read); four workers stay within PostgreSQL's default 100
POOL_SIZE = 15
POOL_OVERFLOW = 0


class PostgresStore(SqlStore):
    """A node database in a PostgreSQL schema."""

    def __init__(self, url: str | URL) -> None:
        super().__init__(create_engine(psycopg_url(url), pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW))

    def _writer(self, conn: Connection) -> Connection:
        return conn.execution_options(isolation_level="READ COMMITTED")

    def _lock(self, conn: Connection) -> None:
        conn.execute(_LOCK, {"lock_class": WRITER_LOCK_CLASS})

    def _lock_statement(self) -> tuple[str, tuple[object, ...]]:
        return _LOCK_LATER, (WRITER_LOCK_CLASS,)

    def _reader(self, conn: Connection) -> Connection:
        return conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def psycopg_url(url: str | URL) -> URL:
    """The SQLAlchemy URL for psycopg 3, from ``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``."""
    parsed = make_url(url)
    if parsed.drivername not in DRIVERS:
        raise ValueError(f"not a PostgreSQL URL for psycopg 3: {parsed.drivername}://…")
    return parsed.set(drivername="postgresql+psycopg")
