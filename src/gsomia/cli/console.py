"""Where the CLI writes: Rich consoles for people, plain JSON for programs, one-line errors for both.

Consoles are made when a command runs, never at import time, so they write to whatever ``sys.stdout`` is
then (a terminal, a pipe, or Typer's test runner). Rich picks the width itself (80 columns off a terminal,
or ``COLUMNS``) and drops colour when the stream is not a terminal. Rich itself is imported only when a
console is made: ``gsomia --help`` never loads it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def out() -> Console:
    """A console on stdout for human-readable output."""
    from rich.console import Console  # deferred for start-up speed: --help and JSON never draw

    return Console(highlight=False)


def error_line(message: str) -> None:
    """``error: <message>`` on stderr, one line (red on a terminal). Brackets are text, not markup."""
    from rich.console import Console  # deferred for start-up speed: only a failing command pays for it
    from rich.text import Text

    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(f"error: {message}", style="red"))


def json_line(value: object) -> None:
    """One JSON value on one line of stdout (UTF-8, so national markings stay readable)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
