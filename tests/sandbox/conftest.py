import httpx
import pytest

from tests.factories.contacts import ContactFactory, IdentityFactory, grant
from tests.factories.conversations import ChannelFactory

WA_ID = "34611222333"


@pytest.fixture(autouse=True)
def no_real_graph(settings):
    """No sandbox test talks to Meta: a real channel's request would be refused locally."""
    settings.META_GRAPH_API_URL = "http://127.0.0.1:9/v21.0"
    settings.CHARLA_SANDBOX_STATUS_DELAY = 0


@pytest.fixture
def eager():
    """Celery tasks inline: the record, the status chain and the webhook processing."""
    from portal.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


@pytest.fixture
def portal_http(monkeypatch):
    """The Graph clients' HTTP pool, pointed at this process's Django app (WSGI, same database connection):
    a send on a sandbox channel reaches the real /sandbox/graph/ routes with no server running."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    # The request ends by closing "old" connections, which would close the test's own (its transaction).
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    client = httpx.Client(transport=httpx.WSGITransport(app=get_wsgi_application()))
    requests: list[httpx.Request] = []
    client.event_hooks["request"] = [requests.append]
    monkeypatch.setattr("apps.meta.client.shared_http", lambda: client)
    yield requests
    client.close()


@pytest.fixture
def wa_sandbox(merchant):
    return ChannelFactory(merchant=merchant, kind="whatsapp", sandbox=True)


@pytest.fixture
def fb_sandbox(merchant):
    return ChannelFactory(merchant=merchant, kind="messenger", sandbox=True)


@pytest.fixture
def customer(merchant):
    """A WhatsApp customer with marketing consent, as the phone's services and pages need one."""
    contact = ContactFactory(merchant=merchant, name="Marta Ibáñez", phone=f"+{WA_ID}")
    IdentityFactory(contact=contact, external_id=WA_ID)
    grant(contact)
    return contact
