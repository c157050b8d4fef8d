"""SMPP over TLS for client binds: a TLS client binds and submits; plain TCP gets nowhere."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest

from smsrelay.smpp.client import connect
from smsrelay.smpp.constants import BindType
from smsrelay.smpp.errors import SmppError
from smsrelay.smpp.pdu import submit_sm
from tests.gateway.smpp_support import make_user, smpp_port
from tests.support.gateway import running_gateway


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


async def test_tls_bind_and_submit(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    async with running_gateway(tmp_path, smpp_tls_cert=cert, smpp_tls_key=key) as gw:
        await make_user(gw)
        port = smpp_port(gw)
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the server is addressed by IP, the cert names localhost
        client = await connect(
            "127.0.0.1", port, "client1", "secret", BindType.TRANSCEIVER, ssl=context
        )
        try:
            # Germany takes an alphanumeric sender (the US would not: sender_not_allowed)
            resp = await client.submit(submit_sm("Acme", "4915112345678", b"over TLS"))
            assert resp.command_status == 0
            assert resp.fields["message_id"]
        finally:
            await client.unbind()
            client.close()
        with pytest.raises((OSError, TimeoutError, SmppError)):
            plain = await connect(
                "127.0.0.1",
                port,
                "client1",
                "secret",
                BindType.TRANSCEIVER,
                bind_timeout=2,
                connect_timeout=2,
            )
            plain.close()
