"""The TAXII benchmark: gsomia's TAXII 2.1 server beside OASIS medallion 3.0.0, in the same run.

``python -m benchmarks.taxii_bench [--big] [--json]`` (or ``python -m benchmarks --taxii``, ``gsomia bench
--taxii``) starts each server as a process of its own on 127.0.0.1 with a collection of N objects, then one
client (httpx, one keep-alive connection, HTTP Basic, ``Accept: application/taxii+json;version=2.1``) walks
the collection in pages of 1,000 objects following ``next``, and pushes envelopes of 100 new objects into
an empty collection and into one holding 20,000. Both servers get the same objects (:func:`stix_objects`).

- gsomia: ``gsomia.web.app.create_app(taxii_source=make_source(n))`` under uvicorn. ``make_source`` is a
  parameter (``--source module:function``); the default is :func:`memory_source`, the benchmark's own
  in-memory :class:`MemoryTaxiiSource`, until the node's SQLite-backed source can be named instead.
- medallion: its own CLI (Flask's WSGI server) from a separate virtualenv (``GSOMIA_MEDALLION_PYTHON``,
  default ``/work/medallion-venv/bin/python``) with its memory backend, preloaded from a JSON data file
  written to a temporary folder. Without it, gsomia's figures are printed alone, with the reason.

Each walk reports the rate a user feels (every page of the walk, the first one included) beside the best
case (the fastest page). Every ratio is gsomia's figure over medallion's on the same pages (or the same
envelopes), and both inputs are printed beside it. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import gc
import hmac
import importlib
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsomia.domain.errors import GsomiaError
from gsomia.web.taxii import (
    CollectionInfo,
    Entry,
    Page,
    PageQuery,
    StatusDetail,
    StatusInfo,
    TaxiiInputError,
    TaxiiSource,
    format_timestamp,
    parse_timestamp,
)

if TYPE_CHECKING:
    import httpx

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = "benchmarks.taxii_bench:memory_source"
MEDALLION_ENV = "GSOMIA_MEDALLION_PYTHON"
MEDALLION_DEFAULT = "/work/medallion-venv/bin/python"
TAXII = "application/taxii+json;version=2.1"
PARTY, TOKEN = "JPN", "jpn-bench-token"  # the reader and writer, on both servers
COLLECTION = "9c6f3a52-1d7e-4b0a-8f3e-5a2b7c4d9e10"
MEDALLION_ROOT = "bench"  # medallion's API root (a path segment: /bench/collections/...)
START = datetime(2024, 1, 1, tzinfo=UTC)
LABELS = tuple(f"marking-definition--{uuid.UUID(int=0xB0 + n, version=4)}" for n in range(4))
GSOMIA_SIZES = (1_000, 20_000, 200_000)
BIG = 1_000_000
MEDALLION_SIZES = (1_000, 20_000)
INGEST_SIZES = (0, 20_000)  # objects already stored when envelopes are pushed


class TaxiiBenchError(GsomiaError):
    """The TAXII benchmark cannot run as asked: the message names what to change."""


# ----------------------------------------------------------------------------------------------- objects


def stix_objects(count: int, *, first: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` STIX 2.1 indicators numbered from ``first``, each marked with one of :data:`LABELS`.

    Ids are random UUIDv4s from ``seed`` (so two calls with other seeds never collide); ``created`` and
    ``modified`` are one second apart per number. About 600 bytes of JSON each."""
    rng = random.Random(f"gsomia-taxii-bench:{seed}:{first}")
    out = []
    for n in range(first, first + count):
        stamp = format_timestamp(START + timedelta(seconds=n))
        out.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                "created": stamp,
                "modified": stamp,
                "name": f"Benchmark indicator {n}",
                "description": "A host seen beaconing to a known command-and-control address.",
                "indicator_types": ["malicious-activity"],
                "pattern": f"[ipv4-addr:value = '10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}']",
                "pattern_type": "stix",
                "valid_from": stamp,
                "object_marking_refs": [LABELS[n % len(LABELS)]],
            }
        )
    return out


def date_added(n: int) -> datetime:
    """When preloaded object number ``n`` entered its collection: one millisecond apart."""
    return START + timedelta(milliseconds=n)


# ------------------------------------------------------------------------------- the in-memory source


