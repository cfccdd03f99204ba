"""Drawing the demo story (:mod:`gsomia.cli.story`) with Rich: a handful of tables read top to bottom.

1. who: the parties and their levels;
2. when: each agreement's states, what happened beside what would have happened;
3. what changed on the turning day, side by side: the table the story is for;
4. key days: each item's fate on each day, in both worlds;
5. in short: three lines that say it in words.
"""

from __future__ import annotations

from datetime import date

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..domain.decision import Decision
from ..domain.lifecycle import State, Timeline
from ..domain.model import Item
from ..domain.world import World
from .decisions import marking_text
from .story import Change, Kind, Row, Story, route_label
from .timelines import STATE_STYLE, scope_text, state_text

KIND_STYLE: dict[Kind, str] = {
    "unchanged": "green",
    "re-routed": "bold yellow",
    "lost": "bold red",
    "gained": "bold green",
    "never": "dim",
}
CF_TITLE = "Had the notice taken effect"
SHORT_STATE: dict[State, str] = {
    "not-yet-in-force": "not yet",
    "in-force": "in force",
    "notice-pending": "notice",
    "notice-suspended": "disputed",
    "terminated": "ended",
    "expired": "expired",
}


def draw(story: Story, console: Console) -> None:
    name = story.actual.spec.name or "a world"
    console.print(Panel(Text(_intro(story)), title=f"gsomia demo: {name}", title_align="left", expand=False))
    console.print(_parties(story.actual))
    console.print(_agreements(story))
    if story.turning_day is not None:
        console.print(_changes(story, story.turning_day))
    console.print(_key_days(story))
    if story.turning_day is None:
        console.print(Text("No notice in this world takes effect differently: nothing changes.", style="dim"))
        return
    console.print(_in_short(story))


def _intro(story: Story) -> str:
    if not story.noticed:
        return "This world has no notice of termination: both worlds below are the same."
    told = [sentence for aid in story.noticed for sentence in _what_happened(story, aid)]
    return " ".join(
        [
            *told,
            "Below, what happened beside what would have happened had every notice taken effect "
            "(suspensions and withdrawals removed).",
        ]
    )


EVENT_VERBS = {
    "suspend-notice": "suspended the notice, conditionally: the agreement stayed in force, disputed",
    "resume-notice": "resumed the notice",
    "withdraw-notice": "withdrew the notice: the agreement plainly in force again",
}


def _what_happened(story: Story, aid: str) -> list[str]:
    """``On 2019-08-23 Republic of Korea (KOR) gave notice to end KOR-JPN-GSOMIA, effective 2019-11-23.``"""
    world = story.actual
    events = sorted((e for e in world.spec.events if e.agreement == aid), key=lambda e: (e.date, e.index))
    out: list[str] = []
    for event in events:
        who = _party_name(world, event.by)
        if event.kind == "notice":
            end = story.counterfactual.timeline(aid).end
            effective = f", to take effect on {end.isoformat()}" if end is not None else ""
            out.append(f"On {event.date.isoformat()} {who} gave notice to end {aid}{effective}.")
        elif event.kind in EVENT_VERBS:
            out.append(f"On {event.date.isoformat()} {who} {EVENT_VERBS[event.kind]}.")
    return out


def _party_name(world: World, party: str | None) -> str:
    found = next((p for p in world.spec.parties if p.id == party), None)
    if found is None:
        return party or "a party"
    return f"{found.name} ({found.id})" if found.name and found.name != found.id else found.id


def _parties(world: World) -> Table:
    table = Table(title="Parties and levels (lowest first)", title_justify="left", show_lines=True)
    table.add_column("Party", no_wrap=True, style="bold")
    table.add_column("Name")
    table.add_column("Levels")
    for party in world.spec.parties:
        levels = "\n".join(f"{lv.id} {lv.marking}" for lv in party.levels)
        table.add_row(party.id, party.name, levels)
    return table


# -- agreements -----------------------------------------------------------------------------------------


def _agreements(story: Story) -> Table:
    table = Table(title="Agreements", title_justify="left", show_lines=True)
    table.add_column("Agreement", overflow="fold")
    table.add_column("What happened")
    table.add_column(CF_TITLE)
    first = {aid: n for n, aid in enumerate(story.noticed)}
    ordered = sorted(
        story.actual.timelines.values(),
        key=lambda t: (first.get(t.agreement.id, len(first)), t.agreement.entry_into_force),
    )
    for timeline in ordered:
        other = story.counterfactual.timeline(timeline.agreement.id)
        cf = _states(other) if other.segments != timeline.segments else Text("the same", style="dim")
        table.add_row(_agreement_label(timeline), _states(timeline), cf)
    return table


def _agreement_label(timeline: Timeline) -> Text:
    a = timeline.agreement
    notes = [f"{a.kind}, {', '.join(a.parties)}"]
    if a.conduit:
        notes.append(f"conduit {a.conduit}")
    scope = timeline.versions[0].scope
    if scope is not None:
        notes.append(f"scope: {scope_text(scope)}")
    return Text.assemble((a.id, "bold"), *[("\n" + note, "dim") for note in notes])


def _states(timeline: Timeline) -> Text:
    lines: list[Text] = []
    for seg in timeline.segments:
        lines.append(Text.assemble(seg.start.isoformat(), " ", state_text(seg.state)))
        if seg.cause != "entry into force":
            lines.append(Text("  " + seg.cause.removesuffix(" (disputed)"), style="dim"))
    return Text("\n").join(lines)


# -- decisions ------------------------------------------------------------------------------------------


