"""A small HTTP/1.1 client: keep-alive connections per host, timeouts, bounded answers.

Three jobs are one request after another to a handful of hosts: webhook delivery (POSTs to
customer hosts), the HTTP provider connectors (API calls to Twilio, Vonage and the rest) and
the provider fakes' callbacks (``smsrelay simulate-provider``). It imports nothing else of
ours, so each of them can use it, the fakes included. Profiling the delivery of callbacks
with httpx showed three quarters of the event loop's time inside the client's own machinery
(async-library detection, pool bookkeeping), so this module does just what they need:
HTTP/1.1 over asyncio streams, TLS for https, a pool of idle keep-alive connections per
(scheme, host, port), a connect and a total timeout, responses with Content-Length, chunked
encoding or read-to-close, read up to ``MAX_BODY_BYTES``. No redirects, no cookies, no
proxies. Webhooks use :meth:`post` (the status is all they need); connectors and the fakes
use :meth:`request`, which returns the answer whole.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024  # an answer larger than this is refused


class HttpError(Exception):
    """The request could not be completed (connect, TLS, protocol or size problem)."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete answer: status, headers (names lower-cased) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(slots=True)
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


@dataclass(slots=True)
class _Pool:
    idle: list[_Conn] = field(default_factory=list)


class HttpClient:
    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_idle_per_host: int = 16,
        user_agent: str = "smsrelay",
        ssl_context: ssl.SSLContext | None = None,
        block_private: bool = False,
    ) -> None:
        self.timeout = timeout
        self.block_private = block_private
        self.max_idle_per_host = max_idle_per_host
        self.user_agent = user_agent
        self._ssl = ssl_context or ssl.create_default_context()
        self._pools: dict[tuple[str, str, int, bool], _Pool] = {}

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, public_only: bool = False
    ) -> int:
        """POST ``body`` to ``url``; the response status. Raises TimeoutError or HttpError.

        ``public_only`` (or ``block_private`` for every request) connects only to a public
        address of the host, checked when the connection is made; such connections are
        pooled apart, so a connection opened for an unrestricted sender is never reused."""
        response = await self.request("POST", url, body, headers, public_only=public_only)
        return response.status

    async def request(
        self,
        method: str,
        url: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        public_only: bool = False,
        timeout: float | None = None,
    ) -> HttpResponse:
        """Send one request; the whole answer. Raises TimeoutError or HttpError.

        ``timeout`` overrides the client's for this request (connect and answer together).
        A kept-alive connection the server had closed is retried once on a fresh one.
        """
        try:
            parts = urlsplit(url)
            host, scheme = parts.hostname, parts.scheme
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as error:
            raise HttpError(f"bad URL: {error}") from None
        if scheme not in ("http", "https") or not host:
            raise HttpError("only http and https URLs")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {host_header}",
            f"User-Agent: {self.user_agent}",
        ]
        if body or method not in ("GET", "HEAD", "DELETE"):
            lines.append(f"Content-Length: {len(body)}")
        lines += [
            f"{k}: {v}" for k, v in (headers or {}).items() if "\r" not in v and "\n" not in v
        ]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        key = (scheme, host, port, public_only or self.block_private)
        async with asyncio.timeout(self.timeout if timeout is None else timeout):
            conn, reused = await self._connection(key)
            try:
                response, keep = await self._exchange(conn, request, method)
            except (OSError, asyncio.IncompleteReadError, HttpError) as error:
                conn.writer.close()
                if not reused:
                    raise HttpError(str(error) or type(error).__name__) from None
                # a kept-alive connection the server had closed: one fresh try
                conn, _ = await self._connection(key, fresh=True)
                try:
                    response, keep = await self._exchange(conn, request, method)
                except (OSError, asyncio.IncompleteReadError, HttpError) as retry_error:
                    conn.writer.close()
                    raise HttpError(str(retry_error) or type(retry_error).__name__) from None
            except BaseException:
                conn.writer.close()
                raise
        pool = self._pools.setdefault(key, _Pool())
        if keep and len(pool.idle) < self.max_idle_per_host:
            pool.idle.append(conn)
        else:
            conn.writer.close()
        return response

    async def _connection(
        self, key: tuple[str, str, int, bool], *, fresh: bool = False
    ) -> tuple[_Conn, bool]:
        pool = self._pools.get(key)
        while pool and pool.idle and not fresh:
            conn = pool.idle.pop()
            if not conn.writer.is_closing() and not conn.reader.at_eof():
                return conn, True
            conn.writer.close()
        scheme, host, port, public_only = key
        address = host
        if public_only:
            address = await _public_address(host, port)
        try:
            reader, writer = await asyncio.open_connection(
                address,
                port,
                ssl=self._ssl if scheme == "https" else None,
                server_hostname=host if scheme == "https" else None,
                limit=MAX_HEADER_BYTES,
            )
        except ssl.SSLError as error:
            raise HttpError(f"TLS: {error}") from None
        except OSError as error:
            raise HttpError(f"connect: {error}") from None
        return _Conn(reader, writer), False

    async def _exchange(
        self, conn: _Conn, request: bytes, method: str
    ) -> tuple[HttpResponse, bool]:
        conn.writer.write(request)
        await conn.writer.drain()
        status_line = await conn.reader.readline()
        if not status_line:
            raise HttpError("connection closed before a response")
        try:
            version, code, *_ = status_line.decode("latin-1").split(" ", 2)
            status = int(code)
        except ValueError:
            raise HttpError(f"bad status line {status_line[:80]!r}") from None
        headers: dict[str, str] = {}
        size = 0
        while True:
            line = await conn.reader.readline()
            size += len(line)
            if size > MAX_HEADER_BYTES:
                raise HttpError("response headers too large")
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        body = b""
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked(conn.reader)
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise HttpError("bad Content-Length") from None
            if not 0 <= length <= MAX_BODY_BYTES:
                raise HttpError("response body too large")
            body = await conn.reader.readexactly(length)
        else:
            body = await conn.reader.read(MAX_BODY_BYTES)  # until the server closes
            keep = False
        return HttpResponse(status, headers, body), keep

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = await reader.readline()
            try:
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                raise HttpError("bad chunk size") from None
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise HttpError("response body too large")
            chunks.append((await reader.readexactly(size + 2))[:-2])

    async def aclose(self) -> None:
        for pool in self._pools.values():
            for conn in pool.idle:
                conn.writer.close()
            pool.idle.clear()


async def _public_address(host: str, port: int) -> str:
    """Resolve ``host`` and refuse loopback, private, link-local and reserved addresses.

    Connecting to the address checked (not resolving again) closes the window in which a
    DNS answer could change between the check and the connection.
    """
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise HttpError(f"resolve: {error}") from None
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0])
        if not ip.is_global or ip.is_multicast:
            raise HttpError(f"{host} resolves to a non-public address ({ip}); refused")
    return str(infos[0][4][0])
