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
(a whole column at a time, in C) and joining text, which numpy would not shorten (its encoding step costs
more per query than this).
"""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Callable, Hashable, Iterator
from datetime import date
from itertools import chain, repeat
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, NamedTuple, cast

from gsomia.domain.days import day_problem
from gsomia.domain.errors import GsomiaError
from gsomia.domain.world import World

from . import models as m

MAX_BATCH = 10_000  # queries in one call of POST /decisions:batch
KEPT_ITEMS = 200_000  # item ids a kept DecisionText remembers before it starts afresh
KEPT_DAYS = 20_000  # days it remembers before it starts afresh (about 55 years of distinct days)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
# a class of queries: (item shape, recipient, holder, reason span); a look-up may hold None for a shape or
# span not known yet, a key no class is ever kept under
ClassKey = tuple[int | None, str, str | None, int | None]


class BatchQueries(NamedTuple):
    """A batch's queries as columns, query ``n`` being ``(item[n], to[n], at[n], holder[n])``: the quick
    check makes each column in one pass, and the answer walks them with ``zip`` (no tuple kept per query).
    ``items`` is the set of the distinct item ids, which the check makes anyway and the route needs (which
    of them the node's world has not read yet)."""

    item: list[str]
    to: list[str]
    at: list[str]  # YYYY-MM-DD
    holder: list[str | None]
    items: set[str]

    def rows(self) -> Iterator[tuple[str, str, str, str | None]]:
        """Each query as (item, to, at, holder), in order."""
        return zip(self.item, self.to, self.at, self.holder, strict=True)


_ABSENT = object()  # a holder left out (null and left out both mean "the originator")
_HOLDER = {_ABSENT: None}  # ``.get(h, h)``: a holder left out is None, any other stays itself
_FOUR = itemgetter("item", "to", "at", "holder")
Columns = tuple[list[Any], list[Any], list[Any], list[Any], int]  # item, to, at, holder; holders left out


def quick_batch(data: object) -> BatchQueries | None:
    """The queries of a batch body already parsed from JSON, if it plainly satisfies ``models.Batch``;
    None if anything is unusual (the caller then lets the model judge, and name the fault).

    Whole-list passes, each in C (``map`` over the queries, sets of the distinct values), instead of a
    Python loop over 10,000 queries: a query that is not an object, a missing field or a value that is
    not text stops a pass with a TypeError or KeyError (None), and the names and days are checked once
    per distinct value."""
    if type(data) is not dict or data.keys() != {"queries"}:
        return None
    queries = data["queries"]
    if type(queries) is not list or not 1 <= len(queries) <= MAX_BATCH:
        return None
    try:
        items, tos, ats, holders, absent = _columns(queries)
        size = sum(map(dict.__len__, queries))  # TypeError: a query that is not an object
        distinct = set(items)  # TypeError: a value that cannot be text (a list or an object)
        names = distinct.union(tos)
        held = set(holders)
        days = set(ats)
    except (TypeError, KeyError):
        return None
    if size != 4 * len(queries) - absent:  # item, to, at (and holder where given): nothing unknown
        return None
    held.discard(None)  # a holder may be null, or left out
    if not (_names(names) and (not held or _names(held)) and _days(days)):
        return None
    return BatchQueries(items, tos, ats, holders, distinct)


def _columns(queries: list[Any]) -> Columns:
    """The queries' four columns, and how many leave the holder out (read as None); TypeError for a query
    that is not subscripted by name, KeyError for a field missing (the caller checks that each is a dict).

    Freshly parsed queries lie scattered in memory, and each pass over them costs about a cache miss per
    query: when every query gives a holder (null or not), as most bodies do, they are read in one pass,
    four values at a time, and the columns are cut out of that flat list by slices (measured in the
    server, the whole quick check took 8 ms this way against 11 with a pass per field). Otherwise, a pass
    per field."""
    try:
        flat = list(chain.from_iterable(map(_FOUR, queries)))  # KeyError: a holder left out somewhere
    except KeyError:
        pass
    else:
        return flat[0::4], flat[1::4], flat[2::4], flat[3::4], 0
    items = list(map(dict.__getitem__, queries, repeat("item")))  # KeyError: a field missing
    tos = list(map(dict.__getitem__, queries, repeat("to")))
    ats = list(map(dict.__getitem__, queries, repeat("at")))
    holders = list(map(dict.get, queries, repeat("holder"), repeat(_ABSENT)))
    absent = holders.count(_ABSENT)
    if absent:  # TypeError: a holder that cannot be hashed (a list or an object)
        holders = list(map(_HOLDER.get, holders, holders))
    return items, tos, ats, holders, absent


def _names(names: set[Any]) -> bool:
    """Each a text of 1 to 200 characters, none a lone surrogate (the model refuses those: not text)."""
    try:
        joined = "".join(names)  # TypeError: one is not text (a number, a boolean, null)
    except TypeError:
        return False
    if not (joined.isascii() or _SURROGATE.search(joined) is None):
        return False
    return "" not in names and max(map(len, names)) <= 200


_good_days: set[str] = set()  # calendar days some batch gave already (bounded by KEPT_DAYS)


def _days(days: set[Any]) -> bool:
    """Each a calendar day written YYYY-MM-DD; the days seen before are not checked again."""
    new = days - _good_days
    for day in new:
        if type(day) is not str or not _calendar_day(day):
            return False
    if new:
        if len(_good_days) + len(new) > KEPT_DAYS:
            _good_days.clear()
        _good_days.update(new)
    return True


def _calendar_day(text: str) -> bool:
    """A day the API takes (see :mod:`gsomia.domain.days`); any other goes the model's way, to its 422."""
    if not _DAY.fullmatch(text):
        return False
    try:
        return day_problem(date.fromisoformat(text)) is None
    except ValueError:
        return False


def from_model(batch: m.Batch) -> BatchQueries:
    queries = batch.queries
    items = [q.item for q in queries]
    return BatchQueries(
        items, [q.to for q in queries], [q.at for q in queries], [q.holder for q in queries], set(items)
    )


class DecisionText:
    """Decision JSON for one world, built once per class of queries and shared (see the module doc).

    Pieces are kept as UTF-8 bytes and an answer is one join of them: markings in a party's own script
    would otherwise widen every Python string they are joined into, and a batch of 10,000 decisions is
    about 11 MB of text. Not thread-safe by itself: :class:`Texts` guards the one a worker keeps."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._index = world.index
        # each kept twice, its number and its text apart, so that a batch looks a whole column up in C
        self._shape: dict[str, int] = {}  # item id -> its shape's number (-1: not on the node)
        self._item: dict[str, bytes] = {}  # item id -> b',{"item":"<id>"'
        self._shapes: dict[Hashable, int] = {}  # shape -> a small number (hashed at once in every key)
        self._span: dict[str, int] = {}  # day -> its reason span
        self._day: dict[str, bytes] = {}  # day -> b'"<day>"'
        self._classes: dict[ClassKey, tuple[bytes, bytes]] = {}

    @property
    def world(self) -> World:
        return self._world

    @property
    def full(self) -> bool:
        """Whether it remembers as many item ids or days as it may (a new one is then made)."""
        return len(self._shape) > KEPT_ITEMS or len(self._span) > KEPT_DAYS

    def decision(self, item: str, to: str, at: str, holder: str | None) -> str:
        """The decision JSON of one query (bad input raises the domain's QueryError, as ``decide`` does)."""
        return b"".join(self._pieces(item, to, at, holder))[1:].decode()  # less the leading comma

    def _pieces(self, item: str, to: str, at: str, holder: str | None) -> tuple[bytes, bytes, bytes, bytes]:
        """The four pieces of the query's decision JSON, the first starting with a comma."""
        shape = self._shape.get(item)
        if shape is None:
            ci = self._index.items.get(item)
            shape = -1  # not on the node: decided (and refused) each time, never shared
            if ci is not None:
                it = ci.item
                whole = (ci.klass, it.originator, it.topics, it.caveats, it.releasable_to)
                shape = self._shapes.setdefault(whole, len(self._shapes))
            # the standard encoder's own string encoding (ensure_ascii off), without its per-call set-up
            self._item[item] = b',{"item":' + encode_basestring(item).encode()
            self._shape[item] = shape
        span = self._span.get(at)
        if span is None:
            self._day[at] = b'"' + at.encode() + b'"'
            span = self._span[at] = self._index.reason_span(date.fromisoformat(at).toordinal())
        key = (shape, to, holder, span)
        found = self._classes.get(key)
        if found is None:
            found = self._split(self._world.decide(item, to, at, holder).to_dict())
            if shape >= 0:
                self._classes[key] = found
        return self._item[item], found[0], self._day[at], found[1]

    @staticmethod
    def _split(whole: dict[str, Any]) -> tuple[bytes, bytes]:
        """The text between the item and the day, and after the day, of a decision's JSON."""
        middle = ',"recipient":' + _dumps(whole["recipient"]) + ',"holder":' + _dumps(whole["holder"])
        rest = {k: v for k, v in whole.items() if k not in ("item", "recipient", "holder", "at")}
        return (middle + ',"at":').encode(), ("," + _dumps(rest)[1:]).encode()

    def many(self, queries: BatchQueries, on_error: Callable[[int, GsomiaError], Exception]) -> bytes:
        """``{"decisions": [...]}`` for ``queries`` in order; a query the node refuses raises
        ``on_error(position, error)``.

        Each column is looked up whole, in C (``map`` over the kept dictionaries' ``get``): the items' shapes
        and texts, the days' spans and texts, then each query's class by the key ``zip`` makes of those.
        Only the queries whose class is not kept yet (a first batch, a new item, day or recipient; a
        refused query, whose class is never kept) go through :meth:`_pieces`, in order, so the first
        refused one is the one named. The answer is one join of the pieces, interleaved in C; each
        decision's first piece starts with the comma that separates it from the one before."""
        items, tos, ats, holders, _ = queries
        shapes = map(self._shape.get, items)  # None for an item not seen yet: no class has that key
        spans = map(self._span.get, ats)
        keys: Iterator[ClassKey] = zip(shapes, tos, holders, spans, strict=True)
        found = list(map(self._classes.get, keys))
        texts = list(map(self._item.get, items))
        days = list(map(self._day.get, ats))
        n = 0
        while True:
            try:
                n = found.index(None, n)
            except ValueError:
                break
            try:
                texts[n], middle, days[n], tail = self._pieces(items[n], tos[n], ats[n], holders[n])
            except GsomiaError as error:
                raise on_error(n, error) from None
            found[n] = (middle, tail)
            n += 1
        if not texts:
            return b'{"decisions":[]}'
        texts[0] = cast(bytes, texts[0])[1:]  # the first decision's comma
        every = cast(list[tuple[bytes, bytes]], found)  # none is missing now
        # the pieces interleaved by slice assignment (each a copy of pointers, in C): a third cheaper than
        # chaining a zip of them, which makes a tuple per query
        pieces: list[bytes] = [b""] * (4 * len(texts) + 2)
        pieces[0], pieces[-1] = b'{"decisions":[', b"]}"
        pieces[1:-1:4] = cast(list[bytes], texts)
        pieces[2:-1:4] = map(itemgetter(0), every)
        pieces[3:-1:4] = cast(list[bytes], days)
        pieces[4:-1:4] = map(itemgetter(1), every)
        return b"".join(pieces)


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
        queries: BatchQueries,
        on_error: Callable[[int, GsomiaError], Exception],
    ) -> bytes:
        """:meth:`DecisionText.many` on ``world``."""
        with self._lock:
            return self._for(world).many(queries, on_error)


class Settled:
    """Has the cyclic garbage collector do its full collection after a cold batch is answered, not inside
    the next one (see :meth:`after`).

    A full collection walks every object the collector tracks. A serving process holds the framework's
    objects and the node's compiled world with every item it has read (about 300,000 objects in the
    benchmark's server), and the items a cold batch reads (or a newly compiled world) are enough new
    objects to set one off: 200 to 300 ms, measured inside the first warm batches. After a batch that read
    items or met a new world, one collection runs once the answer is sent; the warm batches after it
    start with nothing pending. Nothing is frozen here (``gc.freeze()`` would keep every object alive at
    that moment, other requests' passing garbage included, out of every later collection; ``gsomia
    serve`` freezes only what its start-up built, before serving), and no world is held: only its id is
    kept, to tell a new world."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: int | None = None  # id() of the world a collection last followed

    def needed(self, world: World, grew: bool) -> bool:
        """Whether :meth:`after` has anything to do: the batch read items, or its world is a new one."""
        return grew or id(world) != self._seen

    def after(self, world: World, grew: bool) -> None:
        """One full collection, after a batch on ``world`` (that read items if ``grew``). Run after the
        answer is sent: that caller does not wait for it (the collection holds the interpreter's lock,
        as any full collection does, wherever it falls)."""
        with self._lock:
            if not self.needed(world, grew):
                return
            self._seen = id(world)
        gc.collect()


SETTLED = Settled()  # one per process: the collector is the process's
