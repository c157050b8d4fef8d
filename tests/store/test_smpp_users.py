"""SMPP credentials: hashed passwords, networks, uniqueness; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.store import smpp_users as store
from smsrelay.store.db import Database
from tests.store.factories import T0, an_account


async def test_create_find_list_delete(database: Database) -> None:
    async with database.transaction() as conn:
        account = await an_account(conn)
        user = await store.create_smpp_user(
            conn,
            account.id,
            "acme",
            "s3cret",
            T0,
            allowed_ips="10.0.0.1, 192.168.0.0/16",
            max_binds=2,
            throughput=50,
        )
        with pytest.raises(SmsError) as taken:
            await store.create_smpp_user(conn, account.id, "acme", "other", T0)
        assert taken.value.code is ErrorCode.ALREADY_EXISTS
    async with database.read() as conn:
        found = await store.find_smpp_user(conn, "acme")
        assert found == user and await store.find_smpp_user(conn, "nobody") is None
        assert [u.id for u in await store.list_smpp_users(conn, account.id)] == [user.id]
    assert found is not None
    assert found.allowed_ips == ("10.0.0.1/32", "192.168.0.0/16")
    assert "s3cret" not in found.password_hash and "s3cret" not in repr(found)
    assert store.verify_password(found.password_hash, "s3cret")
    assert not store.verify_password(found.password_hash, "s3cret!")
    async with database.transaction() as conn:
        assert await store.delete_smpp_user(conn, "acme")
        assert not await store.delete_smpp_user(conn, user.id)


@pytest.mark.parametrize(
    ("system_id", "password", "ips"),
    [
        ("", "pw", ""),
        ("x" * 16, "pw", ""),
        ("ok", "", ""),
        ("ok", "123456789", ""),
        ("ok", "pw", "not-a-network"),
    ],
)
async def test_refuses_what_the_protocol_cannot_carry(
    database: Database, system_id: str, password: str, ips: str
) -> None:
    async with database.transaction() as conn:
        account = await an_account(conn)
        with pytest.raises(SmsError) as bad:
            await store.create_smpp_user(conn, account.id, system_id, password, T0, allowed_ips=ips)
    assert bad.value.code is ErrorCode.VALIDATION_ERROR


def test_ip_allowed() -> None:
    nets = store.parse_networks("127.0.0.1/32,10.0.0.0/8,::1")
    assert store.ip_allowed((), "203.0.113.9")
    assert store.ip_allowed(nets, "10.1.2.3") and store.ip_allowed(nets, "::1")
    assert store.ip_allowed(nets, "::ffff:127.0.0.1")
    assert not store.ip_allowed(nets, "203.0.113.9")
    assert not store.ip_allowed(nets, None) and not store.ip_allowed(nets, "garbage")
    assert not store.verify_password("md5$abc", "x")
