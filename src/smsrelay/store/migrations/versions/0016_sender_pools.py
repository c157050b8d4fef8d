"""Sender pools: the alphanumeric ids and numbers an account may send from, and where; and
for each message whose requested sender was replaced, what was asked for and why.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "senders",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("account_id", sa.String(40), sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("value", sa.String(20), nullable=False),
        sa.Column("countries", sa.String(2000), nullable=False, server_default=""),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("account_id", "value", name="uq_senders_account_id_value"),
    )
    op.create_table(
        "sender_adaptations",
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("requested", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_sender_adaptations"),
    )


def downgrade() -> None:
    op.drop_table("sender_adaptations")
    op.drop_table("senders")
