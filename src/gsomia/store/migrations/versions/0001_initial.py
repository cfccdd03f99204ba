"""The node's first schema: world records, sealed bodies, releases, outbox, ledger leaves, tree, heads.

Every table is append-only, and the database itself says so: a trigger on each refuses UPDATE and DELETE
(and TRUNCATE on PostgreSQL), so not even a hand-written statement can rewrite history.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("records", "bodies", "releases", "outbox", "leaves", "tree_nodes", "heads")
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_REFUSAL = "gsomia: history is append-only"


def _seq(name: str = "seq") -> sa.Column[int]:
    return sa.Column(name, _SEQ, primary_key=True, autoincrement=False)


def _sealed() -> list[sa.Column[bytes]]:
    return [
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    ]


def _create_node_tables() -> None:
    text, pk = sa.Text, sa.PrimaryKeyConstraint
    op.create_table(
        "records",
        _seq(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", text, nullable=False),
        sa.Column("data", text, nullable=False),
        pk("seq", name="pk_records"),
    )
    op.create_table(
        "bodies", sa.Column("item", text, nullable=False), *_sealed(), pk("item", name="pk_bodies")
    )
    op.create_table(
        "releases",
        _seq(),
        *(sa.Column(name, text, nullable=False) for name in ("item", "recipient", "holder")),
        sa.Column("at", sa.String(10), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("decision", text, nullable=False),
        sa.Column("recorded", text, nullable=False),
        pk("seq", name="pk_releases"),
    )
    op.create_table(
        "outbox",
        _seq(),
        sa.Column("release_seq", _SEQ, nullable=False),
        sa.Column("recipient", text, nullable=False),
        *_sealed(),
        pk("seq", name="pk_outbox"),
        sa.ForeignKeyConstraint(["release_seq"], ["releases.seq"], name="fk_outbox_release_seq_releases"),
    )


def _create_ledger_tables() -> None:
    text, pk = sa.Text, sa.PrimaryKeyConstraint
    op.create_table(
        "leaves",
        _seq("idx"),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        pk("idx", name="pk_leaves"),
    )
    op.create_table(
        "tree_nodes",
        sa.Column("level", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("idx", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        pk("level", "idx", name="pk_tree_nodes"),
    )
    op.create_table("heads", _seq(), sa.Column("data", text, nullable=False), pk("seq", name="pk_heads"))


def _refuse_rewrites(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION gsomia_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{_REFUSAL}: % on % refused', TG_OP, TG_TABLE_NAME; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION gsomia_append_only()"
            )
        return
    for table in TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: {verb} on {table} refused'); END"
            )


def upgrade() -> None:
    """Create the seven append-only tables and the triggers that keep them so."""
    _create_node_tables()
    _create_ledger_tables()
    _refuse_rewrites(op.get_bind().dialect.name)


def downgrade() -> None:
    """Drop everything 0001 created (tables first: their triggers go with them)."""
    for table in reversed(TABLES):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION gsomia_append_only()")
