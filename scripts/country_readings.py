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


# French public holidays as article L3133-1 of the Code du travail lists them (read at
# FR_HOLIDAYS_SOURCE); Alsace-Moselle's two extra days are not kept: a national rule cannot tell
# the recipient's département
FR_HOLIDAYS_SOURCE = "https://www.maitredata.com/app/code/travail/l3133-1"
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

VONAGE_US = (
    "https://api.support.vonage.com/hc/en-us/articles/204017023-US-SMS-Features-and-Restrictions"
)
VONAGE_US_CA = (
    "https://api.support.vonage.com/hc/en-us/articles/"
    "204017023-United-States-SMS-Features-and-Restrictions"
)
SENTDM_US = "https://www.sent.dm/resources/us-sms-guidance"
SENTDM_US_FR = "https://www.sent.dm/fr/resources/sms-compliance/us-sms-guidance"
MAILUP = "https://helpmailup.atlassian.net/wiki/spaces/MM/pages/37320283/Invio+SMS+nel+mondo"
GETRESPONSE = "https://www.getresponse.com/help/what-are-sms-delivery-regulations-in-particular-countries.html"
SURESMS_DE = "https://suresms.com/en/resources/country-specific-rules-and-restrictions/germany/"
MAILPRO_BR = "https://de.mailpro.com/faq/sms-regulierungen-brasilien"
GOURBAN = "https://support.gourban.co/knowledge/twilio"
ENVOISMS_MA = "https://envoisms.ma/en/legal/optout"
SATISFI_IN = (
    "https://docs.satisfilabs.com/resource-center/marketing-engine/campaigns/"
    "messaging-campaigns/sms-regulations/sms-regulations-for-india"
)
SMSGATEWAYHUB_IN_TIME = (
    "https://crm.smsgatewayhub.com/knowledge-base/article/"
    "important-update-new-service-explicit-message-restriction-time-10-am-to-9-pm"
)
CLICKSEND_AE = "https://help.clicksend.com/article/0oom471yu5-united-arab-emirates-uae-dubai"
NEXMO_AE = "https://help.nexmo.com/hc/en-us/articles/204017363-UAE-SMS-Features-and-Restrictions"
EASYSEND_AE = (
    "https://easysendsms.zendesk.com/hc/en-us/articles/"
    "360002793813-United-Arab-Emirates-UAE-SMS-messaging-regulations-and-restrictions"
)
SENTDM_AE = "https://sent.dm/es/resources/sms-compliance/ae-sms-guidance"
SALESFORCE_AE = (
    "https://help.salesforce.com/s/articleView?id=mktg.mc_moc_sending_guide_uae.htm"
    "&language=en_US&type=5"
)
DFINERY_KR = "https://docs.dfinery.ai/user-guide/en/action/off-site-campaign/info-vs-ads"
SUREM_KR = "http://jp.surem.net/nboard-d.jsp?numb=161"
PHPS_KR = "https://phps.kr/customer_faq_view.html?no=35210"
SDM_KR = "https://s.dm/resources/kr_sms_guidance"
SENTDM_SA = "https://www.sent.dm/resources/sa-sms-guidance"
SENTDM_SA_FR = "https://www.sent.dm/fr/resources/sms-compliance/sa-sms-guidance"
UNIFONIC_SA = "https://docs.unifonic.com/docs/compliance-sms"
AMEEX_SA = "https://ameex-mobile.com/189/"
TELERIVET_AE = "https://www.telerivet.com/blog/tag/middle-east"
SINCH_SA = (
    "https://community.sinch.com/t5/SMS-365-enterprise-service/"
    "Saudi-Arabian-Operators-implement-tighter-controls-over-A2P/ta-p/3990"
)
CLICKSEND_SA = "https://help.clicksend.com/article/f2sfjgelmt-saudi-arabia"
TAWASOL_SA = "https://tawasolsms.com/en/sms-regulations-you-must-know"
CLICKATELL_GB = "https://www.clickatell.com/sms-country-regulations/united-kingdom/"
SMSTOOLS_GB = "https://help.smstools.com/en/article/sms-regulations-you-must-know-to-send-sms-in-the-uk-u58pp1"
WHISPIR_GB = "https://help.whispir.com/hc/en-us/articles/33692483691161-Sender-ID-Regulation-in-United-Kingdom-FAQs"