@dataclass
class MemoryTaxiiSource:
    """A :class:`~gsomia.web.taxii.TaxiiSource` over one in-memory collection, for the benchmark.

    Rows are kept in ``(date_added, seq)`` order beside a list of their keys, so a page starts by bisection
    (keyset pagination: no offset, no scan of what came before). Every row served is checked against its
    label (its first ``object_marking_refs`` entry): a party gets it only if ``releasable`` lists the party
    for that label. A page examines at most ``scan_factor * limit`` rows, so withheld rows cannot make one
    request read the whole collection; ``resume`` then carries the client past them."""

    releasable: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {label: frozenset({PARTY}) for label in LABELS}
    )
    tokens: Mapping[str, str] = field(default_factory=lambda: {PARTY: TOKEN})
    scan_factor: int = 10
    _entries: list[Entry] = field(default_factory=list)
    _keys: list[tuple[datetime, int]] = field(default_factory=list)
    _labels: list[str] = field(default_factory=list)
    _first: dict[str, datetime] = field(default_factory=dict)
    _last: dict[str, datetime] = field(default_factory=dict)
    _statuses: dict[str, tuple[str, StatusInfo]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, data: dict[str, Any], when: datetime) -> Entry:
        """Append one object added at ``when`` (not before the last row's ``date_added``)."""
        stamp = data.get("modified") or data.get("created")
        refs = data.get("object_marking_refs")
        if not isinstance(stamp, str):
            raise TaxiiInputError(f"{data.get('id')!r} has no created or modified timestamp")
        if not isinstance(refs, list) or not refs or refs[0] not in self.releasable:
            raise TaxiiInputError(f"{data.get('id')!r} carries no label this node knows")
        if self._entries and when < self._entries[-1].date_added:
            raise TaxiiInputError("rows must be added in date_added order")
        version = parse_timestamp(stamp)
        entry = Entry(data["id"], data["type"], version, when, len(self._entries) + 1, data)
        self._entries.append(entry)
        self._labels.append(refs[0])
        self._keys.append((when, entry.seq))
        self._first[entry.id] = min(self._first.get(entry.id, version), version)
        self._last[entry.id] = max(self._last.get(entry.id, version), version)
        return entry

    def authenticate(self, party: str | None, token: str) -> str | None:
        found = None
        for who, secret in self.tokens.items():
            if hmac.compare_digest(secret.encode(), token.encode()) and party in (None, who):
                found = who
        return found

    def collections_for(self, party: str) -> Sequence[CollectionInfo]:
        if party not in self.tokens:
            return []
        return [CollectionInfo(COLLECTION, "Benchmark collection", can_read=True, can_write=True)]

    def page(self, collection_id: str, party: str, query: PageQuery) -> Page:
        end = len(self._entries)  # rows appended meanwhile have later keys: this page ignores them
        start = 0
        if query.after is not None:
            start = bisect_right(self._keys, (query.after.date_added, query.after.seq), 0, end)
        if query.added_after is not None:
            start = max(start, bisect_right(self._keys, (query.added_after, sys.maxsize), 0, end))
        stop = min(end, start + self.scan_factor * query.limit)
        out: list[Entry] = []
        for i in range(start, stop):
            entry = self._entries[i]
            if party not in self.releasable.get(self._labels[i], frozenset()):
                continue  # the label does not release it to this party
            if (query.ids and entry.id not in query.ids) or (query.types and entry.type not in query.types):
                continue
            if not query.versions.picks(
                entry.version, first=self._first[entry.id], last=self._last[entry.id]
            ):
                continue
            if len(out) == query.limit:
                return Page(out, more=True, resume=self._entries[i - 1].cursor)
            out.append(entry)
        resume = self._entries[stop - 1].cursor if stop > start else None
        return Page(out, more=stop < end, resume=resume)

    def accept(self, collection_id: str, party: str, envelope: dict[str, Any]) -> StatusInfo:
        good, bad = [], []
        with self._lock:
            when = datetime.now(UTC)
            if self._entries:
                when = max(when, self._entries[-1].date_added + timedelta(microseconds=1))
            for obj in envelope["objects"]:
                try:
                    entry = self.add(obj, when)
                except TaxiiInputError as error:
                    bad.append(StatusDetail(obj["id"], "", str(error)))
                else:
                    good.append(StatusDetail(entry.id, format_timestamp(entry.version)))
            status = StatusInfo(str(uuid.uuid4()), "complete", when, tuple(good), tuple(bad))
            self._statuses[status.id] = (party, status)
        return status

    def status(self, status_id: str, party: str) -> StatusInfo | None:
        owner, found = self._statuses.get(status_id, ("", None))
        return found if owner == party else None


