"""Hostile input at every public endpoint and socket: never a 5xx, never a half-written state.

Every named URL pattern (Django's admin aside) is called the way its users call it: API routes with
a valid key, portal pages as a signed-in admin, widget routes anonymously from an allowed origin,
Meta's webhooks with a valid signature over the fuzzed body. Hypothesis throws NUL and control
characters, Unicode digits, numbers past every range, deep and huge JSON and wrong types at the
query string, the path and the body. A refused write (4xx) must leave every table as it was.
A new route is covered the day it is added: the list is walked, not written down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from apps.campaigns import progress
from apps.conversations import widget
from apps.conversations.models import Message, WebhookEvent
from apps.conversations.services.inbound import webhook_event_process
from apps.core.roles import Role
from portal.asgi import application
from tests.conversations.live_support import (
    ORIGIN,
    TIMEOUT,
    agent_socket,
    redis_layer,  # noqa: F401 - fixture
    session_cookie,
    webchat_channel,
    widget_auth,
    widget_socket,
)
from tests.factories.campaigns import CampaignFactory
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import MembershipFactory, MerchantFactory, api_key_for
from tests.samples import SAMPLES, sample
from tests.test_tenancy_sweep import _all_routes, _registries

EXAMPLES = 12
RULES = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
SKIPPED_PREFIXES = ("admin:",)  # Django's own admin, for staff only, not an endpoint of the contract
WIDGET_ROUTES = {"conversations:widget_js", "conversations:widget_session", "conversations:widget_prechat",
                 "conversations:widget_upload", "conversations:widget_file"}  # fmt: skip
WEBHOOK_ROUTES = {"conversations_webhook_whatsapp": "whatsapp", "conversations_webhook_messenger": "messenger"}
WEBHOOK_KINDS = {"whatsapp": "whatsapp", "messenger": "messenger"}  # samples' folder -> channel kind
DEEP = "[" * 10_000 + "]" * 10_000
# The readiness probe answers 503 while a dependency (the broker in tests) is down: that is its answer.
DEPENDENCY_STATUSES = {"readyz": {503}}

# --------------------------------------------------------------------------- what is thrown
BAD_TEXT = [
    "\x00", "a\x00b", "\x1b[31m", "\x07", "\ud800", "²", "³²", "٣", "\uff11\uff12", "-1", "0", "007", "1.5", "1e400",
    "99999999999999999999999", str(2**63), "NaN", "Infinity", "null", "true", "[]", "{}", "", " ", "%00", "..",
    "' OR 1=1 --", "<script>x</script>", "🎉" * 50, "x" * 5000, "#²", "+²", "me", "none",
]  # fmt: skip
FIELDS = [
    "name", "email", "phone", "attributes", "rules", "tags", "text", "body", "status", "type", "key", "label",
    "token", "id", "mapping", "csv", "defaults", "contact", "contact_id", "assignee", "assignee_id", "priority",
    "subject", "page_url", "consent", "word", "kind", "language", "channel", "template", "template_id", "segment",
    "segment_id", "variables", "settings", "allowed_origins", "timezone", "locale", "role", "team", "q", "after",
    "before", "page_size", "cursor", "rating", "comment", "merchant_id", "scheduled_at", "action", "purpose",
    "wording", "source", "occurred_at", "labels", "until", "macro", "ticket", "other", "keep", "days", "schedule",
    "first_response_minutes", "resolution_minutes", "business_hours", "members", "password", "username", "is_active",
    "phone_number_id", "page_id", "access_token", "app_secret", "verify_token", "hub.mode", "hub.challenge",
    "hub.verify_token", "dry_run", "format", "ordering", "search", "object", "entry",
]  # fmt: skip

bad_text = st.sampled_from(BAD_TEXT) | st.text(max_size=20)
scalars = (
    bad_text
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
json_objects = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)
raw_bodies = st.sampled_from(
    [DEEP.encode(), b'{"a": NaN}', b'{"a": 1e400}', b"\xff\xfe\x00", b"{", b'{"a": "\\u0000"}', b'{"a": "\\ud800"}',
     b"[1, 2]", b'"text"', b"", b"\x00" * 100, ('{"name": ' + "[" * 40 + "]" * 40 + "}").encode()]
)  # fmt: skip
form_values = st.dictionaries(st.sampled_from(FIELDS), bad_text, max_size=6)


@st.composite
def hostile_requests(draw) -> dict:
    kind = draw(st.sampled_from(["json", "raw", "form", "multipart"]))
    body = {"json": json_objects, "raw": raw_bodies, "form": form_values, "multipart": form_values}[kind]
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"])),
        "query": draw(form_values),
        "path_value": draw(st.none() | bad_text),
        "kind": kind,
        "body": draw(body),
    }


# --------------------------------------------------------------------------- the world the routes act on
def _sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


class World:
    """One merchant with an admin, an API key, a web-chat widget and Meta channels; a caller per route."""

    def __init__(self) -> None:
        self.merchant = MerchantFactory(name="Fuzz Shop", slug="fuzz")
        self.admin = MembershipFactory(merchant=self.merchant, role=Role.ADMIN)
        self.webchat = webchat_channel(self.merchant, settings={"prechat_enabled": True})
        self.meta = {kind: ChannelFactory(merchant=self.merchant, kind=kind) for kind in ("whatsapp", "messenger")}
        self.token = widget.visitor_token_make(channel_id=self.webchat.pk, visitor_id=widget.visitor_id_new())
        self.sandbox = ChannelFactory(merchant=self.merchant, kind="whatsapp", sandbox=True)

    def kwargs(self, name: str, params: set[str]) -> dict:
        builders, _ = _registries()
        if name in builders:
            return builders[name](self.merchant)
        values = {
            "public_key": self.webchat.public_key, "signed": "x" * 12, "token": "x" * 12, "uidb64": "MQ",
            "version": "v21.0", "node_id": self.sandbox.phone_number_id,  # the sandbox's fake Graph API
        }  # fmt: skip
        if name in WEBHOOK_ROUTES:
            values["channel_id"] = self.meta[WEBHOOK_ROUTES[name]].pk
        return {param: values[param] for param in params}

    def client(self, name: str):
        if name.startswith("api:"):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(self.merchant)}")
            return client
        client = Client()
        if name not in WIDGET_ROUTES and name not in WEBHOOK_ROUTES:
            client.force_login(self.admin.user)
        return client


def _rows() -> tuple[int, ...]:
    """Every table's row count, in one query."""
    tables = sorted({model._meta.db_table for model in apps.get_models()})
    sql = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{table}")' for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def _url(name: str, kwargs: dict, path_value) -> str:
    if path_value is not None and kwargs:
        try:
            return reverse(name, kwargs=dict.fromkeys(kwargs, _sendable(path_value)))
        except NoReverseMatch:  # the route's converter refuses the value before any view sees it
            pass
    return reverse(name, kwargs=kwargs)


