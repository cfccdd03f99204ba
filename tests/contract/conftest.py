"""Fixtures for the store contract suite: every store test runs against memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gsomia.bootstrap import Services
from gsomia.services.ports import Store
from gsomia.store import open_store
from gsomia.store.sql import SqlStore
from tests.contract import pg
from tests.contract.verifynode import small_node

KINDS = ("memory", "sqlite", "postgres")
SQL_KINDS = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes seconds (many processes or thousands of commits)")
    config.addinivalue_line("markers", "postgres: needs the test PostgreSQL server (tests/contract/pg.py)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the PostgreSQL cases of the parametrized store fixtures, so ``-m "not postgres"`` selects."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "postgres" in (
            callspec.params.get("store_url"),
            callspec.params.get("sql_url"),
        ):
            item.add_marker("postgres")


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test server's URL; skips (or fails, when required) if it does not answer."""
    url = pg.server_url()
    reason = pg.unreachable(url)
    if reason is not None:
        if pg.required():
            pytest.fail(f"{reason} (GSOMIA_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL on a fresh, empty schema of the test server, dropped after the test."""
    with pg.fresh_schema(postgres_server) as url:
        yield url


def _url_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory:"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'node.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store of each kind."""
    return _url_for(request.param, request, tmp_path)


@pytest.fixture(params=SQL_KINDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty SQL store (SQLite, PostgreSQL): the ones with a file or a server behind them."""
    return _url_for(request.param, request, tmp_path)


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[SqlStore]:
    """An open, empty SQLite or PostgreSQL store."""
    store = open_store(sql_url)
    assert isinstance(store, SqlStore)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open, empty store of each kind, closed after the test."""
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def node(sql_url: str, tmp_path: Path) -> Iterator[Services]:
    """The verify tests' small node (:func:`~tests.contract.verifynode.small_node`) on SQLite and on
    PostgreSQL. A test file with a ``node`` of its own (a bigger one, say) overrides it."""
    services = small_node(sql_url, tmp_path)
    yield services
    services.close()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Services]:
    """The same small node on SQLite only, for edits only SQLite allows (a value of another type, a table
    rebuilt) and for its write lock."""
    services = small_node(f"sqlite:///{tmp_path / 'node.db'}", tmp_path)
    yield services
    services.close()
