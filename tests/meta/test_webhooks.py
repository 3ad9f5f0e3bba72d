"""Meta's webhook samples and whole bodies read into typed events (every fixture, exactly), malformed parts
reported beside the events that could be read, and the dispatcher's semantics (no database)."""

from datetime import UTC, datetime

import pytest

from apps.meta import dispatch
from apps.meta.content import Content, wa_message_content
from apps.meta.webhooks import (
    EDIT,
    MESSAGE,
    POSTBACK,
    QUICK_REPLY,
    REACTION,
    SYSTEM,
    UNSUPPORTED,
    AccountUpdate,
    ErrorReport,
    IdentityChange,
    InboundMessage,
    ParseProblem,
    PreferenceChange,
    Referral,
    Routed,
    StatusUpdate,
    TemplateCategoryChange,
    TemplateReview,
    Unhandled,
    Watermark,
    messenger_deliveries,
    parse_messenger,
    parse_whatsapp,
    wa_preference,
    wa_status,
    wa_template_category,
    wa_template_review,
)
from tests.samples import (
    FB_PAGE_ID,
    FB_PSID,
    FB_TEXT_MID,
    SAMPLES,
    WA_BSUID,
    WA_BSUID_PHONE,
    WA_CUSTOMER,
    WA_CUSTOMER_NAME,
    WA_NEW_NUMBER,
    WA_OUTBOUND_ID,
    WA_PHONE_NUMBER_ID,
    WA_TEMPLATE,
    WA_TEXT_ID,
    sample,
)


def _value(name: str) -> dict:
    return sample(name)["entry"][0]["changes"][0]["value"]


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "status_sent",
            StatusUpdate(WA_OUTBOUND_ID, "sent", _at(1764144100), "", "", "reply:conv-4471", "service", "service"),
        ),
        ("status_delivered", StatusUpdate(WA_OUTBOUND_ID, "delivered", _at(1764144102), opaque="reply:conv-4471")),
        ("status_read", StatusUpdate(WA_OUTBOUND_ID, "read", _at(1764144130), opaque="reply:conv-4471")),
        (
            "status_failed",
            StatusUpdate(
                WA_OUTBOUND_ID,
                "failed",
                _at(1764144105),
                "131047",
                "More than 24 hours have passed since the recipient last replied to the sender number.",
                "reply:conv-4471",
            ),
        ),
        (
            "status_read_bsuid",
            StatusUpdate("wamid.HBgLRVMuMTcyOTMwNDg1VQgARGBJPVVQwMDAwMDAwMDAwMDAwMDIA", "read", _at(1764144930)),
        ),
    ],
)
def test_whatsapp_statuses_read_into_status_updates(name, expected):
    assert [wa_status(item) for item in _value(f"whatsapp/{name}.json")["statuses"]] == [expected]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "stop",
            PreferenceChange(
                WA_CUSTOMER, "", "marketing_messages", "stop", "User requested to stop marketing messages", 1764145000
            ),
        ),
        (
            "resume",
            PreferenceChange(
                WA_CUSTOMER,
                "",
                "marketing_messages",
                "resume",
                "User requested to resume marketing messages",
                1764146000,
            ),
        ),
        (
            "stop_bsuid",
            PreferenceChange(
                "", WA_BSUID, "marketing_messages", "stop", "User requested to stop marketing messages", 1764145500
            ),
        ),
    ],
)
def test_user_preferences_read_into_preference_changes(name, expected):
    changes = [wa_preference(item) for item in _value(f"whatsapp/user_preferences_{name}.json")["user_preferences"]]
    assert changes == [expected] and expected.marketing


def test_a_preference_of_another_category_is_not_marketing():
    assert wa_preference({"category": "utility_messages", "value": "stop"}).marketing is False


def test_template_review_sample():
    value = _value("whatsapp/template_status_approved.json")
    assert wa_template_review(value) == TemplateReview(*WA_TEMPLATE, "APPROVED", "NONE", value)


