"""API key scopes: every API route declares them, and a key outside them gets 403 insufficient_scope."""

from __future__ import annotations

import importlib
import io
import json

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

from apps.contacts.models import ConsentEvent, Contact
from apps.merchants import services
from apps.merchants.models import ApiKey
from apps.merchants.scopes import ApiScope, scope_allows
from tests.factories.contacts import ContactFactory

pytestmark = pytest.mark.django_db


def _api_views(patterns, prefix: str = ""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            yield route, pattern.callback


def test_every_api_route_declares_its_scopes():
    routes = list(_api_views(get_resolver().url_patterns))
    assert len(routes) > 40  # the walk really found the API
    undeclared = [route for route, view in routes if not view.cls.api_scopes]
    assert undeclared == []
    known = set(ApiScope.values)
    for route, view in routes:
        declared = {*view.cls.api_scopes, *(s for scopes in view.cls.action_scopes.values() for s in scopes)}
        assert declared <= known, route


@pytest.mark.parametrize(
    ("granted", "route", "method", "allowed"),
    [
        (["admin"], ["admin"], "DELETE", True),
        (["read"], ["messaging"], "GET", True),
        (["read"], ["messaging"], "POST", False),
        (["read"], ["admin"], "GET", False),
        (["messaging"], ["messaging", "marketing"], "PATCH", True),
        (["messaging"], ["marketing"], "GET", False),
        (["marketing"], ["marketing"], "POST", True),
        (["read", "marketing"], ["messaging"], "HEAD", True),
        ([], ["messaging"], "GET", False),
        (["messaging", "marketing", "read"], ["admin"], "POST", False),
    ],
)
def test_scope_rule(granted, route, method, allowed):
    assert scope_allows(granted=granted, route_scopes=route, method=method) is allowed


def test_a_read_key_reads_but_cannot_write(api_client, merchant):
    client = api_client(merchant, scopes=("read",))
    contact = ContactFactory(merchant=merchant, name="Ana")
    assert client.get(f"/api/v1/contacts/{contact.pk}/").json()["name"] == "Ana"
    response = client.patch(f"/api/v1/contacts/{contact.pk}/", {"name": "Eve"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "insufficient_scope",
        "message": "This API key's scopes (read) do not allow PATCH here; it needs admin or marketing or messaging.",
        "fields": {},
    }
    assert Contact.objects.get(pk=contact.pk).name == "Ana"


def test_a_read_key_cannot_read_admin_routes(api_client, merchant):
    response = api_client(merchant, scopes=("read",)).get("/api/v1/channels/")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"


def test_a_messaging_key_edits_contacts_but_records_no_consent_and_runs_no_campaign(api_client, merchant):
    client = api_client(merchant, scopes=("messaging",))
    contact = ContactFactory(merchant=merchant)
    assert client.patch(f"/api/v1/contacts/{contact.pk}/", {"name": "Eve"}, format="json").status_code == 200
    grant = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "api", "wording": "Yes"}
    response = client.post(f"/api/v1/contacts/{contact.pk}/consents/", grant, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"
    assert not ConsentEvent.objects.exists()
    assert client.get("/api/v1/campaigns/").status_code == 403
    assert client.get("/api/v1/conversations/").status_code == 200


def test_a_marketing_key_records_consent_but_cannot_touch_channels_or_conversations(api_client, merchant):
    client = api_client(merchant, scopes=("marketing",))
    contact = ContactFactory(merchant=merchant)
    grant = {"channel": "email", "purpose": "marketing", "action": "grant", "source": "api", "wording": "Yes"}
    assert client.post(f"/api/v1/contacts/{contact.pk}/consents/", grant, format="json").status_code == 201
    assert client.get("/api/v1/segments/").status_code == 200
    assert client.get("/api/v1/conversations/").status_code == 403
    response = client.post("/api/v1/channels/", {"kind": "webchat", "name": "Chat"}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_scope"


def test_an_admin_key_does_everything(api, merchant):
    assert api.get("/api/v1/channels/").status_code == 200
    assert api.get("/api/v1/merchant/").status_code == 200


def test_scopes_are_validated_at_creation(merchant):
    with pytest.raises(ValidationError) as caught:
        services.api_key_create(merchant=merchant, name="k", scopes=[], created_by=None)
    assert caught.value.message_dict == {"scopes": ["Choose at least one scope."]}
    with pytest.raises(ValidationError) as caught:
        services.api_key_create(merchant=merchant, name="k", scopes=["root"], created_by=None)
    assert caught.value.message_dict["scopes"][0].startswith("Unknown scope “root”")
    key = services.api_key_create(merchant=merchant, name="k", scopes=["messaging", "read"], created_by=None)
    assert ApiKey.objects.get(pk=key.pk).scopes == ["read", "messaging"]
    assert ApiKey.objects.count() == 1


def test_the_migration_makes_every_existing_key_admin(merchant):
    key = services.api_key_create(merchant=merchant, name="old", scopes=["read"], created_by=None)
    ApiKey.objects.filter(pk=key.pk).update(scopes=[])  # as keys were before scopes existed
    migration = importlib.import_module("apps.merchants.migrations.0003_api_key_scopes")
    migration.existing_keys_admin(django_apps, None)
    assert ApiKey.objects.get(pk=key.pk).scopes == ["admin"]


def test_create_merchant_json_key_is_admin():
    out = io.StringIO()
    call_command(
        "create_merchant", "acme-scopes", "--name", "Acme", "--admin-email", "o@acme.test", "--json", stdout=out
    )
    plain = json.loads(out.getvalue().strip().splitlines()[-1])["api_key"]
    assert services.api_key_authenticate(plain).scopes == ["admin"]
