"""The system under test, each part its own process: carrier simulator, gateway, receiver.

``Stack`` starts ``smsrelay simulate-carrier`` (receipts ``dlr_delay_ms`` after submit),
``smsrelay serve`` on a fresh data folder (SQLite) or a fresh PostgreSQL database, and
``bench/receiver.py``; points the default account's webhook at the receiver; and stops every
process (and drops the database) on exit, also after a failure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from . import procs

BENCH = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PRICED = bool(os.environ.get("SMSRELAY_BENCH_PRICED"))  # run.py --priced
# what each provider fake accepts by default (``smsrelay simulate-provider`` prints it)
FAKE_CREDENTIALS = {
    "twilio": 'account_sid = "AC00000000000000000000000000000000", auth_token = "fake-auth-token"',
}
PG = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c"]


async def _default_secret(url: str) -> str:
    """The default account's webhook signing secret (what ``accounts secret`` prints)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT webhook_secret FROM accounts WHERE name = 'default'")
                )
            ).first()
    finally:
        await engine.dispose()
    if row is None:
        raise RuntimeError("no default account")
    return str(row[0])


class Stack:
    def __init__(
        self,
        database: str,
        *,
        dlr_delay_ms: float = 50.0,
        webhooks: bool = True,
        tag: str = "bench",
        workers: int = 1,
        provider: str | None = None,
    ) -> None:
        self.provider = provider  # an HTTP provider's fake instead of the SMPP carrier
        self.database = database
        self.workers = workers
        self.dlr_delay_ms = dlr_delay_ms
        self.webhooks = webhooks
        self.tag = tag
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.pg_name: str | None = None

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix=f"smsrelay-{self.tag}-")
        self.tmp = Path(self._tmp.name)
        self.data_dir = self.tmp / "data"
        self.http_port = procs.free_port()
        self.carrier_port = procs.free_port()
        self.receiver_port = procs.free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        if self.database == "postgresql":
            self.pg_name = f"smsrelay_{self.tag}_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
            subprocess.run([*PG, f"CREATE DATABASE {self.pg_name}"], check=True, timeout=60)
            self.database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.pg_name}"
        else:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'smsrelay.db'}"
        if self.provider:
            (self.tmp / "smsrelay.toml").write_text(
                '[[connectors]]\nname = "carrier"\ntype = "http"\n'
                f'provider = "{self.provider}"\n'
                f'base_url = "http://127.0.0.1:{self.carrier_port}"\n'
                'default_sender = "+14155550100"\nconcurrency = 100\n'
                f"credentials = {{ {FAKE_CREDENTIALS[self.provider]} }}\n"
            )
        else:
            (self.tmp / "smsrelay.toml").write_text(
                '[[connectors]]\nname = "carrier"\ntype = "smpp"\nhost = "127.0.0.1"\n'
                f"port = {self.carrier_port}\nwindow = 100\n"
            )
        self.env = {
            **os.environ,
            "SMSRELAY_DATA_DIR": str(self.data_dir),
            "SMSRELAY_HTTP_PORT": str(self.http_port),
            "SMSRELAY_SMPP_PORT": "0",
            "SMSRELAY_RATE_LIMIT": "0",
            "SMSRELAY_LOG_LEVEL": "warning",
            "SMSRELAY_CONFIG": str(self.tmp / "smsrelay.toml"),
            "SMSRELAY_WORKERS": str(self.workers),
            "SMSRELAY_PUBLIC_URL": self.base,
        }
        if self.pg_name:
            self.env["SMSRELAY_DATABASE_URL"] = self.database_url

        # the carrier and the gateway start side by side (the gateway's SMPP connector
        # connects once the carrier listens); then the receiver, with the account's secret
        carrier_log, gateway_log = self.tmp / "carrier.log", self.tmp / "gateway.log"
        carrier = ["simulate-provider", self.provider] if self.provider else ["simulate-carrier"]
        self.procs["carrier"] = procs.spawn(
            [
                str(BIN / "smsrelay"),
                *carrier,
                "--port",
                str(self.carrier_port),
                "--dlr-delay-ms",
                str(self.dlr_delay_ms),
            ],
            self.env,
            carrier_log,
        )
        self.procs["gateway"] = procs.spawn([str(BIN / "smsrelay"), "serve"], self.env, gateway_log)
        procs.wait_tcp(self.carrier_port, 30, self.procs["carrier"], carrier_log)
        procs.wait_http(f"{self.base}/healthz", 90, self.procs["gateway"], gateway_log)
        self.key = (self.data_dir / "api-key").read_text().strip()
        if PRICED:  # every send is priced and debited from a prepaid balance (--priced)
            prices = self.tmp / "prices.csv"
            prices.write_text("country,prefix,price,currency\ndefault,,0.01,EUR\n")
            self.cli("pricing", "import", str(prices), "--account", "default")
            self.cli("accounts", "credit", "default", "--amount", "100000000")

        if self.webhooks:
            secret = asyncio.run(_default_secret(self.database_url))
            log = self.tmp / "receiver.log"
            self.procs["receiver"] = procs.spawn(
                [
                    sys.executable,
                    str(BENCH / "receiver.py"),
                    "--port",
                    str(self.receiver_port),
                    "--secret",
                    secret,
                ],
                self.env,
                log,
            )
            self.cli(
                "accounts", "update", "default", "--webhook-url", self.receiver_url("/callbacks")
            )
            procs.wait_http(self.receiver_url("/stats"), 30, self.procs["receiver"], log)

    def close(self) -> None:
        for name in ("gateway", "receiver", "carrier"):
            procs.stop(self.procs.pop(name, None))
        if self.pg_name:
            subprocess.run(
                [*PG, f"DROP DATABASE IF EXISTS {self.pg_name} WITH (FORCE)"],
                check=False,
                timeout=60,
            )
            self.pg_name = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- helpers -------------------------------------------------------------------------
    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "smsrelay"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"smsrelay {' '.join(args)}: {done.stderr[-1000:]}")
        return done.stdout.strip()

    def receiver_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.receiver_port}{path}"

    def receiver_stats(self, with_ids: bool = False) -> dict[str, Any]:
        url = self.receiver_url("/stats?ids=1" if with_ids else "/stats")
        return httpx.get(url, timeout=30).json()  # type: ignore[no-any-return]

    @property
    def gateway_pid(self) -> int:
        return self.procs["gateway"].pid

    def gateway_alive(self) -> bool:
        return self.procs["gateway"].poll() is None
