"""SIGKILL in the middle of a stream of units of work: whatever committed is whole, nothing else exists."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from gsomia.store import open_store
from tests.contract.writers import release_until_killed

RUNS = 3


def journaled(journal: Path) -> list[int]:
    """The seqs the child reported committed (a line cut short by the kill is ignored)."""
    text = journal.read_text() if journal.exists() else ""
    return [int(line) for line in text.split("\n")[:-1]]


def kill_while_releasing(url: str, journal: Path, after: float) -> list[int]:
    """Run the releasing child until it has committed some units, wait ``after`` s more, then SIGKILL it."""
    proc = multiprocessing.get_context("spawn").Process(target=release_until_killed, args=(url, str(journal)))
    proc.start()
    deadline = time.monotonic() + 120
    while len(journaled(journal)) < 5 and proc.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(after)
    alive = proc.is_alive()
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    proc.close()
    assert alive, "the releasing child died before it was killed"
    return journaled(journal)


def release_count(url: str) -> int:
    store = open_store(url)
    try:
        with store.read() as uow:
            return len(uow.releases())
    finally:
        store.close()


def assert_whole(url: str, before: int, reported: list[int]) -> None:
    """Rows are contiguous and complete, and every unit the child saw commit is there."""
    store = open_store(url)
    try:
        with store.read() as uow:
            releases, outbox, leaves = uow.releases(), uow.outbox(), uow.leaves()
    finally:
        store.close()
    total = len(releases)
    assert reported == list(range(before + 1, before + len(reported) + 1))
    # at most one unit committed after the child's last journal line (killed between commit and write)
    assert before + len(reported) <= total <= before + len(reported) + 1
    assert [r.seq for r in releases] == list(range(1, total + 1))
    assert [o.release_seq for o in outbox] == list(range(1, total + 1))
    assert [leaf.ref for leaf in leaves] == [f"release:{seq}" for seq in range(1, total + 1)]


def crash_runs(url: str, tmp_path: Path, runs: int) -> None:
    """Kill the releasing child ``runs`` times at random moments, each run continuing the same store."""
    chance = random.Random(4)
    for run in range(runs):
        before = release_count(url)
        reported = kill_while_releasing(url, tmp_path / f"journal-{run}.txt", after=chance.uniform(0.0, 0.4))
        assert_whole(url, before, reported)


@pytest.mark.slow
@pytest.mark.slow
def test_a_sqlite_node_killed_mid_release_keeps_every_commit_whole_and_nothing_partial(tmp_path):
    """Three SIGKILLs at random moments: each committed release has its outbox row and leaf, nothing else."""
    crash_runs(f"sqlite:///{tmp_path / 'node.db'}", tmp_path, RUNS)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgres_node_killed_mid_release_keeps_every_commit_whole_and_nothing_partial(
    postgres_url, tmp_path
):
    """The same SIGKILLs against PostgreSQL: the server rolls the killed writer's open unit back."""
    crash_runs(postgres_url, tmp_path, RUNS)