def memory_source(count: int) -> MemoryTaxiiSource:
    """The default ``make_source``: ``stix_objects(count)`` in one collection, all releasable to JPN."""
    source = MemoryTaxiiSource()
    for n, obj in enumerate(stix_objects(count)):
        source.add(obj, date_added(n))
    return source


SourceFactory = Callable[[int], TaxiiSource]


def load_factory(spec: str) -> SourceFactory:
    """The ``make_source`` named by ``module:function`` (importable from the repository root)."""
    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name.isidentifier():
        raise TaxiiBenchError(f"--source {spec!r} is not module:function (e.g. {DEFAULT_SOURCE})")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TaxiiBenchError(f"--source: cannot import {module_name} ({error})") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise TaxiiBenchError(f"--source: {module_name} has no function {name}")
    return factory  # type: ignore[no-any-return]


# -------------------------------------------------------------------------------------- the two servers


@dataclass(frozen=True)
class Server:
    """A running server: where its TAXII collection's objects are, and how it was started."""

    objects_url: str
    discovery_url: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _process(argv: list[str], probe_url: str, log_path: Path, ready_s: float) -> Iterator[None]:
    """Run ``argv`` until the block ends; wait until ``probe_url`` answers 200 to an authenticated GET."""
    import httpx

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-1500:]
                raise TaxiiBenchError(f"the server {argv[:4]} exited with {proc.returncode}:\n{tail}")
            try:
                answer = httpx.get(probe_url, auth=(PARTY, TOKEN), headers={"Accept": TAXII}, timeout=5)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TaxiiBenchError(f"the server {argv[:4]} was not ready within {ready_s:.0f} s")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def gsomia_server(source: str, count: int, folder: Path) -> Iterator[Server]:
    """gsomia's app under uvicorn in a child process, its source made by ``source`` with ``count`` objects.

    The collection is the first one the benchmark's party may both read and write."""
    import httpx

    port = _free_port()
    base = f"http://127.0.0.1:{port}/taxii2/"
    argv = [sys.executable, "-m", "benchmarks.taxii_bench", "serve", "--source", source]
    argv += ["--objects", str(count), "--port", str(port)]
    with _process(argv, base, folder / f"gsomia-{count}.log", ready_s=1800):
        listed = httpx.get(
            base + "gsomia/collections/", auth=(PARTY, TOKEN), headers={"Accept": TAXII}, timeout=60
        ).json()
        usable = [c["id"] for c in listed.get("collections", []) if c["can_read"] and c["can_write"]]
        if not usable:
            raise TaxiiBenchError(f"--source {source}: party {PARTY} has no collection it can read and write")
        yield Server(f"{base}gsomia/collections/{usable[0]}/objects/", base)


def medallion_data(objects: Sequence[dict[str, Any]], port: int) -> dict[str, Any]:
    """medallion's memory-backend data file: one API root, one collection holding ``objects``."""
    url = f"http://127.0.0.1:{port}/{MEDALLION_ROOT}/"
    manifest = [
        {
            "id": obj["id"],
            "date_added": format_timestamp(date_added(n)),
            "version": obj["modified"],
            "media_type": "application/stix+json;version=2.1",
        }
        for n, obj in enumerate(objects)
    ]
    collection = {
        "id": COLLECTION,
        "title": "Benchmark collection",
        "can_read": True,
        "can_write": True,
        "media_types": ["application/stix+json;version=2.1"],
        "objects": list(objects),
        "manifest": manifest,
    }
    return {
        "/discovery": {"title": "medallion", "default": url, "api_roots": [url]},
        MEDALLION_ROOT: {
            "information": {
                "title": "Benchmark root",
                "versions": [TAXII],
                "max_content_length": 100 * 1024 * 1024,
            },
            "status": [],
            "collections": [collection],
        },
    }


