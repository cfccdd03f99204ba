"""Sending a partner what a sync owes it while the sync goes on.

A sync takes a partner's bundles a chunk at a time, each chunk committed before its receipts are made.
:class:`Pushing` sends each chunk's receipts on a thread of its own, so the partner checks and records
them while this node takes the next chunk, instead of the whole pull's receipts waiting for the end.
Pushes go out in the order given; the first that fails stops the rest, and :meth:`Pushing.finish` raises
it once the sync has taken everything it pulled, so the sync fails (and keeps its old cursor) as it would
had it pushed everything at the end.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

Push = Callable[[str, str, str, list[dict[str, Any]]], None]
"""``push(url, party, token, notes)``: POST signed notes to a partner's collection."""

AHEAD = 2  # pushes waiting to go out at once; more and the sync waits for the partner


class Pushing:
    """The pushes of one sync to one partner, made in order on a thread of their own."""

    def __init__(self, push: Push, url: str, party: str, token: str) -> None:
        self._push = push
        self._where = (url, party, token)
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=AHEAD)
        self._failed: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="gsomia-push", daemon=True)
        self._thread.start()

    def send(self, notes: list[dict[str, Any]]) -> None:
        """Push ``notes`` after those sent before (nothing if empty). After a push failed nothing more is
        sent, and the sync goes on taking what it pulled: :meth:`finish` raises the failure."""
        if notes and self._failed is None:
            self._queue.put(list(notes))

    def finish(self, notes: list[dict[str, Any]]) -> None:
        """Push the last ``notes`` and wait until every push is made; raises the first that failed."""
        self.send(notes)
        self.close()
        if self._failed is not None:
            raise self._failed

    def close(self) -> None:
        """Wait for the pushes already given (each bounded by the client's timeout), then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def abandon(self) -> None:
        """Send nothing more and wait for nothing (the sync failed: what was not pushed, the next sync
        pushes, since it keeps no cursor); a push under way ends by itself."""
        self._abandoned = True
        with contextlib.suppress(queue.Full):  # full: the thread drops what it takes from now on
            self._queue.put_nowait(None)

    def _run(self) -> None:
        while (notes := self._queue.get()) is not None:
            if self._abandoned:
                return
            if self._failed is not None:
                continue  # after a failure nothing more is sent; the sync raises it
            try:
                self._push(*self._where, notes)
            except BaseException as exc:  # handed to the sync, which raises it
                self._failed = exc
