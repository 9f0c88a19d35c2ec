"""Faces the door terminals must forget: a member's number until every terminal has acknowledged deleting its template.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_to_forget",
        sa.Column("member", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("face_to_forget")
