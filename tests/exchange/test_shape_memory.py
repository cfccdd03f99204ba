"""The bundle shapes a node found valid STIX 2.1 are remembered across its processes, by tags only it can
make: a new process takes a remembered shape's verdict without the validator, and nothing else is taken
on trust (another node's tags, other judges' versions, a forged line, an invalid shape)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gsomia.bootstrap import Services, compose
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.exchange import BundleError, stixcheck
from gsomia.exchange.bundle import EXTENSION_ID, Shipment, _shape, build_bundle, fingerprint
from gsomia.exchange.stixcheck import ShapeMemo
from gsomia.store.memory import MemoryStore
from gsomia.store.shapefile import FILE_NAME, ShapeFile
from tests.exchange.test_sync_batches import URL, WORLD, Clock, Pair
from tests.unit.test_exchange_bundle import Parties, make_shipment, statement_marking

ROOT = Path(__file__).resolve().parents[2]
SECRET = bytes(range(32))


@pytest.fixture(scope="module")
def parties() -> Parties:
    return Parties()


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the bundles validated in full, in order."""
    seen: list[str] = []
    real = stixcheck.stix_problems

    def counted(bundle: Any) -> list[str]:
        seen.append(str(bundle["id"]))
        return real(bundle)

    monkeypatch.setattr(stixcheck, "stix_problems", counted)
    return seen


def judged(parties: Parties, memo: ShapeMemo, shipment: Shipment, bundle: dict[str, Any]) -> list[str]:
    """``memo``'s problems for ``bundle``, built from ``shipment``, judged by its shape."""
    signature = bundle["objects"][4]["extensions"][EXTENSION_ID]["signature"]
    return memo.problems(bundle, _shape(shipment, fingerprint(parties.hpke_public), signature))


def built(parties: Parties, validations: list[str], n: int = 1) -> list[tuple[Shipment, dict[str, Any]]]:
    """``n`` bundles of one class (other release numbers), built before anything is counted."""
    out = []
    for seq in range(n):
        shipment = make_shipment(release_seq=100 + seq)
        out.append((shipment, parties.build(shipment)))
    validations.clear()
    return out


def test_a_new_memo_takes_a_remembered_valid_shape_without_validating(
    parties: Parties, tmp_path: Path, validations: list[str]
) -> None:
    path = tmp_path / FILE_NAME
    (first, a), (second, b) = built(parties, validations, 2)
    assert judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), first, a) == []
    assert validations == [a["id"]]
    assert len(path.read_bytes().splitlines()) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    # a new process: a memo of its own over the same file, the same secret
    assert judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), second, b) == []
    assert validations == [a["id"]]


def test_another_secret_other_judges_or_a_forged_line_vouch_for_nothing(
    parties: Parties, tmp_path: Path, validations: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / FILE_NAME
    [(shipment, bundle)] = built(parties, validations)
    judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), shipment, bundle)
    judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=bytes(32)), shipment, bundle)
    assert len(validations) == 2  # another node's secret: its own tag, not this one's
    with monkeypatch.context() as patched:
        patched.setattr(stixcheck, "judges", lambda: b"stix2-validator=9.9.9")
        judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), shipment, bundle)
    assert len(validations) == 3  # an upgraded validator judges again
    judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), shipment, bundle)
    assert len(validations) == 3  # the judges as they are: remembered
    forged = tmp_path / "forged"
    forged.write_bytes(b"".join(os.urandom(32).hex().encode() + b"\n" for _ in range(50)))
    judged(parties, ShapeMemo(remembered=ShapeFile(forged), secret=SECRET), shipment, bundle)
    assert len(validations) == 4


def test_an_invalid_shape_is_never_remembered(
    parties: Parties, tmp_path: Path, validations: list[str]
) -> None:
    path = tmp_path / FILE_NAME
    marking = {**statement_marking(), "Bad-Name": "x"}  # strict properties: not a valid property name
    for _ in range(2):  # two processes
        memo = ShapeMemo(remembered=ShapeFile(path), secret=SECRET)
        with pytest.raises(BundleError, match="would not be valid STIX"):
            build_bundle(
                make_shipment(marking_definition=marking),
                parties.hpke_public,
                parties.signer.sign,
                parties.key_id,
                shapes=memo,
            )
    assert len(validations) == 2
    assert not path.exists()