SENTDM_ES = "https://www.sent.dm/resources/spain-sms-guide"
SDM_ES = "https://s.dm/resources/spain-sms-guide"
SDM_IT = "https://www.s.dm/resources/italy-sms-guide"
SDM_IT_FEATURES = "https://s.dm/resources/italy-sms-guide"
SURESMS_IT = "https://suresms.com/en/resources/country-specific-rules-and-restrictions/italy/"
SENTDM_NL = "https://www.sent.dm/resources/nl-sms-guidance"
SENTDM_NL_FEATURES = "https://sent.dm/resources/nl_sms_guidance"
SENTDM_MX = "https://www.sent.dm/resources/mx-sms-guidance"
CLICKSEND_MX = "https://help.clicksend.com/article/rh9t2pjdja-mexico"
ENABLEX_IN = (
    "https://developer.enablex.io/docs/quickstart/sms/international-sms-regulations/country/india/"
)

SENTDM_PL = "https://www.sent.dm/resources/poland-sms-guide"
SENTDM_PL_FEATURES = "https://sent.dm/resources/poland-sms-guide"
SURESMS_PL = "https://suresms.com/en/reglas-por-pais/poland/"
VONAGE_TR = "https://api.support.vonage.com/hc/en-us/articles/204017543-Turkey-SMS-Features-and-Restrictions"
SENTDM_TR = "https://www.sent.dm/resources/tr-sms-guidance"
SDM_TR = "https://www.s.dm/en/resources/sms-compliance/tr-sms-guidance"
ZENSEND_TR = "http://support.zensend.io/support/solutions/articles/11000026642-turkey"
D7_TR = "https://d7networks.com/blog/sms-regulations-in-turkey/"
SDM_JP = "https://s.dm/resources/japan-sms-guide"

CLICKSEND_ZA = "https://help.clicksend.com/article/fqqv4xnzg4-south-africa"
SENTDM_ZA = "https://www.sent.dm/resources/za-sms-guidance"
SDM_ZA = "https://s.dm/resources/za_sms_guidance"
# the Public Holidays Act 36 of 1994's twelve days (read at ZA_HOLIDAYS_SOURCE); a Sunday
# holiday's Monday in lieu is not kept
ZA_HOLIDAYS_SOURCE = "https://soluap.com/public-holidays-in-south-africa"
ZA_HOLIDAYS = [
    "01-01", "03-21", "good_friday", "easter_monday", "04-27", "05-01", "06-16", "08-09",
    "09-24", "12-16", "12-25", "12-26",
]  # fmt: skip
CLICKSEND_CO = "https://help.clicksend.com/article/6hcloc1thn-colombia"
TELNYX_CO = "https://support.telnyx.com/en/articles/6534652-colombia-sms-guidelines"
TWILIO_CO_SC = (
    "https://support.twilio.com/hc/en-us/articles/1260800725249-Colombia-Short-Code-Best-Practices"
)
SENTDM_CO = "https://sent.dm/resources/co_sms_guidance"
TENCENT_CN = "https://tencentcloud.com/document/product/382/35461"
BIRD_CN = "https://docs.bird.com/connectivity-platform/country-restrictions-and-regulations/china"

OPENMARKET_BE = "https://www.openmarket.com/docs/Content/globalcoverage/country/belgium.htm"
SENTDM_BE = "https://www.sent.dm/resources/be-sms-guidance"
SENTDM_BE_FEATURES = "https://sent.dm/resources/be_sms_guidance"
SURESMS_CL = "https://suresms.com/en/rules-by-country/chile/"
SENTDM_CL = "https://www.sent.dm/resources/cl-sms-guidance"
SENTDM_CL_FEATURES = "https://sent.dm/resources/cl_sms_guidance"
TWILIO_ID = (
    "https://support.twilio.com/hc/en-us/articles/360039779394-Documents-Required-and-"
    "Instructions-to-Register-Your-Alphanumeric-Sender-ID-in-Indonesia"
)
SDM_ID = "https://www.s.dm/resources/indonesia-sms-guide"
SDM_ID_FEATURES = "https://s.dm/resources/indonesia-sms-guide"

SENTDM_VN = "https://www.sent.dm/resources/vietnam-sms-guide"
SDM_VN = "https://s.dm/resources/vietnam-sms-guide"
TRENDNEX_VN = "https://www.trendnex.com/ja/?start=406"
CLICKSEND_VN = "https://help.clicksend.com/article/8g95iexm1x-vietnam"
VONAGE_PH = (
    "https://api.support.vonage.com/hc/en-us/articles/"
    "204017413-Philippines-SMS-Features-and-Restrictions"
)
MOPLET_PH = "https://helpdesk.moplet.com/kb/faq.php?id=39"
SDM_PH = "https://www.s.dm/resources/ph-sms-guidance"
SDM_PH_FEATURES = "https://www.s.dm/en/resources/sms-compliance/ph-sms-guidance"
SMSGLOBAL_PH = (
    "https://knowledgebase.smsglobal.com/en/articles/5185786-philippines-laws-and-restrictions"
)
SALESFORCE_RU = (
    "https://help.salesforce.com/s/articleView?id=mktg.mc_moc_sending_guide_russia.htm"
    "&language=zh_CN&type=5"
)
SENTDM_RU = "https://www.sent.dm/resources/ru-sms-guidance"
SENTDM_RU_FEATURES = "https://sent.dm/resources/ru_sms_guidance"

