"""The node commands end to end through Typer's CliRunner: init, import, items, releases, consents,
events and export as a person would run them; and every bad input exits 2 with one line, writing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gsomia import load_world
from gsomia.cli import app
from gsomia.cli.shared import node_world
from gsomia.scenario import load_spec
from gsomia.store import open_store

from .conftest import EXAMPLES_YAML

WIDE = {"COLUMNS": "200"}


@pytest.fixture
def run():
    """Run ``gsomia ARGS...`` (node commands) in-process."""
    runner = CliRunner()

    def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], env={**WIDE, **(env or {})})

    return invoke


@pytest.fixture
def on_node(run, node):
    """Run a command line (split on spaces) against the test node, with --json; return its JSON."""

    def invoke(line: str, *more: str | Path) -> Any:
        return as_json(run(*line.split(), *more, "--node", node, "--json"))

    return invoke


@pytest.fixture
def world(tmp_path: Path) -> Path:
    path = tmp_path / "examples.yaml"
    path.write_text(EXAMPLES_YAML, encoding="utf-8")
    return path


@pytest.fixture
def body(tmp_path: Path) -> Path:
    path = tmp_path / "body.txt"
    path.write_bytes("PLAINTEXT-CANARY 군사II급비밀 본문".encode())
    return path


@pytest.fixture
def node(run, tmp_path: Path, world: Path, body: Path) -> Path:
    """A node for KOR holding the examples world and K-BODY-1 with a body."""
    directory = tmp_path / "node"
    assert run("init", directory, "--party", "KOR").exit_code == 0
    assert run("import", world, "--node", directory).exit_code == 0
    item = "item add --id K-BODY-1 --originator KOR --level KR-II --topics dprk-missile --body-file"
    added = run(*item.split(), body, "--node", directory)
    assert added.exit_code == 0, added.output
    return directory


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_init_makes_a_node_with_settings_keys_and_a_database(run, tmp_path):
    """init DIR writes gsomia.toml, keys/ and node.db, and reports the signing key id."""
    made = as_json(run("init", tmp_path / "n", "--party", "KOR", "--json"))
    assert made["party"] == "KOR"
    assert len(made["key_id"]) == 32
    for name in ("gsomia.toml", "keys/kek.bin", "keys/signing.pem", "keys/signing.pub.pem", "node.db"):
        assert (tmp_path / "n" / name).exists(), name


def test_an_allowed_release_prints_the_decision_and_records_it(run, node, on_node):
    """release ITEM --to --at: allowed, with route and marking, recorded with an outbox row."""
    decision = on_node("release K-BODY-1 --to JPN --at 2019-09-01")
    assert decision["allowed"] is True
    assert decision["route"] == ["KOR", "JPN"]
    assert decision["marking"] == "JP-GOKUHI"
    assert decision["outbox"] is True
    assert decision["release"] == 1
    human = run("release", "K-BODY-1", "--to", "JPN", "--at", "2019-09-01", "--node", node)
    assert human.exit_code == 0
    assert "ALLOWED" in human.stdout


def test_a_refused_release_exits_zero_and_is_recorded(run, node, on_node):
    """A refusal is a decision: exit 0, "allowed": false, listed by releases."""
    decision = on_node("release K-NF-1 --to JPN --at 2019-09-01")
    assert decision["allowed"] is False
    assert decision["outbox"] is False
    assert [(r["item"], r["allowed"]) for r in on_node("releases")] == [("K-NF-1", False)]
    assert "denied" in run("releases", "--node", node).stdout


def test_release_defaults_to_today(on_node):
    """Without --at the day is today by the shell's clock."""
    assert on_node("release K-BODY-1 --to USA")["at"] == datetime.now(UTC).date().isoformat()


def test_a_granted_consent_allows_the_onward_release(on_node):
    """JPN asks, KOR (the node's party) grants: JPN may pass K-BODY-1 to USA."""
    onward = "release K-BODY-1 --to USA --holder JPN --at 2019-06-01"
    asked = on_node("consent request --holder JPN --recipient USA --item K-BODY-1 --from 2019-01-01")
    assert asked["status"] == "requested"
    assert on_node(onward)["allowed"] is False
    granted = on_node(f"consent grant {asked['id']} --until 2019-12-31")
    assert granted["status"] == "granted"
    assert granted["history"][-1]["by"] == "KOR"
    assert on_node(onward)["allowed"] is True


