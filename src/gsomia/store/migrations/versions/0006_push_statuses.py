"""What became of each envelope a partner pushed, for any worker to tell: the push_statuses table.

Until now a push's TAXII status lived in the memory of the server process that took the push, so a partner
asking another worker of the same node (or the node after a restart) for it got 404. A row holds one push's
status resource as JSON text and the party that pushed it (the only one that may read it), numbered in the
order pushes were taken so the oldest can be dropped past the newest 10,000. The rows are outside the log
(see gsomia.store.schema). The shipments' ``next_hop`` is widened to hold any party id (up to 200
characters), as ``party`` here does (on SQLite the table is copied, as SQLite alters column types).

Revision ID: 0006_push_statuses
Revises: 0005_shipments
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_push_statuses"
down_revision: str | None = "0005_shipments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the push_statuses table and its index by status id."""
    op.create_table(
        "push_statuses",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("party", sa.String(200), nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_push_statuses"),
    )
    op.create_index("ix_push_statuses_id", "push_statuses", ["id"], unique=True)
    _next_hop(sa.String(64), sa.String(200))


def downgrade() -> None:
    """Drop what 0006 created."""
    _next_hop(sa.String(200), sa.String(64))
    op.drop_table("push_statuses")


def _next_hop(old: sa.String, new: sa.String) -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.alter_column("next_hop", existing_type=old, type_=new, existing_nullable=False)
