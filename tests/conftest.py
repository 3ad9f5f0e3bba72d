"""Shared fixtures: merchants, members per role, clients per member, API clients per key."""

import os

import pytest
from rest_framework.test import APIClient

from apps.core.roles import Role
from tests.browser import browser, page  # noqa: F401  (real headless Chromium for e2e tests)
from tests.factories.merchants import MembershipFactory, MerchantFactory, api_key_for
from tests.fakes.graph import fake_graph  # noqa: F401  (the one fake Graph API, for every test package)


@pytest.fixture
def merchant(db):
    return MerchantFactory(name="Acme Shop", slug="acme")


@pytest.fixture
def other_merchant(db):
    return MerchantFactory(name="Other Shop", slug="other")


def _member(merchant, role):
    return MembershipFactory(merchant=merchant, role=role)


@pytest.fixture
def admin_membership(merchant):
    return _member(merchant, Role.ADMIN)


@pytest.fixture
def agent_membership(merchant):
    return _member(merchant, Role.AGENT)


@pytest.fixture
def marketer_membership(merchant):
    return _member(merchant, Role.MARKETER)


@pytest.fixture
def other_admin_membership(other_merchant):
    return _member(other_merchant, Role.ADMIN)


def _client_for(membership, client_class):
    client = client_class()
    client.force_login(membership.user)
    return client


@pytest.fixture
def admin_client_(admin_membership, client):
    """Django test client signed in as the merchant's admin (named so pytest-django's admin_client stays)."""
    client.force_login(admin_membership.user)
    return client


@pytest.fixture
def member_client():
    """member_client(membership) -> a Django test client signed in as that member."""
    from django.test import Client

    return lambda membership: _client_for(membership, Client)


@pytest.fixture
def api_client():
    """api_client(merchant, scopes=("admin",)) -> a DRF client with a fresh API key of that merchant."""

    def make(merchant, scopes: tuple[str, ...] = ("admin",)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(merchant, scopes=scopes)}")
        return client

    return make


@pytest.fixture
def api(merchant, api_client):
    return api_client(merchant)


@pytest.fixture
def other_api(other_merchant, api_client):
    return api_client(other_merchant)


# Fixtures that need a service: tests using them carry its marker, so `make test` without the
# service deselects them (and counts them) instead of skipping them behind the reader's back.
SERVICE_FIXTURES = {"redis_layer": "redis"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, marker in SERVICE_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
        if item.get_closest_marker("worker"):
            # Real Celery workers consume the one broker (Redis db) of the run: under xdist
            # (`--dist loadgroup`) they all run in one process, one at a time, never side by side.
            item.add_marker(pytest.mark.xdist_group("celery-worker"))
    # The long tests first (a real stack, then the browser): `--dist worksteal` hands each process half
    # the list and lets an idle one take from the end of the other's; a long test left at the end would
    # be the last thing the run waits for.
    items.sort(key=lambda item: 0 if item.get_closest_marker("worker") else 1 if item.get_closest_marker("e2e") else 2)


def pytest_runtest_setup(item):
    """A test needing PostgreSQL, Redis or RabbitMQ fails loudly when run without it: never a silent skip."""
    from django.conf import settings

    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        pytest.fail("this test needs PostgreSQL: set DATABASE_URL (make test deselects it otherwise)")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        pytest.fail("this test needs Redis: set REDIS_URL (make test deselects it otherwise)")
    if item.get_closest_marker("rabbitmq") and not os.environ.get("CHARLA_TEST_RABBITMQ_URL"):
        pytest.fail("this test needs RabbitMQ: set CHARLA_TEST_RABBITMQ_URL (make test deselects it otherwise)")


@pytest.fixture(autouse=True)
def rate_limits_fresh(settings):
    """Each test counts from zero: rate-limit windows live in the shared cache, which outlives a test."""
    import uuid

    settings.CHARLA_RATE_LIMIT_PREFIX = f"charla:rl-test-{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def memory_channel_layer_unless_redis(request) -> None:
    """Sockets run on the in-memory layer, even with REDIS_URL set; a test marked `redis` keeps Redis pub/sub."""
    if not request.node.get_closest_marker("redis"):
        request.getfixturevalue("settings").CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
        }
