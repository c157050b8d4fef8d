"""The one accept path: every way in (REST single and batch, the SMPP server, and what comes
later: verifications, campaigns) calls :meth:`Acceptor.accept` and nothing else.

``accept`` owns, in this order: the Idempotency-Key (one send per key, the first answer
replayed), the account's rate limit (``engine/throttle.AccountRate``), preparing each request
(``engine/prepare.py``: number, sender, spintax, encoding, segments, schedule), the sender the
destination allows (``engine/senders.py``: the requested one or one of the pool), the DLT
content template of a message to India (``engine/template_check.py``), screening
recipients against the account's suppression list, pricing them from the account's price list
(``engine/money.py``), and the durable commit through the group committer (accepted means
committed), which debits the price from a prepaid balance in the same transaction: a request
the balance cannot cover is refused whole, every item ``insufficient_balance`` (402), and
nothing of it is stored. It answers per item, in the request's order: a
:class:`Prepared` message or the catalogue error that refused that item. A surface only
translates: its own request format into :class:`SendRequest`, and the answers into its own
(HTTP JSON, SMPP command_status).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from smsrelay.domain.countries import CountryRules
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.messages import MessageKind
from smsrelay.engine.batcher import GroupCommitter, IdempotencyWrite
from smsrelay.engine.callback_guard import CallbackHosts
from smsrelay.engine.clock import Clock
from smsrelay.engine.idempotency import IdempotencyKey, IdempotencyKeys, StoredAnswer
from smsrelay.engine.money import PriceBook
from smsrelay.engine.prepare import (
    AcceptPolicy,
    Prepared,
    RouteLanguages,
    SendingAccount,
    SendRequest,
    prepare,
)
from smsrelay.engine.screening import SuppressionScreen
from smsrelay.engine.senders import SenderAdapter
from smsrelay.engine.template_check import TemplateCheck
from smsrelay.engine.throttle import AccountRate, RateLimited
from smsrelay.store.db import Database
from smsrelay.store.idempotency import IdempotencyTaken

__all__ = [
    "AcceptOutcome",
    "AcceptPolicy",
    "Acceptor",
    "Prepared",
    "Render",
    "SendRequest",
    "prepare",
]

log = logging.getLogger(__name__)

Result = Prepared | SmsError

Render = Callable[[Sequence[Result]], tuple[int, bytes]]
"""How a surface answers a request that stored messages: (status, body). Needed with an
idempotency key, since the answer is stored with the messages and replayed from there."""


@dataclass(slots=True)
class AcceptOutcome:
    """What ``accept`` did: one result per request, or the answer stored under the key."""

    results: list[Result] = field(default_factory=list)
    answer: tuple[int, bytes] | None = None  # rendered when stored under an idempotency key
    replayed: bool = False  # the key was used before: ``answer`` is the first one's

    @property
    def accepted(self) -> list[Prepared]:
        return [r for r in self.results if isinstance(r, Prepared)]


class Acceptor:
    """Takes requests in from every surface; see the module docstring for the order."""

    def __init__(
        self,
        committer: GroupCommitter,
        policy: AcceptPolicy,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        db: Database | None = None,
        rate: AccountRate | None = None,
        callback_hosts: CallbackHosts | None = None,
        countries: Callable[[], CountryRules] | None = None,
        prices: PriceBook | None = None,
        senders: SenderAdapter | None = None,
        route_languages: RouteLanguages | None = None,
        templates: TemplateCheck | None = None,
    ) -> None:
        """``db`` enables screening and idempotency keys; ``rate`` (no limit by default)
        is the gateway's account rate limit; ``callback_hosts`` resolves callback host names
        of accounts not allowed private callbacks (``engine/callback_guard.py``);
        ``countries`` gives the country rules in force (quiet hours for marketing); ``prices``
        prices messages and so debits balances (nothing is priced without it);
        ``route_languages`` says which national languages a message's route sends, so that
        a message is counted with one only when it will be sent with it (without it, every
        language asked for is counted with); ``templates`` fills or checks the DLT content
        template of messages to India (``engine/template_check.py``)."""
        self.templates = templates
        self._route_languages = route_languages
        self._countries = countries
        self.prices = prices
        self._callback_hosts = callback_hosts or CallbackHosts(clock.now)
        self.senders = senders
        self._screen = SuppressionScreen(db) if db is not None else None
        self._keys = IdempotencyKeys(db, clock) if db is not None else None
        self._committer = committer
        self.policy = policy
        self.rate = rate or AccountRate(rate=0.0)
        self._clock = clock
        self._rng = rng or random.Random()

    async def accept(
        self,
        account: RateLimited,
        requests: Sequence[SendRequest | SmsError],
        *,
        idempotency: IdempotencyKey | None = None,
        render: Render | None = None,
        charge_rate: bool = True,
    ) -> AcceptOutcome:
        """Accept what can be accepted of ``requests`` for ``account``.

        An item given as an ``SmsError`` (refused by the surface's own parsing) keeps its
        place in the results and is not counted against the rate. Raises ``SmsError`` for
        what refuses the whole request: ``rate_limited`` / ``batch_too_large``,
        ``idempotency_conflict``, ``unavailable`` when the database did not take the rows.
        Nothing is stored unless at least one item is accepted; with ``idempotency`` the
        answer ``render`` gives is stored in the same transaction as the messages.
        ``charge_rate=False`` is for a message whose rate was charged when its first part
        arrived (SMPP long messages).
        """
        if idempotency is None:
            return await self._accept(account, requests, None, render, charge_rate)
        if self._keys is None or render is None:
            raise ValueError("idempotency needs a database and a render function")
        async with self._keys.lock(account.id, idempotency.key):
            stored = await self._keys.answered(account.id, idempotency)
            if stored is not None:
                return _replay(stored)
            try:
                return await self._accept(account, requests, idempotency, render, charge_rate)
            except IdempotencyTaken:
                # another process committed this key first: nothing of ours was stored
                stored = await self._keys.answered(account.id, idempotency)
                if stored is None:  # expired in between: safe to ask for a retry
                    raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0) from None
                return _replay(stored)

    async def check_rate(self, account: RateLimited, count: int) -> None:
        """Charge ``count`` messages to the account's rate now (raises when over it)."""
        await self.rate.check(account, count, self._clock.now())

    async def _accept(
        self,
        account: RateLimited,
        requests: Sequence[SendRequest | SmsError],
        idempotency: IdempotencyKey | None,
        render: Render | None,
        charge_rate: bool,
    ) -> AcceptOutcome:
        count = sum(1 for r in requests if not isinstance(r, SmsError))
        if charge_rate and count:
            await self.check_rate(account, count)
        # its settings (``store/accounts.Account``): callbacks, transliteration, national
        # language, opt-out texts, DLT entity id
        sending = SendingAccount.of(account)
        results = self._prepare_all(account.id, sending, requests)
        if self.senders is not None:
            results = await self.senders.adapt(account.id, results)
        if self.templates is not None:
            results = await self.templates.apply(account.id, results)
        if not sending.private_callbacks:
            results = await self._callback_hosts.screen(results, _callback_url)
        results = await self._screened(account.id, results)
        good = [r for r in results if isinstance(r, Prepared)]
        if not good:
            return AcceptOutcome(results)
        charge = None
        if self.prices is not None:
            await self.prices.fresh()
            if account.id in self.prices.accounts:
                results = [
                    _priced(r, self.prices) if isinstance(r, Prepared) else r for r in results
                ]
                good = [r for r in results if isinstance(r, Prepared)]
                charge = sum(p.message.price_micros or 0 for p in good) or None
        answer = render(results) if render is not None else None
        write = None
        if idempotency is not None and answer is not None:
            write = IdempotencyWrite(
                account.id,
                idempotency.key,
                idempotency.request_hash,
                answer[0],
                answer[1].decode(),
            )
        if not await self._commit(good, write, charge):
            refused = SmsError(ErrorCode.INSUFFICIENT_BALANCE)
            return AcceptOutcome([refused if isinstance(r, Prepared) else r for r in results])
        return AcceptOutcome(results, answer)

    def _prepare_all(
        self,
        account_id: str,
        sending: SendingAccount,
        requests: Sequence[SendRequest | SmsError],
    ) -> list[Result]:
        now = self._clock.now()
        countries = self._countries() if self._countries is not None else None
        results: list[Result] = []
        for request in requests:
            if isinstance(request, SmsError):
                results.append(request)
                continue
            try:
                results.append(
                    prepare(
                        request,
                        account_id=account_id,
                        policy=self.policy,
                        now=now,
                        rng=self._rng,
                        account=sending,
                        countries=countries,
                        route_languages=self._route_languages,
                    )
                )
            except SmsError as error:
                results.append(error)
        return results

    async def _screened(self, account_id: str, results: list[Result]) -> list[Result]:
        """Refuse recipients on the account's suppression list (``recipient_opted_out``).

        One query for all numbers of the batch, shared with concurrent calls
        (``engine/screening.py``). Without a database (unit tests) nothing is screened.
        """
        wanted = {r.message.to for r in results if isinstance(r, Prepared)}
        if self._screen is None or not wanted:
            return results
        blocked, exempt_otp = await self._screen.check(account_id, wanted)
        if not blocked:
            return results
        return [
            SmsError(ErrorCode.RECIPIENT_OPTED_OUT, field="to")
            if isinstance(r, Prepared)
            and r.message.to in blocked
            and not (exempt_otp and r.message.kind is MessageKind.OTP)
            else r
            for r in results
        ]

    async def _commit(
        self,
        prepared: Sequence[Prepared],
        idempotency: IdempotencyWrite | None,
        charge: int | None = None,
    ) -> bool:
        """Persist the messages (and the idempotency record) in one transaction, debiting
        ``charge`` from the account's balance; False when the balance could not cover it
        (nothing stored).

        Raises ``IdempotencyTaken`` (nothing stored: replay the stored answer) or
        ``SmsError(UNAVAILABLE)`` when the database did not take the rows.
        """
        try:
            await self._committer.commit([p.message for p in prepared], idempotency, charge=charge)
        except SmsError as error:
            if error.code is ErrorCode.INSUFFICIENT_BALANCE:
                return False
            raise
        except IdempotencyTaken:
            raise
        except Exception as error:
            log.error("accept not committed: %s", error)
            raise SmsError(ErrorCode.UNAVAILABLE, retry_after=1.0) from error
        return True


def _priced(prepared: Prepared, prices: PriceBook) -> Prepared:
    message = prices.priced(prepared.message)
    return (
        prepared if message is prepared.message else dataclasses.replace(prepared, message=message)
    )


def _callback_url(prepared: Prepared) -> str | None:
    return prepared.message.callback_url


def _replay(stored: StoredAnswer) -> AcceptOutcome:
    return AcceptOutcome(answer=(stored.status, stored.body), replayed=True)
