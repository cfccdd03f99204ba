"""Decide a batch column-wise: the same verdicts as :meth:`gsomia.domain.index.Index.verdict`, for arrays.

Each step of the scalar verdict becomes a masked array operation: returns to the originator, then direct
agreements slot by slot (id order), then conduit arrangements one by one; a query takes the first route
that passes and keeps it. Work on rarer paths (onward holders, conduits) runs only on the queries it
concerns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .tables import I32, I64, U64, B, Tables

RETURN, DIRECT, CONDUIT = 3, 1, 2


@dataclass(frozen=True, slots=True)
class Columns:
    """The queries, column by column: item, sender (holder), recipient, day, the sender's marking of the
    item (``none`` where unknown) and whether the sender is not the originator."""

    item: I32
    s: I32
    r: I32
    day: I64
    level: I32
    onward: B


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per query: ``kind`` (0 denied, 1 direct, 2 conduit, 3 return), the agreement (or arrangement), the two
    hop agreements of a conduit route, the sender (holder), the hub, and the recipient's marking."""

    kind: npt.NDArray[np.int8]
    agreement: I32
    hop1: I32
    hop2: I32
    sender: I32
    marking: I32

    @property
    def allowed(self) -> B:
        out: B = self.kind != 0
        return out


def _version(t: Tables, a: I32, day: I64) -> I32:
    """The version of agreement ``a`` in effect on ``day`` (index into the flat version arrays)."""
    later = (t.vstarts[a] <= day[:, None]).sum(axis=1)
    out: I32 = (t.vbase[a] + later).astype(np.int32)
    return out


def _in_force(t: Tables, a: I32, day: I64) -> B:
    out: B = (t.eif[a] <= day) & (day < t.end[a])
    return out


def _scope_ok(t: Tables, v: I32, topics: U64) -> B:
    return t.vany[v] | (t.vmask[v] & topics).any(axis=1)


def _consented(t: Tables, item: I32, s: I32, x: I32, day: I64) -> B:
    """Is there a consent valid on ``day`` for ``s`` to pass ``item`` to ``x`` (by item or by topic)?"""
    p = len(t.parties)
    ok = _lookup(t.item_consent, (item.astype(np.int64) * p + s) * p + x, day)
    topics = max(1, t.n_topics)
    orig = t.item_orig[item].astype(np.int64)
    for k in range(t.item_topic_list.shape[1]):
        bit = t.item_topic_list[item, k]
        keys = ((orig * topics + bit) * p + s) * p + x
        ok |= (bit >= 0) & _lookup(t.topic_consent, keys, day)
    return ok


def _lookup(table: tuple[I64, I64, I64], keys: I64, day: I64) -> B:
    sorted_keys, start, until = table
    ok = np.zeros(len(keys), dtype=np.bool_)
    if len(sorted_keys) == 0:
        return ok
    pos = np.searchsorted(sorted_keys, keys)
    while True:
        inside = pos < len(sorted_keys)
        at = np.minimum(pos, len(sorted_keys) - 1)
        match = inside & (sorted_keys[at] == keys)
        if not match.any():
            return ok
        ok |= match & (start[at] <= day) & (day <= until[at])
        pos = pos + 1


def _holder_level(t: Tables, level: I32, holder: I32, day: I64) -> I32:
    j = (t.hl_days[level, holder] <= day[:, None]).sum(axis=1)
    out: I32 = t.hl_vals[level, holder, j]
    return out


def decide_arrays(t: Tables, item: I32, recipient: I32, day: I64, holder: I32 | None = None) -> BatchResult:
    """Decide ``len(item)`` queries; ``holder`` -1 (or None) means the item's originator."""
    n = len(item)
    orig = t.item_orig[item]
    s = orig.copy() if holder is None else np.where(holder < 0, orig, holder).astype(np.int32)
    out = BatchResult(
        np.zeros(n, np.int8),
        np.full(n, -1, np.int32),
        np.full(n, -1, np.int32),
        np.full(n, -1, np.int32),
        s,
        np.full(n, t.none, np.int32),
    )
    level = t.item_level[item].copy()
    onward = s != orig
    if onward.any():
        level[onward] = _holder_level(t, level[onward], s[onward], day[onward])
    back = recipient == orig
    _returns(t, out, np.nonzero(back)[0], s, recipient, day, t.item_level[item])
    rel_bit = np.left_shift(np.uint64(1), recipient.astype(np.uint64))
    forward = ~back & ~t.item_noforn[item] & ((t.item_rel[item] & rel_bit) != 0) & (level != t.none)
    rows = np.nonzero(forward)[0]
    q = Columns(item, s, recipient, day, level, onward)
    _direct(t, out, rows, q)
    rows = rows[out.kind[rows] == 0]
    bits = t.via[q.s[rows], q.r[rows]]  # most pairs share no conduit: look at the few that do
    rows, bits = rows[bits != 0], bits[bits != 0]
    for c in range(len(t.conduits)):
        mine = rows[((bits >> c) & 1).astype(np.bool_) & (out.kind[rows] == 0)]
        _through(t, out, c, mine, q)
    return out


