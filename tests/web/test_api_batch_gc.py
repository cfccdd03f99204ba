"""The batch route keeps the cyclic garbage collector off the node's compiled world
(:class:`gsomia.web.api.fast.Settled`):

- after a batch that read items, the world is frozen (``gc.freeze``: later full collections skip it);
- a warm batch, which reads nothing, does not settle again;
- when the world is another object, the old one is unfrozen and collected, its cycles included, not kept
  for ever.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from gsomia.domain.world import World
from gsomia.scenario import load_world
from gsomia.web.api import fast

from .conftest import WORLD, Api
from .test_api_fast import queries_of

V1 = "/api/v1"


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    """Each test starts and ends with nothing frozen, and the route's settling forgotten."""
    gc.unfreeze()
    was = fast.SETTLED._world
    fast.SETTLED._world = None
    yield
    gc.unfreeze()
    fast.SETTLED._world = was


def _tracked(thing: object) -> bool:
    """Whether the collector walks ``thing`` (a frozen object is in no generation it walks)."""
    return any(o is thing for o in gc.get_objects())


def test_a_batch_that_reads_items_leaves_the_world_frozen_and_a_warm_one_settles_nothing(api: Api) -> None:
    queries, _world = queries_of(api, 200, seed=2)
    officer = api.auth("officer")
    assert gc.get_freeze_count() == 0
    first = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
    assert first.status_code == 200
    world = fast.SETTLED._world
    assert world is not None
    assert world is api.services.worldbook.world()  # the node's compiled world, its items read
    assert set(world.items) >= {q["item"] for q in queries}
    assert gc.get_freeze_count() > 0
    assert not _tracked(world)
    assert not _tracked(world.items)
    frozen = gc.get_freeze_count()
    again = api.client.post(f"{V1}/decisions:batch", json={"queries": queries}, headers=officer)
    assert again.json() == first.json()
    assert not fast.SETTLED.needed(world, grew=False)
    assert gc.get_freeze_count() == frozen  # nothing read, nothing frozen again


class _Cycle:
    """An object that refers to itself, and to a world: garbage only a collection reclaims."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.me = self


def test_a_new_world_lets_the_old_one_and_its_cycles_be_collected() -> None:
    settled = fast.Settled()
    old = load_world(WORLD)
    gone = weakref.ref(old)
    held = _Cycle(old)
    cycle = weakref.ref(held)
    settled.after(old, grew=True)
    assert not _tracked(old)
    assert not _tracked(held)
    del old, held  # cyclic garbage from now on, but frozen
    gc.collect()
    assert gone() is not None  # frozen: a collection does not reach it
    assert cycle() is not None
    new = load_world(WORLD)
    settled.after(new, grew=False)  # another world: settling is needed even though nothing was read
    assert gone() is None
    assert cycle() is None
    assert not _tracked(new)
    assert not settled.needed(new, grew=False)
    assert settled.needed(new, grew=True)
