import hashlib
import hmac
import json

import pytest

from tests.core.fake_network import fake_hosts, fake_network  # noqa: F401 - fixture re-export
from tests.factories.conversations import ChannelFactory
from tests.samples import FB_PAGE_ID, WA_PHONE_NUMBER_ID
from tests.samples import sample_bytes as sample_bytes  # re-export for the tests that import it from here

SAMPLE_PHONE_NUMBER_ID = WA_PHONE_NUMBER_ID
SAMPLE_PAGE_ID = FB_PAGE_ID


def sign(raw: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@pytest.fixture(autouse=True)
def no_real_graph(settings):
    """No test talks to the real Graph API: without the fake_graph fixture every call is refused locally."""
    settings.META_GRAPH_API_URL = "http://127.0.0.1:9/v21.0"


@pytest.fixture
def wa_channel(merchant):
    return ChannelFactory(merchant=merchant, kind="whatsapp", phone_number_id=SAMPLE_PHONE_NUMBER_ID)


@pytest.fixture
def fb_channel(merchant):
    return ChannelFactory(merchant=merchant, kind="messenger", page_id=SAMPLE_PAGE_ID)


@pytest.fixture
def post_webhook(client):
    """post_webhook(channel, raw_bytes_or_dict, signature=None) -> response; signs the exact bytes sent."""

    def post(channel, payload, signature=None, secret=None):
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {}
        sig = sign(raw, secret or channel.app_secret) if signature is None else signature
        if sig:
            headers["HTTP_X_HUB_SIGNATURE_256"] = sig
        return client.post(
            f"/webhooks/{channel.kind}/{channel.pk}/", data=raw, content_type="application/json", **headers
        )

    return post


@pytest.fixture
def eager():
    """Run Celery tasks inline (only where the worker itself is not what the test is about)."""
    from portal.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
