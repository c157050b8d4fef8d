"""Every part of a long message has its own id and its own receipt, seen by third-party clients.

Clients that no one here wrote (smpplib, aiosmpp, aiosmpplib, and the npm package ``smpp``
when node and npm can install it) send long messages as UDH and
SAR parts, in GSM and UCS-2, over real sockets: every submit_sm_resp id must be distinct,
and every part must get exactly one receipt for its own id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smsrelay.app import build_http_app
from smsrelay.config import Settings
from smsrelay.connectors.options import SimulatorOptions
from smsrelay.domain.messages import Encoding, Message, MessageKind, ReceiptStatus
from smsrelay.domain.states import MessageStatus
from smsrelay.engine.notify import part_statuses
from smsrelay.gateway.http.auth import forget_cached_keys
from smsrelay.smpp import pdu as P
from smsrelay.smpp.client import SmppClient, connect
from smsrelay.smpp.constants import BindType, CommandId, CommandStatus, MessageState
from smsrelay.smpp.pdu import Pdu
from smsrelay.store import accounts as account_store
from smsrelay.store import suppressions
from tests.gateway.smpp_support import make_user, smpp_port
from tests.support.connectors import ScriptedConnector
from tests.support.gateway import RunningGateway, database_url, running_gateway
from tests.support.servers import serve_app, wait_for

smpplib_client = pytest.importorskip("smpplib.client")
smpplib_gsm = pytest.importorskip("smpplib.gsm")
aiosmpp_client = pytest.importorskip("aiosmpp.client")
aiosmpp_gsm = pytest.importorskip("aiosmpp.gsm")
aiosmpplib = pytest.importorskip("aiosmpplib")
aiosmpplib_correlator = pytest.importorskip("aiosmpplib.correlator")

GSM_LONG = "Your parcel 4711 is on its way and arrives tomorrow between 9 and 12 o'clock. " * 4
UCS2_LONG = "Ваш код подтверждения: 4711. Никому его не сообщайте. " * 3
KINDS = ("udh-gsm", "udh-ucs2", "sar-gsm", "sar-ucs2", "short")


def _gsm(text: str) -> bytes:
    return bytes(smpplib_gsm.gsm_encode(text))


def _sar_parts(text: str, ucs2: bool, ref: int) -> list[dict[str, Any]]:
    """A long text as SAR parts (§5.3.2.22-24): 153 GSM octets or 134 UCS-2 octets each."""
    data, size = (text.encode("utf-16-be"), 134) if ucs2 else (_gsm(text), 153)
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    return [
        {
            "short_message": chunk,
            "data_coding": 8 if ucs2 else 0,
            "sar_msg_ref_num": ref,
            "sar_total_segments": len(chunks),
            "sar_segment_seqnum": n,
        }
        for n, chunk in enumerate(chunks, start=1)
    ]


def _plan(count: int, make_parts: Any) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(destination, kind, submit_sm fields per part) for ``count`` messages of every kind;
    UDH parts are made by the client library's own splitter."""
    plan = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        text = (UCS2_LONG if "ucs2" in kind else GSM_LONG) + str(i)
        if kind == "short":
            parts = [{"short_message": _gsm(f"Code {i}"), "data_coding": 0}]
        elif kind.startswith("sar"):
            parts = _sar_parts(text, "ucs2" in kind, 1000 + i)
        else:
            chunks, coding, esm_class = make_parts(text)
            parts = [
                {"short_message": c, "data_coding": coding, "esm_class": esm_class} for c in chunks
            ]
        plan.append((f"4915112{i:06d}", kind, parts))
    return plan


def _fields(dest: str, part: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_addr_ton": 5,
        "source_addr": "Acme",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": dest,
        "registered_delivery": True,
        **part,
    }


def _check(
    plan: list[tuple[str, str, list[dict[str, Any]]]],
    resp_ids: list[str],
    receipts: list[tuple[str, bytes]],
) -> None:
    parts = sum(len(p) for _, _, p in plan)
    assert parts > 2 * len(plan)  # long messages really went as several parts
    assert len(resp_ids) == parts
    assert len(set(resp_ids)) == parts  # no two parts share an id
    assert sorted(r[0] for r in receipts) == sorted(resp_ids)  # exactly one receipt per part
    assert all(b"stat:DELIVRD" in r[1] for r in receipts)
    singles = [i for i in resp_ids if "-" not in i]
    assert len(singles) == sum(1 for _, k, _ in plan if k == "short")  # single ids unchanged