def test_a_revoked_consent_stops_later_releases_and_stays_listed(run, node, on_node):
    """After revoke --on 2019-07-01, the onward release of 2019-07-02 is refused; list shows it."""
    cid = on_node("consent request --holder JPN --recipient USA --item K-BODY-1")["id"]
    on_node(f"consent grant {cid}")
    assert on_node(f"consent revoke {cid} --on 2019-07-01")["status"] == "revoked"
    assert on_node("release K-BODY-1 --to USA --holder JPN --at 2019-07-02")["allowed"] is False
    assert on_node("release K-BODY-1 --to USA --holder JPN --at 2019-06-30")["allowed"] is True
    listed = on_node("consent list --at 2019-08-01")
    assert {c["id"]: c["standing"] for c in listed} == {"C1": "granted", cid: "revoked"}
    assert "revoked" in run("consent", "list", "--node", node).stdout


def test_a_denied_consent_through_the_command_line(on_node):
    """consent deny records the refusal with its note."""
    asked = on_node("consent request --holder JPN --recipient USA --topic naval --originator KOR --id ASK-1")
    assert asked["id"] == "ASK-1"
    denied = on_node("consent deny ASK-1 --note no")
    assert denied["status"] == "denied"
    assert denied["history"][-1]["note"] == "no"


def test_events_are_added_listed_and_change_the_node_world(node, on_node):
    """event add suspend-notice keeps the agreement in force; event list shows it; the node's world
    (what ``gsomia timeline --node`` draws) has it."""
    added = on_node("event add --agreement KOR-JPN-GSOMIA --kind suspend-notice --date 2019-11-22 --by KOR")
    assert added["kind"] == "suspend-notice"
    assert [e["kind"] for e in on_node("event list")] == ["notice", "suspend-notice"]
    assert node_world(node).state("KOR-JPN-GSOMIA", "2020-06-01").state == "notice-suspended"


def test_an_amendment_takes_a_scope_and_a_table(node, on_node):
    """event add --kind amend with --scope and --equivalence (YAML) changes the terms from that day."""
    amend = "event add --agreement KOR-JPN-GSOMIA --kind amend --date 2019-10-01 --scope dprk-missile,naval"
    added = on_node(amend, "--equivalence", "[{KOR: KR-II, JPN: JP-HI}]")
    assert added["equivalence"] == [{"KOR": ["KR-II"], "JPN": ["JP-HI"]}]
    version = node_world(node).timeline("KOR-JPN-GSOMIA").version(datetime(2019, 10, 2).date())
    assert version.scope == ("dprk-missile", "naval")


def test_parties_and_agreements_are_added_one_at_a_time(run, node, on_node, tmp_path):
    """party add and agreement add --file extend the world; export shows them."""
    party = on_node("party add --id AUS --name Australia --levels AU-P:PROTECTED,AU-S:SECRET")
    assert party["levels"] == [{"id": "AU-P", "marking": "PROTECTED"}, {"id": "AU-S", "marking": "SECRET"}]
    agreement = tmp_path / "aus-usa.yaml"
    agreement.write_text(
        "id: AUS-USA\nkind: treaty\nparties: [AUS, USA]\nentry_into_force: 2002-06-25\n"
        "equivalence:\n  - {AUS: AU-S, USA: US-S}\n",
        encoding="utf-8",
    )
    assert on_node("agreement add --file", agreement)["id"] == "AUS-USA"
    exported = tmp_path / "out.yaml"
    assert run("export", exported, "--node", node).exit_code == 0
    spec = load_spec(exported)
    assert "AUS" in {p.id for p in spec.parties}
    assert "AUS-USA" in {a.id for a in spec.agreements}


def test_export_round_trips_the_imported_world(run, node, world, tmp_path):
    """export (YAML to stdout, or a file; JSON with --json) loads back as the same world plus K-BODY-1."""
    original = load_spec(world)
    stdout = tmp_path / "stdout.yaml"
    stdout.write_text(run("export", "--node", node).stdout, encoding="utf-8")
    for path in (stdout, tmp_path / "file.yaml", tmp_path / "file.json"):
        if path != stdout:
            assert run("export", path, "--node", node).exit_code == 0
        spec = load_world(path).spec
        assert (spec.name, spec.parties, spec.agreements) == (
            original.name,
            original.parties,
            original.agreements,
        )
        assert (spec.events, spec.consents) == (original.events, original.consents)
        assert [i.id for i in spec.items] == [*(i.id for i in original.items), "K-BODY-1"]
    assert json.loads(run("export", "--json", "--node", node).stdout)["gsomia"] == 1


def test_items_can_be_listed_and_given_their_bodies(on_node, body):
    """item list shows which items hold a body; item body attaches one to an imported item."""
    assert on_node("item body K-MSL-1 --body-file", body)["has_body"] is True
    has_body = {i["id"]: i["has_body"] for i in on_node("item list")}
    assert has_body["K-MSL-1"] is True
    assert has_body["K-NAV-1"] is False


# -- bad input ----------------------------------------------------------------------------------------

