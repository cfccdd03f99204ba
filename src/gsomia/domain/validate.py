"""Cross-reference checks on a world: every id known, every table well formed.

Errors carry a path into the world as written (``("agreements", 0, "equivalence", 1, "KOR")``) so the
scenario loader can name the line. Lifecycle checks live in :mod:`gsomia.domain.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .errors import Path, WorldError
from .ids import id_problem, quoted, unknown
from .model import EVENT_KINDS, Agreement, Consent, Duration, Event, Item, Level, Table, WorldSpec


def validate(
    spec: WorldSpec,
    *,
    items_checked: bool = False,
    known_items: Callable[[str], bool] | None = None,
    item_originator: Callable[[str], str | None] | None = None,
) -> dict[str, Level]:
    """Check ``spec``; return its levels by id. Raises :class:`WorldError` at the first problem.

    ``items_checked``: the items and consents were already checked against these very parties.
    ``known_items``: where items are kept outside ``spec`` (a node's store), whether an item id is one; a
    consent may name such an item as well as one of ``spec.items``. ``item_originator``: the originator of
    such an item (None: not known), against which a consent naming it is checked as for ``spec.items``.
    """
    levels = _check_parties(spec)
    parties = {p.id for p in spec.parties}
    agreements = _unique((a.id for a in spec.agreements), "agreements", "agreement")
    for i, agreement in enumerate(spec.agreements):
        _check_agreement(agreement, ("agreements", i), parties, agreements, levels)
    by_id = {a.id: a for a in spec.agreements}
    for i, agreement in enumerate(spec.agreements):
        _check_hops(agreement, ("agreements", i), by_id)
    for i, event in enumerate(spec.events):
        _check_event(event, ("events", i), by_id, levels)
    if items_checked:
        return levels
    items = _unique((item.id for item in spec.items), "items", "item")
    checked: set[tuple[object, ...]] = set()  # items repeat a few shapes: check each shape once
    for i, item in enumerate(spec.items):
        check_id(item.id, ("items", i, "id"), "an item id")
        shape = (item.originator, item.level, item.releasable_to, item.topics, item.caveats)
        if shape not in checked:
            check_item(item, ("items", i), parties, levels)
            checked.add(shape)
    originators = _originators(spec, item_originator)
    for i, consent in enumerate(spec.consents):
        named = consent.item
        elsewhere = (
            known_items is not None and named is not None and named not in items and known_items(named)
        )
        _check_consent(consent, ("consents", i), parties, items, elsewhere)
        _check_consent_originator(consent, ("consents", i), originators)
    return levels


def _originators(
    spec: WorldSpec, kept_elsewhere: Callable[[str], str | None] | None
) -> Callable[[str], str | None]:
    """The originator of each item an item consent names together with an originator (None: unknown)."""
    named = {c.item for c in spec.consents if c.item is not None and c.originator is not None}
    if not named:
        return lambda _item: None
    found = {item.id: item.originator for item in spec.items if item.id in named}
    if kept_elsewhere is None:
        return found.get
    return lambda item: found[item] if item in found else kept_elsewhere(item)


def check_id(value: object, where: Path, what: str) -> None:
    """``value`` is a good id (see :func:`gsomia.domain.ids.id_problem`), or a WorldError says why."""
    if not isinstance(value, str):
        raise WorldError(f"{what} must be a string, not {quoted(value)}", where)
    problem = id_problem(value)
    if problem is not None:
        raise WorldError(f"{what} {quoted(value)} {problem}", where)


def _check_topics(topics: Iterable[str], where: Path) -> None:
    for k, topic in enumerate(topics):
        check_id(topic, (*where, k), "a topic")


def _unique(ids: Iterable[str], section: str, what: str) -> set[str]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if section != "items":  # items are checked one by one with their other fields
            check_id(ident, (section, i, "id"), f"{'an' if what[0] in 'aeiou' else 'a'} {what} id")
        if ident in seen:
            raise WorldError(
                f"{what} id {quoted(ident)} is used twice; ids must be unique", (section, i, "id")
            )
        seen.add(ident)
    return seen


def _check_event(event: Event, where: Path, by_id: dict[str, Agreement], levels: dict[str, Level]) -> None:
    if event.kind not in EVENT_KINDS:
        raise WorldError(
            f"{quoted(event.kind)} is not an event kind; write one of {', '.join(EVENT_KINDS)}",
            (*where, "kind"),
        )
    if event.agreement not in by_id:
        raise WorldError(
            unknown("agreement", event.agreement, by_id, "declare it under agreements"), (*where, "agreement")
        )
    members = by_id[event.agreement].parties
    if event.by is not None and event.by not in members:
        raise WorldError(
            f"{quoted(event.by)} is not a party of {event.agreement}; parties are {list(members)}",
            (*where, "by"),
        )
    if event.kind != "amend":
        for key, given in (
            ("scope", event.scope is not None or event.scope_any),
            ("equivalence", event.equivalence is not None),
        ):
            if given:
                raise WorldError(f"'{key}' belongs to amend events alone, not to {event.kind}", (*where, key))
    if event.scope is not None:
        _check_topics(event.scope, (*where, "scope"))
    if event.equivalence is not None:
        check_table(event.equivalence, members, levels, (*where, "equivalence"))


def _check_parties(spec: WorldSpec) -> dict[str, Level]:
    _unique((p.id for p in spec.parties), "parties", "party")
    levels: dict[str, Level] = {}
    for i, party in enumerate(spec.parties):
        for j, level in enumerate(party.levels):
            check_id(level.id, ("parties", i, "levels", j, "id"), "a level id")
            if level.id in levels:
                raise WorldError(
                    f"level id {quoted(level.id)} is already used by {levels[level.id].party}; "
                    "level ids are unique "
                    "across the world",
                    ("parties", i, "levels", j, "id"),
                )
            levels[level.id] = level
    return levels


def _known_party(pid: str, parties: set[str], path: Path) -> None:
    if pid not in parties:
        raise WorldError(unknown("party", pid, parties, "declare it under parties"), path)


def _check_agreement(
    agreement: Agreement, where: Path, parties: set[str], agreements: set[str], levels: dict[str, Level]
) -> None:
    for j, pid in enumerate(agreement.parties):
        _known_party(pid, parties, (*where, "parties", j))
    if len(set(agreement.parties)) != len(agreement.parties) or len(agreement.parties) < 2:
        raise WorldError("an agreement needs two or more distinct parties", (*where, "parties"))
    if agreement.conduit is not None and agreement.conduit not in agreement.parties:
        raise WorldError(
            f"conduit {quoted(agreement.conduit)} must be one of the agreement's parties", (*where, "conduit")
        )
    if agreement.conduit is not None and agreement.kind != "arrangement":
        raise WorldError("only an arrangement has a conduit; write kind: arrangement", (*where, "kind"))
    if agreement.kind not in ("treaty", "arrangement"):
        raise WorldError(
            f"{quoted(agreement.kind)} is not a kind; write treaty or arrangement", (*where, "kind")
        )
    for key, length in (("term", agreement.term), ("notice_period", agreement.notice_period)):
        _check_duration(length, (*where, key))
    if agreement.term is not None and agreement.term.amount <= 0:
        raise WorldError(
            f"a term of {agreement.term} has no length; give a positive one or leave term out",
            (*where, "term"),
        )
    if agreement.notice_period.amount < 0:
        raise WorldError(
            f"a notice period of {agreement.notice_period} is negative", (*where, "notice_period")
        )
    if agreement.hops and agreement.conduit is None:
        raise WorldError("hops only make sense with a conduit; add conduit or drop hops", (*where, "hops"))
    for j, hop in enumerate(agreement.hops):
        if hop == agreement.id:
            raise WorldError(
                f"{agreement.id} lists itself in hops; hops are the hub's own agreements with the members",
                (*where, "hops", j),
            )
        if hop not in agreements:
            raise WorldError(
                unknown("hops agreement", hop, agreements, "declare it under agreements"), (*where, "hops", j)
            )
    if agreement.scope is not None:
        _check_topics(agreement.scope, (*where, "scope"))
    check_table(agreement.equivalence, agreement.parties, levels, (*where, "equivalence"))


def _check_duration(length: Duration | None, where: Path) -> None:
    if length is None:
        return
    if type(length.amount) is not int or length.unit not in ("y", "m", "d"):
        raise WorldError(
            f"{quoted(str(length.amount) + str(length.unit))} is not a length; give a whole number and "
            "a unit, y, m or d (like 1y or 90d)",
            where,
        )


def _check_hops(agreement: Agreement, where: Path, by_id: dict[str, Agreement]) -> None:
    """Each hops agreement protects a hop to or from the hub: it names the hub and a member, and is no
    conduit arrangement itself."""
    for j, hop in enumerate(agreement.hops):
        other = by_id[hop]
        if other.conduit is not None:
            raise WorldError(
                f"{hop} is itself a conduit arrangement; hops are the hub's own agreements",
                (*where, "hops", j),
            )
        if agreement.conduit not in other.parties or not set(other.parties) & (
            set(agreement.parties) - {agreement.conduit}
        ):
            raise WorldError(
                f"{hop} does not join the hub {agreement.conduit} to a member of {agreement.id}",
                (*where, "hops", j),
            )


def check_table(table: Table, members: tuple[str, ...], levels: dict[str, Level], where: Path) -> None:
    """Each level known, of its party, in at most one row; rows never cross."""
    seen: dict[str, int] = {}
    for r, row in enumerate(table):
        if not row.cells:
            raise WorldError("an equivalence row must name at least one party", (*where, r))
        for pid, ids in row.cells:
            at: Path = (*where, r, pid)
            if pid not in members:
                raise WorldError(
                    f"{quoted(pid)} is not a party of this agreement; parties are {list(members)}", at
                )
            if not ids:
                raise WorldError(f"row names no level for {pid}", at)
            for lid in ids:
                level = levels.get(lid)
                if level is None:
                    raise WorldError(unknown("level", lid, levels, "declare it under the party's levels"), at)
                if level.party != pid:
                    raise WorldError(f"level {quoted(lid)} belongs to {level.party}, not {pid}", at)
                if lid in seen:
                    raise WorldError(
                        f"level {quoted(lid)} is already in row {seen[lid] + 1}; a level sits in one row", at
                    )
                seen[lid] = r
    _check_no_crossing(table, levels, where)


def _check_no_crossing(table: Table, levels: dict[str, Level], where: Path) -> None:
    for r, upper in enumerate(table):
        for s in range(r):
            lower = table[s]
            order = 0
            for pid, ids in upper.cells:
                other = lower.levels_of(pid)
                if not other:
                    continue
                mine = [levels[x].rank for x in ids]
                theirs = [levels[x].rank for x in other]
                here = 1 if min(mine) > max(theirs) else (-1 if max(mine) < min(theirs) else 0)
                if here == 0 or (order and here != order):
                    raise WorldError(
                        f"rows {s + 1} and {r + 1} cross for {pid}: "
                        "a row higher for one party must be higher "
                        "for every party both rows name",
                        (*where, r, pid),
                    )
                order = here


def check_item(item: Item, where: Path, parties: set[str], levels: dict[str, Level]) -> None:
    """``item`` names a known originator, one of its levels, known parties and well-formed topics."""
    _known_party(item.originator, parties, (*where, "originator"))
    level = levels.get(item.level)
    if level is None or level.party != item.originator:
        raise WorldError(
            f"level {quoted(item.level)} is not one of {item.originator}'s levels", (*where, "level")
        )
    for j, pid in enumerate(item.releasable_to or ()):
        _known_party(pid, parties, (*where, "releasable_to", j))
    _check_topics(item.topics, (*where, "topics"))
    for j, caveat in enumerate(item.caveats):
        check_id(caveat, (*where, "caveats", j), "a caveat")


def _check_consent(
    consent: Consent, where: Path, parties: set[str], items: set[str], kept_elsewhere: bool = False
) -> None:
    if (consent.item is None) == (consent.topic is None):
        raise WorldError("a consent names exactly one of item or topic", where)
    if consent.topic is not None and consent.originator is None:
        raise WorldError("a topic consent must name the originator whose items it covers", (*where, "topic"))
    if consent.item is not None and consent.item not in items and not kept_elsewhere:
        raise WorldError(unknown("item", consent.item, items, "declare it under items"), (*where, "item"))
    if consent.topic is not None:
        check_id(consent.topic, (*where, "topic"), "a topic")
    if consent.originator is not None:
        _known_party(consent.originator, parties, (*where, "originator"))
    _known_party(consent.holder, parties, (*where, "holder"))
    _known_party(consent.recipient, parties, (*where, "recipient"))
    if consent.holder == consent.recipient:
        raise WorldError("holder and recipient must differ", (*where, "recipient"))
    if consent.valid_from and consent.valid_until and consent.valid_from > consent.valid_until:
        raise WorldError("'from' is after 'until': the consent would never be valid", (*where, "until"))


def _check_consent_originator(
    consent: Consent, where: Path, originators: Callable[[str], str | None]
) -> None:
    """An item consent names no originator, or the item's own: only the originator decides on its item."""
    if consent.item is None or consent.originator is None:
        return
    actual = originators(consent.item)
    if actual is not None and actual != consent.originator:
        raise WorldError(
            f"the consent on item {quoted(consent.item)} names {quoted(consent.originator)} as originator, "
            f"but {actual} originated the item: write originator: {actual}, or leave originator out",
            (*where, "originator"),
        )
