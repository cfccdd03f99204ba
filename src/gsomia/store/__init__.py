"""Storage adapters behind :mod:`gsomia.services.ports`: memory, SQLite (default) and PostgreSQL.

``open_store(url)`` picks one by URL and brings its schema up to date (Alembic migrations, recorded in
``alembic_version``) before returning it:

- ``memory:`` — the in-memory store (nothing persists);
- ``sqlite:///path/to/node.db`` or a plain path — one SQLite file (WAL, durable commits);
- ``postgresql://user@host:5432/db`` (also ``postgres://``, ``postgresql+psycopg://``) — PostgreSQL via
  psycopg 3, in the schema the connection's ``search_path`` selects.

The adapters are imported when asked for, so ``memory:`` needs no database driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..services.errors import NodeError
from ..services.ports import Store

if TYPE_CHECKING:
    from .sql import SqlStore

__all__ = ["open_store"]

MEMORY_URL = "memory:"


def open_store(url: str | Path, *, create: bool = True) -> Store:
    """Open the node store at ``url``, running any pending migrations first. ``create=False`` refuses a
    database that holds no node yet (only ``gsomia init`` makes one) instead of creating its tables."""
    if isinstance(url, Path):
        return _open_sqlite(url, create)
    if url == MEMORY_URL:
        from .memory import MemoryStore

        return MemoryStore()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _open_sqlite(Path(url), create)
    if scheme == "sqlite":
        return _open_sqlite(_sqlite_path(url, rest), create)
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return _migrated(PostgresStore(url), create)
    raise ValueError(f"unknown store URL {url!r}: use memory:, sqlite:///PATH, a path, or postgresql://…")


def _sqlite_path(url: str, rest: str) -> Path:
    # sqlite:///relative.db -> "relative.db"; sqlite:////abs/node.db -> "/abs/node.db"
    if not rest.startswith("/") or rest in ("/", "/:memory:") or "?" in rest:
        raise ValueError(f"bad SQLite URL {url!r}: use sqlite:///path/to/node.db (memory: for no file)")
    return Path(rest[1:])


def _open_sqlite(path: Path, create: bool) -> Store:
    from .sqlite import SqliteStore

    if not path.parent.is_dir():
        raise FileNotFoundError(f"no directory {path.parent} for the SQLite store {path}")
    if not create and not path.is_file():
        raise NodeError(f"no gsomia node database at {path}; create a node with gsomia init")
    return _migrated(SqliteStore(path), create)


def _migrated(store: SqlStore, create: bool) -> Store:
    try:
        if not create and not store.holds_node():
            raise NodeError("no gsomia node in that database; create one with gsomia init")
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store
