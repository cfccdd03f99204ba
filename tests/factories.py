"""Worlds built in code, so the domain tests need no file and no loader."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from gsomia.domain.model import (
    Agreement,
    Consent,
    Duration,
    EquivalenceRow,
    Event,
    Item,
    Level,
    Party,
    Table,
    WorldSpec,
)
from gsomia.domain.world import World


def party(pid: str, *levels: str, name: str = "") -> Party:
    return Party(pid, name or pid, tuple(Level(lid, pid, lid, rank) for rank, lid in enumerate(levels)))


def table(*rows: dict[str, str | tuple[str, ...]]) -> Table:
    return tuple(
        EquivalenceRow(tuple((p, (v,) if isinstance(v, str) else v) for p, v in row.items())) for row in rows
    )


def d(text: str) -> date:
    return date.fromisoformat(text)


KOR = party("KOR", "KR-III", "KR-II", "KR-I")
JPN = party("JPN", "JP-HI", "JP-GOKUHI", "JP-TOKUTEI")
USA = party("USA", "US-C", "US-S", "US-TS")

KOR_JPN = Agreement(
    id="KOR-JPN-GSOMIA",
    kind="treaty",
    parties=("KOR", "JPN"),
    entry_into_force=d("2016-11-23"),
    term=Duration(1, "y"),
    renewal=True,
    notice_period=Duration(90, "d"),
    equivalence=table(
        {"KOR": "KR-II", "JPN": ("JP-GOKUHI", "JP-TOKUTEI")}, {"KOR": "KR-III", "JPN": "JP-HI"}
    ),
)
USA_JPN = Agreement(
    id="USA-JPN-GSOMIA",
    kind="treaty",
    parties=("USA", "JPN"),
    entry_into_force=d("2007-08-10"),
    equivalence=table({"USA": "US-S", "JPN": ("JP-GOKUHI", "JP-TOKUTEI")}, {"USA": "US-C", "JPN": "JP-HI"}),
)
USA_KOR = Agreement(
    id="USA-KOR-GSOMIA",
    kind="treaty",
    parties=("USA", "KOR"),
    entry_into_force=d("1987-09-24"),
    equivalence=table({"USA": "US-S", "KOR": "KR-II"}, {"USA": "US-C", "KOR": "KR-III"}),
)
TISA = Agreement(
    id="TISA",
    kind="arrangement",
    parties=("USA", "KOR", "JPN"),
    entry_into_force=d("2014-12-29"),
    scope=("dprk-nuclear", "dprk-missile"),
    conduit="USA",
    hops=("USA-KOR-GSOMIA", "USA-JPN-GSOMIA"),
)
NOTICE = Event(d("2019-08-23"), "KOR-JPN-GSOMIA", "notice", by="KOR", index=0)

ITEMS = (
    Item("K-MSL-1", "KOR", "KR-II", ("dprk-missile",)),
    Item("K-NAV-1", "KOR", "KR-II", ("naval",)),
    Item("K-TOP-1", "KOR", "KR-I", ("dprk-missile",)),
    Item("K-NF-1", "KOR", "KR-III", ("dprk-nuclear",), caveats=("NOFORN",)),
    Item("K-REL-1", "KOR", "KR-III", ("dprk-nuclear",), releasable_to=("JPN",)),
    Item("J-MSL-1", "JPN", "JP-TOKUTEI", ("dprk-missile",)),
)
CONSENT = Consent("JPN", "USA", item="K-MSL-1", valid_from=d("2019-01-01"), valid_until=d("2019-12-31"))

EXAMPLES = WorldSpec(
    name="Korea-Japan 2019, had Korea not suspended its notice",
    parties=(KOR, JPN, USA),
    agreements=(KOR_JPN, TISA, USA_JPN, USA_KOR),
    events=(NOTICE,),
    items=ITEMS,
    consents=(CONSENT,),
)


def examples_world(**changes: object) -> World:
    """The worked examples' world (Korea-Japan 2019, had Korea not suspended its notice), fields replaced."""
    return World(replace(EXAMPLES, **changes))  # type: ignore[arg-type]


def bilateral(agreement_id: str = "A-B", **changes: object) -> Agreement:
    """A plain two-party treaty between A and B, in force from 2000-01-01, mapping A1 <-> B1."""
    base = Agreement(
        id=agreement_id,
        kind="treaty",
        parties=("A", "B"),
        entry_into_force=d("2000-01-01"),
        equivalence=table({"A": "A1", "B": "B1"}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def two_party_world(agreement: Agreement, *events: Event, items: tuple[Item, ...] = ()) -> World:
    return World(
        WorldSpec(
            name="two parties",
            parties=(party("A", "A0", "A1", "A2"), party("B", "B0", "B1", "B2")),
            agreements=(agreement,),
            events=tuple(replace(ev, index=i) for i, ev in enumerate(events)),
            items=items or (Item("X", "A", "A1", ("t",)),),
        )
    )


def event(day: str, kind: str, agreement: str = "A-B", **extra: object) -> Event:
    return Event(d(day), agreement, kind, **extra)  # type: ignore[arg-type]
