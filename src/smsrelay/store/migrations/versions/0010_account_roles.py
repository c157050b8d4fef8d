"""Accounts are operators or tenants, and a tenant may be allowed private callback addresses.

``accounts.role`` is ``operator`` (global configuration: routes, connectors, every account's
numbers and webhook replays) or ``tenant`` (its own things only). An existing database gets one
operator: the account named ``default`` (the one made on first start), or the oldest account
when there is none of that name; every other account becomes a tenant.
``accounts.allow_private_callbacks`` lets the operator allow a tenant's callbacks to loopback
and private addresses (refused by default).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("role", sa.String(10), server_default=sa.text("'tenant'"), nullable=False),
    )
    op.add_column(
        "accounts",
        sa.Column(
            "allow_private_callbacks",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    accounts = sa.table("accounts", sa.column("id"), sa.column("name"), sa.column("role"))
    conn = op.get_bind()
    operator = conn.execute(
        sa.select(accounts.c.id).where(accounts.c.name == "default")
    ).scalar_one_or_none()
    if operator is None:  # ids begin with their creation time: the smallest is the oldest
        operator = conn.execute(
            sa.select(accounts.c.id).order_by(accounts.c.id).limit(1)
        ).scalar_one_or_none()
    if operator is not None:
        conn.execute(accounts.update().where(accounts.c.id == operator).values(role="operator"))


def downgrade() -> None:
    # batch mode: SQLite rebuilds the table where it cannot drop a column in place
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("allow_private_callbacks")
        batch.drop_column("role")
