"""Fixtures for driving the ``gsomia`` command line in-process with Typer's CliRunner."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gsomia.cli import app

# The world of shared/examples.md: the Korea-Japan story had Korea not suspended its notice.
EXAMPLES_YAML = """\
gsomia: 1
name: Korea-Japan 2019, had Korea not suspended its notice
parties:
  - id: KOR
    name: Republic of Korea
    levels:
      - {id: KR-III, marking: 군사III급비밀}
      - {id: KR-II,  marking: 군사II급비밀}
      - {id: KR-I,   marking: 군사I급비밀}
  - id: JPN
    levels:
      - {id: JP-HI, marking: 秘}
      - {id: JP-GOKUHI, marking: 極秘}
      - {id: JP-TOKUTEI, marking: 特定秘密}
  - id: USA
    name: United States of America
    levels:
      - {id: US-C, marking: CONFIDENTIAL}
      - {id: US-S, marking: SECRET}
      - {id: US-TS, marking: TOP SECRET}
agreements:
  - id: KOR-JPN-GSOMIA
    kind: treaty
    parties: [KOR, JPN]
    entry_into_force: 2016-11-23
    term: 1y
    renewal: automatic
    notice_period: 90d
    scope: any
    equivalence:
      - {KOR: KR-II, JPN: [JP-GOKUHI, JP-TOKUTEI]}
      - {KOR: KR-III, JPN: JP-HI}
  - id: TISA
    kind: arrangement
    parties: [USA, KOR, JPN]
    conduit: USA
    entry_into_force: 2014-12-29
    scope: [dprk-nuclear, dprk-missile]
    hops: [USA-KOR-GSOMIA, USA-JPN-GSOMIA]
  - id: USA-JPN-GSOMIA
    kind: treaty
    parties: [USA, JPN]
    entry_into_force: 2007-08-10
    scope: any
    equivalence:
      - {USA: US-S, JPN: [JP-GOKUHI, JP-TOKUTEI]}
      - {USA: US-C, JPN: JP-HI}
  - id: USA-KOR-GSOMIA
    kind: treaty
    parties: [USA, KOR]
    entry_into_force: 1987-09-24
    scope: any
    equivalence:
      - {USA: US-S, KOR: KR-II}
      - {USA: US-C, KOR: KR-III}
events:
  - {date: 2019-08-23, agreement: KOR-JPN-GSOMIA, kind: notice, by: KOR}
items:
  - {id: K-MSL-1, originator: KOR, level: KR-II, topics: [dprk-missile]}
  - {id: K-NAV-1, originator: KOR, level: KR-II, topics: [naval]}
  - {id: K-TOP-1, originator: KOR, level: KR-I, topics: [dprk-missile]}
  - {id: K-NF-1, originator: KOR, level: KR-III, topics: [dprk-nuclear], caveats: [NOFORN]}
  - {id: K-REL-1, originator: KOR, level: KR-III, topics: [dprk-nuclear], releasable_to: [JPN]}
  - {id: J-MSL-1, originator: JPN, level: JP-TOKUTEI, topics: [dprk-missile]}
consents:
  - {item: K-MSL-1, holder: JPN, recipient: USA, from: 2019-01-01, until: 2019-12-31}
"""

WIDE = {"COLUMNS": "200"}  # wide enough that Rich wraps no line the tests look for

Invoke = Callable[..., Result]


@pytest.fixture
def examples_world(tmp_path: Path) -> Path:
    """The world of examples.md, written to a file."""
    path = tmp_path / "examples.yaml"
    path.write_text(EXAMPLES_YAML, encoding="utf-8")
    return path


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``text`` to a file called ``name`` in a fresh directory and return its path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def gsomia() -> Invoke:
    """Run ``gsomia ARGS...`` in-process; wide terminal unless ``env`` says otherwise."""
    runner = CliRunner()

    def invoke(*args: str | Path, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        argv: Sequence[str] = [str(a) for a in args]
        return runner.invoke(app, argv, input=input, env={**WIDE, **(env or {})})

    return invoke
