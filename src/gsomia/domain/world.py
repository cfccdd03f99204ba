"""A validated, compiled world: the object behind ``gsomia.load_world``.

Building a :class:`World` validates every reference and replays every lifecycle event once; after that,
decisions read precomputed timelines and lookups only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from . import engine
from .decision import Alternative, Decision, Reason
from .errors import QueryError
from .explain import Explainer
from .ids import quoted, unknown
from .impact import Change, ImpactReport, Progress, compare
from .index import MEMO_LIMIT, Index, Verdict
from .lifecycle import AgreementState, Timeline, compile_timeline
from .model import Consent, Event, Item, Level, Party, WorldSpec, map_level
from .validate import check_item, validate


@dataclass(frozen=True, slots=True)
class Query:
    item: str
    recipient: str
    at: date | str
    holder: str | None = None


def parse_day(value: date | str, what: str = "at") -> date:
    """A whole day from a ``date`` or an ISO ``YYYY-MM-DD`` string; a bad one is a :class:`QueryError`.

    Any day of the calendar: what a node stored (a release's day, a partner's) is decided on whatever it
    is, and the engine is safe at the calendar's edges. Where people give days (the CLI's options, the
    API's bodies, the pages' forms) only 0001-01-02 to 9999-12-30 is taken (:mod:`gsomia.domain.days`)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise QueryError(f"{what}: {quoted(value)} is not a date; write it as YYYY-MM-DD") from None


