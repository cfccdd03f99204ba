"""The decision benchmark: gsomia beside cedarpy and pycasbin on the same world, in the same run.

Steps: build the seeded world; check each anchor agrees with gsomia on a sample of queries (an engine
that disagrees gets no speed numbers); time single decisions (p50, p99, decisions/s) and batches; time the
impact of terminating the busiest agreement if ``World.impact`` exists.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import orjson

from gsomia.domain.model import WorldSpec
from gsomia.domain.world import World

from .world import Query, make_queries, make_world

INSTALL = "pip install -e '.[bench]'"
IMPACT_DAY = date(2021, 1, 1)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def latency(
    decide: Callable[..., object], queries: Sequence[Query], min_seconds: float = 0.5
) -> dict[str, Any]:
    """Time each call; repeat the queries until ``min_seconds`` have passed. p50/p99 in µs."""
    samples: list[int] = []
    clock = time.perf_counter_ns
    deadline = clock() + int(min_seconds * 1e9)
    while True:
        for q in queries:
            t0 = clock()
            decide(*q)
            samples.append(clock() - t0)
        if clock() >= deadline or len(samples) >= 2_000_000:
            break
    samples.sort()
    return {
        "single_per_s": round(len(samples) / (sum(samples) / 1e9)),
        "single_p50_us": round(samples[len(samples) // 2] / 1e3, 2),
        "single_p99_us": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))] / 1e3, 2),
    }


def throughput(decide_many: Callable[[list[Query]], object], queries: list[Query]) -> float:
    t0 = time.perf_counter()
    decide_many(queries)
    return round(len(queries) / (time.perf_counter() - t0))


def batch_numbers(world: World, queries: list[Query], sample: list[Query]) -> dict[str, Any]:
    """gsomia.batch (numpy) on ``queries``: decisions/s on encoded arrays, and encoding cost apart.

    First checks the batch path against ``World.decide`` on ``sample``; a mismatch is fatal."""
    from gsomia.batch import BatchDecider
    from gsomia.domain.index import Verdict

    t0 = time.perf_counter()
    decider = BatchDecider(world)
    compile_s = time.perf_counter() - t0
    expect = [
        Verdict(d.allowed, d.route, d.agreements, d.marking) for d in (world.decide(*q) for q in sample)
    ]
    got = decider.verdicts(decider.encode(sample))
    wrong = sum(a != b for a, b in zip(expect, got, strict=True))
    if wrong:
        raise SystemExit(f"gsomia.batch disagrees with World.decide on {wrong} of {len(sample)} queries")
    t0 = time.perf_counter()
    encoded = decider.encode(queries)
    encode_s = time.perf_counter() - t0
    decider.decide(encoded)  # warm up (page in the tables)
    t0 = time.perf_counter()
    result = decider.decide(encoded)
    seconds = time.perf_counter() - t0
    log(
        f"batch: {len(queries):,} queries, {int(result.allowed.sum()):,} allowed; tables {compile_s:.2f} s, "
        f"encoding {encode_s:.2f} s ({len(queries) / encode_s:,.0f}/s)"
    )
    return {
        "batch_queries": len(queries),
        "batch_s": round(seconds, 4),
        "batch_per_s": round(len(queries) / seconds),
        "batch_encode_s": round(encode_s, 4),
        "batch_encode_per_s": round(len(queries) / encode_s),
        # what a caller holding item and party ids feels: encoding (with each query's checks) plus deciding
        "batch_from_ids_per_s": round(len(queries) / (encode_s + seconds)),
    }


def explained(world: World, queries: Sequence[Query]) -> dict[str, Any]:
    """Decisions with every reason, as JSON text (what --json, the API and every recorded release pay),
    each query once from cold memos (every remembered verdict and reason forgotten first), and the same
    without the JSON text (``decide(...).to_dict()`` alone, as the issue's target reads). The text is
    written by orjson, the encoder of the node's canonical JSON (what every recorded release's decision is
    hashed as); each anchor's reasons are written by the same encoder (see ``_anchors``)."""
    world.forget()
    as_dict = latency(lambda *q: world.decide(*q).to_dict(), queries, min_seconds=0.0)
    world.forget()
    once = latency(lambda *q: orjson.dumps(world.decide(*q).to_dict()), queries, min_seconds=0.0)
    warm = latency(lambda *q: orjson.dumps(world.decide(*q).to_dict()), queries, min_seconds=0.5)
    out = {f"explained_{k.removeprefix('single_')}": v for k, v in once.items()}
    out |= {f"explained_dict_{k.removeprefix('single_')}": v for k, v in as_dict.items()}
    out |= {f"explained_warm_{k.removeprefix('single_')}": v for k, v in warm.items()}
    return out


