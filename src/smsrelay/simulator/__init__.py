"""smsrelay.simulator: a carrier SMSC over real TCP, for ``make run``, tests and benchmarks.

It stands on :mod:`smsrelay.smpp` (the MC role) and :mod:`smsrelay.domain` only; it knows
nothing of accounts, messages or storage.

    carrier   the simulated SMSC: binds, message ids, delivery receipts, MO injection
    faults    throttling, system errors, dropped connections, stalls
    mo        mobile-originated deliver_sm PDUs, concatenated when long
"""

from __future__ import annotations

from .carrier import OUTCOME_STATES, CarrierConfig, CarrierSimulator, parse_outcomes, serve_forever
from .faults import Faults, FaultState, Verdict
from .mo import mo_pdus

__all__ = [
    "OUTCOME_STATES",
    "CarrierConfig",
    "CarrierSimulator",
    "FaultState",
    "Faults",
    "Verdict",
    "mo_pdus",
    "parse_outcomes",
    "serve_forever",
]
