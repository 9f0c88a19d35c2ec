"""The member register: who may come in (store/members.py).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("member_no", sa.String(32), nullable=True, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(11), nullable=False, unique=True),
        sa.Column("worker_group", sa.String(16), nullable=False),
        sa.Column("employer", sa.String(128), nullable=True),
        sa.Column("face_consent", sa.Boolean(), nullable=False),
        sa.Column("face_consent_on", sa.Date(), nullable=True),
        sa.Column("face_consent_scope", sa.String(500), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(500), nullable=True),
        sa.Column("status_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visit_key", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("member")
