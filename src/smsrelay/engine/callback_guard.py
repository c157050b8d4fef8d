"""Where a tenant's callbacks may go: not to loopback, private, link-local or unique-local
addresses, unless the operator allows it for that account.

A gateway inside a private network must not let a customer aim its own webhook sender at the
operator's internal services. The check runs where a URL is set: a send request's
``callback_url`` (``engine/prepare.py`` refuses literal addresses and ``localhost`` without
I/O; :class:`CallbackHosts` resolves host names for ``engine/accept.py``), and an account's
webhook URLs (the CLI, through :func:`check_callback_url`). A host name is resolved when the
URL is set and refused when any of its addresses is private, or when it does not resolve.
Re-checking at delivery (a name that later resolves elsewhere) is the webhook sender's job.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from smsrelay.domain.errors import ErrorCode, SmsError

__all__ = [
    "CallbackHosts",
    "Resolver",
    "check_callback_url",
    "host_to_resolve",
    "private_refusal",
    "refuse_literal_private",
    "system_resolver",
]

Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""host name → its addresses (empty, or OSError, when it does not resolve)."""

T = TypeVar("T")

PRIVATE_MESSAGE = (
    "The callback URL points at a loopback or private address, which is not allowed for this "
    "account."
)
UNRESOLVED_MESSAGE = "The callback URL's host name does not resolve."


def private_refusal(field: str, message: str = PRIVATE_MESSAGE) -> SmsError:
    return SmsError(ErrorCode.INVALID_CALLBACK_URL, message, field=field)


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host:
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL)
    return host.rstrip(".").lower()


def _is_private(address: str) -> bool:
    """Not a public unicast address: loopback, RFC 1918, link-local, unique-local, reserved."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    except ValueError:
        return True  # not an address we understand: not one we let through
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def refuse_literal_private(url: str, field: str = "callback_url") -> None:
    """Raise when the URL's host is ``localhost`` or a private address literal (no I/O)."""
    host = _host(url)
    if host == "localhost" or host.endswith(".localhost"):
        raise private_refusal(field)
    if _literal(host) is not None and _is_private(host):
        raise private_refusal(field)


def host_to_resolve(url: str) -> str | None:
    """The URL's host name when it is a name (not an address literal), else None."""
    host = _host(url)
    return None if _literal(host) is not None else host


async def system_resolver(host: str) -> list[str]:
    """Every address the system resolver gives for ``host`` (both families)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def _verdict(host: str, resolve: Resolver) -> str | None:
    """None when every address of ``host`` is public; else the refusal's message."""
    try:
        addresses = await resolve(host)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        return UNRESOLVED_MESSAGE
    return PRIVATE_MESSAGE if any(_is_private(a) for a in addresses) else None


async def check_callback_url(
    url: str, *, allow_private: bool, field: str, resolve: Resolver = system_resolver
) -> None:
    """Raise ``invalid_callback_url`` for a URL this account may not use (CLI and API)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL, field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise SmsError(ErrorCode.INVALID_CALLBACK_URL, field=field)
    if allow_private:
        return
    refuse_literal_private(url, field)
    host = host_to_resolve(url)
    if host is not None:
        refusal = await _verdict(host, resolve)
        if refusal is not None:
            raise private_refusal(field, refusal)


class CallbackHosts:
    """Resolves the host names of send requests' callback URLs, remembering each answer for
    ``ttl`` seconds so a busy sender with one callback host costs one lookup a minute."""

    def __init__(
        self,
        now: Callable[[], float],
        *,
        resolve: Resolver = system_resolver,
        ttl: float = 60.0,
    ) -> None:
        self._now = now
        self._resolve = resolve
        self._ttl = ttl
        self._known: dict[str, tuple[float, str | None]] = {}

    async def refusal(self, host: str) -> str | None:
        """None when ``host`` may be called back; else why not."""
        now = self._now()
        hit = self._known.get(host)
        if hit is not None and hit[0] > now:
            return hit[1]
        verdict = await _verdict(host, self._resolve)
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[host] = (now + self._ttl, verdict)
        return verdict

    async def screen(
        self, items: Sequence[T | SmsError], url_of: Callable[[T], str | None]
    ) -> list[T | SmsError]:
        """Replace each item whose callback host is refused by ``invalid_callback_url``."""
        hosts = {
            host
            for item in items
            if not isinstance(item, SmsError)
            and (url := url_of(item)) is not None
            and (host := host_to_resolve(url)) is not None
        }
        if not hosts:
            return list(items)
        names = sorted(hosts)
        answers = await asyncio.gather(*(self.refusal(h) for h in names))
        verdicts = dict(zip(names, answers, strict=True))
        screened: list[T | SmsError] = []
        for item in items:
            url = None if isinstance(item, SmsError) else url_of(item)
            host = host_to_resolve(url) if url is not None else None
            refusal = verdicts.get(host) if host is not None else None
            screened.append(private_refusal("callback_url", refusal) if refusal else item)
        return screened