IMDA_SG = "https://www.imda.gov.sg/How-We-Can-Help/Anti-Scam-Measures"
AFRICASTALKING_NG = "https://status.africastalking.com/incident/538/"
NIGERIASMS_NG = "https://nigeriasms.net/blog/sms-marketing-compliance-best-practices-nigeria"
SENTDM_NG = "https://www.sent.dm/es/resources/sms-compliance/nigeria-sms-guide"
NOTIFYRE_AU = "https://support.notifyre.com/online-sms-compliance-australia"
SMSGLOBAL_AU = "http://www.smsglobal.com/bh/en/resources/spam_act.php"

SDM_SE = "https://s.dm/resources/sweden-sms-guide"
SENTDM_SE = "https://www.sent.dm/resources/sweden-sms-guide"
CLICKSEND_MY = "https://help.clicksend.com/article/97cskdj6x3-malaysia"
NEXMO_PE = "https://help.nexmo.com/hc/en-us/articles/204017823-Peru-SMS-Features-and-Restrictions"
SDM_PE = "https://s.dm/resources/peru-sms-guide"
SENTDM_PE = "https://www.sent.dm/resources/peru-sms-guide"
SURESMS_PE = "https://suresms.com/en/landing-control/peru/"
ENUDGE_NZ = "https://www.enudge.com.au/sending-SMS-to-new-zealand-mobile-phones"
DOTDIGITAL_NZ = "https://support.dotdigital.com/en/articles/8199166-send-sms-in-new-zealand"
VOYAGER_NZ = (
    "https://helpdesk.voyager.co.nz/index.php?/Knowledgebase/Article/View/272/0/sending-in-nz"
)
SURESMS_TH = "https://suresms.com/en/resources/country-specific-rules-and-restrictions/thailand/"
SENTDM_TH = "https://sent.dm/resources/th_sms_guidance"
LEADBYTE_TH = (
    "https://support.leadbyte.co.uk/hc/en-us/articles/360000913686-Thailand-SMS-Restrictions-"
)
SURESMS_CH = "https://suresms.com/en/resources/country-specific-rules-and-restrictions/switzerland/"
SENTDM_CH = "https://sent.dm/resources/ch_sms_guidance"

EVERY_DAY = "mon-sun"

# A Twilio customer's list of the countries where Twilio needs an alphanumeric sender ID
# registered before it delivers (read at GOURBAN)
SENDER_REGISTRATION = (
    "AM BY TD CU CZ EG ET ID IR IL CI JP JO KZ KE KW LB MW MX MA MM NP NG OM PK PS PH QA RU "
    "SA LK SD TZ TH TN TR AE UA VN ZM ZW"
).split()


def daily(start: str, end: str) -> dict[str, Any]:
    return {"allowed": [window(EVERY_DAY, start, end)]}