def _smpplib_run(
    port: int, plan: list[tuple[str, str, list[dict[str, Any]]]]
) -> tuple[list[str], list[tuple[str, bytes]]]:
    client = smpplib_client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    resp_ids: list[str] = []
    receipts: list[tuple[str, bytes]] = []
    client.set_message_sent_handler(lambda pdu: resp_ids.append(pdu.message_id.decode()))
    client.set_message_received_handler(
        lambda pdu: receipts.append((pdu.receipted_message_id.decode(), pdu.short_message))
    )
    parts = sum(len(p) for _, _, p in plan)
    client.connect()
    try:
        client.bind_transceiver(system_id="client1", password="secret")
        sent = 0
        for dest, _, message_parts in plan:
            for part in message_parts:
                client.send_message(**_fields(dest, part))
                sent += 1
            while len(resp_ids) < sent - 100:  # keep the socket buffers drained
                client.read_once()
        deadline = time.monotonic() + 60
        while (len(resp_ids) < parts or len(receipts) < parts) and time.monotonic() < deadline:
            client.read_once()
        client.unbind()
    finally:
        client.disconnect()
    return resp_ids, receipts


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_smpplib_udh_and_sar_parts_get_their_own_ids_and_receipts(
    tmp_path: Path, backend: str
) -> None:
    async with running_gateway(tmp_path, backend, smpp_response_timeout=30.0, smpp_window=50) as gw:
        await make_user(gw)
        plan = _plan(200, smpplib_gsm.make_parts)
        resp_ids, receipts = await asyncio.wait_for(
            asyncio.to_thread(_smpplib_run, smpp_port(gw), plan), 90
        )
        _check(plan, resp_ids, receipts)
        # the REST API shows one message per long message, listing its parts' ids
        by_message: dict[str, list[str]] = {}
        for part_id in resp_ids:
            by_message.setdefault(part_id.rsplit("-", 1)[0], []).append(part_id)
        assert len(by_message) == len(plan)
        joined = next(m for m, ids in by_message.items() if len(ids) == 3)
        got = await gw.client.get(f"/v1/messages/{joined}", headers=gw.auth())
        assert got.status_code == 200
        body = got.json()
        assert body["smpp_parts"] == [f"{joined}-1", f"{joined}-2", f"{joined}-3"]
        assert body["status"] == "delivered"
        single = next(m for m, ids in by_message.items() if ids == [m])
        got = await gw.client.get(f"/v1/messages/{single}", headers=gw.auth())
        assert got.json()["smpp_parts"] is None
        listed: list[str] = []
        cursor = ""
        while True:
            page = (
                await gw.client.get(f"/v1/messages?limit=100{cursor}", headers=gw.auth())
            ).json()
            listed += [m["message_id"] for m in page["data"]]
            if not page["next_cursor"]:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert sorted(listed) == sorted(by_message)  # one message per long message


async def _aiosmpp_run(
    port: int, plan: list[tuple[str, str, list[dict[str, Any]]]]
) -> tuple[list[str], list[tuple[str, bytes]]]:
    client = aiosmpp_client.Client("127.0.0.1", port, timeout=5)
    resp_ids: list[str] = []
    receipts: list[tuple[str, bytes]] = []

    async def sent(pdu: Any, **_: Any) -> None:
        resp_ids.append(pdu.message_id.decode())

    async def received(pdu: Any, **_: Any) -> None:
        # a C-Octet String TLV: this library keeps the terminating NUL
        receipts.append((pdu.receipted_message_id.rstrip(b"\0").decode(), pdu.short_message))

    client.set_message_sent_handler(sent)
    client.set_message_received_handler(received)
    parts = sum(len(p) for _, _, p in plan)
    await client.connect_async()
    await client.bind_transceiver_async(system_id="client1", password="secret")
    sent_count = 0
    for dest, _, message_parts in plan:
        for part in message_parts:
            await client.send_message_async(**_fields(dest, part))
            sent_count += 1
            while len(resp_ids) < sent_count:  # one at a time: the library reads naively
                await client.read_once_async()
    deadline = time.monotonic() + 60
    while len(receipts) < parts and time.monotonic() < deadline:
        await client.read_once_async()
    client._writer.close()
    return resp_ids, receipts


