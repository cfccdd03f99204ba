"""Fixtures for the REST API tests: a node holding the Korea-Japan world, its users, and a test client.

``api`` runs on a memory node; ``sql_api`` on a SQLite node and on a PostgreSQL node (the PostgreSQL
fixtures of tests/contract are reused: without a server those cases skip and say why, unless
GSOMIA_REQUIRE_POSTGRES=1 makes that a failure).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

import gsomia
from gsomia.bootstrap import Services, build, compose, create_node
from gsomia.config import Settings
from gsomia.crypto import NodeKeys
from gsomia.crypto.secrets import ROW_SEAL_LABEL, Argon2Secrets, derived_key
from gsomia.services.users import ROLES, Users
from gsomia.store.memory import MemoryStore
from gsomia.store.users import user_store_for
from gsomia.web.app import create_app
from gsomia.web.auth import ApiConfig
from tests.contract.conftest import postgres_server, postgres_url  # noqa: F401  (fixtures, reused)

with warnings.catch_warnings():  # Starlette asks for httpx2 over httpx; either drives the app the same way
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

WORLD = Path(gsomia.__file__).parent / "scenarios" / "korea-japan-2019.yaml"
BODY = b"radar tracks PLAINTEXT-CANARY-web"
BODY_ITEM = "K-BODY-1"
GENEROUS = ApiConfig(rate_limit=10**7, login_limit=10**7, secure_cookies=False)


def utc() -> datetime:
    return datetime.now(UTC)


def node_users(services: Services) -> Users:
    """The node's users with cheap hashing (test speed), sealed under the node-derived key."""
    secrets = Argon2Secrets.for_tests(derived_key(services.keys, ROW_SEAL_LABEL))
    return Users(user_store_for(services.store), secrets, utc)


@dataclass
class Api:
    """A test client on a node's API, with one user (and API token) per role."""

    client: TestClient
    services: Services
    users: Users
    tokens: dict[str, str] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # the one-time passwords

    def auth(self, role: str | None) -> dict[str, str]:
        """The Authorization header of the user holding ``role`` (no header for None)."""
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}


def make_api(services: Services, config: ApiConfig = GENEROUS, users: Users | None = None) -> Api:
    users = users or node_users(services)
    app = create_app(services=services, users=users, api_config=config)
    api = Api(TestClient(app), services, users)
    for role in ROLES:
        name = f"{role}-user"
        known = {u.name for u in users.page("", 100)}
        issued = users.reset(name) if name in known else users.add(name, role)
        api.tokens[role] = issued.token
        api.passwords[role] = issued.password
    return api


def worker(api: Api, config: ApiConfig = GENEROUS) -> Api:
    """Another server worker of ``api``'s node: its own app and users service, the same database."""
    users = node_users(api.services)
    app = create_app(services=api.services, users=users, api_config=config)
    return Api(TestClient(app), api.services, users, dict(api.tokens), dict(api.passwords))


def fill(services: Services) -> Services:
    """The Korea-Japan world, and one item with a body."""
    services.import_world(WORLD)
    services.items.add_item(BODY_ITEM, "KOR", "KR-II", ["dprk-missile"], body=BODY)
    return services


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Services]:
    """A memory node holding the Korea-Japan world and K-BODY-1."""
    services = compose(MemoryStore(), NodeKeys.generate(), Settings.resolve({"node_dir": str(tmp_path)}))
    yield fill(services)
    services.close()


@pytest.fixture
def api(node: Services) -> Api:
    return make_api(node)


def sql_node(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Services:
    url = "" if kind == "sqlite" else str(request.getfixturevalue("postgres_url"))
    settings = create_node(tmp_path / "node", party="KOR", database_url=url)
    return fill(build(Settings.load(settings.node_dir)))


@pytest.fixture(params=["sqlite", "postgres"])
def sql_services(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    """A node on SQLite, then on PostgreSQL, holding the Korea-Japan world and K-BODY-1."""
    services = sql_node(request.param, request, tmp_path)
    yield services
    services.close()


@pytest.fixture
def sql_api(sql_services: Services) -> Api:
    return make_api(sql_services)
