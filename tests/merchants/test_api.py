import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.core.roles import Role
from apps.merchants import services
from apps.merchants.models import Invitation, Membership
from tests.factories.merchants import MembershipFactory

pytestmark = pytest.mark.django_db


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


class TestAuthentication:
    def test_no_key_is_401_in_the_error_format(self):
        response = APIClient().get("/api/v1/merchant/")
        assert response.status_code == 401
        assert error_of(response)["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize("header", ["Bearer wrong", "Bearer ", "Basic abc", "Token chk_x_y"])
    def test_bad_keys_are_401(self, header):
        response = APIClient().get("/api/v1/merchant/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401
        assert error_of(response)["code"] == "authentication_failed"

    def test_revoked_key_is_401(self, merchant):
        key = services.api_key_create(merchant=merchant, name="k", scopes=["admin"], created_by=None)
        services.api_key_revoke(api_key=key)
        response = APIClient().get("/api/v1/merchant/", HTTP_AUTHORIZATION=f"Bearer {key.plain}")
        assert response.status_code == 401

    def test_session_of_a_member_works(self, member_client, agent_membership):
        response = member_client(agent_membership).get("/api/v1/merchant/")
        assert response.status_code == 200
        assert response.json()["slug"] == agent_membership.merchant.slug

    def test_session_without_membership_is_403(self, client, django_user_model):
        user = django_user_model.objects.create_user(email="lonely@x.test", password="x-long-password")
        client.force_login(user)
        assert client.get("/api/v1/merchant/").status_code == 403


class TestMerchantEndpoint:
    def test_get_shows_the_keys_merchant_only(self, api, merchant, other_merchant):
        body = api.get("/api/v1/merchant/").json()
        assert body == {
            "id": merchant.pk,
            "name": merchant.name,
            "slug": merchant.slug,
            "timezone": merchant.timezone,
            "locale": merchant.locale,
            "created_at": body["created_at"],
        }

    def test_admin_patches_name_timezone_locale(self, api, merchant):
        response = api.patch("/api/v1/merchant/", {"name": "Renamed", "timezone": "America/Bogota", "locale": "en"})
        assert response.status_code == 200
        merchant.refresh_from_db()
        assert (merchant.name, merchant.timezone, merchant.locale) == ("Renamed", "America/Bogota", "en")

    @pytest.mark.parametrize(
        ("payload", "field"),
        [({"timezone": "Nowhere/City"}, "timezone"), ({"locale": "zz"}, "locale"), ({"name": ""}, "name")],
    )
    def test_invalid_patch_is_400_naming_the_field_and_changes_nothing(self, api, merchant, payload, field):
        response = api.patch("/api/v1/merchant/", payload, format="json")
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert field in error["fields"]
        merchant.refresh_from_db()
        assert (merchant.name, merchant.timezone, merchant.locale) == ("Acme Shop", "Europe/Madrid", "es")

    def test_slug_is_read_only(self, api, merchant):
        api.patch("/api/v1/merchant/", {"slug": "hijack"}, format="json")
        merchant.refresh_from_db()
        assert merchant.slug == "acme"

    @pytest.mark.parametrize("role", [Role.AGENT, Role.MARKETER])
    def test_non_admins_cannot_patch(self, member_client, merchant, role):
        client = member_client(MembershipFactory(merchant=merchant, role=role))
        response = client.patch("/api/v1/merchant/", {"name": "X"}, content_type="application/json")
        assert response.status_code == 403
        assert error_of(response)["code"] == "permission_denied"

    def test_malformed_json_is_400(self, api):
        response = api.generic("PATCH", "/api/v1/merchant/", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert error_of(response)["code"] == "parse_error"


class TestMembersEndpoint:
    def test_list_is_cursor_paginated_and_scoped(self, api, merchant, other_merchant, django_assert_max_num_queries):
        MembershipFactory.create_batch(3, merchant=merchant)
        MembershipFactory.create_batch(2, merchant=other_merchant)
        with django_assert_max_num_queries(4):
            body = api.get("/api/v1/members/?page_size=2").json()
        assert set(body) == {"results", "next", "previous"}
        assert len(body["results"]) == 2
        rest = api.get(body["next"]).json()
        emails = {m["email"] for m in body["results"] + rest["results"]}
        assert emails == set(Membership.objects.filter(merchant=merchant).values_list("user__email", flat=True))

    def test_list_query_count_does_not_grow_with_page_size(self, api, merchant, django_assert_max_num_queries):
        MembershipFactory.create_batch(30, merchant=merchant)
        with django_assert_max_num_queries(4):
            assert len(api.get("/api/v1/members/?page_size=30").json()["results"]) == 30

    def test_change_role_and_remove(self, api, merchant, admin_membership):
        member = MembershipFactory(merchant=merchant, role=Role.AGENT)
        response = api.patch(f"/api/v1/members/{member.pk}/", {"role": "marketer"}, format="json")
        assert response.status_code == 200
        assert response.json()["role"] == "marketer"
        assert api.delete(f"/api/v1/members/{member.pk}/").status_code == 204
        assert not Membership.objects.filter(pk=member.pk).exists()

    def test_invalid_role_is_400(self, api, merchant):
        member = MembershipFactory(merchant=merchant, role=Role.AGENT)
        response = api.patch(f"/api/v1/members/{member.pk}/", {"role": "owner"}, format="json")
        assert response.status_code == 400
        assert "role" in error_of(response)["fields"]

    def test_removing_the_last_admin_is_400_with_reason(self, api, admin_membership):
        response = api.delete(f"/api/v1/members/{admin_membership.pk}/")
        assert response.status_code == 400
        assert "admin" in error_of(response)["message"]
        assert Membership.objects.filter(pk=admin_membership.pk).exists()

    def test_invite(self, api, mailoutbox, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post("/api/v1/members/invite/", {"email": "new@x.test", "role": "agent"}, format="json")
        assert response.status_code == 201
        assert response.json()["email"] == "new@x.test"
        assert mailoutbox[0].to == ["new@x.test"]

    def test_invite_without_a_role_invites_an_agent(self, api):
        response = api.post("/api/v1/members/invite/", {"email": "quiet@x.test"}, format="json")
        assert response.status_code == 201
        assert response.json()["role"] == "agent"
        assert Invitation.objects.get(email="quiet@x.test").role == "agent"

    def test_invite_with_bad_email_is_400(self, api):
        response = api.post("/api/v1/members/invite/", {"email": "nope", "role": "agent"}, format="json")
        assert response.status_code == 400
        assert "email" in error_of(response)["fields"]

    def test_agent_can_list_but_not_change(self, member_client, merchant, agent_membership):
        client = member_client(agent_membership)
        assert client.get("/api/v1/members/").status_code == 200
        response = client.patch(
            f"/api/v1/members/{agent_membership.pk}/", {"role": "admin"}, content_type="application/json"
        )
        assert response.status_code == 403
        agent_membership.refresh_from_db()
        assert agent_membership.role == Role.AGENT

    def test_other_merchants_member_is_404(self, api, other_admin_membership):
        for method in ("get", "patch", "delete"):
            response = getattr(api, method)(f"/api/v1/members/{other_admin_membership.pk}/")
            assert response.status_code == 404
            assert error_of(response)["code"] == "not_found"
        assert Membership.objects.filter(pk=other_admin_membership.pk).exists()

    def test_non_numeric_id_is_404(self, api):
        assert api.get("/api/v1/members/abc/").status_code == 404


class TestThrottling:
    @pytest.fixture
    def three_per_minute(self):
        from apps.core.api.throttling import ApiKeyRateThrottle

        original = ApiKeyRateThrottle.THROTTLE_RATES
        ApiKeyRateThrottle.THROTTLE_RATES = {"api_key": "3/min"}
        cache.clear()
        yield
        ApiKeyRateThrottle.THROTTLE_RATES = original
        cache.clear()

    def test_each_key_has_its_own_bucket(self, merchant, api_client, three_per_minute):
        first, second = api_client(merchant), api_client(merchant)
        statuses = [first.get("/api/v1/merchant/").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        throttled = first.get("/api/v1/merchant/")
        assert error_of(throttled)["code"] == "throttled"
        assert "Retry-After" in throttled
        assert second.get("/api/v1/merchant/").status_code == 200


class TestSchema:
    def test_openapi_schema_and_docs_are_served(self, client):
        schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
        assert schema.status_code == 200
        document = schema.json()
        assert document["openapi"].startswith("3.")
        assert "/api/v1/merchant/" in document["paths"]
        assert "/api/v1/members/{id}/" in document["paths"]
        docs = client.get("/api/docs/")
        assert docs.status_code == 200
        assert b"swagger" in docs.content.lower()
        assert b"cdn" not in docs.content.lower()