def test_the_file_keeps_whole_tags_only_up_to_its_bound(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    tags = [bytes([n]) * 32 for n in range(5)]
    kept = ShapeFile(path, kept=3)
    for tag in tags:
        kept.add(tag)
    kept.add(tags[0])  # already there: not written twice
    assert path.read_bytes().splitlines() == [t.hex().encode() for t in tags[:3]]
    other = ShapeFile(path, kept=3)  # another process reads them
    assert [other.holds(t) for t in tags] == [True, True, True, False, False]
    # a line being written by another process, and lines that are not tags, are not taken
    with open(path, "ab") as handle:
        handle.write(b"not a tag\n" + b"ab" * 16 + b"\n" + tags[3].hex().encode()[:40])
    assert not other.holds(tags[3])
    with open(path, "ab") as handle:
        handle.write(tags[3].hex().encode()[40:] + b"\n")
    assert other.holds(tags[3])  # the line, once whole


def test_a_file_replaced_by_a_shorter_one_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    reader = ShapeFile(path)
    ShapeFile(path).add(b"\x01" * 32)
    ShapeFile(path).add(b"\x02" * 32)
    assert reader.holds(b"\x01" * 32)
    path.unlink()
    ShapeFile(path).add(b"\x03" * 32)
    assert reader.holds(b"\x03" * 32)


def test_a_file_that_cannot_be_written_loses_nothing_but_the_memory(
    parties: Parties, tmp_path: Path, validations: list[str]
) -> None:
    path = tmp_path / "no such directory" / FILE_NAME
    [(shipment, bundle)] = built(parties, validations)
    memo = ShapeMemo(remembered=ShapeFile(path), secret=SECRET)
    assert judged(parties, memo, shipment, bundle) == []
    assert judged(parties, memo, shipment, bundle) == []  # this process still remembers
    assert len(validations) == 1
    assert not path.exists()


def test_a_new_process_judges_a_remembered_shape_without_importing_the_validator(
    parties: Parties, tmp_path: Path
) -> None:
    path = tmp_path / FILE_NAME
    shipment = make_shipment()
    bundle = parties.build(shipment)
    signature = bundle["objects"][4]["extensions"][EXTENSION_ID]["signature"]
    shape = _shape(shipment, fingerprint(parties.hpke_public), signature)
    (tmp_path / "case.json").write_text(json.dumps({"bundle": bundle, "shape": shape}))
    code = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from gsomia.exchange.stixcheck import ShapeMemo
        from gsomia.store.shapefile import ShapeFile
        case = json.loads(Path({str(tmp_path / "case.json")!r}).read_text())
        memo = ShapeMemo(remembered=ShapeFile(Path({str(path)!r})), secret=bytes(range(32)))
        problems = memo.problems(case["bundle"], case["shape"])
        print(json.dumps({{"problems": problems, "validated": memo.validated,
                          "imported": "stix2validator" in sys.modules}}))
        """
    )

    def run() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    assert run() == {"problems": [], "validated": 1, "imported": True}
    assert run() == {"problems": [], "validated": 0, "imported": False}


def _node(tmp: Path, party: str, store: MemoryStore, keys: NodeKeys, clock: Clock | None = None) -> Services:
    where = tmp / party.lower()
    where.mkdir(exist_ok=True)
    settings = Settings.resolve({"node_dir": str(where), "party": party})
    return compose(store, keys, settings) if clock is None else compose(store, keys, settings, clock)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Pair, MemoryStore, NodeKeys]]:
    clock = Clock()
    jpn_store, jpn_keys = MemoryStore(), NodeKeys.generate()
    kor = _node(tmp_path, "KOR", MemoryStore(), NodeKeys.generate(), clock)
    jpn = _node(tmp_path, "JPN", jpn_store, jpn_keys)
    kor.import_world(WORLD)
    jpn.import_world(WORLD)
    token = kor.partners.add(jpn.partners.own_card()).token
    jpn.partners.add(kor.partners.own_card(URL), url=URL, token=token)
    yield Pair(kor, jpn, clock), jpn_store, jpn_keys
    kor.close()
    jpn.close()


def test_a_node_remembers_the_shapes_it_built_and_took_and_a_new_process_takes_them_unvalidated(
    pair: tuple[Pair, MemoryStore, NodeKeys], tmp_path: Path, validations: list[str]
) -> None:
    two, jpn_store, jpn_keys = pair
    two.release("K-1")
    assert [r.status for r in two.jpn.sync.run(two.pull)] == ["accepted"]
    assert len(validations) == 2  # KOR built it, JPN took it: each judged the new shape
    for party in ("kor", "jpn"):
        assert len((tmp_path / party / FILE_NAME).read_bytes().splitlines()) == 1
    # JPN again, as a new process would be: the same store and keys, services (and memo) of its own
    later = Pair(two.kor, _node(tmp_path, "JPN", jpn_store, jpn_keys), two.clock)
    later.release("K-2")
    assert [r.status for r in later.jpn.sync.run(later.pull) if r.new] == ["accepted"]
    assert len(validations) == 2  # KOR's memo knew the shape; JPN's new one took it from the file


def test_installing_a_format_checker_jsonschema_would_prefer_changes_every_tag(
    parties: Parties, tmp_path: Path, validations: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """jsonschema checks ``uri`` with ``rfc3987`` when it is installed, else ``rfc3986-validator``: either
    change makes a remembered verdict another judge's."""
    import importlib.metadata

    path = tmp_path / FILE_NAME
    [(shipment, bundle)] = built(parties, validations)
    judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), shipment, bundle)
    real = importlib.metadata.version

    def with_rfc3987(name: str) -> str:
        return "1.3.8" if name == "rfc3987" else real(name)

    stixcheck.judges.cache_clear()
    monkeypatch.setattr(importlib.metadata, "version", with_rfc3987)
    try:
        assert b"rfc3987=1.3.8" in stixcheck.judges()
        judged(parties, ShapeMemo(remembered=ShapeFile(path), secret=SECRET), shipment, bundle)
    finally:
        monkeypatch.undo()
        stixcheck.judges.cache_clear()
    assert len(validations) == 2
    assert all(f"{name}=".encode() in stixcheck.judges() for name in stixcheck.JUDGES)
