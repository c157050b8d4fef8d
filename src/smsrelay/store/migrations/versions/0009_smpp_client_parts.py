"""How many parts an SMPP client sent a long message in, so each part has its own id.

New table ``smpp_client_parts`` (message id → part count). Existing messages have no row and
keep one id and one receipt, as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "smpp_client_parts",
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_smpp_client_parts"),
    )


def downgrade() -> None:
    op.drop_table("smpp_client_parts")
