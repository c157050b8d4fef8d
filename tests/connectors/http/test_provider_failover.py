"""One routing for every connector: an SMPP carrier and two providers, one of them failing."""

from __future__ import annotations

from pathlib import Path

import pytest

from smsrelay.config import RouteConfig
from smsrelay.connectors.options import HttpOptions, SimulatorOptions
from tests.connectors.http.support import all_in_status, gateway_with, provider_fake
from tests.support.servers import wait_for

SID, TOKEN = "AC00000000000000000000000000000002", "failover-token"
COUNT = 60


def _twilio(name: str, base_url: str) -> HttpOptions:
    return HttpOptions(
        name=name,
        provider="twilio",
        base_url=base_url,
        credentials={"account_sid": SID, "auth_token": TOKEN},
        default_sender="+14155550100",
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_failing_provider_drains_to_the_others_and_each_message_goes_once(
    tmp_path: Path, backend: str
) -> None:
    credentials = {"account_sid": SID, "auth_token": TOKEN}
    async with (
        provider_fake("twilio", credentials=credentials, error_rate=1.0) as (down, down_url),
        provider_fake("twilio", credentials=credentials, dlr_delay_ms=5) as (up, up_url),
    ):
        connectors = [
            _twilio("provider-down", down_url),
            SimulatorOptions(name="carrier", latency_ms=1, dlr_delay_ms=5),
            _twilio("provider-up", up_url),
        ]
        route = RouteConfig(
            name="default",
            strategy="weighted",
            connectors=["provider-down", "carrier", "provider-up"],
        )
        async with gateway_with(
            tmp_path, backend, connectors, routes=[route], retry_base=0.01, retry_cap=0.05
        ) as gw:
            ids = []
            for n in range(COUNT):
                r = await gw.client.post(
                    "/send", headers=gw.auth(), json={"to": "+14155550101", "message": f"m{n}"}
                )
                assert r.status_code == 202, r.text
                ids.append(r.json()["message_id"])

            await wait_for(lambda: all_in_status(gw, ids), timeout=30)
            carrier = gw.relay.embedded_carrier
            assert carrier is not None
            through_carrier = len(carrier.accepted)
            assert down.sent == [] and gw.relay.connectors["provider-down"].stats["calls"] > 0
            assert through_carrier > 0 and len(up.sent) > 0
            assert through_carrier + len(up.sent) == COUNT  # each message went out once
            assert len({m.text for m in up.sent}) == len(up.sent)
