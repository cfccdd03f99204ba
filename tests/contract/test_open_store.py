"""``open_store(url)``: which adapter each URL opens, and clear errors for the ones it can't."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsomia.store import open_store
from gsomia.store.memory import MemoryStore
from gsomia.store.postgres import PostgresStore, psycopg_url
from gsomia.store.sqlite import SqliteStore


def test_memory_url_opens_an_empty_in_memory_store():
    """``memory:`` gives a fresh in-memory store each time."""
    first, second = open_store("memory:"), open_store("memory:")
    with first.begin() as uow:
        uow.add_record("party", "KOR", {})
    assert isinstance(first, MemoryStore)
    with second.read() as uow:
        assert uow.records() == ()


@pytest.mark.parametrize("form", ["url", "plain-string", "path"])
def test_a_sqlite_url_a_plain_path_and_a_path_object_open_the_same_file(tmp_path: Path, form: str):
    """``sqlite:///…``, a plain path string and a ``Path`` all open (and create) one SQLite file."""
    path = tmp_path / "node.db"
    url = {"url": f"sqlite:///{path}", "plain-string": str(path), "path": path}[form]
    store = open_store(url)
    try:
        assert isinstance(store, SqliteStore)
        assert store.path == path
        assert path.is_file()
    finally:
        store.close()


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///node.db?mode=ro", "mysql://u@h/db", "redis://h"]
)
def test_an_unusable_url_is_refused_with_a_message_naming_it(url: str):
    """URLs for an unknown database, or SQLite forms that would not persist, are a clear ValueError."""
    with pytest.raises(ValueError, match="URL"):
        open_store(url)


def test_a_sqlite_file_in_a_missing_directory_is_refused_clearly(tmp_path: Path):
    """A node file whose directory does not exist is an error naming that directory."""
    with pytest.raises(FileNotFoundError, match="no directory"):
        open_store(tmp_path / "absent" / "node.db")


@pytest.mark.parametrize(
    "url", ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db?options=-cx%3Dy"]
)
def test_postgres_urls_are_driven_by_psycopg_3(url: str):
    """Every PostgreSQL spelling we accept becomes a ``postgresql+psycopg`` URL, query kept."""
    parsed = psycopg_url(url)
    assert parsed.drivername == "postgresql+psycopg"
    assert (parsed.host, parsed.database) == ("h", "db")


def test_another_postgres_driver_is_refused():
    """psycopg2 or asyncpg URLs are refused: the store speaks psycopg 3 only."""
    with pytest.raises(ValueError, match="psycopg 3"):
        PostgresStore("postgresql+psycopg2://u@h/db")
