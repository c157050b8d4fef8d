"""The SMPP server for client binds, over real sockets against a running gateway."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from smsrelay.engine.clock import ManualClock
from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import SmppClient, connect
from smsrelay.smpp.constants import BindType, CommandId, CommandStatus, EsmClass, MessageState
from smsrelay.smpp.errors import BindError
from smsrelay.smpp.pdu import Pdu
from smsrelay.smpp.specs import SmeAddress
from smsrelay.store import accounts as account_store
from smsrelay.store import messages as message_store
from smsrelay.store import smpp_outbox
from tests.gateway.smpp_support import make_user, smpp_port
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import wait_for

smpplib_client = pytest.importorskip("smpplib.client")
smpplib_gsm = pytest.importorskip("smpplib.gsm")
smpplib_consts = pytest.importorskip("smpplib.consts")

LONG = "Your parcel 4711 is on its way and arrives tomorrow between 9 and 12 o'clock. " * 3
UCS2 = "Ваш код подтверждения: 4711. Никому его не сообщайте."
UCS2_LONG = UCS2 * 3


def _texts(count: int) -> list[str]:
    """Short GSM, long GSM (UDH parts), UCS-2 and long UCS-2, mixed."""
    kinds = ["Code {}", LONG + "{}", UCS2 + " {}", UCS2_LONG + " {}"]
    return [kinds[i % 10 % 4 if i % 10 < 4 else 0].format(i) for i in range(count)]


def _smpplib_run(port: int, texts: list[str], expect_receipts: int) -> dict[str, Any]:
    """Bind as transceiver, submit every text (smpplib splits long ones), read receipts."""
    client = smpplib_client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    resp_ids: list[str] = []
    receipts: list[tuple[str, bytes, int]] = []
    client.set_message_sent_handler(lambda pdu: resp_ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(
        lambda pdu: receipts.append(
            (pdu.receipted_message_id.decode(), pdu.short_message, pdu.esm_class)
        )
    )
    client.connect()
    parts_sent = 0
    try:
        client.bind_transceiver(system_id="client1", password="secret")
        for i, text in enumerate(texts):
            parts, coding, esm_class = smpplib_gsm.make_parts(text)
            for part in parts:
                client.send_message(
                    source_addr_ton=smpplib_consts.SMPP_TON_ALNUM,
                    source_addr="Acme",
                    dest_addr_ton=smpplib_consts.SMPP_TON_INTL,
                    dest_addr_npi=smpplib_consts.SMPP_NPI_ISDN,
                    destination_addr=f"4915112{i:06d}",
                    short_message=part,
                    data_coding=coding,
                    esm_class=esm_class,
                    registered_delivery=True,
                )
                parts_sent += 1
            while len(resp_ids) < parts_sent - 200:  # keep the socket buffers drained
                client.read_once()
        deadline = time.monotonic() + 30
        while (
            len(resp_ids) < parts_sent or len(receipts) < expect_receipts
        ) and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return {"resp_ids": resp_ids, "receipts": receipts, "parts": parts_sent}


async def test_smpplib_submits_1000_and_gets_a_matching_receipt_per_part(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, smpp_response_timeout=30.0, smpp_window=50) as gw:
        await make_user(gw)
        texts = _texts(1000)
        parts = sum(len(smpplib_gsm.make_parts(t)[0]) for t in texts)
        result = await asyncio.wait_for(
            asyncio.to_thread(_smpplib_run, smpp_port(gw), texts, parts), 60
        )
        assert result["parts"] == parts >= 1300  # long messages really went as several parts
        resp_ids = result["resp_ids"]
        assert len(resp_ids) == parts
        assert len(set(resp_ids)) == parts  # every part has its own id
        receipts = result["receipts"]
        assert len(receipts) == parts
        assert sorted(r[0] for r in receipts) == sorted(resp_ids)  # one receipt per part
        assert all(b"stat:DELIVRD" in r[1] and r[2] == EsmClass.DELIVERY_RECEIPT for r in receipts)
        assert gw.relay.db is not None
        async with gw.relay.db.read() as conn:
            stored = await message_store.list_messages(
                conn,
                (await account_store.get_account_by_name(conn, "default")).id,  # type: ignore[union-attr]
                limit=1000,
            )
        bodies = {m.body for m in stored}
        assert texts[1] in bodies and texts[2] in bodies and texts[3] in bodies
        assert {m.origin for m in stored} == {"smpp"}
        assert {m.encoding for m in stored if m.body.startswith("Ваш")} == {"ucs2"}


async def _client(
    gw: RunningGateway,
    bind: BindType = BindType.TRANSCEIVER,
    system_id: str = "client1",
    password: str = "secret",
    **kw: Any,
) -> SmppClient:
    return await connect("127.0.0.1", smpp_port(gw), system_id, password, bind, **kw)


def _submit(to: str = "4915112345678", text: bytes = b"hello", **fields: Any) -> Pdu:
    fields.setdefault("registered_delivery", 1)
    return P.submit_sm(
        "Acme", to, text, source_addr_ton=5, dest_addr_ton=1, dest_addr_npi=1, **fields
    )


async def _pending_receipts(gw: RunningGateway) -> list[smpp_outbox.SmppDelivery]:
    assert gw.relay.db is not None
    async with gw.relay.db.read() as conn:
        rows = await smpp_outbox.list_smpp_deliveries(conn)
    return [r for r in rows if r.state == "pending"]


async def test_late_receiver_gets_every_receipt(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        sender = await _client(gw, BindType.TRANSMITTER, window=20)
        ids = []
        for i in range(20):
            resp = await sender.submit(_submit(f"49151123{i:05d}", f"m{i}".encode()))
            assert resp.ok, resp
            ids.append(resp.str_field("message_id"))
        await wait_for(lambda: _count_pending(gw, 20), timeout=15)
        got: list[Pdu] = []
        receiver = await _client(gw, BindType.RECEIVER, on_deliver=lambda p: got.append(p))
        await wait_for(lambda: len(got) >= 20, timeout=15)
        assert sorted(p.tlvs["receipted_message_id"] for p in got) == sorted(ids)  # type: ignore[type-var]
        assert all(p.tlvs["message_state"] == MessageState.DELIVERED for p in got)
        assert all(p.int_field("esm_class") == EsmClass.DELIVERY_RECEIPT for p in got)
        await wait_for(lambda: _count_pending(gw, 0))
        await sender.unbind()
        await receiver.unbind()


async def _count_pending(gw: RunningGateway, expected: int) -> bool:
    return len(await _pending_receipts(gw)) == expected


async def test_stalled_client_is_windowed_then_dropped_and_receipts_flow_after(
    tmp_path: Path,
) -> None:
    async with running_gateway(
        tmp_path, smpp_window=5, smpp_response_timeout=1.0, smpp_retry_delay=0.2
    ) as gw:
        await make_user(gw)
        sender = await _client(gw, BindType.TRANSMITTER, window=30)
        ids = {
            (await sender.submit(_submit(f"49151123{i:05d}"))).str_field("message_id")
            for i in range(30)
        }
        await wait_for(lambda: _count_pending(gw, 30), timeout=15)
        seen: list[Pdu] = []

        async def never_answer(pdu: Pdu) -> int:
            seen.append(pdu)
            await asyncio.Event().wait()
            return 0

        stalled = await _client(gw, BindType.RECEIVER, on_deliver=never_answer)
        await wait_for(lambda: len(seen) >= 5)
        await asyncio.sleep(0.3)
        assert len(seen) == 5  # the window, not the backlog
        await stalled.wait_closed()  # the server gave up on it after the response timeout
        assert len(await _pending_receipts(gw)) == 30  # nothing lost
        got: list[Pdu] = []
        receiver = await _client(gw, BindType.RECEIVER, on_deliver=lambda p: got.append(p))
        await wait_for(lambda: {p.tlvs["receipted_message_id"] for p in got} == ids, timeout=15)
        await wait_for(lambda: _count_pending(gw, 0))
        await receiver.unbind()
        await sender.unbind()


async def test_bind_refusals_have_the_right_status(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        await make_user(gw, "faraway", "pw", allowed_ips="10.0.0.0/8")
        await make_user(gw, "single", "pw", max_binds=1, allowed_ips="127.0.0.1/32")
        for system_id, password, status in (
            ("client1", "wrong", CommandStatus.ESME_RINVPASWD),
            ("nobody", "secret", CommandStatus.ESME_RINVSYSID),
            ("faraway", "pw", CommandStatus.ESME_RBINDFAIL),
        ):
            with pytest.raises(BindError) as refused:
                await _client(gw, system_id=system_id, password=password)
            assert refused.value.command_status == status
        first = await _client(gw, system_id="single", password="pw")
        with pytest.raises(BindError) as refused:
            await _client(gw, system_id="single", password="pw")
        assert refused.value.command_status == CommandStatus.ESME_RBINDFAIL
        await first.unbind()
        again = await _client(gw, system_id="single", password="pw")
        await again.unbind()


async def test_bad_input_gets_its_status_and_the_bind_survives(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        client = await _client(gw)
        cases = [
            (_submit(data_coding=0x04), CommandStatus.ESME_RSUBMITFAIL),
            (_submit("12ab"), CommandStatus.ESME_RINVDSTADR),
            (_submit(text=b""), CommandStatus.ESME_RINVMSGLEN),
            (_submit(validity_period="garbage-time-xxx"), CommandStatus.ESME_RINVSCHED),
            (_submit(esm_class=0x40, text=b"\x09\x00"), CommandStatus.ESME_RSUBMITFAIL),
            (P.Pdu(CommandId.REPLACE_SM, fields={"message_id": "x"}), CommandStatus.ESME_RINVCMDID),
        ]
        for request, status in cases:
            resp = await client.submit(request)
            assert resp.command_status == status, (request, resp)
        ok = await client.submit(
            _submit(text="Grüße €".encode("latin-1", "replace"), data_coding=3)
        )
        assert ok.ok and client.is_bound
        await client.unbind()


async def test_account_rate_limit_throttles(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        assert gw.relay.db is not None
        async with gw.relay.db.transaction() as conn:
            await account_store.update_account(conn, "default", rate_limit=1.0, rate_burst=2)
        client = await _client(gw)  # the account's limits are read at bind time
        statuses = [(await client.submit(_submit())).command_status for _ in range(4)]
        assert statuses[:2] == [0, 0]
        assert CommandStatus.ESME_RTHROTTLED in statuses[2:]
        assert client.is_bound
        await client.unbind()


async def test_sar_parts_data_sm_multi_query_and_cancel(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        client = await _client(gw)
        sar = {"sar_msg_ref_num": 77, "sar_total_segments": 2}
        r1 = await client.submit(
            _submit(
                text="Ваш ".encode("utf-16-be"),
                data_coding=8,
                tlvs={**sar, "sar_segment_seqnum": 1},
            )
        )
        r2 = await client.submit(
            _submit(
                text="код".encode("utf-16-be"), data_coding=8, tlvs={**sar, "sar_segment_seqnum": 2}
            )
        )
        assert r1.ok and r2.ok
        part_one, part_two = r1.str_field("message_id"), r2.str_field("message_id")
        joined_id = part_one.removesuffix("-1")
        assert part_two == joined_id + "-2" and part_one == joined_id + "-1"
        data = await client.submit(
            P.Pdu(
                CommandId.DATA_SM,
                fields={
                    "source_addr": "Acme",
                    "destination_addr": "4915112345678",
                    "registered_delivery": 0,
                },
                tlvs={"message_payload": b"payload text"},
            )
        )
        assert data.ok
        multi = await client.submit(
            P.Pdu(
                CommandId.SUBMIT_MULTI,
                fields={
                    "source_addr": "Acme",
                    "short_message": b"to all",
                    "dest_addresses": [SmeAddress(1, 1, "4915112345678"), SmeAddress(1, 1, "bad")],
                },
            )
        )
        assert multi.ok and [u.address for u in multi.fields["unsuccess_sme"]] == ["bad"]  # type: ignore[union-attr]
        later = await client.submit(_submit(schedule_delivery_time="000001000000000R"))
        later_id = later.str_field("message_id")
        query = await client.submit(P.Pdu(CommandId.QUERY_SM, fields={"message_id": later_id}))
        assert query.ok and query.int_field("message_state") == MessageState.ENROUTE
        cancel = await client.submit(P.Pdu(CommandId.CANCEL_SM, fields={"message_id": later_id}))
        assert cancel.ok
        query = await client.submit(P.Pdu(CommandId.QUERY_SM, fields={"message_id": later_id}))
        assert query.int_field("message_state") == MessageState.DELETED
        missing = await client.submit(P.Pdu(CommandId.CANCEL_SM, fields={"message_id": "nope"}))
        assert missing.command_status == CommandStatus.ESME_RINVMSGID
        assert gw.relay.db is not None
        async with gw.relay.db.read() as conn:
            joined = await message_store.get_message(conn, joined_id)
            payload = await message_store.get_message(conn, data.str_field("message_id"))
        assert joined is not None and joined.body == "Ваш код" and joined.encoding == "ucs2"
        assert joined.receipt_requested == 1 and joined.origin == "smpp"
        assert payload is not None and payload.body == "payload text"
        assert payload.receipt_requested == 0
        await client.unbind()


async def test_parts_that_never_complete_get_a_rejected_receipt(tmp_path: Path) -> None:
    clock = ManualClock(time.time())
    async with running_gateway(tmp_path, clock=clock, smpp_reassembly_timeout=60.0) as gw:
        await make_user(gw)
        got: list[Pdu] = []
        client = await _client(gw, on_deliver=lambda p: got.append(p))
        udh = bytes([5, 0, 3, 0x42, 2, 1])  # part 1 of 2, reference 0x42
        first = await client.submit(_submit(text=udh + b"first half", esm_class=0x40))
        assert first.ok
        part_id = first.str_field("message_id")
        clock.advance(59.0)
        await clock.settle()
        assert got == []  # still waiting for the second part
        clock.advance(2.0)  # past the reassembly timeout: the next tick gives up on it
        await wait_for(lambda: len(got) == 1, timeout=10)
        receipt = got[0]
        assert receipt.tlvs["receipted_message_id"] == part_id
        text = receipt.get("short_message")
        assert isinstance(text, bytes) and b"stat:REJECTD" in text
        query = await client.submit(P.Pdu(CommandId.QUERY_SM, fields={"message_id": part_id}))
        assert query.command_status == CommandStatus.ESME_RQUERYFAIL  # never became a message
        await client.unbind()


async def test_a_client_gone_when_its_parts_expire_gets_the_receipt_when_it_binds_again(
    tmp_path: Path,
) -> None:
    clock = ManualClock(time.time())
    async with running_gateway(tmp_path, clock=clock, smpp_reassembly_timeout=60.0) as gw:
        await make_user(gw)
        sender = await _client(gw, BindType.TRANSMITTER)
        udh = bytes([5, 0, 3, 0x43, 3, 1])  # part 1 of 3, then the connection goes
        first = await sender.submit(_submit(text=udh + b"first third", esm_class=0x40))
        part_id = first.str_field("message_id")
        await sender.unbind()
        clock.advance(62.0)  # expired while nothing of this user is bound
        await wait_for(lambda: _count_pending(gw, 1), timeout=10)
        got: list[Pdu] = []
        receiver = await _client(gw, BindType.RECEIVER, on_deliver=lambda p: got.append(p))
        await wait_for(lambda: len(got) == 1, timeout=10)
        assert got[0].tlvs["receipted_message_id"] == part_id
        await receiver.unbind()
