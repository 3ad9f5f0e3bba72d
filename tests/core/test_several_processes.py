"""The Procfile's processes as an operator scales them out: two web, two workers and one beat on one
PostgreSQL and one Redis (README, "Scaling out").

Sockets are real WebSocket clients against real uvicorn processes; the campaign sends through the fake
Graph API (100-300 ms per request), which posts each accepted message's `sent` status to a web
process. Processes are SIGKILLed (their whole process group) as a machine losing power would; a test
that kills one starts it again for the next. Every process started here is killed at the end, also on
failure.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.test import TransactionTestCase
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from apps.campaigns.models import Campaign, Delivery
from apps.campaigns.services import campaign_launch
from apps.conversations.models import LiveEvent, Message
from tests.asgi_server import free_port
from tests.conversations.live_support import ORIGIN, session_cookie, visitor, webchat_channel
from tests.conversations.wa_batches import wa_messages_body, wa_text_item
from tests.factories.campaigns import CampaignFactory, SegmentFactory, TemplateFactory
from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory
from tests.factories.merchants import api_key_for
from tests.fakes.graph import FakeGraph, StatusHook
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("flush_retried"),
]
ROOT = Path(__file__).resolve().parents[2]
FRAME_TIMEOUT = 10  # seconds a socket may take to show a frame: two cores shared by five processes
CAMPAIGN_CONTACTS = 200


def _procfile() -> dict[str, str]:
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line.strip() and line[0] != "#"]
    return {name.strip(): command.strip() for name, _, command in (line.partition(":") for line in lines)}


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _env(graph_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """pytest-django's test database (tests are transactional: rows are committed, other processes see
    them), this run's Redis db, one channel-layer prefix shared by both web processes."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "DATABASE_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "CHANNELS_PREFIX": prefix,
        "META_GRAPH_API_URL": graph_url,
        "WORKER_CONCURRENCY": "1",  # one batch at a time per worker: two senders are always on both workers
        "CAMPAIGNS_SENDERS": "2",
        "CAMPAIGNS_BATCH_SIZE": "20",
        "CAMPAIGNS_HTTP_CONCURRENCY": "10",
        "CAMPAIGNS_LEASE_SECONDS": "3",
        "CAMPAIGNS_HEARTBEAT_STALE_SECONDS": "3",
        **extra,
    }


