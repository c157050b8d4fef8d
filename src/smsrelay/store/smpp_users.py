"""SMPP credentials of accounts: who may bind to the SMPP server, from where, how often.

Passwords are stored as scrypt hashes with a random salt (``scrypt$n$r$p$salt$hash``). Unlike
API keys, SMPP passwords are chosen by people and limited to 8 characters by the protocol
(§5.2.2), so a slow, salted hash is what protects them if the database leaks. Checking costs
a few tens of milliseconds: the gateway runs it in a thread, once per bind, not per message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.ids import new_id
from smsrelay.store.db import already_exists
from smsrelay.store.schema import smpp_users

__all__ = [
    "SmppUser",
    "create_smpp_user",
    "delete_smpp_user",
    "find_smpp_user",
    "hash_password",
    "ip_allowed",
    "list_smpp_users",
    "parse_networks",
    "verify_password",
]

_N, _R, _P = 2**14, 8, 1
MAX_SYSTEM_ID = 15  # §5.2.1: C-octet string of at most 16 octets
MAX_PASSWORD = 8  # §5.2.2


@dataclass(frozen=True, slots=True)
class SmppUser:
    """One set of SMPP credentials. ``password_hash`` never leaves the process."""

    id: str
    account_id: str
    system_id: str
    password_hash: str
    allowed_ips: tuple[str, ...]
    max_binds: int
    throughput: float
    disabled: bool
    created_at: float

    def __repr__(self) -> str:
        return (
            f"SmppUser(id={self.id!r}, system_id={self.system_id!r}, "
            f"account_id={self.account_id!r})"
        )


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The stored form of ``password``: scrypt with a 16-byte random salt."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time compare; False if malformed)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8", "surrogateescape"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def parse_networks(text: str | None) -> tuple[str, ...]:
    """Normalise a comma-separated CIDR list (``"10.0.0.0/8, ::1"``); VALIDATION_ERROR if bad."""
    out = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SmsError(
                ErrorCode.VALIDATION_ERROR, f"{item!r} is not an IP network", field="allowed_ips"
            ) from None
    return tuple(out)


def ip_allowed(networks: tuple[str, ...], address: str | None) -> bool:
    """Whether ``address`` is inside one of ``networks``; an empty list allows any address."""
    if not networks:
        return True
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(n) for n in networks)


def _user(row: Row[Any]) -> SmppUser:
    return SmppUser(
        id=row.id,
        account_id=row.account_id,
        system_id=row.system_id,
        password_hash=row.password_hash,
        allowed_ips=tuple(n for n in row.allowed_ips.split(",") if n),
        max_binds=row.max_binds,
        throughput=row.throughput,
        disabled=bool(row.disabled),
        created_at=row.created_at,
    )


async def create_smpp_user(
    conn: AsyncConnection,
    account_id: str,
    system_id: str,
    password: str,
    now: float,
    *,
    allowed_ips: str | None = None,
    max_binds: int = 4,
    throughput: float = 0.0,
) -> SmppUser:
    """Create credentials; ALREADY_EXISTS when the system_id is taken, VALIDATION_ERROR for
    a system_id or password the protocol cannot carry or a bad network."""
    if not system_id or len(system_id) > MAX_SYSTEM_ID or not system_id.isprintable():
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"system_id must be 1 to {MAX_SYSTEM_ID} printable characters",
            field="system_id",
        )
    if not password or len(password) > MAX_PASSWORD:
        raise SmsError(
            ErrorCode.VALIDATION_ERROR,
            f"password must be 1 to {MAX_PASSWORD} characters (SMPP 3.4 §5.2.2)",
            field="password",
        )
    if max_binds < 1 or throughput < 0:
        raise SmsError(ErrorCode.VALIDATION_ERROR, "max_binds must be >= 1, throughput >= 0")
    networks = parse_networks(allowed_ips)
    user = SmppUser(
        id=new_id("smu", now),
        account_id=account_id,
        system_id=system_id,
        password_hash=hash_password(password),
        allowed_ips=networks,
        max_binds=max_binds,
        throughput=throughput,
        disabled=False,
        created_at=now,
    )
    with already_exists(f"SMPP user {system_id!r}"):
        async with conn.begin_nested():
            await conn.execute(
                smpp_users.insert().values(
                    id=user.id,
                    account_id=account_id,
                    system_id=system_id,
                    password_hash=user.password_hash,
                    allowed_ips=",".join(networks),
                    max_binds=max_binds,
                    throughput=throughput,
                    disabled=False,
                    created_at=now,
                )
            )
    return user


async def find_smpp_user(conn: AsyncConnection, system_id: str) -> SmppUser | None:
    row = (
        await conn.execute(select(smpp_users).where(smpp_users.c.system_id == system_id))
    ).first()
    return _user(row) if row else None


async def list_smpp_users(conn: AsyncConnection, account_id: str | None = None) -> list[SmppUser]:
    query = select(smpp_users).order_by(smpp_users.c.id)
    if account_id is not None:
        query = query.where(smpp_users.c.account_id == account_id)
    return [_user(r) for r in await conn.execute(query)]


async def delete_smpp_user(conn: AsyncConnection, user_id: str) -> bool:
    """Delete by id or system_id; False when there is no such user."""
    result = await conn.execute(
        delete(smpp_users).where((smpp_users.c.id == user_id) | (smpp_users.c.system_id == user_id))
    )
    return result.rowcount > 0
