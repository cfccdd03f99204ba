"""The web UI's SVG charts: what they show is what the world says, and they are safe, accessible XML."""

from __future__ import annotations

import importlib.resources
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import get_args

import pytest

import gsomia
from gsomia.domain.impact import Change, ImpactReport
from gsomia.domain.lifecycle import IN_FORCE_STATES, State
from gsomia.domain.model import Agreement, Duration, Event, Item, Level, Party, WorldSpec
from gsomia.domain.world import World
from gsomia.web.charts import STATE_COLOURS, ChartError, impact_svg, network_svg, timeline_svg
from gsomia.web.charts.svg import el, escape_text, render
from tests.factories import bilateral, event, table, two_party_world

NS = "{http://www.w3.org/2000/svg}"
GSOMIA = "KOR-JPN-GSOMIA"
UNDO = {"suspend-notice", "resume-notice", "withdraw-notice"}


@pytest.fixture(scope="module")
def world() -> World:
    resource = importlib.resources.files("gsomia") / "scenarios" / "korea-japan-2019.yaml"
    with importlib.resources.as_file(resource) as path:
        return gsomia.load_world(path)


@pytest.fixture(scope="module")
def counterfactual(world: World) -> World:
    """The world had Korea's 2019 notice taken effect: the events that stopped it never happened."""
    return World(replace(world.spec, events=tuple(e for e in world.spec.events if e.kind not in UNDO)))


def parse(svg: str) -> ET.Element:
    """The chart as an XML tree, after the checks every chart must pass."""
    root = ET.fromstring(svg)
    assert root.tag == NS + "svg"
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root.get("role") == "img"
    assert [c.tag for c in root[:2]] == [NS + "title", NS + "desc"]
    assert (root[0].text or "").strip()
    assert (root[1].text or "").strip()
    for node in root.iter():
        assert node.tag not in (NS + "script", NS + "foreignObject", NS + "image", NS + "use")
        for name, value in node.attrib.items():
            assert "href" not in name, (name, value)
            if not name.startswith("data-"):  # data attributes hold ids verbatim; nothing follows them
                assert "http" not in value, (name, value)
                assert "url(" not in value, (name, value)
    return root


def find(root: ET.Element, **attrs: str) -> list[ET.Element]:
    """Elements whose ``data-*`` attributes (``data_agreement=...``) have the values given."""
    wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
    return [n for n in root.iter() if all(n.get(k) == v for k, v in wanted.items())]


def edge_colour(edge: ET.Element) -> str:
    path = edge.find(NS + "path")
    assert path is not None
    return path.get("stroke", "")


# -- network ----------------------------------------------------------------------------------------


def test_the_gsomia_edge_is_in_force_on_2019_10_01(world: World) -> None:
    root = parse(network_svg(world, date(2019, 10, 1)))
    (edge,) = find(root, data_agreement=GSOMIA)
    state = world.state(GSOMIA, "2019-10-01").state
    assert edge.get("data-state") == state
    assert state in IN_FORCE_STATES
    assert {edge.get("data-from"), edge.get("data-to")} == {"KOR", "JPN"}
    assert edge_colour(edge) == STATE_COLOURS[state]
    title = edge.find(NS + "title")
    assert title is not None
    assert GSOMIA in (title.text or "")
    assert state in (title.text or "")


def test_in_the_counterfactual_the_edge_is_terminated_and_drawn_in_another_colour(
    world: World, counterfactual: World
) -> None:
    day = date(2019, 12, 1)
    (actual,) = find(parse(network_svg(world, day)), data_agreement=GSOMIA)
    (ended,) = find(parse(network_svg(counterfactual, day)), data_agreement=GSOMIA)
    assert counterfactual.state(GSOMIA, day).state == "terminated"
    assert ended.get("data-state") == "terminated"
    assert actual.get("data-state") == world.state(GSOMIA, day).state != "terminated"
    assert edge_colour(ended) != edge_colour(actual)


def test_every_party_is_a_node_and_every_state_has_its_own_colour_in_the_legend(world: World) -> None:
    root = parse(network_svg(world, "2019-10-01"))
    assert sorted(n.get("data-party", "") for n in find(root) if n.get("data-party")) == sorted(world.parties)
    states: tuple[State, ...] = get_args(State)
    legend = [n.get("data-legend") for n in root.iter() if n.get("data-legend")]
    assert [s for s in legend if s != "conduit"] == list(states)
    assert len(set(STATE_COLOURS.values())) == len(states) == len(STATE_COLOURS)


