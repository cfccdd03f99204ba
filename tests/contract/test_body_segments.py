"""Long bodies a segment per row (SQLite, PostgreSQL; memory where it applies): written as they are sealed
and read as they are opened, so memory holds a few segments, never the body; the leaf is the one a body
kept whole would have; a body kept whole before (migration 0008) still reads and verifies; a body being
read keeps no one else waiting."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.crypto.seal import SEGMENT, TAG_SIZE
from gsomia.services import journal
from gsomia.services.items import body_aad
from gsomia.store import open_store
from gsomia.store.sql import SqlStore

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
CHUNK = 64 * 1024


def node_on(url: str, tmp_path: Path) -> Services:
    services = compose(
        open_store(url), NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path)}), lambda: NOW
    )
    services.import_world(EXAMPLES)
    return services


@pytest.fixture
def node(store_url: str, tmp_path: Path) -> Iterator[Services]:
    services = node_on(store_url, tmp_path)
    yield services
    services.close()


@pytest.fixture
def sql_node(sql_url: str, tmp_path: Path) -> Iterator[Services]:
    services = node_on(sql_url, tmp_path)
    yield services
    services.close()


def chunks_of(seed: bytes, size: int) -> Iterator[bytes]:
    """``size`` bytes of a reproducible body, CHUNK at a time (never whole in this process)."""
    block = (seed * (CHUNK // len(seed) + 1))[:CHUNK]
    for start in range(0, size, CHUNK):
        yield bytes(block[: min(CHUNK, size - start)])


def engine_of(services: Services) -> SqlStore:
    inner = services.store.inner  # type: ignore[attr-defined]
    assert isinstance(inner, SqlStore)
    return inner


def peak_while(work: Callable[[], object]) -> int:
    """The most memory Python allocations held at once (tracemalloc) while ``work`` ran, in bytes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        work()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_long_body_reads_back_and_its_leaf_is_what_a_whole_body_gives(node: Services):
    """Any store: the body comes back byte for byte, and its leaf names the digest of the same sealed
    bytes kept whole (so a node's older leaves and a newer store agree)."""
    size = 2 * SEGMENT + 777
    node.items.add_item("K-LONG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"abc", size))
    assert node.items.body("K-LONG") == b"".join(chunks_of(b"abc", size))
    with node.store.read() as uow:
        whole = uow.get_body("K-LONG")
        stored = uow.stored_body("K-LONG")
        assert whole is not None
        assert stored is not None
        assert stored.size == len(whole.ciphertext) == size + 3 * TAG_SIZE
        assert b"".join(stored.pieces()) == whole.ciphertext
        (leaf,) = uow.leaves_by_ref([journal.body_ref("K-LONG")])
        assert leaf.data == journal.canonical(journal.body_json("K-LONG", whole))
    assert node.audit.verify().ok


def test_a_long_body_is_a_row_per_sealed_segment(sql_node: Services):
    size = 3 * SEGMENT  # exactly three full segments: the last one full, not empty
    sql_node.items.add_item("K-LONG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"xyz", size))
    sql_node.items.add_item("K-SHORT", "KOR", "KR-II", ["dprk-missile"], body=b"short")
    with engine_of(sql_node).engine.connect() as conn:
        rows = conn.execute(text("SELECT item, n, length(data) FROM body_segments ORDER BY item, n")).all()
        own = dict(conn.execute(text("SELECT item, length(ciphertext) FROM bodies")).all())
    assert [tuple(r) for r in rows] == [("K-LONG", n, SEGMENT + TAG_SIZE) for n in range(3)]
    assert own == {"K-LONG": 0, "K-SHORT": len(b"short") + TAG_SIZE}  # a short body stays in its row
    assert sql_node.items.body("K-SHORT") == b"short"
    assert b"".join(sql_node.items.body_chunks("K-LONG")) == b"".join(chunks_of(b"xyz", size))


def test_adding_and_reading_a_long_body_holds_a_few_segments_never_the_body(sql_node: Services):
    """A 24 MiB body is added from pieces and read back piece by piece while Python's allocations stay
    under a third of it (a few segments); before, the whole ciphertext was built, copied and read back."""
    size = 24 * SEGMENT
    added = peak_while(
        lambda: sql_node.items.add_item(
            "K-BIG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"big body ", size)
        )
    )
    seen = {"bytes": 0}

    def read() -> None:
        for piece in sql_node.items.body_chunks("K-BIG"):
            seen["bytes"] += len(piece)

    opened = peak_while(read)
    assert seen["bytes"] == size
    assert added < size // 3, f"adding held {added:,} bytes at once"
    assert opened < size // 3, f"reading held {opened:,} bytes at once"


def test_a_release_of_a_long_body_reads_it_a_piece_at_a_time(sql_node: Services):
    """The transport copy opens from the stored segments (proven first) and carries the same body."""
    size = 2 * SEGMENT + 5
    sql_node.items.add_item("K-LONG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"rel", size))
    outcome = sql_node.releases.release("K-LONG", "JPN", "2019-10-01")
    assert outcome.outbox is not None
    assert sql_node.releases.open_payload(outcome.outbox) == b"".join(chunks_of(b"rel", size))
    assert sql_node.audit.verify().ok


def test_a_long_body_kept_whole_before_segments_still_reads_and_verifies(sql_node: Services):
    """A body stored as one value (as every body was before migration 0008) is read as before."""
    plain = os.urandom(2 * SEGMENT + 99)
    sql_node.items.add_item("K-OLD", "KOR", "KR-II", ["dprk-missile"])
    sealed = sql_node.keys.seal_chunks([plain], body_aad("K-OLD"))
    with sql_node.store.begin() as uow:
        journal.add_body(uow, "K-OLD", sealed)  # the old way: one row, the ciphertext whole
    with engine_of(sql_node).engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM body_segments")).scalar_one() == 0
    assert b"".join(sql_node.items.body_chunks("K-OLD")) == plain
    assert sql_node.audit.verify().ok


def test_a_body_being_read_keeps_no_writer_or_reader_waiting(sql_node: Services):
    """Half-way through a long body (its read still open), the same process adds an item and reads
    another; both finish (each in a thread with a deadline, so a wait is a failure, not a hang)."""
    sql_node.items.add_item("K-LONG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"wait", 3 * SEGMENT))
    pieces = sql_node.items.body_chunks("K-LONG")
    first = next(pieces)
    done: dict[str, object] = {}

    def others() -> None:
        sql_node.items.add_item("K-NEW", "KOR", "KR-II", ["dprk-missile"], body=b"new")
        done["read"] = sql_node.items.body("K-NEW")

    worker = threading.Thread(target=others, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done.get("read") == b"new"
    rest = b"".join(pieces)
    assert first + rest == b"".join(chunks_of(b"wait", 3 * SEGMENT))
