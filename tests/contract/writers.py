"""Code run in child processes by the concurrency and crash tests (importable under ``spawn``)."""

from __future__ import annotations

import os
from typing import Any

from gsomia.services.ports import SealedBody, UnitOfWork
from gsomia.store import open_store

PAYLOAD = SealedBody(wrapped_key=b"\x07" * 40, nonce=b"\x08" * 12, ciphertext=b"\x09" * 96)


def one_release(uow: UnitOfWork, writer: int, n: int) -> int:
    """What a release writes: the decision, its outbox row and its ledger leaf, in one unit."""
    decision: dict[str, Any] = {"allowed": True, "writer": writer, "n": n, "marking": "極秘"}
    row = uow.add_release(
        f"W{writer}-{n}", "JPN", "KOR", "2019-11-22", True, decision, "2025-01-01T00:00:00Z"
    )
    uow.add_outbox(row.seq, "JPN", PAYLOAD)
    uow.append_leaf("release", f"release:{row.seq}", f"{writer}:{n}".encode())
    return row.seq


def make_releases(url: str, writer: int, count: int, start: Any) -> None:
    """Open the store, wait for the other writers, then commit ``count`` releases one unit each."""
    store = open_store(url)
    try:
        start.wait(timeout=120)
        for n in range(count):
            with store.begin() as uow:
                one_release(uow, writer, n)
    finally:
        store.close()


def release_until_killed(url: str, journal: str) -> None:
    """Commit releases forever; after each commit, append its seq to ``journal`` (one line, flushed)."""
    store = open_store(url)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    n = 0
    while True:
        with store.begin() as uow:
            seq = one_release(uow, 0, n)
        os.write(fd, f"{seq}\n".encode())
        n += 1
