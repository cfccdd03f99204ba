"""What a node serves each partner, built once: the shipments table, and the outbox by release number.

Until now a node's TAXII collection for a partner was rebuilt from every release on every page it served
(each bundle made again after a restart), so serving slowed as the node grew. A shipment row holds one
allowed release's bundle objects as built for the party the release goes to next, with the time it was
added to that party's collection; pages are read by ``(next_hop, release_seq)`` and ``added_after`` by
``(next_hop, added)``. The rows are derived from the releases and can be rebuilt from them; they are
outside the log (see gsomia.store.schema).

Revision ID: 0005_shipments
Revises: 0004_verifications
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_shipments"
down_revision: str | None = "0004_verifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the shipments table and its indexes, and index the outbox by release number."""
    op.create_table(
        "shipments",
        sa.Column("release_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False),
        sa.Column("next_hop", sa.String(64), nullable=False),
        sa.Column("added", sa.String(32), nullable=False),
        sa.Column("objects", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("release_seq", name="pk_shipments"),
    )
    op.create_index("ix_shipments_next_hop", "shipments", ["next_hop", "release_seq"])
    op.create_index("ix_shipments_next_hop_added", "shipments", ["next_hop", "added"])
    op.create_index("ix_outbox_release_seq", "outbox", ["release_seq"])


def downgrade() -> None:
    """Drop what 0005 created."""
    op.drop_index("ix_outbox_release_seq", table_name="outbox")
    op.drop_table("shipments")
