"""The widget's rate limits: per visitor, per client IP and per merchant; over the limit a 429 and nothing written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.contacts.models import ConsentEvent, ConsentState, Contact
from apps.conversations.models import Message
from tests.conversations.live_support import (
    ORIGIN,
    drain,
    receive,
    visitor,
    webchat_channel,
    widget_auth,
    widget_socket,
)
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db

LIMITED = {"code": "rate_limited", "fields": {}}


@pytest.fixture(autouse=True)
def at_a_window_start(time_machine):
    """Windows are fixed minutes: a flood that straddled a minute's end would be counted in two windows."""
    time_machine.move_to(datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def limits(settings):
    def set_(**rates: str) -> None:
        settings.CHARLA_RATE_LIMITS = {
            **settings.CHARLA_RATE_LIMITS,
            **{k.replace("_", "."): v for k, v in rates.items()},
        }

    return set_


@pytest.fixture
def channel(merchant):
    return webchat_channel(merchant, settings={"prechat_enabled": True})


def prechat(client, channel, token, ip="203.0.113.1", email="ana@example.test"):
    body = {"token": token, "name": "Ana", "email": email, "consent": True}
    return client.post(
        f"/inbox/widget/{channel.public_key}/prechat/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_ORIGIN=ORIGIN,
        REMOTE_ADDR=ip,
    )


def assert_limited(response) -> None:
    assert response.status_code == 429
    error = response.json()["error"]
    assert {k: error[k] for k in ("code", "fields")} == LIMITED
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    assert error["message"] == f"Too many requests; try again in {retry_after} seconds."
    # The script on the shop's page must be able to read the answer and its Retry-After.
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Expose-Headers"] == "Retry-After"


def test_pre_chat_is_limited_per_visitor_and_the_refused_post_changes_nothing(client, channel):
    _, token = visitor(channel)
    for _ in range(5):
        assert prechat(client, channel, token).status_code == 200
    refused = prechat(client, channel, token)
    assert_limited(refused)
    assert Contact.objects.count() == 1
    assert ConsentEvent.objects.count() == 5


def test_the_issues_flood_of_fresh_visitors_from_one_ip_stops_at_the_ip_limit(client, channel):
    """100 anonymous pre-chat posts in a few seconds: 20 contacts, none with a granted consent."""
    statuses = [
        prechat(client, channel, visitor(channel)[1], email=f"v{n}@example.test").status_code for n in range(100)
    ]
    assert statuses == [200] * 20 + [429] * 80
    assert Contact.objects.count() == 20
    assert list(ConsentState.objects.values_list("status", flat=True).distinct()) == ["pending"]
    # Another address is not that IP.
    assert prechat(client, channel, visitor(channel)[1], ip="198.51.100.7").status_code == 200


def test_a_flood_on_one_merchant_does_not_limit_another(client, channel, limits):
    limits(widget_prechat_merchant="3/min")
    for n in range(3):
        assert prechat(client, channel, visitor(channel)[1], ip=f"203.0.113.{n + 10}").status_code == 200
    assert_limited(prechat(client, channel, visitor(channel)[1], ip="203.0.113.50"))
    other = webchat_channel(MerchantFactory(slug="other-shop"), settings={"prechat_enabled": True})
    assert prechat(client, other, visitor(other)[1], ip="203.0.113.51").status_code == 200
    assert Contact.objects.filter(merchant=other.merchant).count() == 1


def test_hits_refused_for_one_visitor_do_not_use_up_the_merchants_bucket(client, channel, limits):
    limits(widget_prechat_merchant="6/min")
    _, flooder = visitor(channel)
    statuses = [prechat(client, channel, flooder).status_code for _ in range(10)]
    assert statuses == [200] * 5 + [429] * 5
    assert prechat(client, channel, visitor(channel)[1], ip="198.51.100.8").status_code == 200


def test_a_bad_token_is_refused_before_it_is_counted(client, channel):
    for _ in range(6):
        assert prechat(client, channel, "forged").status_code == 401
    assert prechat(client, channel, visitor(channel)[1]).status_code == 200


def test_uploads_are_limited_per_visitor_and_a_refused_one_is_not_stored(client, channel, limits, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    limits(widget_upload_visitor="2/min")
    _, token = visitor(channel)

    def upload():
        file = SimpleUploadedFile("note.txt", b"hello", content_type="text/plain")
        data = {"token": token, "id": str(uuid.uuid4()), "file": file}
        return client.post(f"/inbox/widget/{channel.public_key}/upload/", data=data, HTTP_ORIGIN=ORIGIN)

    assert [upload().status_code for _ in range(2)] == [201, 201]
    assert_limited(upload())
    assert Message.objects.count() == 2
    assert list(tmp_path.rglob("*")) and sum(1 for p in tmp_path.rglob("*") if p.is_file()) == 2


@pytest.mark.django_db(transaction=True)
async def test_socket_messages_are_limited_per_visitor_across_sockets(merchant, limits):
    limits(widget_message_visitor="3/min")
    channel = await sync_to_async(webchat_channel)(merchant)
    _, token = visitor(channel)
    first, second = await widget_socket(channel), await widget_socket(channel)
    await widget_auth(first, token)
    await widget_auth(second, token)
    for socket in (first, first, second):
        await socket.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "hi"})
        await receive(socket, type_="ack", skip=("event", "resumed"))
    refused_id = str(uuid.uuid4())
    await second.send_json_to({"type": "message", "id": refused_id, "text": "one too many"})
    error = await receive(second, type_="error", skip=("event", "resumed"))
    assert (error["code"], error["id"]) == ("rate_limited", refused_id)
    assert 1 <= error["retry_after"] <= 60
    assert error["message"] == f"Too many messages; try again in {error['retry_after']} seconds."
    assert await sync_to_async(Message.objects.count)() == 3
    await drain(first)
    await first.disconnect()
    await second.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_socket_messages_are_limited_per_client_ip_across_visitors(merchant, limits):
    from channels.testing import WebsocketCommunicator

    from portal.asgi import application

    limits(widget_message_ip="2/min")
    channel = await sync_to_async(webchat_channel)(merchant)
    errors = []
    for _ in range(3):
        socket = WebsocketCommunicator(
            application, f"/ws/widget/{channel.public_key}/", headers=[(b"origin", ORIGIN.encode())]
        )
        socket.scope["client"] = ("203.0.113.77", 50000)
        assert (await socket.connect())[0]
        await widget_auth(socket, visitor(channel)[1])
        await socket.send_json_to({"type": "message", "id": str(uuid.uuid4()), "text": "hi"})
        frame = await receive(socket, skip=("event", "resumed"))
        errors.append(frame["type"] == "error" and frame["code"] == "rate_limited")
        await socket.disconnect()
    assert errors == [False, False, True]
    assert await sync_to_async(Message.objects.count)() == 2
