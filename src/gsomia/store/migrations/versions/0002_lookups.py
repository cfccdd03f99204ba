"""Lookups a node needs as it grows: records by (kind, key) and leaves by the row they prove.

A write reads the few records it needs (the world's parties, agreements, events and consents, and the
items it decides on) instead of every record, and checks each against its leaf, found by ``ref``.

Revision ID: 0002_lookups
Revises: 0001_initial
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_lookups"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_records_kind_key", "records", ["kind", "key"])
    op.create_index("ix_leaves_ref", "leaves", ["ref"])


def downgrade() -> None:
    op.drop_index("ix_leaves_ref", table_name="leaves")
    op.drop_index("ix_records_kind_key", table_name="records")
