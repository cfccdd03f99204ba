"""A node as it grows: durable releases and item adds on nodes of 1,000 to 1,000,000 items.

For each store (SQLite, and PostgreSQL when it answers) and each node size:

- ``import``: the seeded benchmark world's items imported into a fresh node (one transaction, batched);
- ``release``: items released one per transaction through the Python API (each: the decision with its
  reasons, the sealed outbox body, the leaf, the tree nodes and a signed head), p50/p99 and releases/s;
- ``item add``: items added one per transaction with a 1 KiB body, p50;
- ``cli``: whole ``gsomia release`` and ``gsomia item add`` processes on that node (SQLite only), median;
- ``writers`` (PostgreSQL): releases/s with 8 writer processes on one node, and beside it the server's own
  floor: 8 processes committing bare one-insert transactions, queued on one advisory lock as a node's
  writers are, and free of it.

Beside them, what the disk allows: one SQLite transaction holding one fsync'd insert (``synchronous=FULL``,
WAL, as a node runs), timed on the same disk, so a reader sees how close to that floor a release is.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gsomia.bootstrap import Services, build, create_node
from gsomia.config import Settings
from gsomia.domain.model import WorldSpec
from gsomia.domain.world import World

from .world import Query, make_queries, make_world

PG_URL = os.environ.get("GSOMIA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BODY = b"\x5a" * 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fsync_floor(where: Path, n: int = 1_000) -> dict[str, float]:
    """One transaction holding one insert, committed with synchronous=FULL in WAL mode, n times."""
    conn = sqlite3.connect(where / "floor.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b BLOB)")
        t0 = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?)", (i, BODY))
            conn.execute("COMMIT")
        took = time.perf_counter() - t0
    finally:
        conn.close()
    return {"txn_ms": round(took / n * 1e3, 3), "txn_per_s": round(n / took)}


@contextmanager
def node(where: Path, url: str | None) -> Iterator[tuple[Path, Services]]:
    """A fresh node at ``where`` (SQLite there, or PostgreSQL at ``url``)."""
    create_node(where, party="P00", database_url=url or "")
    services = build(Settings.load(where))
    try:
        yield where, services
    finally:
        services.close()


def _percentiles(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50_ms": round(samples[len(samples) // 2] * 1e3, 3),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1e3, 3),
        "per_s": round(len(samples) / sum(samples)),
    }


def _allowed(spec: WorldSpec, queries: list[Query], want: int) -> list[Query]:
    """``want`` originator queries the world allows, each item once (a release reads a fresh item). The
    world is compiled here from the spec and dropped, so that no benchmark process holds every item (a
    node process never does; millions of objects would make the collector's passes part of the timing)."""
    world = World(spec)
    out: list[Query] = []
    seen: set[str] = set()
    for q in queries:
        item, recipient, at, holder = q
        if item in seen or holder != world.items[item].originator:
            continue
        if world.decide(item, recipient, at).allowed:
            out.append(q)
            seen.add(item)
            if len(out) == want:
                break
    del world
    gc.collect()
    return out


def size_run(where: Path, items: int, url: str | None, releases: int, cli_runs: int) -> dict[str, Any]:
    spec = make_world(items=items, consents=min(2_000, items // 10))
    queries = make_queries(spec, max(20 * releases, 5_000), seed=7)
    out: dict[str, Any] = {"items": items}
    with node(where, url) as (_, services):
        t0 = time.perf_counter()
        services.worldbook.import_spec(spec, "<benchmark world>")
        took = time.perf_counter() - t0
        out["import_s"] = round(took, 2)
        out["import_items_per_s"] = round(items / took)
        chosen = _allowed(spec, queries, releases + cli_runs)
        for item, *_ in chosen:
            services.items.attach_body(item, BODY)
        samples = []
        for item, recipient, at, holder in chosen[:releases]:
            t0 = time.perf_counter()
            outcome = services.releases.release(item, recipient, at, holder)
            outcome.to_dict()
            samples.append(time.perf_counter() - t0)
        out["release"] = _percentiles(samples)
        party = spec.parties[0]
        samples = []
        for n in range(min(releases, 200)):
            t0 = time.perf_counter()
            services.items.add_item(f"BENCH-{n}", party.id, party.levels[0].id, ["t0"], body=BODY)
            samples.append(time.perf_counter() - t0)
        out["item_add"] = _percentiles(samples)
        cli = chosen[releases:]
    if url is None and cli_runs:
        out["cli"] = cli_numbers(where, cli, party.id, party.levels[0].id)
    return out


def cli_numbers(where: Path, queries: list[Query], party: str, level: str) -> dict[str, float]:
    """Median wall time of whole ``gsomia release`` and ``gsomia item add`` processes on the node."""
    gsomia = [shutil.which("gsomia") or str(Path(sys.executable).with_name("gsomia"))]
    _timed([*gsomia, "log", "head", "--node", str(where)])  # untimed: the first process after an import
    release, add = [], []
    for n, (item, recipient, at, holder) in enumerate(queries):
        args = ["release", item, "--to", recipient, "--at", str(at), "--holder", holder]
        release.append(_timed([*gsomia, *args, "--node", str(where), "--json"]))
        body = where / "body.bin"
        body.write_bytes(BODY)
        args = ["item", "add", "--id", f"CLI-{n}", "--originator", party, "--level", level, "--topics", "t0"]
        add.append(_timed([*gsomia, *args, "--body-file", str(body), "--node", str(where), "--json"]))
    return {
        "release_ms": round(statistics.median(release) * 1e3, 1),
        "item_add_ms": round(statistics.median(add) * 1e3, 1),
        "runs": len(queries),
    }


def _timed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    took = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[:400]}")
    return took


def _writer(where: str, queries: list[Query], ready: Any, results: Any) -> None:
    """One writer process: open the node and read its world (start-up is not timed), wait for the others,
    then release its share one per transaction."""
    services = build(Settings.load(Path(where)))
    try:
        services.worldbook.world()
        ready.wait()
        t0 = time.time()
        for item, recipient, at, holder in queries:
            services.releases.release(item, recipient, at, holder)
        results.put((len(queries), t0, time.time()))
    finally:
        services.close()


def writers_run(where: Path, url: str, writers: int, each: int) -> dict[str, Any]:
    """Releases/s with ``writers`` processes releasing at once on one PostgreSQL node (from the first
    writer's start to the last one's end, once all had opened the node)."""
    spec = make_world(items=20_000, consents=2_000)
    with node(where, url) as (_, services):
        services.worldbook.import_spec(spec, "<benchmark world>")
        chosen = _allowed(spec, make_queries(spec, 50_000, seed=9), writers * each)
        for item, *_ in chosen:
            services.items.attach_body(item, BODY)
    shares = [(str(where), chosen[w * each : (w + 1) * each]) for w in range(writers)]
    done, took = _at_once(_writer, shares)
    return {"writers": writers, "releases": done, "s": round(took, 2), "per_s": round(done / took)}


def _at_once(target: Any, shares: list[tuple[Any, ...]]) -> tuple[int, float]:
    """Run ``target(*share, ready, results)`` in a spawned process per share, all released together by
    a barrier; each puts ``(count, start, end)``. The total count, and the time from the first start to
    the last end."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(len(shares)), context.Queue()
    procs = [context.Process(target=target, args=(*share, ready, results)) for share in shares]
    for p in procs:
        p.start()
    outcomes = [results.get() for _ in procs]
    for p in procs:
        p.join()
    took = max(end for _, _, end in outcomes) - min(start for _, start, _ in outcomes)
    return sum(n for n, _, _ in outcomes), took


def _floor_writer(url: str, each: int, locked: bool, ready: Any, results: Any) -> None:
    """One process of :func:`pg_floor`: ``each`` transactions, each one insert (and the lock), committed."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        ready.wait()
        t0 = time.time()
        for _ in range(each):
            with conn.transaction():
                if locked:
                    conn.execute("SELECT pg_advisory_xact_lock(4242)")
                conn.execute("INSERT INTO floor (b) VALUES (%s)", (BODY,))
        results.put((each, t0, time.time()))


def pg_floor(url: str, writers: int, each: int) -> dict[str, Any]:
    """What PostgreSQL itself allows ``writers`` processes on this machine: transactions of one 1 KiB
    insert each, committed (synchronous_commit as the server has it), with every transaction holding one
    advisory lock as a node's writers do (``locked``: they queue, as signed heads in one chain must) and
    without it (``free``: commits may share a flush)."""
    import psycopg

    plain = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("CREATE TABLE floor (a bigserial PRIMARY KEY, b bytea)")
    out: dict[str, Any] = {"writers": writers}
    for name, locked in (("locked", True), ("free", False)):
        done, took = _at_once(_floor_writer, [(plain, each, locked)] * writers)
        out[name] = {"transactions": done, "s": round(took, 2), "per_s": round(done / took)}
    return out


def pg_unreachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return (
            f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0] if str(exc) else exc}"
        )
    return None


