"""Decisions as JSON text without a Pydantic model per decision: what keeps a batch of 10,000 fast.

A batch route that builds ``Decision`` models spends several times the engine's work on them. Here a
batch body is checked by hand with the very rules of :class:`~gsomia.web.api.models.Batch` (anything the
quick check does not accept is handed to the model, whose errors then name the field as always, so the
quick check can only be stricter, never looser), and the answer is assembled from pieces of JSON text:

- the decision JSON of a query depends on the query's item only through its id and its *shape* (what the
  reasons read of an item: its class in the compiled index, which fixes the originator, level, topic set,
  releasability, NOFORN and a consent naming it, plus the topics, caveats and releasability in the order
  written); on its day only through the day's text and the stretch of days on which no reason changes
  (:meth:`gsomia.domain.index.Index.reason_span`, within which no verdict changes either);
- so each distinct (shape, recipient, holder, stretch) is decided once, by :meth:`World.decide` (which
  also checks the query and names what is wrong), turned into JSON once, and every query of that class
  gets the same text with its own item and day put in;
- what one request worked out is kept for the next (:class:`Texts`) while the node's compiled world is
  the same object, so a warm batch pays only for looking its queries up and joining bytes.

The numpy batch engine (:mod:`gsomia.batch`) is not used: it gives verdicts without reasons, and the
per-class work here is already done once per class; what remains per query is a few dictionary look-ups
and joining text, which numpy would not shorten (its encoding step costs more per query than this loop).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from json.encoder import encode_basestring
from typing import Any

from gsomia.domain.errors import GsomiaError
from gsomia.domain.world import World

from . import models as m

MAX_BATCH = 10_000  # queries in one call of POST /decisions:batch
KEPT_ITEMS = 200_000  # item ids a kept DecisionText remembers before it starts afresh
KEPT_DAYS = 20_000  # days it remembers before it starts afresh (about 55 years of distinct days)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

BatchQuery = tuple[str, str, str, str | None]  # item, recipient, day (YYYY-MM-DD), holder


def quick_batch(data: object) -> list[BatchQuery] | None:
    """The queries of a batch body already parsed from JSON, if it plainly satisfies ``models.Batch``;
    None if anything is unusual (the caller then lets the model judge, and name the fault)."""
    if type(data) is not dict or data.keys() != {"queries"}:
        return None
    queries = data["queries"]
    if type(queries) is not list or not 1 <= len(queries) <= MAX_BATCH:
        return None
    out: list[BatchQuery] = []
    days: dict[str, bool] = {}
    names: set[str] = set()  # ids already found to be 1 to 200 characters
    for q in queries:
        if type(q) is not dict:
            return None
        item, to, at, holder = q.get("item"), q.get("to"), q.get("at"), q.get("holder")
        if len(q) != 3 + ("holder" in q):  # item, to and at present (checked next), and nothing unknown
            return None
        if type(item) is not str or type(to) is not str or type(at) is not str:
            return None
        if item not in names:
            if not _name(item):
                return None
            names.add(item)
        if to not in names:
            if not _name(to):
                return None
            names.add(to)
        if holder is not None:
            if type(holder) is not str:
                return None
            if holder not in names:
                if not _name(holder):
                    return None
                names.add(holder)
        good = days.get(at)
        if good is None:
            good = days[at] = _calendar_day(at)
        if not good:
            return None
        out.append((item, to, at, holder))
    return out


def _name(text: str) -> bool:
    """1 to 200 characters, none a lone surrogate (the model refuses those: they are not text)."""
    return 1 <= len(text) <= 200 and (text.isascii() or _SURROGATE.search(text) is None)


def _calendar_day(text: str) -> bool:
    if not _DAY.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def from_model(batch: m.Batch) -> list[BatchQuery]:
    return [(q.item, q.to, q.at, q.holder) for q in batch.queries]


class DecisionText:
    """Decision JSON for one world, built once per class of queries and shared (see the module doc).

    Pieces are kept as UTF-8 bytes and an answer is one join of them: markings in a party's own script
    would otherwise widen every Python string they are joined into, and a batch of 10,000 decisions is
    about 11 MB of text. Not thread-safe by itself: :class:`Texts` guards the one a worker keeps."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._index = world.index
        self._items: dict[str, tuple[bytes, int]] = {}  # id -> (b'{"item":"<id>"', its shape's number)
        self._shapes: dict[Hashable, int] = {}  # shape -> a small number (hashed at once in every key)
        self._days: dict[str, tuple[int, bytes]] = {}  # day -> (its reason span, b'"<day>"')
        self._classes: dict[tuple[int, str, str | None, int], tuple[bytes, bytes]] = {}

    @property
    def world(self) -> World:
        return self._world

    @property
    def full(self) -> bool:
        """Whether it remembers as many item ids or days as it may (a new one is then made)."""
        return len(self._items) > KEPT_ITEMS or len(self._days) > KEPT_DAYS

    def decision(self, item: str, to: str, at: str, holder: str | None) -> str:
        """The decision JSON of one query (bad input raises the domain's QueryError, as ``decide`` does)."""
        return b"".join(self._pieces(item, to, at, holder)).decode()

    def _pieces(self, item: str, to: str, at: str, holder: str | None) -> tuple[bytes, bytes, bytes, bytes]:
        known = self._items.get(item)
        if known is None:
            ci = self._index.items.get(item)
            shape = -1  # not on the node: decided (and refused) each time, never shared
            if ci is not None:
                it = ci.item
                whole = (ci.klass, it.originator, it.topics, it.caveats, it.releasable_to)
                shape = self._shapes.setdefault(whole, len(self._shapes))
            # the standard encoder's own string encoding (ensure_ascii off), without its per-call set-up
            known = self._items[item] = (b'{"item":' + encode_basestring(item).encode(), shape)
        day = self._days.get(at)
        if day is None:
            span = self._index.reason_span(date.fromisoformat(at).toordinal())
            day = self._days[at] = (span, b'"' + at.encode() + b'"')
        key = (known[1], to, holder, day[0])
        found = self._classes.get(key)
        if found is None:
            found = self._split(self._world.decide(item, to, at, holder).to_dict())
            if known[1] >= 0:
                self._classes[key] = found
        return known[0], found[0], day[1], found[1]

    @staticmethod
    def _split(whole: dict[str, Any]) -> tuple[bytes, bytes]:
        """The text between the item and the day, and after the day, of a decision's JSON."""
        middle = ',"recipient":' + _dumps(whole["recipient"]) + ',"holder":' + _dumps(whole["holder"])
        rest = {k: v for k, v in whole.items() if k not in ("item", "recipient", "holder", "at")}
        return (middle + ',"at":').encode(), ("," + _dumps(rest)[1:]).encode()

    def many(self, queries: Sequence[BatchQuery], on_error: Callable[[int, GsomiaError], Exception]) -> bytes:
        """``{"decisions": [...]}`` for ``queries`` in order; a query the node refuses raises
        ``on_error(position, error)``."""
        parts: list[bytes] = [b'{"decisions":[']
        add = parts.extend
        pieces = self._pieces
        for n, (item, to, at, holder) in enumerate(queries):
            try:
                add(pieces(item, to, at, holder))
            except GsomiaError as error:
                raise on_error(n, error) from None
            parts.append(b",")
        if len(parts) > 1:
            parts.pop()  # the comma after the last decision
        parts.append(b"]}")
        return b"".join(parts)


