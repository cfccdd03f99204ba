"""A node as it grows: a write reads what it needs, not the node; processes see each other's writes.

The first test counts every row the store hands the services while a freshly opened node (as a new CLI
process opens it) makes a release and adds an item on a node of 20,000 items: it must stay far below the
node's size. The second runs two long-lived processes on one node (SQLite, PostgreSQL): each keeps its
compiled world, and each sees what the other wrote at its next unit of work.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys, create_keys, load_keys
from gsomia.domain.model import Item
from gsomia.scenario import load_spec
from gsomia.services.ports import Store, UnitOfWork
from gsomia.store import open_store

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"
ITEMS = 20_000
READS = (
    "records",
    "world_records",
    "item_records",
    "item_records_page",
    "releases",
    "outbox",
    "leaves",
    "leaves_by_ref",
    "tree_nodes",
    "tree_nodes_at",
    "heads",
    "bodies",
)


class CountingUnit:
    """A unit of work that counts the rows each read returns (and passes everything through)."""

    def __init__(self, inner: UnitOfWork, counts: Counter[str]) -> None:
        self._inner = inner
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in READS:
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            rows = found(*args, **kwargs)
            rows = list(rows.items()) if isinstance(rows, dict) else list(rows)
            self._counts[name] += len(rows)
            return dict(rows) if name == "tree_nodes_at" else rows

        return counted


class CountingStore:
    """A store whose units count the rows they read."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.counts: Counter[str] = Counter()

    @contextmanager
    def begin(self) -> Iterator[UnitOfWork]:
        with self.inner.begin() as uow:
            yield CountingUnit(uow, self.counts)  # type: ignore[misc]

    @contextmanager
    def read(self) -> Iterator[UnitOfWork]:
        with self.inner.read() as uow:
            yield CountingUnit(uow, self.counts)  # type: ignore[misc]

    def close(self) -> None:
        self.inner.close()


def _many_items(count: int) -> Sequence[Item]:
    shapes = [("KOR", "KR-II", ("dprk-missile",)), ("KOR", "KR-III", ("naval",)), ("JPN", "JP-HI", ())]
    return tuple(Item(f"BIG-{n:06d}", *shapes[n % 3][:2], topics=shapes[n % 3][2]) for n in range(count))


@pytest.fixture
def big_node(sql_url: str, tmp_path: Path) -> tuple[str, NodeKeys]:
    """A node of the examples world plus 20,000 items, one of them with a body."""
    keys = NodeKeys.generate()
    spec = load_spec(EXAMPLES)
    spec = replace(spec, items=(*spec.items, *_many_items(ITEMS)))
    with compose(open_store(sql_url), keys, Settings.resolve({"node_dir": str(tmp_path)})) as services:
        services.worldbook.import_spec(spec, "big.yaml")
        services.items.attach_body("BIG-000000", b"the body")
    return sql_url, keys


def test_a_release_and_an_item_add_on_a_fresh_node_read_a_few_rows_not_the_node(big_node, tmp_path):
    """A new process's release and item add read well under 1% of the node's 20,000 item records."""
    url, keys = big_node
    counting = CountingStore(open_store(url))
    with compose(counting, keys, Settings.resolve({"node_dir": str(tmp_path)})) as services:
        outcome = services.releases.release("BIG-000000", "JPN", "2019-10-01")
        assert outcome.decision.allowed
        services.items.add_item("NEW-1", "KOR", "KR-II", ["naval"], body=b"new")
        services.releases.release("NEW-1", "USA", "2019-10-01")
    counts = counting.counts
    assert counts["records"] == 0  # never every record
    assert counts["item_records"] <= 3  # the released items, and the new id's look-up
    assert counts["leaves"] <= 10  # only the leaves each write appended, read back to extend the tree
    assert counts["tree_nodes"] == 0
    assert sum(counts.values()) < ITEMS // 100, counts


def test_the_counting_store_would_see_a_whole_node_read(big_node, tmp_path):
    """The same count on a read of every item (the item list): the counter sees every record."""
    url, keys = big_node
    counting = CountingStore(open_store(url))
    with compose(counting, keys, Settings.resolve({"node_dir": str(tmp_path)})) as services:
        assert len(services.items.items()) >= ITEMS
    assert counting.counts["item_records_page"] >= ITEMS


# -- two processes ------------------------------------------------------------------------------------


def _serve(url: str, key_dir: str, inbox: Any, outbox: Any) -> None:
    """A long-lived node process: answers commands until told to stop."""
    keys = load_keys(Path(key_dir))
    services = compose(open_store(url, create=False), keys, Settings.resolve({"node_dir": key_dir}))
    try:
        while True:
            command, args = inbox.get()
            if command == "stop":
                return
            outbox.put(_answer(services, command, args))
    finally:
        services.close()


def _answer(services: Services, command: str, args: tuple[Any, ...]) -> Any:
    try:
        if command == "party":
            services.worldbook.add_party({"id": args[0], "levels": [{"id": f"{args[0]}-S", "marking": "S"}]})
            return "ok"
        if command == "parties":
            return sorted(services.worldbook.world().parties)
        if command == "item":
            services.items.add_item(args[0], "KOR", "KR-II", ["naval"], body=b"x")
            return "ok"
        if command == "release":
            return services.releases.release(args[0], args[1], "2019-10-01").decision.allowed
        if command == "releases":
            return [r.item for r in services.releases.releases()]
    except Exception as exc:  # reported to the test, which fails naming it
        return f"error: {type(exc).__name__}: {exc}"
    return f"error: unknown command {command}"


@pytest.fixture
def two_processes(sql_url: str, tmp_path: Path) -> Iterator[Any]:
    keys = create_keys(tmp_path)
    with compose(open_store(sql_url), keys, Settings.resolve({"node_dir": str(tmp_path)})) as services:
        services.import_world(EXAMPLES)
    context = multiprocessing.get_context("spawn")
    channels = [(context.Queue(), context.Queue()) for _ in range(2)]
    procs = [
        context.Process(target=_serve, args=(sql_url, str(tmp_path), inbox, outbox))
        for inbox, outbox in channels
    ]
    for proc in procs:
        proc.start()

    def ask(which: int, command: str, *args: Any) -> Any:
        inbox, outbox = channels[which]
        inbox.put((command, args))
        answer = outbox.get(timeout=120)
        assert not (isinstance(answer, str) and answer.startswith("error:")), answer
        return answer

    try:
        yield ask
    finally:
        for inbox, _ in channels:
            inbox.put(("stop", ()))
        for proc in procs:
            proc.join(timeout=60)


def test_two_processes_on_one_node_each_see_the_others_writes(two_processes):
    """Each process keeps its compiled world between units; a party, an item and a release written by one
    are seen by the other's next unit, both ways."""
    ask = two_processes
    assert ask(0, "parties") == ask(1, "parties") == ["JPN", "KOR", "USA"]
    ask(0, "party", "AUS")
    assert "AUS" in ask(1, "parties")
    ask(1, "party", "GBR")
    assert {"AUS", "GBR"} <= set(ask(0, "parties"))
    ask(1, "item", "TWO-1")
    assert ask(0, "release", "TWO-1", "USA") is True
    assert ask(1, "releases") == ["TWO-1"]
    ask(1, "release", "TWO-1", "JPN")
    assert ask(0, "releases") == ["TWO-1", "TWO-1"]