async def test_aiosmpp_udh_and_sar_parts_get_their_own_ids_and_receipts(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, smpp_response_timeout=30.0) as gw:
        await make_user(gw)
        plan = _plan(40, aiosmpp_gsm.make_parts)
        resp_ids, receipts = await asyncio.wait_for(_aiosmpp_run(smpp_port(gw), plan), 90)
        _check(plan, resp_ids, receipts)


class _Recording(aiosmpplib_correlator.SimpleCorrelator):  # type: ignore[misc,name-defined]
    """aiosmpplib's own correlator, noting which SMSC ids it stored and which receipts it
    could match (it keys receipts on those ids: a shared id loses all but one part)."""

    def __init__(self) -> None:
        super().__init__("test")
        self.stored: list[str] = []
        self.matched: list[str] = []
        self.unmatched: list[str] = []

    async def put_delivery(self, smsc_message_id: str, submit_sm: Any) -> None:
        self.stored.append(smsc_message_id)
        await super().put_delivery(smsc_message_id, submit_sm)

    async def get_delivery(self, receipt: Any) -> Any:
        found = await super().get_delivery(receipt)
        receipt_id = str(receipt.parse_receipt().get("id", ""))
        (self.matched if found is not None else self.unmatched).append(receipt_id)
        return found


async def test_aiosmpplib_matches_every_part_receipt_to_its_part(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, smpp_response_timeout=30.0) as gw:
        await make_user(gw)
        correlator = _Recording()
        esme = aiosmpplib.ESME(
            smsc_host="127.0.0.1",
            smsc_port=smpp_port(gw),
            system_id="client1",
            password="secret",
            correlator=correlator,
            log_level="ERROR",
        )
        # the library splits a text past 254 octets itself: UDH with the UDHI bit set; its
        # SAR path reuses the encoding of the message split before, so it follows a UDH one
        texts = [(GSM_LONG * 2 + str(i), 0x40 if i % 4 < 2 else 0) for i in range(20)]
        texts += [(UCS2_LONG + str(i), 0x40 if i % 4 < 2 else 0) for i in range(20)]
        for i, (text, esm_class) in enumerate(texts):
            await esme.broker.enqueue(
                aiosmpplib.SubmitSm(
                    short_message=text,
                    source=aiosmpplib.PhoneNumber("Acme", ton=aiosmpplib.TON.ALPHANUMERIC),
                    destination=aiosmpplib.PhoneNumber(
                        f"4915113{i:06d}", ton=aiosmpplib.TON.INTERNATIONAL
                    ),
                    esm_class=esm_class,
                    auto_message_payload=False,
                    log_id=f"m{i}",
                )
            )
        task = asyncio.create_task(esme.start())
        try:
            await wait_for(
                lambda: (
                    len(correlator.stored) > 2 * len(texts)
                    and len(correlator.matched) + len(correlator.unmatched)
                    >= len(correlator.stored)
                    and gw.relay.smpp_server is not None
                    and not gw.relay.smpp_server._reassembler
                ),
                timeout=60,
            )
        finally:
            await esme.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert len(set(correlator.stored)) == len(correlator.stored)
        assert correlator.unmatched == []
        assert sorted(correlator.matched) == sorted(correlator.stored)


# -- per-part fates, query_sm, cancel_sm and refusals, with a scripted carrier ------------


@contextlib.asynccontextmanager
async def _gateway_with(
    tmp_path: Path, carrier: ScriptedConnector
) -> AsyncIterator[RunningGateway]:
    forget_cached_keys()
    async with database_url("sqlite", tmp_path) as url:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            connectors=[SimulatorOptions(name=carrier.name)],
            smpp_port=0,
        )
        app = build_http_app(settings, connectors={carrier.name: carrier})
        async with serve_app(app) as base_url:
            import httpx

            key = (tmp_path / "data" / "api-key").read_text().strip()
            async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
                yield RunningGateway(base_url, key, app.state.relay, client)


def _udh_parts(text: bytes, ref: int, size: int) -> list[bytes]:
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    return [bytes([5, 0, 3, ref, len(chunks), n]) + c for n, c in enumerate(chunks, start=1)]