def test_template_category_sample_is_a_completed_change():
    value = _value("whatsapp/template_category_update.json")
    assert wa_template_category(value) == TemplateCategoryChange(*WA_TEMPLATE, "MARKETING", True, value)


def test_announced_category_change_is_not_completed():
    value = {"message_template_name": "x", "message_template_language": "es", "correct_category": "MARKETING"}
    assert wa_template_category(value).completed is False


def test_messenger_delivery_names_each_mid_at_the_watermark():
    item = sample("messenger/delivery_watermark.json")["entry"][0]["messaging"][0]
    assert messenger_deliveries(item["delivery"]) == []  # the watermark alone names no message
    updates = messenger_deliveries({"mids": ["m_1", "m_2"], "watermark": 1764144200000})
    at = datetime.fromtimestamp(1764144200, tz=UTC)
    assert updates == [StatusUpdate("m_1", "delivered", at), StatusUpdate("m_2", "delivered", at)]


def test_values_of_the_wrong_type_read_as_empty():
    update = wa_status({"id": 5, "status": None, "timestamp": "soon", "errors": "none"})
    assert (update.message_id, update.status, update.error_code, update.opaque) == ("5", "", "", None)


@pytest.mark.parametrize(
    ("name", "kind", "body", "keyword"),
    [
        ("inbound_text", "text", "Buenas, ¿cuándo llega el pedido 5521?", None),
        ("inbound_image", "media", "El paquete vino abierto", None),
        ("interactive_button_reply", "text", "Seguir pedido", "track_order"),
        ("interactive_list_reply", "text", "Sábado 10:00", "slot_sat_10"),
        ("inbound_order", "text", "🛒 Order: SKU-CAM-02 x 2, SKU-GOR-11 x 1 — 51.00 EUR\nPara recoger el viernes", ""),
    ],
)
def test_whatsapp_message_content(name, kind, body, keyword):
    content = wa_message_content(_value(f"whatsapp/{name}.json")["messages"][0])
    assert (content.kind, content.body, content.keyword) == (kind, body, keyword)


class Boom(Exception):
    pass


def test_dispatch_runs_subscribers_in_order_and_claims_when_any_answers_true(monkeypatch):
    calls = []
    first = lambda update, **context: calls.append(("first", context)) or False  # noqa: E731
    second = lambda update, **context: calls.append(("second", context)) or True  # noqa: E731
    monkeypatch.setitem(dispatch._subscribers, StatusUpdate, [])
    for fn in (first, second, first):  # subscribing twice is a no-op
        dispatch.subscribe(StatusUpdate, fn)
    update = StatusUpdate("m", "read", _at(0))
    assert dispatch.claimed(update, channel="c") is True
    assert calls == [("first", {"channel": "c"}), ("second", {"channel": "c"})]


def test_dispatch_stops_at_the_first_raising_subscriber(monkeypatch):
    calls = []

    def broken(review, **context):
        raise Boom

    monkeypatch.setitem(dispatch._subscribers, TemplateReview, [broken, lambda review, **c: calls.append(review)])
    with pytest.raises(Boom):
        dispatch.publish(TemplateReview("n", "es", "APPROVED", "", {}), merchant=None)
    assert calls == []


# --------------------------------------------------------------------------- whole bodies
WAMID = "wamid.HBgLMzQ2MTEyMjIzMzMVAgASGBR{}MDAwMDAwMDAwMDAwMD{}"  # our fixtures' ids differ in two places
REPLY_CONTEXT = {"from": "34910555012", "id": WA_OUTBOUND_ID}
MAP = "https://www.openstreetmap.org/?mlat=40.41678&mlon=-3.70379#map=17/40.41678/-3.70379"


def _wa(event) -> list[Routed]:
    return [Routed(WA_PHONE_NUMBER_ID, event)]


def _wa_message(message_id: str, at: int, *, kind: str = MESSAGE, name: str = WA_CUSTOMER_NAME, **fields) -> list:
    fields.setdefault("wa_id", WA_CUSTOMER)
    return _wa(InboundMessage(kind=kind, message_id=message_id, timestamp=_at(at), profile_name=name, **fields))


