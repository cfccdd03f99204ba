"""``gsomia spif FILE...``: a world file's ``parties`` and ``equivalence`` from Open XML SPIF files.

The text output is YAML to paste into a world file (each level's LACV and hierarchy as a comment, since a
world-file level holds only ``id`` and ``marking``); ``--json`` prints the same entries as one JSON line,
with the LACVs beside them. The SPIF reader is loaded when the command runs, so ``gsomia --help`` does not
pay for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .shared import Command, JsonOpt, OptionError, guarded, read_bounded

if TYPE_CHECKING:
    from ..labels.spif import Spif

SpifArgs = Annotated[
    list[Path],
    typer.Argument(help="Open XML SPIF files (schema 2.0 or 2.1).", metavar="SPIF", show_default=False),
]
PartyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--party",
        help="POLICY=PARTY: the party id of a policy (its name or its id); repeat for each. "
        "Default: the policy's name.",
        metavar="POLICY=PARTY",
        show_default=False,
    ),
]


class _ManyFiles(Command):
    """Usage reads ``SPIF...``, not Typer's ``{SPIF}...`` (the shared command unbraces single values only)."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override] # Typer's Context
        return [p.replace("{SPIF}", "SPIF") for p in super().collect_usage_pieces(ctx)]


def register(app: typer.Typer) -> None:
    """Add ``gsomia spif`` to ``app``, under the exit codes like every command."""
    app.command("spif", cls=_ManyFiles)(guarded(spif))


def _mapping(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        policy, sep, party = pair.partition("=")
        if not sep or not policy.strip() or not party.strip():
            raise OptionError("--party", f"{pair!r} is not POLICY=PARTY; write e.g. ROK-MND=KOR")
        if policy.strip() in out:
            raise OptionError("--party", f"policy {policy.strip()!r} is mapped twice; map it once")
        out[policy.strip()] = party.strip()
    return out


def spif(files: SpifArgs, party: PartyOpt = None, json_out: JsonOpt = False) -> None:
    """Print world-file parties (levels lowest first) and the equivalence rows the SPIFs state."""
    from ..labels import spif as spifs  # deferred for start-up speed: the XML reader

    mapping = _mapping(party)
    read = [spifs.read_spif(read_bounded(f, "SPIF", spifs.MAX_SPIF_BYTES, "16 MiB"), str(f)) for f in files]
    parties = spifs.parties_entries(read, mapping)
    rows = spifs.equivalence_rows(read, mapping)
    if json_out:
        lacv = {
            level["id"]: cls.lacv
            for entry, one in zip(parties, read, strict=True)
            for level, cls in zip(entry["levels"], one.classifications, strict=True)
        }
        typer.echo(json.dumps({"parties": parties, "equivalence": rows, "lacv": lacv}, ensure_ascii=False))
        return
    typer.echo(_yaml(read, parties, rows), nl=False)


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _yaml(read: list[Spif], parties: list[dict[str, Any]], rows: list[dict[str, str | list[str]]]) -> str:
    lines = [
        f"# {one.source}: policy {_q(one.policy_name)} ({one.policy_id}), SPIF {one.schema_version}"
        for one in read
    ]
    lines.append("parties:")
    for entry, one in zip(parties, read, strict=True):
        lines += [
            f"  - id: {_q(entry['id'])}",
            f"    name: {_q(entry['name'])}",
            "    levels:  # lowest first",
        ]
        for level, cls in zip(entry["levels"], one.classifications, strict=True):
            body = f"{{id: {_q(level['id'])}, marking: {_q(level['marking'])}}}"
            lines.append(f"      - {body}  # lacv {cls.lacv}, hierarchy {cls.hierarchy}")
    if not rows:
        lines.append("equivalence: []  # the SPIFs state no equivalence among these policies")
    else:
        lines.append("equivalence:  # for the agreement's table; highest first")
        for row in rows:
            cells = ", ".join(f"{_q(p)}: {_q(levels)}" for p, levels in row.items())
            lines.append(f"  - {{{cells}}}")
    return "\n".join(lines) + "\n"
