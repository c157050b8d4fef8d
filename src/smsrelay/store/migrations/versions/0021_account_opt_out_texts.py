"""Accounts name the opt-out texts added to their marketing messages where required.

``accounts.opt_out_texts`` (JSON text, default none): ``{"FR": "STOP au 36111", "default":
"Reply STOP to opt out"}``, added to a marketing message bound for a country whose rules
require opt-out text when the message does not carry it (``domain/optout_text.py``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("opt_out_texts", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("opt_out_texts")
