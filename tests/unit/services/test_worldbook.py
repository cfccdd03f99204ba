"""The node's world: the replay of its records; every change validated as the loader would."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsomia.domain.errors import ScenarioError, WorldError
from gsomia.scenario import load_spec, spec_from_data
from gsomia.services.errors import ServiceError

from .conftest import EXAMPLES, snapshot

KOREA_JAPAN = Path(__file__).parents[3] / "src" / "gsomia" / "scenarios" / "korea-japan-2019.yaml"


@pytest.mark.parametrize("world", [EXAMPLES, KOREA_JAPAN], ids=["examples", "korea-japan-2019"])
def test_import_then_export_gives_the_same_world_spec(empty, world):
    """Round trip: export of an imported world reads back into an equal WorldSpec."""
    empty.import_world(world)
    assert spec_from_data(empty.worldbook.export_world()) == load_spec(world)


def test_export_keeps_equivalence_rows_in_the_order_written(empty, tmp_path):
    """A row written JPN first comes back JPN first, whatever order the store keeps keys in."""
    text = EXAMPLES.read_text(encoding="utf-8").replace(
        "{KOR: KR-II, JPN: [JP-GOKUHI, JP-TOKUTEI]}", "{JPN: [JP-GOKUHI, JP-TOKUTEI], KOR: KR-II}"
    )
    world = tmp_path / "reordered.yaml"
    world.write_text(text, encoding="utf-8")
    empty.import_world(world)
    exported = empty.worldbook.export_world()
    assert list(exported["agreements"][0]["equivalence"][0]) == ["JPN", "KOR"]
    assert spec_from_data(exported) == load_spec(world)


def test_the_node_world_decides_as_the_loaded_world_does(node):
    """Decisions on the node's world equal those on the world file, for every item and party."""
    from gsomia import load_world

    loaded = load_world(EXAMPLES)
    mine = node.worldbook.full_world()
    for item in loaded.items:
        for to in ("KOR", "JPN", "USA"):
            if to != loaded.items[item].originator:
                assert (
                    mine.decide(item, to, "2019-12-01").to_dict()
                    == loaded.decide(item, to, "2019-12-01").to_dict()
                )


def test_an_invalid_world_file_is_refused_naming_the_file_and_line_and_nothing_is_written(empty, tmp_path):
    """An import is all or nothing; its errors point into the file."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLES.read_text(encoding="utf-8").replace("level: KR-II, topics: [naval]", "level: KR-9")
    )
    before = snapshot(empty.store)
    with pytest.raises(ScenarioError, match=r"bad\.yaml:\d+: items\[1\]\.level"):
        empty.import_world(bad)
    assert snapshot(empty.store) == before


def test_importing_a_world_twice_is_refused_as_a_whole(node):
    """The second import would repeat every id: refused, nothing written."""
    before = snapshot(node.store)
    with pytest.raises(WorldError, match=r"party 'KOR'.*used twice"):
        node.import_world(EXAMPLES)
    assert snapshot(node.store) == before


def test_a_party_is_added_and_validated(node):
    """A new party joins the world; a level id already used elsewhere is refused, nothing written."""
    record = node.worldbook.add_party({"id": "AUS", "levels": [{"id": "AU-S", "marking": "SECRET"}]})
    assert record.data == {"id": "AUS", "name": "AUS", "levels": [{"id": "AU-S", "marking": "SECRET"}]}
    assert "AUS" in node.worldbook.world().parties
    before = snapshot(node.store)
    with pytest.raises(WorldError, match="party 'GBR', levels\\[0\\]\\.id: level id 'US-S' is already used"):
        node.worldbook.add_party({"id": "GBR", "levels": [{"id": "US-S", "marking": "UK SECRET"}]})
    with pytest.raises(WorldError, match="unknown key 'colour'"):
        node.worldbook.add_party({"id": "GBR", "levels": [], "colour": "red"})
    assert snapshot(node.store) == before


def test_an_agreement_is_added_in_normalized_form_and_a_bad_one_names_its_file_line(node, tmp_path):
    """Agreements are stored as validated; a bad one read from a file is located in that file."""
    entry = {"id": "AUS-USA", "kind": "treaty", "parties": ["USA", "KOR"], "entry_into_force": "2020-01-01"}
    record = node.worldbook.add_agreement(entry)
    assert record.data["renewal"] == "none"
    assert record.data["scope"] == "any"
    from gsomia.scenario.source import read_source

    path = tmp_path / "agreement.yaml"
    path.write_text("id: X\nkind: treaty\nparties: [USA, JPN]\nentry_into_force: 2020-01-01\nterm: 0y\n")
    source = read_source(path)
    before = snapshot(node.store)
    with pytest.raises(ScenarioError, match=r"agreement\.yaml:5: term: '0y' is a term of zero length"):
        node.worldbook.add_agreement(source.data, file=str(path), lines=source.lines)
    assert snapshot(node.store) == before


def test_past_worlds_can_be_rebuilt_from_the_records(node):
    """world_as_of(seq) is the world before later records: an event added later is not in it."""
    with node.store.read() as uow:
        last = uow.records()[-1].seq
    node.events.add_event("KOR-JPN-GSOMIA", "withdraw-notice", "2019-10-01")
    assert node.worldbook.world_as_of(last).state("KOR-JPN-GSOMIA", "2020-01-01").state == "terminated"
    assert node.worldbook.world().state("KOR-JPN-GSOMIA", "2020-01-01").state == "in-force"


def test_items_hold_bodies_only_sealed_and_a_body_is_never_replaced(node):
    """attach_body gives a metadata-only item its body once; a second time is refused."""
    node.items.attach_body("K-MSL-1", b"missile report")
    assert node.items.body("K-MSL-1") == b"missile report"
    with node.store.read() as uow:
        sealed = uow.get_body("K-MSL-1")
    assert sealed is not None
    assert b"missile report" not in sealed.ciphertext
    with pytest.raises(ServiceError, match="never replaced"):
        node.items.attach_body("K-MSL-1", b"other")
    with pytest.raises(ServiceError, match="unknown item"):
        node.items.attach_body("NO-SUCH", b"x")
    assert {v.data["id"]: v.has_body for v in node.items.items()}["K-MSL-1"]


def test_an_invalid_item_is_refused_with_its_body_unwritten(node):
    """An item whose level is not its originator's: WorldError, no record, no body."""
    before = snapshot(node.store, ("K-BAD",))
    with pytest.raises(WorldError, match="item 'K-BAD', level: level 'JP-HI' is not one of KOR's levels"):
        node.items.add_item("K-BAD", "KOR", "JP-HI", ["naval"], body=b"secret")
    assert snapshot(node.store, ("K-BAD",)) == before


def test_a_rolled_back_change_never_leaves_a_stale_world_behind(node):
    """A world read inside a unit of work that then fails is not reused once other records take its place."""

    def add_then_fail() -> None:
        with node.store.begin() as uow:
            node.worldbook.add_in(uow, "party", {"id": "AUS", "levels": [{"id": "AU-S", "marking": "S"}]})
            assert "AUS" in node.worldbook.world_in(uow).parties
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        add_then_fail()
    node.worldbook.add_party({"id": "GBR", "levels": [{"id": "UK-S", "marking": "S"}]})
    assert set(node.worldbook.world().parties) == {"KOR", "JPN", "USA", "GBR"}
