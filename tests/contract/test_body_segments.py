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
from sqlalchemy import Connection, text

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.crypto.seal import SEGMENT, TAG_SIZE
from gsomia.services import journal
from gsomia.services.errors import StoredRowError, TamperError
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


# -- rows added behind the node's back (INSERT only: the append-only triggers allow it) ------------------


def plant(services: Services, *rows: tuple[str, int, bytes]) -> None:
    with engine_of(services).engine.begin() as conn:
        for item, n, data in rows:
            conn.execute(
                text("INSERT INTO body_segments (item, n, data) VALUES (:i, :n, :d)"),
                {"i": item, "n": n, "d": data},
            )


def faults_of(services: Services) -> list[str]:
    report = services.audit.verify()
    return [f.what for f in report.faults]


@pytest.mark.parametrize("n", [0, 3, 9])
def test_segment_rows_planted_for_an_item_refuse_its_body_and_verify_names_them(sql_node: Services, n: int):
    """Rows planted for an item without a body: attaching one is refused with the rows named (nothing
    is written, so the log never proves a body the planted rows would change), and verify names them."""
    plant(sql_node, ("K-NAV-1", n, b"\x00" * (SEGMENT + TAG_SIZE)))
    size_before = sql_node.audit.head().size
    with pytest.raises(StoredRowError, match="body_segments row K-NAV-1"):
        sql_node.items.attach_body("K-NAV-1", chunks_of(b"nav", 3 * SEGMENT))
    assert sql_node.audit.head().size == size_before
    with engine_of(sql_node).engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM bodies WHERE item = 'K-NAV-1'")).scalar_one() == 0
    assert any("K-NAV-1" in f and "belong to no body" in f for f in faults_of(sql_node))


ADDED_LATER = {
    "a row past the last": [("K-LONG", 3, b"x" * 100)],
    "a row after a gap": [("K-LONG", 7, b"x" * 100)],
    "an empty row numbered -1": [("K-LONG", -1, b"")],
}