def _item_label(item: Item, to: str) -> Text:
    notes = [item.level, *item.topics, *item.caveats]
    if item.releasable_to is not None:
        notes.append("REL " + ", ".join(item.releasable_to))
    return Text.assemble((f"{item.id} → {to}", "bold"), "\n", (" · ".join(notes), "dim"))


def _short(decision: Decision) -> Text:
    if decision.allowed:
        return Text(f"✓ {route_label(decision.route)}", style="green")
    return Text("✗ denied", style="red")


LABEL_WIDTH = 12  # the key days' first column: five dates beside it fit 80 columns


def fit(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` with each word longer than ``width`` broken after a hyphen: ``KOR-JPN-`` / ``GSOMIA``."""
    words = []
    for word in text.split(" "):
        pieces: list[str] = []
        while len(word) > width and "-" in word[1:width]:
            cut = word.rindex("-", 1, width) + 1
            pieces.append(word[:cut])
            word = word[cut:]
        words.append("\n".join([*pieces, word]))
    return " ".join(words)


def _key_days(story: Story) -> Table:
    table = Table(
        title="Releases on key days",
        title_justify="left",
        caption=f"each cell: what happened, then {CF_TITLE.lower()}; * marks where the two differ",
        caption_justify="left",
        pad_edge=False,
    )
    table.add_column("Item → to", min_width=LABEL_WIDTH, overflow="fold")
    for day in story.days:
        table.add_column(day.isoformat(), min_width=10, overflow="fold")
    for aid in story.noticed:
        label = Text(fit(aid), style="italic")
        table.add_row(label, *[_agreement_states(story, aid, day) for day in story.days])
    table.add_section()
    for row in story.rows:
        table.add_row(_key_label(row.item, row.recipient), *_cells(row))
    return table


def _key_label(item: Item, to: str) -> Text:
    notes = fit(" · ".join([item.level, *item.topics, *item.caveats]))
    return Text.assemble((f"{item.id} → {to}", "bold"), "\n", (notes, "dim"))


def _agreement_states(story: Story, aid: str, day: date) -> Text:
    lines = []
    for world in (story.actual, story.counterfactual):
        state = world.state(aid, day).state
        lines.append(Text(SHORT_STATE[state], style=STATE_STYLE[state]))
    return Text("\n").join(lines)


def _cells(row: Row) -> list[Text]:
    cells: list[Text] = []
    for actual, counterfactual in zip(row.actual, row.counterfactual, strict=True):
        second = _short(counterfactual)
        same = (actual.allowed, actual.route) == (counterfactual.allowed, counterfactual.route)
        if same:
            second.stylize("dim")
        else:
            second.append("*", style="bold")
        cells.append(Text("\n").join([_short(actual), second]))
    return cells


def _full(world: World, decision: Decision) -> Text:
    if not decision.allowed:
        return Text("✗ denied", style="red")
    return Text.assemble(
        ("✓ " + " → ".join(decision.route), "green"),
        "\n",
        marking_text(world, decision.marking),
        "\n",
        ("under " + decision.agreements[0], "dim"),
    )


def _changes(story: Story, day: date) -> Table:
    table = Table(title=f"What changed on {day.isoformat()}", title_justify="left", show_lines=True)
    table.add_column("Item → to", overflow="fold")
    table.add_column("What happened", overflow="fold")
    table.add_column(CF_TITLE, overflow="fold")
    table.add_column("Change", overflow="fold")
    for change in story.changes:
        table.add_row(
            _item_label(change.item, change.recipient),
            _full(story.actual, change.actual),
            _full(story.counterfactual, change.counterfactual),
            Text(change.summary, style=KIND_STYLE[change.kind]),
        )
    return table


def _in_short(story: Story) -> Panel:
    lines = [Text(sentence) for sentence in _turning_sentences(story)]
    lines += [
        _kind_line(story.changes, kind) for kind in IN_SHORT if any(c.kind == kind for c in story.changes)
    ]
    return Panel(Text("\n").join(lines), title="In short", title_align="left", expand=False)


IN_SHORT: dict[Kind, str] = {
    "re-routed": "Re-routed",
    "lost": "Lost",
    "never": "Never move, in either world",
    "gained": "Gained",
    "unchanged": "Unchanged",
}


def _kind_line(changes: tuple[Change, ...], kind: Kind) -> Text:
    """``Re-routed via USA under TISA: K-MSL-1 → JPN`` or ``Lost: K-NAV-1 → JPN (naval out of scope)``."""
    mine = [c for c in changes if c.kind == kind]
    whys = dict.fromkeys(c.why for c in mine)
    label = IN_SHORT[kind]
    if len(whys) == 1 and kind == "re-routed":
        label, each = f"{label} {mine[0].why}", [f"{c.item.id} → {c.recipient}" for c in mine]
    else:
        each = [f"{c.item.id} → {c.recipient}" + (f" ({c.why})" if c.why else "") for c in mine]
    return Text.assemble((f"{label}: ", KIND_STYLE[kind]), ", ".join(each) + ".")


def _turning_sentences(story: Story) -> list[str]:
    day = story.turning_day
    out: list[str] = []
    for aid in story.noticed:
        end = story.counterfactual.timeline(aid).end
        if end is None or end != day:
            continue
        notice = min(e.date for e in story.actual.spec.events if e.agreement == aid and e.kind == "notice")
        since = [s for s in story.actual.timeline(aid).segments if s.start > notice]
        fact = ", then ".join(f"{state_text(s.state).plain} from {s.start.isoformat()}" for s in since)
        out.append(f"Had the notice taken effect, {aid} would have ended on {end.isoformat()}.")
        if fact:
            out.append(f"In fact it went on: {fact}.")
    return out