def _text(body: str, **metadata) -> Content:
    return Content("text", body, {"wa_type": "text", **metadata}, keyword=None)


def _interactive(reply_type: str, reply: dict, title: str) -> Content:
    metadata = {
        "wa_type": "interactive",
        "context": REPLY_CONTEXT,
        "interactive": {"type": reply_type, reply_type: reply},
        "payload": reply["id"],
    }
    return Content("text", title, metadata, keyword=reply["id"])


def _status(status: str, at: int, **fields) -> list:
    fields.setdefault("opaque", "reply:conv-4471")
    return _wa(StatusUpdate(WA_OUTBOUND_ID, status, _at(at), **fields))


def _system(message_id: str, at: float, notice: str, body: str, system: dict, identity: dict | None = None) -> list:
    change = IdentityChange(notice, body, system.get("new_wa_id") or system.get("wa_id") or "", system, identity or {})
    return _wa_message(message_id, at, kind=SYSTEM, name="", identity_change=change)


NUMBER_CHANGE = f"User {WA_CUSTOMER_NAME} changed from {WA_CUSTOMER} to {WA_NEW_NUMBER}"
FLOW_ANSWERS = {"delivery_day": "friday", "size": "M", "comments": "Dejar en portería"}
CARDS = [
    {
        "name": "Pablo Ortega Ruiz",
        "phones": [
            {"phone": "+34 622 33 44 55", "wa_id": "34622334455", "type": "CELL"},
            {"phone": "+34 913 00 11 22", "wa_id": "", "type": "WORK"},
        ],
        "emails": ["pablo.ortega@example.org"],
        "organization": "Talleres Ortega",
    },
    {
        "name": "Nuria Vidal",
        "phones": [{"phone": "+34 633 44 55 66", "wa_id": "", "type": "CELL"}],
        "emails": [],
        "organization": "",
    },
]
ORDER = {
    "catalog_id": "884102937465012",
    "text": "Para recoger el viernes",
    "items": [
        {"product_retailer_id": "SKU-CAM-02", "quantity": 2, "item_price": 19.5, "currency": "EUR"},
        {"product_retailer_id": "SKU-GOR-11", "quantity": 1, "item_price": 12, "currency": "EUR"},
    ],
}

