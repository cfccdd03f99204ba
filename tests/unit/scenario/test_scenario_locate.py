"""Domain errors about a loaded world come back pointing at the line of the file."""

from __future__ import annotations

import sys
import types

import pytest

from gsomia.domain.errors import LifecycleError, ScenarioError, WorldError
from gsomia.domain.model import WorldSpec
from gsomia.scenario import load_world, locate
from gsomia.scenario.source import parse_text

from .sample import BASE, WORLDS, assert_points_at, edited, write


def test_locate_names_the_line_of_a_party_in_an_equivalence_row():
    """A path ending in a row's party id points at that row's line."""
    error = WorldError("level 'JP-HI' is already in row 1", ("agreements", 0, "equivalence", 0, "JPN"))
    located = locate(error, "world.yaml", BASE)
    assert str(located) == (
        "world.yaml:16: agreements[0].equivalence[0].JPN: level 'JP-HI' is already in row 1"
    )


def test_locate_falls_back_to_the_closest_key_that_exists():
    """A path to a key the file leaves out points at the entry that lacks it."""
    error = WorldError("renewal without a term", ("agreements", 0, "renewal"))
    assert locate(error, "world.yaml", BASE).line == 10


def test_locate_takes_a_line_map_as_well_as_text():
    """The line map of a parsed source gives the same answer as the text."""
    lines = parse_text(BASE, "world.yaml").lines
    error = WorldError("unknown party 'XYZ'", ("items", 0, "originator"))
    assert locate(error, "world.yaml", lines).line == 20


def test_locate_without_a_source_still_names_file_and_key():
    """With no text to search, the error still names the file and the key."""
    located = locate(WorldError("bad", ("events", 0, "by")), "world.yaml", None)
    assert isinstance(located, ScenarioError)
    assert str(located) == "world.yaml: events[0].by: bad"


def test_load_world_turns_a_domain_error_into_a_scenario_error(tmp_path, monkeypatch):
    """Whatever World.from_spec raises with a path is reported at that path's line."""

    class World:
        @classmethod
        def from_spec(cls, spec: WorldSpec) -> World:
            raise LifecycleError("notice is already pending", ("events", 0, "kind"))

    fake = types.ModuleType("gsomia.domain.world")
    fake.World = World  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gsomia.domain.world", fake)
    path = write(tmp_path, BASE)
    with pytest.raises(ScenarioError) as caught:
        load_world(path)
    assert_points_at(caught.value, path, 18, "events[0].kind")
    assert isinstance(caught.value.__cause__, LifecycleError)


def test_load_world_reports_an_unknown_party_at_its_line(tmp_path):
    """The domain's own validation names the party; the loader adds the file and line."""
    path = write(tmp_path, edited("parties: [KOR, JPN]", "parties: [KOR,\n      XYZ]"))
    with pytest.raises(ScenarioError) as caught:
        load_world(path)
    assert_points_at(caught.value, path, 13, "agreements[0].parties[1]")
    assert "XYZ" in str(caught.value)


def test_load_world_loads_the_examples_world():
    """The worked-example world loads, validates and compiles."""
    world = load_world(WORLDS / "examples.yaml")
    assert world is not None
