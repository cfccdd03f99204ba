"""The test PostgreSQL server: where it is, whether it answers, and a fresh schema per test.

``GSOMIA_TEST_POSTGRES_URL`` names the server (default: trust auth on 127.0.0.1:5432, database ``test``).
When it does not answer, PostgreSQL tests skip with the reason, unless ``GSOMIA_REQUIRE_POSTGRES=1`` (as CI
sets it), which turns the missing server into a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy import make_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    """The PostgreSQL server the tests use."""
    return os.environ.get("GSOMIA_TEST_POSTGRES_URL", DEFAULT_URL)


def required() -> bool:
    """Whether a missing server fails the run instead of skipping its tests."""
    return os.environ.get("GSOMIA_REQUIRE_POSTGRES", "") == "1"


def _conninfo(url: str) -> str:
    # psycopg takes libpq URLs; drop a SQLAlchemy driver suffix if the URL carries one
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def unreachable(url: str) -> str | None:
    """Why the server at ``url`` can't be used, or None when it answers."""
    try:
        with psycopg.connect(_conninfo(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"PostgreSQL not reachable at {url}: {first_line}"
    return None


def server_or_skip() -> str:
    """The server's URL for a test that needs it: the test skips with the reason when the server does not
    answer, or fails when CI requires PostgreSQL (``GSOMIA_REQUIRE_POSTGRES=1``)."""
    import pytest

    server = server_url()
    reason = unreachable(server)
    if reason is not None:
        if required():
            pytest.fail(f"{reason} (GSOMIA_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return server


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """Create an empty schema, yield a URL whose connections use it, and drop it (with everything in it)."""
    name = f"gsomia_test_{secrets.token_hex(6)}"
    with psycopg.connect(_conninfo(url), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={name}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(_conninfo(url), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
