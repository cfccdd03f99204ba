"""The TAXII 2.1 routes, through FastAPI's TestClient over an in-memory source of 2,500 objects."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsomia.domain.errors import GsomiaError, LifecycleError, QueryError
from gsomia.services.errors import ConsentStateError, TamperError, UnknownConsentError
from gsomia.web.app import create_app
from gsomia.web.problems import install_error_handlers, problem, status_for
from gsomia.web.taxii import (
    MAX_LIMIT,
    Cursor,
    Page,
    PageQuery,
    StatusInfo,
    decode_next,
    encode_next,
    parse_timestamp,
    taxii_json,
    taxii_router,
)

with warnings.catch_warnings():  # Starlette asks for httpx2 over httpx; either drives the app the same way
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from . import DROP, EMPTY, JPN_ONLY, SHARED, START, TOKENS, TYPES, MemorySource, seeded_source, stix_id

TAXII = "application/taxii+json;version=2.1"
ROOT = "/taxii2/gsomia"
OBJECTS = f"{ROOT}/collections/{SHARED}/objects/"
COUNT, REVISED_EVERY = 2500, 10
KOR, JPN, USA = (("KOR", TOKENS["KOR"]), ("JPN", TOKENS["JPN"]), ("USA", TOKENS["USA"]))


@pytest.fixture
def source() -> MemorySource:
    return seeded_source(COUNT, REVISED_EVERY)


@pytest.fixture
def client(source: MemorySource) -> Iterator[TestClient]:
    with TestClient(create_app(source)) as test_client:
        yield test_client


def walk(
    client: TestClient, url: str, params: dict[str, str] | None = None, auth: tuple[str, str] = KOR
) -> list[httpx.Response]:
    """Every page of a paged endpoint, following ``next`` until ``more`` is false."""
    params = params or {}
    pages = [client.get(url, params=params, auth=auth)]
    while pages[-1].json().get("more"):
        assert pages[-1].status_code == 200
        pages.append(client.get(url, params={**params, "next": pages[-1].json()["next"]}, auth=auth))
    assert all(p.status_code == 200 for p in pages)
    return pages


def listed(pages: list[httpx.Response]) -> list[dict[str, Any]]:
    """The objects (or manifest records) of pages, in order."""
    return [o for page in pages for o in page.json().get("objects", [])]


def is_taxii_error(response: httpx.Response, status: int) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and response.headers["content-type"] == TAXII
        and body["http_status"] == str(status)
        and bool(body["title"])
        and bool(body["description"])
        and "objects" not in body
    )


# -------------------------------------------------------------------------------- discovery and collections


def test_discovery_names_the_api_root_as_an_absolute_url(client: TestClient) -> None:
    response = client.get("/taxii2/", auth=KOR)
    assert response.status_code == 200
    assert response.headers["content-type"] == TAXII
    body = response.json()
    assert body["api_roots"] == [f"http://testserver{ROOT}/"]
    assert body["default"] == body["api_roots"][0]
    assert body["title"]


def test_api_root_information_lists_taxii_2_1_and_the_content_limit(client: TestClient) -> None:
    body = client.get(f"{ROOT}/", auth=KOR).json()
    assert body["versions"] == [TAXII]
    assert body["max_content_length"] > 0


def test_each_party_lists_only_its_own_collections_with_its_own_rights(client: TestClient) -> None:
    kor = {c["id"]: c for c in client.get(f"{ROOT}/collections/", auth=KOR).json()["collections"]}
    jpn = {c["id"]: c for c in client.get(f"{ROOT}/collections/", auth=JPN).json()["collections"]}
    assert set(kor) == {SHARED, EMPTY}
    assert set(jpn) == {SHARED, JPN_ONLY}
    assert kor[SHARED]["can_write"] is True
    assert jpn[SHARED]["can_write"] is False
    assert kor[SHARED]["media_types"] == ["application/stix+json;version=2.1"]


def test_a_collection_is_described_to_its_party_and_refused_to_others(client: TestClient) -> None:
    mine = client.get(f"{ROOT}/collections/{SHARED}/", auth=KOR)
    assert mine.status_code == 200
    assert mine.json()["id"] == SHARED
    for path in ("", "objects/", "manifest/", f"objects/{stix_id('report', 10_000)}/"):
        refused = client.get(f"{ROOT}/collections/{JPN_ONLY}/{path}", auth=KOR)
        assert is_taxii_error(refused, 403), path
        assert "JPN's own" not in refused.text


def test_a_party_with_no_collections_gets_an_empty_list(source: MemorySource, client: TestClient) -> None:
    source.grants["KOR"] = []
    response = client.get(f"{ROOT}/collections/", auth=KOR)
    assert response.status_code == 200
    assert response.json() == {}


# ---------------------------------------------------------------------------------------------- pagination


def test_walking_2500_objects_1000_at_a_time_serves_each_once_as_its_last_version(client: TestClient) -> None:
    pages = walk(client, OBJECTS, {"limit": "1000"})
    assert [len(p.json()["objects"]) for p in pages] == [1000, 1000, COUNT - 2000]
    objects = [o for p in pages for o in p.json()["objects"]]
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids)) == COUNT
    assert set(ids) == {stix_id(TYPES[n % 3], n) for n in range(COUNT)}
    revised = {stix_id(TYPES[n % 3], n) for n in range(0, COUNT, REVISED_EVERY)}
    for obj in objects:
        assert (obj["modified"] > obj["created"]) == (obj["id"] in revised)


def test_pages_come_in_date_added_order_with_first_and_last_headers(client: TestClient) -> None:
    pages = walk(client, f"{ROOT}/collections/{SHARED}/manifest/", {"limit": "1000"})
    records = [r for p in pages for r in p.json()["objects"]]
    added = [parse_timestamp(r["date_added"]) for r in records]
    assert added == sorted(added)
    assert len(records) == COUNT
    for page in pages:
        body = page.json()["objects"]
        assert page.headers["X-TAXII-Date-Added-First"] == body[0]["date_added"]
        assert page.headers["X-TAXII-Date-Added-Last"] == body[-1]["date_added"]
    assert {r["media_type"] for r in records} == {"application/stix+json;version=2.1"}


def test_next_is_a_position_not_an_offset_so_revisions_mid_walk_skip_nothing(
    source: MemorySource, client: TestClient
) -> None:
    """An object revised after page one leaves its old place; an offset would then skip a neighbour."""
    first = client.get(OBJECTS, params={"limit": 1000}, auth=KOR).json()
    revisit = first["objects"][1]  # served already; its new version is added at the end
    source.add(SHARED, {**revisit, "modified": "2025-01-01T00:00:00.000000Z"}, START + timedelta(days=400))
    rest = walk(client, OBJECTS, {"limit": "1000", "next": first["next"]})
    seen = [
        (o["id"], o["modified"]) for o in first["objects"] + [o for p in rest for o in p.json()["objects"]]
    ]
    assert len(seen) == len(set(seen)) == COUNT + 1
    assert {i for i, _ in seen} == {stix_id(TYPES[n % 3], n) for n in range(COUNT)}
    assert seen[-1] == (revisit["id"], "2025-01-01T00:00:00.000000Z")


def test_the_next_token_is_opaque_and_bound_to_its_collection() -> None:
    cursor = Cursor(START + timedelta(microseconds=7), 1234)
    token = encode_next(SHARED, cursor)
    assert decode_next(SHARED, token) == cursor
    assert "1234" not in token
    with pytest.raises(GsomiaError, match="start without next"):
        decode_next(EMPTY, token)


def test_a_page_the_source_withheld_entirely_still_says_where_to_resume(client: TestClient) -> None:
    class Withholding(MemorySource):
        def page(self, collection_id: str, party: str, query: PageQuery) -> Page:
            return Page([], more=query.after is None, resume=Cursor(START, 99))

    app = create_app(Withholding(grants=seeded_source(3).grants))
    with TestClient(app) as quiet:
        body = quiet.get(OBJECTS, auth=KOR)
        assert body.json()["more"] is True
        assert "objects" not in body.json()
        assert "X-TAXII-Date-Added-First" not in body.headers
        after = quiet.get(OBJECTS, params={"next": body.json()["next"]}, auth=KOR)
        assert after.json() == {"more": False}


def test_limit_is_read_as_a_number_and_capped_at_the_maximum(client: TestClient) -> None:
    assert len(client.get(OBJECTS, params={"limit": "0000000000007"}, auth=KOR).json()["objects"]) == 7
    for limit in (str(MAX_LIMIT + 1), "9" * 200):
        body = client.get(OBJECTS, params={"limit": limit}, auth=KOR).json()
        assert len(body["objects"]) == MAX_LIMIT
        assert body["more"] is True


def test_an_empty_collection_is_an_empty_envelope(client: TestClient) -> None:
    response = client.get(f"{ROOT}/collections/{EMPTY}/objects/", auth=KOR)
    assert response.status_code == 200
    assert response.json() == {"more": False}
    assert "X-TAXII-Date-Added-Last" not in response.headers


# ----------------------------------------------------------------------------------------------- filters


def test_added_after_serves_only_what_came_later(client: TestClient) -> None:
    cut = START + timedelta(days=10)  # after every first version, before every revision
    objects = listed(walk(client, OBJECTS, {"added_after": "2024-01-11T00:00:00Z"}))
    assert len(objects) == len(range(0, COUNT, REVISED_EVERY))
    assert all(parse_timestamp(o["modified"]) > cut for o in objects)


def test_added_after_the_last_header_resumes_a_poll_without_repeats(client: TestClient) -> None:
    page = client.get(OBJECTS, params={"limit": 10}, auth=KOR)
    later = client.get(
        OBJECTS, params={"limit": 10, "added_after": page.headers["X-TAXII-Date-Added-Last"]}, auth=KOR
    )
    assert not {o["id"] for o in page.json()["objects"]} & {o["id"] for o in later.json()["objects"]}
    assert later.headers["X-TAXII-Date-Added-First"] > page.headers["X-TAXII-Date-Added-Last"]


def test_match_type_keeps_only_those_types(client: TestClient) -> None:
    reports = listed(walk(client, OBJECTS, {"match[type]": "report"}))
    assert {o["type"] for o in reports} == {"report"}
    assert len(reports) == len([n for n in range(COUNT) if TYPES[n % 3] == "report"])
    two = listed(walk(client, OBJECTS, {"match[type]": "note,indicator"}))
    assert len(two) == COUNT - len(reports)


def test_match_id_and_version_pick_versions_of_one_object(client: TestClient) -> None:
    revised = stix_id(TYPES[0], 0)
    versions = {
        which: [
            o["modified"]
            for o in listed(
                [client.get(OBJECTS, params={"match[id]": revised, "match[version]": which}, auth=KOR)]
            )
        ]
        for which in ("first", "last", "all", "first,last")
    }
    assert len(versions["all"]) == 2
    assert versions["first"] == [min(versions["all"])]
    assert versions["last"] == [max(versions["all"])]
    assert sorted(versions["first,last"]) == sorted(versions["all"])
    exact = client.get(
        OBJECTS, params={"match[version]": versions["first"][0], "match[id]": revised}, auth=KOR
    )
    assert [o["modified"] for o in exact.json()["objects"]] == versions["first"]
    both = client.get(OBJECTS, params={"match[id]": f"{revised},{stix_id(TYPES[1], 1)}"}, auth=KOR).json()
    assert len(both["objects"]) == 2


def test_one_object_and_its_versions(client: TestClient) -> None:
    revised, plain = stix_id(TYPES[0], 0), stix_id(TYPES[1], 1)
    one = client.get(f"{OBJECTS}{revised}/", auth=KOR)
    assert one.status_code == 200
    assert [o["id"] for o in one.json()["objects"]] == [revised]
    every = client.get(f"{OBJECTS}{revised}/", params={"match[version]": "all"}, auth=KOR).json()["objects"]
    assert len(every) == 2
    versions = client.get(f"{OBJECTS}{revised}/versions/", auth=KOR).json()
    assert versions["versions"] == sorted(o["modified"] for o in every)
    assert len(client.get(f"{OBJECTS}{plain}/versions/", auth=KOR).json()["versions"]) == 1


def test_an_unknown_or_malformed_object_id_is_404(client: TestClient) -> None:
    for object_id in (stix_id("report", 999_999), "not-an-id", "report--" + "0" * 36):
        assert is_taxii_error(client.get(f"{OBJECTS}{object_id}/", auth=KOR), 404), object_id
        assert is_taxii_error(client.get(f"{OBJECTS}{object_id}/versions/", auth=KOR), 404), object_id


def test_an_object_the_source_withholds_from_a_party_is_absent_for_it_alone(
    source: MemorySource, client: TestClient
) -> None:
    hidden = stix_id(TYPES[5 % 3], 5)
    source.withheld.add(("JPN", hidden))
    jpn = {o["id"] for o in listed(walk(client, OBJECTS, auth=JPN))}
    assert hidden not in jpn
    assert len(jpn) == COUNT - 1
    assert is_taxii_error(client.get(f"{OBJECTS}{hidden}/", auth=JPN), 404)
    manifest = listed(walk(client, f"{ROOT}/collections/{SHARED}/manifest/", auth=JPN))
    assert hidden not in {r["id"] for r in manifest}
    assert client.get(f"{OBJECTS}{hidden}/", auth=KOR).status_code == 200


# ------------------------------------------------------------------------------------- pushing and status


def envelope(*ids: str) -> dict[str, Any]:
    return {
        "objects": [
            {"type": "note", "spec_version": "2.1", "id": i, "created": "2024-06-01T00:00:00.000Z"}
            for i in ids
        ]
    }


def test_a_push_is_accepted_with_a_status_the_pusher_alone_can_read(
    source: MemorySource, client: TestClient
) -> None:
    pushed = envelope(stix_id("note", 50_000), stix_id("note", 50_001))
    response = client.post(OBJECTS, content=json.dumps(pushed), headers={"Content-Type": TAXII}, auth=KOR)
    assert response.status_code == 202
    assert response.headers["content-type"] == TAXII
    status = response.json()
    assert (status["status"], status["total_count"], status["success_count"]) == ("complete", 2, 2)
    assert {s["id"] for s in status["successes"]} == {o["id"] for o in pushed["objects"]}
    again = client.get(f"{ROOT}/status/{status['id']}/", auth=KOR)
    assert again.json() == status
    assert is_taxii_error(client.get(f"{ROOT}/status/{status['id']}/", auth=JPN), 404)
    assert client.get(f"{OBJECTS}{stix_id('note', 50_000)}/", auth=JPN).status_code == 200


def test_a_push_reports_failed_objects_in_its_status(client: TestClient) -> None:
    pushed = {"objects": [{"type": "note", "id": stix_id("note", 60_000)}]}
    status = client.post(OBJECTS, json=pushed, auth=KOR).json()  # application/json is accepted too
    assert (status["failure_count"], status["success_count"]) == (1, 0)
    assert status["failures"][0]["message"]


def test_a_push_needs_write_rights_and_a_write_only_collection_cannot_be_read(client: TestClient) -> None:
    pushed = envelope(stix_id("note", 70_000))
    assert is_taxii_error(client.post(OBJECTS, json=pushed, auth=JPN), 403)
    drop = f"{ROOT}/collections/{DROP}/objects/"
    assert client.post(drop, json=pushed, auth=USA).status_code == 202
    assert is_taxii_error(client.get(drop, auth=USA), 403)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b'{"objects": [NaN]}', "not JSON"),
        (b'{"objects": [{"type": "note", "id": "note--x", "size": 1e999}]}', "too large a number"),
        (b'{"objects": [{"type": "note", "id": "note--x", "size": ' + b"9" * 5000 + b"}]}", "not JSON"),
        (b"[]", "envelope"),
        (b'{"objects": []}', "envelope"),
        (b'{"objects": "many"}', "envelope"),
        (b'{"objects": [1]}', "objects[0]"),
        (b'{"objects": [{"type": "note", "id": 5}]}', "objects[0]"),
        (b'{"objects": [{"type": "note", "id": "note--x"}]}', "not a STIX id"),
        (
            json.dumps(envelope(stix_id("report", 1))).replace('"note"', '"indicator"').encode(),
            "not a STIX id",
        ),
    ],
)
def test_a_bad_envelope_is_400_saying_what_is_wrong(client: TestClient, body: bytes, words: str) -> None:
    response = client.post(OBJECTS, content=body, headers={"Content-Type": TAXII}, auth=KOR)
    assert is_taxii_error(response, 400)
    assert words in response.json()["description"]


def test_a_push_in_another_media_type_or_too_large_is_refused(source: MemorySource) -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(taxii_router(source, max_content_length=1000))
    with TestClient(app) as small:
        text = json.dumps(envelope(*(stix_id("note", n) for n in range(80_000, 80_020))))
        assert is_taxii_error(
            small.post(OBJECTS, content=text, headers={"Content-Type": TAXII}, auth=KOR), 413
        )
        for media in ("text/plain", "application/taxii+json;version=2.0", ""):
            assert is_taxii_error(
                small.post(OBJECTS, content="{}", headers={"Content-Type": media}, auth=KOR), 415
            )

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
            yield text.encode()[:600]
            yield text.encode()[600:]

        streamed = small.post(OBJECTS, content=chunks(), headers={"Content-Type": TAXII}, auth=KOR)
        assert is_taxii_error(streamed, 413)


def test_an_unknown_status_is_404(client: TestClient) -> None:
    assert is_taxii_error(client.get(f"{ROOT}/status/nope/", auth=KOR), 404)
    assert is_taxii_error(client.get(f"{ROOT}/status/{'x' * 5000}/", auth=KOR), 404)


# ---------------------------------------------------------------------------------------- authentication

EVERY_GET = [
    "/taxii2/",
    f"{ROOT}/",
    f"{ROOT}/collections/",
    f"{ROOT}/collections/{SHARED}/",
    OBJECTS,
    f"{OBJECTS}{stix_id(TYPES[0], 0)}/",
    f"{OBJECTS}{stix_id(TYPES[0], 0)}/versions/",
    f"{ROOT}/collections/{SHARED}/manifest/",
    f"{ROOT}/status/anything/",
]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("path", EVERY_GET)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic("KOR", "wrong"),
        basic("KOR", TOKENS["JPN"]),  # a real token, but not KOR's
        basic("NOBODY", TOKENS["KOR"]),
        basic("", TOKENS["KOR"]),
        basic("KOR", ""),
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"\xff:\xfe").decode(),
        "Bearer wrong",
        "Bearer ",
        f"Digest {TOKENS['KOR']}",
        "Bearer " + "k" * 10_000,
    ],
)
def test_no_or_bad_credentials_are_401_with_a_challenge(
    client: TestClient, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get(path, headers=headers)
    assert is_taxii_error(response, 401)
    assert "Basic" in response.headers["WWW-Authenticate"]
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_push_without_credentials_is_401(client: TestClient) -> None:
    assert is_taxii_error(client.post(OBJECTS, json=envelope(stix_id("note", 1)), auth=("KOR", "x")), 401)


def test_a_bearer_token_alone_names_the_party(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKENS['JPN']}"}
    found = {c["id"] for c in client.get(f"{ROOT}/collections/", headers=headers).json()["collections"]}
    assert found == {SHARED, JPN_ONLY}


# ------------------------------------------------------------------------------------ bad input, never 5xx


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "abc"},
        {"limit": "-1"},
        {"limit": "0"},
        {"limit": "00"},
        {"limit": "1.5"},
        {"limit": ""},
        {"limit": "١٠"},  # Arabic-Indic digits: str.isdigit() says yes, int() would too
        {"limit": ["1", "2"]},
        {"added_after": "yesterday"},
        {"added_after": "2024-13-01T00:00:00Z"},
        {"added_after": "2024-01-01"},
        {"added_after": "2024-01-01T00:00:00+09:00"},
        {"next": "garbage"},
        {"next": "x" * 1000},
        {"next": encode_next(EMPTY, Cursor(START, 1))},
        {"next": base64.urlsafe_b64encode(json.dumps([SHARED, 10**30, 1]).encode()).decode()},
        {"next": base64.urlsafe_b64encode(json.dumps([SHARED, 1.5, 1]).encode()).decode()},
        {"next": base64.urlsafe_b64encode(b"[" * 300).decode()},
        {"match[id]": "not-an-id"},
        {"match[type]": "BAD!"},
        {"match[type]": ","},
        {"match[type]": ",".join(["note"] * 101)},
        {"match[version]": "yesterday"},
    ],
)
def test_bad_query_parameters_are_400_in_taxii_shape(client: TestClient, params: dict[str, Any]) -> None:
    for url in (OBJECTS, f"{ROOT}/collections/{SHARED}/manifest/"):
        response = client.get(url, params=params, auth=KOR)
        assert is_taxii_error(response, 400), (url, params, response.text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(["limit", "next", "added_after", "match[id]", "match[type]", "match[version]"]),
        st.text(max_size=60),
        max_size=4,
    )
)
def test_no_query_string_gives_a_server_error(client: TestClient, params: dict[str, str]) -> None:
    response = client.get(OBJECTS, params=params, auth=KOR)
    assert response.status_code in (200, 400)
    assert response.headers["content-type"] == TAXII


def test_accept_headers_are_taxii_2_1_json_or_plain_json(client: TestClient) -> None:
    for accept in (TAXII, "application/taxii+json", "application/json", "*/*", "text/html, application/json"):
        response = client.get(f"{ROOT}/collections/", headers={"Accept": accept}, auth=KOR)
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == TAXII
    for accept in ("text/html", "application/taxii+json;version=2.0", "application/xml"):
        assert is_taxii_error(client.get(f"{ROOT}/collections/", headers={"Accept": accept}, auth=KOR), 406)


def test_unknown_paths_and_methods_are_json_errors(client: TestClient) -> None:
    assert is_taxii_error(client.get("/taxii2/elsewhere/", auth=KOR), 404)
    assert is_taxii_error(client.get(f"{ROOT}/collections/{SHARED}/objects/x/y/z/", auth=KOR), 404)
    assert is_taxii_error(client.delete(f"{OBJECTS}{stix_id(TYPES[0], 0)}/", auth=KOR), 405)
    outside = client.get("/nothing-here")
    assert outside.status_code == 404
    assert outside.headers["content-type"] == "application/problem+json"
    assert outside.json()["status"] == 404


# --------------------------------------------------------------------------------------- errors and app


class Raising(MemorySource):
    error: GsomiaError = QueryError("unset")

    def accept(self, collection_id: str, party: str, envelope: dict[str, Any]) -> StatusInfo:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (QueryError("no item X-1; add it first"), 400),
        (UnknownConsentError("no consent c-9"), 404),
        (ConsentStateError("consent c-1 was denied; request it again"), 409),
        (LifecycleError("nothing to suspend"), 409),
        (TamperError("leaf 12 is not proven by the signed head"), 503),
    ],
)
def test_errors_from_the_source_map_to_4xx_and_hide_node_faults(error: GsomiaError, status: int) -> None:
    source = Raising(grants=seeded_source(3).grants)
    source.error = error
    assert status_for(error) == status
    with TestClient(create_app(source)) as client:
        response = client.post(OBJECTS, json=envelope(stix_id("note", 1)), auth=KOR)
    assert is_taxii_error(response, status)
    shown = response.json()["description"]
    assert (str(error) in shown) == (status < 500)


def test_a_bug_in_the_source_is_a_500_that_shows_nothing_of_it() -> None:
    class Broken(MemorySource):
        def collections_for(self, party: str) -> list[Any]:
            raise RuntimeError("secret detail")

    with TestClient(create_app(Broken()), raise_server_exceptions=False) as client:
        response = client.get(f"{ROOT}/collections/", auth=KOR)
    assert is_taxii_error(response, 500)
    assert "secret" not in response.text


def test_problem_documents_follow_rfc_9457() -> None:
    response = problem(409, "Conflict", "consent c-1 was denied", consent="c-1")
    assert response.status_code == 409
    assert response.media_type == "application/problem+json"
    assert json.loads(bytes(response.body)) == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "consent c-1 was denied",
        "consent": "c-1",
    }


def test_create_app_joins_extra_routers_and_serves_taxii_only_with_a_source() -> None:
    extra = APIRouter()

    @extra.get("/api/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    with TestClient(create_app(extra_routers=[extra])) as client:
        assert client.get("/api/ping").json() == {"pong": "yes"}
        assert client.get("/taxii2/", auth=KOR).status_code == 404
        assert client.get("/openapi.json").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"objects": [{"id": "x--1", "name": "極秘", "n": 3, "f": 0.5, "ok": True, "none": None}]},
        {"huge": 2**70},  # beyond orjson's 64 bits: written by the standard library instead
    ],
)
def test_a_taxii_response_is_the_json_of_its_body(body: dict[str, Any]):
    rendered = taxii_json(body).body
    assert json.loads(rendered) == body
    assert rendered.decode("utf-8")  # UTF-8, as TAXII's media type says
