"""The SMPP connector against the carrier simulator, over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from smsrelay.domain.encoding import decode_gsm7, decode_ucs2, parse_udh, unpack_septets
from smsrelay.domain.errors import ErrorCode, spec
from smsrelay.domain.messages import ReceiptStatus, SubmitOutcome
from smsrelay.simulator import CarrierConfig, Faults, mo_pdus
from smsrelay.smpp.receipts import normalise_message_id
from tests.connectors.smpp_support import RecordingSink, carrier, connected, message
from tests.support.servers import wait_for

LONG = "The quick brown fox jumps over the lazy dog. " * 8  # 360 chars: 3 GSM-7 segments


def _accepted_ids(simulator) -> list[str]:  # type: ignore[no-untyped-def]
    return [normalise_message_id(mid) for mid, _ in simulator.accepted]


async def test_short_message_is_submitted_and_its_receipt_matches_its_id() -> None:
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink) as conn:
        assert conn.health().up
        outcome = await conn.submit(message())
        assert outcome.ok, outcome
        [(raw_id, pdu)] = sim.accepted
        assert outcome.carrier_ids == (normalise_message_id(raw_id),)
        assert raw_id.startswith("00") and not outcome.carrier_ids[0].startswith("0")
        f = pdu.fields
        assert (f["source_addr"], f["source_addr_ton"], f["source_addr_npi"]) == ("Acme", 5, 0)
        assert (f["destination_addr"], f["dest_addr_ton"], f["dest_addr_npi"]) == (
            "4915112345678",
            1,
            1,
        )
        assert f["registered_delivery"] == 1 and f["data_coding"] == 0
        assert decode_gsm7(f["short_message"]) == "Your verification code is 1234"  # type: ignore[arg-type]
        await wait_for(lambda: sink.reports)
        [report] = sink.reports
        assert report.connector == "carrier" and report.carrier_id == outcome.carrier_ids[0]
        assert report.status is ReceiptStatus.DELIVERED and report.error is None


@pytest.mark.parametrize(
    "sender,expected",
    [
        ("+4915112345678", ("4915112345678", 1, 1)),
        ("12345", ("12345", 3, 0)),
        (None, ("", 0, 0)),
    ],
)
async def test_source_ton_npi_follow_the_sender_kind(
    sender: str | None, expected: tuple[str, int, int]
) -> None:
    async with carrier() as sim, connected(sim) as conn:
        assert (await conn.submit(message(sender=sender))).ok
        f = sim.accepted[0][1].fields
        assert (f["source_addr"], f["source_addr_ton"], f["source_addr_npi"]) == expected


async def test_invalid_sender_is_a_permanent_error() -> None:
    async with carrier() as sim, connected(sim) as conn:
        outcome = await conn.submit(message(sender="not a valid sender id!"))
        assert outcome.error is ErrorCode.INVALID_SENDER and not sim.accepted


async def test_long_message_udh_one_pdu_and_one_receipt_per_segment() -> None:
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink) as conn:
        msg = message(LONG)
        assert msg.segments == 3
        outcome = await conn.submit(msg)
        assert outcome.ok and len(outcome.carrier_ids) == 3
        assert list(outcome.carrier_ids) == _accepted_ids(sim)
        texts, refs = [], set()
        for seq, (_, pdu) in enumerate(sim.accepted, start=1):
            assert pdu.fields["esm_class"] == 0x40
            udh, rest = parse_udh(pdu.fields["short_message"])  # type: ignore[arg-type]
            assert udh is not None and udh.concat is not None
            assert (udh.concat.total, udh.concat.seq) == (3, seq)
            refs.add(udh.concat.ref)
            texts.append(decode_gsm7(rest))
        assert len(refs) == 1 and "".join(texts) == LONG
        await wait_for(lambda: len(sink.reports) == 3)
        assert sink.ids() == set(outcome.carrier_ids)


async def test_long_message_sar_tlvs() -> None:
    async with carrier() as sim, connected(sim, long_messages="sar") as conn:
        outcome = await conn.submit(message(LONG))
        assert outcome.ok and len(outcome.carrier_ids) == 3
        tlvs = [pdu.tlvs for _, pdu in sim.accepted]
        assert [t["sar_segment_seqnum"] for t in tlvs] == [1, 2, 3]
        assert {t["sar_total_segments"] for t in tlvs} == {3}
        assert len({t["sar_msg_ref_num"] for t in tlvs}) == 1
        assert all(pdu.fields["esm_class"] == 0 for _, pdu in sim.accepted)
        body = b"".join(pdu.fields["short_message"] for _, pdu in sim.accepted)  # type: ignore[misc]
        assert decode_gsm7(body) == LONG


async def test_long_message_payload_is_one_pdu_with_one_id() -> None:
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink, long_messages="payload") as conn:
        outcome = await conn.submit(message(LONG))
        assert outcome.ok and len(outcome.carrier_ids) == 1
        [(_, pdu)] = sim.accepted
        assert pdu.fields["short_message"] == b""
        assert decode_gsm7(pdu.tlvs["message_payload"]) == LONG  # type: ignore[arg-type]
        await wait_for(lambda: sink.ids() == set(outcome.carrier_ids))


async def test_ucs2_long_message() -> None:
    text = "Ваш код подтверждения: 1234. Никому его не сообщайте! " * 3
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink) as conn:
        msg = message(text)
        assert msg.segments == 3
        outcome = await conn.submit(msg)
        assert outcome.ok and len(outcome.carrier_ids) == 3
        parts = []
        for _, pdu in sim.accepted:
            assert pdu.fields["data_coding"] == 8
            _, rest = parse_udh(pdu.fields["short_message"])  # type: ignore[arg-type]
            assert len(rest) <= 134
            parts.append(decode_ucs2(rest))
        assert "".join(parts) == text
        await wait_for(lambda: sink.ids() == set(outcome.carrier_ids))


@pytest.mark.parametrize(
    "coding,text,expected",
    [
        ("ia5", "plain ascii", 1),
        ("latin1", "plain ascii", 3),
        ("ia5", "Grüße", 0),
    ],
)
async def test_configured_data_coding_when_the_text_fits(
    coding: str, text: str, expected: int
) -> None:
    async with carrier() as sim, connected(sim, data_coding=coding) as conn:
        assert (await conn.submit(message(text))).ok
        pdu = sim.accepted[0][1]
        assert pdu.fields["data_coding"] == expected
        if expected == 3:
            assert pdu.fields["short_message"] == text.encode("latin-1")


async def test_gsm7_packing_with_udh_fill_bits() -> None:
    async with carrier() as sim, connected(sim, gsm7_packing=True) as conn:
        assert (await conn.submit(message(LONG))).ok
        texts = []
        for _, pdu in sim.accepted:
            udh, rest = parse_udh(pdu.fields["short_message"])  # type: ignore[arg-type]
            assert udh is not None
            count = (len(rest) * 8 - udh.fill_bits) // 7
            texts.append(decode_gsm7(unpack_septets(rest, count, udh.fill_bits)))
        assert "".join(texts).startswith(LONG[:300])


async def test_outcome_mix_reports_failures_with_their_error() -> None:
    sink = RecordingSink()
    config = CarrierConfig(dlr_delay=0.01, outcomes={"undelivered": 1.0})
    async with carrier(config) as sim, connected(sim, sink) as conn:
        assert (await conn.submit(message())).ok
        await wait_for(lambda: sink.reports)
        assert sink.reports[0].status is ReceiptStatus.UNDELIVERED
        assert sink.reports[0].error == "001"


async def test_throttled_carrier_slows_the_connector_and_everything_gets_through() -> None:
    faults = Faults(throttle=200)
    async with (
        carrier(CarrierConfig(dlr_delay=10), faults) as sim,
        connected(sim, window=50) as conn,
    ):
        throttled = 0

        async def send(i: int) -> SubmitOutcome:
            nonlocal throttled
            while True:  # the engine's retry, compressed
                outcome = await conn.submit(message(message_id=f"m{i}"))
                if outcome.error is not ErrorCode.CARRIER_THROTTLED:
                    return outcome
                throttled += 1
                await asyncio.sleep(0.05)

        outcomes = await asyncio.gather(*(send(i) for i in range(600)))
        assert all(o.ok for o in outcomes)
        assert sim.stats["accepted"] == 600
        assert throttled == sim.stats["throttled"] > 0
        assert conn.pacer.throttles >= 1 and conn.pacer.slowed
        assert "slowed" in conn.health().detail


async def test_system_errors_are_retryable() -> None:
    config = CarrierConfig(dlr_delay=10, seed=7)
    async with carrier(config, Faults(error_rate=0.3)) as sim, connected(sim) as conn:
        outcomes = await asyncio.gather(
            *(conn.submit(message(message_id=f"m{i}")) for i in range(100))
        )
        errors = [o.error for o in outcomes if not o.ok]
        assert errors and set(errors) == {ErrorCode.CARRIER_SYSTEM_ERROR}
        assert spec(ErrorCode.CARRIER_SYSTEM_ERROR).retryable
        assert sum(o.ok for o in outcomes) == sim.stats["accepted"] == 100 - len(errors)


async def test_connection_dropped_mid_window_fails_outstanding_then_reconnects() -> None:
    async with carrier(CarrierConfig(dlr_delay=10)) as sim, connected(sim, window=50) as conn:
        sim.stall()
        pending = [asyncio.create_task(conn.submit(message(message_id=f"m{i}"))) for i in range(20)]
        await wait_for(lambda: sim.stats["stalled"] == 20)
        sim.drop_connections()
        outcomes = await asyncio.gather(*pending)
        assert {o.error for o in outcomes} == {ErrorCode.CARRIER_UNAVAILABLE}
        sim.end_stall()
        await wait_for(lambda: conn.bound_sessions == 1 and sim.stats["binds"] == 2)
        assert (await conn.submit(message())).ok


async def test_drop_every_n_requests_fault() -> None:
    async with (
        carrier(CarrierConfig(dlr_delay=10), Faults(drop_every=5)) as sim,
        connected(sim) as conn,
    ):
        outcomes = [await conn.submit(message(message_id=f"m{i}")) for i in range(5)]
        assert all(o.ok for o in outcomes[:4])
        assert outcomes[4].error is ErrorCode.CARRIER_UNAVAILABLE
        assert (await conn.submit(message())).ok  # rebound (waits for the new session)
        assert sim.stats["binds"] == 2


async def test_stalled_carrier_gives_carrier_timeout() -> None:
    async with (
        carrier(CarrierConfig(dlr_delay=10), Faults(stall=True)) as sim,
        connected(sim, response_timeout=0.2) as conn,
    ):
        outcome = await conn.submit(message())
        assert outcome.error is ErrorCode.CARRIER_TIMEOUT
        assert spec(ErrorCode.CARRIER_TIMEOUT).retryable
        sim.end_stall()
        assert (await conn.submit(message())).ok


@pytest.mark.parametrize("concat", ["udh", "sar"])
async def test_concatenated_mo_is_reassembled_once(concat: str) -> None:
    sink = RecordingSink()
    text = "Please call me back about the delivery tomorrow morning. " * 6
    async with carrier() as sim, connected(sim, sink) as conn:
        pdus = mo_pdus("+4915199999999", "12345", text, concat=concat, ref=77)  # type: ignore[arg-type]
        assert len(pdus) == 3
        # out of order, with a duplicate of the middle part
        for pdu in (pdus[1], pdus[0], pdus[1], pdus[2]):
            sim.inject(conn.options.system_id, pdu)
        # The connector answers a deliver_sm only once it has handled the part, so with
        # all four answered, the duplicate has been seen and started no second message.
        await wait_for(lambda: sim.stats["deliver_sm_ok"] == 4)
        assert len(sink.mos) == 1
        mo = sink.mos[0]
        assert (mo.sender, mo.to, mo.body, mo.connector) == (
            "+4915199999999",
            "12345",
            text,
            "carrier",
        )
        assert not sink.reports


async def test_incomplete_mo_is_handed_on_after_the_timeout() -> None:
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink, mo_timeout=0.2) as conn:
        pdus = mo_pdus("+4915199999999", "12345", LONG, ref=5)
        sim.inject(conn.options.system_id, pdus[0])
        await wait_for(lambda: sink.mos, timeout=3)
        assert sink.mos[0].body == LONG[:153]


async def test_single_mo_and_ucs2() -> None:
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink) as conn:
        sim.inject_mo(conn.options.system_id, "+4915199999999", "Acme", "Привет")
        await wait_for(lambda: sink.mos)
        assert sink.mos[0].body == "Привет" and sink.mos[0].to == "Acme"


@pytest.mark.parametrize(
    "carrier_ids,receipts,option",
    [
        ("dec", "hex", "hex_in_receipt"),
        ("hex", "dec", "dec_in_receipt"),
    ],
)
async def test_receipt_ids_in_the_other_base_are_converted(
    carrier_ids: str, receipts: str, option: str
) -> None:
    sink = RecordingSink()
    config = CarrierConfig(
        dlr_delay=0.01,
        id_format=carrier_ids,  # type: ignore[arg-type]
        receipt_id_format=receipts,
    )  # type: ignore[arg-type]
    async with carrier(config) as sim, connected(sim, sink, receipt_id_format=option) as conn:
        outcome = await conn.submit(message(LONG))
        await wait_for(lambda: len(sink.reports) == 3)
        assert sink.ids() == set(outcome.carrier_ids)
        raw = {r.raw["id"] for r in sink.reports}
        assert raw.isdisjoint(outcome.carrier_ids)  # the carrier really used the other base


async def test_without_conversion_other_base_receipts_do_not_match() -> None:
    sink = RecordingSink()
    config = CarrierConfig(dlr_delay=0.01, id_format="dec", receipt_id_format="hex")
    async with carrier(config) as sim, connected(sim, sink) as conn:
        outcome = await conn.submit(message())
        await wait_for(lambda: sink.reports)
        assert sink.ids().isdisjoint(outcome.carrier_ids)


async def test_transmitter_receiver_pairs_and_several_binds() -> None:
    sink = RecordingSink()
    async with carrier() as sim, connected(sim, sink, bind="transmitter+receiver", binds=2) as conn:
        await wait_for(lambda: conn.bound_sessions == 4)
        assert len(sim.server.sessions) == 4
        outcomes = await asyncio.gather(
            *(conn.submit(message(message_id=f"m{i}")) for i in range(20))
        )
        ids = {i for o in outcomes for i in o.carrier_ids}
        await wait_for(lambda: sink.ids() == ids)
        assert "4/4 sessions bound" in conn.health().detail


async def test_receipts_wait_at_the_carrier_while_no_receiver_is_bound() -> None:
    sink = RecordingSink()
    async with carrier() as sim:
        async with connected(sim, RecordingSink()) as first:
            outcome = await first.submit(message())
        assert outcome.ok
        await wait_for(lambda: sim.pending_receipts == 1 and not sim.server.sessions)
        async with connected(sim, sink):
            await wait_for(lambda: sink.ids() == set(outcome.carrier_ids))


async def test_refused_credentials_keep_the_connector_down_with_the_reason() -> None:
    async with carrier(CarrierConfig(system_id="smsrelay", password="right")) as sim:
        async with connected(sim, password="wrong", bind_wait=0.1, start_wait=0) as conn:
            await wait_for(lambda: "ESME_RINVPASWD" in conn.last_error)
            health = conn.health()
            assert not health.up and "ESME_RINVPASWD" in health.detail
            outcome = await conn.submit(message())
            assert outcome.error is ErrorCode.CARRIER_UNAVAILABLE


async def test_stopped_connector_is_unavailable() -> None:
    async with carrier() as sim:
        async with connected(sim) as conn:
            pass
        assert (await conn.submit(message())).error is ErrorCode.CARRIER_UNAVAILABLE
        assert not conn.health().up
