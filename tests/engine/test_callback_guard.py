"""Which callback URLs an account not allowed private callbacks may set."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.engine.callback_guard import (
    CallbackHosts,
    check_callback_url,
    refuse_literal_private,
)
from smsrelay.engine.clock import ManualClock

PRIVATE = [
    "http://127.0.0.1:8080/cb",
    "http://127.9.9.9/",
    "http://localhost/cb",
    "http://LOCALHOST./cb",
    "http://api.localhost/cb",
    "http://10.1.2.3/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/",
]


class Names:
    """A name table standing in for DNS, counting the questions it was asked."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError("Name or service not known")
        return self.table[host]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_literals_and_localhost_are_refused(url: str) -> None:
    with pytest.raises(SmsError) as caught:
        refuse_literal_private(url)
    assert caught.value.code is ErrorCode.INVALID_CALLBACK_URL
    assert "not allowed for this account" in caught.value.detail
    assert caught.value.field == "callback_url"


@pytest.mark.parametrize(
    "url", ["https://93.184.216.34/cb", "http://[2606:4700::1]/", "https://hooks.example/x"]
)
def test_public_literals_and_names_pass_the_literal_check(url: str) -> None:
    refuse_literal_private(url)


async def test_a_name_is_refused_when_any_address_is_private_or_it_does_not_resolve() -> None:
    names = Names(
        {
            "public.example": ["93.184.216.34", "2606:4700::1"],
            "mixed.example": ["93.184.216.34", "10.0.0.7"],
            "inside.example": ["fd12::5"],
            "empty.example": [],
        }
    )
    await check_callback_url(
        "https://public.example/cb", allow_private=False, field="webhook_url", resolve=names
    )
    for host, why in (
        ("mixed.example", "private"),
        ("inside.example", "private"),
        ("empty.example", "does not resolve"),
        ("nowhere.example", "does not resolve"),
    ):
        with pytest.raises(SmsError) as caught:
            await check_callback_url(
                f"https://{host}/cb", allow_private=False, field="webhook_url", resolve=names
            )
        assert caught.value.code is ErrorCode.INVALID_CALLBACK_URL
        assert why in caught.value.detail and caught.value.field == "webhook_url"


async def test_allowed_accounts_may_use_private_addresses_but_not_other_schemes() -> None:
    names = Names({})
    for url in [*PRIVATE, "https://nowhere.example/"]:
        await check_callback_url(url, allow_private=True, field="webhook_url", resolve=names)
    assert names.asked == []  # nothing to resolve when private addresses are allowed
    with pytest.raises(SmsError):
        await check_callback_url("ftp://files.example/", allow_private=True, field="webhook_url")


async def test_callback_hosts_resolve_each_name_once_a_minute() -> None:
    clock = ManualClock()
    names = Names({"public.example": ["93.184.216.34"], "inside.example": ["192.168.0.2"]})
    hosts = CallbackHosts(clock.now, resolve=names, ttl=60.0)
    items: list[str | SmsError] = [
        "https://public.example/a",
        "https://inside.example/b",
        SmsError(ErrorCode.EMPTY_MESSAGE),
        "https://public.example/c",
        "https://93.184.216.34/d",
    ]
    screened = await hosts.screen(items, lambda url: url)
    assert screened[0] == "https://public.example/a" and screened[3] == "https://public.example/c"
    assert screened[4] == "https://93.184.216.34/d"
    assert isinstance(screened[1], SmsError)
    assert screened[1].code is ErrorCode.INVALID_CALLBACK_URL
    assert screened[2] is items[2]
    assert sorted(names.asked) == ["inside.example", "public.example"]

    await hosts.screen(items, lambda url: url)
    assert len(names.asked) == 2  # remembered
    names.table["inside.example"] = ["93.184.216.35"]
    clock.advance(61.0)
    again = await hosts.screen(items, lambda url: url)
    assert len(names.asked) == 4 and again[1] == "https://inside.example/b"