ITEM = "item add --id K-2 --originator KOR --topics naval"
# each must exit 2 and write nothing; {name} stands for a file the test makes, {tmp} for its directory
BAD_INPUTS = [
    "init {node}",
    "import {tmp}/missing.yaml",
    "import {bad_world}",
    "import {world}",
    "party add --id KOR --levels K1:X",
    "party add --id AUS --levels AU-S",
    "party add --id AUS --levels AU-S:S,,AU-T:T",
    "agreement add --file {tmp}/missing.yaml",
    "agreement add --file {bad_agreement}",
    "agreement add --file {body}",
    f"{ITEM} --level JP-HI --body-file {{body}}",
    f"{ITEM} --level KR-II --body-file {{tmp}}/missing.bin",
    "item add --id K-BODY-1 --originator KOR --level KR-II --topics x --body-file {body}",
    "item body K-BODY-1 --body-file {body}",
    "release NO-SUCH --to JPN --at 2019-09-01",
    "release K-BODY-1 --to JPN --at 2019-02-30",
    "release K-BODY-1 --to KOR --at 2019-09-01",
    "release K-MSL-1 --to JPN --at 2019-09-01",
    "consent grant C99",
    "consent grant C1",
    "consent revoke C1 --on soon",
    "consent revoke C1 --by JPN",
    "consent request --holder JPN --recipient USA",
    "consent request --holder JPN --recipient USA --item K-BODY-1 --until 2019-1-1",
    "event add --agreement KOR-JPN-GSOMIA --kind notice --date 2019-09-01",
    "event add --agreement KOR-JPN-GSOMIA --kind terminate --date 2018-01-01",
    "event add --agreement KOR-JPN-GSOMIA --kind amend --date 2019-09-01 --equivalence [{KOR:",
    "export {tmp}/no/such/dir/out.yaml",
]


def contents(directory: Path) -> tuple[object, ...]:
    """Everything the node's database holds."""
    store = open_store(f"sqlite:///{directory / 'node.db'}")
    try:
        with store.read() as uow:
            return (tuple(uow.records()), tuple(uow.releases()), tuple(uow.outbox()), tuple(uow.leaves()))
    finally:
        store.close()


@pytest.fixture
def files(tmp_path: Path, node: Path, world: Path, body: Path) -> dict[str, Path]:
    """The files the bad commands name."""
    bad_world = tmp_path / "bad.yaml"
    bad_world.write_text(
        EXAMPLES_YAML.replace("level: KR-II, topics: [naval]", "level: KR-9"), encoding="utf-8"
    )
    bad_agreement = tmp_path / "bad-agreement.yaml"
    bad_agreement.write_text("id: X\nkind: pact\nparties: [KOR, JPN]\nentry_into_force: 2020-01-01\n")
    return {
        "tmp": tmp_path,
        "node": node,
        "world": world,
        "body": body,
        "bad_world": bad_world,
        "bad_agreement": bad_agreement,
    }


def test_init_refuses_a_directory_that_holds_a_node(run, node):
    """A second init: exit 2, one line, the node's settings and keys untouched."""
    settings = (node / "gsomia.toml").read_bytes()
    kek = (node / "keys" / "kek.bin").read_bytes()
    result = run("init", node)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "never overwritten" in result.stderr
    assert (node / "gsomia.toml").read_bytes() == settings
    assert (node / "keys" / "kek.bin").read_bytes() == kek


def test_every_bad_input_exits_two_with_one_line_and_writes_nothing(run, node, files):
    """Each bad command: exit 2, a single 'error: ...' line on stderr, and the database unchanged."""
    before = contents(node)
    for line in BAD_INPUTS:
        for name, path in files.items():
            line = line.replace("{" + name + "}", str(path))
        args = line.split() + ([] if line.startswith("init") else ["--node", str(node)])
        result = run(*args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2, (args, result.output)
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("error: "), (args, result.stderr)
        assert contents(node) == before, args


def test_commands_on_a_directory_without_a_node_exit_two_and_create_nothing(run, tmp_path):
    """--node pointing nowhere: exit 2 saying how to make a node; no file appears."""
    empty = tmp_path / "empty"
    empty.mkdir()
    for command in (("releases",), ("export",), ("release", "X", "--to", "JPN")):
        result = run(*command, "--node", empty)
        assert result.exit_code == 2
        assert "gsomia init" in result.stderr
    assert list(empty.iterdir()) == []


def test_a_bad_database_url_in_the_environment_exits_two_naming_the_setting(node):
    """GSOMIA_DATABASE_URL=mysql://... is refused, naming the setting and the variable."""
    env = {"GSOMIA_DATABASE_URL": "mysql://x"}
    result = CliRunner().invoke(app, ["releases", "--node", str(node)], env=env)
    assert result.exit_code == 2
    assert "setting database_url (from GSOMIA_DATABASE_URL)" in result.stderr