CURATED: dict[str, dict[str, list[dict[str, Any]]]] = {
    "US": {
        "alphanumeric_sender": [
            r("not_supported", VONAGE_US, "alpha sender IDs are not supported"),
            r("not_supported", twilio("US"), "operator network capability: not supported"),
        ],
        "numeric_sender_required": [
            r(True, VONAGE_US, "a registered long number, toll-free number, 10DLC or short code"),
        ],
        "two_way": [r(True, twilio("US"))],
        "concatenation": [r(True, SENTDM_US_FR, "up to 1,600 characters")],
        "ucs2": [r(True, SENTDM_US_FR, "70 UCS-2 characters per single message")],
        "quiet_hours": [
            r(
                daily("08:00", "21:00"),
                SENTDM_US,
                "a guide's reading of TCPA practice: quiet hours 21:00-08:00 recipient's local "
                "time; some states are stricter",
            )
        ],
        "template_registration": [
            r(
                {"scheme": "us_a2p", "sender_types": ["10dlc", "toll_free", "short_code"]},
                VONAGE_US,
                "A2P traffic through a registered 10DLC, a verified toll-free number or a "
                "dedicated short code",
            )
        ],
    },
    "CA": {
        "alphanumeric_sender": [
            r("not_supported", VONAGE_US_CA, "alphanumeric sender ID is not allowed in US/CA"),
            r("not_supported", MAILUP, "alphanumeric senders are not supported"),
        ],
    },
    "DE": {
        "alphanumeric_sender": [
            r("allowed", SURESMS_DE, "generic sender IDs (INFO, SMS, NOTICE) are prohibited"),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_DE, "numeric sender IDs only for two-way services"),
        ],
    },
    "GB": {
        "alphanumeric_sender": [
            r("registration_required", SMSTOOLS_GB, "the provider whitelists sender IDs to the UK"),
            r("allowed", CLICKATELL_GB, "dynamic alpha supported; generic sender IDs blocked"),
            r("allowed", WHISPIR_GB, "brand alphanumeric sender IDs for one-way traffic"),
        ],
        "numeric_sender_required": [
            r(False, CLICKATELL_GB, "numeric senders only UK long numbers and UK short codes"),
        ],
        "two_way": [r(True, WHISPIR_GB, "through UK long numbers or UK short codes")],
        "quiet_hours": [r(daily("00:00", "24:00"), CLICKATELL_GB, "time restrictions: no")],
    },
    "ES": {
        "alphanumeric_sender": [r("allowed", SENTDM_ES, "no pre-registration")],
        "two_way": [r(True, SDM_ES)],
        "concatenation": [r(True, SDM_ES)],
        "ucs2": [r(True, SDM_ES, "70 characters per single UCS-2 message")],
        "quiet_hours": [
            r(
                daily("08:00", "21:00"),
                SENTDM_ES,
                "permitted hours 08:00-21:00 local time (the Canary Islands an hour behind); "
                "the guide also advises avoiding Sundays, holidays and 14:00-16:00",
            )
        ],
    },
    "IT": {
        "alphanumeric_sender": [
            r(
                "registration_required",
                SURESMS_IT,
                "AGCOM: national brands register alphanumeric senders, international ones use "
                "local numbers (postponed: dynamic alpha accepted meanwhile)",
            ),
            r("allowed", SDM_IT, "fully supported if compliant with AGCOM guidelines"),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_IT, "numeric senders only through a two-way service"),
        ],
        "two_way": [r(True, SDM_IT_FEATURES)],
        "concatenation": [r(True, SDM_IT_FEATURES, "may vary by sender ID type")],
        "ucs2": [r(True, SDM_IT_FEATURES)],
        "quiet_hours": [
            r(
                {"allowed": [window("mon-sat", "08:00", "22:00")]},
                SDM_IT,
                "marketing prohibited 22:00-08:00 and all day on Sundays",
            )
        ],
    },
    "NL": {
        "alphanumeric_sender": [r("allowed", SENTDM_NL, "fully supported")],
        "two_way": [r(True, SENTDM_NL_FEATURES)],
        "concatenation": [r(True, SENTDM_NL_FEATURES)],
        "ucs2": [r(True, SENTDM_NL)],
        "quiet_hours": [
            r(
                daily("08:00", "21:00"),
                SENTDM_NL,
                "permitted sending hours 08:00-21:00; the guide also advises avoiding weekends",
            )
        ],
    },
    "MX": {
        "alphanumeric_sender": [
            r("not_supported", CLICKSEND_MX, "alpha tags replaced with a long or short code"),
            r("registration_required", SENTDM_MX, "pre-registration for Telcel and Movistar"),
        ],
        "two_way": [r(True, CLICKSEND_MX, "with a dedicated number")],
        "concatenation": [r(True, SENTDM_MX)],
        "ucs2": [r(True, SENTDM_MX)],
        "quiet_hours": [r(daily("09:00", "21:00"), SENTDM_MX, "quiet hours 21:00-09:00")],
    },
    "PL": {
        "alphanumeric_sender": [
            r("allowed", SURESMS_PL, "generic and operator-name sender IDs are blocked"),
            r("allowed", SENTDM_PL, "no pre-registration"),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_PL, "numeric senders only as part of a two-way service"),
        ],
        "two_way": [r(True, SENTDM_PL_FEATURES)],
        "concatenation": [r(True, SENTDM_PL_FEATURES, "may vary by carrier")],
        "ucs2": [r(True, SENTDM_PL_FEATURES, "needed for Polish diacritics")],
        "quiet_hours": [
            r(
                daily("08:00", "20:00"),
                SENTDM_PL,
                "marketing 08:00-20:00 local time; the guide also advises avoiding weekends",
            )
        ],
    },
    "TR": {
        "alphanumeric_sender": [
            r("registration_required", VONAGE_TR, "mandatory on all networks, with the brand name"),
        ],
        "numeric_sender_required": [
            r(False, VONAGE_TR, "numeric senders only through a two-way service"),
        ],
        "two_way": [r(False, SENTDM_TR, "not for A2P messaging")],
        "concatenation": [r(True, ZENSEND_TR)],
        "ucs2": [r(True, SDM_TR, "Turkish characters need UCS-2")],
        "quiet_hours": [
            r(daily("08:00", "21:00"), SENTDM_TR, "08:00-21:00 local time (UTC+3)"),
            r(daily("08:00", "21:00"), D7_TR, "no retail marketing between 21:00 and 08:00"),
        ],
        "opt_out_text_required": [r(True, D7_TR, "marketing must include the opt-out in the text")],
        "template_registration": [
            r(
                {"scheme": "tr_iys", "fields": ["brand_code"]},
                VONAGE_TR,
                "marketing senders register with the IYS system and give its brand code",
            )
        ],
    },
    "JP": {
        "two_way": [r(True, SDM_JP)],
        "concatenation": [r(True, SDM_JP, "may vary by sender ID type")],
        "ucs2": [r(True, SDM_JP, "Japanese text at 70 characters per segment")],
    },
    "ZA": {
        "two_way": [r(True, SDM_ZA)],
        "concatenation": [r(True, SDM_ZA, "may vary by encoding and sender ID type")],
        "alphanumeric_sender": [
            r("not_supported", CLICKSEND_ZA, "senders are overwritten with a local long code"),
        ],
        "quiet_hours": [
            r(
                {
                    "allowed": [
                        window("mon-fri", "08:00", "20:00"),
                        window("sat", "09:00", "13:00"),
                    ],
                    "holidays": "closed",
                    "holiday_dates": ZA_HOLIDAYS,
                },
                CLICKSEND_ZA,
                "marketing Monday to Friday 08:00-20:00, Saturday 09:00-13:00, not on Sundays "
                f"or public holidays; holiday dates: {ZA_HOLIDAYS_SOURCE}",
            ),
            r(
                {
                    "allowed": [
                        window("mon-fri", "08:00", "20:00"),
                        window("sat", "09:00", "13:00"),
                    ],
                    "holidays": "closed",
                    "holiday_dates": ZA_HOLIDAYS,
                },
                SENTDM_ZA,
                "WASPA Code of Conduct: the same windows unless the recipient agreed otherwise",
            ),
        ],
        "opt_out_text_required": [
            r(True, CLICKSEND_ZA, "marketing must offer an opt-out method"),
        ],
    },
    "CO": {
        "alphanumeric_sender": [
            r("not_supported", TELNYX_CO, "overwritten with a local long code or short code"),
            r("not_supported", CLICKSEND_CO, "overwritten with the short code 85137"),
        ],
        "two_way": [r(True, SENTDM_CO), r(True, CLICKSEND_CO, "through a dedicated short code")],
        "concatenation": [r(True, SENTDM_CO, "may vary by sender ID type")],
        "ucs2": [r(True, SENTDM_CO)],
        "quiet_hours": [
            r(daily("08:00", "20:00"), CLICKSEND_CO, "no marketing Monday to Sunday 20:00-08:00"),
            r(daily("08:00", "21:00"), TELNYX_CO, "marketing only 08:00-21:00 without consent"),
            r(daily("08:00", "21:00"), TWILIO_CO_SC, "short codes: marketing 08:00-21:00"),
        ],
        "opt_out_text_required": [
            r(True, TELNYX_CO, "always an opt-out through the words Salir or Cancelar"),
        ],
    },
    "CN": {
        "opt_out_text_required": [
            r(True, TENCENT_CN, "marketing SMS must offer unsubscribing, e.g. 'reply T'"),
        ],
        "template_registration": [
            r(
                {"scheme": "cn_signature_template", "fields": ["signature", "template_id"]},
                TENCENT_CN,
                "a reviewed signature and body template; the template id is sent with each message",
            ),
            r(
                {"scheme": "cn_content_whitelist", "fields": ["signature"]},
                BIRD_CN,
                "brand signature and full content whitelisted by the operators",
            ),
        ],
    },
    "BE": {
        "alphanumeric_sender": [
            r("not_supported", OPENMARKET_BE, "every originator overwritten on one-way traffic"),
            r("allowed", SENTDM_BE, "no pre-registration, but often overwritten"),
        ],
        "two_way": [r(True, SENTDM_BE_FEATURES)],
        "concatenation": [r(True, SENTDM_BE_FEATURES)],
        "ucs2": [r(True, SENTDM_BE_FEATURES)],
        "quiet_hours": [
            r(
                {"allowed": [window("mon-sat", "08:00", "20:00")]},
                SENTDM_BE,
                "a recommendation (no strict legal restriction): 08:00-20:00, not on Sundays; "
                "holidays also advised against, not kept (no holiday list read)",
            )
        ],
    },
    "CL": {
        "alphanumeric_sender": [
            r("not_supported", SURESMS_CL, "changed to a random numeric sender"),
            r("not_supported", SENTDM_CL),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_CL, "numeric senders only as part of a two-way service"),
        ],
        "two_way": [r(True, SENTDM_CL_FEATURES)],
        "concatenation": [r(True, SENTDM_CL_FEATURES, "limits for domestic long codes")],
        "ucs2": [r(True, SENTDM_CL_FEATURES)],
        "quiet_hours": [
            r(daily("09:00", "21:00"), SENTDM_CL, "recommended sending time 09:00-21:00"),
        ],
    },
    "ID": {
        "alphanumeric_sender": [
            r("registration_required", TWILIO_ID, "pre-registration with every operator"),
        ],
        "two_way": [r(False, SDM_ID_FEATURES, "not through major providers")],
        "concatenation": [r(True, SDM_ID_FEATURES, "may vary by sender ID type")],
        "ucs2": [r(True, SDM_ID_FEATURES, "only for international registered sender IDs")],
        "quiet_hours": [
            r(
                daily("08:00", "20:00"),
                SDM_ID,
                "08:00-20:00 local time, in each of Indonesia's three time zones",
            )
        ],
    },
    "VN": {
        "alphanumeric_sender": [
            r("registration_required", CLICKSEND_VN, "unregistered alpha tags are rejected"),
        ],
        "two_way": [r(False, twilio("VN"))],
        "concatenation": [r(True, twilio("VN"), "not for every sender type")],
        "ucs2": [r(True, SDM_VN, "Vietnamese text at 70 characters per segment")],
        "quiet_hours": [
            r(daily("08:00", "20:00"), SENTDM_VN, "marketing 08:00-20:00 (GMT+7)"),
            r(
                daily("07:00", "21:00"),
                TRENDNEX_VN,
                "Decree 77/2012/ND-CP: advertising SMS 07:00-21:00 unless the recipient agreed",
            ),
        ],
        "template_registration": [
            r(
                {"scheme": "vn_brandname_content"},
                CLICKSEND_VN,
                "message content registered with the alpha tag; the brand name in the text",
            )
        ],
    },
    "PH": {
        "alphanumeric_sender": [
            r("registration_required", VONAGE_PH, "mandatory on every network"),
        ],
        "numeric_sender_required": [
            r(False, VONAGE_PH, "numeric senders only through a two-way service"),
        ],
        "two_way": [
            r(False, MOPLET_PH, "2-way SMS support: no"),
            r(True, SDM_PH_FEATURES),
            r(True, SMSGLOBAL_PH, "through a long code"),
        ],
        "concatenation": [r(True, SMSGLOBAL_PH)],
        "ucs2": [r(True, SMSGLOBAL_PH)],
        "quiet_hours": [
            r(daily("09:00", "21:00"), SDM_PH, "send 09:00-21:00 PHT to avoid disturbing"),
        ],
        "opt_out_text_required": [
            r(True, SMSGLOBAL_PH, "opt-out instructions in all promotional messages"),
        ],
    },
    "RU": {
        "alphanumeric_sender": [
            r("registration_required", SALESFORCE_RU, "only preregistered alphanumeric senders"),
        ],
        "numeric_sender_required": [
            r(False, SALESFORCE_RU, "long codes and short codes are not supported"),
        ],
        "two_way": [r(False, SENTDM_RU_FEATURES)],
        "concatenation": [
            r(False, SALESFORCE_RU, "concatenation support: no"),
            r(True, SENTDM_RU_FEATURES, "may vary by sender ID type"),
        ],
        "ucs2": [r(True, SALESFORCE_RU, "Cyrillic at 70 characters")],
        "quiet_hours": [
            r(
                daily("09:00", "21:00"),
                SENTDM_RU,
                "quiet hours 21:00-09:00 in the recipient's local time (11 time zones)",
            )
        ],
    },
    "SE": {
        "two_way": [r(True, SDM_SE)],
        "concatenation": [r(True, SDM_SE)],
        "ucs2": [r(True, SDM_SE)],
        "quiet_hours": [
            r(
                {"allowed": [window("mon-sat", "08:00", "20:00")]},
                SENTDM_SE,
                "recommended window 08:00-20:00, avoiding Sundays and public holidays (no "
                "holiday list read)",
            )
        ],
    },
    "MY": {
        "alphanumeric_sender": [
            r("not_supported", CLICKSEND_MY, "replaced with a shared short code"),
        ],
        "two_way": [r(True, CLICKSEND_MY, "dedicated short code, domestic brands only")],
    },
    "PE": {
        "alphanumeric_sender": [
            r("not_supported", SENTDM_PE, "converted to numeric short or long codes"),
            r("not_supported", SURESMS_PE, "generally changed to a local number"),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_PE, "numeric senders only as part of a two-way service"),
        ],
        "two_way": [r(False, SDM_PE, "not through standard API integrations")],
        "concatenation": [r(True, SDM_PE, "may vary by carrier")],
        "ucs2": [r(True, NEXMO_PE)],
        "quiet_hours": [
            r(
                {
                    "allowed": [
                        window("mon-fri", "08:00", "20:00"),
                        window("sat-sun", "09:00", "18:00"),
                    ]
                },
                SENTDM_PE,
                "recommended window: weekdays 08:00-20:00, weekends 09:00-18:00",
            )
        ],
    },
    "NZ": {
        "alphanumeric_sender": [
            r("not_supported", ENUDGE_NZ, "commercial SMS from a number, not alphanumeric"),
            r("not_supported", DOTDIGITAL_NZ, "only dedicated short codes since 2022"),
        ],
        "numeric_sender_required": [r(True, DOTDIGITAL_NZ, "a dedicated short code")],
        "opt_out_text_required": [
            r(True, VOYAGER_NZ, "a functioning opt-out at the end of every marketing message"),
        ],
    },
    "TH": {
        "alphanumeric_sender": [
            r("registration_required", SURESMS_TH, "unregistered senders are overwritten"),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_TH, "numeric senders only as part of a two-way service"),
        ],
        "two_way": [r(False, SENTDM_TH, "not for A2P messaging")],
        "concatenation": [r(True, SENTDM_TH, "may vary by sender ID type")],
        "max_segments": [r(3, LEADBYTE_TH, "a long message at most 3 parts per attempt")],
        "ucs2": [r(True, SENTDM_TH, "Thai text at 70 characters per segment")],
    },
    "CH": {
        "alphanumeric_sender": [
            r("allowed", SURESMS_CH, "generic sender IDs are not allowed"),
        ],
        "numeric_sender_required": [
            r(False, SURESMS_CH, "numeric senders generally only for two-way services"),
        ],
        "two_way": [r(True, SENTDM_CH)],
        "concatenation": [r(True, SENTDM_CH, "may vary by sender ID type")],
        "ucs2": [r(True, SENTDM_CH)],
    },
    "AR": {"alphanumeric_sender": [r("not_supported", GETRESPONSE)]},
    "AU": {
        "alphanumeric_sender": [
            r("registration_required", GETRESPONSE, "supported, pre-registration required"),
            r("registration_required", NOTIFYRE_AU, "the ACMA Sender ID Register"),
        ],
        "opt_out_text_required": [
            r(True, SMSGLOBAL_AU, "ACMA: sender identity and a means to opt out in broadcasts"),
        ],
    },
    "SG": {
        "alphanumeric_sender": [
            r(
                "registration_required",
                IMDA_SG,
                "the Singapore SMS Sender ID Registry; unregistered senders show as Likely-SCAM",
            ),
        ],
    },
    "NG": {
        "alphanumeric_sender": [
            r("registration_required", NIGERIASMS_NG, "NCC: registered sender IDs"),
        ],
        "two_way": [r(False, SENTDM_NG, "not through standard A2P channels")],
        "concatenation": [r(True, SENTDM_NG)],
        "quiet_hours": [
            r(
                daily("08:00", "20:00"),
                AFRICASTALKING_NG,
                "NCC: no promotional SMS between 20:00 and 08:00",
            ),
            r(daily("08:00", "21:00"), NIGERIASMS_NG, "permitted hours 08:00-21:00"),
        ],
        "opt_out_text_required": [
            r(True, NIGERIASMS_NG, "an opt-out mechanism in promotional messages"),
        ],
    },
    "BR": {
        "alphanumeric_sender": [
            r("not_supported", MAILPRO_BR, "every sender ID is overwritten with a local code"),
        ],
        "opt_out_text_required": [
            r(True, MAILPRO_BR, "at least one opt-out option for SMS the user receives"),
        ],
        "quiet_hours": [r(daily("00:00", "24:00"), MAILPRO_BR, "time restrictions: no")],
    },
    "MA": {
        "opt_out_text_required": [
            r(True, ENVOISMS_MA, "marketing must carry a STOP mention (e.g. 'STOP to 6060')"),
        ],
    },
    "AE": {
        "alphanumeric_sender": [
            r(
                "registration_required",
                CLICKSEND_AE,
                "marketing senders registered with an AD- prefix",
            ),
            r("registration_required", EASYSEND_AE),
        ],
        "two_way": [r(False, SENTDM_AE)],
        "concatenation": [r(True, SALESFORCE_AE)],
        "ucs2": [r(True, SALESFORCE_AE)],
        "quiet_hours": [
            r(daily("08:00", "21:00"), CLICKSEND_AE, "marketing only 08:00-21:00 local time"),
            r(daily("07:00", "21:00"), NEXMO_AE, "no marketing between 21:00 and 07:00"),
        ],
        "opt_out_text_required": [
            r(True, EASYSEND_AE, "opt-out text in the message (unless a written opt-in database)"),
            r(True, CLICKSEND_AE, "every marketing message must offer an opt-out"),
        ],
        "marketing_sender_tag": [
            r(
                {"prefix": "AD-", "max_length": 11},
                TELERIVET_AE,
                "TDRA: every promotional sender id carries AD- (since 2020-11-03)",
            ),
            r({"prefix": "AD-", "max_length": 11}, NEXMO_AE, "at most 11 characters with AD-"),
        ],
    },
    "KR": {
        "alphanumeric_sender": [r("not_supported", SDM_KR, "only numeric sender IDs")],
        "numeric_sender_required": [r(True, SDM_KR)],
        "two_way": [r(False, SDM_KR)],
        "concatenation": [r(False, SDM_KR, "long messages arrive as separate segments")],
        "ucs2": [r(True, SDM_KR, "UCS-2 at 70 characters; operators support EUC-KR characters")],
        "quiet_hours": [
            r(
                daily("08:00", "21:00"),
                DFINERY_KR,
                "advertising 08:00-21:00; at night only with the recipient's separate consent",
            ),
            r(daily("08:00", "21:00"), SUREM_KR),
        ],
        "opt_out_text_required": [
            r(True, PHPS_KR, "'(광고)' first and a free opt-out ('무료수신거부') at the end"),
        ],
    },
    "SA": {
        "alphanumeric_sender": [
            r("registration_required", AMEEX_SA, "pre-registration with every operator"),
            r("registration_required", SENTDM_SA, "CITC pre-registration; promotional -AD suffix"),
        ],
        "numeric_sender_required": [r(False, AMEEX_SA, "numeric senders are not allowed")],
        "two_way": [r(False, SENTDM_SA_FR, "not through standard channels")],
        "concatenation": [r(True, SENTDM_SA_FR)],
        "quiet_hours": [
            r(daily("09:00", "20:00"), SENTDM_SA, "marketing 09:00-20:00 Saudi time"),
            r(daily("09:00", "22:00"), UNIFONIC_SA, "awareness and promotional 09:00-22:00"),
            r(daily("08:00", "22:00"), AMEEX_SA, "promotional 08:00-22:00"),
            r(daily("08:00", "22:00"), TAWASOL_SA),
        ],
        "opt_out_text_required": [r(True, AMEEX_SA, "every promotional message")],
        "marketing_sender_tag": [
            r(
                {"suffix": "-AD", "max_length": 11},
                SINCH_SA,
                "promotional senders end in -AD (not 'AD' or ' AD'), 11 characters with it",
            ),
            r(
                {"suffix": "-AD", "max_length": 11},
                AMEEX_SA,
                "advertising senders carry the -AD postfix within 11 characters",
            ),
            r(
                {"suffix": " AD", "max_length": 11},
                CLICKSEND_SA,
                "'-AD' or ' AD' accepted",
            ),
        ],
    },
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
                f"from the Vonage reading; holiday dates: {FR_HOLIDAYS_SOURCE}",
            ),
            r(
                {
                    "allowed": [window("mon-sat", "08:00", "22:00")],
                    "holidays": "closed",
                    "holiday_dates": FR_HOLIDAYS,
                },
                VONAGE_FR,
                "carriers accept marketing Monday to Saturday 08:00-22:00, not on public "
                f"holidays; holiday dates: {FR_HOLIDAYS_SOURCE}",
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
        "quiet_hours": [
            r(
                daily("10:00", "21:00"),
                SMSGATEWAYHUB_IN_TIME,
                "promotional and service-explicit messages 10:00-21:00 IST from October 2025 "
                "(DLT error 651 outside it)",
            ),
            r(daily("09:00", "21:00"), SATISFI_IN, "marketing 09:00-21:00 IST per TRAI"),
            r(daily("09:00", "21:00"), ENABLEX_IN, "promotional SMS not between 21:00 and 09:00"),
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

for _iso in SENDER_REGISTRATION:
    _rules = CURATED.setdefault(_iso, {})
    _rules.setdefault("alphanumeric_sender", []).append(
        r("registration_required", GOURBAN, "on a list of countries needing a registered sender ID")
    )
