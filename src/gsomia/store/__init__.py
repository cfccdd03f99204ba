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

from ..services.ports import Store

if TYPE_CHECKING:
    from .sql import SqlStore

__all__ = ["open_store"]

MEMORY_URL = "memory:"


def open_store(url: str | Path) -> Store:
    """Open the node store at ``url``, running any pending migrations first."""
    if isinstance(url, Path):
        return _open_sqlite(url)
    if url == MEMORY_URL:
        from .memory import MemoryStore

        return MemoryStore()
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _open_sqlite(Path(url))
    if scheme == "sqlite":
        return _open_sqlite(_sqlite_path(url, rest))
    if scheme.split("+")[0] in ("postgresql", "postgres"):
        from .postgres import PostgresStore

        return _migrated(PostgresStore(url))
    raise ValueError(f"unknown store URL {url!r}: use memory:, sqlite:///PATH, a path, or postgresql://…")


def _sqlite_path(url: str, rest: str) -> Path:
    # sqlite:///relative.db -> "relative.db"; sqlite:////abs/node.db -> "/abs/node.db"
    if not rest.startswith("/") or rest in ("/", "/:memory:") or "?" in rest:
        raise ValueError(f"bad SQLite URL {url!r}: use sqlite:///path/to/node.db (memory: for no file)")
    return Path(rest[1:])


def _open_sqlite(path: Path) -> Store:
    from .sqlite import SqliteStore

    if not path.parent.is_dir():
        raise FileNotFoundError(f"no directory {path.parent} for the SQLite store {path}")
    return _migrated(SqliteStore(path))


def _migrated(store: SqlStore) -> Store:
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store
