"""SQLAlchemy Core tables: the single source of truth for columns and indexes.

Times are unix seconds as floats (UTC): they compare and index the same way on SQLite and
PostgreSQL, and the domain works in them. Ids are the time-ordered strings of
``smsrelay.domain.ids``, so ``ORDER BY id`` is creation order and a cursor is just an id.
Alembic migrations (``store/migrations``) must produce exactly this schema on both databases.
Every table is here, over 400 lines, so that one file is the schema to compare them with.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("webhook_url", Text),
    Column("webhook_secret", String(100), nullable=False),
    Column("inbound_webhook_url", Text),
    # token bucket: sustained requests/s and burst; NULL = the server default
    Column("rate_limit", Float),
    Column("rate_burst", Integer),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Float, nullable=False),
    # opt-out: OTP messages still reach numbers on the suppression list (migration 0002)
    Column("optout_exempt_otp", Boolean, nullable=False, server_default=text("true")),
    # operator (global configuration) or tenant (its own things only); migration 0010
    Column("role", String(10), nullable=False, server_default=text("'tenant'")),
    # a tenant's callbacks may go to loopback/private addresses only when the operator says so
    Column("allow_private_callbacks", Boolean, nullable=False, server_default=text("false")),
    # money (migration 0015), in micro-units (domain/pricing.py): NULL balance = no prepaid
    # balance (postpaid, never refused); with one, a send may take it down to -credit_limit
    Column("balance_micros", BigInteger),
    Column("credit_limit_micros", BigInteger, nullable=False, server_default=text("0")),
    Column("currency", String(3)),
    # encoding=auto may transliterate letters to GSM-7 when that saves segments (migration 0017)
    Column("transliterate", Boolean, nullable=False, server_default=text("false")),
    # GSM-7 national shift tables its messages may use unless a request names a language
    Column("national_language", String(2)),
    # opt-out texts added to marketing where the destination requires one (migration 0021):
    # JSON {"FR": "STOP au 36111", "default": "..."}; NULL: none
    Column("opt_out_texts", Text),
    # DLT entity id its messages to India carry unless they name one (migration 0022)
    Column("dlt_entity_id", String(64)),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    # the visible part of the key ("sr_<id chars>"): finds the row without scanning hashes
    Column("prefix", String(32), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),  # sha256 hex of the whole key
    Column("scopes", String(200), nullable=False),  # comma-separated: send,read,admin
    Column("name", String(100)),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("to_number", String(20), nullable=False),
    Column("country", String(2)),
    Column("sender", String(20)),
    Column("body", Text, nullable=False),
    Column("encoding", String(8), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("variant", String(200)),
    Column("client_ref", String(200)),
    Column("callback_url", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("not_before", Float, nullable=False),  # send_at, and the time of the next retry
    Column("expires_at", Float),  # validity: not sent after this
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("lease_until", Float),  # set while status = sending
    Column("worker", String(64)),
    Column("connector", String(64)),  # connector of the last attempt
    Column("submitted_at", Float),
    Column("dlr_deadline", Float),  # sent messages with no receipt by then become unknown
    Column("final_at", Float),
    Column("error_code", String(40)),
    Column("error_message", Text),
    # where it came from (api | smpp), which SMPP user sent it and the receipt it asked for
    # (registered_delivery bits 1-0: 0 none, 1 final outcome, 2 failure only); migration 0002
    Column("origin", String(8), nullable=False, server_default=text("'api'")),
    Column("smpp_user_id", String(40)),
    Column("receipt_requested", Integer, nullable=False, server_default=text("0")),
    # what the account's price list charged for it (segments x price), once credited back
    # when its outcome is one the operator refunds (migration 0015)
    Column("price_micros", BigInteger),
    Column("currency", String(3)),
    Column("refunded_at", Float),
    Index("ix_messages_account_id_id", "account_id", "id"),
    Index("ix_messages_account_id_client_ref", "account_id", "client_ref"),
    Index("ix_messages_account_id_to_number", "account_id", "to_number"),
)

# The queue's indexes cover only waiting rows (partial), so they stay small however long the
# messages table grows. Queries must spell the predicate exactly like this (literal values, same
# order) or neither planner can prove the partial index applies: see ``store._status.waiting``.
WAITING_STATUSES = ("queued", "scheduled")
_waiting = messages.c.status.in_(WAITING_STATUSES)
# claim order: priority DESC, id ASC, read straight off the index (no sort of the backlog)
Index(
    "ix_messages_due",
    messages.c.priority.desc(),
    messages.c.id,
    sqlite_where=_waiting,
    postgresql_where=_waiting,
)
# next_due_at: MIN(not_before) without a scan
Index(
    "ix_messages_waiting_not_before",
    messages.c.not_before,
    sqlite_where=_waiting,
    postgresql_where=_waiting,
)
# expire_overdue: waiting rows past their validity
Index(
    "ix_messages_waiting_expires_at",
    messages.c.expires_at,
    sqlite_where=_waiting,
    postgresql_where=_waiting,
)
# The lease and receipt sweeps read rows of one status each. Partial indexes (migration 0006)
# rather than ones that start with ``status``: a message changes status four times in its
# life, and each change rewrote an entry in every index that starts with it.
_sending = messages.c.status == "sending"
_sent = messages.c.status == "sent"
# reclaim_expired_leases
Index(
    "ix_messages_sending_lease_until",
    messages.c.lease_until,
    messages.c.id,
    sqlite_where=_sending,
    postgresql_where=_sending,
)
# time_out_unconfirmed, in deadline order
Index(
    "ix_messages_sent_dlr_deadline",
    messages.c.dlr_deadline,
    messages.c.id,
    sqlite_where=_sent,
    postgresql_where=_sent,
)

message_parts = Table(
    "message_parts",
    metadata,
    Column("message_id", String(40), ForeignKey("messages.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),  # 1-based segment number
    Column("connector", String(64), nullable=False),
    Column("carrier_id", String(80), nullable=False),  # normalised carrier message id
    Column("status", String(16), nullable=False),  # ReceiptStatus
    Column("error", String(40)),
    Column("updated_at", Float, nullable=False),
    Index("ix_message_parts_connector_carrier_id", "connector", "carrier_id"),
)

message_events = Table(
    "message_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(40), ForeignKey("messages.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("at", Float, nullable=False),
    Column("error_code", String(40)),
    Column("detail", Text),
)

pending_receipts = Table(
    "pending_receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connector", String(64), nullable=False),
    Column("carrier_id", String(80), nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", String(40)),
    Column("at", Float, nullable=False),
    Column("received_at", Float, nullable=False),
    Index("ix_pending_receipts_connector_carrier_id", "connector", "carrier_id"),
    Index("ix_pending_receipts_received_at", "received_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(40), nullable=False),
    Column("url", Text, nullable=False),
    Column("payload", Text, nullable=False),  # the exact JSON body that is signed and sent
    Column("state", String(12), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Index("ix_webhook_deliveries_message_id_id", "message_id", "id"),
)
# "is there an earlier pending delivery for this message?", asked for every claim candidate:
# only pending rows, so the answer is one probe of a small index. Without it PostgreSQL, with
# statistics lagging a fast-growing table, combined the two indexes above and spent 12 s on
# one claim of 64 under a 20,000-message burst.
_pending_delivery = webhook_deliveries.c.state == "pending"
Index(
    "ix_webhook_deliveries_pending_message",
    webhook_deliveries.c.message_id,
    webhook_deliveries.c.id,
    sqlite_where=_pending_delivery,
    postgresql_where=_pending_delivery,
)
# the claim's order, pending rows only (migration 0007): the claim reads due deliveries off it
# in order and stops at its LIMIT. The (state, next_attempt_at) index it replaces lacked the
# id, so PostgreSQL, whose statistics lag the table under a burst, fetched every due delivery
# and sorted them for each claim (9 ms for a claim of 32 with 3,200 due).
Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.next_attempt_at,
    webhook_deliveries.c.id,
    sqlite_where=_pending_delivery,
    postgresql_where=_pending_delivery,
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(40), ForeignKey("accounts.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response_status", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

# --- SMPP client binds, inbound messages, opt-out (migration 0002) --------------------------

smpp_users = Table(
    "smpp_users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("system_id", String(16), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # scrypt$n$r$p$salt$hash
    Column("allowed_ips", Text, nullable=False, server_default=text("''")),  # CIDRs, comma list
    Column("max_binds", Integer, nullable=False, server_default=text("4")),
    Column("throughput", Float, nullable=False, server_default=text("0")),  # msg/s per bind
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Float, nullable=False),
)

# deliver_sm waiting for a client's receiver bind: receipts and MO messages. Written in the
# transaction of the status change (or of the MO), sent by gateway/smpp_server.py.
smpp_outbox = Table(
    "smpp_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("smpp_user_id", String(40)),  # NULL: any receiver bind of the account
    Column("kind", String(8), nullable=False),  # receipt | mo
    Column("ref_id", String(40), nullable=False),  # message id (receipt) or inbound id (mo)
    Column("source_addr", String(21), nullable=False),
    Column("destination_addr", String(21), nullable=False),
    Column("body", Text, nullable=False),  # MO text, or the first characters for a receipt
    Column("status", String(16)),  # receipt: the message's final status
    Column("error_code", String(40)),
    Column("submitted_at", Float),
    Column("done_at", Float),
    Column("state", String(12), nullable=False),  # pending | sent | expired
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # TTL: dropped unsent after this
    Column("sent_at", Float),
    Index("ix_smpp_outbox_state_account_id_id", "state", "account_id", "id"),
)

# How many parts an SMPP client sent a long message in (migration 0009): each part has its
# own id ``<message_id>-<n>`` and its own receipt. Written before the message itself, so no
# foreign key; a row whose message was refused is never read.
smpp_client_parts = Table(
    "smpp_client_parts",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("parts", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

numbers = Table(
    "numbers",
    metadata,
    Column("number", String(20), primary_key=True),  # E.164 or a short code
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
)

# an account's sender pool (domain/senders.py): what it may send from, and where
senders = Table(
    "senders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("type", String(20), nullable=False),  # alphanumeric | long_code | short_code | ...
    Column("value", String(20), nullable=False),
    Column("countries", String(2000), nullable=False, server_default=""),  # "US,CA"; "" = any
    Column("created_at", Float, nullable=False),
    # a number's registration (migration 0019): "10dlc" + campaign id, "toll_free" + its
    # verification id; NULL: none (alphanumeric ids and short codes never have one)
    Column("registration_type", String(20)),
    Column("registration_id", String(64)),
    UniqueConstraint("account_id", "value", name="uq_senders_account_id_value"),
)

# Content templates an account registered (India's DLT; migration 0020): the accept path
# finds the template id of a message's text among them (engine/content_templates.py).
content_templates = Table(
    "content_templates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("scheme", String(20), nullable=False),  # india_dlt
    Column("template_id", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("category", String(20), nullable=False),
    Column("entity_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint(
        "account_id", "scheme", "template_id", name="uq_content_templates_account_id_scheme"
    ),
)

# Messages whose requested sender the destination did not allow (migration 0016): what was
# asked for and why another was used. Few rows; written with the message.
sender_adaptations = Table(
    "sender_adaptations",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("requested", String(20), nullable=False),
    Column("reason", String(200), nullable=False),
)

# The registration ids (India's DLT, domain/registration.py) of the messages that carry any
# (migration 0022); written with the message, read by the dispatcher for each claimed batch.
message_registrations = Table(
    "message_registrations",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("entity_id", String(64)),
    Column("template_id", String(64)),
    Column("telemarketer_id", String(64)),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id")),  # NULL: number not assigned
    Column("connector", String(64), nullable=False),
    Column("from_number", String(21), nullable=False),
    Column("to_number", String(21), nullable=False),
    Column("body", Text, nullable=False),
    Column("carrier_id", String(80)),
    Column("keyword", String(16)),  # opt-out / opt-in keyword it carried, if any
    Column("received_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_inbound_messages_account_id_id", "account_id", "id"),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column("account_id", String(40), ForeignKey("accounts.id"), primary_key=True),
    Column("number", String(21), primary_key=True),
    Column("reason", String(40), nullable=False),  # optout | manual
    Column("source", String(16), nullable=False),  # mo | api
    Column("created_at", Float, nullable=False),
)

route_table = Table(
    "route_table",
    metadata,
    # the route table set through the admin API; when empty, the config file's routes apply
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False, unique=True),
    Column("definition", Text, nullable=False),  # JSON: match fields, strategy, connectors
    Column("updated_at", Float, nullable=False),
)

connector_defs = Table(
    "connector_defs",
    metadata,
    # connectors added through the admin API (the config file's are not stored here)
    Column("name", String(64), primary_key=True),
    Column("definition", Text, nullable=False),  # JSON, the [[connectors]] fields
    Column("updated_at", Float, nullable=False),
)

# --- rate budgets shared by every process (migration 0008) -----------------------------------

rate_budgets = Table(
    "rate_budgets",
    metadata,
    # one token bucket per limit (an account's send rate, a connector's throughput), shared by
    # every gateway process on this database; processes take tokens from it in small chunks
    Column("key", String(200), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("rate", Float, nullable=False),
    Column("burst", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# --- verifications and the fraud guard (migration 0012) --------------------------------------

verifications = Table(
    "verifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("to_number", String(20), nullable=False),
    Column("country", String(2)),
    Column("prefix", String(16), nullable=False),  # the fraud guard's destination prefix
    Column("channel", String(8), nullable=False),
    Column("locale", String(8), nullable=False),
    # pending | approved | canceled | expired | max_attempts_reached
    Column("status", String(24), nullable=False),
    # HMAC-SHA256 of "id:code" under the server's verify key; never the code itself
    Column("code_hash", String(64), nullable=False),
    Column("code_length", Integer, nullable=False),
    Column("checks", Integer, nullable=False, server_default=text("0")),
    Column("sends", Integer, nullable=False, server_default=text("1")),
    Column("max_checks", Integer, nullable=False),
    Column("max_sends", Integer, nullable=False),
    Column("message_id", String(40), nullable=False),  # the message of the latest send
    Column("device_ip", String(45)),
    # what the text was made of, for a resend: the request's app name and auto-fill links
    Column("app_name", String(40)),
    Column("web_domain", String(253)),
    Column("app_hash", String(11)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("approved_at", Float),
    Index("ix_verifications_account_id_created_at", "account_id", "created_at"),
    Index("ix_verifications_status_expires_at", "status", "expires_at"),
)

# One row per code sent: the SMS text sealed (AES-GCM, domain/verify.py) until the
# verification ends; the dispatcher opens it when it hands the message to its connector.
verification_sends = Table(
    "verification_sends",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("verification_id", String(40), nullable=False, index=True),
    Column("sealed_text", Text),  # NULL once the verification ended or a resend replaced it
    Column("created_at", Float, nullable=False),
)

# A message that did what it was sent for: an approved code, or what a client reports
# (POST /v1/messages/{id}/conversion); campaigns' A/B statistics read the same rows.
conversions = Table(
    "conversions",
    metadata,
    Column("message_id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("source", String(16), nullable=False),  # verify | api
    Column("converted_at", Float, nullable=False),
    Index("ix_conversions_account_id_converted_at", "account_id", "converted_at"),
)

verify_settings = Table(
    "verify_settings",
    metadata,
    Column("account_id", String(40), ForeignKey("accounts.id"), primary_key=True),
    Column("app_name", String(40)),  # in the code's text; a request's app_name wins
    Column("allowed_countries", Text),  # ISO codes, comma list; NULL = every country
    Column("updated_at", Float, nullable=False),
)

# Codes sent and approved per account, scope (prefix, country, account, ip) and key, in
# minute buckets (velocity, the judged window) and hour buckets (the baseline).
verify_traffic = Table(
    "verify_traffic",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("scope", String(8), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("width", Integer, primary_key=True, autoincrement=False),  # 60 or 3600 seconds
    Column("bucket", Float, primary_key=True),  # start of the bucket, unix seconds
    Column("sends", Integer, nullable=False),
    Column("approvals", Integer, nullable=False),
)

fraud_blocks = Table(
    "fraud_blocks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("scope", String(8), nullable=False),  # prefix | country
    Column("key", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("until", Float, nullable=False),
    Column("lifted_at", Float),
    Index("ix_fraud_blocks_account_id_scope_key", "account_id", "scope", "key"),
)

# Refusals of codes per account and reason, for the metrics endpoint
verify_refusals = Table(
    "verify_refusals",
    metadata,
    Column("account_id", String(40), primary_key=True),
    Column("reason", String(40), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
)
# --- country rule overrides set through the admin API (migration 0014) ------------------------

country_overrides = Table(
    "country_overrides",
    metadata,
    # one row per country the operator changed rules of; the configuration file's overrides
    # are not stored here
    Column("country", String(2), primary_key=True),
    Column("overrides", Text, nullable=False),  # JSON: {"field": value}, as the API took it
    Column("updated_at", Float, nullable=False),
)

# --- prices and balances (migration 0015) ----------------------------------------------------

price_rows = Table(
    "price_rows",
    metadata,
    # one price list per account (sell) or connector (cost): rows per country and prefix
    Column("owner_kind", String(10), primary_key=True),  # account | connector
    Column("owner", String(64), primary_key=True),  # account id or connector name
    Column("country", String(7), primary_key=True),  # ISO alpha-2 or "default"
    Column("prefix", String(15), primary_key=True),  # E.164 digits, "" for the whole country
    Column("price_micros", BigInteger, nullable=False),  # per segment
    Column("currency", String(3), nullable=False),
    Column("updated_at", Float, nullable=False),
)

ledger = Table(
    "ledger",
    metadata,
    # every movement of a balance: debit (an accepted send), refund, credit (top-up)
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("message_id", String(40)),  # debit: the first message of the send; refund: its own
    Column("kind", String(8), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),  # signed: what the balance moved by
    Column("messages", Integer, nullable=False, server_default=text("0")),
    Column("at", Float, nullable=False),
    Column("note", Text),
    Index("ix_ledger_account_id_at", "account_id", "at"),
    Index("uq_ledger_message_id_kind", "message_id", "kind", unique=True),
)

# --- measured delivery per connector and country (migration 0011) ---------------------------

#: the receipt-latency histogram's columns, one per bucket of ``domain.scoring.LATENCY_BOUNDS``
#: (and one for slower receipts)
LATENCY_COLUMNS = tuple(f"latency_{i:02d}" for i in range(16))

connector_stats = Table(
    "connector_stats",
    metadata,
    # counters of one minute (``bucket``: its start, unix seconds) for one connector and
    # destination country ("" when unknown); the window a score reads is a sum of minutes
    Column("connector", String(64), primary_key=True),
    Column("country", String(2), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("submitted", Integer, nullable=False, server_default=text("0")),
    Column("submit_errors", Integer, nullable=False, server_default=text("0")),
    Column("delivered", Integer, nullable=False, server_default=text("0")),
    Column("failed", Integer, nullable=False, server_default=text("0")),
    Column("cost", Float, nullable=False, server_default=text("0")),
    *(Column(name, Integer, nullable=False, server_default=text("0")) for name in LATENCY_COLUMNS),
    Index("ix_connector_stats_bucket", "bucket"),
)
