"""Registration ids (India's DLT) carried by messages, and an account's default entity id.

``message_registrations``: one row per message that carries DLT ids (the Principal Entity id,
the content template id, the telemarketer id), written in the transaction that stores the
message; messages without ids have no row. ``accounts.dlt_entity_id`` (default none): the
entity id an account's messages to India carry when they name none.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_registrations",
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("template_id", sa.String(64), nullable=True),
        sa.Column("telemarketer_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("message_id", name="pk_message_registrations"),
    )
    op.add_column("accounts", sa.Column("dlt_entity_id", sa.String(64), nullable=True))


def downgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("dlt_entity_id")
    op.drop_table("message_registrations")
