"""Sign-in attempts counted per account and place, in place of a lock on the account itself.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempt",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("waits", sa.Integer(), nullable=False),
        sa.Column("wait_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("staff_user") as table:
        table.drop_column("failed_logins")
        table.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("staff_user") as table:
        table.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.drop_table("sign_in_attempt")
