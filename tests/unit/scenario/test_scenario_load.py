"""A good world file loads to the WorldSpec it describes."""

from __future__ import annotations

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
)
from gsomia.scenario import load_spec, spec_from_data

from .sample import BASE, WORLDS, edited, write


def test_the_examples_world_loads_its_parties_and_levels_lowest_first():
    """Parties keep their names (or their id), levels their markings and rank from the bottom."""
    spec = load_spec(WORLDS / "examples.yaml")
    assert spec.name == "Korea-Japan 2019, had Korea not suspended its notice"
    assert [p.id for p in spec.parties] == ["KOR", "JPN", "USA"]
    assert spec.parties[0] == Party(
        "KOR",
        "Republic of Korea",
        (
            Level("KR-III", "KOR", "군사III급비밀", 0),
            Level("KR-II", "KOR", "군사II급비밀", 1),
            Level("KR-I", "KOR", "군사I급비밀", 2),
        ),
    )
    assert spec.parties[1].name == "JPN"
    assert spec.parties[1].levels[2] == Level("JP-TOKUTEI", "JPN", "特定秘密", 2)


def test_the_examples_world_loads_every_agreement_field():
    """Term, renewal, notice, scope, equivalence rows, conduit and hops all arrive as written."""
    spec = load_spec(WORLDS / "examples.yaml")
    gsomia, tisa = spec.agreements[0], spec.agreements[1]
    assert gsomia == Agreement(
        id="KOR-JPN-GSOMIA",
        kind="treaty",
        parties=("KOR", "JPN"),
        entry_into_force=date(2016, 11, 23),
        term=Duration(1, "y"),
        renewal=True,
        notice_period=Duration(90, "d"),
        scope=None,
        equivalence=(
            EquivalenceRow((("KOR", ("KR-II",)), ("JPN", ("JP-GOKUHI", "JP-TOKUTEI")))),
            EquivalenceRow((("KOR", ("KR-III",)), ("JPN", ("JP-HI",)))),
        ),
    )
    assert tisa == Agreement(
        id="TISA",
        kind="arrangement",
        parties=("USA", "KOR", "JPN"),
        entry_into_force=date(2014, 12, 29),
        scope=("dprk-nuclear", "dprk-missile"),
        conduit="USA",
        hops=("USA-KOR-GSOMIA", "USA-JPN-GSOMIA"),
    )
    assert [a.id for a in spec.agreements] == ["KOR-JPN-GSOMIA", "TISA", "USA-JPN-GSOMIA", "USA-KOR-GSOMIA"]


def test_the_examples_world_loads_events_items_and_consents():
    """Events keep their position; absent item keys take their defaults; consent dates are days."""
    spec = load_spec(WORLDS / "examples.yaml")
    assert spec.events == (Event(date(2019, 8, 23), "KOR-JPN-GSOMIA", "notice", by="KOR", index=0),)
    assert spec.items[0] == Item("K-MSL-1", "KOR", "KR-II", ("dprk-missile",))
    assert spec.items[3].caveats == ("NOFORN",)
    assert spec.items[4].releasable_to == ("JPN",)
    assert spec.items[0].releasable_to is None
    assert spec.consents == (
        Consent("JPN", "USA", item="K-MSL-1", valid_from=date(2019, 1, 1), valid_until=date(2019, 12, 31)),
    )


def test_no_and_on_as_party_ids_stay_strings(tmp_path):
    """YAML 1.2: Norway is ``NO``, not false, and ``ON`` and ``yes`` are text too."""
    text = BASE.replace("KOR", "NO").replace("JPN", "ON").replace("KR-II", "yes")
    spec = load_spec(write(tmp_path, text))
    assert [p.id for p in spec.parties] == ["NO", "ON"]
    assert spec.parties[0].levels[0].id == "yes"
    assert spec.agreements[0].parties == ("NO", "ON")
    assert spec.agreements[0].equivalence[0].cells == (("NO", ("yes",)), ("ON", ("JP-HI",)))
    assert all(type(p.id) is str for p in spec.parties)


def test_unquoted_numbers_and_dates_used_as_ids_keep_their_text(tmp_path):
    """``id: 007`` is the id "007", not the number 7."""
    text = edited("{id: KR-II, marking: II}", "{id: 007, marking: 2019-01-01}")
    text = edited("{KOR: KR-II,", "{KOR: 007,", text).replace("level: KR-II", "level: 007")
    spec = load_spec(write(tmp_path, text))
    assert spec.parties[0].levels[0] == Level("007", "KOR", "2019-01-01", 0)
    assert spec.items[0].level == "007"


def test_an_amend_to_scope_any_sets_scope_any(tmp_path):
    """An amend writing ``scope: any`` is told apart from one leaving the scope alone."""
    text = edited("kind: notice, by: KOR}", "kind: amend, scope: any}")
    event = load_spec(write(tmp_path, text)).events[0]
    assert (event.kind, event.scope, event.scope_any, event.equivalence) == ("amend", None, True, None)


def test_an_amend_to_a_table_carries_the_new_rows(tmp_path):
    """An amend with equivalence carries its rows, and its scope stays unchanged."""
    text = edited("kind: notice, by: KOR}", "kind: amend, equivalence: [{KOR: KR-II, JPN: [JP-HI]}]}")
    event = load_spec(write(tmp_path, text)).events[0]
    assert event.equivalence == (EquivalenceRow((("KOR", ("KR-II",)), ("JPN", ("JP-HI",)))),)
    assert (event.scope, event.scope_any) == (None, False)


def test_absent_optional_keys_take_their_defaults(tmp_path):
    """No term means indefinite; no renewal means none; no notice period means 0d; no name means ''."""
    spec = load_spec(write(tmp_path, edited("    term: 1y\n", "")))
    agreement = spec.agreements[0]
    assert (agreement.term, agreement.renewal, agreement.notice_period) == (None, False, Duration(0, "d"))
    assert (agreement.scope, agreement.conduit, agreement.hops, agreement.name) == (None, None, (), "")
    assert spec.name == ""


def test_a_notice_period_of_zero_days_is_allowed(tmp_path):
    """Unlike a term, a notice period may be zero."""
    spec = load_spec(write(tmp_path, edited("term: 1y", "term: 1y\n    notice_period: 0d")))
    assert spec.agreements[0].notice_period == Duration(0, "d")


def test_only_gsomia_and_parties_are_required(tmp_path):
    """A world with no agreements, events, items or consents loads as empty sections."""
    spec = load_spec(write(tmp_path, "gsomia: 1\nparties: []\n"))
    assert (spec.parties, spec.agreements, spec.events, spec.items, spec.consents) == ((), (), (), (), ())


def test_spec_from_data_accepts_plain_python_values():
    """Data already parsed elsewhere (dates as date objects or text) builds the same spec."""
    data = {
        "gsomia": 1,
        "parties": [{"id": "A", "levels": [{"id": "A1", "marking": "a"}]}, {"id": "B", "levels": []}],
        "agreements": [
            {"id": "AB", "kind": "treaty", "parties": ["A", "B"], "entry_into_force": date(2020, 1, 1)},
        ],
        "consents": [
            {"topic": "t", "originator": "A", "holder": "B", "recipient": "A", "until": "2021-01-01"}
        ],
    }
    spec = spec_from_data(data)
    assert spec.agreements[0].entry_into_force == date(2020, 1, 1)
    assert spec.consents[0] == Consent("B", "A", topic="t", originator="A", valid_until=date(2021, 1, 1))
