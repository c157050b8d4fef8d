"""Accounts may let ``encoding: auto`` transliterate letters, and name a national language.

``accounts.transliterate`` (default false): when true, a message sent with ``encoding: auto``
has letters outside GSM-7 written as their closest GSM-7 form (``á`` → ``a``) when that takes
no more segments than sending it as it is (``domain/encoding_choice.py``).
``accounts.national_language`` (default none): the GSM-7 national shift tables (3GPP TS 23.038
Annex A, e.g. ``tr``) the account's messages may use when a request names no language.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("transliterate", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("accounts", sa.Column("national_language", sa.String(2), nullable=True))


def downgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("national_language")
        batch.drop_column("transliterate")
