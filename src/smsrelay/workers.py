"""The supervisor of ``SMSRELAY_WORKERS`` gateway processes, once the database is prepared.

``python -m smsrelay.workers N RATE_LIMIT LOG_LEVEL``, run by :func:`smsrelay.supervise.
supervise` in place of itself. It imports only the standard library, so the process that
does nothing but watch its children does not hold a loaded gateway's memory. A child that
dies is started again (giving up after five quick deaths in a row); SIGTERM or SIGINT stops
them all, waiting up to 30 s for each before killing it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

log = logging.getLogger("smsrelay.workers")


def _start(index: int, workers: int, rate_limit: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SMSRELAY_WORKERS": "1", "SMSRELAY_WORKER_INDEX": str(index)}
    if rate_limit > 0:  # the account's limit is kept per process: share it out
        env["SMSRELAY_RATE_LIMIT"] = str(rate_limit / workers)
    if index > 0:
        env["SMSRELAY_SMPP_SERVER_ENABLED"] = "false"
    return subprocess.Popen([sys.executable, "-m", "smsrelay", "serve"], env=env)


def run(workers: int, rate_limit: float) -> int:
    """Run ``workers`` gateway processes until SIGTERM or SIGINT; the exit status."""
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = {i: _start(i, workers, rate_limit) for i in range(workers)}
    started = {i: time.monotonic() for i in children}
    quick_deaths = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for index, child in list(children.items()):
                if child.poll() is not None and not stopping:
                    log.error(
                        "worker %d exited with %s; starting it again", index, child.returncode
                    )
                    quick_deaths = quick_deaths + 1 if time.monotonic() - started[index] < 10 else 0
                    if quick_deaths >= 5:
                        log.error("workers keep dying at start; giving up")
                        stopping = True
                        break
                    time.sleep(1.0)
                    children[index] = _start(index, workers, rate_limit)
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
    return 1 if quick_deaths >= 5 else 0


def main(argv: list[str]) -> int:
    workers, rate_limit, level = int(argv[0]), float(argv[1]), argv[2]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(workers, rate_limit)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
