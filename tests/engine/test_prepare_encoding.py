"""The account's encoding settings shape REST messages only (``engine/prepare.py``)."""

from __future__ import annotations

import random

import pytest

from smsrelay.domain.messages import Encoding
from smsrelay.engine.prepare import AcceptPolicy, SendingAccount, SendRequest, prepare


def _prepare(origin: str, text: str) -> tuple[Encoding, str, str | None]:
    prepared = prepare(
        SendRequest(to="+905321234567", message=text, origin=origin),
        account_id="acc_1",
        policy=AcceptPolicy(),
        now=0.0,
        rng=random.Random(1),
        account=SendingAccount(transliterate=True, national_language="tr"),
    )
    m = prepared.message
    return m.encoding, m.body, m.language


def test_rest_messages_follow_the_account() -> None:
    assert _prepare("api", "Olá") == (Encoding.GSM7, "Ola", None)
    assert _prepare("api", "Şişli") == (Encoding.GSM7, "Şişli", "tr")


@pytest.mark.parametrize("origin", ["smpp", "verify"])
def test_other_origins_are_sent_as_written(origin: str) -> None:
    assert _prepare(origin, "Olá") == (Encoding.UCS2, "Olá", None)
    assert _prepare(origin, "Şişli") == (Encoding.UCS2, "Şişli", None)