EXPECTED: dict[str, list[Routed]] = {
    "messenger/delivery_watermark.json": [
        Routed(FB_PAGE_ID, Watermark(FB_PSID, "delivered", datetime(2025, 11, 26, 8, 3, 20, tzinfo=UTC)))
    ],
    "messenger/read.json": [Routed(FB_PAGE_ID, Watermark(FB_PSID, "read", _at(1764144300)))],
    "messenger/inbound_text.json": [
        Routed(
            FB_PAGE_ID,
            InboundMessage(
                MESSAGE,
                FB_TEXT_MID,
                _at(1764144000.456),
                psid=FB_PSID,
                content=Content("text", "¿A qué hora abrís el sábado?", {}, keyword=None),
            ),
        )
    ],
    "messenger/inbound_location.json": [
        Routed(
            FB_PAGE_ID,
            InboundMessage(
                MESSAGE,
                "m_Lc4Tn0Qw2Er8Ty6Ui3Op1As5Df7Gh9Jk",
                _at(1764144060.789),
                psid=FB_PSID,
                content=Content(
                    "text",
                    f"📍 (40.41678, -3.70379) {MAP}",
                    {"location": {"latitude": 40.41678, "longitude": -3.70379, "url": MAP}},
                    keyword="",
                ),
            ),
        )
    ],
    "whatsapp/inbound_text.json": _wa_message(
        WA_TEXT_ID, 1764144000, content=_text("Buenas, ¿cuándo llega el pedido 5521?")
    ),
    "whatsapp/inbound_text_bsuid_only.json": _wa_message(
        WAMID.replace("MzQ2MTEyMjIzMzMVAgASGBR", "RVMuMTcyOTMwNDg1VAgASGBR").format("CU1Uw", "EA"),
        1764144720,
        wa_id="",
        user_id=WA_BSUID,
        content=_text("Hola, soy nueva por aquí"),
    ),
    "whatsapp/inbound_text_bsuid_and_phone.json": _wa_message(
        WAMID.replace("MzQ2MTEyMjIzMzMVAgASGBR", "RVMuMTcyOTMwNDg1VAgASGBR").format("CU1Uw", "IA"),
        1764144780,
        wa_id=WA_BSUID_PHONE,
        user_id=WA_BSUID,
        content=_text("Os paso también mi número"),
    ),
    "whatsapp/inbound_image.json": _wa_message(
        WAMID.format("JTUcw", "EA"),
        1764144060,
        content=Content(
            "media",
            "El paquete vino abierto",
            {"wa_type": "image"},
            [
                {
                    "type": "image",
                    "media_id": "1300498765432101",
                    "mime_type": "image/jpeg",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "filename": "",
                    "status": "pending",
                }
            ],
            keyword=None,
        ),
    ),
    "whatsapp/inbound_contacts.json": _wa_message(
        WAMID.format("DT04w", "EA"),
        1764144120,
        content=Content(
            "text",
            "👤 Pablo Ortega Ruiz · +34 622 33 44 55 · +34 913 00 11 22\n👤 Nuria Vidal · +34 633 44 55 66",
            {"wa_type": "contacts", "contacts": CARDS},
        ),
    ),
    "whatsapp/inbound_order.json": _wa_message(
        WAMID.format("PUkQw", "EA"),
        1764144360,
        content=Content(
            "text",
            "🛒 Order: SKU-CAM-02 x 2, SKU-GOR-11 x 1 — 51.00 EUR\nPara recoger el viernes",
            {"wa_type": "order", "order": ORDER},
        ),
    ),
    "whatsapp/interactive_button_reply.json": _wa_message(
        WAMID.format("CVE4w", "EA"),
        1764144180,
        context=REPLY_CONTEXT,
        content=_interactive("button_reply", {"id": "track_order", "title": "Seguir pedido"}, "Seguir pedido"),
    ),
    "whatsapp/interactive_list_reply.json": _wa_message(
        WAMID.format("MU1Qw", "EA"),
        1764144240,
        context=REPLY_CONTEXT,
        content=_interactive(
            "list_reply",
            {"id": "slot_sat_10", "title": "Sábado 10:00", "description": "Recogida en tienda"},
            "Sábado 10:00",
        ),
    ),
    "whatsapp/interactive_nfm_reply.json": _wa_message(
        WAMID.format("ORk0w", "EA"),
        1764144300,
        context=REPLY_CONTEXT,
        content=Content(
            "text",
            "📋 Form answers\ndelivery_day: friday\nsize: M\ncomments: Dejar en portería",
            {
                "wa_type": "interactive",
                "context": REPLY_CONTEXT,
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {
                        "name": "flow",
                        "body": "Sent",
                        "response_json": '{"flow_token": "ft-20931", "delivery_day": "friday", "size": "M", '
                        '"comments": "Dejar en portería"}',
                    },
                },
                "flow": {"name": "flow", "token": "ft-20931"},
                "flow_response": FLOW_ANSWERS,
            },
        ),
    ),
    "whatsapp/reaction.json": _wa_message(
        WAMID.format("SRUEw", "EA"), 1764144540, kind=REACTION, target_id=WA_OUTBOUND_ID, emoji="👍"
    ),
    "whatsapp/reaction_removed.json": _wa_message(
        WAMID.format("SRUEw", "IA"), 1764144600, kind=REACTION, target_id=WA_OUTBOUND_ID
    ),
    "whatsapp/edit.json": _wa_message(
        WAMID.format("FRFQw", "EA"),
        1764144660,
        kind=EDIT,
        target_id=WA_TEXT_ID,
        content=_text("Buenas, ¿cuándo llega el pedido 5522?"),
    ),
    "whatsapp/system_customer_changed_number.json": _system(
        WAMID.format("TWVMw", "EA"),
        1764144420,
        "customer_changed_number",
        NUMBER_CHANGE,
        {"body": NUMBER_CHANGE, "new_wa_id": WA_NEW_NUMBER, "type": "customer_changed_number"},
    ),
    "whatsapp/system_user_changed_number.json": _system(
        WAMID.format("TWVMw", "MA"),
        1764144450,
        "user_changed_number",
        NUMBER_CHANGE,
        {"body": NUMBER_CHANGE, "wa_id": WA_NEW_NUMBER, "type": "user_changed_number"},
    ),
    "whatsapp/system_customer_identity_changed.json": _system(
        WAMID.format("TWVMw", "IA"),
        1764144480,
        "customer_identity_changed",
        "User's security code changed",
        {"body": "User's security code changed", "customer": WA_CUSTOMER, "type": "customer_identity_changed"},
        {"acknowledged": True, "created_timestamp": 1764144470, "hash": "Kx8Pq2Zr"},
    ),
    "whatsapp/status_sent.json": _status(
        "sent", 1764144100, conversation_category="service", pricing_category="service"
    ),
    "whatsapp/status_delivered.json": _status("delivered", 1764144102),
    "whatsapp/status_read.json": _status("read", 1764144130),
    "whatsapp/status_failed.json": _status(
        "failed",
        1764144105,
        error_code="131047",
        error_message="More than 24 hours have passed since the recipient last replied to the sender number.",
    ),
    "whatsapp/status_read_bsuid.json": _wa(
        StatusUpdate("wamid.HBgLRVMuMTcyOTMwNDg1VQgARGBJPVVQwMDAwMDAwMDAwMDAwMDIA", "read", _at(1764144930))
    ),
    "whatsapp/user_preferences_stop.json": _wa(
        PreferenceChange(
            WA_CUSTOMER, "", "marketing_messages", "stop", "User requested to stop marketing messages", 1764145000
        )
    ),
    "whatsapp/user_preferences_resume.json": _wa(
        PreferenceChange(
            WA_CUSTOMER, "", "marketing_messages", "resume", "User requested to resume marketing messages", 1764146000
        )
    ),
    "whatsapp/user_preferences_stop_bsuid.json": _wa(
        PreferenceChange(
            "", WA_BSUID, "marketing_messages", "stop", "User requested to stop marketing messages", 1764145500
        )
    ),
}


