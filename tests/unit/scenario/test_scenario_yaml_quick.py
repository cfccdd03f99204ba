"""The quick road for a YAML file's items reads what the YAML loader reads, and errors still name lines."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.domain.errors import ScenarioError
from gsomia.domain.model import Item
from gsomia.ledger.canonical import canonical
from gsomia.scenario.source import _loader, parse_text
from gsomia.scenario.yamlitems import quick_items
from gsomia.services.worldbook import _ItemText
from gsomia.services.worlddata import item_data

HEAD = "gsomia: 1\nparties:\n- id: K\n  levels:\n  - {id: K-1, marking: secret}\n"

words = st.sampled_from(["a", "K-1", "x_y", "naval", "군사II급", "nullx", "truth", "a.b/c", "IT0000001"])
odd = st.sampled_from(["null", "true", "1", "2019-01-01", "'q'", '"d"', "a b", "~", "-", "x # c"])
keys = st.sampled_from(["id", "originator", "level", "topics", "caveats", "releasable_to", "extra"])
values = st.one_of(words, st.lists(words, max_size=3), odd)


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value if value is None else (type(value).__name__ == "Plain", str(value))


def _scalar(value: object) -> str:
    return "[" + ", ".join(value) + "]" if isinstance(value, list) else str(value)


def _text(entries: list[dict[str, object]], flow: bool, indent: str, after: str) -> str:
    lines = []
    for entry in entries:
        pairs = [f"{k}: {_scalar(v)}" for k, v in entry.items()]
        if flow:
            lines.append(f"{indent}- {{{', '.join(pairs)}}}\n")
        else:
            lines += [f"{indent}{'- ' if n == 0 else '  '}{p}\n" for n, p in enumerate(pairs)]
    return HEAD + "items:\n" + "".join(lines) + after


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.dictionaries(keys, values, min_size=1, max_size=4), min_size=1, max_size=4),
    st.booleans(),
    st.sampled_from(["", "  "]),
    st.sampled_from(["", "consents: []\n", "name: after\n"]),
)
def test_the_quick_road_reads_what_the_yaml_loader_reads(entries, flow, indent, after):
    """Whatever the items hold, the data read is the YAML loader's (or the loader reads the file itself)."""
    text = _text(entries, flow, indent, after)
    try:
        expected = _plain(_loader().load(text))
    except Exception:
        with pytest.raises(ScenarioError):
            parse_text(text, "w.yaml")
        return
    assert _plain(parse_text(text, "w.yaml").data) == expected


def test_plain_items_take_the_quick_road_and_their_lines_are_found():
    """A generated items list is read on the quick road; an item's key and a later key keep their lines."""
    text = HEAD + "items:\n- id: A\n  originator: K\n- id: B\n  level: K-1\n  topics: [a, b]\nname: w\n"
    assert quick_items(text) is not None
    source = parse_text(text, "w.yaml")
    assert source.lines is not None
    assert source.lines(("items", 1, "topics")) == 11
    assert source.lines(("items", 1)) == 9
    assert source.lines(("name",)) == 12
    assert source.lines(("parties", 0, "levels")) == 4


def test_a_comment_or_quote_sends_the_file_to_the_yaml_loader():
    """Anything outside the strict form is read by the YAML loader, as before."""
    for item in ("- id: A # note\n", "- id: 'A'\n", "- id: A\n  id: B\n", "- id: null\n"):
        assert quick_items(HEAD + "items:\n" + item) is None


def test_an_error_in_a_quick_item_names_its_line():
    """An item read on the quick road that the reader refuses is reported at its line."""
    from gsomia.scenario.loader import _load

    path_text = (
        HEAD + "items:\n- id: A\n  originator: K\n  level: K-1\n- id: B\n  originator: K\n  colour: red\n"
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.yaml"
        path.write_text(path_text, encoding="utf-8")
        with pytest.raises(ScenarioError) as caught:
            _load(path)
    assert caught.value.line == 12


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=8),
    st.lists(st.text(min_size=1, max_size=5), max_size=3),
    st.one_of(st.none(), st.lists(st.text(min_size=1, max_size=5), max_size=2)),
)
def test_item_texts_are_the_canonical_bytes(ident, topics, releasable):
    """An import's item text, built from its class's, is canonical(item_data(item))."""
    encode = _ItemText()
    for n in range(2):  # the second from the class's parts
        item = Item(
            ident + str(n), "K", "K-1", tuple(topics), None if releasable is None else tuple(releasable)
        )
        data = item_data(item)
        try:
            expected = canonical(data)
        except Exception:
            continue
        assert encode(item, data) == expected