def test_a_conduit_goes_through_its_hub_dashed_and_shared_pairs_do_not_overlap(world: World) -> None:
    root = parse(network_svg(world, "2019-10-01"))
    spokes = find(root, data_agreement="TISA")
    hub = world.timeline("TISA").agreement.conduit
    assert len(spokes) == 2
    assert hub is not None
    for spoke in spokes:
        assert spoke.get("data-conduit") == hub
        assert hub in (spoke.get("data-from"), spoke.get("data-to"))
        path = spoke.find(NS + "path")
        assert path is not None
        assert path.get("stroke-dasharray")
    direct = find(root, data_agreement="USA-KOR-GSOMIA")[0].find(NS + "path")
    via = next(s for s in spokes if "KOR" in (s.get("data-from"), s.get("data-to"))).find(NS + "path")
    assert direct is not None
    assert via is not None
    assert direct.get("d") != via.get("d")
    assert direct.get("stroke-dasharray") is None


def test_an_agreement_not_yet_in_force_is_drawn_as_such(world: World) -> None:
    root = parse(network_svg(world, date(2015, 1, 1)))
    (edge,) = find(root, data_agreement=GSOMIA)
    assert edge.get("data-state") == "not-yet-in-force"


# -- timeline ---------------------------------------------------------------------------------------


def markers(root: ET.Element) -> list[tuple[str, str]]:
    return [(n.get("data-event", ""), n.get("data-date", "")) for n in root.iter() if n.get("data-event")]


def test_the_counterfactual_timeline_shows_the_notice_and_the_end(counterfactual: World) -> None:
    timeline = counterfactual.timeline(GSOMIA)
    root = parse(timeline_svg(timeline))
    notices = [(e.kind, e.date.isoformat()) for e in counterfactual.spec.events if e.agreement == GSOMIA]
    assert markers(root) == notices
    assert ("notice", "2019-08-23") in markers(root)
    assert timeline.end is not None
    ended = [b for b in find(root, data_state="terminated") if b.tag == NS + "rect"]
    assert [b.get("data-from") for b in ended] == [timeline.end.isoformat()]


def test_the_actual_timeline_marks_each_event_of_the_world(world: World) -> None:
    root = parse(timeline_svg(world.timeline(GSOMIA)))
    expected = [(e.kind, e.date.isoformat()) for e in world.spec.events if e.agreement == GSOMIA]
    assert markers(root) == expected
    bars = [b for b in root.iter() if b.tag == NS + "rect" and b.get("data-state")]
    segments = world.timeline(GSOMIA).segments
    assert [b.get("data-state") for b in bars] == ["not-yet-in-force", *(s.state for s in segments)]
    for bar in bars:
        title = bar.find(NS + "title")
        assert title is not None
        assert bar.get("data-state", "") in (title.text or "")


def test_the_axis_has_a_tick_for_each_year_in_view(world: World) -> None:
    root = parse(timeline_svg(world.timeline(GSOMIA), date(2016, 1, 1), date(2025, 1, 1)))
    years = [int(n.get("data-year", "")) for n in root.iter() if n.get("data-year")]
    assert years == list(range(2016, 2026))


def test_terminate_resume_and_amend_events_are_marked() -> None:
    events = (
        event("2001-01-10", "notice", by="A"),
        event("2001-01-20", "suspend-notice", by="B"),
        event("2001-02-01", "resume-notice", by="A"),
        event("2001-03-01", "amend", scope=("t", "u")),
        event("2001-04-01", "terminate"),
    )
    agreement = bilateral(notice_period=Duration(1, "y"))
    w = two_party_world(agreement, *events)
    root = parse(timeline_svg(w.timeline("A-B")))
    assert markers(root) == [(e.kind, e.date.isoformat()) for e in events]


def test_a_short_term_over_a_long_range_does_not_draw_a_smear_of_terms() -> None:
    w = two_party_world(bilateral(term=Duration(1, "d"), renewal=True))
    root = parse(timeline_svg(w.timeline("A-B"), date(1, 1, 1), date.max))
    assert not [n for n in root.iter() if n.get("data-term")]
    assert len([n for n in root.iter() if n.get("data-year")]) <= 13
    yearly = parse(timeline_svg(two_party_world(bilateral(term=Duration(1, "y"))).timeline("A-B")))
    assert [n.get("data-term") for n in yearly.iter() if n.get("data-term")] == ["1"]


# -- impact -----------------------------------------------------------------------------------------


def test_the_impact_chart_shows_the_reports_numbers(world: World) -> None:
    report = world.impact(Change("terminate", date(2019, 11, 23), GSOMIA))
    root = parse(impact_svg(report))
    kinds = {n.get("data-kind", ""): n for n in root.iter() if n.get("data-kind")}
    assert sorted(kinds) == sorted(["kept", "rerouted", "lost", "gained"])
    for kind, node in kinds.items():
        assert node.get("data-count") == str(report.counts[kind])
        counts = [t.text for t in node.iter(NS + "text") if t.get("class") == "count"]
        assert counts == [str(report.counts[kind])]
    assert sum(report.counts[k] for k in kinds) > 0  # the scenario changes something
    assert str(report.pairs) in "".join(root.itertext())


