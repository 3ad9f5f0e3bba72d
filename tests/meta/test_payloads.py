"""Every outbound builder, plain values in, Meta's JSON out, and every limit it refuses."""

import pytest

from apps.meta import payloads as p

WA = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "34600111222"}


def test_whatsapp_text():
    assert p.whatsapp_text_payload("34600111222", "Hola") == {
        **WA,
        "type": "text",
        "text": {"preview_url": False, "body": "Hola"},
    }


def test_a_business_scoped_user_id_goes_in_recipient():
    assert p.whatsapp_addressee("US.1349") == {"recipient": "US.1349"}
    assert p.whatsapp_addressee("+34600111222") == {"to": "+34600111222"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("image", {"id": "M1", "caption": "look"}),
        ("video", {"id": "M1", "caption": "look"}),
        ("document", {"id": "M1", "caption": "look", "filename": "a.pdf"}),
        ("audio", {"id": "M1"}),  # WhatsApp refuses a caption on audio
    ],
)
def test_whatsapp_media_caption_rules(kind, expected):
    payload = p.whatsapp_media_payload("34600111222", kind, "M1", caption="look", filename="a.pdf")
    assert payload == {**WA, "type": kind, kind: expected}


def test_whatsapp_media_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="a WhatsApp medium is one of image, audio, video, document, not 'sticker'"):
        p.whatsapp_media_payload("1", "sticker", "M1")


def test_media_types():
    assert p.whatsapp_media_type("image", "image/webp") == "document"
    assert p.whatsapp_media_type("image", "image/png") == "image"
    assert p.whatsapp_media_type("other", "x/y") == "document"
    assert (p.messenger_media_type("document"), p.messenger_media_type("zip")) == ("file", "file")


def test_template_with_media_header_body_and_buttons_in_component_order():
    payload = p.whatsapp_template_payload(
        "34600111222",
        "spring_sale",
        "es_ES",
        {"first_name": "Ana"},
        header=p.template_header(media_type="video", link="https://cdn.example.test/v.mp4"),
        buttons=p.template_buttons(quick_replies=["STOP"], url_suffixes={1: "order/42"}),
        opaque="d" * 600,
    )
    assert payload["template"] == {
        "name": "spring_sale",
        "language": {"code": "es_ES"},
        "components": [
            {"type": "header", "parameters": [{"type": "video", "video": {"link": "https://cdn.example.test/v.mp4"}}]},
            {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": "STOP"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "order/42"}]},
        ],
    }  # fmt: skip
    assert payload["biz_opaque_callback_data"] == "d" * 512


def test_template_headers():
    assert p.template_header(link="https://x.test/a.jpg") == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"link": "https://x.test/a.jpg"}}],
    }
    assert p.template_header(text="Ana") == {"type": "header", "parameters": [{"type": "text", "text": "Ana"}]}
    assert p.template_header() is None
    with pytest.raises(ValueError, match="a template header medium is an image, video or document, not 'audio'"):
        p.template_header(media_type="audio", link="https://x.test/a.ogg")


def test_template_buttons_limit():
    assert len(p.template_buttons(quick_replies=[str(i) for i in range(10)])) == 10
    with pytest.raises(ValueError, match="a template sends at most 10 button parameters, not 11"):
        p.template_buttons(quick_replies=[str(i) for i in range(11)])


def test_template_numbered_parameters_and_bare_template():
    numbered = p.whatsapp_template_payload("1", "t", "en", ["a", "b"])
    assert numbered["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]
    bare = p.whatsapp_template_payload("1", "t", "en")
    assert "components" not in bare["template"] and "biz_opaque_callback_data" not in bare


def test_reply_buttons():
    payload = p.whatsapp_reply_buttons_payload("34600111222", "Pick", [("y", "Yes"), ("n", "No")], footer="f")
    assert payload == {
        **WA,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "footer": {"text": "f"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "y", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "n", "title": "No"}},
                ]
            },
        },
    }


@pytest.mark.parametrize("count", [0, 4])
def test_reply_buttons_limit(count):
    with pytest.raises(ValueError, match=f"reply buttons: give 1 to 3, not {count}"):
        p.whatsapp_reply_buttons_payload("1", "Pick", [(str(i), str(i)) for i in range(count)])


