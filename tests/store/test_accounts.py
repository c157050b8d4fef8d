"""Accounts and API keys: creation, lookup by presented key, revocation, scope checks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.store import accounts
from smsrelay.store.db import Database, sqlite_url, upgrade
from smsrelay.store.schema import api_keys
from tests.store.factories import T0
from tests.support.database import BACKENDS, empty_postgres_database

KEY_SHAPE = re.compile(r"^sr_[0-9a-hjkmnp-tv-z]{12}_[A-Za-z0-9_-]{43}$")


async def test_create_and_get_account(database: Database) -> None:
    async with database.transaction() as conn:
        made = await accounts.create_account(
            conn, "default", T0, webhook_url="https://example.com/hook"
        )
    assert made.id.startswith("acc_")
    assert made.webhook_secret.startswith("whsec_") and len(made.webhook_secret) > 40
    assert not made.disabled
    async with database.read() as conn:
        assert await accounts.get_account(conn, made.id) == made
        assert await accounts.get_account_by_name(conn, "default") == made
        assert await accounts.get_account(conn, "acc_missing") is None
        assert await accounts.list_accounts(conn) == [made]


async def test_duplicate_name_is_already_exists_and_the_transaction_survives(
    database: Database,
) -> None:
    async with database.transaction() as conn:
        await accounts.create_account(conn, "twice", T0)
        with pytest.raises(SmsError) as info:
            await accounts.create_account(conn, "twice", T0 + 1)
        assert info.value.code is ErrorCode.ALREADY_EXISTS
        await accounts.create_account(conn, "after", T0 + 2)  # still usable on PostgreSQL too
    async with database.read() as conn:
        assert {a.name for a in await accounts.list_accounts(conn)} == {"twice", "after"}


async def test_update_account_changes_only_what_is_given(database: Database) -> None:
    async with database.transaction() as conn:
        await accounts.create_account(conn, "a", T0, webhook_url="https://old.example/")
        updated = await accounts.update_account(conn, "a", rate_limit=5.0, rate_burst=20)
        assert updated.webhook_url == "https://old.example/"
        assert (updated.rate_limit, updated.rate_burst) == (5.0, 20)
        cleared = await accounts.update_account(
            conn, "a", webhook_url=None, inbound_webhook_url="https://mo.example/"
        )
        assert cleared.webhook_url is None
        assert cleared.inbound_webhook_url == "https://mo.example/"
        assert cleared.rate_limit == 5.0
        assert await accounts.update_account(conn, "a") == cleared
        with pytest.raises(SmsError) as info:
            await accounts.update_account(conn, "missing", rate_limit=1.0)
        assert info.value.code is ErrorCode.NOT_FOUND


async def test_api_key_round_trip(database: Database) -> None:
    async with database.transaction() as conn:
        account = await accounts.create_account(conn, "a", T0)
        key, plaintext = await accounts.create_api_key(
            conn, account.id, ["send", "read"], T0, name="ci"
        )
    assert KEY_SHAPE.match(plaintext), plaintext
    assert plaintext.startswith(key.prefix + "_")
    assert key.prefix == "sr_" + key.id[-12:]
    assert key.scopes == frozenset({"send", "read"})
    assert key.allows("send") and not key.allows("admin")
    async with database.read() as conn:
        assert await accounts.find_api_key(conn, plaintext) == key
        stored = (await conn.execute(select(api_keys.c.key_hash))).scalar_one()
    assert stored == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in stored


async def test_wrong_secret_or_revoked_key_is_not_found(database: Database) -> None:
    async with database.transaction() as conn:
        account = await accounts.create_account(conn, "a", T0)
        key, plaintext = await accounts.create_api_key(conn, account.id, ["admin"], T0)
        other, other_plain = await accounts.create_api_key(conn, account.id, ["send"], T0)
    tampered = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    async with database.transaction() as conn:
        assert await accounts.find_api_key(conn, tampered) is None
        assert await accounts.revoke_api_key(conn, key.id, T0 + 5) is True
        assert await accounts.revoke_api_key(conn, key.id, T0 + 6) is False
        assert await accounts.revoke_api_key(conn, "key_missing", T0 + 6) is False
        assert await accounts.find_api_key(conn, plaintext) is None
        assert await accounts.find_api_key(conn, other_plain) == other
        listed = await accounts.list_api_keys(conn, account.id)
    assert [k.id for k in listed] == sorted([key.id, other.id])
    assert next(k for k in listed if k.id == key.id).revoked_at == T0 + 5


async def test_list_api_keys_filters_by_account(database: Database) -> None:
    async with database.transaction() as conn:
        a = await accounts.create_account(conn, "a", T0)
        b = await accounts.create_account(conn, "b", T0)
        ka, _ = await accounts.create_api_key(conn, a.id, ["send"], T0)
        kb, _ = await accounts.create_api_key(conn, b.id, ["send"], T0 + 1)
        assert await accounts.list_api_keys(conn, a.id) == [ka]
        assert {k.id for k in await accounts.list_api_keys(conn)} == {ka.id, kb.id}
        await accounts.touch_api_key(conn, ka.id, T0 + 9)
        assert (await accounts.list_api_keys(conn, a.id))[0].last_used_at == T0 + 9


@pytest.mark.parametrize("scopes", [[], ["send", "write"], ["root"]])
async def test_scopes_are_validated(database: Database, scopes: list[str]) -> None:
    async with database.transaction() as conn:
        account = await accounts.create_account(conn, "a", T0)
        with pytest.raises(SmsError) as info:
            await accounts.create_api_key(conn, account.id, scopes, T0)
    assert info.value.code is ErrorCode.VALIDATION_ERROR


async def test_key_for_missing_account_is_not_found(database: Database) -> None:
    async with database.transaction() as conn:
        with pytest.raises(SmsError) as info:
            await accounts.create_api_key(conn, "acc_missing", ["send"], T0)
    assert info.value.code is ErrorCode.NOT_FOUND


GARBAGE = [
    "",
    "sr_",
    "sr__",
    "Bearer x",
    "sr_0123456789ab",
    "sr_0123456789ab_",
    "sr_ABCDEFGHIJKL_secret",
    "sr_0123456789ab_x" * 50,
    "sr_0123456789a\x00_x",
    "sr_ü23456789ab_x",
    "'; DROP TABLE api_keys; --",
    "\udcff",
    "sr_0123456789ab_\udcff",
    "sr_0123456789ab_é",
]


async def test_garbage_keys_are_none_never_errors(database: Database) -> None:
    async with database.read() as conn:
        for presented in GARBAGE:
            assert await accounts.find_api_key(conn, presented) is None
        assert await accounts.find_api_key(conn, None) is None  # type: ignore[arg-type]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    presented=st.one_of(
        st.text(max_size=300),
        st.text(alphabet="0123456789abcdefghjkmnpqrstvwxyz_-", max_size=80).map(
            lambda s: "sr_" + s
        ),
    )
)
async def test_any_text_is_a_safe_key_lookup(sqlite_database: Database, presented: str) -> None:
    async with sqlite_database.read() as conn:
        assert await accounts.find_api_key(conn, presented) is None


async def test_accounts_are_tenants_unless_made_operators(database: Database) -> None:
    async with database.transaction() as conn:
        tenant = await accounts.create_account(conn, "t", T0)
        operator = await accounts.create_account(conn, "o", T0, role=accounts.OPERATOR)
        with pytest.raises(SmsError) as info:
            await accounts.create_account(conn, "x", T0, role="root")
        assert info.value.code is ErrorCode.VALIDATION_ERROR
    assert (tenant.role, tenant.is_operator, tenant.private_callbacks_allowed) == (
        "tenant",
        False,
        False,
    )
    assert operator.is_operator and operator.private_callbacks_allowed
    async with database.transaction() as conn:
        assert await accounts.get_account(conn, tenant.id) == tenant
        assert await accounts.get_account(conn, operator.id) == operator
        allowed = await accounts.update_account(conn, "t", allow_private_callbacks=True)
    assert allowed.private_callbacks_allowed and not allowed.is_operator
    async with database.read() as conn:
        assert await accounts.get_account(conn, tenant.id) == allowed


@pytest.fixture(params=BACKENDS)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "fresh")
    else:
        with empty_postgres_database("roles") as url:
            yield url


_INSERT = (
    "INSERT INTO accounts (id, name, webhook_secret, disabled, created_at) "
    "VALUES (:id, :name, 'whsec_x', false, 0)"
)


@pytest.mark.parametrize(
    ("existing", "operator"),
    [
        ((("acc_1", "first"), ("acc_2", "default"), ("acc_3", "last")), "default"),
        ((("acc_2", "later"), ("acc_1", "oldest")), "oldest"),
        ((), None),
    ],
)
async def test_the_migration_makes_one_operator(
    empty_url: str, existing: tuple[tuple[str, str], ...], operator: str | None
) -> None:
    """``default`` becomes the operator, else the oldest account; the others are tenants."""
    upgrade(empty_url, "0008")
    db = await Database.open(empty_url)
    try:
        async with db.transaction() as conn:
            for account_id, name in existing:
                await conn.execute(text(_INSERT), {"id": account_id, "name": name})
        upgrade(empty_url)
        async with db.read() as conn:
            roles = {a.name: a.role for a in await accounts.list_accounts(conn)}
            assert not any(a.allow_private_callbacks for a in await accounts.list_accounts(conn))
    finally:
        await db.close()
    assert roles == {name: "operator" if name == operator else "tenant" for _, name in existing}
