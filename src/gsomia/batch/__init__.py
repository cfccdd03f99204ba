"""Batch decisions with numpy: millions of queries decided column by column, outside the pure core.

    >>> decider = BatchDecider(world)                       # doctest: +SKIP
    >>> result = decider.decide(decider.encode(queries))    # doctest: +SKIP
    >>> result.allowed                                      # doctest: +SKIP

The verdicts equal :meth:`gsomia.World.decide`'s on every query (a Hypothesis property checks it); reasons
are not computed here: ask ``world.decide`` for the one query whose reasons you need.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from ..domain.errors import QueryError
from ..domain.index import DENIED, Verdict
from ..domain.world import Query, World
from .evaluate import CONDUIT, RETURN, BatchResult, decide_arrays
from .tables import I32, I64, Tables, compile_tables

__all__ = ["BatchDecider", "BatchResult", "Encoded"]

Encoded = tuple[I32, I32, I64, I32]  # item, recipient, day ordinal, holder (-1: the originator)


class BatchDecider:
    """A world compiled to arrays, ready to decide batches."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.tables: Tables = compile_tables(world)
        self._items = {iid: i for i, iid in enumerate(self.tables.item_ids)}
        self._parties = {p: i for i, p in enumerate(self.tables.parties)}

    def encode(self, queries: Sequence[Query | tuple[str, str, date | str, str | None]]) -> Encoded:
        """Ids to integers; a bad query raises QueryError naming its position (counted from 1)."""
        n = len(queries)
        item, recipient, holder = (np.empty(n, np.int32) for _ in range(3))
        day = np.empty(n, np.int64)
        for i, q in enumerate(queries):
            query = q if isinstance(q, Query) else Query(*q)
            try:
                _, _, when = self.world.resolve(query.item, query.recipient, query.at, query.holder)
            except QueryError as exc:
                raise QueryError(f"query {i + 1}: {exc}") from None
            item[i] = self._items[query.item]
            recipient[i] = self._parties[query.recipient]
            holder[i] = -1 if query.holder is None else self._parties[query.holder]
            day[i] = when.toordinal()
        return item, recipient, day, holder

    def decide(self, encoded: Encoded) -> BatchResult:
        item, recipient, day, holder = encoded
        return decide_arrays(self.tables, item, recipient, day, holder)

    def verdict(self, result: BatchResult, i: int, recipient: int) -> Verdict:
        """Query ``i``'s verdict in the domain's terms (route and agreements by id)."""
        kind = int(result.kind[i])
        if kind == 0:
            return DENIED
        t = self.tables
        s, r = t.parties[int(result.sender[i])], t.parties[recipient]
        mark = t.levels[int(result.marking[i])]
        if kind == CONDUIT:
            c = int(np.nonzero(t.conduits == result.agreement[i])[0][0])
            used = (
                t.agreements[int(result.agreement[i])],
                t.agreements[int(result.hop1[i])],
                t.agreements[int(result.hop2[i])],
            )
            return Verdict(True, (s, t.parties[int(t.hub[c])], r), tuple(dict.fromkeys(used)), mark)
        assert kind in (RETURN, 1)
        return Verdict(True, (s, r), (t.agreements[int(result.agreement[i])],), mark)

    def verdicts(self, encoded: Encoded) -> list[Verdict]:
        result = self.decide(encoded)
        return [self.verdict(result, i, int(encoded[1][i])) for i in range(len(encoded[0]))]
