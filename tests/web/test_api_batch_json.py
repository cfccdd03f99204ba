"""The batch route's reading of its body (orjson first) and its answer (pieces joined by slices) keep their
meaning:

- every body reads as the standard library alone read it: the same queries when the quick check takes
  them, else the same 400 or the same 422 with the same fields and the same inputs (a body orjson refuses
  or reads otherwise, such as a lone surrogate, UTF-16, NaN or a huge number, is read again by the
  standard library);
- a batch's answer is, byte for byte, the decisions' texts one by one, joined in order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from gsomia.web.api import decisions, fast
from gsomia.web.api import models as m

from .conftest import Api
from .test_api_fast import queries_of

V1 = "/api/v1"
GOOD = '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22"}'
HUGE = 123456789012345678901234567890  # orjson reads this as a float; the model must see the int


def _body(*queries: str) -> bytes:
    return ('{"queries": [' + ", ".join(queries) + "]}").encode()


BODIES: list[bytes] = [
    _body(GOOD),
    b'\n {"queries" :[ {"at":"2019-11-22" , "to":"JPN","item":"K-MSL-1"} ] }\n',
    _body(GOOD, '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": null}'),
    _body(GOOD, '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": "KOR"}'),
    _body('{"item": "\\u00e9-\\uad6d", "to": "J\\/PN", "at": "2019-11-22"}'),
    '{"queries": [{"item": "é-국", "to": "JPN", "at": "2019-11-22"}]}'.encode(),
    _body('{"item": "K-MSL-1", "item": "K", "to": "JPN", "at": "2019-11-22"}'),  # the last one counts
    _body('{"item": "K\\udc00R", "to": "JPN", "at": "2019-11-22"}'),  # a lone surrogate, escaped
    b'{"queries": [{"item": "K\xed\xb0\x80R", "to": "JPN", "at": "2019-11-22"}]}',  # ... and raw
    b"\xef\xbb\xbf" + _body(GOOD),  # a byte-order mark
    _body(GOOD).decode().encode("utf-16"),
    _body('{"item": NaN, "to": "JPN", "at": "2019-11-22"}'),
    _body(f'{{"item": {HUGE}, "to": "JPN", "at": "2019-11-22"}}'),
    _body('{"item": "K-MSL-1", "to": 1e400, "at": "2019-11-22"}'),
    _body(GOOD, f'{{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": {HUGE}}}'),
    _body(GOOD, '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": ["KOR"]}'),
    _body(GOOD, '{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": {"a": 1}}'),
    _body('{"item": "K-MSL-1", "to": "JPN", "at": "2019-11-22", "holder": "KOR", "x": 1}'),
    _body('{"item": "K-MSL-1", "to": "JPN", "at": "2019-02-30"}'),
    _body('{"item": "K-MSL-1", "to": "JPN"}'),
    _body('["K-MSL-1", "JPN", "2019-11-22"]'),
    _body('"K-MSL-1"'),
    b'{"queries": null}',
    b'{"queries": []}',
    b"[" * 5_000 + b"]" * 5_000,
    b'{"queries": [' + GOOD.encode() + b"]",
    b"",
    b'"\xff"',
]


def _standard(raw: bytes) -> Any:
    """What the route made of ``raw`` when the standard library alone read it (the quick check's queries,
    the model's, "json_invalid", or the model's errors with their inputs)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "json_invalid"
    quick = fast.quick_batch(data)
    if quick is not None:
        return quick
    try:
        return fast.from_model(m.Batch.model_validate(data))
    except ValidationError as error:
        return [(e["type"], ("body", *e["loc"]), repr(e["input"])) for e in error.errors(include_url=False)]


def _route(raw: bytes) -> Any:
    try:
        return decisions._batch_of(raw)
    except RequestValidationError as error:
        found = list(error.errors())
        if [e["type"] for e in found] == ["json_invalid"]:
            return "json_invalid"
        return [(e["type"], tuple(e["loc"]), repr(e["input"])) for e in found]


@pytest.mark.parametrize("raw", BODIES, ids=range(len(BODIES)))
def test_a_body_reads_as_the_standard_library_read_it(raw: bytes) -> None:
    assert _route(raw) == _standard(raw)


def test_the_bodies_cover_queries_taken_422s_and_400s() -> None:
    """The list above reaches every outcome, and the huge number reaches the model as the int it is."""
    outcomes = [_route(raw) for raw in BODIES]
    assert sum(isinstance(o, fast.BatchQueries) for o in outcomes) >= 5
    assert sum(o == "json_invalid" for o in outcomes) >= 3
    assert sum(isinstance(o, list) for o in outcomes) >= 10
    huge = _route(_body(f'{{"item": {HUGE}, "to": "JPN", "at": "2019-11-22"}}'))
    assert ("string_type", ("body", "queries", 0, "item"), repr(HUGE)) in huge


def test_the_quick_check_gives_the_distinct_items_as_the_model_does() -> None:
    data = {"queries": [json.loads(GOOD), {**json.loads(GOOD), "item": "K"}, json.loads(GOOD)]}
    quick = fast.quick_batch(data)
    assert quick is not None
    assert quick.items == {"K-MSL-1", "K"}
    assert quick == fast.from_model(m.Batch.model_validate(data))


def test_a_batch_answer_is_the_decisions_texts_one_by_one_in_order(api: Api) -> None:
    """The answer, byte for byte, first with every class new, then warm, then with kept classes beside
    new items, days and recipients: the single decisions' texts (each worked out alone) joined in order."""
    queries, _world = queries_of(api, 900, seed=12)
    officer = api.auth("officer")
    world = api.services.worldbook.full_world()
    alone = fast.DecisionText(world)

    def expected(batch: list[dict[str, Any]]) -> bytes:
        texts = [alone.decision(q["item"], q["to"], q["at"], q.get("holder")).encode() for q in batch]
        return b'{"decisions":[' + b",".join(texts) + b"]}"

    for batch in (queries[:300], queries[:300], queries[150:], queries[:1]):
        answer = api.client.post(f"{V1}/decisions:batch", json={"queries": batch}, headers=officer)
        assert answer.status_code == 200
        assert answer.content == expected(batch)
