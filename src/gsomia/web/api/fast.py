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
  gets the same text with its own item and day put in.

The numpy batch engine (:mod:`gsomia.batch`) is not used: it gives verdicts without reasons, and the
per-class work here is already done once per class; what remains per query is a few dictionary look-ups
and joining text, which numpy would not shorten (its encoding step costs more per query than this loop).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from typing import Any

from gsomia.domain.errors import GsomiaError
from gsomia.domain.world import World

from . import models as m

MAX_BATCH = 10_000  # queries in one call of POST /decisions:batch
_FIELDS = frozenset({"item", "to", "at", "holder"})
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

BatchQuery = tuple[str, str, str, str | None]  # item, recipient, day (YYYY-MM-DD), holder


def _id(value: object) -> bool:
    return type(value) is str and 1 <= len(value) <= 200


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
    fields = _FIELDS
    for q in queries:
        if type(q) is not dict or not q.keys() <= fields:
            return None
        item, to, at, holder = q.get("item"), q.get("to"), q.get("at"), q.get("holder")
        if not (_id(item) and _id(to) and type(at) is str and (holder is None or _id(holder))):
            return None
        good = days.get(at)
        if good is None:
            good = days[at] = _calendar_day(at)
        if not good:
            return None
        out.append((item, to, at, holder))  # type: ignore[arg-type]  # checked just above
    return out


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

    Not thread-safe by itself; make one per request or guard it."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._index = world.index
        self._shapes: dict[str, Hashable] = {}
        self._items: dict[str, str] = {}
        self._days: dict[str, int] = {}
        self._classes: dict[tuple[Hashable, str, str | None, int], tuple[str, str]] = {}

    def decision(self, item: str, to: str, at: str, holder: str | None) -> str:
        """The decision JSON of one query (bad input raises the domain's QueryError, as ``decide`` does)."""
        index = self._index
        shape = self._shapes.get(item)
        if shape is None:
            ci = index.items.get(item)
            if ci is not None:
                it = ci.item
                shape = (ci.klass, it.originator, it.topics, it.caveats, it.releasable_to)
                self._shapes[item] = shape
        span = self._days.get(at)
        if span is None:
            span = self._days[at] = index.reason_span(date.fromisoformat(at).toordinal())
        key = (shape, to, holder, span)
        found = self._classes.get(key) if shape is not None else None
        if found is None:
            found = self._split(self._world.decide(item, to, at, holder).to_dict())
            self._classes[key] = found
        name = self._items.get(item)
        if name is None:
            name = self._items[item] = _dumps(item)
        middle, rest = found
        return '{"item":' + name + middle + '"' + at + '"' + rest

    @staticmethod
    def _split(whole: dict[str, Any]) -> tuple[str, str]:
        """The text between the item and the day, and after the day, of a decision's JSON."""
        middle = ',"recipient":' + _dumps(whole["recipient"]) + ',"holder":' + _dumps(whole["holder"])
        rest = {k: v for k, v in whole.items() if k not in ("item", "recipient", "holder", "at")}
        return middle + ',"at":', "," + _dumps(rest)[1:]

    def many(self, queries: Sequence[BatchQuery], on_error: Callable[[int, GsomiaError], Exception]) -> bytes:
        """``{"decisions": [...]}`` for ``queries`` in order; a query the node refuses raises
        ``on_error(position, error)``."""
        parts: list[str] = []
        one = self.decision
        for n, (item, to, at, holder) in enumerate(queries):
            try:
                parts.append(one(item, to, at, holder))
            except GsomiaError as error:
                raise on_error(n, error) from None
        return ('{"decisions":[' + ",".join(parts) + "]}").encode()