EXPECTED["whatsapp/template_status_approved.json"] = [
    Routed("", TemplateReview(*WA_TEMPLATE, "APPROVED", "NONE", _value("whatsapp/template_status_approved.json")))
]
EXPECTED["whatsapp/template_category_update.json"] = [
    Routed(
        "",
        TemplateCategoryChange(*WA_TEMPLATE, "MARKETING", True, _value("whatsapp/template_category_update.json")),
    )
]

FIXTURES = sorted(f"{path.parent.name}/{path.name}" for path in SAMPLES.glob("*/*.json"))
PARSERS = {"whatsapp": parse_whatsapp, "messenger": parse_messenger}


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_reads_into_exact_events(name):
    """A new fixture without an expectation here fails: every body we keep is one we know how we read."""
    assert name in EXPECTED, f"add the events {name} reads into to EXPECTED"
    parsed = PARSERS[name.split("/")[0]](sample(name))
    assert (parsed.events, parsed.problems) == (EXPECTED[name], [])


def test_no_expectation_names_a_missing_fixture():
    assert sorted(EXPECTED) == FIXTURES


def test_a_status_keeps_the_item_it_was_read_from_for_a_retry():
    item = sample("whatsapp/status_read.json")["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert parse_whatsapp(sample("whatsapp/status_read.json")).events[0].event.raw == item


# --------------------------------------------------------------------------- malformed parts
def _messages_body(*messages) -> dict:
    value = {"metadata": {"phone_number_id": WA_PHONE_NUMBER_ID}, "messages": list(messages)}
    return {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": value}]}]}


def test_a_malformed_message_is_a_problem_and_the_good_one_beside_it_is_read():
    good = sample("whatsapp/inbound_text.json")["entry"][0]["changes"][0]["value"]["messages"][0]
    parsed = parse_whatsapp(_messages_body({"from": WA_CUSTOMER, "type": "text"}, good, "text"))
    assert [routed.event.message_id for routed in parsed.events] == [WA_TEXT_ID]
    assert parsed.problems == [
        ParseProblem(0, "changes[0].value.messages[0]", "a message without an id"),
        ParseProblem(0, "changes[0].value.messages[2]", "not an object"),
    ]
    assert str(parsed.problems[0]) == "entry 0: changes[0].value.messages[0]: a message without an id"


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({"entry": "nope"}, [ParseProblem(0, "entry", "not a list")]),
        ({"entry": [7, {"changes": {}}]}, [ParseProblem(0, "entry", "not an object"),
                                          ParseProblem(1, "changes", "not a list")]),
        ({"entry": [{"changes": [{"field": "messages", "value": None}]}]},
         [ParseProblem(0, "changes[0].value", "not an object")]),
        (_messages_body({"id": "wamid.x", "type": "text"}),
         [ParseProblem(0, "changes[0].value.messages[0]",
                       "a message without a sender (neither from nor from_user_id)")]),
        ({"x": 1}, []),
    ],
)  # fmt: skip
def test_whatsapp_shapes_meta_does_not_send_are_named(body, problems):
    parsed = parse_whatsapp(body)
    assert (parsed.events, parsed.problems) == ([], problems)