def test_interactive_needs_a_body():
    with pytest.raises(ValueError, match="an interactive message needs a body text"):
        p.whatsapp_reply_buttons_payload("1", "", [("y", "Yes")])


def test_list_in_sections():
    payload = p.whatsapp_list_payload(
        "34600111222", "Menu", "Open", [("Food", [("p", "Pizza", "hot"), ("s", "Salad", "")])], header="Hi"
    )
    assert payload["interactive"] == {
        "type": "list",
        "body": {"text": "Menu"},
        "header": {"type": "text", "text": "Hi"},
        "action": {
            "button": "Open",
            "sections": [
                {
                    "title": "Food",
                    "rows": [{"id": "p", "title": "Pizza", "description": "hot"}, {"id": "s", "title": "Salad"}],
                }
            ],
        },
    }


@pytest.mark.parametrize("rows", [0, 11])
def test_list_rows_limit_counts_across_sections(rows):
    half = [(str(i), str(i), "") for i in range(rows)]
    with pytest.raises(ValueError, match=f"a list holds 1 to 10 rows across its sections, not {rows}"):
        p.whatsapp_list_payload("1", "Menu", "Open", [("A", half[: rows // 2]), ("B", half[rows // 2 :])])


def test_cta_url():
    payload = p.whatsapp_cta_url_payload("34600111222", "Track it", "Open", "https://shop.test/o/1")
    assert payload["interactive"] == {
        "type": "cta_url",
        "body": {"text": "Track it"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://shop.test/o/1"}},
    }
    with pytest.raises(ValueError, match="a call-to-action URL starts with https://"):
        p.whatsapp_cta_url_payload("1", "Track it", "Open", "http://shop.test")


def test_location_and_its_limits():
    assert p.whatsapp_location_payload("34600111222", 40.4, -3.7, name="Shop") == {
        **WA,
        "type": "location",
        "location": {"latitude": 40.4, "longitude": -3.7, "name": "Shop"},
    }
    with pytest.raises(ValueError, match="latitude is within ±90 and its longitude within ±180"):
        p.whatsapp_location_payload("1", 91, 0)


def test_location_request():
    assert p.whatsapp_location_request_payload("34600111222", "Where are you?")["interactive"] == {
        "type": "location_request_message",
        "body": {"text": "Where are you?"},
        "action": {"name": "send_location"},
    }


def test_messenger_text_with_and_without_tag():
    assert p.messenger_text_payload("9", "Hi") == {
        "recipient": {"id": "9"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hi"},
    }
    tagged = p.messenger_text_payload("9", "Hi", "MESSAGE_TAG", "POST_PURCHASE_UPDATE")
    assert (tagged["messaging_type"], tagged["tag"]) == ("MESSAGE_TAG", "POST_PURCHASE_UPDATE")


def test_messenger_attachment():
    assert p.messenger_attachment_payload("9", "file", "A1")["message"] == {
        "attachment": {"type": "file", "payload": {"attachment_id": "A1"}}
    }


def test_messenger_quick_replies_and_limit():
    payload = p.messenger_quick_replies_payload("9", "Pick", [("Yes", "Y")])
    assert payload["message"] == {
        "text": "Pick",
        "quick_replies": [{"content_type": "text", "title": "Yes", "payload": "Y"}],
    }
    with pytest.raises(ValueError, match="quick replies: give 1 to 13, not 14"):
        p.messenger_quick_replies_payload("9", "Pick", [(str(i), str(i)) for i in range(14)])


def test_messenger_button_template_and_limit():
    button = {"type": "postback", "title": "Yes", "payload": "Y"}
    payload = p.messenger_button_template_payload("9", "Pick", [button])
    assert payload["message"] == {
        "attachment": {"type": "template", "payload": {"template_type": "button", "text": "Pick", "buttons": [button]}}
    }
    with pytest.raises(ValueError, match="a button template holds 1 to 3 buttons, not 4"):
        p.messenger_button_template_payload("9", "Pick", [button] * 4)
