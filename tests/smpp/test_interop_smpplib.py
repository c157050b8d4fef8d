"""Interoperability: the PyPI ``smpplib`` ESME (blocking, so run in a thread) against our MC."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest

from smsrelay.smpp import pdu as P
from smsrelay.smpp.constants import CommandId, CommandStatus, EsmClass, MessageState
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.receipts import format_receipt
from smsrelay.smpp.server import BindRequest, ServerSession, SmscHandler

smpplib_client = pytest.importorskip("smpplib.client")
smpplib_gsm = pytest.importorskip("smpplib.gsm")
smpplib_consts = pytest.importorskip("smpplib.consts")

LONG_TEXT = "Your order 4711 has shipped and will arrive tomorrow between 9 and 12. " * 3


class Carrier(SmscHandler):
    """Accepts one account, answers submit_sm with ids and pushes a receipt for each."""

    def __init__(self) -> None:
        self.binds: list[BindRequest] = []
        self.submits: list[Pdu] = []
        self.receipt_responses: list[Pdu] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def authenticate(self, request: BindRequest) -> int:
        self.binds.append(request)
        ok = (request.system_id, request.password) == ("interop", "secret")
        return CommandStatus.ESME_ROK if ok else CommandStatus.ESME_RINVPASWD

    def handle_request(self, session: ServerSession, pdu: Pdu) -> Pdu:
        if pdu.command_id != CommandId.SUBMIT_SM:
            return P.response_to(pdu, CommandStatus.ESME_RINVCMDID)
        self.submits.append(pdu)
        message_id = f"{0xA000 + len(self.submits):x}"
        task = asyncio.get_running_loop().create_task(self._receipt(session, pdu, message_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return P.submit_sm_resp(pdu, message_id)

    async def _receipt(self, session: ServerSession, submit: Pdu, message_id: str) -> None:
        now = datetime(2024, 6, 1, 12, 0)
        text = format_receipt(message_id, MessageState.DELIVERED, submit_date=now, done_date=now)
        receipt = P.deliver_sm(
            submit.str_field("destination_addr"),
            submit.str_field("source_addr"),
            text.encode(),
            esm_class=EsmClass.DELIVERY_RECEIPT,
            tlvs={"receipted_message_id": message_id, "message_state": MessageState.DELIVERED},
        )
        self.receipt_responses.append(await session.deliver(receipt))


def _smpplib_session(port: int) -> dict[str, Any]:
    """Everything smpplib does, synchronously, in a worker thread."""
    client = smpplib_client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    sent: list[bytes] = []
    receipts: list[tuple[bytes, bytes]] = []
    client.set_message_sent_handler(lambda pdu: sent.append(pdu.message_id))
    client.set_message_received_handler(
        lambda pdu: receipts.append((pdu.receipted_message_id, pdu.short_message))
    )
    client.connect()
    try:
        client.bind_transceiver(system_id="interop", password="secret")
        parts, encoding, esm_class = smpplib_gsm.make_parts(LONG_TEXT)
        for part in parts:
            client.send_message(
                source_addr_ton=smpplib_consts.SMPP_TON_ALNUM,
                source_addr="Acme",
                dest_addr_ton=smpplib_consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib_consts.SMPP_NPI_ISDN,
                destination_addr="4915112345678",
                short_message=part,
                data_coding=encoding,
                esm_class=esm_class,
                registered_delivery=True,
            )
        deadline = time.monotonic() + 10
        while (
            len(sent) < len(parts) or len(receipts) < len(parts)
        ) and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return {"parts": parts, "esm_class": esm_class, "sent": sent, "receipts": receipts}


async def test_smpplib_binds_submits_long_message_and_gets_receipts(make_server: Any) -> None:
    carrier = Carrier()
    server = await make_server(carrier)
    result = await asyncio.wait_for(asyncio.to_thread(_smpplib_session, server.port), 20)

    parts = result["parts"]
    assert len(parts) >= 2 and result["esm_class"] & EsmClass.UDHI
    assert [b.system_id for b in carrier.binds] == ["interop"]
    # every part arrived intact, in order, with its concatenation UDH (IEI 0x00, 3 octets)
    assert [p.fields["short_message"] for p in carrier.submits] == parts
    udhs = [p.fields["short_message"][:6] for p in carrier.submits]  # type: ignore[index]
    assert all(u[0] == 5 and u[1] == 0 and u[4] == len(parts) for u in udhs)
    assert [u[5] for u in udhs] == list(range(1, len(parts) + 1))
    assert all(p.fields["esm_class"] == EsmClass.UDHI for p in carrier.submits)
    assert all(p.fields["registered_delivery"] == 1 for p in carrier.submits)
    # smpplib read our submit_sm_resp message ids and our receipts
    expected_ids = [f"{0xA000 + i:x}".encode() for i in range(1, len(parts) + 1)]
    assert result["sent"] == expected_ids
    assert sorted(r[0] for r in result["receipts"]) == expected_ids
    assert all(b"stat:DELIVRD" in r[1] for r in result["receipts"])
    # and answered every deliver_sm with an ESME_ROK deliver_sm_resp
    assert len(carrier.receipt_responses) == len(parts)
    assert all(
        r.command_id == CommandId.DELIVER_SM_RESP and r.ok for r in carrier.receipt_responses
    )


async def test_smpplib_bad_password_is_refused(make_server: Any) -> None:
    server = await make_server(Carrier())

    def bad_bind() -> int:
        client = smpplib_client.Client(
            "127.0.0.1", server.port, timeout=5, allow_unknown_opt_params=True
        )
        client.connect()
        try:
            client.bind_transmitter(system_id="interop", password="wrong")
        except Exception as exc:  # smpplib raises PDUError(message, status)
            return int(exc.args[1])
        finally:
            client.disconnect()
        return 0

    status = await asyncio.wait_for(asyncio.to_thread(bad_bind), 10)
    assert status == CommandStatus.ESME_RINVPASWD
