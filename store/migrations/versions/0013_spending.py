"""Spending proposed and approved, with receipts; each ledger entry carries its receipts' hashes.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("ledger_entry", sa.Column("receipts", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "spending",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("account", sa.String(32), sa.ForeignKey("ledger_account.code"), nullable=False),
        sa.Column("via", sa.String(32), sa.ForeignKey("ledger_account.code"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("memo", sa.String(200), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("entry_id", _BIG, sa.ForeignKey("ledger_entry.id"), nullable=True, unique=True),
        sa.CheckConstraint("amount_fen > 0", name="ck_spending_amount"),
        sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'withdrawn')", name="ck_spending_status"),
        sa.CheckConstraint("kind IN ('spend', 'receive')", name="ck_spending_kind"),
    )
    op.create_index("ix_spending_status", "spending", ["status"])
    op.create_table(
        "receipt",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("spending_id", _BIG, sa.ForeignKey("spending.id"), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attached_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("spending_id", "sha256", name="uq_receipt_per_spending"),
    )
    op.create_index("ix_receipt_spending_id", "receipt", ["spending_id"])


def downgrade() -> None:
    op.drop_index("ix_receipt_spending_id", "receipt")
    op.drop_table("receipt")
    op.drop_index("ix_spending_status", "spending")
    op.drop_table("spending")
    op.drop_column("ledger_entry", "receipts")  # SQLite 3.35+ drops a column in place: the table's triggers stay
