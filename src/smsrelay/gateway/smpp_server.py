"""The SMPP server for client binds: smsrelay as an SMSC to its customers' ESMEs.

Binds are checked against ``smpp_users`` (scrypt password, allowed networks, max binds,
disabled user or account): an unknown system_id is answered ESME_RINVSYSID, a wrong password
ESME_RINVPASWD, and a refused network, a disabled user or too many binds ESME_RBINDFAIL.

submit_sm, data_sm and submit_multi enter the one accept path (``Acceptor.accept``), so
validation, opt-out screening, group commit and the account's rate limit (ESME_RTHROTTLED past
it, on top of the bind's own throughput) are the REST ones. Any refusal is the catalogue
error's SMPP command_status and never ends the bind. A response is sent only after the
message is committed.

Long messages sent as UDH or SAR parts become ONE message (``smpp_reassembly``), but each
part is answered with its own id, ``<message_id>-<n>`` for part n (``store/smpp_parts.py``),
as an SMSC does: clients key their receipts on ids. Parts before the last are answered at
once with ESME_ROK, meaning "part received": waiting for the last part would deadlock a
client that sends one part at a time. The last part is answered after the joined message is
committed (or with the error that refused it); the part count is stored in the same write
as the message, so every receipt of the message goes out once per part
(``engine/notify.py``). When the parts
never complete (``reassembly_timeout``) or the joined message is refused, a client that
asked for receipts gets one ``stat:REJECTD`` per acknowledged part id, so no id goes silent.

query_sm and cancel_sm take a message's id or a part's (``smpp_query``); cancel_sm cancels a
queued or scheduled message (``engine/cancel.py``, as REST does, status callback included).
Receipts and MO messages go back through ``smpp_delivery.OutboxDelivery``. With a
certificate configured (``SmppServerConfig.tls``) the port speaks SMPP over TLS.

Just over 400 lines: binds, requests and the parts of long messages share the bound sessions;
conversions, reassembly, queries and delivery already live in modules of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from ssl import SSLContext

from sqlalchemy.ext.asyncio import AsyncConnection

from smsrelay.domain import numbers
from smsrelay.domain.errors import ErrorCode, SmsError
from smsrelay.domain.ids import new_id
from smsrelay.engine.accept import Acceptor
from smsrelay.engine.cancel import Canceller
from smsrelay.engine.clock import Clock
from smsrelay.engine.unit_of_work import UnitOfWork
from smsrelay.gateway.smpp_convert import (
    DEFAULT_DLT_TAGS,
    Part,
    decode_text,
    part_of,
    send_request,
)
from smsrelay.gateway.smpp_delivery import OutboxDelivery
from smsrelay.gateway.smpp_query import cancel_sm, query_sm
from smsrelay.gateway.smpp_reassembly import Abandoned, Added, Reassembler
from smsrelay.gateway.smpp_reassembly import Key as PartKey
from smsrelay.smpp.constants import CommandId, CommandStatus
from smsrelay.smpp.errors import SessionClosed
from smsrelay.smpp.pdu import Pdu, response_to
from smsrelay.smpp.server import BindRequest, ServerSession, SmppServer, SmscHandler
from smsrelay.smpp.specs import SmeAddress, UnsuccessSme
from smsrelay.store import accounts as account_store
from smsrelay.store import smpp_outbox as smpp_store
from smsrelay.store import smpp_users as user_store
from smsrelay.store.accounts import Account
from smsrelay.store.db import Database
from smsrelay.store.smpp_parts import part_id, part_ids
from smsrelay.store.smpp_users import SmppUser

__all__ = ["Bound", "ClientSmppServer", "SmppServerConfig"]

log = logging.getLogger(__name__)

# compared against when the system_id is unknown, so both refusals take the same time
_DUMMY_HASH = user_store.hash_password("-")
_SUBMITS = frozenset({CommandId.SUBMIT_SM, CommandId.DATA_SM})


@dataclass(frozen=True, slots=True)
class SmppServerConfig:
    """Where to listen and the session knobs (from Settings, in app.py)."""

    host: str = "127.0.0.1"
    port: int = 2775
    window: int = 10  # outstanding deliver_sm per bind
    response_timeout: float = 10.0  # a deliver_sm unanswered by then ends the bind
    enquire_link_interval: float = 30.0
    reassembly_timeout: float = 60.0
    retry_delay: float = 5.0  # first retry of an unacknowledged deliver_sm
    poll_interval: float = 0.1
    tls: SSLContext | None = None  # SMPP over TLS on this port when set
    # (field, TLV tag) of India's DLT ids in clients' submits (domain/registration.DltTags)
    dlt_tags: tuple[tuple[str, int], ...] = DEFAULT_DLT_TAGS


@dataclass(frozen=True, slots=True)
class Bound:
    """Who a bound session belongs to (refreshed at each bind)."""

    user: SmppUser
    account: Account


class ClientSmppServer(SmscHandler):
    """Owns the :class:`SmppServer`, decides binds, answers requests, delivers the outbox."""

    def __init__(
        self,
        db: Database,
        uow: UnitOfWork,
        acceptor: Acceptor,
        canceller: Canceller,
        clock: Clock,
        config: SmppServerConfig,
    ) -> None:
        """``db`` is read (binds, queries, the outbox); ``uow`` takes what it writes."""
        self._db = db
        self._uow = uow
        self._acceptor = acceptor
        self._canceller = canceller
        self._clock = clock
        self.config = config
        self._tags = config.dlt_tags
        self.server = SmppServer(
            self,
            config.host,
            config.port,
            window=config.window,
            response_timeout=config.response_timeout,
            enquire_link_interval=config.enquire_link_interval,
            ssl=config.tls,
        )
        self.binds: dict[ServerSession, Bound] = {}
        self._authorized: dict[BindRequest, Bound] = {}
        self._charging: dict[PartKey, asyncio.Future[SmsError | None]] = {}
        # SMPP user -> account, for receipts owed after the user's binds have gone
        self._accounts_of: dict[str, str] = {}
        self._reassembler = Reassembler(config.reassembly_timeout)
        self.delivery = OutboxDelivery(
            db,
            clock,
            self.binds,
            retry_delay=config.retry_delay,
            poll_interval=config.poll_interval,
            lease_seconds=max(60.0, 3 * config.response_timeout),
        )
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        await self.server.start()
        await self.delivery.start()
        self._task = asyncio.create_task(self._expire_loop(), name="smpp-reassembly")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.delivery.stop()
        await self.server.close()

    # -- binds ----------------------------------------------------------------------------

    async def authenticate(self, request: BindRequest) -> int:
        async with self._db.read() as conn:
            user = await user_store.find_smpp_user(conn, request.system_id)
            account = await account_store.get_account(conn, user.account_id) if user else None
        ok = await asyncio.to_thread(
            user_store.verify_password,
            user.password_hash if user else _DUMMY_HASH,
            request.password,
        )
        if user is None:
            return CommandStatus.ESME_RINVSYSID
        if not ok:
            return CommandStatus.ESME_RINVPASWD
        if user.disabled or account is None or account.disabled:
            return CommandStatus.ESME_RBINDFAIL
        if not user_store.ip_allowed(user.allowed_ips, request.peer[0] if request.peer else None):
            log.info(
                "smpp bind refused system_id=%s peer=%s: address not allowed",
                user.system_id,
                request.peer,
            )
            return CommandStatus.ESME_RBINDFAIL
        # no await between this count and on_bound: two binds cannot both take the last slot
        if sum(1 for b in self.binds.values() if b.user.id == user.id) >= user.max_binds:
            log.info(
                "smpp bind refused system_id=%s: max_binds=%d reached",
                user.system_id,
                user.max_binds,
            )
            return CommandStatus.ESME_RBINDFAIL
        self._authorized[request] = Bound(user, account)
        return CommandStatus.ESME_ROK

    def on_bound(self, session: ServerSession) -> None:
        assert session.bind is not None
        bound = self._authorized.pop(session.bind)
        self.binds[session] = bound
        self._accounts_of[bound.user.id] = bound.account.id
        session.throughput = bound.user.throughput
        self.delivery.wake()

    def on_closed(self, session: ServerSession, reason: SessionClosed) -> None:
        self.binds.pop(session, None)
        if session.bind is not None:
            self._authorized.pop(session.bind, None)

    # -- requests -------------------------------------------------------------------------

    def handle_request(
        self, session: ServerSession, pdu: Pdu
    ) -> Pdu | Awaitable[Pdu | None] | None:
        bound = self.binds.get(session)
        if bound is None:
            return response_to(pdu, CommandStatus.ESME_RINVBNDSTS)
        try:
            if pdu.command_id in _SUBMITS:
                return self._submit(bound, pdu)
            if pdu.command_id == CommandId.SUBMIT_MULTI:
                return self._submit_multi(bound, pdu)
            if pdu.command_id == CommandId.QUERY_SM:
                return self._query(bound, pdu)
            if pdu.command_id == CommandId.CANCEL_SM:
                return self._cancel(bound, pdu)
        except SmsError as error:
            return response_to(pdu, error.spec.smpp_status)
        return response_to(pdu, CommandStatus.ESME_RINVCMDID)

    def _submit(self, bound: Bound, pdu: Pdu) -> Pdu | Awaitable[Pdu]:
        coding = pdu.int_field("data_coding")
        decode_text(coding, b"")  # refuse an unsupported data_coding before buffering
        part, data = part_of(pdu)
        dest = pdu.str_field("destination_addr")
        if part is None:
            return self._accept(bound, pdu, pdu, dest, decode_text(coding, data), None)
        now = self._clock.now()
        key = (bound.user.id, pdu.str_field("source_addr"), dest, part.ref, part.total)
        if self._reassembler.has(key):
            return self._add_part(bound, pdu, key, part, dest)
        charge = self._charging.get(key)
        if charge is None:  # the first part to arrive: charge the message's rate once
            numbers.parse_number(
                send_request(
                    pdu, dest, "-", now=now, smpp_user_id=bound.user.id, dlt_tags=self._tags
                ).to
            )
            charge = self._charging[key] = asyncio.ensure_future(self._charge(bound))
        return self._part_after_charge(charge, bound, pdu, key, part, dest)

    async def _charge(self, bound: Bound) -> SmsError | None:
        try:
            await self._acceptor.check_rate(bound.account, 1)
        except SmsError as error:
            return error
        return None

    async def _part_after_charge(
        self,
        charge: asyncio.Future[SmsError | None],
        bound: Bound,
        pdu: Pdu,
        key: PartKey,
        part: Part,
        dest: str,
    ) -> Pdu:
        """A long message's rate is charged once, when its first part arrives; parts that
        arrive while that charge is under way wait for it instead of charging again."""
        refused = await asyncio.shield(charge)
        self._charging.pop(key, None)  # no await from here to the add below
        if refused is not None:
            return response_to(pdu, refused.spec.smpp_status)
        answer = self._add_part(bound, pdu, key, part, dest)
        return answer if isinstance(answer, Pdu) else await answer

    def _add_part(
        self, bound: Bound, pdu: Pdu, key: PartKey, part: Part, dest: str
    ) -> Pdu | Awaitable[Pdu]:
        now = self._clock.now()
        added = self._reassembler.add(key, part, pdu, now, lambda: new_id("msg", now))
        if added is None:
            return response_to(pdu, CommandStatus.ESME_RMSGQFUL)
        if added.data is None:
            return response_to(pdu, 0, {"message_id": part_id(added.message_id, added.seq)})
        text = decode_text(added.pdu.int_field("data_coding"), added.data)
        return self._accept(bound, pdu, added.pdu, dest, text, added)

    async def _accept(
        self, bound: Bound, pdu: Pdu, fields: Pdu, dest: str, text: str, joined: Added | None
    ) -> Pdu:
        """One message (or the joined parts of one, whose rate was charged at the first
        part) through the accept path; answered once it is committed."""
        message_id = joined.message_id if joined is not None else None
        try:
            request = send_request(
                fields,
                dest,
                text,
                now=self._clock.now(),
                smpp_user_id=bound.user.id,
                message_id=message_id,
                dlt_tags=self._tags,
            )
            if joined is not None:  # stored with the message: one receipt per part later
                request = dataclasses.replace(request, client_parts=joined.total)
            outcome = await self._acceptor.accept(
                bound.account, [request], charge_rate=message_id is None
            )
            result = outcome.results[0]
            if isinstance(result, SmsError):
                raise result
        except SmsError as error:
            if joined is not None:  # the parts acknowledged before this one learn it here
                ids = part_ids(joined.message_id, joined.total)
                ids.remove(part_id(joined.message_id, joined.seq))
                await self._reject_receipts(
                    bound.account.id, bound.user.id, fields, ids, error.code
                )
            return response_to(pdu, error.spec.smpp_status)
        answer = result.message.id if joined is None else part_id(result.message.id, joined.seq)
        return response_to(pdu, 0, {"message_id": answer})

    async def _submit_multi(self, bound: Bound, pdu: Pdu) -> Pdu:
        try:
            return await self._submit_multi_checked(bound, pdu)
        except SmsError as error:
            return response_to(pdu, error.spec.smpp_status)

    async def _submit_multi_checked(self, bound: Bound, pdu: Pdu) -> Pdu:
        coding = pdu.int_field("data_coding")
        part, data = part_of(pdu)
        if part is not None:
            raise SmsError(ErrorCode.VALIDATION_ERROR, "concatenated submit_multi")
        text = decode_text(coding, data)
        dests = pdu.fields.get("dest_addresses")
        targets = [d for d in dests if isinstance(d, SmeAddress)] if isinstance(dests, list) else []
        if not targets:
            return response_to(pdu, CommandStatus.ESME_RINVNUMDESTS)
        now = self._clock.now()
        requests = [
            send_request(
                pdu, d.address, text, now=now, smpp_user_id=bound.user.id, dlt_tags=self._tags
            )
            for d in targets
        ]
        outcome = await self._acceptor.accept(bound.account, requests)
        good = outcome.accepted
        failed = [
            UnsuccessSme(d.ton, d.npi, d.address, r.spec.smpp_status)
            for d, r in zip(targets, outcome.results, strict=True)
            if isinstance(r, SmsError)
        ]
        if not good:
            return response_to(pdu, failed[0].error_status_code)
        # one id answers the submission (§4.5.2); each message keeps its own for receipts
        return response_to(pdu, 0, {"message_id": good[0].message.id, "unsuccess_sme": failed})

    def _query(self, bound: Bound, pdu: Pdu) -> Awaitable[Pdu]:
        return query_sm(self._db, bound.account.id, pdu)

    def _cancel(self, bound: Bound, pdu: Pdu) -> Awaitable[Pdu]:
        return cancel_sm(self._db, self._canceller, bound.account.id, pdu)

    # -- multipart that never became a message --------------------------------------------

    async def _reject_receipts(
        self, account_id: str, user_id: str, fields: Pdu, ids: list[str], code: ErrorCode
    ) -> None:
        """Acknowledged part ids that will not become a message: tell a client that asked
        (through the outbox: a client bound later gets them too)."""
        if not fields.int_field("registered_delivery") & 0x03 or not ids:
            return
        now = self._clock.now()
        items = [
            smpp_store.NewSmppDelivery(
                account_id=account_id,
                smpp_user_id=user_id,
                kind="receipt",
                ref_id=ref_id,
                source_addr=fields.str_field("destination_addr"),
                destination_addr=fields.str_field("source_addr"),
                body="",
                status="rejected",
                error_code=str(code),
                submitted_at=now,
                done_at=now,
            )
            for ref_id in ids
        ]

        async def write(conn: AsyncConnection, turn_now: float) -> None:
            await smpp_store.enqueue_smpp(conn, items, turn_now)

        await self._uow.run(write)
        self.delivery.wake()

    async def _expire_loop(self) -> None:
        while True:
            await self._clock.sleep(1.0)
            try:
                for gone in self._reassembler.expire(self._clock.now()):
                    with contextlib.suppress(Exception):
                        await self._abandoned(gone)
            except Exception:  # the tick must go on, or nothing would expire again
                log.exception("expiring smpp parts failed")

    async def _abandoned(self, gone: Abandoned) -> None:
        user_id = gone.key[0]
        log.info("smpp parts of message_id=%s never completed; dropped", gone.message_id)
        account_id = self._accounts_of.get(user_id)
        if account_id is not None:  # the parts came over a bind of this process: always known
            ids = [part_id(gone.message_id, n) for n in gone.seqs]
            await self._reject_receipts(
                account_id, user_id, gone.pdu, ids, ErrorCode.VALIDATION_ERROR
            )
