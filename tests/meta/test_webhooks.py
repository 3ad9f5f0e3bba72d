"""Meta's webhook samples read into typed events, and the dispatcher's semantics (no database)."""

from datetime import UTC, datetime

import pytest

from apps.meta import dispatch
from apps.meta.content import wa_message_content
from apps.meta.webhooks import (
    PreferenceChange,
    StatusUpdate,
    TemplateCategoryChange,
    TemplateReview,
    messenger_deliveries,
    wa_preference,
    wa_status,
    wa_template_category,
    wa_template_review,
)
from tests.samples import WA_BSUID, WA_CUSTOMER, WA_OUTBOUND_ID, WA_TEMPLATE, sample


def _value(name: str) -> dict:
    return sample(name)["entry"][0]["changes"][0]["value"]


def _at(seconds: int) -> datetime:
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
