"""A simulated SMS pumping attack against the verify API, and what the fraud guard lets through.

The attacker asks for codes to consecutive numbers of one premium range (``+23276000000``,
``+23276000001``, ...), from a new IP address each time, and never enters one. Mixed with it,
normal users in another country (Germany) ask for a code every few seconds, read it from the
SMS the carrier got, and enter it. Time is the gateway's injected clock, advanced one second
per round, so ten minutes of traffic take a few seconds; everything else is real (HTTP, the
database, the dispatcher, SMPP to the built-in carrier simulator).

    python bench/pumping_attack.py                   # SQLite, 5 attack requests/s, 10 minutes
    createdb -h 127.0.0.1 pumping   # an empty database of its own
    python bench/pumping_attack.py --database postgresql://127.0.0.1/pumping --minutes 20

It prints how many attack codes reached the carrier before the block, and whether any normal
request was refused. ``tests/gateway/test_verify_api.py`` runs the same scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from smsrelay.app import SmsRelay, build_http_app
from smsrelay.config import Settings
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.domain.encoding import decode_gsm7, decode_ucs2
from smsrelay.engine.clock import ManualClock
from smsrelay.simulator.carrier import CarrierSimulator

ATTACK_BASE = "+23276"  # Sierra Leone mobile: 8 national digits
NORMAL_BASE = "+49151"


@dataclass
class AttackResult:
    attack_requests: int = 0
    attack_created: int = 0  # codes the gateway sent
    attack_refusals: Counter[str] = field(default_factory=Counter)
    attack_sms_at_carrier: int = 0
    blocked_after: int | None = None  # attack codes sent before the first 403
    normal_requests: int = 0
    normal_refused: list[str] = field(default_factory=list)
    normal_approved: int = 0

    def lines(self) -> list[str]:
        return [
            f"attack requests:            {self.attack_requests}",
            f"attack codes sent:          {self.attack_created} "
            f"(reached the carrier: {self.attack_sms_at_carrier})",
            f"attack codes before block:  {self.blocked_after}",
            f"attack refusals:            {dict(self.attack_refusals)}",
            f"normal requests:            {self.normal_requests}",
            f"normal refused:             {len(self.normal_refused)} {self.normal_refused[:3]}",
            f"normal approved:            {self.normal_approved}",
        ]


def texts_to(carrier: CarrierSimulator, number: str) -> list[str]:
    """The texts the carrier accepted for ``number``, decoded."""
    out = []
    for _, pdu in carrier.accepted:
        if pdu.get("destination_addr") in (number, number.lstrip("+")):
            raw = pdu.get("short_message")
            if isinstance(raw, bytes):
                out.append(decode_ucs2(raw) if pdu.get("data_coding") == 8 else decode_gsm7(raw))
    return out


async def code_at_carrier(carrier: CarrierSimulator, number: str, timeout: float = 10.0) -> str:
    """The code in the SMS the carrier got for ``number`` (waits for it: a network boundary)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for text in texts_to(carrier, number):
            found = re.search(r"\d{4,10}", text)
            if found:
                return found.group(0)
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no SMS for {number}")


def attack_sms(carrier: CarrierSimulator) -> int:
    digits = ATTACK_BASE.lstrip("+")
    return sum(
        1
        for _, pdu in carrier.accepted
        if str(pdu.get("destination_addr")).lstrip("+").startswith(digits)
    )


async def simulate(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    clock: ManualClock,
    carrier: CarrierSimulator,
    *,
    seconds: int = 600,
    attack_per_second: int = 5,
    normal_every: int = 5,
    seed: int = 1,
) -> AttackResult:
    """``seconds`` rounds of one simulated second each: the attack's requests, a normal user
    every ``normal_every`` seconds, then the clock moves on."""
    rng = random.Random(seed)
    result = AttackResult()
    next_number = 0
    for second in range(seconds):
        for _ in range(attack_per_second):
            to = f"{ATTACK_BASE}{next_number:06d}"
            next_number += 1
            ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            r = await client.post(
                "/v1/verifications", headers=headers, json={"to": to, "device_ip": ip}
            )
            result.attack_requests += 1
            if r.status_code == 201:
                result.attack_created += 1
            else:
                code = r.json()["error"]["code"]
                result.attack_refusals[code] += 1
                if code == "fraud_suspected" and result.blocked_after is None:
                    result.blocked_after = result.attack_created
        if second % normal_every == 0:
            await _normal_user(client, headers, carrier, rng, result)
        clock.advance(1.0)
        await clock.settle()
    deadline = time.monotonic() + 10
    while attack_sms(carrier) < result.attack_created and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    result.attack_sms_at_carrier = attack_sms(carrier)
    return result


async def _normal_user(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    carrier: CarrierSimulator,
    rng: random.Random,
    result: AttackResult,
) -> None:
    to = f"{NORMAL_BASE}{rng.randrange(10**8):08d}"
    ip = f"192.0.2.{rng.randrange(1, 255)}"
    r = await client.post("/v1/verifications", headers=headers, json={"to": to, "device_ip": ip})
    result.normal_requests += 1
    if r.status_code != 201:
        result.normal_refused.append(r.text)
        return
    code = await code_at_carrier(carrier, to)
    vid = r.json()["verification_id"]
    check = await client.post(
        f"/v1/verifications/{vid}/check", headers=headers, json={"code": code}
    )
    if check.status_code == 200 and check.json()["status"] == "approved":
        result.normal_approved += 1


@contextlib.asynccontextmanager
async def gateway(database_url: str | None, clock: ManualClock) -> AsyncIterator[tuple[Any, str]]:
    """A whole gateway on the manual clock, its API on 127.0.0.1 (an ephemeral port)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=database_url,
            smpp_port=0,
            connectors=[SimulatorOptions(name="simulator", latency_ms=0, dlr_delay_ms=30)],
        )
        app = build_http_app(settings, clock=clock)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        key = (Path(tmp) / "data" / "api-key").read_text().strip()
        try:
            yield app, f"http://127.0.0.1:{port}|{key}"
        finally:
            server.should_exit = True
            await task


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="a PostgreSQL URL; SQLite by default")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--attack-per-second", type=int, default=5)
    parser.add_argument("--normal-every", type=int, default=5, help="seconds between normal users")
    args = parser.parse_args()
    database = args.database
    if database and database.startswith("postgresql://"):
        database = "postgresql+asyncpg://" + database.removeprefix("postgresql://")
    clock = ManualClock(time.time())
    async with gateway(database, clock) as (app, target):
        base_url, key = target.split("|")
        relay: SmsRelay = app.state.relay
        carrier = relay.embedded_carrier
        assert carrier is not None
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            result = await simulate(
                client,
                {"Authorization": f"Bearer {key}"},
                clock,
                carrier,
                seconds=int(args.minutes * 60),
                attack_per_second=args.attack_per_second,
                normal_every=args.normal_every,
            )
        print("\n".join(result.lines()))
        print(f"wall time: {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
