"""``smsrelay serve``: run the gateway under uvicorn and tell the user where it is."""

from __future__ import annotations

import logging
import sys

import uvicorn
from fastapi import FastAPI

from smsrelay import __version__
from smsrelay.app import SmsRelay
from smsrelay.config import Settings
from smsrelay.gateway.http.app import create_app
from smsrelay.gctuning import tune_for_service


def banner(settings: Settings, relay: SmsRelay) -> str:
    base = f"http://{settings.http_host}:{settings.http_port}"
    url = settings.resolved_database_url
    where = url.split("///", 1)[1] if url.startswith("sqlite") else url.split("@")[-1]
    lines = [
        f"smsrelay {__version__}: API on {base} (OpenAPI docs at {base}/docs)",
        f"  database: {where}",
        f"  connectors: {', '.join(relay.connectors)}",
    ]
    if relay.smpp_server is not None:
        lines.append(
            f"  SMPP server for client binds on {settings.smpp_host}:"
            f"{relay.smpp_server.port} (smsrelay smpp-users create ...)"
        )
    key_file = settings.key_file
    if relay.bootstrap_result.key_file is not None:
        lines.append(f"  first API key (account 'default') written to {key_file} (mode 0600)")
    if key_file.exists():
        lines += [
            "  try it:",
            f"    curl -X POST {base}/send \\",
            f'      -H "Authorization: Bearer $(cat {key_file})" \\',
            "      -H 'Content-Type: application/json' \\",
            '      -d \'{"to": "+1234567890", "message": "Your verification code is 1234"}\'',
        ]
    else:
        lines.append("  create an API key: smsrelay keys create --account default")
    return "\n".join(lines)


def run(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.workers > 1 and settings.worker_index is None:
        from smsrelay.supervise import supervise

        supervise(settings)
        return
    relay = SmsRelay(settings)
    show_banner = not settings.worker_index  # None (single process) or worker 0

    async def on_startup(app: FastAPI) -> None:
        await relay.start()
        app.state.context = relay.api_context()
        app.state.relay = relay
        tune_for_service()
        if show_banner:
            print(banner(settings, relay), file=sys.stderr, flush=True)

    async def on_shutdown(app: FastAPI) -> None:
        await relay.stop()

    app = create_app(
        max_body_bytes=settings.max_body_bytes, on_startup=on_startup, on_shutdown=on_shutdown
    )
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    if settings.worker_index is not None:  # one of several workers sharing the port
        from smsrelay.supervise import listen_shared

        sock = listen_shared(settings.http_host, settings.http_port)
        uvicorn.run(
            app, fd=sock.fileno(), loop=loop, log_level="warning", access_log=False, lifespan="on"
        )
        return
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop=loop,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
