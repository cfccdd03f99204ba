"""The errors gsomia raises. A deny is a decision, never one of these.

::

    GsomiaError                  everything gsomia raises on purpose
     ├── WorldError              the world is not valid (carries a path to the offending key)
     │    ├── LifecycleError     an event cannot apply (too early, too late, nothing to suspend...)
     │    └── ScenarioError      a world file could not be read (names file, line and key)
     └── QueryError              a question the world cannot answer (unknown id, sender = recipient, bad date)

The CLI maps every ``GsomiaError`` to exit code 2 (bad input) and anything else to exit code 1.
"""

from __future__ import annotations

Path = tuple[str | int, ...]


class GsomiaError(Exception):
    """Base of every error gsomia raises on purpose."""


class WorldError(GsomiaError):
    """The world is not valid. ``path`` points at the key, e.g. ``("agreements", 0, "equivalence")``."""

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        where = format_path(self.path)
        return f"{where}: {self.message}" if where else self.message


class LifecycleError(WorldError):
    """A lifecycle event cannot apply to its agreement on its date."""


class ScenarioError(WorldError):
    """A world file could not be read: names the file, the line and the key."""

    def __init__(self, message: str, path: Path = (), *, file: str = "", line: int | None = None) -> None:
        super().__init__(message, path)
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        key = format_path(self.path)
        parts = [p for p in (where, key) if p]
        return ": ".join([*parts, self.message])


class QueryError(GsomiaError):
    """A query names something the world lacks, or asks something meaningless."""


def format_path(path: Path) -> str:
    """``("agreements", 0, "term")`` -> ``agreements[0].term``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
