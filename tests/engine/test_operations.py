"""Engine side of the admin operations: what is kept across restarts, and the account names
refreshed on the injected clock."""

from __future__ import annotations

import asyncio

import pytest

from smsrelay.connectors.options import SimulatorOptions, SmppOptions
from smsrelay.domain.routing import Route, route_to_dict
from smsrelay.engine.clock import ManualClock
from smsrelay.engine.operations import AccountNames, load_catalog, stored_routes
from smsrelay.store import accounts as account_store
from smsrelay.store import routes as route_store
from smsrelay.store.db import Database
from tests.support.servers import wait_for


async def test_account_names_are_read_again_every_interval_of_the_clock(
    database: Database,
) -> None:
    clock = ManualClock()
    async with database.transaction() as conn:
        first = await account_store.create_account(conn, "first", clock.now())
    names = AccountNames(database, clock, interval=10)
    await names.refresh()
    assert names.name(first.id) == "first" and names.name("nobody") == "nobody"
    loop = asyncio.create_task(names.run())
    try:
        async with database.transaction() as conn:
            later = await account_store.create_account(conn, "later", clock.now())
        await clock.settle()
        clock.advance(9.9)
        await clock.settle()
        # still parked on the clock until the interval ends: nothing was read again
        assert clock.sleeping == 1 and clock.next_deadline() == pytest.approx(clock.now() + 0.1)
        assert later.id not in names.by_id
        clock.advance(0.1)
        await wait_for(lambda: names.name(later.id) == "later")  # a database read
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


async def test_stored_connectors_and_routes_yield_to_the_config_file(database: Database) -> None:
    async with database.transaction() as conn:
        for definition in (
            SimulatorOptions(name="added").definition(),
            SmppOptions(name="a", port=1).definition(),  # the file's name wins
            {"name": "later", "type": "http", "provider": "twilio"},  # refused: skipped
        ):
            await route_store.save_connector(conn, definition, 0.0)
        await route_store.save_routes(
            conn, [route_to_dict(Route(name="r", connectors=("added",)))], 0.0
        )
    catalog = await load_catalog(database, [SmppOptions(name="a", port=2)])
    assert list(catalog.options) == ["a", "added"] and catalog.added == {"added"}
    assert isinstance(catalog.options["a"], SmppOptions) and catalog.options["a"].port == 2
    assert [r.name for r in await stored_routes(database, catalog.options) or []] == ["r"]
    assert await stored_routes(database, ["a"]) is None  # names a connector that is gone
