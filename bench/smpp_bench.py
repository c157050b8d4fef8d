"""SMPP stack throughput: PDU pack+unpack per second, and submit_sm/s over loopback.

The MC runs in a separate process (our ``SmppServer`` answering every submit_sm at once with
a message id), so the client figure is what one core running our ESME achieves.

    python bench/smpp_bench.py                    # defaults: 50,000 submits per window size
    python bench/smpp_bench.py --count 100000 --windows 10 100 500 --no-uvloop
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import connect
from smsrelay.smpp.codec import decode_pdu, encode_pdu
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.server import ServerSession, SmppServer, SmscHandler


def _submit() -> Pdu:
    pdu = P.submit_sm(
        "Acme",
        "4915112345678",
        b"Your verification code is 123456",
        source_addr_ton=5,
        dest_addr_ton=1,
        dest_addr_npi=1,
        registered_delivery=1,
    )
    pdu.sequence_number = 42
    return pdu


def bench_codec(seconds: float) -> list[tuple[str, float]]:
    pdu = _submit()
    wire = encode_pdu(pdu)
    resp = P.submit_sm_resp(pdu, "5f1c2a9e")
    resp_wire = encode_pdu(resp)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("submit_sm encode", lambda: encode_pdu(pdu)),
        ("submit_sm decode", lambda: decode_pdu(wire)),
        ("submit_sm encode+decode", lambda: decode_pdu(encode_pdu(pdu))),
        ("submit_sm_resp encode+decode", lambda: decode_pdu(encode_pdu(resp))),
    ]
    assert decode_pdu(resp_wire) == resp
    results = []
    for name, fn in cases:
        n = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(1000):
                fn()
            n += 1000
        results.append((name, n / elapsed))
    return results


class _Instant(SmscHandler):
    def __init__(self) -> None:
        self.n = 0

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu:
        self.n += 1
        return P.submit_sm_resp(pdu, format(self.n, "x"))


def _serve(pipe: Connection, use_uvloop: bool, window: int) -> None:
    async def main() -> None:
        server = SmppServer(_Instant(), "127.0.0.1", 0, window=window)
        await server.start()
        pipe.send(server.port)
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        await server.close()

    _run(main(), use_uvloop)


def _run(coro: object, use_uvloop: bool) -> None:
    if use_uvloop:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    else:
        asyncio.run(coro)  # type: ignore[arg-type]


async def _submit_loop(port: int, window: int, count: int) -> float:
    client = await connect("127.0.0.1", port, "bench", "bench", window=window)
    template = _submit().fields
    # warm up
    await asyncio.gather(
        *[await client.send_request(Pdu(4, fields=template)) for _ in range(min(count, 2000))]
    )
    start = time.perf_counter()
    last = None
    for _ in range(count):
        last = await client.send_request(Pdu(4, fields=template))
    assert last is not None
    await last
    while client.window_free < window:
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    await client.unbind()
    return count / elapsed


def bench_loopback(windows: list[int], count: int, use_uvloop: bool) -> list[tuple[str, float]]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, use_uvloop, max(windows)), daemon=True)
    proc.start()
    port = parent.recv()
    results = []
    try:
        for window in windows:
            box: list[float] = []

            async def run(w: int = window, out: list[float] = box) -> None:
                out.append(await _submit_loop(port, w, count))

            _run(run(), use_uvloop)
            results.append((f"submit_sm/s loopback, window {window}", box[0]))
    finally:
        parent.send("stop")
        proc.join(10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=50_000, help="submits per window size")
    parser.add_argument("--windows", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--codec-seconds", type=float, default=1.0)
    parser.add_argument("--no-uvloop", action="store_true", help="use the stock asyncio loop")
    args = parser.parse_args()
    use_uvloop = not args.no_uvloop
    if use_uvloop:
        try:
            import uvloop  # noqa: F401
        except ImportError:
            use_uvloop = False
    rows = bench_codec(args.codec_seconds)
    rows += bench_loopback(args.windows, args.count, use_uvloop)
    width = max(len(name) for name, _ in rows)
    loop_name = "uvloop" if use_uvloop else "asyncio"
    print(f"{'measure':<{width}}  {'per second':>12}   (loop: {loop_name})")
    print("-" * (width + 15))
    for name, rate in rows:
        print(f"{name:<{width}}  {rate:>12,.0f}")


if __name__ == "__main__":
    main()
