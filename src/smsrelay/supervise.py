"""``smsrelay serve`` with ``workers > 1``: several gateway processes on one listening socket.

One Python process uses one core. With ``SMSRELAY_WORKERS=N`` the supervising process
migrates the database and makes the first key once, then starts N ``smsrelay serve``
children that each listen on the HTTP port with SO_REUSEPORT, so the kernel spreads
connections evenly across them (one shared socket would let one process take most of a
burst of keep-alive connections). Each child is a
whole gateway: the database is the queue, claims are leases, idempotency is enforced by the
database, so they cooperate as the nodes of a multi-node install do. Only worker 0 runs the
SMPP server for client binds. A child that dies is started again; SIGTERM/SIGINT stop all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time

from smsrelay.app import bootstrap, open_database
from smsrelay.config import Settings
from smsrelay.engine.clock import SystemClock

log = logging.getLogger(__name__)


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


def _start(index: int, settings: Settings) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SMSRELAY_WORKERS": "1", "SMSRELAY_WORKER_INDEX": str(index)}
    if settings.rate_limit > 0:  # the account's limit is kept per process: share it out
        env["SMSRELAY_RATE_LIMIT"] = str(settings.rate_limit / settings.workers)
    if index > 0:
        env["SMSRELAY_SMPP_SERVER_ENABLED"] = "false"
    return subprocess.Popen([sys.executable, "-m", "smsrelay", "serve"], env=env)


def supervise(settings: Settings) -> None:
    """Run ``settings.workers`` gateway processes until SIGTERM or SIGINT."""
    _prepare(settings)
    listen_shared(settings.http_host, settings.http_port).close()  # fail early if taken
    children = {i: _start(i, settings) for i in range(settings.workers)}
    started = {i: time.monotonic() for i in children}
    quick_deaths = 0
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping:
            time.sleep(0.2)
            for index, child in list(children.items()):
                if child.poll() is not None and not stopping:
                    log.error("worker %d exited with %s; starting it again", index,
                              child.returncode)
                    quick_deaths = quick_deaths + 1 \
                        if time.monotonic() - started[index] < 10 else 0
                    if quick_deaths >= 5:
                        log.error("workers keep dying at start; giving up")
                        stopping = True
                        break
                    time.sleep(1.0)
                    children[index] = _start(index, settings)
                    started[index] = time.monotonic()
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.time() + 30
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                child.kill()
    if quick_deaths >= 5:
        raise SystemExit(1)