class Texts:
    """The :class:`DecisionText` of the node's current world, kept across requests.

    The node's compiled world is one object for as long as its world records stay the same (the worldbook
    compiles a new one when they change, and only admits items into the one it keeps), and within one
    world an item's class and a day's stretch mean the same decision: so what one request worked out
    (its classes' JSON, items' and days' text) serves the next, until the world is another object. A
    batch holds it under a lock (the work is Python under the GIL either way); a single decision that
    finds it held does not wait."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: DecisionText | None = None

    def _for(self, world: World) -> DecisionText:
        kept = self._kept
        if kept is None or kept.world is not world or kept.full:
            kept = self._kept = DecisionText(world)
        return kept

    def decision(self, world: World, item: str, to: str, at: str, holder: str | None) -> str:
        """:meth:`DecisionText.decision` on ``world``. It never waits: a single decision is answered on the
        server's event loop, so while a batch holds the kept texts it is worked out on its own."""
        if not self._lock.acquire(blocking=False):
            return DecisionText(world).decision(item, to, at, holder)
        try:
            return self._for(world).decision(item, to, at, holder)
        finally:
            self._lock.release()

    def many(
        self,
        world: World,
        queries: Sequence[BatchQuery],
        on_error: Callable[[int, GsomiaError], Exception],
    ) -> bytes:
        """:meth:`DecisionText.many` on ``world``."""
        with self._lock:
            return self._for(world).many(queries, on_error)
