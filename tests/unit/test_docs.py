"""Docs checked by tests: every command documented, the README's test command is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from gsomia.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> set[str]:
    group = typer.main.get_command(app)
    names: set[str] = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names |= {f"{name} {s}" for s in sub} if sub else {name}
    return names


def test_every_cli_command_is_documented_in_docs_cli_md():
    """Each command (and sub-command) of `gsomia` has a heading in docs/cli.md."""
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = [c for c in sorted(_commands()) if f"`gsomia {c}" not in text]
    assert missing == []


def test_ci_runs_the_readme_test_command():
    """The README's second command, after the venv part, is the line .ci/run executes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.S)
    test_command = next(b for b in blocks if "pytest" in b).split("&& ", 2)[-1]
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_rule_has_a_section_in_docs_rules_md():
    """docs/rules.md explains each of the eight rules under its own heading."""
    from gsomia import RULES

    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"`{rule}`" in text