def _send(world: World, client, name: str, url: str, request: dict):
    headers = {"HTTP_ORIGIN": ORIGIN} if name in WIDGET_ROUTES else {}
    query = urlencode({k: _sendable(v) for k, v in request["query"].items()})
    target = f"{url}?{query}" if query else url
    if request["method"] == "GET":
        return client.get(target, **headers)
    body = request["body"]
    if isinstance(body, dict) and name in WIDGET_ROUTES:
        body = {"token": world.token, **body}  # past the token check, into the handling of the fields
    if request["kind"] == "multipart":  # the test client encodes multipart for POST only
        return client.post(target, data={k: _sendable(v) if isinstance(v, str) else v for k, v in body.items()},
                           **headers)  # fmt: skip
    if request["kind"] == "form":
        data, content_type = urlencode({k: _sendable(v) for k, v in body.items()}), "application/x-www-form-urlencoded"
    else:
        data, content_type = body if isinstance(body, bytes) else json.dumps(body).encode(), "application/json"
    if name in WEBHOOK_ROUTES:
        headers["HTTP_X_HUB_SIGNATURE_256"] = _sign(data.encode() if isinstance(data, str) else data,
                                                    world.meta[WEBHOOK_ROUTES[name]].app_secret)  # fmt: skip
    return client.generic(request["method"], target, data, content_type=content_type, **headers)


def _sendable(text: str) -> str:
    # Lone surrogates cannot travel in a URL or a form (they are not UTF-8): no browser can send them.
    # In JSON they can, as \ud800 escapes, and are thrown there.
    return text.encode("utf-8", "replace").decode()


def _route_names() -> list[str]:
    return sorted(name for name in _all_routes() if not name.startswith(SKIPPED_PREFIXES))