async def _send_parts(client: SmppClient, dest: str, parts: list[bytes], **kw: Any) -> list[Pdu]:
    answers = []
    for part in parts:
        fields = {
            "source_addr": "Acme",
            "destination_addr": dest,
            "esm_class": 0x40,
            "short_message": part,
            "registered_delivery": 1,
            **kw,
        }
        answers.append(await client.submit(P.Pdu(CommandId.SUBMIT_SM, fields=fields)))
    return answers


def _stat(receipt: Pdu) -> str:
    text = receipt.get("short_message")
    assert isinstance(text, bytes)
    return text.split(b"stat:")[1].split(b" ")[0].decode()


async def test_each_part_reports_its_own_segment_and_query_and_cancel_take_part_ids(
    tmp_path: Path,
) -> None:
    carrier = ScriptedConnector("carrier")
    async with _gateway_with(tmp_path, carrier) as gw:
        await make_user(gw)
        got: list[Pdu] = []
        client = await connect(
            "127.0.0.1",
            smpp_port(gw),
            "client1",
            "secret",
            BindType.TRANSCEIVER,
            on_deliver=lambda p: got.append(p),
        )
        # 300 GSM characters: two parts from the client, two segments to the carrier
        two = await _send_parts(client, "4915112000001", _udh_parts(b"x" * 300, 1, 153))
        ids = [a.str_field("message_id") for a in two]
        message_id = ids[0].removesuffix("-1")
        assert ids == [f"{message_id}-1", f"{message_id}-2"]
        await wait_for(lambda: message_id in carrier.carrier_ids)
        first, second = carrier.carrier_ids[message_id]
        await carrier.receipt(first, ReceiptStatus.DELIVERED)
        await carrier.receipt(second, ReceiptStatus.UNDELIVERED)
        await wait_for(lambda: len(got) == 2)
        fates = {r.tlvs["receipted_message_id"]: _stat(r) for r in got}
        assert fates == {ids[0]: "DELIVRD", ids[1]: "UNDELIV"}
        states = []
        for value in [*ids, message_id]:
            answer = await client.submit(P.Pdu(CommandId.QUERY_SM, fields={"message_id": value}))
            assert answer.ok and answer.str_field("message_id") == value
            states.append(answer.int_field("message_state"))
        assert states == [
            MessageState.DELIVERED,
            MessageState.UNDELIVERABLE,
            MessageState.UNDELIVERABLE,  # the message's own id: its combined status
        ]
        for missing in (f"{message_id}-3", f"{message_id}-0", "msg_nope-1"):
            answer = await client.submit(P.Pdu(CommandId.QUERY_SM, fields={"message_id": missing}))
            assert answer.command_status == CommandStatus.ESME_RQUERYFAIL

        # three short parts the gateway sends as one segment: every part reports the message
        got.clear()
        three = await _send_parts(client, "4915112000002", _udh_parts(b"abcdefghi", 2, 3))
        joined = three[0].str_field("message_id").removesuffix("-1")
        await wait_for(lambda: joined in carrier.carrier_ids)
        (only,) = carrier.carrier_ids[joined]
        await carrier.receipt(only, ReceiptStatus.DELIVERED)
        await wait_for(lambda: len(got) == 3)
        assert sorted((r.tlvs["receipted_message_id"], _stat(r)) for r in got) == [
            (f"{joined}-{n}", "DELIVRD") for n in (1, 2, 3)
        ]

        # a scheduled long message cancelled by one part's id: each part learns it
        got.clear()
        later = await _send_parts(
            client,
            "4915112000003",
            _udh_parts(b"y" * 200, 3, 153),
            schedule_delivery_time="000001000000000R",
        )
        part_two = later[1].str_field("message_id")
        cancel = await client.submit(P.Pdu(CommandId.CANCEL_SM, fields={"message_id": part_two}))
        assert cancel.ok
        await wait_for(lambda: len(got) == 2)
        assert sorted((r.tlvs["receipted_message_id"], _stat(r)) for r in got) == [
            (part_two.removesuffix("-2") + f"-{n}", "DELETED") for n in (1, 2)
        ]
        again = await client.submit(P.Pdu(CommandId.CANCEL_SM, fields={"message_id": part_two}))
        assert again.command_status != CommandStatus.ESME_ROK
        await client.unbind()


