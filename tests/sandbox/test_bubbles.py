"""How stored sends and webhook items look on the sandbox phone (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from apps.meta import payloads
from apps.sandbox.bubbles import Bubble, Button, bubble

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@dataclass
class Row:
    payload: dict
    kind: str
    direction: str = "to_customer"
    status: str = "sent"
    pk: int = 7
    created_at: datetime = AT


@dataclass
class Template:
    body: str
    buttons: list = field(default_factory=list)


def _shown(payload, kind, templates=None, direction="to_customer") -> Bubble:
    return bubble(Row(payload, kind, direction), templates=templates or {})


def test_a_text():
    shown = _shown(payloads.whatsapp_text_payload("346", "Hola"), "text")
    assert shown == Bubble(id=7, mine=False, kind="text", text="Hola", status="sent", at=AT)


def test_a_medium_shows_its_kind_and_caption():
    shown = _shown(payloads.whatsapp_media_payload("346", "image", "123", caption="New in"), "image")
    assert (shown.header, shown.text) == ("[image]", "New in")


STOP = [{"text": "Stop promotions", "payload": "STOP_PROMOTIONS"}, {"text": "Tell me more", "payload": "MORE"}]


def test_a_named_template_with_a_text_header_and_quick_replies():
    sent = payloads.whatsapp_template_payload(
        "346", "autumn", "es_ES", params={"first_name": "Marta", "code": "OTONO"},
        header=payloads.template_header(text="Autumn sale"),
        buttons=payloads.template_buttons(quick_replies=["STOP_PROMOTIONS", "MORE"]),
    )  # fmt: skip
    template = Template("Hola {{first_name}}, use {{ code }} today.", STOP)
    shown = _shown(sent, "template", {("autumn", "es_ES"): template})
    assert (shown.header, shown.text) == ("Autumn sale", "Hola Marta, use OTONO today.")
    assert shown.buttons == [Button(0, "Stop promotions", "STOP_PROMOTIONS"), Button(1, "Tell me more", "MORE")]


def test_a_numbered_template_and_a_media_header():
    sent = payloads.whatsapp_template_payload(
        "346", "shipped", "en", params=["Marta", "5521"],
        header=payloads.template_header(media_type="video", link="https://cdn.example.test/v.mp4"),
    )  # fmt: skip
    shown = _shown(sent, "template", {("shipped", "en"): Template("Hi {{1}}, order {{2}} is on its way.")})
    assert (shown.header, shown.text, shown.buttons) == ("[video]", "Hi Marta, order 5521 is on its way.", [])


def test_a_quick_reply_sent_without_payload_reports_its_text():
    sent = payloads.whatsapp_template_payload("346", "t", "en")
    shown = _shown(sent, "template", {("t", "en"): Template("Hi", STOP[:1])})
    assert shown.buttons == [Button(0, "Stop promotions", "Stop promotions")]


def test_a_template_we_no_longer_have_shows_its_name_and_the_payloads_sent():
    sent = payloads.whatsapp_template_payload(
        "346", "gone", "en", buttons=payloads.template_buttons(quick_replies=["STOP_PROMOTIONS"])
    )
    shown = _shown(sent, "template")
    assert (shown.header, shown.text, shown.buttons) == (
        "[template gone]",
        "",
        [Button(0, "STOP_PROMOTIONS", "STOP_PROMOTIONS")],
    )


def test_interactive_reply_buttons_are_shown_but_not_tappable():
    sent = payloads.whatsapp_reply_buttons_payload(
        "346", "Rate us", [("good", "Good"), ("bad", "Bad")], footer="Thanks"
    )
    shown = _shown(sent, "interactive")
    assert (shown.text, shown.footer, shown.buttons) == (
        "Rate us",
        "Thanks",
        [Button(0, "Good", ""), Button(1, "Bad", "")],
    )


def test_messenger_quick_replies_carry_their_payloads():
    sent = payloads.messenger_quick_replies_payload("psid", "Pick one", [("Yes", "YES"), ("No", "NO")])
    shown = _shown(sent, "message")
    assert (shown.text, shown.buttons) == ("Pick one", [Button(0, "Yes", "YES"), Button(1, "No", "NO")])


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ({"type": "text", "text": {"body": "hello"}}, "hello"),
        ({"type": "button", "button": {"payload": "STOP_PROMOTIONS", "text": "Stop promotions"}}, "Stop promotions"),
        ({"mid": "m_1", "text": "hola"}, "hola"),
    ],
)
def test_the_customers_own_messages(item, text):
    shown = _shown(item, item.get("type", "text"), direction="from_customer")
    assert (shown.mine, shown.text, shown.buttons) == (True, text, [])


@pytest.mark.parametrize("payload", [{}, {"template": "x"}, {"template": {"components": "x"}}, {"text": None}])
def test_odd_bodies_never_crash(payload):
    assert _shown(payload, "template").id == 7
    assert _shown(payload, "text").id == 7