# --------------------------------------------------------------------------- HTTP
def test_the_walk_covers_every_kind_of_caller():
    names = set(_route_names())
    assert {"api:contact-list", "conversations:widget_prechat", "conversations_webhook_whatsapp", "contacts:list"} <= (
        names
    )
    assert not any(name.startswith("admin:") for name in names)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("name", _route_names())
def test_no_route_answers_bad_input_with_a_5xx_or_a_half_write(name):
    world = World()
    params = _all_routes()[name]
    kwargs = world.kwargs(name, params)
    client = world.client(name)

    @RULES
    @given(request=hostile_requests())
    def throw(request):
        url = _url(name, kwargs, request["path_value"])
        before = _rows()
        response = _send(world, client, name, url, request)
        described = f"{request['method']} {url} {request['kind']} {request['body']!r:.300} {request['query']!r:.200}"
        assert response.status_code < 500 or response.status_code in DEPENDENCY_STATUSES.get(name, ()), described
        if request["method"] != "GET" and response.status_code >= 400:
            assert _rows() == before, f"{described} -> {response.status_code} but rows changed"

    throw()


# --------------------------------------------------------------------------- sockets
frames = st.one_of(
    json_objects.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["auth", "resume", "message", "typing", "seen", "ping", "presence", "read"])},
        optional={
            "after_seq": json_values,
            "conversation_id": json_values,
            "message_id": json_values,
            "state": json_values,
            "status": json_values,
            "text": json_values,
            "id": st.just(str(uuid.uuid4())) | json_values,
        },
    ).map(json.dumps),
    raw_bodies.map(lambda raw: raw.decode("utf-8", "replace")),
    st.binary(max_size=20),
    bad_text,
).filter(bool)  # fmt: skip  (the test communicator cannot send an empty frame)


async def _alive_or_closed_4xxx(socket, token: str | None = None) -> None:
    """The socket (authenticated with `token` first, when given) answers a ping, or it was closed with a 4xxx
    code; the answers to the frames thrown before are passed over."""
    if token is not None:
        await socket.send_to(text_data=json.dumps({"type": "auth", "token": token}))
    await socket.send_to(text_data=json.dumps({"type": "ping"}))
    while True:
        output = await socket.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            assert 4000 <= output["code"] < 5000, output
            return
        if json.loads(output["text"]).get("type") == "pong":
            return


async def _throw(socket, thrown: list, token: str | None = None) -> None:
    for frame in thrown:
        if isinstance(frame, bytes):
            await socket.send_to(bytes_data=frame)
        else:
            await socket.send_to(text_data=frame)
    await _alive_or_closed_4xxx(socket, token)
    await socket.disconnect()


@pytest.fixture
def socket_world(transactional_db, redis_layer):  # noqa: F811
    merchant = MerchantFactory(name="Fuzz Shop", slug="fuzz")
    channel = webchat_channel(merchant)
    return {
        "agent": MembershipFactory(merchant=merchant, role=Role.AGENT),
        "channel": channel,
        "token": widget.visitor_token_make(channel_id=channel.pk, visitor_id=widget.visitor_id_new()),
    }


@pytest.mark.redis
@RULES
@given(thrown=st.lists(frames, min_size=1, max_size=6))
async def test_the_widget_socket_survives_any_frames(socket_world, thrown):
    socket = await widget_socket(socket_world["channel"])
    await widget_auth(socket, socket_world["token"])
    await _throw(socket, thrown)


@pytest.mark.redis
@RULES
@given(thrown=st.lists(frames, min_size=1, max_size=6))
async def test_the_widget_socket_survives_any_frames_before_auth(socket_world, thrown):
    await _throw(await widget_socket(socket_world["channel"]), thrown, token=socket_world["token"])


@pytest.mark.redis
@RULES
@given(thrown=st.lists(frames, min_size=1, max_size=6))
async def test_the_inbox_socket_survives_any_frames(socket_world, thrown):
    membership = socket_world["agent"]
    socket = await agent_socket(membership.user, membership.merchant_id)
    hello = await socket.receive_json_from(timeout=TIMEOUT)
    assert hello["type"] == "hello"
    await _throw(socket, thrown)