async def test_a_refused_joined_message_rejects_every_acknowledged_part(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        await make_user(gw)
        assert gw.relay.db is not None
        async with gw.relay.db.transaction() as conn:
            account = await account_store.get_account_by_name(conn, "default")
            assert account is not None
            await suppressions.add_suppression(
                conn, account.id, "+4915112000009", reason="stop", source="test", now=time.time()
            )
        got: list[Pdu] = []
        client = await connect(
            "127.0.0.1",
            smpp_port(gw),
            "client1",
            "secret",
            BindType.TRANSCEIVER,
            on_deliver=lambda p: got.append(p),
        )
        answers = await _send_parts(client, "4915112000009", _udh_parts(b"z" * 400, 9, 153))
        assert [a.ok for a in answers] == [True, True, False]  # the last one completes it
        acknowledged = [a.str_field("message_id") for a in answers[:2]]
        await wait_for(lambda: len(got) == 2)
        assert sorted(r.tlvs["receipted_message_id"] for r in got) == sorted(acknowledged)
        assert {_stat(r) for r in got} == {"REJECTD"}
        await client.unbind()


# -- the npm package `smpp`, when node and its npm cache have it ---------------------------

NODE_CLIENT = Path(__file__).with_name("smpp_node_client.js")


@pytest.fixture(scope="module")
def node_smpp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``smpp@0.5.1`` installed (from npm's cache first), or the test skips."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    folder = tmp_path_factory.mktemp("node-smpp")
    try:
        done = subprocess.run(
            ["npm", "install", "smpp@0.5.1", "--prefer-offline", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install smpp@0.5.1 took too long")
    if done.returncode != 0:
        pytest.skip(f"npm install smpp@0.5.1 failed: {done.stderr.decode()[-300:]}")
    return folder


async def test_node_smpp_udh_and_sar_parts_get_their_own_ids_and_receipts(
    tmp_path: Path, node_smpp: Path
) -> None:
    async with running_gateway(tmp_path, smpp_response_timeout=30.0) as gw:
        await make_user(gw)
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(NODE_CLIENT),
            str(smpp_port(gw)),
            "60",
            cwd=node_smpp,
            env={**os.environ, "NODE_PATH": str(node_smpp / "node_modules")},
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 90)
        seen = json.loads(out)
        assert seen["errors"] == []
        parts, resp_ids = seen["parts"], seen["resp_ids"]
        assert parts > 2 * 60  # long messages really went as several parts
        assert len(resp_ids) == len(set(resp_ids)) == parts
        assert sorted(r[0] for r in seen["receipts"]) == sorted(resp_ids)
        assert {r[1] for r in seen["receipts"]} == {"DELIVRD"}


def _settled(status: MessageStatus) -> Message:
    return Message(
        id="msg_0001",
        account_id="acc",
        to="+4915112000001",
        country="DE",
        sender="Acme",
        body="x",
        encoding=Encoding.GSM7,
        segments=2,
        kind=MessageKind.TRANSACTIONAL,
        priority=5,
        status=status,
        created_at=0.0,
        updated_at=0.0,
        not_before=0.0,
    )


def test_part_fates_pair_parts_with_segments_only_when_the_counts_match() -> None:
    undelivered = _settled(MessageStatus.UNDELIVERED)
    assert part_statuses(undelivered, 2, {1: "delivered", 2: "undelivered"}) == [
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
    ]
    # three client parts, two carrier segments: no pairing, each part has the message's fate
    assert (
        part_statuses(undelivered, 3, {1: "delivered", 2: "undelivered"})
        == [MessageStatus.UNDELIVERED] * 3
    )
    # never reached the carrier (no segments): the message's fate
    rejected = _settled(MessageStatus.REJECTED)
    assert part_statuses(rejected, 2, {}) == [MessageStatus.REJECTED] * 2
    # a segment the carrier never reported on takes the message's (timed-out) status
    unknown = _settled(MessageStatus.UNKNOWN)
    assert part_statuses(unknown, 2, {1: "delivered", 2: "accepted"}) == [
        MessageStatus.DELIVERED,
        MessageStatus.UNKNOWN,
    ]