def test_a_report_that_lies_about_its_counts_is_refused(world: World) -> None:
    report = world.impact(Change("terminate", date(2019, 11, 23), GSOMIA))
    for bad in (-1, "3", 2.5, True):
        lying = ImpactReport(report.change, report.at)
        lying.counts["lost"] = bad  # type: ignore[assignment]
        with pytest.raises(ChartError, match="lost"):
            impact_svg(lying)


# -- safety, determinism, bad input ------------------------------------------------------------------

HOSTILE_A = "<A&\"1'>"
HOSTILE_B = "B]]></svg><script>x</script>"
HOSTILE_AGREEMENT = '"><a href="http://x">&amp;'


def hostile_world() -> World:
    parties = (
        Party(HOSTILE_A, "Ünïcødé & <co>", (Level("a1", HOSTILE_A, "極秘", 0),)),
        Party(HOSTILE_B, "", (Level("b1", HOSTILE_B, "군사II급비밀", 0),)),
    )
    agreement = Agreement(
        id=HOSTILE_AGREEMENT,
        kind="treaty",
        parties=(HOSTILE_A, HOSTILE_B),
        entry_into_force=date(2010, 1, 1),
        term=Duration(1, "y"),
        renewal=True,
        notice_period=Duration(30, "d"),
        equivalence=table({HOSTILE_A: "a1", HOSTILE_B: "b1"}),
        name="<b>bold</b> & 極秘",
    )
    notice = Event(date(2012, 5, 1), HOSTILE_AGREEMENT, "notice", by=HOSTILE_A)
    item = Item("<i>", HOSTILE_A, "a1", ("t",))
    return World(WorldSpec("<w>", parties, (agreement,), (notice,), (item,)))


def test_hostile_ids_and_markings_in_any_script_are_escaped() -> None:
    w = hostile_world()
    net = network_svg(w, date(2012, 6, 1))
    root = parse(net)
    assert sorted(n.get("data-party", "") for n in find(root) if n.get("data-party")) == sorted(
        [HOSTILE_A, HOSTILE_B]
    )
    (edge,) = find(root, data_agreement=HOSTILE_AGREEMENT)
    assert edge.get("data-state") == "notice-pending"
    assert "<script>" not in net
    assert HOSTILE_AGREEMENT not in net
    texts = "".join(root.itertext())
    assert "<b>bold</b> & 極秘" in texts

    line = parse(timeline_svg(w.timeline(HOSTILE_AGREEMENT)))
    assert ("notice", "2012-05-01") in markers(line)
    assert HOSTILE_A in "".join(line.itertext())

    report = w.impact(Change("terminate", date(2012, 3, 1), HOSTILE_AGREEMENT))
    assert HOSTILE_AGREEMENT in "".join(parse(impact_svg(report)).itertext())


def test_text_xml_cannot_hold_is_replaced_not_emitted() -> None:
    svg = render(el("text", "a\x00b\x1bc\ufffe", data_x="\x01\n\t\"'"))
    node = ET.fromstring(svg)
    assert node.text == "a\ufffdb\ufffdc\ufffd"
    assert node.get("data-x") == "\ufffd\n\t\"'"
    assert escape_text("극비 & 極秘 < >") == "극비 &amp; 極秘 &lt; &gt;"


def test_the_same_input_gives_the_same_bytes(world: World) -> None:
    again = World(world.spec)
    shuffled = World(replace(world.spec, parties=world.spec.parties[::-1]))
    day = date(2019, 10, 1)
    assert network_svg(world, day) == network_svg(again, day) == network_svg(shuffled, day)
    assert timeline_svg(world.timeline(GSOMIA)) == timeline_svg(again.timeline(GSOMIA))
    change = Change("terminate", date(2019, 11, 23), GSOMIA)
    assert impact_svg(world.impact(change)) == impact_svg(again.impact(change))
    assert network_svg(world, day) != network_svg(world, date(2019, 12, 1))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda w: network_svg("world", date(2019, 1, 1)), "World"),  # type: ignore[arg-type]
        (lambda w: network_svg(w, "2019-13-01"), "not a day"),
        (lambda w: network_svg(w, datetime(2019, 1, 1, 12)), "not a date and time"),
        (lambda w: network_svg(w, 20190101), "not a day"),  # type: ignore[arg-type]
        (lambda w: timeline_svg(w), "Timeline"),
        (lambda w: timeline_svg(w.timeline(GSOMIA), date(2020, 1, 1), date(2020, 1, 1)), "before the end"),
        (lambda w: timeline_svg(w.timeline(GSOMIA), "soon"), "not a day"),
        (lambda w: impact_svg({"kept": 1}), "ImpactReport"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_a_chart_error(world: World, call: Callable[[World], str], words: str) -> None:
    with pytest.raises(ChartError, match=words) as caught:
        call(world)
    assert isinstance(caught.value, gsomia.GsomiaError)