def cedar_requests(engine: Any, queries: Sequence[Query]) -> dict[str, Any]:
    """How many Cedar requests the anchor sends per query: median, mean, max (measured, not assumed)."""
    counts = sorted(engine.requests_per_query(queries))
    return {
        "median": counts[len(counts) // 2],
        "mean": round(sum(counts) / len(counts), 2),
        "max": counts[-1],
        "queries": len(counts),
    }


def _anchors(world: World) -> dict[str, Any]:
    """The anchors that can be imported, built for ``world``; None for each one that cannot."""
    out: dict[str, Any] = {}
    try:
        from .cedar_engine import CedarEngine
    except ImportError:
        log(f"cedarpy is not installed: skipping it ({INSTALL})")
        out["cedarpy"] = None
    else:
        t0 = time.perf_counter()
        out["cedarpy"] = CedarEngine(world)
        log(f"cedarpy entities and policies built in {time.perf_counter() - t0:.1f} s")
    try:
        from .casbin_engine import CasbinEngine
    except ImportError:
        log(f"casbin is not installed: skipping pycasbin ({INSTALL})")
        out["pycasbin"] = None
    else:
        out["pycasbin"] = CasbinEngine(world)
    return out


def check(world: World, name: str, engine: Any, queries: list[Query]) -> tuple[list[Query], list[str]]:
    """The queries ``engine`` answers and a line per disagreement with gsomia (single or batch) on them."""
    covers = getattr(engine, "covers", None)
    mine = [q for q in queries if covers is None or covers(*q)]
    single = [(d.allowed, d.route) for d in (world.decide(*q) for q in mine)]
    batch = [(d.allowed, d.route) for d in world.decide_many(mine)]
    problems: list[str] = []
    if name == "cedarpy":
        theirs = [(bool(route), route) for route in engine.routes(mine)]
    else:  # pycasbin answers "allowed by a direct route?"
        single = [(engine.expected(*d), ()) for d in single]
        batch = [(engine.expected(*d), ()) for d in batch]
        theirs = [(verdict, ()) for verdict in engine.decide_many(mine)]
    for q, one, many, other in zip(mine, single, batch, theirs, strict=True):
        for path, ours in (("decide", one), ("decide_many", many)):
            said = f"{q}: gsomia {path} {ours[0]} {list(ours[1])}, {name} {other[0]} {list(other[1])}"
            if ours[0] != other[0]:
                problems.append(said)
            elif ours[1] != other[1]:
                log(f"  route differs, same verdict: {said}")
    return mine, problems


def busiest(spec: WorldSpec, world: World, on: date) -> tuple[str, int]:
    """The agreement in force on ``on`` carrying the most (item, party) flows, and that count."""
    made = Counter(item.originator for item in spec.items)
    flows: Counter[str] = Counter()
    for agreement in spec.agreements:
        if agreement.conduit is not None or not world.timelines[agreement.id].in_force(on):
            continue
        flows[agreement.id] += sum(made[p] for p in agreement.parties) * (len(agreement.parties) - 1)
    for arrangement in (a for a in spec.agreements if a.conduit is not None):
        members = [p for p in arrangement.parties if p != arrangement.conduit]
        through = sum(made[p] for p in members) * (len(members) - 1)
        for hop in arrangement.hops:
            if hop in flows:
                flows[hop] += through // max(1, len(arrangement.hops))
    aid, count = flows.most_common(1)[0]
    return aid, count


def impact(spec: WorldSpec, world: World) -> dict[str, Any] | None:
    """Seconds to compute the impact of terminating the busiest agreement over all items x all parties."""
    try:
        from gsomia.domain.impact import Change
    except ImportError:
        return None
    if not hasattr(world, "impact"):
        return None
    aid, flows = busiest(spec, world, IMPACT_DAY)
    log(f"impact: terminating {aid} ({flows:,} item x party flows through it) on {IMPACT_DAY}")
    t0 = time.perf_counter()
    report = world.impact(Change("terminate", IMPACT_DAY, agreement=aid))
    seconds = time.perf_counter() - t0
    return {"seconds": round(seconds, 3), "pairs": report.pairs, "peak_rss_mb": round(peak_rss_mb(), 1)}


def run(
    items: int = 1_000_000,
    sample: int = 2_000,
    as_json: bool = False,
    batch: int = 1_000_000,
    seed: int = 0,
    ledger_leaves: int = 1_000_000,
) -> dict[str, Any]:
    """Build, cross-check, time; print a table (or one JSON object) and return the same numbers."""
    t0 = time.perf_counter()
    spec = make_world(seed=seed, items=items)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    world = World(spec)
    compiled = time.perf_counter() - t0
    log(f"world: {items:,} items built in {built:.1f} s, compiled (World) in {compiled:.1f} s")
    queries = make_queries(spec, sample, seed + 1)
    sizes = {
        "parties": len(spec.parties),
        "agreements": len(spec.agreements),
        "conduits": sum(a.conduit is not None for a in spec.agreements),
        "events": len(spec.events),
        "items": len(spec.items),
        "consents": len(spec.consents),
        "queries": len(queries),
        "build_s": round(built, 2),
        "compile_s": round(compiled, 2),
    }
    batch_queries = make_queries(spec, batch, seed + 2)
    anchors = _anchors(world)
    gc.collect()
    gc.freeze()  # the world is built: keep the collector from rescanning its million objects mid-timing
    fresh = make_queries(spec, 200_000, seed + 3)
    ours = latency(world.decide, fresh, min_seconds=0.0)  # each query once: no warm memo flatters it
    warm = latency(world.decide, queries)
    ours["single_warm_p50_us"] = warm["single_p50_us"]
    ours["decide_many_per_s"] = throughput(world.decide_many, batch_queries[:100_000])
    ours.update(batch_numbers(world, batch_queries, queries))
    ours.update(explained(world, fresh[:20_000]))
    engines: dict[str, Any] = {"gsomia": ours}
    comparisons: dict[str, Any] = {}
    disagreements: dict[str, int | None] = {}
    ratios: dict[str, float | None] = {"gsomia": 1.0}
    covered: dict[str, int] = {"gsomia": len(queries)}
    for name, engine in anchors.items():
        if engine is None:
            disagreements[name], engines[name], ratios[name] = None, None, None
            continue
        mine, problems = check(world, name, engine, queries)
        disagreements[name], covered[name] = len(problems), len(mine)
        if problems:
            log(f"{name} disagrees with gsomia on {len(problems)} of {len(mine)} queries, e.g.:")
            for line in problems[:5]:
                log(f"  {line}")
            engines[name], ratios[name] = None, None
            continue
        numbers: dict[str, Any] = latency(engine.decide, mine, min_seconds=0.3)
        numbers["batch_per_s"] = throughput(engine.decide_many, mine) if name == "cedarpy" else None
        theirs = latency(lambda *q, e=engine: orjson.dumps(e.explain(*q)), mine, min_seconds=0.3)  # as ours
        numbers.update({f"explained_{k.removeprefix('single_')}": v for k, v in theirs.items()})
        if name == "cedarpy":
            numbers["requests_per_query"] = cedar_requests(engine, mine)
        engines[name] = numbers
        world.forget()  # the same decisions, each once, from cold memos: no flattering repeats
        same = latency(world.decide, mine, min_seconds=0.0)
        ours_explained = explained(world, mine)
        ratios[name] = round(same["single_per_s"] / numbers["single_per_s"], 1)
        comparisons[name] = {
            "queries": len(mine),
            "gsomia_single_per_s": same["single_per_s"],
            f"{name}_single_per_s": numbers["single_per_s"],
            "single_ratio": ratios[name],
            "gsomia_explained_per_s": ours_explained["explained_per_s"],
            f"{name}_explained_per_s": numbers["explained_per_s"],
            "explained_ratio": round(ours_explained["explained_per_s"] / numbers["explained_per_s"], 1),
            "gsomia_explained_dict_per_s": ours_explained["explained_dict_per_s"],
        }
    result = {
        "world": sizes,
        "disagreements": disagreements,
        "engines": engines,
        "comparisons": comparisons,
        "impact": impact(spec, world),
    }
    if ledger_leaves:
        from .ledger_node import run_ledger

        log(f"ledger: {ledger_leaves:,} leaves on a SQLite node (synchronous=FULL)")
        result["ledger"] = run_ledger(ledger_leaves)
    gc.unfreeze()
    if as_json:
        print(json.dumps(result))
    else:
        from .report import show

        show(result, ratios, covered)
    return result
