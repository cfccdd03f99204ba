"""A world file's data -> :class:`~gsomia.domain.model.WorldSpec`, checking its shape as it goes.

Only the shape is checked here: keys, types, dates, lengths, the words allowed, and which keys go
together. Whether the ids refer to anything is :func:`gsomia.domain.validate.validate`'s question.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Literal, TypeGuard, TypeVar

from gsomia.domain.ids import MAX_ID_LENGTH
from gsomia.domain.model import (
    EVENT_KINDS,
    Agreement,
    Consent,
    Duration,
    EquivalenceRow,
    Event,
    EventKind,
    Item,
    Level,
    Party,
    Table,
    WorldSpec,
)

from .fields import (
    Context,
    Cursor,
    choice,
    day,
    describe,
    entries,
    fields,
    ident,
    length,
    printable,
    quote,
    text,
    texts,
    texts_or_one,
)
from .source import Lines, Plain

T = TypeVar("T")
Scope = tuple[tuple[str, ...] | None, bool]  # (topics, or None for any; whether it was written as any)

VERSION = 1
Kind = Literal["treaty", "arrangement"]
_AGREEMENT_KINDS: dict[str, Kind] = {"treaty": "treaty", "arrangement": "arrangement"}
_ANY: Scope = (None, True)
_UNCHANGED: Scope = (None, False)
_RENEWALS = {"automatic": True, "none": False}
_EVENT_KINDS: dict[str, EventKind] = {kind: kind for kind in EVENT_KINDS}
_AMEND_ONLY = ("scope", "equivalence")


def spec_from_data(data: object, *, file: str = "<data>", lines: Lines | None = None) -> WorldSpec:
    """Build a WorldSpec from already-parsed data; ``lines(path)`` gives a key's line where known."""
    root = Cursor(Context(file, lines), (), data)
    _check_version(root)
    f = fields(
        root, "a world file", ("gsomia", "parties"), ("name", "agreements", "events", "items", "consents")
    )
    return WorldSpec(
        name=_optional(f, "name", lambda c: text(c, "a world name"), ""),
        parties=tuple(_party(c) for c in entries(f["parties"], "parties")),
        agreements=_section(f, "agreements", _agreement),
        events=tuple(_event(c, i) for i, c in enumerate(_list(f, "events"))),
        items=_items(f),
        consents=_section(f, "consents", _consent),
    )


def _check_version(root: Cursor) -> None:
    data = root.value
    json = root.ctx.json
    first = f'"gsomia": {VERSION}' if json else f"'gsomia: {VERSION}'"
    mapping = "a JSON object" if json else "a mapping"
    if data is None:
        raise root.error(
            f"the file is empty or holds only null; a world file is {mapping} that starts with {first}"
        )
    if not isinstance(data, Mapping):
        raise root.error(f"expected {mapping} that starts with {first}, got {describe(data)}")
    if "gsomia" not in data:
        raise root.at("gsomia", None).error(f"missing; a world file starts with {first}")
    version = data["gsomia"]
    plain_one = isinstance(version, Plain) and version == str(VERSION)
    if not plain_one and not (type(version) is int and version == VERSION):
        number = " (a number, not in quotes)" if json else ""
        raise root.at("gsomia", version).error(
            f"format version {describe(version)} is not one this gsomia reads; write {first}{number}"
        )


def _optional(f: Mapping[str, Cursor], key: str, read: Callable[[Cursor], T], default: T) -> T:
    return read(f[key]) if key in f else default


def _list(f: Mapping[str, Cursor], key: str) -> list[Cursor]:
    return entries(f[key], key) if key in f else []


def _section(f: Mapping[str, Cursor], key: str, read: Callable[[Cursor], T]) -> tuple[T, ...]:
    return tuple(read(c) for c in _list(f, key))


def _party(cur: Cursor) -> Party:
    f = fields(cur, "a party", ("id", "levels"), ("name",))
    pid = ident(f["id"], "a party id")
    levels = tuple(_level(c, pid, rank) for rank, c in enumerate(entries(f["levels"], "levels")))
    return Party(pid, _optional(f, "name", lambda c: text(c, "a party name"), pid), levels)


def _level(cur: Cursor, party: str, rank: int) -> Level:
    f = fields(cur, "a level", ("id", "marking"))
    return Level(ident(f["id"], "a level id"), party, text(f["marking"], "a marking"), rank)


