"""What the SQLite and PostgreSQL stores share: transactions around :class:`SqlUnitOfWork`, migrations.

A write unit opens a connection, begins a transaction, takes the database's single writer lock (the dialect
hook: ``BEGIN IMMEDIATE`` on SQLite, a transaction-level advisory lock on PostgreSQL), and holds it until
commit or rollback. Writers therefore run one at a time, in the order they got the lock, which is what keeps
ledger leaf numbers contiguous and in commit order. Readers take no lock: each gets its own snapshot.
Within one process, writer threads also queue on a plain lock before asking the database for its lock.

Opening a node looks at ``alembic_version`` with one plain query and compares it with the newest migration
file's revision; Alembic itself (about a sixth of a second to import and read its scripts) is loaded only
when the two differ, i.e. when there is something to migrate, or to say why not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, exc

from .unit import SqlUnitOfWork

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# every migration is versions/NNNN_name.py with revision "NNNN_name", each revising the one numbered before
# it (a test holds this to what Alembic reads): the newest file names the head without loading Alembic
_VERSION_FILES = "[0-9][0-9][0-9][0-9]_*.py"


def newest_migration() -> str:
    """The revision of the newest migration, read from the file names alone."""
    return max(path.stem for path in (MIGRATIONS / "versions").glob(_VERSION_FILES))


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

    def _lock_statement(self) -> tuple[str, tuple[object, ...]] | None:
        """The writer lock as a statement (``{}`` for each parameter) that a write unit sends in one round
        trip with its first look (see :meth:`SqlUnitOfWork.lock_and_look`) instead of :meth:`_lock`'s
        own; None where the transaction's BEGIN takes it."""
        return None

    def _reader(self, conn: Connection) -> Connection:
        """Prepare a connection for a read-only snapshot (before it begins)."""
        return conn

    # -- the Store port -------------------------------------------------------------------------------

    @contextmanager
    def _write_transaction(self, lock: bool = True) -> Iterator[Connection]:
        if self._writer_thread == threading.get_ident():
            raise RuntimeError("this thread already has a unit of work open; do the work inside that one")
        with self._writer_lock, self._engine.connect() as raw:
            self._writer_thread = threading.get_ident()
            try:
                conn = self._writer(raw)
                with conn.begin():  # commits when the block ends normally, rolls back if it raises
                    if lock:
                        self._lock(conn)
                    yield conn
            finally:
                self._writer_thread = None

    @contextmanager
    def begin(self) -> Iterator[SqlUnitOfWork]:
        later = self._lock_statement()
        with self._write_transaction(lock=later is None) as conn:
            unit = SqlUnitOfWork(conn, writable=True)
            if later is not None:
                # held before the unit is handed over: a caller may take its own locks next (the log's
                # trust check does), and must never hold them while this one waits for another process
                unit.lock_and_look(*later)
            yield unit
            unit.flush()  # what the unit wrote and has not sent yet, before the commit

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
        found = self._revisions()
        if found is not None:
            return bool(found)
        # the plain look failed (no such table, or something worse): Alembic looks, and raises what is wrong
        from alembic.runtime.migration import MigrationContext

        with self._engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        return current is not None

    def migrate(self) -> None:
        """Bring the schema to the newest migration, under the writer lock (so two openers don't race)."""
        if self._revisions() == [newest_migration()]:
            return  # a look first: most opens find nothing to do, take no lock and never load Alembic
        from alembic import command  # deferred: only a database that needs migrating pays for Alembic
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = alembic_config()
        head = ScriptDirectory.from_config(config).get_current_head()
        with self._engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            conn.rollback()
        if current == head:
            return
        with self._write_transaction() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _revisions(self) -> list[str] | None:
        """The revisions ``alembic_version`` records, read in a plain query on a connection of its own
        that keeps nothing; None if that query fails (no such table, or a database that cannot be read:
        the caller then asks Alembic, which says which)."""
        with self._engine.connect() as conn:
            try:
                found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
            except exc.DBAPIError:
                conn.rollback()
                return None
            conn.rollback()
        return [str(revision) for revision in found]


def alembic_config(conn: Connection | None = None) -> Config:
    """An Alembic configuration built in code: the user needs no alembic.ini."""
    from alembic.config import Config  # deferred, as in SqlStore.migrate

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if conn is not None:
        config.attributes["connection"] = conn
    return config
