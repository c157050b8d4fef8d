"""The cited readings the shipped country rules are built from (``build_country_rules.py``).

One entry per country, one list of readings per field; the first reading is the value acted
on (the most restrictive where sources disagree), the others are kept as alternatives. Only
what a page read on ``READ`` says goes here: a field nobody was read for stays unknown.
"""

from __future__ import annotations

from typing import Any

READ = "2026-12-04"


def twilio(iso: str) -> str:
    return f"https://www.twilio.com/en/guidelines/{iso.lower()}/sms"


def r(value: Any, source: str, note: str | None = None, read_on: str = READ) -> dict[str, Any]:
    reading: dict[str, Any] = {"value": value, "source": source, "read_on": read_on}
    if note:
        reading["note"] = note
    return reading


def window(days: str, start: str, end: str) -> dict[str, Any]:
    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    first, _, last = days.partition("-")
    chosen = week[week.index(first) : week.index(last or first) + 1]
    return {"days": chosen, "start": start, "end": end}


# French public holidays (Code du travail, article L3133-1); Alsace-Moselle's two extra days
# are not kept: a national rule cannot tell the recipient's département
FR_HOLIDAYS = [
    "01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25",
    "easter_monday", "ascension", "whit_monday",
]  # fmt: skip


VONAGE_FR = "https://api.support.vonage.com/hc/en-us/articles/204017483-France-SMS-Features-and-Restrictions"
NEXMO_FR = "https://help.nexmo.com/hc/en-us/articles/204017483-France-Features-Restrictions"
SURESMS_FR = (
    "https://suresms.com/dk/en/country-specific-rules-and-restrictions/"
    "landespecifikke-regler-og-begraensninger-land/?country=FR"
)
TWILIO_IN_DLT = (
    "https://support.twilio.com/hc/en-us/articles/21162166457755-Documents-Required-and-"
    "Instructions-to-Register-Your-Alphanumeric-Sender-ID-in-India"
)
SMSGATEWAYHUB_DLT = "https://crm.smsgatewayhub.com/knowledge-base/article/dlt-registration-process-for-sending-sms-to-india"

CURATED: dict[str, dict[str, list[dict[str, Any]]]] = {
    "FR": {
        "alphanumeric_sender": [
            r("allowed", VONAGE_FR, "operators recommend alphanumeric senders for A2P traffic"),
        ],
        "numeric_sender_required": [
            r(False, VONAGE_FR, "numeric senders only through the provider's two-way numbers"),
        ],
        "two_way": [r(True, twilio("FR"))],
        "concatenation": [r(True, twilio("FR"), "not for every sender type")],
        "ucs2": [r(True, twilio("FR"), "Unicode messages split at 70 characters")],
        "quiet_hours": [
            r(
                {
                    "allowed": [window("mon-sat", "08:00", "20:00")],
                    "holidays": "closed",
                    "holiday_dates": FR_HOLIDAYS,
                },
                SURESMS_FR,
                "operators accept marketing Monday to Saturday 08:00-20:00; holiday closure "
                "from the Vonage reading",
            ),
            r(
                {
                    "allowed": [window("mon-sat", "08:00", "22:00")],
                    "holidays": "closed",
                    "holiday_dates": FR_HOLIDAYS,
                },
                VONAGE_FR,
                "carriers accept marketing Monday to Saturday 08:00-22:00, not on public holidays",
            ),
            r(
                {"allowed": [window("mon-sat", "08:00", "20:00")]},
                NEXMO_FR,
                "SFR, Bouygues and Orange deliver alphanumeric senders 08:00-20:00 Monday to "
                "Saturday",
            ),
        ],
        "opt_out_text_required": [
            r(True, SURESMS_FR, "marketing must end with 'STOP au 36179' or is rejected"),
        ],
        "max_segments": [
            r(
                10,
                "https://support.twilio.com/hc/en-us/articles/1260803521969-France-Short-Code-Best-Practices",
                "short codes: at most 10 segments",
            )
        ],
    },
    "IN": {
        "alphanumeric_sender": [
            r("registration_required", TWILIO_IN_DLT, "sender IDs (headers) registered on DLT"),
        ],
        "template_registration": [
            r(
                {
                    "scheme": "india_dlt",
                    "fields": ["entity_id", "template_id", "telemarketer_id"],
                },
                SMSGATEWAYHUB_DLT,
                "TRAI: entity, header and template registered on an operator DLT platform; "
                "the telemarketer id links the entity to its sending provider",
            ),
            r(
                {"scheme": "india_dlt", "fields": ["entity_id", "template_id"]},
                TWILIO_IN_DLT,
                "Twilio asks for EntityId and Template ID with each message",
            ),
        ],
    },
}
