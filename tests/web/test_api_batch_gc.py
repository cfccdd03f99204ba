"""The batch route has the cyclic garbage collector do its full collection after a cold batch is answered,
not inside the next one (:class:`gsomia.web.api.fast.Settled`):

- after a batch that read items, one full collection (the warm batch after it starts with nothing
  pending), and a warm batch, which reads nothing, runs none;
- nothing is frozen: a cycle alive while the collection runs is still collected once it is garbage;
- no world is held: an old world is collected when nothing else holds it, and a new one is told apart.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gsomia.scenario import load_world
from gsomia.web.api import fast

from .conftest import WORLD, Api
from .test_api_fast import queries_of

V1 = "/api/v1"


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """The full collections run while a test runs, automatic ones switched off (so each one seen was
    asked for), and the route's settling forgotten."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            seen.append(1)

    was, enabled = fast.SETTLED._seen, gc.isenabled()
    fast.SETTLED._seen = None
    gc.disable()
    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        if enabled:
            gc.enable()
        fast.SETTLED._seen = was


def test_a_batch_that_reads_items_is_followed_by_one_collection_and_a_warm_one_by_none(
    api: Api, full_collections: list[int]
) -> None:
    queries, _world = queries_of(api, 200, seed=2)
    officer = api.auth("officer")
    first = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
    assert first.status_code == 200
    assert len(full_collections) == 1
    assert gc.get_freeze_count() == 0
    again = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
    assert again.json() == first.json()
    assert len(full_collections) == 1  # nothing read, same world: nothing to settle


class _Cycle:
    """An object that refers to itself: garbage only a collection reclaims."""

    def __init__(self, payload: object) -> None:
        self.payload = payload
        self.me = self


def test_garbage_alive_during_a_collection_is_collected_later_and_no_world_is_held() -> None:
    settled = fast.Settled()
    old = load_world(WORLD)
    old_gone = weakref.ref(old)
    held = _Cycle(b"another request's decrypted body")
    held_gone = weakref.ref(held)
    settled.after(old, grew=True)
    assert gc.get_freeze_count() == 0
    new = load_world(WORLD)
    assert settled.needed(new, grew=False)  # another world: settling is needed though nothing was read
    del old, held  # the old world and the other request's cycle are garbage now
    gc.collect()
    assert old_gone() is None
    assert held_gone() is None
    settled.after(new, grew=False)
    assert not settled.needed(new, grew=False)
    assert settled.needed(new, grew=True)