def _returns(
    t: Tables, out: BatchResult, rows: npt.NDArray[np.intp], s: I32, r: I32, day: I64, own_level: I32
) -> None:
    for k in range(t.anyagr.shape[2]):
        rows = rows[out.kind[rows] == 0]
        a = t.anyagr[s[rows], r[rows], k]
        ok = (a >= 0) & _in_force(t, np.maximum(a, 0), day[rows])
        hit = rows[ok]
        out.kind[hit], out.agreement[hit], out.marking[hit] = RETURN, a[ok], own_level[hit]


def _direct(t: Tables, out: BatchResult, rows: npt.NDArray[np.intp], q: Columns) -> None:
    for k in range(t.direct.shape[2]):
        rows = rows[out.kind[rows] == 0]
        a = t.direct[q.s[rows], q.r[rows], k]
        live = a >= 0
        rows, a = rows[live], a[live]
        d = q.day[rows]
        v = _version(t, a, d)
        mark = t.vmap[v, q.level[rows], q.r[rows]]
        ok = _in_force(t, a, d) & _scope_ok(t, v, t.item_topics[q.item[rows]]) & (mark != t.none)
        need = ok & q.onward[rows]
        if need.any():
            ok[need] = _consented(t, q.item[rows][need], q.s[rows][need], q.r[rows][need], d[need])
        hit = rows[ok]
        out.kind[hit], out.agreement[hit], out.marking[hit] = DIRECT, a[ok], mark[ok]


def _through(t: Tables, out: BatchResult, c: int, rows: npt.NDArray[np.intp], q: Columns) -> None:
    hub, arrangement = t.hub[c], t.conduits[c]
    orig = t.item_orig[q.item[rows]]
    hub_bit = np.uint64(1) << np.uint64(hub)
    keep = (
        t.member[c, q.s[rows]]
        & t.member[c, q.r[rows]]
        & (orig != hub)
        & (q.s[rows] != hub)
        & (q.r[rows] != hub)
        & ((t.item_rel[q.item[rows]] & hub_bit) != 0)
    )
    rows = rows[keep]
    d = q.day[rows]
    agr = np.full(len(rows), arrangement, np.int32)
    vc = _version(t, agr, d)
    topics = t.item_topics[q.item[rows]]
    keep = _in_force(t, agr, d) & _scope_ok(t, vc, topics)
    rows, d, vc, topics = rows[keep], d[keep], vc[keep], topics[keep]
    first, second, mark = _hop_pair(t, c, vc, rows, q, topics)
    ok = first >= 0
    need = ok & q.onward[rows]
    if need.any():
        sub = rows[need]
        hubs = np.full(len(sub), hub, np.int32)
        ok[need] = _consented(t, q.item[sub], q.s[sub], hubs, q.day[sub]) & _consented(
            t, q.item[sub], hubs, q.r[sub], q.day[sub]
        )
    hit = rows[ok]
    out.kind[hit], out.agreement[hit], out.marking[hit] = CONDUIT, arrangement, mark[ok]
    out.hop1[hit], out.hop2[hit] = first[ok], second[ok]


def _hop_pair(
    t: Tables, c: int, vc: I32, rows: npt.NDArray[np.intp], q: Columns, topics: U64
) -> tuple[I32, I32, I32]:
    """Per row, the first pair (first-hop, second-hop agreement), in slot (id) order of the first then
    the second, both in force and covering the topics, whose tables carry the level through the hub:
    the two agreements (-1 where none) and the recipient's marking."""
    hub, d = t.hub[c], q.day[rows]
    first = np.full(len(rows), -1, np.int32)
    second = np.full(len(rows), -1, np.int32)
    mark = np.full(len(rows), t.none, np.int32)
    own = t.vrows[vc]
    width = t.hops.shape[2]
    slots1 = [_hop_slot(t, c, q.s[rows], d, topics, k) for k in range(width)]
    slots2 = [_hop_slot(t, c, q.r[rows], d, topics, k) for k in range(width)]
    for a1, live1 in slots1:
        if not live1.any():
            continue
        at_hub = t.vmap[np.where(own, vc, _version(t, a1, d)), q.level[rows], hub]
        for a2, live2 in slots2:
            marked = t.vmap[np.where(own, vc, _version(t, a2, d)), at_hub, q.r[rows]]
            hit = (first < 0) & live1 & live2 & (at_hub != t.none) & (marked != t.none)
            first[hit], second[hit], mark[hit] = a1[hit], a2[hit], marked[hit]
    return first, second, mark


def _hop_slot(t: Tables, c: int, party: I32, day: I64, topics: U64, k: int) -> tuple[I32, B]:
    """Slot ``k`` of the hops agreements between ``party`` and the hub: the agreement (0 where the slot
    is empty) and whether it is there, in force and covering the topics."""
    a = t.hops[c, party, k]
    safe = np.maximum(a, 0).astype(np.int32)
    live = (a >= 0) & _in_force(t, safe, day) & _scope_ok(t, _version(t, safe, day), topics)
    return safe, live
