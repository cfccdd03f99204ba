"""Alembic's entry point for the node schema; run from code by ``gsomia.store.sql.SqlStore.migrate``.

The store hands over its connection, already inside a write transaction holding the writer lock, in
``config.attributes["connection"]``: the migrations run in that transaction and commit with it (DDL is
transactional on SQLite and PostgreSQL). A developer may instead set ``sqlalchemy.url`` on the config, for
example to autogenerate the next revision against :data:`gsomia.store.schema.metadata`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from gsomia.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    """Migrate on the connection we were given, or on a fresh one to ``sqlalchemy.url``."""
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


main()
