"""Meta's webhook payloads, written by us from Meta's documented formats and kept inside the repo.

Every test that needs a payload Meta sends reads it from `tests/fixtures/meta/{whatsapp,messenger}/`;
the ids those payloads carry are named here once so tests do not repeat magic numbers.
"""

import json
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "meta"

WA_PHONE_NUMBER_ID = "301928374650192"
WA_CUSTOMER = "34611222333"  # the wa_id of the customer in most WhatsApp payloads
WA_CUSTOMER_NAME = "Marta Ibáñez"
WA_NEW_NUMBER = "34644556677"  # the number system/*_changed_number moves that customer to
WA_BSUID = "ES.1729304857612093"  # a business-scoped user id (Meta's 2026 identifier)
WA_BSUID_PHONE = "34655667788"  # the phone that inbound_text_bsuid_and_phone reveals for WA_BSUID
WA_TEXT_ID = "wamid.HBgLMzQ2MTEyMjIzMzMVAgASGBRURVhUMDAwMDAwMDAwMDAwMDAxAA=="
WA_TEXT_TIMESTAMP = 1764144000
WA_OUTBOUND_ID = "wamid.HBgLMzQ2MTEyMjIzMzMVAgARGBJPVVQwMDAwMDAwMDAwMDAwMDEA"  # what the statuses report on
WA_TEMPLATE = ("autumn_offer", "es_ES")

FB_PAGE_ID = "129384756601234"
FB_PSID = "7231405968472130"
FB_TEXT_MID = "m_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe"


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def sample(name: str) -> dict:
    return json.loads(sample_bytes(name))
