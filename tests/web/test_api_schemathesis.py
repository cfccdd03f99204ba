"""schemathesis against /api/v1/openapi.json: every operation, by every role and with no credentials.

Valid and invalid requests are generated from the document itself (schemathesis's positive and negative
modes); every answer must be no 5xx, a status the operation documents, in the media type it documents,
with a body and headers that match its schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gsomia.services.users import ROLES

from .conftest import BODY_ITEM, Api

V1 = "/api/v1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES = 8  # per operation, per mode, per caller, with and without known path values
KNOWN = {
    "party": "KOR",
    "agreement": "KOR-JPN-GSOMIA",
    "item": BODY_ITEM,
    "seq": 1,
    "consent": "C1",
    "name": "target-user",
}  # path values the node holds, so that generated requests reach past "not found"


def load(api: Api) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi(f"{V1}/openapi.json", api.client.app)


def test_the_document_loads_as_an_openapi_schema_with_every_operation(api: Api) -> None:
    operations = [result.ok() for result in load(api).get_all_operations()]
    assert len(operations) >= 40
    assert len({(o.method, o.path) for o in operations}) == len(operations)


@pytest.mark.parametrize("caller", [*ROLES, None], ids=[*ROLES, "anonymous"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_documented(api: Api, caller: str | None, mode: GenerationMode) -> None:
    headers = api.auth(caller)
    api.users.add("target-user", "officer")
    api.services.releases.release(BODY_ITEM, "JPN", "2020-01-01")  # release 1
    for result in load(api).get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        strategies = [operation.as_strategy(generation_mode=mode)]
        if names:
            known = {k: v for k, v in KNOWN.items() if k in names}
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=known))
        for strategy in strategies:
            check(strategy, headers)


def check(strategy: SearchStrategy[schemathesis.Case], headers: dict[str, str]) -> None:
    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def conforms(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
        case.validate_response(response, checks=CHECKS)

    conforms()