class World:
    """Parties, agreements and their lifecycles, items and consents, ready to decide on."""

    def __init__(
        self,
        spec: WorldSpec,
        base: World | None = None,
        known_items: Callable[[str], bool] | None = None,
        item_originator: Callable[[str], str | None] | None = None,
    ) -> None:
        """Validate and compile ``spec``. ``base``: a world with the very same parties, items and consents
        (say, before a what-if change to agreements or events), whose item work is reused, not redone.
        ``known_items``: for a world whose items are kept elsewhere and taken in as needed (:meth:`admit`),
        whether a consent's item is one of them; ``item_originator``: the originator of such an item (None:
        not known), which an item consent naming an originator must name."""
        same = base is not None and all(
            getattr(spec, f) is getattr(base.spec, f) for f in ("parties", "items", "consents")
        )
        self.spec: WorldSpec = spec
        self.levels: dict[str, Level] = validate(
            spec, items_checked=same, known_items=known_items, item_originator=item_originator
        )
        self.parties: dict[str, Party] = {p.id: p for p in spec.parties}
        self.items: dict[str, Item] = base.items if same and base else {i.id: i for i in spec.items}
        events: dict[str, list[Event]] = defaultdict(list)
        for ev in spec.events:
            events[ev.agreement].append(ev)
        ordered = sorted(spec.agreements, key=lambda a: a.id)
        self.timelines: dict[str, Timeline] = {
            a.id: compile_timeline(a, tuple(events[a.id])) for a in ordered
        }
        pairs: dict[tuple[str, str], list[Timeline]] = defaultdict(list)
        for timeline in self.timelines.values():
            for a in timeline.agreement.parties:
                for b in timeline.agreement.parties:
                    if a != b:
                        pairs[(a, b)].append(timeline)
        self._pairs: dict[tuple[str, str], tuple[Timeline, ...]] = {k: tuple(v) for k, v in pairs.items()}
        self._conduits = tuple(t for t in self.timelines.values() if t.agreement.conduit is not None)
        self._consents: dict[tuple[str, str], list[Consent]] = defaultdict(list)
        for consent in spec.consents:
            self._consents[(consent.holder, consent.recipient)].append(consent)
        self._sorted_items: list[str] | None = None
        self._explained: dict[
            tuple[int, str, str, int], tuple[tuple[Reason, ...], tuple[Alternative, ...]]
        ] = {}
        # last, from the finished world and through its public API only
        self.index: Index = Index(self, base.index if same and base else None)
        self._explainer = Explainer(self)

    @classmethod
    def from_spec(cls, spec: WorldSpec) -> World:
        return cls(spec)

    def fits(self, item: Item) -> None:
        """Whether ``item`` could join this world: a :class:`WorldError` saying why not."""
        check_item(item, ("items", item.id), set(self.parties), self.levels)

    def admit(self, items: Iterable[Item]) -> None:
        """Add ``items`` to this world, each checked against its parties and levels as a world file's
        items are (a :class:`WorldError` for one that does not fit): a node's world holds its parties,
        agreements, events and consents, and takes in the items a decision needs as they are read."""
        fresh = [item for item in items if item.id not in self.items]
        for item in fresh:
            check_item(item, ("items", item.id), set(self.parties), self.levels)
        for item in fresh:
            self.items[item.id] = item
            self.index.admit(item)
        if fresh:
            self._sorted_items = None

    # -- the Facts the engine reads (and the index compiles) -----------------------------------
    def timelines_naming(self, a: str, b: str) -> Sequence[Timeline]:
        """The agreements naming both ``a`` and ``b`` (conduit arrangements included), in id order."""
        return self._pairs.get((a, b), ())

    def party_pairs(self) -> Iterator[tuple[tuple[str, str], Sequence[Timeline]]]:
        """Each ordered pair of parties some agreement names, with those agreements in id order."""
        return iter(self._pairs.items())

    def conduits(self) -> Sequence[Timeline]:
        """The conduit arrangements, in id order."""
        return self._conduits

    def consents(self) -> Sequence[Consent]:
        """Every consent on record, in the order given."""
        return self.spec.consents

    def find_consent(self, item: Item, sender: str, receiver: str, at: date) -> Consent | None:
        for consent in self._consents.get((sender, receiver), ()):
            if consent.covers(item, sender, receiver, at):
                return consent
        return None

    def holder_level(self, item: Item, holder: str, at: date) -> str | None:
        """How ``holder`` marks the item: by the newest agreement by ``at`` naming both that maps it."""
        if holder == item.originator:
            return item.level
        best: tuple[date, str, str] | None = None
        for timeline in self.timelines_naming(item.originator, holder):
            agreement = timeline.agreement
            if agreement.entry_into_force > at:
                continue
            mapped = map_level(timeline.version(at).equivalence, item.level, holder)
            if mapped is None:
                continue
            key = (agreement.entry_into_force, agreement.id, mapped)
            if best is None or key[0] > best[0] or (key[0] == best[0] and key[1] < best[1]):
                best = key
        return None if best is None else best[2]

    # -- public API -----------------------------------------------------------------------------
    def resolve(
        self, item: str, recipient: str, at: date | str, holder: str | None = None
    ) -> tuple[Item, str, date]:
        """A query's item, sender (the holder, by default the originator) and day; bad input (an unknown
        id, a recipient equal to the holder, a day that is not a date) raises :class:`QueryError`."""
        found = self.items.get(item) if isinstance(item, str) else None
        if found is None:
            raise QueryError(self._unknown_item(item))
        sender = found.originator if holder is None else holder
        if recipient not in self.parties:
            raise QueryError(unknown("recipient", recipient, self.parties, self._parties_are()))
        if sender not in self.parties:
            raise QueryError(unknown("holder", sender, self.parties, self._parties_are()))
        if sender == recipient:
            raise QueryError(f"recipient {quoted(recipient)} is the holder itself; name another party")
        return found, sender, at if type(at) is date else parse_day(at)

    def _unknown_item(self, item: object) -> str:
        if self._sorted_items is None and len(self.items) > 5_000:
            self._sorted_items = sorted(self.items)
        known = self._sorted_items if self._sorted_items is not None else self.items
        return unknown("item", item, known, f"the world has {len(self.items)} items")

    def _parties_are(self) -> str:
        return f"parties are {sorted(self.parties)}"

    def decide(self, item: str, recipient: str, at: date | str, holder: str | None = None) -> Decision:
        """May ``item`` go from ``holder`` (default: its originator) to ``recipient`` on day ``at``?

        The verdict, route and marking come from the compiled index; reasons are built when first read
        and shared by the decisions they fit (see :meth:`explain`).
        """
        # the hot path: one lookup of the item, membership tests, the memo; anything odd takes resolve's
        # road, which names what is wrong
        ci = self.index.items.get(item)
        parties = self.parties
        if ci is None or recipient not in parties or (holder is not None and holder not in parties):
            self.resolve(item, recipient, at, holder)
            raise AssertionError("unreachable: resolve rejects what the hot path does not take")
        sender = ci.item.originator if holder is None else holder
        if sender == recipient:
            self.resolve(item, recipient, at, holder)
        day = at if type(at) is date else parse_day(at)
        v = self.index.cached(ci, recipient, day.toordinal(), sender)
        return Decision(
            item, recipient, sender, day, v.allowed, v.route, v.agreements, v.marking, None, None, self
        )

    def verdict_for(self, item: Item, recipient: str, at: date, holder: str) -> Verdict:
        """The verdict on ``item`` going from ``holder`` to ``recipient`` on day ``at``, for an item that
        need not be in this world (it must fit it: :meth:`fits`), from the compiled index: the engine's
        answer (:func:`gsomia.domain.engine.decide`) without the reasons. Nothing of the item is kept."""
        return self.index.outside(item, recipient, at.toordinal(), holder)

    def decide_plain(self, item: str, recipient: str, at: date | str, holder: str | None = None) -> Decision:
        """The same decision, worked out rule by rule by the engine (the index's reference)."""
        found, sender, day = self.resolve(item, recipient, at, holder)
        return engine.decide(self, found, recipient, day, sender)

    def explain(self, decision: Decision) -> tuple[tuple[Reason, ...], tuple[Alternative, ...]]:
        """The reasons and alternatives of ``decision``: what the engine works out rule by rule, put
        together from reasons shared across queries (:mod:`gsomia.domain.explain`), once per item shape,
        recipient, holder and stretch of days on which no reason changes, and shared after that."""
        index = self.index
        ci = index.items[decision.item]
        recipient, holder, at = decision.recipient, decision.holder, decision.at
        key = (id(ci), recipient, holder, index.reason_span(at.toordinal()))
        found = self._explained.get(key)
        if found is None:
            verdict, found = self._explainer.explain(ci, recipient, holder, at)
            if verdict != (decision.allowed, decision.route, decision.agreements, decision.marking):
                raise AssertionError(
                    f"index and explainer disagree on {decision!r}: the reasons say {verdict}"
                )
            if len(self._explained) >= MEMO_LIMIT:
                self._explained.clear()
            self._explained[key] = found
        return found

    def forget(self) -> None:
        """Drop every remembered verdict and reason; each is worked out again when next asked for (a cold
        start, as a benchmark measures it, or memory handed back)."""
        self.index.memo.clear()
        self._explained.clear()
        self._explainer.clear()

    def decide_many(
        self, queries: Iterable[Query | tuple[str, str, date | str] | tuple[str, str, date | str, str | None]]
    ) -> list[Decision]:
        """``decide`` for each query, in order. A bad query raises :class:`QueryError`."""
        out: list[Decision] = []
        for q in queries:
            query = q if isinstance(q, Query) else Query(*q)
            out.append(self.decide(query.item, query.recipient, query.at, query.holder))
        return out

    def state(self, agreement: str, at: date | str) -> AgreementState:
        return self.timeline(agreement).state(parse_day(at))

    def timeline(self, agreement: str) -> Timeline:
        try:
            return self.timelines[agreement]
        except (KeyError, TypeError):
            raise QueryError(
                unknown("agreement", agreement, self.timelines, f"agreements are {sorted(self.timelines)}")
            ) from None

    def impact(
        self,
        change: Change,
        at: date | str | None = None,
        items: Iterable[str] | None = None,
        recipients: Iterable[str] | None = None,
        progress: Progress | None = None,
    ) -> ImpactReport:
        """Apply ``change``; compare every (item, recipient) flow on day ``at`` (default: the change's day).

        A change that cannot apply (e.g. terminating an agreement already ended) raises a :class:`WorldError`.
        """
        after = World(change.apply(self.spec), base=self)
        day = change.on if at is None else parse_day(at)
        chosen = list(self.items) if items is None else list(items)
        for iid in chosen:
            if iid not in self.items:
                raise QueryError(self._unknown_item(iid))
        targets = sorted(self.parties) if recipients is None else list(dict.fromkeys(recipients))
        for pid in targets:
            if pid not in self.parties:
                raise QueryError(unknown("recipient", pid, self.parties, self._parties_are()))
        groups: dict[tuple[object, ...], list[str]] = defaultdict(list)
        for iid in chosen:
            ci = self.index.items[iid]
            groups[(ci.item.originator, ci.item.level, ci.topic_mask, ci.releasable, ci.noforn)].append(iid)
        classes = [
            (ids, self.items[ids[0]].originator, self.items[ids[0]].level, self.items[ids[0]].topics)
            for ids in groups.values()
        ]
        return compare(
            classes, targets, _originator_held(self), _originator_held(after), change, day, progress
        )


def _originator_held(world: World) -> Callable[[str, str, int], Verdict]:
    index = world.index

    def decide(item: str, recipient: str, day: int) -> Verdict:
        ci = index.items[item]
        return index.verdict(ci, recipient, day, ci.item.originator)

    return decide
