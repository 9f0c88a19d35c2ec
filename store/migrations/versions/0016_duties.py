"""Duties: the roster, checklists and safety checks signed, incident reports.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "duty_shift",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("made_by", sa.String(64), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name="ck_duty_shift_order"),
    )
    op.create_index("ix_duty_shift_starts", "duty_shift", ["starts_at"])
    op.create_table(
        "check_record",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_by", sa.String(64), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
    )
    op.create_index("ix_check_record_kind_at", "check_record", ["kind", "done_at"])
    op.create_table(
        "incident_report",
        sa.Column("id", _BIG, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(64), nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("alarm", sa.String(64), nullable=True),
        sa.Column("follow_up", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_incident_report_at", "incident_report", ["at"])


def downgrade() -> None:
    op.drop_index("ix_incident_report_at", "incident_report")
    op.drop_table("incident_report")
    op.drop_index("ix_check_record_kind_at", "check_record")
    op.drop_table("check_record")
    op.drop_index("ix_duty_shift_starts", "duty_shift")
    op.drop_table("duty_shift")
