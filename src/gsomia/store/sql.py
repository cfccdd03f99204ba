"""What the SQLite and PostgreSQL stores share: transactions around :class:`SqlUnitOfWork`, migrations.

A write unit opens a connection, begins a transaction, takes the database's single writer lock (the dialect
hook: ``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on PostgreSQL), and holds it until
commit or rollback. Writers therefore run one at a time, in the order they got the lock, which is what keeps
ledger leaf numbers contiguous and in commit order. Readers take no lock: each gets its own snapshot.
Within one process, writer threads also queue on a plain lock before asking the database for its lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from .unit import SqlUnitOfWork

MIGRATIONS = Path(__file__).with_name("migrations")


class SqlStore:
    """A node database behind SQLAlchemy; subclasses say how to lock for writing and how to read."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # writers of this process queue here first: fair and prompt, where SQLite's busy handler would poll
        self._writer_lock = threading.Lock()
        self._writer_thread: int | None = None

    @property
    def engine(self) -> Engine:
        """The engine underneath, for tools and tests that inspect the database."""
        return self._engine

    # -- dialect hooks --------------------------------------------------------------------------------

    def _writer(self, conn: Connection) -> Connection:
        """Prepare a connection for a write transaction (before it begins)."""
        return conn

    def _lock(self, conn: Connection) -> None:
        """Take the writer lock, first thing inside the write transaction."""

    def _reader(self, conn: Connection) -> Connection:
        """Prepare a connection for a read-only snapshot (before it begins)."""
        return conn

    # -- the Store port -------------------------------------------------------------------------------

    @contextmanager
    def _write_transaction(self) -> Iterator[Connection]:
        if self._writer_thread == threading.get_ident():
            raise RuntimeError("this thread already has a unit of work open; do the work inside that one")
        with self._writer_lock, self._engine.connect() as raw:
            self._writer_thread = threading.get_ident()
            try:
                conn = self._writer(raw)
                with conn.begin():  # commits when the block ends normally, rolls back if it raises
                    self._lock(conn)
                    yield conn
            finally:
                self._writer_thread = None

    @contextmanager
    def begin(self) -> Iterator[SqlUnitOfWork]:
        with self._write_transaction() as conn:
            yield SqlUnitOfWork(conn, writable=True)

    @contextmanager
    def read(self) -> Iterator[SqlUnitOfWork]:
        with self._engine.connect() as raw:
            conn = self._reader(raw)
            transaction = conn.begin()
            try:
                yield SqlUnitOfWork(conn, writable=False)
            finally:
                transaction.rollback()  # nothing to keep: a reader never writes

    def close(self) -> None:
        self._engine.dispose()

    def holds_node(self) -> bool:
        """Whether the database holds a node (its schema's migrations were ever run), without changing it."""
        with self._engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        return current is not None

    def migrate(self) -> None:
        """Bring the schema to the newest migration, under the writer lock (so two openers don't race)."""
        config = alembic_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        with self._engine.connect() as conn:  # a look first: most opens find nothing to do, and take no lock
            current = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        if current == head:
            return
        with self._write_transaction() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def alembic_config(conn: Connection | None = None) -> Config:
    """An Alembic configuration built in code: the user needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if conn is not None:
        config.attributes["connection"] = conn
    return config
