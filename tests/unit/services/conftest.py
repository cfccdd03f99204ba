"""A node's services over each store adapter, with fixed keys and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.services.ports import Store
from gsomia.store import open_store
from gsomia.store.memory import MemoryStore

EXAMPLES = Path(__file__).parents[1] / "scenario" / "worlds" / "examples.yaml"
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def make_store(kind: str, tmp_path: Path) -> Store:
    return MemoryStore() if kind == "memory" else open_store(f"sqlite:///{tmp_path / 'node.db'}")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty node store: in memory, then in a SQLite file."""
    made = make_store(request.param, tmp_path)
    yield made
    made.close()


@pytest.fixture
def keys() -> NodeKeys:
    return NodeKeys.generate()


@pytest.fixture
def empty(store: Store, keys: NodeKeys, tmp_path: Path) -> Services:
    """A node with nothing on it."""
    return compose(store, keys, Settings.resolve({"node_dir": str(tmp_path)}), lambda: NOW)


@pytest.fixture
def node(empty: Services) -> Services:
    """A node holding the examples world (items without bodies) and K-BODY-1, an item with a body."""
    empty.import_world(EXAMPLES)
    empty.items.add_item("K-BODY-1", "KOR", "KR-II", ["dprk-missile"], body=b"PLAINTEXT-CANARY-body-1")
    return empty


def snapshot(store: Store, items: tuple[str, ...] = ()) -> tuple[Any, ...]:
    """Everything a store holds, to compare before and after a refused change."""
    with store.read() as uow:
        return (
            tuple(uow.records()),
            tuple(uow.releases()),
            tuple(uow.outbox()),
            tuple(uow.leaves()),
            tuple(uow.get_body(i) for i in items),
        )
