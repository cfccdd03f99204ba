"""The compiled index (:mod:`gsomia.domain.index`) as numpy arrays, so a batch is decided column-wise.

Levels, parties and agreements become small integers; "no level" is the sentinel ``NONE = len(levels)``, so
every lookup stays inside its array. Topics and releasability are bit masks (one uint64 word per 64
topics; parties are limited to 64 per world here, which :func:`compile_tables` checks).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..domain.errors import GsomiaError
from ..domain.index import FOREVER, CAgreement, CItem, CVersion, Index
from ..domain.world import World

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
B = npt.NDArray[np.bool_]
MAX_PARTIES = 64


@dataclass(frozen=True, slots=True)
class Tables:
    parties: list[str]
    levels: list[str]
    agreements: list[str]
    none: int  # the "no level" sentinel
    eif: I64
    end: I64
    vbase: I32  # first version of each agreement in the flat version arrays
    vstarts: I64  # [agreement, k]: start of its version k+1 (FOREVER+1 where it has none)
    vany: B
    vmask: U64  # [version, word]
    vrows: B  # the version has equivalence rows of its own
    vmap: I32  # [version, sender level, receiver party] -> receiver level or none
    direct: I32  # [sender, receiver, k] -> agreement (no conduit) or -1
    anyagr: I32  # [a, b, k] -> any agreement naming both (returns), or -1
    conduits: I32  # agreement index of each conduit arrangement
    hub: I32
    member: B  # [conduit, party]
    hops: I32  # [conduit, party, k] -> hops agreement naming party and hub, or -1
    via: I64  # [sender, receiver] -> bit c set when conduit c could carry between them (members, not hub)
    hl_days: I64  # [level, holder, j] breakpoints of the holder's marking (FOREVER+1 padding)
    hl_vals: I32  # [level, holder, j+1] marking from breakpoint j (column 0: before any = none)
    item_ids: list[str]
    item_orig: I32
    item_level: I32
    item_topics: U64  # [item, word]
    item_topic_list: I32  # [item, k] topic bit numbers, -1 padded (for topic consents)
    item_rel: U64  # bit p set when party p may receive it (all bits when no list)
    item_noforn: B
    n_topics: int
    item_consent: tuple[I64, I64, I64]  # sorted keys (item, sender, receiver), from, until
    topic_consent: tuple[I64, I64, I64]  # sorted keys (originator, topic, sender, receiver), from, until


def _pad(rows: list[list[int]], fill: int, dtype: type[np.int32] | type[np.int64]) -> npt.NDArray[Any]:
    width = max((len(r) for r in rows), default=0) or 1
    out: npt.NDArray[Any] = np.full((len(rows), width), fill, dtype=dtype)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _words(mask: int, n: int) -> list[int]:
    return [(mask >> (64 * w)) & 0xFFFFFFFFFFFFFFFF for w in range(n)]


def compile_tables(world: World) -> Tables:
    index = world.index
    parties = sorted(world.parties)
    if len(parties) > MAX_PARTIES:
        raise GsomiaError(f"batch decisions handle up to {MAX_PARTIES} parties; decide these one by one")
    pix = {p: i for i, p in enumerate(parties)}
    levels = sorted(world.levels)
    lix = {lv: i for i, lv in enumerate(levels)}
    none = len(levels)
    agreements = sorted(index.agreements)
    aix = {a: i for i, a in enumerate(agreements)}
    cas = [index.agreements[a] for a in agreements]
    words = max(1, (len(index.topic_bits) + 63) // 64)
    vbase, vstarts, vany, vmask, vrows, vmap = _versions(cas, pix, lix, none, words)
    conduits, hub, member, hops = _conduits(index, pix, aix)
    hl_days, hl_vals = _holder_levels(world, pix, lix, none)
    ids, orig, level, topics, topic_list, rel, noforn = _items(world, pix, lix, words)
    by_item, by_topic = _consents(world, pix)
    return Tables(
        parties=parties,
        levels=levels,
        agreements=agreements,
        none=none,
        eif=np.array([c.eif for c in cas], dtype=np.int64),
        end=np.array([c.end for c in cas], dtype=np.int64),
        vbase=vbase,
        vstarts=vstarts,
        vany=vany,
        vmask=vmask,
        vrows=vrows,
        vmap=vmap,
        direct=_pairs(index.direct, pix, aix),
        anyagr=_pairs(index.pairs, pix, aix),
        conduits=conduits,
        hub=hub,
        member=member,
        hops=hops,
        via=_via(member, hub),
        hl_days=hl_days,
        hl_vals=hl_vals,
        item_ids=ids,
        item_orig=orig,
        item_level=level,
        item_topics=topics,
        item_topic_list=topic_list,
        item_rel=rel,
        item_noforn=noforn,
        n_topics=len(index.topic_bits),
        item_consent=by_item,
        topic_consent=by_topic,
    )


def _versions(
    cas: list[CAgreement], pix: dict[str, int], lix: dict[str, int], none: int, words: int
) -> tuple[I32, I64, B, U64, B, I32]:
    base, starts, anys, masks, rows = [], [], [], [], []
    flat: list[CVersion] = []
    for c in cas:
        base.append(len(flat))
        starts.append(list(c.starts[1:]))
        for v in c.versions:
            flat.append(v)
            anys.append(v.scope_any)
            masks.append(_words(v.scope_mask, words))
            rows.append(v.has_rows)
    vmap = np.full((len(flat), none + 1, len(pix)), none, dtype=np.int32)
    for i, v in enumerate(flat):
        for (level, party), theirs in v.mapping.items():
            vmap[i, lix[level], pix[party]] = lix[theirs]
    return (
        np.array(base, dtype=np.int32),
        _pad(starts, FOREVER + 1, np.int64),
        np.array(anys, dtype=np.bool_),
        np.array(masks, dtype=np.uint64).reshape(len(flat), words),
        np.array(rows, dtype=np.bool_),
        vmap,
    )


def _pairs(
    pairs: dict[tuple[str, str], tuple[CAgreement, ...]], pix: dict[str, int], aix: dict[str, int]
) -> I32:
    width = max((len(v) for v in pairs.values()), default=0) or 1
    out = np.full((len(pix), len(pix), width), -1, dtype=np.int32)
    for (a, b), found in pairs.items():
        for k, c in enumerate(found):
            out[pix[a], pix[b], k] = aix[c.id]
    return out


def _conduits(index: Index, pix: dict[str, int], aix: dict[str, int]) -> tuple[I32, I32, B, I32]:
    conduits = index.conduits
    member = np.zeros((len(conduits), len(pix)), dtype=np.bool_)
    lists: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, c in enumerate(conduits):
        assert c.conduit is not None
        for p in c.parties:
            member[i, pix[p]] = True
            for h in index.pairs.get((p, c.conduit), ()):
                if h.id in c.hops:
                    lists[(i, pix[p])].append(aix[h.id])
    width = max((len(v) for v in lists.values()), default=0) or 1
    hops = np.full((len(conduits), len(pix), width), -1, dtype=np.int32)
    for (i, party), found in lists.items():
        hops[i, party, : len(found)] = found
    return (
        np.array([aix[c.id] for c in conduits], dtype=np.int32),
        np.array([pix[c.conduit or ""] for c in conduits], dtype=np.int32),
        member,
        hops,
    )


def _via(member: B, hub: I32) -> I64:
    parties = member.shape[1]
    via = np.zeros((parties, parties), dtype=np.int64)
    for c in range(member.shape[0]):
        ok = member[c][:, None] & member[c][None, :]
        ok[hub[c], :] = False
        ok[:, hub[c]] = False
        via[ok] |= 1 << c
    return via


def _holder_levels(world: World, pix: dict[str, int], lix: dict[str, int], none: int) -> tuple[I64, I32]:
    index = world.index
    days: dict[tuple[int, int], list[int]] = {}
    vals: dict[tuple[int, int], list[int]] = {}
    for (origin, holder), found in index.marking_order.items():
        points = sorted({d for c in found for d in (c.eif, *c.starts)})
        for level in world.parties[origin].levels:
            key = (lix[level.id], pix[holder])
            days[key] = points
            marks = [index.holder_level(origin, level.id, holder, d) for d in points]
            vals[key] = [none] + [none if m is None else lix[m] for m in marks]
    width = max((len(v) for v in days.values()), default=0) or 1
    hl_days = np.full((none + 1, len(pix), width), FOREVER + 1, dtype=np.int64)
    hl_vals = np.full((none + 1, len(pix), width + 1), none, dtype=np.int32)
    for key, points in days.items():
        hl_days[key[0], key[1], : len(points)] = points
        hl_vals[key[0], key[1], : len(points) + 1] = vals[key]
    return hl_days, hl_vals


def _items(
    world: World, pix: dict[str, int], lix: dict[str, int], words: int
) -> tuple[list[str], I32, I32, U64, I32, U64, B]:
    """Per-item columns, built per shared CItem (a few thousand) and spread to the items with one take."""
    index = world.index
    ids = list(world.items)
    slot: dict[int, int] = {}
    shapes: list[CItem] = []
    of_item = np.empty(len(ids), dtype=np.int32)
    for n, iid in enumerate(ids):
        ci = index.items[iid]
        k = slot.get(id(ci))
        if k is None:
            k = slot[id(ci)] = len(shapes)
            shapes.append(ci)
        of_item[n] = k
    everyone = (1 << len(pix)) - 1
    rel = [everyone if ci.releasable is None else sum(1 << pix[p] for p in ci.releasable) for ci in shapes]
    topics = [[index.topic_bits[t] for t in ci.item.topics] for ci in shapes]
    masks = np.array([_words(ci.topic_mask, words) for ci in shapes], dtype=np.uint64).reshape(
        len(shapes), words
    )
    return (
        ids,
        np.array([pix[ci.item.originator] for ci in shapes], dtype=np.int32)[of_item],
        np.array([lix[ci.item.level] for ci in shapes], dtype=np.int32)[of_item],
        masks[of_item],
        _pad(topics, -1, np.int32)[of_item],
        np.array(rel, dtype=np.uint64)[of_item],
        np.array([ci.noforn for ci in shapes], dtype=np.bool_)[of_item],
    )


def _consents(world: World, pix: dict[str, int]) -> tuple[tuple[I64, I64, I64], tuple[I64, I64, I64]]:
    index, p = world.index, len(pix)
    item_pos = {iid: i for i, iid in enumerate(world.items)}
    by_item: list[tuple[int, int, int]] = []
    by_topic: list[tuple[int, int, int]] = []
    topics = max(1, len(index.topic_bits))
    for (s, r), found in index.consents.items():
        for c in found:
            if c.item is not None:
                key = (item_pos[c.item] * p + pix[s]) * p + pix[r]
                by_item.append((key, c.valid_from, c.valid_until))
            elif c.originator is not None:
                bit = c.topics.bit_length() - 1
                key = ((pix[c.originator] * topics + bit) * p + pix[s]) * p + pix[r]
                by_topic.append((key, c.valid_from, c.valid_until))
    return _sorted(by_item), _sorted(by_topic)


def _sorted(rows: list[tuple[int, int, int]]) -> tuple[I64, I64, I64]:
    rows.sort()
    arr = np.array(rows, dtype=np.int64).reshape(len(rows), 3)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()
