"""The TAXII routes as a real partner sees them: uvicorn on 127.0.0.1 and the taxii2-client library."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests
import uvicorn
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages  # type: ignore[import-untyped]

from gsomia.web.app import create_app

from . import JPN_ONLY, SHARED, TOKENS, TYPES, MemorySource, seeded_source, stix_id

COUNT = 2500


@pytest.fixture
def source() -> MemorySource:
    return seeded_source(COUNT)


@pytest.fixture
def base_url(source: MemorySource, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A uvicorn server in a thread, on a socket bound here (so no port race), stopped after the test."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(source), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):  # up to 30 s; it takes well under one
        if server.started or not thread.is_alive():
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_a_partner_discovers_lists_and_pages_through_every_object(base_url: str) -> None:
    server = Server(f"{base_url}/taxii2/", user="JPN", password=TOKENS["JPN"])
    assert server.title
    [root] = server.api_roots
    assert isinstance(root, ApiRoot)
    assert root.versions == ["application/taxii+json;version=2.1"]
    by_id = {c.id: c for c in root.collections}
    assert set(by_id) == {SHARED, JPN_ONLY}
    shared: Collection = by_id[SHARED]
    assert shared.can_read
    assert not shared.can_write

    envelopes = list(as_pages(shared.get_objects, per_request=1000))
    assert [len(e["objects"]) for e in envelopes] == [1000, 1000, COUNT - 2000]
    ids = [o["id"] for e in envelopes for o in e["objects"]]
    assert len(ids) == len(set(ids)) == COUNT
    assert set(ids) == {stix_id(TYPES[n % 3], n) for n in range(COUNT)}

    manifest = list(as_pages(shared.get_manifest, per_request=1000))
    assert sum(len(e["objects"]) for e in manifest) == COUNT
    one = shared.get_object(ids[0])
    assert [o["id"] for o in one["objects"]] == [ids[0]]


def test_a_partner_pushes_an_envelope_and_reads_its_status(base_url: str) -> None:
    root = ApiRoot(f"{base_url}/taxii2/gsomia/", user="KOR", password=TOKENS["KOR"])
    shared = next(c for c in root.collections if c.id == SHARED)
    note = {
        "type": "note",
        "spec_version": "2.1",
        "id": stix_id("note", 90_000),
        "created": "2024-06-01T00:00:00.000Z",
        "content": "receipt",
    }
    status = shared.add_objects({"objects": [note]}, wait_for_completion=False)
    assert status.status == "complete"
    assert status.success_count == 1
    assert root.get_status(status.id).successes == [{"id": note["id"], "version": note["created"]}]


def test_a_wrong_password_is_refused_with_401(base_url: str) -> None:
    server = Server(f"{base_url}/taxii2/", user="JPN", password="not-the-token")
    with pytest.raises(requests.HTTPError) as refused:
        server.refresh()
    response = refused.value.response
    assert response is not None
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]
