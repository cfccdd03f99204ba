"""One adapter of a kind beside each node store: on a SQL store's engine, or kept per memory store.

A node's users, shipments and push statuses live beside its log, outside it: in the same database for a
SQLite or PostgreSQL node (so every server worker of the node sees the same rows), in memory for a
memory node (one adapter per memory store, so every caller of one node sees the same rows). :class:`Beside`
picks the one for a node's store, or for the store a ``LoggedStore`` wraps; :func:`write_transaction`
is how the SQL ones write.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine

from ..services.ports import Store
from .memory import MemoryStore
from .sql import SqlStore

T = TypeVar("T")
_IMMEDIATE = {"gsomia_sqlite_begin": "BEGIN IMMEDIATE"}  # see gsomia.store.sqlite: a writer locks up front


class Beside(Generic[T]):
    """Makes the ``what`` adapter beside a node's store: ``sql(engine)``, or one ``memory()`` per memory
    store, kept for as long as that store lives."""

    def __init__(self, what: str, sql: Callable[[Engine], T], memory: Callable[[], T]) -> None:
        self._what = what
        self._sql = sql
        self._memory = memory
        self._lock = threading.Lock()
        self._kept: weakref.WeakKeyDictionary[MemoryStore, T] = weakref.WeakKeyDictionary()

    def __call__(self, store: Store) -> T:
        inner = getattr(store, "inner", store)
        if isinstance(inner, SqlStore):
            return self._sql(inner.engine)
        if isinstance(inner, MemoryStore):
            with self._lock:
                found = self._kept.get(inner)
                if found is None:
                    found = self._kept[inner] = self._memory()
                return found
        raise TypeError(f"no {self._what} store for a {type(inner).__name__}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A short write transaction of its own on ``engine``, outside the node's writer lock; on SQLite it
    takes the database's write lock up front, so that two workers' writes wait for each other instead of
    failing part way."""
    with engine.connect() as raw:
        conn = raw.execution_options(**_IMMEDIATE) if raw.dialect.name == "sqlite" else raw
        with conn.begin():
            yield conn
