"""``smsrelay serve`` with SMSRELAY_WORKERS=2 and a connector limited to 100 messages/s: the
carrier, counting submits on its own clock, sees 100 a second, not 100 from each worker."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from smsrelay.simulator import CarrierConfig, CarrierSimulator
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession

SMSRELAY = str(Path(sys.executable).with_name("smsrelay"))
RATE = 100.0
MESSAGES = 1000


class TimingCarrier(CarrierSimulator):
    """Stamps every submit it accepts with its own clock."""

    def __init__(self) -> None:
        super().__init__(CarrierConfig(dlr_delay=0.05), port=0)
        self.times: list[float] = []

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu | None:
        answer = super().handle_request(session, pdu)
        if answer is not None and answer.command_status == 0:
            self.times.append(time.monotonic())
        return answer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_two_worker_processes_keep_the_connectors_rate(tmp_path: Path) -> None:
    carrier = TimingCarrier()
    await carrier.start()
    (tmp_path / "smsrelay.toml").write_text(
        f'[[connectors]]\nname = "limited"\ntype = "smpp"\nport = {carrier.port}\n'
        f"window = 100\nthroughput = {RATE:g}\n"
    )
    port = _free_port()
    env = {
        **os.environ,
        "SMSRELAY_DATA_DIR": str(tmp_path / "data"),
        "SMSRELAY_HTTP_PORT": str(port),
        "SMSRELAY_SMPP_PORT": "0",
        "SMSRELAY_CONFIG": str(tmp_path / "smsrelay.toml"),
        "SMSRELAY_WORKERS": "2",
    }
    env.pop("SMSRELAY_DATABASE_URL", None)
    proc = subprocess.Popen(
        [SMSRELAY, "serve"],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                await asyncio.sleep(0.2)
            key = (tmp_path / "data" / "api-key").read_text().strip()
            auth = {"Authorization": f"Bearer {key}"}
            # a backlog due at one moment, so what the carrier sees is the connector's pace
            due = (datetime.now(UTC) + timedelta(seconds=8)).isoformat()
            for start in range(0, MESSAGES, 250):
                batch = [
                    {"to": "+14155552671", "message": f"limited {n}", "send_at": due}
                    for n in range(start, start + 250)
                ]
                r = await client.post("/v1/messages/batch", headers=auth, json={"messages": batch})
                assert r.status_code == 202, r.text
            deadline = time.monotonic() + 60
            while len(carrier.times) < MESSAGES and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)  # a submit sent twice would arrive by now
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 60)
        await carrier.stop()
    assert len(carrier.times) == MESSAGES
    times = sorted(carrier.times)
    begin, end = times[0] + 1.0, times[-1] - 1.0  # the steady part: no start-up burst
    seen = sum(1 for t in times if begin <= t < end) / (end - begin)
    assert RATE * 0.9 <= seen <= RATE * 1.1, f"the carrier saw {seen:.1f} msg/s"
