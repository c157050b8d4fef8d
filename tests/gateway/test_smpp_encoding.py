"""What an SMPP client sends keeps its encoding: UCS-2 stays UCS-2, and letters are never
transliterated, whatever the account allows for its REST messages."""

from __future__ import annotations

import random

from smsrelay.domain.encoding import encode_gsm7
from smsrelay.domain.messages import Encoding
from smsrelay.engine.prepare import AcceptPolicy, SendingAccount, prepare
from smsrelay.gateway.smpp_convert import decode_text, send_request
from smsrelay.smpp.pdu import submit_sm


def _prepared(text: bytes, data_coding: int) -> tuple[Encoding, str, tuple[tuple[str, str], ...]]:
    pdu = submit_sm("Acme", "4915112345678", text, data_coding=data_coding)
    request = send_request(
        pdu, "+4915112345678", decode_text(data_coding, text), now=0.0, smpp_user_id="u1"
    )
    prepared = prepare(
        request,
        account_id="acc_1",
        policy=AcceptPolicy(),
        now=0.0,
        rng=random.Random(1),
        account=SendingAccount(transliterate=True),  # it allows it for what it sends over REST
    )
    return prepared.message.encoding, prepared.message.body, prepared.replaced


def test_ucs2_from_a_client_stays_ucs2() -> None:
    assert _prepared("hello".encode("utf-16-be"), 8) == (Encoding.UCS2, "hello", ())


def test_letters_from_a_client_are_not_transliterated() -> None:
    assert _prepared("Olá".encode("latin-1"), 3) == (Encoding.UCS2, "Olá", ())
    assert _prepared(encode_gsm7("Hola"), 0) == (Encoding.GSM7, "Hola", ())