@pytest.mark.parametrize("rows", ADDED_LATER, ids=list(ADDED_LATER))
def test_a_row_added_to_a_stored_body_is_never_shown_and_verify_names_it(sql_node: Services, rows: str):
    sql_node.items.add_item("K-LONG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"k", 3 * SEGMENT))
    plant(sql_node, *ADDED_LATER[rows])
    with pytest.raises((StoredRowError, TamperError), match="K-LONG"):
        sql_node.items.body_chunks("K-LONG")
    assert any("K-LONG" in f for f in faults_of(sql_node))


def test_rows_added_for_a_short_or_a_missing_body_are_named_by_verify(sql_node: Services):
    sql_node.items.add_item("K-SHORT", "KOR", "KR-II", ["dprk-missile"], body=b"short")
    plant(sql_node, ("K-SHORT", 0, b"s" * 40), ("K-NOBODY", 0, b"m" * 40))
    assert sql_node.items.body("K-SHORT") == b"short"  # its own row is all it is
    faults = faults_of(sql_node)
    assert any("K-SHORT" in f and "belong to no body" in f for f in faults)
    assert any("K-NOBODY" in f and "belong to no body" in f for f in faults)


@pytest.mark.parametrize("after", [3, 5])
def test_a_row_committed_by_another_connection_while_a_body_is_stored_fails_the_add(
    postgres_url: str, tmp_path: Path, after: int
):
    """PostgreSQL (a write unit reads what others commit): a row another connection commits for the item
    while its segments are written (after the check that none was there) is found when they are read
    back, and nothing is kept."""
    services = node_on(postgres_url, tmp_path)
    try:

        def segments() -> Iterator[bytes]:
            for number, chunk in enumerate(chunks_of(b"race", 3 * SEGMENT)):
                if number == 40:  # in the last segment: sealed (pulled) while the rows are written
                    plant(services, ("K-RACE", after, b"r" * (SEGMENT + TAG_SIZE)))
                yield chunk

        with pytest.raises(StoredRowError, match="K-RACE"):
            services.items.add_item("K-RACE", "KOR", "KR-II", ["dprk-missile"], body=segments())
        assert all(v.data["id"] != "K-RACE" for v in services.items.items())
        assert services.audit.verify().ok is False  # the intruder's row is still there, and named
    finally:
        services.close()


def test_closed_body_pieces_give_their_connection_back(sql_node: Services):
    """Forty bodies opened and closed before their end (more than the pool's connections): each read
    ends when its pieces are closed, so the next read never waits for a connection."""
    sql_node.items.add_item("K-LONG", "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"c", 3 * SEGMENT))
    for _ in range(40):
        pieces = sql_node.items.body_chunks("K-LONG")
        assert len(next(pieces)) == SEGMENT
        pieces.close()
        with pytest.raises(StopIteration):
            next(pieces)
    assert sql_node.items.body("K-LONG") == b"".join(chunks_of(b"c", 3 * SEGMENT))


def test_verify_holds_one_outbox_payload_at_a_time(sql_node: Services):
    """Six releases of 4 MiB bodies: the whole-log check reads each transport payload, takes its digest
    and drops it, instead of holding all six (24 MiB) at once; it still names an edited payload."""
    size = 4 * SEGMENT
    for n in range(6):
        item = f"K-OUT-{n}"
        sql_node.items.add_item(item, "KOR", "KR-II", ["dprk-missile"], body=chunks_of(b"o%d" % n, size))
        assert sql_node.releases.release(item, "JPN", "2019-10-01").outbox is not None
    reports = []
    peak = peak_while(lambda: reports.append(sql_node.audit.verify()))
    assert reports[0].ok, reports[0].faults
    assert peak < 6 * size * 2 // 3, f"verify held {peak:,} bytes at once"
    with engine_of(sql_node).engine.begin() as conn:
        for name in conn.execute(text(_TRIGGERS[conn.dialect.name])).scalars().all():
            conn.execute(
                text(f"DROP TRIGGER {name}" + ("" if conn.dialect.name == "sqlite" else " ON outbox"))
            )
        conn.execute(text("UPDATE outbox SET nonce = :n WHERE release_seq = 1"), {"n": b"x" * 7})
    assert any("release 1" in f or "release:1" in f for f in faults_of(sql_node))


_TRIGGERS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'outbox'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox'::regclass AND NOT tgisinternal",
}


def _rebuild_outbox_loosely(conn: Connection) -> None:
    """The outbox table remade by hand without its key and NOT NULLs (an intruder with DDL rights)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER outbox_append_only ON outbox"))
        conn.execute(text("ALTER TABLE outbox DROP CONSTRAINT pk_outbox"))
        conn.execute(text("ALTER TABLE outbox ALTER COLUMN seq DROP NOT NULL"))
        conn.execute(text("ALTER TABLE outbox ALTER COLUMN release_seq DROP NOT NULL"))
        return
    for statement in (
        "CREATE TABLE loose (seq, release_seq, recipient, wrapped_key, nonce, ciphertext)",
        "INSERT INTO loose SELECT * FROM outbox",
        "DROP TABLE outbox",
        "ALTER TABLE loose RENAME TO outbox",
    ):
        conn.execute(text(statement))


OUTBOX_EDITS = {
    "a second row with no number": "INSERT INTO outbox SELECT NULL, release_seq, 'CHN', wrapped_key, nonce, "
    "ciphertext FROM outbox WHERE seq = 1",
    "a release number that is text": "UPDATE outbox SET release_seq = 'abc' WHERE seq = 1",
    "a number that is text": "UPDATE outbox SET seq = 'x' WHERE seq = 1",
    "no release number": "UPDATE outbox SET release_seq = NULL WHERE seq = 1",
}


@pytest.mark.parametrize("edit", OUTBOX_EDITS, ids=list(OUTBOX_EDITS))
def test_an_outbox_row_numbered_wrongly_is_a_verify_fault_not_a_crash(sql_node: Services, edit: str):
    """Found in review: verify read the outbox by the numbers it listed, so a row with no number was
    never read (verify passed while the node refused to serve), and a release number that is not an
    integer ended verify with a traceback. Each is now a fault line."""
    sql_node.items.add_item("K-1", "KOR", "KR-II", ["dprk-missile"], body=b"x" * 100)
    sql_node.releases.release("K-1", "JPN", "2019-10-01")
    with engine_of(sql_node).engine.begin() as conn:
        if conn.dialect.name == "postgresql" and "text" in edit:
            pytest.skip("PostgreSQL's typed column refuses text where a number goes")
        _rebuild_outbox_loosely(conn)
        conn.execute(text(OUTBOX_EDITS[edit]))
    report = sql_node.audit.verify()
    assert not report.ok
    assert any("outbox" in f.what for f in report.faults), report.faults
    if edit == "a number that is text":  # the next outbox row cannot be numbered: the node's own error
        with pytest.raises(StoredRowError, match="outbox row 'x'"):
            sql_node.releases.release("K-1", "JPN", "2019-10-02")
