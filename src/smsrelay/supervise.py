"""``smsrelay serve`` with ``workers > 1``: several gateway processes on one listening socket.

One Python process uses one core. With ``SMSRELAY_WORKERS=N`` the supervising process
migrates the database and makes the first key once, then starts N ``smsrelay serve``
children that each listen on the HTTP port with SO_REUSEPORT, so the kernel spreads
connections evenly across them (one shared socket would let one process take most of a
burst of keep-alive connections). Each child is a
whole gateway: the database is the queue, claims are leases, idempotency is enforced by the
database, so they cooperate as the nodes of a multi-node install do. Only worker 0 runs the
SMPP server for client binds. Supervising them is :mod:`smsrelay.workers`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from smsrelay.app import bootstrap, open_database
from smsrelay.config import Settings
from smsrelay.engine.clock import SystemClock


def _prepare(settings: Settings) -> None:
    async def run() -> None:
        db = await open_database(settings)
        try:
            await bootstrap(db, settings, SystemClock())
        finally:
            await db.close()

    asyncio.run(run())


def listen_shared(host: str, port: int) -> socket.socket:
    """A listening socket other processes can bind too (SO_REUSEPORT): one per worker."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def supervise(settings: Settings) -> None:
    """Prepare the database once, then become the lean supervisor of ``settings.workers``
    gateway processes (:mod:`smsrelay.workers`) until SIGTERM or SIGINT.

    The supervisor replaces itself (``exec``, same pid, so signals and process managers still
    reach it) with an interpreter that imports only the standard library: it keeps about
    10 MB resident instead of the ~100 MB of a process that has loaded the gateway.
    """
    _prepare(settings)
    listen_shared(settings.http_host, settings.http_port).close()  # fail early if taken
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "smsrelay.workers",
            str(settings.workers),
            settings.log_level.upper(),
        ],
    )