class Stack:
    """Named Procfile processes, each in its own process group, logging to a file of the run."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env, self.commands = logs, env, _procfile()
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def _spawn(self, name: str, command: str, **env: str) -> None:
        out = open(self.log(name), "a")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def web(self, name: str) -> None:
        self.ports.setdefault(name, free_port())
        self._spawn(name, self.commands["web"], PORT=str(self.ports[name]))

    def worker(self, name: str) -> None:
        self._spawn(name, f"{self.commands['worker']} -n {name}@%h --without-gossip --without-mingle")

    def beat(self) -> None:
        self._spawn("beat", f"{self.commands['beat']} -s {self.logs / 'beat-schedule'}")

    def start(self, name: str) -> None:
        if name.startswith("web"):
            self.web(name)
        elif name == "beat":
            self.beat()
        else:
            self.worker(name)

    def alive(self, name: str) -> bool:
        return name in self.processes and self.processes[name].poll() is None

    def check_alive(self) -> None:
        dead = [name for name in self.processes if not self.alive(name)]
        assert dead == [], f"{dead} exited: {[self.log(name).read_text()[-2000:] for name in dead]}"

    def ready(self) -> None:
        for name in ("web1", "web2"):
            wait_until(lambda n=name: _get_ok(f"{self.url(n)}/healthz"), 60, what=f"{name} to serve",
                       between=self.check_alive)  # fmt: skip
        for name in ("worker1", "worker2"):
            wait_until(lambda n=name: "ready." in self.log(n).read_text(), 60, what=f"{name} to be ready",
                       between=self.check_alive)  # fmt: skip

    def kill(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def restore(self) -> None:
        """Start again whatever an earlier test killed."""
        for name in ("web1", "web2", "worker1", "worker2", "beat"):
            if not self.alive(name):
                self.start(name)
        self.ready()

    def close(self) -> None:
        for name in self.processes:
            self.kill(name)


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def flush_retried() -> Iterator[None]:
    """The flush after each transactional test may be picked as the victim of a deadlock with a
    worker's or beat's transaction (a tick locking campaign rows while TRUNCATE takes its tables one
    by one): Postgres aborts it and it is run again."""
    flush = TransactionTestCase._fixture_teardown

    def retried(self) -> None:
        for attempt in range(5):
            try:
                return flush(self)
            except CommandError as exc:
                if not isinstance(exc.__cause__, OperationalError) or attempt == 4:
                    raise

    with mock.patch.object(TransactionTestCase, "_fixture_teardown", retried):
        yield


@pytest.fixture(scope="module")
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph(latency=(0.1, 0.3))
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def stack(django_db_setup, graph, tmp_path_factory) -> Iterator[Stack]:
    """Started once for the module (about ten seconds of boot on two cores)."""
    env = _env(graph.url, f"charla-multiproc-{uuid.uuid4().hex[:8]}")
    running = Stack(tmp_path_factory.mktemp("stack"), env)
    try:
        for name in ("web1", "web2", "worker1", "worker2", "beat"):
            running.start(name)
        running.ready()
        yield running
    finally:
        running.close()


@pytest.fixture
def up(stack: Stack) -> Stack:
    from portal.celery import app

    stack.restore()
    app.control.purge()  # tasks an earlier test left on the broker must not run against this one's rows
    return stack


# --------------------------------------------------------------------------- sockets and HTTP
def _agent_socket(stack: Stack, web: str, membership) -> ClientConnection:
    cookie = session_cookie(membership.user, membership.merchant_id)
    ws = connect(
        f"{stack.url(web, 'ws')}/ws/inbox/",
        origin=stack.url(web),
        additional_headers={"Cookie": f"sessionid={cookie}"},
        open_timeout=FRAME_TIMEOUT,
    )
    assert _frame(ws)["type"] == "hello"
    return ws


def _widget_socket(stack: Stack, web: str, channel, token: str, after_seq: int | None = None) -> ClientConnection:
    ws = connect(f"{stack.url(web, 'ws')}/ws/widget/{channel.public_key}/", origin=ORIGIN, open_timeout=FRAME_TIMEOUT)
    auth = {"type": "auth", "token": token} | ({} if after_seq is None else {"after_seq": after_seq})
    ws.send(json.dumps(auth))
    assert _frame(ws)["type"] == "ready"
    return ws


def _frame(ws: ClientConnection) -> dict:
    return json.loads(ws.recv(timeout=FRAME_TIMEOUT))


def _next_event(ws: ClientConnection, kind: str = "message.created") -> dict:
    """The next stored event of this kind; presence, typing and other kinds are skipped."""
    while True:
        frame = _frame(ws)
        if frame["type"] == "event" and frame["kind"] == kind:
            return frame


def _until_resumed(ws: ClientConnection) -> list[dict]:
    events = []
    while (frame := _frame(ws))["type"] != "resumed":
        if frame["type"] == "event":
            events.append(frame)
    return events


def _widget_says(ws: ClientConnection, text: str) -> int:
    client_id = uuid.uuid4().hex
    ws.send(json.dumps({"type": "message", "id": client_id, "text": text}))
    while (frame := _frame(ws))["type"] != "ack":
        assert frame["type"] != "error", frame
    assert frame["id"] == client_id
    return frame["conversation_id"]


def _post(url: str, body: bytes, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=FRAME_TIMEOUT) as response:
        assert response.status in (200, 201), response.status
        return response.read()


def _agent_replies(stack: Stack, web: str, key: str, conversation_id: int, text: str) -> None:
    """The reply as the inbox sends it: the REST API of one web process."""
    url = f"{stack.url(web)}/api/v1/conversations/{conversation_id}/messages/"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    _post(url, json.dumps({"text": text}).encode(), headers)


def _closed(ws: ClientConnection) -> bool:
    """True once the server side is gone; frames still buffered before the close are read past."""
    try:
        while True:
            ws.recv(timeout=FRAME_TIMEOUT)
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False


def _widget_bodies(events: list[dict]) -> list[str]:
    return [e["message"]["body"] for e in events]


# --------------------------------------------------------------------------- 1. sockets on two web processes
def test_a_widget_on_web1_and_an_agent_on_web2_talk_live_in_order(up, agent_membership):
    merchant = agent_membership.merchant
    key = api_key_for(merchant)
    chat = webchat_channel(merchant)
    _, token = visitor(chat)
    agent = _agent_socket(up, "web2", agent_membership)
    widget = _widget_socket(up, "web1", chat, token)
    try:
        seen_by_agent, seen_by_widget = [], []
        for n in range(1, 4):
            conversation_id = _widget_says(widget, f"question {n}")
            seen_by_widget.append(_next_event(widget))
            seen_by_agent.append(_next_event(agent))  # before the agent answers: live, not on reload
            assert seen_by_agent[-1]["payload"]["body"] == f"question {n}"
            _agent_replies(up, "web2", key, conversation_id, f"answer {n}")
            seen_by_widget.append(_next_event(widget))
            seen_by_agent.append(_next_event(agent))
    finally:
        agent.close()
        widget.close()

    talk = [text for n in range(1, 4) for text in (f"question {n}", f"answer {n}")]
    assert _widget_bodies(seen_by_widget) == talk
    assert [e["payload"]["body"] for e in seen_by_agent] == talk
    for events in (seen_by_widget, seen_by_agent):
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(set(seqs))


# --------------------------------------------------------------------------- 3. a web process dies
def test_sockets_of_a_killed_web_process_resume_on_the_other_with_nothing_lost_or_doubled(up, agent_membership):
    merchant = agent_membership.merchant
    key = api_key_for(merchant)
    chat = webchat_channel(merchant)
    _, token = visitor(chat)
    agent = _agent_socket(up, "web1", agent_membership)
    widget = _widget_socket(up, "web1", chat, token)
    conversation_id = _widget_says(widget, "is my order on its way?")
    widget_last = _next_event(widget)["seq"]
    agent_last = _next_event(agent)["seq"]

    up.kill("web1")
    assert _closed(widget) and _closed(agent)
    for n in range(1, 4):  # meanwhile, from another tab of the agent, served by web2
        _agent_replies(up, "web2", key, conversation_id, f"while you were away {n}")

    widget = _widget_socket(up, "web2", chat, token, after_seq=widget_last)
    agent = _agent_socket(up, "web2", agent_membership)
    try:
        agent.send(json.dumps({"type": "resume", "after_seq": agent_last}))
        agent_missed = _until_resumed(agent)
        widget_missed = _until_resumed(widget)
        _widget_says(widget, "thanks")  # and the conversation goes on live on web2
        assert _next_event(agent)["payload"]["body"] == "thanks"
    finally:
        agent.close()
        widget.close()

    meanwhile = [f"while you were away {n}" for n in range(1, 4)]
    assert _widget_bodies(widget_missed) == meanwhile
    stored = list(LiveEvent.objects.filter(merchant=merchant, seq__gt=agent_last).values_list("seq", flat=True))
    assert [e["seq"] for e in agent_missed] == stored[: len(agent_missed)]
    assert len(agent_missed) == len(stored) - 1  # all but the live "thanks", each once
    bodies = [e["payload"]["body"] for e in agent_missed if e["kind"] == "message.created"]
    assert bodies == meanwhile


# --------------------------------------------------------------------------- 2 and 4. a campaign on two workers
@pytest.fixture
def whatsapp(merchant):
    return ChannelFactory(merchant=merchant, name="Shop WhatsApp")


@pytest.fixture
def spring(merchant, whatsapp, graph, up) -> tuple[Campaign, dict[int, str]]:
    """A campaign to 200 consented WhatsApp contacts (and their addresses at the fake), not launched yet;
    the fake posts the statuses of what it accepted to web2."""
    addresses = {}
    for _ in range(CAMPAIGN_CONTACTS):
        contact = ContactFactory(merchant=merchant, tags=["spring"])
        IdentityFactory(merchant=merchant, contact=contact, external_id=contact.phone.lstrip("+"))
        grant(contact)
        addresses[contact.pk] = contact.phone.lstrip("+")
    campaign = CampaignFactory(
        merchant=merchant,
        channel=whatsapp,
        template=TemplateFactory(merchant=merchant),
        segment=SegmentFactory(merchant=merchant, rules={"tags_any": ["spring"]}),
        throttle_per_second=40,
    )
    graph.status_hook = StatusHook(f"{up.url('web2')}{whatsapp.webhook_path}", whatsapp.app_secret,
                                   whatsapp.phone_number_id)  # fmt: skip
    return campaign, addresses


def _log_from(path: Path, offset: int) -> str:
    return path.read_text()[offset:]


def _batches_run(log: str) -> int:
    return sum(1 for line in log.splitlines() if "campaign_send_batch[" in line and "succeeded" in line)


def _received(graph: FakeGraph, addresses: dict[int, str]) -> dict[int, int]:
    per_recipient = graph.per_recipient()
    return {pk: per_recipient[to] for pk, to in addresses.items()}


def _completed(campaign: Campaign, stack: Stack) -> bool:
    stack.check_alive()
    return Campaign.objects.get(pk=campaign.pk).status == "completed"


def test_a_campaign_is_shared_by_both_workers_and_reaches_each_contact_once(up, graph, spring):
    campaign, addresses = spring
    offsets = {name: up.log(name).stat().st_size for name in ("worker1", "worker2")}
    campaign_launch(campaign=campaign)
    wait_until(lambda: _completed(campaign, up), 60, what="the campaign to complete", between=up.check_alive)

    assert set(_received(graph, addresses).values()) == {1}
    states = set(Delivery.objects.filter(campaign=campaign).values_list("state", flat=True))
    wait_until(
        lambda: set(Delivery.objects.filter(campaign=campaign).values_list("state", flat=True)) == {"sent"},
        30,
        what="every status webhook to be applied",
        detail=lambda: states,
    )
    batches = {name: _batches_run(_log_from(up.log(name), offset)) for name, offset in offsets.items()}
    assert all(n > 0 for n in batches.values()), batches


def test_a_worker_killed_mid_batch_leaves_the_campaign_to_the_other_and_nobody_gets_it_twice(up, graph, spring):
    campaign, addresses = spring
    offset = up.log("worker1").stat().st_size
    campaign_launch(campaign=campaign)

    def mid_batch() -> bool:
        received = sum(_received(graph, addresses).values())
        running = "campaign_send_batch[" in _log_from(up.log("worker1"), offset)
        return running and graph.in_flight > 0 and received >= 40

    wait_until(mid_batch, 60, interval=0.05, what="worker1 to be sending", between=up.check_alive)
    up.kill("worker1")
    at_kill = sum(_received(graph, addresses).values())
    assert at_kill < CAMPAIGN_CONTACTS * 3 // 4, "the kill must land mid-campaign"

    survivors = ("web1", "web2", "worker2", "beat")
    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).status == "completed",
        60,
        what="worker2 to finish the campaign",
        between=lambda: all(up.alive(name) for name in survivors) or pytest.fail("a survivor died"),
    )
    received = _received(graph, addresses)
    assert max(received.values()) == 1, "someone received the campaign twice"
    states = dict(Delivery.objects.filter(campaign=campaign).values_list("contact_id", "state"))
    # A request on the wire when its sender died is `unknown` (maybe sent, never sent again) until
    # the provider's status webhook says it was sent.
    outcomes = {(received[pk], states[pk]) for pk in addresses}
    assert outcomes <= {(1, "sent"), (1, "unknown"), (0, "unknown")}, outcomes
    unknown_unsent = [pk for pk in addresses if (received[pk], states[pk]) == (0, "unknown")]
    assert len(unknown_unsent) <= 10  # at most the dead sender's requests in flight (HTTP concurrency)
    assert sum(received.values()) > at_kill


# --------------------------------------------------------------------------- 5. RabbitMQ as the broker
@pytest.mark.rabbitmq
def test_with_rabbitmq_as_broker_a_webhook_taken_by_web_is_processed_by_a_worker(graph, whatsapp, tmp_path):
    from portal.celery import app

    app.control.purge()  # Redis broker of the stack
    broker = os.environ.get("CHARLA_TEST_RABBITMQ_URL", "")
    rabbit = Stack(tmp_path, _env(graph.url, f"charla-rabbit-{uuid.uuid4().hex[:8]}", CELERY_BROKER_URL=broker))
    try:
        rabbit.web("web1")
        rabbit.worker("worker1")
        wait_until(lambda: _get_ok(f"{rabbit.url('web1')}/healthz"), 60, what="web1", between=rabbit.check_alive)
        wait_until(lambda: "ready." in rabbit.log("worker1").read_text(), 60, what="the worker",
                   between=rabbit.check_alive)  # fmt: skip
        assert "amqp://" in rabbit.log("worker1").read_text()  # the worker's banner names its transport
        body = wa_messages_body(whatsapp, [wa_text_item("34600111222", f"wamid.{uuid.uuid4().hex}", "via rabbit")])
        digest = hmac.new(whatsapp.app_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}
        _post(f"{rabbit.url('web1')}{whatsapp.webhook_path}", body, headers)
        wait_until(
            lambda: Message.objects.filter(channel=whatsapp, body="via rabbit").exists(),
            30,
            what="the worker to store the inbound message",
            between=rabbit.check_alive,
        )
    finally:
        rabbit.close()