@contextmanager
def medallion_server(python: str, count: int, folder: Path) -> Iterator[Server]:
    """medallion 3.0.0 (its CLI, Flask's threaded WSGI server) preloaded with ``stix_objects(count)``."""
    port = _free_port()
    data, config = folder / f"medallion-data-{count}.json", folder / f"medallion-{count}.json"
    data.write_text(json.dumps(medallion_data(stix_objects(count), port)))
    backend = {
        "module": "medallion.backends.memory_backend",
        "module_class": "MemoryBackend",
        "filename": str(data),
        # 30 s by default, counted from the first page: a slow walk would lose its `next` midway
        "session_timeout": 24 * 3600,
    }
    settings = {"backend": backend, "users": {PARTY: TOKEN}, "taxii": {"max_page_size": 1000}}
    config.write_text(json.dumps(settings))
    argv = [python, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port", str(port), str(config)]
    base = f"http://127.0.0.1:{port}"
    with _process(argv, base + "/taxii2/", folder / f"medallion-{count}.log", ready_s=300):
        yield Server(f"{base}/{MEDALLION_ROOT}/collections/{COLLECTION}/objects/", base + "/taxii2/")


def medallion_python() -> tuple[str | None, str]:
    """The interpreter that has medallion and its version, or None and why it cannot be used."""
    python = os.environ.get(MEDALLION_ENV) or MEDALLION_DEFAULT
    if not Path(python).is_file():
        return None, f"{python} does not exist (set {MEDALLION_ENV} to a Python that has medallion 3.0.0)"
    try:
        found = subprocess.run(
            [python, "-c", "import medallion; print(medallion.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"{python} cannot be run ({error})"
    if found.returncode != 0:
        return None, f"{python} cannot import medallion ({found.stderr.strip().splitlines()[-1:]})"
    return python, found.stdout.strip()


# ------------------------------------------------------------------------------------------- the client


@dataclass
class Timed:
    """What one client saw: seconds and object count per request, ids read, and why it stopped early."""

    steps: list[tuple[float, int]] = field(default_factory=list)
    ids: Counter[str] = field(default_factory=Counter)
    complete: bool = False
    stopped: str | None = None

    def rate(self, first: int | None = None) -> float | None:
        """Objects per second over the first ``first`` requests (all by default), as the client felt it."""
        steps = self.steps[:first]
        seconds = sum(s for s, _ in steps)
        return sum(n for _, n in steps) / seconds if steps and seconds > 0 else None

    def best(self, first: int | None = None) -> float | None:
        """Objects per second of the fastest of the first ``first`` requests: the best case."""
        return max((n / s for s, n in self.steps[:first] if s > 0), default=None)


def client(timeout_s: float) -> httpx.Client:
    """The one client both servers get: HTTP Basic as the benchmark's party, TAXII 2.1 accepted."""
    import httpx

    return httpx.Client(
        auth=(PARTY, TOKEN),
        headers={"Accept": TAXII},
        timeout=httpx.Timeout(timeout_s, connect=10.0),
    )


def _body(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise TaxiiBenchError(f"{what}: HTTP {response.status_code} {response.text[:300]}")
    found = response.json()
    if not isinstance(found, dict):
        raise TaxiiBenchError(f"{what}: the answer is not a JSON object")
    return found


def walk(
    http: httpx.Client, url: str, limit: int, *, max_pages: int | None = None, max_s: float | None = None
) -> Timed:
    """Read a collection page by page (``limit`` each, following ``next``) until ``more`` is false.

    Each page is timed from sending the request to holding its parsed JSON. Stops early after
    ``max_pages`` pages, after ``max_s`` seconds, or when one request outlasts the client's timeout."""
    import httpx

    seen = Timed()
    params = {"limit": str(limit)}
    while True:
        began = time.perf_counter()
        try:
            body = _body(http.get(url, params=params), 200, f"GET {url}")
        except httpx.TimeoutException:
            seen.stopped = f"page {len(seen.steps) + 1} not served within {http.timeout.read:.0f} s"
            return seen
        objects = body.get("objects", [])
        seen.steps.append((time.perf_counter() - began, len(objects)))
        seen.ids.update(obj["id"] for obj in objects)
        if not body.get("more"):
            seen.complete = True
            return seen
        if max_pages is not None and len(seen.steps) >= max_pages:
            seen.stopped = f"stopped after {max_pages} pages"
            return seen
        if max_s is not None and sum(s for s, _ in seen.steps) > max_s:
            seen.stopped = f"stopped after {max_s:.0f} s"
            return seen
        params = {"limit": str(limit), "next": str(body["next"])}


def push(http: httpx.Client, url: str, envelopes: Sequence[bytes], *, max_s: float | None = None) -> Timed:
    """POST each envelope (bodies encoded beforehand); each must be accepted whole (202, all succeeded)."""
    import httpx

    seen = Timed()
    headers = {"Content-Type": TAXII}
    for body in envelopes:
        began = time.perf_counter()
        try:
            status = _body(http.post(url, content=body, headers=headers), 202, f"POST {url}")
        except httpx.TimeoutException:
            seen.stopped = f"envelope {len(seen.steps) + 1} not answered within {http.timeout.read:.0f} s"
            return seen
        elapsed = time.perf_counter() - began
        if status.get("failure_count") or status.get("pending_count"):
            raise TaxiiBenchError(f"POST {url}: not every object succeeded: {json.dumps(status)[:300]}")
        seen.steps.append((elapsed, int(status["success_count"])))
        if max_s is not None and sum(s for s, _ in seen.steps) > max_s:
            seen.stopped = f"stopped after {max_s:.0f} s"
            return seen
    seen.complete = True
    return seen


def envelopes(count: int, size: int, seed: int) -> list[bytes]:
    """``count`` new objects (ids unlike any preloaded one) as TAXII envelopes of ``size``, as JSON bytes."""
    fresh = stix_objects(count, first=10_000_000, seed=seed)
    return [json.dumps({"objects": fresh[i : i + size]}).encode() for i in range(0, count, size)]


# -------------------------------------------------------------------------------------------- measuring


def _r(value: float | None, digits: int = 0) -> float | None:
    return None if value is None else round(value, digits)


def read_figures(stored: int, seen: Timed, limit: int, timeout_s: float) -> dict[str, Any]:
    """One walk as JSON: how much was read, whether each object came exactly once, and the rates."""
    pages = [s for s, _ in seen.steps]
    figures: dict[str, Any] = {
        "stored": stored,
        "read": sum(seen.ids.values()),
        "distinct": len(seen.ids),
        "duplicates": sum(seen.ids.values()) - len(seen.ids),
        "pages": len(pages),
        "complete": seen.complete,
        "stopped": seen.stopped,
        "seconds": round(sum(pages), 3),
        "objects_per_s": _r(seen.rate()),
        "best_page_objects_per_s": _r(seen.best()),
        "first_page_ms": _r(pages[0] * 1e3, 1) if pages else None,
        "median_page_ms": _r(statistics.median(pages) * 1e3, 1) if pages else None,
    }
    if not pages:  # not one page within the timeout: at most `limit` objects in that long
        figures["at_most_objects_per_s"] = round(limit / timeout_s, 2)
    return figures


def ingest_figures(stored: int, seen: Timed) -> dict[str, Any]:
    """One run of pushes as JSON: objects accepted and the rates (all envelopes; the fastest one)."""
    return {
        "stored": stored,
        "objects": sum(n for _, n in seen.steps),
        "envelopes": len(seen.steps),
        "complete": seen.complete,
        "stopped": seen.stopped,
        "seconds": round(sum(s for s, _ in seen.steps), 3),
        "objects_per_s": _r(seen.rate()),
        "best_envelope_objects_per_s": _r(seen.best()),
    }


@dataclass
class Plan:
    """What to measure: sizes, page and envelope sizes, medallion's caps, and the source to serve."""

    sizes: tuple[int, ...] = GSOMIA_SIZES
    medallion_sizes: tuple[int, ...] = MEDALLION_SIZES
    ingest_sizes: tuple[int, ...] = INGEST_SIZES
    limit: int = 1000
    envelope: int = 100
    ingest_objects: int = 2_000
    medallion_pages: int = 20
    medallion_timeout_s: float = 300.0
    source: str = DEFAULT_SOURCE


def measure(
    name: str,
    start: Callable[[int, Path], Any],
    plan: Plan,
    read_sizes: Sequence[int],
    folder: Path,
    timeout_s: float,
    max_pages: int | None,
) -> tuple[dict[str, Any], dict[tuple[str, int], Timed]]:
    """Every walk and every push against one kind of server, each on a server started for it."""
    out: dict[str, Any] = {"reads": [], "ingest": []}
    timed: dict[tuple[str, int], Timed] = {}
    for stored in read_sizes:
        _log(f"{name}: reading {stored:,} objects in pages of {plan.limit:,}")
        with start(stored, folder) as server, client(timeout_s) as http:
            _warm(http, server)
            seen = walk(http, server.objects_url, plan.limit, max_pages=max_pages, max_s=timeout_s)
        out["reads"].append(read_figures(stored, seen, plan.limit, timeout_s))
        timed["reads", stored] = seen
    for stored in plan.ingest_sizes:
        _log(f"{name}: pushing {plan.ingest_objects:,} objects into a collection of {stored:,}")
        bodies = envelopes(plan.ingest_objects, plan.envelope, seed=1 + stored)
        with start(stored, folder) as server, client(timeout_s) as http:
            _warm(http, server)
            seen = push(http, server.objects_url, bodies, max_s=timeout_s)
        out["ingest"].append(ingest_figures(stored, seen))
        timed["ingest", stored] = seen
    return out, timed


def _warm(http: httpx.Client, server: Server) -> None:
    """Open the connection with a discovery request, as a TAXII client does before it reads anything."""
    _body(http.get(server.discovery_url), 200, f"GET {server.discovery_url}")


def ratios(
    ours: dict[tuple[str, int], Timed], theirs: dict[tuple[str, int], Timed], plan: Plan
) -> list[dict[str, Any]]:
    """gsomia's figure over medallion's, on the same pages (or envelopes), both inputs beside each ratio.

    If medallion served nothing before the timeout, its figure is an upper bound (``limit`` objects in
    that many seconds) and the ratio a lower bound, compared with gsomia's first page."""
    out = []
    for (what, stored), other in sorted(theirs.items(), key=lambda kv: (kv[0][0] != "reads", kv[0][1])):
        mine = ours.get((what, stored))
        if mine is None or not mine.steps:
            continue
        same = min(len(mine.steps), len(other.steps))
        unit = "pages" if what == "reads" else "envelopes"
        if same == 0:
            bound = plan.limit / plan.medallion_timeout_s if what == "reads" else None
            gsomia = mine.rate(1)
            if bound and gsomia:
                out.append(_ratio(what, stored, "first page, at least", 1, unit, gsomia, bound))
            continue
        felt = "whole walk" if what == "reads" else "all envelopes"
        best = "best page" if what == "reads" else "best envelope"
        compared = [(felt, mine.rate(same), other.rate(same))]
        if same > 1:  # with one page (or envelope) the best case is the whole walk
            compared.append((best, mine.best(same), other.best(same)))
        for figure, ours_value, theirs_value in compared:
            if ours_value and theirs_value:
                out.append(_ratio(what, stored, figure, same, unit, ours_value, theirs_value))
    return out


def _ratio(
    what: str, stored: int, figure: str, same: int, unit: str, ours: float, theirs: float
) -> dict[str, Any]:
    return {
        "measure": what,
        "stored": stored,
        "figure": figure,
        "compared": f"the same {same} {unit}",
        "gsomia_objects_per_s": round(ours),
        "medallion_objects_per_s": round(theirs, 1),
        "ratio": round(ours / theirs, 1),
    }


def targets(gsomia: dict[str, Any], found: list[dict[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    """The issue's three targets, each with the figure it was judged on (met None: not measured)."""
    reads = {r["stored"]: r for r in gsomia["reads"] if r["objects_per_s"]}
    big = reads.get(BIG)
    out = [
        {
            "target": "gsomia serves pages of 1,000 from a collection of 1,000,000 at >= 10,000 objects/s",
            "objects_per_s": big and big["objects_per_s"],
            "met": None if big is None or plan.limit != 1000 else big["objects_per_s"] >= 10_000,
        }
    ]
    if len(reads) >= 2:
        low, high = reads[min(reads)], reads[max(reads)]
        flat = high["objects_per_s"] / low["objects_per_s"]
        out.append(
            {
                "target": "flat as the collection grows (largest over smallest, whole walks; met if >= 0.8)",
                "smallest": {"stored": low["stored"], "objects_per_s": low["objects_per_s"]},
                "largest": {"stored": high["stored"], "objects_per_s": high["objects_per_s"]},
                "quotient": round(flat, 2),
                "met": flat >= 0.8,
            }
        )
    at = next((r for r in found if r["measure"] == "reads" and r["stored"] == 20_000), None)
    out.append(
        {
            "target": ">= 100x medallion at 20,000 stored objects (paged reads)",
            "ratio": at and at["ratio"],
            "figure": at and at["figure"],
            "met": None if at is None else at["ratio"] >= 100,
        }
    )
    return out


def run(
    plan: Plan | None = None, *, big: bool = False, as_json: bool = False, medallion: bool = True
) -> dict[str, Any]:
    """Measure both servers, print a report (``{"taxii": ...}`` as one JSON object with ``as_json``)."""
    plan = plan or Plan()
    if big and BIG not in plan.sizes:
        plan.sizes = (*plan.sizes, BIG)
    if plan.limit < 1 or plan.envelope < 1 or plan.ingest_objects < 1:
        raise TaxiiBenchError("limit, envelope size and objects pushed must each be at least 1")
    load_factory(plan.source)  # fail here, not in a child process
    python, why = medallion_python() if medallion else (None, "not asked for")
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "client": f"httpx {_version('httpx')}, a keep-alive connection per run, Basic auth, Accept {TAXII}",
        "limit": plan.limit,
        "envelope": plan.envelope,
        "servers": {},
        "ratios": [],
    }
    with tempfile.TemporaryDirectory(prefix="gsomia-taxii-bench-") as tmp:
        folder = Path(tmp)

        def start_gsomia(count: int, where: Path) -> Any:
            return gsomia_server(plan.source, count, where)

        gsomia, ours = measure("gsomia", start_gsomia, plan, plan.sizes, folder, 600.0, None)
        gsomia.update(
            server=f"uvicorn {_version('uvicorn')} (one process), gsomia.web.app.create_app",
            source=plan.source,
            source_kind="in-memory, benchmark-local"
            if plan.source == DEFAULT_SOURCE
            else "given by --source",
        )
        report["servers"]["gsomia"] = {"measured": True, **gsomia}
        if python is None:
            report["servers"]["medallion"] = {"measured": False, "why": why}
        else:

            def start_medallion(count: int, where: Path) -> Any:
                return medallion_server(python, count, where)

            sizes = plan.medallion_sizes
            theirs_out, theirs = measure(
                "medallion",
                start_medallion,
                plan,
                sizes,
                folder,
                plan.medallion_timeout_s,
                plan.medallion_pages,
            )
            report["servers"]["medallion"] = {
                "measured": True,
                "version": why,
                "server": "its own CLI (Flask/Werkzeug threaded WSGI server), memory backend",
                "max_pages": plan.medallion_pages,
                "timeout_s": plan.medallion_timeout_s,
                **theirs_out,
            }
            report["ratios"] = ratios(ours, theirs, plan)
    report["targets"] = targets(report["servers"]["gsomia"], report["ratios"], plan)
    if as_json:
        print(json.dumps({"taxii": report}))
    else:
        show(report)
    return report


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- printing


def _n(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def show(report: dict[str, Any]) -> None:
    """The report as plain text: reads, pushes, ratios (with their inputs), targets."""
    servers = report["servers"]
    print(f"TAXII 2.1, {report['machine']['cpus']} cores; client: {report['client']}")
    print(f"gsomia: {servers['gsomia']['server']}; source {servers['gsomia']['source']}", end="")
    print(f" ({servers['gsomia']['source_kind']})")
    medallion = servers.get("medallion", {})
    if medallion.get("measured"):
        print(f"medallion {medallion['version']}: {medallion['server']}")
    else:
        print(f"medallion: not measured: {medallion.get('why')}; gsomia's figures alone, no ratios")
    print(f"\nPaged reads, limit={report['limit']:,} (objects/s: whole walk as felt | fastest page)")
    print(f"{'server':<10} {'stored':>10} {'read':>10} {'pages':>6} {'once':>5} {'obj/s':>9} ", end="")
    print(f"{'best':>9} {'1st ms':>10} {'med ms':>8}  note")
    for name, figures in servers.items():
        for r in figures.get("reads", []):
            once = "-" if not r["read"] else "yes" if r["duplicates"] == 0 else "NO"
            note = r["stopped"] or ""
            if "at_most_objects_per_s" in r:
                note += f" (so at most {r['at_most_objects_per_s']} objects/s)"
            print(
                f"{name:<10} {r['stored']:>10,} {r['read']:>10,} {r['pages']:>6} {once:>5} "
                f"{_n(r['objects_per_s']):>9} {_n(r['best_page_objects_per_s']):>9} "
                f"{_n(r['first_page_ms'], 1):>10} {_n(r['median_page_ms'], 1):>8}  {note}"
            )
    print(f"\nIngest, envelopes of {report['envelope']} (objects/s: all envelopes | fastest envelope)")
    print(f"{'server':<10} {'stored':>10} {'pushed':>8} {'envs':>5} {'obj/s':>9} {'best':>9}  note")
    for name, figures in servers.items():
        for r in figures.get("ingest", []):
            print(
                f"{name:<10} {r['stored']:>10,} {r['objects']:>8,} {r['envelopes']:>5} "
                f"{_n(r['objects_per_s']):>9} {_n(r['best_envelope_objects_per_s']):>9}  {r['stopped'] or ''}"
            )
    if report["ratios"]:
        print("\ngsomia / medallion (each on the same work):")
    for r in report["ratios"]:
        print(
            f"  {r['measure']} at {r['stored']:,} stored, {r['figure']} ({r['compared']}): "
            f"{r['gsomia_objects_per_s']:,} / {r['medallion_objects_per_s']:,} = {r['ratio']:,}x"
        )
    print("\nTargets:")
    for t in report["targets"]:
        met = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        detail = {k: v for k, v in t.items() if k not in ("target", "met")}
        print(f"  {t['target']}: {met} {json.dumps(detail)}")


# ------------------------------------------------------------------------------------------ entry points


def serve(source: str, count: int, port: int) -> None:
    """The child process: build the source with ``count`` objects and serve it until terminated."""
    import uvicorn

    from gsomia.web.app import create_app

    began = time.perf_counter()
    made = load_factory(source)(count)
    _log(f"source {source} with {count:,} objects built in {time.perf_counter() - began:.1f} s")
    gc.collect()
    gc.freeze()  # what was preloaded stays put: the collector need not rescan it on every page
    uvicorn.run(create_app(made), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _sizes(text: str) -> tuple[int, ...]:
    if not text.strip():
        return ()  # none: e.g. --ingest-sizes "" for a source that takes no pushed objects (a node's own)
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if any(n < 0 for n in sizes):
        raise argparse.ArgumentTypeError("sizes cannot be negative")
    return sizes


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["serve"]:
        child = argparse.ArgumentParser(prog="python -m benchmarks.taxii_bench serve")
        child.add_argument("--source", default=DEFAULT_SOURCE)
        child.add_argument("--objects", type=int, required=True)
        child.add_argument("--port", type=int, required=True)
        given = child.parse_args(args[1:])
        serve(given.source, given.objects, given.port)
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.taxii_bench", description=__doc__)
    parser.add_argument("--big", action="store_true", help="also read a collection of 1,000,000 objects")
    parser.add_argument("--sizes", type=_sizes, default=GSOMIA_SIZES, help="gsomia read sizes (1000,20000)")
    parser.add_argument("--medallion-sizes", type=_sizes, default=MEDALLION_SIZES)
    parser.add_argument("--ingest-sizes", type=_sizes, default=INGEST_SIZES, help="objects stored before")
    parser.add_argument("--limit", type=int, default=1000, help="objects per page (default 1,000)")
    parser.add_argument("--envelope", type=int, default=100, help="objects per pushed envelope")
    parser.add_argument("--ingest-objects", type=int, default=2_000, help="objects pushed per run")
    parser.add_argument("--medallion-pages", type=int, default=20, help="pages medallion reads at most")
    parser.add_argument(
        "--medallion-timeout", type=float, default=300.0, help="seconds one medallion request or run may take"
    )
    parser.add_argument("--source", default=DEFAULT_SOURCE, help="make_source as module:function")
    parser.add_argument("--no-medallion", action="store_true", help="measure gsomia alone")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    given = parser.parse_args(args)
    plan = Plan(
        sizes=given.sizes,
        medallion_sizes=given.medallion_sizes,
        ingest_sizes=given.ingest_sizes,
        limit=given.limit,
        envelope=given.envelope,
        ingest_objects=given.ingest_objects,
        medallion_pages=given.medallion_pages,
        medallion_timeout_s=given.medallion_timeout,
        source=given.source,
    )
    try:
        run(plan, big=given.big, as_json=given.json, medallion=not given.no_medallion)
    except TaxiiBenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
