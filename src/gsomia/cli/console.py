"""Where the CLI writes: Rich consoles for people, plain JSON for programs, one-line errors for both.

Consoles are made when a command runs, never at import time, so they write to whatever ``sys.stdout`` is
then (a terminal, a pipe, or Typer's test runner). Rich picks the width itself (80 columns off a terminal,
or ``COLUMNS``) and drops colour when the stream is not a terminal.
"""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.text import Text


def out() -> Console:
    """A console on stdout for human-readable output."""
    return Console(highlight=False)


def err() -> Console:
    """A console on stderr; soft wrap keeps a one-line message on one line however narrow the terminal."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def error_line(message: str) -> None:
    """``error: <message>`` in red on stderr. The message is printed as text: brackets are not markup."""
    err().print(Text(f"error: {message}", style="red"))


def json_line(value: object) -> None:
    """One JSON value on one line of stdout (UTF-8, so national markings stay readable)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
