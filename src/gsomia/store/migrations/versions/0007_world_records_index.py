"""The world's records by number: a partial index, so that reading those after a given number is cheap.

Every process that finds the log grown by another's write reads the world records (parties, agreements,
events, consents, ...) added after the last one it holds. Until now that query found them through the
(kind, key) index, which hands over every world record of those kinds, to be filtered by number: a cost
that grew with every consent ever recorded. This index holds only the world's records, by number, so the
query reads just the new ones. Item records (the many) are not in it, so imports do not maintain it.

Revision ID: 0007_world_records_index
Revises: 0006_push_statuses
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_world_records_index"
down_revision: str | None = "0006_push_statuses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the world's kinds when this migration was written (gsomia.services.ports.WORLD_KINDS), in the form each
# database evaluates cheapest on every insert (see gsomia.store.schema); a test holds the schema's
# conditions to these, so a new world kind comes with a migration of its own
_WORLD = "kind IN ('meta', 'party', 'agreement', 'event', 'consent', 'consent-status', 'partner')"
_WORLD_SQLITE = (
    "(kind = 'meta' OR kind = 'party' OR kind = 'agreement' OR kind = 'event' OR kind = 'consent'"
    " OR kind = 'consent-status' OR kind = 'partner')"
)


def upgrade() -> None:
    """Create ix_records_world_seq."""
    op.create_index(
        "ix_records_world_seq",
        "records",
        ["seq"],
        sqlite_where=sa.text(_WORLD_SQLITE),
        postgresql_where=sa.text(_WORLD),
    )


def downgrade() -> None:
    """Drop ix_records_world_seq."""
    op.drop_index("ix_records_world_seq", table_name="records")
