"""A small valid world, line by line, and helpers to load a broken copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsomia.domain.errors import ScenarioError
from gsomia.scenario import load_spec

WORLDS = Path(__file__).parent / "worlds"

# Line numbers matter: the error tests point at them.
BASE = """\
gsomia: 1
parties:
  - id: KOR
    levels:
      - {id: KR-II, marking: II}
  - id: JPN
    levels:
      - {id: JP-HI, marking: HI}
agreements:
  - id: KJ
    kind: treaty
    parties: [KOR, JPN]
    entry_into_force: 2016-11-23
    term: 1y
    equivalence:
      - {KOR: KR-II, JPN: JP-HI}
events:
  - {date: 2019-08-23, agreement: KJ, kind: notice, by: KOR}
items:
  - {id: I1, originator: KOR, level: KR-II, topics: [naval]}
consents:
  - {item: I1, holder: JPN, recipient: KOR}
"""


def edited(old: str, new: str, text: str = BASE) -> str:
    """``text`` with its first ``old`` replaced by ``new`` (which must be there)."""
    assert old in text, old
    return text.replace(old, new, 1)


def write(directory: Path, text: str, name: str = "world.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> ScenarioError:
    """The ScenarioError that loading ``path`` raises."""
    with pytest.raises(ScenarioError) as caught:
        load_spec(path)
    return caught.value


def assert_points_at(error: ScenarioError, path: Path, line: int | None, key: str) -> None:
    """``error`` names the file, the line and the key, in that order."""
    where = f"{path}:{line}" if line is not None else str(path)
    prefix = f"{where}: {key}: " if key else f"{where}: "
    assert str(error).startswith(prefix), str(error)
    assert error.file == str(path)
    assert error.line == line
