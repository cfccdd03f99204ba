"""A PostgreSQL writer waiting for another process's writer lock holds nothing its own process's readers
need: the lock is taken before the unit is handed to the log's trust check (which takes a process-wide
lock of its own), so a reader of the same process goes on while the writer waits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gsomia.crypto import NodeKeys
from tests.contract.test_tamper_evidence import EXAMPLES, services_on

WAIT_S = 20.0  # only a hang reaches this: the reader takes milliseconds
HOLD_S = 4 * WAIT_S  # how long their writer holds the lock at most: past the reader's wait


@pytest.mark.postgres
def test_a_reader_goes_on_while_its_process_writer_waits_for_another_process(
    postgres_url: str, tmp_path: Path
):
    keys = NodeKeys.generate()
    ours = services_on(postgres_url, keys, tmp_path)  # this process
    theirs = services_on(postgres_url, keys, tmp_path)  # another process on the same node
    try:
        ours.import_world(EXAMPLES)
        with ours.store.read() as uow:  # both have checked the log once
            expected = len(uow.world_records())
        with theirs.store.read() as uow:
            assert len(uow.world_records()) == expected
        holding, release = threading.Event(), threading.Event()

        def their_writer() -> None:
            with theirs.store.begin() as uow:
                uow.world_records()  # the lock is held from here until the unit ends
                holding.set()
                release.wait(HOLD_S)

        def our_writer() -> None:
            with ours.store.begin():
                pass

        def our_reader(found: list[int]) -> None:
            with ours.store.read() as uow:
                found.append(len(uow.world_records()))

        held = threading.Thread(target=their_writer)
        held.start()
        assert holding.wait(WAIT_S)
        waiting = threading.Thread(target=our_writer)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive()  # our writer waits for their lock
        found: list[int] = []
        reader = threading.Thread(target=our_reader, args=(found,))
        reader.start()
        reader.join(WAIT_S)
        done = not reader.is_alive()
        release.set()
        held.join(HOLD_S)
        waiting.join(HOLD_S)
        reader.join(HOLD_S)
        assert done, "our reader waited for another process's writer"
        assert found == [expected]
    finally:
        ours.close()
        theirs.close()
