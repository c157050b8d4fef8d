"""``smsrelay simulate-carrier``: build the simulator from command-line values and run it.

The Typer command only collects options; the parsing and checking live here so the command
stays a thin shell (as every command in :mod:`smsrelay.cli` is).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Literal

from .carrier import CarrierConfig, parse_outcomes, serve_forever
from .faults import Faults

__all__ = ["run_standalone"]


def run_standalone(
    *,
    host: str = "127.0.0.1",
    port: int = 2776,
    latency_ms: float = 0.0,
    dlr_delay_ms: float = 200.0,
    outcomes: str = "delivered=1",
    throttle: float = 0.0,
    error_rate: float = 0.0,
    drop_every: int = 0,
    stall: bool = False,
    id_format: str = "hex",
    receipt_id_format: str = "same",
    system_id: str | None = None,
    password: str | None = None,
    seed: int | None = None,
) -> None:
    """Run a carrier simulator in the foreground until interrupted.

    Raises ValueError for a bad option value (the command reports it).
    """
    if id_format not in ("hex", "dec") or receipt_id_format not in ("same", "hex", "dec"):
        raise ValueError("--id-format is hex|dec; --receipt-id-format is same|hex|dec")
    id_base: Literal["hex", "dec"] = "hex" if id_format == "hex" else "dec"
    receipt_base: Literal["same", "hex", "dec"] = (
        "same" if receipt_id_format == "same" else "hex" if receipt_id_format == "hex" else "dec"
    )
    config = CarrierConfig(
        system_id=system_id,
        password=password,
        id_format=id_base,
        receipt_id_format=receipt_base,
        latency=latency_ms / 1000.0,
        dlr_delay=dlr_delay_ms / 1000.0,
        outcomes=parse_outcomes(outcomes),
        seed=seed,
    )
    faults = Faults(throttle=throttle, error_rate=error_rate, drop_every=drop_every, stall=stall)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(config, faults, host, port))
