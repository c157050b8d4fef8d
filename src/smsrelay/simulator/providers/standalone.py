"""``smsrelay simulate-provider``: one provider fake, from command-line values, served."""

from __future__ import annotations

import uvicorn

from . import FakeConfig, fake_for, parse_outcomes

__all__ = ["run_provider_fake"]


def run_provider_fake(
    provider: str,
    *,
    host: str = "127.0.0.1",
    port: int = 9101,
    dlr_delay_ms: float = 200.0,
    outcomes: str = "delivered=1",
    error_rate: float = 0.0,
    throttle: float = 0.0,
    credentials: list[str] | None = None,
    status_url: str = "",
    inbound_url: str = "",
    seed: int | None = None,
) -> None:
    """Serve the fake of ``provider`` until interrupted. ValueError for a bad option."""
    if not 0 <= error_rate <= 1:
        raise ValueError("--error-rate is a share between 0 and 1")
    pairs: dict[str, str] = {}
    for item in credentials or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--credential {item!r}: write KEY=VALUE")
        pairs[key] = value
    fake = fake_for(
        provider,
        FakeConfig(
            credentials=pairs,
            dlr_delay_ms=dlr_delay_ms,
            outcomes=parse_outcomes(outcomes),
            error_rate=error_rate,
            throttle=throttle,
            status_url=status_url,
            inbound_url=inbound_url,
            seed=seed,
        ),
    )
    print(f"{provider} fake on http://{host}:{port}; credentials: {fake.config.credentials}")
    uvicorn.run(fake.app(), host=host, port=port, log_level="warning", access_log=False)
