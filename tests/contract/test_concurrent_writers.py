"""Several writer processes on one node: every unit commits, none is lost, the ledger has no gap."""

from __future__ import annotations

import multiprocessing

import pytest

from gsomia.services.ports import Store
from gsomia.store import open_store
from tests.contract.writers import make_releases

UNITS_EACH = 1_000


def run_writers(url: str, writers: int, count: int) -> None:
    """Start ``writers`` spawned processes together and wait until each has committed ``count`` units."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(writers)
    procs = [ctx.Process(target=make_releases, args=(url, w, count, start)) for w in range(writers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=600)
    codes = [proc.exitcode for proc in procs]
    for proc in procs:
        if proc.is_alive():
            proc.kill()
            proc.join()
        proc.close()
    assert codes == [0] * writers, f"writer exit codes: {codes}"


def assert_nothing_lost(store: Store, writers: int, count: int) -> None:
    total = writers * count
    with store.read() as uow:
        releases, outbox, leaves = uow.releases(), uow.outbox(), uow.leaves()
        assert uow.leaf_count() == total
    assert [r.seq for r in releases] == list(range(1, total + 1))
    assert [o.release_seq for o in outbox] == list(range(1, total + 1))
    assert [leaf.index for leaf in leaves] == list(range(total))
    # leaf order is commit order: leaf i proves release i + 1, written in the same unit
    assert [leaf.ref for leaf in leaves] == [f"release:{seq}" for seq in range(1, total + 1)]
    made = {(r.decision["writer"], r.decision["n"]) for r in releases}
    assert made == {(w, n) for w in range(writers) for n in range(count)}


def check_writers(url: str, writers: int) -> None:
    store = open_store(url)  # migrated before the writers start, as a node would be
    try:
        run_writers(url, writers, UNITS_EACH)
        assert_nothing_lost(store, writers, UNITS_EACH)
    finally:
        store.close()


@pytest.mark.slow
@pytest.mark.slow
def test_two_writer_processes_on_one_sqlite_file_lose_no_release(tmp_path):
    """Two processes making 1,000 releases each on one SQLite node: 2,000 rows, leaves 0..1999 in order."""
    check_writers(f"sqlite:///{tmp_path / 'node.db'}", writers=2)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.slow
def test_eight_writer_processes_on_postgres_lose_no_release(postgres_url):
    """Eight processes making 1,000 releases each on PostgreSQL: 8,000 rows, leaves 0..7999 in order."""
    check_writers(postgres_url, writers=8)
