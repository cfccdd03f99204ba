"""Items added in batches: one unit of work (one commit, one signed head) for up to 10,000 items, each
checked as a single add checks it, on memory, SQLite and PostgreSQL; a bad item anywhere writes none.
Then ``gsomia item add-many FILE`` over a SQLite node: JSON Lines in, a bad line named, exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gsomia.bootstrap import Services, compose
from gsomia.cli import app
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.services.errors import ServiceError
from gsomia.services.items import NewItem
from gsomia.services.ports import Store

EXAMPLES = Path(__file__).parents[1] / "unit" / "scenario" / "worlds" / "examples.yaml"
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def node(store: Store, tmp_path: Path) -> Services:
    """The examples world on each store kind (items without bodies)."""
    services = compose(store, NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path)}), lambda: NOW)
    services.import_world(EXAMPLES)
    return services


def batch(count: int, prefix: str = "K-B") -> list[NewItem]:
    """``count`` KOR items, each with its own body (bytes that name it)."""
    return [
        NewItem(f"{prefix}-{n}", "KOR", "KR-II", ["dprk-missile"], body=f"body of {prefix}-{n}".encode())
        for n in range(1, count + 1)
    ]


def state(store: Store) -> tuple[int, int, int]:
    """(records, leaves, signed heads) the raw store holds."""
    with store.read() as uow:
        return len(uow.records()), uow.leaf_count(), len(uow.heads())


def test_a_batch_is_added_with_its_bodies_and_the_log_verifies(node: Services, store: Store):
    records = node.items.add_items(batch(20))
    assert [r.key for r in records] == [f"K-B-{n}" for n in range(1, 21)]
    assert [r.seq for r in records] == list(range(records[0].seq, records[0].seq + 20))
    for n in (1, 7, 20):
        assert node.items.body(f"K-B-{n}") == f"body of K-B-{n}".encode()
        assert node.items.item(f"K-B-{n}").has_body
    report = node.audit.verify()
    assert report.ok, report.faults
    assert report.leaves == state(store)[1]


def test_one_batch_is_one_transaction_one_signed_head(node: Services, store: Store):
    """50 items and 50 bodies: 100 leaves, and the log gains one signed head, not 50."""
    _, leaves, heads = state(store)
    node.items.add_items(batch(50))
    _, leaves_after, heads_after = state(store)
    assert leaves_after - leaves == 100
    assert heads_after == heads + 1


def test_items_without_bodies_and_with_every_field(node: Services):
    added = node.items.add_items(
        [
            NewItem("K-M-1", "KOR", "KR-III", ["dprk-nuclear"], ["JPN"], ["NOFORN"]),
            NewItem("J-M-1", "JPN", "JP-HI", []),
        ]
    )
    assert added[0].data == {
        "id": "K-M-1",
        "originator": "KOR",
        "level": "KR-III",
        "topics": ["dprk-nuclear"],
        "releasable_to": ["JPN"],
        "caveats": ["NOFORN"],
    }
    assert [node.items.item(i).has_body for i in ("K-M-1", "J-M-1")] == [False, False]


def test_an_added_item_is_decided_and_released(node: Services):
    node.items.add_items(batch(3))
    outcome = node.releases.release("K-B-2", "JPN", "2019-09-01")
    assert outcome.decision.allowed
    assert outcome.decision.marking == "JP-GOKUHI"
    assert node.releases.open_payload(node.releases.outbox()[-1]) == b"body of K-B-2"
    assert node.audit.verify().ok


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (NewItem("K-X-1", "KOR", "KR-IX", ["naval"]), "level 'KR-IX' is not one of KOR's levels"),
        (NewItem("K-X-1", "ZZZ", "KR-II", ["naval"]), "ZZZ"),
        (NewItem("K-MSL-1", "KOR", "KR-II", ["naval"]), "'K-MSL-1' is already on the node"),
        (NewItem("K-B-2", "KOR", "KR-II", ["naval"]), "id 'K-B-2' is item 2's too"),
    ],
    ids=["bad level", "unknown party", "id on the node", "id twice in the batch"],
)
def test_a_bad_item_in_the_middle_writes_nothing(node: Services, store: Store, bad: NewItem, words: str):
    before, items = state(store), len(node.items.items())
    entries = batch(5)
    entries.insert(3, bad)
    with pytest.raises(ServiceError) as raised:
        node.items.add_items(entries)
    assert "item 4 of the batch" in str(raised.value)
    assert words in str(raised.value)
    assert "nothing was added" in str(raised.value)
    assert state(store) == before
    assert len(node.items.items()) == items
    assert node.audit.verify().ok
    node.items.add_items(batch(5))  # the same good items go in afterwards: nothing of them was left


def test_an_error_while_the_items_are_read_writes_nothing(node: Services, store: Store):
    """A caller reading bodies lazily (a generator) that fails half-way: nothing is written."""
    before = state(store)

    def entries() -> Iterator[NewItem]:
        yield from batch(3)
        raise ServiceError("the fourth body could not be read")

    with pytest.raises(ServiceError, match="fourth body"):
        node.items.add_items(entries())
    assert state(store) == before


def test_add_item_is_the_batch_of_one(node: Services, store: Store):
    _, _, heads = state(store)
    record = node.items.add_item("K-ONE-1", "KOR", "KR-II", ["naval"], body=b"one")
    assert record.key == "K-ONE-1"
    assert node.items.body("K-ONE-1") == b"one"
    assert state(store)[2] == heads + 1
    with pytest.raises(ServiceError, match="already on the node"):
        node.items.add_items([NewItem("K-ONE-1", "KOR", "KR-II", ["naval"])])


def test_an_empty_batch_writes_nothing(node: Services, store: Store):
    before = state(store)
    assert node.items.add_items([]) == []
    assert state(store) == before


# -- gsomia item add-many FILE ------------------------------------------------------------------------


@pytest.fixture
def run() -> Any:
    runner = CliRunner()

    def invoke(*args: str | Path, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], input=stdin, env={"COLUMNS": "200", **(env or {})})

    return invoke


@pytest.fixture
def cli_node(run: Any, tmp_path: Path) -> Path:
    directory = tmp_path / "node"
    assert run("init", directory, "--party", "KOR").exit_code == 0
    assert run("import", EXAMPLES, "--node", directory).exit_code == 0
    return directory


def jsonl(path: Path, *entries: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in entries))
    return path


def listed(run: Any, node: Path) -> dict[str, bool]:
    done = run("item", "list", "--node", node, "--json")
    assert done.exit_code == 0, done.output
    return {v["id"]: v["has_body"] for v in json.loads(done.stdout)}


def test_add_many_adds_items_with_body_files_relative_to_the_file(run, cli_node, tmp_path):
    folder = tmp_path / "batch"
    (folder / "bodies").mkdir(parents=True)
    (folder / "bodies" / "one.txt").write_bytes("본문 one".encode())
    (tmp_path / "two.txt").write_bytes(b"two")
    path = jsonl(
        folder / "items.jsonl",
        {
            "id": "K-F-1",
            "originator": "KOR",
            "level": "KR-II",
            "topics": ["dprk-missile"],
            "body_file": "bodies/one.txt",
        },
        {
            "id": "K-F-2",
            "originator": "KOR",
            "level": "KR-III",
            "topics": ["naval"],
            "caveats": ["NOFORN"],
            "releasable_to": None,
            "body_file": str(tmp_path / "two.txt"),
        },
        {"id": "K-F-3", "originator": "KOR", "level": "KR-II", "topics": []},
    )
    human = run("item", "add-many", path, "--node", cli_node)
    assert human.exit_code == 0, human.output
    assert "Items added" in human.stdout
    rows = [line.replace("│", " ").split() for line in human.stdout.splitlines() if "K-F-" in line]
    assert rows == [["K-F-1", "KR-II", "yes"], ["K-F-2", "KR-III", "yes"], ["K-F-3", "KR-II", "no"]]
    assert {k: v for k, v in listed(run, cli_node).items() if k.startswith("K-F")} == {
        "K-F-1": True,
        "K-F-2": True,
        "K-F-3": False,
    }
    shown = run("item", "show", "K-F-1", "--body", "--node", cli_node)
    assert "본문 one".encode() in shown.stdout_bytes
    released = run("release", "K-F-1", "--to", "JPN", "--at", "2019-09-01", "--node", cli_node, "--json")
    assert json.loads(released.stdout)["allowed"] is True
    assert run("log", "verify", "--node", cli_node).exit_code == 0


def test_add_many_json_output_and_stdin(run, cli_node, tmp_path, monkeypatch):
    (tmp_path / "b.txt").write_bytes(b"from stdin")
    lines = "".join(
        json.dumps(e) + "\n"
        for e in (
            {"id": "K-S-1", "originator": "KOR", "level": "KR-II", "topics": ["naval"], "body_file": "b.txt"},
            {"id": "K-S-2", "originator": "KOR", "level": "KR-II", "topics": ["naval"]},
        )
    )
    monkeypatch.chdir(tmp_path)  # a relative body_file read from stdin: relative to the current directory
    done = run("item", "add-many", "-", "--node", cli_node, "--json", stdin=lines)
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert [(o["id"], o["level"], o["has_body"]) for o in out] == [
        ("K-S-1", "KR-II", True),
        ("K-S-2", "KR-II", False),
    ]
    assert out[1]["seq"] == out[0]["seq"] + 1
    assert out[0]["topics"] == ["naval"]


GOOD = {"id": "K-G-1", "originator": "KOR", "level": "KR-II", "topics": ["naval"]}


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("{not json", "line 2: not JSON"),
        ("", "line 2: empty line"),
        ('["K-1"]', "line 2: an item is a JSON object"),
        ({"id": "K-G-2", "originator": "KOR", "level": "KR-II"}, "line 2: missing field 'topics'"),
        ({**GOOD, "id": "K-G-2", "colour": "red"}, "line 2: unknown field 'colour'"),
        ({**GOOD, "id": 7}, "line 2: 'id' must be a non-empty string, not the number 7"),
        ({**GOOD, "id": "K-G-2", "topics": "naval"}, "line 2: 'topics' must be a list of strings"),
        ({**GOOD, "id": "K-G-2", "caveats": [None]}, "line 2: 'caveats' must hold only non-empty strings"),
        ({**GOOD, "id": "K-G-2", "body_file": "nowhere.txt"}, "line 2, 'body_file'"),
        ({**GOOD, "id": "K-G-2", "body_file": "big.txt"}, "line 2, 'body_file'"),
        ({**GOOD, "id": "K-G-2", "level": "KR-IX"}, "item 2 of the batch"),
        ({**GOOD}, "item 2 of the batch: id 'K-G-1' is item 1's too"),
        ({**GOOD, "id": "K-MSL-1"}, "already on the node"),
    ],
    ids=[
        "not json",
        "empty line",
        "not an object",
        "missing field",
        "unknown field",
        "wrong type",
        "a string for a list",
        "null in a list",
        "missing body file",
        "body file too big",
        "bad level",
        "id twice",
        "id on the node",
    ],
)
def test_a_bad_line_exits_2_naming_it_and_adds_nothing(run, cli_node, tmp_path, bad, words):
    (tmp_path / "big.txt").write_bytes(b"x" * 101)
    before = listed(run, cli_node)
    tail = {"id": "K-G-3", "originator": "KOR", "level": "KR-II", "topics": ["naval"]}
    path = jsonl(tmp_path / "items.jsonl", GOOD, bad, tail)
    done = run("item", "add-many", path, "--node", cli_node, env={"GSOMIA_MAX_BODY_BYTES": "100"})
    assert done.exit_code == 2, done.output
    assert words in done.output
    assert "nothing was added" in done.output
    assert listed(run, cli_node) == before
    assert run("log", "verify", "--node", cli_node).exit_code == 0


def test_more_than_10000_lines_or_no_file_exit_2(run, cli_node, tmp_path):
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({**GOOD, "id": f"K-L-{n}"}) + "\n" for n in range(10_001)))
    done = run("item", "add-many", path, "--node", cli_node)
    assert done.exit_code == 2
    assert "more than 10,000 lines" in done.output
    missing = run("item", "add-many", tmp_path / "nowhere.jsonl", "--node", cli_node)
    assert missing.exit_code == 2
    assert "cannot read the items" in missing.output


def test_add_many_reads_stdin_as_bytes(run, cli_node):
    """A UTF-8 byte order mark and CRLF line ends are taken as decide --queries takes them."""
    data = "\ufeff" + json.dumps({**GOOD, "id": "K-발-1"}, ensure_ascii=False) + "\r\n"
    done = CliRunner().invoke(
        app, ["item", "add-many", "-", "--node", str(cli_node), "--json"], input=data.encode()
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["id"] == "K-발-1"
