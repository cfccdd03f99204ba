"""the decision rules (docs/rules.md) judged by Cedar (cedarpy): an independent anchor for gsomia's engine.

The rules live in ``benchmarks/cedar/gsomia.cedar`` (schema beside it). This module only turns a world into
Cedar entities and a query into Cedar requests:

* data, precomputed once: each agreement's in-force days ``[eif, end)`` and its terms (scope and
  equivalence table) per version, taken from gsomia's compiled lifecycles (``World.timelines``); tables
  become entity tags (``Terms`` tag level -> ``Row``, ``Row`` tag party -> marking on receipt);
* candidates, in the order §3 fixes: the holder's marking agreement (latest entry into force, then lowest
  id), each conduit hop's agreement (id order), then routes: direct agreements (id order), then conduit
  arrangements (id order), each route once per consent on record for its hops (looked up by sender,
  receiver and the item's id or originator, an index: Cedar still judges every term). Cedar judges every
  candidate (actions ``mark``, ``hop``, ``direct``, ``conduit``, ``return``); the first permitted one wins;
* witnesses: the sender's level and the hub's level are looked up here and *checked* by the policies, so a
  wrong witness can only deny, never allow.

Nothing here calls gsomia's engine or rules. ``decide`` answers allowed; ``route`` the winning route.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import product
from pathlib import Path
from typing import Any

import cedarpy

from gsomia.domain.model import Item
from gsomia.domain.world import World

HERE = Path(__file__).parent / "cedar"
POLICIES = (HERE / "gsomia.cedar").read_text(encoding="utf-8")
SCHEMA = (HERE / "gsomia.cedarschema").read_text(encoding="utf-8")
FOREVER = 100_000_000
NONE = "none"  # id of the sentinel Agreement, Terms and Consent: present so Cedar can judge "nothing found"
Query = tuple[str, str, date, str]
Request = dict[str, Any]


def uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}


def ref(kind: str, ident: str) -> dict[str, dict[str, str]]:
    return {"__entity": uid(kind, ident)}


def entity(kind: str, ident: str, attrs: dict[str, Any], tags: dict[str, Any] | None = None) -> Request:
    out: dict[str, Any] = {"uid": uid(kind, ident), "attrs": attrs, "parents": []}
    if tags is not None:
        out["tags"] = tags
    return out


def class_key(item: Item) -> tuple[Any, ...]:
    return (item.originator, item.level, item.topics, item.releasable_to, item.caveats)


@dataclass(slots=True)
class _Ask:
    """One query in flight: its probes (stage 1), then its route requests (stage 2)."""

    item: Item
    cls: str
    recipient: str
    day: int
    holder: str
    markers: list[str] = field(default_factory=list)  # marking agreement candidates, in preference order
    hops: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # (arrangement, a, b) -> ids
    chosen: dict[Any, str] = field(default_factory=dict)  # "marker" / hop key -> the first permitted


class CedarEngine:
    """Build once per world; then ``decide``/``route`` one query, or ``decide_many``/``routes`` a batch."""

    def __init__(self, world: World) -> None:
        spec = world.spec
        self.items = world.items
        self.naming: dict[tuple[str, str], list[str]] = defaultdict(list)  # party pair -> agreement ids
        self.eif: dict[str, int] = {}
        self.terms: dict[str, list[tuple[int, str]]] = {}  # agreement -> [(from, Terms id)]
        self.rows: dict[str, dict[str, dict[str, str]]] = {}  # Terms id -> level -> party -> marking
        self.conduits: list[tuple[str, str, frozenset[str], tuple[str, ...]]] = []  # id, hub, parties, hops
        self.consents: dict[tuple[str, str, str], list[str]] = defaultdict(list)  # by item id or originator
        self.classes: dict[tuple[Any, ...], str] = {}
        ents = [entity("Party", p.id, {"code": p.id}) for p in spec.parties]
        ents += [entity("Party", "-", {"code": "-"}), *self._sentinels()]
        for aid in sorted(world.timelines):
            ents += self._agreement(world, aid)
        for n, c in enumerate(spec.consents):
            attrs: dict[str, Any] = {
                "holder": ref("Party", c.holder),
                "recipient": ref("Party", c.recipient),
                "from": c.valid_from.toordinal() if c.valid_from else 0,
                "until": c.valid_until.toordinal() if c.valid_until else FOREVER,
            }
            if c.item is not None:
                attrs["item"] = c.item
            if c.topic is not None:
                attrs["topic"] = c.topic
            if c.originator is not None:
                attrs["originator"] = ref("Party", c.originator)
            ents.append(entity("Consent", f"c{n}", attrs))
            self.consents[(c.holder, c.recipient, c.item or c.originator or "")].append(f"c{n}")
        for item in spec.items:
            key = class_key(item)
            if key not in self.classes:
                self.classes[key] = cid = f"k{len(self.classes)}"
                ents.append(
                    entity(
                        "ItemClass",
                        cid,
                        {
                            "originator": ref("Party", item.originator),
                            "level": item.level,
                            "topics": list(item.topics),
                            "caveats": list(item.caveats),
                            "limited": item.releasable_to is not None,
                            "releasable_to": [ref("Party", p) for p in item.releasable_to or ()],
                        },
                    )
                )
        self.schema = cedarpy.Schema.from_str(SCHEMA)
        self.policies = cedarpy.PolicySet.from_str(POLICIES)
        self.entities = cedarpy.Entities.from_json_str(json.dumps(ents), self.schema)

    # -- world -> entities --------------------------------------------------------------------------
    @staticmethod
    def _sentinels() -> list[dict[str, Any]]:
        return [
            entity("Agreement", NONE, {"parties": [], "eif": FOREVER, "end": 0, "hops": []}),
            entity(
                "Terms",
                NONE,
                {
                    "agreement": ref("Agreement", NONE),
                    "from": FOREVER,
                    "until": 0,
                    "any_topic": False,
                    "topics": [],
                    "has_rows": False,
                },
                {},
            ),
            entity(
                "Consent",
                NONE,
                {"holder": ref("Party", "-"), "recipient": ref("Party", "-"), "from": FOREVER, "until": 0},
            ),
        ]

    def _agreement(self, world: World, aid: str) -> list[dict[str, Any]]:
        timeline = world.timelines[aid]
        a = timeline.agreement
        self.eif[aid] = a.entry_into_force.toordinal()
        for x in a.parties:
            for y in a.parties:
                if x != y:
                    self.naming[(x, y)].append(aid)
        attrs: dict[str, Any] = {
            "parties": [ref("Party", p) for p in a.parties],
            "eif": self.eif[aid],
            "end": timeline.end.toordinal() if timeline.end else FOREVER,
            "hops": [ref("Agreement", h) for h in a.hops],
        }
        if a.conduit is not None:
            attrs["hub"] = ref("Party", a.conduit)
            self.conduits.append((aid, a.conduit, frozenset(a.parties), tuple(sorted(a.hops))))
        out = [entity("Agreement", aid, attrs)]
        starts = [v.start.toordinal() for v in timeline.versions]
        self.terms[aid] = []
        for k, version in enumerate(timeline.versions):
            tid = f"{aid}@{k}"
            self.terms[aid].append((starts[k], tid))
            table: dict[str, dict[str, str]] = {}
            tags: dict[str, Any] = {}
            for r, row in enumerate(version.equivalence):
                rid = f"{tid}#{r}"
                marking = {party: levels[0] for party, levels in row.cells}
                out.append(entity("Row", rid, {}, marking))
                for _party, levels in row.cells:
                    for level in levels:
                        tags[level] = ref("Row", rid)
                        table[level] = marking
            self.rows[tid] = table
            out.append(
                entity(
                    "Terms",
                    tid,
                    {
                        "agreement": ref("Agreement", aid),
                        "from": starts[k],
                        "until": starts[k + 1] if k + 1 < len(starts) else FOREVER,
                        "any_topic": version.scope is None,
                        "topics": list(version.scope or ()),
                        "has_rows": bool(version.equivalence),
                    },
                    tags,
                )
            )
        return out

    def terms_on(self, aid: str, day: int) -> str:
        """The Terms in effect on ``day`` (before entry into force: the first; Cedar checks the day)."""
        versions = self.terms.get(aid)
        if not versions:
            return NONE
        i = bisect_right([start for start, _ in versions], day) - 1
        return versions[max(i, 0)][1]

    # -- queries -> requests --------------------------------------------------------------------------
    def _request(self, ask: _Ask, action: str, principal: str, facts: dict[str, Any], **more: Any) -> Request:
        return {
            "principal": uid("Party", principal),
            "action": uid("Action", action),
            "resource": uid("ItemClass", ask.cls),
            "context": {"day": ask.day, **facts, **more},
        }

    def _ask(self, query: Query) -> _Ask:
        item_id, recipient, at, holder = query
        item = self.items[item_id]
        ask = _Ask(item, self.classes[class_key(item)], recipient, at.toordinal(), holder)
        if recipient == item.originator:
            return ask
        if holder != item.originator:
            ask.markers = sorted(self.naming[(item.originator, holder)], key=lambda a: (-self.eif[a], a))
        for arrangement, hub, parties, hops in self.conduits:
            if holder in parties and recipient in parties:
                for a, b in ((holder, hub), (hub, recipient)):
                    ask.hops[(arrangement, a, b)] = [h for h in hops if h in self.naming[(a, b)]]
        return ask

    def _probes(self, ask: _Ask) -> list[tuple[Any, str, Request]]:
        out: list[tuple[Any, str, Request]] = []
        for aid in ask.markers:
            facts: dict[str, Any] = {
                "agreement": ref("Agreement", aid),
                "terms": ref("Terms", self.terms_on(aid, ask.day)),
            }
            out.append(("marker", aid, self._request(ask, "mark", ask.holder, facts)))
        for key, candidates in ask.hops.items():
            arrangement, a, b = key
            for aid in candidates:
                facts = {
                    "agreement": ref("Agreement", aid),
                    "terms": ref("Terms", self.terms_on(aid, ask.day)),
                }
                facts |= {"arrangement": ref("Agreement", arrangement), "receiver": ref("Party", b)}
                request = self._request(ask, "hop", a, facts)
                out.append((key, aid, request))
        return out

    def _level(self, terms: str, level: str, party: str) -> str:
        return self.rows.get(terms, {}).get(level, {}).get(party, "")

    def _consents(self, ask: _Ask, sender: str, receiver: str) -> list[str]:
        """Consents on record for this hop and this item or its originator; the sentinel when none."""
        if ask.holder == ask.item.originator:
            return [NONE]
        about = (ask.item.id, ask.item.originator)
        found = [c for key in about for c in self.consents.get((sender, receiver, key), ())]
        return found or [NONE]

    def _routes(self, ask: _Ask) -> list[tuple[tuple[str, ...], Request]]:
        item, holder, recipient, day = ask.item, ask.holder, ask.recipient, ask.day
        out: list[tuple[tuple[str, ...], Request]] = []
        facts: dict[str, Any]
        if recipient == item.originator:
            for aid in self.naming[(holder, recipient)]:
                facts = {"recipient": ref("Party", recipient), "agreement": ref("Agreement", aid)}
                out.append(((holder, recipient), self._request(ask, "return", holder, facts)))
            return out
        marker = self.terms_on(ask.chosen["marker"], day) if "marker" in ask.chosen else NONE
        level = item.level if holder == item.originator else self._level(marker, item.level, holder)
        common: dict[str, Any] = {
            "item": item.id,
            "recipient": ref("Party", recipient),
            "sender_level": level,
            "marker": ref("Terms", marker),
        }
        for aid in self.naming[(holder, recipient)]:
            facts = {
                **common,
                "receivers": [ref("Party", recipient)],
                "agreement": ref("Agreement", aid),
                "terms": ref("Terms", self.terms_on(aid, day)),
            }
            for c in self._consents(ask, holder, recipient):
                request = self._request(ask, "direct", holder, facts, consent=ref("Consent", c))
                out.append(((holder, recipient), request))
        for arrangement, hub, parties, _hops in self.conduits:
            if holder not in parties or recipient not in parties:
                continue
            terms = self.terms_on(arrangement, day)
            hop1 = ask.chosen.get((arrangement, holder, hub), NONE)
            hop2 = ask.chosen.get((arrangement, hub, recipient), NONE)
            terms1, terms2 = self.terms_on(hop1, day), self.terms_on(hop2, day)
            table1, table2 = (terms, terms) if self.rows.get(terms) else (terms1, terms2)
            facts = {  # the arrangement, its hop agreements and their terms, the tables composed
                **common,
                "receivers": [ref("Party", hub), ref("Party", recipient)],
                "hub": ref("Party", hub),
                "arrangement": ref("Agreement", arrangement),
                "terms": ref("Terms", terms),
                "hop1": ref("Agreement", hop1),
                "hop1_terms": ref("Terms", terms1),
                "hop2": ref("Agreement", hop2),
                "hop2_terms": ref("Terms", terms2),
                "table1": ref("Terms", table1),
                "table2": ref("Terms", table2),
                "hub_level": self._level(table1, level, hub),
            }
            for c1, c2 in product(self._consents(ask, holder, hub), self._consents(ask, hub, recipient)):
                signed = {"consent1": ref("Consent", c1), "consent2": ref("Consent", c2)}
                request = self._request(ask, "conduit", holder, facts, **signed)
                out.append(((holder, hub, recipient), request))
        return out

    def judge(self, requests: Sequence[Request]) -> list[bool]:
        return [r.allowed for r in self._results(requests)]

    def _results(self, requests: Sequence[Request]) -> list[Any]:
        if not requests:
            return []
        return list(cedarpy.is_authorized_batch(list(requests), self.policies, self.entities))

    # -- public -----------------------------------------------------------------------------------------
    def routes(self, queries: Iterable[Query]) -> list[tuple[str, ...]]:
        """The winning route of each query (``()`` when denied), judged in two Cedar batches."""
        asks = [self._ask(q) for q in queries]
        probes = [(ask, key, aid, req) for ask in asks for key, aid, req in self._probes(ask)]
        for (ask, key, aid, _), ok in zip(probes, self.judge([p[3] for p in probes]), strict=True):
            if ok and key not in ask.chosen:  # candidates come in preference order: keep the first
                ask.chosen[key] = aid
        plans = [(n, route, req) for n, ask in enumerate(asks) for route, req in self._routes(ask)]
        out: list[tuple[str, ...]] = [()] * len(asks)
        for (n, route, _), ok in zip(plans, self.judge([p[2] for p in plans]), strict=True):
            if ok and not out[n]:
                out[n] = route
        return out

    def requests_per_query(self, queries: Iterable[Query]) -> list[int]:
        """How many Cedar requests each query takes (its probes, then its candidate routes)."""
        counts = []
        for q in queries:
            ask = self._ask(q)
            probes = self._probes(ask)
            for (key, aid, _), ok in zip(probes, self.judge([p[2] for p in probes]), strict=True):
                if ok and key not in ask.chosen:
                    ask.chosen[key] = aid
            counts.append(len(probes) + len(self._routes(ask)))
        return counts

    def explain(self, item: str, recipient: str, at: date, holder: str) -> dict[str, Any]:
        """The decision with Cedar's own reasons: the route and, for every request judged, its verdict and
        the ids of the policies that decided it (what Cedar gives as reasons)."""
        ask = self._ask((item, recipient, at, holder))
        probes = self._probes(ask)
        judged = []
        for (key, aid, _), result in zip(probes, self._results([p[2] for p in probes]), strict=True):
            if result.allowed and key not in ask.chosen:
                ask.chosen[key] = aid
            judged.append(
                {
                    "probe": list(key),
                    "agreement": aid,
                    "allowed": result.allowed,
                    "policies": list(result.diagnostics.reasons),
                }
            )
        route: tuple[str, ...] = ()
        for (candidate, _), result in zip(
            routes := self._routes(ask), self._results([r[1] for r in routes]), strict=True
        ):
            judged.append(
                {
                    "route": list(candidate),
                    "allowed": result.allowed,
                    "policies": list(result.diagnostics.reasons),
                }
            )
            if result.allowed and not route:
                route = candidate
        return {"allowed": bool(route), "route": list(route), "judged": judged}

    def route(self, item: str, recipient: str, at: date, holder: str) -> tuple[str, ...]:
        return self.routes([(item, recipient, at, holder)])[0]

    def decide(self, item: str, recipient: str, at: date, holder: str) -> bool:
        return bool(self.route(item, recipient, at, holder))

    def decide_many(self, queries: Iterable[Query]) -> list[bool]:
        return [bool(r) for r in self.routes(queries)]