def test_a_messenger_entry_without_messaging_list_does_not_hide_the_next_entry():
    good = sample("messenger/inbound_text.json")["entry"][0]
    parsed = parse_messenger(
        {"entry": [{"id": FB_PAGE_ID, "messaging": "x"}, good, {"messaging": [{"message": {"mid": "m"}}]}]}
    )
    assert [(routed.to, routed.event.message_id) for routed in parsed.events] == [(FB_PAGE_ID, FB_TEXT_MID)]
    assert parsed.problems == [
        ParseProblem(0, "messaging", "not a list"),
        ParseProblem(2, "messaging[0]", "a message without a sender id or a mid"),
    ]


# --------------------------------------------------------------------------- kinds no fixture carries
def test_a_click_to_whatsapp_ad_reply_carries_its_referral():
    referral = {"source_url": "https://fb.me/ad", "source_id": "120208", "source_type": "ad", "ctwa_clid": "ARAk",
                "headline": "Autumn"}  # fmt: skip
    item = {"from": WA_CUSTOMER, "id": "wamid.ad", "timestamp": "1764144000", "type": "text",
            "text": {"body": "Info"}, "referral": referral}  # fmt: skip
    [routed] = parse_whatsapp(_messages_body(item)).events
    assert routed.event.referral == Referral("https://fb.me/ad", "120208", "ad", "ARAk")


def test_a_type_we_cannot_read_is_unsupported_with_metas_data_kept():
    item = {"from": WA_CUSTOMER, "id": "wamid.u", "timestamp": "1764144000", "type": "unsupported",
            "errors": [{"code": 131051}]}  # fmt: skip
    [routed] = parse_whatsapp(_messages_body(item)).events
    assert routed.event == InboundMessage(
        UNSUPPORTED,
        "wamid.u",
        _at(1764144000),
        wa_id=WA_CUSTOMER,
        content=Content("text", "", {"wa_type": "unsupported",
                                     "unsupported": {"type": "unsupported", "errors": [{"code": 131051}]}}),
    )  # fmt: skip


def test_account_updates_errors_and_unknown_fields_are_typed():
    value = {"phone_number": "34910555012", "event": "VERIFIED_ACCOUNT"}
    errors = {"metadata": {"phone_number_id": WA_PHONE_NUMBER_ID}, "errors": [{"code": 131000}]}
    changes = [{"field": "account_update", "value": value}, {"field": "messages", "value": errors},
               {"field": "account_alerts", "value": {}}]  # fmt: skip
    parsed = parse_whatsapp({"entry": [{"changes": changes}]})
    assert parsed.events == [
        Routed("", AccountUpdate("VERIFIED_ACCOUNT", "34910555012", value)),
        Routed(WA_PHONE_NUMBER_ID, ErrorReport("{'code': 131000}")),
        Routed("", Unhandled("account_alerts")),
    ]


