"""The supervisor of ``SMSRELAY_WORKERS`` gateway processes, once the database is prepared.

``python -m smsrelay.workers N LOG_LEVEL``, run by :func:`smsrelay.supervise.
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


def _start(index: int) -> subprocess.Popen[bytes]:
    # a worker knows it is one of several (SMSRELAY_WORKER_INDEX): its rate limits take their
    # tokens from budgets shared through the database (engine/budget.py)
    env = {**os.environ, "SMSRELAY_WORKERS": "1", "SMSRELAY_WORKER_INDEX": str(index)}
    if index > 0:
        env["SMSRELAY_SMPP_SERVER_ENABLED"] = "false"
    return subprocess.Popen([sys.executable, "-m", "smsrelay", "serve"], env=env)


def run(workers: int) -> int:
    """Run ``workers`` gateway processes until SIGTERM or SIGINT; the exit status."""
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children = {i: _start(i) for i in range(workers)}
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
                    children[index] = _start(index)
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
    workers, level = int(argv[0]), argv[1]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(workers)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
