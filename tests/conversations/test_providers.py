"""Provider clients against the fake Graph API (a real local HTTP server)."""

import pytest

from apps.conversations import providers
from apps.meta import payloads
from apps.meta.errors import GraphError
from tests.factories.conversations import ChannelFactory
from tests.fakes.graph import graph_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def wa(merchant):
    return ChannelFactory(merchant=merchant, kind="whatsapp", phone_number_id="209384756102938")


def test_whatsapp_text_send_in_metas_format(fake_graph, wa):
    result = providers.get_client(wa).send(payloads.whatsapp_text_payload("34600111222", "Hola"))
    assert result.provider_message_id.startswith("wamid.FAKE")
    [sent] = fake_graph.sent
    assert sent["path"] == "/v21.0/209384756102938/messages"
    assert sent["auth"] == f"Bearer {wa.access_token}"
    assert sent["body"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "34600111222",
        "type": "text",
        "text": {"preview_url": False, "body": "Hola"},
    }


def test_page_token_never_reaches_the_logs(fake_graph, merchant, caplog):
    import logging

    channel = ChannelFactory(merchant=merchant, kind="messenger", page_id="118273645501928")
    with caplog.at_level(logging.DEBUG):
        providers.get_client(channel).send(payloads.messenger_text_payload("1", "Hola"))
    assert caplog.records
    assert channel.access_token not in caplog.text
    assert "access_token=[redacted]" in caplog.text


def test_messenger_send_uses_page_and_token_param(fake_graph, merchant):
    channel = ChannelFactory(merchant=merchant, kind="messenger", page_id="118273645501928")
    payload = payloads.messenger_text_payload("6120394857361029", "Hola", "MESSAGE_TAG", "HUMAN_AGENT")
    result = providers.get_client(channel).send(payload)
    assert result.provider_message_id.startswith("m_FAKE")
    [sent] = fake_graph.sent
    assert sent["path"] == "/v21.0/118273645501928/messages"
    assert sent["query"] == {"access_token": [channel.access_token]}
    assert sent["body"] == {
        "recipient": {"id": "6120394857361029"},
        "messaging_type": "MESSAGE_TAG",
        "message": {"text": "Hola"},
        "tag": "HUMAN_AGENT",
    }


@pytest.mark.parametrize(
    ("first", "label"),
    [
        ((500, graph_error(2, "Service temporarily unavailable")), "5xx"),
        ((429, graph_error(4, "Application request limit reached")), "429"),
        ((400, graph_error(130429, "Rate limit hit")), "130429"),
        ((503, b"<html>bad gateway</html>"), "non-JSON 5xx"),
    ],
)
def test_transient_errors_are_retried_then_succeed(fake_graph, wa, first, label):
    fake_graph.queue(*first)
    result = providers.get_client(wa).send(payloads.whatsapp_text_payload("34600111222", "Hola"))
    assert result.provider_message_id.startswith("wamid.FAKE")
    assert len(fake_graph.sent) == 2, label


@pytest.mark.parametrize("code", [131047, 131026, 132000, 131050, 100])
def test_permanent_errors_are_not_retried(fake_graph, wa, code):
    fake_graph.queue(400, graph_error(code, "nope"))
    with pytest.raises(GraphError) as excinfo:
        providers.get_client(wa).send(payloads.whatsapp_text_payload("34600111222", "Hola"))
    assert excinfo.value.code == code
    assert excinfo.value.retryable is False
    assert excinfo.value.http_status == 400
    assert excinfo.value.message == "nope"
    assert len(fake_graph.sent) == 1


def test_retries_are_bounded(fake_graph, wa):
    for _ in range(5):
        fake_graph.queue(500, graph_error(1))
    with pytest.raises(GraphError) as excinfo:
        providers.get_client(wa, attempts=3).send(payloads.whatsapp_text_payload("34600111222", "Hola"))
    assert excinfo.value.retryable is True
    assert len(fake_graph.sent) == 3


def test_timeout_is_retryable(settings, wa):
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    settings.META_GRAPH_API_URL = f"http://127.0.0.1:{server.getsockname()[1]}/v21.0"
    import httpx

    http = httpx.Client(timeout=0.2)  # the server accepts but never answers
    client = providers.get_client(wa, attempts=2, backoff=0, http=http)
    try:
        with pytest.raises(GraphError) as excinfo:
            client.send(payloads.whatsapp_text_payload("1", "x"))
    finally:
        server.close()
        http.close()

    assert excinfo.value.retryable is True
    assert "timeout" in excinfo.value.message


def test_connection_refused_is_retryable(settings, wa):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings.META_GRAPH_API_URL = f"http://127.0.0.1:{port}/v21.0"
    with pytest.raises(GraphError) as excinfo:
        providers.get_client(wa, attempts=1).send(payloads.whatsapp_text_payload("1", "x"))
    assert excinfo.value.retryable is True


def test_answer_without_message_id_is_a_permanent_error(fake_graph, wa):
    fake_graph.queue(200, {"messaging_product": "whatsapp"})
    with pytest.raises(GraphError) as excinfo:
        providers.get_client(wa).send(payloads.whatsapp_text_payload("1", "x"))
    assert excinfo.value.retryable is False


def test_template_payload_with_named_params_and_opaque():
    payload = payloads.whatsapp_template_payload(
        "34600111222", "spring_sale", "es_ES", {"first_name": "Ana"}, opaque="delivery:42"
    )
    assert payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "34600111222",
        "type": "template",
        "template": {
            "name": "spring_sale",
            "language": {"code": "es_ES"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}]}
            ],
        },
        "biz_opaque_callback_data": "delivery:42",
    }


def test_template_payload_positional_and_without_params():
    positional = payloads.whatsapp_template_payload("1", "t", "en", ["a", "b"])
    assert positional["template"]["components"][0]["parameters"] == [
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]
    bare = payloads.whatsapp_template_payload("1", "t", "en", None)
    assert "components" not in bare["template"] and "biz_opaque_callback_data" not in bare


def test_media_url_and_download(fake_graph, wa):
    fake_graph.media["777"] = (b"\x89PNGdata", "image/png")
    client = providers.get_client(wa)
    info = client.media_url("777")
    assert info["mime_type"] == "image/png"
    assert client.media_download(info["url"]) == b"\x89PNGdata"
    assert all(get["auth"] == f"Bearer {wa.access_token}" for get in fake_graph.gets)


def test_webchat_has_no_provider_client(merchant):
    with pytest.raises(ValueError):
        providers.get_client(ChannelFactory(merchant=merchant, kind="webchat"))


def test_a_business_scoped_user_id_goes_in_recipient_and_a_number_in_to():
    by_user_id = payloads.whatsapp_text_payload("US.13491208655302741918", "Hola")
    assert (by_user_id["recipient"], "to" in by_user_id) == ("US.13491208655302741918", False)
    assert payloads.whatsapp_addressee("34600111222") == {"to": "34600111222"}
    assert payloads.whatsapp_addressee("+34600111222") == {"to": "+34600111222"}
    template = payloads.whatsapp_template_payload("US.ENT.11815799212886844830", "t", "en", None)
    assert (template["recipient"], "to" in template) == ("US.ENT.11815799212886844830", False)
    media = payloads.whatsapp_media_payload("US.13491208655302741918", "image", "MEDIA1")
    assert (media["recipient"], "to" in media, media["image"]) == ("US.13491208655302741918", False, {"id": "MEDIA1"})