def _messaging(*items) -> dict:
    return {"object": "page", "entry": [{"id": FB_PAGE_ID, "messaging": list(items)}]}


def test_a_messenger_postback_without_mid_gets_one_from_sender_and_time():
    postback = {"title": "Ver horario", "payload": "HOURS", "referral": {"ref": "menu", "source": "SHORTLINK"}}
    item = {"sender": {"id": FB_PSID}, "timestamp": 1764144000000, "postback": postback}
    [routed] = parse_messenger(_messaging(item)).events
    assert routed.event == InboundMessage(
        POSTBACK,
        f"postback:{FB_PSID}:1764144000000",
        _at(1764144000),
        psid=FB_PSID,
        content=Content("text", "Ver horario", {"payload": "HOURS", "postback": True}, [], keyword="HOURS"),
        referral=Referral(ref="menu", source="SHORTLINK"),
    )


def test_a_messenger_quick_reply_and_an_ad_referral():
    message = {"mid": "m_q", "text": "Sí", "quick_reply": {"payload": "YES"}, "reply_to": {"mid": "m_0"}}
    item = {"sender": {"id": FB_PSID}, "timestamp": 1764144000000, "message": message,
            "referral": {"ad_id": "6045", "source": "ADS", "type": "OPEN_THREAD"}}  # fmt: skip
    [routed] = parse_messenger(_messaging(item)).events
    assert routed.event == InboundMessage(
        QUICK_REPLY,
        "m_q",
        _at(1764144000),
        psid=FB_PSID,
        content=Content("text", "Sí", {"payload": "YES"}, [], keyword="YES"),
        context={"mid": "m_0"},
        referral=Referral(ad_id="6045", source="ADS"),
    )


def test_a_messenger_echo_and_an_unknown_item_are_unhandled_and_a_delivery_names_mids_then_the_watermark():
    echo = {"sender": {"id": FB_PAGE_ID}, "message": {"mid": "m_e", "is_echo": True, "text": "hi"}}
    delivery = {"sender": {"id": FB_PSID}, "delivery": {"mids": ["m_1"], "watermark": 1764144200000}}
    parsed = parse_messenger(_messaging(echo, {"sender": {"id": FB_PSID}, "optin": {}}, delivery))
    at = _at(1764144200)
    assert [routed.event for routed in parsed.events] == [
        Unhandled("messaging"),
        Unhandled("messaging"),
        StatusUpdate("m_1", "delivered", at),
        Watermark(FB_PSID, "delivered", at),
    ]


def test_an_item_no_reader_foresaw_is_a_problem_of_that_item_alone(monkeypatch):
    from apps.meta import webhooks

    def broken(item, names):
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(webhooks, "wa_message", broken)
    body = sample("whatsapp/inbound_text.json")
    body["entry"][0]["changes"][0]["value"]["statuses"] = [{"id": "wamid.s", "status": "read"}]
    parsed = parse_whatsapp(body)
    assert [routed.event.message_id for routed in parsed.events] == ["wamid.s"]
    assert parsed.problems == [
        ParseProblem(0, "changes[0].value.messages[0]", "unreadable: TypeError: unhashable type: 'list'")
    ]


def test_an_interactive_type_of_the_wrong_json_type_reads_as_a_button_reply():
    item = {"from": WA_CUSTOMER, "id": "wamid.i", "timestamp": "1", "type": "interactive",
            "interactive": {"type": ["x"], "button_reply": {"id": "b", "title": "B"}}}  # fmt: skip
    [routed] = parse_whatsapp(_messages_body(item)).events
    assert (routed.event.content.body, routed.event.content.keyword) == ("B", "b")
