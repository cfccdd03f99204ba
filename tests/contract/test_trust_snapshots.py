"""Readers check the log without queueing on each other, and still never accept a store rolled back.

A read unit reads its newest head and leaf count outside the process's lock (``LogTrust.check``). So a
unit's snapshot can be older than the state another thread's unit reached meanwhile: it must get the
state of its own head (or, if that is no longer kept, a new unit), never a tamper alarm. And the state
held before a unit's first read is its floor: a store that shows less, or another log of that size, was
rolled back or replaced, even when this process held that smaller state a moment ago.
On SQLite and on PostgreSQL (the ``node`` fixture: tests/contract/verifynode.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gsomia.bootstrap import Services
from gsomia.services import trust
from gsomia.services.errors import TamperError
from gsomia.services.logstore import LoggedStore
from gsomia.services.ports import UnitOfWork
from tests.contract.test_tamper_evidence import tamper


class Delayed:
    """A unit that lets other threads' work run ``before`` its first read (its head: the floor was taken
    already, and its snapshot then holds that work) and ``after`` it (its snapshot fixed, before the
    check compares): what other threads may do between a unit's steps."""

    def __init__(self, unit: UnitOfWork, before: Callable[[], None], after: Callable[[], None]) -> None:
        self._unit = unit
        self._before: Callable[[], None] | None = before
        self._after: Callable[[], None] | None = after

    def latest_head(self) -> Any:
        if self._before is not None:
            run, self._before = self._before, None
            run()
        return self._unit.latest_head()

    def leaf_count(self) -> int:
        count = self._unit.leaf_count()
        if self._after is not None:
            run, self._after = self._after, None
            run()
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._unit, name)


def logged(services: Services) -> LoggedStore:
    store = services.store
    assert isinstance(store, LoggedStore)
    return store


@contextmanager
def delayed(
    monkeypatch: pytest.MonkeyPatch, services: Services, before: int, after: int
) -> Iterator[list[UnitOfWork]]:
    """The next read unit of ``services`` is a :class:`Delayed` one, with ``before`` and ``after``
    releases (each checked) done by others around its first read. Lists the units the test's read
    opened (those of the releases' own checks left out)."""
    inner = logged(services).inner
    real = inner.read
    opened: list[UnitOfWork] = []
    others = [False]

    def work(times: int) -> Callable[[], None]:
        def run() -> None:
            others[0] = True
            try:
                release_and_check(services, times)
            finally:
                others[0] = False

        return run

    @contextmanager
    def read() -> Iterator[UnitOfWork]:
        with real() as unit:
            if others[0]:
                yield unit
                return
            wrapped: Any = Delayed(unit, work(before), work(after)) if not opened else unit
            opened.append(wrapped)
            yield wrapped

    monkeypatch.setattr(inner, "read", read)
    yield opened
    monkeypatch.setattr(inner, "read", real)


def release_and_check(services: Services, times: int = 1) -> None:
    """What other threads do meanwhile: releases, each then checked by a read unit of this process."""
    for _ in range(times):
        services.releases.release("K-NF-1", "USA", "2019-10-01")  # a refusal: recorded, one leaf
        with services.store.read() as unit:
            unit.leaf_count()


@pytest.mark.parametrize("before", [0, 1])
def test_a_unit_older_than_the_newest_check_gets_the_state_of_its_own_head(node, monkeypatch, before):
    """Its snapshot holds the floor (``before`` = 0) or a state newer than it but still kept (1)."""
    size = node.audit.head().size
    with delayed(monkeypatch, node, before, 3) as opened, node.store.read() as unit:
        assert unit.leaf_count() == size + before  # its own snapshot, accepted as it is
        assert [r.key for r in unit.item_records(["K-B1"])] == ["K-B1"]  # and proven
    assert len(opened) == 1  # no second unit was needed
    with node.store.read() as unit:
        assert unit.leaf_count() == size + before + 3
    assert node.audit.verify().ok


def test_a_unit_older_than_every_state_kept_is_replaced_by_a_fresh_one(node, monkeypatch):
    size = node.audit.head().size
    after = trust.RECENT + 1
    with delayed(monkeypatch, node, 1, after) as opened, node.store.read() as unit:
        assert unit.leaf_count() == size + 1 + after  # a new unit, whose snapshot holds them all
    assert len(opened) == 2
    assert node.audit.verify().ok


def test_a_store_rolled_back_to_a_state_this_process_held_is_refused(node):
    """The last release removed whole (rows, leaf, nodes, head): the state before it was held by this
    process a moment ago, yet the store now shows less than what the process verified: refused."""
    node.releases.release("K-NF-1", "USA", "2019-10-01")
    with node.store.read() as unit:
        unit.leaf_count()  # checked: the state with the release is held now
    size = node.audit.head().size
    tamper(
        node,
        f"DELETE FROM leaves WHERE idx >= {size - 1}",
        "DELETE FROM releases WHERE seq = (SELECT max(seq) FROM releases)",
        "DELETE FROM heads WHERE seq = (SELECT max(seq) FROM heads)",
        f"DELETE FROM tree_nodes WHERE (idx + 1) * power(2, level) > {size - 1}",
    )
    with pytest.raises(TamperError, match="rolled back or replaced"), node.store.read():
        pass
    with pytest.raises(TamperError, match="rolled back or replaced"), node.store.begin():
        pass


def test_readers_in_threads_beside_a_writer_never_see_a_tamper_alarm(node):
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                with node.store.read() as unit:
                    unit.item_records(["K-B1"])
        except BaseException as exc:  # any error at all fails the test
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(40):
            node.releases.release("K-NF-1", "USA", "2019-10-01")
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert node.audit.verify().ok
