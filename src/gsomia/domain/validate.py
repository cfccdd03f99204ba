"""Cross-reference checks on a world: every id known, every table well formed.

Errors carry a path into the world as written (``("agreements", 0, "equivalence", 1, "KOR")``) so the
scenario loader can name the line. Lifecycle checks live in :mod:`gsomia.domain.lifecycle`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import Path, WorldError
from .model import Agreement, Consent, Item, Level, Table, WorldSpec


def validate(spec: WorldSpec, *, items_checked: bool = False) -> dict[str, Level]:
    """Check ``spec``; return its levels by id. Raises :class:`WorldError` at the first problem.

    ``items_checked``: the items and consents were already checked against these very parties.
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
        where: Path = ("events", i)
        if event.agreement not in by_id:
            raise WorldError(
                f"unknown agreement {event.agreement!r}; declare it under agreements", (*where, "agreement")
            )
        members = by_id[event.agreement].parties
        if event.by is not None and event.by not in members:
            raise WorldError(
                f"{event.by!r} is not a party of {event.agreement}; parties are {list(members)}",
                (*where, "by"),
            )
        if event.kind != "amend":
            for key, given in (
                ("scope", event.scope is not None or event.scope_any),
                ("equivalence", event.equivalence),
            ):
                if given:
                    raise WorldError(
                        f"'{key}' belongs to amend events alone, not to {event.kind}", (*where, key)
                    )
        if event.equivalence is not None:
            check_table(event.equivalence, members, levels, (*where, "equivalence"))
    if items_checked:
        return levels
    items = _unique((item.id for item in spec.items), "items", "item")
    checked: set[tuple[object, ...]] = set()  # items repeat a few shapes: check each shape once
    for i, item in enumerate(spec.items):
        shape = (item.originator, item.level, item.releasable_to)
        if shape not in checked:
            _check_item(item, ("items", i), parties, levels)
            checked.add(shape)
    for i, consent in enumerate(spec.consents):
        _check_consent(consent, ("consents", i), parties, items)
    return levels


def _unique(ids: Iterable[str], section: str, what: str) -> set[str]:
    seen: set[str] = set()
    for i, ident in enumerate(ids):
        if ident in seen:
            raise WorldError(f"{what} id {ident!r} is used twice; ids must be unique", (section, i, "id"))
        seen.add(ident)
    return seen


def _check_parties(spec: WorldSpec) -> dict[str, Level]:
    _unique((p.id for p in spec.parties), "parties", "party")
    levels: dict[str, Level] = {}
    for i, party in enumerate(spec.parties):
        for j, level in enumerate(party.levels):
            if level.id in levels:
                raise WorldError(
                    f"level id {level.id!r} is already used by {levels[level.id].party}; "
                    "level ids are unique "
                    "across the world",
                    ("parties", i, "levels", j, "id"),
                )
            levels[level.id] = level
    return levels


def _known_party(pid: str, parties: set[str], path: Path) -> None:
    if pid not in parties:
        raise WorldError(f"unknown party {pid!r}; declare it under parties", path)


def _check_agreement(
    agreement: Agreement, where: Path, parties: set[str], agreements: set[str], levels: dict[str, Level]
) -> None:
    for j, pid in enumerate(agreement.parties):
        _known_party(pid, parties, (*where, "parties", j))
    if len(set(agreement.parties)) != len(agreement.parties) or len(agreement.parties) < 2:
        raise WorldError("an agreement needs two or more distinct parties", (*where, "parties"))
    if agreement.conduit is not None and agreement.conduit not in agreement.parties:
        raise WorldError(
            f"conduit {agreement.conduit!r} must be one of the agreement's parties", (*where, "conduit")
        )
    if agreement.conduit is not None and agreement.kind != "arrangement":
        raise WorldError("only an arrangement has a conduit; write kind: arrangement", (*where, "kind"))
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
        if hop not in agreements or hop == agreement.id:
            raise WorldError(
                f"unknown hops agreement {hop!r}; declare it under agreements", (*where, "hops", j)
            )
    check_table(agreement.equivalence, agreement.parties, levels, (*where, "equivalence"))


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
                raise WorldError(f"{pid!r} is not a party of this agreement; parties are {list(members)}", at)
            if not ids:
                raise WorldError(f"row names no level for {pid}", at)
            for lid in ids:
                level = levels.get(lid)
                if level is None:
                    raise WorldError(f"unknown level {lid!r}; declare it under the party's levels", at)
                if level.party != pid:
                    raise WorldError(f"level {lid!r} belongs to {level.party}, not {pid}", at)
                if lid in seen:
                    raise WorldError(
                        f"level {lid!r} is already in row {seen[lid] + 1}; a level sits in one row", at
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


def _check_item(item: Item, where: Path, parties: set[str], levels: dict[str, Level]) -> None:
    _known_party(item.originator, parties, (*where, "originator"))
    level = levels.get(item.level)
    if level is None or level.party != item.originator:
        raise WorldError(f"level {item.level!r} is not one of {item.originator}'s levels", (*where, "level"))
    for j, pid in enumerate(item.releasable_to or ()):
        _known_party(pid, parties, (*where, "releasable_to", j))


def _check_consent(consent: Consent, where: Path, parties: set[str], items: set[str]) -> None:
    if (consent.item is None) == (consent.topic is None):
        raise WorldError("a consent names exactly one of item or topic", where)
    if consent.topic is not None and consent.originator is None:
        raise WorldError("a topic consent must name the originator whose items it covers", (*where, "topic"))
    if consent.item is not None and consent.item not in items:
        raise WorldError(f"unknown item {consent.item!r}", (*where, "item"))
    if consent.originator is not None:
        _known_party(consent.originator, parties, (*where, "originator"))
    _known_party(consent.holder, parties, (*where, "holder"))
    _known_party(consent.recipient, parties, (*where, "recipient"))
    if consent.holder == consent.recipient:
        raise WorldError("holder and recipient must differ", (*where, "recipient"))
    if consent.valid_from and consent.valid_until and consent.valid_from > consent.valid_until:
        raise WorldError("'from' is after 'until': the consent would never be valid", (*where, "until"))