def _agreement(cur: Cursor) -> Agreement:
    f = fields(
        cur,
        "an agreement",
        ("id", "kind", "parties", "entry_into_force"),
        ("name", "term", "renewal", "notice_period", "scope", "equivalence", "conduit", "hops"),
    )
    return Agreement(
        id=ident(f["id"], "an agreement id"),
        kind=choice(f["kind"], "an agreement kind", _AGREEMENT_KINDS),
        parties=texts(f["parties"], "party id"),
        entry_into_force=day(f["entry_into_force"]),
        term=_optional(f, "term", lambda c: length(c, zero_ok=False), None),
        renewal=_optional(f, "renewal", lambda c: choice(c, "a renewal", _RENEWALS), False),
        notice_period=_optional(f, "notice_period", lambda c: length(c, zero_ok=True), Duration(0, "d")),
        scope=_optional(f, "scope", _scope, _ANY)[0],
        equivalence=_optional(f, "equivalence", _table, ()),
        conduit=_optional(f, "conduit", lambda c: ident(c, "a party id"), None),
        hops=_optional(f, "hops", lambda c: texts(c, "agreement id"), ()),
        name=_optional(f, "name", lambda c: text(c, "an agreement name"), ""),
    )


def _scope(cur: Cursor) -> Scope:
    if cur.value == "any":
        return None, True
    if isinstance(cur.value, list | tuple):
        return texts(cur, "topic"), False
    example = (
        f"[{printable(cur.value)}]" if isinstance(cur.value, str) and cur.value else "[dprk-missile, naval]"
    )
    raise cur.error(f"{describe(cur.value)} is not a scope; write any, or a list of topics like {example}")


def _table(cur: Cursor) -> Table:
    return tuple(_row(c) for c in entries(cur, "equivalence rows"))


def _row(cur: Cursor) -> EquivalenceRow:
    example = "{KOR: KR-II, JPN: [JP-GOKUHI, JP-TOKUTEI]}"
    if not isinstance(cur.value, Mapping):
        found = describe(cur.value)
        raise cur.error(f"expected a row mapping each party to its levels, like {example}; got {found}")
    if not cur.value:
        raise cur.error(f"an equivalence row is empty; map each party to its levels, like {example}")
    cells: list[tuple[str, tuple[str, ...]]] = []
    for party, levels in cur.value.items():
        key = Cursor(cur.ctx, cur.path, party)
        pid = ident(key, "a party id")
        cells.append((pid, texts_or_one(cur.at(pid, levels), "level id")))
    return EquivalenceRow(tuple(cells))


def _event(cur: Cursor, index: int) -> Event:
    f = fields(cur, "an event", ("date", "agreement", "kind"), ("by", *_AMEND_ONLY))
    kind = choice(f["kind"], "an event kind", _EVENT_KINDS)
    _check_amend(f, kind)
    scope, scope_any = _optional(f, "scope", _scope, _UNCHANGED)
    return Event(
        date=day(f["date"]),
        agreement=ident(f["agreement"], "an agreement id"),
        kind=kind,
        by=_optional(f, "by", lambda c: ident(c, "a party id"), None),
        scope=scope,
        scope_any=scope_any,
        equivalence=_optional(f, "equivalence", _table, None),
        index=index,
    )


def _check_amend(f: Mapping[str, Cursor], kind: EventKind) -> None:
    given = [key for key in _AMEND_ONLY if key in f]
    if kind == "amend" and not given:
        raise f["kind"].error("an amend must give a new scope, a new equivalence, or both; add one")
    if kind != "amend" and given:
        raise f[given[0]].error(
            f"only an amend changes {given[0]}, and this event is a {kind}; "
            f"drop {given[0]}, or write kind: amend"
        )


_ITEM_KEYS = frozenset(("id", "originator", "level", "topics", "releasable_to", "caveats"))


def _items(f: Mapping[str, Cursor]) -> tuple[Item, ...]:
    """The items, most of them by the quick path (a cursor is made only for an item that needs one)."""
    if "items" not in f:
        return ()
    section = f["items"]
    values = section.value
    if not isinstance(values, list | tuple):
        entries(section, "items")  # raises, saying a list was expected
        return ()
    out = []
    classes: dict[Hashable, _Class | None] = {}
    for index, value in enumerate(values):
        quick = _plain_item(value, classes)
        out.append(quick if quick is not None else _checked_item(section.at(index, value)))
    return tuple(out)


_Class = tuple[str, str, tuple[str, ...], tuple[str, ...] | None, tuple[str, ...]]
"""What an item holds but its id: (originator, level, topics, releasable_to, caveats)."""
_ABSENT = object()


