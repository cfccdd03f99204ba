"""Whatever text a world file holds, loading it gives a WorldSpec or a ScenarioError, never a traceback."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.domain.errors import ScenarioError
from gsomia.domain.model import WorldSpec
from gsomia.scenario import spec_from_data
from gsomia.scenario.source import parse_text

from .sample import BASE, WORLDS

EXAMPLES_JSON = (WORLDS / "examples.json").read_text(encoding="utf-8")


def load_text(text: str, file: str) -> WorldSpec | ScenarioError:
    try:
        source = parse_text(text, file)
        return spec_from_data(source.data, file=file, lines=source.lines)
    except ScenarioError as error:
        return error


def mutated(text: str, at: int, span: int, insert: str) -> str:
    start = at % (len(text) + 1)
    return text[:start] + insert + text[start + span :]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(0, 8), st.text(max_size=8))
def test_an_edited_yaml_world_loads_or_fails_with_a_scenario_error(at, span, insert):
    """Any small edit of a valid YAML world yields a spec or a ScenarioError."""
    result = load_text(mutated(BASE, at, span, insert), "world.yaml")
    assert isinstance(result, WorldSpec | ScenarioError)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(0, 8), st.text(max_size=8))
def test_an_edited_json_world_loads_or_fails_with_a_scenario_error(at, span, insert):
    """Any small edit of a valid JSON world yields a spec or a ScenarioError."""
    result = load_text(mutated(EXAMPLES_JSON, at, span, insert), "world.json")
    assert isinstance(result, WorldSpec | ScenarioError)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_loads_or_fails_with_a_scenario_error(text):
    """Even text that is not a world at all yields a ScenarioError."""
    assert isinstance(load_text(text, "world.yaml"), WorldSpec | ScenarioError)