@contextmanager
def pg_schema() -> Iterator[str]:
    import secrets

    import psycopg
    from psycopg import sql
    from sqlalchemy import make_url

    name = f"gsomia_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(PG_URL)
            .update_query_dict({"options": f"-csearch_path={name}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def run_node(
    sizes: tuple[int, ...] = (1_000, 100_000),
    releases: int = 300,
    cli_runs: int = 5,
    writers: int = 8,
) -> dict[str, Any]:
    """The node benchmark on SQLite and, if it answers, PostgreSQL."""
    out: dict[str, Any] = {"sizes": list(sizes)}
    with tempfile.TemporaryDirectory(prefix="gsomia-node-bench-") as tmp:
        out["fsync_floor"] = fsync_floor(Path(tmp))
        out["sqlite"] = {}
        for items in sizes:
            log(f"node: SQLite, {items:,} items")
            out["sqlite"][str(items)] = size_run(
                Path(tmp) / f"sqlite-{items}", items, None, releases, cli_runs
            )
        why = pg_unreachable()
        if why is not None:
            out["postgres"] = {"skipped": why}
            return _summary(out)
        out["postgres"] = {}
        for items in sizes:
            log(f"node: PostgreSQL, {items:,} items")
            with pg_schema() as url:
                out["postgres"][str(items)] = size_run(Path(tmp) / f"pg-{items}", items, url, releases, 0)
        log(f"node: PostgreSQL, {writers} writer processes")
        with pg_schema() as url:
            out["postgres"]["writers"] = writers_run(Path(tmp) / "pg-writers", url, writers, 150)
        log(f"node: PostgreSQL floor, {writers} processes of bare transactions")
        with pg_schema() as url:
            out["postgres"]["floor"] = pg_floor(url, writers, 500)
    return _summary(out)


def _summary(out: dict[str, Any]) -> dict[str, Any]:
    """The figures ``gsomia bench --json`` promises under ``node``, each beside what it comes from."""
    first, last = (str(s) for s in (out["sizes"][0], out["sizes"][-1]))
    sqlite = out["sqlite"]
    out["release_per_s"] = sqlite[first]["release"]["per_s"]
    out["import_items_per_s"] = sqlite[last]["import_items_per_s"]
    out["flatness"] = {
        "release_p50_ms": [sqlite[first]["release"]["p50_ms"], sqlite[last]["release"]["p50_ms"]],
        "release_ratio": round(sqlite[last]["release"]["p50_ms"] / sqlite[first]["release"]["p50_ms"], 2),
        "item_add_p50_ms": [sqlite[first]["item_add"]["p50_ms"], sqlite[last]["item_add"]["p50_ms"]],
        "item_add_ratio": round(sqlite[last]["item_add"]["p50_ms"] / sqlite[first]["item_add"]["p50_ms"], 2),
    }
    if "cli" in sqlite[first] and "cli" in sqlite[last]:
        a, b = sqlite[first]["cli"], sqlite[last]["cli"]
        out["flatness"]["cli_release_ms"] = [a["release_ms"], b["release_ms"]]
        out["flatness"]["cli_release_ratio"] = round(b["release_ms"] / a["release_ms"], 2)
        out["flatness"]["cli_item_add_ms"] = [a["item_add_ms"], b["item_add_ms"]]
        out["flatness"]["cli_item_add_ratio"] = round(b["item_add_ms"] / a["item_add_ms"], 2)
    return out


if __name__ == "__main__":
    import json

    chosen = tuple(int(s) for s in sys.argv[1:]) or (1_000, 100_000)
    print(json.dumps(run_node(chosen), indent=1))