@pytest.mark.redis
async def test_a_deep_or_nul_frame_is_answered_with_an_error_and_the_socket_stays_open(socket_world):
    socket = await widget_socket(socket_world["channel"])
    await widget_auth(socket, socket_world["token"])
    await socket.send_to(text_data='{"type": "message", "text": ' + DEEP + "}")
    assert await socket.receive_json_from(timeout=TIMEOUT) == {
        "type": "error", "code": "bad_request", "message": "The JSON document is nested deeper than 32 levels.",
    }  # fmt: skip
    await socket.send_to(text_data=json.dumps({"type": "message", "id": str(uuid.uuid4()), "text": "hi\x00"}))
    assert await socket.receive_json_from(timeout=TIMEOUT) == {
        "type": "error", "code": "bad_request", "message": "Must not contain NUL characters.", "field": "text",
    }  # fmt: skip
    await socket.send_to(bytes_data=b"\x00\x01")
    assert (await socket.receive_json_from(timeout=TIMEOUT))["message"] == "Send JSON in text frames."
    await socket.send_to(text_data=json.dumps({"type": ["auth"]}))
    assert (await socket.receive_json_from(timeout=TIMEOUT))["message"] == "Send a JSON object with a type."
    await _alive_or_closed_4xxx(socket)
    assert await sync_to_async(Message.objects.filter(channel=socket_world["channel"]).count)() == 0
    await socket.disconnect()


# --------------------------------------------------------------------------- Meta's webhooks, processed
SAMPLE_NAMES = sorted(
    f"{path.parent.name}/{path.name}" for path in SAMPLES.glob("*/*.json") if path.parent.name in WEBHOOK_KINDS
)


@st.composite
def mutated_samples(draw) -> tuple[str, dict]:
    """A real Meta payload with some of its leaves replaced by hostile values (NUL, ², huge numbers, types)."""
    name = draw(st.sampled_from(SAMPLE_NAMES))
    return name, _mutate(sample(name), draw)


def _mutate(value, draw):
    if isinstance(value, dict):
        return {key: _mutate(item, draw) for key, item in value.items()}
    if isinstance(value, list):
        return [_mutate(item, draw) for item in value]
    return draw(json_values) if draw(st.integers(0, 4)) == 0 else value


@pytest.mark.postgres
@pytest.mark.django_db
@RULES
@given(payload=mutated_samples())
def test_a_signed_hostile_payload_is_stored_and_processed_without_raising(payload):
    name, body = payload
    merchant = MerchantFactory()
    channel = ChannelFactory(merchant=merchant, kind=WEBHOOK_KINDS[name.split("/")[0]])
    raw = json.dumps(body).encode()
    response = Client().post(f"/webhooks/{channel.kind}/{channel.pk}/", data=raw, content_type="application/json",
                             HTTP_X_HUB_SIGNATURE_256=_sign(raw, channel.app_secret))  # fmt: skip
    assert response.status_code == 200, response.content
    event = WebhookEvent.objects.get(channel=channel)
    webhook_event_process(event_id=event.pk)  # a crash here would be retried for ever by the task
    event.refresh_from_db()
    assert event.status in ("processed", "failed", "ignored")


@pytest.mark.redis
async def test_the_campaign_socket_answers_bad_frames_and_still_streams_progress(transactional_db, redis_layer):  # noqa: F811
    membership = await sync_to_async(MembershipFactory)(role=Role.MARKETER)
    campaign = await sync_to_async(CampaignFactory)(merchant=membership.merchant)
    cookie = await sync_to_async(session_cookie)(membership.user)
    socket = WebsocketCommunicator(application, f"/ws/campaigns/{campaign.pk}/",
                                   headers=[(b"cookie", f"sessionid={cookie}".encode()),
                                            (b"origin", b"http://testserver")])  # fmt: skip
    assert (await socket.connect(timeout=TIMEOUT))[0]
    assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "progress"
    for frame in ({"text_data": DEEP}, {"bytes_data": b"\x00"}, {"text_data": '{"a": "\\u0000"}'}):
        await socket.send_to(**frame)
        assert (await socket.receive_json_from(timeout=TIMEOUT))["code"] == "bad_request"
    update = {"type": "live.event", "seq": 1, "kind": progress.KIND, "payload": {"states": {}}}
    await get_channel_layer().group_send(progress.campaign_group(campaign.pk), update)
    assert await socket.receive_json_from(timeout=TIMEOUT) == {
        "type": "event",
        "seq": 1,
        "kind": progress.KIND,
        "payload": {"states": {}},
        "conversation_id": None,
    }
    await socket.disconnect()
