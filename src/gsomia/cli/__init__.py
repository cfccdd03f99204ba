"""The ``gsomia`` command line: ``gsomia.cli:main`` is the console script, ``app`` the Typer app.

::

    app.py        the Typer app: the root group and --version; registers each command module below
    shared.py     exit codes and the one error style, --node and --json, output, opening a node, bounded reads
    console.py    where output goes: Rich for people, one JSON value per line for programs, errors on stderr

    commands (each imports only Typer at start-up; the work is loaded when the command runs)
    world.py      decide, timeline, impact, demo: questions put to a world file
    node.py       init, import, export, party add, agreement add, release, releases
    items.py      item add|add-many|body|list|show
    consents.py   consent request|grant|deny|revoke|list
    events.py     event add|list              log.py        log head|prove|consistency|verify
    bench.py      bench, bench --startup

    the work behind them
    decisions.py  a decision, and a recorded release, drawn as tables
    queries.py    decide --queries: JSON Lines answered line by line, each line read with a bound
    itemlines.py  item add-many: JSON Lines of items, all checked first, bodies read one at a time
    timelines.py  each agreement's dated states, end and amendments (tables or JSON)
    whatif.py     impact: the change the options describe, run and drawn
    story.py      the demo's story: what happened, and what would have had the notice taken effect
    storyview.py  the demo drawn, readable at 80 columns and through a pipe
"""

from __future__ import annotations

from .app import app, main

__all__ = ["app", "main"]