def _plain_item(value: object, classes: dict[Hashable, _Class | None] | None = None) -> Item | None:
    """The item ``value`` plainly is, or None: then :func:`_checked_item` reads it and says what is wrong.

    A world may hold a million items; most are plain, and reading them without a cursor per key keeps a
    big world quick to load. It accepts only what :func:`_checked_item` accepts, and returns the same Item.
    Items of a world come from a few thousand classes: with ``classes``, each class is checked once (by
    equal values: a class found plain gives the Item the checked road would) and its tuples are shared.
    """
    if not isinstance(value, dict) or not _ITEM_KEYS.issuperset(value):
        return None
    item = value.get("id")
    if not _plain_id(item):
        return None
    found = _plain_class(value) if classes is None else _known_class(value, classes)
    return None if found is None else Item(item, *found)


def _known_class(value: dict[str, object], classes: dict[Hashable, _Class | None]) -> _Class | None:
    get = value.get
    try:
        key = (
            get("originator"),
            get("level"),
            _frozen(get("topics", _ABSENT)),
            _frozen(get("releasable_to", _ABSENT)),
            _frozen(get("caveats", _ABSENT)),
        )
        return classes[key]
    except KeyError:
        found = classes[key] = _plain_class(value)
        return found
    except TypeError:  # a value that is no hashable text: the checks say what it is
        return _plain_class(value)


def _frozen(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _plain_class(value: dict[str, object]) -> _Class | None:
    originator, level = value.get("originator"), value.get("level")
    if not (_plain_id(originator) and _plain_id(level)):
        return None
    topics, caveats = _plain_ids(value.get("topics", [])), _plain_ids(value.get("caveats", []))
    listed = "releasable_to" in value
    to = _plain_ids(value["releasable_to"]) if listed else None
    if topics is None or caveats is None or (listed and to is None):
        return None
    return originator, level, topics, to, caveats


def read_items(values: list[object], *, file: str = "<data>") -> tuple[Item, ...]:
    """Items (each a world file's item mapping), plain ones by the quick path, as a world file's are."""
    quick = [_plain_item(value) for value in values]
    if all(item is not None for item in quick):
        return tuple(item for item in quick if item is not None)
    return spec_from_data({"gsomia": VERSION, "parties": [], "items": values}, file=file).items


def _plain_id(value: object) -> TypeGuard[str]:
    # printable text holds no whitespace but the space, so only a space can be at either end
    return (
        type(value) is str
        and 0 < len(value) <= MAX_ID_LENGTH
        and value.isprintable()
        and value[0] != " "
        and value[-1] != " "
    )


def _plain_ids(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(map(_plain_id, value)):
        return None
    return tuple(value)


def _checked_item(cur: Cursor) -> Item:
    f = fields(cur, "an item", ("id", "originator", "level"), ("topics", "releasable_to", "caveats"))
    return Item(
        id=ident(f["id"], "an item id"),
        originator=ident(f["originator"], "a party id"),
        level=ident(f["level"], "a level id"),
        topics=_optional(f, "topics", lambda c: texts(c, "topic"), ()),
        releasable_to=_optional(f, "releasable_to", lambda c: texts(c, "party id"), None),
        caveats=_optional(f, "caveats", lambda c: texts(c, "caveat"), ()),
    )


def _consent(cur: Cursor) -> Consent:
    f = fields(cur, "a consent", ("holder", "recipient"), ("item", "topic", "originator", "from", "until"))
    holder = ident(f["holder"], "a party id")
    recipient = ident(f["recipient"], "a party id")
    item = _optional(f, "item", lambda c: ident(c, "an item id"), None)
    topic = _optional(f, "topic", lambda c: ident(c, "a topic"), None)
    originator = _optional(f, "originator", lambda c: ident(c, "a party id"), None)
    which = f"this consent ({printable(holder)} to {printable(recipient)})"
    if item is not None and topic is not None:
        raise f["topic"].error(
            f"{which} names both item {quote(item)} and topic {quote(topic)}; keep one of them"
        )
    if item is None and topic is None:
        raise cur.error(f"{which} names no item and no topic; add item, or topic with its originator")
    if topic is not None and originator is None:
        raise f["topic"].error(
            f"{which} names topic {quote(topic)} but no originator; add originator: <party id>"
        )
    valid_from = _optional(f, "from", day, None)
    valid_until = _optional(f, "until", day, None)
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise f["until"].error(f"{which} ends on {valid_until}, before it starts on {valid_from}; swap them")
    return Consent(holder, recipient, item, topic, originator, valid_from, valid_until)


read_agreement = _agreement  # one agreement mapping on its own (see fragments.py)
read_table = _table  # one equivalence table on its own
