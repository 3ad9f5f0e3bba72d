"""Walks every URL pattern and API route as a member (and API key) of another merchant.

Each route with path parameters must be listed in some `tests/<app>/tenancy_routes.py`:
`ROUTES[name] = builder(owner_merchant) -> kwargs` creating the owner's object, or
`EXEMPT[name] = "reason"` for routes not scoped by merchant membership (tokens, signatures).
A new route that is in neither makes this test fail, so every later route is covered.
For each covered route, every method answers 404 (or 405) and the owner's rows stay as they were.
Parameterless pages and API lists answered to the other merchant never show the owner's data.

WebSocket routes (portal/routing.py) are swept the same way: each route pattern is listed in
`SOCKET_ROUTES[pattern] = builder(owner_merchant) -> kwargs` or `SOCKET_EXEMPT[pattern] = "reason"`, and a
member of another merchant connecting to the owner's object id is closed with 4403 (CLOSE_FORBIDDEN: a
socket never tells whether another merchant's id exists).
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

import tests
from apps.core.roles import Role
from apps.core.sockets import CLOSE_FORBIDDEN
from apps.core.tenancy import MerchantOwned
from portal.asgi import application
from portal.routing import agent_websocket_urlpatterns, widget_websocket_urlpatterns
from tests.conversations.live_support import TIMEOUT, session_cookie
from tests.factories.merchants import MembershipFactory, MerchantFactory, api_key_for

SECRET = "SWEEP-SECRET"
ALLOWED_FOREIGN_STATUSES = {404, 405}
EXEMPT_PREFIXES = ("admin:",)


def _walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            params = set(entry.pattern.regex.groupindex)
            yield f"{namespace}{entry.name}", params


def _all_routes() -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for name, params in _walk(get_resolver().url_patterns):
        routes.setdefault(name, set()).update(params)
    return routes


def _socket_routes() -> set[str]:
    return {str(entry.pattern) for entry in [*agent_websocket_urlpatterns, *widget_websocket_urlpatterns]}


def _socket_path(pattern: str, kwargs: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), pattern)


def _registries(builders_name: str = "ROUTES", exempt_name: str = "EXEMPT"):
    builders, exempt = {}, {}
    for module_info in pkgutil.iter_modules(tests.__path__):
        name = f"tests.{module_info.name}.tenancy_routes"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a registry that exists but imports something missing is a broken sweep
                raise
            continue
        builders.update(getattr(module, builders_name, {}))
        exempt.update(getattr(module, exempt_name, {}))
    return builders, exempt


def _socket_registries():
    return _registries("SOCKET_ROUTES", "SOCKET_EXEMPT")


def _owner_snapshot(owner) -> dict:
    snapshot = {}
    for model in apps.get_models():
        if issubclass(model, MerchantOwned):
            snapshot[model._meta.label] = list(model.objects.filter(merchant=owner).order_by("pk").values())
    owner.refresh_from_db()
    snapshot["merchant"] = (owner.name, owner.timezone, owner.locale, owner.settings)
    return snapshot


@pytest.fixture
def owner(db):
    return MerchantFactory(name=f"{SECRET} Owner", slug="sweep-owner")


@pytest.fixture
def intruder_clients(db):
    intruder = MerchantFactory(name="Intruder", slug="intruder")
    membership = MembershipFactory(merchant=intruder, role=Role.ADMIN)
    portal = Client()
    portal.force_login(membership.user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(intruder)}")
    return portal, api


def test_every_route_with_parameters_is_covered():
    builders, exempt = _registries()
    uncovered = sorted(
        name
        for name, params in _all_routes().items()
        if params and not name.startswith(EXEMPT_PREFIXES) and name not in builders and name not in exempt
    )
    assert not uncovered, f"routes missing from a tests/<app>/tenancy_routes.py: {uncovered}"


def test_registries_name_only_existing_routes():
    builders, exempt = _registries()
    stale = sorted((set(builders) | set(exempt)) - set(_all_routes()))
    assert not stale, f"tenancy registries name routes that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(_registries()[0]))
def test_another_merchants_ids_answer_404_and_change_nothing(name, owner, intruder_clients):
    """One test per route: a failure names its route, and the routes spread over the parallel processes."""
    portal, api = intruder_clients
    kwargs = _registries()[0][name](owner)
    url = reverse(name, kwargs=kwargs)
    client = api if name.startswith("api:") else portal
    before = _owner_snapshot(owner)
    failures = []
    for method in ("get", "post", "put", "patch", "delete"):
        response = (
            getattr(client, method)(url, data={}, format="json") if client is api else getattr(client, method)(url)
        )
        if response.status_code not in ALLOWED_FOREIGN_STATUSES:
            failures.append(f"{method.upper()} {url} -> {response.status_code}")
    assert not failures, "\n".join(failures)
    assert _owner_snapshot(owner) == before, "the owner's data changed"


@pytest.mark.django_db
def test_lists_and_pages_never_show_another_merchants_data(owner, intruder_clients):
    portal, api = intruder_clients
    builders, _ = _registries()
    for builder in builders.values():
        builder(owner)  # the owner has one of everything, each named with SECRET where it has a name
    leaks = []
    for name, params in sorted(_all_routes().items()):
        if params or name.startswith(EXEMPT_PREFIXES) or name in {"logout"}:
            continue
        client = api if name.startswith("api:") else portal
        response = client.get(reverse(name))
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if SECRET.encode() in body:
            leaks.append(f"{name} ({response.status_code})")
    assert not leaks, f"pages showing another merchant's data: {leaks}"


def test_every_websocket_route_is_covered():
    builders, exempt = _socket_registries()
    uncovered = sorted(_socket_routes() - set(builders) - set(exempt))
    assert not uncovered, f"websocket routes missing from a tests/<app>/tenancy_routes.py: {uncovered}"
    stale = sorted((set(builders) | set(exempt)) - _socket_routes())
    assert not stale, f"tenancy registries name websocket routes that no longer exist: {stale}"


async def _close_code(path: str, cookie: str) -> int | None:
    socket = WebsocketCommunicator(
        application, path, headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://testserver")]
    )
    connected, code = await socket.connect(timeout=TIMEOUT)
    if connected:  # accepted so the browser can read the code: the close follows
        output = await socket.receive_output(timeout=TIMEOUT)
        while output["type"] == "websocket.send":
            output = await socket.receive_output(timeout=TIMEOUT)
        code = output.get("code") if output["type"] == "websocket.close" else None
    await socket.disconnect()
    return code


@pytest.mark.django_db(transaction=True)
async def test_another_merchants_ids_close_every_websocket_4403():
    builders, _ = _socket_registries()
    owner = await sync_to_async(MerchantFactory)(name=f"{SECRET} Owner", slug="sweep-owner")
    intruder = await sync_to_async(MerchantFactory)(name="Intruder", slug="intruder")
    membership = await sync_to_async(MembershipFactory)(merchant=intruder, role=Role.ADMIN)
    cookie = await sync_to_async(session_cookie)(membership.user)
    failures = []
    for pattern, builder in sorted(builders.items()):
        path = _socket_path(pattern, await sync_to_async(builder)(owner))
        code = await _close_code(path, cookie)
        if code != CLOSE_FORBIDDEN:
            failures.append(f"{path} -> close {code}")
    assert not failures, "\n".join(failures)
